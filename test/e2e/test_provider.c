/* The provider as ssh-sk-helper sees it: dlopen()ed, every refusal path. */
/*
 * Offline cases need nothing but a temporary state folder. Online cases
 * (names starting with "online_") need a paired phone: the e2e harness
 * (e2e.py) sets SK_PHONE_DIR to a paired state and starts the relay and
 * a reference phone before running them. Every call is made with stdout
 * and stderr captured: the provider must never write to stdout, and the
 * user-facing lines are checked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "skp-config.h"
#include "sk-api.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"
#include "sk-phone/store.h"

typedef uint32_t api_fn(void);
typedef int enroll_fn(uint32_t, const uint8_t *, size_t, const char *,
    uint8_t, const char *, struct sk_option **,
    struct sk_enroll_response **);
typedef int sign_fn(uint32_t, const uint8_t *, size_t, const char *,
    const uint8_t *, size_t, uint8_t, const char *, struct sk_option **,
    struct sk_sign_response **);
typedef int load_fn(const char *, struct sk_option **,
    struct sk_resident_key ***, size_t *);

static api_fn		*p_version;
static enroll_fn	*p_enroll;
static sign_fn		*p_sign;
static load_fn		*p_load;

static char		 tmpdir[] = "/tmp/skp-prov-XXXXXX";
static char		 out_path[64], err_path[64];
static int		 saved_out = -1, saved_err = -1;
static char		 errtext[8192];
static double		 elapsed;
static struct timespec	 t0;

static void
on_signal(int sig)
{
	(void)sig;
}

/* Capture fds 1 and 2 around one provider call. */
static void
capture_begin(void)
{
	int fo, fe;

	fflush(stdout);
	fflush(stderr);
	fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fo == -1 || fe == -1)
		abort();
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	close(fo);
	close(fe);
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

/* Restore; errtext gets stderr; answers how many bytes went to stdout. */
static long
capture_end(void)
{
	struct timespec t1;
	ssize_t n;
	long outlen;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	errtext[0] = '\0';
	if ((fd = open(err_path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, errtext, sizeof(errtext) - 1);
		errtext[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	if ((fd = open(out_path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	outlen = (long)lseek(fd, 0, SEEK_END);
	close(fd);
	if (errtext[0] != '\0')
		fprintf(stderr, "# provider said: %s", errtext);
	return outlen;
}

#define CALL(expr) ({							\
	int rc_;							\
	long out_;							\
	capture_begin();						\
	rc_ = (expr);							\
	out_ = capture_end();						\
	CHECK(out_ == 0);						\
	rc_;								\
})

/* A fresh, empty state folder in SK_PHONE_DIR. */
static void
state_empty(const char *name)
{
	char d[256];

	snprintf(d, sizeof(d), "%s/%s", tmpdir, name);
	if (mkdir(d, 0700) == -1 && errno != EEXIST)
		abort();
	setenv("SK_PHONE_DIR", d, 1);
}

/* A state folder with an identity and one made-up phone on relay. */
static void
state_paired(const char *name, const char *relay, uint8_t phone_id[16])
{
	char why[SKP_STORE_WHY_MAX];
	struct skp_p256_key id, phone;
	struct skp_store_pairing sp;
	skp_store_phones_t *phones;
	const struct skp_store_pairing *got;
	const char *dir;

	state_empty(name);
	dir = getenv("SK_PHONE_DIR");
	memset(&sp, 0, sizeof(sp));
	if (skp_store_identity_create(dir, &id, why, sizeof(why)) != 0 ||
	    skp_p256_generate(&phone) != 0 ||
	    (phones = skp_store_phones_new()) == NULL)
		abort();
	snprintf(sp.phone_name, sizeof(sp.phone_name), "testphone");
	memcpy(sp.phone_pub, phone.pub, sizeof(sp.phone_pub));
	skp_random(sp.mailbox_id, sizeof(sp.mailbox_id));
	snprintf(sp.relay, sizeof(sp.relay), "%s", relay);
	skp_random(sp.request_psk, sizeof(sp.request_psk));
	sp.paired_at = (uint64_t)time(NULL);
	snprintf(sp.computer_name, sizeof(sp.computer_name), "testbox");
	if (skp_store_phones_add(phones, &sp, why, sizeof(why)) != 0 ||
	    skp_store_phones_save(dir, phones, why, sizeof(why)) != 0 ||
	    skp_store_phones_find_name(phones, "testphone", &got) != 0)
		abort();
	if (phone_id != NULL)
		memcpy(phone_id, got->phone_id, 16);
	skp_store_phones_free(&phones);
}

/* A key handle for a phone id, with a valid point. */
static size_t
make_keyhandle(const uint8_t phone_id[16], uint8_t *out, size_t outmax)
{
	struct skp_keyhandle kh;
	struct skp_p256_key k;
	size_t len = 0;

	memset(&kh, 0, sizeof(kh));
	if (skp_p256_generate(&k) != 0)
		abort();
	memcpy(kh.phone_id, phone_id, 16);
	memcpy(kh.pub, k.pub, sizeof(kh.pub));
	kh.cred_id_len = 16;
	skp_random(kh.cred_id, 16);
	if (skp_keyhandle_encode(&kh, out, outmax, &len) != 0)
		abort();
	return len;
}

/* A 127.0.0.1 port that nothing listens on. */
static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int s, port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &sl) == -1)
		abort();
	port = ntohs(sa.sin_port);
	close(s);
	return port;
}

static const uint8_t challenge[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void
free_enroll(struct sk_enroll_response *r)
{
	if (r == NULL)
		return;
	free(r->public_key);
	free(r->key_handle);
	free(r->signature);
	free(r->attestation_cert);
	free(r->authdata);
	free(r);
}

static void
free_sign(struct sk_sign_response *r)
{
	if (r == NULL)
		return;
	free(r->sig_r);
	free(r->sig_s);
	free(r);
}

/* -- offline cases ---------------------------------------------------- */

static void
api_version_major(void)
{
	uint32_t v = p_version();

	/* Exactly the major the build asked for (meson sk_api_version). */
	CHECK(v == (uint32_t)SKP_SK_API_VERSION);
	CHECK((v & SSH_SK_VERSION_MAJOR_MASK) == SSH_SK_VERSION_MAJOR_V10 ||
	    (v & SSH_SK_VERSION_MAJOR_MASK) == SSH_SK_VERSION_MAJOR_V9);
}

static void
enroll_unknown_alg_unsupported(void)
{
	struct sk_enroll_response *r = NULL;

	/* ECDSA (0) and Ed25519 (1) are made; anything else is not. */
	state_empty("alg");
	CHECK(CALL(p_enroll(7, challenge, sizeof(challenge),
	    "ssh:", SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &r)) ==
	    SSH_SK_ERR_UNSUPPORTED);
	CHECK(r == NULL);
	CHECK(strstr(errtext, "ecdsa-sk") != NULL);
	CHECK(strstr(errtext, "ed25519-sk") != NULL);
}

static void
enroll_bad_arguments(void)
{
	struct sk_enroll_response *r = NULL;

	state_empty("badargs");
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, NULL, 32, "ssh:", 1, NULL, NULL,
	    &r)) == SSH_SK_ERR_GENERAL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 0, "ssh:", 1, NULL,
	    NULL, &r)) == SSH_SK_ERR_GENERAL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "", 1, NULL, NULL,
	    &r)) == SSH_SK_ERR_GENERAL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, NULL, 1, NULL,
	    NULL, &r)) == SSH_SK_ERR_GENERAL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:", 1, NULL,
	    NULL, NULL)) == SSH_SK_ERR_GENERAL);
	CHECK(r == NULL);
}

static void
enroll_not_paired(void)
{
	struct sk_enroll_response *r = NULL;

	state_empty("notpaired");
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:",
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &r)) ==
	    SSH_SK_ERR_DEVICE_NOT_FOUND);
	CHECK(strstr(errtext, "sk-phone pair") != NULL);
	CHECK(r == NULL);
}

static void
enroll_unknown_required_option(void)
{
	struct sk_option o = { (char *)(uintptr_t)"colour",
	    (char *)(uintptr_t)"blue", 1 };
	struct sk_option *opts[] = { &o, NULL };
	struct sk_enroll_response *r = NULL;

	state_paired("unknownopt", "ws://127.0.0.1:1", NULL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:", 1, NULL,
	    opts, &r)) == SSH_SK_ERR_UNSUPPORTED);
	CHECK(strstr(errtext, "colour") != NULL);
}

static void
enroll_user_too_long(void)
{
	struct sk_option o = { (char *)(uintptr_t)"user",
	    (char *)(uintptr_t)"abcdefghijklmnopqrstuvwxyz0123456", 0 };
	struct sk_option *opts[] = { &o, NULL };
	struct sk_enroll_response *r = NULL;

	state_paired("userlong", "ws://127.0.0.1:1", NULL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:", 1, NULL,
	    opts, &r)) == SSH_SK_ERR_GENERAL);
	CHECK(strstr(errtext, "longer than") != NULL);
}

static void
enroll_unknown_device(void)
{
	struct sk_option o = { (char *)(uintptr_t)"device",
	    (char *)(uintptr_t)"nosuchphone", 0 };
	struct sk_option *opts[] = { &o, NULL };
	struct sk_enroll_response *r = NULL;

	state_paired("nodevice", "ws://127.0.0.1:1", NULL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:", 1, NULL,
	    opts, &r)) == SSH_SK_ERR_DEVICE_NOT_FOUND);
	CHECK(strstr(errtext, "nosuchphone") != NULL);
}

static void
enroll_uv_asks_pin_first(void)
{
	struct sk_enroll_response *r = NULL;

	state_paired("uvpin", "ws://127.0.0.1:1", NULL);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:",
	    SSH_SK_USER_PRESENCE_REQD | SSH_SK_USER_VERIFICATION_REQD, NULL,
	    NULL, &r)) == SSH_SK_ERR_PIN_REQUIRED);
	/* An empty PIN is no PIN. */
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:",
	    SSH_SK_USER_PRESENCE_REQD | SSH_SK_USER_VERIFICATION_REQD, "",
	    NULL, &r)) == SSH_SK_ERR_PIN_REQUIRED);
	CHECK(r == NULL);
}

static void
sign_foreign_keyhandle(void)
{
	struct sk_sign_response *r = NULL;
	uint8_t kh[64];

	memset(kh, 0x42, sizeof(kh));
	state_paired("foreign", "ws://127.0.0.1:1", NULL);
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"data", 4, "ssh:",
	    kh, sizeof(kh), 1, NULL, NULL, &r)) == SSH_SK_ERR_GENERAL);
	CHECK(strstr(errtext, "not made by sk-phone") != NULL);
	CHECK(r == NULL);
}

static void
sign_phone_not_paired(void)
{
	struct sk_sign_response *r = NULL;
	uint8_t kh[SKP_KEYHANDLE_MAX], other[16];
	size_t khlen;

	state_paired("gone", "ws://127.0.0.1:1", NULL);
	memset(other, 0x17, sizeof(other));
	khlen = make_keyhandle(other, kh, sizeof(kh));
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"data", 4, "ssh:",
	    kh, khlen, 1, NULL, NULL, &r)) == SSH_SK_ERR_DEVICE_NOT_FOUND);
	CHECK(strstr(errtext, "sk-phone pair") != NULL);
	/* No state at all: the same answer. */
	state_empty("gone-empty");
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"data", 4, "ssh:",
	    kh, khlen, 1, NULL, NULL, &r)) == SSH_SK_ERR_DEVICE_NOT_FOUND);
	CHECK(strstr(errtext, "sk-phone pair") != NULL);
	CHECK(r == NULL);
}

static void
sign_uv_asks_pin_first(void)
{
	struct sk_sign_response *r = NULL;
	uint8_t kh[SKP_KEYHANDLE_MAX], id[16];
	size_t khlen;

	state_paired("signuv", "ws://127.0.0.1:1", id);
	khlen = make_keyhandle(id, kh, sizeof(kh));
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"data", 4, "ssh:",
	    kh, khlen, SSH_SK_USER_PRESENCE_REQD |
	    SSH_SK_USER_VERIFICATION_REQD, NULL, NULL, &r)) ==
	    SSH_SK_ERR_PIN_REQUIRED);
	CHECK(r == NULL);
}

static void
sign_relay_down_fast(void)
{
	struct sk_sign_response *r = NULL;
	uint8_t kh[SKP_KEYHANDLE_MAX], id[16];
	char url[64];
	size_t khlen;

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d", closed_port());
	state_paired("relaydown", url, id);
	khlen = make_keyhandle(id, kh, sizeof(kh));
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"data", 4, "ssh:",
	    kh, khlen, SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &r)) ==
	    SSH_SK_ERR_DEVICE_NOT_FOUND);	/* not "invalid format" */
	CHECK(elapsed < 2.0);
	CHECK(strstr(errtext, "cannot reach the relay") != NULL);
	CHECK(strstr(errtext, url) != NULL);
	CHECK(r == NULL);
}

static void
load_not_paired(void)
{
	struct sk_resident_key **rks = NULL;
	size_t n = 99;

	state_empty("loadnp");
	CHECK(CALL(p_load(NULL, NULL, &rks, &n)) ==
	    SSH_SK_ERR_DEVICE_NOT_FOUND);
	CHECK(rks == NULL && n == 0);
	CHECK(strstr(errtext, "sk-phone pair") != NULL);
}

static void
bad_timeout_variable(void)
{
	struct sk_enroll_response *r = NULL;

	state_empty("badtimeout");
	setenv("SK_PHONE_TIMEOUT", "soon", 1);
	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, "ssh:", 1, NULL,
	    NULL, &r)) == SSH_SK_ERR_DEVICE_NOT_FOUND);
	CHECK(strstr(errtext, "SK_PHONE_TIMEOUT") != NULL);
	unsetenv("SK_PHONE_TIMEOUT");
}

static void
signals_left_alone(void)
{
	struct sigaction sa, got;
	struct sk_sign_response *r = NULL;
	uint8_t kh[SKP_KEYHANDLE_MAX], id[16];
	char url[64];
	size_t khlen;
	sigset_t want, mask;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&want);
	sigaddset(&want, SIGUSR2);
	sigprocmask(SIG_SETMASK, &want, NULL);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d", closed_port());
	state_paired("signals", url, id);
	khlen = make_keyhandle(id, kh, sizeof(kh));
	(void)CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"data", 4, "ssh:",
	    kh, khlen, SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &r));
	sigaction(SIGPIPE, NULL, &got);
	CHECK(got.sa_handler == on_signal);
	sigaction(SIGALRM, NULL, &got);
	CHECK(got.sa_handler == SIG_IGN);
	sigaction(SIGINT, NULL, &got);
	CHECK(got.sa_handler == SIG_DFL);
	sigaction(SIGTERM, NULL, &got);
	CHECK(got.sa_handler == SIG_DFL);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	CHECK(sigismember(&mask, SIGUSR2) == 1);
	CHECK(sigismember(&mask, SIGPIPE) == 0);
	sigemptyset(&want);
	sigprocmask(SIG_SETMASK, &want, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
}

/* -- online cases (a real relay and phone, set up by e2e.py) ---------- */

static const char *
app(void)
{
	const char *a = getenv("SKP_TEST_APP");

	return a != NULL ? a : "ssh:";
}

/* Enroll, sign twice (counter grows), check every field OpenSSH uses. */
static void
online_enroll_sign(void)
{
	struct sk_enroll_response *e = NULL;
	struct sk_sign_response *s1 = NULL, *s2 = NULL;
	struct skp_keyhandle kh;

	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, app(),
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &e)) == 0);
	REQUIRE(e != NULL);
	CHECK(e->flags == SSH_SK_USER_PRESENCE_REQD);
	CHECK(e->public_key_len == 65 && e->public_key[0] == 0x04);
	CHECK(skp_p256_check_public(e->public_key) == 0);
	REQUIRE(skp_keyhandle_decode(e->key_handle, e->key_handle_len,
	    &kh) == 0);
	CHECK(memcmp(kh.pub, e->public_key, 65) == 0);
	CHECK(e->signature_len > 0 && e->authdata_len > 37);
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"message one", 11,
	    app(), e->key_handle, e->key_handle_len,
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &s1)) == 0);
	REQUIRE(s1 != NULL);
	CHECK((s1->flags & SSH_SK_USER_PRESENCE_REQD) != 0);
	CHECK(s1->sig_r_len == 32 && s1->sig_s_len == 32);
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"message two", 11,
	    app(), e->key_handle, e->key_handle_len,
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &s2)) == 0);
	REQUIRE(s2 != NULL);
	CHECK(s2->counter > s1->counter);
	/* Another application's key handle use is refused by the phone or
	 * fails verification: never a signature. */
	free_sign(s1);
	s1 = NULL;
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"x", 1,
	    "ssh:other", e->key_handle, e->key_handle_len,
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &s1)) != 0);
	CHECK(s1 == NULL);
	free_sign(s1);
	free_sign(s2);
	free_enroll(e);
}

/*
 * An ed25519-sk key (e2e_ed25519.py): the 32-byte key, a version 2 key
 * handle, and signatures of 64 bytes in sig_r alone that verify with the
 * key over what OpenSSH checks: SHA-256(application) || flags ||
 * counter || SHA-256(data).
 */
static void
online_enroll_sign_ed25519(void)
{
	static const char msg[] = "ed25519 message";
	struct sk_enroll_response *e = NULL;
	struct sk_sign_response *s1 = NULL;
	struct skp_keyhandle kh;
	uint8_t signed_data[32 + 1 + 4 + 32];

	CHECK(CALL(p_enroll(SSH_SK_ED25519, challenge, 32, app(),
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &e)) == 0);
	REQUIRE(e != NULL);
	CHECK(e->flags == SSH_SK_USER_PRESENCE_REQD);
	REQUIRE(e->public_key_len == SKP_ED25519_PUB_LEN);
	CHECK(skp_ed25519_check_public(e->public_key) == 0);
	REQUIRE(skp_keyhandle_decode(e->key_handle, e->key_handle_len,
	    &kh) == 0);
	CHECK(e->key_handle[3] == 2 && kh.alg == -8);
	CHECK(e->key_handle_len == 53 + kh.cred_id_len);
	CHECK(memcmp(kh.pub, e->public_key, SKP_ED25519_PUB_LEN) == 0);
	/* The attestation signature is the raw 64 bytes. */
	CHECK(e->signature_len == 64 && e->authdata_len > 37);
	CHECK(CALL(p_sign(SSH_SK_ED25519, (const uint8_t *)msg,
	    strlen(msg), app(), e->key_handle, e->key_handle_len,
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &s1)) == 0);
	REQUIRE(s1 != NULL);
	CHECK(s1->sig_r_len == 64 && s1->sig_s_len == 0);
	REQUIRE(s1->sig_r_len == 64);
	REQUIRE(skp_sha256(app(), strlen(app()), signed_data) == 0);
	signed_data[32] = s1->flags;
	signed_data[33] = (uint8_t)(s1->counter >> 24);
	signed_data[34] = (uint8_t)(s1->counter >> 16);
	signed_data[35] = (uint8_t)(s1->counter >> 8);
	signed_data[36] = (uint8_t)s1->counter;
	REQUIRE(skp_sha256(msg, strlen(msg), signed_data + 37) == 0);
	CHECK(skp_ed25519_verify(e->public_key, signed_data,
	    sizeof(signed_data), s1->sig_r, s1->sig_r_len) == 0);
	signed_data[40] ^= 1;
	CHECK(skp_ed25519_verify(e->public_key, signed_data,
	    sizeof(signed_data), s1->sig_r, s1->sig_r_len) != 0);
	free_sign(s1);
	s1 = NULL;
	/* An ed25519 handle under the ecdsa algorithm: never a signature. */
	CHECK(CALL(p_sign(SSH_SK_ECDSA, (const uint8_t *)"x", 1, app(),
	    e->key_handle, e->key_handle_len, SSH_SK_USER_PRESENCE_REQD, NULL,
	    NULL, &s1)) == SSH_SK_ERR_GENERAL);
	CHECK(s1 == NULL);
	free_enroll(e);
}

/* The phone refuses (its policy set to reject by e2e.py). */
static void
online_rejected(void)
{
	struct sk_enroll_response *e = NULL;

	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, app(),
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &e)) ==
	    SSH_SK_ERR_DEVICE_NOT_FOUND);	/* not "invalid format" */
	CHECK(strstr(errtext, "rejected on phone") != NULL);
	CHECK(e == NULL);
}

/* The phone answers with one byte flipped inside the signed answer. */
static void
online_tampered(void)
{
	struct sk_enroll_response *e = NULL;

	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, app(),
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &e)) ==
	    SSH_SK_ERR_GENERAL);
	CHECK(strstr(errtext, "did not verify") != NULL);
	CHECK(e == NULL);
}

/* The phone is not running: the timeout line within the timeout. */
static void
online_offline(void)
{
	struct sk_enroll_response *e = NULL;
	const char *t = getenv("SK_PHONE_TIMEOUT");
	double limit = t != NULL ? atof(t) : 60.0;

	CHECK(CALL(p_enroll(SSH_SK_ECDSA, challenge, 32, app(),
	    SSH_SK_USER_PRESENCE_REQD, NULL, NULL, &e)) ==
	    SSH_SK_ERR_DEVICE_NOT_FOUND);
	CHECK(strstr(errtext, "offline") != NULL);
	CHECK(strstr(errtext, "timed out") != NULL);
	CHECK(elapsed < limit + 1.0);
	CHECK(e == NULL);
}

static const struct skp_test_case cases[] = {
	{ "api_version_major", api_version_major },
	{ "enroll_unknown_alg_unsupported", enroll_unknown_alg_unsupported },
	{ "enroll_bad_arguments", enroll_bad_arguments },
	{ "enroll_not_paired", enroll_not_paired },
	{ "enroll_unknown_required_option", enroll_unknown_required_option },
	{ "enroll_user_too_long", enroll_user_too_long },
	{ "enroll_unknown_device", enroll_unknown_device },
	{ "enroll_uv_asks_pin_first", enroll_uv_asks_pin_first },
	{ "sign_foreign_keyhandle", sign_foreign_keyhandle },
	{ "sign_phone_not_paired", sign_phone_not_paired },
	{ "sign_uv_asks_pin_first", sign_uv_asks_pin_first },
	{ "sign_relay_down_fast", sign_relay_down_fast },
	{ "load_not_paired", load_not_paired },
	{ "bad_timeout_variable", bad_timeout_variable },
	{ "signals_left_alone", signals_left_alone },
	{ "online_enroll_sign", online_enroll_sign },
	{ "online_enroll_sign_ed25519", online_enroll_sign_ed25519 },
	{ "online_rejected", online_rejected },
	{ "online_tampered", online_tampered },
	{ "online_offline", online_offline },
};

int
main(int argc, char **argv)
{
	const char *lib = getenv("SKP_TEST_PROVIDER");
	void *h;
	int rc;

	if (lib == NULL) {
		fprintf(stderr, "set SKP_TEST_PROVIDER to libsk-phone.so\n");
		return 2;
	}
	if ((h = dlopen(lib, RTLD_NOW)) == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", lib, dlerror());
		return 2;
	}
	p_version = (api_fn *)dlsym(h, "sk_api_version");
	p_enroll = (enroll_fn *)dlsym(h, "sk_enroll");
	p_sign = (sign_fn *)dlsym(h, "sk_sign");
	p_load = (load_fn *)dlsym(h, "sk_load_resident_keys");
	if (!p_version || !p_enroll || !p_sign || !p_load) {
		fprintf(stderr, "missing entry points in %s\n", lib);
		return 2;
	}
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	snprintf(out_path, sizeof(out_path), "%s/stdout", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);
	rc = skp_test_run(cases, nitems(cases), argc, argv);
	/* Leave nothing behind. */
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			rc = 1;
	}
	dlclose(h);
	return rc;
}
