/* Checks every phone answer with libfido2 before OpenSSH sees it. */
#ifndef SKP_VERIFY_H
#define SKP_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/authdata.h"
#include "sk-phone/crypto.h"

/*
 * Both functions answer 0 or SKP_ERR_VERIFY (anything libfido2 or our own
 * checks refuse: wrong rp, clientDataHash, key or signature, UP or UV
 * missing, ED set, trailing bytes), or SKP_ERR_INVALID / SKP_ERR_NOMEM /
 * SKP_ERR_INTERNAL for the caller's or the machine's trouble.
 */

/* What a verified makeCredential answer gives the provider. */
struct skp_verify_cred {
	/* ES256: the 65-byte point; EdDSA: the 32-byte key, then zeros. */
	uint8_t		pub[SKP_P256_PUB_LEN];
	size_t		pub_len;
	int64_t		alg;
	uint8_t		cred_id[SKP_AUTHDATA_CRED_ID_MAX];
	size_t		cred_id_len;
	uint8_t		flags;
	uint32_t	sign_count;
};

/*
 * A "packed" self-attested credential for rp_id and cdh: checked by
 * fido_cred_verify_self(), UP always required, UV when want_uv. alg is
 * the attStmt's: -7 (ES256, DER signature) or -8 (EdDSA, 64 bytes); it
 * must be the algorithm of the key in authData.
 */
int	skp_verify_make_credential(const char *rp_id,
	    const uint8_t cdh[SKP_SHA256_LEN], const uint8_t *authdata,
	    size_t authdata_len, const char *fmt, int64_t alg,
	    const uint8_t *sig, size_t siglen, int want_uv,
	    struct skp_verify_cred *out);

/*
 * An assertion by the key pub (65 bytes, from the key handle): authData
 * of exactly 37 bytes, checked by fido_assert_verify(); UP and UV
 * required when asked. flags and counter come from the authData.
 */
int	skp_verify_assertion(const char *rp_id,
	    const uint8_t cdh[SKP_SHA256_LEN],
	    const uint8_t pub[SKP_P256_PUB_LEN], const uint8_t *authdata,
	    size_t authdata_len, const uint8_t *sig, size_t siglen,
	    int want_up, int want_uv, uint8_t *flags, uint32_t *counter);
/* The same for a key of either algorithm: pub is 65 or 32 bytes. */
int	skp_verify_assertion_alg(const char *rp_id,
	    const uint8_t cdh[SKP_SHA256_LEN], int64_t alg, const uint8_t *pub,
	    const uint8_t *authdata, size_t authdata_len, const uint8_t *sig,
	    size_t siglen, int want_up, int want_uv, uint8_t *flags,
	    uint32_t *counter);

#endif
