/* Load generator for sk-phone-relay: idle phones, calls/s, round trips. */
/*
 * It starts the relay itself (pinned to one CPU, the bench on another),
 * then:
 *  1. opens N idle phone connections (websocket + LISTEN) and reads the
 *     relay's RSS before and after: RSS per idle phone;
 *  2. runs M callers in a closed loop against P echoing phones: calls
 *     per second on the relay's one core, round-trip percentiles;
 *  3. runs calls at a fixed rate (default 1,000/s): round-trip
 *     percentiles at that load;
 *  4. optionally, one new connection per call, as the provider does.
 * With --cluster REDIS_SERVER it starts a redis-server and two relay
 * nodes of one cluster (docs/PROTOCOL.md §7.12) instead: the phones on
 * node a, the callers on node b, so that every call crosses nodes; the
 * figures then add node b's CPU to the relay's and say Redis's.
 * A call is: CALL and DATA (sent together, as the client library does),
 * ONLINE, the phone's INCOMING and DATA, its DATA back (the round trip
 * ends here), HANGUP from the phone, END to the caller.
 *
 * The clients are written here on raw sockets and epoll so that the
 * bench is not the bottleneck. It prints figures; it never fails on
 * time. Everything is on 127.0.0.x.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#define MAX_EVENTS	256
#define CONNECT_WINDOW	256	/* handshakes in flight at once */
#define NS		((uint64_t)1000000000)

enum role { R_IDLE = 1, R_PHONE, R_CALLER, R_ONESHOT };
enum st { S_CONNECTING = 1, S_UPGRADING, S_OPEN, S_DEAD };

struct conn {
	int		 fd;
	uint8_t		 role;
	uint8_t		 st;
	uint8_t		 want_out;
	uint8_t		 in_call;	/* caller: a call is under way */
	uint8_t		 got_reply;
	uint8_t		 got_end;
	uint32_t	 chan;		/* caller: current channel */
	uint32_t	 phone;		/* caller: index of its phone */
	uint32_t	 kid;		/* listener: its mailbox key's number */
	uint64_t	 t_start;	/* caller: ns when CALL was sent */
	uint8_t		*in;
	size_t		 inlen, incap;
	uint8_t		*out;
	size_t		 outlen, outoff, outcap;
};

static struct {
	const char	*relay_bin;
	const char	*redis_bin;	/* --cluster */
	pid_t		 pid2;		/* node b: the callers' */
	pid_t		 redis_pid;
	int		 port2;
	int		 redis_port;
	unsigned long long rticks_prev, rticks_now;
	int		 idle;
	int		 phones;
	int		 callers;
	int		 seconds;
	int		 rate;
	int		 sources;
	int		 size;
	int		 oneshot;
	const char	*loop;
	pid_t		 pid;
	int		 port;
	int		 ep;
	uint8_t		 (*mbox)[32];	/* the echo phones' mailbox ids */
	struct conn	**phone_conns;
	uint64_t	*rtt;		/* ns */
	size_t		 nrtt, caprtt;
	uint64_t	 calls_done;
	uint64_t	 errors;
	int		 idle_open;
	int		 phones_open;
	int		 next_src;
	int		 measuring;
	int		 fixed_rate;
	uint64_t	 next_due;	/* ns; fixed rate */
	uint64_t	 period;
	uint64_t	 backlog;	/* calls due but no caller free */
	uint8_t		*payload;
	uint32_t	 keyseq;
} B;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	perror(what);
	if (B.pid > 0)
		kill(B.pid, SIGKILL);
	if (B.pid2 > 0)
		kill(B.pid2, SIGKILL);
	if (B.redis_pid > 0)
		kill(B.redis_pid, SIGKILL);
	exit(1);
}

static void
pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((size_t)cpu, &set);
	(void)sched_setaffinity(pid, sizeof(set), &set);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static long
pid_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static long
relay_rss_kib(void)
{
	return pid_rss_kib(B.pid);
}

/* utime + stime of a process, in clock ticks. */
static unsigned long long
pid_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;
	int i;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* Fields after the name: state is 3rd; utime 14th, stime 15th. */
	for (i = 2; i < 14 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/*
 * The relay's CPU (both nodes with --cluster); each call also notes
 * Redis's, for report().
 */
static unsigned long long
relay_cpu_ticks(void)
{
	B.rticks_prev = B.rticks_now;
	B.rticks_now = pid_cpu_ticks(B.redis_pid);
	return pid_cpu_ticks(B.pid) + pid_cpu_ticks(B.pid2);
}

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(0x7f000001U);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		die("free port");
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* --cluster: redis-server on 127.0.0.1, nothing kept on disk. */
static void
start_redis(void)
{
	char port[16];
	int i, fd;

	B.redis_port = free_port();
	snprintf(port, sizeof(port), "%d", B.redis_port);
	if ((B.redis_pid = fork()) < 0)
		die("fork");
	if (B.redis_pid == 0) {
		pin(0, 0);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, 1);
		execl(B.redis_bin, B.redis_bin, "--port", port, "--bind",
		    "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--dir", "/tmp", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)B.redis_port);
		sa.sin_addr.s_addr = htonl(0x7f000001U);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		usleep(20000);
	}
	fprintf(stderr, "redis-server did not start\n");
	die("redis");
}

static void start_node(const char *, pid_t *, int *);

static void
start_relay(void)
{
	if (B.redis_bin == NULL) {
		start_node(NULL, &B.pid, &B.port);
		return;
	}
	start_redis();
	start_node("a", &B.pid, &B.port);
	start_node("b", &B.pid2, &B.port2);
	/* Both connected to Redis before the first LISTEN. */
	usleep(500000);
}

static void
start_node(const char *node, pid_t *pidp, int *portp)
{
	char port_s[16], conns[16], per[16], calls[16], buf[4096];
	char url[64];
	int pfd[2];
	size_t len = 0;
	ssize_t n;
	char *p;

	snprintf(conns, sizeof(conns), "%d", B.idle + B.phones +
	    B.callers * 2 + 256);
	snprintf(per, sizeof(per), "%d", B.idle + B.phones + B.callers * 2 +
	    256);
	snprintf(calls, sizeof(calls), "%d", B.callers + 16);
	if (pipe2(pfd, O_CLOEXEC) != 0)
		die("pipe2");
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", B.redis_port);
	if ((*pidp = fork()) < 0)
		die("fork");
	if (*pidp == 0) {
		pin(0, 0);
		dup2(pfd[1], 2);
		if (node != NULL)
			execl(B.relay_bin, B.relay_bin, "--listen",
			    "127.0.0.1:0", "--max-conns", conns,
			    "--max-per-addr", per, "--max-calls", calls,
			    "--max-pending", "100000", "--idle-timeout", "600",
			    "--event-loop", B.loop, "--cluster", url, "--node",
			    node, (char *)NULL);
		else
			execl(B.relay_bin, B.relay_bin, "--listen",
			    "127.0.0.1:0", "--max-conns", conns,
			    "--max-per-addr", per, "--max-calls", calls,
			    "--max-pending", "100000", "--idle-timeout", "600",
			    "--event-loop", B.loop, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (len < sizeof(buf) - 1) {
		if ((n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if ((p = strstr(buf, "ws://127.0.0.1:")) != NULL &&
		    strchr(p, '\n') != NULL) {
			*portp = atoi(p + 15);
			break;
		}
	}
	/* Leave the relay's stderr to a reader that drops it. */
	if (fork() == 0) {
		while (read(pfd[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(pfd[0]);
	if (*portp <= 0) {
		fprintf(stderr, "relay did not start: %s\n", buf);
		die("relay");
	}
	(void)port_s;
}

/* Output buffering; a connection flushes when the socket takes it. */
static void
out_put(struct conn *c, const void *p, size_t n)
{
	uint8_t *q;

	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 512;

		while (cap < c->outlen + n)
			cap *= 2;
		if ((q = realloc(c->out, cap)) == NULL)
			die("realloc");
		c->out = q;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

static void
want(struct conn *c, int out)
{
	struct epoll_event ev;

	if (c->want_out == out)
		return;
	c->want_out = (uint8_t)out;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	(void)epoll_ctl(B.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_dead(struct conn *);

static void
flush_out(struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				want(c, 1);
				return;
			}
			conn_dead(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	want(c, 0);
}

/*
 * A masked client frame. The mask key is zero, which RFC 6455 allows
 * (the key must merely be present); it spares the bench the XOR.
 */
static void
ws_send(struct conn *c, uint8_t opcode, const uint8_t *hdr, size_t hlen,
    const uint8_t *body, size_t blen)
{
	uint8_t h[14];
	size_t n = hlen + blen, hl;

	h[0] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		h[1] = (uint8_t)(0x80 | n);
		hl = 2;
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		memset(h + 2, 0, 4);
		h[6] = (uint8_t)(n >> 24);
		h[7] = (uint8_t)(n >> 16);
		h[8] = (uint8_t)(n >> 8);
		h[9] = (uint8_t)n;
		hl = 10;
	}
	memset(h + hl, 0, 4);
	out_put(c, h, hl + 4);
	if (hlen > 0)
		out_put(c, hdr, hlen);
	if (blen > 0)
		out_put(c, body, blen);
}

static void
send_frame(struct conn *c, uint8_t kind, uint32_t chan, const uint8_t *body,
    size_t blen)
{
	uint8_t hdr[SKP_RELAY_HDR_LEN];

	skp_relay_put_hdr(hdr, kind, chan);
	ws_send(c, 2, hdr, sizeof(hdr), body, blen);
}

static struct conn *
conn_open(int role)
{
	struct sockaddr_in sa, src;
	struct epoll_event ev;
	struct conn *c;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		die("socket");
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Several source addresses, so ports never run short. */
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000001U +
	    (uint32_t)(B.next_src++ % B.sources));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0)
		die("bind");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	/* With --cluster the callers go to node b, the phones to a. */
	sa.sin_port = htons((uint16_t)(B.port2 > 0 && (role == R_CALLER ||
	    role == R_ONESHOT) ? B.port2 : B.port));
	sa.sin_addr.s_addr = htonl(0x7f000001U);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS)
		die("connect");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		die("calloc");
	c->fd = fd;
	c->role = (uint8_t)role;
	c->st = S_CONNECTING;
	c->want_out = 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(B.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl");
	return c;
}

static void
conn_dead(struct conn *c)
{
	if (c->st == S_DEAD)
		return;
	if (c->st == S_OPEN && c->role == R_IDLE)
		B.idle_open--;
	c->st = S_DEAD;
	(void)epoll_ctl(B.ep, EPOLL_CTL_DEL, c->fd, NULL);
	/*
	 * One-shot callers end with a reset, after the close handshake: a
	 * normal close would leave every port in TIME_WAIT on our side and
	 * run the source addresses out of ports within seconds.
	 */
	if (c->role == R_ONESHOT) {
		struct linger lg = { 1, 0 };

		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
}

static void
handshake(struct conn *c)
{
	static const char req[] =
	    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: c2stcGhvbmUtYmVuY2gh\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: " SKP_RELAY_SUBPROTOCOL "\r\n\r\n";

	out_put(c, req, sizeof(req) - 1);
	c->st = S_UPGRADING;
	flush_out(c);
}

static void
start_call(struct conn *c)
{
	uint8_t body[36];

	c->chan++;
	if (c->chan == 0)
		c->chan = 1;
	memcpy(body, B.mbox[c->phone], 32);
	memcpy(body + 32, "\x00\x00\x75\x30", 4);	/* 30 s */
	c->in_call = 1;
	c->got_reply = 0;
	c->got_end = 0;
	c->t_start = now_ns();
	/* The request goes with the CALL, as the client library sends it. */
	send_frame(c, SKP_RELAY_CALL, c->chan, body, sizeof(body));
	send_frame(c, SKP_RELAY_DATA, c->chan, B.payload, (size_t)B.size);
	flush_out(c);
}

static void caller_idle(struct conn *);

static void
record_rtt(uint64_t ns)
{
	uint64_t *p;

	if (!B.measuring)
		return;
	if (B.nrtt == B.caprtt) {
		B.caprtt = B.caprtt ? B.caprtt * 2 : 65536;
		if ((p = realloc(B.rtt, B.caprtt * sizeof(*p))) == NULL)
			die("realloc");
		B.rtt = p;
	}
	B.rtt[B.nrtt++] = ns;
}

/* Mailbox key number i: from a hash of i, so nothing is kept per
 * connection. */
static void
bench_key(uint32_t i, struct skp_p256_key *k)
{
	uint8_t seed[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16),
	    (uint8_t)(i >> 8), (uint8_t)i }, priv[32];

	(void)skp_sha256(seed, sizeof(seed), priv);
	if (skp_p256_from_private(priv, k) != SKP_OK)
		die("mailbox key");
}

/* One relay frame arrived on c. */
static void
on_frame(struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t sig[SKP_RELAY_SIG_LEN];
	struct skp_p256_key k;
	uint32_t chan;
	uint8_t kind;

	if (n < SKP_RELAY_HDR_LEN) {
		B.errors++;
		return;
	}
	kind = p[0];
	chan = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 8 | p[4];
	/* The mailbox proof: the key again from its number, sign. */
	if (kind == SKP_RELAY_CHALLENGE &&
	    n == SKP_RELAY_HDR_LEN + SKP_RELAY_NONCE_LEN) {
		bench_key(c->kid, &k);
		if (skp_relay_prove(&k, p + 5, sig) != SKP_OK) {
			B.errors++;
			return;
		}
		send_frame(c, SKP_RELAY_PROVE, 0, sig, sizeof(sig));
		flush_out(c);
		return;
	}
	switch (c->role) {
	case R_IDLE:
		if (kind == SKP_RELAY_LISTENING)
			B.idle_open++;
		break;
	case R_PHONE:
		if (kind == SKP_RELAY_LISTENING)
			B.phones_open++;
		else if (kind == SKP_RELAY_DATA) {
			/* Echo, then hang up: the whole of a phone's answer. */
			send_frame(c, SKP_RELAY_DATA, chan, p + 5, n - 5);
			send_frame(c, SKP_RELAY_HANGUP, chan, NULL, 0);
			flush_out(c);
		}
		break;
	case R_CALLER:
	case R_ONESHOT:
		if (chan != c->chan)
			break;
		if (kind == SKP_RELAY_DATA) {
			record_rtt(now_ns() - c->t_start);
			c->got_reply = 1;
		} else if (kind == SKP_RELAY_END) {
			c->got_end = 1;
		} else if (kind == SKP_RELAY_OFFLINE) {
			B.errors++;
		}
		if (c->got_reply && c->got_end) {
			c->in_call = 0;
			if (B.measuring)
				B.calls_done++;
			if (c->role == R_ONESHOT) {
				/* As the library does: close, code 1000. */
				ws_send(c, 0x8, (const uint8_t *)"\x03\xe8", 2,
				    NULL, 0);
				flush_out(c);
			} else
				caller_idle(c);
		}
		break;
	default:
		break;
	}
}

/* Frames out of the input buffer; pings answered. */
static void
parse_in(struct conn *c)
{
	size_t off = 0, hl, n;
	uint8_t *p, op;
	char *e;

	if (c->st == S_UPGRADING) {
		if (c->inlen < 4)
			return;
		p = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (p == NULL)
			return;
		if (c->inlen < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
			B.errors++;
			conn_dead(c);
			return;
		}
		e = (char *)p + 4;
		off = (size_t)((uint8_t *)e - c->in);
		c->st = S_OPEN;
		if (c->role == R_IDLE || c->role == R_PHONE) {
			uint8_t body[SKP_RELAY_ID_LEN + SKP_RELAY_PUB_LEN];
			struct skp_p256_key k;

			c->kid = B.keyseq++;
			bench_key(c->kid, &k);
			memcpy(body + 32, k.pub, SKP_RELAY_PUB_LEN);
			(void)skp_relay_mailbox_id(k.pub, body);
			if (c->role == R_PHONE)
				memcpy(B.mbox[c->phone], body, 32);
			send_frame(c, SKP_RELAY_LISTEN, 0, body, sizeof(body));
			flush_out(c);
		} else if (c->role == R_ONESHOT)
			start_call(c);
	}
	while (c->st == S_OPEN && c->inlen - off >= 2) {
		p = c->in + off;
		op = p[0] & 0x0f;
		n = p[1] & 0x7f;
		hl = 2;
		if (n == 126) {
			if (c->inlen - off < 4)
				break;
			n = (size_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (n == 127) {
			if (c->inlen - off < 10)
				break;
			n = (size_t)p[6] << 24 | (size_t)p[7] << 16 |
			    (size_t)p[8] << 8 | p[9];
			hl = 10;
		}
		if (c->inlen - off < hl + n)
			break;
		if (op == 0x9) {
			ws_send(c, 0xa, NULL, 0, p + hl, n);
			flush_out(c);
		} else if (op == 0x8) {
			conn_dead(c);
			return;
		} else if (op == 0x2)
			on_frame(c, p + hl, n);
		off += hl + n;
	}
	if (off > 0 && c->st != S_DEAD) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
}

static void
on_readable(struct conn *c)
{
	ssize_t n;
	uint8_t *q;

	for (;;) {
		if (c->incap - c->inlen < 4096) {
			size_t cap = c->incap ? c->incap * 2 : 4096;

			if ((q = realloc(c->in, cap)) == NULL)
				die("realloc");
			c->in = q;
			c->incap = cap;
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_dead(c);
			return;
		}
		c->inlen += (size_t)n;
		parse_in(c);
		if (c->st == S_DEAD)
			return;
	}
	/* Idle connections keep no buffers, like the phones they mimic. */
	if (c->inlen == 0 && c->role == R_IDLE) {
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	}
}

static void
on_event(struct conn *c, uint32_t events)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (c->st == S_DEAD)
		return;
	if (c->st == S_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
		    err != 0) {
			B.errors++;
			conn_dead(c);
			return;
		}
		handshake(c);
		return;
	}
	if (events & EPOLLOUT)
		flush_out(c);
	if (c->st != S_DEAD && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(c);
}

/* Wait at most timeout_ns (epoll_pwait2: no busy loop for pacing). */
static int
pump_ns(uint64_t timeout_ns)
{
	struct epoll_event evs[MAX_EVENTS];
	struct timespec ts;
	int i, n;

	ts.tv_sec = (time_t)(timeout_ns / NS);
	ts.tv_nsec = (long)(timeout_ns % NS);
	n = epoll_pwait2(B.ep, evs, MAX_EVENTS, &ts, NULL);
	for (i = 0; i < n; i++)
		on_event(evs[i].data.ptr, evs[i].events);
	return n;
}

static int
pump(int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int i, n;

	n = epoll_wait(B.ep, evs, MAX_EVENTS, timeout_ms);
	for (i = 0; i < n; i++)
		on_event(evs[i].data.ptr, evs[i].events);
	return n;
}

/* Callers waiting for the fixed rate's next tick. */
static struct conn	**free_callers;
static int		  nfree;

static void
caller_idle(struct conn *c)
{
	if (!B.fixed_rate) {
		if (B.measuring)
			start_call(c);
		return;
	}
	free_callers[nfree++] = c;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double p)
{
	size_t i;

	if (B.nrtt == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(B.nrtt - 1) + 0.5);
	return (double)B.rtt[i] / 1e6;
}

static double
self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double bench_cpu0;

static void
report(const char *what, double secs, unsigned long long cpu0,
    unsigned long long cpu1)
{
	long hz = sysconf(_SC_CLK_TCK);
	double cpu = (double)(cpu1 - cpu0) / (double)hz;
	double rcpu = (double)(B.rticks_now - B.rticks_prev) / (double)hz;
	double calls = B.calls_done > 0 ? (double)B.calls_done : 1;

	qsort(B.rtt, B.nrtt, sizeof(*B.rtt), cmp_u64);
	printf("%-22s %8llu calls in %5.2f s = %8.0f calls/s; round trip "
	    "p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms; CPU: relay "
	    "%.0f%%, bench %.0f%%%s\n", what,
	    (unsigned long long)B.calls_done, secs,
	    (double)B.calls_done / secs, pct(50), pct(90), pct(99), pct(100),
	    100.0 * cpu / secs, 100.0 * (self_cpu() - bench_cpu0) / secs,
	    B.errors ? " (errors!)" : "");
	printf("  per call: relay %.1f us CPU%s", 1e6 * cpu / calls,
	    B.redis_pid > 0 ? " (nodes a and b)" : "\n");
	if (B.redis_pid > 0)
		printf(", redis %.1f us CPU (%.0f%% of a core)\n",
		    1e6 * rcpu / calls, 100.0 * rcpu / secs);
	fflush(stdout);
}

static void
wait_until(int (*done)(void), int secs)
{
	uint64_t end = now_ns() + (uint64_t)secs * NS;

	while (!done() && now_ns() < end)
		pump(10);
}

/*
 * The machine's own noise: a TCP echo between two processes pinned as
 * the relay and the bench are, at the same rate, without the relay. A
 * call crosses the relay four times, so its tail can be no better than
 * this one's.
 */
static void
baseline(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	uint64_t next, t, *r;
	size_t i, n = (size_t)B.rate * (size_t)B.seconds;
	int ls, c, one = 1;
	ssize_t k, got;
	pid_t pid;
	char buf[65536];

	if (n == 0 || (r = calloc(n, sizeof(*r))) == NULL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(0x7f000001U);
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
		die("baseline socket");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		pin(0, 0);
		if ((c = accept(ls, NULL, NULL)) < 0)
			_exit(1);
		(void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		while ((k = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)k) != k)
				_exit(1);
		_exit(0);
	}
	close(ls);
	if ((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("baseline connect");
	(void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	next = now_ns();
	for (i = 0; i < n; i++) {
		struct timespec ts;

		next += NS / (uint64_t)B.rate;
		while ((t = now_ns()) < next) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(next - t);
			nanosleep(&ts, NULL);
		}
		t = now_ns();
		if (write(c, B.payload, (size_t)B.size) != (ssize_t)B.size)
			die("baseline write");
		for (got = 0; got < (ssize_t)B.size; got += k)
			if ((k = read(c, buf, sizeof(buf))) <= 0)
				die("baseline read");
		r[i] = now_ns() - t;
	}
	close(c);
	(void)waitpid(pid, NULL, 0);
	qsort(r, n, sizeof(*r), cmp_u64);
	printf("%-22s %8zu echoes at %d/s, no relay: round trip p50 %.3f "
	    "ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	    "machine baseline:", n, B.rate, (double)r[n / 2] / 1e6,
	    (double)r[n * 9 / 10] / 1e6, (double)r[n * 99 / 100] / 1e6,
	    (double)r[n - 1] / 1e6);
	fflush(stdout);
	free(r);
}

static int nconnecting_target;
static int idle_all_open(void) { return B.idle_open >= nconnecting_target; }
static int phones_all_open(void) { return B.phones_open >= B.phones; }

static void
usage(void)
{
	fprintf(stderr, "usage: relay_bench --relay PATH [--idle N] "
	    "[--phones P] [--callers M]\n"
	    "       [--seconds S] [--rate R] [--sources K] [--size BYTES]\n"
	    "       [--oneshot] [--loop poll|libev] [--cluster REDIS_SERVER]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "idle", required_argument, NULL, 'i' },
		{ "phones", required_argument, NULL, 'p' },
		{ "callers", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'R' },
		{ "sources", required_argument, NULL, 'S' },
		{ "size", required_argument, NULL, 'z' },
		{ "oneshot", no_argument, NULL, 'o' },
		{ "loop", required_argument, NULL, 'l' },
		{ "cluster", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct conn **callers;
	unsigned long long cpu0, cpu1;
	char label[64];
	long rss0, rss1, redis_rss0 = 0;
	uint64_t t0, t1, end, now;
	int ch, i, started;

	B.idle = 10000;
	B.phones = 16;
	B.callers = 64;
	B.seconds = 5;
	B.rate = 1000;
	B.sources = 4;
	B.size = 256;
	B.loop = "poll";
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': B.relay_bin = optarg; break;
		case 'i': B.idle = atoi(optarg); break;
		case 'p': B.phones = atoi(optarg); break;
		case 'c': B.callers = atoi(optarg); break;
		case 's': B.seconds = atoi(optarg); break;
		case 'R': B.rate = atoi(optarg); break;
		case 'S': B.sources = atoi(optarg); break;
		case 'z': B.size = atoi(optarg); break;
		case 'o': B.oneshot = 1; break;
		case 'l': B.loop = optarg; break;
		case 'C': B.redis_bin = optarg; break;
		default: usage();
		}
	}
	if (B.relay_bin == NULL || B.idle < 0 || B.phones < 1 ||
	    B.callers < 1 || B.seconds < 1 || B.sources < 1 ||
	    B.sources > 250 || B.size < 0 || B.size > 60000)
		usage();
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if ((B.payload = calloc(1, (size_t)B.size + 1)) == NULL ||
	    (B.mbox = calloc((size_t)B.phones, 32)) == NULL ||
	    (callers = calloc((size_t)B.callers, sizeof(*callers))) == NULL ||
	    (free_callers = calloc((size_t)B.callers,
	    sizeof(*free_callers))) == NULL)
		die("calloc");
	(void)skp_random(B.payload, (size_t)B.size);
	if ((B.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	pin(0, 1);
	baseline();
	start_relay();
	printf("relay pid %d on CPU 0 (port %d, %s loop), bench on CPU 1; %d "
	    "source addresses\n", (int)B.pid, B.port, B.loop, B.sources);
	if (B.redis_pid > 0)
		printf("cluster: node a (phones) pid %d, node b (callers) pid "
		    "%d port %d, redis-server pid %d port %d, all on CPU 0\n",
		    (int)B.pid, (int)B.pid2, B.port2, (int)B.redis_pid,
		    B.redis_port);
	usleep(200000);
	rss0 = relay_rss_kib();
	redis_rss0 = pid_rss_kib(B.redis_pid);

	/* 1. Idle phones, a window of handshakes at a time. */
	t0 = now_ns();
	for (started = 0; started < B.idle; ) {
		nconnecting_target = started;
		while (started < B.idle &&
		    started - B.idle_open < CONNECT_WINDOW) {
			(void)conn_open(R_IDLE);
			started++;
		}
		pump(5);
		if (now_ns() - t0 > 120 * NS)
			break;
	}
	nconnecting_target = B.idle;
	wait_until(idle_all_open, 30);
	t1 = now_ns();
	/* Let the relay settle, answer nothing, then look at it. */
	for (i = 0; i < 50; i++)
		pump(20);
	rss1 = relay_rss_kib();
	printf("idle phones: %d of %d held (opened in %.2f s); relay RSS "
	    "%ld KiB before, %ld KiB after: %.2f KiB per idle phone\n",
	    B.idle_open, B.idle, (double)(t1 - t0) / 1e9, rss0, rss1,
	    B.idle_open > 0 ? (double)(rss1 - rss0) / B.idle_open : 0.0);
	if (B.redis_pid > 0 && B.idle_open > 0)
		printf("  redis RSS %ld KiB before, %ld KiB after: %.2f KiB per "
		    "listening phone\n", redis_rss0, pid_rss_kib(B.redis_pid),
		    (double)(pid_rss_kib(B.redis_pid) - redis_rss0) /
		    B.idle_open);
	fflush(stdout);

	/* 2. Echo phones and callers. */
	if ((B.phone_conns = calloc((size_t)B.phones,
	    sizeof(*B.phone_conns))) == NULL)
		die("calloc");
	for (i = 0; i < B.phones; i++) {
		B.phone_conns[i] = conn_open(R_PHONE);
		B.phone_conns[i]->phone = (uint32_t)i;
	}
	wait_until(phones_all_open, 10);
	for (i = 0; i < B.callers; i++) {
		callers[i] = conn_open(R_CALLER);
		callers[i]->phone = (uint32_t)(i % B.phones);
	}
	for (i = 0; i < 100; i++)
		pump(10);

	if (!B.oneshot) {
		/* Closed loop: every caller calls again at once. */
		B.measuring = 1;
		B.calls_done = 0;
		B.errors = 0;
		cpu0 = relay_cpu_ticks();
		bench_cpu0 = self_cpu();
		t0 = now_ns();
		for (i = 0; i < B.callers; i++)
			if (callers[i]->st == S_OPEN)
				start_call(callers[i]);
		end = t0 + (uint64_t)B.seconds * NS;
		while (now_ns() < end)
			pump(10);
		B.measuring = 0;
		t1 = now_ns();
		cpu1 = relay_cpu_ticks();
		report("closed loop:", (double)(t1 - t0) / 1e9, cpu0, cpu1);
		printf("  (%d callers, %d phones, %d-byte messages, %d idle "
		    "phones held meanwhile: %d)\n", B.callers, B.phones,
		    B.size, B.idle, B.idle_open);
		/* Let the calls under way finish. */
		for (i = 0; i < 100; i++)
			pump(10);

		/* 3. Fixed rate. */
		B.fixed_rate = 1;
		nfree = 0;
		for (i = 0; i < B.callers; i++)
			if (callers[i]->st == S_OPEN && !callers[i]->in_call)
				free_callers[nfree++] = callers[i];
		B.nrtt = 0;
		B.calls_done = 0;
		B.errors = 0;
		B.backlog = 0;
		B.measuring = 1;
		B.period = NS / (uint64_t)B.rate;
		cpu0 = relay_cpu_ticks();
		bench_cpu0 = self_cpu();
		t0 = now_ns();
		B.next_due = t0;
		end = t0 + (uint64_t)B.seconds * NS;
		while ((now = now_ns()) < end) {
			while (B.next_due <= now) {
				B.backlog++;
				B.next_due += B.period;
			}
			while (B.backlog > 0 && nfree > 0) {
				start_call(free_callers[--nfree]);
				B.backlog--;
			}
			pump_ns(B.next_due > now ? B.next_due - now : 0);
		}
		B.measuring = 0;
		t1 = now_ns();
		cpu1 = relay_cpu_ticks();
		snprintf(label, sizeof(label), "fixed %d calls/s:", B.rate);
		report(label, (double)(t1 - t0) / 1e9, cpu0, cpu1);
		B.fixed_rate = 0;
	} else {
		/* 4. A new connection per call, M at a time. */
		int live = 0;

		B.measuring = 1;
		B.calls_done = 0;
		B.errors = 0;
		B.nrtt = 0;
		cpu0 = relay_cpu_ticks();
		bench_cpu0 = self_cpu();
		t0 = now_ns();
		end = t0 + (uint64_t)B.seconds * NS;
		{
			struct conn **one = calloc((size_t)B.callers,
			    sizeof(*one));

			if (one == NULL)
				die("calloc");
			while (now_ns() < end) {
				live = 0;
				for (i = 0; i < B.callers; i++) {
					if (one[i] != NULL &&
					    one[i]->st != S_DEAD) {
						live++;
						continue;
					}
					if (one[i] != NULL) {
						free(one[i]->in);
						free(one[i]->out);
						free(one[i]);
					}
					one[i] = conn_open(R_ONESHOT);
					one[i]->phone = (uint32_t)(i %
					    B.phones);
				}
				pump(5);
			}
		}
		B.measuring = 0;
		t1 = now_ns();
		cpu1 = relay_cpu_ticks();
		report("connection per call:", (double)(t1 - t0) / 1e9, cpu0,
		    cpu1);
		(void)live;
	}
	printf("idle phones still held at the end: %d\n", B.idle_open);
	kill(B.pid, SIGTERM);
	(void)waitpid(B.pid, NULL, 0);
	if (B.pid2 > 0) {
		kill(B.pid2, SIGTERM);
		(void)waitpid(B.pid2, NULL, 0);
	}
	if (B.redis_pid > 0) {
		kill(B.redis_pid, SIGTERM);
		(void)waitpid(B.redis_pid, NULL, 0);
	}
	return 0;
}
