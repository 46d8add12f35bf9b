# bench/web: time per signature, the web phone in headless Chromium
# against the reference phone, as medians and their ratio.
"""usage: run.py BUILD_DIR PAGE_DIR [RUNS]

Times the whole `ssh-keygen -Y sign -n file` process (a 4 KiB file),
RUNS times each (default 30, after 3 warm-up runs), the two ways
interleaved so that machine noise hits both alike:

  reference  an ecdsa-sk key on sk-phone-authenticator (--approve always)
  web        an ecdsa-sk key on the web phone (PAGE_DIR served by
             sk-phone-relay --web) in headless Chromium
             (test/web/driver.mjs), its computer window open for the
             namespace 'file' (PROTOCOL.md 8.6): the first signature is
             answered "allow this computer", the others are signed with
             no question, as the reference phone signs them

Each way has its own relay on 127.0.0.1 and its own computer state.
Prints the median and quartiles of each and the ratio. It never fails on
time: the target (web <= 1.5 x reference) is for people to read.
"""

import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "e2e"))
import skpe2e  # noqa: E402
from skpe2e import Kit, SSH_KEYGEN  # noqa: E402
from webphone import WebPhone, pair_web  # noqa: E402


def timed(argv, env):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv),
                                              p.stderr.decode()))
    return dt


def in_page(frames):
    """The page's own time for one request: from the first frame it
    received (the relay's CALL with message 1) to the first it sent
    after it (message 2, the answer); None when there is no such pair."""
    first = next((f["t"] for f in frames if f["dir"] == "in"), None)
    if first is None:
        return None
    out = next((f["t"] for f in frames if f["dir"] == "out" and
                f["t"] >= first), None)
    return None if out is None else out - first


def answered(w, p, choice):
    """The page's question for the background tool p, answered."""
    card = w.request(timeout=30)
    w.answer(choice)
    out, err = p.communicate(timeout=60)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (card["op"], err.decode()))
    return card


def main():
    build = os.path.abspath(sys.argv[1])
    page = os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    # In memory, as bench/sign does (the reference phone syncs its state
    # files before it answers; IndexedDB's writes are Chromium's own).
    base = os.environ.get("SKP_BENCH_TMP")
    if base is None and os.path.isdir("/dev/shm"):
        base = "/dev/shm"
    kit = Kit(build, "bench-web", base=base)
    w = None
    try:
        msg = kit.path("message")
        with open(msg, "wb") as f:
            f.write(os.urandom(4096))
        # The reference phone.
        kit.start_relay()
        kit.pair()
        kit.start_phone(approve="always", pin=None)
        ref_env = kit.env()
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                        kit.provider, "-N", "", "-f", kit.path("ref")],
                       env=ref_env, check=True, timeout=60,
                       stdin=subprocess.DEVNULL, capture_output=True)
        # The web phone: its own relay serving the page, its own computer.
        port = skpe2e.free_port()
        relay = kit.spawn("relay-web", [kit.relay_bin, "--listen",
                                        "127.0.0.1:%d" % port, "--web",
                                        page])
        skpe2e.wait_port(port, relay)
        kit.relay_url = "ws://127.0.0.1:%d" % port
        web_state = kit.path("computer-web")
        os.mkdir(web_state, 0o700)
        kit.state = web_state
        web_env = kit.env(SK_PHONE_DIR=web_state)
        # Chromium's profile (its IndexedDB) in memory too.
        w = WebPhone(kit, env={"TMPDIR": base} if base else None)
        w.open("http://127.0.0.1:%d/" % port)
        w.setup("bench")
        w.status("online")
        pair_web(kit, w, "benchbox")
        p = subprocess.Popen([SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                              kit.provider, "-N", "", "-f",
                              kit.path("web")], env=web_env,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        answered(w, p, "once")
        sign = [SSH_KEYGEN, "-Y", "sign", "-n", "file", "-f"]
        p = subprocess.Popen(sign + [kit.path("web"), msg],
                             env=dict(web_env, SSH_SK_PROVIDER=kit.provider),
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        answered(w, p, "window")
        ways = {
            "reference": (kit.path("ref"), ref_env),
            "web": (kit.path("web"), web_env),
        }
        times = {x: [] for x in ways}
        inside = []
        w.frames()
        for i in range(runs + 3):
            for x, (key, env) in ways.items():
                if os.path.exists(msg + ".sig"):
                    os.unlink(msg + ".sig")
                dt = timed(sign + [key, msg],
                           dict(env, SSH_SK_PROVIDER=kit.provider))
                if x == "web":
                    f = w.frames()
                    t = in_page(f)
                    if i >= 3 and t is not None:
                        inside.append(t)
                if i >= 3:
                    times[x].append(dt)
        print("ssh-keygen -Y sign, whole process, %d runs each (%d cores, "
              "Chromium %s)" % (runs, os.cpu_count() or 0, w.chromium))
        med = {}
        for x in ways:
            t = sorted(times[x])
            q = statistics.quantiles(t, n=4)
            med[x] = statistics.median(t)
            print("  %-9s median %7.2f ms   quartiles %7.2f .. %7.2f ms" %
                  (x, med[x] * 1e3, q[0] * 1e3, q[2] * 1e3))
        print("  web / reference %.2fx  (target <= 1.50x)" %
              (med["web"] / med["reference"]))
        if inside:
            q = statistics.quantiles(sorted(inside), n=4)
            print("  in the page: request in to answer out, median %.2f ms"
                  "   quartiles %.2f .. %.2f ms (Chromium's websocket "
                  "frame times, %d requests)" % (
                      statistics.median(inside) * 1e3, q[0] * 1e3,
                      q[2] * 1e3, len(inside)))
    finally:
        if w is not None:
            w.close()
        kit.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
