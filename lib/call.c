/* One request from the computer to its paired phone, through the relay. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk-phone/buf.h"
#include "sk-phone/call.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/keeper.h"
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

/*
 * The call's way to the relay: a connection of its own (r), or the
 * user's connection keeper (k), which relays the same frames.
 */
struct link {
	skp_relay_t	*r;
	skp_keeper_t	*k;
};

static uint64_t	mono_ms(void);
static uint64_t	real_ms(void);

static int
l_send(struct link *l, uint32_t chan, const void *msg, size_t len)
{
	if (l->k != NULL)
		return skp_keeper_send(l->k, chan, msg, len);
	return skp_relay_send(l->r, chan, msg, len);
}

static int
l_wait(struct link *l, uint32_t chan, int timeout_ms)
{
	if (l->k != NULL)
		return skp_keeper_wait(l->k, chan, timeout_ms);
	return skp_relay_wait(l->r, chan, timeout_ms);
}

static int
l_recv(struct link *l, uint32_t chan, int timeout_ms, uint8_t **msg,
    size_t *len)
{
	if (l->k != NULL)
		return skp_keeper_recv(l->k, chan, timeout_ms, msg, len);
	return skp_relay_recv(l->r, chan, timeout_ms, msg, len);
}

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
recv_noting(struct link *r, uint32_t chan, struct call_ctx *ctx,
    int timeout_ms, uint8_t **msg, size_t *len)
{
	uint64_t t0 = mono_ms(), spent;
	int rc;

	if (ctx->slow_said || timeout_ms <= SKP_CALL_SLOW_MS)
		return l_recv(r, chan, timeout_ms, msg, len);
	rc = l_recv(r, chan, SKP_CALL_SLOW_MS, msg, len);
	spent = mono_ms() - t0;
	if (rc != SKP_ERR_TIMEOUT || spent >= (uint64_t)timeout_ms)
		return rc;
	ctx->slow_said = 1;
	if (ctx->fn != NULL)
		ctx->fn(SKP_CALL_SLOW, ctx->arg);
	return l_recv(r, chan, timeout_ms - (int)spent, msg, len);
}

/*
 * Until the call reaches the phone: at most timeout_ms from t0, and, once
 * the relay said the phone is offline, at most offline_ms from then
 * (SKP_ERR_OFFLINE). The OFFLINE event comes inside skp_relay_wait(), so
 * it waits in short steps until it came.
 */
static int
wait_online(struct link *r, uint32_t chan, struct call_ctx *ctx,
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
		rc = l_wait(r, chan, (int)left);
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
	out->has_phone_time = r.has_phone_time;
	out->phone_time_ms = r.phone_time_ms;
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
send_pin(struct link *r, uint32_t chan, struct call_ctx *ctx, skp_noise_t *hs,
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
	if ((rc = l_send(r, chan, skp_buf_ptr(b), skp_buf_len(b))) !=
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

/* The clock the request's time is read from (§4.2 key 3). */
static uint64_t
real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The caller's request again, as a new one: a new random id, and its
 * time moved on by add_ms (a held call) or, with absolute, set to at_ms
 * (the phone's time).
 */
static int
renew(const uint8_t *request, size_t request_len, int absolute,
    uint64_t at_ms, uint64_t add_ms, uint8_t **out, size_t *outlen)
{
	struct skp_ctap_request *req;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_ctap_request_decode(request, request_len, req,
	    NULL)) != SKP_OK ||
	    (rc = skp_random(req->id, sizeof(req->id))) != SKP_OK)
		goto out;
	if (absolute)
		req->time_ms = at_ms;
	else
		req->time_ms += add_ms;
	rc = skp_ctap_request_encode(req, out, outlen);
 out:
	skp_ctap_request_clear(req);
	skp_wipe(req, sizeof(*req));
	free(req);
	return rc;
}

/*
 * The relay keeps nothing of a held call (docs/PROTOCOL.md §7.5): when
 * the phone comes, the request goes again as a new one: a new random id,
 * its time moved on by the wait, a new handshake (message 1 into b).
 */
static int
resend(struct link *r, uint32_t chan, skp_noise_t **hs, skp_noise_t **old,
    const struct skp_call_phone *phone, const struct skp_p256_key *identity,
    const uint8_t *request, size_t request_len, uint64_t waited_ms,
    skp_buf_t *b)
{
	uint8_t *fresh = NULL;
	size_t freshlen = 0;
	int rc;

	if ((rc = renew(request, request_len, 0, 0, waited_ms, &fresh,
	    &freshlen)) != SKP_OK)
		goto out;
	/* Kept: see the read of message 2 in call_once(). */
	skp_noise_free(old);
	*old = *hs;
	*hs = NULL;
	skp_buf_reset(b);
	if ((rc = noise_setup(hs, phone, identity)) != SKP_OK ||
	    (rc = skp_noise_write_message(*hs, fresh, freshlen, b)) !=
	    SKP_OK)
		goto out;
	rc = l_send(r, chan, skp_buf_ptr(b), skp_buf_len(b));
 out:
	if (fresh != NULL) {
		skp_wipe(fresh, freshlen);
		free(fresh);
	}
	return rc;
}

/*
 * One request, one call, by one way (l->k set up by the caller: through
 * the keeper): skp_call() without the retry in the phone's time.
 * *got_ms is this computer's clock when message 2 came.
 */
static int
call_link(struct link *l, const struct skp_call_phone *phone,
    const struct skp_p256_key *identity, const uint8_t *request,
    size_t request_len, int timeout_ms, struct call_ctx *ctx,
    struct skp_call_response *resp, uint64_t *got_ms)
{
	struct skp_relay_opts opts;
	skp_noise_t *hs = NULL, *old = NULL;
	skp_buf_t *b = NULL;
	uint8_t *reply = NULL;
	size_t replylen = 0;
	uint64_t t0 = mono_ms();
	uint32_t chan = 0;
	int rc, more = 0, called = 0;

	memset(&opts, 0, sizeof(opts));
	opts.on_status = on_status;
	opts.arg = ctx;
	opts.ca_file = phone->ca_file;
	opts.tls_session_dir = phone->tls_session_dir;
	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL ||
	    (l->k == NULL && (l->r = skp_relay_new(&opts)) == NULL)) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if (l->k != NULL) {
		/*
		 * The keeper's connection is warm: OPEN, CALL and the
		 * message go in one write, and on to the relay at once.
		 */
		if ((rc = noise_setup(&hs, phone, identity)) != SKP_OK ||
		    (rc = skp_noise_write_message(hs, request, request_len,
		    b)) != SKP_OK)
			goto out;
		if ((rc = skp_keeper_call_send(l->k, phone->mailbox_id,
		    (uint32_t)timeout_ms, skp_buf_ptr(b), skp_buf_len(b),
		    &chan)) == SKP_OK)
			called = 1;
	} else {
		/*
		 * The TCP and websocket handshakes travel while the first
		 * Noise message (an ephemeral key, two ECDH) is computed;
		 * then the call and the message go together.
		 */
		if ((rc = skp_relay_set_deadline(l->r, timeout_ms)) !=
		    SKP_OK ||
		    (rc = skp_relay_connect_list_start(l->r,
		    phone->relay_url, timeout_ms)) != SKP_OK ||
		    (rc = noise_setup(&hs, phone, identity)) != SKP_OK ||
		    (rc = skp_noise_write_message(hs, request, request_len,
		    b)) != SKP_OK)
			goto out;
		/* A relay list: the first URL that answers (§7.1). */
		if ((rc = skp_relay_connect_list_finish(l->r,
		    phone->relay_url, timeout_ms, NULL)) == SKP_OK &&
		    (rc = skp_relay_call(l->r, phone->mailbox_id,
		    (uint32_t)timeout_ms, &chan)) == SKP_OK)
			called = 1;
		if (rc == SKP_OK)
			rc = skp_relay_send(l->r, chan, skp_buf_ptr(b),
			    skp_buf_len(b));
	}
	/* Held for an absent phone, the message was dropped: a new one. */
	if (rc == SKP_OK &&
	    (rc = wait_online(l, chan, ctx, phone->offline_ms, t0,
	    timeout_ms)) == SKP_OK &&
	    (!ctx->offline || (rc = resend(l, chan, &hs, &old, phone,
	    identity, request, request_len, mono_ms() - t0, b)) == SKP_OK))
		rc = recv_noting(l, chan, ctx, timeout_ms, &reply, &replylen);
	*got_ms = real_ms();
	/* The deadline passed: with the phone never reached, say so. */
	if (rc == SKP_ERR_TIMEOUT && !ctx->online)
		rc = SKP_ERR_OFFLINE;
	/*
	 * The phone reached hangs up without a word only when none of its
	 * pairings opens the request (docs/PROTOCOL.md §3): it no longer
	 * knows this computer, and cannot say so in a message we could
	 * trust.
	 */
	if (rc == SKP_ERR_CLOSED && called && ctx->online &&
	    (l->k != NULL ? skp_keeper_end_code(l->k) :
	    skp_relay_end_code(l->r)) == SKP_RELAY_C_HUNG_UP)
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
		if ((rc = send_pin(l, chan, ctx, hs, phone->pin, timeout_ms,
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
	if (called && l->k != NULL)
		(void)skp_keeper_hangup(l->k, chan);
	else if (called)
		(void)skp_relay_hangup(l->r, chan);
	skp_relay_free(&l->r);
	if (reply != NULL) {
		skp_wipe(reply, replylen);
		free(reply);
	}
	skp_buf_free(&b);
	skp_noise_free(&hs);
	skp_noise_free(&old);
	return rc;
}

/*
 * One request, one call: through the keeper when phone->keeper says so
 * and it answers, else (or when it went away before anything came
 * back) directly.
 */
static int
call_once(const struct skp_call_phone *phone,
    const struct skp_p256_key *identity, const uint8_t *request,
    size_t request_len, int timeout_ms, skp_call_status_fn *fn, void *arg,
    struct skp_call_response *resp, uint64_t *got_ms)
{
	struct call_ctx ctx;
	struct link l;
	char why[sizeof(resp->keeper_why)];
	uint64_t t0 = mono_ms(), spent;
	int rc, gone;

	if (resp != NULL)
		memset(resp, 0, sizeof(*resp));
	if (phone == NULL || phone->relay_url == NULL ||
	    phone->static_pub == NULL || phone->mailbox_id == NULL ||
	    phone->request_psk == NULL || identity == NULL ||
	    request == NULL || request_len == 0 || resp == NULL ||
	    timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (request_len > SKP_CALL_REQUEST_MAX)
		return SKP_ERR_TOO_LARGE;
	memset(&ctx, 0, sizeof(ctx));
	ctx.fn = fn;
	ctx.arg = arg;
	memset(&l, 0, sizeof(l));
	why[0] = '\0';
	if (phone->keeper != NULL) {
		rc = skp_keeper_connect(phone->keeper, phone->relay_url,
		    phone->ca_file, timeout_ms, on_status, &ctx, &l.k);
		if (rc == SKP_OK) {
			rc = call_link(&l, phone, identity, request,
			    request_len, timeout_ms, &ctx, resp, got_ms);
			gone = skp_keeper_went_away(l.k);
			snprintf(why, sizeof(why), "%s", skp_keeper_why(l.k));
			skp_keeper_free(&l.k);
			if (gone != 1) {
				resp->via_keeper = 1;
				resp->keeper_lost = gone == 2;
				snprintf(resp->keeper_why,
				    sizeof(resp->keeper_why), "%s", why);
				return rc;
			}
		} else
			snprintf(why, sizeof(why), "no keeper: %s%s",
			    skp_strerror(rc), rc == SKP_ERR_PERM ?
			    " (a socket or folder of another user)" : "");
		spent = mono_ms() - t0;
		if (spent >= (uint64_t)timeout_ms)
			return SKP_ERR_TIMEOUT;
		timeout_ms -= (int)spent;
		skp_call_response_clear(resp);
	}
	rc = call_link(&l, phone, identity, request, request_len, timeout_ms,
	    &ctx, resp, got_ms);
	snprintf(resp->keeper_why, sizeof(resp->keeper_why), "%s", why);
	return rc;
}

/*
 * The phone's clock minus ours, when both fit an int64_t; a phone time
 * beyond that is no clock to go by (the refusal stands).
 */
static int
clock_offset(uint64_t phone_ms, uint64_t own_ms, int64_t *off)
{
	if (phone_ms > INT64_MAX || own_ms > INT64_MAX)
		return SKP_ERR_FORMAT;
	*off = (int64_t)phone_ms - (int64_t)own_ms;
	return SKP_OK;
}

/* Our clock moved by off (|off| < 2^63): not before 1970, nor past it. */
static int
shifted_now(int64_t off, uint64_t *at)
{
	uint64_t now = real_ms();
	int64_t t;

	if (now > INT64_MAX || (off > 0 && (int64_t)now > INT64_MAX - off))
		return SKP_ERR_FORMAT;
	if ((t = (int64_t)now + off) < 0)
		return SKP_ERR_FORMAT;
	*at = (uint64_t)t;
	return SKP_OK;
}

void
skp_call_clock_text(const char *name, int64_t offset_ms, char *out,
    size_t outlen)
{
	uint64_t mag;

	/* From clock_offset(): never INT64_MIN. */
	mag = offset_ms < 0 ? (uint64_t)-offset_ms : (uint64_t)offset_ms;
	snprintf(out, outlen, "this computer's clock and phone '%s' differ "
	    "by %" PRIu64 " s (the phone is %s); the request was sent again "
	    "in the phone's time. Set the clocks right (NTP) to save a round "
	    "trip.", name != NULL ? name : "", (mag + 500) / 1000,
	    offset_ms < 0 ? "behind" : "ahead");
}

int
skp_call(const struct skp_call_phone *phone,
    const struct skp_p256_key *identity, const uint8_t *request,
    size_t request_len, int timeout_ms, skp_call_status_fn *fn, void *arg,
    struct skp_call_response *resp)
{
	struct skp_call_response first;
	uint8_t *fresh = NULL;
	size_t freshlen = 0;
	uint64_t t0 = mono_ms(), got = 0, at, spent;
	int64_t off;
	int rc, rc2;

	rc = call_once(phone, identity, request, request_len, timeout_ms, fn,
	    arg, resp, &got);
	/*
	 * Stale, and the phone said its time: only in message 2 of our
	 * paired phone's handshake (it decrypted), so the time is its own.
	 * The phone checks freshness before replay, user verification and
	 * approval: the refused request took no place in its replay cache
	 * and asked its owner nothing. The one sent again is a new request
	 * (new id, new handshake) that the phone checks in full, replay
	 * included; sent once, whatever the answer.
	 */
	if (rc != SKP_ERR_EXPIRED || !resp->has_phone_time ||
	    resp->pin_sent || phone->no_clock_retry ||
	    clock_offset(resp->phone_time_ms, got, &off) != SKP_OK ||
	    shifted_now(off, &at) != SKP_OK)
		return rc;
	spent = mono_ms() - t0;
	if (spent >= (uint64_t)timeout_ms)
		return rc;
	if ((rc2 = renew(request, request_len, 1, at, 0, &fresh,
	    &freshlen)) != SKP_OK)
		return rc;
	/* A mailbox move said in the refusal holds for the answer too. */
	memset(&first, 0, sizeof(first));
	first.moved = resp->moved;
	memcpy(first.move_id, resp->move_id, sizeof(first.move_id));
	memcpy(first.move_relay, resp->move_relay, sizeof(first.move_relay));
	skp_call_response_clear(resp);
	rc = call_once(phone, identity, fresh, freshlen,
	    timeout_ms - (int)spent, fn, arg, resp, &got);
	resp->clock_retried = 1;
	resp->clock_offset_ms = off;
	if (!resp->moved && first.moved) {
		resp->moved = 1;
		memcpy(resp->move_id, first.move_id, sizeof(resp->move_id));
		memcpy(resp->move_relay, first.move_relay,
		    sizeof(resp->move_relay));
	}
	skp_wipe(fresh, freshlen);
	free(fresh);
	return rc;
}
