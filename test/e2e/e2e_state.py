# End-to-end: the phone's state folder, run twice or copied, and damaged.
"""usage: e2e_state.py BUILD_DIR [CASE ...]

The real relay, the reference phone, ssh and ssh-keygen, sshd on
127.0.0.1: a second `run` on one state is refused and the first keeps
serving; a copied state folder run at the same time is said to be live
somewhere else.

Issue 10, defect -> case (each failed on the code before its fix):
  8  a second run evicts the first .... second_run_on_the_same_state_
                                        is_refused
  8  a copied state folder ............ copied_state_is_said_live_
                                        somewhere_else
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402

K = None
tap = Tap()


def wait_log(name, text, proc=None, timeout=skpe2e.START_TIMEOUT):
    """Wait until NAME.log holds text; bounded. The log, and whether."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = K.log(name)
        if text in log:
            return log, True
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    return K.log(name), text in K.log(name)


def sign(tag):
    """ssh-keygen -Y sign with the phone's key: (ok, out + err)."""
    msg = K.path("msg-%s.txt" % tag)
    with open(msg, "w") as f:
        f.write("signed by the phone\n")
    rc, out, err, _ = K.run([skpe2e.SSH_KEYGEN, "-Y", "sign", "-f",
                             K.path("key"), "-n", "file", msg],
                            env=K.env(SSH_SK_PROVIDER=K.provider))
    return rc == 0 and os.path.exists(msg + ".sig"), out + err


@tap.case
def second_run_on_the_same_state_is_refused():
    """A second run on the state refuses at once, names the first's pid
    and the folder; the first keeps serving; other commands still work."""
    first = K.phone
    rc, out, err, dt = K.run(K.phone_argv("run", "--approve", "always"),
                             timeout=20)
    check(rc not in (0, -999), "a second run started (rc %d)" % rc,
          out + err)
    want = ("another sk-phone-authenticator run (pid %d) is already "
            "serving this phone's state (%s): stop it first, or use "
            "--state for another phone" % (first.pid, K.phone_dir))
    check(want in err, "the refusal", err)
    check("listening" not in out + err, "the second one listened",
          out + err)
    check(first.poll() is None, "the first run stopped")
    # The writers' lock is not run's: the other commands work meanwhile.
    rc, out, err, _ = K.run(K.phone_argv("computers"), timeout=20)
    check(rc == 0 and "testbox" in out, "computers while run is up",
          out + err)
    ok, err = sign("second-run")
    check(ok, "sign through the first run", err)
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login through the first run", err)
    check("somewhere else" not in K.log("phone"),
          "the first run was taken over", K.log("phone"))


@tap.case
def copied_state_is_said_live_somewhere_else():
    """cp -a of the state folder, run at the same time: the first run
    says the state is live somewhere else; once the copy stops, it
    serves again."""
    copy = K.path("phone-copy")
    shutil.copytree(K.phone_dir, copy, symlinks=True)
    os.chmod(copy, 0o700)
    start = len(K.log("phone"))
    argv = [K.phone_bin, "--state", copy, "run", "--approve", "always"]
    p = K.spawn("copy", argv)
    said = "this phone's state is live somewhere else"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                K.log("phone")[start:].count(said) < 2:
            time.sleep(0.05)
        log = K.log("phone")[start:]
        check(said in log, "the first run did not say it", log)
        check("A copy is not a second phone: pair the other device as a "
              "phone of its own (sk-phone-authenticator --state NEW "
              "pair), and stop the copy" in log, "what to do", log)
        check("another device listens on its mailbox (a copied state "
              "folder?)" in log, "what happened", log)
        check(K.phone.poll() is None, "the first run stopped")
        check(p.poll() is None, "the copy stopped", K.log("copy"))
        # Taken over again and again: each wait at least the one before
        # (the backoff doubles, jittered between half and all of it).
        check(log.count(said) >= 2, "taken over only once", log)
        waits = [int(x.split(" ms")[0]) for x in
                 log.split("reconnecting in ")[1:]]
        check(len(waits) >= 2 and waits[1] >= waits[0],
              "the waits do not grow: %s" % waits, log)
    finally:
        K.stop(p)
    log = K.log("phone")
    n = log.count("listening on")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and K.log("phone").count(
            "listening on") <= n:
        time.sleep(0.1)
    ok, err, _ = K.login(K.path("key"), env=K.env(
        SK_PHONE_OFFLINE_TIMEOUT=40))
    check(ok, "login once the copy stopped", err)


def main():
    global K
    K = Kit(sys.argv[1], "state")
    K.phone = None
    try:
        K.start_relay()
        K.start_sshd()
        K.pair()
        K.start_phone()
        rc, out, err, _ = K.keygen("key")
        if rc != 0:
            raise RuntimeError("ssh-keygen: " + out + err)
        K.authorize(K.path("key.pub"))
    except Exception as e:  # noqa: BLE001
        print("1..0 # setup failed")
        print("Bail out! %s" % str(e).replace("\n", " | "))
        for n in ("relay", "sshd", "phone"):
            sys.stderr.write("-- %s --\n%s\n" % (n, K.log(n)[-2000:]))
        K.close()
        return 1
    rc = tap.run(sys.argv[2:])
    if rc != 0:
        for f in sorted(os.listdir(K.tmp)):
            if f.endswith(".log"):
                sys.stderr.write("-- %s --\n%s\n" %
                                 (f, K.log(f[:-4])[-1500:]))
    K.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
