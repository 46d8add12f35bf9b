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
if [ ! -f "$web/node_modules/cborg/package.json" ]; then
	echo "sk-phone: $web/node_modules is missing: run" \
	    "'npm ci' in $web (sh scripts/test.sh does)" >&2
	exit 1
fi
cd "$web"
exec "$node" --test "$@"
