# bench/web: time per signature, the web phone in headless Chromium
# against the reference phone, as medians and their ratio.
"""usage: run.py BUILD_DIR PAGE_DIR [RUNS] [OTHER_PAGE_DIR ...]

Times the whole `ssh-keygen -Y sign -n file` process (a 4 KiB file),
RUNS times each (default 30, after 3 warm-up runs), the ways
interleaved (reference, web, reference, web, ...) so that machine noise
hits them alike:

  reference  an ecdsa-sk key on sk-phone-authenticator (--approve always)
  web        an ecdsa-sk key on the web phone (PAGE_DIR served by
             sk-phone-relay --web) in headless Chromium
             (test/web/driver.mjs), its computer window open for the
             namespace 'file' (PROTOCOL.md 8.6): the first signature is
             answered "allow this computer", the others are signed with
             no question, as the reference phone signs them

Each OTHER_PAGE_DIR (another build of the page, say the one before a
change: `node web/build.mjs DIR` in that tree) is one more way, "web2",
"web3", ..., with its own relay, its own phone in the same Chromium and
its own computer, in the same rotation: then "before" and "after" are
compared under the same load.

Each way has its own relay on 127.0.0.1 and its own computer state.
Prints the median and quartiles of each and the ratio of each web way to
the reference, and, from the page's own performance marks (web/src/app/
controller.js, SKP_MARKS), the median time of each step of a request in
the page. It never fails on time: the target (web <= 1.5 x reference)
is for people to read.
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


def marks(w, phone, on=False):
    """The steps of the last request in the page, {step: ms since the
    step before} from its SKP_MARKS (empty from a page without them);
    on=True turns the marks on."""
    if on:
        w.eval("(window.SKP_MARKS = [], 0)", phone=phone)
        return {}
    m = w.eval("(() => { const m = window.SKP_MARKS || []; "
               "window.SKP_MARKS = []; return m; })()", phone=phone) or []
    out = {}
    for (_, t0), (name, t1) in zip(m, m[1:]):
        out[name] = out.get(name, 0.0) + (t1 - t0)
    return out


def answered(w, p, choice, phone="a"):
    """The page's question for the background tool p, answered."""
    card = w.request(timeout=30, phone=phone)
    w.answer(choice, phone=phone)
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
        sign = [SSH_KEYGEN, "-Y", "sign", "-n", "file", "-f"]
        ways = {"reference": (kit.path("ref"), ref_env, None)}
        pages = [page] + [os.path.abspath(x) for x in sys.argv[4:]]
        # Chromium's profile (its IndexedDB) in memory too.
        w = WebPhone(kit, env={"TMPDIR": base} if base else None)
        for n, dirname in enumerate(pages, 1):
            way = "web" if n == 1 else "web%d" % n
            ph = chr(ord("a") + n - 1)
            # The web phone: its own relay serving the page, its own
            # computer.
            port = skpe2e.free_port()
            relay = kit.spawn("relay-" + way, [kit.relay_bin, "--listen",
                                               "127.0.0.1:%d" % port,
                                               "--web", dirname])
            skpe2e.wait_port(port, relay)
            kit.relay_url = "ws://127.0.0.1:%d" % port
            web_state = kit.path("computer-" + way)
            os.mkdir(web_state, 0o700)
            kit.state = web_state
            web_env = kit.env(SK_PHONE_DIR=web_state)
            w.open("http://127.0.0.1:%d/" % port, phone=ph)
            w.setup("bench", phone=ph)
            w.status("online", phone=ph)
            pair_web(kit, w, "benchbox%d" % n, phone=ph, tag=way)
            key = kit.path(way)
            p = subprocess.Popen([SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                                  kit.provider, "-N", "", "-f", key],
                                 env=web_env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            answered(w, p, "once", ph)
            p = subprocess.Popen(sign + [key, msg],
                                 env=dict(web_env,
                                          SSH_SK_PROVIDER=kit.provider),
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            answered(w, p, "window", ph)
            ways[way] = (key, web_env, ph)
        times = {x: [] for x in ways}
        inside = {x: [] for x in ways}
        steps = {x: {} for x in ways}
        for x, (_, _, ph) in ways.items():
            if ph is not None:
                w.frames(phone=ph)
                marks(w, ph, on=True)
        for i in range(runs + 3):
            for x, (key, env, ph) in ways.items():
                if os.path.exists(msg + ".sig"):
                    os.unlink(msg + ".sig")
                dt = timed(sign + [key, msg],
                           dict(env, SSH_SK_PROVIDER=kit.provider))
                if ph is None:
                    if i >= 3:
                        times[x].append(dt)
                    continue
                t = in_page(w.frames(phone=ph))
                m = marks(w, ph)
                if i < 3:
                    continue
                times[x].append(dt)
                if t is not None:
                    inside[x].append(t)
                for name, ms in m.items():
                    steps[x].setdefault(name, []).append(ms)
        print("ssh-keygen -Y sign, whole process, %d runs each (%d cores, "
              "Chromium %s)" % (runs, os.cpu_count() or 0, w.chromium))
        if len(pages) > 1:
            for n, dirname in enumerate(pages, 1):
                print("  %-9s page %s" % ("web" if n == 1 else "web%d" % n,
                                          dirname))
        med = {}
        for x in ways:
            t = sorted(times[x])
            q = statistics.quantiles(t, n=4)
            med[x] = statistics.median(t)
            print("  %-9s median %7.2f ms   quartiles %7.2f .. %7.2f ms" %
                  (x, med[x] * 1e3, q[0] * 1e3, q[2] * 1e3))
        for x in ways:
            if x == "reference":
                continue
            print("  %s / reference %.2fx  (target <= 1.50x)" %
                  (x, med[x] / med["reference"]))
        for x in ways:
            if not inside[x]:
                continue
            q = statistics.quantiles(sorted(inside[x]), n=4)
            print("  %s in the page: request in to answer out, median %.2f "
                  "ms   quartiles %.2f .. %.2f ms (Chromium's websocket "
                  "frame times, %d requests)" % (
                      x, statistics.median(inside[x]) * 1e3, q[0] * 1e3,
                      q[2] * 1e3, len(inside[x])))
            if steps[x]:
                print("    steps (the page's marks, median ms from the "
                      "previous): " + ", ".join(
                          "%s %.2f" % (k, statistics.median(v))
                          for k, v in steps[x].items()))
    finally:
        if w is not None:
            w.close()
        kit.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
