/* The unit test runner: TAP on stdout, diagnostics on stderr. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "harness.h"

int skp_test_case_failed;

const char *
skp_test_strerror(int rc)
{
	return skp_strerror(rc);
}

uint8_t *
skp_test_unhex(const char *s, size_t *len)
{
	size_t n = strlen(s) / 2;
	uint8_t *p;

	if ((p = malloc(n > 0 ? n : 1)) == NULL ||
	    skp_unhex(s, p, n) != SKP_OK) {
		fprintf(stderr, "bad hex in test: %s\n", s);
		abort();
	}
	*len = n;
	return p;
}

int
skp_test_run(const struct skp_test_case *cases, size_t n, int argc,
    char **argv)
{
	size_t i, run = 0, failed = 0;
	int j, selected;

	for (i = 0; i < n; i++) {
		selected = argc < 2;
		for (j = 1; j < argc; j++)
			if (strcmp(argv[j], cases[i].name) == 0)
				selected = 1;
		if (selected)
			run++;
	}
	printf("1..%zu\n", run);
	run = 0;
	for (i = 0; i < n; i++) {
		selected = argc < 2;
		for (j = 1; j < argc; j++)
			if (strcmp(argv[j], cases[i].name) == 0)
				selected = 1;
		if (!selected)
			continue;
		skp_test_case_failed = 0;
		cases[i].fn();
		run++;
		if (skp_test_case_failed)
			failed++;
		printf("%s %zu - %s\n", skp_test_case_failed ? "not ok" : "ok",
		    run, cases[i].name);
		fflush(stdout);
	}
	return failed == 0 ? 0 : 1;
}
