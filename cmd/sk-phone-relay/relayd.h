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
	int		 web_default;	/* web_dir is the installed copy */
	int		 verbose;
};

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
