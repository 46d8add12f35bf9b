/*
 * Fuzz harness: the computer decoding a phone's response envelope and the
 * CTAP answer in it. The first byte picks the command the answer is read
 * as: low bits the command, 0x40 enumerateRPs, 0x80 "one RP only".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/ctap.h"
#include "sk-phone/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
answer(uint8_t kind, const uint8_t *p, size_t n)
{
	struct skp_ctap_mc_resp mc;
	struct skp_ctap_ga_resp ga;
	struct skp_ctap_info info;
	struct skp_ctap_cred *creds = NULL;
	uint8_t *out = NULL, sub;
	size_t count = 0, outlen = 0;

	switch (kind & 0x3f) {
	case SKP_CTAP_MAKE_CREDENTIAL:
		if (skp_ctap_mc_resp_decode(p, n, &mc) == SKP_OK &&
		    skp_ctap_mc_resp_encode(&mc, &out, &outlen) != SKP_OK)
			abort();
		break;
	case SKP_CTAP_GET_ASSERTION:
		if (skp_ctap_ga_resp_decode(p, n, &ga) == SKP_OK &&
		    skp_ctap_ga_resp_encode(&ga, &out, &outlen) != SKP_OK)
			abort();
		break;
	case SKP_CTAP_GET_INFO:
		if (skp_ctap_info_decode(p, n, &info) == SKP_OK) {
			(void)skp_ctap_info_option(&info, "uv");
			if (skp_ctap_info_encode(&info, &out, &outlen) !=
			    SKP_OK)
				abort();
		}
		break;
	default:
		sub = (kind & 0x40) ? SKP_CTAP_CM_ENUM_RPS :
		    SKP_CTAP_CM_ENUM_CREDS;
		if (skp_ctap_creds_decode(p, n, sub, !(kind & 0x80), &creds,
		    &count) == SKP_OK) {
			if (skp_ctap_creds_encode(creds, count, sub,
			    !(kind & 0x80), &out, &outlen) != SKP_OK)
				abort();
			skp_ctap_creds_free(&creds, count);
		}
		break;
	}
	free(out);
}

static int
pin_question_ok(const struct skp_ctap_response *r)
{
	struct skp_ctap_answer a;
	uint8_t *out = NULL;
	size_t outlen = 0;
	int ok;

	memset(&a, 0, sizeof(a));
	a.status = r->status;
	a.reason = r->reason;
	a.pin_may_follow = 1;
	ok = r->status == SKP_CTAP_PIN_REQUIRED &&
	    skp_ctap_answer_encode(&a, &out, &outlen) == SKP_OK &&
	    outlen == 1024;
	free(out);
	return ok;
}

/* Key 4 read is key 4 writable, and reads back the same. */
static int
move_ok(const struct skp_ctap_response *r)
{
	struct skp_ctap_answer a;
	struct skp_ctap_response back;
	uint8_t *out = NULL;
	size_t outlen = 0;
	int ok;

	memset(&a, 0, sizeof(a));
	a.status = 0x27;
	a.move_id = r->move_id;
	a.move_relay = r->move_relay;
	ok = skp_ctap_answer_encode(&a, &out, &outlen) == SKP_OK &&
	    skp_ctap_response_decode(out, outlen, &back) == SKP_OK &&
	    back.moved && memcmp(back.move_id, r->move_id,
	    sizeof(back.move_id)) == 0 &&
	    strcmp(back.move_relay, r->move_relay) == 0;
	if (ok)
		skp_ctap_response_clear(&back);
	free(out);
	return ok;
}

/* Key 6 comes only with 0xF0, and encodes again. */
static int
phone_time_ok(const struct skp_ctap_response *r)
{
	struct skp_ctap_answer a;
	uint8_t *out = NULL;
	size_t outlen = 0;
	int ok;

	memset(&a, 0, sizeof(a));
	a.status = r->status;
	a.reason = r->reason[0] != '\0' ? r->reason : NULL;
	a.has_phone_time = 1;
	a.phone_time_ms = r->phone_time_ms;
	ok = r->status == SKP_CTAP_STALE &&
	    skp_ctap_answer_encode(&a, &out, &outlen) == SKP_OK;
	free(out);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_ctap_response r;

	if (n < 1)
		return 0;
	/* The answer alone, then inside its envelope. */
	answer(p[0], p + 1, n - 1);
	if (skp_ctap_response_decode(p + 1, n - 1, &r) == SKP_OK) {
		(void)skp_ctap_status_err(r.status);
		(void)skp_ctap_status_str(r.status);
		/* Key 5 comes only with 0x36, and encodes again. */
		if (r.pin_may_follow && !pin_question_ok(&r))
			abort();
		/* Key 4: the new mailbox, as the computer will save it. */
		if (r.moved && !move_ok(&r))
			abort();
		/* Key 6: the phone's clock, only in a stale refusal. */
		if (r.has_phone_time && !phone_time_ok(&r))
			abort();
		if (r.ctap != NULL)
			answer(p[0], r.ctap, r.ctap_len);
		skp_ctap_response_clear(&r);
	}
	return 0;
}
