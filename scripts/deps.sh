#!/bin/sh
# Installs the Debian packages sk-phone needs to build, test and demo,
# only those that are missing. Uses sudo when not root.
set -eu

PKGS="meson ninja-build pkg-config gcc binutils libc6-dev libssl-dev openssl
libfido2-dev libcbor-dev libqrencode-dev libwebsockets-dev libcurl4-openssl-dev
openssh-client
openssh-server zbar-tools mandoc python3 python3-cryptography procps git
chromium openssh-tests debhelper lintian debootstrap libev-dev systemd
libhiredis-dev"
# debhelper, lintian, debootstrap, systemd: the Debian install test (suite
# 'install', test/install) builds the packages (debian/), checks them with
# lintian and the units with systemd-analyze, and installs them into a
# Debian 12 system it makes with debootstrap.
# libev-dev, libhiredis-dev: the relay's libev event loop and --cluster
# (build dependencies of the sk-phone-relay package).
# chromium: the web phone's tests run it in Debian's, headless, driven by
# playwright-core (web/'s dev dependency, which downloads no browser).
# openssh-tests: OpenSSH's own regression tests, matching the installed
# OpenSSH (suite 'openssh', test/openssh); it pulls putty-tools and
# python3-twisted (its interop tests', which sk-phone does not run),
# about 31 MB installed with their dependencies on Debian 12.
# systemd: systemd-socket-activate, with which test/e2e/e2e_keeper.py
# starts the keeper as its user units do (socket activation).

# The web phone's tests need node 18+ and npm. Any node in PATH will do
# (NodeSource's nodejs brings its own npm: Debian's npm must not replace it).
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
# The relay's --cluster (cmd/sk-phone-relay/cluster.c): hiredis on the
# libev loop (lws's libev plugin); the suite 'cluster' starts its own
# redis-server and haproxy on 127.0.0.1 (their system services are not
# needed) and reads Redis with redis-cli.
PKGS="$PKGS libev-dev libwebsockets-evlib-ev libhiredis-dev redis-server
redis-tools haproxy"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "sk-phone: missing packages:$missing" >&2
	echo "sk-phone: this script installs them on Debian 12 with apt-get;" \
	    "install them by hand on other systems" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "sk-phone: missing packages:$missing; run as root or" \
		    "install sudo" >&2
		exit 1
	fi
	SUDO=sudo
fi
echo "sk-phone: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
