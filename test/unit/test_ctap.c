/* Unit tests for the CTAP2 codec: round trips, golden bytes, every refusal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/authdata.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "harness.h"

#define CAP	SKP_CTAP_ENVELOPE_MAX

/* Fixtures: valid structs of each kind. */

static void
fill_ctx(struct skp_ctap_context *c, int with_raw)
{
	memset(c, 0, sizeof(*c));
	if (with_raw) {
		c->has_raw = 1;
		memset(c->raw, 0x11, 32);
		c->raw_len = 32;
	}
	strcpy(c->computer_name, "laptop");
}

static void
fill_host(struct skp_ctap_host *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->name, "db1.example.com");
	h->port = 22;
	memcpy(h->host_key, "\0\0\0\x0bssh-ed25519", 15);
	h->host_key_len = 15;
	memset(h->signature, 0x42, 83);
	h->signature_len = 83;
	strcpy(h->kex, "curve25519-sha256");
}

static void
req_mc(struct skp_ctap_request *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->id, 0xab, sizeof(r->id));
	r->time_ms = 1700000000000ULL;
	r->command = SKP_CTAP_MAKE_CREDENTIAL;
	fill_ctx(&r->ctx, 1);
	if (skp_sha256(r->ctx.raw, r->ctx.raw_len, r->mc.cdh) != SKP_OK)
		abort();
	strcpy(r->mc.rp_id, "ssh:");
	memset(r->mc.user_id, 0, 32);
	r->mc.user_id_len = 32;
	strcpy(r->mc.user_name, "openssh");
	strcpy(r->mc.user_display_name, "openssh");
	r->mc.cred_protect = 2;
	r->mc.rk = 1;
	r->mc.up = SKP_CTAP_OPT_ABSENT;
	r->mc.uv = 0;
}

static void
req_mc_full(struct skp_ctap_request *r)
{
	req_mc(r);
	strcpy(r->mc.rp_name, "ssh");
	fill_host(&r->ctx.host);
	r->ctx.has_host = 1;
	r->ctx.overwrite = 1;
}

static void
req_ga(struct skp_ctap_request *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->id, 0xcd, sizeof(r->id));
	r->time_ms = 1700000000123ULL;
	r->command = SKP_CTAP_GET_ASSERTION;
	fill_ctx(&r->ctx, 1);
	r->ctx.raw_len = 200;
	if (skp_sha256(r->ctx.raw, r->ctx.raw_len, r->ga.cdh) != SKP_OK)
		abort();
	strcpy(r->ga.rp_id, "ssh:");
	memset(r->ga.allow[0].id, 0x77, 32);
	r->ga.allow[0].id_len = 32;
	r->ga.nallow = 1;
	r->ga.up = 1;
	r->ga.uv = SKP_CTAP_OPT_ABSENT;
}

static void
req_cm(struct skp_ctap_request *r, uint8_t sub, int with_hash)
{
	memset(r, 0, sizeof(*r));
	r->time_ms = 5;
	r->command = SKP_CTAP_CRED_MGMT;
	fill_ctx(&r->ctx, 0);
	r->cm.subcommand = sub;
	if (with_hash) {
		r->cm.has_rp_id_hash = 1;
		memset(r->cm.rp_id_hash, 0x99, 32);
	}
}

static void
req_info(struct skp_ctap_request *r)
{
	memset(r, 0, sizeof(*r));
	r->command = SKP_CTAP_GET_INFO;
	fill_ctx(&r->ctx, 0);
}

/* Round trips */

static int
roundtrip(const struct skp_ctap_request *in, struct skp_ctap_request *out)
{
	uint8_t *p = NULL, *p2 = NULL, st = 0xff;
	size_t n = 0, n2 = 0;
	int rc;

	if ((rc = skp_ctap_request_encode(in, &p, &n)) != SKP_OK)
		return rc;
	if (skp_cbor_check(p, n, CAP) != SKP_OK)
		rc = SKP_ERR_INTERNAL;
	if (rc == SKP_OK)
		rc = skp_ctap_request_decode(p, n, out, &st);
	if (rc == SKP_OK && st != SKP_CTAP_OK)
		rc = SKP_ERR_INTERNAL;
	/* Encoding what was decoded gives the same bytes. */
	if (rc == SKP_OK && (skp_ctap_request_encode(out, &p2, &n2) !=
	    SKP_OK || n2 != n || memcmp(p, p2, n) != 0))
		rc = SKP_ERR_INTERNAL;
	free(p);
	free(p2);
	return rc;
}

static void
request_mc_roundtrip(void)
{
	static struct skp_ctap_request a, b;

	req_mc_full(&a);
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.command == SKP_CTAP_MAKE_CREDENTIAL);
	CHECK_MEM(b.id, a.id, 16);
	CHECK(b.time_ms == a.time_ms);
	CHECK_MEM(b.mc.cdh, a.mc.cdh, 32);
	CHECK(strcmp(b.mc.rp_id, "ssh:") == 0);
	CHECK(strcmp(b.mc.rp_name, "ssh") == 0);
	CHECK(b.mc.user_id_len == 32);
	CHECK(strcmp(b.mc.user_name, "openssh") == 0);
	CHECK(strcmp(b.mc.user_display_name, "openssh") == 0);
	CHECK(b.mc.cred_protect == 2);
	CHECK(b.mc.rk == 1 && b.mc.up == SKP_CTAP_OPT_ABSENT && b.mc.uv == 0);
	CHECK(b.ctx.has_raw && b.ctx.raw_len == 32);
	CHECK_MEM(b.ctx.raw, a.ctx.raw, 32);
	CHECK(strcmp(b.ctx.computer_name, "laptop") == 0);
	CHECK(b.ctx.has_host);
	CHECK(strcmp(b.ctx.host.name, "db1.example.com") == 0);
	CHECK(b.ctx.host.port == 22);
	CHECK(b.ctx.host.host_key_len == 15);
	CHECK_MEM(b.ctx.host.host_key, a.ctx.host.host_key, 15);
	CHECK(b.ctx.host.signature_len == 83);
	CHECK(strcmp(b.ctx.host.kex, "curve25519-sha256") == 0);
	CHECK(b.ctx.overwrite == 1);
	CHECK_RC(skp_ctap_request_check_raw(&b), SKP_OK);
	/* The minimal form: no name, options, extensions, host or PIN. */
	req_mc(&a);
	a.mc.user_name[0] = a.mc.user_display_name[0] = '\0';
	a.mc.cred_protect = 0;
	a.mc.rk = a.mc.uv = SKP_CTAP_OPT_ABSENT;
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.mc.rk == SKP_CTAP_OPT_ABSENT && b.mc.cred_protect == 0);
	CHECK(!b.ctx.has_host && !b.ctx.overwrite);
}

static void
request_ga_roundtrip(void)
{
	static struct skp_ctap_request a, b;

	req_ga(&a);
	a.ga.allow[1] = a.ga.allow[0];
	a.ga.allow[1].id[0] = 1;
	a.ga.allow[1].id_len = SKP_CTAP_CRED_ID_MAX;
	a.ga.nallow = 2;
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.command == SKP_CTAP_GET_ASSERTION);
	CHECK(strcmp(b.ga.rp_id, "ssh:") == 0);
	CHECK_MEM(b.ga.cdh, a.ga.cdh, 32);
	CHECK(b.ga.nallow == 2 && b.ga.allow[1].id_len == 128);
	CHECK_MEM(b.ga.allow[1].id, a.ga.allow[1].id, 128);
	CHECK(b.ga.up == 1 && b.ga.uv == SKP_CTAP_OPT_ABSENT);
	CHECK(b.ctx.raw_len == 200);
	CHECK_RC(skp_ctap_request_check_raw(&b), SKP_OK);
	/* Without allowList nor options. */
	req_ga(&a);
	a.ga.nallow = 0;
	a.ga.up = SKP_CTAP_OPT_ABSENT;
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.ga.nallow == 0 && b.ga.up == SKP_CTAP_OPT_ABSENT);
}

static void
request_cm_roundtrip(void)
{
	static struct skp_ctap_request a, b;

	req_cm(&a, SKP_CTAP_CM_ENUM_RPS, 0);
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.cm.subcommand == SKP_CTAP_CM_ENUM_RPS && !b.cm.has_rp_id_hash);
	req_cm(&a, SKP_CTAP_CM_ENUM_CREDS, 1);
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.cm.subcommand == SKP_CTAP_CM_ENUM_CREDS && b.cm.has_rp_id_hash);
	CHECK_MEM(b.cm.rp_id_hash, a.cm.rp_id_hash, 32);
	req_cm(&a, SKP_CTAP_CM_ENUM_CREDS, 0);
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(!b.cm.has_rp_id_hash);
	CHECK(!b.ctx.has_raw);
}

/* The bytes of a getInfo request, key by key (docs/PROTOCOL.md §4). */
static void
request_info_golden(void)
{
	static struct skp_ctap_request a, b;
	uint8_t *p = NULL;
	size_t n = 0, wl;
	uint8_t *head = skp_test_unhex(
	    "a6"			/* map, 6 pairs */
	    "0102"			/* 1: version 2 */
	    "0250000102030405060708090a0b0c0d0e0f"	/* 2: id */
	    "031b0000018bcfe56800"	/* 3: time 1700000000000 */
	    "0404"			/* 4: command getInfo */
	    "06a102636c6170"		/* 6: {2: "lap"} */
	    "0f5907d4"			/* 15: 2004 zero bytes */
	    , &wl);
	uint8_t *want = calloc(1, 2048);
	size_t i;

	/* Padded to the first request bucket, 2048 bytes. */
	REQUIRE(want != NULL && wl == 44);
	memcpy(want, head, wl);
	free(head);
	wl = 2048;

	req_info(&a);
	for (i = 0; i < 16; i++)
		a.id[i] = (uint8_t)i;
	a.time_ms = 1700000000000ULL;
	strcpy(a.ctx.computer_name, "lap");
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_OK);
	CHECK(n == wl && p != NULL && memcmp(p, want, wl) == 0);
	CHECK_RC(skp_ctap_request_decode(want, wl, &b, NULL), SKP_OK);
	CHECK(b.command == SKP_CTAP_GET_INFO && b.time_ms == a.time_ms);
	free(p);
	free(want);
}

/*
 * Origin: the getInfo vector with context key 6 = 1, through ssh-agent
 * (docs/PROTOCOL.md §4.3).
 */
static void
request_origin_golden(void)
{
	static struct skp_ctap_request a, b;
	uint8_t *p = NULL, *want, *head;
	size_t n = 0, wl;

	head = skp_test_unhex(
	    "a6"
	    "0102"
	    "0250000102030405060708090a0b0c0d0e0f"
	    "031b0000018bcfe56800"
	    "0404"
	    "06a202636c61700601"	/* 6: {2: "lap", 6: 1} */
	    "0f5907d2"			/* 15: 2002 zero bytes */
	    , &wl);
	REQUIRE(head != NULL && wl == 46);
	REQUIRE((want = calloc(1, 2048)) != NULL);
	memcpy(want, head, wl);
	free(head);
	req_info(&a);
	for (n = 0; n < 16; n++)
		a.id[n] = (uint8_t)n;
	a.time_ms = 1700000000000ULL;
	strcpy(a.ctx.computer_name, "lap");
	a.ctx.origin = SKP_CTAP_ORIGIN_AGENT;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_OK);
	CHECK(n == 2048 && p != NULL && memcmp(p, want, 2048) == 0);
	CHECK_RC(skp_ctap_request_decode(want, 2048, &b, NULL), SKP_OK);
	CHECK(b.ctx.origin == SKP_CTAP_ORIGIN_AGENT);
	skp_ctap_request_clear(&b);
	/* Absent: 0, and not encoded (the plain vector of §4.2). */
	a.ctx.origin = 0;
	free(p);
	p = NULL;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_OK);
	CHECK(n == 2048 && p != NULL && memcmp(p + 33, "\x06\xa1", 2) == 0);
	free(p);
	free(want);
}

/* FORGET: the getInfo vector with command 0x41 (docs/PROTOCOL.md §4.2). */
static void
request_forget_golden(void)
{
	static struct skp_ctap_request a, b;
	uint8_t *p = NULL, *want, *head, st = 0;
	size_t n = 0, wl;

	head = skp_test_unhex(
	    "a6"
	    "0102"
	    "0250000102030405060708090a0b0c0d0e0f"
	    "031b0000018bcfe56800"
	    "041841"			/* 4: command 0x41, FORGET */
	    "06a102636c6170"
	    "0f5907d3"			/* 15: 2003 zero bytes */
	    , &wl);
	REQUIRE(head != NULL && wl == 45);
	REQUIRE((want = calloc(1, 2048)) != NULL);
	memcpy(want, head, wl);
	free(head);
	req_info(&a);
	a.command = SKP_CTAP_FORGET;
	for (n = 0; n < 16; n++)
		a.id[n] = (uint8_t)n;
	a.time_ms = 1700000000000ULL;
	strcpy(a.ctx.computer_name, "lap");
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_OK);
	CHECK(n == 2048 && p != NULL && memcmp(p, want, 2048) == 0);
	CHECK_RC(skp_ctap_request_decode(want, 2048, &b, NULL), SKP_OK);
	CHECK(b.command == SKP_CTAP_FORGET);
	skp_ctap_request_clear(&b);
	/* With parameters (key 5): refused, as for getInfo. */
	free(p);
	p = skp_test_unhex("a6" "0102" "0250000102030405060708090a0b0c0d0e0f"
	    "031b0000018bcfe56800" "041841" "05a0" "06a102636c6170", &n);
	CHECK(skp_ctap_request_decode(p, n, &b, &st) != SKP_OK &&
	    st == SKP_CTAP_INVALID_PARAMETER);
	free(p);
	free(want);
}

static void
request_check_raw(void)
{
	static struct skp_ctap_request a;

	req_mc(&a);
	CHECK_RC(skp_ctap_request_check_raw(&a), SKP_OK);
	a.ctx.raw[0] ^= 1;
	CHECK_RC(skp_ctap_request_check_raw(&a), SKP_ERR_VERIFY);
	req_ga(&a);
	CHECK_RC(skp_ctap_request_check_raw(&a), SKP_OK);
	a.ctx.raw_len--;
	CHECK_RC(skp_ctap_request_check_raw(&a), SKP_ERR_VERIFY);
	req_info(&a);
	CHECK_RC(skp_ctap_request_check_raw(&a), SKP_ERR_INVALID);
}

static void
request_clear_wipes_pin(void)
{
	static struct skp_ctap_request a, b;
	static const uint8_t zero[sizeof(b)];

	req_mc_full(&a);
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.ctx.raw_len != 0);
	skp_ctap_request_clear(&b);
	CHECK(memcmp(&b, zero, sizeof(b)) == 0);
}

static void
request_encode_refuses(void)
{
	static struct skp_ctap_request a;
	uint8_t *p = NULL;
	size_t n = 0;

	req_mc(&a);
	a.mc.rp_id[0] = '\0';
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_mc(&a);
	a.mc.user_id_len = 0;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_mc(&a);
	a.ctx.has_raw = 0;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_mc(&a);
	strcpy(a.ctx.computer_name, "a\nb");
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_ga(&a);
	a.ga.allow[0].id_len = 15;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_ga(&a);
	a.ga.nallow = SKP_CTAP_ALLOW_MAX + 1;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_cm(&a, SKP_CTAP_CM_ENUM_RPS, 1);
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_cm(&a, 1, 0);
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_info(&a);
	a.command = 3;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	req_mc_full(&a);
	a.ctx.host.port = 0;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
	CHECK(p == NULL && n == 0);
}

/*
 * Refusals. Each starts from a valid request as a libcbor tree, changes
 * one thing, encodes it canonically (so that only the one change is
 * wrong) and expects the decoder's error and the status the phone sends.
 */

static cbor_item_t *
tree_of(void (*fill)(struct skp_ctap_request *))
{
	static struct skp_ctap_request r;
	cbor_item_t *t = NULL;
	uint8_t *p = NULL;
	size_t n;

	fill(&r);
	if (skp_ctap_request_encode(&r, &p, &n) != SKP_OK ||
	    skp_cbor_load(p, n, CAP, &t) != SKP_OK)
		abort();
	free(p);
	return t;
}

static void
base_cm_rps(struct skp_ctap_request *r)
{
	req_cm(r, SKP_CTAP_CM_ENUM_RPS, 0);
}

static void
base_cm_creds(struct skp_ctap_request *r)
{
	req_cm(r, SKP_CTAP_CM_ENUM_CREDS, 1);
}

static int
key_eq(const cbor_item_t *a, const cbor_item_t *b)
{
	if (cbor_typeof(a) != cbor_typeof(b))
		return 0;
	if (cbor_isa_string(a))
		return cbor_string_length(a) == cbor_string_length(b) &&
		    memcmp(cbor_string_handle(a), cbor_string_handle(b),
		    cbor_string_length(a)) == 0;
	return cbor_get_int(a) == cbor_get_int(b);
}

/* Index of key in map, or -1. The key is consumed. */
static long
find(cbor_item_t *m, cbor_item_t *key)
{
	struct cbor_pair *pp = cbor_map_handle(m);
	size_t i;
	long at = -1;

	for (i = 0; i < cbor_map_size(m); i++)
		if (key_eq(pp[i].key, key))
			at = (long)i;
	cbor_decref(&key);
	return at;
}

static cbor_item_t *
K(int64_t k)
{
	return skp_cbor_int(k);
}

static cbor_item_t *
S(const char *s)
{
	return skp_cbor_text(s);
}

/* The value under key (borrowed); aborts when absent. */
static cbor_item_t *
at(cbor_item_t *m, cbor_item_t *key)
{
	long i = find(m, key);

	if (i < 0)
		abort();
	return cbor_map_handle(m)[i].value;
}

/*
 * Set key to v in m (both consumed), adding the key when absent. Test
 * code may reach into libcbor's struct to grow a loaded map.
 */
static void
set(cbor_item_t *m, cbor_item_t *key, cbor_item_t *v)
{
	struct _cbor_map_metadata *md = &m->metadata.map_metadata;
	struct cbor_pair *pp;
	long i = find(m, cbor_incref(key));

	if (i >= 0) {
		pp = cbor_map_handle(m);
		cbor_decref(&pp[i].value);
		pp[i].value = v;
		cbor_decref(&key);
		return;
	}
	if (md->end_ptr == md->allocated) {
		pp = realloc(m->data, (md->allocated + 1) * sizeof(*pp));
		if (pp == NULL)
			abort();
		m->data = (unsigned char *)pp;
		md->allocated++;
	}
	if (!cbor_map_add(m, (struct cbor_pair){ .key = key, .value = v }))
		abort();
	cbor_decref(&key);
	cbor_decref(&v);
}

static void
del(cbor_item_t *m, cbor_item_t *key)
{
	struct _cbor_map_metadata *md = &m->metadata.map_metadata;
	struct cbor_pair *pp = cbor_map_handle(m);
	long i = find(m, key);

	if (i < 0)
		abort();
	cbor_decref(&pp[i].key);
	cbor_decref(&pp[i].value);
	memmove(&pp[i], &pp[i + 1], (md->end_ptr - (size_t)i - 1) *
	    sizeof(*pp));
	md->end_ptr--;
}

static cbor_item_t *
zeros(size_t n)
{
	uint8_t *p = calloc(1, n);
	cbor_item_t *it;

	if (p == NULL || (it = skp_cbor_bytes(p, n)) == NULL)
		abort();
	free(p);
	return it;
}

static cbor_item_t *
letters(size_t n)
{
	char *p = malloc(n + 1);
	cbor_item_t *it;

	if (p == NULL)
		abort();
	memset(p, 'a', n);
	p[n] = '\0';
	if ((it = skp_cbor_text(p)) == NULL)
		abort();
	free(p);
	return it;
}

static void
expect_req(cbor_item_t *t, int want_rc, uint8_t want_status, int line)
{
	static struct skp_ctap_request r;
	uint8_t *p = NULL, st = 0xee;
	size_t n = 0;
	int rc;

	if (skp_cbor_encode(t, 2 * CAP, &p, &n) != SKP_OK) {
		fprintf(stderr, "line %d: fixture does not encode\n", line);
		skp_test_case_failed = 1;
		skp_cbor_free(&t);
		return;
	}
	rc = skp_ctap_request_decode(p, n, &r, &st);
	if (rc != want_rc || st != want_status) {
		fprintf(stderr, "line %d: decode = %d (%s) status 0x%02x, "
		    "want %d (%s) status 0x%02x\n", line, rc,
		    skp_strerror(rc), st, want_rc, skp_strerror(want_rc),
		    want_status);
		skp_test_case_failed = 1;
	}
	CHECK(r.command == 0 && r.ctx.raw_len == 0);	/* cleared */
	free(p);
	skp_cbor_free(&t);
}

#define P(t)	at((t), K(5))
#define C(t)	at((t), K(6))

/*
 * Context key 6 with values a phone does not know yet: taken and kept
 * (the phone ignores them), as is 1, through ssh-agent.
 */
static void
ctx_takes_any_origin(void)
{
	static const uint64_t vals[] = { 0, 1, 2, 7, 24, 65536, UINT64_MAX };
	static struct skp_ctap_request r;
	cbor_item_t *t;
	uint8_t *p, st;
	size_t i, n;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		t = tree_of(req_ga);
		set(at(t, K(6)), K(6), skp_cbor_uint(vals[i]));
		p = NULL;
		st = 0xee;
		REQUIRE(skp_cbor_encode(t, 2 * CAP, &p, &n) == SKP_OK);
		CHECK_RC(skp_ctap_request_decode(p, n, &r, &st), SKP_OK);
		CHECK(st == SKP_CTAP_OK && r.ctx.origin == vals[i]);
		skp_ctap_request_clear(&r);
		free(p);
		skp_cbor_free(&t);
	}
}
#define H(t)	at(C(t), K(3))

#define REFUSAL(name, base, change, rc, st)				\
static void								\
name(void)								\
{									\
	cbor_item_t *t = tree_of(base);					\
	change;								\
	expect_req(t, (rc), (st), __LINE__);				\
}

#define FMT	SKP_ERR_FORMAT
#define TYPE	SKP_ERR_CBOR_TYPE
#define BIG	SKP_ERR_TOO_LARGE
#define ST_CBOR	SKP_CTAP_INVALID_CBOR
#define ST_TYPE	SKP_CTAP_CBOR_UNEXPECTED_TYPE
#define ST_MISS	SKP_CTAP_MISSING_PARAMETER
#define ST_LEN	SKP_CTAP_INVALID_LENGTH
#define ST_PARAM SKP_CTAP_INVALID_PARAMETER

/* Envelope */
REFUSAL(env_refuses_version_3, req_mc, set(t, K(1), skp_cbor_uint(3)),
    SKP_ERR_VERSION, SKP_CTAP_BAD_VERSION)
REFUSAL(env_refuses_version_1, req_mc, set(t, K(1), skp_cbor_uint(1)),
    SKP_ERR_OLD_VERSION, SKP_CTAP_BAD_VERSION)
REFUSAL(env_refuses_version_0, req_mc, set(t, K(1), skp_cbor_uint(0)),
    SKP_ERR_OLD_VERSION, SKP_CTAP_BAD_VERSION)
REFUSAL(env_refuses_missing_version, req_mc, del(t, K(1)), FMT, ST_MISS)
REFUSAL(env_refuses_version_type, req_mc, set(t, K(1), S("1")), TYPE,
    ST_TYPE)
REFUSAL(env_refuses_unknown_key, req_mc, set(t, K(7), skp_cbor_uint(0)),
    FMT, ST_CBOR)
REFUSAL(env_refuses_text_key, req_mc, set(t, S("x"), skp_cbor_uint(0)),
    FMT, ST_CBOR)
REFUSAL(env_refuses_short_id, req_mc, set(t, K(2), zeros(15)), FMT,
    ST_CBOR)
REFUSAL(env_refuses_long_id, req_mc, set(t, K(2), zeros(17)), BIG, ST_LEN)
REFUSAL(env_refuses_missing_id, req_mc, del(t, K(2)), FMT, ST_MISS)
REFUSAL(env_refuses_id_type, req_mc, set(t, K(2), letters(16)), TYPE,
    ST_TYPE)
REFUSAL(env_refuses_missing_time, req_mc, del(t, K(3)), FMT, ST_MISS)
REFUSAL(env_refuses_negative_time, req_mc, set(t, K(3), skp_cbor_int(-1)),
    TYPE, ST_TYPE)
REFUSAL(env_refuses_missing_command, req_mc, del(t, K(4)), FMT, ST_MISS)
REFUSAL(env_refuses_unknown_command, req_mc, set(t, K(4),
    skp_cbor_uint(3)), SKP_ERR_UNSUPPORTED, SKP_CTAP_INVALID_COMMAND)
REFUSAL(env_refuses_reset_command, req_mc, set(t, K(4), skp_cbor_uint(7)),
    SKP_ERR_UNSUPPORTED, SKP_CTAP_INVALID_COMMAND)
REFUSAL(env_refuses_missing_params, req_mc, del(t, K(5)), FMT, ST_MISS)
REFUSAL(env_refuses_params_type, req_mc, set(t, K(5), skp_cbor_array(0)),
    TYPE, ST_TYPE)
REFUSAL(env_refuses_info_with_params, req_info, set(t, K(5),
    skp_cbor_map(0)), FMT, ST_PARAM)
REFUSAL(env_refuses_missing_context, req_mc, del(t, K(6)), FMT, ST_MISS)
REFUSAL(env_refuses_context_type, req_mc, set(t, K(6), zeros(1)), TYPE,
    ST_TYPE)

/* makeCredential parameters */
REFUSAL(mc_refuses_missing_cdh, req_mc, del(P(t), K(1)), FMT, ST_MISS)
REFUSAL(mc_refuses_short_cdh, req_mc, set(P(t), K(1), zeros(31)), FMT,
    ST_CBOR)
REFUSAL(mc_refuses_long_cdh, req_mc, set(P(t), K(1), zeros(33)), BIG,
    ST_LEN)
REFUSAL(mc_refuses_missing_rp, req_mc, del(P(t), K(2)), FMT, ST_MISS)
REFUSAL(mc_refuses_rp_type, req_mc, set(P(t), K(2), S("ssh:")), TYPE,
    ST_TYPE)
REFUSAL(mc_refuses_missing_rp_id, req_mc, del(at(P(t), K(2)), S("id")),
    FMT, ST_MISS)
REFUSAL(mc_refuses_empty_rp_id, req_mc, set(at(P(t), K(2)), S("id"),
    S("")), FMT, ST_CBOR)
REFUSAL(mc_refuses_long_rp_id, req_mc, set(at(P(t), K(2)), S("id"),
    letters(256)), BIG, ST_LEN)
REFUSAL(mc_refuses_rp_id_control, req_mc, set(at(P(t), K(2)), S("id"),
    S("ssh:\x1b[2J")), FMT, ST_CBOR)
REFUSAL(mc_refuses_rp_id_nul, req_mc, set(at(P(t), K(2)), S("id"),
    skp_cbor_textn("ssh:\0x", 6)), FMT, ST_CBOR)
REFUSAL(mc_refuses_long_rp_name, req_mc, set(at(P(t), K(2)), S("name"),
    letters(65)), BIG, ST_LEN)
REFUSAL(mc_refuses_missing_user, req_mc, del(P(t), K(3)), FMT, ST_MISS)
REFUSAL(mc_refuses_missing_user_id, req_mc, del(at(P(t), K(3)), S("id")),
    FMT, ST_MISS)
REFUSAL(mc_refuses_empty_user_id, req_mc, set(at(P(t), K(3)), S("id"),
    zeros(0)), FMT, ST_CBOR)
REFUSAL(mc_refuses_long_user_id, req_mc, set(at(P(t), K(3)), S("id"),
    zeros(65)), BIG, ST_LEN)
REFUSAL(mc_refuses_user_id_type, req_mc, set(at(P(t), K(3)), S("id"),
    S("root")), TYPE, ST_TYPE)
REFUSAL(mc_refuses_long_user_name, req_mc, set(at(P(t), K(3)), S("name"),
    letters(65)), BIG, ST_LEN)
REFUSAL(mc_refuses_user_name_newline, req_mc, set(at(P(t), K(3)),
    S("name"), S("root\nok")), FMT, ST_CBOR)
REFUSAL(mc_refuses_long_display_name, req_mc, set(at(P(t), K(3)),
    S("displayName"), letters(65)), BIG, ST_LEN)
REFUSAL(mc_refuses_missing_algs, req_mc, del(P(t), K(4)), FMT, ST_MISS)
REFUSAL(mc_refuses_no_known_alg, req_mc, set(cbor_array_handle(at(P(t),
    K(4)))[0], S("alg"), skp_cbor_int(-257)), SKP_ERR_UNSUPPORTED,
    SKP_CTAP_UNSUPPORTED_ALGORITHM)
REFUSAL(mc_refuses_empty_algs, req_mc, set(P(t), K(4), skp_cbor_array(0)),
    SKP_ERR_UNSUPPORTED, SKP_CTAP_UNSUPPORTED_ALGORITHM)
REFUSAL(mc_refuses_es256_other_type, req_mc, set(cbor_array_handle(at(P(t),
    K(4)))[0], S("type"), S("private-key")), SKP_ERR_UNSUPPORTED,
    SKP_CTAP_UNSUPPORTED_ALGORITHM)
REFUSAL(mc_refuses_alg_type, req_mc, set(cbor_array_handle(at(P(t),
    K(4)))[0], S("alg"), S("ES256")), TYPE, ST_TYPE)
REFUSAL(mc_refuses_alg_entry_type, req_mc, {
	cbor_item_t *a = skp_cbor_array(1);
	skp_cbor_array_push(a, skp_cbor_int(-7));
	set(P(t), K(4), a);
}, TYPE, ST_TYPE)
REFUSAL(mc_refuses_too_many_algs, req_mc, {
	cbor_item_t *a = skp_cbor_array(SKP_CTAP_ALG_PARAMS_MAX + 1);
	size_t i;
	for (i = 0; i <= SKP_CTAP_ALG_PARAMS_MAX; i++)
		skp_cbor_array_push(a, cbor_incref(cbor_array_handle(at(P(t),
		    K(4)))[0]));
	set(P(t), K(4), a);
}, BIG, ST_LEN)
REFUSAL(mc_refuses_cred_protect_4, req_mc, set(at(P(t), K(6)),
    S("credProtect"), skp_cbor_uint(4)), FMT, ST_PARAM)
REFUSAL(mc_refuses_cred_protect_0, req_mc, set(at(P(t), K(6)),
    S("credProtect"), skp_cbor_uint(0)), FMT, ST_PARAM)
REFUSAL(mc_refuses_cred_protect_type, req_mc, set(at(P(t), K(6)),
    S("credProtect"), skp_cbor_bool(1)), TYPE, ST_TYPE)
REFUSAL(mc_refuses_extensions_type, req_mc, set(P(t), K(6),
    skp_cbor_array(0)), TYPE, ST_TYPE)
REFUSAL(mc_refuses_option_type, req_mc, set(at(P(t), K(7)), S("rk"),
    skp_cbor_uint(1)), TYPE, ST_TYPE)
REFUSAL(mc_refuses_options_type, req_mc, set(P(t), K(7), skp_cbor_bool(1)),
    TYPE, ST_TYPE)
REFUSAL(mc_refuses_missing_raw, req_mc, del(C(t), K(1)), FMT, ST_MISS)

/* getAssertion parameters */
REFUSAL(ga_refuses_missing_rp_id, req_ga, del(P(t), K(1)), FMT, ST_MISS)
REFUSAL(ga_refuses_rp_id_type, req_ga, set(P(t), K(1), zeros(4)), TYPE,
    ST_TYPE)
REFUSAL(ga_refuses_missing_cdh, req_ga, del(P(t), K(2)), FMT, ST_MISS)
REFUSAL(ga_refuses_empty_allow_list, req_ga, set(P(t), K(3),
    skp_cbor_array(0)), FMT, ST_CBOR)
REFUSAL(ga_refuses_too_many_allowed, req_ga, {
	cbor_item_t *a = skp_cbor_array(SKP_CTAP_ALLOW_MAX + 1);
	size_t i;
	for (i = 0; i <= SKP_CTAP_ALLOW_MAX; i++)
		skp_cbor_array_push(a, cbor_incref(cbor_array_handle(at(P(t),
		    K(3)))[0]));
	set(P(t), K(3), a);
}, BIG, ST_LEN)
REFUSAL(ga_refuses_short_cred_id, req_ga, set(cbor_array_handle(at(P(t),
    K(3)))[0], S("id"), zeros(15)), FMT, ST_CBOR)
REFUSAL(ga_refuses_long_cred_id, req_ga, set(cbor_array_handle(at(P(t),
    K(3)))[0], S("id"), zeros(129)), BIG, ST_LEN)
REFUSAL(ga_refuses_cred_type, req_ga, set(cbor_array_handle(at(P(t),
    K(3)))[0], S("type"), S("password")), FMT, ST_CBOR)
REFUSAL(ga_refuses_missing_cred_type, req_ga, del(cbor_array_handle(at(P(t),
    K(3)))[0], S("type")), FMT, ST_MISS)
REFUSAL(ga_refuses_option_type, req_ga, set(at(P(t), K(5)), S("up"),
    S("yes")), TYPE, ST_TYPE)
REFUSAL(ga_refuses_missing_raw, req_ga, del(C(t), K(1)), FMT, ST_MISS)

/* credential management parameters */
REFUSAL(cm_refuses_missing_subcommand, base_cm_rps, del(P(t), K(1)), FMT,
    ST_MISS)
REFUSAL(cm_refuses_unknown_subcommand, base_cm_rps, set(P(t), K(1),
    skp_cbor_uint(1)), SKP_ERR_UNSUPPORTED, SKP_CTAP_INVALID_SUBCOMMAND)
REFUSAL(cm_refuses_delete_subcommand, base_cm_rps, set(P(t), K(1),
    skp_cbor_uint(6)), SKP_ERR_UNSUPPORTED, SKP_CTAP_INVALID_SUBCOMMAND)
REFUSAL(cm_refuses_rps_with_params, base_cm_rps, set(P(t), K(2),
    skp_cbor_map(0)), FMT, ST_PARAM)
REFUSAL(cm_refuses_short_rp_hash, base_cm_creds, set(at(P(t), K(2)), K(1),
    zeros(31)), FMT, ST_CBOR)
REFUSAL(cm_refuses_params_without_hash, base_cm_creds, del(at(P(t), K(2)),
    K(1)), FMT, ST_MISS)
REFUSAL(cm_refuses_unknown_param, base_cm_creds, set(at(P(t), K(2)), K(2),
    zeros(1)), FMT, ST_CBOR)

/* context */
REFUSAL(ctx_refuses_unknown_key, req_mc, set(C(t), K(7), skp_cbor_uint(1)),
    FMT, ST_CBOR)
/* Origin (key 6): any uint; another type is refused. */
REFUSAL(ctx_refuses_origin_text, req_ga, set(C(t), K(6), S("agent")), TYPE,
    ST_TYPE)
REFUSAL(ctx_refuses_origin_negative, req_ga, set(C(t), K(6),
    skp_cbor_int(-1)), TYPE, ST_TYPE)
REFUSAL(ctx_refuses_origin_bool, req_ga, set(C(t), K(6), skp_cbor_bool(1)),
    TYPE, ST_TYPE)
REFUSAL(ctx_refuses_origin_bytes, req_ga, set(C(t), K(6), zeros(1)), TYPE,
    ST_TYPE)
REFUSAL(ctx_refuses_long_raw, req_mc, set(C(t), K(1),
    zeros(SKP_CTAP_RAW_MAX + 1)), BIG, ST_LEN)
REFUSAL(ctx_refuses_raw_type, req_mc, set(C(t), K(1), S("data")), TYPE,
    ST_TYPE)
REFUSAL(ctx_refuses_missing_computer_name, req_mc, del(C(t), K(2)), FMT,
    ST_MISS)
REFUSAL(ctx_refuses_empty_computer_name, req_mc, set(C(t), K(2), S("")),
    FMT, ST_CBOR)
REFUSAL(ctx_refuses_long_computer_name, req_mc, set(C(t), K(2),
    letters(65)), BIG, ST_LEN)
REFUSAL(ctx_refuses_computer_name_escape, req_mc, set(C(t), K(2),
    S("work\x1b]0;x\x07")), FMT, ST_CBOR)
/* Protocol 2: no PIN in message 1, whatever its form. */
REFUSAL(ctx_refuses_pin, req_mc, set(C(t), K(4), S("123456")), FMT,
    ST_PARAM)
REFUSAL(ctx_refuses_long_pin, req_mc, set(C(t), K(4), letters(64)), FMT,
    ST_PARAM)
REFUSAL(ctx_refuses_empty_pin, req_mc, set(C(t), K(4), S("")), FMT,
    ST_PARAM)
REFUSAL(ctx_refuses_pin_type, req_mc, set(C(t), K(4), skp_cbor_uint(1234)),
    FMT, ST_PARAM)
/* Padding: zero bytes only. */
REFUSAL(env_refuses_padding_nonzero, req_mc, set(t, K(15),
    skp_cbor_bytes((const uint8_t *)"\0\0\1", 3)), FMT, ST_CBOR)
REFUSAL(env_refuses_padding_type, req_mc, set(t, K(15), S("   ")), TYPE,
    ST_TYPE)
REFUSAL(ctx_refuses_overwrite_type, req_mc, set(C(t), K(5),
    skp_cbor_uint(1)), TYPE, ST_TYPE)
REFUSAL(ctx_refuses_host_type, req_mc, set(C(t), K(3), S("db1")), TYPE,
    ST_TYPE)

/* host info */
REFUSAL(host_refuses_missing_name, req_mc_full, del(H(t), K(1)), FMT,
    ST_MISS)
REFUSAL(host_refuses_long_name, req_mc_full, set(H(t), K(1), letters(256)),
    BIG, ST_LEN)
REFUSAL(host_refuses_missing_port, req_mc_full, del(H(t), K(2)), FMT,
    ST_MISS)
REFUSAL(host_refuses_port_0, req_mc_full, set(H(t), K(2),
    skp_cbor_uint(0)), FMT, ST_CBOR)
REFUSAL(host_refuses_port_65536, req_mc_full, set(H(t), K(2),
    skp_cbor_uint(65536)), FMT, ST_CBOR)
REFUSAL(host_refuses_missing_host_key, req_mc_full, del(H(t), K(3)), FMT,
    ST_MISS)
REFUSAL(host_refuses_long_host_key, req_mc_full, set(H(t), K(3),
    zeros(SKP_CTAP_HOST_BLOB_MAX + 1)), BIG, ST_LEN)
REFUSAL(host_refuses_empty_host_key, req_mc_full, set(H(t), K(3),
    zeros(0)), FMT, ST_CBOR)
REFUSAL(host_refuses_missing_signature, req_mc_full, del(H(t), K(4)), FMT,
    ST_MISS)
REFUSAL(host_refuses_long_signature, req_mc_full, set(H(t), K(4),
    zeros(SKP_CTAP_HOST_BLOB_MAX + 1)), BIG, ST_LEN)
REFUSAL(host_refuses_missing_kex, req_mc_full, del(H(t), K(5)), FMT,
    ST_MISS)
REFUSAL(host_refuses_long_kex, req_mc_full, set(H(t), K(5), letters(65)),
    BIG, ST_LEN)
REFUSAL(host_refuses_unknown_key, req_mc_full, set(H(t), K(6), zeros(1)),
    FMT, ST_CBOR)

/* Byte-level refusals the tree cannot express. */

static void
expect_bytes(const char *hex, int want_rc, uint8_t want_st, int line)
{
	static struct skp_ctap_request r;
	uint8_t *p, st = 0xee;
	size_t n;
	int rc;

	p = skp_test_unhex(hex, &n);
	rc = skp_ctap_request_decode(p, n, &r, &st);
	if (rc != want_rc || st != want_st) {
		fprintf(stderr, "line %d: decode = %d (%s) status 0x%02x, "
		    "want %d status 0x%02x\n", line, rc, skp_strerror(rc), st,
		    want_rc, want_st);
		skp_test_case_failed = 1;
	}
	free(p);
}

#define ID16	"50000102030405060708090a0b0c0d0e0f"

static void
env_refuses_trailing(void)
{
	expect_bytes("a5010202" ID16 "03010404" "06a102636c6170" "00",
	    SKP_ERR_TRAILING, ST_CBOR, __LINE__);
}

static void
env_refuses_unsorted(void)
{
	expect_bytes("a5010202" ID16 "04040301" "06a102636c6170",
	    SKP_ERR_CBOR_ORDER, ST_CBOR, __LINE__);
	/* unsorted inside the context map */
	expect_bytes("a5010202" ID16 "03010404" "06a2026161" "0140",
	    SKP_ERR_CBOR_ORDER, ST_CBOR, __LINE__);
}

static void
env_refuses_duplicate(void)
{
	expect_bytes("a5010202" ID16 "03010301" "06a102636c6170",
	    SKP_ERR_CBOR_ORDER, ST_CBOR, __LINE__);
}

static void
env_refuses_non_minimal(void)
{
	/* time 1 as a two-byte integer */
	expect_bytes("a5010202" ID16 "0318010404" "06a102636c6170",
	    SKP_ERR_FORMAT, ST_CBOR, __LINE__);
}

static void
env_refuses_indefinite(void)
{
	expect_bytes("bf010102" ID16 "03010404" "06a102636c6170ff",
	    SKP_ERR_FORMAT, ST_CBOR, __LINE__);
}

static void
env_refuses_not_a_map(void)
{
	expect_bytes("820101", SKP_ERR_CBOR_TYPE, ST_TYPE, __LINE__);
	expect_bytes("", SKP_ERR_TRUNCATED, ST_CBOR, __LINE__);
}

static void
env_refuses_oversize(void)
{
	static struct skp_ctap_request r;
	uint8_t *p, st;

	REQUIRE((p = calloc(1, CAP + 1)) != NULL);
	CHECK_RC(skp_ctap_request_decode(p, CAP + 1, &r, &st),
	    SKP_ERR_TOO_LARGE);
	CHECK(st == ST_LEN);
	free(p);
}

/* Response envelope */

static void
response_roundtrip(void)
{
	struct skp_ctap_response r;
	uint8_t *p = NULL, *body;
	size_t n = 0, bl;

	/* {1: "panked"} */
	body = skp_test_unhex("a1016670616e6b6564", &bl);
	CHECK_RC(skp_ctap_response_encode(0, body, bl, NULL, &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.status == 0 && r.ctap_len == bl && r.reason[0] == '\0');
	CHECK(r.ctap != NULL && memcmp(r.ctap, body, bl) == 0);
	skp_ctap_response_clear(&r);
	CHECK(r.ctap == NULL);
	free(p);
	p = NULL;
	/* An array answer (credential management), the empty one too. */
	CHECK_RC(skp_ctap_response_encode(0, (const uint8_t *)"\x80", 1, NULL,
	    &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.ctap_len == 1 && r.ctap[0] == 0x80);
	skp_ctap_response_clear(&r);
	free(p);
	p = NULL;
	CHECK_RC(skp_ctap_response_encode(SKP_CTAP_OPERATION_DENIED, NULL, 0,
	    "rejected on the phone", &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.status == SKP_CTAP_OPERATION_DENIED && r.ctap == NULL);
	CHECK(strcmp(r.reason, "rejected on the phone") == 0);
	skp_ctap_response_clear(&r);
	free(p);
	p = NULL;
	CHECK_RC(skp_ctap_response_encode(SKP_CTAP_STALE, NULL, 0, NULL, &p,
	    &n), SKP_OK);
	/* {1: 0xf0, 15: 1016 zero bytes}: the first response bucket. */
	CHECK(n == 1024 && p[0] == 0xa2 && p[1] == 0x01 && p[2] == 0x18 &&
	    p[3] == SKP_CTAP_STALE && p[4] == 0x0f && p[5] == 0x59 &&
	    p[6] == 0x03 && p[7] == 0xf8);
	free(p);
	free(body);
}

static int resp_hex(const char *);

/* Protocol 2's answer keys: 5 ("the PIN may follow"), and the version
 * refusal in protocol 1's layout. */
static void
response_pin_may_follow(void)
{
	struct skp_ctap_answer a;
	struct skp_ctap_response r;
	uint8_t *p = NULL;
	size_t n = 0;

	memset(&a, 0, sizeof(a));
	a.status = SKP_CTAP_PIN_REQUIRED;
	a.reason = "PIN required";
	a.pin_may_follow = 1;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_OK);
	CHECK(n == 1024);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.status == SKP_CTAP_PIN_REQUIRED && r.pin_may_follow);
	skp_ctap_response_clear(&r);
	free(p);
	p = NULL;
	/* Only with 0x36, never unpadded. */
	a.status = SKP_CTAP_PIN_INVALID;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_ERR_INVALID);
	a.status = SKP_CTAP_PIN_REQUIRED;
	a.unpadded = 1;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_ERR_INVALID);
	CHECK(p == NULL);
	/* {1: 0x36, 5: true}, {1: 0x36, 5: false}, {1: 0x31, 5: true} */
	CHECK_RC(resp_hex("a2011836" "05f5"), SKP_OK);
	CHECK_RC(resp_hex("a2011836" "05f4"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a2011831" "05f5"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a2011836" "0501"), SKP_ERR_CBOR_TYPE);
	/* The version refusal: {1: 0xf6, 3: "x"}, 7 bytes, no padding. */
	memset(&a, 0, sizeof(a));
	a.status = SKP_CTAP_BAD_VERSION;
	a.reason = "x";
	a.unpadded = 1;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_OK);
	CHECK(n == 7 && p[0] == 0xa2);
	free(p);
}

static void
response_padding(void)
{
	/* {1: 0x27, 15: h'0000'}; non-zero, wrong type */
	CHECK_RC(resp_hex("a2011827" "0f420000"), SKP_OK);
	CHECK_RC(resp_hex("a2011827" "0f420001"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a2011827" "0f6161"), SKP_ERR_CBOR_TYPE);
}

/*
 * Every size lands on a bucket: requests with raw data of 0..8192 bytes
 * (crossing the 2048 and 8192 edges, where 26 and 259 bytes of room
 * cannot be padded and the next bucket is taken), answers with reasons
 * of every length.
 */
static void
padding_buckets(void)
{
	static const size_t rq[] = SKP_CTAP_REQUEST_BUCKETS;
	static const size_t rs[] = SKP_CTAP_RESPONSE_BUCKETS;
	static struct skp_ctap_request a, b;
	char reason[SKP_CTAP_REASON_MAX + 1];
	uint8_t *p = NULL, st;
	size_t n = 0, i, k, len, seen[4] = { 0 };
	int ok = 1;

	for (len = 0; len <= SKP_CTAP_RAW_MAX; len++) {
		req_ga(&a);
		a.ctx.raw_len = len;
		memset(a.ctx.raw, 0x5a, len);
		if (skp_sha256(a.ctx.raw, len, a.ga.cdh) != SKP_OK ||
		    skp_ctap_request_encode(&a, &p, &n) != SKP_OK) {
			ok = 0;
			break;
		}
		for (k = 0; k < 4 && n != rq[k]; k++)
			;
		if (k == 4 || skp_ctap_request_decode(p, n, &b, &st) !=
		    SKP_OK || b.ctx.raw_len != len)
			ok = 0;
		else
			seen[k]++;
		free(p);
		p = NULL;
	}
	CHECK(ok && seen[0] > 0 && seen[1] > 0 && seen[2] > 0);
	for (i = 0; i <= SKP_CTAP_REASON_MAX; i++) {
		memset(reason, 'r', i);
		reason[i] = '\0';
		if (skp_ctap_response_encode(SKP_CTAP_OPERATION_DENIED, NULL,
		    0, reason, &p, &n) != SKP_OK || n != rs[0])
			ok = 0;
		free(p);
		p = NULL;
	}
	CHECK(ok);
}

/* Transport message 3: {1: PIN, 15: zeros}, 128 bytes for any PIN. */
static void
pin_message(void)
{
	char pin[SKP_CTAP_PIN_MAX + 1], got[SKP_CTAP_PIN_MAX + 1];
	uint8_t *p = NULL, *q;
	size_t n = 0, i, qn;

	for (i = 1; i <= SKP_CTAP_PIN_MAX; i++) {
		memset(pin, '0' + (int)(i % 10), i);
		pin[i] = '\0';
		CHECK_RC(skp_ctap_pin_encode(pin, &p, &n), SKP_OK);
		CHECK(n == SKP_CTAP_PIN_MSG_LEN);
		CHECK_RC(skp_ctap_pin_decode(p, n, got), SKP_OK);
		CHECK(strcmp(got, pin) == 0);
		free(p);
		p = NULL;
	}
	/* The vector of docs/PROTOCOL.md §4.2: PIN "1234". */
	CHECK_RC(skp_ctap_pin_encode("1234", &p, &n), SKP_OK);
	q = skp_test_unhex("a20164313233340f5876", &qn);
	CHECK(qn == 10 && memcmp(p, q, qn) == 0);
	for (i = qn; i < n; i++)
		CHECK(p[i] == 0);
	free(q);
	/* Refused: non-zero padding, another key, an empty PIN, a long one. */
	p[n - 1] = 1;
	CHECK_RC(skp_ctap_pin_decode(p, n, got), SKP_ERR_FORMAT);
	CHECK(got[0] == '\0');
	free(p);
	p = NULL;
	q = skp_test_unhex("a2016131" "0240", &qn);
	CHECK_RC(skp_ctap_pin_decode(q, qn, got), SKP_ERR_FORMAT);
	free(q);
	q = skp_test_unhex("a10160", &qn);
	CHECK_RC(skp_ctap_pin_decode(q, qn, got), SKP_ERR_FORMAT);
	free(q);
	q = skp_test_unhex("a1015840"
	    "61616161616161616161616161616161616161616161616161616161616161616"
	    "161616161616161616161616161616161616161616161616161616161616161",
	    &qn);
	CHECK(skp_ctap_pin_decode(q, qn, got) != SKP_OK);
	free(q);
	CHECK_RC(skp_ctap_pin_encode("", &p, &n), SKP_ERR_INVALID);
	memset(pin, 'x', SKP_CTAP_PIN_MAX);
	pin[SKP_CTAP_PIN_MAX] = '\0';
	CHECK_RC(skp_ctap_pin_encode(pin, &p, &n), SKP_OK);
	free(p);
}

static void
response_golden(void)
{
	struct skp_ctap_response r;
	size_t n;
	/* {1: 0x27, 3: "no"} */
	uint8_t *p = skp_test_unhex("a2011827" "03626e6f", &n);

	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.status == 0x27 && strcmp(r.reason, "no") == 0);
	CHECK_RC(skp_ctap_status_err(r.status), SKP_ERR_REJECTED);
	skp_ctap_response_clear(&r);
	free(p);
}

/*
 * Response key 4 (docs/PROTOCOL.md §4.2): the vector, then what the
 * decoder refuses: a short id, a missing field, another key, a relay URL
 * the pairing URI would refuse; the encoder wants both fields.
 */
static void
response_move(void)
{
	static const char head[] = "a4011827" "03626e6f" "04a2" "0158206700dc1d"
	    "4b0287376810b072ff86e790745a06a6893acf73b1e61d3bd7096a66"
	    "0277" "7773733a2f2f72656c61792e6578616d706c652e6f7267" "0f5903b6";
	struct skp_ctap_answer a;
	struct skp_ctap_response r;
	uint8_t *p = NULL, *q, *id;
	size_t n = 0, qn, idn, i;

	id = skp_test_unhex("6700dc1d4b0287376810b072ff86e790745a06a6893acf"
	    "73b1e61d3bd7096a66", &idn);
	memset(&a, 0, sizeof(a));
	a.status = SKP_CTAP_OPERATION_DENIED;
	a.reason = "no";
	a.move_id = id;
	a.move_relay = "wss://relay.example.org";
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_OK);
	q = skp_test_unhex(head, &qn);
	CHECK(n == 1024 && qn == 74 && memcmp(p, q, qn) == 0);
	for (i = qn; i < n; i++)
		CHECK(p[i] == 0);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.moved && memcmp(r.move_id, id, idn) == 0 &&
	    strcmp(r.move_relay, "wss://relay.example.org") == 0 &&
	    r.status == SKP_CTAP_OPERATION_DENIED);
	skp_ctap_response_clear(&r);
	free(p);
	free(q);
	p = NULL;
	/* Without key 4: nothing moved. */
	CHECK_RC(skp_ctap_response_encode(0x27, NULL, 0, "no", &p, &n),
	    SKP_OK);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(!r.moved);
	skp_ctap_response_clear(&r);
	free(p);
	p = NULL;
	/* Half of key 4, or a bad URL: the encoder refuses. */
	a.move_relay = NULL;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_ERR_INVALID);
	a.move_relay = "wss://relay.example.org?x=1";
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_ERR_INVALID);
	a.move_relay = "wss://relay.example.org";
	a.unpadded = 1;
	a.status = SKP_CTAP_BAD_VERSION;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_ERR_INVALID);
	free(id);
	/* Refused by the decoder. */
	CHECK(resp_hex(
	    "a201182704a201581f000102030405060708090a0b0c0d0e0f101112"
	    "131415161718191a1b1c1d1e02687773733a2f2f7878") !=
	    SKP_OK);
	CHECK(resp_hex(
	    "a201182704a1015820000102030405060708090a0b0c0d0e0f101112"
	    "131415161718191a1b1c1d1e1f") != SKP_OK);
	CHECK(resp_hex(
	    "a201182704a3015820000102030405060708090a0b0c0d0e0f101112"
	    "131415161718191a1b1c1d1e1f02687773733a2f2f78780300")
	    != SKP_OK);
	CHECK(resp_hex(
	    "a201182704a2015820000102030405060708090a0b0c0d0e0f101112"
	    "131415161718191a1b1c1d1e1f02697773733a2f2f785f78") !=
	    SKP_OK);
	CHECK(resp_hex(
	    "a20118270401") != SKP_OK);
	/* And accepted when well formed, without padding too. */
	CHECK(resp_hex(
	    "a201182704a2015820000102030405060708090a0b0c0d0e0f101112"
	    "131415161718191a1b1c1d1e1f02687773733a2f2f7878") ==
	    SKP_OK);
}

/*
 * Response key 6, the phone's clock (docs/PROTOCOL.md §4.2): the
 * vector; only with 0xF0, a uint; the encoder likewise.
 */
static void
response_phone_time(void)
{
	static const char head[] = "a40118f0" "03627878" "061b0000018bcfe56800"
	    "0f5903ea";
	struct skp_ctap_answer a;
	struct skp_ctap_response r;
	uint8_t *p = NULL, *q;
	size_t n = 0, qn, i;

	memset(&a, 0, sizeof(a));
	a.status = SKP_CTAP_STALE;
	a.reason = "xx";
	a.has_phone_time = 1;
	a.phone_time_ms = 1700000000000ULL;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_OK);
	q = skp_test_unhex(head, &qn);
	CHECK(n == 1024 && qn == 22 && memcmp(p, q, qn) == 0);
	for (i = qn; i < n; i++)
		CHECK(p[i] == 0);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.status == SKP_CTAP_STALE && r.has_phone_time &&
	    r.phone_time_ms == 1700000000000ULL &&
	    strcmp(r.reason, "xx") == 0);
	CHECK_RC(skp_ctap_status_err(r.status), SKP_ERR_EXPIRED);
	skp_ctap_response_clear(&r);
	free(p);
	free(q);
	p = NULL;
	/* Without key 6 (a phone before it): stale, no time. */
	CHECK_RC(skp_ctap_response_encode(SKP_CTAP_STALE, NULL, 0, "xx", &p,
	    &n), SKP_OK);
	CHECK_RC(skp_ctap_response_decode(p, n, &r), SKP_OK);
	CHECK(r.status == SKP_CTAP_STALE && !r.has_phone_time &&
	    r.phone_time_ms == 0);
	skp_ctap_response_clear(&r);
	free(p);
	p = NULL;
	/* The encoder: only with 0xF0, never unpadded. */
	a.status = SKP_CTAP_OPERATION_DENIED;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_ERR_INVALID);
	a.status = SKP_CTAP_STALE;
	a.unpadded = 1;
	CHECK_RC(skp_ctap_answer_encode(&a, &p, &n), SKP_ERR_INVALID);
	CHECK(p == NULL);
	/* The decoder: 0 and 2^64 - 1 are times; key 6 with any other
	 * status (0x27, 0xF1, 0x36, OK with a body) is refused, and so
	 * is a time that is not a uint. */
	CHECK_RC(resp_hex("a20118f0" "0600"), SKP_OK);
	CHECK_RC(resp_hex("a20118f0" "061bffffffffffffffff"), SKP_OK);
	CHECK_RC(resp_hex("a2011827" "061b0000018bcfe56800"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a20118f1" "061b0000018bcfe56800"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a3011836" "05f5" "0601"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a30100" "02a0" "0601"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a20118f0" "0620"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(resp_hex("a20118f0" "066131"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(resp_hex("a20118f0" "06fb41d8cbc3e9400000"),
	    SKP_ERR_CBOR_TYPE);
	/* Out of canonical order (6 before 3), or twice: refused. */
	CHECK(resp_hex("a30118f0" "0600" "03627878") != SKP_OK);
	CHECK(resp_hex("a30118f0" "0600" "0601") != SKP_OK);
}

static int
resp_hex(const char *hex)
{
	struct skp_ctap_response r;
	uint8_t *p;
	size_t n;
	int rc;

	p = skp_test_unhex(hex, &n);
	rc = skp_ctap_response_decode(p, n, &r);
	if (rc != SKP_OK && (r.ctap != NULL || r.status != 0))
		rc = SKP_ERR_INTERNAL;	/* must be cleared on failure */
	skp_ctap_response_clear(&r);
	free(p);
	return rc;
}

static void
response_refuses_ok_without_body(void)
{
	CHECK_RC(resp_hex("a10100"), SKP_ERR_FORMAT);
}

static void
response_refuses_error_with_body(void)
{
	CHECK_RC(resp_hex("a2011827" "02a0"), SKP_ERR_FORMAT);
}

static void
response_refuses_reason_with_ok(void)
{
	CHECK_RC(resp_hex("a30100" "02a0" "03626e6f"), SKP_ERR_FORMAT);
}

static void
response_refuses_body_type(void)
{
	CHECK_RC(resp_hex("a20100" "0241ff"), SKP_ERR_CBOR_TYPE);
}

static void
response_refuses_status_range(void)
{
	CHECK_RC(resp_hex("a101190100"), SKP_ERR_FORMAT);
	CHECK_RC(resp_hex("a10120"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(resp_hex("a103626e6f"), SKP_ERR_FORMAT);	/* missing */
}

static void
response_refuses_long_reason(void)
{
	char hex[2 * 300 + 16];
	size_t i;

	/* {1: 0x27, 3: 257 x "a"} */
	strcpy(hex, "a2011827" "03790101");
	for (i = 0; i < 257; i++)
		strcat(hex, "61");
	CHECK_RC(resp_hex(hex), SKP_ERR_TOO_LARGE);
}

static void
response_refuses_reason_control(void)
{
	/* "a\x1b[31m" */
	CHECK_RC(resp_hex("a2011827" "0366611b5b33316d"), SKP_ERR_FORMAT);
}

static void
response_refuses_unknown_key(void)
{
	CHECK_RC(resp_hex("a20100" "04a0"), SKP_ERR_FORMAT);
}

static void
response_refuses_trailing(void)
{
	CHECK_RC(resp_hex("a2011827" "03626e6f" "00"), SKP_ERR_TRAILING);
}

static void
response_refuses_unsorted(void)
{
	CHECK_RC(resp_hex("a2" "03626e6f" "011827"), SKP_ERR_CBOR_ORDER);
}

static void
response_encode_refuses(void)
{
	uint8_t *p = NULL;
	size_t n = 0;

	CHECK_RC(skp_ctap_response_encode(0, NULL, 0, NULL, &p, &n),
	    SKP_ERR_INVALID);
	CHECK_RC(skp_ctap_response_encode(0x27, (const uint8_t *)"\xa0", 1,
	    NULL, &p, &n), SKP_ERR_INVALID);
	CHECK_RC(skp_ctap_response_encode(0, (const uint8_t *)"\xa0", 1, "x",
	    &p, &n), SKP_ERR_INVALID);
	/* A body that is not strict CBOR, or not a map or array. */
	CHECK_RC(skp_ctap_response_encode(0, (const uint8_t *)"\xa0\x00", 2,
	    NULL, &p, &n), SKP_ERR_INVALID);
	CHECK_RC(skp_ctap_response_encode(0, (const uint8_t *)"\x01", 1,
	    NULL, &p, &n), SKP_ERR_INVALID);
	CHECK_RC(skp_ctap_response_encode(0x27, NULL, 0, "two\nlines", &p,
	    &n), SKP_ERR_INVALID);
	CHECK(p == NULL && n == 0);
}

/* makeCredential answer */

static void
fill_mc_resp(struct skp_ctap_mc_resp *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->authdata, 0x33, 148);
	r->authdata_len = 148;
	r->alg = -7;
	memset(r->sig, 0x30, 71);
	r->sig_len = 71;
}

static void
mc_resp_roundtrip(void)
{
	struct skp_ctap_mc_resp a, b;
	uint8_t *p = NULL;
	size_t n = 0;

	fill_mc_resp(&a);
	CHECK_RC(skp_ctap_mc_resp_encode(&a, &p, &n), SKP_OK);
	/* {1: "packed", 2: h'..', 3: {"alg": -7, "sig": h'..'}} */
	REQUIRE(p != NULL && n > 20);
	CHECK(memcmp(p, "\xa3\x01\x66packed\x02\x58\x94", 12) == 0);
	CHECK(memcmp(p + 12 + 148, "\x03\xa2\x63" "alg\x26\x63sig\x58\x47",
	    13) == 0);
	CHECK_RC(skp_ctap_mc_resp_decode(p, n, &b), SKP_OK);
	CHECK(b.authdata_len == 148 && b.sig_len == 71 && b.alg == -7);
	CHECK_MEM(b.authdata, a.authdata, 148);
	CHECK_MEM(b.sig, a.sig, 71);
	free(p);
}

static int
mc_resp_tree(void (*change)(cbor_item_t *))
{
	struct skp_ctap_mc_resp a;
	cbor_item_t *t = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	int rc;

	fill_mc_resp(&a);
	if (skp_ctap_mc_resp_encode(&a, &p, &n) != SKP_OK ||
	    skp_cbor_load(p, n, CAP, &t) != SKP_OK)
		abort();
	free(p);
	p = NULL;
	change(t);
	if (skp_cbor_encode(t, CAP, &p, &n) != SKP_OK)
		abort();
	rc = skp_ctap_mc_resp_decode(p, n, &a);
	if (rc != SKP_OK && a.authdata_len != 0)
		rc = SKP_ERR_INTERNAL;
	free(p);
	skp_cbor_free(&t);
	return rc;
}

static void ch_fmt_none(cbor_item_t *t) { set(t, K(1), S("none")); }
static void ch_fmt_u2f(cbor_item_t *t) { set(t, K(1), S("fido-u2f")); }
static void ch_alg_eddsa(cbor_item_t *t)
{ set(at(t, K(3)), S("alg"), skp_cbor_int(-8)); }
static void ch_alg_rs256(cbor_item_t *t)
{ set(at(t, K(3)), S("alg"), skp_cbor_int(-257)); }
static void ch_x5c(cbor_item_t *t)
{ set(at(t, K(3)), S("x5c"), skp_cbor_array(0)); }
static void ch_short_ad(cbor_item_t *t) { set(t, K(2), zeros(36)); }
static void ch_long_ad(cbor_item_t *t)
{ set(t, K(2), zeros(SKP_CTAP_AUTHDATA_MAX + 1)); }
static void ch_long_sig(cbor_item_t *t)
{ set(at(t, K(3)), S("sig"), zeros(SKP_P256_SIG_MAX + 1)); }
static void ch_no_sig(cbor_item_t *t) { del(at(t, K(3)), S("sig")); }
static void ch_no_att(cbor_item_t *t) { del(t, K(3)); }
static void ch_no_fmt(cbor_item_t *t) { del(t, K(1)); }
static void ch_ad_type(cbor_item_t *t) { set(t, K(2), S("authdata")); }

static void
mc_resp_refuses_fmt(void)
{
	CHECK_RC(mc_resp_tree(ch_fmt_none), SKP_ERR_UNSUPPORTED);
	CHECK_RC(mc_resp_tree(ch_fmt_u2f), SKP_ERR_UNSUPPORTED);
	CHECK_RC(mc_resp_tree(ch_no_fmt), SKP_ERR_FORMAT);
}

static void
mc_resp_refuses_alg(void)
{
	CHECK_RC(mc_resp_tree(ch_alg_rs256), SKP_ERR_UNSUPPORTED);
	/* EdDSA names a 64-byte signature; this one is DER. */
	CHECK_RC(mc_resp_tree(ch_alg_eddsa), SKP_ERR_FORMAT);
}

static void
mc_resp_refuses_x5c(void)
{
	CHECK_RC(mc_resp_tree(ch_x5c), SKP_ERR_UNSUPPORTED);
}

static void
mc_resp_refuses_authdata_size(void)
{
	CHECK_RC(mc_resp_tree(ch_short_ad), SKP_ERR_FORMAT);
	CHECK_RC(mc_resp_tree(ch_long_ad), SKP_ERR_TOO_LARGE);
	CHECK_RC(mc_resp_tree(ch_ad_type), SKP_ERR_CBOR_TYPE);
}

static void
mc_resp_refuses_sig(void)
{
	CHECK_RC(mc_resp_tree(ch_long_sig), SKP_ERR_TOO_LARGE);
	CHECK_RC(mc_resp_tree(ch_no_sig), SKP_ERR_FORMAT);
	CHECK_RC(mc_resp_tree(ch_no_att), SKP_ERR_FORMAT);
}

/* getAssertion answer */

static void
fill_ga_resp(struct skp_ctap_ga_resp *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->cred.id, 0x44, 48);
	r->cred.id_len = 48;
	memset(r->authdata, 0x55, 37);
	r->authdata_len = 37;
	memset(r->sig, 0x30, 70);
	r->sig_len = 70;
	r->has_user = 1;
	memset(r->user_id, 0x66, 32);
	r->user_id_len = 32;
}

static void
ga_resp_roundtrip(void)
{
	struct skp_ctap_ga_resp a, b;
	uint8_t *p = NULL;
	size_t n = 0;

	fill_ga_resp(&a);
	CHECK_RC(skp_ctap_ga_resp_encode(&a, &p, &n), SKP_OK);
	REQUIRE(p != NULL);
	/* {1: {"id": h'..', "type": "public-key"}, ...} */
	CHECK(memcmp(p, "\xa4\x01\xa2\x62id\x58\x30", 8) == 0);
	CHECK_RC(skp_ctap_ga_resp_decode(p, n, &b), SKP_OK);
	CHECK(b.cred.id_len == 48 && b.authdata_len == 37 && b.sig_len == 70);
	CHECK(b.has_user && b.user_id_len == 32);
	CHECK_MEM(b.user_id, a.user_id, 32);
	free(p);
	p = NULL;
	a.has_user = 0;
	CHECK_RC(skp_ctap_ga_resp_encode(&a, &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_ga_resp_decode(p, n, &b), SKP_OK);
	CHECK(!b.has_user);
	free(p);
}

static int
ga_resp_tree(void (*change)(cbor_item_t *))
{
	struct skp_ctap_ga_resp a;
	cbor_item_t *t = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	int rc;

	fill_ga_resp(&a);
	if (skp_ctap_ga_resp_encode(&a, &p, &n) != SKP_OK ||
	    skp_cbor_load(p, n, CAP, &t) != SKP_OK)
		abort();
	free(p);
	p = NULL;
	change(t);
	if (skp_cbor_encode(t, CAP, &p, &n) != SKP_OK)
		abort();
	rc = skp_ctap_ga_resp_decode(p, n, &a);
	free(p);
	skp_cbor_free(&t);
	return rc;
}

static void ch_ga_no_cred(cbor_item_t *t) { del(t, K(1)); }
static void ch_ga_cred_type(cbor_item_t *t)
{ set(at(t, K(1)), S("type"), S("secret")); }
static void ch_ga_short_id(cbor_item_t *t)
{ set(at(t, K(1)), S("id"), zeros(8)); }
static void ch_ga_no_sig(cbor_item_t *t) { del(t, K(3)); }
static void ch_ga_sig_type(cbor_item_t *t) { set(t, K(3), S("sig")); }
static void ch_ga_long_user(cbor_item_t *t)
{ set(at(t, K(4)), S("id"), zeros(65)); }
static void ch_ga_user_no_id(cbor_item_t *t) { del(at(t, K(4)), S("id")); }
static void ch_ga_no_authdata(cbor_item_t *t) { del(t, K(2)); }

static void
ga_resp_refuses_credential(void)
{
	CHECK_RC(ga_resp_tree(ch_ga_no_cred), SKP_ERR_FORMAT);
	CHECK_RC(ga_resp_tree(ch_ga_cred_type), SKP_ERR_FORMAT);
	CHECK_RC(ga_resp_tree(ch_ga_short_id), SKP_ERR_FORMAT);
}

static void
ga_resp_refuses_signature(void)
{
	CHECK_RC(ga_resp_tree(ch_ga_no_sig), SKP_ERR_FORMAT);
	CHECK_RC(ga_resp_tree(ch_ga_sig_type), SKP_ERR_CBOR_TYPE);
	CHECK_RC(ga_resp_tree(ch_ga_no_authdata), SKP_ERR_FORMAT);
}

static void
ga_resp_refuses_user(void)
{
	CHECK_RC(ga_resp_tree(ch_ga_long_user), SKP_ERR_TOO_LARGE);
	CHECK_RC(ga_resp_tree(ch_ga_user_no_id), SKP_ERR_FORMAT);
}

/* getInfo answer */

static void
fill_info(struct skp_ctap_info *i)
{
	memset(i, 0, sizeof(*i));
	strcpy(i->versions[0], "FIDO_2_0");
	strcpy(i->versions[1], "FIDO_2_1");
	i->nversions = 2;
	strcpy(i->extensions[0], "credProtect");
	i->nextensions = 1;
	memcpy(i->aaguid, skp_authdata_aaguid, 16);
	strcpy(i->options[0].name, "rk");
	i->options[0].value = 1;
	strcpy(i->options[1].name, "up");
	i->options[1].value = 1;
	strcpy(i->options[2].name, "uv");
	i->options[2].value = 0;
	strcpy(i->options[3].name, "credMgmt");
	i->options[3].value = 1;
	i->noptions = 4;
	i->max_msg_size = SKP_CTAP_ENVELOPE_MAX;
}

static void
info_roundtrip(void)
{
	struct skp_ctap_info a, b;
	uint8_t *p = NULL;
	size_t n = 0;

	fill_info(&a);
	CHECK_RC(skp_ctap_info_encode(&a, &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_info_decode(p, n, &b), SKP_OK);
	CHECK(b.nversions == 2 && strcmp(b.versions[1], "FIDO_2_1") == 0);
	CHECK(b.nextensions == 1 &&
	    strcmp(b.extensions[0], "credProtect") == 0);
	CHECK_MEM(b.aaguid, skp_authdata_aaguid, 16);
	CHECK(b.noptions == 4 && b.max_msg_size == SKP_CTAP_ENVELOPE_MAX);
	CHECK(skp_ctap_info_option(&b, "rk") == 1);
	CHECK(skp_ctap_info_option(&b, "uv") == 0);
	CHECK(skp_ctap_info_option(&b, "credMgmt") == 1);
	CHECK(skp_ctap_info_option(&b, "clientPin") == SKP_CTAP_OPT_ABSENT);
	/* Options come out in canonical order: "rk" "up" "uv" "credMgmt". */
	CHECK(strcmp(b.options[3].name, "credMgmt") == 0);
	free(p);
}

static int
info_tree(void (*change)(cbor_item_t *))
{
	struct skp_ctap_info a;
	cbor_item_t *t = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	int rc;

	fill_info(&a);
	if (skp_ctap_info_encode(&a, &p, &n) != SKP_OK ||
	    skp_cbor_load(p, n, CAP, &t) != SKP_OK)
		abort();
	free(p);
	p = NULL;
	change(t);
	if (skp_cbor_encode(t, CAP, &p, &n) != SKP_OK)
		abort();
	rc = skp_ctap_info_decode(p, n, &a);
	free(p);
	skp_cbor_free(&t);
	return rc;
}

static void ch_info_no_versions(cbor_item_t *t)
{ set(t, K(1), skp_cbor_array(0)); }
static void ch_info_many_versions(cbor_item_t *t)
{
	cbor_item_t *a = skp_cbor_array(SKP_CTAP_INFO_LIST_MAX + 1);
	size_t i;

	for (i = 0; i <= SKP_CTAP_INFO_LIST_MAX; i++)
		skp_cbor_array_push(a, S("FIDO_2_0"));
	set(t, K(1), a);
}
static void ch_info_version_type(cbor_item_t *t)
{
	cbor_item_t *a = skp_cbor_array(1);

	skp_cbor_array_push(a, skp_cbor_uint(2));
	set(t, K(1), a);
}
static void ch_info_short_aaguid(cbor_item_t *t) { set(t, K(3), zeros(15)); }
static void ch_info_no_aaguid(cbor_item_t *t) { del(t, K(3)); }
static void ch_info_option_value(cbor_item_t *t)
{ set(at(t, K(4)), S("rk"), skp_cbor_uint(1)); }
static void ch_info_option_key(cbor_item_t *t)
{ set(at(t, K(4)), K(1), skp_cbor_bool(1)); }
static void ch_info_max_type(cbor_item_t *t) { set(t, K(5), S("big")); }

static void
info_refuses_versions(void)
{
	CHECK_RC(info_tree(ch_info_no_versions), SKP_ERR_FORMAT);
	CHECK_RC(info_tree(ch_info_many_versions), SKP_ERR_TOO_LARGE);
	CHECK_RC(info_tree(ch_info_version_type), SKP_ERR_CBOR_TYPE);
}

static void
info_refuses_aaguid(void)
{
	CHECK_RC(info_tree(ch_info_short_aaguid), SKP_ERR_FORMAT);
	CHECK_RC(info_tree(ch_info_no_aaguid), SKP_ERR_FORMAT);
}

static void
info_refuses_options(void)
{
	CHECK_RC(info_tree(ch_info_option_value), SKP_ERR_CBOR_TYPE);
	CHECK_RC(info_tree(ch_info_option_key), SKP_ERR_CBOR_TYPE);
	CHECK_RC(info_tree(ch_info_max_type), SKP_ERR_CBOR_TYPE);
}

/* ---- Ed25519 (issue 13): pubKeyCredParams, getInfo key 10, listing ---- */

static void fill_creds(struct skp_ctap_cred *, size_t);

static void
mc_alg_eddsa_encoded(void)
{
	static struct skp_ctap_request a, b;
	/* [{"alg": -8, "type": "public-key"}] (docs/PROTOCOL.md §4.5). */
	static const char want[] = "81a263616c67276474797065"
	    "6a7075626c69632d6b6579";
	uint8_t *p = NULL, *w;
	size_t n = 0, wl, i;
	int found = 0;

	req_mc(&a);
	a.mc.alg = SKP_CTAP_COSE_EDDSA;
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.mc.alg == SKP_CTAP_COSE_EDDSA);
	REQUIRE(skp_ctap_request_encode(&a, &p, &n) == SKP_OK);
	w = skp_test_unhex(want, &wl);
	for (i = 0; i + wl <= n && !found; i++)
		found = memcmp(p + i, w, wl) == 0;
	CHECK(found);
	free(p);
	free(w);
	/* No alg (0): ES256, as before; one sk-phone does not make. */
	req_mc(&a);
	CHECK_RC(roundtrip(&a, &b), SKP_OK);
	CHECK(b.mc.alg == SKP_CTAP_COSE_ES256);
	a.mc.alg = -257;
	CHECK_RC(skp_ctap_request_encode(&a, &p, &n), SKP_ERR_INVALID);
}

static cbor_item_t *
alg_entry(int64_t alg, const char *type)
{
	cbor_item_t *m = skp_cbor_map(2);

	skp_cbor_map_put_text(m, "alg", skp_cbor_int(alg));
	skp_cbor_map_put_text(m, "type", S(type));
	return m;
}

/* The decoder gives the first alg of the list that sk-phone makes. */
static int64_t
mc_first_alg(const int64_t *algs, const char **types, size_t n,
    int *rc_out)
{
	static struct skp_ctap_request r;
	cbor_item_t *t = NULL, *list;
	uint8_t *p = NULL, st = 0;
	size_t i, len = 0;

	req_mc(&r);
	if (skp_ctap_request_encode(&r, &p, &len) != SKP_OK ||
	    skp_cbor_load(p, len, CAP, &t) != SKP_OK)
		abort();
	free(p);
	p = NULL;
	list = skp_cbor_array(n);
	for (i = 0; i < n; i++)
		skp_cbor_array_push(list, alg_entry(algs[i], types[i]));
	set(at(t, K(5)), K(4), list);
	if (skp_cbor_encode(t, 2 * CAP, &p, &len) != SKP_OK)
		abort();
	*rc_out = skp_ctap_request_decode(p, len, &r, &st);
	free(p);
	skp_cbor_free(&t);
	return *rc_out == SKP_OK ? r.mc.alg : 0;
}

static void
mc_picks_first_known_alg(void)
{
	static const int64_t l1[] = { -257, -8, -7 }, l2[] = { -7, -8 };
	static const int64_t l3[] = { -8, -7 }, l4[] = { -35, -36 };
	static const char *pk[] = { "public-key", "public-key",
	    "public-key" };
	static const char *other[] = { "other", "public-key" };
	int rc;

	CHECK(mc_first_alg(l1, pk, 3, &rc) == -8 && rc == SKP_OK);
	CHECK(mc_first_alg(l2, pk, 2, &rc) == -7 && rc == SKP_OK);
	CHECK(mc_first_alg(l3, pk, 2, &rc) == -8 && rc == SKP_OK);
	/* An entry of another type does not count. */
	CHECK(mc_first_alg(l3, other, 2, &rc) == -7 && rc == SKP_OK);
	(void)mc_first_alg(l4, pk, 2, &rc);
	CHECK_RC(rc, SKP_ERR_UNSUPPORTED);
}

static void
info_algorithms(void)
{
	struct skp_ctap_info a, b;
	uint8_t *p = NULL;
	size_t n = 0;

	fill_info(&a);
	CHECK_RC(skp_ctap_info_encode(&a, &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_info_decode(p, n, &b), SKP_OK);
	/* No key 10: an older phone, ES256 only. */
	CHECK(b.nalgorithms == 0);
	CHECK(skp_ctap_info_has_alg(&b, -7) && !skp_ctap_info_has_alg(&b, -8));
	free(p);
	a.algorithms[0] = -7;
	a.algorithms[1] = -8;
	a.nalgorithms = 2;
	CHECK_RC(skp_ctap_info_encode(&a, &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_info_decode(p, n, &b), SKP_OK);
	CHECK(b.nalgorithms == 2 && b.algorithms[0] == -7 &&
	    b.algorithms[1] == -8);
	CHECK(skp_ctap_info_has_alg(&b, -8) &&
	    !skp_ctap_info_has_alg(&b, -257));
	free(p);
	/* A web phone without Ed25519 lists -7 alone. */
	a.nalgorithms = 1;
	CHECK_RC(skp_ctap_info_encode(&a, &p, &n), SKP_OK);
	CHECK_RC(skp_ctap_info_decode(p, n, &b), SKP_OK);
	CHECK(skp_ctap_info_has_alg(&b, -7) && !skp_ctap_info_has_alg(&b, -8));
	free(p);
	a.nalgorithms = SKP_CTAP_INFO_LIST_MAX + 1;
	CHECK_RC(skp_ctap_info_encode(&a, &p, &n), SKP_ERR_INVALID);
}

static void ch_info_algs_empty(cbor_item_t *t)
{ set(t, K(10), skp_cbor_array(0)); }
static void ch_info_algs_type(cbor_item_t *t)
{
	cbor_item_t *a = skp_cbor_array(1);

	skp_cbor_array_push(a, alg_entry(-8, "secret-key"));
	set(t, K(10), a);
}
static void ch_info_algs_not_map(cbor_item_t *t)
{
	cbor_item_t *a = skp_cbor_array(1);

	skp_cbor_array_push(a, skp_cbor_int(-8));
	set(t, K(10), a);
}
static void ch_info_algs_many(cbor_item_t *t)
{
	cbor_item_t *a = skp_cbor_array(SKP_CTAP_INFO_LIST_MAX + 1);
	size_t i;

	for (i = 0; i <= SKP_CTAP_INFO_LIST_MAX; i++)
		skp_cbor_array_push(a, alg_entry(-7, "public-key"));
	set(t, K(10), a);
}
static void ch_info_algs_no_alg(cbor_item_t *t)
{
	cbor_item_t *a = skp_cbor_array(1), *m = skp_cbor_map(1);

	skp_cbor_map_put_text(m, "type", S("public-key"));
	skp_cbor_array_push(a, m);
	set(t, K(10), a);
}

static void
info_refuses_algorithms(void)
{
	CHECK_RC(info_tree(ch_info_algs_empty), SKP_ERR_FORMAT);
	CHECK_RC(info_tree(ch_info_algs_type), SKP_ERR_FORMAT);
	CHECK_RC(info_tree(ch_info_algs_not_map), SKP_ERR_CBOR_TYPE);
	CHECK_RC(info_tree(ch_info_algs_many), SKP_ERR_TOO_LARGE);
	CHECK_RC(info_tree(ch_info_algs_no_alg), SKP_ERR_FORMAT);
}

static void
creds_ed25519(void)
{
	struct skp_ctap_cred in[2], *out = NULL;
	struct skp_ed25519_key k;
	uint8_t *p = NULL;
	size_t n = 0, count = 0;

	fill_creds(in, 2);
	REQUIRE(skp_ed25519_generate(&k) == SKP_OK);
	memset(in[1].pub, 0, sizeof(in[1].pub));
	memcpy(in[1].pub, k.pub, SKP_ED25519_PUB_LEN);
	in[1].alg = SKP_CTAP_COSE_EDDSA;
	CHECK_RC(skp_ctap_creds_encode(in, 2, SKP_CTAP_CM_ENUM_CREDS, 1, &p,
	    &n), SKP_OK);
	CHECK_RC(skp_ctap_creds_decode(p, n, SKP_CTAP_CM_ENUM_CREDS, 1, &out,
	    &count), SKP_OK);
	REQUIRE(out != NULL && count == 2);
	CHECK(out[0].alg == SKP_CTAP_COSE_ES256);
	CHECK_MEM(out[0].pub, in[0].pub, SKP_P256_PUB_LEN);
	CHECK(out[1].alg == SKP_CTAP_COSE_EDDSA);
	CHECK_MEM(out[1].pub, k.pub, SKP_ED25519_PUB_LEN);
	skp_ctap_creds_free(&out, count);
	free(p);
	/* A small-order Ed25519 key is no key. */
	memset(in[1].pub, 0, sizeof(in[1].pub));
	in[1].pub[0] = 1;
	if (skp_ctap_creds_encode(in, 2, SKP_CTAP_CM_ENUM_CREDS, 1, &p,
	    &n) == SKP_OK) {
		CHECK_RC(skp_ctap_creds_decode(p, n, SKP_CTAP_CM_ENUM_CREDS, 1,
		    &out, &count), SKP_ERR_CRYPTO);
		free(p);
	}
	skp_wipe(&k, sizeof(k));
}

/* Credential management answer */

static void
fill_creds(struct skp_ctap_cred *c, size_t n)
{
	struct skp_p256_key k;
	size_t i;

	memset(c, 0, n * sizeof(*c));
	for (i = 0; i < n; i++) {
		if (skp_p256_generate(&k) != SKP_OK)
			abort();
		snprintf(c[i].rp_id, sizeof(c[i].rp_id), "ssh:host%zu", i);
		if (skp_sha256(c[i].rp_id, strlen(c[i].rp_id),
		    c[i].rp_id_hash) != SKP_OK)
			abort();
		memset(c[i].user_id, (int)i, 32);
		c[i].user_id_len = 32;
		strcpy(c[i].user_name, "git");
		memset(c[i].cred.id, 0x80 + (int)i, 64);
		c[i].cred.id_len = 64;
		memcpy(c[i].pub, k.pub, sizeof(k.pub));
		c[i].cred_protect = i == 0 ? 0 : 2;
		skp_wipe(&k, sizeof(k));
	}
}

static void
creds_roundtrip(void)
{
	struct skp_ctap_cred in[3], *out = NULL;
	uint8_t *p = NULL;
	size_t n = 0, count;

	fill_creds(in, 3);
	/* enumerateCredentials for all RPs: each carries its rp. */
	CHECK_RC(skp_ctap_creds_encode(in, 3, SKP_CTAP_CM_ENUM_CREDS, 1, &p,
	    &n), SKP_OK);
	CHECK_RC(skp_ctap_creds_decode(p, n, SKP_CTAP_CM_ENUM_CREDS, 1, &out,
	    &count), SKP_OK);
	REQUIRE(out != NULL && count == 3);
	CHECK(out[2].has_rp && strcmp(out[2].rp_id, "ssh:host2") == 0);
	CHECK(out[1].user_id_len == 32 && out[1].user_id[0] == 1);
	CHECK(strcmp(out[1].user_name, "git") == 0);
	CHECK(out[1].cred.id_len == 64 && out[1].cred.id[0] == 0x81);
	CHECK_MEM(out[1].pub, in[1].pub, SKP_P256_PUB_LEN);
	CHECK(out[0].cred_protect == 0 && out[1].cred_protect == 2);
	skp_ctap_creds_free(&out, count);
	CHECK(out == NULL);
	free(p);
	p = NULL;
	/* For one rp: no rp in the elements. */
	CHECK_RC(skp_ctap_creds_encode(in, 3, SKP_CTAP_CM_ENUM_CREDS, 0, &p,
	    &n), SKP_OK);
	CHECK_RC(skp_ctap_creds_decode(p, n, SKP_CTAP_CM_ENUM_CREDS, 0, &out,
	    &count), SKP_OK);
	CHECK(count == 3 && out != NULL && !out[0].has_rp);
	skp_ctap_creds_free(&out, count);
	/* ...and the decoder for all RPs wants it. */
	CHECK_RC(skp_ctap_creds_decode(p, n, SKP_CTAP_CM_ENUM_CREDS, 1, &out,
	    &count), SKP_ERR_FORMAT);
	CHECK(out == NULL && count == 0);
	free(p);
	p = NULL;
	/* enumerateRPs */
	CHECK_RC(skp_ctap_creds_encode(in, 3, SKP_CTAP_CM_ENUM_RPS, 0, &p,
	    &n), SKP_OK);
	CHECK_RC(skp_ctap_creds_decode(p, n, SKP_CTAP_CM_ENUM_RPS, 0, &out,
	    &count), SKP_OK);
	CHECK(count == 3 && out != NULL && out[1].has_rp);
	CHECK(out != NULL && strcmp(out[1].rp_id, "ssh:host1") == 0);
	CHECK_MEM(out[1].rp_id_hash, in[1].rp_id_hash, 32);
	skp_ctap_creds_free(&out, count);
	free(p);
	p = NULL;
	/* Nothing to list. */
	CHECK_RC(skp_ctap_creds_encode(NULL, 0, SKP_CTAP_CM_ENUM_RPS, 0, &p,
	    &n), SKP_OK);
	CHECK(n == 1 && p[0] == 0x80);
	CHECK_RC(skp_ctap_creds_decode(p, n, SKP_CTAP_CM_ENUM_RPS, 0, &out,
	    &count), SKP_OK);
	CHECK(count == 0);
	skp_ctap_creds_free(&out, count);
	free(p);
}

static int
creds_tree(uint8_t sub, void (*change)(cbor_item_t *))
{
	struct skp_ctap_cred in[2], *out = NULL;
	cbor_item_t *t = NULL;
	uint8_t *p = NULL;
	size_t n = 0, count = 0;
	int rc;

	fill_creds(in, 2);
	if (skp_ctap_creds_encode(in, 2, sub, 1, &p, &n) != SKP_OK ||
	    skp_cbor_load(p, n, CAP, &t) != SKP_OK)
		abort();
	free(p);
	p = NULL;
	change(t);
	if (skp_cbor_encode(t, CAP, &p, &n) != SKP_OK)
		abort();
	rc = skp_ctap_creds_decode(p, n, sub, 1, &out, &count);
	if (rc != SKP_OK && (out != NULL || count != 0))
		rc = SKP_ERR_INTERNAL;
	skp_ctap_creds_free(&out, count);
	free(p);
	skp_cbor_free(&t);
	return rc;
}

#define E1(t)	cbor_array_handle(t)[1]

static void ch_cr_hash(cbor_item_t *t) { set(E1(t), K(4), zeros(32)); }
static void ch_cr_no_hash(cbor_item_t *t) { del(E1(t), K(4)); }
static void ch_cr_no_rp(cbor_item_t *t) { del(E1(t), K(3)); }
static void ch_cc_no_rp(cbor_item_t *t) { del(E1(t), K(3)); }
static void ch_cc_no_user(cbor_item_t *t) { del(E1(t), K(6)); }
static void ch_cc_no_cred(cbor_item_t *t) { del(E1(t), K(7)); }
static void ch_cc_no_key(cbor_item_t *t) { del(E1(t), K(8)); }
static void ch_cc_bad_key(cbor_item_t *t)
{ set(at(E1(t), K(8)), K(3), skp_cbor_int(-8)); }
static void ch_cc_off_curve(cbor_item_t *t)
{ set(at(E1(t), K(8)), K(-3), zeros(32)); }
static void ch_cc_protect_4(cbor_item_t *t)
{ set(E1(t), K(10), skp_cbor_uint(4)); }
static void ch_cc_user_name(cbor_item_t *t)
{ set(at(E1(t), K(6)), S("name"), S("a\rb")); }
static void ch_cc_not_map(cbor_item_t *t)
{
	cbor_decref(&cbor_array_handle(t)[1]);
	cbor_array_handle(t)[1] = skp_cbor_uint(1);
}
static void ch_cc_many(cbor_item_t *t)
{
	struct _cbor_array_metadata *md = &t->metadata.array_metadata;
	cbor_item_t **pp;
	size_t i;

	pp = realloc(t->data, (SKP_CTAP_CREDS_MAX + 1) * sizeof(*pp));
	if (pp == NULL)
		abort();
	t->data = (unsigned char *)pp;
	md->allocated = SKP_CTAP_CREDS_MAX + 1;
	for (i = md->end_ptr; i <= SKP_CTAP_CREDS_MAX; i++)
		pp[i] = cbor_incref(pp[0]);
	md->end_ptr = SKP_CTAP_CREDS_MAX + 1;
}

static void
creds_refuses_rp_hash_mismatch(void)
{
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_RPS, ch_cr_hash), SKP_ERR_FORMAT);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_RPS, ch_cr_no_hash),
	    SKP_ERR_FORMAT);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_RPS, ch_cr_no_rp),
	    SKP_ERR_FORMAT);
}

static void
creds_refuses_missing_fields(void)
{
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_no_rp),
	    SKP_ERR_FORMAT);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_no_user),
	    SKP_ERR_FORMAT);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_no_cred),
	    SKP_ERR_FORMAT);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_no_key),
	    SKP_ERR_FORMAT);
}

static void
creds_refuses_bad_public_key(void)
{
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_bad_key),
	    SKP_ERR_UNSUPPORTED);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_off_curve),
	    SKP_ERR_CRYPTO);
}

static void
creds_refuses_values(void)
{
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_protect_4),
	    SKP_ERR_FORMAT);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_user_name),
	    SKP_ERR_FORMAT);
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_not_map),
	    SKP_ERR_CBOR_TYPE);
}

static void
creds_refuses_too_many(void)
{
	CHECK_RC(creds_tree(SKP_CTAP_CM_ENUM_CREDS, ch_cc_many),
	    SKP_ERR_TOO_LARGE);
}

static void
creds_refuses_not_array(void)
{
	struct skp_ctap_cred *out = NULL;
	size_t count = 0;

	CHECK_RC(skp_ctap_creds_decode((const uint8_t *)"\xa0", 1,
	    SKP_CTAP_CM_ENUM_CREDS, 0, &out, &count), SKP_ERR_CBOR_TYPE);
	CHECK_RC(skp_ctap_creds_decode((const uint8_t *)"\x80", 1, 3, 0,
	    &out, &count), SKP_ERR_INVALID);
	CHECK(out == NULL);
}

/* Status codes */

static void
status_mapping(void)
{
	static const struct {
		uint8_t	st;
		int	err;
	} t[] = {
		{ SKP_CTAP_OK, SKP_OK },
		{ SKP_CTAP_INVALID_COMMAND, SKP_ERR_UNSUPPORTED },
		{ SKP_CTAP_INVALID_PARAMETER, SKP_ERR_INVALID },
		{ SKP_CTAP_INVALID_CBOR, SKP_ERR_FORMAT },
		{ SKP_CTAP_MISSING_PARAMETER, SKP_ERR_FORMAT },
		{ SKP_CTAP_CREDENTIAL_EXCLUDED, SKP_ERR_EXISTS },
		{ SKP_CTAP_UNSUPPORTED_ALGORITHM, SKP_ERR_UNSUPPORTED },
		{ SKP_CTAP_OPERATION_DENIED, SKP_ERR_REJECTED },
		{ SKP_CTAP_UNSUPPORTED_OPTION, SKP_ERR_UNSUPPORTED },
		{ SKP_CTAP_NO_CREDENTIALS, SKP_ERR_NOT_FOUND },
		{ SKP_CTAP_USER_ACTION_TIMEOUT, SKP_ERR_TIMEOUT },
		{ SKP_CTAP_PIN_INVALID, SKP_ERR_PIN_INVALID },
		{ SKP_CTAP_PIN_REQUIRED, SKP_ERR_PIN_REQUIRED },
		{ SKP_CTAP_STALE, SKP_ERR_EXPIRED },
		{ SKP_CTAP_REPLAYED, SKP_ERR_REPLAY },
		{ SKP_CTAP_RAW_MISMATCH, SKP_ERR_INVALID },
		{ SKP_CTAP_HOSTKEY_CHANGED, SKP_ERR_HOSTKEY },
		{ SKP_CTAP_NOT_PAIRED, SKP_ERR_NOT_PAIRED },
		{ SKP_CTAP_UV_UNAVAILABLE, SKP_ERR_UV_UNAVAILABLE },
		{ SKP_CTAP_BAD_VERSION, SKP_ERR_VERSION },
		{ SKP_CTAP_HOST_UNVERIFIED, SKP_ERR_HOST_UNVERIFIED },
		{ 0xe5, SKP_ERR_INVALID },
	};
	size_t i;

	for (i = 0; i < nitems(t); i++) {
		CHECK_RC(skp_ctap_status_err(t[i].st), t[i].err);
		CHECK(skp_ctap_status_str(t[i].st) != NULL);
	}
	CHECK(strcmp(skp_ctap_status_str(SKP_CTAP_HOSTKEY_CHANGED),
	    "host key changed") == 0);
	CHECK(strcmp(skp_ctap_status_str(0xe5), "unknown status") == 0);
}

/*
 * Seed corpora for the fuzz harnesses: SKP_WRITE_SEEDS=DIR test_ctap
 * writes real encodings to DIR/{ctap_request,ctap_response,authdata}/.
 */
static int
write_seed(const char *dir, const char *sub, const char *name,
    const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (n > 0 && fwrite(p, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int
seed_req(const char *dir, const char *name, struct skp_ctap_request *r)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc;

	if (skp_ctap_request_encode(r, &p, &n) != SKP_OK)
		return -1;
	rc = write_seed(dir, "ctap_request", name, p, n);
	free(p);
	return rc;
}

/* Response seeds start with the command byte the harness decodes as. */
static int
seed_resp(const char *dir, const char *name, uint8_t kind,
    const uint8_t *ctap, size_t ctap_len, uint8_t status)
{
	uint8_t *p = NULL, *q;
	size_t n = 0;
	int rc;

	if (skp_ctap_response_encode(status, ctap, ctap_len,
	    status ? "rejected on the phone" : NULL, &p, &n) != SKP_OK)
		return -1;
	if ((q = malloc(n + 1)) == NULL) {
		free(p);
		return -1;
	}
	q[0] = kind;
	memcpy(q + 1, p, n);
	rc = write_seed(dir, "ctap_response", name, q, n + 1);
	free(p);
	free(q);
	return rc;
}

static int
write_seeds(const char *dir)
{
	static struct skp_ctap_request r;
	struct skp_ctap_mc_resp mr;
	struct skp_ctap_ga_resp gr;
	struct skp_ctap_info info;
	struct skp_ctap_cred creds[3];
	struct skp_authdata ad;
	struct skp_p256_key k;
	uint8_t *p = NULL, a[SKP_AUTHDATA_MAX + 1], cdh[32];
	size_t n = 0, an;
	int bad = 0;

	req_mc(&r);
	bad |= seed_req(dir, "mc", &r);
	req_mc_full(&r);
	bad |= seed_req(dir, "mc-full-host-pin", &r);
	req_mc(&r);
	r.mc.rk = r.mc.uv = SKP_CTAP_OPT_ABSENT;
	r.mc.cred_protect = 0;
	r.mc.user_name[0] = r.mc.user_display_name[0] = '\0';
	bad |= seed_req(dir, "mc-minimal", &r);
	req_ga(&r);
	bad |= seed_req(dir, "ga", &r);
	req_ga(&r);
	r.ga.nallow = SKP_CTAP_ALLOW_MAX;
	r.ga.allow[3].id_len = SKP_CTAP_CRED_ID_MAX;
	r.ga.allow[1].id_len = r.ga.allow[2].id_len = SKP_CTAP_CRED_ID_MIN;
	r.ga.uv = 1;
	r.ctx.raw_len = SKP_CTAP_RAW_MAX;
	bad |= seed_req(dir, "ga-max-allow-raw", &r);
	req_ga(&r);
	fill_host(&r.ctx.host);
	r.ctx.has_host = 1;
	r.ctx.host.host_key_len = SKP_CTAP_HOST_BLOB_MAX;
	bad |= seed_req(dir, "ga-host", &r);
	req_info(&r);
	bad |= seed_req(dir, "info", &r);
	req_cm(&r, SKP_CTAP_CM_ENUM_RPS, 0);
	bad |= seed_req(dir, "cm-rps", &r);
	req_cm(&r, SKP_CTAP_CM_ENUM_CREDS, 1);
	bad |= seed_req(dir, "cm-creds-rp", &r);
	req_cm(&r, SKP_CTAP_CM_ENUM_CREDS, 0);
	bad |= seed_req(dir, "cm-creds-all", &r);

	/* Real authData and signatures, as the phone makes them. */
	if (skp_p256_generate(&k) != SKP_OK)
		return -1;
	memset(&ad, 0, sizeof(ad));
	if (skp_sha256("ssh:", 4, ad.rp_id_hash) != SKP_OK)
		return -1;
	memset(cdh, 0x11, sizeof(cdh));
	ad.flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_AT;
	memcpy(ad.aaguid, skp_authdata_aaguid, 16);
	memset(ad.cred_id, 0x42, 32);
	ad.cred_id_len = 32;
	memcpy(ad.pub, k.pub, sizeof(k.pub));
	if (skp_authdata_build(&ad, a, sizeof(a), &an) != SKP_OK)
		return -1;
	bad |= write_seed(dir, "authdata", "attested", a, an);
	a[an] = 0x00;
	bad |= write_seed(dir, "authdata", "refused-trailing", a, an + 1);
	bad |= write_seed(dir, "authdata", "cose-key", a + an -
	    SKP_COSE_ES256_LEN, SKP_COSE_ES256_LEN);
	memset(&mr, 0, sizeof(mr));
	memcpy(mr.authdata, a, an);
	mr.authdata_len = an;
	mr.alg = -7;
	if (skp_authdata_sign(&k, a, an, cdh, mr.sig, &mr.sig_len) != SKP_OK ||
	    skp_ctap_mc_resp_encode(&mr, &p, &n) != SKP_OK)
		return -1;
	bad |= seed_resp(dir, "mc", SKP_CTAP_MAKE_CREDENTIAL, p, n, 0);
	free(p);
	p = NULL;
	ad.cred_id_len = SKP_AUTHDATA_CRED_ID_MAX;
	ad.flags |= SKP_AUTHDATA_UV;
	if (skp_authdata_build(&ad, a, sizeof(a), &an) != SKP_OK)
		return -1;
	bad |= write_seed(dir, "authdata", "attested-max-id-uv", a, an);
	ad.cred_id_len = SKP_AUTHDATA_CRED_ID_MIN;
	if (skp_authdata_build(&ad, a, sizeof(a), &an) != SKP_OK)
		return -1;
	bad |= write_seed(dir, "authdata", "attested-min-id", a, an);
	ad.flags = SKP_AUTHDATA_UP;
	ad.sign_count = 7;
	if (skp_authdata_build(&ad, a, sizeof(a), &an) != SKP_OK)
		return -1;
	bad |= write_seed(dir, "authdata", "assertion-up", a, an);
	memset(&gr, 0, sizeof(gr));
	memcpy(gr.authdata, a, an);
	gr.authdata_len = an;
	memset(gr.cred.id, 0x42, 32);
	gr.cred.id_len = 32;
	if (skp_authdata_sign(&k, a, an, cdh, gr.sig, &gr.sig_len) != SKP_OK ||
	    skp_ctap_ga_resp_encode(&gr, &p, &n) != SKP_OK)
		return -1;
	bad |= seed_resp(dir, "ga", SKP_CTAP_GET_ASSERTION, p, n, 0);
	free(p);
	p = NULL;
	gr.has_user = 1;
	memset(gr.user_id, 0, 32);
	gr.user_id_len = 32;
	if (skp_ctap_ga_resp_encode(&gr, &p, &n) != SKP_OK)
		return -1;
	bad |= seed_resp(dir, "ga-user", SKP_CTAP_GET_ASSERTION, p, n, 0);
	free(p);
	p = NULL;
	ad.flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_UV;
	ad.sign_count = 0xffffffff;
	if (skp_authdata_build(&ad, a, sizeof(a), &an) != SKP_OK)
		return -1;
	bad |= write_seed(dir, "authdata", "assertion-up-uv", a, an);
	ad.flags = 0;
	ad.sign_count = 0;
	if (skp_authdata_build(&ad, a, sizeof(a), &an) != SKP_OK)
		return -1;
	bad |= write_seed(dir, "authdata", "assertion-no-flags", a, an);
	/* Refused ones too, so the fuzzer starts next to the edges. */
	a[32] = SKP_AUTHDATA_UP | SKP_AUTHDATA_ED;
	a[37] = 0xa0;
	bad |= write_seed(dir, "authdata", "refused-ed", a, 38);
	skp_wipe(&k, sizeof(k));

	fill_info(&info);
	if (skp_ctap_info_encode(&info, &p, &n) != SKP_OK)
		return -1;
	bad |= seed_resp(dir, "info", SKP_CTAP_GET_INFO, p, n, 0);
	free(p);
	p = NULL;
	fill_creds(creds, 3);
	if (skp_ctap_creds_encode(creds, 3, SKP_CTAP_CM_ENUM_CREDS, 1, &p,
	    &n) != SKP_OK)
		return -1;
	bad |= seed_resp(dir, "cm-creds-all", SKP_CTAP_CRED_MGMT, p, n, 0);
	free(p);
	p = NULL;
	if (skp_ctap_creds_encode(creds, 3, SKP_CTAP_CM_ENUM_CREDS, 0, &p,
	    &n) != SKP_OK)
		return -1;
	/* 0x8A: the harness reads bit 7 as "not all RPs". */
	bad |= seed_resp(dir, "cm-creds-rp", 0x80 | SKP_CTAP_CRED_MGMT, p, n,
	    0);
	free(p);
	p = NULL;
	if (skp_ctap_creds_encode(creds, 3, SKP_CTAP_CM_ENUM_RPS, 0, &p,
	    &n) != SKP_OK)
		return -1;
	bad |= seed_resp(dir, "cm-rps", 0x40 | SKP_CTAP_CRED_MGMT, p, n, 0);
	free(p);
	p = NULL;
	bad |= seed_resp(dir, "denied", SKP_CTAP_GET_ASSERTION, NULL, 0,
	    SKP_CTAP_OPERATION_DENIED);
	bad |= seed_resp(dir, "stale", SKP_CTAP_MAKE_CREDENTIAL, NULL, 0,
	    SKP_CTAP_STALE);
	return bad ? -1 : 0;
}

static const struct skp_test_case cases[] = {
	{ "request_mc_roundtrip", request_mc_roundtrip },
	{ "request_ga_roundtrip", request_ga_roundtrip },
	{ "request_cm_roundtrip", request_cm_roundtrip },
	{ "request_info_golden", request_info_golden },
	{ "request_forget_golden", request_forget_golden },
	{ "request_origin_golden", request_origin_golden },
	{ "request_check_raw", request_check_raw },
	{ "request_clear_wipes_pin", request_clear_wipes_pin },
	{ "request_encode_refuses", request_encode_refuses },
	{ "env_refuses_trailing", env_refuses_trailing },
	{ "env_refuses_unsorted", env_refuses_unsorted },
	{ "env_refuses_duplicate", env_refuses_duplicate },
	{ "env_refuses_non_minimal", env_refuses_non_minimal },
	{ "env_refuses_indefinite", env_refuses_indefinite },
	{ "env_refuses_not_a_map", env_refuses_not_a_map },
	{ "env_refuses_oversize", env_refuses_oversize },
#define C_(n)	{ #n, n },
	C_(env_refuses_version_3)
	C_(env_refuses_version_1)
	C_(env_refuses_version_0)
	C_(env_refuses_missing_version)
	C_(env_refuses_version_type)
	C_(env_refuses_unknown_key)
	C_(env_refuses_text_key)
	C_(env_refuses_short_id)
	C_(env_refuses_long_id)
	C_(env_refuses_missing_id)
	C_(env_refuses_id_type)
	C_(env_refuses_missing_time)
	C_(env_refuses_negative_time)
	C_(env_refuses_missing_command)
	C_(env_refuses_unknown_command)
	C_(env_refuses_reset_command)
	C_(env_refuses_missing_params)
	C_(env_refuses_params_type)
	C_(env_refuses_info_with_params)
	C_(env_refuses_missing_context)
	C_(env_refuses_context_type)
	C_(mc_refuses_missing_cdh)
	C_(mc_refuses_short_cdh)
	C_(mc_refuses_long_cdh)
	C_(mc_refuses_missing_rp)
	C_(mc_refuses_rp_type)
	C_(mc_refuses_missing_rp_id)
	C_(mc_refuses_empty_rp_id)
	C_(mc_refuses_long_rp_id)
	C_(mc_refuses_rp_id_control)
	C_(mc_refuses_rp_id_nul)
	C_(mc_refuses_long_rp_name)
	C_(mc_refuses_missing_user)
	C_(mc_refuses_missing_user_id)
	C_(mc_refuses_empty_user_id)
	C_(mc_refuses_long_user_id)
	C_(mc_refuses_user_id_type)
	C_(mc_refuses_long_user_name)
	C_(mc_refuses_user_name_newline)
	C_(mc_refuses_long_display_name)
	C_(mc_refuses_missing_algs)
	C_(mc_refuses_no_known_alg)
	C_(mc_refuses_empty_algs)
	C_(mc_refuses_es256_other_type)
	C_(mc_refuses_alg_type)
	C_(mc_refuses_alg_entry_type)
	C_(mc_refuses_too_many_algs)
	C_(mc_refuses_cred_protect_4)
	C_(mc_refuses_cred_protect_0)
	C_(mc_refuses_cred_protect_type)
	C_(mc_refuses_extensions_type)
	C_(mc_refuses_option_type)
	C_(mc_refuses_options_type)
	C_(mc_refuses_missing_raw)
	C_(ga_refuses_missing_rp_id)
	C_(ga_refuses_rp_id_type)
	C_(ga_refuses_missing_cdh)
	C_(ga_refuses_empty_allow_list)
	C_(ga_refuses_too_many_allowed)
	C_(ga_refuses_short_cred_id)
	C_(ga_refuses_long_cred_id)
	C_(ga_refuses_cred_type)
	C_(ga_refuses_missing_cred_type)
	C_(ga_refuses_option_type)
	C_(ga_refuses_missing_raw)
	C_(cm_refuses_missing_subcommand)
	C_(cm_refuses_unknown_subcommand)
	C_(cm_refuses_delete_subcommand)
	C_(cm_refuses_rps_with_params)
	C_(cm_refuses_short_rp_hash)
	C_(cm_refuses_params_without_hash)
	C_(cm_refuses_unknown_param)
	C_(ctx_refuses_unknown_key)
	C_(ctx_refuses_origin_text)
	C_(ctx_refuses_origin_negative)
	C_(ctx_refuses_origin_bool)
	C_(ctx_refuses_origin_bytes)
	C_(ctx_takes_any_origin)
	C_(ctx_refuses_long_raw)
	C_(ctx_refuses_raw_type)
	C_(ctx_refuses_missing_computer_name)
	C_(ctx_refuses_empty_computer_name)
	C_(ctx_refuses_long_computer_name)
	C_(ctx_refuses_computer_name_escape)
	C_(ctx_refuses_pin)
	C_(ctx_refuses_long_pin)
	C_(ctx_refuses_empty_pin)
	C_(ctx_refuses_pin_type)
	C_(ctx_refuses_overwrite_type)
	C_(ctx_refuses_host_type)
	C_(host_refuses_missing_name)
	C_(host_refuses_long_name)
	C_(host_refuses_missing_port)
	C_(host_refuses_port_0)
	C_(host_refuses_port_65536)
	C_(host_refuses_missing_host_key)
	C_(host_refuses_long_host_key)
	C_(host_refuses_empty_host_key)
	C_(host_refuses_missing_signature)
	C_(host_refuses_long_signature)
	C_(host_refuses_missing_kex)
	C_(host_refuses_long_kex)
	C_(host_refuses_unknown_key)
	C_(env_refuses_padding_nonzero)
	C_(env_refuses_padding_type)
	C_(response_roundtrip)
	C_(response_golden)
	C_(response_move)
	C_(response_phone_time)
	C_(response_pin_may_follow)
	C_(response_padding)
	C_(padding_buckets)
	C_(pin_message)
	C_(response_refuses_ok_without_body)
	C_(response_refuses_error_with_body)
	C_(response_refuses_reason_with_ok)
	C_(response_refuses_body_type)
	C_(response_refuses_status_range)
	C_(response_refuses_long_reason)
	C_(response_refuses_reason_control)
	C_(response_refuses_unknown_key)
	C_(response_refuses_trailing)
	C_(response_refuses_unsorted)
	C_(response_encode_refuses)
	C_(mc_resp_roundtrip)
	C_(mc_resp_refuses_fmt)
	C_(mc_resp_refuses_alg)
	C_(mc_resp_refuses_x5c)
	C_(mc_resp_refuses_authdata_size)
	C_(mc_resp_refuses_sig)
	C_(ga_resp_roundtrip)
	C_(ga_resp_refuses_credential)
	C_(ga_resp_refuses_signature)
	C_(ga_resp_refuses_user)
	C_(info_roundtrip)
	C_(info_algorithms)
	C_(info_refuses_algorithms)
	C_(mc_alg_eddsa_encoded)
	C_(mc_picks_first_known_alg)
	C_(info_refuses_versions)
	C_(info_refuses_aaguid)
	C_(info_refuses_options)
	C_(creds_roundtrip)
	C_(creds_ed25519)
	C_(creds_refuses_rp_hash_mismatch)
	C_(creds_refuses_missing_fields)
	C_(creds_refuses_bad_public_key)
	C_(creds_refuses_values)
	C_(creds_refuses_too_many)
	C_(creds_refuses_not_array)
	C_(status_mapping)
#undef C_
};

int
main(int argc, char **argv)
{
	const char *dir;

	if ((dir = getenv("SKP_WRITE_SEEDS")) != NULL)
		return write_seeds(dir) == 0 ? 0 : 1;
	return skp_test_run(cases, nitems(cases), argc, argv);
}
