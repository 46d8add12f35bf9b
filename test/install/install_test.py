# The Debian install test (suite 'install'): the packages of debian/,
# built from a clean clone, installed into a Debian 12 system made here.
"""usage: install_test.py SOURCE_DIR WORK_DIR

1. git clone SOURCE_DIR (its committed HEAD) and `dpkg-buildpackage -us
   -uc -b` in the clone; lintian on the result: no error, no warning that
   debian/*.lintian-overrides does not give a reason for; systemd-analyze
   verify on the units (no unknown key or bad value).
2. At the same time, `debootstrap --variant=minbase bookworm` into
   WORK_DIR/root from the machine's own mirror (its apt sources), with the
   packages' dependencies and OpenSSH; the .debs are kept in
   WORK_DIR/../install-test-cache for the next run.
3. In a mount and PID namespace of its own (unshare), so that every mount
   and every process started goes away with it even on failure: dpkg -i
   the four packages, then the demo's flow with the installed paths only:
   the relay started as its systemd unit says (EnvironmentFile, User,
   ExecStart) with a TLS certificate from /etc/sk-phone/relay.conf, a
   user pairs the reference phone, which then runs as its user unit says,
   `sk-phone setup --write --proxy`, ssh-keygen -t ecdsa-sk, a real ssh
   login to a throwaway sshd on 127.0.0.1, a signature; the unit's
   ExecReload (SIGHUP) with a renewed certificate: new connections get it,
   the phone stays connected and signs again.
4. dpkg --purge: nothing of the packages is left (files, the system user,
   systemd's state), only the users' data and the administrator's
   certificate.
5. WORK_DIR/root is removed; nothing stays mounted.

Needs root (CI runs as root); prints each phase's time.
"""

import datetime
import glob
import hashlib
import ipaddress
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

SUITE = "bookworm"
ARCH_PKGS = ["libsk-phone", "sk-phone", "sk-phone-relay",
             "sk-phone-authenticator"]
# What the packages need besides Debian's minbase, installed by
# debootstrap while the packages build (checked against the built
# packages' Depends afterwards; a missing one is installed then).
INCLUDE = ["openssh-client", "openssh-server", "adduser", "libfido2-1",
           "libcbor0.8", "libssl3", "libwebsockets17", "libqrencode4",
           "libcurl4", "libev4", "libwebsockets-evlib-ev", "libhiredis0.14",
           "init-system-helpers", "ca-certificates"]
BOUND_S = 840
# Seconds since the test started (the inner process gets the start).
T0 = float(os.environ.get("SKP_INSTALL_T0", time.time()))


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def say(what):
    print("[%6.1fs] %s" % (time.time() - T0, what), flush=True)


CHILDREN = []


def run(argv, timeout=300, log=None, **kw):
    """argv, bounded; its output in log (a path) or returned. Killed with
    its process group if the test ends first."""
    if log is not None:
        with open(log, "ab") as f:
            p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                 start_new_session=True, **kw)
            CHILDREN.append(p)
            try:
                p.wait(timeout)
            finally:
                kill_group(p)
        if p.returncode != 0:
            with open(log, "rb") as f:
                tail = f.read()[-3000:].decode(errors="replace")
            raise Fail("%s: exit %d; the end of %s:\n%s" % (
                " ".join(argv[:3]), p.returncode, log, tail))
        return ""
    p = subprocess.run(argv, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, **kw)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise Fail("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                         out[-3000:]))
    return out


def kill_group(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()


def mirror():
    """The machine's Debian mirror for bookworm (main), from its apt
    sources (one-line and deb822 forms)."""
    found = []
    files = ["/etc/apt/sources.list"] + sorted(
        glob.glob("/etc/apt/sources.list.d/*.list") +
        glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in files:
        try:
            text = open(path).read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                f = {}
                for line in stanza.splitlines():
                    m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                    if m and not line.startswith("#"):
                        f[m.group(1).lower()] = m.group(2).split()
                if ("deb" in f.get("types", []) and
                        SUITE in f.get("suites", []) and
                        "main" in f.get("components", [])):
                    found += f.get("uris", [])
        else:
            for line in text.splitlines():
                w = re.sub(r"\[[^]]*\]", "", line).split()
                if len(w) >= 4 and w[0] == "deb" and w[2] == SUITE and \
                        "main" in w[3:]:
                    found.append(w[1])
    check(found, "no Debian %s mirror with main in the machine's apt "
          "sources (/etc/apt/sources.list*)" % SUITE)
    return found[0]


# ---------------------------------------------------------------- outside

def build(src, work, out):
    """Clone, build the packages; the result for the main thread."""
    try:
        t = time.monotonic()
        clone = os.path.join(work, "src")
        run(["git", "clone", "--quiet", src, clone], timeout=120)
        env = dict(os.environ)
        env.pop("MAKEFLAGS", None)
        env.pop("MESON_TESTTHREADS", None)
        run(["dpkg-buildpackage", "-us", "-uc", "-b", "-J2"],
            timeout=600, log=os.path.join(work, "build.log"), cwd=clone,
            env=env)
        out["build_s"] = time.monotonic() - t
    except Exception as e:  # reported by the main thread
        out["error"] = e


def bootstrap(root, cache, url, out):
    """debootstrap, or the system it made last time with the same mirror
    and packages (a tar in the cache, made before anything else is in)."""
    try:
        t = time.monotonic()
        os.makedirs(cache, exist_ok=True)
        key = hashlib.sha256(("%s %s %s" % (SUITE, url, " ".join(INCLUDE)))
                             .encode()).hexdigest()[:16]
        tar = os.path.join(cache, "root-%s.tar" % key)
        if os.path.exists(tar):
            os.makedirs(root)
            run(["tar", "-C", root, "-xpf", tar], timeout=300)
            out["how"] = "from " + tar
        else:
            run(["debootstrap", "--variant=minbase", "--cache-dir=" + cache,
                 "--include=" + ",".join(INCLUDE), SUITE, root, url],
                timeout=600, log=os.path.join(os.path.dirname(root),
                                              "debootstrap.log"))
            for old in glob.glob(os.path.join(cache, "root-*.tar")):
                os.remove(old)
            run(["tar", "-C", root, "-cpf", tar + ".tmp", "."], timeout=300)
            os.replace(tar + ".tmp", tar)
            out["how"] = "debootstrap"
        out["bootstrap_s"] = time.monotonic() - t
    except Exception as e:
        out["error"] = e


def mounts_under(root):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == root or mp.startswith(root + "/"):
                found.append(mp)
    return found


def remove_root(root):
    """Nothing may stay mounted; then the tree goes."""
    left = mounts_under(root)
    for mp in sorted(left, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], timeout=30)
    check(not mounts_under(root), "still mounted: %s" % mounts_under(root))
    if os.path.isdir(root):
        subprocess.run(["rm", "-rf", "--one-file-system", root], timeout=120)
    return left


def outside(src, work):
    if os.geteuid() != 0:
        raise Fail("the install test needs root (debootstrap, chroot, "
                   "mounts): run it as root, as CI does")
    for tool in ("git", "dpkg-buildpackage", "lintian", "debootstrap",
                 "unshare", "chroot", "dpkg-architecture",
                 "systemd-analyze"):
        check(shutil.which(tool), "%s is missing: run sh scripts/deps.sh"
              % tool)
    url = mirror()
    root = os.path.join(work, "root")
    cache = os.path.join(os.path.dirname(work.rstrip("/")),
                         "install-test-cache")
    remove_root(root)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    say("building the packages from a clone of %s; debootstrap %s from "
        "%s into %s" % (src, SUITE, url, root))
    b, d = {}, {}
    lint = None
    tb = threading.Thread(target=build, args=(src, work, b), daemon=True)
    td = threading.Thread(target=bootstrap, args=(root, cache, url, d),
                          daemon=True)
    tb.start()
    td.start()
    try:
        tb.join()
        td.join()
        for r in (b, d):
            if "error" in r:
                raise r["error"]
        say("packages built in %.0fs, Debian %s made in %.0fs (%s)" % (
            b["build_s"], SUITE, d["bootstrap_s"], d["how"]))
        debs = []
        for p in ARCH_PKGS:
            m = glob.glob(os.path.join(work, p + "_*.deb"))
            check(len(m) == 1, "no package %s: %s" % (p, os.listdir(work)))
            debs.append(m[0])
        changes = glob.glob(os.path.join(work, "*.changes"))
        check(len(changes) == 1, "no .changes")
        # lintian runs while the packages are tried.
        lintlog = os.path.join(work, "lintian.log")
        lint = subprocess.Popen(["lintian", "--fail-on", "error,warning",
                                 changes[0]], stdout=open(lintlog, "wb"),
                                stderr=subprocess.STDOUT)
        multiarch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).strip()
        for deb in debs:
            shutil.copy(deb, os.path.join(root, "tmp"))
        # Everything else happens in namespaces of its own: when its first
        # process ends, its mounts and every process it started go too.
        p = subprocess.run(
            ["unshare", "--mount", "--pid", "--fork", "--kill-child",
             "--propagation", "private", sys.executable,
             os.path.abspath(__file__), "--inside", root, multiarch] +
            [os.path.basename(x) for x in debs],
            env=dict(os.environ, SKP_INSTALL_T0=str(T0),
                     SKP_INSTALL_SOURCE=os.path.join(work, "src")),
            timeout=BOUND_S - (time.time() - T0) - 60)
        check(p.returncode == 0, "the flow in the installed system failed")
        lint.wait(300)
        text = open(lintlog).read()
        bad = [l for l in text.splitlines() if re.match(r"^[EW]: ", l)]
        check(lint.returncode == 0 and not bad, "lintian:\n" + text)
        say("lintian: no error, no warning")
    finally:
        for p in CHILDREN:
            kill_group(p)
        if lint is not None and lint.poll() is None:
            lint.kill()
            lint.wait()
        left = remove_root(root)
        check(not left, "left mounted: %s" % left)
        check(not os.path.exists(root), "%s not removed" % root)
    say("done: %s removed, nothing mounted" % root)


# ----------------------------------------------------------------- inside

ROOT = None
SOURCE = None
PROCS = []


def ch(*argv, user=None, env=None, timeout=120, check_rc=True, stdin=None):
    """argv in the installed system, as root or as user (a login-less
    environment like a service's)."""
    e = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]
    pre = []
    if user is not None:
        e += ["HOME=/home/" + user, "USER=" + user, "LOGNAME=" + user]
        pre = ["setpriv", "--reuid", user, "--regid", user, "--init-groups",
               "--"]
    e += ["%s=%s" % kv for kv in (env or {}).items()]
    full = ["chroot", ROOT] + pre + ["env", "-i"] + e + list(argv)
    p = subprocess.run(full, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout,
                       input=stdin)
    out = p.stdout.decode(errors="replace")
    if check_rc and p.returncode != 0:
        raise Fail("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                         out[-3000:]))
    return out


class Bg:
    """A process in the installed system, its output in a file."""

    def __init__(self, name, argv):
        self.log = os.path.join(ROOT, "tmp", name + ".log")
        self.f = open(self.log, "wb")
        self.p = subprocess.Popen(["chroot", ROOT] + argv, stdout=self.f,
                                  stderr=subprocess.STDOUT)
        PROCS.append(self)

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for(self, pattern, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pattern, self.text())
            if m:
                return m
            check(self.p.poll() is None, "exited (%s): %s" % (
                self.p.returncode, self.text()))
            time.sleep(0.05)
        raise Fail("no %r in: %s" % (pattern, self.text()))

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        return self.p.returncode


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def unit(path):
    """The [Service] (and [Unit]) keys of a systemd unit: name -> values."""
    keys = {}
    text = open(os.path.join(ROOT, path.lstrip("/"))).read()
    text = text.replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        k, _, v = line.partition("=")
        keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def env_file(path, specifiers):
    """systemd's EnvironmentFile= (a leading - : optional)."""
    optional = path.startswith("-")
    path = path.lstrip("-")
    for k, v in specifiers.items():
        path = path.replace(k, v)
    full = os.path.join(ROOT, path.lstrip("/"))
    env = {}
    if not os.path.exists(full):
        check(optional, "%s is missing" % path)
        return env
    for line in open(full):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        k, _, v = line.partition("=")
        env[k.strip()] = " ".join(shlex.split(v)) if v.strip() else ""
    return env


def exec_line(line, env):
    """ExecStart= as systemd expands it: ${X} one word, $X split."""
    argv = []
    for w in shlex.split(line):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
        if m:
            argv += env.get(m.group(1), "").split()
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                           lambda x: env.get(x.group(1), ""), w))
    return argv


def make_ca():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            "install test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name)
          .issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))

    def leaf():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(
                    NameOID.COMMON_NAME, "127.0.0.1")]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                    critical=False)
                .sign(ca_key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
                cert.public_bytes(serialization.Encoding.DER))

    return ca.public_bytes(serialization.Encoding.PEM), leaf


def peer_cert(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


SKIP_TOP = ("proc", "dev", "sys", "run", "tmp", "home", "root")
SKIP_UNDER = ("var/lib/dpkg", "var/lib/apt", "var/cache", "var/log")


def snapshot():
    """Every path of the system but the volatile and the users' own."""
    paths = set()
    for top in os.listdir(ROOT):
        if top in SKIP_TOP:
            continue
        base = os.path.join(ROOT, top)
        paths.add(top)
        for dirpath, dirs, files in os.walk(base):
            rel = os.path.relpath(dirpath, ROOT)
            dirs[:] = [d for d in dirs
                       if os.path.join(rel, d) not in SKIP_UNDER]
            for n in dirs + files:
                paths.add(os.path.join(rel, n))
    return paths


def inside(root, multiarch, debs):
    global ROOT, SOURCE
    ROOT = root
    SOURCE = os.environ["SKP_INSTALL_SOURCE"]
    run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")])
    run(["mount", "--rbind", "/dev", os.path.join(root, "dev")])
    # No service starts by itself in this system (invoke-rc.d).
    with open(os.path.join(root, "usr/sbin/policy-rc.d"), "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(os.path.join(root, "usr/sbin/policy-rc.d"), 0o755)

    # Dependencies debootstrap was not given: from the mirror now.
    want = set()
    for deb in debs:
        dep = run(["dpkg-deb", "-f", os.path.join(root, "tmp", deb),
                   "Depends"])
        for alt in dep.split(","):
            name = alt.split("|")[0].split("(")[0].strip()
            if name and name not in ARCH_PKGS:
                want.add(name)
    have = ch("dpkg-query", "-W", "-f", "${Package} ${Status}\\n",
              check_rc=False)
    missing = sorted(n for n in want if not re.search(
        r"^%s(:\S+)? install ok installed$" % re.escape(n), have, re.M))
    if missing:
        say("installing from the mirror: %s (add them to INCLUDE)" %
            " ".join(missing))
        ch("apt-get", "update", "-qq", timeout=300)
        ch("apt-get", "install", "-y", "-qq", "--no-install-recommends",
           *missing, env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=300)
    ch("useradd", "--create-home", "--shell", "/bin/sh", "alice")
    ch("usermod", "-p", "*", "alice")  # no password, not locked (sshd)
    before = snapshot()

    say("dpkg -i " + " ".join(debs))
    ch("dpkg", "-i", *["/tmp/" + d for d in debs],
       env={"DEBIAN_FRONTEND": "noninteractive"})
    lib = "/usr/lib/%s/libsk-phone.so" % multiarch
    for path in (lib, "/usr/bin/sk-phone", "/usr/sbin/sk-phone-relay",
                 "/usr/bin/sk-phone-authenticator",
                 "/usr/share/sk-phone/web/index.html",
                 "/usr/share/sk-phone/web/app.js",
                 "/lib/systemd/system/sk-phone-relay.service",
                 "/usr/lib/systemd/user/sk-phone-authenticator.service",
                 "/etc/sk-phone/relay.conf",
                 "/usr/share/man/man1/sk-phone.1.gz",
                 "/usr/share/man/man1/sk-phone-authenticator.1.gz",
                 "/usr/share/man/man7/libsk-phone.7.gz",
                 "/usr/share/man/man8/sk-phone-relay.8.gz",
                 "/usr/share/bash-completion/completions/sk-phone",
                 "/usr/share/bash-completion/completions/"
                 "sk-phone-authenticator",
                 "/usr/share/doc/sk-phone-relay/copyright"):
        check(os.path.isfile(os.path.join(root, path.lstrip("/"))),
              "not installed: " + path)
    # The keeper's user units, once contrib/ has them (helper `keeper`).
    for keeper in ("sk-phone-keeper.socket", "sk-phone-keeper.service"):
        if os.path.isfile(os.path.join(SOURCE, "contrib", keeper)):
            check(os.path.isfile(os.path.join(
                root, "usr/lib/systemd/user", keeper)),
                "not installed: /usr/lib/systemd/user/" + keeper)
            say("the keeper's user unit is installed: " + keeper)
    # The units as systemd reads them: no unknown key, no bad value (the
    # programs are checked in the installed system, not here).
    units = [("--system", "lib/systemd/system/sk-phone-relay.service"),
             ("--user", "usr/lib/systemd/user/"
              "sk-phone-authenticator.service")]
    units += [("--user", "usr/lib/systemd/user/" + k) for k in
              ("sk-phone-keeper.socket", "sk-phone-keeper.service")
              if os.path.isfile(os.path.join(root, "usr/lib/systemd/user",
                                             k))]
    xdg = os.path.join("/tmp", "skp-install-xdg-%d" % os.getpid())
    os.makedirs(xdg, mode=0o700, exist_ok=True)
    try:
        for scope, path in units:
            v = subprocess.run(["systemd-analyze", scope, "verify",
                                "--man=no", os.path.join(root, path)],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=60,
                               env=dict(os.environ, XDG_RUNTIME_DIR=xdg))
            bad = [l for l in v.stdout.decode(errors="replace").splitlines()
                   if "is not executable" not in l]
            check(not bad, "systemd-analyze verify %s: %s" % (path, bad))
    finally:
        shutil.rmtree(xdg, ignore_errors=True)
    say("systemd-analyze verify: %s" % ", ".join(
        os.path.basename(p) for _, p in units))
    pw = ch("getent", "passwd", "_sk-phone-relay").strip().split(":")
    check(len(pw) == 7 and int(pw[2]) < 1000 and pw[6].endswith("nologin"),
          "the relay's system user: %s" % pw)

    # The administrator: a certificate where relay.conf says, readable by
    # the service's group, and the address.
    ca_pem, leaf = make_ca()
    cert1, key1, der1 = leaf()
    cert2, key2, der2 = leaf()
    conf_path = os.path.join(root, "etc/sk-phone/relay.conf")
    conf = open(conf_path).read()
    tls = env_file("/etc/sk-phone/relay.conf", {})["RELAY_TLS"].split()
    cert_path = tls[tls.index("--tls-cert") + 1]
    key_path = tls[tls.index("--tls-key") + 1]
    ch("install", "-d", "-m", "0750", "-g", "_sk-phone-relay",
       os.path.dirname(cert_path))

    def put_cert(cert, key):
        for data, path in ((cert, cert_path), (key, key_path)):
            tmp = os.path.join(root, "tmp", "new.pem")
            with open(tmp, "wb") as f:
                f.write(data)
            ch("install", "-m", "0640", "-g", "_sk-phone-relay",
               "/tmp/new.pem", path + ".new")
            ch("mv", path + ".new", path)

    put_cert(cert1, key1)
    rport = free_port()
    conf = re.sub(r"(?m)^RELAY_LISTEN=.*$", "RELAY_LISTEN=127.0.0.1:%d" %
                  rport, conf)
    with open(conf_path, "w") as f:
        f.write(conf)

    # The relay, as sk-phone-relay.service runs it.
    u = unit("/lib/systemd/system/sk-phone-relay.service")
    env = {}
    for ef in u.get("EnvironmentFile", []):
        env.update(env_file(ef, {}))
    argv = exec_line(u["ExecStart"][0], env)
    check(argv[0] == "/usr/sbin/sk-phone-relay", "ExecStart: %s" % argv)
    user, group = u["User"][0], u["Group"][0]
    for sd in u.get("StateDirectory", []):
        ch("install", "-d", "-m", u.get("StateDirectoryMode", ["0755"])[0],
           "-o", user, "-g", group, "/var/lib/" + sd)
    # LimitNOFILE, up to what this machine lets root raise it to.
    nofile = min(int(u.get("LimitNOFILE", ["1024"])[0]),
                 resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    relay = Bg("relay", ["prlimit", "--nofile=%s:%s" % (nofile, nofile),
                         "setpriv", "--reuid", user, "--regid", group,
                         "--clear-groups", "--no-new-privs", "--",
                         "env", "-i", "PATH=/usr/sbin:/usr/bin"] + argv)
    relay.wait_for(r"listening on wss://127\.0\.0\.1:%d " % rport)
    check(peer_cert(rport) == der1, "the relay does not show the "
          "certificate from relay.conf")
    say("relay: %s (as %s)" % (" ".join(argv), user))

    # The user: pairs the phone with this computer.
    home = os.path.join(root, "home/alice")
    with open(os.path.join(home, "ca.pem"), "wb") as f:
        f.write(ca_pem)
    url = "wss://127.0.0.1:%d" % rport
    pair = Bg("pair", ["setpriv", "--reuid", "alice", "--regid", "alice",
                       "--init-groups", "--", "env", "-i",
                       "HOME=/home/alice", "PATH=/usr/bin:/bin",
                       "sk-phone", "pair", "--relay", url, "--ca",
                       "/home/alice/ca.pem", "--name", "installed-computer",
                       "--yes", "--uri-file", "/home/alice/uri",
                       "--timeout", "60"])
    end = time.monotonic() + 15
    while not os.path.exists(os.path.join(home, "uri")) or \
            os.path.getsize(os.path.join(home, "uri")) == 0:
        check(time.monotonic() < end and pair.p.poll() is None,
              "no pairing URI: " + pair.text())
        time.sleep(0.05)
    ch("sk-phone-authenticator", "pair", "--uri-file", "/home/alice/uri",
       "--name", "installed-phone", "--yes", "--timeout", "60", "--ca",
       "/home/alice/ca.pem", user="alice", timeout=70)
    check(pair.p.wait(30) == 0, "sk-phone pair: " + pair.text())
    say("paired")

    # The phone, as its user unit runs it (approving: no one is there).
    pu = unit("/usr/lib/systemd/user/sk-phone-authenticator.service")
    spec = {"%E": "/home/alice/.config", "%h": "/home/alice"}
    for ef in pu.get("EnvironmentFile", []):
        conf_dir = os.path.dirname(ef.lstrip("-").replace(
            "%E", "home/alice/.config").replace("%h", "home/alice"))
        ch("mkdir", "-p", "/" + conf_dir.lstrip("/"), user="alice")
        with open(os.path.join(root, ef.lstrip("-/").replace(
                "%E/", "home/alice/.config/").replace(
                "%h/", "home/alice/")), "w") as f:
            f.write('SK_PHONE_AUTHENTICATOR_RUN_OPTIONS="--approve always"'
                    "\n")
    penv = {}
    for ef in pu.get("EnvironmentFile", []):
        penv.update(env_file(ef, spec))
    pargv = exec_line(pu["ExecStart"][0], penv)
    check(pargv[0] == "/usr/bin/sk-phone-authenticator", "user unit "
          "ExecStart: %s" % pargv)
    phone = Bg("phone", ["setpriv", "--reuid", "alice", "--regid", "alice",
                         "--init-groups", "--", "env", "-i",
                         "HOME=/home/alice", "PATH=/usr/bin:/bin"] + pargv)
    phone.wait_for(r"listening")

    # sk-phone setup finds the installed provider and writes ssh's config.
    out = ch("sk-phone", "setup", user="alice")
    check(lib in out, "sk-phone setup does not name %s: %s" % (lib, out))
    ch("sk-phone", "setup", "--write", "--proxy", user="alice")
    sshcfg = open(os.path.join(home, ".ssh/config")).read()
    check("SecurityKeyProvider " + lib in sshcfg and "ProxyCommand" in
          sshcfg, "~/.ssh/config: " + sshcfg)
    ch("ssh-keygen", "-q", "-t", "ecdsa-sk", "-w", lib, "-N", "",
       "-C", "alice@installed", "-f", "/home/alice/.ssh/id_ecdsa_sk",
       user="alice", stdin=b"", timeout=60)
    say("ecdsa-sk key made through the phone")

    # A throwaway sshd on 127.0.0.1 and a real login.
    sport = free_port()
    os.makedirs(os.path.join(root, "run/sshd"), exist_ok=True)
    ch("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
       "/tmp/host_key")
    shutil.copy(os.path.join(home, ".ssh/id_ecdsa_sk.pub"),
                os.path.join(root, "tmp/authorized_keys"))
    os.chmod(os.path.join(root, "tmp/authorized_keys"), 0o644)
    with open(os.path.join(root, "tmp/sshd_config"), "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\nHostKey /tmp/host_key\n"
                "PidFile /tmp/sshd.pid\n"
                "AuthorizedKeysFile /tmp/authorized_keys\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
                "UsePAM no\nStrictModes no\n" % sport)
    ch("/usr/sbin/sshd", "-t", "-f", "/tmp/sshd_config")
    sshd = Bg("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f",
                       "/tmp/sshd_config"])
    end = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", sport), 0.2).close()
            break
        except OSError:
            check(time.monotonic() < end, "sshd: " + sshd.text())
            time.sleep(0.05)
    out = ch("ssh", "-p", str(sport), "-o", "BatchMode=yes",
             "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
             "-o", "StrictHostKeyChecking=accept-new",
             "-i", "/home/alice/.ssh/id_ecdsa_sk", "alice@127.0.0.1",
             "echo LOGGED-IN-AS-$(id -un)", user="alice", timeout=60)
    check("LOGGED-IN-AS-alice" in out, "ssh: " + out)
    say("ssh login through the installed provider and proxy")

    def sign_verify(name):
        with open(os.path.join(home, name), "w") as f:
            f.write("installed sk-phone %s\n" % name)
        ch("ssh-keygen", "-Y", "sign", "-f", "/home/alice/.ssh/id_ecdsa_sk",
           "-n", "file", "/home/alice/" + name, user="alice",
           env={"SSH_SK_PROVIDER": lib}, timeout=60)
        pub = open(os.path.join(home, ".ssh/id_ecdsa_sk.pub")).read()
        with open(os.path.join(home, "allowed_signers"), "w") as f:
            f.write("alice@installed %s\n" % " ".join(pub.split()[:2]))
        out = ch("sh", "-c", "ssh-keygen -Y verify -f "
                 "/home/alice/allowed_signers -I alice@installed -n file "
                 "-s /home/alice/%s.sig < /home/alice/%s" % (name, name),
                 user="alice")
        check("Good" in out, "verify: " + out)

    sign_verify("release.txt")
    say("ssh-keygen -Y sign and verify")

    # A renewed certificate: the unit's ExecReload.
    put_cert(cert2, key2)
    renv = dict(env, MAINPID=str(relay.p.pid))
    ch(*exec_line(u["ExecReload"][0], renv))
    relay.wait_for(r"SIGHUP: reloaded")
    check(peer_cert(rport) == der2, "after reload, a new connection does "
          "not get the new certificate")
    check(phone.p.poll() is None and
          len(re.findall(r"listening", phone.text())) == 1,
          "the phone did not stay connected: " + phone.text())
    sign_verify("after-reload.txt")
    say("reload: new certificate for new connections, the phone stayed")

    check(relay.stop() == 0, "relay exit: " + relay.text())
    for p in (phone, sshd):
        p.stop()

    # Purge: nothing left but the users' data and the admin's certificate.
    ch("dpkg", "--purge", *reversed(ARCH_PKGS),
       env={"DEBIAN_FRONTEND": "noninteractive"})
    have = ch("dpkg-query", "-W", "-f", "${Package} ${Status}\\n",
              check_rc=False)
    for p in ARCH_PKGS:
        check(not re.search(r"^%s " % re.escape(p) + r".*installed", have,
                            re.M), "still installed: " + p)
    os.remove(os.path.join(root, "usr/sbin/policy-rc.d"))
    after = snapshot()
    mine = {os.path.dirname(cert_path), cert_path, key_path}
    mine = {m.lstrip("/") for m in mine}
    mine.add(os.path.dirname(os.path.dirname(cert_path)).lstrip("/"))
    left = sorted(after - before - mine - {"usr/sbin/policy-rc.d"})
    check(not left, "left after purge: %s" % left)
    for f in ("passwd", "group", "shadow", "gshadow"):
        check("_sk-phone-relay" not in open(os.path.join(root, "etc", f))
              .read(), "_sk-phone-relay still in /etc/" + f)
    for data in (".config/sk-phone", ".local/share/sk-phone-authenticator",
                 ".ssh/id_ecdsa_sk"):
        check(os.path.exists(os.path.join(home, data)), "purge removed "
              "the user's " + data)
    say("purged: nothing left but the users' data and the certificate "
        "the administrator put in %s" % os.path.dirname(cert_path))


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    if len(sys.argv) >= 4 and sys.argv[1] == "--inside":
        try:
            inside(sys.argv[2], sys.argv[3], sys.argv[4:])
            return 0
        except (Fail, subprocess.TimeoutExpired) as e:
            print("FAIL: %s" % e, flush=True)
            for p in PROCS:
                print("--- %s:\n%s" % (p.log, p.text()[-2000:]))
            return 1
        finally:
            for p in reversed(PROCS):
                p.stop(signal.SIGKILL)
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(
        Fail("over %ds" % BOUND_S)))
    signal.alarm(BOUND_S)
    try:
        outside(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
    except (Fail, subprocess.TimeoutExpired) as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    finally:
        signal.alarm(0)
    say("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
