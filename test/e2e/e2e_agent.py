# End-to-end: host verification for logins signed through ssh-agent.
"""usage: e2e_agent.py BUILD_DIR [CASE ...]

The key is added to a real ssh-agent with `ssh-add -S`; the provider then
runs in the agent's ssh-sk-helper, no child of the ssh that logs in, and
finds the record `sk-phone proxy` left by what it says: the one whose host
signed the session id of the login. Two throwaway sshd on 127.0.0.1 with
their own host keys. Cases, in order: a login through the agent and the
proxy is verified (first use, then pinned) and said to come through the
agent; two logins at once through one agent to the two servers, each
matched to its own; a login through the agent without the proxy, and one
through a forwarded agent (ssh -A, then ssh from that session), are not
verified and the phone says there is no local record.
"""

import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import (Kit, Tap, check, SSH, SSHD, SSH_KEYGEN,  # noqa: E402
                    SSH_AGENT, SSH_ADD)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ptyprog import PtyProgram  # noqa: E402
from e2e_host import clean, logs_clean  # noqa: E402

WAIT = 30.0
NO_RECORD = ("through ssh-agent, no local record of this login (a forwarded "
             "agent, or ssh without sk-phone proxy): host not verified")

tap = Tap()
K = None


def env(**extra):
    """The proxy's records in the test's own runtime folder; the agent
    (and so its ssh-sk-helper) reads them there too."""
    return K.env(XDG_RUNTIME_DIR=K.runtime, SSH_AUTH_SOCK=K.agent_sock,
                 **extra)


def start_sshd(name):
    """A throwaway sshd on 127.0.0.1 with an Ed25519 host key of its own;
    the port."""
    d = K.path(name)
    os.mkdir(d, 0o700)
    hostkey = os.path.join(d, "host_ed25519")
    rc, _, err, _ = K.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "",
                           "-f", hostkey], env=K.env(preload=False))
    check(rc == 0, "host key", err)
    port = skpe2e.free_port()
    conf = os.path.join(d, "sshd_config")
    with open(conf, "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\n" % port)
        f.write("HostKey %s\n" % hostkey)
        f.write("PidFile %s\n" % os.path.join(d, "sshd.pid"))
        f.write("AuthorizedKeysFile %s\n" % K.authorized_keys)
        f.write("PasswordAuthentication no\n")
        f.write("KbdInteractiveAuthentication no\n")
        f.write("PubkeyAuthentication yes\nAllowAgentForwarding yes\n")
        f.write("UsePAM no\nStrictModes no\nLogLevel VERBOSE\n")
    p = K.spawn(name, [SSHD, "-D", "-f", conf, "-E", K.path(name + ".log")],
                env=K.env(preload=False))
    skpe2e.wait_port(port, p)
    return port


def ssh_argv(port, proxy=True, forward=False, command="echo skp-login-ok",
             agent=True):
    argv = [SSH, "-p", str(port), "-F", "/dev/null",
            "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + K.known_hosts,
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "ConnectTimeout=10",
            "-o", "PasswordAuthentication=no", "-o", "IdentitiesOnly=yes"]
    if agent:
        argv += ["-o", "IdentityAgent=" + K.agent_sock, "-i", K.key + ".pub"]
    else:
        argv += ["-o", "IdentityAgent=none", "-o",
                 "SecurityKeyProvider=" + K.provider, "-i", K.key]
    if proxy:
        argv += ["-o", "ProxyCommand=%s proxy %%h %%p" % K.cli]
    if forward:
        argv.append("-A")
    return argv + ["%s@127.0.0.1" % K.user, command]


def login(port, **kw):
    rc, out, err, _ = K.run(ssh_argv(port, **kw), env=env())
    clean(err, "ssh")
    return rc == 0 and "skp-login-ok" in out, err


def login_bg(port, **kw):
    return subprocess.Popen(ssh_argv(port, **kw), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env(), start_new_session=True)


def finish(p):
    try:
        out, err = p.communicate(timeout=WAIT * 2)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    err = err.decode("utf-8", "replace")
    clean(err, "ssh")
    return p.returncode == 0 and b"skp-login-ok" in out, err


def logins():
    with open(os.path.join(K.phone_dir, "audit.log")) as f:
        return [x for x in f.read().splitlines() if " op=login " in x]


def pin(port):
    return "[127.0.0.1]:%d" % port


def agent_listens(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_for(cond, what):
    deadline = time.monotonic() + WAIT
    while not cond():
        check(time.monotonic() < deadline, what)
        time.sleep(0.02)


# -- cases -------------------------------------------------------------------

@tap.case
def agent_login_through_proxy_is_verified():
    n = len(logins())
    ok, err = login(K.port1)
    check(ok, "login through the agent and sk-phone proxy", err)
    line = logins()[-1]
    check(len(logins()) == n + 1 and
          'host="%s" verified=new' % pin(K.port1) in line,
          "first use not verified", line)
    ok, err = login(K.port1)
    check(ok and 'host="%s" verified=yes' % pin(K.port1) in logins()[-1],
          "second login not verified", err + logins()[-1])
    # The phone's own line says where the request came from.
    want = "@ %s (through ssh-agent), verified yes]" % pin(K.port1)
    wait_for(lambda: want in K.log("phone"), "phone line: " + want)
    # ssh's own helper (not the agent) is no agent login.
    ok, err = login(K.port1, agent=False)
    check(ok, "login without the agent", err)
    want = "@ %s, verified yes]" % pin(K.port1)
    wait_for(lambda: want in K.log("phone"), "phone line: " + want)


@tap.case
def two_logins_at_once_each_matched():
    """Both sessions stay up while the agent (one sign at a time) signs
    the other's login: two fresh records, each found by its session."""
    n = len(logins())
    cmd = "echo skp-login-ok; sleep 2"
    p1 = login_bg(K.port1, command=cmd)
    p2 = login_bg(K.port2, command=cmd)
    ok1, err1 = finish(p1)
    ok2, err2 = finish(p2)
    check(ok1 and ok2, "two logins through one agent", err1 + err2)
    new = logins()[n:]
    check(len(new) == 2, "two logins in the audit log", "\n".join(new))
    hosts = sorted(x.split(' host="')[1].split('"')[0] for x in new)
    check(hosts == sorted([pin(K.port1), pin(K.port2)]),
          "each login matched to its own server", "\n".join(new))
    for x in new:
        want = "yes" if pin(K.port1) in x else "new"
        check("verified=" + want in x, "not verified", x)
    # Pinned: the two host keys are the two servers'.
    rc, out, err, _ = K.run(K.phone_argv("hosts"))
    for port, name in ((K.port1, "sshd1"), (K.port2, "sshd2")):
        rc2, fp, _, _ = K.run([SSH_KEYGEN, "-l", "-f",
                               K.path(name, "host_ed25519.pub")],
                              env=K.env(preload=False))
        check(rc2 == 0 and "%s ssh-ed25519 %s" % (pin(port),
                                                   fp.split()[1]) in out,
              "pin of " + name, out)


@tap.case
def agent_without_proxy_has_no_record():
    """The phone on a terminal: the question says why the host is not
    verified; a pinned host through the agent says the agent too."""
    K.stop(K.phone)
    t = PtyProgram(K.phone_argv("run"), env(), wait=WAIT,
                   fail=lambda what: check(False, what),
                   on_exit=lambda text: clean(text, "phone (terminal)"))
    K.pty = t
    t.expect("listening on")
    p = login_bg(K.port2, proxy=False)
    seen = t.expect("answer within")
    check("%s @ %s\r\n" % (K.user, NO_RECORD) in seen, "no record line",
          seen)
    check("[h]" not in seen, "a host window offered", seen)
    t.send("o\n")
    ok, err = finish(p)
    check(ok, "login allowed", err)
    line = logins()[-1]
    check('host="-" verified=no' in line, "audit", line)
    p = login_bg(K.port2)
    seen = t.expect("answer within")
    check("%s @ %s (verified) (through ssh-agent)" % (K.user, pin(K.port2))
          in seen, "verified line", seen)
    t.send("o\n")
    ok, err = finish(p)
    check(ok and 'host="%s" verified=yes' % pin(K.port2) in logins()[-1],
          "verified login", err + logins()[-1])
    t.close()
    K.pty = None
    K.phone = K.start_phone(pin=None, name="phone2")


@tap.case
def forwarded_agent_has_no_record():
    """ssh -A to one server (through the proxy: verified), and from that
    session ssh to the other with the forwarded agent: the local agent
    signs a login it has no record of."""
    n = len(logins())
    inner = ("%s -p %d -F /dev/null -o BatchMode=yes -o "
             "UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new "
             "-o ConnectTimeout=10 %s@127.0.0.1 echo skp-login-ok" %
             (SSH, K.port2, K.path("known_hosts.inner"), K.user))
    ok, err = login(K.port1, forward=True, command=inner)
    check(ok, "login through the forwarded agent", err)
    new = logins()[n:]
    check(len(new) == 2, "two logins", "\n".join(new))
    check('host="%s" verified=yes' % pin(K.port1) in new[0], "outer",
          new[0])
    check('host="-" verified=no' in new[1], "inner", new[1])
    want = "@ unknown host (through ssh-agent), verified no]"
    wait_for(lambda: want in K.log("phone2"), "phone line: " + want)


@tap.case
def no_sanitizer_reports():
    K.stop(K.agent)
    logs_clean(K)


def main():
    global K
    K = Kit(sys.argv[1], "agent")
    K.pty = None
    K.runtime = K.path("runtime")
    os.mkdir(K.runtime, 0o700)
    K.agent_sock = K.path("agent.sock")
    try:
        K.user = skpe2e.pwd_name()
        K.known_hosts = K.path("known_hosts")
        K.authorized_keys = K.path("authorized_keys")
        open(K.authorized_keys, "w").close()
        os.chmod(K.authorized_keys, 0o600)
        K.port1 = start_sshd("sshd1")
        K.port2 = start_sshd("sshd2")
        K.start_relay()
        K.pair()
        K.start_phone(pin=None)
        K.key = K.path("id_ecdsa_sk")
        rc, out, err, _ = K.keygen("id_ecdsa_sk", env=env())
        check(rc == 0, "ssh-keygen -t ecdsa-sk", out + err)
        K.authorize(K.key + ".pub")
        agent_bin = SSH_AGENT
        if K.asan:
            # Debian's ssh-agent is setgid: the loader would drop the
            # ASan runtime its helper needs (as in e2e.py).
            agent_bin = K.path("ssh-agent")
            shutil.copy(SSH_AGENT, agent_bin)
        K.agent = K.spawn("agent", [agent_bin, "-D", "-a", K.agent_sock,
                                    "-P", os.path.dirname(K.provider) +
                                    "/*"], env=env())
        # bind() makes the file before listen(): wait for a connection.
        wait_for(lambda: agent_listens(K.agent_sock), "agent socket")
        rc, out, err, _ = K.run([SSH_ADD, "-S", K.provider, K.key],
                                env=env())
        check(rc == 0, "ssh-add -S", out + err)
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e, logs=("relay", "sshd1", "phone", "agent"))
    rc = tap.run(sys.argv[2:])
    if K.pty is not None:
        K.pty.close()
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
