/* Unit tests for the crypto wrappers, against published test vectors. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "harness.h"

static void
sha256_abc(void)
{
	uint8_t out[32];
	size_t n;
	uint8_t *want = skp_test_unhex("ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad", &n);

	CHECK_RC(skp_sha256("abc", 3, out), SKP_OK);
	CHECK_MEM(out, want, 32);
	free(want);
}

/* In two parts, wherever the cut: the same digest as the whole. */
static void
sha256_two_parts(void)
{
	uint8_t out[32];
	size_t n;
	uint8_t *want = skp_test_unhex("ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad", &n);

	CHECK_RC(skp_sha256_2("a", 1, "bc", 2, out), SKP_OK);
	CHECK_MEM(out, want, 32);
	CHECK_RC(skp_sha256_2("abc", 3, "", 0, out), SKP_OK);
	CHECK_MEM(out, want, 32);
	CHECK_RC(skp_sha256_2("", 0, "abc", 3, out), SKP_OK);
	CHECK_MEM(out, want, 32);
	CHECK_RC(skp_sha256_2("ab", 2, "cd", 2, out), SKP_OK);
	CHECK(memcmp(out, want, 32) != 0);
	free(want);
}

static void
hmac_rfc4231_case1(void)
{
	uint8_t key[20], out[32];
	size_t n;
	uint8_t *want = skp_test_unhex("b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7", &n);

	memset(key, 0x0b, sizeof(key));
	CHECK_RC(skp_hmac_sha256(key, sizeof(key), "Hi There", 8, out),
	    SKP_OK);
	CHECK_MEM(out, want, 32);
	free(want);
}

static void
hkdf_rfc5869_case1(void)
{
	uint8_t ikm[22], out[42];
	size_t sl, il, wl;
	uint8_t *salt = skp_test_unhex("000102030405060708090a0b0c", &sl);
	uint8_t *info = skp_test_unhex("f0f1f2f3f4f5f6f7f8f9", &il);
	uint8_t *want = skp_test_unhex("3cb25f25faacd57a90434f64d0362f2a"
	    "2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", &wl);

	memset(ikm, 0x0b, sizeof(ikm));
	CHECK_RC(skp_hkdf_sha256(salt, sl, ikm, sizeof(ikm), info, il, out,
	    sizeof(out)), SKP_OK);
	CHECK(wl == sizeof(out));
	CHECK_MEM(out, want, sizeof(out));
	free(salt);
	free(info);
	free(want);
}

/* RFC 5903 section 8.1: ECDH on P-256 with fixed scalars. */
static void
ecdh_rfc5903(void)
{
	struct skp_p256_key i, r;
	uint8_t z1[32], z2[32];
	size_t n;
	uint8_t *di = skp_test_unhex("c88f01f510d9ac3f70a292daa2316de5"
	    "44e9aab8afe84049c62a9c57862d1433", &n);
	uint8_t *gix = skp_test_unhex("dad0b65394221cf9b051e1feca5787d0"
	    "98dfe637fc90b9ef945d0c3772581180", &n);
	uint8_t *dr = skp_test_unhex("c6ef9c5d78ae012a011164acb397ce20"
	    "88685d8f06bf9be0b283ab46476bee53", &n);
	uint8_t *grx = skp_test_unhex("d12dfb5289c8d4f81208b70270398c34"
	    "2296970a0bccb74c736fc7554494bf63", &n);
	uint8_t *z = skp_test_unhex("d6840f6b42f6edafd13116e0e1256520"
	    "2fef8e9ece7dce03812464d04b9442de", &n);

	CHECK_RC(skp_p256_from_private(di, &i), SKP_OK);
	CHECK_RC(skp_p256_from_private(dr, &r), SKP_OK);
	CHECK(i.pub[0] == 0x04);
	CHECK_MEM(i.pub + 1, gix, 32);
	CHECK_MEM(r.pub + 1, grx, 32);
	CHECK_RC(skp_p256_ecdh(&i, r.pub, z1), SKP_OK);
	CHECK_RC(skp_p256_ecdh(&r, i.pub, z2), SKP_OK);
	CHECK_MEM(z1, z, 32);
	CHECK_MEM(z2, z, 32);
	free(di);
	free(gix);
	free(dr);
	free(grx);
	free(z);
}

static void
private_scalar_range(void)
{
	struct skp_p256_key k;
	uint8_t d[32];
	size_t n;
	uint8_t *order = skp_test_unhex("ffffffff00000000ffffffffffffffff"
	    "bce6faada7179e84f3b9cac2fc632551", &n);

	memset(d, 0, sizeof(d));
	CHECK_RC(skp_p256_from_private(d, &k), SKP_ERR_CRYPTO);
	CHECK_RC(skp_p256_from_private(order, &k), SKP_ERR_CRYPTO);
	order[31]--;
	CHECK_RC(skp_p256_from_private(order, &k), SKP_OK);
	free(order);
}

static void
public_point_checks(void)
{
	struct skp_p256_key k;
	uint8_t bad[65], z[32];

	REQUIRE(skp_p256_generate(&k) == SKP_OK);
	CHECK_RC(skp_p256_check_public(k.pub), SKP_OK);
	memcpy(bad, k.pub, sizeof(bad));
	bad[0] = 0x02;
	CHECK_RC(skp_p256_check_public(bad), SKP_ERR_CRYPTO);
	memcpy(bad, k.pub, sizeof(bad));
	bad[64] ^= 1;
	CHECK_RC(skp_p256_check_public(bad), SKP_ERR_CRYPTO);
	CHECK_RC(skp_p256_ecdh(&k, bad, z), SKP_ERR_CRYPTO);
	memset(bad, 0, sizeof(bad));
	bad[0] = 0x04;
	CHECK_RC(skp_p256_check_public(bad), SKP_ERR_CRYPTO);
}

static void
sign_verify(void)
{
	struct skp_p256_key k, other;
	uint8_t sig[SKP_P256_SIG_MAX];
	size_t siglen = 0;

	REQUIRE(skp_p256_generate(&k) == SKP_OK);
	REQUIRE(skp_p256_generate(&other) == SKP_OK);
	CHECK(memcmp(k.priv, other.priv, 32) != 0);
	CHECK_RC(skp_p256_sign(&k, "message", 7, sig, &siglen), SKP_OK);
	CHECK(siglen >= 8 && siglen <= SKP_P256_SIG_MAX);
	CHECK_RC(skp_p256_verify(k.pub, "message", 7, sig, siglen), SKP_OK);
	CHECK_RC(skp_p256_verify(k.pub, "messagf", 7, sig, siglen),
	    SKP_ERR_CRYPTO);
	CHECK_RC(skp_p256_verify(other.pub, "message", 7, sig, siglen),
	    SKP_ERR_CRYPTO);
	sig[siglen - 1] ^= 1;
	CHECK_RC(skp_p256_verify(k.pub, "message", 7, sig, siglen),
	    SKP_ERR_CRYPTO);
	CHECK_RC(skp_p256_verify(k.pub, "message", 7, sig, 3),
	    SKP_ERR_CRYPTO);
}

/* The GCM specification's test cases 13 and 14 (AES-256, zero key/IV). */
static void
aesgcm_vectors(void)
{
	uint8_t key[32], nonce[12], pt[16], out[32], back[16];
	size_t n;
	uint8_t *tag13 = skp_test_unhex("530f8afbc74536b9a963b4f1c4cb738b",
	    &n);
	uint8_t *ct14 = skp_test_unhex("cea7403d4d606b6e074ec5d3baf39d18"
	    "d0d1c8a799996bf0265b98b5d48ab919", &n);

	memset(key, 0, sizeof(key));
	memset(nonce, 0, sizeof(nonce));
	memset(pt, 0, sizeof(pt));
	CHECK_RC(skp_aesgcm_seal(key, nonce, NULL, 0, NULL, 0, out), SKP_OK);
	CHECK_MEM(out, tag13, 16);
	CHECK_RC(skp_aesgcm_seal(key, nonce, NULL, 0, pt, 16, out), SKP_OK);
	CHECK_MEM(out, ct14, 32);
	CHECK_RC(skp_aesgcm_open(key, nonce, NULL, 0, out, 32, back), SKP_OK);
	CHECK_MEM(back, pt, 16);
	out[5] ^= 0x80;
	CHECK_RC(skp_aesgcm_open(key, nonce, NULL, 0, out, 32, back),
	    SKP_ERR_DECRYPT);
	out[5] ^= 0x80;
	CHECK_RC(skp_aesgcm_open(key, nonce, "ad", 2, out, 32, back),
	    SKP_ERR_DECRYPT);
	CHECK_RC(skp_aesgcm_open(key, nonce, NULL, 0, out, 15, back),
	    SKP_ERR_DECRYPT);
	free(tag13);
	free(ct14);
}

static void
b64url_rfc4648(void)
{
	static const char *in[] = { "", "f", "fo", "foo", "foob", "fooba",
	    "foobar" };
	static const char *want[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg",
	    "Zm9vYmE", "Zm9vYmFy" };
	uint8_t back[16];
	size_t i, n;
	char *s;

	for (i = 0; i < nitems(in); i++) {
		s = NULL;
		CHECK_RC(skp_b64url_encode(in[i], strlen(in[i]), &s), SKP_OK);
		CHECK(s != NULL && strcmp(s, want[i]) == 0);
		CHECK_RC(skp_b64url_decode(want[i], strlen(want[i]), back,
		    sizeof(back), &n), SKP_OK);
		CHECK(n == strlen(in[i]) && memcmp(back, in[i], n) == 0);
		free(s);
	}
	/* URL-safe alphabet. */
	CHECK_RC(skp_b64url_encode("\xfb\xff", 2, &s), SKP_OK);
	CHECK(strcmp(s, "-_8") == 0);
	free(s);
}

static void
b64url_refusals(void)
{
	uint8_t out[8];
	size_t n;

	CHECK_RC(skp_b64url_decode("Zh", 2, out, sizeof(out), &n),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_b64url_decode("Zg==", 4, out, sizeof(out), &n),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_b64url_decode("Z", 1, out, sizeof(out), &n),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_b64url_decode("Zm+v", 4, out, sizeof(out), &n),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_b64url_decode("Zm9vYmFy", 8, out, 5, &n),
	    SKP_ERR_TOO_LARGE);
}

static void
hex_roundtrip(void)
{
	uint8_t in[3] = { 0x00, 0xab, 0xff }, out[3];
	char s[7];

	skp_hex(in, 3, s);
	CHECK(strcmp(s, "00abff") == 0);
	CHECK_RC(skp_unhex("00ABff", out, 3), SKP_OK);
	CHECK_MEM(in, out, 3);
	CHECK_RC(skp_unhex("00abf", out, 3), SKP_ERR_FORMAT);
	CHECK_RC(skp_unhex("00abfg", out, 3), SKP_ERR_FORMAT);
}

static void
ct_equal(void)
{
	CHECK(skp_ct_equal("abc", "abc", 3));
	CHECK(!skp_ct_equal("abc", "abd", 3));
}

/* RFC 8032 section 7.1, tests 1 and 2: keys and signatures. */
static void
ed25519_rfc8032(void)
{
	static const struct {
		const char	*seed, *pub, *msg, *sig;
	} v[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc4"
		  "4449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a"
		  "0ee172f3daa62325af021a68f707511a",
		  "",
		  "e5564300c360ac729086e2cc806e828a"
		  "84877f1eb8e5d974d873e06522490155"
		  "5fb8821590a33bacc61e39701cf9b46b"
		  "d25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f"
		  "5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc"
		  "9c982ccf2ec4968cc0cd55f12af4660c",
		  "72",
		  "92a009a9f0d4cab8720e820b5f642540"
		  "a2b27b5416503f8fb3762223ebdb69da"
		  "085ac1e43e15996e458f3613d0f11d8c"
		  "387b2eaeb4302aeeb00d291612bb0c00" },
	};
	struct skp_ed25519_key k;
	uint8_t sig[SKP_ED25519_SIG_LEN], *seed, *pub, *msg, *want;
	size_t i, n, ml;

	for (i = 0; i < nitems(v); i++) {
		seed = skp_test_unhex(v[i].seed, &n);
		pub = skp_test_unhex(v[i].pub, &n);
		msg = skp_test_unhex(v[i].msg, &ml);
		want = skp_test_unhex(v[i].sig, &n);
		CHECK_RC(skp_ed25519_from_private(seed, &k), SKP_OK);
		CHECK_MEM(k.pub, pub, SKP_ED25519_PUB_LEN);
		CHECK_RC(skp_ed25519_check_public(k.pub), SKP_OK);
		CHECK_RC(skp_ed25519_sign(&k, msg, ml, sig), SKP_OK);
		CHECK_MEM(sig, want, sizeof(sig));
		CHECK_RC(skp_ed25519_verify(pub, msg, ml, sig, sizeof(sig)),
		    SKP_OK);
		sig[63] ^= 0x10;
		CHECK_RC(skp_ed25519_verify(pub, msg, ml, sig, sizeof(sig)),
		    SKP_ERR_CRYPTO);
		CHECK_RC(skp_ed25519_verify(pub, msg, ml, want, 63),
		    SKP_ERR_CRYPTO);
		free(seed);
		free(pub);
		free(msg);
		free(want);
	}
	skp_wipe(&k, sizeof(k));
}

static const struct skp_test_case cases[] = {
	{ "ed25519_rfc8032", ed25519_rfc8032 },
	{ "sha256_abc", sha256_abc },
	{ "sha256_two_parts", sha256_two_parts },
	{ "hmac_rfc4231_case1", hmac_rfc4231_case1 },
	{ "hkdf_rfc5869_case1", hkdf_rfc5869_case1 },
	{ "ecdh_rfc5903", ecdh_rfc5903 },
	{ "private_scalar_range", private_scalar_range },
	{ "public_point_checks", public_point_checks },
	{ "sign_verify", sign_verify },
	{ "aesgcm_vectors", aesgcm_vectors },
	{ "b64url_rfc4648", b64url_rfc4648 },
	{ "b64url_refusals", b64url_refusals },
	{ "hex_roundtrip", hex_roundtrip },
	{ "ct_equal", ct_equal },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
