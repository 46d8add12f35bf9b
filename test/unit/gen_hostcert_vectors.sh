#!/bin/sh
# Makes test/unit/hostcert_vectors.h: OpenSSH certificates from ssh-keygen -s
# (run by hand; the header is checked in). Usage: gen_hostcert_vectors.sh > F
set -eu
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d"
k() { ssh-keygen -q -t "$1" $2 -N '' -C x -f "$3"; }
k ed25519 "" ca_ed
k rsa "-b 2048" ca_rsa
k ecdsa "-b 384" ca_ec384
k ed25519 "" h_ed
k ecdsa "-b 256" h_ec256
k ecdsa "-b 521" h_ec521
k rsa "-b 2048" h_rsa
V=20260101000000Z:20360101000000Z
# name host-key CA extra-args...
c() {
	n=$1 h=$2 ca=$3
	shift 3
	cp "$h.pub" "$n.pub"
	ssh-keygen -q -s "$ca" -V "$V" "$@" "$n.pub"
}
c ed_by_ed h_ed ca_ed -h -I hostA -n host.example,localhost
c ec256_by_rsa h_ec256 ca_rsa -h -I hostB -n localhost
c rsa_by_ec384 h_rsa ca_ec384 -h -I hostC -n localhost -z 77
c ec521_by_rsa256 h_ec521 ca_rsa -t rsa-sha2-256 -h -I hostD -n localhost
c ed_by_rsa_sha1 h_ed ca_rsa -t ssh-rsa -h -I hostE -n localhost
c user_cert h_ed ca_ed -I user -n localhost
c no_principals h_ed ca_ed -h -I none
c critical h_ed ca_ed -h -I crit -n localhost \
    -O critical:foo@example.com=bar
c extension h_ed ca_ed -h -I ext -n localhost \
    -O extension:x@example.com=v
V=20200101000000Z:20210101000000Z
c expired h_ed ca_ed -h -I old -n localhost
hex() { cut -d' ' -f2 "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n'; }
arr() {
	printf 'static const char %s[] =\n' "$1"
	hex "$2" | fold -w 64 | sed 's/.*/    "&"/'
	printf ';\n'
}
echo "/* Made by test/unit/gen_hostcert_vectors.sh with $(ssh -V 2>&1 | cut -d, -f1). */"
for f in ca_ed ca_rsa ca_ec384 h_ed h_ec256 h_ec521 h_rsa; do
	arr "$f" "$f.pub"
done
for f in ed_by_ed ec256_by_rsa rsa_by_ec384 ec521_by_rsa256 ed_by_rsa_sha1 \
    user_cert no_principals critical extension expired; do
	arr "cert_$f" "$f-cert.pub"
done
