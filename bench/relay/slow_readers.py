# Relay RSS under slow readers: N websocket pairs whose receivers never
# read while their senders write 64 KiB frames as fast as the relay takes
# them, and one phone that never reads with 24 callers writing to it.
"""Prints figures; never fails on them (timed or sized pass/fail tests
are not allowed: the test suite checks the bounds in relay_test.py).

usage: slow_readers.py RELAY_BIN [N ...]   (default N: 6 24 96)
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", "..", "test", "relay"))
import relay_test as T  # noqa: E402


def pairs_run(n, seconds=3.0):
    r = T.Relay("--max-per-addr", str(2 * n + 8))
    pid = r.proc.p.pid
    pairs = []
    for i in range(n):
        a = T.RawWS(r.port, source="127.0.0.%d" % (i % 200 + 2))
        b = T.RawWS(r.port, source="127.0.0.%d" % (i % 200 + 2))
        rid = os.urandom(32)
        a.join(1, rid, 60000)
        a.expect(T.WAITING, 1)
        b.join(1, rid, 60000)
        b.expect(T.PEER, 1)
        a.expect(T.PEER, 1)
        pairs.append((a, b))
    time.sleep(0.3)
    before = T.rss_kib(pid)
    frame = T.ws_frame(T.hdr(T.DATA, 1) + os.urandom(65536 - 5))
    sent = T.pump([a.s for a, _ in pairs], frame, seconds)
    after = T.rss_kib(pid)
    print("%4d slow readers: %7d KiB written by the senders; relay RSS "
          "%6d -> %6d KiB: %5.0f KiB per slow reader (cap: --max-queued "
          "1024 KiB; senders stopped at 256 KiB queued)" %
          (n, sent // 1024, before, after, (after - before) / n))
    for p in reversed(T.PROCS):
        p.stop()
    del T.PROCS[:]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    T.RELAY = sys.argv[1]
    for n in [int(x) for x in sys.argv[2:]] or [6, 24, 96]:
        pairs_run(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
