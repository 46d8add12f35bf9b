# End-to-end: Web Push wakes the web phone (issue 12, suite "push").
"""usage: e2e_push.py BUILD_DIR [CASE ...]

The page meson built (BUILD/web) in headless Chromium (test/web/driver.mjs
through webphone.py), served by the real sk-phone-relay run with
--push-dir, --push-allow (the test push service's http://127.0.0.1:PORT)
and --push-contact; the real sk-phone pair, ssh-keygen, ssh with the
provider through sk-phone proxy and a throwaway sshd. The push service is
test/push/pushsvc.mjs (none real is reachable): it takes the relay's real
push, checks its VAPID Authorization and decrypts it (RFC 8291, its own
code); the test then hands the decrypted text to the page's service
worker with CDP ServiceWorker.deliverPushMessage, in place of the
browser's own push service and decryption. The page's PushManager
subscribe/getSubscription give the push service's subscription (an init
script: headless Chromium has no push service, WEB-PHONE-NOTES.md 10). A
notification is tapped by calling the worker's self.skpNotificationClick
(no CDP command clicks one: notes 14). PROTOCOL.md §7.11, §8.11.

What -> case (the cases in order, each building on the last):
  the page turns push on; the relay keeps its subscription
    (DIR/subs/<mailbox>, 0600) .............................. push_on
  page closed: a login pushes (VAPID checked, payload v2 with
    the call); the notification says SSH login, user @ host,
    the computer; Allow completes the ssh login; the audit
    log has the line ....................................... closed_page_allow
  Reject from the notification: ssh fails with the
    provider's refusal; the audit line says rejected ....... closed_page_reject
  the push service answers 410: the relay deletes the
    subscription file; the next login makes no push ........ gone_410_unsubscribes
"""

import json
import os
import re
import select
import stat
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402
from webphone import WebPhone, node, pair_web, SRC  # noqa: E402

PUSHSVC = os.path.join(SRC, "test", "push", "pushsvc.mjs")
CONTACT = "mailto:push-test@example.org"
COMPUTER = "testbox"
PHONE = "pocket"
TAG = "skp-call"
WAIT = 20.0

K = None
W = None
T = Tap()
S = None        # the push service
SUB = None      # its subscription, the page's
ORIGIN = None   # the page's (the relay's) origin
KEY = None      # the ssh key made on the web phone
APPKEY = None   # what the page gave PushManager.subscribe


class PushService:
    """node test/push/pushsvc.mjs: its port, and its HTTP API."""

    def __init__(self, kit):
        log = open(kit.path("pushsvc.log"), "ab")
        self.proc = subprocess.Popen(
            [node(), PUSHSVC], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log, env=kit.env(preload=False), start_new_session=True)
        log.close()
        self.proc.skp_name = "pushsvc"
        kit.procs.append(self.proc)
        r, _, _ = select.select([self.proc.stdout], [], [],
                                skpe2e.START_TIMEOUT)
        line = self.proc.stdout.readline() if r else b""
        if not line:
            raise RuntimeError("pushsvc did not start:\n" +
                               kit.log("pushsvc"))
        self.port = json.loads(line)["port"]
        self.origin = "http://127.0.0.1:%d" % self.port
        # Loopback only: no proxy from the environment.
        self.http = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def call(self, method, path, body=None, timeout=10.0):
        data = json.dumps(body).encode() if body is not None else b""
        req = urllib.request.Request(self.origin + path, data=data,
                                     method=method)
        with self.http.open(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")

    def subscribe(self):
        return self.call("POST", "/_sub")

    def mode(self, sub_id, **mode):
        return self.call("POST", "/_mode/" + sub_id, mode)

    def log(self, sub_id, after=None, wait_ms=0):
        q = "/_log?id=%s" % sub_id
        if after is not None:
            q += "&after=%d&waitMs=%d" % (after, wait_ms)
        return self.call("GET", q, timeout=wait_ms / 1000 + 10)

    def next_push(self, after, wait=WAIT):
        """The push after the first `after` of them, waited for."""
        log = self.log(SUB["id"], after, int(wait * 1000))
        check(len(log) > after, "no push came to the push service in "
              "%.0f s; relay log:\n%s" % (wait, K.log("relay")[-1500:]))
        return log[after]


def login_bg(name):
    """ssh with the provider through sk-phone proxy to the throwaway
    sshd, in the background; its output in NAME.log."""
    runtime = K.path("runtime")
    os.makedirs(runtime, 0o700, exist_ok=True)
    argv = [skpe2e.SSH, "-p", str(K.sshd_port), "-F", "/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", "UserKnownHostsFile=" + K.known_hosts,
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "ProxyCommand=%s proxy %%h %%p" % K.cli,
            "-o", "SecurityKeyProvider=" + K.provider, "-i", KEY,
            "%s@127.0.0.1" % K.user, "echo skp-login-ok"]
    return K.spawn(name, argv, env=K.env(XDG_RUNTIME_DIR=runtime))


def ended(p, name, timeout=30.0):
    """p's exit status and output, waited for (bounded)."""
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    K.stop(p)
    return p.returncode, K.log(name)


def wait_for(what, fn, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        check(time.monotonic() < deadline, "%s: not within %.0f s" %
              (what, timeout))
        time.sleep(0.05)


def subs():
    d = K.path("push", "subs")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def audit():
    """The web phone's audit log lines (the page open and online)."""
    return W.eval("window.skpPhone.state.auditLog()"
                  ".then((l) => l.map((e) => e.text))")


def open_page():
    W.open(ORIGIN + "/")
    W.status("online", timeout=15.0)


def check_push(e):
    """What the relay sent: checked by the push service (ok), the
    headers of §7.11, the JWT's claims, the key the page subscribed
    with, and the payload: {"v":2,"call":<message 1>}."""
    check(e["ok"], "the push service refused the relay's push: %s" %
          e["error"], json.dumps(e))
    check(e["urgency"] == "high", "Urgency %r" % e["urgency"])
    check(e["contentType"] == "application/octet-stream",
          "Content-Type %r" % e["contentType"])
    check(1 <= int(e["ttl"]) <= 120, "TTL %r" % e["ttl"])
    check(e["jwt"]["aud"] == S.origin and e["jwt"]["sub"] == CONTACT,
          "JWT claims %r" % e["jwt"])
    left = e["jwt"]["exp"] - time.time()
    check(11 * 3600 < left <= 12 * 3600 + 60, "exp %.0f s away" % left)
    check(e["vapidKey"] == APPKEY, "signed with k=%s, the page subscribed "
          "with %s" % (e["vapidKey"], APPKEY))
    m = re.fullmatch(r'\{"v":2,"call":"([A-Za-z0-9_-]+)"\}', e["payload"])
    check(m is not None, "payload %r" % e["payload"])
    return e["payload"]


def notified():
    """The one notification the push made: (text, its data)."""
    ns = W.notifications(ORIGIN, tag=TAG, want=1)
    check(len(ns) == 1, "notifications: %r" % ns)
    n = ns[0]
    text = n["title"] + "\n" + n["body"]
    check("ssh login" in text.lower(), "no 'SSH login' in %r" % text)
    check("%s @ [127.0.0.1]:%d" % (K.user, K.sshd_port) in text,
          "no 'user @ host' in %r" % text)
    check(COMPUTER in text, "no computer %r in %r" % (COMPUTER, text))
    check(sorted(a["action"] for a in n["actions"]) == ["allow", "reject"],
          "actions %r" % n["actions"])
    d = n["data"]
    check(d["computer"] == COMPUTER and d["op"] == "login" and
          d["answerable"] is True, "data %r" % d)
    return text, d


def pushed_login(name):
    """The page closed, a login: its push checked and delivered to the
    service worker; (ssh process, notification text)."""
    W.close_page()
    n = len(S.log(SUB["id"]))
    p = login_bg(name)
    payload = check_push(S.next_push(n))
    W.deliver_push(ORIGIN, payload)
    text, _ = notified()
    return p, text


@T.case
def push_on():
    """Settings: turning push on subscribes (the push service's
    subscription, with the relay's VAPID key) and the page says 'on';
    the relay keeps it in DIR/subs/<mailbox id>, 0600, with its
    endpoint; its VAPID key in DIR/vapid-key, 0600."""
    global APPKEY
    W.tap("nav-settings")
    W.tap("push-enable")

    def settled():
        # Before the tap it says 'off'; then where turning on ended.
        s = W.eval("document.querySelector('[data-test=push-state]')"
                   "?.textContent.trim() ?? null")
        return s if s and s.startswith(("on", "unsupported", "denied",
                                       "refused", "error")) else None
    # The page's subscribe gives up after 20 s (push-api.md §4).
    state = wait_for("push-state other than 'off'", settled, 25.0)
    check(state.startswith("on"), "push-state %r" % state)
    APPKEY = W.eval("window.skpTestPush.applicationServerKey")
    check(APPKEY is not None and len(APPKEY) == 87,
          "applicationServerKey %r" % APPKEY)
    files = wait_for("the relay's subscription file", subs, 5.0)
    check(len(files) == 1 and re.fullmatch(r"[0-9a-f]{64}", files[0]),
          "DIR/subs has %r" % files)
    path = K.path("push", "subs", files[0])
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "%s not 0600" % path)
    with open(path, "rb") as f:
        check(SUB["endpoint"].encode() in f.read(),
              "the endpoint is not in %s" % path)
    vk = K.path("push", "vapid-key")
    check(stat.S_IMODE(os.stat(vk).st_mode) == 0o600, "%s not 0600" % vk)


@T.case
def closed_page_allow():
    """The page closed (another tab kept): a login through sk-phone
    proxy pushes; the notification says SSH login, user @ host and the
    computer, with Allow and Reject; Allow (skpNotificationClick) answers
    from the service worker: ssh logs in; the page, opened again, has
    the audit line."""
    before = audit()
    W.keep_tab()
    p, text = pushed_login("login-allow")
    W.notification_click(ORIGIN, TAG, "allow")
    rc, out = ended(p, "login-allow")
    check(rc == 0 and "skp-login-ok" in out, "ssh failed (%s)" % rc, out)
    open_page()
    after = audit()
    check(len(after) == len(before) + 1, "audit lines %d -> %d" %
          (len(before), len(after)), "\n".join(after[-3:]))
    line = after[-1]
    check('computer="%s" op=login' % COMPUTER in line and
          "verified=" in line and "reject" not in line and
          "refused" not in line, "audit line %r" % line)


@T.case
def closed_page_reject():
    """Reject from the notification: ssh fails with the provider's
    'rejected on phone' message; the audit line says rejected."""
    before = audit()
    p, _ = pushed_login("login-reject")
    W.notification_click(ORIGIN, TAG, "reject")
    rc, out = ended(p, "login-reject")
    check(rc != 0 and "skp-login-ok" not in out, "ssh logged in", out)
    check("rejected on phone '%s'" % PHONE in out,
          "no refusal message from the provider", out)
    open_page()
    after = audit()
    check(len(after) == len(before) + 1 and "reject" in after[-1],
          "audit: %r" % after[-2:])


@T.case
def gone_410_unsubscribes():
    """The push service answers 410 Gone: the relay deletes the
    subscription file; the next login, the call held with the page
    closed (the provider says 'offline'), makes no push; the page opened
    then gets the request."""
    check(len(subs()) == 1, "no subscription to start from: %r" % subs())
    S.mode(SUB["id"], status=410)
    W.close_page()
    n = len(S.log(SUB["id"]))
    p = login_bg("login-gone")
    e = S.next_push(n)
    check(e["ok"] and e["status"] == 410, "push: ok %r, answered %r (%s)" %
          (e["ok"], e["status"], e["error"]))
    wait_for("the subscription file deleted", lambda: not subs(), 10.0)
    K.stop(p)
    S.mode(SUB["id"])
    n = len(S.log(SUB["id"]))
    p = login_bg("login-after-gone")
    wait_for("the provider's 'offline'",
             lambda: "is offline" in K.log("login-after-gone"))
    log = S.log(SUB["id"], n, 1500)
    check(len(log) == n, "a push after 410: %r" %
          [(x["status"], x["length"]) for x in log[n:]])
    open_page()
    card = W.request()
    check(card["op"] == "login", "card %r" % card)
    W.answer("reject")
    ended(p, "login-after-gone")


def setup():
    """The push service, the relay, the page (subscription stub,
    notifications granted) set up and paired, a key enrolled, sshd, and
    the host pinned by a first login answered on the page."""
    global S, SUB, ORIGIN, W, KEY
    check(os.path.isfile(os.path.join(K.web_bundle, "index.html")),
          "meson built no web phone in %s: run sh scripts/web-deps.sh, "
          "then meson setup --reconfigure" % K.web_bundle)
    S = PushService(K)
    SUB = S.subscribe()
    port = skpe2e.free_port()
    relay = K.spawn("relay", [K.relay_bin, "--listen", "127.0.0.1:%d" % port,
                              "--web", K.web_bundle,
                              "--push-dir", K.path("push"),
                              "--push-allow", S.origin,
                              "--push-contact", CONTACT])
    skpe2e.wait_port(port, relay)
    K.relay_url = "ws://127.0.0.1:%d" % port
    ORIGIN = "http://127.0.0.1:%d" % port
    W = WebPhone(K)
    W.new()
    W.grant(["notifications"], ORIGIN)
    W.push_stub(SUB, ORIGIN)
    W.open(ORIGIN + "/")
    W.setup(PHONE)
    W.status("online", timeout=15.0)
    pair_web(K, W, COMPUTER)
    KEY = K.path("id_ecdsa_sk")
    p = K.spawn("keygen", [skpe2e.SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                           K.provider, "-N", "", "-f", KEY])
    check(W.request()["op"] == "enroll", "no enrollment card")
    W.answer("once")
    rc, out = ended(p, "keygen")
    check(rc == 0, "ssh-keygen failed", out)
    K.start_sshd()
    K.authorize(KEY + ".pub")
    p = login_bg("login-first")
    card = W.request()
    check(card["hostState"] == "first-use", "card %r" % card)
    W.answer("once")
    rc, out = ended(p, "login-first")
    check(rc == 0 and "skp-login-ok" in out, "the first login failed", out)


def main():
    global K
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    K = Kit(sys.argv[1], "e2e-push")
    rc = 1
    try:
        setup()
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
