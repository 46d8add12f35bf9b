/* SSH host keys: verify a host's signature over the exchange hash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostkey.h"

#define NAME_MAX_LEN	64
#define ED25519_PK_LEN	32
#define ED25519_SIG_LEN	64

enum key_type { KEY_ED25519 = 1, KEY_ECDSA, KEY_RSA };

struct ec_curve {
	const char	*name;		/* key and signature algorithm */
	const char	*id;		/* the curve's SSH identifier */
	const char	*group;		/* the curve's OpenSSL name */
	const char	*md;		/* RFC 5656 section 6.2.1 */
	size_t		 fieldlen;
};

static const struct ec_curve ec_curves[] = {
	{ "ecdsa-sha2-nistp256", "nistp256", "P-256", "SHA256", 32 },
	{ "ecdsa-sha2-nistp384", "nistp384", "P-384", "SHA384", 48 },
	{ "ecdsa-sha2-nistp521", "nistp521", "P-521", "SHA512", 66 },
};

/* A parsed key blob; the pointers are into the caller's blob. */
struct key {
	enum key_type		 type;
	const char		*name;
	const struct ec_curve	*ec;
	const uint8_t		*pk;	/* Ed25519 key or EC point */
	size_t			 pklen;
	const uint8_t		*e, *n;	/* RSA, without a leading zero */
	size_t			 elen, nlen;
};

static int
str_is(const uint8_t *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

/*
 * An mpint (RFC 4251 section 5) that must be positive and minimal: the
 * magnitude, without the zero byte that keeps its top bit clear.
 */
static int
get_posint(skp_reader_t *r, const uint8_t **p, size_t *n, size_t max)
{
	const uint8_t *v;
	size_t len;
	int rc;

	if ((rc = skp_reader_string(r, &v, &len, max + 1)) != SKP_OK)
		return rc == SKP_ERR_TOO_LARGE ? SKP_ERR_FORMAT : rc;
	if (len == 0 || (v[0] & 0x80) != 0)
		return SKP_ERR_FORMAT;
	if (v[0] == 0) {
		if (len == 1 || (v[1] & 0x80) == 0)
			return SKP_ERR_FORMAT;
		v++;
		len--;
	}
	if (len > max)
		return SKP_ERR_FORMAT;
	*p = v;
	*n = len;
	return SKP_OK;
}

static size_t
bit_length(const uint8_t *p, size_t n)
{
	size_t bits = n * 8;
	uint8_t top = p[0];

	while ((top & 0x80) == 0 && bits > 0) {
		top = (uint8_t)(top << 1);
		bits--;
	}
	return bits;
}

static int
parse_key(const uint8_t *blob, size_t len, struct key *k)
{
	const uint8_t *name, *id;
	size_t namelen, idlen, i;
	skp_reader_t r;
	int rc;

	memset(k, 0, sizeof(*k));
	if (blob == NULL || len == 0 || len > SKP_HOSTKEY_KEY_MAX)
		return len > SKP_HOSTKEY_KEY_MAX ? SKP_ERR_TOO_LARGE :
		    SKP_ERR_FORMAT;
	skp_reader_init(&r, blob, len);
	if ((rc = skp_reader_string(&r, &name, &namelen, NAME_MAX_LEN)) !=
	    SKP_OK)
		return SKP_ERR_FORMAT;
	if (str_is(name, namelen, "ssh-ed25519")) {
		k->type = KEY_ED25519;
		k->name = "ssh-ed25519";
		if (skp_reader_string(&r, &k->pk, &k->pklen,
		    ED25519_PK_LEN) != SKP_OK || k->pklen != ED25519_PK_LEN)
			return SKP_ERR_FORMAT;
	} else if (str_is(name, namelen, "ssh-rsa")) {
		k->type = KEY_RSA;
		k->name = "ssh-rsa";
		if ((rc = get_posint(&r, &k->e, &k->elen,
		    SKP_HOSTKEY_RSA_MAX_BITS / 8)) != SKP_OK ||
		    (rc = get_posint(&r, &k->n, &k->nlen,
		    SKP_HOSTKEY_RSA_MAX_BITS / 8)) != SKP_OK)
			return rc == SKP_ERR_TRUNCATED ? SKP_ERR_FORMAT : rc;
	} else {
		for (i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
			if (str_is(name, namelen, ec_curves[i].name))
				k->ec = &ec_curves[i];
		if (k->ec == NULL)
			return SKP_ERR_UNSUPPORTED;
		k->type = KEY_ECDSA;
		k->name = k->ec->name;
		if (skp_reader_string(&r, &id, &idlen, NAME_MAX_LEN) !=
		    SKP_OK || !str_is(id, idlen, k->ec->id) ||
		    skp_reader_string(&r, &k->pk, &k->pklen,
		    1 + 2 * k->ec->fieldlen) != SKP_OK)
			return SKP_ERR_FORMAT;
		/* Only the uncompressed form, as OpenSSH sends it. */
		if (k->pklen != 1 + 2 * k->ec->fieldlen || k->pk[0] != 0x04)
			return SKP_ERR_FORMAT;
	}
	if (skp_reader_end(&r) != SKP_OK)
		return SKP_ERR_FORMAT;
	if (k->type == KEY_RSA) {
		i = bit_length(k->n, k->nlen);
		if (i < SKP_HOSTKEY_RSA_MIN_BITS ||
		    i > SKP_HOSTKEY_RSA_MAX_BITS)
			return SKP_ERR_CRYPTO;
		if ((k->e[k->elen - 1] & 1) == 0 ||
		    (k->elen == 1 && k->e[0] < 3) || k->elen > k->nlen)
			return SKP_ERR_CRYPTO;
	}
	return SKP_OK;
}

static int
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *cctx = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = SKP_ERR_INTERNAL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = SKP_ERR_CRYPTO;
		goto out;
	}
	if ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		goto out;
	/* For EC: the point is on the curve and not at infinity. */
	if (EVP_PKEY_public_check(cctx) != 1) {
		rc = SKP_ERR_CRYPTO;
		goto out;
	}
	*out = pkey;
	pkey = NULL;
	rc = SKP_OK;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rc;
}

static int
make_pkey(const struct key *k, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int rc = SKP_ERR_INTERNAL;

	if (k->type == KEY_ED25519) {
		if ((*out = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519",
		    NULL, k->pk, k->pklen)) == NULL)
			return SKP_ERR_CRYPTO;
		return SKP_OK;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (k->type == KEY_ECDSA) {
		if (OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, k->ec->group, 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, k->pk, k->pklen) != 1)
			goto out;
		rc = pkey_fromdata("EC", bld, out);
		goto out;
	}
	if ((n = BN_bin2bn(k->n, (int)k->nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(k->e, (int)k->elen, NULL)) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out;
	rc = pkey_fromdata("RSA", bld, out);
out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/* The DER form OpenSSL verifies, from the SSH mpint r, mpint s. */
static int
ecdsa_der(const struct key *k, const uint8_t *blob, size_t len,
    uint8_t **der, size_t *derlen)
{
	const uint8_t *rp, *sp;
	size_t rlen, slen;
	skp_reader_t r;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *d = NULL;
	int n, rc;

	skp_reader_init(&r, blob, len);
	/* Larger than the field: it cannot be below the order. */
	if ((rc = get_posint(&r, &rp, &rlen, k->ec->fieldlen)) != SKP_OK ||
	    (rc = get_posint(&r, &sp, &slen, k->ec->fieldlen)) != SKP_OK ||
	    (rc = skp_reader_end(&r)) != SKP_OK) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	rc = SKP_ERR_INTERNAL;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(rp, (int)rlen, NULL)) == NULL ||
	    (bs = BN_bin2bn(sp, (int)slen, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;
	if ((n = i2d_ECDSA_SIG(es, &d)) <= 0)
		goto out;
	*der = d;
	*derlen = (size_t)n;
	d = NULL;
	rc = SKP_OK;
out:
	OPENSSL_free(d);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return rc;
}

static int
evp_verify(EVP_PKEY *pkey, const char *md, const uint8_t *sig,
    size_t siglen, const void *data, size_t datalen)
{
	EVP_MD_CTX *mctx = NULL;
	int rc = SKP_ERR_INTERNAL;

	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, md, NULL, NULL, pkey,
	    NULL) != 1)
		goto out;
	rc = EVP_DigestVerify(mctx, sig, siglen, data, datalen) == 1 ?
	    SKP_OK : SKP_ERR_VERIFY;
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

int
skp_hostkey_check(const uint8_t *key, size_t keylen, const char **type)
{
	EVP_PKEY *pkey = NULL;
	struct key k;
	int rc;

	if ((rc = parse_key(key, keylen, &k)) != SKP_OK ||
	    (rc = make_pkey(&k, &pkey)) != SKP_OK)
		goto out;
	if (type != NULL)
		*type = k.name;
out:
	EVP_PKEY_free(pkey);
	if (rc != SKP_OK)
		ERR_clear_error();
	return rc;
}

int
skp_hostkey_verify(const uint8_t *key, size_t keylen, const uint8_t *sig,
    size_t siglen, const void *data, size_t datalen)
{
	const uint8_t *alg, *s;
	size_t alglen, slen;
	const char *md = NULL;
	uint8_t *buf = NULL;
	size_t buflen = 0;
	EVP_PKEY *pkey = NULL;
	skp_reader_t r;
	struct key k;
	int rc;

	if ((data == NULL && datalen > 0) || (sig == NULL && siglen > 0))
		return SKP_ERR_INVALID;
	if ((rc = parse_key(key, keylen, &k)) != SKP_OK)
		goto out;
	if (siglen > SKP_HOSTKEY_SIG_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	skp_reader_init(&r, sig, siglen);
	if (skp_reader_string(&r, &alg, &alglen, NAME_MAX_LEN) != SKP_OK ||
	    skp_reader_string(&r, &s, &slen, SKP_HOSTKEY_SIG_MAX) != SKP_OK ||
	    skp_reader_end(&r) != SKP_OK) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	/* RFC 8332 section 3: SHA-1 is no longer good enough for a host. */
	if (str_is(alg, alglen, "ssh-rsa")) {
		rc = SKP_ERR_UNSUPPORTED;
		goto out;
	}
	rc = SKP_ERR_VERIFY;
	switch (k.type) {
	case KEY_ED25519:
		if (!str_is(alg, alglen, "ssh-ed25519"))
			goto out;
		if (slen != ED25519_SIG_LEN) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		break;
	case KEY_ECDSA:
		if (!str_is(alg, alglen, k.ec->name))
			goto out;
		md = k.ec->md;
		if ((rc = ecdsa_der(&k, s, slen, &buf, &buflen)) != SKP_OK)
			goto out;
		s = buf;
		slen = buflen;
		break;
	case KEY_RSA:
		if (str_is(alg, alglen, "rsa-sha2-256"))
			md = "SHA256";
		else if (str_is(alg, alglen, "rsa-sha2-512"))
			md = "SHA512";
		else
			goto out;
		/* OpenSSH accepts a signature shorter than the modulus. */
		if (slen > k.nlen || slen == 0)
			goto out;
		if ((buf = OPENSSL_zalloc(k.nlen)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		buflen = k.nlen;
		memcpy(buf + (k.nlen - slen), s, slen);
		s = buf;
		slen = buflen;
		break;
	}
	if ((rc = make_pkey(&k, &pkey)) != SKP_OK)
		goto out;
	rc = evp_verify(pkey, md, s, slen, data, datalen);
out:
	OPENSSL_free(buf);
	EVP_PKEY_free(pkey);
	if (rc != SKP_OK)
		ERR_clear_error();
	return rc;
}

int
skp_hostkey_fingerprint(const uint8_t *key, size_t keylen,
    char out[SKP_HOSTKEY_FP_LEN])
{
	uint8_t h[SKP_SHA256_LEN];
	unsigned char b64[48];
	int n, rc;

	if (key == NULL || keylen == 0 || keylen > SKP_HOSTKEY_KEY_MAX)
		return SKP_ERR_INVALID;
	if ((rc = skp_sha256(key, keylen, h)) != SKP_OK)
		return rc;
	/* 32 bytes: 44 characters of which the last is the one "=". */
	if ((n = EVP_EncodeBlock(b64, h, (int)sizeof(h))) != 44)
		return SKP_ERR_INTERNAL;
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, 43);
	out[50] = '\0';
	return SKP_OK;
}
