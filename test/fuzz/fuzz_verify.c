/*
 * Fuzz harness: the computer's checks of a phone's answer, as the
 * provider runs them (lib/provider.c is built in for its static parts).
 * The first byte, modulo 4, picks:
 *   0: the rest is a DER ECDSA signature, split into r and s (sig_rs);
 *   1: want_uv (1 byte), clientDataHash (32), then a makeCredential
 *      answer (CBOR), decoded and verified for rp "ssh:";
 *   2: want flags (1 byte: bit 0 UP, bit 1 UV, bit 2 an Ed25519 key),
 *      clientDataHash (32), the key handle's public key (65 bytes; an
 *      Ed25519 key is the first 32 of them), then a getAssertion
 *      answer, decoded, verified and (ECDSA) its signature split;
 *   3: the kind byte of fuzz_ctap_response, then a credential management
 *      answer: decoded and turned into OpenSSH's resident key list.
 * Whatever passes must hold what the provider relies on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>

#include "lib/provider.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define RP	"ssh:"

static void
der(const uint8_t *p, size_t n)
{
	uint8_t r[32], s[32], *enc = NULL, *q;
	BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *sig = NULL;
	int len;

	if (sig_rs(p, n, r, s) != SKP_OK)
		return;
	/* What was split is one DER signature: it encodes back to it. */
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(r, 32, NULL)) == NULL ||
	    (bs = BN_bin2bn(s, 32, NULL)) == NULL ||
	    ECDSA_SIG_set0(sig, br, bs) != 1)
		abort();
	br = bs = NULL;
	if ((len = i2d_ECDSA_SIG(sig, NULL)) <= 0 ||
	    (enc = malloc((size_t)len)) == NULL)
		abort();
	q = enc;
	if (i2d_ECDSA_SIG(sig, &q) != len || (size_t)len != n ||
	    memcmp(enc, p, n) != 0)
		abort();
	free(enc);
	ECDSA_SIG_free(sig);
}

static void
make_credential(const uint8_t *p, size_t n)
{
	struct skp_ctap_mc_resp mc;
	struct skp_verify_cred vc;
	uint8_t want_uv;

	if (n < 1 + SKP_SHA256_LEN)
		return;
	want_uv = p[0] & 1;
	if (skp_ctap_mc_resp_decode(p + 1 + SKP_SHA256_LEN,
	    n - 1 - SKP_SHA256_LEN, &mc) != SKP_OK ||
	    skp_verify_make_credential(RP, p + 1, mc.authdata,
	    mc.authdata_len, "packed", mc.alg, mc.sig, mc.sig_len, want_uv,
	    &vc) != SKP_OK)
		return;
	if (!(vc.flags & SKP_AUTHDATA_UP) ||
	    (want_uv && !(vc.flags & SKP_AUTHDATA_UV)) || vc.alg != mc.alg ||
	    (vc.alg == SKP_CTAP_COSE_EDDSA ? (vc.pub_len != 32 ||
	    mc.sig_len != 64 || skp_ed25519_check_public(vc.pub) !=
	    SKP_OK) : (vc.pub_len != 65 ||
	    skp_p256_check_public(vc.pub) != SKP_OK)) ||
	    vc.cred_id_len < SKP_AUTHDATA_CRED_ID_MIN ||
	    vc.cred_id_len > SKP_AUTHDATA_CRED_ID_MAX)
		abort();
}

static void
assertion(const uint8_t *p, size_t n)
{
	struct skp_ctap_ga_resp ga;
	uint8_t r[32], s[32], flags = 0, want;
	uint32_t counter = 0;
	int64_t alg;
	const size_t head = 1 + SKP_SHA256_LEN + SKP_P256_PUB_LEN;

	if (n < head)
		return;
	want = p[0];
	alg = (want & 4) != 0 ? SKP_CTAP_COSE_EDDSA : SKP_CTAP_COSE_ES256;
	if (skp_ctap_ga_resp_decode(p + head, n - head, &ga) != SKP_OK ||
	    skp_verify_assertion_alg(RP, p + 1, alg, p + 1 + SKP_SHA256_LEN,
	    ga.authdata, ga.authdata_len, ga.sig, ga.sig_len, want & 1,
	    (want & 2) != 0, &flags, &counter) != SKP_OK)
		return;
	if (ga.authdata_len != 37 || ((want & 1) &&
	    !(flags & SKP_AUTHDATA_UP)) || ((want & 2) &&
	    !(flags & SKP_AUTHDATA_UV)) || flags != ga.authdata[32])
		abort();
	/* An Ed25519 signature is 64 bytes; an ECDSA one that verified
	 * splits. */
	if (alg == SKP_CTAP_COSE_EDDSA ? ga.sig_len != 64 :
	    sig_rs(ga.sig, ga.sig_len, r, s) != SKP_OK)
		abort();
}

static void
residents(const uint8_t *p, size_t n)
{
	struct skp_store_pairing ph;
	struct skp_ctap_cred *creds = NULL;
	struct sk_resident_key **rks = NULL;
	struct skp_keyhandle kh;
	size_t ncreds = 0, nrks = 0, i;
	uint8_t kind;
	int ed;

	if (n < 1)
		return;
	kind = p[0];
	if (skp_ctap_creds_decode(p + 1, n - 1, (kind & 0x40) ?
	    SKP_CTAP_CM_ENUM_RPS : SKP_CTAP_CM_ENUM_CREDS, !(kind & 0x80),
	    &creds, &ncreds) != SKP_OK)
		return;
	memset(&ph, 0, sizeof(ph));
	memset(ph.phone_id, 0x5a, sizeof(ph.phone_id));
	if (residents_add(&ph, creds, ncreds, &rks, &nrks) != 0)
		abort();
	if (nrks > ncreds)
		abort();
	for (i = 0; i < nrks; i++) {
		const struct sk_resident_key *rk = rks[i];

		/* Only ssh: credentials, each with a key handle that is
		 * ours and names its key. */
		ed = rk->alg == SSH_SK_ED25519;
		if (strncmp(rk->application, PROV_APP_PREFIX,
		    strlen(PROV_APP_PREFIX)) != 0 || rk->slot != i ||
		    (!ed && rk->alg != SSH_SK_ECDSA) ||
		    rk->key.public_key_len != (ed ? 32 : SKP_P256_PUB_LEN) ||
		    skp_keyhandle_decode(rk->key.key_handle,
		    rk->key.key_handle_len, &kh) != SKP_OK ||
		    kh.alg != (ed ? SKP_CTAP_COSE_EDDSA :
		    SKP_CTAP_COSE_ES256) ||
		    memcmp(kh.pub, rk->key.public_key,
		    rk->key.public_key_len) != 0 ||
		    memcmp(kh.phone_id, ph.phone_id,
		    sizeof(kh.phone_id)) != 0 ||
		    (ed ? skp_ed25519_check_public(kh.pub) :
		    skp_p256_check_public(kh.pub)) != SKP_OK)
			abort();
		if (((rk->flags & SSH_SK_USER_VERIFICATION_REQD) != 0) !=
		    ((rk->key.flags & SSH_SK_USER_VERIFICATION_REQD) != 0))
			abort();
	}
	residents_free(rks, nrks);
	skp_ctap_creds_free(&creds, ncreds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	if (n < 1)
		return 0;
	switch (p[0] % 4) {
	case 0:
		der(p + 1, n - 1);
		break;
	case 1:
		make_credential(p + 1, n - 1);
		break;
	case 2:
		assertion(p + 1, n - 1);
		break;
	default:
		residents(p + 1, n - 1);
		break;
	}
	return 0;
}
