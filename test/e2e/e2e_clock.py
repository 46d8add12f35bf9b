# End-to-end: a phone whose clock is off (issue 13, clock skew).
"""usage: e2e_clock.py BUILD_DIR CLOCKSHIFT_SO [CASE ...]

The real relay, the reference phone, ssh, ssh-keygen and a throwaway sshd
on 127.0.0.1. The phone runs with clockshift.c preloaded, its clock 5
minutes ahead or behind: its stale refusal (0xF0) carries its clock
(response key 6), the provider sends the request once more in the
phone's time and tells the user by how much the clocks differ
(docs/PROTOCOL.md §8.2); through ssh-agent too (the line then goes to
the agent's standard error). A phone without key 6 is reported as before;
a phone that refuses every request as stale gets exactly one retry.
"""

import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, SSH_KEYGEN, SSH_AGENT, SSH_ADD  # noqa

K = None
CLOCKSHIFT = None
clock = Tap()

LINE = ("sk-phone: this computer's clock and phone 'phone1' differ by "
        "%d s (the phone is %s); the request was sent again in the "
        "phone's time. Set the clocks right (NTP) to save a round trip.")


def phone(shift, stale=None):
    """The reference phone again, its clock shift seconds off."""
    K.stop_phone()
    K.start_phone(env=K.shim_env(CLOCKSHIFT, SKP_TEST_CLOCK_SHIFT=shift,
                                 SKP_TEST_STALE=stale),
                  name="phone-%+d-%s-%d" % (shift, stale or "",
                                            int(time.monotonic() * 1000)))


def audit():
    with open(os.path.join(K.phone_dir, "audit.log")) as f:
        return f.read().splitlines()


def stale_lines(since):
    return [x for x in audit()[since:] if "decision=refused-stale" in x]


def sign(ns="file"):
    """ssh-keygen -Y sign with the phone's key, then -Y verify."""
    msg = K.path("message.txt")
    with open(msg, "w") as f:
        f.write("clocks apart\n")
    if os.path.exists(msg + ".sig"):
        os.unlink(msg + ".sig")
    rc, out, err, dt = K.run([SSH_KEYGEN, "-Y", "sign", "-f",
                              K.path("key"), "-n", ns, msg],
                             env=K.env(SSH_SK_PROVIDER=K.provider))
    if rc != 0:
        return False, err, dt
    with open(K.path("key.pub")) as f:
        pub = f.read().split()
    signers = K.path("allowed_signers")
    with open(signers, "w") as f:
        f.write("clock@example %s %s\n" % (pub[0], pub[1]))
    with open(msg, "rb") as f:
        data = f.read()
    rc, out, err2, _ = K.run([SSH_KEYGEN, "-Y", "verify", "-f", signers,
                              "-I", "clock@example", "-n", ns, "-s",
                              msg + ".sig"], input=data)
    check(rc == 0 and "Good" in out + err2, "verify", out + err2)
    return True, err, dt


def skewed(shift, word):
    """A login and a signature with the phone shift s off: both pass,
    each after one stale refusal, and the user is told."""
    phone(shift)
    n = len(audit())
    ok, err, dt = K.login(K.path("key"))
    check(ok, "login with the phone %+d s off" % shift, err)
    check(LINE % (abs(shift), word) in err, "the clock line", err)
    check(err.count("differ by") == 1, "said more than once", err)
    check("stale" not in err, "a stale error after the retry", err)
    check(len(stale_lines(n)) == 1, "stale refusals on the phone",
          "\n".join(audit()[n:]))
    check(any(" op=login " in x and "decision=allow" in x
              for x in audit()[n:]), "no login signed",
          "\n".join(audit()[n:]))
    n = len(audit())
    ok, err, _ = sign()
    check(ok, "ssh-keygen -Y sign with the phone %+d s off" % shift, err)
    check(LINE % (abs(shift), word) in err, "the clock line", err)
    check(len(stale_lines(n)) == 1, "stale refusals on the phone",
          "\n".join(audit()[n:]))
    check(dt < 15, "took %.1f s" % dt)


@clock.case
def phone_ahead_login_and_sign():
    skewed(300, "ahead")


@clock.case
def phone_behind_login_and_sign():
    skewed(-300, "behind")


@clock.case
def agent_login_phone_ahead():
    """Through ssh-agent (ssh-add -S): the agent's ssh-sk-helper retries
    the same way; its line goes where the agent's standard error goes."""
    sock = K.path("agent.sock")
    agent_bin = SSH_AGENT
    if K.asan:
        # Debian's ssh-agent is setgid: the loader would drop LD_PRELOAD
        # (as in e2e.py's agent_login).
        agent_bin = K.path("ssh-agent")
        shutil.copy(SSH_AGENT, agent_bin)
    agent = K.spawn("agent", [agent_bin, "-D", "-a", sock, "-P",
                              os.path.dirname(K.provider) + "/*"])
    try:
        end = time.monotonic() + skpe2e.START_TIMEOUT
        while not os.path.exists(sock) and time.monotonic() < end:
            time.sleep(0.02)
        env = K.env(SSH_AUTH_SOCK=sock)
        rc, out, err, _ = K.run([SSH_ADD, "-S", K.provider, K.path("key")],
                                env=env)
        check(rc == 0, "ssh-add -S", out + err)
        phone(300)
        n = len(audit())
        argv = K.ssh_argv(agent=sock) + ["echo skp-login-ok"]
        rc, out, err, _ = K.run(argv)
        check(rc == 0 and "skp-login-ok" in out, "login through the agent",
              err + K.log("agent")[-1000:])
        check(LINE % (300, "ahead") in K.log("agent"), "the clock line",
              K.log("agent")[-1000:])
        check(len(stale_lines(n)) == 1, "stale refusals on the phone",
              "\n".join(audit()[n:]))
    finally:
        K.stop(agent)


@clock.case
def old_phone_is_reported_as_before():
    """0xF0 without key 6: no retry, the phone's reason, no clock line."""
    phone(300, stale="no-time")
    n = len(audit())
    ok, err, _ = K.login(K.path("key"))
    check(not ok, "logged in through a phone 300 s ahead without key 6")
    check(re.search(r"phone 'phone1' refused the request as stale: the "
                    r"request's time is 30\d s behind the phone's clock",
                    err), "the stale line", err)
    check("differ by" not in err, "a clock line without a retry", err)
    check(len(stale_lines(n)) == 1, "retried without key 6",
          "\n".join(audit()[n:]))
    # sk-phone status (the computer's clock off this time): the same.
    phone(0, stale="no-time")
    rc, out, err, _ = K.run([K.cli, "status", "--timeout", "5"],
                            env=K.shim_env(CLOCKSHIFT,
                                           SKP_TEST_CLOCK_SHIFT=-600))
    check(rc != 0 and re.search(r"phone: refused the request as stale: "
                                r"the request's time is 600 s behind",
                                out), "status", out + err)
    check("differ by" not in err, "a clock line without a retry", err)


@clock.case
def retried_only_once():
    """A phone that refuses every request as stale, with its clock: one
    retry, then the stale error; never a loop."""
    phone(0, stale="always")
    n = len(audit())
    ok, err, dt = K.login(K.path("key"))
    check(not ok, "logged in through a phone that refuses all")
    check(LINE % (0, "ahead") in err or LINE % (0, "behind") in err,
          "the clock line", err)
    check("phone 'phone1' refused the request as stale" in err,
          "the stale error after the retry", err)
    check(len(stale_lines(n)) == 2, "not exactly one retry",
          "\n".join(audit()[n:]))
    check(dt < 15, "took %.1f s" % dt)


def main():
    global K, CLOCKSHIFT
    build, CLOCKSHIFT = sys.argv[1], os.path.abspath(sys.argv[2])
    K = Kit(build, "clock")
    try:
        K.key_world()
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = clock.run(sys.argv[3:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
