/* Unit tests for lib/noise.c: vectors, handshakes, transport, refusals. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"
#include "harness.h"
#include "test/noise/vector.h"

#define IK	SKP_NOISE_IKPSK0
#define KK	SKP_NOISE_KKPSK0
#define INI	SKP_NOISE_INITIATOR
#define RES	SKP_NOISE_RESPONDER
#define CAP	(SKP_NOISE_MAX_MSG + 1)

/* The doc's vector keys (test/noise/vector.h); loaded in main(). */
static struct skp_p256_key phone_s, computer_s, phone_e, computer_e;
static uint8_t pair_psk[32], request_psk[32];

/*
 * The doc's test vector (docs/PROTOCOL.md §3), as computed by the
 * independent Python implementation in test/noise/.
 */
struct vector {
	const char	*msg1, *msg2, *h, *c1, *c2;
	const char	*i2r[2], *r2i[2];
};

static const struct vector vector_ik = {
	/* msg1 */
	    "042845b2ac00bf3140b1bb51aa9ee4aa9b6d0a365c7191abb0a11ea6"
	    "fe00c036cd030b9f0450e1705fe84ad346e179c8c7ebb4e2fbb80fd5"
	    "9004601f1500d0c5779464a8b264962427dd08da622dfb72df686d38"
	    "28f4a56088e3d080608e44ba4f151bb2b5fea2bd98b00051132e88fd"
	    "207231e29c92c2146e1ac41214a798700a69b7eade6706d7683030c2"
	    "18db585d9e4bcd8f2fb2f97b49b6c1590b4a13ff4593a2e9ecc78333"
	    "9fdd24330b28933ff920201a758ed0",
	/* msg2 */
	    "04741789b8a62b6d3db12b33a4192509bfe452011d68db6f19059665"
	    "7749c9b8c4c2f0c3f0a5480d98d774ec5a9555bae8d61dea35f24b45"
	    "6ae6d0d5f0985b7ff3b4e3df3b42eb34dcaddaee82d07efa9eb6b46d"
	    "70833e2f7cb8911dea1cdcb4ff827b0d2d1a6fa3c1",
	/* h */
	    "62a3e4b0364f2a36007787e4cc6b7aa8eb838842f1cf7863f95b3a30"
	    "3abecec9",
	/* c1 */
	    "9757985613658e3324eb07df28ff9dd08c65650677c64c1b3938cbdd"
	    "b45f3c74",
	/* c2 */
	    "3637ec1e24b225498164bda27a87b58bb6326383cfcf5b6fc75ca18e"
	    "81c9714f",
	{ /* i2r[0] */
	    "1581a8cac6681fbfa494baa7c839ef135ea0b6a5144ac2827fdae757"
	    "a05247a5",
	/* i2r[1] */
	    "01577a8e7e434afbd624aa2d48e371fdcc27017b0313f865c64ca112"
	    "46784878" },
	{ /* r2i[0] */
	    "d4bc83460d601dff710dcd1ee003a4389e99c9acbfe7e3431e0e3065"
	    "95815f7b",
	/* r2i[1] */
	    "2dc1160a39ce3de0c73992825467e1f7" },
};

static const struct vector vector_kk = {
	/* msg1 */
	    "04741789b8a62b6d3db12b33a4192509bfe452011d68db6f19059665"
	    "7749c9b8c4c2f0c3f0a5480d98d774ec5a9555bae8d61dea35f24b45"
	    "6ae6d0d5f0985b7ff3bf7a57f9190b48878396f2bec2a23cc339e73f"
	    "dc2a265cc35131408405f92e13ab460072277b96a3",
	/* msg2 */
	    "042845b2ac00bf3140b1bb51aa9ee4aa9b6d0a365c7191abb0a11ea6"
	    "fe00c036cd030b9f0450e1705fe84ad346e179c8c7ebb4e2fbb80fd5"
	    "9004601f1500d0c5772dfadb1195379e1a8215f1395532b61a8cf5a5"
	    "9260204276376e7ac7ca017527606d5eb6fc",
	/* h */
	    "b69ad34619faf20f85d8decac9fe52e4dffbd0dee6ce8ccae2c17c8f"
	    "b11f31de",
	/* c1 */
	    "bb8a0dbab035c18bee3a3cf02840f4fc47734d3a16487318df3d2f2e"
	    "c09c5b6b",
	/* c2 */
	    "f277071a48325edfc9ed45de8193ff567316e02b0c5fe4904b7a40fa"
	    "aa3d6267",
	{ /* i2r[0] */
	    "13cddf2ab4290ff06447b382edd8489bc46bbcf03fb60758e916106a"
	    "96f82202",
	/* i2r[1] */
	    "d552228bacd7b3f5ada3d8a5c52a70b7032c09b07f07a9c9c7887d9c"
	    "30912723" },
	{ /* r2i[0] */
	    "6495a69bb271b4e289c5bbe081e605cf073553c62ae35f9a47b8ee35"
	    "c66eebb7",
	/* r2i[1] */
	    "2505bdb5c927f1e892a3cd6b31951ea6" },
};

/* A key from a hex scalar; aborts on a bad constant. */
static void
key_hex(const char *hex, struct skp_p256_key *k)
{
	uint8_t d[32];

	if (skp_unhex(hex, d, sizeof(d)) != SKP_OK ||
	    skp_p256_from_private(d, k) != SKP_OK)
		abort();
}

static const struct skp_p256_key *
static_of(int pattern, int role)
{
	/* Pairing: the phone initiates; requests: the computer does. */
	return (pattern == IK) == (role == INI) ? &phone_s : &computer_s;
}

static const struct skp_p256_key *
eph_of(int pattern, int role)
{
	return (pattern == IK) == (role == INI) ? &phone_e : &computer_e;
}

static const struct skp_p256_key *
peer_of(int pattern, int role)
{
	return static_of(pattern, role == INI ? RES : INI);
}

/* A state with the right keys; fixed: the vector's ephemeral key. */
static skp_noise_t *
make(int pattern, int role, int fixed)
{
	skp_noise_t *st;

	if ((st = skp_noise_new(pattern, role)) == NULL)
		return NULL;
	if (skp_noise_set_local_static(st, static_of(pattern, role)) != 0 ||
	    skp_noise_set_psk(st, pattern == IK ? pair_psk :
	    request_psk) != 0 ||
	    (!(pattern == IK && role == RES) &&
	    skp_noise_set_remote_static(st, peer_of(pattern, role)->pub) !=
	    0) ||
	    (fixed && skp_noise_set_ephemeral_for_test(st,
	    eph_of(pattern, role)) != 0))
		skp_noise_free(&st);
	return st;
}

struct hs {
	skp_noise_t	*i, *r;
	skp_buf_t	*m1, *m2, *p1, *p2;
};

static int
hs_new(struct hs *h, int pattern, int fixed)
{
	memset(h, 0, sizeof(*h));
	h->i = make(pattern, INI, fixed);
	h->r = make(pattern, RES, fixed);
	h->m1 = skp_buf_new(CAP);
	h->m2 = skp_buf_new(CAP);
	h->p1 = skp_buf_new(CAP);
	h->p2 = skp_buf_new(CAP);
	return h->i != NULL && h->r != NULL && h->m1 != NULL &&
	    h->m2 != NULL && h->p1 != NULL && h->p2 != NULL;
}

static void
hs_free(struct hs *h)
{
	skp_noise_free(&h->i);
	skp_noise_free(&h->r);
	skp_buf_free(&h->m1);
	skp_buf_free(&h->m2);
	skp_buf_free(&h->p1);
	skp_buf_free(&h->p2);
}

/* Both messages; 0 when every step succeeded. */
static int
hs_run(struct hs *h, const void *p1, size_t n1, const void *p2, size_t n2)
{
	if (skp_noise_write_message(h->i, p1, n1, h->m1) != 0 ||
	    skp_noise_read_message(h->r, skp_buf_ptr(h->m1),
	    skp_buf_len(h->m1), h->p1) != 0 ||
	    skp_noise_write_message(h->r, p2, n2, h->m2) != 0 ||
	    skp_noise_read_message(h->i, skp_buf_ptr(h->m2),
	    skp_buf_len(h->m2), h->p2) != 0)
		return -1;
	return 0;
}

/* A failed state: SKP_NOISE_NEXT_NONE and SKP_ERR_STATE from now on. */
static void
check_dead(skp_noise_t *st)
{
	skp_noise_transport_t *t = NULL;
	skp_buf_t *b = skp_buf_new(CAP);
	uint8_t h[32], pub[65];

	CHECK(skp_noise_next(st) == SKP_NOISE_NEXT_NONE);
	CHECK(!skp_noise_is_done(st));
	CHECK_RC(skp_noise_write_message(st, "x", 1, b), SKP_ERR_STATE);
	CHECK_RC(skp_noise_read_message(st, "x", 1, b), SKP_ERR_STATE);
	CHECK_RC(skp_noise_split(st, &t), SKP_ERR_STATE);
	CHECK(t == NULL);
	CHECK_RC(skp_noise_handshake_hash(st, h), SKP_ERR_STATE);
	CHECK_RC(skp_noise_remote_static(st, pub), SKP_ERR_STATE);
	CHECK_RC(skp_noise_set_psk(st, pair_psk), SKP_ERR_STATE);
	CHECK(skp_buf_len(b) == 0);
	skp_buf_free(&b);
}

static void
check_vector(int pattern, const struct vector *v)
{
	struct hs h;
	skp_noise_transport_t *ti = NULL, *tr = NULL;
	skp_buf_t *ct = NULL, *pt = NULL;
	uint8_t *want, hh[32], c1[32], c2[32];
	const char *i2r[2] = { NV_I2R_1, NV_I2R_2 };
	const char *r2i[2] = { NV_R2I_1, NV_R2I_2 };
	const char *p1 = pattern == IK ? NV_IK_PAYLOAD1 : NV_KK_PAYLOAD1;
	const char *p2 = pattern == IK ? NV_IK_PAYLOAD2 : NV_KK_PAYLOAD2;
	size_t n, i;

	REQUIRE(hs_new(&h, pattern, 1));
	REQUIRE(hs_run(&h, p1, strlen(p1), p2, strlen(p2)) == 0);
	want = skp_test_unhex(v->msg1, &n);
	CHECK(skp_buf_len(h.m1) == n && memcmp(skp_buf_ptr(h.m1), want,
	    n) == 0);
	free(want);
	want = skp_test_unhex(v->msg2, &n);
	CHECK(skp_buf_len(h.m2) == n && memcmp(skp_buf_ptr(h.m2), want,
	    n) == 0);
	free(want);
	CHECK(skp_buf_len(h.p1) == strlen(p1) &&
	    memcmp(skp_buf_ptr(h.p1), p1, strlen(p1)) == 0);
	CHECK(skp_buf_len(h.p2) == strlen(p2) &&
	    memcmp(skp_buf_ptr(h.p2), p2, strlen(p2)) == 0);
	want = skp_test_unhex(v->h, &n);
	CHECK_RC(skp_noise_handshake_hash(h.i, hh), SKP_OK);
	CHECK(n == 32 && memcmp(hh, want, 32) == 0);
	CHECK_RC(skp_noise_handshake_hash(h.r, hh), SKP_OK);
	CHECK(n == 32 && memcmp(hh, want, 32) == 0);
	free(want);
	REQUIRE(skp_noise_split(h.i, &ti) == 0 &&
	    skp_noise_split(h.r, &tr) == 0);
	CHECK_RC(skp_noise_transport_keys_for_test(ti, c1, c2), SKP_OK);
	want = skp_test_unhex(v->c1, &n);
	CHECK(memcmp(c1, want, 32) == 0);
	free(want);
	want = skp_test_unhex(v->c2, &n);
	CHECK(memcmp(c2, want, 32) == 0);
	free(want);
	REQUIRE((ct = skp_buf_new(CAP)) != NULL &&
	    (pt = skp_buf_new(CAP)) != NULL);
	for (i = 0; i < 2; i++) {
		skp_buf_reset(ct);
		skp_buf_reset(pt);
		CHECK_RC(skp_noise_transport_encrypt(ti, i2r[i],
		    strlen(i2r[i]), ct), SKP_OK);
		want = skp_test_unhex(v->i2r[i], &n);
		CHECK(skp_buf_len(ct) == n &&
		    memcmp(skp_buf_ptr(ct), want, n) == 0);
		free(want);
		CHECK_RC(skp_noise_transport_decrypt(tr, skp_buf_ptr(ct),
		    skp_buf_len(ct), pt), SKP_OK);
		CHECK(skp_buf_len(pt) == strlen(i2r[i]));
	}
	for (i = 0; i < 2; i++) {
		skp_buf_reset(ct);
		CHECK_RC(skp_noise_transport_encrypt(tr, r2i[i],
		    strlen(r2i[i]), ct), SKP_OK);
		want = skp_test_unhex(v->r2i[i], &n);
		CHECK(skp_buf_len(ct) == n &&
		    memcmp(skp_buf_ptr(ct), want, n) == 0);
		free(want);
	}
	skp_buf_free(&ct);
	skp_buf_free(&pt);
	skp_noise_transport_free(&ti);
	skp_noise_transport_free(&tr);
	hs_free(&h);
}

static void
test_vector_ik(void)
{
	check_vector(IK, &vector_ik);
}

static void
test_vector_kk(void)
{
	check_vector(KK, &vector_kk);
}

/*
 * docs/PROTOCOL.md §3.10.1: after the KK vector's handshake, transport
 * message 3 with the PIN "1234" (c1, nonce 0) and message 4 with the
 * answer {1: 0x31, 3: "wrong PIN"} (c2, nonce 0), made by the C encoders.
 */
static void
test_vector_kk_pin(void)
{
	static const char msg3[] =
	    "c5beda75f56a548d481182a284f576e9d8a47f69c78ac4c14c4dcae6e9235e94"
	    "a76105acdf2ea3efe1c7167546654ea42eb73fd7606a142791267f9a98995ba1"
	    "022d7bbbfdf643a3993c4e9cb724ff38a9222722b05fe8e488239765f2787df8"
	    "75a1e53e3a9019544529d157cb38744afb67f1e5866489a19d9b206205bf58bc"
	    "0b30b1f279a66c1ea7429e203937386b";
	/* SHA-256 of the 1040-byte message 4, and its first 32 bytes. */
	static const char msg4_sha256[] =
	    "c78af8f866083ad21cedd7a27652371c9d1a9e3726caba34f4de67e81bb553c6";
	static const char msg4_head[] =
	    "b3e6dfc4c268ace2928bede0a38275a9ec1011e164a721e7241272b0ca139280";
	struct hs h;
	skp_noise_transport_t *ti = NULL, *tr = NULL;
	skp_buf_t *ct = skp_buf_new(CAP), *pt = skp_buf_new(CAP);
	uint8_t *pm = NULL, *am = NULL, *want, dg[32];
	size_t pmlen = 0, amlen = 0, n;
	char pin[SKP_CTAP_PIN_MAX + 1];

	REQUIRE(ct != NULL && pt != NULL);
	REQUIRE(hs_new(&h, KK, 1));
	REQUIRE(hs_run(&h, "q", 1, "a", 1) == 0);
	REQUIRE(skp_noise_split(h.i, &ti) == 0 &&
	    skp_noise_split(h.r, &tr) == 0);
	CHECK_RC(skp_ctap_pin_encode("1234", &pm, &pmlen), SKP_OK);
	CHECK_RC(skp_noise_transport_encrypt(ti, pm, pmlen, ct), SKP_OK);
	want = skp_test_unhex(msg3, &n);
	CHECK(n == 144 && skp_buf_len(ct) == n &&
	    memcmp(skp_buf_ptr(ct), want, n) == 0);
	free(want);
	CHECK_RC(skp_noise_transport_decrypt(tr, skp_buf_ptr(ct),
	    skp_buf_len(ct), pt), SKP_OK);
	CHECK_RC(skp_ctap_pin_decode(skp_buf_ptr(pt), skp_buf_len(pt), pin),
	    SKP_OK);
	CHECK(strcmp(pin, "1234") == 0);
	skp_buf_reset(ct);
	CHECK_RC(skp_ctap_response_encode(SKP_CTAP_PIN_INVALID, NULL, 0,
	    "wrong PIN", &am, &amlen), SKP_OK);
	CHECK_RC(skp_noise_transport_encrypt(tr, am, amlen, ct), SKP_OK);
	CHECK(skp_buf_len(ct) == 1040);
	CHECK_RC(skp_sha256(skp_buf_ptr(ct), skp_buf_len(ct), dg), SKP_OK);
	want = skp_test_unhex(msg4_sha256, &n);
	CHECK(n == 32 && memcmp(dg, want, 32) == 0);
	free(want);
	want = skp_test_unhex(msg4_head, &n);
	CHECK(memcmp(skp_buf_ptr(ct), want, n) == 0);
	free(want);
	skp_wipe(pm, pmlen);
	free(pm);
	free(am);
	skp_buf_free(&ct);
	skp_buf_free(&pt);
	skp_noise_transport_free(&ti);
	skp_noise_transport_free(&tr);
	hs_free(&h);
}

static void
check_handshake(int pattern)
{
	struct hs h;
	uint8_t p1[300], p2[77], hi[32], hr[32], pub[65];
	size_t over1 = pattern == IK ? 65 + 65 + 16 + 16 : 65 + 16;

	memset(p1, 0xa1, sizeof(p1));
	memset(p2, 0xb2, sizeof(p2));
	REQUIRE(hs_new(&h, pattern, 0));
	CHECK(skp_noise_next(h.i) == SKP_NOISE_NEXT_WRITE);
	CHECK(skp_noise_next(h.r) == SKP_NOISE_NEXT_READ);
	CHECK(!skp_noise_is_done(h.i));
	if (pattern == IK)
		CHECK_RC(skp_noise_remote_static(h.r, pub), SKP_ERR_STATE);
	REQUIRE(skp_noise_write_message(h.i, p1, sizeof(p1), h.m1) == 0);
	CHECK(skp_buf_len(h.m1) == over1 + sizeof(p1));
	CHECK(skp_noise_next(h.i) == SKP_NOISE_NEXT_READ);
	CHECK_RC(skp_noise_handshake_hash(h.i, hi), SKP_ERR_STATE);
	REQUIRE(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
	    skp_buf_len(h.m1), h.p1) == 0);
	CHECK(skp_buf_len(h.p1) == sizeof(p1) &&
	    memcmp(skp_buf_ptr(h.p1), p1, sizeof(p1)) == 0);
	/* The IK responder learns the phone's key from message 1. */
	CHECK_RC(skp_noise_remote_static(h.r, pub), SKP_OK);
	CHECK(memcmp(pub, static_of(pattern, INI)->pub, 65) == 0);
	CHECK(skp_noise_next(h.r) == SKP_NOISE_NEXT_WRITE);
	REQUIRE(skp_noise_write_message(h.r, p2, sizeof(p2), h.m2) == 0);
	CHECK(skp_buf_len(h.m2) == 65 + 16 + sizeof(p2));
	CHECK(skp_noise_next(h.r) == SKP_NOISE_NEXT_SPLIT);
	CHECK(skp_noise_is_done(h.r));
	REQUIRE(skp_noise_read_message(h.i, skp_buf_ptr(h.m2),
	    skp_buf_len(h.m2), h.p2) == 0);
	CHECK(skp_buf_len(h.p2) == sizeof(p2) &&
	    memcmp(skp_buf_ptr(h.p2), p2, sizeof(p2)) == 0);
	CHECK(skp_noise_next(h.i) == SKP_NOISE_NEXT_SPLIT);
	CHECK(skp_noise_is_done(h.i));
	CHECK_RC(skp_noise_handshake_hash(h.i, hi), SKP_OK);
	CHECK_RC(skp_noise_handshake_hash(h.r, hr), SKP_OK);
	CHECK(memcmp(hi, hr, 32) == 0);
	CHECK_RC(skp_noise_remote_static(h.i, pub), SKP_OK);
	CHECK(memcmp(pub, static_of(pattern, RES)->pub, 65) == 0);
	/* Fresh ephemeral keys: not the vector's, so not its messages. */
	CHECK(memcmp(skp_buf_ptr(h.m1), eph_of(pattern, INI)->pub, 65) != 0);
	hs_free(&h);
}

static void
test_handshake_ik(void)
{
	check_handshake(IK);
}

static void
test_handshake_kk(void)
{
	check_handshake(KK);
}

static void
test_handshake_empty_payloads(void)
{
	struct hs h;
	int p;

	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 0));
		CHECK(hs_run(&h, NULL, 0, NULL, 0) == 0);
		CHECK(skp_buf_len(h.p1) == 0 && skp_buf_len(h.p2) == 0);
		CHECK(skp_buf_len(h.m1) == (p == IK ? 65u + 81 + 16 : 81u));
		CHECK(skp_buf_len(h.m2) == 81);
		hs_free(&h);
	}
}

/* Two handshakes never give the same hash or keys. */
static void
test_handshake_fresh(void)
{
	struct hs a, b;
	skp_noise_transport_t *ta = NULL, *tb = NULL;
	uint8_t ha[32], hb[32], a1[32], a2[32], b1[32], b2[32];

	REQUIRE(hs_new(&a, KK, 0) && hs_new(&b, KK, 0));
	REQUIRE(hs_run(&a, "x", 1, "y", 1) == 0 &&
	    hs_run(&b, "x", 1, "y", 1) == 0);
	REQUIRE(skp_noise_handshake_hash(a.i, ha) == 0 &&
	    skp_noise_handshake_hash(b.i, hb) == 0);
	CHECK(memcmp(ha, hb, 32) != 0);
	REQUIRE(skp_noise_split(a.r, &ta) == 0 && skp_noise_split(b.r,
	    &tb) == 0);
	REQUIRE(skp_noise_transport_keys_for_test(ta, a1, a2) == 0 &&
	    skp_noise_transport_keys_for_test(tb, b1, b2) == 0);
	CHECK(memcmp(a1, b1, 32) != 0 && memcmp(a2, b2, 32) != 0);
	CHECK(memcmp(a1, a2, 32) != 0);
	skp_noise_transport_free(&ta);
	skp_noise_transport_free(&tb);
	hs_free(&a);
	hs_free(&b);
}

static int
split_both(struct hs *h, skp_noise_transport_t **ti,
    skp_noise_transport_t **tr)
{
	return skp_noise_split(h->i, ti) == 0 && skp_noise_split(h->r, tr) == 0;
}

static void
test_transport_both_directions(void)
{
	struct hs h;
	skp_noise_transport_t *ti = NULL, *tr = NULL, *t2 = NULL;
	skp_buf_t *ct, *pt;
	uint8_t msg[200], i1[32], i2[32], r1[32], r2[32];
	uint8_t nonce[12] = { 0 }, plain[200];
	int p, k;

	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 0) && hs_run(&h, "a", 1, "b", 1) == 0);
		REQUIRE(split_both(&h, &ti, &tr));
		CHECK(skp_noise_next(h.i) == SKP_NOISE_NEXT_NONE);
		/* Only once; the hash stays readable after the split. */
		CHECK_RC(skp_noise_handshake_hash(h.r, i1), SKP_OK);
		CHECK_RC(skp_noise_split(h.i, &t2), SKP_ERR_STATE);
		CHECK(t2 == NULL);
		skp_noise_transport_free(&ti);
		skp_noise_transport_free(&tr);
		skp_noise_free(&h.i);
		skp_noise_free(&h.r);
		h.i = make(p, INI, 0);
		h.r = make(p, RES, 0);
		skp_buf_reset(h.m1);
		skp_buf_reset(h.m2);
		REQUIRE(hs_run(&h, "a", 1, "b", 1) == 0);
		REQUIRE(split_both(&h, &ti, &tr));
		REQUIRE(skp_noise_transport_keys_for_test(ti, i1, i2) == 0 &&
		    skp_noise_transport_keys_for_test(tr, r1, r2) == 0);
		CHECK(memcmp(i1, r1, 32) == 0 && memcmp(i2, r2, 32) == 0);
		REQUIRE((ct = skp_buf_new(CAP)) != NULL &&
		    (pt = skp_buf_new(CAP)) != NULL);
		for (k = 0; k < 10; k++) {
			memset(msg, k, sizeof(msg));
			skp_buf_reset(ct);
			skp_buf_reset(pt);
			/* Alternate, and twice in a row, both ways. */
			if (k % 3 != 2) {
				CHECK_RC(skp_noise_transport_encrypt(ti, msg,
				    (size_t)k * 20, ct), SKP_OK);
				CHECK(skp_buf_len(ct) == (size_t)k * 20 + 16);
				CHECK_RC(skp_noise_transport_decrypt(tr,
				    skp_buf_ptr(ct), skp_buf_len(ct), pt),
				    SKP_OK);
			} else {
				CHECK_RC(skp_noise_transport_encrypt(tr, msg,
				    (size_t)k * 20, ct), SKP_OK);
				CHECK_RC(skp_noise_transport_decrypt(ti,
				    skp_buf_ptr(ct), skp_buf_len(ct), pt),
				    SKP_OK);
			}
			CHECK(skp_buf_len(pt) == (size_t)k * 20 &&
			    memcmp(skp_buf_ptr(pt), msg, (size_t)k * 20) == 0);
		}
		/* The wire format by hand: c2, nonce 4 zeros || 3 (BE). */
		skp_buf_reset(ct);
		CHECK_RC(skp_noise_transport_encrypt(tr, "hello", 5, ct),
		    SKP_OK);
		nonce[11] = 3;
		CHECK_RC(skp_aesgcm_open(i2, nonce, NULL, 0, skp_buf_ptr(ct),
		    skp_buf_len(ct), plain), SKP_OK);
		CHECK(memcmp(plain, "hello", 5) == 0);
		skp_buf_free(&ct);
		skp_buf_free(&pt);
		skp_noise_transport_free(&ti);
		skp_noise_transport_free(&tr);
		hs_free(&h);
	}
}

static void
test_transport_max_size(void)
{
	struct hs h;
	skp_noise_transport_t *ti = NULL, *tr = NULL;
	skp_buf_t *ct, *pt;
	uint8_t *big;

	REQUIRE((big = calloc(1, CAP + 16)) != NULL);
	REQUIRE(hs_new(&h, KK, 0) && hs_run(&h, "a", 1, "b", 1) == 0);
	REQUIRE(split_both(&h, &ti, &tr));
	REQUIRE((ct = skp_buf_new(CAP + 16)) != NULL &&
	    (pt = skp_buf_new(CAP)) != NULL);
	CHECK_RC(skp_noise_transport_encrypt(ti, big,
	    SKP_NOISE_MAX_PLAINTEXT, ct), SKP_OK);
	CHECK(skp_buf_len(ct) == SKP_NOISE_MAX_MSG);
	CHECK_RC(skp_noise_transport_decrypt(tr, skp_buf_ptr(ct),
	    skp_buf_len(ct), pt), SKP_OK);
	CHECK(skp_buf_len(pt) == SKP_NOISE_MAX_PLAINTEXT);
	skp_buf_reset(ct);
	CHECK_RC(skp_noise_transport_encrypt(ti, big,
	    SKP_NOISE_MAX_PLAINTEXT + 1, ct), SKP_ERR_TOO_LARGE);
	CHECK(skp_buf_len(ct) == 0);
	CHECK_RC(skp_noise_transport_encrypt(ti, "x", 1, ct), SKP_ERR_STATE);
	skp_buf_reset(pt);
	CHECK_RC(skp_noise_transport_decrypt(tr, big, SKP_NOISE_MAX_MSG + 1,
	    pt), SKP_ERR_TOO_LARGE);
	CHECK(skp_buf_len(pt) == 0);
	CHECK_RC(skp_noise_transport_decrypt(tr, big, 16, pt),
	    SKP_ERR_STATE);
	skp_buf_free(&ct);
	skp_buf_free(&pt);
	skp_noise_transport_free(&ti);
	skp_noise_transport_free(&tr);
	hs_free(&h);
	free(big);
}

static void
test_transport_replay_reorder(void)
{
	struct hs h;
	skp_noise_transport_t *ti = NULL, *tr = NULL;
	skp_buf_t *c[3], *pt;
	int i, p, mode;

	for (mode = 0; mode < 4; mode++) {
		p = mode % 2 == 0 ? IK : KK;
		REQUIRE(hs_new(&h, p, 0) && hs_run(&h, "a", 1, "b", 1) == 0);
		REQUIRE(split_both(&h, &ti, &tr));
		REQUIRE((pt = skp_buf_new(CAP)) != NULL);
		for (i = 0; i < 3; i++) {
			REQUIRE((c[i] = skp_buf_new(CAP)) != NULL);
			CHECK_RC(skp_noise_transport_encrypt(ti, "msg", 3,
			    c[i]), SKP_OK);
		}
		CHECK_RC(skp_noise_transport_decrypt(tr, skp_buf_ptr(c[0]),
		    skp_buf_len(c[0]), pt), SKP_OK);
		skp_buf_reset(pt);
		if (mode < 2) {
			/* The same message again. */
			CHECK_RC(skp_noise_transport_decrypt(tr,
			    skp_buf_ptr(c[0]), skp_buf_len(c[0]), pt),
			    SKP_ERR_DECRYPT);
		} else {
			/* The third before the second. */
			CHECK_RC(skp_noise_transport_decrypt(tr,
			    skp_buf_ptr(c[2]), skp_buf_len(c[2]), pt),
			    SKP_ERR_DECRYPT);
		}
		CHECK(skp_buf_len(pt) == 0);
		/* Dead now: even the next message in order is refused. */
		CHECK_RC(skp_noise_transport_decrypt(tr, skp_buf_ptr(c[1]),
		    skp_buf_len(c[1]), pt), SKP_ERR_STATE);
		CHECK_RC(skp_noise_transport_encrypt(tr, "x", 1, pt),
		    SKP_ERR_STATE);
		CHECK(skp_buf_len(pt) == 0);
		for (i = 0; i < 3; i++)
			skp_buf_free(&c[i]);
		skp_buf_free(&pt);
		skp_noise_transport_free(&ti);
		skp_noise_transport_free(&tr);
		hs_free(&h);
	}
}

/* Tampered, truncated, or sent back to its own sender. */
static void
test_transport_tamper(void)
{
	struct hs h;
	skp_noise_transport_t *ti = NULL, *tr = NULL;
	skp_buf_t *c, *pt;
	uint8_t bad[64];
	size_t n, pos;

	REQUIRE(hs_new(&h, IK, 0) && hs_run(&h, "a", 1, "b", 1) == 0);
	REQUIRE((c = skp_buf_new(CAP)) != NULL &&
	    (pt = skp_buf_new(CAP)) != NULL);
	REQUIRE(split_both(&h, &ti, &tr));
	REQUIRE(skp_noise_transport_encrypt(ti, "0123456789", 10, c) == 0);
	n = skp_buf_len(c);
	for (pos = 0; pos < n; pos++) {
		skp_noise_transport_free(&tr);
		skp_noise_free(&h.r);
		/* A fresh responder state for each try: the same keys. */
		skp_noise_free(&h.i);
		REQUIRE((h.i = make(IK, INI, 1)) && (h.r = make(IK, RES, 1)));
		skp_buf_reset(h.m1);
		skp_buf_reset(h.m2);
		REQUIRE(hs_run(&h, "a", 1, "b", 1) == 0);
		skp_noise_transport_free(&ti);
		REQUIRE(split_both(&h, &ti, &tr));
		skp_buf_reset(c);
		REQUIRE(skp_noise_transport_encrypt(ti, "0123456789", 10,
		    c) == 0);
		memcpy(bad, skp_buf_ptr(c), n);
		bad[pos] ^= (uint8_t)(1u << (pos % 8));
		CHECK_RC(skp_noise_transport_decrypt(tr, bad, n, pt),
		    SKP_ERR_DECRYPT);
		CHECK(skp_buf_len(pt) == 0);
	}
	skp_noise_transport_free(&ti);
	skp_noise_transport_free(&tr);
	skp_noise_free(&h.i);
	skp_noise_free(&h.r);
	REQUIRE((h.i = make(KK, INI, 0)) && (h.r = make(KK, RES, 0)));
	skp_buf_reset(h.m1);
	skp_buf_reset(h.m2);
	REQUIRE(hs_run(&h, "a", 1, "b", 1) == 0);
	REQUIRE(split_both(&h, &ti, &tr));
	skp_buf_reset(c);
	REQUIRE(skp_noise_transport_encrypt(ti, "x", 1, c) == 0);
	/* Reflected back to the initiator: the other key. */
	CHECK_RC(skp_noise_transport_decrypt(ti, skp_buf_ptr(c),
	    skp_buf_len(c), pt), SKP_ERR_DECRYPT);
	for (n = 0; n < 16; n++) {
		skp_noise_transport_free(&tr);
		skp_noise_free(&h.i);
		skp_noise_free(&h.r);
		REQUIRE((h.i = make(KK, INI, 1)) && (h.r = make(KK, RES, 1)));
		skp_buf_reset(h.m1);
		skp_buf_reset(h.m2);
		REQUIRE(hs_run(&h, "a", 1, "b", 1) == 0);
		skp_noise_transport_free(&ti);
		REQUIRE(split_both(&h, &ti, &tr));
		CHECK_RC(skp_noise_transport_decrypt(tr, skp_buf_ptr(c), n,
		    pt), SKP_ERR_TRUNCATED);
	}
	CHECK(skp_buf_len(pt) == 0);
	skp_buf_free(&c);
	skp_buf_free(&pt);
	skp_noise_transport_free(&ti);
	skp_noise_transport_free(&tr);
	hs_free(&h);
}

static void
test_transport_nonce_limit(void)
{
	struct hs h;
	skp_noise_transport_t *ti = NULL, *tr = NULL;
	skp_buf_t *c, *pt;

	REQUIRE(hs_new(&h, KK, 0) && hs_run(&h, "a", 1, "b", 1) == 0);
	REQUIRE(split_both(&h, &ti, &tr));
	REQUIRE((c = skp_buf_new(CAP)) != NULL &&
	    (pt = skp_buf_new(CAP)) != NULL);
	/* 2^64 - 2 is the last nonce; 2^64 - 1 is reserved. */
	CHECK_RC(skp_noise_transport_set_nonces_for_test(ti, UINT64_MAX - 1,
	    0), SKP_OK);
	CHECK_RC(skp_noise_transport_set_nonces_for_test(tr, 0,
	    UINT64_MAX - 1), SKP_OK);
	CHECK_RC(skp_noise_transport_encrypt(ti, "last", 4, c), SKP_OK);
	CHECK_RC(skp_noise_transport_decrypt(tr, skp_buf_ptr(c),
	    skp_buf_len(c), pt), SKP_OK);
	CHECK(skp_buf_len(pt) == 4);
	skp_buf_reset(c);
	skp_buf_reset(pt);
	CHECK_RC(skp_noise_transport_encrypt(ti, "more", 4, c),
	    SKP_ERR_LIMIT);
	CHECK(skp_buf_len(c) == 0);
	CHECK_RC(skp_noise_transport_decrypt(tr, "0123456789abcdef0", 17,
	    pt), SKP_ERR_LIMIT);
	CHECK(skp_buf_len(pt) == 0);
	CHECK_RC(skp_noise_transport_set_nonces_for_test(tr, 0, 0),
	    SKP_ERR_STATE);
	skp_buf_free(&c);
	skp_buf_free(&pt);
	skp_noise_transport_free(&ti);
	skp_noise_transport_free(&tr);
	hs_free(&h);
}

static void
test_wrong_psk(void)
{
	struct hs h;
	uint8_t psk[32];
	int p, side;

	for (p = IK; p <= KK; p++) {
		for (side = 0; side < 2; side++) {
			REQUIRE(hs_new(&h, p, 0));
			memcpy(psk, p == IK ? pair_psk : request_psk, 32);
			psk[31] ^= 1;
			skp_noise_free(side == 0 ? &h.i : &h.r);
			if (side == 0)
				h.i = make(p, INI, 0);
			else
				h.r = make(p, RES, 0);
			/* Setters before the first message overwrite. */
			REQUIRE(skp_noise_set_psk(side == 0 ? h.i : h.r,
			    psk) == 0);
			REQUIRE(skp_noise_write_message(h.i, "secret", 6,
			    h.m1) == 0);
			CHECK_RC(skp_noise_read_message(h.r,
			    skp_buf_ptr(h.m1), skp_buf_len(h.m1), h.p1),
			    SKP_ERR_DECRYPT);
			CHECK(skp_buf_len(h.p1) == 0);
			check_dead(h.r);
			hs_free(&h);
		}
	}
}

static void
test_wrong_remote_static_initiator(void)
{
	struct hs h;
	struct skp_p256_key other;
	int p;

	REQUIRE(skp_p256_generate(&other) == 0);
	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 0));
		/* The initiator has another key for the responder. */
		skp_noise_free(&h.i);
		REQUIRE((h.i = skp_noise_new(p, INI)) != NULL);
		REQUIRE(skp_noise_set_local_static(h.i, static_of(p, INI)) ==
		    0 && skp_noise_set_psk(h.i, p == IK ? pair_psk :
		    request_psk) == 0 && skp_noise_set_remote_static(h.i,
		    other.pub) == 0);
		REQUIRE(skp_noise_write_message(h.i, "x", 1, h.m1) == 0);
		CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1), SKP_ERR_DECRYPT);
		CHECK(skp_buf_len(h.p1) == 0);
		check_dead(h.r);
		hs_free(&h);
	}
}

static void
test_wrong_remote_static_responder(void)
{
	struct hs h;
	struct skp_p256_key other;
	uint8_t pub[65];

	REQUIRE(skp_p256_generate(&other) == 0);
	/* KK: the phone expects another computer. */
	REQUIRE(hs_new(&h, KK, 0));
	skp_noise_free(&h.r);
	REQUIRE((h.r = skp_noise_new(KK, RES)) != NULL);
	REQUIRE(skp_noise_set_local_static(h.r, static_of(KK, RES)) == 0 &&
	    skp_noise_set_psk(h.r, request_psk) == 0 &&
	    skp_noise_set_remote_static(h.r, other.pub) == 0);
	REQUIRE(skp_noise_write_message(h.i, "x", 1, h.m1) == 0);
	CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
	    skp_buf_len(h.m1), h.p1), SKP_ERR_DECRYPT);
	CHECK(skp_buf_len(h.p1) == 0);
	check_dead(h.r);
	hs_free(&h);
	/*
	 * IK: an initiator with another static key gets through (the
	 * responder learns it), and the responder sees which key it was.
	 */
	REQUIRE(hs_new(&h, IK, 0));
	skp_noise_free(&h.i);
	REQUIRE((h.i = skp_noise_new(IK, INI)) != NULL);
	REQUIRE(skp_noise_set_local_static(h.i, &other) == 0 &&
	    skp_noise_set_psk(h.i, pair_psk) == 0 &&
	    skp_noise_set_remote_static(h.i, computer_s.pub) == 0);
	CHECK(hs_run(&h, "x", 1, "y", 1) == 0);
	CHECK_RC(skp_noise_remote_static(h.r, pub), SKP_OK);
	CHECK(memcmp(pub, other.pub, 65) == 0);
	CHECK(memcmp(pub, phone_s.pub, 65) != 0);
	hs_free(&h);
	/* A responder with another own key: the initiator's es fails. */
	REQUIRE(hs_new(&h, IK, 0));
	skp_noise_free(&h.r);
	REQUIRE((h.r = skp_noise_new(IK, RES)) != NULL);
	REQUIRE(skp_noise_set_local_static(h.r, &other) == 0 &&
	    skp_noise_set_psk(h.r, pair_psk) == 0);
	REQUIRE(skp_noise_write_message(h.i, "x", 1, h.m1) == 0);
	CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
	    skp_buf_len(h.m1), h.p1), SKP_ERR_DECRYPT);
	CHECK(skp_buf_len(h.p1) == 0);
	hs_free(&h);
	skp_wipe(&other, sizeof(other));
}

/* Message 2 from a responder that is not the one the initiator knows. */
static void
test_wrong_responder_msg2(void)
{
	struct hs h, g;
	int p;

	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 0) && hs_new(&g, p, 0));
		REQUIRE(skp_noise_write_message(h.i, "x", 1, h.m1) == 0);
		REQUIRE(skp_noise_write_message(g.i, "x", 1, g.m1) == 0);
		REQUIRE(skp_noise_read_message(g.r, skp_buf_ptr(g.m1),
		    skp_buf_len(g.m1), g.p1) == 0);
		REQUIRE(skp_noise_write_message(g.r, "y", 1, g.m2) == 0);
		/* The answer to another handshake. */
		CHECK_RC(skp_noise_read_message(h.i, skp_buf_ptr(g.m2),
		    skp_buf_len(g.m2), h.p2), SKP_ERR_DECRYPT);
		CHECK(skp_buf_len(h.p2) == 0);
		check_dead(h.i);
		hs_free(&h);
		hs_free(&g);
	}
}

/* Every byte of msg 1, one bit each; and msg 2 the same way. */
static void
test_bitflip_msg1(void)
{
	struct hs h;
	skp_noise_t *r;
	skp_buf_t *out;
	uint8_t *bad;
	size_t n, pos;
	int p, rc;

	REQUIRE((out = skp_buf_new(CAP)) != NULL);
	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 1));
		REQUIRE(skp_noise_write_message(h.i, "payload", 7, h.m1) == 0);
		n = skp_buf_len(h.m1);
		REQUIRE((bad = malloc(n)) != NULL);
		for (pos = 0; pos < n; pos++) {
			memcpy(bad, skp_buf_ptr(h.m1), n);
			bad[pos] ^= (uint8_t)(1u << (pos % 8));
			REQUIRE((r = make(p, RES, 1)) != NULL);
			rc = skp_noise_read_message(r, bad, n, out);
			/* Bytes of e can make an invalid point instead. */
			CHECK(rc == SKP_ERR_DECRYPT ||
			    (pos < 65 && rc == SKP_ERR_CRYPTO));
			CHECK(skp_buf_len(out) == 0);
			CHECK(skp_noise_next(r) == SKP_NOISE_NEXT_NONE);
			skp_noise_free(&r);
		}
		/* The control: the same message unchanged goes through. */
		REQUIRE((r = make(p, RES, 1)) != NULL);
		CHECK_RC(skp_noise_read_message(r, skp_buf_ptr(h.m1), n, out),
		    SKP_OK);
		CHECK(skp_buf_len(out) == 7);
		skp_buf_reset(out);
		skp_noise_free(&r);
		free(bad);
		hs_free(&h);
	}
	skp_buf_free(&out);
}

static void
test_bitflip_msg2(void)
{
	struct hs h;
	skp_noise_t *i;
	skp_buf_t *m1, *out;
	uint8_t *bad;
	size_t n, pos;
	int p, rc;

	REQUIRE((out = skp_buf_new(CAP)) != NULL &&
	    (m1 = skp_buf_new(CAP)) != NULL);
	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 1));
		REQUIRE(hs_run(&h, "a", 1, "answer", 6) == 0);
		n = skp_buf_len(h.m2);
		REQUIRE((bad = malloc(n)) != NULL);
		for (pos = 0; pos < n; pos++) {
			memcpy(bad, skp_buf_ptr(h.m2), n);
			bad[pos] ^= (uint8_t)(0x80u >> (pos % 8));
			/* The same initiator again: the fixed ephemeral. */
			REQUIRE((i = make(p, INI, 1)) != NULL);
			skp_buf_reset(m1);
			REQUIRE(skp_noise_write_message(i, "a", 1, m1) == 0);
			rc = skp_noise_read_message(i, bad, n, out);
			CHECK(rc == SKP_ERR_DECRYPT ||
			    (pos < 65 && rc == SKP_ERR_CRYPTO));
			CHECK(skp_buf_len(out) == 0);
			CHECK(skp_noise_next(i) == SKP_NOISE_NEXT_NONE);
			skp_noise_free(&i);
		}
		REQUIRE((i = make(p, INI, 1)) != NULL);
		skp_buf_reset(m1);
		REQUIRE(skp_noise_write_message(i, "a", 1, m1) == 0);
		CHECK_RC(skp_noise_read_message(i, skp_buf_ptr(h.m2), n, out),
		    SKP_OK);
		CHECK(skp_buf_len(out) == 6);
		skp_buf_reset(out);
		skp_noise_free(&i);
		free(bad);
		hs_free(&h);
	}
	skp_buf_free(&m1);
	skp_buf_free(&out);
}

/* Every shorter length of both messages, and one byte too many. */
static void
test_truncated(void)
{
	struct hs h;
	skp_noise_t *st;
	skp_buf_t *m1, *out;
	size_t n, len;
	int p, msg, rc;

	REQUIRE((out = skp_buf_new(CAP)) != NULL &&
	    (m1 = skp_buf_new(CAP)) != NULL);
	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 1));
		REQUIRE(hs_run(&h, "hello", 5, "world", 5) == 0);
		for (msg = 1; msg <= 2; msg++) {
			n = skp_buf_len(msg == 1 ? h.m1 : h.m2);
			for (len = 0; len <= n + 1; len++) {
				if (len == n)
					continue;
				if (msg == 1) {
					REQUIRE((st = make(p, RES, 1)) != NULL);
				} else {
					REQUIRE((st = make(p, INI, 1)) != NULL);
					skp_buf_reset(m1);
					REQUIRE(skp_noise_write_message(st,
					    "hello", 5, m1) == 0);
				}
				/* len n + 1: a trailing byte (a copy). */
				if (len > n) {
					uint8_t *t = malloc(len);

					REQUIRE(t != NULL);
					memcpy(t, skp_buf_ptr(msg == 1 ? h.m1 :
					    h.m2), n);
					t[n] = 0;
					rc = skp_noise_read_message(st, t, len,
					    out);
					free(t);
				} else {
					rc = skp_noise_read_message(st,
					    skp_buf_ptr(msg == 1 ? h.m1 : h.m2),
					    len, out);
				}
				CHECK(rc == (len < (msg == 1 && p == IK ?
				    65u + 81 + 16 : 81u) ? SKP_ERR_TRUNCATED :
				    SKP_ERR_DECRYPT));
				CHECK(skp_buf_len(out) == 0);
				CHECK(skp_noise_next(st) ==
				    SKP_NOISE_NEXT_NONE);
				skp_noise_free(&st);
			}
		}
		hs_free(&h);
	}
	skp_buf_free(&m1);
	skp_buf_free(&out);
}

static void
test_replayed_handshake_message(void)
{
	struct hs h;
	int p;

	for (p = IK; p <= KK; p++) {
		REQUIRE(hs_new(&h, p, 0));
		REQUIRE(hs_run(&h, "a", 1, "b", 1) == 0);
		skp_buf_reset(h.p1);
		skp_buf_reset(h.p2);
		/* Message 1 again to the responder that read it. */
		CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1), SKP_ERR_STATE);
		CHECK(skp_buf_len(h.p1) == 0);
		check_dead(h.r);
		/* Message 2 again to the initiator. */
		CHECK_RC(skp_noise_read_message(h.i, skp_buf_ptr(h.m2),
		    skp_buf_len(h.m2), h.p2), SKP_ERR_STATE);
		CHECK(skp_buf_len(h.p2) == 0);
		check_dead(h.i);
		hs_free(&h);
		/* And before it answered: read twice in a row. */
		REQUIRE(hs_new(&h, p, 0));
		REQUIRE(skp_noise_write_message(h.i, "a", 1, h.m1) == 0);
		REQUIRE(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1) == 0);
		skp_buf_reset(h.p1);
		CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1), SKP_ERR_STATE);
		CHECK(skp_buf_len(h.p1) == 0);
		check_dead(h.r);
		hs_free(&h);
	}
}

static void
test_oversize_payload(void)
{
	struct hs h;
	uint8_t *big;
	size_t max1;
	int p;

	REQUIRE((big = calloc(1, CAP)) != NULL);
	for (p = IK; p <= KK; p++) {
		max1 = SKP_NOISE_MAX_MSG - (p == IK ? 65 + 81 + 16 : 81);
		/* One byte over: refused, nothing written, state dead. */
		REQUIRE(hs_new(&h, p, 0));
		CHECK_RC(skp_noise_write_message(h.i, big, max1 + 1, h.m1),
		    SKP_ERR_TOO_LARGE);
		CHECK(skp_buf_len(h.m1) == 0);
		check_dead(h.i);
		hs_free(&h);
		/* Exactly the maximum: 65535 bytes both ways. */
		REQUIRE(hs_new(&h, p, 0));
		CHECK(hs_run(&h, big, max1, big, SKP_NOISE_MAX_MSG - 81) ==
		    0);
		CHECK(skp_buf_len(h.m1) == SKP_NOISE_MAX_MSG);
		CHECK(skp_buf_len(h.m2) == SKP_NOISE_MAX_MSG);
		CHECK(skp_buf_len(h.p1) == max1);
		hs_free(&h);
		REQUIRE(hs_new(&h, p, 0));
		REQUIRE(skp_noise_write_message(h.i, "a", 1, h.m1) == 0);
		REQUIRE(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1) == 0);
		CHECK_RC(skp_noise_write_message(h.r, big,
		    SKP_NOISE_MAX_MSG - 80, h.m2), SKP_ERR_TOO_LARGE);
		CHECK(skp_buf_len(h.m2) == 0);
		check_dead(h.r);
		hs_free(&h);
		/* Reading 65536 bytes: refused before anything else. */
		REQUIRE(hs_new(&h, p, 0));
		CHECK_RC(skp_noise_read_message(h.r, big,
		    SKP_NOISE_MAX_MSG + 1, h.p1), SKP_ERR_TOO_LARGE);
		CHECK(skp_buf_len(h.p1) == 0);
		check_dead(h.r);
		hs_free(&h);
	}
	free(big);
}

/* An output buffer that cannot take the result. */
static void
test_output_too_small(void)
{
	struct hs h;
	skp_buf_t *small;

	REQUIRE((small = skp_buf_new(81)) != NULL);
	REQUIRE(hs_new(&h, KK, 0));
	CHECK_RC(skp_noise_write_message(h.i, "x", 1, small),
	    SKP_ERR_TOO_LARGE);
	CHECK(skp_buf_len(small) == 0);
	check_dead(h.i);
	hs_free(&h);
	skp_buf_free(&small);
	REQUIRE((small = skp_buf_new(10)) != NULL);
	REQUIRE(hs_new(&h, KK, 0));
	REQUIRE(skp_noise_write_message(h.i, "0123456789a", 11, h.m1) == 0);
	CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
	    skp_buf_len(h.m1), small), SKP_ERR_TOO_LARGE);
	CHECK(skp_buf_len(small) == 0);
	check_dead(h.r);
	hs_free(&h);
	skp_buf_free(&small);
}

static void
test_out_of_order(void)
{
	struct hs h;
	skp_noise_transport_t *t = NULL;
	uint8_t hh[32];
	int p;

	for (p = IK; p <= KK; p++) {
		/* The initiator reads first. */
		REQUIRE(hs_new(&h, p, 0));
		CHECK_RC(skp_noise_read_message(h.i, "x", 1, h.p1),
		    SKP_ERR_STATE);
		check_dead(h.i);
		/* The responder writes first. */
		CHECK_RC(skp_noise_write_message(h.r, "x", 1, h.m1),
		    SKP_ERR_STATE);
		CHECK(skp_buf_len(h.m1) == 0);
		check_dead(h.r);
		hs_free(&h);
		/* Split or hash before the end. */
		REQUIRE(hs_new(&h, p, 0));
		CHECK_RC(skp_noise_handshake_hash(h.i, hh), SKP_ERR_STATE);
		REQUIRE(skp_noise_write_message(h.i, "x", 1, h.m1) == 0);
		CHECK_RC(skp_noise_split(h.i, &t), SKP_ERR_STATE);
		CHECK(t == NULL);
		check_dead(h.i);
		/* Writing twice. */
		REQUIRE(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1) == 0);
		REQUIRE(skp_noise_write_message(h.r, "y", 1, h.m2) == 0);
		skp_buf_reset(h.m2);
		CHECK_RC(skp_noise_write_message(h.r, "y", 1, h.m2),
		    SKP_ERR_STATE);
		CHECK(skp_buf_len(h.m2) == 0);
		check_dead(h.r);
		hs_free(&h);
		/* Setters after the first message. */
		REQUIRE(hs_new(&h, p, 0));
		REQUIRE(skp_noise_write_message(h.i, "x", 1, h.m1) == 0);
		CHECK_RC(skp_noise_set_prologue(h.i, "p", 1), SKP_ERR_STATE);
		check_dead(h.i);
		REQUIRE(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1) == 0);
		CHECK_RC(skp_noise_set_local_static(h.r, &computer_s),
		    SKP_ERR_STATE);
		check_dead(h.r);
		hs_free(&h);
		/* Transport calls after the split of a done state. */
		REQUIRE(hs_new(&h, p, 0) && hs_run(&h, "a", 1, "b", 1) == 0);
		CHECK_RC(skp_noise_write_message(h.i, "x", 1, h.m1),
		    SKP_ERR_STATE);
		check_dead(h.i);
		hs_free(&h);
	}
}

static void
test_missing_keys(void)
{
	skp_noise_t *st;
	skp_buf_t *b;
	int p, role, what;

	REQUIRE((b = skp_buf_new(CAP)) != NULL);
	for (p = IK; p <= KK; p++) {
		for (role = INI; role <= RES; role++) {
			for (what = 0; what < 3; what++) {
				/* IK responder: it needs no remote key. */
				if (what == 2 && p == IK && role == RES)
					continue;
				REQUIRE((st = skp_noise_new(p, role)) != NULL);
				if (what != 0)
					REQUIRE(skp_noise_set_local_static(st,
					    static_of(p, role)) == 0);
				if (what != 1)
					REQUIRE(skp_noise_set_psk(st,
					    pair_psk) == 0);
				if (what != 2 && !(p == IK && role == RES))
					REQUIRE(skp_noise_set_remote_static(st,
					    peer_of(p, role)->pub) == 0);
				CHECK_RC(role == INI ?
				    skp_noise_write_message(st, "x", 1, b) :
				    skp_noise_read_message(st, "x", 1, b),
				    SKP_ERR_STATE);
				CHECK(skp_buf_len(b) == 0);
				check_dead(st);
				skp_noise_free(&st);
			}
		}
	}
	/* The IK responder refuses a remote key set in advance. */
	REQUIRE((st = skp_noise_new(IK, RES)) != NULL);
	CHECK_RC(skp_noise_set_remote_static(st, phone_s.pub),
	    SKP_ERR_INVALID);
	check_dead(st);
	skp_noise_free(&st);
	skp_buf_free(&b);
}

static void
test_bad_arguments(void)
{
	skp_noise_t *st = NULL;
	skp_noise_transport_t *t = NULL;
	skp_buf_t *b;
	uint8_t h[32], pub[65];

	CHECK(skp_noise_new(0, INI) == NULL);
	CHECK(skp_noise_new(3, INI) == NULL);
	CHECK(skp_noise_new(IK, 0) == NULL);
	CHECK(skp_noise_new(KK, 3) == NULL);
	skp_noise_free(NULL);
	skp_noise_free(&st);
	skp_noise_transport_free(NULL);
	skp_noise_transport_free(&t);
	REQUIRE((b = skp_buf_new(CAP)) != NULL);
	CHECK_RC(skp_noise_write_message(NULL, "x", 1, b), SKP_ERR_INVALID);
	CHECK_RC(skp_noise_read_message(NULL, "x", 1, b), SKP_ERR_INVALID);
	CHECK_RC(skp_noise_set_psk(NULL, pair_psk), SKP_ERR_INVALID);
	CHECK_RC(skp_noise_split(NULL, &t), SKP_ERR_INVALID);
	CHECK_RC(skp_noise_handshake_hash(NULL, h), SKP_ERR_INVALID);
	CHECK_RC(skp_noise_remote_static(NULL, pub), SKP_ERR_INVALID);
	CHECK_RC(skp_noise_transport_encrypt(NULL, "x", 1, b),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_noise_transport_decrypt(NULL, "x", 1, b),
	    SKP_ERR_INVALID);
	CHECK(skp_noise_next(NULL) == SKP_NOISE_NEXT_NONE);
	/* A payload pointer NULL with a length. */
	REQUIRE((st = make(KK, INI, 0)) != NULL);
	CHECK_RC(skp_noise_write_message(st, NULL, 5, b), SKP_ERR_INVALID);
	check_dead(st);
	skp_noise_free(&st);
	REQUIRE((st = make(KK, INI, 0)) != NULL);
	CHECK_RC(skp_noise_write_message(st, "x", 1, NULL), SKP_ERR_INVALID);
	check_dead(st);
	skp_noise_free(&st);
	CHECK(st == NULL);
	skp_buf_free(&b);
}

/* Points that are not 0x04 || X || Y on P-256, at every entry. */
static void
test_invalid_points(void)
{
	struct hs h;
	skp_noise_t *st;
	skp_buf_t *m1;
	uint8_t bad[6][65], *msg;
	size_t i, n;
	int p, msgno;

	for (i = 0; i < 6; i++)
		memcpy(bad[i], computer_e.pub, 65);
	bad[0][0] = 0x02;		/* compressed prefix */
	bad[1][0] = 0x03;
	bad[2][0] = 0x00;		/* not even a prefix */
	bad[3][0] = 0x05;
	bad[4][64] ^= 0x01;		/* Y changed: off the curve */
	memset(bad[5] + 1, 0, 64);	/* (0, 0): not a point */
	for (i = 0; i < 6; i++) {
		REQUIRE((st = skp_noise_new(KK, INI)) != NULL);
		CHECK_RC(skp_noise_set_remote_static(st, bad[i]),
		    SKP_ERR_CRYPTO);
		check_dead(st);
		skp_noise_free(&st);
	}
	REQUIRE((m1 = skp_buf_new(CAP)) != NULL);
	for (p = IK; p <= KK; p++) {
		for (msgno = 1; msgno <= 2; msgno++) {
			REQUIRE(hs_new(&h, p, 1));
			REQUIRE(hs_run(&h, "a", 1, "b", 1) == 0);
			n = skp_buf_len(msgno == 1 ? h.m1 : h.m2);
			REQUIRE((msg = malloc(n)) != NULL);
			for (i = 0; i < 6; i++) {
				memcpy(msg, skp_buf_ptr(msgno == 1 ? h.m1 :
				    h.m2), n);
				memcpy(msg, bad[i], 65);
				REQUIRE((st = make(p, msgno == 1 ? RES : INI,
				    1)) != NULL);
				if (msgno == 2) {
					skp_buf_reset(m1);
					REQUIRE(skp_noise_write_message(st,
					    "a", 1, m1) == 0);
				}
				skp_buf_reset(h.p1);
				/* Refused as a point, before any decryption. */
				CHECK_RC(skp_noise_read_message(st, msg, n,
				    h.p1), SKP_ERR_CRYPTO);
				CHECK(skp_buf_len(h.p1) == 0);
				check_dead(st);
				skp_noise_free(&st);
			}
			free(msg);
			hs_free(&h);
		}
	}
	skp_buf_free(&m1);
}

/* Local keys whose halves do not match, or scalars out of range. */
static void
test_invalid_local_keys(void)
{
	skp_noise_t *st;
	struct skp_p256_key k;
	int which;

	for (which = 0; which < 4; which++) {
		memcpy(&k, &phone_s, sizeof(k));
		if (which == 0)
			memcpy(k.pub, computer_s.pub, 65);
		else if (which == 1)
			memset(k.priv, 0, 32);
		else
			memset(k.priv, 0xff, 32);	/* >= n */
		REQUIRE((st = skp_noise_new(KK, INI)) != NULL);
		CHECK_RC(which < 3 ? skp_noise_set_local_static(st, &k) :
		    skp_noise_set_ephemeral_for_test(st, &k),
		    which == 0 ? SKP_ERR_INVALID : SKP_ERR_CRYPTO);
		check_dead(st);
		skp_noise_free(&st);
	}
	REQUIRE((st = skp_noise_new(KK, INI)) != NULL);
	memcpy(&k, &phone_e, sizeof(k));
	k.pub[10] ^= 1;
	CHECK_RC(skp_noise_set_ephemeral_for_test(st, &k), SKP_ERR_INVALID);
	check_dead(st);
	skp_noise_free(&st);
	skp_wipe(&k, sizeof(k));
}

static void
test_prologue(void)
{
	struct hs h;
	uint8_t h1[32], h2[32], big[SKP_NOISE_PROLOGUE_MAX + 1];
	const char *def;
	int p;

	memset(big, 'p', sizeof(big));
	for (p = IK; p <= KK; p++) {
		def = p == IK ? "sk-phone pair v1" : "sk-phone request v1";
		/* The default is the pattern's string. */
		REQUIRE(hs_new(&h, p, 1));
		REQUIRE(skp_noise_set_prologue(h.r, def, strlen(def)) == 0);
		CHECK(hs_run(&h, "a", 1, "b", 1) == 0);
		REQUIRE(skp_noise_handshake_hash(h.i, h1) == 0);
		hs_free(&h);
		/* A different prologue: another hash, when both agree. */
		REQUIRE(hs_new(&h, p, 1));
		REQUIRE(skp_noise_set_prologue(h.i, NULL, 0) == 0 &&
		    skp_noise_set_prologue(h.r, "", 0) == 0);
		CHECK(hs_run(&h, "a", 1, "b", 1) == 0);
		REQUIRE(skp_noise_handshake_hash(h.r, h2) == 0);
		CHECK(memcmp(h1, h2, 32) != 0);
		hs_free(&h);
		/* Only one side changed: refused. */
		REQUIRE(hs_new(&h, p, 0));
		REQUIRE(skp_noise_set_prologue(h.i, "sk-phone pair v2",
		    16) == 0);
		REQUIRE(skp_noise_write_message(h.i, "a", 1, h.m1) == 0);
		CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1), SKP_ERR_DECRYPT);
		CHECK(skp_buf_len(h.p1) == 0);
		hs_free(&h);
		/* The patterns' prologues differ from each other. */
		REQUIRE(hs_new(&h, p, 0));
		REQUIRE(skp_noise_set_prologue(h.i, p == IK ?
		    "sk-phone request v1" : "sk-phone pair v1",
		    p == IK ? 19 : 16) == 0);
		REQUIRE(skp_noise_write_message(h.i, "a", 1, h.m1) == 0);
		CHECK_RC(skp_noise_read_message(h.r, skp_buf_ptr(h.m1),
		    skp_buf_len(h.m1), h.p1), SKP_ERR_DECRYPT);
		hs_free(&h);
		REQUIRE(hs_new(&h, p, 0));
		CHECK_RC(skp_noise_set_prologue(h.i, big, sizeof(big)),
		    SKP_ERR_TOO_LARGE);
		check_dead(h.i);
		CHECK_RC(skp_noise_set_prologue(h.r, NULL, 3),
		    SKP_ERR_INVALID);
		check_dead(h.r);
		hs_free(&h);
		REQUIRE(hs_new(&h, p, 0));
		CHECK_RC(skp_noise_set_prologue(h.i, big, sizeof(big) - 1),
		    SKP_OK);
		CHECK_RC(skp_noise_set_prologue(h.r, big, sizeof(big) - 1),
		    SKP_OK);
		CHECK(hs_run(&h, "a", 1, "b", 1) == 0);
		hs_free(&h);
	}
}

/* A psk from one pattern does not open the other. */
static void
test_pattern_mismatch(void)
{
	skp_noise_t *i, *r;
	skp_buf_t *m, *out;

	REQUIRE((m = skp_buf_new(CAP)) != NULL &&
	    (out = skp_buf_new(CAP)) != NULL);
	REQUIRE((i = make(KK, INI, 0)) != NULL);
	REQUIRE((r = skp_noise_new(KK, RES)) != NULL);
	/* Same keys, but this KK responder is given the IK psk. */
	REQUIRE(skp_noise_set_local_static(r, static_of(KK, RES)) == 0 &&
	    skp_noise_set_psk(r, pair_psk) == 0 &&
	    skp_noise_set_remote_static(r, peer_of(KK, RES)->pub) == 0);
	REQUIRE(skp_noise_write_message(i, "x", 1, m) == 0);
	CHECK_RC(skp_noise_read_message(r, skp_buf_ptr(m), skp_buf_len(m),
	    out), SKP_ERR_DECRYPT);
	skp_noise_free(&r);
	/* KK message 1 to an IK responder: too short for IK. */
	REQUIRE((r = make(IK, RES, 0)) != NULL);
	CHECK_RC(skp_noise_read_message(r, skp_buf_ptr(m), skp_buf_len(m),
	    out), SKP_ERR_TRUNCATED);
	CHECK(skp_buf_len(out) == 0);
	skp_noise_free(&r);
	skp_noise_free(&i);
	skp_buf_free(&m);
	skp_buf_free(&out);
}

int
main(int argc, char **argv)
{
	static const struct skp_test_case cases[] = {
		{ "vector_ik", test_vector_ik },
		{ "vector_kk", test_vector_kk },
		{ "vector_kk_pin", test_vector_kk_pin },
		{ "handshake_ik", test_handshake_ik },
		{ "handshake_kk", test_handshake_kk },
		{ "handshake_empty_payloads", test_handshake_empty_payloads },
		{ "handshake_fresh", test_handshake_fresh },
		{ "transport_both_directions",
		    test_transport_both_directions },
		{ "transport_max_size", test_transport_max_size },
		{ "transport_replay_reorder", test_transport_replay_reorder },
		{ "transport_tamper", test_transport_tamper },
		{ "transport_nonce_limit", test_transport_nonce_limit },
		{ "wrong_psk", test_wrong_psk },
		{ "wrong_remote_static_initiator",
		    test_wrong_remote_static_initiator },
		{ "wrong_remote_static_responder",
		    test_wrong_remote_static_responder },
		{ "wrong_responder_msg2", test_wrong_responder_msg2 },
		{ "bitflip_msg1", test_bitflip_msg1 },
		{ "bitflip_msg2", test_bitflip_msg2 },
		{ "truncated", test_truncated },
		{ "replayed_handshake_message",
		    test_replayed_handshake_message },
		{ "oversize_payload", test_oversize_payload },
		{ "output_too_small", test_output_too_small },
		{ "out_of_order", test_out_of_order },
		{ "missing_keys", test_missing_keys },
		{ "bad_arguments", test_bad_arguments },
		{ "invalid_points", test_invalid_points },
		{ "invalid_local_keys", test_invalid_local_keys },
		{ "prologue", test_prologue },
		{ "pattern_mismatch", test_pattern_mismatch },
	};

	key_hex(NV_PHONE_STATIC, &phone_s);
	key_hex(NV_COMPUTER_STATIC, &computer_s);
	key_hex(NV_PHONE_EPHEMERAL, &phone_e);
	key_hex(NV_COMPUTER_EPHEMERAL, &computer_e);
	if (skp_unhex(NV_PAIR_PSK, pair_psk, 32) != 0 ||
	    skp_unhex(NV_REQUEST_PSK, request_psk, 32) != 0)
		abort();
	return skp_test_run(cases, nitems(cases), argc, argv);
}
