# End-to-end: the phone's run loop with several requests (issue 10).
"""usage: e2e_serve.py BUILD_DIR [CASE ...]

The real relay, the reference phone on a terminal (a pty, answered by
this script), ssh and sshd on 127.0.0.1: requests that come while the
phone asks are queued and asked in turn; a queued one whose ssh is killed
is dropped, never asked; one that waited --timeout behind others is
refused, and the provider says the phone is busy (not "the relay refused
the request (too many calls)"). A no-touch-required key is signed without
a question (UP clear: sshd takes it only with no-touch-required in
authorized_keys), unless the phone runs --no-touch ask. With one request
asked and 16 waiting, a 17th is refused at once as busy ("16 requests
already wait on the phone", PROTOCOL 8.6; seventeenth_request_is_busy:
ssh-keygen -Y sign, no sshd, the relay with --max-calls 64).

Issue 10, defect -> case (each failed on the code before its fix):
  2  a busy phone refuses at once ..... parallel_logins_are_asked_in_turn,
                                        killed_ssh_is_dropped_from_queue,
                                        waited_too_long_is_refused_as_busy
  1  no-touch-required keys asked ..... no_touch_key_signs_without_asking,
                                        no_touch_ask_asks
"""

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402

K = None
T = Tap()
# Every wait for the phone's terminal is bounded by this.
WAIT = 20.0


class PtyPhone:
    """sk-phone-authenticator run --approve ask on a pty, read by a thread."""

    def __init__(self, *args):
        argv = K.phone_argv("run", "--approve", "ask", *args)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(argv[0], argv, K.env(preload=False))
            finally:
                os._exit(127)
        self.out = b""
        self.lock = threading.Lock()
        self.stopped = False
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.expect("listening")

    def _read(self):
        while not self.stopped:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    b = os.read(self.fd, 4096)
                except OSError:
                    return
                if not b:
                    return
                with self.lock:
                    self.out += b

    def text(self):
        with self.lock:
            return self.out.decode("utf-8", "replace")

    def count(self, s):
        return self.text().count(s)

    def expect(self, s, n=1):
        """Wait until s appeared n times on the terminal; bounded."""
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            if self.count(s) >= n:
                return
            time.sleep(0.05)
        raise AssertionError("the phone's terminal never showed %r (%d "
                             "times):\n%s" % (s, n, self.text()[-3000:]))

    def answer(self, n, word="o"):
        """Answer the n-th question once it reads answers ("answer
        within" after its text: a note under a question shows it again)."""
        self.expect("request from computer", n)
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            t = self.text()
            at = -1
            for _ in range(n):
                at = t.index("request from computer", at + 1)
            if "answer within" in t[at:]:
                os.write(self.fd, (word + "\n").encode())
                return
            time.sleep(0.05)
        raise AssertionError("question %d never read answers:\n%s" %
                             (n, self.text()[-3000:]))

    def close(self):
        self.stopped = True
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        self.t.join(2)
        os.close(self.fd)


def login_bg(name, timeout=30, key="key"):
    """An ssh login in the background: its Popen, output in NAME.err."""
    argv = K.ssh_argv(key=K.path(key), provider=K.provider) + [
        "echo skp-login-ok"]
    out = open(K.path(name + ".out"), "wb")
    err = open(K.path(name + ".err"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=err, env=K.env(SK_PHONE_TIMEOUT=timeout),
                         start_new_session=True, cwd=K.tmp)
    out.close()
    err.close()
    p.skp_name = name
    return p


def result(p, name):
    """(ok, stderr) of a background login, waited for (bounded)."""
    try:
        p.wait(timeout=skpe2e.CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    with open(K.path(name + ".out")) as f:
        out = f.read()
    with open(K.path(name + ".err")) as f:
        err = f.read()
    return p.returncode == 0 and "skp-login-ok" in out, err


def kill(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


@T.case
def parallel_logins_are_asked_in_turn():
    """Three ssh logins at once: one question, two waiting ("2 more
    requests waiting"); each is asked after the one before is answered,
    and all three log in."""
    ph = PtyPhone("--timeout", "20")
    procs = []
    try:
        procs.append(login_bg("par0"))
        ph.expect("request from computer")
        procs.append(login_bg("par1"))
        ph.expect("1 more request waiting")
        procs.append(login_bg("par2"))
        ph.expect("2 more requests waiting")
        for n in (1, 2, 3):
            ph.answer(n)
        for i, p in enumerate(procs):
            ok, err = result(p, "par%d" % i)
            check(ok, "login %d while the phone was busy" % i, err)
            check("busy" not in err and "too many calls" not in err,
                  "login %d was refused at first" % i, err)
        check(ph.count("request from computer") == 3, "asked %d times, "
              "not 3" % ph.count("request from computer"), ph.text())
        check("(1 more request waiting)" in ph.text(), "the second "
              "question does not say one more waits", ph.text())
    finally:
        for p in procs:
            kill(p)
        ph.close()


@T.case
def killed_ssh_is_dropped_from_queue():
    """A queued login whose ssh is killed is dropped (its computer hung
    up) and never asked; the one asked logs in."""
    ph = PtyPhone("--timeout", "20")
    a = b = None
    try:
        a = login_bg("killa")
        ph.expect("request from computer")
        b = login_bg("killb")
        ph.expect("1 more request waiting")
        kill(b)
        ph.expect("a waiting request was dropped: its computer hung up; "
                  "0 more waiting")
        check(": cancelled" in ph.text(), "no cancelled line", ph.text())
        ph.answer(1)
        ok, err = result(a, "killa")
        check(ok, "the login asked about", err)
        # The phone is free again: a new login is its second question.
        c = login_bg("killc")
        ph.expect("request from computer", 2)
        ph.answer(2)
        ok, err = result(c, "killc")
        check(ok, "the login after", err)
        check(ph.count("request from computer") == 2, "the killed login "
              "was asked", ph.text())
        log = K.run(K.phone_argv("log"))[1]
        check(log.count("cancelled") == 1, "audit log", log)
    finally:
        for p in (a, b):
            if p is not None:
                kill(p)
        ph.close()


@T.case
def waited_too_long_is_refused_as_busy():
    """Nobody answers (run --timeout 6): the first login is asked and
    times out, the second is asked after it; the third waited 6 s in the
    queue, so it is refused without being asked, and the provider says
    the phone is busy (not that the relay refused too many calls). The
    second comes 2 s after the first is asked, so that on a loaded
    machine the first's timer firing late does not make the second's
    wait reach 6 s too; the third must still be queued while the first is
    asked (4 s left for two logins to start)."""
    ph = PtyPhone("--timeout", "6")
    procs = []
    try:
        procs.append(login_bg("late0"))
        ph.expect("request from computer")
        time.sleep(2)
        procs.append(login_bg("late1"))
        ph.expect("1 more request waiting")
        procs.append(login_bg("late2"))
        ph.expect("2 more requests waiting")
        ok0, err0 = result(procs[0], "late0")
        ok1, err1 = result(procs[1], "late1")
        ok2, err2 = result(procs[2], "late2")
        check(not ok0 and not ok1 and not ok2, "logged in unanswered")
        check("asked, and nobody answered on it in time" in err0,
              "first: not the question timeout", err0)
        check("asked, and nobody answered on it in time" in err1,
              "second: not asked in turn", err1)
        check("phone 'phone1' is busy with other requests: try again "
              "when they are answered" in err2, "third: not busy", err2)
        check("waited too long behind another request" in err2,
              "third: not why", err2)
        check("too many calls" not in err2, "blames the relay", err2)
        check(ph.count("request from computer") == 2, "the third was "
              "asked", ph.text())
        check("not asked: waited too long behind another request" in
              ph.text(), "the phone does not say it", ph.text())
    finally:
        for p in procs:
            kill(p)
        ph.close()


def sign_bg(name, timeout=30):
    """ssh-keygen -Y sign through the phone in the background (no sshd:
    17 logins at once would meet sshd's MaxStartups): its Popen, output
    in NAME.out and NAME.err."""
    msg = K.path(name + ".txt")
    with open(msg, "w") as f:
        f.write("%s\n" % name)
    argv = [skpe2e.SSH_KEYGEN, "-Y", "sign", "-f", K.path("key"), "-n",
            "file", msg]
    out = open(K.path(name + ".out"), "wb")
    err = open(K.path(name + ".err"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=err, env=K.env(SK_PHONE_TIMEOUT=timeout,
                                               SSH_SK_PROVIDER=K.provider),
                         start_new_session=True, cwd=K.tmp)
    out.close()
    err.close()
    return p


@T.case
def seventeenth_request_is_busy():
    """One request asked and 16 waiting (the relay runs with --max-calls
    64, so that its share of calls per caller address, half of that,
    lets them all through): a 17th is refused at once, 0x06 with the
    reason "16 requests already wait on the phone" (PROTOCOL 8.6), which
    the provider shows as busy; it is never asked, and the audit log
    says refused-busy once."""
    ph = PtyPhone("--timeout", "20")
    procs = []
    try:
        procs.append(sign_bg("full0"))
        ph.expect("request from computer")
        for i in range(1, 17):
            procs.append(sign_bg("full%d" % i))
        ph.expect("16 more requests waiting")
        last = sign_bg("full17", timeout=10)
        procs.append(last)
        try:
            last.wait(timeout=skpe2e.CMD_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        with open(K.path("full17.err")) as f:
            err = f.read()
        check(last.returncode not in (None, 0), "the 17th was signed", err)
        check("phone 'phone1' is busy with other requests: try again "
              "when they are answered" in err, "not busy", err)
        check("16 requests already wait on the phone" in err,
              "not the reason", err)
        check("too many calls" not in err, "the relay refused it", err)
        check(ph.count("request from computer") == 1, "asked more than "
              "once", ph.text())
        log = K.run(K.phone_argv("log"))[1]
        check(log.count("refused-busy") == 1, "audit log", log)
    finally:
        for p in procs:
            kill(p)
        ph.close()


def sshd_log():
    try:
        with open(K.path("sshd.log")) as f:
            return f.read()
    except OSError:
        return ""


@T.case
def no_touch_key_signs_without_asking():
    """A key made with -O no-touch-required logs in while the phone's
    question would never be answered: signed at once with a notice, UP
    clear; sshd without no-touch-required for the key refuses it."""
    ph = PtyPhone("--timeout", "20")
    try:
        K.authorize(K.path("ntkey.pub"), "no-touch-required")
        ok, err, _ = K.login(K.path("ntkey"),
                             env=K.env(SK_PHONE_TIMEOUT=10))
        check(ok, "no-touch-required login", err + ph.text()[-1500:])
        check("waiting for approval" not in err, "announced a wait", err)
        ph.expect("signed without asking: no-touch-required key SHA256:")
        check('for computer "testbox", host unknown host' in ph.text(),
              "the notice names no computer or host", ph.text())
        check("request from computer" not in ph.text(), "asked",
              ph.text())
        log = K.run(K.phone_argv("log"))[1]
        check("allow-no-touch" in log, "not in the audit log", log)
        # The same key, the server not told: UP=0 is refused by sshd.
        K.authorize(K.path("ntkey.pub"))
        before = len(sshd_log())
        ok, err, _ = K.login(K.path("ntkey"),
                             env=K.env(SK_PHONE_TIMEOUT=10))
        check(not ok, "sshd took a signature without presence", err)
        check("user presence" in sshd_log()[before:], "sshd's reason",
              sshd_log()[before:])
        check("request from computer" not in ph.text(), "asked",
              ph.text())
    finally:
        K.authorize(K.path("ntkey.pub"), "no-touch-required")
        ph.close()


@T.case
def no_touch_ask_asks():
    """run --no-touch ask: the no-touch-required key is asked about, the
    question says the key needs no touch, the provider says it waits;
    allowed, it logs in."""
    ph = PtyPhone("--timeout", "20", "--no-touch", "ask")
    p = None
    try:
        p = login_bg("ntask", key="ntkey")
        ph.expect("this key needs no touch (no-touch-required); asked "
                  "because of --no-touch ask")
        ph.answer(1)
        ok, err = result(p, "ntask")
        check(ok, "login once allowed", err)
        check("waiting for approval on phone 'phone1'" in err,
              "no waiting line while the phone asked", err)
        check("signed without asking" not in ph.text(), "not asked",
              ph.text())
    finally:
        if p is not None:
            kill(p)
        ph.close()


def main():
    global K
    K = Kit(sys.argv[1], "serve")
    K.phone = None
    # 17 calls from 127.0.0.1 (seventeenth_request_is_busy): the relay's
    # share per caller address is half of --max-calls.
    K.relay_args = ("--max-calls", "64")
    try:
        K.key_world()
        rc, out, err, _ = K.keygen("ntkey", "no-touch-required")
        if rc != 0:
            raise RuntimeError("ssh-keygen no-touch: " + out + err)
        K.stop_phone()
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = T.run(sys.argv[2:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
