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
};

/*
 * docs/PROTOCOL.md §9 section 6. Only an SSH userauth request with
 * host information is checked: when the request is host-bound, its host
 * key must be the one the proxy saw (else BAD); the host's signature over
 * the request's session id must verify with that key (else BAD; an
 * algorithm the phone cannot check, such as ssh-rsa, is UNVERIFIED); the
 * host name must make a pin name (else UNVERIFIED). Then the pins of st
 * decide PINNED, CHANGED or NEW; a NEW key pinned under another name
 * sets pinned_as. Never fails; reads nothing but its arguments.
 */
void	skp_hostcheck_run(const struct skp_ctap_context *,
	    const struct skp_sshmsg *, const struct skp_phstate *,
	    struct skp_hostcheck *);

/* "yes", "new", "no" (a login not verified) or "-" (not a login). */
const char *skp_hostcheck_verified_word(const struct skp_hostcheck *,
	    int is_login);

#endif
