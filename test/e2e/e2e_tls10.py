# End-to-end: the provider's waits and follow-up lines (issue 10).
"""usage: e2e_tls10.py BUILD_DIR [CASE ...]

The real relay, the reference phone, ssh, ssh-keygen and sshd on
127.0.0.1: a phone that approves at once is not announced as awaited, a
phone that asks is; an offline phone gets its own shorter wait; after
our line, OpenSSH's own ("invalid format") does not mislead; a relay on
wss with a certificate from a private CA (made here by openssl) is used
with --ca FILE by sk-phone pair, status, the provider and the phone;
sk-phone unpair tells the phone.

Issue 10, defect -> case (each failed on the code before its fix):
  5  a relay with a private CA ........ wss_relay_with_a_private_ca
  10 "waiting" when approved at once .. approved_at_once_is_not_announced
     (and still said when it asks) .... a_phone_that_asks_is_announced
  10 an offline phone holds ssh 60 s .. offline_phone_has_its_own_wait,
                                        offline_phone_that_comes_is_served
  10 OpenSSH's "invalid format" ....... rejection_is_not_followed_by_
                                        invalid_format (and the wss case)
  10 unpair does not tell the phone ... unpair_tells_the_phone
"""

import os
import pty
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
t10 = Tap()


def start_phone(approve="always"):
    argv = K.phone_argv("run", "--approve", approve)
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


def stop_phone():
    if K.phone is not None:
        K.stop(K.phone)
        K.phone = None


@t10.case
def approved_at_once_is_not_announced():
    """--approve always answers at once: no "waiting for approval"."""
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login", err)
    check("waiting for approval" not in err, "announced a wait that "
          "did not happen", err)


@t10.case
def a_phone_that_asks_is_announced():
    """The phone asks on its terminal (run --timeout 2), nobody answers:
    the provider says it is waiting for approval."""
    stop_phone()
    argv = K.phone_argv("run", "--approve", "ask", "--timeout", "2")
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, K.env(preload=False))
        finally:
            os._exit(127)
    seen = b""
    stop = []
    try:
        end = time.monotonic() + skpe2e.START_TIMEOUT
        while b"listening" not in seen and time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                seen += os.read(fd, 4096)
        check(b"listening" in seen, "phone on a terminal did not start",
              seen.decode("utf-8", "replace"))

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
        ok, err, _ = K.login(K.path("key"), env=K.env(SK_PHONE_TIMEOUT=20))
        check(not ok, "logged in without an answer")
        check("waiting for approval on phone 'phone1'" in err,
              "no waiting line while the phone asked", err)
    finally:
        stop.append(1)
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        os.close(fd)
    start_phone()


@t10.case
def offline_phone_has_its_own_wait():
    """The relay says at once that the phone is offline: the provider
    waits SK_PHONE_OFFLINE_TIMEOUT, not SK_PHONE_TIMEOUT, and says so."""
    stop_phone()
    try:
        ok, err, dt = K.login(K.path("key"), env=K.env(
            SK_PHONE_TIMEOUT=120, SK_PHONE_OFFLINE_TIMEOUT=2))
        check(not ok, "logged in with the phone away")
        check("phone 'phone1' is offline: waiting up to 2 s for it to "
              "come online (SK_PHONE_OFFLINE_TIMEOUT)" in err,
              "does not say how long it waits", err)
        check("phone 'phone1' stayed offline for 2 s "
              "(SK_PHONE_OFFLINE_TIMEOUT)" in err, "final line", err)
        check("invalid format" not in err, "OpenSSH's follow-up line "
              "blames the key file", err)
        check(dt < 60, "held ssh for %.1f s" % dt)
        # Not given: 10 s, said as such.
        ok, err, _ = K.login(K.path("key"), env=K.env(SK_PHONE_TIMEOUT=1))
        check("waiting up to 1 s" in err, "capped by SK_PHONE_TIMEOUT",
              err)
    finally:
        start_phone()


@t10.case
def offline_phone_that_comes_is_served():
    """Within the offline wait, a phone that comes online is asked."""
    stop_phone()
    env = K.env(SK_PHONE_TIMEOUT=60, SK_PHONE_OFFLINE_TIMEOUT=30)
    res = {}

    def go():
        res["r"] = K.login(K.path("key"), env=env)

    t = threading.Thread(target=go)
    t.start()
    time.sleep(1)
    start_phone()
    t.join(60)
    ok, err, _ = res.get("r", (False, "no result", 0))
    check(ok, "login after the phone came", err)
    check("is offline: waiting up to 30 s" in err, "offline line", err)
    check("phone 'phone1' is online now" in err, "online line", err)


@t10.case
def rejection_is_not_followed_by_invalid_format():
    """--approve never: ours says rejected; OpenSSH's own line must not
    be "invalid format" (it reads as a damaged key file)."""
    stop_phone()
    start_phone("never")
    try:
        rc, out, err, _ = K.keygen("rejected-key")
        check(rc != 0, "made a key the phone rejected", out + err)
        check("rejected on phone 'phone1'" in err, "our line", err)
        check("invalid format" not in err, "ssh-keygen's line", err)
        check("device not found" in err, "OpenSSH's line", err)
        msg = K.path("msg.txt")
        with open(msg, "w") as f:
            f.write("x\n")
        rc, out, err, _ = K.run([skpe2e.SSH_KEYGEN, "-Y", "sign", "-f",
                                 K.path("key"), "-n", "file", msg],
                                env=K.env(SSH_SK_PROVIDER=K.provider))
        check(rc != 0, "signed though rejected", out + err)
        check("rejected on phone 'phone1'" in err, "our line", err)
        check("invalid format" not in err, "ssh-keygen -Y sign", err)
    finally:
        stop_phone()
        start_phone()


def make_ca(name):
    """A CA certificate and key (P-256), in TMP/NAME.pem, NAME.key."""
    return K.tls_ca(name)


def make_relay_cert(ca_pem, ca_key):
    """The relay's certificate for 127.0.0.1, signed by the CA."""
    return K.tls_cert(ca_pem, ca_key)


@t10.case
def wss_relay_with_a_private_ca():
    """sk-phone pair refuses the relay's private certificate and says so;
    with --ca it pairs, keeps the CA with the pairing (status, the
    provider) and the phone keeps its own (run without --ca); a CA that
    did not sign the relay's certificate is said as such everywhere."""
    ca_pem, ca_key = make_ca("ca")
    other_pem, _ = make_ca("other-ca")
    crt, key = make_relay_cert(ca_pem, ca_key)
    port = skpe2e.free_port()
    relay = K.spawn("relay-wss", [K.relay_bin, "--listen",
                                  "127.0.0.1:%d" % port, "--tls-cert", crt,
                                  "--tls-key", key])
    skpe2e.wait_port(port, relay)
    url = "wss://127.0.0.1:%d" % port
    state = K.path("wss-computer")
    os.mkdir(state, 0o700)
    phone_dir = K.path("wss-phone")
    env = K.env(SK_PHONE_DIR=state)
    phone = None
    try:
        # 1. Without --ca: refused before the QR code, with the way out.
        rc, out, err, _ = K.run([K.cli, "pair", "--relay", url, "--yes",
                                 "--timeout", "20"], env=env)
        check(rc != 0, "paired with an untrusted relay")
        check("the relay's certificate is not trusted" in err and
              "--ca FILE" in err, "does not say why", err)
        check("running there" not in err, "blames the relay", err)
        check("Scan this code" not in out, "drew the QR code", out)
        # 2. With --ca on both sides: paired.
        uri_file = K.path("uri-wss")
        comp = K.spawn("pair-wss", [K.cli, "pair", "--relay", url, "--ca",
                                    ca_pem, "--name", "wssbox", "--yes",
                                    "--uri-file", uri_file, "--timeout",
                                    "30"], env=env)
        skpe2e.wait_file(uri_file, comp)
        with open(uri_file) as f:
            uri = f.read().strip()
        # The phone without --ca: refused, and said so.
        rc, out, err, _ = K.run([K.phone_bin, "--state", phone_dir, "pair",
                                 "-", "--name", "wssphone", "--yes",
                                 "--timeout", "10"],
                                input=(uri + "\n").encode())
        check(rc != 0, "the phone paired with an untrusted relay")
        check("the relay's certificate is not trusted" in err and
              "--ca FILE" in err, "the phone does not say why", err)
        rc, out, err, _ = K.run([K.phone_bin, "--state", phone_dir, "pair",
                                 "-", "--name", "wssphone", "--yes",
                                 "--timeout", "30", "--ca", ca_pem],
                                input=(uri + "\n").encode())
        check(rc == 0, "phone pair --ca", out + err)
        try:
            comp.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        K.stop(comp)
        check(comp.returncode == 0, "sk-phone pair --ca",
              K.log("pair-wss"))
        # 3. The phone runs without --ca: its kept copy.
        check(os.path.exists(os.path.join(phone_dir, "relay-ca.pem")),
              "the phone did not keep the CA")
        phone = K.spawn("phone-wss", [K.phone_bin, "--state", phone_dir,
                                      "run", "--approve", "always"])
        end = time.monotonic() + skpe2e.START_TIMEOUT
        while "listening" not in K.log("phone-wss") and \
                time.monotonic() < end and phone.poll() is None:
            time.sleep(0.05)
        check("listening" in K.log("phone-wss"), "phone run",
              K.log("phone-wss"))
        # 4. status and the provider use the pairing's CA.
        rc, out, err, _ = K.run([K.cli, "status", "--timeout", "10"],
                                env=env)
        check(rc == 0 and "relay %s: reachable" % url in out and
              "phone: online" in out, "status", out + err)
        rc, out, err, _ = K.keygen("wsskey", env=env)
        check(rc == 0, "ssh-keygen through the wss relay", out + err)
        # 5. The CA file now holds another CA: said everywhere.
        with open(other_pem) as f, open(ca_pem, "w") as g:
            g.write(f.read())
        rc, out, err, _ = K.run([K.cli, "status", "--timeout", "10"],
                                env=env)
        check("the relay's certificate is not trusted" in out and
              ca_pem in out, "status with the wrong CA", out + err)
        rc, out, err, _ = K.keygen("wsskey2", env=env)
        check(rc != 0, "made a key through an untrusted relay")
        check("the relay's certificate is not trusted" in err and
              ca_pem in err, "provider with the wrong CA", err)
        check("invalid format" not in err, "OpenSSH's line", err)
        K.stop(phone)
        phone = None
        rc, out, err, _ = K.run([K.phone_bin, "--state", phone_dir, "run",
                                 "--approve", "always", "--ca", other_pem],
                                timeout=30)
        check(rc != 0, "the phone ran on an untrusted relay")
        check("the relay's certificate is not trusted" in err,
              "phone run with the wrong CA", out + err)
    finally:
        if phone is not None:
            K.stop(phone)
        K.stop(relay)


@t10.case
def unpair_tells_the_phone():
    """Last (it unpairs): sk-phone unpair tells the phone, which stops
    listing the computer; with the phone offline it says so plainly."""
    stop_phone()
    rc, out, err, _ = K.run([K.cli, "unpair", "phone1"])
    check(rc == 0, "unpair", out + err)
    check("could not tell phone 'phone1' (it is offline)" in err and
          "sk-phone-authenticator unpair 'testbox'" in err,
          "does not say the phone was not told", out + err)
    rc, out, err, _ = K.run(K.phone_argv("computers"))
    check("testbox" in out, "the phone forgot without being told", out)
    # A second phone, online: told.
    K.pair(phone_name="phone2")
    start_phone()
    rc, out, err, _ = K.run(K.phone_argv("computers"))
    check("testbox" in out, "phone2 lacks the pairing", out + err)
    rc, out, err, _ = K.run([K.cli, "unpair", "phone2"])
    check(rc == 0, "unpair", out + err)
    check("phone 'phone2' was told, and no longer lists this computer"
          in out, "does not say the phone was told", out + err)
    rc, out, err, _ = K.run(K.phone_argv("computers"))
    check("testbox" not in out, "the phone still lists it", out)
    check("unpaired-by-computer" in K.run(K.phone_argv("log"))[1],
          "not in the phone's log")

def main():
    global K
    K = Kit(sys.argv[1], "tls10")
    K.phone = None
    try:
        K.key_world(start_phone)
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = t10.run(sys.argv[2:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
