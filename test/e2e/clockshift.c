/* Test only: a computer whose clock is SKP_TEST_CLOCK_SHIFT seconds off. */
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

/*
 * Preloaded into sk-phone, so that the request time it sends differs from
 * the phone's clock by a known amount; only CLOCK_REALTIME moves.
 */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	const char *e;
	int rc;

	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
		    "clock_gettime");
	if (real == NULL)
		return -1;
	rc = real(id, ts);
	if (rc == 0 && id == CLOCK_REALTIME &&
	    (e = getenv("SKP_TEST_CLOCK_SHIFT")) != NULL)
		ts->tv_sec += atol(e);
	return rc;
}
