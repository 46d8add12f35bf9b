/* One request from the computer to its paired phone, through the relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk-phone/buf.h"
#include "sk-phone/call.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"
#include "sk-phone/relay.h"

struct call_ctx {
	skp_call_status_fn	*fn;
	void			*arg;
	int			 online;
	int			 offline;	/* the relay held the call */
	uint64_t		 offline_at;	/* when it said so (mono ms) */
	int			 slow_said;	/* SKP_CALL_SLOW given */
};

static uint64_t	mono_ms(void);

void
skp_call_response_clear(struct skp_call_response *resp)
{
	if (resp == NULL)
		return;
	if (resp->ctap != NULL) {
		skp_wipe(resp->ctap, resp->ctap_len);
		free(resp->ctap);
	}
	memset(resp, 0, sizeof(*resp));
}

static void
on_status(void *arg, uint32_t chan, int type)
{
	struct call_ctx *ctx = arg;

	(void)chan;
	if (type == SKP_RELAY_EV_ONLINE)
		ctx->online = 1;
	if (type == SKP_RELAY_EV_OFFLINE) {
		if (!ctx->offline)
			ctx->offline_at = mono_ms();
		ctx->offline = 1;
	}
	if (ctx->fn == NULL)
		return;
	if (type == SKP_RELAY_EV_ONLINE)
		ctx->fn(SKP_CALL_ONLINE, ctx->arg);
	else if (type == SKP_RELAY_EV_OFFLINE)
		ctx->fn(SKP_CALL_OFFLINE, ctx->arg);
}

/*
 * The answer on chan: a first wait of SKP_CALL_SLOW_MS, then, still
 * nothing, SKP_CALL_SLOW for the caller ("waiting for approval") and the
 * rest of timeout_ms. A phone that answers at once is not announced.
 */
static int
recv_noting(skp_relay_t *r, uint32_t chan, struct call_ctx *ctx,
    int timeout_ms, uint8_t **msg, size_t *len)
{
	uint64_t t0 = mono_ms(), spent;
	int rc;

	if (ctx->slow_said || timeout_ms <= SKP_CALL_SLOW_MS)
		return skp_relay_recv(r, chan, timeout_ms, msg, len);
	rc = skp_relay_recv(r, chan, SKP_CALL_SLOW_MS, msg, len);
	spent = mono_ms() - t0;
	if (rc != SKP_ERR_TIMEOUT || spent >= (uint64_t)timeout_ms)
		return rc;
	ctx->slow_said = 1;
	if (ctx->fn != NULL)
		ctx->fn(SKP_CALL_SLOW, ctx->arg);
	return skp_relay_recv(r, chan, timeout_ms - (int)spent, msg, len);
}

/*
 * Until the call reaches the phone: at most timeout_ms from t0, and, once
 * the relay said the phone is offline, at most offline_ms from then
 * (SKP_ERR_OFFLINE). The OFFLINE event comes inside skp_relay_wait(), so
 * it waits in short steps until it came.
 */
static int
wait_online(skp_relay_t *r, uint32_t chan, struct call_ctx *ctx,
    int offline_ms, uint64_t t0, int timeout_ms)
{
	uint64_t now;
	int64_t left, off_left;
	int rc, stepped = 0;

	for (;;) {
		now = mono_ms();
		left = (int64_t)(t0 + (uint64_t)timeout_ms) - (int64_t)now;
		if (left <= 0)
			return SKP_ERR_TIMEOUT;
		if (offline_ms > 0 && ctx->offline) {
			off_left = (int64_t)(ctx->offline_at +
			    (uint64_t)offline_ms) - (int64_t)now;
			if (off_left <= 0)
				return SKP_ERR_OFFLINE;
			if (off_left < left)
				left = off_left;
		} else if (offline_ms > 0 && left > 200)
			left = 200;
		rc = skp_relay_wait(r, chan, (int)left);
		/*
		 * A step's end and the relay's END for the call (its own
		 * timeout) both say SKP_ERR_TIMEOUT; after the END the
		 * channel is gone.
		 */
		if (rc == SKP_ERR_NOT_FOUND && stepped)
			return SKP_ERR_TIMEOUT;
		if (rc != SKP_ERR_TIMEOUT)
			return rc;
		stepped = 1;
	}
}

/* A reason is for a terminal: control characters become '?'. */
static void
tame(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int
decode_response(const uint8_t *p, size_t n, struct skp_call_response *out,
    int *pin_may_follow)
{
	struct skp_ctap_response r;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = skp_ctap_response_decode(p, n, &r)) != SKP_OK)
		goto out;
	*pin_may_follow = r.pin_may_follow;
	out->status = r.status;
	out->ctap = r.ctap;
	out->ctap_len = r.ctap_len;
	r.ctap = NULL;
	memcpy(out->reason, r.reason, sizeof(out->reason));
	tame(out->reason);
	if (r.moved) {
		out->moved = 1;
		memcpy(out->move_id, r.move_id, sizeof(out->move_id));
		memcpy(out->move_relay, r.move_relay,
		    sizeof(out->move_relay));
	}
 out:
	skp_ctap_response_clear(&r);
	return rc;
}

static int
noise_setup(skp_noise_t **hs, const struct skp_call_phone *phone,
    const struct skp_p256_key *identity)
{
	int rc;

	if ((*hs = skp_noise_new(SKP_NOISE_KKPSK0, SKP_NOISE_INITIATOR)) ==
	    NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_noise_set_local_static(*hs, identity)) != SKP_OK ||
	    (rc = skp_noise_set_remote_static(*hs, phone->static_pub)) !=
	    SKP_OK)
		return rc;
	return skp_noise_set_psk(*hs, phone->request_psk);
}

/* Decrypt failures mean: not our phone, or tampered with. */
static int
not_ours(int rc)
{
	if (rc == SKP_ERR_DECRYPT || rc == SKP_ERR_CRYPTO ||
	    rc == SKP_ERR_FORMAT || rc == SKP_ERR_TRUNCATED)
		return SKP_ERR_VERIFY;
	return rc;
}

/*
 * Transport message 3 with the PIN, then transport message 4 back: the
 * keys of Split, which the phone's fresh ephemeral went into (ee, se), so
 * a later theft of either static key does not open a recorded PIN.
 */
static int
send_pin(skp_relay_t *r, uint32_t chan, struct call_ctx *ctx, skp_noise_t *hs,
    const char *pin, int timeout_ms, skp_buf_t *b,
    struct skp_call_response *resp)
{
	skp_noise_transport_t *tp = NULL;
	uint8_t *msg = NULL, *reply = NULL;
	size_t msglen = 0, replylen = 0;
	int rc;

	skp_buf_reset(b);
	if ((rc = skp_noise_split(hs, &tp)) != SKP_OK ||
	    (rc = skp_ctap_pin_encode(pin, &msg, &msglen)) != SKP_OK ||
	    (rc = skp_noise_transport_encrypt(tp, msg, msglen, b)) != SKP_OK)
		goto out;
	if ((rc = skp_relay_send(r, chan, skp_buf_ptr(b), skp_buf_len(b))) !=
	    SKP_OK ||
	    (rc = recv_noting(r, chan, ctx, timeout_ms, &reply, &replylen)) !=
	    SKP_OK)
		goto out;
	resp->sent_len = msglen + SKP_NOISE_TAG_LEN;
	resp->answer_len = replylen;
	skp_buf_reset(b);
	rc = not_ours(skp_noise_transport_decrypt(tp, reply, replylen, b));
 out:
	if (msg != NULL) {
		skp_wipe(msg, msglen);
		free(msg);
	}
	if (reply != NULL) {
		skp_wipe(reply, replylen);
		free(reply);
	}
	skp_noise_transport_free(&tp);
	return rc;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The relay keeps nothing of a held call (docs/PROTOCOL.md §7.5): when
 * the phone comes, the request goes again as a new one: a new random id,
 * its time moved on by the wait, a new handshake (message 1 into b).
 */
static int
resend(skp_relay_t *r, uint32_t chan, skp_noise_t **hs, skp_noise_t **old,
    const struct skp_call_phone *phone, const struct skp_p256_key *identity,
    const uint8_t *request, size_t request_len, uint64_t waited_ms,
    skp_buf_t *b)
{
	struct skp_ctap_request *req;
	uint8_t *fresh = NULL;
	size_t freshlen = 0;
	int rc;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_ctap_request_decode(request, request_len, req,
	    NULL)) != SKP_OK ||
	    (rc = skp_random(req->id, sizeof(req->id))) != SKP_OK)
		goto out;
	req->time_ms += waited_ms;
	if ((rc = skp_ctap_request_encode(req, &fresh, &freshlen)) != SKP_OK)
		goto out;
	/* Kept: see the read of message 2 in skp_call(). */
	skp_noise_free(old);
	*old = *hs;
	*hs = NULL;
	skp_buf_reset(b);
	if ((rc = noise_setup(hs, phone, identity)) != SKP_OK ||
	    (rc = skp_noise_write_message(*hs, fresh, freshlen, b)) !=
	    SKP_OK)
		goto out;
	rc = skp_relay_send(r, chan, skp_buf_ptr(b), skp_buf_len(b));
 out:
	if (fresh != NULL) {
		skp_wipe(fresh, freshlen);
		free(fresh);
	}
	skp_ctap_request_clear(req);
	skp_wipe(req, sizeof(*req));
	free(req);
	return rc;
}

int
skp_call(const struct skp_call_phone *phone,
    const struct skp_p256_key *identity, const uint8_t *request,
    size_t request_len, int timeout_ms, skp_call_status_fn *fn, void *arg,
    struct skp_call_response *resp)
{
	struct skp_relay_opts opts;
	struct call_ctx ctx;
	skp_relay_t *r = NULL;
	skp_noise_t *hs = NULL, *old = NULL;
	skp_buf_t *b = NULL;
	uint8_t *reply = NULL;
	size_t replylen = 0;
	uint64_t t0 = mono_ms();
	uint32_t chan = 0;
	int rc, more = 0, called = 0;

	if (resp != NULL)
		memset(resp, 0, sizeof(*resp));
	if (phone == NULL || phone->relay_url == NULL ||
	    phone->static_pub == NULL || phone->mailbox_id == NULL ||
	    phone->request_psk == NULL || identity == NULL ||
	    request == NULL || request_len == 0 || resp == NULL ||
	    timeout_ms <= 0) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (request_len > SKP_CALL_REQUEST_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.fn = fn;
	ctx.arg = arg;
	memset(&opts, 0, sizeof(opts));
	opts.on_status = on_status;
	opts.arg = &ctx;
	opts.ca_file = phone->ca_file;
	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL ||
	    (r = skp_relay_new(&opts)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	/*
	 * The TCP and websocket handshakes travel while the first Noise
	 * message (an ephemeral key, two ECDH) is computed; then the call
	 * and the message go together.
	 */
	if ((rc = skp_relay_set_deadline(r, timeout_ms)) != SKP_OK ||
	    (rc = skp_relay_connect_start(r, phone->relay_url,
	    timeout_ms)) != SKP_OK ||
	    (rc = noise_setup(&hs, phone, identity)) != SKP_OK ||
	    (rc = skp_noise_write_message(hs, request, request_len, b)) !=
	    SKP_OK)
		goto out;
	if ((rc = skp_relay_connect_finish(r, timeout_ms)) == SKP_OK &&
	    (rc = skp_relay_call(r, phone->mailbox_id, (uint32_t)timeout_ms,
	    &chan)) == SKP_OK)
		called = 1;
	/* Held for an absent phone, the message was dropped: a new one. */
	if (rc == SKP_OK &&
	    (rc = skp_relay_send(r, chan, skp_buf_ptr(b), skp_buf_len(b))) ==
	    SKP_OK &&
	    (rc = wait_online(r, chan, &ctx, phone->offline_ms, t0,
	    timeout_ms)) == SKP_OK &&
	    (!ctx.offline || (rc = resend(r, chan, &hs, &old, phone, identity,
	    request, request_len, mono_ms() - t0, b)) == SKP_OK))
		rc = recv_noting(r, chan, &ctx, timeout_ms, &reply, &replylen);
	/* The deadline passed: with the phone never reached, say so. */
	if (rc == SKP_ERR_TIMEOUT && !ctx.online)
		rc = SKP_ERR_OFFLINE;
	/*
	 * The phone reached hangs up without a word only when none of its
	 * pairings opens the request (docs/PROTOCOL.md §3): it no longer
	 * knows this computer, and cannot say so in a message we could
	 * trust.
	 */
	if (rc == SKP_ERR_CLOSED && called && ctx.online &&
	    skp_relay_end_code(r) == SKP_RELAY_C_HUNG_UP)
		rc = SKP_ERR_NOT_PAIRED;
	if (rc != SKP_OK)
		goto out;
	resp->sent_len = skp_buf_len(b);
	resp->answer_len = replylen;
	skp_buf_reset(b);
	/*
	 * Only our phone, knowing the psk and its key, can answer. After a
	 * resend the first message may still have reached the phone (it
	 * came the moment the relay took the call): its answer is as good.
	 */
	rc = not_ours(skp_noise_read_message(hs, reply, replylen, b));
	if (rc == SKP_ERR_VERIFY && old != NULL) {
		skp_buf_reset(b);
		skp_noise_free(&hs);
		hs = old;
		old = NULL;
		rc = not_ours(skp_noise_read_message(hs, reply, replylen, b));
	}
	if (rc != SKP_OK ||
	    (rc = decode_response(skp_buf_ptr(b), skp_buf_len(b), resp,
	    &more)) != SKP_OK)
		goto out;
	if (resp->status == SKP_CTAP_PIN_REQUIRED && more &&
	    phone->pin != NULL && phone->pin[0] != '\0') {
		skp_call_response_clear(resp);
		resp->pin_sent = 1;
		if ((rc = send_pin(r, chan, &ctx, hs, phone->pin, timeout_ms,
		    b, resp)) != SKP_OK ||
		    (rc = decode_response(skp_buf_ptr(b), skp_buf_len(b),
		    resp, &more)) != SKP_OK)
			goto out;
		/* The phone asks once: a second "send the PIN" is wrong. */
		if (more) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
	}
	rc = skp_ctap_status_err((uint8_t)resp->status);
 out:
	if (called)
		(void)skp_relay_hangup(r, chan);
	skp_relay_free(&r);
	if (reply != NULL) {
		skp_wipe(reply, replylen);
		free(reply);
	}
	skp_buf_free(&b);
	skp_noise_free(&hs);
	skp_noise_free(&old);
	return rc;
}
