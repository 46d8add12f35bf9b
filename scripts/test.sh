#!/bin/sh
# The test command: installs what is missing, configures, builds and runs
# every test (unit, fuzz corpus replay, relay, phone, end-to-end, man lint).
#   scripts/test.sh            the whole suite, in build/
#   scripts/test.sh --asan     the same under AddressSanitizer and UBSan,
#                              in build-asan/
#   scripts/test.sh -- ARGS    extra arguments for `meson test`
#                              (e.g. `-- --suite unit`)
set -eu

cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/web-deps.sh

builddir=build
setup_args=""
test_args=""
while [ $# -gt 0 ]; do
	case "$1" in
	--asan)
		builddir=build-asan
		setup_args="-Db_sanitize=address,undefined -Db_lundef=false"
		# The Debian install test builds and installs the packages
		# (no sanitizer in them): the plain pass runs it.
		test_args="--no-suite install"
		;;
	--)
		shift
		break
		;;
	*)
		echo "usage: scripts/test.sh [--asan] [-- meson-test-args]" >&2
		exit 2
		;;
	esac
	shift
done

if [ -f "$builddir/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson configure "$builddir" $setup_args >/dev/null
else
	# shellcheck disable=SC2086
	meson setup "$builddir" $setup_args >/dev/null
fi
meson compile -C "$builddir"

if [ -n "$setup_args" ]; then
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	export ASAN_OPTIONS UBSAN_OPTIONS
fi

status=0
# shellcheck disable=SC2086
meson test -C "$builddir" --print-errorlogs --num-processes 2 $test_args \
    "$@" || status=$?

# One closing line that any CI can read, from meson's own log.
/usr/bin/python3 - "$builddir/meson-logs/testlog.json" <<'PY' || true
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
