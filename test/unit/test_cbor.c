/* Unit tests for strict CBOR: each refusal, the builders, the getters. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "harness.h"

#define CAP	4096

/* Load hex and expect rc; on success the tree is freed again. */
static int
load_hex(const char *hex)
{
	cbor_item_t *it = NULL;
	uint8_t *p;
	size_t n;
	int rc;

	p = skp_test_unhex(hex, &n);
	rc = skp_cbor_load(p, n, CAP, &it);
	if (rc == SKP_OK && it == NULL)
		rc = SKP_ERR_INTERNAL;
	if (rc != SKP_OK && it != NULL)
		rc = SKP_ERR_INTERNAL;
	skp_cbor_free(&it);
	free(p);
	return rc;
}

static void
accepts_canonical(void)
{
	CHECK_RC(load_hex("00"), SKP_OK);
	CHECK_RC(load_hex("17"), SKP_OK);
	CHECK_RC(load_hex("1818"), SKP_OK);
	CHECK_RC(load_hex("190100"), SKP_OK);
	CHECK_RC(load_hex("1a00010000"), SKP_OK);
	CHECK_RC(load_hex("1b0000000100000000"), SKP_OK);
	CHECK_RC(load_hex("20"), SKP_OK);
	CHECK_RC(load_hex("3bffffffffffffffff"), SKP_OK);
	CHECK_RC(load_hex("40"), SKP_OK);
	CHECK_RC(load_hex("60"), SKP_OK);
	CHECK_RC(load_hex("6449455446"), SKP_OK);
	CHECK_RC(load_hex("62c3a9"), SKP_OK);	/* "é" */
	CHECK_RC(load_hex("f4"), SKP_OK);
	CHECK_RC(load_hex("f5"), SKP_OK);
	CHECK_RC(load_hex("a0"), SKP_OK);
	CHECK_RC(load_hex("80"), SKP_OK);
	/* COSE key order: 1, 3, -1, -2, -3. */
	CHECK_RC(load_hex("a5010203262001215820"
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "225820"
	    "0000000000000000000000000000000000000000000000000000000000000000"),
	    SKP_OK);
	/* Integers, then text by length, then bytes. */
	CHECK_RC(load_hex("a501001818002900617a0062616100"), SKP_OK);
}

static void
refuses_empty_and_truncated(void)
{
	cbor_item_t *it = NULL;

	CHECK_RC(skp_cbor_load(NULL, 0, CAP, &it), SKP_ERR_TRUNCATED);
	CHECK_RC(load_hex("18"), SKP_ERR_TRUNCATED);
	CHECK_RC(load_hex("4301"), SKP_ERR_TRUNCATED);
	CHECK_RC(load_hex("8201"), SKP_ERR_TRUNCATED);
	CHECK_RC(load_hex("a101"), SKP_ERR_TRUNCATED);
	/* A count far past the input never reaches libcbor's allocator. */
	CHECK_RC(load_hex("9b00000000ffffffff00"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("9b000000010000000000"), SKP_ERR_TRUNCATED);
	CHECK_RC(load_hex("bb000000010000000000"), SKP_ERR_TRUNCATED);
	CHECK_RC(load_hex("5b000000010000000000"), SKP_ERR_TRUNCATED);
	CHECK(it == NULL);
}

static void
refuses_trailing(void)
{
	CHECK_RC(load_hex("0000"), SKP_ERR_TRAILING);
	CHECK_RC(load_hex("a0ff"), SKP_ERR_TRAILING);
	CHECK_RC(load_hex("a10102a0"), SKP_ERR_TRAILING);
}

static void
refuses_non_minimal(void)
{
	CHECK_RC(load_hex("1817"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("190017"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("1900ff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("1a0000ffff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("1b00000000ffffffff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("3800"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("580100"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("780161"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("9800"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("b800"), SKP_ERR_FORMAT);
}

static void
refuses_indefinite(void)
{
	CHECK_RC(load_hex("5f4101ff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("7f6161ff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("9f01ff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("bf0102ff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("ff"), SKP_ERR_FORMAT);
	/* Reserved additional information 28..30. */
	CHECK_RC(load_hex("1c"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("5d"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("fe"), SKP_ERR_FORMAT);
}

static void
refuses_bad_utf8(void)
{
	CHECK_RC(load_hex("61ff"), SKP_ERR_FORMAT);
	CHECK_RC(load_hex("62c0af"), SKP_ERR_FORMAT);	/* overlong '/' */
	CHECK_RC(load_hex("63eda080"), SKP_ERR_FORMAT);	/* surrogate */
	CHECK_RC(load_hex("64f4908080"), SKP_ERR_FORMAT); /* > U+10FFFF */
	CHECK_RC(load_hex("61c3"), SKP_ERR_FORMAT);	/* cut sequence */
}

static void
refuses_types(void)
{
	CHECK_RC(load_hex("f97e00"), SKP_ERR_CBOR_TYPE);	/* half NaN */
	CHECK_RC(load_hex("fa3f800000"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(load_hex("fb3ff0000000000000"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(load_hex("c11a514b67b0"), SKP_ERR_CBOR_TYPE);	/* tag 1 */
	CHECK_RC(load_hex("d818420102"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(load_hex("f6"), SKP_ERR_CBOR_TYPE);	/* null */
	CHECK_RC(load_hex("f7"), SKP_ERR_CBOR_TYPE);	/* undefined */
	CHECK_RC(load_hex("f0"), SKP_ERR_CBOR_TYPE);	/* simple(16) */
	CHECK_RC(load_hex("f820"), SKP_ERR_CBOR_TYPE);	/* simple(32) */
	CHECK_RC(load_hex("8101f6"), SKP_ERR_TRAILING);
	CHECK_RC(load_hex("8201f6"), SKP_ERR_CBOR_TYPE);
	/* Map keys: byte strings, arrays, maps, bools are not keys. */
	CHECK_RC(load_hex("a1410001"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(load_hex("a1800001"), SKP_ERR_CBOR_TYPE);
	CHECK_RC(load_hex("a1f501"), SKP_ERR_CBOR_TYPE);
}

static void
refuses_unsorted_keys(void)
{
	CHECK_RC(load_hex("a202010100"), SKP_ERR_CBOR_ORDER);
	/* negative before unsigned */
	CHECK_RC(load_hex("a220000100"), SKP_ERR_CBOR_ORDER);
	/* -2 before -1 */
	CHECK_RC(load_hex("a221002000"), SKP_ERR_CBOR_ORDER);
	/* text before integer */
	CHECK_RC(load_hex("a26161000100"), SKP_ERR_CBOR_ORDER);
	/* longer text first */
	CHECK_RC(load_hex("a262616100616200"), SKP_ERR_CBOR_ORDER);
	/* same length, bytes out of order */
	CHECK_RC(load_hex("a2616200616100"), SKP_ERR_CBOR_ORDER);
	/* 24 (two bytes) before 23 (one byte) */
	CHECK_RC(load_hex("a21818001700"), SKP_ERR_CBOR_ORDER);
	/* unsorted deep inside */
	CHECK_RC(load_hex("a101a202000100"), SKP_ERR_CBOR_ORDER);
}

static void
refuses_duplicate_keys(void)
{
	CHECK_RC(load_hex("a201000100"), SKP_ERR_CBOR_ORDER);
	CHECK_RC(load_hex("a220002000"), SKP_ERR_CBOR_ORDER);
	CHECK_RC(load_hex("a2616100616101"), SKP_ERR_CBOR_ORDER);
}

static void
refuses_oversize(void)
{
	cbor_item_t *it = NULL;
	uint8_t buf[64];

	memset(buf, 0, sizeof(buf));
	buf[0] = 0x58;
	buf[1] = 60;
	CHECK_RC(skp_cbor_load(buf, 62, 62, &it), SKP_OK);
	skp_cbor_free(&it);
	CHECK_RC(skp_cbor_load(buf, 62, 61, &it), SKP_ERR_TOO_LARGE);
	CHECK(it == NULL);
}

static void
refuses_deep_nesting(void)
{
	uint8_t buf[SKP_CBOR_MAX_DEPTH + 1];
	cbor_item_t *it = NULL;
	size_t i;

	/* [[[...[0]...]]]: MAX_DEPTH levels load, one more does not. */
	for (i = 0; i < SKP_CBOR_MAX_DEPTH - 1; i++)
		buf[i] = 0x81;
	buf[SKP_CBOR_MAX_DEPTH - 1] = 0x00;
	CHECK_RC(skp_cbor_load(buf, SKP_CBOR_MAX_DEPTH, CAP, &it), SKP_OK);
	skp_cbor_free(&it);
	for (i = 0; i < SKP_CBOR_MAX_DEPTH; i++)
		buf[i] = 0x81;
	buf[SKP_CBOR_MAX_DEPTH] = 0x00;
	CHECK_RC(skp_cbor_load(buf, sizeof(buf), CAP, &it),
	    SKP_ERR_TOO_LARGE);
	CHECK(it == NULL);
}

static void
refuses_too_many_items(void)
{
	size_t n = SKP_CBOR_MAX_ITEMS + 8, i;
	cbor_item_t *it = NULL;
	uint8_t *p;

	REQUIRE((p = malloc(n)) != NULL);
	/* An array of SKP_CBOR_MAX_ITEMS zeros: one item too many. */
	p[0] = 0x99;
	p[1] = (uint8_t)(SKP_CBOR_MAX_ITEMS >> 8);
	p[2] = (uint8_t)(SKP_CBOR_MAX_ITEMS & 0xff);
	for (i = 3; i < n; i++)
		p[i] = 0;
	CHECK_RC(skp_cbor_load(p, 3 + SKP_CBOR_MAX_ITEMS, n, &it),
	    SKP_ERR_TOO_LARGE);
	/* One fewer element fits exactly. */
	p[1] = (uint8_t)((SKP_CBOR_MAX_ITEMS - 1) >> 8);
	p[2] = (uint8_t)((SKP_CBOR_MAX_ITEMS - 1) & 0xff);
	CHECK_RC(skp_cbor_load(p, 3 + SKP_CBOR_MAX_ITEMS - 1, n, &it),
	    SKP_OK);
	skp_cbor_free(&it);
	free(p);
}

static void
build_sorts_keys(void)
{
	cbor_item_t *m = NULL, *inner = NULL;
	uint8_t *out = NULL;
	size_t n = 0, wl;
	uint8_t *want = skp_test_unhex(
	    "a7"		/* 7 pairs, canonical order: */
	    "00f4"		/* 0: false */
	    "01a2010203f5"	/* 1: {1: 2, 3: true} */
	    "181840"		/* 24: h'' */
	    "2060"		/* -1: "" */
	    "3818190100"	/* -25: 256 */
	    "616101"		/* "a": 1 */
	    "62616121",		/* "aa": -2 */
	    &wl);

	REQUIRE((m = skp_cbor_map(8)) != NULL);
	REQUIRE((inner = skp_cbor_map(2)) != NULL);
	CHECK_RC(skp_cbor_map_put(inner, 3, skp_cbor_bool(1)), SKP_OK);
	CHECK_RC(skp_cbor_map_put(inner, 1, skp_cbor_uint(2)), SKP_OK);
	CHECK_RC(skp_cbor_map_put_text(m, "aa", skp_cbor_int(-2)), SKP_OK);
	CHECK_RC(skp_cbor_map_put(m, -25, skp_cbor_uint(256)), SKP_OK);
	CHECK_RC(skp_cbor_map_put_text(m, "a", skp_cbor_uint(1)), SKP_OK);
	CHECK_RC(skp_cbor_map_put(m, 24, skp_cbor_bytes(NULL, 0)), SKP_OK);
	CHECK_RC(skp_cbor_map_put(m, -1, skp_cbor_text("")), SKP_OK);
	CHECK_RC(skp_cbor_map_put(m, 1, inner), SKP_OK);
	CHECK_RC(skp_cbor_map_put(m, 0, skp_cbor_bool(0)), SKP_OK);
	CHECK_RC(skp_cbor_encode(m, CAP, &out, &n), SKP_OK);
	CHECK(n == wl);
	CHECK(out != NULL && n == wl && memcmp(out, want, wl) == 0);
	CHECK_RC(skp_cbor_check(out, n, CAP), SKP_OK);
	free(out);
	free(want);
	skp_cbor_free(&m);
	CHECK(m == NULL);
}

static void
build_minimal_ints(void)
{
	static const struct {
		int64_t		v;
		const char	*hex;
	} t[] = {
		{ 0, "00" }, { 23, "17" }, { 24, "1818" }, { 255, "18ff" },
		{ 256, "190100" }, { 65535, "19ffff" },
		{ 65536, "1a00010000" }, { 4294967296, "1b0000000100000000" },
		{ -1, "20" }, { -24, "37" }, { -25, "3818" },
		{ -257, "390100" }, { INT64_MIN, "3b7fffffffffffffff" },
	};
	cbor_item_t *it, *back = NULL;
	uint8_t *out, *want;
	size_t i, n, wl;
	int64_t v;

	for (i = 0; i < nitems(t); i++) {
		REQUIRE((it = skp_cbor_int(t[i].v)) != NULL);
		out = NULL;
		CHECK_RC(skp_cbor_encode(it, CAP, &out, &n), SKP_OK);
		want = skp_test_unhex(t[i].hex, &wl);
		CHECK(out != NULL && n == wl && memcmp(out, want, n) == 0);
		CHECK_RC(skp_cbor_load(out, n, CAP, &back), SKP_OK);
		CHECK_RC(skp_cbor_get_int(back, &v), SKP_OK);
		CHECK(v == t[i].v);
		skp_cbor_free(&back);
		skp_cbor_free(&it);
		free(out);
		free(want);
	}
}

static void
build_refuses_duplicates(void)
{
	cbor_item_t *m;
	uint8_t *out = NULL;
	size_t n = 0;

	REQUIRE((m = skp_cbor_map(2)) != NULL);
	CHECK_RC(skp_cbor_map_put(m, 1, skp_cbor_uint(1)), SKP_OK);
	CHECK_RC(skp_cbor_map_put(m, 1, skp_cbor_uint(2)), SKP_OK);
	CHECK_RC(skp_cbor_encode(m, CAP, &out, &n), SKP_ERR_INVALID);
	CHECK(out == NULL && n == 0);
	skp_cbor_free(&m);
}

static void
build_refuses_overflow(void)
{
	cbor_item_t *m, *a;
	uint8_t *out = NULL, big[100];
	size_t n = 0;

	REQUIRE((m = skp_cbor_map(1)) != NULL);
	CHECK_RC(skp_cbor_map_put(m, 1, skp_cbor_uint(1)), SKP_OK);
	/* A full definite map is a wrong count, not a reason to grow. */
	CHECK_RC(skp_cbor_map_put(m, 2, skp_cbor_uint(2)), SKP_ERR_INVALID);
	CHECK_RC(skp_cbor_map_put(m, 3, NULL), SKP_ERR_NOMEM);
	CHECK_RC(skp_cbor_map_put(NULL, 3, skp_cbor_uint(3)),
	    SKP_ERR_INVALID);
	skp_cbor_free(&m);
	REQUIRE((a = skp_cbor_array(1)) != NULL);
	CHECK_RC(skp_cbor_array_push(a, skp_cbor_uint(1)), SKP_OK);
	CHECK_RC(skp_cbor_array_push(a, skp_cbor_uint(1)), SKP_ERR_INVALID);
	skp_cbor_free(&a);
	/* Output over the caller's cap. */
	memset(big, 7, sizeof(big));
	REQUIRE((a = skp_cbor_bytes(big, sizeof(big))) != NULL);
	CHECK_RC(skp_cbor_encode(a, 101, &out, &n), SKP_ERR_TOO_LARGE);
	CHECK(out == NULL);
	CHECK_RC(skp_cbor_encode(a, 102, &out, &n), SKP_OK);
	CHECK(n == 102);
	free(out);
	skp_cbor_free(&a);
}

static void
getters(void)
{
	/* {1: 7, 2: h'0102', 3: "hi", 4: true, -1: -7, "id": "x"} */
	uint8_t *p;
	size_t n, bl;
	cbor_item_t *m = NULL, *v;
	const uint8_t *bp;
	uint8_t b[4];
	char t[8];
	uint64_t u;
	int64_t i;
	int bo;

	p = skp_test_unhex("a601070242010203626869" "04f5" "2026" "626964"
	    "6178",
	    &n);
	REQUIRE(skp_cbor_load(p, n, CAP, &m) == SKP_OK);
	CHECK_RC(skp_cbor_map_get(m, 1, CBOR_TYPE_UINT, &v), SKP_OK);
	CHECK_RC(skp_cbor_get_uint(v, &u), SKP_OK);
	CHECK(u == 7);
	CHECK_RC(skp_cbor_map_get(m, 1, CBOR_TYPE_STRING, &v),
	    SKP_ERR_CBOR_TYPE);
	CHECK(v == NULL);
	CHECK_RC(skp_cbor_map_get(m, 5, CBOR_TYPE_UINT, &v),
	    SKP_ERR_NOT_FOUND);
	CHECK_RC(skp_cbor_map_get(m, -1, CBOR_TYPE_NEGINT, &v), SKP_OK);
	CHECK_RC(skp_cbor_get_int(v, &i), SKP_OK);
	CHECK(i == -7);
	CHECK_RC(skp_cbor_get_uint(v, &u), SKP_ERR_CBOR_TYPE);
	CHECK_RC(skp_cbor_map_get(m, 2, CBOR_TYPE_BYTESTRING, &v), SKP_OK);
	CHECK_RC(skp_cbor_get_bytes(v, 2, 4, b, &bl), SKP_OK);
	CHECK(bl == 2 && b[0] == 1 && b[1] == 2);
	CHECK_RC(skp_cbor_get_bytes(v, 3, 4, b, &bl), SKP_ERR_FORMAT);
	CHECK_RC(skp_cbor_get_bytes(v, 0, 1, b, &bl), SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_cbor_get_bytes_ptr(v, 2, &bp, &bl), SKP_OK);
	CHECK(bl == 2 && bp != NULL && bp[1] == 2);
	CHECK_RC(skp_cbor_map_get(m, 3, CBOR_TYPE_STRING, &v), SKP_OK);
	CHECK_RC(skp_cbor_get_text(v, 2, t, sizeof(t)), SKP_OK);
	CHECK(strcmp(t, "hi") == 0);
	CHECK_RC(skp_cbor_get_text(v, 1, t, sizeof(t)), SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_cbor_get_text(v, 2, t, 2), SKP_ERR_INVALID);
	CHECK_RC(skp_cbor_get_bytes(v, 0, 4, b, &bl), SKP_ERR_CBOR_TYPE);
	CHECK_RC(skp_cbor_map_get(m, 4, CBOR_TYPE_FLOAT_CTRL, &v), SKP_OK);
	CHECK_RC(skp_cbor_get_bool(v, &bo), SKP_OK);
	CHECK(bo == 1);
	CHECK_RC(skp_cbor_map_get_text(m, "id", CBOR_TYPE_STRING, &v),
	    SKP_OK);
	CHECK_RC(skp_cbor_get_text(v, 4, t, sizeof(t)), SKP_OK);
	CHECK(strcmp(t, "x") == 0);
	CHECK_RC(skp_cbor_map_get_text(m, "i", CBOR_TYPE_STRING, &v),
	    SKP_ERR_NOT_FOUND);
	{
		static const int64_t all[] = { 1, 2, 3, 4, -1 };
		cbor_item_t *num = NULL;

		/* "id" is a key sk-phone did not define for this map. */
		CHECK_RC(skp_cbor_map_only(m, all, nitems(all)),
		    SKP_ERR_FORMAT);
		CHECK_RC(skp_cbor_map_get(m, 1, CBOR_TYPE_UINT, &num),
		    SKP_OK);
		CHECK_RC(skp_cbor_map_only(num, all, 1), SKP_ERR_CBOR_TYPE);
	}
	skp_cbor_free(&m);
	free(p);
}

static void
getters_refuse_nul_and_range(void)
{
	cbor_item_t *it = NULL;
	uint8_t *p;
	size_t n;
	char t[8];
	int64_t i;

	p = skp_test_unhex("6361006263", &n);	/* "a\0b" plus trailing */
	CHECK_RC(skp_cbor_load(p, n, CAP, &it), SKP_ERR_TRAILING);
	free(p);
	p = skp_test_unhex("63610062", &n);
	REQUIRE(skp_cbor_load(p, n, CAP, &it) == SKP_OK);
	CHECK_RC(skp_cbor_get_text(it, 7, t, sizeof(t)), SKP_ERR_FORMAT);
	skp_cbor_free(&it);
	free(p);
	p = skp_test_unhex("1b8000000000000000", &n);
	REQUIRE(skp_cbor_load(p, n, CAP, &it) == SKP_OK);
	CHECK_RC(skp_cbor_get_int(it, &i), SKP_ERR_TOO_LARGE);
	skp_cbor_free(&it);
	free(p);
}

static void
roundtrip_nested(void)
{
	cbor_item_t *m = NULL, *a, *back = NULL, *v;
	uint8_t *out = NULL, *out2 = NULL;
	size_t n = 0, n2 = 0;

	REQUIRE((m = skp_cbor_map(2)) != NULL);
	REQUIRE((a = skp_cbor_array(2)) != NULL);
	CHECK_RC(skp_cbor_array_push(a, skp_cbor_text("public-key")),
	    SKP_OK);
	CHECK_RC(skp_cbor_array_push(a, skp_cbor_bytes("\0\1", 2)), SKP_OK);
	CHECK_RC(skp_cbor_map_put(m, 2, a), SKP_OK);
	CHECK_RC(skp_cbor_map_put_text(m, "up", skp_cbor_bool(1)), SKP_OK);
	REQUIRE(skp_cbor_encode(m, CAP, &out, &n) == SKP_OK);
	CHECK_RC(skp_cbor_load(out, n, CAP, &back), SKP_OK);
	CHECK_RC(skp_cbor_map_get(back, 2, CBOR_TYPE_ARRAY, &v), SKP_OK);
	CHECK(v != NULL && cbor_array_size(v) == 2);
	CHECK_RC(skp_cbor_encode(back, CAP, &out2, &n2), SKP_OK);
	CHECK(n == n2 && out2 != NULL && memcmp(out, out2, n) == 0);
	skp_cbor_free(&m);
	skp_cbor_free(&back);
	free(out);
	free(out2);
}

/* {1: 2, 3: 4} and variants. */
static void
load_map_keys_and_type(void)
{
	static const uint8_t ok[] = { 0xa2, 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t extra[] = { 0xa2, 0x01, 0x02, 0x05, 0x04 };
	static const uint8_t array[] = { 0x82, 0x01, 0x02 };
	static const uint8_t unsorted[] = { 0xa2, 0x03, 0x04, 0x01, 0x02 };
	static const int64_t keys[] = { 1, 3 };
	cbor_item_t *m = NULL;

	CHECK_RC(skp_cbor_load_map(ok, sizeof(ok), 64, keys, nitems(keys),
	    &m), SKP_OK);
	CHECK(m != NULL && cbor_map_size(m) == 2);
	skp_cbor_free(&m);
	CHECK_RC(skp_cbor_load_map(extra, sizeof(extra), 64, keys,
	    nitems(keys), &m), SKP_ERR_FORMAT);
	CHECK(m == NULL);
	CHECK_RC(skp_cbor_load_map(array, sizeof(array), 64, keys,
	    nitems(keys), &m), SKP_ERR_CBOR_TYPE);
	CHECK(m == NULL);
	CHECK_RC(skp_cbor_load_map(unsorted, sizeof(unsorted), 64, keys,
	    nitems(keys), &m), SKP_ERR_CBOR_ORDER);
	CHECK(m == NULL);
	CHECK_RC(skp_cbor_load_map(ok, sizeof(ok), 4, keys, nitems(keys),
	    &m), SKP_ERR_TOO_LARGE);
	CHECK(m == NULL);
}

static const struct skp_test_case cases[] = {
	{ "load_map_keys_and_type", load_map_keys_and_type },
	{ "accepts_canonical", accepts_canonical },
	{ "refuses_empty_and_truncated", refuses_empty_and_truncated },
	{ "refuses_trailing", refuses_trailing },
	{ "refuses_non_minimal", refuses_non_minimal },
	{ "refuses_indefinite", refuses_indefinite },
	{ "refuses_bad_utf8", refuses_bad_utf8 },
	{ "refuses_types", refuses_types },
	{ "refuses_unsorted_keys", refuses_unsorted_keys },
	{ "refuses_duplicate_keys", refuses_duplicate_keys },
	{ "refuses_oversize", refuses_oversize },
	{ "refuses_deep_nesting", refuses_deep_nesting },
	{ "refuses_too_many_items", refuses_too_many_items },
	{ "build_sorts_keys", build_sorts_keys },
	{ "build_minimal_ints", build_minimal_ints },
	{ "build_refuses_duplicates", build_refuses_duplicates },
	{ "build_refuses_overflow", build_refuses_overflow },
	{ "getters", getters },
	{ "getters_refuse_nul_and_range", getters_refuse_nul_and_range },
	{ "roundtrip_nested", roundtrip_nested },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
