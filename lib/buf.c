/* Bounds-checked reader for untrusted bytes and a capped, wiping writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"

void
skp_reader_init(skp_reader_t *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p == NULL ? 0 : len;
	r->off = 0;
}

size_t
skp_reader_left(const skp_reader_t *r)
{
	return r->len - r->off;
}

int
skp_reader_ptr(skp_reader_t *r, const uint8_t **out, size_t n)
{
	if (skp_reader_left(r) < n)
		return SKP_ERR_TRUNCATED;
	if (out != NULL)
		*out = r->p + r->off;
	r->off += n;
	return SKP_OK;
}

int
skp_reader_copy(skp_reader_t *r, void *out, size_t n)
{
	const uint8_t *p;
	int rc;

	if ((rc = skp_reader_ptr(r, &p, n)) != SKP_OK)
		return rc;
	if (n > 0)
		memcpy(out, p, n);
	return SKP_OK;
}

static int
reader_be(skp_reader_t *r, size_t n, uint64_t *out)
{
	const uint8_t *p;
	uint64_t v = 0;
	size_t i;
	int rc;

	if ((rc = skp_reader_ptr(r, &p, n)) != SKP_OK)
		return rc;
	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	*out = v;
	return SKP_OK;
}

int
skp_reader_u8(skp_reader_t *r, uint8_t *out)
{
	uint64_t v;
	int rc;

	if ((rc = reader_be(r, 1, &v)) == SKP_OK)
		*out = (uint8_t)v;
	return rc;
}

int
skp_reader_u16(skp_reader_t *r, uint16_t *out)
{
	uint64_t v;
	int rc;

	if ((rc = reader_be(r, 2, &v)) == SKP_OK)
		*out = (uint16_t)v;
	return rc;
}

int
skp_reader_u32(skp_reader_t *r, uint32_t *out)
{
	uint64_t v;
	int rc;

	if ((rc = reader_be(r, 4, &v)) == SKP_OK)
		*out = (uint32_t)v;
	return rc;
}

int
skp_reader_u64(skp_reader_t *r, uint64_t *out)
{
	return reader_be(r, 8, out);
}

int
skp_reader_string(skp_reader_t *r, const uint8_t **out, size_t *outlen,
    size_t max)
{
	skp_reader_t save = *r;
	uint32_t n;
	int rc;

	if ((rc = skp_reader_u32(r, &n)) != SKP_OK)
		return rc;
	if (n > max) {
		*r = save;
		return SKP_ERR_TOO_LARGE;
	}
	if ((rc = skp_reader_ptr(r, out, n)) != SKP_OK) {
		*r = save;
		return rc;
	}
	if (outlen != NULL)
		*outlen = n;
	return SKP_OK;
}

int
skp_reader_end(const skp_reader_t *r)
{
	return skp_reader_left(r) == 0 ? SKP_OK : SKP_ERR_TRAILING;
}

struct skp_buf {
	uint8_t	*d;
	size_t	 len;
	size_t	 alloc;
	size_t	 cap;
};

skp_buf_t *
skp_buf_new(size_t cap)
{
	skp_buf_t *b;

	if (cap == 0 || (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->cap = cap;
	return b;
}

void
skp_buf_free(skp_buf_t **bp)
{
	skp_buf_t *b;

	if (bp == NULL || (b = *bp) == NULL)
		return;
	if (b->d != NULL) {
		skp_wipe(b->d, b->alloc);
		free(b->d);
	}
	free(b);
	*bp = NULL;
}

void
skp_buf_reset(skp_buf_t *b)
{
	if (b->d != NULL)
		skp_wipe(b->d, b->alloc);
	b->len = 0;
}

/* Grow by copying, so that no secret is left behind in freed memory. */
static int
buf_reserve(skp_buf_t *b, size_t n)
{
	size_t want;
	uint8_t *nd;

	if (n > b->cap || b->len > b->cap - n)
		return SKP_ERR_TOO_LARGE;
	if (b->len + n <= b->alloc)
		return SKP_OK;
	want = b->alloc < 64 ? 64 : b->alloc;
	while (want < b->len + n)
		want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
	if (want > b->cap)
		want = b->cap;
	if ((nd = malloc(want)) == NULL)
		return SKP_ERR_NOMEM;
	if (b->d != NULL) {
		memcpy(nd, b->d, b->len);
		skp_wipe(b->d, b->alloc);
		free(b->d);
	}
	b->d = nd;
	b->alloc = want;
	return SKP_OK;
}

int
skp_buf_put(skp_buf_t *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return SKP_OK;
	if (p == NULL)
		return SKP_ERR_INVALID;
	if ((rc = buf_reserve(b, n)) != SKP_OK)
		return rc;
	memcpy(b->d + b->len, p, n);
	b->len += n;
	return SKP_OK;
}

static int
buf_be(skp_buf_t *b, uint64_t v, size_t n)
{
	uint8_t t[8];
	size_t i;

	for (i = 0; i < n; i++)
		t[n - 1 - i] = (uint8_t)(v >> (8 * i));
	return skp_buf_put(b, t, n);
}

int
skp_buf_u8(skp_buf_t *b, uint8_t v)
{
	return buf_be(b, v, 1);
}

int
skp_buf_u16(skp_buf_t *b, uint16_t v)
{
	return buf_be(b, v, 2);
}

int
skp_buf_u32(skp_buf_t *b, uint32_t v)
{
	return buf_be(b, v, 4);
}

int
skp_buf_u64(skp_buf_t *b, uint64_t v)
{
	return buf_be(b, v, 8);
}

int
skp_buf_string(skp_buf_t *b, const void *p, size_t n)
{
	size_t save = b->len;
	int rc;

	if (n > UINT32_MAX)
		return SKP_ERR_TOO_LARGE;
	if ((rc = skp_buf_u32(b, (uint32_t)n)) != SKP_OK)
		return rc;
	if ((rc = skp_buf_put(b, p, n)) != SKP_OK)
		b->len = save;
	return rc;
}

const uint8_t *
skp_buf_ptr(const skp_buf_t *b)
{
	static const uint8_t empty[1];

	return b->d != NULL ? b->d : empty;
}

size_t
skp_buf_len(const skp_buf_t *b)
{
	return b->len;
}

size_t
skp_buf_cap(const skp_buf_t *b)
{
	return b->cap;
}

int
skp_buf_steal(skp_buf_t *b, uint8_t **out, size_t *outlen)
{
	uint8_t *p;

	if ((p = malloc(b->len > 0 ? b->len : 1)) == NULL)
		return SKP_ERR_NOMEM;
	if (b->len > 0)
		memcpy(p, b->d, b->len);
	*out = p;
	*outlen = b->len;
	skp_buf_reset(b);
	return SKP_OK;
}
