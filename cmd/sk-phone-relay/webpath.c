/* sk-phone-relay: what a web request names and whether its copy is fresh. */
/*
 * No libwebsockets here: these take the request's strings as lws hands
 * them over (the path already %-decoded, "/./" and "/../" folded) and are
 * fuzzed alone (test/fuzz/fuzz_relay_web.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "relayd.h"

/*
 * A segment is a plain file or folder name: letters, digits and -_.~@+,
 * not starting with a dot (no "..", no hidden files). Anything else, an
 * empty segment or a NUL inside the path, names nothing we serve.
 */
static int
seg_ok(const char *s, size_t n)
{
	size_t i;
	char ch;

	if (n == 0 || n > RELAYD_WEB_SEG_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~' || ch == '@' || ch == '+'))
			return 0;
	}
	return 1;
}

int
relayd_web_path(const char *uri, size_t len, char *out, size_t outlen)
{
	const char *s, *e, *end = uri + len;
	size_t n = 0, k;
	int depth = 0;

	if (len == 0 || uri[0] != '/' || memchr(uri, '\0', len) != NULL ||
	    outlen == 0)
		return -1;
	s = uri + 1;
	while (s < end) {
		if ((e = memchr(s, '/', (size_t)(end - s))) == NULL)
			e = end;
		k = (size_t)(e - s);
		if (!seg_ok(s, k) || ++depth > RELAYD_WEB_DEPTH_MAX ||
		    n + k + 1 >= outlen)
			return -1;
		memcpy(out + n, s, k);
		n += k;
		if (e == end)
			break;
		out[n++] = '/';
		s = e + 1;
	}
	/* "/" and "/dir/" are the folder's index.html; no listings. */
	if (n == 0 || out[n - 1] == '/') {
		if (n + sizeof("index.html") > outlen)
			return -1;
		memcpy(out + n, "index.html", sizeof("index.html"));
		return 0;
	}
	out[n] = '\0';
	return 0;
}

static const char *
ext_of(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');

	if (dot == NULL || (slash != NULL && dot < slash))
		return "";
	return dot + 1;
}

const char *
relayd_web_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "json", "application/json" },
		{ "webmanifest", "application/manifest+json" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "ico", "image/vnd.microsoft.icon" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "map", "application/json" },
	};
	const char *x = ext_of(path);
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(x, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

void
relayd_web_etag(uint64_t size, int64_t mtime_s, long mtime_ns,
    char out[RELAYD_WEB_ETAG_LEN])
{
	snprintf(out, RELAYD_WEB_ETAG_LEN, "\"%llx-%llx-%lx\"",
	    (unsigned long long)size, (unsigned long long)mtime_s,
	    (unsigned long)mtime_ns);
}

/* RFC 9110 13.1.2: a list of entity tags, weak comparison, or "*". */
static int
etag_listed(const char *list, size_t len, const char *etag)
{
	const char *p = list, *end = list + len, *q;
	size_t elen = strlen(etag);

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end)
			return 0;
		if (*p == '*')
			return 1;
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		if (p == end || *p != '"')
			return 0;
		if ((q = memchr(p + 1, '"', (size_t)(end - p - 1))) == NULL)
			return 0;
		if ((size_t)(q + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		p = q + 1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p != ',')
			return 0;
	}
}

static int
num(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"), what browsers send. */
int
relayd_web_parse_date(const char *s, size_t len, int64_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char days[] = "SunMonTueWedThuFriSat";
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	char back[RELAYD_WEB_DATE_LEN];
	struct tm tm;
	const char *m;
	int day, year, hh, mm, ss;
	time_t t;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -1;
	for (m = days; *m != '\0'; m += 3)
		if (memcmp(s, m, 3) == 0)
			break;
	if (*m == '\0')
		return -1;
	for (m = months; *m != '\0'; m += 3)
		if (memcmp(s + 8, m, 3) == 0)
			break;
	if (*m == '\0' || num(s + 5, 2, &day) != 0 ||
	    num(s + 12, 4, &year) != 0 || num(s + 17, 2, &hh) != 0 ||
	    num(s + 20, 2, &mm) != 0 || num(s + 23, 2, &ss) != 0 ||
	    day < 1 || day > mdays[(m - months) / 3] || year < 1970 ||
	    hh > 23 || mm > 59 || ss > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	/* A day that does not exist, or the wrong weekday: not a date. */
	relayd_web_date((int64_t)t, back);
	if (memcmp(back, s, len) != 0 || back[len] != '\0')
		return -1;
	*out = (int64_t)t;
	return 0;
}

void
relayd_web_date(int64_t t, char out[RELAYD_WEB_DATE_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, RELAYD_WEB_DATE_LEN, "%a, %d %b %Y %H:%M:%S GMT",
	    &tm) == 0)
		out[0] = '\0';
}

int
relayd_web_fresh(const char *inm, size_t inmlen, const char *ims,
    size_t imslen, const char *etag, int64_t mtime)
{
	int64_t since;

	/* If-None-Match decides alone when there is one (RFC 9110 13.2.2). */
	if (inm != NULL)
		return etag_listed(inm, inmlen, etag);
	if (ims != NULL && relayd_web_parse_date(ims, imslen, &since) == 0)
		return mtime <= since;
	return 0;
}

/*
 * The Host header, when it is a plain host[:port] or [v6]:port, for the
 * page's connect-src; anything else (it is the client's to write) is not
 * put in a header.
 */
int
relayd_web_host_ok(const char *h, size_t len)
{
	size_t i;
	char ch;

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++) {
		ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == ':' || ch == '[' || ch == ']'))
			return 0;
	}
	return 1;
}
