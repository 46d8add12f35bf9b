/*
 * The computer's checks of a phone's answers (lib/verify.c, libfido2) for
 * the web phone's tests (web/test/authdata.test.js): one line in, one out.
 *   mc RP CDH AUTHDATA SIG UV         -> "RC PUB CREDID" (RC 0: verified)
 *   ga RP CDH PUB AUTHDATA SIG UP UV  -> "RC FLAGS COUNTER"
 * Every field is hex (RP too); UP and UV are 0 or 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/verify.h"

#define MAXF	8
#define MAXB	4096

static size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s) / 2;

	if (strlen(s) % 2 != 0 || n > max || (n > 0 &&
	    skp_unhex(s, out, n) != SKP_OK))
		return (size_t)-1;
	return n;
}

static void
puthex(const uint8_t *p, size_t n)
{
	size_t i;

	putchar(' ');
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	if (n == 0)
		putchar('-');
}

int
main(void)
{
	static char line[4 * MAXB];
	static uint8_t b[MAXF][MAXB];
	char *f[MAXF], *save = NULL, rp[MAXB + 1];
	size_t n[MAXF], nf, i;
	struct skp_verify_cred cred;
	uint32_t counter;
	uint8_t flags;
	int rc;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (nf = 0; nf < MAXF; nf++)
			if ((f[nf] = strtok_r(nf == 0 ? line : NULL, " ",
			    &save)) == NULL)
				break;
		for (i = 1; i < nf; i++)
			if ((n[i] = unhex(f[i], b[i], MAXB)) == (size_t)-1)
				break;
		if (nf < 2 || i < nf || n[1] > MAXB - 1) {
			printf("bad\n");
			fflush(stdout);
			continue;
		}
		memcpy(rp, b[1], n[1]);
		rp[n[1]] = '\0';
		if (strcmp(f[0], "mc") == 0 && nf == 6 && n[2] == 32) {
			memset(&cred, 0, sizeof(cred));
			rc = skp_verify_make_credential(rp, b[2], b[3], n[3],
			    "packed", -7, b[4], n[4], b[5][0] != 0, &cred);
			printf("%d", rc);
			puthex(cred.pub, rc == 0 ? sizeof(cred.pub) : 0);
			puthex(cred.cred_id, rc == 0 ? cred.cred_id_len : 0);
			putchar('\n');
		} else if (strcmp(f[0], "ga") == 0 && nf == 8 && n[2] == 32 &&
		    n[3] == SKP_P256_PUB_LEN) {
			flags = 0;
			counter = 0;
			rc = skp_verify_assertion(rp, b[2], b[3], b[4], n[4],
			    b[5], n[5], b[6][0] != 0, b[7][0] != 0, &flags,
			    &counter);
			printf("%d %u %u\n", rc, flags, counter);
		} else {
			printf("bad\n");
		}
		fflush(stdout);
	}
	return 0;
}
