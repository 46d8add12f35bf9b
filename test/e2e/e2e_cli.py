# End-to-end: what sk-phone and the provider tell the user (issue 10).
"""usage: e2e_cli.py BUILD_DIR CLOCKSHIFT_SO [CASE ...]

The real relay, reference phones, sk-phone, ssh and sshd on 127.0.0.1:
several `sk-phone pair` at once, a relay that cannot be reached, a phone
that no longer knows the computer, the phone's own question timing out,
clocks that differ, and the debug output.

Issue 10, defect -> case (each failed on the code before its fix):
  7  two pairs at once lose one ........ concurrent_pairs_keep_every_pairing
  3  the phone's own question timeout .. phone_question_timeout_is_named
  4  a computer unpaired on the phone .. phone_forgot_computer_is_told
  10 QR before the relay check ......... pair_relay_down_checked_before_qr
  10 a name that does not resolve ...... pair_unresolvable_relay_says_so
  10 "expired" without by how much ..... clocks_apart_status_says_by_how_much
  10 usage of pair without --timeout ... pair_usage_lists_timeout
  10 re-pairing renames the computer ... phone_forgot_computer_is_told
  10 ids nobody can see ................ status_shows_phone_ids
  10 debug noise and lws banner ........ debug_output_has_no_noise
  10 status relay line ................. status_relay_down_says_what_to_check
Issue 9, the old format refused with what to update:
  a protocol 1 relay (pair, the phone) . protocol1_relay_says_update
Items 6 and the setup parts of 10 are in test_setup.py (cli suite).
"""

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402

PIN = "4321"
K = None
CLOCKSHIFT = None
cli = Tap()


def start_phone(approve="always", extra=()):
    argv = K.phone_argv("run", "--approve", approve, *extra)
    pinfile = K.path("pin")
    with open(pinfile, "w") as f:
        f.write(PIN + "\n")
    os.chmod(pinfile, 0o600)
    argv += ["--pin-file", pinfile]
    name = "phone-%s-%d" % (approve, int(time.monotonic() * 1000))
    p = K.spawn(name, argv)
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while time.monotonic() < deadline:
        if "listening" in K.log(name):
            K.phone = p
            return p
        if p.poll() is not None:
            break
        time.sleep(0.02)
    raise RuntimeError("phone did not start:\n" + K.log(name))


def pair_one(phone, extra=(), tag=None):
    """sk-phone pair and a reference phone's pair (state phone-NAME), both
    --yes; answers (rc of sk-phone pair, its output)."""
    tag = tag or phone
    state = K.path("phone-" + phone)
    uri_file = K.path("uri-" + tag)
    if os.path.exists(uri_file):
        os.unlink(uri_file)
    comp = K.spawn("pair-" + tag,
                   [K.cli, "pair", "--relay", K.relay_url, "--yes",
                    "--uri-file", uri_file, "--timeout", "30", *extra])
    skpe2e.wait_file(uri_file, comp)
    with open(uri_file) as f:
        uri = f.read().strip()
    rc, out, err, _ = K.run([K.phone_bin, "--state", state, "pair", uri,
                             "--name", phone, "--yes", "--timeout", "30"])
    check(rc == 0, "phone %s pair" % phone, out + err)
    try:
        comp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    K.stop(comp)
    return comp.returncode, K.log("pair-" + tag)


def status(*extra, env=None):
    return K.run([K.cli, "status", "--timeout", "5", *extra], env=env)


def paired_phones():
    rc, out, err, _ = status()
    return re.findall(r"^phone '([^']+)'", out, re.M), out + err


@cli.case
def pair_usage_lists_timeout():
    rc, out, err, _ = K.run([K.cli, "--help"])
    check(rc == 0, "--help", out + err)
    line = out[out.index("sk-phone pair"):out.index("sk-phone status")]
    check("--timeout SECONDS" in line, "usage of pair lacks --timeout", out)
    rc, out, err, _ = K.run([K.cli, "pair", "--help"])
    check("--timeout SECONDS" in out + err, "pair --help", out + err)


@cli.case
def pair_unresolvable_relay_says_so():
    # The shim answers every lookup "no such name": nothing leaves the
    # machine.
    host = "no-such-host.invalid"
    rc, out, err, dt = K.run([K.cli, "pair", "--relay",
                              "ws://%s:8080" % host, "--yes", "--timeout",
                              "20"],
                             env=K.shim_env(CLOCKSHIFT, SKP_TEST_NO_DNS="1"))
    check(rc != 0, "paired with a relay that does not resolve")
    check("host name '%s' does not resolve" % host in err,
          "does not say the name does not resolve", err)
    check("running there" not in err, "blames the relay", err)
    check("Scan this code" not in out, "drew the QR code first", out)
    check(dt < 15, "took %.1f s" % dt)


@cli.case
def pair_relay_down_checked_before_qr():
    port = skpe2e.free_port()
    rc, out, err, dt = K.run([K.cli, "pair", "--relay",
                              "ws://127.0.0.1:%d" % port, "--yes",
                              "--timeout", "20"])
    check(rc != 0, "paired without a relay")
    check("cannot reach the relay ws://127.0.0.1:%d" % port in err and
          "sk-phone-relay running there" in err, "says", err)
    check("Scan this code" not in out, "drew the QR code first", out)
    check(dt < 5, "took %.1f s" % dt)


class Protocol1Relay:
    """What an sk-phone-relay of protocol 1 does with a protocol 2 client
    (seen with the relay of f7ccfc8): it takes the TCP connection, reads
    the websocket upgrade that offers only sk-phone-relay.v2, a
    subprotocol it does not know, and drops the connection unanswered."""

    def __init__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.upgrades = 0
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    b = c.recv(4096)
                    if not b:
                        break
                    data += b
            except OSError:
                pass
            if b"sk-phone-relay.v2" in data:
                self.upgrades += 1
            c.close()

    def close(self):
        self.sock.close()


@cli.case
def protocol1_relay_says_update():
    """Issue 9 (refuse the old format with a message that says what to
    update): a relay of protocol 1 gave 'cannot reach the relay ...: is
    sk-phone-relay running there?' in pair and a bare network error on
    the phone."""
    old = Protocol1Relay()
    url = "ws://127.0.0.1:%d" % old.port
    try:
        rc, out, err, dt = K.run([K.cli, "pair", "--relay", url, "--yes",
                                  "--timeout", "20"])
        check(rc != 0, "paired with a protocol 1 relay")
        check("the relay %s closed the connection without taking "
              "sk-phone relay protocol 2: an sk-phone-relay older than "
              "protocol 2 does that (update it)" % url in err,
              "pair says", err)
        check("Scan this code" not in out, "drew the QR code", out)
        check(old.upgrades >= 1, "no upgrade reached the fake relay")
        # A copy of the phone's state, so that the running phone is
        # left alone.
        import shutil
        state = K.path("phone-oldrelay-state")
        shutil.copytree(K.phone_dir, state, symlinks=True)
        p = K.spawn("phone-oldrelay",
                    [K.phone_bin, "--state", state, "run", "--relay", url,
                     "--approve", "never"])
        deadline = time.monotonic() + 10
        log = ""
        while time.monotonic() < deadline:
            log = K.log("phone-oldrelay")
            if "protocol 2" in log or p.poll() is not None:
                break
            time.sleep(0.05)
        p.terminate()
        p.wait(5)
        log = K.log("phone-oldrelay")
        check("closed the connection without taking sk-phone relay "
              "protocol 2: an sk-phone-relay older than protocol 2 does "
              "that (update it)" in log, "the phone says", log)
    finally:
        old.close()


@cli.case
def concurrent_pairs_keep_every_pairing():
    names = ["cc%d" % i for i in range(5)]
    results = {}

    def one(n):
        try:
            results[n] = pair_one(n, extra=("--name", "testbox"))
        except Exception as e:  # noqa: BLE001
            results[n] = (-1, str(e))

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    for n in names:
        rc, log = results.get(n, (-1, "no result"))
        check(rc == 0, "sk-phone pair for %s" % n, log)
    have, out = paired_phones()
    for n in ["phone1"] + names:
        check(n in have, "pairing with %s lost" % n, out)
    for n in names:
        rc, out, err, _ = K.run([K.cli, "unpair", n])
        check(rc == 0, "unpair %s" % n, out + err)


@cli.case
def status_shows_phone_ids():
    rc, out, err, _ = status()
    check(rc == 0, "status", out + err)
    check(re.search(r"phone 'phone1' \(id [0-9a-f]{8}, paired ", out),
          "no phone id in status", out)
    rc, out, err, _ = K.keygen("rkey", "resident", "user=carol")
    check(rc == 0, "resident key", out + err)
    rc, out, err, _ = K.run([K.cli, "keys"], input=(PIN + "\n").encode())
    check(rc == 0, "keys", out + err)
    check(re.search(r"on phone 'phone1' \(id [0-9a-f]{8}\)", out),
          "no phone id in keys", out)


@cli.case
def debug_output_has_no_noise():
    rc, out, err, _ = status(env=K.env(SK_PHONE_DEBUG=1))
    check(rc == 0, "status", out + err)
    check("network error (code 0)" not in err, "a success ends in an "
          "error line", err)
    check("LWS:" not in err and "lws_create_context" not in err,
          "libwebsockets banner", err)
    # The client sets an empty proxy address on purpose (no http_proxy
    # from the environment); libwebsockets' complaint about it is noise.
    check("http_proxy" not in err, "libwebsockets' proxy line", err)


@cli.case
def phone_question_timeout_is_named():
    """The phone asks on its terminal (run --timeout 2); nobody answers."""
    K.stop(K.phone)
    argv = K.phone_argv("run", "--approve", "ask", "--timeout", "2")
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, K.env(preload=False))
        finally:
            os._exit(127)
    seen = b""
    try:
        end = time.monotonic() + skpe2e.START_TIMEOUT
        while b"listening" not in seen and time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                seen += os.read(fd, 4096)
        check(b"listening" in seen, "phone on a terminal did not start",
              seen.decode("utf-8", "replace"))
        # The phone's terminal must not fill up meanwhile.
        stop = []

        def drain():
            while not stop:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    try:
                        os.read(fd, 4096)
                    except OSError:
                        return

        t = threading.Thread(target=drain, daemon=True)
        t.start()
        ok, err, dt = K.login(K.path("key"),
                              env=K.env(SK_PHONE_TIMEOUT=20))
        stop.append(1)
        t.join(2)
        check(not ok, "logged in without an answer")
        check("phone 'phone1' asked, and nobody answered on it in time"
              in err, "does not say the phone asked", err)
        check("timed out after" not in err, "blames the connection", err)
        check(dt < 15, "took %.1f s" % dt)
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        os.close(fd)
    start_phone()


@cli.case
def clocks_apart_status_says_by_how_much():
    """Since issue 13 the phone's stale refusal carries its clock: status
    asks once more in the phone's time, and says by how much the clocks
    differ (a phone without that: e2e_clock.py)."""
    rc, out, err, _ = status(env=K.shim_env(CLOCKSHIFT,
                                            SKP_TEST_CLOCK_SHIFT=-600))
    check(rc == 0 and "phone: online" in out, "status with the clocks "
          "600 s apart", out + err)
    check("sk-phone: this computer's clock and phone 'phone1' differ by "
          "600 s (the phone is ahead)" in err, "does not say by how much",
          out + err)
    check("expired" not in out + err, "says only 'expired'", out + err)


@cli.case
def phone_forgot_computer_is_told():
    """The phone unpairs the computer; ssh and status must say so, and
    pairing again without --name keeps the computer's name."""
    rc, out, err, _ = K.run(K.phone_argv("unpair", "testbox"))
    check(rc == 0, "phone unpair", out + err)
    want = ("phone 'phone1' no longer knows this computer: run "
            "`sk-phone unpair phone1`, then `sk-phone pair`")
    ok, err, _ = K.login(K.path("key"))
    check(not ok, "logged in with a forgotten computer")
    check(want in err, "ssh does not say the phone forgot", err)
    check("hung up" not in err, "says hung up", err)
    rc, out, err, _ = status()
    check(rc != 0, "status ok", out + err)
    check("no longer knows this computer: run `sk-phone unpair phone1`, "
          "then `sk-phone pair`" in out, "status does not say", out + err)
    # Pair again (replacing the old pairing), without --name: the phone
    # knows it as testbox again, not by the host name.
    K.stop(K.phone)
    rc, log = pair_one("phone1", extra=("--replace",), tag="phone1-again")
    check(rc == 0, "pairing again", log)
    rc, out, err, _ = status()
    check("as 'testbox'" in out, "pairing again renamed the computer",
          out + err)
    rc, out, err, _ = K.run(K.phone_argv("computers"))
    check("testbox" in out, "the phone knows another name", out + err)
    start_phone()
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login after pairing again", err)


@cli.case
def status_relay_down_says_what_to_check():
    """Last: stops the relay."""
    K.stop_relay()
    rc, out, err, _ = status()
    check(rc != 0, "status ok without a relay", out + err)
    check("cannot reach the relay %s: is sk-phone-relay running there?" %
          K.relay_url in out, "status says", out + err)


def main():
    global K, CLOCKSHIFT
    build, CLOCKSHIFT = sys.argv[1], os.path.abspath(sys.argv[2])
    K = Kit(build, "cli")
    try:
        K.key_world(start_phone)
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = cli.run(sys.argv[3:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
