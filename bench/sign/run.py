# bench/sign: whole-process `ssh-keygen -Y sign` three ways, as ratios.
"""usage: run.py BUILD_DIR [RUNS]

Times the whole `ssh-keygen -Y sign` process, RUNS times each (default 30,
after 3 warm-up runs), interleaved so that machine noise hits all three
alike:

  file     an ordinary ecdsa key file (no provider at all)
  floor    an ecdsa-sk key through bench/sign/libsoftsk.so, a provider
           that signs in-process at once: what ssh-sk-helper and OpenSSH
           cost around any provider
  phone    an ecdsa-sk key through libsk-phone.so, a loopback relay and an
           auto-approving reference phone

Prints the median and quartiles of each and the ratios. It never fails on
time: the target (phone <= 1.3 x floor) is for people to read.
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


def timed(kit, argv, env):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv),
                                              p.stderr.decode()))
    return dt


def main():
    build = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    # Both ways through the phone count against its replay cache: 256
    # request ids per computer kept 10 minutes (PROTOCOL.md §8.3).
    if runs > 120:
        print("run.py: at most 120 runs (the phone refuses more than 256 "
              "requests from one computer in 10 minutes; both ways go "
              "through it)", file=sys.stderr)
        return 2
    # Everything, the phone's state folder included, in memory when the
    # machine has /dev/shm: the phone syncs its replay list and counters
    # to disk before it answers, and a disk's fsync latency (milliseconds
    # on a VM) would drown what this measures. SKP_BENCH_TMP overrides.
    base = os.environ.get("SKP_BENCH_TMP")
    if base is None and os.path.isdir("/dev/shm"):
        base = "/dev/shm"
    kit = Kit(build, "bench-sign", base=base)
    try:
        softsk = os.path.join(build, "bench", "sign", "libsoftsk.so")
        msg = kit.path("message")
        with open(msg, "wb") as f:
            f.write(os.urandom(4096))
        env = kit.env()
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ecdsa", "-N", "", "-f",
                        kit.path("file")], env=env, check=True,
                       timeout=60)
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w", softsk,
                        "-N", "", "-f", kit.path("floor")], env=env,
                       check=True, timeout=60, stdin=subprocess.DEVNULL,
                       capture_output=True)
        kit.start_relay()
        kit.pair()
        kit.start_phone(approve="always", pin=None)
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                        kit.provider, "-N", "", "-f", kit.path("phone")],
                       env=env, check=True, timeout=60,
                       stdin=subprocess.DEVNULL, capture_output=True)
        # phone: through the connection keeper (the default); direct:
        # SK_PHONE_KEEPER=off, a new relay connection per signature.
        ways = {
            "file": (kit.path("file"), None, None),
            "floor": (kit.path("floor"), softsk, None),
            "phone": (kit.path("phone"), kit.provider, None),
            "direct": (kit.path("phone"), kit.provider, "off"),
        }
        times = {w: [] for w in ways}
        for i in range(runs + 3):
            for w, (key, provider, keeper) in ways.items():
                e = kit.env(SSH_SK_PROVIDER=provider)
                if keeper is not None:
                    e["SK_PHONE_KEEPER"] = keeper
                if os.path.exists(msg + ".sig"):
                    os.unlink(msg + ".sig")
                dt = timed(kit, [SSH_KEYGEN, "-Y", "sign", "-f", key,
                                 "-n", "file", msg], e)
                if i >= 3:
                    times[w].append(dt)
        print("ssh-keygen -Y sign, whole process, %d runs each "
              "(%d cores)" % (runs, os.cpu_count() or 0))
        med = {}
        for w in ways:
            t = sorted(times[w])
            q = statistics.quantiles(t, n=4)
            med[w] = statistics.median(t)
            print("  %-6s median %7.2f ms   quartiles %7.2f .. %7.2f ms" %
                  (w, med[w] * 1e3, q[0] * 1e3, q[2] * 1e3))
        print("  floor / file  %.2fx" % (med["floor"] / med["file"]))
        print("  phone / floor %.2fx  (target <= 1.30x)" %
              (med["phone"] / med["floor"]))
        print("  phone / file  %.2fx" % (med["phone"] / med["file"]))
        print("  direct / floor %.2fx  (no keeper)" %
              (med["direct"] / med["floor"]))
    finally:
        kit.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
