/*
 * Fuzz harness: the reference phone's "cas" file (the host CAs the owner
 * trusts), whose payload must re-encode to the bytes it accepted, and
 * whose entries decide host patterns against a fixed name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The phone's state code, with its static encoders, built in here. */
#include "cmd/sk-phone-authenticator/phstate.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct skp_phstate *st;
	uint8_t *out = NULL;
	size_t outlen = 0, i;

	if (st == NULL && (st = calloc(1, sizeof(*st))) == NULL)
		abort();
	st->ncas = 0;
	if (skp_phstate_decode_cas(st, p, n) != SKP_OK) {
		if (st->ncas != 0)
			abort();
		return 0;
	}
	if (st->ncas > SKP_PH_MAX_CAS ||
	    encode_cas(st, &out, &outlen) != SKP_OK || outlen != n ||
	    memcmp(out, p, n) != 0)
		abort();
	free(out);
	for (i = 0; i < st->ncas; i++) {
		if (!skp_hostcert_pattern_ok(st->cas[i].pattern) ||
		    st->cas[i].type == NULL)
			abort();
		/* An entry that matches is found (itself or an earlier one). */
		if (skp_hostcert_pattern_match(st->cas[i].pattern,
		    "[host.example.com]:2222") &&
		    skp_phstate_ca_trusted(st, st->cas[i].key,
		    st->cas[i].key_len, "[host.example.com]:2222") == NULL)
			abort();
	}
	return 0;
}
