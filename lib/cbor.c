/* Strict CBOR: a profile checker over raw bytes, then libcbor for the tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "sk-phone/buf.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/relayurl.h"

#define MAJOR_UINT	0
#define MAJOR_NEGINT	1
#define MAJOR_BYTES	2
#define MAJOR_TEXT	3
#define MAJOR_ARRAY	4
#define MAJOR_MAP	5
#define MAJOR_TAG	6
#define MAJOR_SIMPLE	7

#define SIMPLE_FALSE	20
#define SIMPLE_TRUE	21

/* First guess for the serialization buffer; doubled up to the cap. */
#define ENCODE_START	256

struct walk {
	skp_reader_t	r;
	size_t		items;
};

/*
 * Read an item head. libcbor accepts padded heads and indefinite lengths,
 * so both are refused here, before it ever sees the bytes.
 */
static int
walk_head(skp_reader_t *r, uint8_t *major, uint8_t *ai, uint64_t *arg)
{
	skp_reader_t save = *r;
	uint8_t b, b8;
	uint16_t b16;
	uint32_t b32;
	uint64_t v;
	int rc;

	if ((rc = skp_reader_u8(r, &b)) != SKP_OK)
		goto out;
	*major = (uint8_t)(b >> 5);
	*ai = (uint8_t)(b & 0x1f);
	if (*ai < 24) {
		*arg = *ai;
		rc = SKP_OK;
		goto out;
	}
	if (*major == MAJOR_SIMPLE && *ai != 31) {
		/* Floats and one-byte simple values: not in the profile. */
		rc = (*ai <= 27) ? SKP_ERR_CBOR_TYPE : SKP_ERR_FORMAT;
		goto out;
	}
	switch (*ai) {
	case 24:
		rc = skp_reader_u8(r, &b8);
		v = b8;
		if (rc == SKP_OK && v < 24)
			rc = SKP_ERR_FORMAT;
		break;
	case 25:
		rc = skp_reader_u16(r, &b16);
		v = b16;
		if (rc == SKP_OK && v <= UINT8_MAX)
			rc = SKP_ERR_FORMAT;
		break;
	case 26:
		rc = skp_reader_u32(r, &b32);
		v = b32;
		if (rc == SKP_OK && v <= UINT16_MAX)
			rc = SKP_ERR_FORMAT;
		break;
	case 27:
		rc = skp_reader_u64(r, &v);
		if (rc == SKP_OK && v <= UINT32_MAX)
			rc = SKP_ERR_FORMAT;
		break;
	default:
		/* 28..30 are reserved, 31 is an indefinite length or break. */
		rc = SKP_ERR_FORMAT;
		v = 0;
		break;
	}
	*arg = v;
out:
	if (rc != SKP_OK)
		*r = save;
	return rc;
}

/* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int
utf8_ok(const uint8_t *p, size_t n)
{
	size_t i = 0, k, more;
	uint32_t c, min;

	while (i < n) {
		c = p[i++];
		if (c < 0x80)
			continue;
		if ((c & 0xe0) == 0xc0) {
			more = 1;
			min = 0x80;
			c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2;
			min = 0x800;
			c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		if (n - i < more)
			return 0;
		for (k = 0; k < more; k++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i++] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

/*
 * CTAP2 canonical order of two encoded keys: major type first, then the
 * shorter encoding, then the bytes. For minimal encodings this is numeric
 * order for unsigned keys, -1, -2, ... for negative ones, and length then
 * bytes for text.
 */
static int
key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int ma = a[0] >> 5, mb = b[0] >> 5;

	if (ma != mb)
		return ma < mb ? -1 : 1;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int walk_item(struct walk *, size_t);

static void
wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	skp_wipe(p, n);
	free(p);
}

static int
walk_map(struct walk *w, uint64_t n, size_t depth)
{
	const uint8_t *prev = NULL, *key;
	size_t prevlen = 0, start, keylen;
	uint64_t i;
	int rc = SKP_OK, c;
	uint8_t major;

	for (i = 0; i < n; i++) {
		start = w->r.off;
		if (skp_reader_left(&w->r) == 0) {
			rc = SKP_ERR_TRUNCATED;
			goto out;
		}
		major = (uint8_t)(w->r.p[start] >> 5);
		if (major != MAJOR_UINT && major != MAJOR_NEGINT &&
		    major != MAJOR_TEXT) {
			rc = SKP_ERR_CBOR_TYPE;
			goto out;
		}
		if ((rc = walk_item(w, depth + 1)) != SKP_OK)
			goto out;
		key = w->r.p + start;
		keylen = w->r.off - start;
		if (prev != NULL) {
			c = key_cmp(prev, prevlen, key, keylen);
			if (c >= 0) {
				rc = SKP_ERR_CBOR_ORDER;
				goto out;
			}
		}
		prev = key;
		prevlen = keylen;
		if ((rc = walk_item(w, depth + 1)) != SKP_OK)
			goto out;
	}
out:
	return rc;
}

static int
walk_item(struct walk *w, size_t depth)
{
	const uint8_t *p;
	uint64_t arg, i;
	uint8_t major, ai;
	int rc;

	if (depth > SKP_CBOR_MAX_DEPTH || w->items >= SKP_CBOR_MAX_ITEMS) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	w->items++;
	if ((rc = walk_head(&w->r, &major, &ai, &arg)) != SKP_OK)
		goto out;
	switch (major) {
	case MAJOR_UINT:
	case MAJOR_NEGINT:
		break;
	case MAJOR_BYTES:
	case MAJOR_TEXT:
		if (arg > skp_reader_left(&w->r)) {
			rc = SKP_ERR_TRUNCATED;
			goto out;
		}
		if ((rc = skp_reader_ptr(&w->r, &p, (size_t)arg)) != SKP_OK)
			goto out;
		if (major == MAJOR_TEXT && !utf8_ok(p, (size_t)arg))
			rc = SKP_ERR_FORMAT;
		break;
	case MAJOR_ARRAY:
		/* Every item takes a byte: a count past the input is a lie. */
		if (arg > skp_reader_left(&w->r)) {
			rc = SKP_ERR_TRUNCATED;
			goto out;
		}
		for (i = 0; i < arg && rc == SKP_OK; i++)
			rc = walk_item(w, depth + 1);
		break;
	case MAJOR_MAP:
		if (arg > skp_reader_left(&w->r) / 2) {
			rc = SKP_ERR_TRUNCATED;
			goto out;
		}
		rc = walk_map(w, arg, depth);
		break;
	case MAJOR_TAG:
		rc = SKP_ERR_CBOR_TYPE;
		break;
	default:
		if (ai != SIMPLE_FALSE && ai != SIMPLE_TRUE)
			rc = SKP_ERR_CBOR_TYPE;
		break;
	}
out:
	return rc;
}

int
skp_cbor_check(const void *p, size_t len, size_t maxlen)
{
	struct walk w;
	int rc;

	if (p == NULL && len != 0)
		return SKP_ERR_INVALID;
	if (len > maxlen)
		return SKP_ERR_TOO_LARGE;
	memset(&w, 0, sizeof(w));
	skp_reader_init(&w.r, p, len);
	if (len == 0)
		return SKP_ERR_TRUNCATED;
	if ((rc = walk_item(&w, 1)) != SKP_OK)
		return rc;
	return skp_reader_end(&w.r);
}

/*
 * Serialize into a buffer of our own: libcbor's cbor_serialize_alloc
 * grows with realloc and would leave copies of secrets behind.
 */
static int
serialize(const cbor_item_t *item, size_t maxlen, uint8_t **out,
    size_t *outlen)
{
	uint8_t *p = NULL;
	size_t cap = ENCODE_START, n;
	int rc = SKP_ERR_TOO_LARGE;

	*out = NULL;
	*outlen = 0;
	for (;;) {
		if (cap > maxlen)
			cap = maxlen;
		if (cap == 0)
			goto out;
		if ((p = malloc(cap)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		if ((n = cbor_serialize(item, p, cap)) != 0)
			break;
		wipe_free(p, cap);
		p = NULL;
		if (cap == maxlen)
			goto out;
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	}
	/* Exact size, so the caller wipes exactly outlen bytes. */
	if (n != cap) {
		uint8_t *q;

		if ((q = malloc(n)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		memcpy(q, p, n);
		wipe_free(p, cap);
		p = q;
		cap = n;
	}
	*out = p;
	*outlen = n;
	p = NULL;
	rc = SKP_OK;
out:
	if (p != NULL)
		wipe_free(p, cap);
	return rc;
}

int
skp_cbor_load(const void *p, size_t len, size_t maxlen, cbor_item_t **out)
{
	struct cbor_load_result res;
	cbor_item_t *item = NULL;
	uint8_t *again = NULL;
	size_t againlen = 0;
	int rc;

	*out = NULL;
	if ((rc = skp_cbor_check(p, len, maxlen)) != SKP_OK)
		goto out;
	memset(&res, 0, sizeof(res));
	if ((item = cbor_load(p, len, &res)) == NULL) {
		rc = res.error.code == CBOR_ERR_MEMERROR ? SKP_ERR_NOMEM :
		    SKP_ERR_FORMAT;
		goto out;
	}
	if (res.read != len) {
		rc = SKP_ERR_TRAILING;
		goto out;
	}
	/*
	 * Belt and braces: the tree must serialize to the very bytes read,
	 * or the checker and libcbor disagree about what was sent.
	 */
	if ((rc = serialize(item, len, &again, &againlen)) != SKP_OK) {
		rc = rc == SKP_ERR_NOMEM ? rc : SKP_ERR_FORMAT;
		goto out;
	}
	if (againlen != len || memcmp(again, p, len) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	*out = item;
	item = NULL;
out:
	if (again != NULL)
		wipe_free(again, againlen);
	skp_cbor_free(&item);
	return rc;
}

/* Canonical order of two keys as libcbor items; see key_cmp. */
static int
major_of(const cbor_item_t *k)
{
	switch (cbor_typeof(k)) {
	case CBOR_TYPE_UINT:
		return MAJOR_UINT;
	case CBOR_TYPE_NEGINT:
		return MAJOR_NEGINT;
	case CBOR_TYPE_STRING:
		return MAJOR_TEXT;
	default:
		return 8;	/* sorts last; the final check refuses it */
	}
}

static int
pair_cmp(const void *va, const void *vb)
{
	const struct cbor_pair *a = va, *b = vb;
	int ma = major_of(a->key), mb = major_of(b->key);
	uint64_t ia, ib;
	size_t la, lb;

	if (ma != mb)
		return ma < mb ? -1 : 1;
	if (ma == MAJOR_UINT || ma == MAJOR_NEGINT) {
		ia = cbor_get_int(a->key);
		ib = cbor_get_int(b->key);
		return ia < ib ? -1 : ia > ib;
	}
	if (ma == MAJOR_TEXT && cbor_string_is_definite(a->key) &&
	    cbor_string_is_definite(b->key)) {
		la = cbor_string_length(a->key);
		lb = cbor_string_length(b->key);
		if (la != lb)
			return la < lb ? -1 : 1;
		if (la == 0)
			return 0;
		return memcmp(cbor_string_handle(a->key),
		    cbor_string_handle(b->key), la);
	}
	return 0;
}

static void
sort_maps(cbor_item_t *item, size_t depth)
{
	struct cbor_pair *pairs;
	cbor_item_t **elems;
	size_t i, n;

	if (depth > SKP_CBOR_MAX_DEPTH)
		return;		/* the final check refuses the tree */
	if (cbor_isa_map(item)) {
		pairs = cbor_map_handle(item);
		n = cbor_map_size(item);
		if (n > 1)
			qsort(pairs, n, sizeof(*pairs), pair_cmp);
		for (i = 0; i < n; i++)
			sort_maps(pairs[i].value, depth + 1);
	} else if (cbor_isa_array(item)) {
		elems = cbor_array_handle(item);
		n = cbor_array_size(item);
		for (i = 0; i < n; i++)
			sort_maps(elems[i], depth + 1);
	}
}

int
skp_cbor_encode(cbor_item_t *item, size_t maxlen, uint8_t **out,
    size_t *outlen)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (item == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	sort_maps(item, 1);
	if ((rc = serialize(item, maxlen, &p, &n)) != SKP_OK)
		goto out;
	if ((rc = skp_cbor_check(p, n, maxlen)) != SKP_OK) {
		/* What we would send must be what we accept; a caller bug. */
		rc = rc == SKP_ERR_TOO_LARGE ? rc : SKP_ERR_INVALID;
		goto out;
	}
	*out = p;
	*outlen = n;
	p = NULL;
out:
	if (p != NULL)
		wipe_free(p, n);
	return rc;
}

static void
wipe_tree(cbor_item_t *item, size_t depth)
{
	struct cbor_pair *pairs;
	cbor_item_t **elems;
	size_t i, n;

	/* A shared subtree may still be in use elsewhere: leave it be. */
	if (item == NULL || depth > SKP_CBOR_MAX_DEPTH ||
	    cbor_refcount(item) != 1)
		return;
	switch (cbor_typeof(item)) {
	case CBOR_TYPE_BYTESTRING:
		if (cbor_bytestring_is_definite(item) &&
		    cbor_bytestring_handle(item) != NULL)
			skp_wipe(cbor_bytestring_handle(item),
			    cbor_bytestring_length(item));
		break;
	case CBOR_TYPE_STRING:
		if (cbor_string_is_definite(item) &&
		    cbor_string_handle(item) != NULL)
			skp_wipe(cbor_string_handle(item),
			    cbor_string_length(item));
		break;
	case CBOR_TYPE_ARRAY:
		elems = cbor_array_handle(item);
		n = cbor_array_size(item);
		for (i = 0; i < n; i++)
			wipe_tree(elems[i], depth + 1);
		break;
	case CBOR_TYPE_MAP:
		pairs = cbor_map_handle(item);
		n = cbor_map_size(item);
		for (i = 0; i < n; i++) {
			wipe_tree(pairs[i].key, depth + 1);
			wipe_tree(pairs[i].value, depth + 1);
		}
		break;
	default:
		break;
	}
}

void
skp_cbor_free(cbor_item_t **item)
{
	if (item == NULL || *item == NULL)
		return;
	wipe_tree(*item, 1);
	cbor_decref(item);
	*item = NULL;
}

/* Builders */

cbor_item_t *
skp_cbor_map(size_t cap)
{
	return cbor_new_definite_map(cap);
}

cbor_item_t *
skp_cbor_array(size_t cap)
{
	return cbor_new_definite_array(cap);
}

/* The smallest width, so that libcbor writes a minimal head. */
static cbor_item_t *
build_int(uint64_t v, int negative)
{
	cbor_item_t *it;

	if (v <= UINT8_MAX)
		it = negative ? cbor_build_negint8((uint8_t)v) :
		    cbor_build_uint8((uint8_t)v);
	else if (v <= UINT16_MAX)
		it = negative ? cbor_build_negint16((uint16_t)v) :
		    cbor_build_uint16((uint16_t)v);
	else if (v <= UINT32_MAX)
		it = negative ? cbor_build_negint32((uint32_t)v) :
		    cbor_build_uint32((uint32_t)v);
	else
		it = negative ? cbor_build_negint64(v) :
		    cbor_build_uint64(v);
	return it;
}

cbor_item_t *
skp_cbor_uint(uint64_t v)
{
	return build_int(v, 0);
}

cbor_item_t *
skp_cbor_int(int64_t v)
{
	/* CBOR stores -1 - v for negative v; this cannot overflow. */
	if (v < 0)
		return build_int((uint64_t)(-(v + 1)), 1);
	return build_int((uint64_t)v, 0);
}

cbor_item_t *
skp_cbor_bytes(const void *p, size_t n)
{
	static const uint8_t empty;

	/* libcbor memcpy()s from the pointer even for zero bytes. */
	if (p == NULL) {
		if (n != 0)
			return NULL;
		p = &empty;
	}
	return cbor_build_bytestring(p, n);
}

cbor_item_t *
skp_cbor_textn(const char *s, size_t n)
{
	static const char empty;

	if (s == NULL) {
		if (n != 0)
			return NULL;
		s = &empty;
	}
	return cbor_build_stringn(s, n);
}

cbor_item_t *
skp_cbor_text(const char *s)
{
	if (s == NULL)
		return NULL;
	return skp_cbor_textn(s, strlen(s));
}

cbor_item_t *
skp_cbor_bool(int v)
{
	return cbor_build_bool(v != 0);
}

static int
map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
	int rc = SKP_OK;

	if (map == NULL || key == NULL || value == NULL) {
		rc = map == NULL ? SKP_ERR_INVALID : SKP_ERR_NOMEM;
		goto out;
	}
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	/* A definite map never grows: a full one means a wrong count. */
	if (!cbor_map_add(map, (struct cbor_pair){ .key = key,
	    .value = value }))
		rc = cbor_map_size(map) >= cbor_map_allocated(map) ?
		    SKP_ERR_INVALID : SKP_ERR_NOMEM;
out:
	/* cbor_map_add took its own references. */
	skp_cbor_free(&key);
	skp_cbor_free(&value);
	return rc;
}

int
skp_cbor_map_put(cbor_item_t *map, int64_t key, cbor_item_t *value)
{
	return map_put(map, skp_cbor_int(key), value);
}

int
skp_cbor_map_put_text(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	return map_put(map, skp_cbor_text(key), value);
}

int
skp_cbor_array_push(cbor_item_t *array, cbor_item_t *value)
{
	int rc = SKP_OK;

	if (array == NULL || value == NULL) {
		rc = array == NULL ? SKP_ERR_INVALID : SKP_ERR_NOMEM;
		goto out;
	}
	if (!cbor_isa_array(array) || !cbor_array_is_definite(array) ||
	    cbor_array_size(array) >= cbor_array_allocated(array)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (!cbor_array_push(array, value))
		rc = SKP_ERR_NOMEM;
out:
	skp_cbor_free(&value);
	return rc;
}

/* Getters */

static int
key_is_int(const cbor_item_t *k, int64_t want)
{
	if (want >= 0)
		return cbor_isa_uint(k) && cbor_get_int(k) == (uint64_t)want;
	return cbor_isa_negint(k) &&
	    cbor_get_int(k) == (uint64_t)(-(want + 1));
}

static int
key_is_text(const cbor_item_t *k, const char *want)
{
	size_t n = strlen(want);

	return cbor_isa_string(k) && cbor_string_is_definite(k) &&
	    cbor_string_length(k) == n &&
	    (n == 0 || memcmp(cbor_string_handle(k), want, n) == 0);
}

static int
map_find(const cbor_item_t *map, int64_t ikey, const char *tkey,
    cbor_type type, cbor_item_t **out)
{
	struct cbor_pair *pairs;
	size_t i, n;
	int hit;

	*out = NULL;
	if (map == NULL)
		return SKP_ERR_INVALID;
	if (!cbor_isa_map(map))
		return SKP_ERR_CBOR_TYPE;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (i = 0; i < n; i++) {
		hit = tkey != NULL ? key_is_text(pairs[i].key, tkey) :
		    key_is_int(pairs[i].key, ikey);
		if (!hit)
			continue;
		if (cbor_typeof(pairs[i].value) != type)
			return SKP_ERR_CBOR_TYPE;
		*out = pairs[i].value;
		return SKP_OK;
	}
	return SKP_ERR_NOT_FOUND;
}

int
skp_cbor_map_get(const cbor_item_t *map, int64_t key, cbor_type type,
    cbor_item_t **out)
{
	return map_find(map, key, NULL, type, out);
}

int
skp_cbor_map_get_text(const cbor_item_t *map, const char *key,
    cbor_type type, cbor_item_t **out)
{
	if (key == NULL) {
		*out = NULL;
		return SKP_ERR_INVALID;
	}
	return map_find(map, 0, key, type, out);
}

int
skp_cbor_map_only(const cbor_item_t *map, const int64_t *keys, size_t nkeys)
{
	struct cbor_pair *pairs;
	size_t i, j, n;
	int known;

	if (map == NULL)
		return SKP_ERR_INVALID;
	if (!cbor_isa_map(map))
		return SKP_ERR_CBOR_TYPE;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (i = 0; i < n; i++) {
		known = 0;
		for (j = 0; j < nkeys && !known; j++)
			known = key_is_int(pairs[i].key, keys[j]);
		if (!known)
			return SKP_ERR_FORMAT;
	}
	return SKP_OK;
}

int
skp_cbor_get_uint(const cbor_item_t *it, uint64_t *out)
{
	if (it == NULL)
		return SKP_ERR_INVALID;
	if (!cbor_isa_uint(it))
		return SKP_ERR_CBOR_TYPE;
	*out = cbor_get_int(it);
	return SKP_OK;
}

int
skp_cbor_get_int(const cbor_item_t *it, int64_t *out)
{
	uint64_t v;

	if (it == NULL)
		return SKP_ERR_INVALID;
	if (!cbor_isa_uint(it) && !cbor_isa_negint(it))
		return SKP_ERR_CBOR_TYPE;
	v = cbor_get_int(it);
	if (v > INT64_MAX)
		return SKP_ERR_TOO_LARGE;
	*out = cbor_isa_uint(it) ? (int64_t)v : -1 - (int64_t)v;
	return SKP_OK;
}

int
skp_cbor_get_bool(const cbor_item_t *it, int *out)
{
	if (it == NULL)
		return SKP_ERR_INVALID;
	if (!cbor_is_bool(it))
		return SKP_ERR_CBOR_TYPE;
	*out = cbor_get_bool(it) ? 1 : 0;
	return SKP_OK;
}

int
skp_cbor_get_bytes_ptr(const cbor_item_t *it, size_t max, const uint8_t **p,
    size_t *len)
{
	size_t n;

	if (it == NULL)
		return SKP_ERR_INVALID;
	if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return SKP_ERR_CBOR_TYPE;
	if ((n = cbor_bytestring_length(it)) > max)
		return SKP_ERR_TOO_LARGE;
	*p = n == 0 ? NULL : cbor_bytestring_handle(it);
	*len = n;
	return SKP_OK;
}

int
skp_cbor_get_bytes(const cbor_item_t *it, size_t min, size_t max,
    uint8_t *out, size_t *outlen)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = skp_cbor_get_bytes_ptr(it, max, &p, &n)) != SKP_OK)
		return rc;
	if (n < min)
		return SKP_ERR_FORMAT;
	if (n > 0)
		memcpy(out, p, n);
	*outlen = n;
	return SKP_OK;
}

int
skp_cbor_get_text(const cbor_item_t *it, size_t max, char *out, size_t outsz)
{
	size_t n;

	if (it == NULL || out == NULL || outsz <= max)
		return SKP_ERR_INVALID;
	if (!cbor_isa_string(it) || !cbor_string_is_definite(it))
		return SKP_ERR_CBOR_TYPE;
	if ((n = cbor_string_length(it)) > max)
		return SKP_ERR_TOO_LARGE;
	/* An embedded NUL would let a peer cut what the user is shown. */
	if (n > 0 && memchr(cbor_string_handle(it), '\0', n) != NULL)
		return SKP_ERR_FORMAT;
	if (n > 0)
		memcpy(out, cbor_string_handle(it), n);
	out[n] = '\0';
	return SKP_OK;
}

int
skp_cbor_load_map(const void *p, size_t n, size_t maxlen,
    const int64_t *keys, size_t nkeys, cbor_item_t **out)
{
	cbor_item_t *m = NULL;
	int rc;

	*out = NULL;
	if ((rc = skp_cbor_load(p, n, maxlen, &m)) != SKP_OK)
		goto out;
	if (!cbor_isa_map(m)) {
		rc = SKP_ERR_CBOR_TYPE;
		goto out;
	}
	if ((rc = skp_cbor_map_only(m, keys, nkeys)) != SKP_OK)
		goto out;
	*out = m;
	m = NULL;
out:
	skp_cbor_free(&m);
	return rc;
}

cbor_item_t *
skp_cbor_relays(const char *list)
{
	char url[SKP_RELAYURL_MAX + 1];
	cbor_item_t *a, *t;
	size_t i, n;

	if (list == NULL)
		return NULL;
	if ((n = skp_relaylist_count(list)) < 2)
		return skp_cbor_text(list);
	if ((a = skp_cbor_array(n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (skp_relaylist_get(list, i, url) != SKP_OK ||
		    (t = skp_cbor_text(url)) == NULL ||
		    skp_cbor_array_push(a, t) != SKP_OK) {
			skp_cbor_free(&a);
			return NULL;
		}
	}
	return a;
}

int
skp_cbor_map_get_relays(const cbor_item_t *map, int64_t key, char *out,
    size_t outsz)
{
	char url[SKP_RELAYURL_MAX + 1], tmp[SKP_RELAYLIST_MAX + 1];
	cbor_item_t *it, **items;
	size_t i, n;
	int rc;

	if (out == NULL || outsz <= SKP_RELAYLIST_MAX)
		return SKP_ERR_INVALID;
	if ((rc = map_find(map, key, NULL, CBOR_TYPE_STRING, &it)) !=
	    SKP_ERR_CBOR_TYPE)
		return rc != SKP_OK ? rc :
		    skp_cbor_get_text(it, SKP_RELAYURL_MAX, out, outsz);
	if ((rc = map_find(map, key, NULL, CBOR_TYPE_ARRAY, &it)) != SKP_OK)
		return rc;
	n = cbor_array_size(it);
	if (n < 2 || n > SKP_RELAYLIST_URLS)
		return n < 2 ? SKP_ERR_FORMAT : SKP_ERR_TOO_LARGE;
	items = cbor_array_handle(it);
	tmp[0] = '\0';
	for (i = 0; i < n; i++) {
		if ((rc = skp_cbor_get_text(items[i], SKP_RELAYURL_MAX, url,
		    sizeof(url))) != SKP_OK)
			return rc;
		if ((rc = skp_relaylist_add(tmp, sizeof(tmp), url, NULL)) !=
		    SKP_OK)
			return rc == SKP_ERR_EXISTS ? SKP_ERR_FORMAT : rc;
	}
	memcpy(out, tmp, strlen(tmp) + 1);
	return SKP_OK;
}
