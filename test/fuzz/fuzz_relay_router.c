/*
 * Fuzz harness: the relay's router (cmd/sk-phone-relay/relay.c, table.c)
 * with libwebsockets stubbed. The input is a script of operations on up
 * to NCONN fake connections: open, a frame whole or in pieces (raw bytes,
 * or built from a small menu so that LISTEN/PROVE, CALL, JOIN, DATA and
 * HANGUP meet), writable, close, time passing, a socket that backs up.
 * After every step the relay's counters must agree with its structures;
 * after the script every connection closes and nothing may be left.
 * Every frame the relay writes must parse as a relay frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The router itself, with its static functions, built in here. */
#include "cmd/sk-phone-relay/table.c"
#include "cmd/sk-phone-relay/relay.c"
/* Built without SKP_RELAY_CLUSTER: the stubs of a relay without --cluster. */
#include "cmd/sk-phone-relay/cluster.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NCONN	6
#define NKEYS	3

/* The opaque lws handle, ours here. */
struct lws {
	int		 live;		/* between open and close */
	int		 binary, first, final;
	size_t		 remaining;
	void		*opaque;
	int		 backed_up;	/* lws_partial_buffered() says 1 */
	int		 gone;		/* lws_write() fails */
	int		 v1;
	struct conn	*user;
	uint8_t		 nonce[SKP_RELAY_NONCE_LEN];
	int		 have_nonce;
};

static struct lws fake[NCONN];
static struct skp_p256_key keys[NKEYS];
static int keys_ready;

/* libwebsockets, as far as relay.c uses it. */

const char *
lws_get_peer_simple(struct lws *wsi, char *name, size_t namelen)
{
	(void)wsi;
	snprintf(name, namelen, "fuzz");
	return name;
}

int
lws_write(struct lws *wsi, unsigned char *buf, size_t len,
    enum lws_write_protocol protocol)
{
	struct skp_relay_frame f;

	if (wsi->gone)
		return -1;
	if ((protocol & 0x0f) == LWS_WRITE_BINARY) {
		/* The relay only ever writes well-formed frames. */
		if (skp_relay_parse_relay(buf, len, &f) != SKP_OK)
			abort();
		if (f.kind == SKP_RELAY_CHALLENGE) {
			memcpy(wsi->nonce, f.data, SKP_RELAY_NONCE_LEN);
			wsi->have_nonce = 1;
		}
	}
	return (int)len;
}

int
lws_partial_buffered(struct lws *wsi)
{
	return wsi->backed_up;
}

int
lws_callback_on_writable(struct lws *wsi)
{
	(void)wsi;
	return 1;
}

int
lws_rx_flow_control(struct lws *wsi, int enable)
{
	(void)wsi;
	(void)enable;
	return 0;
}

void
lws_close_reason(struct lws *wsi, enum lws_close_status status,
    unsigned char *buf, size_t len)
{
	(void)wsi;
	(void)status;
	(void)buf;
	(void)len;
}

void
lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
	(void)wsi;
	(void)reason;
	(void)secs;
}

int
lws_frame_is_binary(struct lws *wsi)
{
	return wsi->binary;
}

size_t
lws_remaining_packet_payload(struct lws *wsi)
{
	return wsi->remaining;
}

int
lws_is_first_fragment(struct lws *wsi)
{
	return wsi->first;
}

int
lws_is_final_fragment(struct lws *wsi)
{
	return wsi->final;
}

lws_sockfd_type
lws_get_socket_fd(struct lws *wsi)
{
	(void)wsi;
	return -1;	/* getpeername() fails: one address for all */
}

void
lws_set_opaque_user_data(struct lws *wsi, void *data)
{
	wsi->opaque = data;
}

void *
lws_get_opaque_user_data(const struct lws *wsi)
{
	return wsi->opaque;
}

const struct lws_protocols *
lws_get_protocol(struct lws *wsi)
{
	return wsi->v1 ? &protocols[0] : &protocols[1];
}

void
lws_sul_schedule(struct lws_context *ctx, int tsi, lws_sorted_usec_list_t *sul,
    sul_cb_t cb, lws_usec_t us)
{
	(void)ctx;
	(void)tsi;
	(void)sul;
	(void)cb;
	(void)us;
}

struct lws_vhost *
lws_get_vhost_by_name(struct lws_context *context, const char *name)
{
	(void)context;
	(void)name;
	return NULL;
}

const struct lws_protocols *
lws_vhost_name_to_protocol(struct lws_vhost *vh, const char *name)
{
	(void)vh;
	(void)name;
	return NULL;
}

int
lws_callback_all_protocol_vhost_args(struct lws_vhost *vh,
    const struct lws_protocols *protocol, int reason, void *argp, size_t len)
{
	(void)vh;
	(void)protocol;
	(void)reason;
	(void)argp;
	(void)len;
	return 0;
}

/* web.c: the web phone is not served here (fuzz_relay_web has it). */
int
relayd_web_cb(struct lws *wsi, int reason, struct relayd_web **slot,
    void *in, size_t len, int busy)
{
	(void)wsi;
	(void)in;
	(void)len;
	(void)busy;
	if (*slot != NULL)
		abort();
	return reason == LWS_CALLBACK_HTTP ? -1 : 0;
}

/*
 * push.c, faked: on, one subscription per mailbox kept as a flag, and
 * the handles of queued pushes, each of which the router must cancel
 * (its call ended or was delivered) before the script is over.
 */
#define NPUSH	64
static uint64_t push_live[NPUSH];
static uint64_t push_next;
static uint8_t push_subs[NKEYS + 1][32];
static int push_nsubs;

int
relayd_push_on(void)
{
	return 1;
}

int
relayd_push_subscribe(const uint8_t id[32], const uint8_t *p, size_t n,
    uint8_t key[65])
{
	int i;

	memset(key, 0x04, 65);
	if (n == 0)
		return SKP_RELAY_PUSH_OK;
	if (n < 93 || p[0] != 0x04)
		return -1;
	if (p[81] != 'h')
		return SKP_RELAY_PUSH_REFUSED;
	for (i = 0; i < push_nsubs; i++)
		if (memcmp(push_subs[i], id, 32) == 0)
			return SKP_RELAY_PUSH_OK;
	if (push_nsubs > NKEYS)
		return SKP_RELAY_PUSH_FULL;
	memcpy(push_subs[push_nsubs++], id, 32);
	return SKP_RELAY_PUSH_OK;
}

int
relayd_push_unsubscribe(const uint8_t id[32], uint8_t key[65])
{
	int i;

	memset(key, 0x04, 65);
	for (i = 0; i < push_nsubs; i++)
		if (memcmp(push_subs[i], id, 32) == 0) {
			memcpy(push_subs[i], push_subs[--push_nsubs], 32);
			break;
		}
	return SKP_RELAY_PUSH_REMOVED;
}

uint64_t
relayd_push_call(const uint8_t id[32], const uint8_t *msg, size_t len,
    uint32_t left_ms)
{
	int i, sub = 0;

	(void)msg;
	if (len > 0 && msg == NULL)
		abort();
	if (left_ms == 0 || left_ms > R.c.max_hold_s * 1000)
		abort();
	for (i = 0; i < push_nsubs; i++)
		if (memcmp(push_subs[i], id, 32) == 0)
			sub = 1;
	if (!sub)
		return 0;
	for (i = 0; i < NPUSH; i++)
		if (push_live[i] == 0) {
			push_live[i] = ++push_next;
			return push_live[i];
		}
	return 0;	/* the queue is full */
}

void
relayd_push_cancel(uint64_t h)
{
	int i;

	for (i = 0; i < NPUSH; i++)
		if (push_live[i] == h) {
			push_live[i] = 0;
			return;
		}
	abort();	/* not a live handle */
}

void
relayd_push_results(void)
{
}

void
relayd_push_stats(struct relayd_push_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->subs = (size_t)push_nsubs;
}

/* main.c's log functions: quiet. */
void
relayd_log(const char *fmt, ...)
{
	(void)fmt;
}

void
relayd_vlog(const char *fmt, ...)
{
	(void)fmt;
}

void
relayd_refusal(const char *fmt, ...)
{
	(void)fmt;
}

/* The script. */

struct script {
	const uint8_t	*p;
	size_t		 n, off;
};

static int
take(struct script *s, size_t want, const uint8_t **out)
{
	if (s->n - s->off < want)
		return -1;
	*out = s->p + s->off;
	s->off += want;
	return 0;
}

static int
byte(struct script *s, uint8_t *b)
{
	const uint8_t *q;

	if (take(s, 1, &q) != 0)
		return -1;
	*b = *q;
	return 0;
}

static void
cb(struct lws *w, enum lws_callback_reasons reason, void *in, size_t len)
{
	(void)relay_cb(w, reason, w->user, in, len);
}

static void
conn_open(int i, int v1)
{
	struct lws *w = &fake[i];

	memset(w, 0, sizeof(*w));
	if ((w->user = calloc(1, sizeof(struct conn))) == NULL)
		abort();
	w->live = 1;
	w->v1 = v1;
	if (relay_cb(w, LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED, NULL, NULL,
	    0) != 0) {
		cb(w, LWS_CALLBACK_WSI_DESTROY, NULL, 0);
		free(w->user);
		w->user = NULL;
		w->live = 0;
		return;
	}
	cb(w, LWS_CALLBACK_ESTABLISHED, NULL, 0);
}

static void
conn_gone(int i)
{
	struct lws *w = &fake[i];

	if (!w->live)
		return;
	cb(w, LWS_CALLBACK_CLOSED, NULL, 0);
	cb(w, LWS_CALLBACK_WSI_DESTROY, NULL, 0);
	free(w->user);
	memset(w, 0, sizeof(*w));
}

/* One websocket message in pieces: cuts are sizes of all but the last. */
static void
deliver_msg(int i, uint8_t *msg, size_t n, const uint8_t *cuts, size_t ncuts,
    int binary)
{
	struct lws *w = &fake[i];
	size_t off = 0, k, piece;

	for (k = 0; k <= ncuts && w->live; k++) {
		piece = k < ncuts ? cuts[k] % (n - off + 1) : n - off;
		w->binary = binary;
		w->first = off == 0;
		w->final = k == ncuts || off + piece == n;
		w->remaining = n - off - piece;
		cb(w, LWS_CALLBACK_RECEIVE, msg + off, piece);
		off += piece;
		if (w->final)
			break;
	}
}

/* A frame from the menu: valid enough to reach the router's states. */
static size_t
menu_frame(struct script *s, int i, uint8_t *out, size_t cap)
{
	uint8_t kind, chan, which, len;
	uint8_t id[SKP_RELAY_ID_LEN];
	const uint8_t *data;
	size_t n = SKP_RELAY_HDR_LEN;

	if (byte(s, &kind) != 0 || byte(s, &chan) != 0 ||
	    byte(s, &which) != 0)
		return 0;
	memset(id, 0, sizeof(id));
	switch (kind % 8) {
	case 0:		/* LISTEN with key `which' */
		skp_relay_put_hdr(out, SKP_RELAY_LISTEN, 0);
		(void)skp_relay_mailbox_id(keys[which % NKEYS].pub, out + n);
		memcpy(out + n + 32, keys[which % NKEYS].pub, 65);
		return n + 97;
	case 1:		/* PROVE for the last nonce this connection got */
		skp_relay_put_hdr(out, SKP_RELAY_PROVE, 0);
		if (skp_relay_prove(&keys[which % NKEYS], fake[i].nonce,
		    out + n) != SKP_OK)
			abort();
		return n + 64;
	case 2:		/* CALL the mailbox of key `which' */
	case 3:		/* JOIN (or MEET, bit 6) rendezvous `which' */
		skp_relay_put_hdr(out, kind % 6 == 2 ? SKP_RELAY_CALL :
		    (which & 0x40) ? SKP_RELAY_MEET : SKP_RELAY_JOIN,
		    chan % 5);
		if (kind % 6 == 2)
			(void)skp_relay_mailbox_id(keys[which % NKEYS].pub, id);
		else
			id[0] = which % 3;
		memcpy(out + n, id, 32);
		memset(out + n + 32, 0, 4);
		out[n + 35] = (uint8_t)(which >> 4);	/* timeout, ms */
		return n + 36;
	case 4:		/* DATA of `len' script bytes */
		skp_relay_put_hdr(out, SKP_RELAY_DATA, chan % 5);
		if (byte(s, &len) != 0 || take(s, len, &data) != 0)
			return 0;
		if (n + len > cap)
			return 0;
		memcpy(out + n, data, len);
		/* Big ones too: the caps are about them. */
		if (which & 0x80) {
			size_t big = (size_t)(which & 0x7f) * 64;

			if (n + big > cap)
				big = cap - n;
			memset(out + n, 0x5a, big);
			return n + big;
		}
		return n + len;
	case 6:		/* SUBSCRIBE: empty, or keys and a URL */
		skp_relay_put_hdr(out, SKP_RELAY_SUBSCRIBE, chan % 2);
		if (which & 1)
			return n;
		memcpy(out + n, keys[which % NKEYS].pub, 65);
		memset(out + n + 65, which, 16);
		memcpy(out + n + 81, (which & 2) ? "ftp://x.example/" :
		    "https://x.example", 16);
		return n + 81 + 16;
	case 7:		/* UNSUBSCRIBE */
		skp_relay_put_hdr(out, SKP_RELAY_UNSUBSCRIBE, chan % 2);
		return n;
	default:	/* HANGUP */
		skp_relay_put_hdr(out, SKP_RELAY_HANGUP, chan % 5);
		return n;
	}
}

/* The counters agree with what they count. */
static void
check(void)
{
	uint64_t qtotal = 0;
	uint32_t pending = 0, nlive = 0, nch;
	struct end *e;
	struct conn *c;
	int i;

	for (i = 0; i < NCONN; i++) {
		if (!fake[i].live || (c = fake[i].user) == NULL ||
		    !(c->flags & F_LIVE))
			continue;
		nlive++;
		qtotal += c->qbytes;
		nch = 0;
		for (e = c->ends; e != NULL; e = e->next) {
			if (e->conn != c || e->link == NULL)
				abort();
			nch++;
			if (e == &e->link->a && (e->link->state == L_HELD ||
			    e->link->state == L_WAITING))
				pending++;
		}
		if (nch != c->nchans)
			abort();
	}
	if (qtotal != R.qtotal || pending != R.npending || nlive != R.nlive)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[4096];
	struct relayd_conf conf;
	struct script s = { data, size, 0 };
	const uint8_t *raw, *cuts;
	uint8_t op, arg, len, ncuts;
	size_t n;
	int i;

	if (!keys_ready) {
		uint8_t priv[32];

		for (i = 0; i < NKEYS; i++) {
			memset(priv, i + 1, sizeof(priv));
			if (skp_p256_from_private(priv, &keys[i]) != SKP_OK)
				abort();
		}
		keys_ready = 1;
	}
	memset(&conf, 0, sizeof(conf));
	conf.max_frame = 2048;
	conf.max_conns = 5;
	conf.max_per_addr = 5;
	conf.max_calls = 4;
	conf.max_pending = 4;
	conf.max_chans = 3;
	conf.max_hold_s = 2;
	conf.max_held_bytes = 3000;
	conf.max_queued = 0;	/* raised to 5 frames by relayd_init */
	conf.max_queued_total = 12000;
	conf.handshake_s = 1;
	conf.idle_s = 3;
	conf.ping_s = 2;
	if (relayd_init(&conf) != SKP_OK)
		return 0;
	memset(fake, 0, sizeof(fake));
	memset(push_live, 0, sizeof(push_live));
	push_nsubs = 0;
	while (byte(&s, &op) == 0 && byte(&s, &arg) == 0) {
		i = arg % NCONN;
		switch (op % 8) {
		case 0:
			if (!fake[i].live)
				conn_open(i, (arg & 0x80) != 0);
			break;
		case 1:		/* raw bytes as one message, maybe text */
			if (!fake[i].live || byte(&s, &len) != 0 ||
			    take(&s, len, &raw) != 0)
				break;
			memcpy(frame, raw, len);
			deliver_msg(i, frame, len, NULL, 0, !(arg & 0x80));
			break;
		case 2:		/* a menu frame, whole or in pieces */
			if (!fake[i].live ||
			    (n = menu_frame(&s, i, frame, sizeof(frame))) == 0)
				break;
			ncuts = 0;
			cuts = NULL;
			if ((arg & 0x40) && (byte(&s, &ncuts) != 0 ||
			    take(&s, ncuts % 4, &cuts) != 0))
				break;
			deliver_msg(i, frame, n, cuts, ncuts % 4, 1);
			break;
		case 3:
			if (fake[i].live)
				cb(&fake[i], LWS_CALLBACK_SERVER_WRITEABLE,
				    NULL, 0);
			break;
		case 4:
			conn_gone(i);
			break;
		case 5:		/* time: up to 25.5 s */
			wheel_advance(&R.wheel, R.wheel.now + arg, fire);
			break;
		case 6:
			fake[i].backed_up = !fake[i].backed_up;
			break;
		default:
			fake[i].gone = 1;
			break;
		}
		check();
	}
	for (i = 0; i < NCONN; i++)
		conn_gone(i);
	if (R.npending != 0 || R.heldbytes != 0 || R.qtotal != 0 ||
	    R.nconns != 0 || R.nlive != 0 || R.mboxes.n != 0 ||
	    R.rdvs.n != 0 || R.addrs.n != 0)
		abort();
	/* Every queued push was cancelled with its call. */
	for (i = 0; i < NPUSH; i++)
		if (push_live[i] != 0)
			abort();
	relayd_fini();
	return 0;
}
