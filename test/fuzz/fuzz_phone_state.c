/*
 * Fuzz harness: the reference phone's state files. The first byte picks
 * the reader: the sealed wrapper (under a fixed key), or one of the
 * inner payloads, which must re-encode to the bytes they accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The phone's state code, with its static encoders, built in here. */
#include "cmd/sk-phone-authenticator/phstate.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t key[SKP_PH_KEY_LEN] = { 1, 2, 3, 4 };

static void
roundtrip(struct skp_phstate *st, encode_fn enc, const uint8_t *p, size_t n)
{
	uint8_t *out = NULL;
	size_t outlen = 0;

	if (enc(st, &out, &outlen) != SKP_OK || outlen != n ||
	    memcmp(out, p, n) != 0)
		abort();
	skp_wipe(out, outlen);
	free(out);
}

/*
 * One state for every input: allocating and wiping all of it (600 KB,
 * most of it the host pins, which no decoder here touches) per input
 * made this harness slow. Before each input, everything but the host
 * pins and windows goes back to zero, as calloc() left it; the pins must
 * still be untouched.
 */
static struct skp_phstate *
state_reset(struct skp_phstate **stp)
{
	struct skp_phstate *st = *stp;
	const size_t hosts = offsetof(struct skp_phstate, hosts);
	const size_t after = offsetof(struct skp_phstate, nhwins);

	if (st == NULL) {
		if ((st = *stp = calloc(1, sizeof(*st))) == NULL)
			abort();
		return st;
	}
	if (st->nhosts != 0 || st->nhwins != 0)
		abort();
	memset(st, 0, hosts);
	memset((uint8_t *)st + after, 0, sizeof(*st) - after);
	return st;
}

static void
seen_fixed_point(struct skp_phstate *st)
{
	static struct skp_phstate *second;
	struct skp_phstate *st2 = state_reset(&second);
	uint8_t *out = NULL;
	size_t outlen = 0, i;

	if (encode_seen(st, &out, &outlen) != SKP_OK)
		abort();
	if (skp_phstate_decode_seen(st2, out, outlen) != SKP_OK ||
	    st2->nseen != st->nseen)
		abort();
	for (i = 0; i < st->nseen; i++)
		if (memcmp(st2->seen[i].id, st->seen[i].id,
		    SKP_PH_REQ_ID_LEN) != 0 || memcmp(st2->seen[i].tag,
		    st->seen[i].tag, SKP_PH_SEEN_TAG_LEN) != 0 ||
		    st2->seen[i].req_ms != st->seen[i].req_ms)
			abort();
	roundtrip(st2, encode_seen, out, outlen);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct skp_phstate *state;
	struct skp_phstate *st;
	const uint8_t *p = data + 1;
	uint8_t *pt = NULL;
	size_t n = size - 1, ptlen = 0;

	if (size < 1)
		return 0;
	st = state_reset(&state);
	switch (data[0] % 7) {
	case 0:
		if (skp_phstate_open_sealed(key, "credentials", p, n, &pt,
		    &ptlen) == SKP_OK &&
		    skp_phstate_decode_creds(st, pt, ptlen) == SKP_OK)
			roundtrip(st, encode_creds, pt, ptlen);
		break;
	case 1:
		/* A protocol 1 file is read with a new mailbox key, so it
		 * does not encode back to itself. */
		if (skp_phstate_decode_identity(st, p, n) == SKP_OK &&
		    !st->mailbox_migrated)
			roundtrip(st, encode_identity, p, n);
		break;
	case 2:
		if (skp_phstate_decode_computers(st, p, n) == SKP_OK)
			roundtrip(st, encode_computers, p, n);
		break;
	case 3:
		if (skp_phstate_decode_creds(st, p, n) == SKP_OK)
			roundtrip(st, encode_creds, p, n);
		break;
	case 4:
		/* Counters of unknown keys are dropped: no round trip. */
		(void)skp_phstate_decode_counters(st, p, n);
		break;
	case 6:
		if (skp_phstate_decode_pin(st, p, n) == SKP_OK)
			roundtrip(st, encode_pin, p, n);
		break;
	default:
		/*
		 * The replay cache is written in this boot's terms (boot id,
		 * boot clock) and an older phone's entries are upgraded: its
		 * round trip is a fixed point after one write, with the same
		 * ids, tags and request times.
		 */
		if (skp_phstate_decode_seen(st, p, n) == SKP_OK)
			seen_fixed_point(st);
		break;
	}
	if (pt != NULL) {
		skp_wipe(pt, ptlen);
		free(pt);
	}
	return 0;
}
