/* The connection keeper: its local protocol, and the provider's side. */
#ifndef SKP_KEEPER_H
#define SKP_KEEPER_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/relay.h"

/*
 * `sk-phone keeper` keeps relay connections open for the user's
 * providers (docs/PROTOCOL.md §11). On its unix socket every message is
 *	length (uint32, big endian) || frame
 * where frame is a §7 frame (kind || channel (uint32) || body) of at
 * most SKP_KEEPER_FRAME_MAX bytes. The provider sends OPEN once, then
 * CALL, DATA and HANGUP as it would to the relay, with channel ids of its
 * own; the keeper answers READY (or FAILED, then closes), then ONLINE,
 * OFFLINE, DATA and END for those channels. The keeper relays the
 * messages as they are: it never holds a key nor sees plaintext.
 */
#define SKP_KEEPER_VERSION	1
#define SKP_KEEPER_SOCKET	"keeper.sock"
#define SKP_KEEPER_LOCK		"keeper.lock"
#define SKP_KEEPER_FRAME_MAX	SKP_RELAY_MAX_FRAME
#define SKP_KEEPER_URL_MAX	1024
/* The CA certificates (PEM) that OPEN may carry. */
#define SKP_KEEPER_CA_MAX	(SKP_KEEPER_FRAME_MAX - SKP_RELAY_HDR_LEN - \
	7 - SKP_KEEPER_URL_MAX)
/* How long the provider waits for READY before it goes direct. */
#define SKP_KEEPER_READY_MS	1000

/* Provider to keeper (besides CALL, DATA and HANGUP of §7.2). */
#define SKP_KEEPER_OPEN		0x40	/* chan 0 */
/* Keeper to provider (besides ONLINE, OFFLINE, DATA and END). */
#define SKP_KEEPER_READY	0xc0	/* chan 0; empty */
#define SKP_KEEPER_FAILED	0xc1	/* chan 0; error || code || reason */

/* FAILED's error byte. */
#define SKP_KEEPER_E_NETWORK	1	/* relay unreachable, or gone */
#define SKP_KEEPER_E_TLS	2	/* certificate not trusted */
#define SKP_KEEPER_E_TIMEOUT	3	/* connecting took too long */
#define SKP_KEEPER_E_LIMIT	4	/* refused by a relay limit */
#define SKP_KEEPER_E_URL	5	/* not a relay URL */
#define SKP_KEEPER_E_CA		6	/* CA certificates not usable */
#define SKP_KEEPER_E_PROTOCOL	7	/* relay or keeper protocol broken */
#define SKP_KEEPER_E_CLOSED	8	/* the relay closed the connection */
#define SKP_KEEPER_E_REFUSED	9	/* a peer of another user */
#define SKP_KEEPER_E_INTERNAL	10	/* the keeper cannot serve */

/* An OPEN's fields; pointers point into the parsed frame. */
struct skp_keeper_open {
	uint8_t		 version;
	uint32_t	 connect_ms;
	const char	*url;		/* not NUL-terminated */
	size_t		 url_len;
	const uint8_t	*ca;		/* PEM, or empty: the system's */
	size_t		 ca_len;
};

/* A frame from the keeper (kinds READY, FAILED, ONLINE, OFFLINE, DATA,
 * END); pointers point into the parsed bytes. */
struct skp_keeper_frame {
	uint8_t		 kind;
	uint32_t	 chan;
	uint8_t		 error;		/* FAILED */
	uint16_t	 code;		/* FAILED (0: none), END */
	const uint8_t	*data;		/* DATA: message; FAILED, END: reason */
	size_t		 len;
};

/* The OPEN frame (header included) into a malloc'd *out. */
int	skp_keeper_open_encode(const char *url, const uint8_t *ca,
	    size_t ca_len, uint32_t connect_ms, uint8_t **out, size_t *outlen);
/*
 * Strict parses. _open: an OPEN frame (version checked by the caller).
 * _client: a frame from a provider (OPEN, CALL, DATA, HANGUP) into the
 * §7 frame struct (OPEN: kind only). _keeper: a frame from the keeper.
 * SKP_ERR_FORMAT, SKP_ERR_TRUNCATED, SKP_ERR_TRAILING, SKP_ERR_TOO_LARGE.
 */
int	skp_keeper_parse_open(const uint8_t *, size_t,
	    struct skp_keeper_open *);
int	skp_keeper_parse_client(const uint8_t *, size_t,
	    struct skp_relay_frame *);
int	skp_keeper_parse_keeper(const uint8_t *, size_t,
	    struct skp_keeper_frame *);
/* A FAILED frame; reason is cut at SKP_RELAY_REASON_MAX, tamed. */
int	skp_keeper_failed_encode(uint8_t error, uint16_t code,
	    const char *reason, uint8_t *out, size_t outsz, size_t *outlen);
/* SKP_ERR_* <-> FAILED's error byte. */
uint8_t	skp_keeper_error_of(int err);
int	skp_keeper_err_of(uint8_t error);

/*
 * The provider's side. skp_keeper_connect: the socket (in the folder of
 * skp_hostinfo_dir) when it is the user's and answers; else, with prog
 * given, starts `prog keeper` (double fork, setsid, stdio on /dev/null)
 * and waits for it up to SKP_KEEPER_READY_MS. SKP_ERR_PERM for a socket
 * or folder of another user, SKP_ERR_NOT_FOUND / SKP_ERR_TIMEOUT when
 * none answers. The rest mirror skp_relay_*() for one caller: the first
 * call writes OPEN, CALL and DATA in one write.
 */
typedef struct skp_keeper skp_keeper_t;

int	skp_keeper_connect(const char *prog, const char *url,
	    const char *ca_file, int connect_ms,
	    void (*on_status)(void *, uint32_t, int), void *arg,
	    skp_keeper_t **);
void	skp_keeper_free(skp_keeper_t **);
int	skp_keeper_call_send(skp_keeper_t *,
	    const uint8_t mailbox[SKP_RELAY_ID_LEN], uint32_t timeout_ms,
	    const void *msg, size_t len, uint32_t *chan);
int	skp_keeper_send(skp_keeper_t *, uint32_t chan, const void *, size_t);
int	skp_keeper_hangup(skp_keeper_t *, uint32_t chan);
int	skp_keeper_wait(skp_keeper_t *, uint32_t chan, int timeout_ms);
int	skp_keeper_recv(skp_keeper_t *, uint32_t chan, int timeout_ms,
	    uint8_t **msg, size_t *len);
unsigned int skp_keeper_end_code(const skp_keeper_t *);
/*
 * The keeper itself failed (not the relay): 1 before anything came for a
 * channel (going direct is safe), 2 after (the call is lost); else 0.
 */
int	skp_keeper_went_away(const skp_keeper_t *);
/* Why, for a debug line. */
const char *skp_keeper_why(const skp_keeper_t *);

/* The socket's path, in the folder of skp_hostinfo_dir (created). */
int	skp_keeper_socket_path(char *path, size_t pathsz);
/*
 * The program the provider starts as the keeper (PROTOCOL.md §11.1):
 * SK_PHONE_KEEPER when it is an absolute path, else the installed
 * sk-phone; SKP_OK with *prog. SKP_ERR_NOT_FOUND (*prog NULL) for
 * SK_PHONE_KEEPER=off; SKP_ERR_INVALID (*prog the value) when it is a
 * relative path, which is never started.
 */
int	skp_keeper_program(const char **prog);

#endif
