/*
 * Fuzz harness: the relay client's receive side (lib/relay_client.c):
 * frames put back together from websocket pieces, and the per-channel
 * states they drive (listening with its challenge, calls, joins, incoming
 * calls, DATA, END), with libwebsockets stubbed. The script mixes pieces
 * from the "relay" (raw, or well-formed frames from a menu) with the
 * program's own calls (call, join, send, hangup, service).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The opaque lws handle, ours here. */
struct lws {
	int	 binary, first, final;
};

/* The client, with its static functions, built in here. */
#include "lib/relay_client.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
stub_lws_frame_is_binary(struct lws *wsi)
{
	return wsi->binary;
}

static int
stub_lws_is_first_fragment(struct lws *wsi)
{
	return wsi->first;
}

static int
stub_lws_is_final_fragment(struct lws *wsi)
{
	return wsi->final;
}

static void
stub_lws_close_reason(struct lws *wsi, enum lws_close_status status,
    unsigned char *buf, size_t len)
{
	(void)wsi;
	(void)status;
	(void)buf;
	(void)len;
}

static int
stub_lws_callback_on_writable(struct lws *wsi)
{
	(void)wsi;
	return 1;
}

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

/* A well-formed frame from the relay, from a small menu. */
static size_t
menu(struct script *s, uint8_t *out)
{
	static const uint8_t kinds[] = { SKP_RELAY_LISTENING,
	    SKP_RELAY_CHALLENGE, SKP_RELAY_INCOMING, SKP_RELAY_ONLINE,
	    SKP_RELAY_OFFLINE, SKP_RELAY_WAITING, SKP_RELAY_PEER,
	    SKP_RELAY_DATA, SKP_RELAY_END };
	uint8_t k, ch, len;
	const uint8_t *d;
	uint8_t kind;
	size_t n = SKP_RELAY_HDR_LEN;

	if (byte(s, &k) != 0 || byte(s, &ch) != 0 || byte(s, &len) != 0)
		return 0;
	kind = kinds[k % sizeof(kinds)];
	skp_relay_put_hdr(out, kind, kind == SKP_RELAY_LISTENING ||
	    kind == SKP_RELAY_CHALLENGE ? 0 : ch % 6);
	if (kind == SKP_RELAY_CHALLENGE) {
		memset(out + n, len, SKP_RELAY_NONCE_LEN);
		return n + SKP_RELAY_NONCE_LEN;
	}
	if (kind == SKP_RELAY_END) {
		out[n] = 0x0f;
		out[n + 1] = (uint8_t)(0xa0 + len % 40);
		memcpy(out + n + 2, "timed out", 9);
		return n + 11;
	}
	if (kind == SKP_RELAY_DATA) {
		if (take(s, len, &d) != 0)
			return 0;
		memcpy(out + n, d, len);
		return n + len;
	}
	return n;
}

/* Pieces of one message; cuts are the sizes of all but the last. */
static void
pieces(skp_relay_t *r, struct lws *w, const uint8_t *m, size_t n,
    const uint8_t *cuts, size_t ncuts, int binary)
{
	size_t off = 0, k, piece;

	for (k = 0; k <= ncuts && r->state == CS_OPEN; k++) {
		piece = k < ncuts ? cuts[k] % (n - off + 1) : n - off;
		w->binary = binary;
		w->first = off == 0;
		w->final = k == ncuts || off + piece == n;
		(void)on_receive(r, w, m + off, piece);
		off += piece;
		if (w->final)
			break;
	}
}

static void
check(const skp_relay_t *r)
{
	const struct chan *c, *d;

	if (r->rxlen > SKP_RELAY_MAX_FRAME ||
	    (r->rx == NULL && r->rxlen != 0))
		abort();
	for (c = r->chans; c != NULL; c = c->next)
		for (d = c->next; d != NULL; d = d->next)
			if (c->id == d->id)
				abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[SKP_RELAY_MAX_FRAME];
	struct script s = { data, size, 0 };
	struct skp_relay_event ev;
	struct skp_p256_key key;
	uint8_t priv[32], id[32], mode, op, a, len, ncuts;
	const uint8_t *raw, *cuts;
	struct lws w;
	skp_relay_t *r;
	uint32_t chan;
	size_t n;
	int closed = 0;

	sym_lws_frame_is_binary = stub_lws_frame_is_binary;
	sym_lws_is_first_fragment = stub_lws_is_first_fragment;
	sym_lws_is_final_fragment = stub_lws_is_final_fragment;
	sym_lws_close_reason = stub_lws_close_reason;
	sym_lws_callback_on_writable = stub_lws_callback_on_writable;
	if (byte(&s, &mode) != 0 || (r = skp_relay_new(NULL)) == NULL)
		return 0;
	memset(&w, 0, sizeof(w));
	r->state = CS_OPEN;
	r->wsi = &w;
	memset(id, 0x11, sizeof(id));
	if (mode & 1) {
		/* A phone that sent LISTEN and waits for the challenge. */
		memset(priv, 7, sizeof(priv));
		if (skp_p256_from_private(priv, &key) != SKP_OK)
			abort();
		r->listening = 1;
		r->proving = 1;
		r->mbkey = key;
	}
	while (!closed && byte(&s, &op) == 0 && byte(&s, &a) == 0) {
		switch (op % 8) {
		case 0:		/* raw bytes as one message, maybe text */
			if (byte(&s, &len) != 0 || take(&s, len, &raw) != 0)
				break;
			pieces(r, &w, raw, len, NULL, 0, !(a & 0x80));
			break;
		case 1:		/* a menu frame in up to 4 pieces */
			if ((n = menu(&s, buf)) == 0 || byte(&s, &ncuts) != 0 ||
			    take(&s, ncuts % 5, &cuts) != 0)
				break;
			pieces(r, &w, buf, n, cuts, ncuts % 5, 1);
			break;
		case 2:		/* raw pieces: first/final/binary from a */
			if (byte(&s, &len) != 0 || take(&s, len, &raw) != 0)
				break;
			w.binary = !(a & 1);
			w.first = (a & 2) != 0;
			w.final = (a & 4) != 0;
			(void)on_receive(r, &w, raw, len);
			break;
		case 3:
			(void)skp_relay_call(r, id, 1000, &chan);
			break;
		case 4:
			(void)skp_relay_join(r, id, 1000, &chan);
			break;
		case 5:
			(void)skp_relay_send(r, a % 6, "x", 1);
			break;
		case 6:
			(void)skp_relay_hangup(r, a % 6);
			break;
		default:
			while (skp_relay_service(r, 0, &ev) == SKP_OK) {
				if (ev.type == SKP_RELAY_EV_MESSAGE &&
				    (ev.chan == 0 || (ev.len > 0 &&
				    ev.msg == NULL)))
					abort();
				if (ev.type == SKP_RELAY_EV_CLOSED) {
					closed = 1;
					break;
				}
			}
			break;
		}
		check(r);
	}
	r->wsi = NULL;
	skp_relay_free(&r);
	return 0;
}
