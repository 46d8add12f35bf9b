# Relay tests: the real sk-phone-relay and real clients on 127.0.0.1.
"""Each case starts its own relay on a free port, drives it with
relay_tool (the C client library) and with a raw websocket client written
here (for what the library will not send: text frames, oversize frames,
forged proofs), and checks what comes back. Every process started is
stopped when the case ends, and every case has a time bound.

usage: relay_test.py RELAY_BIN TOOL_BIN CASE
"""

import base64
import hashlib
import http.client
import os
import re
import shutil
import ssl
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature

RELAY = TOOL = None
CASE_BOUND_S = 60
PROCS = []
TMP = tempfile.mkdtemp(prefix="skp-relay-test-")

LISTEN, CALL, JOIN, DATA, HANGUP, PROVE, MEET = 1, 2, 3, 4, 5, 6, 7
LISTENING, INCOMING, ONLINE, OFFLINE, WAITING, PEER, END, CHALLENGE = (
    0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def mailbox_key(secret):
    """The P-256 key whose private scalar is the 32 bytes of secret."""
    return ec.derive_private_key(int.from_bytes(secret, "big"),
                                 ec.SECP256R1())


def mailbox_pub(secret):
    return mailbox_key(secret).public_key().public_bytes(
        serialization.Encoding.X962,
        serialization.PublicFormat.UncompressedPoint)


def mailbox_id(secret):
    """docs/PROTOCOL.md 7.4: SHA-256("sk-phone mailbox v2" || pub)."""
    return hashlib.sha256(b"sk-phone mailbox v2" +
                          mailbox_pub(secret)).digest()


def mailbox_proof(secret, nonce, mbid):
    """ECDSA P-256 / SHA-256 of the label, nonce and id, as r || s."""
    der = mailbox_key(secret).sign(b"sk-phone mailbox proof v2" + nonce +
                                   mbid, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def hdr(kind, chan):
    return struct.pack(">BI", kind, chan)


class Proc:
    """A child whose stdout lines are collected with their arrival time."""

    def __init__(self, argv, env=None, stderr=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        if stderr is None:
            self.log = os.path.join(TMP, "proc-%d.err" % len(PROCS))
            stderr = open(self.log, "wb")
        self.errf = stderr
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stderr=stderr, env=e)
        PROCS.append(self)
        self.lines = []
        self.cv = threading.Condition()
        self.t0 = time.monotonic()
        self.th = threading.Thread(target=self._read, daemon=True)
        self.th.start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            with self.cv:
                self.lines.append((time.monotonic(), line))
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait_line(self, pattern, timeout):
        """The first line matching pattern (a regex on the words after
        the tool's time stamp), with the monotonic time it arrived."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for t, line in self.lines:
                    words = line.split(" ", 1)
                    body = words[1] if len(words) > 1 else line
                    if rx.search(body):
                        return t, body
                left = end - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and
                                 not self.th.is_alive()):
                    raise Fail("no line /%s/ in %.1fs; got %r" %
                               (pattern, timeout,
                                [l for _, l in self.lines]))
                self.cv.wait(min(left, 0.2))

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Fail("process %s did not exit in %.1fs" %
                       (self.p.args[1:3], timeout))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(3)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(3)
        self.errf.close()


SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def sanitizer_reports():
    """Under -Db_sanitize, any report in any child's stderr fails."""
    found = []
    for f in sorted(os.listdir(TMP)):
        if not f.endswith((".err", ".log")):
            continue
        with open(os.path.join(TMP, f), "rb") as fh:
            text = fh.read().decode(errors="replace")
        for m in SANITIZER_MARKS:
            if m in text:
                found.append("%s: %s" % (f, text[text.index(m) - 200 if
                                                   text.index(m) > 200
                                                   else 0:][:1500]))
                break
    return found


class Relay:
    def __init__(self, *args, tls=None, env=None):
        self.log = os.path.join(TMP, "relay-%d.log" % len(PROCS))
        errf = open(self.log, "wb")
        argv = [RELAY, "--listen", "127.0.0.1:0"] + list(args)
        if os.environ.get("RELAY_TEST_LOOP"):
            argv += ["--event-loop", os.environ["RELAY_TEST_LOOP"]]
        if tls:
            argv += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.proc = Proc(argv, stderr=errf, env=env)
        self.port = None
        self.host = "127.0.0.1"
        end = time.monotonic() + 10
        while time.monotonic() < end:
            m = re.search(r"listening on wss?://(\S+):(\d+) ", self.text())
            if m:
                self.host = m.group(1)
                self.port = int(m.group(2))
                break
            if self.proc.p.poll() is not None:
                break
            time.sleep(0.02)
        check(self.port, "relay did not start: " + self.text())
        self.url = "%s://%s:%d" % ("wss" if tls else "ws", self.host,
                                    self.port)

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")


def tool(*args, env=None):
    return Proc([TOOL] + [str(a) for a in args], env=env)


class RawWS:
    """A minimal websocket client (RFC 6455), client frames masked."""

    def __init__(self, port, proto=True, timeout=5.0,
                 subproto="sk-phone-relay.v2", host="127.0.0.1",
                 source=None):
        self.s = socket.create_connection(
            (host, port), timeout,
            source_address=(source, 0) if source else None)
        self.s.settimeout(timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               % (port, key))
        if proto:
            req += "Sec-WebSocket-Protocol: %s\r\n" % subproto
        self.s.sendall((req + "\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = self.s.recv(4096)
            check(d, "relay closed during the handshake")
            buf += d
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        check(head.startswith(b"HTTP/1.1 101"), "no upgrade: %r" % head)
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
        ).digest())
        check(accept in head, "bad Sec-WebSocket-Accept")
        self.closed = None

    def send_frame(self, opcode, payload, fin=True):
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            h = struct.pack(">BB", b0, 0x80 | n)
        elif n < 65536:
            h = struct.pack(">BBH", b0, 0x80 | 126, n)
        else:
            h = struct.pack(">BBQ", b0, 0x80 | 127, n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(h + mask + body)

    def send(self, data):
        self.send_frame(2, data)

    def _need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=3.0, pong=True):
        """('bin', bytes), ('close', code, reason) or ('eof',)."""
        self.s.settimeout(timeout)
        msg = b""
        try:
            while True:
                b0, b1 = self._need(2)
                n = b1 & 0x7f
                if n == 126:
                    n = struct.unpack(">H", self._need(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", self._need(8))[0]
                payload = self._need(n)
                op = b0 & 0x0f
                if op == 9:
                    if pong:
                        self.send_frame(10, payload)
                    continue
                if op == 10:
                    continue
                if op == 8:
                    code = struct.unpack(">H", payload[:2])[0] \
                        if len(payload) >= 2 else None
                    self.closed = code
                    try:
                        self.send_frame(8, payload[:2])
                    except OSError:
                        pass
                    return ("close", code, payload[2:].decode())
                msg += payload
                if b0 & 0x80:
                    return ("bin", msg)
        except EOFError:
            return ("eof",)
        except socket.timeout:
            return ("timeout",)

    def expect(self, kind, chan, timeout=3.0):
        """The next binary frame must be kind on chan; returns its body."""
        r = self.recv(timeout)
        check(r[0] == "bin", "want frame 0x%02x, got %r" % (kind, r))
        k, c = struct.unpack(">BI", r[1][:5])
        check(k == kind and (chan is None or c == chan),
              "want 0x%02x/%s, got 0x%02x/%d %r" % (kind, chan, k, c,
                                                    r[1][5:60]))
        return c, r[1][5:]

    def expect_end(self, chan, code, timeout=3.0):
        _, body = self.expect(END, chan, timeout)
        got = struct.unpack(">H", body[:2])[0]
        check(got == code, "want END %d, got %d (%r)" % (code, got,
                                                          body[2:]))

    def expect_close(self, code, timeout=4.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self.recv(max(0.05, end - time.monotonic()))
            if r[0] == "close":
                check(r[1] == code, "want close %d, got %r" % (code, r))
                return r[2]
            if r[0] == "eof":
                raise Fail("want close %d, got EOF" % code)
        raise Fail("want close %d, got nothing" % code)

    def listen(self, secret, mbid=None, pub=None):
        """LISTEN, then PROVE for the relay's CHALLENGE; returns the
        nonce and the signature sent (a replay test sends them again)."""
        mbid = mbid or mailbox_id(secret)
        self.send(hdr(LISTEN, 0) + mbid + (pub or mailbox_pub(secret)))
        _, nonce = self.expect(CHALLENGE, 0)
        check(len(nonce) == 32, "challenge of %d bytes" % len(nonce))
        sig = mailbox_proof(secret, nonce, mbid)
        self.send(hdr(PROVE, 0) + sig)
        return nonce, sig

    def call(self, chan, mbid, timeout_ms=5000):
        self.send(hdr(CALL, chan) + mbid + struct.pack(">I", timeout_ms))

    def join(self, chan, rid, timeout_ms=5000, kind=JOIN):
        self.send(hdr(kind, chan) + rid + struct.pack(">I", timeout_ms))

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def raw_phone(relay, secret):
    ph = RawWS(relay.port)
    ph.listen(secret)
    ph.expect(LISTENING, 0)
    return ph


# ---------------------------------------------------------------- routing

def case_route_many_callers():
    """One phone, 24 concurrent callers x 10 calls, each reply its own."""
    r = Relay("--max-calls", "64", "--max-per-addr", "256")
    secret = os.urandom(32)
    ph = tool("phone", r.url, secret.hex(), "echo", 0)
    ph.wait_line(r"^LISTENING", 5)
    m = tool("multi", r.url, mailbox_id(secret).hex(), 24, 10, 10000)
    m.wait_exit(50)
    _, line = m.wait_line(r"^MULTI", 1)
    check(line == "MULTI ok=240 bad=0 err=0", line)


def case_callers_isolated():
    """Two callers on one mailbox: each sees only its own channel."""
    r = Relay()
    secret = os.urandom(32)
    ph = raw_phone(r, secret)
    a, b = RawWS(r.port), RawWS(r.port)
    a.call(7, mailbox_id(secret))
    a.expect(ONLINE, 7)
    pa, _ = ph.expect(INCOMING, None)
    b.call(7, mailbox_id(secret))
    b.expect(ONLINE, 7)
    pb, _ = ph.expect(INCOMING, None)
    check(pa != pb, "one phone channel for two calls")
    a.send(hdr(DATA, 7) + b"from-a")
    c, body = ph.expect(DATA, None)
    check(c == pa and body == b"from-a", "a's data on %d" % c)
    ph.send(hdr(DATA, pb) + b"for-b")
    c, body = b.expect(DATA, 7)
    check(body == b"for-b", body)
    check(a.recv(0.4)[0] == "timeout", "a saw b's frame")
    ph.send(hdr(DATA, pa) + b"for-a")
    c, body = a.expect(DATA, 7)
    check(body == b"for-a", body)
    check(b.recv(0.3)[0] == "timeout", "b saw a's frame")


def case_offline_then_online():
    """A call to an absent phone is told OFFLINE at once, then delivered."""
    r = Relay()
    secret = os.urandom(32)
    c = tool("call", r.url, mailbox_id(secret).hex(), "hello-late", 8000)
    t, _ = c.wait_line(r"^OFFLINE 1$", 2)
    check(t - c.t0 < 1.5, "OFFLINE took %.2fs" % (t - c.t0))
    time.sleep(0.5)
    ph = tool("phone", r.url, secret.hex(), "echo", 1)
    c.wait_line(r"^ONLINE 1$", 5)
    c.wait_line(r"^REPLY echo:hello-late$", 5)
    check(c.wait_exit(5) == 0, "call failed")
    ph.wait_line(r"^MESSAGE \d+ hello-late$", 2)


def case_exchange_offline_status():
    """skp_relay_exchange reports OFFLINE through on_status, then works."""
    r = Relay()
    secret = os.urandom(32)
    c = tool("exchange", r.url, mailbox_id(secret).hex(), "xyz", 8000)
    c.wait_line(r"^OFFLINE", 2)
    tool("phone", r.url, secret.hex(), "echo", 1)
    c.wait_line(r"^ONLINE", 5)
    c.wait_line(r"^REPLY echo:xyz$", 5)
    check(c.wait_exit(5) == 0, "exchange failed")


def case_caller_timeout_relay():
    """The relay caps the hold (--max-hold 1): END 4020, mapped TIMEOUT."""
    r = Relay("--max-hold", "1")
    c = tool("call", r.url, os.urandom(32).hex(), "x", 6000)
    c.wait_line(r"^OFFLINE", 2)
    t, _ = c.wait_line(r"^END TIMEOUT 4020$", 4)
    check(0.9 <= t - c.t0 <= 2.5, "relay timeout after %.2fs" % (t - c.t0))


def case_caller_timeout_client():
    """The caller's own timeout ends a call to an absent phone in time."""
    r = Relay()
    c = tool("call", r.url, os.urandom(32).hex(), "x", 700)
    t, line = c.wait_line(r"TIMEOUT", 4)
    check(0.6 <= t - c.t0 <= 1.8, "timeout after %.2fs" % (t - c.t0))
    check(c.wait_exit(3) == 1, "call did not fail")
    c2 = tool("exchange", r.url, os.urandom(32).hex(), "x", 700)
    c2.wait_line(r"^ERROR TIMEOUT$", 4)


def case_phone_reconnect():
    """A phone killed and started again gets calls again; a call cut by
    the phone's death ends with PHONE_GONE."""
    r = Relay()
    secret = os.urandom(32)
    mb = mailbox_id(secret).hex()
    ph = tool("phone", r.url, secret.hex(), "hold", 0)
    ph.wait_line(r"^LISTENING", 5)
    c = tool("call", r.url, mb, "first", 8000)
    c.wait_line(r"^ONLINE", 3)
    ph.wait_line(r"^MESSAGE \d+ first", 3)
    ph.p.kill()
    c.wait_line(r"^END CLOSED 4024$", 3)
    ph2 = tool("phone", r.url, secret.hex(), "echo", 1)
    ph2.wait_line(r"^LISTENING", 5)
    c2 = tool("call", r.url, mb, "second", 5000)
    c2.wait_line(r"^REPLY echo:second$", 5)


def case_listener_replaced():
    """A second listener with the secret takes the mailbox over."""
    r = Relay()
    secret = os.urandom(32)
    ph1 = tool("phone", r.url, secret.hex(), "hold", 0)
    ph1.wait_line(r"^LISTENING", 5)
    ph2 = tool("phone", r.url, secret.hex(), "echo", 1)
    ph2.wait_line(r"^LISTENING", 5)
    ph1.wait_line(r"^CLOSED EXISTS 4007$", 3)
    c = tool("call", r.url, mailbox_id(secret).hex(), "to-new", 5000)
    c.wait_line(r"^REPLY echo:to-new$", 5)


def case_hangup_forwarded():
    """A phone that hangs up: the caller gets END 4025 (CLOSED)."""
    r = Relay()
    secret = os.urandom(32)
    tool("phone", r.url, secret.hex(), "hangup", 0).wait_line(
        r"^LISTENING", 5)
    c = tool("call", r.url, mailbox_id(secret).hex(), "x", 5000)
    c.wait_line(r"^END CLOSED 4025$", 3)


def case_caller_gone():
    """A caller that disconnects: the phone gets END 4026 on its channel."""
    r = Relay()
    secret = os.urandom(32)
    ph = raw_phone(r, secret)
    c = RawWS(r.port)
    c.call(1, mailbox_id(secret))
    c.expect(ONLINE, 1)
    pc, _ = ph.expect(INCOMING, None)
    c.close()
    ph.expect_end(pc, 4026)


def case_fragmented_frame():
    """A frame sent as three websocket fragments arrives whole."""
    r = Relay()
    secret = os.urandom(32)
    ph = raw_phone(r, secret)
    c = RawWS(r.port)
    c.call(3, mailbox_id(secret))
    c.expect(ONLINE, 3)
    pc, _ = ph.expect(INCOMING, None)
    payload = os.urandom(3000)
    frame = hdr(DATA, 3) + payload
    c.send_frame(2, frame[:1000], fin=False)
    c.send_frame(0, frame[1000:2000], fin=False)
    c.send_frame(0, frame[2000:], fin=True)
    ch, body = ph.expect(DATA, pc)
    check(body == payload, "reassembled payload differs")
    big = os.urandom(65536 - 5)
    c.send(hdr(DATA, 3) + big)
    ch, body = ph.expect(DATA, pc)
    check(body == big, "largest frame differs")


def case_rendezvous():
    """Two parties meet once; then the id is gone."""
    r = Relay()
    rid = os.urandom(32)
    a = tool("join", r.url, rid.hex(), "from-a", 5000)
    a.wait_line(r"^WAITING", 3)
    b = tool("join", r.url, rid.hex(), "from-b", 5000)
    a.wait_line(r"^GOT from-b$", 5)
    b.wait_line(r"^GOT from-a$", 5)
    a.wait_line(r"^PEER", 1)
    b.wait_line(r"^PEER", 1)
    x = RawWS(r.port)
    x.join(1, rid)
    x.expect(WAITING, 1)
    y = RawWS(r.port)
    y.join(5, os.urandom(32), 700)
    y.expect(WAITING, 5)
    y.expect_end(5, 4020, 3)


def case_data_before_delivery():
    """DATA right after CALL to a phone that is there goes through; on a
    call held for an absent phone it is dropped (it would be stale), and
    what the caller sends after ONLINE arrives. DATA right after JOIN is
    kept and handed over, in order, when the peer comes."""
    r = Relay()
    secret = os.urandom(32)
    c = RawWS(r.port)
    c.call(4, mailbox_id(secret))
    c.send(hdr(DATA, 4) + b"early-1")
    c.send(hdr(DATA, 4) + b"early-2")
    c.expect(OFFLINE, 4)
    # One connection's frames are handled in order: once this answer is
    # back, the two above were too (a phone listening in between would
    # get them, delivered with the call: that is not a held call).
    c.call(6, os.urandom(32))
    c.expect(OFFLINE, 6)
    ph = raw_phone(r, secret)
    pc, _ = ph.expect(INCOMING, None)
    m = ph.recv(0.5)
    check(m[0] == "timeout", "a held call kept its data: %r" % (m,))
    c.expect(ONLINE, 4)
    c.send(hdr(DATA, 4) + b"fresh")
    check(ph.expect(DATA, pc)[1] == b"fresh", "fresh message")
    ph.send(hdr(DATA, pc) + b"answer")
    check(c.expect(DATA, 4)[1] == b"answer", "answer")
    c.call(5, mailbox_id(secret))
    c.send(hdr(DATA, 5) + b"at-once")
    c.expect(ONLINE, 5)
    pc, _ = ph.expect(INCOMING, None)
    check(ph.expect(DATA, pc)[1] == b"at-once", "pipelined message")
    rid = os.urandom(32)
    a = RawWS(r.port)
    a.join(9, rid)
    a.send(hdr(DATA, 9) + b"hello-from-a")
    a.expect(WAITING, 9)
    b = RawWS(r.port)
    b.join(2, rid)
    b.expect(PEER, 2)
    check(b.expect(DATA, 2)[1] == b"hello-from-a", "held join data")
    a.expect(PEER, 9)


def case_limit_held_data():
    """DATA held for a rendezvous: at most --max-frame per join (4028),
    and at most --max-held-bytes in all (4022)."""
    r = Relay("--max-frame", "1024", "--max-held-bytes", "1500")
    c = RawWS(r.port)
    c.join(1, os.urandom(32))
    c.expect(WAITING, 1)
    c.send(hdr(DATA, 1) + os.urandom(600))
    c.send(hdr(DATA, 1) + os.urandom(600))
    c.expect_end(1, 4028)
    d = RawWS(r.port, source="127.0.0.2")
    d.join(1, os.urandom(32))
    d.expect(WAITING, 1)
    d.send(hdr(DATA, 1) + os.urandom(700))
    c.join(2, os.urandom(32))
    c.expect(WAITING, 2)
    c.send(hdr(DATA, 2) + os.urandom(900))
    c.expect_end(2, 4022)
    check(d.recv(0.3)[0] == "timeout", "the first held join was ended")


def case_rendezvous_same_conn():
    """A connection cannot meet itself."""
    r = Relay()
    rid = os.urandom(32)
    x = RawWS(r.port)
    x.join(1, rid)
    x.expect(WAITING, 1)
    x.join(2, rid)
    x.expect_end(2, 4027)


def case_meet():
    """MEET (the phone's) meets a JOIN that waits; where nobody waits (a
    code used, expired or altered) it is END 4031 at once, nothing kept;
    on its own connection's JOIN, 4027."""
    r = Relay()
    rid = os.urandom(32)
    x = RawWS(r.port)
    y = RawWS(r.port)
    y.join(3, os.urandom(32), 60000, kind=MEET)
    y.expect_end(3, 4031, 1)
    x.join(1, rid)
    x.expect(WAITING, 1)
    x.join(2, rid, kind=MEET)
    x.expect_end(2, 4027)
    y.join(4, rid, kind=MEET)
    y.send(hdr(DATA, 4) + b"hello")
    y.expect(PEER, 4)
    x.expect(PEER, 1)
    _, got = x.expect(DATA, 1)
    check(got == b"hello", "DATA after MEET: %r" % got)
    # Met: the id is gone, a second MEET finds nobody.
    z = RawWS(r.port)
    z.join(1, rid, kind=MEET)
    z.expect_end(1, 4031, 1)
    # A MEET that found nobody left nothing waiting: a JOIN there waits.
    alone = os.urandom(32)
    z.join(2, alone, kind=MEET)
    z.expect_end(2, 4031, 1)
    z.join(3, alone)
    z.expect(WAITING, 3)


# ----------------------------------------------------------------- limits

def case_limit_frame_size():
    """Over --max-frame: close 4002, whole or in fragments."""
    r = Relay("--max-frame", "1024")
    c = RawWS(r.port)
    c.send(hdr(DATA, 1) + os.urandom(70000))
    c.expect_close(4002)
    d = RawWS(r.port)
    d.send_frame(2, hdr(DATA, 1) + os.urandom(600), fin=False)
    d.send_frame(0, os.urandom(600), fin=True)
    d.expect_close(4002)
    t = tool("connect", r.url, 200)
    t.wait_line(r"^CONNECTED", 3)


def case_limit_text_frame():
    r = Relay()
    c = RawWS(r.port)
    c.send_frame(1, b"hello")
    c.expect_close(4001)


def case_limit_conns_per_addr():
    """--max-per-addr 3: the fourth is closed 4003 (LIMIT to the lib)."""
    r = Relay("--max-per-addr", "3")
    keep = [RawWS(r.port) for _ in range(3)]
    extra = RawWS(r.port)
    extra.expect_close(4003)
    t = tool("connect", r.url, 500)
    t.wait_line(r"LIMIT", 3)
    keep[0].close()
    time.sleep(0.3)
    ok = RawWS(r.port)
    check(ok.recv(0.5)[0] == "timeout", "refused after one left")


def case_limit_conns_total():
    r = Relay("--max-conns", "3")
    keep = [RawWS(r.port) for _ in range(3)]
    extra = RawWS(r.port)
    extra.expect_close(4004)
    check(len(keep) == 3, "kept")


def case_limit_calls_per_mailbox():
    """--max-calls 2: one address gets one (4029 past it), two addresses
    get the two, and then everyone gets 4021."""
    r = Relay("--max-calls", "2")
    mb = os.urandom(32)
    c = RawWS(r.port)
    c.call(1, mb)
    c.expect(OFFLINE, 1)
    c.call(2, mb)
    c.expect_end(2, 4029)
    d = RawWS(r.port, source="127.0.0.2")
    d.call(1, mb)
    d.expect(OFFLINE, 1)
    e = RawWS(r.port, source="127.0.0.3")
    e.call(3, mb)
    e.expect_end(3, 4021)
    t = tool("call", r.url, mb.hex(), "x", 3000)
    t.wait_line(r"^END LIMIT 4021$", 3)


def case_limit_pending():
    """--max-pending 4: an address gets 2 (then 4030), two addresses
    the 4, then everyone gets 4022, for calls and rendezvous alike."""
    r = Relay("--max-pending", "4")
    c = RawWS(r.port)
    c.call(1, os.urandom(32))
    c.expect(OFFLINE, 1)
    c.join(2, os.urandom(32))
    c.expect(WAITING, 2)
    c.call(3, os.urandom(32))
    c.expect_end(3, 4030)
    c.join(4, os.urandom(32))
    c.expect_end(4, 4030)
    d = RawWS(r.port, source="127.0.0.2")
    d.call(1, os.urandom(32))
    d.expect(OFFLINE, 1)
    d.join(2, os.urandom(32))
    d.expect(WAITING, 2)
    e = RawWS(r.port, source="127.0.0.3")
    e.call(3, os.urandom(32))
    e.expect_end(3, 4022)
    e.join(4, os.urandom(32))
    e.expect_end(4, 4022)
    # A call to a phone that is there is not held, so it still goes.
    secret = os.urandom(32)
    ph = raw_phone(r, secret)
    c.call(5, mailbox_id(secret))
    c.expect(ONLINE, 5)
    ph.expect(INCOMING, None)


def case_limit_channels():
    r = Relay("--max-channels", "2")
    c = RawWS(r.port)
    c.call(1, os.urandom(32))
    c.expect(OFFLINE, 1)
    c.call(2, os.urandom(32))
    c.expect(OFFLINE, 2)
    c.call(3, os.urandom(32))
    c.expect_end(3, 4023)


def case_limit_handshake_timeout():
    """A connection that never finishes the handshake is cut: silent
    within the timeout, with headers started within twice it."""
    r = Relay("--handshake-timeout", "1")
    for start, bound in ((b"", 2.5), (b"GET / HTTP/1.1\r\nHost: x\r\n", 3.5)):
        s = socket.create_connection(("127.0.0.1", r.port), 5)
        t0 = time.monotonic()
        if start:
            s.sendall(start)
        s.settimeout(6)
        try:
            d = s.recv(100)
        except ConnectionResetError:
            d = b""
        except socket.timeout:
            raise Fail("not cut in 6s (sent %r)" % start)
        took = time.monotonic() - t0
        check(d == b"", "got %r" % d)
        check(0.5 <= took <= bound, "cut after %.2fs" % took)
        s.close()


def case_limit_idle():
    r = Relay("--idle-timeout", "1")
    c = RawWS(r.port)
    t0 = time.monotonic()
    c.expect_close(4005, 4)
    took = time.monotonic() - t0
    check(0.8 <= took <= 2.5, "idle close after %.2fs" % took)


def case_keepalive():
    """Pings: a client that never answers is closed 4009; the library
    answers them, so its phone stays and still gets calls."""
    r = Relay("--ping-interval", "1")
    secret = os.urandom(32)
    silent = RawWS(r.port)
    silent.listen(os.urandom(32))
    check(silent.recv(2, pong=False)[0] == "bin", "no LISTENING")
    t0 = time.monotonic()
    end = t0 + 6
    code = None
    while time.monotonic() < end:
        m = silent.recv(0.5, pong=False)
        if m[0] == "close":
            code = m[1]
            break
    check(code == 4009, "silent client: %r" % (code,))
    ph = tool("phone", r.url, secret.hex(), "echo", 1)
    ph.wait_line(r"^LISTENING", 5)
    time.sleep(3.5)
    check(ph.p.poll() is None, "phone dropped")
    c = tool("call", r.url, mailbox_id(secret).hex(), "alive", 5000)
    c.wait_line(r"^REPLY echo:alive$", 5)


def case_bad_mailbox_proof():
    """An id that is not the hash of the key, a signature by another key,
    a signature of another nonce, a key off the curve: all 4006."""
    r = Relay()
    secret = os.urandom(32)
    c = RawWS(r.port)
    c.listen(secret, mbid=mailbox_id(os.urandom(32)))
    c.expect_close(4006)
    c = RawWS(r.port)
    mbid = mailbox_id(secret)
    c.send(hdr(LISTEN, 0) + mbid + mailbox_pub(secret))
    _, nonce = c.expect(CHALLENGE, 0)
    c.send(hdr(PROVE, 0) + mailbox_proof(os.urandom(32), nonce, mbid))
    c.expect_close(4006)
    c = RawWS(r.port)
    c.send(hdr(LISTEN, 0) + mbid + mailbox_pub(secret))
    _, nonce = c.expect(CHALLENGE, 0)
    c.send(hdr(PROVE, 0) + mailbox_proof(secret, os.urandom(32), mbid))
    c.expect_close(4006)
    bad = b"\x04" + b"\x01" * 64
    c = RawWS(r.port)
    c.send(hdr(LISTEN, 0) + hashlib.sha256(b"sk-phone mailbox v2" +
                                           bad).digest() + bad)
    _, nonce = c.expect(CHALLENGE, 0)
    c.send(hdr(PROVE, 0) + b"\x01" * 64)
    c.expect_close(4006)
    # A listener with a good proof on that mailbox is not disturbed.
    raw_phone(r, secret)
    check("4006" in r.text(), "refusal not logged")


def case_replayed_listen():
    """Someone who recorded a phone's LISTEN and PROVE sends them again:
    the relay's nonce is fresh, so the proof fails (4006), and the phone
    keeps its mailbox and still answers calls."""
    r = Relay()
    secret = os.urandom(32)
    mbid = mailbox_id(secret)
    ph = RawWS(r.port)
    nonce, sig = ph.listen(secret)
    ph.expect(LISTENING, 0)
    for _ in range(3):
        x = RawWS(r.port)
        x.send(hdr(LISTEN, 0) + mbid + mailbox_pub(secret))
        _, fresh = x.expect(CHALLENGE, 0)
        check(fresh != nonce, "the relay sent the same nonce twice")
        x.send(hdr(PROVE, 0) + sig)
        x.expect_close(4006)
    check(ph.recv(0.3)[0] == "timeout", "the phone was disturbed")
    c = RawWS(r.port)
    c.call(1, mbid)
    c.expect(ONLINE, 1)
    ph.expect(INCOMING, None)


def case_listen_order():
    """PROVE without LISTEN, twice, or a CALL between: protocol errors;
    a connection that never proves does not get the mailbox."""
    r = Relay()
    secret = os.urandom(32)
    c = RawWS(r.port)
    c.send(hdr(PROVE, 0) + b"\0" * 64)
    c.expect_close(4000)
    c = RawWS(r.port)
    c.send(hdr(LISTEN, 0) + mailbox_id(secret) + mailbox_pub(secret))
    c.expect(CHALLENGE, 0)
    c.call(1, os.urandom(32))
    c.expect_close(4000)
    c = RawWS(r.port)
    c.send(hdr(LISTEN, 0) + mailbox_id(secret) + mailbox_pub(secret))
    c.expect(CHALLENGE, 0)
    c.send(hdr(LISTEN, 0) + mailbox_id(secret) + mailbox_pub(secret))
    c.expect_close(4000)
    # LISTEN alone: calls to the mailbox are held, not delivered to it.
    c = RawWS(r.port)
    c.send(hdr(LISTEN, 0) + mailbox_id(secret) + mailbox_pub(secret))
    c.expect(CHALLENGE, 0)
    k = RawWS(r.port)
    k.call(1, mailbox_id(secret))
    k.expect(OFFLINE, 1)
    check(c.recv(0.3)[0] == "timeout", "an unproved listener got a call")


def outcome(c):
    """OFFLINE, ONLINE, or the END code of the next frame."""
    r = c.recv(3)
    check(r[0] == "bin", "want a frame, got %r" % (r,))
    k, ch = struct.unpack(">BI", r[1][:5])
    if k == END:
        return struct.unpack(">H", r[1][5:7])[0]
    return {OFFLINE: "OFFLINE", ONLINE: "ONLINE"}.get(k, k)


def case_squat_share():
    """32 silent CALLs from one address get only half of the mailbox's
    --max-calls (the rest END 4029) and of --max-pending (END 4030); a
    real computer from another address (127.0.0.2) is still held, and
    reaches the phone when it comes."""
    r = Relay("--max-pending", "40")
    secret = os.urandom(32)
    mb = mailbox_id(secret)
    att = [RawWS(r.port), RawWS(r.port)]
    got = []
    for i in range(32):
        c = att[i // 16]
        c.call(i % 16 + 1, mb, 30000)
        got.append(outcome(c))
    check(got.count("OFFLINE") == 16 and got.count(4029) == 16, got)
    real = RawWS(r.port, source="127.0.0.2")
    real.call(1, mb, 30000)
    check(outcome(real) == "OFFLINE", "real caller not held")
    # The same address calling other mailboxes: its share of the held
    # calls (20 of 40) ends at 4030; another address still gets in.
    more = RawWS(r.port)
    got = []
    for i in range(6):
        more.call(i + 1, os.urandom(32), 30000)
        got.append(outcome(more))
    check(got == ["OFFLINE"] * 4 + [4030] * 2, got)
    real.call(2, os.urandom(32), 30000)
    check(outcome(real) == "OFFLINE", "another address refused")
    ph = raw_phone(r, secret)
    real.expect(ONLINE, 1)
    n = 0
    while ph.recv(0.5)[0] == "bin":
        n += 1
    check(n == 17, "phone got %d calls" % n)
    check("4029" in r.text() or "from this address" in r.text(),
          "refusals not logged")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ws_frame(payload):
    """One masked binary websocket frame (mask zero: XOR is a no-op)."""
    n = len(payload)
    if n < 126:
        h = struct.pack(">BB", 0x82, 0x80 | n)
    elif n < 65536:
        h = struct.pack(">BBH", 0x82, 0x80 | 126, n)
    else:
        h = struct.pack(">BBQ", 0x82, 0x80 | 127, n)
    return h + b"\0\0\0\0" + payload


def pump(socks, frame, seconds):
    """Write frame after frame on each socket until it blocks, for a
    while; returns the bytes written."""
    for s in socks:
        s.setblocking(False)
    sent = 0
    offs = [0] * len(socks)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        moved = False
        for i, s in enumerate(socks):
            try:
                n = s.send(frame[offs[i]:])
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                continue
            moved = True
            sent += n
            offs[i] = (offs[i] + n) % len(frame)
        if not moved:
            time.sleep(0.02)
    return sent


def case_slow_readers_bounded():
    """Six rendezvous pairs whose receivers never read, senders writing
    64 KiB frames as fast as the relay takes them: the relay grows by
    less than --max-queued per pair (the senders are stopped at 4 x
    --max-frame). Under AddressSanitizer freed memory waits in its
    quarantine, which would be counted: the relay runs without one."""
    asan = os.environ.get("ASAN_OPTIONS")
    r = Relay(env={"ASAN_OPTIONS": (asan + ":" if asan else "") +
                   "quarantine_size_mb=0"})
    pid = r.proc.p.pid
    pairs = []
    for i in range(6):
        a = RawWS(r.port, source="127.0.0.%d" % (i + 2))
        b = RawWS(r.port, source="127.0.0.%d" % (i + 2))
        rid = os.urandom(32)
        a.join(1, rid, 60000)
        a.expect(WAITING, 1)
        b.join(1, rid, 60000)
        b.expect(PEER, 1)
        a.expect(PEER, 1)
        pairs.append((a, b))
    time.sleep(0.2)
    before = rss_kib(pid)
    frame = ws_frame(hdr(DATA, 1) + os.urandom(65536 - 5))
    sent = pump([a.s for a, _ in pairs], frame, 2.0)
    after = rss_kib(pid)
    grew = after - before
    print("# slow readers: %d KiB sent, relay RSS %d -> %d KiB "
          "(%.0f KiB per pair)" % (sent // 1024, before, after, grew / 6))
    check(sent > 6 * 256 * 1024, "senders did not get far: %d" % sent)
    check(grew < 6 * 1024, "relay grew by %d KiB for 6 slow readers" %
          grew)


def case_slow_reader_closed():
    """Many callers writing to one phone that never reads: its queue
    passes --max-queued and the relay closes it with 4012, dropping what
    was queued; its callers get END 4024."""
    r = Relay("--max-queued", "1048576", "--max-per-addr", "64")
    secret = os.urandom(32)
    ph = raw_phone(r, secret)
    callers = []
    for i in range(24):
        c = RawWS(r.port, source="127.0.0.%d" % (i % 12 + 2))
        c.call(1, mailbox_id(secret), 60000)
        c.expect(ONLINE, 1)
        callers.append(c)
    frame = ws_frame(hdr(DATA, 1) + os.urandom(60000))
    pump([c.s for c in callers], frame, 2.0)
    for c in callers:
        c.s.setblocking(True)
    ph.s.settimeout(5)
    code = None
    end = time.monotonic() + 10
    while time.monotonic() < end:
        m = ph.recv(2)
        if m[0] in ("close", "eof"):
            code = m[1] if m[0] == "close" else "eof"
            break
    check(code in (4012, "eof"), "phone: %r" % (code,))
    check("4012" in r.text(), "no 4012 in the log: " + r.text()[-500:])
    ends = 0
    for c in callers:
        while True:
            m = c.recv(2)
            if m[0] != "bin":
                break
            if m[1][0] == END:
                check(struct.unpack(">H", m[1][5:7])[0] == 4024, m)
                ends += 1
                break
    check(ends == len(callers), "%d of %d callers told" % (ends,
                                                          len(callers)))


def case_old_protocol():
    """A client of protocol 1 (subprotocol v1, or none) is told to
    update, with its own close code and a reason that says what to do."""
    r = Relay()
    for kw in ({"subproto": "sk-phone-relay.v1"}, {"proto": False}):
        c = RawWS(r.port, **kw)
        reason = c.expect_close(4011)
        check("protocol 1" in reason and "update" in reason and
              "protocol 2" in reason, reason)
    # A v1 LISTEN (id || secret) on a v2 connection is malformed.
    c = RawWS(r.port)
    c.send(hdr(LISTEN, 0) + os.urandom(64))
    c.expect_close(4000)


def case_protocol_errors():
    r = Relay()
    for frame in (hdr(0x7f, 1),
                  hdr(LISTEN, 1) + b"\0" * 97,
                  hdr(PROVE, 1) + b"\0" * 64,
                  hdr(CHALLENGE, 0) + b"\0" * 32,
                  hdr(CALL, 0) + b"\0" * 36,
                  hdr(CALL, 1) + b"\0" * 35,
                  hdr(HANGUP, 1) + b"x",
                  b"\x04\x00"):
        c = RawWS(r.port)
        c.send(frame)
        c.expect_close(4000)
    c = RawWS(r.port)
    mb = os.urandom(32)
    c.call(1, mb)
    c.expect(OFFLINE, 1)
    c.call(1, mb)
    c.expect_close(4000)
    c = raw_phone(r, os.urandom(32))
    c.call(1, mb)
    c.expect_close(4000)


def case_http_refused():
    r = Relay()
    s = socket.create_connection(("127.0.0.1", r.port), 5)
    s.settimeout(5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    d = b""
    try:
        while True:
            x = s.recv(4096)
            if not x:
                break
            d += x
    except (ConnectionResetError, socket.timeout):
        pass
    check(b"101" not in d, "upgraded a plain GET")


def case_extension_offered():
    """An offered extension (permessage-deflate) is not agreed: the
    upgrade answer has no Sec-WebSocket-Extensions, and a frame with RSV1
    set (a compressed message) is closed with 1002 (PROTOCOL.md 7.1)."""
    r = Relay()
    s = socket.create_connection(("127.0.0.1", r.port), 5)
    s.settimeout(5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: sk-phone-relay.v2\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate; "
               "client_max_window_bits\r\n\r\n" % (r.port, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        check(d, "relay closed during the handshake")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    check(head.startswith(b"HTTP/1.1 101"), "no upgrade: %r" % head)
    check(b"sec-websocket-extensions" not in head.lower(),
          "an extension was agreed: %r" % head)
    body = hdr(LISTEN, 0)
    mask = os.urandom(4)
    s.sendall(bytes([0x80 | 0x40 | 0x2, 0x80 | len(body)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(body)))
    while len(rest) < 4:
        d = s.recv(4096)
        check(d, "EOF without a close frame")
        rest += d
    check(rest[0] == 0x88, "want a close frame, got %r" % rest[:8])
    code = struct.unpack(">H", rest[2:4])[0]
    check(code == 1002, "want close 1002, got %d" % code)


# --------------------------------------------------------- life and death

def case_sigterm_clean():
    """SIGTERM: every connection gets close 4008, the relay exits 0."""
    r = Relay()
    secret = os.urandom(32)
    ph = tool("phone", r.url, secret.hex(), "hold", 0)
    ph.wait_line(r"^LISTENING", 5)
    c = RawWS(r.port)
    c.call(1, os.urandom(32))
    c.expect(OFFLINE, 1)
    t0 = time.monotonic()
    r.proc.p.send_signal(signal.SIGTERM)
    c.expect_close(4008)
    ph.wait_line(r"^CLOSED CLOSED 4008$", 3)
    check(r.proc.wait_exit(4) == 0, "relay exit status")
    check(time.monotonic() - t0 < 3.5, "slow shutdown")
    check("stopped" in r.text(), "no stop line")


def case_sigint_clean():
    r = Relay()
    c = RawWS(r.port)
    r.proc.p.send_signal(signal.SIGINT)
    c.expect_close(4008)
    check(r.proc.wait_exit(4) == 0, "relay exit status")


def case_ipv6_listen():
    """The relay on [::1] and a call over IPv6."""
    r = Relay("--listen", "[::1]:0")
    check(r.url.startswith("ws://[::1]:"), r.url)
    secret = os.urandom(32)
    tool("phone", r.url, secret.hex(), "echo", 1).wait_line(
        r"^LISTENING", 5)
    c = tool("call", r.url, mailbox_id(secret).hex(), "v6", 5000)
    c.wait_line(r"^REPLY echo:v6$", 5)


def case_relay_restart_phone_returns():
    """The relay dies and comes back on its port: the phone's client
    object sees CLOSED, reconnects itself with backoff, and gets calls."""
    r = Relay()
    secret = os.urandom(32)
    ph = tool("phone", r.url, secret.hex(), "echo-retry", 0)
    ph.wait_line(r"^LISTENING", 5)
    r.proc.p.kill()
    r.proc.p.wait(3)
    ph.wait_line(r"^CLOSED NETWORK", 3)
    time.sleep(0.3)
    r2 = Relay("--listen", "127.0.0.1:%d" % r.port)
    ph.wait_line(r"^RECONNECTED$", 6)
    c = tool("call", r2.url, mailbox_id(secret).hex(), "again", 5000)
    c.wait_line(r"^REPLY echo:again$", 5)


def case_relay_killed_mid_call():
    """The relay dies during a call: the caller errs within 2 s."""
    r = Relay()
    secret = os.urandom(32)
    ph = tool("phone", r.url, secret.hex(), "hold", 0)
    ph.wait_line(r"^LISTENING", 5)
    c = tool("call", r.url, mailbox_id(secret).hex(), "x", 20000)
    c.wait_line(r"^ONLINE", 3)
    ph.wait_line(r"^MESSAGE", 3)
    t0 = time.monotonic()
    r.proc.p.kill()
    t, line = c.wait_line(r"NETWORK", 2.5)
    check(t - t0 <= 2.0, "caller told after %.2fs" % (t - t0))
    ph.wait_line(r"^CLOSED NETWORK", 2.5)
    e = tool("exchange", r.url, mailbox_id(secret).hex(), "x", 3000)
    t, _ = e.wait_line(r"^ERROR NETWORK$", 2.5)
    check(t - e.t0 <= 2.0, "no relay: told after %.2fs" % (t - e.t0))


# ------------------------------------------------------------ TLS, logs

def make_cert(prefix=""):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .sign(key, hashes.SHA256()))
    cf = os.path.join(TMP, prefix + "cert.pem")
    kf = os.path.join(TMP, prefix + "key.pem")
    with open(cf, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(kf, 0o600)
    return cf, kf


def case_tls():
    """wss: a self-signed certificate is refused unless it is the --ca;
    with it, calls work end to end."""
    cf, kf = make_cert()
    r = Relay(tls=(cf, kf))
    check(r.url.startswith("wss://"), r.url)
    t = tool("connect", r.url, 100)
    t.wait_line(r"^ERROR TLS$", 5)
    t = tool("connect", r.url, 100, env={"RELAY_TOOL_CA": cf})
    t.wait_line(r"^CONNECTED", 5)
    secret = os.urandom(32)
    ca = {"RELAY_TOOL_CA": cf}
    tool("phone", r.url, secret.hex(), "echo", 1, env=ca).wait_line(
        r"^LISTENING", 5)
    c = tool("exchange", r.url, mailbox_id(secret).hex(), "over-tls", 5000,
             env=ca)
    c.wait_line(r"^REPLY echo:over-tls$", 5)
    t = tool("connect", r.url.replace("wss:", "ws:"), 100)
    t.wait_line(r"^ERROR", 5)


def peer_cert(port):
    """The certificate (DER) the relay shows a new TLS connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


def case_tls_reload():
    """SIGHUP reloads a certificate renewed in place: the phone connected
    before stays connected (it trusts only the old certificate, so it could
    not have come back), new connections get the new one; files that do
    not load are refused and the certificate in use is kept."""
    old_cf, _ = make_cert("old-")
    new_cf, new_kf = make_cert("new-")
    cf = os.path.join(TMP, "relay-cert.pem")
    kf = os.path.join(TMP, "relay-key.pem")
    shutil.copyfile(old_cf, cf)
    shutil.copyfile(os.path.join(TMP, "old-key.pem"), kf)
    r = Relay(tls=(cf, kf))
    secret = os.urandom(32)
    # echo, never exiting but when its connection ends; no reconnecting
    ph = tool("phone", r.url, secret.hex(), "echo", 0,
              env={"RELAY_TOOL_CA": old_cf})
    ph.wait_line(r"^LISTENING", 5)
    old_der = peer_cert(r.port)
    with open(old_cf, "rb") as f:
        check(old_der == ssl.PEM_cert_to_DER_cert(f.read().decode()),
              "not the first certificate before SIGHUP")

    def renew(src_cf, src_kf, what):
        for src, dst in ((src_cf, cf), (src_kf, kf)):
            shutil.copyfile(src, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
        n = r.text().count("SIGHUP:")
        r.proc.p.send_signal(signal.SIGHUP)
        end = time.monotonic() + 5
        while r.text().count("SIGHUP:") == n:
            check(time.monotonic() < end, "no SIGHUP line: " + r.text())
            check(r.proc.p.poll() is None, "relay died on SIGHUP")
            time.sleep(0.02)
        check(what in r.text().split("SIGHUP:")[-1], "SIGHUP: want %r in: "
              "%s" % (what, r.text()))

    renew(new_cf, new_kf, "reloaded the certificate")
    with open(new_cf, "rb") as f:
        new_der = ssl.PEM_cert_to_DER_cert(f.read().decode())
    check(peer_cert(r.port) == new_der, "a new connection after SIGHUP "
          "does not get the new certificate")
    c = tool("exchange", r.url, mailbox_id(secret).hex(), "after-hup", 5000,
             env={"RELAY_TOOL_CA": new_cf})
    c.wait_line(r"^REPLY echo:after-hup$", 5)
    check(ph.p.poll() is None, "the phone was dropped: %r" % ph.lines)
    # A key that is not the certificate's: refused, the new one stays.
    renew(new_cf, os.path.join(TMP, "old-key.pem"), "kept the certificate")
    check(peer_cert(r.port) == new_der, "a bad reload changed the "
          "certificate")
    c = tool("exchange", r.url, mailbox_id(secret).hex(), "still", 5000,
             env={"RELAY_TOOL_CA": new_cf})
    c.wait_line(r"^REPLY echo:still$", 5)


def case_logs_no_payload():
    """-v logs connections, never secrets, payloads or whole ids."""
    r = Relay("-v")
    secret = os.urandom(32)
    mb = mailbox_id(secret).hex()
    tool("phone", r.url, secret.hex(), "echo", 1).wait_line(
        r"^LISTENING", 5)
    c = tool("call", r.url, mb, "PAYLOAD-c4f3-MARKER", 5000)
    c.wait_line(r"^REPLY", 5)
    bad = RawWS(r.port)
    bad.listen(os.urandom(32), mbid=os.urandom(32))
    bad.expect_close(4006)
    time.sleep(0.3)
    log = r.text()
    check("open" in log and "4006" in log, "connections and refusals "
          "not logged: " + log)
    for s in (secret.hex(), mb, "PAYLOAD-c4f3-MARKER", "c4f3-MARKER"):
        check(s not in log, "log has %s" % s)


def case_lib_signals():
    """The library leaves SIGPIPE and the signal mask as they were."""
    r = Relay()
    t = tool("sigcheck", r.url)
    t.wait_line(r"^SIGNALS KEPT OK$", 5)
    t = tool("sigcheck", "ws://127.0.0.1:1")
    t.wait_line(r"^SIGNALS KEPT NETWORK$", 5)


def case_lib_stdout_quiet():
    """Nothing of the library on stdout, even failing, even debugging."""
    r = Relay()
    for url in (r.url, "ws://127.0.0.1:1", "ws://bad url"):
        t = tool("connect", url, 50, env={"SK_PHONE_DEBUG": "1"})
        t.wait_exit(5)
        for _, line in t.lines:
            check(re.match(r"^\d+ [A-Z]+( |$)", line), "stray: %r" % line)


def case_lib_ignores_proxy_env():
    """http_proxy and the like in the environment are not followed: the
    client reaches the relay directly and the "proxy" sees nothing."""
    r = Relay()
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(8)
    trap.settimeout(0.2)
    proxy = "http://127.0.0.1:%d" % trap.getsockname()[1]
    env = {k: proxy for k in ("http_proxy", "HTTP_PROXY", "https_proxy",
                              "HTTPS_PROXY", "all_proxy", "ALL_PROXY")}
    env["no_proxy"] = env["NO_PROXY"] = ""
    secret = os.urandom(32)
    ph = tool("phone", r.url, secret.hex(), "echo", 1, env=env)
    ph.wait_line(r"^LISTENING", 5)
    c = tool("exchange", r.url, mailbox_id(secret).hex(), "direct", 5000,
             env=env)
    c.wait_line(r"^REPLY echo:direct$", 5)
    try:
        s, _ = trap.accept()
        s.close()
        raise Fail("a client connected to the proxy")
    except socket.timeout:
        pass
    trap.close()


def case_lib_bad_url():
    for url in ("http://127.0.0.1:1", "ws://", "ws://[::1", "ws://a:0",
                "ws://a:99999", "ws://a b", "wss://h:1/p q"):
        t = tool("connect", url, 50)
        t.wait_line(r"^ERROR INVALID$", 3)


def case_cli():
    out = subprocess.run([RELAY, "--help"], capture_output=True, timeout=5)
    check(out.returncode == 0 and b"--listen" in out.stdout, "--help")
    for args in (["--bogus"], ["--max-frame", "x"], ["--tls-cert", "a"],
                 ["--listen", "nope"], ["--max-conns", "0"], ["extra"],
                 ["--event-loop", "select"]):
        out = subprocess.run([RELAY] + args, capture_output=True, timeout=5)
        check(out.returncode == 2, "%s: exit %d" % (args, out.returncode))
    out = subprocess.run([RELAY, "--listen", "127.0.0.1:1",
                          "--tls-cert", "/nonexistent", "--tls-key",
                          "/nonexistent"], capture_output=True, timeout=5)
    check(out.returncode == 1, "bad certificate: exit %d" % out.returncode)
    check(b"cannot load the certificate (PEM) from /nonexistent" in
          out.stderr, out.stderr)
    check(b"Sanitizer" not in out.stderr, out.stderr)
    # a key that does not belong to the certificate
    tmp = TMP
    for name in ("cli-a", "cli-b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", "/CN=127.0.0.1", "-days", "1",
                        "-keyout", os.path.join(tmp, name + ".key"),
                        "-out", os.path.join(tmp, name + ".crt")],
                       capture_output=True, check=True, timeout=30)
    out = subprocess.run([RELAY, "--listen", "127.0.0.1:1",
                          "--tls-cert", os.path.join(tmp, "cli-a.crt"),
                          "--tls-key", os.path.join(tmp, "cli-b.key")],
                         capture_output=True, timeout=5)
    check(out.returncode == 1 and
          b"the key does not match the certificate" in out.stderr,
          "mismatched key: exit %d, %r" % (out.returncode, out.stderr))



# The web phone (--web DIR): static files on the websocket's own origin.

WEB_FILES = {
    "index.html": b"<!doctype html><title>web phone</title>\n",
    "sw.js": b"self.addEventListener('fetch', () => {});\n",
    "app.js": b"export const x = 1;\n",
    "mod.mjs": b"export default 2;\n",
    "style.css": b"body { margin: 0 }\n",
    "data.json": b"{}\n",
    "manifest.webmanifest": b'{"name": "sk-phone"}\n',
    "icon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    "icon.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 32,
    "favicon.ico": b"\0\0\1\0",
    "notes.txt": b"text\n",
    "app.js.map": b'{"version": 3}\n',
    "blob.bin": b"\1\2\3",
    "sub/page.css": b"p { color: red }\n",
}

WEB_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "sw.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "mod.mjs": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "data.json": "application/json",
    "manifest.webmanifest": "application/manifest+json",
    "icon.svg": "image/svg+xml",
    "icon.png": "image/png",
    "favicon.ico": "image/vnd.microsoft.icon",
    "notes.txt": "text/plain; charset=utf-8",
    "app.js.map": "application/json",
    "blob.bin": "application/octet-stream",
    "sub/page.css": "text/css; charset=utf-8",
}

SECRET = b"SECRET-OUTSIDE-THE-WEB-FOLDER"


def web_dir(files=None):
    """A web folder in TMP, and a secret file beside it (outside)."""
    d = tempfile.mkdtemp(prefix="web-", dir=TMP)
    for name, body in (WEB_FILES if files is None else files).items():
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
    with open(os.path.join(TMP, "outside.txt"), "wb") as f:
        f.write(SECRET)
    return d


def http_get(port, path, method="GET", headers=None, tls=None, conn=None):
    """(status, lower-case headers, body) of one request."""
    c = conn
    if c is None:
        if tls:
            ctx = ssl.create_default_context(cafile=tls)
            ctx.check_hostname = False
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                            context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    if conn is None:
        c.close()
    return r.status, h, body


def check_web_headers(h, what, tls=False, port=None):
    csp = h.get("content-security-policy", "")
    for d in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
              "img-src 'self' data:", "object-src 'none'",
              "base-uri 'none'", "frame-ancestors 'none'",
              "form-action 'none'"):
        check(d in csp, "%s: CSP lacks %s: %r" % (what, d, csp))
    want = "connect-src 'self' %s://127.0.0.1:%d" % ("wss" if tls else "ws",
                                                     port)
    check(want in csp, "%s: CSP lacks %s: %r" % (what, want, csp))
    check("unsafe" not in csp and "*" not in csp, "%s: CSP: %r" % (what, csp))
    for k, v in (("x-content-type-options", "nosniff"),
                 ("referrer-policy", "no-referrer"),
                 ("cross-origin-opener-policy", "same-origin"),
                 ("cross-origin-embedder-policy", "require-corp")):
        check(h.get(k) == v, "%s: %s: %r" % (what, k, h.get(k)))
    check("camera=()" in h.get("permissions-policy", ""),
          "%s: permissions-policy: %r" % (what, h.get("permissions-policy")))


def case_web_files():
    """Every file with its content type, the security headers, a
    validator; no-cache on the page, the service worker and the manifest;
    / is index.html; several requests on one kept-alive connection."""
    d = web_dir()
    r = Relay("--web", d)
    check("web phone: %s at http://127.0.0.1:%d/" % (d, r.port) in r.text(),
          "start line: " + r.text())
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    for name, body in WEB_FILES.items():
        st, h, got = http_get(r.port, "/" + name, conn=conn)
        check(st == 200 and got == body, "%s: %d %r" % (name, st, got[:40]))
        check(h.get("content-type") == WEB_TYPES[name],
              "%s: content-type %r" % (name, h.get("content-type")))
        check(h.get("content-length") == str(len(body)), name)
        check_web_headers(h, name, port=r.port)
        check(re.fullmatch(r'"[0-9a-f-]+"', h.get("etag", "")),
              "%s: etag %r" % (name, h.get("etag")))
        check(h.get("last-modified", "").endswith(" GMT"), name)
        if name in ("index.html", "sw.js", "manifest.webmanifest"):
            check(h.get("cache-control") == "no-cache",
                  "%s: cache-control %r" % (name, h.get("cache-control")))
    st, h, got = http_get(r.port, "/", conn=conn)
    check(st == 200 and got == WEB_FILES["index.html"], "/: %d" % st)
    check(h.get("content-type") == WEB_TYPES["index.html"], "/: type")
    st, h, got = http_get(r.port, "/app.js?v=2", conn=conn)
    check(st == 200 and got == WEB_FILES["app.js"], "query: %d" % st)
    conn.close()


def case_web_not_modified():
    """If-None-Match and If-Modified-Since give 304 without a body; a
    changed file gets 200 with a new ETag."""
    d = web_dir()
    r = Relay("--web", d)
    st, h, _ = http_get(r.port, "/app.js")
    etag, lm = h["etag"], h["last-modified"]
    for hd in ({"If-None-Match": etag}, {"If-None-Match": "W/" + etag},
               {"If-None-Match": '"nope", ' + etag},
               {"If-None-Match": "*"}, {"If-Modified-Since": lm}):
        st, h2, body = http_get(r.port, "/app.js", headers=hd)
        check(st == 304 and body == b"", "%r: %d %r" % (hd, st, body))
        check(h2.get("etag") == etag, "304 without the etag")
        check_web_headers(h2, "304", port=r.port)
    for hd in ({"If-None-Match": '"nope"'},
               {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
               {"If-Modified-Since": "yesterday"},
               {"If-None-Match": '"nope"', "If-Modified-Since": lm}):
        st, _, body = http_get(r.port, "/app.js", headers=hd)
        check(st == 200 and body == WEB_FILES["app.js"], "%r: %d" % (hd, st))
    with open(os.path.join(d, "app.js"), "wb") as f:
        f.write(b"export const x = 22;\n")
    st, h3, body = http_get(r.port, "/app.js",
                            headers={"If-None-Match": etag})
    check(st == 200 and body == b"export const x = 22;\n", "changed: %d" % st)
    check(h3["etag"] != etag, "same etag for a changed file")


def case_web_head():
    """HEAD: the GET's headers and length, no body; on a kept-alive
    connection the next GET still works. Other methods: 405."""
    d = web_dir()
    r = Relay("--web", d)
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    st, h, body = http_get(r.port, "/style.css", "HEAD", conn=conn)
    check(st == 200 and body == b"", "HEAD: %d %r" % (st, body))
    check(h.get("content-length") == str(len(WEB_FILES["style.css"])),
          "HEAD length %r" % h.get("content-length"))
    check(h.get("content-type") == WEB_TYPES["style.css"], "HEAD type")
    check_web_headers(h, "HEAD", port=r.port)
    st, _, body = http_get(r.port, "/style.css", conn=conn)
    check(st == 200 and body == WEB_FILES["style.css"], "GET after HEAD")
    st, _, body = http_get(r.port, "/missing.js", "HEAD", conn=conn)
    check(st == 404 and body == b"", "HEAD missing: %d" % st)
    conn.close()
    for m in ("POST", "PUT", "DELETE", "OPTIONS"):
        try:
            st, h, _ = http_get(r.port, "/", m)
        except (ConnectionError, http.client.HTTPException):
            continue
        check(st in (400, 405), "%s: %d" % (m, st))
        check(st != 200, "%s served" % m)


def case_web_traversal():
    """Nothing outside the web folder, and nothing but regular files
    inside: .., %2e, encoded slashes, NUL, symbolic links (out and in),
    hidden files, folders and a FIFO are all 404."""
    d = web_dir()
    os.symlink(os.path.join(TMP, "outside.txt"), os.path.join(d, "out.txt"))
    os.symlink(TMP, os.path.join(d, "up"))
    os.symlink(os.path.join(d, "app.js"), os.path.join(d, "in.js"))
    with open(os.path.join(d, ".hidden"), "wb") as f:
        f.write(SECRET)
    os.mkfifo(os.path.join(d, "fifo"))
    os.mkdir(os.path.join(d, "empty"))
    r = Relay("--web", d)
    for path in ("/../outside.txt", "/%2e%2e/outside.txt",
                 "/%2E%2E%2Foutside.txt", "/..%2foutside.txt",
                 "/sub/../../outside.txt", "/sub/%2e%2e/%2e%2e/outside.txt",
                 "/sub%2f..%2f..%2foutside.txt", "/.%2e/outside.txt",
                 "//../outside.txt", "/out.txt", "/up/outside.txt",
                 "/in.js", "/.hidden", "/%2ehidden", "/fifo", "/sub",
                 "/empty/", "/index.html%00.png", "/index.html%00/x",
                 "/%00/../outside.txt",
                 "/a%5c..%5coutside.txt", "/..\\outside.txt",
                 "/" + "a/" * 20 + "x", "/" + "x" * 600, "/%zz"):
        try:
            st, _, body = http_get(r.port, path)
        except (ConnectionError, http.client.HTTPException):
            continue
        check(st in (400, 403, 404), "%s: %d %r" % (path, st, body[:60]))
        check(SECRET not in body, "%s: the secret came back" % path)
    # Raw bytes http.client will not send.
    for raw in (b"GET /../../outside.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET ../outside.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /index.html\0x HTTP/1.1\r\nHost: x\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", r.port), 5)
        s.settimeout(5)
        s.sendall(raw)
        got = b""
        try:
            while True:
                x = s.recv(4096)
                if not x:
                    break
                got += x
                if b"\r\n\r\n" in got:
                    break
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
        check(SECRET not in got and not got.startswith(b"HTTP/1.1 200"),
              "%r: %r" % (raw, got[:80]))
    # Still serving.
    st, _, body = http_get(r.port, "/app.js")
    check(st == 200 and body == WEB_FILES["app.js"], "after: %d" % st)


def case_web_off():
    """--no-web: a plain GET is 404, the websocket still works; the
    default folder when missing: 404, said once at start."""
    d = web_dir()
    for args in (("--web", d, "--no-web"), ("--no-web", "--web", d)):
        p = subprocess.run([RELAY, "--listen", "127.0.0.1:0"] + list(args),
                           capture_output=True, timeout=10)
        check(p.returncode == 2 and b"--web and --no-web" in p.stderr,
              "%r: %r" % (args, p.stderr))
    p = subprocess.run([RELAY, "--listen", "127.0.0.1:0", "--web",
                        os.path.join(TMP, "nowhere")],
                       capture_output=True, timeout=10)
    check(p.returncode == 1 and b"nowhere" in p.stderr, "missing --web DIR: "
          "%d %r" % (p.returncode, p.stderr))
    r = Relay("--no-web")
    for path in ("/", "/index.html"):
        st, h, _ = http_get(r.port, path)
        check(st == 404, "--no-web %s: %d" % (path, st))
        check_web_headers(h, "404", port=r.port)
    check("web phone" not in r.text(), "--no-web said: " + r.text())
    RawWS(r.port).listen(os.urandom(32))
    r2 = Relay()
    st, _, _ = http_get(r2.port, "/")
    check(st == 404, "default folder missing: %d" % st)
    check(r2.text().count("no web phone") == 1, "not said once: " + r2.text())


def case_web_ws_same_port():
    """With the web phone on, websocket relaying on the same port is as
    before (a phone, a call, its reply), and a plain GET of the path the
    websocket uses gets the page."""
    d = web_dir()
    r = Relay("--web", d)
    st, _, body = http_get(r.port, "/")
    check(st == 200 and body == WEB_FILES["index.html"], "GET /: %d" % st)
    secret = os.urandom(32)
    tool("phone", r.url, secret.hex(), "echo", 1).wait_line(r"^LISTENING", 5)
    c = tool("call", r.url, mailbox_id(secret).hex(), "beside-the-web", 5000)
    c.wait_line(r"^REPLY echo:beside-the-web$", 5)
    w = RawWS(r.port)
    w.listen(os.urandom(32))
    check(w.recv(2)[0] == "bin", "no CHALLENGE on the raw websocket")
    st, _, body = http_get(r.port, "/index.html")
    check(st == 200 and body == WEB_FILES["index.html"], "GET after ws")


def case_web_big_file():
    """A file of 8 MiB comes whole (read a chunk at a time); one over the
    32 MiB cap is not served; an empty file is; no index.html: / is 404."""
    files = {"big.png": os.urandom(8 * 1024 * 1024), "empty.txt": b""}
    d = web_dir(files)
    with open(os.path.join(d, "huge.png"), "wb") as f:
        f.truncate(33 * 1024 * 1024)
    r = Relay("--web", d)
    st, h, body = http_get(r.port, "/big.png")
    check(st == 200 and hashlib.sha256(body).digest() ==
          hashlib.sha256(files["big.png"]).digest(),
          "big: %d, %d bytes" % (st, len(body)))
    st, _, body = http_get(r.port, "/huge.png")
    check(st == 404 and len(body) < 100, "huge: %d" % st)
    check("huge.png not served" in r.text(), "huge not logged: " + r.text())
    st, h, body = http_get(r.port, "/empty.txt")
    check(st == 200 and body == b"" and h.get("content-length") == "0",
          "empty: %d" % st)
    st, _, _ = http_get(r.port, "/")
    check(st == 404, "no index.html: %d" % st)


def case_web_limits():
    """HTTP connections count under --max-per-addr (503 past it) and are
    closed when idle (--idle-timeout, between requests)."""
    d = web_dir()
    r = Relay("--web", d, "--max-per-addr", "1", "--idle-timeout", "1")
    w = RawWS(r.port)
    st, h, _ = http_get(r.port, "/")
    check(st == 503, "past --max-per-addr: %d" % st)
    w.s.close()
    time.sleep(0.3)
    s = socket.create_connection(("127.0.0.1", r.port), 5)
    s.settimeout(6)
    s.sendall(b"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    closed = False
    end = time.monotonic() + 6
    try:
        while time.monotonic() < end:
            x = s.recv(4096)
            if not x:
                closed = True
                break
            got += x
    except (ConnectionResetError, socket.timeout):
        closed = True
    check(got.startswith(b"HTTP/1.1 200"), "reply: %r" % got[:40])
    check(closed and time.monotonic() < end, "idle HTTP connection kept")


def case_web_tls():
    """Over the relay's TLS: the page on https, connect-src names wss."""
    cf, kf = make_cert()
    d = web_dir()
    r = Relay("--web", d, tls=(cf, kf))
    check("at https://127.0.0.1:%d/" % r.port in r.text(), r.text())
    st, h, body = http_get(r.port, "/", tls=cf)
    check(st == 200 and body == WEB_FILES["index.html"], "https: %d" % st)
    check_web_headers(h, "https", tls=True, port=r.port)


def case_web_warning():
    """Plain http on a non-loopback address: said that browsers refuse
    WebCrypto there; not said on loopback."""
    d = web_dir()
    r = Relay("--web", d)
    check("WebCrypto" not in r.text(), "warned on loopback: " + r.text())
    r = Relay("--web", d, "--listen", "0.0.0.0:0")
    check("browsers refuse WebCrypto there" in r.text(),
          "no warning: " + r.text())


def main(cases=None, usage=None):
    """RELAY TOOL CASE from argv: run case_CASE of cases (this module's by
    default; push_test.py gives its own), bounded, sanitizer-checked."""
    global RELAY, TOOL
    if len(sys.argv) != 4:
        print(usage or __doc__, file=sys.stderr)
        return 2
    RELAY, TOOL, name = sys.argv[1:4]
    fn = (globals() if cases is None else cases).get("case_" + name)
    if fn is None:
        print("no case " + name, file=sys.stderr)
        return 2
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(
        Fail("case took over %ds" % CASE_BOUND_S)))
    signal.alarm(CASE_BOUND_S)
    rc = 1
    try:
        fn()
        rc = 0
    except Fail as e:
        print("FAIL: %s: %s" % (name, e))
    finally:
        signal.alarm(0)
        for p in reversed(PROCS):
            p.stop()
        for r in sanitizer_reports():
            print("FAIL: %s: sanitizer: %s" % (name, r))
            rc = 1
        if rc == 0:
            print("ok: " + name)
        shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
