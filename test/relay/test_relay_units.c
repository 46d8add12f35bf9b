/* Unit tests: relay frames, codes, mailbox id; relay tables, timer wheel. */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/crypto.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#include "relayd.h"
#include "../unit/harness.h"

static size_t
frame(uint8_t *out, uint8_t kind, uint32_t chan, const void *body,
    size_t len)
{
	skp_relay_put_hdr(out, kind, chan);
	if (len > 0)
		memcpy(out + SKP_RELAY_HDR_LEN, body, len);
	return SKP_RELAY_HDR_LEN + len;
}

static void
header_layout(void)
{
	uint8_t h[SKP_RELAY_HDR_LEN];
	static const uint8_t want[] = { 0x04, 0x01, 0x02, 0x03, 0x04 };

	skp_relay_put_hdr(h, SKP_RELAY_DATA, 0x01020304);
	CHECK_MEM(h, want, sizeof(want));
}

static void
client_frames_parse(void)
{
	uint8_t buf[128], body[97];
	struct skp_relay_frame f;
	size_t n;

	memset(body, 0xab, 32);
	memset(body + 32, 0xcd, 65);
	n = frame(buf, SKP_RELAY_LISTEN, 0, body, 97);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_LISTEN && f.chan == 0);
	CHECK(f.id == buf + 5 && f.pub == buf + 37);

	n = frame(buf, SKP_RELAY_PROVE, 0, body, 64);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_PROVE && f.data == buf + 5 && f.len == 64);

	memcpy(body + 32, "\x00\x00\x27\x10", 4);
	n = frame(buf, SKP_RELAY_CALL, 9, body, 36);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_CALL && f.chan == 9);
	CHECK(f.timeout_ms == 10000 && f.id == buf + 5);

	n = frame(buf, SKP_RELAY_JOIN, 0xffffffff, body, 36);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	CHECK(f.chan == 0xffffffff && f.timeout_ms == 10000);

	n = frame(buf, SKP_RELAY_DATA, 3, "hello", 5);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	CHECK(f.len == 5 && memcmp(f.data, "hello", 5) == 0);

	n = frame(buf, SKP_RELAY_DATA, 3, NULL, 0);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	CHECK(f.len == 0);

	n = frame(buf, SKP_RELAY_HANGUP, 3, NULL, 0);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_HANGUP && f.chan == 3);
}

/* docs/PROTOCOL.md §7.2: MEET for the rendezvous id of §2.5, 120 s. */
static void
meet_vector(void)
{
	static const uint8_t s[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	    12, 13, 14, 15 };
	uint8_t *want, id[SKP_RENDEZVOUS_ID_LEN], buf[64], body[36];
	struct skp_relay_frame f;
	size_t wantlen, n;

	want = skp_test_unhex("07" "00000001"
	    "8f4057b8989fa2046f1bb6f264e287bdb42bbaf204d69f0a106b6f5ba00cb53a"
	    "0001d4c0", &wantlen);
	CHECK(wantlen == 41);
	CHECK_RC(skp_pairuri_rendezvous_id(s, id), SKP_OK);
	memcpy(body, id, 32);
	memcpy(body + 32, "\x00\x01\xd4\xc0", 4);
	n = frame(buf, SKP_RELAY_MEET, 1, body, sizeof(body));
	CHECK(n == wantlen);
	CHECK_MEM(buf, want, wantlen);
	CHECK_RC(skp_relay_parse_client(want, wantlen, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_MEET && f.chan == 1);
	CHECK(f.timeout_ms == 120000 && memcmp(f.id, id, 32) == 0);
	/* Channel 0, or a body one byte short or long, is refused. */
	want[4] = 0;
	CHECK_RC(skp_relay_parse_client(want, wantlen, &f), SKP_ERR_FORMAT);
	want[4] = 1;
	CHECK_RC(skp_relay_parse_client(want, wantlen - 1, &f),
	    SKP_ERR_TRUNCATED);
	n = frame(buf, SKP_RELAY_MEET, 1, body, sizeof(body));
	buf[n] = 0;
	CHECK_RC(skp_relay_parse_client(buf, n + 1, &f), SKP_ERR_TRAILING);
	free(want);
}

static void
client_frames_refused(void)
{
	uint8_t buf[128], body[100];
	struct skp_relay_frame f;
	size_t n;

	memset(body, 1, sizeof(body));
	memset(buf, 0, sizeof(buf));
	CHECK_RC(skp_relay_parse_client(buf, 0, &f), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_relay_parse_client(NULL, 0, &f), SKP_ERR_TRUNCATED);
	n = frame(buf, SKP_RELAY_DATA, 1, NULL, 0);
	CHECK_RC(skp_relay_parse_client(buf, n - 1, &f), SKP_ERR_TRUNCATED);
	/* Unknown kinds, and relay kinds from a client. */
	n = frame(buf, 0x00, 1, NULL, 0);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_INCOMING, 1, NULL, 0);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_END, 1, "\x0f\xa0", 2);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	/* Channel rules. */
	n = frame(buf, SKP_RELAY_LISTEN, 1, body, 97);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_PROVE, 1, body, 64);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_CHALLENGE, 0, body, 32);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_CALL, 0, body, 36);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_DATA, 0, body, 3);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_HANGUP, 0, NULL, 0);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	/* Exact lengths. */
	/* A protocol 1 LISTEN (id || secret) is too short. */
	n = frame(buf, SKP_RELAY_LISTEN, 0, body, 64);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRUNCATED);
	n = frame(buf, SKP_RELAY_LISTEN, 0, body, 96);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRUNCATED);
	n = frame(buf, SKP_RELAY_LISTEN, 0, body, 98);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRAILING);
	n = frame(buf, SKP_RELAY_PROVE, 0, body, 63);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRUNCATED);
	n = frame(buf, SKP_RELAY_PROVE, 0, body, 65);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRAILING);
	n = frame(buf, SKP_RELAY_CALL, 1, body, 35);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRUNCATED);
	n = frame(buf, SKP_RELAY_JOIN, 1, body, 37);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRAILING);
	n = frame(buf, SKP_RELAY_HANGUP, 1, body, 1);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_TRAILING);
	/* A refusal leaves nothing behind. */
	CHECK(f.kind == 0 && f.id == NULL && f.data == NULL);
}

static void
relay_frames_parse(void)
{
	static const uint8_t kinds[] = { SKP_RELAY_INCOMING, SKP_RELAY_ONLINE,
	    SKP_RELAY_OFFLINE, SKP_RELAY_WAITING, SKP_RELAY_PEER };
	uint8_t buf[200];
	struct skp_relay_frame f;
	size_t i, n;

	n = frame(buf, SKP_RELAY_LISTENING, 0, NULL, 0);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_OK);
	memset(buf + 100, 0x5a, 32);
	n = frame(buf, SKP_RELAY_CHALLENGE, 0, buf + 100, 32);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_CHALLENGE && f.data == buf + 5 &&
	    f.len == 32);
	CHECK_RC(skp_relay_parse_relay(buf, n - 1, &f), SKP_ERR_TRUNCATED);
	n = frame(buf, SKP_RELAY_CHALLENGE, 0, buf + 100, 33);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_TRAILING);
	n = frame(buf, SKP_RELAY_CHALLENGE, 1, buf + 100, 32);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	for (i = 0; i < sizeof(kinds); i++) {
		n = frame(buf, kinds[i], 5, NULL, 0);
		CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_OK);
		CHECK(f.kind == kinds[i] && f.chan == 5);
		CHECK_RC(skp_relay_parse_relay(buf, n - 1, &f),
		    SKP_ERR_TRUNCATED);
		n = frame(buf, kinds[i], 0, NULL, 0);
		CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
		n = frame(buf, kinds[i], 5, "x", 1);
		CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_TRAILING);
	}
	n = frame(buf, SKP_RELAY_END, 5, "\x0f\xa4timed out", 11);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_OK);
	CHECK(f.code == 4004 && f.len == 9);
	CHECK(memcmp(f.data, "timed out", 9) == 0);
	n = frame(buf, SKP_RELAY_END, 5, "\x0f\xa4", 2);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_OK);
	n = frame(buf, SKP_RELAY_DATA, 5, "abc", 3);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_OK);
	CHECK(f.len == 3);
}

static void
relay_frames_refused(void)
{
	uint8_t buf[200], reason[130];
	struct skp_relay_frame f;
	size_t n;

	n = frame(buf, SKP_RELAY_LISTENING, 1, NULL, 0);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_LISTEN, 0, NULL, 0);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_HANGUP, 1, NULL, 0);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_END, 1, "\x0f", 1);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_TRUNCATED);
	/* Codes outside 4000-4999. */
	n = frame(buf, SKP_RELAY_END, 1, "\x0f\x9f", 2);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_END, 1, "\x13\x88", 2);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	/* Reasons: printable ASCII, at most 123 bytes. */
	n = frame(buf, SKP_RELAY_END, 1, "\x0f\xa0\x1b[2J", 6);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_END, 1, "\x0f\xa0ok\n", 5);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	reason[0] = 0x0f;
	reason[1] = 0xa0;
	memset(reason + 2, 'a', 124);
	n = frame(buf, SKP_RELAY_END, 1, reason, 2 + 124);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_ERR_FORMAT);
	n = frame(buf, SKP_RELAY_END, 1, reason, 2 + 123);
	CHECK_RC(skp_relay_parse_relay(buf, n, &f), SKP_OK);
}

static void
codes_distinct_and_mapped(void)
{
	static const unsigned int all[] = { 4000, 4001, 4002, 4003, 4004,
	    4005, 4006, 4007, 4008, 4009, 4010, 4011, 4012, 4020, 4021, 4022, 4023, 4024,
	    4025, 4026, 4027, 4028, 4029, 4030, 4031, 4032 };
	size_t i, j;

	for (i = 0; i < nitems(all); i++) {
		CHECK(strcmp(skp_relay_code_reason(all[i]), "unknown") != 0);
		CHECK(strlen(skp_relay_code_reason(all[i])) <=
		    SKP_RELAY_REASON_MAX);
		for (j = 0; j < i; j++)
			CHECK(strcmp(skp_relay_code_reason(all[i]),
			    skp_relay_code_reason(all[j])) != 0);
	}
	CHECK(strcmp(skp_relay_code_reason(4999), "unknown") == 0);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_TIMEOUT), SKP_ERR_TIMEOUT);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_NO_RDV), SKP_ERR_NOT_FOUND);
	CHECK(strcmp(skp_relay_code_reason(SKP_RELAY_C_NO_RDV), "no pairing "
	    "is waiting under this code: it was used, has expired, or was "
	    "altered") == 0);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_CLUSTER), SKP_ERR_NETWORK);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_TOO_BIG), SKP_ERR_LIMIT);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_ADDR_CONNS), SKP_ERR_LIMIT);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_MBOX_CALLS), SKP_ERR_LIMIT);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_PENDING), SKP_ERR_LIMIT);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_HELD_DATA), SKP_ERR_LIMIT);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_PROOF), SKP_ERR_INVALID);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_REPLACED), SKP_ERR_EXISTS);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_SHUTDOWN), SKP_ERR_CLOSED);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_PHONE_GONE), SKP_ERR_CLOSED);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_PROTOCOL), SKP_ERR_FORMAT);
	CHECK_RC(skp_relay_code_err(SKP_RELAY_C_OLD_PROTOCOL),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_relay_code_err(1001), SKP_ERR_CLOSED);
	CHECK_RC(skp_relay_code_err(1006), SKP_ERR_NETWORK);
}

/* docs/PROTOCOL.md §7.4: the mailbox key vector. */
#define V_PRIV	"0102030405060708090a0b0c0d0e0f10" \
		"1112131415161718191a1b1c1d1e1f20"
#define V_PUB	"04515c3d6eb9e396b904d3feca7f54fd" \
		"cd0cc1e997bf375dca515ad0a6c3b403" \
		"5f4536be3a50f318fbf9a5475902a221" \
		"502bef0d57e08c53b2cc0a56f17d9f93" \
		"54"
#define V_ID	"6700dc1d4b0287376810b072ff86e790" \
		"745a06a6893acf73b1e61d3bd7096a66"
#define V_NONCE	"404142434445464748494a4b4c4d4e4f" \
		"505152535455565758595a5b5c5d5e5f"
#define V_DIGEST "23a5c150175f155749384f453dd0dc3c" \
		"f8ea9bfb588d460e6da4194e9cb5798f"
/* RFC 6979 (deterministic) signature of the vector, made elsewhere. */
#define V_SIG	"d2160a11e7c1046a56022379f0299d08" \
		"44b74f78dd22874d5bd2da0c8e76ce4c" \
		"6c8ab65fb38b71da93ab487cc7a64c5d" \
		"67beb6727d9a009ce26fae0cf5caf7df"

static void
mailbox_id_vector(void)
{
	uint8_t *priv, *pub, *id, *nonce, *digest, *sig;
	uint8_t got[32], mysig[SKP_RELAY_SIG_LEN], other[32];
	struct skp_p256_key k;
	size_t n[6];

	priv = skp_test_unhex(V_PRIV, &n[0]);
	pub = skp_test_unhex(V_PUB, &n[1]);
	id = skp_test_unhex(V_ID, &n[2]);
	nonce = skp_test_unhex(V_NONCE, &n[3]);
	digest = skp_test_unhex(V_DIGEST, &n[4]);
	sig = skp_test_unhex(V_SIG, &n[5]);
	CHECK(n[0] == 32 && n[1] == 65 && n[2] == 32 && n[3] == 32 &&
	    n[4] == 32 && n[5] == 64);
	CHECK_RC(skp_p256_from_private(priv, &k), SKP_OK);
	CHECK_MEM(k.pub, pub, 65);
	CHECK_RC(skp_relay_mailbox_id(pub, got), SKP_OK);
	CHECK_MEM(got, id, 32);
	CHECK_RC(skp_relay_proof_digest(nonce, id, got), SKP_OK);
	CHECK_MEM(got, digest, 32);
	/* The fixed signature verifies; ours (randomized) too. */
	CHECK_RC(skp_relay_proof_check(id, pub, nonce, sig), SKP_OK);
	CHECK_RC(skp_relay_prove(&k, nonce, mysig), SKP_OK);
	CHECK_RC(skp_relay_proof_check(id, pub, nonce, mysig), SKP_OK);
	/* Another nonce (a replay), another id, a flipped bit: refused. */
	memcpy(other, nonce, 32);
	other[31] ^= 1;
	CHECK_RC(skp_relay_proof_check(id, pub, other, sig), SKP_ERR_CRYPTO);
	memcpy(other, id, 32);
	other[0] ^= 1;
	CHECK_RC(skp_relay_proof_check(other, pub, nonce, sig),
	    SKP_ERR_CRYPTO);
	mysig[10] ^= 0x40;
	CHECK_RC(skp_relay_proof_check(id, pub, nonce, mysig),
	    SKP_ERR_CRYPTO);
	/* r = 0, s = 0, and r, s = the group order: refused. */
	memset(mysig, 0, sizeof(mysig));
	CHECK_RC(skp_relay_proof_check(id, pub, nonce, mysig),
	    SKP_ERR_CRYPTO);
	memset(mysig, 0xff, sizeof(mysig));
	CHECK_RC(skp_relay_proof_check(id, pub, nonce, mysig),
	    SKP_ERR_CRYPTO);
	/* A public key off the curve whose hash is the id. */
	pub[64] ^= 1;
	CHECK_RC(skp_relay_mailbox_id(pub, got), SKP_OK);
	CHECK_RC(skp_relay_proof_check(got, pub, nonce, sig), SKP_ERR_CRYPTO);
	skp_wipe(&k, sizeof(k));
	free(priv);
	free(pub);
	free(id);
	free(nonce);
	free(digest);
	free(sig);
}

/* The keys --max-per-addr counts under: IPv4 one, IPv6 /64, /56, /48. */
static void
addr_keys_levels(void)
{
	uint8_t keys[RELAYD_ADDR_LEVELS][32], want[32];
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	CHECK(inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr) == 1);
	CHECK(relayd_addr_keys(&s4, keys) == 1);
	memset(want, 0, sizeof(want));
	want[10] = want[11] = 0xff;
	memcpy(want + 12, "\xc0\x00\x02\x07", 4);
	CHECK_MEM(keys[0], want, 32);
	/* IPv4-mapped IPv6 counts as the IPv4 address. */
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	CHECK(inet_pton(AF_INET6, "::ffff:192.0.2.7", &s6.sin6_addr) == 1);
	CHECK(relayd_addr_keys(&s6, keys) == 1);
	CHECK_MEM(keys[0], want, 32);
	CHECK(inet_pton(AF_INET6, "2001:db8:aabb:ccdd:1:2:3:4",
	    &s6.sin6_addr) == 1);
	CHECK(relayd_addr_keys(&s6, keys) == 3);
	memset(want, 0, sizeof(want));
	memcpy(want, "\x20\x01\x0d\xb8\xaa\xbb\xcc\xdd", 8);
	want[16] = 64;
	CHECK_MEM(keys[0], want, 32);
	want[7] = 0;
	want[16] = 56;
	CHECK_MEM(keys[1], want, 32);
	want[6] = 0;
	want[16] = 48;
	CHECK_MEM(keys[2], want, 32);
	/* Two /64s of one /48 share its key, not their own. */
	CHECK(inet_pton(AF_INET6, "2001:db8:aabb:1::9", &s6.sin6_addr) == 1);
	CHECK(relayd_addr_keys(&s6, keys) == 3);
	CHECK_MEM(keys[2], want, 32);
	CHECK(memcmp(keys[0], want, 32) != 0);
	s6.sin6_family = AF_UNIX;
	CHECK(relayd_addr_keys(&s6, keys) == 0);
}

/* Vectors from the SipHash paper (key 00..0f, message 00..n-1). */
static void
siphash_vectors(void)
{
	uint8_t k[16], m[16];
	uint64_t k0 = 0, k1 = 0;
	int i;

	for (i = 0; i < 16; i++) {
		k[i] = (uint8_t)i;
		m[i] = (uint8_t)i;
	}
	for (i = 7; i >= 0; i--) {
		k0 = (k0 << 8) | k[i];
		k1 = (k1 << 8) | k[i + 8];
	}
	CHECK(siphash24(k0, k1, m, 0) == 0x726fdb47dd0e0e31ULL);
	CHECK(siphash24(k0, k1, m, 1) == 0x74f839c593dc67fdULL);
	CHECK(siphash24(k0, k1, m, 8) == 0x93f5f5799a932462ULL);
	CHECK(siphash24(k0, k1, m, 15) == 0xa129ca6149be45e5ULL);
}

struct item {
	struct tnode_key	n;
	int			v;
};

static void
table_put_get_del_grow(void)
{
	struct table t;
	struct item *it;
	uint8_t key[32];
	int i;

	REQUIRE(table_init(&t) == SKP_OK);
	REQUIRE((it = calloc(2000, sizeof(*it))) != NULL);
	for (i = 0; i < 2000; i++) {
		memset(it[i].n.key, 0, 32);
		memcpy(it[i].n.key, &i, sizeof(i));
		it[i].v = i;
		CHECK_RC(table_put(&t, &it[i].n), SKP_OK);
	}
	CHECK(t.n == 2000 && t.nb >= 2000);
	for (i = 0; i < 2000; i++) {
		memset(key, 0, 32);
		memcpy(key, &i, sizeof(i));
		CHECK(table_get(&t, key) == &it[i].n);
	}
	for (i = 0; i < 2000; i += 2)
		table_del(&t, &it[i].n);
	CHECK(t.n == 1000);
	for (i = 0; i < 2000; i++) {
		memset(key, 0, 32);
		memcpy(key, &i, sizeof(i));
		CHECK((table_get(&t, key) != NULL) == (i % 2 == 1));
	}
	memset(key, 0xff, 32);
	CHECK(table_get(&t, key) == NULL);
	table_free(&t);
	free(it);
}

static int fired[8];
static struct wtimer *victim;

static void
on_fire(struct wtimer *w)
{
	fired[w->type]++;
	if (victim != NULL && victim != w) {
		wheel_disarm(victim);
		victim = NULL;
	}
}

static void
wheel_timers(void)
{
	struct wheel wh;
	struct wtimer a, b, c, d;

	memset(&wh, 0, sizeof(wh));
	memset(fired, 0, sizeof(fired));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	a.type = 1;
	b.type = 2;
	c.type = 3;
	d.type = 4;
	wheel_arm(&wh, &a, 5);
	wheel_arm(&wh, &b, 5 + WHEEL_SLOTS);	/* same slot, next round */
	wheel_arm(&wh, &c, 7);
	wheel_arm(&wh, &d, 0);			/* the past: next tick */
	wheel_advance(&wh, 4, on_fire);
	CHECK(fired[4] == 1 && fired[1] == 0);
	wheel_advance(&wh, 5, on_fire);
	CHECK(fired[1] == 1 && fired[2] == 0 && a.pprev == NULL);
	wheel_disarm(&c);
	wheel_disarm(&c);
	wheel_advance(&wh, 100, on_fire);
	CHECK(fired[3] == 0);
	wheel_advance(&wh, 5 + WHEEL_SLOTS, on_fire);
	CHECK(fired[2] == 1);
	/* A timer fired may disarm another due in the same tick. */
	wheel_arm(&wh, &a, wh.now + 3);
	wheel_arm(&wh, &c, wh.now + 3);
	victim = &a;
	wheel_advance(&wh, wh.now + 3, on_fire);
	CHECK(fired[1] + fired[3] == 2 && fired[1] == 1 && fired[3] == 1);
	CHECK(a.pprev == NULL && c.pprev == NULL);
	/* Re-arming moves a timer. */
	wheel_arm(&wh, &b, wh.now + 2);
	wheel_arm(&wh, &b, wh.now + 50);
	wheel_advance(&wh, wh.now + 10, on_fire);
	CHECK(fired[2] == 1);
	wheel_advance(&wh, wh.now + 40, on_fire);
	CHECK(fired[2] == 2);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The two halves of connect: refusals, and a handshake left pending. */
static void
connect_halves(void)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	skp_relay_t *r;
	char url[64];
	uint64_t t0;
	short ev;
	int fd, cfd, rc;

	REQUIRE((r = skp_relay_new(NULL)) != NULL);
	CHECK_RC(skp_relay_connect_start(NULL, "ws://127.0.0.1:1", 1000),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_start(r, NULL, 1000), SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_start(r, "ws://127.0.0.1:1", 0),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_start(r, "http://127.0.0.1:1", 1000),
	    SKP_ERR_INVALID);
	/* Nothing started: nothing to finish. */
	CHECK_RC(skp_relay_connect_finish(NULL, 1000), SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_finish(r, 0), SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_finish(r, 1000), SKP_ERR_STATE);
	/* A listener that accepts (the kernel does) and never answers. */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    listen(fd, 4) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &salen) == 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u",
	    (unsigned int)ntohs(sa.sin_port));
	t0 = mono_ms();
	CHECK_RC(skp_relay_connect_start(r, url, 5000), SKP_OK);
	/* It did not wait for the upgrade. */
	CHECK(mono_ms() - t0 < 1000);
	CHECK_RC(skp_relay_connect_start(r, url, 5000), SKP_ERR_STATE);
	/*
	 * Under way: the socket to wait on, for the upgrade's answer, and
	 * it is the one that reaches the listener (a program's poll wakes
	 * when the relay speaks).
	 */
	ev = 0;
	cfd = skp_relay_connect_fd(r, &ev);
	CHECK(cfd >= 0 && (ev & POLLIN) != 0);
	if (cfd >= 0) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);

		CHECK(getpeername(cfd, (struct sockaddr *)&peer, &plen) == 0 &&
		    peer.sin_port == sa.sin_port);
	}
	CHECK(skp_relay_connect_fd(r, NULL) == -1);
	CHECK(skp_relay_connect_fd(NULL, &ev) == -1);
	t0 = mono_ms();
	CHECK_RC(skp_relay_connect_finish(r, 200), SKP_ERR_TIMEOUT);
	/* Over: nothing to wait on. */
	CHECK(skp_relay_connect_fd(r, &ev) == -1);
	CHECK(mono_ms() - t0 >= 150 && mono_ms() - t0 < 3000);
	close(fd);
	/* Refused at once: the error comes from finish. */
	REQUIRE((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	sa.sin_port = 0;
	salen = sizeof(sa);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &salen) == 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u",
	    (unsigned int)ntohs(sa.sin_port));
	rc = skp_relay_connect_start(r, url, 2000);
	CHECK(rc == SKP_OK || rc == SKP_ERR_NETWORK);
	if (rc == SKP_OK)
		CHECK_RC(skp_relay_connect_finish(r, 2000), SKP_ERR_NETWORK);
	close(fd);
	skp_relay_free(&r);
}

/* A loopback port: listening and never accepting (a black hole), or
 * bound but not listening (refused). */
static int
port_of(int listening, char url[64])
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (listening && listen(fd, 4) != 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
		close(fd);
		return -1;
	}
	snprintf(url, 64, "ws://127.0.0.1:%u",
	    (unsigned int)ntohs(sa.sin_port));
	return fd;
}

/*
 * A relay list (PROTOCOL.md §7.1): the URLs in turn, each but the last
 * bounded by its share and SKP_RELAY_URL_TIMEOUT_MS, so a black hole
 * first leaves the next URL its turn; the last takes what is left.
 */
static void
connect_list_bounded(void)
{
	char hole[64], dead[64], list[256];
	skp_relay_t *r;
	uint64_t t0, dt;
	size_t which = 9;
	int fh, fd;

	REQUIRE((r = skp_relay_new(NULL)) != NULL);
	REQUIRE((fh = port_of(1, hole)) >= 0);
	REQUIRE((fd = port_of(0, dead)) >= 0);
	/* Hole first, 20 s budget: it gets 3 s, then the refusal. */
	snprintf(list, sizeof(list), "%s %s", hole, dead);
	t0 = mono_ms();
	CHECK_RC(skp_relay_connect_list(r, list, 20000, &which),
	    SKP_ERR_NETWORK);
	dt = mono_ms() - t0;
	CHECK(dt >= SKP_RELAY_URL_TIMEOUT_MS - 100 &&
	    dt < SKP_RELAY_URL_TIMEOUT_MS + 1500);
	/* A small budget is shared: 1 s each for two URLs of 2 s. */
	t0 = mono_ms();
	CHECK_RC(skp_relay_connect_list(r, list, 2000, NULL),
	    SKP_ERR_NETWORK);
	dt = mono_ms() - t0;
	CHECK(dt >= 900 && dt < 1900);
	/* Refused first costs nothing; the last URL takes all the rest. */
	snprintf(list, sizeof(list), "%s %s", dead, hole);
	t0 = mono_ms();
	CHECK_RC(skp_relay_connect_list(r, list, 1500, NULL),
	    SKP_ERR_TIMEOUT);
	dt = mono_ms() - t0;
	CHECK(dt >= 1400 && dt < 2500);
	/* The rule, as cli.c's check uses it too. */
	CHECK(skp_relay_url_share(20000, 0, 2) == SKP_RELAY_URL_TIMEOUT_MS);
	CHECK(skp_relay_url_share(2000, 0, 2) == 1000);
	CHECK(skp_relay_url_share(5000, 1, 2) == 5000);
	CHECK(skp_relay_url_share(3000, 1, 3) == 1500);
	CHECK(skp_relay_url_share(700, 0, 1) == 700);
	/* One URL is skp_relay_connect(); a bad list is refused at once. */
	CHECK_RC(skp_relay_connect_list(r, dead, 1000, NULL),
	    SKP_ERR_NETWORK);
	CHECK_RC(skp_relay_connect_list(r, "ws://a  ws://b", 1000, NULL),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_list(r, "ws://a ws://a", 1000, NULL),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_list(r, "", 1000, NULL), SKP_ERR_INVALID);
	CHECK_RC(skp_relay_connect_list_start(r, "ws://a", 0),
	    SKP_ERR_INVALID);
	close(fh);
	close(fd);
	skp_relay_free(&r);
}

/*
 * Web Push frames (docs/PROTOCOL.md §7.11): the vectors there, and every
 * length and channel the parsers refuse.
 */
#define PUSH_P256DH \
	"04515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f" \
	"4536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354"

static void
push_frames_vector(void)
{
	static const char url[] = "https://push.example.net/x";
	uint8_t *want, *key, buf[1200], body[1200];
	struct skp_relay_frame f;
	size_t wantlen, keylen, n, i;

	want = skp_test_unhex("08" "00000000" PUSH_P256DH
	    "000102030405060708090a0b0c0d0e0f"
	    "68747470733a2f2f707573682e6578616d706c652e6e65742f78", &wantlen);
	key = skp_test_unhex(PUSH_P256DH, &keylen);
	CHECK(wantlen == 112 && keylen == 65);
	memcpy(body, key, 65);
	for (i = 0; i < 16; i++)
		body[65 + i] = (uint8_t)i;
	memcpy(body + 81, url, strlen(url));
	n = frame(buf, SKP_RELAY_SUBSCRIBE, 0, body, 81 + strlen(url));
	CHECK(n == wantlen);
	CHECK_MEM(buf, want, wantlen);
	CHECK_RC(skp_relay_parse_client(want, wantlen, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_SUBSCRIBE && f.chan == 0);
	CHECK(f.data == want + 5 && f.len == 107);
	/* Empty: asks for the key only. UNSUBSCRIBE is always empty. */
	CHECK_RC(skp_relay_parse_client((const uint8_t *)"\x08\0\0\0\0", 5,
	    &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_SUBSCRIBE && f.len == 0);
	CHECK_RC(skp_relay_parse_client((const uint8_t *)"\x09\0\0\0\0", 5,
	    &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_UNSUBSCRIBE);
	CHECK_RC(skp_relay_parse_client((const uint8_t *)"\x09\0\0\0\0x", 6,
	    &f), SKP_ERR_TRAILING);
	/* Channel 0 only. */
	want[4] = 1;
	CHECK_RC(skp_relay_parse_client(want, wantlen, &f), SKP_ERR_FORMAT);
	CHECK_RC(skp_relay_parse_client((const uint8_t *)"\x09\0\0\0\1", 5,
	    &f), SKP_ERR_FORMAT);
	want[4] = 0;
	/* Body lengths: 1 .. 92 and over 81 + 1024 are refused; 93 and
	 * 81 + 1024 are the bounds. */
	memset(body + 81, 'a', 1100);
	for (i = 1; i < 93; i++) {
		n = frame(buf, SKP_RELAY_SUBSCRIBE, 0, body, i);
		CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	}
	n = frame(buf, SKP_RELAY_SUBSCRIBE, 0, body, 93);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	n = frame(buf, SKP_RELAY_SUBSCRIBE, 0, body, 81 + 1024);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_OK);
	n = frame(buf, SKP_RELAY_SUBSCRIBE, 0, body, 81 + 1025);
	CHECK_RC(skp_relay_parse_client(buf, n, &f), SKP_ERR_FORMAT);
	/* The URL's bytes: no space, no control, nothing past 0x7e. */
	for (i = 0; i < 3; i++) {
		memcpy(buf, want, wantlen);
		buf[wantlen - 2] = i == 0 ? ' ' : i == 1 ? 0x7f : 0x0a;
		CHECK_RC(skp_relay_parse_client(buf, wantlen, &f),
		    SKP_ERR_FORMAT);
	}
	/* A client never sends PUSH; the relay never SUBSCRIBE. */
	CHECK_RC(skp_relay_parse_relay(want, wantlen, &f), SKP_ERR_FORMAT);
	CHECK_RC(skp_relay_parse_client((const uint8_t *)"\x89\0\0\0\0\2", 6,
	    &f), SKP_ERR_FORMAT);
	CHECK(f.kind == 0 && f.data == NULL);
	free(want);

	/* PUSH: status 0 with the key; status 2 alone. */
	want = skp_test_unhex("89" "00000000" "00" PUSH_P256DH, &wantlen);
	CHECK(wantlen == 71);
	memcpy(body, "\0", 1);
	memcpy(body + 1, key, 65);
	n = frame(buf, SKP_RELAY_PUSH, 0, body, 66);
	CHECK(n == wantlen);
	CHECK_MEM(buf, want, wantlen);
	CHECK_RC(skp_relay_parse_relay(want, wantlen, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_PUSH && f.status == SKP_RELAY_PUSH_OK &&
	    f.data == want + 6 && f.len == 65);
	for (i = 1; i <= 5; i++) {
		want[5] = (uint8_t)i;
		CHECK_RC(skp_relay_parse_relay(want, wantlen, &f),
		    i == 2 ? SKP_ERR_TRAILING : i == 5 ? SKP_ERR_FORMAT :
		    SKP_OK);
		if (i != 2 && i != 5)
			CHECK(f.status == i && f.len == 65);
	}
	want[5] = 0;
	CHECK_RC(skp_relay_parse_relay(want, wantlen - 1, &f),
	    SKP_ERR_TRUNCATED);
	CHECK_RC(skp_relay_parse_relay(want, 6, &f), SKP_ERR_TRUNCATED);
	want[4] = 3;
	CHECK_RC(skp_relay_parse_relay(want, wantlen, &f), SKP_ERR_FORMAT);
	CHECK_RC(skp_relay_parse_relay((const uint8_t *)"\x89\0\0\0\0\2", 6,
	    &f), SKP_OK);
	CHECK(f.status == SKP_RELAY_PUSH_OFF && f.data == NULL && f.len == 0);
	CHECK_RC(skp_relay_parse_relay((const uint8_t *)"\x89\0\0\0\0", 5,
	    &f), SKP_ERR_TRUNCATED);
	CHECK_RC(skp_relay_parse_relay((const uint8_t *)"\x89\0\0\0\0\x05", 6,
	    &f), SKP_ERR_FORMAT);
	free(want);
	free(key);
}

static const struct skp_test_case cases[] = {
	{ "header_layout", header_layout },
	{ "connect_list_bounded", connect_list_bounded },
	{ "client_frames_parse", client_frames_parse },
	{ "client_frames_refused", client_frames_refused },
	{ "meet_vector", meet_vector },
	{ "push_frames_vector", push_frames_vector },
	{ "relay_frames_parse", relay_frames_parse },
	{ "relay_frames_refused", relay_frames_refused },
	{ "codes_distinct_and_mapped", codes_distinct_and_mapped },
	{ "mailbox_id_vector", mailbox_id_vector },
	{ "siphash_vectors", siphash_vectors },
	{ "table_put_get_del_grow", table_put_get_del_grow },
	{ "wheel_timers", wheel_timers },
	{ "addr_keys_levels", addr_keys_levels },
	{ "connect_halves", connect_halves },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
