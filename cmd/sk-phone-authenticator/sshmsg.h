/* What the phone shows about the data it signs: SSH userauth or SSHSIG. */
#ifndef SKP_SSHMSG_H
#define SKP_SSHMSG_H

#include <stddef.h>
#include <stdint.h>

#define SKP_SSHMSG_USER_MAX	255	/* bytes of a user name */
#define SKP_SSHMSG_NS_MAX	255	/* bytes of an SSHSIG namespace */
#define SKP_SSHMSG_SID_MAX	64	/* bytes of a session id (SHA-512) */

enum skp_sshmsg_kind {
	SKP_SSHMSG_OTHER = 0,	/* neither: shown as opaque data */
	SKP_SSHMSG_USERAUTH,	/* an SSH login (RFC 4252 section 7) */
	SKP_SSHMSG_SSHSIG,	/* ssh-keygen -Y sign (PROTOCOL.sshsig) */
};

/*
 * The fields the phone shows or checks. Strings are the raw bytes,
 * NUL-terminated; a string with a NUL or over its cap makes the whole
 * message SKP_SSHMSG_OTHER. Show them through skp_sshmsg_printable().
 */
struct skp_sshmsg {
	enum skp_sshmsg_kind	kind;
	/* userauth */
	uint8_t		session_id[SKP_SSHMSG_SID_MAX];
	size_t		session_id_len;
	char		user[SKP_SSHMSG_USER_MAX + 1];
	char		key_alg[65];
	const uint8_t	*key_blob;	/* points into the parsed data */
	size_t		key_blob_len;
	int		hostbound;	/* method publickey-hostbound-v00 */
	const uint8_t	*host_key;	/* the server's key, when hostbound */
	size_t		host_key_len;
	/* sshsig */
	char		ns[SKP_SSHMSG_NS_MAX + 1];
	const uint8_t	*reserved;	/* points into the parsed data */
	size_t		reserved_len;
	char		hash_alg[17];	/* "sha256" or "sha512" */
	uint8_t		hash[64];
	size_t		hash_len;
};

/* Classifies and parses; never fails (unknown data is SKP_SSHMSG_OTHER). */
void	skp_sshmsg_parse(const uint8_t *, size_t, struct skp_sshmsg *);

/*
 * A copy safe for a terminal or a log line: printable ASCII kept, every
 * other byte, and '\\' and '"', as \xHH; truncated with "..." to fit
 * outlen.
 */
void	skp_sshmsg_printable(const char *, char *out, size_t outlen);

#endif
