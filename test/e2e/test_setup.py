# sk-phone setup: the SecurityKeyProvider line in ~/.ssh/config.
"""TAP test of `sk-phone setup` in a throwaway HOME: it prints the line,
adds it once at the top with a backup, never twice, and refuses to
override another provider.
"""

import atexit
import os
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
    rc, _, err = run(home, "--write")
    check(rc != 0, "rc 0 over another provider")
    check("/usr/lib/other.so" in err, "names the other", err)
    check(config(home) == old, "file changed")


@tap.case
def refuses_relative_provider():
    home = fresh_home()
    env = {"PATH": "/usr/bin:/bin", "HOME": home}
    p = subprocess.run([CLI, "setup", "--provider", "lib/x.so"],
                       capture_output=True, text=True, env=env, timeout=30)
    check(p.returncode != 0, "relative path accepted")


if __name__ == "__main__":
    CLI, PROVIDER = sys.argv[1], os.path.abspath(sys.argv[2])
    sys.exit(tap.run(sys.argv[3:]))
