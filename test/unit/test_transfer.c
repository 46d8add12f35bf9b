/* Unit tests for the transfer URI, derivations and messages (section 10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/transfer.h"
#include "harness.h"

/*
 * Vectors of docs/PROTOCOL.md section 10.6, made at development time by
 * /usr/bin/python3 with hashlib, hmac (HKDF as extract-then-expand, empty
 * salt), base64.urlsafe_b64encode with "=" stripped, python3-cryptography
 * for the point, and a small canonical CBOR writer.
 */
#define KEY_HEX	"04e1eeebced8859b293a0e1db2e19f7a592e5e337d62263134b4eac8a" \
		"fce379c543fc7ee1f891e32f4155d9b08f9c9a5042629f845dda1d9dcd1" \
		"bef347eef39493"
#define KEY_B64	"BOHu687YhZspOg4dsuGfelkuXjN9YiYxNLTqyK_ON5xUP8fuH4keMvQVX" \
		"ZsI-cmlBCYp-EXdodnc0b7zR-7zlJM"
#define SEC_B64	"AAECAwQFBgcICQoLDA0ODw"
#define RELAY	"wss://relay.example.com:8443/sk"
#define RELAY_B64 "d3NzOi8vcmVsYXkuZXhhbXBsZS5jb206ODQ0My9zaw"
#define VECTOR_URI "sk-phone://transfer?v=1&k=" KEY_B64 "&s=" SEC_B64 \
		"&r=" RELAY_B64 "&t=1700000000"
#define DIGEST	"e5db08597c56a0605fcd5bb711c490cdc2c3c85566dcdc2a3f74d1f7a8ca3e1e"
#define HEADER	"a2011901b2025820" DIGEST
#define RECEIVED "a1015820" DIGEST

static void
fill(struct skp_transferuri *u)
{
	size_t n, i;
	uint8_t *k = skp_test_unhex(KEY_HEX, &n);

	memset(u, 0, sizeof(*u));
	memcpy(u->key, k, sizeof(u->key));
	for (i = 0; i < sizeof(u->secret); i++)
		u->secret[i] = (uint8_t)i;
	snprintf(u->relay, sizeof(u->relay), "%s", RELAY);
	u->created = 1700000000;
	free(k);
}

static int
parse(const char *s)
{
	struct skp_transferuri u;

	return skp_transferuri_parse(s, strlen(s), &u);
}

static char *
mk(const char *v, const char *k, const char *s, const char *r,
    const char *t, const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "sk-phone://transfer?v=%s&k=%s&s=%s&r=%s"
	    "&t=%s%s", v, k, s, r, t, extra);
	return buf;
}

static void
derive(void)
{
	uint8_t s[SKP_TRANSFER_SECRET_LEN], out[32], h[32], *want;
	char code[SKP_CONFIRM_CODE_LEN + 1];
	size_t i, n;

	for (i = 0; i < sizeof(s); i++)
		s[i] = (uint8_t)i;
	CHECK_RC(skp_transfer_rendezvous_id(s, out), SKP_OK);
	want = skp_test_unhex("e88fe68d88ca0b24a2b38743fc8cf35d8f25344edc9dc1"
	    "2bc21b20d8ed96da4d", &n);
	CHECK_MEM(out, want, 32);
	free(want);
	CHECK_RC(skp_transfer_psk(s, out), SKP_OK);
	want = skp_test_unhex("9a9fd3c35213287fb5d631e3e8aa994b9c399186c43a97"
	    "98557f0dd7ba39619f", &n);
	CHECK_MEM(out, want, 32);
	free(want);
	for (i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)(0x20 + i);
	CHECK_RC(skp_transfer_confirm_code(h, code), SKP_OK);
	CHECK(strcmp(code, "773295") == 0);
	memset(h, 0x24, sizeof(h));
	CHECK_RC(skp_transfer_confirm_code(h, code), SKP_OK);
	CHECK(strcmp(code, "577159") == 0);
	/* Not pairing's: the same secret gives pairing another id. */
	CHECK_RC(skp_pairuri_rendezvous_id(s, out), SKP_OK);
	want = skp_test_unhex("e88fe68d88ca0b24a2b38743fc8cf35d8f25344edc9dc1"
	    "2bc21b20d8ed96da4d", &n);
	CHECK(memcmp(out, want, 32) != 0);
	free(want);
}

static void
uri_vector(void)
{
	struct skp_transferuri u, want;
	char out[SKP_TRANSFER_URI_MAX + 1];

	fill(&want);
	CHECK_RC(skp_transferuri_encode(&want, out, sizeof(out)), SKP_OK);
	CHECK(strcmp(out, VECTOR_URI) == 0);
	CHECK(strlen(VECTOR_URI) == 196);
	memset(&u, 0xee, sizeof(u));
	REQUIRE(skp_transferuri_parse(VECTOR_URI, strlen(VECTOR_URI), &u) ==
	    SKP_OK);
	CHECK(memcmp(&u, &want, sizeof(u)) == 0);
	/* Any order. */
	CHECK_RC(parse("sk-phone://transfer?t=1700000000&r=" RELAY_B64
	    "&s=" SEC_B64 "&k=" KEY_B64 "&v=1"), SKP_OK);
	/* No room for the NUL. */
	CHECK_RC(skp_transferuri_encode(&want, out, strlen(VECTOR_URI)),
	    SKP_ERR_TOO_LARGE);
}

static void
uri_refusals(void)
{
	char big[1100];

	/* A pairing URI, another scheme, a fragment-less web form. */
	CHECK_RC(parse("sk-phone://pair?v=1&k=" KEY_B64 "&s=" SEC_B64 "&r="
	    RELAY_B64 "&t=1700000000"), SKP_ERR_FORMAT);
	CHECK_RC(parse("SK-PHONE://transfer?v=1"), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, RELAY_B64, "1700000000",
	    "&x=1")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, RELAY_B64, "1700000000",
	    "&t=1")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, RELAY_B64, "1700000000",
	    "&")), SKP_ERR_FORMAT);
	CHECK_RC(parse("sk-phone://transfer?v=1&k=" KEY_B64 "&s=" SEC_B64
	    "&r=" RELAY_B64), SKP_ERR_FORMAT);
	/* Version first, whatever else is wrong. */
	CHECK_RC(parse("sk-phone://transfer?v=2&zzz"), SKP_ERR_VERSION);
	CHECK_RC(parse(mk("10", KEY_B64, SEC_B64, RELAY_B64, "1", "")),
	    SKP_ERR_VERSION);
	CHECK_RC(parse(mk("123456789012345678901234567890", "x", "", "", "",
	    "")), SKP_ERR_VERSION);
	/* Past 64 bits with 20 digits: newer all the same, not malformed. */
	CHECK_RC(parse(mk("18446744073709551616", "x", "", "", "", "")),
	    SKP_ERR_VERSION);
	CHECK_RC(parse(mk("99999999999999999999", KEY_B64, SEC_B64, RELAY_B64,
	    "1", "")), SKP_ERR_VERSION);
	CHECK_RC(parse(mk("0", KEY_B64, SEC_B64, RELAY_B64, "1", "")),
	    SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("01", KEY_B64, SEC_B64, RELAY_B64, "1", "")),
	    SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("", KEY_B64, SEC_B64, RELAY_B64, "1", "")),
	    SKP_ERR_FORMAT);
	/* k: length, alphabet, on the curve. */
	CHECK_RC(parse(mk("1", SEC_B64, SEC_B64, RELAY_B64, "1", "")),
	    SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", "BOHu687YhZspOg4dsuGfelkuXjN9YiYxNLTqyK_ON5xUP8"
	    "fuH4keMvQVXZsI-cmlBCYp-EXdodnc0b7zR-7zlJA", SEC_B64, RELAY_B64,
	    "1", "")), SKP_ERR_CRYPTO);
	CHECK_RC(parse(mk("1", KEY_B64, "AAECAwQFBgcICQoLDA0OD=", RELAY_B64,
	    "1", "")), SKP_ERR_FORMAT);
	/* r: a URL the relay rules take ("http://x", "ws://x\0" refused). */
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, "aHR0cDovL3g", "1", "")),
	    SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, "d3M6Ly94AA", "1", "")),
	    SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, "", "1", "")),
	    SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, "d3M6Ly94", "1", "")),
	    SKP_OK);
	/* t: one spelling. */
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, RELAY_B64, "01", "")),
	    SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("1", KEY_B64, SEC_B64, RELAY_B64,
	    "18446744073709551616", "")), SKP_ERR_FORMAT);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_RC(parse(big), SKP_ERR_TOO_LARGE);
}

static void
freshness(void)
{
	struct skp_transferuri u;

	fill(&u);
	CHECK_RC(skp_transferuri_check_fresh(&u, 1700000000 + 300), SKP_OK);
	CHECK_RC(skp_transferuri_check_fresh(&u, 1700000000 - 60), SKP_OK);
	CHECK_RC(skp_transferuri_check_fresh(&u, 1700000000 + 301),
	    SKP_ERR_EXPIRED);
	CHECK_RC(skp_transferuri_check_fresh(&u, 1700000000 - 61),
	    SKP_ERR_EXPIRED);
	/* The flow refuses an old URI before any network. */
	{
		skp_transfer_t *tf = NULL;

		CHECK_RC(skp_transfer_new_new(VECTOR_URI, 1700000000 + 301,
		    &tf), SKP_ERR_EXPIRED);
		CHECK(tf == NULL);
	}
}

static void
same_hex(const uint8_t *p, size_t n, const char *hex)
{
	size_t wn;
	uint8_t *w = skp_test_unhex(hex, &wn);

	CHECK(n == wn && memcmp(p, w, n) == 0);
	free(w);
}

static void
messages(void)
{
	uint8_t d[SKP_TRANSFER_DIGEST_LEN], got[SKP_TRANSFER_DIGEST_LEN];
	uint8_t *p = NULL, *w;
	size_t n = 0, len = 0, wn;

	w = skp_test_unhex(DIGEST, &wn);
	memcpy(d, w, sizeof(d));
	free(w);
	REQUIRE(skp_transfer_encode_hello(&p, &n) == SKP_OK);
	same_hex(p, n, "a0");
	CHECK_RC(skp_transfer_decode_hello(p, n), SKP_OK);
	free(p);
	CHECK_RC(skp_transfer_decode_hello((const uint8_t *)"\xa1\x01\xf5",
	    3), SKP_ERR_FORMAT);
	REQUIRE(skp_transfer_encode_header(434, d, &p, &n) == SKP_OK);
	same_hex(p, n, HEADER);
	memset(got, 0, sizeof(got));
	CHECK_RC(skp_transfer_decode_header(p, n, &len, got), SKP_OK);
	CHECK(len == 434 && memcmp(got, d, sizeof(d)) == 0);
	free(p);
	REQUIRE(skp_transfer_encode_received(d, &p, &n) == SKP_OK);
	same_hex(p, n, RECEIVED);
	memset(got, 0, sizeof(got));
	CHECK_RC(skp_transfer_decode_received(p, n, got), SKP_OK);
	CHECK(memcmp(got, d, sizeof(d)) == 0);
	free(p);
	/* reply is pairing's, ready and done pairing's confirm. */
	REQUIRE(skp_pairflow_encode_reply("old phone", &p, &n) == SKP_OK);
	same_hex(p, n, "a101696f6c642070686f6e65");
	free(p);
	REQUIRE(skp_pairflow_encode_confirm(&p, &n) == SKP_OK);
	same_hex(p, n, "a101f5");
	free(p);
}

static int
hdr(const char *hex)
{
	uint8_t d[SKP_TRANSFER_DIGEST_LEN], *p;
	size_t n, len;
	int rc;

	p = skp_test_unhex(hex, &n);
	rc = skp_transfer_decode_header(p, n, &len, d);
	free(p);
	return rc;
}

static void
message_refusals(void)
{
	uint8_t d[SKP_TRANSFER_DIGEST_LEN], *p = NULL, *w;
	size_t n;

	memset(d, 1, sizeof(d));
	CHECK_RC(skp_transfer_encode_header(0, d, &p, &n), SKP_ERR_INVALID);
	CHECK_RC(skp_transfer_encode_header(SKP_TRANSFER_PAYLOAD_MAX + 1, d,
	    &p, &n), SKP_ERR_INVALID);
	CHECK_RC(hdr("a20100025820" DIGEST), SKP_ERR_FORMAT);	/* len 0 */
	CHECK_RC(hdr("a2011a00080001025820" DIGEST), SKP_ERR_FORMAT);
	CHECK_RC(hdr("a2011a00080000025820" DIGEST), SKP_OK);	/* 524288 */
	CHECK_RC(hdr("a1011901b2"), SKP_ERR_FORMAT);		/* no digest */
	CHECK_RC(hdr("a3011901b2025820" DIGEST "03f5"), SKP_ERR_FORMAT);
	CHECK_RC(hdr("a2011901b2025f" DIGEST), SKP_ERR_FORMAT);
	CHECK_RC(hdr("a202582001" DIGEST), SKP_ERR_FORMAT);
	CHECK_RC(hdr("a20161310258" "20" DIGEST), SKP_ERR_CBOR_TYPE);
	w = skp_test_unhex("a101581f" "e5db08597c56a0605fcd5bb711c490cdc2c3c8556"
	    "6dcdc2a3f74d1f7a8ca3e", &n);
	CHECK(skp_transfer_decode_received(w, n, d) != SKP_OK);
	free(w);
}

static const struct skp_test_case cases[] = {
	{ "derive", derive },
	{ "uri_vector", uri_vector },
	{ "uri_refusals", uri_refusals },
	{ "freshness", freshness },
	{ "messages", messages },
	{ "message_refusals", message_refusals },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
