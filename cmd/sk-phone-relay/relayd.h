/* sk-phone-relay internals: settings, keyed tables, timers, the router. */
#ifndef SKP_RELAYD_H
#define SKP_RELAYD_H

#include <stddef.h>
#include <stdint.h>

struct lws_context;
struct lws_protocols;

/* Everything a flag can set; defaults in main.c. */
struct relayd_conf {
	const char	*listen;	/* HOST:PORT as given */
	char		 host[128];
	int		 port;
	const char	*tls_cert;
	const char	*tls_key;
	uint32_t	 max_frame;	/* bytes, header included */
	uint32_t	 max_conns;	/* TCP connections in all */
	uint32_t	 max_per_addr;	/* TCP connections per source address */
	uint32_t	 max_calls;	/* open calls per mailbox */
	uint32_t	 max_pending;	/* held calls and waiting rendezvous */
	uint32_t	 max_chans;	/* channels per caller connection */
	uint32_t	 max_hold_s;	/* cap on a call's timeout */
	uint64_t	 max_held_bytes; /* DATA kept for calls not delivered */
	uint32_t	 max_queued;	/* bytes queued to one connection */
	uint64_t	 max_queued_total; /* bytes queued to all of them */
	uint32_t	 handshake_s;	/* to finish the websocket handshake */
	uint32_t	 idle_s;	/* connection doing nothing */
	uint32_t	 ping_s;	/* ping a silent connection */
	const char	*web_dir;	/* the web phone; NULL: none */
	/* Web Push (push.c); push_dir NULL: off. */
	const char	*push_dir;
	const char	**push_allow;	/* origins added to the default list */
	size_t		 npush_allow;
	const char	*push_contact;	/* mailto: or https: URI, or NULL */
	const char	*push_ca;	/* CA file instead of the system's */
	uint32_t	 push_queue;	/* pushes waiting or being sent */
	int		 web_default;	/* web_dir is the installed copy */
	int		 verbose;
	/* Cluster (cluster.c); cluster NULL: a single relay, no Redis. */
	const char	*cluster;	/* redis://[:PASSWORD@]HOST:PORT[/DB] */
	const char	*node;		/* this node's name */
};

/* Monotonic milliseconds (relay.c). */
uint64_t relayd_mono_ms(void);

/* Logging: refusals always (rate limited), connections with -v. */
void	relayd_log(const char *, ...) __attribute__((format(printf, 1, 2)));
void	relayd_vlog(const char *, ...) __attribute__((format(printf, 1, 2)));
void	relayd_refusal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * A chained hash table of fixed 32-byte keys, hashed with SipHash-2-4
 * under a random key: mailbox ids and rendezvous ids are chosen by
 * clients, so an unkeyed hash would let them pile entries in one chain.
 * Nodes are embedded in the caller's structs.
 */
struct tnode_key {
	struct tnode_key	*next;
	uint8_t			 key[32];
};

struct table {
	struct tnode_key	**b;
	size_t			  nb;	/* power of two */
	size_t			  n;
	uint64_t		  k0, k1;
};

int	 table_init(struct table *);
void	 table_free(struct table *);
struct tnode_key *table_get(const struct table *, const uint8_t [32]);
/* The node's key must be set; returns SKP_ERR_NOMEM when growing fails
 * (the insert itself still happens). */
int	 table_put(struct table *, struct tnode_key *);
void	 table_del(struct table *, struct tnode_key *);
uint64_t siphash24(uint64_t, uint64_t, const uint8_t *, size_t);

/*
 * The keys a peer address counts under for --max-per-addr: an IPv4
 * address (or IPv4-mapped IPv6) has one; an IPv6 address three, its
 * /64, /56 and /48, each the masked prefix with the prefix length in
 * byte 16, allowed 1, 4 and 16 times the limit. Returns how many (0 for
 * another family).
 */
#define RELAYD_ADDR_LEVELS	3
int	relayd_addr_keys(const void *sockaddr, uint8_t keys[RELAYD_ADDR_LEVELS][32]);

/*
 * A timer wheel of 100 ms ticks: O(1) to arm and disarm, so thousands of
 * idle phones cost nothing per call (lws's own timers are a sorted list).
 */
#define WHEEL_TICK_MS	100
#define WHEEL_SLOTS	1024

struct wtimer {
	struct wtimer	*next;
	struct wtimer	**pprev;	/* NULL when not armed */
	uint32_t	 due;		/* tick */
	uint8_t		 type;
};

struct wheel {
	struct wtimer	*slot[WHEEL_SLOTS];
	uint32_t	 now;		/* ticks done */
};

void	wheel_arm(struct wheel *, struct wtimer *, uint32_t due);
void	wheel_disarm(struct wtimer *);
/* Runs every timer due up to tick `to'; fire may arm and disarm. */
void	wheel_advance(struct wheel *, uint32_t to,
	    void (*fire)(struct wtimer *));

/*
 * The web phone's files (webpath.c: no libwebsockets). relayd_web_path
 * turns a request path (lws has %-decoded it and folded "/../") into one
 * relative to the web folder, "index.html" for a folder; -1 when it names
 * nothing served (a segment that is empty, starts with a dot or holds
 * other than [A-Za-z0-9._~@+-]).
 */
#define RELAYD_WEB_PATH_MAX	512
#define RELAYD_WEB_SEG_MAX	128
#define RELAYD_WEB_DEPTH_MAX	8
#define RELAYD_WEB_ETAG_LEN	64
#define RELAYD_WEB_DATE_LEN	32
int	 relayd_web_path(const char *, size_t, char *, size_t);
const char *relayd_web_type(const char *);
void	 relayd_web_etag(uint64_t, int64_t, long, char [RELAYD_WEB_ETAG_LEN]);
int	 relayd_web_parse_date(const char *, size_t, int64_t *);
void	 relayd_web_date(int64_t, char [RELAYD_WEB_DATE_LEN]);
/* 1 when the client's copy is current (answer 304). */
int	 relayd_web_fresh(const char *, size_t, const char *, size_t,
	    const char *, int64_t);
int	 relayd_web_host_ok(const char *, size_t);

/*
 * Serving them (web.c). relayd_web_init opens the folder (0, or -1 with
 * the reason said); relayd_web_cb takes lws's HTTP callbacks for one
 * connection, whose state lives in *slot; busy: over a connection limit.
 */
struct relayd_web;
struct lws;
int	relayd_web_init(const struct relayd_conf *);
int	relayd_web_on(void);
int	relayd_web_cb(struct lws *, int reason, struct relayd_web **slot,
	    void *in, size_t len, int busy);
void	relayd_web_fini(void);

/*
 * Web Push (push.c, docs/PROTOCOL.md §7.11). Everything here is called
 * on the relay's loop; the HTTP requests run in push.c's own thread,
 * which only ever hands results back through a locked queue and
 * lws_cancel_service() (LWS_CALLBACK_EVENT_WAIT_CANCELLED then calls
 * relayd_push_results()). The subscriptions are changed only here.
 */
struct relayd_push_stats {
	uint64_t	 sent, failed, dropped;	/* since the last call */
	size_t		 subs;			/* stored now */
};
/* Opens DIR, its VAPID key and subscriptions: 0, or -1 said. */
int	 relayd_push_init(const struct relayd_conf *);
int	 relayd_push_on(void);
/* Starts the push thread; lws_cancel_service(ctx) wakes the loop. */
int	 relayd_push_start(struct lws_context *);
/*
 * SUBSCRIBE's body (frame.data, frame.len) for a proved mailbox: the
 * PUSH status (key set unless SKP_RELAY_PUSH_OFF), or -1 when the body
 * is malformed (the caller closes with 4000). UNSUBSCRIBE likewise.
 */
int	 relayd_push_subscribe(const uint8_t id[32], const uint8_t *, size_t,
	    uint8_t key[65]);
int	 relayd_push_unsubscribe(const uint8_t id[32], uint8_t key[65]);
/*
 * A held call's first DATA: queue a push to the mailbox's subscription
 * with msg as its message, valid for left_ms more. A handle for
 * relayd_push_cancel(), or 0 when none was queued (no subscription, or
 * the queue is full: counted as dropped).
 */
uint64_t relayd_push_call(const uint8_t id[32], const uint8_t *msg, size_t,
	    uint32_t left_ms);
/* The call ended or was delivered: a push not yet started is dropped, one
 * being sent is not tried again. */
void	 relayd_push_cancel(uint64_t);
void	 relayd_push_results(void);
void	 relayd_push_stats(struct relayd_push_stats *);
/* Asks the thread to stop: requests in flight get 2 s more. */
void	 relayd_push_stop(void);
/* Stops the thread (requests in flight abandoned after 2 s) and frees. */
void	 relayd_push_fini(void);

/*
 * The messages between relay nodes (clmsg.c, docs/PROTOCOL.md §7.12),
 * published on the receiving node's Redis channel:
 * version (1) || type (1) || sender name length (1) || sender name ||
 * to (8) || from (8) || body, integers big endian.
 */
#define RELAYD_NODE_MAX	64
#define CLM_VERSION	1
#define CLM_FIXED	(3 + 16)
enum {
	CLM_CALL = 1,	/* id (32) || timeout ms (4): deliver to your phone */
	CLM_ONLINE,	/* delivered: to = the caller's link, from = ours */
	CLM_NOTHERE,	/* not listening here */
	CLM_DATA,	/* a message for the other end */
	CLM_END,	/* code (2): the link ended on the sender's side */
	CLM_MEET,	/* id (32) || timeout ms (4): join your waiter */
	CLM_PEER,	/* met: to = the joiner's link, from = ours */
	CLM_NOPEER,	/* nobody waits here */
	CLM_REPLACED,	/* id (32): a newer LISTEN took this mailbox */
	CLM_WAKE,	/* id (32): the phone listens on the sender now */
};

struct clmsg {
	uint8_t		 type;
	char		 node[RELAYD_NODE_MAX + 1];	/* the sender */
	uint64_t	 to;		/* the receiver's link, or 0 */
	uint64_t	 from;		/* the sender's link, or 0 */
	uint8_t		 id[32];
	uint32_t	 timeout_ms;
	uint16_t	 code;
	const uint8_t	*data;
	size_t		 len;
};

int	relayd_node_name_ok(const char *, size_t);
size_t	relayd_clmsg_size(const struct clmsg *);
size_t	relayd_clmsg_encode(const struct clmsg *, uint8_t *);
int	relayd_clmsg_parse(const uint8_t *, size_t, struct clmsg *);

/*
 * The cluster's Redis side (cluster.c, built with hiredis). Everything
 * runs on the relay's libev loop; replies come back as the relayd_x_*
 * events below (relay.c), naming links by their 64-bit ids.
 */
int	relayd_cluster_init(const struct relayd_conf *, void *evloop);
int	relayd_cluster_on(void);
int	relayd_cluster_up(void);
const char *relayd_cluster_node(void);
void	relayd_cluster_tick(void);
void	relayd_cluster_fini(void);
/* Bytes published and not yet acknowledged by Redis. */
uint64_t relayd_cluster_backlog(void);
void	cl_lookup(uint64_t lid, const uint8_t id[32], int hold,
	    uint32_t hold_ms);
void	cl_claim(const uint8_t id[32]);
void	cl_release(const uint8_t id[32]);
void	cl_refresh(const uint8_t id[32]);
void	cl_rdv_join(uint64_t lid, const uint8_t id[32], uint32_t ms);
void	cl_rdv_get(uint64_t lid, const uint8_t id[32]);
void	cl_rdv_set(const uint8_t id[32], uint32_t ms);
void	cl_rdv_release(const uint8_t id[32]);
void	cl_send(const char *node, const struct clmsg *);
void	cl_check_nodes(const char *const *nodes, size_t n);

/* Events from cluster.c (relay.c). node NULL: nobody; err: Redis down. */
void	relayd_x_lookup_done(uint64_t lid, const char *node, int err);
void	relayd_x_rdv_done(uint64_t lid, const char *node, int err);
void	relayd_x_msg(const struct clmsg *);
void	relayd_x_node_gone(const char *node);
void	relayd_x_state(int up);
void	relayd_x_evict(const uint8_t id[32]);

/* The router (relay.c). */
extern const struct lws_protocols *const relayd_protocols;
int	relayd_init(const struct relayd_conf *);
void	relayd_set_context(struct lws_context *);
void	relayd_start_ticks(void);
/* Close every connection with SKP_RELAY_C_SHUTDOWN; 1 once none is left. */
void	relayd_shutdown(void);
int	relayd_idle(void);
void	relayd_fini(void);

#endif
