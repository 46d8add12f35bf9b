/* sk-phone-relay: command line, logging, signals and the lws event loop. */
/*
 * libwebsockets.h names OpenSSL types that OPENSSL_NO_DEPRECATED hides
 * (RSA); this file calls no OpenSSL function itself.
 */
#undef OPENSSL_NO_DEPRECATED

#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509err.h>
#if defined(SKP_RELAY_LIBEV)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <ev.h>
#pragma GCC diagnostic pop
#endif

#include "skp-config.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#include "relayd.h"

#define DEFAULT_LISTEN		"127.0.0.1:8765"
#define SHUTDOWN_GRACE_MS	3000
#define REFUSALS_PER_SEC	20
#define FD_RESERVE		64

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t got_hup;
static struct lws_context *context;
static int verbose;
#if defined(SKP_RELAY_LIBEV)
static struct ev_loop *evloop;
#endif

static void vlogf(const char *, va_list) __attribute__((format(printf, 1, 0)));

static void
vlogf(const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "sk-phone-relay: %s\n", line);
}

void
relayd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogf(fmt, ap);
	va_end(ap);
}

void
relayd_vlog(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vlogf(fmt, ap);
	va_end(ap);
}

/* Refusals are logged, but a flood of them must not flood the log. */
void
relayd_refusal(const char *fmt, ...)
{
	static time_t second;
	static unsigned int count, dropped;
	time_t now = time(NULL);
	va_list ap;

	if (now != second) {
		if (dropped > 0)
			relayd_log("%u more refusals not logged", dropped);
		second = now;
		count = 0;
		dropped = 0;
	}
	if (++count > REFUSALS_PER_SEC) {
		dropped++;
		return;
	}
	va_start(ap, fmt);
	vlogf(fmt, ap);
	va_end(ap);
}

static void
lws_emit(int level, const char *line)
{
	(void)level;
	fprintf(stderr, "sk-phone-relay: lws: %s", line);
}

static void
on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
	if (context != NULL)
		lws_cancel_service(context);
}

static void
on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
	if (context != NULL)
		lws_cancel_service(context);
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: sk-phone-relay [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n"
"                      [--web DIR | --no-web] [--max-frame BYTES]\n"
"                      [--max-conns N] [-v]\n"
"\n"
"The meeting point of sk-phone computers and phones. It forwards\n"
"end-to-end encrypted frames and sees only mailbox ids, sizes and timing.\n"
"\n"
"  --listen HOST:PORT         address to listen on (default %s;\n"
"                             port 0 picks a free one)\n"
"  --tls-cert FILE            certificate chain (PEM) for wss\n"
"  --tls-key FILE             its private key (PEM)\n"
"  --web DIR                  serve the web phone from DIR at / on the\n"
"                             same address (default %s,\n"
"                             if it exists)\n"
"  --no-web                   serve no web phone: only websockets\n"
"  --max-frame BYTES          largest frame, header included (65536)\n"
"  --max-conns N              connections in all (100000, or the fd limit)\n"
"  --max-per-addr N           connections per source address or IPv6 /64\n"
"                             (128)\n"
"  --max-calls N              open calls per mailbox (32)\n"
"  --max-pending N            held calls and waiting rendezvous in all\n"
"                             (10000)\n"
"  --max-channels N           open channels per caller connection (16)\n"
"  --max-hold SECS            cap on a call's timeout (300)\n"
"  --max-held-bytes BYTES     data kept for calls not yet delivered,\n"
"                             in all (67108864)\n"
"  --max-queued BYTES         data queued to one connection that does\n"
"                             not read; past it, closed (1048576)\n"
"  --max-queued-total BYTES   data queued to all connections; past it,\n"
"                             calls end (268435456)\n"
"  --handshake-timeout SECS   to finish the websocket handshake (10)\n"
"  --idle-timeout SECS        close a connection that does nothing (60)\n"
"  --ping-interval SECS       ping a silent connection; no pong in as\n"
"                             long again closes it (30)\n"
"  --push-dir DIR             turn Web Push on: keep its VAPID key and\n"
"                             the phones' subscriptions in DIR (made,\n"
"                             0700, if missing)\n"
"  --push-allow ORIGIN        another push service the phones may use\n"
"                             (https://host[:port] or https://*.suffix;\n"
"                             repeatable)\n"
"  --push-contact URI         mailto: or https: address for the push\n"
"                             services (VAPID sub)\n"
"  --push-queue N             pushes waiting or being sent (1000)\n"
"  --push-ca FILE             trust only these CA certificates (PEM) for\n"
"                             push services, not the system's\n"
"  --cluster redis://[:PASSWORD@]HOST:PORT[/DB]\n"
"                             one node of a cluster: the nodes share this\n"
"                             Redis (needs the libev loop; no TLS)\n"
"  --node NAME                this node's name in the cluster (unique)\n"
"  --event-loop libev|poll    libev (epoll), the default where built\n"
"                             in, or poll(2): poll costs time per\n"
"                             connection on every wakeup, libev only\n"
"                             per active one\n"
"  -v, --verbose              log every connection, not only refusals\n"
"  -h, --help                 this text\n"
"  -V, --version              the version\n",
	    DEFAULT_LISTEN, SKP_WEB_DIR);
}

static int
parse_u32(const char *name, const char *s, uint32_t min, uint32_t max,
    uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		fprintf(stderr, "sk-phone-relay: %s: want a number from %u "
		    "to %u, not \"%s\"\n", name, (unsigned int)min,
		    (unsigned int)max, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* HOST:PORT or [V6]:PORT. */
static int
parse_listen(struct relayd_conf *c, const char *s)
{
	const char *h, *he, *p;
	uint32_t port;
	size_t n;

	if (s[0] == '[') {
		h = s + 1;
		if ((he = strchr(h, ']')) == NULL || he[1] != ':')
			goto bad;
		p = he + 2;
	} else {
		h = s;
		if ((he = strrchr(s, ':')) == NULL)
			goto bad;
		p = he + 1;
	}
	n = (size_t)(he - h);
	if (n == 0 || n >= sizeof(c->host))
		goto bad;
	memcpy(c->host, h, n);
	c->host[n] = '\0';
	if (parse_u32("--listen port", p, 0, 65535, &port) != 0)
		return -1;
	c->port = (int)port;
	return 0;
 bad:
	fprintf(stderr, "sk-phone-relay: --listen: want HOST:PORT, not "
	    "\"%s\"\n", s);
	return -1;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

static int
is_ipv4(const char *h)
{
	return strspn(h, "0123456789.") == strlen(h);
}

static int
is_loopback(const char *h)
{
	return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 ||
	    strcmp(h, "localhost") == 0;
}

/* As many descriptors as the hard limit allows; returns the limit. */
static rlim_t
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

enum {
	O_LISTEN = 256, O_CERT, O_KEY, O_FRAME, O_CONNS, O_PER_ADDR,
	O_CALLS, O_PENDING, O_CHANS, O_HOLD, O_HANDSHAKE, O_IDLE, O_PING,
	O_LOOP, O_HELD, O_QUEUED, O_QUEUED_TOTAL, O_WEB, O_NO_WEB,
	O_PUSH_DIR, O_PUSH_ALLOW, O_PUSH_CONTACT, O_PUSH_QUEUE, O_PUSH_CA,
	O_CLUSTER, O_NODE,
};

static const struct option longopts[] = {
	{ "listen",		required_argument, NULL, O_LISTEN },
	{ "tls-cert",		required_argument, NULL, O_CERT },
	{ "tls-key",		required_argument, NULL, O_KEY },
	{ "max-frame",		required_argument, NULL, O_FRAME },
	{ "max-conns",		required_argument, NULL, O_CONNS },
	{ "max-per-addr",	required_argument, NULL, O_PER_ADDR },
	{ "max-calls",		required_argument, NULL, O_CALLS },
	{ "max-pending",	required_argument, NULL, O_PENDING },
	{ "max-channels",	required_argument, NULL, O_CHANS },
	{ "max-hold",		required_argument, NULL, O_HOLD },
	{ "handshake-timeout",	required_argument, NULL, O_HANDSHAKE },
	{ "idle-timeout",	required_argument, NULL, O_IDLE },
	{ "ping-interval",	required_argument, NULL, O_PING },
	{ "event-loop",		required_argument, NULL, O_LOOP },
	{ "max-held-bytes",	required_argument, NULL, O_HELD },
	{ "max-queued",		required_argument, NULL, O_QUEUED },
	{ "max-queued-total",	required_argument, NULL, O_QUEUED_TOTAL },
	{ "web",		required_argument, NULL, O_WEB },
	{ "no-web",		no_argument,	   NULL, O_NO_WEB },
	{ "push-dir",		required_argument, NULL, O_PUSH_DIR },
	{ "push-allow",		required_argument, NULL, O_PUSH_ALLOW },
	{ "push-contact",	required_argument, NULL, O_PUSH_CONTACT },
	{ "push-queue",		required_argument, NULL, O_PUSH_QUEUE },
	{ "push-ca",		required_argument, NULL, O_PUSH_CA },
	{ "cluster",		required_argument, NULL, O_CLUSTER },
	{ "node",		required_argument, NULL, O_NODE },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL,			0,		   NULL, 0 },
};

/*
 * --cluster's URL, copied; the password in argv is overwritten with
 * '*' so that ps(1) does not show it.
 */
static const char *
cluster_url(char *arg)
{
	char *copy, *at, *p;

	if ((copy = strdup(arg)) == NULL)
		return NULL;
	if (strncmp(arg, "redis://:", 9) == 0 &&
	    (at = strrchr(arg, '@')) != NULL)
		for (p = arg + 9; p < at; p++)
			*p = '*';
	return copy;
}

/* epoll through libev holds thousands of idle phones at no cost per wakeup. */
#if defined(SKP_RELAY_LIBEV)
static int use_libev = 1;
#else
static int use_libev;
#endif

static int
parse_args(int argc, char **argv, struct relayd_conf *c, int *conns_set)
{
	uint32_t u;
	int ch, rc = 0, web_set = 0, no_web = 0;

	while (rc == 0 &&
	    (ch = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case O_LISTEN:
			c->listen = optarg;
			rc = parse_listen(c, optarg);
			break;
		case O_CERT:
			c->tls_cert = optarg;
			break;
		case O_KEY:
			c->tls_key = optarg;
			break;
		case O_FRAME:
			rc = parse_u32("--max-frame", optarg,
			    SKP_RELAY_HDR_LEN + 64, 16 * 1024 * 1024,
			    &c->max_frame);
			break;
		case O_CONNS:
			rc = parse_u32("--max-conns", optarg, 1, 10000000,
			    &c->max_conns);
			*conns_set = 1;
			break;
		case O_PER_ADDR:
			rc = parse_u32("--max-per-addr", optarg, 1, 10000000,
			    &c->max_per_addr);
			break;
		case O_CALLS:
			rc = parse_u32("--max-calls", optarg, 1, 65535,
			    &c->max_calls);
			break;
		case O_PENDING:
			rc = parse_u32("--max-pending", optarg, 0, 10000000,
			    &c->max_pending);
			break;
		case O_CHANS:
			rc = parse_u32("--max-channels", optarg, 1, 65535,
			    &c->max_chans);
			break;
		case O_HOLD:
			rc = parse_u32("--max-hold", optarg, 1, 86400,
			    &c->max_hold_s);
			break;
		case O_HELD:
			rc = parse_u32("--max-held-bytes", optarg, 0,
			    UINT32_MAX, &u);
			c->max_held_bytes = u;
			break;
		case O_QUEUED:
			rc = parse_u32("--max-queued", optarg, 65536,
			    UINT32_MAX, &c->max_queued);
			break;
		case O_QUEUED_TOTAL:
			rc = parse_u32("--max-queued-total", optarg, 65536,
			    UINT32_MAX, &u);
			c->max_queued_total = u;
			break;
		case O_HANDSHAKE:
			rc = parse_u32("--handshake-timeout", optarg, 1, 3600,
			    &c->handshake_s);
			break;
		case O_IDLE:
			rc = parse_u32("--idle-timeout", optarg, 1, 86400,
			    &c->idle_s);
			break;
		case O_PING:
			rc = parse_u32("--ping-interval", optarg, 1, 3600,
			    &c->ping_s);
			break;
		case O_LOOP:
			if (strcmp(optarg, "poll") == 0)
				use_libev = 0;
			else if (strcmp(optarg, "libev") == 0) {
#if defined(SKP_RELAY_LIBEV)
				use_libev = 1;
#else
				fprintf(stderr, "sk-phone-relay: built "
				    "without libev\n");
				rc = -1;
#endif
			} else {
				fprintf(stderr, "sk-phone-relay: "
				    "--event-loop: poll or libev\n");
				rc = -1;
			}
			break;
		case O_WEB:
			if (optarg[0] == '\0') {
				fprintf(stderr, "sk-phone-relay: --web: want "
				    "a folder\n");
				rc = -1;
			}
			c->web_dir = optarg;
			c->web_default = 0;
			web_set = 1;
			break;
		case O_NO_WEB:
			c->web_dir = NULL;
			c->web_default = 0;
			no_web = 1;
			break;
		case O_PUSH_DIR:
			if (optarg[0] == '\0') {
				fprintf(stderr, "sk-phone-relay: --push-dir: "
				    "want a folder\n");
				rc = -1;
			}
			c->push_dir = optarg;
			break;
		case O_PUSH_ALLOW:
			/* argv outlives the relay; room for every argument */
			if (c->push_allow == NULL && (c->push_allow =
			    calloc((size_t)argc, sizeof(char *))) == NULL) {
				fprintf(stderr, "sk-phone-relay: out of "
				    "memory\n");
				rc = -1;
				break;
			}
			c->push_allow[c->npush_allow++] = optarg;
			break;
		case O_PUSH_CONTACT:
			if ((strncmp(optarg, "mailto:", 7) != 0 ||
			    optarg[7] == '\0') &&
			    (strncmp(optarg, "https://", 8) != 0 ||
			    optarg[8] == '\0')) {
				fprintf(stderr, "sk-phone-relay: "
				    "--push-contact: want a mailto: or https: "
				    "URI, not \"%s\"\n", optarg);
				rc = -1;
			} else if (strlen(optarg) > 100 ||
			    strpbrk(optarg, "\"\\ ") != NULL ||
			    !printable(optarg)) {
				fprintf(stderr, "sk-phone-relay: "
				    "--push-contact: at most 100 printable "
				    "characters, no space, quote or "
				    "backslash\n");
				rc = -1;
			}
			c->push_contact = optarg;
			break;
		case O_PUSH_QUEUE:
			rc = parse_u32("--push-queue", optarg, 1, 1000000,
			    &c->push_queue);
			break;
		case O_PUSH_CA:
			c->push_ca = optarg;
			break;
		case O_CLUSTER:
			free((void *)(uintptr_t)c->cluster);
			if ((c->cluster = cluster_url(optarg)) == NULL) {
				fprintf(stderr, "sk-phone-relay: out of "
				    "memory\n");
				rc = -1;
			}
			break;
		case O_NODE:
			c->node = optarg;
			break;
		case 'v':
			c->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("sk-phone-relay %s\n", SKP_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (rc != 0)
		return -1;
	if (optind != argc) {
		fprintf(stderr, "sk-phone-relay: unexpected argument \"%s\"\n",
		    argv[optind]);
		return -1;
	}
	if (web_set && no_web) {
		fprintf(stderr, "sk-phone-relay: --web and --no-web: give "
		    "one\n");
		return -1;
	}
	if (c->push_dir == NULL && (c->npush_allow > 0 ||
	    c->push_contact != NULL || c->push_ca != NULL)) {
		fprintf(stderr, "sk-phone-relay: --push-allow, --push-contact "
		    "and --push-ca need --push-dir\n");
		return -1;
	}
	if (c->cluster == NULL && c->node != NULL) {
		fprintf(stderr, "sk-phone-relay: --node goes with --cluster\n");
		return -1;
	}
	if (c->cluster != NULL && !use_libev) {
		fprintf(stderr, "sk-phone-relay: --cluster needs --event-loop "
		    "libev\n");
		return -1;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		fprintf(stderr, "sk-phone-relay: --tls-cert and --tls-key go "
		    "together\n");
		return -1;
	}
	return 0;
}

/*
 * Load the certificate and key once ourselves before libwebsockets does:
 * the operator gets the file and the reason, and lws, which leaks when its
 * vhost fails, only ever sees material that loads.
 */
static int
check_tls_files(const char *cert, const char *key)
{
	SSL_CTX *ctx = NULL;
	char why[256];
	const char *what = NULL, *file = NULL;
	unsigned long e;
	int rc = -1;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		fprintf(stderr, "sk-phone-relay: cannot initialise TLS\n");
		goto out;
	}
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		what = "cannot load the certificate (PEM) from";
		file = cert;
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key,
	    SSL_FILETYPE_PEM) != 1) {
		e = ERR_peek_last_error();
		what = ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ?
		    "the key does not match the certificate:" :
		    "cannot load the private key (PEM) from";
		file = key;
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		what = "the key does not match the certificate:";
		file = key;
	}
	if (what != NULL) {
		e = ERR_peek_last_error();
		ERR_error_string_n(e, why, sizeof(why));
		fprintf(stderr, "sk-phone-relay: %s %s (%s)\n", what, file,
		    e != 0 ? why : "unknown reason");
		ERR_clear_error();
		goto out;
	}
	rc = 0;
out:
	SSL_CTX_free(ctx);
	return rc;
}

/*
 * SIGHUP: load the certificate and key again from the same files (renewed
 * in place). Connections already open keep the certificate they were made
 * with; only new handshakes see the new one. Files that do not load (or
 * do not match) are refused whole, and the relay keeps the certificate it
 * has.
 */
static void
reload_tls(const struct relayd_conf *c)
{
	if (c->tls_cert == NULL) {
		relayd_log("SIGHUP: no certificate to reload (no --tls-cert)");
		return;
	}
	if (check_tls_files(c->tls_cert, c->tls_key) != 0) {
		relayd_log("SIGHUP: kept the certificate in use; fix the files "
		    "and send SIGHUP again");
		return;
	}
	(void)lws_tls_cert_updated(context, c->tls_cert, c->tls_key, NULL, 0,
	    NULL, 0);
	relayd_log("SIGHUP: reloaded the certificate %s for new connections",
	    c->tls_cert);
}

/* One round of the event loop: until something happened or a tick. */
static void
service_once(void)
{
#if defined(SKP_RELAY_LIBEV)
	if (evloop != NULL) {
		ev_run(evloop, EVRUN_ONCE);
		return;
	}
#endif
	lws_service(context, 0);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	static const lws_retry_bo_t no_validity = { 0 };
	struct lws_context_creation_info info;
	struct relayd_conf c;
	struct sigaction sa;
	struct lws_vhost *vh;
	uint64_t until;
	rlim_t nofile;
	int conns_set = 0, port;
#if defined(SKP_RELAY_LIBEV)
	void *loops[1];
#endif

	memset(&c, 0, sizeof(c));
	c.listen = DEFAULT_LISTEN;
	(void)parse_listen(&c, DEFAULT_LISTEN);
	c.max_frame = SKP_RELAY_MAX_FRAME;
	c.max_conns = 100000;
	c.max_per_addr = 128;
	c.max_calls = 32;
	c.max_pending = 10000;
	c.max_chans = 16;
	c.max_hold_s = 300;
	c.max_held_bytes = 64 * 1024 * 1024;
	c.max_queued = 1024 * 1024;
	c.max_queued_total = 256 * 1024 * 1024;
	c.handshake_s = 10;
	c.idle_s = 60;
	c.ping_s = 30;
	c.web_dir = SKP_WEB_DIR;
	c.web_default = 1;
	c.push_queue = 1000;
	if (parse_args(argc, argv, &c, &conns_set) != 0) {
		free(c.push_allow);
		return 2;
	}
	verbose = c.verbose;
	if (c.tls_cert != NULL && check_tls_files(c.tls_cert, c.tls_key) != 0)
		return 1;

	nofile = raise_nofile();
	if (nofile < FD_RESERVE * 2) {
		fprintf(stderr, "sk-phone-relay: only %lu file descriptors\n",
		    (unsigned long)nofile);
		return 1;
	}
	if ((rlim_t)c.max_conns + FD_RESERVE > nofile) {
		if (conns_set)
			relayd_log("warning: --max-conns %u is over the file "
			    "descriptor limit; using %lu", (unsigned int)
			    c.max_conns, (unsigned long)(nofile - FD_RESERVE));
		c.max_conns = (uint32_t)(nofile - FD_RESERVE);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0) {
		perror("sk-phone-relay: sigaction");
		return 1;
	}
	sa.sa_handler = on_hup;
	if (sigaction(SIGHUP, &sa, NULL) != 0) {
		perror("sk-phone-relay: sigaction");
		return 1;
	}
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	if (relayd_init(&c) != SKP_OK) {
		relayd_log("cannot initialise");
		return 1;
	}
	if (relayd_web_init(&c) != 0) {
		relayd_fini();
		return 1;
	}
	if (c.push_ca != NULL && access(c.push_ca, R_OK) != 0) {
		relayd_log("--push-ca: cannot read %s: %s", c.push_ca,
		    strerror(errno));
		relayd_web_fini();
		relayd_fini();
		return 1;
	}
	if (relayd_push_init(&c) != 0) {
		relayd_web_fini();
		relayd_fini();
		return 1;
	}
	lws_set_log_level(verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE :
	    LLL_ERR | LLL_WARN, lws_emit);

	memset(&info, 0, sizeof(info));
	info.vhost_name = "sk-phone-relay";
	info.port = c.port;
	if (strcmp(c.host, "0.0.0.0") == 0 || strcmp(c.host, "::") == 0 ||
	    strcmp(c.host, "*") == 0)
		info.iface = NULL;
	else
		info.iface = c.host;
	if (is_ipv4(c.host))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.protocols = relayd_protocols;
	info.uid = -1;
	info.gid = -1;
	/*
	 * No fd_limit_per_thread: given one, lws finds a connection by a
	 * linear search of its table on every event. Without, it indexes a
	 * table sized for the descriptor limit (untouched pages cost no RAM).
	 */
	info.timeout_secs = c.handshake_s;
	/* Once headers start, lws gives them this long again, at most. */
	info.timeout_secs_ah_idle = c.handshake_s;
	/* An HTTP connection between two requests is idle. */
	info.keepalive_timeout = (int)c.idle_s;
	info.max_http_header_pool = 256;
	info.max_http_header_data = 2048;
	info.pt_serv_buf_size = 16384;
	/* Our own pings on our own timer wheel: none in lws's sorted list. */
	info.retry_and_idle_policy = &no_validity;
	if (c.tls_cert != NULL) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = c.tls_cert;
		info.ssl_private_key_filepath = c.tls_key;
	}
#if defined(SKP_RELAY_LIBEV)
	/*
	 * Our own libev loop, given to lws's libev plugin: we run it one
	 * round at a time like lws_service(), and keep our signal handlers.
	 */
	if (use_libev) {
		if ((evloop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) ==
		    NULL) {
			relayd_log("cannot create the libev loop");
			relayd_push_fini();
			relayd_web_fini();
			relayd_fini();
			return 1;
		}
		loops[0] = evloop;
		info.foreign_loops = loops;
		info.options |= LWS_SERVER_OPTION_LIBEV;
	}
#endif
	if ((context = lws_create_context(&info)) == NULL) {
		relayd_log("cannot listen on %s (address in use, or a bad "
		    "certificate or key?)", c.listen);
		relayd_push_fini();
		relayd_web_fini();
		relayd_fini();
		return 1;
	}
	vh = lws_get_vhost_by_name(context, "sk-phone-relay");
	port = vh != NULL ? lws_get_vhost_listen_port(vh) : -1;
	if (port <= 0) {
		relayd_log("cannot listen on %s", c.listen);
		lws_context_destroy(context);
		relayd_push_fini();
		relayd_web_fini();
		relayd_fini();
		return 1;
	}
	relayd_set_context(context);
#if defined(SKP_RELAY_LIBEV)
	if (relayd_cluster_init(&c, evloop) != 0) {
#else
	if (relayd_cluster_init(&c, NULL) != 0) {
#endif
		lws_context_destroy(context);
		relayd_push_fini();
		relayd_web_fini();
		relayd_fini();
		return 1;
	}
	if (relayd_push_start(context) != 0) {
		lws_context_destroy(context);
		relayd_push_fini();
		relayd_web_fini();
		relayd_fini();
		return 1;
	}
	relayd_start_ticks();
	relayd_log("listening on %s://%s%s%s:%d (max %u connections, frames "
	    "up to %u bytes, %s loop)", c.tls_cert != NULL ? "wss" : "ws",
	    strchr(c.host, ':') != NULL ? "[" : "", c.host,
	    strchr(c.host, ':') != NULL ? "]" : "", port,
	    (unsigned int)c.max_conns, (unsigned int)c.max_frame,
	    use_libev ? "libev" : "poll");
	if (c.tls_cert == NULL && !is_loopback(c.host))
		relayd_log("warning: listening on a non-loopback address "
		    "without TLS: content stays end-to-end encrypted, but "
		    "mailbox ids and timing are visible on the network; use "
		    "--tls-cert and --tls-key");
	if (relayd_web_on())
		relayd_log("web phone: %s at %s://%s%s%s:%d/", c.web_dir,
		    c.tls_cert != NULL ? "https" : "http",
		    strchr(c.host, ':') != NULL ? "[" : "", c.host,
		    strchr(c.host, ':') != NULL ? "]" : "", port);
	if (relayd_web_on() && c.tls_cert == NULL && !is_loopback(c.host))
		relayd_log("warning: the web phone over plain http on a "
		    "non-loopback address: browsers refuse WebCrypto there "
		    "(it needs a secure context), so it cannot pair or sign; "
		    "use --tls-cert and --tls-key, or --no-web");

	while (!got_signal) {
		service_once();
		if (got_hup) {
			got_hup = 0;
			reload_tls(&c);
		}
	}

	relayd_log("stopping: closing every connection");
	relayd_shutdown();
	relayd_push_stop();
	until = now_ms() + SHUTDOWN_GRACE_MS;
	while (!relayd_idle() && now_ms() < until)
		service_once();
	/* The push thread wakes the loop: it stops before the loop goes. */
	relayd_push_fini();
	relayd_cluster_fini();
	lws_context_destroy(context);
	context = NULL;
#if defined(SKP_RELAY_LIBEV)
	if (evloop != NULL) {
		ev_loop_destroy(evloop);
		evloop = NULL;
	}
#endif
	relayd_web_fini();
	relayd_fini();
	free(c.push_allow);
	free((void *)(uintptr_t)c.cluster);
	relayd_log("stopped");
	return 0;
}
