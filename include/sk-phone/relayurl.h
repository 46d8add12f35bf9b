/*
 * The relay URL: one strict parser (docs/PROTOCOL.md §2.2) used by the
 * pairing URI, the pairing payloads, the state files, the command-line
 * flags and the relay client's connect.
 */
#ifndef SKP_RELAYURL_H
#define SKP_RELAYURL_H

#include <stddef.h>
#include <stdint.h>

#define SKP_RELAYURL_MAX	255	/* bytes, the whole URL */
#define SKP_RELAYURL_HOST_MAX	253	/* a DNS name; IP literals are shorter */

struct skp_relayurl {
	int		tls;		/* 1 for wss, 0 for ws */
	char		host[SKP_RELAYURL_HOST_MAX + 1]; /* IPv6 without [] */
	int		ipv6;		/* host was written in brackets */
	uint16_t	port;		/* given, else 443 (wss) or 80 (ws) */
	char		path[SKP_RELAYURL_MAX + 1]; /* "/" when none given */
};

/*
 * Parse len bytes (no NUL needed). SKP_OK, SKP_ERR_TOO_LARGE beyond
 * SKP_RELAYURL_MAX, otherwise SKP_ERR_FORMAT. out and why may be NULL;
 * why gets a static text naming the rule broken, for messages.
 */
int	skp_relayurl_parse(const char *, size_t len, struct skp_relayurl *out,
	    const char **why);

#endif
