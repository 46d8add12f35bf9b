/* Fuzz harness: the key handle decoder, which must be exact both ways. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_keyhandle kh;
	uint8_t out[SKP_KEYHANDLE_MAX];
	size_t outlen = 0;

	if (skp_keyhandle_decode(p, n, &kh) != SKP_OK)
		return 0;
	/* One spelling per handle: what decodes encodes to the same bytes. */
	if (skp_keyhandle_encode(&kh, out, sizeof(out), &outlen) != SKP_OK ||
	    outlen != n || memcmp(out, p, n) != 0)
		abort();
	return 0;
}
