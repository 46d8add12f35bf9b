# sk-phone setup: the SecurityKeyProvider line in ~/.ssh/config.
"""TAP test of `sk-phone setup` in a throwaway HOME: it prints the line,
adds it once at the top with a backup, never twice, and refuses to
override another provider; it offers the ProxyCommand block and with
--proxy adds it at the end, once, leaving per-host proxies in effect and
refusing to hide behind another proxy for every host.
"""

import atexit
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skpe2e import Tap, check  # noqa: E402

CLI = None
PROVIDER = None
tap = Tap()


def run(home, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": home}
    p = subprocess.run([CLI, "setup", "--provider", PROVIDER, *args],
                       capture_output=True, text=True, env=env, timeout=30)
    return p.returncode, p.stdout, p.stderr


def fresh_home():
    home = tempfile.mkdtemp(prefix="skp-setup-")
    atexit.register(shutil.rmtree, home, True)
    return home


def config(home):
    with open(os.path.join(home, ".ssh", "config")) as f:
        return f.read()


@tap.case
def prints_line_without_write():
    home = fresh_home()
    rc, out, _ = run(home)
    check(rc == 0, "rc %d" % rc)
    check("SecurityKeyProvider %s\n" % PROVIDER in out, "line", out)
    check(not os.path.exists(os.path.join(home, ".ssh")),
          "wrote without --write")


@tap.case
def write_creates_config_0600():
    home = fresh_home()
    rc, _, err = run(home, "--write")
    check(rc == 0, "rc %d" % rc, err)
    c = config(home)
    check(c.count("SecurityKeyProvider") == 1, "one line", c)
    mode = stat.S_IMODE(os.stat(os.path.join(home, ".ssh", "config"))
                        .st_mode)
    check(mode == 0o600, "mode %o" % mode)
    mode = stat.S_IMODE(os.stat(os.path.join(home, ".ssh")).st_mode)
    check(mode == 0o700, ".ssh mode %o" % mode)


@tap.case
def never_twice():
    home = fresh_home()
    run(home, "--write")
    rc, out, _ = run(home, "--write")
    check(rc == 0, "rc %d" % rc)
    check("already" in out, "says already", out)
    check(config(home).count("SecurityKeyProvider") == 1, "one line")


@tap.case
def top_of_file_with_backup():
    home = fresh_home()
    os.mkdir(os.path.join(home, ".ssh"), 0o700)
    old = "Host example\n\tUser alice\n"
    with open(os.path.join(home, ".ssh", "config"), "w") as f:
        f.write(old)
    rc, _, err = run(home, "--write")
    check(rc == 0, "rc %d" % rc, err)
    c = config(home)
    check(c.index("SecurityKeyProvider") < c.index("Host example"),
          "before the first Host", c)
    check(c.endswith(old), "old content kept", c)
    with open(os.path.join(home, ".ssh", "config.bak")) as f:
        check(f.read() == old, "backup holds the old file")
    # ssh itself must read it: -G prints the effective option.
    p = subprocess.run(["ssh", "-G", "-F", os.path.join(home, ".ssh",
                        "config"), "example"], capture_output=True,
                       text=True, timeout=30)
    check(("securitykeyprovider %s" % PROVIDER) in p.stdout,
          "ssh -G sees it", p.stdout + p.stderr)


@tap.case
def refuses_other_provider():
    home = fresh_home()
    os.mkdir(os.path.join(home, ".ssh"), 0o700)
    old = "Host *\n  SecurityKeyProvider = /usr/lib/other.so\n"
    with open(os.path.join(home, ".ssh", "config"), "w") as f:
        f.write(old)
    rc, out, err = run(home, "--write")
    check(rc != 0, "rc 0 over another provider")
    check("/usr/lib/other.so" in err, "names the other", err)
    check(config(home) == old, "file changed")
    check("--write --proxy" not in out, "a hint, then a failure", out)


def proxy_line():
    return "ProxyCommand %s proxy %%h %%p" % os.path.realpath(CLI)


def ssh_g(home, host):
    p = subprocess.run(["ssh", "-G", "-F", os.path.join(home, ".ssh",
                        "config"), host], capture_output=True, text=True,
                       timeout=30)
    return p.stdout + p.stderr


@tap.case
def offers_proxy_line():
    home = fresh_home()
    rc, out, _ = run(home)
    check(rc == 0, "rc %d" % rc)
    check("Host *\n\t%s\n" % proxy_line() in out, "proxy block", out)
    check("--write --proxy" in out, "says how", out)


@tap.case
def write_without_proxy_adds_no_proxy():
    home = fresh_home()
    rc, out, err = run(home, "--write")
    check(rc == 0, "rc %d" % rc, err)
    check("ProxyCommand" not in config(home), "proxy added unasked")
    check("--write --proxy" in out, "says how", out)


@tap.case
def write_proxy_at_end_keeps_per_host_proxies():
    home = fresh_home()
    os.mkdir(os.path.join(home, ".ssh"), 0o700)
    old = "Host jump\n\tProxyJump bastion\nHost db\n\tUser admin"
    with open(os.path.join(home, ".ssh", "config"), "w") as f:
        f.write(old)
    rc, out, err = run(home, "--write", "--proxy")
    check(rc == 0, "rc %d" % rc, err)
    c = config(home)
    check(c.index("SecurityKeyProvider") < c.index("Host jump") <
          c.index("Host *"), "order", c)
    check(c.endswith("Host *\n\t%s\n" % proxy_line()), "at the end", c)
    check("\tUser admin\n" in c, "a line without its newline kept", c)
    with open(os.path.join(home, ".ssh", "config.bak")) as f:
        check(f.read() == old, "backup holds the old file")
    g = ssh_g(home, "db")
    check(("proxycommand %s proxy %%h %%p" % os.path.realpath(CLI)) in g,
          "ssh -G db", g)
    g = ssh_g(home, "jump")
    check("proxyjump bastion" in g and "sk-phone proxy" not in g,
          "the jump host keeps its own", g)
    rc, out, _ = run(home, "--write", "--proxy")
    check(rc == 0 and "already runs sk-phone proxy" in out, "twice", out)
    check(config(home).count("ProxyCommand") == 1, "added twice")


@tap.case
def proxy_refused_behind_another_for_every_host():
    for old in ("ProxyCommand nc %h %p\nHost x\n\tUser y\n",
                "Host *\n  ProxyJump = bastion\n"):
        home = fresh_home()
        os.mkdir(os.path.join(home, ".ssh"), 0o700)
        with open(os.path.join(home, ".ssh", "config"), "w") as f:
            f.write(old)
        rc, out, err = run(home, "--write", "--proxy")
        check(rc != 0, "rc 0 behind another proxy", out)
        line = old.split("\n")[old.startswith("Host") and 1 or 0].strip()
        # As ssh -G shows it: "ProxyJump bastion" for "ProxyJump = ...".
        line = re.sub(r"^(\S+)\s*=\s*", r"\1 ", line)
        check("would not apply" in err and line in err, "names it", err)
        c = config(home)
        check("ProxyCommand %s" % os.path.realpath(CLI) not in c,
              "added anyway", c)
        check("SecurityKeyProvider" in c, "the provider line", c)


@tap.case
def refuses_relative_provider():
    home = fresh_home()
    env = {"PATH": "/usr/bin:/bin", "HOME": home}
    p = subprocess.run([CLI, "setup", "--provider", "lib/x.so"],
                       capture_output=True, text=True, env=env, timeout=30)
    check(p.returncode != 0, "relative path accepted")


@tap.case
def relay_url_refused_with_the_rule():
    """--relay and SK_PHONE_RELAY go through the one relay URL parser
    (PROTOCOL.md 2.2) and the refusal names the rule broken."""
    home = fresh_home()
    env = {"PATH": "/usr/bin:/bin", "HOME": home}
    for args, extra, want in (
            (["--relay", "wss://relay.example.org?x=1"], {}, "no query"),
            (["--relay", "ws://h:0080"], {}, "leading zeros"),
            (["--relay", "ws://u@h/"], {}, "user info"),
            ([], {"SK_PHONE_RELAY": "ws://relay_x"}, "SK_PHONE_RELAY")):
        p = subprocess.run([CLI, "pair", "--timeout", "1", *args],
                           capture_output=True, text=True,
                           env=dict(env, **extra), timeout=30)
        check(p.returncode == 2, "exit %d for %s" % (p.returncode, args))
        check(want in p.stderr, "message: " + p.stderr)


@tap.case
def pair_uri_too_long():
    """A maximal relay URL and name overflow the 1024-byte pairing URI
    (PROTOCOL.md 2.1): refused before any network, with what to do."""
    home = fresh_home()
    env = {"PATH": "/usr/bin:/bin", "HOME": home}
    relay = "ws://127.0.0.1:1/" + ":@!$&'()*+,;=" * 18
    relay = relay[:255]
    name = "\u00e9" * 32
    p = subprocess.run([CLI, "pair", "--timeout", "1", "--relay", relay,
                        "--name", name], capture_output=True, text=True,
                       env=env, timeout=30)
    check(p.returncode != 0, "accepted: " + p.stdout)
    check("longer than 1024 bytes" in p.stderr, "message: " + p.stderr)


@tap.case
def provider_in_one_host_block_is_kept():
    """Another provider for one host only: ours for the rest, after it."""
    home = fresh_home()
    os.mkdir(os.path.join(home, ".ssh"), 0o700)
    old = "Host work\n  SecurityKeyProvider /usr/lib/other.so\n"
    with open(os.path.join(home, ".ssh", "config"), "w") as f:
        f.write(old)
    rc, out, err = run(home, "--write")
    check(rc == 0, "rc %d" % rc, out + err)
    check("sk-phone:" not in err, "an error line", err)
    check("keep it" in out, "says the host keeps its own", out)
    g = ssh_g(home, "elsewhere")
    check("securitykeyprovider %s" % PROVIDER in g, "ssh -G elsewhere", g)
    g = ssh_g(home, "work")
    check("securitykeyprovider /usr/lib/other.so" in g, "ssh -G work", g)
    rc, out, err = run(home, "--write")
    check(rc == 0 and "already has" in out, "twice", out + err)
    check(config(home).count("\tSecurityKeyProvider") == 1,
          "added twice", config(home))


@tap.case
def include_proxyjump_for_every_host_wins():
    """ssh -G decides: a ProxyJump for every host in an included file."""
    home = fresh_home()
    ssh = os.path.join(home, ".ssh")
    os.makedirs(os.path.join(ssh, "config.d"), 0o700)
    with open(os.path.join(ssh, "config.d", "jump"), "w") as f:
        f.write("Host *\n  ProxyJump bastion\n")
    # Absolute: ssh resolves a relative Include against the passwd home,
    # not this test's HOME.
    old = "Include %s/config.d/*\n" % ssh
    with open(os.path.join(ssh, "config"), "w") as f:
        f.write(old)
    rc, out, err = run(home, "--write", "--proxy")
    check(rc != 0, "rc 0 although ProxyJump wins", out + err)
    check("the phone now checks" not in out, "claims the phone checks", out)
    check("ProxyJump bastion" in err and "wins" in err, "says it wins", err)
    check("-J 'ssh -W %h:%p bastion' %h %p" in err, "says what to do", err)
    check("ProxyCommand %s" % os.path.realpath(CLI) not in config(home),
          "added the proxy anyway", config(home))
    check("proxyjump bastion" in ssh_g(home, "any"), "ssh -G changed")


@tap.case
def symlinked_config_followed():
    home = fresh_home()
    ssh = os.path.join(home, ".ssh")
    os.mkdir(ssh, 0o700)
    dots = os.path.join(home, "dotfiles")
    os.mkdir(dots, 0o700)
    real = os.path.join(dots, "ssh_config")
    with open(real, "w") as f:
        f.write("Host db\n  User admin\n")
    os.chmod(real, 0o600)
    link = os.path.join(ssh, "config")
    os.symlink("../dotfiles/ssh_config", link)
    rc, out, err = run(home, "--write")
    check(rc == 0, "rc %d" % rc, out + err)
    check(os.path.islink(link), "the link was replaced by a file")
    with open(real) as f:
        c = f.read()
    check("SecurityKeyProvider %s" % PROVIDER in c, "the file it names", c)
    check(os.path.exists(real + ".bak"), "no backup next to the file")
    check(real in out, "does not say which file", out)
    # A file others can write: ssh refuses it too, and so does setup.
    os.chmod(real, 0o666)
    rc, out, err = run(home, "--write", "--proxy")
    check(rc != 0 and "others can write" in err and "chmod go-w" in err,
          "a file others can write", out + err)
    os.chmod(real, 0o600)
    os.unlink(link)
    os.symlink("../dotfiles/missing", link)
    rc, out, err = run(home, "--write")
    check(rc != 0 and "leads to no file" in err, "dangling link", err)


if __name__ == "__main__":
    CLI, PROVIDER = sys.argv[1], os.path.abspath(sys.argv[2])
    sys.exit(tap.run(sys.argv[3:]))
