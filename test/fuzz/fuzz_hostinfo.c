/* Fuzz harness: the hostinfo record decoder, which must be exact both ways. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct skp_hostinfo hi;
	static uint8_t out[SKP_HOSTINFO_FILE_MAX];
	char pin[SKP_HOSTINFO_PIN_MAX];
	size_t outlen = 0;

	if (skp_hostinfo_decode(p, n, &hi) != SKP_OK)
		return 0;
	/* One spelling per record: what decodes encodes to the same bytes. */
	if (skp_hostinfo_encode(&hi, out, sizeof(out), &outlen) != SKP_OK ||
	    outlen != n || memcmp(out, p, n) != 0)
		abort();
	if (skp_hostinfo_pin_name(hi.host, hi.port, pin, sizeof(pin)) !=
	    SKP_OK)
		abort();
	return 0;
}
