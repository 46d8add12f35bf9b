/* Does the relay's origin serve the web phone? (sk-phone pair's QR form) */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sk-phone/relayurl.h"

#include "webcheck.h"

#define HEAD_MAX	4096

static int
ci_prefix(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && strncasecmp(p, word, n) == 0;
}

/*
 * Strict enough to say yes only to a page: "HTTP/1.x 200 " and a
 * Content-Type header whose media type is text/html, in a complete head.
 */
int
skp_webcheck_answer(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *eol, *v;
	int html = 0;

	if (len < 13 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || memcmp(buf + 8, " 200 ", 5) !=
	    0)
		return 0;
	for (;;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			return 0;	/* the head did not end */
		p = eol + 1;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			return html;
		if (p == end)
			return 0;
		if (ci_prefix(p, end, "content-type:")) {
			v = p + strlen("content-type:");
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			html = ci_prefix(v, end, "text/html") &&
			    (v + 9 == end || v[9] == ';' || v[9] == ' ' ||
			    v[9] == '\r' || v[9] == '\n');
		}
	}
}

static int
head_done(const char *p, size_t n)
{
	return memmem(p, n, "\r\n\r\n", 4) != NULL;
}

/* A TCP connection within the time left, or -1. */
static int
dial(const struct skp_relayurl *u, int timeout_ms)
{
	struct addrinfo hints, *ai = NULL, *a;
	struct pollfd pfd;
	struct timeval tv;
	char port[8];
	int fd = -1, err;
	socklen_t el;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", (unsigned int)u->port);
	if (getaddrinfo(u->host, port, &hints, &ai) != 0)
		return -1;
	for (a = ai; a != NULL; a = a->ai_next) {
		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, a->ai_protocol)) < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			el = sizeof(err);
			if (poll(&pfd, 1, timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) ==
			    0 && err == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	/* Blocking from here, every read and write bounded. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

int
skp_webcheck(const char *relay_url, const char *ca_file, int timeout_ms)
{
	struct skp_relayurl u;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char req[600], head[HEAD_MAX], auth[SKP_RELAYURL_MAX + 1];
	unsigned char ip[16];
	const char *a, *e;
	size_t have = 0;
	int fd = -1, n, yes = 0, rlen;

	if (relay_url == NULL || skp_relayurl_parse(relay_url,
	    strlen(relay_url), &u, NULL) != 0)
		return 0;
	/* Host and port as written in the relay URL. */
	a = relay_url + (u.tls ? 6 : 5);
	if ((e = strchr(a, '/')) == NULL)
		e = a + strlen(a);
	snprintf(auth, sizeof(auth), "%.*s", (int)(e - a), a);
	rlen = snprintf(req, sizeof(req), "HEAD / HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: sk-phone\r\nConnection: close\r\n\r\n", auth);
	if (rlen <= 0 || (size_t)rlen >= sizeof(req) ||
	    (fd = dial(&u, timeout_ms)) < 0)
		goto out;
	if (u.tls) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			goto out;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if ((ca_file != NULL && ca_file[0] != '\0' ?
		    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) :
		    SSL_CTX_set_default_verify_paths(ctx)) != 1 ||
		    (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
			goto out;
		if (inet_pton(AF_INET, u.host, ip) == 1 ||
		    inet_pton(AF_INET6, u.host, ip) == 1) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    u.host) != 1)
				goto out;
		} else if (SSL_set_tlsext_host_name(ssl, u.host) != 1 ||
		    SSL_set1_host(ssl, u.host) != 1)
			goto out;
		if (SSL_connect(ssl) != 1 ||
		    SSL_write(ssl, req, rlen) != rlen)
			goto out;
		while (have < sizeof(head) && !head_done(head, have) &&
		    (n = SSL_read(ssl, head + have, (int)(sizeof(head) -
		    have))) > 0)
			have += (size_t)n;
	} else {
		if (write(fd, req, (size_t)rlen) != rlen)
			goto out;
		while (have < sizeof(head) && !head_done(head, have) &&
		    (n = (int)read(fd, head + have, sizeof(head) - have)) > 0)
			have += (size_t)n;
	}
	yes = skp_webcheck_answer(head, have);
 out:
	if (ssl != NULL)
		SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return yes;
}
