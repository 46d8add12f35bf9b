/*
 * Fuzz harness: the connection keeper's frames (PROTOCOL.md §11), both
 * directions: what the keeper reads from a provider, what the provider
 * reads from the keeper. The first byte picks the direction.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/keeper.h"
#include "sk-phone/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Pointers the parser hands out stay inside the input. */
static void
inside(const uint8_t *p, size_t n, const void *q, size_t len)
{
	const uint8_t *b = q;

	if (b == NULL)
		return;
	if (b < p || b > p + n || len > (size_t)(p + n - b))
		abort();
}

static void
from_provider(const uint8_t *p, size_t n)
{
	struct skp_relay_frame f;
	struct skp_keeper_open o;
	uint8_t *again = NULL;
	size_t alen = 0;
	char url[SKP_KEEPER_URL_MAX + 1];

	if (skp_keeper_parse_client(p, n, &f) != SKP_OK)
		return;
	if (f.kind != SKP_KEEPER_OPEN) {
		if (f.kind != SKP_RELAY_CALL && f.kind != SKP_RELAY_DATA &&
		    f.kind != SKP_RELAY_HANGUP)
			abort();
		inside(p, n, f.data, f.len);
		return;
	}
	if (skp_keeper_parse_open(p, n, &o) != SKP_OK)
		abort();
	inside(p, n, o.url, o.url_len);
	inside(p, n, o.ca, o.ca_len);
	if (o.url_len == 0 || o.url_len > SKP_KEEPER_URL_MAX ||
	    memchr(o.url, '\0', o.url_len) != NULL)
		abort();
	/* An OPEN of version 1 encodes back to the same bytes. */
	if (o.version != SKP_KEEPER_VERSION || o.ca_len > SKP_KEEPER_CA_MAX)
		return;
	memcpy(url, o.url, o.url_len);
	url[o.url_len] = '\0';
	if (skp_keeper_open_encode(url, o.ca, o.ca_len, o.connect_ms, &again,
	    &alen) != SKP_OK)
		abort();
	if (alen != n || memcmp(again, p, n) != 0)
		abort();
	free(again);
}

static void
from_keeper(const uint8_t *p, size_t n)
{
	struct skp_keeper_frame f;
	size_t i;

	if (skp_keeper_parse_keeper(p, n, &f) != SKP_OK)
		return;
	inside(p, n, f.data, f.len);
	switch (f.kind) {
	case SKP_KEEPER_READY:
		if (n != SKP_RELAY_HDR_LEN || f.chan != 0)
			abort();
		break;
	case SKP_KEEPER_FAILED:
		if (f.chan != 0 || f.error == 0 ||
		    f.len > SKP_RELAY_REASON_MAX)
			abort();
		for (i = 0; i < f.len; i++)
			if (f.data[i] < 0x20 || f.data[i] > 0x7e)
				abort();
		(void)skp_keeper_err_of(f.error);
		break;
	case SKP_RELAY_ONLINE:
	case SKP_RELAY_OFFLINE:
	case SKP_RELAY_DATA:
	case SKP_RELAY_END:
		if (f.chan == 0)
			abort();
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		from_keeper(data + 1, size - 1);
	else
		from_provider(data + 1, size - 1);
	return 0;
}
