/*
 * Fuzz harness: push endpoints and --push-allow origins as the relay
 * reads them (wp_url_parse, wp_allow_add, wp_allow_check;
 * cmd/sk-phone-relay/webpush.c). A parsed endpoint has a lower-case host,
 * a port 1..65535 and an origin that parses back to the same; an origin
 * accepted into a list lets an endpoint under it through (and a wildcard
 * not its own domain); a refusal always says why; plain http is allowed
 * only to loopback.
 * Input: a selector byte (0: endpoint, 1: origin), then the string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webpush.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_url(const char *s, const struct wp_url *u)
{
	struct wp_url v;
	char again[400];
	size_t i;

	if (strlen(s) > WP_ENDPOINT_MAX || u->host[0] == '\0' ||
	    u->port < 1 || u->port > 65535 || (u->tls != 0 && u->tls != 1))
		abort();
	for (i = 0; u->host[i] != '\0'; i++)
		if (u->host[i] >= 'A' && u->host[i] <= 'Z')
			abort();
	if (strncmp(u->origin, u->tls ? "https://" : "http://",
	    u->tls ? 8 : 7) != 0)
		abort();
	/* With a path long enough for the 12-byte minimum. */
	snprintf(again, sizeof(again), "%s/0123456789", u->origin);
	if (wp_url_parse(again, &v) != 0 || v.tls != u->tls ||
	    v.port != u->port || strcmp(v.host, u->host) != 0 ||
	    strcmp(v.origin, u->origin) != 0)
		abort();
}

static int
allows(const struct wp_allow *a, const char *endpoint)
{
	struct wp_url u;

	return wp_url_parse(endpoint, &u) == 0 && wp_allow_check(a, &u);
}

static void
check_origin(const char *s)
{
	struct wp_allow *a;
	struct wp_url u;
	char err[WP_ERR_MAX], ep[700], dom[700];
	const char *star;
	size_t n;
	int before;

	if ((a = wp_allow_new()) == NULL)
		abort();
	if (wp_allow_add(a, s, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		wp_allow_free(a);
		return;
	}
	if (err[0] != '\0')
		abort();
	n = strlen(s);
	if (n > 0 && s[n - 1] == '/')
		n--;
	if ((star = strstr(s, "://*.")) == NULL) {
		snprintf(ep, sizeof(ep), "%.*s/p0123456789", (int)n, s);
		if (wp_url_parse(ep, &u) != 0 || !wp_allow_check(a, &u))
			abort();
		if (!u.tls && strcmp(u.host, "127.0.0.1") != 0 &&
		    strcmp(u.host, "[::1]") != 0)
			abort();
	} else {
		/* Its domain, checked on a list without the new entry. */
		snprintf(dom, sizeof(dom), "https://%.*s/p0123456789",
		    (int)(n - (size_t)(star + 5 - s)), star + 5);
		snprintf(ep, sizeof(ep), "https://x.%.*s/p0123456789",
		    (int)(n - (size_t)(star + 5 - s)), star + 5);
		if (!allows(a, ep))
			abort();
		wp_allow_free(a);
		if ((a = wp_allow_new()) == NULL)
			abort();
		before = allows(a, dom);
		if (wp_allow_add(a, s, err, sizeof(err)) != 0 ||
		    allows(a, dom) != before)
			abort();
	}
	wp_allow_free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct wp_url u;
	char *s;

	if (n < 1)
		return 0;
	if ((s = malloc(n)) == NULL)
		abort();
	memcpy(s, p + 1, n - 1);
	s[n - 1] = '\0';
	if (p[0] % 2 == 0) {
		if (wp_url_parse(s, &u) == 0)
			check_url(s, &u);
	} else
		check_origin(s);
	free(s);
	return 0;
}
