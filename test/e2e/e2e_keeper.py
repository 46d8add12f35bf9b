# End-to-end: the connection keeper (issue 14, `sk-phone keeper`).
"""usage: e2e_keeper.py BUILD_DIR [CASE ...]

The real relay, the reference phone, ssh-keygen with the provider, and
the keeper the provider starts on demand (SK_PHONE_KEEPER), all in the
test's folder (XDG_RUNTIME_DIR). The keeper is started on demand and
keeps one relay connection for several providers at once; killed in the
middle of a call, the provider fails within 2 s saying so; a stale
socket, a keeper that does not answer, a socket or folder of another
user: the provider goes direct; the keeper refuses a peer of another
user (SO_PEERCRED); what it relays holds no plaintext of the request;
SK_PHONE_KEEPER=off goes direct and starts nothing; the provider loads
libwebsockets only for a direct call, and without it the keeper's way
still signs while the direct way says what is missing.
"""

import os
import re
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, alive, SSH_KEYGEN  # noqa: E402

K = None
keeper = Tap()
NOBODY = 65534
# Sent to the phone inside the request: never readable by the keeper.
APP = "ssh:keeper-plaintext-probe"


def sock_dir():
    return os.path.join(K.run_dir, "sk-phone")


def sock_path():
    return os.path.join(sock_dir(), "keeper.sock")


def fresh():
    """No keeper running, no socket file: the next call starts one."""
    K.stop_keepers()
    for f in ("keeper.sock", "keeper.lock"):
        try:
            os.unlink(os.path.join(sock_dir(), f))
        except FileNotFoundError:
            pass


def keeper_pid():
    pids = [p for p in K.keepers() if alive(p)]
    return pids[0] if len(pids) == 1 else None


def sign(key="key", debug=True, **extra):
    """ssh-keygen -Y sign with the provider: (rc, stderr, seconds)."""
    msg = K.path("message.txt")
    with open(msg, "w") as f:
        f.write("one round trip\n")
    if os.path.exists(msg + ".sig"):
        os.unlink(msg + ".sig")
    env = K.env(SSH_SK_PROVIDER=K.provider,
                SK_PHONE_DEBUG="1" if debug else None, **extra)
    rc, out, err, dt = K.run([SSH_KEYGEN, "-Y", "sign", "-f", K.path(key),
                              "-n", "file", msg], env=env)
    return rc, err, dt


def sign_argv(key="key"):
    msg = K.path("message-%s.txt" % key)
    with open(msg, "w") as f:
        f.write("one round trip\n")
    return [SSH_KEYGEN, "-Y", "sign", "-f", K.path(key), "-n", "file", msg]


def done_line(err):
    """The provider's debug line that says which way the call went."""
    lines = [x for x in err.splitlines() if "call done:" in x]
    return lines[-1] if lines else ""


def relay_connects():
    """How many relay connections the keeper(s) opened, from their log."""
    return K.log("keeper").count("sk-phone keeper: connecting to ")


def tcp_peers(pid, port):
    """The keeper's established TCP connections to port (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", t)
        if m:
            inodes.add(m.group(1))
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            c = row.split()
            if (c[9] in inodes and c[3] == "01" and
                    int(c[2].rsplit(":", 1)[1], 16) == port):
                n += 1
    return n


@keeper.case
def started_on_demand():
    fresh()
    check(not os.path.exists(sock_path()), "a socket before any call")
    rc, err, dt = sign()
    check(rc == 0, "sign through a keeper started on demand", err)
    check("through the keeper" in done_line(err),
          "the call did not go through the keeper", err)
    pid = keeper_pid()
    check(pid is not None, "no keeper running after the call",
          K.log("keeper"))
    st = os.lstat(sock_path())
    check(st.st_uid == os.geteuid() and (st.st_mode & 0o077) == 0,
          "the socket is not the user's alone: %o" % st.st_mode)
    # Detached: not a child of the provider, in a session of its own.
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    check(int(fields[3]) == pid or int(fields[1]) != os.getpid(),
          "the keeper is not in a session of its own")


@keeper.case
def warm_and_shared():
    """Later calls and two providers at once: one relay connection."""
    fresh()
    before = relay_connects()
    rc, err, _ = sign()
    check(rc == 0, "first sign", err)
    rc, err, dt = sign()
    check(rc == 0 and "through the keeper" in done_line(err),
          "second sign", err)
    env = K.env(SSH_SK_PROVIDER=K.provider, SK_PHONE_DEBUG="1")
    procs = []
    for i in range(2):
        procs.append(subprocess.Popen(
            sign_argv(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=K.tmp, start_new_session=True))
    errs = []
    for p in procs:
        _, e = p.communicate(timeout=30)
        errs.append(e.decode("utf-8", "replace"))
        check(p.returncode == 0, "a provider of two at once failed",
              errs[-1])
        check("through the keeper" in done_line(errs[-1]),
              "a provider of two at once went direct", errs[-1])
    check(relay_connects() - before == 1,
          "the keeper opened %d relay connections for 4 calls, not 1" %
          (relay_connects() - before), K.log("keeper")[-2000:])
    pid = keeper_pid()
    check(pid is not None and tcp_peers(pid, K.relay_port) == 1,
          "the keeper does not hold exactly one connection to the relay")


@keeper.case
def killed_mid_call():
    """The phone away: the relay holds the call; the keeper is killed."""
    fresh()
    rc, err, _ = sign()
    check(rc == 0, "warm-up sign", err)
    pid = keeper_pid()
    K.stop_phone()
    try:
        env = K.env(SSH_SK_PROVIDER=K.provider, SK_PHONE_DEBUG="1",
                    SK_PHONE_OFFLINE_TIMEOUT="15")
        p = subprocess.Popen(sign_argv(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, cwd=K.tmp,
                             start_new_session=True)
        # Until the provider says the relay holds the call (OFFLINE).
        time.sleep(1.0)
        check(p.poll() is None, "the call ended before the kill")
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        _, e = p.communicate(timeout=10)
        dt = time.monotonic() - t0
        e = e.decode("utf-8", "replace")
        check(p.returncode != 0, "sign passed without a phone", e)
        check(dt < 2.0, "the provider took %.1f s after the kill" % dt, e)
        check("the connection keeper (sk-phone keeper) went away during "
              "the call to phone 'phone1'" in e,
              "no clear line about the keeper", e)
    finally:
        K.start_phone()


@keeper.case
def stale_socket():
    """A keeper killed: its socket file stays; the next call starts a
    new keeper, which takes the place."""
    fresh()
    rc, err, _ = sign()
    check(rc == 0, "first sign", err)
    old = keeper_pid()
    os.kill(old, signal.SIGKILL)
    while alive(old):
        time.sleep(0.01)
    check(os.path.exists(sock_path()), "the killed keeper's socket went")
    rc, err, dt = sign()
    check(rc == 0 and "through the keeper" in done_line(err),
          "sign after a stale socket did not go through a new keeper", err)
    new = keeper_pid()
    check(new is not None and new != old, "no new keeper")


def listener(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    return s


@keeper.case
def slow_keeper_goes_direct():
    """A socket that takes the connection and never answers: direct,
    about one second later."""
    fresh()
    os.makedirs(sock_dir(), 0o700, exist_ok=True)
    s = listener(sock_path())
    try:
        rc, err, _ = sign(debug=False, SK_PHONE_KEEPER="off")
        check(rc == 0, "direct sign", err)
        rc0, err0, base = sign(debug=False, SK_PHONE_KEEPER="off")
        rc, err, dt = sign()
        check(rc == 0 and "directly" in done_line(err),
              "a silent keeper did not send the call direct", err)
        check("no answer from the keeper within 1 s" in err,
              "the debug line does not say why", err)
        check(dt - base < 1.6, "a silent keeper cost %.1f s" % (dt - base))
        rc, err, _ = sign(debug=False)
        check(rc == 0 and not [x for x in err.splitlines()
                               if x.startswith("sk-phone")],
              "a line about the keeper without SK_PHONE_DEBUG", err)
    finally:
        s.close()
        os.unlink(sock_path())


def peer_as_nobody(path):
    """Connect to the keeper as uid nobody and send OPEN: its answer."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(3)
            c.connect(path)
            url = K.relay_url.encode()
            frame = (b"\x40\0\0\0\0\x01" + struct.pack(">IH", 5000,
                                                      len(url)) + url)
            c.sendall(struct.pack(">I", len(frame)) + frame)
            got = b""
            while True:
                d = c.recv(4096)
                if not d:
                    break
                got += d
            os.write(w, got)
        except Exception as e:  # noqa: BLE001
            os.write(w, ("error " + str(e)).encode())
        os._exit(0)
    os.close(w)
    got = b""
    while True:
        d = os.read(r, 4096)
        if not d:
            break
        got += d
    os.close(r)
    os.waitpid(pid, 0)
    return got


@keeper.case
def other_user_refused():
    if os.geteuid() != 0:
        raise AssertionError("this case needs root (to be another user): "
                             "run the suite as root, as CI does")
    # The keeper: a peer of another uid gets FAILED 9 and is closed.
    fresh()
    # Outside the test's folder (0700): one that uid nobody can enter.
    shared = tempfile.mkdtemp(prefix="skp-keeper-shared-")
    os.chmod(shared, 0o755)
    path = os.path.join(shared, "k.sock")
    kp = K.spawn("keeper-shared", [K.cli, "keeper", "--socket", path,
                                   "--foreground"],
                 env=K.env(preload=False, SK_PHONE_DEBUG="1"))
    skpe2e.wait_file(path + ".lock", kp)
    deadline = time.monotonic() + 5
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.chmod(path, 0o666)
    got = peer_as_nobody(path)
    check(len(got) >= 12 and got[4] == 0xC1 and got[9] == 9,
          "the keeper did not refuse uid %d: %r" % (NOBODY, got[:80]))
    check(b"refused: the peer is uid 65534" in got,
          "the refusal does not say why: %r" % got)
    check(kp.poll() is None, "the keeper died of the refusal")
    K.stop(kp)
    shutil.rmtree(shared, ignore_errors=True)
    # The provider: a socket of another user in our folder, then the
    # folder itself another user's: direct, no keeper started.
    fresh()
    os.makedirs(sock_dir(), 0o700, exist_ok=True)
    s = listener(sock_path())
    os.chown(sock_path(), NOBODY, NOBODY)
    try:
        rc, err, _ = sign()
        check(rc == 0 and "directly" in done_line(err) and
              "another user" in done_line(err),
              "a socket of another user was not refused", err)
    finally:
        s.close()
        os.unlink(sock_path())
    os.chown(sock_dir(), NOBODY, NOBODY)
    try:
        rc, err, _ = sign()
        check(rc == 0 and "directly" in done_line(err) and
              "another user" in done_line(err),
              "a folder of another user was not refused", err)
        check(not os.path.exists(sock_path()) and keeper_pid() is None,
              "a keeper was started in another user's folder")
    finally:
        os.chown(sock_dir(), os.geteuid(), os.getegid())


class Recorder:
    """Between the provider and the keeper: passes every byte on and
    keeps a copy of both directions."""

    def __init__(self, path, target):
        self.s = listener(path)
        self.target = target
        self.seen = bytearray()
        self.lock = threading.Lock()
        self.stop = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        self.s.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.pipe, args=(c,),
                             daemon=True).start()

    def pipe(self, c):
        k = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        k.connect(self.target)
        socks = [c, k]
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                break
            for s in r:
                d = s.recv(65536)
                if not d:
                    c.close()
                    k.close()
                    return
                with self.lock:
                    self.seen += d
                (k if s is c else c).sendall(d)

    def close(self):
        self.stop = True
        self.s.close()


@keeper.case
def never_sees_plaintext():
    """Everything the keeper is given and gives back, recorded at its
    socket, for an enrolment and a signature with an application name
    of our own: frames of §11, and nothing of the request in clear."""
    fresh()
    real = K.path("real-keeper.sock")
    kp = K.spawn("keeper-real", [K.cli, "keeper", "--socket", real,
                                 "--foreground"],
                 env=K.env(preload=False))
    skpe2e.wait_file(real + ".lock", kp)
    os.makedirs(sock_dir(), 0o700, exist_ok=True)
    rec = Recorder(sock_path(), real)
    try:
        rc, out, err, _ = K.keygen("probe", "application=" + APP,
                                   env=K.env(SK_PHONE_DEBUG="1"))
        check(rc == 0 and "through the keeper" in done_line(err),
              "enrolment through the recorded keeper", err)
        rc, err, _ = sign("probe")
        check(rc == 0 and "through the keeper" in done_line(err),
              "signature through the recorded keeper", err)
    finally:
        rec.close()
        K.stop(kp)
        os.unlink(sock_path())
    seen = bytes(rec.seen)
    check(seen.count(K.relay_url.encode()) == 2,
          "the recording has not the two OPENs")
    check(len(seen) > 1000, "too little recorded: %d bytes" % len(seen))
    with open(K.path("probe.pub"), "rb") as f:
        pub = f.read().split()[1]
    import base64
    blob = base64.b64decode(pub)
    for what, probe in (("the application", APP.encode()),
                        ("the application's hash input", b"keeper-plaint"),
                        ("the computer's name", b"testbox"),
                        ("the message", b"one round trip"),
                        ("the new public key", blob[-65:])):
        check(probe not in seen, "%s is in clear in what the keeper "
              "relays" % what)


def frames(data):
    """Split what a keeper sent into (kind, channel, body)."""
    out = []
    while len(data) >= 4:
        n = struct.unpack(">I", data[:4])[0]
        f = data[4:4 + n]
        out.append((f[0], struct.unpack(">I", f[1:5])[0], f[5:]))
        data = data[4 + n:]
    return out


@keeper.case
def relay_list():
    """OPEN with a relay list whose first URL refuses: the keeper goes
    on to the next (§7.1) and the call reaches the relay (OFFLINE for a
    mailbox nobody listens on)."""
    fresh()
    path = K.path("list.sock")
    kp = K.spawn("keeper-list", [K.cli, "keeper", "--socket", path,
                                 "--foreground"],
                 env=K.env(preload=False, SK_PHONE_DEBUG="1"))
    try:
        skpe2e.wait_file(path + ".lock", kp)
        deadline = time.monotonic() + 5
        while not os.path.exists(path):
            check(time.monotonic() < deadline, "no socket")
            time.sleep(0.01)
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        lst = ("ws://127.0.0.1:%d %s" % (dead.getsockname()[1],
                                         K.relay_url)).encode()
        opn = b"\x40\0\0\0\0\x01" + struct.pack(">IH", 10000,
                                                  len(lst)) + lst
        call = b"\x02\0\0\0\x07" + os.urandom(32) + struct.pack(">I", 5000)
        data = b"\x04\0\0\0\x07" + b"message one"
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(path)
        c.sendall(b"".join(struct.pack(">I", len(f)) + f
                           for f in (opn, call, data)))
        got = b""
        while len([f for f in frames(got) if f[0] == 0x84]) == 0:
            d = c.recv(4096)
            check(d, "the keeper closed: %r" % frames(got),
                  K.log("keeper-list"))
            got += d
        fs = frames(got)
        check(fs[0][0] == 0xC0 and (0x84, 7, b"") in fs,
              "READY then OFFLINE on channel 7 expected: %r" % fs)
        c.close()
        dead.close()
        log = K.log("keeper-list")
        check("connected (URL 2 of " in log,
              "the keeper did not say it went on to URL 2", log)
    finally:
        K.stop(kp)


@keeper.case
def idle_exit():
    """--idle: the relay connection closed and the keeper gone that
    long after the last call, its socket file removed."""
    fresh()
    os.makedirs(sock_dir(), 0o700, exist_ok=True)
    p = K.spawn("keeper-idle", [K.cli, "keeper", "--idle", "1",
                                "--foreground"],
                env=K.env(preload=False, SK_PHONE_DEBUG="1"))
    try:
        skpe2e.wait_file(os.path.join(sock_dir(), "keeper.lock"), p)
        deadline = time.monotonic() + 5
        while not os.path.exists(sock_path()):
            check(time.monotonic() < deadline, "no socket",
                  K.log("keeper-idle"))
            time.sleep(0.01)
        rc, err, _ = sign()
        check(rc == 0 and "through the keeper" in done_line(err),
              "sign through the keeper", err)
        t0 = time.monotonic()
        p.wait(timeout=5)
        dt = time.monotonic() - t0
        log = K.log("keeper-idle")
        check(p.returncode == 0 and 0.5 < dt < 3,
              "the keeper left %.1f s after the call (exit %s)" %
              (dt, p.returncode), log)
        check("closing the idle connection" in log and
              "idle for 1 s: exiting" in log, "no idle lines", log)
        check(not os.path.exists(sock_path()),
              "the socket file stayed after the keeper left")
    finally:
        K.stop(p)


@keeper.case
def socket_activated():
    """As systemd starts it (sk-phone-keeper.socket): the socket made
    by systemd-socket-activate, handed over as fd 3 (LISTEN_FDS)."""
    tool = "/usr/bin/systemd-socket-activate"
    if not os.path.exists(tool):
        raise AssertionError("no %s: install systemd (sh scripts/deps.sh)"
                             % tool)
    fresh()
    os.makedirs(sock_dir(), 0o700, exist_ok=True)
    env = K.env(preload=False, SK_PHONE_DEBUG="1")
    # It hands the program only the variables named with -E.
    passed = []
    for k in ("XDG_RUNTIME_DIR", "SK_PHONE_DEBUG", "ASAN_OPTIONS",
              "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in env:
            passed += ["-E", k]
    p = K.spawn("keeper-activated", [tool, "-l", sock_path()] + passed +
                [K.cli, "keeper"], env=env)
    try:
        deadline = time.monotonic() + 5
        while not os.path.exists(sock_path()):
            check(time.monotonic() < deadline and p.poll() is None,
                  "systemd-socket-activate made no socket",
                  K.log("keeper-activated"))
            time.sleep(0.01)
        for _ in range(2):
            rc, err, _ = sign()
            check(rc == 0 and "through the keeper" in done_line(err),
                  "sign through the activated keeper", err)
        log = K.log("keeper-activated")
        check("socket from systemd" in log and
              log.count("sk-phone keeper: serving") == 1,
              "the keeper did not take systemd's socket once", log)
    finally:
        K.stop(p)


@keeper.case
def off_goes_direct():
    fresh()
    rc, err, _ = sign(SK_PHONE_KEEPER="off")
    check(rc == 0 and "directly" in done_line(err),
          "SK_PHONE_KEEPER=off did not go direct", err)
    check(not os.path.exists(sock_path()) and keeper_pid() is None,
          "SK_PHONE_KEEPER=off started a keeper")
    rc, err, _ = sign(SK_PHONE_KEEPER="relative/sk-phone")
    check(rc == 0 and "SK_PHONE_KEEPER=relative/sk-phone: give the "
          "absolute path of sk-phone, or off; connecting directly" in err,
          "a relative SK_PHONE_KEEPER is not explained", err)


@keeper.case
def libwebsockets_only_when_direct():
    """libsk-phone.so links neither libwebsockets nor libssl: it loads
    them for a relay connection of its own (include/sk-phone/lazylib.h),
    never for a call through the keeper (ld.so's LD_DEBUG=files, which
    ssh-keygen passes on to ssh-sk-helper)."""
    rc, err, _ = sign()
    check(rc == 0, "sign", err)
    rc, err, _ = sign(LD_DEBUG="files")
    check(rc == 0 and "through the keeper" in done_line(err),
          "the call did not go through the keeper", err)
    check("libsk-phone.so" in err,
          "LD_DEBUG did not reach ssh-sk-helper", err)
    loaded = re.findall(r"file=(\S+)", err)
    check(not [x for x in loaded if "libwebsockets" in x or "libssl" in x],
          "libwebsockets or libssl loaded for a call through the keeper",
          "\n".join(loaded))
    rc, err, _ = sign(LD_DEBUG="files", SK_PHONE_KEEPER="off")
    check(rc == 0 and "directly" in done_line(err), "sign directly", err)
    # dlopen()ed at the call (by libsk-phone.so; by libasan.so, which
    # intercepts dlopen, in a sanitizer build).
    check(re.search(r"file=libwebsockets\.so\S* \[0\];\s+dynamically "
                    r"loaded by \S*(libsk-phone|libasan)\.so", err)
          is not None,
          "libwebsockets not loaded by the provider for a direct call", err)


@keeper.case
def libwebsockets_missing():
    """libwebsockets hidden (a bind mount of /dev/null over it, in a
    mount namespace of the signature's own): through the running keeper
    the signature still works, since the provider does not load it; a
    direct one fails saying which library is missing and what to do, and
    blames neither the phone nor the relay."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise skpe2e.Skip("hiding a library needs root and unshare(1)")
    rc, err, _ = sign()
    check(rc == 0, "sign", err)
    pid = keeper_pid()
    check(pid is not None, "no keeper")
    with open("/proc/%d/maps" % pid) as f:
        libs = {ln.split()[-1] for ln in f if "libwebsockets.so" in ln}
    check(len(libs) == 1, "the keeper has not one libwebsockets", str(libs))
    lib = libs.pop()
    msg = K.path("message.txt")
    hide = ["unshare", "-m", "sh", "-c",
            'mount --bind /dev/null "$0" && exec "$@"', lib, SSH_KEYGEN,
            "-Y", "sign", "-f", K.path("key"), "-n", "file", msg]
    for way in ("keeper", "off"):
        if os.path.exists(msg + ".sig"):
            os.unlink(msg + ".sig")
        env = K.env(SSH_SK_PROVIDER=K.provider, SK_PHONE_DEBUG="1")
        if way == "off":
            env["SK_PHONE_KEEPER"] = "off"
        rc, out, err, _ = K.run(hide, env=env)
        if way == "keeper":
            check(rc == 0 and "through the keeper" in done_line(err),
                  "without libwebsockets, the keeper's way failed", err)
            continue
        check(rc != 0, "a direct call without libwebsockets succeeded", err)
        check(re.search(r"sk-phone: cannot load libwebsockets\.so\S* "
                        r"\(.*\): install ", err) is not None and
              "a library sk-phone loads for it is missing" in err,
              "the missing library is not said", err)
        said = "\n".join(x for x in err.splitlines() if "debug:" not in x)
        check("does not support" not in said and "phone '" not in said,
              "the phone is blamed for a missing library", err)


@keeper.case
def status_says():
    """`sk-phone status` says whether the keeper runs, and its pid (from
    its lock file, checked against the process), or that it is off."""
    def status(**extra):
        rc, out, err, _ = K.run([K.cli, "status"], env=K.env(**extra))
        lines = [x for x in out.splitlines() if x.startswith("keeper:")]
        check(rc == 0 and len(lines) == 1, "sk-phone status", out + err)
        return lines[0]
    fresh()
    line = status()
    check(line.startswith("keeper: not running (the next signature "
                          "starts it, " + sock_path()),
          "a keeper said to run before any call", line)
    rc, err, _ = sign()
    check(rc == 0, "sign", err)
    pid = keeper_pid()
    line = status()
    check(line == "keeper: running (pid %d, %s)" % (pid, sock_path()),
          "the running keeper not said", line)
    check(keeper_pid() == pid, "the keeper went away after status")
    check(status(SK_PHONE_KEEPER="off").startswith("keeper: off"),
          "SK_PHONE_KEEPER=off not said")
    # As the provider would choose: a program that is not there, or a
    # relative path, starts nothing.
    K.stop_keepers()
    gone = K.path("no-such-dir", "sk-phone")
    check(status(SK_PHONE_KEEPER=gone) == "keeper: none (%s is not "
          "installed): signatures connect directly" % gone,
          "a missing keeper program not said")
    check(status(SK_PHONE_KEEPER="relative/sk-phone").startswith(
          "keeper: none (SK_PHONE_KEEPER=relative/sk-phone is not an "
          "absolute path)"), "a relative SK_PHONE_KEEPER not said")
    # A stale lock file (a keeper killed): not running.
    K.stop_keepers()
    with open(os.path.join(sock_dir(), "keeper.lock"), "w") as f:
        f.write("%d\n" % pid)
    check(status().startswith("keeper: not running"),
          "a dead keeper's lock file said to run")


def main():
    global K
    K = Kit(sys.argv[1], "keeper")
    try:
        K.start_relay()
        K.pair()
        K.start_phone()
        rc, out, err, _ = K.keygen("key", env=K.env(SK_PHONE_KEEPER="off"))
        if rc != 0:
            raise RuntimeError("ssh-keygen: " + out + err)
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = keeper.run(sys.argv[2:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
