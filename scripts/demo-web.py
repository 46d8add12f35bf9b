# The demo with the web phone: `sh scripts/demo.sh --web` runs this.
"""usage: demo-web.py BUILD_DIR PAGE_DIR SHOTS_DIR

On 127.0.0.1, in a temporary folder: sk-phone-relay serving the web phone
(PAGE_DIR), the page in headless Chromium as a phone (390 x 844, touch;
test/web/driver.mjs), pairing from the URL of sk-phone pair's QR code,
a key made with the real ssh-keygen, a real ssh login to a throwaway sshd
through sk-phone proxy, a file signed with ssh-keygen -Y sign and
verified; each question answered by a tap on the page's request card.
Screenshots of each screen go to SHOTS_DIR; everything else is removed.
Your own ~/.ssh and sk-phone state are not touched.
"""

import os
import re
import subprocess
import sys
import textwrap

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "test", "e2e"))
import skpe2e  # noqa: E402
from skpe2e import Kit, SSH, SSH_KEYGEN  # noqa: E402
from webphone import WebPhone, start_pair, finish_pair  # noqa: E402


def say(line=""):
    print(line, flush=True)


def indent(text):
    for line in text.rstrip("\n").splitlines():
        say("    " + line)


def bg(kit, argv, env):
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=kit.tmp, start_new_session=True)


def tap_card(w, p, choice, shot):
    """The page's request card for p: shown, screenshot, tapped."""
    card = w.request(timeout=30)
    w.screenshot(shot)
    what = re.sub(r"^From \S+ \d+ s left ", "", card["text"])
    say("    the phone asks: %s" % textwrap.shorten(what, 150))
    say("    tap: %s   (screenshot %s)" % (
        {"once": "Allow once", "window": "Allow this computer"}[choice],
        shot))
    w.answer(choice)
    out, err = p.communicate(timeout=60)
    if p.returncode != 0:
        raise RuntimeError(err.decode("utf-8", "replace"))
    return out.decode("utf-8", "replace")


def main():
    build, page, shots = (os.path.abspath(a) for a in sys.argv[1:4])
    os.makedirs(shots, exist_ok=True)
    kit = Kit(build, "demo-web")
    w = None
    try:
        say("==> sk-phone-relay on 127.0.0.1, serving the web phone")
        port = skpe2e.free_port()
        relay = kit.spawn("relay", [kit.relay_bin, "--listen",
                                    "127.0.0.1:%d" % port, "--web", page])
        skpe2e.wait_port(port, relay)
        kit.relay_url = "ws://127.0.0.1:%d" % port
        base = "http://127.0.0.1:%d/" % port
        say("    %s (the page) and ws://127.0.0.1:%d (the relay)" %
            (base, port))

        say("==> the phone: headless Chromium, 390 x 844 with touch")
        w = WebPhone(kit)
        w.open(base)
        w.screenshot(os.path.join(shots, "1-setup.png"))
        w.setup("demo-phone")
        say("    first run: named 'demo-phone'; the page says it is %s" %
            w.status("online"))

        say("==> sk-phone pair (the computer shows a QR code of a web URL)")
        comp, url = start_pair(kit, "demo-computer")
        say("    the QR code opens %s…" % url[:60])
        w.open(url)
        code, computer = w.pair()
        w.screenshot(os.path.join(shots, "2-pairing.png"))
        say("    the phone shows computer '%s' and code %s; tap Confirm" %
            (computer, code))
        w.confirm()
        out = finish_pair(kit, comp)
        indent("\n".join(x for x in out.splitlines()
                         if x.startswith(("Code", "Paired"))))

        env = kit.env()
        say("==> ssh-keygen -t ecdsa-sk -w %s" % kit.provider)
        key = kit.path("id_ecdsa_sk")
        tap_card(w, bg(kit, [SSH_KEYGEN, "-q", "-t", "ecdsa-sk", "-w",
                             kit.provider, "-N", "", "-C", "demo@sk-phone",
                             "-f", key], env), "once",
                 os.path.join(shots, "3-enroll.png"))
        with open(key + ".pub") as f:
            indent(f.read())

        say("==> a throwaway sshd on 127.0.0.1")
        kit.start_sshd()
        kit.authorize(key + ".pub")
        runtime = kit.path("runtime")
        os.mkdir(runtime, 0o700)
        env = kit.env(XDG_RUNTIME_DIR=runtime)
        say("==> ssh %s@127.0.0.1 through sk-phone proxy (the phone checks "
            "the host's signature and pins its key)" % kit.user)
        argv = [SSH, "-p", str(kit.sshd_port), "-F", "/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=none",
                "-o", "UserKnownHostsFile=" + kit.known_hosts,
                "-o", "StrictHostKeyChecking=accept-new",
                "-o", "ProxyCommand=%s proxy %%h %%p" % kit.cli,
                "-o", "SecurityKeyProvider=" + kit.provider, "-i", key,
                "%s@127.0.0.1" % kit.user, "echo logged in as $(id -un)"]
        indent(tap_card(w, bg(kit, argv, env), "once",
                        os.path.join(shots, "4-login.png")))

        say("==> ssh-keygen -Y sign -n file, then -Y verify")
        data = kit.path("release.txt")
        with open(data, "w") as f:
            f.write("sk-phone web demo\n")
        tap_card(w, bg(kit, [SSH_KEYGEN, "-Y", "sign", "-f", key, "-n",
                             "file", data],
                       dict(env, SSH_SK_PROVIDER=kit.provider)), "once",
                 os.path.join(shots, "5-sign.png"))
        signers = kit.path("allowed_signers")
        with open(key + ".pub") as f, open(signers, "w") as g:
            g.write("demo@sk-phone " + " ".join(f.read().split()[:2]) + "\n")
        rc, out, err, _ = kit.run([SSH_KEYGEN, "-Y", "verify", "-f", signers,
                                   "-I", "demo@sk-phone", "-n", "file", "-s",
                                   data + ".sig"],
                                  input=b"sk-phone web demo\n")
        indent(out + err)
        if rc != 0:
            raise RuntimeError("the signature did not verify")

        say("==> the phone's screens")
        for n, what, want in ((6, "hosts", "[127.0.0.1]:%d" % kit.sshd_port),
                              (7, "log", "sshsig")):
            rows = w.list(what, want=want)
            w.screenshot(os.path.join(shots, "%d-%s.png" % (n, what)))
            for r in rows:
                say("    %s: %s" % (what, r["text"]))
        say("==> done. Screenshots of the web phone are in %s" % shots)
        for f in sorted(os.listdir(shots)):
            say("    " + os.path.join(shots, f))
        return 0
    except Exception as e:  # noqa: BLE001
        sys.stderr.write("demo: %s\n" % e)
        for n in ("relay", "webphone", "sshd"):
            sys.stderr.write("-- %s --\n%s\n" % (n, kit.log(n)[-1500:]))
        return 1
    finally:
        if w is not None:
            w.close()
        kit.close()


if __name__ == "__main__":
    sys.exit(main())
