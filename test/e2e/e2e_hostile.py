# End-to-end: a hostile network and relay abusers against the real parts.
"""usage: e2e_hostile.py BUILD_DIR [CASE ...]

The real relay, the real reference phone, a throwaway sshd and ssh with
the real provider, all on 127.0.0.1. The phone reaches the relay through
a recording proxy, as anyone on its network path (or a curious relay
operator) could: the proxy keeps every frame the phone sends. The cases
then attack with what was recorded and with what anyone who learned the
mailbox id can send, and check each time that a real login still works:

- replayed_listen: the phone's recorded LISTEN and PROVE, sent again on a
  new connection, are refused (close 4006); the phone keeps its mailbox
  and was not disturbed; ssh still logs in.
- silent_squatters: another address opens every CALL it may to the
  mailbox and sends nothing; the relay refuses it past its share (END
  4029), the phone hangs up the silent calls, and ssh still logs in.
"""

import os
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "relay"))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check, SSH_KEYGEN  # noqa: E402,F401
import relay_test as RT  # noqa: E402  (RawWS and the frame constants)


class RecordingProxy:
    """TCP proxy to the relay that forwards everything untouched and
    keeps the binary websocket messages the client sends, unmasked."""

    def __init__(self, relay_port):
        self.relay_port = relay_port
        self.sent = []
        self.lock = threading.Lock()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stop:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                continue
            try:
                s = socket.create_connection(("127.0.0.1",
                                              self.relay_port), 2)
            except OSError:
                c.close()
                continue
            s.settimeout(None)
            c.settimeout(None)
            threading.Thread(target=self.pump, args=(c, s, True),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(s, c, False),
                             daemon=True).start()

    def pump(self, src, dst, record):
        buf = b""
        upgraded = False
        msg = b""
        try:
            while not self.stop:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if not record:
                    continue
                buf += data
                if not upgraded:
                    i = buf.find(b"\r\n\r\n")
                    if i < 0:
                        continue
                    buf = buf[i + 4:]
                    upgraded = True
                buf, msg = self.frames(buf, msg)
        except OSError:
            pass
        finally:
            for x in (src, dst):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def frames(self, buf, msg):
        """Unmask every whole client frame; keep whole binary messages."""
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            hl = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack(">H", buf[2:4])[0]
                hl = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack(">Q", buf[2:10])[0]
                hl = 10
            masked = b1 & 0x80
            ml = 4 if masked else 0
            if len(buf) < hl + ml + n:
                break
            mask = buf[hl:hl + ml]
            body = buf[hl + ml:hl + ml + n]
            if masked:
                body = bytes(b ^ mask[i % 4] for i, b in enumerate(body))
            buf = buf[hl + ml + n:]
            op = b0 & 0x0F
            if op in (0, 2):
                msg += body
                if b0 & 0x80:
                    with self.lock:
                        self.sent.append(msg)
                    msg = b""
        return buf, msg

    def first(self, kind):
        with self.lock:
            for m in self.sent:
                if m and m[0] == kind:
                    return m
        return None


K = None
T = Tap()


def login_ok(what):
    ok, err, _ = K.login(K.key)
    check(ok, "%s: the login failed" % what, err + "\n-- phone --\n" +
          K.log("phone")[-1500:])


@T.case
def setup_key():
    """Enroll a key on the phone (through the recording proxy) and log
    in with it once; the proxy saw the phone's LISTEN and PROVE."""
    rc, out, err, _ = K.keygen("hkey")
    check(rc == 0, "ssh-keygen -t ecdsa-sk failed", out + err)
    K.key = K.path("hkey")
    K.authorize(K.key + ".pub")
    login_ok("first login")
    check(K.proxy.first(RT.LISTEN) is not None, "no LISTEN recorded")
    check(K.proxy.first(RT.PROVE) is not None, "no PROVE recorded")


@T.case
def replayed_listen():
    listen = K.proxy.first(RT.LISTEN)
    prove = K.proxy.first(RT.PROVE)
    check(len(listen) == 5 + 32 + 65 and len(prove) == 5 + 64,
          "recorded frames of %d and %d bytes" % (len(listen), len(prove)))
    K.mbid = listen[5:37]
    before = K.log("phone")
    for _ in range(2):
        x = RT.RawWS(K.relay_port)
        x.send(listen)
        _, nonce = x.expect(RT.CHALLENGE, 0)
        check(len(nonce) == 32, "challenge of %d bytes" % len(nonce))
        x.send(prove)
        x.expect_close(4006)
    time.sleep(0.3)
    log = K.log("phone")[len(before):]
    check("WARNING" not in log and "replaced" not in log and
          "listening" not in log,
          "the phone was disturbed by the replay", log[-1500:])
    check(K.phone.poll() is None, "the phone stopped")
    login_ok("login after the replayed LISTEN")


@T.case
def silent_squatters():
    """Another address (127.0.0.2) squats the mailbox with silent CALLs:
    half of --max-calls (16) from one address, the rest refused; the
    phone hangs them up; a real login from 127.0.0.1 goes through."""
    squat = []
    refused = 0
    for conn in range(3):
        w = RT.RawWS(K.relay_port, source="127.0.0.2")
        w.held = 0
        squat.append(w)
        for ch in range(1, 9):
            w.send(RT.hdr(RT.CALL, ch) + K.mbid + struct.pack(">I", 60000))
            r = w.recv(3.0)
            check(r[0] == "bin", "no answer to a CALL: %r" % (r,))
            kind = r[1][0]
            if kind == RT.ONLINE:
                w.held += 1
            else:
                check(kind == RT.END, "unexpected frame %r" % r[1][:8])
                code = struct.unpack(">H", r[1][5:7])[0]
                check(code == 4029, "squatter refused with %d" % code)
                refused += 1
    held = sum(w.held for w in squat)
    check(held == 16 and refused == 8,
          "one address held %d calls (%d refused); want 16 and 8" %
          (held, refused))
    login_ok("login while the squatters hold their calls")
    # The phone hangs up calls that bring no message (its default is
    # 5 s): each squatter learns it with END 4025 on every held call.
    ended = 0
    deadline = time.monotonic() + 15
    for w in squat:
        mine = 0
        while mine < w.held and time.monotonic() < deadline:
            r = w.recv(max(0.1, deadline - time.monotonic()))
            if r[0] != "bin":
                break
            if r[1][0] == RT.END and \
                    struct.unpack(">H", r[1][5:7])[0] == 4025:
                mine += 1
        ended += mine
    check(ended == held, "the phone hung up %d of %d silent calls" %
          (ended, held))
    # The phone queues the hang-ups before it writes that line: the last
    # END can arrive first, so wait for the line (bounded).
    deadline = time.monotonic() + 5
    while "calls that sent nothing" not in K.log("phone") and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    check("calls that sent nothing" in K.log("phone"),
          "the phone did not say it hung up silent calls",
          K.log("phone")[-1000:])


def main():
    global K
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    K = Kit(sys.argv[1], name="hostile")
    K.start_relay()
    K.start_sshd()
    K.pair()
    K.proxy = RecordingProxy(K.relay_port)
    # The phone's own relay setting is the direct URL; it listens through
    # the recording proxy instead.
    argv_relay = ["--relay", "ws://127.0.0.1:%d" % K.proxy.port]
    orig = K.phone_argv
    K.phone_argv = lambda *a: orig(*a) + (argv_relay if a and a[0] == "run"
                                          else [])
    K.start_phone(approve="always", pin=None)
    try:
        return T.run(sys.argv[2:])
    finally:
        K.proxy.stop = True


if __name__ == "__main__":
    sys.exit(main())
