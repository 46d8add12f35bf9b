/*
 * The connection keeper's local protocol (docs/PROTOCOL.md §11), and the
 * provider's side of it: one unix socket connection per call.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "skp-config.h"
#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/keeper.h"
#include "sk-phone/relay.h"
#include "sk-phone/store.h"

#define KC_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
/*
 * Between tries while a keeper starts (it listens 10 - 20 ms after the
 * spawn): a try is one connect(2) that fails at once.
 */
#define KC_STEP_MS	2

/* -- the codec ------------------------------------------------------ */

static const struct {
	int	err;
	uint8_t	error;
} errmap[] = {
	{ SKP_ERR_NETWORK,	SKP_KEEPER_E_NETWORK },
	{ SKP_ERR_TLS,		SKP_KEEPER_E_TLS },
	{ SKP_ERR_TIMEOUT,	SKP_KEEPER_E_TIMEOUT },
	{ SKP_ERR_LIMIT,	SKP_KEEPER_E_LIMIT },
	{ SKP_ERR_INVALID,	SKP_KEEPER_E_URL },
	{ SKP_ERR_IO,		SKP_KEEPER_E_CA },
	{ SKP_ERR_FORMAT,	SKP_KEEPER_E_PROTOCOL },
	{ SKP_ERR_RELAY_PROTOCOL, SKP_KEEPER_E_PROTOCOL },
	{ SKP_ERR_CLOSED,	SKP_KEEPER_E_CLOSED },
	{ SKP_ERR_PERM,		SKP_KEEPER_E_REFUSED },
	{ SKP_ERR_INTERNAL,	SKP_KEEPER_E_INTERNAL },
	{ SKP_ERR_LIBRARY,	SKP_KEEPER_E_INTERNAL },
};

uint8_t
skp_keeper_error_of(int err)
{
	size_t i;

	for (i = 0; i < sizeof(errmap) / sizeof(errmap[0]); i++)
		if (errmap[i].err == err)
			return errmap[i].error;
	return SKP_KEEPER_E_INTERNAL;
}

int
skp_keeper_err_of(uint8_t error)
{
	size_t i;

	for (i = 0; i < sizeof(errmap) / sizeof(errmap[0]); i++)
		if (errmap[i].error == error)
			return errmap[i].err;
	return SKP_ERR_INTERNAL;
}

int
skp_keeper_open_encode(const char *url, const uint8_t *ca, size_t ca_len,
    uint32_t connect_ms, uint8_t **out, size_t *outlen)
{
	uint8_t hdr[SKP_RELAY_HDR_LEN];
	skp_buf_t *b;
	size_t ulen;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (url == NULL || (ca == NULL && ca_len > 0))
		return SKP_ERR_INVALID;
	ulen = strlen(url);
	if (ulen == 0 || ulen > SKP_KEEPER_URL_MAX ||
	    ca_len > SKP_KEEPER_CA_MAX)
		return SKP_ERR_TOO_LARGE;
	if ((b = skp_buf_new(SKP_RELAY_HDR_LEN + 7 + ulen + ca_len)) == NULL)
		return SKP_ERR_NOMEM;
	skp_relay_put_hdr(hdr, SKP_KEEPER_OPEN, 0);
	if ((rc = skp_buf_put(b, hdr, sizeof(hdr))) != SKP_OK ||
	    (rc = skp_buf_u8(b, SKP_KEEPER_VERSION)) != SKP_OK ||
	    (rc = skp_buf_u32(b, connect_ms)) != SKP_OK ||
	    (rc = skp_buf_u16(b, (uint16_t)ulen)) != SKP_OK ||
	    (rc = skp_buf_put(b, url, ulen)) != SKP_OK ||
	    (ca_len > 0 && (rc = skp_buf_put(b, ca, ca_len)) != SKP_OK) ||
	    (rc = skp_buf_steal(b, out, outlen)) != SKP_OK)
		goto out;
 out:
	skp_buf_free(&b);
	return rc;
}

static int
printable(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

int
skp_keeper_parse_open(const uint8_t *p, size_t n, struct skp_keeper_open *o)
{
	skp_reader_t r;
	uint32_t chan;
	uint16_t ulen;
	uint8_t kind;
	int rc;

	memset(o, 0, sizeof(*o));
	if (n > SKP_KEEPER_FRAME_MAX)
		return SKP_ERR_TOO_LARGE;
	skp_reader_init(&r, p, n);
	if ((rc = skp_reader_u8(&r, &kind)) != SKP_OK ||
	    (rc = skp_reader_u32(&r, &chan)) != SKP_OK ||
	    (rc = skp_reader_u8(&r, &o->version)) != SKP_OK ||
	    (rc = skp_reader_u32(&r, &o->connect_ms)) != SKP_OK ||
	    (rc = skp_reader_u16(&r, &ulen)) != SKP_OK ||
	    (rc = skp_reader_ptr(&r, (const uint8_t **)&o->url, ulen)) !=
	    SKP_OK)
		return rc;
	if (kind != SKP_KEEPER_OPEN || chan != 0 || ulen == 0 ||
	    ulen > SKP_KEEPER_URL_MAX || !printable((const uint8_t *)o->url,
	    ulen))
		return SKP_ERR_FORMAT;
	o->url_len = ulen;
	o->ca_len = skp_reader_left(&r);
	if (o->ca_len > 0 && (rc = skp_reader_ptr(&r, &o->ca, o->ca_len)) !=
	    SKP_OK)
		return rc;
	return SKP_OK;
}

int
skp_keeper_parse_client(const uint8_t *p, size_t n, struct skp_relay_frame *f)
{
	struct skp_keeper_open o;
	int rc;

	memset(f, 0, sizeof(*f));
	if (n > SKP_KEEPER_FRAME_MAX)
		return SKP_ERR_TOO_LARGE;
	if (n >= 1 && p[0] == SKP_KEEPER_OPEN) {
		if ((rc = skp_keeper_parse_open(p, n, &o)) != SKP_OK)
			return rc;
		f->kind = SKP_KEEPER_OPEN;
		return SKP_OK;
	}
	if ((rc = skp_relay_parse_client(p, n, f)) != SKP_OK)
		return rc;
	if (f->kind != SKP_RELAY_CALL && f->kind != SKP_RELAY_DATA &&
	    f->kind != SKP_RELAY_HANGUP)
		return SKP_ERR_FORMAT;
	return SKP_OK;
}

int
skp_keeper_parse_keeper(const uint8_t *p, size_t n,
    struct skp_keeper_frame *f)
{
	struct skp_relay_frame rf;
	skp_reader_t r;
	int rc;

	memset(f, 0, sizeof(*f));
	if (n > SKP_KEEPER_FRAME_MAX)
		return SKP_ERR_TOO_LARGE;
	if (n >= 1 && (p[0] == SKP_KEEPER_READY ||
	    p[0] == SKP_KEEPER_FAILED)) {
		skp_reader_init(&r, p, n);
		if ((rc = skp_reader_u8(&r, &f->kind)) != SKP_OK ||
		    (rc = skp_reader_u32(&r, &f->chan)) != SKP_OK)
			return rc;
		if (f->chan != 0)
			return SKP_ERR_FORMAT;
		if (f->kind == SKP_KEEPER_READY)
			return skp_reader_end(&r);
		if ((rc = skp_reader_u8(&r, &f->error)) != SKP_OK ||
		    (rc = skp_reader_u16(&r, &f->code)) != SKP_OK)
			return rc;
		f->len = skp_reader_left(&r);
		if (f->error == 0 || f->len > SKP_RELAY_REASON_MAX)
			return SKP_ERR_FORMAT;
		if (f->len > 0 && (rc = skp_reader_ptr(&r, &f->data,
		    f->len)) != SKP_OK)
			return rc;
		return printable(f->data, f->len) ? SKP_OK : SKP_ERR_FORMAT;
	}
	if ((rc = skp_relay_parse_relay(p, n, &rf)) != SKP_OK)
		return rc;
	if (rf.kind != SKP_RELAY_ONLINE && rf.kind != SKP_RELAY_OFFLINE &&
	    rf.kind != SKP_RELAY_DATA && rf.kind != SKP_RELAY_END)
		return SKP_ERR_FORMAT;
	f->kind = rf.kind;
	f->chan = rf.chan;
	f->code = rf.code;
	f->data = rf.data;
	f->len = rf.len;
	return SKP_OK;
}

int
skp_keeper_failed_encode(uint8_t error, uint16_t code, const char *reason,
    uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t n = reason != NULL ? strlen(reason) : 0, i;

	if (n > SKP_RELAY_REASON_MAX)
		n = SKP_RELAY_REASON_MAX;
	if (outsz < SKP_RELAY_HDR_LEN + 3 + n || error == 0)
		return SKP_ERR_INVALID;
	skp_relay_put_hdr(out, SKP_KEEPER_FAILED, 0);
	out[5] = error;
	out[6] = (uint8_t)(code >> 8);
	out[7] = (uint8_t)code;
	for (i = 0; i < n; i++)
		out[8 + i] = (uint8_t)reason[i] < 0x20 ||
		    (uint8_t)reason[i] > 0x7e ? '?' : (uint8_t)reason[i];
	*outlen = SKP_RELAY_HDR_LEN + 3 + n;
	return SKP_OK;
}

/* -- the provider's side -------------------------------------------- */

struct kevent {
	struct kevent	*next;
	uint8_t		 kind;
	uint32_t	 chan;
	uint16_t	 code;
	uint8_t		*buf;
	size_t		 len;
};

struct kchan {
	struct kchan	*next;
	uint32_t	 id;
	int		 ready;
};

struct skp_keeper {
	int		 fd;
	uint8_t		*open;		/* OPEN, sent with the first call */
	size_t		 openlen;
	uint64_t	 sent_at;	/* when OPEN went (mono ms) */
	int		 ready;
	int		 err;		/* the keeper failed: why */
	int		 keeper_fault;	/* ... itself, not the relay */
	int		 reached;	/* something came for a channel */
	unsigned int	 end_code;
	uint32_t	 next_chan;
	struct kchan	*chans;
	struct kevent	*evq;
	uint8_t		 rx[4 + SKP_KEEPER_FRAME_MAX];
	size_t		 rxlen;
	void		(*on_status)(void *, uint32_t, int);
	void		*arg;
	char		 why[200];
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
skp_keeper_socket_path(char *path, size_t pathsz)
{
	char dir[KC_PATH_MAX];
	int rc, n;

	if ((rc = skp_hostinfo_dir(1, dir, sizeof(dir))) != SKP_OK)
		return rc;
	n = snprintf(path, pathsz, "%s/%s", dir, SKP_KEEPER_SOCKET);
	if (n < 0 || (size_t)n >= pathsz || (size_t)n >= KC_PATH_MAX)
		return SKP_ERR_TOO_LARGE;
	return SKP_OK;
}

/* One try: the socket, when it is there, the user's and answers. */
static int
try_connect(const char *path, int *fdp)
{
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct stat st;
	int fd;

	*fdp = -1;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? SKP_ERR_NOT_FOUND : SKP_ERR_IO;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		return SKP_ERR_PERM;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return SKP_ERR_IO;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		/* A stale file (no keeper behind it), or none. */
		return errno == ECONNREFUSED || errno == ENOENT ?
		    SKP_ERR_NOT_FOUND : SKP_ERR_IO;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    cred.uid != geteuid()) {
		close(fd);
		return SKP_ERR_PERM;
	}
	*fdp = fd;
	return SKP_OK;
}

/*
 * `prog keeper`, detached: a double fork and setsid, so that it is no
 * child of ours and ssh never waits for it; its stdio on /dev/null (its
 * stderr on SK_PHONE_KEEPER_LOG when set, for tests), every other fd
 * closed, the signal mask emptied.
 */
static void
spawn(const char *prog)
{
	const char *log = secure_getenv("SK_PHONE_KEEPER_LOG");
	static char a0[] = "sk-phone", a1[] = "keeper", a2[] = "--foreground";
	char *argv[] = { a0, a1, a2, NULL };
	sigset_t none;
	pid_t pid;
	int fd, status;

	if ((pid = fork()) < 0)
		return;
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	if (setsid() < 0 || (pid = fork()) < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		_exit(1);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (log != NULL && log[0] == '/' && (fd = open(log, O_WRONLY |
	    O_CREAT | O_APPEND | O_NOFOLLOW, 0600)) >= 0)
		dup2(fd, 2);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	/* No folder of the caller's kept busy (a test's, a mount). */
	if (chdir("/") != 0)
		_exit(1);
	execv(prog, argv);
	_exit(127);
}

static int
kc_fail(skp_keeper_t *k, int err, int keeper_fault, const char *why)
{
	if (k->err == 0) {
		k->err = err;
		k->keeper_fault = keeper_fault;
		snprintf(k->why, sizeof(k->why), "%s", why);
	}
	if (k->fd >= 0) {
		close(k->fd);
		k->fd = -1;
	}
	return k->err;
}

int
skp_keeper_program(const char **prog)
{
	const char *v = secure_getenv("SK_PHONE_KEEPER");

	*prog = NULL;
	if (v == NULL || *v == '\0') {
		*prog = SKP_KEEPER_PROG;
		return SKP_OK;
	}
	if (strcmp(v, "off") == 0)
		return SKP_ERR_NOT_FOUND;
	*prog = v;
	return v[0] == '/' ? SKP_OK : SKP_ERR_INVALID;
}

int
skp_keeper_connect(const char *prog, const char *url, const char *ca_file,
    int connect_ms, void (*on_status)(void *, uint32_t, int), void *arg,
    skp_keeper_t **out)
{
	char path[KC_PATH_MAX];
	skp_keeper_t *k = NULL;
	skp_buf_t *ca = NULL;
	uint64_t until;
	int rc, fd = -1, started = 0;

	*out = NULL;
	if (url == NULL || connect_ms <= 0)
		return SKP_ERR_INVALID;
	if ((rc = skp_keeper_socket_path(path, sizeof(path))) != SKP_OK)
		return rc;
	/* The CA certificates themselves: the keeper keys on them. */
	if (ca_file != NULL &&
	    (rc = skp_file_read(ca_file, SKP_KEEPER_CA_MAX, &ca)) != SKP_OK)
		return rc;
	/* Not installed (a build not installed yet): go direct at once. */
	if (prog != NULL && access(prog, X_OK) != 0)
		prog = NULL;
	until = mono_ms() + SKP_KEEPER_READY_MS;
	for (;;) {
		rc = try_connect(path, &fd);
		if (rc != SKP_ERR_NOT_FOUND || prog == NULL)
			break;
		if (!started) {
			spawn(prog);
			started = 1;
		}
		if (mono_ms() >= until) {
			rc = SKP_ERR_TIMEOUT;
			break;
		}
		poll(NULL, 0, KC_STEP_MS);
	}
	if (rc != SKP_OK)
		goto out;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	k->fd = fd;
	fd = -1;
	k->on_status = on_status;
	k->arg = arg;
	if ((rc = skp_keeper_open_encode(url, ca != NULL ? skp_buf_ptr(ca) :
	    NULL, ca != NULL ? skp_buf_len(ca) : 0, (uint32_t)connect_ms,
	    &k->open, &k->openlen)) != SKP_OK)
		goto out;
	*out = k;
	k = NULL;
 out:
	skp_buf_free(&ca);
	if (fd >= 0)
		close(fd);
	skp_keeper_free(&k);
	return rc;
}

void
skp_keeper_free(skp_keeper_t **kp)
{
	skp_keeper_t *k;
	struct kchan *c, *cn;
	struct kevent *e, *en;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	if (k->fd >= 0)
		close(k->fd);
	free(k->open);
	for (c = k->chans; c != NULL; c = cn) {
		cn = c->next;
		free(c);
	}
	for (e = k->evq; e != NULL; e = en) {
		en = e->next;
		if (e->buf != NULL) {
			skp_wipe(e->buf, e->len);
			free(e->buf);
		}
		free(e);
	}
	skp_wipe(k, sizeof(*k));
	free(k);
	*kp = NULL;
}

static struct kchan *
chan_find(skp_keeper_t *k, uint32_t id)
{
	struct kchan *c;

	for (c = k->chans; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void
chan_del(skp_keeper_t *k, uint32_t id)
{
	struct kchan **cp, *c;

	for (cp = &k->chans; (c = *cp) != NULL; cp = &c->next)
		if (c->id == id) {
			*cp = c->next;
			free(c);
			return;
		}
}

/* Everything written at once; a unix socket takes a frame whole. */
static int
put_all(skp_keeper_t *k, const uint8_t *p, size_t n)
{
	struct pollfd pfd;
	ssize_t w;

	while (n > 0) {
		if (k->fd < 0)
			return k->err != 0 ? k->err : SKP_ERR_NETWORK;
		w = send(k->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			pfd.fd = k->fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 100);
			continue;
		}
		if (w <= 0)
			return kc_fail(k, SKP_ERR_NETWORK, 1,
			    "the keeper's socket broke while writing");
		p += w;
		n -= (size_t)w;
	}
	return SKP_OK;
}

/* Frames (each after its length) into one buffer. */
static int
put_frame(skp_buf_t *b, uint8_t kind, uint32_t chan, const void *body1,
    size_t len1, const void *body2, size_t len2)
{
	uint8_t hdr[SKP_RELAY_HDR_LEN];
	int rc;

	skp_relay_put_hdr(hdr, kind, chan);
	if ((rc = skp_buf_u32(b, (uint32_t)(SKP_RELAY_HDR_LEN + len1 +
	    len2))) != SKP_OK ||
	    (rc = skp_buf_put(b, hdr, sizeof(hdr))) != SKP_OK ||
	    (len1 > 0 && (rc = skp_buf_put(b, body1, len1)) != SKP_OK) ||
	    (len2 > 0 && (rc = skp_buf_put(b, body2, len2)) != SKP_OK))
		return rc;
	return SKP_OK;
}

int
skp_keeper_call_send(skp_keeper_t *k, const uint8_t mailbox[SKP_RELAY_ID_LEN],
    uint32_t timeout_ms, const void *msg, size_t len, uint32_t *chan)
{
	uint8_t to[4];
	struct kchan *c;
	skp_buf_t *b;
	int rc;

	if (k == NULL || mailbox == NULL || chan == NULL ||
	    (msg == NULL && len > 0))
		return SKP_ERR_INVALID;
	if (len > SKP_RELAY_MAX_MSG)
		return SKP_ERR_TOO_LARGE;
	if (k->err != 0)
		return k->err;
	if (k->next_chan == UINT32_MAX)
		return SKP_ERR_LIMIT;
	if ((b = skp_buf_new(k->openlen + 3 * 4 + 2 * SKP_RELAY_HDR_LEN +
	    SKP_RELAY_ID_LEN + 4 + len)) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		skp_buf_free(&b);
		return SKP_ERR_NOMEM;
	}
	c->id = ++k->next_chan;
	to[0] = (uint8_t)(timeout_ms >> 24);
	to[1] = (uint8_t)(timeout_ms >> 16);
	to[2] = (uint8_t)(timeout_ms >> 8);
	to[3] = (uint8_t)timeout_ms;
	if ((k->open != NULL &&
	    ((rc = skp_buf_u32(b, (uint32_t)k->openlen)) != SKP_OK ||
	    (rc = skp_buf_put(b, k->open, k->openlen)) != SKP_OK)) ||
	    (rc = put_frame(b, SKP_RELAY_CALL, c->id, mailbox,
	    SKP_RELAY_ID_LEN, to, sizeof(to))) != SKP_OK ||
	    (rc = put_frame(b, SKP_RELAY_DATA, c->id, msg, len, NULL, 0)) !=
	    SKP_OK) {
		free(c);
		goto out;
	}
	c->next = k->chans;
	k->chans = c;
	if (k->open != NULL)
		k->sent_at = mono_ms();
	rc = put_all(k, skp_buf_ptr(b), skp_buf_len(b));
	free(k->open);
	k->open = NULL;
	*chan = c->id;
 out:
	skp_buf_free(&b);	/* wiped */
	return rc;
}

int
skp_keeper_send(skp_keeper_t *k, uint32_t chan, const void *msg, size_t len)
{
	skp_buf_t *b;
	int rc;

	if (k == NULL || (msg == NULL && len > 0))
		return SKP_ERR_INVALID;
	if (len > SKP_RELAY_MAX_MSG)
		return SKP_ERR_TOO_LARGE;
	if (k->err != 0)
		return k->err;
	if (chan_find(k, chan) == NULL)
		return SKP_ERR_NOT_FOUND;
	if ((b = skp_buf_new(4 + SKP_RELAY_HDR_LEN + len)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = put_frame(b, SKP_RELAY_DATA, chan, msg, len, NULL, 0)) ==
	    SKP_OK)
		rc = put_all(k, skp_buf_ptr(b), skp_buf_len(b));
	skp_buf_free(&b);	/* wiped */
	return rc;
}

int
skp_keeper_hangup(skp_keeper_t *k, uint32_t chan)
{
	uint8_t f[4 + SKP_RELAY_HDR_LEN];

	if (k == NULL)
		return SKP_ERR_INVALID;
	if (chan_find(k, chan) == NULL)
		return SKP_ERR_NOT_FOUND;
	chan_del(k, chan);
	if (k->err != 0)
		return k->err;
	f[0] = f[1] = f[2] = 0;
	f[3] = SKP_RELAY_HDR_LEN;
	skp_relay_put_hdr(f + 4, SKP_RELAY_HANGUP, chan);
	return put_all(k, f, sizeof(f));
}

/* One frame from the keeper: queued, or the keeper's own news. */
static int
on_frame(skp_keeper_t *k, const uint8_t *p, size_t n)
{
	struct skp_keeper_frame f;
	struct kevent *e, **ep;
	char why[SKP_RELAY_REASON_MAX + 64];
	int rc, err;

	if ((rc = skp_keeper_parse_keeper(p, n, &f)) != SKP_OK)
		return kc_fail(k, SKP_ERR_FORMAT, 1,
		    "the keeper sent a malformed frame");
	if (f.kind == SKP_KEEPER_READY) {
		if (k->ready)
			return kc_fail(k, SKP_ERR_FORMAT, 1,
			    "the keeper said READY twice");
		k->ready = 1;
		return SKP_OK;
	}
	if (f.kind == SKP_KEEPER_FAILED) {
		err = skp_keeper_err_of(f.error);
		snprintf(why, sizeof(why), "the keeper failed: %.*s",
		    (int)f.len, f.data != NULL ? (const char *)f.data : "");
		/*
		 * Its own failure, or a relay connection that went before
		 * anything came: going direct may still work.
		 */
		return kc_fail(k, err, !k->reached &&
		    (f.error == SKP_KEEPER_E_REFUSED ||
		    f.error == SKP_KEEPER_E_INTERNAL ||
		    f.error == SKP_KEEPER_E_NETWORK ||
		    f.error == SKP_KEEPER_E_CLOSED), why);
	}
	if (!k->ready)
		return kc_fail(k, SKP_ERR_FORMAT, 1,
		    "the keeper answered before READY");
	/* A channel we hung up: the frames crossed. */
	if (chan_find(k, f.chan) == NULL)
		return SKP_OK;
	k->reached = 1;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return kc_fail(k, SKP_ERR_NOMEM, 0, "out of memory");
	e->kind = f.kind;
	e->chan = f.chan;
	e->code = f.code;
	if (f.kind == SKP_RELAY_DATA) {
		if ((e->buf = malloc(f.len > 0 ? f.len : 1)) == NULL) {
			free(e);
			return kc_fail(k, SKP_ERR_NOMEM, 0, "out of memory");
		}
		if (f.len > 0)
			memcpy(e->buf, f.data, f.len);
		e->len = f.len;
	}
	for (ep = &k->evq; *ep != NULL; ep = &(*ep)->next)
		;
	*ep = e;
	return SKP_OK;
}

/*
 * Reads what the keeper sent, waiting until `until' at most (and, before
 * READY, no more than SKP_KEEPER_READY_MS after OPEN went).
 */
static int
pump(skp_keeper_t *k, uint64_t until)
{
	struct pollfd pfd;
	uint64_t now = mono_ms(), limit = until;
	uint32_t flen;
	ssize_t n;
	int rc;

	if (k->fd < 0)
		return k->err != 0 ? k->err : SKP_ERR_NETWORK;
	if (!k->ready && k->sent_at != 0) {
		if (now >= k->sent_at + SKP_KEEPER_READY_MS)
			/* Not TIMEOUT: that is a step's end to callers. */
			return kc_fail(k, SKP_ERR_NETWORK, 1,
			    "no answer from the keeper within 1 s");
		if (limit > k->sent_at + SKP_KEEPER_READY_MS)
			limit = k->sent_at + SKP_KEEPER_READY_MS;
	}
	pfd.fd = k->fd;
	pfd.events = POLLIN;
	rc = poll(&pfd, 1, limit > now ? (int)(limit - now) : 0);
	if (rc < 0 && errno != EINTR)
		return kc_fail(k, SKP_ERR_NETWORK, 1,
		    "poll on the keeper's socket failed");
	if (rc <= 0)
		return SKP_OK;
	n = recv(k->fd, k->rx + k->rxlen, sizeof(k->rx) - k->rxlen, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return SKP_OK;
	if (n <= 0)
		return kc_fail(k, SKP_ERR_NETWORK, 1,
		    "the keeper went away (its socket closed)");
	k->rxlen += (size_t)n;
	while (k->rxlen >= 4) {
		flen = (uint32_t)k->rx[0] << 24 | (uint32_t)k->rx[1] << 16 |
		    (uint32_t)k->rx[2] << 8 | k->rx[3];
		if (flen < SKP_RELAY_HDR_LEN || flen > SKP_KEEPER_FRAME_MAX)
			return kc_fail(k, SKP_ERR_FORMAT, 1,
			    "the keeper sent a bad frame length");
		if (k->rxlen < 4 + (size_t)flen)
			break;
		if ((rc = on_frame(k, k->rx + 4, flen)) != SKP_OK)
			return rc;
		memmove(k->rx, k->rx + 4 + flen, k->rxlen - 4 - flen);
		k->rxlen -= 4 + flen;
	}
	return SKP_OK;
}

/*
 * Until the next event on chan that ends the wait: ONLINE (want_msg 0),
 * a message, or END. Status events go to on_status on the way.
 */
static int
chan_wait(skp_keeper_t *k, uint32_t chan, int timeout_ms, int want_msg,
    uint8_t **msg, size_t *len)
{
	struct kevent **ep, *e;
	struct kchan *c;
	uint64_t until = mono_ms() + (uint64_t)timeout_ms;
	int rc;

	for (;;) {
		for (ep = &k->evq; (e = *ep) != NULL; ) {
			if (e->chan != chan) {
				ep = &e->next;
				continue;
			}
			if (e->kind == SKP_RELAY_DATA && !want_msg)
				return SKP_OK;
			*ep = e->next;
			c = chan_find(k, chan);
			switch (e->kind) {
			case SKP_RELAY_ONLINE:
			case SKP_RELAY_OFFLINE:
				if (e->kind == SKP_RELAY_ONLINE && c != NULL)
					c->ready = 1;
				if (k->on_status != NULL)
					k->on_status(k->arg, chan,
					    e->kind == SKP_RELAY_ONLINE ?
					    SKP_RELAY_EV_ONLINE :
					    SKP_RELAY_EV_OFFLINE);
				free(e);
				if (!want_msg && c != NULL && c->ready)
					return SKP_OK;
				continue;
			case SKP_RELAY_DATA:
				*msg = e->buf;
				*len = e->len;
				free(e);
				return SKP_OK;
			default:	/* END */
				k->end_code = e->code;
				rc = skp_relay_code_err(e->code);
				chan_del(k, chan);
				free(e);
				return rc;
			}
		}
		if (k->err != 0)
			return k->err;
		if (chan_find(k, chan) == NULL)
			return SKP_ERR_NOT_FOUND;
		if (mono_ms() >= until)
			return SKP_ERR_TIMEOUT;
		if ((rc = pump(k, until)) != SKP_OK)
			return rc;
	}
}

int
skp_keeper_wait(skp_keeper_t *k, uint32_t chan, int timeout_ms)
{
	struct kchan *c;

	if (k == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if ((c = chan_find(k, chan)) != NULL && c->ready)
		return SKP_OK;
	return chan_wait(k, chan, timeout_ms, 0, NULL, NULL);
}

int
skp_keeper_recv(skp_keeper_t *k, uint32_t chan, int timeout_ms,
    uint8_t **msg, size_t *len)
{
	if (k == NULL || msg == NULL || len == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	*msg = NULL;
	*len = 0;
	return chan_wait(k, chan, timeout_ms, 1, msg, len);
}

unsigned int
skp_keeper_end_code(const skp_keeper_t *k)
{
	return k != NULL ? k->end_code : 0;
}

int
skp_keeper_went_away(const skp_keeper_t *k)
{
	if (k == NULL || k->err == 0 || !k->keeper_fault)
		return 0;
	return k->reached ? 2 : 1;
}

const char *
skp_keeper_why(const skp_keeper_t *k)
{
	return k != NULL && k->why[0] != '\0' ? k->why : "";
}
