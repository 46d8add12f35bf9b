# Throughput of ssh through `sk-phone proxy` against ssh straight to sshd.
"""usage: bench_proxy.py SKP-PROXY-TEST [MIB] [RUNS] [CIPHER]

Starts a throwaway sshd on 127.0.0.1 and copies MIB MiB (default 100)
over ssh, RUNS times each way (default 7): upload
(`head -c N /dev/zero | ssh host 'cat >/dev/null'`) and download
(`ssh host 'head -c N /dev/zero' >/dev/null`), once with the proxy as
ProxyCommand and once without, alternating so that drift hits both alike,
with ssh's default cipher or CIPHER.
Prints the median MiB/s of each and the ratio proxy/direct. Never fails on
time; it fails only when ssh does.
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SSH = "/usr/bin/ssh"
SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
TIMEOUT = 300


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    proxy = os.path.abspath(sys.argv[1])
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    want_cipher = sys.argv[4] if len(sys.argv) > 4 else None
    tmp = tempfile.mkdtemp(prefix="skp-bench-proxy-")
    sshd = None
    try:
        for name in ("host", "user"):
            subprocess.run([SSH_KEYGEN, "-q", "-N", "", "-t", "ed25519",
                            "-f", os.path.join(tmp, name)], check=True,
                           timeout=TIMEOUT)
        shutil.copy(os.path.join(tmp, "user.pub"),
                    os.path.join(tmp, "authorized_keys"))
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        conf = os.path.join(tmp, "sshd_config")
        with open(conf, "w") as f:
            f.write("\n".join([
                "Port %d" % port, "ListenAddress 127.0.0.1",
                "HostKey %s/host" % tmp, "PidFile %s/sshd.pid" % tmp,
                "AuthorizedKeysFile %s/authorized_keys" % tmp,
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "UsePAM no",
                "StrictModes no", "PermitRootLogin yes"]) + "\n")
        os.makedirs("/run/sshd", exist_ok=True)
        sshd = subprocess.Popen([SSHD, "-D", "-f", conf, "-E",
                                 os.path.join(tmp, "sshd.log")])
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        env = dict(os.environ)
        xdg = os.path.join(tmp, "xdg")
        os.mkdir(xdg, 0o700)
        env["XDG_RUNTIME_DIR"] = xdg
        base = [SSH, "-F", "/dev/null", "-p", str(port), "-o",
                "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o",
                "IdentityAgent=none", "-i", os.path.join(tmp, "user"),
                "-o", "UserKnownHostsFile=/dev/null", "-o",
                "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR",
                "-o", "Compression=no"]
        if want_cipher:
            base += ["-c", want_cipher]
        via = ["-o", "ProxyCommand=%s %%h %%p" % proxy]
        n = mib * 1024 * 1024
        cipher = subprocess.run(base + ["-G", "x"], capture_output=True,
                                text=True).stdout
        cipher = [l for l in cipher.splitlines()
                  if l.startswith("ciphers ")][0].split()[1].split(",")[0]

        def once(extra, upload):
            cmd = base + extra + ["root@127.0.0.1"]
            t0 = time.monotonic()
            if upload:
                src = subprocess.Popen(["head", "-c", str(n), "/dev/zero"],
                                       stdout=subprocess.PIPE)
                p = subprocess.run(cmd + ["cat >/dev/null"],
                                   stdin=src.stdout, env=env,
                                   timeout=TIMEOUT)
                src.wait(TIMEOUT)
            else:
                p = subprocess.run(cmd + ["head -c %d /dev/zero" % n],
                                   stdout=subprocess.DEVNULL, env=env,
                                   timeout=TIMEOUT)
            dt = time.monotonic() - t0
            if p.returncode != 0:
                raise RuntimeError("ssh failed: %d" % p.returncode)
            return mib / dt

        print("sk-phone proxy bench: %d MiB, %d runs each, cipher %s, "
              "%d CPUs" % (mib, runs, cipher, os.cpu_count()))
        once([], True)                  # warm caches once
        for label, upload in (("upload", True), ("download", False)):
            direct, proxied = [], []
            for _ in range(runs):
                direct.append(once([], upload))
                proxied.append(once(via, upload))
            md, mp = statistics.median(direct), statistics.median(proxied)
            print("%-8s direct  %7.1f MiB/s (median; min %.1f max %.1f)" %
                  (label, md, min(direct), max(direct)))
            print("%-8s proxy   %7.1f MiB/s (median; min %.1f max %.1f)" %
                  (label, mp, min(proxied), max(proxied)))
            print("%-8s ratio   %7.3f" % (label, mp / md))
    finally:
        if sshd is not None:
            sshd.terminate()
            try:
                sshd.wait(5)
            except subprocess.TimeoutExpired:
                sshd.kill()
                sshd.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
