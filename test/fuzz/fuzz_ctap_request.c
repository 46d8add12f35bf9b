/*
 * Fuzz harness: the phone decoding a request envelope from the network,
 * and the same bytes as the PIN message (transport message 3).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/ctap.h"
#include "sk-phone/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A PIN that decodes encodes again, 128 bytes, to the same PIN. */
static void
pin_message(const uint8_t *p, size_t n)
{
	char pin[SKP_CTAP_PIN_MAX + 1], again[SKP_CTAP_PIN_MAX + 1];
	uint8_t *out = NULL;
	size_t outlen = 0;

	if (skp_ctap_pin_decode(p, n, pin) != SKP_OK) {
		if (pin[0] != '\0')
			abort();	/* a refused PIN is wiped */
		return;
	}
	if (skp_ctap_pin_encode(pin, &out, &outlen) != SKP_OK ||
	    outlen != SKP_CTAP_PIN_MSG_LEN ||
	    skp_ctap_pin_decode(out, outlen, again) != SKP_OK ||
	    strcmp(pin, again) != 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct skp_ctap_request req, again;
	uint8_t *out = NULL, status = 0xff;
	size_t outlen = 0;

	pin_message(p, n);
	if (skp_ctap_request_decode(p, n, &req, &status) != SKP_OK) {
		/* A refusal always names a status for the answer. */
		if (status == SKP_CTAP_OK)
			abort();
		return 0;
	}
	if (status != SKP_CTAP_OK)
		abort();
	(void)skp_ctap_request_check_raw(&req);
	/*
	 * What was accepted encodes again, and the decoder reads back the
	 * same request: a second decode must not fail.
	 */
	if (skp_ctap_request_encode(&req, &out, &outlen) == SKP_OK) {
		if (skp_ctap_request_decode(out, outlen, &again, NULL) !=
		    SKP_OK || again.command != req.command ||
		    memcmp(again.id, req.id, sizeof(req.id)) != 0)
			abort();
		free(out);
	}
	skp_ctap_request_clear(&req);
	skp_ctap_request_clear(&again);
	return 0;
}
