/* The suite: P-256, Ed25519, AES-256-GCM, SHA-256, HKDF-SHA256 (OpenSSL 3). */
#ifndef SKP_CRYPTO_H
#define SKP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SKP_P256_PUB_LEN	65	/* 0x04 || X || Y */
#define SKP_P256_PRIV_LEN	32
#define SKP_P256_DH_LEN		32	/* X coordinate of the shared point */
#define SKP_P256_SIG_MAX	72	/* DER ECDSA signature */
#define SKP_SHA256_LEN		32
#define SKP_AESGCM_KEY_LEN	32
#define SKP_AESGCM_NONCE_LEN	12
#define SKP_AESGCM_TAG_LEN	16

struct skp_p256_key {
	uint8_t	priv[SKP_P256_PRIV_LEN];
	uint8_t	pub[SKP_P256_PUB_LEN];
};

/* Ed25519 (RFC 8032): the private key is the 32-byte seed. */
#define SKP_ED25519_PUB_LEN	32
#define SKP_ED25519_PRIV_LEN	32
#define SKP_ED25519_SIG_LEN	64

struct skp_ed25519_key {
	uint8_t	priv[SKP_ED25519_PRIV_LEN];
	uint8_t	pub[SKP_ED25519_PUB_LEN];
};

void	skp_wipe(void *, size_t);
/* 1 when equal, in time that depends only on the length. */
int	skp_ct_equal(const void *, const void *, size_t);
int	skp_random(void *, size_t);

int	skp_sha256(const void *, size_t, uint8_t [SKP_SHA256_LEN]);
/* SHA-256 of a || b, without copying them together. */
int	skp_sha256_2(const void *a, size_t alen, const void *b, size_t blen,
	    uint8_t [SKP_SHA256_LEN]);
int	skp_hmac_sha256(const void *key, size_t keylen, const void *,
	    size_t, uint8_t [SKP_SHA256_LEN]);
int	skp_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm,
	    size_t ikmlen, const void *info, size_t infolen, uint8_t *out,
	    size_t outlen);

int	skp_p256_generate(struct skp_p256_key *);
int	skp_p256_from_private(const uint8_t [SKP_P256_PRIV_LEN],
	    struct skp_p256_key *);
/* SKP_ERR_CRYPTO unless an uncompressed point on the curve. */
int	skp_p256_check_public(const uint8_t [SKP_P256_PUB_LEN]);
int	skp_p256_ecdh(const struct skp_p256_key *,
	    const uint8_t [SKP_P256_PUB_LEN], uint8_t [SKP_P256_DH_LEN]);
/* ECDSA with SHA-256 over msg; DER signature, at most SKP_P256_SIG_MAX. */
int	skp_p256_sign(const struct skp_p256_key *, const void *msg,
	    size_t msglen, uint8_t sig[SKP_P256_SIG_MAX], size_t *siglen);
int	skp_p256_verify(const uint8_t [SKP_P256_PUB_LEN], const void *msg,
	    size_t msglen, const uint8_t *sig, size_t siglen);
/*
 * The same with the signature as r || s, 32 bytes each, big endian (the
 * relay's mailbox proof): SKP_ERR_CRYPTO for a signature that does not
 * verify, r or s zero or not below the group order included.
 */
#define SKP_P256_RAW_SIG_LEN	64
int	skp_p256_sign_raw(const struct skp_p256_key *, const void *msg,
	    size_t msglen, uint8_t sig[SKP_P256_RAW_SIG_LEN]);
int	skp_p256_verify_raw(const uint8_t [SKP_P256_PUB_LEN], const void *msg,
	    size_t msglen, const uint8_t sig[SKP_P256_RAW_SIG_LEN]);

int	skp_ed25519_generate(struct skp_ed25519_key *);
int	skp_ed25519_from_private(const uint8_t [SKP_ED25519_PRIV_LEN],
	    struct skp_ed25519_key *);
/*
 * SKP_ERR_CRYPTO unless the canonical encoding of a point on the curve
 * that is not of small order (the eight points of order 1, 2, 4 or 8).
 */
int	skp_ed25519_check_public(const uint8_t [SKP_ED25519_PUB_LEN]);
/* Pure Ed25519 over msg (no prehash). */
int	skp_ed25519_sign(const struct skp_ed25519_key *, const void *msg,
	    size_t msglen, uint8_t sig[SKP_ED25519_SIG_LEN]);
int	skp_ed25519_verify(const uint8_t [SKP_ED25519_PUB_LEN],
	    const void *msg, size_t msglen, const uint8_t *sig, size_t siglen);

/* out gets ptlen + SKP_AESGCM_TAG_LEN bytes. */
int	skp_aesgcm_seal(const uint8_t [SKP_AESGCM_KEY_LEN],
	    const uint8_t [SKP_AESGCM_NONCE_LEN], const void *ad, size_t adlen,
	    const void *pt, size_t ptlen, uint8_t *out);
/* out gets ctlen - SKP_AESGCM_TAG_LEN bytes; SKP_ERR_DECRYPT on a bad tag. */
int	skp_aesgcm_open(const uint8_t [SKP_AESGCM_KEY_LEN],
	    const uint8_t [SKP_AESGCM_NONCE_LEN], const void *ad, size_t adlen,
	    const void *ct, size_t ctlen, uint8_t *out);

/* Lower-case hex of len bytes into out (2*len+1); for ids and names. */
void	skp_hex(const void *, size_t, char *out);
int	skp_unhex(const char *, void *out, size_t outlen);
/* base64url without padding (RFC 4648 section 5). */
int	skp_b64url_encode(const void *, size_t, char **out);
int	skp_b64url_decode(const char *, size_t, uint8_t *out, size_t outmax,
	    size_t *outlen);

#endif
