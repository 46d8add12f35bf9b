# End-to-end: host verification with sk-phone proxy, a real sshd and git.
"""usage: e2e_host.py BUILD_DIR [CASE ...]

ssh logs in through `sk-phone proxy` (its ProxyCommand) with a key on the
reference phone; the phone checks the server's signature over the session
id and pins the host key. Cases, in order (each builds on the last):
first use pins, a replaced host key is refused by the phone, `hosts
forget` lets it be pinned again; every key exchange and host key type;
a jump host; git commit signing; per-host windows, the computer's window
and unverified logins on the phone's terminal; the fuzz seeds.

With SKP_WRITE_SEEDS=DIR, the data the phone was asked to sign (real
userauth requests with their host information, real SSHSIG data) is also
written to DIR as fuzz_sshmsg seeds.
"""

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, SSH, SSHD, SSH_KEYGEN  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ptyprog import PtyProgram, sanitizer_report  # noqa: E402

KEXES = ["curve25519-sha256", "ecdh-sha2-nistp256",
         "diffie-hellman-group14-sha256",
         "diffie-hellman-group-exchange-sha256",
         "sntrup761x25519-sha512@openssh.com"]
HOSTKEY_ALGS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"]
KEY_TYPES = {"ssh-ed25519": "ssh-ed25519",
             "ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
             "rsa-sha2-256": "ssh-rsa", "rsa-sha2-512": "ssh-rsa"}
WAIT = 30.0

tap = Tap()
K = None

def clean(text, who):
    """Under ASan/UBSan any report fails the case."""
    report = sanitizer_report(text)
    check(report is None, "%s: sanitizer report" % who, report or "")


def logs_clean(kit):
    """Every log of kit's world (phones, relay, proxy runs, agent): no
    sanitizer report."""
    for f in sorted(os.listdir(kit.tmp)):
        if f.endswith(".log"):
            clean(kit.log(f[:-4]), f)


# -- the world -------------------------------------------------------------

def make_host_keys(kit):
    """Fresh ed25519, ecdsa and rsa host keys for the throwaway sshd."""
    d = kit.path("sshd")
    os.makedirs(d, mode=0o700, exist_ok=True)
    keys = []
    for t in ("ed25519", "ecdsa", "rsa"):
        f = os.path.join(d, "host_" + t)
        for old in (f, f + ".pub"):
            if os.path.exists(old):
                os.unlink(old)
        argv = [SSH_KEYGEN, "-q", "-t", t, "-N", "", "-f", f]
        if t == "rsa":
            argv += ["-b", "2048"]
        rc, _, err, _ = kit.run(argv, env=kit.env(preload=False))
        check(rc == 0, "host key " + t, err)
        keys.append(f)
    return keys


def start_sshd(kit, port=None):
    """sshd on 127.0.0.1 with three host keys; the same port when given."""
    d = kit.path("sshd")
    keys = make_host_keys(kit)
    if port is None:
        kit.authorized_keys = os.path.join(d, "authorized_keys")
        open(kit.authorized_keys, "a").close()
        os.chmod(kit.authorized_keys, 0o600)
        port = skpe2e.free_port()
    kit.sshd_port = port
    kit.sshd_config = os.path.join(d, "sshd_config")
    with open(kit.sshd_config, "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\n" % port)
        for k in keys:
            f.write("HostKey %s\n" % k)
        f.write("PidFile %s\n" % os.path.join(d, "sshd.pid"))
        f.write("AuthorizedKeysFile %s\n" % kit.authorized_keys)
        f.write("PasswordAuthentication no\n")
        f.write("KbdInteractiveAuthentication no\n")
        f.write("PubkeyAuthentication yes\n")
        f.write("PermitRootLogin prohibit-password\n")
        f.write("AllowTcpForwarding yes\n")
        f.write("UsePAM no\nStrictModes no\nLogLevel VERBOSE\n")
    rc, _, err, _ = kit.run([SSHD, "-t", "-f", kit.sshd_config],
                            env=kit.env(preload=False))
    check(rc == 0, "sshd -t", err)
    kit.sshd = kit.spawn("sshd", [SSHD, "-D", "-f", kit.sshd_config, "-E",
                                  kit.path("sshd.log")],
                         env=kit.env(preload=False))
    skpe2e.wait_port(port, kit.sshd)
    kit.user = skpe2e.pwd_name()


def start_phone(kit, approve="always", name=None, env=None):
    argv = kit.phone_argv("run", "--approve", approve)
    name = name or "phone-%s-%d" % (approve, int(time.monotonic() * 1000))
    p = kit.spawn(name, argv, env=env)
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while time.monotonic() < deadline:
        if "listening" in kit.log(name):
            kit.phone = p
            return p
        check(p.poll() is None, "phone exited", kit.log(name))
        time.sleep(0.02)
    raise RuntimeError("phone did not start:\n" + kit.log(name))


def env(kit, **extra):
    """Every tool's environment: the proxy's records in the test's own
    runtime folder, so nothing outside it is read or written."""
    return kit.env(XDG_RUNTIME_DIR=kit.runtime, **extra)


def ssh_argv(kit, host="127.0.0.1", proxy=True, known_hosts=None,
             kex=None, hostkey_alg=None, jump=None, verbose=False):
    argv = [SSH, "-p", str(kit.sshd_port), "-F", "/dev/null",
            "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + (known_hosts or kit.known_hosts),
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "ConnectTimeout=10",
            "-o", "PasswordAuthentication=no",
            "-o", "IdentityAgent=none", "-o", "IdentitiesOnly=yes",
            "-o", "SecurityKeyProvider=" + kit.provider,
            "-i", kit.key]
    if proxy:
        cmd = kit.cli + " proxy "
        if jump is not None:
            cmd += "-J '%s' " % jump
        argv += ["-o", "ProxyCommand=" + cmd + "%h %p"]
    if kex is not None:
        argv += ["-o", "KexAlgorithms=" + kex]
    if hostkey_alg is not None:
        argv += ["-o", "HostKeyAlgorithms=" + hostkey_alg]
    if verbose:
        argv.append("-v")
    return argv + ["%s@%s" % (kit.user, host), "echo skp-login-ok"]


def login(kit, **kw):
    """ssh through the proxy (unless proxy=False): (ok, stderr)."""
    rc, out, err, _ = kit.run(ssh_argv(kit, **kw), env=env(kit))
    clean(err, "ssh")
    return rc == 0 and "skp-login-ok" in out, err


def login_bg(kit, **kw):
    return subprocess.Popen(ssh_argv(kit, **kw), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env(kit), start_new_session=True)


def finish(p):
    try:
        out, err = p.communicate(timeout=WAIT * 2)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    err = err.decode("utf-8", "replace")
    clean(err, "ssh")
    return p.returncode == 0 and b"skp-login-ok" in out, err


def audit(kit):
    with open(os.path.join(kit.phone_dir, "audit.log")) as f:
        return f.read().splitlines()


def last_login(kit):
    lines = [x for x in audit(kit) if " op=login " in x]
    check(lines, "no login in the audit log")
    return lines[-1]


def pin(kit, host=None):
    return "[%s]:%d" % (host or "127.0.0.1", kit.sshd_port)


def phone_cmd(kit, *args):
    rc, out, err, _ = kit.run(kit.phone_argv(*args))
    return rc, out + err


def fingerprint(pubfile):
    rc, out, _, _ = K.run([SSH_KEYGEN, "-l", "-f", pubfile],
                          env=K.env(preload=False))
    check(rc == 0, "ssh-keygen -l " + pubfile)
    return out.split()[1]


def known_hosts(alg):
    """One known_hosts per key type: ssh would take another type of key
    for a known host as a changed key."""
    t = KEY_TYPES[alg]
    return K.known_hosts if t == "ssh-ed25519" else K.path("known_hosts." +
                                                           t)


def state_payload(path):
    """A state file: "SKPS", version, length, payload, SHA-256."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack(">I", data[6:10])[0]
    check(data[:4] == b"SKPS" and len(data) == 10 + n + 32 and
          hashlib.sha256(data[:10 + n]).digest() == data[10 + n:],
          "state file " + path)
    return data[10:10 + n]


def cbor_map_bytes(b):
    """The two byte strings of a sealed file: {1: nonce, 2: sealed}."""
    check(b[0] == 0xa2 and b[1] == 0x01 and b[2] == 0x4c, "sealed form")
    nonce = b[3:15]
    check(b[15] == 0x02, "sealed form")
    head = b[16]
    check(head >> 5 == 2, "sealed form")
    ai = head & 31
    if ai < 24:
        n, off = ai, 17
    else:
        w = 1 << (ai - 24)
        n, off = int.from_bytes(b[17:17 + w], "big"), 17 + w
    check(off + n == len(b), "sealed form")
    return nonce, b[off:off + n]


def unseal(state, name):
    """A sealed state file of the phone, opened with its key file."""
    key = state_payload(os.path.join(state, "masterkey"))
    check(key[:3] == b"\xa1\x01\x58" and key[3] == 32, "masterkey")
    nonce, ct = cbor_map_bytes(state_payload(os.path.join(state, name)))
    return AESGCM(key[4:36]).decrypt(
        nonce, ct, b"sk-phone-authenticator v1 " + name.encode())


def host_pub(kind):
    return K.path("sshd", "host_%s.pub" % kind)


# -- the phone on a terminal -----------------------------------------------

def Pty(argv, environ):
    """The phone on a pseudo-terminal, as its owner would see it."""
    return PtyProgram(argv, environ, fail=lambda what: check(False, what),
                      wait=WAIT,
                      on_exit=lambda text: clean(text, "phone (terminal)"))


def ask_and_answer(t, p, answer):
    """The phone asks about the login p; answer it; (ok, err, seen)."""
    seen = t.expect("answer within")
    t.send(answer + "\n")
    ok, err = finish(p)
    return ok, err, seen


# -- cases -------------------------------------------------------------------

@tap.case
def first_login_pins_host_key():
    ok, err = login(K, hostkey_alg="ssh-ed25519")
    check(ok, "login through sk-phone proxy", err)
    line = last_login(K)
    check('host="%s" verified=new' % pin(K) in line, "not pinned", line)
    rc, out = phone_cmd(K, "hosts")
    want = "%s ssh-ed25519 %s pinned" % (pin(K), fingerprint(
        host_pub("ed25519")))
    check(rc == 0 and want in out, "hosts", out)
    ok, err = login(K, hostkey_alg="ssh-ed25519")
    check(ok and 'verified=yes' in last_login(K), "second login", err)


@tap.case
def replaced_host_key_refused_by_phone():
    old = fingerprint(host_pub("ed25519"))
    K.stop(K.sshd)
    start_sshd(K, port=K.sshd_port)
    check(fingerprint(host_pub("ed25519")) != old, "same host key")
    # A fresh known_hosts: ssh itself accepts the new key; the phone not.
    fresh = K.path("known_hosts.fresh")
    ok, err = login(K, known_hosts=fresh, hostkey_alg="ssh-ed25519")
    check(not ok, "logged in with a replaced host key")
    want = ("host key for %s changed; the phone refused to sign; if the "
            "change is expected run: sk-phone-authenticator hosts forget "
            "'%s'" % (pin(K), pin(K)))
    check(want in err, "no mismatch message", err)
    check("Permanently added" in err, "ssh refused first", err)
    line = audit(K)[-1]
    check("decision=refused-host-key-changed" in line, "audit", line)
    rc, out = phone_cmd(K, "hosts", "forget", pin(K))
    check(rc == 0, "hosts forget", out)
    ok, err = login(K, known_hosts=fresh, hostkey_alg="ssh-ed25519")
    check(ok, "login after hosts forget", err)
    check('host="%s" verified=new' % pin(K) in last_login(K), "not pinned "
          "again", last_login(K))
    rc, out = phone_cmd(K, "hosts")
    check(fingerprint(host_pub("ed25519")) in out and old not in out,
          "the new key is pinned", out)
    K.known_hosts = fresh


@tap.case
def every_kex_and_host_key():
    rc, offered, _, _ = K.run([SSH, "-Q", "kex"], env=K.env(preload=False))
    for kex in KEXES:
        check(kex in offered.split(), "ssh does not offer " + kex)
    seen = {"ssh-ed25519"}      # pinned by the cases before
    for kex in KEXES:
        for alg in HOSTKEY_ALGS:
            ok, err = login(K, kex=kex, hostkey_alg=alg, verbose=True,
                            known_hosts=known_hosts(alg))
            check(ok, "login with %s and %s" % (kex, alg), err[-3000:])
            check("kex: algorithm: " + kex in err and
                  "kex: host key algorithm: " + alg in err,
                  "ssh negotiated something else", err[-3000:])
            line = last_login(K)
            first = KEY_TYPES[alg] not in seen
            seen.add(KEY_TYPES[alg])
            want = 'host="%s" verified=%s' % (pin(K), "new" if first else
                                              "yes")
            check(want in line, "%s/%s: %s" % (kex, alg, want), line)
    rc, out = phone_cmd(K, "hosts")
    for kind in ("ed25519", "ecdsa", "rsa"):
        check(fingerprint(host_pub(kind)) in out, "no %s pin" % kind, out)
    ok, err = login(K, hostkey_alg="rsa-sha2-256",
                    known_hosts=known_hosts("rsa-sha2-256"))
    check(ok and "verified=yes" in last_login(K), "rsa-sha2-256", err)


@tap.case
def jump_host_keeps_final_host_verified():
    jumpkey = K.path("jumpkey")
    rc, _, err, _ = K.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "",
                           "-f", jumpkey], env=K.env(preload=False))
    check(rc == 0, "jump key", err)
    K.authorize(jumpkey + ".pub")
    jump = ("%s -F /dev/null -p %d -i %s -o IdentitiesOnly=yes "
            "-o IdentityAgent=none -o BatchMode=yes "
            "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new "
            "-W %%%%h:%%%%p %s@127.0.0.1" % (SSH, K.sshd_port, jumpkey,
                                             K.known_hosts, K.user))
    ok, err = login(K, host="localhost", jump=jump,
                    hostkey_alg="ssh-ed25519")
    check(ok, "login through the jump host", err)
    line = last_login(K)
    check('host="%s" verified=new' % pin(K, "localhost") in line,
          "the final host is not the verified one", line)
    check(fingerprint(jumpkey + ".pub") in K.log("sshd"),
          "the jump host was not used", K.log("sshd")[-2000:])
    K.stop_phone()


@tap.case
def git_commit_signed_by_phone():
    repo = K.path("repo")
    os.mkdir(repo)
    with open(K.key + ".pub") as f:
        pub = f.read().split()
    signers = K.path("git_allowed_signers")
    with open(signers, "w") as f:
        f.write("e2e@example.org %s %s\n" % (pub[0], pub[1]))
    genv = env(K, SSH_SK_PROVIDER=K.provider, GIT_CONFIG_NOSYSTEM=1)

    def git(*args):
        return K.run(["git", "-C", repo] + list(args), env=genv)

    for args in (["init", "-q"], ["config", "user.name", "E2E"],
                 ["config", "user.email", "e2e@example.org"],
                 ["config", "gpg.format", "ssh"],
                 ["config", "user.signingkey", K.key],
                 ["config", "gpg.ssh.allowedSignersFile", signers]):
        rc, out, err, _ = git(*args)
        check(rc == 0, "git " + " ".join(args), out + err)
    with open(os.path.join(repo, "README"), "w") as f:
        f.write("signed by a phone\n")
    git("add", "README")
    # The phone on its terminal shows what it signs.
    t = Pty(K.phone_argv("run"), env(K))
    K.pty = t
    t.expect("listening on")
    p = subprocess.Popen(["git", "-C", repo, "commit", "-q", "-S", "-m",
                          "signed"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=genv, start_new_session=True)
    seen = t.expect("answer within")
    check("sign, namespace 'git' (SSHSIG, hash sha512)" in seen, "prompt",
          seen)
    t.send("o\n")
    out, err = p.communicate(timeout=WAIT * 2)
    clean(err.decode("utf-8", "replace"), "git commit")
    check(p.returncode == 0, "git commit -S", (out + err).decode())
    K.pty = None
    t.close()
    rc, out, err, _ = git("log", "--show-signature", "-1")
    check(rc == 0 and 'Good "git" signature for e2e@example.org with '
          'ECDSA-SK key SHA256:' in out + err, "git log --show-signature",
          out + err)
    rc, out, err, _ = git("verify-commit", "HEAD")
    check(rc == 0, "git verify-commit", out + err)
    rc, out, err, _ = git("log", "-1", "--format=%G?")
    check(rc == 0 and out.strip() == "G", "%G? is " + out, err)
    check(any(" op=sshsig " in x and 'subject="git"' in x and
              "decision=allow-once" in x for x in audit(K)), "audit")
    # Against an allowed-signers file naming only another key: refused.
    with open(K.path("jumpkey.pub")) as f:
        other = f.read().split()
    with open(signers, "w") as f:
        f.write("e2e@example.org %s %s\n" % (other[0], other[1]))
    rc, out, err, _ = git("log", "--show-signature", "-1")
    check("No principal matched" in out + err and
          "signature for e2e@example.org" not in out + err,
          "a signer matched another key", out + err)
    rc, out, err, _ = git("log", "-1", "--format=%G?")
    check(rc == 0 and out.strip() == "U", "%G? is " + out, err)


@tap.case
def windows_and_unverified_logins_on_terminal():
    t = Pty(K.phone_argv("run"), env(K))
    K.pty = t
    t.expect("listening on")
    # A pinned host: asked, "this host" offered; allowed for the host.
    p = login_bg(K, hostkey_alg="ssh-ed25519")
    ok, err, seen = ask_and_answer(t, p, "h")
    check(ok, "login allowed for this host", err)
    check("%s @ %s (verified)" % (K.user, pin(K)) in seen, "prompt", seen)
    check("(pinned)" in seen and "[h] allow logins to %s" % pin(K) in seen,
          "prompt", seen)
    # The same host again: not asked.
    ok, err = login(K, hostkey_alg="ssh-ed25519")
    check(ok, "second login to the host", err)
    check("answer within" not in t.drain(0.5), "asked inside the window")
    check("decision=allow-host-window" in last_login(K), "audit",
          last_login(K))
    # Another host (another name, pinned by the jump case): asked.
    p = login_bg(K, host="localhost", hostkey_alg="ssh-ed25519")
    ok, err, seen = ask_and_answer(t, p, "o")
    check(ok and "@ %s (verified)" % pin(K, "localhost") in seen,
          "other host", seen + err)
    # Without the proxy: not verified, asked, no host window offered;
    # even the computer's window does not cover it.
    for answer in ("w", "o", "r"):
        p = login_bg(K, proxy=False)
        ok, err, seen = ask_and_answer(t, p, answer)
        check("@ unknown host (not verified)" in seen and "[h]" not in seen,
              "unverified prompt", seen)
        check(ok == (answer != "r"), "answer %s" % answer, err)
        check("verified=no" in last_login(K), "audit", last_login(K))
    # The computer's window covers a verified login to a pinned host.
    ok, err = login(K, host="localhost", hostkey_alg="ssh-ed25519")
    check(ok and "decision=allow-window" in last_login(K), "window", err)
    check("answer within" not in t.drain(0.3), "asked inside the window")
    K.pty = None
    t.close()


@tap.case
def real_data_feeds_the_fuzz_harness():
    """The data the phone is asked to sign, taken from real logins and
    signatures (a test phone writes it down), parses as the harness
    expects; with SKP_WRITE_SEEDS it becomes fuzz_sshmsg's seeds."""
    dump = K.path("dump")
    os.mkdir(dump, 0o700)
    testphone = os.path.join(K.build, "test", "e2e", "testphone")
    p = K.spawn("testphone", [testphone, "--state", K.phone_dir, "--relay",
                              K.relay_url, "--seconds", "120"],
                env=K.env(SKP_TESTPHONE_FLIP="none", SKP_TESTPHONE_DUMP=dump))
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while "listening" not in K.log("testphone"):
        check(p.poll() is None and time.monotonic() < deadline,
              "test phone", K.log("testphone"))
        time.sleep(0.02)
    names = []
    for alg, kex in (("ssh-ed25519", "curve25519-sha256"),
                     ("ecdsa-sha2-nistp256", "ecdh-sha2-nistp256"),
                     ("rsa-sha2-512", "diffie-hellman-group14-sha256")):
        ok, err = login(K, kex=kex, hostkey_alg=alg,
                        known_hosts=known_hosts(alg))
        check(ok, "login via the test phone", err)
        names.append("userauth-%s-%s" % (kex, alg))
    ok, err = login(K, proxy=False)
    check(ok, "login without the proxy", err)
    names.append("userauth-no-proxy")
    msg = K.path("message")
    with open(msg, "w") as f:
        f.write("data\n")
    for ns, extra in (("git", []), ("file", ["-O", "hashalg=sha256"])):
        rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "sign", "-f", K.key,
                                 "-n", ns] + extra + [msg],
                                env=env(K, SSH_SK_PROVIDER=K.provider))
        check(rc == 0, "ssh-keygen -Y sign", out + err)
        os.unlink(msg + ".sig")
        names.append("sshsig-%s%s" % (ns, "-sha256" if extra else ""))
    K.stop(p)
    got = sorted(os.listdir(dump))
    # The phone's pins as it wrote them: the hosts file's inner payload.
    with open(os.path.join(dump, "hosts-file"), "wb") as f:
        f.write(b"\x02" + unseal(K.phone_dir, "hosts"))
    datas = [f for f in got if f.endswith("-data")]
    hosts = [f for f in got if f.endswith("-host")]
    check(len(datas) == len(names) and len(hosts) == 3, "dumped", str(got))
    harness = os.path.join(K.build, "test", "fuzz", "fuzz_sshmsg")
    rc, out, err, _ = K.run([harness, dump], env=K.env(preload=False))
    check(rc == 0, "fuzz_sshmsg over real data", out + err)
    for f, name in zip(datas, names):
        with open(os.path.join(dump, f), "rb") as fh:
            data = fh.read()
        want = b"SSHSIG" if name.startswith("sshsig") else \
            b"publickey-hostbound-v00@openssh.com"
        check(want in data, "%s is not %s" % (f, name))
    seeds = os.environ.get("SKP_WRITE_SEEDS")
    if seeds:
        os.makedirs(seeds, exist_ok=True)
        shutil.copy(os.path.join(dump, "hosts-file"),
                    os.path.join(seeds, "hosts-file"))
        for f, name in zip(datas, names):
            shutil.copy(os.path.join(dump, f), os.path.join(seeds, name))
        for f, name in zip(hosts, names):
            shutil.copy(os.path.join(dump, f),
                        os.path.join(seeds, "host-" + name))


@tap.case
def no_sanitizer_reports():
    """Every log of this world (phones, relay, proxy runs): clean."""
    K.stop_phone()
    logs_clean(K)


def main():
    global K
    K = Kit(sys.argv[1], "host")
    K.pty = None
    K.runtime = K.path("runtime")
    os.mkdir(K.runtime, 0o700)
    try:
        K.start_relay()
        start_sshd(K)
        K.known_hosts = K.path("known_hosts")
        K.pair()
        start_phone(K)
        K.key = K.path("id_ecdsa_sk")
        rc, out, err, _ = K.keygen("id_ecdsa_sk", env=env(K))
        check(rc == 0, "ssh-keygen -t ecdsa-sk", out + err)
        K.authorize(K.key + ".pub")
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = tap.run(sys.argv[2:])
    if K.pty is not None:
        K.pty.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
