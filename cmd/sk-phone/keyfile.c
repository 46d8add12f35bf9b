/* sk-phone: OpenSSH sk key files, read for their public key and phone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sk-phone/authdata.h"
#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"

#include "keyfile.h"

/* OpenSSH's PROTOCOL.key: the armour, the magic, the key types. */
static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
static const char end[] = "-----END OPENSSH PRIVATE KEY-----";
static const char magic[] = "openssh-key-v1";	/* and its NUL */
static const char t_ecdsa[] = "sk-ecdsa-sha2-nistp256@openssh.com";
static const char t_ed25519[] = "sk-ssh-ed25519@openssh.com";
static const char curve[] = "nistp256";

#define NAME_MAX_LEN	64	/* cipher, kdf and key type names */
#define APP_MAX_LEN	255
#define FIELD_MAX	(SKP_KEYFILE_MAX)

static int
eq(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* The base64 between the armour lines, decoded; SKP_ERR_NOT_FOUND if no
 * armour. */
static int
unarmour(const char *text, size_t len, uint8_t **out, size_t *outlen)
{
	const char *p, *stop;
	char *b64 = NULL;
	uint8_t *bin = NULL;
	size_t n = 0, i, pad = 0;
	int k, rc = SKP_ERR_FORMAT;

	*out = NULL;
	*outlen = 0;
	if (len < sizeof(begin) - 1 || memcmp(text, begin, sizeof(begin) - 1)
	    != 0)
		return SKP_ERR_NOT_FOUND;
	if (len > SKP_KEYFILE_MAX)
		return SKP_ERR_TOO_LARGE;
	p = text + sizeof(begin) - 1;
	if ((stop = memmem(p, len - (size_t)(p - text), end,
	    sizeof(end) - 1)) == NULL)
		return SKP_ERR_TRUNCATED;
	if ((b64 = malloc((size_t)(stop - p) + 1)) == NULL)
		return SKP_ERR_NOMEM;
	for (; p < stop; p++) {
		if (*p == '\n' || *p == '\r')
			continue;
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '+' || *p == '/' ||
		    *p == '='))
			goto out;
		b64[n++] = *p;
	}
	/* Only padding at the end, at most two, to a multiple of 4. */
	for (i = n; i > 0 && b64[i - 1] == '='; i--)
		pad++;
	if (n == 0 || n % 4 != 0 || pad > 2 || memchr(b64, '=', n - pad) !=
	    NULL)
		goto out;
	if ((bin = malloc(n / 4 * 3)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((k = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)n)) <
	    0 || (size_t)k != n / 4 * 3)
		goto out;
	*out = bin;
	*outlen = (size_t)k - pad;
	bin = NULL;
	rc = SKP_OK;
 out:
	free(bin);
	if (b64 != NULL)
		skp_wipe(b64, n);
	free(b64);
	return rc;
}

/* The public blob: its type, point or key, application. */
static int
parse_pub(const uint8_t *blob, size_t n, int *ed, const uint8_t **pub,
    size_t *publen, const uint8_t **app, size_t *applen)
{
	skp_reader_t r;
	const uint8_t *t, *c;
	size_t tn, cn;
	int rc;

	skp_reader_init(&r, blob, n);
	if ((rc = skp_reader_string(&r, &t, &tn, NAME_MAX_LEN)) != SKP_OK)
		return rc;
	if (eq(t, tn, t_ecdsa)) {
		*ed = 0;
		if ((rc = skp_reader_string(&r, &c, &cn, NAME_MAX_LEN)) !=
		    SKP_OK)
			return rc;
		if (!eq(c, cn, curve))
			return SKP_ERR_FORMAT;
	} else if (eq(t, tn, t_ed25519))
		*ed = 1;
	else
		return SKP_ERR_NOT_FOUND;
	if ((rc = skp_reader_string(&r, pub, publen, SKP_P256_PUB_LEN)) !=
	    SKP_OK ||
	    (rc = skp_reader_string(&r, app, applen, APP_MAX_LEN)) != SKP_OK)
		return rc;
	if (*publen != (*ed ? SKP_ED25519_PUB_LEN : SKP_P256_PUB_LEN) ||
	    *applen == 0)
		return SKP_ERR_FORMAT;
	return skp_reader_end(&r);
}

/* The unencrypted private section: the same key, and its key handle. */
static int
parse_priv(const uint8_t *p, size_t n, int ed, const uint8_t *pub,
    size_t publen, const uint8_t *app, size_t applen, struct skp_keyfile *kf)
{
	struct skp_keyhandle kh;
	skp_reader_t r;
	const uint8_t *t, *c, *q, *a, *h, *skip;
	size_t tn, cn, qn, an, hn, sn, i;
	uint32_t c1, c2;
	uint8_t flags, b;
	int rc;

	skp_reader_init(&r, p, n);
	if ((rc = skp_reader_u32(&r, &c1)) != SKP_OK ||
	    (rc = skp_reader_u32(&r, &c2)) != SKP_OK)
		return rc;
	if (c1 != c2)
		return SKP_ERR_FORMAT;
	if ((rc = skp_reader_string(&r, &t, &tn, NAME_MAX_LEN)) != SKP_OK)
		return rc;
	if (!eq(t, tn, ed ? t_ed25519 : t_ecdsa))
		return SKP_ERR_FORMAT;
	if (!ed) {
		if ((rc = skp_reader_string(&r, &c, &cn, NAME_MAX_LEN)) !=
		    SKP_OK)
			return rc;
		if (!eq(c, cn, curve))
			return SKP_ERR_FORMAT;
	}
	if ((rc = skp_reader_string(&r, &q, &qn, SKP_P256_PUB_LEN)) !=
	    SKP_OK ||
	    (rc = skp_reader_string(&r, &a, &an, APP_MAX_LEN)) != SKP_OK ||
	    (rc = skp_reader_u8(&r, &flags)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &h, &hn, FIELD_MAX)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &skip, &sn, FIELD_MAX)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &skip, &sn, FIELD_MAX)) != SKP_OK)
		return rc;
	if (qn != publen || memcmp(q, pub, qn) != 0 || an != applen ||
	    memcmp(a, app, an) != 0)
		return SKP_ERR_FORMAT;
	/* Padding 1, 2, 3, ... to the cipher's block size (8 for none). */
	for (i = 1; skp_reader_left(&r) > 0; i++) {
		if ((rc = skp_reader_u8(&r, &b)) != SKP_OK)
			return rc;
		if (b != (uint8_t)i || i >= 8)
			return SKP_ERR_FORMAT;
	}
	/* Another maker's key handle is not a key of a paired phone. */
	if (skp_keyhandle_decode(h, hn, &kh) != SKP_OK)
		return SKP_ERR_NOT_FOUND;
	if ((kh.alg == SKP_COSE_ALG_EDDSA) != ed ||
	    memcmp(kh.pub, pub, publen) != 0)
		return SKP_ERR_FORMAT;
	memcpy(kf->phone_id, kh.phone_id, sizeof(kf->phone_id));
	return SKP_OK;
}

int
skp_keyfile_parse(const char *text, size_t len, struct skp_keyfile *kf)
{
	struct skp_keyfile tmp;
	skp_reader_t r;
	const uint8_t *m, *cipher, *kdf, *opts, *blob, *priv, *pub, *app;
	uint8_t *bin = NULL;
	size_t binlen = 0, cn, kn, on, bn, pn, publen, applen;
	uint32_t nkeys;
	int rc;

	if (text == NULL || kf == NULL)
		return SKP_ERR_INVALID;
	memset(&tmp, 0, sizeof(tmp));
	if ((rc = unarmour(text, len, &bin, &binlen)) != SKP_OK)
		goto out;
	skp_reader_init(&r, bin, binlen);
	if ((rc = skp_reader_ptr(&r, &m, sizeof(magic))) != SKP_OK)
		goto out;
	if (memcmp(m, magic, sizeof(magic)) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_reader_string(&r, &cipher, &cn, NAME_MAX_LEN)) !=
	    SKP_OK ||
	    (rc = skp_reader_string(&r, &kdf, &kn, NAME_MAX_LEN)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &opts, &on, FIELD_MAX)) != SKP_OK ||
	    (rc = skp_reader_u32(&r, &nkeys)) != SKP_OK)
		goto out;
	/* ssh-keygen writes one key per file; sk-phone reads no other. */
	if (nkeys != 1) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_reader_string(&r, &blob, &bn, FIELD_MAX)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &priv, &pn, FIELD_MAX)) != SKP_OK ||
	    (rc = skp_reader_end(&r)) != SKP_OK)
		goto out;
	if ((rc = parse_pub(blob, bn, &tmp.ed25519, &pub, &publen, &app,
	    &applen)) != SKP_OK)
		goto out;
	if (bn > sizeof(tmp.blob)) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(tmp.blob, blob, bn);
	tmp.bloblen = bn;
	if (eq(cipher, cn, "none")) {
		if (!eq(kdf, kn, "none") || on != 0) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		if ((rc = parse_priv(priv, pn, tmp.ed25519, pub, publen, app,
		    applen, &tmp)) != SKP_OK)
			goto out;
	} else
		tmp.sealed = 1;
	*kf = tmp;
	rc = SKP_OK;
 out:
	if (bin != NULL) {
		skp_wipe(bin, binlen);
		free(bin);
	}
	skp_wipe(&tmp, sizeof(tmp));
	return rc;
}

int
skp_keyfile_blob(int ed25519, const uint8_t *pub, size_t publen,
    const char *application, uint8_t *out, size_t max, size_t *outlen)
{
	skp_buf_t *b;
	const char *type = ed25519 ? t_ed25519 : t_ecdsa;
	int rc;

	if ((b = skp_buf_new(max)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_buf_string(b, type, strlen(type))) == SKP_OK &&
	    (ed25519 || (rc = skp_buf_string(b, curve, strlen(curve))) ==
	    SKP_OK) &&
	    (rc = skp_buf_string(b, pub, publen)) == SKP_OK &&
	    (rc = skp_buf_string(b, application, strlen(application))) ==
	    SKP_OK) {
		memcpy(out, skp_buf_ptr(b), skp_buf_len(b));
		*outlen = skp_buf_len(b);
	}
	skp_buf_free(&b);
	return rc;
}

int
skp_keyfile_line(const uint8_t *blob, size_t bloblen, char *out,
    size_t outlen)
{
	skp_reader_t r;
	const uint8_t *t;
	size_t tn;

	skp_reader_init(&r, blob, bloblen);
	if (bloblen > SKP_KEYFILE_BLOB_MAX ||
	    skp_reader_string(&r, &t, &tn, NAME_MAX_LEN) != SKP_OK ||
	    !(eq(t, tn, t_ecdsa) || eq(t, tn, t_ed25519)))
		return SKP_ERR_FORMAT;
	if (outlen < tn + 2 + 4 * ((bloblen + 2) / 3) + 1)
		return SKP_ERR_TOO_LARGE;
	memcpy(out, t, tn);
	out[tn] = ' ';
	EVP_EncodeBlock((unsigned char *)out + tn + 1, blob, (int)bloblen);
	return SKP_OK;
}

void
skp_keyfile_fingerprint(const uint8_t *blob, size_t bloblen, char *out,
    size_t outlen)
{
	uint8_t h[SKP_SHA256_LEN];
	unsigned char b64[64];
	int n;

	snprintf(out, outlen, "?");
	if (skp_sha256(blob, bloblen, h) != SKP_OK)
		return;
	n = EVP_EncodeBlock(b64, h, sizeof(h));
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	snprintf(out, outlen, "SHA256:%s", (char *)b64);
}

int
skp_keyfile_seen_add(struct skp_keyfile_seen *s, const uint8_t *blob,
    size_t len)
{
	uint8_t (*b)[SKP_KEYFILE_BLOB_MAX];
	size_t *l, i;

	if (len > SKP_KEYFILE_BLOB_MAX)
		return -1;
	for (i = 0; i < s->n; i++)
		if (s->len[i] == len && memcmp(s->blob[i], blob, len) == 0)
			return 0;
	if ((b = reallocarray(s->blob, s->n + 1, sizeof(*b))) == NULL)
		return -1;
	s->blob = b;
	if ((l = reallocarray(s->len, s->n + 1, sizeof(*l))) == NULL)
		return -1;
	s->len = l;
	memcpy(s->blob[s->n], blob, len);
	s->len[s->n++] = len;
	return 1;
}

void
skp_keyfile_seen_free(struct skp_keyfile_seen *s)
{
	free(s->blob);
	free(s->len);
	memset(s, 0, sizeof(*s));
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* A regular file's text, without blocking on a FIFO; NULL if not one. */
static char *
slurp(int dfd, const char *name, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t k;
	size_t n = 0;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > SKP_KEYFILE_MAX ||
	    (buf = malloc(SKP_KEYFILE_MAX + 1)) == NULL)
		goto out;
	while (n < SKP_KEYFILE_MAX + 1) {
		if ((k = read(fd, buf + n, SKP_KEYFILE_MAX + 1 - n)) == -1 &&
		    errno == EINTR)
			continue;
		if (k == -1) {		/* unreadable: as if not there */
			skp_wipe(buf, n);
			free(buf);
			buf = NULL;
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*len = n;
 out:
	close(fd);
	return buf;
}

int
skp_keyfile_scan(const char *dir, int (*fn)(const char *,
    const struct skp_keyfile *, void *), void *arg)
{
	struct skp_keyfile kf;
	struct dirent *de;
	DIR *d;
	char **names = NULL, **more, *text, *path;
	size_t n = 0, cap = 0, i, len;
	int rc = SKP_OK;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? SKP_ERR_NOT_FOUND :
		    SKP_ERR_IO;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if (cap > 4096 || (more = reallocarray(names, cap,
			    sizeof(*names))) == NULL)
				break;
			names = more;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n && rc == SKP_OK; i++) {
		len = 0;
		if ((text = slurp(dirfd(d), names[i], &len)) == NULL)
			continue;
		memset(&kf, 0, sizeof(kf));
		if (asprintf(&path, "%s/%s", dir, names[i]) == -1)
			path = NULL;
		switch (skp_keyfile_parse(text, len, &kf)) {
		case SKP_OK:
			if (path != NULL)
				rc = fn(path, &kf, arg);
			break;
		case SKP_ERR_NOT_FOUND:
		case SKP_ERR_NOMEM:
			break;
		default:
			/* Armoured as an OpenSSH key, and not one. */
			fprintf(stderr, "sk-phone: %s does not read as an "
			    "OpenSSH key file (damaged?): skipped\n",
			    path != NULL ? path : names[i]);
			break;
		}
		free(path);
		skp_wipe(text, SKP_KEYFILE_MAX + 1);
		free(text);
		skp_wipe(&kf, sizeof(kf));
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}
