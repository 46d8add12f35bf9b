/* One request from the computer to its paired phone, through the relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
};

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
	if (ctx->fn == NULL)
		return;
	if (type == SKP_RELAY_EV_ONLINE)
		ctx->fn(SKP_CALL_ONLINE, ctx->arg);
	else if (type == SKP_RELAY_EV_OFFLINE)
		ctx->fn(SKP_CALL_OFFLINE, ctx->arg);
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
decode_response(const uint8_t *p, size_t n, struct skp_call_response *out)
{
	struct skp_ctap_response r;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = skp_ctap_response_decode(p, n, &r)) != SKP_OK)
		goto out;
	out->status = r.status;
	out->ctap = r.ctap;
	out->ctap_len = r.ctap_len;
	r.ctap = NULL;
	memcpy(out->reason, r.reason, sizeof(out->reason));
	tame(out->reason);
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

int
skp_call(const struct skp_call_phone *phone,
    const struct skp_p256_key *identity, const uint8_t *request,
    size_t request_len, int timeout_ms, skp_call_status_fn *fn, void *arg,
    struct skp_call_response *resp)
{
	struct skp_relay_opts opts;
	struct call_ctx ctx;
	skp_relay_t *r = NULL;
	skp_noise_t *hs = NULL;
	skp_buf_t *b = NULL;
	uint8_t *reply = NULL;
	size_t replylen = 0;
	uint32_t chan;
	int rc;

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
	    &chan)) == SKP_OK &&
	    (rc = skp_relay_send(r, chan, skp_buf_ptr(b), skp_buf_len(b))) ==
	    SKP_OK &&
	    (rc = skp_relay_recv(r, chan, timeout_ms, &reply, &replylen)) ==
	    SKP_OK)
		(void)skp_relay_hangup(r, chan);
	skp_relay_free(&r);
	/* The deadline passed: with the phone never reached, say so. */
	if (rc == SKP_ERR_TIMEOUT && !ctx.online)
		rc = SKP_ERR_OFFLINE;
	if (rc != SKP_OK)
		goto out;
	skp_buf_reset(b);
	rc = skp_noise_read_message(hs, reply, replylen, b);
	/* Only our phone, knowing the psk and its key, can answer. */
	if (rc == SKP_ERR_DECRYPT || rc == SKP_ERR_CRYPTO ||
	    rc == SKP_ERR_FORMAT || rc == SKP_ERR_TRUNCATED)
		rc = SKP_ERR_VERIFY;
	if (rc != SKP_OK)
		goto out;
	if ((rc = decode_response(skp_buf_ptr(b), skp_buf_len(b), resp)) !=
	    SKP_OK)
		goto out;
	rc = skp_ctap_status_err((uint8_t)resp->status);
 out:
	skp_relay_free(&r);
	if (reply != NULL) {
		skp_wipe(reply, replylen);
		free(reply);
	}
	skp_buf_free(&b);
	skp_noise_free(&hs);
	return rc;
}
