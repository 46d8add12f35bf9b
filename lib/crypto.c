/* P-256, Ed25519, AES-256-GCM, SHA-256 and HKDF on OpenSSL 3, raw key bytes. */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"

void
skp_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

int
skp_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
skp_random(void *p, size_t n)
{
	if (n > INT_MAX)
		return SKP_ERR_INVALID;
	if (n == 0)
		return SKP_OK;
	return RAND_bytes(p, (int)n) == 1 ? SKP_OK : SKP_ERR_INTERNAL;
}

int
skp_sha256(const void *p, size_t n, uint8_t out[SKP_SHA256_LEN])
{
	return EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) == 1 ?
	    SKP_OK : SKP_ERR_INTERNAL;
}

int
skp_sha256_2(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[SKP_SHA256_LEN])
{
	EVP_MD_CTX *md;
	int rc = SKP_ERR_INTERNAL;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return SKP_ERR_NOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, a, alen) == 1 &&
	    EVP_DigestUpdate(md, b, blen) == 1 &&
	    EVP_DigestFinal_ex(md, out, NULL) == 1)
		rc = SKP_OK;
	EVP_MD_CTX_free(md);
	return rc;
}

int
skp_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
    uint8_t out[SKP_SHA256_LEN])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX)
		return SKP_ERR_INVALID;
	if (HMAC(EVP_sha256(), key, (int)keylen, p, n, out, &outlen) == NULL ||
	    outlen != SKP_SHA256_LEN)
		return SKP_ERR_INTERNAL;
	return SKP_OK;
}

int
skp_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm,
    size_t ikmlen, const void *info, size_t infolen, uint8_t *out,
    size_t outlen)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	uint8_t zero = 0;
	int rc = SKP_ERR_INTERNAL;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    ikm != NULL ? (void *)(uintptr_t)ikm : &zero, ikmlen);
	if (saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)(uintptr_t)salt, saltlen);
	if (infolen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)(uintptr_t)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) != 1)
		goto out;
	rc = SKP_OK;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/*
 * One P-256 group for the process. Making one costs OpenSSL about as much
 * as a fifth of an ECDH (Montgomery constants, the generator), and a
 * Noise handshake used to make nearly thirty. It is public and constant,
 * and only read once made (EC_POINT_* take it const), so threads share
 * it. It goes at exit, or when the provider is unloaded (dlclose), which
 * would otherwise leak it once per load.
 */
static EC_GROUP *p256_group;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void
p256_group_init(void)
{
	p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
}

static void p256_group_fini(void) __attribute__((destructor));

static void
p256_group_fini(void)
{
	EC_GROUP_free(p256_group);
	p256_group = NULL;
}

static const EC_GROUP *
p256(void)
{
	if (pthread_once(&p256_once, p256_group_init) != 0)
		return NULL;
	return p256_group;
}

/* A scalar as a constant-time BIGNUM in [1, n-1], or SKP_ERR_CRYPTO. */
static int
p256_scalar(const EC_GROUP *g, const uint8_t priv[SKP_P256_PRIV_LEN],
    BIGNUM **out)
{
	BIGNUM *d;

	*out = NULL;
	if ((d = BN_secure_new()) == NULL ||
	    BN_bin2bn(priv, SKP_P256_PRIV_LEN, d) == NULL) {
		BN_clear_free(d);
		return SKP_ERR_INTERNAL;
	}
	BN_set_flags(d, BN_FLG_CONSTTIME);
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0) {
		BN_clear_free(d);
		return SKP_ERR_CRYPTO;
	}
	*out = d;
	return SKP_OK;
}

/* An uncompressed point on the curve, not infinity, or SKP_ERR_CRYPTO. */
static int
p256_point(const EC_GROUP *g, const uint8_t pub[SKP_P256_PUB_LEN],
    EC_POINT *pt, BN_CTX *bnctx)
{
	if (pub[0] != 0x04 ||
	    EC_POINT_oct2point(g, pt, pub, SKP_P256_PUB_LEN, bnctx) != 1 ||
	    EC_POINT_is_at_infinity(g, pt) ||
	    EC_POINT_is_on_curve(g, pt, bnctx) != 1)
		return SKP_ERR_CRYPTO;
	return SKP_OK;
}

/* The point for a scalar, and a check that the scalar is in [1, n-1]. */
static int
p256_public_of(const uint8_t priv[SKP_P256_PRIV_LEN],
    uint8_t pub[SKP_P256_PUB_LEN])
{
	const EC_GROUP *g;
	EC_POINT *pt = NULL;
	BIGNUM *d = NULL;
	BN_CTX *bnctx = NULL;
	int rc = SKP_ERR_INTERNAL;

	if ((g = p256()) == NULL ||
	    (pt = EC_POINT_new(g)) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL)
		goto out;
	if ((rc = p256_scalar(g, priv, &d)) != SKP_OK)
		goto out;
	rc = SKP_ERR_INTERNAL;
	if (EC_POINT_mul(g, pt, d, NULL, NULL, bnctx) != 1 ||
	    EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub,
	    SKP_P256_PUB_LEN, bnctx) != SKP_P256_PUB_LEN)
		goto out;
	rc = SKP_OK;
out:
	BN_clear_free(d);
	BN_CTX_free(bnctx);
	EC_POINT_clear_free(pt);
	return rc;
}

int
skp_p256_from_private(const uint8_t priv[SKP_P256_PRIV_LEN],
    struct skp_p256_key *k)
{
	struct skp_p256_key t;
	int rc;

	memcpy(t.priv, priv, sizeof(t.priv));
	if ((rc = p256_public_of(t.priv, t.pub)) == SKP_OK)
		memcpy(k, &t, sizeof(t));
	skp_wipe(&t, sizeof(t));
	return rc;
}

int
skp_p256_generate(struct skp_p256_key *k)
{
	uint8_t d[SKP_P256_PRIV_LEN];
	int rc, tries;

	/* Rejection sampling: a scalar >= n happens with odds ~2^-32. */
	for (tries = 0; tries < 16; tries++) {
		if ((rc = skp_random(d, sizeof(d))) != SKP_OK)
			break;
		if ((rc = skp_p256_from_private(d, k)) != SKP_ERR_CRYPTO)
			break;
	}
	skp_wipe(d, sizeof(d));
	return rc;
}

int
skp_p256_check_public(const uint8_t pub[SKP_P256_PUB_LEN])
{
	const EC_GROUP *g;
	EC_POINT *pt = NULL;
	int rc = SKP_ERR_INTERNAL;

	if ((g = p256()) != NULL && (pt = EC_POINT_new(g)) != NULL)
		rc = p256_point(g, pub, pt, NULL);
	EC_POINT_free(pt);
	return rc;
}

/* An EVP_PKEY for a public point, and the private scalar when given. */
static int
p256_pkey(const uint8_t pub[SKP_P256_PUB_LEN],
    const uint8_t *priv, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	int rc;

	*out = NULL;
	if ((rc = skp_p256_check_public(pub)) != SKP_OK)
		return rc;
	rc = SKP_ERR_INTERNAL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, SKP_P256_PUB_LEN) != 1)
		goto out;
	if (priv != NULL) {
		if ((d = BN_secure_new()) == NULL ||
		    BN_bin2bn(priv, SKP_P256_PRIV_LEN, d) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
		    d) != 1)
			goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, priv != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	rc = SKP_OK;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return rc;
}

/*
 * ECDH on the shared group, as OpenSSL's own ECDH does it (the x of d * Q,
 * EC_POINT_mul with a constant-time scalar; P-256 has cofactor 1) but
 * without building two EVP_PKEYs, each with a group of its own, per call.
 */
int
skp_p256_ecdh(const struct skp_p256_key *k,
    const uint8_t peer[SKP_P256_PUB_LEN], uint8_t out[SKP_P256_DH_LEN])
{
	const EC_GROUP *g;
	EC_POINT *theirs = NULL, *shared = NULL;
	BIGNUM *d = NULL, *x = NULL;
	BN_CTX *bnctx = NULL;
	int rc = SKP_ERR_INTERNAL;

	if ((g = p256()) == NULL ||
	    (theirs = EC_POINT_new(g)) == NULL ||
	    (shared = EC_POINT_new(g)) == NULL ||
	    (x = BN_secure_new()) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL)
		goto out;
	if ((rc = p256_point(g, peer, theirs, bnctx)) != SKP_OK ||
	    (rc = p256_scalar(g, k->priv, &d)) != SKP_OK)
		goto out;
	rc = SKP_ERR_INTERNAL;
	if (EC_POINT_mul(g, shared, NULL, theirs, d, bnctx) != 1 ||
	    EC_POINT_is_at_infinity(g, shared) ||
	    EC_POINT_get_affine_coordinates(g, shared, x, NULL, bnctx) != 1 ||
	    BN_bn2binpad(x, out, SKP_P256_DH_LEN) != SKP_P256_DH_LEN)
		goto out;
	rc = SKP_OK;
out:
	BN_CTX_free(bnctx);
	BN_clear_free(x);
	BN_clear_free(d);
	EC_POINT_clear_free(shared);
	EC_POINT_free(theirs);
	return rc;
}

/*
 * One signature or check through EVP_DigestSign/Verify: md is the hash
 * (NULL for Ed25519, which hashes inside). The callers own pkey.
 */
static int
pkey_sign(EVP_PKEY *pkey, const EVP_MD *md, const void *msg, size_t msglen,
    uint8_t *sig, size_t *len)
{
	EVP_MD_CTX *mctx;
	int rc = SKP_ERR_INTERNAL;

	if ((mctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(mctx, NULL, md, NULL, pkey) == 1 &&
	    EVP_DigestSign(mctx, sig, len, msg, msglen) == 1)
		rc = SKP_OK;
	EVP_MD_CTX_free(mctx);
	return rc;
}

static int
pkey_verify(EVP_PKEY *pkey, const EVP_MD *md, const void *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *mctx;
	int rc = SKP_ERR_INTERNAL;

	if ((mctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(mctx, NULL, md, NULL, pkey) == 1)
		rc = EVP_DigestVerify(mctx, sig, siglen, msg, msglen) == 1 ?
		    SKP_OK : SKP_ERR_CRYPTO;
	EVP_MD_CTX_free(mctx);
	return rc;
}

int
skp_p256_sign(const struct skp_p256_key *k, const void *msg, size_t msglen,
    uint8_t sig[SKP_P256_SIG_MAX], size_t *siglen)
{
	EVP_PKEY *pkey = NULL;
	size_t len = SKP_P256_SIG_MAX;
	int rc;

	if ((rc = p256_pkey(k->pub, k->priv, &pkey)) == SKP_OK &&
	    (rc = pkey_sign(pkey, EVP_sha256(), msg, msglen, sig, &len)) ==
	    SKP_OK)
		*siglen = len;
	EVP_PKEY_free(pkey);
	return rc;
}

int
skp_p256_verify(const uint8_t pub[SKP_P256_PUB_LEN], const void *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	if ((rc = p256_pkey(pub, NULL, &pkey)) == SKP_OK)
		rc = pkey_verify(pkey, EVP_sha256(), msg, msglen, sig, siglen);
	EVP_PKEY_free(pkey);
	return rc;
}

int
skp_p256_sign_raw(const struct skp_p256_key *k, const void *msg,
    size_t msglen, uint8_t raw[SKP_P256_RAW_SIG_LEN])
{
	uint8_t der[SKP_P256_SIG_MAX];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig = NULL;
	size_t len = 0;
	int rc;

	if ((rc = skp_p256_sign(k, msg, msglen, der, &len)) != SKP_OK)
		goto out;
	rc = SKP_ERR_INTERNAL;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 ||
	    BN_bn2binpad(s, raw + 32, 32) != 32)
		goto out;
	rc = SKP_OK;
out:
	ECDSA_SIG_free(sig);
	skp_wipe(der, sizeof(der));
	return rc;
}

int
skp_p256_verify_raw(const uint8_t pub[SKP_P256_PUB_LEN], const void *msg,
    size_t msglen, const uint8_t raw[SKP_P256_RAW_SIG_LEN])
{
	BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG *sig = NULL;
	unsigned char *der = NULL;
	int len, rc = SKP_ERR_INTERNAL;

	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + 32, 32, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((len = i2d_ECDSA_SIG(sig, &der)) <= 0)
		goto out;
	/* Zero or out-of-range r and s fail in OpenSSL's verify. */
	rc = skp_p256_verify(pub, msg, msglen, der, (size_t)len);
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	OPENSSL_free(der);
	return rc;
}

/* ---- Ed25519 ---- */

/*
 * The y coordinates (sign bit cleared) of the eight points of small order,
 * whose "signatures" say nothing about a secret: order 1 (y = 1), 2
 * (y = -1), 4 (y = 0) and 8 (the last two).
 */
static const uint8_t ed25519_small_y[][SKP_ED25519_PUB_LEN] = {
	{ 0x01 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0x00 },
	{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
	  0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
	  0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
	{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
	  0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
	  0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
};

static int
ed25519_pkey(const uint8_t *pub, const uint8_t *priv, EVP_PKEY **out)
{
	*out = priv != NULL ?
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
	    SKP_ED25519_PRIV_LEN) :
	    EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    SKP_ED25519_PUB_LEN);
	return *out != NULL ? SKP_OK : SKP_ERR_CRYPTO;
}

int
skp_ed25519_from_private(const uint8_t priv[SKP_ED25519_PRIV_LEN],
    struct skp_ed25519_key *k)
{
	struct skp_ed25519_key t;
	EVP_PKEY *pkey = NULL;
	size_t n = sizeof(t.pub);
	int rc;

	memcpy(t.priv, priv, sizeof(t.priv));
	if ((rc = ed25519_pkey(NULL, t.priv, &pkey)) != SKP_OK)
		goto out;
	if (EVP_PKEY_get_raw_public_key(pkey, t.pub, &n) != 1 ||
	    n != sizeof(t.pub)) {
		rc = SKP_ERR_INTERNAL;
		goto out;
	}
	memcpy(k, &t, sizeof(t));
out:
	EVP_PKEY_free(pkey);
	skp_wipe(&t, sizeof(t));
	return rc;
}

int
skp_ed25519_generate(struct skp_ed25519_key *k)
{
	uint8_t seed[SKP_ED25519_PRIV_LEN];
	int rc;

	/* Every seed is a key (RFC 8032 §5.1.5). */
	if ((rc = skp_random(seed, sizeof(seed))) == SKP_OK)
		rc = skp_ed25519_from_private(seed, k);
	skp_wipe(seed, sizeof(seed));
	return rc;
}

/*
 * RFC 8032 §5.1.3: y below p, and x^2 = (y^2 - 1) / (d y^2 + 1) has a
 * root, which is 0 only with the sign bit clear. OpenSSL takes any 32
 * bytes as a public key and fails only at verification; a key handle or
 * an answer with a key that is no point is refused here, at once.
 */
static int
ed25519_on_curve(const uint8_t pub[SKP_ED25519_PUB_LEN])
{
	uint8_t be[SKP_ED25519_PUB_LEN];
	BN_CTX *ctx = NULL;
	BIGNUM *p, *d, *y, *u, *v, *e;
	size_t i;
	int sign, rc = SKP_ERR_INTERNAL;

	for (i = 0; i < sizeof(be); i++)
		be[i] = pub[sizeof(be) - 1 - i];
	sign = (be[0] & 0x80) != 0;
	be[0] &= 0x7f;
	if ((ctx = BN_CTX_new()) == NULL)
		goto out;
	BN_CTX_start(ctx);
	p = BN_CTX_get(ctx);
	d = BN_CTX_get(ctx);
	y = BN_CTX_get(ctx);
	u = BN_CTX_get(ctx);
	v = BN_CTX_get(ctx);
	if ((e = BN_CTX_get(ctx)) == NULL)
		goto out;
	/* p = 2^255 - 19; d = -121665 / 121666 mod p. */
	if (BN_set_bit(p, 255) != 1 || BN_sub_word(p, 19) != 1 ||
	    BN_bin2bn(be, sizeof(be), y) == NULL ||
	    BN_set_word(u, 121666) != 1 ||
	    BN_mod_inverse(d, u, p, ctx) == NULL ||
	    BN_mul_word(d, 121665) != 1 ||
	    BN_mod_sub(d, p, d, p, ctx) != 1)
		goto out;
	if (BN_cmp(y, p) >= 0) {
		rc = SKP_ERR_CRYPTO;
		goto out;
	}
	/* u = y^2 - 1, v = d y^2 + 1, e = u / v. */
	if (BN_mod_sqr(e, y, p, ctx) != 1 ||
	    BN_mod_mul(v, d, e, p, ctx) != 1 ||
	    BN_add_word(v, 1) != 1 || BN_nnmod(v, v, p, ctx) != 1 ||
	    BN_sub_word(e, 1) != 1 || BN_nnmod(u, e, p, ctx) != 1 ||
	    BN_mod_inverse(v, v, p, ctx) == NULL ||
	    BN_mod_mul(e, u, v, p, ctx) != 1)
		goto out;
	if (BN_is_zero(e)) {
		rc = sign ? SKP_ERR_CRYPTO : SKP_OK;
		goto out;
	}
	/* Euler's criterion: e^((p-1)/2) is 1 for a square. */
	if (BN_sub_word(p, 1) != 1 || BN_rshift1(v, p) != 1 ||
	    BN_add_word(p, 1) != 1 ||
	    BN_mod_exp(u, e, v, p, ctx) != 1)
		goto out;
	rc = BN_is_one(u) ? SKP_OK : SKP_ERR_CRYPTO;
out:
	if (ctx != NULL)
		BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return rc;
}

int
skp_ed25519_check_public(const uint8_t pub[SKP_ED25519_PUB_LEN])
{
	uint8_t y[SKP_ED25519_PUB_LEN];
	size_t i;

	if (pub == NULL)
		return SKP_ERR_INVALID;
	memcpy(y, pub, sizeof(y));
	y[sizeof(y) - 1] &= 0x7f;
	for (i = 0; i < sizeof(ed25519_small_y) / sizeof(ed25519_small_y[0]);
	    i++)
		if (memcmp(y, ed25519_small_y[i], sizeof(y)) == 0)
			return SKP_ERR_CRYPTO;
	return ed25519_on_curve(pub);
}

int
skp_ed25519_sign(const struct skp_ed25519_key *k, const void *msg,
    size_t msglen, uint8_t sig[SKP_ED25519_SIG_LEN])
{
	EVP_PKEY *pkey = NULL;
	size_t len = SKP_ED25519_SIG_LEN;
	int rc;

	if ((rc = ed25519_pkey(NULL, k->priv, &pkey)) == SKP_OK &&
	    (rc = pkey_sign(pkey, NULL, msg, msglen, sig, &len)) == SKP_OK &&
	    len != SKP_ED25519_SIG_LEN)
		rc = SKP_ERR_INTERNAL;
	EVP_PKEY_free(pkey);
	return rc;
}

int
skp_ed25519_verify(const uint8_t pub[SKP_ED25519_PUB_LEN], const void *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	if (sig == NULL || siglen != SKP_ED25519_SIG_LEN)
		return SKP_ERR_CRYPTO;
	if ((rc = ed25519_pkey(pub, NULL, &pkey)) == SKP_OK)
		rc = pkey_verify(pkey, NULL, msg, msglen, sig, siglen);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
aesgcm(int enc, const uint8_t key[SKP_AESGCM_KEY_LEN],
    const uint8_t nonce[SKP_AESGCM_NONCE_LEN], const void *ad, size_t adlen,
    const uint8_t *in, size_t inlen, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int n, rc = SKP_ERR_INTERNAL;

	if (adlen > INT_MAX || inlen > INT_MAX)
		return SKP_ERR_TOO_LARGE;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce,
	    enc) != 1)
		goto out;
	if (adlen > 0 && EVP_CipherUpdate(ctx, NULL, &n, ad,
	    (int)adlen) != 1)
		goto out;
	if (inlen > 0 && EVP_CipherUpdate(ctx, out, &n, in,
	    (int)inlen) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    SKP_AESGCM_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + inlen, &n) != 1) {
		rc = enc ? SKP_ERR_INTERNAL : SKP_ERR_DECRYPT;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    SKP_AESGCM_TAG_LEN, tag) != 1)
		goto out;
	rc = SKP_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (rc != SKP_OK && !enc)
		skp_wipe(out, inlen);
	return rc;
}

int
skp_aesgcm_seal(const uint8_t key[SKP_AESGCM_KEY_LEN],
    const uint8_t nonce[SKP_AESGCM_NONCE_LEN], const void *ad, size_t adlen,
    const void *pt, size_t ptlen, uint8_t *out)
{
	if (ptlen > SIZE_MAX - SKP_AESGCM_TAG_LEN)
		return SKP_ERR_TOO_LARGE;
	return aesgcm(1, key, nonce, ad, adlen, pt, ptlen, out, out + ptlen);
}

int
skp_aesgcm_open(const uint8_t key[SKP_AESGCM_KEY_LEN],
    const uint8_t nonce[SKP_AESGCM_NONCE_LEN], const void *ad, size_t adlen,
    const void *ct, size_t ctlen, uint8_t *out)
{
	uint8_t tag[SKP_AESGCM_TAG_LEN];
	const uint8_t *c = ct;

	if (ctlen < SKP_AESGCM_TAG_LEN)
		return SKP_ERR_DECRYPT;
	memcpy(tag, c + ctlen - SKP_AESGCM_TAG_LEN, sizeof(tag));
	return aesgcm(0, key, nonce, ad, adlen, c, ctlen - SKP_AESGCM_TAG_LEN,
	    out, tag);
}

void
skp_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
skp_unhex(const char *s, void *out, size_t outlen)
{
	uint8_t *o = out;
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * outlen)
		return SKP_ERR_FORMAT;
	for (i = 0; i < outlen; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return SKP_ERR_FORMAT;
		o[i] = (uint8_t)(hi << 4 | lo);
	}
	return SKP_OK;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
skp_b64url_encode(const void *p, size_t n, char **out)
{
	const uint8_t *b = p;
	size_t i, o = 0, outlen;
	uint32_t v;
	char *s;

	if (n > (SIZE_MAX - 8) / 4 * 3)
		return SKP_ERR_TOO_LARGE;
	outlen = (n / 3) * 4 + ((n % 3) == 0 ? 0 : (n % 3) + 1);
	if ((s = malloc(outlen + 1)) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		s[o++] = b64url[(v >> 18) & 63];
		s[o++] = b64url[(v >> 12) & 63];
		s[o++] = b64url[(v >> 6) & 63];
		s[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)b[i] << 16;
		s[o++] = b64url[(v >> 18) & 63];
		s[o++] = b64url[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8;
		s[o++] = b64url[(v >> 18) & 63];
		s[o++] = b64url[(v >> 12) & 63];
		s[o++] = b64url[(v >> 6) & 63];
	}
	s[o] = '\0';
	*out = s;
	return SKP_OK;
}

static int
b64val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64url, c)) == NULL)
		return -1;
	return (int)(p - b64url);
}

int
skp_b64url_decode(const char *s, size_t n, uint8_t *out, size_t outmax,
    size_t *outlen)
{
	size_t i, o = 0, need;
	uint32_t v = 0;
	int bits = 0, c;

	if (n % 4 == 1)
		return SKP_ERR_FORMAT;
	need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (need > outmax)
		return SKP_ERR_TOO_LARGE;
	for (i = 0; i < n; i++) {
		if ((c = b64val(s[i])) < 0)
			return SKP_ERR_FORMAT;
		v = v << 6 | (uint32_t)c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	/* Leftover bits must be zero, so that each value has one spelling. */
	if ((v & ((1u << bits) - 1)) != 0) {
		skp_wipe(out, o);
		return SKP_ERR_FORMAT;
	}
	*outlen = o;
	return SKP_OK;
}
