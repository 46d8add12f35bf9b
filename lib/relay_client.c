/* Relay frames (parse, codes) and the websocket client of sk-phone-relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#define MAILBOX_LABEL	"sk-phone mailbox v1"

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
	{ SKP_RELAY_C_SLOW,	  SKP_ERR_LIMIT,   "peer not reading" },
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
skp_relay_mailbox_id(const uint8_t secret[SKP_RELAY_SECRET_LEN],
    uint8_t id[SKP_RELAY_ID_LEN])
{
	uint8_t in[sizeof(MAILBOX_LABEL) - 1 + SKP_RELAY_SECRET_LEN];
	int rc;

	memcpy(in, MAILBOX_LABEL, sizeof(MAILBOX_LABEL) - 1);
	memcpy(in + sizeof(MAILBOX_LABEL) - 1, secret, SKP_RELAY_SECRET_LEN);
	rc = skp_sha256(in, sizeof(in), id);
	skp_wipe(in, sizeof(in));
	return rc;
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

int
skp_relay_parse_client(const uint8_t *p, size_t n, struct skp_relay_frame *f)
{
	struct skp_relay_frame tmp;
	skp_reader_t r;
	int rc;

	if ((rc = parse_hdr(&r, p, n, &tmp)) != SKP_OK)
		goto out;
	/* Only LISTEN is about the connection; the rest name a channel. */
	if ((tmp.kind == SKP_RELAY_LISTEN) != (tmp.chan == 0)) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	switch (tmp.kind) {
	case SKP_RELAY_LISTEN:
		if ((rc = skp_reader_ptr(&r, &tmp.id, SKP_RELAY_ID_LEN)) !=
		    SKP_OK || (rc = skp_reader_ptr(&r, &tmp.secret,
		    SKP_RELAY_SECRET_LEN)) != SKP_OK)
			goto out;
		rc = skp_reader_end(&r);
		break;
	case SKP_RELAY_CALL:
	case SKP_RELAY_JOIN:
		rc = parse_id_timeout(&r, &tmp);
		break;
	case SKP_RELAY_DATA:
		tmp.len = skp_reader_left(&r);
		rc = skp_reader_ptr(&r, &tmp.data, tmp.len);
		break;
	case SKP_RELAY_HANGUP:
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
	if ((tmp.kind == SKP_RELAY_LISTENING) != (tmp.chan == 0)) {
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

/* The client: being written; these answer SKP_ERR_UNSUPPORTED for now. */
struct skp_relay {
	int	unused;
};

skp_relay_t *
skp_relay_new(const struct skp_relay_opts *o)
{
	(void)o;
	return calloc(1, sizeof(skp_relay_t));
}

void
skp_relay_free(skp_relay_t **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	free(*rp);
	*rp = NULL;
}

int
skp_relay_set_deadline(skp_relay_t *r, int t)
{
	(void)r; (void)t;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_connect(skp_relay_t *r, const char *u, int t)
{
	(void)r; (void)u; (void)t;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_listen(skp_relay_t *r, const uint8_t s[SKP_RELAY_SECRET_LEN], int t)
{
	(void)r; (void)s; (void)t;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_call(skp_relay_t *r, const uint8_t m[SKP_RELAY_ID_LEN], uint32_t t,
    uint32_t *c)
{
	(void)r; (void)m; (void)t; (void)c;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_join(skp_relay_t *r, const uint8_t m[SKP_RELAY_ID_LEN], uint32_t t,
    uint32_t *c)
{
	(void)r; (void)m; (void)t; (void)c;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_send(skp_relay_t *r, uint32_t c, const void *p, size_t n)
{
	(void)r; (void)c; (void)p; (void)n;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_hangup(skp_relay_t *r, uint32_t c)
{
	(void)r; (void)c;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_service(skp_relay_t *r, int t, struct skp_relay_event *ev)
{
	(void)r; (void)t;
	memset(ev, 0, sizeof(*ev));
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_fd(const skp_relay_t *r)
{
	(void)r;
	return -1;
}

int
skp_relay_wait(skp_relay_t *r, uint32_t c, int t)
{
	(void)r; (void)c; (void)t;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_recv(skp_relay_t *r, uint32_t c, int t, uint8_t **m, size_t *n)
{
	(void)r; (void)c; (void)t; (void)m; (void)n;
	return SKP_ERR_UNSUPPORTED;
}

int
skp_relay_exchange(const char *u, const struct skp_relay_opts *o,
    const uint8_t m[SKP_RELAY_ID_LEN], const void *p, size_t n, int t,
    uint8_t **rep, size_t *replen)
{
	(void)u; (void)o; (void)m; (void)p; (void)n; (void)t; (void)rep;
	(void)replen;
	return SKP_ERR_UNSUPPORTED;
}
