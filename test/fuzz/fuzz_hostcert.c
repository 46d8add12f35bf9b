/*
 * Fuzz harness: OpenSSH host certificates (parse, CA signature, checks)
 * and the known_hosts host patterns of trusted CAs. The first byte picks:
 * even, the rest is a certificate blob; odd, "PATTERN\nNAME".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sk-phone/err.h"
#include "sk-phone/hostcert.h"
#include "sk-phone/hostkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
one_cert(const uint8_t *p, size_t n)
{
	static struct skp_hostcert c;
	char why[256];
	int rc;

	rc = skp_hostcert_parse(p, n, &c);
	if (rc != SKP_OK) {
		if (c.key_len != 0 || c.type != NULL)
			abort();
		return;
	}
	if (!skp_hostcert_is_cert(p, n) || c.key_len == 0 ||
	    c.signed_len == 0 || c.signed_len >= n ||
	    c.ca_key < p || c.ca_key + c.ca_key_len > p + n ||
	    c.signature + c.signature_len != p + n ||
	    skp_hostcert_is_cert(c.key, c.key_len))
		abort();
	/*
	 * Not asked again here: skp_hostkey_check of the certified key
	 * (parse did it) is not a function of the bytes alone for a
	 * mutated RSA modulus: OpenSSL's public key check tests it for
	 * primality with random bases.
	 */
	rc = skp_hostcert_verify_ca(p, n, &c);
	if (rc != SKP_OK && rc != SKP_ERR_VERIFY && rc != SKP_ERR_UNSUPPORTED)
		abort();
	rc = skp_hostcert_check(&c, "localhost", 1780272000ULL, why,
	    sizeof(why));
	if (rc != SKP_OK && (rc != SKP_ERR_VERIFY || why[0] == '\0'))
		abort();
}

static void
one_pattern(const uint8_t *p, size_t n)
{
	char buf[1024], *name;

	if (n >= sizeof(buf) || memchr(p, '\0', n) != NULL)
		return;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if ((name = strchr(buf, '\n')) == NULL)
		return;
	*name++ = '\0';
	/* A pattern matches only when some part of it is not negated. */
	if (skp_hostcert_pattern_match(buf, name) &&
	    skp_hostcert_pattern_ok(buf) && strchr(buf, '*') == NULL &&
	    strchr(buf, '?') == NULL && strstr(buf, name) == NULL &&
	    strchr(buf, ',') == NULL && strcasecmp(buf, name) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	if (n < 1)
		return 0;
	if ((p[0] & 1) == 0)
		one_cert(p + 1, n - 1);
	else
		one_pattern(p + 1, n - 1);
	return 0;
}
