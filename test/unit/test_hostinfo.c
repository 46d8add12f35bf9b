/* Unit tests for the hostinfo record, its folder and its file rules. */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "harness.h"

static char xdg[64];
static char dir[128];

/* A fresh XDG_RUNTIME_DIR for each case; the folder inside not made. */
static void
fresh_xdg(void)
{
	snprintf(xdg, sizeof(xdg), "/tmp/skp-hostinfo-XXXXXX");
	if (mkdtemp(xdg) == NULL || setenv("XDG_RUNTIME_DIR", xdg, 1) != 0)
		abort();
	snprintf(dir, sizeof(dir), "%s/sk-phone", xdg);
}

static void
rm_xdg(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", xdg);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", xdg);
}

static struct skp_hostinfo *
sample(uint32_t pid)
{
	struct skp_hostinfo *hi = calloc(1, sizeof(*hi));
	size_t i;

	if (hi == NULL)
		abort();
	hi->time = (uint64_t)time(NULL);
	hi->pid = pid;
	hi->port = 2222;
	strcpy(hi->host, "db1.example.com");
	strcpy(hi->kex, "curve25519-sha256");
	hi->hostkey_len = 51;
	for (i = 0; i < hi->hostkey_len; i++)
		hi->hostkey[i] = (uint8_t)i;
	hi->sig_len = 83;
	for (i = 0; i < hi->sig_len; i++)
		hi->sig[i] = (uint8_t)(0xff - i);
	return hi;
}

static int
same(const struct skp_hostinfo *a, const struct skp_hostinfo *b)
{
	return a->time == b->time && a->pid == b->pid && a->port == b->port &&
	    strcmp(a->host, b->host) == 0 && strcmp(a->kex, b->kex) == 0 &&
	    a->hostkey_len == b->hostkey_len &&
	    memcmp(a->hostkey, b->hostkey, a->hostkey_len) == 0 &&
	    a->sig_len == b->sig_len &&
	    memcmp(a->sig, b->sig, a->sig_len) == 0;
}

/*
 * The record built field by field, as docs/PROTOCOL.md §9 says,
 * with a checksum; for records encode() refuses to make.
 */
static uint8_t *
raw_record(const char *magic, uint16_t version, uint64_t t, uint32_t pid,
    uint16_t port, const char *host, const char *kex, size_t keylen,
    size_t siglen, size_t *len)
{
	skp_buf_t *b = skp_buf_new(2 * SKP_HOSTINFO_FILE_MAX);
	uint8_t sum[SKP_SHA256_LEN], *p = NULL, *blob;

	if (b == NULL || (blob = calloc(1, keylen + siglen + 1)) == NULL)
		abort();
	memset(blob, 0x5a, keylen + siglen);
	if (skp_buf_put(b, magic, 4) != SKP_OK ||
	    skp_buf_u16(b, version) != SKP_OK ||
	    skp_buf_u64(b, t) != SKP_OK || skp_buf_u32(b, pid) != SKP_OK ||
	    skp_buf_u16(b, port) != SKP_OK ||
	    skp_buf_string(b, host, strlen(host)) != SKP_OK ||
	    skp_buf_string(b, kex, strlen(kex)) != SKP_OK ||
	    skp_buf_string(b, blob, keylen) != SKP_OK ||
	    skp_buf_string(b, blob, siglen) != SKP_OK ||
	    skp_sha256(skp_buf_ptr(b), skp_buf_len(b), sum) != SKP_OK ||
	    skp_buf_put(b, sum, sizeof(sum)) != SKP_OK ||
	    skp_buf_steal(b, &p, len) != SKP_OK)
		abort();
	free(blob);
	skp_buf_free(&b);
	return p;
}

static int
decode_raw(const char *magic, uint16_t version, uint32_t pid, uint16_t port,
    const char *host, const char *kex, size_t keylen, size_t siglen)
{
	struct skp_hostinfo *hi = calloc(1, sizeof(*hi));
	uint8_t *p;
	size_t n;
	int rc;

	if (hi == NULL)
		abort();
	p = raw_record(magic, version, 1700000000, pid, port, host, kex,
	    keylen, siglen, &n);
	rc = skp_hostinfo_decode(p, n, hi);
	free(p);
	free(hi);
	return rc;
}

static void
encode_decode_roundtrip(void)
{
	struct skp_hostinfo *a = sample(4242), *b = calloc(1, sizeof(*b));
	uint8_t *buf = malloc(SKP_HOSTINFO_FILE_MAX), *raw;
	size_t n = 0, rn;

	REQUIRE(b != NULL && buf != NULL);
	CHECK_RC(skp_hostinfo_encode(a, buf, SKP_HOSTINFO_FILE_MAX, &n),
	    SKP_OK);
	CHECK_RC(skp_hostinfo_decode(buf, n, b), SKP_OK);
	CHECK(same(a, b));
	/* The layout is the documented one, byte for byte. */
	raw = raw_record("SKPH", 1, a->time, 4242, 2222, "db1.example.com",
	    "curve25519-sha256", 0, 0, &rn);
	CHECK(n == rn + 51 + 83);
	CHECK(memcmp(buf, raw, 4 + 2 + 8 + 4 + 2) == 0);
	free(raw);
	CHECK_RC(skp_hostinfo_encode(a, buf, n - 1, &n), SKP_ERR_TOO_LARGE);
	free(buf);
	free(a);
	free(b);
}

static void
decode_refusals(void)
{
	struct skp_hostinfo *hi = calloc(1, sizeof(*hi));
	uint8_t *p;
	size_t n, i;

	REQUIRE(hi != NULL);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h", "k", 10, 10), SKP_OK);
	CHECK_RC(decode_raw("SKPX", 1, 7, 22, "h", "k", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 2, 7, 22, "h", "k", 10, 10),
	    SKP_ERR_VERSION);
	CHECK_RC(decode_raw("SKPH", 0, 7, 22, "h", "k", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 0, 22, "h", "k", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 0, "h", "k", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "", "k", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "a;b", "k", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "-oFoo", "k", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h", "a,b", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h", "", 10, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h", "k", 0, 10),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h", "k", 10, 0),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h",
	    "k234567890123456789012345678901234567890123456789012345678901234"
	    "5", 10, 10), SKP_ERR_TOO_LARGE);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h", "k",
	    SKP_HOSTKEY_KEY_MAX + 1, 10), SKP_ERR_TOO_LARGE);
	CHECK_RC(decode_raw("SKPH", 1, 7, 22, "h", "k", 10,
	    SKP_HOSTKEY_SIG_MAX + 1), SKP_ERR_TOO_LARGE);
	/* Checksum, truncation, trailing bytes. */
	p = raw_record("SKPH", 1, 1, 7, 22, "h", "k", 10, 10, &n);
	p[n - 1] ^= 1;
	CHECK_RC(skp_hostinfo_decode(p, n, hi), SKP_ERR_CORRUPT);
	p[n - 1] ^= 1;
	p[n - 33] ^= 1;	/* the signature's last byte, before the sum */
	CHECK_RC(skp_hostinfo_decode(p, n, hi), SKP_ERR_CORRUPT);
	p[n - 33] ^= 1;
	for (i = 0; i < n; i++)
		CHECK_RC(skp_hostinfo_decode(p, i, hi), SKP_ERR_TRUNCATED);
	free(p);
	p = raw_record("SKPH", 1, 1, 7, 22, "h", "k", 10, 10, &n);
	REQUIRE((p = realloc(p, n + 1)) != NULL);
	p[n] = 0;
	CHECK_RC(skp_hostinfo_decode(p, n + 1, hi), SKP_ERR_TRAILING);
	free(p);
	p = calloc(1, SKP_HOSTINFO_FILE_MAX + 1);
	REQUIRE(p != NULL);
	CHECK_RC(skp_hostinfo_decode(p, SKP_HOSTINFO_FILE_MAX + 1, hi),
	    SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_hostinfo_decode(NULL, 4, hi), SKP_ERR_INVALID);
	free(p);
	free(hi);
}

static void
encode_refuses_bad_fields(void)
{
	struct skp_hostinfo *hi = sample(9);
	uint8_t *buf = malloc(SKP_HOSTINFO_FILE_MAX);
	size_t n;

	REQUIRE(buf != NULL);
	strcpy(hi->host, "bad host");
	CHECK_RC(skp_hostinfo_encode(hi, buf, SKP_HOSTINFO_FILE_MAX, &n),
	    SKP_ERR_INVALID);
	strcpy(hi->host, "ok");
	hi->sig_len = 0;
	CHECK_RC(skp_hostinfo_encode(hi, buf, SKP_HOSTINFO_FILE_MAX, &n),
	    SKP_ERR_INVALID);
	hi->sig_len = sizeof(hi->sig) + 1;
	CHECK_RC(skp_hostinfo_encode(hi, buf, SKP_HOSTINFO_FILE_MAX, &n),
	    SKP_ERR_INVALID);
	hi->sig_len = 3;
	hi->port = 0;
	CHECK_RC(skp_hostinfo_encode(hi, buf, SKP_HOSTINFO_FILE_MAX, &n),
	    SKP_ERR_INVALID);
	hi->port = 22;
	CHECK_RC(skp_hostinfo_encode(hi, buf, SKP_HOSTINFO_FILE_MAX, &n),
	    SKP_OK);
	CHECK_RC(skp_hostinfo_write(NULL), SKP_ERR_INVALID);
	free(buf);
	free(hi);
}

static void
write_read_remove(void)
{
	struct skp_hostinfo *a = sample(31337), *b = calloc(1, sizeof(*b));
	char path[256], got[256];
	struct stat st;

	REQUIRE(b != NULL);
	fresh_xdg();
	CHECK_RC(skp_hostinfo_read(31337, b), SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700);
	snprintf(path, sizeof(path), "%s/31337", dir);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0777) == 0600);
	CHECK_RC(skp_hostinfo_read(31337, b), SKP_OK);
	CHECK(same(a, b));
	CHECK_RC(skp_hostinfo_dir(0, got, sizeof(got)), SKP_OK);
	CHECK(strcmp(got, dir) == 0);
	/* Written again: replaced whole. */
	a->port = 22;
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);
	CHECK_RC(skp_hostinfo_read(31337, b), SKP_OK);
	CHECK(b->port == 22);
	CHECK_RC(skp_hostinfo_remove(31337), SKP_OK);
	CHECK(stat(path, &st) != 0 && errno == ENOENT);
	CHECK_RC(skp_hostinfo_remove(31337), SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_hostinfo_read(31337, b), SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_hostinfo_read(0, b), SKP_ERR_INVALID);
	CHECK_RC(skp_hostinfo_read(-5, b), SKP_ERR_INVALID);
	rm_xdg();
	free(a);
	free(b);
}

static void
refuses_stale_and_future_records(void)
{
	struct skp_hostinfo *a = sample(500), *b = calloc(1, sizeof(*b));
	char path[256];
	struct stat st;

	REQUIRE(b != NULL);
	fresh_xdg();
	snprintf(path, sizeof(path), "%s/500", dir);
	a->time = (uint64_t)time(NULL) - SKP_HOSTINFO_MAX_AGE + 30;
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);
	CHECK_RC(skp_hostinfo_read(500, b), SKP_OK);
	a->time = (uint64_t)time(NULL) - SKP_HOSTINFO_MAX_AGE - 2;
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);
	CHECK_RC(skp_hostinfo_read(500, b), SKP_ERR_EXPIRED);
	CHECK(stat(path, &st) != 0);
	a->time = (uint64_t)time(NULL) + SKP_HOSTINFO_SKEW + 30;
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);
	CHECK_RC(skp_hostinfo_read(500, b), SKP_ERR_EXPIRED);
	CHECK(stat(path, &st) != 0);
	rm_xdg();
	free(a);
	free(b);
}

static void
refuses_record_of_another_pid(void)
{
	struct skp_hostinfo *a = sample(600), *b = calloc(1, sizeof(*b));
	char from[256], to[256];

	REQUIRE(b != NULL);
	fresh_xdg();
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);
	snprintf(from, sizeof(from), "%s/600", dir);
	snprintf(to, sizeof(to), "%s/601", dir);
	CHECK(rename(from, to) == 0);
	CHECK_RC(skp_hostinfo_read(601, b), SKP_ERR_CORRUPT);
	rm_xdg();
	free(a);
	free(b);
}

static void
refuses_open_folder_or_file(void)
{
	struct skp_hostinfo *a = sample(700), *b = calloc(1, sizeof(*b));
	char path[256], target[256];

	REQUIRE(b != NULL);
	fresh_xdg();
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);
	snprintf(path, sizeof(path), "%s/700", dir);
	/* File readable by others. */
	CHECK(chmod(path, 0644) == 0);
	CHECK_RC(skp_hostinfo_read(700, b), SKP_ERR_PERM);
	CHECK(chmod(path, 0600) == 0);
	CHECK_RC(skp_hostinfo_read(700, b), SKP_OK);
	/* File owned by someone else (the tests may run as root). */
	if (geteuid() == 0) {
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK_RC(skp_hostinfo_read(700, b), SKP_ERR_PERM);
		CHECK(chown(path, 0, 0) == 0);
	}
	/* Folder open to the group. */
	CHECK(chmod(dir, 0750) == 0);
	CHECK_RC(skp_hostinfo_read(700, b), SKP_ERR_PERM);
	CHECK_RC(skp_hostinfo_write(a), SKP_ERR_PERM);
	CHECK(chmod(dir, 0700) == 0);
	/* A symlink as the file. */
	CHECK(unlink(path) == 0);
	snprintf(target, sizeof(target), "%s/elsewhere", xdg);
	CHECK(symlink(target, path) == 0);
	CHECK_RC(skp_hostinfo_read(700, b), SKP_ERR_PERM);
	CHECK(unlink(path) == 0);
	/* A folder as the file. */
	CHECK(mkdir(path, 0700) == 0);
	CHECK_RC(skp_hostinfo_read(700, b), SKP_ERR_PERM);
	CHECK(rmdir(path) == 0);
	/* A symlink as the folder. */
	snprintf(target, sizeof(target), "%s/real", xdg);
	CHECK(rename(dir, target) == 0);
	CHECK(symlink(target, dir) == 0);
	CHECK_RC(skp_hostinfo_read(700, b), SKP_ERR_PERM);
	CHECK_RC(skp_hostinfo_write(a), SKP_ERR_PERM);
	rm_xdg();
	free(a);
	free(b);
}

static void
refuses_oversized_file(void)
{
	struct skp_hostinfo *b = calloc(1, sizeof(*b));
	char path[256];
	uint8_t *big = calloc(1, SKP_HOSTINFO_FILE_MAX + 1);
	int fd;

	REQUIRE(b != NULL && big != NULL);
	fresh_xdg();
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/800", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	REQUIRE(fd >= 0);
	CHECK(write(fd, big, SKP_HOSTINFO_FILE_MAX + 1) ==
	    SKP_HOSTINFO_FILE_MAX + 1);
	close(fd);
	CHECK_RC(skp_hostinfo_read(800, b), SKP_ERR_TOO_LARGE);
	/* Garbage of an allowed size. */
	CHECK(truncate(path, 100) == 0);
	CHECK_RC(skp_hostinfo_read(800, b), SKP_ERR_FORMAT);
	rm_xdg();
	free(big);
	free(b);
}

static void
tmp_fallback_without_xdg(void)
{
	char got[256], want[64];
	struct stat st;

	CHECK(unsetenv("XDG_RUNTIME_DIR") == 0);
	snprintf(want, sizeof(want), "/tmp/sk-phone-%lu",
	    (unsigned long)getuid());
	CHECK_RC(skp_hostinfo_dir(1, got, sizeof(got)), SKP_OK);
	CHECK(strcmp(got, want) == 0);
	CHECK(lstat(want, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 077) == 0 && st.st_uid == geteuid());
	/* A relative or missing XDG_RUNTIME_DIR is not used either. */
	CHECK(setenv("XDG_RUNTIME_DIR", "relative/dir", 1) == 0);
	CHECK_RC(skp_hostinfo_dir(0, got, sizeof(got)), SKP_OK);
	CHECK(strcmp(got, want) == 0);
	CHECK(setenv("XDG_RUNTIME_DIR", "/nonexistent-skp", 1) == 0);
	CHECK_RC(skp_hostinfo_dir(0, got, sizeof(got)), SKP_OK);
	CHECK(strcmp(got, want) == 0);
	CHECK_RC(skp_hostinfo_dir(0, got, 5), SKP_ERR_TOO_LARGE);
}

static void
set_mtime(const char *path, time_t t)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
		abort();
}

static void
sweep_removes_stale_and_dead(void)
{
	struct skp_hostinfo *a = sample((uint32_t)getpid());
	char p_alive[256], p_old[256], p_dead[256], p_tmp[256], p_other[256];
	char p_newtmp[256];
	struct stat st;
	pid_t dead;
	int fd;

	fresh_xdg();
	/* A pid that surely is gone: a child that has been reaped. */
	if ((dead = fork()) == 0)
		_exit(0);
	REQUIRE(dead > 0 && waitpid(dead, NULL, 0) == dead);
	CHECK_RC(skp_hostinfo_sweep(), 0);
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);		/* alive */
	a->pid = (uint32_t)getppid();
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);		/* old */
	a->pid = (uint32_t)dead;
	CHECK_RC(skp_hostinfo_write(a), SKP_OK);		/* dead */
	snprintf(p_alive, sizeof(p_alive), "%s/%lu", dir,
	    (unsigned long)getpid());
	snprintf(p_old, sizeof(p_old), "%s/%lu", dir,
	    (unsigned long)getppid());
	snprintf(p_dead, sizeof(p_dead), "%s/%lu", dir, (unsigned long)dead);
	snprintf(p_tmp, sizeof(p_tmp), "%s/.1.abcd.tmp", dir);
	snprintf(p_newtmp, sizeof(p_newtmp), "%s/.2.abcd.tmp", dir);
	snprintf(p_other, sizeof(p_other), "%s/notes", dir);
	set_mtime(p_old, time(NULL) - SKP_HOSTINFO_MAX_AGE - 5);
	REQUIRE((fd = open(p_tmp, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	set_mtime(p_tmp, time(NULL) - 120);
	REQUIRE((fd = open(p_newtmp, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	REQUIRE((fd = open(p_other, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	set_mtime(p_other, time(NULL) - 10 * SKP_HOSTINFO_MAX_AGE);
	CHECK_RC(skp_hostinfo_sweep(), 3);
	CHECK(stat(p_alive, &st) == 0);
	CHECK(stat(p_old, &st) != 0);
	CHECK(stat(p_dead, &st) != 0);
	CHECK(stat(p_tmp, &st) != 0);
	CHECK(stat(p_newtmp, &st) == 0);
	CHECK(stat(p_other, &st) == 0);
	CHECK_RC(skp_hostinfo_sweep(), 0);
	rm_xdg();
	/* No folder yet: nothing to do. */
	fresh_xdg();
	CHECK_RC(skp_hostinfo_sweep(), 0);
	rm_xdg();
	free(a);
}

static void
pin_names(void)
{
	char out[SKP_HOSTINFO_PIN_MAX];

	CHECK_RC(skp_hostinfo_pin_name("db1.Example.COM", 22, out,
	    sizeof(out)), SKP_OK);
	CHECK(strcmp(out, "db1.example.com") == 0);
	CHECK_RC(skp_hostinfo_pin_name("db1", 2222, out, sizeof(out)),
	    SKP_OK);
	CHECK(strcmp(out, "[db1]:2222") == 0);
	CHECK_RC(skp_hostinfo_pin_name("::1", 22, out, sizeof(out)), SKP_OK);
	CHECK(strcmp(out, "::1") == 0);
	CHECK_RC(skp_hostinfo_pin_name("fe80::1%eth0", 65535, out,
	    sizeof(out)), SKP_OK);
	CHECK(strcmp(out, "[fe80::1%eth0]:65535") == 0);
	CHECK_RC(skp_hostinfo_pin_name("db1", 2222, out, 10),
	    SKP_ERR_TOO_LARGE);
	CHECK(out[0] == '\0');
	CHECK_RC(skp_hostinfo_pin_name("db 1", 22, out, sizeof(out)),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_hostinfo_pin_name("db1", 0, out, sizeof(out)),
	    SKP_ERR_INVALID);
}

static void
host_names(void)
{
	char longname[300];

	CHECK(skp_hostinfo_host_ok("db1.example.com"));
	CHECK(skp_hostinfo_host_ok("127.0.0.1"));
	CHECK(skp_hostinfo_host_ok("fe80::1%eth0"));
	CHECK(skp_hostinfo_host_ok("my_host-2"));
	CHECK(!skp_hostinfo_host_ok(""));
	CHECK(!skp_hostinfo_host_ok(NULL));
	CHECK(!skp_hostinfo_host_ok("-oProxyCommand=x"));
	CHECK(!skp_hostinfo_host_ok("a;b"));
	CHECK(!skp_hostinfo_host_ok("a b"));
	CHECK(!skp_hostinfo_host_ok("$(x)"));
	CHECK(!skp_hostinfo_host_ok("a'b"));
	CHECK(!skp_hostinfo_host_ok("[::1]"));
	CHECK(!skp_hostinfo_host_ok("h\xc3\xa9"));
	memset(longname, 'a', sizeof(longname));
	longname[255] = '\0';
	CHECK(skp_hostinfo_host_ok(longname));
	longname[255] = 'a';
	longname[256] = '\0';
	CHECK(!skp_hostinfo_host_ok(longname));
}

/* -- matching a record by content (skp_hostinfo_match) ---------------- */

/* An Ed25519 host: its key blob, and signatures by it as SSH blobs. */
struct thost {
	EVP_PKEY	*pk;
	uint8_t		 blob[51];
};

static void
put_string(uint8_t *p, const void *s, uint32_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	memcpy(p + 4, s, n);
}

static void
thost_new(struct thost *h)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	uint8_t pub[32];
	size_t n = sizeof(pub);

	h->pk = NULL;
	if (c == NULL || EVP_PKEY_keygen_init(c) != 1 ||
	    EVP_PKEY_keygen(c, &h->pk) != 1 ||
	    EVP_PKEY_get_raw_public_key(h->pk, pub, &n) != 1 || n != 32)
		abort();
	EVP_PKEY_CTX_free(c);
	put_string(h->blob, "ssh-ed25519", 11);
	put_string(h->blob + 15, pub, 32);
}

/* Host h's signature blob over sid, into hi. */
static void
thost_sign(const struct thost *h, const uint8_t *sid, size_t sidlen,
    struct skp_hostinfo *hi)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t sig[64];
	size_t n = sizeof(sig);

	if (m == NULL || EVP_DigestSignInit(m, NULL, NULL, NULL, h->pk) != 1 ||
	    EVP_DigestSign(m, sig, &n, sid, sidlen) != 1 || n != 64)
		abort();
	EVP_MD_CTX_free(m);
	put_string(hi->sig, "ssh-ed25519", 11);
	put_string(hi->sig + 15, sig, 64);
	hi->sig_len = 83;
}

/*
 * Write the record of pid for host h (named host) with h's signature over
 * sid, time when, file mtime mtime (0: leave it).
 */
static void
put_match_record(uint32_t pid, const char *host, const struct thost *h,
    const struct thost *signer, const uint8_t *sid, uint64_t when,
    time_t mtime)
{
	struct skp_hostinfo *hi = sample(pid);
	struct timespec ts[2];
	char path[256];

	snprintf(hi->host, sizeof(hi->host), "%s", host);
	memcpy(hi->hostkey, h->blob, sizeof(h->blob));
	hi->hostkey_len = sizeof(h->blob);
	thost_sign(signer, sid, 32, hi);
	hi->time = when;
	if (skp_hostinfo_write(hi) != SKP_OK)
		abort();
	if (mtime != 0) {
		snprintf(path, sizeof(path), "%s/%u", dir, (unsigned int)pid);
		ts[0].tv_sec = ts[1].tv_sec = mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, path, ts, 0) != 0)
			abort();
	}
	free(hi);
}

static int
exists(uint32_t pid)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%u", dir, (unsigned int)pid);
	return lstat(path, &st) == 0;
}

/*
 * Several records, only one of whose host signed the session id: that one
 * is found, whatever the pid asked first. A forged record (the right host
 * key with another key's signature, or the right key's signature over
 * another session) is never taken; records too old or from the future
 * are refused and removed even when their signature verifies.
 */
static void
match_finds_the_signing_record(void)
{
	struct skp_hostinfo *b = calloc(1, sizeof(*b));
	struct thost h[4];
	uint8_t sid[32], other[32], third[32];
	uint64_t now = (uint64_t)time(NULL);
	char path[256], target[256];
	size_t i;

	REQUIRE(b != NULL);
	for (i = 0; i < nitems(h); i++)
		thost_new(&h[i]);
	memset(sid, 0x11, sizeof(sid));
	memset(other, 0x22, sizeof(other));
	memset(third, 0x33, sizeof(third));
	fresh_xdg();
	/* No folder yet: nothing. */
	CHECK_RC(skp_hostinfo_match(sid, 32, getpid(), b), SKP_ERR_NOT_FOUND);
	put_match_record(1001, "a.example", &h[0], &h[0], other, now, 0);
	put_match_record(1002, "b.example", &h[1], &h[1], third, now, 0);
	put_match_record(1003, "right.example", &h[2], &h[2], sid, now, 0);
	/* Forged: h[2]'s key, h[3]'s signature over sid. */
	put_match_record(1004, "forged.example", &h[2], &h[3], sid, now, 0);
	/* Forged: h[2]'s key and signature, over another session. */
	put_match_record(1005, "replayed.example", &h[2], &h[2], other, now,
	    0);
	/* Signed sid, but too old, or from the future. */
	put_match_record(1006, "old.example", &h[2], &h[2], sid,
	    now - SKP_HOSTINFO_MAX_AGE - 5, 0);
	put_match_record(1007, "future.example", &h[2], &h[2], sid,
	    now + SKP_HOSTINFO_SKEW + 30, 0);
	/* A symlink to the right record, under another pid: not followed. */
	snprintf(target, sizeof(target), "%s/1003", dir);
	snprintf(path, sizeof(path), "%s/1008", dir);
	CHECK(symlink(target, path) == 0);

	CHECK_RC(skp_hostinfo_match(sid, 32, 0, b), SKP_OK);
	CHECK(b->pid == 1003 && strcmp(b->host, "right.example") == 0);
	CHECK(!exists(1006) && !exists(1007));
	CHECK(exists(1004) && exists(1005) && exists(1008));
	/* Asked first for a record that does not sign it: found anyway. */
	memset(b, 0, sizeof(*b));
	CHECK_RC(skp_hostinfo_match(sid, 32, 1004, b), SKP_OK);
	CHECK(b->pid == 1003);
	memset(b, 0, sizeof(*b));
	CHECK_RC(skp_hostinfo_match(sid, 32, 31999, b), SKP_OK);
	CHECK(b->pid == 1003);
	/* The first one is taken when it signs. */
	CHECK_RC(skp_hostinfo_match(third, 32, 1002, b), SKP_OK);
	CHECK(b->pid == 1002 && strcmp(b->host, "b.example") == 0);
	CHECK_RC(skp_hostinfo_match(other, 32, 0, b), SKP_OK);
	CHECK(b->pid == 1001 || b->pid == 1005);
	/* Another length of the same bytes is another session. */
	CHECK_RC(skp_hostinfo_match(sid, 31, 0, b), SKP_ERR_NOT_FOUND);
	memset(third, 0x44, sizeof(third));
	CHECK_RC(skp_hostinfo_match(third, 32, 1002, b), SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_hostinfo_match(NULL, 32, 0, b), SKP_ERR_INVALID);
	CHECK_RC(skp_hostinfo_match(sid, 0, 0, b), SKP_ERR_INVALID);
	CHECK_RC(skp_hostinfo_match(sid, 32, 0, NULL), SKP_ERR_INVALID);
	/* The right record gone: nothing, not the forged ones. */
	CHECK_RC(skp_hostinfo_remove(1003), SKP_OK);
	CHECK_RC(skp_hostinfo_match(sid, 32, 1004, b), SKP_ERR_NOT_FOUND);
	rm_xdg();
	for (i = 0; i < nitems(h); i++)
		EVP_PKEY_free(h[i].pk);
	free(b);
}

/*
 * At most SKP_HOSTINFO_MATCH_MAX records are read, the newest first (by
 * mtime): the right record behind that many newer ones is not found;
 * made the newest, it is.
 */
static void
match_reads_the_newest_records_only(void)
{
	struct skp_hostinfo *b = calloc(1, sizeof(*b));
	uint64_t now = (uint64_t)time(NULL);
	struct thost h, other;
	uint8_t sid[32], sid2[32];
	uint32_t i;

	REQUIRE(b != NULL);
	thost_new(&h);
	thost_new(&other);
	memset(sid, 0x5a, sizeof(sid));
	memset(sid2, 0xa5, sizeof(sid2));
	fresh_xdg();
	put_match_record(2000, "right.example", &h, &h, sid, now,
	    (time_t)now - 100);
	for (i = 1; i <= SKP_HOSTINFO_MATCH_MAX; i++)
		put_match_record(2000 + i, "other.example", &other, &other,
		    sid2, now, (time_t)now - 50);
	CHECK_RC(skp_hostinfo_match(sid, 32, 0, b), SKP_ERR_NOT_FOUND);
	/* Asked first, it is read whatever its age on disk. */
	CHECK_RC(skp_hostinfo_match(sid, 32, 2000, b), SKP_OK);
	CHECK(b->pid == 2000);
	/* One newer record fewer: it is the 64th read, and found. */
	CHECK_RC(skp_hostinfo_remove(2001), SKP_OK);
	memset(b, 0, sizeof(*b));
	CHECK_RC(skp_hostinfo_match(sid, 32, 0, b), SKP_OK);
	CHECK(b->pid == 2000);
	put_match_record(2001, "other.example", &other, &other, sid2, now,
	    (time_t)now - 50);
	put_match_record(2000, "right.example", &h, &h, sid, now,
	    (time_t)now - 10);
	memset(b, 0, sizeof(*b));
	CHECK_RC(skp_hostinfo_match(sid, 32, 0, b), SKP_OK);
	CHECK(b->pid == 2000);
	rm_xdg();
	EVP_PKEY_free(h.pk);
	EVP_PKEY_free(other.pk);
	free(b);
}

/*
 * An OpenSSH host certificate for h's key (PROTOCOL.certkeys), the CA
 * being ca; the CA's signature is only shaped as one (the matcher does
 * not check it: the phone does).
 */
static size_t
thost_cert(const struct thost *h, const struct thost *ca, uint8_t *out,
    size_t outsz)
{
	static const char type[] = "ssh-ed25519-cert-v01@openssh.com";
	skp_buf_t *b = skp_buf_new(1024);
	uint8_t nonce[32], sig[83], princ[16];
	size_t n;

	memset(nonce, 7, sizeof(nonce));
	memset(sig, 0, sizeof(sig));
	put_string(sig, "ssh-ed25519", 11);
	sig[18] = 64;
	put_string(princ, "127.0.0.1", 9);
	if (b == NULL ||
	    skp_buf_string(b, type, strlen(type)) != SKP_OK ||
	    skp_buf_string(b, nonce, sizeof(nonce)) != SKP_OK ||
	    skp_buf_string(b, h->blob + 19, 32) != SKP_OK ||
	    skp_buf_u64(b, 1) != SKP_OK || skp_buf_u32(b, 2) != SKP_OK ||
	    skp_buf_string(b, "host", 4) != SKP_OK ||
	    skp_buf_string(b, princ, 13) != SKP_OK ||
	    skp_buf_u64(b, 0) != SKP_OK ||
	    skp_buf_u64(b, UINT64_MAX) != SKP_OK ||
	    skp_buf_string(b, "", 0) != SKP_OK ||
	    skp_buf_string(b, "", 0) != SKP_OK ||
	    skp_buf_string(b, "", 0) != SKP_OK ||
	    skp_buf_string(b, ca->blob, sizeof(ca->blob)) != SKP_OK ||
	    skp_buf_string(b, sig, sizeof(sig)) != SKP_OK ||
	    (n = skp_buf_len(b)) > outsz)
		abort();
	memcpy(out, skp_buf_ptr(b), n);
	skp_buf_free(&b);
	return n;
}

/*
 * A host certificate's record: the exchange is signed by the certified
 * key, so that is the key the signature must verify with.
 */
static void
match_takes_host_certificates(void)
{
	struct skp_hostinfo *hi = sample(3001), *b = calloc(1, sizeof(*b));
	struct thost h, ca, other;
	uint8_t sid[32], other_sid[32];

	REQUIRE(b != NULL);
	thost_new(&h);
	thost_new(&ca);
	thost_new(&other);
	memset(sid, 0x66, sizeof(sid));
	memset(other_sid, 0x77, sizeof(other_sid));
	fresh_xdg();
	hi->hostkey_len = thost_cert(&h, &ca, hi->hostkey,
	    sizeof(hi->hostkey));
	thost_sign(&h, sid, 32, hi);
	CHECK_RC(skp_hostinfo_write(hi), SKP_OK);
	/* Signed by another key than the certified one: not taken. */
	hi->pid = 3002;
	thost_sign(&other, other_sid, 32, hi);
	CHECK_RC(skp_hostinfo_write(hi), SKP_OK);
	/* The CA's own signature is no host's. */
	hi->pid = 3003;
	thost_sign(&ca, other_sid, 32, hi);
	CHECK_RC(skp_hostinfo_write(hi), SKP_OK);
	CHECK_RC(skp_hostinfo_match(sid, 32, 0, b), SKP_OK);
	CHECK(b->pid == 3001 && b->hostkey_len == hi->hostkey_len &&
	    memcmp(b->hostkey, hi->hostkey, hi->hostkey_len) == 0);
	CHECK_RC(skp_hostinfo_match(other_sid, 32, 0, b), SKP_ERR_NOT_FOUND);
	rm_xdg();
	EVP_PKEY_free(h.pk);
	EVP_PKEY_free(ca.pk);
	EVP_PKEY_free(other.pk);
	free(hi);
	free(b);
}

int
main(int argc, char **argv)
{
	static const struct skp_test_case cases[] = {
		{ "encode_decode_roundtrip", encode_decode_roundtrip },
		{ "decode_refusals", decode_refusals },
		{ "encode_refuses_bad_fields", encode_refuses_bad_fields },
		{ "write_read_remove", write_read_remove },
		{ "refuses_stale_and_future_records",
		    refuses_stale_and_future_records },
		{ "refuses_record_of_another_pid",
		    refuses_record_of_another_pid },
		{ "refuses_open_folder_or_file", refuses_open_folder_or_file },
		{ "refuses_oversized_file", refuses_oversized_file },
		{ "tmp_fallback_without_xdg", tmp_fallback_without_xdg },
		{ "sweep_removes_stale_and_dead",
		    sweep_removes_stale_and_dead },
		{ "pin_names", pin_names },
		{ "host_names", host_names },
		{ "match_finds_the_signing_record",
		    match_finds_the_signing_record },
		{ "match_reads_the_newest_records_only",
		    match_reads_the_newest_records_only },
		{ "match_takes_host_certificates",
		    match_takes_host_certificates },
	};

	return skp_test_run(cases, nitems(cases), argc, argv);
}
