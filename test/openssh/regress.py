# OpenSSH's own regression tests with libsk-phone.so as the security key.
"""Runs one test of Debian's openssh-tests package with sk-phone's provider.

usage: regress.py [--timeout S] BUILD TEST

The installed /usr/lib/openssh/regress (read-only, never changed) is
copied into a fresh folder, where misc/sk-dummy/sk-dummy.so, OpenSSH's
software security key, which test-exec.sh gives ssh, ssh-keygen,
ssh-agent and sshd as SecurityKeyProvider, becomes the build's
libsk-phone.so. A relay and a reference phone approving every request
(--approve always), paired with a throwaway computer state, run on
127.0.0.1. TEST (e.g. sshsig) then runs as Debian's run-tests runs it,
through the package's test-exec.sh, against the installed OpenSSH, with
every key type `ssh -Q key-plain` lists. Passing needs: the test's own
verdict; every security key type's key of the suite's setup made on the
phone (its fingerprint in the phone's audit log); no request the phone
refused; no sanitizer report from the provider. TAP on stdout.
"""

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import skpe2e  # noqa: E402

REGRESS = "/usr/lib/openssh/regress"
SK_HELPER = "/usr/lib/openssh/ssh-sk-helper"
SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"


def audit(kit):
    """The phone's audit lines as (op, decision, key fingerprint)."""
    lines = []
    try:
        with open(os.path.join(kit.phone_dir, "audit.log")) as f:
            for line in f:
                m = dict(re.findall(r" (op|decision|key)=(\S+)", line))
                if "op" in m and "decision" in m:
                    lines.append((m["op"], m["decision"], m.get("key", "-")))
    except OSError:
        pass
    return lines


def helper_wrapper(kit):
    """Under ASan: ssh-sk-helper, the one process that dlopen()s the
    provider (for ssh, ssh-keygen, ssh-agent and sshd alike), started
    with the ASan runtime preloaded. None without ASan."""
    if not kit.asan:
        return None
    path = kit.path("ssh-sk-helper")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nLD_PRELOAD='%s' exec %s \"$@\"\n" %
                (kit.asan, SK_HELPER))
    os.chmod(path, 0o755)
    return path


def sanitizer_env(env, folder):
    """Sanitizer reports go to files in FOLDER, which the runner reads;
    no leak checks (OpenSSH's tools leave memory to exit on purpose)."""
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        opts = [o for o in env.get(k, "").split(":")
                if o and not o.startswith(("log_path=", "detect_leaks="))]
        if k == "ASAN_OPTIONS":
            opts.append("detect_leaks=0")
        opts.append("log_path=" + os.path.join(folder, k.split("_")[0]))
        env[k] = ":".join(opts)


def ours(marker):
    """Processes started under this run: their environment carries
    MARKER (sshd and ssh-agent daemonize out of the test's reach)."""
    pids = []
    want = marker.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if want in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def sweep(marker):
    """Stop what the test left running (TERM, then KILL, bounded); the
    number of processes found."""
    pids = ours(marker)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and ours(marker):
            time.sleep(0.05)
        pids = ours(marker)
        if not pids:
            break
    return len(pids)


def sk_types():
    out = subprocess.run([SSH, "-Q", "key-plain"],
                                capture_output=True, text=True,
                                timeout=30).stdout.split()
    return [t for t in out if t.startswith("sk-")]


def fingerprint(kit, pub):
    rc, out, err, _ = kit.run([SSH_KEYGEN, "-lf", pub],
                              env=kit.env(preload=False))
    return out.split()[1] if rc == 0 and len(out.split()) > 1 else None


def main(argv):
    args = argv[1:]
    timeout = 600.0
    if len(args) > 1 and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    build, name = args
    print("1..1", flush=True)
    src = os.path.join(REGRESS, name + ".sh")
    if not os.path.isfile(src):
        print("not ok 1 %s # no %s: install Debian's openssh-tests "
              "(sh scripts/deps.sh)" % (name, src))
        return 1

    kit = skpe2e.Kit(build, name="osreg")
    marker = "SKP_REGRESS_RUN=" + kit.tmp
    atexit.register(sweep, marker)
    try:
        obj = kit.path("regress")
        shutil.copytree(REGRESS, obj, symlinks=True)
        dummy = os.path.join(obj, "misc", "sk-dummy", "sk-dummy.so")
        os.unlink(dummy)
        shutil.copyfile(kit.provider, dummy)
        kit.start_relay()
        kit.pair()
        kit.start_phone(pin=None)
    except Exception as e:
        return kit.setup_failed(e, logs=("relay", "phone"))

    env = kit.env(preload=False)
    san = kit.path("san")
    os.mkdir(san)
    sanitizer_env(env, san)
    user = skpe2e.pwd_name()
    # As /usr/lib/openssh/regress/run-tests gives them to make (which
    # hands them to test-exec.sh), with this test's own port and folder.
    env.update({
        "SKP_REGRESS_RUN": kit.tmp,
        "USER": user,
        "LOGNAME": user,
        "SUDO": "",
        "TEST_SHELL": "sh",
        "OBJ": obj,
        "BUILDDIR": obj,
        "TEST_SSH_PORT": str(skpe2e.free_port()),
        "TEST_SSH_SSH": "ssh",
        "TEST_SSH_SFTPSERVER": "/usr/lib/openssh/sftp-server",
        "TEST_SSH_PLINK": "plink",
        "TEST_SSH_PUTTYGEN": "puttygen",
        "TEST_SSH_CONCH": "conch3",
        "TEST_SSH_IPV6": "yes",
        "TEST_SSH_ECC": "yes",
        "TEST_SSH_UNSAFE_PERMISSIONS": "1",
        "TEST_ENV": "MALLOC_OPTIONS=CFGJRSUX",
    })
    helper = helper_wrapper(kit)
    if helper:
        env["TEST_SSH_SK_HELPER"] = helper

    rc, out, err, dt = kit.run(["sh", os.path.join(obj, "test-exec.sh"),
                                obj, os.path.join(obj, name + ".sh")],
                               env=env, timeout=timeout, cwd=obj)
    left = sweep(marker)

    why = []
    if rc == -999:
        why.append("timed out after %.0f s" % timeout)
    elif rc != 0:
        why.append("the test failed (exit %d)" % rc)
    if "SKIPPED" in out:
        why.append("the test skipped itself")
    lines = audit(kit)
    made = {k for op, dec, k in lines
            if op.startswith("enroll") and dec.startswith("allow")}
    for t in sk_types():
        fp = fingerprint(kit, os.path.join(obj, t + ".pub"))
        if fp is None:
            why.append("no key %s from the suite's setup" % t)
        elif fp not in made:
            why.append("the suite's %s key %s was not made on the phone" %
                       (t, fp))
    refused = sorted({"%s:%s" % (op, dec) for op, dec, _ in lines
                      if not dec.startswith(("allow", "paired"))})
    if refused:
        why.append("the phone refused: " + ", ".join(refused))
    reports = sorted(os.listdir(san))
    if reports:
        why.append("sanitizer reports: " + ", ".join(reports))
    counts = {}
    for op, dec, _ in lines:
        if dec.startswith("allow"):
            counts[op] = counts.get(op, 0) + 1
    summary = " ".join("%s=%d" % kv for kv in sorted(counts.items()))
    note = " (stopped %d processes it left)" % left if left else ""

    if not why:
        print("ok 1 %s # %.1fs; the phone answered %s%s" %
              (name, dt, summary, note), flush=True)
        return kit.finish(0)
    print("not ok 1 %s # %.1fs" % (name, dt), flush=True)
    for w in why:
        print("# " + w)
    print("# the phone answered: %s%s" % (summary, note))
    for line in (out + err).splitlines()[-60:]:
        print("# | " + line)
    for f in ("failed-regress.log", "failed-ssh.log", "failed-sshd.log"):
        p = os.path.join(obj, f)
        if os.path.exists(p):
            with open(p, errors="replace") as fh:
                sys.stderr.write("-- %s (end) --\n%s\n" %
                                 (f, fh.read()[-4000:]))
    for r in reports:
        with open(os.path.join(san, r), errors="replace") as fh:
            sys.stderr.write("-- %s --\n%s\n" % (r, fh.read()))
    return kit.finish(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
