#!/usr/bin/python3
# One conformance suite for every phone: the checks any phone must pass.
"""The conformance suite (TAP on stdout), written once as a computer-side
driver and run against any phone through an adapter (phones.py).

Usage: conform.py reference COMPUTER RELAY AUTHENTICATOR [check ...]
       conform.py web COMPUTER RELAY WEBDIR [check ...]

COMPUTER is test/phone/phone_computer (a test computer on the core
library: every answer is checked with libfido2 there), RELAY
sk-phone-relay. Everything runs in one temporary folder on 127.0.0.1;
every wait is bounded. The checks run in order, on one phone paired once:

- pairing: the code is the same on both sides; a URI whose computer does
  not hold its secret, and a URI 400 s old, pair nothing (PROTOCOL §8.1)
- getinfo: versions, rk, clientPin, answered without a question (§8.4)
- enroll_sign: makeCredential and getAssertion answers verified by
  libfido2, UP set, counters strictly increasing (§8.4)
- counter_restart: the counter still increases after a phone restart
- refusals: stale both ways 0xF0, tampered data 0xF2 (both commands), a
  replayed request 0xF1; none of them asked (§8.3)
- refusal_order: a request bad in two ways gets the refusal of the
  earlier step of §8.3: the envelope's (0xF6 version, 0x12 padding not
  zero, §4.2/§4.9) before hash 0xF2 before stale 0xF0 before replay 0xF1
  before the command checks (0x2E) and user verification (0xF5); an id
  refused at steps 3-4 was not recorded, one refused at step 6 was
- not_paired: a computer the phone does not know gets no answer (the
  phone hangs up: SKP_ERR_NOT_PAIRED), not even for a bad envelope, and
  is not asked about
- resident_exclude: a second resident key of the same rp and user is
  0x19 unless overwrite; the overwritten key is gone (0x2E)
- allowlist_miss: an unknown credential id, and a known one under
  another rp id: 0x2E
- uv_pin: UV without a PIN on the phone 0xF5; with one: 0x36 without a
  PIN, 0x31 for a wrong one, UV set for the right one; clientPin in
  getInfo; a credProtect 3 key wants the PIN (§8.3 step 7)
- hosts_windows: a host's first login is asked "first use" and pins it;
  then "verified"; a host window covers the next login to that host
  only; a changed key 0xF3 (before UV), host info that does not verify
  0xF7; a computer window covers the next verified login, never a new
  host nor an unverified login; a rejected first login pins nothing
  (§8.5.1, §8.6)
- reject: the owner's no is 0x27
- list_resident: credential management lists the resident keys (those
  left), asked first; with a PIN on the phone only with it (0x36 without)
- no_touch: a getAssertion with up false is signed without a question,
  UP clear (§8.6), but still refused for UV without the PIN
- sshsig_window: a window opened on a signature covers that namespace
  only, never another (§8.6)
- pin_blocked: eight wrong PINs in a row block it (0x32), the count kept
  across a restart; the right PIN then too is 0x32 (§8.3 step 7)
- algorithms: getInfo key 10 lists ES256 then EdDSA (§4.7; the web phone
  in a browser with Ed25519 in WebCrypto, as Chromium's)
- ed25519: an ed25519-sk makeCredential (pubKeyCredParams [-8]) asked as
  an ed25519-sk key, its EdDSA attestation verified by libfido2 in the
  test computer, then signatures (SSHSIG data and a login naming the key's
  sk-ssh-ed25519 blob) verified, counters increasing; a login naming
  another ed25519 key 0x02, unasked (§4.5, §4.10, §4.11, §8.3 step 6)
- clock: a request 5 minutes stale is 0xF0 with the phone's time
  (response key 6) within 5 s of this clock, unasked; with the
  computer's retry (lib/call.c) the request is sent once more in the
  phone's time and signed, the offset found within 5 s of zero (only the
  request's time was set back, not this computer's clock) (§4.2, §8.2)
"""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from phones import Fail, RefPhone, WebPhone, WAIT, clean  # noqa: E402

# Status codes (PROTOCOL §4.9) and the computer's errors (err.h).
ST_DENIED, ST_STALE, ST_REPLAY, ST_MISMATCH = 0x27, 0xf0, 0xf1, 0xf2
ST_HOSTKEY, ST_UV_NA, ST_HOST_UNVERIFIED = 0xf3, 0xf5, 0xf7
ST_PIN_REQ, ST_PIN_BAD, ST_EXCLUDED, ST_NO_CREDS = 0x36, 0x31, 0x19, 0x2e
ST_VERSION, ST_INVALID_CBOR, ST_PIN_BLOCKED = 0xf6, 0x12, 0x32
ST_INVALID_PARAM = 0x02
E_REJECTED, E_EXPIRED, E_REPLAY, E_NOT_PAIRED = -24, -19, -20, -27
E_HOSTKEY, E_HOST_UNVERIFIED, E_EXISTS = -32, -35, -18


def check(cond, what):
    if not cond:
        raise Fail(what)


class World:
    """A relay on 127.0.0.1 and a folder for everything else."""

    def __init__(self, computer, relay, web=None):
        self.computer = computer
        self.tmp = tempfile.mkdtemp(prefix="skp-conform-")
        os.chmod(self.tmp, 0o700)
        os.mkdir(self.path("home"), 0o700)
        self.procs = []
        log = open(self.path("relay.log"), "ab")
        args = [relay, "--listen", "127.0.0.1:0"]
        args += ["--web", web] if web else []
        self.relay = subprocess.Popen(args, stdout=log, stderr=log,
                                      env=self.env())
        end = time.time() + WAIT
        while True:
            m = re.search(rb"listening on ws://127\.0\.0\.1:(\d+)",
                          open(self.path("relay.log"), "rb").read())
            if m:
                break
            check(self.relay.poll() is None and time.time() < end,
                  "relay did not start")
            time.sleep(0.05)
        self.port = int(m.group(1))
        self.url = "ws://127.0.0.1:%d" % self.port
        self.web_url = "http://127.0.0.1:%d/" % self.port
        self.pin = None     # the phone's PIN, once set
        self.residents = []  # users of the resident keys made

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def env(self, **extra):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.path("home"),
               "LANG": "C.UTF-8", "TERM": "dumb"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def comp_bg(self, cdir, cmd, *args):
        p = subprocess.Popen([self.computer, cmd, cdir] + list(args),
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=self.env())
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs + [self.relay]:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def finish(c):
    try:
        out = c.communicate(timeout=WAIT * 2)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        c.kill()
        out = c.communicate()[0].decode(errors="replace")
        raise Fail("the computer got no answer in time: " + out)
    clean(out, "computer")
    return c.returncode, out


def result(out, n=1):
    m = re.search(r"result %d status=0x([0-9a-f]{2}) err=(-?\d+)" % n, out)
    check(m, "no result %d in %r" % (n, out))
    return int(m.group(1), 16), int(m.group(2))


def signed(out):
    m = re.search(r"signed flags=0x([0-9a-f]{2}) counter=(\d+)", out)
    check(m, "not signed: %r" % out)
    return int(m.group(1), 16), int(m.group(2))


W = None     # the world
P = None     # the phone under test
C = None     # the main computer's folder


def call(cmd, *args, answers=(), cdir=None):
    """One run of the test computer. Each of answers answers one question
    in turn; then the computer must get its answer with no question more.
    Returns (rc, output, [questions])."""
    c = W.comp_bg(cdir or C, cmd, *args)
    qs = []
    for a in answers:
        q = P.approve(a, give_up=lambda: c.poll() is not None)
        if q is None:
            rc, out = finish(c)
            raise Fail("answered without the question %r was for: %s" %
                       (a, out))
        qs.append(q)
    while c.poll() is None:
        if P.asked():
            P.approve("reject")
            rc, out = finish(c)
            raise Fail("asked about a request it must answer without "
                       "asking (%s %s): %s" % (cmd, " ".join(args), out))
        time.sleep(0.05)
    rc, out = finish(c)
    check(not P.asked(), "a question left after %s %s" % (cmd, args))
    return rc, out, qs


def refused(status, err, cmd, *args, cdir=None):
    """A request refused with status (and the computer's err), unasked."""
    rc, out, _ = call(cmd, *args, cdir=cdir)
    got = result(out)
    check(rc != 0 and got[0] == status and (err is None or got[1] == err),
          "%s %s: wanted 0x%02x, got 0x%02x (%d): %s" %
          (cmd, " ".join(args), status, got[0], got[1], out))
    return out


def key(name):
    """A key file of the main computer; key1 enrolled now when a check
    runs alone."""
    if name == "key1" and not os.path.exists(W.path(name)):
        rc, out, _ = call("enroll", W.path(name), answers=["once"])
        check(rc == 0, out)
    return W.path(name)


def new_id():
    return os.urandom(16).hex()


# ---- host keys (host info as sk-phone proxy leaves it, §4.4) ----

def sstr(b):
    return struct.pack(">I", len(b)) + b


class HostKey:
    """An ed25519 server host key: its SSH blob, signatures over a sid."""

    def __init__(self):
        self.k = ed25519.Ed25519PrivateKey.generate()
        raw = self.k.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.blob = sstr(b"ssh-ed25519") + sstr(raw)

    def sign(self, sid):
        return sstr(b"ssh-ed25519") + sstr(self.k.sign(sid))


def login(host, port, hk, user="root", sig_sid=None):
    sid = os.urandom(32)
    return ["--userauth", user, "--sid", sid.hex(), "--host", host,
            "--port", str(port), "--hostkey", hk.blob.hex(),
            "--hostsig", hk.sign(sig_sid or sid).hex()]


# ---- checks ----

def pair(cdir, name):
    """Pair the computer cdir as name; the codes must be equal."""
    os.makedirs(cdir, mode=0o700, exist_ok=True)
    c = W.comp_bg(cdir, "pair", W.url, name)
    line = c.stdout.readline().decode().split()
    check(len(line) == 2 and line[0] == "uri", "the computer gave no URI")
    r = P.pair(line[1])
    rc, out = finish(c)
    check(r["ok"], "the phone did not pair: %s" % r.get("why"))
    check(rc == 0 and "paired" in out, "computer: " + out)
    m = re.search(r"^code (\d{6}) ", out, re.M)
    check(m and r["code"] == m.group(1), "codes differ: phone %r, "
          "computer %r" % (r["code"], m and m.group(1)))


def check_pairing():
    # another computer's rendezvous: message 1 does not open there
    rogue = W.path("computer-rogue")
    os.makedirs(rogue, mode=0o700)
    c = W.comp_bg(rogue, "pair-wrong-secret", W.url, "rogue")
    uri = c.stdout.readline().decode().split()[1]
    r = P.pair(uri, refused=True)
    rc, out = finish(c)
    check(rc == 0 and "decryption failed" in out, out)
    check(not r["ok"], "paired with a URI it cannot have")
    # a URI 400 s old (§2.3: 300 s at most)
    c = W.comp_bg(W.path("computer-rogue"), "make-uri", W.url, "old", "--",
                  "-400")
    rc, out = finish(c)
    check(rc == 0, out)
    r = P.pair(out.split()[1], refused=True)
    check(not r["ok"], "paired with a stale URI")
    names = P.computers(want="laptop")
    check(names == ["laptop"], "paired computers: %r" % names)
    # the main computer still works
    rc, out, _ = call("info")
    check(rc == 0, out)


def check_getinfo():
    rc, out, _ = call("info")
    check(rc == 0 and re.search(r"info versions=2 FIDO_2_0 rk=1 "
                                r"clientPin=0", out), out)


def check_enroll_sign():
    rc, out, qs = call("enroll", W.path("key1"), answers=["once"])
    check(rc == 0 and "enrolled flags=0x41 counter=0" in out, out)
    check(qs[0]["op"] == "enroll", "asked as %r" % qs[0]["op"])
    last = 0
    for _ in range(2):
        rc, out, qs = call("sign", key("key1"), answers=["once"])
        check(rc == 0, out)
        flags, n = signed(out)
        check(flags == 0x01 and n > last, "flags 0x%02x counter %d after "
              "%d" % (flags, n, last))
        last = n
    W.counter = last


def check_counter_restart():
    P.restart()
    rc, out, _ = call("sign", key("key1"), answers=["once"])
    check(rc == 0 and signed(out)[1] > getattr(W, "counter", 0),
          "counter %d after %d" % (signed(out)[1], W.counter))


def check_refusals():
    refused(ST_STALE, E_EXPIRED, "sign", key("key1"), "--offset-ms",
            "-121000")
    refused(ST_STALE, E_EXPIRED, "sign", key("key1"), "--offset-ms",
            "125000")
    refused(ST_MISMATCH, None, "sign", key("key1"), "--tamper")
    refused(ST_MISMATCH, None, "enroll", key("keyt"), "--tamper")
    rc, out, _ = call("sign", key("key1"), "--repeat", "2",
                      answers=["once"])
    check(result(out, 1) == (0, 0) and
          result(out, 2) == (ST_REPLAY, E_REPLAY), out)


def missing_key(name, rp="ssh:"):
    """A key file for a credential the phone never made."""
    with open(key("key1")) as f:
        text = f.read()
    text = re.sub(r"^cred \S+$", "cred " + os.urandom(16).hex(), text,
                  flags=re.M)
    text = re.sub(r"^rp \S+$", "rp " + rp, text, flags=re.M)
    with open(key(name), "w") as f:
        f.write(text)
    return key(name)


def check_refusal_order():
    k = key("key1")
    miss = missing_key("key-missing")
    # the envelope (step 2) before the data, freshness and replay
    refused(ST_VERSION, None, "sign", k, "--mangle", "version", "--tamper",
            "--offset-ms", "-130000")
    refused(ST_INVALID_CBOR, None, "sign", k, "--mangle", "padding",
            "--tamper", "--offset-ms", "-130000")
    refused(ST_MISMATCH, None, "sign", k, "--tamper", "--offset-ms",
            "-130000")
    x = new_id()
    rc, out, _ = call("sign", k, "--id", x, answers=["once"])
    check(rc == 0, out)
    # x is recorded now
    refused(ST_STALE, E_EXPIRED, "sign", k, "--id", x, "--offset-ms",
            "-130000")
    refused(ST_MISMATCH, None, "sign", k, "--id", x, "--tamper")
    refused(ST_REPLAY, E_REPLAY, "sign", miss, "--id", x)
    refused(ST_REPLAY, E_REPLAY, "sign", k, "--id", x, "--uv")
    refused(ST_INVALID_CBOR, None, "sign", k, "--id", x, "--mangle",
            "padding")
    # refused at steps 3 and 4: not recorded, so it passes after
    y = new_id()
    refused(ST_MISMATCH, None, "sign", k, "--id", y, "--tamper")
    refused(ST_STALE, E_EXPIRED, "sign", k, "--id", y, "--offset-ms",
            "-130000")
    rc, out, _ = call("sign", k, "--id", y, answers=["once"])
    check(rc == 0, "an id refused before step 5 was recorded: " + out)
    # refused at step 6: recorded
    z = new_id()
    refused(ST_NO_CREDS, None, "sign", miss, "--id", z)
    refused(ST_REPLAY, E_REPLAY, "sign", k, "--id", z)
    # command checks before user verification, that before approval
    refused(ST_NO_CREDS, None, "sign", miss, "--uv")
    refused(ST_UV_NA, None, "sign", k, "--uv", "--pin", "1234")


def check_not_paired():
    # the main computer's pairing record with another identity key
    stranger = W.path("computer-stranger")
    os.makedirs(stranger, mode=0o700)
    shutil.copy(os.path.join(C, "phones"), stranger)
    rc, out, _ = call("info", "--timeout-ms", "8000", cdir=stranger)
    check(rc != 0 and result(out) == (0, E_NOT_PAIRED), out)
    rc, out, _ = call("sign", key("key1"), "--timeout-ms", "8000",
                      cdir=stranger)
    check(rc != 0 and result(out) == (0, E_NOT_PAIRED), out)
    # step 1 before everything: nothing said of a bad envelope either
    rc, out, _ = call("sign", key("key1"), "--timeout-ms", "8000",
                      "--mangle", "version", "--tamper", cdir=stranger)
    check(rc != 0 and result(out) == (0, E_NOT_PAIRED), out)
    rc, out, _ = call("info")
    check(rc == 0, out)


def check_resident_exclude():
    rc, out, _ = call("enroll", key("rk1"), "--resident", "--user",
                      "alice", answers=["once"])
    check(rc == 0 and "enrolled flags=0x41" in out, out)
    refused(ST_EXCLUDED, E_EXISTS, "enroll", key("rk2"), "--resident",
            "--user", "alice")
    rc, out, _ = call("enroll", key("rk2"), "--resident", "--user",
                      "alice", "--overwrite", answers=["once"])
    check(rc == 0, out)
    refused(ST_NO_CREDS, None, "sign", key("rk1"))
    W.residents = ["alice"]


def check_allowlist_miss():
    refused(ST_NO_CREDS, None, "sign", missing_key("key-unknown"))
    # key1 is a credential of rp "ssh:", not of another
    with open(key("key1")) as f:
        text = f.read()
    with open(key("key1-other-rp"), "w") as f:
        f.write(re.sub(r"^rp \S+$", "rp ssh:other", text, flags=re.M))
    refused(ST_NO_CREDS, None, "sign", key("key1-other-rp"))


def check_uv_pin():
    refused(ST_UV_NA, None, "sign", key("key1"), "--uv", "--pin", "1234")
    W.pin = "2468"
    P.set_pin(W.pin)
    rc, out, _ = call("info")
    check(rc == 0 and "clientPin=1" in out, out)
    refused(ST_PIN_REQ, None, "sign", key("key1"), "--uv")
    refused(ST_PIN_BAD, None, "sign", key("key1"), "--uv", "--pin", "1357")
    rc, out, _ = call("sign", key("key1"), "--uv", "--pin", W.pin,
                      answers=["once"])
    check(rc == 0 and signed(out)[0] == 0x05, out)
    # a key made with UV required wants the PIN on every use
    rc, out, _ = call("enroll", key("keyuv"), "--cred-protect", "3",
                      "--pin", "2468", answers=["once"])
    check(rc == 0 and "enrolled flags=0x45" in out, out)
    refused(ST_PIN_REQ, None, "sign", key("keyuv"))


def host_state(q, want):
    check(q["op"] == "login" and q["host_state"] == want,
          "asked %s/%s, not login/%s: %s" % (q["op"], q["host_state"], want,
                                             q["text"]))


def check_hosts_windows():
    k = key("key1")
    db1, db1b, db3, db4 = HostKey(), HostKey(), HostKey(), HostKey()
    # a first login: asked as first use; "this host" pins it, opens its
    # window
    rc, out, qs = call("sign", k, *login("db1", 2222, db1), answers=["host"])
    check(rc == 0, out)
    host_state(qs[0], "first-use")
    check("host" in qs[0]["choices"], "no host window offered")
    rc, out, _ = call("sign", k, *login("db1", 2222, db1, user="admin"))
    check(rc == 0, "the host window did not cover the next login: " + out)
    # another host: not covered; asked, pinned by an allow
    rc, out, qs = call("sign", k, *login("db3", 22, db3), answers=["once"])
    check(rc == 0, out)
    host_state(qs[0], "first-use")
    rc, out, qs = call("sign", k, *login("db3", 22, db3),
                       answers=["window"])
    check(rc == 0, out)
    host_state(qs[0], "verified")
    # the computer window covers the next verified login
    rc, out, _ = call("sign", k, *login("db3", 22, db3))
    check(rc == 0, "the window did not cover a verified login: " + out)
    # ... never a host's first login, nor a login not verified
    rc, out, qs = call("sign", k, *login("db4", 22, db4),
                       answers=["reject"])
    check(rc != 0 and result(out) == (ST_DENIED, E_REJECTED), out)
    host_state(qs[0], "first-use")
    rc, out, qs = call("sign", k, *login("db4", 22, db4),
                       answers=["reject"])
    host_state(qs[0], "first-use")
    rc, out, qs = call("sign", k, "--userauth", "root", answers=["reject"])
    check(rc != 0 and result(out)[0] == ST_DENIED, out)
    host_state(qs[0], "not-verified")
    check("host" not in qs[0]["choices"],
          "a host window offered for an unverified login")
    # a changed key: refused, before user verification; host info that
    # does not verify over this session: refused
    out = refused(ST_HOSTKEY, E_HOSTKEY, "sign", k,
                  *login("db1", 2222, db1b))
    check("db1" in out, "the reason names no host: " + out)
    refused(ST_HOSTKEY, E_HOSTKEY, "sign", k, "--uv",
            *login("db1", 2222, db1b))
    refused(ST_HOST_UNVERIFIED, E_HOST_UNVERIFIED, "sign", k,
            *login("db5", 22, db1, sig_sid=os.urandom(32)))


def check_reject():
    rc, out, qs = call("sign", key("key1"), "--sshsig", "git",
                       answers=["reject"])
    check(rc != 0 and result(out) == (ST_DENIED, E_REJECTED), out)
    check(qs[0]["op"] == "sign", "asked as %r" % qs[0]["op"])


def check_list_resident():
    args = []
    if W.pin:
        refused(ST_PIN_REQ, None, "list")
        args = ["--pin", W.pin]
    rc, out, qs = call("list", *args, answers=["once"])
    check(rc == 0 and "listed %d" % len(W.residents) in out, out)
    check(qs[0]["op"] == "list", "asked as %r" % qs[0]["op"])
    for u in W.residents:
        check(re.search(r"^cred rp=ssh: user=%s " % u, out, re.M), out)


def check_no_touch():
    rc, out, _ = call("sign", key("key1"), "--no-up")
    check(rc == 0 and signed(out)[0] == 0x00, out)
    refused(ST_PIN_REQ if W.pin else ST_UV_NA, None, "sign", key("key1"),
            "--no-up", "--uv")


def check_sshsig_window():
    rc, out, qs = call("sign", key("key1"), "--sshsig", "file",
                       answers=["window"])
    check(rc == 0 and qs[0]["op"] == "sign", out)
    rc, out, _ = call("sign", key("key1"), "--sshsig", "file")
    check(rc == 0, "the window did not cover its namespace: " + out)
    rc, out, qs = call("sign", key("key1"), "--sshsig", "other",
                       answers=["reject"])
    check(rc != 0 and result(out)[0] == ST_DENIED, out)
    rc, out, qs = call("sign", key("key1"), answers=["reject"])
    check(rc != 0 and result(out)[0] == ST_DENIED, out)
    check(qs[0]["op"] == "other", "asked as %r" % qs[0]["op"])


def check_pin_blocked():
    if not W.pin:
        W.pin = "2468"
        P.set_pin(W.pin)
    for i in range(8):
        if i == 4:
            P.restart()
        refused(ST_PIN_BAD, None, "sign", key("key1"), "--uv", "--pin",
                "1357")
    refused(ST_PIN_BLOCKED, None, "sign", key("key1"), "--uv", "--pin",
            "2468")
    P.restart()
    refused(ST_PIN_BLOCKED, None, "sign", key("key1"), "--uv", "--pin",
            "2468")
    # what needs no PIN still works
    rc, out, _ = call("sign", key("key1"), answers=["once"])
    check(rc == 0, out)


def check_algorithms():
    rc, out, _ = call("info")
    check(rc == 0 and re.search(r"^algorithms -7 -8$", out, re.M), out)


def check_ed25519():
    k = W.path("key-ed")
    rc, out, qs = call("enroll", k, "--alg", "-8", answers=["once"])
    check(rc == 0 and "enrolled flags=0x41 counter=0" in out and
          re.search(r"^alg -8$", out, re.M), out)
    m = re.search(r"^pub ([0-9a-f]+)$", out, re.M)
    check(m and len(m.group(1)) == 64, "an Ed25519 public key: %s" % out)
    check(qs[0]["op"] == "enroll" and
          "ed25519-sk" in qs[0]["text"].lower(),
          "the question does not name the key type: %r" % qs[0]["text"])
    last = 0
    for args in ((), ("--userauth", "root")):
        rc, out, qs = call("sign", k, *args, answers=["once"])
        check(rc == 0, out)
        flags, n = signed(out)
        check(flags == 0x01 and n > last, "flags 0x%02x counter %d after "
              "%d" % (flags, n, last))
        last = n
    # a login naming another ed25519-sk key than the one asked to sign
    other = W.path("key-ed-other")
    with open(k) as f:
        text = f.read()
    with open(other, "w") as f:
        f.write(re.sub(r"^pub \S+$", "pub " + os.urandom(32).hex(), text,
                       flags=re.M))
    refused(ST_INVALID_PARAM, None, "sign", other, "--userauth", "root")


def check_clock():
    t = time.time()
    out = refused(ST_STALE, E_EXPIRED, "sign", key("key1"), "--offset-ms",
                  "-300000")
    m = re.search(r"^phone-time ms=(\d+)$", out, re.M)
    check(m, "0xF0 without the phone's time: %s" % out)
    check(abs(int(m.group(1)) / 1000.0 - t) < 5, "the phone's time %s is "
          "not this clock's %.3f: %s" % (m.group(1), t, out))
    rc, out, _ = call("sign", key("key1"), "--offset-ms", "-300000",
                      "--clock-retry", answers=["once"])
    check(rc == 0, out)
    signed(out)
    m = re.search(r"^clock-retried offset-ms=(-?\d+)$", out, re.M)
    check(m and abs(int(m.group(1))) < 5000,
          "no retry in the phone's time, or a wrong offset: %s" % out)


CHECKS = [
    check_pairing,
    check_getinfo,
    check_enroll_sign,
    check_counter_restart,
    check_refusals,
    check_refusal_order,
    check_not_paired,
    check_resident_exclude,
    check_allowlist_miss,
    check_uv_pin,
    check_hosts_windows,
    check_reject,
    check_list_resident,
    check_no_touch,
    check_sshsig_window,
    check_pin_blocked,
    check_algorithms,
    check_ed25519,
    check_clock,
]


def make_phone(kind, arg):
    if kind == "reference":
        return RefPhone(os.path.abspath(arg))
    if kind == "web":
        return WebPhone()
    raise SystemExit("unknown phone %r" % kind)


def main():
    global W, P, C
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    kind, computer, relay, arg = sys.argv[1:5]
    only = sys.argv[5:]
    checks = [c for c in CHECKS if not only or c.__name__[6:] in only]
    print("1..%d" % (len(checks) + 1))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    t0 = time.time()
    try:
        check(kind != "web" or os.path.isfile(os.path.join(arg,
                                                           "index.html")),
              "no web phone page in %s: run sh scripts/web-deps.sh, then "
              "meson setup --reconfigure BUILD" % arg)
        W = World(os.path.abspath(computer), os.path.abspath(relay),
                  web=os.path.abspath(arg) if kind == "web" else None)
        P = make_phone(kind, arg)
        P.start(W)
        C = W.path("computer")
        pair(C, "laptop")
        print("ok 1 - %s phone: set up and paired, the code equal on both "
              "sides (%.1f s)" % (P.name, time.time() - t0))
    except Exception as e:
        print("not ok 1 - setup: %s" % e)
        for i, c in enumerate(checks):
            print("not ok %d - %s # setup failed" % (i + 2, c.__name__[6:]))
        try:
            if P:
                P.stop()
        except Exception:
            pass
        if W:
            W.close()
        return 1
    failed = 0
    for i, c in enumerate(checks):
        t = time.time()
        try:
            c()
            print("ok %d - %s (%.1f s)" % (i + 2, c.__name__[6:],
                                           time.time() - t))
        except Exception as e:
            failed += 1
            print("not ok %d - %s: %s" % (i + 2, c.__name__[6:],
                                          str(e).replace("\n", "\n# ")))
        sys.stdout.flush()
    try:
        P.stop()
    except Exception as e:
        failed += 1
        print("# stopping the phone: %s" % e)
    W.close()
    print("# %s phone: %d checks, %.1f s" % (P.name, len(checks),
                                             time.time() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
