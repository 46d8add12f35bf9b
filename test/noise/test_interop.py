#!/usr/bin/python3
"""Checks lib/noise.c against noise_ref.py, an independent implementation.

usage: test_interop.py NOISE_PEER [DOC]
       test_interop.py NOISE_PEER --markdown   (print the doc's vector)

0. noise_ref.py itself reproduces published Noise vectors (cacophony,
   25519 with KK, KKpsk0, IK, IKpsk1, IKpsk2), so both implementations
   cannot share one misreading of the spec unnoticed.
1. Transcripts: from the same fixed keys (the doc's vector, random sets,
   maximum sizes), noise_peer runs both roles of both patterns in C and
   prints every message, hash, split key and transport ciphertext; the
   Python implementation computes the same and every field must match.
2. Interop: Python initiator with C responder and the reverse, both
   patterns, fresh random ephemerals, through "noise_peer peer".
3. Refusals across implementations: wrong psk, wrong static, an invalid
   point inside an encrypted `s`, an invalid `e`, tampering, replays.
4. The test vector printed in DOC (docs/PROTOCOL.md §3) must be
   exactly what Python computes, and so must the PIN vector (§3.10.1).
5. Protocol 2's PIN in a request, both ways between C and Python: the PIN
   message (transport message 3) and the answer (4) after a handshake
   whose message 2 asked for it; a thief with the phone's static key and
   the psk opens message 1 (no PIN there) but not message 3.
Exit status 0 only when every check passed.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noise_ref as nr  # noqa: E402

P256_N = int("ffffffff00000000ffffffffffffffff"
             "bce6faada7179e84f3b9cac2fc632551", 16)
ERR = {"CRYPTO": -11, "DECRYPT": -12, "STATE": -13, "TRUNCATED": -6,
       "TOO_LARGE": -5, "INVALID": -3}

# The same inputs as test/noise/vector.h.
VECTOR = {
    "phone_static": bytes.fromhex(
        "1280349151e8c5dde5f9052b569690e7581cfa50ac88a2c50b06e45503268588"),
    "computer_static": bytes.fromhex(
        "2eccae02b1f96f28c3f1a970f4d56cd4e5c683658a9cc300259509763d267694"),
    "phone_ephemeral": bytes.fromhex(
        "09d69ffb104891dd0c97b51f2305bd534612cbe77605ecda29a70eb460dce4cc"),
    "computer_ephemeral": bytes.fromhex(
        "df3a91654abadf47e0d82dcb8ac3002d1ae5b4ccc837c744e0b552ca7dbfc831"),
    "pair_psk": bytes.fromhex(
        "df1b03d5dfec4168f753ff71ca0337a7389c8c92d733fcc2799616cbc39e5367"),
    "request_psk": bytes.fromhex(
        "c06d3ea34295ce59c6f9e34a3886707e93fa79d58a59f218350f67dc4934f70f"),
    "ik_payload1": b"pairing msg 1 (phone)",
    "ik_payload2": b"pairing msg 2 (computer)",
    "kk_payload1": b"request msg 1 (computer)",
    "kk_payload2": b"request msg 2 (phone)",
    "i2r": [b"transport 1 i->r", b"transport 2 i->r"],
    "r2i": [b"transport 1 r->i", b""],
}

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)


def expect_raise(fn, what):
    try:
        fn()
    except nr.NoiseError:
        check(True, what)
        return
    check(False, what + " (no error)")


def vector_name(name):
    """The doc's name for each vector input ("*_static" are scalars)."""
    if name.endswith("_static") or name.endswith("_ephemeral"):
        return name + "_priv"
    return name


def random_scalar():
    while True:
        d = secrets.token_bytes(32)
        if 0 < int.from_bytes(d, "big") < P256_N:
            return d


def roles(inputs, pattern):
    """(initiator static, responder static, init eph, resp eph, psk, ...)."""
    ik = pattern == "IKpsk0"
    return dict(
        i_s=inputs["phone_static" if ik else "computer_static"],
        r_s=inputs["computer_static" if ik else "phone_static"],
        i_e=inputs["phone_ephemeral" if ik else "computer_ephemeral"],
        r_e=inputs["computer_ephemeral" if ik else "phone_ephemeral"],
        psk=inputs["pair_psk" if ik else "request_psk"],
        prologue=inputs.get("pair_prologue" if ik else "request_prologue"),
        p1=inputs["ik_payload1" if ik else "kk_payload1"],
        p2=inputs["ik_payload2" if ik else "kk_payload2"])


def py_pattern(inputs, pattern):
    r = roles(inputs, pattern)
    i_s, r_s = nr.KeyPair(r["i_s"]), nr.KeyPair(r["r_s"])
    i_e, r_e = nr.KeyPair(r["i_e"]), nr.KeyPair(r["r_e"])
    ini = nr.HandshakeState(pattern, True, i_s, rs=r_s.pub, psk=r["psk"],
                            prologue=r["prologue"], e=i_e)
    res = nr.HandshakeState(pattern, False, r_s,
                            rs=i_s.pub if pattern == "KKpsk0" else None,
                            psk=r["psk"], prologue=r["prologue"], e=r_e)
    msg1 = ini.write_message(r["p1"])
    p1 = res.read_message(msg1)
    msg2 = res.write_message(r["p2"])
    p2 = ini.read_message(msg2)
    out = {
        "initiator_static": i_s.pub, "responder_static": r_s.pub,
        "initiator_ephemeral": i_e.pub, "responder_ephemeral": r_e.pub,
        "msg1": msg1, "payload1_read": p1, "msg2": msg2,
        "payload2_read": p2,
        "handshake_hash_initiator": ini.handshake_hash(),
        "handshake_hash_responder": res.handshake_hash(),
        "responder_remote_static": res.rs,
        "c1_initiator": ini.transport.c1.k, "c2_initiator": ini.transport.c2.k,
        "c1_responder": res.transport.c1.k, "c2_responder": res.transport.c2.k,
    }
    check(p1 == r["p1"] and p2 == r["p2"], pattern + ": python payloads")
    check(ini.handshake_hash() == res.handshake_hash(),
          pattern + ": python hashes agree")
    out["i2r"] = [ini.transport.encrypt(p) for p in inputs["i2r"]]
    out["i2r_read"] = [res.transport.decrypt(c) for c in out["i2r"]]
    out["r2i"] = [res.transport.encrypt(p) for p in inputs["r2i"]]
    out["r2i_read"] = [ini.transport.decrypt(c) for c in out["r2i"]]
    return out, ini.trace, res.trace


def py_transcript(inputs):
    return {p: py_pattern(inputs, p)[0] for p in ("IKpsk0", "KKpsk0")}


def c_input_lines(inputs):
    lines = []
    for k, v in inputs.items():
        for item in (v if isinstance(v, list) else [v]):
            lines.append("%s %s" % (k, item.hex()))
    return "\n".join(lines) + "\n"


def c_transcript(peer, inputs):
    p = subprocess.run([peer, "transcript"], input=c_input_lines(inputs),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        check(False, "noise_peer transcript failed: " + p.stderr.strip())
        return None
    return json.loads(p.stdout)


def compare(c, py, label, quiet=False):
    """Every field of both patterns; returns the number of differences."""
    diffs = 0
    if c is None:
        return 1
    if set(c) != set(py):
        diffs += 1
    for pattern in py:
        if set(c.get(pattern, {})) != set(py[pattern]):
            diffs += 1
            if not quiet:
                print("%s %s: fields differ: %s" % (label, pattern, sorted(
                    set(c.get(pattern, {})) ^ set(py[pattern]))))
            continue
        for key, want in py[pattern].items():
            got = c[pattern][key]
            want = [w.hex() for w in want] if isinstance(want, list) \
                else want.hex()
            if got != want:
                diffs += 1
                if not quiet:
                    print("%s %s.%s:\n  C:      %s\n  Python: %s" % (
                        label, pattern, key, got, want))
    return diffs


def random_inputs(sizes):
    inp = {k: random_scalar() for k in ("phone_static", "computer_static",
                                        "phone_ephemeral",
                                        "computer_ephemeral")}
    inp["pair_psk"] = secrets.token_bytes(32)
    inp["request_psk"] = secrets.token_bytes(32)
    for k, n in zip(("ik_payload1", "ik_payload2", "kk_payload1",
                     "kk_payload2"), sizes):
        inp[k] = secrets.token_bytes(n)
    inp["i2r"] = [secrets.token_bytes(secrets.choice([0, 1, 100, 1500]))
                  for _ in range(3)]
    inp["r2i"] = [secrets.token_bytes(secrets.choice([0, 1, 100, 1500]))
                  for _ in range(2)]
    return inp


def test_transcripts(peer):
    sets = [("vector", VECTOR)]
    for i in range(6):
        sizes = [secrets.choice([0, 1, 15, 16, 17, 200, 4000])
                 for _ in range(4)]
        inp = random_inputs(sizes)
        if i % 3 == 1:
            inp["pair_prologue"] = b""
            inp["request_prologue"] = secrets.token_bytes(100)
        elif i % 3 == 2:
            inp["pair_prologue"] = b"sk-phone pair v1"
            inp["request_prologue"] = b"sk-phone request v1"
        sets.append(("random %d" % i, inp))
    # The largest messages: every handshake message and transport message
    # exactly 65535 bytes on the wire.
    big = random_inputs([nr.MAX_MSG - 65 - 81 - 16, nr.MAX_MSG - 65 - 16,
                         nr.MAX_MSG - 65 - 16, nr.MAX_MSG - 65 - 16])
    big["i2r"] = [secrets.token_bytes(nr.MAX_MSG - 16)]
    big["r2i"] = [secrets.token_bytes(nr.MAX_MSG - 16)]
    sets.append(("maximum sizes", big))
    for label, inp in sets:
        py = py_transcript(inp)
        c = c_transcript(peer, inp)
        n = compare(c, py, label)
        check(n == 0, "transcript %s: %d differences" % (label, n))
        if label == "maximum sizes" and c is not None:
            for p in ("IKpsk0", "KKpsk0"):
                check(len(c[p]["msg1"]) == 2 * nr.MAX_MSG and
                      len(c[p]["msg2"]) == 2 * nr.MAX_MSG,
                      p + ": maximum-size messages are 65535 bytes")

    # A control: the comparison must notice a one-byte change in an input.
    inp = dict(VECTOR)
    c = c_transcript(peer, inp)
    inp["request_psk"] = bytes([inp["request_psk"][0] ^ 1]) + \
        inp["request_psk"][1:]
    inp["ik_payload2"] = b"x" + inp["ik_payload2"][1:]
    n = compare(c, py_transcript(inp), "control", quiet=True)
    check(n > 0, "control: a changed psk and payload are noticed")


class CPeer:
    """One side in C, driven by lines (see noise_peer.c)."""

    def __init__(self, peer, pattern, role):
        self.p = subprocess.Popen([peer, "peer"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.ok("pattern", "ik" if pattern == "IKpsk0" else "kk")
        self.ok("role", role)

    def cmd(self, name, arg=""):
        self.p.stdin.write("%s %s\n" % (name, arg))
        self.p.stdin.flush()
        line = self.p.stdout.readline().split()
        if not line:
            raise RuntimeError("noise_peer died")
        if line[0] == "ok":
            return 0, bytes.fromhex(line[1]) if len(line) > 1 else b""
        return int(line[1]), None

    def ok(self, name, arg=""):
        rc, out = self.cmd(name, arg)
        if rc != 0:
            raise RuntimeError("noise_peer: %s: error %d" % (name, rc))
        return out

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait(timeout=30)
        self.p.stdout.close()


def setup_pair(peer, pattern, c_role, psk_c=None, py_rs=None, c_rs=None):
    """A C side and a Python side with fresh keys; returns (c, py, keys)."""
    c_s, py_s = nr.KeyPair(random_scalar()), nr.KeyPair(random_scalar())
    psk = secrets.token_bytes(32)
    c = CPeer(peer, pattern, c_role)
    c.ok("static", c_s.priv.private_numbers().private_value.to_bytes(
        32, "big").hex())
    c.ok("psk", (psk_c or psk).hex())
    c_initiator = c_role == "initiator"
    if pattern == "KKpsk0" or c_initiator:
        c.ok("remote_static", (c_rs or py_s.pub).hex())
    py = nr.HandshakeState(
        pattern, not c_initiator, py_s,
        rs=(py_rs or c_s.pub) if pattern == "KKpsk0" or not c_initiator
        else None, psk=psk)
    return c, py, (c_s, py_s)


def test_interop(peer):
    for pattern in ("IKpsk0", "KKpsk0"):
        for c_role in ("initiator", "responder"):
            label = "%s C %s" % (pattern, c_role)
            c, py, (c_s, py_s) = setup_pair(peer, pattern, c_role)
            p1 = secrets.token_bytes(secrets.choice([0, 33, 700]))
            p2 = secrets.token_bytes(secrets.choice([0, 33, 700]))
            if c_role == "initiator":
                check(c.ok("next") == b"\x01", label + ": C writes first")
                m1 = c.ok("write", p1.hex())
                check(py.read_message(m1) == p1, label + ": msg 1 payload")
                m2 = py.write_message(p2)
                check(c.ok("read", m2.hex()) == p2, label + ": msg 2 payload")
            else:
                check(c.ok("next") == b"\x02", label + ": C reads first")
                m1 = py.write_message(p1)
                check(c.ok("read", m1.hex()) == p1, label + ": msg 1 payload")
                m2 = c.ok("write", p2.hex())
                check(py.read_message(m2) == p2, label + ": msg 2 payload")
            check(c.ok("next") == b"\x03", label + ": C done")
            check(c.ok("hash") == py.handshake_hash(), label + ": hash")
            check(c.ok("get_remote_static") == py_s.pub,
                  label + ": C knows the Python static key")
            check(py.rs == c_s.pub, label + ": Python knows the C key")
            c.ok("split")
            keys = c.ok("keys")
            check(keys == py.transport.c1.k + py.transport.c2.k,
                  label + ": split keys")
            sent = []
            for i in range(3):
                pt = secrets.token_bytes(i * 50)
                ct = c.ok("encrypt", pt.hex())
                check(py.transport.decrypt(ct) == pt, label + ": C -> Py")
                pt = secrets.token_bytes(i * 70 + 1)
                ct = py.transport.encrypt(pt)
                sent.append(ct)
                check(c.ok("decrypt", ct.hex()) == pt, label + ": Py -> C")
            expect_raise(lambda: py.transport.decrypt(ct),
                         label + ": Python refuses a replay")
            rc, _ = c.cmd("decrypt", sent[1].hex())
            check(rc == ERR["DECRYPT"], label + ": C refuses a replay")
            rc, _ = c.cmd("decrypt", py.transport.encrypt(b"late").hex())
            check(rc == ERR["STATE"], label + ": C transport dead after")
            c.close()


def test_refusals(peer):
    # Wrong psk: the responder's first decryption fails.
    for pattern in ("IKpsk0", "KKpsk0"):
        c, py, _ = setup_pair(peer, pattern, "responder",
                              psk_c=secrets.token_bytes(32))
        rc, out = c.cmd("read", py.write_message(b"hello").hex())
        check(rc == ERR["DECRYPT"] and out is None,
              pattern + ": C responder refuses a wrong psk")
        rc, _ = c.cmd("write", "")
        check(rc == ERR["STATE"], pattern + ": C state dead after failure")
        c.close()
        c, py, _ = setup_pair(peer, pattern, "initiator",
                              psk_c=secrets.token_bytes(32))
        m1 = c.ok("write", "")
        expect_raise(lambda: py.read_message(m1),
                     pattern + ": Python responder refuses a wrong psk")
        c.close()
    # Wrong static keys on either side.
    wrong = nr.KeyPair(random_scalar()).pub
    for pattern, c_role in (("IKpsk0", "responder"), ("KKpsk0", "responder"),
                            ("KKpsk0", "initiator")):
        c, py, _ = setup_pair(peer, pattern, c_role, py_rs=wrong)
        label = "%s: Python initiator with a wrong responder key" % pattern
        if c_role == "responder":
            rc, _ = c.cmd("read", py.write_message(b"x").hex())
            check(rc == ERR["DECRYPT"], label)
        else:
            m1 = c.ok("write", "")
            expect_raise(lambda: py.read_message(m1),
                         pattern + ": Python responder with a wrong key")
        c.close()
    c, py, _ = setup_pair(peer, "KKpsk0", "responder", c_rs=wrong)
    rc, _ = c.cmd("read", py.write_message(b"x").hex())
    check(rc == ERR["DECRYPT"], "KKpsk0: C responder with a wrong key")
    c.close()
    # An invalid point inside a correctly encrypted `s`: only the key
    # check can refuse it, after the decryption succeeded.
    good = nr.KeyPair(random_scalar()).pub
    off_curve = good[:64] + bytes([good[64] ^ 1])
    for label, bad in (("off the curve", off_curve),
                       ("compressed prefix", b"\x02" + good[1:]),
                       ("zero prefix", b"\x00" + good[1:]),
                       ("all zero", b"\x04" + bytes(64))):
        c, py, _ = setup_pair(peer, "IKpsk0", "responder")
        py.s_on_wire = bad
        rc, out = c.cmd("read", py.write_message(b"x").hex())
        check(rc == ERR["CRYPTO"] and out is None,
              "IKpsk0: C refuses an encrypted s " + label)
        c.close()
        for pattern in ("IKpsk0", "KKpsk0"):
            c, py, _ = setup_pair(peer, pattern, "responder")
            m1 = py.write_message(b"x")
            rc, _ = c.cmd("read", (bad + m1[65:]).hex())
            check(rc == ERR["CRYPTO"], pattern + ": C refuses e " + label)
            c.close()
            c, py, _ = setup_pair(peer, pattern, "initiator")
            m1 = c.ok("write", "")
            expect_raise(lambda: py.read_message(bad + m1[65:]),
                         pattern + ": Python refuses e " + label)
            c.close()
    # Tampering and truncation both ways, at a few positions.
    for pattern in ("IKpsk0", "KKpsk0"):
        c, py, _ = setup_pair(peer, pattern, "initiator")
        m1 = c.ok("write", b"payload".hex())
        for pos in (0, 1, 64, 65, 80, len(m1) - 1):
            py2 = nr.HandshakeState(pattern, False, py.s, rs=py.rs,
                                    psk=py.psk)
            bad = bytearray(m1)
            bad[pos] ^= 0x80
            expect_raise(lambda: py2.read_message(bytes(bad)),
                         "%s: Python refuses msg 1 bit flip at %d" %
                         (pattern, pos))
        py.read_message(m1)
        m2 = py.write_message(b"answer")
        rc, _ = c.cmd("read", m2[:-1].hex())
        check(rc == ERR["DECRYPT"], pattern + ": C refuses msg 2 cut by 1")
        c.close()
        c, py, _ = setup_pair(peer, pattern, "initiator")
        c.ok("write", "")
        rc, _ = c.cmd("read", bytes(64).hex())
        check(rc == ERR["TRUNCATED"], pattern + ": C refuses a short msg 2")
        c.close()
    # A message over 65535 bytes is refused before anything else.
    c, py, _ = setup_pair(peer, "KKpsk0", "responder")
    m1 = py.write_message(bytes(nr.MAX_MSG - 65 - 16))
    check(len(m1) == nr.MAX_MSG, "KKpsk0: maximum msg 1 size")
    rc, _ = c.cmd("read", (m1 + b"\x00").hex())
    check(rc == ERR["TOO_LARGE"], "KKpsk0: C refuses 65536 bytes")
    c.close()
    c, py, _ = setup_pair(peer, "KKpsk0", "responder")
    rc, out = c.cmd("read", m1.hex())
    check(rc == ERR["DECRYPT"], "KKpsk0: a message for another key fails")
    c.close()


def test_published_vectors():
    """noise_ref.py itself against cacophony's vectors (25519)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "cacophony-vectors.json")
    with open(path, encoding="utf-8") as f:
        vectors = json.load(f)["vectors"]
    X = nr.X25519

    def get(v, k):
        return bytes.fromhex(v[k]) if k in v else None

    for v in vectors:
        name = v["protocol_name"]
        m = re.fullmatch(r"Noise_(\w+?)_25519_AESGCM_SHA256", name)
        check(m is not None and m.group(1) in nr.PATTERNS, name)
        if m is None or m.group(1) not in nr.PATTERNS:
            continue
        pattern = m.group(1)
        psk = bytes.fromhex(v["init_psks"][0]) if v.get("init_psks") \
            else None
        ini = nr.HandshakeState(pattern, True,
                                X.keypair(get(v, "init_static")),
                                rs=get(v, "init_remote_static"), psk=psk,
                                prologue=get(v, "init_prologue"),
                                e=X.keypair(get(v, "init_ephemeral")), dh=X)
        res = nr.HandshakeState(pattern, False,
                                X.keypair(get(v, "resp_static")),
                                rs=get(v, "resp_remote_static"), psk=psk,
                                prologue=get(v, "resp_prologue"),
                                e=X.keypair(get(v, "resp_ephemeral")), dh=X)
        for i, msg in enumerate(v["messages"]):
            pl, ct = bytes.fromhex(msg["payload"]), bytes.fromhex(
                msg["ciphertext"])
            snd, rcv = (ini, res) if i % 2 == 0 else (res, ini)
            if i < 2:
                check(snd.write_message(pl) == ct,
                      "%s: message %d" % (name, i))
                check(rcv.read_message(ct) == pl, "%s: read %d" % (name, i))
            else:
                check(snd.transport.encrypt(pl) == ct,
                      "%s: transport %d" % (name, i))
                check(rcv.transport.decrypt(ct) == pl,
                      "%s: transport read %d" % (name, i))
        check(ini.handshake_hash().hex() == v["handshake_hash"],
              name + ": handshake hash")
    check(len(vectors) >= 3, "published vectors present")


DOC_BEGIN = "<!-- vector begin -->"
DOC_END = "<!-- vector end -->"
PIN_BEGIN = "<!-- pin vector begin -->"
PIN_END = "<!-- pin vector end -->"


def pad(head, size):
    """A CBOR map (its bytes, fewer than 23 pairs) padded with key 15."""
    r = size - len(head)
    if 2 <= r <= 25:
        h = bytes([0x40 + r - 2])
    elif 27 <= r <= 258:
        h = bytes([0x58, r - 3])
    elif r >= 260:
        h = b"\x59" + (r - 4).to_bytes(2, "big")
    else:
        raise ValueError("no padding makes %d bytes" % r)
    return bytes([head[0] + 1]) + head[1:] + b"\x0f" + h + \
        bytes(size - len(head) - 1 - len(h))


# Written from §4.2 by hand: {1: "1234"} in 128 bytes; the PIN question
# {1: 0x36, 3: "PIN required", 5: true} and the answer {1: 0x31, 3: "wrong
# PIN"} in 1024 (the first response bucket).
PIN_MSG = pad(b"\xa1\x01\x64" + b"1234", 128)
PIN_QUESTION = pad(b"\xa3\x01\x18\x36\x03\x6c" + b"PIN required" +
                   b"\x05\xf5", 1024)
PIN_ANSWER = pad(b"\xa2\x01\x18\x31\x03\x69" + b"wrong PIN", 1024)


def pin_vector_fields():
    """§3.10.1: transport messages 3 and 4 after the KKpsk0 vector."""
    out, _, _ = py_pattern(VECTOR, "KKpsk0")
    c1 = nr.CipherState(out["c1_initiator"])
    c2 = nr.CipherState(out["c2_initiator"])
    return [("KKpsk0.pin.msg3_payload", PIN_MSG),
            ("KKpsk0.pin.msg3", c1.encrypt_with_ad(b"", PIN_MSG)),
            ("KKpsk0.pin.msg4", c2.encrypt_with_ad(b"", PIN_ANSWER))]


def vector_fields():
    """The doc's test vector as (name, bytes or str) in order."""
    fields = []
    for k, v in VECTOR.items():
        if isinstance(v, list):
            for i, item in enumerate(v):
                fields.append(("%s[%d]" % (k, i), item))
        else:
            fields.append((vector_name(k), v))
    for pattern in ("IKpsk0", "KKpsk0"):
        out, itrace, rtrace = py_pattern(VECTOR, pattern)
        for k in ("initiator_static", "responder_static",
                  "initiator_ephemeral", "responder_ephemeral"):
            fields.append(("%s.%s_pub" % (pattern, k), out[k]))
        for n, step, h, ck in itrace:
            fields.append(("%s.initiator.%d.%s.h" % (
                pattern, n, step.replace(" ", "_")), h))
            fields.append(("%s.initiator.%d.%s.ck" % (
                pattern, n, step.replace(" ", "_")), ck))
        for k in ("msg1", "msg2"):
            fields.append(("%s.%s" % (pattern, k), out[k]))
        fields.append(("%s.handshake_hash" % pattern,
                       out["handshake_hash_initiator"]))
        fields.append(("%s.c1" % pattern, out["c1_initiator"]))
        fields.append(("%s.c2" % pattern, out["c2_initiator"]))
        for k in ("i2r", "r2i"):
            for i, ct in enumerate(out[k]):
                fields.append(("%s.%s[%d]" % (pattern, k, i), ct))
    return fields


def vector_markdown(fields=None, begin=DOC_BEGIN, end=DOC_END):
    lines = [begin, "```"]
    for name, value in (fields or vector_fields()):
        lines.append(name + " =")
        h = value.hex()
        for i in range(0, len(h), 64):
            lines.append("  " + h[i:i + 64])
    lines += ["```", end]
    return "\n".join(lines)


def test_doc(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        check(False, "doc: %s" % exc)
        return
    doc_block(text, DOC_BEGIN, DOC_END, vector_fields())
    doc_block(text, PIN_BEGIN, PIN_END, pin_vector_fields())
    # The payloads and protocol names appear in the doc too.
    for pattern in ("IKpsk0", "KKpsk0"):
        check(("Noise_%s_P256_AESGCM_SHA256" % pattern) in text,
              "doc: protocol name " + pattern)


def doc_block(text, begin, end, fields):
    m = re.search(re.escape(begin) + r"\n```\n(.*?)```\n" +
                  re.escape(end), text, re.S)
    if not m:
        check(False, "doc: no test vector block " + begin)
        return
    doc = []
    for line in m.group(1).splitlines():
        if line.endswith(" ="):
            doc.append([line[:-2], ""])
        elif line.startswith("  ") and doc:
            doc[-1][1] += line.strip()
        else:
            check(False, "doc: stray line %r" % line)
    want = [(k, v.hex()) for k, v in fields]
    check(len(doc) == len(want), "doc: %d vector fields, want %d" % (
        len(doc), len(want)))
    for (dk, dv), (wk, wv) in zip(doc, want):
        check(dk == wk and dv == wv, "doc: vector field %s" % wk)


def test_pin_flow(peer):
    """Protocol 2's PIN: after message 2 asks, transport messages 3, 4."""
    for c_role in ("initiator", "responder"):
        label = "PIN, C " + c_role
        c, py, (c_s, py_s) = setup_pair(peer, "KKpsk0", c_role)
        request = pad(b"\xa1\x01\x02", 2048)  # no PIN in message 1
        if c_role == "initiator":      # C is the computer
            m1 = c.ok("write", request.hex())
            check(py.read_message(m1) == request, label + ": msg 1")
            m2 = py.write_message(PIN_QUESTION)
            check(c.ok("read", m2.hex()) == PIN_QUESTION, label + ": msg 2")
            c.ok("split")
            m3 = c.ok("encrypt", PIN_MSG.hex())
            check(py.transport.decrypt(m3) == PIN_MSG, label + ": msg 3")
            m4 = py.transport.encrypt(PIN_ANSWER)
            check(c.ok("decrypt", m4.hex()) == PIN_ANSWER,
                  label + ": msg 4")
            phone_s, comp_pub, psk = py_s, c_s.pub, py.psk
        else:                          # C is the phone
            m1 = py.write_message(request)
            check(c.ok("read", m1.hex()) == request, label + ": msg 1")
            m2 = c.ok("write", PIN_QUESTION.hex())
            check(py.read_message(m2) == PIN_QUESTION, label + ": msg 2")
            c.ok("split")
            m3 = py.transport.encrypt(PIN_MSG)
            check(c.ok("decrypt", m3.hex()) == PIN_MSG, label + ": msg 3")
            m4 = c.ok("encrypt", PIN_ANSWER.hex())
            check(py.transport.decrypt(m4) == PIN_ANSWER, label + ": msg 4")
            phone_s, comp_pub, psk = c_s, py_s.pub, py.psk
        c.close()
        check(len(m3) == 128 + 16 and len(m4) == 1024 + 16,
              label + ": sizes 144 and 1040")
        # The thief: the phone's static key and the psk, the transcript.
        thief = nr.HandshakeState("KKpsk0", False, phone_s, rs=comp_pub,
                                  psk=psk)
        got = thief.read_message(m1)
        check(got == request and b"1234" not in got,
              label + ": message 1 opens to the thief, without the PIN")
        thief.write_message(b"")
        expect_raise(lambda: thief.transport.decrypt(m3),
                     label + ": the thief cannot open message 3")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    peer = sys.argv[1]
    if len(sys.argv) == 3 and sys.argv[2] == "--markdown":
        print(vector_markdown())
        print()
        print(vector_markdown(pin_vector_fields(), PIN_BEGIN, PIN_END))
        return 0
    signal.alarm(240)
    parts = [test_published_vectors, lambda: test_transcripts(peer),
             lambda: test_interop(peer), lambda: test_refusals(peer),
             lambda: test_pin_flow(peer)]
    if len(sys.argv) > 2:
        parts.append(lambda: test_doc(sys.argv[2]))
    for part in parts:
        # An exception (say Python refusing what C sent) fails the part.
        try:
            part()
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            check(False, "exception")
    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
