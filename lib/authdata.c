/* Authenticator data and the COSE keys: build, parse strictly, sign. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "sk-phone/authdata.h"
#include "sk-phone/buf.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"

#define COORD_LEN	32

/* COSE labels and values: EC2 P-256 ES256, OKP Ed25519 EdDSA (RFC 8152). */
#define COSE_KTY	1
#define COSE_ALG	3
#define COSE_CRV	(-1)
#define COSE_X		(-2)
#define COSE_Y		(-3)
#define COSE_KTY_OKP	1
#define COSE_KTY_EC2	2
#define COSE_ALG_ES256	SKP_COSE_ALG_ES256
#define COSE_CRV_P256	1
#define COSE_CRV_ED25519 6

/*
 * UUID 3934e340-407e-4da9-af80-8851d9de98d7: random, chosen once for
 * sk-phone, so a server that keeps AAGUIDs sees what made the key.
 */
const uint8_t skp_authdata_aaguid[SKP_AUTHDATA_AAGUID_LEN] = {
	0x39, 0x34, 0xe3, 0x40, 0x40, 0x7e, 0x4d, 0xa9,
	0xaf, 0x80, 0x88, 0x51, 0xd9, 0xde, 0x98, 0xd7,
};

size_t
skp_authdata_pub_len(int64_t alg)
{
	switch (alg) {
	case SKP_COSE_ALG_ES256:
		return SKP_P256_PUB_LEN;
	case SKP_COSE_ALG_EDDSA:
		return SKP_ED25519_PUB_LEN;
	default:
		return 0;
	}
}

cbor_item_t *
skp_authdata_cose_key_item(int64_t alg, const uint8_t *pub)
{
	cbor_item_t *m = NULL;

	if (pub == NULL)
		goto fail;
	if (alg == SKP_COSE_ALG_EDDSA) {
		if ((m = skp_cbor_map(4)) == NULL ||
		    skp_cbor_map_put(m, COSE_KTY,
		    skp_cbor_uint(COSE_KTY_OKP)) != 0 ||
		    skp_cbor_map_put(m, COSE_ALG,
		    skp_cbor_int(SKP_COSE_ALG_EDDSA)) != 0 ||
		    skp_cbor_map_put(m, COSE_CRV,
		    skp_cbor_uint(COSE_CRV_ED25519)) != 0 ||
		    skp_cbor_map_put(m, COSE_X, skp_cbor_bytes(pub,
		    SKP_ED25519_PUB_LEN)) != 0)
			goto fail;
		return m;
	}
	if (alg != SKP_COSE_ALG_ES256 || pub[0] != 0x04)
		goto fail;
	if ((m = skp_cbor_map(5)) == NULL ||
	    skp_cbor_map_put(m, COSE_KTY, skp_cbor_uint(COSE_KTY_EC2)) != 0 ||
	    skp_cbor_map_put(m, COSE_ALG, skp_cbor_int(COSE_ALG_ES256)) != 0 ||
	    skp_cbor_map_put(m, COSE_CRV, skp_cbor_uint(COSE_CRV_P256)) != 0 ||
	    skp_cbor_map_put(m, COSE_X, skp_cbor_bytes(pub + 1,
	    COORD_LEN)) != 0 ||
	    skp_cbor_map_put(m, COSE_Y, skp_cbor_bytes(pub + 1 + COORD_LEN,
	    COORD_LEN)) != 0)
		goto fail;
	return m;
fail:
	skp_cbor_free(&m);
	return NULL;
}

cbor_item_t *
skp_authdata_cose_item(const uint8_t pub[SKP_P256_PUB_LEN])
{
	return skp_authdata_cose_key_item(SKP_COSE_ALG_ES256, pub);
}

int
skp_authdata_cose_key_encode(int64_t alg, const uint8_t *pub,
    uint8_t out[SKP_COSE_KEY_MAX], size_t *outlen)
{
	cbor_item_t *m = NULL;
	uint8_t *p = NULL;
	size_t n = 0, want;
	int rc;

	*outlen = 0;
	want = alg == SKP_COSE_ALG_EDDSA ? SKP_COSE_EDDSA_LEN :
	    SKP_COSE_ES256_LEN;
	if (pub == NULL || (alg != SKP_COSE_ALG_ES256 &&
	    alg != SKP_COSE_ALG_EDDSA) ||
	    (alg == SKP_COSE_ALG_ES256 && pub[0] != 0x04)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((m = skp_authdata_cose_key_item(alg, pub)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_cbor_encode(m, SKP_COSE_KEY_MAX, &p, &n)) != SKP_OK)
		goto out;
	if (n != want) {
		rc = SKP_ERR_INTERNAL;
		goto out;
	}
	memcpy(out, p, n);
	*outlen = n;
out:
	free(p);
	skp_cbor_free(&m);
	return rc;
}

int
skp_authdata_cose_encode(const uint8_t pub[SKP_P256_PUB_LEN],
    uint8_t out[SKP_COSE_ES256_LEN])
{
	size_t n;

	return skp_authdata_cose_key_encode(SKP_COSE_ALG_ES256, pub, out, &n);
}

static int
cose_int(const cbor_item_t *m, int64_t key, int64_t want)
{
	cbor_item_t *v;
	int64_t got;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, want < 0 ? CBOR_TYPE_NEGINT :
	    CBOR_TYPE_UINT, &v)) != SKP_OK)
		return rc == SKP_ERR_NOT_FOUND ? SKP_ERR_FORMAT : rc;
	if ((rc = skp_cbor_get_int(v, &got)) != SKP_OK)
		return rc;
	/* Another key type, algorithm or curve: not one sk-phone makes. */
	return got == want ? SKP_OK : SKP_ERR_UNSUPPORTED;
}

static int
cose_coord(const cbor_item_t *m, int64_t key, uint8_t *out)
{
	cbor_item_t *v;
	size_t n;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_BYTESTRING, &v)) !=
	    SKP_OK)
		return rc == SKP_ERR_NOT_FOUND ? SKP_ERR_FORMAT : rc;
	return skp_cbor_get_bytes(v, COORD_LEN, COORD_LEN, out, &n);
}

/* The key type picks the layout: EC2 is ES256, OKP is EdDSA. */
static int
cose_kty(const cbor_item_t *m, int64_t *alg)
{
	cbor_item_t *v;
	int64_t kty;
	int rc;

	if ((rc = skp_cbor_map_get(m, COSE_KTY, CBOR_TYPE_UINT, &v)) !=
	    SKP_OK)
		return rc == SKP_ERR_NOT_FOUND ? SKP_ERR_FORMAT : rc;
	if ((rc = skp_cbor_get_int(v, &kty)) != SKP_OK)
		return rc;
	if (kty == COSE_KTY_EC2)
		*alg = SKP_COSE_ALG_ES256;
	else if (kty == COSE_KTY_OKP)
		*alg = SKP_COSE_ALG_EDDSA;
	else
		return SKP_ERR_UNSUPPORTED;
	return SKP_OK;
}

int
skp_authdata_cose_key_from_item(const cbor_item_t *m, int64_t *alg,
    uint8_t pub[SKP_P256_PUB_LEN])
{
	static const int64_t ec2[] = {
		COSE_KTY, COSE_ALG, COSE_CRV, COSE_X, COSE_Y,
	};
	static const int64_t okp[] = {
		COSE_KTY, COSE_ALG, COSE_CRV, COSE_X,
	};
	uint8_t tmp[SKP_P256_PUB_LEN];
	int64_t a = 0;
	int rc;

	memset(tmp, 0, sizeof(tmp));
	if (m == NULL || alg == NULL || pub == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (!cbor_isa_map(m)) {
		rc = SKP_ERR_CBOR_TYPE;
		goto out;
	}
	if ((rc = cose_kty(m, &a)) != SKP_OK)
		goto out;
	if (a == SKP_COSE_ALG_EDDSA) {
		if ((rc = skp_cbor_map_only(m, okp, sizeof(okp) /
		    sizeof(okp[0]))) != SKP_OK ||
		    (rc = cose_int(m, COSE_ALG, SKP_COSE_ALG_EDDSA)) !=
		    SKP_OK ||
		    (rc = cose_int(m, COSE_CRV, COSE_CRV_ED25519)) != SKP_OK ||
		    (rc = cose_coord(m, COSE_X, tmp)) != SKP_OK ||
		    (rc = skp_ed25519_check_public(tmp)) != SKP_OK)
			goto out;
	} else {
		tmp[0] = 0x04;
		if ((rc = skp_cbor_map_only(m, ec2, sizeof(ec2) /
		    sizeof(ec2[0]))) != SKP_OK ||
		    (rc = cose_int(m, COSE_ALG, COSE_ALG_ES256)) != SKP_OK ||
		    (rc = cose_int(m, COSE_CRV, COSE_CRV_P256)) != SKP_OK ||
		    (rc = cose_coord(m, COSE_X, tmp + 1)) != SKP_OK ||
		    (rc = cose_coord(m, COSE_Y, tmp + 1 + COORD_LEN)) !=
		    SKP_OK ||
		    (rc = skp_p256_check_public(tmp)) != SKP_OK)
			goto out;
	}
	memcpy(pub, tmp, sizeof(tmp));
	*alg = a;
out:
	return rc;
}

int
skp_authdata_cose_from_item(const cbor_item_t *m,
    uint8_t pub[SKP_P256_PUB_LEN])
{
	uint8_t tmp[SKP_P256_PUB_LEN];
	int64_t alg;
	int rc;

	if ((rc = skp_authdata_cose_key_from_item(m, &alg, tmp)) != SKP_OK)
		return rc;
	if (alg != SKP_COSE_ALG_ES256)
		return SKP_ERR_UNSUPPORTED;
	memcpy(pub, tmp, sizeof(tmp));
	return SKP_OK;
}

int
skp_authdata_cose_parse(const uint8_t *p, size_t len,
    uint8_t pub[SKP_P256_PUB_LEN])
{
	cbor_item_t *m = NULL;
	int rc;

	/* The cap keeps a larger map from being loaded at all. */
	if ((rc = skp_cbor_load(p, len, SKP_COSE_ES256_LEN, &m)) != SKP_OK)
		goto out;
	rc = skp_authdata_cose_from_item(m, pub);
out:
	skp_cbor_free(&m);
	return rc;
}

int
skp_authdata_build(const struct skp_authdata *ad, uint8_t *out,
    size_t outmax, size_t *outlen)
{
	uint8_t cose[SKP_COSE_KEY_MAX];
	size_t coselen = 0;
	skp_buf_t *b = NULL;
	int at, rc;

	*outlen = 0;
	at = (ad->flags & SKP_AUTHDATA_AT) != 0;
	if ((ad->flags & SKP_AUTHDATA_ED) != 0 || (at &&
	    (ad->cred_id_len < SKP_AUTHDATA_CRED_ID_MIN ||
	    ad->cred_id_len > SKP_AUTHDATA_CRED_ID_MAX))) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (at && (rc = skp_authdata_cose_key_encode(ad->alg == 0 ?
	    SKP_COSE_ALG_ES256 : ad->alg, ad->pub, cose, &coselen)) != SKP_OK)
		goto out;
	if ((b = skp_buf_new(outmax)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_buf_put(b, ad->rp_id_hash, SKP_SHA256_LEN)) != SKP_OK ||
	    (rc = skp_buf_u8(b, ad->flags)) != SKP_OK ||
	    (rc = skp_buf_u32(b, ad->sign_count)) != SKP_OK)
		goto out;
	if (at && ((rc = skp_buf_put(b, ad->aaguid,
	    SKP_AUTHDATA_AAGUID_LEN)) != SKP_OK ||
	    (rc = skp_buf_u16(b, (uint16_t)ad->cred_id_len)) != SKP_OK ||
	    (rc = skp_buf_put(b, ad->cred_id, ad->cred_id_len)) != SKP_OK ||
	    (rc = skp_buf_put(b, cose, coselen)) != SKP_OK))
		goto out;
	memcpy(out, skp_buf_ptr(b), skp_buf_len(b));
	*outlen = skp_buf_len(b);
out:
	skp_buf_free(&b);
	return rc;
}

int
skp_authdata_parse(const uint8_t *p, size_t len, struct skp_authdata *ad)
{
	struct skp_authdata tmp;
	cbor_item_t *m = NULL;
	const uint8_t *rest;
	skp_reader_t r;
	uint16_t idlen;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if (p == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (len > SKP_AUTHDATA_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	skp_reader_init(&r, p, len);
	if ((rc = skp_reader_copy(&r, tmp.rp_id_hash,
	    SKP_SHA256_LEN)) != SKP_OK ||
	    (rc = skp_reader_u8(&r, &tmp.flags)) != SKP_OK ||
	    (rc = skp_reader_u32(&r, &tmp.sign_count)) != SKP_OK)
		goto out;
	/* Extensions are never sent; an ED flag is a phone we do not know. */
	if ((tmp.flags & SKP_AUTHDATA_ED) != 0) {
		rc = SKP_ERR_UNSUPPORTED;
		goto out;
	}
	if ((tmp.flags & SKP_AUTHDATA_AT) == 0) {
		rc = skp_reader_end(&r);
		goto out;
	}
	if ((rc = skp_reader_copy(&r, tmp.aaguid,
	    SKP_AUTHDATA_AAGUID_LEN)) != SKP_OK ||
	    (rc = skp_reader_u16(&r, &idlen)) != SKP_OK)
		goto out;
	if (idlen < SKP_AUTHDATA_CRED_ID_MIN ||
	    idlen > SKP_AUTHDATA_CRED_ID_MAX) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_reader_copy(&r, tmp.cred_id, idlen)) != SKP_OK)
		goto out;
	tmp.cred_id_len = idlen;
	/* The COSE key runs to the end: what follows it is trailing. */
	rest = r.p + r.off;
	if ((rc = skp_cbor_load(rest, skp_reader_left(&r),
	    skp_reader_left(&r), &m)) != SKP_OK ||
	    (rc = skp_authdata_cose_key_from_item(m, &tmp.alg, tmp.pub)) !=
	    SKP_OK)
		goto out;
out:
	if (rc == SKP_OK)
		*ad = tmp;
	skp_wipe(&tmp, sizeof(tmp));
	skp_cbor_free(&m);
	return rc;
}

int
skp_authdata_sign(const struct skp_p256_key *key, const uint8_t *authdata,
    size_t authdata_len, const uint8_t cdh[SKP_SHA256_LEN],
    uint8_t sig[SKP_P256_SIG_MAX], size_t *siglen)
{
	uint8_t msg[SKP_AUTHDATA_MAX + SKP_SHA256_LEN];
	int rc;

	*siglen = 0;
	if (authdata == NULL || authdata_len > SKP_AUTHDATA_MAX) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	memcpy(msg, authdata, authdata_len);
	memcpy(msg + authdata_len, cdh, SKP_SHA256_LEN);
	rc = skp_p256_sign(key, msg, authdata_len + SKP_SHA256_LEN, sig,
	    siglen);
out:
	return rc;
}

int
skp_authdata_check_sig(const uint8_t pub[SKP_P256_PUB_LEN],
    const uint8_t *authdata, size_t authdata_len,
    const uint8_t cdh[SKP_SHA256_LEN], const uint8_t *sig, size_t siglen)
{
	uint8_t msg[SKP_AUTHDATA_MAX + SKP_SHA256_LEN];
	int rc;

	if (authdata == NULL || authdata_len > SKP_AUTHDATA_MAX) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	memcpy(msg, authdata, authdata_len);
	memcpy(msg + authdata_len, cdh, SKP_SHA256_LEN);
	rc = skp_p256_verify(pub, msg, authdata_len + SKP_SHA256_LEN, sig,
	    siglen);
out:
	return rc;
}

int
skp_authdata_sign_ed25519(const struct skp_ed25519_key *key,
    const uint8_t *authdata, size_t authdata_len,
    const uint8_t cdh[SKP_SHA256_LEN], uint8_t sig[SKP_ED25519_SIG_LEN])
{
	uint8_t msg[SKP_AUTHDATA_MAX + SKP_SHA256_LEN];

	if (authdata == NULL || authdata_len > SKP_AUTHDATA_MAX)
		return SKP_ERR_INVALID;
	memcpy(msg, authdata, authdata_len);
	memcpy(msg + authdata_len, cdh, SKP_SHA256_LEN);
	return skp_ed25519_sign(key, msg, authdata_len + SKP_SHA256_LEN, sig);
}

int
skp_authdata_check_sig_ed25519(const uint8_t pub[SKP_ED25519_PUB_LEN],
    const uint8_t *authdata, size_t authdata_len,
    const uint8_t cdh[SKP_SHA256_LEN], const uint8_t *sig, size_t siglen)
{
	uint8_t msg[SKP_AUTHDATA_MAX + SKP_SHA256_LEN];

	if (authdata == NULL || authdata_len > SKP_AUTHDATA_MAX)
		return SKP_ERR_INVALID;
	memcpy(msg, authdata, authdata_len);
	memcpy(msg + authdata_len, cdh, SKP_SHA256_LEN);
	return skp_ed25519_verify(pub, msg, authdata_len + SKP_SHA256_LEN,
	    sig, siglen);
}
