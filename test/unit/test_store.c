/* Unit tests for the state folder, the file format and the computer's files. */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/store.h"
#include "harness.h"

/*
 * CBOR and file vectors made at development time by /usr/bin/python3 with
 * a few lines of canonical CBOR encoding written out by hand (heads,
 * sorted integer keys) and hashlib.sha256 for the trailer.
 */
#define FRAME_A0_HEX	"534b5053000100000001a0f39d4f78899c308b3cc0fb8565" \
			"29b5bd7567c7408f3073d22e380818a5f0db02"
#define PRIV_HEX	"0102030405060708090a0b0c0d0e0f10" \
			"1112131415161718191a1b1c1d1e1f20"
#define IDENT_HEX	"a1015820" PRIV_HEX
#define PUB_HEX	"04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3" \
		"7725811805271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58" \
		"389e0577b8990bb3"
#define F1	"0165706978656c"				/* "pixel" */
#define F2	"025841" PUB_HEX
#define F3	"035820404142434445464748494a4b4c4d4e4f50515253545556" \
		"5758595a5b5c5d5e5f"
#define F4	"04781a7773733a2f2f72656c61792e6578616d706c652e636f6d" \
		"2f736b"		/* "wss://relay.example.com/sk" */
#define F5	"055820606162636465666768696a6b6c6d6e6f70717273747576" \
		"7778797a7b7c7d7e7f"
#define F6	"061a6553f100"				/* 1700000000 */
#define F7	"07666c6170746f70"			/* "laptop" */
#define PAIRING_HEX	"a7" F1 F2 F3 F4 F5 F6 F7
#define PHONES_HEX	"a10181" PAIRING_HEX
/* docs/PROTOCOL.md §6.6: with the CA file "/etc/ca.pem" (key 8). */
#define F8	"086b2f6574632f63612e70656d"
#define PHONES_CA_HEX	"a10181a8" F1 F2 F3 F4 F5 F6 F7 F8
/* docs/PROTOCOL.md §6.6: two relay URLs, key 4 an array of two texts. */
#define F4_LIST	"0482781a7773733a2f2f72656c61792e6578616d706c652e636f" \
		"6d2f736b7377733a2f2f3132372e302e302e313a38373635"
#define PHONES_LIST_HEX	"a10181a7" F1 F2 F3 F4_LIST F5 F6 F7

static int
contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(p);
	return unlink(p);
}

static int
chmod_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)f;
	if (flag == FTW_D && !S_ISLNK(st->st_mode))
		(void)chmod(p, 0700);
	return 0;
}

static void
rmtree(const char *dir)
{
	(void)nftw(dir, chmod_one, 16, FTW_PHYS);
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
mktmp(void)
{
	char t[] = "/tmp/skp-store-XXXXXX", *d;

	if (mkdtemp(t) == NULL || (d = strdup(t)) == NULL)
		abort();
	return d;
}

static void
write_raw(const char *dir, const char *name, const void *p, size_t n,
    mode_t mode)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) <
	    0 || fchmod(fd, mode) != 0 ||
	    write(fd, p, n) != (ssize_t)n || close(fd) != 0)
		abort();
}

static size_t
count_entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return (size_t)-1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* The bytes of a state file holding the given payload. */
static skp_buf_t *
framed(const char *hex)
{
	skp_buf_t *b = NULL;
	size_t n;
	uint8_t *p = skp_test_unhex(hex, &n);

	if (skp_store_frame(p, n, &b) != SKP_OK)
		abort();
	free(p);
	return b;
}

/*
 * Permission refusals cannot be seen as root, which may do anything: run
 * those as nobody in a child, which reports through its exit status.
 */
static void
as_nobody(void (*fn)(void))
{
	pid_t pid;
	int status = 0;

	if (geteuid() != 0) {
		fn();
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		CHECK(pid >= 0);
		return;
	}
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
		    setuid(65534) != 0)
			_exit(2);
		skp_test_case_failed = 0;
		fn();
		fflush(stderr);
		_exit(skp_test_case_failed ? 1 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Environment for the folder resolver; NULL unsets. */
static void
env3(const char *skp, const char *xdg, const char *home)
{
	const char *names[3] = { "SK_PHONE_DIR", "XDG_CONFIG_HOME", "HOME" };
	const char *vals[3] = { skp, xdg, home };
	int i;

	for (i = 0; i < 3; i++) {
		if (vals[i] != NULL)
			setenv(names[i], vals[i], 1);
		else
			unsetenv(names[i]);
	}
}

static void
dir_env_order(void)
{
	char out[SKP_STORE_PATH_MAX], why[SKP_STORE_WHY_MAX];
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *xdg = getenv("XDG_CONFIG_HOME") ?
	    strdup(getenv("XDG_CONFIG_HOME")) : NULL;
	char *skp = getenv("SK_PHONE_DIR") ? strdup(getenv("SK_PHONE_DIR")) :
	    NULL;

	env3("/s/dir", "/x", "/h");
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, "/s/dir") == 0);
	CHECK(why[0] == '\0');
	env3(NULL, "/x", "/h");
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, "/x/sk-phone") == 0);
	env3("", "/x", "/h");		/* empty is unset */
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, "/x/sk-phone") == 0);
	env3(NULL, NULL, "/h");
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, "/h/.config/sk-phone") == 0);
	env3(NULL, "relative", "/h");	/* the XDG spec: ignore it */
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, "/h/.config/sk-phone") == 0);
	env3(NULL, "", "/h");
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, "/h/.config/sk-phone") == 0);
	env3(skp, xdg, home);
	free(home);
	free(xdg);
	free(skp);
}

static void
dir_env_passwd_fallback(void)
{
	char out[SKP_STORE_PATH_MAX], want[SKP_STORE_PATH_MAX];
	char why[SKP_STORE_WHY_MAX];
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	struct passwd *pw = getpwuid(geteuid());

	REQUIRE(pw != NULL && pw->pw_dir != NULL);
	snprintf(want, sizeof(want), "%s/.config/sk-phone", pw->pw_dir);
	env3(NULL, NULL, NULL);
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, want) == 0);
	env3(NULL, NULL, "not/absolute");
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_OK);
	CHECK(strcmp(out, want) == 0);
	env3(NULL, NULL, home);
	free(home);
}

static void
dir_env_refusals(void)
{
	char out[SKP_STORE_PATH_MAX], small[8], why[SKP_STORE_WHY_MAX];
	char *skp = getenv("SK_PHONE_DIR") ? strdup(getenv("SK_PHONE_DIR")) :
	    NULL;

	setenv("SK_PHONE_DIR", "rel/dir", 1);
	CHECK_RC(skp_store_computer_dir(out, sizeof(out), why, sizeof(why)),
	    SKP_ERR_INVALID);
	CHECK(contains(why, "SK_PHONE_DIR must be an absolute path"));
	setenv("SK_PHONE_DIR", "/a/long/path", 1);
	CHECK_RC(skp_store_computer_dir(small, sizeof(small), why,
	    sizeof(why)), SKP_ERR_TOO_LARGE);
	CHECK(contains(why, "too long"));
	if (skp != NULL)
		setenv("SK_PHONE_DIR", skp, 1);
	else
		unsetenv("SK_PHONE_DIR");
	free(skp);
}

static void
dir_create_0700_with_parents(void)
{
	char *t = mktmp(), d[512], p[512], why[SKP_STORE_WHY_MAX];
	mode_t old = umask(0);

	snprintf(p, sizeof(p), "%s/a/b", t);
	snprintf(d, sizeof(d), "%s/a/b/sk-phone", t);
	CHECK_RC(skp_store_dir_check(d, 1, why, sizeof(why)), SKP_OK);
	CHECK(mode_of(d) == 0700);
	CHECK(mode_of(p) == 0700);
	/* Again, with a umask that would take owner bits away. */
	umask(0277);
	snprintf(d, sizeof(d), "%s/c/d", t);
	CHECK_RC(skp_store_dir_check(d, 1, why, sizeof(why)), SKP_OK);
	CHECK(mode_of(d) == 0700);
	/* Trailing and doubled slashes are fine. */
	snprintf(d, sizeof(d), "%s//e/", t);
	CHECK_RC(skp_store_dir_check(d, 1, why, sizeof(why)), SKP_OK);
	umask(old);
	rmtree(t);
	free(t);
}

static void
dir_missing_without_create(void)
{
	char *t = mktmp(), d[512], why[SKP_STORE_WHY_MAX];

	snprintf(d, sizeof(d), "%s/none", t);
	CHECK_RC(skp_store_dir_check(d, 0, why, sizeof(why)),
	    SKP_ERR_NOT_FOUND);
	CHECK(contains(why, d));
	CHECK(mode_of(d) == (mode_t)-1);
	CHECK_RC(skp_store_dir_check("", 1, why, sizeof(why)),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_store_dir_check(NULL, 1, why, sizeof(why)),
	    SKP_ERR_INVALID);
	rmtree(t);
	free(t);
}

static void
dir_refuse_open_modes(void)
{
	static const mode_t bad[] = { 0755, 0750, 0705, 0770, 0707, 0701,
	    0710 };
	char *t = mktmp(), want[600], why[SKP_STORE_WHY_MAX];
	size_t i;

	snprintf(want, sizeof(want), "chmod 700 %s", t);
	for (i = 0; i < nitems(bad); i++) {
		REQUIRE(chmod(t, bad[i]) == 0);
		why[0] = '\0';
		CHECK_RC(skp_store_dir_check(t, 1, why, sizeof(why)),
		    SKP_ERR_PERM);
		CHECK(contains(why, want));
	}
	REQUIRE(chmod(t, 0700) == 0);
	CHECK_RC(skp_store_dir_check(t, 0, why, sizeof(why)), SKP_OK);
	CHECK(why[0] == '\0');
	rmtree(t);
	free(t);
}

static void
dir_refuse_not_owned_body(void)
{
	char why[SKP_STORE_WHY_MAX];

	/* / belongs to root, and here we are not root. */
	CHECK_RC(skp_store_dir_check("/", 0, why, sizeof(why)), SKP_ERR_PERM);
	CHECK(contains(why, "owned by uid 0"));
}

static void
dir_refuse_not_owned(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];

	/* As root: a folder of someone else's. */
	if (geteuid() == 0) {
		REQUIRE(chown(t, 65534, 65534) == 0);
		CHECK_RC(skp_store_dir_check(t, 0, why, sizeof(why)),
		    SKP_ERR_PERM);
		CHECK(contains(why, "owned by uid 65534"));
		CHECK(contains(why, t));
	}
	as_nobody(dir_refuse_not_owned_body);
	rmtree(t);
	free(t);
}

static void
dir_refuse_not_a_folder(void)
{
	char *t = mktmp(), f[512], why[SKP_STORE_WHY_MAX];

	write_raw(t, "file", "x", 1, 0600);
	snprintf(f, sizeof(f), "%s/file", t);
	CHECK_RC(skp_store_dir_check(f, 1, why, sizeof(why)), SKP_ERR_IO);
	CHECK(contains(why, f));
	rmtree(t);
	free(t);
}

static void
format_vector(void)
{
	skp_buf_t *b = framed("a0");
	const uint8_t *pl = NULL;
	size_t n, pll = 0;
	uint8_t *want = skp_test_unhex(FRAME_A0_HEX, &n);
	char why[256];

	CHECK(skp_buf_len(b) == n);
	CHECK_MEM(skp_buf_ptr(b), want, n);
	CHECK_RC(skp_store_parse(want, n, &pl, &pll, why, sizeof(why)),
	    SKP_OK);
	CHECK(pll == 1 && pl == want + SKP_STORE_HEADER_LEN && pl[0] == 0xa0);
	skp_buf_free(&b);
	free(want);
}

static void
format_roundtrip_sizes(void)
{
	static const size_t sizes[] = { 0, 1, 100, 4095, 4096, 4097, 70000 };
	const uint8_t *pl;
	skp_buf_t *b = NULL;
	uint8_t *p;
	size_t i, pll;

	for (i = 0; i < nitems(sizes); i++) {
		REQUIRE((p = malloc(sizes[i] + 1)) != NULL);
		REQUIRE(skp_random(p, sizes[i]) == SKP_OK);
		REQUIRE(skp_store_frame(p, sizes[i], &b) == SKP_OK);
		CHECK(skp_buf_len(b) == SKP_STORE_HEADER_LEN + sizes[i] +
		    SKP_STORE_TRAILER_LEN);
		CHECK_RC(skp_store_parse(skp_buf_ptr(b), skp_buf_len(b), &pl,
		    &pll, NULL, 0), SKP_OK);
		CHECK(pll == sizes[i]);
		CHECK(pll == 0 || memcmp(pl, p, pll) == 0);
		skp_buf_free(&b);
		free(p);
	}
}

static void
format_refuse_bad_magic(void)
{
	skp_buf_t *b = framed("a0");
	uint8_t c[64];
	const uint8_t *pl;
	size_t n = skp_buf_len(b), pll;
	char why[256];

	memcpy(c, skp_buf_ptr(b), n);
	c[3] = 'T';
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	CHECK(contains(why, "not an sk-phone state file"));
	CHECK_RC(skp_store_parse((const uint8_t *)"SKP", 3, &pl, &pll, why,
	    sizeof(why)), SKP_ERR_CORRUPT);
	CHECK_RC(skp_store_parse(NULL, 0, &pl, &pll, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	skp_buf_free(&b);
}

static void
format_refuse_any_flipped_byte(void)
{
	skp_buf_t *b = framed(IDENT_HEX);
	uint8_t c[128];
	const uint8_t *pl;
	size_t n = skp_buf_len(b), i, pll;
	int bit;

	REQUIRE(n <= sizeof(c));
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(c, skp_buf_ptr(b), n);
			c[i] ^= (uint8_t)(1u << bit);
			/*
			 * The version bytes: any change is "newer" but
			 * one, to version 0.
			 */
			CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0),
			    i == 4 || (i == 5 && bit != 0) ?
			    SKP_ERR_VERSION : SKP_ERR_CORRUPT);
		}
	}
	skp_buf_free(&b);
}

static void
format_refuse_truncated_and_trailing(void)
{
	skp_buf_t *b = framed(IDENT_HEX);
	uint8_t c[128];
	const uint8_t *pl;
	size_t n = skp_buf_len(b), i, pll;
	char why[256];

	for (i = 0; i < n; i++)
		CHECK_RC(skp_store_parse(skp_buf_ptr(b), i, &pl, &pll, NULL,
		    0), SKP_ERR_CORRUPT);
	memcpy(c, skp_buf_ptr(b), n);
	c[n] = 0;
	CHECK_RC(skp_store_parse(c, n + 1, &pl, &pll, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	CHECK(contains(why, "after the end"));
	skp_buf_free(&b);
}

/* A file with a given version and length field and a right checksum. */
static size_t
forge(uint8_t *out, uint16_t ver, uint32_t len, const void *pl,
    size_t plen)
{
	uint8_t h[10] = { 'S', 'K', 'P', 'S', (uint8_t)(ver >> 8),
	    (uint8_t)ver, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
	    (uint8_t)(len >> 8), (uint8_t)len };

	memcpy(out, h, sizeof(h));
	memcpy(out + 10, pl, plen);
	if (skp_sha256(out, 10 + plen, out + 10 + plen) != SKP_OK)
		abort();
	return 10 + plen + 32;
}

static void
format_refuse_newer_version(void)
{
	uint8_t c[128];
	const uint8_t *pl;
	size_t n, pll;
	char why[256];

	n = forge(c, 2, 1, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, why, sizeof(why)),
	    SKP_ERR_VERSION);
	CHECK(contains(why, "format 2"));
	/* Whatever follows the header of a newer file. */
	CHECK_RC(skp_store_parse(c, 10, &pl, &pll, NULL, 0), SKP_ERR_VERSION);
	n = forge(c, 0xffff, 1, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0), SKP_ERR_VERSION);
	n = forge(c, 0, 1, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0), SKP_ERR_CORRUPT);
	n = forge(c, 1, 1, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0), SKP_OK);
}

static void
format_refuse_length_mismatch(void)
{
	uint8_t c[128];
	const uint8_t *pl;
	size_t n, pll;

	/* The length field says 2 but 1 byte is there (checksum right). */
	n = forge(c, 1, 2, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0), SKP_ERR_CORRUPT);
	n = forge(c, 1, 0, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0), SKP_ERR_CORRUPT);
	n = forge(c, 1, 0xffffffffu, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0), SKP_ERR_CORRUPT);
	n = forge(c, 1, SKP_STORE_PAYLOAD_MAX + 1, "\xa0", 1);
	CHECK_RC(skp_store_parse(c, n, &pl, &pll, NULL, 0), SKP_ERR_CORRUPT);
}

static void
format_refuse_over_cap(void)
{
	skp_buf_t *b = NULL;
	uint8_t *p;

	REQUIRE((p = calloc(1, SKP_STORE_PAYLOAD_MAX + 1)) != NULL);
	CHECK_RC(skp_store_frame(p, SKP_STORE_PAYLOAD_MAX + 1, &b),
	    SKP_ERR_TOO_LARGE);
	CHECK(b == NULL);
	CHECK_RC(skp_store_frame(p, SKP_STORE_PAYLOAD_MAX, &b), SKP_OK);
	skp_buf_free(&b);
	free(p);
}

static void
file_roundtrip(void)
{
	char *t = mktmp(), d[512], f[600], why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;
	mode_t old = umask(0);

	snprintf(d, sizeof(d), "%s/new/sk-phone", t);
	snprintf(f, sizeof(f), "%s/phones", d);
	CHECK_RC(skp_store_write(d, "phones", (const uint8_t *)"\xa0", 1, 0,
	    why, sizeof(why)), SKP_OK);
	CHECK(why[0] == '\0');
	CHECK(mode_of(d) == 0700);
	CHECK(mode_of(f) == 0600);
	CHECK(count_entries(d) == 1);
	REQUIRE(skp_store_read(d, "phones", &b, why, sizeof(why)) == SKP_OK);
	CHECK(skp_buf_len(b) == 1 && skp_buf_ptr(b)[0] == 0xa0);
	skp_buf_free(&b);
	/* Replace it, with a umask that would leave the owner read only. */
	umask(0277);
	CHECK_RC(skp_store_write(d, "phones", (const uint8_t *)"\xa1\x01\x02",
	    3, 0, why, sizeof(why)), SKP_OK);
	CHECK(mode_of(f) == 0600);
	CHECK(count_entries(d) == 1);
	REQUIRE(skp_store_read(d, "phones", &b, why, sizeof(why)) == SKP_OK);
	CHECK(skp_buf_len(b) == 3 && skp_buf_ptr(b)[2] == 0x02);
	skp_buf_free(&b);
	umask(old);
	CHECK_RC(skp_store_remove(d, "phones", why, sizeof(why)), SKP_OK);
	CHECK(count_entries(d) == 0);
	CHECK_RC(skp_store_remove(d, "phones", why, sizeof(why)),
	    SKP_ERR_NOT_FOUND);
	CHECK(contains(why, f));
	rmtree(t);
	free(t);
}

static void
file_refuse_bad_names(void)
{
	static const char *bad[] = { "", "../x", ".hidden", "a/b", "a b",
	    "x.tmp", ".last", "x.last.last", "x.lastx", "x.last/", "../x.last",
	    /* 65 characters with the suffix, one over the cap */
	    "012345678901234567890123456789012345678901234567890123456789.last",
	    /* 65 characters, one over the cap */
	    "01234567890123456789012345678901234567890123456789012345678901234"
	};
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		CHECK_RC(skp_store_write(t, bad[i], (const uint8_t *)"\xa0", 1,
		    0, why, sizeof(why)), SKP_ERR_INVALID);
		CHECK_RC(skp_store_read(t, bad[i], &b, why, sizeof(why)),
		    SKP_ERR_INVALID);
		CHECK_RC(skp_store_remove(t, bad[i], why, sizeof(why)),
		    SKP_ERR_INVALID);
	}
	CHECK_RC(skp_store_write(t, NULL, (const uint8_t *)"\xa0", 1, 0, why,
	    sizeof(why)), SKP_ERR_INVALID);
	CHECK_RC(skp_store_write(t, "ok", (const uint8_t *)"\xa0", 1, 0x80,
	    why, sizeof(why)), SKP_ERR_INVALID);
	CHECK(count_entries(t) == 0);
	rmtree(t);
	free(t);
}

/* NAME.last, the one dotted name: a state file like the others. */
static void
file_last_copy_name(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX], p[512];
	skp_buf_t *b = NULL;

	CHECK_RC(skp_store_write(t, "credentials" SKP_STORE_LAST_SUFFIX,
	    (const uint8_t *)"\xa0", 1, 0, why, sizeof(why)), SKP_OK);
	CHECK_RC(skp_store_read(t, "credentials.last", &b, why, sizeof(why)),
	    SKP_OK);
	CHECK(b != NULL && skp_buf_len(b) == 1 && skp_buf_ptr(b)[0] == 0xa0);
	snprintf(p, sizeof(p), "%s/credentials.last", t);
	CHECK(mode_of(p) == 0600);
	CHECK(count_entries(t) == 1);
	skp_buf_free(&b);
	rmtree(t);
	free(t);
}

static void
file_read_missing(void)
{
	char *t = mktmp(), d[512], why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;

	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
	    SKP_ERR_NOT_FOUND);
	CHECK(contains(why, "does not exist"));
	snprintf(d, sizeof(d), "%s/none", t);
	CHECK_RC(skp_store_read(d, "phones", &b, why, sizeof(why)),
	    SKP_ERR_NOT_FOUND);
	CHECK(mode_of(d) == (mode_t)-1);	/* reading never creates */
	CHECK(b == NULL);
	rmtree(t);
	free(t);
}

static void
file_refuse_open_modes(void)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606, 0601,
	    0610, 0666 };
	char *t = mktmp(), f[512], want[600], why[SKP_STORE_WHY_MAX];
	skp_buf_t *fb = framed("a0"), *b = NULL;
	size_t i;

	snprintf(f, sizeof(f), "%s/phones", t);
	snprintf(want, sizeof(want), "chmod 600 %s", f);
	for (i = 0; i < nitems(bad); i++) {
		write_raw(t, "phones", skp_buf_ptr(fb), skp_buf_len(fb),
		    bad[i]);
		why[0] = '\0';
		CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
		    SKP_ERR_PERM);
		CHECK(contains(why, want));
		CHECK(b == NULL);
	}
	REQUIRE(chmod(f, 0600) == 0);
	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)), SKP_OK);
	skp_buf_free(&b);
	/* A good file in a folder open to others is refused too. */
	REQUIRE(chmod(t, 0755) == 0);
	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
	    SKP_ERR_PERM);
	snprintf(want, sizeof(want), "chmod 700 %s", t);
	CHECK(contains(why, want));
	skp_buf_free(&fb);
	rmtree(t);
	free(t);
}

static void
file_refuse_not_owned(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX], f[512];
	skp_buf_t *fb = framed("a0"), *b = NULL;

	write_raw(t, "phones", skp_buf_ptr(fb), skp_buf_len(fb), 0600);
	snprintf(f, sizeof(f), "%s/phones", t);
	if (geteuid() == 0) {
		REQUIRE(chown(f, 65534, 65534) == 0);
		CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
		    SKP_ERR_PERM);
		CHECK(contains(why, "owned by uid 65534"));
	} else {
		/* Not root: at least the check passes for our own file. */
		CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
		    SKP_OK);
		skp_buf_free(&b);
	}
	skp_buf_free(&fb);
	rmtree(t);
	free(t);
}

static void
file_refuse_symlink(void)
{
	char *t = mktmp(), link[512], why[SKP_STORE_WHY_MAX];
	skp_buf_t *fb = framed("a0"), *b = NULL;
	struct stat st;

	write_raw(t, "real", skp_buf_ptr(fb), skp_buf_len(fb), 0600);
	snprintf(link, sizeof(link), "%s/phones", t);
	REQUIRE(symlink("real", link) == 0);
	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(contains(why, "symbolic link"));
	CHECK(contains(why, link));
	/* The target itself reads fine. */
	CHECK_RC(skp_store_read(t, "real", &b, why, sizeof(why)), SKP_OK);
	skp_buf_free(&b);
	/* Writing replaces the link, never what it points to. */
	CHECK_RC(skp_store_write(t, "phones", (const uint8_t *)"\xa1\x01\x01",
	    3, 0, why, sizeof(why)), SKP_OK);
	CHECK(lstat(link, &st) == 0 && S_ISREG(st.st_mode));
	REQUIRE(skp_store_read(t, "real", &b, why, sizeof(why)) == SKP_OK);
	CHECK(skp_buf_len(b) == 1);
	skp_buf_free(&b);
	skp_buf_free(&fb);
	rmtree(t);
	free(t);
}

static void
file_refuse_not_regular(void)
{
	char *t = mktmp(), p[512], why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;

	snprintf(p, sizeof(p), "%s/phones", t);
	REQUIRE(mkfifo(p, 0600) == 0);
	/* Must not block on the FIFO. */
	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(contains(why, "not a regular file"));
	REQUIRE(unlink(p) == 0);
	REQUIRE(mkdir(p, 0700) == 0);
	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(contains(why, "not a regular file"));
	rmtree(t);
	free(t);
}

static void
file_refuse_corrupt_on_disk(void)
{
	char *t = mktmp(), f[512], why[SKP_STORE_WHY_MAX], rm[600];
	skp_buf_t *fb = framed(IDENT_HEX), *b = NULL;
	uint8_t c[128];
	size_t n = skp_buf_len(fb), i;

	snprintf(f, sizeof(f), "%s/identity", t);
	snprintf(rm, sizeof(rm), "rm %s", f);
	for (i = 0; i < n; i++) {
		memcpy(c, skp_buf_ptr(fb), n);
		c[i] ^= 0x01;
		write_raw(t, "identity", c, n, 0600);
		why[0] = '\0';
		CHECK_RC(skp_store_read(t, "identity", &b, why, sizeof(why)),
		    i == 4 ? SKP_ERR_VERSION : SKP_ERR_CORRUPT);
		CHECK(contains(why, f));
		if (i != 4)
			CHECK(contains(why, rm));
		CHECK(b == NULL);
	}
	/* Truncated on disk. */
	write_raw(t, "identity", skp_buf_ptr(fb), n - 1, 0600);
	CHECK_RC(skp_store_read(t, "identity", &b, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	CHECK(contains(why, "truncated"));
	write_raw(t, "identity", "", 0, 0600);
	CHECK_RC(skp_store_read(t, "identity", &b, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	skp_buf_free(&fb);
	rmtree(t);
	free(t);
}

static void
file_refuse_newer_on_disk(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;
	uint8_t c[64];
	size_t n = forge(c, 7, 1, "\xa0", 1);

	write_raw(t, "phones", c, n, 0600);
	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
	    SKP_ERR_VERSION);
	CHECK(contains(why, "upgrade sk-phone"));
	CHECK(contains(why, "format 7"));
	rmtree(t);
	free(t);
}

static void
file_refuse_too_large_on_disk(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;
	uint8_t *c;
	size_t n = SKP_STORE_FILE_MAX + 1;

	/* A valid-looking header, then more than the cap allows. */
	REQUIRE((c = calloc(1, n)) != NULL);
	(void)forge(c, 1, 1, "\xa0", 1);
	write_raw(t, "phones", c, n, 0600);
	CHECK_RC(skp_store_read(t, "phones", &b, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	CHECK(contains(why, "size limit"));
	free(c);
	rmtree(t);
	free(t);
}

static void
write_cap_keeps_old(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;
	uint8_t *big;

	REQUIRE(skp_store_write(t, "phones", (const uint8_t *)"\xa0", 1, 0,
	    why, sizeof(why)) == SKP_OK);
	REQUIRE((big = calloc(1, SKP_STORE_PAYLOAD_MAX + 1)) != NULL);
	CHECK_RC(skp_store_write(t, "phones", big, SKP_STORE_PAYLOAD_MAX + 1,
	    0, why, sizeof(why)), SKP_ERR_TOO_LARGE);
	CHECK(why[0] != '\0');
	CHECK(count_entries(t) == 1);
	REQUIRE(skp_store_read(t, "phones", &b, why, sizeof(why)) == SKP_OK);
	CHECK(skp_buf_len(b) == 1 && skp_buf_ptr(b)[0] == 0xa0);
	skp_buf_free(&b);
	free(big);
	rmtree(t);
	free(t);
}

/* A write that fails half way (the file size limit) leaves no trace. */
static void
write_failure_keeps_old(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	struct rlimit old, lim;
	skp_buf_t *b = NULL;
	uint8_t big[4000];
	void (*prev)(int);

	REQUIRE(skp_store_write(t, "phones", (const uint8_t *)"\xa0", 1, 0,
	    why, sizeof(why)) == SKP_OK);
	memset(big, 0x41, sizeof(big));
	REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
	prev = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1000;
	REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CHECK_RC(skp_store_write(t, "phones", big, sizeof(big), 0, why,
	    sizeof(why)), SKP_ERR_IO);
	CHECK(contains(why, "cannot write"));
	REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, prev);
	CHECK(count_entries(t) == 1);		/* no temporary file left */
	REQUIRE(skp_store_read(t, "phones", &b, why, sizeof(why)) == SKP_OK);
	CHECK(skp_buf_len(b) == 1 && skp_buf_ptr(b)[0] == 0xa0);
	skp_buf_free(&b);
	rmtree(t);
	free(t);
}

/* The rename fails: the name is taken by a folder. */
static void
write_rename_failure_cleans_up(void)
{
	char *t = mktmp(), p[512], why[SKP_STORE_WHY_MAX];

	snprintf(p, sizeof(p), "%s/phones", t);
	REQUIRE(mkdir(p, 0700) == 0);
	write_raw(p, "keep", "k", 1, 0600);
	CHECK_RC(skp_store_write(t, "phones", (const uint8_t *)"\xa0", 1, 0,
	    why, sizeof(why)), SKP_ERR_IO);
	CHECK(contains(why, "cannot replace"));
	CHECK(count_entries(t) == 1);
	CHECK(count_entries(p) == 1);
	rmtree(t);
	free(t);
}

static void
write_readonly_folder_body(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;

	REQUIRE(skp_store_write(t, "phones", (const uint8_t *)"\xa0", 1, 0,
	    why, sizeof(why)) == SKP_OK);
	REQUIRE(chmod(t, 0500) == 0);
	CHECK_RC(skp_store_write(t, "phones", (const uint8_t *)"\xa1\x01\x01",
	    3, 0, why, sizeof(why)), SKP_ERR_IO);
	CHECK(contains(why, t));
	REQUIRE(skp_store_read(t, "phones", &b, why, sizeof(why)) == SKP_OK);
	CHECK(skp_buf_len(b) == 1 && skp_buf_ptr(b)[0] == 0xa0);
	skp_buf_free(&b);
	REQUIRE(chmod(t, 0700) == 0);
	CHECK(count_entries(t) == 1);
	rmtree(t);
	free(t);
}

static void
write_readonly_folder_keeps_old(void)
{
	as_nobody(write_readonly_folder_body);
}

static void
write_noreplace(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	skp_buf_t *b = NULL;

	CHECK_RC(skp_store_write(t, "identity", (const uint8_t *)"\xa0", 1,
	    SKP_STORE_NOREPLACE, why, sizeof(why)), SKP_OK);
	CHECK_RC(skp_store_write(t, "identity", (const uint8_t *)"\xa1\x01\x01",
	    3, SKP_STORE_NOREPLACE, why, sizeof(why)), SKP_ERR_EXISTS);
	CHECK(contains(why, "already exists"));
	CHECK(count_entries(t) == 1);
	REQUIRE(skp_store_read(t, "identity", &b, why, sizeof(why)) ==
	    SKP_OK);
	CHECK(skp_buf_len(b) == 1);
	skp_buf_free(&b);
	rmtree(t);
	free(t);
}

static void
write_refuses_open_folder(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];

	REQUIRE(chmod(t, 0777) == 0);
	CHECK_RC(skp_store_write(t, "phones", (const uint8_t *)"\xa0", 1, 0,
	    why, sizeof(why)), SKP_ERR_PERM);
	CHECK(contains(why, "chmod 700"));
	CHECK(count_entries(t) == 0);
	rmtree(t);
	free(t);
}

static void
identity_vector(void)
{
	struct skp_p256_key k, back;
	uint8_t *enc = NULL;
	size_t n, wl, el = 0;
	uint8_t *priv = skp_test_unhex(PRIV_HEX, &n);
	uint8_t *want = skp_test_unhex(IDENT_HEX, &wl);

	REQUIRE(skp_p256_from_private(priv, &k) == SKP_OK);
	CHECK_RC(skp_store_identity_encode(&k, &enc, &el), SKP_OK);
	CHECK(el == wl);
	CHECK(enc != NULL && memcmp(enc, want, wl) == 0);
	CHECK_RC(skp_store_identity_decode(want, wl, &back), SKP_OK);
	CHECK(memcmp(&k, &back, sizeof(k)) == 0);
	skp_wipe(enc, el);
	free(enc);
	free(priv);
	free(want);
}

static void
identity_decode_refusals(void)
{
	static const struct {
		const char	*hex;
		int		 rc;
	} bad[] = {
		{ "a1015820" "0000000000000000000000000000000000000000000000"
		    "000000000000000000", SKP_ERR_CRYPTO },
		{ "a1015820" "ffffffffffffffffffffffffffffffffffffffffffffff"
		    "ffffffffffffffffff", SKP_ERR_CRYPTO },
		{ "a101581f" "02030405060708090a0b0c0d0e0f10"
		    "1112131415161718191a1b1c1d1e1f20", SKP_ERR_FORMAT },
		{ "a2015820" PRIV_HEX "0200", SKP_ERR_FORMAT },
		{ "a1016161", SKP_ERR_CBOR_TYPE },
		{ IDENT_HEX "00", SKP_ERR_TRAILING },
		{ "81" "5820" PRIV_HEX, SKP_ERR_CBOR_TYPE },
		{ "a0", SKP_ERR_FORMAT },
		{ "a1025820" PRIV_HEX, SKP_ERR_FORMAT },
		{ "a1015820" "01020304", SKP_ERR_TRUNCATED },
	};
	struct skp_p256_key k;
	uint8_t *p;
	size_t i, n;

	for (i = 0; i < nitems(bad); i++) {
		p = skp_test_unhex(bad[i].hex, &n);
		memset(&k, 0x11, sizeof(k));
		CHECK_RC(skp_store_identity_decode(p, n, &k), bad[i].rc);
		free(p);
	}
	CHECK_RC(skp_store_identity_decode(NULL, 0, &k), SKP_ERR_TRUNCATED);
}

static void
identity_create_load(void)
{
	char *t = mktmp(), d[512], f[600], why[SKP_STORE_WHY_MAX];
	struct skp_p256_key k, k2, k3;
	struct skp_p256_key zero;

	memset(&zero, 0, sizeof(zero));
	snprintf(d, sizeof(d), "%s/sk-phone", t);
	snprintf(f, sizeof(f), "%s/identity", d);
	CHECK_RC(skp_store_identity_load(d, &k, why, sizeof(why)),
	    SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_store_identity_create(d, &k, why, sizeof(why)), SKP_OK);
	CHECK(memcmp(&k, &zero, sizeof(k)) != 0);
	CHECK(mode_of(d) == 0700);
	CHECK(mode_of(f) == 0600);
	CHECK_RC(skp_store_identity_load(d, &k2, why, sizeof(why)), SKP_OK);
	CHECK(memcmp(&k, &k2, sizeof(k)) == 0);
	CHECK_RC(skp_p256_check_public(k2.pub), SKP_OK);
	/* A second create keeps the first key and leaves k3 alone. */
	memset(&k3, 0x5a, sizeof(k3));
	CHECK_RC(skp_store_identity_create(d, &k3, why, sizeof(why)),
	    SKP_ERR_EXISTS);
	CHECK(k3.priv[0] == 0x5a && k3.pub[64] == 0x5a);
	CHECK_RC(skp_store_identity_load(d, &k2, why, sizeof(why)), SKP_OK);
	CHECK(memcmp(&k, &k2, sizeof(k)) == 0);
	CHECK(count_entries(d) == 1);
	skp_wipe(&k, sizeof(k));
	skp_wipe(&k2, sizeof(k2));
	rmtree(t);
	free(t);
}

static void
identity_load_corrupt_payload(void)
{
	char *t = mktmp(), f[512], why[SKP_STORE_WHY_MAX];
	struct skp_p256_key k;
	skp_buf_t *fb = framed("a1015820" "00000000000000000000000000000000"
	    "00000000000000000000000000000000");

	snprintf(f, sizeof(f), "%s/identity", t);
	write_raw(t, "identity", skp_buf_ptr(fb), skp_buf_len(fb), 0600);
	CHECK_RC(skp_store_identity_load(t, &k, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	CHECK(contains(why, f));
	CHECK(contains(why, "pair again"));
	/* And the permission rule applies to it like to any file. */
	skp_buf_free(&fb);
	fb = framed(IDENT_HEX);
	write_raw(t, "identity", skp_buf_ptr(fb), skp_buf_len(fb), 0640);
	CHECK_RC(skp_store_identity_load(t, &k, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(contains(why, "chmod 600"));
	REQUIRE(chmod(f, 0600) == 0);
	CHECK_RC(skp_store_identity_load(t, &k, why, sizeof(why)), SKP_OK);
	skp_buf_free(&fb);
	rmtree(t);
	free(t);
}

static void
sample(struct skp_store_pairing *p, int i)
{
	struct skp_p256_key k;

	memset(p, 0, sizeof(*p));
	if (skp_p256_generate(&k) != SKP_OK)
		abort();
	snprintf(p->phone_name, sizeof(p->phone_name), "phone %d", i);
	memcpy(p->phone_pub, k.pub, sizeof(k.pub));
	memset(p->mailbox_id, 0x30 + i, sizeof(p->mailbox_id));
	snprintf(p->relay, sizeof(p->relay), "wss://relay%d.example:443/", i);
	memset(p->request_psk, 0x50 + i, sizeof(p->request_psk));
	p->paired_at = 1700000000u + (uint64_t)i;
	snprintf(p->computer_name, sizeof(p->computer_name), "laptop");
	skp_wipe(&k, sizeof(k));
}

static void
phones_vector(void)
{
	skp_store_phones_t *s = NULL;
	const struct skp_store_pairing *p;
	uint8_t *enc = NULL, id[SKP_PHONE_ID_LEN];
	size_t n, el = 0, i;
	uint8_t *want = skp_test_unhex(PHONES_HEX, &n);

	REQUIRE(skp_store_phones_decode(want, n, &s) == SKP_OK);
	REQUIRE(skp_store_phones_count(s) == 1);
	p = skp_store_phones_at(s, 0);
	REQUIRE(p != NULL);
	CHECK(strcmp(p->phone_name, "pixel") == 0);
	CHECK(strcmp(p->relay, "wss://relay.example.com/sk") == 0);
	CHECK(strcmp(p->computer_name, "laptop") == 0);
	CHECK(p->paired_at == 1700000000u);
	for (i = 0; i < 32; i++) {
		CHECK(p->mailbox_id[i] == 0x40 + i);
		CHECK(p->request_psk[i] == 0x60 + i);
	}
	/* The id is derived, not stored. */
	REQUIRE(skp_pairuri_phone_id(p->phone_pub, id) == SKP_OK);
	CHECK_MEM(p->phone_id, id, sizeof(id));
	CHECK(skp_store_phones_at(s, 1) == NULL);
	CHECK_RC(skp_store_phones_encode(s, &enc, &el), SKP_OK);
	CHECK(el == n && enc != NULL && memcmp(enc, want, n) == 0);
	skp_wipe(enc, el);
	free(enc);
	free(want);
	skp_store_phones_free(&s);
	CHECK(s == NULL);
	skp_store_phones_free(&s);
	skp_store_phones_free(NULL);
}

/* The vector with key 8: decoded, and encoded back to the same bytes. */
static void
phones_vector_ca(void)
{
	skp_store_phones_t *s = NULL;
	const struct skp_store_pairing *p;
	struct skp_store_pairing q;
	uint8_t *enc = NULL;
	size_t n, el = 0;
	uint8_t *want = skp_test_unhex(PHONES_CA_HEX, &n);

	REQUIRE(skp_store_phones_decode(want, n, &s) == SKP_OK);
	REQUIRE((p = skp_store_phones_at(s, 0)) != NULL);
	CHECK(strcmp(p->ca_file, "/etc/ca.pem") == 0);
	CHECK_RC(skp_store_phones_encode(s, &enc, &el), SKP_OK);
	CHECK(el == n && enc != NULL && memcmp(enc, want, n) == 0);
	skp_wipe(enc, el);
	free(enc);
	free(want);
	/* Adding checks it as loading does. */
	memcpy(&q, p, sizeof(q));
	skp_store_phones_free(&s);
	REQUIRE((s = skp_store_phones_new()) != NULL);
	snprintf(q.ca_file, sizeof(q.ca_file), "ca.pem");
	CHECK_RC(skp_store_phones_add(s, &q, NULL, 0), SKP_ERR_FORMAT);
	snprintf(q.ca_file, sizeof(q.ca_file), "/x/ca.pem");
	CHECK_RC(skp_store_phones_add(s, &q, NULL, 0), SKP_OK);
	skp_wipe(&q, sizeof(q));
	skp_store_phones_free(&s);
}

/* Key 4 a list: the vector, the old text form, the refusals, move. */
static void
phones_relay_list(void)
{
	skp_store_phones_t *s = NULL;
	const struct skp_store_pairing *p;
	char hex[1024], *t = mktmp(), why[SKP_STORE_WHY_MAX];
	uint8_t *enc = NULL, *b;
	size_t n, el = 0;
	uint8_t *want = skp_test_unhex(PHONES_LIST_HEX, &n);

	REQUIRE(skp_store_phones_decode(want, n, &s) == SKP_OK);
	REQUIRE((p = skp_store_phones_at(s, 0)) != NULL);
	CHECK(strcmp(p->relay, "wss://relay.example.com/sk "
	    "ws://127.0.0.1:8765") == 0);
	CHECK_RC(skp_store_phones_encode(s, &enc, &el), SKP_OK);
	CHECK(el == n && enc != NULL && memcmp(enc, want, n) == 0);
	free(enc);
	free(want);
	/* Saved and moved: a URL of the list keeps the list. */
	CHECK_RC(skp_store_phones_save(t, s, why, sizeof(why)), SKP_OK);
	CHECK_RC(skp_store_phones_move(t, p->phone_id,
	    (const uint8_t *)"abcdefghijklmnopqrstuvwxyz012345",
	    "ws://127.0.0.1:8765", why, sizeof(why)), SKP_OK);
	skp_store_phones_free(&s);
	CHECK_RC(skp_store_phones_load(t, &s, why, sizeof(why)), SKP_OK);
	REQUIRE((p = skp_store_phones_at(s, 0)) != NULL);
	CHECK(strcmp(p->relay, "wss://relay.example.com/sk "
	    "ws://127.0.0.1:8765") == 0);
	CHECK(memcmp(p->mailbox_id, "abcdefghijklmnopqrstuvwxyz012345",
	    32) == 0);
	/* Another URL replaces it. */
	CHECK_RC(skp_store_phones_move(t, p->phone_id,
	    (const uint8_t *)"abcdefghijklmnopqrstuvwxyz012345",
	    "ws://other:1", why, sizeof(why)), SKP_OK);
	skp_store_phones_free(&s);
	CHECK_RC(skp_store_phones_load(t, &s, why, sizeof(why)), SKP_OK);
	REQUIRE((p = skp_store_phones_at(s, 0)) != NULL);
	CHECK(strcmp(p->relay, "ws://other:1") == 0);
	skp_store_phones_free(&s);
	/* Refused: an array of one, a URL twice, five, a bad URL in it. */
#define TRY(k4, want) do {						\
	snprintf(hex, sizeof(hex), "a10181a7" F1 F2 F3 "%s" F5 F6 F7,	\
	    k4);							\
	b = skp_test_unhex(hex, &n);					\
	CHECK_RC(skp_store_phones_decode(b, n, &s), want);		\
	skp_store_phones_free(&s);					\
	free(b);							\
} while (0)
	TRY("0481" "6677733a2f2f61", SKP_ERR_FORMAT);
	TRY("0482" "6677733a2f2f61" "6677733a2f2f61", SKP_ERR_FORMAT);
	TRY("0485" "6677733a2f2f61" "6677733a2f2f62" "6677733a2f2f63"
	    "6677733a2f2f64" "6677733a2f2f65", SKP_ERR_TOO_LARGE);
	TRY("0482" "6677733a2f2f61" "68687474703a2f2f62", SKP_ERR_FORMAT);
	TRY("0482" "6677733a2f2f61" "01", SKP_ERR_CBOR_TYPE);
	TRY("0480", SKP_ERR_FORMAT);
	TRY("0482" "6677733a2f2f61" "6677733a2f2f62", SKP_OK);
#undef TRY
	rmtree(t);
	free(t);
}

static void
phones_roundtrip(void)
{
	char *t = mktmp(), why[SKP_STORE_WHY_MAX];
	skp_store_phones_t *s = skp_store_phones_new(), *back = NULL;
	struct skp_store_pairing p[3];
	int i;

	REQUIRE(s != NULL);
	for (i = 0; i < 3; i++) {
		sample(&p[i], i);
		CHECK_RC(skp_store_phones_add(s, &p[i], why, sizeof(why)),
		    SKP_OK);
	}
	CHECK_RC(skp_store_phones_save(t, s, why, sizeof(why)), SKP_OK);
	CHECK_RC(skp_store_phones_load(t, &back, why, sizeof(why)), SKP_OK);
	REQUIRE(back != NULL);
	REQUIRE(skp_store_phones_count(back) == 3);
	for (i = 0; i < 3; i++)
		CHECK(memcmp(skp_store_phones_at(back, (size_t)i),
		    skp_store_phones_at(s, (size_t)i), sizeof(p[0])) == 0);
	skp_store_phones_free(&back);
	/* Emptied and saved: an empty list, still a valid file. */
	for (i = 0; i < 3; i++)
		CHECK_RC(skp_store_phones_remove(s, p[i].phone_name), SKP_OK);
	CHECK_RC(skp_store_phones_save(t, s, why, sizeof(why)), SKP_OK);
	CHECK_RC(skp_store_phones_load(t, &back, why, sizeof(why)), SKP_OK);
	CHECK(skp_store_phones_count(back) == 0);
	skp_store_phones_free(&back);
	skp_store_phones_free(&s);
	rmtree(t);
	free(t);
}

static void
phones_load_missing_is_empty(void)
{
	char *t = mktmp(), d[512], why[SKP_STORE_WHY_MAX];
	skp_store_phones_t *s = NULL;

	CHECK_RC(skp_store_phones_load(t, &s, why, sizeof(why)), SKP_OK);
	REQUIRE(s != NULL);
	CHECK(skp_store_phones_count(s) == 0);
	CHECK(why[0] == '\0');
	skp_store_phones_free(&s);
	snprintf(d, sizeof(d), "%s/none", t);
	CHECK_RC(skp_store_phones_load(d, &s, why, sizeof(why)), SKP_OK);
	CHECK(skp_store_phones_count(s) == 0);
	skp_store_phones_free(&s);
	/* But an open folder is refused even when empty. */
	REQUIRE(chmod(t, 0750) == 0);
	CHECK_RC(skp_store_phones_load(t, &s, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(s == NULL);
	rmtree(t);
	free(t);
}

static void
phones_add_refusals(void)
{
	skp_store_phones_t *s = skp_store_phones_new();
	struct skp_store_pairing p, q;
	char why[SKP_STORE_WHY_MAX];
	int i;

	REQUIRE(s != NULL);
	sample(&p, 1);
	REQUIRE(skp_store_phones_add(s, &p, why, sizeof(why)) == SKP_OK);
	/* Same name, other phone. */
	sample(&q, 2);
	snprintf(q.phone_name, sizeof(q.phone_name), "%s", p.phone_name);
	CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
	    SKP_ERR_EXISTS);
	CHECK(contains(why, "already paired"));
	/* Same phone, other name. */
	memcpy(&q, &p, sizeof(q));
	snprintf(q.phone_name, sizeof(q.phone_name), "another");
	CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
	    SKP_ERR_EXISTS);
	/* Field checks. */
	sample(&q, 3);
	q.phone_name[0] = '\0';
	CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
	    SKP_ERR_FORMAT);
	sample(&q, 3);
	q.computer_name[0] = '\a';
	CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
	    SKP_ERR_FORMAT);
	sample(&q, 3);
	snprintf(q.relay, sizeof(q.relay), "http://h");
	CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
	    SKP_ERR_FORMAT);
	sample(&q, 3);
	q.phone_pub[64] ^= 1;
	CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
	    SKP_ERR_CRYPTO);
	CHECK(skp_store_phones_count(s) == 1);
	/* The cap. */
	for (i = 2; i <= SKP_STORE_MAX_PHONES; i++) {
		sample(&q, i + 10);
		CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
		    SKP_OK);
	}
	CHECK(skp_store_phones_count(s) == SKP_STORE_MAX_PHONES);
	sample(&q, 99);
	CHECK_RC(skp_store_phones_add(s, &q, why, sizeof(why)),
	    SKP_ERR_TOO_LARGE);
	CHECK(contains(why, "at most 16"));
	skp_store_phones_free(&s);
}

static void
phones_find_and_remove(void)
{
	skp_store_phones_t *s = skp_store_phones_new();
	const struct skp_store_pairing *f = NULL;
	struct skp_store_pairing p[3];
	uint8_t id[SKP_PHONE_ID_LEN];
	int i;

	REQUIRE(s != NULL);
	for (i = 0; i < 3; i++) {
		sample(&p[i], i);
		REQUIRE(skp_store_phones_add(s, &p[i], NULL, 0) == SKP_OK);
	}
	REQUIRE(skp_pairuri_phone_id(p[1].phone_pub, id) == SKP_OK);
	CHECK_RC(skp_store_phones_find_id(s, id, &f), SKP_OK);
	CHECK(f != NULL && strcmp(f->phone_name, "phone 1") == 0);
	CHECK_RC(skp_store_phones_find_name(s, "phone 2", &f), SKP_OK);
	CHECK(f != NULL && memcmp(f->phone_pub, p[2].phone_pub, 65) == 0);
	CHECK_RC(skp_store_phones_find_name(s, "phone 9", &f),
	    SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_store_phones_remove(s, "phone 9"), SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_store_phones_remove(s, "phone 0"), SKP_OK);
	CHECK(skp_store_phones_count(s) == 2);
	CHECK(strcmp(skp_store_phones_at(s, 0)->phone_name, "phone 1") == 0);
	CHECK_RC(skp_store_phones_remove_id(s, id), SKP_OK);
	CHECK_RC(skp_store_phones_find_id(s, id, &f), SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_store_phones_remove_id(s, id), SKP_ERR_NOT_FOUND);
	CHECK(skp_store_phones_count(s) == 1);
	CHECK(strcmp(skp_store_phones_at(s, 0)->phone_name, "phone 2") == 0);
	skp_store_phones_free(&s);
}

static void
phones_decode_refusals(void)
{
	static const struct {
		const char	*name;
		const char	*hex;
		int		 rc;
	} bad[] = {
		{ "empty", "", SKP_ERR_TRUNCATED },
		{ "trailing", PHONES_HEX "00", SKP_ERR_TRAILING },
		{ "top not a map", "8180", SKP_ERR_CBOR_TYPE },
		{ "top unknown key", "a2" "0180" "0200", SKP_ERR_FORMAT },
		{ "top missing key", "a0", SKP_ERR_FORMAT },
		{ "list not an array", "a101a0", SKP_ERR_CBOR_TYPE },
		{ "item not a map", "a1018101", SKP_ERR_CBOR_TYPE },
		{ "key order", "a10181a7" F2 F1 F3 F4 F5 F6 F7,
		    SKP_ERR_CBOR_ORDER },
		{ "missing key 7", "a10181a6" F1 F2 F3 F4 F5 F6,
		    SKP_ERR_FORMAT },
		{ "missing key 3", "a10181a6" F1 F2 F4 F5 F6 F7,
		    SKP_ERR_FORMAT },
		{ "unknown key 9", "a10181a8" F1 F2 F3 F4 F5 F6 F7 "0900",
		    SKP_ERR_FORMAT },
		{ "CA not text", "a10181a8" F1 F2 F3 F4 F5 F6 F7 "0800",
		    SKP_ERR_CBOR_TYPE },
		{ "CA empty", "a10181a8" F1 F2 F3 F4 F5 F6 F7 "0860",
		    SKP_ERR_FORMAT },
		{ "CA relative", "a10181a8" F1 F2 F3 F4 F5 F6 F7 "08626361",
		    SKP_ERR_FORMAT },
		{ "CA control", "a10181a8" F1 F2 F3 F4 F5 F6 F7 "0862" "2f0a",
		    SKP_ERR_FORMAT },
		{ "time as text", "a10181a7" F1 F2 F3 F4 F5 "066131" F7,
		    SKP_ERR_CBOR_TYPE },
		{ "name as bytes", "a10181a7" "01426869" F2 F3 F4 F5 F6 F7,
		    SKP_ERR_CBOR_TYPE },
		{ "short key", "a10181a7" F1 "025801" "04" F3 F4 F5 F6 F7,
		    SKP_ERR_FORMAT },
		{ "short psk", "a10181a7" F1 F2 F3 F4 "054100" F6 F7,
		    SKP_ERR_FORMAT },
		{ "bad relay", "a10181a7" F1 F2 F3 "0468687474703a2f2f68" F5
		    F6 F7, SKP_ERR_FORMAT },
		{ "control in name", "a10181a7" "016361" "0a" "62" F2 F3 F4 F5
		    F6 F7, SKP_ERR_FORMAT },
		{ "empty name", "a10181a7" "0160" F2 F3 F4 F5 F6 F7,
		    SKP_ERR_FORMAT },
		{ "duplicate phone", "a10182" PAIRING_HEX PAIRING_HEX,
		    SKP_ERR_FORMAT },
		{ "non-minimal key", "a1" "1801" "81" PAIRING_HEX,
		    SKP_ERR_FORMAT },
	};
	skp_store_phones_t *s = NULL;
	uint8_t *p;
	size_t i, n;
	int rc;

	for (i = 0; i < nitems(bad); i++) {
		p = skp_test_unhex(bad[i].hex, &n);
		rc = skp_store_phones_decode(p, n, &s);
		if (rc != bad[i].rc)
			fprintf(stderr, "case \"%s\"\n", bad[i].name);
		CHECK_RC(rc, bad[i].rc);
		CHECK(s == NULL);
		free(p);
	}
}

static void
phones_decode_bad_point(void)
{
	skp_store_phones_t *s = NULL;
	size_t n;
	uint8_t *p = skp_test_unhex(PHONES_HEX, &n);

	/* The last byte of the phone key (a1 01 81 a7, F1, 02 58 41, 64). */
	p[3 + 1 + 7 + 2 + 1 + 64] ^= 1;
	CHECK_RC(skp_store_phones_decode(p, n, &s), SKP_ERR_CRYPTO);
	CHECK(s == NULL);
	free(p);
}

static void
phones_decode_over_cap(void)
{
	char hex[17 * sizeof(PAIRING_HEX) + 16];
	skp_store_phones_t *s = NULL;
	uint8_t *p;
	size_t n;
	int i;

	/* 17 items: refused for the count before anything else. */
	snprintf(hex, sizeof(hex), "a10191");
	for (i = 0; i < 17; i++)
		strcat(hex, PAIRING_HEX);
	p = skp_test_unhex(hex, &n);
	CHECK_RC(skp_store_phones_decode(p, n, &s), SKP_ERR_TOO_LARGE);
	CHECK(s == NULL);
	free(p);
}

static void
phones_load_corrupt(void)
{
	char *t = mktmp(), f[512], why[SKP_STORE_WHY_MAX];
	skp_store_phones_t *s = NULL;
	skp_buf_t *fb = framed("a10181a6" F1 F2 F3 F4 F5 F6);

	snprintf(f, sizeof(f), "%s/phones", t);
	write_raw(t, "phones", skp_buf_ptr(fb), skp_buf_len(fb), 0600);
	CHECK_RC(skp_store_phones_load(t, &s, why, sizeof(why)),
	    SKP_ERR_CORRUPT);
	CHECK(s == NULL);
	CHECK(contains(why, f));
	CHECK(contains(why, "rm "));
	skp_buf_free(&fb);
	/* The file-level refusals come through as they are. */
	fb = framed(PHONES_HEX);
	write_raw(t, "phones", skp_buf_ptr(fb), skp_buf_len(fb), 0644);
	CHECK_RC(skp_store_phones_load(t, &s, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(contains(why, "chmod 600"));
	REQUIRE(chmod(f, 0600) == 0);
	CHECK_RC(skp_store_phones_load(t, &s, why, sizeof(why)), SKP_OK);
	CHECK(skp_store_phones_count(s) == 1);
	skp_store_phones_free(&s);
	skp_buf_free(&fb);
	rmtree(t);
	free(t);
}

/* skp_file_read and skp_file_write_private: what --ca and --uri-file use. */
static void
user_files(void)
{
	char *t = mktmp(), path[4200], tmp[4300], got[64];
	skp_buf_t *b = NULL;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/uri", t);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* A leftover temporary file open to others: the URI is still 0600. */
	write_raw(t, "uri.tmp", "old", 3, 0644);
	CHECK_RC(skp_file_write_private(path, "sk-phone://x"), SKP_OK);
	REQUIRE(stat(path, &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	CHECK(access(tmp, F_OK) != 0);
	REQUIRE((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0);
	n = read(fd, got, sizeof(got));
	close(fd);
	CHECK(n == 13 && memcmp(got, "sk-phone://x\n", 13) == 0);
	/* Read back whole, and refused one byte past the cap. */
	CHECK_RC(skp_file_read(path, 13, &b), SKP_OK);
	REQUIRE(b != NULL);
	CHECK(skp_buf_len(b) == 13 &&
	    memcmp(skp_buf_ptr(b), "sk-phone://x\n", 13) == 0);
	skp_buf_free(&b);
	CHECK_RC(skp_file_read(path, 12, &b), SKP_ERR_TOO_LARGE);
	CHECK(b == NULL);
	/* Never through a link at the temporary name; path untouched. */
	REQUIRE(symlink("/nonexistent-skp-target", tmp) == 0);
	CHECK_RC(skp_file_write_private(path, "other"), SKP_ERR_IO);
	CHECK_RC(skp_file_read(path, 64, &b), SKP_OK);
	CHECK(b != NULL && skp_buf_len(b) == 13);
	skp_buf_free(&b);
	CHECK(access("/nonexistent-skp-target", F_OK) != 0);
	snprintf(path, sizeof(path), "%s/missing", t);
	CHECK_RC(skp_file_read(path, 64, &b), SKP_ERR_IO);
	rmtree(t);
	free(t);
}

static const struct skp_test_case cases[] = {
	{ "dir_env_order", dir_env_order },
	{ "dir_env_passwd_fallback", dir_env_passwd_fallback },
	{ "dir_env_refusals", dir_env_refusals },
	{ "dir_create_0700_with_parents", dir_create_0700_with_parents },
	{ "dir_missing_without_create", dir_missing_without_create },
	{ "dir_refuse_open_modes", dir_refuse_open_modes },
	{ "dir_refuse_not_owned", dir_refuse_not_owned },
	{ "dir_refuse_not_a_folder", dir_refuse_not_a_folder },
	{ "format_vector", format_vector },
	{ "format_roundtrip_sizes", format_roundtrip_sizes },
	{ "format_refuse_bad_magic", format_refuse_bad_magic },
	{ "format_refuse_any_flipped_byte", format_refuse_any_flipped_byte },
	{ "format_refuse_truncated_and_trailing",
	    format_refuse_truncated_and_trailing },
	{ "format_refuse_newer_version", format_refuse_newer_version },
	{ "format_refuse_length_mismatch", format_refuse_length_mismatch },
	{ "format_refuse_over_cap", format_refuse_over_cap },
	{ "file_roundtrip", file_roundtrip },
	{ "file_refuse_bad_names", file_refuse_bad_names },
	{ "file_last_copy_name", file_last_copy_name },
	{ "file_read_missing", file_read_missing },
	{ "file_refuse_open_modes", file_refuse_open_modes },
	{ "file_refuse_not_owned", file_refuse_not_owned },
	{ "file_refuse_symlink", file_refuse_symlink },
	{ "file_refuse_not_regular", file_refuse_not_regular },
	{ "file_refuse_corrupt_on_disk", file_refuse_corrupt_on_disk },
	{ "file_refuse_newer_on_disk", file_refuse_newer_on_disk },
	{ "file_refuse_too_large_on_disk", file_refuse_too_large_on_disk },
	{ "write_cap_keeps_old", write_cap_keeps_old },
	{ "write_failure_keeps_old", write_failure_keeps_old },
	{ "write_rename_failure_cleans_up", write_rename_failure_cleans_up },
	{ "write_readonly_folder_keeps_old",
	    write_readonly_folder_keeps_old },
	{ "write_noreplace", write_noreplace },
	{ "write_refuses_open_folder", write_refuses_open_folder },
	{ "identity_vector", identity_vector },
	{ "identity_decode_refusals", identity_decode_refusals },
	{ "identity_create_load", identity_create_load },
	{ "identity_load_corrupt_payload", identity_load_corrupt_payload },
	{ "phones_vector", phones_vector },
	{ "phones_vector_ca", phones_vector_ca },
	{ "phones_relay_list", phones_relay_list },
	{ "user_files", user_files },
	{ "phones_roundtrip", phones_roundtrip },
	{ "phones_load_missing_is_empty", phones_load_missing_is_empty },
	{ "phones_add_refusals", phones_add_refusals },
	{ "phones_find_and_remove", phones_find_and_remove },
	{ "phones_decode_refusals", phones_decode_refusals },
	{ "phones_decode_bad_point", phones_decode_bad_point },
	{ "phones_decode_over_cap", phones_decode_over_cap },
	{ "phones_load_corrupt", phones_load_corrupt },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
