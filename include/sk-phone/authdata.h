/* Authenticator data, the COSE keys (ES256, EdDSA), what the phone signs. */
#ifndef SKP_AUTHDATA_H
#define SKP_AUTHDATA_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "sk-phone/crypto.h"

/*
 * authData = rpIdHash (32) || flags (1) || signCount (uint32 BE)
 *            [ || aaguid (16) || credIdLen (uint16 BE) || credId
 *               || COSE_Key ]			when AT is set
 * sk-phone never sets ED: the parser refuses it, and trailing bytes.
 */
#define SKP_AUTHDATA_UP		0x01
#define SKP_AUTHDATA_UV		0x04
#define SKP_AUTHDATA_AT		0x40
#define SKP_AUTHDATA_ED		0x80

#define SKP_AUTHDATA_BASE_LEN	37
#define SKP_AUTHDATA_AAGUID_LEN	16
#define SKP_AUTHDATA_CRED_ID_MIN 16
#define SKP_AUTHDATA_CRED_ID_MAX 128
#define SKP_COSE_ES256_LEN	77	/* the canonical keys below */
#define SKP_COSE_EDDSA_LEN	42
#define SKP_COSE_KEY_MAX	SKP_COSE_ES256_LEN

/* COSE algorithms (RFC 8152): the two kinds of credential sk-phone makes. */
#define SKP_COSE_ALG_ES256	(-7)	/* ECDSA P-256 with SHA-256 */
#define SKP_COSE_ALG_EDDSA	(-8)	/* Ed25519 */
#define SKP_AUTHDATA_MAX	(SKP_AUTHDATA_BASE_LEN + \
	SKP_AUTHDATA_AAGUID_LEN + 2 + SKP_AUTHDATA_CRED_ID_MAX + \
	SKP_COSE_ES256_LEN)

/* sk-phone's AAGUID (docs/PROTOCOL.md §4). */
extern const uint8_t skp_authdata_aaguid[SKP_AUTHDATA_AAGUID_LEN];

struct skp_authdata {
	uint8_t		rp_id_hash[SKP_SHA256_LEN];
	uint8_t		flags;
	uint32_t	sign_count;
	/* Attested credential data: present iff flags has AT. */
	uint8_t		aaguid[SKP_AUTHDATA_AAGUID_LEN];
	uint8_t		cred_id[SKP_AUTHDATA_CRED_ID_MAX];
	size_t		cred_id_len;
	/*
	 * The credential's key: for ES256 the 65-byte point, for EdDSA the
	 * 32-byte key (the rest zero). alg is what parse found; build takes
	 * 0 for ES256.
	 */
	uint8_t		pub[SKP_P256_PUB_LEN];
	int64_t		alg;
};

/* 65 for ES256, 32 for EdDSA, 0 for any other algorithm. */
size_t	skp_authdata_pub_len(int64_t alg);

/* SKP_ERR_INVALID for ED, or AT with a credential id out of range. */
int	skp_authdata_build(const struct skp_authdata *, uint8_t *out,
	    size_t outmax, size_t *outlen);
int	skp_authdata_parse(const uint8_t *, size_t, struct skp_authdata *);

/*
 * COSE_Key for a credential key, in canonical order:
 *   ES256 {1: 2, 3: -7, -1: 1, -2: x, -3: y} to and from the 65-byte
 *         uncompressed point (77 bytes);
 *   EdDSA {1: 1, 3: -8, -1: 6, -2: x} to and from the 32-byte key
 *         (42 bytes).
 * The parser wants exactly these entries and a valid point (Ed25519: see
 * skp_ed25519_check_public); another kty, alg or crv is
 * SKP_ERR_UNSUPPORTED. The *_key_* functions take either, with alg; the
 * others ES256 only.
 */
cbor_item_t	*skp_authdata_cose_key_item(int64_t alg, const uint8_t *pub);
int		 skp_authdata_cose_key_encode(int64_t alg,
		    const uint8_t *pub, uint8_t out[SKP_COSE_KEY_MAX],
		    size_t *outlen);
int		 skp_authdata_cose_key_from_item(const cbor_item_t *,
		    int64_t *alg, uint8_t pub[SKP_P256_PUB_LEN]);
int		 skp_authdata_cose_encode(const uint8_t [SKP_P256_PUB_LEN],
		    uint8_t out[SKP_COSE_ES256_LEN]);
cbor_item_t	*skp_authdata_cose_item(const uint8_t [SKP_P256_PUB_LEN]);
int		 skp_authdata_cose_parse(const uint8_t *, size_t,
		    uint8_t [SKP_P256_PUB_LEN]);
int		 skp_authdata_cose_from_item(const cbor_item_t *,
		    uint8_t [SKP_P256_PUB_LEN]);

/*
 * ECDSA-SHA256 with the credential key over authData || clientDataHash:
 * the "packed" self-attestation sig and the assertion signature alike.
 */
int	skp_authdata_sign(const struct skp_p256_key *, const uint8_t *authdata,
	    size_t authdata_len, const uint8_t cdh[SKP_SHA256_LEN],
	    uint8_t sig[SKP_P256_SIG_MAX], size_t *siglen);
int	skp_authdata_check_sig(const uint8_t [SKP_P256_PUB_LEN],
	    const uint8_t *authdata, size_t authdata_len,
	    const uint8_t cdh[SKP_SHA256_LEN], const uint8_t *sig,
	    size_t siglen);
/* The same with Ed25519: a 64-byte signature (RFC 8032, no prehash). */
int	skp_authdata_sign_ed25519(const struct skp_ed25519_key *,
	    const uint8_t *authdata, size_t authdata_len,
	    const uint8_t cdh[SKP_SHA256_LEN],
	    uint8_t sig[SKP_ED25519_SIG_LEN]);
int	skp_authdata_check_sig_ed25519(const uint8_t [SKP_ED25519_PUB_LEN],
	    const uint8_t *authdata, size_t authdata_len,
	    const uint8_t cdh[SKP_SHA256_LEN], const uint8_t *sig,
	    size_t siglen);

#endif
