/*
 * The C decoders for the web phone's differential test
 * (web/test/differential.test.js): one line "KIND HEX" in, one line out,
 * "RC STATUS" with RC the decoder's SKP_ERR_* (0 when it accepted) and
 * STATUS the CTAP status a refused request names (0 otherwise).
 * KIND: cbor request response pin pairuri relayurl keyhandle hello reply
 * confirm.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/cbor.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relayurl.h"

#define MAX_IN	(70000 * 2 + 64)

static int
decode(const char *kind, const uint8_t *p, size_t n, uint8_t *status)
{
	static struct skp_ctap_request req;
	struct skp_ctap_response resp;
	struct skp_pairuri u;
	struct skp_keyhandle kh;
	struct skp_pair_hello h;
	char pin[SKP_CTAP_PIN_MAX + 1], name[SKP_PAIRFLOW_NAME_MAX + 1];
	cbor_item_t *it = NULL;
	int rc;

	*status = 0;
	if (strcmp(kind, "cbor") == 0) {
		rc = skp_cbor_load(p, n, SKP_CTAP_ENVELOPE_MAX, &it);
		skp_cbor_free(&it);
	} else if (strcmp(kind, "request") == 0) {
		rc = skp_ctap_request_decode(p, n, &req, status);
		skp_ctap_request_clear(&req);
	} else if (strcmp(kind, "response") == 0) {
		rc = skp_ctap_response_decode(p, n, &resp);
		if (rc == SKP_OK)
			skp_ctap_response_clear(&resp);
	} else if (strcmp(kind, "pin") == 0) {
		rc = skp_ctap_pin_decode(p, n, pin);
	} else if (strcmp(kind, "pairuri") == 0) {
		rc = skp_pairuri_parse((const char *)p, n, &u);
	} else if (strcmp(kind, "relayurl") == 0) {
		rc = skp_relayurl_parse((const char *)p, n, NULL, NULL);
	} else if (strcmp(kind, "keyhandle") == 0) {
		rc = skp_keyhandle_decode(p, n, &kh);
	} else if (strcmp(kind, "hello") == 0) {
		rc = skp_pairflow_decode_hello(p, n, &h);
	} else if (strcmp(kind, "reply") == 0) {
		rc = skp_pairflow_decode_reply(p, n, name);
	} else if (strcmp(kind, "confirm") == 0) {
		rc = skp_pairflow_decode_confirm(p, n);
	} else {
		rc = 1;
	}
	return rc;
}

int
main(void)
{
	static char line[MAX_IN];
	static uint8_t buf[MAX_IN / 2];
	char *hex;
	size_t n, len;
	uint8_t status;
	int rc;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((hex = strchr(line, ' ')) == NULL)
			hex = line + n;
		else
			*hex++ = '\0';
		len = strlen(hex) / 2;
		if (strlen(hex) % 2 != 0 || (len > 0 &&
		    skp_unhex(hex, buf, len) != SKP_OK)) {
			printf("bad\n");
		} else {
			rc = decode(line, buf, len, &status);
			printf("%d %u\n", rc, status);
		}
		fflush(stdout);
	}
	return 0;
}
