# Web Push from the relay (docs/PROTOCOL.md 7.11): the real sk-phone-relay.
"""Each case starts its own relay on a free port and drives it with
relay_test.py's raw websocket client and relay_tool (the C client
library); push cases use the project's test push service
(test/push/pushsvc.mjs) on 127.0.0.1. Every process started is stopped
when the case ends, and every case has a time bound.

usage: push_test.py RELAY_BIN TOOL_BIN CASE
"""

import os
import shutil
import signal
import struct
import sys

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


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    rt.RELAY, rt.TOOL, name = sys.argv[1:4]
    fn = globals().get("case_" + name)
    if fn is None:
        print("no case " + name, file=sys.stderr)
        return 2
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(
        Fail("case took over %ds" % rt.CASE_BOUND_S)))
    signal.alarm(rt.CASE_BOUND_S)
    rc = 1
    try:
        fn()
        rc = 0
    except Fail as e:
        print("FAIL: %s: %s" % (name, e))
    finally:
        signal.alarm(0)
        for p in reversed(rt.PROCS):
            p.stop()
        for rep in rt.sanitizer_reports():
            print("FAIL: %s: sanitizer: %s" % (name, rep))
            rc = 1
        if rc == 0:
            print("ok: " + name)
        shutil.rmtree(rt.TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
