/* Incremental parser of the SSH transport up to NEWKEYS: host key and KEX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/err.h"
#include "sk-phone/sshwire.h"

/* Message numbers (RFC 4250, RFC 4419). */
#define MSG_DISCONNECT		1
#define MSG_IGNORE		2
#define MSG_UNIMPLEMENTED	3
#define MSG_DEBUG		4
#define MSG_KEXINIT		20
#define MSG_NEWKEYS		21
#define MSG_KEX_FIRST		30
#define MSG_KEX_LAST		49
#define MSG_KEX_REPLY		31	/* KEXDH/ECDH/hybrid reply; GEX group */
#define MSG_KEX_GEX_REPLY	33

#define KEXINIT_COOKIE_LEN	16
#define KEXINIT_LISTS		10
#define BLOCK_SIZE		8	/* "none" cipher: RFC 4253 section 6 */
#define PAD_MIN			4

enum dir_state {
	ST_LINE,	/* reading version or pre-banner lines */
	ST_HEAD,	/* reading packet_length, padding_length, type */
	ST_BODY,	/* keeping the rest of a payload */
	ST_SKIP,	/* dropping bytes until the next packet */
	ST_IDLE		/* nothing more is wanted from this direction */
};

struct kexinit {
	int	 seen;
	char	*kex;		/* the name-lists that matter, NUL terminated */
	char	*hostkey;
	int	 follows;	/* first_kex_packet_follows */
};

struct dir {
	enum dir_state	 st;
	/* lines */
	size_t		 linelen;
	unsigned int	 lines;
	int		 cr;
	char		 line[SKP_SSHWIRE_VERSION_MAX + 1];
	/* packets */
	uint8_t		 head[6];
	size_t		 headlen;
	uint8_t		*body;
	size_t		 bodylen;
	size_t		 bodyneed;
	size_t		 skip;		/* bytes left to drop */
	size_t		 padding;	/* dropped after a kept payload */
	struct kexinit	 ki;
};

struct skp_sshwire {
	int		 status;
	struct dir	 d[2];
	int		 negotiated;
	int		 gex;
	int		 skip_guess;	/* the server's wrong guess to drop */
	char		 kex[SKP_SSHWIRE_NAME_MAX + 1];
	char		 hkalg[SKP_SSHWIRE_NAME_MAX + 1];
	char		 version[SKP_SSHWIRE_VERSION_MAX + 1];
	uint8_t		*hostkey;
	size_t		 hostkeylen;
	uint8_t		*sig;
	size_t		 siglen;
};

skp_sshwire_t *
skp_sshwire_new(void)
{
	skp_sshwire_t *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->status = SKP_SSHWIRE_MORE;
	w->d[0].st = ST_LINE;
	w->d[1].st = ST_LINE;
	return w;
}

static void
dir_release(struct dir *d)
{
	free(d->body);
	d->body = NULL;
	d->bodylen = d->bodyneed = 0;
	free(d->ki.kex);
	free(d->ki.hostkey);
	d->ki.kex = d->ki.hostkey = NULL;
}

void
skp_sshwire_free(skp_sshwire_t **wp)
{
	skp_sshwire_t *w;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	dir_release(&w->d[0]);
	dir_release(&w->d[1]);
	free(w->hostkey);
	free(w->sig);
	free(w);
	*wp = NULL;
}

/* RFC 4251 section 6: printable US-ASCII without comma or space. */
static int
name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > SKP_SSHWIRE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] > '~' || p[i] == ',')
			return 0;
	return 1;
}

/* A name-list as a NUL-terminated copy, each name checked. */
static int
namelist_dup(const uint8_t *p, size_t n, char **out)
{
	const char *s = (const char *)p;
	size_t i, start = 0;
	char *c;

	if (n == 0) {
		*out = NULL;
		return SKP_ERR_FORMAT;
	}
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		if (!name_ok(s + start, i - start))
			return SKP_ERR_FORMAT;
		start = i + 1;
	}
	if ((c = malloc(n + 1)) == NULL)
		return SKP_ERR_NOMEM;
	memcpy(c, p, n);
	c[n] = '\0';
	*out = c;
	return SKP_OK;
}

/* Whether name (n bytes) is one of the comma-separated list. */
static int
in_list(const char *list, const char *name, size_t n)
{
	const char *p = list, *e;

	for (;;) {
		e = strchr(p, ',');
		if ((e == NULL ? strlen(p) : (size_t)(e - p)) == n &&
		    memcmp(p, name, n) == 0)
			return 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

/*
 * Markers some clients and servers list among their kex methods to signal
 * an extension, never a method both use (RFC 8308, OpenSSH's strict kex).
 */
static int
pseudo_kex(const char *name, size_t n)
{
	static const char *const prefixes[] = { "ext-info-", "kex-strict-" };
	size_t i, pl;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		pl = strlen(prefixes[i]);
		if (n >= pl && memcmp(name, prefixes[i], pl) == 0)
			return 1;
	}
	return 0;
}

/* The first name of the client's list that the server lists too. */
static int
choose(const char *client, const char *server, int skip_pseudo, char *out)
{
	const char *p = client, *e;
	size_t n;

	for (;;) {
		e = strchr(p, ',');
		n = e == NULL ? strlen(p) : (size_t)(e - p);
		if (!(skip_pseudo && pseudo_kex(p, n)) &&
		    in_list(server, p, n)) {
			memcpy(out, p, n);
			out[n] = '\0';
			return SKP_OK;
		}
		if (e == NULL)
			return SKP_ERR_UNSUPPORTED;
		p = e + 1;
	}
}

static int
same_first(const char *a, const char *b)
{
	size_t na = strcspn(a, ","), nb = strcspn(b, ",");

	return na == nb && memcmp(a, b, na) == 0;
}

static int
negotiate(skp_sshwire_t *w)
{
	const struct kexinit *c = &w->d[SKP_SSHWIRE_C2S].ki;
	const struct kexinit *s = &w->d[SKP_SSHWIRE_S2C].ki;
	static const char gex[] = "diffie-hellman-group-exchange-";
	int rc;

	if ((rc = choose(c->kex, s->kex, 1, w->kex)) != SKP_OK ||
	    (rc = choose(c->hostkey, s->hostkey, 0, w->hkalg)) != SKP_OK)
		return rc;
	/* GSSAPI key exchange numbers its messages differently. */
	if (strncmp(w->kex, "gss-", 4) == 0)
		return SKP_ERR_UNSUPPORTED;
	w->gex = strncmp(w->kex, gex, sizeof(gex) - 1) == 0;
	/*
	 * RFC 4253 section 7: a guessed packet that follows the server's
	 * KEXINIT is dropped when the first kex or host key method of the two
	 * sides differ. OpenSSH never guesses, but the rule costs one flag.
	 */
	if (s->follows && (!same_first(c->kex, s->kex) ||
	    !same_first(c->hostkey, s->hostkey)))
		w->skip_guess = 1;
	w->negotiated = 1;
	return SKP_OK;
}

/*
 * byte 20, cookie, ten name-lists, boolean, uint32 reserved. Bytes after
 * that are ignored, as OpenSSH does, so that a server it talks to is not
 * one this parser gives up on.
 */
static int
parse_kexinit(struct kexinit *ki, const uint8_t *p, size_t n)
{
	const uint8_t *lists[KEXINIT_LISTS];
	size_t lens[KEXINIT_LISTS];
	skp_reader_t r;
	uint32_t reserved;
	uint8_t type, follows;
	size_t i;
	int rc;

	skp_reader_init(&r, p, n);
	if ((rc = skp_reader_u8(&r, &type)) != SKP_OK ||
	    (rc = skp_reader_ptr(&r, NULL, KEXINIT_COOKIE_LEN)) != SKP_OK)
		return rc;
	for (i = 0; i < KEXINIT_LISTS; i++)
		if ((rc = skp_reader_string(&r, &lists[i], &lens[i],
		    SKP_SSHWIRE_PACKET_MAX)) != SKP_OK)
			return rc;
	if ((rc = skp_reader_u8(&r, &follows)) != SKP_OK ||
	    (rc = skp_reader_u32(&r, &reserved)) != SKP_OK)
		return rc;
	if ((rc = namelist_dup(lists[0], lens[0], &ki->kex)) != SKP_OK ||
	    (rc = namelist_dup(lists[1], lens[1], &ki->hostkey)) != SKP_OK)
		return rc;
	ki->follows = follows != 0;
	ki->seen = 1;
	return SKP_OK;
}

/* A blob that starts with string algorithm-name, as keys and sigs do. */
static int
blob_named(const uint8_t *p, size_t n)
{
	const uint8_t *name;
	size_t namelen;
	skp_reader_t r;

	skp_reader_init(&r, p, n);
	if (skp_reader_string(&r, &name, &namelen, SKP_SSHWIRE_NAME_MAX) !=
	    SKP_OK || !name_ok((const char *)name, namelen))
		return SKP_ERR_FORMAT;
	return SKP_OK;
}

/* byte 31 or 33, string K_S, string Q_S or mpint f, string signature. */
static int
parse_reply(skp_sshwire_t *w, const uint8_t *p, size_t n)
{
	const uint8_t *ks, *qs, *sig;
	size_t kslen, qslen, siglen;
	skp_reader_t r;
	uint8_t type;
	int rc;

	skp_reader_init(&r, p, n);
	if ((rc = skp_reader_u8(&r, &type)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &ks, &kslen,
	    SKP_SSHWIRE_HOSTKEY_MAX)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &qs, &qslen,
	    SKP_SSHWIRE_PACKET_MAX)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &sig, &siglen,
	    SKP_SSHWIRE_SIG_MAX)) != SKP_OK ||
	    (rc = skp_reader_end(&r)) != SKP_OK)
		return rc;
	(void)qs;
	(void)qslen;
	if ((rc = blob_named(ks, kslen)) != SKP_OK ||
	    (rc = blob_named(sig, siglen)) != SKP_OK)
		return rc;
	if ((w->hostkey = malloc(kslen)) == NULL ||
	    (w->sig = malloc(siglen)) == NULL)
		return SKP_ERR_NOMEM;
	memcpy(w->hostkey, ks, kslen);
	w->hostkeylen = kslen;
	memcpy(w->sig, sig, siglen);
	w->siglen = siglen;
	return SKP_SSHWIRE_DONE;
}

/* A whole payload that was kept: a KEXINIT or the server's KEX reply. */
static int
packet_done(skp_sshwire_t *w, int dir, const uint8_t *p, size_t n)
{
	struct dir *d = &w->d[dir];
	int rc;

	if (p[0] == MSG_KEXINIT) {
		if ((rc = parse_kexinit(&d->ki, p, n)) != SKP_OK)
			return rc;
		/* The client has nothing more to tell. */
		if (dir == SKP_SSHWIRE_C2S)
			d->st = ST_IDLE;
		if (w->d[0].ki.seen && w->d[1].ki.seen &&
		    (rc = negotiate(w)) != SKP_OK)
			return rc;
		return SKP_SSHWIRE_MORE;
	}
	return parse_reply(w, p, n);
}

/*
 * Decide from the message type whether to keep the payload, drop the
 * packet, or give up. Answers 1 keep, 0 drop, or an error.
 */
static int
packet_wanted(skp_sshwire_t *w, int dir, uint8_t type)
{
	const struct dir *d = &w->d[dir];

	switch (type) {
	case MSG_IGNORE:
	case MSG_UNIMPLEMENTED:
	case MSG_DEBUG:
		return 0;
	case MSG_DISCONNECT:
		return SKP_ERR_CLOSED;
	case MSG_KEXINIT:
		return d->ki.seen ? SKP_ERR_FORMAT : 1;
	case MSG_NEWKEYS:
		return SKP_ERR_STATE;
	default:
		break;
	}
	if (dir == SKP_SSHWIRE_C2S || type < MSG_KEX_FIRST ||
	    type > MSG_KEX_LAST || !d->ki.seen)
		return SKP_ERR_FORMAT;
	/* The reply can only follow the client's KEXINIT, which it answers. */
	if (!w->negotiated)
		return SKP_ERR_STATE;
	if (w->skip_guess) {
		w->skip_guess = 0;
		return 0;
	}
	if (w->gex)
		/* 31 is then the group; the reply is 33. */
		return type == MSG_KEX_REPLY ? 0 :
		    type == MSG_KEX_GEX_REPLY ? 1 : SKP_ERR_FORMAT;
	return type == MSG_KEX_REPLY ? 1 : SKP_ERR_FORMAT;
}

/* One complete line; the version line switches to packets. */
static int
line_done(skp_sshwire_t *w, int dir)
{
	struct dir *d = &w->d[dir];
	size_t kept = d->linelen < SKP_SSHWIRE_VERSION_MAX ? d->linelen :
	    SKP_SSHWIRE_VERSION_MAX;
	size_t i;

	d->line[kept] = '\0';
	if (d->linelen < 4 || memcmp(d->line, "SSH-", 4) != 0) {
		/* RFC 4253 section 4.2: other lines may precede it. */
		if (++d->lines > SKP_SSHWIRE_LINES_MAX)
			return SKP_ERR_TOO_LARGE;
		d->linelen = 0;
		return SKP_SSHWIRE_MORE;
	}
	if (strncmp(d->line, "SSH-2.0-", 8) != 0 &&
	    strncmp(d->line, "SSH-1.99-", 9) != 0)
		return SKP_ERR_UNSUPPORTED;
	for (i = 0; i < kept; i++)
		if (d->line[i] < ' ' || d->line[i] > '~')
			return SKP_ERR_FORMAT;
	if (dir == SKP_SSHWIRE_S2C)
		memcpy(w->version, d->line, kept + 1);
	d->st = ST_HEAD;
	d->headlen = 0;
	return SKP_SSHWIRE_MORE;
}

/* Consume line bytes; answers how many through *used. */
static int
feed_line(skp_sshwire_t *w, int dir, const uint8_t *p, size_t n,
    size_t *used)
{
	struct dir *d = &w->d[dir];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			d->cr = 0;
			*used = i + 1;
			return line_done(w, dir);
		}
		/* A CR anywhere but before LF, or a NUL: not a banner. */
		if (d->cr || p[i] == '\0') {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		if (p[i] == '\r') {
			d->cr = 1;
			continue;
		}
		if (d->linelen >= SKP_SSHWIRE_LINE_MAX) {
			rc = SKP_ERR_TOO_LARGE;
			goto out;
		}
		if (d->linelen < SKP_SSHWIRE_VERSION_MAX)
			d->line[d->linelen] = (char)p[i];
		d->linelen++;
	}
	rc = SKP_SSHWIRE_MORE;
out:
	*used = i;
	return rc;
}

/* The six bytes before the payload's body are in: check them, decide. */
static int
head_done(skp_sshwire_t *w, int dir)
{
	struct dir *d = &w->d[dir];
	uint32_t packlen;
	size_t padlen, paylen;
	skp_reader_t r;
	int keep;

	skp_reader_init(&r, d->head, sizeof(d->head));
	(void)skp_reader_u32(&r, &packlen);
	padlen = d->head[4];
	/* The checks OpenSSH makes before it decrypts nothing. */
	if (packlen < 1 + PAD_MIN || packlen > SKP_SSHWIRE_PACKET_MAX)
		return SKP_ERR_TOO_LARGE;
	if (((size_t)packlen + 4) % BLOCK_SIZE != 0 || padlen < PAD_MIN ||
	    padlen + 1 >= packlen)
		return SKP_ERR_FORMAT;
	paylen = packlen - padlen - 1;
	if ((keep = packet_wanted(w, dir, d->head[5])) < 0)
		return keep;
	if (!keep) {
		d->st = ST_SKIP;
		d->skip = packlen - 2;
		return SKP_SSHWIRE_MORE;
	}
	/*
	 * Every packet kept has more than its type byte; saying so now keeps
	 * the outcome the same however the bytes are chunked.
	 */
	if (paylen < 2)
		return SKP_ERR_TRUNCATED;
	if ((d->body = malloc(paylen)) == NULL)
		return SKP_ERR_NOMEM;
	d->body[0] = d->head[5];
	d->bodylen = 1;
	d->bodyneed = paylen;
	d->padding = padlen;
	d->st = ST_BODY;
	return SKP_SSHWIRE_MORE;
}

static int
feed_packets(skp_sshwire_t *w, int dir, const uint8_t *p, size_t n,
    size_t *used)
{
	struct dir *d = &w->d[dir];
	size_t take, off = 0;
	int rc = SKP_SSHWIRE_MORE;

	while (off < n && rc == SKP_SSHWIRE_MORE) {
		switch (d->st) {
		case ST_HEAD:
			take = sizeof(d->head) - d->headlen;
			take = take < n - off ? take : n - off;
			memcpy(d->head + d->headlen, p + off, take);
			d->headlen += take;
			off += take;
			if (d->headlen == sizeof(d->head))
				rc = head_done(w, dir);
			break;
		case ST_BODY:
			take = d->bodyneed - d->bodylen;
			take = take < n - off ? take : n - off;
			memcpy(d->body + d->bodylen, p + off, take);
			d->bodylen += take;
			off += take;
			if (d->bodylen < d->bodyneed)
				break;
			rc = packet_done(w, dir, d->body, d->bodylen);
			free(d->body);
			d->body = NULL;
			d->bodylen = d->bodyneed = 0;
			if (d->st == ST_BODY) {
				d->st = ST_SKIP;
				d->skip = d->padding;
			}
			break;
		case ST_SKIP:
			take = d->skip < n - off ? d->skip : n - off;
			d->skip -= take;
			off += take;
			break;
		case ST_IDLE:
		case ST_LINE:
			off = n;
			break;
		}
		if (d->st == ST_SKIP && d->skip == 0) {
			d->st = ST_HEAD;
			d->headlen = 0;
		}
	}
	*used = off;
	return rc;
}

int
skp_sshwire_feed(skp_sshwire_t *w, int dir, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0, used;
	struct dir *d;
	int rc;

	if (w == NULL || (dir != SKP_SSHWIRE_C2S && dir != SKP_SSHWIRE_S2C) ||
	    (p == NULL && len > 0))
		return SKP_ERR_INVALID;
	if (w->status != SKP_SSHWIRE_MORE)
		return w->status;
	d = &w->d[dir];
	rc = SKP_SSHWIRE_MORE;
	while (off < len && rc == SKP_SSHWIRE_MORE && d->st != ST_IDLE) {
		used = 0;
		if (d->st == ST_LINE)
			rc = feed_line(w, dir, p + off, len - off, &used);
		else
			rc = feed_packets(w, dir, p + off, len - off, &used);
		off += used;
	}
	w->status = rc;
	/* Finished either way: nothing but the result is worth keeping. */
	if (rc != SKP_SSHWIRE_MORE) {
		dir_release(&w->d[0]);
		dir_release(&w->d[1]);
		w->d[0].st = w->d[1].st = ST_IDLE;
		if (rc != SKP_SSHWIRE_DONE) {
			w->kex[0] = w->hkalg[0] = '\0';
			free(w->hostkey);
			free(w->sig);
			w->hostkey = w->sig = NULL;
			w->hostkeylen = w->siglen = 0;
		}
	}
	return rc;
}

int
skp_sshwire_status(const skp_sshwire_t *w)
{
	return w == NULL ? SKP_ERR_INVALID : w->status;
}

const char *
skp_sshwire_kex(const skp_sshwire_t *w)
{
	return w->status == SKP_SSHWIRE_DONE ? w->kex : "";
}

const char *
skp_sshwire_hostkey_alg(const skp_sshwire_t *w)
{
	return w->status == SKP_SSHWIRE_DONE ? w->hkalg : "";
}

const char *
skp_sshwire_server_version(const skp_sshwire_t *w)
{
	return w->status == SKP_SSHWIRE_DONE ? w->version : "";
}

void
skp_sshwire_hostkey(const skp_sshwire_t *w, const uint8_t **p, size_t *n)
{
	*p = w->status == SKP_SSHWIRE_DONE ? w->hostkey : NULL;
	*n = w->status == SKP_SSHWIRE_DONE ? w->hostkeylen : 0;
}

void
skp_sshwire_signature(const skp_sshwire_t *w, const uint8_t **p, size_t *n)
{
	*p = w->status == SKP_SSHWIRE_DONE ? w->sig : NULL;
	*n = w->status == SKP_SSHWIRE_DONE ? w->siglen : 0;
}
