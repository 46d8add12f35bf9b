/* libfido2 accepts what the core builds, and refuses every tampered copy. */
#include <stdlib.h>
#include <string.h>

#include <openssl/types.h>

/* See lib/verify.c: es256.h names a type OPENSSL_NO_DEPRECATED hides. */
#ifdef OPENSSL_NO_DEPRECATED_3_0
typedef struct ec_key_st EC_KEY;
#endif

#include <fido.h>
#include <fido/es256.h>

#include "sk-phone/authdata.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/verify.h"
#include "harness.h"

#define RP	"ssh:"

/* One credential made the way the phone makes it. */
struct fx {
	struct skp_p256_key	key;
	uint8_t			cdh[32];
	uint8_t			ad[SKP_AUTHDATA_MAX + 64];
	size_t			adlen;
	uint8_t			sig[SKP_P256_SIG_MAX];
	size_t			siglen;
	uint8_t			cred_id[32];
};

static void
make_cdh(struct fx *f)
{
	uint8_t challenge[32];

	memset(challenge, 0xc1, sizeof(challenge));
	if (skp_sha256(challenge, sizeof(challenge), f->cdh) != SKP_OK)
		abort();
}

static void
build(struct fx *f, const char *rp, uint8_t flags, uint32_t count)
{
	struct skp_authdata ad;

	memset(&ad, 0, sizeof(ad));
	if (skp_sha256(rp, strlen(rp), ad.rp_id_hash) != SKP_OK)
		abort();
	ad.flags = flags;
	ad.sign_count = count;
	if (flags & SKP_AUTHDATA_AT) {
		memcpy(ad.aaguid, skp_authdata_aaguid, 16);
		memcpy(ad.cred_id, f->cred_id, sizeof(f->cred_id));
		ad.cred_id_len = sizeof(f->cred_id);
		memcpy(ad.pub, f->key.pub, sizeof(ad.pub));
	}
	if (skp_authdata_build(&ad, f->ad, sizeof(f->ad), &f->adlen) !=
	    SKP_OK)
		abort();
}

static void
sign(struct fx *f)
{
	if (skp_authdata_sign(&f->key, f->ad, f->adlen, f->cdh, f->sig,
	    &f->siglen) != SKP_OK)
		abort();
}

/* A makeCredential answer: attested authData, self-signed. */
static void
fx_cred(struct fx *f, uint8_t flags)
{
	memset(f, 0, sizeof(*f));
	if (skp_p256_generate(&f->key) != SKP_OK ||
	    skp_random(f->cred_id, sizeof(f->cred_id)) != SKP_OK)
		abort();
	make_cdh(f);
	build(f, RP, (uint8_t)(flags | SKP_AUTHDATA_AT), 0);
	sign(f);
}

/* An assertion: 37 bytes of authData and the signature. */
static void
fx_assert(struct fx *f, uint8_t flags, uint32_t count)
{
	memset(f, 0, sizeof(*f));
	if (skp_p256_generate(&f->key) != SKP_OK)
		abort();
	make_cdh(f);
	build(f, RP, flags, count);
	sign(f);
}

static int
vcred(const struct fx *f, const char *rp, const uint8_t *cdh, int uv,
    struct skp_verify_cred *out)
{
	return skp_verify_make_credential(rp, cdh, f->ad, f->adlen, "packed",
	    -7, f->sig, f->siglen, uv, out);
}

static int
vassert(const struct fx *f, const char *rp, const uint8_t *cdh,
    const uint8_t *pub, int up, int uv)
{
	uint32_t counter;
	uint8_t flags;

	return skp_verify_assertion(rp, cdh, pub, f->ad, f->adlen, f->sig,
	    f->siglen, up, uv, &flags, &counter);
}

static void
cred_verifies(void)
{
	struct skp_verify_cred out;
	struct fx f;

	fx_cred(&f, SKP_AUTHDATA_UP);
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_OK);
	CHECK_MEM(out.pub, f.key.pub, SKP_P256_PUB_LEN);
	CHECK(out.cred_id_len == 32);
	CHECK_MEM(out.cred_id, f.cred_id, 32);
	CHECK(out.flags == (SKP_AUTHDATA_UP | SKP_AUTHDATA_AT));
	CHECK(out.sign_count == 0);
	fx_cred(&f, SKP_AUTHDATA_UP | SKP_AUTHDATA_UV);
	CHECK_RC(vcred(&f, RP, f.cdh, 1, &out), SKP_OK);
	CHECK((out.flags & SKP_AUTHDATA_UV) != 0);
}

/* The same bytes straight into libfido2, as a reviewer would check. */
static void
cred_libfido2_direct(void)
{
	fido_cred_t *c;
	struct fx f;

	fx_cred(&f, SKP_AUTHDATA_UP);
	REQUIRE((c = fido_cred_new()) != NULL);
	CHECK(fido_cred_set_type(c, COSE_ES256) == FIDO_OK);
	CHECK(fido_cred_set_clientdata_hash(c, f.cdh, 32) == FIDO_OK);
	CHECK(fido_cred_set_rp(c, RP, NULL) == FIDO_OK);
	CHECK(fido_cred_set_authdata_raw(c, f.ad, f.adlen) == FIDO_OK);
	CHECK(fido_cred_set_fmt(c, "packed") == FIDO_OK);
	CHECK(fido_cred_set_sig(c, f.sig, f.siglen) == FIDO_OK);
	CHECK(fido_cred_verify_self(c) == FIDO_OK);
	CHECK(fido_cred_pubkey_len(c) == 64);
	CHECK(fido_cred_pubkey_ptr(c) != NULL &&
	    memcmp(fido_cred_pubkey_ptr(c), f.key.pub + 1, 64) == 0);
	CHECK(fido_cred_id_len(c) == 32);
	/* ...and the same fido_cred_t says no once the signature changes. */
	f.sig[f.siglen - 1] ^= 1;
	CHECK(fido_cred_set_sig(c, f.sig, f.siglen) == FIDO_OK);
	CHECK(fido_cred_verify_self(c) != FIDO_OK);
	fido_cred_free(&c);
}

static void
cred_refuses_tampered_authdata(void)
{
	struct skp_verify_cred out;
	struct fx f;
	size_t i;
	/* rpIdHash, flags, counter, aaguid, id length, id, key x, key y */
	static const size_t at[] = { 0, 31, 33, 36, 40, 54, 60, 80, 140 };

	fx_cred(&f, SKP_AUTHDATA_UP);
	for (i = 0; i < nitems(at); i++) {
		f.ad[at[i]] ^= 0x01;
		CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_ERR_VERIFY);
		f.ad[at[i]] ^= 0x01;
	}
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_OK);
}

static void
cred_refuses_tampered_signature(void)
{
	struct skp_verify_cred out;
	struct fx f;

	fx_cred(&f, SKP_AUTHDATA_UP);
	f.sig[f.siglen - 2] ^= 0x40;
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_ERR_VERIFY);
	f.sig[f.siglen - 2] ^= 0x40;
	f.siglen--;
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_ERR_VERIFY);
}

static void
cred_refuses_wrong_rp(void)
{
	struct skp_verify_cred out;
	struct fx f;

	fx_cred(&f, SKP_AUTHDATA_UP);
	CHECK_RC(vcred(&f, "ssh:other", f.cdh, 0, &out), SKP_ERR_VERIFY);
}

static void
cred_refuses_wrong_cdh(void)
{
	struct skp_verify_cred out;
	uint8_t cdh[32];
	struct fx f;

	fx_cred(&f, SKP_AUTHDATA_UP);
	memcpy(cdh, f.cdh, 32);
	cdh[31] ^= 1;
	CHECK_RC(vcred(&f, RP, cdh, 0, &out), SKP_ERR_VERIFY);
}

static void
cred_refuses_other_signer(void)
{
	struct skp_verify_cred out;
	struct skp_p256_key other;
	struct fx f;

	/* Self attestation must be by the key it attests. */
	fx_cred(&f, SKP_AUTHDATA_UP);
	REQUIRE(skp_p256_generate(&other) == SKP_OK);
	REQUIRE(skp_authdata_sign(&other, f.ad, f.adlen, f.cdh, f.sig,
	    &f.siglen) == SKP_OK);
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_ERR_VERIFY);
}

static void
cred_refuses_missing_flags(void)
{
	struct skp_verify_cred out;
	struct fx f;

	fx_cred(&f, SKP_AUTHDATA_UP);
	CHECK_RC(vcred(&f, RP, f.cdh, 1, &out), SKP_ERR_VERIFY);
	fx_cred(&f, SKP_AUTHDATA_UV);
	CHECK_RC(vcred(&f, RP, f.cdh, 1, &out), SKP_ERR_VERIFY);
	/* No AT: nothing attested. */
	fx_assert(&f, SKP_AUTHDATA_UP, 0);
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_ERR_VERIFY);
}

static void
cred_refuses_extensions(void)
{
	struct skp_verify_cred out;
	struct fx f;

	/* {"credProtect": 2} after the key, ED set, signed properly. */
	fx_cred(&f, SKP_AUTHDATA_UP);
	memcpy(f.ad + f.adlen, "\xa1\x6b" "credProtect" "\x02", 14);
	f.adlen += 14;
	f.ad[32] |= SKP_AUTHDATA_ED;
	sign(&f);
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_ERR_VERIFY);
	/* Trailing bytes without ED. */
	f.ad[32] &= (uint8_t)~SKP_AUTHDATA_ED;
	sign(&f);
	CHECK_RC(vcred(&f, RP, f.cdh, 0, &out), SKP_ERR_VERIFY);
}

static void
cred_refuses_format(void)
{
	struct skp_verify_cred out;
	struct fx f;

	fx_cred(&f, SKP_AUTHDATA_UP);
	CHECK_RC(skp_verify_make_credential(RP, f.cdh, f.ad, f.adlen,
	    "fido-u2f", -7, f.sig, f.siglen, 0, &out), SKP_ERR_VERIFY);
	CHECK_RC(skp_verify_make_credential(RP, f.cdh, f.ad, f.adlen,
	    "packed", -8, f.sig, f.siglen, 0, &out), SKP_ERR_VERIFY);
	CHECK_RC(skp_verify_make_credential(NULL, f.cdh, f.ad, f.adlen,
	    "packed", -7, f.sig, f.siglen, 0, &out), SKP_ERR_INVALID);
	CHECK_RC(skp_verify_make_credential(RP, f.cdh, f.ad, f.adlen,
	    "packed", -7, f.sig, 0, 0, &out), SKP_ERR_INVALID);
}

static void
assert_verifies(void)
{
	struct fx f;
	uint32_t counter = 0;
	uint8_t flags = 0;

	fx_assert(&f, SKP_AUTHDATA_UP, 41);
	CHECK_RC(skp_verify_assertion(RP, f.cdh, f.key.pub, f.ad, f.adlen,
	    f.sig, f.siglen, 1, 0, &flags, &counter), SKP_OK);
	CHECK(flags == SKP_AUTHDATA_UP && counter == 41);
	fx_assert(&f, SKP_AUTHDATA_UP | SKP_AUTHDATA_UV, 0xfffffffe);
	CHECK_RC(skp_verify_assertion(RP, f.cdh, f.key.pub, f.ad, f.adlen,
	    f.sig, f.siglen, 1, 1, &flags, &counter), SKP_OK);
	CHECK(flags == (SKP_AUTHDATA_UP | SKP_AUTHDATA_UV));
	CHECK(counter == 0xfffffffe);
	/* no-touch-required keys: UP not asked, not set. */
	fx_assert(&f, 0, 1);
	CHECK_RC(skp_verify_assertion(RP, f.cdh, f.key.pub, f.ad, f.adlen,
	    f.sig, f.siglen, 0, 0, &flags, &counter), SKP_OK);
	CHECK(flags == 0);
}

static void
assert_libfido2_direct(void)
{
	fido_assert_t *a;
	es256_pk_t *pk;
	struct fx f;

	fx_assert(&f, SKP_AUTHDATA_UP, 3);
	REQUIRE((a = fido_assert_new()) != NULL);
	REQUIRE((pk = es256_pk_new()) != NULL);
	CHECK(es256_pk_from_ptr(pk, f.key.pub, 65) == FIDO_OK);
	CHECK(fido_assert_set_count(a, 1) == FIDO_OK);
	CHECK(fido_assert_set_rp(a, RP) == FIDO_OK);
	CHECK(fido_assert_set_clientdata_hash(a, f.cdh, 32) == FIDO_OK);
	CHECK(fido_assert_set_authdata_raw(a, 0, f.ad, f.adlen) == FIDO_OK);
	CHECK(fido_assert_set_sig(a, 0, f.sig, f.siglen) == FIDO_OK);
	CHECK(fido_assert_set_up(a, FIDO_OPT_TRUE) == FIDO_OK);
	CHECK(fido_assert_verify(a, 0, COSE_ES256, pk) == FIDO_OK);
	CHECK(fido_assert_sigcount(a, 0) == 3);
	CHECK(fido_assert_set_uv(a, FIDO_OPT_TRUE) == FIDO_OK);
	CHECK(fido_assert_verify(a, 0, COSE_ES256, pk) != FIDO_OK);
	es256_pk_free(&pk);
	fido_assert_free(&a);
}

static void
assert_refuses_tampered_authdata(void)
{
	struct fx f;
	size_t i;

	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	for (i = 0; i < f.adlen; i++) {
		f.ad[i] ^= 0x10;
		CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 0),
		    SKP_ERR_VERIFY);
		f.ad[i] ^= 0x10;
	}
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 0), SKP_OK);
}

static void
assert_refuses_tampered_signature(void)
{
	struct fx f;

	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	f.sig[f.siglen - 1] ^= 0x01;
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 0), SKP_ERR_VERIFY);
	f.sig[f.siglen - 1] ^= 0x01;
	f.sig[0] = 0x31;	/* not a DER SEQUENCE */
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 0), SKP_ERR_VERIFY);
}

static void
assert_refuses_wrong_rp(void)
{
	struct fx f;

	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	CHECK_RC(vassert(&f, "ssh:x", f.cdh, f.key.pub, 1, 0),
	    SKP_ERR_VERIFY);
}

static void
assert_refuses_wrong_cdh(void)
{
	uint8_t cdh[32];
	struct fx f;

	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	memset(cdh, 0, sizeof(cdh));
	CHECK_RC(vassert(&f, RP, cdh, f.key.pub, 1, 0), SKP_ERR_VERIFY);
}

static void
assert_refuses_wrong_key(void)
{
	struct skp_p256_key other;
	uint8_t bad[SKP_P256_PUB_LEN];
	struct fx f;

	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	REQUIRE(skp_p256_generate(&other) == SKP_OK);
	CHECK_RC(vassert(&f, RP, f.cdh, other.pub, 1, 0), SKP_ERR_VERIFY);
	memcpy(bad, f.key.pub, sizeof(bad));
	bad[64] ^= 1;	/* off the curve */
	CHECK_RC(vassert(&f, RP, f.cdh, bad, 1, 0), SKP_ERR_VERIFY);
}

static void
assert_refuses_missing_flags(void)
{
	struct fx f;

	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 1), SKP_ERR_VERIFY);
	fx_assert(&f, SKP_AUTHDATA_UV, 9);
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 1), SKP_ERR_VERIFY);
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 0, 1), SKP_OK);
}

static void
assert_refuses_long_authdata(void)
{
	struct fx f;

	/* An ED extension map, properly signed: still refused. */
	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	f.ad[32] |= SKP_AUTHDATA_ED;
	f.ad[f.adlen++] = 0xa0;
	sign(&f);
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 0), SKP_ERR_VERIFY);
	/* Attested credential data in an assertion. */
	fx_cred(&f, SKP_AUTHDATA_UP);
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 0), SKP_ERR_VERIFY);
	/* Short. */
	fx_assert(&f, SKP_AUTHDATA_UP, 9);
	f.adlen = 36;
	sign(&f);
	CHECK_RC(vassert(&f, RP, f.cdh, f.key.pub, 1, 0), SKP_ERR_VERIFY);
}

/* Phone encodes, envelope carries, computer decodes and verifies. */
static void
wire_roundtrip_verifies(void)
{
	struct skp_ctap_ga_resp gr, back;
	struct skp_ctap_response env;
	uint8_t *body = NULL, *msg = NULL, flags;
	size_t bl = 0, ml = 0;
	uint32_t counter;
	struct fx f;

	fx_assert(&f, SKP_AUTHDATA_UP, 77);
	memset(&gr, 0, sizeof(gr));
	memset(gr.cred.id, 7, 32);
	gr.cred.id_len = 32;
	memcpy(gr.authdata, f.ad, f.adlen);
	gr.authdata_len = f.adlen;
	memcpy(gr.sig, f.sig, f.siglen);
	gr.sig_len = f.siglen;
	REQUIRE(skp_ctap_ga_resp_encode(&gr, &body, &bl) == SKP_OK);
	REQUIRE(skp_ctap_response_encode(0, body, bl, NULL, &msg, &ml) ==
	    SKP_OK);
	REQUIRE(skp_ctap_response_decode(msg, ml, &env) == SKP_OK);
	REQUIRE(env.status == 0);
	REQUIRE(skp_ctap_ga_resp_decode(env.ctap, env.ctap_len, &back) ==
	    SKP_OK);
	CHECK_RC(skp_verify_assertion(RP, f.cdh, f.key.pub, back.authdata,
	    back.authdata_len, back.sig, back.sig_len, 1, 0, &flags,
	    &counter), SKP_OK);
	CHECK(counter == 77 && flags == SKP_AUTHDATA_UP);
	skp_ctap_response_clear(&env);
	free(body);
	free(msg);
}

/* ---- Ed25519 (EdDSA, -8): docs/PROTOCOL.md §4.5, §4.10-4.12 ---- */

/* The makeCredential answer of docs/PROTOCOL.md §4.5 (RFC 8032 test 1's
 * key, rp "ssh:", credential id a0..af, clientDataHash 00 01 .. 1f). */
#define ED_SEED_HEX	"9d61b19deffd5a60ba844af492ec2cc4" \
			"4449c5697b326919703bac031cae7f60"
#define ED_ANSWER_HEX	"a301667061636b6564025871" \
	"e30610e8a162115960fe1ec223e6529c9f4b6e80200dcb5e5c321c8af1e2b1bf" \
	"41000000003934e340407e4da9af808851d9de98d70010" \
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" \
	"a4010103272006215820" \
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" \
	"03a263616c6727637369675840" \
	"7a3556c25d056288c71ad5dcf08627580c2706b196080afcb6a280e6661f116b" \
	"8f5c457a2089a5bdd1ca8eb2e149661a4701d3911d49911946273583d512a90d"

static void
ed_cdh(uint8_t cdh[32])
{
	size_t i;

	for (i = 0; i < 32; i++)
		cdh[i] = (uint8_t)i;
}

static void
ed25519_answer_vector(void)
{
	struct skp_ctap_mc_resp mc, back;
	struct skp_ed25519_key k;
	struct skp_verify_cred out;
	struct skp_authdata ad;
	uint8_t cdh[32], *enc = NULL, *want, *seed;
	size_t n, wl, i;

	ed_cdh(cdh);
	seed = skp_test_unhex(ED_SEED_HEX, &n);
	REQUIRE(skp_ed25519_from_private(seed, &k) == SKP_OK);
	memset(&ad, 0, sizeof(ad));
	memset(&mc, 0, sizeof(mc));
	REQUIRE(skp_sha256(RP, strlen(RP), ad.rp_id_hash) == SKP_OK);
	ad.flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_AT;
	memcpy(ad.aaguid, skp_authdata_aaguid, 16);
	for (i = 0; i < 16; i++)
		ad.cred_id[i] = (uint8_t)(0xa0 + i);
	ad.cred_id_len = 16;
	ad.alg = SKP_COSE_ALG_EDDSA;
	memcpy(ad.pub, k.pub, SKP_ED25519_PUB_LEN);
	REQUIRE(skp_authdata_build(&ad, mc.authdata, sizeof(mc.authdata),
	    &mc.authdata_len) == SKP_OK);
	REQUIRE(skp_authdata_sign_ed25519(&k, mc.authdata, mc.authdata_len,
	    cdh, mc.sig) == SKP_OK);
	mc.sig_len = SKP_ED25519_SIG_LEN;
	mc.alg = SKP_CTAP_COSE_EDDSA;
	CHECK_RC(skp_ctap_mc_resp_encode(&mc, &enc, &n), SKP_OK);
	want = skp_test_unhex(ED_ANSWER_HEX, &wl);
	CHECK(n == wl && wl == 202);
	CHECK_MEM(enc, want, wl);
	CHECK_RC(skp_ctap_mc_resp_decode(want, wl, &back), SKP_OK);
	CHECK(back.alg == -8 && back.sig_len == 64);
	/* libfido2 (COSE_EDDSA) verifies it; the key is RFC 8032's. */
	CHECK_RC(skp_verify_make_credential(RP, cdh, back.authdata,
	    back.authdata_len, "packed", back.alg, back.sig, back.sig_len, 0,
	    &out), SKP_OK);
	CHECK(out.alg == -8 && out.pub_len == 32);
	CHECK_MEM(out.pub, k.pub, 32);
	CHECK(out.cred_id_len == 16 && out.cred_id[0] == 0xa0);
	CHECK(out.flags == (SKP_AUTHDATA_UP | SKP_AUTHDATA_AT));
	/* UV was not given: verify-required refuses it. */
	CHECK_RC(skp_verify_make_credential(RP, cdh, back.authdata,
	    back.authdata_len, "packed", back.alg, back.sig, back.sig_len, 1,
	    &out), SKP_ERR_VERIFY);
	skp_wipe(&k, sizeof(k));
	free(enc);
	free(want);
	free(seed);
}

static void
ed25519_answer_tampered(void)
{
	struct skp_ctap_mc_resp m;
	struct skp_verify_cred out;
	struct skp_ed25519_key other;
	uint8_t cdh[32], *want;
	size_t wl;

	ed_cdh(cdh);
	want = skp_test_unhex(ED_ANSWER_HEX, &wl);
	REQUIRE(skp_ctap_mc_resp_decode(want, wl, &m) == SKP_OK);
	/* The attStmt names ES256 for an Ed25519 key. */
	CHECK_RC(skp_verify_make_credential(RP, cdh, m.authdata,
	    m.authdata_len, "packed", -7, m.sig, m.sig_len, 0, &out),
	    SKP_ERR_VERIFY);
	/* One bit of the signature. */
	m.sig[0] ^= 0x01;
	CHECK_RC(skp_verify_make_credential(RP, cdh, m.authdata,
	    m.authdata_len, "packed", -8, m.sig, m.sig_len, 0, &out),
	    SKP_ERR_VERIFY);
	m.sig[0] ^= 0x01;
	/* Signed by another key than the one in authData. */
	REQUIRE(skp_ed25519_generate(&other) == SKP_OK);
	REQUIRE(skp_authdata_sign_ed25519(&other, m.authdata,
	    m.authdata_len, cdh, m.sig) == SKP_OK);
	CHECK_RC(skp_verify_make_credential(RP, cdh, m.authdata,
	    m.authdata_len, "packed", -8, m.sig, m.sig_len, 0, &out),
	    SKP_ERR_VERIFY);
	/* The key in authData replaced by the other one (signed by it). */
	memcpy(m.authdata + m.authdata_len - 32, other.pub, 32);
	REQUIRE(skp_authdata_sign_ed25519(&other, m.authdata,
	    m.authdata_len, cdh, m.sig) == SKP_OK);
	CHECK_RC(skp_verify_make_credential(RP, cdh, m.authdata,
	    m.authdata_len, "packed", -8, m.sig, m.sig_len, 0, &out), SKP_OK);
	CHECK_MEM(out.pub, other.pub, 32);
	/* A 63-byte signature. */
	CHECK_RC(skp_verify_make_credential(RP, cdh, m.authdata,
	    m.authdata_len, "packed", -8, m.sig, 63, 0, &out),
	    SKP_ERR_VERIFY);
	/* A wrong clientDataHash. */
	cdh[0] ^= 1;
	CHECK_RC(skp_verify_make_credential(RP, cdh, m.authdata,
	    m.authdata_len, "packed", -8, m.sig, m.sig_len, 0, &out),
	    SKP_ERR_VERIFY);
	skp_wipe(&other, sizeof(other));
	free(want);
}

static void
ed25519_assertion(void)
{
	struct skp_authdata ad;
	struct skp_ed25519_key k, other;
	uint8_t a[SKP_AUTHDATA_BASE_LEN], cdh[32], sig[64], flags = 0;
	uint8_t small[32];
	uint32_t counter = 0;
	size_t n;

	ed_cdh(cdh);
	REQUIRE(skp_ed25519_generate(&k) == SKP_OK);
	REQUIRE(skp_ed25519_generate(&other) == SKP_OK);
	memset(&ad, 0, sizeof(ad));
	REQUIRE(skp_sha256(RP, strlen(RP), ad.rp_id_hash) == SKP_OK);
	ad.flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_UV;
	ad.sign_count = 9;
	REQUIRE(skp_authdata_build(&ad, a, sizeof(a), &n) == SKP_OK);
	REQUIRE(n == 37);
	REQUIRE(skp_authdata_sign_ed25519(&k, a, n, cdh, sig) == SKP_OK);
	CHECK_RC(skp_verify_assertion_alg(RP, cdh, -8, k.pub, a, n, sig, 64,
	    1, 1, &flags, &counter), SKP_OK);
	CHECK(counter == 9 && flags == (SKP_AUTHDATA_UP | SKP_AUTHDATA_UV));
	/* Another key, a flipped bit, a short signature, ES256's path. */
	CHECK_RC(skp_verify_assertion_alg(RP, cdh, -8, other.pub, a, n, sig,
	    64, 1, 0, &flags, &counter), SKP_ERR_VERIFY);
	sig[33] ^= 0x80;
	CHECK_RC(skp_verify_assertion_alg(RP, cdh, -8, k.pub, a, n, sig, 64,
	    1, 0, &flags, &counter), SKP_ERR_VERIFY);
	sig[33] ^= 0x80;
	CHECK_RC(skp_verify_assertion_alg(RP, cdh, -8, k.pub, a, n, sig, 63,
	    1, 0, &flags, &counter), SKP_ERR_VERIFY);
	CHECK(skp_verify_assertion_alg(RP, cdh, -7, k.pub, a, n, sig, 64, 1,
	    0, &flags, &counter) != SKP_OK);
	CHECK_RC(skp_verify_assertion_alg(RP, cdh, -257, k.pub, a, n, sig,
	    64, 1, 0, &flags, &counter), SKP_ERR_INVALID);
	/* A key of small order (y = 1) is refused before libfido2. */
	memset(small, 0, sizeof(small));
	small[0] = 1;
	CHECK_RC(skp_verify_assertion_alg(RP, cdh, -8, small, a, n, sig, 64,
	    1, 0, &flags, &counter), SKP_ERR_VERIFY);
	/* UV asked for and missing. */
	ad.flags = SKP_AUTHDATA_UP;
	REQUIRE(skp_authdata_build(&ad, a, sizeof(a), &n) == SKP_OK);
	REQUIRE(skp_authdata_sign_ed25519(&k, a, n, cdh, sig) == SKP_OK);
	CHECK_RC(skp_verify_assertion_alg(RP, cdh, -8, k.pub, a, n, sig, 64,
	    1, 1, &flags, &counter), SKP_ERR_VERIFY);
	skp_wipe(&k, sizeof(k));
	skp_wipe(&other, sizeof(other));
}

static const struct skp_test_case cases[] = {
	{ "ed25519_answer_vector", ed25519_answer_vector },
	{ "ed25519_answer_tampered", ed25519_answer_tampered },
	{ "ed25519_assertion", ed25519_assertion },
	{ "cred_verifies", cred_verifies },
	{ "cred_libfido2_direct", cred_libfido2_direct },
	{ "cred_refuses_tampered_authdata", cred_refuses_tampered_authdata },
	{ "cred_refuses_tampered_signature", cred_refuses_tampered_signature },
	{ "cred_refuses_wrong_rp", cred_refuses_wrong_rp },
	{ "cred_refuses_wrong_cdh", cred_refuses_wrong_cdh },
	{ "cred_refuses_other_signer", cred_refuses_other_signer },
	{ "cred_refuses_missing_flags", cred_refuses_missing_flags },
	{ "cred_refuses_extensions", cred_refuses_extensions },
	{ "cred_refuses_format", cred_refuses_format },
	{ "assert_verifies", assert_verifies },
	{ "assert_libfido2_direct", assert_libfido2_direct },
	{ "assert_refuses_tampered_authdata",
	    assert_refuses_tampered_authdata },
	{ "assert_refuses_tampered_signature",
	    assert_refuses_tampered_signature },
	{ "assert_refuses_wrong_rp", assert_refuses_wrong_rp },
	{ "assert_refuses_wrong_cdh", assert_refuses_wrong_cdh },
	{ "assert_refuses_wrong_key", assert_refuses_wrong_key },
	{ "assert_refuses_missing_flags", assert_refuses_missing_flags },
	{ "assert_refuses_long_authdata", assert_refuses_long_authdata },
	{ "wire_roundtrip_verifies", wire_roundtrip_verifies },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
