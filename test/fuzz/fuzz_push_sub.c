/*
 * Fuzz harness: a Web Push subscription as the relay reads it, from a
 * SUBSCRIBE frame's body (wp_sub_from_frame) and from its file in
 * DIR/subs (wp_sub_file_parse; cmd/sk-phone-relay/webpush.c). What is
 * accepted has a point on the curve and an endpoint of 12..1024 bytes of
 * 0x21..0x7e, and encodes back to exactly the bytes read.
 * Input: a selector byte (even: a file, odd: a frame body), then the bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/store.h"

#include "webpush.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
check_sub(const struct wp_sub *s, uint8_t *body, size_t cap)
{
	size_t i, n = strnlen(s->endpoint, sizeof(s->endpoint));

	if (n < WP_ENDPOINT_MIN || n > WP_ENDPOINT_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (s->endpoint[i] < 0x21 || s->endpoint[i] > 0x7e)
			abort();
	if (skp_p256_check_public(s->p256dh) != SKP_OK)
		abort();
	if ((n = wp_sub_encode(s, body, cap)) == 0)
		abort();
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	uint8_t body[WP_SUB_BODY_MAX];
	struct wp_sub s;
	skp_buf_t *file = NULL;
	size_t m;

	if (n < 1)
		return 0;
	if (p[0] % 2 == 0) {
		if (wp_sub_file_parse(p + 1, n - 1, &s) != 0)
			return 0;
		m = check_sub(&s, body, sizeof(body));
		/* One file per subscription: framing it again gives it back. */
		if (skp_store_frame(body, m, &file) != SKP_OK ||
		    skp_buf_len(file) != n - 1 ||
		    memcmp(skp_buf_ptr(file), p + 1, n - 1) != 0)
			abort();
		skp_buf_free(&file);
	} else {
		if (wp_sub_from_frame(p + 1, n - 1, &s) != 0)
			return 0;
		m = check_sub(&s, body, sizeof(body));
		if (m != n - 1 || memcmp(body, p + 1, m) != 0)
			abort();
	}
	return 0;
}
