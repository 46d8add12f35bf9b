/* sk-phone-relay: the web phone's files, on the websocket's own origin. */
/*
 * libwebsockets.h names OpenSSL types that OPENSSL_NO_DEPRECATED hides
 * (RSA); this file calls no OpenSSL function itself.
 */
#undef OPENSSL_NO_DEPRECATED

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "relayd.h"

/*
 * Files are read a chunk per writable callback, so a connection holds at
 * most one chunk whatever the file's size; a file over the cap is not
 * served at all (the web phone is a few hundred KiB).
 */
#define WEB_CHUNK	16384
#define WEB_FILE_MAX	(32u * 1024 * 1024)
#define WEB_HDR_MAX	2048

/* One response in progress. */
struct relayd_web {
	int		 fd;
	uint64_t	 left;
};

static struct {
	int		 dirfd;		/* -1: no web phone */
	int		 tls;
	uint32_t	 idle_s;
	uint8_t		 buf[LWS_PRE + WEB_CHUNK];
} W = { -1, 0, 0, { 0 } };

/*
 * Every file is "no-cache": used only after a revalidation (a 304 makes
 * that cheap). The page, its service worker and its manifest must be, so
 * that a new version is seen at once; the other files have no content
 * hash in their names, so a cached one could be older than the page
 * that loads it.
 */
static const char perm_policy[] =
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), "
    "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "midi=(), payment=(), usb=(), serial=(), hid=()";

int
relayd_web_init(const struct relayd_conf *c)
{
	struct stat st;

	W.dirfd = -1;
	W.tls = c->tls_cert != NULL;
	W.idle_s = c->idle_s;
	if (c->web_dir == NULL)
		return 0;
	if ((W.dirfd = open(c->web_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0 || fstat(W.dirfd, &st) != 0) {
		if (W.dirfd >= 0)
			close(W.dirfd);
		W.dirfd = -1;
		if (c->web_default && errno == ENOENT) {
			relayd_log("no web phone: %s does not exist (install "
			    "it there, or give --web DIR)", c->web_dir);
			return 0;
		}
		relayd_log("--web %s: %s", c->web_dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
relayd_web_on(void)
{
	return W.dirfd >= 0;
}

void
relayd_web_fini(void)
{
	if (W.dirfd >= 0)
		close(W.dirfd);
	W.dirfd = -1;
}

static void
web_end(struct relayd_web **slot)
{
	struct relayd_web *w = *slot;

	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	*slot = NULL;
}

/*
 * Walk the path one name at a time from the web folder, never following
 * a symbolic link (O_NOFOLLOW on each step): a link anywhere, even one
 * pointing inside, is not served. O_NONBLOCK: a FIFO must not hang us.
 */
static int
open_beneath(const char *rel, struct stat *st)
{
	char path[RELAYD_WEB_PATH_MAX], *s, *slash;
	int dfd = W.dirfd, fd = -1, nfd;

	if (strlen(rel) >= sizeof(path))
		return -1;
	memcpy(path, rel, strlen(rel) + 1);
	s = path;
	while ((slash = strchr(s, '/')) != NULL) {
		*slash = '\0';
		nfd = openat(dfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (dfd != W.dirfd)
			close(dfd);
		if (nfd < 0)
			return -1;
		dfd = nfd;
		s = slash + 1;
	}
	fd = openat(dfd, s, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (dfd != W.dirfd)
		close(dfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
add(struct lws *wsi, const char *name, const char *value, unsigned char **p,
    unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
	    (const unsigned char *)value, (int)strlen(value), p, end);
}

/*
 * The headers every answer carries. connect-src names the websocket of
 * this origin outright: older browsers do not count ws: under 'self'.
 */
static int
common_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	char host[256], csp[768];
	int n;

	host[0] = '\0';
	n = lws_hdr_total_length(wsi, WSI_TOKEN_HOST);
	if (n > 0 && n < (int)sizeof(host) &&
	    lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) == n &&
	    !relayd_web_host_ok(host, (size_t)n))
		host[0] = '\0';
	snprintf(csp, sizeof(csp), "default-src 'self'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data:; connect-src 'self'%s%s; "
	    "worker-src 'self'; manifest-src 'self'; object-src 'none'; "
	    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
	    host[0] != '\0' ? (W.tls ? " wss://" : " ws://") : "", host);
	return add(wsi, "content-security-policy:", csp, p, end) ||
	    add(wsi, "x-content-type-options:", "nosniff", p, end) ||
	    add(wsi, "referrer-policy:", "no-referrer", p, end) ||
	    add(wsi, "cross-origin-opener-policy:", "same-origin", p, end) ||
	    add(wsi, "cross-origin-embedder-policy:", "require-corp", p,
	    end) ||
	    add(wsi, "cross-origin-resource-policy:", "same-origin", p, end) ||
	    add(wsi, "x-frame-options:", "DENY", p, end) ||
	    add(wsi, "permissions-policy:", perm_policy, p, end);
}

/* A short answer with no file behind it (404, 405, 503): then done. */
static int
reply_error(struct lws *wsi, unsigned int code, int head)
{
	static const char body404[] = "not found\n",
	    body405[] = "only GET and HEAD\n",
	    body503[] = "the relay is busy: try again later\n";
	unsigned char hdr[LWS_PRE + WEB_HDR_MAX], *start = hdr + LWS_PRE,
	    *p = start, *end = hdr + sizeof(hdr) - 1;
	const char *body = code == 404 ? body404 : code == 405 ? body405 :
	    body503;
	size_t blen = strlen(body);

	if (lws_add_http_header_status(wsi, code, &p, end) ||
	    common_headers(wsi, &p, end) ||
	    add(wsi, "content-type:", "text/plain; charset=utf-8", &p, end) ||
	    add(wsi, "cache-control:", "no-store", &p, end) ||
	    (code == 405 && add(wsi, "allow:", "GET, HEAD", &p, end)) ||
	    lws_add_http_header_content_length(wsi, head ? 0 : blen, &p,
	    end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (!head) {
		memcpy(W.buf + LWS_PRE, body, blen);
		if (lws_write(wsi, W.buf + LWS_PRE, blen,
		    LWS_WRITE_HTTP_FINAL) != (int)blen)
			return -1;
	}
	/* A 405 may leave a body unread behind it: close, do not parse it. */
	if (code != 200 && code != 404)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
hdr_dup(struct lws *wsi, enum lws_token_indexes t, char *out, size_t cap,
    size_t *len)
{
	int n = lws_hdr_total_length(wsi, t);

	if (n <= 0 || (size_t)n >= cap ||
	    lws_hdr_copy(wsi, out, (int)cap, t) != n)
		return 0;
	*len = (size_t)n;
	return 1;
}

static int
on_request(struct lws *wsi, struct relayd_web **slot, const char *uri,
    size_t len, int busy)
{
	unsigned char hdr[LWS_PRE + WEB_HDR_MAX], *start = hdr + LWS_PRE,
	    *p = start, *end = hdr + sizeof(hdr) - 1;
	char rel[RELAYD_WEB_PATH_MAX], etag[RELAYD_WEB_ETAG_LEN],
	    date[RELAYD_WEB_DATE_LEN], inm[512], ims[64];
	size_t inml = 0, imsl = 0;
	struct relayd_web *w;
	struct stat st;
	int head, fd, fresh, have_inm, have_ims;

	web_end(slot);
	head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	if (W.dirfd < 0)
		return reply_error(wsi, 404, head);
	if (!head && lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return reply_error(wsi, 405, 0);
	if (busy)
		return reply_error(wsi, 503, head);
	if (relayd_web_path(uri, len, rel, sizeof(rel)) != 0 ||
	    (fd = open_beneath(rel, &st)) < 0)
		return reply_error(wsi, 404, head);
	if ((uint64_t)st.st_size > WEB_FILE_MAX) {
		close(fd);
		relayd_refusal("web: %s not served: over %u bytes", rel,
		    WEB_FILE_MAX);
		return reply_error(wsi, 404, head);
	}
	relayd_web_etag((uint64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec, etag);
	relayd_web_date((int64_t)st.st_mtim.tv_sec, date);
	have_inm = hdr_dup(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, inm,
	    sizeof(inm), &inml);
	have_ims = hdr_dup(wsi, WSI_TOKEN_HTTP_IF_MODIFIED_SINCE, ims,
	    sizeof(ims), &imsl);
	fresh = relayd_web_fresh(have_inm ? inm : NULL, inml,
	    have_ims ? ims : NULL, imsl, etag, (int64_t)st.st_mtim.tv_sec);
	if (lws_add_http_header_status(wsi, fresh ? 304 : 200, &p, end) ||
	    common_headers(wsi, &p, end) ||
	    add(wsi, "content-type:", relayd_web_type(rel), &p, end) ||
	    add(wsi, "cache-control:", "no-cache", &p, end) ||
	    add(wsi, "etag:", etag, &p, end) ||
	    (date[0] != '\0' && add(wsi, "last-modified:", date, &p, end)) ||
	    (!fresh && lws_add_http_header_content_length(wsi,
	    (lws_filepos_t)st.st_size, &p, end)) ||
	    (fresh && lws_add_http_header_content_length(wsi, 0, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end)) {
		close(fd);
		return -1;
	}
	if (fresh || head || st.st_size == 0) {
		close(fd);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		close(fd);
		return -1;
	}
	w->fd = fd;
	w->left = (uint64_t)st.st_size;
	*slot = w;
	lws_callback_on_writable(wsi);
	return 0;
}

/* One chunk per callback: lws holds what the socket did not take. */
static int
on_writable(struct lws *wsi, struct relayd_web **slot)
{
	struct relayd_web *w = *slot;
	size_t want;
	ssize_t n;
	int last;

	if (w == NULL)
		return 0;
	want = w->left < WEB_CHUNK ? (size_t)w->left : WEB_CHUNK;
	n = read(w->fd, W.buf + LWS_PRE, want);
	if (n <= 0) {
		/* Shrunk under us: the length is promised, so close. */
		web_end(slot);
		return -1;
	}
	w->left -= (uint64_t)n;
	last = w->left == 0;
	if (lws_write(wsi, W.buf + LWS_PRE, (size_t)n, last ?
	    LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n) {
		web_end(slot);
		return -1;
	}
	if (!last) {
		/* A reader that stops reading is cut like an idle one. */
		lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
		    (int)W.idle_s);
		lws_callback_on_writable(wsi);
		return 0;
	}
	web_end(slot);
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int
relayd_web_cb(struct lws *wsi, int reason, struct relayd_web **slot,
    void *in, size_t len, int busy)
{
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_request(wsi, slot, in, len, busy);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return on_writable(wsi, slot);
	default:
		/* Closed, or the connection is being upgraded. */
		web_end(slot);
		return 0;
	}
}
