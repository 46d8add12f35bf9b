/*
 * Fuzz harness: the phone's key files, "kdf" (salt, scrypt parameters
 * and check tag, with a passphrase) and "masterkey" (the storage key,
 * without one), as cmd/sk-phone-authenticator/phstate.c decodes them
 * (built in). The first byte, modulo 2, picks the file. What decodes
 * must be within the bounds and encode back to exactly the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/sk-phone-authenticator/phstate.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same(cbor_item_t *m, const uint8_t *p, size_t n)
{
	uint8_t *enc = NULL;
	size_t enclen = 0;

	if (m == NULL || skp_cbor_encode(m, INNER_MAX, &enc, &enclen) !=
	    SKP_OK || enclen != n || memcmp(enc, p, n) != 0)
		abort();
	skp_wipe(enc, enclen);
	free(enc);
}

static void
kdf(const uint8_t *p, size_t n)
{
	uint8_t salt[KDF_SALT_LEN], want[SKP_SHA256_LEN];
	uint64_t log2n = 0, r = 0, par = 0;
	cbor_item_t *m;
	int rc;

	/* Past the bounds is SKP_ERR_TOO_LARGE; the caller refuses it. */
	rc = kdf_decode(p, n, salt, &log2n, &r, &par, want);
	if (rc != SKP_OK)
		return;
	if (log2n < 10 || log2n > KDF_LOG2N_MAX || r < 1 || r > 8 ||
	    par < 1 || par > 4)
		abort();
	if ((m = skp_cbor_map(5)) == NULL ||
	    skp_cbor_map_put(m, 1, skp_cbor_bytes(salt, sizeof(salt))) !=
	    SKP_OK ||
	    skp_cbor_map_put(m, 2, skp_cbor_uint(log2n)) != SKP_OK ||
	    skp_cbor_map_put(m, 3, skp_cbor_uint(r)) != SKP_OK ||
	    skp_cbor_map_put(m, 4, skp_cbor_uint(par)) != SKP_OK ||
	    skp_cbor_map_put(m, 5, skp_cbor_bytes(want, sizeof(want))) !=
	    SKP_OK)
		abort();
	same(m, p, n);
	skp_cbor_free(&m);
}

static void
masterkey(const uint8_t *p, size_t n)
{
	uint8_t key[SKP_PH_KEY_LEN];
	cbor_item_t *m;

	if (masterkey_decode(p, n, key) != SKP_OK)
		return;
	if ((m = skp_cbor_map(1)) == NULL ||
	    skp_cbor_map_put(m, 1, skp_cbor_bytes(key, sizeof(key))) !=
	    SKP_OK)
		abort();
	same(m, p, n);
	skp_cbor_free(&m);
	skp_wipe(key, sizeof(key));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		kdf(data + 1, size - 1);
	else
		masterkey(data + 1, size - 1);
	return 0;
}
