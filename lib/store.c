/* State folder rules, the checked file format, and the computer's files. */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk-phone/buf.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/store.h"

static const uint8_t store_magic[4] = { 'S', 'K', 'P', 'S' };

#define READ_CHUNK	4096
#define PWBUF_LEN	16384
#define NKEYS(a)	(sizeof(a) / sizeof((a)[0]))

static void
quiet(char *why, size_t whylen)
{
	if (why != NULL && whylen > 0)
		why[0] = '\0';
}

static int
join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= outlen ? SKP_ERR_TOO_LARGE : SKP_OK;
}

/*
 * Names are ours, never the user's: keep them plain and dot-free, but
 * for the one suffix of a last good copy (NAME.last).
 */
static int
valid_name(const char *name)
{
	const size_t sl = sizeof(SKP_STORE_LAST_SUFFIX) - 1;
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > SKP_STORE_NAME_MAX)
		return 0;
	if (n > sl && strcmp(name + n - sl, SKP_STORE_LAST_SUFFIX) == 0)
		n -= sl;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

static int
home_dir(char *out, size_t outlen)
{
	struct passwd pw, *res = NULL;
	const char *h;
	char *pwbuf = NULL;
	int rc = SKP_ERR_NOT_FOUND, n;

	/* HOME first: ssh sets it; the passwd entry covers the rest. */
	if ((h = secure_getenv("HOME")) == NULL || h[0] != '/') {
		if ((pwbuf = malloc(PWBUF_LEN)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		if (getpwuid_r(geteuid(), &pw, pwbuf, PWBUF_LEN, &res) != 0 ||
		    res == NULL || pw.pw_dir == NULL || pw.pw_dir[0] != '/')
			goto out;
		h = pw.pw_dir;
	}
	n = snprintf(out, outlen, "%s", h);
	rc = n < 0 || (size_t)n >= outlen ? SKP_ERR_TOO_LARGE : SKP_OK;
out:
	free(pwbuf);
	return rc;
}

int
skp_store_computer_dir(char *out, size_t outlen, char *why, size_t whylen)
{
	char home[SKP_STORE_PATH_MAX];
	const char *e;
	int n, rc;

	quiet(why, whylen);
	if (out == NULL || outlen == 0)
		return SKP_ERR_INVALID;
	if ((e = secure_getenv("SK_PHONE_DIR")) != NULL && e[0] != '\0') {
		/* A relative path would depend on where ssh was started. */
		if (e[0] != '/') {
			skp_why(why, whylen, "SK_PHONE_DIR must be an absolute "
			    "path (it is \"%s\")", e);
			return SKP_ERR_INVALID;
		}
		n = snprintf(out, outlen, "%s", e);
	} else if ((e = secure_getenv("XDG_CONFIG_HOME")) != NULL &&
	    e[0] == '/') {
		/* The XDG spec says to ignore a relative value. */
		n = snprintf(out, outlen, "%s/sk-phone", e);
	} else {
		if ((rc = home_dir(home, sizeof(home))) != SKP_OK) {
			skp_why(why, whylen,
			    "cannot find your home folder: set "
			    "HOME or SK_PHONE_DIR");
			return rc;
		}
		n = snprintf(out, outlen, "%s/.config/sk-phone", home);
	}
	if (n < 0 || (size_t)n >= outlen) {
		skp_why(why, whylen, "the sk-phone folder path is too long");
		out[0] = '\0';
		return SKP_ERR_TOO_LARGE;
	}
	return SKP_OK;
}

/* A level we make is 0700 whatever the umask, so the next one fits. */
static int
make_one(const char *path)
{
	if (mkdir(path, 0700) == 0)
		return chmod(path, 0700);
	return errno == EEXIST ? 0 : -1;
}

/* mkdir -p, each new level 0700. */
static int
make_dirs(const char *dir)
{
	char path[SKP_STORE_PATH_MAX];
	size_t i;
	int n;

	n = snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 1; path[i] != '\0'; i++) {
		if (path[i] != '/' || path[i - 1] == '/')
			continue;
		path[i] = '\0';
		if (make_one(path) != 0)
			return -1;
		path[i] = '/';
	}
	return make_one(path);
}

/* The owner and mode rules, shared by folders and files. */
static int
check_stat(const struct stat *st, const char *path, int isdir, char *why,
    size_t whylen)
{
	if (st->st_uid != geteuid()) {
		skp_why(why, whylen,
		    "%s is owned by uid %lu, not by you (uid %lu):"
		    " run (as root) chown %lu %s, or set SK_PHONE_DIR to a "
		    "folder of your own", path, (unsigned long)st->st_uid,
		    (unsigned long)geteuid(), (unsigned long)geteuid(), path);
		return SKP_ERR_PERM;
	}
	if ((st->st_mode & 077) != 0) {
		skp_why(why, whylen, "%s is open to other users (mode %04o); "
		    "run: chmod %s %s", path, (unsigned)(st->st_mode & 07777),
		    isdir ? "700" : "600", path);
		return SKP_ERR_PERM;
	}
	return SKP_OK;
}

/* Open and check the folder; later calls go through its descriptor. */
static int
dir_open(const char *dir, int create, int *fdp, char *why, size_t whylen)
{
	struct stat st;
	int fd = -1, rc;

	*fdp = -1;
	if (dir == NULL || dir[0] == '\0') {
		skp_why(why, whylen, "no sk-phone folder given");
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (strlen(dir) >= SKP_STORE_PATH_MAX) {
		skp_why(why, whylen, "the sk-phone folder path is too long");
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 &&
	    errno == ENOENT && create) {
		if (make_dirs(dir) != 0) {
			skp_why(why, whylen, "cannot create %s: %s", dir,
			    strerror(errno));
			rc = SKP_ERR_IO;
			goto out;
		}
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOENT) {
			skp_why(why, whylen, "%s does not exist", dir);
			rc = SKP_ERR_NOT_FOUND;
		} else {
			skp_why(why, whylen, "cannot open the folder %s: %s",
			    dir,
			    strerror(errno));
			rc = SKP_ERR_IO;
		}
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		skp_why(why, whylen, "cannot stat %s: %s", dir,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	if ((rc = check_stat(&st, dir, 1, why, whylen)) != SKP_OK)
		goto out;
	*fdp = fd;
	fd = -1;
	rc = SKP_OK;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
skp_store_dir_check(const char *dir, int create, char *why, size_t whylen)
{
	int fd, rc;

	quiet(why, whylen);
	if ((rc = dir_open(dir, create, &fd, why, whylen)) == SKP_OK)
		close(fd);
	return rc;
}

/*
 * The format checks, in an order that gives the most useful answer: a
 * newer version is reported even when the rest would not parse.
 */
static int
parse_file(const uint8_t *p, size_t n, const uint8_t **payload,
    size_t *payloadlen, const char **reason, unsigned *version)
{
	uint8_t sum[SKP_SHA256_LEN];
	const uint8_t *m, *body, *trailer;
	skp_reader_t r;
	uint16_t ver;
	uint32_t len;

	*version = 0;
	skp_reader_init(&r, p, n);
	if (skp_reader_ptr(&r, &m, sizeof(store_magic)) != SKP_OK ||
	    memcmp(m, store_magic, sizeof(store_magic)) != 0) {
		*reason = "not an sk-phone state file";
		return SKP_ERR_CORRUPT;
	}
	if (skp_reader_u16(&r, &ver) != SKP_OK ||
	    skp_reader_u32(&r, &len) != SKP_OK) {
		*reason = "truncated header";
		return SKP_ERR_CORRUPT;
	}
	*version = ver;
	if (ver > SKP_STORE_VERSION) {
		*reason = "newer format";
		return SKP_ERR_VERSION;
	}
	if (ver == 0) {
		*reason = "format version 0";
		return SKP_ERR_CORRUPT;
	}
	if (n > SKP_STORE_FILE_MAX || len > SKP_STORE_PAYLOAD_MAX) {
		*reason = "larger than the size limit";
		return SKP_ERR_CORRUPT;
	}
	if (skp_reader_ptr(&r, &body, len) != SKP_OK ||
	    skp_reader_ptr(&r, &trailer, SKP_STORE_TRAILER_LEN) != SKP_OK) {
		*reason = "truncated";
		return SKP_ERR_CORRUPT;
	}
	if (skp_reader_end(&r) != SKP_OK) {
		*reason = "bytes after the end";
		return SKP_ERR_CORRUPT;
	}
	if (skp_sha256(p, SKP_STORE_HEADER_LEN + (size_t)len, sum) != SKP_OK) {
		*reason = "cannot compute the checksum";
		return SKP_ERR_INTERNAL;
	}
	if (!skp_ct_equal(sum, trailer, sizeof(sum))) {
		*reason = "checksum mismatch";
		return SKP_ERR_CORRUPT;
	}
	*payload = body;
	*payloadlen = len;
	return SKP_OK;
}

int
skp_store_parse(const uint8_t *p, size_t n, const uint8_t **payload,
    size_t *payloadlen, char *why, size_t whylen)
{
	const char *reason = "";
	unsigned ver;
	int rc;

	quiet(why, whylen);
	if ((p == NULL && n > 0) || payload == NULL || payloadlen == NULL)
		return SKP_ERR_INVALID;
	if ((rc = parse_file(p, n, payload, payloadlen, &reason, &ver)) !=
	    SKP_OK) {
		if (rc == SKP_ERR_VERSION)
			skp_why(why, whylen,
			    "state file format %u is newer than "
			    "this sk-phone reads (%u)", ver, SKP_STORE_VERSION);
		else
			skp_why(why, whylen, "state file damaged: %s", reason);
	}
	return rc;
}

int
skp_store_frame(const uint8_t *payload, size_t len, skp_buf_t **out)
{
	uint8_t sum[SKP_SHA256_LEN];
	skp_buf_t *b = NULL;
	int rc;

	if (out == NULL || (payload == NULL && len > 0))
		return SKP_ERR_INVALID;
	if (len > SKP_STORE_PAYLOAD_MAX)
		return SKP_ERR_TOO_LARGE;
	if ((b = skp_buf_new(SKP_STORE_HEADER_LEN + len +
	    SKP_STORE_TRAILER_LEN)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_buf_put(b, store_magic, sizeof(store_magic))) !=
	    SKP_OK ||
	    (rc = skp_buf_u16(b, SKP_STORE_VERSION)) != SKP_OK ||
	    (rc = skp_buf_u32(b, (uint32_t)len)) != SKP_OK ||
	    (rc = skp_buf_put(b, payload, len)) != SKP_OK ||
	    (rc = skp_sha256(skp_buf_ptr(b), skp_buf_len(b), sum)) != SKP_OK ||
	    (rc = skp_buf_put(b, sum, sizeof(sum))) != SKP_OK)
		goto out;
	*out = b;
	b = NULL;
out:
	skp_buf_free(&b);
	return rc;
}

/* Read at most cap bytes; one more than the file holds tells "larger". */
static int
read_capped(int fd, skp_buf_t *b, size_t cap)
{
	uint8_t chunk[READ_CHUNK];
	size_t want;
	ssize_t n;
	int rc = SKP_OK;

	while (skp_buf_len(b) < cap) {
		want = cap - skp_buf_len(b);
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if ((n = read(fd, chunk, want)) < 0) {
			if (errno == EINTR)
				continue;
			rc = SKP_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		if ((rc = skp_buf_put(b, chunk, (size_t)n)) != SKP_OK)
			break;
	}
	skp_wipe(chunk, sizeof(chunk));
	return rc;
}

int
skp_file_read(const char *path, size_t cap, skp_buf_t **out)
{
	skp_buf_t *b = NULL;
	int fd, rc;

	*out = NULL;
	if (cap == SIZE_MAX)
		return SKP_ERR_INVALID;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return SKP_ERR_IO;
	if ((b = skp_buf_new(cap + 1)) == NULL)
		rc = SKP_ERR_NOMEM;
	else if ((rc = read_capped(fd, b, cap + 1)) == SKP_OK &&
	    skp_buf_len(b) > cap)
		rc = SKP_ERR_TOO_LARGE;
	close(fd);
	if (rc == SKP_OK) {
		*out = b;
		b = NULL;
	}
	skp_buf_free(&b);
	return rc;
}

int
skp_store_read(const char *dir, const char *name, skp_buf_t **payload,
    char *why, size_t whylen)
{
	char path[SKP_STORE_PATH_MAX + SKP_STORE_NAME_MAX + 2];
	struct stat st;
	skp_buf_t *raw = NULL, *out = NULL;
	const uint8_t *body = NULL;
	const char *reason = "";
	size_t bodylen = 0;
	unsigned ver = 0;
	int dfd = -1, fd = -1, rc;

	quiet(why, whylen);
	if (!valid_name(name) || payload == NULL) {
		skp_why(why, whylen, "bad state file name");
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = dir_open(dir, 0, &dfd, why, whylen)) != SKP_OK)
		goto out;
	if ((rc = join(path, sizeof(path), dir, name)) != SKP_OK) {
		skp_why(why, whylen, "the path of %s is too long", name);
		goto out;
	}
	/* NONBLOCK: a FIFO planted here must not hang ssh. */
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK | O_NOCTTY)) < 0) {
		if (errno == ENOENT) {
			skp_why(why, whylen, "%s does not exist", path);
			rc = SKP_ERR_NOT_FOUND;
		} else if (errno == ELOOP) {
			skp_why(why, whylen, "%s is a symbolic link, which "
			    "sk-phone does not follow in its folder: replace "
			    "it with the file itself", path);
			rc = SKP_ERR_PERM;
		} else {
			skp_why(why, whylen, "cannot open %s: %s", path,
			    strerror(errno));
			rc = SKP_ERR_IO;
		}
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		skp_why(why, whylen, "cannot stat %s: %s", path,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		skp_why(why, whylen, "%s is not a regular file: remove it "
		    "(rm -r %s)", path, path);
		rc = SKP_ERR_PERM;
		goto out;
	}
	if ((rc = check_stat(&st, path, 0, why, whylen)) != SKP_OK)
		goto out;
	if ((raw = skp_buf_new(SKP_STORE_FILE_MAX + 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = read_capped(fd, raw, SKP_STORE_FILE_MAX + 1)) != SKP_OK) {
		skp_why(why, whylen, "cannot read %s: %s", path,
		    rc == SKP_ERR_IO ? strerror(errno) : skp_strerror(rc));
		goto out;
	}
	if ((rc = parse_file(skp_buf_ptr(raw), skp_buf_len(raw), &body,
	    &bodylen, &reason, &ver)) != SKP_OK) {
		if (rc == SKP_ERR_VERSION)
			skp_why(why, whylen,
			    "%s was written by a newer sk-phone "
			    "(format %u; this one reads up to %u): upgrade "
			    "sk-phone", path, ver, SKP_STORE_VERSION);
		else
			skp_why(why, whylen, "%s is damaged (%s); it cannot be "
			    "used: remove it (rm %s) and pair again", path,
			    reason, path);
		goto out;
	}
	if ((out = skp_buf_new(bodylen > 0 ? bodylen : 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_buf_put(out, body, bodylen)) != SKP_OK)
		goto out;
	*payload = out;
	out = NULL;
out:
	skp_buf_free(&out);
	skp_buf_free(&raw);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
skp_file_write_private(const char *path, const char *text)
{
	char *tmp = NULL;
	int fd = -1, opened = 0, rc = SKP_ERR_IO, e;

	if (asprintf(&tmp, "%s.tmp", path) == -1)
		return SKP_ERR_NOMEM;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		goto out;
	opened = 1;
	if (fchmod(fd, 0600) == -1 ||
	    write_all(fd, (const uint8_t *)text, strlen(text)) != 0 ||
	    write_all(fd, (const uint8_t *)"\n", 1) != 0 || fsync(fd) == -1)
		goto out;
	e = close(fd);
	fd = -1;
	if (e == -1 || rename(tmp, path) == -1)
		goto out;
	rc = SKP_OK;
 out:
	e = errno;
	if (fd != -1)
		close(fd);
	if (rc != SKP_OK && opened)
		(void)unlink(tmp);
	free(tmp);
	errno = e;
	return rc;
}

/* Put tmp in place of name without replacing what is there. */
static int
link_noreplace(int dfd, const char *tmp, const char *name)
{
	if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* File systems without RENAME_NOREPLACE: link fails on EEXIST. */
	if (linkat(dfd, tmp, dfd, name, 0) != 0)
		return -1;
	(void)unlinkat(dfd, tmp, 0);
	return 0;
}

int
skp_store_write(const char *dir, const char *name, const uint8_t *payload,
    size_t len, int flags, char *why, size_t whylen)
{
	char path[SKP_STORE_PATH_MAX + SKP_STORE_NAME_MAX + 2];
	char tmp[SKP_STORE_NAME_MAX + 32], hex[17];
	uint8_t rnd[8];
	skp_buf_t *file = NULL;
	int dfd = -1, fd = -1, have_tmp = 0, rc;

	quiet(why, whylen);
	if (!valid_name(name) || (payload == NULL && len > 0) ||
	    (flags & ~(SKP_STORE_NOREPLACE | SKP_STORE_NOSYNC)) != 0) {
		skp_why(why, whylen, "bad state file name or arguments");
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_store_frame(payload, len, &file)) != SKP_OK) {
		skp_why(why, whylen, "cannot save %s: %s", name,
		    skp_strerror(rc));
		goto out;
	}
	if ((rc = dir_open(dir, 1, &dfd, why, whylen)) != SKP_OK)
		goto out;
	if ((rc = join(path, sizeof(path), dir, name)) != SKP_OK) {
		skp_why(why, whylen, "the path of %s is too long", name);
		goto out;
	}
	if ((rc = skp_random(rnd, sizeof(rnd))) != SKP_OK)
		goto out;
	skp_hex(rnd, sizeof(rnd), hex);
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%s", name, hex);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0) {
		skp_why(why, whylen, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	have_tmp = 1;
	/* The umask may have taken bits away; it never adds any. */
	if (fchmod(fd, 0600) != 0 ||
	    write_all(fd, skp_buf_ptr(file), skp_buf_len(file)) != 0 ||
	    (!(flags & SKP_STORE_NOSYNC) && fsync(fd) != 0)) {
		skp_why(why, whylen, "cannot write %s: %s", path,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		skp_why(why, whylen, "cannot write %s: %s", path,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	fd = -1;
	if (flags & SKP_STORE_NOREPLACE) {
		if (link_noreplace(dfd, tmp, name) != 0) {
			if (errno == EEXIST) {
				skp_why(why, whylen, "%s already exists", path);
				rc = SKP_ERR_EXISTS;
			} else {
				skp_why(why, whylen, "cannot create %s: %s",
				    path,
				    strerror(errno));
				rc = SKP_ERR_IO;
			}
			goto out;
		}
	} else if (renameat(dfd, tmp, dfd, name) != 0) {
		skp_why(why, whylen, "cannot replace %s: %s", path,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	have_tmp = 0;
	/* Without this the rename itself may not survive a crash. */
	if (!(flags & SKP_STORE_NOSYNC) && fsync(dfd) != 0) {
		skp_why(why, whylen, "cannot flush the folder %s: %s", dir,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	rc = SKP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		(void)unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	skp_buf_free(&file);
	return rc;
}

int
skp_store_remove(const char *dir, const char *name, char *why,
    size_t whylen)
{
	char path[SKP_STORE_PATH_MAX + SKP_STORE_NAME_MAX + 2];
	int dfd = -1, rc;

	quiet(why, whylen);
	if (!valid_name(name)) {
		skp_why(why, whylen, "bad state file name");
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = dir_open(dir, 0, &dfd, why, whylen)) != SKP_OK)
		goto out;
	if ((rc = join(path, sizeof(path), dir, name)) != SKP_OK) {
		skp_why(why, whylen, "the path of %s is too long", name);
		goto out;
	}
	if (unlinkat(dfd, name, 0) != 0) {
		if (errno == ENOENT) {
			skp_why(why, whylen, "%s does not exist", path);
			rc = SKP_ERR_NOT_FOUND;
		} else {
			skp_why(why, whylen, "cannot remove %s: %s", path,
			    strerror(errno));
			rc = SKP_ERR_IO;
		}
		goto out;
	}
	if (fsync(dfd) != 0) {
		skp_why(why, whylen, "cannot flush the folder %s: %s", dir,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	rc = SKP_OK;
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int
skp_store_lock(const char *dir, int *fdp, char *why, size_t whylen)
{
	int dfd = -1, fd = -1, rc;

	quiet(why, whylen);
	if (fdp == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	*fdp = -1;
	if ((rc = dir_open(dir, 1, &dfd, why, whylen)) != SKP_OK)
		goto out;
	/* The lock file holds nothing; only its flock matters. */
	if ((fd = openat(dfd, SKP_STORE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0) {
		skp_why(why, whylen, "cannot open %s/%s: %s", dir,
		    SKP_STORE_LOCK, strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		skp_why(why, whylen, "cannot lock %s/%s: %s", dir,
		    SKP_STORE_LOCK, strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	*fdp = fd;
	fd = -1;
	rc = SKP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

void
skp_store_unlock(int *fdp)
{
	if (fdp == NULL || *fdp < 0)
		return;
	(void)flock(*fdp, LOCK_UN);
	close(*fdp);
	*fdp = -1;
}

/* A decode error of a payload, as the file's own complaint. */
static int
corrupt(int rc, const char *dir, const char *name, char *why,
    size_t whylen)
{
	if (rc == SKP_ERR_NOMEM || rc == SKP_ERR_INTERNAL)
		return rc;
	skp_why(why, whylen, "%s/%s is damaged (%s); it cannot be used: remove "
	    "it (rm %s/%s) and pair again", dir, name, skp_strerror(rc), dir,
	    name);
	return SKP_ERR_CORRUPT;
}

int
skp_store_identity_encode(const struct skp_p256_key *k, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL;
	int rc;

	if (k == NULL || out == NULL || outlen == NULL)
		return SKP_ERR_INVALID;
	if ((m = skp_cbor_map(1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(k->priv,
	    sizeof(k->priv)))) != SKP_OK)
		goto out;
	rc = skp_cbor_encode(m, SKP_STORE_PAYLOAD_MAX, out, outlen);
out:
	skp_cbor_free(&m);
	return rc;
}

int
skp_store_identity_decode(const uint8_t *p, size_t n,
    struct skp_p256_key *k)
{
	static const int64_t keys[] = { 1 };
	uint8_t priv[SKP_P256_PRIV_LEN];
	cbor_item_t *m = NULL, *v = NULL;
	size_t len = 0;
	int rc;

	if (k == NULL || (p == NULL && n > 0)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_cbor_load(p, n, SKP_STORE_PAYLOAD_MAX, &m)) != SKP_OK ||
	    (rc = skp_cbor_map_only(m, keys, NKEYS(keys))) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_BYTESTRING, &v)) !=
	    SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, sizeof(priv), sizeof(priv), priv,
	    &len)) != SKP_OK)
		goto out;
	/* Refuses 0 and scalars past the group order. */
	rc = skp_p256_from_private(priv, k);
out:
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_FORMAT;
	skp_wipe(priv, sizeof(priv));
	skp_cbor_free(&m);
	return rc;
}

int
skp_store_identity_load(const char *dir, struct skp_p256_key *k,
    char *why, size_t whylen)
{
	skp_buf_t *b = NULL;
	int rc;

	quiet(why, whylen);
	if (k == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_store_read(dir, SKP_STORE_IDENTITY, &b, why, whylen)) !=
	    SKP_OK)
		goto out;
	if ((rc = skp_store_identity_decode(skp_buf_ptr(b), skp_buf_len(b),
	    k)) != SKP_OK)
		rc = corrupt(rc, dir, SKP_STORE_IDENTITY, why, whylen);
out:
	skp_buf_free(&b);
	return rc;
}

int
skp_store_identity_create(const char *dir, struct skp_p256_key *k,
    char *why, size_t whylen)
{
	struct skp_p256_key t;
	uint8_t *enc = NULL;
	size_t enclen = 0;
	int rc;

	quiet(why, whylen);
	memset(&t, 0, sizeof(t));
	if (k == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_p256_generate(&t)) != SKP_OK ||
	    (rc = skp_store_identity_encode(&t, &enc, &enclen)) != SKP_OK) {
		skp_why(why, whylen, "cannot make an identity key: %s",
		    skp_strerror(rc));
		goto out;
	}
	/* Never replace a key: pairings made with it would all break. */
	if ((rc = skp_store_write(dir, SKP_STORE_IDENTITY, enc, enclen,
	    SKP_STORE_NOREPLACE, why, whylen)) != SKP_OK)
		goto out;
	memcpy(k, &t, sizeof(t));
out:
	if (enc != NULL) {
		skp_wipe(enc, enclen);
		free(enc);
	}
	skp_wipe(&t, sizeof(t));
	return rc;
}

struct skp_store_phones {
	struct skp_store_pairing	p[SKP_STORE_MAX_PHONES];
	size_t				n;
};

skp_store_phones_t *
skp_store_phones_new(void)
{
	return calloc(1, sizeof(skp_store_phones_t));
}

void
skp_store_phones_free(skp_store_phones_t **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	skp_wipe(*sp, sizeof(**sp));
	free(*sp);
	*sp = NULL;
}

size_t
skp_store_phones_count(const skp_store_phones_t *s)
{
	return s != NULL ? s->n : 0;
}

const struct skp_store_pairing *
skp_store_phones_at(const skp_store_phones_t *s, size_t i)
{
	return s != NULL && i < s->n ? &s->p[i] : NULL;
}

static int
name_equal(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* "" or an absolute path of printable characters, NUL-terminated. */
static int
check_ca_path(const char *p, size_t size)
{
	size_t i, n = strnlen(p, size);

	if (n == size)
		return SKP_ERR_FORMAT;
	if (n == 0)
		return SKP_OK;
	if (p[0] != '/')
		return SKP_ERR_FORMAT;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return SKP_ERR_FORMAT;
	return SKP_OK;
}

int
skp_store_phones_add(skp_store_phones_t *s,
    const struct skp_store_pairing *in, char *why, size_t whylen)
{
	struct skp_store_pairing t;
	size_t i;
	int rc;

	quiet(why, whylen);
	memset(&t, 0, sizeof(t));
	if (s == NULL || in == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	memcpy(&t, in, sizeof(t));
	if ((rc = skp_pairuri_check_name(t.phone_name,
	    strnlen(t.phone_name, sizeof(t.phone_name)))) != SKP_OK) {
		skp_why(why, whylen, "the phone's name is not valid");
		goto out;
	}
	if ((rc = skp_pairuri_check_name(t.computer_name,
	    strnlen(t.computer_name, sizeof(t.computer_name)))) != SKP_OK) {
		skp_why(why, whylen, "the computer's name is not valid");
		goto out;
	}
	if ((rc = skp_relaylist_check(t.relay,
	    strnlen(t.relay, sizeof(t.relay)), NULL)) != SKP_OK) {
		skp_why(why, whylen, "the relay URL is not valid");
		goto out;
	}
	if ((rc = skp_p256_check_public(t.phone_pub)) != SKP_OK) {
		skp_why(why, whylen, "the phone's key is not valid");
		goto out;
	}
	if ((rc = check_ca_path(t.ca_file, sizeof(t.ca_file))) != SKP_OK) {
		skp_why(why, whylen, "the CA file's path is not valid (an "
		    "absolute path is wanted)");
		goto out;
	}
	if ((rc = skp_pairuri_phone_id(t.phone_pub, t.phone_id)) != SKP_OK)
		goto out;
	for (i = 0; i < s->n; i++) {
		if (name_equal(s->p[i].phone_name, t.phone_name)) {
			skp_why(why, whylen, "a phone named \"%s\" is already "
			    "paired: unpair it first, or choose another name",
			    t.phone_name);
			rc = SKP_ERR_EXISTS;
			goto out;
		}
		if (memcmp(s->p[i].phone_id, t.phone_id,
		    sizeof(t.phone_id)) == 0) {
			skp_why(why, whylen, "this phone is already paired as "
			    "\"%s\": unpair it first", s->p[i].phone_name);
			rc = SKP_ERR_EXISTS;
			goto out;
		}
	}
	if (s->n >= SKP_STORE_MAX_PHONES) {
		skp_why(why, whylen, "sk-phone keeps at most %d paired phones: "
		    "unpair one first", SKP_STORE_MAX_PHONES);
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(&s->p[s->n++], &t, sizeof(t));
	rc = SKP_OK;
out:
	skp_wipe(&t, sizeof(t));
	return rc;
}

static void
remove_at(skp_store_phones_t *s, size_t i)
{
	memmove(&s->p[i], &s->p[i + 1], (s->n - i - 1) * sizeof(s->p[0]));
	s->n--;
	skp_wipe(&s->p[s->n], sizeof(s->p[0]));
}

int
skp_store_phones_remove(skp_store_phones_t *s, const char *name)
{
	size_t i;

	if (s == NULL || name == NULL)
		return SKP_ERR_INVALID;
	for (i = 0; i < s->n; i++)
		if (name_equal(s->p[i].phone_name, name)) {
			remove_at(s, i);
			return SKP_OK;
		}
	return SKP_ERR_NOT_FOUND;
}

int
skp_store_phones_remove_id(skp_store_phones_t *s,
    const uint8_t id[SKP_PHONE_ID_LEN])
{
	size_t i;

	if (s == NULL || id == NULL)
		return SKP_ERR_INVALID;
	for (i = 0; i < s->n; i++)
		if (memcmp(s->p[i].phone_id, id, SKP_PHONE_ID_LEN) == 0) {
			remove_at(s, i);
			return SKP_OK;
		}
	return SKP_ERR_NOT_FOUND;
}

int
skp_store_phones_find_id(const skp_store_phones_t *s,
    const uint8_t id[SKP_PHONE_ID_LEN], const struct skp_store_pairing **out)
{
	size_t i;

	if (s == NULL || id == NULL || out == NULL)
		return SKP_ERR_INVALID;
	for (i = 0; i < s->n; i++)
		if (memcmp(s->p[i].phone_id, id, SKP_PHONE_ID_LEN) == 0) {
			*out = &s->p[i];
			return SKP_OK;
		}
	return SKP_ERR_NOT_FOUND;
}

int
skp_store_phones_find_name(const skp_store_phones_t *s, const char *name,
    const struct skp_store_pairing **out)
{
	size_t i;

	if (s == NULL || name == NULL || out == NULL)
		return SKP_ERR_INVALID;
	for (i = 0; i < s->n; i++)
		if (name_equal(s->p[i].phone_name, name)) {
			*out = &s->p[i];
			return SKP_OK;
		}
	return SKP_ERR_NOT_FOUND;
}

static cbor_item_t *
pairing_map(const struct skp_store_pairing *p)
{
	cbor_item_t *m;

	if ((m = skp_cbor_map(p->ca_file[0] != '\0' ? 8 : 7)) == NULL)
		return NULL;
	if (skp_cbor_map_put(m, 1, skp_cbor_text(p->phone_name)) != SKP_OK ||
	    skp_cbor_map_put(m, 2, skp_cbor_bytes(p->phone_pub,
	    sizeof(p->phone_pub))) != SKP_OK ||
	    skp_cbor_map_put(m, 3, skp_cbor_bytes(p->mailbox_id,
	    sizeof(p->mailbox_id))) != SKP_OK ||
	    skp_cbor_map_put(m, 4, skp_cbor_relays(p->relay)) != SKP_OK ||
	    skp_cbor_map_put(m, 5, skp_cbor_bytes(p->request_psk,
	    sizeof(p->request_psk))) != SKP_OK ||
	    skp_cbor_map_put(m, 6, skp_cbor_uint(p->paired_at)) != SKP_OK ||
	    skp_cbor_map_put(m, 7, skp_cbor_text(p->computer_name)) !=
	    SKP_OK ||
	    (p->ca_file[0] != '\0' &&
	    skp_cbor_map_put(m, 8, skp_cbor_text(p->ca_file)) != SKP_OK))
		skp_cbor_free(&m);
	return m;
}

int
skp_store_phones_encode(const skp_store_phones_t *s, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *top = NULL, *arr = NULL;
	size_t i;
	int rc;

	if (s == NULL || out == NULL || outlen == NULL)
		return SKP_ERR_INVALID;
	if ((top = skp_cbor_map(1)) == NULL ||
	    (arr = skp_cbor_array(s->n)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < s->n; i++)
		if ((rc = skp_cbor_array_push(arr, pairing_map(&s->p[i]))) !=
		    SKP_OK)
			goto out;
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

static int
get_text(const cbor_item_t *m, int64_t key, size_t max, char *out,
    size_t outsz)
{
	cbor_item_t *v = NULL;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_STRING, &v)) != SKP_OK)
		return rc;
	return skp_cbor_get_text(v, max, out, outsz);
}

static int
get_bytes(const cbor_item_t *m, int64_t key, uint8_t *out, size_t len)
{
	cbor_item_t *v = NULL;
	size_t got = 0;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_BYTESTRING, &v)) !=
	    SKP_OK)
		return rc;
	return skp_cbor_get_bytes(v, len, len, out, &got);
}

static int
decode_pairing(const cbor_item_t *m, skp_store_phones_t *s)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct skp_store_pairing p;
	cbor_item_t *v = NULL;
	int rc;

	memset(&p, 0, sizeof(p));
	if ((rc = skp_cbor_map_only(m, keys, NKEYS(keys))) != SKP_OK ||
	    (rc = get_text(m, 1, SKP_NAME_MAX, p.phone_name,
	    sizeof(p.phone_name))) != SKP_OK ||
	    (rc = get_bytes(m, 2, p.phone_pub, sizeof(p.phone_pub))) !=
	    SKP_OK ||
	    (rc = get_bytes(m, 3, p.mailbox_id, sizeof(p.mailbox_id))) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_get_relays(m, 4, p.relay,
	    sizeof(p.relay))) != SKP_OK ||
	    (rc = get_bytes(m, 5, p.request_psk, sizeof(p.request_psk))) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_get(m, 6, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &p.paired_at)) != SKP_OK ||
	    (rc = get_text(m, 7, SKP_NAME_MAX, p.computer_name,
	    sizeof(p.computer_name))) != SKP_OK)
		goto out;
	/* 8 is optional, and never empty when present. */
	rc = get_text(m, 8, SKP_STORE_CA_MAX, p.ca_file, sizeof(p.ca_file));
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_OK;
	else if (rc == SKP_OK && p.ca_file[0] == '\0')
		rc = SKP_ERR_FORMAT;
	if (rc != SKP_OK)
		goto out;
	/* Field checks and duplicates, as when the pairing was made. */
	if ((rc = skp_store_phones_add(s, &p, NULL, 0)) == SKP_ERR_EXISTS)
		rc = SKP_ERR_FORMAT;
out:
	skp_wipe(&p, sizeof(p));
	return rc;
}

int
skp_store_phones_decode(const uint8_t *p, size_t n, skp_store_phones_t **out)
{
	static const int64_t keys[] = { 1 };
	skp_store_phones_t *s = NULL;
	cbor_item_t *top = NULL, *arr = NULL, **items;
	size_t i, count;
	int rc;

	if (out == NULL || (p == NULL && n > 0)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_cbor_load(p, n, SKP_STORE_PAYLOAD_MAX, &top)) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_only(top, keys, NKEYS(keys))) != SKP_OK ||
	    (rc = skp_cbor_map_get(top, 1, CBOR_TYPE_ARRAY, &arr)) != SKP_OK)
		goto out;
	if ((count = cbor_array_size(arr)) > SKP_STORE_MAX_PHONES) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((s = skp_store_phones_new()) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	items = cbor_array_handle(arr);
	for (i = 0; i < count; i++) {
		if (!cbor_isa_map(items[i])) {
			rc = SKP_ERR_CBOR_TYPE;
			goto out;
		}
		if ((rc = decode_pairing(items[i], s)) != SKP_OK)
			goto out;
	}
	*out = s;
	s = NULL;
	rc = SKP_OK;
out:
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_FORMAT;
	skp_store_phones_free(&s);
	skp_cbor_free(&top);
	return rc;
}

int
skp_store_phones_load(const char *dir, skp_store_phones_t **out,
    char *why, size_t whylen)
{
	skp_store_phones_t *s = NULL;
	skp_buf_t *b = NULL;
	int rc;

	quiet(why, whylen);
	if (out == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	rc = skp_store_read(dir, SKP_STORE_PHONES, &b, why, whylen);
	if (rc == SKP_ERR_NOT_FOUND) {
		/* Nothing paired yet. */
		quiet(why, whylen);
		if ((s = skp_store_phones_new()) == NULL)
			rc = SKP_ERR_NOMEM;
		else
			rc = SKP_OK;
	} else if (rc == SKP_OK &&
	    (rc = skp_store_phones_decode(skp_buf_ptr(b), skp_buf_len(b),
	    &s)) != SKP_OK)
		rc = corrupt(rc, dir, SKP_STORE_PHONES, why, whylen);
	if (rc != SKP_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	skp_store_phones_free(&s);
	skp_buf_free(&b);
	return rc;
}

int
skp_store_phones_save(const char *dir, const skp_store_phones_t *s,
    char *why, size_t whylen)
{
	uint8_t *enc = NULL;
	size_t enclen = 0;
	int rc;

	quiet(why, whylen);
	if ((rc = skp_store_phones_encode(s, &enc, &enclen)) != SKP_OK) {
		skp_why(why, whylen, "cannot save the pairings: %s",
		    skp_strerror(rc));
		goto out;
	}
	rc = skp_store_write(dir, SKP_STORE_PHONES, enc, enclen, 0, why,
	    whylen);
out:
	if (enc != NULL) {
		skp_wipe(enc, enclen);
		free(enc);
	}
	return rc;
}

int
skp_store_phones_move(const char *dir, const uint8_t id[SKP_PHONE_ID_LEN],
    const uint8_t mailbox_id[SKP_MAILBOX_ID_LEN], const char *relay,
    char *why, size_t whylen)
{
	skp_store_phones_t *s = NULL;
	size_t i;
	int rc, fd = -1;

	quiet(why, whylen);
	if (dir == NULL || id == NULL || mailbox_id == NULL ||
	    relay == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_pairuri_check_relay(relay, strlen(relay))) != SKP_OK) {
		skp_why(why, whylen, "the phone's new relay URL is not valid");
		goto out;
	}
	if ((rc = skp_store_lock(dir, &fd, why, whylen)) != SKP_OK ||
	    (rc = skp_store_phones_load(dir, &s, why, whylen)) != SKP_OK)
		goto out;
	for (i = 0; i < s->n; i++)
		if (memcmp(s->p[i].phone_id, id, SKP_PHONE_ID_LEN) == 0)
			break;
	if (i == s->n) {
		/* Unpaired meanwhile: nothing to update. */
		skp_why(why, whylen, "the phone is no longer paired");
		rc = SKP_ERR_NOT_FOUND;
		goto out;
	}
	/* A phone names one URL: one of the list's keeps the list. */
	if (memcmp(s->p[i].mailbox_id, mailbox_id, SKP_MAILBOX_ID_LEN) ==
	    0 && skp_relaylist_has(s->p[i].relay, relay))
		goto out;	/* told before */
	memcpy(s->p[i].mailbox_id, mailbox_id, SKP_MAILBOX_ID_LEN);
	if (!skp_relaylist_has(s->p[i].relay, relay))
		snprintf(s->p[i].relay, sizeof(s->p[i].relay), "%s", relay);
	rc = skp_store_phones_save(dir, s, why, whylen);
out:
	skp_store_unlock(&fd);
	skp_store_phones_free(&s);
	return rc;
}
