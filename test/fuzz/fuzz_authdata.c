/* Fuzz harness: authenticator data from a phone, and its COSE key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/authdata.h"
#include "sk-phone/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	uint8_t out[SKP_AUTHDATA_MAX], pub[SKP_P256_PUB_LEN];
	struct skp_authdata ad;
	size_t outlen;

	(void)skp_authdata_cose_parse(p, n, pub);
	if (skp_authdata_parse(p, n, &ad) != SKP_OK)
		return 0;
	/* What parses builds back to the very same bytes. */
	if ((ad.flags & SKP_AUTHDATA_ED) != 0 ||
	    skp_authdata_build(&ad, out, sizeof(out), &outlen) != SKP_OK ||
	    outlen != n || memcmp(out, p, n) != 0)
		abort();
	return 0;
}
