/* The key handle OpenSSH keeps for an sk-phone key: which phone, which key. */
#ifndef SKP_KEYHANDLE_H
#define SKP_KEYHANDLE_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/crypto.h"
#include "sk-phone/pairuri.h"

/* Version 1: a P-256 (ES256) key; version 2: an Ed25519 (EdDSA) key. */
#define SKP_KEYHANDLE_VERSION		1
#define SKP_KEYHANDLE_VERSION_ED25519	2
#define SKP_KEYHANDLE_VERSION_MAX	2
#define SKP_KEYHANDLE_CRED_ID_MIN	16
#define SKP_KEYHANDLE_CRED_ID_MAX	128
/* "SKP" || version || phone id || public key || cred id length */
#define SKP_KEYHANDLE_FIXED_LEN		(3 + 1 + SKP_PHONE_ID_LEN + \
					    SKP_P256_PUB_LEN + 1)
#define SKP_KEYHANDLE_MIN		(SKP_KEYHANDLE_FIXED_LEN + \
					    SKP_KEYHANDLE_CRED_ID_MIN)
#define SKP_KEYHANDLE_MAX		(SKP_KEYHANDLE_FIXED_LEN + \
					    SKP_KEYHANDLE_CRED_ID_MAX)
/* Version 2: the same with the 32-byte Ed25519 key. */
#define SKP_KEYHANDLE_ED25519_FIXED_LEN	(3 + 1 + SKP_PHONE_ID_LEN + \
					    SKP_ED25519_PUB_LEN + 1)
#define SKP_KEYHANDLE_ED25519_MIN	(SKP_KEYHANDLE_ED25519_FIXED_LEN + \
					    SKP_KEYHANDLE_CRED_ID_MIN)
#define SKP_KEYHANDLE_ED25519_MAX	(SKP_KEYHANDLE_ED25519_FIXED_LEN + \
					    SKP_KEYHANDLE_CRED_ID_MAX)

struct skp_keyhandle {
	uint8_t	phone_id[SKP_PHONE_ID_LEN];
	/* ES256: the 65-byte point; EdDSA: the 32-byte key, then zeros. */
	uint8_t	pub[SKP_P256_PUB_LEN];
	uint8_t	cred_id[SKP_KEYHANDLE_CRED_ID_MAX];
	size_t	cred_id_len;
	/* SKP_COSE_ALG_ES256 (version 1) or _EDDSA (2); 0 encodes as ES256. */
	int64_t	alg;
};

/* out needs SKP_KEYHANDLE_MAX bytes at most; *outlen gets the length. */
int	skp_keyhandle_encode(const struct skp_keyhandle *, uint8_t *out,
	    size_t outmax, size_t *outlen);
/*
 * Strict decode: SKP_ERR_FORMAT for a wrong magic, version 0 or a
 * credential id length out of range, SKP_ERR_VERSION for a version above
 * 2, SKP_ERR_TRUNCATED / SKP_ERR_TRAILING / SKP_ERR_TOO_LARGE for the
 * length (of its version), SKP_ERR_CRYPTO for a public key not on the
 * curve (or, Ed25519, of small order). alg tells the version.
 */
int	skp_keyhandle_decode(const uint8_t *, size_t,
	    struct skp_keyhandle *);

#endif
