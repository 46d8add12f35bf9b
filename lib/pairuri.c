/* The pairing URI (encode, strict parse, freshness) and pairing derivations. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relayurl.h"

#define URI_PREFIX	"sk-phone://pair?"
#define WEB_ORIGIN_MAX	(8 + SKP_RELAY_URL_MAX + 2)	/* https:// .. /# */
#define INFO_RENDEZVOUS	"sk-phone v1 rendezvous"
#define INFO_PAIR_PSK	"sk-phone v1 pairing psk"
#define INFO_CONFIRM	"sk-phone v1 confirm"
#define INFO_REQ_PSK	"sk-phone v1 request psk"
#define B64_PUB_LEN	87	/* 65 bytes without padding */
#define B64_SECRET_LEN	22	/* 16 bytes without padding */
#define DEC_U64_MAX	20	/* digits of UINT64_MAX */

enum { P_V, P_K, P_S, P_R, P_N, P_T, P_COUNT };
/* r may come more than once (v=3); the spans past the first. */
#define R_MAX		SKP_RELAYLIST_URLS
static const char pnames[P_COUNT] = { 'v', 'k', 's', 'r', 'n', 't' };

struct span {
	const char	*p;
	size_t		 len;
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 3986 unreserved: the only characters left as they are. */
static int
is_unreserved(char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int
hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decimal without sign or leading zeros ("0" itself is fine), so that each
 * number has exactly one spelling.
 */
static int
parse_decimal(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (n == 0 || n > DEC_U64_MAX || (n > 1 && p[0] == '0'))
		return SKP_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return SKP_ERR_FORMAT;
		d = (uint64_t)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SKP_ERR_FORMAT;
		v = v * 10 + d;
	}
	*out = v;
	return SKP_OK;
}

/*
 * Decode into out (outmax bytes, plus one for the NUL this adds). A
 * decoded %00 stays in and counts in outlen, for the checks to refuse.
 */
static int
pct_decode(const struct span *s, char *out, size_t outmax, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	for (i = 0; i < s->len; i++) {
		if (o >= outmax)
			return SKP_ERR_TOO_LARGE;
		if (s->p[i] == '%') {
			if (s->len - i < 3 || (hi = hexval(s->p[i + 1])) < 0 ||
			    (lo = hexval(s->p[i + 2])) < 0)
				return SKP_ERR_FORMAT;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (is_unreserved(s->p[i]))
			c = s->p[i];
		else
			return SKP_ERR_FORMAT;
		out[o++] = c;
	}
	out[o] = '\0';
	*outlen = o;
	return SKP_OK;
}

static int
pct_encode(skp_buf_t *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];
	size_t i;
	int rc = SKP_OK;

	for (i = 0; i < n && rc == SKP_OK; i++) {
		if (is_unreserved(s[i])) {
			rc = skp_buf_put(b, &s[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[(uint8_t)s[i] >> 4];
		e[2] = hex[(uint8_t)s[i] & 15];
		rc = skp_buf_put(b, e, sizeof(e));
	}
	return rc;
}

/* The one relay URL grammar lives in relayurl.c (PROTOCOL.md §2.2). */
int
skp_pairuri_check_relay(const char *s, size_t n)
{
	return skp_relayurl_parse(s, n, NULL, NULL);
}

/*
 * Besides C0, DEL and C1, refuse the invisible characters that reorder or
 * break what a screen shows (bidi controls, line and paragraph
 * separators): a name is shown to the owner to decide on.
 */
static int
bad_codepoint(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	    c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

int
skp_pairuri_check_name(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t c, min;
	size_t i = 0, k, more;

	if (s == NULL || n == 0)
		return SKP_ERR_FORMAT;
	if (n > SKP_NAME_MAX)
		return SKP_ERR_TOO_LARGE;
	while (i < n) {
		if (p[i] < 0x80) {
			c = p[i];
			more = 0;
			min = 0;
		} else if ((p[i] & 0xe0) == 0xc0) {
			c = p[i] & 0x1fu;
			more = 1;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			c = p[i] & 0x0fu;
			more = 2;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			c = p[i] & 0x07u;
			more = 3;
			min = 0x10000;
		} else
			return SKP_ERR_FORMAT;
		if (n - i - 1 < more)
			return SKP_ERR_FORMAT;
		for (k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return SKP_ERR_FORMAT;
			c = c << 6 | (p[i + k] & 0x3fu);
		}
		/* Overlong forms, surrogates, past U+10FFFF: not UTF-8. */
		if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff ||
		    bad_codepoint(c))
			return SKP_ERR_FORMAT;
		i += more + 1;
	}
	return SKP_OK;
}

/*
 * The web form's start, "https://AUTHORITY/#" (or "http://" for a ws://
 * relay on a loopback address), from a relay URL already checked:
 * AUTHORITY is the relay URL's host and port exactly as written.
 * SKP_ERR_FORMAT for a ws:// relay elsewhere (no browser gives WebCrypto
 * to such a page).
 */
static int
web_prefix(const char *relay, size_t rlen, char *out, size_t outlen)
{
	struct skp_relayurl ru;
	const char *a, *e;
	size_t n;
	int loop;

	if (skp_relayurl_parse(relay, rlen, &ru, NULL) != SKP_OK)
		return SKP_ERR_FORMAT;
	a = relay + (ru.tls ? 6 : 5);		/* past "wss://" or "ws://" */
	if ((e = memchr(a, '/', rlen - (size_t)(a - relay))) == NULL)
		e = relay + rlen;
	n = (size_t)(e - a);
	loop = strcmp(ru.host, "localhost") == 0 ||
	    strcmp(ru.host, "::1") == 0 ||
	    (!ru.ipv6 && strncmp(ru.host, "127.", 4) == 0 &&
	    strspn(ru.host, "0123456789.") == strlen(ru.host));
	if (!ru.tls && !loop)
		return SKP_ERR_FORMAT;
	if (outlen < 8 + n + 3)
		return SKP_ERR_TOO_LARGE;
	snprintf(out, outlen, "%s://%.*s/#", ru.tls ? "https" : "http",
	    (int)n, a);
	return SKP_OK;
}

int
skp_pairuri_web_ok(const char *relay)
{
	char pre[WEB_ORIGIN_MAX + 1];

	return relay != NULL && web_prefix(relay, strlen(relay), pre,
	    sizeof(pre)) == SKP_OK;
}

static int
encode_with(const struct skp_pairuri *u, int web, char *out, size_t outlen)
{
	char pre[WEB_ORIGIN_MAX + 1], url[SKP_RELAYURL_MAX + 1];
	skp_buf_t *b = NULL;
	char *k = NULL, *s = NULL, t[DEC_U64_MAX + 1];
	size_t rlen, nlen, i, nr;
	int rc;

	if (u == NULL || out == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	rlen = strnlen(u->relay, sizeof(u->relay));
	nlen = strnlen(u->name, sizeof(u->name));
	if ((rc = skp_p256_check_public(u->computer_pub)) != SKP_OK ||
	    (rc = skp_relaylist_check(u->relay, rlen, NULL)) != SKP_OK ||
	    (rc = skp_pairuri_check_name(u->name, nlen)) != SKP_OK)
		goto out;
	nr = skp_relaylist_count(u->relay);
	(void)skp_relaylist_get(u->relay, 0, url);
	if (web && (rc = web_prefix(url, strlen(url), pre, sizeof(pre))) !=
	    SKP_OK)
		goto out;
	if ((b = skp_buf_new(SKP_PAIRURI_MAX)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	snprintf(t, sizeof(t), "%" PRIu64, u->created);
	if ((rc = skp_b64url_encode(u->computer_pub, sizeof(u->computer_pub),
	    &k)) != SKP_OK ||
	    (rc = skp_b64url_encode(u->secret, sizeof(u->secret), &s)) !=
	    SKP_OK)
		goto out;
	if ((rc = web ? skp_buf_put(b, pre, strlen(pre)) :
	    skp_buf_put(b, URI_PREFIX, strlen(URI_PREFIX))) != SKP_OK ||
	    (rc = skp_buf_put(b, nr > 1 ? "v=3&k=" : "v=2&k=", 6)) !=
	    SKP_OK ||
	    (rc = skp_buf_put(b, k, strlen(k))) != SKP_OK ||
	    (rc = skp_buf_put(b, "&s=", 3)) != SKP_OK ||
	    (rc = skp_buf_put(b, s, strlen(s))) != SKP_OK)
		goto out;
	for (i = 0; i < nr; i++) {
		(void)skp_relaylist_get(u->relay, i, url);
		if ((rc = skp_buf_put(b, "&r=", 3)) != SKP_OK ||
		    (rc = pct_encode(b, url, strlen(url))) != SKP_OK)
			goto out;
	}
	if ((rc = skp_buf_put(b, "&n=", 3)) != SKP_OK ||
	    (rc = pct_encode(b, u->name, nlen)) != SKP_OK ||
	    (rc = skp_buf_put(b, "&t=", 3)) != SKP_OK ||
	    (rc = skp_buf_put(b, t, strlen(t))) != SKP_OK)
		goto out;
	if (skp_buf_len(b) >= outlen || skp_buf_len(b) > SKP_PAIRURI_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(out, skp_buf_ptr(b), skp_buf_len(b));
	out[skp_buf_len(b)] = '\0';
	rc = SKP_OK;
out:
	if (s != NULL) {
		skp_wipe(s, strlen(s));
		free(s);
	}
	free(k);
	skp_buf_free(&b);
	return rc;
}

int
skp_pairuri_encode(const struct skp_pairuri *u, char *out, size_t outlen)
{
	return encode_with(u, 0, out, outlen);
}

int
skp_pairuri_encode_web(const struct skp_pairuri *u, char *out, size_t outlen)
{
	return encode_with(u, 1, out, outlen);
}

/* A newer v wins over every other complaint: its grammar may differ. */
static int
is_newer_version(const struct span *v)
{
	return skp_pairuri_newer_version(v->p, v->len,
	    SKP_PAIRURI_VERSION_LIST);
}

/*
 * Split the query into the six known parameters, each exactly once but
 * r, which a v=3 URI repeats: its spans go to rs (*nr of them, at most
 * R_MAX; val[P_R] is the first).
 */
static int
split_query(const char *q, size_t n, struct span val[P_COUNT],
    struct span rs[R_MAX], size_t *nr)
{
	size_t i = 0, end, j;
	int seen[P_COUNT] = { 0 }, rc = SKP_OK;

	if (n == 0)
		return SKP_ERR_FORMAT;
	while (i <= n) {
		for (end = i; end < n && q[end] != '&'; end++)
			;
		/* "x=" with x one letter; anything else is unknown. */
		for (j = 0; j < P_COUNT; j++)
			if (end - i >= 2 && q[i] == pnames[j] &&
			    q[i + 1] == '=')
				break;
		if (j == P_R && seen[j] < R_MAX) {
			rs[seen[j]].p = q + i + 2;
			rs[seen[j]].len = end - i - 2;
		}
		if (j == P_COUNT || (seen[j]++ && j != P_R))
			rc = SKP_ERR_FORMAT;
		else if (seen[j] == 1) {
			val[j].p = q + i + 2;
			val[j].len = end - i - 2;
		}
		i = end + 1;
	}
	*nr = seen[P_R] > R_MAX ? R_MAX : (size_t)seen[P_R];
	/* One r with v=2, two to four with v=3 (checked by the caller). */
	if (seen[P_R] > R_MAX)
		rc = SKP_ERR_FORMAT;
	else if (seen[P_R] > 1)
		seen[P_R] = 1;
	if (seen[P_V] == 1 && is_newer_version(&val[P_V]))
		return SKP_ERR_VERSION;
	/* Protocol 1's URI: the computer must be updated, not the phone. */
	if (seen[P_V] == 1 && val[P_V].len == 1 && val[P_V].p[0] == '1')
		return SKP_ERR_OLD_VERSION;
	for (j = 0; j < P_COUNT; j++)
		if (seen[j] != 1)
			rc = SKP_ERR_FORMAT;
	return rc;
}

static int
decode_b64_exact(const struct span *s, uint8_t *out, size_t want)
{
	size_t got = 0;
	int rc;

	if ((rc = skp_b64url_decode(s->p, s->len, out, want, &got)) !=
	    SKP_OK)
		return rc == SKP_ERR_TOO_LARGE ? SKP_ERR_FORMAT : rc;
	if (got != want) {
		skp_wipe(out, want);
		return SKP_ERR_FORMAT;
	}
	return SKP_OK;
}

int
skp_pairuri_parse(const char *uri, size_t len, struct skp_pairuri *u)
{
	struct skp_pairuri t;
	struct span val[P_COUNT], rs[R_MAX];
	char pre[WEB_ORIGIN_MAX + 1], url[R_MAX][SKP_RELAYURL_MAX + 1];
	const char *hash;
	size_t plen = strlen(URI_PREFIX), rlen[R_MAX], nlen = 0, nr = 0, i;
	int rc, web, list;

	memset(&t, 0, sizeof(t));
	memset(val, 0, sizeof(val));
	memset(rs, 0, sizeof(rs));
	if (uri == NULL || u == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (len > SKP_PAIRURI_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	/*
	 * The web form: the same query after "#", behind the relay's own
	 * https:// (or loopback http://) origin, checked below against r.
	 */
	web = len >= 8 && (memcmp(uri, "https://", 8) == 0 ||
	    memcmp(uri, "http://", 7) == 0);
	if (web) {
		if ((hash = memchr(uri, '#', len)) == NULL) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		plen = (size_t)(hash - uri) + 1;
	} else if (len < plen || memcmp(uri, URI_PREFIX, plen) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = split_query(uri + plen, len - plen, val, rs, &nr)) !=
	    SKP_OK)
		goto out;
	list = val[P_V].len == 1 && val[P_V].p[0] == '3';
	if (val[P_V].len != 1 || (val[P_V].p[0] != '2' && !list) ||
	    (list ? nr < 2 : nr != 1) ||
	    val[P_K].len != B64_PUB_LEN || val[P_S].len != B64_SECRET_LEN) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = decode_b64_exact(&val[P_K], t.computer_pub,
	    sizeof(t.computer_pub))) != SKP_OK ||
	    (rc = decode_b64_exact(&val[P_S], t.secret,
	    sizeof(t.secret))) != SKP_OK)
		goto out;
	for (i = 0; i < nr; i++)
		if ((rc = pct_decode(&rs[i], url[i], SKP_RELAY_URL_MAX,
		    &rlen[i])) != SKP_OK)
			goto out;
	if ((rc = pct_decode(&val[P_N], t.name, SKP_NAME_MAX, &nlen)) !=
	    SKP_OK ||
	    (rc = parse_decimal(val[P_T].p, val[P_T].len, &t.created)) !=
	    SKP_OK)
		goto out;
	for (i = 0; i < nr; i++) {
		if ((rc = skp_pairuri_check_relay(url[i], rlen[i])) != SKP_OK)
			goto out;
		if (skp_relaylist_add(t.relay, sizeof(t.relay), url[i],
		    NULL) != SKP_OK) {
			rc = SKP_ERR_FORMAT;	/* the same URL twice */
			goto out;
		}
	}
	if ((rc = skp_pairuri_check_name(t.name, nlen)) != SKP_OK)
		goto out;
	/* One spelling: the start the encoder makes from r, byte for byte. */
	if (web && (web_prefix(url[0], rlen[0], pre, sizeof(pre)) != SKP_OK ||
	    strlen(pre) != plen || memcmp(pre, uri, plen) != 0)) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_p256_check_public(t.computer_pub)) != SKP_OK)
		goto out;
	memcpy(u, &t, sizeof(t));
	rc = SKP_OK;
out:
	skp_wipe(&t, sizeof(t));
	return rc;
}

int
skp_pairuri_check_fresh(const struct skp_pairuri *u, uint64_t now)
{
	if (u == NULL)
		return SKP_ERR_INVALID;
	if (u->created > now)
		return u->created - now > SKP_PAIRURI_MAX_AHEAD ?
		    SKP_ERR_EXPIRED : SKP_OK;
	return now - u->created > SKP_PAIRURI_MAX_AGE ?
	    SKP_ERR_EXPIRED : SKP_OK;
}

void
skp_pairuri_clear(struct skp_pairuri *u)
{
	skp_wipe(u, u != NULL ? sizeof(*u) : 0);
}

static int
hkdf_info(const uint8_t *ikm, size_t ikmlen, const char *info,
    uint8_t *out, size_t outlen)
{
	return skp_hkdf_sha256(NULL, 0, ikm, ikmlen, info, strlen(info), out,
	    outlen);
}

int
skp_pairuri_rendezvous_id(const uint8_t s[SKP_QR_SECRET_LEN],
    uint8_t out[SKP_RENDEZVOUS_ID_LEN])
{
	return hkdf_info(s, SKP_QR_SECRET_LEN, INFO_RENDEZVOUS, out,
	    SKP_RENDEZVOUS_ID_LEN);
}

int
skp_pairuri_pairing_psk(const uint8_t s[SKP_QR_SECRET_LEN],
    uint8_t out[SKP_PSK_LEN])
{
	return hkdf_info(s, SKP_QR_SECRET_LEN, INFO_PAIR_PSK, out,
	    SKP_PSK_LEN);
}

int
skp_pairuri_confirm_code(const uint8_t h[SKP_HANDSHAKE_HASH_LEN],
    uint32_t *code, char text[SKP_CONFIRM_CODE_LEN + 1])
{
	uint8_t b[4];
	uint32_t v;
	int rc;

	if ((rc = hkdf_info(h, SKP_HANDSHAKE_HASH_LEN, INFO_CONFIRM, b,
	    sizeof(b))) != SKP_OK)
		goto out;
	v = ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3]) % 1000000u;
	if (code != NULL)
		*code = v;
	if (text != NULL)
		snprintf(text, SKP_CONFIRM_CODE_LEN + 1, "%06" PRIu32, v);
out:
	skp_wipe(b, sizeof(b));
	return rc;
}

int
skp_pairuri_request_psk(const uint8_t h[SKP_HANDSHAKE_HASH_LEN],
    uint8_t out[SKP_PSK_LEN])
{
	return hkdf_info(h, SKP_HANDSHAKE_HASH_LEN, INFO_REQ_PSK, out,
	    SKP_PSK_LEN);
}

int
skp_pairuri_phone_id(const uint8_t pub[SKP_P256_PUB_LEN],
    uint8_t out[SKP_PHONE_ID_LEN])
{
	uint8_t d[SKP_SHA256_LEN];
	int rc;

	if ((rc = skp_sha256(pub, SKP_P256_PUB_LEN, d)) == SKP_OK)
		memcpy(out, d, SKP_PHONE_ID_LEN);
	return rc;
}

/* The URI's decimal (one spelling per number), for the transfer URI too. */
int
skp_pairuri_parse_decimal(const char *p, size_t n, uint64_t *out)
{
	return parse_decimal(p, n, out);
}

int
skp_pairuri_newer_version(const char *p, size_t n, uint64_t ours)
{
	uint64_t v;
	size_t i;

	if (n == 0 || (n > 1 && p[0] == '0'))
		return 0;
	for (i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return 0;
	/* Every well-formed number, however long, is one; too long for
	 * 64 bits is newer than any of ours. */
	return parse_decimal(p, n, &v) != SKP_OK || v > ours;
}
