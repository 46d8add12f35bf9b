/* Fuzz harness: the pairing URI parser, and parse-encode-parse agreement. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_pairuri u, v;
	char out[SKP_PAIRURI_MAX + 1], text[SKP_PAIRURI_MAX + 16 + 1];
	char first[SKP_RELAYURL_MAX + 1];
	int web, rc;

	/* The field checks see raw bytes too. */
	(void)skp_pairuri_check_name((const char *)p, n);
	(void)skp_pairuri_check_relay((const char *)p, n);
	if (skp_pairuri_parse((const char *)p, n, &u) != SKP_OK)
		return 0;
	(void)skp_pairuri_check_fresh(&u, 1700000000u);
	/*
	 * Whatever parses must encode, no longer than it came (the encoder
	 * escapes exactly what the parser needs escaped), and parse back to
	 * the same fields.
	 */
	web = n > 0 && p[0] == 'h';
	if ((web ? skp_pairuri_encode_web(&u, out, sizeof(out)) :
	    skp_pairuri_encode(&u, out, sizeof(out))) != SKP_OK ||
	    strlen(out) > n)
		abort();
	memset(&v, 0, sizeof(v));
	if (skp_pairuri_parse(out, strlen(out), &v) != SKP_OK ||
	    memcmp(&u, &v, sizeof(u)) != 0)
		abort();
	/*
	 * The web form's origin has one spelling, the one the first r
	 * gives; the same pairing in the text form parses to the same
	 * fields. A relay list is a list the list functions take.
	 */
	if (skp_relaylist_check(u.relay, strlen(u.relay), NULL) != SKP_OK ||
	    skp_relaylist_get(u.relay, 0, first) != SKP_OK)
		abort();
	if (web && (!skp_pairuri_web_ok(first) ||
	    memcmp(out, p, (size_t)(strchr(out, '#') - out) + 1) != 0))
		abort();
	/* (A short origin leaves the text form up to 5 bytes longer.) */
	if (web && (rc = skp_pairuri_encode(&u, text, sizeof(text))) !=
	    SKP_ERR_TOO_LARGE && (rc != SKP_OK ||
	    skp_pairuri_parse(text, strlen(text), &v) != SKP_OK ||
	    memcmp(&u, &v, sizeof(u)) != 0))
		abort();
	skp_pairuri_clear(&u);
	skp_pairuri_clear(&v);
	return 0;
}
