/* Unit tests for the incremental SSH transport parser. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/err.h"
#include "sk-phone/sshwire.h"
#include "harness.h"

#define C2S	SKP_SSHWIRE_C2S
#define S2C	SKP_SSHWIRE_S2C
#define CAP	(600 * 1024)

static const char client_version[] = "SSH-2.0-OpenSSH_9.2p1 Debian\r\n";
static const char server_version[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
static const char client_kex[] =
    "curve25519-sha256,diffie-hellman-group-exchange-sha256,"
    "ext-info-c,kex-strict-c-v00@openssh.com";
static const char server_kex[] =
    "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
    "diffie-hellman-group-exchange-sha256,kex-strict-s-v00@openssh.com";
static const char client_hk[] = "ssh-ed25519,rsa-sha2-512";
static const char server_hk[] = "rsa-sha2-512,ssh-ed25519";

/* A K_S and a signature blob: only their shape matters here. */
static const uint8_t hostkey[] = {
	0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9',
	0, 0, 0, 4, 0xaa, 0xbb, 0xcc, 0xdd };
static const uint8_t sigblob[] = {
	0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9',
	0, 0, 0, 2, 0x51, 0x52 };
static const uint8_t other_key[] = {
	0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a', 1, 2, 3 };

/* A transcript in two streams, fed by the cases. */
struct tr {
	skp_buf_t	*c;
	skp_buf_t	*s;
};

static struct tr *
tr_new(void)
{
	struct tr *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->c = skp_buf_new(CAP)) == NULL ||
	    (t->s = skp_buf_new(CAP)) == NULL)
		abort();
	return t;
}

static void
tr_free(struct tr *t)
{
	skp_buf_free(&t->c);
	skp_buf_free(&t->s);
	free(t);
}

/* A binary packet around payload, padded to 8 with at least 4 bytes. */
static void
packet(skp_buf_t *b, const uint8_t *payload, size_t n)
{
	uint8_t pad[32] = { 0 };
	size_t padlen = 8 - ((5 + n) % 8);

	if (padlen < 4)
		padlen += 8;
	if (skp_buf_u32(b, (uint32_t)(1 + n + padlen)) != SKP_OK ||
	    skp_buf_u8(b, (uint8_t)padlen) != SKP_OK ||
	    skp_buf_put(b, payload, n) != SKP_OK ||
	    skp_buf_put(b, pad, padlen) != SKP_OK)
		abort();
}

static void
packet_of(skp_buf_t *b, skp_buf_t *payload)
{
	packet(b, skp_buf_ptr(payload), skp_buf_len(payload));
	skp_buf_reset(payload);
}

static void
kexinit(skp_buf_t *b, const char *kex, const char *hk, int follows)
{
	static const char *const rest[] = { "aes128-ctr", "aes128-ctr",
	    "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", "" };
	skp_buf_t *p = skp_buf_new(CAP);
	uint8_t cookie[16] = { 0 };
	size_t i;

	if (p == NULL)
		abort();
	skp_buf_u8(p, 20);
	skp_buf_put(p, cookie, sizeof(cookie));
	skp_buf_string(p, kex, strlen(kex));
	skp_buf_string(p, hk, strlen(hk));
	for (i = 0; i < nitems(rest); i++)
		skp_buf_string(p, rest[i], strlen(rest[i]));
	skp_buf_u8(p, (uint8_t)follows);
	skp_buf_u32(p, 0);
	packet_of(b, p);
	skp_buf_free(&p);
}

static void
reply(skp_buf_t *b, uint8_t type, const uint8_t *k, size_t kl,
    const uint8_t *s, size_t sl)
{
	skp_buf_t *p = skp_buf_new(CAP);
	uint8_t q[32];

	if (p == NULL)
		abort();
	memset(q, 0x33, sizeof(q));
	skp_buf_u8(p, type);
	skp_buf_string(p, k, kl);
	skp_buf_string(p, q, sizeof(q));
	skp_buf_string(p, s, sl);
	packet_of(b, p);
	skp_buf_free(&p);
}

static void
simple(skp_buf_t *b, uint8_t type)
{
	uint8_t p[5] = { 0 };

	p[0] = type;
	packet(b, p, sizeof(p));
}

static void
put_str(skp_buf_t *b, const char *s)
{
	if (skp_buf_put(b, s, strlen(s)) != SKP_OK)
		abort();
}

/* The usual start: both versions and both KEXINITs. */
static struct tr *
tr_start(const char *ckex, const char *skex)
{
	struct tr *t = tr_new();

	put_str(t->c, client_version);
	kexinit(t->c, ckex, client_hk, 0);
	put_str(t->s, server_version);
	kexinit(t->s, skex, server_hk, 0);
	return t;
}

/* Client stream first (as a proxy sees it), then server, in chunks. */
static int
feed_all(skp_sshwire_t *w, const struct tr *t, size_t chunk)
{
	const uint8_t *p;
	size_t off, k, n;
	int d, rc = SKP_SSHWIRE_MORE;

	for (d = 0; d < 2; d++) {
		p = skp_buf_ptr(d == 0 ? t->c : t->s);
		n = skp_buf_len(d == 0 ? t->c : t->s);
		for (off = 0; off < n; off += k) {
			k = chunk == 0 || n - off < chunk ? n - off : chunk;
			rc = skp_sshwire_feed(w, d == 0 ? C2S : S2C, p + off,
			    k);
		}
	}
	return rc;
}

static int
parse(const struct tr *t, size_t chunk, skp_sshwire_t **out)
{
	skp_sshwire_t *w = skp_sshwire_new();
	int rc;

	if (w == NULL)
		abort();
	rc = feed_all(w, t, chunk);
	if (out != NULL)
		*out = w;
	else
		skp_sshwire_free(&w);
	return rc;
}

static void
check_result(const skp_sshwire_t *w, const char *kex, const uint8_t *k,
    size_t kl)
{
	const uint8_t *p;
	size_t n;

	CHECK(strcmp(skp_sshwire_kex(w), kex) == 0);
	CHECK(strcmp(skp_sshwire_hostkey_alg(w), "ssh-ed25519") == 0);
	CHECK(strcmp(skp_sshwire_server_version(w),
	    "SSH-2.0-OpenSSH_9.2p1 Debian-2") == 0);
	skp_sshwire_hostkey(w, &p, &n);
	CHECK(n == kl && p != NULL && memcmp(p, k, kl) == 0);
	skp_sshwire_signature(w, &p, &n);
	CHECK(n == sizeof(sigblob) && p != NULL &&
	    memcmp(p, sigblob, n) == 0);
}

static void
curve25519_reply_in_one_piece(void)
{
	struct tr *t = tr_start(client_kex, server_kex);
	skp_sshwire_t *w = NULL;
	const uint8_t *p;
	size_t n;

	reply(t->s, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	simple(t->s, 21);	/* NEWKEYS after it: never looked at */
	CHECK_RC(parse(t, 0, &w), SKP_SSHWIRE_DONE);
	REQUIRE(w != NULL);
	CHECK_RC(skp_sshwire_status(w), SKP_SSHWIRE_DONE);
	check_result(w, "curve25519-sha256", hostkey, sizeof(hostkey));
	/* Done: later bytes change nothing. */
	CHECK_RC(skp_sshwire_feed(w, S2C, "garbage", 7), SKP_SSHWIRE_DONE);
	skp_sshwire_hostkey(w, &p, &n);
	CHECK(n == sizeof(hostkey));
	skp_sshwire_free(&w);
	CHECK(w == NULL);
	skp_sshwire_free(&w);
	skp_sshwire_free(NULL);
	tr_free(t);
}

static void
any_chunking_same_result(void)
{
	struct tr *t = tr_start(client_kex, server_kex);
	skp_sshwire_t *w;
	size_t chunk;

	reply(t->s, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	for (chunk = 1; chunk <= 17; chunk++) {
		w = NULL;
		CHECK_RC(parse(t, chunk, &w), SKP_SSHWIRE_DONE);
		REQUIRE(w != NULL);
		check_result(w, "curve25519-sha256", hostkey,
		    sizeof(hostkey));
		skp_sshwire_free(&w);
	}
	tr_free(t);
}

/* Interleaved as on a real connection: versions, KEXINITs, reply. */
static void
interleaved_directions(void)
{
	skp_sshwire_t *w = skp_sshwire_new();
	skp_buf_t *b = skp_buf_new(CAP);

	REQUIRE(w != NULL && b != NULL);
	CHECK_RC(skp_sshwire_feed(w, S2C, server_version,
	    strlen(server_version)), SKP_SSHWIRE_MORE);
	CHECK_RC(skp_sshwire_feed(w, C2S, client_version,
	    strlen(client_version)), SKP_SSHWIRE_MORE);
	kexinit(b, server_kex, server_hk, 0);
	CHECK_RC(skp_sshwire_feed(w, S2C, skp_buf_ptr(b), skp_buf_len(b)),
	    SKP_SSHWIRE_MORE);
	skp_buf_reset(b);
	kexinit(b, client_kex, client_hk, 0);
	simple(b, 30);	/* the client's KEX init: not looked at */
	CHECK_RC(skp_sshwire_feed(w, C2S, skp_buf_ptr(b), skp_buf_len(b)),
	    SKP_SSHWIRE_MORE);
	skp_buf_reset(b);
	reply(b, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(skp_sshwire_feed(w, S2C, skp_buf_ptr(b), skp_buf_len(b)),
	    SKP_SSHWIRE_DONE);
	check_result(w, "curve25519-sha256", hostkey, sizeof(hostkey));
	skp_buf_free(&b);
	skp_sshwire_free(&w);
}

static void
group_exchange_reply_is_33(void)
{
	static const char gex[] = "diffie-hellman-group-exchange-sha256";
	struct tr *t = tr_start(gex, server_kex);
	skp_sshwire_t *w = NULL;
	uint8_t group[40];

	/* 31 is the group (p, g) here: two mpints, never a host key. */
	memset(group, 0x7f, sizeof(group));
	reply(t->s, 31, other_key, sizeof(other_key), group, sizeof(group));
	CHECK_RC(parse(t, 0, NULL), SKP_SSHWIRE_MORE);
	reply(t->s, 33, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 3, &w), SKP_SSHWIRE_DONE);
	REQUIRE(w != NULL);
	check_result(w, gex, hostkey, sizeof(hostkey));
	skp_sshwire_free(&w);
	tr_free(t);
}

static void
refuses_33_outside_group_exchange(void)
{
	struct tr *t = tr_start(client_kex, server_kex);

	reply(t->s, 33, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
}

static void
negotiates_first_client_choice(void)
{
	struct tr *t = tr_start("x-kex,curve25519-sha256,ecdh-sha2-nistp256",
	    "ecdh-sha2-nistp256,curve25519-sha256");
	skp_sshwire_t *w = NULL;

	reply(t->s, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 0, &w), SKP_SSHWIRE_DONE);
	REQUIRE(w != NULL);
	CHECK(strcmp(skp_sshwire_kex(w), "curve25519-sha256") == 0);
	skp_sshwire_free(&w);
	tr_free(t);
}

static void
refuses_no_common_kex(void)
{
	struct tr *t = tr_start("curve25519-sha256", "ecdh-sha2-nistp256");

	CHECK_RC(parse(t, 0, NULL), SKP_ERR_UNSUPPORTED);
	tr_free(t);
	/* Markers in common are not a method. */
	t = tr_start("ext-info-c,kex-strict-c-v00@openssh.com,foo",
	    "bar,ext-info-c,kex-strict-c-v00@openssh.com");
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_UNSUPPORTED);
	tr_free(t);
	t = tr_start("gss-curve25519-sha256-x,curve25519-sha256",
	    "gss-curve25519-sha256-x,curve25519-sha256");
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_UNSUPPORTED);
	tr_free(t);
}

static void
refuses_bad_name_lists(void)
{
	struct tr *t = tr_start("curve25519 sha256", server_kex);

	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	t = tr_start("curve25519-sha256,,x", server_kex);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	t = tr_start("", server_kex);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	t = tr_start("a23456789012345678901234567890123456789012345678901234"
	    "56789012345", server_kex);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
}

static void
pre_banner_lines_and_ignore_packets(void)
{
	struct tr *t = tr_new();
	skp_sshwire_t *w = NULL;

	put_str(t->c, client_version);
	simple(t->c, 2);
	kexinit(t->c, client_kex, client_hk, 0);
	put_str(t->s, "Welcome\r\nto this host\n\r\n");
	put_str(t->s, server_version);
	simple(t->s, 2);
	simple(t->s, 4);
	kexinit(t->s, server_kex, server_hk, 0);
	simple(t->s, 3);
	reply(t->s, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 1, &w), SKP_SSHWIRE_DONE);
	REQUIRE(w != NULL);
	check_result(w, "curve25519-sha256", hostkey, sizeof(hostkey));
	skp_sshwire_free(&w);
	tr_free(t);
}

static void
refuses_too_many_or_long_lines(void)
{
	struct tr *t = tr_new();
	char *line;
	int i;

	for (i = 0; i <= SKP_SSHWIRE_LINES_MAX; i++)
		put_str(t->s, "x\r\n");
	put_str(t->s, server_version);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_TOO_LARGE);
	tr_free(t);
	/* Exactly the cap is fine. */
	t = tr_new();
	for (i = 0; i < SKP_SSHWIRE_LINES_MAX; i++)
		put_str(t->s, "x\r\n");
	put_str(t->s, server_version);
	CHECK_RC(parse(t, 0, NULL), SKP_SSHWIRE_MORE);
	tr_free(t);
	REQUIRE((line = malloc(SKP_SSHWIRE_LINE_MAX + 2)) != NULL);
	memset(line, 'a', SKP_SSHWIRE_LINE_MAX + 1);
	line[SKP_SSHWIRE_LINE_MAX + 1] = '\0';
	t = tr_new();
	put_str(t->s, line);
	CHECK_RC(parse(t, 7, NULL), SKP_ERR_TOO_LARGE);
	tr_free(t);
	line[SKP_SSHWIRE_LINE_MAX] = '\n';
	t = tr_new();
	put_str(t->s, line);
	CHECK_RC(parse(t, 7, NULL), SKP_SSHWIRE_MORE);
	tr_free(t);
	free(line);
}

static void
refuses_bad_version_lines(void)
{
	static const char *const bad[] = {
		"SSH-1.5-old\r\n",		/* SKP_ERR_UNSUPPORTED */
		"SSH-2.0-a\rb\r\n",		/* CR inside */
		"SSH-2.0-tab\there\r\n",	/* control character */
		"SSH-2.0-x\r\r\n",
	};
	static const int want[] = { SKP_ERR_UNSUPPORTED, SKP_ERR_FORMAT,
	    SKP_ERR_FORMAT, SKP_ERR_FORMAT };
	struct tr *t;
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		t = tr_new();
		put_str(t->s, bad[i]);
		CHECK_RC(parse(t, 0, NULL), want[i]);
		tr_free(t);
	}
	/* A NUL byte, even before the version line. */
	t = tr_new();
	skp_buf_put(t->s, "ab\0c\n", 5);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* 1.99 is 2.0 for this purpose. */
	t = tr_new();
	put_str(t->s, "SSH-1.99-compat\n");
	CHECK_RC(parse(t, 0, NULL), SKP_SSHWIRE_MORE);
	tr_free(t);
}

static void
raw_head(skp_buf_t *b, uint32_t len, uint8_t pad, uint8_t type)
{
	skp_buf_u32(b, len);
	skp_buf_u8(b, pad);
	skp_buf_u8(b, type);
}

static void
refuses_bad_packet_framing(void)
{
	struct tr *t;

	/* Over 256 KiB, as OpenSSH refuses. */
	t = tr_new();
	put_str(t->s, server_version);
	raw_head(t->s, SKP_SSHWIRE_PACKET_MAX + 4, 4, 20);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_TOO_LARGE);
	tr_free(t);
	/* Under the minimum. */
	t = tr_new();
	put_str(t->s, server_version);
	raw_head(t->s, 4, 4, 20);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_TOO_LARGE);
	tr_free(t);
	/* Not a multiple of the block size. */
	t = tr_new();
	put_str(t->s, server_version);
	raw_head(t->s, 13, 4, 20);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* Too little padding. */
	t = tr_new();
	put_str(t->s, server_version);
	raw_head(t->s, 12, 3, 20);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* Padding that leaves no payload. */
	t = tr_new();
	put_str(t->s, server_version);
	raw_head(t->s, 12, 11, 20);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* A KEXINIT of just its type byte. */
	t = tr_new();
	put_str(t->s, server_version);
	raw_head(t->s, 12, 10, 20);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_TRUNCATED);
	tr_free(t);
}

static void
refuses_newkeys_or_disconnect_before_reply(void)
{
	struct tr *t = tr_start(client_kex, server_kex);

	simple(t->s, 21);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_STATE);
	tr_free(t);
	t = tr_start(client_kex, server_kex);
	simple(t->s, 1);
	CHECK_RC(parse(t, 1, NULL), SKP_ERR_CLOSED);
	tr_free(t);
}

static void
refuses_reply_before_client_kexinit(void)
{
	skp_sshwire_t *w = skp_sshwire_new();
	skp_buf_t *b = skp_buf_new(CAP);

	REQUIRE(w != NULL && b != NULL);
	put_str(b, server_version);
	kexinit(b, server_kex, server_hk, 0);
	reply(b, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(skp_sshwire_feed(w, S2C, skp_buf_ptr(b), skp_buf_len(b)),
	    SKP_ERR_STATE);
	skp_buf_free(&b);
	skp_sshwire_free(&w);
}

static void
refuses_unexpected_messages(void)
{
	struct tr *t;

	/* A second KEXINIT from the server. */
	t = tr_start(client_kex, server_kex);
	kexinit(t->s, server_kex, server_hk, 0);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* A userauth message in the clear. */
	t = tr_start(client_kex, server_kex);
	simple(t->s, 52);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* A kex message from the server before its KEXINIT. */
	t = tr_new();
	put_str(t->s, server_version);
	simple(t->s, 31);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* The client's kex message before its KEXINIT. */
	t = tr_new();
	put_str(t->c, client_version);
	simple(t->c, 30);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	/* Another kex message where the reply belongs. */
	t = tr_start(client_kex, server_kex);
	simple(t->s, 32);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
}

static void
skips_wrong_guess_of_server(void)
{
	struct tr *t = tr_new();
	skp_sshwire_t *w = NULL;

	put_str(t->c, client_version);
	kexinit(t->c, client_kex, client_hk, 0);
	put_str(t->s, server_version);
	/* First kex differs (sntrup vs curve25519): the guess is wrong. */
	kexinit(t->s, server_kex, server_hk, 1);
	reply(t->s, 31, other_key, sizeof(other_key), sigblob,
	    sizeof(sigblob));
	reply(t->s, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 5, &w), SKP_SSHWIRE_DONE);
	REQUIRE(w != NULL);
	check_result(w, "curve25519-sha256", hostkey, sizeof(hostkey));
	skp_sshwire_free(&w);
	tr_free(t);
	/* A right guess is the reply itself. */
	t = tr_new();
	put_str(t->c, client_version);
	kexinit(t->c, "curve25519-sha256", "ssh-ed25519", 0);
	put_str(t->s, server_version);
	kexinit(t->s, "curve25519-sha256", "ssh-ed25519", 1);
	reply(t->s, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 0, &w), SKP_SSHWIRE_DONE);
	check_result(w, "curve25519-sha256", hostkey, sizeof(hostkey));
	skp_sshwire_free(&w);
	tr_free(t);
}

static void
refuses_malformed_reply(void)
{
	struct tr *t;
	skp_buf_t *p;
	uint8_t big[SKP_SSHWIRE_HOSTKEY_MAX + 1], q[4] = { 0 };
	uint8_t notname[] = { 0, 0, 0, 3, 'a', ' ', 'b', 1 };

	/* Trailing bytes after the signature. */
	t = tr_start(client_kex, server_kex);
	REQUIRE((p = skp_buf_new(CAP)) != NULL);
	skp_buf_u8(p, 31);
	skp_buf_string(p, hostkey, sizeof(hostkey));
	skp_buf_string(p, q, sizeof(q));
	skp_buf_string(p, sigblob, sizeof(sigblob));
	skp_buf_u8(p, 0);
	packet_of(t->s, p);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_TRAILING);
	tr_free(t);
	/* Cut short inside the signature string. */
	t = tr_start(client_kex, server_kex);
	skp_buf_u8(p, 31);
	skp_buf_string(p, hostkey, sizeof(hostkey));
	skp_buf_string(p, q, sizeof(q));
	skp_buf_u32(p, 100);
	packet_of(t->s, p);
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_TRUNCATED);
	tr_free(t);
	/* A host key over the cap. */
	memset(big, 0, sizeof(big));
	t = tr_start(client_kex, server_kex);
	reply(t->s, 31, big, sizeof(big), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_TOO_LARGE);
	tr_free(t);
	/* Blobs that do not start with an algorithm name. */
	t = tr_start(client_kex, server_kex);
	reply(t->s, 31, notname, sizeof(notname), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	t = tr_start(client_kex, server_kex);
	reply(t->s, 31, hostkey, sizeof(hostkey), q, sizeof(q));
	CHECK_RC(parse(t, 0, NULL), SKP_ERR_FORMAT);
	tr_free(t);
	skp_buf_free(&p);
}

static void
nothing_before_done(void)
{
	skp_sshwire_t *w = skp_sshwire_new();
	const uint8_t *p = (const uint8_t *)"x";
	size_t n = 9;

	REQUIRE(w != NULL);
	CHECK_RC(skp_sshwire_status(w), SKP_SSHWIRE_MORE);
	CHECK(strcmp(skp_sshwire_kex(w), "") == 0);
	CHECK(strcmp(skp_sshwire_hostkey_alg(w), "") == 0);
	CHECK(strcmp(skp_sshwire_server_version(w), "") == 0);
	skp_sshwire_hostkey(w, &p, &n);
	CHECK(p == NULL && n == 0);
	skp_sshwire_signature(w, &p, &n);
	CHECK(p == NULL && n == 0);
	/* A bad direction or buffer is refused without harm. */
	CHECK_RC(skp_sshwire_feed(w, 2, "SSH-", 4), SKP_ERR_INVALID);
	CHECK_RC(skp_sshwire_feed(w, S2C, NULL, 4), SKP_ERR_INVALID);
	CHECK_RC(skp_sshwire_feed(NULL, S2C, "SSH-", 4), SKP_ERR_INVALID);
	CHECK_RC(skp_sshwire_status(w), SKP_SSHWIRE_MORE);
	CHECK_RC(skp_sshwire_feed(w, S2C, NULL, 0), SKP_SSHWIRE_MORE);
	/* After an error, the same error and no result. */
	CHECK_RC(skp_sshwire_feed(w, S2C, "SSH-1.0-x\n", 10),
	    SKP_ERR_UNSUPPORTED);
	CHECK_RC(skp_sshwire_feed(w, S2C, server_version,
	    strlen(server_version)), SKP_ERR_UNSUPPORTED);
	CHECK_RC(skp_sshwire_status(w), SKP_ERR_UNSUPPORTED);
	CHECK(strcmp(skp_sshwire_kex(w), "") == 0);
	skp_sshwire_free(&w);
	CHECK_RC(skp_sshwire_status(NULL), SKP_ERR_INVALID);
}

/* What is after the client's KEXINIT is not parsed at all. */
static void
client_stream_after_kexinit_ignored(void)
{
	struct tr *t = tr_start(client_kex, server_kex);
	skp_sshwire_t *w = NULL;

	put_str(t->c, "\xff\xff\xff\xff not a packet");
	reply(t->s, 31, hostkey, sizeof(hostkey), sigblob, sizeof(sigblob));
	CHECK_RC(parse(t, 2, &w), SKP_SSHWIRE_DONE);
	skp_sshwire_free(&w);
	tr_free(t);
}

int
main(int argc, char **argv)
{
	static const struct skp_test_case cases[] = {
		{ "curve25519_reply_in_one_piece",
		    curve25519_reply_in_one_piece },
		{ "any_chunking_same_result", any_chunking_same_result },
		{ "interleaved_directions", interleaved_directions },
		{ "group_exchange_reply_is_33", group_exchange_reply_is_33 },
		{ "refuses_33_outside_group_exchange",
		    refuses_33_outside_group_exchange },
		{ "negotiates_first_client_choice",
		    negotiates_first_client_choice },
		{ "refuses_no_common_kex", refuses_no_common_kex },
		{ "refuses_bad_name_lists", refuses_bad_name_lists },
		{ "pre_banner_lines_and_ignore_packets",
		    pre_banner_lines_and_ignore_packets },
		{ "refuses_too_many_or_long_lines",
		    refuses_too_many_or_long_lines },
		{ "refuses_bad_version_lines", refuses_bad_version_lines },
		{ "refuses_bad_packet_framing", refuses_bad_packet_framing },
		{ "refuses_newkeys_or_disconnect_before_reply",
		    refuses_newkeys_or_disconnect_before_reply },
		{ "refuses_reply_before_client_kexinit",
		    refuses_reply_before_client_kexinit },
		{ "refuses_unexpected_messages", refuses_unexpected_messages },
		{ "skips_wrong_guess_of_server", skips_wrong_guess_of_server },
		{ "refuses_malformed_reply", refuses_malformed_reply },
		{ "nothing_before_done", nothing_before_done },
		{ "client_stream_after_kexinit_ignored",
		    client_stream_after_kexinit_ignored },
	};

	return skp_test_run(cases, nitems(cases), argc, argv);
}
