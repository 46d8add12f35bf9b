# End-to-end: the reference phone moves to the web phone (issue 17).
"""usage: e2e_webtransfer.py BUILD_DIR PAGE_DIR [CASE ...]

The real relay serving the web phone (PAGE_DIR) on 127.0.0.1, the
reference phone paired with sk-phone, a key made on it with the real
ssh-keygen and a throwaway sshd that takes it; then
`sk-phone-authenticator transfer` on the reference phone and the web
phone in headless Chromium (test/e2e/webphone.py) taking its text, both
showing one code (docs/PROTOCOL.md section 10), what -> case:

  the page's screens with a stand-in old phone
    (web/test/oldphone.mjs): the same code both sides,
    the warning; then online on the old mailbox, the
    keys not extractable, computers and keys listed ... screens_with_stand_in
  the web phone shows the old phone's code and name,
    and the one-time warning; confirmed, it holds
    the keys, not extractable ......................... transfer_to_web_phone
  the same key file logs in through the web phone
    (a tap on its card), no pairing again .............. old_key_file_logs_in
  the old phone lists no keys and refuses to run ...... old_phone_refuses
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402
from webphone import WebPhone, WebError  # noqa: E402

K = None
W = None
T = Tap()
PAGE = None
WAIT = 30.0
WEB_TEST = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "web", "test")
S = {}


def setup():
    port = skpe2e.free_port()
    K.relay_port = port
    K.relay_url = "ws://127.0.0.1:%d" % port
    K.relay = K.spawn("relay", [K.relay_bin, "--listen",
                                "127.0.0.1:%d" % port, "--web", PAGE])
    skpe2e.wait_port(port, K.relay)
    K.page = "http://127.0.0.1:%d/" % port
    K.start_sshd()
    K.pair()
    K.start_phone(pin=None)
    rc, out, err, _ = K.keygen("key")
    check(rc == 0, "ssh-keygen", out + err)
    K.authorize(K.path("key.pub"))
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login through the reference phone", err)
    K.stop_phone()


def in_background(name, argv):
    import subprocess
    out = open(K.path(name + ".out"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT, env=K.env(),
                         cwd=K.tmp, start_new_session=True)
    out.close()
    p.skp_name = name
    K.procs.append(p)
    return p


def output(name):
    with open(K.path(name + ".out"), "rb") as f:
        return f.read().decode("utf-8", "replace")


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


@T.case
def transfer_to_web_phone():
    uri_file = K.path("transfer-uri")
    old = in_background("transfer", K.phone_argv(
        "transfer", "--uri-file", uri_file, "--yes", "--timeout", "60"))
    skpe2e.wait_file(uri_file, old)
    with open(uri_file) as f:
        uri = f.read().strip()
    check(uri.startswith("sk-phone://transfer?"), "the URI", uri)
    W.open(K.page)
    r = W.receive(uri, timeout=WAIT)
    check(r["from"] == "phone1", "the old phone's name %r" % r)
    check("one time a private key leaves a phone" in r["warning"],
          "no warning", r["warning"])
    # The code the old phone shows (its owner compares it).
    deadline = time.monotonic() + 10
    shown = None
    while time.monotonic() < deadline and shown is None:
        m = re.search(r"transfer code: (\d{3}) (\d{3})", output("transfer"))
        shown = m and m.group(1) + m.group(2)
        time.sleep(0.05)
    check(shown == r["code"], "codes differ: old %r, web %r" %
          (shown, r["code"]), output("transfer"))
    done = W.receive_confirm(timeout=WAIT)
    check("now the old one" in done["received"], "received", str(done))
    try:
        old.wait(timeout=WAIT)
    except Exception:
        pass
    check(old.returncode == 0, "transfer exit %r" % old.returncode,
          output("transfer"))
    W.status("online", timeout=WAIT)
    keys = W.export_keys()
    check(keys["private"] >= 3 and not keys["exported"],
          "keys extractable: %r" % keys)
    S["moved"] = True


@T.case
def old_key_file_logs_in():
    check(S.get("moved"), "no transfer")
    import subprocess
    argv = K.ssh_argv(key=K.path("key"), provider=K.provider) + \
        ["echo skp-login-ok"]
    out = open(K.path("ssh.out"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT, env=K.env(),
                         cwd=K.tmp, start_new_session=True)
    out.close()
    K.procs.append(p)
    try:
        card = W.request(timeout=WAIT)
    except WebError as e:
        K.stop(p)
        raise AssertionError("no card on the web phone (%s): %s" %
                             (e, output("ssh")))
    check(card["op"] == "login" and card["computer"] == "testbox",
          "card %r" % card)
    W.answer("once")
    p.wait(timeout=WAIT)
    check(p.returncode == 0 and "skp-login-ok" in output("ssh"),
          "login through the web phone", output("ssh"))


@T.case
def old_phone_refuses():
    check(S.get("moved"), "no transfer")
    rc, out, err, _ = K.run(K.phone_argv("keys"))
    check(rc != 0 and "moved" in out + err, "old phone keys", out + err)
    rc, out, err, _ = K.run(K.phone_argv("run", "--approve", "always"),
                            timeout=10)
    check(rc != 0 and "moved" in out + err, "old phone run", out + err)


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
