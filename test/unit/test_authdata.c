/* Unit tests for authenticator data, the COSE key and the signed bytes. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/authdata.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "harness.h"

/* RFC 5903 section 8.1 initiator key: a fixed point for vectors. */
#define PRIV_HEX "c88f01f510d9ac3f70a292daa2316de5" \
	"44e9aab8afe84049c62a9c57862d1433"
#define X_HEX	"dad0b65394221cf9b051e1feca5787d0" \
	"98dfe637fc90b9ef945d0c3772581180"
#define Y_HEX	"5271a0461cdb8252d61f1c456fa3e59a" \
	"b1f45b33accf5f58389e0577b8990bb3"

static void
fixed_key(struct skp_p256_key *k)
{
	size_t n;
	uint8_t *d = skp_test_unhex(PRIV_HEX, &n);

	if (skp_p256_from_private(d, k) != SKP_OK)
		abort();
	free(d);
}

static void
sample(struct skp_authdata *ad, int at, size_t idlen)
{
	struct skp_p256_key k;
	size_t i;

	memset(ad, 0, sizeof(*ad));
	for (i = 0; i < SKP_SHA256_LEN; i++)
		ad->rp_id_hash[i] = (uint8_t)i;
	ad->flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_UV;
	ad->sign_count = 0x01020304;
	if (!at)
		return;
	ad->flags |= SKP_AUTHDATA_AT;
	memcpy(ad->aaguid, skp_authdata_aaguid, sizeof(ad->aaguid));
	for (i = 0; i < idlen; i++)
		ad->cred_id[i] = (uint8_t)(0xa0 + i);
	ad->cred_id_len = idlen;
	fixed_key(&k);
	memcpy(ad->pub, k.pub, sizeof(ad->pub));
	skp_wipe(&k, sizeof(k));
}

static void
aaguid_is_documented(void)
{
	size_t n;
	uint8_t *want = skp_test_unhex("3934e340407e4da9af808851d9de98d7", &n);

	CHECK(n == SKP_AUTHDATA_AAGUID_LEN);
	CHECK_MEM(skp_authdata_aaguid, want, n);
	/* A version 4 UUID: version nibble 4, variant bits 10. */
	CHECK((skp_authdata_aaguid[6] & 0xf0) == 0x40);
	CHECK((skp_authdata_aaguid[8] & 0xc0) == 0x80);
	free(want);
}

static void
cose_vector(void)
{
	struct skp_p256_key k;
	uint8_t out[SKP_COSE_ES256_LEN], back[SKP_P256_PUB_LEN];
	size_t n;
	uint8_t *want = skp_test_unhex("a5010203262001215820" X_HEX "225820"
	    Y_HEX, &n);

	fixed_key(&k);
	CHECK(n == SKP_COSE_ES256_LEN);
	CHECK_RC(skp_authdata_cose_encode(k.pub, out), SKP_OK);
	CHECK_MEM(out, want, n);
	CHECK_RC(skp_authdata_cose_parse(out, sizeof(out), back), SKP_OK);
	CHECK_MEM(back, k.pub, sizeof(back));
	free(want);
	skp_wipe(&k, sizeof(k));
}

static int
cose_hex(const char *hex)
{
	uint8_t pub[SKP_P256_PUB_LEN];
	uint8_t *p;
	size_t n;
	int rc;

	p = skp_test_unhex(hex, &n);
	rc = skp_authdata_cose_parse(p, n, pub);
	free(p);
	return rc;
}

static void
cose_refuses_other_keys(void)
{
	/* kty 3 (RSA), alg -8 (EdDSA), crv 2 (P-384). */
	CHECK_RC(cose_hex("a5010303262001215820" X_HEX "225820" Y_HEX),
	    SKP_ERR_UNSUPPORTED);
	CHECK_RC(cose_hex("a5010203272001215820" X_HEX "225820" Y_HEX),
	    SKP_ERR_UNSUPPORTED);
	CHECK_RC(cose_hex("a5010203262002215820" X_HEX "225820" Y_HEX),
	    SKP_ERR_UNSUPPORTED);
	/* alg as a positive integer: another type. */
	CHECK_RC(cose_hex("a5010203072001215820" X_HEX "225820" Y_HEX),
	    SKP_ERR_CBOR_TYPE);
}

static void
cose_refuses_missing_and_extra(void)
{
	/* no y */
	CHECK_RC(cose_hex("a4010203262001215820" X_HEX), SKP_ERR_FORMAT);
	/* an extra key 4 (key_ops) would be over the size cap anyway */
	CHECK_RC(cose_hex("a6010203260480" "2001215820" X_HEX "225820" Y_HEX),
	    SKP_ERR_TOO_LARGE);
	/* an extra key in a short map: kid (2) instead of y */
	CHECK_RC(cose_hex("a50102024003262001215820" X_HEX), SKP_ERR_FORMAT);
}

static void
cose_refuses_bad_coordinates(void)
{
	uint8_t pub[SKP_P256_PUB_LEN], *p;
	size_t n;

	/* x of 31 bytes */
	p = skp_test_unhex("a501020326200121581f"
	    "dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c37725811"
	    "225820" Y_HEX, &n);
	CHECK_RC(skp_authdata_cose_parse(p, n, pub), SKP_ERR_FORMAT);
	free(p);
	/* a point off the curve: y + 1 */
	CHECK_RC(cose_hex("a5010203262001215820" X_HEX "225820"
	    "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb4"),
	    SKP_ERR_CRYPTO);
	/* x as a text string */
	CHECK_RC(cose_hex("a501020326200121782000000000000000000000000000"
	    "000000000000000000000000000000000000225820" Y_HEX),
	    SKP_ERR_CBOR_TYPE);
}

static void
cose_refuses_noncanonical(void)
{
	/* -1 (crv) before 3 (alg) */
	CHECK_RC(cose_hex("a5010220010326215820" X_HEX "225820" Y_HEX),
	    SKP_ERR_CBOR_ORDER);
	/* trailing byte after the key */
	CHECK_RC(cose_hex("a4010203262001215820" X_HEX "00"),
	    SKP_ERR_TRAILING);
}

static void
build_parse_assertion(void)
{
	struct skp_authdata ad, back;
	uint8_t out[SKP_AUTHDATA_MAX];
	size_t n;

	sample(&ad, 0, 0);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	REQUIRE(n == SKP_AUTHDATA_BASE_LEN);
	CHECK_MEM(out, ad.rp_id_hash, 32);
	CHECK(out[32] == (SKP_AUTHDATA_UP | SKP_AUTHDATA_UV));
	CHECK(out[33] == 1 && out[34] == 2 && out[35] == 3 && out[36] == 4);
	CHECK_RC(skp_authdata_parse(out, n, &back), SKP_OK);
	CHECK_MEM(back.rp_id_hash, ad.rp_id_hash, 32);
	CHECK(back.flags == ad.flags && back.sign_count == ad.sign_count);
	CHECK(back.cred_id_len == 0);
}

static void
build_parse_attested(void)
{
	struct skp_authdata ad, back;
	uint8_t out[SKP_AUTHDATA_MAX], cose[SKP_COSE_ES256_LEN];
	size_t n;

	sample(&ad, 1, 16);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	REQUIRE(n == 37 + 16 + 2 + 16 + SKP_COSE_ES256_LEN);
	CHECK(out[32] == (SKP_AUTHDATA_UP | SKP_AUTHDATA_UV | SKP_AUTHDATA_AT));
	CHECK_MEM(out + 37, skp_authdata_aaguid, 16);
	CHECK(out[53] == 0 && out[54] == 16);
	CHECK_MEM(out + 55, ad.cred_id, 16);
	CHECK_RC(skp_authdata_cose_encode(ad.pub, cose), SKP_OK);
	CHECK_MEM(out + 71, cose, sizeof(cose));
	CHECK_RC(skp_authdata_parse(out, n, &back), SKP_OK);
	CHECK(back.cred_id_len == 16);
	CHECK_MEM(back.cred_id, ad.cred_id, 16);
	CHECK_MEM(back.pub, ad.pub, SKP_P256_PUB_LEN);
	CHECK_MEM(back.aaguid, skp_authdata_aaguid, 16);
	/* The longest credential id fits SKP_AUTHDATA_MAX exactly. */
	sample(&ad, 1, SKP_AUTHDATA_CRED_ID_MAX);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	CHECK(n == SKP_AUTHDATA_MAX);
	CHECK_RC(skp_authdata_parse(out, n, &back), SKP_OK);
}

static void
parse_refuses_ed(void)
{
	struct skp_authdata ad, back;
	uint8_t out[SKP_AUTHDATA_MAX + 8];
	size_t n;

	sample(&ad, 0, 0);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	out[32] |= SKP_AUTHDATA_ED;
	/* {"credProtect": 2} as an extension map after the base. */
	memcpy(out + n, "\xa1\x6b" "credProtect" "\x02", 14);
	CHECK_RC(skp_authdata_parse(out, n + 14, &back), SKP_ERR_UNSUPPORTED);
	CHECK_RC(skp_authdata_parse(out, n, &back), SKP_ERR_UNSUPPORTED);
}

static void
parse_refuses_trailing(void)
{
	struct skp_authdata ad, back;
	uint8_t out[SKP_AUTHDATA_MAX + 1];
	size_t n;

	sample(&ad, 0, 0);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	out[n] = 0;
	CHECK_RC(skp_authdata_parse(out, n + 1, &back), SKP_ERR_TRAILING);
	sample(&ad, 1, 16);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	out[n] = 0;
	CHECK_RC(skp_authdata_parse(out, n + 1, &back), SKP_ERR_TRAILING);
}

static void
parse_refuses_truncated(void)
{
	struct skp_authdata ad, back;
	uint8_t out[SKP_AUTHDATA_MAX];
	size_t n;

	sample(&ad, 0, 0);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	CHECK_RC(skp_authdata_parse(out, 36, &back), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_authdata_parse(out, 0, &back), SKP_ERR_TRUNCATED);
	sample(&ad, 1, 20);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	/* cut inside the COSE key, in the id, in the length, at the end */
	CHECK_RC(skp_authdata_parse(out, n - 1, &back), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_authdata_parse(out, 60, &back), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_authdata_parse(out, 54, &back), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_authdata_parse(out, 75, &back), SKP_ERR_TRUNCATED);
	/* AT set, but nothing follows the base */
	out[32] |= SKP_AUTHDATA_AT;
	CHECK_RC(skp_authdata_parse(out, 37, &back), SKP_ERR_TRUNCATED);
}

static void
parse_refuses_cred_id_range(void)
{
	struct skp_authdata ad, back;
	uint8_t out[SKP_AUTHDATA_MAX];
	size_t n;

	sample(&ad, 1, 16);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n), SKP_OK);
	out[54] = 15;	/* claims 15 bytes of id */
	CHECK_RC(skp_authdata_parse(out, n, &back), SKP_ERR_FORMAT);
	out[53] = 0;
	out[54] = 129;
	CHECK_RC(skp_authdata_parse(out, n, &back), SKP_ERR_FORMAT);
	out[53] = 0xff;
	out[54] = 0xff;
	CHECK_RC(skp_authdata_parse(out, n, &back), SKP_ERR_FORMAT);
}

static void
parse_refuses_too_large(void)
{
	struct skp_authdata back;
	uint8_t *big;

	REQUIRE((big = calloc(1, SKP_AUTHDATA_MAX + 1)) != NULL);
	CHECK_RC(skp_authdata_parse(big, SKP_AUTHDATA_MAX + 1, &back),
	    SKP_ERR_TOO_LARGE);
	free(big);
}

static void
build_refuses(void)
{
	struct skp_authdata ad;
	uint8_t out[SKP_AUTHDATA_MAX];
	size_t n;

	sample(&ad, 0, 0);
	ad.flags |= SKP_AUTHDATA_ED;
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n),
	    SKP_ERR_INVALID);
	sample(&ad, 1, 16);
	ad.cred_id_len = 15;
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n),
	    SKP_ERR_INVALID);
	ad.cred_id_len = 129;
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n),
	    SKP_ERR_INVALID);
	ad.cred_id_len = 16;
	ad.pub[0] = 0x02;
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &n),
	    SKP_ERR_INVALID);
	sample(&ad, 1, 16);
	/* An output buffer too small. */
	CHECK_RC(skp_authdata_build(&ad, out, 100, &n), SKP_ERR_TOO_LARGE);
}

static void
sign_and_check(void)
{
	struct skp_authdata ad;
	struct skp_p256_key k;
	uint8_t out[SKP_AUTHDATA_MAX], cdh[32], sig[SKP_P256_SIG_MAX];
	uint8_t msg[SKP_AUTHDATA_MAX + 32];
	size_t n, siglen;

	REQUIRE(skp_p256_generate(&k) == SKP_OK);
	sample(&ad, 0, 0);
	REQUIRE(skp_authdata_build(&ad, out, sizeof(out), &n) == SKP_OK);
	memset(cdh, 0x5a, sizeof(cdh));
	CHECK_RC(skp_authdata_sign(&k, out, n, cdh, sig, &siglen), SKP_OK);
	CHECK_RC(skp_authdata_check_sig(k.pub, out, n, cdh, sig, siglen),
	    SKP_OK);
	/* The signed bytes are exactly authData || clientDataHash. */
	memcpy(msg, out, n);
	memcpy(msg + n, cdh, 32);
	CHECK_RC(skp_p256_verify(k.pub, msg, n + 32, sig, siglen), SKP_OK);
	cdh[0] ^= 1;
	CHECK(skp_authdata_check_sig(k.pub, out, n, cdh, sig, siglen) !=
	    SKP_OK);
	cdh[0] ^= 1;
	out[32] ^= SKP_AUTHDATA_UV;
	CHECK(skp_authdata_check_sig(k.pub, out, n, cdh, sig, siglen) !=
	    SKP_OK);
	CHECK_RC(skp_authdata_sign(&k, out, SKP_AUTHDATA_MAX + 1, cdh, sig,
	    &siglen), SKP_ERR_INVALID);
	skp_wipe(&k, sizeof(k));
}

/* ---- Ed25519 (EdDSA, alg -8): docs/PROTOCOL.md §4.10 ---- */

/* RFC 8032 section 7.1 test 1. */
#define ED_SEED_HEX	"9d61b19deffd5a60ba844af492ec2cc4" \
			"4449c5697b326919703bac031cae7f60"
#define ED_PUB_HEX	"d75a980182b10ab7d54bfed3c964073a" \
			"0ee172f3daa62325af021a68f707511a"
#define ED_COSE_HEX	"a4010103272006215820" ED_PUB_HEX
/* authData for rp "ssh:", UP|AT, counter 0, id a0..af, the key above. */
#define ED_AUTHDATA_HEX	"e30610e8a162115960fe1ec223e6529c" \
	"9f4b6e80200dcb5e5c321c8af1e2b1bf" "41" "00000000" \
	"3934e340407e4da9af808851d9de98d7" "0010" \
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" ED_COSE_HEX
/* Its self signature over authData || clientDataHash 00 01 .. 1f. */
#define ED_SIG_HEX	"7a3556c25d056288c71ad5dcf0862758" \
	"0c2706b196080afcb6a280e6661f116b8f5c457a2089a5bdd1ca8eb2e149661a" \
	"4701d3911d49911946273583d512a90d"

static int
cose_key_hex(const char *hex, int64_t *alg, uint8_t pub[SKP_P256_PUB_LEN])
{
	cbor_item_t *m = NULL;
	uint8_t *p;
	size_t n;
	int rc;

	p = skp_test_unhex(hex, &n);
	if ((rc = skp_cbor_load(p, n, 256, &m)) == SKP_OK)
		rc = skp_authdata_cose_key_from_item(m, alg, pub);
	skp_cbor_free(&m);
	free(p);
	return rc;
}

static void
ed25519_cose_vector(void)
{
	uint8_t out[SKP_COSE_KEY_MAX], pub[SKP_P256_PUB_LEN];
	uint8_t *want, *key;
	size_t n, kn, outlen = 0;
	int64_t alg = 0;

	want = skp_test_unhex(ED_COSE_HEX, &n);
	key = skp_test_unhex(ED_PUB_HEX, &kn);
	CHECK(n == SKP_COSE_EDDSA_LEN && n == 42);
	CHECK_RC(skp_authdata_cose_key_encode(SKP_COSE_ALG_EDDSA, key, out,
	    &outlen), SKP_OK);
	CHECK(outlen == n);
	CHECK_MEM(out, want, n);
	memset(pub, 0xee, sizeof(pub));
	CHECK_RC(cose_key_hex(ED_COSE_HEX, &alg, pub), SKP_OK);
	CHECK(alg == SKP_COSE_ALG_EDDSA);
	CHECK_MEM(pub, key, kn);
	CHECK(pub[32] == 0 && pub[64] == 0);
	/* The ES256-only entry points refuse it as another algorithm. */
	CHECK_RC(skp_authdata_cose_parse(want, n, pub), SKP_ERR_UNSUPPORTED);
	free(want);
	free(key);
}

static void
ed25519_cose_refusals(void)
{
	int64_t alg;
	uint8_t pub[SKP_P256_PUB_LEN];

	/* Another curve (X25519, 4), alg (ES256), kty (3, RSA). */
	CHECK_RC(cose_key_hex("a4010103272004215820" ED_PUB_HEX, &alg, pub),
	    SKP_ERR_UNSUPPORTED);
	CHECK_RC(cose_key_hex("a4010103262006215820" ED_PUB_HEX, &alg, pub),
	    SKP_ERR_UNSUPPORTED);
	CHECK_RC(cose_key_hex("a4010303272006215820" ED_PUB_HEX, &alg, pub),
	    SKP_ERR_UNSUPPORTED);
	/* A y (-3) as for EC2, or no x. */
	CHECK_RC(cose_key_hex("a5010103272006215820" ED_PUB_HEX "2241" "00",
	    &alg, pub), SKP_ERR_FORMAT);
	CHECK_RC(cose_key_hex("a3010103272006", &alg, pub), SKP_ERR_FORMAT);
	/* x of 31 bytes. */
	CHECK(cose_key_hex("a401010327200621581f" "5a980182b10ab7d54bfed3c9"
	    "64073a0ee172f3daa62325af021a68f707511a", &alg, pub) != SKP_OK);
	/* Small order (y = 1), no point (y = 2). */
	CHECK_RC(cose_key_hex("a4010103272006215820"
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    &alg, pub), SKP_ERR_CRYPTO);
	CHECK_RC(cose_key_hex("a4010103272006215820"
	    "0200000000000000000000000000000000000000000000000000000000000000",
	    &alg, pub), SKP_ERR_CRYPTO);
}

static void
ed25519_authdata_vector(void)
{
	struct skp_authdata ad, back;
	struct skp_ed25519_key k;
	uint8_t out[SKP_AUTHDATA_MAX], cdh[32], sig[SKP_ED25519_SIG_LEN];
	uint8_t *want, *seed, *wsig;
	size_t n, i, sn;

	seed = skp_test_unhex(ED_SEED_HEX, &sn);
	REQUIRE(skp_ed25519_from_private(seed, &k) == SKP_OK);
	memset(&ad, 0, sizeof(ad));
	REQUIRE(skp_sha256("ssh:", 4, ad.rp_id_hash) == SKP_OK);
	ad.flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_AT;
	memcpy(ad.aaguid, skp_authdata_aaguid, sizeof(ad.aaguid));
	for (i = 0; i < 16; i++)
		ad.cred_id[i] = (uint8_t)(0xa0 + i);
	ad.cred_id_len = 16;
	ad.alg = SKP_COSE_ALG_EDDSA;
	memcpy(ad.pub, k.pub, SKP_ED25519_PUB_LEN);
	want = skp_test_unhex(ED_AUTHDATA_HEX, &n);
	CHECK(n == 55 + 16 + 42);
	CHECK_RC(skp_authdata_build(&ad, out, sizeof(out), &i), SKP_OK);
	CHECK(i == n);
	CHECK_MEM(out, want, n);
	CHECK_RC(skp_authdata_parse(want, n, &back), SKP_OK);
	CHECK(back.alg == SKP_COSE_ALG_EDDSA);
	CHECK_MEM(back.pub, k.pub, SKP_ED25519_PUB_LEN);
	/* Pure Ed25519 is deterministic: the documented signature. */
	for (i = 0; i < sizeof(cdh); i++)
		cdh[i] = (uint8_t)i;
	wsig = skp_test_unhex(ED_SIG_HEX, &sn);
	CHECK_RC(skp_authdata_sign_ed25519(&k, want, n, cdh, sig), SKP_OK);
	CHECK(sn == sizeof(sig));
	CHECK_MEM(sig, wsig, sizeof(sig));
	CHECK_RC(skp_authdata_check_sig_ed25519(k.pub, want, n, cdh, sig,
	    sizeof(sig)), SKP_OK);
	sig[10] ^= 1;
	CHECK_RC(skp_authdata_check_sig_ed25519(k.pub, want, n, cdh, sig,
	    sizeof(sig)), SKP_ERR_CRYPTO);
	CHECK_RC(skp_authdata_check_sig_ed25519(k.pub, want, n, cdh, wsig,
	    63), SKP_ERR_CRYPTO);
	/* A trailing byte after the OKP key. */
	memcpy(out, want, n);
	out[n] = 0;
	CHECK_RC(skp_authdata_parse(out, n + 1, &back), SKP_ERR_TRAILING);
	skp_wipe(&k, sizeof(k));
	free(want);
	free(wsig);
	free(seed);
}

static const struct skp_test_case cases[] = {
	{ "ed25519_cose_vector", ed25519_cose_vector },
	{ "ed25519_cose_refusals", ed25519_cose_refusals },
	{ "ed25519_authdata_vector", ed25519_authdata_vector },
	{ "aaguid_is_documented", aaguid_is_documented },
	{ "cose_vector", cose_vector },
	{ "cose_refuses_other_keys", cose_refuses_other_keys },
	{ "cose_refuses_missing_and_extra", cose_refuses_missing_and_extra },
	{ "cose_refuses_bad_coordinates", cose_refuses_bad_coordinates },
	{ "cose_refuses_noncanonical", cose_refuses_noncanonical },
	{ "build_parse_assertion", build_parse_assertion },
	{ "build_parse_attested", build_parse_attested },
	{ "parse_refuses_ed", parse_refuses_ed },
	{ "parse_refuses_trailing", parse_refuses_trailing },
	{ "parse_refuses_truncated", parse_refuses_truncated },
	{ "parse_refuses_cred_id_range", parse_refuses_cred_id_range },
	{ "parse_refuses_too_large", parse_refuses_too_large },
	{ "build_refuses", build_refuses },
	{ "sign_and_check", sign_and_check },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
