# The relay cluster (issue 15): three sk-phone-relay nodes, one Redis,
# haproxy, on 127.0.0.1; docs/PROTOCOL.md §7.12.
"""usage: cluster.py BUILD_DIR [CASE ...]

redis-server (with a password: every node uses AUTH), three nodes
a, b and c of the real sk-phone-relay with --cluster, and haproxy in
front of b and c, all started here on free ports in a temporary folder
and killed at the end. Raw websocket clients (test/relay/relay_test.py's)
drive the relay frames of §7; the real sk-phone, provider, ssh-keygen and
reference phone do the rest.

What -> case (in order; each leaves the world whole for the next):
  a call on b to a phone listening on a: ONLINE/INCOMING, DATA both
    ways, HANGUP either way ................................ cross_call
  a call held on b for an offline phone is delivered when the phone
    listens on c; one listening on a gets nothing held
    twice ................................................... held_then_listen
  JOIN on a, MEET on b (data before PEER kept); MEET for no one on
    c is 4031 ............................................... rendezvous
  a live CALL and ONLINE on the channels are the documented
    layout ................................................. wire_format
  the same mailbox proved on a then on b: a's listener closed 4007,
    a call on c reaches b only, once ........................ takeover
  sk-phone pair through b, the phone through a; ssh-keygen enrols
    and signs (-Y sign, verified) with the phone behind
    haproxy (b or c) ........................................ e2e_pair_enrol_sign
  kill -9 the node a call's phone is on: the caller gets END 4024
    within 2 s; kill the caller's node: the phone gets 4026 ... kill_in_flight
  kill -9 the reference phone's node: it reconnects through haproxy
    and signs again within a few seconds .................... kill_phone_node
  the phone given a URL list (c, b) instead of haproxy: c killed,
    it moves to b and signs again ........................... url_list_failover
  Redis restarted: nodes reconnect and register their mailboxes;
    a call crosses nodes again .............................. redis_restart
  Redis down: pairs meeting on one node work, cross-node CALL and
    MEET are END 4032, the log says so; back when it is ...... redis_down
  the password never shows in ps; a wrong one is logged ...... auth
  the nodes stop cleanly; no sanitizer report in any log ...... logs_clean
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "relay"))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, free_port, wait_port  # noqa: E402
import relay_test as rt  # noqa: E402
from relay_test import (RawWS, hdr, mailbox_id, CALL, DATA, HANGUP,  # noqa
                        INCOMING, ONLINE, OFFLINE, WAITING, PEER,
                        LISTENING, MEET)

shutil.rmtree(rt.TMP, ignore_errors=True)

PASSWORD = "s3cret-for-the-test"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
K = None
T = Tap()
W = None


class World:
    """Redis, nodes a, b, c and haproxy (b, c)."""

    def __init__(self, kit):
        self.k = kit
        self.redis_port = free_port()
        self.redis = None
        self.nodes = {}
        self.ports = {n: free_port() for n in "abc"}
        self.start_redis()
        for n in "abc":
            self.start_node(n)
        self.start_haproxy()

    def start_redis(self):
        d = self.k.path("redis")
        os.makedirs(d, exist_ok=True)
        self.redis = self.k.spawn("redis", [
            "/usr/bin/redis-server", "--port", str(self.redis_port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", d, "--requirepass", PASSWORD, "--daemonize", "no"],
            env=self.k.env(preload=False))
        wait_port(self.redis_port, self.redis)

    def url(self, n):
        return "ws://127.0.0.1:%d" % self.ports[n]

    def cluster_url(self, password=PASSWORD):
        return "redis://:%s@127.0.0.1:%d/3" % (password, self.redis_port)

    def start_node(self, n, password=PASSWORD, wait=True):
        name = "node-" + n
        mark = len(self.k.log(name))
        p = self.k.spawn(name, [
            self.k.relay_bin, "--listen", "127.0.0.1:%d" % self.ports[n],
            "--no-web", "-v", "--cluster", self.cluster_url(password),
            "--node", n], env=self.k.env(preload=False))
        self.nodes[n] = p
        wait_port(self.ports[n], p)
        if wait:
            self.wait_log(n, "cluster: connected", 5, mark)
        return p

    def kill_node(self, n):
        p = self.nodes.pop(n)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(5)
        self.k.procs.remove(p)

    def log(self, n):
        return self.k.log("node-" + n)

    def wait_log(self, n, text, timeout, after=0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log(n)[after:]:
                return
            time.sleep(0.02)
        raise AssertionError("node %s did not log %r:\n%s" %
                             (n, text, self.log(n)[-1500:]))

    def start_haproxy(self):
        self.haproxy_port = free_port()
        cfg = self.k.path("haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("""global
    maxconn 1000
defaults
    mode tcp
    timeout connect 1s
    timeout client 120s
    timeout server 120s
    retries 3
    option redispatch
frontend relay
    bind 127.0.0.1:%d
    default_backend nodes
backend nodes
    balance roundrobin
    server b 127.0.0.1:%d check inter 300ms fall 1 rise 1
    server c 127.0.0.1:%d check inter 300ms fall 1 rise 1
""" % (self.haproxy_port, self.ports["b"], self.ports["c"]))
        self.haproxy = self.k.spawn("haproxy", [
            "/usr/sbin/haproxy", "-db", "-f", cfg],
            env=self.k.env(preload=False))
        wait_port(self.haproxy_port, self.haproxy)

    def ws(self, n):
        return RawWS(self.ports[n])

    def phone(self, n, secret):
        ph = self.ws(n)
        ph.listen(secret)
        ph.expect(LISTENING, 0)
        return ph

    def listener_node(self, mbhex):
        """The node whose log says the phone of mbhex listens there."""
        for n in sorted(self.nodes):
            if "listening on %s" % mbhex[:16] in self.log(n):
                return n
        return None


def redis_cli(*args):
    return subprocess.run(
        ["/usr/bin/redis-cli", "-p", str(W.redis_port), "--no-auth-warning",
         "-a", PASSWORD, "-n", "3"] + list(args),
        capture_output=True, timeout=5).stdout.decode().strip()


def wait_redis_key(key, want, timeout=3.0):
    end = time.monotonic() + timeout
    got = None
    while time.monotonic() < end:
        got = redis_cli("GET", key)
        if got == want:
            return
        time.sleep(0.02)
    raise AssertionError("redis %s is %r, not %r" % (key, got, want))


def call_to(n, chan, mbid, timeout_ms=8000):
    c = W.ws(n)
    c.call(chan, mbid, timeout_ms)
    return c


def end_code(ws, chan, timeout=3.0):
    _, body = ws.expect(rt.END, chan, timeout)
    return struct.unpack(">H", body[:2])[0]


@T.case
def cross_call():
    secret = os.urandom(32)
    mbid = mailbox_id(secret)
    ph = W.phone("a", secret)
    wait_redis_key("skp:mb:" + mbid.hex(), "a")
    c = W.ws("b")
    c.call(1, mbid)
    c.send(hdr(DATA, 1) + b"request")   # with the CALL, before ONLINE
    ch, _ = ph.expect(INCOMING, None)
    c.expect(ONLINE, 1)
    _, body = ph.expect(DATA, ch)
    check(body == b"request", "the phone got %r" % body)
    ph.send(hdr(DATA, ch) + b"answer")
    _, body = c.expect(DATA, 1)
    check(body == b"answer", "the caller got %r" % body)
    ph.send(hdr(HANGUP, ch))
    code = end_code(c, 1)
    check(code == 4025, "caller END %d, not 4025" % code)
    # The other way: the caller hangs up, and a second call on c.
    c2 = W.ws("c")
    c2.call(5, mbid)
    ch2, _ = ph.expect(INCOMING, None)
    c2.expect(ONLINE, 5)
    for i in range(20):
        c2.send(hdr(DATA, 5) + bytes([i]) * 1000)
    for i in range(20):
        _, body = ph.expect(DATA, ch2)
        check(body == bytes([i]) * 1000, "frame %d out of order" % i)
    c2.send(hdr(HANGUP, 5))
    code = end_code(ph, ch2)
    check(code == 4025, "phone END %d, not 4025" % code)
    for w in (ph, c, c2):
        w.close()


@T.case
def held_then_listen():
    secret = os.urandom(32)
    mbid = mailbox_id(secret)
    c = W.ws("b")
    c.call(1, mbid, 10000)
    c.expect(OFFLINE, 1)
    c.send(hdr(DATA, 1) + b"stale")     # dropped: held calls keep nothing
    ph = W.phone("c", secret)
    ch, _ = ph.expect(INCOMING, None)
    c.expect(ONLINE, 1)
    c.send(hdr(DATA, 1) + b"fresh")
    _, body = ph.expect(DATA, ch)
    check(body == b"fresh", "the phone got %r, not the fresh one" % body)
    # Delivered once: the same phone proving again on a takes the
    # mailbox, and the call is not delivered there again.
    ph2 = W.phone("a", secret)
    ph.expect_close(4007)
    code = end_code(c, 1)
    check(code == 4024, "caller END %d, not 4024" % code)
    r = ph2.recv(0.5)
    check(r[0] == "timeout", "the new listener got %r" % (r,))
    for w in (ph, ph2, c):
        w.close()


@T.case
def rendezvous():
    rid = os.urandom(32)
    j = W.ws("a")
    j.join(1, rid, 10000)
    j.expect(WAITING, 1)
    j.send(hdr(DATA, 1) + b"before-peer")
    wait_redis_key("skp:rdv:" + rid.hex(), "a")
    m = W.ws("b")
    m.join(7, rid, 10000, kind=MEET)
    m.expect(PEER, 7)
    j.expect(PEER, 1)
    _, body = m.expect(DATA, 7)
    check(body == b"before-peer", "the second got %r" % body)
    m.send(hdr(DATA, 7) + b"pairing reply")
    _, body = j.expect(DATA, 1)
    check(body == b"pairing reply", "the first got %r" % body)
    check(redis_cli("EXISTS", "skp:rdv:" + rid.hex()) == "0",
          "the rendezvous key stayed after they met")
    m.send(hdr(HANGUP, 7))
    check(end_code(j, 1) == 4025, "join END not 4025")
    # A MEET where nobody waits, on any node: 4031 at once.
    z = W.ws("c")
    t0 = time.monotonic()
    z.join(2, os.urandom(32), 10000, kind=MEET)
    check(end_code(z, 2) == 4031, "MEET for nobody not 4031")
    check(time.monotonic() - t0 < 1, "4031 took %.1fs" %
          (time.monotonic() - t0))
    # Two JOINs on two nodes meet too (the second finds the first).
    rid2 = os.urandom(32)
    j1 = W.ws("c")
    j1.join(1, rid2, 10000)
    j1.expect(WAITING, 1)
    j2 = W.ws("a")
    j2.join(1, rid2, 10000)
    j2.expect(PEER, 1)
    j1.expect(PEER, 1)
    for w in (j, m, z, j1, j2):
        w.close()


class Resp:
    """A bare RESP client: AUTH, SUBSCRIBE, and the messages."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 5)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b"-"):
            return rest
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            return [self.read() for _ in range(int(rest))]
        raise AssertionError("RESP: %r" % line)


@T.case
def wire_format():
    """A live CALL from b to a, read off a's channel, is the layout of
    PROTOCOL.md 7.12; so is the ONLINE a answers on b's."""
    secret = os.urandom(32)
    mbid = mailbox_id(secret)
    ph = W.phone("a", secret)
    wait_redis_key("skp:mb:" + mbid.hex(), "a")
    r = Resp(W.redis_port)
    r.cmd("AUTH", PASSWORD)
    check(r.read() == b"OK", "AUTH")
    r.cmd("SUBSCRIBE", "skp:3:node:a", "skp:3:node:b")
    r.read()
    r.read()
    c = W.ws("b")
    c.call(1, mbid, 45000)
    ph.expect(INCOMING, None)
    c.expect(ONLINE, 1)
    got = {}
    while len(got) < 2:
        m = r.read()
        got[m[1].decode()] = m[2]
    call, online = got["skp:3:node:a"], got["skp:3:node:b"]
    check(len(call) == 56, "CALL of %d bytes, not 56" % len(call))
    ver, typ, nl = call[0], call[1], call[2]
    to, frm = struct.unpack(">QQ", call[4:20])
    check((ver, typ, nl, call[3:4]) == (1, 1, 1, b"b"),
          "CALL header %r" % call[:4])
    check(to == 0 and frm != 0, "CALL to %d from %d" % (to, frm))
    check(call[20:52] == mbid, "CALL's mailbox id")
    ms = struct.unpack(">I", call[52:56])[0]
    check(40000 < ms <= 45000, "CALL's timeout %d ms" % ms)
    check(len(online) == 20 and online[:4] == b"\x01\x02\x01a",
          "ONLINE %r" % online)
    to2, frm2 = struct.unpack(">QQ", online[4:20])
    check(to2 == frm and frm2 != 0, "ONLINE names the links %d %d" %
          (to2, frm2))
    r.s.close()
    ph.close()
    c.close()


@T.case
def takeover():
    secret = os.urandom(32)
    mbid = mailbox_id(secret)
    p1 = W.phone("a", secret)
    wait_redis_key("skp:mb:" + mbid.hex(), "a")
    p2 = W.phone("b", secret)
    p1.expect_close(4007)
    wait_redis_key("skp:mb:" + mbid.hex(), "b")
    c = W.ws("c")
    c.call(3, mbid)
    ch, _ = p2.expect(INCOMING, None)
    c.expect(ONLINE, 3)
    r = p2.recv(0.5)
    check(r[0] == "timeout", "a second delivery: %r" % (r,))
    # The nodes that lost it do not take it back on refresh.
    check("replaced by a newer listener" in W.log("a") or
          "closed 4007" in W.log("a"), "a did not log the takeover")
    for w in (p1, p2, c):
        w.close()


def pair_across():
    """sk-phone pair JOINs on b, the phone MEETs on a and gives the
    computer a's URL (the relay it listens on): the computer calls
    through a, the phone listens behind haproxy (b or c)."""
    k = K
    k.phone_dir = k.path("phone-x")
    uri_file = k.path("uri-x")
    comp = k.spawn("pair-x", [k.cli, "pair", "--relay", W.url("b"),
                              "--name", "testbox", "--yes", "--uri-file",
                              uri_file, "--timeout", "30"])
    skpe2e.wait_file(uri_file, comp)
    with open(uri_file) as f:
        uri = f.read().strip()
    rc, out, err, _ = k.run(k.phone_argv(
        "pair", "-", "--name", "phonex", "--yes", "--timeout", "30",
        "--relay", W.url("a")), input=(uri + "\n").encode())
    check(rc == 0, "phone pair", out + err)
    comp.wait(30)
    k.stop(comp)
    check(comp.returncode == 0, "sk-phone pair", k.log("pair-x"))


def start_phone_behind_haproxy():
    argv = K.phone_argv("run", "--approve", "always", "--relay",
                        "ws://127.0.0.1:%d" % W.haproxy_port)
    p = K.spawn("phone", argv)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if "listening" in K.log("phone"):
            K.phone = p
            return p
        time.sleep(0.02)
    raise AssertionError("phone did not listen:\n" + K.log("phone"))


def sign(tag):
    msg = K.path("msg-" + tag)
    with open(msg, "w") as f:
        f.write("cluster %s\n" % tag)
    t0 = time.monotonic()
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "sign", "-f", K.path("key"),
                             "-n", "file", msg],
                            env=K.env(SSH_SK_PROVIDER=K.provider))
    dt = time.monotonic() - t0
    check(rc == 0, "ssh-keygen -Y sign (%s)" % tag, out + err)
    with open(K.path("key.pub")) as f:
        pub = f.read().split()
    signers = K.path("allowed_signers")
    with open(signers, "w") as f:
        f.write("c@example %s %s\n" % (pub[0], pub[1]))
    with open(msg, "rb") as f:
        data = f.read()
    rc, out, err, _ = K.run([SSH_KEYGEN, "-Y", "verify", "-f", signers,
                             "-I", "c@example", "-n", "file", "-s",
                             msg + ".sig"], input=data)
    check(rc == 0 and "Good" in out + err, "verify (%s)" % tag, out + err)
    os.unlink(msg + ".sig")
    return dt


LISTEN_RE = re.compile(r"listening on [0-9a-f]{16}\.\.\.")


PHONE_MB = None


def mb_keys():
    return set(k for k in redis_cli("KEYS", "skp:mb:*").split() if k)


def phone_mailbox():
    """The reference phone's mailbox id (hex): the key that came with it."""
    check(PHONE_MB is not None, "the reference phone never listened")
    return PHONE_MB


@T.case
def e2e_pair_enrol_sign():
    global PHONE_MB
    pair_across()
    before = mb_keys()
    start_phone_behind_haproxy()
    end = time.monotonic() + 3
    while time.monotonic() < end and not mb_keys() - before:
        time.sleep(0.02)
    new = mb_keys() - before
    check(len(new) == 1, "the phone's mailbox key: %r" % new)
    PHONE_MB = new.pop()[len("skp:mb:"):]
    rc, out, err, _ = K.keygen("key")
    check(rc == 0, "ssh-keygen -t ecdsa-sk through a", out + err)
    sign("first")
    # The computer is on a; the phone is not.
    mb = phone_mailbox()
    check(redis_cli("GET", "skp:mb:" + mb) in ("b", "c"),
          "the phone listens on %r, not b or c" %
          redis_cli("GET", "skp:mb:" + mb))
    check(LISTEN_RE.search(W.log("b") + W.log("c")),
          "neither b nor c logged a listener")


@T.case
def kill_in_flight():
    secret = os.urandom(32)
    mbid = mailbox_id(secret)
    ph = W.phone("c", secret)
    wait_redis_key("skp:mb:" + mbid.hex(), "c")
    c = W.ws("a")
    c.call(1, mbid, 20000)
    ch, _ = ph.expect(INCOMING, None)
    c.expect(ONLINE, 1)
    t0 = time.monotonic()
    W.kill_node("c")
    code = end_code(c, 1, 3.0)
    dt = time.monotonic() - t0
    check(code == 4024, "caller END %d, not 4024" % code)
    check(dt < 2.0, "the caller heard after %.2fs, not within 2 s" % dt)
    print("# caller heard the node's death after %.2fs" % dt)
    ph.close()
    c.close()
    W.start_node("c")
    # The caller's node killed: the phone hears 4026.
    ph = W.phone("b", secret)
    wait_redis_key("skp:mb:" + mbid.hex(), "b")
    c = W.ws("c")
    c.call(2, mbid, 20000)
    ch, _ = ph.expect(INCOMING, None)
    c.expect(ONLINE, 2)
    t0 = time.monotonic()
    W.kill_node("c")
    code = end_code(ph, ch, 3.0)
    dt = time.monotonic() - t0
    check(code == 4026, "phone END %d, not 4026" % code)
    check(dt < 2.0, "the phone heard after %.2fs" % dt)
    ph.close()
    c.close()
    W.start_node("c")


@T.case
def kill_phone_node():
    victim = redis_cli("GET", "skp:mb:" + phone_mailbox())
    check(victim in ("b", "c"), "the phone's node is %r" % victim)
    mark = len(K.log("phone"))
    W.kill_node(victim)
    t0 = time.monotonic()
    end = t0 + 10
    while time.monotonic() < end:
        if "listening" in K.log("phone")[mark:]:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the phone did not come back:\n" +
                             K.log("phone")[-1500:])
    back = time.monotonic() - t0
    dt = sign("after-kill")
    print("# phone listening again after %.2fs; a signature took %.2fs" %
          (back, dt))
    check(back < 5, "the phone took %.1fs to come back" % back)
    W.start_node(victim)


def phone_on_a_redis_stopped():
    """A raw phone listening on a, then Redis stopped and every node
    saying so: (its mailbox id, the phone)."""
    secret = os.urandom(32)
    mbid = mailbox_id(secret)
    ph = W.phone("a", secret)
    wait_redis_key("skp:mb:" + mbid.hex(), "a")
    marks = {n: len(W.log(n)) for n in "abc"}
    K.stop(W.redis)
    for n in "abc":
        W.wait_log(n, "unreachable", 3, marks[n])
        W.wait_log(n, "calls to other nodes are refused (4032)", 1,
                   marks[n])
    return mbid, ph, marks


@T.case
def url_list_failover():
    """The reference phone run with a URL list (c, then b) instead of
    haproxy: it listens on c; c killed, it moves to b by itself and
    signs again."""
    K.stop(K.phone)
    p = K.spawn("phone", K.phone_argv("run", "--approve", "always",
                                      "--relay", W.url("c"),
                                      "--relay", W.url("b")))
    K.phone = p
    wait_redis_key("skp:mb:" + phone_mailbox(), "c", 10)
    sign("on-c")
    mark = len(K.log("phone"))
    t0 = time.monotonic()
    W.kill_node("c")
    wait_redis_key("skp:mb:" + phone_mailbox(), "b", 10)
    back = time.monotonic() - t0
    print("# the phone moved from c to b after %.2fs" % back)
    check(back < 5, "the phone took %.1fs to move" % back)
    sign("after-c-died")
    check("listening" in K.log("phone")[mark:], "no second listen")
    W.start_node("c")


@T.case
def redis_restart():
    mbid, ph, marks = phone_on_a_redis_stopped()
    W.start_redis()
    for n in "abc":
        W.wait_log(n, "cluster: connected", 5, marks[n])
    # Registered again: the key is back without the phone doing anything.
    wait_redis_key("skp:mb:" + mbid.hex(), "a")
    c = W.ws("b")
    c.call(1, mbid)
    ph.expect(INCOMING, None)
    c.expect(ONLINE, 1)
    ph.close()
    c.close()
    # The reference phone too: a signature crosses nodes again.
    sign("after-redis-restart")


@T.case
def redis_down():
    mbid, ph, _ = phone_on_a_redis_stopped()
    # Same node: served.
    c = W.ws("a")
    c.call(1, mbid)
    ch, _ = ph.expect(INCOMING, None)
    c.expect(ONLINE, 1)
    ph.send(hdr(DATA, ch) + b"still")
    _, body = c.expect(DATA, 1)
    check(body == b"still", "same-node call got %r" % body)
    rid = os.urandom(32)
    j = W.ws("b")
    j.join(1, rid, 10000)
    j.expect(WAITING, 1)
    m = W.ws("b")
    m.join(1, rid, 10000, kind=MEET)
    m.expect(PEER, 1)
    j.expect(PEER, 1)
    # Across nodes: refused with 4032, at once.
    x = W.ws("b")
    t0 = time.monotonic()
    x.call(1, mbid)
    check(end_code(x, 1) == 4032, "cross-node call not 4032")
    y = W.ws("c")
    y.join(1, os.urandom(32), 10000, kind=MEET)
    check(end_code(y, 1) == 4032, "cross-node MEET not 4032")
    check(time.monotonic() - t0 < 1.5, "4032 was slow")
    for w in (ph, c, j, m, x, y):
        w.close()
    marks = {n: len(W.log(n)) for n in "abc"}
    W.start_redis()
    for n in "abc":
        W.wait_log(n, "cluster: connected", 5, marks[n])


@T.case
def auth():
    for n, p in W.nodes.items():
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            cmd = f.read()
        check(PASSWORD.encode() not in cmd, "node %s shows the password "
              "in its command line" % n)
        check(PASSWORD not in W.log(n), "node %s logged the password" % n)
    W.ports["d"] = free_port()
    W.start_node("d", password="wrong", wait=False)
    W.wait_log("d", "redis refused AUTH", 5)
    check("wrong" not in W.log("d"), "the wrong password was logged")
    W.kill_node("d")


@T.case
def logs_clean():
    """Every node stopped with SIGTERM says it stopped; no log of the
    world has a sanitizer report (a build with ASan checks leaks too)."""
    for n in sorted(W.nodes):
        p = W.nodes.pop(n)
        K.stop(p)
        check(p.returncode == 0, "node %s exited %r" % (n, p.returncode))
        check(W.log(n).rstrip().endswith("stopped"),
              "node %s did not stop cleanly:\n%s" % (n, W.log(n)[-800:]))
    for f in sorted(os.listdir(K.tmp)):
        if f.endswith(".log"):
            text = K.log(f[:-4])
            for m in rt.SANITIZER_MARKS:
                check(m not in text, "%s: %s" % (f, m),
                      text[max(0, text.find(m) - 300):][:1500])


def main():
    global K, W
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for prog in ("/usr/bin/redis-server", "/usr/bin/redis-cli",
                 "/usr/sbin/haproxy"):
        if not os.path.exists(prog):
            print("1..0 # setup failed")
            print("Bail out! %s missing: install redis-server and haproxy "
                  "(scripts/deps.sh)" % prog)
            return 1
    K = Kit(sys.argv[1], "cluster")
    try:
        W = World(K)
    except Exception as e:
        return K.setup_failed(e, ("redis", "node-a", "node-b", "node-c",
                                  "haproxy"))
    return K.finish(T.run(sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
