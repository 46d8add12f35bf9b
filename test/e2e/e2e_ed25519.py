# End-to-end: ed25519-sk keys with the real OpenSSH tools (issue 13).
"""usage: e2e_ed25519.py BUILD_DIR [CASE ...]

ssh-keygen -t ed25519-sk through libsk-phone.so and the reference phone:
plain, resident and verify-required keys, a login to a throwaway sshd,
SSHSIG, ssh-keygen -K, ssh-agent, and answers tampered with by a test
phone inside a genuine Noise message (only the provider's libfido2 checks
can refuse them). One world (relay, paired phone, sshd) on 127.0.0.1.
"""

import os
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, prompts  # noqa: E402
from skpe2e import SSH_KEYGEN, SSH_AGENT, SSH_ADD  # noqa: E402

PIN = "4321"
ED_TYPE = "sk-ssh-ed25519@openssh.com"

tap = Tap()
K = None


def keygen(name, *opts, env=None, input=None):
    """ssh-keygen -t ed25519-sk with the provider: (rc, out, err)."""
    argv = [SSH_KEYGEN, "-q", "-t", "ed25519-sk", "-w", K.provider, "-N",
            "", "-f", K.path(name)]
    for o in opts:
        argv += ["-O", o]
    rc, out, err, _ = K.run(argv, env=env, input=input)
    return rc, out, err


def enroll(name, *opts, env=None):
    rc, out, err = keygen(name, *opts, env=env)
    check(rc == 0, "ssh-keygen -t ed25519-sk %s" % " ".join(opts),
          out + err + K.log("phone")[-1500:])
    with open(K.path(name + ".pub")) as f:
        pub = f.read().split()
    check(pub[0] == ED_TYPE, "not an ed25519-sk public key", " ".join(pub))
    return K.path(name)


def fingerprint(pubfile):
    rc, out, err, _ = K.run([SSH_KEYGEN, "-l", "-E", "sha256", "-f",
                             pubfile])
    check(rc == 0, "ssh-keygen -l", out + err)
    return out.split()[1]


def login_ok(key, env=None, agent=None, what="login"):
    ok, err, _ = K.login(key, env=env, agent=agent)
    check(ok, "%s failed" % what, err + "\n-- sshd log --\n" +
          K.log("sshd")[-1500:])
    return err


def audit():
    rc, out, err, _ = K.run(K.phone_argv("log"))
    check(rc == 0, "sk-phone-authenticator log", out + err)
    return out


@tap.case
def getinfo_lists_both_algorithms():
    """sk-phone status asks each phone getInfo; the answer's key 10."""
    rc, out, err, _ = K.run([K.cli, "status"])
    check(rc == 0, "sk-phone status", out + err)
    check("ecdsa-sk, ed25519-sk" in out, "key types not listed", out)


@tap.case
def enroll_plain_and_login():
    key = enroll("plain")
    K.authorize(key + ".pub")
    login_ok(key)
    # The phone's audit names the key by the fingerprint ssh-keygen shows
    # for the ed25519-sk blob, at the enrolment and at the login.
    fp = fingerprint(key + ".pub")
    log = audit()
    check(log.count(fp) >= 2, "the audit log lacks the key " + fp, log)
    check("login" in log and "enroll" in log, "no enroll or login", log)


@tap.case
def sign_and_verify_file():
    key = K.path("plain")
    msg = K.path("message.txt")
    with open(msg, "w") as f:
        f.write("sk-phone ed25519-sk\n")
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "sign", "-f", key, "-n",
                             "git", msg], env=K.env(SSH_SK_PROVIDER=K.provider))
    check(rc == 0, "ssh-keygen -Y sign", out + err)
    with open(key + ".pub") as f:
        pub = f.read().split()
    signers = K.path("allowed_signers")
    with open(signers, "w") as f:
        f.write("ed@example %s %s\n" % (pub[0], pub[1]))
    with open(msg, "rb") as f:
        data = f.read()
    verify = [SSH_KEYGEN, "-Y", "verify", "-f", signers, "-I",
              "ed@example", "-n", "git", "-s", msg + ".sig"]
    rc, out, err, _ = K.run(verify, input=data)
    check(rc == 0 and "Good" in out + err, "-Y verify", out + err)
    rc, out, err, _ = K.run(verify, input=data + b"x")
    check(rc != 0, "a changed file verified", out + err)


@tap.case
def resident_enroll_download_and_login():
    key = enroll("resident", "resident", "user=edna")
    K.authorize(key + ".pub")
    login_ok(key)
    dl = K.path("download")
    os.mkdir(dl, 0o700)
    ap, calls = K.askpass(PIN, "askpass-k")
    rc, out, err, _ = K.run([SSH_KEYGEN, "-K", "-N", "", "-w",
                             K.provider], env=K.env(**ap), cwd=dl)
    check(rc == 0, "ssh-keygen -K", out + err)
    got = sorted(os.listdir(dl))
    check("id_ed25519_sk_rk_edna" in got, "no edna key", str(got))
    with open(os.path.join(dl, "id_ed25519_sk_rk_edna.pub")) as f:
        down = f.read().split()
    with open(key + ".pub") as f:
        made = f.read().split()
    check(down[:2] == made[:2], "the downloaded key is another",
          " ".join(down) + " / " + " ".join(made))
    login_ok(os.path.join(dl, "id_ed25519_sk_rk_edna"),
             what="login with the downloaded key")
    # sk-phone keys names it by the fingerprint ssh-keygen shows; the
    # phone's own list says its type.
    fp = fingerprint(key + ".pub")
    rc, out, err, _ = K.run([K.cli, "keys"], input=(PIN + "\n").encode())
    check(rc == 0 and "user 'edna' %s" % fp in out, "sk-phone keys",
          out + err)
    rc, out, err, _ = K.run(K.phone_argv("keys"))
    line = [x for x in out.splitlines() if 'user="edna"' in x]
    check(rc == 0 and len(line) == 1 and fp in line[0] and
          line[0].endswith("type=ed25519-sk"), "phone keys", out + err)


@tap.case
def verify_required_with_pin():
    bad, bad_calls = K.askpass("9999", "askpass-bad")
    rc, out, err = keygen("uv-bad", "verify-required", env=K.env(**bad))
    check(rc != 0 and "wrong PIN" in err, "a wrong PIN made a key",
          out + err)
    good, calls = K.askpass(PIN, "askpass-good")
    key = enroll("uv", "verify-required", env=K.env(**good))
    check("PIN" in prompts(calls), "no PIN prompt at enroll")
    K.authorize(key + ".pub", "verify-required")
    n = prompts(calls).count("\n")
    login_ok(key, env=K.env(**good))
    check(prompts(calls).count("\n") > n, "no PIN prompt at login")
    # The server insists on UV: a login without the PIN cannot happen.
    ok, err, _ = K.login(key)
    check(not ok, "a verify-required key logged in without its PIN", err)


@tap.case
def agent_login():
    sock = K.path("agent.sock")
    agent_bin = SSH_AGENT
    if K.asan:
        # Debian's ssh-agent is setgid: the loader would drop LD_PRELOAD.
        agent_bin = K.path("ssh-agent")
        shutil.copy(SSH_AGENT, agent_bin)
    agent = K.spawn("agent", [agent_bin, "-D", "-a", sock, "-P",
                              os.path.dirname(K.provider) + "/*"])
    # Listening once a connection is taken (the socket file comes
    # before listen()).
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as c:
                c.connect(sock)
            break
        except OSError:
            check(time.monotonic() < deadline and agent.poll() is None,
                  "no agent socket", K.log("agent"))
            time.sleep(0.02)
    env = K.env(SSH_AUTH_SOCK=sock)
    rc, out, err, _ = K.run([SSH_ADD, "-S", K.provider, K.path("plain")],
                            env=env)
    check(rc == 0, "ssh-add -S", out + err)
    rc, out, err, _ = K.run([SSH_ADD, "-l"], env=env)
    check(rc == 0 and "ED25519-SK" in out, "ssh-add -l", out + err)
    rc, out, err, _ = K.run(K.ssh_argv(agent=sock) + ["echo skp-login-ok"])
    check(rc == 0 and "skp-login-ok" in out, "login through the agent",
          err + K.log("agent")[-1000:])
    K.stop(agent)


def testphone(mode, fn):
    """Run fn with the test phone (SKP_TESTPHONE_FLIP=mode) answering in
    the real phone's place (stopped by the caller)."""
    exe = os.path.join(K.build, "test", "e2e", "testphone")
    name = "testphone-" + mode
    p = K.spawn(name, [exe, "--state", K.phone_dir, "--relay",
                       K.relay_url, "--seconds", "60"],
                env=K.env(SKP_TESTPHONE_FLIP=mode))
    try:
        deadline = time.monotonic() + skpe2e.START_TIMEOUT
        while "listening" not in K.log(name):
            check(time.monotonic() < deadline and p.poll() is None,
                  "the test phone did not start", K.log(name))
            time.sleep(0.02)
        fn()
        check("answered command" in K.log(name),
              "the test phone did not answer", K.log(name))
    finally:
        K.stop(p)


def refused(what, rc, err):
    check(rc != 0, "%s was accepted" % what, err)
    check("did not verify" in err, "no refusal line for %s" % what, err)


@tap.case
def provider_in_process():
    """The provider dlopen()ed: 32-byte key, key handle version 2, a
    64-byte signature in sig_r that verifies over OpenSSH's data."""
    exe = os.path.join(K.build, "test", "e2e", "test_provider")
    rc, out, err, _ = K.run([exe, "online_enroll_sign_ed25519"],
                            env=K.env(preload=False,
                                      SKP_TEST_PROVIDER=K.provider))
    check(rc == 0, "online_enroll_sign_ed25519", out + err)


@tap.case
def tampered_answers_refused():
    """A test phone changes its signed answers inside a genuine Noise
    message 2: a flipped signature bit, a flipped authData byte, a
    signature by another key, the attStmt naming ES256 (-7) for an
    Ed25519 key, another public key in authData. Each is refused."""
    key = K.path("plain")

    def control():
        # The same answers untouched pass: a refusal below is the
        # tampering's doing.
        login_ok(key, what="login via the test phone")
        rc, out, err = keygen("untampered")
        check(rc == 0, "an untampered key was refused", out + err)

    K.stop_phone()
    try:
        testphone("none", control)
        for mode in ("sig", "authdata", "otherkey", "alg", "pubkey"):
            def tampered(mode=mode):
                if mode not in ("alg", "pubkey"):
                    ok, err, _ = K.login(key)
                    refused("a login signed (%s)" % mode, 0 if ok else 1,
                            err)
                rc, out, err = keygen("tampered-" + mode)
                refused("a new key (%s)" % mode, rc, err)
                check(not os.path.exists(K.path("tampered-%s.pub" % mode)),
                      "a key file was written (%s)" % mode)
            testphone(mode, tampered)

        def no_ed25519():
            rc, out, err = keygen("refused-alg")
            check(rc != 0 and "phone 'phone1' cannot make this type of "
                  "key: this phone cannot make Ed25519 keys" in err,
                  "a phone without Ed25519", out + err)
            check(not os.path.exists(K.path("refused-alg.pub")),
                  "a key file was written")
        testphone("noed25519", no_ed25519)
    finally:
        K.start_phone(pin=PIN)
    login_ok(key, what="login with the real phone again")


def main():
    global K
    K = Kit(sys.argv[1], "ed25519")
    try:
        K.start_relay()
        K.start_sshd()
        K.pair()
        K.start_phone(pin=PIN)
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    return K.finish(tap.run(sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
