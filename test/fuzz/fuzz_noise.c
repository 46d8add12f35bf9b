/* Fuzz harness for lib/noise.c: handshake messages, then transport. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"
#include "test/noise/vector.h"

/*
 * Input: a mode byte (bit 0: KKpsk0 instead of IKpsk0; bit 1: the
 * harness is the initiator instead of the responder), then frames of a
 * 16-bit big-endian length and that many bytes. Frame 1 is the
 * handshake message the harness reads (message 1 as the responder,
 * message 2 as the initiator after writing message 1); when it goes
 * through, the responder answers, both split, and the remaining frames
 * are transport messages to the harness. All keys, including the
 * ephemeral ones, are the doc's test vector (test/noise/vector.h), so
 * the seeds made by "noise_peer fuzzseeds" get all the way through.
 * Every refusal must leave the output empty and the state dead.
 */

#define MAX_FRAMES	16
#define CAP		(SKP_NOISE_MAX_MSG + 1)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct skp_p256_key phone_s, computer_s, phone_e, computer_e;
static uint8_t pair_psk[32], request_psk[32];

static void
load_keys(void)
{
	static int done;
	uint8_t d[4][32];

	if (done)
		return;
	if (skp_unhex(NV_PHONE_STATIC, d[0], 32) != 0 ||
	    skp_unhex(NV_COMPUTER_STATIC, d[1], 32) != 0 ||
	    skp_unhex(NV_PHONE_EPHEMERAL, d[2], 32) != 0 ||
	    skp_unhex(NV_COMPUTER_EPHEMERAL, d[3], 32) != 0 ||
	    skp_unhex(NV_PAIR_PSK, pair_psk, 32) != 0 ||
	    skp_unhex(NV_REQUEST_PSK, request_psk, 32) != 0 ||
	    skp_p256_from_private(d[0], &phone_s) != 0 ||
	    skp_p256_from_private(d[1], &computer_s) != 0 ||
	    skp_p256_from_private(d[2], &phone_e) != 0 ||
	    skp_p256_from_private(d[3], &computer_e) != 0)
		abort();
	done = 1;
}

static skp_noise_t *
make(int pattern, int role)
{
	int phone = (pattern == SKP_NOISE_IKPSK0) ==
	    (role == SKP_NOISE_INITIATOR);
	skp_noise_t *st;

	if ((st = skp_noise_new(pattern, role)) == NULL)
		abort();
	if (skp_noise_set_local_static(st, phone ? &phone_s :
	    &computer_s) != 0 ||
	    skp_noise_set_ephemeral_for_test(st, phone ? &phone_e :
	    &computer_e) != 0 ||
	    skp_noise_set_psk(st, pattern == SKP_NOISE_IKPSK0 ? pair_psk :
	    request_psk) != 0)
		abort();
	if (!(pattern == SKP_NOISE_IKPSK0 && role == SKP_NOISE_RESPONDER) &&
	    skp_noise_set_remote_static(st, phone ? computer_s.pub :
	    phone_s.pub) != 0)
		abort();
	return st;
}

/* A refused read: no output, and every later call refused. */
static void
check_refused(skp_noise_t *st, skp_buf_t *out)
{
	uint8_t h[32];

	if (skp_buf_len(out) != 0 || skp_noise_next(st) !=
	    SKP_NOISE_NEXT_NONE || skp_noise_handshake_hash(st, h) !=
	    SKP_ERR_STATE || skp_noise_write_message(st, "x", 1, out) !=
	    SKP_ERR_STATE || skp_buf_len(out) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skp_reader_t r;
	skp_noise_t *me = NULL;
	skp_noise_transport_t *t = NULL;
	skp_buf_t *out = NULL, *msg = NULL;
	const uint8_t *frame;
	const char *p1, *p2;
	uint8_t mode, h[32], pub[65];
	uint16_t len;
	size_t nframes = 0;
	int pattern, initiator;

	load_keys();
	skp_reader_init(&r, data, size);
	if (skp_reader_u8(&r, &mode) != 0)
		return 0;
	pattern = (mode & 1) ? SKP_NOISE_KKPSK0 : SKP_NOISE_IKPSK0;
	initiator = (mode & 2) != 0;
	p1 = pattern == SKP_NOISE_IKPSK0 ? NV_IK_PAYLOAD1 : NV_KK_PAYLOAD1;
	p2 = pattern == SKP_NOISE_IKPSK0 ? NV_IK_PAYLOAD2 : NV_KK_PAYLOAD2;
	if ((out = skp_buf_new(CAP)) == NULL ||
	    (msg = skp_buf_new(CAP)) == NULL)
		abort();
	me = make(pattern, initiator ? SKP_NOISE_INITIATOR :
	    SKP_NOISE_RESPONDER);
	if (skp_reader_u16(&r, &len) != 0 ||
	    skp_reader_ptr(&r, &frame, len) != 0)
		goto out;
	/* The vector's message 1, so that its message 2 fits. */
	if (initiator && skp_noise_write_message(me, p1, strlen(p1),
	    msg) != 0)
		abort();
	if (skp_noise_read_message(me, frame, len, out) != SKP_OK) {
		check_refused(me, out);
		goto out;
	}
	/* Through: exactly the payload, and a valid remote key. */
	if (skp_buf_len(out) + 81 > len ||
	    skp_noise_remote_static(me, pub) != 0 ||
	    skp_p256_check_public(pub) != 0)
		abort();
	if (!initiator && skp_noise_write_message(me, p2, strlen(p2),
	    msg) != 0)
		abort();
	if (!skp_noise_is_done(me) || skp_noise_split(me, &t) != 0 ||
	    skp_noise_handshake_hash(me, h) != 0)
		abort();
	while (nframes++ < MAX_FRAMES &&
	    skp_reader_u16(&r, &len) == 0 &&
	    skp_reader_ptr(&r, &frame, len) == 0) {
		skp_buf_reset(out);
		if (skp_noise_transport_decrypt(t, frame, len, out) !=
		    SKP_OK) {
			/* Refused: nothing out, and dead from now on. */
			if (skp_buf_len(out) != 0 ||
			    skp_noise_transport_decrypt(t, frame, len,
			    out) != SKP_ERR_STATE || skp_buf_len(out) != 0)
				abort();
			break;
		}
		if (skp_buf_len(out) + 16 != len)
			abort();
	}
out:
	skp_noise_transport_free(&t);
	skp_noise_free(&me);
	skp_buf_free(&out);
	skp_buf_free(&msg);
	return 0;
}
