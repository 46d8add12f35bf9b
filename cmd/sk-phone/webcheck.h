/* Does the relay's origin serve the web phone? (sk-phone pair's QR form) */
#ifndef SKP_WEBCHECK_H
#define SKP_WEBCHECK_H

#include <stddef.h>

/*
 * HEAD / on the relay URL's origin (https for wss, http for ws, the CA
 * file as for the relay): 1 when it answers 200 with a text/html page,
 * 0 otherwise (not served, an error, no answer within timeout_ms).
 */
int	skp_webcheck(const char *relay_url, const char *ca_file,
	    int timeout_ms);
/* The answer's head (up to len bytes): 1 for "200" and text/html. */
int	skp_webcheck_answer(const char *buf, size_t len);

#endif
