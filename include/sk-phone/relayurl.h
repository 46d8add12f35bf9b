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

/*
 * A relay list (PROTOCOL.md §2.2): one relay reached through 1 to
 * SKP_RELAYLIST_URLS URLs, tried in turn. In memory (and in flags and
 * messages) it is the URLs joined by one space, which no URL holds; on
 * the wire and on disk each side has its own form (§2.1, §6.5, §8.7).
 */
#define SKP_RELAYLIST_URLS	4
#define SKP_RELAYLIST_MAX	(SKP_RELAYLIST_URLS * (SKP_RELAYURL_MAX + 1) - 1)

/*
 * 1..SKP_RELAYLIST_URLS URLs, each one skp_relayurl_parse() accepts,
 * separated by single spaces, none twice. SKP_OK, SKP_ERR_TOO_LARGE (a
 * URL too long, or too many), SKP_ERR_FORMAT; why as above.
 */
int	skp_relaylist_check(const char *, size_t len, const char **why);
/* How many URLs list holds (its spaces plus one; 0 for ""). */
size_t	skp_relaylist_count(const char *list);
/*
 * URL i of list into out (NUL-terminated): SKP_OK, or SKP_ERR_NOT_FOUND
 * past the end. Does not check the URL.
 */
int	skp_relaylist_get(const char *list, size_t i,
	    char out[SKP_RELAYURL_MAX + 1]);
/*
 * Append url to the list in buf (size bytes, "" for an empty list),
 * checking it: SKP_ERR_EXISTS when it is there already, SKP_ERR_TOO_LARGE
 * past SKP_RELAYLIST_URLS, SKP_ERR_FORMAT for a bad URL (why says which
 * rule). buf is unchanged on error.
 */
int	skp_relaylist_add(char *buf, size_t size, const char *url,
	    const char **why);
/* Is url one of the list's URLs, byte for byte? */
int	skp_relaylist_has(const char *list, const char *url);

#endif
