/* Which host a login is for: the proxy's host key, checked and pinned. */
#include <stdio.h>
#include <string.h>

#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/hostkey.h"

#include "hostcheck.h"
#include "phstate.h"
#include "sshmsg.h"

static void
set_why(struct skp_hostcheck *hc, const char *why)
{
	snprintf(hc->why, sizeof(hc->why), "%s", why);
}

void
skp_hostcheck_run(const struct skp_ctap_context *ctx,
    const struct skp_sshmsg *m, const struct skp_phstate *st,
    struct skp_hostcheck *hc)
{
	const struct skp_ctap_host *h = &ctx->host;
	const struct skp_ph_host *pin;
	char name[SKP_HOSTINFO_PIN_MAX];
	size_t i;
	int rc;

	memset(hc, 0, sizeof(*hc));
	hc->state = SKP_HOSTCHECK_NONE;
	/* The session id is what ties the host to the request: logins only. */
	if (m->kind != SKP_SSHMSG_USERAUTH || !ctx->has_host)
		return;
	hc->state = SKP_HOSTCHECK_BAD;
	if (skp_hostinfo_pin_name(h->name, h->port, name, sizeof(name)) ==
	    SKP_OK)
		snprintf(hc->host, sizeof(hc->host), "%s", name);
	else
		name[0] = '\0';
	if (h->host_key_len > 0 &&
	    skp_hostkey_fingerprint(h->host_key, h->host_key_len, hc->fp) !=
	    SKP_OK)
		hc->fp[0] = '\0';
	/* The host-bound request names the server's key itself. */
	if (m->hostbound && (m->host_key_len != h->host_key_len ||
	    memcmp(m->host_key, h->host_key, h->host_key_len) != 0)) {
		set_why(hc, "the login names another host key than the one "
		    "sk-phone proxy saw");
		return;
	}
	rc = skp_hostkey_check(h->host_key, h->host_key_len, &hc->key_type);
	if (rc == SKP_ERR_UNSUPPORTED) {
		hc->key_type = NULL;
		hc->state = SKP_HOSTCHECK_UNVERIFIED;
		set_why(hc, "the phone cannot check this type of host key");
		return;
	}
	if (rc != SKP_OK) {
		hc->key_type = NULL;
		set_why(hc, "the host key sk-phone proxy saw is not valid");
		return;
	}
	rc = skp_hostkey_verify(h->host_key, h->host_key_len, h->signature,
	    h->signature_len, m->session_id, m->session_id_len);
	if (rc == SKP_ERR_UNSUPPORTED) {
		hc->state = SKP_HOSTCHECK_UNVERIFIED;
		set_why(hc, "the phone cannot check the host's signature "
		    "algorithm (ssh-rsa uses SHA-1)");
		return;
	}
	if (rc != SKP_OK) {
		set_why(hc, "the host's signature over this session does not "
		    "verify: the host information is not this session's");
		return;
	}
	if (name[0] == '\0') {
		hc->state = SKP_HOSTCHECK_UNVERIFIED;
		set_why(hc, "the host name is not usable");
		return;
	}
	if ((pin = skp_phstate_host_find(st, name, hc->key_type)) == NULL) {
		hc->state = SKP_HOSTCHECK_NEW;
		hc->other_types = skp_phstate_host_count(st, name) > 0;
		/* First use of this name: is the key known by another? */
		for (i = 0; i < st->nhosts; i++)
			if (st->hosts[i].key_len == h->host_key_len &&
			    memcmp(st->hosts[i].key, h->host_key,
			    h->host_key_len) == 0) {
				snprintf(hc->pinned_as, sizeof(hc->pinned_as),
				    "%s", st->hosts[i].name);
				break;
			}
	} else if (pin->key_len == h->host_key_len &&
	    memcmp(pin->key, h->host_key, pin->key_len) == 0)
		hc->state = SKP_HOSTCHECK_PINNED;
	else
		hc->state = SKP_HOSTCHECK_CHANGED;
}

const char *
skp_hostcheck_verified_word(const struct skp_hostcheck *hc, int is_login)
{
	switch (hc->state) {
	case SKP_HOSTCHECK_PINNED:
	case SKP_HOSTCHECK_CHANGED:
		return "yes";
	case SKP_HOSTCHECK_NEW:
		return "new";
	default:
		return is_login ? "no" : "-";
	}
}
