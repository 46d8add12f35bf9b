# The web phone in headless Chromium, for the e2e and conformance tests.
"""WebPhone: the page served by the relay, driven through test/web/driver.mjs.

One WebPhone is one Chromium (node driver.mjs, playwright-core, Debian's
/usr/bin/chromium); it holds phones by name, each a fresh profile (its own
browser context: its own IndexedDB, so its own keys). Every call is
bounded: the driver's own wait (timeout=, seconds) and, around it, a read
of its answer bounded a little longer. A failure raises WebError with what
the driver said, the page's last console lines being in the kit's log
(name "webphone" by default).

    w = WebPhone(kit)                 # starts Chromium
    w.open("http://127.0.0.1:PORT/")  # phone "a", a fresh profile
    w.setup("pocket")
    w.open(web_url); code, computer = w.pair(); w.confirm()
    card = w.request(); w.answer("once")
    w.close()

pair_web(kit, w, computer_name) runs sk-phone pair against the kit's relay
and pairs the web phone from the QR's URL, both sides confirmed.
"""

import json
import os
import re
import select
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(SRC, "test", "web", "driver.mjs")
WEB_ROOT = os.path.join(SRC, "web")
CHROMIUM = "/usr/bin/chromium"

# Time for Chromium to start, and the slack above a command's own bound.
LAUNCH_TIMEOUT = 40.0
SLACK = 10.0


class WebError(Exception):
    """The driver answered a command with an error, or did not answer."""


def node():
    for n in ("node", "nodejs"):
        p = shutil.which(n, path="/usr/local/bin:/usr/bin:/bin")
        if p:
            return p
    raise WebError("node is missing: install nodejs 18 or later "
                   "(sh scripts/deps.sh does)")


class WebPhone:
    """A Chromium with web phones in it, driven one command at a time."""

    def __init__(self, kit, name="webphone", chromium=CHROMIUM, env=None):
        self.kit = kit
        self.name = name
        if not os.path.exists(chromium):
            raise WebError("%s is missing: install Debian's chromium "
                           "(sh scripts/deps.sh does)" % chromium)
        # Standard error (the page's console, Chromium's words) to the
        # kit's NAME.log; standard in and out are the commands. Recorded
        # in the kit, so that it is stopped whatever way the test ends.
        log = open(kit.path(name + ".log"), "ab")
        self.proc = subprocess.Popen(
            [node(), DRIVER, "--chromium", chromium, "--web-root", WEB_ROOT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            env=kit.env(preload=False, **(env or {})),
            start_new_session=True)
        log.close()
        self.proc.skp_name = name
        kit.procs.append(self.proc)
        self.seq = 0
        self.buf = b""
        hello = self._read(LAUNCH_TIMEOUT)
        if not hello.get("ready"):
            raise WebError("driver did not start: %r" % hello)
        self.chromium = hello.get("chromium")

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WebError("the driver did not answer in %.0f s; log:\n%s"
                               % (timeout, self.kit.log(self.name)[-2000:]))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise WebError("the driver exited (%s); log:\n%s" %
                                   (self.proc.poll(),
                                    self.kit.log(self.name)[-2000:]))
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, command, /, timeout=10.0, **args):
        """One command; its answer (a dict) or WebError."""
        self.seq += 1
        msg = dict(args, id=self.seq, cmd=command, timeout=timeout)
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise WebError("the driver is gone (%s); log:\n%s" %
                           (e, self.kit.log(self.name)[-2000:]))
        r = self._read(timeout + SLACK)
        if r.get("id") != self.seq:
            raise WebError("answer out of order: %r" % r)
        if not r.get("ok"):
            raise WebError("%s: %s" % (command, r.get("error")))
        return r

    # -- the page's screens ------------------------------------------

    def new(self, phone="a"):
        return self.cmd("new", phone=phone)

    def open(self, url, phone="a", timeout=15.0):
        return self.cmd("open", url=url, phone=phone, timeout=timeout)

    def setup(self, name, phone="a"):
        return self.cmd("setup", name=name, phone=phone)

    def pair(self, uri=None, phone="a", timeout=20.0):
        """The code and the computer's name the page shows."""
        args = {"uri": uri} if uri else {}
        r = self.cmd("pair", phone=phone, timeout=timeout, **args)
        return r["code"], r["computer"]

    def confirm(self, phone="a", timeout=20.0):
        return self.cmd("confirm", phone=phone, timeout=timeout)["paired"]

    def decline(self, phone="a"):
        return self.cmd("decline", phone=phone)

    def receive(self, uri, phone="a", timeout=20.0):
        """A transfer's text pasted on the first-run screen: the code, the
        old phone's name and the warning the page shows."""
        return self.cmd("receive", uri=uri, phone=phone, timeout=timeout)

    def receive_confirm(self, phone="a", timeout=20.0):
        return self.cmd("receive_confirm", phone=phone, timeout=timeout)

    def request(self, phone="a", timeout=30.0):
        """The request card: {op, hostState, computer, text, choices}."""
        return self.cmd("request", phone=phone, timeout=timeout)

    def answer(self, choice, phone="a"):
        return self.cmd("answer", choice=choice, phone=phone)

    def set_pin(self, pin, old=None, phone="a"):
        args = {"old": old} if old is not None else {}
        return self.cmd("set_pin", pin=pin, phone=phone, **args)["state"]

    def reload(self, phone="a", timeout=15.0):
        return self.cmd("reload", phone=phone, timeout=timeout)

    def status(self, want=None, phone="a", timeout=10.0):
        args = {"want": want} if want else {}
        return self.cmd("status", phone=phone, timeout=timeout,
                        **args)["status"]

    def list(self, what, want=None, gone=None, phone="a", timeout=10.0):
        args = {}
        if want is not None:
            args["want"] = want
        if gone is not None:
            args["gone"] = gone
        return self.cmd("list", what=what, phone=phone, timeout=timeout,
                        **args)["rows"]

    def notices(self, phone="a"):
        return self.cmd("notices", phone=phone)["notices"]

    def export_keys(self, phone="a"):
        return self.cmd("export_keys", phone=phone)

    def probe(self, phone="a"):
        return self.cmd("probe", phone=phone)

    def eval(self, expr, phone="a", timeout=10.0):
        return self.cmd("eval", expr=expr, phone=phone,
                        timeout=timeout)["value"]

    def tap(self, test, phone="a"):
        return self.cmd("tap", test=test, phone=phone)

    def frames(self, phone="a"):
        """The page's websocket frames since the last call, as Chromium
        timed them: [{t (s), dir: in|out, len}]. The first call starts
        recording."""
        return self.cmd("frames", phone=phone)["frames"]

    def profile(self, start=False, phone="a"):
        """start=True starts Chromium's sampling profiler on the page;
        then profile() stops it: [[function, self ms], ...], most first."""
        if start:
            return self.cmd("profile", start=True, phone=phone)
        return self.cmd("profile", phone=phone)["top"]

    def screenshot(self, path, phone="a"):
        return self.cmd("screenshot", path=path, phone=phone)["path"]

    def close_phone(self, phone="a"):
        return self.cmd("close", phone=phone)

    # -- Web Push (issue 12) -------------------------------------------

    def grant(self, permissions, origin, phone="a"):
        """Playwright's ctx.grantPermissions, e.g. ["notifications"]."""
        return self.cmd("grant", permissions=list(permissions), origin=origin,
                        phone=phone)

    def push_stub(self, subscription, origin, phone="a"):
        """From the next load on, the origin's pages subscribe to
        subscription ({endpoint, p256dh, auth}, the test push
        service's) instead of the browser's push service."""
        return self.cmd("push_stub", subscription=subscription, origin=origin,
                        phone=phone)

    def keep_tab(self, phone="a"):
        """Another tab with a CDP session, kept when the page closes;
        {registrations}."""
        return self.cmd("keep_tab", phone=phone)

    def close_page(self, phone="a"):
        return self.cmd("close_page", phone=phone)

    def deliver_push(self, origin, data, phone="a", timeout=10.0):
        """The push event with this text in the origin's service
        worker (CDP ServiceWorker.deliverPushMessage)."""
        return self.cmd("deliver_push", origin=origin, data=data, phone=phone,
                        timeout=timeout)

    def notifications(self, origin, tag=None, want=0, phone="a",
                      timeout=10.0):
        """The origin's notifications shown (with that tag), once there
        are want of them: [{title, body, tag, data, actions}]."""
        args = {"tag": tag} if tag else {}
        return self.cmd("notifications", origin=origin, want=want,
                        phone=phone, timeout=timeout, **args)["list"]

    def notification_click(self, origin, tag, action, phone="a",
                           timeout=30.0):
        """self.skpNotificationClick(the notification, action) in the
        service worker, to its end; the notifications left with the tag."""
        return self.cmd("notification_click", origin=origin, tag=tag,
                        action=action, phone=phone, timeout=timeout)["left"]

    def close(self):
        """Quit Chromium (bounded), then stop the driver if it lingers."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd":"quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kit.stop(self.proc)


def web_url(pair_log):
    """The web URL sk-phone pair printed (PROTOCOL 2.1, web form)."""
    m = re.search(r"Or open this address on the phone:\n(\S+)\n", pair_log)
    return m.group(1) if m else None


def start_pair(kit, computer_name="testbox", tag="web", extra=()):
    """sk-phone pair --yes against the kit's relay; (process, web URL).
    The computer waits for the phone."""
    uri_file = kit.path("uri-" + tag)
    comp = kit.spawn("pair-" + tag,
                     [kit.cli, "pair", "--relay", kit.relay_url, "--name",
                      computer_name, "--yes", "--uri-file", uri_file,
                      "--timeout", "30", *extra])
    from skpe2e import wait_file  # the kit's module, beside this one
    wait_file(uri_file, comp)
    url = web_url(kit.log("pair-" + tag))
    if url is None:
        kit.stop(comp)
        raise WebError("sk-phone pair printed no web URL (does the relay "
                       "serve the page?):\n" + kit.log("pair-" + tag))
    return comp, url


def finish_pair(kit, comp, tag="web", timeout=30.0):
    """Wait for sk-phone pair to end; its output, or WebError."""
    try:
        comp.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    kit.stop(comp)
    out = kit.log("pair-" + tag)
    if comp.returncode != 0:
        raise WebError("sk-phone pair failed (%s):\n%s" %
                       (comp.returncode, out))
    return out


def pair_web(kit, w, computer_name="testbox", phone="a", tag="web"):
    """Pair the web phone (already set up) with the computer from the QR's
    URL, the code checked equal on both sides; (code, computer's log)."""
    comp, url = start_pair(kit, computer_name, tag)
    w.open(url, phone=phone)
    code, computer = w.pair(phone=phone)
    if computer != computer_name:
        raise WebError("the page names the computer %r, not %r" %
                       (computer, computer_name))
    w.confirm(phone=phone)
    out = finish_pair(kit, comp, tag)
    if code not in re.sub(r"(\d{3}) (\d{3})", r"\1\2", out):
        raise WebError("the page's code %s is not the computer's:\n%s" %
                       (code, out))
    return code, out
