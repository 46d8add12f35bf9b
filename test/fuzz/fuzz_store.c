/* Fuzz harness: the state file parser and the computer's payload decoders
 * (identity, phones, tls-sessions). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/store.h"
#include "sk-phone/tlssess.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Strict decoders: whatever they accept re-encodes to the same bytes. */
static void
payloads(const uint8_t *p, size_t n)
{
	struct skp_p256_key k;
	skp_store_phones_t *s = NULL;
	struct skp_tlssess_list l;
	uint8_t *enc = NULL;
	size_t enclen = 0;

	if (skp_store_identity_decode(p, n, &k) == SKP_OK) {
		if (skp_store_identity_encode(&k, &enc, &enclen) != SKP_OK ||
		    enclen != n || memcmp(enc, p, n) != 0)
			abort();
		skp_wipe(enc, enclen);
		free(enc);
		enc = NULL;
		skp_wipe(&k, sizeof(k));
	}
	if (skp_store_phones_decode(p, n, &s) == SKP_OK) {
		if (skp_store_phones_encode(s, &enc, &enclen) != SKP_OK ||
		    enclen != n || memcmp(enc, p, n) != 0)
			abort();
		skp_wipe(enc, enclen);
		free(enc);
		skp_store_phones_free(&s);
		enc = NULL;
	}
	if (skp_tlssess_decode(p, n, &l) == SKP_OK) {
		if (l.n > SKP_TLSSESS_MAX ||
		    skp_tlssess_encode(&l, &enc, &enclen) != SKP_OK ||
		    enclen != n || memcmp(enc, p, n) != 0)
			abort();
		skp_wipe(enc, enclen);
		free(enc);
		skp_tlssess_list_clear(&l);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	const uint8_t *pl = NULL;
	size_t pllen = 0;
	char why[256];

	/*
	 * A mutated file rarely keeps its checksum, so the payload decoders
	 * also get the raw input directly.
	 */
	if (skp_store_parse(p, n, &pl, &pllen, why, sizeof(why)) == SKP_OK)
		payloads(pl, pllen);
	payloads(p, n);
	return 0;
}
