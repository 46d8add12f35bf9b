/*
 * Fuzz harness: what the relay makes of a web request's strings
 * (cmd/sk-phone-relay/webpath.c): the path, If-None-Match,
 * If-Modified-Since and Host. A path it accepts is relative, has no
 * empty, dot-led or "..": segment and no byte outside the allowed set,
 * and names the folder's index.html when it ends in "/"; a date it parses
 * prints back as the same text; a fresh answer needs a validator.
 * Input: a selector byte, then the string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relayd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_path(const char *in, size_t n, const char *out)
{
	const char *s = out, *e;
	size_t k;

	if (out[0] == '/' || out[0] == '\0' || strlen(out) >=
	    RELAYD_WEB_PATH_MAX)
		abort();
	for (;;) {
		e = strchr(s, '/');
		k = e != NULL ? (size_t)(e - s) : strlen(s);
		if (k == 0 || s[0] == '.' ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
		    "UVWXYZ0123456789-_.~@+") < k)
			abort();
		if (e == NULL)
			break;
		s = e + 1;
	}
	if (in[n - 1] == '/' && (strlen(out) < 10 ||
	    strcmp(out + strlen(out) - 10, "index.html") != 0))
		abort();
	/* The same path again, but for the leading slash and any index. */
	if (in[n - 1] != '/' && (strlen(out) != n - 1 ||
	    memcmp(out, in + 1, n - 1) != 0))
		abort();
	(void)relayd_web_type(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	char out[RELAYD_WEB_PATH_MAX], date[RELAYD_WEB_DATE_LEN];
	char etag[RELAYD_WEB_ETAG_LEN], *s;
	int64_t t;

	if (n < 1)
		return 0;
	if ((s = malloc(n)) == NULL)
		abort();
	/* lws hands over NUL-terminated strings; the length is given too. */
	memcpy(s, p + 1, n - 1);
	s[n - 1] = '\0';
	switch (p[0] % 4) {
	case 0:
		if (relayd_web_path(s, n - 1, out, sizeof(out)) == 0)
			check_path(s, n - 1, out);
		break;
	case 1:
		if (relayd_web_parse_date(s, n - 1, &t) == 0) {
			relayd_web_date(t, date);
			if (strlen(date) != n - 1 || memcmp(date, s, n - 1) != 0)
				abort();
			if (!relayd_web_fresh(NULL, 0, s, n - 1, "\"x\"", t) ||
			    relayd_web_fresh(NULL, 0, s, n - 1, "\"x\"", t + 1))
				abort();
		}
		break;
	case 2:
		relayd_web_etag((uint64_t)n, (int64_t)p[0], 5, etag);
		/* By the length given: the header may hold a NUL. */
		if (relayd_web_fresh(s, n - 1, NULL, 0, etag, 0) &&
		    memmem(s, n - 1, etag, strlen(etag)) == NULL &&
		    memchr(s, '*', n - 1) == NULL)
			abort();
		if (relayd_web_fresh(NULL, 0, NULL, 0, etag, 0))
			abort();
		break;
	default:
		if (relayd_web_host_ok(s, n - 1) &&
		    strpbrk(s, " ;,'\"\r\n\t") != NULL)
			abort();
		break;
	}
	free(s);
	return 0;
}
