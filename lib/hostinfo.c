/* Hand-off of a host's key and KEX signature from the proxy to ssh. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostcert.h"
#include "sk-phone/hostinfo.h"

static const uint8_t magic[4] = { 'S', 'K', 'P', 'H' };

#define DIR_PATH_MAX	4096
#define NAME_LEN	32
#define SWEEP_MAX	4096	/* entries looked at in one sweep */
#define TMP_MAX_AGE	60	/* seconds a temporary file may live */

int
skp_hostinfo_host_ok(const char *h)
{
	size_t i, n;

	if (h == NULL || (n = strlen(h)) == 0 || n > SKP_HOSTINFO_HOST_MAX ||
	    h[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if ((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') ||
		    strchr("._:%-", h[i]) != NULL)
			continue;
		return 0;
	}
	return 1;
}

static int
kex_ok(const char *k)
{
	size_t i, n = strlen(k);

	if (n == 0 || n > SKP_HOSTINFO_KEX_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (k[i] <= ' ' || k[i] > '~' || k[i] == ',')
			return 0;
	return 1;
}

static int
fields_ok(const struct skp_hostinfo *hi)
{
	return hi->port != 0 && hi->pid != 0 && hi->pid <= INT32_MAX &&
	    memchr(hi->host, '\0', sizeof(hi->host)) != NULL &&
	    skp_hostinfo_host_ok(hi->host) &&
	    memchr(hi->kex, '\0', sizeof(hi->kex)) != NULL &&
	    kex_ok(hi->kex) &&
	    hi->hostkey_len > 0 && hi->hostkey_len <= sizeof(hi->hostkey) &&
	    hi->sig_len > 0 && hi->sig_len <= sizeof(hi->sig);
}

int
skp_hostinfo_encode(const struct skp_hostinfo *hi, uint8_t *out,
    size_t outsz, size_t *outlen)
{
	uint8_t sum[SKP_SHA256_LEN];
	skp_buf_t *b = NULL;
	int rc;

	if (hi == NULL || out == NULL || outlen == NULL || !fields_ok(hi))
		return SKP_ERR_INVALID;
	if ((b = skp_buf_new(SKP_HOSTINFO_FILE_MAX)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_buf_put(b, magic, sizeof(magic))) != SKP_OK ||
	    (rc = skp_buf_u16(b, SKP_HOSTINFO_VERSION)) != SKP_OK ||
	    (rc = skp_buf_u64(b, hi->time)) != SKP_OK ||
	    (rc = skp_buf_u32(b, hi->pid)) != SKP_OK ||
	    (rc = skp_buf_u16(b, hi->port)) != SKP_OK ||
	    (rc = skp_buf_string(b, hi->host, strlen(hi->host))) != SKP_OK ||
	    (rc = skp_buf_string(b, hi->kex, strlen(hi->kex))) != SKP_OK ||
	    (rc = skp_buf_string(b, hi->hostkey, hi->hostkey_len)) !=
	    SKP_OK ||
	    (rc = skp_buf_string(b, hi->sig, hi->sig_len)) != SKP_OK ||
	    (rc = skp_sha256(skp_buf_ptr(b), skp_buf_len(b), sum)) !=
	    SKP_OK ||
	    (rc = skp_buf_put(b, sum, sizeof(sum))) != SKP_OK)
		goto out;
	if (skp_buf_len(b) > outsz) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(out, skp_buf_ptr(b), skp_buf_len(b));
	*outlen = skp_buf_len(b);
out:
	skp_buf_free(&b);
	return rc;
}

/* A string field into a NUL-terminated buffer of max + 1 bytes. */
static int
get_text(skp_reader_t *r, char *out, size_t max)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = skp_reader_string(r, &p, &n, max)) != SKP_OK)
		return rc;
	if (n == 0 || memchr(p, '\0', n) != NULL)
		return SKP_ERR_FORMAT;
	memcpy(out, p, n);
	out[n] = '\0';
	return SKP_OK;
}

static int
get_blob(skp_reader_t *r, uint8_t *out, size_t *outlen, size_t max)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = skp_reader_string(r, &p, &n, max)) != SKP_OK)
		return rc;
	if (n == 0)
		return SKP_ERR_FORMAT;
	memcpy(out, p, n);
	*outlen = n;
	return SKP_OK;
}

int
skp_hostinfo_decode(const uint8_t *in, size_t len, struct skp_hostinfo *out)
{
	struct skp_hostinfo *t = NULL;
	uint8_t sum[SKP_SHA256_LEN];
	const uint8_t *m, *want;
	skp_reader_t r;
	uint16_t version;
	size_t body;
	int rc;

	if (in == NULL || out == NULL)
		return SKP_ERR_INVALID;
	if (len > SKP_HOSTINFO_FILE_MAX)
		return SKP_ERR_TOO_LARGE;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return SKP_ERR_NOMEM;
	skp_reader_init(&r, in, len);
	if ((rc = skp_reader_ptr(&r, &m, sizeof(magic))) != SKP_OK ||
	    (rc = skp_reader_u16(&r, &version)) != SKP_OK)
		goto out;
	if (memcmp(m, magic, sizeof(magic)) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if (version != SKP_HOSTINFO_VERSION) {
		rc = version > SKP_HOSTINFO_VERSION ? SKP_ERR_VERSION :
		    SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_reader_u64(&r, &t->time)) != SKP_OK ||
	    (rc = skp_reader_u32(&r, &t->pid)) != SKP_OK ||
	    (rc = skp_reader_u16(&r, &t->port)) != SKP_OK ||
	    (rc = get_text(&r, t->host, SKP_HOSTINFO_HOST_MAX)) != SKP_OK ||
	    (rc = get_text(&r, t->kex, SKP_HOSTINFO_KEX_MAX)) != SKP_OK ||
	    (rc = get_blob(&r, t->hostkey, &t->hostkey_len,
	    sizeof(t->hostkey))) != SKP_OK ||
	    (rc = get_blob(&r, t->sig, &t->sig_len, sizeof(t->sig))) !=
	    SKP_OK)
		goto out;
	body = r.off;
	if ((rc = skp_reader_ptr(&r, &want, sizeof(sum))) != SKP_OK ||
	    (rc = skp_reader_end(&r)) != SKP_OK)
		goto out;
	if ((rc = skp_sha256(in, body, sum)) != SKP_OK)
		goto out;
	if (!skp_ct_equal(sum, want, sizeof(sum))) {
		rc = SKP_ERR_CORRUPT;
		goto out;
	}
	if (!fields_ok(t)) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	memcpy(out, t, sizeof(*t));
	rc = SKP_OK;
out:
	free(t);
	return rc;
}

/*
 * The folder's path. XDG_RUNTIME_DIR is private to the user by its
 * definition; /tmp is shared, hence the owner and mode checks that follow.
 */
static int
dir_path(char *path, size_t pathsz)
{
	const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (xdg != NULL && xdg[0] == '/' && stat(xdg, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		n = snprintf(path, pathsz, "%s/sk-phone", xdg);
	else
		n = snprintf(path, pathsz, "/tmp/sk-phone-%lu",
		    (unsigned long)getuid());
	if (n < 0 || (size_t)n >= pathsz)
		return SKP_ERR_TOO_LARGE;
	return SKP_OK;
}

/* Open the folder and check it is the user's alone. */
static int
dir_open(int create, int *dfdp)
{
	char path[DIR_PATH_MAX];
	struct stat st;
	int dfd = -1, rc;

	*dfdp = -1;
	if ((rc = dir_path(path, sizeof(path))) != SKP_OK)
		return rc;
	if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
		return SKP_ERR_IO;
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return SKP_ERR_NOT_FOUND;
		return errno == ELOOP || errno == ENOTDIR ? SKP_ERR_PERM :
		    SKP_ERR_IO;
	}
	if (fstat(dfd, &st) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		rc = SKP_ERR_PERM;
		goto out;
	}
	*dfdp = dfd;
	dfd = -1;
	rc = SKP_OK;
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int
skp_hostinfo_dir(int create, char *path, size_t pathsz)
{
	int dfd, rc;

	if (path == NULL)
		return SKP_ERR_INVALID;
	if ((rc = dir_open(create, &dfd)) != SKP_OK)
		return rc;
	close(dfd);
	return dir_path(path, pathsz);
}

static int
pid_name(pid_t pid, char name[NAME_LEN])
{
	if (pid <= 0)
		return SKP_ERR_INVALID;
	snprintf(name, NAME_LEN, "%lu", (unsigned long)pid);
	return SKP_OK;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return SKP_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return SKP_OK;
}

/*
 * No fsync: the record matters only while the connection lives, and a
 * crash ends that; the rename alone makes it appear whole or not at all.
 */
int
skp_hostinfo_write(const struct skp_hostinfo *hi)
{
	char name[NAME_LEN], tmp[NAME_LEN + 32], rnd[17];
	uint8_t *buf = NULL, r[8];
	size_t len = 0;
	int dfd = -1, fd = -1, made = 0, rc;

	if (hi == NULL || hi->pid == 0 || hi->pid > INT32_MAX)
		return SKP_ERR_INVALID;
	if ((buf = malloc(SKP_HOSTINFO_FILE_MAX)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_hostinfo_encode(hi, buf, SKP_HOSTINFO_FILE_MAX,
	    &len)) != SKP_OK ||
	    (rc = pid_name((pid_t)hi->pid, name)) != SKP_OK ||
	    (rc = skp_random(r, sizeof(r))) != SKP_OK ||
	    (rc = dir_open(1, &dfd)) != SKP_OK)
		goto out;
	skp_hex(r, sizeof(r), rnd);
	snprintf(tmp, sizeof(tmp), ".%s.%s.tmp", name, rnd);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	made = 1;
	if ((rc = write_all(fd, buf, len)) != SKP_OK)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		rc = SKP_ERR_IO;
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	made = 0;
	rc = SKP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	free(buf);
	return rc;
}

/* The user's own regular file, private, within the size cap. */
static int
read_record(int dfd, const char *name, uint8_t *buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return errno == ENOENT ? SKP_ERR_NOT_FOUND :
		    errno == ELOOP ? SKP_ERR_PERM : SKP_ERR_IO;
	if (fstat(fd, &st) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		rc = SKP_ERR_PERM;
		goto out;
	}
	if (st.st_size > SKP_HOSTINFO_FILE_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	/* One byte more than the cap shows a file that grew meanwhile. */
	for (;;) {
		n = read(fd, buf + got, SKP_HOSTINFO_FILE_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = SKP_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > SKP_HOSTINFO_FILE_MAX) {
			rc = SKP_ERR_TOO_LARGE;
			goto out;
		}
	}
	*len = got;
	rc = SKP_OK;
out:
	close(fd);
	return rc;
}

/*
 * The record of pid in the open folder, strictly read and decoded; an
 * old or future one is removed and refused. t is scratch and answer.
 */
static int
read_at(int dfd, pid_t pid, uint8_t *buf, struct skp_hostinfo *t)
{
	char name[NAME_LEN];
	size_t len = 0;
	uint64_t now;
	int rc;

	if ((rc = pid_name(pid, name)) != SKP_OK ||
	    (rc = read_record(dfd, name, buf, &len)) != SKP_OK ||
	    (rc = skp_hostinfo_decode(buf, len, t)) != SKP_OK)
		return rc;
	if (t->pid != (uint32_t)pid)
		return SKP_ERR_CORRUPT;
	now = (uint64_t)time(NULL);
	if (t->time > now + SKP_HOSTINFO_SKEW ||
	    (now > t->time && now - t->time > SKP_HOSTINFO_MAX_AGE)) {
		(void)unlinkat(dfd, name, 0);
		return SKP_ERR_EXPIRED;
	}
	return SKP_OK;
}

int
skp_hostinfo_read(pid_t pid, struct skp_hostinfo *out)
{
	struct skp_hostinfo *t = NULL;
	uint8_t *buf = NULL;
	int dfd = -1, rc;

	if (out == NULL || pid <= 0)
		return SKP_ERR_INVALID;
	if ((buf = malloc(SKP_HOSTINFO_FILE_MAX + 1)) == NULL ||
	    (t = calloc(1, sizeof(*t))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = dir_open(0, &dfd)) != SKP_OK ||
	    (rc = read_at(dfd, pid, buf, t)) != SKP_OK)
		goto out;
	memcpy(out, t, sizeof(*t));
	rc = SKP_OK;
out:
	if (dfd >= 0)
		close(dfd);
	free(t);
	free(buf);
	return rc;
}

int
skp_hostinfo_remove(pid_t pid)
{
	char name[NAME_LEN];
	int dfd = -1, rc;

	if ((rc = pid_name(pid, name)) != SKP_OK ||
	    (rc = dir_open(0, &dfd)) != SKP_OK)
		return rc;
	rc = SKP_OK;
	if (unlinkat(dfd, name, 0) != 0)
		rc = errno == ENOENT ? SKP_ERR_NOT_FOUND : SKP_ERR_IO;
	close(dfd);
	return rc;
}

/* A record's name: a pid in decimal without leading zeros. */
static int
record_pid(const char *name, pid_t *pid)
{
	unsigned long v = 0;
	size_t i, n = strlen(name);

	if (n == 0 || n > 10 || name[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(name[i] - '0');
	}
	if (v > INT32_MAX)
		return 0;
	*pid = (pid_t)v;
	return 1;
}

static int
tmp_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && name[0] == '.' && strcmp(name + n - 4, ".tmp") == 0;
}

int
skp_hostinfo_sweep(void)
{
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	time_t now = time(NULL);
	pid_t pid = 0;
	int dfd = -1, fd, removed = 0, looked = 0, stale, rc;

	if ((rc = dir_open(0, &dfd)) != SKP_OK)
		return rc == SKP_ERR_NOT_FOUND ? 0 : rc;
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		rc = SKP_ERR_IO;
		goto out;
	}
	while (looked++ < SWEEP_MAX && (de = readdir(d)) != NULL) {
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (record_pid(de->d_name, &pid))
			stale = now - st.st_mtime > SKP_HOSTINFO_MAX_AGE ||
			    st.st_mtime - now > SKP_HOSTINFO_SKEW ||
			    (kill(pid, 0) != 0 && errno == ESRCH);
		else if (tmp_name(de->d_name))
			stale = now - st.st_mtime > TMP_MAX_AGE;
		else
			continue;
		if (stale && unlinkat(dfd, de->d_name, 0) == 0)
			removed++;
	}
	rc = removed;
out:
	if (d != NULL)
		closedir(d);
	close(dfd);
	return rc;
}

struct candidate {
	pid_t		pid;
	time_t		mtime;
};

/* Newest first; the same second, the higher pid first (any order). */
static int
newer_first(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return x->pid < y->pid ? 1 : x->pid > y->pid ? -1 : 0;
}

/*
 * 1 when the record's host signed sid, the session id. A host
 * certificate's exchange is signed by the certified key (the phone checks
 * the certificate itself).
 */
static int
signed_session(const struct skp_hostinfo *t, const uint8_t *sid,
    size_t sidlen, struct skp_hostcert *c)
{
	const uint8_t *key = t->hostkey;
	size_t keylen = t->hostkey_len;

	if (skp_hostcert_is_cert(key, keylen)) {
		if (skp_hostcert_parse(key, keylen, c) != SKP_OK)
			return 0;
		key = c->key;
		keylen = c->key_len;
	}
	return skp_hostkey_verify(key, keylen, t->sig, t->sig_len, sid,
	    sidlen) == SKP_OK;
}

/*
 * Through ssh-agent the provider is no child of the ssh whose login it
 * signs: the record is found by what it says instead. Only the login's
 * host signed its session id, so at most one record fits.
 */
int
skp_hostinfo_match(const uint8_t *sid, size_t sidlen, pid_t first,
    struct skp_hostinfo *out)
{
	struct skp_hostinfo *t = NULL;
	struct skp_hostcert *cert = NULL;
	struct candidate *c = NULL;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	uint8_t *buf = NULL;
	pid_t pid = 0;
	size_t n = 0, i, tried = 0;
	int dfd = -1, fd, looked = 0, rc;

	if (sid == NULL || sidlen == 0 || out == NULL)
		return SKP_ERR_INVALID;
	if ((buf = malloc(SKP_HOSTINFO_FILE_MAX + 1)) == NULL ||
	    (t = calloc(1, sizeof(*t))) == NULL ||
	    (cert = calloc(1, sizeof(*cert))) == NULL ||
	    (c = calloc(SWEEP_MAX, sizeof(*c))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = dir_open(0, &dfd)) != SKP_OK)
		goto out;
	if (first > 0) {
		tried++;
		if (read_at(dfd, first, buf, t) == SKP_OK &&
		    signed_session(t, sid, sidlen, cert))
			goto found;
	}
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		rc = SKP_ERR_IO;
		goto out;
	}
	while (looked++ < SWEEP_MAX && (de = readdir(d)) != NULL) {
		if (!record_pid(de->d_name, &pid) || pid == first ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		c[n].pid = pid;
		c[n].mtime = st.st_mtime;
		n++;
	}
	qsort(c, n, sizeof(*c), newer_first);
	for (i = 0; i < n && tried < SKP_HOSTINFO_MATCH_MAX; i++, tried++)
		if (read_at(dfd, c[i].pid, buf, t) == SKP_OK &&
		    signed_session(t, sid, sidlen, cert))
			goto found;
	rc = SKP_ERR_NOT_FOUND;
	goto out;
found:
	memcpy(out, t, sizeof(*t));
	rc = SKP_OK;
out:
	if (d != NULL)
		closedir(d);
	if (dfd >= 0)
		close(dfd);
	free(c);
	free(cert);
	free(t);
	free(buf);
	return rc;
}

int
skp_hostinfo_pin_name(const char *host, uint16_t port, char *out,
    size_t outsz)
{
	size_t i, n;
	int w;

	if (out == NULL || outsz == 0 || port == 0 ||
	    !skp_hostinfo_host_ok(host))
		return SKP_ERR_INVALID;
	if (port == 22)
		w = snprintf(out, outsz, "%s", host);
	else
		w = snprintf(out, outsz, "[%s]:%u", host, (unsigned int)port);
	if (w < 0 || (size_t)w >= outsz) {
		out[0] = '\0';
		return SKP_ERR_TOO_LARGE;
	}
	/* DNS names are case-blind; ssh lower-cases them too. */
	for (i = 0, n = (size_t)w; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return SKP_OK;
}
