/*
 * Fuzz harness: the relay URL parser (lib/relayurl.c). What it accepts
 * has no query, fragment or user info, the pairing check agrees with it,
 * and the parts it returns, written back out, parse to the same parts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relayurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_relayurl u, v;
	const char *s = (const char *)p, *why = NULL;
	char out[3 * SKP_RELAYURL_MAX];
	int rc, len;

	memset(&u, 0, sizeof(u));
	rc = skp_relayurl_parse(s, n, &u, &why);
	if (rc != skp_pairuri_check_relay(s, n))
		abort();
	if (rc != SKP_OK) {
		if (why == NULL || (rc != SKP_ERR_FORMAT &&
		    rc != SKP_ERR_TOO_LARGE))
			abort();
		return 0;
	}
	if (why != NULL || n > SKP_RELAYURL_MAX || memchr(p, '?', n) ||
	    memchr(p, '#', n) || strchr(u.host, '@') != NULL)
		abort();
	if (u.host[0] == '\0' || u.port == 0 || u.path[0] != '/')
		abort();
	len = snprintf(out, sizeof(out), "%s://%s%s%s:%u%s",
	    u.tls ? "wss" : "ws", u.ipv6 ? "[" : "", u.host, u.ipv6 ? "]" : "",
	    (unsigned)u.port, u.path);
	if (len < 0 || (size_t)len >= sizeof(out))
		abort();
	/* Written out in full it may pass 255 bytes; then it is refused. */
	memset(&v, 0, sizeof(v));
	rc = skp_relayurl_parse(out, (size_t)len, &v, NULL);
	if (rc == SKP_ERR_TOO_LARGE)
		return 0;
	if (rc != SKP_OK || memcmp(&u, &v, sizeof(u)) != 0)
		abort();
	return 0;
}
