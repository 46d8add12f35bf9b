/* The relay: its wire frames, and the client that computers and phones use. */
#ifndef SKP_RELAY_H
#define SKP_RELAY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Wire format (docs/PROTOCOL.md §7 has it byte for byte).
 *
 * Every websocket message is one binary frame:
 *	kind (1) || channel id (uint32, big endian) || body
 * The websocket subprotocol is SKP_RELAY_SUBPROTOCOL. Text frames are
 * refused. The relay caps a whole frame (header included) at --max-frame,
 * 65536 bytes by default.
 */
#define SKP_RELAY_SUBPROTOCOL	"sk-phone-relay.v2"
/* Refused by the relay with SKP_RELAY_C_OLD_PROTOCOL. */
#define SKP_RELAY_SUBPROTOCOL_V1 "sk-phone-relay.v1"
#define SKP_RELAY_ID_LEN	32	/* mailbox id, rendezvous id */
#define SKP_RELAY_PUB_LEN	65	/* mailbox public key, SEC1 */
#define SKP_RELAY_NONCE_LEN	32	/* CHALLENGE */
#define SKP_RELAY_SIG_LEN	64	/* PROVE: ECDSA r || s */
/* "sk-phone mailbox proof v2" (25) || nonce || mailbox id */
#define SKP_RELAY_PROOF_MSG_LEN	(25 + SKP_RELAY_NONCE_LEN + SKP_RELAY_ID_LEN)
#define SKP_RELAY_HDR_LEN	5
#define SKP_RELAY_MAX_FRAME	65536	/* default cap on a whole frame */
#define SKP_RELAY_MAX_MSG	(SKP_RELAY_MAX_FRAME - SKP_RELAY_HDR_LEN)
#define SKP_RELAY_REASON_MAX	123	/* as in a websocket close frame */

/* Client to relay. */
#define SKP_RELAY_LISTEN	0x01	/* chan 0; mailbox id || public key */
#define SKP_RELAY_CALL		0x02	/* chan new; mailbox id || timeout */
#define SKP_RELAY_JOIN		0x03	/* chan new; rendezvous id || timeout */
#define SKP_RELAY_DATA		0x04	/* both ways; opaque message */
#define SKP_RELAY_HANGUP	0x05	/* chan; empty body */
#define SKP_RELAY_PROVE		0x06	/* chan 0; signature r || s */
#define SKP_RELAY_MEET		0x07	/* chan new; rendezvous id || timeout */
/* chan 0, proved listener only: empty, or p256dh || auth || endpoint */
#define SKP_RELAY_SUBSCRIBE	0x08
#define SKP_RELAY_UNSUBSCRIBE	0x09	/* chan 0, proved listener; empty */
/* Relay to client. */
#define SKP_RELAY_LISTENING	0x81	/* chan 0; empty */
#define SKP_RELAY_INCOMING	0x82	/* to a phone: new call on chan */
#define SKP_RELAY_ONLINE	0x83	/* to a caller: reached the phone */
#define SKP_RELAY_OFFLINE	0x84	/* to a caller: phone away, call held */
#define SKP_RELAY_WAITING	0x85	/* rendezvous: first there, waiting */
#define SKP_RELAY_PEER		0x86	/* rendezvous: the other one is there */
#define SKP_RELAY_END		0x87	/* chan over; code (uint16) || reason */
#define SKP_RELAY_CHALLENGE	0x88	/* chan 0; nonce (32) to sign */
/* chan 0; status (1) || VAPID public key (65), status OFF alone */
#define SKP_RELAY_PUSH		0x89

/* Web Push (docs/PROTOCOL.md §7.11): SUBSCRIBE's parts, PUSH's status. */
#define SKP_RELAY_PUSH_KEY_LEN	65	/* p256dh, VAPID key: SEC1 point */
#define SKP_RELAY_PUSH_AUTH_LEN	16
#define SKP_RELAY_PUSH_URL_MIN	12	/* endpoint URL, printable ASCII */
#define SKP_RELAY_PUSH_URL_MAX	1024
#define SKP_RELAY_PUSH_OK	0	/* key given; subscription stored */
#define SKP_RELAY_PUSH_REMOVED	1	/* answer to UNSUBSCRIBE */
#define SKP_RELAY_PUSH_OFF	2	/* relay runs without push */
#define SKP_RELAY_PUSH_REFUSED	3	/* endpoint not allowed */
#define SKP_RELAY_PUSH_FULL	4	/* too many, or could not store */

/*
 * Codes: websocket close codes for the whole connection, and the code in
 * an END frame for one channel. Each refusal has its own.
 */
#define SKP_RELAY_C_PROTOCOL	4000	/* malformed or out-of-order frame */
#define SKP_RELAY_C_TEXT	4001	/* a text frame */
#define SKP_RELAY_C_TOO_BIG	4002	/* frame over --max-frame */
#define SKP_RELAY_C_ADDR_CONNS	4003	/* too many connections from address */
#define SKP_RELAY_C_CONNS	4004	/* relay full (--max-conns) */
#define SKP_RELAY_C_IDLE	4005	/* nothing listened or called */
#define SKP_RELAY_C_PROOF	4006	/* bad mailbox key, id or signature */
#define SKP_RELAY_C_REPLACED	4007	/* the mailbox has a newer listener */
#define SKP_RELAY_C_SHUTDOWN	4008	/* the relay is stopping */
#define SKP_RELAY_C_KEEPALIVE	4009	/* no pong to the relay's ping */
#define SKP_RELAY_C_SLOW	4010	/* END: relay could not queue a frame */
#define SKP_RELAY_C_OLD_PROTOCOL 4011	/* a client of protocol 1 */
#define SKP_RELAY_C_SLOW_READER	4012	/* too much queued to this conn */
#define SKP_RELAY_C_TIMEOUT	4020	/* END: call or rendezvous timed out */
#define SKP_RELAY_C_MBOX_CALLS	4021	/* END: too many calls to the mailbox */
#define SKP_RELAY_C_PENDING	4022	/* END: too many held calls in all */
#define SKP_RELAY_C_CHANNELS	4023	/* END: too many channels on one conn */
#define SKP_RELAY_C_PHONE_GONE	4024	/* END: phone dropped during the call */
#define SKP_RELAY_C_HUNG_UP	4025	/* END: the other side hung up */
#define SKP_RELAY_C_PEER_GONE	4026	/* END: the other side disconnected */
#define SKP_RELAY_C_RDV_BUSY	4027	/* END: this conn already waits there */
#define SKP_RELAY_C_HELD_DATA	4028	/* END: too much DATA before delivery */
#define SKP_RELAY_C_ADDR_CALLS	4029	/* END: address's share of max-calls */
#define SKP_RELAY_C_ADDR_PENDING 4030	/* END: address's share of max-pending */
#define SKP_RELAY_C_NO_RDV	4031	/* END: MEET where nobody waits */
#define SKP_RELAY_C_CLUSTER	4032	/* END: cross-node routing down */

/* The reason text the relay sends with a code; "unknown" for others. */
const char	*skp_relay_code_reason(unsigned int code);
/*
 * The SKP_ERR_* a code means to a client: SKP_ERR_TIMEOUT, SKP_ERR_LIMIT,
 * SKP_ERR_CLOSED (peer or relay ended it), SKP_ERR_INVALID (bad proof),
 * SKP_ERR_EXISTS (replaced), SKP_ERR_FORMAT (protocol), SKP_ERR_NETWORK.
 */
int		 skp_relay_code_err(unsigned int code);

struct skp_p256_key;

/* mailbox id = SHA-256("sk-phone mailbox v2" || public key (65)). */
int	skp_relay_mailbox_id(const uint8_t pub[SKP_RELAY_PUB_LEN],
	    uint8_t id[SKP_RELAY_ID_LEN]);
/*
 * The mailbox proof (docs/PROTOCOL.md §7.4): an ECDSA P-256 / SHA-256
 * signature, r || s, of "sk-phone mailbox proof v2" || nonce || id.
 * _digest is the SHA-256 that is signed (for test vectors). _check:
 * SKP_OK, or SKP_ERR_CRYPTO when id is not the hash of pub, pub is not a
 * point, or the signature does not verify.
 */
int	skp_relay_proof_digest(const uint8_t nonce[SKP_RELAY_NONCE_LEN],
	    const uint8_t id[SKP_RELAY_ID_LEN], uint8_t digest[32]);
int	skp_relay_prove(const struct skp_p256_key *,
	    const uint8_t nonce[SKP_RELAY_NONCE_LEN],
	    uint8_t sig[SKP_RELAY_SIG_LEN]);
int	skp_relay_proof_check(const uint8_t id[SKP_RELAY_ID_LEN],
	    const uint8_t pub[SKP_RELAY_PUB_LEN],
	    const uint8_t nonce[SKP_RELAY_NONCE_LEN],
	    const uint8_t sig[SKP_RELAY_SIG_LEN]);

/*
 * A parsed frame. Pointers point into the parsed bytes. Which fields are
 * set depends on the kind; the others are zero.
 */
struct skp_relay_frame {
	uint8_t		 kind;
	uint32_t	 chan;
	const uint8_t	*id;		/* LISTEN, CALL, JOIN, MEET */
	const uint8_t	*pub;		/* LISTEN: mailbox public key */
	uint32_t	 timeout_ms;	/* CALL, JOIN, MEET */
	uint16_t	 code;		/* END */
	uint8_t		 status;	/* PUSH */
	/*
	 * DATA: message; END: reason; PROVE: signature; CHALLENGE: nonce;
	 * SUBSCRIBE: the whole body (empty: asks for the key); PUSH: the
	 * VAPID key (NULL and 0 with status OFF)
	 */
	const uint8_t	*data;
	size_t		 len;
};

/*
 * Strict parse of one whole frame, from a client (what the relay reads)
 * or from the relay (what a client reads): known kind, exact body length
 * per kind, channel rules. SKP_ERR_FORMAT (unknown kind, bad channel or
 * reason), SKP_ERR_TRUNCATED, SKP_ERR_TRAILING. Size caps are the
 * caller's: the relay applies --max-frame before parsing.
 */
int	skp_relay_parse_client(const uint8_t *, size_t,
	    struct skp_relay_frame *);
int	skp_relay_parse_relay(const uint8_t *, size_t,
	    struct skp_relay_frame *);
/* Writes the 5-byte header. */
void	skp_relay_put_hdr(uint8_t out[SKP_RELAY_HDR_LEN], uint8_t kind,
	    uint32_t chan);

/*
 * The client. One object is one websocket connection to one relay (its
 * own libwebsockets context: no global state besides the library's log
 * level, which it keeps silent unless SK_PHONE_DEBUG=1; nothing ever on
 * stdout; SIGPIPE is blocked around its I/O and no signal handler is left
 * changed). Single-threaded: use one object from one thread at a time.
 * Objects in several threads work, except that wss connects must not
 * overlap: libwebsockets 4.1 keeps one process-wide OpenSSL ex-data
 * index that each new context re-registers mid-handshake of another.
 *
 * URLs: ws://host[:port][/path] or wss://host[:port][/path]; host may be
 * a name, an IPv4 address or [IPv6]. Default ports 80 and 443. wss
 * verifies the certificate chain and the host name against the system CA
 * store, or only against opts.ca_file when given; a self-signed
 * certificate is refused (SKP_ERR_TLS) unless it is in ca_file.
 *
 * Deadlines: every blocking call takes timeout_ms (> 0), and the object
 * may carry one deadline for the whole exchange (skp_relay_set_deadline);
 * a call returns SKP_ERR_TIMEOUT at whichever comes first.
 */
typedef struct skp_relay skp_relay_t;

/* What skp_relay_service() reports. */
enum skp_relay_event_type {
	SKP_RELAY_EV_NONE = 0,
	SKP_RELAY_EV_LISTENING,	/* the relay accepted our listen */
	SKP_RELAY_EV_INCOMING,	/* phone: a new call on chan */
	SKP_RELAY_EV_ONLINE,	/* caller: the call reached the phone */
	SKP_RELAY_EV_OFFLINE,	/* caller: phone away, the relay holds it */
	SKP_RELAY_EV_WAITING,	/* rendezvous: waiting for the peer */
	SKP_RELAY_EV_PEER,	/* rendezvous: the peer is there */
	SKP_RELAY_EV_MESSAGE,	/* msg, len arrived on chan */
	SKP_RELAY_EV_END,	/* chan is over; err and code say why */
	SKP_RELAY_EV_CLOSED,	/* the connection is gone; err, code */
};

struct skp_relay_event {
	int		 type;		/* SKP_RELAY_EV_* */
	uint32_t	 chan;
	/*
	 * END and CLOSED: SKP_ERR_CLOSED (peer hung up, phone or relay went
	 * away cleanly), SKP_ERR_TIMEOUT, SKP_ERR_LIMIT, SKP_ERR_NETWORK
	 * (connection lost without a close), SKP_ERR_TLS, SKP_ERR_INVALID,
	 * SKP_ERR_EXISTS, SKP_ERR_FORMAT.
	 */
	int		 err;
	uint16_t	 code;		/* relay code, 0 when none came */
	/* MESSAGE: valid until the next call on the object. */
	const uint8_t	*msg;
	size_t		 len;
};

struct skp_relay_opts {
	/* wss: trust only the CA certificates in this PEM file. */
	const char	*ca_file;
	/* wss: resume TLS sessions saved in this folder (the computer's
	 * state folder, file tls-sessions, §6.7), and save the relay's new
	 * ones there; NULL: a full handshake every time. */
	const char	*tls_session_dir;
	/* Ping the relay after this many silent seconds (0: 20); the
	 * connection counts as lost when nothing comes back within as many
	 * seconds again. */
	int		 keepalive_s;
	/*
	 * Called from inside skp_relay_wait() and skp_relay_recv() and
	 * skp_relay_exchange() with SKP_RELAY_EV_ONLINE, _OFFLINE, _WAITING
	 * or _PEER for chan, so a program can print "phone offline, still
	 * waiting". May be NULL. Must not call back into the object.
	 */
	void		(*on_status)(void *arg, uint32_t chan, int type);
	void		*arg;
};

/* opts may be NULL; it is copied (ca_file must live as long as the
 * object). NULL on failure. */
skp_relay_t	*skp_relay_new(const struct skp_relay_opts *);
/* Closes the connection (a close frame when possible) and frees. */
void		 skp_relay_free(skp_relay_t **);

/*
 * Deadline for everything from now on: timeout_ms from now. 0 removes
 * it.
 */
int	skp_relay_set_deadline(skp_relay_t *, int timeout_ms);

/*
 * Connects (TCP, TLS, websocket handshake) within timeout_ms.
 * SKP_ERR_NETWORK, SKP_ERR_TLS, SKP_ERR_TIMEOUT, SKP_ERR_LIMIT (refused
 * by a relay limit), SKP_ERR_INVALID (bad URL), SKP_ERR_IO (ca_file
 * unreadable). After an SKP_RELAY_EV_CLOSED event, calling it again
 * reconnects; every channel and unread event of the old connection is
 * gone. A host name is resolved with getaddrinfo(), which the timeout
 * cannot cut short (libwebsockets 4.1 resolves synchronously).
 */
int	skp_relay_connect(skp_relay_t *, const char *url, int timeout_ms);
/*
 * The same in two halves, for a caller with work to do meanwhile (the
 * provider computes its Noise message while the handshakes travel):
 * _start opens the connection and sends what it can without waiting
 * (its errors are those of skp_relay_connect(), the early ones);
 * _finish waits for the websocket, timeout_ms at most, and returns what
 * skp_relay_connect() would have.
 */
int	skp_relay_connect_start(skp_relay_t *, const char *url,
	    int timeout_ms);
int	skp_relay_connect_finish(skp_relay_t *, int timeout_ms);
/*
 * For a program that waits on other things too: one turn, without
 * waiting, of a connection _start began: 1 while it is under way, else
 * what _finish answers. Call it every few ms; the caller keeps the
 * deadline (skp_relay_free() ends a connection that took too long).
 */
int	skp_relay_connect_step(skp_relay_t *);
/*
 * While such a connection is under way: its socket, and the poll(2)
 * events to wait for on it (POLLIN: the relay's answers to TLS and to the
 * upgrade), so that the program wakes when the relay speaks, then calls
 * _step; -1 when there is no socket yet. What the connection does on its
 * own (the TCP connect completing, writing the upgrade) still needs _step
 * every few ms: poll with a timeout of at most 5 ms.
 */
int	skp_relay_connect_fd(const skp_relay_t *, short *events);

/*
 * A relay list (include/sk-phone/relayurl.h: URLs of one relay, joined
 * by spaces): connect to the first URL that answers, in order
 * (docs/PROTOCOL.md §7.1). Each URL but the last gets its share of what
 * is left of timeout_ms, at most SKP_RELAY_URL_TIMEOUT_MS, so a URL that
 * accepts and never answers cannot eat the budget; the last gets all
 * that is left. *which (may be NULL) gets the index of the URL that
 * answered. Errors: those of skp_relay_connect(); when every URL
 * failed, SKP_ERR_TLS or SKP_ERR_IO if one failed so (the user must act),
 * else the last URL's. A list of one URL is skp_relay_connect().
 * _start/_finish split it as skp_relay_connect_start/_finish do: _start
 * starts the first URL, _finish waits for it and walks the others.
 */
#define SKP_RELAY_URL_TIMEOUT_MS	3000
/* The time URL i of n may take of left ms, by the rule above. */
int	skp_relay_url_share(int left, size_t i, size_t n);
int	skp_relay_connect_list(skp_relay_t *, const char *list,
	    int timeout_ms, size_t *which);
int	skp_relay_connect_list_start(skp_relay_t *, const char *list,
	    int timeout_ms);
int	skp_relay_connect_list_finish(skp_relay_t *, const char *list,
	    int timeout_ms, size_t *which);

/*
 * Phone: listen on the mailbox of this key (its id is the hash of the
 * public key): LISTEN, the relay's CHALLENGE signed in PROVE, then
 * LISTENING. Blocks until the relay confirms (0), refuses
 * (SKP_ERR_INVALID for a bad proof) or timeout_ms passes. The key is
 * copied only until the challenge is signed. Calls then arrive as SKP_RELAY_EV_INCOMING events. A listen
 * on a mailbox that already has a listener takes it over (the old
 * connection is closed with SKP_RELAY_C_REPLACED).
 */
int	skp_relay_listen(skp_relay_t *, const struct skp_p256_key *,
	    int timeout_ms);

/*
 * Caller: open a call to a mailbox. The relay holds it up to timeout_ms
 * (capped by the relay) while the phone is away. Does not block: *chan
 * is the new channel; events say ONLINE or OFFLINE, then messages.
 */
int	skp_relay_call(skp_relay_t *, const uint8_t mailbox[SKP_RELAY_ID_LEN],
	    uint32_t timeout_ms, uint32_t *chan);

/*
 * Rendezvous: join an id for timeout_ms. Does not block: events say
 * WAITING (we were first) and PEER (both are there), then messages.
 * Once both have met, the relay forgets the id.
 */
int	skp_relay_join(skp_relay_t *, const uint8_t id[SKP_RELAY_ID_LEN],
	    uint32_t timeout_ms, uint32_t *chan);

/*
 * Rendezvous, second side: meet someone already waiting at id (the
 * computer joins first, before it shows the code). Does not block: PEER
 * follows, or at once END SKP_RELAY_C_NO_RDV when nobody waits there
 * (the code was used, has expired, or was altered).
 */
int	skp_relay_meet(skp_relay_t *, const uint8_t id[SKP_RELAY_ID_LEN],
	    uint32_t timeout_ms, uint32_t *chan);

/*
 * Sends one whole message (at most SKP_RELAY_MAX_MSG bytes) on a
 * channel. A caller may send at once after skp_relay_call() or
 * skp_relay_join(): the relay keeps what comes before the phone or the
 * peer (up to one frame's worth) and hands it over on delivery, which
 * saves a round trip. Does not block; it writes what the socket takes
 * now and the rest during later calls.
 */
int	skp_relay_send(skp_relay_t *, uint32_t chan, const void *, size_t);

/* Ends a channel; the other side gets END with SKP_RELAY_C_HUNG_UP. */
int	skp_relay_hangup(skp_relay_t *, uint32_t chan);

/*
 * Waits up to timeout_ms (0: do not wait) for the next event and fills
 * *ev: 0, or SKP_ERR_TIMEOUT when none came. After CLOSED, only
 * skp_relay_connect() and skp_relay_free() are of use.
 */
int	skp_relay_service(skp_relay_t *, int timeout_ms,
	    struct skp_relay_event *);

/*
 * For a program that waits on other things too: the socket to poll for
 * POLLIN (-1 when not connected). Poll it with a timeout of at most
 * 1000 ms, then call skp_relay_service(r, 0, &ev) until it answers
 * SKP_ERR_TIMEOUT. Events can be queued by any call on the object, so
 * drain them after calling it as well.
 */
int	skp_relay_fd(const skp_relay_t *);

/*
 * Blocking helpers for one channel (events for other channels stay
 * queued for skp_relay_service). Status events go to opts.on_status.
 *
 * skp_relay_wait: until a call is ONLINE or a rendezvous has its PEER:
 * 0, or the END/CLOSED error, or SKP_ERR_TIMEOUT.
 * skp_relay_recv: until the next message on chan; *msg is malloc'd,
 * free it with free(). 0, or the END/CLOSED error, or SKP_ERR_TIMEOUT.
 */
int	skp_relay_wait(skp_relay_t *, uint32_t chan, int timeout_ms);
/*
 * skp_relay_wait_open: until the relay has taken a JOIN (WAITING, or PEER
 * when the other side was there first): 0, or the END/CLOSED error, or
 * SKP_ERR_TIMEOUT.
 */
int	skp_relay_wait_open(skp_relay_t *, uint32_t chan, int timeout_ms);
/*
 * The relay code of the END that ended the last skp_relay_wait() or
 * skp_relay_recv() (SKP_RELAY_C_HUNG_UP: the other side hung up), 0 when
 * none did: tells a phone that hung up from one that went away.
 */
unsigned int skp_relay_end_code(const skp_relay_t *);
int	skp_relay_recv(skp_relay_t *, uint32_t chan, int timeout_ms,
	    uint8_t **msg, size_t *len);

/*
 * A computer's whole request in one call: connect to url, call the
 * mailbox, send msg, return the first message back (malloc'd, free()),
 * hang up and close; everything within timeout_ms. on_status in opts
 * (may be NULL) hears ONLINE / OFFLINE at once. Errors: SKP_ERR_TIMEOUT
 * (the phone did not answer in time), SKP_ERR_LIMIT (a relay limit),
 * SKP_ERR_NETWORK (relay unreachable or gone), SKP_ERR_TLS, SKP_ERR_CLOSED
 * (the phone hung up without answering).
 */
int	skp_relay_exchange(const char *url, const struct skp_relay_opts *,
	    const uint8_t mailbox[SKP_RELAY_ID_LEN], const void *msg,
	    size_t len, int timeout_ms, uint8_t **reply, size_t *replylen);

#endif
