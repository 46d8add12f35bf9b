# The connection keeper's own cost (issue 14): memory and CPU idle, CPU
# per call, and the signing processes' CPU with and without it.
"""usage: run.py BUILD_DIR [CALLS [IDLE_SECONDS]]

A relay on 127.0.0.1, an auto-approving reference phone, and `ssh-keygen
-Y sign` with libsk-phone.so, everything in /dev/shm when there is one
(as bench/sign). Prints the keeper's RSS and PSS after its first calls,
its CPU over IDLE_SECONDS of idleness (default 60), its CPU per call over
CALLS signatures (default 100; from /proc/PID/schedstat, in ns), and
the CPU of ssh-keygen and ssh-sk-helper per signature, through the
keeper and direct (SK_PHONE_KEEPER=off), interleaved. CPU, not wall
time: wall time over a slow network is bench/wan's.
"""

import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "test", "e2e"))
from skpe2e import Kit, SSH_KEYGEN, alive  # noqa: E402


def cpu_s(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e9


def mem_kb(pid):
    out = {}
    for path in ("/proc/%d/status" % pid, "/proc/%d/smaps_rollup" % pid):
        try:
            with open(path) as f:
                for line in f:
                    k = line.split(":")[0]
                    if k in ("VmRSS", "VmHWM", "Pss"):
                        out[k] = int(line.split()[1])
        except OSError:
            pass
    return out


def main():
    build = os.path.abspath(sys.argv[1])
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    idle = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    base = os.environ.get("SKP_BENCH_TMP")
    if base is None and os.path.isdir("/dev/shm"):
        base = "/dev/shm"
    kit = Kit(build, "bench-keeper", base=base)
    try:
        kit.start_relay()
        kit.pair()
        kit.start_phone(approve="always", pin=None)
        rc, out, err, _ = kit.keygen("key")
        if rc != 0:
            raise RuntimeError(err)
        msg = kit.path("message")
        with open(msg, "wb") as f:
            f.write(os.urandom(4096))
        cpu = {"keeper": [], "direct": []}

        def sign(way):
            env = kit.env(SSH_SK_PROVIDER=kit.provider)
            if way == "direct":
                env["SK_PHONE_KEEPER"] = "off"
            if os.path.exists(msg + ".sig"):
                os.unlink(msg + ".sig")
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            rc, out, err, _ = kit.run([SSH_KEYGEN, "-Y", "sign", "-f",
                                       kit.path("key"), "-n", "file", msg],
                                      env=env)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if rc != 0:
                raise RuntimeError(err)
            cpu[way].append(r1.ru_utime + r1.ru_stime - r0.ru_utime -
                            r0.ru_stime)

        sign("keeper")
        sign("keeper")
        pid = [p for p in kit.keepers() if alive(p)][0]
        m = mem_kb(pid)
        print("keeper after 2 calls: RSS %d kB (peak %d kB), PSS %d kB" %
              (m.get("VmRSS", 0), m.get("VmHWM", 0), m.get("Pss", 0)))
        c0, t0 = cpu_s(pid), time.monotonic()
        time.sleep(idle)
        c1, t1 = cpu_s(pid), time.monotonic()
        print("keeper idle %.0f s: CPU %.2f ms (%.4f %% of a core)" %
              (t1 - t0, (c1 - c0) * 1e3, 100 * (c1 - c0) / (t1 - t0)))
        c0 = cpu_s(pid)
        for w in cpu:
            cpu[w].clear()
        for i in range(calls):
            sign("keeper")
        c1 = cpu_s(pid)
        m = mem_kb(pid)
        print("keeper, %d calls: CPU %.3f ms per call; RSS %d kB (peak "
              "%d kB)" % (calls, (c1 - c0) * 1e3 / calls, m.get("VmRSS", 0),
                          m.get("VmHWM", 0)))
        for w in cpu:
            cpu[w].clear()
        for i in range(calls // 2):
            sign("keeper")
            sign("direct")
        for w in ("keeper", "direct"):
            print("ssh-keygen + ssh-sk-helper CPU per signature, %-6s: "
                  "median %.2f ms" % (w, statistics.median(cpu[w]) * 1e3))
    finally:
        kit.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
