/* Fuzz harness: relay frames, both directions (relay and client parsers). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Pointers the parser hands out stay inside the input. */
static void
inside(const uint8_t *p, size_t n, const uint8_t *q, size_t len)
{
	if (q == NULL)
		return;
	if (q < p || q > p + n || len > (size_t)(p + n - q))
		abort();
}

/* What parses is a frame: rebuild it from the fields and compare. */
static void
rebuild(const uint8_t *p, size_t n, const struct skp_relay_frame *f)
{
	uint8_t hdr[SKP_RELAY_HDR_LEN];
	size_t body = n - SKP_RELAY_HDR_LEN;

	if (n < SKP_RELAY_HDR_LEN)
		abort();
	skp_relay_put_hdr(hdr, f->kind, f->chan);
	if (memcmp(hdr, p, sizeof(hdr)) != 0)
		abort();
	inside(p, n, f->id, f->id != NULL ? SKP_RELAY_ID_LEN : 0);
	inside(p, n, f->pub, f->pub != NULL ? SKP_RELAY_PUB_LEN : 0);
	inside(p, n, f->data, f->len);
	switch (f->kind) {
	case SKP_RELAY_LISTEN:
		if (body != 97 || f->chan != 0 || f->id != p + 5 ||
		    f->pub != p + 37)
			abort();
		break;
	case SKP_RELAY_PROVE:
	case SKP_RELAY_CHALLENGE:
		if (body != (f->kind == SKP_RELAY_PROVE ? 64u : 32u) ||
		    f->chan != 0 || f->data != p + 5 || f->len != body)
			abort();
		break;
	case SKP_RELAY_CALL:
	case SKP_RELAY_JOIN:
	case SKP_RELAY_MEET:
		if (body != 36 || f->chan == 0 || f->id != p + 5 ||
		    f->timeout_ms != ((uint32_t)p[37] << 24 |
		    (uint32_t)p[38] << 16 | (uint32_t)p[39] << 8 | p[40]))
			abort();
		break;
	case SKP_RELAY_DATA:
		if (f->chan == 0 || f->len != body || (body > 0 &&
		    memcmp(f->data, p + 5, body) != 0))
			abort();
		break;
	case SKP_RELAY_END:
		if (body < 2 || f->len != body - 2 || f->code < 4000 ||
		    f->code > 4999 || f->len > SKP_RELAY_REASON_MAX)
			abort();
		break;
	case SKP_RELAY_LISTENING:
	case SKP_RELAY_UNSUBSCRIBE:
		if (body != 0 || f->chan != 0)
			abort();
		break;
	case SKP_RELAY_SUBSCRIBE:
		/* empty, or keys (81) and a URL of printable ASCII */
		if (f->chan != 0 || f->len != body || (body != 0 &&
		    (body < 81 + 12 || body > 81 + 1024 || f->data != p + 5)))
			abort();
		for (size_t i = 81; i < body; i++)
			if (p[5 + i] < 0x21 || p[5 + i] > 0x7e)
				abort();
		break;
	case SKP_RELAY_PUSH:
		if (f->chan != 0 || f->status > SKP_RELAY_PUSH_FULL ||
		    p[5] != f->status)
			abort();
		if (f->status == SKP_RELAY_PUSH_OFF ? (body != 1 ||
		    f->data != NULL) : (body != 66 || f->data != p + 6 ||
		    f->len != 65))
			abort();
		break;
	default:
		if (body != 0 || f->chan == 0)
			abort();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_relay_frame f;

	if (skp_relay_parse_client(p, n, &f) == SKP_OK) {
		if (f.kind > SKP_RELAY_UNSUBSCRIBE || f.kind == 0)
			abort();
		rebuild(p, n, &f);
	} else if (f.kind != 0 || f.data != NULL || f.id != NULL)
		abort();
	if (skp_relay_parse_relay(p, n, &f) == SKP_OK) {
		if (f.kind != SKP_RELAY_DATA && (f.kind < SKP_RELAY_LISTENING ||
		    f.kind > SKP_RELAY_PUSH))
			abort();
		rebuild(p, n, &f);
	} else if (f.kind != 0 || f.data != NULL || f.id != NULL)
		abort();
	return 0;
}
