/* Saved TLS sessions of wss:// relays: the file (§6.7), OpenSSL's hooks. */
/* libwebsockets.h (through lazylib.h) names OpenSSL types that
 * OPENSSL_NO_DEPRECATED hides (RSA). */
#undef OPENSSL_NO_DEPRECATED
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cbor.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sk-phone/buf.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/lazylib.h"
#include "sk-phone/store.h"
#include "sk-phone/tlssess.h"

#define NKEYS(a)	(sizeof(a) / sizeof((a)[0]))
#define CA_FILE_MAX	(1024 * 1024)	/* larger: no sessions */
#define DIR_MAX		4096
#define CLOCK_SLACK_S	300		/* a saved time this far ahead */

struct skp_tlssess {
	char		 dir[DIR_MAX];	/* "": nothing loaded or saved */
	char		 origin[SKP_TLSSESS_ORIGIN_MAX + 1];
	uint8_t		 trust[SKP_SHA256_LEN];
	SSL_SESSION	*loaded;	/* offered in the ClientHello */
	int		 applied;
	int		 done;		/* the handshake finished */
	int		 resumed;
	uint8_t		*fresh;		/* the last the relay gave, DER */
	size_t		 freshlen;
	void		(*say)(void *, const char *);
	void		*say_arg;
};

static int		ex_index = -1;
static pthread_once_t	ex_once = PTHREAD_ONCE_INIT;

static void dbg(const skp_tlssess_t *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A line for the caller's debug output (never a secret). */
static void
dbg(const skp_tlssess_t *s, const char *fmt, ...)
{
	char line[768];
	va_list ap;

	if (s->say == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->say(s->say_arg, line);
}

/* "host:port": printable ASCII without spaces, a colon not first. */
static int
origin_ok(const char *o)
{
	size_t i, n = strlen(o);

	if (n < 3 || o[0] == ':' || strrchr(o, ':') == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (o[i] <= 0x20 || o[i] >= 0x7f)
			return 0;
	return 1;
}

void
skp_tlssess_list_clear(struct skp_tlssess_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n && i < SKP_TLSSESS_MAX; i++) {
		if (l->e[i].der != NULL) {
			skp_wipe(l->e[i].der, l->e[i].derlen);
			free(l->e[i].der);
		}
	}
	skp_wipe(l, sizeof(*l));
}

static int
entry_decode(const cbor_item_t *m, struct skp_tlssess_entry *e)
{
	static const int64_t keys[] = { 1, 2, 3, 4 };
	cbor_item_t *v = NULL;
	const uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	if (!cbor_isa_map(m))
		return SKP_ERR_CBOR_TYPE;
	if ((rc = skp_cbor_map_only(m, keys, NKEYS(keys))) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_text(v, SKP_TLSSESS_ORIGIN_MAX, e->origin,
	    sizeof(e->origin))) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 2, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, sizeof(e->trust), sizeof(e->trust),
	    e->trust, &len)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 3, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes_ptr(v, SKP_TLSSESS_DER_MAX, &der,
	    &len)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 4, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &e->saved)) != SKP_OK)
		return rc;
	if (len == 0 || !origin_ok(e->origin))
		return SKP_ERR_FORMAT;
	if ((e->der = malloc(len)) == NULL)
		return SKP_ERR_NOMEM;
	memcpy(e->der, der, len);
	e->derlen = len;
	return SKP_OK;
}

int
skp_tlssess_decode(const uint8_t *p, size_t n, struct skp_tlssess_list *l)
{
	static const int64_t keys[] = { 1 };
	cbor_item_t *m = NULL, *arr = NULL, **items;
	size_t i, j, count;
	int rc;

	if (l == NULL || (p == NULL && n > 0))
		return SKP_ERR_INVALID;
	memset(l, 0, sizeof(*l));
	if ((rc = skp_cbor_load_map(p, n, SKP_STORE_PAYLOAD_MAX, keys,
	    NKEYS(keys), &m)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_ARRAY, &arr)) != SKP_OK)
		goto out;
	if ((count = cbor_array_size(arr)) > SKP_TLSSESS_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	items = cbor_array_handle(arr);
	for (i = 0; i < count; i++) {
		if ((rc = entry_decode(items[i], &l->e[i])) != SKP_OK) {
			/* What it copied is freed with the list. */
			l->n = i + 1;
			goto out;
		}
		l->n = i + 1;
		/* One session per relay and trust. */
		for (j = 0; j < i; j++)
			if (strcmp(l->e[j].origin, l->e[i].origin) == 0 &&
			    memcmp(l->e[j].trust, l->e[i].trust,
			    sizeof(l->e[i].trust)) == 0) {
				rc = SKP_ERR_FORMAT;
				goto out;
			}
	}
	rc = SKP_OK;
out:
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_FORMAT;
	if (rc != SKP_OK)
		skp_tlssess_list_clear(l);
	skp_cbor_free(&m);
	return rc;
}

int
skp_tlssess_encode(const struct skp_tlssess_list *l, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *top = NULL, *arr = NULL, *e;
	size_t i;
	int rc;

	if (l == NULL || out == NULL || outlen == NULL ||
	    l->n > SKP_TLSSESS_MAX)
		return SKP_ERR_INVALID;
	if ((top = skp_cbor_map(1)) == NULL ||
	    (arr = skp_cbor_array(l->n)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < l->n; i++) {
		if (!origin_ok(l->e[i].origin) || l->e[i].derlen == 0 ||
		    l->e[i].derlen > SKP_TLSSESS_DER_MAX) {
			rc = SKP_ERR_INVALID;
			goto out;
		}
		if ((e = skp_cbor_map(4)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		if ((rc = skp_cbor_map_put(e, 1,
		    skp_cbor_text(l->e[i].origin))) != SKP_OK ||
		    (rc = skp_cbor_map_put(e, 2, skp_cbor_bytes(l->e[i].trust,
		    sizeof(l->e[i].trust)))) != SKP_OK ||
		    (rc = skp_cbor_map_put(e, 3, skp_cbor_bytes(l->e[i].der,
		    l->e[i].derlen))) != SKP_OK ||
		    (rc = skp_cbor_map_put(e, 4,
		    skp_cbor_uint(l->e[i].saved))) != SKP_OK) {
			skp_cbor_free(&e);
			goto out;
		}
		if ((rc = skp_cbor_array_push(arr, e)) != SKP_OK)
			goto out;
	}
	rc = skp_cbor_map_put(top, 1, arr);
	arr = NULL;
	if (rc != SKP_OK)
		goto out;
	rc = skp_cbor_encode(top, SKP_STORE_PAYLOAD_MAX, out, outlen);
out:
	skp_cbor_free(&arr);
	skp_cbor_free(&top);
	return rc;
}

/* SHA-256 of the CA file's bytes, or of nothing for the system's CAs. */
static int
trust_of(const char *ca_file, uint8_t out[SKP_SHA256_LEN])
{
	skp_buf_t *b;
	int rc;

	if (ca_file == NULL)
		return skp_sha256("", 0, out);
	if ((rc = skp_file_read(ca_file, CA_FILE_MAX, &b)) != SKP_OK)
		return rc;
	rc = skp_sha256(skp_buf_ptr(b), skp_buf_len(b), out);
	skp_buf_free(&b);
	return rc;
}

/* The session saved for this relay and trust, if one is fit to offer. */
static void
load(skp_tlssess_t *s)
{
	struct skp_tlssess_list l;
	const struct skp_tlssess_entry *e = NULL;
	const unsigned char *q;
	SSL_SESSION *sess;
	skp_buf_t *b = NULL;
	char why[512];
	uint64_t now = (uint64_t)time(NULL);
	size_t i;
	int rc;

	memset(&l, 0, sizeof(l));
	if ((rc = skp_store_read(s->dir, SKP_TLSSESS_FILE, &b, why,
	    sizeof(why))) != SKP_OK) {
		if (rc != SKP_ERR_NOT_FOUND)
			dbg(s, "saved TLS sessions not used: %s", why);
		goto out;
	}
	if (skp_tlssess_decode(skp_buf_ptr(b), skp_buf_len(b), &l) !=
	    SKP_OK) {
		dbg(s, "saved TLS sessions not used: %s/%s does not decode "
		    "(it is written anew)", s->dir, SKP_TLSSESS_FILE);
		goto out;
	}
	for (i = 0; i < l.n; i++)
		if (strcmp(l.e[i].origin, s->origin) == 0 &&
		    memcmp(l.e[i].trust, s->trust, sizeof(s->trust)) == 0)
			e = &l.e[i];
	if (e == NULL)
		goto out;
	if (e->saved > now + CLOCK_SLACK_S ||
	    now - e->saved > SKP_TLSSESS_AGE_MAX) {
		dbg(s, "the saved TLS session of %s is too old", s->origin);
		goto out;
	}
	q = e->der;
	sess = sym_d2i_SSL_SESSION(NULL, &q, (long)e->derlen);
	if (sess == NULL || q != e->der + e->derlen ||
	    !sym_SSL_SESSION_is_resumable(sess) ||
	    now > (uint64_t)sym_SSL_SESSION_get_time(sess) +
	    (uint64_t)sym_SSL_SESSION_get_timeout(sess)) {
		dbg(s, "the saved TLS session of %s is not usable",
		    s->origin);
		sym_SSL_SESSION_free(sess);
		ERR_clear_error();
		goto out;
	}
	s->loaded = sess;
out:
	skp_tlssess_list_clear(&l);
	skp_buf_free(&b);
}

skp_tlssess_t *
skp_tlssess_new(const char *dir, const char *host, int port,
    const char *ca_file, void (*say)(void *, const char *), void *say_arg)
{
	skp_tlssess_t *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->say = say;
	s->say_arg = say_arg;
	if (dir == NULL || host == NULL || strlen(dir) >= sizeof(s->dir) ||
	    (size_t)snprintf(s->origin, sizeof(s->origin), "%s:%d", host,
	    port) >= sizeof(s->origin) || !origin_ok(s->origin))
		return s;
	if (trust_of(ca_file, s->trust) != SKP_OK) {
		dbg(s, "no saved TLS session: cannot read %s", ca_file);
		return s;
	}
	/* Without libssl (said once on stderr), a full handshake. */
	if (skp_lazylib_load() != SKP_OK)
		return s;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	load(s);
	return s;
}

static void
ex_init(void)
{
	ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static skp_tlssess_t *
of_ssl(const SSL *ssl)
{
	return ex_index < 0 ? NULL :
	    sym_SSL_CTX_get_ex_data(sym_SSL_get_SSL_CTX(ssl), ex_index);
}

/*
 * OpenSSL calls this before it builds the ClientHello of a connection,
 * which then offers the session. The only place where libwebsockets
 * (4.1) lets one reach the SSL object before the handshake.
 */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	skp_tlssess_t *s;

	(void)ret;
	if (where != SSL_CB_HANDSHAKE_START || (s = of_ssl(ssl)) == NULL ||
	    s->loaded == NULL || s->applied)
		return;
	s->applied = 1;
	if (sym_SSL_set_session((SSL *)(uintptr_t)ssl, s->loaded) != 1)
		ERR_clear_error();
}

/*
 * A session (a TLS 1.3 ticket) from the relay: the last one is kept, as
 * DER at once: OpenSSL marks the connection's session not resumable
 * when it is freed without a TLS close, which is how it ends here.
 */
static int
new_cb(SSL *ssl, SSL_SESSION *sess)
{
	skp_tlssess_t *s = of_ssl(ssl);
	uint8_t *der, *q;
	int len;

	if (s == NULL || !sym_SSL_SESSION_is_resumable(sess) ||
	    (len = sym_i2d_SSL_SESSION(sess, NULL)) <= 0 ||
	    len > SKP_TLSSESS_DER_MAX || (der = malloc((size_t)len)) == NULL)
		return 0;
	q = der;
	if (sym_i2d_SSL_SESSION(sess, &q) != len) {
		free(der);
		return 0;
	}
	if (s->fresh != NULL) {
		skp_wipe(s->fresh, s->freshlen);
		free(s->fresh);
	}
	s->fresh = der;
	s->freshlen = (size_t)len;
	return 0;
}

int
skp_tlssess_ctx_setup(skp_tlssess_t *s, void *ssl_ctx)
{
	SSL_CTX *ctx = ssl_ctx;

	if (s == NULL || ctx == NULL)
		return SKP_ERR_INVALID;
	if (s->dir[0] == '\0')
		return SKP_OK;
	if (pthread_once(&ex_once, ex_init) != 0 || ex_index < 0)
		return SKP_ERR_INTERNAL;
	if (sym_SSL_CTX_set_ex_data(ctx, ex_index, s) != 1)
		return SKP_ERR_NOMEM;
	/* SSL_CTX_set_session_cache_mode(), a macro of SSL_CTX_ctrl(). */
	(void)sym_SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE, NULL);
	sym_SSL_CTX_sess_set_new_cb(ctx, new_cb);
	sym_SSL_CTX_set_info_callback(ctx, info_cb);
	return SKP_OK;
}

int
skp_tlssess_established(skp_tlssess_t *s, void *ssl)
{
	if (s == NULL || ssl == NULL)
		return 0;
	s->done = 1;
	s->resumed = sym_SSL_session_reused(ssl) == 1;
	dbg(s, "%s, %s", sym_SSL_get_version(ssl), s->resumed ?
	    "TLS session resumed" : s->loaded != NULL ?
	    "saved TLS session refused: full handshake" : "full handshake");
	return s->resumed;
}

/* The relay's newest session replaces this relay's entry in the file. */
static void
save(skp_tlssess_t *s)
{
	struct skp_tlssess_list l;
	struct skp_tlssess_entry *e;
	skp_buf_t *b = NULL;
	uint8_t *enc = NULL;
	size_t enclen = 0, i, old;
	char why[512];

	memset(&l, 0, sizeof(l));
	why[0] = '\0';
	/* The other relays' entries stay; a damaged file is replaced. */
	if (skp_store_read(s->dir, SKP_TLSSESS_FILE, &b, NULL, 0) != SKP_OK ||
	    skp_tlssess_decode(skp_buf_ptr(b), skp_buf_len(b), &l) != SKP_OK)
		memset(&l, 0, sizeof(l));
	for (i = 0; i < l.n; i++)
		if (strcmp(l.e[i].origin, s->origin) == 0 &&
		    memcmp(l.e[i].trust, s->trust, sizeof(s->trust)) == 0)
			break;
	if (i == l.n && l.n == SKP_TLSSESS_MAX) {
		for (old = 0, i = 1; i < l.n; i++)
			if (l.e[i].saved < l.e[old].saved)
				old = i;
		i = old;
	}
	if (i == l.n)
		l.n++;
	e = &l.e[i];
	if (e->der != NULL) {
		skp_wipe(e->der, e->derlen);
		free(e->der);
	}
	snprintf(e->origin, sizeof(e->origin), "%s", s->origin);
	memcpy(e->trust, s->trust, sizeof(e->trust));
	e->der = s->fresh;
	e->derlen = s->freshlen;
	e->saved = (uint64_t)time(NULL);
	s->fresh = NULL;
	s->freshlen = 0;
	/* A cache: a crash may lose this write, never tear the file. */
	if (skp_tlssess_encode(&l, &enc, &enclen) != SKP_OK ||
	    skp_store_write(s->dir, SKP_TLSSESS_FILE, enc, enclen,
	    SKP_STORE_NOSYNC, why, sizeof(why)) != SKP_OK)
		dbg(s, "the TLS session was not saved: %s", why);
	if (enc != NULL) {
		skp_wipe(enc, enclen);
		free(enc);
	}
	skp_tlssess_list_clear(&l);
	skp_buf_free(&b);
}

void
skp_tlssess_free(skp_tlssess_t **sp)
{
	skp_tlssess_t *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	/* Each connection's new ticket (RFC 8446 §C.4: not reused). */
	if (s->dir[0] != '\0' && s->done && s->fresh != NULL)
		save(s);
	/* Set only once libssl is loaded (skp_tlssess_new). */
	if (s->loaded != NULL)
		sym_SSL_SESSION_free(s->loaded);
	if (s->fresh != NULL) {
		skp_wipe(s->fresh, s->freshlen);
		free(s->fresh);
	}
	skp_wipe(s, sizeof(*s));
	free(s);
	*sp = NULL;
}
