# End-to-end: a phone's whole state moved to another phone (issue 17).
"""usage: e2e_transfer.py BUILD_DIR [CASE ...]

The real relay, two reference phones, the provider with ssh and
ssh-keygen, sshd on 127.0.0.1 (docs/PROTOCOL.md section 10):

- a code the new phone's owner declines, and a code altered on the way
  (another transfer key): the old phone keeps everything and logs in, the
  new one holds nothing;
- a transfer cut short at three points (the new phone killed once it has
  the state, before it saved it; the old phone killed after the new one
  confirmed, before it sent anything; the old phone killed after the new
  one said it received the state, before the old one let go of it): the
  old phone stays whole, the new one holds no phone (in the last case a
  pending copy it does not use, which receive --discard removes);
- then the transfer: the same key file logs in and signs through the new
  phone, which trusts the host CA the old one trusted; the old one lists
  no keys, says why, and its run refuses;
- and on from the new phone to a third, the sender killed after it let
  go of the state, before its last word: the third phone keeps the state
  unused until receive --finish, then the key file logs in through it.
"""

import os
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from e2e_host import clean, logs_clean  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402

K = None
tap = Tap()
N = [0]
NOTICE = ("This is the one time a private key leaves a phone: by its "
          "owner's choice,\nto the owner's other phone.")


def new_dir():
    N[0] += 1
    return K.path("phone-new%d" % N[0])


def start_transfer(extra=(), env=None, state=None):
    """The old phone's transfer (state: its folder, else the kit's
    phone), --yes, its URI in a file: (proc, log name, uri)."""
    N[0] += 1
    name = "transfer%d" % N[0]
    uri_file = K.path("transfer-uri%d" % N[0])
    p = K.spawn(name, [K.phone_bin, "--state", state or K.phone_dir,
                       "transfer",
                       "--yes", "--uri-file", uri_file, "--timeout", "20",
                       *extra], env=env)
    skpe2e.wait_file(uri_file, p)
    with open(uri_file) as f:
        uri = f.read().strip()
    check(stat.S_IMODE(os.stat(uri_file).st_mode) == 0o600,
          "the URI file is not 0600")
    return p, name, uri


def receive(d, uri, answer=None, env=None):
    """The new phone's receive: the URI on stdin (--yes), or in a file
    and the answer to the code on stdin. (rc, out + err)."""
    argv = [K.phone_bin, "--state", d, "receive", "--timeout", "20"]
    if answer is None:
        rc, out, err, _ = K.run(argv + ["-", "--yes"], env=env,
                                input=(uri + "\n").encode(), timeout=40)
    else:
        f = d + ".uri"
        with open(f, "w") as fh:
            fh.write(uri + "\n")
        rc, out, err, _ = K.run(argv + ["--uri-file", f], env=env,
                                input=(answer + "\n").encode(), timeout=40)
    clean(out + err, "receive")
    return rc, out + err


def wait_end(p, name):
    try:
        p.wait(timeout=40)
    except Exception:  # noqa: BLE001
        pass
    K.stop(p)
    return p.returncode, K.log(name)


def phone(d, *args):
    rc, out, err, _ = K.run([K.phone_bin, "--state", d, *args], timeout=20)
    clean(out + err, args[0])
    return rc, out + err


def no_phone(d, what):
    """d holds no phone: no identity, no key, no pending copy."""
    for f in ("identity", "credentials", "computers", "transfer-pending"):
        check(not os.path.exists(os.path.join(d, f)),
              "%s: the new phone holds %s" % (what, f))


def old_whole(what):
    """The old phone answers as before: its key and a login through it."""
    rc, out = phone(K.phone_dir, "keys")
    check(rc == 0 and "SHA256:" in out, "%s: the old phone's keys" % what,
          out)
    N[0] += 1
    K.start_phone(name="phone-old%d" % N[0])
    try:
        ok, err, _ = K.login(K.path("key"))
        check(ok, "%s: login through the old phone" % what, err)
    finally:
        K.stop_phone()


@tap.case
def declined_code_leaves_both_as_they_were():
    """The new phone's owner says no to the code: both screens say so,
    the old phone keeps its state, the new one saves nothing."""
    p, name, uri = start_transfer()
    d = new_dir()
    rc, out = receive(d, uri, answer="n")
    check(rc != 0, "receive said yes", out)
    check(NOTICE in out, "the new phone's notice", out)
    check("transfer code: " in out, "no code on the new phone", out)
    check("not received: not confirmed here; nothing saved here; the old "
          "phone keeps its state" in out, "the new phone's words", out)
    rc, log = wait_end(p, name)
    check(rc != 0, "transfer succeeded", log)
    check(NOTICE in log, "the old phone's notice", log)
    check("the new phone declined (its owner did not confirm the code, "
          "or it refused what came); this phone keeps its state: nothing "
          "changed here" in log, "the old phone's words", log)
    no_phone(d, "declined")
    old_whole("declined")


@tap.case
def altered_code_leaves_both_as_they_were():
    """A URI whose transfer key was swapped (someone else's code at the
    same rendezvous): the handshake fails, nothing moves."""
    p, name, uri = start_transfer()
    # Another valid key: the vector's of PROTOCOL.md 10.6.
    parts = dict(x.split("=", 1) for x in uri.split("?", 1)[1].split("&"))
    parts["k"] = ("BOHu687YhZspOg4dsuGfelkuXjN9YiYxNLTqyK_ON5xUP8fuH4keMvQV"
                  "XZsI-cmlBCYp-EXdodnc0b7zR-7zlJM")
    bad = "sk-phone://transfer?" + "&".join(
        "%s=%s" % (k, parts[k]) for k in ("v", "k", "s", "r", "t"))
    d = new_dir()
    rc, out = receive(d, bad)
    check(rc != 0, "receive of an altered code succeeded", out)
    check("nothing saved here; the old phone keeps its state" in out,
          "the new phone's words", out)
    rc, log = wait_end(p, name)
    check(rc != 0, "transfer succeeded", log)
    check("transfer code was wrong or altered" in log or
          "does not decrypt" in log, "the old phone's words", log)
    no_phone(d, "altered")
    old_whole("altered")


@tap.case
def new_phone_killed_with_the_state_in_hand():
    """The new phone dies once it has the state, before saving it: the
    old phone hears it went away and keeps everything."""
    p, name, uri = start_transfer()
    d = new_dir()
    rc, out = receive(d, uri, env=K.env(
        SKP_TEST_TRANSFER_STOP="new-received"))
    check(rc == -9, "the new phone was not killed (rc %d)" % rc, out)
    rc, log = wait_end(p, name)
    check(rc != 0, "transfer succeeded", log)
    check("the new phone went away (stopped, or lost the relay); this "
          "phone keeps its state: nothing changed here" in log,
          "the old phone's words", log)
    no_phone(d, "killed new")
    old_whole("killed new")


@tap.case
def old_phone_killed_before_sending():
    """The old phone dies after both confirmed, before it sent anything:
    the new phone saves nothing."""
    p, name, uri = start_transfer(env=K.env(
        SKP_TEST_TRANSFER_STOP="old-ready"))
    d = new_dir()
    rc, out = receive(d, uri)
    check(rc != 0, "receive succeeded", out)
    check("the old phone went away (stopped, or lost the relay); nothing "
          "saved here; the old phone keeps its state" in out,
          "the new phone's words", out)
    rc, log = wait_end(p, name)
    check(rc == -9, "the old phone was not killed (rc %s)" % rc, log)
    no_phone(d, "killed old")
    old_whole("killed old")


@tap.case
def old_phone_killed_before_letting_go():
    """The old phone dies after the new one said it has the state, before
    it let go: the new phone keeps a copy it does not use and says to look
    at the old one; receive --discard removes it; the old phone is whole."""
    p, name, uri = start_transfer(env=K.env(
        SKP_TEST_TRANSFER_STOP="old-sent"))
    d = new_dir()
    rc, out = receive(d, uri)
    check(rc != 0, "receive succeeded", out)
    check("the transfer stopped after this phone received the state, "
          "before the old phone said it let go of it" in out and
          "receive --finish here" in out and "receive --discard here" in
          out, "the new phone's words", out)
    rc, log = wait_end(p, name)
    check(rc == -9, "the old phone was not killed (rc %s)" % rc, log)
    pend = os.path.join(d, "transfer-pending")
    check(os.path.exists(pend) and
          stat.S_IMODE(os.stat(pend).st_mode) == 0o600,
          "no 0600 pending copy")
    check(not os.path.exists(os.path.join(d, "identity")),
          "the new phone took the identity")
    rc, out = phone(d, "run", "--approve", "always")
    check(rc != 0, "the new phone's run started", out)
    rc, out = receive(d, uri)
    check(rc != 0 and "settle it first" in out,
          "a second receive over the pending copy", out)
    rc, out = phone(d, "receive", "--discard")
    check(rc == 0 and "discarded" in out, "receive --discard", out)
    no_phone(d, "discarded")
    old_whole("killed old after received")


@tap.case
def moved_key_logs_in_through_the_new_phone():
    """The transfer: the same key file logs in (and signs) through the
    new phone; the old phone lists no keys, says why, and refuses to run;
    the new phone's files are 0600."""
    # A host CA the owner trusts moves too.
    ca = K.path("host-ca")
    rc, out, err, _ = K.run([skpe2e.SSH_KEYGEN, "-q", "-t", "ed25519", "-N",
                             "", "-f", ca])
    check(rc == 0, "ssh-keygen host CA", out + err)
    rc, out = phone(K.phone_dir, "hosts", "trust-ca", "*.example.org",
                    ca + ".pub")
    check(rc == 0, "trust-ca on the old phone", out)
    p, name, uri = start_transfer()
    d = K.path("phone-moved")
    rc, out = receive(d, uri)
    check(rc == 0, "receive", out)
    check(NOTICE in out, "the new phone's notice", out)
    check('from phone "phone1"' in out, "the old phone's name", out)
    check('received: this phone is phone "phone1" now, with 1 key and 1 '
          'paired computer' in out, "the new phone's words", out)
    rc, log = wait_end(p, name)
    check(rc == 0, "transfer", log)
    check("moved: this phone's state is on the new phone now; this phone "
          "holds no keys and answers no computer" in log,
          "the old phone's words", log)
    for f in os.listdir(d):
        mode = stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode)
        check(mode & 0o077 == 0, "%s is %o" % (f, mode))
    for f in ("masterkey", "identity", "credentials", "credentials.last",
              "computers"):
        check(not os.path.exists(os.path.join(K.phone_dir, f)),
              "the old phone still has %s" % f)
    rc, out = phone(K.phone_dir, "keys")
    check(rc != 0 and "SHA256:" not in out, "the old phone lists keys",
          out)
    check("this phone's state was moved to another phone at " in out and
          "it holds no keys and answers no computer" in out,
          "the old phone's message", out)
    rc, out = phone(K.phone_dir, "run", "--approve", "always")
    check(rc != 0 and "was moved to another phone" in out and
          "listening" not in out, "the old phone's run", out)
    rc, out = phone(d, "hosts")
    check(rc == 0 and "*.example.org" in out, "the CA on the new phone",
          out)
    old = K.phone_dir
    K.phone_dir = d
    try:
        K.start_phone(name="phone-moved")
        ok, err, _ = K.login(K.path("key"))
        check(ok, "login with the old key file through the new phone",
              err)
        msg = K.path("moved.txt")
        with open(msg, "w") as f:
            f.write("signed by the new phone\n")
        rc, out, err, _ = K.run([skpe2e.SSH_KEYGEN, "-Y", "sign", "-f",
                                 K.path("key"), "-n", "file", msg],
                                env=K.env(SSH_SK_PROVIDER=K.provider))
        check(rc == 0 and os.path.exists(msg + ".sig"),
              "ssh-keygen -Y sign through the new phone", out + err)
    finally:
        K.stop_phone()
        K.phone_dir = old


@tap.case
def cut_after_letting_go_then_finish():
    """Again from the new phone to a third: the sending phone dies after it
    let go, before its last word. The third phone keeps the state unused
    and says to look at the sender, which says its state moved; receive
    --finish puts it in place and the key file logs in through it."""
    src = K.path("phone-moved")
    p, name, uri = start_transfer(state=src, env=K.env(
        SKP_TEST_TRANSFER_STOP="old-moved"))
    d = K.path("phone-third")
    rc, out = receive(d, uri)
    check(rc != 0 and "receive --finish here" in out,
          "the third phone's words", out)
    rc, log = wait_end(p, name)
    check(rc == -9, "the sender was not killed (rc %s)" % rc, log)
    check(not os.path.exists(os.path.join(d, "identity")),
          "the third phone took the state before --finish")
    rc, out = phone(src, "keys")
    check(rc != 0 and "was moved to another phone" in out,
          "the sender says its state moved", out)
    rc, out = phone(d, "receive", "--finish")
    check(rc == 0 and 'received: this phone is phone "phone1" now' in out,
          "receive --finish", out)
    check(not os.path.exists(os.path.join(d, "transfer-pending")),
          "the pending copy is still there")
    rc, out = phone(d, "receive", "--finish")
    check(rc != 0 and "no unfinished transfer here" in out,
          "a second --finish", out)
    old = K.phone_dir
    K.phone_dir = d
    try:
        K.start_phone(name="phone-third")
        ok, err, _ = K.login(K.path("key"))
        check(ok, "login through the third phone", err)
    finally:
        K.stop_phone()
        K.phone_dir = old


@tap.case
def no_sanitizer_reports():
    """Every log of this world (both phones' transfers and runs, the
    relay): clean."""
    logs_clean(K)


def main():
    global K
    K = Kit(sys.argv[1], "transfer")
    K.phone = None
    try:
        K.key_world()
        K.stop_phone()
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = tap.run(sys.argv[2:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
