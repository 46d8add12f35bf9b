/* OpenSSH host certificates: parse, check against a CA, match host names. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sk-phone/buf.h"
#include "sk-phone/err.h"
#include "sk-phone/hostcert.h"
#include "sk-phone/hostkey.h"

#define NAME_MAX_LEN	64
#define CERT_SUFFIX	"-cert-v01@openssh.com"

enum fields { F_ED25519, F_ECDSA, F_RSA };

static const struct cert_type {
	const char	*name;
	const char	*plain;
	enum fields	 fields;
} cert_types[] = {
	{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", F_ED25519 },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256",
	    F_ECDSA },
	{ "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384",
	    F_ECDSA },
	{ "ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521",
	    F_ECDSA },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-rsa", F_RSA },
};

static int
str_is(const uint8_t *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

int
skp_hostcert_is_cert(const uint8_t *blob, size_t len)
{
	const uint8_t *name;
	size_t n, sl = strlen(CERT_SUFFIX);
	skp_reader_t r;

	if (blob == NULL)
		return 0;
	skp_reader_init(&r, blob, len);
	if (skp_reader_string(&r, &name, &n, NAME_MAX_LEN) != SKP_OK)
		return 0;
	return n > sl && memcmp(name + n - sl, CERT_SUFFIX, sl) == 0;
}

/* The certified key's fields, as a plain key blob. */
static int
take_key(skp_reader_t *r, const struct cert_type *t, struct skp_hostcert *c)
{
	const uint8_t *start = r->p + r->off, *v;
	size_t n, span, namelen = strlen(t->plain), nfields, i;
	int rc;

	nfields = t->fields == F_ED25519 ? 1 : 2;
	for (i = 0; i < nfields; i++)
		if (skp_reader_string(r, &v, &n, SKP_HOSTKEY_KEY_MAX) !=
		    SKP_OK)
			return SKP_ERR_FORMAT;
	span = (size_t)(r->p + r->off - start);
	if (4 + namelen + span > sizeof(c->key))
		return SKP_ERR_FORMAT;
	c->key[0] = (uint8_t)(namelen >> 24);
	c->key[1] = (uint8_t)(namelen >> 16);
	c->key[2] = (uint8_t)(namelen >> 8);
	c->key[3] = (uint8_t)namelen;
	memcpy(c->key + 4, t->plain, namelen);
	memcpy(c->key + 4 + namelen, start, span);
	c->key_len = 4 + namelen + span;
	if ((rc = skp_hostkey_check(c->key, c->key_len, &c->key_type)) !=
	    SKP_OK)
		return rc == SKP_ERR_CRYPTO ? rc : SKP_ERR_FORMAT;
	return SKP_OK;
}

/* A packed list of strings: each 1..max bytes, at most maxn of them. */
static int
count_strings(const uint8_t *p, size_t len, size_t max, size_t maxn,
    size_t *count)
{
	const uint8_t *v;
	size_t n, i = 0;
	skp_reader_t r;

	skp_reader_init(&r, p, len);
	while (skp_reader_left(&r) > 0) {
		if (skp_reader_string(&r, &v, &n, max) != SKP_OK || n == 0 ||
		    ++i > maxn)
			return SKP_ERR_FORMAT;
	}
	*count = i;
	return SKP_OK;
}

/* Critical options and extensions: string name (1..), string data. */
static int
count_options(const uint8_t *p, size_t len, size_t *count)
{
	const uint8_t *v;
	size_t n, i = 0;
	skp_reader_t r;

	skp_reader_init(&r, p, len);
	while (skp_reader_left(&r) > 0) {
		if (skp_reader_string(&r, &v, &n, NAME_MAX_LEN * 4) !=
		    SKP_OK || n == 0 ||
		    skp_reader_string(&r, &v, &n, len) != SKP_OK)
			return SKP_ERR_FORMAT;
		i++;
	}
	*count = i;
	return SKP_OK;
}

int
skp_hostcert_parse(const uint8_t *blob, size_t len, struct skp_hostcert *c)
{
	const struct cert_type *t = NULL;
	const uint8_t *name, *v;
	size_t n, i, next;
	skp_reader_t r;
	int rc;

	if (c == NULL)
		return SKP_ERR_INVALID;
	memset(c, 0, sizeof(*c));
	if (blob == NULL || len == 0)
		return SKP_ERR_FORMAT;
	if (len > SKP_HOSTKEY_KEY_MAX)
		return SKP_ERR_TOO_LARGE;
	skp_reader_init(&r, blob, len);
	if (skp_reader_string(&r, &name, &n, NAME_MAX_LEN) != SKP_OK)
		return SKP_ERR_FORMAT;
	for (i = 0; i < sizeof(cert_types) / sizeof(cert_types[0]); i++)
		if (str_is(name, n, cert_types[i].name))
			t = &cert_types[i];
	if (t == NULL)
		return SKP_ERR_UNSUPPORTED;
	c->type = t->name;
	rc = SKP_ERR_FORMAT;
	if (skp_reader_string(&r, &v, &n, SKP_HOSTCERT_NONCE_MAX) != SKP_OK ||
	    (rc = take_key(&r, t, c)) != SKP_OK)
		goto fail;
	rc = SKP_ERR_FORMAT;
	if (skp_reader_u64(&r, &c->serial) != SKP_OK ||
	    skp_reader_u32(&r, &c->cert_type) != SKP_OK ||
	    (c->cert_type != SKP_HOSTCERT_USER &&
	    c->cert_type != SKP_HOSTCERT_HOST) ||
	    skp_reader_string(&r, &c->key_id, &c->key_id_len,
	    SKP_HOSTCERT_ID_MAX) != SKP_OK ||
	    skp_reader_string(&r, &c->principals, &c->principals_len,
	    SKP_HOSTCERT_PRINCIPALS * (4 + SKP_HOSTCERT_NAME_MAX)) != SKP_OK ||
	    count_strings(c->principals, c->principals_len,
	    SKP_HOSTCERT_NAME_MAX, SKP_HOSTCERT_PRINCIPALS,
	    &c->nprincipals) != SKP_OK ||
	    skp_reader_u64(&r, &c->valid_after) != SKP_OK ||
	    skp_reader_u64(&r, &c->valid_before) != SKP_OK)
		goto fail;
	if (skp_reader_string(&r, &v, &n, SKP_HOSTCERT_OPTS_MAX) != SKP_OK ||
	    count_options(v, n, &c->ncritical) != SKP_OK ||
	    skp_reader_string(&r, &v, &n, SKP_HOSTCERT_OPTS_MAX) != SKP_OK ||
	    count_options(v, n, &next) != SKP_OK ||
	    skp_reader_string(&r, &v, &n, SKP_HOSTCERT_OPTS_MAX) != SKP_OK ||
	    skp_reader_string(&r, &c->ca_key, &c->ca_key_len,
	    SKP_HOSTKEY_KEY_MAX) != SKP_OK || c->ca_key_len == 0)
		goto fail;
	/* A certificate cannot sign another (as OpenSSH refuses it). */
	if (skp_hostcert_is_cert(c->ca_key, c->ca_key_len))
		goto fail;
	c->signed_len = r.off;
	if (skp_reader_string(&r, &c->signature, &c->signature_len,
	    SKP_HOSTKEY_SIG_MAX) != SKP_OK || c->signature_len == 0 ||
	    skp_reader_end(&r) != SKP_OK)
		goto fail;
	return SKP_OK;
 fail:
	memset(c, 0, sizeof(*c));
	return rc;
}

int
skp_hostcert_verify_ca(const uint8_t *blob, size_t len,
    const struct skp_hostcert *c)
{
	int rc;

	if (blob == NULL || c == NULL || c->signed_len == 0 ||
	    c->signed_len > len)
		return SKP_ERR_INVALID;
	rc = skp_hostkey_verify(c->ca_key, c->ca_key_len, c->signature,
	    c->signature_len, blob, c->signed_len);
	if (rc == SKP_OK || rc == SKP_ERR_UNSUPPORTED)
		return rc;
	return SKP_ERR_VERIFY;
}

static void
date_text(uint64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt;

	if (t == SKP_HOSTCERT_FOREVER || t > (uint64_t)INT64_MAX / 2) {
		snprintf(out, len, "forever");
		return;
	}
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%llu", (unsigned long long)t);
}

static int
has_principal(const struct skp_hostcert *c, const char *name)
{
	const uint8_t *v;
	size_t n;
	skp_reader_t r;

	skp_reader_init(&r, c->principals, c->principals_len);
	while (skp_reader_string(&r, &v, &n, SKP_HOSTCERT_NAME_MAX) ==
	    SKP_OK)
		if (str_is(v, n, name))
			return 1;
	return 0;
}

int
skp_hostcert_check(const struct skp_hostcert *c, const char *name,
    uint64_t now, char *why, size_t whylen)
{
	char d[32];

	if (c == NULL || name == NULL)
		return SKP_ERR_INVALID;
	if (c->cert_type != SKP_HOSTCERT_HOST) {
		skp_why(why, whylen, "the certificate %s presents is a user "
		    "certificate, not a host certificate", name);
		return SKP_ERR_VERIFY;
	}
	if (now < c->valid_after) {
		date_text(c->valid_after, d, sizeof(d));
		skp_why(why, whylen, "the host certificate for %s is not yet "
		    "valid (valid from %s; check the phone's clock)", name, d);
		return SKP_ERR_VERIFY;
	}
	if (now >= c->valid_before) {
		date_text(c->valid_before, d, sizeof(d));
		skp_why(why, whylen, "the host certificate for %s has expired "
		    "(valid until %s)", name, d);
		return SKP_ERR_VERIFY;
	}
	if (c->ncritical > 0) {
		skp_why(why, whylen, "the host certificate for %s has critical "
		    "options, which no host certificate may have", name);
		return SKP_ERR_VERIFY;
	}
	if (!has_principal(c, name)) {
		skp_why(why, whylen, c->nprincipals == 0 ?
		    "the host certificate for %s names no host (no "
		    "principals)" : "the host certificate for %s is for other "
		    "hosts (%s is not among its principals)", name, name);
		return SKP_ERR_VERIFY;
	}
	return SKP_OK;
}

static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* One glob of n bytes against name: '*' any run, '?' one byte. */
static int
glob_match(const char *p, size_t n, const char *s)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	while (s[si] != '\0') {
		if (pi < n && (p[pi] == '?' || lower(p[pi]) == lower(s[si]))) {
			pi++;
			si++;
		} else if (pi < n && p[pi] == '*') {
			star_p = pi++;
			star_s = si;
		} else if (star_p != SIZE_MAX) {
			pi = star_p + 1;
			si = ++star_s;
		} else
			return 0;
	}
	while (pi < n && p[pi] == '*')
		pi++;
	return pi == n;
}

int
skp_hostcert_pattern_ok(const char *pattern)
{
	size_t i, n, start = 0, positive = 0;

	if (pattern == NULL || (n = strlen(pattern)) == 0 ||
	    n > SKP_HOSTCERT_PATTERN_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && pattern[i] != ',') {
			if (pattern[i] <= 0x20 || pattern[i] >= 0x7f)
				return 0;
			continue;
		}
		if (i == start || (pattern[start] == '!' && i == start + 1))
			return 0;
		if (pattern[start] != '!')
			positive++;
		start = i + 1;
	}
	return positive > 0;
}

int
skp_hostcert_pattern_match(const char *pattern, const char *name)
{
	const char *p, *e;
	size_t n;
	int neg, hit = 0;

	if (pattern == NULL || name == NULL)
		return 0;
	for (p = pattern; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		neg = n > 0 && p[0] == '!';
		if (neg) {
			p++;
			n--;
		}
		if (n == 0 || !glob_match(p, n, name))
			continue;
		if (neg)
			return 0;
		hit = 1;
	}
	return hit;
}
