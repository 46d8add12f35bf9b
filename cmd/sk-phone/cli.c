/* sk-phone: messages, the home folder and yes/no questions. */
#include <sys/socket.h>
#include <sys/types.h>

#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/err.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"

#include "cli.h"

void
skp_cli_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("sk-phone: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *
skp_cli_home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return NULL;
}

int
skp_cli_confirm(const char *question)
{
	char answer[16];
	FILE *tty;
	int yes = 0;

	/* The terminal, not stdin: the answer must come from a person. */
	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return -1;
	fprintf(tty, "%s [y/N] ", question);
	fflush(tty);
	if (fgets(answer, sizeof(answer), tty) != NULL)
		yes = answer[0] == 'y' || answer[0] == 'Y';
	fclose(tty);
	return yes;
}

int
skp_cli_relay_check(const char *url, const char *ca_file, int timeout_ms,
    char *why, size_t whylen)
{
	struct skp_relay_opts opts;
	struct skp_relayurl u;
	struct addrinfo hints, *ai = NULL;
	skp_relay_t *r = NULL;
	int rc, gai;

	if (skp_relayurl_parse(url, strlen(url), &u, NULL) != SKP_OK) {
		snprintf(why, whylen, "%s is not a relay URL: it wants "
		    "ws://HOST:PORT or wss://HOST:PORT/PATH", url);
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	/* The relay client says only "network error" for a bad name. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(u.host, NULL, &hints, &ai)) != 0) {
		if (gai == EAI_NONAME || gai == EAI_FAIL ||
		    gai == EAI_NODATA)
			snprintf(why, whylen, "the relay's host name '%s' "
			    "does not resolve (%s): check the spelling of "
			    "%s", u.host, gai_strerror(gai), url);
		else
			snprintf(why, whylen, "cannot look up the relay's "
			    "host name '%s': %s; check the network and DNS",
			    u.host, gai_strerror(gai));
		rc = SKP_ERR_NETWORK;
		goto out;
	}
	memset(&opts, 0, sizeof(opts));
	if (ca_file != NULL && ca_file[0] != '\0')
		opts.ca_file = ca_file;
	if ((r = skp_relay_new(&opts)) == NULL) {
		snprintf(why, whylen, "out of memory");
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	rc = skp_relay_connect(r, url, timeout_ms);
	if (rc == SKP_ERR_TLS && opts.ca_file != NULL)
		snprintf(why, whylen, "the relay's certificate is not "
		    "trusted: %s does not prove it is %s with a certificate "
		    "of the CA file %s; check that the file holds the CA "
		    "that signed the relay's certificate, and that the "
		    "certificate names %s", url, u.host, opts.ca_file,
		    u.host);
	else if (rc == SKP_ERR_TLS)
		snprintf(why, whylen, "the relay's certificate is not "
		    "trusted: %s does not prove it is %s with a certificate "
		    "from the system's CAs; for a relay with a private or "
		    "self-signed certificate, pair with --ca FILE naming "
		    "the CA certificate (PEM)", url, u.host);
	else if (rc == SKP_ERR_IO)
		snprintf(why, whylen, "cannot read the CA file %s: check "
		    "that it exists and is readable", opts.ca_file);
	else if (rc == SKP_ERR_TIMEOUT)
		snprintf(why, whylen, "the relay %s did not answer within "
		    "%d s: is the address right, and does a firewall let it "
		    "through?", url, (timeout_ms + 999) / 1000);
	else if (rc == SKP_ERR_RELAY_PROTOCOL)
		snprintf(why, whylen, "the relay %s closed the connection "
		    "without taking sk-phone relay protocol 2: an "
		    "sk-phone-relay older than protocol 2 does that (update "
		    "it), and so does a proxy whose relay is down (is "
		    "sk-phone-relay running behind it?)", url);
	else if (rc == SKP_ERR_NETWORK)
		snprintf(why, whylen, "cannot reach the relay %s: is "
		    "sk-phone-relay running there?", url);
	else if (rc != SKP_OK)
		snprintf(why, whylen, "the relay %s refused the connection: "
		    "%s", url, skp_strerror(rc));
 out:
	skp_relay_free(&r);
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}

int
skp_cli_relays_check(const char *list, const char *ca_file, int timeout_ms,
    size_t *which, char *why, size_t whylen)
{
	char url[SKP_RELAYURL_MAX + 1], first[512];
	struct timespec t0, t;
	size_t i, n;
	int rc = SKP_ERR_INVALID, first_rc = SKP_OK, left, per;

	*which = 0;
	n = skp_relaylist_count(list);
	first[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left < 1)
			left = 1;
		per = skp_relay_url_share(left, i, n);
		(void)skp_relaylist_get(list, i, url);
		if ((rc = skp_cli_relay_check(url, ca_file, per < 1 ? 1 : per,
		    why, whylen)) == SKP_OK) {
			*which = i;
			return SKP_OK;
		}
		if (i == 0) {
			first_rc = rc;
			snprintf(first, sizeof(first), "%s", why);
		}
	}
	if (n > 1) {
		snprintf(why, whylen, "%s (and the other %zu relay URL%s "
		    "failed too)", first, n - 1, n > 2 ? "s" : "");
		rc = first_rc;
	}
	return rc;
}
