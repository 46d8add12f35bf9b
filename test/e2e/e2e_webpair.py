# End-to-end: the web pairing URL in sk-phone pair's QR code (issue 11).
"""usage: e2e_webpair.py BUILD_DIR [CASE ...]

The real relay serving a web phone (--web DIR with a page), the real
sk-phone pair and the reference phone (sk-phone-authenticator pair) on
127.0.0.1. When the relay serves the web phone, the QR code is
http(s)://RELAY/#<pairing> (PROTOCOL.md 2.1, web form), printed too, and
the reference phone pairs with that URL; with --no-web the QR code is the
sk-phone://pair? text form as before.

Issue 11, what -> case (each failed before: sk-phone pair had no web
form, and the phone refused an http(s):// URL as "not an sk-phone
pairing URI"):
  web URL on loopback ws:// ............ loopback_relay_gives_http_url
  web URL on wss (the relay's TLS) ..... tls_relay_gives_https_url
  --no-web keeps the text form ......... no_web_keeps_the_text_form
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402

K = None
T = Tap()
PAGE = b"<!doctype html><title>sk-phone</title>\n"


def web_dir():
    d = K.path("web")
    if not os.path.isdir(d):
        os.mkdir(d)
        with open(os.path.join(d, "index.html"), "wb") as f:
            f.write(PAGE)
    return d


def start_relay(name, *args):
    port = skpe2e.free_port()
    p = K.spawn(name, [K.relay_bin, "--listen", "127.0.0.1:%d" % port,
                       *args])
    skpe2e.wait_port(port, p)
    return port, p


def pair(tag, url, ca=None):
    """sk-phone pair against url; (its stdout, the text form, the web
    URL it printed or None). The pairing is left waiting."""
    state = K.path("computer-" + tag)
    os.mkdir(state, 0o700)
    uri_file = K.path("uri-" + tag)
    argv = [K.cli, "pair", "--relay", url, "--name", "box-" + tag, "--yes",
            "--uri-file", uri_file, "--timeout", "30"]
    if ca:
        argv += ["--ca", ca]
    comp = K.spawn("pair-" + tag, argv, env=K.env(SK_PHONE_DIR=state))
    skpe2e.wait_file(uri_file, comp)
    with open(uri_file) as f:
        text = f.read().strip()
    # The lines are printed before the URI file is written.
    out = K.log("pair-" + tag)
    m = re.search(r"Or open this address on the phone:\n(\S+)\n", out)
    return comp, out, text, m.group(1) if m else None


def phone_pairs(tag, uri, ca=None):
    argv = [K.phone_bin, "--state", K.path("phone-" + tag), "pair", "-",
            "--name", "phone-" + tag, "--yes", "--timeout", "30"]
    if ca:
        argv += ["--ca", ca]
    rc, out, err, _ = K.run(argv, input=(uri + "\n").encode())
    check(rc == 0, "the phone did not pair with %s" % uri, out + err)


def computer_done(tag, comp):
    try:
        comp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    K.stop(comp)
    check(comp.returncode == 0, "sk-phone pair failed",
          K.log("pair-" + tag))
    check("Paired with phone 'phone-%s'" % tag in K.log("pair-" + tag),
          "no pairing said", K.log("pair-" + tag))


@T.case
def loopback_relay_gives_http_url():
    """ws:// on 127.0.0.1 with a web phone: the QR code is
    http://127.0.0.1:PORT/#v=2&... (the same query as the text form, the
    relay's own origin), and the reference phone pairs with it."""
    port, relay = start_relay("relay-web", "--web", web_dir())
    try:
        url = "ws://127.0.0.1:%d" % port
        comp, out, text, web = pair("loop", url)
        check(web is not None, "no web URL printed", out)
        check("Scan this code with your phone's camera" in out,
              "the QR code is not said to be the web phone's", out)
        check(text.startswith("sk-phone://pair?"), "text form: " + text)
        check(web == "http://127.0.0.1:%d/#%s" % (port, text.split("?", 1)[1]),
              "web URL %r is not the text form's query at the relay's "
              "origin (%r)" % (web, text))
        phone_pairs("loop", web)
        computer_done("loop", comp)
    finally:
        K.stop(relay)


@T.case
def no_web_keeps_the_text_form():
    """--no-web: the relay answers 404, the QR code stays the
    sk-phone://pair? text, no web address is printed; pairing works."""
    port, relay = start_relay("relay-noweb", "--no-web")
    try:
        comp, out, text, web = pair("noweb", "ws://127.0.0.1:%d" % port)
        check(web is None and "http://" not in out,
              "a web URL without a web phone", out)
        check("Scan this code with the sk-phone app" in out, "QR text", out)
        phone_pairs("noweb", text)
        computer_done("noweb", comp)
    finally:
        K.stop(relay)


@T.case
def tls_relay_gives_https_url():
    """wss:// with the relay's TLS (a private CA, --ca on both sides):
    the QR code is https://127.0.0.1:PORT/#..., checked over TLS with the
    CA, and the reference phone pairs with it."""
    ca_pem, ca_key = K.tls_ca("ca")
    crt, key = K.tls_cert(ca_pem, ca_key, "r")
    port, relay = start_relay("relay-tls", "--web", web_dir(),
                              "--tls-cert", crt, "--tls-key", key)
    try:
        comp, out, text, web = pair("tls", "wss://127.0.0.1:%d" % port,
                                    ca=ca_pem)
        check(web == "https://127.0.0.1:%d/#%s" % (port,
                                                   text.split("?", 1)[1]),
              "web URL over TLS: %r" % web, out)
        phone_pairs("tls", web, ca=ca_pem)
        computer_done("tls", comp)
    finally:
        K.stop(relay)


def main():
    global K
    K = Kit(sys.argv[1], "webpair")
    rc = T.run(sys.argv[2:])
    if rc != 0:
        for f in sorted(os.listdir(K.tmp)):
            if f.endswith(".log"):
                sys.stderr.write("-- %s --\n%s\n" %
                                 (f, K.log(f[:-4])[-1500:]))
    K.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
