/*
 * sk-phone keeper: the user's relay connections, kept warm for the
 * provider (docs/PROTOCOL.md §11). A dumb pipe: the provider does the
 * Noise handshake and every check; the keeper moves its frames between
 * the unix socket and one websocket per relay, and holds no key.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/keeper.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"
#include "sk-phone/store.h"

#include "cli.h"

#define KEEP_IDLE_DEFAULT	300	/* s after the last call */
#define KEEP_IDLE_MAX		86400
#define KEEP_CHANNELS_DEFAULT	16	/* the relay's --max-channels */
#define KEEP_CLIENTS_MAX	256
#define KEEP_TX_MAX		(4 * 1024 * 1024)	/* unread by a provider */
#define KEEP_CONNECT_MAX_MS	30000
#define KEEP_PATH_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)

struct rconn;

/* One provider's connection. */
struct lconn {
	struct lconn	*next;
	int		 fd;
	int		 opened;
	int		 closing;	/* flush tx, then close */
	char		*refused;	/* another user: why, said once read */
	char		 url[SKP_KEEPER_URL_MAX + 1];
	uint8_t		 cahash[SHA256_DIGEST_LENGTH];
	int		 has_ca;
	char		 ca_path[PATH_MAX];
	uint32_t	 connect_ms;
	uint8_t		 rx[4 + SKP_KEEPER_FRAME_MAX];
	size_t		 rxlen;
	uint8_t		*tx;
	size_t		 txlen;
	size_t		 txcap;
};

/* One relay connection: (URL, CA certificates). */
struct rconn {
	struct rconn	*next;
	char		 url[SKP_KEEPER_URL_MAX + 1];
	uint8_t		 cahash[SHA256_DIGEST_LENGTH];
	int		 has_ca;
	char		 ca_path[PATH_MAX];
	skp_relay_t	*r;
	int		 open;
	uint64_t	 connect_until;	/* this URL's turn */
	uint64_t	 list_until;	/* the whole list's */
	size_t		 url_i;		/* the URL of the list tried */
	int		 url_err;	/* the failure to report */
	int		 nchan;
	uint64_t	 calls;
};

/* A wait for DATA until the relay connection is up. */
struct pend {
	struct pend	*next;
	uint8_t		*msg;
	size_t		 len;
};

/* One call: the provider's channel and the relay's. */
struct bridge {
	struct bridge	*next;
	struct lconn	*l;
	uint32_t	 lchan;
	struct rconn	*rc;
	uint32_t	 rchan;
	int		 called;
	uint8_t		 mailbox[SKP_RELAY_ID_LEN];
	uint32_t	 timeout_ms;
	struct pend	*pend;
};

static struct {
	int		 lfd;
	char		 sock[KEEP_PATH_MAX];
	char		 dir[KEEP_PATH_MAX];
	/* The computer's folder, for its saved TLS sessions (§6.7), as a
	 * provider's own connection uses; "": none. */
	char		 state[SKP_STORE_PATH_MAX];
	int		 bound;		/* we made the socket file */
	dev_t		 sock_dev;
	ino_t		 sock_ino;
	int		 idle_s;
	int		 max_chan;
	int		 debug;
	uint64_t	 last_use;
	uint64_t	 checked;
	struct lconn	*ls;
	int		 nls;
	struct rconn	*rs;
	struct bridge	*bs;
} K;

static volatile sig_atomic_t stop_sig;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void dbg(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Debug lines on stderr with SK_PHONE_DEBUG=1: never a payload. */
static void
dbg(const char *fmt, ...)
{
	va_list ap;

	if (!K.debug)
		return;
	va_start(ap, fmt);
	fputs("sk-phone keeper: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
on_signal(int sig)
{
	stop_sig = sig;
}

/* -- provider connections ------------------------------------------- */

static void
l_put(struct lconn *l, const uint8_t *frame, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (l->fd < 0 || l->closing > 1)
		return;
	if (l->txlen + 4 + n > KEEP_TX_MAX) {
		dbg("a provider does not read: dropped");
		l->closing = 2;
		return;
	}
	if (l->txlen + 4 + n > l->txcap) {
		cap = (l->txlen + 4 + n) * 2;
		if ((p = realloc(l->tx, cap)) == NULL) {
			l->closing = 2;
			return;
		}
		l->tx = p;
		l->txcap = cap;
	}
	p = l->tx + l->txlen;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	memcpy(p + 4, frame, n);
	l->txlen += 4 + n;
}

static void
l_frame(struct lconn *l, uint8_t kind, uint32_t chan, const void *body,
    size_t len)
{
	uint8_t f[SKP_KEEPER_FRAME_MAX];

	if (len > sizeof(f) - SKP_RELAY_HDR_LEN)
		return;
	skp_relay_put_hdr(f, kind, chan);
	if (len > 0)
		memcpy(f + SKP_RELAY_HDR_LEN, body, len);
	l_put(l, f, SKP_RELAY_HDR_LEN + len);
	skp_wipe(f, SKP_RELAY_HDR_LEN + len);
}

/* FAILED, then the connection closes once it is written. */
static void
l_failed(struct lconn *l, int err, uint16_t code, const char *reason)
{
	uint8_t f[SKP_RELAY_HDR_LEN + 3 + SKP_RELAY_REASON_MAX];
	size_t n;

	dbg("failed a provider: %s", reason);
	if (l->closing)
		return;
	if (skp_keeper_failed_encode(skp_keeper_error_of(err), code, reason,
	    f, sizeof(f), &n) == SKP_OK)
		l_put(l, f, n);
	l->closing = 1;
}

static void
l_flush(struct lconn *l)
{
	ssize_t n;

	while (l->fd >= 0 && l->txlen > 0) {
		n = send(l->fd, l->tx, l->txlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			l->closing = 2;
			return;
		}
		skp_wipe(l->tx, (size_t)n);
		memmove(l->tx, l->tx + n, l->txlen - (size_t)n);
		l->txlen -= (size_t)n;
	}
}

/* -- relay connections ---------------------------------------------- */

static void
pend_free(struct pend *p)
{
	struct pend *next;

	for (; p != NULL; p = next) {
		next = p->next;
		skp_wipe(p->msg, p->len);
		free(p->msg);
		free(p);
	}
}

static void
bridge_del(struct bridge *b, int hangup)
{
	struct bridge **bp;

	for (bp = &K.bs; *bp != NULL; bp = &(*bp)->next)
		if (*bp == b) {
			*bp = b->next;
			break;
		}
	if (b->called && hangup && b->rc->open)
		(void)skp_relay_hangup(b->rc->r, b->rchan);
	if (b->rc->nchan > 0)
		b->rc->nchan--;
	K.last_use = now_ms();
	pend_free(b->pend);
	free(b);
}

static void
rconn_free(struct rconn *rc)
{
	struct rconn **rp;

	for (rp = &K.rs; *rp != NULL; rp = &(*rp)->next)
		if (*rp == rc) {
			*rp = rc->next;
			break;
		}
	skp_relay_free(&rc->r);
	free(rc);
}

/* The relay connection is gone: every call on it fails. */
static void
rconn_lost(struct rconn *rc, int err, uint16_t code, const char *what)
{
	struct bridge *b, *next;
	char reason[SKP_RELAY_REASON_MAX + 1];

	snprintf(reason, sizeof(reason), "%s: %s", what, skp_strerror(err));
	dbg("relay %s: %s (code %u), %d call(s) on it", rc->url, reason,
	    (unsigned int)code, rc->nchan);
	for (b = K.bs; b != NULL; b = next) {
		next = b->next;
		if (b->rc != rc)
			continue;
		l_failed(b->l, err, code, reason);
		b->called = 0;
		bridge_del(b, 0);
	}
	rconn_free(rc);
}

/*
 * The CA certificates a provider named, in a file of our folder named by
 * their hash. Every provider names them again: the file is left as it is
 * when it holds them already, and is otherwise replaced whole (temporary
 * file, rename), so a relay connection reading it never sees it half
 * written.
 */
static int
ca_file(const struct skp_keeper_open *o, const uint8_t hash[32],
    char *path, size_t pathsz)
{
	char hex[17], tmp[PATH_MAX];
	skp_buf_t *have = NULL;
	int fd, n, i, same;
	size_t off;
	ssize_t w;

	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	n = snprintf(path, pathsz, "%s/keeper-ca-%s.pem", K.dir, hex);
	if (n < 0 || (size_t)n >= pathsz ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return SKP_ERR_TOO_LARGE;
	same = skp_file_read(path, o->ca_len, &have) == SKP_OK &&
	    skp_buf_len(have) == o->ca_len &&
	    memcmp(skp_buf_ptr(have), o->ca, o->ca_len) == 0;
	skp_buf_free(&have);
	if (same)
		return SKP_OK;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return SKP_ERR_IO;
	for (off = 0; off < o->ca_len; off += (size_t)w)
		if ((w = write(fd, o->ca + off, o->ca_len - off)) <= 0) {
			close(fd);
			(void)unlink(tmp);
			return SKP_ERR_IO;
		}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		(void)unlink(tmp);
		return SKP_ERR_IO;
	}
	return SKP_OK;
}

/*
 * Connect to URL url_i of the relay list (PROTOCOL.md §7.1): each but the
 * last gets its share of what is left, at most SKP_RELAY_URL_TIMEOUT_MS,
 * as the provider's own connect does; SKP_OK, or why none is left.
 */
static int
rconn_start(struct rconn *rc)
{
	char url[SKP_RELAYURL_MAX + 1];
	size_t n = skp_relaylist_count(rc->url);
	uint64_t now;
	int64_t left, per;
	int err;

	for (; rc->url_i < n; rc->url_i++) {
		now = now_ms();
		left = (int64_t)rc->list_until - (int64_t)now;
		if (left <= 0)
			return SKP_ERR_TIMEOUT;
		per = skp_relay_url_share(left > INT32_MAX ? INT32_MAX :
		    (int)left, rc->url_i, n);
		if (per <= 0)
			per = 1;
		if (skp_relaylist_get(rc->url, rc->url_i, url) != SKP_OK)
			break;
		dbg("connecting to %s", url);
		if ((err = skp_relay_connect_start(rc->r, url, (int)per)) ==
		    SKP_OK) {
			rc->connect_until = now + (uint64_t)per;
			return SKP_OK;
		}
		if (err == SKP_ERR_INVALID || err == SKP_ERR_IO)
			return err;
		rc->url_err = err;
	}
	return rc->url_err != 0 ? rc->url_err : SKP_ERR_NETWORK;
}

/* A relay client for rc: its CA file, the computer's TLS sessions. */
static skp_relay_t *
rconn_relay(const struct rconn *rc)
{
	struct skp_relay_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.ca_file = rc->has_ca ? rc->ca_path : NULL;
	opts.tls_session_dir = K.state[0] != '\0' ? K.state : NULL;
	return skp_relay_new(&opts);
}

/* A connection for (relay list, CA) with room for one more channel. */
static struct rconn *
rconn_get(struct lconn *l, int *err)
{
	struct rconn *rc;
	int ms;

	for (rc = K.rs; rc != NULL; rc = rc->next)
		if (strcmp(rc->url, l->url) == 0 && rc->has_ca == l->has_ca &&
		    memcmp(rc->cahash, l->cahash, sizeof(rc->cahash)) == 0 &&
		    rc->nchan < K.max_chan)
			return rc;
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		*err = SKP_ERR_NOMEM;
		return NULL;
	}
	snprintf(rc->url, sizeof(rc->url), "%s", l->url);
	memcpy(rc->cahash, l->cahash, sizeof(rc->cahash));
	rc->has_ca = l->has_ca;
	snprintf(rc->ca_path, sizeof(rc->ca_path), "%s", l->ca_path);
	ms = l->connect_ms > 0 && l->connect_ms < KEEP_CONNECT_MAX_MS ?
	    (int)l->connect_ms : KEEP_CONNECT_MAX_MS;
	if ((rc->r = rconn_relay(rc)) == NULL) {
		free(rc);
		*err = SKP_ERR_NOMEM;
		return NULL;
	}
	rc->list_until = now_ms() + (uint64_t)ms;
	if ((*err = rconn_start(rc)) != SKP_OK) {
		skp_relay_free(&rc->r);
		free(rc);
		return NULL;
	}
	rc->next = K.rs;
	K.rs = rc;
	return rc;
}

/* The call goes to the relay: CALL, then the DATA that waited. */
static void
bridge_call(struct bridge *b)
{
	struct pend *p;
	int rc;

	if ((rc = skp_relay_call(b->rc->r, b->mailbox, b->timeout_ms,
	    &b->rchan)) != SKP_OK) {
		l_failed(b->l, rc, 0, "the relay connection cannot call");
		bridge_del(b, 0);
		return;
	}
	b->called = 1;
	b->rc->calls++;
	while ((p = b->pend) != NULL) {
		b->pend = p->next;
		p->next = NULL;
		(void)skp_relay_send(b->rc->r, b->rchan, p->msg, p->len);
		pend_free(p);
	}
}

static struct bridge *
bridge_find_l(const struct lconn *l, uint32_t lchan)
{
	struct bridge *b;

	for (b = K.bs; b != NULL; b = b->next)
		if (b->l == l && b->lchan == lchan)
			return b;
	return NULL;
}

static struct bridge *
bridge_find_r(const struct rconn *rc, uint32_t rchan)
{
	struct bridge *b;

	for (b = K.bs; b != NULL; b = b->next)
		if (b->rc == rc && b->called && b->rchan == rchan)
			return b;
	return NULL;
}

/* -- frames from a provider ----------------------------------------- */

static void
on_open(struct lconn *l, const uint8_t *p, size_t n)
{
	struct skp_keeper_open o;

	if (l->opened || skp_keeper_parse_open(p, n, &o) != SKP_OK) {
		l_failed(l, SKP_ERR_FORMAT, 0, "bad or second OPEN");
		return;
	}
	if (o.version != SKP_KEEPER_VERSION) {
		l_failed(l, SKP_ERR_FORMAT, 0, "keeper protocol version "
		    "not served: update sk-phone");
		return;
	}
	memcpy(l->url, o.url, o.url_len);
	l->url[o.url_len] = '\0';
	l->connect_ms = o.connect_ms;
	l->has_ca = o.ca_len > 0;
	if (l->has_ca) {
		SHA256(o.ca, o.ca_len, l->cahash);
		if (ca_file(&o, l->cahash, l->ca_path, sizeof(l->ca_path)) !=
		    SKP_OK) {
			l_failed(l, SKP_ERR_INTERNAL, 0, "cannot keep the CA "
			    "certificates in the keeper's folder");
			return;
		}
	}
	l->opened = 1;
	l_frame(l, SKP_KEEPER_READY, 0, NULL, 0);
}

static void
on_call(struct lconn *l, const struct skp_relay_frame *f)
{
	struct bridge *b;
	struct rconn *rc;
	int err = SKP_OK;

	if (bridge_find_l(l, f->chan) != NULL) {
		l_failed(l, SKP_ERR_FORMAT, 0, "CALL on an open channel");
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		l_failed(l, SKP_ERR_INTERNAL, 0, "out of memory");
		return;
	}
	if ((rc = rconn_get(l, &err)) == NULL) {
		free(b);
		l_failed(l, err, 0, "cannot connect to the relay");
		return;
	}
	b->l = l;
	b->lchan = f->chan;
	b->rc = rc;
	memcpy(b->mailbox, f->id, SKP_RELAY_ID_LEN);
	b->timeout_ms = f->timeout_ms;
	b->next = K.bs;
	K.bs = b;
	rc->nchan++;
	K.last_use = now_ms();
	if (rc->open)
		bridge_call(b);
}

static void
on_data(struct lconn *l, const struct skp_relay_frame *f)
{
	struct bridge *b;
	struct pend *p, **pp;

	/* A channel that just ended: the frames crossed (§7.3). */
	if ((b = bridge_find_l(l, f->chan)) == NULL)
		return;
	if (b->called) {
		(void)skp_relay_send(b->rc->r, b->rchan, f->data, f->len);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->msg = malloc(f->len > 0 ? f->len : 1)) == NULL) {
		free(p);
		l_failed(l, SKP_ERR_INTERNAL, 0, "out of memory");
		return;
	}
	memcpy(p->msg, f->data, f->len);
	p->len = f->len;
	for (pp = &b->pend; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
}

static void
l_frame_in(struct lconn *l, const uint8_t *p, size_t n)
{
	struct skp_relay_frame f;
	struct bridge *b;

	if (skp_keeper_parse_client(p, n, &f) != SKP_OK) {
		l_failed(l, SKP_ERR_FORMAT, 0, "malformed frame");
		return;
	}
	if (f.kind == SKP_KEEPER_OPEN) {
		on_open(l, p, n);
		return;
	}
	if (!l->opened) {
		l_failed(l, SKP_ERR_FORMAT, 0, "a frame before OPEN");
		return;
	}
	switch (f.kind) {
	case SKP_RELAY_CALL:
		on_call(l, &f);
		break;
	case SKP_RELAY_DATA:
		on_data(l, &f);
		break;
	default:	/* HANGUP */
		if ((b = bridge_find_l(l, f.chan)) != NULL)
			bridge_del(b, 1);
		break;
	}
}

static void
l_read(struct lconn *l)
{
	uint32_t flen;
	ssize_t n;

	n = recv(l->fd, l->rx + l->rxlen, sizeof(l->rx) - l->rxlen,
	    MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		l->closing = 2;
		return;
	}
	l->rxlen += (size_t)n;
	/*
	 * Refused after what it sent is read: a socket closed with unread
	 * bytes resets, and the peer would never read why.
	 */
	if (l->refused != NULL) {
		skp_wipe(l->rx, l->rxlen);
		l->rxlen = 0;
		l_failed(l, SKP_ERR_PERM, 0, l->refused);
		return;
	}
	while (l->rxlen >= 4 && !l->closing) {
		flen = (uint32_t)l->rx[0] << 24 | (uint32_t)l->rx[1] << 16 |
		    (uint32_t)l->rx[2] << 8 | l->rx[3];
		if (flen < SKP_RELAY_HDR_LEN || flen > SKP_KEEPER_FRAME_MAX) {
			l_failed(l, SKP_ERR_FORMAT, 0, "bad frame length");
			break;
		}
		if (l->rxlen < 4 + (size_t)flen)
			break;
		l_frame_in(l, l->rx + 4, flen);
		skp_wipe(l->rx, 4 + flen);
		memmove(l->rx, l->rx + 4 + flen, l->rxlen - 4 - flen);
		l->rxlen -= 4 + flen;
	}
}

static void
l_close(struct lconn *l)
{
	struct lconn **lp;
	struct bridge *b, *next;

	for (b = K.bs; b != NULL; b = next) {
		next = b->next;
		if (b->l == l)
			bridge_del(b, 1);
	}
	for (lp = &K.ls; *lp != NULL; lp = &(*lp)->next)
		if (*lp == l) {
			*lp = l->next;
			break;
		}
	if (l->fd >= 0)
		close(l->fd);
	if (l->tx != NULL) {
		skp_wipe(l->tx, l->txlen);
		free(l->tx);
	}
	free(l->refused);
	skp_wipe(l, sizeof(*l));
	free(l);
	K.nls--;
}

/* A new provider: only of our own user. */
static void
l_accept(void)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct lconn *l;
	char why[96];
	int fd;

	if ((fd = accept4(K.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) <
	    0)
		return;
	if (K.nls >= KEEP_CLIENTS_MAX) {
		close(fd);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		close(fd);
		return;
	}
	l->fd = fd;
	l->next = K.ls;
	K.ls = l;
	K.nls++;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    cred.uid != geteuid()) {
		snprintf(why, sizeof(why), "refused: the peer is uid %ld, "
		    "this keeper serves uid %ld only", clen == sizeof(cred) ?
		    (long)cred.uid : -1L, (long)geteuid());
		dbg("%s", why);
		if ((l->refused = strdup(why)) == NULL)
			l->closing = 2;
	}
}

/* -- relay events --------------------------------------------------- */

static void
r_events(struct rconn *rc)
{
	struct skp_relay_event ev;
	struct bridge *b;
	uint8_t code[2];
	uint8_t kind;
	int n;

	for (n = 0; n < 256; n++) {
		if (skp_relay_service(rc->r, 0, &ev) != SKP_OK)
			return;
		if (ev.type == SKP_RELAY_EV_CLOSED) {
			rconn_lost(rc, ev.err != 0 ? ev.err : SKP_ERR_CLOSED,
			    ev.code, "relay connection lost");
			return;
		}
		if ((b = bridge_find_r(rc, ev.chan)) == NULL)
			continue;
		switch (ev.type) {
		case SKP_RELAY_EV_ONLINE:
		case SKP_RELAY_EV_OFFLINE:
			kind = ev.type == SKP_RELAY_EV_ONLINE ?
			    SKP_RELAY_ONLINE : SKP_RELAY_OFFLINE;
			l_frame(b->l, kind, b->lchan, NULL, 0);
			break;
		case SKP_RELAY_EV_MESSAGE:
			l_frame(b->l, SKP_RELAY_DATA, b->lchan, ev.msg,
			    ev.len);
			break;
		case SKP_RELAY_EV_END:
			{
				const char *why = skp_relay_code_reason(
				    ev.code);
				uint8_t body[2 + SKP_RELAY_REASON_MAX];
				size_t wl = strlen(why);

				if (wl > SKP_RELAY_REASON_MAX)
					wl = SKP_RELAY_REASON_MAX;
				code[0] = (uint8_t)(ev.code >> 8);
				code[1] = (uint8_t)ev.code;
				memcpy(body, code, 2);
				memcpy(body + 2, why, wl);
				l_frame(b->l, SKP_RELAY_END, b->lchan, body,
				    2 + wl);
			}
			b->called = 0;
			bridge_del(b, 0);
			break;
		default:
			break;
		}
	}
}

static void
r_step(struct rconn *rc)
{
	struct bridge *b, *next;
	int rc2;

	if (rc->open) {
		r_events(rc);
		return;
	}
	rc2 = skp_relay_connect_step(rc->r);
	if (rc2 == 1 && now_ms() < rc->connect_until)
		return;
	if (rc2 == 1) {
		/* Its turn is over: drop it (a fresh object for the next). */
		skp_relay_free(&rc->r);
		rc->r = rconn_relay(rc);
		rc2 = SKP_ERR_TIMEOUT;
	}
	if (rc2 != SKP_OK) {
		dbg("URL %zu of %s: %s", rc->url_i + 1, rc->url,
		    skp_strerror(rc2));
		/* A failure the user must fix says more than the network's. */
		if (rc->url_err != SKP_ERR_TLS && rc->url_err != SKP_ERR_IO)
			rc->url_err = rc2;
		rc->url_i++;
		if (rc->r == NULL || (rc2 = rconn_start(rc)) != SKP_OK)
			rconn_lost(rc, rc2 == SKP_OK ? SKP_ERR_NOMEM : rc2, 0,
			    "cannot connect to the relay");
		return;
	}
	rc->open = 1;
	dbg("connected (URL %zu of %s)", rc->url_i + 1, rc->url);
	for (b = K.bs; b != NULL; b = next) {
		next = b->next;
		if (b->rc == rc && !b->called)
			bridge_call(b);
	}
	r_events(rc);
}

/* -- the socket ----------------------------------------------------- */

/* Socket activation (LISTEN_PID, LISTEN_FDS): fd 3. */
static int
activated(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != getpid() ||
	    strtol(fds, NULL, 10) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	(void)fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	return 3;
}

/*
 * One keeper per socket: the lock next to it, held for life (it names
 * our pid). A keeper that finds it taken leaves quietly.
 */
static int
take_lock(const char *lock)
{
	char pid[32];
	int fd, n;

	if ((fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -2;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* A stale socket of a keeper that died: we hold the lock. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -1;
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (stat(path, &st) == 0) {
		K.sock_dev = st.st_dev;
		K.sock_ino = st.st_ino;
	}
	K.bound = 1;
	return fd;
}

/* Our socket file gone or replaced (its folder removed): stop. */
static int
socket_gone(void)
{
	struct stat st;

	if (!K.bound)
		return 0;
	return stat(K.sock, &st) != 0 || st.st_dev != K.sock_dev ||
	    st.st_ino != K.sock_ino;
}

/* -- the loop ------------------------------------------------------- */

static int
busy(void)
{
	struct rconn *rc;

	if (K.ls != NULL)
		return 1;
	for (rc = K.rs; rc != NULL; rc = rc->next)
		if (rc->nchan > 0)
			return 1;
	return 0;
}

static void
loop(void)
{
	struct pollfd pfd[1 + KEEP_CLIENTS_MAX + 64];
	struct lconn *l, *lnext;
	struct rconn *rc, *rnext;
	int n, i, wait, connecting;
	uint64_t now, idle_at;

	K.last_use = now_ms();
	while (!stop_sig) {
		n = 0;
		pfd[n].fd = K.lfd;
		pfd[n++].events = POLLIN;
		for (l = K.ls; l != NULL; l = l->next) {
			pfd[n].fd = l->fd;
			pfd[n].events = (short)((l->closing ? 0 : POLLIN) |
			    (l->txlen > 0 ? POLLOUT : 0));
			n++;
		}
		connecting = 0;
		for (rc = K.rs; rc != NULL && n < (int)(sizeof(pfd) /
		    sizeof(pfd[0])); rc = rc->next) {
			if (rc->open) {
				pfd[n].fd = skp_relay_fd(rc->r);
				pfd[n++].events = POLLIN;
				continue;
			}
			/*
			 * Connecting: woken when the relay answers (TLS, the
			 * upgrade), and every 5 ms for the rest (the TCP
			 * connect, the writes), as skp_relay_connect_fd says.
			 */
			connecting = 1;
			if ((pfd[n].fd = skp_relay_connect_fd(rc->r,
			    &pfd[n].events)) >= 0)
				n++;
		}
		wait = connecting ? 5 : 1000;
		(void)poll(pfd, (nfds_t)n, wait);
		if (pfd[0].revents & POLLIN)
			l_accept();
		for (l = K.ls; l != NULL; l = l->next)
			if (!l->closing)
				l_read(l);
		for (rc = K.rs; rc != NULL; rc = rnext) {
			rnext = rc->next;
			r_step(rc);
		}
		for (l = K.ls; l != NULL; l = lnext) {
			lnext = l->next;
			l_flush(l);
			if (l->closing > 1 || (l->closing && l->txlen == 0))
				l_close(l);
		}
		now = now_ms();
		/* Idle connections go after --idle; then the keeper. */
		idle_at = K.last_use + (uint64_t)K.idle_s * 1000;
		for (rc = K.rs; rc != NULL; rc = rnext) {
			rnext = rc->next;
			if (rc->nchan == 0 && now >= idle_at) {
				dbg("closing the idle connection to %s after "
				    "%llu call(s)", rc->url,
				    (unsigned long long)rc->calls);
				rconn_free(rc);
			}
		}
		if (!busy() && K.rs == NULL && now >= idle_at) {
			dbg("idle for %d s: exiting", K.idle_s);
			break;
		}
		if (now - K.checked >= 1000) {
			K.checked = now;
			if (socket_gone()) {
				dbg("the socket %s is gone: exiting", K.sock);
				K.bound = 0;
				break;
			}
		}
	}
	for (i = 0; K.ls != NULL && i < KEEP_CLIENTS_MAX * 2; i++)
		l_close(K.ls);
	while (K.rs != NULL)
		rconn_free(K.rs);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: sk-phone keeper [--socket PATH] [--idle SECONDS] "
	    "[--max-channels N] [--foreground]\n");
}

int
skp_cli_keeper(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket",		required_argument, NULL, 's' },
		{ "idle",		required_argument, NULL, 'i' },
		{ "max-channels",	required_argument, NULL, 'c' },
		{ "foreground",		no_argument,	   NULL, 'f' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa;
	const char *sockarg = NULL, *e;
	char lock[2 * KEEP_PATH_MAX + 16], why[SKP_STORE_WHY_MAX];
	char *end, *slash;
	long v;
	int ch, fg = 0, lockfd = -1, rc, fd;
	pid_t pid;

	memset(&K, 0, sizeof(K));
	K.lfd = -1;
	K.idle_s = KEEP_IDLE_DEFAULT;
	K.max_chan = KEEP_CHANNELS_DEFAULT;
	e = secure_getenv("SK_PHONE_DEBUG");
	K.debug = e != NULL && strcmp(e, "1") == 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sockarg = optarg;
			break;
		case 'i':
		case 'c':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 1 || v > (ch == 'i' ? KEEP_IDLE_MAX : 1024)) {
				skp_cli_err("--%s %s: give a number from 1 to "
				    "%d", ch == 'i' ? "idle" : "max-channels",
				    optarg, ch == 'i' ? KEEP_IDLE_MAX : 1024);
				return 2;
			}
			if (ch == 'i')
				K.idle_s = (int)v;
			else
				K.max_chan = (int)v;
			break;
		case 'f':
			fg = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sockarg != NULL) {
		if (sockarg[0] != '/' || strlen(sockarg) >= KEEP_PATH_MAX) {
			skp_cli_err("--socket %s: give an absolute path of at "
			    "most %zu bytes", sockarg, KEEP_PATH_MAX - 1);
			return 2;
		}
		snprintf(K.sock, sizeof(K.sock), "%s", sockarg);
	} else if ((rc = skp_keeper_socket_path(K.sock, sizeof(K.sock))) !=
	    SKP_OK) {
		skp_cli_err("no folder for the keeper's socket: %s (it is "
		    "$XDG_RUNTIME_DIR/sk-phone or /tmp/sk-phone-UID, the "
		    "user's own, mode 0700)", skp_strerror(rc));
		return 1;
	}
	if (skp_store_computer_dir(K.state, sizeof(K.state), why,
	    sizeof(why)) != SKP_OK) {
		K.state[0] = '\0';
		dbg("no saved TLS sessions: %s", why);
	}
	snprintf(K.dir, sizeof(K.dir), "%s", K.sock);
	if ((slash = strrchr(K.dir, '/')) != NULL)
		*slash = slash == K.dir ? '/' : '\0';
	snprintf(lock, sizeof(lock), "%s.lock", K.sock);
	if (sockarg == NULL)
		snprintf(lock, sizeof(lock), "%s/%s", K.dir, SKP_KEEPER_LOCK);
	K.lfd = activated();
	if (K.lfd < 0 && !fg) {
		/* By hand: detach. */
		if ((pid = fork()) < 0)
			return 1;
		if (pid > 0)
			return 0;
		(void)setsid();
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			if (!K.debug)
				dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	if ((lockfd = take_lock(lock)) == -2) {
		dbg("another keeper serves %s", K.sock);
		if (K.lfd >= 0)
			close(K.lfd);
		return 0;
	}
	if (lockfd < 0) {
		skp_cli_err("cannot take the lock %s: %s", lock,
		    strerror(errno));
		return 1;
	}
	if (K.lfd < 0 && (K.lfd = listen_on(K.sock)) < 0) {
		skp_cli_err("cannot listen on %s: %s", K.sock,
		    strerror(errno));
		close(lockfd);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	dbg("serving %s (pid %ld, idle %d s%s)", K.sock, (long)getpid(),
	    K.idle_s, K.bound ? "" : ", socket from systemd");
	loop();
	if (K.bound && !socket_gone())
		(void)unlink(K.sock);
	close(K.lfd);
	close(lockfd);
	dbg("stopped");
	return 0;
}
