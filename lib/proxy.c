/* `sk-phone proxy`: ssh's ProxyCommand that notes the host's key exchange. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/proxy.h"
#include "sk-phone/sshwire.h"

extern char **environ;

#define EXIT_USAGE		2
#define BUF_SIZE		(256 * 1024)
#define CONNECT_TIMEOUT		30		/* seconds, unless -w */
#define CONNECT_TIMEOUT_MAX	3600
#define ATTEMPT_DELAY_MS	250		/* RFC 8305's default */
#define ADDR_MAX		16
#define CMD_MAX			8192
#define CHILD_WAIT_MS		2000
#define PIPE_SIZE		(1024 * 1024)	/* Linux's default maximum */
#define SPLICE_LEN		(1024 * 1024)
#define SPLICE_ROUNDS		4

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

static void say(const char *, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr, the only place ssh shows a ProxyCommand's words. */
static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sk-phone proxy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
debug_on(void)
{
	const char *v = getenv("SK_PHONE_DEBUG");

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct args {
	const char	*jump;
	const char	*host;
	const char	*port;
	uint16_t	 portnum;
	int		 timeout;
};

static int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 10)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	unsigned long v;
	int i;

	memset(a, 0, sizeof(*a));
	a->timeout = CONNECT_TIMEOUT;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-J") == 0 && i + 1 < argc)
			a->jump = argv[++i];
		else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc &&
		    parse_uint(argv[i + 1], 1, CONNECT_TIMEOUT_MAX, &v) == 0) {
			a->timeout = (int)v;
			i++;
		} else
			return -1;
	}
	if (argc - i != 2)
		return -1;
	a->host = argv[i];
	a->port = argv[i + 1];
	if (!skp_hostinfo_host_ok(a->host)) {
		say("refusing host name \"%.64s\"", a->host);
		return -1;
	}
	if (parse_uint(a->port, 1, 65535, &v) != 0) {
		say("bad port \"%.16s\"", a->port);
		return -1;
	}
	a->portnum = (uint16_t)v;
	return 0;
}

/* Alternate the address families, first family first (RFC 8305). */
static size_t
order_addrs(struct addrinfo *res, struct addrinfo **out)
{
	struct addrinfo *a, *fam1[ADDR_MAX], *fam2[ADDR_MAX];
	size_t n1 = 0, n2 = 0, i = 0, j = 0, n = 0;
	int first = res != NULL ? res->ai_family : 0;

	for (a = res; a != NULL; a = a->ai_next) {
		if (a->ai_family == first && n1 < ADDR_MAX)
			fam1[n1++] = a;
		else if (a->ai_family != first && n2 < ADDR_MAX)
			fam2[n2++] = a;
	}
	while (n < ADDR_MAX && (i < n1 || j < n2)) {
		if (i < n1)
			out[n++] = fam1[i++];
		if (j < n2 && n < ADDR_MAX)
			out[n++] = fam2[j++];
	}
	return n;
}

static void
tune_socket(int fd)
{
	int one = 1;

	/* ssh cannot set these on a socket it does not hold. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

/*
 * Start a connection to the next address every ATTEMPT_DELAY_MS while the
 * earlier ones are still trying; the first to connect wins.
 */
static int
connect_host(const struct args *a, int *out)
{
	struct addrinfo hints, *res = NULL, *addrs[ADDR_MAX];
	struct pollfd pfd[ADDR_MAX];
	int fds[ADDR_MAX], err = 0, gai, fd, rc = -1;
	size_t naddr, next = 0, i, live = 0;
	int64_t deadline, next_at = 0, t;
	socklen_t len;

	for (i = 0; i < ADDR_MAX; i++)
		fds[i] = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(a->host, a->port, &hints, &res)) != 0) {
		say("%s: %s", a->host, gai_strerror(gai));
		return -1;
	}
	naddr = order_addrs(res, addrs);
	deadline = now_ms() + (int64_t)a->timeout * 1000;
	for (;;) {
		t = now_ms();
		if (next < naddr && (live == 0 || t >= next_at)) {
			fd = socket(addrs[next]->ai_family, SOCK_STREAM |
			    SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
			if (fd >= 0 && connect(fd, addrs[next]->ai_addr,
			    addrs[next]->ai_addrlen) == 0) {
				*out = fd;
				rc = 0;
				goto out;
			}
			if (fd >= 0 && errno == EINPROGRESS) {
				fds[next] = fd;
				live++;
			} else {
				err = errno;
				if (fd >= 0)
					close(fd);
			}
			next++;
			next_at = t + ATTEMPT_DELAY_MS;
			continue;
		}
		if (live == 0) {
			say("connect to %s port %s: %s", a->host, a->port,
			    strerror(err != 0 ? err : ECONNREFUSED));
			goto out;
		}
		if (t >= deadline) {
			say("connect to %s port %s: %s", a->host, a->port,
			    "timed out");
			goto out;
		}
		for (i = 0; i < naddr; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLOUT;
			pfd[i].revents = 0;
		}
		t = deadline - t;
		if (next < naddr && next_at - now_ms() < t)
			t = next_at - now_ms();
		if (poll(pfd, (nfds_t)naddr, t < 0 ? 0 : (int)t) < 0 &&
		    errno != EINTR) {
			err = errno;
			goto out;
		}
		for (i = 0; i < naddr; i++) {
			if (fds[i] < 0 || pfd[i].revents == 0)
				continue;
			len = sizeof(err);
			if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err,
			    &len) == 0 && err == 0) {
				*out = fds[i];
				fds[i] = -1;
				rc = 0;
				goto out;
			}
			close(fds[i]);
			fds[i] = -1;
			live--;
		}
	}
out:
	for (i = 0; i < ADDR_MAX; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	freeaddrinfo(res);
	if (rc == 0)
		tune_socket(*out);
	return rc;
}

/* The -J command with %h, %p and %% replaced; NULL on a bad pattern. */
static char *
expand(const char *cmd, const char *host, const char *port)
{
	size_t n = 0, k;
	const char *s;
	char *out;

	if ((out = malloc(CMD_MAX)) == NULL)
		return NULL;
	for (; *cmd != '\0'; cmd++) {
		s = NULL;
		if (*cmd == '%') {
			cmd++;
			if (*cmd == 'h')
				s = host;
			else if (*cmd == 'p')
				s = port;
			else if (*cmd == '%')
				s = "%";
			else
				goto bad;
		}
		k = s != NULL ? strlen(s) : 1;
		if (k >= CMD_MAX - n)
			goto bad;
		memcpy(out + n, s != NULL ? s : cmd, k);
		n += k;
	}
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int
spawn_command(const char *cmd, const sigset_t *mask, pid_t *pid, int *wfd,
    int *rfd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t def;
	char *argv[4];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, fa_ok = 0, attr_ok = 0;
	int rc = -1, e;

	argv[0] = (char *)(uintptr_t)"sh";
	argv[1] = (char *)(uintptr_t)"-c";
	argv[2] = (char *)(uintptr_t)cmd;
	argv[3] = NULL;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    posix_spawn_file_actions_init(&fa) != 0)
		goto fail;
	fa_ok = 1;
	if (posix_spawnattr_init(&attr) != 0)
		goto fail;
	attr_ok = 1;
	sigemptyset(&def);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGPIPE);
	/* The command gets the signal state ssh gave this process. */
	if (posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO) !=
	    0 ||
	    posix_spawnattr_setsigmask(&attr, mask) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &def) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF) != 0)
		goto fail;
	if ((e = posix_spawn(pid, "/bin/sh", &fa, &attr, argv,
	    environ)) != 0) {
		errno = e;
		goto fail;
	}
	*wfd = in[1];
	*rfd = out[0];
	in[1] = out[0] = -1;
	rc = 0;
	goto out;
fail:
	say("cannot run the -J command: %s", strerror(errno));
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	return rc;
}

/* One direction of the relay. */
struct flow {
	int		 rfd;
	int		 wfd;
	int		 wsock;		/* wfd is a socket: half-close it */
	int		 dir;		/* SKP_SSHWIRE_C2S or _S2C */
	uint8_t		*buf;
	size_t		 head;
	size_t		 tail;
	int		 reof;
	int		 wdone;
	int		 can_splice;	/* a pipe at one end, both non-blocking */
	int		 wblocked;	/* splicing: wait until wfd takes more */
	const char	*what;		/* for messages */
};

/* What is known of the host and where it goes. */
struct host {
	skp_sshwire_t	*wire;
	const struct args *args;
	pid_t		 ssh;		/* names the record; 0: none */
	int		 written;
};

static void
leave_record(struct host *h)
{
	struct skp_hostinfo *hi = NULL;
	const uint8_t *p;
	size_t n;
	int rc;

	if ((hi = calloc(1, sizeof(*hi))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	hi->time = (uint64_t)time(NULL);
	hi->pid = (uint32_t)h->ssh;
	hi->port = h->args->portnum;
	rc = SKP_ERR_TOO_LARGE;
	if (strlen(h->args->host) >= sizeof(hi->host) ||
	    strlen(skp_sshwire_kex(h->wire)) >= sizeof(hi->kex))
		goto out;
	strcpy(hi->host, h->args->host);
	strcpy(hi->kex, skp_sshwire_kex(h->wire));
	skp_sshwire_hostkey(h->wire, &p, &n);
	if (n > sizeof(hi->hostkey))
		goto out;
	memcpy(hi->hostkey, p, n);
	hi->hostkey_len = n;
	skp_sshwire_signature(h->wire, &p, &n);
	if (n > sizeof(hi->sig))
		goto out;
	memcpy(hi->sig, p, n);
	hi->sig_len = n;
	if ((rc = skp_hostinfo_write(hi)) == SKP_OK)
		h->written = 1;
out:
	if (rc == SKP_ERR_PERM)
		say("cannot leave host information: its folder "
		    "($XDG_RUNTIME_DIR/sk-phone, else /tmp/sk-phone-%lu) must "
		    "be a folder of yours, mode 700", (unsigned long)getuid());
	else if (rc != SKP_OK)
		say("cannot leave host information: %s", skp_strerror(rc));
	free(hi);
	/* Off the connection's path: clear what dead sessions left. */
	(void)skp_hostinfo_sweep();
}

static void
feed(struct host *h, int dir, const uint8_t *p, size_t n)
{
	int rc;

	if (h->wire == NULL)
		return;
	rc = skp_sshwire_feed(h->wire, dir, p, n);
	if (rc == SKP_SSHWIRE_MORE)
		return;
	if (rc == SKP_SSHWIRE_DONE && h->ssh > 0)
		leave_record(h);
	else if (rc != SKP_SSHWIRE_DONE && debug_on())
		say("no host information: %s", skp_strerror(rc));
	skp_sshwire_free(&h->wire);
}

/* Send what is buffered; a write error ends this direction. */
static void
flow_write(struct flow *f)
{
	ssize_t n;

	while (f->head < f->tail) {
		n = write(f->wfd, f->buf + f->head, f->tail - f->head);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* A peer that left is no error of ours to report. */
			if (errno != EPIPE && errno != ECONNRESET)
				say("write to %s: %s", f->what,
				    strerror(errno));
			f->wdone = 1;
			f->head = f->tail = 0;
			return;
		}
		f->head += (size_t)n;
	}
	f->head = f->tail = 0;
}

static int
flow_read(struct flow *f, struct host *h)
{
	uint8_t *p;
	ssize_t n;

	if (f->head > 0 && f->tail == BUF_SIZE) {
		memmove(f->buf, f->buf + f->head, f->tail - f->head);
		f->tail -= f->head;
		f->head = 0;
	}
	p = f->buf + f->tail;
	n = read(f->rfd, p, BUF_SIZE - f->tail);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0) {
		say("read from %s: %s", f->what, strerror(errno));
		f->reof = 1;
		return -1;
	}
	if (n == 0) {
		f->reof = 1;
		return 0;
	}
	f->tail += (size_t)n;
	/* Forward first: the side copy must cost the connection nothing. */
	flow_write(f);
	feed(h, f->dir, p, (size_t)n);
	return 0;
}

/*
 * Once the parser is done the bytes need not pass through this process:
 * splice(2) moves them from pipe to socket or socket to pipe in the
 * kernel, which saves a copy each way and most of the proxy's CPU time.
 */
static int
flow_splice(struct flow *f)
{
	ssize_t n;
	int i;

	for (i = 0; i < SPLICE_ROUNDS; i++) {
		n = splice(f->rfd, NULL, f->wfd, NULL, SPLICE_LEN,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			continue;
		if (n == 0) {
			f->reof = 1;
			return 0;
		}
		if (errno == EINTR)
			continue;
		/*
		 * rfd was readable: nothing moved at the first try means wfd is
		 * full. Later, it means rfd is drained for now.
		 */
		if (errno == EAGAIN) {
			f->wblocked = i == 0;
			return 0;
		}
		if (errno == EINVAL || errno == ENOSYS) {
			f->can_splice = 0;
			return 0;
		}
		f->reof = 1;
		/* ssh gone is no error of ours to report. */
		if (errno == EPIPE)
			return 0;
		say("relay with %s: %s", f->what, strerror(errno));
		return -1;
	}
	return 0;
}

/* All read and all sent: pass the end of stream on. */
static void
flow_finish(struct flow *f)
{
	int null;

	if (f->wsock)
		(void)shutdown(f->wfd, SHUT_WR);
	else if (f->wfd == STDOUT_FILENO &&
	    (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		/* Keep fd 1 taken, so nothing else lands there. */
		(void)dup2(null, STDOUT_FILENO);
		close(null);
	} else {
		close(f->wfd);
		f->wfd = -1;
	}
	f->wdone = 1;
}

static int
relay(struct flow *fl, struct host *h, const sigset_t *waitmask)
{
	struct pollfd pfd[4];
	int role[4], err = 0, i, j;
	nfds_t n;

	for (;;) {
		for (i = 0; i < 2; i++)
			if (!fl[i].wdone && fl[i].reof &&
			    fl[i].head == fl[i].tail)
				flow_finish(&fl[i]);
		if ((fl[0].wdone && fl[1].wdone) || got_signal)
			break;
		/* role: flow * 4 + read, write, splice, splice-unblock */
		n = 0;
		for (i = 0; i < 2; i++) {
			if (fl[i].wdone)
				continue;
			if (fl[i].can_splice && h->wire == NULL &&
			    fl[i].head == fl[i].tail) {
				pfd[n].fd = fl[i].wblocked ? fl[i].wfd :
				    fl[i].rfd;
				pfd[n].events = fl[i].wblocked ? POLLOUT :
				    POLLIN;
				role[n++] = i * 4 + (fl[i].wblocked ? 3 : 2);
				continue;
			}
			if (!fl[i].reof && fl[i].tail < BUF_SIZE) {
				pfd[n].fd = fl[i].rfd;
				pfd[n].events = POLLIN;
				role[n++] = i * 4;
			}
			if (fl[i].head < fl[i].tail) {
				pfd[n].fd = fl[i].wfd;
				pfd[n].events = POLLOUT;
				role[n++] = i * 4 + 1;
			}
		}
		if (ppoll(pfd, n, NULL, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			return -1;
		}
		for (j = 0; j < (int)n; j++) {
			struct flow *f = &fl[role[j] / 4];

			if (pfd[j].revents == 0 || f->wdone)
				continue;
			switch (role[j] % 4) {
			case 0:
				if (!f->reof && flow_read(f, h) != 0)
					err = -1;
				break;
			case 1:
				flow_write(f);
				break;
			case 3:
				f->wblocked = 0;
				__attribute__((fallthrough));
			case 2:
				if (!f->reof && flow_splice(f) != 0)
					err = -1;
				break;
			}
		}
	}
	return err;
}

/*
 * A pipe or socket from ssh goes non-blocking; a terminal stays as is. A
 * pipe also grows, when the system lets it, so that ssh and the proxy
 * wake each other less often (64 KiB is the default).
 */
static int
nonblock(int fd)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) != 0 || (!S_ISFIFO(st.st_mode) &&
	    !S_ISSOCK(st.st_mode)) || (fl = fcntl(fd, F_GETFL)) < 0)
		return -1;
	if (S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
	if ((fl & O_NONBLOCK) != 0)
		return -1;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	return fl;
}

static int
is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* splice(2) needs a pipe at one end; a blocking end could stall it. */
static int
splice_ok(int rfd, int wfd)
{
	struct stat rs, ws;
	int rfl, wfl;

	if (fstat(rfd, &rs) != 0 || fstat(wfd, &ws) != 0 ||
	    (!S_ISFIFO(rs.st_mode) && !S_ISFIFO(ws.st_mode)) ||
	    (rfl = fcntl(rfd, F_GETFL)) < 0 || (wfl = fcntl(wfd, F_GETFL)) < 0)
		return 0;
	return (rfl & O_NONBLOCK) != 0 && (wfl & O_NONBLOCK) != 0;
}

/* Close the command's pipes, then give it a moment before a signal. */
static void
reap(pid_t pid, int sig)
{
	int64_t until;
	int st, sent = 0;

	if (pid <= 0)
		return;
	if (sig != 0) {
		(void)kill(pid, SIGTERM);
		sent = 1;
	}
	until = now_ms() + CHILD_WAIT_MS;
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) != 0)
			return;
		if (now_ms() >= until) {
			if (sent) {
				(void)kill(pid, SIGKILL);
				(void)waitpid(pid, &st, 0);
				return;
			}
			(void)kill(pid, SIGTERM);
			sent = 1;
			until = now_ms() + CHILD_WAIT_MS;
		}
		(void)poll(NULL, 0, 10);
	}
}

int
skp_proxy_main(int argc, char **argv)
{
	struct sigaction sa, old_hup, old_int, old_term, old_pipe;
	sigset_t block, oldmask;
	struct flow fl[2];
	struct host h;
	struct args a;
	char *cmd = NULL;
	pid_t child = 0;
	int sock = -1, to_child = -1, from_child = -1, in_fl, out_fl;
	int sigs_set = 0, rc = 1;

	memset(fl, 0, sizeof(fl));
	memset(&h, 0, sizeof(h));
	if (parse_args(argc, argv, &a) != 0) {
		fprintf(stderr, "usage: sk-phone proxy [-J command] "
		    "[-w seconds] host port\n");
		return EXIT_USAGE;
	}
	if (a.jump != NULL && (cmd = expand(a.jump, a.host, a.port)) ==
	    NULL) {
		say("bad -J command: use %%h, %%p and %%%% only, and keep it "
		    "short");
		return EXIT_USAGE;
	}
	got_signal = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	/* Signals wait for ppoll, which alone lets them in. */
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	sigs_set = 1;

	h.args = &a;
	h.ssh = getppid();
	if (h.ssh <= 1)
		h.ssh = 0;
	/* A record an earlier ssh with this pid left must not be read. */
	if (h.ssh > 0)
		(void)skp_hostinfo_remove(h.ssh);
	if ((h.wire = skp_sshwire_new()) == NULL ||
	    (fl[0].buf = malloc(BUF_SIZE)) == NULL ||
	    (fl[1].buf = malloc(BUF_SIZE)) == NULL) {
		say("out of memory");
		goto out;
	}
	if (cmd != NULL) {
		if (spawn_command(cmd, &oldmask, &child, &to_child,
		    &from_child) != 0)
			goto out;
		(void)nonblock(to_child);
		(void)nonblock(from_child);
	} else if (connect_host(&a, &sock) != 0)
		goto out;

	in_fl = nonblock(STDIN_FILENO);
	out_fl = nonblock(STDOUT_FILENO);
	fl[0].rfd = STDIN_FILENO;
	fl[0].wfd = sock >= 0 ? sock : to_child;
	fl[0].wsock = sock >= 0;
	fl[0].dir = SKP_SSHWIRE_C2S;
	fl[0].what = sock >= 0 ? a.host : "the -J command";
	fl[1].rfd = sock >= 0 ? sock : from_child;
	fl[1].wfd = STDOUT_FILENO;
	fl[1].wsock = is_socket(STDOUT_FILENO);
	fl[1].dir = SKP_SSHWIRE_S2C;
	fl[1].what = sock >= 0 ? a.host : "the -J command";
	fl[0].can_splice = splice_ok(fl[0].rfd, fl[0].wfd);
	fl[1].can_splice = splice_ok(fl[1].rfd, fl[1].wfd);
	rc = relay(fl, &h, &oldmask) == 0 ? 0 : 1;
	if (got_signal != 0 && got_signal != SIGHUP)
		rc = 128 + got_signal;
	if (in_fl >= 0)
		(void)fcntl(STDIN_FILENO, F_SETFL, in_fl);
	if (out_fl >= 0)
		(void)fcntl(STDOUT_FILENO, F_SETFL, out_fl);
out:
	if (h.written)
		(void)skp_hostinfo_remove(h.ssh);
	if (sock >= 0)
		close(sock);
	if (fl[0].wfd == to_child && to_child >= 0)
		close(to_child);
	if (from_child >= 0)
		close(from_child);
	reap(child, got_signal);
	skp_sshwire_free(&h.wire);
	free(fl[0].buf);
	free(fl[1].buf);
	free(cmd);
	if (sigs_set) {
		sigaction(SIGHUP, &old_hup, NULL);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGPIPE, &old_pipe, NULL);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	}
	return rc;
}
