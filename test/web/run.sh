#!/bin/sh
# The "web" suite: the web phone's JavaScript tests (node:test) in web/test.
# Fails, never skips, when node or web/node_modules is missing.
#   run.sh NODE WEBDIR TESTFILE...
set -eu
node=$1
web=$2
shift 2
if ! "$node" --version >/dev/null 2>&1; then
	echo "sk-phone: node is missing: install nodejs 18 or later" \
	    "(sh scripts/deps.sh does), then run the tests again" >&2
	exit 1
fi
# WebCrypto on the global scope: node 19 and later have it; node 18
# (Debian 12's) only with --experimental-global-webcrypto.
has_webcrypto() {
	"$node" -e 'process.exit(typeof CryptoKey === "function" &&
	    globalThis.crypto && globalThis.crypto.subtle ? 0 : 1)' 2>/dev/null
}
if ! has_webcrypto; then
	NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-global-webcrypto"
	export NODE_OPTIONS
	if ! has_webcrypto; then
		echo "sk-phone: $node has no WebCrypto (globalThis.crypto.subtle):" \
		    "install node 18 or later" >&2
		exit 1
	fi
fi
# CustomEvent (the web phone's controller and relay client are
# EventTargets): node 19 and later have it; node 18 behind a flag.
if ! "$node" -e 'process.exit(typeof CustomEvent === "function" ? 0 : 1)' 2>/dev/null; then
	NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-global-customevent"
	export NODE_OPTIONS
fi
if [ ! -f "$web/node_modules/cborg/package.json" ]; then
	echo "sk-phone: $web/node_modules is missing: run" \
	    "'npm ci' in $web (sh scripts/test.sh does)" >&2
	exit 1
fi
cd "$web"
exec "$node" --test "$@"
