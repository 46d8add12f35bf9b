# A program on a pseudo-terminal, for the tests that drive the reference
# phone as its owner would (test/phone, test/e2e, test/conformance).
"""The one pseudo-terminal driver of the test suites.

PtyProgram(argv, env, fail, wait=15.0, on_exit=None) starts argv on a new
pseudo-terminal. fail(message) must raise: it is how the driver reports a
text that never came. on_exit(everything_it_printed), when given, runs once
when the program has been reaped (the suites check for sanitizer reports
there).

sanitizer_report(text) gives the first ASan/UBSan/LSan report in text, or
None.
"""

import os
import pty
import re
import select
import signal
import time

SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|"
                       r"SUMMARY: \w+Sanitizer")


def sanitizer_report(text, limit=1500):
    """The sanitizer's report in text (at most limit characters), or None."""
    m = SANITIZER.search(text)
    return text[m.start():][:limit] if m else None


class PtyProgram:
    """A program on a pseudo-terminal, as its owner would see it."""

    def __init__(self, argv, env, fail, wait=15.0, on_exit=None):
        self.fail = fail
        self.wait = wait
        self.on_exit = on_exit
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.buf = b""          # printed and not yet consumed
        self.all = b""          # everything printed

    def read(self, timeout):
        """Read what is there within timeout seconds; False when nothing."""
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:         # EIO: the program ended
            data = b""
        if not data:
            return False
        self.buf += data
        self.all += data
        return True

    def find(self, text, timeout, give_up=None):
        """Wait for text after what was consumed and consume up to it; the
        part consumed, or None when the time ran out or give_up() became
        true (what was printed before that still counts)."""
        want = text.encode()
        end = time.monotonic() + timeout
        while True:
            i = self.buf.find(want)
            if i >= 0:
                seen = self.buf[:i + len(want)].decode("utf-8", "replace")
                self.buf = self.buf[i + len(want):]
                return seen
            if give_up is not None and give_up():
                while self.read(0.05):
                    pass
                if self.buf.find(want) < 0:
                    return None
                continue
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.read(min(left, 0.05) if give_up is not None else left)

    def expect(self, text, timeout=None):
        """find() that fails when the text does not come."""
        seen = self.find(text, self.wait if timeout is None else timeout)
        if seen is None:
            self.fail("pty: no %r in %r" % (text, self.buf[-1500:]))
        return seen

    def drain(self, secs):
        """What the program printed in the next secs seconds, consumed."""
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.read(end - time.monotonic())
        out, self.buf = self.buf.decode("utf-8", "replace"), b""
        return out

    def send(self, s):
        os.write(self.fd, s.encode())

    def kill(self, sig=signal.SIGTERM):
        """Send sig and reap the program (SIGKILL after self.wait s)."""
        if not self.pid:
            return
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        end = time.monotonic() + self.wait
        while time.monotonic() < end:
            if os.waitpid(self.pid, os.WNOHANG)[0] != 0:
                break
            self.read(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self.pid = 0
        while self.read(0.05):
            pass
        if self.on_exit is not None:
            self.on_exit(self.all.decode("utf-8", "replace"))

    def close(self):
        self.kill()
        try:
            os.close(self.fd)
        except OSError:
            pass
