# bench/wan: round trips to the relay on the critical path of a signature.
"""usage: run.py BUILD_DIR [RUNS] [DELAY_MS] [ws|wss|wss12 ...]

Times the whole `ssh-keygen -Y sign` process through libsk-phone.so, the
real relay and the reference phone (auto-approving), with two forwarders
on 127.0.0.1 (part of this script): one between the computer and the
relay, one between the phone and the relay. A forwarder holds every chunk
it reads DELAY_MS (default 40) before it writes it on, each way, as a slow
network would; it does not slow the TCP handshake itself (the kernel
answers that before the forwarder sees the connection), so a new TCP
connection's own round trip is not counted.

For each transport (ws://, and wss:// with a throwaway CA and relay
certificate; wss12: wss:// with a relay whose OpenSSL is limited to TLS
1.2 through OPENSSL_CONF, to compare; not run unless named) and each leg
(computer-relay delayed, or phone-relay delayed), cold and warm:

  cold   the computer holds nothing: no connection keeper running, no
         saved TLS session (removed before each run)
  warm   right after another signature (a keeper, when there is one,
         holds its connection; a saved TLS session is there)

each directly (SK_PHONE_KEEPER=off) and, when the test kit runs one,
through the connection keeper (`sk-phone keeper`, started on demand), it
prints, from the medians of RUNS runs (default 7) with and without
the delay, interleaved:

  round trips = (time with the delay - time without) / (2 * DELAY_MS)

and the floor: the time without delay, and the least the protocol needs
(1 round trip on each leg: the request to the phone and its answer).
It never fails on time: the targets (warm <= 1.3, cold <= 2 on ws:// and
<= 3 on wss://, computer leg) are printed for people to read.
"""

import asyncio
import glob
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "e2e"))
import skpe2e  # noqa: E402
from skpe2e import Kit, SSH_KEYGEN  # noqa: E402

TARGETS = {("ws", "warm"): 1.3, ("wss", "warm"): 1.3,
           ("ws", "cold"): 2.0, ("wss", "cold"): 3.0,
           ("wss12", "warm"): 1.3, ("wss12", "cold"): 3.0}


class Forwarder:
    """127.0.0.1:port -> 127.0.0.1:upstream, every chunk held `delay'
    seconds each way (read at once, written when due, in order)."""

    def __init__(self, loop, upstream):
        self.loop = loop
        self.upstream = upstream
        self.delay = 0.0
        self.conns = set()
        fut = asyncio.run_coroutine_threadsafe(self._listen(), loop)
        self.server = fut.result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _listen(self):
        return await asyncio.start_server(self._conn, "127.0.0.1", 0)

    async def _pump(self, reader, writer):
        q = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await q.get()
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                q.put_nowait((self.loop.time() + self.delay, data or None))
                if not data:
                    break
            await task
        except (ConnectionError, OSError):
            task.cancel()
        finally:
            writer.close()

    async def _conn(self, creader, cwriter):
        try:
            ureader, uwriter = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.upstream), 10)
        except (OSError, asyncio.TimeoutError):
            cwriter.close()
            return
        for w in (cwriter, uwriter):
            s = w.get_extra_info("socket")
            if s is not None:
                s.setsockopt(6, 1, 1)  # TCP_NODELAY
        t = asyncio.gather(self._pump(creader, uwriter),
                           self._pump(ureader, cwriter),
                           return_exceptions=True)
        self.conns.add(t)
        try:
            await asyncio.wait_for(t, 120)
        except asyncio.TimeoutError:
            pass
        finally:
            self.conns.discard(t)
            cwriter.close()
            uwriter.close()


class World:
    """A relay (ws or wss), its two forwarders, a computer paired through
    the first and a phone listening through the second, and a key."""

    def __init__(self, kit, loop, name):
        self.kit = kit
        self.name = name
        self.path = "direct"
        tls = name != "ws"
        self.state = kit.path("computer-" + self.name)
        os.mkdir(self.state, 0o700)
        self.run = kit.path("run-" + self.name)
        os.mkdir(self.run, 0o700)
        extra = ()
        self.ca = None
        if tls:
            self.ca, ca_key = kit.tls_ca("ca-" + self.name)
            crt, key = kit.tls_cert(self.ca, ca_key, "relay-" + self.name)
            extra = ("--tls-cert", crt, "--tls-key", key)
        env = None
        if name == "wss12":
            # The relay's OpenSSL speaks TLS 1.2 at most.
            conf = kit.path("tls12.cnf")
            with open(conf, "w") as f:
                f.write("openssl_conf = init\n[init]\nssl_conf = ssl\n"
                        "[ssl]\nsystem_default = sys\n"
                        "[sys]\nMaxProtocol = TLSv1.2\n")
            env = kit.env(OPENSSL_CONF=conf)
        port = skpe2e.free_port()
        self.relay = kit.spawn("relay-" + self.name,
                               [kit.relay_bin, "--listen",
                                "127.0.0.1:%d" % port, *extra], env=env)
        skpe2e.wait_port(port, self.relay)
        self.fc = Forwarder(loop, port)
        self.fp = Forwarder(loop, port)
        scheme = "wss" if tls else "ws"
        curl = "%s://127.0.0.1:%d" % (scheme, self.fc.port)
        purl = "%s://127.0.0.1:%d" % (scheme, self.fp.port)
        ca = ("--ca", self.ca) if tls else ()
        kit.relay_url = curl
        kit.pair(phone_name="phone-" + self.name, extra=ca,
                 phone_extra=ca, env=self.env())
        # The computer calls where it paired (the first forwarder); the
        # phone listens through the second.
        kit.start_phone(approve="always", pin=None,
                        name="phone-" + self.name, extra=("--relay", purl))
        self.key = kit.path("key-" + self.name)
        rc, out, err, _ = kit.run([SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                                   kit.provider, "-N", "", "-f", self.key],
                                  env=self.env())
        if rc != 0:
            raise RuntimeError("ssh-keygen: " + out + err)
        self.msg = kit.path("message")

    def env(self):
        e = self.kit.env(SK_PHONE_DIR=self.state, XDG_RUNTIME_DIR=self.run,
                         SSH_SK_PROVIDER=self.kit.provider)
        if self.path == "direct":
            e["SK_PHONE_KEEPER"] = "off"
        return e

    def make_cold(self):
        """Nothing held: the keeper (if one runs for this world) stopped,
        saved TLS sessions removed."""
        pids = keeper_pids(self.run)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + 3
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if os.path.exists("/proc/%d" % p) and
                    not zombie(p)]
            time.sleep(0.01)
        for f in glob.glob(os.path.join(self.state, "tls-sessions")):
            os.unlink(f)

    def sign(self):
        if os.path.exists(self.msg + ".sig"):
            os.unlink(self.msg + ".sig")
        t0 = time.perf_counter()
        p = subprocess.run([SSH_KEYGEN, "-Y", "sign", "-f", self.key, "-n",
                            "file", self.msg], env=self.env(),
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=60)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("ssh-keygen -Y sign (%s) failed: %s" %
                               (self.name, p.stderr.decode()))
        return dt


def keeper_pids(run):
    """Processes with XDG_RUNTIME_DIR=run in their environment (a keeper
    the provider started for this world), found through /proc."""
    want = ("XDG_RUNTIME_DIR=" + run).encode()
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/environ", "rb") as f:
                if want in f.read().split(b"\0"):
                    pids.append(int(d[6:]))
        except OSError:
            pass
    return [p for p in pids if p != os.getpid()]


def zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def main():
    build = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    delay_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
    ways = sys.argv[4:] or ["ws", "wss"]
    if any(w not in ("ws", "wss", "wss12") for w in ways):
        sys.exit(__doc__)
    base = os.environ.get("SKP_BENCH_TMP")
    if base is None and os.path.isdir("/dev/shm"):
        base = "/dev/shm"
    loop = asyncio.new_event_loop()
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    kit = Kit(build, "bench-wan", base=base)
    try:
        with open(kit.path("message"), "wb") as f:
            f.write(os.urandom(4096))
        worlds = [World(kit, loop, w) for w in ways]
        d = delay_ms / 1000.0
        # Through the connection keeper when the kit starts one (every
        # test's default), and directly (SK_PHONE_KEEPER=off).
        paths = ["direct"]
        if getattr(kit, "keeper", None):
            paths.append("keeper")
        # conditions: (path, leg delayed, temperature)
        conds = [(path, leg, temp) for path in paths
                 for temp in ("cold", "warm")
                 for leg in ("none", "computer", "phone")]
        times = {(w.name, c): [] for w in worlds for c in conds}
        for i in range(runs + 1):
            for w in worlds:
                for path, leg, temp in conds:
                    w.path = path
                    w.fc.delay = d if leg == "computer" else 0.0
                    w.fp.delay = d if leg == "phone" else 0.0
                    if temp == "cold":
                        w.make_cold()
                        time.sleep(0.05)
                    else:
                        w.sign()
                    dt = w.sign()
                    if i > 0:
                        times[(w.name, (path, leg, temp))].append(dt)
        print("bench/wan: ssh-keygen -Y sign, whole process, %d runs each, "
              "%g ms each way on the delayed leg (%d cores)" %
              (runs, delay_ms, os.cpu_count() or 0))
        print("  the floor: 1 round trip on each leg (the request to the "
              "phone and its answer); loopback times below")
        for w in worlds:
            for path in paths:
                for temp in ("cold", "warm"):
                    report(times, w.name, path, temp, d)
    finally:
        for w in locals().get("worlds", []):
            w.make_cold()
        kit.close()
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        th.join(10)
        loop.close()
    return 0


def report(times, name, path, temp, d):
    """The lines of one transport, path and temperature."""
    legs = ("none", "computer", "phone")
    med = {leg: statistics.median(times[(name, (path, leg, temp))])
           for leg in legs}
    print("  %-5s %-6s %s: no delay %7.2f ms" %
          (name, path, temp, med["none"] * 1e3))
    for leg in legs[1:]:
        rt = (med[leg] - med["none"]) / (2 * d)
        t = sorted(times[(name, (path, leg, temp))])
        tgt = ""
        if leg == "computer":
            tgt = "  (target <= %.1f)" % TARGETS[(name, temp)]
        print("      %-8s leg delayed: %8.2f ms (%.2f .. %.2f)"
              "  round trips %.2f%s" %
              (leg, med[leg] * 1e3, t[0] * 1e3, t[-1] * 1e3, rt, tgt))


async def shutdown():
    """Every forwarder's connection ended, in the loop's own thread."""
    # What the cancelled connections leave unread is of no interest.
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    sys.exit(main())
