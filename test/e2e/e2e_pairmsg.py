# End-to-end: what the two sides of a pairing say when it cannot go on.
"""usage: e2e_pairmsg.py BUILD_DIR CLOCKSHIFT_SO [CASE ...]

The real relay, real `sk-phone pair` (on a terminal where it asks) and the
real reference phone's `pair`, on 127.0.0.1.

Issue 10 item 10, defect -> case (each failed on the code before its fix):
  a pairing code from the future ........ future_code_says_clocks_differ
  a used code waits the whole timeout ... used_code_fails_at_once
  an altered code waits the whole timeout altered_code_fails_at_once
  altered computer key: one side waits .. altered_key_both_sides_say_so
  altered computer name: one side waits . altered_name_both_sides_say_so
  "rejected on the phone" when the
  computer declined ..................... computer_declines_phone_is_told
  ... or its pair was stopped ........... computer_stopped_phone_is_told
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
CLOCKSHIFT = None
t = Tap()
# The phone's own pairing timeout: a case that waited for it would show.
PHONE_TIMEOUT = "30"
USED = "no pairing is waiting under this code: it was used, has expired, " \
    "or was altered"


def computer(tag, extra=(), state=None):
    """sk-phone pair --yes in the background; answers (process, URI)."""
    uri_file = K.path("uri-" + tag)
    env = K.env(SK_PHONE_DIR=state) if state else None
    p = K.spawn("pair-" + tag,
                [K.cli, "pair", "--relay", K.relay_url, "--yes",
                 "--name", "box-" + tag, "--uri-file", uri_file,
                 "--timeout", "30", *extra], env=env)
    skpe2e.wait_file(uri_file, p)
    with open(uri_file) as f:
        return p, f.read().strip()


def phone_pair(tag, uri, env=None, extra=("--yes",)):
    """The reference phone's pair, URI on standard input."""
    return K.run([K.phone_bin, "--state", K.path("phone-" + tag), "pair",
                  "-", "--name", "ph-" + tag, "--timeout", PHONE_TIMEOUT,
                  *extra], env=env, input=(uri + "\n").encode())


def finished(p, timeout=10):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    rc = p.poll()
    K.stop(p)
    return rc


def replace_param(uri, name, value):
    parts = uri.split("?", 1)
    params = [kv if not kv.startswith(name + "=") else name + "=" + value
              for kv in parts[1].split("&")]
    return parts[0] + "?" + "&".join(params)


def param(uri, name):
    for kv in uri.split("?", 1)[1].split("&"):
        if kv.startswith(name + "="):
            return kv[len(name) + 1:]
    raise KeyError(name)


@t.case
def future_code_says_clocks_differ():
    """The phone's clock is 10 minutes behind the computer's."""
    comp, uri = computer("future")
    rc, out, err, dt = phone_pair("future", uri,
                                  env=K.shim_env(CLOCKSHIFT,
                                                 SKP_TEST_CLOCK_SHIFT=-600))
    K.stop(comp)
    check(rc != 0, "paired with a code from the future", out + err)
    check("this pairing code was made 10 min in the future by this "
          "phone's clock: the computer's and the phone's clocks differ by "
          "about 10 min; set the clocks right (NTP), then pair again" in err,
          "does not say the clocks differ", out + err)
    check("too old" not in err, "calls it too old", err)
    check(dt < 10, "took %.1f s" % dt)


@t.case
def used_code_fails_at_once():
    """Pair once, then scan the same code again."""
    comp, uri = computer("used")
    rc, out, err, _ = phone_pair("used", uri)
    check(rc == 0, "first pairing", out + err)
    check(finished(comp) == 0, "sk-phone pair", K.log("pair-used"))
    rc, out, err, dt = phone_pair("used-again", uri)
    check(rc != 0, "paired twice with one code", out + err)
    check(USED in err, "does not say why", out + err)
    check("run `sk-phone pair` on the computer again and scan the new "
          "code" in err, "does not say what to do", err)
    check(dt < 10, "took %.1f s (the phone's timeout is %s s)" %
          (dt, PHONE_TIMEOUT))


@t.case
def altered_code_fails_at_once():
    """One character of the QR secret changed: another rendezvous, where
    nobody waits. The computer still waits for the real code, which then
    pairs: the computer opened the rendezvous before it showed the code."""
    comp, uri = computer("altered")
    s = param(uri, "s")
    bad = replace_param(uri, "s", ("B" if s[0] != "B" else "C") + s[1:])
    rc, out, err, dt = phone_pair("altered", bad)
    check(rc != 0, "paired with an altered code", out + err)
    check(USED in err, "does not say why", out + err)
    check(dt < 10, "took %.1f s" % dt)
    check(comp.poll() is None, "sk-phone pair gave up",
          K.log("pair-altered"))
    rc, out, err, _ = phone_pair("altered-real", uri)
    check(rc == 0, "the real code after an altered one", out + err)
    check(finished(comp) == 0, "sk-phone pair", K.log("pair-altered"))


@t.case
def altered_key_both_sides_say_so():
    """The code's secret is right but its computer key is another
    computer's: the computer cannot read the phone's first message; it
    hangs up, and both say the code was wrong or altered, at once."""
    os.mkdir(K.path("other-computer"), 0o700)
    other, other_uri = computer("keyother", state=K.path("other-computer"))
    K.stop(other)
    comp, uri = computer("key")
    bad = replace_param(uri, "k", param(other_uri, "k"))
    check(bad != uri, "the two computers have one key")
    rc, out, err, dt = phone_pair("key", bad)
    check(rc != 0, "paired with another computer's key", out + err)
    check("the pairing code was wrong or altered" in err,
          "the phone does not say the code was altered", out + err)
    check(dt < 10, "took %.1f s" % dt)
    check(finished(comp, 5) not in (0, None), "sk-phone pair went on",
          K.log("pair-key"))
    log = K.log("pair-key")
    check("the pairing code the phone used was wrong or altered" in log,
          "the computer does not say the code was altered", log)


@t.case
def altered_name_both_sides_say_so():
    """The code's computer name changed: the handshake goes through, but
    the computer's answer names another computer. The phone refuses and
    hangs up; the computer (--yes, waiting for the phone's confirmation)
    learns it at once."""
    comp, uri = computer("name")
    bad = replace_param(uri, "n", "not-box-name")
    rc, out, err, dt = phone_pair("name", bad)
    check(rc != 0, "paired with an altered name", out + err)
    check('it is not named "not-box-name" as the code says' in err and
          "the pairing code was wrong or altered" in err,
          "the phone does not say the code was altered", out + err)
    check(finished(comp, 5) not in (0, None), "sk-phone pair went on",
          K.log("pair-name"))
    log = K.log("pair-name")
    check("the phone declined the pairing (its user said no, or it found "
          "the code altered; the phone says which); nothing saved" in log,
          "the computer does not say", log)
    check(dt < 10, "took %.1f s" % dt)


def pty_computer(tag):
    """sk-phone pair without --yes on a terminal; answers (pid, fd, URI)."""
    uri_file = K.path("uri-" + tag)
    argv = [K.cli, "pair", "--relay", K.relay_url, "--name", "box-" + tag,
            "--uri-file", uri_file, "--timeout", "30"]
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, K.env(preload=False))
        finally:
            os._exit(127)
    seen = [b""]
    stop = []

    def drain():
        while not stop:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    seen[0] += os.read(fd, 4096)
                except OSError:
                    return

    th = threading.Thread(target=drain, daemon=True)
    th.start()
    end = time.monotonic() + skpe2e.START_TIMEOUT
    while not os.path.exists(uri_file) and time.monotonic() < end:
        time.sleep(0.02)
    with open(uri_file) as f:
        uri = f.read().strip()
    return pid, fd, uri, seen, stop


def until(seen, what, timeout=15):
    end = time.monotonic() + timeout
    while what not in seen[0] and time.monotonic() < end:
        time.sleep(0.05)
    return what in seen[0]


def computer_answers(tag, answer):
    """The phone confirms (--yes); the computer's user answers `answer`
    ("n", or None: its pair is interrupted). Answers the phone's result
    and what the computer's terminal showed."""
    pid, fd, uri, seen, stop = pty_computer(tag)
    res = {}

    def phone():
        res["r"] = phone_pair(tag, uri)

    th = threading.Thread(target=phone, daemon=True)
    th.start()
    try:
        check(until(seen, b"[y/N]"), "the computer did not ask",
              seen[0].decode("utf-8", "replace"))
        # The phone has confirmed and waits for the computer.
        time.sleep(0.3)
        if answer is None:
            os.kill(pid, signal.SIGINT)
        else:
            os.write(fd, answer.encode() + b"\n")
        th.join(20)
        check("r" in res, "the phone still waits")
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        stop.append(1)
        os.close(fd)
    return res["r"], seen[0].decode("utf-8", "replace")


@t.case
def computer_declines_phone_is_told():
    (rc, out, err, dt), term = computer_answers("declined", "n")
    check(rc != 0, "paired although the computer said no", out + err)
    check("the computer declined the pairing (its user did not confirm "
          "the code" in err, "the phone does not say who declined",
          out + err)
    check("rejected on the phone" not in err, "blames the phone", err)
    check("pairing cancelled; nothing saved" in term, "computer says",
          term)
    check(dt < 15, "took %.1f s" % dt)


@t.case
def computer_stopped_phone_is_told():
    (rc, out, err, dt), term = computer_answers("stopped", None)
    check(rc != 0, "paired although the computer stopped", out + err)
    check("the computer gave up" in err, "the phone does not say",
          out + err)
    check("rejected on the phone" not in err, "blames the phone", err)
    check(dt < 15, "took %.1f s" % dt)


def main():
    global K, CLOCKSHIFT
    build, CLOCKSHIFT = sys.argv[1], os.path.abspath(sys.argv[2])
    K = Kit(build, "pairmsg")
    try:
        K.start_relay()
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = t.run(sys.argv[3:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
