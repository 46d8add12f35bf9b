/* Which host a login is for: the proxy's host key, checked and pinned. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/hostcert.h"
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

/*
 * A host name in ASCII lower case (DNS names are case-blind): as a pin
 * name, or as a certificate's principal. Cut to len - 1 bytes.
 */
void
skp_hostcheck_lower(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++)
		out[i] = in[i] >= 'A' && in[i] <= 'Z' ?
		    (char)(in[i] - 'A' + 'a') : in[i];
	out[i] = '\0';
}

/*
 * A certificate's CA is trusted for name: it must hold (else BAD, the
 * certificate refused). Answers 1 when that decided the state.
 */
static int
trusted_cert(const struct skp_ctap_host *h, const struct skp_hostcert *c,
    const struct skp_phstate *st, const char *name, uint64_t now,
    struct skp_hostcheck *hc)
{
	char host[SKP_HOSTINFO_HOST_MAX + 1], why[sizeof(hc->why)];
	int rc;

	if (skp_phstate_ca_trusted(st, c->ca_key, c->ca_key_len, name) ==
	    NULL)
		return 0;
	hc->cert = SKP_HOSTCHECK_CERT_TRUSTED;
	hc->state = SKP_HOSTCHECK_BAD;
	hc->cert_refused = 1;
	skp_hostcheck_lower(h->name, host, sizeof(host));
	rc = skp_hostcert_verify_ca(h->host_key, h->host_key_len, c);
	if (rc == SKP_ERR_UNSUPPORTED) {
		skp_why(hc->why, sizeof(hc->why), "the host certificate for "
		    "%s is signed by its CA with ssh-rsa (SHA-1), which the "
		    "phone does not accept", host);
		return 1;
	}
	if (rc != SKP_OK) {
		skp_why(hc->why, sizeof(hc->why), "the host certificate for "
		    "%s does not verify with the CA %s", host, hc->ca_fp);
		return 1;
	}
	if (skp_hostcert_check(c, host, now, why, sizeof(why)) != SKP_OK) {
		set_why(hc, why);
		return 1;
	}
	hc->state = SKP_HOSTCHECK_CERT;
	hc->cert_refused = 0;
	return 1;
}

void
skp_hostcheck_run(const struct skp_ctap_context *ctx,
    const struct skp_sshmsg *m, const struct skp_phstate *st,
    struct skp_hostcheck *hc)
{
	skp_hostcheck_run_at(ctx, m, st, (uint64_t)time(NULL), hc);
}

void
skp_hostcheck_run_at(const struct skp_ctap_context *ctx,
    const struct skp_sshmsg *m, const struct skp_phstate *st, uint64_t now,
    struct skp_hostcheck *hc)
{
	struct skp_hostcert cert;
	const struct skp_ctap_host *h = &ctx->host;
	const struct skp_ph_host *pin;
	char name[SKP_HOSTINFO_PIN_MAX];
	const uint8_t *key;
	size_t i, keylen;
	int rc, is_cert, cert_rc = SKP_OK;

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
	key = h->host_key;
	keylen = h->host_key_len;
	is_cert = skp_hostcert_is_cert(key, keylen);
	if (is_cert)
		cert_rc = skp_hostcert_parse(key, keylen, &cert);
	/* A certificate's fingerprint is its key's, as OpenSSH shows it. */
	if (is_cert && cert_rc == SKP_OK) {
		key = cert.key;
		keylen = cert.key_len;
		if (skp_hostkey_fingerprint(cert.ca_key, cert.ca_key_len,
		    hc->ca_fp) != SKP_OK)
			hc->ca_fp[0] = '\0';
	}
	if (keylen > 0 && skp_hostkey_fingerprint(key, keylen, hc->fp) !=
	    SKP_OK)
		hc->fp[0] = '\0';
	/* The host-bound request names the server's key itself. */
	if (m->hostbound && (m->host_key_len != h->host_key_len ||
	    memcmp(m->host_key, h->host_key, h->host_key_len) != 0)) {
		set_why(hc, "the login names another host key than the one "
		    "sk-phone proxy saw");
		return;
	}
	if (is_cert) {
		rc = cert_rc;
		hc->key_type = cert.key_type;
	} else
		rc = skp_hostkey_check(key, keylen, &hc->key_type);
	if (rc == SKP_ERR_UNSUPPORTED) {
		hc->key_type = NULL;
		hc->state = SKP_HOSTCHECK_UNVERIFIED;
		set_why(hc, is_cert ? "the phone cannot check this type of "
		    "host certificate" : "the phone cannot check this type of "
		    "host key");
		return;
	}
	if (rc != SKP_OK) {
		hc->key_type = NULL;
		set_why(hc, is_cert ? "the host certificate sk-phone proxy saw "
		    "is not valid" : "the host key sk-phone proxy saw is not "
		    "valid");
		return;
	}
	if (keylen > sizeof(hc->key)) {
		hc->state = SKP_HOSTCHECK_UNVERIFIED;
		set_why(hc, "the host key is too large for the phone");
		return;
	}
	memcpy(hc->key, key, keylen);
	hc->key_len = keylen;
	/* The exchange is signed by the certified key itself. */
	rc = skp_hostkey_verify(key, keylen, h->signature,
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
	if (is_cert) {
		if (trusted_cert(h, &cert, st, name, now, hc))
			return;
		hc->cert = SKP_HOSTCHECK_CERT_UNKNOWN;
	}
	if ((pin = skp_phstate_host_find(st, name, hc->key_type)) == NULL) {
		hc->state = SKP_HOSTCHECK_NEW;
		hc->other_types = skp_phstate_host_count(st, name) > 0;
		/* First use of this name: is the key known by another? */
		for (i = 0; i < st->nhosts; i++)
			if (st->hosts[i].key_len == keylen &&
			    memcmp(st->hosts[i].key, key, keylen) == 0) {
				snprintf(hc->pinned_as, sizeof(hc->pinned_as),
				    "%s", st->hosts[i].name);
				break;
			}
	} else if (pin->key_len == keylen &&
	    memcmp(pin->key, key, keylen) == 0)
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
	case SKP_HOSTCHECK_CERT:
		return "yes";
	case SKP_HOSTCHECK_NEW:
		return "new";
	default:
		return is_login ? "no" : "-";
	}
}
