# sk-phone proxy with the real ssh and a throwaway sshd on loopback (TAP).
"""End-to-end test of `sk-phone proxy` (run through skp-proxy-test).

usage: proxy_e2e.py SKP-PROXY-TEST [--capture DIR]
       proxy_e2e.py --relay HOST PORT OUTFILE       (used by --capture)

For every key exchange and host key algorithm, ssh logs in through the
proxy as its ProxyCommand. ssh authenticates with a key held by a small
agent of this test's own; the agent learns the session id from the
userauth request it is asked to sign (and from ssh's session-bind
message, which carries ssh's own view of the host key and signature), and
while ssh waits for it, reads the proxy's record with `--show PID SID`, the
way the provider will. Each case checks: the kex; the host key blob equal
to the server's .pub; the signature verifying over the session id, in C
(skp_hostkey_verify) and independently in Python (cryptography); the
record equal to what ssh bound; and the record gone after ssh exits.

--capture DIR instead runs a few logins through a recording relay and
writes the transport of each, up to the first 16 KiB, in the input format
of test/fuzz/fuzz_sshtransport.c (the seed corpus).
"""

import base64
import hashlib
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import \
    encode_dss_signature

SSH = "/usr/bin/ssh"
SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
CMD_TIMEOUT = 30.0

KEXES = [
    "curve25519-sha256",
    "ecdh-sha2-nistp256",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group-exchange-sha256",
    "sntrup761x25519-sha512@openssh.com",
]
# host key algorithm -> the host key file that answers it
HOSTKEY_ALGS = {
    "ssh-ed25519": "host_ed25519",
    "ecdsa-sha2-nistp256": "host_ecdsa256",
    "ecdsa-sha2-nistp384": "host_ecdsa384",
    "ecdsa-sha2-nistp521": "host_ecdsa521",
    "rsa-sha2-256": "host_rsa",
    "rsa-sha2-512": "host_rsa",
}
HOSTKEY_FILES = [("host_ed25519", ["-t", "ed25519"]),
                 ("host_ecdsa256", ["-t", "ecdsa", "-b", "256"]),
                 ("host_ecdsa384", ["-t", "ecdsa", "-b", "384"]),
                 ("host_ecdsa521", ["-t", "ecdsa", "-b", "521"]),
                 ("host_rsa", ["-t", "rsa", "-b", "3072"])]


# --- SSH wire helpers -------------------------------------------------

def sstr(b):
    return struct.pack(">I", len(b)) + b


def get_str(buf, off):
    if off + 4 > len(buf):
        raise ValueError("truncated")
    n = struct.unpack(">I", buf[off:off + 4])[0]
    if off + 4 + n > len(buf):
        raise ValueError("truncated")
    return buf[off + 4:off + 4 + n], off + 4 + n


def mpint(b):
    if not b or b[0] & 0x80:
        raise ValueError("not a positive mpint")
    return int.from_bytes(b, "big")


def py_verify(keyblob, sigblob, data):
    """Verify with python3-cryptography: a second, separate implementation."""
    ktype, off = get_str(keyblob, 0)
    salg, soff = get_str(sigblob, 0)
    sig, soff = get_str(sigblob, soff)
    if soff != len(sigblob):
        return False
    try:
        if ktype == b"ssh-ed25519":
            pk, off = get_str(keyblob, off)
            if salg != b"ssh-ed25519":
                return False
            ed25519.Ed25519PublicKey.from_public_bytes(pk).verify(sig, data)
            return True
        if ktype.startswith(b"ecdsa-sha2-nistp"):
            curve, off = get_str(keyblob, off)
            q, off = get_str(keyblob, off)
            c, h = {b"nistp256": (ec.SECP256R1(), hashes.SHA256()),
                    b"nistp384": (ec.SECP384R1(), hashes.SHA384()),
                    b"nistp521": (ec.SECP521R1(), hashes.SHA512())}[curve]
            if salg != ktype:
                return False
            r, o = get_str(sig, 0)
            s, o = get_str(sig, o)
            pub = ec.EllipticCurvePublicKey.from_encoded_point(c, q)
            pub.verify(encode_dss_signature(mpint(r), mpint(s)), data,
                       ec.ECDSA(h))
            return True
        if ktype == b"ssh-rsa":
            e, off = get_str(keyblob, off)
            n, off = get_str(keyblob, off)
            h = {b"rsa-sha2-256": hashes.SHA256(),
                 b"rsa-sha2-512": hashes.SHA512()}.get(salg)
            if h is None:
                return False
            pub = rsa.RSAPublicNumbers(mpint(e), mpint(n)).public_key()
            pub.verify(sig, data, padding.PKCS1v15(), h)
            return True
    except (InvalidSignature, ValueError, KeyError):
        return False
    return False


# --- a minimal ssh-agent that records what it is shown ----------------

AGENT_FAILURE = 5
AGENTC_REQUEST_IDENTITIES = 11
AGENT_IDENTITIES_ANSWER = 12
AGENTC_SIGN_REQUEST = 13
AGENT_SIGN_RESPONSE = 14
AGENTC_EXTENSION = 27
MSG_USERAUTH_REQUEST = 50


class Agent:
    """Holds one Ed25519 key; records per ssh pid what it was shown."""

    def __init__(self, path, show_bin, env):
        self.key = ed25519.Ed25519PrivateKey.generate()
        pub = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.blob = sstr(b"ssh-ed25519") + sstr(pub)
        self.path = path
        self.show_bin = show_bin
        self.env = env
        self.seen = {}          # pid -> dict
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def publine(self):
        return "ssh-ed25519 " + base64.b64encode(self.blob).decode()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._client, args=(c,),
                             daemon=True).start()

    def _client(self, c):
        c.settimeout(CMD_TIMEOUT)
        cred = c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                            struct.calcsize("3i"))
        pid = struct.unpack("3i", cred)[0]
        try:
            while True:
                hdr = self._recv(c, 4)
                if hdr is None:
                    return
                n = struct.unpack(">I", hdr)[0]
                if n == 0 or n > 256 * 1024:
                    return
                msg = self._recv(c, n)
                if msg is None:
                    return
                c.sendall(self._answer(pid, msg))
        except (OSError, ValueError):
            return
        finally:
            c.close()

    @staticmethod
    def _recv(c, n):
        out = b""
        while len(out) < n:
            b = c.recv(n - len(out))
            if not b:
                return None
            out += b
        return out

    def _rec(self, pid):
        with self.lock:
            return self.seen.setdefault(pid, {})

    def _answer(self, pid, msg):
        t = msg[0]
        if t == AGENTC_REQUEST_IDENTITIES:
            body = bytes([AGENT_IDENTITIES_ANSWER]) + struct.pack(">I", 1)
            body += sstr(self.blob) + sstr(b"proxy-e2e")
            return sstr(body)
        if t == AGENTC_EXTENSION:
            name, off = get_str(msg, 1)
            if name == b"session-bind@openssh.com":
                hk, off = get_str(msg, off)
                sid, off = get_str(msg, off)
                sig, off = get_str(msg, off)
                self._rec(pid)["bind"] = (hk, sid, sig)
            return sstr(bytes([AGENT_FAILURE]))
        if t == AGENTC_SIGN_REQUEST:
            blob, off = get_str(msg, 1)
            data, off = get_str(msg, off)
            if blob != self.blob:
                return sstr(bytes([AGENT_FAILURE]))
            sid, o = get_str(data, 0)
            if data[o] != MSG_USERAUTH_REQUEST:
                return sstr(bytes([AGENT_FAILURE]))
            rec = self._rec(pid)
            rec["sid"] = sid
            # Read the record now, while ssh and its proxy wait for us.
            p = subprocess.run([self.show_bin, "--show", str(pid),
                                sid.hex()], capture_output=True,
                               timeout=CMD_TIMEOUT, env=self.env)
            rec["show_rc"] = p.returncode
            rec["show"] = parse_show(p.stdout.decode())
            sig = sstr(b"ssh-ed25519") + sstr(self.key.sign(data))
            return sstr(bytes([AGENT_SIGN_RESPONSE]) + sstr(sig))
        return sstr(bytes([AGENT_FAILURE]))


def parse_show(text):
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


# --- the world: keys, sshd, cleanup -----------------------------------

class World:
    def __init__(self, proxy_bin):
        self.bin = os.path.abspath(proxy_bin)
        self.tmp = tempfile.mkdtemp(prefix="skp-proxy-")
        os.chmod(self.tmp, 0o700)
        self.xdg = self.p("xdg")
        os.mkdir(self.xdg, 0o700)
        self.procs = []
        self.agent = None

    def p(self, *parts):
        return os.path.join(self.tmp, *parts)

    def env(self):
        e = dict(os.environ)
        e["XDG_RUNTIME_DIR"] = self.xdg
        e.pop("SSH_AUTH_SOCK", None)
        return e

    def keygen(self, name, args):
        subprocess.run([SSH_KEYGEN, "-q", "-N", "", "-C", name, "-f",
                        self.p(name)] + args, check=True,
                       timeout=CMD_TIMEOUT)

    def pubblob(self, name):
        with open(self.p(name + ".pub")) as f:
            return base64.b64decode(f.read().split()[1])

    def free_port(self, family=socket.AF_INET, addr="127.0.0.1"):
        s = socket.socket(family)
        s.bind((addr, 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def sshd(self, name, hostkeys, listen, extra=()):
        port = self.free_port()
        conf = self.p(name + ".conf")
        kex = subprocess.run([SSH, "-Q", "kex"], capture_output=True,
                             text=True, check=True).stdout.split()
        lines = ["Port %d" % port]
        lines += ["ListenAddress %s" % a for a in listen]
        lines += ["HostKey %s" % self.p(k) for k in hostkeys]
        lines += ["PidFile %s" % self.p(name + ".pid"),
                  "AuthorizedKeysFile %s" % self.p("authorized_keys"),
                  "PasswordAuthentication no",
                  "KbdInteractiveAuthentication no",
                  "UsePAM no", "StrictModes no",
                  "PermitRootLogin yes", "AllowTcpForwarding yes",
                  "KexAlgorithms %s" % ",".join(kex),
                  "HostKeyAlgorithms +ssh-rsa"]
        lines += list(extra)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run([SSHD, "-t", "-f", conf], check=True,
                       timeout=CMD_TIMEOUT)
        proc = subprocess.Popen([SSHD, "-D", "-f", conf, "-E",
                                 self.p(name + ".log")])
        self.procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                return port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start")

    def ssh_args(self, port, host="127.0.0.1", extra=()):
        return [SSH, "-F", "/dev/null", "-p", str(port),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=%s" % self.agent.path,
                "-i", self.p("user.pub"),
                "-o", "UserKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=no",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"] + \
            list(extra) + ["root@" + host]

    def close(self):
        if self.agent is not None:
            self.agent.close()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, why=""):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name))
            if why:
                for line in str(why).splitlines():
                    print("# " + line)
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def login(w, port, extra, cmd="true", host="127.0.0.1", stdin=None):
    """One ssh run; answers (returncode, pid, stdout, stderr)."""
    args = w.ssh_args(port, host, extra) + [cmd]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE if stdin else
                            subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=w.env())
    try:
        out, err = proc.communicate(stdin, timeout=CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return -1, proc.pid, out, err + b"\n(timed out)"
    return proc.returncode, proc.pid, out, err


def check_login(t, w, name, port, extra, want_kex, want_key, want_port,
                want_sigalg, want_verify=True):
    rc, pid, out, err = login(w, port, extra)
    rec = w.agent.seen.get(pid, {})
    show = rec.get("show", {})
    t.ok(rc == 0, name + ": ssh logs in through the proxy",
         err.decode(errors="replace"))
    if rc != 0:
        return
    # The proxy's stderr is ssh's: nothing there when all went well (under
    # AddressSanitizer this also catches leaks and errors in the proxy).
    t.ok(err == b"", name + ": nothing on stderr",
         err.decode(errors="replace"))
    t.ok("sid" in rec and "kex" in show,
         name + ": record present while ssh authenticates", show)
    if "kex" not in show:
        return
    key = bytes.fromhex(show.get("hostkey", ""))
    sig = bytes.fromhex(show.get("sig", ""))
    sid = rec["sid"]
    salg, _ = get_str(sig, 0)
    t.ok(show["kex"] == want_kex and show["host"] == "127.0.0.1" and
         show["port"] == str(want_port) and show["pid"] == str(pid),
         name + ": kex, host, port and pid", show)
    t.ok(key == want_key, name + ": host key equals the server's .pub")
    t.ok(salg == want_sigalg.encode(), name + ": signature algorithm",
         salg)
    bind = rec.get("bind")
    t.ok(bind is not None and bind[0] == key and bind[1] == sid and
         bind[2] == sig, name + ": record equals what ssh bound to the agent")
    if want_verify:
        t.ok(show.get("verify") == "0 ok" and rec["show_rc"] == 0,
             name + ": skp_hostkey_verify accepts it over the session id",
             show.get("verify"))
        t.ok(py_verify(key, sig, sid),
             name + ": python cryptography verifies it too")
    else:
        t.ok(show.get("verify", "").startswith("-10 ") and
             rec["show_rc"] != 0,
             name + ": ssh-rsa (SHA-1) signature refused",
             show.get("verify"))
    t.ok(not os.path.exists(os.path.join(w.xdg, "sk-phone", str(pid))),
         name + ": record removed when ssh is done")


def flip_check(t, w, port):
    """The C verifier refuses the real signature over another id."""
    got = {}

    orig = w.agent._answer

    def spy(pid, msg):
        if msg[0] == AGENTC_SIGN_REQUEST:
            blob, off = get_str(msg, 1)
            data, off = get_str(msg, off)
            sid, _ = get_str(data, 0)
            bad = bytes([sid[0] ^ 1]) + sid[1:]
            p = subprocess.run([w.bin, "--show", str(pid), bad.hex()],
                               capture_output=True, timeout=CMD_TIMEOUT,
                               env=w.env())
            got["show"] = parse_show(p.stdout.decode())
            got["rc"] = p.returncode
        return orig(pid, msg)

    w.agent._answer = spy
    try:
        rc, pid, out, err = login(w, port, ["-o", "ProxyCommand=%s %%h %%p"
                                            % w.bin])
    finally:
        w.agent._answer = orig
    t.ok(rc == 0 and got.get("rc") == 1 and
         got.get("show", {}).get("verify", "").startswith("-25 "),
         "a real signature does not verify over a changed session id",
         got)


def run(proxy_bin):
    t = Tap()
    w = World(proxy_bin)
    try:
        for name, args in HOSTKEY_FILES:
            w.keygen(name, args)
        w.keygen("final_ed25519", ["-t", "ed25519"])
        w.agent = Agent(w.p("agent.sock"), w.bin, w.env())
        with open(w.p("user.pub"), "w") as f:
            f.write(w.agent.publine() + "\n")
        with open(w.p("authorized_keys"), "w") as f:
            f.write(w.agent.publine() + "\n")
        v6 = True
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            v6 = False
        listen = ["127.0.0.1"] + (["[::1]"] if v6 else [])
        port = w.sshd("sshd", [k for k, _ in HOSTKEY_FILES], listen)
        proxy = ["-o", "ProxyCommand=%s %%h %%p" % w.bin]

        for kex in KEXES:
            for alg, keyfile in HOSTKEY_ALGS.items():
                check_login(t, w, "%s/%s" % (kex, alg), port,
                            proxy + ["-o", "KexAlgorithms=" + kex,
                                     "-o", "HostKeyAlgorithms=" + alg],
                            kex, w.pubblob(keyfile), port, alg)

        # Every other kex this OpenSSH offers, with an ed25519 host key.
        allkex = subprocess.run([SSH, "-Q", "kex"], capture_output=True,
                                text=True, check=True).stdout.split()
        for kex in allkex:
            if kex in KEXES:
                continue
            check_login(t, w, "%s/ssh-ed25519" % kex, port,
                        proxy + ["-o", "KexAlgorithms=" + kex,
                                 "-o", "HostKeyAlgorithms=ssh-ed25519"],
                        kex, w.pubblob("host_ed25519"), port,
                        "ssh-ed25519")

        # A host that signs with SHA-1: recorded, but never verified.
        check_login(t, w, "curve25519-sha256/ssh-rsa", port,
                    proxy + ["-o", "KexAlgorithms=curve25519-sha256",
                             "-o", "HostKeyAlgorithms=ssh-rsa"],
                    "curve25519-sha256", w.pubblob("host_rsa"), port,
                    "ssh-rsa", want_verify=False)

        flip_check(t, w, port)

        # A jump host: the record is the final host's, not the jump's.
        final = w.sshd("final", ["final_ed25519"], ["127.0.0.1"])
        inner = " ".join(w.ssh_args(port)[:-1]).replace(
            "LogLevel=ERROR", "LogLevel=QUIET")
        jump = "%s -W %%h:%%p root@127.0.0.1" % inner
        # ssh expands %h and %p of ProxyCommand first, so -J's own
        # patterns are written %%h and %%p there.
        jump_pc = "%s -J '%s' %%h %%p" % (w.bin, jump.replace("%", "%%"))
        check_login(t, w, "jump host", final,
                    ["-o", "ProxyCommand=" + jump_pc,
                     "-o", "KexAlgorithms=curve25519-sha256",
                     "-o", "HostKeyAlgorithms=ssh-ed25519"],
                    "curve25519-sha256",
                    w.pubblob("final_ed25519"), final, "ssh-ed25519")

        if v6:
            rc, pid, out, err = login(w, port, proxy, "echo v6", "::1")
            show = w.agent.seen.get(pid, {}).get("show", {})
            t.ok(rc == 0 and out == b"v6\n" and show.get("host") == "::1"
                 and show.get("pin") == "[::1]:%d" % port,
                 "IPv6 literal ::1", (err, show))

        # Bytes both ways and the end of stream passed through intact.
        data = os.urandom(3 * 1024 * 1024 + 17)
        rc, pid, out, err = login(w, port, proxy, "sha256sum; cat",
                                  stdin=data)
        t.ok(rc == 0 and out.split(b" ")[0].decode() ==
             hashlib.sha256(data).hexdigest(),
             "3 MiB through the proxy arrive whole, EOF passed on", err)
        rc, pid, out, err = login(w, port, proxy, "head -c 2000000 "
                                  "/dev/zero")
        t.ok(rc == 0 and out == bytes(2000000),
             "2 MB from the server arrive whole", err)
        rc, pid, out, err = login(w, port, proxy, "exit 7")
        t.ok(rc == 7, "the remote exit status reaches ssh", rc)

        errors(t, w)
    finally:
        w.close()
    return t.done()


def errors(t, w):
    """What the proxy refuses, and how it says so."""
    def proxy(*args, timeout=CMD_TIMEOUT):
        p = subprocess.run([w.bin] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout,
                           env=w.env())
        return p.returncode, p.stderr.decode(errors="replace")

    for args in [(), ("127.0.0.1",), ("-x", "127.0.0.1", "22"),
                 ("127.0.0.1", "0"), ("127.0.0.1", "65536"),
                 ("127.0.0.1", "ssh"), ("-oProxyCommand=x", "22"),
                 ("host;touch x", "22"), ("a b", "22"),
                 ("-J", "nc %x", "h", "22"), ("-w", "0", "h", "22"),
                 ("-J",)]:
        rc, err = proxy(*args)
        want = "bad -J command" if "nc %x" in args else \
            "usage: sk-phone proxy"
        t.ok(rc == 2 and want in err,
             "usage error for %r" % (args,), (rc, err))

    closed = w.free_port()
    rc, err = proxy("127.0.0.1", str(closed))
    t.ok(rc == 1 and err.startswith("sk-phone proxy: connect to 127.0.0.1 "
                                    "port %d: Connection refused" % closed)
         and err.count("\n") == 1, "connection refused: one line, exit 1",
         err)

    rc, err = proxy("no-such-host.invalid", "22")
    t.ok(rc == 1 and err.startswith("sk-phone proxy: no-such-host.invalid")
         and err.count("\n") == 1, "unknown host: one line, exit 1", err)

    # A listener whose queue is full drops SYNs: the connect times out.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(s.getsockname())
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.2)
    t0 = time.monotonic()
    rc, err = proxy("-w", "1", "127.0.0.1", str(s.getsockname()[1]),
                    timeout=15)
    dt = time.monotonic() - t0
    t.ok(rc == 1 and "timed out" in err and dt < 5,
         "connect timeout (-w 1)", (rc, err, dt))
    for c in fillers:
        c.close()
    s.close()

    rc, err = proxy("-J", "exit 0", "h", "22")
    t.ok(rc == 0 and err == "", "-J command that ends at once: clean exit",
         (rc, err))

    # stdin closed at once: half-close to the server, then its end.
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        p = subprocess.Popen([w.bin, "127.0.0.1", str(ls.getsockname()[1])],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=w.env())
        ls.settimeout(10)
        c, _ = ls.accept()
        c.settimeout(10)
        p.stdin.write(b"hello")
        p.stdin.close()
        got = b""
        while True:
            b = c.recv(100)
            if not b:
                break
            got += b
        c.sendall(b"bye")
        c.close()
        out = p.stdout.read()
        rc = p.wait(10)
        t.ok(got == b"hello" and out == b"bye" and rc == 0,
             "half-close: client EOF reaches the server, reply still "
             "comes back", (got, out, rc))


# --- capture mode: seeds for the fuzz corpus --------------------------

def frame(direction, data):
    """One frame of fuzz_sshtransport's input format."""
    out = b""
    while data:
        chunk, data = data[:65535], data[65535:]
        if len(chunk) < 127:
            out += bytes([direction << 7 | len(chunk)]) + chunk
        else:
            out += bytes([direction << 7 | 127]) + \
                struct.pack(">H", len(chunk)) + chunk
    return out


def relay(host, port, outfile):
    """A ProxyCommand that records both directions, in order."""
    # ssh hangs up on its ProxyCommand when done: write as we go.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    s = socket.create_connection((host, int(port)), 10)
    out = open(outfile, "wb")
    out.write(bytes([1]))       # byte 0: chunking for the second run
    size, limit = 1, 16 * 1024
    fin = fout = False

    def rec(direction, b):
        nonlocal size
        if size < limit:
            f = frame(direction, b)
            out.write(f)
            out.flush()
            size += len(f)

    while not (fin and fout):
        r, _, _ = select.select(([] if fin else [0]) +
                                ([] if fout else [s]), [], [], 30)
        if not r:
            break
        if 0 in r:
            b = os.read(0, 65536)
            if not b:
                fin = True
                s.shutdown(socket.SHUT_WR)
            else:
                s.sendall(b)
                rec(0, b)
        if s in r:
            b = s.recv(65536)
            if not b:
                fout = True
                os.close(1)
            else:
                os.write(1, b)
                rec(1, b)
    out.close()
    return 0


def capture(proxy_bin, outdir):
    w = World(proxy_bin)
    try:
        for name, args in HOSTKEY_FILES:
            w.keygen(name, args)
        w.agent = Agent(w.p("agent.sock"), w.bin, w.env())
        for f in ("user.pub", "authorized_keys"):
            with open(w.p(f), "w") as fh:
                fh.write(w.agent.publine() + "\n")
        port = w.sshd("sshd", [k for k, _ in HOSTKEY_FILES], ["127.0.0.1"])
        me = os.path.abspath(__file__)
        cases = [(k, "ssh-ed25519") for k in KEXES] + \
            [("curve25519-sha256", a) for a in HOSTKEY_ALGS] + \
            [("diffie-hellman-group-exchange-sha256", "rsa-sha2-512"),
             ("ecdh-sha2-nistp521", "ecdsa-sha2-nistp384")]
        for kex, alg in cases:
            out = os.path.join(outdir, "real-%s-%s" % (kex.split("@")[0],
                                                        alg))
            pc = "/usr/bin/python3 %s --relay %%h %%p %s" % (me, out)
            rc, pid, o, err = login(w, port, ["-o", "ProxyCommand=" + pc,
                                              "-o", "KexAlgorithms=" + kex,
                                              "-o", "HostKeyAlgorithms=" +
                                              alg])
            print(rc, out, err.decode(errors="replace").strip())
    finally:
        w.close()
    return 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--relay":
        return relay(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) == 4 and sys.argv[2] == "--capture":
        return capture(sys.argv[1], sys.argv[3])
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    return run(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
