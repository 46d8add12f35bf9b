/*
 * Fuzz harness: the transfer URI and messages (docs/PROTOCOL.md section
 * 10). What the strict decoders accept encodes back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same(int rc, const uint8_t *enc, size_t enclen, const void *p, size_t n)
{
	if (rc != SKP_OK || enclen != n || memcmp(enc, p, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_transferuri u;
	uint8_t d[SKP_TRANSFER_DIGEST_LEN], *enc = NULL;
	char text[SKP_TRANSFER_URI_MAX + 1];
	size_t enclen = 0, len = 0;
	int rc;

	if (skp_transferuri_parse((const char *)p, n, &u) == SKP_OK) {
		/* What it accepts it writes again, and reads that back. */
		if (skp_transferuri_encode(&u, text, sizeof(text)) != SKP_OK ||
		    skp_transferuri_parse(text, strlen(text), &u) != SKP_OK)
			abort();
	}
	if (skp_transfer_decode_hello(p, n) == SKP_OK) {
		rc = skp_transfer_encode_hello(&enc, &enclen);
		same(rc, enc, enclen, p, n);
		free(enc);
		enc = NULL;
	}
	if (skp_transfer_decode_header(p, n, &len, d) == SKP_OK) {
		if (len == 0 || len > SKP_TRANSFER_PAYLOAD_MAX)
			abort();
		rc = skp_transfer_encode_header(len, d, &enc, &enclen);
		same(rc, enc, enclen, p, n);
		free(enc);
		enc = NULL;
	}
	if (skp_transfer_decode_received(p, n, d) == SKP_OK) {
		rc = skp_transfer_encode_received(d, &enc, &enclen);
		same(rc, enc, enclen, p, n);
		free(enc);
	}
	return 0;
}
