/* SSH host keys: verify a host's signature over the exchange hash. */
#ifndef SKP_HOSTKEY_H
#define SKP_HOSTKEY_H

#include <stddef.h>
#include <stdint.h>

#define SKP_HOSTKEY_KEY_MAX	16384	/* a host key blob */
#define SKP_HOSTKEY_SIG_MAX	4096	/* a signature blob */
#define SKP_HOSTKEY_RSA_MIN_BITS	2048
#define SKP_HOSTKEY_RSA_MAX_BITS	16384
/* "SHA256:" and 43 characters of base64 without padding, and a NUL. */
#define SKP_HOSTKEY_FP_LEN	51

/*
 * Key blob: the SSH wire format (RFC 4253 section 6.6, RFC 5656 section
 * 3.1, RFC 8709): ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa.
 * Signature blob: string algorithm, string signature: ssh-ed25519,
 * ecdsa-sha2-nistp256/384/521 (mpint r, mpint s) or rsa-sha2-256/512
 * (RFC 8332). ssh-rsa signatures (SHA-1), DSA, certificates and security
 * key types are SKP_ERR_UNSUPPORTED.
 *
 * Answers 0 when sig is the key's signature over data (for a host, data is
 * the exchange hash H, the session id); SKP_ERR_VERIFY when it is not or
 * its algorithm does not go with the key; SKP_ERR_FORMAT for a malformed
 * blob (non-minimal or negative mpints, trailing bytes); SKP_ERR_CRYPTO for
 * a key that is not valid (a point off the curve, RSA outside
 * SKP_HOSTKEY_RSA_MIN_BITS..MAX_BITS).
 */
int	skp_hostkey_verify(const uint8_t *key, size_t keylen,
	    const uint8_t *sig, size_t siglen, const void *data,
	    size_t datalen);

/*
 * Check a key blob as skp_hostkey_verify would, and name its type
 * ("ssh-ed25519", "ecdsa-sha2-nistp256", ..., "ssh-rsa"; a static string).
 */
int	skp_hostkey_check(const uint8_t *key, size_t keylen,
	    const char **type);

/* OpenSSH's fingerprint: "SHA256:" || base64(SHA-256(blob)), no "=". */
int	skp_hostkey_fingerprint(const uint8_t *key, size_t keylen,
	    char out[SKP_HOSTKEY_FP_LEN]);

#endif
