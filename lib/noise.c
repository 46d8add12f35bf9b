/* Noise rev 34 handshakes IKpsk0 and KKpsk0 with P256, AESGCM, SHA256. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"

#define HASHLEN		SKP_SHA256_LEN
#define PUBLEN		SKP_P256_PUB_LEN
#define TAGLEN		SKP_AESGCM_TAG_LEN
/* The spec reserves the last nonce value: it is never used. */
#define NONCE_LAST	UINT64_MAX

/*
 * Both names are 31 bytes, so h starts as the name padded with zeros
 * (the spec hashes only names longer than HASHLEN).
 */
#define IK_NAME		"Noise_IKpsk0_P256_AESGCM_SHA256"
#define KK_NAME		"Noise_KKpsk0_P256_AESGCM_SHA256"

enum token { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS, T_PSK };

#define MAX_TOKENS	6

/* The message patterns; the pre-messages are in noise_start(). */
static const uint8_t ik_tokens[2][MAX_TOKENS] = {
	{ T_PSK, T_E, T_ES, T_S, T_SS, T_END },
	{ T_E, T_EE, T_SE, T_END },
};
static const uint8_t kk_tokens[2][MAX_TOKENS] = {
	{ T_PSK, T_E, T_ES, T_SS, T_END },
	{ T_E, T_EE, T_SE, T_END },
};

struct cipher {
	uint8_t		k[SKP_AESGCM_KEY_LEN];
	uint64_t	n;
	int		has_k;
};

struct skp_noise {
	int			pattern;
	int			role;
	int			msgno;		/* handshake messages done */
	int			started;
	int			split;
	int			dead;
	struct cipher		cs;
	uint8_t			ck[HASHLEN];
	uint8_t			h[HASHLEN];
	struct skp_p256_key	s;
	struct skp_p256_key	e;
	uint8_t			rs[PUBLEN];
	uint8_t			re[PUBLEN];
	uint8_t			psk[SKP_NOISE_PSK_LEN];
	int			has_s;
	int			has_e;
	int			has_rs;
	int			has_psk;
	uint8_t			prologue[SKP_NOISE_PROLOGUE_MAX];
	size_t			prologue_len;
	/* A message being built, or a payload being decrypted. */
	uint8_t			msg[SKP_NOISE_MAX_MSG];
};

struct skp_noise_transport {
	struct cipher	send;
	struct cipher	recv;
	int		initiator;
	int		dead;
	uint8_t		msg[SKP_NOISE_MAX_MSG];
};

static void
nonce_of(uint64_t n, uint8_t out[SKP_AESGCM_NONCE_LEN])
{
	size_t i;

	memset(out, 0, 4);
	for (i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (56 - 8 * i));
}

static void
cipher_init(struct cipher *c, const uint8_t k[SKP_AESGCM_KEY_LEN])
{
	memcpy(c->k, k, sizeof(c->k));
	c->n = 0;
	c->has_k = 1;
}

/* EncryptWithAd: out gets ptlen (+ TAGLEN with a key) bytes. */
static int
cipher_encrypt(struct cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out)
{
	uint8_t nonce[SKP_AESGCM_NONCE_LEN];
	int rc;

	if (!c->has_k) {
		if (ptlen > 0)
			memmove(out, pt, ptlen);
		return SKP_OK;
	}
	if (c->n == NONCE_LAST)
		return SKP_ERR_LIMIT;
	nonce_of(c->n, nonce);
	if ((rc = skp_aesgcm_seal(c->k, nonce, ad, adlen, pt, ptlen,
	    out)) == SKP_OK)
		c->n++;
	return rc;
}

/* DecryptWithAd: out gets ctlen (- TAGLEN with a key) bytes. */
static int
cipher_decrypt(struct cipher *c, const uint8_t *ad, size_t adlen,
    const uint8_t *ct, size_t ctlen, uint8_t *out)
{
	uint8_t nonce[SKP_AESGCM_NONCE_LEN];
	int rc;

	if (!c->has_k) {
		if (ctlen > 0)
			memmove(out, ct, ctlen);
		return SKP_OK;
	}
	if (ctlen < TAGLEN)
		return SKP_ERR_TRUNCATED;
	if (c->n == NONCE_LAST)
		return SKP_ERR_LIMIT;
	nonce_of(c->n, nonce);
	if ((rc = skp_aesgcm_open(c->k, nonce, ad, adlen, ct, ctlen,
	    out)) == SKP_OK)
		c->n++;
	return rc;
}

/*
 * HKDF(chaining_key, input_key_material, num_outputs) of the spec, on
 * HMAC-SHA256: two outputs, or three when o3 is not NULL. The outputs
 * may alias ck, which is read only before the first one is written.
 */
static int
noise_hkdf(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t ikmlen,
    uint8_t o1[HASHLEN], uint8_t o2[HASHLEN], uint8_t *o3)
{
	static const uint8_t empty[1];
	uint8_t tk[HASHLEN], in[HASHLEN + 1], t1[HASHLEN], t2[HASHLEN];
	int rc;

	if ((rc = skp_hmac_sha256(ck, HASHLEN, ikmlen > 0 ? ikm : empty,
	    ikmlen, tk)) != SKP_OK)
		goto out;
	in[0] = 0x01;
	if ((rc = skp_hmac_sha256(tk, HASHLEN, in, 1, t1)) != SKP_OK)
		goto out;
	memcpy(in, t1, HASHLEN);
	in[HASHLEN] = 0x02;
	if ((rc = skp_hmac_sha256(tk, HASHLEN, in, sizeof(in), t2)) != SKP_OK)
		goto out;
	if (o3 != NULL) {
		memcpy(in, t2, HASHLEN);
		in[HASHLEN] = 0x03;
		if ((rc = skp_hmac_sha256(tk, HASHLEN, in, sizeof(in),
		    o3)) != SKP_OK)
			goto out;
	}
	memcpy(o1, t1, HASHLEN);
	memcpy(o2, t2, HASHLEN);
out:
	skp_wipe(tk, sizeof(tk));
	skp_wipe(in, sizeof(in));
	skp_wipe(t1, sizeof(t1));
	skp_wipe(t2, sizeof(t2));
	return rc;
}

/* MixHash: h = SHA256(h || data); callers keep len <= SKP_NOISE_MAX_MSG. */
static int
mix_hash(skp_noise_t *st, const uint8_t *data, size_t len)
{
	uint8_t h[HASHLEN];
	int rc;

	if (len > SKP_NOISE_MAX_MSG)
		return SKP_ERR_INTERNAL;
	/* Hashed in two parts: no 64 KiB copy buffer in every handshake. */
	if ((rc = skp_sha256_2(st->h, HASHLEN, len > 0 ? data :
	    (const uint8_t *)"", len, h)) == SKP_OK)
		memcpy(st->h, h, HASHLEN);
	skp_wipe(h, sizeof(h));
	return rc;
}

static int
mix_key(skp_noise_t *st, const uint8_t *ikm, size_t len)
{
	uint8_t k[HASHLEN];
	int rc;

	if ((rc = noise_hkdf(st->ck, ikm, len, st->ck, k, NULL)) == SKP_OK)
		cipher_init(&st->cs, k);
	skp_wipe(k, sizeof(k));
	return rc;
}

static int
mix_key_and_hash(skp_noise_t *st, const uint8_t *ikm, size_t len)
{
	uint8_t th[HASHLEN], k[HASHLEN];
	int rc;

	if ((rc = noise_hkdf(st->ck, ikm, len, st->ck, th, k)) != SKP_OK ||
	    (rc = mix_hash(st, th, sizeof(th))) != SKP_OK)
		goto out;
	cipher_init(&st->cs, k);
out:
	skp_wipe(th, sizeof(th));
	skp_wipe(k, sizeof(k));
	return rc;
}

static int
encrypt_and_hash(skp_noise_t *st, const uint8_t *pt, size_t len,
    uint8_t *out, size_t *outlen)
{
	size_t n = len + (st->cs.has_k ? TAGLEN : 0);
	int rc;

	if ((rc = cipher_encrypt(&st->cs, st->h, HASHLEN, pt, len,
	    out)) != SKP_OK ||
	    (rc = mix_hash(st, out, n)) != SKP_OK)
		return rc;
	*outlen = n;
	return SKP_OK;
}

static int
decrypt_and_hash(skp_noise_t *st, const uint8_t *ct, size_t len,
    uint8_t *out)
{
	int rc;

	if ((rc = cipher_decrypt(&st->cs, st->h, HASHLEN, ct, len,
	    out)) != SKP_OK)
		return rc;
	return mix_hash(st, ct, len);
}

static int
mix_dh(skp_noise_t *st, const struct skp_p256_key *k,
    const uint8_t pub[PUBLEN])
{
	uint8_t dh[SKP_P256_DH_LEN];
	int rc;

	if ((rc = skp_p256_ecdh(k, pub, dh)) == SKP_OK)
		rc = mix_key(st, dh, sizeof(dh));
	skp_wipe(dh, sizeof(dh));
	return rc;
}

/* The tokens that neither send nor receive bytes. */
static int
key_token(skp_noise_t *st, int tok)
{
	int initiator = st->role == SKP_NOISE_INITIATOR;

	switch (tok) {
	case T_EE:
		return mix_dh(st, &st->e, st->re);
	case T_ES:
		return initiator ? mix_dh(st, &st->e, st->rs) :
		    mix_dh(st, &st->s, st->re);
	case T_SE:
		return initiator ? mix_dh(st, &st->s, st->re) :
		    mix_dh(st, &st->e, st->rs);
	case T_SS:
		return mix_dh(st, &st->s, st->rs);
	case T_PSK:
		return mix_key_and_hash(st, st->psk, sizeof(st->psk));
	default:
		return SKP_ERR_INTERNAL;
	}
}

static const uint8_t *
tokens_of(const skp_noise_t *st)
{
	return st->pattern == SKP_NOISE_IKPSK0 ? ik_tokens[st->msgno] :
	    kk_tokens[st->msgno];
}

/* Bytes of the current message besides the payload. */
static size_t
overhead_of(const skp_noise_t *st)
{
	const uint8_t *t = tokens_of(st);
	int has_k = st->cs.has_k;
	size_t i, n = 0;

	for (i = 0; i < MAX_TOKENS && t[i] != T_END; i++) {
		if (t[i] == T_E)
			n += PUBLEN;
		else if (t[i] == T_S)
			n += PUBLEN + (has_k ? (size_t)TAGLEN : 0);
		/* psk mode: e is a MixKey too; every other token is one. */
		has_k = 1;
	}
	return n + (has_k ? (size_t)TAGLEN : 0);
}

/* A key pair whose public half really is the point of its scalar. */
static int
check_keypair(const struct skp_p256_key *k)
{
	struct skp_p256_key t;
	int rc;

	if ((rc = skp_p256_from_private(k->priv, &t)) == SKP_OK &&
	    !skp_ct_equal(t.pub, k->pub, PUBLEN))
		rc = SKP_ERR_INVALID;
	skp_wipe(&t, sizeof(t));
	return rc;
}

/* Wipe every secret and refuse everything from now on. */
static void
noise_kill(skp_noise_t *st)
{
	skp_wipe(&st->cs, sizeof(st->cs));
	skp_wipe(st->ck, sizeof(st->ck));
	skp_wipe(st->h, sizeof(st->h));
	skp_wipe(&st->s, sizeof(st->s));
	skp_wipe(&st->e, sizeof(st->e));
	skp_wipe(st->rs, sizeof(st->rs));
	skp_wipe(st->re, sizeof(st->re));
	skp_wipe(st->psk, sizeof(st->psk));
	st->has_s = st->has_e = st->has_rs = st->has_psk = 0;
	st->dead = 1;
}

/* After the last message only h, ck and the remote static stay. */
static void
noise_finish(skp_noise_t *st)
{
	skp_wipe(&st->cs, sizeof(st->cs));
	skp_wipe(&st->s, sizeof(st->s));
	skp_wipe(&st->e, sizeof(st->e));
	skp_wipe(st->re, sizeof(st->re));
	skp_wipe(st->psk, sizeof(st->psk));
	st->has_s = st->has_e = st->has_psk = 0;
}

/* Initialize() of the spec, at the first message, when all keys are in. */
static int
noise_start(skp_noise_t *st)
{
	const char *name;
	size_t len;
	int learns_rs, rc;

	learns_rs = st->pattern == SKP_NOISE_IKPSK0 &&
	    st->role == SKP_NOISE_RESPONDER;
	if (!st->has_s || !st->has_psk || (!learns_rs && !st->has_rs))
		return SKP_ERR_STATE;
	name = st->pattern == SKP_NOISE_IKPSK0 ? IK_NAME : KK_NAME;
	len = strlen(name);
	memset(st->h, 0, sizeof(st->h));
	if (len <= HASHLEN)
		memcpy(st->h, name, len);
	else if ((rc = skp_sha256(name, len, st->h)) != SKP_OK)
		return rc;
	memcpy(st->ck, st->h, HASHLEN);
	memset(&st->cs, 0, sizeof(st->cs));
	if ((rc = mix_hash(st, st->prologue, st->prologue_len)) != SKP_OK)
		return rc;
	/* Pre-messages: the initiator's keys first, then the responder's. */
	if (st->pattern == SKP_NOISE_KKPSK0 &&
	    (rc = mix_hash(st, st->role == SKP_NOISE_INITIATOR ? st->s.pub :
	    st->rs, PUBLEN)) != SKP_OK)
		return rc;
	if ((rc = mix_hash(st, st->role == SKP_NOISE_INITIATOR ? st->rs :
	    st->s.pub, PUBLEN)) != SKP_OK)
		return rc;
	st->started = 1;
	return SKP_OK;
}

skp_noise_t *
skp_noise_new(int pattern, int role)
{
	skp_noise_t *st;
	const char *prologue;

	if ((pattern != SKP_NOISE_IKPSK0 && pattern != SKP_NOISE_KKPSK0) ||
	    (role != SKP_NOISE_INITIATOR && role != SKP_NOISE_RESPONDER))
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->pattern = pattern;
	st->role = role;
	prologue = pattern == SKP_NOISE_IKPSK0 ? SKP_NOISE_PAIR_PROLOGUE :
	    SKP_NOISE_REQUEST_PROLOGUE;
	st->prologue_len = strlen(prologue);
	memcpy(st->prologue, prologue, st->prologue_len);
	return st;
}

void
skp_noise_free(skp_noise_t **stp)
{
	skp_noise_t *st;

	if (stp == NULL || (st = *stp) == NULL)
		return;
	skp_wipe(st, sizeof(*st));
	free(st);
	*stp = NULL;
}

/* Setters run only before the first message; any refusal kills. */
static int
setter_ok(skp_noise_t *st)
{
	if (st->dead || st->started) {
		noise_kill(st);
		return 0;
	}
	return 1;
}

/* Take a checked key pair into one of the state's slots (s or e). */
static int
set_keypair(skp_noise_t *st, const struct skp_p256_key *k,
    struct skp_p256_key *slot, int *has)
{
	int rc;

	if (st == NULL)
		return SKP_ERR_INVALID;
	if (!setter_ok(st))
		return SKP_ERR_STATE;
	if (k == NULL)
		rc = SKP_ERR_INVALID;
	else if ((rc = check_keypair(k)) == SKP_OK) {
		memcpy(slot, k, sizeof(*slot));
		*has = 1;
	}
	if (rc != SKP_OK)
		noise_kill(st);
	return rc;
}

int
skp_noise_set_local_static(skp_noise_t *st, const struct skp_p256_key *k)
{
	return set_keypair(st, k, st != NULL ? &st->s : NULL,
	    st != NULL ? &st->has_s : NULL);
}

int
skp_noise_set_ephemeral_for_test(skp_noise_t *st,
    const struct skp_p256_key *k)
{
	return set_keypair(st, k, st != NULL ? &st->e : NULL,
	    st != NULL ? &st->has_e : NULL);
}

int
skp_noise_set_remote_static(skp_noise_t *st,
    const uint8_t pub[SKP_P256_PUB_LEN])
{
	int rc;

	if (st == NULL)
		return SKP_ERR_INVALID;
	if (!setter_ok(st))
		return SKP_ERR_STATE;
	/* The IK responder must learn the key from message 1 instead. */
	if (pub == NULL || (st->pattern == SKP_NOISE_IKPSK0 &&
	    st->role == SKP_NOISE_RESPONDER))
		rc = SKP_ERR_INVALID;
	else if ((rc = skp_p256_check_public(pub)) == SKP_OK) {
		memcpy(st->rs, pub, PUBLEN);
		st->has_rs = 1;
	}
	if (rc != SKP_OK)
		noise_kill(st);
	return rc;
}

int
skp_noise_set_psk(skp_noise_t *st, const uint8_t psk[SKP_NOISE_PSK_LEN])
{
	if (st == NULL)
		return SKP_ERR_INVALID;
	if (!setter_ok(st))
		return SKP_ERR_STATE;
	if (psk == NULL) {
		noise_kill(st);
		return SKP_ERR_INVALID;
	}
	memcpy(st->psk, psk, sizeof(st->psk));
	st->has_psk = 1;
	return SKP_OK;
}

int
skp_noise_set_prologue(skp_noise_t *st, const void *p, size_t len)
{
	int rc = SKP_OK;

	if (st == NULL)
		return SKP_ERR_INVALID;
	if (!setter_ok(st))
		return SKP_ERR_STATE;
	if (len > SKP_NOISE_PROLOGUE_MAX)
		rc = SKP_ERR_TOO_LARGE;
	else if (p == NULL && len > 0)
		rc = SKP_ERR_INVALID;
	if (rc != SKP_OK) {
		noise_kill(st);
		return rc;
	}
	if (len > 0)
		memcpy(st->prologue, p, len);
	st->prologue_len = len;
	return SKP_OK;
}

int
skp_noise_next(const skp_noise_t *st)
{
	if (st == NULL || st->dead || st->split)
		return SKP_NOISE_NEXT_NONE;
	if (st->msgno >= 2)
		return SKP_NOISE_NEXT_SPLIT;
	/* The initiator writes message 1, the responder message 2. */
	return (st->msgno == 0) == (st->role == SKP_NOISE_INITIATOR) ?
	    SKP_NOISE_NEXT_WRITE : SKP_NOISE_NEXT_READ;
}

int
skp_noise_is_done(const skp_noise_t *st)
{
	return st != NULL && !st->dead && st->msgno >= 2;
}

int
skp_noise_write_message(skp_noise_t *st, const void *payload,
    size_t payloadlen, skp_buf_t *out)
{
	const uint8_t *t;
	size_t i, off = 0, n, over;
	int rc = SKP_ERR_STATE;

	if (st == NULL)
		return SKP_ERR_INVALID;
	if (skp_noise_next(st) != SKP_NOISE_NEXT_WRITE)
		goto out;
	rc = SKP_ERR_INVALID;
	if (out == NULL || (payload == NULL && payloadlen > 0))
		goto out;
	if (!st->started && (rc = noise_start(st)) != SKP_OK)
		goto out;
	over = overhead_of(st);
	rc = SKP_ERR_TOO_LARGE;
	if (payloadlen > SKP_NOISE_MAX_MSG - over ||
	    skp_buf_cap(out) - skp_buf_len(out) < over + payloadlen)
		goto out;
	t = tokens_of(st);
	for (i = 0; i < MAX_TOKENS && t[i] != T_END; i++) {
		switch (t[i]) {
		case T_E:
			if (!st->has_e &&
			    (rc = skp_p256_generate(&st->e)) != SKP_OK)
				goto out;
			st->has_e = 1;
			memcpy(st->msg + off, st->e.pub, PUBLEN);
			off += PUBLEN;
			if ((rc = mix_hash(st, st->e.pub, PUBLEN)) != SKP_OK ||
			    (rc = mix_key(st, st->e.pub, PUBLEN)) != SKP_OK)
				goto out;
			break;
		case T_S:
			if ((rc = encrypt_and_hash(st, st->s.pub, PUBLEN,
			    st->msg + off, &n)) != SKP_OK)
				goto out;
			off += n;
			break;
		default:
			if ((rc = key_token(st, t[i])) != SKP_OK)
				goto out;
			break;
		}
	}
	if ((rc = encrypt_and_hash(st, payload, payloadlen, st->msg + off,
	    &n)) != SKP_OK)
		goto out;
	off += n;
	if ((rc = skp_buf_put(out, st->msg, off)) != SKP_OK)
		goto out;
	if (++st->msgno == 2)
		noise_finish(st);
	rc = SKP_OK;
out:
	skp_wipe(st->msg, off);
	if (rc != SKP_OK)
		noise_kill(st);
	return rc;
}

int
skp_noise_read_message(skp_noise_t *st, const void *msg, size_t msglen,
    skp_buf_t *out)
{
	skp_reader_t r;
	const uint8_t *t, *p;
	uint8_t pub[PUBLEN];
	size_t i, n, plen = 0;
	int rc = SKP_ERR_STATE;

	if (st == NULL)
		return SKP_ERR_INVALID;
	if (skp_noise_next(st) != SKP_NOISE_NEXT_READ)
		goto out;
	rc = SKP_ERR_INVALID;
	if (out == NULL || (msg == NULL && msglen > 0))
		goto out;
	rc = SKP_ERR_TOO_LARGE;
	if (msglen > SKP_NOISE_MAX_MSG)
		goto out;
	if (!st->started && (rc = noise_start(st)) != SKP_OK)
		goto out;
	rc = SKP_ERR_TRUNCATED;
	if (msglen < overhead_of(st))
		goto out;
	skp_reader_init(&r, msg, msglen);
	t = tokens_of(st);
	for (i = 0; i < MAX_TOKENS && t[i] != T_END; i++) {
		switch (t[i]) {
		case T_E:
			if ((rc = skp_reader_ptr(&r, &p, PUBLEN)) != SKP_OK ||
			    (rc = skp_p256_check_public(p)) != SKP_OK)
				goto out;
			memcpy(st->re, p, PUBLEN);
			if ((rc = mix_hash(st, st->re, PUBLEN)) != SKP_OK ||
			    (rc = mix_key(st, st->re, PUBLEN)) != SKP_OK)
				goto out;
			break;
		case T_S:
			n = PUBLEN + (st->cs.has_k ? TAGLEN : 0);
			if ((rc = skp_reader_ptr(&r, &p, n)) != SKP_OK ||
			    (rc = decrypt_and_hash(st, p, n, pub)) != SKP_OK ||
			    (rc = skp_p256_check_public(pub)) != SKP_OK)
				goto out;
			memcpy(st->rs, pub, PUBLEN);
			st->has_rs = 1;
			break;
		default:
			if ((rc = key_token(st, t[i])) != SKP_OK)
				goto out;
			break;
		}
	}
	n = skp_reader_left(&r);
	rc = SKP_ERR_TRUNCATED;
	if (st->cs.has_k && n < TAGLEN)
		goto out;
	plen = n - (st->cs.has_k ? TAGLEN : 0);
	rc = SKP_ERR_TOO_LARGE;
	if (skp_buf_cap(out) - skp_buf_len(out) < plen)
		goto out;
	if ((rc = skp_reader_ptr(&r, &p, n)) != SKP_OK ||
	    (rc = decrypt_and_hash(st, p, n, st->msg)) != SKP_OK ||
	    (rc = skp_buf_put(out, st->msg, plen)) != SKP_OK)
		goto out;
	if (++st->msgno == 2)
		noise_finish(st);
	rc = SKP_OK;
out:
	skp_wipe(st->msg, plen);
	skp_wipe(pub, sizeof(pub));
	if (rc != SKP_OK)
		noise_kill(st);
	return rc;
}

int
skp_noise_handshake_hash(const skp_noise_t *st, uint8_t h[SKP_NOISE_HASH_LEN])
{
	if (st == NULL || h == NULL)
		return SKP_ERR_INVALID;
	if (st->dead || st->msgno < 2)
		return SKP_ERR_STATE;
	memcpy(h, st->h, HASHLEN);
	return SKP_OK;
}

int
skp_noise_remote_static(const skp_noise_t *st, uint8_t pub[SKP_P256_PUB_LEN])
{
	if (st == NULL || pub == NULL)
		return SKP_ERR_INVALID;
	if (st->dead || !st->has_rs)
		return SKP_ERR_STATE;
	memcpy(pub, st->rs, PUBLEN);
	return SKP_OK;
}

int
skp_noise_split(skp_noise_t *st, skp_noise_transport_t **tp)
{
	skp_noise_transport_t *t = NULL;
	uint8_t k1[HASHLEN], k2[HASHLEN];
	int rc = SKP_ERR_STATE;

	if (st == NULL)
		return SKP_ERR_INVALID;
	if (skp_noise_next(st) != SKP_NOISE_NEXT_SPLIT)
		goto out;
	rc = SKP_ERR_INVALID;
	if (tp == NULL)
		goto out;
	rc = SKP_ERR_NOMEM;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto out;
	if ((rc = noise_hkdf(st->ck, NULL, 0, k1, k2, NULL)) != SKP_OK)
		goto out;
	/* k1 carries initiator to responder, k2 the answers. */
	t->initiator = st->role == SKP_NOISE_INITIATOR;
	cipher_init(&t->send, t->initiator ? k1 : k2);
	cipher_init(&t->recv, t->initiator ? k2 : k1);
	st->split = 1;
	skp_wipe(st->ck, sizeof(st->ck));
	*tp = t;
	t = NULL;
	rc = SKP_OK;
out:
	skp_wipe(k1, sizeof(k1));
	skp_wipe(k2, sizeof(k2));
	skp_noise_transport_free(&t);
	if (rc != SKP_OK)
		noise_kill(st);
	return rc;
}

static void
transport_kill(skp_noise_transport_t *t)
{
	skp_wipe(&t->send, sizeof(t->send));
	skp_wipe(&t->recv, sizeof(t->recv));
	t->dead = 1;
}

int
skp_noise_transport_encrypt(skp_noise_transport_t *t, const void *pt,
    size_t len, skp_buf_t *out)
{
	size_t n = 0;
	int rc = SKP_ERR_STATE;

	if (t == NULL)
		return SKP_ERR_INVALID;
	if (t->dead)
		goto out;
	rc = SKP_ERR_INVALID;
	if (out == NULL || (pt == NULL && len > 0))
		goto out;
	rc = SKP_ERR_TOO_LARGE;
	if (len > SKP_NOISE_MAX_PLAINTEXT ||
	    skp_buf_cap(out) - skp_buf_len(out) < len + TAGLEN)
		goto out;
	if ((rc = cipher_encrypt(&t->send, NULL, 0, pt, len,
	    t->msg)) != SKP_OK)
		goto out;
	n = len + TAGLEN;
	rc = skp_buf_put(out, t->msg, n);
out:
	skp_wipe(t->msg, n);
	if (rc != SKP_OK)
		transport_kill(t);
	return rc;
}

int
skp_noise_transport_decrypt(skp_noise_transport_t *t, const void *ct,
    size_t len, skp_buf_t *out)
{
	size_t n = 0;
	int rc = SKP_ERR_STATE;

	if (t == NULL)
		return SKP_ERR_INVALID;
	if (t->dead)
		goto out;
	rc = SKP_ERR_INVALID;
	if (out == NULL || (ct == NULL && len > 0))
		goto out;
	rc = SKP_ERR_TOO_LARGE;
	if (len > SKP_NOISE_MAX_MSG)
		goto out;
	rc = SKP_ERR_TRUNCATED;
	if (len < TAGLEN)
		goto out;
	rc = SKP_ERR_TOO_LARGE;
	if (skp_buf_cap(out) - skp_buf_len(out) < len - TAGLEN)
		goto out;
	if ((rc = cipher_decrypt(&t->recv, NULL, 0, ct, len,
	    t->msg)) != SKP_OK)
		goto out;
	n = len - TAGLEN;
	rc = skp_buf_put(out, t->msg, n);
out:
	skp_wipe(t->msg, n);
	if (rc != SKP_OK)
		transport_kill(t);
	return rc;
}

void
skp_noise_transport_free(skp_noise_transport_t **tp)
{
	skp_noise_transport_t *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	skp_wipe(t, sizeof(*t));
	free(t);
	*tp = NULL;
}

int
skp_noise_transport_keys_for_test(const skp_noise_transport_t *t,
    uint8_t c1[SKP_NOISE_KEY_LEN], uint8_t c2[SKP_NOISE_KEY_LEN])
{
	if (t == NULL || c1 == NULL || c2 == NULL)
		return SKP_ERR_INVALID;
	if (t->dead)
		return SKP_ERR_STATE;
	memcpy(c1, t->initiator ? t->send.k : t->recv.k, SKP_NOISE_KEY_LEN);
	memcpy(c2, t->initiator ? t->recv.k : t->send.k, SKP_NOISE_KEY_LEN);
	return SKP_OK;
}

int
skp_noise_transport_set_nonces_for_test(skp_noise_transport_t *t,
    uint64_t send, uint64_t recv)
{
	if (t == NULL)
		return SKP_ERR_INVALID;
	if (t->dead)
		return SKP_ERR_STATE;
	t->send.n = send;
	t->recv.n = recv;
	return SKP_OK;
}
