/* Unit tests for host key signature verification and fingerprints. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostkey.h"
#include "harness.h"

/*
 * Real triples from OpenSSH 9.2 (sshd and ssh on 127.0.0.1, through
 * skp-proxy-test): the exchange hash H (the session id, taken from the
 * userauth request ssh's agent was asked to sign), the host key K_S and
 * the signature from the server's KEX reply.
 */
static const char real_ed25519_h[] =
    "8c88acce376721c9a069201b5ada98771e8a895d08ca61e97d9232f54c93822a";
static const char real_ed25519_key[] =
    "0000000b7373682d65643235353139000000207692c07cf457102ee218132245"
    "a690a3bf082567a6a4b66820e7b4fac59b1362";
static const char real_ed25519_sig[] =
    "0000000b7373682d6564323535313900000040380d6451947843c87f015e6165"
    "7262c369c86c0343e95e9587b99bc01b1020a342013424b0b59c8233ccc9e2d5"
    "06d5b601ad545f39dbd7c248999ac337156502";
static const char real_ecdsa256_h[] =
    "ceadc7444647bdaef31de80d217f78901d5f4d0073aa67949382975f37e5450f";
static const char real_ecdsa256_key[] =
    "0000001365636473612d736861322d6e69737470323536000000086e69737470"
    "32353600000041042cd91aaec9202291bcebdba9b73e7a9c45d22d9c41e62b5d"
    "ac603d68fa9a854e41dccab23c174716200637f0060c7e81c4f06b4e42b24570"
    "4ec750d165e7c73d";
static const char real_ecdsa256_sig[] =
    "0000001365636473612d736861322d6e69737470323536000000490000002052"
    "4ddc234b77ad88b752375f668aadd18c2c2ba443c02d9f595790d73ba42c7200"
    "00002100a977834acc11b3ee95548f7b9380a4a32bfeafc83f0061882d07b6a6"
    "863ab99c";
static const char real_rsa512_h[] =
    "c702b5091464266e55f28c069458ead31d54f175de5bcc4a04e4eec04f1f97db";
static const char real_rsa512_key[] =
    "000000077373682d727361000000030100010000018100a39374c653246d912f"
    "86506bfd35d796ecef780f553f7989bd8c6fdf24784e3d3a40b0ba96f4a99da2"
    "d07bdb9827fbb628f4d017b93bb8d4e4b07a48d90badf2b04a5a80c59ab8fd6b"
    "178ec63e6b7f0f34630e260d2dfb42565faef6a0eb6d76cc187e585d93a993f5"
    "ae136c36b3c297f1968d775a49a3204c82b37a0fa129b4ac71f1cfbac1cbc9e3"
    "7f146282561a1d354ba316b9e73223fb6a5a60c5a1832123ee946868b888d794"
    "2e49b78d01ee0fb24891b95b368a8d35dd0052da1c5d2ba64e720dbb38485b68"
    "fd5c3335097f5124850cc6a1a0f80a4357b8746378b6f9ebf3ccca23f9edef51"
    "cc581d918dfe4d9c968f65a166007d723f51fd0eb83c73ac589f73d576aae582"
    "7e4d6eb99e736f19023dcceff6fe8154a076ac4feaf6c951b03deac34c1b1682"
    "8f6e930ae36cc2c8d7ad6aa4aba7752d5719daa374a589c110bac9f99df11b08"
    "813f305d62d3099502766fb45a6afa8d92f076cba4da64806b50ec93a07b46a2"
    "64d4805e33fa16d7293f2cf7cc4f65748153847220c7c3";
static const char real_rsa512_sig[] =
    "0000000c7273612d736861322d3531320000018030016a9f562c10fc915ea293"
    "b279542928e3b44de83f42a69492dfc1c540133dab96574504f7bfe7a5de9e05"
    "e09b2e3aee941ea97d18e834a800dd3496836e3895f75354ea4d3a56476fb0ce"
    "630fdea49330fa5f9416856bcef9b2da48e0253f66aedc3b06bddf4c2d93ebeb"
    "e2da51cfa55a8c2afc45d4ffd4495872e5756f24baa9b083e82a8d1a3c7d6e62"
    "5f551f0e867b624bb7b8eae7197d8728b9671beff4f01956e266e7950aa8beb8"
    "3ec5d21713aa87bc846151ece8e631c0ecd316105bf2cf831f2b7faa1c18c8fa"
    "c39ae1a1d5b12391dc612614cbf7722f976debaaa2d8efdc175daa815bfafc98"
    "75b4ef684d07e852f93de1499f534205811ebb925699369311888c4fc6004543"
    "1d55ecfd37904a271d31dd86e6a70fdf64d1aba40a7b9d574502a803ce36f6b3"
    "3966c5dd726b669fde14e7d512e07435ba5f852bccd34bf7c4a1c7d474ea74f4"
    "192f8c0f3103a18fcab633a5f82c26cf95c1db4506d379c81aba60406459d5c7"
    "f123c5d30764618b7900e1ca51c3156c14c56a55";

/* ssh-keygen -l -E sha256 of the real ed25519 host key above. */
static const char real_ed25519_fp[] =
    "SHA256:SEkf27Z3ZYI13mFM0mRQwJJ0icUvaSCjnp/JgqpHc+M";

#define BLOB_MAX	4096

/* A key made here with OpenSSL, and its SSH wire form. */
struct tkey {
	EVP_PKEY	*pk;
	const char	*name;		/* key type */
	uint8_t		 blob[BLOB_MAX];
	size_t		 bloblen;
};

static uint8_t *
blob_of(skp_buf_t *b, size_t *len)
{
	uint8_t *p = NULL;

	if (skp_buf_steal(b, &p, len) != SKP_OK)
		abort();
	return p;
}

/* An mpint of a positive magnitude, with the zero byte when needed. */
static int
put_mpint(skp_buf_t *b, const uint8_t *p, size_t n)
{
	uint8_t tmp[1100];

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n + 1 > sizeof(tmp))
		return SKP_ERR_TOO_LARGE;
	tmp[0] = 0;
	memcpy(tmp + 1, p, n);
	if (n > 0 && (p[0] & 0x80))
		return skp_buf_string(b, tmp, n + 1);
	return skp_buf_string(b, tmp + 1, n);
}

static int
put_bn(skp_buf_t *b, const BIGNUM *bn)
{
	uint8_t tmp[1100];
	int n = BN_bn2bin(bn, tmp);

	return put_mpint(b, tmp, (size_t)n);
}

static void
tkey_blob(struct tkey *k)
{
	skp_buf_t *b = skp_buf_new(BLOB_MAX);
	uint8_t pub[200];
	size_t publen = 0;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t *p;
	size_t len;

	if (b == NULL)
		abort();
	skp_buf_string(b, k->name, strlen(k->name));
	if (strcmp(k->name, "ssh-ed25519") == 0) {
		publen = sizeof(pub);
		if (EVP_PKEY_get_raw_public_key(k->pk, pub, &publen) != 1)
			abort();
		skp_buf_string(b, pub, publen);
	} else if (strcmp(k->name, "ssh-rsa") == 0) {
		if (EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_E,
		    &e) != 1 || EVP_PKEY_get_bn_param(k->pk,
		    OSSL_PKEY_PARAM_RSA_N, &n) != 1)
			abort();
		put_bn(b, e);
		put_bn(b, n);
	} else {
		if (EVP_PKEY_get_octet_string_param(k->pk,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof(pub),
		    &publen) != 1)
			abort();
		skp_buf_string(b, k->name + 11, 8);	/* "nistpNNN" */
		skp_buf_string(b, pub, publen);
	}
	p = blob_of(b, &len);
	memcpy(k->blob, p, len);
	k->bloblen = len;
	free(p);
	BN_free(n);
	BN_free(e);
	skp_buf_free(&b);
}

static struct tkey *
tkey_new(const char *name)
{
	struct tkey *k = calloc(1, sizeof(*k));

	if (k == NULL)
		abort();
	k->name = name;
	if (strcmp(name, "ssh-ed25519") == 0)
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(name, "ecdsa-sha2-nistp256") == 0)
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(name, "ecdsa-sha2-nistp384") == 0)
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(name, "ecdsa-sha2-nistp521") == 0)
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	else if (strcmp(name, "ssh-rsa") == 0)
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(name, "rsa-1024") == 0) {
		k->name = "ssh-rsa";
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	}
	if (k->pk == NULL)
		abort();
	tkey_blob(k);
	return k;
}

static void
tkey_free(struct tkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

static const char *
md_of(const char *alg)
{
	if (strcmp(alg, "ecdsa-sha2-nistp256") == 0 ||
	    strcmp(alg, "rsa-sha2-256") == 0)
		return "SHA256";
	if (strcmp(alg, "ecdsa-sha2-nistp384") == 0)
		return "SHA384";
	if (strcmp(alg, "ecdsa-sha2-nistp521") == 0 ||
	    strcmp(alg, "rsa-sha2-512") == 0)
		return "SHA512";
	if (strcmp(alg, "ssh-rsa") == 0)
		return "SHA1";
	return NULL;
}

/* An SSH signature blob by k over data, named alg. */
static uint8_t *
tsign(const struct tkey *k, const char *alg, const void *data, size_t n,
    size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	skp_buf_t *b = skp_buf_new(BLOB_MAX), *in = skp_buf_new(BLOB_MAX);
	uint8_t raw[1100], r[80], s[80];
	const BIGNUM *br, *bs;
	const unsigned char *dp = raw;
	ECDSA_SIG *es = NULL;
	size_t rawlen = sizeof(raw);
	uint8_t *p;
	int rl, sl;

	if (m == NULL || b == NULL || in == NULL ||
	    EVP_DigestSignInit_ex(m, NULL, md_of(alg), NULL, NULL, k->pk,
	    NULL) != 1 || EVP_DigestSign(m, raw, &rawlen, data, n) != 1)
		abort();
	skp_buf_string(b, alg, strlen(alg));
	if (strncmp(alg, "ecdsa-", 6) == 0) {
		if ((es = d2i_ECDSA_SIG(NULL, &dp, (long)rawlen)) == NULL)
			abort();
		ECDSA_SIG_get0(es, &br, &bs);
		rl = BN_bn2bin(br, r);
		sl = BN_bn2bin(bs, s);
		put_mpint(in, r, (size_t)rl);
		put_mpint(in, s, (size_t)sl);
		skp_buf_string(b, skp_buf_ptr(in), skp_buf_len(in));
		ECDSA_SIG_free(es);
	} else
		skp_buf_string(b, raw, rawlen);
	p = blob_of(b, siglen);
	skp_buf_free(&b);
	skp_buf_free(&in);
	EVP_MD_CTX_free(m);
	return p;
}

static const uint8_t H[32] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
	0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
};

/* Sign H with a fresh key, verify; then a changed H and a changed sig. */
static void
roundtrip(const char *keytype, const char *alg)
{
	struct tkey *k = tkey_new(keytype), *other = tkey_new(keytype);
	uint8_t h2[32], *sig;
	size_t siglen;
	const char *type = NULL;

	sig = tsign(k, alg, H, sizeof(H), &siglen);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, sig, siglen, H,
	    sizeof(H)), SKP_OK);
	CHECK_RC(skp_hostkey_check(k->blob, k->bloblen, &type), SKP_OK);
	CHECK(type != NULL && strcmp(type, k->name) == 0);
	memcpy(h2, H, sizeof(h2));
	h2[31] ^= 1;
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, sig, siglen, h2,
	    sizeof(h2)), SKP_ERR_VERIFY);
	CHECK_RC(skp_hostkey_verify(other->blob, other->bloblen, sig, siglen,
	    H, sizeof(H)), SKP_ERR_VERIFY);
	/* The last byte: inside the raw signature, or s of ECDSA. */
	sig[siglen - 1] ^= 0x40;
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, sig, siglen, H,
	    sizeof(H)), SKP_ERR_VERIFY);
	free(sig);
	tkey_free(k);
	tkey_free(other);
}

static void
ed25519_signs_and_verifies(void)
{
	roundtrip("ssh-ed25519", "ssh-ed25519");
}

static void
ecdsa_nistp256_signs_and_verifies(void)
{
	roundtrip("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256");
}

static void
ecdsa_nistp384_signs_and_verifies(void)
{
	roundtrip("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384");
}

static void
ecdsa_nistp521_signs_and_verifies(void)
{
	roundtrip("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521");
}

static void
rsa_sha2_256_signs_and_verifies(void)
{
	roundtrip("ssh-rsa", "rsa-sha2-256");
}

static void
rsa_sha2_512_signs_and_verifies(void)
{
	roundtrip("ssh-rsa", "rsa-sha2-512");
}

static void
real(const char *hhex, const char *khex, const char *shex,
    const char *type)
{
	uint8_t *h, *k, *s;
	size_t hl, kl, sl;
	const char *t = NULL;

	h = skp_test_unhex(hhex, &hl);
	k = skp_test_unhex(khex, &kl);
	s = skp_test_unhex(shex, &sl);
	CHECK_RC(skp_hostkey_check(k, kl, &t), SKP_OK);
	CHECK(t != NULL && strcmp(t, type) == 0);
	CHECK_RC(skp_hostkey_verify(k, kl, s, sl, h, hl), SKP_OK);
	h[0] ^= 0x80;
	CHECK_RC(skp_hostkey_verify(k, kl, s, sl, h, hl), SKP_ERR_VERIFY);
	free(h);
	free(k);
	free(s);
}

static void
real_openssh_ed25519_capture(void)
{
	real(real_ed25519_h, real_ed25519_key, real_ed25519_sig,
	    "ssh-ed25519");
}

static void
real_openssh_ecdsa_capture(void)
{
	real(real_ecdsa256_h, real_ecdsa256_key, real_ecdsa256_sig,
	    "ecdsa-sha2-nistp256");
}

static void
real_openssh_rsa_sha2_512_capture(void)
{
	real(real_rsa512_h, real_rsa512_key, real_rsa512_sig, "ssh-rsa");
}

static void
fingerprint_matches_ssh_keygen(void)
{
	char fp[SKP_HOSTKEY_FP_LEN];
	uint8_t *k;
	size_t kl;

	k = skp_test_unhex(real_ed25519_key, &kl);
	CHECK_RC(skp_hostkey_fingerprint(k, kl, fp), SKP_OK);
	CHECK(strcmp(fp, real_ed25519_fp) == 0);
	CHECK(strlen(fp) == SKP_HOSTKEY_FP_LEN - 1);
	CHECK_RC(skp_hostkey_fingerprint(k, 0, fp), SKP_ERR_INVALID);
	CHECK_RC(skp_hostkey_fingerprint(NULL, 5, fp), SKP_ERR_INVALID);
	free(k);
}

static void
refuses_ssh_rsa_sha1(void)
{
	struct tkey *k = tkey_new("ssh-rsa");
	uint8_t *sig;
	size_t siglen;

	sig = tsign(k, "ssh-rsa", H, sizeof(H), &siglen);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, sig, siglen, H,
	    sizeof(H)), SKP_ERR_UNSUPPORTED);
	free(sig);
	tkey_free(k);
}

static void
refuses_rsa_below_2048_bits(void)
{
	struct tkey *k = tkey_new("rsa-1024");
	uint8_t *sig;
	size_t siglen;

	sig = tsign(k, "rsa-sha2-256", H, sizeof(H), &siglen);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, sig, siglen, H,
	    sizeof(H)), SKP_ERR_CRYPTO);
	CHECK_RC(skp_hostkey_check(k->blob, k->bloblen, NULL),
	    SKP_ERR_CRYPTO);
	free(sig);
	tkey_free(k);
}

/* A signature whose algorithm is not the key's is not the key's. */
static void
refuses_algorithm_mismatch(void)
{
	struct tkey *ed = tkey_new("ssh-ed25519");
	struct tkey *p256 = tkey_new("ecdsa-sha2-nistp256");
	struct tkey *p384 = tkey_new("ecdsa-sha2-nistp384");
	struct tkey *rsa = tkey_new("ssh-rsa");
	uint8_t *s1, *s2, *s3;
	size_t l1, l2, l3;
	skp_buf_t *b = skp_buf_new(BLOB_MAX);
	skp_reader_t r;
	const uint8_t *name, *inner;
	size_t namelen, innerlen;
	uint8_t *renamed;
	size_t renamedlen;

	REQUIRE(b != NULL);
	s1 = tsign(p256, "ecdsa-sha2-nistp256", H, sizeof(H), &l1);
	s2 = tsign(ed, "ssh-ed25519", H, sizeof(H), &l2);
	s3 = tsign(rsa, "rsa-sha2-256", H, sizeof(H), &l3);
	CHECK_RC(skp_hostkey_verify(ed->blob, ed->bloblen, s1, l1, H,
	    sizeof(H)), SKP_ERR_VERIFY);
	CHECK_RC(skp_hostkey_verify(p384->blob, p384->bloblen, s1, l1, H,
	    sizeof(H)), SKP_ERR_VERIFY);
	CHECK_RC(skp_hostkey_verify(rsa->blob, rsa->bloblen, s2, l2, H,
	    sizeof(H)), SKP_ERR_VERIFY);
	CHECK_RC(skp_hostkey_verify(p256->blob, p256->bloblen, s3, l3, H,
	    sizeof(H)), SKP_ERR_VERIFY);
	/* The right bytes under the wrong name: rsa-sha2-512 for a 256. */
	skp_reader_init(&r, s3, l3);
	REQUIRE(skp_reader_string(&r, &name, &namelen, 64) == SKP_OK);
	REQUIRE(skp_reader_string(&r, &inner, &innerlen, 4096) == SKP_OK);
	skp_buf_string(b, "rsa-sha2-512", 12);
	skp_buf_string(b, inner, innerlen);
	renamed = blob_of(b, &renamedlen);
	CHECK_RC(skp_hostkey_verify(rsa->blob, rsa->bloblen, renamed,
	    renamedlen, H, sizeof(H)), SKP_ERR_VERIFY);
	free(renamed);
	free(s1);
	free(s2);
	free(s3);
	skp_buf_free(&b);
	tkey_free(ed);
	tkey_free(p256);
	tkey_free(p384);
	tkey_free(rsa);
}

/* A blob with n more bytes appended (and the length fields unchanged). */
static uint8_t *
with_trailing(const uint8_t *p, size_t n, size_t *outlen)
{
	uint8_t *q = calloc(1, n + 1);

	if (q == NULL)
		abort();
	memcpy(q, p, n);
	*outlen = n + 1;
	return q;
}

static void
refuses_trailing_bytes(void)
{
	struct tkey *k = tkey_new("ssh-ed25519");
	uint8_t *sig, *t;
	size_t siglen, tl;

	sig = tsign(k, "ssh-ed25519", H, sizeof(H), &siglen);
	t = with_trailing(k->blob, k->bloblen, &tl);
	CHECK_RC(skp_hostkey_verify(t, tl, sig, siglen, H, sizeof(H)),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_hostkey_check(t, tl, NULL), SKP_ERR_FORMAT);
	free(t);
	t = with_trailing(sig, siglen, &tl);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, t, tl, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(t);
	/* A blob cut short. */
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen - 1, sig, siglen, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, sig, siglen - 1, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(sig);
	tkey_free(k);
}

/* Build an ECDSA signature blob from r and s given as raw mpint bodies. */
static uint8_t *
ecdsa_blob(const char *alg, const uint8_t *r, size_t rl, const uint8_t *s,
    size_t sl, int extra, size_t *len)
{
	skp_buf_t *in = skp_buf_new(BLOB_MAX), *b = skp_buf_new(BLOB_MAX);
	uint8_t *p;

	if (in == NULL || b == NULL)
		abort();
	skp_buf_string(in, r, rl);
	skp_buf_string(in, s, sl);
	if (extra)
		skp_buf_u8(in, 0);
	skp_buf_string(b, alg, strlen(alg));
	skp_buf_string(b, skp_buf_ptr(in), skp_buf_len(in));
	p = blob_of(b, len);
	skp_buf_free(&in);
	skp_buf_free(&b);
	return p;
}

static void
refuses_bad_ecdsa_mpints(void)
{
	struct tkey *k = tkey_new("ecdsa-sha2-nistp256");
	uint8_t *sig, *t;
	const uint8_t *name, *inner, *r, *s;
	size_t siglen, tl, namelen, innerlen, rl, sl;
	uint8_t buf[80];
	skp_reader_t rd, ri;

	sig = tsign(k, "ecdsa-sha2-nistp256", H, sizeof(H), &siglen);
	skp_reader_init(&rd, sig, siglen);
	REQUIRE(skp_reader_string(&rd, &name, &namelen, 64) == SKP_OK);
	REQUIRE(skp_reader_string(&rd, &inner, &innerlen, 200) == SKP_OK);
	skp_reader_init(&ri, inner, innerlen);
	REQUIRE(skp_reader_string(&ri, &r, &rl, 40) == SKP_OK);
	REQUIRE(skp_reader_string(&ri, &s, &sl, 40) == SKP_OK);
	/* As made: it verifies. */
	t = ecdsa_blob(k->name, r, rl, s, sl, 0, &tl);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, t, tl, H,
	    sizeof(H)), SKP_OK);
	free(t);
	/* Trailing byte inside the signature. */
	t = ecdsa_blob(k->name, r, rl, s, sl, 1, &tl);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, t, tl, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(t);
	/* A needless leading zero: same number, not minimal. */
	buf[0] = 0;
	memcpy(buf + 1, r, rl);
	t = ecdsa_blob(k->name, buf, rl + 1, s, sl, 0, &tl);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, t, tl, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(t);
	/* Negative: top bit set without the zero byte. */
	buf[0] = 0x80;
	t = ecdsa_blob(k->name, buf, 1, s, sl, 0, &tl);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, t, tl, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(t);
	/* Zero. */
	t = ecdsa_blob(k->name, buf, 0, s, sl, 0, &tl);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, t, tl, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(t);
	/* Longer than the field. */
	memset(buf, 0x11, sizeof(buf));
	t = ecdsa_blob(k->name, buf, 33, s, sl, 0, &tl);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, t, tl, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(t);
	free(sig);
	tkey_free(k);
}

/* Replace the EC point of a p256 key blob. */
static void
refuses_bad_ec_points(void)
{
	struct tkey *k = tkey_new("ecdsa-sha2-nistp256");
	uint8_t blob[BLOB_MAX];
	size_t pt = k->bloblen - 65;

	REQUIRE(k->bloblen > 65);
	memcpy(blob, k->blob, k->bloblen);
	CHECK(blob[pt] == 0x04);
	/* Off the curve. */
	blob[k->bloblen - 1] ^= 1;
	CHECK_RC(skp_hostkey_check(blob, k->bloblen, NULL), SKP_ERR_CRYPTO);
	/* Compressed form is not what OpenSSH sends. */
	memcpy(blob, k->blob, k->bloblen);
	blob[pt] = 0x02;
	CHECK_RC(skp_hostkey_check(blob, k->bloblen, NULL), SKP_ERR_FORMAT);
	/* The curve name in the blob must match the key type. */
	memcpy(blob, k->blob, k->bloblen);
	blob[4 + 19 + 4 + 7] = '4';	/* "nistp256" -> "nistp254" */
	CHECK_RC(skp_hostkey_check(blob, k->bloblen, NULL), SKP_ERR_FORMAT);
	tkey_free(k);
}

static void
refuses_unsupported_key_types(void)
{
	static const char *const names[] = { "ssh-dss",
	    "ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com",
	    "ecdsa-sha2-nistp192" };
	skp_buf_t *b;
	uint8_t *p, zero[32] = { 0 };
	size_t i, len;

	for (i = 0; i < nitems(names); i++) {
		REQUIRE((b = skp_buf_new(BLOB_MAX)) != NULL);
		skp_buf_string(b, names[i], strlen(names[i]));
		skp_buf_string(b, zero, sizeof(zero));
		p = blob_of(b, &len);
		CHECK_RC(skp_hostkey_check(p, len, NULL), SKP_ERR_UNSUPPORTED);
		free(p);
		skp_buf_free(&b);
	}
	CHECK_RC(skp_hostkey_check(zero, 0, NULL), SKP_ERR_FORMAT);
	CHECK_RC(skp_hostkey_check(zero, 3, NULL), SKP_ERR_FORMAT);
}

static void
refuses_bad_ed25519_lengths(void)
{
	struct tkey *k = tkey_new("ssh-ed25519");
	skp_buf_t *b = skp_buf_new(BLOB_MAX);
	uint8_t *sig, *p;
	const uint8_t *name, *raw;
	size_t siglen, len, namelen, rawlen;
	skp_reader_t r;

	REQUIRE(b != NULL);
	sig = tsign(k, "ssh-ed25519", H, sizeof(H), &siglen);
	skp_reader_init(&r, sig, siglen);
	REQUIRE(skp_reader_string(&r, &name, &namelen, 64) == SKP_OK);
	REQUIRE(skp_reader_string(&r, &raw, &rawlen, 100) == SKP_OK);
	skp_buf_string(b, "ssh-ed25519", 11);
	skp_buf_string(b, raw, rawlen - 1);
	p = blob_of(b, &len);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, p, len, H,
	    sizeof(H)), SKP_ERR_FORMAT);
	free(p);
	/* A 31-byte public key. */
	skp_buf_string(b, "ssh-ed25519", 11);
	skp_buf_string(b, raw, 31);
	p = blob_of(b, &len);
	CHECK_RC(skp_hostkey_check(p, len, NULL), SKP_ERR_FORMAT);
	free(p);
	free(sig);
	skp_buf_free(&b);
	tkey_free(k);
}

/* RSA: e must be odd and > 1, n minimal; a short signature is padded. */
static void
rsa_key_and_signature_lengths(void)
{
	struct tkey *k = tkey_new("ssh-rsa");
	skp_buf_t *b = skp_buf_new(BLOB_MAX);
	uint8_t *sig = NULL, *p, data[8] = { 0 };
	const uint8_t *name, *e, *n, *sname, *raw;
	size_t siglen = 0, len, namelen, elen, nlen, snamelen, rawlen;
	uint8_t one = 1, even = 4;
	skp_reader_t r;
	int i;

	REQUIRE(b != NULL);
	skp_reader_init(&r, k->blob, k->bloblen);
	REQUIRE(skp_reader_string(&r, &name, &namelen, 64) == SKP_OK);
	REQUIRE(skp_reader_string(&r, &e, &elen, 8) == SKP_OK);
	REQUIRE(skp_reader_string(&r, &n, &nlen, 1024) == SKP_OK);
	skp_buf_string(b, "ssh-rsa", 7);
	skp_buf_string(b, &one, 1);
	skp_buf_string(b, n, nlen);
	p = blob_of(b, &len);
	CHECK_RC(skp_hostkey_check(p, len, NULL), SKP_ERR_CRYPTO);
	free(p);
	skp_buf_string(b, "ssh-rsa", 7);
	skp_buf_string(b, &even, 1);
	skp_buf_string(b, n, nlen);
	p = blob_of(b, &len);
	CHECK_RC(skp_hostkey_check(p, len, NULL), SKP_ERR_CRYPTO);
	free(p);
	/*
	 * A signature with a leading zero byte, sent without it: OpenSSH
	 * pads it back to the modulus length, and so must this. About one
	 * in 256 signatures starts with zero; the loop is bounded.
	 */
	for (i = 0; i < 4000; i++) {
		free(sig);
		memcpy(data, &i, sizeof(i));
		sig = tsign(k, "rsa-sha2-256", data, sizeof(data), &siglen);
		skp_reader_init(&r, sig, siglen);
		if (skp_reader_string(&r, &sname, &snamelen, 64) == SKP_OK &&
		    skp_reader_string(&r, &raw, &rawlen, 1024) == SKP_OK &&
		    raw[0] == 0)
			break;
	}
	REQUIRE(i < 4000);
	skp_buf_string(b, "rsa-sha2-256", 12);
	skp_buf_string(b, raw + 1, rawlen - 1);
	p = blob_of(b, &len);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, p, len, data,
	    sizeof(data)), SKP_OK);
	free(p);
	/* Longer than the modulus: refused. */
	skp_buf_string(b, "rsa-sha2-256", 12);
	skp_buf_u32(b, (uint32_t)rawlen + 1);
	skp_buf_u8(b, 0);
	skp_buf_put(b, raw, rawlen);
	p = blob_of(b, &len);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, p, len, data,
	    sizeof(data)), SKP_ERR_VERIFY);
	free(p);
	free(sig);
	skp_buf_free(&b);
	tkey_free(k);
}

static void
refuses_oversized_blobs(void)
{
	uint8_t *big = calloc(1, SKP_HOSTKEY_KEY_MAX + 1);
	struct tkey *k = tkey_new("ssh-ed25519");

	REQUIRE(big != NULL);
	CHECK_RC(skp_hostkey_check(big, SKP_HOSTKEY_KEY_MAX + 1, NULL),
	    SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, big,
	    SKP_HOSTKEY_SIG_MAX + 1, H, sizeof(H)), SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_hostkey_verify(k->blob, k->bloblen, NULL, 4, H,
	    sizeof(H)), SKP_ERR_INVALID);
	free(big);
	tkey_free(k);
}

int
main(int argc, char **argv)
{
	static const struct skp_test_case cases[] = {
		{ "ed25519_signs_and_verifies", ed25519_signs_and_verifies },
		{ "ecdsa_nistp256_signs_and_verifies",
		    ecdsa_nistp256_signs_and_verifies },
		{ "ecdsa_nistp384_signs_and_verifies",
		    ecdsa_nistp384_signs_and_verifies },
		{ "ecdsa_nistp521_signs_and_verifies",
		    ecdsa_nistp521_signs_and_verifies },
		{ "rsa_sha2_256_signs_and_verifies",
		    rsa_sha2_256_signs_and_verifies },
		{ "rsa_sha2_512_signs_and_verifies",
		    rsa_sha2_512_signs_and_verifies },
		{ "real_openssh_ed25519_capture",
		    real_openssh_ed25519_capture },
		{ "real_openssh_ecdsa_capture", real_openssh_ecdsa_capture },
		{ "real_openssh_rsa_sha2_512_capture",
		    real_openssh_rsa_sha2_512_capture },
		{ "fingerprint_matches_ssh_keygen",
		    fingerprint_matches_ssh_keygen },
		{ "refuses_ssh_rsa_sha1", refuses_ssh_rsa_sha1 },
		{ "refuses_rsa_below_2048_bits", refuses_rsa_below_2048_bits },
		{ "refuses_algorithm_mismatch", refuses_algorithm_mismatch },
		{ "refuses_trailing_bytes", refuses_trailing_bytes },
		{ "refuses_bad_ecdsa_mpints", refuses_bad_ecdsa_mpints },
		{ "refuses_bad_ec_points", refuses_bad_ec_points },
		{ "refuses_unsupported_key_types",
		    refuses_unsupported_key_types },
		{ "refuses_bad_ed25519_lengths", refuses_bad_ed25519_lengths },
		{ "rsa_key_and_signature_lengths",
		    rsa_key_and_signature_lengths },
		{ "refuses_oversized_blobs", refuses_oversized_blobs },
	};

	return skp_test_run(cases, nitems(cases), argc, argv);
}
