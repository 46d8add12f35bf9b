/* Unit tests for the error codes and their messages. */
#include <string.h>

#include "sk-phone/err.h"
#include "harness.h"

static void
every_code_has_a_message(void)
{
	int e;

	for (e = 0; e >= SKP_ERR_LAST; e--) {
		CHECK(skp_strerror(e) != NULL);
		CHECK(strcmp(skp_strerror(e), "unknown error") != 0);
	}
}

static void
unknown_codes(void)
{
	CHECK(strcmp(skp_strerror(SKP_ERR_LAST - 1), "unknown error") == 0);
	CHECK(strcmp(skp_strerror(1), "unknown error") == 0);
	CHECK(strcmp(skp_strerror(-10000), "unknown error") == 0);
}

static void
why_messages(void)
{
	char why[8];

	memset(why, 'x', sizeof(why));
	skp_why(why, sizeof(why), "%s %d", "abc", 12345);
	CHECK(strcmp(why, "abc 123") == 0);
	skp_why(NULL, 10, "%s", "ignored");
	why[0] = 'q';
	skp_why(why, 0, "%s", "ignored");
	CHECK(why[0] == 'q');
}

static const struct skp_test_case cases[] = {
	{ "why_messages", why_messages },
	{ "every_code_has_a_message", every_code_has_a_message },
	{ "unknown_codes", unknown_codes },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
