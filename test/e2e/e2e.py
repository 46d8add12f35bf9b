# End-to-end: real ssh, ssh-keygen, ssh-agent and sshd with libsk-phone.
"""usage: e2e.py BUILD_DIR GROUP [CASE ...]

GROUP is one of: login, failures, pair. Each group sets up its own world
(relay, paired reference phone, throwaway sshd, all on 127.0.0.1) in a
temporary folder, runs its cases in order as TAP, and stops everything.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, prompts  # noqa: E402
from skpe2e import SSH_KEYGEN, SSH_AGENT, SSH_ADD  # noqa: E402

PIN = "4321"


def world(kit, tamper=False):
    """Relay, pairing, phone (auto-approving, PIN set), sshd."""
    kit.start_relay()
    kit.start_sshd()
    if tamper:
        # The computer reaches the relay through a tampering proxy; the
        # phone goes straight to the relay.
        kit.proxy = TamperProxy(kit.relay_port)
        kit.direct_url = kit.relay_url
        kit.relay_url = "ws://127.0.0.1:%d" % kit.proxy.port
    kit.pair()
    extra = ["--relay", kit.direct_url] if tamper else []
    start_phone(kit, extra=extra)


def start_phone(kit, approve="always", extra=()):
    argv = kit.phone_argv("run", "--approve", approve, *extra)
    pinfile = kit.path("pin")
    with open(pinfile, "w") as f:
        f.write(PIN + "\n")
    os.chmod(pinfile, 0o600)
    argv += ["--pin-file", pinfile]
    name = "phone-%s-%d" % (approve, int(time.monotonic() * 1000))
    p = kit.spawn(name, argv)
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while time.monotonic() < deadline:
        if "listening" in kit.log(name):
            kit.phone = p
            return p
        if p.poll() is not None:
            break
        time.sleep(0.02)
    raise RuntimeError("phone did not start:\n" + kit.log(name))


def enroll(kit, name, *opts, env=None, input=None):
    rc, out, err, _ = kit.keygen(name, *opts, env=env, input=input)
    check(rc == 0, "ssh-keygen -t ecdsa-sk %s failed" % " ".join(opts),
          out + err)
    check(os.path.exists(kit.path(name + ".pub")), "no public key")
    return kit.path(name)


def login_ok(kit, key, env=None, agent=None, what="login"):
    ok, err, dt = kit.login(key, env=env, agent=agent)
    check(ok, "%s failed" % what, err + "\n-- sshd log --\n" +
          kit.log("sshd")[-2000:])
    return err


# -- a relay that flips one byte of what it sends the computer ---------

class TamperProxy:
    """TCP proxy to the relay that, when armed, flips one payload byte
    of the next binary websocket frame the relay sends the computer that
    is longer than 100 bytes (Noise message 2). Server frames are not
    masked, so the bytes can be changed in place."""

    def __init__(self, relay_port):
        self.relay_port = relay_port
        self.armed = False
        self.flipped = 0
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.stop = False
        self.t = threading.Thread(target=self.accept, daemon=True)
        self.t.start()

    def close_and_hold(self):
        """Stop listening; keep the port bound, so that connections to it
        are refused (see Kit.stop_relay)."""
        self.stop = True
        self.lsock.close()
        self.t.join(2)
        self.hold = socket.socket()
        self.hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.hold.bind(("127.0.0.1", self.port))

    def accept(self):
        while not self.stop:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                continue
            try:
                s = socket.create_connection(("127.0.0.1",
                                              self.relay_port), 2)
            except OSError:
                c.close()
                continue
            # Blocking from now on: a held call is silent for long.
            s.settimeout(None)
            c.settimeout(None)
            threading.Thread(target=self.pump, args=(c, s, False),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(s, c, True),
                             daemon=True).start()

    def pump(self, src, dst, from_relay):
        buf = b""
        upgraded = not from_relay
        try:
            while not self.stop:
                data = src.recv(65536)
                if not data:
                    break
                if not from_relay:
                    dst.sendall(data)
                    continue
                buf += data
                if not upgraded:
                    i = buf.find(b"\r\n\r\n")
                    if i < 0:
                        continue
                    dst.sendall(buf[:i + 4])
                    buf = buf[i + 4:]
                    upgraded = True
                buf = self.frames(buf, dst)
        except OSError:
            pass
        finally:
            for x in (src, dst):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def frames(self, buf, dst):
        """Forward every whole frame; tamper with one when armed."""
        while len(buf) >= 2:
            b1 = buf[1] & 0x7F
            hl = 2
            if b1 == 126:
                hl = 4
            elif b1 == 127:
                hl = 10
            if len(buf) < hl:
                break
            n = b1 if hl == 2 else int.from_bytes(buf[2:hl], "big")
            if len(buf) < hl + n:
                break
            frame = bytearray(buf[:hl + n])
            opcode = frame[0] & 0x0F
            if self.armed and opcode == 2 and n > 100:
                frame[hl + n // 2] ^= 0x01
                self.armed = False
                self.flipped += 1
            dst.sendall(bytes(frame))
            buf = buf[hl + n:]
        return buf

    def close(self):
        self.stop = True
        self.lsock.close()


# -- group: login --------------------------------------------------------

login = Tap()
K = None


@login.case
def enroll_plain_and_login():
    key = enroll(K, "plain")
    K.authorize(key + ".pub")
    err = login_ok(K, key)
    # --approve always answers at once: nothing to wait for (a phone
    # that asks is announced: e2e_tls10.py).
    check("waiting for approval" not in err, "a waiting line", err)


@login.case
def sign_and_verify_file():
    key = K.path("plain")
    msg = K.path("message.txt")
    with open(msg, "w") as f:
        f.write("sk-phone e2e\n")
    env = K.env(SSH_SK_PROVIDER=K.provider)
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "sign", "-f", key, "-n",
                             "git", msg], env=env)
    check(rc == 0, "ssh-keygen -Y sign", out + err)
    with open(key + ".pub") as f:
        pub = f.read().split()
    signers = K.path("allowed_signers")
    with open(signers, "w") as f:
        f.write("e2e@example %s %s\n" % (pub[0], pub[1]))
    with open(msg, "rb") as f:
        data = f.read()
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "verify", "-f", signers,
                             "-I", "e2e@example", "-n", "git", "-s",
                             msg + ".sig"], input=data)
    check(rc == 0 and "Good" in out + err, "verify", out + err)
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "verify", "-f", signers,
                             "-I", "e2e@example", "-n", "git", "-s",
                             msg + ".sig"], input=data + b"x")
    check(rc != 0, "a changed file verified")


@login.case
def enroll_resident_user_and_login():
    key = enroll(K, "resident", "resident", "user=alice")
    K.authorize(key + ".pub")
    login_ok(K, key)


@login.case
def enroll_no_touch_required_and_login():
    key = enroll(K, "notouch", "no-touch-required")
    # Without the server's consent the key must not log in...
    K.authorize(key + ".pub")
    ok, err, _ = K.login(key)
    check(not ok, "a no-touch signature was accepted without consent")
    # ...and with it, it does.
    K.authorize(key + ".pub", "no-touch-required")
    login_ok(K, key)


@login.case
def enroll_verify_required_pin_path():
    bad, bad_calls = K.askpass("9999", "askpass-bad")
    rc, out, err, _ = K.keygen("uv-bad", "verify-required",
                               env=K.env(**bad))
    check(rc != 0, "a wrong PIN made a key", out + err)
    check("wrong PIN" in err, "no wrong PIN line", err)
    check("PIN" in prompts(bad_calls), "no PIN prompt")
    good, calls = K.askpass(PIN, "askpass-good")
    key = enroll(K, "uv", "verify-required", env=K.env(**good))
    check("PIN" in prompts(calls), "no PIN prompt at enroll")
    K.authorize(key + ".pub", "verify-required")
    n = prompts(calls).count("\n")
    login_ok(K, key, env=K.env(**good))
    check(prompts(calls).count("\n") > n, "no PIN prompt at login")


@login.case
def enroll_application_and_login():
    key = enroll(K, "app", "application=ssh:work")
    K.authorize(key + ".pub")
    login_ok(K, key)


@login.case
def resident_download_and_login():
    dl = K.path("download")
    os.mkdir(dl, 0o700)
    # The phone has a PIN: listing its resident keys needs it (issue 9
    # item 8); no PIN and a wrong one are refused, the wrong one counted.
    for name, answer in (("askpass-empty", ""), ("askpass-wrong", "9999")):
        ap, calls = K.askpass(answer, name)
        rc, out, err, _ = K.run([SSH_KEYGEN, "-K", "-N", "", "-w",
                                 K.provider], env=K.env(**ap), cwd=dl)
        check(rc != 0 and not os.listdir(dl),
              "ssh-keygen -K without the right PIN", out + err)
        check("PIN" in prompts(calls), "no PIN prompt", err)
    check("wrong PIN" in err, "no wrong PIN line", err)
    rc, log, _, _ = K.run(K.phone_argv("log"))
    check("list-keys" in log and "refused-pin-invalid" in log,
          "the wrong PIN is not in the audit log", log)
    ap, _ = K.askpass(PIN, "askpass-right")
    rc, out, err, _ = K.run([SSH_KEYGEN, "-K", "-N", "", "-w",
                             K.provider], env=K.env(**ap), cwd=dl)
    check(rc == 0, "ssh-keygen -K", out + err)
    got = sorted(os.listdir(dl))
    check("id_ecdsa_sk_rk_alice" in got, "no alice key", str(got))
    login_ok(K, os.path.join(dl, "id_ecdsa_sk_rk_alice"),
             what="login with a downloaded key")


@login.case
def agent_login():
    sock = K.path("agent.sock")
    agent_bin = SSH_AGENT
    if K.asan:
        # Debian's ssh-agent is setgid, so the loader drops LD_PRELOAD and
        # its ssh-sk-helper could not load an ASan provider: under ASan
        # only, use a copy without the setgid bit.
        agent_bin = K.path("ssh-agent")
        shutil.copy(SSH_AGENT, agent_bin)
    agent = K.spawn("agent", [agent_bin, "-D", "-a", sock, "-P",
                              os.path.dirname(K.provider) + "/*"])
    wait_sock(sock, agent)
    env = K.env(SSH_AUTH_SOCK=sock)
    key = K.path("plain")
    rc, out, err, _ = K.run([SSH_ADD, "-S", K.provider, key], env=env)
    check(rc == 0, "ssh-add -S", out + err)
    argv = K.ssh_argv(agent=sock) + ["echo skp-login-ok"]
    rc, out, err, _ = K.run(argv)
    check(rc == 0 and "skp-login-ok" in out, "login through the agent",
          err + K.log("agent")[-1000:])
    # ssh-add -K lists the phone's resident keys: the PIN is checked.
    bad, _ = K.askpass("0000", "askpass-add-wrong")
    rc, out, err, _ = K.run([SSH_ADD, "-K", "-S", K.provider],
                            env=K.env(SSH_AUTH_SOCK=sock, **bad))
    check(rc != 0 and "wrong PIN" in err, "ssh-add -K with a wrong PIN",
          out + err)
    good, calls = K.askpass(PIN, "askpass-add")
    rc, out, err, _ = K.run([SSH_ADD, "-K", "-S", K.provider],
                            env=K.env(SSH_AUTH_SOCK=sock, **good))
    check(rc == 0 and "PIN" in prompts(calls), "ssh-add -K", out + err)
    rc, out, err, _ = K.run([SSH_ADD, "-l"], env=env)
    check(rc == 0 and "ECDSA-SK" in out, "ssh-add -l", out + err)
    K.stop(agent)


@login.case
def mailbox_rotate_then_login():
    """After `mailbox rotate` the provider learns the new mailbox in the
    phone's answer to an ssh login (response key 4) and saves it; the
    next login goes to the new mailbox, and the phone drops the old."""
    K.stop_phone()
    rc, out, err, _ = K.run(K.phone_argv("mailbox", "rotate"))
    check(rc == 0 and "1 paired computer learns it" in out,
          "mailbox rotate", out + err)
    p = start_phone(K, extra=K.phone_extra)
    name = p.skp_name
    check("also listening on the old mailbox" in K.log(name),
          "old mailbox not listened on", K.log(name))
    key = K.path("plain")
    login_ok(K, key, what="login on the old mailbox")
    check("now calls the new mailbox" not in K.log(name),
          "told before the computer called the new mailbox", K.log(name))
    login_ok(K, key, what="login on the new mailbox")
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while "no longer listening on the old one" not in K.log(name):
        check(time.monotonic() < deadline, "old mailbox kept",
              K.log(name))
        time.sleep(0.05)
    check('computer "testbox" now calls the new mailbox' in K.log(name),
          "no line for the computer", K.log(name))
    rc, out, err, _ = K.run(K.phone_argv("mailbox"))
    check(rc == 0 and "no rotation pending" in out, "mailbox", out + err)


def wait_sock(path, proc):
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise RuntimeError("no agent socket")


@login.case
def resident_overwrite_path():
    rc, out, err, _ = K.keygen("resident-again", "resident", "user=alice",
                               input=b"n\n")
    check("already exists" in out, "no overwrite question", out + err)
    check(rc != 0, "made a key after answering no")
    rc, out, err, _ = K.keygen("resident-new", "resident", "user=alice",
                               input=b"y\n")
    check("already exists" in out, "no overwrite question", out + err)
    check(rc == 0, "overwrite failed", out + err)
    K.authorize(K.path("resident-new.pub"))
    login_ok(K, K.path("resident-new"))


# -- group: failures -------------------------------------------------------

failures = Tap()


@failures.case
def setup_key():
    key = enroll(K, "fkey")
    K.authorize(key + ".pub")
    login_ok(K, key)


@failures.case
def phone_rejects():
    K.stop_phone()
    start_phone(K, approve="never", extra=K.phone_extra)
    ok, err, _ = K.login(K.path("fkey"))
    check(not ok, "a rejected request logged in")
    check("rejected on phone 'phone1'" in err, "no rejection line", err)
    K.stop_phone()
    start_phone(K, extra=K.phone_extra)
    login_ok(K, K.path("fkey"), what="login after the rejection")


@failures.case
def tampered_answer_refused():
    K.proxy.armed = True
    ok, err, _ = K.login(K.path("fkey"))
    check(K.proxy.flipped == 1, "nothing was flipped")
    check(not ok, "a tampered answer logged in")
    check("did not verify" in err, "no refusal line", err)
    login_ok(K, K.path("fkey"), what="login after the tampering")


@failures.case
def phone_answer_tampered_refused():
    """A phone (test only) that flips one byte inside its signed answer,
    sealed in a genuine Noise message: only libfido2's checks catch it."""
    K.stop_phone()
    testphone = os.path.join(K.build, "test", "e2e", "testphone")
    # "none" is the control: the same answers unchanged must pass, so a
    # refusal below is the flipped byte's doing.
    for mode in ("none", "authdata", "sig", "pubkey"):
        name = "testphone-" + mode
        p = K.spawn(name, [testphone, "--state", K.phone_dir, "--relay",
                           K.direct_url, "--seconds", "60"],
                    env=K.env(SKP_TESTPHONE_FLIP=mode))
        deadline = time.monotonic() + skpe2e.START_TIMEOUT
        while "listening" not in K.log(name) and p.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        if mode == "none":
            login_ok(K, K.path("fkey"), what="login via the test phone")
            enroll(K, "untampered")
        elif mode == "pubkey":
            rc, out, err, _ = K.keygen("tampered-" + mode)
            check(rc != 0, "a tampered new key was accepted")
            check("did not verify" in err, "no refusal line", err)
        else:
            ok, err, _ = K.login(K.path("fkey"))
            check(not ok, "a tampered signature logged in (%s)" % mode)
            check("did not verify" in err, "no refusal line", err)
            rc, out, err, _ = K.keygen("tampered-" + mode)
            check(rc != 0, "a tampered new key was accepted (%s)" % mode)
            check("did not verify" in err, "no refusal line", err)
        check("answered command" in K.log(name), "the test phone did not "
              "answer", K.log(name))
        K.stop(p)
    start_phone(K, extra=K.phone_extra)
    login_ok(K, K.path("fkey"), what="login with the real phone again")


@failures.case
def phone_offline_times_out():
    K.stop_phone()
    timeout = 3
    ok, err, dt = K.login(K.path("fkey"),
                          env=K.env(SK_PHONE_TIMEOUT=timeout))
    check(not ok, "logged in without a phone")
    check("offline" in err, "no offline line", err)
    check("timed out after %d s" % timeout in err, "no timeout line", err)
    check(dt < timeout + 2.0, "took %.1f s" % dt)
    start_phone(K, extra=K.phone_extra)


@failures.case
def not_paired_says_pair():
    # A copy of the state without the pairing.
    other = K.path("unpaired-state")
    shutil.copytree(K.state, other)
    # The copy has the same identity: unpair would tell the phone to
    # forget this computer (e2e_tls10.py); the phone is away meanwhile.
    K.stop_phone()
    rc, out, err, _ = K.run([K.cli, "unpair", "phone1"],
                            env=K.env(SK_PHONE_DIR=other))
    start_phone(K, extra=K.phone_extra)
    check(rc == 0, "unpair", out + err)
    ok, err, _ = K.login(K.path("fkey"), env=K.env(SK_PHONE_DIR=other))
    check(not ok, "logged in while not paired")
    check("sk-phone pair" in err, "no pair hint", err)
    empty = K.path("empty-state")
    os.mkdir(empty, 0o700)
    rc, out, err, _ = K.keygen("np", env=K.env(SK_PHONE_DIR=empty))
    check(rc != 0, "made a key while not paired")
    check("not paired with a phone: run `sk-phone pair`" in err,
          "no pair hint at enroll", err)


@failures.case
def provider_in_process():
    """The provider's online cases, in this process's world."""
    exe = os.path.join(K.build, "test", "e2e", "test_provider")
    env = K.env(preload=False, SKP_TEST_PROVIDER=K.provider)
    rc, out, err, _ = K.run([exe, "online_enroll_sign"], env=env)
    check(rc == 0, "online_enroll_sign", out + err)
    K.stop_phone()
    start_phone(K, approve="never", extra=K.phone_extra)
    rc, out, err, _ = K.run([exe, "online_rejected"], env=env)
    check(rc == 0, "online_rejected", out + err)
    K.stop_phone()
    start_phone(K, extra=K.phone_extra)
    K.proxy.armed = True
    rc, out, err, _ = K.run([exe, "online_tampered"], env=env)
    check(rc == 0 and K.proxy.flipped == 2, "online_tampered", out + err)
    K.stop_phone()
    rc, out, err, _ = K.run([exe, "online_offline"],
                            env=K.env(preload=False,
                                      SKP_TEST_PROVIDER=K.provider,
                                      SK_PHONE_TIMEOUT=2))
    check(rc == 0, "online_offline", out + err)
    start_phone(K, extra=K.phone_extra)


@failures.case
def relay_down_fails_fast():
    # Nothing listens where the computer dials: neither the relay nor the
    # tampering proxy in front of it (a proxy that takes the connection
    # and drops it is said otherwise, as an older relay would be).
    K.stop_relay()
    K.proxy.close_and_hold()
    ok, err, dt = K.login(K.path("fkey"))
    check(not ok, "logged in without a relay")
    check("cannot reach the relay" in err, "no relay line", err)
    check(dt < 2.0, "took %.1f s" % dt)


# -- group: pair -----------------------------------------------------------

pair = Tap()


@pair.case
def qr_decodes_to_uri():
    import qrimage
    out = K.log("pair-phone1")
    pgm = K.path("qr.pgm")
    width = qrimage.text_to_pgm(out, pgm)
    check(width > 20, "tiny QR")
    rc, got, err, _ = K.run(["zbarimg", "--raw", "-q", pgm])
    check(rc == 0, "zbarimg failed", err)
    check(got.strip() == K.uri, "decoded %r, want %r" % (got.strip(),
                                                         K.uri))
    check(K.uri in out, "URI not printed as text")


@pair.case
def status_online_then_offline():
    rc, out, err, _ = K.run([K.cli, "status", "--timeout", "5"])
    check(rc == 0, "status", out + err)
    check("phone 'phone1'" in out and "reachable" in out and
          "online" in out, "status says", out)
    K.stop_phone()
    rc, out, err, _ = K.run([K.cli, "status", "--timeout", "2"])
    check(rc != 0, "status ok without the phone", out)
    check("offline" in out or "no answer" in out, "status says", out)
    start_phone(K)


@pair.case
def keys_lists_resident():
    enroll(K, "bobkey", "resident", "user=bob")
    # The phone has a PIN: read from standard input.
    rc, out, err, _ = K.run([K.cli, "keys"], input=b"")
    check(rc != 0 and "needs its PIN" in err, "sk-phone keys without PIN",
          out + err)
    rc, out, err, _ = K.run([K.cli, "keys"], input=b"0000\n")
    check(rc != 0 and "wrong PIN" in err and "bob" not in out,
          "sk-phone keys with a wrong PIN", out + err)
    rc, out, err, _ = K.run([K.cli, "keys"], input=PIN.encode() + b"\n")
    check(rc == 0, "sk-phone keys", out + err)
    check("ssh: user 'bob'" in out and "SHA256:" in out and
          "phone 'phone1'" in out, "keys says", out)
    rc, fp, _, _ = K.run([SSH_KEYGEN, "-l", "-f", K.path("bobkey.pub")])
    check(fp.split()[1] in out, "fingerprint differs", fp + out)


@pair.case
def audit_log_has_requests():
    rc, out, err, _ = K.run(K.phone_argv("log"))
    check(rc == 0, "phone log", out + err)
    check(out.count("\n") >= 2, "log too short", out)


@pair.case
def second_phone_needs_device():
    K.pair(phone_name="phone2", computer_name="testbox")
    rc, out, err, _ = K.keygen("two")
    check(rc != 0, "enrolled without choosing a phone")
    check("-O device=NAME" in err, "no device hint", err)
    p2 = start_phone(K)
    key = enroll(K, "two", "device=phone2")
    K.stop(p2)
    K.authorize(key + ".pub")
    # phone2 is gone again: the login must wait for phone2, not phone1.
    ok, err, _ = K.login(key, env=K.env(SK_PHONE_TIMEOUT=2))
    check(not ok and "phone2" in err, "login did not route to phone2",
          err)


@pair.case
def pair_unconfirmed_saves_nothing():
    """Without --yes and without a terminal, the code cannot be
    confirmed: the pairing is declined on both sides, nothing saved."""
    before = open(os.path.join(K.state, "phones"), "rb").read()
    uri_file = K.path("uri-declined")
    comp = K.spawn("pair-declined", [K.cli, "pair", "--relay", K.relay_url,
                                     "--uri-file", uri_file, "--timeout",
                                     "20"])
    skpe2e.wait_file(uri_file, comp)
    with open(uri_file) as f:
        uri = f.read().strip()
    K.phone_dir = K.path("phone-declined")
    rc, out, err, _ = K.run(K.phone_argv("pair", uri, "--name", "phone3",
                                         "--yes", "--timeout", "20"))
    check(rc != 0, "the phone paired with an unconfirmed computer",
          out + err)
    comp.wait(timeout=20)
    check(comp.returncode != 0, "sk-phone pair succeeded unconfirmed")
    log = K.log("pair-declined")
    check("--yes" in log and "nothing saved" in log, "says", log)
    after = open(os.path.join(K.state, "phones"), "rb").read()
    check(before == after, "the phones file changed")


def read_until(fd, want, buf, timeout=20.0):
    """Read a pty until want appears in what was read; bounded."""
    import select
    deadline = time.monotonic() + timeout
    while want not in buf and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


@pair.case
def pair_on_a_terminal():
    """On a terminal: the QR code in black on white (readable on dark
    and light themes), a countdown, and the question answered by a
    person; the colored code still decodes to the URI."""
    import fcntl
    import termios
    import qrimage
    master, slave = os.openpty()

    def ctty():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    uri_file = K.path("uri-tty")
    p = subprocess.Popen([K.cli, "pair", "--relay", K.relay_url, "--name",
                          "ttybox", "--uri-file", uri_file, "--timeout",
                          "20"], stdin=slave, stdout=slave, stderr=slave,
                         env=K.env(), preexec_fn=ctty)
    K.procs.append(p)
    p.skp_name = "pair-tty"
    os.close(slave)
    try:
        buf = read_until(master, b"sk-phone://", b"")
        skpe2e.wait_file(uri_file, p)
        with open(uri_file) as f:
            uri = f.read().strip()
        K.phone_dir = K.path("phone-tty")
        phone = K.spawn("phone-tty-pair", K.phone_argv(
            "pair", uri, "--name", "phone4", "--yes", "--timeout", "20"))
        buf = read_until(master, b"same code?", buf)
        check(b"same code?" in buf, "no question", buf.decode(
            "utf-8", "replace")[-500:])
        os.write(master, b"y\n")
        buf = read_until(master, b"Paired with", buf)
        p.wait(timeout=20)
        phone.wait(timeout=20)
    finally:
        os.close(master)
    text = buf.decode("utf-8", "replace")
    check(p.returncode == 0 and phone.returncode == 0, "pairing failed",
          text[-800:] + K.log("phone-tty-pair"))
    check("\x1b[30;47m" in text, "no black-on-white colors")
    check("left" in text, "no countdown")
    pgm = K.path("qr-tty.pgm")
    qrimage.text_to_pgm(text.replace("\r", ""), pgm)
    rc, got, err, _ = K.run(["zbarimg", "--raw", "-q", pgm])
    check(rc == 0 and got.strip() == uri, "colored QR decoded to %r" %
          got.strip())


@pair.case
def pair_relay_down_fails_fast():
    port = skpe2e.free_port()
    rc, out, err, dt = K.run([K.cli, "pair", "--relay",
                              "ws://127.0.0.1:%d" % port, "--yes",
                              "--timeout", "20"])
    check(rc != 0, "paired without a relay")
    check("cannot reach the relay" in err, "says", err)
    check(dt < 2.0, "took %.1f s" % dt)


@pair.case
def pair_same_name_refused_then_replaced():
    """A new phone giving the name of a paired one: refused, with the way
    out, and nothing saved on either side; --replace replaces it."""
    before = open(os.path.join(K.state, "phones"), "rb").read()
    K.phone_dir = K.path("phone-samename")
    for attempt in ("refused", "replaced"):
        uri_file = K.path("uri-samename-" + attempt)
        extra = ["--replace"] if attempt == "replaced" else []
        comp = K.spawn("pair-samename-" + attempt,
                       [K.cli, "pair", "--relay", K.relay_url, "--yes",
                        "--uri-file", uri_file, "--timeout", "20", *extra])
        skpe2e.wait_file(uri_file, comp)
        rc, out, err, _ = K.run(K.phone_argv(
            "pair", "--uri-file", uri_file, "--name", "phone2", "--yes",
            "--timeout", "20"))
        comp.wait(timeout=30)
        log = K.log("pair-samename-" + attempt)
        check("A phone named 'phone2' is already paired" in log, "says",
              log)
        if attempt == "refused":
            check(rc != 0 and comp.returncode != 0,
                  "paired over phone2 without --replace", log + out + err)
            check("sk-phone unpair phone2" in log and "--replace" in log
                  and "nothing saved" in log, "the way out", log)
            after = open(os.path.join(K.state, "phones"), "rb").read()
            check(before == after, "the phones file changed")
            rc2, out2, err2, _ = K.run(K.phone_argv("computers"))
            check("testbox" not in out2, "the phone saved it", out2)
        else:
            check(rc == 0 and comp.returncode == 0, "--replace failed",
                  log + out + err)
            check("replaced the earlier pairing" in log, "says", log)
            check("warning" not in out + err, "--uri-file warned",
                  out + err)


@pair.case
def unpair_forgets():
    rc, out, err, _ = K.run([K.cli, "unpair", "phone2"])
    check(rc == 0, "unpair", out + err)
    rc, out, err, _ = K.run([K.cli, "unpair", "phone2"])
    check(rc != 0 and "no paired phone" in err, "unpaired twice", err)


def main():
    global K
    build, group = sys.argv[1], sys.argv[2]
    tap = {"login": login, "failures": failures, "pair": pair}[group]
    K = Kit(build, group)
    K.phone_extra = []
    try:
        world(K, tamper=(group == "failures"))
        if group == "failures":
            K.phone_extra = ["--relay", K.direct_url]
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = tap.run(sys.argv[3:])
    if getattr(K, "proxy", None) is not None:
        K.proxy.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
