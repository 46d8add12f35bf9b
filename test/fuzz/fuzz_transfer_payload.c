/*
 * Fuzz harness: the transfer payload (docs/PROTOCOL.md section 10.4), the
 * whole state of a phone as the new phone receives it. What the strict
 * decoder accepts is built back to the same bytes. The old phone's marker
 * ("moved", read from disk) goes through its decoder too.
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
	uint64_t sent = 0, t = 0;
	skp_buf_t *b;

	(void)moved_decode(p, n, &t);
	if (st == NULL && (st = calloc(1, sizeof(*st))) == NULL)
		abort();
	memset(st, 0, sizeof(*st));
	if (skp_phstate_payload_decode(st, p, n, &sent) != SKP_OK)
		return 0;
	if (!st->have_identity || st->ncreds > SKP_PH_MAX_CREDS ||
	    st->ncomputers > SKP_PH_MAX_COMPUTERS || st->nhwins != 0)
		abort();
	if ((b = skp_buf_new(SKP_TRANSFER_PAYLOAD_MAX + 1)) == NULL)
		abort();
	if (payload_build(st, sent, b) != SKP_OK || skp_buf_len(b) != n ||
	    memcmp(skp_buf_ptr(b), p, n) != 0)
		abort();
	skp_buf_free(&b);
	return 0;
}
