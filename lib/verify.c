/* Phone answers checked by libfido2 (and our strict parser) for OpenSSH. */
#include <stdint.h>
#include <string.h>

#include <openssl/types.h>

/*
 * libfido2's es256.h declares a function on EC_KEY, a type the project's
 * OPENSSL_NO_DEPRECATED hides; name the type so the header parses.
 */
#ifdef OPENSSL_NO_DEPRECATED_3_0
typedef struct ec_key_st EC_KEY;
#endif

#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>

#include "sk-phone/authdata.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/verify.h"

#define ES256_XY_LEN	64	/* what fido_cred_pubkey_ptr() gives */

static int
fido_rc(int r)
{
	switch (r) {
	case FIDO_OK:
		return SKP_OK;
	case FIDO_ERR_INTERNAL:
		return SKP_ERR_INTERNAL;
	default:
		return SKP_ERR_VERIFY;
	}
}

static int
args_ok(const char *rp_id, const uint8_t *cdh, const uint8_t *authdata,
    const uint8_t *sig, size_t siglen)
{
	return rp_id != NULL && rp_id[0] != '\0' &&
	    strlen(rp_id) <= SKP_CTAP_RP_ID_MAX && cdh != NULL &&
	    authdata != NULL && sig != NULL && siglen > 0 &&
	    siglen <= SKP_P256_SIG_MAX;
}

int
skp_verify_make_credential(const char *rp_id,
    const uint8_t cdh[SKP_SHA256_LEN], const uint8_t *authdata,
    size_t authdata_len, const char *fmt, int64_t alg, const uint8_t *sig,
    size_t siglen, int want_uv, struct skp_verify_cred *out)
{
	struct skp_authdata ad;
	fido_cred_t *cred = NULL;
	const unsigned char *xy, *id;
	size_t publen;
	int rc;

	memset(&ad, 0, sizeof(ad));
	if (!args_ok(rp_id, cdh, authdata, sig, siglen) || fmt == NULL ||
	    out == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	/* Self attestation with ES256 or EdDSA is all sk-phone makes. */
	if (strcmp(fmt, "packed") != 0 || (alg != SKP_CTAP_COSE_ES256 &&
	    alg != SKP_CTAP_COSE_EDDSA) || (alg == SKP_CTAP_COSE_EDDSA &&
	    siglen != SKP_ED25519_SIG_LEN)) {
		rc = SKP_ERR_VERIFY;
		goto out;
	}
	/*
	 * Our parser first: it refuses ED, trailing bytes and anything but
	 * an ES256 or Ed25519 key that is a valid point, which libfido2 lets
	 * through. The attStmt's alg must be the key's own.
	 */
	if (skp_authdata_parse(authdata, authdata_len, &ad) != SKP_OK ||
	    (ad.flags & SKP_AUTHDATA_AT) == 0 || ad.alg != alg) {
		rc = SKP_ERR_VERIFY;
		goto out;
	}
	publen = skp_authdata_pub_len(alg);
	if ((cred = fido_cred_new()) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	/* The type first: libfido2 decodes the key in authData by it. */
	if ((rc = fido_rc(fido_cred_set_type(cred, alg == SKP_CTAP_COSE_EDDSA ?
	    COSE_EDDSA : COSE_ES256))) != SKP_OK ||
	    (rc = fido_rc(fido_cred_set_clientdata_hash(cred, cdh,
	    SKP_SHA256_LEN))) != SKP_OK ||
	    (rc = fido_rc(fido_cred_set_rp(cred, rp_id, NULL))) != SKP_OK ||
	    (rc = fido_rc(fido_cred_set_authdata_raw(cred, authdata,
	    authdata_len))) != SKP_OK ||
	    (rc = fido_rc(fido_cred_set_fmt(cred, fmt))) != SKP_OK ||
	    (rc = fido_rc(fido_cred_set_sig(cred, sig, siglen))) != SKP_OK ||
	    (rc = fido_rc(fido_cred_set_uv(cred, want_uv ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT))) != SKP_OK ||
	    (rc = fido_rc(fido_cred_verify_self(cred))) != SKP_OK)
		goto out;
	xy = fido_cred_pubkey_ptr(cred);
	id = fido_cred_id_ptr(cred);
	/*
	 * libfido2 and our parser must have read the same key and id (an
	 * ES256 key comes from libfido2 as x || y).
	 */
	if (xy == NULL || (alg == SKP_CTAP_COSE_ES256 &&
	    (fido_cred_pubkey_len(cred) != ES256_XY_LEN ||
	    memcmp(xy, ad.pub + 1, ES256_XY_LEN) != 0)) ||
	    (alg == SKP_CTAP_COSE_EDDSA &&
	    (fido_cred_pubkey_len(cred) != SKP_ED25519_PUB_LEN ||
	    memcmp(xy, ad.pub, SKP_ED25519_PUB_LEN) != 0)) || id == NULL ||
	    fido_cred_id_len(cred) != ad.cred_id_len ||
	    memcmp(id, ad.cred_id, ad.cred_id_len) != 0 ||
	    (ad.flags & SKP_AUTHDATA_UP) == 0 ||
	    (want_uv && (ad.flags & SKP_AUTHDATA_UV) == 0)) {
		rc = SKP_ERR_VERIFY;
		goto out;
	}
	memcpy(out->pub, ad.pub, sizeof(out->pub));
	out->pub_len = publen;
	out->alg = alg;
	memcpy(out->cred_id, ad.cred_id, ad.cred_id_len);
	out->cred_id_len = ad.cred_id_len;
	out->flags = fido_cred_flags(cred);
	out->sign_count = fido_cred_sigcount(cred);
	rc = SKP_OK;
out:
	fido_cred_free(&cred);
	skp_wipe(&ad, sizeof(ad));
	return rc;
}

int
skp_verify_assertion(const char *rp_id, const uint8_t cdh[SKP_SHA256_LEN],
    const uint8_t pub[SKP_P256_PUB_LEN], const uint8_t *authdata,
    size_t authdata_len, const uint8_t *sig, size_t siglen, int want_up,
    int want_uv, uint8_t *flags, uint32_t *counter)
{
	return skp_verify_assertion_alg(rp_id, cdh, SKP_CTAP_COSE_ES256, pub,
	    authdata, authdata_len, sig, siglen, want_up, want_uv, flags,
	    counter);
}

int
skp_verify_assertion_alg(const char *rp_id,
    const uint8_t cdh[SKP_SHA256_LEN], int64_t alg, const uint8_t *pub,
    const uint8_t *authdata, size_t authdata_len, const uint8_t *sig,
    size_t siglen, int want_up, int want_uv, uint8_t *flags,
    uint32_t *counter)
{
	struct skp_authdata ad;
	fido_assert_t *a = NULL;
	es256_pk_t *pk = NULL;
	eddsa_pk_t *epk = NULL;
	int ed, rc;

	ed = alg == SKP_CTAP_COSE_EDDSA;
	if (!args_ok(rp_id, cdh, authdata, sig, siglen) || pub == NULL ||
	    flags == NULL || counter == NULL ||
	    (alg != SKP_CTAP_COSE_ES256 && !ed)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	/* No extensions: OpenSSH would not verify a longer authData. */
	if (authdata_len != SKP_AUTHDATA_BASE_LEN ||
	    skp_authdata_parse(authdata, authdata_len, &ad) != SKP_OK ||
	    (ad.flags & SKP_AUTHDATA_AT) != 0 ||
	    (ed ? skp_ed25519_check_public(pub) :
	    skp_p256_check_public(pub)) != SKP_OK ||
	    (ed && siglen != SKP_ED25519_SIG_LEN)) {
		rc = SKP_ERR_VERIFY;
		goto out;
	}
	if ((a = fido_assert_new()) == NULL ||
	    (!ed && (pk = es256_pk_new()) == NULL) ||
	    (ed && (epk = eddsa_pk_new()) == NULL)) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = fido_rc(ed ? eddsa_pk_from_ptr(epk, pub,
	    SKP_ED25519_PUB_LEN) : es256_pk_from_ptr(pk, pub,
	    SKP_P256_PUB_LEN))) != SKP_OK ||
	    (rc = fido_rc(fido_assert_set_count(a, 1))) != SKP_OK ||
	    (rc = fido_rc(fido_assert_set_rp(a, rp_id))) != SKP_OK ||
	    (rc = fido_rc(fido_assert_set_clientdata_hash(a, cdh,
	    SKP_SHA256_LEN))) != SKP_OK ||
	    (rc = fido_rc(fido_assert_set_authdata_raw(a, 0, authdata,
	    authdata_len))) != SKP_OK ||
	    (rc = fido_rc(fido_assert_set_sig(a, 0, sig, siglen))) != SKP_OK ||
	    (rc = fido_rc(fido_assert_set_up(a, want_up ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT))) != SKP_OK ||
	    (rc = fido_rc(fido_assert_set_uv(a, want_uv ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT))) != SKP_OK ||
	    (rc = fido_rc(ed ? fido_assert_verify(a, 0, COSE_EDDSA, epk) :
	    fido_assert_verify(a, 0, COSE_ES256, pk))) != SKP_OK)
		goto out;
	/* Belt and braces on the flags asked for. */
	if ((want_up && (fido_assert_flags(a, 0) & SKP_AUTHDATA_UP) == 0) ||
	    (want_uv && (fido_assert_flags(a, 0) & SKP_AUTHDATA_UV) == 0)) {
		rc = SKP_ERR_VERIFY;
		goto out;
	}
	*flags = fido_assert_flags(a, 0);
	*counter = fido_assert_sigcount(a, 0);
	rc = SKP_OK;
out:
	eddsa_pk_free(&epk);
	es256_pk_free(&pk);
	fido_assert_free(&a);
	return rc;
}
