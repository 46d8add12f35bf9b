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
	uint8_t		pub[SKP_P256_PUB_LEN];
	uint8_t		cred_id[SKP_AUTHDATA_CRED_ID_MAX];
	size_t		cred_id_len;
	uint8_t		flags;
	uint32_t	sign_count;
};

/*
 * A "packed" self-attested ES256 credential for rp_id and cdh: checked by
 * fido_cred_verify_self(), UP always required, UV when want_uv.
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

#endif
