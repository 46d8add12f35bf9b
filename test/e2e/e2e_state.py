# End-to-end: the phone's state folder, run twice or copied, and damaged.
"""usage: e2e_state.py BUILD_DIR [CASE ...]

The real relay, the reference phone, ssh and ssh-keygen, sshd on
127.0.0.1: a second `run` on one state is refused and the first keeps
serving; a copied state folder run at the same time is said to be live
somewhere else; a damaged file that holds keys is never advised away, its
last good copy is named and put back by `restore`, after which the old key
logs in and signs again; a damaged file without keys gets its own advice.

Issue 10, defect -> case (each failed on the code before its fix):
  8  a second run evicts the first .... second_run_on_the_same_state_
                                        is_refused
  8  a copied state folder ............ copied_state_is_said_live_
                                        somewhere_else
  9  "remove it and pair again" for ... damaged_credentials_restored,
     files that hold keys;              damaged_masterkey_restored,
     no last good copy                  damaged_identity_restored
  9  a key file removed is started
     again empty, losing its copy ..... lost_key_file_is_not_started_empty
  9  advice per file (no keys) ........ damaged_hosts_has_its_own_advice
"""

import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skpe2e  # noqa: E402
from skpe2e import Kit, Tap, check  # noqa: E402

K = None
tap = Tap()


def wait_log(name, text, proc=None, timeout=skpe2e.START_TIMEOUT):
    """Wait until NAME.log holds text; bounded. The log, and whether."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = K.log(name)
        if text in log:
            return log, True
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    return K.log(name), text in K.log(name)


def sign(tag):
    """ssh-keygen -Y sign with the phone's key: (ok, out + err)."""
    msg = K.path("msg-%s.txt" % tag)
    with open(msg, "w") as f:
        f.write("signed by the phone\n")
    rc, out, err, _ = K.run([skpe2e.SSH_KEYGEN, "-Y", "sign", "-f",
                             K.path("key"), "-n", "file", msg],
                            env=K.env(SSH_SK_PROVIDER=K.provider))
    return rc == 0 and os.path.exists(msg + ".sig"), out + err


@tap.case
def second_run_on_the_same_state_is_refused():
    """A second run on the state refuses at once, names the first's pid
    and the folder; the first keeps serving; other commands still work."""
    first = K.phone
    rc, out, err, dt = K.run(K.phone_argv("run", "--approve", "always"),
                             timeout=20)
    check(rc not in (0, -999), "a second run started (rc %d)" % rc,
          out + err)
    want = ("another sk-phone-authenticator run (pid %d) is already "
            "serving this phone's state (%s): stop it first, or use "
            "--state for another phone" % (first.pid, K.phone_dir))
    check(want in err, "the refusal", err)
    check("listening" not in out + err, "the second one listened",
          out + err)
    check(first.poll() is None, "the first run stopped")
    # The writers' lock is not run's: the other commands work meanwhile.
    rc, out, err, _ = K.run(K.phone_argv("computers"), timeout=20)
    check(rc == 0 and "testbox" in out, "computers while run is up",
          out + err)
    ok, err = sign("second-run")
    check(ok, "sign through the first run", err)
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login through the first run", err)
    check("somewhere else" not in K.log("phone"),
          "the first run was taken over", K.log("phone"))


@tap.case
def copied_state_is_said_live_somewhere_else():
    """cp -a of the state folder, run at the same time: the first run
    says the state is live somewhere else; once the copy stops, it
    serves again."""
    copy = K.path("phone-copy")
    rc, out, err, _ = K.run(["cp", "-a", K.phone_dir, copy])
    check(rc == 0, "cp -a", out + err)
    start = len(K.log("phone"))
    argv = [K.phone_bin, "--state", copy, "run", "--approve", "always"]
    p = K.spawn("copy", argv)
    said = "this phone's state is live somewhere else"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                K.log("phone")[start:].count(said) < 2:
            time.sleep(0.05)
        log = K.log("phone")[start:]
        check(said in log, "the first run did not say it", log)
        check("A copy is not a second phone: pair the other device as a "
              "phone of its own (sk-phone-authenticator --state NEW "
              "pair), and stop the copy" in log, "what to do", log)
        check("another device listens on its mailbox (a copied state "
              "folder?)" in log, "what happened", log)
        check(K.phone.poll() is None, "the first run stopped")
        check(p.poll() is None, "the copy stopped", K.log("copy"))
        # Taken over again and again: each wait at least the one before
        # (the backoff doubles, jittered between half and all of it).
        check(log.count(said) >= 2, "taken over only once", log)
        waits = [int(x.split(" ms")[0]) for x in
                 log.split("reconnecting in ")[1:]]
        check(len(waits) >= 2 and waits[1] >= waits[0],
              "the waits do not grow: %s" % waits, log)
    finally:
        K.stop(p)
    log = K.log("phone")
    n = log.count("listening on")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and K.log("phone").count(
            "listening on") <= n:
        time.sleep(0.1)
    ok, err, _ = K.login(K.path("key"), env=K.env(
        SK_PHONE_OFFLINE_TIMEOUT=40))
    check(ok, "login once the copy stopped", err)


def phone_cmd(*args):
    """A phone command on the state; (rc, out + err)."""
    rc, out, err, _ = K.run(K.phone_argv(*args), timeout=30)
    return rc, out + err


def damage(name, how):
    """Damage a state file: truncate it, or flip bytes in its middle.
    The damaged bytes."""
    path = os.path.join(K.phone_dir, name)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if how == "truncate":
        data = data[:len(data) // 2]
    elif how == "seal":
        # A byte of the sealed payload changed, the frame's checksum made
        # right again: the file opens as a state file, not with its key.
        n = int.from_bytes(data[6:10], "big")
        data[10 + n - 3] ^= 0x01
        data[10 + n:] = hashlib.sha256(bytes(data[:10 + n])).digest()
    else:
        for i in range(len(data) // 2, len(data) // 2 + 4):
            data[i] ^= 0x5a
    with open(path, "wb") as f:
        f.write(data)
    return bytes(data)


def damaged_then_restored(name, how, reason):
    """The flow for a file that holds keys: the message, no write over
    it, restore, and the old key logs in and signs again."""
    d = K.phone_dir
    last = os.path.join(d, name + ".last")
    check(os.path.exists(last), "no last good copy of %s" % name,
          str(sorted(os.listdir(d))))
    check(os.stat(last).st_mode & 0o777 == 0o600, "%s mode %o" %
          (last, os.stat(last).st_mode & 0o777))
    K.stop_phone()
    try:
        bad = damage(name, how)
        rc, out = phone_cmd("keys")
        check(rc != 0, "keys with %s damaged" % name, out)
        check("%s/%s is damaged (%s)" % (d, name, reason) in out,
              "names the file and what is wrong", out)
        check("do not remove it" in out, "says not to remove it", out)
        check("rm " not in out and "pair again" not in out,
              "advises what loses the keys", out)
        check("Put back its last good copy %s/%s.last: run "
              "sk-phone-authenticator --state %s restore %s (or: cp -p "
              "%s/%s.last %s/%s)" % (d, name, d, name, d, name, d, name)
              in out, "names the copy and how to put it back", out)
        # Nothing writes over a file it could not read.
        rc, out2 = phone_cmd("run", "--approve", "always")
        check(rc != 0 and "do not remove it" in out2, "run", out2)
        phone_cmd("unpair", "testbox")
        phone_cmd("hosts", "forget", "example.com")
        with open(os.path.join(d, name), "rb") as f:
            check(f.read() == bad, "%s was written over" % name)
        rc, out = phone_cmd("restore", name)
        check(rc == 0, "restore", out)
        check("restored %s/%s from its last good copy %s/%s.last; the "
              "damaged file is kept as %s/%s.damaged" %
              (d, name, d, name, d, name) in out, "what restore did", out)
        with open(os.path.join(d, name + ".damaged"), "rb") as f:
            check(f.read() == bad, "the damaged file was not kept")
        rc, out = phone_cmd("restore", name)
        check(rc != 0 and "reads fine: nothing to restore" in out,
              "a second restore", out)
    finally:
        K.start_phone()
    ok, err = sign("restored-" + name)
    check(ok, "sign with the old key after restore", err)
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login with the old key after restore", err)


@tap.case
def damaged_credentials_restored():
    """credentials truncated: named, not advised away, its last good copy
    named; restore puts it back and the old key logs in again."""
    damaged_then_restored("credentials", "truncate", "truncated")


@tap.case
def damaged_masterkey_restored():
    """masterkey with bytes flipped: the same, for the storage key."""
    damaged_then_restored("masterkey", "flip", "checksum mismatch")


@tap.case
def damaged_identity_restored():
    """identity whose sealed payload does not open (frame intact): the
    same flow, for the phone's identity and mailbox keys."""
    damaged_then_restored("identity", "seal", "decryption failed (wrong "
                          "key or tampered data)")


@tap.case
def lost_key_file_is_not_started_empty():
    """credentials and masterkey removed (as the old advice said): the
    phone does not start them again empty or anew (which would also
    replace their copies), says so, and restore puts them back."""
    d = K.phone_dir
    K.stop_phone()
    try:
        for name in ("credentials", "masterkey"):
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                good = f.read()
            os.unlink(path)
            rc, out = phone_cmd("keys")
            check(rc != 0, "keys with %s gone" % name, out)
            check("%s/%s is missing, but its last good copy %s/%s.last is "
                  "there" % (d, name, d, name) in out, "says so", out)
            check("restore %s" % name in out, "how to put it back", out)
            check(not os.path.exists(path), "%s made anew" % name)
            with open(path + ".last", "rb") as f:
                check(f.read() == good, "%s.last was replaced" % name)
            rc, out = phone_cmd("restore", name)
            check(rc == 0 and "restored %s/%s" % (d, name) in out and
                  "damaged" not in out, "restore", out)
    finally:
        K.start_phone()
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login with the old key after restore", err)


@tap.case
def damaged_hosts_has_its_own_advice():
    """hosts (no keys) damaged: what removing it costs; restore refuses
    (no copy is kept); removed as advised, the phone works again."""
    d = K.phone_dir
    path = os.path.join(d, "hosts")
    K.stop_phone()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"SKPS\x00\x01\x00\x00\x00\x04junk")
        os.close(fd)
        rc, out = phone_cmd("keys")
        check(rc != 0, "keys with hosts damaged", out)
        check("%s/hosts is damaged (truncated) and cannot be read. It "
              "holds the pinned host keys and the host windows and no "
              "keys: removing it forgets every pin (the next login to "
              "each host is asked as a first use and pins its key "
              "again) and ends the host windows (rm %s/hosts)." % (d, d)
              in out, "its own advice", out)
        check("pair again" not in out, "advises pairing again", out)
        rc, out = phone_cmd("restore", "hosts")
        check(rc != 0 and "hosts holds no keys, so no last good copy is "
              "kept of it" in out, "restore hosts", out)
        os.unlink(path)
        rc, out = phone_cmd("keys")
        check(rc == 0 and "SHA256:" in out, "keys after rm hosts", out)
    finally:
        if os.path.exists(path):
            os.unlink(path)
        K.start_phone()
    ok, err, _ = K.login(K.path("key"))
    check(ok, "login after hosts was removed", err)


def main():
    global K
    K = Kit(sys.argv[1], "state")
    K.phone = None
    try:
        K.key_world()
    except Exception as e:  # noqa: BLE001
        return K.setup_failed(e)
    rc = tap.run(sys.argv[2:])
    return K.finish(rc)


if __name__ == "__main__":
    sys.exit(main())
