/* Unit tests for the reference phone's parts and the pairing payloads. */
#include <sys/stat.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "sk-phone/buf.h"
#include "sk-phone/call.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"
#include "sk-phone/noise.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/store.h"
#include "sk-phone/verify.h"
#include "harness.h"

#include "audit.h"
#include "handle.h"
#include "hostcheck.h"
#include "phstate.h"
#include "prompt.h"
#include "sshmsg.h"

#define DEAD_RELAY	"ws://127.0.0.1:1"

/* ---- helpers ---- */

static char tmpdir[256];

static const char *
fresh_dir(void)
{
	static char dir[300];
	static int n;
	char base[] = "/tmp/skp-phone-unit-XXXXXX";

	if (tmpdir[0] == '\0') {
		if (mkdtemp(base) == NULL)
			abort();
		snprintf(tmpdir, sizeof(tmpdir), "%s", base);
	}
	snprintf(dir, sizeof(dir), "%s/s%d", tmpdir, n++);
	return dir;
}

static void
ssh_string(skp_buf_t *b, const void *p, size_t n)
{
	if (skp_buf_string(b, p, n) != SKP_OK)
		abort();
}

static void
sstr(skp_buf_t *b, const char *s)
{
	ssh_string(b, s, strlen(s));
}

/* A userauth request with knobs to break each field. */
struct ua {
	size_t		 sidlen;
	uint8_t		 msg;
	const char	*user;
	size_t		 userlen;
	const char	*service;
	const char	*method;
	uint8_t		 flag;
	int		 hostkey;
	int		 trailing;
};

static skp_buf_t *
userauth(const struct ua *u)
{
	skp_buf_t *b = skp_buf_new(4096);
	uint8_t sid[80];

	memset(sid, 7, sizeof(sid));
	ssh_string(b, sid, u->sidlen);
	if (skp_buf_u8(b, u->msg) != SKP_OK)
		abort();
	ssh_string(b, u->user, u->userlen);
	sstr(b, u->service);
	sstr(b, u->method);
	if (skp_buf_u8(b, u->flag) != SKP_OK)
		abort();
	sstr(b, "sk-ecdsa-sha2-nistp256@openssh.com");
	sstr(b, "KEYBLOB");
	if (u->hostkey)
		sstr(b, "HOSTKEY");
	if (u->trailing && skp_buf_u8(b, 0) != SKP_OK)
		abort();
	return b;
}

static const struct ua ua_ok = {
	32, 50, "root", 4, "ssh-connection", "publickey", 1, 0, 0
};

static enum skp_sshmsg_kind
ua_kind(const struct ua *u, struct skp_sshmsg *m)
{
	skp_buf_t *b = userauth(u);

	skp_sshmsg_parse(skp_buf_ptr(b), skp_buf_len(b), m);
	skp_buf_free(&b);
	return m->kind;
}

static skp_buf_t *
sshsig(const char *magic, const char *ns, const char *alg, size_t hlen,
    int trailing)
{
	skp_buf_t *b = skp_buf_new(4096);
	uint8_t h[80];

	memset(h, 9, sizeof(h));
	if (skp_buf_put(b, magic, 6) != SKP_OK)
		abort();
	sstr(b, ns);
	sstr(b, "");
	sstr(b, alg);
	ssh_string(b, h, hlen);
	if (trailing && skp_buf_u8(b, 1) != SKP_OK)
		abort();
	return b;
}

static enum skp_sshmsg_kind
sig_kind(const char *magic, const char *ns, const char *alg, size_t hlen,
    int trailing)
{
	struct skp_sshmsg m;
	skp_buf_t *b = sshsig(magic, ns, alg, hlen, trailing);

	skp_sshmsg_parse(skp_buf_ptr(b), skp_buf_len(b), &m);
	skp_buf_free(&b);
	return m.kind;
}

/* ---- sshmsg ---- */

static void
sshmsg_userauth(void)
{
	struct skp_sshmsg m;
	skp_buf_t *b = userauth(&ua_ok);

	skp_sshmsg_parse(skp_buf_ptr(b), skp_buf_len(b), &m);
	CHECK(m.kind == SKP_SSHMSG_USERAUTH);
	CHECK(strcmp(m.user, "root") == 0);
	CHECK(m.session_id_len == 32 && m.hostbound == 0);
	CHECK(strcmp(m.key_alg, "sk-ecdsa-sha2-nistp256@openssh.com") == 0);
	CHECK(m.key_blob_len == 7 && memcmp(m.key_blob, "KEYBLOB", 7) == 0);
	skp_buf_free(&b);
}

static void
sshmsg_userauth_hostbound(void)
{
	struct ua u = ua_ok;
	struct skp_sshmsg m;

	u.method = "publickey-hostbound-v00@openssh.com";
	u.hostkey = 1;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_USERAUTH);
	/* (the blobs point into the freed input: lengths only) */
	CHECK(m.hostbound == 1 && m.host_key_len == 7);
	/* Host-bound without the host key is not a userauth request. */
	u.hostkey = 0;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
}

static void
sshmsg_userauth_refusals(void)
{
	struct skp_sshmsg m;
	struct ua u;

	u = ua_ok; u.msg = 51;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.service = "ssh-userauth";
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.method = "password";
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.flag = 0;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.flag = 2;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.trailing = 1;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.sidlen = 0;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.sidlen = 65;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	u = ua_ok; u.user = "ro\0ot"; u.userlen = 5;
	CHECK(ua_kind(&u, &m) == SKP_SSHMSG_OTHER);
	CHECK(m.user[0] == '\0');
}

static void
sshmsg_userauth_truncated(void)
{
	struct skp_sshmsg m;
	skp_buf_t *b = userauth(&ua_ok);
	size_t n;

	for (n = 0; n < skp_buf_len(b); n++) {
		skp_sshmsg_parse(skp_buf_ptr(b), n, &m);
		CHECK(m.kind == SKP_SSHMSG_OTHER);
	}
	skp_buf_free(&b);
}

static void
sshmsg_sshsig(void)
{
	struct skp_sshmsg m;
	skp_buf_t *b = sshsig("SSHSIG", "git", "sha512", 64, 0);

	skp_sshmsg_parse(skp_buf_ptr(b), skp_buf_len(b), &m);
	skp_buf_free(&b);
	CHECK(m.kind == SKP_SSHMSG_SSHSIG);
	CHECK(strcmp(m.ns, "git") == 0 && m.hash_len == 64);
	CHECK(strcmp(m.hash_alg, "sha512") == 0);
	CHECK(sig_kind("SSHSIG", "file", "sha256", 32, 0) ==
	    SKP_SSHMSG_SSHSIG);
}

static void
sshmsg_sshsig_refusals(void)
{
	CHECK(sig_kind("SSHSIH", "git", "sha512", 64, 0) == SKP_SSHMSG_OTHER);
	CHECK(sig_kind("SSHSIG", "", "sha512", 64, 0) == SKP_SSHMSG_OTHER);
	CHECK(sig_kind("SSHSIG", "git", "md5", 16, 0) == SKP_SSHMSG_OTHER);
	CHECK(sig_kind("SSHSIG", "git", "sha512", 32, 0) == SKP_SSHMSG_OTHER);
	CHECK(sig_kind("SSHSIG", "git", "sha256", 64, 0) == SKP_SSHMSG_OTHER);
	CHECK(sig_kind("SSHSIG", "git", "sha512", 64, 1) == SKP_SSHMSG_OTHER);
}

static void
sshmsg_printable(void)
{
	char out[64];

	skp_sshmsg_printable("root", out, sizeof(out));
	CHECK(strcmp(out, "root") == 0);
	skp_sshmsg_printable("a\x1b[31mb\"\\", out, sizeof(out));
	CHECK(strcmp(out, "a\\x1b[31mb\\x22\\x5c") == 0);
	skp_sshmsg_printable("\xc3\xa9", out, sizeof(out));
	CHECK(strcmp(out, "\\xc3\\xa9") == 0);
	/* Exactly fits: 9 characters in 10 bytes. */
	skp_sshmsg_printable("123456789", out, 10);
	CHECK(strcmp(out, "123456789") == 0);
	skp_sshmsg_printable("1234567890", out, 10);
	CHECK(strcmp(out, "123456...") == 0);
	skp_sshmsg_printable("\x01\x02\x03", out, 10);
	CHECK(strcmp(out, "\\x01...") == 0);
}

/* ---- pairing payloads ---- */

static void
fill_hello(struct skp_pair_hello *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "my phone");
	memset(h->mailbox_id, 0xab, sizeof(h->mailbox_id));
	snprintf(h->relay_url, sizeof(h->relay_url), "wss://relay.example");
}

static int
decode_hex_hello(const char *hex)
{
	struct skp_pair_hello h;
	size_t n;
	uint8_t *p = skp_test_unhex(hex, &n);
	int rc = skp_pairflow_decode_hello(p, n, &h);

	free(p);
	return rc;
}

static void
payload_hello_roundtrip(void)
{
	struct skp_pair_hello h, g;
	uint8_t *p = NULL;
	size_t n;

	fill_hello(&h);
	CHECK_RC(skp_pairflow_encode_hello(&h, &p, &n), SKP_OK);
	REQUIRE(p != NULL);
	CHECK_RC(skp_pairflow_decode_hello(p, n, &g), SKP_OK);
	CHECK(memcmp(&h, &g, sizeof(h)) == 0);
	CHECK(p[0] == 0xa3);
	CHECK_RC(skp_pairflow_decode_hello(p, n - 1, &g), SKP_ERR_TRUNCATED);
	free(p);
}

/* {1: "a", 2: h'00'*32, 3: "ws://r"} and its variations, by hand. */
#define MB	"5820" "00000000000000000000000000000000" \
		"00000000000000000000000000000000"
static void
payload_hello_refusals(void)
{
	CHECK_RC(decode_hex_hello("a3" "016161" "02" MB "0366" "77733a2f2f72"),
	    SKP_OK);
	/* missing 3 */
	CHECK_RC(decode_hex_hello("a2" "0161" "61" "02" MB), SKP_ERR_FORMAT);
	/* extra key 4 */
	CHECK_RC(decode_hex_hello("a4" "016161" "02" MB "0366" "77733a2f2f72"
	    "0400"), SKP_ERR_FORMAT);
	/* out of order */
	CHECK_RC(decode_hex_hello("a3" "02" MB "016161" "0366" "77733a2f2f72"),
	    SKP_ERR_CBOR_ORDER);
	/* mailbox 31 bytes */
	CHECK(decode_hex_hello("a3" "016161" "02" "581f" "00000000000000000000"
	    "000000000000000000000000000000000000000000" "0366"
	    "77733a2f2f72") != SKP_OK);
	/* a control character in the name */
	CHECK_RC(decode_hex_hello("a3" "016107" "02" MB "0366" "77733a2f2f72"),
	    SKP_ERR_FORMAT);
	/* an http URL */
	CHECK_RC(decode_hex_hello("a3" "016161" "02" MB "0368"
	    "687474703a2f2f72"), SKP_ERR_FORMAT);
	/* the name as bytes */
	CHECK_RC(decode_hex_hello("a3" "014161" "02" MB "0366" "77733a2f2f72"),
	    SKP_ERR_CBOR_TYPE);
	/* trailing byte */
	CHECK_RC(decode_hex_hello("a3" "016161" "02" MB "0366" "77733a2f2f72"
	    "00"), SKP_ERR_TRAILING);
	/* an array */
	CHECK_RC(decode_hex_hello("83010203"), SKP_ERR_CBOR_TYPE);
	/* an empty name */
	CHECK_RC(decode_hex_hello("a3" "0160" "02" MB "0366" "77733a2f2f72"),
	    SKP_ERR_FORMAT);
}

static void
payload_hello_encode_refusals(void)
{
	struct skp_pair_hello h;
	uint8_t *p = NULL;
	size_t n;

	fill_hello(&h);
	h.name[0] = '\0';
	CHECK_RC(skp_pairflow_encode_hello(&h, &p, &n), SKP_ERR_INVALID);
	fill_hello(&h);
	snprintf(h.relay_url, sizeof(h.relay_url), "ftp://x");
	CHECK_RC(skp_pairflow_encode_hello(&h, &p, &n), SKP_ERR_INVALID);
	CHECK(p == NULL);
	CHECK_RC(skp_pairflow_encode_reply("bad\nname", &p, &n),
	    SKP_ERR_INVALID);
}

static void
payload_reply_and_confirm(void)
{
	char name[SKP_PAIRFLOW_NAME_MAX + 1];
	uint8_t *p = NULL, *q;
	size_t n, qn;

	CHECK_RC(skp_pairflow_encode_reply("laptop", &p, &n), SKP_OK);
	REQUIRE(p != NULL);
	CHECK_RC(skp_pairflow_decode_reply(p, n, name), SKP_OK);
	CHECK(strcmp(name, "laptop") == 0);
	free(p);
	p = NULL;
	CHECK_RC(skp_pairflow_encode_confirm(&p, &n), SKP_OK);
	REQUIRE(p != NULL);
	CHECK(n == 3 && memcmp(p, "\xa1\x01\xf5", 3) == 0);
	CHECK_RC(skp_pairflow_decode_confirm(p, n), SKP_OK);
	free(p);
	q = skp_test_unhex("a101f4", &qn);	/* {1: false} */
	CHECK_RC(skp_pairflow_decode_confirm(q, qn), SKP_ERR_REJECTED);
	free(q);
	q = skp_test_unhex("a10101", &qn);	/* {1: 1} */
	CHECK_RC(skp_pairflow_decode_confirm(q, qn), SKP_ERR_CBOR_TYPE);
	free(q);
	q = skp_test_unhex("a0", &qn);		/* {} */
	CHECK_RC(skp_pairflow_decode_confirm(q, qn), SKP_ERR_FORMAT);
	free(q);
	q = skp_test_unhex("a102f5", &qn);	/* {2: true} */
	CHECK_RC(skp_pairflow_decode_confirm(q, qn), SKP_ERR_FORMAT);
	free(q);
	q = skp_test_unhex("a1016141", &qn);	/* {1: "A"} */
	CHECK_RC(skp_pairflow_decode_reply(q, qn, name), SKP_OK);
	free(q);
	q = skp_test_unhex("a1014141", &qn);	/* {1: h'41'} */
	CHECK_RC(skp_pairflow_decode_reply(q, qn, name), SKP_ERR_CBOR_TYPE);
	free(q);
}

/* ---- pairing and calls without a peer ---- */

static void
make_uri(int64_t age, char *out, size_t len)
{
	struct skp_p256_key k;
	struct skp_pairuri u;

	memset(&u, 0, sizeof(u));
	if (skp_p256_generate(&k) != SKP_OK)
		abort();
	memcpy(u.computer_pub, k.pub, sizeof(u.computer_pub));
	snprintf(u.relay, sizeof(u.relay), DEAD_RELAY);
	snprintf(u.name, sizeof(u.name), "laptop");
	u.created = (uint64_t)((int64_t)time(NULL) - age);
	if (skp_pairuri_encode(&u, out, len) != SKP_OK)
		abort();
}

static void
pairflow_phone_refuses_stale_uri(void)
{
	struct skp_p256_key id;
	uint8_t mb[32] = { 0 };
	skp_pairflow_t *pf = NULL;
	char uri[SKP_PAIRURI_MAX + 1];

	REQUIRE(skp_p256_generate(&id) == SKP_OK);
	make_uri(SKP_PAIRURI_MAX_AGE + 5, uri, sizeof(uri));
	CHECK_RC(skp_pairflow_phone_new(uri, &id, "phone", mb, DEAD_RELAY, 0,
	    &pf), SKP_ERR_EXPIRED);
	CHECK(pf == NULL);
	make_uri(-(SKP_PAIRURI_MAX_AHEAD + 30), uri, sizeof(uri));
	CHECK_RC(skp_pairflow_phone_new(uri, &id, "phone", mb, DEAD_RELAY, 0,
	    &pf), SKP_ERR_EXPIRED);
	CHECK_RC(skp_pairflow_phone_new("sk-phone://pair?v=2", &id, "phone",
	    mb, DEAD_RELAY, 0, &pf), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairflow_phone_new("sk-phone://pair?v=1", &id, "phone",
	    mb, DEAD_RELAY, 0, &pf), SKP_ERR_OLD_VERSION);
	make_uri(10, uri, sizeof(uri));
	CHECK_RC(skp_pairflow_phone_new(uri, &id, "", mb, DEAD_RELAY, 0, &pf),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_pairflow_phone_new(uri, &id, "phone", mb, "mailto:x", 0,
	    &pf), SKP_ERR_INVALID);
	CHECK_RC(skp_pairflow_phone_new(uri, &id, "phone", mb, DEAD_RELAY, 0,
	    &pf), SKP_OK);
	skp_pairflow_free(&pf);
	CHECK(pf == NULL);
}

static void
pairflow_out_of_order(void)
{
	struct skp_pair_peer peer;
	struct skp_p256_key id;
	struct skp_pairuri u;
	skp_pairflow_t *pf = NULL;
	const char *uri;

	REQUIRE(skp_p256_generate(&id) == SKP_OK);
	CHECK_RC(skp_pairflow_computer_new(&id, "bad\tname", DEAD_RELAY, &pf),
	    SKP_ERR_INVALID);
	REQUIRE(skp_pairflow_computer_new(&id, "laptop", DEAD_RELAY, &pf) ==
	    SKP_OK);
	uri = skp_pairflow_uri(pf);
	REQUIRE(uri != NULL);
	CHECK_RC(skp_pairuri_parse(uri, strlen(uri), &u), SKP_OK);
	CHECK(memcmp(u.computer_pub, id.pub, sizeof(id.pub)) == 0);
	CHECK(strcmp(u.name, "laptop") == 0);
	skp_pairuri_clear(&u);
	CHECK(skp_pairflow_code(pf) == NULL);
	CHECK(skp_pairflow_peer_name(pf) == NULL);
	CHECK_RC(skp_pairflow_finish(pf, 1, 1000, &peer), SKP_ERR_STATE);
	CHECK_RC(skp_pairflow_handshake(pf, 0), SKP_ERR_INVALID);
	skp_pairflow_free(&pf);
}

static void
pairflow_relay_unreachable(void)
{
	struct skp_p256_key id;
	skp_pairflow_t *pf = NULL;
	time_t t0 = time(NULL);

	REQUIRE(skp_p256_generate(&id) == SKP_OK);
	REQUIRE(skp_pairflow_computer_new(&id, "laptop", DEAD_RELAY, &pf) ==
	    SKP_OK);
	CHECK_RC(skp_pairflow_handshake(pf, 3000), SKP_ERR_NETWORK);
	CHECK(time(NULL) - t0 <= 4);
	/* A flow that failed is over. */
	CHECK_RC(skp_pairflow_handshake(pf, 3000), SKP_ERR_STATE);
	skp_pairflow_free(&pf);
}

/* The line after a retry in the phone's time: whole seconds, rounded. */
static void
call_clock_text(void)
{
	char line[512];

	skp_call_clock_text("pixel", 300499, line, sizeof(line));
	CHECK(strcmp(line, "this computer's clock and phone 'pixel' differ "
	    "by 300 s (the phone is ahead); the request was sent again in the "
	    "phone's time. Set the clocks right (NTP) to save a round "
	    "trip.") == 0);
	skp_call_clock_text("pixel", -300500, line, sizeof(line));
	CHECK(strstr(line, "differ by 301 s (the phone is behind)") != NULL);
	skp_call_clock_text("pixel", -INT64_MAX, line, sizeof(line));
	CHECK(strstr(line, "differ by 9223372036854776 s (the phone is "
	    "behind)") != NULL);
}

static void
call_refusals(void)
{
	struct skp_call_response resp;
	struct skp_call_phone cp;
	struct skp_p256_key id, ph;
	uint8_t mb[32] = { 0 }, psk[32] = { 0 }, req[16] = { 0 };
	uint8_t *big;

	REQUIRE(skp_p256_generate(&id) == SKP_OK);
	REQUIRE(skp_p256_generate(&ph) == SKP_OK);
	memset(&cp, 0, sizeof(cp));
	cp.name = "phone";
	cp.relay_url = DEAD_RELAY;
	cp.static_pub = ph.pub;
	cp.mailbox_id = mb;
	cp.request_psk = psk;
	cp.pin = NULL;
	cp.ca_file = NULL;
	cp.offline_ms = 0;
	CHECK_RC(skp_call(&cp, &id, req, sizeof(req), 3000, NULL, NULL,
	    &resp), SKP_ERR_NETWORK);
	CHECK(resp.ctap == NULL && resp.status == 0);
	CHECK_RC(skp_call(&cp, &id, req, 0, 3000, NULL, NULL, &resp),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_call(&cp, &id, req, sizeof(req), 0, NULL, NULL, &resp),
	    SKP_ERR_INVALID);
	REQUIRE((big = calloc(1, SKP_CALL_REQUEST_MAX + 1)) != NULL);
	CHECK_RC(skp_call(&cp, &id, big, SKP_CALL_REQUEST_MAX + 1, 3000, NULL,
	    NULL, &resp), SKP_ERR_TOO_LARGE);
	free(big);
	skp_call_response_clear(&resp);
	skp_call_response_clear(NULL);
}

/* ---- phone state ---- */

static struct skp_phstate *
open_state(const char *dir)
{
	struct skp_phstate *st = NULL;
	char why[SKP_PH_WHY_MAX];

	if (skp_phstate_open(dir, NULL, 1, &st, why, sizeof(why)) != SKP_OK) {
		fprintf(stderr, "%s\n", why);
		return NULL;
	}
	return st;
}

static void
add_cred(struct skp_phstate *st, uint8_t idbyte, struct skp_ph_cred *out)
{
	struct skp_ph_cred c;

	memset(&c, 0, sizeof(c));
	memset(c.id, idbyte, sizeof(c.id));
	snprintf(c.rp, sizeof(c.rp), "ssh:");
	c.cred_protect = 1;
	if (skp_p256_generate(&c.key) != SKP_OK ||
	    skp_phstate_cred_add(st, &c, NULL, 0) != SKP_OK)
		abort();
	if (out != NULL)
		*out = c;
}

static void
phstate_create_and_reopen(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	struct stat sb;
	char path[400];

	REQUIRE((st = open_state(dir)) != NULL);
	CHECK(!st->have_identity);
	CHECK_RC(skp_phstate_identity_set(st, "phone", "ws://r", NULL, 0),
	    SKP_OK);
	CHECK(st->have_identity);
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	snprintf(path, sizeof(path), "%s/identity", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	snprintf(path, sizeof(path), "%s/masterkey", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	REQUIRE((st2 = open_state(dir)) != NULL);
	CHECK(st2->have_identity);
	CHECK(memcmp(st->identity.pub, st2->identity.pub, 65) == 0);
	CHECK(memcmp(st->mailbox_id, st2->mailbox_id, 32) == 0);
	CHECK(strcmp(st2->relay, "ws://r") == 0);
	CHECK_RC(skp_phstate_identity_set(st, "bad\x01", NULL, NULL, 0),
	    SKP_ERR_INVALID);
	skp_phstate_free(&st);
	skp_phstate_free(&st2);
	CHECK(st == NULL);
}

/*
 * identity key 4 a relay list (PROTOCOL.md §8.7): an array of 2-4 URLs
 * read and written back as it was; one URL stays a text (what older
 * phones read); saved lists survive a reopen.
 */
static void
phstate_relay_list(void)
{
	static const char k1[] = "58200102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f20";
	static const char k5[] = "0558202122232425262728292a2b2c2d2e2f"
	    "303132333435363738393a3b3c3d3e3f40";
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	char hex[512];
	uint8_t *b;
	size_t n;

	snprintf(hex, sizeof(hex), "a401%s036170048266""77733a2f2f61"
	    "6677733a2f2f62%s", k1, k5);
	b = skp_test_unhex(hex, &n);
	REQUIRE((st = open_state(dir)) != NULL);
	CHECK_RC(skp_phstate_decode_identity(st, b, n), SKP_OK);
	CHECK(strcmp(st->relay, "ws://a ws://b") == 0);
	free(b);
	/* An array of one, or with a URL twice: damaged. */
	snprintf(hex, sizeof(hex), "a401%s036170048166""77733a2f2f61%s", k1,
	    k5);
	b = skp_test_unhex(hex, &n);
	CHECK(skp_phstate_decode_identity(st, b, n) != SKP_OK);
	free(b);
	snprintf(hex, sizeof(hex), "a401%s036170048266""77733a2f2f61"
	    "6677733a2f2f61%s", k1, k5);
	b = skp_test_unhex(hex, &n);
	CHECK(skp_phstate_decode_identity(st, b, n) != SKP_OK);
	free(b);
	skp_phstate_free(&st);
	REQUIRE((st = open_state(dir)) != NULL);
	CHECK_RC(skp_phstate_identity_set(st, "phone", "ws://r ws://s:2/p",
	    NULL, 0), SKP_OK);
	REQUIRE((st2 = open_state(dir)) != NULL);
	CHECK(strcmp(st2->relay, "ws://r ws://s:2/p") == 0);
	skp_phstate_free(&st2);
	CHECK_RC(skp_phstate_identity_set(st, NULL, "ws://r ws://r", NULL, 0),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_phstate_identity_set(st, NULL, "ws://r", NULL, 0),
	    SKP_OK);
	REQUIRE((st2 = open_state(dir)) != NULL);
	CHECK(strcmp(st2->relay, "ws://r") == 0);
	skp_phstate_free(&st2);
	skp_phstate_free(&st);
}

static void
phstate_folder_open_to_others(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st = NULL;
	char why[SKP_PH_WHY_MAX];

	REQUIRE((st = open_state(dir)) != NULL);
	skp_phstate_free(&st);
	REQUIRE(chmod(dir, 0755) == 0);
	CHECK_RC(skp_phstate_open(dir, NULL, 0, &st, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(strstr(why, "chmod") != NULL);
	CHECK_RC(skp_phstate_open("/nonexistent/skp", NULL, 0, &st, why,
	    sizeof(why)), SKP_ERR_NOT_FOUND);
}

static void
phstate_seal(void)
{
	uint8_t key[32], *s = NULL, *p = NULL;
	size_t sn, pn;

	memset(key, 3, sizeof(key));
	REQUIRE(skp_phstate_seal(key, "computers", (const uint8_t *)"\xa0", 1,
	    &s, &sn) == SKP_OK);
	CHECK_RC(skp_phstate_open_sealed(key, "computers", s, sn, &p, &pn),
	    SKP_OK);
	CHECK(pn == 1 && p != NULL && p[0] == 0xa0);
	free(p);
	p = NULL;
	/* Another file's name: not this file. */
	CHECK_RC(skp_phstate_open_sealed(key, "seen", s, sn, &p, &pn),
	    SKP_ERR_DECRYPT);
	s[sn - 1] ^= 1;
	CHECK_RC(skp_phstate_open_sealed(key, "computers", s, sn, &p, &pn),
	    SKP_ERR_DECRYPT);
	s[sn - 1] ^= 1;
	key[0] ^= 1;
	CHECK_RC(skp_phstate_open_sealed(key, "computers", s, sn, &p, &pn),
	    SKP_ERR_DECRYPT);
	CHECK(p == NULL);
	free(s);
}

static void
phstate_replay_cache(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	uint8_t id[16], id2[16];

	memset(id, 1, sizeof(id));
	memset(id2, 2, sizeof(id2));
	REQUIRE((st = open_state(dir)) != NULL);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, 1000000, 1000000, 600000,
	    NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, 1000000, 1000001, 600000,
	    NULL, 0), SKP_ERR_REPLAY);
	/* Another process (a restart) sees it too. */
	REQUIRE((st2 = open_state(dir)) != NULL);
	CHECK_RC(skp_phstate_seen_add(st2, NULL, id, 1000000, 1500000,
	    600000, NULL, 0), SKP_ERR_REPLAY);
	CHECK_RC(skp_phstate_seen_add(st2, NULL, id2, 1500000, 1500000,
	    600000, NULL, 0), SKP_OK);
	/* Past the window on both clocks it is forgotten. */
	st->mono_skew_ms = 600001;
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, 1600001, 1600001, 600000,
	    NULL, 0), SKP_OK);
	CHECK(st->nseen == 2);
	skp_phstate_free(&st);
	skp_phstate_free(&st2);
}

/* A wall clock set forward or back forgets no id early. */
static void
phstate_replay_clock_jumps(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st;
	uint8_t id[16], *p;
	size_t n;
	const uint64_t t = 1700000000000ull, hour = 3600000;

	memset(id, 3, sizeof(id));
	REQUIRE((st = open_state(dir)) != NULL);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, t, t, 600000, NULL, 0),
	    SKP_OK);
	/* The wall clock jumps an hour ahead: the boot clock has not. */
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, t, t + hour, 600000,
	    NULL, 0), SKP_ERR_REPLAY);
	/* Ten boot-clock minutes on, the wall clock set back an hour. */
	st->mono_skew_ms = 600001;
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, t, t - hour, 600000,
	    NULL, 0), SKP_ERR_REPLAY);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, t, t + 599999, 600000,
	    NULL, 0), SKP_ERR_REPLAY);
	/* Both clocks past the window: forgotten. */
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, t, t + 600000, 600000,
	    NULL, 0), SKP_OK);
	/*
	 * A file from another boot (boot id 11..11, boot clock 0): its ids
	 * are kept as if seen at this load, whatever the wall clock says.
	 */
	p = skp_test_unhex("a2018" "1" "a5015003030303030303030303030303030303"
	    "021b0000018bcfe56800" "031b0000018bcfe56800" "0400"
	    "05480000000000000000"
	    "025011111111111111111111111111111111", &n);
	CHECK_RC(skp_phstate_decode_seen(st, p, n), SKP_OK);
	CHECK(st->nseen == 1 && st->seen[0].mono_ms >= 600001);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, t, t + hour, 600000,
	    NULL, 0), SKP_ERR_REPLAY);
	free(p);
	/* An older phone's entry {1: id, 2: time}: read, kept the same. */
	p = skp_test_unhex("a1018" "1" "a2015003030303030303030303030303030303"
	    "021b0000018bcfe56800", &n);
	CHECK_RC(skp_phstate_decode_seen(st, p, n), SKP_OK);
	CHECK(st->nseen == 1 && st->seen[0].req_ms == t &&
	    st->seen[0].mono_ms >= 600001);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, t, t + hour, 600000,
	    NULL, 0), SKP_ERR_REPLAY);
	free(p);
	skp_phstate_free(&st);
}

/* One computer filling its share neither evicts nor blocks another. */
static void
phstate_replay_shares(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st;
	struct skp_ph_computer a, b;
	struct skp_p256_key k;
	uint8_t id[16];
	size_t i;

	REQUIRE((st = open_state(dir)) != NULL);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	snprintf(a.name, sizeof(a.name), "a");
	snprintf(b.name, sizeof(b.name), "b");
	REQUIRE(skp_p256_generate(&k) == SKP_OK);
	memcpy(a.pub, k.pub, sizeof(a.pub));
	REQUIRE(skp_p256_generate(&k) == SKP_OK);
	memcpy(b.pub, k.pub, sizeof(b.pub));
	skp_wipe(&k, sizeof(k));
	REQUIRE(skp_phstate_computer_put(st, &a, NULL, 0) == SKP_OK);
	REQUIRE(skp_phstate_computer_put(st, &b, NULL, 0) == SKP_OK);
	memset(id, 0xbb, sizeof(id));
	CHECK_RC(skp_phstate_seen_add(st, &b, id, 1000000, 1000000, 600000,
	    NULL, 0), SKP_OK);
	for (i = 0; i < SKP_PH_SEEN_SHARE; i++) {
		memset(id, 0, sizeof(id));
		memcpy(id, &i, sizeof(i));
		REQUIRE(skp_phstate_seen_add(st, &a, id, 1000000, 1000001,
		    600000, NULL, 0) == SKP_OK);
	}
	/* a's share is full: a is refused, b's id is still there. */
	memset(id, 0x77, sizeof(id));
	CHECK_RC(skp_phstate_seen_add(st, &a, id, 1000000, 1000002, 600000,
	    NULL, 0), SKP_ERR_LIMIT);
	CHECK(skp_phstate_seen_count(st, &a) == SKP_PH_SEEN_SHARE);
	CHECK(skp_phstate_seen_count(st, &b) == 1);
	memset(id, 0xbb, sizeof(id));
	CHECK_RC(skp_phstate_seen_add(st, &b, id, 1000000, 1000003, 600000,
	    NULL, 0), SKP_ERR_REPLAY);
	memset(id, 0xbc, sizeof(id));
	CHECK_RC(skp_phstate_seen_add(st, &b, id, 1000000, 1000004, 600000,
	    NULL, 0), SKP_OK);
	/* a unpaired: its ids go at the next write, b's stay. */
	REQUIRE(skp_phstate_computer_remove(st, "a", NULL, 0) == SKP_OK);
	memset(id, 0xbd, sizeof(id));
	CHECK_RC(skp_phstate_seen_add(st, &b, id, 1000000, 1000005, 600000,
	    NULL, 0), SKP_OK);
	CHECK(skp_phstate_seen_count(st, &a) == 0);
	CHECK(skp_phstate_seen_count(st, &b) == 3);
	skp_phstate_free(&st);
}

static void
phstate_counters(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	struct skp_ph_cred c, *cp;
	uint8_t missing[16];
	uint32_t v = 0, i;

	REQUIRE((st = open_state(dir)) != NULL);
	add_cred(st, 0x11, &c);
	add_cred(st, 0x22, NULL);
	for (i = 1; i <= 3; i++) {
		CHECK_RC(skp_phstate_counter_next(st, c.id, &v, NULL, 0),
		    SKP_OK);
		CHECK(v == i);
	}
	REQUIRE((st2 = open_state(dir)) != NULL);
	CHECK_RC(skp_phstate_counter_next(st2, c.id, &v, NULL, 0), SKP_OK);
	CHECK(v == 4);
	CHECK_RC(skp_phstate_counter_next(st, c.id, &v, NULL, 0), SKP_OK);
	CHECK(v == 5);
	memset(missing, 0x33, sizeof(missing));
	CHECK_RC(skp_phstate_counter_next(st, missing, &v, NULL, 0),
	    SKP_ERR_NOT_FOUND);
	/* The other credential keeps its own counter. */
	memset(missing, 0x22, sizeof(missing));
	CHECK_RC(skp_phstate_counter_next(st, missing, &v, NULL, 0), SKP_OK);
	CHECK(v == 1);
	/* The key itself survives the trip to disk. */
	REQUIRE((cp = skp_phstate_cred_find(st2, c.id, 16)) != NULL);
	CHECK(memcmp(cp->key.priv, c.key.priv, 32) == 0);
	CHECK_RC(skp_phstate_cred_remove(st, c.id, NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_counter_next(st2, c.id, &v, NULL, 0),
	    SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_phstate_cred_remove(st, c.id, NULL, 0),
	    SKP_ERR_NOT_FOUND);
	skp_phstate_free(&st);
	skp_phstate_free(&st2);
}

/*
 * Unchanged files are not decoded again: what another process wrote must
 * still be seen, and counters must survive a change of the credentials
 * file alone (they are decoded into the credentials).
 */
static void
phstate_reload_sees_other_writers(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	struct skp_ph_cred c, *cp;
	uint8_t id[16];
	uint32_t v = 0, i;

	REQUIRE((st = open_state(dir)) != NULL);
	REQUIRE((st2 = open_state(dir)) != NULL);
	add_cred(st, 0x11, &c);
	for (i = 1; i <= 3; i++)
		REQUIRE(skp_phstate_counter_next(st, c.id, &v, NULL, 0) ==
		    SKP_OK);
	CHECK_RC(skp_phstate_reload(st, NULL, 0), SKP_OK);
	REQUIRE((cp = skp_phstate_cred_find(st, c.id, 16)) != NULL);
	CHECK(cp->counter == 3);
	/* Only the credentials file changes. */
	CHECK_RC(skp_phstate_reload(st2, NULL, 0), SKP_OK);
	add_cred(st2, 0x22, NULL);
	CHECK_RC(skp_phstate_reload(st, NULL, 0), SKP_OK);
	CHECK(st->ncreds == 2);
	REQUIRE((cp = skp_phstate_cred_find(st, c.id, 16)) != NULL);
	CHECK(cp->counter == 3);
	CHECK_RC(skp_phstate_counter_next(st, c.id, &v, NULL, 0), SKP_OK);
	CHECK(v == 4);
	/* The other's replay entry and counter reach this one. */
	memset(id, 9, sizeof(id));
	CHECK_RC(skp_phstate_seen_add(st2, NULL, id, 1000000, 1000000, 600000,
	    NULL, 0),
	    SKP_OK);
	CHECK_RC(skp_phstate_counter_next(st2, c.id, &v, NULL, 0), SKP_OK);
	CHECK(v == 5);
	CHECK_RC(skp_phstate_reload(st, NULL, 0), SKP_OK);
	CHECK(st->nseen == 1);
	REQUIRE((cp = skp_phstate_cred_find(st, c.id, 16)) != NULL);
	CHECK(cp->counter == 5);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, 1000001, 1000001, 600000,
	    NULL, 0),
	    SKP_ERR_REPLAY);
	/* Removed elsewhere: gone here too. */
	CHECK_RC(skp_phstate_cred_remove(st2, c.id, NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_reload(st, NULL, 0), SKP_OK);
	CHECK(skp_phstate_cred_find(st, c.id, 16) == NULL);
	skp_phstate_free(&st);
	skp_phstate_free(&st2);
}

/* The computer's window holds the namespaces approved under it. */
static void
phstate_window_namespaces(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	struct skp_ph_computer c, *cp;
	struct skp_p256_key k;
	char ns[16];
	int i;

	REQUIRE((st = open_state(dir)) != NULL);
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "laptop");
	REQUIRE(skp_p256_generate(&k) == SKP_OK);
	memcpy(c.pub, k.pub, sizeof(c.pub));
	skp_wipe(&k, sizeof(k));
	REQUIRE(skp_phstate_computer_put(st, &c, NULL, 0) == SKP_OK);
	/* "w" on a login: a window with no namespace. */
	CHECK_RC(skp_phstate_window_set(st, "laptop", 2000, NULL, 1000, NULL,
	    0), SKP_OK);
	REQUIRE((cp = skp_phstate_computer_find(st, "laptop")) != NULL);
	CHECK(cp->window_until == 2000 && cp->nwin_ns == 0);
	CHECK(!skp_phstate_window_covers_ns(cp, "git", 1500));
	/* "w" on a git signature: git only. */
	CHECK_RC(skp_phstate_window_set(st, "laptop", 2100, "git", 1100, NULL,
	    0), SKP_OK);
	CHECK(skp_phstate_window_covers_ns(cp, "git", 1500));
	CHECK(!skp_phstate_window_covers_ns(cp, "file", 1500));
	CHECK(!skp_phstate_window_covers_ns(cp, "git", 2100));
	CHECK_RC(skp_phstate_window_set(st, "laptop", 2200, "file", 1200,
	    NULL, 0), SKP_OK);
	CHECK(cp->nwin_ns == 2);
	/* On disk, and read back by another process. */
	REQUIRE((st2 = open_state(dir)) != NULL);
	REQUIRE((cp = skp_phstate_computer_find(st2, "laptop")) != NULL);
	CHECK(cp->nwin_ns == 2 && strcmp(cp->win_ns[0], "git") == 0 &&
	    strcmp(cp->win_ns[1], "file") == 0 && cp->window_until == 2200);
	skp_phstate_free(&st2);
	/* A ninth pushes out the first. */
	for (i = 0; i < SKP_PH_WIN_NS - 1; i++) {
		snprintf(ns, sizeof(ns), "ns%d", i);
		CHECK_RC(skp_phstate_window_set(st, "laptop", 2200, ns, 1300,
		    NULL, 0), SKP_OK);
	}
	REQUIRE((cp = skp_phstate_computer_find(st, "laptop")) != NULL);
	CHECK(cp->nwin_ns == SKP_PH_WIN_NS);
	CHECK(!skp_phstate_window_covers_ns(cp, "git", 1500));
	CHECK(skp_phstate_window_covers_ns(cp, "file", 1500));
	/* Past its time, a new window starts empty. */
	CHECK_RC(skp_phstate_window_set(st, "laptop", 9000, "x", 5000, NULL,
	    0), SKP_OK);
	CHECK(cp->nwin_ns == 1 && strcmp(cp->win_ns[0], "x") == 0);
	CHECK_RC(skp_phstate_window_set(st, "laptop", 9000, "", 5000, NULL,
	    0), SKP_ERR_INVALID);
	skp_phstate_free(&st);
}

/* What was decoded straight into the state is not mistaken for the disk. */
static void
phstate_reload_after_direct_decode(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st;
	struct skp_ph_cred c;
	uint8_t id[16], *p;
	size_t n;

	REQUIRE((st = open_state(dir)) != NULL);
	add_cred(st, 0x11, &c);
	memset(id, 9, sizeof(id));
	REQUIRE(skp_phstate_seen_add(st, NULL, id, 1000000, 1000000, 600000,
	    NULL, 0) == SKP_OK);
	p = skp_test_unhex("a10180", &n);
	CHECK_RC(skp_phstate_decode_seen(st, p, n), SKP_OK);
	CHECK_RC(skp_phstate_decode_creds(st, p, n), SKP_OK);
	CHECK(st->nseen == 0 && st->ncreds == 0);
	CHECK_RC(skp_phstate_reload(st, NULL, 0), SKP_OK);
	CHECK(st->nseen == 1);
	CHECK(st->ncreds == 1);
	CHECK_RC(skp_phstate_seen_add(st, NULL, id, 1000001, 1000001, 600000,
	    NULL, 0),
	    SKP_ERR_REPLAY);
	free(p);
	skp_phstate_free(&st);
}

static void
phstate_counter_end(void)
{
	struct skp_phstate *st;
	uint8_t *p, *sealed = NULL;
	uint32_t v = 0;
	size_t n, sn;
	const char *dir = fresh_dir();
	struct skp_ph_cred c;

	REQUIRE((st = open_state(dir)) != NULL);
	add_cred(st, 0x44, &c);
	/* {1: [{1: id, 2: 0xffffffff}]}, sealed as the phone would. */
	p = skp_test_unhex("a10181a20150" "4444444444444444"
	    "4444444444444444" "021affffffff", &n);
	CHECK_RC(skp_phstate_decode_counters(st, p, n), SKP_OK);
	CHECK(st->creds[0].counter == UINT32_MAX);
	REQUIRE(skp_phstate_seal(st->key, "counters", p, n, &sealed, &sn) ==
	    SKP_OK);
	REQUIRE(skp_store_write(dir, "counters", sealed, sn, 0, NULL, 0) ==
	    SKP_OK);
	CHECK_RC(skp_phstate_counter_next(st, c.id, &v, NULL, 0),
	    SKP_ERR_LIMIT);
	CHECK(v == 0);
	free(p);
	free(sealed);
	skp_phstate_free(&st);
}

static void
phstate_decode_refusals(void)
{
	struct skp_phstate *st;
	struct skp_p256_key k, k2;
	skp_buf_t *b;
	uint8_t *p;
	size_t n;

	REQUIRE((st = calloc(1, sizeof(*st))) != NULL);
	REQUIRE(skp_p256_generate(&k) == SKP_OK);
	REQUIRE(skp_p256_generate(&k2) == SKP_OK);
	/* computers: two with one name */
	b = skp_buf_new(2048);
	REQUIRE(b != NULL);
	p = skp_test_unhex("a10182", &n);
	CHECK(skp_buf_put(b, p, n) == SKP_OK);
	free(p);
	for (n = 0; n < 2; n++) {
		uint8_t head[] = { 0xa5, 0x01, 0x61, 'a', 0x02, 0x58, 65 };
		uint8_t mid[] = { 0x03, 0x58, 32 };
		uint8_t psk[32] = { 0 };
		uint8_t tail[] = { 0x04, 0x00, 0x05, 0x00 };

		CHECK(skp_buf_put(b, head, sizeof(head)) == SKP_OK);
		CHECK(skp_buf_put(b, n == 0 ? k.pub : k2.pub, 65) == SKP_OK);
		CHECK(skp_buf_put(b, mid, sizeof(mid)) == SKP_OK);
		CHECK(skp_buf_put(b, psk, sizeof(psk)) == SKP_OK);
		CHECK(skp_buf_put(b, tail, sizeof(tail)) == SKP_OK);
	}
	CHECK_RC(skp_phstate_decode_computers(st, skp_buf_ptr(b),
	    skp_buf_len(b)), SKP_ERR_FORMAT);
	CHECK(st->ncomputers == 0);
	skp_buf_free(&b);
	/* not the one list */
	p = skp_test_unhex("a20180" "0280", &n);
	CHECK_RC(skp_phstate_decode_creds(st, p, n), SKP_ERR_FORMAT);
	free(p);
	p = skp_test_unhex("a101a0", &n);
	CHECK_RC(skp_phstate_decode_seen(st, p, n), SKP_ERR_CBOR_TYPE);
	free(p);
	p = skp_test_unhex("a10180", &n);
	CHECK_RC(skp_phstate_decode_creds(st, p, n), SKP_OK);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_ERR_CBOR_TYPE);
	free(p);
	skp_phstate_free(&st);
}

/* A protocol 1 identity (key 2, the mailbox secret) is read with a new
 * mailbox key; a protocol 2 one (key 5) as it is; both or neither: no. */
static void
phstate_identity_mailbox_versions(void)
{
	struct skp_phstate *st = calloc(1, sizeof(*st));
	uint8_t id[32], want[32];
	uint8_t *p;
	size_t n;

	CHECK(st != NULL);
	p = skp_test_unhex("a4015820010101010101010101010101010101010101010101010101"
	    "01010101010101010258200202020202020202020202020202020202"
	    "020202020202020202020202020202036570686f6e650460", &n);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_OK);
	free(p);
	CHECK(st->mailbox_migrated == 1);
	CHECK_RC(skp_relay_mailbox_id(st->mailbox_key.pub, id), SKP_OK);
	CHECK(memcmp(id, st->mailbox_id, 32) == 0);
	memcpy(want, st->mailbox_id, 32);
	p = skp_test_unhex("a4015820010101010101010101010101010101010101010101010101"
	    "0101010101010101036570686f6e6504600558200505050505050505"
	    "050505050505050505050505050505050505050505050505", &n);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_OK);
	free(p);
	CHECK(st->mailbox_migrated == 0);
	memset(id, 0x05, sizeof(id));
	CHECK(memcmp(st->mailbox_key.priv, id, 32) == 0);
	CHECK(memcmp(st->mailbox_id, want, 32) != 0);
	p = skp_test_unhex("a5015820010101010101010101010101010101010101010101010101"
	    "01010101010101010258200202020202020202020202020202020202"
	    "020202020202020202020202020202036570686f6e65046005582005"
	    "05050505050505050505050505050505050505050505050505050505"
	    "050505", &n);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_ERR_FORMAT);
	free(p);
	p = skp_test_unhex("a3015820010101010101010101010101010101010101010101010101"
	    "0101010101010101036570686f6e650460", &n);
	CHECK(skp_phstate_decode_identity(st, p, n) != SKP_OK);
	free(p);
	skp_phstate_free(&st);
}

/*
 * Identity key 6 (the mailbox before a rotation) and computers key 7 (not
 * yet told): files without them (written before) read as no rotation;
 * key 6 must differ from key 5 and is not allowed beside protocol 1's
 * key 2; key 7 is true or absent.
 */
static void
phstate_rotation_fields(void)
{
	struct skp_phstate *st = calloc(1, sizeof(*st));
	struct skp_p256_key ok;
	uint8_t id[32], priv[32];
	uint8_t *p;
	size_t n;

	REQUIRE(st != NULL);
	p = skp_test_unhex(
	    "a4015820010101010101010101010101010101010101010101010101"
	    "0101010101010101036570686f6e6504600558200505050505050505"
	    "050505050505050505050505050505050505050505050505", &n);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_OK);
	free(p);
	CHECK(st->have_old_mailbox == 0);
	/* The same with 6: 0x06 x 32. */
	p = skp_test_unhex(
	    "a5015820010101010101010101010101010101010101010101010101"
	    "0101010101010101036570686f6e6504600558200505050505050505"
	    "05050505050505050505050505050505050505050505050506582006"
	    "06060606060606060606060606060606060606060606060606060606"
	    "060606", &n);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_OK);
	free(p);
	memset(priv, 0x06, sizeof(priv));
	CHECK(st->have_old_mailbox == 1 &&
	    memcmp(st->old_mailbox_key.priv, priv, 32) == 0);
	REQUIRE(skp_p256_from_private(priv, &ok) == SKP_OK);
	CHECK_RC(skp_relay_mailbox_id(ok.pub, id), SKP_OK);
	CHECK(memcmp(id, st->old_mailbox_id, 32) == 0);
	CHECK(memcmp(id, st->mailbox_id, 32) != 0);
	skp_wipe(&ok, sizeof(ok));
	/* 6 equal to 5, 6 not bytes, 6 beside protocol 1's 2. */
	p = skp_test_unhex(
	    "a5015820010101010101010101010101010101010101010101010101"
	    "0101010101010101036570686f6e6504600558200505050505050505"
	    "05050505050505050505050505050505050505050505050506582005"
	    "05050505050505050505050505050505050505050505050505050505"
	    "050505", &n);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_ERR_FORMAT);
	free(p);
	p = skp_test_unhex(
	    "a5015820010101010101010101010101010101010101010101010101"
	    "0101010101010101036570686f6e6504600558200505050505050505"
	    "0505050505050505050505050505050505050505050505050601", &n);
	CHECK(skp_phstate_decode_identity(st, p, n) != SKP_OK);
	free(p);
	p = skp_test_unhex(
	    "a5015820010101010101010101010101010101010101010101010101"
	    "01010101010101010258200202020202020202020202020202020202"
	    "020202020202020202020202020202036570686f6e65046006582006"
	    "06060606060606060606060606060606060606060606060606060606"
	    "060606", &n);
	CHECK_RC(skp_phstate_decode_identity(st, p, n), SKP_ERR_FORMAT);
	free(p);
	skp_phstate_free(&st);
}

static struct skp_phstate *
rotation_state(const char *dir, size_t ncomputers)
{
	struct skp_phstate *st;
	struct skp_ph_computer c;
	struct skp_p256_key k;
	size_t i;

	if ((st = open_state(dir)) == NULL ||
	    skp_phstate_identity_set(st, "p", "ws://127.0.0.1:1", NULL, 0) !=
	    SKP_OK)
		abort();
	for (i = 0; i < ncomputers; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "c%zu", i);
		if (skp_p256_generate(&k) != SKP_OK)
			abort();
		memcpy(c.pub, k.pub, sizeof(c.pub));
		skp_wipe(&k, sizeof(k));
		if (skp_phstate_computer_put(st, &c, NULL, 0) != SKP_OK)
			abort();
	}
	return st;
}

/* rotate, told, finish: on disk, read back by another open. */
static void
phstate_mailbox_rotation(void)
{
	const char *dir;
	struct skp_phstate *st, *st2 = NULL;
	uint8_t before[32];
	char why[SKP_PH_WHY_MAX];
	int dropped = -1;

	dir = fresh_dir();
	st = rotation_state(dir, 2);
	memcpy(before, st->mailbox_id, 32);
	CHECK_RC(skp_phstate_mailbox_rotate(st, why, sizeof(why)), SKP_OK);
	CHECK(memcmp(st->mailbox_id, before, 32) != 0);
	CHECK(st->have_old_mailbox &&
	    memcmp(st->old_mailbox_id, before, 32) == 0);
	CHECK(skp_phstate_mailbox_untold(st) == 2);
	/* Another process sees the same. */
	REQUIRE(skp_phstate_open(dir, NULL, 0, &st2, why, sizeof(why)) ==
	    SKP_OK);
	CHECK(st2->have_old_mailbox &&
	    memcmp(st2->old_mailbox_id, before, 32) == 0 &&
	    memcmp(st2->mailbox_id, st->mailbox_id, 32) == 0 &&
	    skp_phstate_mailbox_untold(st2) == 2);
	skp_phstate_free(&st2);
	CHECK_RC(skp_phstate_mailbox_rotate(st, why, sizeof(why)),
	    SKP_ERR_EXISTS);
	CHECK(strstr(why, "--finish") != NULL);
	/* A call that came to the old mailbox tells nothing. */
	CHECK_RC(skp_phstate_mailbox_told(st, "c1", before, &dropped, NULL,
	    0), SKP_OK);
	CHECK(dropped == 0 && skp_phstate_mailbox_untold(st) == 2);
	CHECK_RC(skp_phstate_mailbox_told(st, "c1", st->mailbox_id, &dropped,
	    NULL, 0),
	    SKP_OK);
	CHECK(dropped == 0 && st->have_old_mailbox &&
	    skp_phstate_mailbox_untold(st) == 1 &&
	    st->computers[0].tell_mailbox && !st->computers[1].tell_mailbox);
	/* Told twice, or an unknown name: nothing changes. */
	CHECK_RC(skp_phstate_mailbox_told(st, "c1", st->mailbox_id, &dropped,
	    NULL, 0),
	    SKP_OK);
	CHECK_RC(skp_phstate_mailbox_told(st, "nobody", st->mailbox_id,
	    &dropped, NULL, 0),
	    SKP_OK);
	CHECK(dropped == 0 && skp_phstate_mailbox_untold(st) == 1);
	CHECK_RC(skp_phstate_mailbox_told(st, "c0", st->mailbox_id, &dropped,
	    NULL, 0),
	    SKP_OK);
	CHECK(dropped == 1 && !st->have_old_mailbox &&
	    skp_phstate_mailbox_untold(st) == 0);
	REQUIRE(skp_phstate_open(dir, NULL, 0, &st2, why, sizeof(why)) ==
	    SKP_OK);
	CHECK(!st2->have_old_mailbox && skp_phstate_mailbox_untold(st2) == 0);
	skp_phstate_free(&st2);
	/* --finish drops a pending rotation at once. */
	CHECK_RC(skp_phstate_mailbox_rotate(st, why, sizeof(why)), SKP_OK);
	CHECK(st->have_old_mailbox && skp_phstate_mailbox_untold(st) == 2);
	CHECK_RC(skp_phstate_mailbox_finish(st, why, sizeof(why)), SKP_OK);
	REQUIRE(skp_phstate_open(dir, NULL, 0, &st2, why, sizeof(why)) ==
	    SKP_OK);
	CHECK(!st2->have_old_mailbox && skp_phstate_mailbox_untold(st2) == 0);
	skp_phstate_free(&st2);
	skp_phstate_free(&st);
	/* No computer paired: nobody to tell, nothing kept. */
	dir = fresh_dir();
	st = rotation_state(dir, 0);
	memcpy(before, st->mailbox_id, 32);
	CHECK_RC(skp_phstate_mailbox_rotate(st, why, sizeof(why)), SKP_OK);
	CHECK(!st->have_old_mailbox && memcmp(st->mailbox_id, before, 32));
	skp_phstate_free(&st);
}

static void
phstate_cred_key_must_match(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2 = NULL;
	struct skp_ph_cred c;
	char why[SKP_PH_WHY_MAX];

	REQUIRE((st = open_state(dir)) != NULL);
	memset(&c, 0, sizeof(c));
	memset(c.id, 5, sizeof(c.id));
	snprintf(c.rp, sizeof(c.rp), "ssh:");
	c.cred_protect = 4;	/* out of range */
	REQUIRE(skp_p256_generate(&c.key) == SKP_OK);
	CHECK_RC(skp_phstate_cred_add(st, &c, NULL, 0), SKP_OK);
	/* Written, but the strict reader refuses it back. */
	CHECK_RC(skp_phstate_open(dir, NULL, 0, &st2, why, sizeof(why)),
	    SKP_ERR_FORMAT);
	CHECK(strstr(why, "credentials") != NULL);
	skp_phstate_free(&st);
}

static void
phstate_passphrase(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st = NULL;
	char pw[400], why[SKP_PH_WHY_MAX];
	FILE *f;

	snprintf(pw, sizeof(pw), "%s/pw", tmpdir);
	REQUIRE((f = fopen(pw, "w")) != NULL);
	fputs("secret words\n", f);
	fclose(f);
	REQUIRE(chmod(pw, 0600) == 0);
	CHECK_RC(skp_phstate_open(dir, pw, 1, &st, why, sizeof(why)), SKP_OK);
	REQUIRE(st != NULL);
	CHECK_RC(skp_phstate_identity_set(st, "phone", NULL, NULL, 0), SKP_OK);
	skp_phstate_free(&st);
	CHECK_RC(skp_phstate_open(dir, pw, 0, &st, why, sizeof(why)), SKP_OK);
	CHECK(st != NULL && st->have_identity);
	skp_phstate_free(&st);
	CHECK_RC(skp_phstate_open(dir, NULL, 0, &st, why, sizeof(why)),
	    SKP_ERR_INVALID);
	REQUIRE((f = fopen(pw, "w")) != NULL);
	fputs("other words\n", f);
	fclose(f);
	CHECK_RC(skp_phstate_open(dir, pw, 0, &st, why, sizeof(why)),
	    SKP_ERR_DECRYPT);
	REQUIRE(chmod(pw, 0644) == 0);
	CHECK_RC(skp_phstate_open(dir, pw, 0, &st, why, sizeof(why)),
	    SKP_ERR_PERM);
	CHECK(st == NULL);
}

static void
phstate_fingerprint(void)
{
	struct skp_ph_cred c;
	char fp[64];

	memset(&c, 0, sizeof(c));
	REQUIRE(skp_p256_generate(&c.key) == SKP_OK);
	snprintf(c.rp, sizeof(c.rp), "ssh:");
	CHECK_RC(skp_phstate_fingerprint(&c, fp, sizeof(fp)), SKP_OK);
	CHECK(strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) == 7 + 43);
	CHECK_RC(skp_phstate_fingerprint(&c, fp, 20), SKP_ERR_TOO_LARGE);
}

/* ---- the prompt, over a pipe ---- */

static int
readable(int fd)
{
	struct pollfd pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) == 1;
}

static enum skp_prompt_answer
answer_host(const char *typed, int close_it, uint64_t now, uint64_t deadline,
    const char *host)
{
	struct skp_prompt p;
	enum skp_prompt_answer a;
	int in[2], out;

	if (pipe(in) != 0 || (out = open("/dev/null", O_WRONLY)) < 0)
		abort();
	skp_prompt_init(&p, in[0], out);
	/* Asked at 0; answers are read from SKP_PROMPT_GUARD_MS on. */
	skp_prompt_ask(&p, "question\n", host, "for a while",
	    deadline + SKP_PROMPT_GUARD_MS, 0);
	if (!close_it)
		CHECK(skp_prompt_step(&p, 0, SKP_PROMPT_GUARD_MS) ==
		    SKP_PROMPT_PENDING);
	if (write(in[1], typed, strlen(typed)) < 0)
		abort();
	if (close_it)
		close(in[1]);
	/* As the phone does: read only what poll says is there. */
	a = skp_prompt_step(&p, readable(in[0]), now + SKP_PROMPT_GUARD_MS);
	if (a == SKP_PROMPT_PENDING && close_it)
		a = skp_prompt_step(&p, readable(in[0]),
		    now + SKP_PROMPT_GUARD_MS);
	if (!close_it)
		close(in[1]);
	close(in[0]);
	close(out);
	return a;
}

static enum skp_prompt_answer
answer(const char *typed, int close_it, uint64_t now, uint64_t deadline)
{
	return answer_host(typed, close_it, now, deadline, NULL);
}

static void
prompt_answers(void)
{
	CHECK(answer("o\n", 0, 0, 1000) == SKP_PROMPT_ONCE);
	CHECK(answer("once\r\n", 0, 0, 1000) == SKP_PROMPT_ONCE);
	CHECK(answer("w\n", 0, 0, 1000) == SKP_PROMPT_WINDOW);
	CHECK(answer("r\n", 0, 0, 1000) == SKP_PROMPT_REJECT);
	CHECK(answer("no\n", 0, 0, 1000) == SKP_PROMPT_REJECT);
	/* A wrong answer asks again, the next line counts. */
	CHECK(answer("maybe\nw\n", 0, 0, 1000) == SKP_PROMPT_WINDOW);
	CHECK(answer("maybe\n", 0, 0, 1000) == SKP_PROMPT_PENDING);
	/* Half a line is no answer yet. */
	CHECK(answer("o", 0, 0, 1000) == SKP_PROMPT_PENDING);
	/* "h" answers only when this host was offered. */
	CHECK(answer("h\n", 0, 0, 1000) == SKP_PROMPT_PENDING);
	CHECK(answer("host\nr\n", 0, 0, 1000) == SKP_PROMPT_REJECT);
	CHECK(answer_host("h\n", 0, 0, 1000, "db1 for a while") ==
	    SKP_PROMPT_HOST);
	CHECK(answer_host("host\n", 0, 0, 1000, "db1 for a while") ==
	    SKP_PROMPT_HOST);
	CHECK(answer_host("w\n", 0, 0, 1000, "db1 for a while") ==
	    SKP_PROMPT_WINDOW);
}

/* Typed while a question appears (or is replaced): ignored. */
static void
prompt_guard(void)
{
	struct skp_prompt p;
	char out[4096];
	int in[2], o[2];
	ssize_t n;

	REQUIRE(pipe(in) == 0 && pipe(o) == 0);
	REQUIRE(fcntl(o[0], F_SETFL, O_NONBLOCK) == 0);
	skp_prompt_init(&p, in[0], o[1]);
	skp_prompt_ask(&p, "first question\n", NULL, "w", 60000, 0);
	CHECK(skp_prompt_wait_ms(&p, 0) == SKP_PROMPT_GUARD_MS);
	CHECK(skp_prompt_wait_ms(&p, 400) == SKP_PROMPT_GUARD_MS - 400);
	/* A key meant for what was there before: not an answer. */
	REQUIRE(write(in[1], "o\n", 2) == 2);
	CHECK(skp_prompt_step(&p, readable(in[0]), 300) ==
	    SKP_PROMPT_PENDING);
	n = read(o[0], out, sizeof(out) - 1);
	REQUIRE(n > 0);
	out[n] = '\0';
	CHECK(strstr(out, "first question") != NULL);
	CHECK(strstr(out, "answer within") == NULL);
	/* The guard ends: now it says so, and reads. */
	CHECK(skp_prompt_step(&p, 0, SKP_PROMPT_GUARD_MS) ==
	    SKP_PROMPT_PENDING);
	CHECK(skp_prompt_wait_ms(&p, SKP_PROMPT_GUARD_MS) == -1);
	n = read(o[0], out, sizeof(out) - 1);
	REQUIRE(n > 0);
	out[n] = '\0';
	CHECK(strstr(out, "was ignored") != NULL);
	CHECK(strstr(out, "answer within 59 s") != NULL);
	/* Withdrawn and replaced: the guard starts again. */
	skp_prompt_cancel(&p, "the computer gave up on the request");
	skp_prompt_ask(&p, "second question\n", NULL, "w", 70000, 2000);
	REQUIRE(write(in[1], "o\n", 2) == 2);
	CHECK(skp_prompt_step(&p, readable(in[0]), 2100) ==
	    SKP_PROMPT_PENDING);
	CHECK(skp_prompt_step(&p, 0, 2000 + SKP_PROMPT_GUARD_MS) ==
	    SKP_PROMPT_PENDING);
	REQUIRE(write(in[1], "r\n", 2) == 2);
	CHECK(skp_prompt_step(&p, readable(in[0]), 3100) ==
	    SKP_PROMPT_REJECT);
	close(in[0]);
	close(in[1]);
	close(o[0]);
	close(o[1]);
}

static void
prompt_timeout_and_gone(void)
{
	struct skp_prompt p;

	CHECK(answer("", 0, 1000, 1000) == SKP_PROMPT_TIMEOUT);
	CHECK(answer("maybe\n", 0, 2000, 1000) == SKP_PROMPT_TIMEOUT);
	CHECK(answer("", 1, 0, 1000) == SKP_PROMPT_GONE);
	skp_prompt_init(&p, -1, -1);
	skp_prompt_ask(&p, "q\n", NULL, "w", 1000, 0);
	CHECK(skp_prompt_fd(&p) == -1);
	CHECK(skp_prompt_step(&p, 0, 0) == SKP_PROMPT_GONE);
	/* Nothing asked, nothing answered. */
	CHECK(skp_prompt_step(&p, 0, 0) == SKP_PROMPT_PENDING);
}

/* ---- audit log ---- */

static void
audit_lines(void)
{
	const char *dir = fresh_dir();
	struct skp_audit_entry e;
	char path[400], line[1024];
	struct stat sb;
	FILE *f;
	int fd;

	REQUIRE(mkdir(dir, 0700) == 0);
	REQUIRE((fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	memset(&e, 0, sizeof(e));
	e.time = 1700000000;
	e.computer = "lap\"top";
	e.op = "login";
	e.subject = "root\n";
	e.key = "SHA256:x";
	e.host = "[db1]:2222";
	e.verified = "yes";
	e.decision = "allow-once";
	CHECK_RC(skp_audit_append(fd, &e), SKP_OK);
	e.subject = NULL;
	e.host = NULL;
	e.verified = NULL;
	e.key = NULL;
	e.decision = "reject";
	CHECK_RC(skp_audit_append(fd, &e), SKP_OK);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	REQUIRE((f = fopen(path, "r")) != NULL);
	CHECK(fgets(line, sizeof(line), f) != NULL);
	CHECK(strcmp(line, "2023-11-14T22:13:20Z computer=\"lap\\x22top\" "
	    "op=login subject=\"root\\x0a\" host=\"[db1]:2222\" verified=yes "
	    "key=SHA256:x decision=allow-once\n") == 0);
	CHECK(fgets(line, sizeof(line), f) != NULL);
	CHECK(strstr(line, "subject=\"-\" host=\"-\" verified=- key=- "
	    "decision=reject\n") != NULL);
	fclose(f);
	REQUIRE(chmod(path, 0644) == 0);
	CHECK_RC(skp_audit_append(fd, &e), SKP_ERR_PERM);
	close(fd);
}

/* ---- one request through the handler, no relay ---- */

struct kk {
	struct skp_phstate	*st;
	struct skp_p256_key	 comp;
	uint8_t			 psk[32];
	skp_noise_t		*init;
};

static void
kk_setup(struct kk *k)
{
	struct skp_ph_computer c;

	memset(k, 0, sizeof(*k));
	if ((k->st = open_state(fresh_dir())) == NULL ||
	    skp_phstate_identity_set(k->st, "phone", "ws://r", NULL, 0) !=
	    SKP_OK || skp_p256_generate(&k->comp) != SKP_OK)
		abort();
	memset(k->psk, 0x5a, sizeof(k->psk));
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "laptop");
	memcpy(c.pub, k->comp.pub, sizeof(c.pub));
	memcpy(c.psk, k->psk, sizeof(c.psk));
	if (skp_phstate_computer_put(k->st, &c, NULL, 0) != SKP_OK)
		abort();
}

/* Message 1 carrying env, from the computer (or with a wrong psk). */
static skp_buf_t *
kk_msg1(struct kk *k, const uint8_t *env, size_t envlen, int wrong_psk)
{
	skp_buf_t *b = skp_buf_new(SKP_NOISE_MAX_MSG);
	uint8_t psk[32];

	memcpy(psk, k->psk, sizeof(psk));
	psk[0] ^= (uint8_t)wrong_psk;
	skp_noise_free(&k->init);
	if (b == NULL || (k->init = skp_noise_new(SKP_NOISE_KKPSK0,
	    SKP_NOISE_INITIATOR)) == NULL ||
	    skp_noise_set_local_static(k->init, &k->comp) != SKP_OK ||
	    skp_noise_set_remote_static(k->init, k->st->identity.pub) !=
	    SKP_OK || skp_noise_set_psk(k->init, psk) != SKP_OK ||
	    skp_noise_write_message(k->init, env, envlen, b) != SKP_OK)
		abort();
	return b;
}

static void
kk_free(struct kk *k)
{
	skp_noise_free(&k->init);
	skp_phstate_free(&k->st);
}

/* Open message 2 and decode its envelope. */
static int
kk_answer(struct kk *k, const struct skp_req *r, struct skp_ctap_response *rs)
{
	skp_buf_t *b = skp_buf_new(SKP_NOISE_MAX_MSG);
	int rc;

	if ((rc = skp_noise_read_message(k->init, skp_buf_ptr(r->reply),
	    skp_buf_len(r->reply), b)) == SKP_OK)
		rc = skp_ctap_response_decode(skp_buf_ptr(b), skp_buf_len(b),
		    rs);
	skp_buf_free(&b);
	return rc;
}

static int
info_request(uint64_t time_ms, uint8_t idbyte, uint8_t **env, size_t *len)
{
	struct skp_ctap_request *req = calloc(1, sizeof(*req));
	int rc;

	if (req == NULL)
		return SKP_ERR_NOMEM;
	req->command = SKP_CTAP_GET_INFO;
	req->time_ms = time_ms;
	snprintf(req->ctx.computer_name, sizeof(req->ctx.computer_name),
	    "laptop");
	memset(req->id, idbyte, sizeof(req->id));
	rc = skp_ctap_request_encode(req, env, len);
	free(req);
	return rc;
}

static void
handle_get_info_and_refusals(void)
{
	struct skp_handler h;
	struct skp_ctap_response rs;
	struct skp_req *r = NULL;
	struct kk k;
	skp_buf_t *m;
	uint8_t *env = NULL;
	size_t envlen;
	uint64_t now = 1800000000000ULL;

	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	REQUIRE(info_request(now, 1, &env, &envlen) == SKP_OK);
	m = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_RESPOND);
	CHECK(strcmp(r->computer.name, "laptop") == 0);
	memset(&rs, 0, sizeof(rs));
	CHECK_RC(kk_answer(&k, r, &rs), SKP_OK);
	CHECK(rs.status == 0 && rs.ctap != NULL);
	skp_ctap_response_clear(&rs);
	skp_req_free(&r);
	/*
	 * The same getInfo again: answered again; getInfo takes no place in
	 * the replay cache (its answer is the same to every paired computer).
	 */
	skp_buf_free(&m);
	m = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL);
	CHECK(r->status == SKP_CTAP_OK && r->next == SKP_HANDLE_RESPOND);
	CHECK(k.st->nseen == 0);
	skp_req_free(&r);
	/* Stale by just over the window. */
	skp_buf_free(&m);
	m = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m),
	    now + SKP_HANDLE_FRESH_MS + 1, &r), SKP_OK);
	REQUIRE(r != NULL);
	CHECK(r->status == SKP_CTAP_STALE);
	skp_req_free(&r);
	/* Not a paired computer (wrong psk): nothing to answer. */
	skp_buf_free(&m);
	m = kk_msg1(&k, env, envlen, 1);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL);
	CHECK(r->next == SKP_HANDLE_DROP && r->reply == NULL);
	skp_req_free(&r);
	/* A malformed envelope: answered with a CTAP status. */
	skp_buf_free(&m);
	m = kk_msg1(&k, (const uint8_t *)"\xa1\x01\x02", 3, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_RESPOND);
	CHECK(r->status != 0);
	memset(&rs, 0, sizeof(rs));
	CHECK_RC(kk_answer(&k, r, &rs), SKP_OK);
	CHECK(rs.status == r->status && rs.ctap == NULL);
	skp_ctap_response_clear(&rs);
	skp_req_free(&r);
	skp_buf_free(&m);
	free(env);
	kk_free(&k);
}

/* ---- host keys, the host check, pins ---- */

/* A host key: its SSH blob, and signatures over data with it. */
struct hkey {
	EVP_PKEY	*k;
	int		 kind;		/* 0 ed25519, 1 ecdsa p256, 2 rsa */
	uint8_t		 blob[1024];
	size_t		 bloblen;
};

static void
put_mpint(skp_buf_t *b, const BIGNUM *n)
{
	uint8_t v[600];
	int len = BN_num_bytes(n);

	v[0] = 0;
	if (len < 0 || (size_t)len >= sizeof(v) ||
	    BN_bn2bin(n, v + 1) != len)
		abort();
	/* A leading zero only when the top bit is set. */
	if (len > 0 && (v[1] & 0x80) != 0)
		ssh_string(b, v, (size_t)len + 1);
	else
		ssh_string(b, v + 1, (size_t)len);
}

static void
hkey_make(struct hkey *h, int kind)
{
	static const char *const names[] = { "ED25519", "EC", "RSA" };
	EVP_PKEY_CTX *ctx;
	skp_buf_t *b = skp_buf_new(sizeof(h->blob));
	uint8_t raw[200];
	size_t rawlen = sizeof(raw);
	BIGNUM *n = NULL, *e = NULL;

	memset(h, 0, sizeof(*h));
	h->kind = kind;
	if (b == NULL || (ctx = EVP_PKEY_CTX_new_from_name(NULL, names[kind],
	    NULL)) == NULL || EVP_PKEY_keygen_init(ctx) != 1)
		abort();
	if ((kind == 1 && EVP_PKEY_CTX_set_group_name(ctx, "P-256") != 1) ||
	    (kind == 2 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1) ||
	    EVP_PKEY_keygen(ctx, &h->k) != 1)
		abort();
	EVP_PKEY_CTX_free(ctx);
	if (kind == 0) {
		if (EVP_PKEY_get_raw_public_key(h->k, raw, &rawlen) != 1)
			abort();
		sstr(b, "ssh-ed25519");
		ssh_string(b, raw, rawlen);
	} else if (kind == 1) {
		if (EVP_PKEY_get_octet_string_param(h->k, "encoded-pub-key",
		    raw, sizeof(raw), &rawlen) != 1)
			abort();
		sstr(b, "ecdsa-sha2-nistp256");
		sstr(b, "nistp256");
		ssh_string(b, raw, rawlen);
	} else {
		if (EVP_PKEY_get_bn_param(h->k, "n", &n) != 1 ||
		    EVP_PKEY_get_bn_param(h->k, "e", &e) != 1)
			abort();
		sstr(b, "ssh-rsa");
		put_mpint(b, e);
		put_mpint(b, n);
		BN_free(n);
		BN_free(e);
	}
	h->bloblen = skp_buf_len(b);
	memcpy(h->blob, skp_buf_ptr(b), h->bloblen);
	skp_buf_free(&b);
}

/* The SSH signature blob over data; alg for RSA ("ssh-rsa", ...). */
static void
hkey_sign(const struct hkey *h, const uint8_t *data, size_t len,
    const char *alg, uint8_t *out, size_t *outlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const EVP_MD *dg = NULL;
	skp_buf_t *b = skp_buf_new(2048), *rs = skp_buf_new(256);
	uint8_t sig[600];
	const unsigned char *p = sig;
	size_t siglen = sizeof(sig);
	ECDSA_SIG *es;

	if (h->kind == 1)
		dg = EVP_sha256();
	else if (h->kind == 2)
		dg = strcmp(alg, "ssh-rsa") == 0 ? EVP_sha1() :
		    strcmp(alg, "rsa-sha2-256") == 0 ? EVP_sha256() :
		    EVP_sha512();
	if (md == NULL || b == NULL || rs == NULL ||
	    EVP_DigestSignInit(md, NULL, dg, NULL, h->k) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, data, len) != 1)
		abort();
	if (h->kind == 0) {
		sstr(b, "ssh-ed25519");
		ssh_string(b, sig, siglen);
	} else if (h->kind == 1) {
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)siglen)) == NULL)
			abort();
		put_mpint(rs, ECDSA_SIG_get0_r(es));
		put_mpint(rs, ECDSA_SIG_get0_s(es));
		ECDSA_SIG_free(es);
		sstr(b, "ecdsa-sha2-nistp256");
		ssh_string(b, skp_buf_ptr(rs), skp_buf_len(rs));
	} else {
		sstr(b, alg);
		ssh_string(b, sig, siglen);
	}
	*outlen = skp_buf_len(b);
	memcpy(out, skp_buf_ptr(b), *outlen);
	skp_buf_free(&b);
	skp_buf_free(&rs);
	EVP_MD_CTX_free(md);
}

static void
hkey_free(struct hkey *h)
{
	EVP_PKEY_free(h->k);
	h->k = NULL;
}

/* A login's data (session id of 32 bytes 0x07) and its host info. */
struct hlogin {
	skp_buf_t		*data;
	struct skp_sshmsg	 msg;
	struct skp_ctap_context	 ctx;
};

static void
hlogin_make(struct hlogin *l, const struct hkey *h, const char *host,
    uint16_t port, const struct hkey *bound, int other_session)
{
	struct ua u = ua_ok;
	uint8_t sid[32];

	memset(l, 0, sizeof(*l));
	memset(sid, 7, sizeof(sid));
	if (bound != NULL) {
		u.method = "publickey-hostbound-v00@openssh.com";
		u.hostkey = 1;
	}
	l->data = userauth(&u);
	if (bound != NULL) {
		/* userauth() appends "HOSTKEY": the real blob instead. */
		skp_buf_t *b = skp_buf_new(4096);

		if (b == NULL || skp_buf_put(b, skp_buf_ptr(l->data),
		    skp_buf_len(l->data) - 11) != SKP_OK)
			abort();
		ssh_string(b, bound->blob, bound->bloblen);
		skp_buf_free(&l->data);
		l->data = b;
	}
	skp_sshmsg_parse(skp_buf_ptr(l->data), skp_buf_len(l->data), &l->msg);
	if (h == NULL)
		return;
	l->ctx.has_host = 1;
	snprintf(l->ctx.host.name, sizeof(l->ctx.host.name), "%s", host);
	l->ctx.host.port = port;
	snprintf(l->ctx.host.kex, sizeof(l->ctx.host.kex), "curve25519-sha256");
	memcpy(l->ctx.host.host_key, h->blob, h->bloblen);
	l->ctx.host.host_key_len = h->bloblen;
	sid[0] ^= (uint8_t)other_session;
	hkey_sign(h, sid, sizeof(sid), h->kind == 2 ? "rsa-sha2-512" : NULL,
	    l->ctx.host.signature, &l->ctx.host.signature_len);
}

static enum skp_hostcheck_state
hcheck(const struct hlogin *l, const struct skp_phstate *st,
    struct skp_hostcheck *hc)
{
	skp_hostcheck_run(&l->ctx, &l->msg, st, hc);
	return hc->state;
}

static void
hostcheck_verified_and_pinned(void)
{
	struct skp_phstate *st;
	struct skp_hostcheck hc;
	struct hkey ed, ed2, ec;
	struct hlogin l;

	REQUIRE((st = open_state(fresh_dir())) != NULL);
	hkey_make(&ed, 0);
	hkey_make(&ed2, 0);
	hkey_make(&ec, 1);
	hlogin_make(&l, &ed, "DB1.example.com", 22, NULL, 0);
	REQUIRE(l.msg.kind == SKP_SSHMSG_USERAUTH);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_NEW);
	CHECK(strcmp(hc.host, "db1.example.com") == 0);
	CHECK(strcmp(hc.key_type, "ssh-ed25519") == 0);
	CHECK(strncmp(hc.fp, "SHA256:", 7) == 0 && !hc.other_types);
	CHECK(strcmp(skp_hostcheck_verified_word(&hc, 1), "new") == 0);
	CHECK_RC(skp_phstate_host_pin(st, hc.host, ed.blob, ed.bloblen, 1,
	    "laptop", NULL, 0), SKP_OK);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_PINNED);
	CHECK(strcmp(skp_hostcheck_verified_word(&hc, 1), "yes") == 0);
	CHECK(hc.pinned_as[0] == '\0');
	skp_buf_free(&l.data);
	/* The same key under another name: a first use, pinned as db1. */
	hlogin_make(&l, &ed, "dev.example.com", 22, NULL, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_NEW);
	CHECK(strcmp(hc.host, "dev.example.com") == 0);
	CHECK(strcmp(hc.pinned_as, "db1.example.com") == 0);
	skp_buf_free(&l.data);
	/* Another key of the type: changed. Of another type: new. */
	hlogin_make(&l, &ed2, "db1.example.com", 22, NULL, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_CHANGED);
	CHECK(strcmp(hc.host, "db1.example.com") == 0);
	skp_buf_free(&l.data);
	hlogin_make(&l, &ec, "db1.example.com", 22, NULL, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_NEW);
	CHECK(hc.other_types == 1);
	CHECK(strcmp(hc.key_type, "ecdsa-sha2-nistp256") == 0);
	skp_buf_free(&l.data);
	/* Another port is another name. */
	hlogin_make(&l, &ed2, "db1.example.com", 2222, NULL, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_NEW);
	CHECK(strcmp(hc.host, "[db1.example.com]:2222") == 0);
	skp_buf_free(&l.data);
	/* Host-bound with the same key. */
	hlogin_make(&l, &ed, "db1.example.com", 22, &ed, 0);
	REQUIRE(l.msg.kind == SKP_SSHMSG_USERAUTH && l.msg.hostbound);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_PINNED);
	skp_buf_free(&l.data);
	hkey_free(&ed);
	hkey_free(&ed2);
	hkey_free(&ec);
	skp_phstate_free(&st);
}

static void
hostcheck_refusals(void)
{
	struct skp_phstate *st;
	struct skp_hostcheck hc;
	struct hkey ed, ed2, rsa;
	struct hlogin l;
	skp_buf_t *b;

	REQUIRE((st = calloc(1, sizeof(*st))) != NULL);
	hkey_make(&ed, 0);
	hkey_make(&ed2, 0);
	hkey_make(&rsa, 2);
	/* No host info, or not a login: nothing to check. */
	hlogin_make(&l, NULL, NULL, 0, NULL, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_NONE);
	CHECK(strcmp(skp_hostcheck_verified_word(&hc, 1), "no") == 0);
	CHECK(strcmp(skp_hostcheck_verified_word(&hc, 0), "-") == 0);
	skp_buf_free(&l.data);
	hlogin_make(&l, &ed, "db1", 22, NULL, 0);
	b = sshsig("SSHSIG", "git", "sha512", 64, 0);
	skp_sshmsg_parse(skp_buf_ptr(b), skp_buf_len(b), &l.msg);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_NONE);
	skp_buf_free(&b);
	skp_buf_free(&l.data);
	/* A signature over another session. */
	hlogin_make(&l, &ed, "db1", 22, NULL, 1);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_BAD);
	CHECK(strstr(hc.why, "does not verify") != NULL);
	/* A signature of another key. */
	memcpy(l.ctx.host.host_key, ed2.blob, ed2.bloblen);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_BAD);
	skp_buf_free(&l.data);
	/* Host-bound to another key than the proxy saw. */
	hlogin_make(&l, &ed, "db1", 22, &ed2, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_BAD);
	CHECK(strstr(hc.why, "another host key") != NULL);
	skp_buf_free(&l.data);
	/* A host key that is not one (cut short). */
	hlogin_make(&l, &ed, "db1", 22, NULL, 0);
	l.ctx.host.host_key_len--;
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_BAD);
	CHECK(strstr(hc.why, "not valid") != NULL);
	skp_buf_free(&l.data);
	/* A name that makes no pin name: verified signature, not a host. */
	hlogin_make(&l, &ed, "-oProxyCommand", 22, NULL, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_UNVERIFIED);
	CHECK(hc.host[0] == '\0');
	skp_buf_free(&l.data);
	/* ssh-rsa (SHA-1): cannot be checked; rsa-sha2-512 can. */
	hlogin_make(&l, &rsa, "old", 22, NULL, 0);
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_NEW);
	{
		uint8_t sid[32];

		memset(sid, 7, sizeof(sid));
		hkey_sign(&rsa, sid, sizeof(sid), "ssh-rsa",
		    l.ctx.host.signature, &l.ctx.host.signature_len);
	}
	CHECK(hcheck(&l, st, &hc) == SKP_HOSTCHECK_UNVERIFIED);
	CHECK(strcmp(hc.host, "old") == 0 && strstr(hc.why, "SHA-1"));
	CHECK(strcmp(skp_hostcheck_verified_word(&hc, 1), "no") == 0);
	skp_buf_free(&l.data);
	hkey_free(&ed);
	hkey_free(&ed2);
	hkey_free(&rsa);
	free(st);
}

static void
phstate_host_names(void)
{
	CHECK(skp_phstate_host_name_ok("db1.example.com"));
	CHECK(skp_phstate_host_name_ok("[db1]:2222"));
	CHECK(skp_phstate_host_name_ok("[::1]:2222"));
	CHECK(skp_phstate_host_name_ok("[h]:65535"));
	CHECK(!skp_phstate_host_name_ok("DB1"));		/* lower case */
	CHECK(!skp_phstate_host_name_ok("[db1]:22"));	/* plain for 22 */
	CHECK(!skp_phstate_host_name_ok("[db1]:022"));
	CHECK(!skp_phstate_host_name_ok("[db1]:65536"));
	CHECK(!skp_phstate_host_name_ok("[db1]:0"));
	CHECK(!skp_phstate_host_name_ok("[db1]2222"));
	CHECK(!skp_phstate_host_name_ok("[db1]:2222x"));
	CHECK(!skp_phstate_host_name_ok("[]:2222"));
	CHECK(!skp_phstate_host_name_ok("-db1"));
	CHECK(!skp_phstate_host_name_ok("db 1"));
	CHECK(!skp_phstate_host_name_ok(""));
}

static void
phstate_hosts(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	struct hkey a, b, c;
	char why[SKP_PH_WHY_MAX];
	char name[32];
	size_t i;

	REQUIRE((st = open_state(dir)) != NULL);
	hkey_make(&a, 0);
	hkey_make(&b, 0);
	hkey_make(&c, 1);
	CHECK_RC(skp_phstate_host_pin(st, "db1", a.blob, a.bloblen, 100,
	    "laptop", NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_host_pin(st, "db1", a.blob, a.bloblen, 200,
	    "desk", NULL, 0), SKP_OK);
	CHECK(st->nhosts == 1 && st->hosts[0].pinned_at == 100);
	CHECK_RC(skp_phstate_host_pin(st, "db1", b.blob, b.bloblen, 300,
	    "laptop", why, sizeof(why)), SKP_ERR_HOSTKEY);
	CHECK(strstr(why, "db1") != NULL);
	CHECK_RC(skp_phstate_host_pin(st, "db1", c.blob, c.bloblen, 300,
	    "laptop", NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_host_pin(st, "DB1", a.blob, a.bloblen, 1,
	    "laptop", NULL, 0), SKP_ERR_INVALID);
	CHECK_RC(skp_phstate_host_pin(st, "db2", a.blob, 10, 1, "laptop",
	    NULL, 0), SKP_ERR_INVALID);
	/* Windows: per computer and host, past ones go at the next write. */
	CHECK_RC(skp_phstate_host_window_set(st, "laptop", "db1", 1000, 500,
	    NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_host_window_set(st, "desk", "[db2]:2222", 600,
	    500, NULL, 0), SKP_OK);
	CHECK(skp_phstate_host_window(st, "laptop", "db1") == 1000);
	CHECK(skp_phstate_host_window(st, "desk", "db1") == 0);
	/* Seen by another process, after a restart. */
	REQUIRE((st2 = open_state(dir)) != NULL);
	CHECK(st2->nhosts == 2 && st2->nhwins == 2);
	CHECK(skp_phstate_host_find(st2, "db1", "ssh-ed25519") != NULL);
	CHECK(skp_phstate_host_find(st2, "db1", "ecdsa-sha2-nistp256") !=
	    NULL);
	CHECK(skp_phstate_host_find(st2, "db1", "ssh-rsa") == NULL);
	CHECK(skp_phstate_host_count(st2, "db1") == 2);
	CHECK(strcmp(st2->hosts[0].pinned_by, "laptop") == 0);
	CHECK_RC(skp_phstate_host_window_set(st2, "laptop", "db3", 2000, 700,
	    NULL, 0), SKP_OK);
	CHECK(skp_phstate_host_window(st2, "desk", "[db2]:2222") == 0);
	CHECK(st2->nhwins == 2);
	/* A full list makes room by the window that ends first. */
	for (i = 0; i < SKP_PH_MAX_HOST_WINDOWS; i++) {
		snprintf(name, sizeof(name), "h%zu", i);
		REQUIRE(skp_phstate_host_window_set(st2, "desk", name,
		    5000 + i, 700, NULL, 0) == SKP_OK);
	}
	CHECK(st2->nhwins == SKP_PH_MAX_HOST_WINDOWS);
	CHECK(skp_phstate_host_window(st2, "laptop", "db1") == 0);
	CHECK(skp_phstate_host_window(st2, "laptop", "db3") == 0);
	CHECK(skp_phstate_host_window(st2, "desk", "h63") == 5063);
	CHECK_RC(skp_phstate_host_window_clear(st2, "desk", NULL, 0), SKP_OK);
	CHECK(st2->nhwins == 0);
	/* Forget: every key of the name, and its windows. */
	CHECK_RC(skp_phstate_host_window_set(st, "laptop", "db1", 9000, 800,
	    NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_host_forget(st, "db1", NULL, 0), SKP_OK);
	CHECK(st->nhosts == 0 && st->nhwins == 0);
	CHECK_RC(skp_phstate_host_forget(st, "db1", why, sizeof(why)),
	    SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_phstate_host_forget(st, "[db1]:22", why, sizeof(why)),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_phstate_host_pin(st, "db1", b.blob, b.bloblen, 300,
	    "laptop", NULL, 0), SKP_OK);
	hkey_free(&a);
	hkey_free(&b);
	hkey_free(&c);
	skp_phstate_free(&st);
	skp_phstate_free(&st2);
}

/* The host CAs (file "cas"): limits, lookups, removal, a second reader. */
static void
phstate_cas(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2;
	struct hkey a, b;
	char why[SKP_PH_WHY_MAX], pat[32], fp[SKP_HOSTKEY_FP_LEN];
	size_t i, removed;

	REQUIRE((st = open_state(dir)) != NULL);
	hkey_make(&a, 0);
	hkey_make(&b, 1);
	for (i = 0; i < SKP_PH_MAX_CAS; i++) {
		snprintf(pat, sizeof(pat), "h%zu,[h%zu]:*", i, i);
		CHECK_RC(skp_phstate_ca_add(st, pat, a.blob, a.bloblen, i,
		    NULL, 0), SKP_OK);
	}
	CHECK_RC(skp_phstate_ca_add(st, "more", b.blob, b.bloblen, 1, why,
	    sizeof(why)), SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_phstate_ca_add(st, "h3,[h3]:*", a.blob, a.bloblen, 1,
	    why, sizeof(why)), SKP_ERR_EXISTS);
	CHECK_RC(skp_phstate_ca_add(st, "!h3", b.blob, b.bloblen, 1, why,
	    sizeof(why)), SKP_ERR_INVALID);
	CHECK_RC(skp_phstate_ca_add(st, "h3", a.blob, a.bloblen - 1, 1, why,
	    sizeof(why)), SKP_ERR_INVALID);
	REQUIRE((st2 = open_state(dir)) != NULL);
	CHECK(st2->ncas == SKP_PH_MAX_CAS);
	CHECK(skp_phstate_ca_trusted(st2, a.blob, a.bloblen, "h5") ==
	    &st2->cas[5]);
	CHECK(skp_phstate_ca_trusted(st2, a.blob, a.bloblen, "[h5]:2222") ==
	    &st2->cas[5]);
	CHECK(skp_phstate_ca_trusted(st2, a.blob, a.bloblen, "h55") == NULL);
	CHECK(skp_phstate_ca_trusted(st2, b.blob, b.bloblen, "h5") == NULL);
	CHECK_RC(skp_phstate_ca_remove(st, a.blob, a.bloblen, NULL,
	    "h5,[h5]:*", &removed, NULL, 0), SKP_OK);
	CHECK(removed == 1 && st->ncas == SKP_PH_MAX_CAS - 1);
	REQUIRE(skp_hostkey_fingerprint(a.blob, a.bloblen, fp) == SKP_OK);
	CHECK_RC(skp_phstate_ca_remove(st, NULL, 0, fp, NULL, &removed,
	    NULL, 0), SKP_OK);
	CHECK(removed == SKP_PH_MAX_CAS - 1 && st->ncas == 0);
	CHECK_RC(skp_phstate_ca_remove(st, NULL, 0, fp, NULL, &removed, why,
	    sizeof(why)), SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_phstate_reload(st2, NULL, 0), SKP_OK);
	CHECK(st2->ncas == 0);
	hkey_free(&a);
	hkey_free(&b);
	skp_phstate_free(&st);
	skp_phstate_free(&st2);
}

/* {1: [pin...], 2: [window...]} by hand, for the decoder's refusals. */
static int
decode_hosts_with(const char *name, const uint8_t *key, size_t keylen,
    int twice, const char *win_host)
{
	struct skp_phstate *st = calloc(1, sizeof(*st));
	cbor_item_t *top, *hl, *wl, *m;
	uint8_t *enc = NULL;
	size_t enclen = 0, i;
	int rc;

	if (st == NULL || (top = skp_cbor_map(2)) == NULL ||
	    (hl = skp_cbor_array(2)) == NULL ||
	    (wl = skp_cbor_array(1)) == NULL)
		abort();
	for (i = 0; i < (twice ? 2U : 1U); i++) {
		m = skp_cbor_map(4);
		if (skp_cbor_map_put(m, 1, skp_cbor_text(name)) != SKP_OK ||
		    skp_cbor_map_put(m, 2, skp_cbor_bytes(key, keylen)) !=
		    SKP_OK ||
		    skp_cbor_map_put(m, 3, skp_cbor_uint(1)) != SKP_OK ||
		    skp_cbor_map_put(m, 4, skp_cbor_text("laptop")) != SKP_OK ||
		    skp_cbor_array_push(hl, m) != SKP_OK)
			abort();
	}
	if (win_host != NULL) {
		m = skp_cbor_map(3);
		if (skp_cbor_map_put(m, 1, skp_cbor_text("laptop")) != SKP_OK ||
		    skp_cbor_map_put(m, 2, skp_cbor_text(win_host)) != SKP_OK ||
		    skp_cbor_map_put(m, 3, skp_cbor_uint(5)) != SKP_OK ||
		    skp_cbor_array_push(wl, m) != SKP_OK)
			abort();
	}
	if (skp_cbor_map_put(top, 1, hl) != SKP_OK ||
	    skp_cbor_map_put(top, 2, wl) != SKP_OK ||
	    skp_cbor_encode(top, 1 << 20, &enc, &enclen) != SKP_OK)
		abort();
	rc = skp_phstate_decode_hosts(st, enc, enclen);
	if (rc == SKP_OK && (st->nhosts != (twice ? 2U : 1U) ||
	    strcmp(st->hosts[0].name, name) != 0))
		rc = SKP_ERR_INTERNAL;
	skp_cbor_free(&top);
	free(enc);
	free(st);
	return rc;
}

static void
phstate_hosts_decode_refusals(void)
{
	struct skp_phstate *st;
	struct hkey a;
	uint8_t *p;
	size_t n;

	hkey_make(&a, 0);
	CHECK_RC(decode_hosts_with("db1", a.blob, a.bloblen, 0, "db1"),
	    SKP_OK);
	/* Two pins of one name and key type. */
	CHECK_RC(decode_hosts_with("db1", a.blob, a.bloblen, 1, NULL),
	    SKP_ERR_FORMAT);
	/* Names that are not pin names. */
	CHECK_RC(decode_hosts_with("DB1", a.blob, a.bloblen, 0, NULL),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_hosts_with("db1", a.blob, a.bloblen, 0, "[db1]:22"),
	    SKP_ERR_FORMAT);
	/* A key the phone could not check. */
	CHECK_RC(decode_hosts_with("db1", a.blob, a.bloblen - 1, 0, NULL),
	    SKP_ERR_FORMAT);
	CHECK_RC(decode_hosts_with("db1", (const uint8_t *)"\0\0\0\7ssh-dss",
	    11, 0, NULL), SKP_ERR_FORMAT);
	hkey_free(&a);
	REQUIRE((st = calloc(1, sizeof(*st))) != NULL);
	/* {1: []} lacks the windows; {1: [], 2: [], 3: 0} has a key more. */
	p = skp_test_unhex("a10180", &n);
	CHECK_RC(skp_phstate_decode_hosts(st, p, n), SKP_ERR_FORMAT);
	free(p);
	p = skp_test_unhex("a30180028003" "00", &n);
	CHECK_RC(skp_phstate_decode_hosts(st, p, n), SKP_ERR_FORMAT);
	free(p);
	p = skp_test_unhex("a20180" "02a0", &n);
	CHECK_RC(skp_phstate_decode_hosts(st, p, n), SKP_ERR_CBOR_TYPE);
	free(p);
	free(st);
}

/* ---- the handler: a login whose pinned host key changed ---- */

static int
login_request(const struct skp_ph_cred *c, const struct hlogin *l,
    uint64_t time_ms, uint8_t idbyte, uint8_t **env, size_t *len)
{
	struct skp_ctap_request *req = calloc(1, sizeof(*req));
	int rc;

	if (req == NULL)
		return SKP_ERR_NOMEM;
	req->command = SKP_CTAP_GET_ASSERTION;
	req->time_ms = time_ms;
	memset(req->id, idbyte, sizeof(req->id));
	snprintf(req->ctx.computer_name, sizeof(req->ctx.computer_name),
	    "laptop");
	snprintf(req->ga.rp_id, sizeof(req->ga.rp_id), "%s", c->rp);
	memcpy(req->ga.allow[0].id, c->id, sizeof(c->id));
	req->ga.allow[0].id_len = sizeof(c->id);
	req->ga.nallow = 1;
	req->ga.up = SKP_CTAP_OPT_ABSENT;
	req->ga.uv = SKP_CTAP_OPT_ABSENT;
	req->ctx.has_raw = 1;
	req->ctx.raw_len = skp_buf_len(l->data);
	memcpy(req->ctx.raw, skp_buf_ptr(l->data), req->ctx.raw_len);
	req->ctx.has_host = l->ctx.has_host;
	req->ctx.host = l->ctx.host;
	if ((rc = skp_sha256(req->ctx.raw, req->ctx.raw_len,
	    req->ga.cdh)) == SKP_OK)
		rc = skp_ctap_request_encode(req, env, len);
	free(req);
	return rc;
}

/* A userauth with this credential's key blob (the handler checks it). */
static void
hlogin_for(struct hlogin *l, const struct skp_ph_cred *c,
    const struct hkey *h, const char *host)
{
	struct hlogin tmp;
	skp_buf_t *b = skp_buf_new(4096), *kb = skp_buf_new(1024);
	uint8_t sid[32];

	hlogin_make(&tmp, h, host, 22, NULL, 0);
	memset(sid, 7, sizeof(sid));
	ssh_string(b, sid, sizeof(sid));
	if (skp_buf_u8(b, 50) != SKP_OK)
		abort();
	sstr(b, "root");
	sstr(b, "ssh-connection");
	sstr(b, "publickey");
	if (skp_buf_u8(b, 1) != SKP_OK)
		abort();
	sstr(b, "sk-ecdsa-sha2-nistp256@openssh.com");
	sstr(kb, "sk-ecdsa-sha2-nistp256@openssh.com");
	sstr(kb, "nistp256");
	ssh_string(kb, c->key.pub, sizeof(c->key.pub));
	sstr(kb, c->rp);
	ssh_string(b, skp_buf_ptr(kb), skp_buf_len(kb));
	skp_buf_free(&kb);
	*l = tmp;
	skp_buf_free(&l->data);
	l->data = b;
	skp_sshmsg_parse(skp_buf_ptr(b), skp_buf_len(b), &l->msg);
}

static void
handle_host_key_changed(void)
{
	struct skp_handler h;
	struct skp_ctap_response rs;
	struct skp_ph_cred c;
	struct skp_req *r = NULL;
	struct hkey a, b;
	struct hlogin l;
	struct kk k;
	skp_buf_t *m;
	uint8_t *env = NULL;
	size_t envlen;
	uint64_t now = 1800000000000ULL;

	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	add_cred(k.st, 0x31, &c);
	hkey_make(&a, 0);
	hkey_make(&b, 0);
	/* First use: to be asked, then pinned once approved. */
	hlogin_for(&l, &c, &a, "db1");
	REQUIRE(login_request(&c, &l, now, 1, &env, &envlen) == SKP_OK);
	m = kk_msg1(&k, env, envlen, 0);
	free(env);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_APPROVE);
	CHECK(r->host.state == SKP_HOSTCHECK_NEW);
	CHECK(k.st->nhosts == 0);
	CHECK_RC(skp_handle_approved(&h, r, now), SKP_OK);
	CHECK(r->status == 0 && k.st->nhosts == 1);
	skp_req_free(&r);
	skp_buf_free(&m);
	skp_buf_free(&l.data);
	/* Another key for db1: refused before anyone is asked. */
	hlogin_for(&l, &c, &b, "db1");
	REQUIRE(login_request(&c, &l, now, 2, &env, &envlen) == SKP_OK);
	m = kk_msg1(&k, env, envlen, 0);
	free(env);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_RESPOND);
	CHECK(r->status == SKP_CTAP_HOSTKEY_CHANGED);
	CHECK(strcmp(r->decision, "refused-host-key-changed") == 0);
	memset(&rs, 0, sizeof(rs));
	CHECK_RC(kk_answer(&k, r, &rs), SKP_OK);
	CHECK(strcmp(rs.reason, "host key for db1 changed; the phone refused "
	    "to sign; if the change is expected run: sk-phone-authenticator "
	    "hosts forget db1") == 0);
	CHECK(skp_ctap_status_err(rs.status) == SKP_ERR_HOSTKEY);
	skp_ctap_response_clear(&rs);
	skp_req_free(&r);
	skp_buf_free(&m);
	skp_buf_free(&l.data);
	/* The pin changed between the question and the answer. */
	hlogin_for(&l, &c, &b, "db2");
	REQUIRE(login_request(&c, &l, now, 3, &env, &envlen) == SKP_OK);
	m = kk_msg1(&k, env, envlen, 0);
	free(env);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_APPROVE);
	REQUIRE(skp_phstate_host_pin(k.st, "db2", a.blob, a.bloblen, 1,
	    "laptop", NULL, 0) == SKP_OK);
	CHECK_RC(skp_handle_approved(&h, r, now), SKP_OK);
	CHECK(r->status == SKP_CTAP_HOSTKEY_CHANGED);
	skp_req_free(&r);
	skp_buf_free(&m);
	skp_buf_free(&l.data);
	hkey_free(&a);
	hkey_free(&b);
	kk_free(&k);
}

/* ---- ed25519-sk on the phone (issue 13) ---- */

static void
add_cred_ed25519(struct skp_phstate *st, uint8_t idbyte,
    struct skp_ph_cred *out)
{
	struct skp_ph_cred c;

	memset(&c, 0, sizeof(c));
	memset(c.id, idbyte, sizeof(c.id));
	snprintf(c.rp, sizeof(c.rp), "ssh:");
	c.cred_protect = 1;
	c.alg = SKP_COSE_ALG_EDDSA;
	if (skp_ed25519_generate(&c.ed) != SKP_OK ||
	    skp_phstate_cred_add(st, &c, NULL, 0) != SKP_OK)
		abort();
	if (out != NULL)
		*out = c;
}

static void
phstate_ed25519_cred(void)
{
	const char *dir = fresh_dir();
	struct skp_phstate *st, *st2 = NULL;
	struct skp_ph_cred c, e, bad;
	char why[SKP_PH_WHY_MAX];
	const struct skp_ph_cred *got;

	REQUIRE((st = open_state(dir)) != NULL);
	add_cred(st, 0x01, &c);
	add_cred_ed25519(st, 0x02, &e);
	skp_phstate_free(&st);
	/* Key 11 brings the alg back; an ES256 entry has none (-7). */
	CHECK_RC(skp_phstate_open(dir, NULL, 0, &st2, why, sizeof(why)),
	    SKP_OK);
	REQUIRE(st2 != NULL && st2->ncreds == 2);
	got = skp_phstate_cred_find(st2, e.id, sizeof(e.id));
	REQUIRE(got != NULL);
	CHECK(got->alg == SKP_COSE_ALG_EDDSA);
	CHECK_MEM(got->ed.pub, e.ed.pub, SKP_ED25519_PUB_LEN);
	CHECK_MEM(got->ed.priv, e.ed.priv, SKP_ED25519_PRIV_LEN);
	got = skp_phstate_cred_find(st2, c.id, sizeof(c.id));
	REQUIRE(got != NULL);
	CHECK(got->alg == SKP_COSE_ALG_ES256);
	/* A public key that is not the seed's: the reader refuses it. */
	bad = e;
	memset(bad.id, 0x03, sizeof(bad.id));
	bad.ed.pub[0] ^= 1;
	CHECK_RC(skp_phstate_cred_add(st2, &bad, NULL, 0), SKP_OK);
	skp_phstate_free(&st2);
	CHECK_RC(skp_phstate_open(dir, NULL, 0, &st2, why, sizeof(why)),
	    SKP_ERR_FORMAT);
	CHECK(strstr(why, "credentials") != NULL);
	skp_wipe(&e, sizeof(e));
	skp_wipe(&bad, sizeof(bad));
}

/* A userauth naming key type alg with this blob, no host information. */
static void
hlogin_key(struct hlogin *l, const char *alg, const skp_buf_t *blob)
{
	skp_buf_t *b = skp_buf_new(4096);
	uint8_t sid[32];

	memset(l, 0, sizeof(*l));
	memset(sid, 7, sizeof(sid));
	ssh_string(b, sid, sizeof(sid));
	if (skp_buf_u8(b, 50) != SKP_OK)
		abort();
	sstr(b, "root");
	sstr(b, "ssh-connection");
	sstr(b, "publickey");
	if (skp_buf_u8(b, 1) != SKP_OK)
		abort();
	sstr(b, alg);
	ssh_string(b, skp_buf_ptr(blob), skp_buf_len(blob));
	l->data = b;
	skp_sshmsg_parse(skp_buf_ptr(b), skp_buf_len(b), &l->msg);
}

/* Begin a login to credential c naming alg and blob: r's next step. */
static int
ed_login(struct kk *k, struct skp_handler *h, const struct skp_ph_cred *c,
    const char *alg, const skp_buf_t *blob, uint8_t idbyte,
    struct skp_req **r, struct hlogin *l)
{
	uint8_t *env = NULL;
	size_t envlen;
	skp_buf_t *m;
	uint64_t now = 1800000000000ULL;

	hlogin_key(l, alg, blob);
	if (login_request(c, l, now, idbyte, &env, &envlen) != SKP_OK)
		abort();
	m = kk_msg1(k, env, envlen, 0);
	free(env);
	if (skp_handle_begin(h, skp_buf_ptr(m), skp_buf_len(m), now, r) !=
	    SKP_OK || *r == NULL)
		abort();
	skp_buf_free(&m);
	return (*r)->next;
}

static void
handle_ed25519_login(void)
{
	struct skp_handler h;
	struct skp_ctap_response rs;
	struct skp_ctap_ga_resp ga;
	struct skp_ph_cred c, other;
	struct skp_req *r = NULL;
	struct hlogin l;
	struct kk k;
	skp_buf_t *blob = skp_buf_new(1024), *ob = skp_buf_new(1024);
	uint64_t now = 1800000000000ULL;

	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	add_cred_ed25519(k.st, 0x41, &c);
	add_cred_ed25519(k.st, 0x42, &other);
	REQUIRE(skp_phstate_key_blob(&c, blob) == SKP_OK);
	REQUIRE(skp_phstate_key_blob(&other, ob) == SKP_OK);
	/* string "sk-ssh-ed25519@openssh.com", string pk (32), string app */
	CHECK(skp_buf_len(blob) == 4 + 26 + 4 + 32 + 4 + 4);
	/* Its own blob: to be asked, then a 64-byte signature that verifies. */
	CHECK(ed_login(&k, &h, &c, SKP_PH_SK_ED25519, blob, 1, &r, &l) ==
	    SKP_HANDLE_APPROVE);
	CHECK_RC(skp_handle_approved(&h, r, now), SKP_OK);
	memset(&rs, 0, sizeof(rs));
	CHECK_RC(kk_answer(&k, r, &rs), SKP_OK);
	REQUIRE(rs.status == 0);
	REQUIRE(skp_ctap_ga_resp_decode(rs.ctap, rs.ctap_len, &ga) == SKP_OK);
	CHECK(ga.sig_len == 64 && ga.authdata_len == 37);
	CHECK_RC(skp_authdata_check_sig_ed25519(c.ed.pub, ga.authdata,
	    ga.authdata_len, r->req.ga.cdh, ga.sig, ga.sig_len), SKP_OK);
	skp_ctap_response_clear(&rs);
	skp_req_free(&r);
	skp_buf_free(&l.data);
	/* Another key's blob, or the ecdsa type name: 0x02 at once. */
	CHECK(ed_login(&k, &h, &c, SKP_PH_SK_ED25519, ob, 2, &r, &l) ==
	    SKP_HANDLE_RESPOND);
	CHECK(r->status == SKP_CTAP_INVALID_PARAMETER);
	skp_req_free(&r);
	skp_buf_free(&l.data);
	CHECK(ed_login(&k, &h, &c, SKP_PH_SK_ECDSA, blob, 3, &r, &l) ==
	    SKP_HANDLE_RESPOND);
	CHECK(r->status == SKP_CTAP_INVALID_PARAMETER);
	skp_req_free(&r);
	skp_buf_free(&l.data);
	skp_buf_free(&blob);
	skp_buf_free(&ob);
	kk_free(&k);
}

static void
handle_ed25519_enroll(void)
{
	struct skp_handler h;
	struct skp_ctap_request *req = calloc(1, sizeof(*req));
	struct skp_ctap_response rs;
	struct skp_ctap_mc_resp mc;
	struct skp_verify_cred vc;
	struct skp_req *r = NULL;
	struct kk k;
	skp_buf_t *m;
	uint8_t *env = NULL;
	size_t envlen;
	uint64_t now = 1800000000000ULL;

	REQUIRE(req != NULL);
	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	req->command = SKP_CTAP_MAKE_CREDENTIAL;
	req->time_ms = now;
	memset(req->id, 0x55, sizeof(req->id));
	snprintf(req->ctx.computer_name, sizeof(req->ctx.computer_name),
	    "laptop");
	req->ctx.has_raw = 1;
	req->ctx.raw_len = 32;
	memset(req->ctx.raw, 0x42, 32);
	REQUIRE(skp_sha256(req->ctx.raw, 32, req->mc.cdh) == SKP_OK);
	snprintf(req->mc.rp_id, sizeof(req->mc.rp_id), "ssh:");
	req->mc.user_id_len = 32;
	snprintf(req->mc.user_name, sizeof(req->mc.user_name), "openssh");
	req->mc.rk = req->mc.up = req->mc.uv = SKP_CTAP_OPT_ABSENT;
	req->mc.alg = SKP_CTAP_COSE_EDDSA;
	REQUIRE(skp_ctap_request_encode(req, &env, &envlen) == SKP_OK);
	m = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_APPROVE);
	/* The owner's question names the key type. */
	CHECK(strcmp(skp_handle_op_text(r), "enroll a new ed25519-sk key") ==
	    0);
	CHECK(strcmp(r->op, "enroll") == 0);
	CHECK_RC(skp_handle_approved(&h, r, now), SKP_OK);
	memset(&rs, 0, sizeof(rs));
	CHECK_RC(kk_answer(&k, r, &rs), SKP_OK);
	REQUIRE(rs.status == 0);
	REQUIRE(skp_ctap_mc_resp_decode(rs.ctap, rs.ctap_len, &mc) ==
	    SKP_OK);
	CHECK(mc.alg == -8 && mc.sig_len == 64);
	CHECK_RC(skp_verify_make_credential("ssh:", req->mc.cdh, mc.authdata,
	    mc.authdata_len, "packed", mc.alg, mc.sig, mc.sig_len, 0, &vc),
	    SKP_OK);
	CHECK(vc.alg == -8 && vc.pub_len == 32);
	REQUIRE(k.st->ncreds == 1);
	CHECK(k.st->creds[0].alg == SKP_COSE_ALG_EDDSA);
	CHECK_MEM(k.st->creds[0].ed.pub, vc.pub, 32);
	/* The audit key: the ed25519-sk blob's fingerprint. */
	CHECK(strncmp(r->key_fp, "SHA256:", 7) == 0);
	skp_ctap_response_clear(&rs);
	skp_req_free(&r);
	skp_buf_free(&m);
	free(env);
	/* The same for ecdsa-sk reads "ecdsa-sk". */
	req->mc.alg = 0;
	memset(req->id, 0x56, sizeof(req->id));
	REQUIRE(skp_ctap_request_encode(req, &env, &envlen) == SKP_OK);
	m = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m), skp_buf_len(m), now,
	    &r), SKP_OK);
	REQUIRE(r != NULL);
	CHECK(strcmp(skp_handle_op_text(r), "enroll a new ecdsa-sk key") ==
	    0);
	skp_req_free(&r);
	skp_buf_free(&m);
	free(env);
	free(req);
	kk_free(&k);
}

/* ---- the handler: the wrong-PIN count survives restarts ---- */

static int
pin_request(uint64_t time_ms, uint8_t idbyte, uint8_t **env, size_t *len)
{
	struct skp_ctap_request *req = calloc(1, sizeof(*req));
	int rc;

	if (req == NULL)
		return SKP_ERR_NOMEM;
	req->command = SKP_CTAP_MAKE_CREDENTIAL;
	req->time_ms = time_ms;
	memset(req->id, idbyte, sizeof(req->id));
	snprintf(req->ctx.computer_name, sizeof(req->ctx.computer_name),
	    "laptop");
	/* An enrollment's challenge: any bytes, hashed into cdh. */
	req->ctx.has_raw = 1;
	req->ctx.raw_len = 32;
	memset(req->ctx.raw, 0x42, req->ctx.raw_len);
	if (skp_sha256(req->ctx.raw, req->ctx.raw_len, req->mc.cdh) !=
	    SKP_OK)
		abort();
	snprintf(req->mc.rp_id, sizeof(req->mc.rp_id), "ssh:");
	memset(req->mc.user_id, 0, 32);
	req->mc.user_id_len = 32;
	snprintf(req->mc.user_name, sizeof(req->mc.user_name), "openssh");
	req->mc.cred_protect = 2;
	req->mc.rk = 0;
	req->mc.up = SKP_CTAP_OPT_ABSENT;
	req->mc.uv = 1;
	rc = skp_ctap_request_encode(req, env, len);
	free(req);
	return rc;
}

/*
 * Transport message 3 with pin, after message 2 asked for it (0x36 with
 * key 5); the request's next step afterwards.
 */
static void
pin_send(struct kk *k, struct skp_handler *h, struct skp_req *r,
    const char *pin)
{
	struct skp_ctap_response rs;
	skp_noise_transport_t *tp = NULL;
	skp_buf_t *b = skp_buf_new(SKP_NOISE_MAX_MSG);
	uint8_t *pm = NULL;
	size_t pmlen = 0;

	REQUIRE(b != NULL);
	CHECK(r->next == SKP_HANDLE_PIN);
	CHECK_RC(kk_answer(k, r, &rs), SKP_OK);
	CHECK(rs.status == SKP_CTAP_PIN_REQUIRED && rs.pin_may_follow);
	skp_ctap_response_clear(&rs);
	if (skp_noise_split(k->init, &tp) != SKP_OK ||
	    skp_ctap_pin_encode(pin, &pm, &pmlen) != SKP_OK ||
	    skp_noise_transport_encrypt(tp, pm, pmlen, b) != SKP_OK)
		abort();
	CHECK(pmlen == SKP_CTAP_PIN_MSG_LEN);
	CHECK_RC(skp_handle_pin(h, r, skp_buf_ptr(b), skp_buf_len(b)),
	    SKP_OK);
	/* A refusal goes back in transport message 4. */
	if (r->next == SKP_HANDLE_RESPOND) {
		skp_buf_reset(b);
		CHECK_RC(skp_noise_transport_decrypt(tp, skp_buf_ptr(r->reply),
		    skp_buf_len(r->reply), b), SKP_OK);
		CHECK_RC(skp_ctap_response_decode(skp_buf_ptr(b),
		    skp_buf_len(b), &rs), SKP_OK);
		CHECK(rs.status == r->status && !rs.pin_may_follow);
		skp_ctap_response_clear(&rs);
	}
	skp_wipe(pm, pmlen);
	free(pm);
	skp_noise_transport_free(&tp);
	skp_buf_free(&b);
}

/* One PIN request through h (a phone over st): the status it gets. */
static int
pin_try(struct kk *k, struct skp_handler *h, uint8_t idbyte, const char *pin,
    int *uv)
{
	struct skp_req *r = NULL;
	skp_buf_t *m;
	uint8_t *env = NULL;
	size_t envlen;
	int status;

	if (pin_request(1800000000000ULL, idbyte, &env, &envlen) != SKP_OK)
		abort();
	m = kk_msg1(k, env, envlen, 0);
	free(env);
	if (skp_handle_begin(h, skp_buf_ptr(m), skp_buf_len(m),
	    1800000000000ULL, &r) != SKP_OK || r == NULL)
		abort();
	if (r->next == SKP_HANDLE_PIN)
		pin_send(k, h, r, pin);
	status = r->status;
	*uv = r->uv;
	skp_req_free(&r);
	skp_buf_free(&m);
	return status;
}

static void
handle_pin_failures_durable(void)
{
	struct skp_handler h, h2;
	struct skp_phstate *st2 = NULL;
	struct stat sb;
	char path[4096 + 8];
	struct kk k;
	uint8_t id = 1;
	int i, uv;

	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	h.have_pin = 1;
	snprintf(h.pin, sizeof(h.pin), "2468");
	CHECK(k.st->pin_failures == 0);
	for (i = 0; i < 3; i++)
		CHECK(pin_try(&k, &h, id++, "1357", &uv) ==
		    SKP_CTAP_PIN_INVALID && !uv);
	CHECK(k.st->pin_failures == 3);
	/* On disk, sealed, 0600: a restarted phone starts from 3. */
	snprintf(path, sizeof(path), "%s/pin", k.st->dir);
	REQUIRE(stat(path, &sb) == 0);
	CHECK((sb.st_mode & 0777) == 0600);
	REQUIRE((st2 = open_state(k.st->dir)) != NULL);
	CHECK(st2->pin_failures == 3);
	h2 = h;
	h2.st = st2;
	for (i = 3; i < SKP_HANDLE_PIN_TRIES; i++)
		CHECK(pin_try(&k, &h2, id++, "1357", &uv) ==
		    SKP_CTAP_PIN_INVALID);
	CHECK(st2->pin_failures == SKP_HANDLE_PIN_TRIES);
	CHECK(pin_try(&k, &h2, id++, "2468", &uv) == SKP_CTAP_PIN_BLOCKED &&
	    !uv);
	/* Another restart: still blocked, even for the right PIN. */
	skp_phstate_free(&st2);
	REQUIRE((st2 = open_state(k.st->dir)) != NULL);
	h2.st = st2;
	CHECK(st2->pin_failures == SKP_HANDLE_PIN_TRIES);
	CHECK(pin_try(&k, &h2, id++, "2468", &uv) == SKP_CTAP_PIN_BLOCKED &&
	    !uv);
	/* The old process sees it at its next reload, as serve does. */
	CHECK_RC(skp_phstate_reload(k.st, NULL, 0), SKP_OK);
	CHECK(pin_try(&k, &h, id++, "2468", &uv) == SKP_CTAP_PIN_BLOCKED);
	/* The owner's pin-reset unblocks it. */
	CHECK_RC(skp_phstate_pin_reset(st2, NULL, 0), SKP_OK);
	CHECK(st2->pin_failures == 0);
	CHECK_RC(skp_phstate_reload(k.st, NULL, 0), SKP_OK);
	CHECK(k.st->pin_failures == 0);
	CHECK(pin_try(&k, &h, id++, "2468", &uv) == 0 && uv);
	/* A right PIN sets the count back to 0, on disk too. */
	CHECK(pin_try(&k, &h, id++, "0000", &uv) == SKP_CTAP_PIN_INVALID);
	CHECK(pin_try(&k, &h, id++, "0000", &uv) == SKP_CTAP_PIN_INVALID);
	CHECK(k.st->pin_failures == 2);
	CHECK(pin_try(&k, &h, id++, "2468", &uv) == 0 && uv);
	CHECK(k.st->pin_failures == 0);
	skp_phstate_free(&st2);
	REQUIRE((st2 = open_state(k.st->dir)) != NULL);
	CHECK(st2->pin_failures == 0);
	/* A stale copy counts from the disk, not from its memory. */
	CHECK_RC(skp_phstate_pin_failed(st2, NULL, 0), SKP_OK);
	CHECK_RC(skp_phstate_pin_failed(k.st, NULL, 0), SKP_OK);
	CHECK(k.st->pin_failures == 2);
	skp_phstate_free(&st2);
	kk_free(&k);
}

/*
 * Issue 9 item 7: a recorded transcript of a request with the PIN, read
 * later by someone who stole the phone's static key and the request psk.
 * Message 1 opens (it was made under es, ss and the psk) and holds no
 * PIN; the PIN is in transport message 3 only, whose keys need the
 * phone's ephemeral, which the thief does not have.
 */
static void
handle_pin_forward_secret(void)
{
	static const char pin[] = "2468";
	struct skp_handler h;
	struct skp_req *r = NULL;
	struct skp_ctap_response rs;
	skp_noise_t *thief = NULL;
	skp_noise_transport_t *tp = NULL, *ttp = NULL;
	skp_buf_t *m1, *m3 = skp_buf_new(SKP_NOISE_MAX_MSG);
	skp_buf_t *pt = skp_buf_new(SKP_NOISE_MAX_MSG);
	skp_buf_t *junk = skp_buf_new(SKP_NOISE_MAX_MSG);
	uint8_t *env = NULL, *pm = NULL;
	size_t envlen = 0, pmlen = 0;
	struct kk k;

	REQUIRE(m3 != NULL && pt != NULL && junk != NULL);
	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	h.have_pin = 1;
	snprintf(h.pin, sizeof(h.pin), "%s", pin);
	/* The computer: message 1, then the PIN once asked. */
	REQUIRE(pin_request(1800000000000ULL, 0x77, &env, &envlen) == SKP_OK);
	m1 = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m1), skp_buf_len(m1),
	    1800000000000ULL, &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_PIN);
	CHECK_RC(kk_answer(&k, r, &rs), SKP_OK);
	CHECK(rs.status == SKP_CTAP_PIN_REQUIRED && rs.pin_may_follow);
	skp_ctap_response_clear(&rs);
	REQUIRE(skp_noise_split(k.init, &tp) == SKP_OK &&
	    skp_ctap_pin_encode(pin, &pm, &pmlen) == SKP_OK &&
	    skp_noise_transport_encrypt(tp, pm, pmlen, m3) == SKP_OK);
	CHECK_RC(skp_handle_pin(&h, r, skp_buf_ptr(m3), skp_buf_len(m3)),
	    SKP_OK);
	CHECK(r->next == SKP_HANDLE_APPROVE && r->uv);
	CHECK_RC(skp_handle_approved(&h, r, 1800000000000ULL), SKP_OK);
	/* Message 4 is the signed answer, under the transport keys. */
	CHECK_RC(skp_noise_transport_decrypt(tp, skp_buf_ptr(r->reply),
	    skp_buf_len(r->reply), pt), SKP_OK);
	CHECK_RC(skp_ctap_response_decode(skp_buf_ptr(pt), skp_buf_len(pt),
	    &rs), SKP_OK);
	CHECK(rs.status == SKP_CTAP_OK && rs.ctap != NULL);
	skp_ctap_response_clear(&rs);
	/* The thief: the phone's static key and psk, and the transcript. */
	skp_buf_reset(pt);
	REQUIRE((thief = skp_noise_new(SKP_NOISE_KKPSK0,
	    SKP_NOISE_RESPONDER)) != NULL);
	REQUIRE(skp_noise_set_local_static(thief, &k.st->identity) ==
	    SKP_OK && skp_noise_set_remote_static(thief, k.comp.pub) ==
	    SKP_OK && skp_noise_set_psk(thief, k.psk) == SKP_OK);
	CHECK_RC(skp_noise_read_message(thief, skp_buf_ptr(m1),
	    skp_buf_len(m1), pt), SKP_OK);
	CHECK(skp_buf_len(pt) == envlen &&
	    memcmp(skp_buf_ptr(pt), env, envlen) == 0);
	CHECK(memmem(skp_buf_ptr(pt), skp_buf_len(pt), pin,
	    strlen(pin)) == NULL);
	CHECK(memmem(skp_buf_ptr(m3), skp_buf_len(m3), pin,
	    strlen(pin)) == NULL);
	/* Its own message 2 gives it other keys: message 3 stays shut. */
	REQUIRE(skp_noise_write_message(thief, NULL, 0, junk) == SKP_OK &&
	    skp_noise_split(thief, &ttp) == SKP_OK);
	skp_buf_reset(pt);
	CHECK_RC(skp_noise_transport_decrypt(ttp, skp_buf_ptr(m3),
	    skp_buf_len(m3), pt), SKP_ERR_DECRYPT);
	skp_noise_transport_free(&ttp);
	skp_noise_transport_free(&tp);
	skp_noise_free(&thief);
	skp_req_free(&r);
	skp_wipe(pm, pmlen);
	free(pm);
	free(env);
	skp_buf_free(&m1);
	skp_buf_free(&m3);
	skp_buf_free(&pt);
	skp_buf_free(&junk);
	kk_free(&k);
}

/*
 * A computer of protocol 1 (envelope version 1) is told to update, in
 * protocol 1's answer layout (no padding), and nothing else happens.
 */
static void
handle_old_version(void)
{
	struct skp_handler h;
	struct skp_req *r = NULL;
	struct skp_ctap_response rs;
	skp_buf_t *m1, *pt = skp_buf_new(SKP_NOISE_MAX_MSG);
	uint8_t *env = NULL;
	size_t envlen = 0;
	struct kk k;

	REQUIRE(pt != NULL);
	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	REQUIRE(pin_request(1800000000000ULL, 0x79, &env, &envlen) == SKP_OK);
	REQUIRE(env[1] == 0x01 && env[2] == 0x02);
	env[2] = 0x01;
	m1 = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m1), skp_buf_len(m1),
	    1800000000000ULL, &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_RESPOND);
	CHECK(r->status == SKP_CTAP_BAD_VERSION);
	CHECK_RC(skp_noise_read_message(k.init, skp_buf_ptr(r->reply),
	    skp_buf_len(r->reply), pt), SKP_OK);
	CHECK(skp_buf_len(pt) < 256);
	CHECK_RC(skp_ctap_response_decode(skp_buf_ptr(pt), skp_buf_len(pt),
	    &rs), SKP_OK);
	CHECK(rs.status == SKP_CTAP_BAD_VERSION &&
	    strstr(rs.reason, "update sk-phone on the computer") != NULL);
	CHECK_RC(skp_ctap_status_err(rs.status), SKP_ERR_VERSION);
	skp_ctap_response_clear(&rs);
	skp_req_free(&r);
	skp_buf_free(&m1);
	skp_buf_free(&pt);
	free(env);
	kk_free(&k);
}

/*
 * Message 1 of protocol 1 put the PIN in context key 4: refused now, and
 * nothing counted or asked. A message 3 that does not decrypt under the
 * call's keys gets no answer at all.
 */
static void
handle_pin_refusals(void)
{
	struct skp_handler h;
	struct skp_req *r = NULL;
	struct skp_ctap_response rs;
	cbor_item_t *t = NULL, *ctx, *ctx2;
	struct cbor_pair *pp;
	skp_buf_t *m1;
	size_t i;
	uint8_t *env = NULL, *env2 = NULL, junk[160];
	size_t envlen = 0, env2len = 0;
	struct kk k;

	kk_setup(&k);
	memset(&h, 0, sizeof(h));
	h.st = k.st;
	h.have_pin = 1;
	snprintf(h.pin, sizeof(h.pin), "2468");
	REQUIRE(pin_request(1800000000000ULL, 0x78, &env, &envlen) == SKP_OK);
	/* The same envelope with {4: "2468"} in its context. */
	REQUIRE(skp_cbor_load(env, envlen, SKP_CTAP_ENVELOPE_MAX, &t) ==
	    SKP_OK);
	REQUIRE(skp_cbor_map_get(t, 6, CBOR_TYPE_MAP, &ctx) == SKP_OK &&
	    cbor_map_size(ctx) == 2);
	/* Its keys 1 and 2, then 4: a new map in the old one's place. */
	pp = cbor_map_handle(ctx);
	REQUIRE((ctx2 = skp_cbor_map(3)) != NULL &&
	    skp_cbor_map_put(ctx2, 1, cbor_incref(pp[0].value)) == SKP_OK &&
	    skp_cbor_map_put(ctx2, 2, cbor_incref(pp[1].value)) == SKP_OK &&
	    skp_cbor_map_put(ctx2, 4, skp_cbor_text("2468")) == SKP_OK);
	pp = cbor_map_handle(t);
	for (i = 0; i < cbor_map_size(t); i++)
		if (cbor_get_uint8(pp[i].key) == 6) {
			cbor_decref(&pp[i].value);
			pp[i].value = ctx2;
		}
	REQUIRE(skp_cbor_encode(t, SKP_CTAP_ENVELOPE_MAX, &env2, &env2len) ==
	    SKP_OK);
	m1 = kk_msg1(&k, env2, env2len, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m1), skp_buf_len(m1),
	    1800000000000ULL, &r), SKP_OK);
	REQUIRE(r != NULL);
	CHECK(r->next == SKP_HANDLE_RESPOND && !r->uv);
	CHECK(r->status == SKP_CTAP_INVALID_PARAMETER);
	CHECK_RC(kk_answer(&k, r, &rs), SKP_OK);
	CHECK(rs.status == SKP_CTAP_INVALID_PARAMETER && !rs.pin_may_follow);
	skp_ctap_response_clear(&rs);
	CHECK(k.st->pin_failures == 0);
	skp_req_free(&r);
	skp_buf_free(&m1);
	/* A message 3 that is not from the call's computer: dropped. */
	m1 = kk_msg1(&k, env, envlen, 0);
	CHECK_RC(skp_handle_begin(&h, skp_buf_ptr(m1), skp_buf_len(m1),
	    1800000000000ULL, &r), SKP_OK);
	REQUIRE(r != NULL && r->next == SKP_HANDLE_PIN);
	memset(junk, 0x33, sizeof(junk));
	CHECK_RC(skp_handle_pin(&h, r, junk, sizeof(junk)), SKP_OK);
	CHECK(r->next == SKP_HANDLE_DROP && r->reply == NULL && !r->uv);
	CHECK(k.st->pin_failures == 0);
	/* And nothing more on that call. */
	CHECK_RC(skp_handle_pin(&h, r, junk, sizeof(junk)), SKP_ERR_STATE);
	skp_req_free(&r);
	skp_buf_free(&m1);
	skp_cbor_free(&t);
	free(env);
	free(env2);
	kk_free(&k);
}

static void
phstate_pin_decode_refusals(void)
{
	struct skp_phstate *st = calloc(1, sizeof(*st));

	REQUIRE(st != NULL);
	CHECK_RC(skp_phstate_decode_pin(st, (const uint8_t *)"\xa1\x01\x07",
	    3), SKP_OK);
	CHECK(st->pin_failures == 7);
	CHECK_RC(skp_phstate_decode_pin(st,
	    (const uint8_t *)"\xa1\x01\x18\xff", 4), SKP_OK);
	CHECK(st->pin_failures == 255);
	/* Over the cap, missing, another key, another type, trailing. */
	CHECK(skp_phstate_decode_pin(st,
	    (const uint8_t *)"\xa1\x01\x19\x01\x00", 5) != SKP_OK);
	CHECK(skp_phstate_decode_pin(st, (const uint8_t *)"\xa0", 1) !=
	    SKP_OK);
	CHECK(skp_phstate_decode_pin(st,
	    (const uint8_t *)"\xa2\x01\x00\x02\x00", 5) != SKP_OK);
	CHECK(skp_phstate_decode_pin(st, (const uint8_t *)"\xa1\x01\x20",
	    3) != SKP_OK);
	CHECK(skp_phstate_decode_pin(st,
	    (const uint8_t *)"\xa1\x01\x00\x00", 4) != SKP_OK);
	CHECK(st->pin_failures == 255);
	free(st);
}

static void
handle_changed_reason_fits(void)
{
	char host[300], out[SKP_PH_WHY_MAX];

	skp_handle_changed_reason("[db1]:2222", out, sizeof(out));
	CHECK(strcmp(out, "host key for [db1]:2222 changed; the phone "
	    "refused to sign; if the change is expected run: "
	    "sk-phone-authenticator hosts forget '[db1]:2222'") == 0);
	memset(host, 'a', 250);
	host[250] = '\0';
	skp_handle_changed_reason(host, out, sizeof(out));
	CHECK(strlen(out) <= SKP_CTAP_REASON_MAX);
	CHECK(strstr(out, "sk-phone-authenticator hosts") != NULL);
}

static const struct skp_test_case cases[] = {
	{ "phstate_identity_mailbox_versions",
	    phstate_identity_mailbox_versions },
	{ "phstate_rotation_fields", phstate_rotation_fields },
	{ "phstate_mailbox_rotation", phstate_mailbox_rotation },
	{ "sshmsg_userauth", sshmsg_userauth },
	{ "sshmsg_userauth_hostbound", sshmsg_userauth_hostbound },
	{ "sshmsg_userauth_refusals", sshmsg_userauth_refusals },
	{ "sshmsg_userauth_truncated", sshmsg_userauth_truncated },
	{ "sshmsg_sshsig", sshmsg_sshsig },
	{ "sshmsg_sshsig_refusals", sshmsg_sshsig_refusals },
	{ "sshmsg_printable", sshmsg_printable },
	{ "payload_hello_roundtrip", payload_hello_roundtrip },
	{ "payload_hello_refusals", payload_hello_refusals },
	{ "payload_hello_encode_refusals", payload_hello_encode_refusals },
	{ "payload_reply_and_confirm", payload_reply_and_confirm },
	{ "pairflow_phone_refuses_stale_uri",
	    pairflow_phone_refuses_stale_uri },
	{ "pairflow_out_of_order", pairflow_out_of_order },
	{ "pairflow_relay_unreachable", pairflow_relay_unreachable },
	{ "call_refusals", call_refusals },
	{ "call_clock_text", call_clock_text },
	{ "phstate_create_and_reopen", phstate_create_and_reopen },
	{ "phstate_relay_list", phstate_relay_list },
	{ "phstate_folder_open_to_others", phstate_folder_open_to_others },
	{ "phstate_seal", phstate_seal },
	{ "phstate_replay_cache", phstate_replay_cache },
	{ "phstate_replay_clock_jumps", phstate_replay_clock_jumps },
	{ "phstate_replay_shares", phstate_replay_shares },
	{ "phstate_window_namespaces", phstate_window_namespaces },
	{ "phstate_counters", phstate_counters },
	{ "phstate_counter_end", phstate_counter_end },
	{ "phstate_reload_sees_other_writers",
	    phstate_reload_sees_other_writers },
	{ "phstate_reload_after_direct_decode",
	    phstate_reload_after_direct_decode },
	{ "phstate_decode_refusals", phstate_decode_refusals },
	{ "phstate_pin_decode_refusals", phstate_pin_decode_refusals },
	{ "handle_pin_failures_durable", handle_pin_failures_durable },
	{ "handle_pin_forward_secret", handle_pin_forward_secret },
	{ "handle_pin_refusals", handle_pin_refusals },
	{ "handle_old_version", handle_old_version },
	{ "phstate_cred_key_must_match", phstate_cred_key_must_match },
	{ "phstate_passphrase", phstate_passphrase },
	{ "phstate_fingerprint", phstate_fingerprint },
	{ "phstate_ed25519_cred", phstate_ed25519_cred },
	{ "handle_ed25519_login", handle_ed25519_login },
	{ "handle_ed25519_enroll", handle_ed25519_enroll },
	{ "prompt_answers", prompt_answers },
	{ "prompt_guard", prompt_guard },
	{ "prompt_timeout_and_gone", prompt_timeout_and_gone },
	{ "audit_lines", audit_lines },
	{ "handle_get_info_and_refusals", handle_get_info_and_refusals },
	{ "hostcheck_verified_and_pinned", hostcheck_verified_and_pinned },
	{ "hostcheck_refusals", hostcheck_refusals },
	{ "phstate_host_names", phstate_host_names },
	{ "phstate_hosts", phstate_hosts },
	{ "phstate_hosts_decode_refusals", phstate_hosts_decode_refusals },
	{ "phstate_cas", phstate_cas },
	{ "handle_host_key_changed", handle_host_key_changed },
	{ "handle_changed_reason_fits", handle_changed_reason_fits },
};

int
main(int argc, char **argv)
{
	char cmd[400];
	int rc;

	rc = skp_test_run(cases, nitems(cases), argc, argv);
	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
