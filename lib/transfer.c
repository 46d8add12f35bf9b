/* Moving a phone's state to another phone (docs/PROTOCOL.md section 10). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cbor.h>

#include "sk-phone/buf.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relay.h"
#include "sk-phone/transfer.h"

#define URI_PREFIX	"sk-phone://transfer?"
#define PAIR_PREFIX	"sk-phone://pair?"
#define PROLOGUE	"sk-phone transfer v1"
#define INFO_RDV	"sk-phone transfer v1 rendezvous"
#define INFO_PSK	"sk-phone transfer v1 psk"
#define INFO_CONFIRM	"sk-phone transfer v1 confirm"
#define B64_PUB_LEN	87
#define B64_SECRET_LEN	22
#define B64_RELAY_MAX	340	/* 255 bytes */
#define MSG_MAX		128	/* every message but the pieces */

enum { U_V, U_K, U_S, U_R, U_T, U_COUNT };
static const char unames[U_COUNT] = { 'v', 'k', 's', 'r', 't' };

struct span {
	const char	*p;
	size_t		 len;
};

/* ---- the URI ---- */

int
skp_transferuri_encode(const struct skp_transferuri *u, char *out,
    size_t outlen)
{
	char *k = NULL, *s = NULL, *r = NULL;
	size_t rlen;
	int n, rc;

	if (u == NULL || out == NULL)
		return SKP_ERR_INVALID;
	rlen = strnlen(u->relay, sizeof(u->relay));
	if (rlen == 0 || rlen > SKP_RELAY_URL_MAX ||
	    skp_pairuri_check_relay(u->relay, rlen) != SKP_OK)
		return SKP_ERR_INVALID;
	if ((rc = skp_b64url_encode(u->key, sizeof(u->key), &k)) != SKP_OK ||
	    (rc = skp_b64url_encode(u->secret, sizeof(u->secret), &s)) !=
	    SKP_OK ||
	    (rc = skp_b64url_encode(u->relay, rlen, &r)) != SKP_OK)
		goto out;
	n = snprintf(out, outlen, URI_PREFIX "v=%d&k=%s&s=%s&r=%s&t=%llu",
	    SKP_TRANSFER_VERSION, k, s, r, (unsigned long long)u->created);
	rc = n < 0 || (size_t)n >= outlen || n > SKP_TRANSFER_URI_MAX ?
	    SKP_ERR_TOO_LARGE : SKP_OK;
 out:
	if (s != NULL)
		skp_wipe(s, strlen(s));
	free(k);
	free(s);
	free(r);
	return rc;
}

/* Each of the five names exactly once, nothing else (section 10.1). */
static int
split_query(const char *q, size_t n, struct span val[U_COUNT])
{
	int seen[U_COUNT] = { 0 };
	size_t i = 0, end, j;
	int rc = SKP_OK;

	while (i <= n) {
		end = i;
		while (end < n && q[end] != '&')
			end++;
		if (end - i < 2 || q[i + 1] != '=')
			rc = SKP_ERR_FORMAT;
		else {
			for (j = 0; j < U_COUNT && unames[j] != q[i]; j++)
				;
			if (j == U_COUNT || seen[j]++ > 0)
				rc = SKP_ERR_FORMAT;
			else {
				val[j].p = q + i + 2;
				val[j].len = end - i - 2;
			}
		}
		i = end + 1;
	}
	/* Version first: a newer transfer may change everything else. */
	if (seen[U_V] == 1 && skp_pairuri_newer_version(val[U_V].p,
	    val[U_V].len, SKP_TRANSFER_VERSION))
		return SKP_ERR_VERSION;
	for (j = 0; j < U_COUNT; j++)
		if (seen[j] != 1)
			rc = SKP_ERR_FORMAT;
	return rc;
}

static int
b64_exact(const struct span *s, uint8_t *out, size_t want)
{
	size_t got = 0;

	if (skp_b64url_decode(s->p, s->len, out, want, &got) != SKP_OK ||
	    got != want) {
		skp_wipe(out, want);
		return SKP_ERR_FORMAT;
	}
	return SKP_OK;
}

int
skp_transferuri_parse(const char *uri, size_t len, struct skp_transferuri *u)
{
	struct skp_transferuri t;
	struct span val[U_COUNT];
	size_t plen = strlen(URI_PREFIX), rlen = 0;
	int rc;

	memset(&t, 0, sizeof(t));
	memset(val, 0, sizeof(val));
	if (uri == NULL || u == NULL)
		return SKP_ERR_INVALID;
	if (len > SKP_TRANSFER_URI_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if (len < plen || memcmp(uri, URI_PREFIX, plen) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = split_query(uri + plen, len - plen, val)) != SKP_OK)
		goto out;
	if (val[U_V].len != 1 || val[U_V].p[0] != '1' ||
	    val[U_K].len != B64_PUB_LEN || val[U_S].len != B64_SECRET_LEN) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if (val[U_R].len > B64_RELAY_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((rc = b64_exact(&val[U_K], t.key, sizeof(t.key))) != SKP_OK ||
	    (rc = b64_exact(&val[U_S], t.secret, sizeof(t.secret))) !=
	    SKP_OK)
		goto out;
	if (skp_b64url_decode(val[U_R].p, val[U_R].len, (uint8_t *)t.relay,
	    SKP_RELAY_URL_MAX, &rlen) != SKP_OK || rlen == 0 ||
	    memchr(t.relay, '\0', rlen) != NULL ||
	    skp_pairuri_check_relay(t.relay, rlen) != SKP_OK ||
	    skp_pairuri_parse_decimal(val[U_T].p, val[U_T].len,
	    &t.created) != SKP_OK) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	t.relay[rlen] = '\0';
	if ((rc = skp_p256_check_public(t.key)) != SKP_OK)
		goto out;
	memcpy(u, &t, sizeof(t));
 out:
	skp_wipe(&t, sizeof(t));
	return rc;
}

/* Pairing's rule (section 2.3), the same for both codes. */
int
skp_transferuri_check_fresh(const struct skp_transferuri *u, uint64_t now)
{
	struct skp_pairuri t;

	if (u == NULL)
		return SKP_ERR_INVALID;
	memset(&t, 0, sizeof(t));
	t.created = u->created;
	return skp_pairuri_check_fresh(&t, now);
}

/* ---- derivations: HKDF-SHA256, empty salt ---- */

int
skp_transfer_rendezvous_id(const uint8_t s[SKP_TRANSFER_SECRET_LEN],
    uint8_t out[SKP_RENDEZVOUS_ID_LEN])
{
	return skp_hkdf_sha256(NULL, 0, s, SKP_TRANSFER_SECRET_LEN, INFO_RDV,
	    strlen(INFO_RDV), out, SKP_RENDEZVOUS_ID_LEN);
}

int
skp_transfer_psk(const uint8_t s[SKP_TRANSFER_SECRET_LEN],
    uint8_t out[SKP_PSK_LEN])
{
	return skp_hkdf_sha256(NULL, 0, s, SKP_TRANSFER_SECRET_LEN, INFO_PSK,
	    strlen(INFO_PSK), out, SKP_PSK_LEN);
}

/* Four bytes, big endian, mod 10^6: six digits to compare. */
int
skp_transfer_confirm_code(const uint8_t h[SKP_HANDSHAKE_HASH_LEN],
    char text[SKP_CONFIRM_CODE_LEN + 1])
{
	uint8_t b[4];
	int rc;

	rc = skp_hkdf_sha256(NULL, 0, h, SKP_HANDSHAKE_HASH_LEN, INFO_CONFIRM,
	    strlen(INFO_CONFIRM), b, sizeof(b));
	if (rc == SKP_OK)
		snprintf(text, SKP_CONFIRM_CODE_LEN + 1, "%06lu",
		    (unsigned long)(((uint32_t)b[0] << 24 |
		    (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) %
		    1000000u));
	skp_wipe(b, sizeof(b));
	return rc;
}

/* ---- messages ---- */

static int
encode_map(cbor_item_t **m, uint8_t **out, size_t *outlen)
{
	int rc;

	rc = skp_cbor_encode(*m, MSG_MAX, out, outlen);
	skp_cbor_free(m);
	return rc;
}

int
skp_transfer_encode_hello(uint8_t **out, size_t *outlen)
{
	cbor_item_t *m;

	if ((m = skp_cbor_map(0)) == NULL)
		return SKP_ERR_NOMEM;
	return encode_map(&m, out, outlen);
}

int
skp_transfer_decode_hello(const uint8_t *p, size_t n)
{
	cbor_item_t *m = NULL;
	int rc;

	rc = skp_cbor_load_map(p, n, MSG_MAX, NULL, 0, &m);
	if (rc == SKP_OK && cbor_map_size(m) != 0)
		rc = SKP_ERR_FORMAT;
	skp_cbor_free(&m);
	return rc;
}

int
skp_transfer_encode_header(size_t len,
    const uint8_t digest[SKP_TRANSFER_DIGEST_LEN], uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m;
	int rc;

	if (len == 0 || len > SKP_TRANSFER_PAYLOAD_MAX)
		return SKP_ERR_INVALID;
	if ((m = skp_cbor_map(2)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_uint(len))) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(digest,
	    SKP_TRANSFER_DIGEST_LEN))) != SKP_OK) {
		skp_cbor_free(&m);
		return rc;
	}
	return encode_map(&m, out, outlen);
}

int
skp_transfer_decode_header(const uint8_t *p, size_t n, size_t *len,
    uint8_t digest[SKP_TRANSFER_DIGEST_LEN])
{
	static const int64_t keys[] = { 1, 2 };
	cbor_item_t *m = NULL, *it;
	uint64_t v;
	size_t got;
	int rc;

	if ((rc = skp_cbor_load_map(p, n, MSG_MAX, keys, 2, &m)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_UINT, &it)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(it, &v)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 2, CBOR_TYPE_BYTESTRING, &it)) !=
	    SKP_OK ||
	    (rc = skp_cbor_get_bytes(it, SKP_TRANSFER_DIGEST_LEN,
	    SKP_TRANSFER_DIGEST_LEN, digest, &got)) != SKP_OK)
		goto out;
	if (v == 0 || v > SKP_TRANSFER_PAYLOAD_MAX) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	*len = (size_t)v;
 out:
	skp_cbor_free(&m);
	return rc == SKP_ERR_NOT_FOUND ? SKP_ERR_FORMAT : rc;
}

int
skp_transfer_encode_received(const uint8_t digest[SKP_TRANSFER_DIGEST_LEN],
    uint8_t **out, size_t *outlen)
{
	cbor_item_t *m;
	int rc;

	if ((m = skp_cbor_map(1)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(digest,
	    SKP_TRANSFER_DIGEST_LEN))) != SKP_OK) {
		skp_cbor_free(&m);
		return rc;
	}
	return encode_map(&m, out, outlen);
}

int
skp_transfer_decode_received(const uint8_t *p, size_t n,
    uint8_t digest[SKP_TRANSFER_DIGEST_LEN])
{
	static const int64_t keys[] = { 1 };
	cbor_item_t *m = NULL, *it;
	size_t got;
	int rc;

	if ((rc = skp_cbor_load_map(p, n, MSG_MAX, keys, 1, &m)) == SKP_OK &&
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_BYTESTRING, &it)) ==
	    SKP_OK)
		rc = skp_cbor_get_bytes(it, SKP_TRANSFER_DIGEST_LEN,
		    SKP_TRANSFER_DIGEST_LEN, digest, &got);
	skp_cbor_free(&m);
	return rc == SKP_ERR_NOT_FOUND ? SKP_ERR_FORMAT : rc;
}

/* ---- the flow ---- */

enum tf_side { TF_OLD = 1, TF_NEW };
enum tf_stage { TF_FRESH = 1, TF_HANDSHAKEN, TF_READY, TF_SENT, TF_DEAD };

struct skp_transfer {
	enum tf_side		 side;
	enum tf_stage		 stage;
	struct skp_transferuri	 uri;		/* holds the secret */
	char			 uri_text[SKP_TRANSFER_URI_MAX + 1];
	struct skp_p256_key	 key;		/* this transfer's static key */
	char			 name[SKP_NAME_MAX + 1];	/* old phone's */
	skp_relay_t		*relay;
	char			*ca_file;
	uint32_t		 chan;
	int			 opened;
	skp_noise_transport_t	*tr;
	char			 code[SKP_CONFIRM_CODE_LEN + 1];
	uint8_t			 digest[SKP_TRANSFER_DIGEST_LEN];
};

static uint64_t
now_seconds(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

int
skp_transfer_old_new(const char *relay_url, const char *phone_name,
    skp_transfer_t **out)
{
	skp_transfer_t *tf = NULL;
	int rc;

	if (out == NULL || relay_url == NULL || phone_name == NULL ||
	    skp_pairuri_check_relay(relay_url, strlen(relay_url)) != SKP_OK ||
	    skp_pairuri_check_name(phone_name, strlen(phone_name)) != SKP_OK)
		return SKP_ERR_INVALID;
	if ((tf = calloc(1, sizeof(*tf))) == NULL)
		return SKP_ERR_NOMEM;
	tf->side = TF_OLD;
	tf->stage = TF_FRESH;
	memcpy(tf->name, phone_name, strlen(phone_name) + 1);
	memcpy(tf->uri.relay, relay_url, strlen(relay_url) + 1);
	tf->uri.created = now_seconds();
	if ((rc = skp_p256_generate(&tf->key)) != SKP_OK ||
	    (rc = skp_random(tf->uri.secret, sizeof(tf->uri.secret))) !=
	    SKP_OK)
		goto out;
	memcpy(tf->uri.key, tf->key.pub, sizeof(tf->uri.key));
	if ((rc = skp_transferuri_encode(&tf->uri, tf->uri_text,
	    sizeof(tf->uri_text))) != SKP_OK)
		goto out;
	*out = tf;
	tf = NULL;
 out:
	skp_transfer_free(&tf);
	return rc;
}

int
skp_transfer_new_new(const char *uri, uint64_t now, skp_transfer_t **out)
{
	skp_transfer_t *tf = NULL;
	size_t n;
	int rc;

	if (uri == NULL || out == NULL)
		return SKP_ERR_INVALID;
	if ((n = strlen(uri)) > SKP_TRANSFER_URI_MAX)
		return SKP_ERR_TOO_LARGE;
	if ((tf = calloc(1, sizeof(*tf))) == NULL)
		return SKP_ERR_NOMEM;
	tf->side = TF_NEW;
	tf->stage = TF_FRESH;
	if ((rc = skp_transferuri_parse(uri, n, &tf->uri)) != SKP_OK ||
	    (rc = skp_transferuri_check_fresh(&tf->uri,
	    now != 0 ? now : now_seconds())) != SKP_OK ||
	    (rc = skp_p256_generate(&tf->key)) != SKP_OK)
		goto out;
	memcpy(tf->uri_text, uri, n + 1);
	*out = tf;
	tf = NULL;
 out:
	skp_transfer_free(&tf);
	return rc;
}

int
skp_transfer_set_ca(skp_transfer_t *tf, const char *ca_file)
{
	char *c = NULL;

	if (tf == NULL || tf->stage != TF_FRESH || tf->opened)
		return SKP_ERR_INVALID;
	if (ca_file != NULL && (c = strdup(ca_file)) == NULL)
		return SKP_ERR_NOMEM;
	free(tf->ca_file);
	tf->ca_file = c;
	return SKP_OK;
}

const char *
skp_transfer_uri(const skp_transfer_t *tf)
{
	return tf == NULL ? NULL : tf->uri_text;
}

const char *
skp_transfer_code(const skp_transfer_t *tf)
{
	return tf == NULL || tf->stage < TF_HANDSHAKEN ||
	    tf->stage == TF_DEAD ? NULL : tf->code;
}

const char *
skp_transfer_peer_name(const skp_transfer_t *tf)
{
	return tf == NULL || tf->side != TF_NEW || tf->stage < TF_HANDSHAKEN ||
	    tf->stage == TF_DEAD ? NULL : tf->name;
}

unsigned int
skp_transfer_end_code(const skp_transfer_t *tf)
{
	return tf == NULL || tf->relay == NULL ? 0 :
	    skp_relay_end_code(tf->relay);
}

/* The old phone JOINs (and waits there first); the new one MEETs. */
static int
join(skp_transfer_t *tf, int timeout_ms)
{
	struct skp_relay_opts opts;
	uint8_t id[SKP_RENDEZVOUS_ID_LEN];
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.ca_file = tf->ca_file;
	if ((tf->relay = skp_relay_new(&opts)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_relay_set_deadline(tf->relay, timeout_ms)) != SKP_OK ||
	    (rc = skp_relay_connect(tf->relay, tf->uri.relay, timeout_ms)) !=
	    SKP_OK ||
	    (rc = skp_transfer_rendezvous_id(tf->uri.secret, id)) != SKP_OK)
		goto out;
	if (tf->side == TF_OLD)
		rc = skp_relay_join(tf->relay, id, (uint32_t)timeout_ms,
		    &tf->chan);
	else
		rc = skp_relay_meet(tf->relay, id, (uint32_t)timeout_ms,
		    &tf->chan);
	if (rc == SKP_OK)
		tf->opened = 1;
 out:
	skp_wipe(id, sizeof(id));
	return rc;
}

int
skp_transfer_open(skp_transfer_t *tf, int timeout_ms)
{
	int rc;

	if (tf == NULL || timeout_ms <= 0 || tf->side != TF_OLD)
		return SKP_ERR_INVALID;
	if (tf->stage != TF_FRESH || tf->opened)
		return SKP_ERR_STATE;
	if ((rc = join(tf, timeout_ms)) == SKP_OK)
		rc = skp_relay_wait_open(tf->relay, tf->chan, timeout_ms);
	if (rc != SKP_OK)
		tf->stage = TF_DEAD;
	return rc;
}

static int
noise_setup(skp_noise_t **hs, skp_transfer_t *tf, int role)
{
	uint8_t psk[SKP_PSK_LEN];
	int rc;

	if ((*hs = skp_noise_new(SKP_NOISE_IKPSK0, role)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_transfer_psk(tf->uri.secret, psk)) != SKP_OK ||
	    (rc = skp_noise_set_psk(*hs, psk)) != SKP_OK ||
	    (rc = skp_noise_set_prologue(*hs, (const uint8_t *)PROLOGUE,
	    strlen(PROLOGUE))) != SKP_OK ||
	    (rc = skp_noise_set_local_static(*hs, &tf->key)) != SKP_OK)
		goto out;
	if (role == SKP_NOISE_INITIATOR)
		rc = skp_noise_set_remote_static(*hs, tf->uri.key);
 out:
	skp_wipe(psk, sizeof(psk));
	return rc;
}

static int
handshake_old(skp_transfer_t *tf, skp_noise_t *hs, skp_buf_t *b,
    int timeout_ms)
{
	uint8_t *msg = NULL, *payload = NULL;
	size_t msglen = 0, payloadlen = 0;
	int rc;

	if ((!tf->opened && (rc = join(tf, timeout_ms)) != SKP_OK) ||
	    (rc = skp_relay_recv(tf->relay, tf->chan, timeout_ms, &msg,
	    &msglen)) != SKP_OK ||
	    (rc = skp_noise_read_message(hs, msg, msglen, b)) != SKP_OK ||
	    (rc = skp_transfer_decode_hello(skp_buf_ptr(b),
	    skp_buf_len(b))) != SKP_OK)
		goto out;
	skp_buf_reset(b);
	if ((rc = skp_pairflow_encode_reply(tf->name, &payload,
	    &payloadlen)) != SKP_OK ||
	    (rc = skp_noise_write_message(hs, payload, payloadlen, b)) !=
	    SKP_OK)
		goto out;
	rc = skp_relay_send(tf->relay, tf->chan, skp_buf_ptr(b),
	    skp_buf_len(b));
 out:
	free(msg);
	free(payload);
	return rc;
}

static int
handshake_new(skp_transfer_t *tf, skp_noise_t *hs, skp_buf_t *b,
    int timeout_ms)
{
	uint8_t *msg = NULL, *payload = NULL;
	size_t msglen = 0, payloadlen = 0;
	int rc;

	if ((rc = skp_transfer_encode_hello(&payload, &payloadlen)) !=
	    SKP_OK ||
	    (rc = skp_noise_write_message(hs, payload, payloadlen, b)) !=
	    SKP_OK ||
	    (rc = join(tf, timeout_ms)) != SKP_OK)
		goto out;
	/* Nobody waits: the wait below hands over the relay's END. */
	rc = skp_relay_send(tf->relay, tf->chan, skp_buf_ptr(b),
	    skp_buf_len(b));
	if (rc != SKP_OK && rc != SKP_ERR_NOT_FOUND)
		goto out;
	if ((rc = skp_relay_recv(tf->relay, tf->chan, timeout_ms, &msg,
	    &msglen)) != SKP_OK)
		goto out;
	skp_buf_reset(b);
	if ((rc = skp_noise_read_message(hs, msg, msglen, b)) != SKP_OK)
		goto out;
	rc = skp_pairflow_decode_reply(skp_buf_ptr(b), skp_buf_len(b),
	    tf->name);
 out:
	free(msg);
	free(payload);
	return rc;
}

int
skp_transfer_handshake(skp_transfer_t *tf, int timeout_ms)
{
	uint8_t h[SKP_NOISE_HASH_LEN];
	skp_noise_t *hs = NULL;
	skp_buf_t *b = NULL;
	int rc;

	if (tf == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (tf->stage != TF_FRESH)
		return SKP_ERR_STATE;
	tf->stage = TF_DEAD;
	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = noise_setup(&hs, tf, tf->side == TF_OLD ?
	    SKP_NOISE_RESPONDER : SKP_NOISE_INITIATOR)) != SKP_OK)
		goto out;
	rc = tf->side == TF_OLD ? handshake_old(tf, hs, b, timeout_ms) :
	    handshake_new(tf, hs, b, timeout_ms);
	if (rc != SKP_OK ||
	    (rc = skp_noise_handshake_hash(hs, h)) != SKP_OK ||
	    (rc = skp_transfer_confirm_code(h, tf->code)) != SKP_OK ||
	    (rc = skp_noise_split(hs, &tf->tr)) != SKP_OK)
		goto out;
	tf->stage = TF_HANDSHAKEN;
 out:
	/* A failed handshake ends the rendezvous: the other side learns
	 * it at once (END 4025), not after its whole timeout. */
	if (rc != SKP_OK && tf->opened && skp_relay_end_code(tf->relay) == 0)
		(void)skp_relay_hangup(tf->relay, tf->chan);
	skp_wipe(h, sizeof(h));
	skp_wipe(&tf->key, sizeof(tf->key));
	skp_buf_free(&b);
	skp_noise_free(&hs);
	return rc;
}

/* One transport message out. */
static int
tx(skp_transfer_t *tf, const uint8_t *p, size_t n)
{
	skp_buf_t *b;
	int rc;

	if ((b = skp_buf_new(n + 64)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_noise_transport_encrypt(tf->tr, p, n, b)) == SKP_OK) {
		rc = skp_relay_send(tf->relay, tf->chan, skp_buf_ptr(b),
		    skp_buf_len(b));
		/* The other side ended already: the next wait says how. */
		if (rc == SKP_ERR_NOT_FOUND)
			rc = SKP_OK;
	}
	skp_buf_free(&b);
	return rc;
}

/* One transport message in; a hang-up instead is a refusal. */
static int
rx(skp_transfer_t *tf, int timeout_ms, skp_buf_t *b)
{
	uint8_t *msg = NULL;
	size_t msglen = 0;
	int rc;

	rc = skp_relay_recv(tf->relay, tf->chan, timeout_ms, &msg, &msglen);
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_CLOSED;
	if (rc == SKP_ERR_CLOSED)
		rc = SKP_ERR_REJECTED;
	if (rc == SKP_OK) {
		skp_buf_reset(b);
		rc = skp_noise_transport_decrypt(tf->tr, msg, msglen, b);
	}
	free(msg);
	return rc;
}

static int
tx_flag(skp_transfer_t *tf)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc;

	if ((rc = skp_pairflow_encode_confirm(&p, &n)) == SKP_OK)
		rc = tx(tf, p, n);
	free(p);
	return rc;
}

static int
rx_flag(skp_transfer_t *tf, int timeout_ms)
{
	skp_buf_t *b;
	int rc;

	if ((b = skp_buf_new(MSG_MAX)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = rx(tf, timeout_ms, b)) == SKP_OK)
		rc = skp_pairflow_decode_confirm(skp_buf_ptr(b),
		    skp_buf_len(b));
	skp_buf_free(&b);
	return rc;
}

/* Each step: the right side at the right stage, a deadline, dead on error. */
static int
step(skp_transfer_t *tf, enum tf_side side, enum tf_stage stage,
    int timeout_ms)
{
	if (tf == NULL || timeout_ms <= 0 || tf->side != side)
		return SKP_ERR_INVALID;
	if (tf->stage != stage)
		return SKP_ERR_STATE;
	tf->stage = TF_DEAD;
	return skp_relay_set_deadline(tf->relay, timeout_ms);
}

int
skp_transfer_wait_ready(skp_transfer_t *tf, int timeout_ms)
{
	int rc;

	if ((rc = step(tf, TF_OLD, TF_HANDSHAKEN, timeout_ms)) == SKP_OK &&
	    (rc = rx_flag(tf, timeout_ms)) == SKP_OK)
		tf->stage = TF_READY;
	return rc;
}

int
skp_transfer_send(skp_transfer_t *tf, const uint8_t *p, size_t n,
    int timeout_ms)
{
	uint8_t got[SKP_TRANSFER_DIGEST_LEN];
	uint8_t *hdr = NULL;
	size_t hdrlen = 0, off, piece;
	skp_buf_t *b = NULL;
	int rc;

	if (p == NULL || n == 0 || n > SKP_TRANSFER_PAYLOAD_MAX)
		return SKP_ERR_INVALID;
	if ((rc = step(tf, TF_OLD, TF_READY, timeout_ms)) != SKP_OK)
		return rc;
	if ((rc = skp_sha256(p, n, tf->digest)) != SKP_OK ||
	    (rc = skp_transfer_encode_header(n, tf->digest, &hdr,
	    &hdrlen)) != SKP_OK ||
	    (rc = tx(tf, hdr, hdrlen)) != SKP_OK)
		goto out;
	for (off = 0; off < n && rc == SKP_OK; off += piece) {
		piece = n - off < SKP_TRANSFER_PIECE ? n - off :
		    SKP_TRANSFER_PIECE;
		rc = tx(tf, p + off, piece);
	}
	if (rc != SKP_OK)
		goto out;
	if ((b = skp_buf_new(MSG_MAX)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = rx(tf, timeout_ms, b)) != SKP_OK ||
	    (rc = skp_transfer_decode_received(skp_buf_ptr(b),
	    skp_buf_len(b), got)) != SKP_OK)
		goto out;
	if (!skp_ct_equal(got, tf->digest, sizeof(got))) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	tf->stage = TF_SENT;
 out:
	free(hdr);
	skp_buf_free(&b);
	return rc;
}

int
skp_transfer_done(skp_transfer_t *tf, int timeout_ms)
{
	skp_buf_t *b;
	int rc;

	if ((rc = step(tf, TF_OLD, TF_SENT, timeout_ms)) != SKP_OK ||
	    (rc = tx_flag(tf)) != SKP_OK)
		return rc;
	/*
	 * The new phone hangs up once it has done: waiting for that END
	 * keeps the connection until done left (nothing else may come).
	 */
	if ((b = skp_buf_new(MSG_MAX)) == NULL)
		return SKP_ERR_NOMEM;
	rc = rx(tf, timeout_ms, b);
	skp_buf_free(&b);
	return rc == SKP_ERR_REJECTED ? SKP_OK : rc == SKP_OK ?
	    SKP_ERR_FORMAT : rc;
}

int
skp_transfer_receive(skp_transfer_t *tf, int timeout_ms, uint8_t **out,
    size_t *outlen)
{
	uint8_t d[SKP_TRANSFER_DIGEST_LEN];
	uint8_t *p = NULL;
	size_t n = 0, got = 0;
	skp_buf_t *b = NULL;
	int rc;

	if (out == NULL || outlen == NULL)
		return SKP_ERR_INVALID;
	if ((rc = step(tf, TF_NEW, TF_HANDSHAKEN, timeout_ms)) != SKP_OK)
		return rc;
	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = tx_flag(tf)) != SKP_OK ||
	    (rc = rx(tf, timeout_ms, b)) != SKP_OK ||
	    (rc = skp_transfer_decode_header(skp_buf_ptr(b), skp_buf_len(b),
	    &n, tf->digest)) != SKP_OK)
		goto out;
	if ((p = malloc(n)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	while (got < n) {
		if ((rc = rx(tf, timeout_ms, b)) != SKP_OK)
			goto out;
		/* Every piece full but the last. */
		if (skp_buf_len(b) == 0 || skp_buf_len(b) > n - got ||
		    (skp_buf_len(b) != SKP_TRANSFER_PIECE &&
		    got + skp_buf_len(b) != n)) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		memcpy(p + got, skp_buf_ptr(b), skp_buf_len(b));
		got += skp_buf_len(b);
	}
	if ((rc = skp_sha256(p, n, d)) != SKP_OK)
		goto out;
	if (!skp_ct_equal(d, tf->digest, sizeof(d))) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	*out = p;
	*outlen = n;
	p = NULL;
	tf->stage = TF_READY;
 out:
	if (p != NULL) {
		skp_wipe(p, n);
		free(p);
	}
	skp_buf_free(&b);
	return rc;
}

int
skp_transfer_received(skp_transfer_t *tf, int timeout_ms)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc;

	if ((rc = step(tf, TF_NEW, TF_READY, timeout_ms)) != SKP_OK)
		return rc;
	if ((rc = skp_transfer_encode_received(tf->digest, &p, &n)) ==
	    SKP_OK && (rc = tx(tf, p, n)) == SKP_OK &&
	    (rc = rx_flag(tf, timeout_ms)) == SKP_OK) {
		tf->stage = TF_SENT;
		(void)skp_relay_hangup(tf->relay, tf->chan);
	}
	free(p);
	return rc;
}

int
skp_transfer_decline(skp_transfer_t *tf)
{
	if (tf == NULL)
		return SKP_ERR_INVALID;
	tf->stage = TF_DEAD;
	if (tf->relay == NULL || !tf->opened)
		return SKP_OK;
	return skp_relay_hangup(tf->relay, tf->chan);
}

void
skp_transfer_free(skp_transfer_t **tfp)
{
	skp_transfer_t *tf;

	if (tfp == NULL || (tf = *tfp) == NULL)
		return;
	skp_relay_free(&tf->relay);
	free(tf->ca_file);
	skp_noise_transport_free(&tf->tr);
	skp_wipe(tf, sizeof(*tf));
	free(tf);
	*tfp = NULL;
}
