#!/bin/sh
# Installs web/'s npm packages (pinned in web/package-lock.json) with
# `npm ci`, only when web/node_modules is missing or package-lock.json
# changed since the last install: so a run with nothing to do never
# touches the network.
set -eu
cd "$(dirname "$0")/../web"
stamp=node_modules/.sk-phone-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "sk-phone: npm is missing: run sh scripts/deps.sh" >&2
	exit 1
fi
echo "sk-phone: npm ci in web/" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" > "$stamp"
