#!/bin/sh
# scripts/fuzz.sh SECONDS [HARNESS...]
#
# Builds the libFuzzer build (clang, ASan + UBSan, every finding fatal) in
# build-fuzz/ and runs each fuzz harness (all of them, or the ones named,
# e.g. "relayurl") for SECONDS seconds over a copy of its seed corpus,
# one after the other at nice 10. Prints executions per second and the
# total for each. A crash, leak or UBSan report stops that harness; its
# input is kept in build-fuzz/fuzz-crashes/ and the script exits 1.
# Copy such an input into test/fuzz/corpus/NAME/ once fixed, so that the
# test suite replays it from then on.
set -eu

cd "$(dirname "$0")/.."

usage() {
	echo "usage: scripts/fuzz.sh SECONDS [HARNESS...]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
case "$secs" in
''|*[!0-9]*|0) usage ;;
esac

command -v clang >/dev/null 2>&1 || {
	echo "fuzz.sh: needs clang with libFuzzer" \
	    "(apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
}

builddir=build-fuzz
if [ ! -f "$builddir/build.ninja" ]; then
	CC=clang meson setup "$builddir" -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
nice -n 10 meson compile -C "$builddir" >/dev/null

if [ $# -eq 0 ]; then
	# Every harness the meson file registers, in its order.
	# shellcheck disable=SC2046
	set -- $(sed -n "/^fuzz_harnesses = \[/,/^\]/s/^[[:space:]]*'\([a-z0-9_]*\)',*$/\1/p" \
	    test/fuzz/meson.build)
fi

crashes="$builddir/fuzz-crashes"
mkdir -p "$crashes"
# On /dev/shm when there is one: the setup harness writes a file per input.
tmpbase=${TMPDIR:-/tmp}
[ -w /dev/shm ] && tmpbase=/dev/shm
work=$(mktemp -d "$tmpbase/skp-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# Harnesses that need files (setup, request) make them under here.
mkdir -p "$work/tmp"
SKP_FUZZ_TMPDIR="$work/tmp"
export SKP_FUZZ_TMPDIR

# Belt and braces: the build already makes UBSan findings fatal.
UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS ASAN_OPTIONS

status=0
printf '%-16s %12s %14s %s\n' harness execs/s inputs result
for h in "$@"; do
	exe="$builddir/test/fuzz/fuzz_$h"
	if [ ! -x "$exe" ] || [ ! -d "test/fuzz/corpus/$h" ]; then
		echo "fuzz.sh: no harness or corpus named $h" >&2
		status=1
		continue
	fi
	mkdir -p "$work/$h"
	cp test/fuzz/corpus/"$h"/* "$work/$h/"
	log="$work/$h.log"
	result=ok
	nice -n 10 "$exe" "$work/$h" -max_total_time="$secs" \
	    -print_final_stats=1 -artifact_prefix="$crashes/$h-" \
	    >"$log" 2>&1 || result=FAILED
	eps=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log" |
	    tail -1)
	n=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" |
	    tail -1)
	printf '%-16s %12s %14s %s\n' "$h" "${eps:--}" "${n:--}" "$result"
	if [ "$result" != ok ]; then
		status=1
		cp "$log" "$crashes/$h.log"
		grep -E 'ERROR|runtime error|SUMMARY|Test unit written' \
		    "$log" | head -5 >&2
	fi
done
exit $status
