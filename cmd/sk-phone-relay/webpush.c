/* Web Push for the relay: subscriptions, allow list, RFC 8291, VAPID. */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/store.h"

#include "webpush.h"

#define SUBS_DIR	"subs"
#define ID_HEX_LEN	64
#define SUB_FILE_MAX	(SKP_STORE_HEADER_LEN + WP_SUB_BODY_MAX + \
			    SKP_STORE_TRAILER_LEN)
#define KEY_FILE_MAX	4096
#define LOG_MAX		(2 * SKP_STORE_PATH_MAX + 512)

static void
log_stderr(const char *line)
{
	fprintf(stderr, "sk-phone-relay: %s\n", line);
}

static void (*wp_log_fn)(const char *) = log_stderr;

void
wp_set_log(void (*fn)(const char *))
{
	wp_log_fn = fn != NULL ? fn : log_stderr;
}

static void wp_log(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
wp_log(const char *fmt, ...)
{
	char line[LOG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	wp_log_fn(line);
}

static void
say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Subscriptions: the SUBSCRIBE body, also a file's payload. */

static int
printable(const void *s, size_t n)
{
	const uint8_t *p = s;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

static int
url_bytes_ok(const uint8_t *p, size_t n)
{
	return n >= WP_ENDPOINT_MIN && n <= WP_ENDPOINT_MAX && printable(p, n);
}

int
wp_sub_from_frame(const uint8_t *p, size_t n, struct wp_sub *sub)
{
	size_t ulen;

	if (p == NULL || sub == NULL || n < WP_SUB_BODY_MIN ||
	    n > WP_SUB_BODY_MAX)
		return -1;
	ulen = n - WP_KEY_LEN - WP_AUTH_LEN;
	if (!url_bytes_ok(p + WP_KEY_LEN + WP_AUTH_LEN, ulen) ||
	    skp_p256_check_public(p) != SKP_OK)
		return -1;
	memset(sub, 0, sizeof(*sub));
	memcpy(sub->p256dh, p, WP_KEY_LEN);
	memcpy(sub->auth, p + WP_KEY_LEN, WP_AUTH_LEN);
	memcpy(sub->endpoint, p + WP_KEY_LEN + WP_AUTH_LEN, ulen);
	sub->endpoint[ulen] = '\0';
	return 0;
}

size_t
wp_sub_encode(const struct wp_sub *sub, uint8_t *out, size_t cap)
{
	size_t ulen;

	if (sub == NULL || out == NULL)
		return 0;
	ulen = strnlen(sub->endpoint, sizeof(sub->endpoint));
	if (ulen > WP_ENDPOINT_MAX || cap < WP_KEY_LEN + WP_AUTH_LEN + ulen)
		return 0;
	memcpy(out, sub->p256dh, WP_KEY_LEN);
	memcpy(out + WP_KEY_LEN, sub->auth, WP_AUTH_LEN);
	memcpy(out + WP_KEY_LEN + WP_AUTH_LEN, sub->endpoint, ulen);
	return WP_KEY_LEN + WP_AUTH_LEN + ulen;
}

static int
sub_file_parse(const uint8_t *p, size_t n, struct wp_sub *sub,
    const char **reason)
{
	const uint8_t *payload = NULL;
	size_t plen = 0;
	int rc;

	if ((rc = skp_store_parse(p, n, &payload, &plen, NULL, 0)) != SKP_OK) {
		*reason = rc == SKP_ERR_VERSION ? "a newer format" :
		    "not a state file, or its checksum does not match";
		return -1;
	}
	if (wp_sub_from_frame(payload, plen, sub) != 0) {
		*reason = "not a subscription";
		return -1;
	}
	return 0;
}

int
wp_sub_file_parse(const uint8_t *p, size_t n, struct wp_sub *sub)
{
	const char *reason = "";

	if (p == NULL || sub == NULL)
		return -1;
	return sub_file_parse(p, n, sub, &reason);
}

/* Endpoints and origins. */

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* [a-z0-9-] labels of 1..63, dot separated; or an IPv4 address. */
static int
dns_name_ok(const char *h, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= '0' && h[i] <= '9') ||
		    (h[i] == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && h[n - 1] != '-';
}

/*
 * scheme://authority; *end is where the authority ends. host gets the
 * lower-cased host (brackets kept), *port the port or 0 when none.
 * wildcard: a leading "*." is allowed (and kept in host).
 */
static int
parse_origin(const char *s, int wildcard, int *tls, char *host,
    size_t hostcap, int *port, const char **end)
{
	const char *a, *e, *colon = NULL;
	char tmp[256], addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	size_t hn, i, skip = 0;
	long v;

	if (strncmp(s, "https://", 8) == 0) {
		*tls = 1;
		a = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		*tls = 0;
		a = s + 7;
	} else
		return -1;
	e = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(e - a)) != NULL)
		return -1;
	if (*a == '[') {
		const char *rb = memchr(a, ']', (size_t)(e - a));

		if (rb == NULL)
			return -1;
		hn = (size_t)(rb - a) + 1;
		if (rb + 1 < e) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
		if (hn - 2 > INET6_ADDRSTRLEN || hn < 3)
			return -1;
		memcpy(addr, a + 1, hn - 2);
		addr[hn - 2] = '\0';
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return -1;
	} else {
		colon = memchr(a, ':', (size_t)(e - a));
		hn = colon != NULL ? (size_t)(colon - a) : (size_t)(e - a);
	}
	if (hn == 0 || hn >= sizeof(tmp) || hn >= hostcap)
		return -1;
	for (i = 0; i < hn; i++)
		tmp[i] = lower(a[i]);
	tmp[hn] = '\0';
	if (tmp[0] != '[') {
		if (wildcard && hn > 2 && tmp[0] == '*' && tmp[1] == '.')
			skip = 2;
		if (!dns_name_ok(tmp + skip, hn - skip))
			return -1;
		/* All digits and dots: then it must be an IPv4 address. */
		if (strspn(tmp, "0123456789.") == hn &&
		    inet_pton(AF_INET, tmp, bin) != 1)
			return -1;
	}
	*port = 0;
	if (colon != NULL) {
		if (colon + 1 == e || (size_t)(e - colon - 1) > 5)
			return -1;
		v = 0;
		for (const char *c = colon + 1; c < e; c++) {
			if (*c < '0' || *c > '9')
				return -1;
			v = v * 10 + (*c - '0');
		}
		if (v < 1 || v > 65535)
			return -1;
		*port = (int)v;
	}
	memcpy(host, tmp, hn + 1);
	*end = e;
	return 0;
}

static void
make_origin(int tls, const char *host, int port, char *out, size_t cap)
{
	if (port == 0 || port == (tls ? 443 : 80))
		(void)snprintf(out, cap, "%s://%s", tls ? "https" : "http",
		    host);
	else
		(void)snprintf(out, cap, "%s://%s:%d", tls ? "https" : "http",
		    host, port);
}

int
wp_url_parse(const char *endpoint, struct wp_url *u)
{
	struct wp_url t;
	const char *end = NULL;
	size_t n;

	if (endpoint == NULL || u == NULL)
		return -1;
	n = strnlen(endpoint, WP_ENDPOINT_MAX + 1);
	if (!url_bytes_ok((const uint8_t *)endpoint, n))
		return -1;
	memset(&t, 0, sizeof(t));
	if (parse_origin(endpoint, 0, &t.tls, t.host, sizeof(t.host),
	    &t.port, &end) != 0 || *end != '/')
		return -1;
	if (t.port == 0)
		t.port = t.tls ? 443 : 80;
	make_origin(t.tls, t.host, t.port, t.origin, sizeof(t.origin));
	*u = t;
	return 0;
}

struct allow_entry {
	int	 tls;
	int	 wildcard;	/* host is the suffix after "*." */
	int	 port;		/* the effective port */
	char	 host[256];
};

struct wp_allow {
	struct allow_entry	e[WP_ALLOW_MAX];
	size_t			n;
};

#define ALLOW_FORMS "give https://HOST[:PORT], https://*.DOMAIN[:PORT], " \
	"or, for tests, http://127.0.0.1:PORT or http://[::1]:PORT"

int
wp_allow_add(struct wp_allow *a, const char *origin, char *err,
    size_t errlen)
{
	struct allow_entry t;
	const char *end = NULL;
	size_t n;
	int port = 0;

	say(err, errlen, "%s", "");
	if (a == NULL || origin == NULL) {
		say(err, errlen, "no push service origin given");
		return -1;
	}
	memset(&t, 0, sizeof(t));
	n = strnlen(origin, 301);
	if (n == 0 || n > 300 || !printable(origin, n)) {
		/* Not echoed: it may hold control bytes. */
		say(err, errlen, "a push service origin is 1 to 300 bytes "
		    "of printable ASCII, without spaces: " ALLOW_FORMS);
		return -1;
	}
	if (strncmp(origin, "https://", 8) != 0 &&
	    strncmp(origin, "http://", 7) != 0) {
		say(err, errlen, "\"%s\" does not start with https:// (or "
		    "http:// for a test service on loopback): " ALLOW_FORMS,
		    origin);
		return -1;
	}
	if (parse_origin(origin, 1, &t.tls, t.host, sizeof(t.host), &port,
	    &end) != 0) {
		say(err, errlen, "\"%s\" has no valid host and port (a name "
		    "of letters, digits, '-' and '.', an address, a port "
		    "1..65535; a '*.' only first): " ALLOW_FORMS, origin);
		return -1;
	}
	/* One trailing slash is forgiven: it is still the origin. */
	if (*end != '\0' && strcmp(end, "/") != 0) {
		say(err, errlen, "\"%s\" has a path or query: give the origin "
		    "alone: " ALLOW_FORMS, origin);
		return -1;
	}
	if (t.host[0] == '*') {
		if (!t.tls) {
			say(err, errlen, "\"%s\": a wildcard needs https: "
			    ALLOW_FORMS, origin);
			return -1;
		}
		if (strchr(t.host + 2, '.') == NULL) {
			say(err, errlen, "\"%s\": a wildcard needs a domain of "
			    "two labels or more (https://*.example.com, not "
			    "https://*.com): " ALLOW_FORMS, origin);
			return -1;
		}
		t.wildcard = 1;
		memmove(t.host, t.host + 2, strlen(t.host + 2) + 1);
	}
	if (!t.tls) {
		if (strcmp(t.host, "127.0.0.1") != 0 &&
		    strcmp(t.host, "[::1]") != 0) {
			say(err, errlen, "\"%s\": plain http goes only to "
			    "127.0.0.1 or [::1] (a test push service); a real "
			    "one needs https: " ALLOW_FORMS, origin);
			return -1;
		}
		if (port == 0) {
			say(err, errlen, "\"%s\": give the test service's port "
			    "(http://%s:PORT)", origin, t.host);
			return -1;
		}
	}
	t.port = port != 0 ? port : (t.tls ? 443 : 80);
	if (a->n >= WP_ALLOW_MAX) {
		say(err, errlen, "\"%s\": too many push service origins (at "
		    "most %d)", origin, WP_ALLOW_MAX);
		return -1;
	}
	a->e[a->n++] = t;
	return 0;
}

struct wp_allow *
wp_allow_new(void)
{
	static const char *const defaults[] = {
		"https://fcm.googleapis.com",
		"https://*.push.services.mozilla.com",
		"https://*.push.apple.com",
		"https://*.notify.windows.com",
	};
	struct wp_allow *a;
	size_t i;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (wp_allow_add(a, defaults[i], NULL, 0) != 0) {
			free(a);
			return NULL;
		}
	return a;
}

int
wp_allow_check(const struct wp_allow *a, const struct wp_url *u)
{
	const struct allow_entry *e;
	size_t i, hl, sl;

	if (a == NULL || u == NULL)
		return 0;
	hl = strnlen(u->host, sizeof(u->host));
	for (i = 0; i < a->n; i++) {
		e = &a->e[i];
		if (e->tls != u->tls || e->port != u->port)
			continue;
		if (!e->wildcard) {
			if (strcmp(e->host, u->host) == 0)
				return 1;
			continue;
		}
		/* Names under the domain only, not the domain itself. */
		sl = strlen(e->host);
		if (hl > sl + 1 && u->host[hl - sl - 1] == '.' &&
		    strcmp(u->host + hl - sl, e->host) == 0)
			return 1;
	}
	return 0;
}

void
wp_allow_free(struct wp_allow *a)
{
	free(a);
}

/* RFC 8291: the keys from ECDH and the auth secret, then RFC 8188. */

static int
aes128gcm_seal(const uint8_t key[16], const uint8_t nonce[12],
    const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int len = 0, rc = -1;

	if (ptlen > INT32_MAX)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &len, pt, (int)ptlen) != 1 ||
	    (size_t)len != ptlen ||
	    EVP_EncryptFinal_ex(ctx, out + len, &len) != 1 || len != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    out + ptlen) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
wp_encrypt_trace(const uint8_t p256dh[WP_KEY_LEN],
    const uint8_t auth[WP_AUTH_LEN], const uint8_t *plain, size_t plen,
    const uint8_t *salt16, const uint8_t *as_priv32, uint8_t *out,
    size_t outcap, size_t *outlen, struct wp_trace *trace)
{
	/* "WebPush: info" goes in with its NUL. */
	static const char key_label[] = "WebPush: info";
	static const char cek_label[] = "Content-Encoding: aes128gcm";
	static const char nonce_label[] = "Content-Encoding: nonce";
	struct skp_p256_key as;
	struct wp_trace t;
	uint8_t info[sizeof(key_label) + 2 * WP_KEY_LEN + 1];
	uint8_t label[64], salt[16], mac[SKP_SHA256_LEN];
	uint8_t *rec = NULL;
	size_t need, n;
	int rc = -1;

	memset(&as, 0, sizeof(as));
	memset(&t, 0, sizeof(t));
	if (p256dh == NULL || auth == NULL || (plain == NULL && plen > 0) ||
	    out == NULL || outlen == NULL || plen > WP_PLAIN_MAX)
		goto out;
	need = WP_HEADER_LEN + plen + 1 + 16;
	if (outcap < need || skp_p256_check_public(p256dh) != SKP_OK)
		goto out;
	if (salt16 != NULL)
		memcpy(salt, salt16, sizeof(salt));
	else if (skp_random(salt, sizeof(salt)) != SKP_OK)
		goto out;
	if ((as_priv32 != NULL ? skp_p256_from_private(as_priv32, &as) :
	    skp_p256_generate(&as)) != SKP_OK)
		goto out;
	/* ecdh_secret, then PRK_key = HMAC(auth, ecdh_secret). */
	if (skp_p256_ecdh(&as, p256dh, t.ecdh_secret) != SKP_OK ||
	    skp_hmac_sha256(auth, WP_AUTH_LEN, t.ecdh_secret,
	    sizeof(t.ecdh_secret), t.prk_key) != SKP_OK)
		goto out;
	/* IKM = HMAC(PRK_key, "WebPush: info" 0x00 ua_public as_public 0x01) */
	memcpy(info, key_label, sizeof(key_label));
	memcpy(info + sizeof(key_label), p256dh, WP_KEY_LEN);
	memcpy(info + sizeof(key_label) + WP_KEY_LEN, as.pub, WP_KEY_LEN);
	info[sizeof(info) - 1] = 0x01;
	if (skp_hmac_sha256(t.prk_key, sizeof(t.prk_key), info, sizeof(info),
	    t.ikm) != SKP_OK ||
	    skp_hmac_sha256(salt, sizeof(salt), t.ikm, sizeof(t.ikm),
	    t.prk) != SKP_OK)
		goto out;
	/* CEK and NONCE: one HKDF-Expand block each, cut to length. */
	memcpy(label, cek_label, sizeof(cek_label));
	label[sizeof(cek_label)] = 0x01;
	if (skp_hmac_sha256(t.prk, sizeof(t.prk), label,
	    sizeof(cek_label) + 1, mac) != SKP_OK)
		goto out;
	memcpy(t.cek, mac, sizeof(t.cek));
	memcpy(label, nonce_label, sizeof(nonce_label));
	label[sizeof(nonce_label)] = 0x01;
	if (skp_hmac_sha256(t.prk, sizeof(t.prk), label,
	    sizeof(nonce_label) + 1, mac) != SKP_OK)
		goto out;
	memcpy(t.nonce, mac, sizeof(t.nonce));
	/* The one (last) record: plaintext, delimiter 0x02, no padding. */
	if ((rec = malloc(plen + 1)) == NULL)
		goto out;
	if (plen > 0)
		memcpy(rec, plain, plen);
	rec[plen] = 0x02;
	memcpy(out, salt, 16);
	out[16] = (uint8_t)(WP_RS >> 24);
	out[17] = (uint8_t)(WP_RS >> 16);
	out[18] = (uint8_t)(WP_RS >> 8);
	out[19] = (uint8_t)WP_RS;
	out[20] = WP_KEY_LEN;
	memcpy(out + 21, as.pub, WP_KEY_LEN);
	if (aes128gcm_seal(t.cek, t.nonce, rec, plen + 1,
	    out + WP_HEADER_LEN) != 0)
		goto out;
	n = need;
	*outlen = n;
	if (trace != NULL)
		*trace = t;
	rc = 0;
out:
	if (rec != NULL) {
		skp_wipe(rec, plen + 1);
		free(rec);
	}
	skp_wipe(&as, sizeof(as));
	skp_wipe(&t, sizeof(t));
	skp_wipe(mac, sizeof(mac));
	skp_wipe(info, sizeof(info));
	return rc;
}

int
wp_encrypt(const uint8_t p256dh[WP_KEY_LEN], const uint8_t auth[WP_AUTH_LEN],
    const uint8_t *plain, size_t plen, const uint8_t *salt16,
    const uint8_t *as_priv32, uint8_t *out, size_t outcap, size_t *outlen)
{
	return wp_encrypt_trace(p256dh, auth, plain, plen, salt16, as_priv32,
	    out, outcap, outlen, NULL);
}

/* Files: read one of ours, with the checks and the messages. */

/*
 * Read path (at most cap bytes; one more is "too large") into a new
 * buffer. 1 when it does not exist, 0 read, -1 refused (err says why).
 */
static int
read_ours(const char *path, size_t cap, skp_buf_t **out, char *err,
    size_t errlen)
{
	uint8_t chunk[1024];
	struct stat st;
	skp_buf_t *b = NULL;
	size_t want;
	ssize_t r;
	int fd = -1, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			rc = 1;
		else if (errno == ELOOP)
			say(err, errlen, "%s is a symbolic link, which the "
			    "relay does not follow: replace it with the file "
			    "itself", path);
		else
			say(err, errlen, "cannot open %s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		say(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		say(err, errlen, "%s is not a regular file: remove it", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		say(err, errlen, "%s is owned by uid %lu, not by the relay's "
		    "user (uid %lu): run (as root) chown %lu %s", path,
		    (unsigned long)st.st_uid, (unsigned long)geteuid(),
		    (unsigned long)geteuid(), path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		say(err, errlen, "%s is open to other users (mode %04o): run "
		    "chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((b = skp_buf_new(cap + 1)) == NULL) {
		say(err, errlen, "out of memory reading %s", path);
		goto out;
	}
	/* One byte past cap is enough to tell the file is too large. */
	while ((want = cap + 1 - skp_buf_len(b)) > 0) {
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		r = read(fd, chunk, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			say(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (skp_buf_put(b, chunk, (size_t)r) != SKP_OK) {
			say(err, errlen, "out of memory reading %s", path);
			goto out;
		}
	}
	*out = b;
	b = NULL;
	rc = 0;
out:
	skp_wipe(chunk, sizeof(chunk));
	skp_buf_free(&b);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* dir and name of path; name must be a state file name. */
static int
split_path(const char *path, char *dir, size_t dircap, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t dl;

	if (slash == NULL) {
		if (dircap < 2)
			return -1;
		memcpy(dir, ".", 2);
		*name = path;
	} else {
		dl = slash == path ? 1 : (size_t)(slash - path);
		if (dl >= dircap)
			return -1;
		memcpy(dir, path, dl);
		dir[dl] = '\0';
		*name = slash + 1;
	}
	return **name != '\0' && strlen(*name) <= SKP_STORE_NAME_MAX &&
	    strspn(*name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-") == strlen(*name) ? 0 : -1;
}

/* VAPID (RFC 8292). */

struct wp_vapid {
	struct skp_p256_key	key;
};

int
wp_vapid_open(const char *path, struct wp_vapid **vp, char *err,
    size_t errlen)
{
	char dir[SKP_STORE_PATH_MAX], why[SKP_STORE_WHY_MAX];
	const char *name = NULL;
	struct wp_vapid *v = NULL;
	const uint8_t *payload = NULL;
	skp_buf_t *b = NULL;
	uint8_t *enc = NULL;
	size_t plen = 0, enclen = 0;
	int tries, r, rc = -1;

	say(err, errlen, "%s", "");
	if (vp == NULL || path == NULL) {
		say(err, errlen, "no VAPID key file given");
		goto out;
	}
	*vp = NULL;
	if (split_path(path, dir, sizeof(dir), &name) != 0) {
		say(err, errlen, "%s: a VAPID key file's name is letters, "
		    "digits, '_' and '-' (and the path shorter than %d)", path,
		    SKP_STORE_PATH_MAX);
		goto out;
	}
	if (skp_store_dir_check(dir, 1, why, sizeof(why)) != SKP_OK) {
		say(err, errlen, "the VAPID key's folder: %s", why);
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		say(err, errlen, "out of memory");
		goto out;
	}
	/* Twice at most: another relay may make the key between the two. */
	for (tries = 0; tries < 2; tries++) {
		if ((r = read_ours(path, KEY_FILE_MAX, &b, err, errlen)) < 0)
			goto out;
		if (r == 0)
			break;
		if (skp_p256_generate(&v->key) != SKP_OK ||
		    skp_store_identity_encode(&v->key, &enc, &enclen) !=
		    SKP_OK) {
			say(err, errlen, "cannot make a VAPID key");
			goto out;
		}
		r = skp_store_write(dir, name, enc, enclen, SKP_STORE_NOREPLACE,
		    why, sizeof(why));
		skp_wipe(enc, enclen);
		free(enc);
		enc = NULL;
		if (r == SKP_OK) {
			*vp = v;
			v = NULL;
			rc = 0;
			goto out;
		}
		if (r != SKP_ERR_EXISTS) {
			say(err, errlen, "cannot save the new VAPID key: %s",
			    why);
			goto out;
		}
	}
	if (b == NULL) {
		say(err, errlen, "%s keeps changing: is another relay making "
		    "it?", path);
		goto out;
	}
	if (skp_store_parse(skp_buf_ptr(b), skp_buf_len(b), &payload, &plen,
	    NULL, 0) != SKP_OK ||
	    skp_store_identity_decode(payload, plen, &v->key) != SKP_OK) {
		say(err, errlen, "%s is not a VAPID key of sk-phone-relay "
		    "(damaged, or another file): move it away or remove it "
		    "(rm %s) and start again: the relay makes a new key, and "
		    "every web phone must turn push on again", path, path);
		goto out;
	}
	*vp = v;
	v = NULL;
	rc = 0;
out:
	skp_buf_free(&b);
	wp_vapid_free(v);
	return rc;
}

void
wp_vapid_pub(const struct wp_vapid *v, uint8_t out[WP_KEY_LEN])
{
	if (v != NULL && out != NULL)
		memcpy(out, v->key.pub, WP_KEY_LEN);
}

static int
json_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* base64url of p into out (NUL-terminated); its length, or 0 if short. */
static size_t
b64url_into(const void *p, size_t n, char *out, size_t cap)
{
	char *s = NULL;
	size_t len;

	if (skp_b64url_encode(p, n, &s) != SKP_OK)
		return 0;
	len = strlen(s);
	if (len + 1 > cap) {
		free(s);
		return 0;
	}
	memcpy(out, s, len + 1);
	free(s);
	return len;
}

int
wp_vapid_auth(const struct wp_vapid *v, const char *aud, const char *sub,
    int64_t now, char *out, size_t cap)
{
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	char claims[WP_AUTH_HDR_MAX], tok[WP_AUTH_HDR_MAX];
	uint8_t sig[SKP_P256_RAW_SIG_LEN];
	size_t n, m;
	int k, rc = -1;

	if (v == NULL || aud == NULL || out == NULL || !json_text_ok(aud) ||
	    (sub != NULL && !json_text_ok(sub)) || now < 0 ||
	    now > INT64_MAX - WP_JWT_LIFE_S)
		goto out;
	if (sub != NULL)
		k = snprintf(claims, sizeof(claims),
		    "{\"aud\":\"%s\",\"exp\":%" PRId64 ",\"sub\":\"%s\"}", aud,
		    now + WP_JWT_LIFE_S, sub);
	else
		k = snprintf(claims, sizeof(claims),
		    "{\"aud\":\"%s\",\"exp\":%" PRId64 "}", aud,
		    now + WP_JWT_LIFE_S);
	if (k < 0 || (size_t)k >= sizeof(claims))
		goto out;
	/* header.claims, signed, then .signature */
	if ((n = b64url_into(header, sizeof(header) - 1, tok,
	    sizeof(tok))) == 0 || n + 1 >= sizeof(tok))
		goto out;
	tok[n++] = '.';
	if ((m = b64url_into(claims, (size_t)k, tok + n,
	    sizeof(tok) - n)) == 0)
		goto out;
	n += m;
	if (skp_p256_sign_raw(&v->key, tok, n, sig) != SKP_OK ||
	    n + 1 >= sizeof(tok))
		goto out;
	tok[n++] = '.';
	if ((m = b64url_into(sig, sizeof(sig), tok + n, sizeof(tok) - n)) ==
	    0)
		goto out;
	if ((size_t)snprintf(out, cap, "vapid t=%s, k=", tok) >= cap)
		goto out;
	n = strlen(out);
	if (b64url_into(v->key.pub, WP_KEY_LEN, out + n, cap - n) == 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && out != NULL && cap > 0)
		out[0] = '\0';
	return rc;
}

void
wp_vapid_free(struct wp_vapid *v)
{
	if (v == NULL)
		return;
	skp_wipe(v, sizeof(*v));
	free(v);
}

/* The subscription store. */

struct store_entry {
	uint8_t		 id[32];
	struct wp_sub	 sub;
};

struct wp_store {
	char			 dir[SKP_STORE_PATH_MAX];	/* DIR/subs */
	struct store_entry	*e;	/* sorted by id */
	size_t			 n, cap, max;
};

/* The index of id, or where it goes (*found 0). */
static size_t
store_find(const struct wp_store *s, const uint8_t id[32], int *found)
{
	size_t lo = 0, hi = s->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(s->e[mid].id, id, 32);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
store_insert(struct wp_store *s, size_t at, const uint8_t id[32],
    const struct wp_sub *sub)
{
	struct store_entry *ne;
	size_t nc;

	if (s->n == s->cap) {
		nc = s->cap == 0 ? 16 : s->cap * 2;
		if (nc > s->max)
			nc = s->max;
		if (nc <= s->n || (ne = realloc(s->e, nc * sizeof(*ne))) ==
		    NULL)
			return -1;
		s->e = ne;
		s->cap = nc;
	}
	memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof(*s->e));
	memcpy(s->e[at].id, id, 32);
	s->e[at].sub = *sub;
	s->n++;
	return 0;
}

static int
hex_id(const char *name, uint8_t id[32])
{
	if (strlen(name) != ID_HEX_LEN ||
	    strspn(name, "0123456789abcdef") != ID_HEX_LEN)
		return -1;
	return skp_unhex(name, id, 32) == SKP_OK ? 0 : -1;
}

static void
store_load_one(struct wp_store *s, const char *name)
{
	char path[SKP_STORE_PATH_MAX + 320], err[WP_ERR_MAX + 2 *
	    SKP_STORE_PATH_MAX] = "";
	struct wp_sub sub;
	const char *reason = "";
	skp_buf_t *b = NULL;
	uint8_t id[32];
	size_t at;
	int found;

	(void)snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if (hex_id(name, id) != 0) {
		wp_log("push: skipped %s: not a subscription file (the name "
		    "is not a mailbox id): remove it", path);
		goto out;
	}
	if (read_ours(path, SUB_FILE_MAX, &b, err, sizeof(err)) != 0) {
		wp_log("push: skipped %s: %s", path, b == NULL && err[0] ==
		    '\0' ? "gone" : err);
		goto out;
	}
	if (sub_file_parse(skp_buf_ptr(b), skp_buf_len(b), &sub,
	    &reason) != 0) {
		wp_log("push: skipped %s: damaged (%s): remove it (rm %s); "
		    "the phone gives its subscription again when it next "
		    "connects with push on", path, reason, path);
		goto out;
	}
	at = store_find(s, id, &found);
	if (s->n >= s->max || store_insert(s, at, id, &sub) != 0)
		wp_log("push: skipped %s: the relay keeps at most %zu "
		    "subscriptions", path, s->max);
out:
	skp_wipe(&sub, sizeof(sub));
	skp_buf_free(&b);
}

int
wp_store_open(const char *dir, size_t max, struct wp_store **sp, char *err,
    size_t errlen)
{
	char why[SKP_STORE_WHY_MAX];
	struct wp_store *s = NULL;
	struct dirent *de;
	DIR *d = NULL;
	int k, rc = -1;

	say(err, errlen, "%s", "");
	if (sp == NULL || dir == NULL || max == 0) {
		say(err, errlen, "no push folder given");
		goto out;
	}
	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		say(err, errlen, "out of memory");
		goto out;
	}
	s->max = max;
	k = snprintf(s->dir, sizeof(s->dir), "%s/%s", dir, SUBS_DIR);
	if (k < 0 || (size_t)k >= sizeof(s->dir)) {
		say(err, errlen, "the push folder's path is too long");
		goto out;
	}
	if (skp_store_dir_check(dir, 1, why, sizeof(why)) != SKP_OK ||
	    skp_store_dir_check(s->dir, 1, why, sizeof(why)) != SKP_OK) {
		say(err, errlen, "the push folder: %s", why);
		goto out;
	}
	if ((d = opendir(s->dir)) == NULL) {
		say(err, errlen, "cannot read the folder %s: %s", s->dir,
		    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		/* . and .., and the temporary files of an atomic write. */
		if (de->d_name[0] == '.')
			continue;
		store_load_one(s, de->d_name);
	}
	*sp = s;
	s = NULL;
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	wp_store_free(s);
	return rc;
}

const struct wp_sub *
wp_store_get(const struct wp_store *s, const uint8_t id[32])
{
	size_t at;
	int found;

	if (s == NULL || id == NULL)
		return NULL;
	at = store_find(s, id, &found);
	return found ? &s->e[at].sub : NULL;
}

int
wp_store_put(struct wp_store *s, const uint8_t id[32],
    const struct wp_sub *sub)
{
	char name[ID_HEX_LEN + 1], why[SKP_STORE_WHY_MAX];
	uint8_t body[WP_SUB_BODY_MAX];
	size_t at, n;
	int found, rc = -2;

	if (s == NULL || id == NULL || sub == NULL)
		return -2;
	at = store_find(s, id, &found);
	if (!found && s->n >= s->max)
		return -1;
	if (found && strcmp(s->e[at].sub.endpoint, sub->endpoint) == 0 &&
	    memcmp(s->e[at].sub.p256dh, sub->p256dh, WP_KEY_LEN) == 0 &&
	    memcmp(s->e[at].sub.auth, sub->auth, WP_AUTH_LEN) == 0)
		return 0;
	if ((n = wp_sub_encode(sub, body, sizeof(body))) == 0) {
		wp_log("push: cannot save a subscription: its endpoint is too "
		    "long");
		goto out;
	}
	skp_hex(id, 32, name);
	if (skp_store_write(s->dir, name, body, n, 0, why, sizeof(why)) !=
	    SKP_OK) {
		wp_log("push: cannot save a subscription: %s", why);
		goto out;
	}
	if (found)
		s->e[at].sub = *sub;
	else if (store_insert(s, at, id, sub) != 0) {
		/* The file is there: the next start loads it. */
		wp_log("push: out of memory for a subscription");
		goto out;
	}
	rc = 0;
out:
	skp_wipe(body, sizeof(body));
	return rc;
}

int
wp_store_del(struct wp_store *s, const uint8_t id[32], const char *endpoint)
{
	char name[ID_HEX_LEN + 1], why[SKP_STORE_WHY_MAX];
	size_t at;
	int found, k, rc = 0;

	if (s == NULL || id == NULL)
		return 1;
	at = store_find(s, id, &found);
	if (!found || (endpoint != NULL &&
	    strcmp(s->e[at].sub.endpoint, endpoint) != 0))
		return 1;
	skp_hex(id, 32, name);
	if ((k = skp_store_remove(s->dir, name, why, sizeof(why))) != SKP_OK &&
	    k != SKP_ERR_NOT_FOUND) {
		wp_log("push: cannot remove a subscription's file: %s", why);
		rc = -2;
	}
	skp_wipe(&s->e[at], sizeof(s->e[at]));
	memmove(&s->e[at], &s->e[at + 1], (s->n - at - 1) * sizeof(*s->e));
	s->n--;
	return rc;
}

size_t
wp_store_count(const struct wp_store *s)
{
	return s != NULL ? s->n : 0;
}

void
wp_store_free(struct wp_store *s)
{
	if (s == NULL)
		return;
	if (s->e != NULL) {
		skp_wipe(s->e, s->cap * sizeof(*s->e));
		free(s->e);
	}
	skp_wipe(s, sizeof(*s));
	free(s);
}

/* The payload the service worker reads. */

int
wp_payload(const uint8_t *msg, size_t len, char *out, size_t cap,
    size_t *outlen)
{
	static const char pre[] = "{\"v\":2,\"call\":\"";
	static const char post[] = "\"}";
	static const char none[] = "{\"v\":2,\"call\":null}";
	size_t b64len, total;

	if ((msg == NULL && len > 0) || out == NULL || outlen == NULL)
		return -1;
	b64len = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	total = sizeof(pre) - 1 + b64len + sizeof(post) - 1;
	if (len > WP_PAYLOAD_MAX || total > WP_PAYLOAD_MAX) {
		if (cap < sizeof(none))
			return -1;
		memcpy(out, none, sizeof(none));
		*outlen = sizeof(none) - 1;
		return 0;
	}
	if (cap < total + 1)
		return -1;
	memcpy(out, pre, sizeof(pre) - 1);
	if (b64url_into(msg, len, out + sizeof(pre) - 1,
	    cap - (sizeof(pre) - 1)) != b64len)
		return -1;
	memcpy(out + sizeof(pre) - 1 + b64len, post, sizeof(post));
	*outlen = total;
	return 0;
}
