/*
 * The relay URL (docs/PROTOCOL.md §2.2): the one parser every part uses,
 * so that a URL the pairing accepts is one the client can connect to.
 *
 *   relay-url = ("ws" / "wss") "://" host [":" port] [path]
 *
 * No user info, no query, no fragment; a port is 1-65535 without leading
 * zeros; the host is a DNS name, a dotted-quad IPv4 address or a
 * bracketed IPv6 address.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/relayurl.h"

#define LABEL_MAX	63
#define IPV6_TEXT_MAX	45	/* INET6_ADDRSTRLEN - 1 */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 1-3 digits, 0-255, no leading zero; *used gets the digits taken. */
static int
ipv4_part(const char *p, size_t n, size_t *used)
{
	size_t i;
	unsigned v = 0;

	for (i = 0; i < n && i < 3 && is_digit(p[i]); i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	if (i == 0 || (i > 1 && p[0] == '0') || v > 255)
		return 0;
	*used = i;
	return 1;
}

static int
is_ipv4(const char *p, size_t n)
{
	size_t i = 0, used;
	int k;

	for (k = 0; k < 4; k++) {
		if (k > 0) {
			if (i >= n || p[i] != '.')
				return 0;
			i++;
		}
		if (!ipv4_part(p + i, n - i, &used))
			return 0;
		i += used;
	}
	return i == n;
}

/*
 * Labels of letters, digits and '-', 1-63 bytes, not starting or ending
 * with '-'; no empty label (so no trailing dot). A name of only digits
 * and dots must be an IPv4 address.
 */
static int
check_host(const char *p, size_t n, const char **why)
{
	size_t i, start = 0;
	int letters = 0;

	if (n == 0) {
		*why = "the host is empty";
		return SKP_ERR_FORMAT;
	}
	if (n > SKP_RELAYURL_HOST_MAX) {
		*why = "the host name is longer than 253 bytes";
		return SKP_ERR_FORMAT;
	}
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != '.') {
			if (is_alpha(p[i]) || p[i] == '-')
				letters = 1;
			else if (!is_digit(p[i])) {
				*why = p[i] == '@' ?
				    "user info (user@) is not allowed" :
				    "the host may hold only letters, digits, "
				    "'-' and '.'";
				return SKP_ERR_FORMAT;
			}
			continue;
		}
		if (i == start || i - start > LABEL_MAX ||
		    p[start] == '-' || p[i - 1] == '-') {
			*why = "each dot-separated part of the host must be "
			    "1-63 letters, digits or '-', not starting or "
			    "ending with '-'";
			return SKP_ERR_FORMAT;
		}
		start = i + 1;
	}
	if (!letters && !is_ipv4(p, n)) {
		*why = "a numeric host must be an IPv4 address a.b.c.d "
		    "(0-255, no leading zeros)";
		return SKP_ERR_FORMAT;
	}
	return SKP_OK;
}

static int
check_ipv6(const char *p, size_t n, const char **why)
{
	char t[IPV6_TEXT_MAX + 1];
	struct in6_addr a;
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_hex(p[i]) && p[i] != ':' && p[i] != '.')
			break;
	if (n == 0 || n > IPV6_TEXT_MAX || i < n) {
		*why = "the IPv6 address in [] is not valid";
		return SKP_ERR_FORMAT;
	}
	memcpy(t, p, n);
	t[n] = '\0';
	if (inet_pton(AF_INET6, t, &a) != 1) {
		*why = "the IPv6 address in [] is not valid";
		return SKP_ERR_FORMAT;
	}
	return SKP_OK;
}

/* 1-65535 in decimal, no leading zeros. */
static int
parse_port(const char *p, size_t n, uint16_t *port, const char **why)
{
	uint32_t v = 0;
	size_t i;

	if (n == 0 || n > 5 || p[0] == '0') {
		*why = "the port must be 1-65535, written without leading "
		    "zeros";
		return SKP_ERR_FORMAT;
	}
	for (i = 0; i < n; i++) {
		if (!is_digit(p[i])) {
			*why = "the port must be 1-65535, written without "
			    "leading zeros";
			return SKP_ERR_FORMAT;
		}
		v = v * 10 + (uint32_t)(p[i] - '0');
	}
	if (v > 65535) {
		*why = "the port must be 1-65535, written without leading "
		    "zeros";
		return SKP_ERR_FORMAT;
	}
	*port = (uint16_t)v;
	return SKP_OK;
}

/* RFC 3986 pchar and '/', percent-encodings checked; no '?' or '#'. */
static int
check_path(const char *p, size_t n, const char **why)
{
	static const char ok[] = "-._~!$&'()*+,;=:@/";
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '%') {
			if (n - i < 3 || !is_hex(p[i + 1]) ||
			    !is_hex(p[i + 2])) {
				*why = "a '%' in the path must be followed by "
				    "two hex digits";
				return SKP_ERR_FORMAT;
			}
			i += 2;
			continue;
		}
		if (p[i] == '?' || p[i] == '#') {
			*why = "a relay URL has no query ('?') or fragment "
			    "('#')";
			return SKP_ERR_FORMAT;
		}
		if (!is_alpha(p[i]) && !is_digit(p[i]) &&
		    (p[i] == '\0' || strchr(ok, p[i]) == NULL)) {
			*why = "the path holds a character that must be "
			    "percent-encoded";
			return SKP_ERR_FORMAT;
		}
	}
	return SKP_OK;
}

int
skp_relayurl_parse(const char *s, size_t n, struct skp_relayurl *out,
    const char **why)
{
	struct skp_relayurl t;
	const char *dummy = NULL, *h, *e = NULL;
	size_t i, hl;
	int rc;

	memset(&t, 0, sizeof(t));
	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (s == NULL) {
		*why = "no relay URL";
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if (n > SKP_RELAYURL_MAX) {
		*why = "a relay URL is at most 255 bytes";
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if (n > 6 && memcmp(s, "wss://", 6) == 0) {
		t.tls = 1;
		i = 6;
	} else if (n > 5 && memcmp(s, "ws://", 5) == 0)
		i = 5;
	else {
		*why = "a relay URL starts with ws:// or wss:// (lower case)";
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	t.port = t.tls ? 443 : 80;
	if (s[i] == '[') {
		h = s + i + 1;
		for (i++; i < n && s[i] != ']'; i++)
			;
		if (i == n) {
			*why = "the IPv6 address has no closing ']'";
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		hl = (size_t)(s + i - h);
		if ((rc = check_ipv6(h, hl, why)) != SKP_OK)
			goto out;
		t.ipv6 = 1;
		i++;
	} else {
		h = s + i;
		for (; i < n && s[i] != ':' && s[i] != '/' && s[i] != '?' &&
		    s[i] != '#'; i++)
			;
		hl = (size_t)(s + i - h);
		if ((rc = check_host(h, hl, why)) != SKP_OK)
			goto out;
	}
	memcpy(t.host, h, hl);
	t.host[hl] = '\0';
	if (i < n && s[i] == ':') {
		e = s + ++i;
		for (; i < n && s[i] != '/' && s[i] != '?' && s[i] != '#'; i++)
			;
		if ((rc = parse_port(e, (size_t)(s + i - e), &t.port,
		    why)) != SKP_OK)
			goto out;
	}
	if (i < n && s[i] != '/') {
		*why = s[i] == '?' || s[i] == '#' ?
		    "a relay URL has no query ('?') or fragment ('#')" :
		    "after the host comes ':port', '/path' or the end";
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = check_path(s + i, n - i, why)) != SKP_OK)
		goto out;
	if (i == n)
		memcpy(t.path, "/", 2);
	else {
		memcpy(t.path, s + i, n - i);
		t.path[n - i] = '\0';
	}
	if (out != NULL)
		memcpy(out, &t, sizeof(t));
	rc = SKP_OK;
out:
	return rc;
}

/* Length of URL i of list and where it starts; 0 past the end. */
static size_t
list_at(const char *list, size_t i, const char **at)
{
	const char *p = list, *sp;

	if (list == NULL || *list == '\0')
		return 0;
	for (; i > 0; i--) {
		if ((sp = strchr(p, ' ')) == NULL)
			return 0;
		p = sp + 1;
	}
	*at = p;
	return (sp = strchr(p, ' ')) == NULL ? strlen(p) : (size_t)(sp - p);
}

size_t
skp_relaylist_count(const char *list)
{
	size_t n = 0;

	if (list == NULL || *list == '\0')
		return 0;
	for (n = 1; *list != '\0'; list++)
		if (*list == ' ')
			n++;
	return n;
}

int
skp_relaylist_get(const char *list, size_t i, char out[SKP_RELAYURL_MAX + 1])
{
	const char *at = NULL;
	size_t n;

	out[0] = '\0';
	if ((n = list_at(list, i, &at)) == 0 || n > SKP_RELAYURL_MAX)
		return SKP_ERR_NOT_FOUND;
	memcpy(out, at, n);
	out[n] = '\0';
	return SKP_OK;
}

int
skp_relaylist_has(const char *list, const char *url)
{
	const char *at = NULL;
	size_t i, n;

	if (url == NULL)
		return 0;
	for (i = 0; (n = list_at(list, i, &at)) > 0; i++)
		if (n == strlen(url) && memcmp(at, url, n) == 0)
			return 1;
	return 0;
}

int
skp_relaylist_check(const char *s, size_t len, const char **why)
{
	const char *dummy, *p, *e, *q, *f;
	size_t n = 0, m;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (s == NULL || len == 0) {
		*why = "no relay URL";
		return SKP_ERR_FORMAT;
	}
	if (len > SKP_RELAYLIST_MAX) {
		*why = "at most 4 relay URLs of at most 255 bytes each";
		return SKP_ERR_TOO_LARGE;
	}
	for (p = s; p <= s + len; p = e + 1) {
		if ((e = memchr(p, ' ', (size_t)(s + len - p))) == NULL)
			e = s + len;
		if (++n > SKP_RELAYLIST_URLS) {
			*why = "at most 4 relay URLs for one relay";
			return SKP_ERR_TOO_LARGE;
		}
		if ((rc = skp_relayurl_parse(p, (size_t)(e - p), NULL,
		    why)) != SKP_OK)
			return rc;
		/* The same URL twice would only be tried twice. */
		for (q = s; q < p; q = f + 1) {
			f = memchr(q, ' ', (size_t)(p - q));
			m = (size_t)(f - q);
			if (m == (size_t)(e - p) && memcmp(q, p, m) == 0) {
				*why = "a relay URL is given twice";
				return SKP_ERR_FORMAT;
			}
		}
	}
	return SKP_OK;
}

int
skp_relaylist_add(char *buf, size_t size, const char *url, const char **why)
{
	const char *dummy;
	size_t have, ulen;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (buf == NULL || url == NULL)
		return SKP_ERR_INVALID;
	have = strnlen(buf, size);
	ulen = strlen(url);
	if ((rc = skp_relayurl_parse(url, ulen, NULL, why)) != SKP_OK)
		return rc;
	if (skp_relaylist_has(buf, url)) {
		*why = "a relay URL is given twice";
		return SKP_ERR_EXISTS;
	}
	if (skp_relaylist_count(buf) >= SKP_RELAYLIST_URLS) {
		*why = "at most 4 relay URLs for one relay";
		return SKP_ERR_TOO_LARGE;
	}
	if (have + 1 + ulen + 1 > size)
		return SKP_ERR_TOO_LARGE;
	if (have > 0)
		buf[have++] = ' ';
	memcpy(buf + have, url, ulen + 1);
	return SKP_OK;
}
