# End-to-end: several relay URLs for one relay (issue 15).
"""usage: e2e_urls.py BUILD_DIR [CASE ...]

The real relay, sk-phone pair, the provider in ssh-keygen and the
reference phone on 127.0.0.1, with a relay list of two URLs whose first
does not work (PROTOCOL.md 2.1 v=3, 6.5, 7.1, 8.8):

  first refused (nothing listens) ........ dead_first
  first black-holed (takes the TCP
  connection, never answers) ............. blackhole_first
  the phone moves to the next URL when
  its URL fails, and comes back to the
  first when it answers again ............ phone_moves_and_comes_back

Each pairs (the URI is v=3 with both URLs, in order; both sides keep the
list), enrols a key with ssh-keygen -t ecdsa-sk through the provider and
signs with ssh-keygen -Y sign; a black hole costs each connect at most
SKP_RELAY_URL_TIMEOUT_MS (3 s), never the whole budget.
"""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, SSH_KEYGEN  # noqa: E402

K = None
T = Tap()
URL_TIMEOUT_S = 3.0	# SKP_RELAY_URL_TIMEOUT_MS


def refused_url():
    """A loopback port bound and not listening: connections refused,
    and no other test takes the port meanwhile."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    K.holds.append(s)
    return "ws://127.0.0.1:%d" % s.getsockname()[1]


def blackhole_url():
    """A loopback port that takes TCP connections (the kernel's backlog)
    and never answers a byte."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    K.holds.append(s)
    return "ws://127.0.0.1:%d" % s.getsockname()[1]


class Forwarder:
    """A TCP forwarder on a loopback port to the relay: a second URL of
    the same relay, which the test can take away and give back."""

    def __init__(self, target, port=0):
        self.target = target
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), 2)
            except OSError:
                c.close()
                continue
            self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        """Close the port and every connection through it: refused."""
        self.stopped = True
        self.ls.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def pair(tag, urls):
    """sk-phone pair --relay U1 --relay U2 and the reference phone's pair
    with its URI; (computer state folder, phone state folder, URI,
    seconds for each side)."""
    state = K.path("computer-" + tag)
    os.mkdir(state, 0o700)
    phone = K.path("phone-" + tag)
    uri_file = K.path("uri-" + tag)
    argv = [K.cli, "pair", "--name", "box-" + tag, "--yes", "--uri-file",
            uri_file, "--timeout", "30"]
    for u in urls:
        argv += ["--relay", u]
    t0 = time.monotonic()
    comp = K.spawn("pair-" + tag, argv, env=K.env(SK_PHONE_DIR=state))
    skpe2e.wait_file(uri_file, comp, timeout=30)
    t_open = time.monotonic() - t0
    with open(uri_file) as f:
        uri = f.read().strip()
    rc, out, err, t_phone = K.run(
        [K.phone_bin, "--state", phone, "pair", "-", "--name",
         "phone-" + tag, "--yes", "--timeout", "30"],
        input=(uri + "\n").encode())
    check(rc == 0, "the phone did not pair", out + err)
    comp.wait(timeout=30)
    check(comp.returncode == 0, "sk-phone pair failed",
          K.log("pair-" + tag))
    return state, phone, uri, t_open, t_phone


def run_phone(tag, phone, name):
    p = K.spawn(name, [K.phone_bin, "--state", phone, "run", "--approve",
                       "always"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "listening on" in K.log(name):
            return p
        check(p.poll() is None, "the phone stopped", K.log(name))
        time.sleep(0.02)
    raise AssertionError("the phone did not listen:\n" + K.log(name))


def enrol_and_sign(tag, state):
    """ssh-keygen -t ecdsa-sk (enrolment) and ssh-keygen -Y sign through
    the provider; the seconds each took."""
    env = K.env(SK_PHONE_DIR=state)
    key = K.path("key-" + tag)
    rc, out, err, t_enrol = K.run([SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                                   K.provider, "-N", "", "-f", key],
                                  env=env)
    check(rc == 0, "enrolment (ssh-keygen -t ecdsa-sk)", out + err)
    msg = K.path("msg-" + tag)
    with open(msg, "w") as f:
        f.write("signed through a relay list\n")
    env["SSH_SK_PROVIDER"] = K.provider
    rc, out, err, t_sign = K.run([SSH_KEYGEN, "-Y", "sign", "-f", key, "-n",
                                  "file", msg], env=env)
    check(rc == 0, "ssh-keygen -Y sign", out + err)
    check(os.path.getsize(msg + ".sig") > 0, "no signature")
    return t_enrol, t_sign


def check_lists(uri, urls, state, phone, status=None):
    """The URI is v=3 with the URLs in order; both sides kept the list."""
    check(uri.startswith("sk-phone://pair?v=3&"), "not a v=3 URI", uri)
    rs = re.findall(r"&r=([^&]*)", uri)
    want = [u.replace(":", "%3A").replace("/", "%2F") for u in urls]
    check(rs == want, "the URI's r are not the list in order",
          "%r != %r" % (rs, want))
    rc, out, err, _ = K.run([K.phone_bin, "--state", phone, "mailbox"])
    check(rc == 0 and ("on " + " ".join(urls)) in out,
          "the phone's state does not hold the list", out + err)
    if status:
        rc, out, err, _ = K.run([K.cli, "status", "--timeout", "5"],
                                env=K.env(SK_PHONE_DIR=state))
        check(("relay %s: reachable" % status) in out,
              "sk-phone status does not reach the relay through the list",
              out + err)


@T.case
def dead_first():
    urls = [refused_url(), K.relay_url]
    state, phone, uri, t_open, t_phone = pair("dead", urls)
    p = run_phone("dead", phone, "phone-dead")
    check_lists(uri, urls, state, phone, status=K.relay_url)
    check(("listening on " + K.relay_url) in K.log("phone-dead"),
          "the phone does not listen on the second URL", K.log("phone-dead"))
    t_enrol, t_sign = enrol_and_sign("dead", state)
    # A refused URL costs nothing to speak of.
    check(t_enrol < 10 and t_sign < 5 and t_phone < 5,
          "too slow past a refused URL: enrol %.1f s, sign %.1f s, "
          "phone pair %.1f s" % (t_enrol, t_sign, t_phone))
    print("# dead first: open %.2f s, phone pair %.2f s, enrol %.2f s, "
          "sign %.2f s" % (t_open, t_phone, t_enrol, t_sign))
    K.stop(p)


@T.case
def blackhole_first():
    urls = [blackhole_url(), K.relay_url]
    state, phone, uri, t_open, t_phone = pair("hole", urls)
    check_lists(uri, urls, state, phone)
    t0 = time.monotonic()
    p = run_phone("hole", phone, "phone-hole")
    t_listen = time.monotonic() - t0
    check(("listening on " + K.relay_url) in K.log("phone-hole"),
          "the phone does not listen on the second URL", K.log("phone-hole"))
    t_enrol, t_sign = enrol_and_sign("hole", state)
    # The provider's own connect, without the keeper (SK_PHONE_KEEPER=off).
    env = K.env(SK_PHONE_DIR=state, SSH_SK_PROVIDER=K.provider,
                SK_PHONE_KEEPER="off")
    rc, out, err, t_direct = K.run([SSH_KEYGEN, "-Y", "sign", "-f",
                                    K.path("key-hole"), "-n", "file",
                                    K.path("msg-hole")], env=env)
    check(rc == 0, "ssh-keygen -Y sign, SK_PHONE_KEEPER=off", out + err)
    # The hole takes its share (3 s), never the budget (SK_PHONE_TIMEOUT
    # is 20 s): each connect is past it in about 3 s; the keeper's too,
    # at the enrolment, and the signature after it is warm.
    for what, dt in (("phone pair", t_phone), ("phone run", t_listen),
                     ("sign (direct)", t_direct)):
        check(URL_TIMEOUT_S - 0.5 <= dt < URL_TIMEOUT_S + 4,
              "%s took %.1f s past a black hole (want about %.0f s)" %
              (what, dt, URL_TIMEOUT_S))
    check(URL_TIMEOUT_S - 0.5 <= t_enrol < URL_TIMEOUT_S + 8,
          "enrolment took %.1f s past a black hole (want about %.0f s)" %
          (t_enrol, URL_TIMEOUT_S))
    check(t_sign < 1.5, "a signature through the keeper's warm connection "
          "took %.1f s" % t_sign)
    print("# black hole first: open %.2f s, phone pair %.2f s, run %.2f s, "
          "enrol %.2f s, sign %.2f s (keeper), %.2f s (direct)" %
          (t_open, t_phone, t_listen, t_enrol, t_sign, t_direct))
    K.stop(p)


@T.case
def phone_moves_and_comes_back():
    fw = Forwarder(K.relay_port)
    first = "ws://127.0.0.1:%d" % fw.port
    urls = [first, K.relay_url]
    state, phone, uri, _, _ = pair("back", urls)
    check_lists(uri, urls, state, phone, status=first)
    p = run_phone("back", phone, "phone-back")
    check(("listening on " + first) in K.log("phone-back"),
          "the phone does not listen on the first URL", K.log("phone-back"))
    enrol_and_sign("back1", state)
    # The first URL goes away: the phone moves to the second.
    fw.stop()
    deadline = time.monotonic() + 20
    while ("listening on " + K.relay_url) not in K.log("phone-back"):
        check(time.monotonic() < deadline,
              "the phone did not move to the second URL",
              K.log("phone-back"))
        time.sleep(0.05)
    enrol_and_sign("back2", state)
    # The first is back: the next reconnect (the relay restarted) walks
    # the list from the first URL again.
    fw = Forwarder(K.relay_port, fw.port)
    n = K.log("phone-back").count("listening on " + first)
    K.stop_relay()
    K.start_relay(K.relay_port)
    deadline = time.monotonic() + 30
    while K.log("phone-back").count("listening on " + first) <= n:
        check(time.monotonic() < deadline,
              "the phone did not come back to the first URL",
              K.log("phone-back"))
        time.sleep(0.05)
    enrol_and_sign("back3", state)
    fw.stop()
    K.stop(p)


def main():
    global K
    K = Kit(sys.argv[1], "e2e-urls")
    K.holds = []
    try:
        K.start_relay()
    except Exception as e:
        return K.setup_failed(e, logs=("relay",))
    rc = T.run(sys.argv[2:])
    for s in K.holds:
        s.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
