/* One request from the computer to its paired phone, through the relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "sk-phone/buf.h"
#include "sk-phone/call.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"
#include "sk-phone/relay.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* CTAP2 status codes the phone answers (docs/protocol/70-phone.md). */
struct status_err {
	unsigned int	status;
	int		err;
};

static const struct status_err status_errs[] = {
	{ 0x01, SKP_ERR_UNSUPPORTED },		/* invalid command */
	{ 0x05, SKP_ERR_EXPIRED },		/* stale request */
	{ 0x06, SKP_ERR_LIMIT },		/* busy with another */
	{ 0x19, SKP_ERR_EXISTS },		/* credential excluded */
	{ 0x22, SKP_ERR_NOT_FOUND },		/* invalid credential */
	{ 0x26, SKP_ERR_UNSUPPORTED },		/* unsupported algorithm */
	{ 0x27, SKP_ERR_REJECTED },		/* operation denied */
	{ 0x2B, SKP_ERR_UV_UNAVAILABLE },	/* unsupported option */
	{ 0x2E, SKP_ERR_NOT_FOUND },		/* no credentials */
	{ 0x2F, SKP_ERR_REJECTED },		/* no answer in time */
	{ 0x30, SKP_ERR_REPLAY },		/* not allowed: replayed */
	{ 0x31, SKP_ERR_PIN_INVALID },
	{ 0x36, SKP_ERR_PIN_REQUIRED },		/* PUAT required */
};

struct call_ctx {
	skp_call_status_fn	*fn;
	void			*arg;
	int			 online;
};

int
skp_call_status_err(unsigned int status)
{
	size_t i;

	if (status == 0)
		return SKP_OK;
	for (i = 0; i < nitems(status_errs); i++)
		if (status_errs[i].status == status)
			return status_errs[i].err;
	return SKP_ERR_INVALID;
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

/* {1: status, 2: CTAP response (map, or array of maps), 3: reason}. */
static int
decode_response(const uint8_t *p, size_t n, struct skp_call_response *out)
{
	static const int64_t keys[] = { 1, 2, 3 };
	struct skp_call_response tmp;
	cbor_item_t *m = NULL, *it;
	uint64_t status;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if ((rc = skp_cbor_load(p, n, SKP_NOISE_MAX_PLAINTEXT, &m)) != SKP_OK)
		goto out;
	if (!cbor_isa_map(m)) {
		rc = SKP_ERR_CBOR_TYPE;
		goto out;
	}
	if ((rc = skp_cbor_map_only(m, keys, nitems(keys))) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_UINT, &it)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(it, &status)) != SKP_OK)
		goto out;
	if (status > 0xff) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	tmp.status = (unsigned int)status;
	rc = skp_cbor_map_get(m, 2, CBOR_TYPE_MAP, &it);
	if (rc == SKP_ERR_CBOR_TYPE)
		rc = skp_cbor_map_get(m, 2, CBOR_TYPE_ARRAY, &it);
	if (rc == SKP_OK)
		rc = skp_cbor_encode(it, SKP_NOISE_MAX_PLAINTEXT, &tmp.ctap,
		    &tmp.ctap_len);
	else if (rc == SKP_ERR_NOT_FOUND && tmp.status != 0)
		rc = SKP_OK;
	if (rc != SKP_OK)
		goto out;
	rc = skp_cbor_map_get(m, 3, CBOR_TYPE_STRING, &it);
	if (rc == SKP_OK)
		rc = skp_cbor_get_text(it, SKP_CALL_REASON_MAX, tmp.reason,
		    sizeof(tmp.reason));
	else if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_OK;
	if (rc != SKP_OK)
		goto out;
	tame(tmp.reason);
	*out = tmp;
	memset(&tmp, 0, sizeof(tmp));
 out:
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_FORMAT;
	skp_call_response_clear(&tmp);
	skp_cbor_free(&m);
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
	skp_noise_t *hs = NULL;
	skp_buf_t *b = NULL;
	uint8_t *reply = NULL;
	size_t replylen = 0;
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
	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = noise_setup(&hs, phone, identity)) != SKP_OK ||
	    (rc = skp_noise_write_message(hs, request, request_len, b)) !=
	    SKP_OK)
		goto out;
	rc = skp_relay_exchange(phone->relay_url, &opts, phone->mailbox_id,
	    skp_buf_ptr(b), skp_buf_len(b), timeout_ms, &reply, &replylen);
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
	rc = skp_call_status_err(resp->status);
 out:
	if (reply != NULL) {
		skp_wipe(reply, replylen);
		free(reply);
	}
	skp_buf_free(&b);
	skp_noise_free(&hs);
	return rc;
}
