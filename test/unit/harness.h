/* A small unit test harness: named cases, TAP output, checks that go on. */
#ifndef SKP_TEST_HARNESS_H
#define SKP_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct skp_test_case {
	const char	*name;
	void		(*fn)(void);
};

extern int skp_test_case_failed;

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		skp_test_case_failed = 1;				\
	}								\
} while (0)

/* An int result against the expected one, with both shown on failure. */
#define CHECK_RC(expr, want) do {					\
	int got_ = (expr), want_ = (want);				\
	if (got_ != want_) {						\
		fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s)\n",	\
		    __FILE__, __LINE__, #expr, got_,			\
		    skp_test_strerror(got_), want_,			\
		    skp_test_strerror(want_));				\
		skp_test_case_failed = 1;				\
	}								\
} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Give up on the current case (e.g. when later checks would crash). */
#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: required: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		skp_test_case_failed = 1;				\
		return;							\
	}								\
} while (0)

const char	*skp_test_strerror(int);
/* Decode a hex string into a malloc'd buffer; aborts on bad input. */
uint8_t		*skp_test_unhex(const char *, size_t *);
/* Runs the cases named on the command line, or all; TAP on stdout. */
int		 skp_test_run(const struct skp_test_case *, size_t, int,
		    char **);

#endif
