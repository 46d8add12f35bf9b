# End-to-end: host certificates (sshd HostCertificate) checked by the phone.
"""usage: e2e_hostcert.py BUILD_DIR [CASE ...]

A throwaway sshd on 127.0.0.1 presents an ed25519 host key with a host
certificate made by ssh-keygen -s; real ssh logs in to "localhost" through
`sk-phone proxy` with the real relay and reference phone (PROTOCOL.md
§8.5.1). Cases, in order (each builds on the last): a CA trusted with
`hosts trust-ca` makes the login verified without a pin; a host window
covers the next one; an expired certificate, one for another principal,
a user certificate and an ssh-rsa (SHA-1) CA signature are refused with
their reasons; a plain key pinned first agrees with a
certificate of an untrusted CA for the same key; `run --unknown-ca refuse`
refuses that one; `hosts distrust-ca` removes the CA.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, SSHD, SSH_KEYGEN  # noqa: E402
import e2e_host as H  # noqa: E402

CERT_ALG = "ssh-ed25519-cert-v01@openssh.com"
tap = Tap()
K = None


def keygen(*argv):
    rc, out, err, _ = K.run([SSH_KEYGEN, "-q"] + list(argv),
                            env=K.env(preload=False))
    check(rc == 0, "ssh-keygen " + " ".join(argv), out + err)
    return out


def fingerprint(pub):
    return keygen("-l", "-f", pub).split()[1]


def make_cert(name, ca, principals="localhost",
              validity="-5m:+1h"):
    """A host certificate of the sshd's key, signed by ca."""
    pub = K.path("sshd", name + ".pub")
    with open(K.path("sshd", "host_ed25519.pub")) as f:
        key = f.read()
    with open(pub, "w") as f:
        f.write(key)
    keygen("-s", K.path(ca), "-h", "-I", name, "-n", principals, "-V",
           validity, pub)
    return K.path("sshd", name + "-cert.pub")


def sshd(cert):
    """(Re)start the sshd on its port, with the certificate or none."""
    if getattr(K, "sshd", None) is not None:
        K.stop(K.sshd)
    d = K.path("sshd")
    with open(K.sshd_config, "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\n" % K.sshd_port)
        f.write("HostKey %s\n" % os.path.join(d, "host_ed25519"))
        if cert is not None:
            f.write("HostCertificate %s\n" % cert)
        f.write("PidFile %s\n" % os.path.join(d, "sshd.pid"))
        f.write("AuthorizedKeysFile %s\n" % K.authorized_keys)
        f.write("PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "PubkeyAuthentication yes\nUsePAM no\nStrictModes no\n"
                "LogLevel VERBOSE\n")
    K.sshd = K.spawn("sshd", [SSHD, "-D", "-f", K.sshd_config, "-E",
                              K.path("sshd.log")], env=K.env(preload=False))
    skpe2e.wait_port(K.sshd_port, K.sshd)


def phone(*extra, approve="always"):
    K.stop_phone()
    name = "phone-%d" % int(time.monotonic() * 1000)
    p = K.spawn(name, K.phone_argv("run", "--approve", approve, *extra),
                env=H.env(K))
    deadline = time.monotonic() + skpe2e.START_TIMEOUT
    while "listening" not in K.log(name):
        check(p.poll() is None and time.monotonic() < deadline,
              "phone did not start", K.log(name))
        time.sleep(0.02)
    K.phone = p


def login(cert=True, verbose=False):
    return H.login(K, host="localhost", verbose=verbose,
                   hostkey_alg=CERT_ALG if cert else "ssh-ed25519")


def pin():
    return "[localhost]:%d" % K.sshd_port


def phone_cmd(*args):
    return H.phone_cmd(K, *args)


# -- cases -------------------------------------------------------------------

@tap.case
def trusted_ca_verifies_without_pin():
    sshd(make_cert("good", "ca1"))
    rc, out = phone_cmd("hosts", "trust-ca", "[localhost]:*,!evil",
                        K.path("ca1.pub"))
    check(rc == 0 and "trusted the CA %s" % K.ca1_fp in out, "trust-ca", out)
    rc, out = phone_cmd("hosts", "trust-ca", "[localhost]:*,!evil",
                        K.path("ca1.pub"))
    check(rc != 0 and "already trusted" in out, "trusted twice", out)
    rc, out = phone_cmd("hosts", "trust-ca", "*", K.path("sshd",
                                                          "good-cert.pub"))
    check(rc != 0 and "a certificate, not a CA key" in out, "a cert as CA",
          out)
    rc, out = phone_cmd("hosts")
    check("CA ssh-ed25519 %s trusted for [localhost]:*,!evil" % K.ca1_fp
          in out, "hosts lists the CA", out)
    ok, err = login(verbose=True)
    check(ok, "login with a certificate of a trusted CA", err[-3000:])
    check("Server host certificate: " + CERT_ALG in err, "no certificate",
          err[-3000:])
    line = H.last_login(K)
    check('host="%s" verified=yes' % pin() in line, "not verified", line)
    rc, out = phone_cmd("hosts")
    check(pin() not in out.replace("[localhost]:*", ""),
          "a certificate of a trusted CA was pinned", out)


@tap.case
def window_covers_certified_host():
    K.stop_phone()
    t = H.Pty(K.phone_argv("run"), H.env(K))
    K.pty = t
    t.expect("listening on")
    p = H.login_bg(K, host="localhost", hostkey_alg=CERT_ALG)
    ok, err, seen = H.ask_and_answer(t, p, "h")
    check(ok, "login allowed for this host", err)
    check("%s @ %s (verified (certificate from CA %s))" % (
        K.user, pin(), K.ca1_fp) in seen, "prompt", seen)
    check("[h] allow logins to %s" % pin() in seen, "no host window", seen)
    ok, err = login()
    check(ok, "second login", err)
    check("answer within" not in t.drain(0.5), "asked inside the window")
    line = H.last_login(K)
    check("decision=allow-host-window" in line and "verified=yes" in line,
          "audit", line)
    K.pty = None
    t.close()
    phone()


@tap.case
def expired_certificate_refused():
    sshd(make_cert("old", "ca1", validity="20200101000000Z:20210101000000Z"))
    ok, err = login()
    check(not ok, "logged in with an expired certificate")
    want = ("sk-phone: phone 'phone1' refused: the host certificate for "
            "localhost has expired (valid until 2021-01-01T00:00:00Z); the "
            "phone refused to sign")
    check(want in err, "no reason", err)
    line = H.audit(K)[-1]
    check("decision=refused-host-certificate" in line and
          "verified=no" in line, "audit", line)


@tap.case
def wrong_principal_refused():
    sshd(make_cert("other", "ca1", principals="other.example"))
    ok, err = login()
    check(not ok, "logged in with another host's certificate")
    check("the host certificate for localhost is for other hosts "
          "(localhost is not among its principals)" in err, "no reason", err)
    check("decision=refused-host-certificate" in H.audit(K)[-1], "audit",
          H.audit(K)[-1])


@tap.case
def user_type_and_sha1_refused():
    """(A certificate the CA did not sign never reaches the phone: sshd
    and ssh both check the CA's signature when they parse one; the phone's
    own check is in test_hostcert.)"""
    # A user certificate of the host key, from the trusted CA.
    pub = K.path("sshd", "user.pub")
    with open(K.path("sshd", "host_ed25519.pub")) as f:
        key = f.read()
    with open(pub, "w") as f:
        f.write(key)
    keygen("-s", K.path("ca1"), "-I", "user", "-n", "localhost", "-V",
           "-5m:+1h", pub)
    sshd(K.path("sshd", "user-cert.pub"))
    ok, err = login()
    check(not ok and "the certificate localhost presents is a user "
          "certificate, not a host certificate" in err, "user certificate",
          err)
    # An RSA CA that signs with ssh-rsa (SHA-1), trusted for the host.
    keygen("-t", "rsa", "-b", "2048", "-N", "", "-C", "ca3", "-f",
           K.path("ca3"))
    rc, out = phone_cmd("hosts", "trust-ca", "localhost,[localhost]:*",
                        K.path("ca3.pub"))
    check(rc == 0, "trust-ca rsa", out)
    pub = K.path("sshd", "sha1.pub")
    with open(pub, "w") as f:
        f.write(key)
    keygen("-s", K.path("ca3"), "-t", "ssh-rsa", "-h", "-I", "sha1", "-n",
           "localhost", "-V", "-5m:+1h", pub)
    sshd(K.path("sshd", "sha1-cert.pub"))
    ok, err = login()
    check(not ok and "the host certificate for localhost is signed by its "
          "CA with ssh-rsa (SHA-1), which the phone does not accept" in err,
          "ssh-rsa CA signature", err)
    rc, out = phone_cmd("hosts", "distrust-ca", K.path("ca3.pub"),
                        "localhost,[localhost]:*")
    check(rc == 0 and "1 entry removed" in out, "distrust-ca rsa", out)


@tap.case
def untrusted_ca_is_a_plain_key():
    # The plain key first: pinned on first use.
    sshd(None)
    ok, err = login(cert=False)
    check(ok and 'host="%s" verified=new' % pin() in H.last_login(K),
          "plain key pinned", err + H.last_login(K))
    # A certificate of a CA the phone does not trust, for the same key:
    # the certified key is the pinned key.
    sshd(make_cert("ca2", "ca2"))
    ok, err = login(verbose=True)
    check(ok, "login with an untrusted CA's certificate", err[-3000:])
    check("Server host certificate: " + CERT_ALG in err, "no certificate",
          err[-3000:])
    check("verified=yes" in H.last_login(K), "not the pinned key",
          H.last_login(K))
    rc, out = phone_cmd("hosts")
    want = "%s ssh-ed25519 %s pinned" % (
        pin(), fingerprint(K.path("sshd", "host_ed25519.pub")))
    check(want in out, "pin", out)


@tap.case
def unknown_ca_refused_with_setting():
    phone("--unknown-ca", "refuse")
    ok, err = login()
    check(not ok, "logged in with --unknown-ca refuse")
    want = ("the host certificate for %s is from a CA the phone does not "
            "trust (%s) and the phone runs with --unknown-ca refuse"
            % (pin(), K.ca2_fp))
    check(want in err, "no reason", err)
    check("decision=refused-host-certificate" in H.audit(K)[-1], "audit",
          H.audit(K)[-1])
    # A CA it trusts is still verified.
    sshd(make_cert("good2", "ca1"))
    ok, err = login()
    check(ok and "verified=yes" in H.last_login(K), "trusted CA", err)
    phone()


@tap.case
def distrust_ca():
    rc, out = phone_cmd("hosts", "distrust-ca", K.ca1_fp)
    check(rc == 0 and "no longer trusts the CA %s" % K.ca1_fp in out,
          "distrust-ca", out)
    rc, out = phone_cmd("hosts", "distrust-ca", K.path("ca1.pub"))
    check(rc != 0 and "no such CA" in out, "distrusted twice", out)
    rc, out = phone_cmd("hosts")
    check("no trusted host CAs" in out, "hosts", out)
    # Now a plain key again, and the same key as pinned.
    ok, err = login()
    check(ok and "verified=yes" in H.last_login(K), "pinned key", err)
    check(any(" op=trust-ca " in x and "decision=trusted" in x
              for x in H.audit(K)), "audit trust-ca")
    check(any(" op=distrust-ca " in x and "decision=distrusted" in x
              for x in H.audit(K)), "audit distrust-ca")


@tap.case
def no_sanitizer_reports():
    K.stop_phone()
    H.logs_clean(K)


def main():
    global K
    K = Kit(sys.argv[1], "hostcert")
    H.K = K
    K.pty = None
    K.runtime = K.path("runtime")
    os.mkdir(K.runtime, 0o700)
    try:
        K.start_relay()
        d = K.path("sshd")
        os.makedirs(d, mode=0o700)
        keygen("-t", "ed25519", "-N", "", "-f", os.path.join(d,
                                                             "host_ed25519"))
        for ca in ("ca1", "ca2"):
            keygen("-t", "ed25519", "-N", "", "-C", ca, "-f", K.path(ca))
        K.ca1_fp = fingerprint(K.path("ca1.pub"))
        K.ca2_fp = fingerprint(K.path("ca2.pub"))
        K.authorized_keys = os.path.join(d, "authorized_keys")
        open(K.authorized_keys, "a").close()
        os.chmod(K.authorized_keys, 0o600)
        K.sshd_port = skpe2e.free_port()
        K.sshd_config = os.path.join(d, "sshd_config")
        K.user = skpe2e.pwd_name()
        K.known_hosts = K.path("known_hosts")
        K.pair()
        phone()
        K.key = K.path("id_ecdsa_sk")
        rc, out, err, _ = K.keygen("id_ecdsa_sk", env=H.env(K))
        check(rc == 0, "ssh-keygen -t ecdsa-sk", out + err)
        K.authorize(K.key + ".pub")
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = tap.run(sys.argv[2:])
    if K.pty is not None:
        K.pty.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
