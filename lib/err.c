/* Messages for the SKP_ERR_* codes. */
#include <stdarg.h>
#include <stdio.h>

#include "sk-phone/err.h"

static const char *const messages[] = {
	"success",					/*   0 */
	"internal error",				/*  -1 */
	"out of memory",				/*  -2 */
	"invalid argument",				/*  -3 */
	"malformed data",				/*  -4 */
	"data too large",				/*  -5 */
	"data truncated",				/*  -6 */
	"unexpected trailing data",			/*  -7 */
	"CBOR map keys not in canonical order or duplicated", /* -8 */
	"CBOR item of the wrong type",			/*  -9 */
	"not supported",				/* -10 */
	"invalid key or signature",			/* -11 */
	"decryption failed (wrong key or tampered data)", /* -12 */
	"operation out of order",			/* -13 */
	"input/output error",				/* -14 */
	"file or folder is accessible by others",	/* -15 */
	"written by a newer version of sk-phone",	/* -16 */
	"not found",					/* -17 */
	"already exists",				/* -18 */
	"expired",					/* -19 */
	"replayed message",				/* -20 */
	"timed out",					/* -21 */
	"network error",				/* -22 */
	"the phone is offline",				/* -23 */
	"rejected on the phone",			/* -24 */
	"the phone's answer did not verify",		/* -25 */
	"PIN required",					/* -26 */
	"not paired with a phone",			/* -27 */
	"state file is corrupt",			/* -28 */
	"relay limit reached",				/* -29 */
	"connection closed",				/* -30 */
	"wrong PIN",					/* -31 */
	"the server's host key changed",		/* -32 */
	"the phone cannot verify the user",		/* -33 */
	"the relay's TLS certificate is not trusted",	/* -34 */
	"the server's host key signature did not verify", /* -35 */
	"written by an older version of sk-phone",	/* -36 */
	"the relay closed the connection without taking sk-phone relay "
	    "protocol 2: an sk-phone-relay older than protocol 2 does that "
	    "(update it), and so does a proxy whose relay is down",
							/* -37 */
	"a library sk-phone loads to reach the relay is missing: "
	    "reinstall sk-phone",			/* -38 */
};

const char *
skp_strerror(int err)
{
	if (err > 0 || err < SKP_ERR_LAST)
		return "unknown error";
	return messages[-err];
}

void
skp_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
