/* Test client of sk-phone-relay on lib/relay_client.c, for relay_test.py. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

static struct skp_relay_opts opts;
static uint64_t t0;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void out(const char *, ...) __attribute__((format(printf, 1, 2)));

/* One line per event, with the time since start, for the driver. */
static void
out(const char *fmt, ...)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	pthread_mutex_lock(&mu);
	printf("%llu ", (unsigned long long)(now_ms() - t0));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&mu);
}

static const char *
errname(int rc)
{
	switch (rc) {
	case SKP_OK:		return "OK";
	case SKP_ERR_TIMEOUT:	return "TIMEOUT";
	case SKP_ERR_LIMIT:	return "LIMIT";
	case SKP_ERR_NETWORK:	return "NETWORK";
	case SKP_ERR_CLOSED:	return "CLOSED";
	case SKP_ERR_TLS:	return "TLS";
	case SKP_ERR_INVALID:	return "INVALID";
	case SKP_ERR_EXISTS:	return "EXISTS";
	case SKP_ERR_FORMAT:	return "FORMAT";
	case SKP_ERR_NOT_FOUND:	return "NOT_FOUND";
	case SKP_ERR_STATE:	return "STATE";
	case SKP_ERR_IO:	return "IO";
	default:		return "OTHER";
	}
}

static const char *
evname(int type)
{
	switch (type) {
	case SKP_RELAY_EV_LISTENING:	return "LISTENING";
	case SKP_RELAY_EV_INCOMING:	return "INCOMING";
	case SKP_RELAY_EV_ONLINE:	return "ONLINE";
	case SKP_RELAY_EV_OFFLINE:	return "OFFLINE";
	case SKP_RELAY_EV_WAITING:	return "WAITING";
	case SKP_RELAY_EV_PEER:		return "PEER";
	case SKP_RELAY_EV_MESSAGE:	return "MESSAGE";
	case SKP_RELAY_EV_END:		return "END";
	case SKP_RELAY_EV_CLOSED:	return "CLOSED";
	default:			return "NONE";
	}
}

static int
unhex32(const char *s, uint8_t out32[32])
{
	if (strlen(s) != 64 || skp_unhex(s, out32, 32) != SKP_OK) {
		fprintf(stderr, "want 64 hex digits: %s\n", s);
		return -1;
	}
	return 0;
}

static void
on_status(void *arg, uint32_t chan, int type)
{
	(void)arg;
	out("%s %u", evname(type), (unsigned int)chan);
}

/*
 * phone URL SECRET MODE N: listen; for each call, per MODE: echo (answer
 * "echo:" + message, hang up), hold (never answer), hangup (hang up at
 * once), echo-retry (echo, and when the connection ends reconnect the
 * same object with backoff). Exits after N calls (0: never) or when the
 * connection ends.
 */
static int
cmd_phone(char **av)
{
	struct skp_relay_event ev;
	uint8_t secret[32], id[32], *reply = NULL;
	struct skp_p256_key key;
	const char *mode = av[2];
	char hex[65];
	skp_relay_t *r = NULL;
	int rc, n = 0, want = atoi(av[3]), status = 1, backoff;

	if (unhex32(av[1], secret) != 0 ||
	    skp_p256_from_private(secret, &key) != SKP_OK)
		return 2;
	(void)skp_relay_mailbox_id(key.pub, id);
	skp_hex(id, 32, hex);
	out("MAILBOX %s", hex);
	if ((r = skp_relay_new(&opts)) == NULL)
		return 1;
	if ((rc = skp_relay_connect(r, av[0], 5000)) != SKP_OK ||
	    (rc = skp_relay_listen(r, &key, 5000)) != SKP_OK) {
		out("ERROR %s", errname(rc));
		goto out;
	}
	out("LISTENING");
	for (;;) {
		rc = skp_relay_service(r, 1000, &ev);
		if (rc == SKP_ERR_TIMEOUT)
			continue;
		if (rc != SKP_OK) {
			out("ERROR %s", errname(rc));
			goto out;
		}
		switch (ev.type) {
		case SKP_RELAY_EV_INCOMING:
			out("INCOMING %u", (unsigned int)ev.chan);
			if (strcmp(mode, "hangup") == 0) {
				(void)skp_relay_hangup(r, ev.chan);
				n++;
			}
			break;
		case SKP_RELAY_EV_MESSAGE:
			out("MESSAGE %u %.*s", (unsigned int)ev.chan,
			    (int)(ev.len > 200 ? 200 : ev.len), ev.msg);
			if (strncmp(mode, "echo", 4) != 0)
				break;
			if ((reply = malloc(ev.len + 5)) == NULL)
				goto out;
			memcpy(reply, "echo:", 5);
			memcpy(reply + 5, ev.msg, ev.len);
			rc = skp_relay_send(r, ev.chan, reply, ev.len + 5);
			free(reply);
			reply = NULL;
			if (rc == SKP_OK)
				rc = skp_relay_hangup(r, ev.chan);
			if (rc != SKP_OK)
				out("SENDERR %s", errname(rc));
			n++;
			break;
		case SKP_RELAY_EV_END:
			out("END %u %s %u", (unsigned int)ev.chan,
			    errname(ev.err), (unsigned int)ev.code);
			break;
		case SKP_RELAY_EV_CLOSED:
			out("CLOSED %s %u", errname(ev.err),
			    (unsigned int)ev.code);
			status = 3;
			if (strcmp(mode, "echo-retry") != 0)
				goto out;
			/* Same object, again, with backoff: as a phone does. */
			for (backoff = 100;; backoff = backoff < 1600 ?
			    backoff * 2 : 1600) {
				usleep((useconds_t)backoff * 1000);
				if ((rc = skp_relay_connect(r, av[0], 2000)) ==
				    SKP_OK && (rc = skp_relay_listen(r, &key,
				    2000)) == SKP_OK)
					break;
				out("RETRY %s", errname(rc));
			}
			out("RECONNECTED");
			mode = "echo";
			break;
		default:
			out("%s %u", evname(ev.type), (unsigned int)ev.chan);
			break;
		}
		if (want > 0 && n >= want) {
			status = 0;
			break;
		}
	}
 out:
	skp_relay_free(&r);
	skp_wipe(secret, sizeof(secret));
	skp_wipe(&key, sizeof(key));
	return status;
}

/*
 * call URL MAILBOX MESSAGE TIMEOUT_MS: one call, step by step, printing
 * each event; the first message back or the end stops it.
 */
static int
cmd_call(char **av)
{
	struct skp_relay_event ev;
	skp_relay_t *r = NULL;
	uint8_t mb[32];
	uint32_t chan;
	int rc, timeout = atoi(av[3]), status = 1, held = 0;

	if (unhex32(av[1], mb) != 0)
		return 2;
	if ((r = skp_relay_new(&opts)) == NULL)
		return 1;
	if ((rc = skp_relay_set_deadline(r, timeout)) != SKP_OK ||
	    (rc = skp_relay_connect(r, av[0], timeout)) != SKP_OK ||
	    (rc = skp_relay_call(r, mb, (uint32_t)timeout, &chan)) !=
	    SKP_OK ||
	    (rc = skp_relay_send(r, chan, av[2], strlen(av[2]))) != SKP_OK) {
		out("ERROR %s", errname(rc));
		goto out;
	}
	for (;;) {
		if ((rc = skp_relay_service(r, timeout, &ev)) != SKP_OK) {
			out("ERROR %s", errname(rc));
			goto out;
		}
		switch (ev.type) {
		case SKP_RELAY_EV_MESSAGE:
			out("REPLY %.*s", (int)ev.len, ev.msg);
			status = 0;
			goto out;
		case SKP_RELAY_EV_END:
		case SKP_RELAY_EV_CLOSED:
			out("%s %s %u", evname(ev.type), errname(ev.err),
			    (unsigned int)ev.code);
			goto out;
		default:
			out("%s %u", evname(ev.type), (unsigned int)ev.chan);
			/* A held call keeps nothing: send again. */
			if (ev.type == SKP_RELAY_EV_OFFLINE)
				held = 1;
			if (ev.type == SKP_RELAY_EV_ONLINE && held &&
			    (rc = skp_relay_send(r, chan, av[2],
			    strlen(av[2]))) != SKP_OK) {
				out("ERROR %s", errname(rc));
				goto out;
			}
			break;
		}
	}
 out:
	skp_relay_free(&r);
	return status;
}

/* exchange URL MAILBOX MESSAGE TIMEOUT_MS: skp_relay_exchange(). */
static int
cmd_exchange(char **av)
{
	uint8_t mb[32], *reply = NULL;
	size_t len = 0;
	int rc;

	if (unhex32(av[1], mb) != 0)
		return 2;
	opts.on_status = on_status;
	rc = skp_relay_exchange(av[0], &opts, mb, av[2], strlen(av[2]),
	    atoi(av[3]), &reply, &len);
	if (rc == SKP_OK)
		out("REPLY %.*s", (int)len, reply);
	else
		out("ERROR %s", errname(rc));
	free(reply);
	return rc == SKP_OK ? 0 : 1;
}

/* join URL ID MESSAGE TIMEOUT_MS: rendezvous, send, receive one. */
static int
cmd_join(char **av)
{
	skp_relay_t *r = NULL;
	uint8_t id[32], *msg = NULL;
	size_t len = 0;
	uint32_t chan;
	int rc, timeout = atoi(av[3]);

	if (unhex32(av[1], id) != 0)
		return 2;
	opts.on_status = on_status;
	if ((r = skp_relay_new(&opts)) == NULL)
		return 1;
	if ((rc = skp_relay_set_deadline(r, timeout)) != SKP_OK ||
	    (rc = skp_relay_connect(r, av[0], timeout)) != SKP_OK ||
	    (rc = skp_relay_join(r, id, (uint32_t)timeout, &chan)) !=
	    SKP_OK ||
	    (rc = skp_relay_send(r, chan, av[2], strlen(av[2]))) != SKP_OK ||
	    (rc = skp_relay_wait(r, chan, timeout)) != SKP_OK ||
	    (rc = skp_relay_recv(r, chan, timeout, &msg, &len)) != SKP_OK)
		out("ERROR %s", errname(rc));
	else
		out("GOT %.*s", (int)len, msg);
	free(msg);
	/* Stay a moment so the peer's reads are not cut by our close. */
	if (rc == SKP_OK)
		(void)skp_relay_hangup(r, chan);
	skp_relay_free(&r);
	return rc == SKP_OK ? 0 : 1;
}

/* connect URL: connect and stay HOLD_MS, reporting how it ends. */
static int
cmd_connect(char **av)
{
	struct skp_relay_event ev;
	skp_relay_t *r = NULL;
	uint64_t until;
	int rc;

	if ((r = skp_relay_new(&opts)) == NULL)
		return 1;
	if ((rc = skp_relay_connect(r, av[0], 3000)) != SKP_OK) {
		out("ERROR %s", errname(rc));
		skp_relay_free(&r);
		return 1;
	}
	out("CONNECTED fd=%d", skp_relay_fd(r));
	until = now_ms() + (uint64_t)atoi(av[1]);
	while (now_ms() < until) {
		rc = skp_relay_service(r, (int)(until - now_ms()) + 1, &ev);
		if (rc == SKP_OK && ev.type == SKP_RELAY_EV_CLOSED) {
			out("CLOSED %s %u", errname(ev.err),
			    (unsigned int)ev.code);
			skp_relay_free(&r);
			return 3;
		}
	}
	out("STILL");
	skp_relay_free(&r);
	return 0;
}

struct worker {
	const char	*url;
	uint8_t		 mb[32];
	int		 id;
	int		 rounds;
	int		 timeout;
	int		 ok;
	int		 bad;
	int		 err;
};

/* Each worker's replies must be its own messages echoed, none other. */
static void *
work(void *arg)
{
	struct worker *w = arg;
	char msg[64], want[80];
	uint8_t *reply;
	size_t len;
	int i, rc;

	for (i = 0; i < w->rounds; i++) {
		snprintf(msg, sizeof(msg), "w%d-r%d-%08x", w->id, i,
		    (unsigned int)rand());
		snprintf(want, sizeof(want), "echo:%s", msg);
		reply = NULL;
		rc = skp_relay_exchange(w->url, &opts, w->mb, msg, strlen(msg),
		    w->timeout, &reply, &len);
		if (rc != SKP_OK) {
			w->err++;
			out("WORKERR %d %s", w->id, errname(rc));
		} else if (len != strlen(want) ||
		    memcmp(reply, want, len) != 0) {
			w->bad++;
			out("MISMATCH %d want %s got %.*s", w->id, want,
			    (int)len, reply);
		} else
			w->ok++;
		free(reply);
	}
	return NULL;
}

/* multi URL MAILBOX THREADS ROUNDS TIMEOUT_MS */
static int
cmd_multi(char **av)
{
	int i, n = atoi(av[2]), ok = 0, bad = 0, err = 0;
	struct worker *w;
	pthread_t *th;

	if (n <= 0 || n > 256)
		return 2;
	w = calloc((size_t)n, sizeof(*w));
	th = calloc((size_t)n, sizeof(*th));
	if (w == NULL || th == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		w[i].url = av[0];
		if (unhex32(av[1], w[i].mb) != 0)
			return 2;
		w[i].id = i;
		w[i].rounds = atoi(av[3]);
		w[i].timeout = atoi(av[4]);
		if (pthread_create(&th[i], NULL, work, &w[i]) != 0)
			return 1;
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
		bad += w[i].bad;
		err += w[i].err;
	}
	out("MULTI ok=%d bad=%d err=%d", ok, bad, err);
	free(w);
	free(th);
	return bad == 0 && err == 0 ? 0 : 1;
}

/*
 * sigcheck URL: the library must leave SIGPIPE's disposition and the
 * signal mask as it found them, and never print to stdout.
 */
static int
cmd_sigcheck(char **av)
{
	struct sigaction before, after;
	sigset_t mb, ma;
	skp_relay_t *r;
	int rc;

	memset(&before, 0, sizeof(before));
	sigaction(SIGPIPE, NULL, &before);
	pthread_sigmask(SIG_SETMASK, NULL, &mb);
	if ((r = skp_relay_new(&opts)) == NULL)
		return 1;
	rc = skp_relay_connect(r, av[0], 3000);
	skp_relay_free(&r);
	memset(&after, 0, sizeof(after));
	sigaction(SIGPIPE, NULL, &after);
	pthread_sigmask(SIG_SETMASK, NULL, &ma);
	if (before.sa_handler != after.sa_handler ||
	    sigismember(&mb, SIGPIPE) != sigismember(&ma, SIGPIPE)) {
		out("SIGNALS CHANGED");
		return 1;
	}
	out("SIGNALS KEPT %s", errname(rc));
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		 nargs;
		int		 (*fn)(char **);
	} cmds[] = {
		{ "phone",	4, cmd_phone },
		{ "call",	4, cmd_call },
		{ "exchange",	4, cmd_exchange },
		{ "join",	4, cmd_join },
		{ "connect",	2, cmd_connect },
		{ "multi",	5, cmd_multi },
		{ "sigcheck",	1, cmd_sigcheck },
	};
	size_t i;

	t0 = now_ms();
	srand((unsigned int)(t0 ^ (uint64_t)getpid()));
	memset(&opts, 0, sizeof(opts));
	opts.ca_file = getenv("RELAY_TOOL_CA");
	if (getenv("RELAY_TOOL_KEEPALIVE") != NULL)
		opts.keepalive_s = atoi(getenv("RELAY_TOOL_KEEPALIVE"));
	if (argc < 2)
		goto usage;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0 &&
		    argc == cmds[i].nargs + 2)
			return cmds[i].fn(argv + 2);
 usage:
	fprintf(stderr, "usage: relay_tool phone URL SECRET echo|hold|hangup N"
	    "\n       relay_tool call|exchange|join URL ID MESSAGE TIMEOUT_MS"
	    "\n       relay_tool connect URL HOLD_MS"
	    "\n       relay_tool multi URL MAILBOX THREADS ROUNDS TIMEOUT_MS"
	    "\n       relay_tool sigcheck URL\n");
	return 2;
}
