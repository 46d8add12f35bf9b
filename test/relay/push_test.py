# Web Push from the relay (docs/PROTOCOL.md 7.11): the real sk-phone-relay.
"""Each case starts its own relay on a free port and drives it with
relay_test.py's raw websocket client and relay_tool (the C client
library); push cases use the project's test push service
(test/push/pushsvc.mjs) on 127.0.0.1. Every process started is stopped
when the case ends, and every case has a time bound.

usage: push_test.py RELAY_BIN TOOL_BIN CASE
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import stat
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_test as rt  # noqa: E402
from relay_test import Fail, check, hdr, RawWS, Relay  # noqa: E402

SUBSCRIBE, UNSUBSCRIBE, PUSH = 0x08, 0x09, 0x89
ST_OK, ST_REMOVED, ST_OFF, ST_REFUSED, ST_FULL = 0, 1, 2, 3, 4


def push_answer(ws, timeout=3.0):
    """The next frame must be PUSH on channel 0: (status, key or None),
    parsed as strictly as a client must (7.11)."""
    _, body = ws.expect(PUSH, 0, timeout)
    check(len(body) >= 1, "empty PUSH")
    st = body[0]
    if st == ST_OFF:
        check(len(body) == 1, "PUSH OFF of %d bytes" % len(body))
        return st, None
    check(st <= ST_FULL and len(body) == 66 and body[1] == 4,
          "bad PUSH %r" % body.hex())
    return st, body[1:]


def sub_body(p256dh, auth, endpoint):
    return p256dh + auth + endpoint.encode()


# A point on P-256 (7.4's vector) as a stand-in p256dh where none is read.
P = bytes.fromhex(
    "04515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f"
    "4536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354")


def case_subscribe_off():
    """Without --push-dir: a proved listener gets status 2 alone for
    every SUBSCRIBE and UNSUBSCRIBE; out of place or malformed: 4000."""
    r = Relay()
    # Not proved: before LISTEN, between LISTEN and PROVE, as a caller.
    c = RawWS(r.port)
    c.send(hdr(SUBSCRIBE, 0))
    c.expect_close(4000)
    c = RawWS(r.port)
    c.send(hdr(LISTEN_KIND, 0) + rt.mailbox_id(b"\1" * 32) +
           rt.mailbox_pub(b"\1" * 32))
    c.expect(rt.CHALLENGE, 0)
    c.send(hdr(UNSUBSCRIBE, 0))
    c.expect_close(4000)
    c = RawWS(r.port)
    c.call(1, os.urandom(32))
    c.expect(rt.OFFLINE, 1)
    c.send(hdr(SUBSCRIBE, 0) + sub_body(P, b"a" * 16,
                                        "https://fcm.googleapis.com/x"))
    c.expect_close(4000)
    # Proved: status 2, a single byte; the connection goes on.
    ph = rt.raw_phone(r, os.urandom(32))
    ph.send(hdr(SUBSCRIBE, 0))
    check(push_answer(ph) == (ST_OFF, None), "empty SUBSCRIBE")
    ph.send(hdr(SUBSCRIBE, 0) + sub_body(P, b"a" * 16,
                                         "https://fcm.googleapis.com/x"))
    check(push_answer(ph) == (ST_OFF, None), "SUBSCRIBE")
    ph.send(hdr(UNSUBSCRIBE, 0))
    check(push_answer(ph) == (ST_OFF, None), "UNSUBSCRIBE")
    # Channel other than 0, a body of a wrong length: 4000.
    ph.send(hdr(UNSUBSCRIBE, 3))
    ph.expect_close(4000)
    ph = rt.raw_phone(r, os.urandom(32))
    ph.send(hdr(SUBSCRIBE, 0) + P + b"a" * 16 + b"https://a")
    ph.expect_close(4000)


LISTEN_KIND = rt.LISTEN
HERE = os.path.dirname(os.path.abspath(__file__))
PUSHSVC = os.path.realpath(os.path.join(HERE, "..", "push", "pushsvc.mjs"))
CONTACT = "mailto:relay-admin@example.org"


def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_enc(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class PushSvc:
    """test/push/pushsvc.mjs as a program: prints {"port":N}, exits when
    its stdin closes (push-api.md 3). tls=(cert, key): https."""

    def __init__(self, tls=None):
        node = shutil.which("node") or shutil.which("nodejs") or "node"
        self.tls = tls
        self.p = subprocess.Popen([node, PUSHSVC] +
                                  (["--tls", tls[0], tls[1]] if tls else []),
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(
                                      rt.TMP, "pushsvc.err"), "wb"))
        rt.PROCS.append(self)
        line = self.p.stdout.readline()
        check(line, "pushsvc did not start")
        self.port = json.loads(line)["port"]
        self.origin = "%s://127.0.0.1:%d" % ("https" if tls else "http",
                                             self.port)

    def req(self, method, path, body=None):
        if self.tls:
            c = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=5,
                context=ssl.create_default_context(cafile=self.tls[0]))
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port,
                                           timeout=5)
        c.request(method, path, body=json.dumps(body) if body is not None
                  else None, headers={"content-type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        check(r.status == 200, "pushsvc %s %s: %d" % (method, path,
                                                      r.status))
        return json.loads(data) if data else None

    def new_sub(self):
        return self.req("POST", "/_sub")

    def mode(self, sid, m):
        self.req("POST", "/_mode/" + sid, m)

    def log(self, sid=None):
        return [e for e in self.req("GET", "/_log")
                if sid is None or e["id"] == sid]

    def wait_log(self, sid, n, timeout=10.0):
        """At least n pushes to sid, within timeout."""
        end = time.monotonic() + timeout
        while True:
            got = self.log(sid)
            if len(got) >= n:
                return got
            if time.monotonic() > end:
                raise Fail("pushsvc: %d pushes to %s in %.0fs, want %d: %r"
                           % (len(got), sid, timeout, n, got))
            time.sleep(0.05)

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
                self.p.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait(3)


def sub_frame(sub):
    return hdr(SUBSCRIBE, 0) + sub_body(b64u(sub["p256dh"]),
                                        b64u(sub["auth"]), sub["endpoint"])


def push_relay(svc, pdir, *args):
    return Relay("--push-dir", pdir, "--push-allow", svc.origin,
                 "--push-contact", CONTACT, *args)


def subscribed_phone(r, secret, sub):
    """A proved phone that stored sub; returns it and the VAPID key."""
    ph = rt.raw_phone(r, secret)
    ph.send(sub_frame(sub))
    st, key = push_answer(ph)
    check(st == ST_OK, "SUBSCRIBE: status %d" % st)
    return ph, key


def held_call(r, mbid, chan, msg, timeout_ms=20000, ws=None):
    """A call to an absent phone (OFFLINE), then its first DATA."""
    c = ws or RawWS(r.port)
    c.call(chan, mbid, timeout_ms)
    c.expect(rt.OFFLINE, chan)
    c.send(hdr(rt.DATA, chan) + msg)
    return c


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def case_subscribe():
    """SUBSCRIBE and UNSUBSCRIBE answers and refusals; the file is 0600,
    its folder 0700, and it survives a restart of the relay."""
    svc = PushSvc()
    pdir = os.path.join(rt.TMP, "push")
    r = push_relay(svc, pdir)
    secret = os.urandom(32)
    mbid = rt.mailbox_id(secret)
    ph = rt.raw_phone(r, secret)
    ph.send(hdr(SUBSCRIBE, 0))
    st, key = push_answer(ph)
    check(st == ST_OK and len(key) == 65, "empty SUBSCRIBE: %d" % st)
    sub = svc.new_sub()
    # Not allowed: not https, or not on the list; a host on it but
    # another port.
    for url in ("https://push.evil.example/x", "http://127.0.0.1:1/push/x",
                "ftp://fcm.googleapis.com/xx"):
        ph.send(hdr(SUBSCRIBE, 0) + sub_body(b64u(sub["p256dh"]),
                                             b64u(sub["auth"]), url))
        st, k2 = push_answer(ph)
        check(st == ST_REFUSED and k2 == key, "%s: status %d" % (url, st))
    check(not os.path.exists(os.path.join(pdir, "subs", mbid.hex())),
          "a refused subscription was stored")
    ph.send(sub_frame(sub))
    check(push_answer(ph) == (ST_OK, key), "SUBSCRIBE")
    f = os.path.join(pdir, "subs", mbid.hex())
    check(os.path.isfile(f), "no file %s" % f)
    check(mode_of(f) == 0o600, "file mode %o" % mode_of(f))
    check(mode_of(pdir) == 0o700, "folder mode %o" % mode_of(pdir))
    check(mode_of(os.path.join(pdir, "vapid-key")) == 0o600,
          "vapid-key mode")
    # A key that is not a point: 4000.
    ph.send(hdr(SUBSCRIBE, 0) + sub_body(b"\x04" + b"\x00" * 64,
                                         b"a" * 16, sub["endpoint"]))
    ph.expect_close(4000)
    # Another mailbox unsubscribes: its own, none; ours stays.
    ph2 = rt.raw_phone(r, os.urandom(32))
    ph2.send(hdr(UNSUBSCRIBE, 0))
    check(push_answer(ph2) == (ST_REMOVED, key), "UNSUBSCRIBE of none")
    check(os.path.isfile(f), "another mailbox's UNSUBSCRIBE took ours")
    # Restart: the key and the subscription are still there; a held
    # call pushes.
    r.proc.p.send_signal(signal.SIGTERM)
    check(r.proc.wait_exit(5) == 0, "relay exit status")
    r = push_relay(svc, pdir)
    check("1 subscriptions" in r.text(), "store not loaded: " + r.text())
    c = held_call(r, mbid, 1, b"after restart")
    e = svc.wait_log(sub["id"], 1)[0]
    check(e["ok"] and e["vapidKey"] == b64u_enc(key),
          "push after restart: %r" % e)
    ph = rt.raw_phone(r, secret)
    c.expect(rt.ONLINE, 1)
    ph.expect(rt.INCOMING, None)
    ph.send(hdr(UNSUBSCRIBE, 0))
    check(push_answer(ph) == (ST_REMOVED, key), "UNSUBSCRIBE")
    check(not os.path.exists(f), "UNSUBSCRIBE left the file")
    ph.send(hdr(UNSUBSCRIBE, 0))
    check(push_answer(ph) == (ST_REMOVED, key), "UNSUBSCRIBE again")


def case_push_call():
    """A call to the offline mailbox: one push, VAPID verified, TTL and
    Urgency right, the payload exactly 7.11's JSON with the caller's
    first DATA; a second DATA does not push again; a message too large
    for a push gives call:null; the phone then gets the calls."""
    svc = PushSvc()
    r = push_relay(svc, os.path.join(rt.TMP, "push"), "--max-hold", "60")
    secret = os.urandom(32)
    mbid = rt.mailbox_id(secret)
    sub = svc.new_sub()
    ph, key = subscribed_phone(r, secret, sub)
    ph.close()
    msg = b"\x01\x02\x03\xfb\xff"    # 7.11's example
    c = held_call(r, mbid, 1, msg, timeout_ms=30000)
    c.send(hdr(rt.DATA, 1) + b"second DATA, no push")
    big = os.urandom(3000)
    held_call(r, mbid, 2, big, timeout_ms=30000, ws=c)
    got = svc.wait_log(sub["id"], 2)
    time.sleep(0.3)
    got = svc.log(sub["id"])
    check(len(got) == 2, "%d pushes for 2 held calls: %r" % (len(got), got))
    want = {'{"v":2,"call":"AQID-_8"}', '{"v":2,"call":null}'}
    check({e["payload"] for e in got} == want,
          "payloads %r" % [e["payload"] for e in got])
    for e in got:
        check(e["ok"] and e["error"] is None, "push refused: %r" % e)
        check(e["urgency"] == "high", "urgency %r" % e["urgency"])
        check(25 <= int(e["ttl"]) <= 30,
              "TTL %r for a 30 s call" % e["ttl"])
        check(e["vapidKey"] == b64u_enc(key), "VAPID key")
        check(e["jwt"]["aud"] == svc.origin and
              e["jwt"].get("sub") == CONTACT, "JWT %r" % e["jwt"])
    # The phone comes: both calls are delivered, with ONLINE.
    ph = rt.raw_phone(r, secret)
    online = {c.expect(rt.ONLINE, None)[0] for _ in (1, 2)}
    check(online == {1, 2}, "ONLINE on %r" % online)
    # Held calls keep nothing (7.5): the phone gets no DATA.
    ph.expect(rt.INCOMING, None)
    ph.expect(rt.INCOMING, None)
    check(ph.recv(0.3)[0] == "timeout", "held DATA was delivered")
    check(sub["endpoint"] not in r.text(), "the endpoint was logged")


def case_push_gone():
    """410: the subscription is deleted (its file goes) and the next
    call to that mailbox pushes nothing."""
    svc = PushSvc()
    pdir = os.path.join(rt.TMP, "push")
    r = push_relay(svc, pdir)
    sa, sb = os.urandom(32), os.urandom(32)
    suba, subb = svc.new_sub(), svc.new_sub()
    for s, sub in ((sa, suba), (sb, subb)):
        subscribed_phone(r, s, sub)[0].close()
    svc.mode(suba["id"], {"status": 410})
    fa = os.path.join(pdir, "subs", rt.mailbox_id(sa).hex())
    c = held_call(r, rt.mailbox_id(sa), 1, b"one")
    svc.wait_log(suba["id"], 1)
    said = re.compile(r"answered 410: the subscription of mailbox "
                      r"[0-9a-f]{16}\.\.\. is gone")
    end = time.monotonic() + 5
    while (os.path.exists(fa) or not said.search(r.text())) and \
            time.monotonic() < end:
        time.sleep(0.05)
    check(not os.path.exists(fa), "410 left the subscription's file")
    check(said.search(r.text()), r.text())
    # The next call to a pushes nothing; b's, after it, does.
    held_call(r, rt.mailbox_id(sa), 2, b"two", ws=c)
    held_call(r, rt.mailbox_id(sb), 3, b"three", ws=c)
    svc.wait_log(subb["id"], 1)
    time.sleep(0.2)
    check(len(svc.log(suba["id"])) == 1, "a push after 410")


def case_push_retry():
    """500 twice, then 201: three attempts of the same push."""
    svc = PushSvc()
    r = push_relay(svc, os.path.join(rt.TMP, "push"))
    secret = os.urandom(32)
    sub = svc.new_sub()
    subscribed_phone(r, secret, sub)[0].close()
    svc.mode(sub["id"], {"status": 500, "times": 2})
    c = held_call(r, rt.mailbox_id(secret), 1, b"retry me",
                  timeout_ms=30000)
    got = svc.wait_log(sub["id"], 3, timeout=15)
    time.sleep(0.3)
    got = svc.log(sub["id"])
    check([e["status"] for e in got] == [500, 500, 201],
          "answers %r" % [e["status"] for e in got])
    check(all(e["ok"] and e["payload"] == got[0]["payload"] for e in got),
          "the attempts differ")
    check(got[1]["at"] - got[0]["at"] >= 900 and
          got[2]["at"] - got[1]["at"] >= 1900, "no backoff: %r" %
          [e["at"] for e in got])
    check("HTTP 500; trying again in 1 s" in r.text(), r.text())


def case_push_retry_after():
    """429 with Retry-After: 2, then 201: the relay waits the 2 s the
    service asked for (its own first backoff is 1 s), not less."""
    svc = PushSvc()
    r = push_relay(svc, os.path.join(rt.TMP, "push"))
    secret = os.urandom(32)
    sub = svc.new_sub()
    subscribed_phone(r, secret, sub)[0].close()
    svc.mode(sub["id"], {"status": 429, "retryAfter": 2, "times": 1})
    c = held_call(r, rt.mailbox_id(secret), 1, b"later, please",
              timeout_ms=30000)
    svc.wait_log(sub["id"], 2, timeout=15)
    time.sleep(0.3)
    got = svc.log(sub["id"])
    check([e["status"] for e in got] == [429, 201],
          "answers %r" % [e["status"] for e in got])
    check(all(e["ok"] and e["payload"] == got[0]["payload"] for e in got),
          "the attempts differ: %r" % got)
    gap = got[1]["at"] - got[0]["at"]
    check(gap >= 1500, "second attempt %d ms after the 429 with "
          "Retry-After: 2" % gap)
    check("HTTP 429; trying again in 2 s" in r.text(), r.text())


def make_cert(name):
    """A self-signed P-256 certificate for 127.0.0.1 (CN and SAN), made
    with the openssl command in the case's temporary folder."""
    cf = os.path.join(rt.TMP, name + ".crt")
    kf = os.path.join(rt.TMP, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                    "-keyout", kf, "-out", cf],
                   capture_output=True, check=True, timeout=30)
    return cf, kf


def case_push_tls():
    """An https push service: with --push-ca its certificate, the push
    arrives, verifies and decrypts; a relay given another CA sends
    nothing (the service sees no push) and logs why."""
    cf, kf = make_cert("svc")
    other, _ = make_cert("other")
    svc = PushSvc(tls=(cf, kf))
    check(svc.origin.startswith("https://"), svc.origin)
    # Another CA: the certificate is refused, nothing reaches the service.
    bad = push_relay(svc, os.path.join(rt.TMP, "push-bad"),
                     "--push-ca", other)
    sb = os.urandom(32)
    subb = svc.new_sub()
    subscribed_phone(bad, sb, subb)[0].close()
    cb = held_call(bad, rt.mailbox_id(sb), 1, b"not to you",
                   timeout_ms=30000)
    # Two attempts refused (the first retry is 1 s after the first).
    said = re.compile(r"push to 127\.0\.0\.1 for mailbox [0-9a-f]{16}"
                      r"\.\.\.: [^;\n]*certificate[^;\n]*; trying again "
                      r"in 2 s")
    end = time.monotonic() + 10
    while not said.search(bad.text()) and time.monotonic() < end:
        time.sleep(0.05)
    check(said.search(bad.text()), "no certificate failure logged: " +
          bad.text())
    # The right CA: the push arrives over TLS, as over http.
    r = push_relay(svc, os.path.join(rt.TMP, "push"), "--push-ca", cf)
    secret = os.urandom(32)
    sub = svc.new_sub()
    ph, key = subscribed_phone(r, secret, sub)
    ph.close()
    msg = b"\x01\x02\x03\xfb\xff"    # 7.11's example
    c = held_call(r, rt.mailbox_id(secret), 1, msg, timeout_ms=30000)
    got = svc.wait_log(sub["id"], 1)
    e = got[0]
    check(e["ok"] and e["error"] is None and e["status"] == 201,
          "push refused: %r" % e)
    check(e["payload"] == '{"v":2,"call":"AQID-_8"}',
          "payload %r" % e["payload"])
    check(e["vapidKey"] == b64u_enc(key), "VAPID key")
    check(e["jwt"]["aud"] == svc.origin and
          e["jwt"].get("sub") == CONTACT, "JWT %r" % e["jwt"])
    check(e["urgency"] == "high" and 25 <= int(e["ttl"]) <= 30,
          "urgency %r, TTL %r" % (e["urgency"], e["ttl"]))
    # The other relay's two attempts reached no push to the service.
    check(svc.log(subb["id"]) == [], "a push got past the wrong CA: %r" %
          svc.log(subb["id"]))
    check(sub["endpoint"] not in r.text(), "the endpoint was logged")
    c.close()
    cb.close()


def case_push_hanging():
    """A push service that never answers: calls to an online phone still
    go through, and held calls still get ONLINE when the phone comes;
    SIGTERM still stops the relay, abandoning what hangs."""
    svc = PushSvc()
    r = push_relay(svc, os.path.join(rt.TMP, "push"))
    sa, sb = os.urandom(32), os.urandom(32)
    sub = svc.new_sub()
    subscribed_phone(r, sa, sub)[0].close()
    svc.mode(sub["id"], {"hang": True})
    c = held_call(r, rt.mailbox_id(sa), 1, b"hangs")
    svc.wait_log(sub["id"], 1)
    # Another phone, online: a call goes through both ways.
    pb = rt.raw_phone(r, sb)
    c.call(2, rt.mailbox_id(sb))
    c.expect(rt.ONLINE, 2)
    ch, _ = pb.expect(rt.INCOMING, None)
    c.send(hdr(rt.DATA, 2) + b"ping")
    _, body = pb.expect(rt.DATA, ch)
    check(body == b"ping", body)
    pb.send(hdr(rt.DATA, ch) + b"pong")
    _, body = c.expect(rt.DATA, 2)
    check(body == b"pong", body)
    # The first phone comes: its held call is delivered.
    pa = rt.raw_phone(r, sa)
    c.expect(rt.ONLINE, 1)
    ch, _ = pa.expect(rt.INCOMING, None)
    c.send(hdr(rt.DATA, 1) + b"fresh")
    _, body = pa.expect(rt.DATA, ch)
    check(body == b"fresh", body)
    r.proc.p.send_signal(signal.SIGTERM)
    check(r.proc.wait_exit(6) == 0, "relay exit status")
    check("pushes still being sent were abandoned" in r.text(), r.text())


def case_push_queue_bounded():
    """--push-queue 2 and a service that hangs: of 6 held calls only 2
    pushes are ever made; the others are dropped and counted."""
    svc = PushSvc()
    r = push_relay(svc, os.path.join(rt.TMP, "push"), "--push-queue", "2")
    secret = os.urandom(32)
    sub = svc.new_sub()
    subscribed_phone(r, secret, sub)[0].close()
    svc.mode(sub["id"], {"hang": True})
    c = RawWS(r.port)
    for ch in range(1, 7):
        held_call(r, rt.mailbox_id(secret), ch, b"call %d" % ch, ws=c)
    svc.wait_log(sub["id"], 2)
    end = time.monotonic() + 5
    while "dropped the push" not in r.text() and time.monotonic() < end:
        time.sleep(0.05)
    check("pushes are waiting already (--push-queue)" in r.text(),
          r.text())
    # The calls themselves are held all the same.
    pa = rt.raw_phone(r, secret)
    online = {c.expect(rt.ONLINE, None)[0] for _ in range(1, 7)}
    check(online == set(range(1, 7)), "ONLINE on %r" % online)
    check(len(svc.log(sub["id"])) == 2, "pushes past the queue: %r" %
          svc.log(sub["id"]))
    r.proc.p.send_signal(signal.SIGTERM)
    check(r.proc.wait_exit(6) == 0, "relay exit status")
    m = re.search(r"push: (\d+) sent, (\d+) failed, (\d+) dropped; "
                  r"(\d+) subscriptions", r.text())
    check(m and m.group(3) == "4" and m.group(4) == "1",
          "summary: %r" % (m and m.group(0)))
    pa.close()


def case_push_cli():
    """The push flags: refused with exit 2 (command line) or 1 (cannot
    start), each saying why; the warning without --push-contact."""
    pdir = os.path.join(rt.TMP, "push")
    for args, code, said in (
            (["--push-allow", "https://x.example"], 2, b"need --push-dir"),
            (["--push-dir", pdir, "--push-contact", "admin@example.org"],
             2, b"want a mailto: or https: URI"),
            (["--push-dir", pdir, "--push-queue", "0"], 2,
             b"--push-queue: want a number"),
            (["--push-dir", pdir, "--push-allow", "ftp://x.example"], 1,
             b"--push-allow ftp://x.example: "),
            (["--push-dir", pdir, "--push-ca", "/nonexistent/ca.pem"], 1,
             b"--push-ca: cannot read /nonexistent/ca.pem"),
            (["--push-dir", "/dev/null/push"], 1, b"--push-dir: ")):
        out = subprocess.run([rt.RELAY, "--listen", "127.0.0.1:0"] + args,
                             capture_output=True, timeout=5)
        check(out.returncode == code and said in out.stderr,
              "%s: exit %d, %r" % (args, out.returncode, out.stderr))
    check(not os.path.exists(pdir) or
          not os.path.exists(os.path.join(pdir, "vapid-key")) or
          mode_of(os.path.join(pdir, "vapid-key")) == 0o600, "key mode")
    r = Relay("--push-dir", pdir)
    check("push is on without --push-contact" in r.text(), r.text())
    check(b"--push-dir" in subprocess.run(
        [rt.RELAY, "--help"], capture_output=True, timeout=5).stdout,
        "--help does not say --push-dir")


def main():
    return rt.main(globals(), __doc__)


if __name__ == "__main__":
    sys.exit(main())
