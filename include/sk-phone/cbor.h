/* Strict CBOR on libcbor: load untrusted bytes, build canonical maps. */
#ifndef SKP_CBOR_H
#define SKP_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

/*
 * The profile every sk-phone CBOR reader enforces (CTAP2 canonical form):
 *  - one item, no trailing bytes			SKP_ERR_TRAILING
 *  - input ends inside an item				SKP_ERR_TRUNCATED
 *  - definite lengths only, minimal heads,
 *    valid UTF-8 text					SKP_ERR_FORMAT
 *  - only unsigned and negative integers, byte and text strings, arrays,
 *    maps, true and false: no tags, floats, null, undefined or other
 *    simple values; map keys are integers or text	SKP_ERR_CBOR_TYPE
 *  - map keys in CTAP2 canonical order (unsigned, then negative, then
 *    text; within a major type the shorter encoding first, then the
 *    bytes), no duplicates				SKP_ERR_CBOR_ORDER
 *  - over the caller's size cap, SKP_CBOR_MAX_DEPTH levels or
 *    SKP_CBOR_MAX_ITEMS items				SKP_ERR_TOO_LARGE
 */
#define SKP_CBOR_MAX_DEPTH	16	/* a top-level item is at depth 1 */
#define SKP_CBOR_MAX_ITEMS	16384	/* every item counts, keys too */

/*
 * Load a map whose every key sk-phone defines: the profile, a map at the
 * top (SKP_ERR_CBOR_TYPE), and no key outside the list (SKP_ERR_FORMAT).
 */
int	skp_cbor_load_map(const void *, size_t len, size_t maxlen,
	    const int64_t *keys, size_t nkeys, cbor_item_t **);
/* Check bytes against the profile without building anything. */
int	skp_cbor_check(const void *, size_t len, size_t maxlen);
/* Check, then load into a libcbor tree; free it with skp_cbor_free. */
int	skp_cbor_load(const void *, size_t len, size_t maxlen,
	    cbor_item_t **);
/*
 * Sort every map of the tree into canonical order (in place), serialize
 * and check the result against the profile (so a duplicate key or a
 * float is refused here, not by the peer). *out is malloc'd: skp_wipe()
 * and free() it.
 */
int	skp_cbor_encode(cbor_item_t *, size_t maxlen, uint8_t **out,
	    size_t *outlen);
/* Wipe the strings of a tree that nothing else holds, decref, NULL. */
void	skp_cbor_free(cbor_item_t **);

/*
 * Builders: NULL when out of memory. The put and push functions take the
 * value over even when they fail (a NULL value gives SKP_ERR_NOMEM), so
 * calls chain: if (skp_cbor_map_put(m, 1, skp_cbor_uint(7)) != 0) ...
 * Maps and arrays hold at most the count given at creation.
 */
cbor_item_t	*skp_cbor_map(size_t cap);
cbor_item_t	*skp_cbor_array(size_t cap);
cbor_item_t	*skp_cbor_uint(uint64_t);
cbor_item_t	*skp_cbor_int(int64_t);
cbor_item_t	*skp_cbor_bytes(const void *, size_t);
cbor_item_t	*skp_cbor_text(const char *);	/* NUL-terminated */
cbor_item_t	*skp_cbor_textn(const char *, size_t);
cbor_item_t	*skp_cbor_bool(int);
int		 skp_cbor_map_put(cbor_item_t *map, int64_t key,
		    cbor_item_t *value);
int		 skp_cbor_map_put_text(cbor_item_t *map, const char *key,
		    cbor_item_t *value);
int		 skp_cbor_array_push(cbor_item_t *array, cbor_item_t *value);

/*
 * Getters. A map lookup answers SKP_ERR_NOT_FOUND when the key is absent
 * and SKP_ERR_CBOR_TYPE when the value (or the map) has another type. The
 * item returned is borrowed from the map.
 */
int	skp_cbor_map_get(const cbor_item_t *map, int64_t key, cbor_type,
	    cbor_item_t **);
int	skp_cbor_map_get_text(const cbor_item_t *map, const char *key,
	    cbor_type, cbor_item_t **);
/* SKP_ERR_FORMAT when the map has an integer key not in the list, or any
 * text key: for maps whose every key sk-phone defines. */
int	skp_cbor_map_only(const cbor_item_t *map, const int64_t *keys,
	    size_t nkeys);
int	skp_cbor_get_uint(const cbor_item_t *, uint64_t *);
/* An unsigned or negative integer that fits an int64_t. */
int	skp_cbor_get_int(const cbor_item_t *, int64_t *);
int	skp_cbor_get_bool(const cbor_item_t *, int *);
/* A byte string of min..max bytes, copied to out (max bytes). */
int	skp_cbor_get_bytes(const cbor_item_t *, size_t min, size_t max,
	    uint8_t *out, size_t *outlen);
/* The same without a copy: *p points into the item (NULL when empty). */
int	skp_cbor_get_bytes_ptr(const cbor_item_t *, size_t max,
	    const uint8_t **p, size_t *len);
/*
 * A text string of at most max bytes without NUL, copied to out and
 * NUL-terminated; outsz must be at least max + 1.
 */
int	skp_cbor_get_text(const cbor_item_t *, size_t max, char *out,
	    size_t outsz);

/*
 * A relay list (include/sk-phone/relayurl.h) in the state files
 * (PROTOCOL.md §6.5, §8.7): one URL (or "") as a text string, as files
 * written before lists read; several as an array of 2 to
 * SKP_RELAYLIST_URLS text strings, in order. _get reads either form into
 * out (outsz at least SKP_RELAYLIST_MAX + 1); the text as it is (up to
 * 255 bytes, for the caller's checks), the array checked whole
 * (skp_relaylist_check; one URL in an array is refused: it has one
 * spelling). SKP_ERR_NOT_FOUND without the key.
 */
cbor_item_t	*skp_cbor_relays(const char *list);
int		 skp_cbor_map_get_relays(const cbor_item_t *map, int64_t key,
		    char *out, size_t outsz);

#endif
