/* Unit tests for the key handle layout and its strict decoder. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"
#include "harness.h"

/* The point of the RFC 5903 section 8.1 initiator scalar. */
#define PUB_HEX	"04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3" \
		"7725811805271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58" \
		"389e0577b8990bb3"
#define PHONE_ID_HEX	"320e65a0432b88f32b0c3fa9e0125fd6"
#define CRED_HEX	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
/* The layout written out by hand: "SKP", 01, id, point, 10, cred id. */
#define HANDLE_HEX	"534b5001" PHONE_ID_HEX PUB_HEX "10" CRED_HEX
/* RFC 8032 section 7.1 test 1's public key. */
#define ED_PUB_HEX	"d75a980182b10ab7d54bfed3c964073a" \
			"0ee172f3daa62325af021a68f707511a"
/* Version 2 (docs/PROTOCOL.md §5): "SKP", 02, id, Ed25519 key, 10, id. */
#define ED_HANDLE_HEX	"534b5002" PHONE_ID_HEX ED_PUB_HEX "10" CRED_HEX

static void
fill(struct skp_keyhandle *kh, size_t credlen)
{
	size_t n, i;
	uint8_t *pub = skp_test_unhex(PUB_HEX, &n);
	uint8_t *id = skp_test_unhex(PHONE_ID_HEX, &n);

	memset(kh, 0, sizeof(*kh));
	memcpy(kh->pub, pub, sizeof(kh->pub));
	memcpy(kh->phone_id, id, sizeof(kh->phone_id));
	kh->alg = -7;		/* what decode says of version 1 */
	for (i = 0; i < credlen; i++)
		kh->cred_id[i] = (uint8_t)(0xa0 + i);
	kh->cred_id_len = credlen;
	free(pub);
	free(id);
}

/* A valid encoding of fill(credlen) in buf; returns its length. */
static size_t
good(uint8_t *buf, size_t credlen)
{
	struct skp_keyhandle kh;
	size_t n = 0;

	fill(&kh, credlen);
	if (skp_keyhandle_encode(&kh, buf, SKP_KEYHANDLE_MAX, &n) != SKP_OK)
		abort();
	return n;
}

static void
encode_vector(void)
{
	struct skp_keyhandle kh;
	uint8_t out[SKP_KEYHANDLE_MAX];
	size_t n = 0, wl;
	uint8_t *want = skp_test_unhex(HANDLE_HEX, &wl);

	fill(&kh, 16);
	CHECK_RC(skp_keyhandle_encode(&kh, out, sizeof(out), &n), SKP_OK);
	CHECK(n == wl);
	CHECK(n == SKP_KEYHANDLE_MIN);
	CHECK_MEM(out, want, wl);
	free(want);
}

static void
decode_vector(void)
{
	struct skp_keyhandle kh, want;
	size_t wl;
	uint8_t *h = skp_test_unhex(HANDLE_HEX, &wl);

	fill(&want, 16);
	memset(&kh, 0x77, sizeof(kh));
	CHECK_RC(skp_keyhandle_decode(h, wl, &kh), SKP_OK);
	CHECK(memcmp(&kh, &want, sizeof(kh)) == 0);
	free(h);
}

static void
roundtrip_lengths(void)
{
	struct skp_keyhandle kh, back;
	struct skp_p256_key k;
	uint8_t out[SKP_KEYHANDLE_MAX];
	size_t len, n;

	for (len = SKP_KEYHANDLE_CRED_ID_MIN;
	    len <= SKP_KEYHANDLE_CRED_ID_MAX; len++) {
		memset(&kh, 0, sizeof(kh));
		REQUIRE(skp_p256_generate(&k) == SKP_OK);
		memcpy(kh.pub, k.pub, sizeof(kh.pub));
		kh.alg = -7;
		REQUIRE(skp_random(kh.phone_id, sizeof(kh.phone_id)) == SKP_OK);
		REQUIRE(skp_random(kh.cred_id, len) == SKP_OK);
		kh.cred_id_len = len;
		REQUIRE(skp_keyhandle_encode(&kh, out, sizeof(out), &n) ==
		    SKP_OK);
		CHECK(n == SKP_KEYHANDLE_FIXED_LEN + len);
		memset(&back, 0, sizeof(back));
		CHECK_RC(skp_keyhandle_decode(out, n, &back), SKP_OK);
		CHECK(memcmp(&kh, &back, sizeof(kh)) == 0);
	}
	CHECK(SKP_KEYHANDLE_MAX == 214);
	skp_wipe(&k, sizeof(k));
}

static void
refuse_bad_magic(void)
{
	struct skp_keyhandle kh;
	uint8_t h[SKP_KEYHANDLE_MAX];
	size_t n, i;

	for (i = 0; i < 3; i++) {
		n = good(h, 16);
		h[i] ^= 0x20;		/* "sKP", "SkP", "SKp" */
		CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_FORMAT);
	}
}

static void
refuse_version_zero(void)
{
	struct skp_keyhandle kh;
	uint8_t h[SKP_KEYHANDLE_MAX];
	size_t n = good(h, 16);

	h[3] = 0;
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_FORMAT);
}

static void
refuse_newer_version(void)
{
	struct skp_keyhandle kh;
	uint8_t h[400];
	size_t n = good(h, 16);

	h[3] = 3;
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_VERSION);
	h[3] = 0xff;
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_VERSION);
	/* A newer layout may be longer or shorter than ours. */
	memset(h + n, 0, sizeof(h) - n);
	CHECK_RC(skp_keyhandle_decode(h, sizeof(h), &kh), SKP_ERR_VERSION);
	CHECK_RC(skp_keyhandle_decode(h, 4, &kh), SKP_ERR_VERSION);
}

static void
refuse_truncated(void)
{
	struct skp_keyhandle kh;
	uint8_t h[SKP_KEYHANDLE_MAX];
	size_t n = good(h, 40), i;

	for (i = 0; i < n; i++)
		CHECK_RC(skp_keyhandle_decode(h, i, &kh), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_keyhandle_decode(NULL, 0, &kh), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_OK);
}

static void
refuse_cred_id_length(void)
{
	static const uint8_t bad[] = { 0, 1, 15, 129, 200, 255 };
	struct skp_keyhandle kh;
	uint8_t h[SKP_KEYHANDLE_MAX];
	size_t n, i;

	for (i = 0; i < nitems(bad); i++) {
		n = good(h, 16);
		h[SKP_KEYHANDLE_FIXED_LEN - 1] = bad[i];
		CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_FORMAT);
	}
	/* A length byte that claims more than is there. */
	n = good(h, 16);
	h[SKP_KEYHANDLE_FIXED_LEN - 1] = 17;
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_TRUNCATED);
	/* One that claims less leaves bytes over. */
	n = good(h, 17);
	h[SKP_KEYHANDLE_FIXED_LEN - 1] = 16;
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_TRAILING);
}

static void
refuse_trailing(void)
{
	struct skp_keyhandle kh;
	uint8_t h[SKP_KEYHANDLE_MAX + 1];
	size_t n = good(h, 16);

	h[n] = 0;
	CHECK_RC(skp_keyhandle_decode(h, n + 1, &kh), SKP_ERR_TRAILING);
}

static void
refuse_too_large(void)
{
	struct skp_keyhandle kh;
	uint8_t h[SKP_KEYHANDLE_MAX + 1];
	size_t n = good(h, SKP_KEYHANDLE_CRED_ID_MAX);

	CHECK(n == SKP_KEYHANDLE_MAX);
	h[n] = 0;
	CHECK_RC(skp_keyhandle_decode(h, n + 1, &kh), SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_OK);
}

static void
refuse_bad_point(void)
{
	struct skp_keyhandle kh;
	uint8_t h[SKP_KEYHANDLE_MAX];
	size_t n;

	n = good(h, 16);
	h[4 + SKP_PHONE_ID_LEN + 64] ^= 1;	/* last byte of Y */
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_CRYPTO);
	n = good(h, 16);
	h[4 + SKP_PHONE_ID_LEN] = 0x02;		/* compressed form */
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_CRYPTO);
	n = good(h, 16);
	memset(h + 4 + SKP_PHONE_ID_LEN, 0, SKP_P256_PUB_LEN);
	CHECK_RC(skp_keyhandle_decode(h, n, &kh), SKP_ERR_CRYPTO);
}

static void
encode_refusals(void)
{
	struct skp_keyhandle kh;
	uint8_t out[SKP_KEYHANDLE_MAX];
	size_t n = 0;

	fill(&kh, 16);
	kh.cred_id_len = 15;
	CHECK_RC(skp_keyhandle_encode(&kh, out, sizeof(out), &n),
	    SKP_ERR_INVALID);
	kh.cred_id_len = 129;
	CHECK_RC(skp_keyhandle_encode(&kh, out, sizeof(out), &n),
	    SKP_ERR_INVALID);
	fill(&kh, 16);
	kh.pub[64] ^= 1;
	CHECK_RC(skp_keyhandle_encode(&kh, out, sizeof(out), &n),
	    SKP_ERR_CRYPTO);
	fill(&kh, 16);
	CHECK_RC(skp_keyhandle_encode(&kh, out, SKP_KEYHANDLE_MIN - 1, &n),
	    SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_keyhandle_encode(&kh, out, SKP_KEYHANDLE_MIN, &n),
	    SKP_OK);
	CHECK_RC(skp_keyhandle_encode(NULL, out, sizeof(out), &n),
	    SKP_ERR_INVALID);
}

static void
decode_failure_leaves_output(void)
{
	struct skp_keyhandle kh, before;
	uint8_t h[SKP_KEYHANDLE_MAX + 1];
	size_t n = good(h, 16);

	h[n] = 1;
	memset(&kh, 0x3c, sizeof(kh));
	memcpy(&before, &kh, sizeof(kh));
	CHECK_RC(skp_keyhandle_decode(h, n + 1, &kh), SKP_ERR_TRAILING);
	CHECK(memcmp(&kh, &before, sizeof(kh)) == 0);
}

static void
fill_ed(struct skp_keyhandle *kh, size_t credlen)
{
	size_t n;
	uint8_t *pub = skp_test_unhex(ED_PUB_HEX, &n);

	fill(kh, credlen);
	memset(kh->pub, 0, sizeof(kh->pub));
	memcpy(kh->pub, pub, SKP_ED25519_PUB_LEN);
	kh->alg = -8;
	free(pub);
}

static void
ed25519_vector(void)
{
	struct skp_keyhandle kh, back;
	uint8_t out[SKP_KEYHANDLE_MAX];
	size_t n = 0, wl;
	uint8_t *want = skp_test_unhex(ED_HANDLE_HEX, &wl);

	fill_ed(&kh, 16);
	CHECK_RC(skp_keyhandle_encode(&kh, out, sizeof(out), &n), SKP_OK);
	CHECK(n == wl && n == 69 && n == SKP_KEYHANDLE_ED25519_MIN);
	CHECK_MEM(out, want, wl);
	memset(&back, 0x77, sizeof(back));
	CHECK_RC(skp_keyhandle_decode(want, wl, &back), SKP_OK);
	CHECK(memcmp(&kh, &back, sizeof(kh)) == 0);
	CHECK(back.alg == -8);
	free(want);
}

static void
ed25519_lengths(void)
{
	struct skp_keyhandle kh, back;
	uint8_t out[SKP_KEYHANDLE_MAX + 1];
	size_t len, n, i;

	CHECK(SKP_KEYHANDLE_ED25519_MIN == 69);
	CHECK(SKP_KEYHANDLE_ED25519_MAX == 181);
	for (len = SKP_KEYHANDLE_CRED_ID_MIN;
	    len <= SKP_KEYHANDLE_CRED_ID_MAX; len++) {
		fill_ed(&kh, len);
		REQUIRE(skp_keyhandle_encode(&kh, out, sizeof(out), &n) ==
		    SKP_OK);
		CHECK(n == 53 + len);
		memset(&back, 0, sizeof(back));
		CHECK_RC(skp_keyhandle_decode(out, n, &back), SKP_OK);
		CHECK(memcmp(&kh, &back, sizeof(kh)) == 0);
	}
	/* The longest version 2 handle, one byte more: too large. */
	out[n] = 0;
	CHECK_RC(skp_keyhandle_decode(out, n + 1, &kh), SKP_ERR_TOO_LARGE);
	fill_ed(&kh, 16);
	REQUIRE(skp_keyhandle_encode(&kh, out, sizeof(out), &n) == SKP_OK);
	for (i = 0; i < n; i++)
		CHECK_RC(skp_keyhandle_decode(out, i, &back),
		    SKP_ERR_TRUNCATED);
	out[n] = 0;
	CHECK_RC(skp_keyhandle_decode(out, n + 1, &back), SKP_ERR_TRAILING);
	/* A version 1 handle's length under version 2 does not parse. */
	fill(&kh, 16);
	REQUIRE(skp_keyhandle_encode(&kh, out, sizeof(out), &n) == SKP_OK);
	out[3] = 2;
	CHECK(skp_keyhandle_decode(out, n, &back) != SKP_OK);
}

static void
ed25519_bad_points(void)
{
	/* Small order (y = 0, 1, -1, order 8), y >= p, no point (y = 2). */
	static const char *bad[] = {
		"00000000000000000000000000000000"
		    "00000000000000000000000000000000",
		"01000000000000000000000000000000"
		    "00000000000000000000000000000000",
		"01000000000000000000000000000000"
		    "00000000000000000000000000000080",
		"ecffffffffffffffffffffffffffffff"
		    "ffffffffffffffffffffffffffffff7f",
		"c7176a703d4dd84fba3c0b760d10670f"
		    "2a2053fa2c39ccc64ec7fd7792ac037a",
		"26e8958fc2b227b045c3f489f2ef98f0"
		    "d5dfac05d3c63339b13802886d53fc85",
		"edffffffffffffffffffffffffffffff"
		    "ffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffff"
		    "ffffffffffffffffffffffffffffff7f",
		"02000000000000000000000000000000"
		    "00000000000000000000000000000000",
	};
	struct skp_keyhandle kh;
	uint8_t out[SKP_KEYHANDLE_MAX], h[SKP_KEYHANDLE_MAX];
	size_t i, n, k;

	fill_ed(&kh, 16);
	REQUIRE(skp_keyhandle_encode(&kh, h, sizeof(h), &n) == SKP_OK);
	for (i = 0; i < nitems(bad); i++) {
		memcpy(out, h, n);
		REQUIRE(skp_unhex(bad[i], out + 4 + SKP_PHONE_ID_LEN, 32) ==
		    SKP_OK);
		CHECK_RC(skp_keyhandle_decode(out, n, &kh), SKP_ERR_CRYPTO);
		fill_ed(&kh, 16);
		REQUIRE(skp_unhex(bad[i], kh.pub, 32) == SKP_OK);
		CHECK_RC(skp_keyhandle_encode(&kh, out, sizeof(out), &k),
		    SKP_ERR_CRYPTO);
	}
}

static const struct skp_test_case cases[] = {
	{ "ed25519_vector", ed25519_vector },
	{ "ed25519_lengths", ed25519_lengths },
	{ "ed25519_bad_points", ed25519_bad_points },
	{ "encode_vector", encode_vector },
	{ "decode_vector", decode_vector },
	{ "roundtrip_lengths", roundtrip_lengths },
	{ "refuse_bad_magic", refuse_bad_magic },
	{ "refuse_version_zero", refuse_version_zero },
	{ "refuse_newer_version", refuse_newer_version },
	{ "refuse_truncated", refuse_truncated },
	{ "refuse_cred_id_length", refuse_cred_id_length },
	{ "refuse_trailing", refuse_trailing },
	{ "refuse_too_large", refuse_too_large },
	{ "refuse_bad_point", refuse_bad_point },
	{ "encode_refusals", encode_refusals },
	{ "decode_failure_leaves_output", decode_failure_leaves_output },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
