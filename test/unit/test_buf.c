/* Unit tests for the bounds-checked reader and the capped writer. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/err.h"
#include "harness.h"

static void
reader_integers_big_endian(void)
{
	static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	skp_reader_t r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	skp_reader_init(&r, in, sizeof(in));
	CHECK_RC(skp_reader_u8(&r, &u8), SKP_OK);
	CHECK(u8 == 0x01);
	CHECK_RC(skp_reader_u16(&r, &u16), SKP_OK);
	CHECK(u16 == 0x0203);
	CHECK_RC(skp_reader_u32(&r, &u32), SKP_OK);
	CHECK(u32 == 0x04050607);
	CHECK_RC(skp_reader_u64(&r, &u64), SKP_OK);
	CHECK(u64 == 0x08090a0b0c0d0e0fULL);
	CHECK_RC(skp_reader_end(&r), SKP_OK);
}

static void
reader_refuses_short_input_without_moving(void)
{
	static const uint8_t in[] = { 0xaa, 0xbb, 0xcc };
	skp_reader_t r;
	uint32_t u32 = 7;
	uint8_t out[4] = { 0 };

	skp_reader_init(&r, in, sizeof(in));
	CHECK_RC(skp_reader_u32(&r, &u32), SKP_ERR_TRUNCATED);
	CHECK(u32 == 7);
	CHECK(skp_reader_left(&r) == 3);
	CHECK_RC(skp_reader_copy(&r, out, 4), SKP_ERR_TRUNCATED);
	CHECK(out[0] == 0);
	CHECK_RC(skp_reader_copy(&r, out, 3), SKP_OK);
	CHECK(out[2] == 0xcc);
	CHECK_RC(skp_reader_u8(&r, out), SKP_ERR_TRUNCATED);
}

static void
reader_trailing_bytes(void)
{
	static const uint8_t in[] = { 1, 2 };
	skp_reader_t r;
	uint8_t v;

	skp_reader_init(&r, in, sizeof(in));
	CHECK_RC(skp_reader_u8(&r, &v), SKP_OK);
	CHECK_RC(skp_reader_end(&r), SKP_ERR_TRAILING);
}

static void
reader_string_caps(void)
{
	static const uint8_t in[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 9,
	    'x' };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'x' };
	const uint8_t *p;
	size_t n;
	skp_reader_t r;

	skp_reader_init(&r, in, sizeof(in));
	CHECK_RC(skp_reader_string(&r, &p, &n, 2), SKP_ERR_TOO_LARGE);
	CHECK(skp_reader_left(&r) == sizeof(in));
	CHECK_RC(skp_reader_string(&r, &p, &n, 16), SKP_OK);
	CHECK(n == 3 && memcmp(p, "abc", 3) == 0);
	CHECK_RC(skp_reader_string(&r, &p, &n, 16), SKP_ERR_TRUNCATED);
	CHECK(skp_reader_left(&r) == 5);

	skp_reader_init(&r, huge, sizeof(huge));
	CHECK_RC(skp_reader_string(&r, &p, &n, SIZE_MAX), SKP_ERR_TRUNCATED);
}

static void
reader_null_input(void)
{
	skp_reader_t r;
	uint8_t v;

	skp_reader_init(&r, NULL, 10);
	CHECK(skp_reader_left(&r) == 0);
	CHECK_RC(skp_reader_u8(&r, &v), SKP_ERR_TRUNCATED);
}

static void
writer_cap_enforced(void)
{
	skp_buf_t *b;
	uint8_t big[100];

	memset(big, 0x5a, sizeof(big));
	REQUIRE((b = skp_buf_new(10)) != NULL);
	CHECK_RC(skp_buf_put(b, big, 8), SKP_OK);
	CHECK_RC(skp_buf_u32(b, 1), SKP_ERR_TOO_LARGE);
	CHECK(skp_buf_len(b) == 8);
	CHECK_RC(skp_buf_u16(b, 0x0102), SKP_OK);
	CHECK(skp_buf_len(b) == 10);
	CHECK_RC(skp_buf_u8(b, 1), SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_buf_put(b, big, SIZE_MAX), SKP_ERR_TOO_LARGE);
	skp_buf_free(&b);
	CHECK(b == NULL);
	skp_buf_free(&b);
	skp_buf_free(NULL);
	CHECK(skp_buf_new(0) == NULL);
}

static void
writer_roundtrip_and_steal(void)
{
	skp_buf_t *b;
	skp_reader_t r;
	uint8_t *out = NULL;
	size_t outlen = 0, i;
	const uint8_t *p;
	size_t n;
	uint64_t v;

	REQUIRE((b = skp_buf_new(1 << 20)) != NULL);
	for (i = 0; i < 1000; i++)
		CHECK_RC(skp_buf_u64(b, i), SKP_OK);
	CHECK_RC(skp_buf_string(b, "hello", 5), SKP_OK);
	skp_reader_init(&r, skp_buf_ptr(b), skp_buf_len(b));
	for (i = 0; i < 1000; i++) {
		CHECK_RC(skp_reader_u64(&r, &v), SKP_OK);
		CHECK(v == i);
	}
	CHECK_RC(skp_reader_string(&r, &p, &n, 5), SKP_OK);
	CHECK(n == 5 && memcmp(p, "hello", 5) == 0);
	CHECK_RC(skp_reader_end(&r), SKP_OK);
	CHECK_RC(skp_buf_steal(b, &out, &outlen), SKP_OK);
	CHECK(outlen == 8009);
	CHECK(skp_buf_len(b) == 0);
	free(out);
	skp_buf_free(&b);
}

static void
writer_string_rolls_back(void)
{
	skp_buf_t *b;

	REQUIRE((b = skp_buf_new(8)) != NULL);
	CHECK_RC(skp_buf_string(b, "abcdef", 6), SKP_ERR_TOO_LARGE);
	CHECK(skp_buf_len(b) == 0);
	skp_buf_free(&b);
}

static const struct skp_test_case cases[] = {
	{ "reader_integers_big_endian", reader_integers_big_endian },
	{ "reader_refuses_short_input_without_moving",
	    reader_refuses_short_input_without_moving },
	{ "reader_trailing_bytes", reader_trailing_bytes },
	{ "reader_string_caps", reader_string_caps },
	{ "reader_null_input", reader_null_input },
	{ "writer_cap_enforced", writer_cap_enforced },
	{ "writer_roundtrip_and_steal", writer_roundtrip_and_steal },
	{ "writer_string_rolls_back", writer_string_rolls_back },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
