/* Fuzz harness: the pairing payloads (hello, reply, confirmation). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/pairflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Strict decoders: whatever they accept re-encodes to the same bytes. */
static void
same(const uint8_t *enc, size_t enclen, const uint8_t *p, size_t n)
{
	if (enc == NULL || enclen != n || memcmp(enc, p, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_pair_hello h;
	char name[SKP_PAIRFLOW_NAME_MAX + 1];
	uint8_t *enc = NULL;
	size_t enclen = 0;

	if (skp_pairflow_decode_hello(p, n, &h) == SKP_OK) {
		if (skp_pairflow_encode_hello(&h, &enc, &enclen) != SKP_OK)
			abort();
		same(enc, enclen, p, n);
		free(enc);
		enc = NULL;
	}
	if (skp_pairflow_decode_reply(p, n, name) == SKP_OK) {
		if (skp_pairflow_encode_reply(name, &enc, &enclen) != SKP_OK)
			abort();
		same(enc, enclen, p, n);
		free(enc);
		enc = NULL;
	}
	if (skp_pairflow_decode_confirm(p, n) == SKP_OK) {
		if (skp_pairflow_encode_confirm(&enc, &enclen) != SKP_OK)
			abort();
		same(enc, enclen, p, n);
		free(enc);
	}
	return 0;
}
