/* OpenSSH host certificates: parse, check against a CA, match host names. */
#ifndef SKP_HOSTCERT_H
#define SKP_HOSTCERT_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/hostkey.h"

#define SKP_HOSTCERT_USER	1	/* certificate types (PROTOCOL.certkeys) */
#define SKP_HOSTCERT_HOST	2
#define SKP_HOSTCERT_NONCE_MAX	256
#define SKP_HOSTCERT_ID_MAX	1024	/* the key id */
#define SKP_HOSTCERT_PRINCIPALS	256	/* at most, as OpenSSH */
#define SKP_HOSTCERT_NAME_MAX	255	/* one principal */
#define SKP_HOSTCERT_OPTS_MAX	4096	/* critical options, extensions */
#define SKP_HOSTCERT_KEY_MAX	4352	/* the certified key's plain blob */
#define SKP_HOSTCERT_FOREVER	UINT64_MAX
/* A host pattern of a trusted CA (known_hosts syntax). */
#define SKP_HOSTCERT_PATTERN_MAX	255

/*
 * A parsed certificate. The pointers are into the caller's blob, which
 * must outlive it; key is the certified key as a plain key blob (what
 * skp_hostkey_verify takes, what the phone pins).
 */
struct skp_hostcert {
	const char	*type;		/* "ssh-ed25519-cert-v01@openssh.com" */
	const char	*key_type;	/* "ssh-ed25519", ...: static */
	uint8_t		 key[SKP_HOSTCERT_KEY_MAX];
	size_t		 key_len;
	uint64_t	 serial;
	uint32_t	 cert_type;	/* SKP_HOSTCERT_USER or _HOST */
	const uint8_t	*key_id;
	size_t		 key_id_len;
	const uint8_t	*principals;	/* the packed strings */
	size_t		 principals_len;
	size_t		 nprincipals;
	uint64_t	 valid_after;	/* unix seconds, inclusive */
	uint64_t	 valid_before;	/* unix seconds, exclusive */
	size_t		 ncritical;	/* critical options */
	const uint8_t	*ca_key;	/* signature key: a plain key blob */
	size_t		 ca_key_len;
	const uint8_t	*signature;	/* the CA's signature blob */
	size_t		 signature_len;
	size_t		 signed_len;	/* bytes of the blob it covers */
};

/* 1 when the blob starts with a string naming a *-cert-v01 type. */
int	skp_hostcert_is_cert(const uint8_t *blob, size_t len);

/*
 * Parse a certificate strictly (docs/PROTOCOL.md §9.5.1): the types
 * ssh-ed25519-, ecdsa-sha2-nistp256/384/521- and ssh-rsa-cert-v01@
 * openssh.com; the certified key as skp_hostkey_check accepts it; type
 * user or host; principals each 1..255 bytes, at most 256; critical
 * options and extensions well formed (string name, non-empty; string
 * data); the signature key a plain key; nothing after the
 * signature. SKP_ERR_UNSUPPORTED for another certificate type (DSA,
 * security keys), SKP_ERR_FORMAT for a malformed blob, SKP_ERR_CRYPTO
 * for a certified key that is not valid, SKP_ERR_TOO_LARGE over
 * SKP_HOSTKEY_KEY_MAX. Nothing is verified yet.
 */
int	skp_hostcert_parse(const uint8_t *blob, size_t len,
	    struct skp_hostcert *);

/*
 * The CA's signature over the certificate (blob: the one parsed): 0 when
 * it verifies with c->ca_key, SKP_ERR_UNSUPPORTED for an ssh-rsa (SHA-1)
 * signature or a CA key type the phone cannot check, SKP_ERR_VERIFY
 * otherwise.
 */
int	skp_hostcert_verify_ca(const uint8_t *blob, size_t len,
	    const struct skp_hostcert *);

/*
 * A certificate for host name (lower case, without a port) at now (unix
 * seconds), after its CA signature was checked: 0 when it is a host
 * certificate, valid at now, without critical options, and one of its
 * principals is name, byte for byte; else SKP_ERR_VERIFY and why says
 * which, naming the host ("the host certificate for HOST has expired
 * (valid until 2026-12-01T10:00:00Z)").
 */
int	skp_hostcert_check(const struct skp_hostcert *, const char *name,
	    uint64_t now, char *why, size_t whylen);

/*
 * known_hosts host patterns: a comma list of patterns with '*' and '?',
 * each possibly negated with '!', case-blind. 1 when name matches some
 * pattern and no negated one; 0 otherwise. pattern_ok: 1..255 bytes of
 * printable ASCII without space, no empty element, not only negations.
 */
int	skp_hostcert_pattern_match(const char *pattern, const char *name);
int	skp_hostcert_pattern_ok(const char *pattern);

#endif
