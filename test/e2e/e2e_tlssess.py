# End-to-end: wss:// sessions resumed from the computer's state (§6.7).
"""usage: e2e_tlssess.py BUILD_DIR [CASE ...]

A wss relay with a throwaway CA on 127.0.0.1, a paired reference phone
and ssh-keygen -Y sign through the provider, connecting directly
(SK_PHONE_KEEPER=off). SK_PHONE_DEBUG=1 makes the relay client say, per
connection, the TLS version and whether the saved session was resumed.

  the second connection resumes the first one's session; the file
  tls-sessions is 0600 ................................ resumed_second_time
  a damaged file is ignored (full handshake), then written anew
  .......................................................... damaged_ignored
  another file in its place (the phones file) is ignored  foreign_ignored
  a file open to other users is refused, then replaced 0600 open_file_refused
  a symbolic link is not followed; what it names is untouched
  ........................................................ symlink_not_followed
  the CA file's content changed: the session is not offered  other_ca_not_resumed
  a relay that speaks TLS 1.2 only: full, then resumed ...... tls12_resumed
  the connection keeper resumes the session a direct call saved, from
  the same file ............................................ keeper_resumes
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, SSH_KEYGEN  # noqa: E402

T = Tap()
K = None
FILE = "tls-sessions"
FULL = "TLSv1.3, full handshake"
RESUMED = "TLSv1.3, TLS session resumed"


def start_relay(env=None):
    """The wss relay on K.port (the same port when started again)."""
    K.relay = K.spawn("relay", [K.relay_bin, "--listen",
                                "127.0.0.1:%d" % K.port, "--tls-cert",
                                K.crt, "--tls-key", K.crtkey], env=env)
    skpe2e.wait_port(K.port, K.relay)


def sign():
    """One signature; its stderr (debug lines included)."""
    msg = K.path("message")
    if os.path.exists(msg + ".sig"):
        os.unlink(msg + ".sig")
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "sign", "-f", K.path("key"),
                             "-n", "file", msg],
                            env=K.env(SK_PHONE_DEBUG=1,
                                      SK_PHONE_KEEPER="off",
                                      SSH_SK_PROVIDER=K.provider))
    check(rc == 0, "ssh-keygen -Y sign failed", out + err)
    return err


def sessions():
    return os.path.join(K.state, FILE)


def fresh():
    """No saved session, then one: the next signature resumes."""
    if os.path.lexists(sessions()):
        os.unlink(sessions())
    check(FULL in sign(), "no full handshake without a file")


@T.case
def resumed_second_time():
    if os.path.lexists(sessions()):
        os.unlink(sessions())
    err = sign()
    check(FULL in err and "resumed" not in err, "first: full handshake",
          err)
    st = os.lstat(sessions())
    check(st.st_mode & 0o7777 == 0o600, "tls-sessions is not 0600",
          oct(st.st_mode))
    with open(sessions(), "rb") as f:
        check(f.read(4) == b"SKPS", "not a state file")
    err = sign()
    check(RESUMED in err, "second: not resumed", err)
    # Each connection's new ticket is kept (a ticket is used once).
    with open(sessions(), "rb") as f:
        first = f.read()
    sign()
    with open(sessions(), "rb") as f:
        check(f.read() != first, "the same ticket used again")


@T.case
def damaged_ignored():
    fresh()
    with open(sessions(), "r+b") as f:
        f.seek(40)
        f.write(b"\xff\xff\xff\xff")
    err = sign()
    check("saved TLS sessions not used" in err and "damaged" in err and
          FULL in err, "damaged file used or not said", err)
    check(RESUMED in sign(), "not written anew")


@T.case
def foreign_ignored():
    fresh()
    with open(os.path.join(K.state, "phones"), "rb") as f:
        data = f.read()
    with open(sessions(), "wb") as f:
        f.write(data)
    err = sign()
    check("does not decode" in err and FULL in err,
          "foreign file used or not said", err)
    check(RESUMED in sign(), "not written anew")


@T.case
def open_file_refused():
    fresh()
    os.chmod(sessions(), 0o644)
    err = sign()
    check("open to other users" in err and FULL in err,
          "an open file was used", err)
    st = os.lstat(sessions())
    check(st.st_mode & 0o7777 == 0o600, "not replaced by a 0600 file",
          oct(st.st_mode))
    check(RESUMED in sign(), "not resumed after")


@T.case
def symlink_not_followed():
    fresh()
    target = K.path("elsewhere")
    os.rename(sessions(), target)
    with open(target, "rb") as f:
        before = f.read()
    os.symlink(target, sessions())
    err = sign()
    check("symbolic link" in err and FULL in err, "followed the link", err)
    with open(target, "rb") as f:
        check(f.read() == before, "what the link names was written")
    check(not os.path.islink(sessions()), "the link is still there")


@T.case
def other_ca_not_resumed():
    fresh()
    with open(K.ca, "rb") as f:
        ca = f.read()
    try:
        with open(K.ca, "ab") as f:
            f.write(b"\n")
        err = sign()
        check(FULL in err and "resumed" not in err,
              "a session saved under another CA was offered", err)
    finally:
        with open(K.ca, "wb") as f:
            f.write(ca)


@T.case
def large_ca_through_keeper():
    """A CA file too large for the keeper's OPEN frame (a whole system
    bundle, say): the provider goes direct, as for any keeper it cannot
    use, rather than failing the call."""
    with open(K.ca, "rb") as f:
        ca = f.read()
    try:
        with open(K.ca, "ab") as f:
            f.write(b"# padding past the keeper's frame\n" * 2048)
        rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "sign", "-f",
                                 K.path("key"), "-n", "file",
                                 K.path("message")],
                                env=K.env(SK_PHONE_DEBUG=1,
                                          SSH_SK_PROVIDER=K.provider))
        check(rc == 0, "a large CA file failed the call through the keeper",
              out + err)
        check("directly" in err, "the call did not go direct", err)
    finally:
        with open(K.ca, "wb") as f:
            f.write(ca)
        if os.path.exists(K.path("message") + ".sig"):
            os.unlink(K.path("message") + ".sig")


@T.case
def tls12_resumed():
    conf = K.path("tls12.cnf")
    with open(conf, "w") as f:
        f.write("openssl_conf = init\n[init]\nssl_conf = ssl\n"
                "[ssl]\nsystem_default = sys\n"
                "[sys]\nMaxProtocol = TLSv1.2\n")
    K.stop(K.relay)
    start_relay(env=K.env(OPENSSL_CONF=conf))
    try:
        err = sign()
        check("TLSv1.2, full handshake" in err or
              "TLSv1.2, saved TLS session refused" in err,
              "not a TLS 1.2 full handshake", err)
        err = sign()
        check("TLSv1.2, TLS session resumed" in err, "1.2: not resumed",
              err)
    finally:
        K.stop(K.relay)
        start_relay()


@T.case
def keeper_resumes():
    """The keeper's relay connections use the computer's file too: a
    session a direct call saved is resumed when the keeper connects."""
    K.stop_keepers()
    fresh()
    before = K.log("keeper").count(RESUMED)
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "sign", "-f", K.path("key"),
                             "-n", "file", K.path("message")],
                            env=K.env(SK_PHONE_DEBUG=1,
                                      SSH_SK_PROVIDER=K.provider))
    try:
        check(rc == 0 and "through the keeper" in err,
              "the call did not go through the keeper", out + err)
        log = K.log("keeper")
        check(log.count(RESUMED) == before + 1,
              "the keeper's connection did not resume the saved session",
              log)
    finally:
        K.stop_keepers()
        if os.path.exists(K.path("message") + ".sig"):
            os.unlink(K.path("message") + ".sig")


def main():
    global K
    K = Kit(sys.argv[1], "tlssess")
    try:
        K.ca, cakey = K.tls_ca("ca")
        K.crt, K.crtkey = K.tls_cert(K.ca, cakey)
        K.port = skpe2e.free_port()
        start_relay()
        K.relay_url = "wss://127.0.0.1:%d" % K.port
        K.pair(extra=("--ca", K.ca), phone_extra=("--ca", K.ca))
        K.start_phone(approve="always", pin=None)
        rc, out, err, _ = K.keygen("key", env=K.env(SK_PHONE_KEEPER="off"))
        if rc != 0:
            raise RuntimeError("ssh-keygen: " + out + err)
        with open(K.path("message"), "wb") as f:
            f.write(b"sk-phone tls sessions\n")
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = T.run(sys.argv[2:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
