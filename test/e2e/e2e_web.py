# End-to-end: the web phone in real Chromium (issue 11, suite "web").
"""usage: e2e_web.py BUILD_DIR FIXTURE_DIR [CASE ...]

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
"""

import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402
from webphone import WebPhone  # noqa: E402

K = None
W = None
T = Tap()
FIXTURE = None
SHOTS = None


def start_relay(name, web):
    """sk-phone-relay serving web at / on 127.0.0.1; its http:// base."""
    port = skpe2e.free_port()
    p = K.spawn(name, [K.relay_bin, "--listen", "127.0.0.1:%d" % port,
                       "--web", web])
    skpe2e.wait_port(port, p)
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


def main():
    global K, W, FIXTURE, SHOTS
    build, FIXTURE = sys.argv[1], os.path.abspath(sys.argv[2])
    SHOTS = os.path.join(os.path.abspath(build), "web-screenshots")
    os.makedirs(SHOTS, exist_ok=True)
    K = Kit(build, "web")
    try:
        W = WebPhone(K)
    except Exception as e:
        return K.setup_failed(e, logs=("webphone",))
    rc = T.run(sys.argv[3:])
    W.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
