/*
 * Fuzz harness: sk-phone pair's reading of the relay's answer to HEAD /
 * (cmd/sk-phone/webcheck.c), which decides whether the QR code is the
 * web form. Yes only for a whole head: an "HTTP/1.x 200 " status line,
 * an empty line that ends it, and a Content-Type header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	const char *s = (const char *)p;
	size_t i;
	int ct = 0;

	if (p == NULL || !skp_webcheck_answer(s, n))
		return 0;
	if (n < 13 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    memcmp(s + 8, " 200 ", 5) != 0 ||
	    (memmem(s, n, "\n\n", 2) == NULL &&
	    memmem(s, n, "\n\r\n", 3) == NULL))
		abort();
	for (i = 0; i + 13 <= n; i++)
		if (strncasecmp(s + i, "content-type:", 13) == 0)
			ct = 1;
	if (!ct)
		abort();
	return 0;
}
