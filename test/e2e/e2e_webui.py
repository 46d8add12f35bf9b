# End-to-end: the web phone's screens that change its state (issue 11).
"""usage: e2e_webui.py BUILD_DIR [CASE ...]

The page meson built (BUILD/web), served by the real relay, in headless
Chromium as a phone (test/web/driver.mjs through webphone.py, data-test
hooks only), paired with the real sk-phone pair; real ssh-keygen and a
throwaway sshd through sk-phone proxy make a key and a host pin. What the
owner does on the screens is what the phone's state then holds (read
through window.skpPhone, never changed through it), and every destructive
tap asks first: "no" leaves everything as it was.

Issue 11 "Screens", what -> case (each failed before: there were no
screens):
  rename a computer; its next request shows the new name . rename_shows_on_cards
  forget a pinned host, after a "no" ...................... host_forget_asks_first
  delete a key, after a "no" .............................. key_delete_asks_first
  unpair a computer, after a "no" ......................... unpair_asks_first
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402
from webphone import WebPhone, pair_web  # noqa: E402

K = None
W = None
T = Tap()
KEY = None


def bg(argv, env):
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def answered(p, choice="once"):
    """The request card p made: read, answered; (card, p's rc, output)."""
    card = W.request()
    W.answer(choice)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return card, p.returncode, out.decode(errors="replace")


def state(expr):
    return W.eval("window.skpPhone.state." + expr)


def dialog(answer, fill=None):
    """The "are you sure" dialog: optionally its text field filled, then
    confirm-yes or confirm-no tapped, and gone."""
    if fill is not None:
        W.eval("(() => { const i = document.querySelector("
               "'[data-test=\"confirm-input\"]'); i.value = %s; "
               "return i.value; })()" % repr(fill))
    W.tap("confirm-yes" if answer else "confirm-no")
    check(W.eval("document.getElementById('dialog').open") is False,
          "the dialog is still open")


@T.case
def rename_shows_on_cards():
    """Computers: Rename opens a dialog with the name; the new name is
    the computer's in the state and on its next request's card (an
    enrollment by ssh-keygen -t ecdsa-sk, allowed once)."""
    global KEY
    pair_web(K, W, "box1", tag="r")
    W.list("computers", want="box1")
    W.tap("computer-rename")
    dialog(True, fill="laptop")
    rows = W.list("computers", want="laptop", gone="box1")
    check([r["name"] for r in rows] == ["laptop"], "rows: %r" % rows)
    names = state("computers().then((l) => l.map((c) => c.name))")
    check(names == ["laptop"], "the state has %r" % names)
    KEY = K.path("id_ecdsa_sk")
    card, rc, out = answered(bg(
        [skpe2e.SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w", K.provider,
         "-N", "", "-f", KEY], K.env()))
    check(card["computer"] == "laptop" and card["op"] == "enroll",
          "card: %r" % card)
    check(rc == 0, "ssh-keygen failed", out)


@T.case
def host_forget_asks_first():
    """Hosts: a login through sk-phone proxy pins the host; Forget asks,
    "no" keeps the pin, "yes" drops it from the state, and the next login
    is a first use again."""
    K.start_sshd()
    K.authorize(KEY + ".pub")
    runtime = K.path("runtime")
    os.mkdir(runtime, 0o700)
    env = K.env(XDG_RUNTIME_DIR=runtime)
    argv = [skpe2e.SSH, "-p", str(K.sshd_port), "-F", "/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", "UserKnownHostsFile=" + K.known_hosts,
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "ProxyCommand=%s proxy %%h %%p" % K.cli,
            "-o", "SecurityKeyProvider=" + K.provider, "-i", KEY,
            "%s@127.0.0.1" % K.user, "echo skp-login-ok"]
    card, rc, out = answered(bg(argv, env))
    check(card["hostState"] == "first-use", "card: %r" % card)
    check(rc == 0 and "skp-login-ok" in out, "ssh failed", out)
    pin = "[127.0.0.1]:%d" % K.sshd_port
    W.list("hosts", want=pin)
    W.tap("host-forget")
    dialog(False)
    W.list("hosts", want=pin)
    check(len(state("hosts()")) == 1, "the pin went on 'no'")
    W.tap("host-forget")
    dialog(True)
    W.list("hosts", gone=pin)
    check(state("hosts()") == [], "the pin is still in the state")
    card, rc, out = answered(bg(argv, env))
    check(card["hostState"] == "first-use", "not a first use again: %r" % card)
    check(rc == 0, "ssh failed", out)


@T.case
def key_delete_asks_first():
    """Keys: Delete asks; "no" keeps the key, "yes" removes it from the
    state."""
    W.list("keys", want="ssh:")
    W.tap("key-delete")
    dialog(False)
    W.list("keys", want="ssh:")
    check(len(state("credentials()")) == 1, "the key went on 'no'")
    W.tap("key-delete")
    dialog(True)
    W.list("keys", gone="ssh:")
    check(state("credentials()") == [], "the key is still in the state")


@T.case
def unpair_asks_first():
    """Computers: Unpair asks; "no" keeps the computer, "yes" removes it
    from the state."""
    W.list("computers", want="laptop")
    W.tap("computer-unpair")
    dialog(False)
    W.list("computers", want="laptop")
    W.tap("computer-unpair")
    dialog(True)
    W.list("computers", gone="laptop")
    check(state("computers()") == [], "the computer is still in the state")


def main():
    global K, W
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    K = Kit(sys.argv[1], "e2e-webui")
    rc = 1
    try:
        check(os.path.isfile(os.path.join(K.web_bundle, "index.html")),
              "meson built no web phone in %s: run sh scripts/web-deps.sh, "
              "then meson setup --reconfigure" % K.web_bundle)
        port = skpe2e.free_port()
        relay = K.spawn("relay", [K.relay_bin, "--listen",
                                  "127.0.0.1:%d" % port, "--web",
                                  K.web_bundle])
        skpe2e.wait_port(port, relay)
        K.relay_url = "ws://127.0.0.1:%d" % port
        W = WebPhone(K)
        W.open("http://127.0.0.1:%d/" % port)
        W.setup("pocket")
        W.status("online")
        rc = T.run(sys.argv[2:])
    except Exception as e:
        print("Bail out! %s: %s" % (type(e).__name__, e), flush=True)
        rc = 1
    finally:
        if W is not None:
            W.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
