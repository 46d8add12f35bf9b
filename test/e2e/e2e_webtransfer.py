# End-to-end: another phone moves to the web phone (issue 17).
"""usage: e2e_webtransfer.py BUILD_DIR PAGE_DIR [CASE ...]

The real relay serving the web phone (PAGE_DIR) on 127.0.0.1 and the web
phone in headless Chromium (test/e2e/webphone.py) taking a transfer's
text on its first-run screen, both sides showing one code
(docs/PROTOCOL.md section 10), what -> case:

  the page's screens with a stand-in old phone
    (web/test/oldphone.mjs): the same code both sides,
    the warning; then online on the old mailbox, the
    keys not extractable, computers and keys listed ... screens_with_stand_in

The reference phone as the old phone (sk-phone-authenticator transfer,
helper transfer's) and an ssh login through the web phone with the old
key file come once that command is on main.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402
from webphone import WebPhone  # noqa: E402

K = None
W = None
T = Tap()
PAGE = None
WAIT = 30.0
WEB_TEST = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "web", "test")


def setup():
    port = skpe2e.free_port()
    K.relay_port = port
    K.relay_url = "ws://127.0.0.1:%d" % port
    K.relay = K.spawn("relay", [K.relay_bin, "--listen",
                                "127.0.0.1:%d" % port, "--web", PAGE])
    skpe2e.wait_port(port, K.relay)
    K.page = "http://127.0.0.1:%d/" % port


@T.case
def screens_with_stand_in():
    import subprocess
    from webphone import node
    old = subprocess.Popen([node(), os.path.join(WEB_TEST, "oldphone.mjs"),
                            K.relay_url], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True,
                           cwd=WEB_TEST, start_new_session=True)
    old.skp_name = "oldphone"
    K.procs.append(old)
    uri = old.stdout.readline().strip()
    check(uri.startswith("sk-phone://transfer?"), "stand-in URI", uri)
    W.open(K.page, phone="js")
    r = W.receive(uri, phone="js", timeout=WAIT)
    check(r["from"] == "old phone", "name %r" % r)
    check("one time a private key leaves a phone" in r["warning"],
          "no warning", r["warning"])
    done = W.receive_confirm(phone="js", timeout=WAIT)
    check("now the old one" in done["received"], "received", str(done))
    line = old.stdout.readline().strip()
    check(line == "code " + r["code"], "codes: %r, page %r" %
          (line, r["code"]))
    W.status("online", phone="js", timeout=WAIT)
    keys = W.export_keys(phone="js")
    check(keys["private"] == 4 and not keys["exported"],
          "stored keys %r" % keys)
    rows = W.list("computers", want="laptop", phone="js")
    check([x["name"] for x in rows] == ["laptop"], "computers %r" % rows)
    rows = W.list("keys", want="ed25519-sk", phone="js")
    check(len(rows) == 2, "keys %r" % rows)
    W.close_phone("js")


def main():
    global K, W, PAGE
    PAGE = os.path.abspath(sys.argv[2])
    K = Kit(sys.argv[1], "webtransfer")
    try:
        check(os.path.isfile(os.path.join(PAGE, "index.html")),
              "no web phone in %s" % PAGE)
        W = WebPhone(K)
        setup()
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e, logs=("relay", "phone", "webphone"))
    rc = T.run(sys.argv[3:])
    W.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
