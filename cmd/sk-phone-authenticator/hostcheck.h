/* Which host a login is for: the proxy's host key, checked and pinned. */
#ifndef SKP_HOSTCHECK_H
#define SKP_HOSTCHECK_H

#include <stddef.h>

#include "sk-phone/ctap.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/hostkey.h"

#include "phstate.h"
#include "sshmsg.h"

enum skp_hostcheck_state {
	SKP_HOSTCHECK_NONE = 0,	/* not a login, or no host information */
	SKP_HOSTCHECK_UNVERIFIED, /* host information that cannot be checked */
	SKP_HOSTCHECK_NEW,	/* verified; no pin of this key type yet */
	SKP_HOSTCHECK_PINNED,	/* verified; the pinned key */
	SKP_HOSTCHECK_CHANGED,	/* verified; another key is pinned: refuse */
	SKP_HOSTCHECK_BAD,	/* host information that does not verify */
	SKP_HOSTCHECK_CERT,	/* verified; a certificate of a trusted CA */
};

/* A host certificate, and whose. */
enum skp_hostcheck_cert {
	SKP_HOSTCHECK_NO_CERT = 0,	/* a plain host key */
	SKP_HOSTCHECK_CERT_TRUSTED,	/* from a CA trusted for the name */
	SKP_HOSTCHECK_CERT_UNKNOWN,	/* another CA: a plain key */
};

struct skp_hostcheck {
	enum skp_hostcheck_state state;
	/* The pin name when verified (or CHANGED); else the host as the
	 * computer named it, when it did and the name is sane; else "". */
	char		host[SKP_HOSTINFO_PIN_MAX];
	const char	*key_type;	/* "ssh-ed25519", ...; NULL: unknown */
	char		fp[SKP_HOSTKEY_FP_LEN];	/* the host key's, or "" */
	int		other_types;	/* NEW: pins of other key types exist */
	/*
	 * NEW: this very key is pinned under another name (the first such
	 * pin's name), "" when not. The computer may be relabelling a host
	 * the owner knows: said first in the question, never covered by a
	 * window, no host window offered; pinned under the new name only
	 * when the owner, warned, allows it.
	 */
	char		pinned_as[SKP_HOSTINFO_PIN_MAX];
	char		why[160];	/* UNVERIFIED, BAD: the reason */
	/*
	 * A certificate: key_type, fp and key are the certified key's,
	 * ca_fp the CA's. BAD with cert_refused: a certificate of a
	 * trusted CA that does not hold (why says how).
	 */
	enum skp_hostcheck_cert cert;
	int		cert_refused;
	char		ca_fp[SKP_HOSTKEY_FP_LEN];
	/* The key that is (or would be) pinned: the host key, or the
	 * certified key of a certificate; key_len 0 when none. */
	uint8_t		key[SKP_CTAP_HOST_BLOB_MAX];
	size_t		key_len;
};

/* ASCII lower case, cut to len - 1 bytes: pin names, principals. */
void	skp_hostcheck_lower(const char *, char *, size_t);

/*
 * docs/PROTOCOL.md §8.5.1. Only an SSH userauth request with
 * host information is checked: when the request is host-bound, its host
 * key must be the one the proxy saw (else BAD); the host's signature over
 * the request's session id must verify with that key (else BAD; an
 * algorithm the phone cannot check, such as ssh-rsa, is UNVERIFIED); the
 * host name must make a pin name (else UNVERIFIED). Then the pins of st
 * decide PINNED, CHANGED or NEW; a NEW key pinned under another name
 * sets pinned_as. A host certificate (§8.5.1 step 2): the KEX signature
 * is checked with the certified key; a CA trusted for the pin name makes
 * CERT, or BAD with cert_refused when the certificate does not hold at
 * now (unix seconds); another CA's certificate is its certified key,
 * compared with the pins. Never fails; reads nothing but its arguments
 * (skp_hostcheck_run: and the clock).
 */
void	skp_hostcheck_run_at(const struct skp_ctap_context *,
	    const struct skp_sshmsg *, const struct skp_phstate *,
	    uint64_t now, struct skp_hostcheck *);
void	skp_hostcheck_run(const struct skp_ctap_context *,
	    const struct skp_sshmsg *, const struct skp_phstate *,
	    struct skp_hostcheck *);

/* "yes", "new", "no" (a login not verified) or "-" (not a login). */
const char *skp_hostcheck_verified_word(const struct skp_hostcheck *,
	    int is_login);

#endif
