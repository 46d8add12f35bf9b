/* Benchmark only: an in-process software SK provider, the helper's floor. */
/*
 * This provider keeps the private key IN THE KEY HANDLE, so the key file
 * is the key: it exists only to time what ssh-sk-helper and OpenSSH cost
 * around a provider that answers at once. Never install or use it for
 * real keys. It is not part of any installed target.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "skp-config.h"
#include "sk-api.h"

#define SOFT_EXPORT	__attribute__((visibility("default")))
#define SOFT_PRIV_LEN	32
#define SOFT_PUB_LEN	65

SOFT_EXPORT uint32_t	sk_api_version(void);
SOFT_EXPORT int		sk_enroll(uint32_t, const uint8_t *, size_t,
			    const char *, uint8_t, const char *,
			    struct sk_option **, struct sk_enroll_response **);
SOFT_EXPORT int		sk_sign(uint32_t, const uint8_t *, size_t,
			    const char *, const uint8_t *, size_t, uint8_t,
			    const char *, struct sk_option **,
			    struct sk_sign_response **);
SOFT_EXPORT int		sk_load_resident_keys(const char *,
			    struct sk_option **, struct sk_resident_key ***,
			    size_t *);

uint32_t
sk_api_version(void)
{
	return SKP_SK_API_VERSION;
}

static uint8_t *
dup_bytes(const void *p, size_t n)
{
	uint8_t *q;

	if ((q = malloc(n == 0 ? 1 : n)) != NULL && n > 0)
		memcpy(q, p, n);
	return q;
}

/* The key pair from 32 private bytes (OpenSSL 3 fromdata). */
static EVP_PKEY *
key_from_priv(const uint8_t priv[SOFT_PRIV_LEN], uint8_t pub[SOFT_PUB_LEN])
{
	EC_GROUP *g = NULL;
	EC_POINT *q = NULL;
	BIGNUM *d = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if ((g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (q = EC_POINT_new(g)) == NULL ||
	    (d = BN_bin2bn(priv, SOFT_PRIV_LEN, NULL)) == NULL ||
	    !EC_POINT_mul(g, q, d, NULL, NULL, NULL) ||
	    EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub,
	    SOFT_PUB_LEN, NULL) != SOFT_PUB_LEN ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, SOFT_PUB_LEN) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	EC_POINT_free(q);
	EC_GROUP_free(g);
	return pk;
}

int
sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **out)
{
	struct sk_enroll_response *r = NULL;
	uint8_t priv[SOFT_PRIV_LEN], pub[SOFT_PUB_LEN];
	EVP_PKEY *pk = NULL;
	BIGNUM *order = NULL, *d = NULL;
	EC_GROUP *g = NULL;
	int rc = SSH_SK_ERR_GENERAL;

	(void)challenge; (void)challenge_len; (void)application; (void)pin;
	(void)options;
	if (out == NULL)
		goto out;
	*out = NULL;
	if (alg != SSH_SK_ECDSA) {
		rc = SSH_SK_ERR_UNSUPPORTED;
		goto out;
	}
	/* A private scalar in [1, n-1]. */
	if ((g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (order = BN_new()) == NULL || (d = BN_new()) == NULL ||
	    !EC_GROUP_get_order(g, order, NULL) ||
	    !BN_priv_rand_range(d, order) || BN_is_zero(d) ||
	    BN_bn2binpad(d, priv, SOFT_PRIV_LEN) != SOFT_PRIV_LEN ||
	    (pk = key_from_priv(priv, pub)) == NULL)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->public_key = dup_bytes(pub, SOFT_PUB_LEN)) == NULL ||
	    (r->key_handle = dup_bytes(priv, SOFT_PRIV_LEN)) == NULL ||
	    (r->signature = dup_bytes("", 0)) == NULL ||
	    (r->attestation_cert = dup_bytes("", 0)) == NULL ||
	    (r->authdata = dup_bytes("", 0)) == NULL)
		goto out;
	r->public_key_len = SOFT_PUB_LEN;
	r->key_handle_len = SOFT_PRIV_LEN;
	r->flags = (uint8_t)(flags & (SSH_SK_USER_PRESENCE_REQD |
	    SSH_SK_USER_VERIFICATION_REQD | SSH_SK_RESIDENT_KEY));
	*out = r;
	r = NULL;
	rc = 0;
 out:
	if (r != NULL) {
		free(r->public_key);
		free(r->key_handle);
		free(r->signature);
		free(r->attestation_cert);
		free(r->authdata);
		free(r);
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	EVP_PKEY_free(pk);
	BN_clear_free(d);
	BN_free(order);
	EC_GROUP_free(g);
	return rc;
}

int
sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle,
    size_t key_handle_len, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_sign_response **out)
{
	struct sk_sign_response *r = NULL;
	uint8_t pub[SOFT_PUB_LEN], msg[37 + 32], der[80];
	const unsigned char *dp;
	size_t derlen = sizeof(der);
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *br, *bs;
	int rc = SSH_SK_ERR_GENERAL;

	(void)pin; (void)options;
	if (out == NULL)
		goto out;
	*out = NULL;
	if (alg != SSH_SK_ECDSA || key_handle_len != SOFT_PRIV_LEN ||
	    application == NULL)
		goto out;
	/* authData: rpIdHash || flags || counter 0, then SHA-256(data). */
	if (EVP_Digest(application, strlen(application), msg, NULL,
	    EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(data, data_len, msg + 37, NULL, EVP_sha256(),
	    NULL) != 1)
		goto out;
	msg[32] = (uint8_t)(flags & (SSH_SK_USER_PRESENCE_REQD |
	    SSH_SK_USER_VERIFICATION_REQD)) | SSH_SK_USER_PRESENCE_REQD;
	memset(msg + 33, 0, 4);
	if ((pk = key_from_priv(key_handle, pub)) == NULL ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, der, &derlen, msg, sizeof(msg)) != 1)
		goto out;
	dp = der;
	if ((sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(sig, &br, &bs);
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->sig_r = calloc(1, 32)) == NULL ||
	    (r->sig_s = calloc(1, 32)) == NULL ||
	    BN_bn2binpad(br, r->sig_r, 32) != 32 ||
	    BN_bn2binpad(bs, r->sig_s, 32) != 32)
		goto out;
	r->sig_r_len = r->sig_s_len = 32;
	r->flags = msg[32];
	r->counter = 0;
	*out = r;
	r = NULL;
	rc = 0;
 out:
	if (r != NULL) {
		free(r->sig_r);
		free(r->sig_s);
		free(r);
	}
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int
sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rks, size_t *nrks)
{
	(void)pin; (void)options;
	if (rks != NULL)
		*rks = NULL;
	if (nrks != NULL)
		*nrks = 0;
	return SSH_SK_ERR_UNSUPPORTED;
}
