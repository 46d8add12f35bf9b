/* Test only: a computer whose clock is off, and which resolves no name. */
#include <sys/socket.h>

#include <dlfcn.h>
#include <netdb.h>
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

/*
 * With SKP_TEST_NO_DNS set, every name lookup fails as a name that does not
 * exist would, without asking any resolver: the test of an unresolvable
 * relay then sends nothing off this machine.
 */
int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	static int (*real)(const char *, const char *,
	    const struct addrinfo *, struct addrinfo **);

	if (getenv("SKP_TEST_NO_DNS") != NULL)
		return EAI_NONAME;
	if (real == NULL)
		real = (int (*)(const char *, const char *,
		    const struct addrinfo *, struct addrinfo **))dlsym(
		    RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		return EAI_SYSTEM;
	return real(node, service, hints, res);
}

/* time() too: the pairing code's time and the phone's check of it. */
time_t
time(time_t *t)
{
	struct timespec ts;
	time_t now;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (time_t)-1;
	now = ts.tv_sec;
	if (t != NULL)
		*t = now;
	return now;
}
