#!/bin/bash
# The bash completion scripts (contrib/bash-completion), with the built
# programs: their commands and options come from --help, so a command
# added to a program completes without touching the script.
#   completion_test.sh SOURCE_DIR SK_PHONE SK_PHONE_AUTHENTICATOR
set -u
src=$1
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
ln -s "$(realpath "$2")" "$bin/sk-phone"
ln -s "$(realpath "$3")" "$bin/sk-phone-authenticator"
PATH=$bin:$PATH

# What bash-completion's helpers give the scripts (they need no more).
_init_completion()
{
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
}
_filedir() { COMPREPLY=(FILES); }
# shellcheck source=/dev/null
. "$src/contrib/bash-completion/sk-phone"
# shellcheck source=/dev/null
. "$src/contrib/bash-completion/sk-phone-authenticator"

fails=0
n=0
# complete FUNCTION WORD... : what completing the last word offers
complete_words()
{
	local f=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	echo " ${COMPREPLY[*]} "
}
# expect "WANT..." "NOT..." FUNCTION WORD...
expect()
{
	local want=$1 not=$2 got w
	shift 2
	got=$(complete_words "$@")
	n=$((n + 1))
	for w in $want; do
		if [[ $got != *" $w "* ]]; then
			echo "not ok $n - ${*:2}: no $w in:$got"
			fails=$((fails + 1))
			return
		fi
	done
	for w in $not; do
		if [[ $got == *" $w "* ]]; then
			echo "not ok $n - ${*:2}: $w in:$got"
			fails=$((fails + 1))
			return
		fi
	done
	echo "ok $n - ${*:2}"
}

expect "pair status unpair keys lost setup proxy --version" "" _sk_phone \
    sk-phone ""
expect "pair" "status" _sk_phone sk-phone pa
expect "--relay --ca --name --yes --uri-file" "--write" _sk_phone \
    sk-phone pair --
expect "--write --proxy --provider" "--relay" _sk_phone sk-phone setup --
expect "FILES" "" _sk_phone sk-phone setup --provider ""
expect "FILES" "" _sk_phone sk-phone lost phone1 --krl ""
expect "--authorized-keys --device" "--krl" _sk_phone sk-phone keys --
expect "pair run log computers keys hosts mailbox restore" \
    "always never ask" _sk_phone_authenticator sk-phone-authenticator ""
expect "run" "pair" _sk_phone_authenticator sk-phone-authenticator \
    --state /tmp ru
expect "--approve --pin-file --window --no-touch" "--name" \
    _sk_phone_authenticator sk-phone-authenticator run --
expect "ask always never" "" _sk_phone_authenticator \
    sk-phone-authenticator run --approve ""
expect "--name --uri-file --ca --yes" "--approve" _sk_phone_authenticator \
    sk-phone-authenticator pair --
echo "1..$n"
[ $fails -eq 0 ]
