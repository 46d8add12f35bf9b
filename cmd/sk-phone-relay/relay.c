/* sk-phone-relay: the router of listeners, calls and rendezvous, and limits. */
/*
 * libwebsockets.h names OpenSSL types that OPENSSL_NO_DEPRECATED hides
 * (RSA); this file calls no OpenSSL function itself (the mailbox proof
 * is checked by lib/crypto.c).
 */
#undef OPENSSL_NO_DEPRECATED

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#include "relayd.h"

/*
 * Memory per idle phone is what the relay is judged on: lws's own wsi,
 * its rx buffer (RX_CHUNK; bigger frames arrive in pieces and are put
 * together only while they arrive), and a struct conn. Nothing else is
 * kept per connection: no timers in lws's sorted list, queues empty.
 */
#define RX_CHUNK	512
/* Connections past a limit are still upgraded, to be told why with a
 * close code; past the limit plus this they are dropped at accept. */
#define HARD_SLACK	16
#define WRITES_PER_CB	16
/* A closing connection that cannot flush is cut after this. */
#define CLOSE_FLUSH_S	10

enum role {
	ROLE_NONE = 0,
	ROLE_PROVING,		/* LISTEN done, CHALLENGE sent */
	ROLE_LISTENER,
	ROLE_CALLER,
};

/* Between LISTEN and PROVE; freed once the proof is checked. */
struct proving {
	uint8_t		 id[SKP_RELAY_ID_LEN];
	uint8_t		 pub[SKP_RELAY_PUB_LEN];
	uint8_t		 nonce[SKP_RELAY_NONCE_LEN];
};

enum { T_CONN = 1, T_LINK };
enum { K_CALL = 1, K_RDV };
enum { L_HELD = 1, L_WAITING, L_ACTIVE, L_ROUTING };

#define F_LIVE		0x01	/* established and counted */
#define F_PING_DUE	0x02	/* send a ping when writable */
#define F_PING_OUT	0x04	/* a ping is not answered yet */
#define F_CLOSING	0x08	/* routing is over; close when flushed */
#define F_THROTTLED	0x10	/* not reading: a peer's queue is full */

struct txq {
	struct txq	*next;
	uint32_t	 len;		/* frame bytes after LWS_PRE */
	uint32_t	 cap;		/* room after LWS_PRE */
	uint8_t		 buf[];		/* LWS_PRE || frame */
};

struct conn;
struct link;
struct xlink;

/* One side of a channel. */
struct end {
	struct end	*next;		/* the connection's ends */
	struct conn	*conn;		/* NULL while nobody is there */
	struct link	*link;
	uint32_t	 chan;
};

/* A call (caller a, phone b) or a rendezvous (first a, second b). */
struct link {
	struct end	 a;
	struct end	 b;
	struct link	*mnext;		/* the calls of one mailbox */
	struct link	**mpprev;
	struct mbox	*mb;
	struct rdv	*rdv;
	struct addr	*caddr;		/* a's address, while pending */
	struct wtimer	 timer;
	/* DATA from a before delivery, kept for b: at most --max-frame. */
	struct txq	*held;
	struct txq	**heldtail;
	uint32_t	 heldbytes;
	uint64_t	 push;		/* relayd_push_call()'s handle, or 0 */
	struct xlink	*x;		/* cluster: an end on another node */
	uint8_t		 kind;
	uint8_t		 state;
	uint8_t		 pushed;	/* its first DATA was seen while held */
};

struct mbox {
	struct tnode_key n;		/* key: mailbox id */
	struct conn	*listener;
	struct link	*calls;
	uint32_t	 next_chan;
	uint32_t	 ncalls;
};

struct rdv {
	struct tnode_key n;		/* key: rendezvous id */
	struct link	*link;
};

/*
 * Cluster: one end of a link is on another node (docs/PROTOCOL.md
 * §7.12). Its struct end has no conn; what goes to it is published to
 * that node's channel, naming its link (rid). Keyed by our link id.
 */
struct xlink {
	struct tnode_key n;		/* key: lid, big endian, then zeros */
	struct xlink	*next;		/* all of them */
	struct xlink	**pprev;
	struct link	*l;
	uint64_t	 lid;
	uint64_t	 rid;		/* the other node's link, 0: not yet */
	char		 node[RELAYD_NODE_MAX + 1];	/* "": not known */
	uint8_t		 id[SKP_RELAY_ID_LEN];	/* mailbox or rendezvous */
	uint8_t		 side;		/* 0: a is remote, 1: b is */
	uint8_t		 offlined;	/* the caller was told OFFLINE */
	uint8_t		 tries;		/* lookups that found nobody */
	uint8_t		 meet;		/* a MEET (never waits) */
};

struct addr {
	struct tnode_key n;		/* key: relayd_addr_keys() */
	struct addr	*up;		/* IPv6: /64 -> /56 -> /48 */
	uint32_t	 count;		/* TCP connections */
	uint32_t	 pending;	/* held calls and waits it opened */
	uint8_t		 level;		/* 0, 1, 2: limit x 1, 4, 16 */
};

/* lws allocates this zeroed per websocket connection. */
struct conn {
	struct lws	*wsi;
	struct addr	*addr;
	struct mbox	*mb;
	struct end	*ends;
	struct txq	*qhead;
	struct txq	**qtail;
	struct txq	*rx;		/* a frame arriving in pieces */
	struct proving	*pv;		/* ROLE_PROVING */
	struct relayd_web *web;		/* an HTTP answer being sent */
	struct wtimer	 timer;
	uint32_t	 qbytes;
	uint32_t	 last_rx;	/* tick */
	uint32_t	 ping_sent;	/* tick */
	uint16_t	 nchans;
	uint16_t	 close_code;
	uint8_t		 role;
	uint8_t		 flags;
};

static struct {
	struct relayd_conf	 c;
	struct lws_context	*ctx;
	struct table		 mboxes;
	struct table		 rdvs;
	struct table		 addrs;
	struct table		 xlinks;
	struct xlink		*xall;
	uint64_t		 next_lid;
	int			 cluster;	/* --cluster given */
	struct wheel		 wheel;
	lws_sorted_usec_list_t	 tick_sul;
	uint64_t		 start_ms;
	uint32_t		 nconns;	/* TCP */
	uint32_t		 nlive;		/* websocket */
	uint32_t		 npending;
	uint64_t		 heldbytes;	/* in all links */
	uint32_t		 qhigh;
	uint32_t		 qlow;
	uint64_t		 qtotal;	/* bytes in all queues */
	int			 stopping;
	/* For the summary line, since the last one. */
	uint64_t		 st_opened;
	uint64_t		 st_closed;
	uint64_t		 st_calls;
	uint64_t		 st_joins;
	uint64_t		 st_refused;
} R;

#define STATS_TICKS	(60 * 1000 / WHEEL_TICK_MS)

/* Monotonic milliseconds: the wheel's, the summary's and push.c's clock. */
uint64_t
relayd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t
secs_to_ticks(uint32_t s)
{
	return s * (1000 / WHEEL_TICK_MS);
}

static const char *
peer_name(struct lws *wsi, char *buf, size_t len)
{
	if (wsi == NULL || lws_get_peer_simple(wsi, buf, len) == NULL)
		return "?";
	return buf;
}

/* Frames out. */

static struct txq *
txq_new(size_t framelen)
{
	struct txq *q;

	if ((q = malloc(sizeof(*q) + LWS_PRE + framelen)) == NULL)
		return NULL;
	q->next = NULL;
	q->len = 0;
	q->cap = (uint32_t)framelen;
	return q;
}

static void
txq_free(struct txq *q)
{
	free(q);
}

static void
queue(struct conn *c, struct txq *q)
{
	int n;

	/*
	 * Nothing waiting and the socket not backed up: write now. Waiting
	 * for the writable callback costs a round of the event loop per
	 * frame, which with poll(2) means a pass over every connection. A
	 * write the socket only partly takes is kept by lws and finished
	 * when writable; later frames then queue here behind it, so the
	 * order holds and the queue limit still applies.
	 */
	if (c->qhead == NULL && !(c->flags & (F_CLOSING | F_PING_DUE)) &&
	    !lws_partial_buffered(c->wsi)) {
		n = lws_write(c->wsi, q->buf + LWS_PRE, q->len,
		    LWS_WRITE_BINARY);
		txq_free(q);
		if (n < 0) {
			/*
			 * The socket is gone. Not detached here (we may be
			 * inside link_end for this very link): lws closes it
			 * and on_closed() detaches.
			 */
			c->flags |= F_CLOSING;
			c->close_code = 0;
			lws_callback_on_writable(c->wsi);
		}
		return;
	}
	q->next = NULL;
	*c->qtail = q;
	c->qtail = &q->next;
	c->qbytes += q->len;
	R.qtotal += q->len;
	lws_callback_on_writable(c->wsi);
}

/* A control frame: header and a small body. */
static void
send_ctl(struct conn *c, uint8_t kind, uint32_t chan, const void *body,
    size_t len)
{
	struct txq *q;

	if (c == NULL || (c->flags & F_CLOSING))
		return;
	if ((q = txq_new(SKP_RELAY_HDR_LEN + len)) == NULL)
		return;	/* the peer then times out: nothing better to do */
	skp_relay_put_hdr(q->buf + LWS_PRE, kind, chan);
	if (len > 0)
		memcpy(q->buf + LWS_PRE + SKP_RELAY_HDR_LEN, body, len);
	q->len = (uint32_t)(SKP_RELAY_HDR_LEN + len);
	queue(c, q);
}

static void
send_end(struct conn *c, uint32_t chan, uint16_t code)
{
	const char *reason = skp_relay_code_reason(code);
	uint8_t body[2 + SKP_RELAY_REASON_MAX];
	size_t n = strlen(reason);

	if (n > SKP_RELAY_REASON_MAX)
		n = SKP_RELAY_REASON_MAX;
	body[0] = (uint8_t)(code >> 8);
	body[1] = (uint8_t)code;
	memcpy(body + 2, reason, n);
	send_ctl(c, SKP_RELAY_END, chan, body, 2 + n);
}

static void
throttle(struct conn *c)
{
	if (c->flags & F_THROTTLED)
		return;
	c->flags |= F_THROTTLED;
	lws_rx_flow_control(c->wsi, 0);
}

static void
unthrottle(struct conn *c)
{
	if (c == NULL || !(c->flags & F_THROTTLED))
		return;
	c->flags &= (uint8_t)~F_THROTTLED;
	if (!(c->flags & F_CLOSING))
		lws_rx_flow_control(c->wsi, 1);
}

/* Channels. */

static struct end *
end_find(const struct conn *c, uint32_t chan)
{
	struct end *e;

	for (e = c->ends; e != NULL; e = e->next)
		if (e->chan == chan)
			return e;
	return NULL;
}

static void
end_attach(struct conn *c, struct end *e, struct link *l, uint32_t chan)
{
	e->conn = c;
	e->link = l;
	e->chan = chan;
	e->next = c->ends;
	c->ends = e;
	c->nchans++;
}

static void
end_detach(struct end *e)
{
	struct conn *c = e->conn;
	struct end **ep;

	if (c == NULL)
		return;
	for (ep = &c->ends; *ep != NULL; ep = &(*ep)->next) {
		if (*ep == e) {
			*ep = e->next;
			c->nchans--;
			break;
		}
	}
	unthrottle(c);
	e->next = NULL;
	e->conn = NULL;
}

static struct end *
other_end(struct end *e)
{
	return e == &e->link->a ? &e->link->b : &e->link->a;
}

/* Cluster: links with an end on another node (docs/PROTOCOL.md §7.12). */

#define X_TRIES		3	/* lookups of a call that find nobody */
#define X_CHECK_TICKS	5	/* are the nodes we talk to alive? */
#define X_REFRESH_TICKS	200	/* the mailboxes we hold, in Redis */

static struct end *
x_remote_end(struct link *l)
{
	return l->x->side == 0 ? &l->a : &l->b;
}

static struct end *
x_local_end(struct link *l)
{
	return l->x->side == 0 ? &l->b : &l->a;
}

static void
x_key(uint64_t lid, uint8_t key[32])
{
	int i;

	memset(key, 0, 32);
	for (i = 0; i < 8; i++)
		key[i] = (uint8_t)(lid >> (56 - 8 * i));
}

static struct xlink *
x_new(struct link *l, uint8_t side, const uint8_t id[SKP_RELAY_ID_LEN])
{
	struct xlink *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	if (++R.next_lid == 0)
		R.next_lid = 1;
	x->lid = R.next_lid;
	x_key(x->lid, x->n.key);
	(void)table_put(&R.xlinks, &x->n);
	x->next = R.xall;
	if (x->next != NULL)
		x->next->pprev = &x->next;
	R.xall = x;
	x->pprev = &R.xall;
	x->l = l;
	x->side = side;
	memcpy(x->id, id, SKP_RELAY_ID_LEN);
	l->x = x;
	return x;
}

static void
x_free(struct link *l)
{
	struct xlink *x = l->x;

	if (x == NULL)
		return;
	table_del(&R.xlinks, &x->n);
	*x->pprev = x->next;
	if (x->next != NULL)
		x->next->pprev = x->pprev;
	l->x = NULL;
	free(x);
}

static struct xlink *
x_find(uint64_t lid)
{
	uint8_t key[32];

	if (lid == 0)
		return NULL;
	x_key(lid, key);
	return (struct xlink *)table_get(&R.xlinks, key);
}

static void
x_msg_init(struct clmsg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	snprintf(m->node, sizeof(m->node), "%s", relayd_cluster_node());
}

/* To the other node's end of the link. */
static void
x_send(struct xlink *x, uint8_t type, const uint8_t *data, size_t len,
    uint16_t code)
{
	struct clmsg m;

	x_msg_init(&m, type);
	m.to = x->rid;
	m.from = x->lid;
	m.data = data;
	m.len = len;
	m.code = code;
	cl_send(x->node, &m);
}

/* An answer to a message that opened nothing here. */
static void
x_answer(const struct clmsg *in, uint8_t type, uint16_t code)
{
	struct clmsg m;

	x_msg_init(&m, type);
	m.to = in->from;
	m.code = code;
	cl_send(in->node, &m);
}

/*
 * A link starts or stops waiting (held call, first at a rendezvous):
 * counted in all and for the address that opened it, whose share of
 * --max-pending is half of it.
 */
static void
pending_add(struct link *l, struct addr *a)
{
	R.npending++;
	l->caddr = a;
	if (a != NULL)
		a->pending++;
}

static void
pending_del(struct link *l)
{
	R.npending--;
	if (l->caddr != NULL)
		l->caddr->pending--;
	l->caddr = NULL;
}

static uint32_t
share_of(uint32_t limit)
{
	return limit / 2 > 0 ? limit / 2 : 1;
}

static void
mbox_maybe_free(struct mbox *mb)
{
	if (mb == NULL || mb->listener != NULL || mb->ncalls > 0)
		return;
	table_del(&R.mboxes, &mb->n);
	free(mb);
}

static struct mbox *
mbox_get(const uint8_t id[SKP_RELAY_ID_LEN])
{
	struct mbox *mb;

	if ((mb = (struct mbox *)table_get(&R.mboxes, id)) != NULL)
		return mb;
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return NULL;
	memcpy(mb->n.key, id, SKP_RELAY_ID_LEN);
	(void)table_put(&R.mboxes, &mb->n);
	return mb;
}

static void
held_free(struct link *l)
{
	struct txq *q, *next;

	for (q = l->held; q != NULL; q = next) {
		next = q->next;
		txq_free(q);
	}
	R.heldbytes -= l->heldbytes;
	l->held = NULL;
	l->heldtail = &l->held;
	l->heldbytes = 0;
}

/* b is there now: what a sent before goes to it, under b's channel. */
static void
held_flush(struct link *l)
{
	struct txq *q, *next;

	for (q = l->held; q != NULL; q = next) {
		if (l->x != NULL && l->x->side == 1) {
			/* b is on another node */
			next = q->next;
			x_send(l->x, CLM_DATA, q->buf + LWS_PRE +
			    SKP_RELAY_HDR_LEN, q->len - SKP_RELAY_HDR_LEN, 0);
			txq_free(q);
			continue;
		}
		next = q->next;
		skp_relay_put_hdr(q->buf + LWS_PRE, SKP_RELAY_DATA, l->b.chan);
		queue(l->b.conn, q);
	}
	R.heldbytes -= l->heldbytes;
	l->held = NULL;
	l->heldtail = &l->held;
	l->heldbytes = 0;
}

/*
 * A link ends: tell every side still there except `from' (who asked for
 * it) with `code', and forget it.
 */
static void
link_end(struct link *l, struct end *from, uint16_t code)
{
	struct end *x[2] = { &l->a, &l->b };
	int i;

	if (l->x != NULL) {
		if (from != x_remote_end(l) && l->x->rid != 0)
			x_send(l->x, CLM_END, NULL, 0, code);
		x_free(l);
	}
	for (i = 0; i < 2; i++) {
		if (x[i]->conn == NULL)
			continue;
		if (x[i] != from)
			send_end(x[i]->conn, x[i]->chan, code);
		end_detach(x[i]);
	}
	if (l->state == L_HELD || l->state == L_WAITING)
		pending_del(l);
	if (l->push != 0) {
		relayd_push_cancel(l->push);
		l->push = 0;
	}
	held_free(l);
	if (l->rdv != NULL) {
		if (R.cluster)
			cl_rdv_release(l->rdv->n.key);
		table_del(&R.rdvs, &l->rdv->n);
		free(l->rdv);
		l->rdv = NULL;
	}
	if (l->mb != NULL) {
		*l->mpprev = l->mnext;
		if (l->mnext != NULL)
			l->mnext->mpprev = l->mpprev;
		l->mb->ncalls--;
		mbox_maybe_free(l->mb);
		l->mb = NULL;
	}
	wheel_disarm(&l->timer);
	free(l);
}

/* A held call meets its phone. */
static void
deliver(struct link *l)
{
	struct mbox *mb = l->mb;
	struct conn *ph = mb->listener;
	uint32_t ch;

	do {
		if (++mb->next_chan == 0)
			mb->next_chan = 1;
		ch = mb->next_chan;
	} while (end_find(ph, ch) != NULL);
	if (l->state == L_HELD)
		pending_del(l);
	l->state = L_ACTIVE;
	/* The phone is here: a push not yet on its way is not needed. */
	if (l->push != 0) {
		relayd_push_cancel(l->push);
		l->push = 0;
	}
	end_attach(ph, &l->b, l, ch);
	send_ctl(ph, SKP_RELAY_INCOMING, ch, NULL, 0);
	if (l->x != NULL && l->x->side == 0)
		x_send(l->x, CLM_ONLINE, NULL, 0, 0);
	else {
		/* Held for a phone that came here: nothing remote left. */
		x_free(l);
		send_ctl(l->a.conn, SKP_RELAY_ONLINE, l->a.chan, NULL, 0);
	}
	held_flush(l);
}

/* Routing for a connection is over: its channels end, its mailbox is
 * free for the next listener. */
static void
conn_detach(struct conn *c)
{
	uint16_t code = c->role == ROLE_LISTENER ? SKP_RELAY_C_PHONE_GONE :
	    SKP_RELAY_C_PEER_GONE;
	struct mbox *mb;

	while (c->ends != NULL)
		link_end(c->ends->link, c->ends, code);
	free(c->pv);
	c->pv = NULL;
	if ((mb = c->mb) != NULL) {
		if (mb->listener == c) {
			mb->listener = NULL;
			if (R.cluster)
				cl_release(mb->n.key);
		}
		c->mb = NULL;
		mbox_maybe_free(mb);
	}
	wheel_disarm(&c->timer);
}

static void
queue_drop(struct conn *c)
{
	struct txq *q, *next;

	for (q = c->qhead; q != NULL; q = next) {
		next = q->next;
		txq_free(q);
	}
	c->qhead = NULL;
	c->qtail = &c->qhead;
	R.qtotal -= c->qbytes;
	c->qbytes = 0;
}

/* Close with a code once what is queued went out; stop routing now. */
static void
conn_close(struct conn *c, uint16_t code)
{
	char name[64];

	if (c->flags & F_CLOSING)
		return;
	if (code != SKP_RELAY_C_SHUTDOWN && code != SKP_RELAY_C_IDLE) {
		R.st_refused++;
		relayd_refusal("%s: closed %u (%s)",
		    peer_name(c->wsi, name, sizeof(name)), (unsigned int)code,
		    skp_relay_code_reason(code));
	} else
		relayd_vlog("%s: closed %u (%s)",
		    peer_name(c->wsi, name, sizeof(name)), (unsigned int)code,
		    skp_relay_code_reason(code));
	conn_detach(c);
	c->flags |= F_CLOSING;
	c->close_code = code;
	if (c->rx != NULL) {
		txq_free(c->rx);
		c->rx = NULL;
	}
	/* It does not read: what is queued for it goes now, not later. */
	if (code == SKP_RELAY_C_SLOW_READER)
		queue_drop(c);
	/* A close that cannot be flushed (the peer reads nothing) is cut
	 * after a while instead of holding its buffers. */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND,
	    code == SKP_RELAY_C_SLOW_READER ? 1 : CLOSE_FLUSH_S);
	lws_callback_on_writable(c->wsi);
}

/* Frames in. */

/*
 * LISTEN: the mailbox id and its public key. The relay answers with a
 * fresh nonce to sign; the mailbox is the connection's only after PROVE.
 */
static void
do_listen(struct conn *c, const struct skp_relay_frame *f)
{
	struct proving *pv;

	if (c->role != ROLE_NONE) {
		conn_close(c, SKP_RELAY_C_PROTOCOL);
		return;
	}
	if ((pv = calloc(1, sizeof(*pv))) == NULL) {
		conn_close(c, SKP_RELAY_C_CONNS);
		return;
	}
	memcpy(pv->id, f->id, SKP_RELAY_ID_LEN);
	memcpy(pv->pub, f->pub, SKP_RELAY_PUB_LEN);
	if (skp_random(pv->nonce, sizeof(pv->nonce)) != SKP_OK) {
		free(pv);
		conn_close(c, SKP_RELAY_C_CONNS);
		return;
	}
	c->pv = pv;
	c->role = ROLE_PROVING;
	send_ctl(c, SKP_RELAY_CHALLENGE, 0, pv->nonce, sizeof(pv->nonce));
}

/* PROVE: the nonce signed with the mailbox key. Nothing is stored but
 * the id. */
static void
do_prove(struct conn *c, const struct skp_relay_frame *f)
{
	struct proving *pv = c->pv;
	struct mbox *mb;
	struct conn *old;
	struct link *l, *next;
	int ok;

	if (c->role != ROLE_PROVING || pv == NULL) {
		conn_close(c, SKP_RELAY_C_PROTOCOL);
		return;
	}
	ok = skp_relay_proof_check(pv->id, pv->pub, pv->nonce, f->data) ==
	    SKP_OK;
	c->pv = NULL;
	if (!ok) {
		free(pv);
		conn_close(c, SKP_RELAY_C_PROOF);
		return;
	}
	/* The owner reconnected (the old socket may be half dead). Closing
	 * it may free the mailbox, so look it up again after. */
	mb = (struct mbox *)table_get(&R.mboxes, pv->id);
	if (mb != NULL && (old = mb->listener) != NULL) {
		conn_close(old, SKP_RELAY_C_REPLACED);
		/*
		 * One already closing (a write failed: it is detached only
		 * when lws closes it) loses the mailbox now, or it would
		 * point at it after the mailbox is freed (found by
		 * fuzz_relay_router).
		 */
		if (old->mb == mb) {
			old->mb = NULL;
			mb->listener = NULL;
		}
	}
	mb = mbox_get(pv->id);
	free(pv);
	if (mb == NULL) {
		conn_close(c, SKP_RELAY_C_CONNS);
		return;
	}
	mb->listener = c;
	c->mb = mb;
	c->role = ROLE_LISTENER;
	send_ctl(c, SKP_RELAY_LISTENING, 0, NULL, 0);
	if (R.cluster)
		cl_claim(mb->n.key);
	for (l = mb->calls; l != NULL; l = next) {
		next = l->mnext;
		if (l->state == L_HELD)
			deliver(l);
	}
	if (R.c.verbose) {
		char hex[17], name[64];

		skp_hex(mb->n.key, 8, hex);
		relayd_vlog("%s: listening on %s...", peer_name(c->wsi, name,
		    sizeof(name)), hex);
	}
}

/* What is left of a link's timeout, in ms. */
static uint32_t
ticks_left_ms(const struct link *l)
{
	uint32_t left = l->timer.due - R.wheel.now;

	if (l->timer.pprev == NULL || left > UINT32_MAX / WHEEL_TICK_MS)
		return 0;
	return left * WHEEL_TICK_MS;
}

/*
 * SUBSCRIBE and UNSUBSCRIBE: only on a proved listener's connection
 * (anything else is out of place: 4000), always answered with PUSH.
 */
static void
do_subscribe(struct conn *c, const struct skp_relay_frame *f)
{
	uint8_t body[1 + SKP_RELAY_PUSH_KEY_LEN];
	int st;

	if (c->role != ROLE_LISTENER || c->mb == NULL) {
		conn_close(c, SKP_RELAY_C_PROTOCOL);
		return;
	}
	if (!relayd_push_on())
		st = SKP_RELAY_PUSH_OFF;
	else if (f->kind == SKP_RELAY_SUBSCRIBE)
		st = relayd_push_subscribe(c->mb->n.key, f->data, f->len,
		    body + 1);
	else
		st = relayd_push_unsubscribe(c->mb->n.key, body + 1);
	if (st < 0) {
		conn_close(c, SKP_RELAY_C_PROTOCOL);
		return;
	}
	body[0] = (uint8_t)st;
	send_ctl(c, SKP_RELAY_PUSH, 0, body, st == SKP_RELAY_PUSH_OFF ? 1 :
	    sizeof(body));
}

/* The caller's timeout, capped, in ticks from now. */
static uint32_t
timeout_due(uint32_t ms)
{
	uint32_t cap = R.c.max_hold_s * 1000;

	if (ms == 0 || ms > cap)
		ms = cap;
	return R.wheel.now + (ms + WHEEL_TICK_MS - 1) / WHEEL_TICK_MS;
}

/* Checks shared by CALL and JOIN; 0 when the channel may open. */
static int
chan_open_ok(struct conn *c, const struct skp_relay_frame *f)
{
	if (c->role == ROLE_LISTENER || c->role == ROLE_PROVING ||
	    end_find(c, f->chan) != NULL) {
		conn_close(c, SKP_RELAY_C_PROTOCOL);
		return -1;
	}
	c->role = ROLE_CALLER;
	if (c->nchans >= R.c.max_chans) {
		R.st_refused++;
		relayd_refusal("channel refused: %s",
		    skp_relay_code_reason(SKP_RELAY_C_CHANNELS));
		send_end(c, f->chan, SKP_RELAY_C_CHANNELS);
		return -1;
	}
	return 0;
}

/* Calls to mb (held or delivered) from one caller address. */
static uint32_t
calls_from(const struct mbox *mb, const struct addr *a)
{
	const struct link *l;
	uint32_t n = 0;

	if (a == NULL)
		return 0;
	for (l = mb->calls; l != NULL; l = l->mnext)
		if (l->a.conn != NULL && l->a.conn->addr == a)
			n++;
	return n;
}

/* A new call joins its mailbox's list. */
static void
call_add(struct link *l, struct mbox *mb)
{
	l->kind = K_CALL;
	l->timer.type = T_LINK;
	l->heldtail = &l->held;
	l->mb = mb;
	l->mnext = mb->calls;
	if (l->mnext != NULL)
		l->mnext->mpprev = &l->mnext;
	mb->calls = l;
	l->mpprev = &mb->calls;
	mb->ncalls++;
	l->a.link = l;
	l->b.link = l;
}

static void x_route_call(struct link *);

static void
do_call(struct conn *c, const struct skp_relay_frame *f)
{
	struct mbox *mb;
	struct link *l = NULL;
	uint16_t refuse = 0;

	if (chan_open_ok(c, f) != 0)
		return;
	R.st_calls++;
	if ((mb = mbox_get(f->id)) == NULL)
		refuse = SKP_RELAY_C_PENDING;
	else if (mb->ncalls >= R.c.max_calls)
		refuse = SKP_RELAY_C_MBOX_CALLS;
	else if (calls_from(mb, c->addr) >= share_of(R.c.max_calls))
		refuse = SKP_RELAY_C_ADDR_CALLS;
	else if (mb->listener == NULL && R.npending >= R.c.max_pending)
		refuse = SKP_RELAY_C_PENDING;
	else if (mb->listener == NULL && c->addr != NULL &&
	    c->addr->pending >= share_of(R.c.max_pending))
		refuse = SKP_RELAY_C_ADDR_PENDING;
	if (refuse == 0 && (l = calloc(1, sizeof(*l))) == NULL)
		refuse = SKP_RELAY_C_PENDING;
	if (refuse != 0) {
		R.st_refused++;
		relayd_refusal("call refused: %s",
		    skp_relay_code_reason(refuse));
		send_end(c, f->chan, refuse);
		mbox_maybe_free(mb);
		return;
	}
	call_add(l, mb);
	end_attach(c, &l->a, l, f->chan);
	wheel_arm(&R.wheel, &l->timer, timeout_due(f->timeout_ms));
	if (mb->listener != NULL && !(mb->listener->flags & F_CLOSING))
		deliver(l);
	else if (R.cluster)
		x_route_call(l);
	else {
		l->state = L_HELD;
		pending_add(l, c->addr);
		send_ctl(c, SKP_RELAY_OFFLINE, f->chan, NULL, 0);
	}
}

/*
 * Cluster: a JOIN or MEET whose id waits on no connection here asks
 * Redis which node has it (JOIN takes it when nobody does).
 */
static void
x_join(struct conn *c, const struct skp_relay_frame *f, uint32_t due)
{
	struct link *l;
	struct xlink *x;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		send_end(c, f->chan, SKP_RELAY_C_PENDING);
		return;
	}
	l->kind = K_RDV;
	l->state = L_ROUTING;
	l->heldtail = &l->held;
	l->timer.type = T_LINK;
	l->b.link = l;
	end_attach(c, &l->a, l, f->chan);
	wheel_arm(&R.wheel, &l->timer, due);
	if ((x = x_new(l, 1, f->id)) == NULL) {
		link_end(l, NULL, SKP_RELAY_C_PENDING);
		return;
	}
	x->meet = f->kind == SKP_RELAY_MEET;
	if (x->meet)
		cl_rdv_get(x->lid, f->id);
	else
		cl_rdv_join(x->lid, f->id, ticks_left_ms(l));
}

/*
 * JOIN waits for the other side when it is first; MEET (the phone, which
 * scans a code the computer showed only after its JOIN) never waits:
 * nobody there means the code was used, has expired or was altered, and
 * the phone hears so at once instead of after its whole timeout.
 */
static void
do_join(struct conn *c, const struct skp_relay_frame *f)
{
	struct rdv *rv;
	struct link *l;
	uint32_t due;

	if (chan_open_ok(c, f) != 0)
		return;
	R.st_joins++;
	due = timeout_due(f->timeout_ms);
	rv = (struct rdv *)table_get(&R.rdvs, f->id);
	if (f->kind == SKP_RELAY_MEET && rv == NULL && R.cluster &&
	    !relayd_cluster_up()) {
		R.st_refused++;
		relayd_refusal("rendezvous refused: %s",
		    skp_relay_code_reason(SKP_RELAY_C_CLUSTER));
		send_end(c, f->chan, SKP_RELAY_C_CLUSTER);
		return;
	}
	if (f->kind == SKP_RELAY_MEET && rv == NULL && !R.cluster) {
		R.st_refused++;
		relayd_refusal("rendezvous refused: %s",
		    skp_relay_code_reason(SKP_RELAY_C_NO_RDV));
		send_end(c, f->chan, SKP_RELAY_C_NO_RDV);
		return;
	}
	if (rv != NULL) {
		l = rv->link;
		if (l->a.conn == c) {
			send_end(c, f->chan, SKP_RELAY_C_RDV_BUSY);
			return;
		}
		/* They met: the id is gone from the relay. */
		if (R.cluster)
			cl_rdv_release(rv->n.key);
		table_del(&R.rdvs, &rv->n);
		free(rv);
		l->rdv = NULL;
		pending_del(l);
		l->state = L_ACTIVE;
		end_attach(c, &l->b, l, f->chan);
		if (due < l->timer.due)
			wheel_arm(&R.wheel, &l->timer, due);
		send_ctl(l->a.conn, SKP_RELAY_PEER, l->a.chan, NULL, 0);
		send_ctl(c, SKP_RELAY_PEER, f->chan, NULL, 0);
		held_flush(l);
		return;
	}
	if (R.npending >= R.c.max_pending || (c->addr != NULL &&
	    c->addr->pending >= share_of(R.c.max_pending))) {
		uint16_t refuse = R.npending >= R.c.max_pending ?
		    SKP_RELAY_C_PENDING : SKP_RELAY_C_ADDR_PENDING;

		R.st_refused++;
		relayd_refusal("rendezvous refused: %s",
		    skp_relay_code_reason(refuse));
		send_end(c, f->chan, refuse);
		return;
	}
	if (R.cluster && relayd_cluster_up()) {
		x_join(c, f, due);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (rv = calloc(1, sizeof(*rv))) == NULL) {
		free(l);
		send_end(c, f->chan, SKP_RELAY_C_PENDING);
		return;
	}
	memcpy(rv->n.key, f->id, SKP_RELAY_ID_LEN);
	rv->link = l;
	(void)table_put(&R.rdvs, &rv->n);
	l->kind = K_RDV;
	l->state = L_WAITING;
	l->heldtail = &l->held;
	l->rdv = rv;
	l->timer.type = T_LINK;
	l->b.link = l;
	pending_add(l, c->addr);
	end_attach(c, &l->a, l, f->chan);
	wheel_arm(&R.wheel, &l->timer, due);
	send_ctl(c, SKP_RELAY_WAITING, f->chan, NULL, 0);
}

/*
 * DATA goes to the other side under its channel number. A frame that
 * arrived in pieces is forwarded in the buffer it was put together in.
 */
static void
do_data(struct conn *c, const struct skp_relay_frame *f, const uint8_t *p,
    size_t n, struct txq **node)
{
	struct end *e, *peer;
	struct link *l;
	struct txq *q;
	uint16_t refuse;

	/* Ended a moment ago by the other side or a timer: drop it. */
	if ((e = end_find(c, f->chan)) == NULL)
		return;
	l = e->link;
	peer = other_end(e);
	/*
	 * A held call keeps nothing: a request that waited for the phone
	 * would be stale when it arrives. The caller was told OFFLINE and
	 * sends a fresh one on ONLINE (docs/PROTOCOL.md §7.5). Its first
	 * DATA is the message of the call's one Web Push, when the mailbox
	 * has a subscription (§7.11); routing drops it all the same.
	 */
	if (l->kind == K_CALL && (l->state == L_HELD ||
	    (l->state == L_ROUTING && l->x != NULL && l->x->offlined))) {
		if (l->state == L_HELD && !l->pushed && relayd_push_on()) {
			l->pushed = 1;
			l->push = relayd_push_call(l->mb->n.key,
			    f->data, f->len, ticks_left_ms(l));
		}
		return;
	}
	/*
	 * Before delivery only a (the first to join) is there.
	 * What it sends is kept, bounded per link and in all, so a request
	 * can go with its CALL and save the caller a round trip.
	 */
	if (l->state != L_ACTIVE && (n > R.c.max_frame - l->heldbytes ||
	    n > R.c.max_held_bytes - R.heldbytes)) {
		refuse = n > R.c.max_frame - l->heldbytes ?
		    SKP_RELAY_C_HELD_DATA : SKP_RELAY_C_PENDING;
		R.st_refused++;
		relayd_refusal("held call ended: %s",
		    skp_relay_code_reason(refuse));
		link_end(l, NULL, refuse);
		return;
	}
	/* On another node: published to its channel, bounded in all. */
	if (l->state == L_ACTIVE && l->x != NULL && peer == x_remote_end(l)) {
		if (relayd_cluster_backlog() + n > R.c.max_queued_total) {
			R.st_refused++;
			relayd_refusal("call ended: %s",
			    skp_relay_code_reason(SKP_RELAY_C_SLOW));
			link_end(l, NULL, SKP_RELAY_C_SLOW);
			return;
		}
		x_send(l->x, CLM_DATA, f->data, f->len, 0);
		return;
	}
	if (l->state == L_ACTIVE &&
	    (peer->conn == NULL || (peer->conn->flags & F_CLOSING)))
		return;
	/*
	 * A receiver that does not read: past --max-queued it is closed
	 * (its senders were stopped at 4 x --max-frame, so only many
	 * senders at once get here); past --max-queued-total in all, the
	 * call ends instead of the relay growing.
	 */
	if (l->state == L_ACTIVE &&
	    peer->conn->qbytes + n > R.c.max_queued) {
		conn_close(peer->conn, SKP_RELAY_C_SLOW_READER);
		return;
	}
	if (l->state == L_ACTIVE && R.qtotal + n > R.c.max_queued_total) {
		R.st_refused++;
		relayd_refusal("call ended: %s",
		    skp_relay_code_reason(SKP_RELAY_C_SLOW));
		link_end(l, NULL, SKP_RELAY_C_SLOW);
		return;
	}
	if (node != NULL && *node != NULL) {
		q = *node;
		*node = NULL;
	} else {
		if ((q = txq_new(n)) == NULL) {
			link_end(l, NULL, SKP_RELAY_C_SLOW);
			return;
		}
		memcpy(q->buf + LWS_PRE, p, n);
		q->len = (uint32_t)n;
	}
	if (l->state != L_ACTIVE) {
		q->next = NULL;
		*l->heldtail = q;
		l->heldtail = &q->next;
		l->heldbytes += q->len;
		R.heldbytes += q->len;
		return;
	}
	skp_relay_put_hdr(q->buf + LWS_PRE, SKP_RELAY_DATA, peer->chan);
	queue(peer->conn, q);
	if (peer->conn->qbytes > R.qhigh)
		throttle(c);
}

/* Cluster: the router's side of cross-node links (docs/PROTOCOL.md §7.12). */

/* A cross-node call or rendezvous refused with code; logged. */
static void
x_refuse(struct link *l, uint16_t code)
{
	R.st_refused++;
	relayd_refusal("%s refused: %s", l->kind == K_CALL ? "call" :
	    "rendezvous", skp_relay_code_reason(code));
	link_end(l, NULL, code);
}

/* Ask the phone's node to deliver the call. */
static void
x_call(struct link *l, const char *node)
{
	struct xlink *x = l->x;
	struct clmsg m;

	if (l->state == L_HELD)
		pending_del(l);
	l->state = L_ROUTING;
	snprintf(x->node, sizeof(x->node), "%s", node);
	x->rid = 0;
	x_msg_init(&m, CLM_CALL);
	m.from = x->lid;
	memcpy(m.id, x->id, SKP_RELAY_ID_LEN);
	m.timeout_ms = ticks_left_ms(l);
	cl_send(node, &m);
}

/*
 * Nobody listens on the mailbox: the call is held here, as on a single
 * relay, and this node noted in Redis as holding one (the node where the
 * phone listens next sends CLM_WAKE).
 */
static void
x_hold(struct link *l)
{
	struct xlink *x = l->x;

	l->state = L_HELD;
	pending_add(l, l->a.conn != NULL ? l->a.conn->addr : NULL);
	x->node[0] = '\0';
	x->rid = 0;
	if (!x->offlined) {
		x->offlined = 1;
		held_free(l);
		send_ctl(l->a.conn, SKP_RELAY_OFFLINE, l->a.chan, NULL, 0);
	}
	if (x->tries++ < X_TRIES)
		cl_lookup(x->lid, x->id, 1, ticks_left_ms(l));
}

static void
x_route_call(struct link *l)
{
	if (!relayd_cluster_up()) {
		x_refuse(l, SKP_RELAY_C_CLUSTER);
		return;
	}
	if (x_new(l, 1, l->mb->n.key) == NULL) {
		link_end(l, NULL, SKP_RELAY_C_PENDING);
		return;
	}
	l->state = L_ROUTING;
	cl_lookup(l->x->lid, l->mb->n.key, 0, 0);
}

void
relayd_x_lookup_done(uint64_t lid, const char *node, int err)
{
	struct xlink *x = x_find(lid);
	struct link *l;
	struct mbox *mb;

	if (x == NULL || x->l->kind != K_CALL)
		return;
	l = x->l;
	mb = l->mb;
	if (l->state != L_ROUTING && l->state != L_HELD)
		return;
	if (err) {
		/* A held call stays held: a phone may still come here. */
		if (l->state == L_ROUTING)
			x_refuse(l, SKP_RELAY_C_CLUSTER);
		return;
	}
	if (node != NULL && strcmp(node, relayd_cluster_node()) != 0) {
		x_call(l, node);
		return;
	}
	if (mb->listener != NULL && !(mb->listener->flags & F_CLOSING)) {
		deliver(l);
		return;
	}
	if (l->state == L_ROUTING)
		x_hold(l);
}

/* The waiter of a rendezvous is here now. */
static void
x_wait(struct link *l, int overwrite)
{
	struct xlink *x = l->x;
	struct rdv *rv;

	if (table_get(&R.rdvs, x->id) != NULL ||
	    (rv = calloc(1, sizeof(*rv))) == NULL) {
		/* A JOIN on this node for the same id at the same moment */
		link_end(l, NULL, SKP_RELAY_C_RDV_BUSY);
		return;
	}
	memcpy(rv->n.key, x->id, SKP_RELAY_ID_LEN);
	rv->link = l;
	(void)table_put(&R.rdvs, &rv->n);
	l->rdv = rv;
	x_free(l);
	l->state = L_WAITING;
	pending_add(l, l->a.conn != NULL ? l->a.conn->addr : NULL);
	if (overwrite)
		cl_rdv_set(rv->n.key, ticks_left_ms(l));
	send_ctl(l->a.conn, SKP_RELAY_WAITING, l->a.chan, NULL, 0);
}

void
relayd_x_rdv_done(uint64_t lid, const char *node, int err)
{
	struct xlink *x = x_find(lid);
	struct link *l;
	struct clmsg m;

	if (x == NULL || x->l->kind != K_RDV || x->l->state != L_ROUTING)
		return;
	l = x->l;
	if (err) {
		x_refuse(l, SKP_RELAY_C_CLUSTER);
		return;
	}
	if (node != NULL && strcmp(node, relayd_cluster_node()) != 0) {
		snprintf(x->node, sizeof(x->node), "%s", node);
		x_msg_init(&m, CLM_MEET);
		m.from = x->lid;
		memcpy(m.id, x->id, SKP_RELAY_ID_LEN);
		m.timeout_ms = ticks_left_ms(l);
		cl_send(node, &m);
		return;
	}
	if (x->meet) {
		x_refuse(l, SKP_RELAY_C_NO_RDV);
		return;
	}
	/* JOIN took the id (nil), or it named this node: a stale key. */
	x_wait(l, node != NULL);
}

/* A CALL from another node for a mailbox that may listen here. */
static void
x_in_call(const struct clmsg *m)
{
	struct mbox *mb;
	struct link *l;
	struct xlink *x;

	mb = (struct mbox *)table_get(&R.mboxes, m->id);
	if (mb == NULL || mb->listener == NULL ||
	    (mb->listener->flags & F_CLOSING)) {
		x_answer(m, CLM_NOTHERE, 0);
		return;
	}
	if (mb->ncalls >= R.c.max_calls) {
		x_answer(m, CLM_END, SKP_RELAY_C_MBOX_CALLS);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		x_answer(m, CLM_END, SKP_RELAY_C_SLOW);
		return;
	}
	call_add(l, mb);
	if ((x = x_new(l, 0, m->id)) == NULL) {
		link_end(l, NULL, SKP_RELAY_C_SLOW);
		x_answer(m, CLM_END, SKP_RELAY_C_SLOW);
		return;
	}
	x->rid = m->from;
	snprintf(x->node, sizeof(x->node), "%s", m->node);
	R.st_calls++;
	wheel_arm(&R.wheel, &l->timer, timeout_due(m->timeout_ms));
	deliver(l);
}

/* A JOIN or MEET on another node for a rendezvous waiting here. */
static void
x_in_meet(const struct clmsg *m)
{
	struct rdv *rv;
	struct link *l;
	struct xlink *x;
	uint32_t due;

	rv = (struct rdv *)table_get(&R.rdvs, m->id);
	if (rv == NULL || rv->link->state != L_WAITING ||
	    (x = x_new(rv->link, 1, m->id)) == NULL) {
		x_answer(m, CLM_NOPEER, 0);
		return;
	}
	l = rv->link;
	x->rid = m->from;
	snprintf(x->node, sizeof(x->node), "%s", m->node);
	cl_rdv_release(rv->n.key);
	table_del(&R.rdvs, &rv->n);
	free(rv);
	l->rdv = NULL;
	pending_del(l);
	l->state = L_ACTIVE;
	due = timeout_due(m->timeout_ms);
	if (due < l->timer.due)
		wheel_arm(&R.wheel, &l->timer, due);
	R.st_joins++;
	send_ctl(l->a.conn, SKP_RELAY_PEER, l->a.chan, NULL, 0);
	x_send(x, CLM_PEER, NULL, 0, 0);
	held_flush(l);
}

/* The phone listens on the sender now: our held calls go there. */
static void
x_in_wake(const struct clmsg *m)
{
	struct mbox *mb;
	struct link *l, *next;

	if ((mb = (struct mbox *)table_get(&R.mboxes, m->id)) == NULL)
		return;
	for (l = mb->calls; l != NULL; l = next) {
		next = l->mnext;
		if (l->state == L_HELD && l->x != NULL)
			x_call(l, m->node);
	}
}

/* DATA from the other node for our local end. */
static void
x_in_data(struct link *l, const uint8_t *p, size_t len)
{
	struct end *e = x_local_end(l);
	struct conn *c = e->conn;
	struct txq *q;
	size_t n = SKP_RELAY_HDR_LEN + len;

	if (c == NULL || (c->flags & F_CLOSING))
		return;
	if (c->qbytes + n > R.c.max_queued) {
		conn_close(c, SKP_RELAY_C_SLOW_READER);
		return;
	}
	if (R.qtotal + n > R.c.max_queued_total ||
	    (q = txq_new(n)) == NULL) {
		link_end(l, NULL, SKP_RELAY_C_SLOW);
		return;
	}
	skp_relay_put_hdr(q->buf + LWS_PRE, SKP_RELAY_DATA, e->chan);
	memcpy(q->buf + LWS_PRE + SKP_RELAY_HDR_LEN, p, len);
	q->len = (uint32_t)n;
	queue(c, q);
}

void
relayd_x_msg(const struct clmsg *m)
{
	struct xlink *x;
	struct link *l;

	switch (m->type) {
	case CLM_CALL:
		x_in_call(m);
		return;
	case CLM_MEET:
		x_in_meet(m);
		return;
	case CLM_REPLACED:
		relayd_x_evict(m->id);
		return;
	case CLM_WAKE:
		x_in_wake(m);
		return;
	default:
		break;
	}
	x = x_find(m->to);
	if (x == NULL || strcmp(x->node, m->node) != 0 ||
	    (x->rid != 0 && x->rid != m->from)) {
		/* Ended here a moment ago: the other node learns it. */
		if (m->type == CLM_ONLINE || m->type == CLM_PEER ||
		    m->type == CLM_DATA)
			x_answer(m, CLM_END, SKP_RELAY_C_PEER_GONE);
		return;
	}
	l = x->l;
	switch (m->type) {
	case CLM_ONLINE:
	case CLM_PEER:
		if (l->state != L_ROUTING || l->kind != (m->type ==
		    CLM_ONLINE ? K_CALL : K_RDV)) {
			x_answer(m, CLM_END, SKP_RELAY_C_PEER_GONE);
			return;
		}
		x->rid = m->from;
		l->state = L_ACTIVE;
		send_ctl(l->a.conn, m->type == CLM_ONLINE ? SKP_RELAY_ONLINE :
		    SKP_RELAY_PEER, l->a.chan, NULL, 0);
		held_flush(l);
		break;
	case CLM_NOTHERE:
		if (l->state == L_ROUTING && l->kind == K_CALL)
			x_hold(l);
		break;
	case CLM_NOPEER:
		if (l->state != L_ROUTING || l->kind != K_RDV)
			break;
		if (x->meet)
			x_refuse(l, SKP_RELAY_C_NO_RDV);
		else
			x_wait(l, 1);
		break;
	case CLM_DATA:
		if (l->state == L_ACTIVE)
			x_in_data(l, m->data, m->len);
		break;
	case CLM_END:
		link_end(l, x_remote_end(l), m->code);
		break;
	default:
		break;
	}
}

/* Another node took the mailbox (newest LISTEN wins). */
void
relayd_x_evict(const uint8_t id[SKP_RELAY_ID_LEN])
{
	struct mbox *mb;

	mb = (struct mbox *)table_get(&R.mboxes, id);
	if (mb != NULL && mb->listener != NULL)
		conn_close(mb->listener, SKP_RELAY_C_REPLACED);
}

/*
 * A node we have links with is gone (killed, or cut from Redis): its
 * calls end at once, held ones are held again, joins wait here.
 */
void
relayd_x_node_gone(const char *node)
{
	struct xlink *x;
	struct link *l;
	unsigned int n = 0;

again:
	for (x = R.xall; x != NULL; x = x->next) {
		l = x->l;
		if (strcmp(x->node, node) != 0 ||
		    (l->state != L_ACTIVE && l->state != L_ROUTING))
			continue;
		n++;
		if (l->state == L_ROUTING && l->kind == K_CALL)
			x_hold(l);
		else if (l->state == L_ROUTING && !x->meet)
			x_wait(l, 1);
		else if (l->state == L_ROUTING)
			link_end(l, NULL, SKP_RELAY_C_NO_RDV);
		else
			link_end(l, x_remote_end(l), l->kind == K_CALL &&
			    x->side == 1 ? SKP_RELAY_C_PHONE_GONE :
			    SKP_RELAY_C_PEER_GONE);
		goto again;
	}
	if (n > 0)
		relayd_log("cluster: node %s is gone: %u calls and pairings "
		    "with it ended or held again", node, n);
}

/* Register what this node holds: its listeners, held calls, waiters. */
static void
x_register(int all)
{
	struct tnode_key *n;
	struct mbox *mb;
	struct link *l;
	struct rdv *rv;
	size_t i;

	for (i = 0; i < R.mboxes.nb; i++)
		for (n = R.mboxes.b[i]; n != NULL; n = n->next) {
			mb = (struct mbox *)n;
			if (mb->listener != NULL &&
			    !(mb->listener->flags & F_CLOSING))
				cl_refresh(mb->n.key);
			if (!all)
				continue;
			for (l = mb->calls; l != NULL; l = l->mnext)
				if (l->state == L_HELD && l->x != NULL)
					cl_lookup(l->x->lid, l->x->id, 1,
					    ticks_left_ms(l));
		}
	if (!all)
		return;
	for (i = 0; i < R.rdvs.nb; i++)
		for (n = R.rdvs.b[i]; n != NULL; n = n->next) {
			rv = (struct rdv *)n;
			cl_rdv_set(rv->n.key, ticks_left_ms(rv->link));
		}
}

void
relayd_x_state(int up)
{
	struct xlink *x;

	if (up) {
		x_register(1);
		return;
	}
	/* Redis is gone: what crosses nodes cannot go on (4032). */
again:
	for (x = R.xall; x != NULL; x = x->next)
		if (x->l->state == L_ACTIVE || x->l->state == L_ROUTING) {
			link_end(x->l, NULL, SKP_RELAY_C_CLUSTER);
			goto again;
		}
}

/* Every tick: Redis's connection; the nodes we talk to; refreshes. */
static void
x_tick(void)
{
	static uint32_t last_check, last_refresh;
	const char *names[64];
	struct xlink *x;
	size_t n = 0, i;

	relayd_cluster_tick();
	if (!relayd_cluster_up())
		return;
	if (R.wheel.now - last_check >= X_CHECK_TICKS) {
		last_check = R.wheel.now;
		for (x = R.xall; x != NULL && n < 64; x = x->next) {
			if (x->node[0] == '\0')
				continue;
			for (i = 0; i < n; i++)
				if (strcmp(names[i], x->node) == 0)
					break;
			if (i == n)
				names[n++] = x->node;
		}
		cl_check_nodes(names, n);
	}
	if (R.wheel.now - last_refresh >= X_REFRESH_TICKS) {
		last_refresh = R.wheel.now;
		x_register(0);
	}
}

static void
on_frame(struct conn *c, uint8_t *p, size_t n, struct txq **node)
{
	struct skp_relay_frame f;
	struct end *e;

	if (skp_relay_parse_client(p, n, &f) != SKP_OK) {
		conn_close(c, SKP_RELAY_C_PROTOCOL);
		return;
	}
	switch (f.kind) {
	case SKP_RELAY_LISTEN:
		do_listen(c, &f);
		break;
	case SKP_RELAY_PROVE:
		do_prove(c, &f);
		break;
	case SKP_RELAY_CALL:
		do_call(c, &f);
		break;
	case SKP_RELAY_JOIN:
	case SKP_RELAY_MEET:
		do_join(c, &f);
		break;
	case SKP_RELAY_DATA:
		do_data(c, &f, p, n, node);
		break;
	case SKP_RELAY_HANGUP:
		if ((e = end_find(c, f.chan)) != NULL)
			link_end(e->link, e, SKP_RELAY_C_HUNG_UP);
		break;
	case SKP_RELAY_SUBSCRIBE:
	case SKP_RELAY_UNSUBSCRIBE:
		do_subscribe(c, &f);
		break;
	default:
		conn_close(c, SKP_RELAY_C_PROTOCOL);
		break;
	}
}

static void
throttle_if_full(struct conn *c, uint32_t chan)
{
	struct end *e, *peer;

	if ((e = end_find(c, chan)) == NULL)
		return;
	peer = other_end(e);
	if (peer->conn != NULL && peer->conn->qbytes > R.qhigh)
		throttle(c);
}

static void
on_receive(struct conn *c, struct lws *wsi, uint8_t *in, size_t len)
{
	size_t have, total, want;
	struct txq *q;

	if (c->flags & F_CLOSING)
		return;
	c->last_rx = R.wheel.now;
	c->flags &= (uint8_t)~F_PING_OUT;
	if (!lws_frame_is_binary(wsi)) {
		conn_close(c, SKP_RELAY_C_TEXT);
		return;
	}
	have = c->rx != NULL ? c->rx->len : 0;
	total = have + len + lws_remaining_packet_payload(wsi);
	if (total > R.c.max_frame || total < have) {
		conn_close(c, SKP_RELAY_C_TOO_BIG);
		return;
	}
	if (c->rx == NULL && lws_is_first_fragment(wsi) &&
	    lws_is_final_fragment(wsi)) {
		on_frame(c, in, len, NULL);
		return;
	}
	/*
	 * The first piece of a DATA frame names its channel: when the one
	 * it goes to has a full queue, stop reading the sender now, not
	 * after the whole frame is in.
	 */
	if (c->rx == NULL && len >= SKP_RELAY_HDR_LEN && in[0] == SKP_RELAY_DATA)
		throttle_if_full(c, (uint32_t)in[1] << 24 |
		    (uint32_t)in[2] << 16 | (uint32_t)in[3] << 8 | in[4]);
	/* Room for this websocket frame; continuations grow it further. */
	if (c->rx == NULL || c->rx->cap < total) {
		want = total;
		if (c->rx != NULL && want < (size_t)c->rx->cap * 2)
			want = (size_t)c->rx->cap * 2;
		if (want > R.c.max_frame)
			want = R.c.max_frame;
		if ((q = realloc(c->rx, sizeof(*q) + LWS_PRE + want)) ==
		    NULL) {
			conn_close(c, SKP_RELAY_C_TOO_BIG);
			return;
		}
		if (c->rx == NULL) {
			q->next = NULL;
			q->len = 0;
		}
		q->cap = (uint32_t)want;
		c->rx = q;
	}
	memcpy(c->rx->buf + LWS_PRE + c->rx->len, in, len);
	c->rx->len += (uint32_t)len;
	if (!lws_is_final_fragment(wsi))
		return;
	q = c->rx;
	c->rx = NULL;
	on_frame(c, q->buf + LWS_PRE, q->len, &q);
	txq_free(q);
}

static int
on_writable(struct conn *c, struct lws *wsi)
{
	/* lws does not report an empty pong: the ping carries 4 bytes. */
	uint8_t ping[LWS_PRE + 4] = { 0 };
	const char *reason;
	struct txq *q;
	struct end *e;
	struct conn *o;
	int n;

	if (c->flags & F_PING_DUE) {
		c->flags &= (uint8_t)~F_PING_DUE;
		memcpy(ping + LWS_PRE, "skp!", 4);
		if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
			return -1;
		if (c->qhead != NULL || (c->flags & F_CLOSING))
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->qhead != NULL) {
		/*
		 * Several frames per callback, while the socket takes them
		 * whole: a poll round per frame would cost more than the
		 * frame (lws queues a partial write itself and we stop).
		 */
		for (n = 0; n < WRITES_PER_CB && (q = c->qhead) != NULL &&
		    (n == 0 || !lws_partial_buffered(wsi)); n++) {
			c->qhead = q->next;
			if (c->qhead == NULL)
				c->qtail = &c->qhead;
			c->qbytes -= q->len;
			R.qtotal -= q->len;
			if (lws_write(wsi, q->buf + LWS_PRE, q->len,
			    LWS_WRITE_BINARY) < (int)q->len) {
				txq_free(q);
				return -1;
			}
			txq_free(q);
		}
		/* Drained enough: let the senders blocked on us go on. */
		if (c->qbytes < R.qlow)
			for (e = c->ends; e != NULL; e = e->next)
				if ((o = other_end(e)->conn) != NULL)
					unthrottle(o);
		if (c->qhead != NULL || (c->flags & F_CLOSING))
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->flags & F_CLOSING) {
		if (c->close_code == 0)
			return -1;
		reason = skp_relay_code_reason(c->close_code);
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
		    (unsigned char *)(uintptr_t)reason, strlen(reason));
		return -1;
	}
	return 0;
}

/* Timers. */

static void
conn_timer(struct conn *c)
{
	uint32_t now = R.wheel.now, ping = secs_to_ticks(R.c.ping_s);
	uint32_t idle = secs_to_ticks(R.c.idle_s), next;

	if (c->flags & F_CLOSING)
		return;
	/* A throttled connection is not read, so its pongs wait too. */
	if ((c->flags & F_PING_OUT) && !(c->flags & F_THROTTLED) &&
	    now - c->ping_sent >= ping) {
		conn_close(c, SKP_RELAY_C_KEEPALIVE);
		return;
	}
	if (c->role != ROLE_LISTENER && c->nchans == 0 &&
	    now - c->last_rx >= idle) {
		conn_close(c, SKP_RELAY_C_IDLE);
		return;
	}
	if (!(c->flags & F_PING_OUT) && now - c->last_rx >= ping) {
		c->flags |= F_PING_DUE | F_PING_OUT;
		c->ping_sent = now;
		lws_callback_on_writable(c->wsi);
	}
	if (c->flags & F_PING_OUT)
		next = c->ping_sent + ping;
	else
		next = c->last_rx + ping;
	if (c->role != ROLE_LISTENER && c->nchans == 0 &&
	    c->last_rx + idle < next)
		next = c->last_rx + idle;
	/* Busy callers are looked at again after `idle' at the latest. */
	if (next > now + idle)
		next = now + idle;
	wheel_arm(&R.wheel, &c->timer, next);
}

static void
fire(struct wtimer *w)
{
	struct link *l;

	if (w->type == T_CONN) {
		conn_timer(lws_container_of(w, struct conn, timer));
		return;
	}
	l = lws_container_of(w, struct link, timer);
	link_end(l, NULL, SKP_RELAY_C_TIMEOUT);
}

/*
 * Once a minute, when anything happened: how many connections came and
 * went, and what they did. Without -v this is the connection log.
 */
static void
stats_line(void)
{
	struct relayd_push_stats ps;

	memset(&ps, 0, sizeof(ps));
	if (relayd_push_on()) {
		relayd_push_stats(&ps);
		if (ps.sent + ps.failed + ps.dropped > 0)
			relayd_log("last minute: push: %llu sent, %llu failed, "
			    "%llu dropped; %zu subscriptions",
			    (unsigned long long)ps.sent,
			    (unsigned long long)ps.failed,
			    (unsigned long long)ps.dropped, ps.subs);
	}
	if (R.st_opened + R.st_closed + R.st_calls + R.st_joins +
	    R.st_refused == 0)
		return;
	relayd_log("last minute: %llu connections opened, %llu closed, "
	    "%llu calls, %llu joins, %llu refusals; now %u connections, "
	    "%zu mailboxes listened to or called, %u held",
	    (unsigned long long)R.st_opened, (unsigned long long)R.st_closed,
	    (unsigned long long)R.st_calls, (unsigned long long)R.st_joins,
	    (unsigned long long)R.st_refused, (unsigned int)R.nlive,
	    R.mboxes.n, (unsigned int)R.npending);
	R.st_opened = R.st_closed = R.st_calls = R.st_joins = 0;
	R.st_refused = 0;
}

static void
tick_cb(lws_sorted_usec_list_t *sul)
{
	uint64_t el = relayd_mono_ms() - R.start_ms;
	uint32_t to = (uint32_t)(el / WHEEL_TICK_MS);

	if (to / STATS_TICKS != R.wheel.now / STATS_TICKS)
		stats_line();
	/* Results the push thread's wakeup did not bring (it always does). */
	if (relayd_push_on())
		relayd_push_results();
	wheel_advance(&R.wheel, to, fire);
	if (R.cluster)
		x_tick();
	lws_sul_schedule(R.ctx, 0, sul, tick_cb,
	    (lws_usec_t)(WHEEL_TICK_MS - el % WHEEL_TICK_MS) * LWS_US_PER_MS);
}

/* Connections, counted from accept to destroy. */

/* --max-per-addr, 4 x it per IPv6 /56, 16 x per /48. */
static uint64_t
addr_limit(const struct addr *a)
{
	return (uint64_t)R.c.max_per_addr << (2 * a->level);
}

/* The first level over its limit plus slack, or NULL. */
static struct addr *
addr_over(struct addr *a, uint32_t slack)
{
	for (; a != NULL; a = a->up)
		if (a->count > addr_limit(a) + slack)
			return a;
	return NULL;
}

static void
addr_release(struct addr *a)
{
	struct addr *up;

	for (; a != NULL; a = up) {
		up = a->up;
		if (--a->count == 0) {
			table_del(&R.addrs, &a->n);
			free(a);
		}
	}
}

/* Count a new connection under every level of its address; the /64 (or
 * IPv4) entry, NULL when the address is unknown or memory short. */
static struct addr *
addr_take(int fd)
{
	uint8_t keys[RELAYD_ADDR_LEVELS][32];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addr *a, *first = NULL, *prev = NULL;
	int i, n;

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    (n = relayd_addr_keys(&ss, keys)) == 0) {
		memset(keys, 0, sizeof(keys));
		n = 1;
	}
	for (i = 0; i < n; i++) {
		if ((a = (struct addr *)table_get(&R.addrs, keys[i])) ==
		    NULL) {
			if ((a = calloc(1, sizeof(*a))) == NULL)
				break;
			memcpy(a->n.key, keys[i], sizeof(keys[i]));
			a->level = (uint8_t)i;
			(void)table_put(&R.addrs, &a->n);
		}
		a->count++;
		if (prev != NULL)
			prev->up = a;
		else
			first = a;
		prev = a;
	}
	if (i < n) {
		addr_release(first);
		return NULL;
	}
	return first;
}

static int
on_tcp_open(struct lws *wsi)
{
	struct addr *a, *over;
	char name[64];

	if ((a = addr_take((int)lws_get_socket_fd(wsi))) == NULL)
		return -1;
	R.nconns++;
	lws_set_opaque_user_data(wsi, a);
	if (R.stopping)
		return -1;
	over = addr_over(a, HARD_SLACK);
	if (R.nconns > R.c.max_conns + HARD_SLACK || over != NULL) {
		R.st_refused++;
		relayd_refusal("%s: dropped at accept (%s)",
		    peer_name(wsi, name, sizeof(name)),
		    R.nconns > R.c.max_conns + HARD_SLACK ? "relay full" :
		    "too many connections from this address");
		return -1;
	}
	return 0;
}

static void
on_tcp_gone(struct lws *wsi)
{
	struct addr *a = lws_get_opaque_user_data(wsi);

	if (a == NULL)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	R.nconns--;
	addr_release(a);
}

static void
on_established(struct conn *c, struct lws *wsi)
{
	struct addr *a = lws_get_opaque_user_data(wsi);
	char name[64];

	c->wsi = wsi;
	c->addr = a;
	c->qtail = &c->qhead;
	c->flags = F_LIVE;
	c->timer.type = T_CONN;
	c->last_rx = R.wheel.now;
	R.nlive++;
	R.st_opened++;
	relayd_vlog("%s: open (%u connections)", peer_name(wsi, name,
	    sizeof(name)), (unsigned int)R.nlive);
	if (R.stopping)
		conn_close(c, SKP_RELAY_C_SHUTDOWN);
	else if (lws_get_protocol(wsi) == NULL ||
	    strcmp(lws_get_protocol(wsi)->name, SKP_RELAY_SUBPROTOCOL) != 0)
		/* Protocol 1, or no subprotocol: told what to update. */
		conn_close(c, SKP_RELAY_C_OLD_PROTOCOL);
	else if (R.nconns > R.c.max_conns)
		conn_close(c, SKP_RELAY_C_CONNS);
	else if (addr_over(a, 0) != NULL)
		conn_close(c, SKP_RELAY_C_ADDR_CONNS);
	else
		wheel_arm(&R.wheel, &c->timer, R.wheel.now +
		    secs_to_ticks(R.c.idle_s < R.c.ping_s ? R.c.idle_s :
		    R.c.ping_s));
}

static void
on_closed(struct conn *c)
{
	char name[64];

	if (!(c->flags & F_LIVE))
		return;
	conn_detach(c);
	queue_drop(c);
	if (c->rx != NULL) {
		txq_free(c->rx);
		c->rx = NULL;
	}
	c->flags = 0;
	R.nlive--;
	R.st_closed++;
	relayd_vlog("%s: gone (%u connections)", peer_name(c->wsi, name,
	    sizeof(name)), (unsigned int)R.nlive);
}

static int
relay_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		return on_tcp_open(wsi);
	case LWS_CALLBACK_WSI_DESTROY:
		on_tcp_gone(wsi);
		return 0;
	case LWS_CALLBACK_HTTP:
		/*
		 * Not an upgrade: the web phone, or 404. Its connections
		 * count under the same limits; past them, 503.
		 */
		if (c == NULL)
			return -1;
		return relayd_web_cb(wsi, (int)reason, &c->web, in, len,
		    R.stopping || R.nconns > R.c.max_conns ||
		    addr_over(lws_get_opaque_user_data(wsi), 0) != NULL);
	case LWS_CALLBACK_HTTP_WRITEABLE:
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c == NULL)
			return 0;
		return relayd_web_cb(wsi, (int)reason, &c->web, in, len, 0);
	case LWS_CALLBACK_ESTABLISHED:
		on_established(c, wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (c != NULL && (c->flags & F_LIVE))
			on_receive(c, wsi, in, len);
		return 0;
	case LWS_CALLBACK_RECEIVE_PONG:
		if (c != NULL && (c->flags & F_LIVE)) {
			c->last_rx = R.wheel.now;
			c->flags &= (uint8_t)~F_PING_OUT;
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (c == NULL || !(c->flags & F_LIVE))
			return 0;
		return on_writable(c, wsi);
	case LWS_CALLBACK_CLOSED:
		if (c != NULL)
			on_closed(c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* The push thread has results (or a signal came). */
		if (relayd_push_on())
			relayd_push_results();
		return 0;
	case LWS_CALLBACK_USER:
		/* relayd_shutdown(): every connection, one by one. */
		if (c != NULL && (c->flags & F_LIVE) && c->wsi == wsi)
			conn_close(c, SKP_RELAY_C_SHUTDOWN);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	/*
	 * The first serves clients that offer no subprotocol: protocol 1
	 * ones, answered with SKP_RELAY_C_OLD_PROTOCOL like those offering
	 * v1. tx_packet_size: lws would cut every write to RX_CHUNK bytes.
	 */
	{ SKP_RELAY_SUBPROTOCOL_V1, relay_cb, sizeof(struct conn), RX_CHUNK,
	    0, NULL, 2 * SKP_RELAY_MAX_FRAME },
	{ SKP_RELAY_SUBPROTOCOL, relay_cb, sizeof(struct conn), RX_CHUNK, 0,
	    NULL, 2 * SKP_RELAY_MAX_FRAME },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

const struct lws_protocols *const relayd_protocols = protocols;

int
relayd_init(const struct relayd_conf *conf)
{
	int rc;

	memset(&R, 0, sizeof(R));
	R.c = *conf;
	R.qhigh = 4 * R.c.max_frame;
	R.qlow = R.c.max_frame;
	/* Senders are stopped at qhigh; the cap is above what that lets in. */
	if (R.c.max_queued < R.qhigh + R.c.max_frame)
		R.c.max_queued = R.qhigh + R.c.max_frame;
	if ((rc = table_init(&R.mboxes)) != SKP_OK ||
	    (rc = table_init(&R.rdvs)) != SKP_OK ||
	    (rc = table_init(&R.addrs)) != SKP_OK ||
	    (rc = table_init(&R.xlinks)) != SKP_OK)
		return rc;
	R.cluster = conf->cluster != NULL;
	/* Link ids: from a random start, so a restarted node's new links
	 * are not taken for its old ones. */
	if (R.cluster && (rc = skp_random((uint8_t *)&R.next_lid,
	    sizeof(R.next_lid))) != SKP_OK)
		return rc;
	R.next_lid >>= 1;
	return SKP_OK;
}

void
relayd_set_context(struct lws_context *ctx)
{
	R.ctx = ctx;
}

void
relayd_start_ticks(void)
{
	R.start_ms = relayd_mono_ms();
	lws_sul_schedule(R.ctx, 0, &R.tick_sul, tick_cb,
	    (lws_usec_t)WHEEL_TICK_MS * LWS_US_PER_MS);
}

void
relayd_shutdown(void)
{
	struct lws_vhost *vh;
	const struct lws_protocols *p;

	R.stopping = 1;
	/* What happened since the last summary, said before going. */
	stats_line();
	/* lws compares the protocol pointer: use the vhost's own copy. */
	if ((vh = lws_get_vhost_by_name(R.ctx, "sk-phone-relay")) == NULL ||
	    (p = lws_vhost_name_to_protocol(vh, SKP_RELAY_SUBPROTOCOL)) ==
	    NULL)
		return;
	lws_callback_all_protocol_vhost_args(vh, p, LWS_CALLBACK_USER, NULL,
	    0);
}

int
relayd_idle(void)
{
	return R.nlive == 0;
}

void
relayd_fini(void)
{
	table_free(&R.mboxes);
	table_free(&R.rdvs);
	table_free(&R.addrs);
	table_free(&R.xlinks);
}
