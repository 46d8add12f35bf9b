/* Encode and strictly decode the key handle (docs/PROTOCOL.md §5). */
#include <stdint.h>
#include <string.h>

#include "sk-phone/authdata.h"
#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"

static const uint8_t magic[3] = { 'S', 'K', 'P' };

int
skp_keyhandle_encode(const struct skp_keyhandle *kh, uint8_t *out,
    size_t outmax, size_t *outlen)
{
	size_t n, fixed, publen;
	int ed, rc;

	if (kh == NULL || out == NULL || outlen == NULL)
		return SKP_ERR_INVALID;
	if (kh->cred_id_len < SKP_KEYHANDLE_CRED_ID_MIN ||
	    kh->cred_id_len > SKP_KEYHANDLE_CRED_ID_MAX)
		return SKP_ERR_INVALID;
	if (kh->alg != 0 && kh->alg != SKP_COSE_ALG_ES256 &&
	    kh->alg != SKP_COSE_ALG_EDDSA)
		return SKP_ERR_INVALID;
	ed = kh->alg == SKP_COSE_ALG_EDDSA;
	publen = ed ? SKP_ED25519_PUB_LEN : SKP_P256_PUB_LEN;
	fixed = ed ? SKP_KEYHANDLE_ED25519_FIXED_LEN : SKP_KEYHANDLE_FIXED_LEN;
	/* Never write a handle that decode would refuse. */
	if ((rc = ed ? skp_ed25519_check_public(kh->pub) :
	    skp_p256_check_public(kh->pub)) != SKP_OK)
		return rc;
	n = fixed + kh->cred_id_len;
	if (n > outmax)
		return SKP_ERR_TOO_LARGE;
	memcpy(out, magic, sizeof(magic));
	out[3] = ed ? SKP_KEYHANDLE_VERSION_ED25519 : SKP_KEYHANDLE_VERSION;
	memcpy(out + 4, kh->phone_id, SKP_PHONE_ID_LEN);
	memcpy(out + 4 + SKP_PHONE_ID_LEN, kh->pub, publen);
	out[fixed - 1] = (uint8_t)kh->cred_id_len;
	memcpy(out + fixed, kh->cred_id, kh->cred_id_len);
	*outlen = n;
	return SKP_OK;
}

int
skp_keyhandle_decode(const uint8_t *p, size_t len, struct skp_keyhandle *kh)
{
	struct skp_keyhandle t;
	skp_reader_t r;
	uint8_t m[3], version, idlen;
	size_t publen, max;
	int rc;

	memset(&t, 0, sizeof(t));
	if (kh == NULL || (p == NULL && len > 0)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	skp_reader_init(&r, p, len);
	if ((rc = skp_reader_copy(&r, m, sizeof(m))) != SKP_OK)
		goto out;
	if (memcmp(m, magic, sizeof(magic)) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_reader_u8(&r, &version)) != SKP_OK)
		goto out;
	/* Checked before the length: a newer layout may be longer. */
	if (version > SKP_KEYHANDLE_VERSION_MAX) {
		rc = SKP_ERR_VERSION;
		goto out;
	}
	if (version == SKP_KEYHANDLE_VERSION) {
		t.alg = SKP_COSE_ALG_ES256;
		publen = SKP_P256_PUB_LEN;
		max = SKP_KEYHANDLE_MAX;
	} else if (version == SKP_KEYHANDLE_VERSION_ED25519) {
		t.alg = SKP_COSE_ALG_EDDSA;
		publen = SKP_ED25519_PUB_LEN;
		max = SKP_KEYHANDLE_ED25519_MAX;
	} else {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if (len > max) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((rc = skp_reader_copy(&r, t.phone_id, sizeof(t.phone_id))) !=
	    SKP_OK ||
	    (rc = skp_reader_copy(&r, t.pub, publen)) != SKP_OK ||
	    (rc = skp_reader_u8(&r, &idlen)) != SKP_OK)
		goto out;
	if (idlen < SKP_KEYHANDLE_CRED_ID_MIN ||
	    idlen > SKP_KEYHANDLE_CRED_ID_MAX) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_reader_copy(&r, t.cred_id, idlen)) != SKP_OK ||
	    (rc = skp_reader_end(&r)) != SKP_OK)
		goto out;
	t.cred_id_len = idlen;
	if ((rc = t.alg == SKP_COSE_ALG_EDDSA ?
	    skp_ed25519_check_public(t.pub) : skp_p256_check_public(t.pub)) !=
	    SKP_OK)
		goto out;
	memcpy(kh, &t, sizeof(t));
	rc = SKP_OK;
out:
	skp_wipe(&t, sizeof(t));
	return rc;
}
