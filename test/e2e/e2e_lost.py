# End-to-end: backup keys and a lost phone (issue 17), with the real tools.
"""usage: e2e_lost.py BUILD_DIR [CASE ...]

Two reference phones, alpha and beta, paired with one computer through
the real relay; keys made on both with the real ssh-keygen, in ~/.ssh
(one of beta's under a passphrase) and a resident one on alpha kept
elsewhere; a throwaway sshd on 127.0.0.1.

  sk-phone keys --authorized-keys ... one line per key of both phones,
                                      which log in (authorized_keys_*)
  a phone offline ................... a line on stderr, exit 1, the rest
                                      listed (offline_phone_*)
  sk-phone lost beta --krl FILE ..... its key lines, honest about what
                                      is not known, unpaired, a KRL made
                                      by ssh-keygen -k added to an
                                      existing one (lost_*)
  sshd with RevokedKeys = the KRL ... refuses beta's key even from a
                                      computer still paired with beta;
                                      alpha's key logs in (krl_*)
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import SSH_KEYGEN, Kit, Tap, check  # noqa: E402

PIN = "4321"
K = None
T = Tap()
W = {}


def blob(pubfile):
    with open(pubfile) as f:
        return f.read().split()[1]


def enroll(path, *opts, passphrase=""):
    argv = [SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w", K.provider, "-N",
            passphrase, "-f", path]
    for o in opts:
        argv += ["-O", o]
    rc, out, err, _ = K.run(argv)
    check(rc == 0, "ssh-keygen %s" % " ".join(opts), out + err)
    return path


def start_phone(name):
    K.phone_dir = W["dir_" + name]
    return K.start_phone(pin=PIN, name="phone-%s-%d" % (name, len(K.procs)))


def authorized_keys(env=None):
    return K.run([K.cli, "keys", "--authorized-keys"], env=env,
                 input=(PIN + "\n" + PIN + "\n").encode())


def login(key, env=None):
    return K.login(key, env=env)


def setup():
    K.start_relay()
    K.start_sshd()
    for name in ("alpha", "beta"):
        K.pair(phone_name=name)
        W["dir_" + name] = K.phone_dir
        W["phone_" + name] = start_phone(name)
    ssh = os.path.join(K.home, ".ssh")
    os.mkdir(ssh, 0o700)
    W["alpha"] = enroll(os.path.join(ssh, "id_alpha"), "device=alpha")
    W["beta"] = enroll(os.path.join(ssh, "id_beta"), "device=beta")
    W["beta_pw"] = enroll(os.path.join(ssh, "id_beta_pw"), "device=beta",
                          passphrase="correct horse")
    # Resident, its file outside ~/.ssh: only the phone can tell of it.
    W["alpha_rk"] = enroll(K.path("alpha_rk"), "device=alpha", "resident",
                           "user=alice")
    # Something else in ~/.ssh: a plain key and a config file.
    rc, _, err, _ = K.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "",
                           "-f", os.path.join(ssh, "id_ed25519")])
    check(rc == 0, "plain key", err)
    with open(os.path.join(ssh, "config"), "w") as f:
        f.write("Host *\n")


@T.case
def authorized_keys_one_line_per_key():
    rc, out, err, _ = authorized_keys()
    check(rc == 0, "sk-phone keys --authorized-keys", out + err)
    lines = [x for x in out.splitlines() if x]
    for k in ("alpha", "beta", "alpha_rk"):
        n = sum(1 for x in lines if x.split()[1] == blob(W[k] + ".pub"))
        check(n == 1, "%s's key %d times" % (k, n), out)
    check(len(lines) == 3, "3 lines", out)
    check(blob(W["beta_pw"] + ".pub") not in out and "id_ed25519" not in
          out, "a key of no known phone listed", out)
    check("id_beta_pw is under a passphrase" in err, "the sealed file "
          "is not named", err)
    check(any("sk-phone:alpha resident ssh: user=alice" in x
              for x in lines), "the resident line's comment", out)
    path = K.path("ak")
    with open(path, "w") as f:
        f.write(out)
    rc, fp, err, _ = K.run([SSH_KEYGEN, "-l", "-f", path])
    check(rc == 0 and len(fp.splitlines()) == 3, "ssh-keygen -l", fp + err)
    W["ak"] = out


@T.case
def authorized_keys_log_in():
    shutil.copy(K.path("ak"), K.authorized_keys)
    for k in ("alpha", "beta", "alpha_rk"):
        ok, err, _ = login(W[k])
        check(ok, "login with %s's key" % k, err + K.log("sshd")[-1500:])


@T.case
def offline_phone_named_exit_1():
    K.stop(W["phone_beta"])
    rc, out, err, dt = authorized_keys(
        env=K.env(SK_PHONE_OFFLINE_TIMEOUT=1))
    check(rc == 1, "exit %d with a phone offline" % rc, out + err)
    check("phone 'beta' could not be asked" in err, "stderr says", err)
    for k in ("alpha", "alpha_rk", "beta"):
        check(blob(W[k] + ".pub") in out, "%s missing" % k, out)
    check(dt < 20, "took %.1f s" % dt)
    W["phone_beta"] = start_phone("beta")


@T.case
def lost_beta_prints_its_keys_and_unpairs():
    # A second computer still paired with beta, as a thief's copy is.
    W["other"] = K.path("other-computer")
    shutil.copytree(K.state, W["other"])
    # An existing KRL: ssh-keygen -k -u adds to it.
    rc, _, err, _ = K.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "",
                           "-f", K.path("old")])
    check(rc == 0, "old key", err)
    # A KRL that cannot be made: the phone stays paired, to try again.
    bad = K.path("not-a-krl")
    with open(bad, "w") as f:
        f.write("hello\n")
    rc, out, err, _ = K.run([K.cli, "lost", "beta", "--krl", bad])
    check(rc == 1 and "ssh-keygen -k could not add to %s" % bad in err and
          "phone 'beta' is still paired" in err, "a bad KRL", out + err)
    check(open(bad).read() == "hello\n", "the bad KRL file changed")
    krl = K.path("revoked.krl")
    rc, _, err, _ = K.run([SSH_KEYGEN, "-k", "-f", krl, K.path("old.pub")])
    check(rc == 0, "first KRL", err)
    rc, out, err, _ = K.run([K.cli, "lost", "beta", "--krl", krl])
    check(rc == 0, "sk-phone lost", out + err)
    keys = [x for x in out.splitlines() if x and not x.startswith("#")]
    check(len(keys) == 1 and keys[0].split()[1] == blob(W["beta"] + ".pub"),
          "beta's key line", out)
    check(blob(W["alpha"] + ".pub") not in out, "alpha's key listed", out)
    check("Not known here" in out and "from other computers" in out,
          "not honest about what it cannot know", out)
    check("#   " + open(W["beta_pw"] + ".pub").read().split()[0] in out
          and "id_beta_pw" in out, "the sealed file not in Perhaps", out)
    check("Added to the KRL %s: 1 key of phone 'beta'" % krl in out,
          "KRL line", out)
    check("Unpaired phone 'beta'" in out, "unpaired", out)
    for k, revoked in (("beta", True), ("alpha", False),
                       ("alpha_rk", False)):
        rc, q, err, _ = K.run([SSH_KEYGEN, "-Q", "-f", krl,
                               W[k] + ".pub"])
        check(("REVOKED" in q) == revoked, "ssh-keygen -Q %s" % k, q + err)
    rc, q, err, _ = K.run([SSH_KEYGEN, "-Q", "-f", krl, K.path("old.pub")])
    check("REVOKED" in q, "the KRL lost its old key", q + err)
    rc, out, err, _ = K.run([K.cli, "status", "--timeout", "5"])
    check("'beta'" not in out and "'alpha'" in out, "still paired", out)


@T.case
def lost_unknown_phone_refused():
    rc, out, err, _ = K.run([K.cli, "lost", "beta", "--krl",
                             K.path("x.krl")])
    check(rc == 1 and "no paired phone named 'beta'" in err and
          "alpha" in err, "lost twice", out + err)
    check(not os.path.exists(K.path("x.krl")), "a KRL was written")
    rc, out, err, _ = K.run([K.cli, "lost"])
    check(rc == 2 and "usage: sk-phone lost NAME" in err, "usage", err)


@T.case
def krl_sshd_refuses_beta_alpha_logs_in():
    other = K.env(SK_PHONE_DIR=W["other"])
    # Without the KRL, the computer still paired with beta logs in...
    ok, err, _ = login(W["beta"], env=other)
    check(ok, "beta's key from the other computer", err)
    # ...and with it, sshd refuses the key before any signature.
    K.stop(K.sshd)
    with open(K.sshd_config, "a") as f:
        f.write("RevokedKeys %s\n" % K.path("revoked.krl"))
    K.sshd = K.spawn("sshd", [skpe2e.SSHD, "-D", "-f", K.sshd_config,
                              "-E", K.path("sshd.log")],
                     env=K.env(preload=False))
    skpe2e.wait_port(K.sshd_port, K.sshd)
    ok, err, _ = login(W["beta"], env=other)
    check(not ok, "beta's revoked key logged in", err)
    check("revoked" in K.log("sshd"), "sshd does not say revoked",
          K.log("sshd")[-1500:])
    for k in ("alpha", "alpha_rk"):
        ok, err, _ = login(W[k])
        check(ok, "login with %s's key" % k, err + K.log("sshd")[-1500:])


def main():
    global K
    K = Kit(sys.argv[1], "lost")
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e, logs=("relay", "sshd"))
    return K.finish(T.run(sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
