# End-to-end test kit: relay, reference phone, pairing, throwaway sshd.
"""Processes the e2e tests start, each bounded in time and always stopped.

Everything lives in one temporary folder and listens on 127.0.0.1 only.
Every process started is recorded and stopped (TERM, then KILL) when the
test ends, whatever way it ends.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SSH_AGENT = "/usr/bin/ssh-agent"
SSH_ADD = "/usr/bin/ssh-add"

# Bounds for every wait; a test never waits longer than these.
START_TIMEOUT = 10.0
CMD_TIMEOUT = 60.0


class Skip(Exception):
    """Raised when the machine lacks what a case needs."""


class Kit:
    """One test's world: a folder, its processes, and their cleanup."""

    def __init__(self, build, name="e2e", base=None):
        self.build = os.path.abspath(build)
        self.tmp = tempfile.mkdtemp(prefix="skp-%s-" % name, dir=base)
        os.chmod(self.tmp, 0o700)
        self.procs = []
        # More options for sk-phone-relay (start_relay), e.g. limits.
        self.relay_args = ()
        self.provider = os.path.join(self.build, "lib", "libsk-phone.so")
        self.cli = os.path.join(self.build, "cmd", "sk-phone", "sk-phone")
        self.relay_bin = os.path.join(self.build, "cmd", "sk-phone-relay",
                                      "sk-phone-relay")
        # The web phone meson built (the custom_target 'web'): --web DIR.
        self.web_bundle = os.path.join(self.build, "web")
        # The phone with its test knobs (SKP_TEST_*), built for the tests.
        self.phone_bin = os.path.join(self.build, "cmd",
                                      "sk-phone-authenticator",
                                      "sk-phone-authenticator-test")
        self.asan = asan_runtime(self.provider)
        self.state = self.path("computer")
        os.mkdir(self.state, 0o700)
        self.home = self.path("home")
        os.mkdir(self.home, 0o700)
        # The user's runtime folder: the keeper's socket and the proxy's
        # records (a test may give its own XDG_RUNTIME_DIR under tmp).
        self.run_dir = self.path("run")
        os.mkdir(self.run_dir, 0o700)
        # Every call goes through the connection keeper (`sk-phone
        # keeper`), started on demand; SK_PHONE_KEEPER="off" in env()
        # goes direct, and SKP_E2E_KEEPER=off runs a whole test so.
        self.keeper = self.cli
        if os.environ.get("SKP_E2E_KEEPER") == "off":
            self.keeper = "off"
        atexit.register(self.close)
        signal.signal(signal.SIGTERM, self._on_term)

    def _on_term(self, signum, frame):
        self.close()
        sys.exit(1)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def shim_env(self, shim, **extra):
        """env(preload=False) with a test shim library (clockshift.c:
        SKP_TEST_CLOCK_SHIFT moves the clock, SKP_TEST_NO_DNS fails every
        name lookup) preloaded; in a sanitizer build after the ASan
        runtime, which then tolerates the shim after it."""
        env = self.env(preload=False, **extra)
        pre = [shim]
        if self.asan:
            pre = [self.asan, shim]
            env["ASAN_OPTIONS"] = ":".join(
                [o for o in env.get("ASAN_OPTIONS", "").split(":") if o] +
                ["verify_asan_link_order=0"])
        env["LD_PRELOAD"] = " ".join(pre)
        return env

    def askpass(self, answer, name="askpass"):
        """An SSH_ASKPASS program that answers and notes each prompt:
        (the environment that uses it, the file of its prompts)."""
        path = self.path(name)
        calls = self.path(name + ".calls")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho \"$1\" >> '%s'\necho '%s'\n" %
                    (calls, answer))
        os.chmod(path, 0o700)
        return {"SSH_ASKPASS": path, "SSH_ASKPASS_REQUIRE": "force",
                "DISPLAY": None}, calls

    def env(self, preload=True, **extra):
        """The environment every OpenSSH tool and sk-phone run gets.

        In a build under AddressSanitizer, ssh-sk-helper can only dlopen
        the provider with the ASan runtime loaded first: the OpenSSH tools
        then run with it preloaded, and without leak checks (they leave
        memory to exit on purpose). Programs built with ASan (preload=False)
        keep their own options."""
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "SK_PHONE_DIR": self.state,
            "SK_PHONE_TIMEOUT": "20",
            "XDG_RUNTIME_DIR": self.run_dir,
            "SK_PHONE_KEEPER": self.keeper,
            "SK_PHONE_KEEPER_LOG": self.path("keeper.log"),
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                  "SK_PHONE_DEBUG"):
            if k in os.environ:
                env[k] = os.environ[k]
        if self.asan and preload:
            env["LD_PRELOAD"] = self.asan
            opts = [o for o in env.get("ASAN_OPTIONS", "").split(":")
                    if o and not o.startswith("detect_leaks")]
            env["ASAN_OPTIONS"] = ":".join(opts + ["detect_leaks=0"])
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    # -- processes ---------------------------------------------------

    def spawn(self, name, argv, env=None, stdin=subprocess.DEVNULL):
        """Start a long-running process; its output goes to NAME.log."""
        log = open(self.path(name + ".log"), "ab")
        p = subprocess.Popen(argv, stdin=stdin, stdout=log,
                             stderr=subprocess.STDOUT,
                             env=env if env is not None else self.env(),
                             start_new_session=True)
        log.close()
        p.skp_name = name
        self.procs.append(p)
        return p

    def stop(self, p, grace=3.0):
        """Stop one process (and its session) and wait for it, bounded."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=grace)
        if p in self.procs:
            self.procs.remove(p)

    def log(self, name):
        try:
            with open(self.path(name + ".log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def run(self, argv, env=None, input=None, timeout=CMD_TIMEOUT,
            cwd=None):
        """Run a command to completion; answers (rc, stdout, stderr, s)."""
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, input=input, capture_output=True,
                               env=env if env is not None else self.env(),
                               timeout=timeout, cwd=cwd or self.tmp,
                               start_new_session=True)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = -999, e.stdout or b"", e.stderr or b""
        dt = time.monotonic() - t0
        return (rc, out.decode("utf-8", "replace"),
                err.decode("utf-8", "replace"), dt)

    def key_world(self, start_phone=None):
        """What most suites start from: the relay, sshd, a paired phone
        running (start_phone, or the kit's own), and a key made on it
        (path("key")) that sshd authorizes."""
        self.start_relay()
        self.start_sshd()
        self.pair()
        (start_phone or self.start_phone)()
        rc, out, err, _ = self.keygen("key")
        if rc != 0:
            raise RuntimeError("ssh-keygen: " + out + err)
        self.authorize(self.path("key.pub"))

    def setup_failed(self, e, logs=("relay", "sshd", "phone")):
        """The suite's world could not be made: say so the TAP way, with
        the logs of the processes named, close the kit; the exit status."""
        print("1..0 # setup failed")
        print("Bail out! %s" % str(e).replace("\n", " | "))
        for n in logs:
            sys.stderr.write("-- %s --\n%s\n" % (n, self.log(n)[-2000:]))
        self.close()
        return 1

    def finish(self, rc):
        """After the cases: every log on stderr when one failed; close
        the kit; the exit status."""
        if self.keeper == "off" and self.keepers():
            print("not ok - SKP_E2E_KEEPER=off, yet a keeper was started")
            rc = 1
        if rc != 0:
            for f in sorted(os.listdir(self.tmp)):
                if f.endswith(".log"):
                    sys.stderr.write("-- %s --\n%s\n" %
                                     (f, self.log(f[:-4])[-1500:]))
        self.close()
        return rc

    def keepers(self):
        """The pids of the keepers started under tmp (from the lock
        file each holds, which names it), alive or not."""
        pids = []
        for root, _, files in os.walk(self.tmp or "/nonexistent"):
            for f in files:
                if f == "keeper.lock" or f.endswith(".sock.lock"):
                    try:
                        with open(os.path.join(root, f)) as fh:
                            pids.append(int(fh.read().strip() or "0"))
                    except (OSError, ValueError):
                        pass
        return [p for p in pids if p > 0]

    def stop_keepers(self, grace=3.0):
        """TERM every keeper of this test, then KILL, bounded."""
        pids = [p for p in self.keepers() if alive(p)]
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.02)
        for p in pids:
            if alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self):
        for p in list(self.procs):
            try:
                self.stop(p)
            except Exception:
                pass
        try:
            self.stop_keepers()
        except Exception:
            pass
        if self.tmp and os.environ.get("SKP_E2E_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None

    # -- relay, phone, pairing --------------------------------------

    def start_relay(self, port=None):
        """sk-phone-relay on 127.0.0.1 (a fresh port unless given)."""
        if getattr(self, "port_hold", None) is not None:
            self.port_hold.close()
            self.port_hold = None
        self.relay_port = port or free_port()
        self.relay_url = "ws://127.0.0.1:%d" % self.relay_port
        self.relay = self.spawn("relay", [self.relay_bin, "--listen",
                                          "127.0.0.1:%d" % self.relay_port] +
                                list(self.relay_args))
        wait_port(self.relay_port, self.relay)
        return self.relay

    def tls_ca(self, name):
        """A throwaway CA (P-256): its certificate and key, NAME.pem and
        NAME.key in the kit's folder."""
        pem, key = self.path(name + ".pem"), self.path(name + ".key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", pem, "-days", "2", "-subj",
                "/CN=sk-phone test " + name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return pem, key

    def tls_cert(self, ca_pem, ca_key, name="relay-tls"):
        """A relay certificate for 127.0.0.1 (and localhost) signed by
        the CA: NAME.pem and NAME.key."""
        crt, key, csr, ext = (self.path(name + ".pem"),
                              self.path(name + ".key"),
                              self.path(name + ".csr"),
                              self.path(name + ".ext"))
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "basicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", csr, "-subj", "/CN=127.0.0.1")
        openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
                "-CAcreateserial", "-out", crt, "-days", "2", "-extfile",
                ext)
        return crt, key

    def stop_relay(self):
        """Stop the relay and keep its port bound, not listening: a
        connection to it is refused, as by a machine where the relay is
        down, and meanwhile no server of a test running beside this one
        takes the freed port (nor does a connection to itself, when the
        kernel picks that port as its source), either of which would
        answer instead of refusing."""
        self.stop(self.relay)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.relay_port))
        self.port_hold = s

    def phone_argv(self, *args):
        return [self.phone_bin, "--state", self.phone_dir, *args]

    def pair(self, phone_name="phone1", computer_name="testbox",
             extra=(), phone_extra=(), env=None):
        """sk-phone pair (options `extra', environment `env') and the
        reference phone's pair (options `phone_extra'), both --yes."""
        self.phone_dir = self.path("phone-" + phone_name)
        uri_file = self.path("uri-" + phone_name)
        comp = self.spawn("pair-" + phone_name,
                          [self.cli, "pair", "--relay", self.relay_url,
                           "--name", computer_name, "--yes", "--uri-file",
                           uri_file, "--timeout", "30", *extra], env=env)
        wait_file(uri_file, comp)
        with open(uri_file) as f:
            uri = f.read().strip()
        # The URI on standard input: never on a command line.
        rc, out, err, _ = self.run(self.phone_argv(
            "pair", "-", "--name", phone_name, "--yes", "--timeout", "30",
            *phone_extra), input=(uri + "\n").encode())
        if rc != 0:
            raise RuntimeError("phone pair: %s%s" % (out, err))
        try:
            comp.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self.stop(comp)
        if comp.returncode != 0:
            raise RuntimeError("sk-phone pair failed:\n" +
                               self.log("pair-" + phone_name))
        self.uri = uri
        return uri

    def start_phone(self, approve="always", pin="4321", name="phone",
                    env=None, extra=()):
        """The reference phone answering on its mailbox (more options of
        its run in `extra')."""
        argv = self.phone_argv("run", "--approve", approve, *extra)
        if pin is not None:
            pinfile = self.path("pin")
            with open(pinfile, "w") as f:
                f.write(pin + "\n")
            os.chmod(pinfile, 0o600)
            argv += ["--pin-file", pinfile]
        p = self.spawn(name, argv, env=env)
        # Listening once it says so; bounded.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if "listening" in self.log(name):
                self.phone = p
                return p
            if p.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("phone did not start:\n" + self.log(name))

    def stop_phone(self):
        if getattr(self, "phone", None) is not None:
            self.stop(self.phone)
            self.phone = None

    def keygen(self, name, *opts, env=None, input=None):
        """ssh-keygen -t ecdsa-sk with the provider; (rc, out, err, s)."""
        key = self.path(name)
        argv = [SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w", self.provider,
                "-N", "", "-f", key]
        for o in opts:
            argv += ["-O", o]
        rc, out, err, dt = self.run(argv, env=env, input=input)
        return rc, out, err, dt

    # -- sshd --------------------------------------------------------

    def start_sshd(self):
        """A throwaway sshd on 127.0.0.1 with its own keys and config."""
        if not os.path.exists(SSHD):
            raise Skip("no %s" % SSHD)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        d = self.path("sshd")
        os.mkdir(d, 0o700)
        hostkey = os.path.join(d, "host_ed25519")
        rc, _, err, _ = self.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N",
                                  "", "-f", hostkey])
        if rc != 0:
            raise RuntimeError("host key: " + err)
        self.authorized_keys = os.path.join(d, "authorized_keys")
        open(self.authorized_keys, "w").close()
        os.chmod(self.authorized_keys, 0o600)
        self.sshd_port = free_port()
        self.sshd_config = os.path.join(d, "sshd_config")
        with open(self.sshd_config, "w") as f:
            f.write("Port %d\n" % self.sshd_port)
            f.write("ListenAddress 127.0.0.1\n")
            f.write("HostKey %s\n" % hostkey)
            f.write("PidFile %s\n" % os.path.join(d, "sshd.pid"))
            f.write("AuthorizedKeysFile %s\n" % self.authorized_keys)
            f.write("PasswordAuthentication no\n")
            f.write("KbdInteractiveAuthentication no\n")
            f.write("PubkeyAuthentication yes\n")
            f.write("PermitRootLogin prohibit-password\n")
            f.write("UsePAM no\n")
            f.write("StrictModes no\n")
            f.write("LogLevel VERBOSE\n")
        rc, _, err, _ = self.run([SSHD, "-t", "-f", self.sshd_config],
                                 env=self.env(preload=False))
        if rc != 0:
            raise RuntimeError("sshd -t: " + err)
        self.sshd = self.spawn("sshd", [SSHD, "-D", "-f", self.sshd_config,
                                        "-E", self.path("sshd.log")],
                               env=self.env(preload=False))
        wait_port(self.sshd_port, self.sshd)
        self.known_hosts = self.path("known_hosts")
        self.user = pwd_name()

    def authorize(self, pubfile, options=""):
        """Append a public key to the throwaway sshd's authorized_keys."""
        with open(pubfile) as f:
            line = f.read().strip()
        blob = line.split()[1]
        # sshd uses the first line with the key: replace, do not add.
        with open(self.authorized_keys) as f:
            keep = [x for x in f if blob not in x]
        keep.append((options + " " if options else "") + line + "\n")
        with open(self.authorized_keys, "w") as f:
            f.writelines(keep)

    def ssh_argv(self, key=None, agent=None, provider=None):
        argv = [SSH, "-p", str(self.sshd_port),
                "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=" + self.known_hosts,
                "-o", "StrictHostKeyChecking=accept-new",
                "-o", "ConnectTimeout=10",
                "-o", "PasswordAuthentication=no",
                "-F", "/dev/null"]
        if provider is not None:
            argv += ["-o", "SecurityKeyProvider=" + provider]
        if agent is not None:
            argv += ["-o", "IdentityAgent=" + agent]
        else:
            argv += ["-o", "IdentityAgent=none"]
        if key is not None:
            argv += ["-o", "IdentitiesOnly=yes", "-i", key]
        return argv + ["%s@127.0.0.1" % self.user]

    def login(self, key, command="echo skp-login-ok", env=None, agent=None,
              timeout=CMD_TIMEOUT):
        """ssh to the throwaway sshd with the provider; (ok, err, s)."""
        argv = self.ssh_argv(key=key, agent=agent,
                             provider=self.provider) + [command]
        rc, out, err, dt = self.run(argv, env=env, timeout=timeout)
        return rc == 0 and "skp-login-ok" in out, err, dt


def openssl(*args):
    """The openssl command; its output in the exception when it fails."""
    r = subprocess.run(["openssl", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], r.stdout))


def alive(pid):
    """Is pid a live process (not a zombie)?"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def asan_runtime(lib):
    """The ASan runtime the provider links, or None."""
    try:
        out = subprocess.run(["ldd", lib], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].startswith("libasan.so") and len(parts) > 2:
            return parts[2]
    return None


def prompts(calls):
    """What an askpass of Kit.askpass was asked so far ("" before any)."""
    try:
        with open(calls) as f:
            return f.read()
    except OSError:
        return ""


def pwd_name():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc=None, timeout=START_TIMEOUT):
    """Wait until 127.0.0.1:port accepts, or the process died; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %d before listening" %
                               (proc.skp_name, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nothing listens on 127.0.0.1:%d" % port)


def wait_file(path, proc=None, timeout=START_TIMEOUT):
    """Wait until a file exists and is not empty; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %d" %
                               (proc.skp_name, proc.returncode))
        time.sleep(0.02)
    raise RuntimeError("no file %s" % path)


class Tap:
    """Named cases, TAP on stdout; a case fails on any exception."""

    def __init__(self):
        self.cases = []

    def case(self, fn):
        self.cases.append(fn)
        return fn

    def run(self, argv):
        want = set(argv)
        cases = [c for c in self.cases if not want or c.__name__ in want]
        print("1..%d" % len(cases), flush=True)
        failed = 0
        for i, c in enumerate(cases, 1):
            t0 = time.monotonic()
            try:
                c()
                print("ok %d %s # %.1fs" % (i, c.__name__,
                                            time.monotonic() - t0),
                      flush=True)
            except Skip as e:
                print("ok %d %s # SKIP %s" % (i, c.__name__, e), flush=True)
            except Exception as e:
                failed += 1
                print("not ok %d %s" % (i, c.__name__), flush=True)
                for line in ("%s: %s" % (type(e).__name__, e)).splitlines():
                    print("# " + line, flush=True)
        return 1 if failed else 0


def check(cond, what, detail=""):
    if not cond:
        raise AssertionError(what + ("\n" + detail if detail else ""))
