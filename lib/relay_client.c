/* Relay frames (parse, codes) and the websocket client of sk-phone-relay. */
/*
 * libwebsockets.h names OpenSSL types that OPENSSL_NO_DEPRECATED hides
 * (RSA); this file calls no OpenSSL function itself.
 */
#undef OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <libwebsockets.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/lazylib.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"
#include "sk-phone/tlssess.h"

#define MAILBOX_LABEL	"sk-phone mailbox v2"
#define PROOF_LABEL	"sk-phone mailbox proof v2"

struct code_info {
	unsigned int	 code;
	int		 err;
	const char	*reason;
};

static const struct code_info codes[] = {
	{ SKP_RELAY_C_PROTOCOL,	  SKP_ERR_FORMAT,  "protocol error" },
	{ SKP_RELAY_C_TEXT,	  SKP_ERR_FORMAT,  "text frames not allowed" },
	{ SKP_RELAY_C_TOO_BIG,	  SKP_ERR_LIMIT,   "frame too large" },
	{ SKP_RELAY_C_ADDR_CONNS, SKP_ERR_LIMIT,
	    "too many connections from this address" },
	{ SKP_RELAY_C_CONNS,	  SKP_ERR_LIMIT,   "relay full" },
	{ SKP_RELAY_C_IDLE,	  SKP_ERR_TIMEOUT, "idle" },
	{ SKP_RELAY_C_PROOF,	  SKP_ERR_INVALID, "bad mailbox proof" },
	{ SKP_RELAY_C_REPLACED,	  SKP_ERR_EXISTS,
	    "replaced by a newer listener" },
	{ SKP_RELAY_C_SHUTDOWN,	  SKP_ERR_CLOSED,  "relay shutting down" },
	{ SKP_RELAY_C_KEEPALIVE,  SKP_ERR_NETWORK, "no answer to ping" },
	{ SKP_RELAY_C_SLOW,	  SKP_ERR_LIMIT,   "relay out of memory" },
	{ SKP_RELAY_C_SLOW_READER, SKP_ERR_LIMIT,
	    "too much queued for this connection: it does not read" },
	{ SKP_RELAY_C_OLD_PROTOCOL, SKP_ERR_FORMAT,
	    "sk-phone relay protocol 1 is no longer served: update sk-phone "
	    "(phone and computer) to protocol 2" },
	{ SKP_RELAY_C_TIMEOUT,	  SKP_ERR_TIMEOUT, "timed out" },
	{ SKP_RELAY_C_MBOX_CALLS, SKP_ERR_LIMIT,
	    "too many calls to this mailbox" },
	{ SKP_RELAY_C_PENDING,	  SKP_ERR_LIMIT,   "too many held calls" },
	{ SKP_RELAY_C_CHANNELS,	  SKP_ERR_LIMIT,
	    "too many channels on this connection" },
	{ SKP_RELAY_C_PHONE_GONE, SKP_ERR_CLOSED,  "phone disconnected" },
	{ SKP_RELAY_C_HUNG_UP,	  SKP_ERR_CLOSED,  "hung up" },
	{ SKP_RELAY_C_PEER_GONE,  SKP_ERR_CLOSED,  "peer disconnected" },
	{ SKP_RELAY_C_RDV_BUSY,	  SKP_ERR_LIMIT,   "rendezvous taken" },
	{ SKP_RELAY_C_HELD_DATA,  SKP_ERR_LIMIT,
	    "too much data before delivery" },
	{ SKP_RELAY_C_ADDR_CALLS, SKP_ERR_LIMIT,
	    "too many calls to this mailbox from this address" },
	{ SKP_RELAY_C_ADDR_PENDING, SKP_ERR_LIMIT,
	    "too many held calls from this address" },
	{ SKP_RELAY_C_NO_RDV,	  SKP_ERR_NOT_FOUND,
	    "no pairing is waiting under this code: it was used, has "
	    "expired, or was altered" },
	{ SKP_RELAY_C_CLUSTER,	  SKP_ERR_NETWORK,
	    "relay cluster unavailable: the other side may be on another "
	    "relay node; try again" },
};

static const struct code_info *
code_find(unsigned int code)
{
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return &codes[i];
	return NULL;
}

const char *
skp_relay_code_reason(unsigned int code)
{
	const struct code_info *ci = code_find(code);

	return ci != NULL ? ci->reason : "unknown";
}

int
skp_relay_code_err(unsigned int code)
{
	const struct code_info *ci = code_find(code);

	if (ci != NULL)
		return ci->err;
	/* 1001 going away and other standard closes: the relay left. */
	return code == 1000 || code == 1001 ? SKP_ERR_CLOSED : SKP_ERR_NETWORK;
}

int
skp_relay_mailbox_id(const uint8_t pub[SKP_RELAY_PUB_LEN],
    uint8_t id[SKP_RELAY_ID_LEN])
{
	return skp_sha256_2(MAILBOX_LABEL, sizeof(MAILBOX_LABEL) - 1, pub,
	    SKP_RELAY_PUB_LEN, id);
}

/* label || nonce || mailbox id: what the phone signs. */
static void
proof_msg(const uint8_t nonce[SKP_RELAY_NONCE_LEN],
    const uint8_t id[SKP_RELAY_ID_LEN], uint8_t out[SKP_RELAY_PROOF_MSG_LEN])
{
	memcpy(out, PROOF_LABEL, sizeof(PROOF_LABEL) - 1);
	memcpy(out + sizeof(PROOF_LABEL) - 1, nonce, SKP_RELAY_NONCE_LEN);
	memcpy(out + sizeof(PROOF_LABEL) - 1 + SKP_RELAY_NONCE_LEN, id,
	    SKP_RELAY_ID_LEN);
}

int
skp_relay_proof_digest(const uint8_t nonce[SKP_RELAY_NONCE_LEN],
    const uint8_t id[SKP_RELAY_ID_LEN], uint8_t digest[SKP_SHA256_LEN])
{
	uint8_t m[SKP_RELAY_PROOF_MSG_LEN];

	proof_msg(nonce, id, m);
	return skp_sha256(m, sizeof(m), digest);
}

int
skp_relay_prove(const struct skp_p256_key *key,
    const uint8_t nonce[SKP_RELAY_NONCE_LEN],
    uint8_t sig[SKP_RELAY_SIG_LEN])
{
	uint8_t id[SKP_RELAY_ID_LEN], m[SKP_RELAY_PROOF_MSG_LEN];
	int rc;

	if ((rc = skp_relay_mailbox_id(key->pub, id)) != SKP_OK)
		return rc;
	proof_msg(nonce, id, m);
	return skp_p256_sign_raw(key, m, sizeof(m), sig);
}

int
skp_relay_proof_check(const uint8_t id[SKP_RELAY_ID_LEN],
    const uint8_t pub[SKP_RELAY_PUB_LEN],
    const uint8_t nonce[SKP_RELAY_NONCE_LEN],
    const uint8_t sig[SKP_RELAY_SIG_LEN])
{
	uint8_t want[SKP_RELAY_ID_LEN], m[SKP_RELAY_PROOF_MSG_LEN];
	int rc;

	if ((rc = skp_relay_mailbox_id(pub, want)) != SKP_OK)
		return rc;
	/* Public data: no need for constant time, but it costs nothing. */
	if (!skp_ct_equal(want, id, SKP_RELAY_ID_LEN))
		return SKP_ERR_CRYPTO;
	if (skp_p256_check_public(pub) != SKP_OK)
		return SKP_ERR_CRYPTO;
	proof_msg(nonce, id, m);
	return skp_p256_verify_raw(pub, m, sizeof(m), sig) == SKP_OK ?
	    SKP_OK : SKP_ERR_CRYPTO;
}

void
skp_relay_put_hdr(uint8_t out[SKP_RELAY_HDR_LEN], uint8_t kind, uint32_t chan)
{
	out[0] = kind;
	out[1] = (uint8_t)(chan >> 24);
	out[2] = (uint8_t)(chan >> 16);
	out[3] = (uint8_t)(chan >> 8);
	out[4] = (uint8_t)chan;
}

/* Header, then the channel rule shared by both directions. */
static int
parse_hdr(skp_reader_t *r, const uint8_t *p, size_t n,
    struct skp_relay_frame *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	skp_reader_init(r, p, n);
	if ((rc = skp_reader_u8(r, &f->kind)) != SKP_OK ||
	    (rc = skp_reader_u32(r, &f->chan)) != SKP_OK)
		return rc;
	return SKP_OK;
}

/* id (32) || timeout (uint32), nothing after. */
static int
parse_id_timeout(skp_reader_t *r, struct skp_relay_frame *f)
{
	int rc;

	if ((rc = skp_reader_ptr(r, &f->id, SKP_RELAY_ID_LEN)) != SKP_OK ||
	    (rc = skp_reader_u32(r, &f->timeout_ms)) != SKP_OK)
		return rc;
	return skp_reader_end(r);
}

/*
 * SUBSCRIBE's body: p256dh (65) || auth (16) || endpoint URL of 12 to
 * 1024 bytes of printable ASCII without space (0x21..0x7e). Whether the
 * key is a point and the URL one the relay takes is the relay's check.
 */
static int
subscribe_ok(const uint8_t *p, size_t n)
{
	size_t i, head = SKP_RELAY_PUSH_KEY_LEN + SKP_RELAY_PUSH_AUTH_LEN;

	if (n < head + SKP_RELAY_PUSH_URL_MIN ||
	    n > head + SKP_RELAY_PUSH_URL_MAX)
		return 0;
	for (i = head; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

int
skp_relay_parse_client(const uint8_t *p, size_t n, struct skp_relay_frame *f)
{
	struct skp_relay_frame tmp;
	skp_reader_t r;
	int rc;

	if ((rc = parse_hdr(&r, p, n, &tmp)) != SKP_OK)
		goto out;
	/* LISTEN, PROVE and the push kinds are about the connection; the
	 * rest name a channel. */
	if ((tmp.kind == SKP_RELAY_LISTEN || tmp.kind == SKP_RELAY_PROVE ||
	    tmp.kind == SKP_RELAY_SUBSCRIBE ||
	    tmp.kind == SKP_RELAY_UNSUBSCRIBE) != (tmp.chan == 0)) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	switch (tmp.kind) {
	case SKP_RELAY_LISTEN:
		if ((rc = skp_reader_ptr(&r, &tmp.id, SKP_RELAY_ID_LEN)) !=
		    SKP_OK || (rc = skp_reader_ptr(&r, &tmp.pub,
		    SKP_RELAY_PUB_LEN)) != SKP_OK)
			goto out;
		rc = skp_reader_end(&r);
		break;
	case SKP_RELAY_PROVE:
		tmp.len = SKP_RELAY_SIG_LEN;
		if ((rc = skp_reader_ptr(&r, &tmp.data, tmp.len)) != SKP_OK)
			goto out;
		rc = skp_reader_end(&r);
		break;
	case SKP_RELAY_CALL:
	case SKP_RELAY_JOIN:
	case SKP_RELAY_MEET:
		rc = parse_id_timeout(&r, &tmp);
		break;
	case SKP_RELAY_DATA:
		tmp.len = skp_reader_left(&r);
		rc = skp_reader_ptr(&r, &tmp.data, tmp.len);
		break;
	case SKP_RELAY_HANGUP:
	case SKP_RELAY_UNSUBSCRIBE:
		rc = skp_reader_end(&r);
		break;
	case SKP_RELAY_SUBSCRIBE:
		tmp.len = skp_reader_left(&r);
		if ((rc = skp_reader_ptr(&r, &tmp.data, tmp.len)) != SKP_OK)
			goto out;
		if (tmp.len != 0 && !subscribe_ok(tmp.data, tmp.len))
			rc = SKP_ERR_FORMAT;
		break;
	default:
		rc = SKP_ERR_FORMAT;
		break;
	}
 out:
	if (rc == SKP_OK)
		*f = tmp;
	else
		memset(f, 0, sizeof(*f));
	return rc;
}

/* A reason is printable ASCII, so a log line can never be forged by it. */
static int
reason_ok(const uint8_t *p, size_t n)
{
	size_t i;

	if (n > SKP_RELAY_REASON_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

int
skp_relay_parse_relay(const uint8_t *p, size_t n, struct skp_relay_frame *f)
{
	struct skp_relay_frame tmp;
	skp_reader_t r;
	int rc;

	if ((rc = parse_hdr(&r, p, n, &tmp)) != SKP_OK)
		goto out;
	if ((tmp.kind == SKP_RELAY_LISTENING ||
	    tmp.kind == SKP_RELAY_CHALLENGE || tmp.kind == SKP_RELAY_PUSH) !=
	    (tmp.chan == 0)) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	switch (tmp.kind) {
	case SKP_RELAY_LISTENING:
	case SKP_RELAY_INCOMING:
	case SKP_RELAY_ONLINE:
	case SKP_RELAY_OFFLINE:
	case SKP_RELAY_WAITING:
	case SKP_RELAY_PEER:
		rc = skp_reader_end(&r);
		break;
	case SKP_RELAY_CHALLENGE:
		tmp.len = SKP_RELAY_NONCE_LEN;
		if ((rc = skp_reader_ptr(&r, &tmp.data, tmp.len)) != SKP_OK)
			goto out;
		rc = skp_reader_end(&r);
		break;
	case SKP_RELAY_DATA:
		tmp.len = skp_reader_left(&r);
		rc = skp_reader_ptr(&r, &tmp.data, tmp.len);
		break;
	case SKP_RELAY_END:
		if ((rc = skp_reader_u16(&r, &tmp.code)) != SKP_OK)
			goto out;
		if (tmp.code < 4000 || tmp.code > 4999) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		tmp.len = skp_reader_left(&r);
		if ((rc = skp_reader_ptr(&r, &tmp.data, tmp.len)) != SKP_OK)
			goto out;
		if (!reason_ok(tmp.data, tmp.len))
			rc = SKP_ERR_FORMAT;
		break;
	case SKP_RELAY_PUSH:
		/* status OFF alone; any other status with the VAPID key */
		if ((rc = skp_reader_u8(&r, &tmp.status)) != SKP_OK)
			goto out;
		if (tmp.status > SKP_RELAY_PUSH_FULL) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		if (tmp.status != SKP_RELAY_PUSH_OFF) {
			tmp.len = SKP_RELAY_PUSH_KEY_LEN;
			if ((rc = skp_reader_ptr(&r, &tmp.data, tmp.len)) !=
			    SKP_OK)
				goto out;
		}
		rc = skp_reader_end(&r);
		break;
	default:
		rc = SKP_ERR_FORMAT;
		break;
	}
 out:
	if (rc == SKP_OK)
		*f = tmp;
	else
		memset(f, 0, sizeof(*f));
	return rc;
}


/*
 * The client.
 *
 * Each connection gets its own libwebsockets context, made by
 * skp_relay_connect() and destroyed as soon as the connection ends, so
 * nothing of it outlives the connection and two objects share nothing
 * but the library's log level. The library runs inside ssh-sk-helper and
 * ssh-agent: no stdout, SIGPIPE blocked around every call into lws, and
 * the SIGPIPE disposition lws_create_context() changes is put back.
 */

#define CLIENT_RX_CHUNK		4096
#define CLIENT_KEEPALIVE_S	20
#define CLIENT_FDS		16
#define CLIENT_CLOSE_FLUSH_MS	250

enum cstate {
	CS_IDLE = 0,
	CS_CONNECTING,
	CS_OPEN,
	CS_CLOSED,
};

enum chtype {
	CH_CALL = 1,
	CH_JOIN,
	CH_INCOMING,
};

struct txnode {
	struct txnode	*next;
	size_t		 len;		/* frame bytes after LWS_PRE */
	uint8_t		 buf[];		/* LWS_PRE || frame */
};

struct chan {
	struct chan	*next;
	uint32_t	 id;
	uint8_t		 type;
	uint8_t		 ready;		/* ONLINE, PEER, or an incoming call */
};

struct evnode {
	struct evnode		*next;
	struct skp_relay_event	 ev;
	uint8_t			*buf;	/* owns ev.msg */
};

struct skp_relay {
	struct skp_relay_opts	 opts;
	lws_retry_bo_t		 retry;
	struct lws_context	*ctx;
	struct lws		*wsi;
	enum cstate		 state;
	int			 closed_err;	/* why the connection ended */
	uint16_t		 close_code;
	uint16_t		 end_code;	/* of the last END waited on */
	int			 tls_failed;
	skp_tlssess_t		*tlssess;	/* wss with a session folder */
	int			 upgrade_sent;	/* the websocket upgrade went */
	int			 closing;	/* close once tx is flushed */
	int			 listening;	/* LISTEN sent */
	int			 proving;	/* waiting for CHALLENGE */
	struct skp_p256_key	 mbkey;		/* while proving */
	uint64_t		 deadline;	/* monotonic ms; 0: none */
	int			 woken;
	lws_sorted_usec_list_t	 wake;
	struct txnode		*tx;
	struct txnode		**txtail;
	uint8_t			*rx;		/* a message in pieces */
	size_t			 rxlen;
	struct chan		*chans;
	uint32_t		 next_chan;
	struct evnode		*evq;
	struct evnode		**evtail;
	struct evnode		*cur;		/* the event last handed out */
	char			 host[256];
	char			 path[256];
	int			 port;
	int			 tls;
	int			 debug;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void dbg(const skp_relay_t *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Debug lines on stderr, only with SK_PHONE_DEBUG=1; never payloads. */
static void
dbg(const skp_relay_t *r, const char *fmt, ...)
{
	va_list ap;

	if (r == NULL || !r->debug)
		return;
	va_start(ap, fmt);
	fputs("sk-phone relay client: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * libwebsockets' own errors and warnings, under debug. Its line about
 * http_proxy is dropped: the client sets an empty proxy address on
 * purpose, so that lws does not follow http_proxy (see skp_relay_connect),
 * and lws says that an empty one is malformed.
 */
static void
lws_line(int level, const char *line)
{
	(void)level;
	if (strstr(line, "http_proxy") != NULL)
		return;
	fprintf(stderr, "sk-phone relay client: libwebsockets: %s", line);
}

static int
debug_enabled(void)
{
	const char *e = secure_getenv("SK_PHONE_DEBUG");

	return e != NULL && strcmp(e, "1") == 0;
}

/*
 * SIGPIPE: OpenSSL writes TLS records with write(2), which raises it when
 * the relay is gone. Block it while inside lws and swallow one raised
 * there, so the host program's handling of SIGPIPE never sees ours.
 */
struct sigguard {
	sigset_t	old;
	int		was_pending;
};

static void
guard_enter(struct sigguard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pend);
	g->was_pending = sigpending(&pend) == 0 &&
	    sigismember(&pend, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void
guard_leave(struct sigguard *g)
{
	struct timespec zero = { 0, 0 };
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pend);
	if (!g->was_pending && sigpending(&pend) == 0 &&
	    sigismember(&pend, SIGPIPE) == 1)
		(void)sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void
txnode_free(struct txnode *t)
{
	if (t == NULL)
		return;
	skp_wipe(t->buf, LWS_PRE + t->len);
	free(t);
}

static void
txlist_free(struct txnode *t)
{
	struct txnode *next;

	for (; t != NULL; t = next) {
		next = t->next;
		txnode_free(t);
	}
}

static struct txnode *
txnode_new(uint8_t kind, uint32_t chan, const void *body, size_t len)
{
	struct txnode *t;

	if (len > SKP_RELAY_MAX_MSG)
		return NULL;
	if ((t = malloc(sizeof(*t) + LWS_PRE + SKP_RELAY_HDR_LEN + len)) ==
	    NULL)
		return NULL;
	t->next = NULL;
	t->len = SKP_RELAY_HDR_LEN + len;
	skp_relay_put_hdr(t->buf + LWS_PRE, kind, chan);
	if (len > 0)
		memcpy(t->buf + LWS_PRE + SKP_RELAY_HDR_LEN, body, len);
	return t;
}

static void
evnode_free(struct evnode *e)
{
	if (e == NULL)
		return;
	if (e->buf != NULL) {
		skp_wipe(e->buf, e->ev.len);
		free(e->buf);
	}
	free(e);
}

static struct chan *
chan_find(const skp_relay_t *r, uint32_t id)
{
	struct chan *c;

	for (c = r->chans; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static struct chan *
chan_add(skp_relay_t *r, uint32_t id, uint8_t type)
{
	struct chan *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->id = id;
	c->type = type;
	c->next = r->chans;
	r->chans = c;
	return c;
}

static void
chan_del(skp_relay_t *r, uint32_t id)
{
	struct chan **cp, *c;

	for (cp = &r->chans; (c = *cp) != NULL; cp = &c->next) {
		if (c->id == id) {
			*cp = c->next;
			free(c);
			return;
		}
	}
}

static void
chans_free(skp_relay_t *r)
{
	struct chan *c, *next;

	for (c = r->chans; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	r->chans = NULL;
}

/* Queue an event; msg is copied. Failure to allocate loses the event but
 * then ends the connection, so a waiter is never left hanging. */
static int
ev_push(skp_relay_t *r, int type, uint32_t chan, int err, uint16_t code,
    const uint8_t *msg, size_t len)
{
	struct evnode *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return SKP_ERR_NOMEM;
	if (len > 0) {
		if ((e->buf = malloc(len)) == NULL) {
			free(e);
			return SKP_ERR_NOMEM;
		}
		memcpy(e->buf, msg, len);
		e->ev.msg = e->buf;
		e->ev.len = len;
	}
	e->ev.type = type;
	e->ev.chan = chan;
	e->ev.err = err;
	e->ev.code = code;
	*r->evtail = e;
	r->evtail = &e->next;
	return SKP_OK;
}

static void
ev_unlink(skp_relay_t *r, struct evnode **ep)
{
	struct evnode *e = *ep;

	*ep = e->next;
	if (r->evtail == &e->next)
		r->evtail = ep;
	e->next = NULL;
}

/* Forget the event handed out last: its message lives until now. */
static void
ev_release(skp_relay_t *r)
{
	evnode_free(r->cur);
	r->cur = NULL;
}

static void
tx_queue(skp_relay_t *r, struct txnode *t)
{
	*r->txtail = t;
	r->txtail = &t->next;
	if (r->wsi != NULL)
		sym_lws_callback_on_writable(r->wsi);
}

/* Everything of one connection, after it ended. */
static void
conn_reset(skp_relay_t *r)
{
	struct sigguard g;

	if (r->ctx != NULL) {
		guard_enter(&g);
		sym_lws_context_destroy(r->ctx);
		guard_leave(&g);
		r->ctx = NULL;
	}
	/* After its SSL_CTX: saves the relay's newest session. */
	skp_tlssess_free(&r->tlssess);
	r->wsi = NULL;
	txlist_free(r->tx);
	r->tx = NULL;
	r->txtail = &r->tx;
	if (r->rx != NULL) {
		skp_wipe(r->rx, r->rxlen);
		free(r->rx);
		r->rx = NULL;
	}
	r->rxlen = 0;
	chans_free(r);
	r->listening = 0;
	r->proving = 0;
	skp_wipe(&r->mbkey, sizeof(r->mbkey));
	r->closing = 0;
}

/* The connection is over (or refused): tell the program once. */
static void
conn_ended(skp_relay_t *r, int err)
{
	if (r->state == CS_CLOSED)
		return;
	if (r->close_code != 0)
		err = skp_relay_code_err(r->close_code);
	r->closed_err = err;
	r->state = CS_CLOSED;
	/* Our own goodbye is no error: do not report it as one. */
	if (r->closing)
		dbg(r, "connection closed");
	else
		dbg(r, "connection ended: %s (code %u)", skp_strerror(err),
		    (unsigned int)r->close_code);
	(void)ev_push(r, SKP_RELAY_EV_CLOSED, 0, err, r->close_code, NULL, 0);
}

/* A frame from the relay that breaks the protocol ends the connection. */
static int
bad_frame(skp_relay_t *r, struct lws *wsi, int err)
{
	static const char reason[] = "protocol error";

	dbg(r, "bad frame from the relay: %s", skp_strerror(err));
	sym_lws_close_reason(wsi, (enum lws_close_status)SKP_RELAY_C_PROTOCOL,
	    (unsigned char *)(uintptr_t)reason, sizeof(reason) - 1);
	r->close_code = 0;
	conn_ended(r, err);
	return -1;
}

/* The relay's challenge: sign it with the mailbox key, which then goes. */
static int
send_proof(skp_relay_t *r, struct lws *wsi,
    const uint8_t nonce[SKP_RELAY_NONCE_LEN])
{
	uint8_t sig[SKP_RELAY_SIG_LEN];
	struct txnode *t;
	int rc;

	rc = skp_relay_prove(&r->mbkey, nonce, sig);
	r->proving = 0;
	skp_wipe(&r->mbkey, sizeof(r->mbkey));
	if (rc != SKP_OK)
		return bad_frame(r, wsi, rc);
	if ((t = txnode_new(SKP_RELAY_PROVE, 0, sig, sizeof(sig))) == NULL)
		return bad_frame(r, wsi, SKP_ERR_NOMEM);
	tx_queue(r, t);
	return 0;
}

static int
on_frame(skp_relay_t *r, struct lws *wsi, const uint8_t *p, size_t n)
{
	struct skp_relay_frame f;
	struct chan *c;
	int rc, type = SKP_RELAY_EV_NONE;

	if ((rc = skp_relay_parse_relay(p, n, &f)) != SKP_OK)
		return bad_frame(r, wsi, rc);
	c = chan_find(r, f.chan);
	switch (f.kind) {
	case SKP_RELAY_CHALLENGE:
		if (!r->proving)
			return bad_frame(r, wsi, SKP_ERR_STATE);
		return send_proof(r, wsi, f.data);
	case SKP_RELAY_LISTENING:
		if (!r->listening || r->proving)
			return bad_frame(r, wsi, SKP_ERR_STATE);
		type = SKP_RELAY_EV_LISTENING;
		break;
	case SKP_RELAY_INCOMING:
		if (!r->listening || c != NULL)
			return bad_frame(r, wsi, SKP_ERR_STATE);
		if ((c = chan_add(r, f.chan, CH_INCOMING)) == NULL)
			return bad_frame(r, wsi, SKP_ERR_NOMEM);
		c->ready = 1;
		type = SKP_RELAY_EV_INCOMING;
		break;
	case SKP_RELAY_ONLINE:
	case SKP_RELAY_OFFLINE:
		if (c == NULL)
			return 0;	/* hung up meanwhile */
		if (c->type != CH_CALL)
			return bad_frame(r, wsi, SKP_ERR_STATE);
		if (f.kind == SKP_RELAY_ONLINE) {
			c->ready = 1;
			type = SKP_RELAY_EV_ONLINE;
		} else
			type = SKP_RELAY_EV_OFFLINE;
		break;
	case SKP_RELAY_WAITING:
	case SKP_RELAY_PEER:
		if (c == NULL)
			return 0;
		if (c->type != CH_JOIN)
			return bad_frame(r, wsi, SKP_ERR_STATE);
		if (f.kind == SKP_RELAY_PEER) {
			c->ready = 1;
			type = SKP_RELAY_EV_PEER;
		} else
			type = SKP_RELAY_EV_WAITING;
		break;
	case SKP_RELAY_DATA:
		if (c == NULL)
			return 0;
		if (!c->ready)
			return bad_frame(r, wsi, SKP_ERR_STATE);
		type = SKP_RELAY_EV_MESSAGE;
		break;
	case SKP_RELAY_END:
		if (c == NULL)
			return 0;
		chan_del(r, f.chan);
		dbg(r, "channel %u ended: %u %s", (unsigned int)f.chan,
		    (unsigned int)f.code, skp_relay_code_reason(f.code));
		rc = ev_push(r, SKP_RELAY_EV_END, f.chan,
		    skp_relay_code_err(f.code), f.code, NULL, 0);
		return rc == SKP_OK ? 0 : bad_frame(r, wsi, rc);
	default:
		return bad_frame(r, wsi, SKP_ERR_FORMAT);
	}
	rc = ev_push(r, type, f.chan, 0, 0, type == SKP_RELAY_EV_MESSAGE ?
	    f.data : NULL, type == SKP_RELAY_EV_MESSAGE ? f.len : 0);
	return rc == SKP_OK ? 0 : bad_frame(r, wsi, rc);
}

/* Whole messages from fragments; a message over the cap ends it all. */
static int
on_receive(skp_relay_t *r, struct lws *wsi, const uint8_t *in, size_t len)
{
	uint8_t *p;
	int rc;

	if (!sym_lws_frame_is_binary(wsi))
		return bad_frame(r, wsi, SKP_ERR_FORMAT);
	if (r->rx == NULL && sym_lws_is_first_fragment(wsi) &&
	    sym_lws_is_final_fragment(wsi))
		return on_frame(r, wsi, in, len);
	if (len > SKP_RELAY_MAX_FRAME - r->rxlen)
		return bad_frame(r, wsi, SKP_ERR_TOO_LARGE);
	if (len > 0) {
		if ((p = realloc(r->rx, r->rxlen + len)) == NULL)
			return bad_frame(r, wsi, SKP_ERR_NOMEM);
		r->rx = p;
		memcpy(r->rx + r->rxlen, in, len);
		r->rxlen += len;
	}
	if (!sym_lws_is_final_fragment(wsi))
		return 0;
	rc = on_frame(r, wsi, r->rx, r->rxlen);
	if (r->rx != NULL) {
		skp_wipe(r->rx, r->rxlen);
		free(r->rx);
		r->rx = NULL;
	}
	r->rxlen = 0;
	return rc;
}

static int
on_writable(skp_relay_t *r, struct lws *wsi)
{
	struct txnode *t;
	int i, n;

	if ((t = r->tx) == NULL) {
		if (r->closing) {
			sym_lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
			    NULL, 0);
			return -1;
		}
		return 0;
	}
	/* What the socket takes whole now; lws keeps a partial write. */
	for (i = 0; i < 16 && (t = r->tx) != NULL &&
	    (i == 0 || !sym_lws_partial_buffered(wsi)); i++) {
		r->tx = t->next;
		if (r->tx == NULL)
			r->txtail = &r->tx;
		n = sym_lws_write(wsi, t->buf + LWS_PRE, t->len,
		    LWS_WRITE_BINARY);
		txnode_free(t);
		if (n < 0) {
			conn_ended(r, SKP_ERR_NETWORK);
			return -1;
		}
	}
	if (r->tx != NULL || r->closing)
		sym_lws_callback_on_writable(wsi);
	return 0;
}

/*
 * Whether the server took the connection and the upgrade request, then
 * closed without an HTTP answer, or answered 101 without our subprotocol.
 * A relay of protocol 1 closes (lws drops an upgrade that offers only
 * subprotocols it does not serve); so does a bare TCP proxy whose relay is
 * down. An HTTP error status (a web server, a proxy's 502) is a network
 * error, as before.
 */
static int
upgrade_refused(const skp_relay_t *r, struct lws *wsi)
{
	unsigned int status;

	if (!r->upgrade_sent)
		return 0;
	status = wsi != NULL ? sym_lws_http_client_http_response(wsi) : 0;
	dbg(r, "the websocket upgrade failed (HTTP status %u)", status);
	return status == 0 || status == 101;
}

static int
client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	skp_relay_t *r = sym_lws_context_user(sym_lws_get_context(wsi));
	const uint8_t *b = in;

	(void)user;
	if (r == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* len is OpenSSL's preverify_ok; lws refuses after us. */
		if (len == 0)
			r->tls_failed = 1;
		return 0;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* user is the client's SSL_CTX; a failure costs resumption. */
		if (r->tlssess != NULL &&
		    skp_tlssess_ctx_setup(r->tlssess, user) != SKP_OK)
			dbg(r, "TLS sessions not resumed: setup failed");
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* TCP (and TLS) are up: what fails now is the upgrade. */
		r->upgrade_sent = 1;
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		dbg(r, "connect failed: %s", in != NULL ? (const char *)in :
		    "no reason");
		if (wsi == r->wsi || r->wsi == NULL) {
			r->wsi = NULL;
			conn_ended(r, r->tls_failed ? SKP_ERR_TLS :
			    upgrade_refused(r, wsi) ? SKP_ERR_RELAY_PROTOCOL :
			    SKP_ERR_NETWORK);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (r->tlssess != NULL)
			(void)skp_tlssess_established(r->tlssess,
			    sym_lws_get_ssl(wsi));
		r->wsi = wsi;
		r->state = CS_OPEN;
		dbg(r, "connected");
		if (r->tx != NULL)
			sym_lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (r->state != CS_OPEN)
			return -1;
		return on_receive(r, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (r->state != CS_OPEN)
			return -1;
		return on_writable(r, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (in != NULL && len >= 2)
			r->close_code = (uint16_t)(b[0] << 8 | b[1]);
		dbg(r, "relay closed with code %u",
		    (unsigned int)r->close_code);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (wsi == r->wsi)
			r->wsi = NULL;
		conn_ended(r, SKP_ERR_NETWORK);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (wsi == r->wsi) {
			r->wsi = NULL;
			conn_ended(r, SKP_ERR_NETWORK);
		}
		return 0;
	default:
		return 0;
	}
}

static int pump(skp_relay_t *, uint64_t);

static const struct lws_protocols client_protocols[] = {
	/* tx_packet_size: lws would cut every write to the rx size. */
	{ SKP_RELAY_SUBPROTOCOL, client_cb, 0, CLIENT_RX_CHUNK, 0, NULL,
	    2 * SKP_RELAY_MAX_FRAME },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

skp_relay_t *
skp_relay_new(const struct skp_relay_opts *opts)
{
	skp_relay_t *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.keepalive_s <= 0 || r->opts.keepalive_s > 3600)
		r->opts.keepalive_s = CLIENT_KEEPALIVE_S;
	r->retry.secs_since_valid_ping = (uint16_t)r->opts.keepalive_s;
	r->retry.secs_since_valid_hangup = (uint16_t)(2 * r->opts.keepalive_s);
	r->txtail = &r->tx;
	r->evtail = &r->evq;
	r->debug = debug_enabled();
	return r;
}

void
skp_relay_free(skp_relay_t **rp)
{
	skp_relay_t *r;
	struct evnode *e, *next;
	uint64_t until;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	/* Flush what is queued (a hangup) and say goodbye, briefly. */
	if (r->state == CS_OPEN && r->wsi != NULL && r->ctx != NULL) {
		r->closing = 1;
		sym_lws_callback_on_writable(r->wsi);
		until = now_ms() + CLIENT_CLOSE_FLUSH_MS;
		while (r->state == CS_OPEN && now_ms() < until)
			pump(r, until);
	}
	conn_reset(r);
	ev_release(r);
	for (e = r->evq; e != NULL; e = next) {
		next = e->next;
		evnode_free(e);
	}
	skp_wipe(r, sizeof(*r));
	free(r);
	*rp = NULL;
}

int
skp_relay_set_deadline(skp_relay_t *r, int timeout_ms)
{
	if (r == NULL || timeout_ms < 0)
		return SKP_ERR_INVALID;
	r->deadline = timeout_ms == 0 ? 0 : now_ms() + (uint64_t)timeout_ms;
	return SKP_OK;
}

/* The end of a blocking call: its own timeout or the deadline. */
static uint64_t
until_of(const skp_relay_t *r, int timeout_ms)
{
	uint64_t until = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	if (r->deadline != 0 && r->deadline < until)
		until = r->deadline;
	return until;
}

static int
past_deadline(const skp_relay_t *r)
{
	return r->deadline != 0 && now_ms() >= r->deadline;
}

static void
wake_cb(lws_sorted_usec_list_t *sul)
{
	skp_relay_t *r = lws_container_of(sul, skp_relay_t, wake);

	r->woken = 1;
}

/*
 * One round of the event loop, waiting at most until `until'. lws_service
 * waits for its next own timer whatever it is told, so a timer of ours
 * bounds the wait.
 */
static int
pump(skp_relay_t *r, uint64_t until)
{
	struct sigguard g;
	uint64_t now = now_ms();

	if (r->ctx == NULL)
		return SKP_ERR_STATE;
	guard_enter(&g);
	if (until > now) {
		r->woken = 0;
		sym_lws_sul_schedule(r->ctx, 0, &r->wake, wake_cb,
		    (lws_usec_t)(until - now) * LWS_US_PER_MS);
		sym_lws_service(r->ctx, 0);
		sym_lws_sul_cancel(&r->wake);
	} else
		sym_lws_service(r->ctx, -1);
	guard_leave(&g);
	return SKP_OK;
}

/* The one relay URL parser (lib/relayurl.c, PROTOCOL.md §2.2). */
static int
url_parse(skp_relay_t *r, const char *url)
{
	struct skp_relayurl u;

	if (url == NULL || skp_relayurl_parse(url, strlen(url), &u, NULL) !=
	    SKP_OK)
		return SKP_ERR_INVALID;
	r->tls = u.tls;
	r->port = u.port;
	snprintf(r->host, sizeof(r->host), "%s", u.host);
	snprintf(r->path, sizeof(r->path), "%s", u.path);
	return SKP_OK;
}

static int
ctx_create(skp_relay_t *r)
{
	struct lws_context_creation_info info;
	struct sigaction old;
	struct sigguard g;
	int rc = SKP_OK;

	/* Not LLL_NOTICE: that is the library's banner on every connect. */
	sym_lws_set_log_level(r->debug ? LLL_ERR | LLL_WARN : 0, lws_line);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.user = r;
	info.uid = -1;
	info.gid = -1;
	info.fd_limit_per_thread = CLIENT_FDS;
	info.retry_and_idle_policy = &r->retry;
	/*
	 * No proxy from the environment: libwebsockets would follow
	 * http_proxy (only that one, and without no_proxy) for ws and wss
	 * alike. sk-phone reaches its relay directly (docs/PROTOCOL.md
	 * §7.1); an empty address here stops lws from reading it.
	 */
	info.http_proxy_address = "";
	if (r->tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		if (r->opts.ca_file != NULL) {
			info.client_ssl_ca_filepath = r->opts.ca_file;
			info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
		}
	}
	/* lws_create_context() sets SIGPIPE to SIG_IGN: put it back. */
	memset(&old, 0, sizeof(old));
	guard_enter(&g);
	if (sigaction(SIGPIPE, NULL, &old) != 0)
		rc = SKP_ERR_INTERNAL;
	else {
		r->ctx = sym_lws_create_context(&info);
		(void)sigaction(SIGPIPE, &old, NULL);
		if (r->ctx == NULL)
			rc = SKP_ERR_NOMEM;
	}
	guard_leave(&g);
	return rc;
}

/* The saved TLS session's lines, under debug. */
static void
tlssess_say(void *arg, const char *line)
{
	dbg(arg, "%s", line);
}

int
skp_relay_connect_start(skp_relay_t *r, const char *url, int timeout_ms)
{
	struct lws_client_connect_info ci;
	struct sigguard g;
	struct lws *wsi;
	FILE *f;
	int i, rc;

	if (r == NULL || url == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (past_deadline(r))
		return SKP_ERR_TIMEOUT;
	if (r->state == CS_CONNECTING || r->state == CS_OPEN)
		return SKP_ERR_STATE;
	/* libwebsockets, now (include/sk-phone/lazylib.h); it says why not. */
	if ((rc = skp_lazylib_load()) != SKP_OK)
		return rc;
	conn_reset(r);
	/* What the old connection left unread means nothing now. */
	ev_release(r);
	while (r->evq != NULL) {
		struct evnode *e = r->evq;

		ev_unlink(r, &r->evq);
		evnode_free(e);
	}
	r->state = CS_IDLE;
	r->close_code = 0;
	r->closed_err = 0;
	r->tls_failed = 0;
	r->upgrade_sent = 0;
	if ((rc = url_parse(r, url)) != SKP_OK)
		return rc;
	/* An unreadable CA file would make lws trust nothing, quietly. */
	if (r->tls && r->opts.ca_file != NULL) {
		if ((f = fopen(r->opts.ca_file, "re")) == NULL)
			return SKP_ERR_IO;
		fclose(f);
	}
	if (r->tls && r->opts.tls_session_dir != NULL &&
	    (r->tlssess = skp_tlssess_new(r->opts.tls_session_dir, r->host,
	    r->port, r->opts.ca_file, r->debug ? tlssess_say : NULL, r)) ==
	    NULL)
		return SKP_ERR_NOMEM;
	if ((rc = ctx_create(r)) != SKP_OK)
		return rc;
	memset(&ci, 0, sizeof(ci));
	ci.context = r->ctx;
	ci.address = r->host;
	ci.port = r->port;
	ci.ssl_connection = r->tls ? LCCSCF_USE_SSL : 0;
	ci.path = r->path;
	ci.host = r->host;
	ci.origin = r->host;
	ci.protocol = SKP_RELAY_SUBPROTOCOL;
	ci.alpn = "http/1.1";
	ci.retry_and_idle_policy = &r->retry;
	ci.pwsi = &r->wsi;
	r->state = CS_CONNECTING;
	dbg(r, "connecting to %s://%s:%d%s", r->tls ? "wss" : "ws", r->host,
	    r->port, r->path);
	guard_enter(&g);
	wsi = sym_lws_client_connect_via_info(&ci);
	guard_leave(&g);
	if (wsi == NULL && r->state == CS_CONNECTING)
		conn_ended(r, SKP_ERR_NETWORK);
	/*
	 * Without waiting: the TCP connect is under way; on a near relay it
	 * completes at once, and the next turns send the upgrade request.
	 */
	for (i = 0; i < 2 && r->state == CS_CONNECTING; i++)
		pump(r, 0);
	return SKP_OK;
}

int
skp_relay_connect_finish(skp_relay_t *r, int timeout_ms)
{
	uint64_t until;
	int rc;

	if (r == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (r->state != CS_CONNECTING && r->state != CS_OPEN &&
	    r->state != CS_CLOSED)
		return SKP_ERR_STATE;
	until = until_of(r, timeout_ms);
	while (r->state == CS_CONNECTING && now_ms() < until)
		pump(r, until);
	if (r->state == CS_CONNECTING) {
		rc = SKP_ERR_TIMEOUT;
		conn_reset(r);
		r->state = CS_IDLE;
		return rc;
	}
	if (r->state == CS_OPEN) {
		/* A relay at a limit closes right after the handshake. */
		pump(r, 0);
	}
	if (r->state != CS_OPEN) {
		rc = r->closed_err != 0 ? r->closed_err : SKP_ERR_NETWORK;
		/* The CLOSED event is the answer; do not report it twice. */
		while (r->evq != NULL) {
			struct evnode *e = r->evq;

			ev_unlink(r, &r->evq);
			evnode_free(e);
		}
		conn_reset(r);
		return rc;
	}
	return SKP_OK;
}

int
skp_relay_connect(skp_relay_t *r, const char *url, int timeout_ms)
{
	int rc;

	if ((rc = skp_relay_connect_start(r, url, timeout_ms)) != SKP_OK)
		return rc;
	return skp_relay_connect_finish(r, timeout_ms);
}

/*
 * ---- a relay list (PROTOCOL.md §7.1): the URLs of one relay in turn ----
 */

int
skp_relay_connect_list_start(skp_relay_t *r, const char *list,
    int timeout_ms)
{
	char url[SKP_RELAYURL_MAX + 1];

	if (r == NULL || list == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (skp_relaylist_check(list, strlen(list), NULL) != SKP_OK)
		return SKP_ERR_INVALID;
	(void)skp_relaylist_get(list, 0, url);
	return skp_relay_connect_start(r, url, timeout_ms);
}

/*
 * What URL i of n may take of what is left: the last all of it, the
 * others their share and at most SKP_RELAY_URL_TIMEOUT_MS, so that a
 * URL that takes the connection and never answers leaves the next ones
 * their turn.
 */
int
skp_relay_url_share(int left, size_t i, size_t n)
{
	int share;

	if (i + 1 >= n)
		return left;
	share = left / (int)(n - i);
	return share < SKP_RELAY_URL_TIMEOUT_MS ? share :
	    SKP_RELAY_URL_TIMEOUT_MS;
}

/* A failure the user must fix says more than the network's. */
static int
list_err(int kept, int rc)
{
	if (kept == SKP_ERR_TLS || kept == SKP_ERR_IO)
		return kept;
	return rc;
}

int
skp_relay_connect_list_finish(skp_relay_t *r, const char *list,
    int timeout_ms, size_t *which)
{
	char url[SKP_RELAYURL_MAX + 1];
	uint64_t t0;
	size_t i, n;
	int left, per, rc = SKP_ERR_TIMEOUT, err = 0;

	if (r == NULL || list == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (which != NULL)
		*which = 0;
	n = skp_relaylist_count(list);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		left = timeout_ms - (int)(now_ms() - t0);
		if (left <= 0 || past_deadline(r)) {
			rc = SKP_ERR_TIMEOUT;
			break;
		}
		per = skp_relay_url_share(left, i, n);
		if (per <= 0)
			per = 1;
		(void)skp_relaylist_get(list, i, url);
		if (i > 0 && (rc = skp_relay_connect_start(r, url, per)) !=
		    SKP_OK) {
			if (rc == SKP_ERR_INVALID || rc == SKP_ERR_IO)
				break;
			err = list_err(err, rc);
			continue;
		}
		if ((rc = skp_relay_connect_finish(r, per)) == SKP_OK) {
			if (which != NULL)
				*which = i;
			if (i > 0)
				dbg(r, "relay %s answered (URL %zu of %zu)",
				    url, i + 1, n);
			return SKP_OK;
		}
		dbg(r, "relay %s: %s, trying the next URL", url,
		    skp_strerror(rc));
		err = list_err(err, rc);
	}
	return rc == SKP_ERR_INVALID ? rc : list_err(err, rc);
}

int
skp_relay_connect_list(skp_relay_t *r, const char *list, int timeout_ms,
    size_t *which)
{
	int rc;

	if ((rc = skp_relay_connect_list_start(r, list, timeout_ms)) !=
	    SKP_OK)
		return rc;
	return skp_relay_connect_list_finish(r, list, timeout_ms, which);
}

/*
 * For a program that waits on other things too (the keeper): one turn,
 * without waiting, of a connection skp_relay_connect_start() began. 1
 * while it is under way, else what skp_relay_connect_finish() answers.
 */
int
skp_relay_connect_step(skp_relay_t *r)
{
	if (r == NULL)
		return SKP_ERR_INVALID;
	if (r->state == CS_CONNECTING)
		pump(r, 0);
	if (r->state == CS_CONNECTING)
		return 1;
	return skp_relay_connect_finish(r, 1);
}

/* Can the object take a new request now? */
static int
usable(const skp_relay_t *r)
{
	if (r == NULL)
		return SKP_ERR_INVALID;
	if (past_deadline(r))
		return SKP_ERR_TIMEOUT;
	if (r->state == CS_CLOSED)
		return r->closed_err != 0 ? r->closed_err : SKP_ERR_CLOSED;
	if (r->state != CS_OPEN || r->ctx == NULL)
		return SKP_ERR_STATE;
	return SKP_OK;
}

/* Push queued frames out now, without waiting. */
static void
flush(skp_relay_t *r)
{
	if (r->ctx != NULL && r->tx != NULL)
		pump(r, 0);
}

int
skp_relay_listen(skp_relay_t *r, const struct skp_p256_key *key,
    int timeout_ms)
{
	uint8_t body[SKP_RELAY_ID_LEN + SKP_RELAY_PUB_LEN];
	struct evnode **ep, *e;
	struct txnode *t = NULL;
	uint64_t until;
	int rc;

	if (key == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if ((rc = usable(r)) != SKP_OK)
		return rc;
	if (r->listening || r->chans != NULL)
		return SKP_ERR_STATE;
	if ((rc = skp_relay_mailbox_id(key->pub, body)) != SKP_OK)
		goto out;
	memcpy(body + SKP_RELAY_ID_LEN, key->pub, SKP_RELAY_PUB_LEN);
	if ((t = txnode_new(SKP_RELAY_LISTEN, 0, body, sizeof(body))) ==
	    NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	r->mbkey = *key;
	r->proving = 1;
	until = until_of(r, timeout_ms);
	r->listening = 1;
	tx_queue(r, t);
	t = NULL;
	for (;;) {
		for (ep = &r->evq; (e = *ep) != NULL; ep = &e->next) {
			if (e->ev.type == SKP_RELAY_EV_LISTENING) {
				ev_unlink(r, ep);
				evnode_free(e);
				rc = SKP_OK;
				goto out;
			}
			if (e->ev.type == SKP_RELAY_EV_CLOSED) {
				rc = e->ev.err;
				goto out;
			}
		}
		if (now_ms() >= until) {
			rc = SKP_ERR_TIMEOUT;
			goto out;
		}
		pump(r, until);
	}
 out:
	skp_wipe(body, sizeof(body));
	txnode_free(t);
	return rc;
}

/* CALL, JOIN and MEET: id || timeout on a new channel. */
static int
open_chan(skp_relay_t *r, uint8_t kind, const uint8_t id[SKP_RELAY_ID_LEN],
    uint32_t timeout_ms, uint32_t *chanp)
{
	uint8_t body[SKP_RELAY_ID_LEN + 4];
	struct txnode *t;
	uint32_t ch;
	int rc;

	if (id == NULL || chanp == NULL)
		return SKP_ERR_INVALID;
	if ((rc = usable(r)) != SKP_OK)
		return rc;
	if (r->listening)
		return SKP_ERR_STATE;
	/* Channel numbers are never reused on one connection. */
	if (r->next_chan == UINT32_MAX)
		return SKP_ERR_LIMIT;
	ch = ++r->next_chan;
	memcpy(body, id, SKP_RELAY_ID_LEN);
	body[32] = (uint8_t)(timeout_ms >> 24);
	body[33] = (uint8_t)(timeout_ms >> 16);
	body[34] = (uint8_t)(timeout_ms >> 8);
	body[35] = (uint8_t)timeout_ms;
	if ((t = txnode_new(kind, ch, body, sizeof(body))) == NULL)
		return SKP_ERR_NOMEM;
	if (chan_add(r, ch, kind == SKP_RELAY_CALL ? CH_CALL : CH_JOIN) ==
	    NULL) {
		txnode_free(t);
		return SKP_ERR_NOMEM;
	}
	tx_queue(r, t);
	flush(r);
	*chanp = ch;
	return SKP_OK;
}

int
skp_relay_call(skp_relay_t *r, const uint8_t mailbox[SKP_RELAY_ID_LEN],
    uint32_t timeout_ms, uint32_t *chan)
{
	return open_chan(r, SKP_RELAY_CALL, mailbox, timeout_ms, chan);
}

int
skp_relay_join(skp_relay_t *r, const uint8_t id[SKP_RELAY_ID_LEN],
    uint32_t timeout_ms, uint32_t *chan)
{
	return open_chan(r, SKP_RELAY_JOIN, id, timeout_ms, chan);
}

int
skp_relay_meet(skp_relay_t *r, const uint8_t id[SKP_RELAY_ID_LEN],
    uint32_t timeout_ms, uint32_t *chan)
{
	return open_chan(r, SKP_RELAY_MEET, id, timeout_ms, chan);
}

int
skp_relay_send(skp_relay_t *r, uint32_t chan, const void *msg, size_t len)
{
	struct txnode *t;
	struct chan *c;
	int rc;

	if ((msg == NULL && len > 0) || len > SKP_RELAY_MAX_MSG)
		return len > SKP_RELAY_MAX_MSG ? SKP_ERR_TOO_LARGE :
		    SKP_ERR_INVALID;
	if ((rc = usable(r)) != SKP_OK)
		return rc;
	if ((c = chan_find(r, chan)) == NULL)
		return SKP_ERR_NOT_FOUND;
	if ((t = txnode_new(SKP_RELAY_DATA, chan, msg, len)) == NULL)
		return SKP_ERR_NOMEM;
	/* Before ONLINE or PEER too: the relay keeps it for the other side. */
	tx_queue(r, t);
	flush(r);
	return SKP_OK;
}

int
skp_relay_hangup(skp_relay_t *r, uint32_t chan)
{
	struct txnode *t;
	int rc;

	if ((rc = usable(r)) != SKP_OK)
		return rc;
	if (chan_find(r, chan) == NULL)
		return SKP_ERR_NOT_FOUND;
	chan_del(r, chan);
	if ((t = txnode_new(SKP_RELAY_HANGUP, chan, NULL, 0)) == NULL)
		return SKP_ERR_NOMEM;
	tx_queue(r, t);
	flush(r);
	return SKP_OK;
}

int
skp_relay_service(skp_relay_t *r, int timeout_ms, struct skp_relay_event *ev)
{
	uint64_t until;
	struct evnode *e;

	if (r == NULL || ev == NULL || timeout_ms < 0)
		return SKP_ERR_INVALID;
	memset(ev, 0, sizeof(*ev));
	ev_release(r);
	until = until_of(r, timeout_ms);
	for (;;) {
		if ((e = r->evq) != NULL) {
			ev_unlink(r, &r->evq);
			/* After CLOSED, tear the connection down. */
			if (e->ev.type == SKP_RELAY_EV_CLOSED)
				conn_reset(r);
			r->cur = e;
			*ev = e->ev;
			return SKP_OK;
		}
		if (r->ctx == NULL || r->state != CS_OPEN)
			break;
		pump(r, until);
		if (r->evq == NULL && now_ms() >= until)
			break;
	}
	return SKP_ERR_TIMEOUT;
}

/*
 * lws tells which events it waits for only through the external poll
 * callbacks, which Debian's libwebsockets is built without
 * (LWS_WITH_EXTERNAL_POLL): so POLLIN, what the connection waits for
 * longest (the relay's answer to TLS and to the upgrade).
 */
int
skp_relay_connect_fd(const skp_relay_t *r, short *events)
{
	int fd;

	if (r == NULL || events == NULL || r->state != CS_CONNECTING ||
	    r->wsi == NULL || (fd = (int)sym_lws_get_socket_fd(r->wsi)) < 0)
		return -1;
	*events = POLLIN;
	return fd;
}

int
skp_relay_fd(const skp_relay_t *r)
{
	if (r == NULL || r->wsi == NULL || r->state != CS_OPEN)
		return -1;
	return (int)sym_lws_get_socket_fd(r->wsi);
}

/* chan_wait's stop for a JOIN the relay took: WAITING or PEER. */
#define STOP_OPEN	(-2)

/*
 * Waits on one channel: status events go to on_status (and end the wait
 * when `stop' is one of them), a message is handed over, END and CLOSED
 * answer their error.
 */
static int
chan_wait(skp_relay_t *r, uint32_t chan, int timeout_ms, int stop,
    uint8_t **msg, size_t *len)
{
	struct evnode **ep, *e;
	uint64_t until;
	int rc, type;

	if (r == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	ev_release(r);
	until = until_of(r, timeout_ms);
	for (;;) {
		for (ep = &r->evq; (e = *ep) != NULL; ) {
			type = e->ev.type;
			if (type == SKP_RELAY_EV_CLOSED)
				return e->ev.err;
			if (e->ev.chan != chan) {
				ep = &e->next;
				continue;
			}
			if (type == SKP_RELAY_EV_MESSAGE && msg == NULL)
				return SKP_OK;	/* wait: already past it */
			ev_unlink(r, ep);
			switch (type) {
			case SKP_RELAY_EV_ONLINE:
			case SKP_RELAY_EV_OFFLINE:
			case SKP_RELAY_EV_WAITING:
			case SKP_RELAY_EV_PEER:
				if (r->opts.on_status != NULL)
					r->opts.on_status(r->opts.arg, chan,
					    type);
				evnode_free(e);
				if (type == stop || (stop == STOP_OPEN &&
				    (type == SKP_RELAY_EV_WAITING ||
				    type == SKP_RELAY_EV_PEER)))
					return SKP_OK;
				continue;
			case SKP_RELAY_EV_MESSAGE:
				*msg = e->buf;
				*len = e->ev.len;
				e->buf = NULL;
				evnode_free(e);
				return SKP_OK;
			case SKP_RELAY_EV_END:
				rc = e->ev.err;
				r->end_code = e->ev.code;
				evnode_free(e);
				return rc;
			default:
				evnode_free(e);
				continue;
			}
		}
		if (chan_find(r, chan) == NULL)
			return SKP_ERR_NOT_FOUND;
		if (r->deadline != 0 && now_ms() >= r->deadline)
			return SKP_ERR_TIMEOUT;
		if (now_ms() >= until)
			return SKP_ERR_TIMEOUT;
		if (r->ctx == NULL)
			return SKP_ERR_STATE;
		pump(r, until);
	}
}

unsigned int
skp_relay_end_code(const skp_relay_t *r)
{
	return r != NULL ? r->end_code : 0;
}

int
skp_relay_wait(skp_relay_t *r, uint32_t chan, int timeout_ms)
{
	struct chan *c;

	if (r == NULL)
		return SKP_ERR_INVALID;
	c = chan_find(r, chan);
	if (c != NULL && c->ready)
		return SKP_OK;
	if (c != NULL && c->type == CH_INCOMING)
		return SKP_OK;
	return chan_wait(r, chan, timeout_ms, c != NULL && c->type == CH_JOIN ?
	    SKP_RELAY_EV_PEER : SKP_RELAY_EV_ONLINE, NULL, NULL);
}

int
skp_relay_wait_open(skp_relay_t *r, uint32_t chan, int timeout_ms)
{
	struct chan *c;

	if (r == NULL)
		return SKP_ERR_INVALID;
	c = chan_find(r, chan);
	if (c != NULL && c->ready)
		return SKP_OK;
	return chan_wait(r, chan, timeout_ms, STOP_OPEN, NULL, NULL);
}

int
skp_relay_recv(skp_relay_t *r, uint32_t chan, int timeout_ms, uint8_t **msg,
    size_t *len)
{
	uint8_t *m = NULL;
	size_t n = 0;
	int rc;

	if (msg == NULL || len == NULL)
		return SKP_ERR_INVALID;
	*msg = NULL;
	*len = 0;
	if ((rc = chan_wait(r, chan, timeout_ms, -1, &m, &n)) != SKP_OK)
		return rc;
	/* An empty message still hands out a buffer the caller frees. */
	if (m == NULL && (m = malloc(1)) == NULL)
		return SKP_ERR_NOMEM;
	*msg = m;
	*len = n;
	return SKP_OK;
}

/* exchange: the caller's status callback, and whether OFFLINE came. */
struct xstatus {
	void	(*fn)(void *, uint32_t, int);
	void	*arg;
	int	 offline;
};

static void
xstatus_cb(void *arg, uint32_t chan, int type)
{
	struct xstatus *x = arg;

	if (type == SKP_RELAY_EV_OFFLINE)
		x->offline = 1;
	if (x->fn != NULL)
		x->fn(x->arg, chan, type);
}

int
skp_relay_exchange(const char *url, const struct skp_relay_opts *opts,
    const uint8_t mailbox[SKP_RELAY_ID_LEN], const void *msg, size_t len,
    int timeout_ms, uint8_t **reply, size_t *replylen)
{
	struct skp_relay_opts o;
	struct xstatus x;
	skp_relay_t *r = NULL;
	uint32_t chan;
	int rc;

	if (url == NULL || mailbox == NULL || reply == NULL ||
	    replylen == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	*reply = NULL;
	*replylen = 0;
	memset(&o, 0, sizeof(o));
	if (opts != NULL)
		o = *opts;
	memset(&x, 0, sizeof(x));
	x.fn = o.on_status;
	x.arg = o.arg;
	o.on_status = xstatus_cb;
	o.arg = &x;
	if ((r = skp_relay_new(&o)) == NULL)
		return SKP_ERR_NOMEM;
	/* A held call keeps nothing: after OFFLINE, send again on ONLINE. */
	if ((rc = skp_relay_set_deadline(r, timeout_ms)) != SKP_OK ||
	    (rc = skp_relay_connect(r, url, timeout_ms)) != SKP_OK ||
	    (rc = skp_relay_call(r, mailbox, (uint32_t)timeout_ms, &chan)) !=
	    SKP_OK ||
	    (rc = skp_relay_send(r, chan, msg, len)) != SKP_OK ||
	    (rc = skp_relay_wait(r, chan, timeout_ms)) != SKP_OK ||
	    (x.offline && (rc = skp_relay_send(r, chan, msg, len)) !=
	    SKP_OK) ||
	    (rc = skp_relay_recv(r, chan, timeout_ms, reply, replylen)) !=
	    SKP_OK)
		goto out;
	(void)skp_relay_hangup(r, chan);
 out:
	skp_relay_free(&r);
	return rc;
}
