# End-to-end: the web phone in real Chromium (issue 11, suite "web").
"""usage: e2e_web.py BUILD_DIR FIXTURE_DIR PAGE_DIR [CASE ...]

Debian's chromium (/usr/bin/chromium) driven by playwright-core through
test/web/driver.mjs (test/e2e/webphone.py), headless, each phone a fresh
profile with a phone's screen (390 x 844, 3x) and touch; pages served by
the real sk-phone-relay (--web) on 127.0.0.1, under its CSP and
cross-origin isolation. One Chromium is shared by the cases; a case that
needs a fresh profile makes one.

The harness itself, against FIXTURE_DIR (test/web/fixture: a page that
keeps WebCrypto keys in IndexedDB as the web phone does, and one
extractable key as the control), what -> case:
  a phone's screen and touch, a secure context ..... harness_phone_context
  each phone its own profile (IndexedDB) ............ harness_fresh_profile
  exportKey tried on every stored key; the
    extractable control caught, the others refused,
    also after a reload (same keys, still signing) .. harness_export_keys
  a PNG screenshot at the phone's pixel size ........ harness_screenshot

The web phone (PAGE_DIR, the page the build made) with the real sk-phone
pair, ssh-keygen, ssh through sk-phone proxy and a throwaway sshd; one
profile, the cases in order, each building on the last. Issue 11's "Must
show", what -> case:
  the QR's URL opened in the page pairs with the
    real sk-phone pair (same code both sides) ....... pair_from_qr_url
  ssh-keygen -t ecdsa-sk enrolls, a tap ............. enroll_plain
  a login through sk-phone proxy shown first use,
    then verified, allowed with a tap, host pinned .. login_verified_pins_host
  ssh-keygen -t ed25519-sk (issue 13): the card and
    the keys screen name ed25519-sk; a login with it
    verified; -Y sign / -Y verify .................... ed25519_enroll_login_sign
  a replaced host key refused; forget, pinned again . replaced_host_key_refused
  ssh-keygen -Y sign shows its namespace, verifies .. sign_shows_namespace
  reject ............................................ reject_refuses
  resident, and ssh-keygen -K downloads it .......... resident_and_download
  verify-required with the web phone's PIN .......... verify_required_with_pin
  a window: the next login is not asked ............. window_covers_next_login
  reloading the page keeps everything ............... reload_keeps_everything
  crypto.subtle.exportKey on the stored keys fails .. export_key_fails
Issue 15, a relay list (PROTOCOL.md 2.1 v=3): a code of two URLs, the
  first refused, pasted in the page: parsed in Chromium, paired, the list
  kept and listened through, a key enrolled through it ... relay_list_code_pairs
Screenshots: BUILD_DIR/web-screenshots/pairing.png (the code and the
computer's name) and request.png (a login's card).
"""

import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, SSH, SSH_KEYGEN  # noqa: E402
from webphone import WebPhone, WebError, start_pair, finish_pair  # noqa: E402

K = None
W = None
T = Tap()
FIXTURE = None
PAGE = None
SHOTS = None
PIN = "4321"
WAIT = 30.0


def start_relay(name, web):
    """sk-phone-relay serving web at / on 127.0.0.1; its http:// base."""
    port = skpe2e.free_port()
    p = K.spawn(name, [K.relay_bin, "--listen", "127.0.0.1:%d" % port,
                       "--web", web])
    skpe2e.wait_port(port, p)
    if name == "relay":
        K.relay_port = port
        K.relay_url = "ws://127.0.0.1:%d" % port
        K.relay = p
    return "http://127.0.0.1:%d/" % port


def fixture_url():
    if not hasattr(K, "fixture_base"):
        K.fixture_base = start_relay("relay-fixture", FIXTURE)
    return K.fixture_base


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


@T.case
def harness_phone_context():
    """The page sees a phone: 390 x 844 CSS pixels at 3x, a coarse
    pointer with touch, a mobile user agent; a secure context with
    WebCrypto (http on loopback) and cross-origin isolated (the relay's
    COOP/COEP); a tap is a touch."""
    W.open(fixture_url(), phone="ctx")
    W.status("online", phone="ctx")
    p = W.probe(phone="ctx")
    check((p["width"], p["height"], p["dpr"]) == (390, 844, 3),
          "screen %r" % p)
    check(p["coarse"] and p["touch"] > 0, "no touch: %r" % p)
    check("Mobile" in p["userAgent"], "user agent %r" % p["userAgent"])
    check(p["secure"] and p["subtle"], "not a secure context: %r" % p)
    check(p["isolated"], "not cross-origin isolated: %r" % p)
    W.tap("setup-go", phone="ctx")
    check(W.eval("document.querySelector('[data-test=setup-go]')"
                 ".textContent", phone="ctx") == "touched 1",
          "the tap was not one touch")
    W.close_phone("ctx")


def stored_key(phone):
    notice = W.notices(phone=phone)[0]
    m = re.match(r"key ([0-9a-f]{130}) signs true$", notice)
    check(m is not None, "the fixture's key: %r" % notice)
    return m.group(1)


@T.case
def harness_fresh_profile():
    """Two phones are two profiles: each made its own keys (another
    public key); a new profile of the same name starts empty again."""
    W.open(fixture_url(), phone="p1")
    W.status("online", phone="p1")
    W.open(fixture_url(), phone="p2")
    W.status("online", phone="p2")
    k1, k2 = stored_key("p1"), stored_key("p2")
    check(k1 != k2, "two profiles share their IndexedDB")
    W.new(phone="p1")
    W.open(fixture_url(), phone="p1")
    W.status("online", phone="p1")
    check(stored_key("p1") not in (k1, k2), "a new profile kept the keys")
    W.close_phone("p1")
    W.close_phone("p2")


@T.case
def harness_export_keys():
    """export_keys finds the keys where the page nested them in
    IndexedDB and tries pkcs8, jwk and raw on each private one: the
    extractable control is exported, the two extractable=false keys are
    refused in every format; after a reload the page has the same key,
    it still signs, and export is still refused."""
    W.open(fixture_url(), phone="keys")
    W.status("online", phone="keys")
    before = stored_key("keys")
    r = W.export_keys(phone="keys")
    check(r["databases"] == 1 and r["keys"] == 6 and r["private"] == 3,
          "keys found: %r" % r)
    # pkcs8 and jwk (raw is for public keys only).
    check(len(r["exported"]) == 2 and
          all(x.startswith("fixture/control/extractable.pair.privateKey")
              for x in r["exported"]),
          "the extractable control was not caught: %r" % r)
    check(len(r["refused"]) == 2 and
          all("InvalidAccessError" in x for x in r["refused"]),
          "refused: %r" % r)
    W.reload(phone="keys")
    check(stored_key("keys") == before, "the key changed on reload")
    r2 = W.export_keys(phone="keys")
    check(r2["refused"] == r["refused"] and r2["exported"] == r["exported"],
          "after reload: %r" % r2)
    W.close_phone("keys")


@T.case
def harness_screenshot():
    """A screenshot is a 1170 x 2532 PNG (390 x 844 at 3x), saved where
    asked."""
    W.open(fixture_url(), phone="shot")
    W.status("online", phone="shot")
    path = os.path.join(SHOTS, "harness-fixture.png")
    if os.path.exists(path):
        os.unlink(path)
    W.screenshot(path, phone="shot")
    check(png_size(path) == (1170, 2532), "size %r" % (png_size(path),))
    W.close_phone("shot")


# -- the web phone with the real tools ---------------------------------------

def env(**extra):
    """Every tool's environment: the proxy's records in the test's own
    runtime folder; the PIN answered by an SSH_ASKPASS program."""
    e = dict(XDG_RUNTIME_DIR=K.runtime, SSH_ASKPASS=askpass(PIN),
             SSH_ASKPASS_REQUIRE="force", DISPLAY=None)
    e.update(extra)
    return K.env(**e)


def askpass(answer):
    path = K.path("askpass-" + answer)
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho \"$1\" >> '%s.calls'\necho '%s'\n" %
                    (path, answer))
        os.chmod(path, 0o700)
    return path


def bg(name, argv, environ=None):
    """A tool started in the background (it waits for the phone); its
    output in NAME.out and NAME.err."""
    out = open(K.path(name + ".out"), "wb")
    err = open(K.path(name + ".err"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=err, env=environ or env(), cwd=K.tmp,
                         start_new_session=True)
    out.close()
    err.close()
    p.skp_name = name
    K.procs.append(p)
    return p


def done(p, timeout=WAIT):
    """Wait for a background tool (bounded); (rc, stdout, stderr)."""
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    K.stop(p)
    rd = lambda ext: open(K.path(p.skp_name + ext), "rb").read().decode(
        "utf-8", "replace")
    return p.returncode, rd(".out"), rd(".err")


def keygen_argv(name, *opts, kind="ecdsa-sk"):
    argv = [SSH_KEYGEN, "-q", "-t", kind, "-w", K.provider, "-N", "",
            "-f", K.path(name)]
    for o in opts:
        argv += ["-O", o]
    return argv


def ssh_argv(key, known_hosts=None):
    return [SSH, "-p", str(K.sshd_port), "-F", "/dev/null",
            "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + (known_hosts or K.known_hosts),
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "ConnectTimeout=10", "-o", "PasswordAuthentication=no",
            "-o", "IdentityAgent=none", "-o", "IdentitiesOnly=yes",
            "-o", "SecurityKeyProvider=" + K.provider,
            "-o", "ProxyCommand=%s proxy %%h %%p" % K.cli,
            "-i", key, "%s@127.0.0.1" % K.user, "echo skp-login-ok"]


def asked(p, op, choice, shot=None):
    """The page shows p's request (op), answered with choice; the card."""
    try:
        card = W.request(timeout=WAIT)
    except WebError as e:
        rc, out, err = done(p, 1)
        raise AssertionError("no request card (%s); the tool: rc %s %s" %
                             (e, rc, err[-1500:]))
    check(card["op"] == op, "card for %s, want %s" % (card["op"], op),
          card["text"])
    check(card["computer"] == "testbox", "card's computer", str(card))
    if shot:
        W.screenshot(os.path.join(SHOTS, shot))
    W.answer(choice)
    return card


def login_asked(key, choice, known_hosts=None):
    """ssh through the proxy, asked on the page; (card, ok, stderr)."""
    p = bg("ssh", ssh_argv(key, known_hosts))
    card = asked(p, "login", choice)
    rc, out, err = done(p)
    return card, rc == 0 and "skp-login-ok" in out, err


def host_pin():
    return "[127.0.0.1]:%d" % K.sshd_port


def world():
    """The relay serving the page, sshd, a fresh profile set up."""
    if getattr(K, "page_base", None):
        return
    check(os.path.isfile(os.path.join(PAGE, "index.html")),
          "no web phone in %s: the build makes it when node and "
          "web/node_modules exist (sh scripts/web-deps.sh, then meson setup "
          "--reconfigure)" % PAGE)
    K.page_base = start_relay("relay", PAGE)
    K.start_sshd()
    W.new()
    W.open(K.page_base)
    W.setup("pocket")
    W.status("online")


def case(fn):
    """A case of the web phone's world: noted in K.ran once it passed,
    in K.failed when it failed."""
    def run():
        try:
            fn()
        except Exception:
            K.failed.add(fn.__name__)
            raise
        K.ran.add(fn.__name__)
    run.__name__, run.__doc__ = fn.__name__, fn.__doc__
    return T.case(run)


def need(*names):
    """A case run alone (by name) first runs those it builds on; one
    that failed fails the cases built on it at once."""
    for n in names:
        check(n not in K.failed, "needs %s, which failed" % n)
        if n not in K.ran:
            globals()[n]()


@case
def pair_from_qr_url():
    """The computer's sk-phone pair prints the web URL of its QR code;
    opened in the page (as a camera would), the page shows the computer's
    name and the code the computer shows; confirmed, both say paired.
    Screenshot: pairing.png, with the code."""
    world()
    comp, url = start_pair(K, "testbox")
    check(url.startswith(K.page_base + "#v=2&"), "web URL %r" % url)
    W.open(url)
    code, computer = W.pair()
    check(computer == "testbox", "the page names %r" % computer)
    W.screenshot(os.path.join(SHOTS, "pairing.png"))
    paired = W.confirm()
    check("testbox" in paired, "paired: %r" % paired)
    out = finish_pair(K, comp)
    check(code in out.replace(" ", ""), "the page's code %s is not the "
          "computer's" % code, out)
    check("Paired with phone 'pocket'" in out, "computer's side", out)
    rows = W.list("computers", want="testbox")
    check([r["name"] for r in rows] == ["testbox"], "computers %r" % rows)
    check(png_size(os.path.join(SHOTS, "pairing.png")) == (1170, 2532),
          "pairing.png")


@case
def enroll_plain():
    """ssh-keygen -t ecdsa-sk asks the page (op enroll, the computer's
    name); one tap makes the key; the keys screen lists it."""
    need("pair_from_qr_url")
    p = bg("keygen", keygen_argv("id_plain"))
    asked(p, "enroll", "once")
    rc, out, err = done(p)
    check(rc == 0 and os.path.exists(K.path("id_plain.pub")),
          "ssh-keygen", err)
    K.authorize(K.path("id_plain.pub"))
    rows = W.list("keys", want="ssh:")
    check(len(rows) == 1 and rows[0]["name"] == "ssh:", "keys %r" % rows)


@case
def login_verified_pins_host():
    """ssh through sk-phone proxy: the first login is shown as the first
    use of the host (its signature checked, the key new), allowed with a
    tap, and pins the host key; the next is shown verified. Screenshot:
    request.png, the login's card."""
    need("enroll_plain")
    K.known_hosts = K.path("known_hosts")
    p = bg("ssh", ssh_argv(K.path("id_plain")))
    card = asked(p, "login", "once", shot="request.png")
    rc, out, err = done(p)
    check(rc == 0 and "skp-login-ok" in out, "first login", err)
    check(card["hostState"] == "first-use", "first login: %r" % card)
    check("127.0.0.1" in card["text"] and K.user in card["text"],
          "the card has no user @ host", card["text"])
    rows = W.list("hosts", want=host_pin())
    check(any(r["name"] == host_pin() for r in rows), "hosts %r" % rows)
    card, ok, err = login_asked(K.path("id_plain"), "once")
    check(ok, "second login", err)
    check(card["hostState"] == "verified" and "verified" in card["text"],
          "second login not shown verified: %r" % card)
    check(png_size(os.path.join(SHOTS, "request.png")) == (1170, 2532),
          "request.png")


@case
def ed25519_enroll_login_sign():
    """ssh-keygen -t ed25519-sk through the page (Chromium's WebCrypto
    Ed25519): the card and the keys screen name the key type; the key
    logs in to the pinned host (shown verified) and signs a file that
    ssh-keygen -Y verify accepts."""
    need("login_verified_pins_host")
    p = bg("keygen-ed", keygen_argv("id_ed", kind="ed25519-sk"))
    card = asked(p, "enroll", "once")
    rc, out, err = done(p)
    check(rc == 0 and os.path.exists(K.path("id_ed.pub")), "ssh-keygen",
          err)
    check("ed25519-sk" in card["text"].lower(), "the card does not name "
          "the key type", card["text"])
    pub = open(K.path("id_ed.pub")).read()
    check(pub.startswith("sk-ssh-ed25519@openssh.com "), "public key", pub)
    rows = W.list("keys", want="ed25519-sk")
    check(any("ed25519-sk" in r["text"] for r in rows), "keys %r" % rows)
    K.authorize(K.path("id_ed.pub"))
    card, ok, err = login_asked(K.path("id_ed"), "once")
    check(ok, "login with the ed25519-sk key", err)
    check(card["hostState"] == "verified", "not shown verified: %r" % card)
    data = K.path("ed-data")
    with open(data, "wb") as f:
        f.write(b"signed by an ed25519-sk key on the web phone\n")
    p = bg("sign-ed", sign_argv(data, K.path("id_ed")),
           env(SSH_SK_PROVIDER=K.provider))
    asked(p, "sign", "once")
    rc, out, err = done(p)
    check(rc == 0 and os.path.exists(data + ".sig"), "ssh-keygen -Y sign",
          err)
    allowed = K.path("ed-allowed")
    with open(allowed, "w") as f:
        f.write("me@example " + " ".join(pub.split()[:2]) + "\n")
    for body, want in ((open(data, "rb").read(), 0), (b"changed\n", 1)):
        rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "verify", "-f", allowed,
                                 "-I", "me@example", "-n", "file", "-s",
                                 data + ".sig"], input=body)
        check((rc == 0) == (want == 0), "-Y verify of %r: rc %d" %
              (body, rc), out + err)


@case
def replaced_host_key_refused():
    """sshd with a new host key on the same port: ssh (a fresh
    known_hosts) accepts it, the web phone refuses to sign; the host
    forgotten on the hosts screen, the next login pins the new key."""
    need("login_verified_pins_host")
    K.stop(K.sshd)
    os.unlink(K.path("sshd", "host_ed25519"))
    os.unlink(K.path("sshd", "host_ed25519.pub"))
    rc, _, err, _ = K.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f",
                           K.path("sshd", "host_ed25519")],
                          env=K.env(preload=False))
    check(rc == 0, "new host key", err)
    K.sshd = K.spawn("sshd-new", ["/usr/sbin/sshd", "-D", "-f",
                                  K.sshd_config, "-E", K.path("sshd.log")],
                     env=K.env(preload=False))
    skpe2e.wait_port(K.sshd_port, K.sshd)
    fresh = K.path("known_hosts.fresh")
    K.known_hosts = fresh
    p = bg("ssh-changed", ssh_argv(K.path("id_plain"), fresh))
    rc, out, err = done(p)
    check(rc != 0 and "skp-login-ok" not in out,
          "logged in with a replaced host key", err)
    check("Permanently added" in err, "ssh refused first", err)
    check("changed" in err and "refused" in err,
          "no refusal said for the changed key", err)
    # The log screen (newest first) says why.
    W.list("log", want="refused-host-key-changed")
    W.list("hosts", want=host_pin())
    W.tap("host-forget")
    W.tap("confirm-yes")
    W.list("hosts", gone=host_pin())
    card, ok, err = login_asked(K.path("id_plain"), "once", fresh)
    check(ok and card["hostState"] == "first-use", "login after forget: "
          "%r" % card, err)


def sign_argv(data, key, ns="file"):
    return [SSH_KEYGEN, "-Y", "sign", "-f", key, "-n", ns, data]


@case
def sign_shows_namespace():
    """ssh-keygen -Y sign -n file: the card says a signature in namespace
    'file'; allowed, the signature verifies with ssh-keygen -Y verify (and
    not for changed data)."""
    need("enroll_plain")
    data = K.path("release.txt")
    with open(data, "w") as f:
        f.write("sk-phone web e2e\n")
    p = bg("sign", sign_argv(data, K.path("id_plain")),
           env(SSH_SK_PROVIDER=K.provider))
    card = asked(p, "sign", "once")
    check("namespace 'file'" in card["text"], "no namespace shown",
          card["text"])
    rc, out, err = done(p)
    check(rc == 0 and os.path.exists(data + ".sig"), "-Y sign", err)
    signers = K.path("allowed_signers")
    with open(K.path("id_plain.pub")) as f:
        with open(signers, "w") as g:
            g.write("e2e@web " + " ".join(f.read().split()[:2]) + "\n")
    for body, want in ((b"sk-phone web e2e\n", 0), (b"changed\n", 1)):
        rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "verify", "-f", signers,
                                 "-I", "e2e@web", "-n", "file", "-s",
                                 data + ".sig"], input=body)
        check((rc == 0) == (want == 0), "-Y verify of %r: rc %d" %
              (body, rc), out + err)


@case
def reject_refuses():
    """Reject on the card: ssh-keygen -Y sign fails, no signature."""
    need("enroll_plain")
    data = K.path("rejected.txt")
    with open(data, "w") as f:
        f.write("no\n")
    p = bg("sign-reject", sign_argv(data, K.path("id_plain")),
           env(SSH_SK_PROVIDER=K.provider))
    asked(p, "sign", "reject")
    rc, out, err = done(p)
    check(rc != 0 and not os.path.exists(data + ".sig"),
          "signed after a reject", err)
    W.list("log", want="reject")


@case
def resident_and_download():
    """-O resident -O user=alice enrolls a resident key; ssh-keygen -K
    (on the page: a list request) downloads it, and it logs in."""
    need("login_verified_pins_host")
    p = bg("keygen-rk", keygen_argv("id_rk", "resident", "user=alice"))
    asked(p, "enroll", "once")
    rc, out, err = done(p)
    check(rc == 0, "resident enroll", err)
    dl = K.path("download")
    os.mkdir(dl, 0o700)
    p = subprocess.Popen([SSH_KEYGEN, "-K", "-N", "", "-w", K.provider],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env(), cwd=dl,
                         start_new_session=True)
    K.procs.append(p)
    # The page may ask about the listing; answer it when it does.
    end = time.monotonic() + WAIT
    while p.poll() is None and time.monotonic() < end:
        try:
            card = W.request(timeout=1)
        except WebError:
            continue
        check(card["op"] == "list", "card for %s during -K" % card["op"])
        W.answer("once")
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        out, err = b"", b"timed out"
    K.stop(p)
    got = sorted(os.listdir(dl))
    check(p.returncode == 0 and "id_ecdsa_sk_rk_alice" in got,
          "ssh-keygen -K: %r" % got, err.decode("utf-8", "replace"))
    key = os.path.join(dl, "id_ecdsa_sk_rk_alice")
    K.authorize(key + ".pub")
    card, ok, err = login_asked(key, "once")
    check(ok, "login with the downloaded key", err)


@case
def verify_required_with_pin():
    """A PIN set on the web phone's settings; ssh-keygen -O
    verify-required with a wrong PIN is refused ("wrong PIN"), with the
    right one enrolls; the key logs in (sshd: verify-required), the PIN
    asked again."""
    need("login_verified_pins_host")
    check(W.eval("window.skpPhone.state.pinIsSet()") is False,
          "a PIN before one was set")
    W.set_pin(PIN)
    check(W.eval("window.skpPhone.state.pinIsSet()") is True,
          "the settings screen set no PIN")
    bad = bg("keygen-uv-bad", keygen_argv("id_uv_bad", "verify-required"),
             env(SSH_ASKPASS=askpass("9999")))
    end = time.monotonic() + WAIT
    while bad.poll() is None and time.monotonic() < end:
        try:
            W.request(timeout=1)
            W.answer("once")
        except WebError:
            pass
    rc, out, err = done(bad, 5)
    check(rc != 0 and "wrong PIN" in err, "a wrong PIN made a key", err)
    p = bg("keygen-uv", keygen_argv("id_uv", "verify-required"))
    asked(p, "enroll", "once")
    rc, out, err = done(p)
    check(rc == 0, "verify-required enroll with the PIN", err)
    K.authorize(K.path("id_uv.pub"), "verify-required")
    calls = askpass(PIN) + ".calls"
    n = open(calls).read().count("\n")
    card, ok, err = login_asked(K.path("id_uv"), "once")
    check(ok, "verify-required login", err)
    check(open(calls).read().count("\n") > n, "no PIN asked at login")


@case
def window_covers_next_login():
    """Allow this computer for N hours on a login's card: the next login
    goes through without a card, and the log says the window allowed it."""
    need("login_verified_pins_host")
    card, ok, err = login_asked(K.path("id_plain"), "window")
    check(ok and "window" in card["choices"], "login with a window: %r" %
          card, err)
    # the window said once, the engine's text after the button's words
    check(" h: verified logins to pinned hosts" in card["text"] and
          "covers:" not in card["text"], "the window's text: %r" % card)
    p = bg("ssh-window", ssh_argv(K.path("id_plain")))
    rc, out, err = done(p)
    check(rc == 0 and "skp-login-ok" in out, "login inside the window",
          err)
    W.list("log", want="allow-window")


STATE = """(async () => { const s = window.skpPhone.state;
    const id = await s.identity();
    const hex = (b) => Array.from(b || [], (x) => x.toString(16).padStart(2, '0')).join('');
    return JSON.stringify({ name: id.name, mailboxId: hex(id.mailboxId),
        computers: (await s.computers()).map((c) => [c.name, hex(c.publicKey)]),
        credentials: (await s.credentials()).map((c) => [hex(c.id), c.rp, c.userName,
            c.resident, hex(c.publicKey), c.counter]),
        hosts: (await s.hosts()).map((h) => [h.name, h.type, hex(h.key)]),
        log: await s.auditLog(), pin: await s.pinIsSet() }); })()"""


def everything():
    """What the screens list (each waited for by a row known to be there)
    and the phone's state as the page reads it (window.skpPhone, read
    only)."""
    last = W.eval("window.skpPhone.state.auditLog()")[-1]["event"]
    seen = {}
    for what, want in (("computers", "testbox"), ("keys", "ssh:"),
                       ("hosts", host_pin()), ("log", last)):
        seen[what] = [r["text"] for r in W.list(what, want=want)]
    return seen, W.eval(STATE)


@case
def reload_keeps_everything():
    """Reloading the page: the same computers, keys, hosts and log; the
    phone online again; and a login still signs."""
    need("enroll_plain")
    shown, state = everything()
    check(len(shown["keys"]) >= 1 and len(shown["log"]) >= 2 and
          '"pin"' in state, "before: %r" % (shown,))
    W.reload()
    W.status("online")
    shown2, state2 = everything()
    check(shown2 == shown, "the screens changed on reload:\n%r\n%r" %
          (shown, shown2))
    check(state2 == state, "the state changed on reload:\n%s\n%s" %
          (state, state2))
    key = K.path("id_plain")
    if K.ran & {"window_covers_next_login"}:
        p = bg("ssh-reload", ssh_argv(key))
        rc, out, err = done(p)
        ok = rc == 0 and "skp-login-ok" in out
    else:
        _, ok, err = login_asked(key, "once")
    check(ok, "login after reload", err)


@case
def export_key_fails():
    """crypto.subtle.exportKey (pkcs8, jwk, raw) on every private key
    the page keeps in IndexedDB (the identity, the mailbox key, each
    credential): refused, every one."""
    need("enroll_plain")
    r = W.export_keys()
    check(r["exported"] == [], "exported: %r" % r["exported"])
    # The identity, the mailbox key and at least one credential.
    check(r["private"] >= 3 and len(r["refused"]) == r["private"],
          "keys: %r" % r)


@case
def relay_list_code_pairs():
    """Issue 15: a second computer pairs with sk-phone pair --relay
    REFUSED --relay RELAY. Its code is v=3 with both URLs (the text
    form: the first URL did not answer, so no web address); pasted into
    the page, Chromium parses it, meets the computer past the first URL
    (refused, and outside the page's connect-src), both show the same
    code; the page keeps the list and listens through it; ssh-keygen on
    that computer enrols through its list with one tap."""
    need("enroll_plain")
    hold = socket.socket()
    hold.bind(("127.0.0.1", 0))
    dead = "ws://127.0.0.1:%d" % hold.getsockname()[1]
    state = K.path("computer-list")
    os.mkdir(state, 0o700)
    uri_file = K.path("uri-list")
    comp = K.spawn("pair-list", [K.cli, "pair", "--relay", dead, "--relay",
                                 K.relay_url, "--name", "listbox", "--yes",
                                 "--uri-file", uri_file, "--timeout", "30"],
                   env=env(SK_PHONE_DIR=state))
    skpe2e.wait_file(uri_file, comp)
    with open(uri_file) as f:
        uri = f.read().strip()
    check(uri.startswith("sk-phone://pair?v=3&") and uri.count("&r=") == 2,
          "not a v=3 code with two URLs: %r" % uri)
    W.open(K.page_base)
    code, computer = W.pair(uri=uri)
    check(computer == "listbox", "the page names %r" % computer)
    W.confirm()
    out = finish_pair(K, comp, tag="list")
    check(code in out.replace(" ", ""), "the page's code %s is not the "
          "computer's" % code, out)
    check("Paired with phone 'pocket' (relay %s %s)" % (dead, K.relay_url)
          in out, "the computer did not keep the list", out)
    relays = W.eval("window.skpPhone.state.identity().then((i) => "
                    "i.relays)")
    check(relays == [dead, K.relay_url],
          "the page's relay list: %r" % (relays,))
    W.status("online")
    p = bg("keygen-list", keygen_argv("id_list"),
           environ=env(SK_PHONE_DIR=state))
    card = W.request(timeout=WAIT)
    check(card["op"] == "enroll" and card["computer"] == "listbox",
          "card %r" % card)
    W.answer("once")
    rc, out, err = done(p)
    check(rc == 0 and os.path.exists(K.path("id_list.pub")),
          "ssh-keygen through the list", err)
    hold.close()


def main():
    global K, W, FIXTURE, SHOTS
    global PAGE
    build, FIXTURE = sys.argv[1], os.path.abspath(sys.argv[2])
    PAGE = os.path.abspath(sys.argv[3])
    SHOTS = os.path.join(os.path.abspath(build), "web-screenshots")
    os.makedirs(SHOTS, exist_ok=True)
    K = Kit(build, "web")
    K.runtime = K.path("runtime")
    os.mkdir(K.runtime, 0o700)
    K.ran = set()
    K.failed = set()
    try:
        W = WebPhone(K)
    except Exception as e:
        return K.setup_failed(e, logs=("webphone",))
    rc = T.run(sys.argv[4:])
    W.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
