# The phones the conformance suite drives, behind one adapter.
"""Phone adapters for conform.py.

Every phone under test is driven through the same few calls, so that the
checks in conform.py are written once:

  start(world)      the phone set up (first run) and listening on world's
                    relay; world gives path(), env(), url, web_url
  pair(uri, refused=False)
                    the phone's side of pairing given the computer's URI:
                    {'ok': True, 'code': '123456'} once the owner confirmed
                    the code shown, or {'ok': False, 'why': text}; refused:
                    the driver expects a refusal (a web page is then given
                    4 s to show a code instead of 12)
  computers(want)   the names of the paired computers (want: one of them,
                    waited for on a screen drawn after a moment)
  approve(choice, give_up)
                    the next question answered with 'once', 'host',
                    'window' or 'reject'; returns what was asked,
                    {'text', 'op', 'host_state', 'choices'}, host_state one
                    of 'verified', 'first-use', 'not-verified' or None, or
                    None when give_up() became true first (the computer
                    got its answer without a question)
  asked()           True when a question is on the screen now
  restart()         the phone stopped and started again on the same state
  set_pin(pin)      the phone's own PIN set (for verify-required keys)
  stop()

RefPhone runs sk-phone-authenticator(-test) on a pseudo-terminal and
answers as its owner would. WebPhone is the web phone in headless
Chromium, driven by the data-test hooks of docs (web-api §6).
"""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ptyprog import PtyProgram, sanitizer_report  # noqa: E402

WAIT = 15.0        # seconds any single wait may take


class Fail(Exception):
    pass


def clean(text, who):
    """Under ASan/UBSan, any report from a child fails the check."""
    report = sanitizer_report(text, 800)
    if report:
        raise Fail("%s: sanitizer report: %s" % (who, report))


def Pty(argv, env):
    """A program on a pseudo-terminal, as its owner would see it."""
    def fail(what):
        raise Fail(what)
    return PtyProgram(argv, env, fail=fail, wait=WAIT)


class RefPhone:
    """The reference phone, sk-phone-authenticator, on a terminal."""

    name = "reference"
    KEYS = {"once": "o", "host": "h", "window": "w", "reject": "r"}

    def __init__(self, binary):
        self.binary = binary
        self.t = None
        self.pin_file = None

    def start(self, world):
        self.w = world
        self.state = world.path("phone")
        # The reference phone makes its state on its first pairing and
        # listens with `run`; nothing is paired yet.

    def _run(self):
        args = [self.binary, "--state", self.state, "run"]
        if self.pin_file:
            args += ["--pin-file", self.pin_file]
        self.t = Pty(args, self.w.env())
        self.t.expect("listening on")

    def _halt(self):
        if self.t is not None:
            self.t.close()
            self.t = None

    def computers(self, want=None):
        r = subprocess.run([self.binary, "--state", self.state,
                            "computers"], capture_output=True,
                           timeout=WAIT, env=self.w.env(),
                           stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode(errors="replace")
        clean(out, "phone computers")
        if r.returncode != 0:
            raise Fail("computers: " + out)
        return re.findall(r'^"([^"]*)"', out, re.M)

    def pair(self, uri, refused=False):
        """`pair -` with the URI on standard input, --yes for the owner's
        confirmation; `run` is stopped meanwhile (the state's lock)."""
        running = self.t is not None
        self._halt()
        r = subprocess.run([self.binary, "--state", self.state, "pair", "-",
                            "--yes", "--name", "phone", "--timeout", "10"],
                           input=(uri + "\n").encode(), capture_output=True,
                           timeout=WAIT * 2, env=self.w.env(),
                           start_new_session=True)
        out = (r.stdout + r.stderr).decode(errors="replace")
        clean(out, "phone pair")
        if running or os.path.isdir(self.state):
            self._run()
        m = re.search(r"confirmation code: (\d{3}) (\d{3})", out)
        if r.returncode != 0 or "paired with computer" not in out:
            return {"ok": False, "why": out, "code": m and
                    m.group(1) + m.group(2)}
        return {"ok": True, "code": m and m.group(1) + m.group(2)}

    def asked(self):
        while self.t.read(0):
            pass
        return b"request from computer" in self.t.buf

    def approve(self, choice, give_up=None):
        seen = self.t.find("answer within", WAIT, give_up)
        if seen is None:
            if give_up is None or not give_up():
                raise Fail("no question within %d s" % WAIT)
            return None
        self.t.send(self.KEYS[choice] + "\n")
        text = seen[seen.find("request from computer"):]
        op = ("login" if "operation:   SSH login" in text else
              "sign" if "operation:   sign, namespace" in text else
              "enroll" if "operation:   enroll" in text else
              "list" if "operation:   list" in text else "other")
        hs = None
        if op == "login":
            hs = ("verified" if re.search(r"@ .* \(verified\)", text) else
                  "first-use" if "(first use, not yet pinned)" in text else
                  "not-verified" if "(not verified)" in text else "?")
        choices = ["once"] + (["host"] if "  [h] " in text else []) + \
            ["window", "reject"]
        return {"text": text, "op": op, "host_state": hs,
                "choices": choices}

    def restart(self):
        self._halt()
        self._run()

    def set_pin(self, pin):
        self.pin_file = self.w.path("phone-pin")
        fd = os.open(self.pin_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        os.write(fd, (pin + "\n").encode())
        os.close(fd)
        self.restart()

    def stop(self):
        self._halt()


class _Kit:
    """What test/e2e/webphone.py needs of the e2e kit, over a World."""

    def __init__(self, world):
        self.w = world
        self.procs = world.procs

    def path(self, *p):
        return self.w.path(*p)

    def env(self, preload=True, **extra):
        return self.w.env(**{k: v for k, v in extra.items()
                             if v is not None})

    def log(self, name):
        try:
            return open(self.path(name + ".log"),
                        errors="replace").read()
        except OSError:
            return ""

    def stop(self, p, grace=3.0):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# The request card shown now (web-api §6: data-test "request"), as the
# driver's "answer" tells a card gone.
CARD_SHOWN = ("(() => { const e = document.querySelector("
              "'[data-test=\"request\"]'); return !!e && e.isConnected && "
              "e.offsetParent !== null && "
              "e.getAttribute('aria-hidden') !== 'true'; })()")


class WebPhone:
    """The web phone in headless Chromium (test/e2e/webphone.py, which
    drives the page through its data-test hooks only). A restart is a
    reload of the page: everything it keeps is in IndexedDB."""

    name = "web"

    def start(self, world):
        src = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        sys.path.insert(0, os.path.join(src, "test", "e2e"))
        import webphone
        self.WebError = webphone.WebError
        self.kit = _Kit(world)
        self.w = webphone.WebPhone(self.kit)
        self.pin = None
        self.w.open(world.web_url)
        self.w.setup("phone")
        self.w.status(want="online", timeout=15)

    def computers(self, want=None):
        rows = self.w.list("computers", want=want)
        self._home()
        return [r.get("name") for r in rows]

    def pair(self, uri, refused=False):
        try:
            code, computer = self.w.pair(uri=uri, timeout=4 if refused
                                         else 12)
        except self.WebError as e:
            # what the page says (an alert on the pairing screen)
            why = self.w.eval("[...document.querySelectorAll("
                              "'[role=alert]')].map(e => e.textContent)"
                              ".join(' | ')")
            self._home()
            return {"ok": False, "why": "%s (%s)" % (why, e), "code": None}
        code = re.sub(r"\s", "", code)
        try:
            self.w.confirm(timeout=15)
        except self.WebError as e:
            self._home()
            return {"ok": False, "why": str(e), "code": code}
        self._home()
        return {"ok": True, "code": code, "computer": computer}

    def _home(self):
        try:
            self.w.tap("nav-home")
        except self.WebError:
            pass

    def asked(self):
        return bool(self.w.eval(CARD_SHOWN))

    def approve(self, choice, give_up=None):
        end = time.time() + WAIT
        while True:
            try:
                card = self.w.request(timeout=1)
                break
            except self.WebError as e:
                if give_up is not None and give_up():
                    return None
                if time.time() > end:
                    raise Fail("no question within %d s (%s)" % (WAIT, e))
        if not self.asked():
            raise Fail("a card the adapter does not see as shown")
        self.w.answer(choice)
        return {"text": card.get("text") or "", "op": card.get("op"),
                "host_state": card.get("hostState") or None,
                "choices": card.get("choices") or []}

    def restart(self):
        self.w.reload(timeout=20)

    def set_pin(self, pin):
        self.w.set_pin(pin, old=self.pin)
        self.pin = pin
        self._home()

    def stop(self):
        self.w.close()
