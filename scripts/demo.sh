#!/bin/sh
# The demo: relay, reference phone, pairing, a real ssh login and signature.
#
# Builds sk-phone if needed, then in a temporary folder starts a relay and
# a reference phone on 127.0.0.1, pairs them with this computer, makes an
# ecdsa-sk key with the real ssh-keygen, starts a throwaway sshd on
# 127.0.0.1, logs in with the real ssh, signs and verifies a file with
# ssh-keygen -Y, shows the phone's audit log, and stops and removes
# everything it started. Your own ~/.ssh and sk-phone state are not
# touched. Meant for a Debian 12 machine, as root (sshd needs /run/sshd).
#
# sh scripts/demo.sh --web: the same with the web phone instead, the page
# the relay serves, in headless Chromium (scripts/demo-web.py); it says
# where the screenshots of the page are.
set -eu

cd "$(dirname "$0")/.."
top=$(pwd)
web=0
case "${1:-}" in
--web) web=1 ;;
"") ;;
*)
	echo "usage: sh scripts/demo.sh [--web]" >&2
	exit 2
	;;
esac
sh scripts/deps.sh
[ $web = 0 ] || sh scripts/web-deps.sh

builddir=${SKP_DEMO_BUILD:-build}
if [ ! -f "$builddir/build.ninja" ]; then
	echo "==> meson setup $builddir"
	meson setup "$builddir" >/dev/null
fi
echo "==> meson compile -C $builddir"
meson compile -C "$builddir" >/dev/null
b=$top/$builddir
provider=$b/lib/libsk-phone.so
cli=$b/cmd/sk-phone/sk-phone
relay=$b/cmd/sk-phone-relay/sk-phone-relay
phone=$b/cmd/sk-phone-authenticator/sk-phone-authenticator
py=/usr/bin/python3

if [ $web = 1 ]; then
	# The page is built by meson once web/node_modules exists (a build
	# folder set up before that has none: set it up again).
	if [ ! -f "$b/web/index.html" ]; then
		echo "==> meson setup --reconfigure $builddir (to build the web phone)"
		meson setup --reconfigure "$builddir" >/dev/null
		meson compile -C "$builddir" >/dev/null
	fi
	if [ ! -f "$b/web/index.html" ]; then
		echo "demo: no web phone in $b/web: it needs node and" \
		    "web/node_modules (sh scripts/web-deps.sh)" >&2
		exit 1
	fi
	if [ ! -d /run/sshd ] && ! mkdir -p /run/sshd 2>/dev/null; then
		echo "demo: sshd needs the folder /run/sshd: run the demo as root" >&2
		exit 1
	fi
	exec $py scripts/demo-web.py "$b" "$b/web" "$b/web-demo"
fi

tmp=$(mktemp -d /tmp/sk-phone-demo.XXXXXX)
chmod 700 "$tmp"
pids=""
cleanup() {
	status=$?
	trap - EXIT INT TERM
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	# Bounded: give each up to 3 s, then KILL.
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
	if [ $status -ne 0 ]; then
		echo "demo: failed (exit $status); logs were in $tmp" >&2
	fi
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free TCP port on 127.0.0.1.
free_port() {
	$py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait (at most 10 s) until something listens on 127.0.0.1:$1.
wait_port() {
	$py - "$1" <<'PY'
import socket, sys, time
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("nothing listens on port " + sys.argv[1])
PY
}

# Wait (at most 10 s) until file $1 is not empty.
wait_file() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$1" ]
}

export SK_PHONE_DIR="$tmp/computer"
export SK_PHONE_TIMEOUT=30
# The connection keeper of this build (`sk-phone keeper`), started by the
# first signature, its socket in the demo's own runtime folder: the
# signatures after it reach the relay over its open connection. It exits
# by itself when that folder is removed at the end.
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
export SK_PHONE_KEEPER="$cli"
phonedir=$tmp/phone

echo "==> starting the relay on 127.0.0.1"
rport=$(free_port)
"$relay" --listen "127.0.0.1:$rport" >"$tmp/relay.log" 2>&1 &
pids="$pids $!"
wait_port "$rport"
echo "    sk-phone-relay listens on ws://127.0.0.1:$rport"

echo "==> pairing this computer with the reference phone"
"$cli" pair --relay "ws://127.0.0.1:$rport" --name demo-computer --yes \
    --uri-file "$tmp/uri" --timeout 60 >"$tmp/pair.out" 2>&1 &
pairpid=$!
pids="$pids $pairpid"
wait_file "$tmp/uri"
# What the computer shows: the QR code and the URI under it.
sed -n '1,/^sk-phone:\/\/pair/p' "$tmp/pair.out" | sed 's/^/    /'
echo "    (the phone scans it; here the reference phone is given the text)"
"$phone" --state "$phonedir" pair --uri-file "$tmp/uri" --name demo-phone \
    --yes --timeout 60 | sed 's/^/    phone: /'
wait "$pairpid"
grep -E '^(Phone|Code|Paired)' "$tmp/pair.out" | sed 's/^/    /'

echo "==> the phone goes online (approving every request: demo only)"
"$phone" --state "$phonedir" run --approve always >"$tmp/phone.log" 2>&1 &
pids="$pids $!"
i=0
while ! grep -q listening "$tmp/phone.log" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q listening "$tmp/phone.log"
"$cli" status --timeout 5 | sed 's/^/    /'

echo "==> ssh-keygen -t ecdsa-sk -w $provider"
ssh-keygen -q -t ecdsa-sk -w "$provider" -N '' -C demo@sk-phone \
    -f "$tmp/id_ecdsa_sk" </dev/null
sed 's/^/    /' "$tmp/id_ecdsa_sk.pub"
"$cli" status --timeout 5 | grep '^keeper:' | sed 's/^/    /'

echo "==> a throwaway sshd on 127.0.0.1"
if [ ! -d /run/sshd ] && ! mkdir -p /run/sshd 2>/dev/null; then
	echo "demo: sshd needs the folder /run/sshd: run the demo as root" >&2
	exit 1
fi
sport=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key"
cp "$tmp/id_ecdsa_sk.pub" "$tmp/authorized_keys"
cat >"$tmp/sshd_config" <<EOF
Port $sport
ListenAddress 127.0.0.1
HostKey $tmp/host_key
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
EOF
/usr/sbin/sshd -t -f "$tmp/sshd_config"
/usr/sbin/sshd -D -f "$tmp/sshd_config" -E "$tmp/sshd.log" &
pids="$pids $!"
wait_port "$sport"
echo "    sshd listens on 127.0.0.1:$sport"

user=$(id -un)
echo "==> ssh $user@127.0.0.1 through sk-phone proxy (the phone checks the"
echo "    server's host key signature, pins the key, and signs the login)"
ssh -p "$sport" -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
    -o IdentityAgent=none -o UserKnownHostsFile="$tmp/known_hosts" \
    -o StrictHostKeyChecking=accept-new \
    -o ProxyCommand="$cli proxy %h %p" \
    -o SecurityKeyProvider="$provider" -i "$tmp/id_ecdsa_sk" \
    "$user@127.0.0.1" 'echo "    logged in as $(id -un) on $(hostname)"'

echo "==> ssh-keygen -Y sign, then -Y verify"
echo "sk-phone demo $(date -u)" >"$tmp/release.txt"
SSH_SK_PROVIDER=$provider ssh-keygen -Y sign -f "$tmp/id_ecdsa_sk" \
    -n file "$tmp/release.txt" 2>&1 | sed 's/^/    /'
printf 'demo@sk-phone %s\n' "$(cut -d' ' -f1,2 "$tmp/id_ecdsa_sk.pub")" \
    >"$tmp/allowed_signers"
ssh-keygen -Y verify -f "$tmp/allowed_signers" -I demo@sk-phone \
    -n file -s "$tmp/release.txt.sig" <"$tmp/release.txt" |
    sed 's/^/    /'

echo "==> the phone's audit log"
"$phone" --state "$phonedir" log | sed 's/^/    /'
echo "==> the host keys the phone pinned"
"$phone" --state "$phonedir" hosts | sed 's/^/    /'

echo "==> done: stopping the relay, the phone and sshd, removing $tmp"
