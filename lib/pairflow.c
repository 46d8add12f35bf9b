/* Pairing a computer and a phone: QR rendezvous and the IKpsk0 handshake. */
#include <stdint.h>
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

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* A pairing payload is small: names and a URL. */
#define PAIR_PAYLOAD_MAX	1024

enum pf_side { PF_COMPUTER = 1, PF_PHONE };
enum pf_stage { PF_NEW = 1, PF_HANDSHAKEN, PF_DEAD };

struct skp_pairflow {
	enum pf_side		 side;
	enum pf_stage		 stage;
	struct skp_p256_key	 identity;
	struct skp_pairuri	 uri;		/* holds the QR secret */
	char			 uri_text[SKP_PAIRURI_MAX + 1];
	struct skp_pair_hello	 hello;		/* phone: what it sends */
	char			 my_name[SKP_NAME_MAX + 1];
	skp_relay_t		*relay;
	char			*ca_file;	/* NULL: the system's CAs */
	uint32_t		 chan;
	int			 opened;	/* chan is ours on the relay */
	skp_noise_transport_t	*tr;
	char			 code[SKP_CONFIRM_CODE_LEN + 1];
	struct skp_pair_peer	 peer;		/* filled as it is learnt */
};

/* ---- pairing payloads (strict CBOR) ---- */

static int
put_text_checked(cbor_item_t *m, int64_t key, const char *s, int is_url)
{
	size_t n = strlen(s);
	int rc;

	rc = is_url ? skp_pairuri_check_relay(s, n) :
	    skp_pairuri_check_name(s, n);
	if (rc != SKP_OK) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	rc = skp_cbor_map_put(m, key, skp_cbor_textn(s, n));
 out:
	return rc;
}

/* A text field under the same rules as the URI's fields. */
static int
get_text_checked(const cbor_item_t *m, int64_t key, char *out, size_t max,
    int is_url)
{
	cbor_item_t *it;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_STRING, &it)) != SKP_OK)
		goto out;
	if ((rc = skp_cbor_get_text(it, max, out, max + 1)) != SKP_OK)
		goto out;
	rc = is_url ? skp_pairuri_check_relay(out, strlen(out)) :
	    skp_pairuri_check_name(out, strlen(out));
	if (rc != SKP_OK)
		rc = SKP_ERR_FORMAT;
 out:
	return rc;
}

static int
encode_map(cbor_item_t **m, uint8_t **out, size_t *outlen)
{
	int rc;

	rc = skp_cbor_encode(*m, PAIR_PAYLOAD_MAX, out, outlen);
	skp_cbor_free(m);
	return rc;
}

int
skp_pairflow_encode_hello(const struct skp_pair_hello *h, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL;
	int rc;

	if (h == NULL || out == NULL || outlen == NULL)
		return SKP_ERR_INVALID;
	if ((m = skp_cbor_map(3)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = put_text_checked(m, 1, h->name, 0)) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(h->mailbox_id,
	    sizeof(h->mailbox_id)))) != SKP_OK ||
	    (rc = put_text_checked(m, 3, h->relay_url, 1)) != SKP_OK)
		goto out;
	rc = encode_map(&m, out, outlen);
 out:
	skp_cbor_free(&m);
	return rc;
}

int
skp_pairflow_decode_hello(const uint8_t *p, size_t n,
    struct skp_pair_hello *h)
{
	static const int64_t keys[] = { 1, 2, 3 };
	struct skp_pair_hello tmp;
	cbor_item_t *m = NULL, *it;
	size_t len;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if (h == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_cbor_load_map(p, n, PAIR_PAYLOAD_MAX, keys, nitems(keys),
	    &m)) != SKP_OK ||
	    (rc = get_text_checked(m, 1, tmp.name, SKP_NAME_MAX, 0)) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_get(m, 2, CBOR_TYPE_BYTESTRING, &it)) !=
	    SKP_OK ||
	    (rc = skp_cbor_get_bytes(it, sizeof(tmp.mailbox_id),
	    sizeof(tmp.mailbox_id), tmp.mailbox_id, &len)) != SKP_OK ||
	    (rc = get_text_checked(m, 3, tmp.relay_url, SKP_RELAY_URL_MAX,
	    1)) != SKP_OK)
		goto out;
	*h = tmp;
 out:
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_FORMAT;
	skp_cbor_free(&m);
	return rc;
}

int
skp_pairflow_encode_reply(const char *name, uint8_t **out, size_t *outlen)
{
	cbor_item_t *m = NULL;
	int rc;

	if (name == NULL || out == NULL || outlen == NULL)
		return SKP_ERR_INVALID;
	if ((m = skp_cbor_map(1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = put_text_checked(m, 1, name, 0)) != SKP_OK)
		goto out;
	rc = encode_map(&m, out, outlen);
 out:
	skp_cbor_free(&m);
	return rc;
}

int
skp_pairflow_decode_reply(const uint8_t *p, size_t n,
    char name[SKP_PAIRFLOW_NAME_MAX + 1])
{
	static const int64_t keys[] = { 1 };
	char tmp[SKP_NAME_MAX + 1];
	cbor_item_t *m = NULL;
	int rc;

	if (name == NULL) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_cbor_load_map(p, n, PAIR_PAYLOAD_MAX, keys, nitems(keys),
	    &m)) != SKP_OK ||
	    (rc = get_text_checked(m, 1, tmp, SKP_NAME_MAX, 0)) != SKP_OK)
		goto out;
	memcpy(name, tmp, sizeof(tmp));
 out:
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_FORMAT;
	skp_cbor_free(&m);
	return rc;
}

int
skp_pairflow_encode_confirm(uint8_t **out, size_t *outlen)
{
	cbor_item_t *m = NULL;
	int rc;

	if (out == NULL || outlen == NULL)
		return SKP_ERR_INVALID;
	if ((m = skp_cbor_map(1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bool(1))) != SKP_OK)
		goto out;
	rc = encode_map(&m, out, outlen);
 out:
	skp_cbor_free(&m);
	return rc;
}

/* Only {1: true} confirms; {1: false} or anything else does not. */
int
skp_pairflow_decode_confirm(const uint8_t *p, size_t n)
{
	static const int64_t keys[] = { 1 };
	cbor_item_t *m = NULL, *it;
	int rc, yes = 0;

	if ((rc = skp_cbor_load_map(p, n, PAIR_PAYLOAD_MAX, keys, nitems(keys),
	    &m)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_FLOAT_CTRL, &it)) !=
	    SKP_OK ||
	    (rc = skp_cbor_get_bool(it, &yes)) != SKP_OK)
		goto out;
	if (!yes)
		rc = SKP_ERR_REJECTED;
 out:
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_FORMAT;
	skp_cbor_free(&m);
	return rc;
}

/* ---- the flow ---- */

static uint64_t
now_seconds(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

static int
check_name(const char *s)
{
	if (s == NULL || skp_pairuri_check_name(s, strlen(s)) != SKP_OK)
		return SKP_ERR_INVALID;
	return SKP_OK;
}

/* A relay list (relayurl.h): one URL, or several joined by spaces. */
static int
check_url(const char *s)
{
	if (s == NULL || skp_relaylist_check(s, strlen(s), NULL) != SKP_OK)
		return SKP_ERR_INVALID;
	return SKP_OK;
}

static skp_pairflow_t *
flow_alloc(enum pf_side side, const struct skp_p256_key *identity)
{
	skp_pairflow_t *pf;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pf->side = side;
	pf->stage = PF_NEW;
	pf->identity = *identity;
	return pf;
}

int
skp_pairflow_computer_new(const struct skp_p256_key *identity,
    const char *computer_name, const char *relay_url, skp_pairflow_t **out)
{
	skp_pairflow_t *pf = NULL;
	int rc;

	if (identity == NULL || out == NULL || check_name(computer_name) != 0 ||
	    check_url(relay_url) != 0) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((pf = flow_alloc(PF_COMPUTER, identity)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	memcpy(pf->uri.computer_pub, identity->pub, SKP_P256_PUB_LEN);
	if ((rc = skp_random(pf->uri.secret, sizeof(pf->uri.secret))) !=
	    SKP_OK)
		goto out;
	/* Both fit: checked above against the same limits. */
	memcpy(pf->uri.relay, relay_url, strlen(relay_url) + 1);
	memcpy(pf->uri.name, computer_name, strlen(computer_name) + 1);
	memcpy(pf->my_name, computer_name, strlen(computer_name) + 1);
	pf->uri.created = now_seconds();
	if ((rc = skp_pairuri_encode(&pf->uri, pf->uri_text,
	    sizeof(pf->uri_text))) != SKP_OK)
		goto out;
	*out = pf;
	pf = NULL;
 out:
	skp_pairflow_free(&pf);
	return rc;
}

int
skp_pairflow_phone_new(const char *uri, const struct skp_p256_key *identity,
    const char *phone_name, const uint8_t mailbox_id[SKP_PAIRFLOW_MAILBOX_LEN],
    const char *listen_url, uint64_t now, skp_pairflow_t **out)
{
	skp_pairflow_t *pf = NULL;
	size_t n;
	int rc;

	if (uri == NULL || identity == NULL || mailbox_id == NULL ||
	    out == NULL || check_name(phone_name) != 0 ||
	    check_url(listen_url) != 0) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((n = strlen(uri)) > SKP_PAIRURI_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((pf = flow_alloc(PF_PHONE, identity)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_pairuri_parse(uri, n, &pf->uri)) != SKP_OK)
		goto out;
	/* Refused before any network: an old QR must not reach the relay. */
	if ((rc = skp_pairuri_check_fresh(&pf->uri,
	    now != 0 ? now : now_seconds())) != SKP_OK)
		goto out;
	memcpy(pf->uri_text, uri, n + 1);
	memcpy(pf->my_name, phone_name, strlen(phone_name) + 1);
	memcpy(pf->hello.name, phone_name, strlen(phone_name) + 1);
	memcpy(pf->hello.mailbox_id, mailbox_id, SKP_PAIRFLOW_MAILBOX_LEN);
	/* The hello names one URL, the list's first (§8.1). */
	(void)skp_relaylist_get(listen_url, 0, pf->hello.relay_url);
	*out = pf;
	pf = NULL;
 out:
	skp_pairflow_free(&pf);
	return rc;
}

const char *
skp_pairflow_uri(const skp_pairflow_t *pf)
{
	return pf == NULL ? NULL : pf->uri_text;
}

int
skp_pairflow_web_uri(const skp_pairflow_t *pf, char *out, size_t outlen)
{
	if (pf == NULL || pf->side != PF_COMPUTER)
		return SKP_ERR_INVALID;
	return skp_pairuri_encode_web(&pf->uri, out, outlen);
}

const char *
skp_pairflow_code(const skp_pairflow_t *pf)
{
	if (pf == NULL || pf->stage != PF_HANDSHAKEN)
		return NULL;
	return pf->code;
}

int
skp_pairflow_set_ca(skp_pairflow_t *pf, const char *ca_file)
{
	char *c = NULL;

	if (pf == NULL || pf->stage != PF_NEW)
		return SKP_ERR_INVALID;
	if (ca_file != NULL && (c = strdup(ca_file)) == NULL)
		return SKP_ERR_NOMEM;
	free(pf->ca_file);
	pf->ca_file = c;
	return SKP_OK;
}

const char *
skp_pairflow_peer_name(const skp_pairflow_t *pf)
{
	if (pf == NULL || pf->stage != PF_HANDSHAKEN)
		return NULL;
	return pf->peer.name;
}

/*
 * Meet the other side at the rendezvous of the QR secret: the computer
 * JOINs and waits there; the phone MEETs it, and the relay tells it at
 * once when nobody waits (a used, expired or altered code).
 */
static int
join(skp_pairflow_t *pf, int timeout_ms)
{
	struct skp_relay_opts opts;
	uint8_t id[SKP_RENDEZVOUS_ID_LEN];
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.ca_file = pf->ca_file;
	if ((pf->relay = skp_relay_new(&opts)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_relay_set_deadline(pf->relay, timeout_ms)) != SKP_OK ||
	    (rc = skp_relay_connect_list(pf->relay, pf->uri.relay, timeout_ms,
	    NULL)) != SKP_OK ||
	    (rc = skp_pairuri_rendezvous_id(pf->uri.secret, id)) != SKP_OK)
		goto out;
	if (pf->side == PF_COMPUTER)
		rc = skp_relay_join(pf->relay, id, (uint32_t)timeout_ms,
		    &pf->chan);
	else
		rc = skp_relay_meet(pf->relay, id, (uint32_t)timeout_ms,
		    &pf->chan);
	if (rc == SKP_OK)
		pf->opened = 1;
 out:
	skp_wipe(id, sizeof(id));
	return rc;
}

int
skp_pairflow_open(skp_pairflow_t *pf, int timeout_ms)
{
	int rc;

	if (pf == NULL || timeout_ms <= 0 || pf->side != PF_COMPUTER)
		return SKP_ERR_INVALID;
	if (pf->stage != PF_NEW || pf->opened)
		return SKP_ERR_STATE;
	if ((rc = join(pf, timeout_ms)) == SKP_OK)
		rc = skp_relay_wait_open(pf->relay, pf->chan, timeout_ms);
	if (rc != SKP_OK)
		pf->stage = PF_DEAD;
	return rc;
}

/* The code, the request psk and the transport, once the handshake ended. */
static int
complete(skp_pairflow_t *pf, skp_noise_t *hs)
{
	uint8_t h[SKP_NOISE_HASH_LEN];
	int rc;

	if ((rc = skp_noise_handshake_hash(hs, h)) != SKP_OK ||
	    (rc = skp_pairuri_confirm_code(h, NULL, pf->code)) != SKP_OK ||
	    (rc = skp_pairuri_request_psk(h, pf->peer.request_psk)) !=
	    SKP_OK ||
	    (rc = skp_noise_remote_static(hs, pf->peer.static_pub)) !=
	    SKP_OK)
		goto out;
	rc = skp_noise_split(hs, &pf->tr);
 out:
	skp_wipe(h, sizeof(h));
	return rc;
}

static int
noise_setup(skp_noise_t **hs, skp_pairflow_t *pf, int role)
{
	uint8_t psk[SKP_PSK_LEN];
	int rc;

	if ((*hs = skp_noise_new(SKP_NOISE_IKPSK0, role)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_pairuri_pairing_psk(pf->uri.secret, psk)) != SKP_OK ||
	    (rc = skp_noise_set_psk(*hs, psk)) != SKP_OK ||
	    (rc = skp_noise_set_local_static(*hs, &pf->identity)) != SKP_OK)
		goto out;
	if (role == SKP_NOISE_INITIATOR)
		rc = skp_noise_set_remote_static(*hs, pf->uri.computer_pub);
 out:
	skp_wipe(psk, sizeof(psk));
	return rc;
}

/* Computer: the responder. Message 1 carries the phone's hello. */
static int
handshake_computer(skp_pairflow_t *pf, int timeout_ms)
{
	struct skp_pair_hello hello;
	skp_noise_t *hs = NULL;
	skp_buf_t *b = NULL;
	uint8_t *msg = NULL, *payload = NULL;
	size_t msglen = 0, payloadlen = 0;
	int rc;

	if ((rc = noise_setup(&hs, pf, SKP_NOISE_RESPONDER)) != SKP_OK ||
	    (!pf->opened && (rc = join(pf, timeout_ms)) != SKP_OK) ||
	    (rc = skp_relay_recv(pf->relay, pf->chan, timeout_ms, &msg,
	    &msglen)) != SKP_OK)
		goto out;
	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_noise_read_message(hs, msg, msglen, b)) != SKP_OK)
		goto out;
	if ((rc = skp_pairflow_decode_hello(skp_buf_ptr(b), skp_buf_len(b),
	    &hello)) != SKP_OK)
		goto out;
	memcpy(pf->peer.name, hello.name, sizeof(hello.name));
	memcpy(pf->peer.mailbox_id, hello.mailbox_id,
	    sizeof(hello.mailbox_id));
	memcpy(pf->peer.relay_url, hello.relay_url, sizeof(hello.relay_url));
	skp_buf_reset(b);
	if ((rc = skp_pairflow_encode_reply(pf->my_name, &payload,
	    &payloadlen)) != SKP_OK ||
	    (rc = skp_noise_write_message(hs, payload, payloadlen, b)) !=
	    SKP_OK ||
	    (rc = skp_relay_send(pf->relay, pf->chan, skp_buf_ptr(b),
	    skp_buf_len(b))) != SKP_OK)
		goto out;
	rc = complete(pf, hs);
 out:
	free(msg);
	free(payload);
	skp_buf_free(&b);
	skp_noise_free(&hs);
	return rc;
}

/* Phone: the initiator, which knows the computer's key from the QR. */
static int
handshake_phone(skp_pairflow_t *pf, int timeout_ms)
{
	skp_noise_t *hs = NULL;
	skp_buf_t *b = NULL;
	uint8_t *msg = NULL, *payload = NULL;
	size_t msglen = 0, payloadlen = 0;
	int rc;

	if ((rc = noise_setup(&hs, pf, SKP_NOISE_INITIATOR)) != SKP_OK)
		goto out;
	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_pairflow_encode_hello(&pf->hello, &payload,
	    &payloadlen)) != SKP_OK ||
	    (rc = skp_noise_write_message(hs, payload, payloadlen, b)) !=
	    SKP_OK ||
	    (rc = join(pf, timeout_ms)) != SKP_OK)
		goto out;
	/* Not found: the relay ended the channel already (nobody waits
	 * there); the wait below hands over its END. */
	rc = skp_relay_send(pf->relay, pf->chan, skp_buf_ptr(b),
	    skp_buf_len(b));
	if (rc != SKP_OK && rc != SKP_ERR_NOT_FOUND)
		goto out;
	if ((rc = skp_relay_recv(pf->relay, pf->chan, timeout_ms, &msg,
	    &msglen)) != SKP_OK)
		goto out;
	skp_buf_reset(b);
	if ((rc = skp_noise_read_message(hs, msg, msglen, b)) != SKP_OK ||
	    (rc = skp_pairflow_decode_reply(skp_buf_ptr(b), skp_buf_len(b),
	    pf->peer.name)) != SKP_OK)
		goto out;
	/* The name in the QR must be the one the computer's key vouches for. */
	if (strcmp(pf->peer.name, pf->uri.name) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	rc = complete(pf, hs);
 out:
	free(msg);
	free(payload);
	skp_buf_free(&b);
	skp_noise_free(&hs);
	return rc;
}

int
skp_pairflow_handshake(skp_pairflow_t *pf, int timeout_ms)
{
	int rc;

	if (pf == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (pf->stage != PF_NEW)
		return SKP_ERR_STATE;
	pf->stage = PF_DEAD;
	if (pf->side == PF_COMPUTER)
		rc = handshake_computer(pf, timeout_ms);
	else
		rc = handshake_phone(pf, timeout_ms);
	if (rc == SKP_OK)
		pf->stage = PF_HANDSHAKEN;
	/*
	 * A handshake that failed here (a message that does not decrypt:
	 * a wrong or altered code; a name that does not match) ends the
	 * rendezvous, so that the other side learns it at once (END
	 * 4025) rather than after its whole timeout.
	 */
	else if (pf->opened && skp_relay_end_code(pf->relay) == 0)
		(void)skp_relay_hangup(pf->relay, pf->chan);
	return rc;
}

/* Send ours, then wait for theirs: both orders end the same. */
static int
confirm(skp_pairflow_t *pf, int timeout_ms)
{
	skp_buf_t *b = NULL;
	uint8_t *payload = NULL, *msg = NULL;
	size_t payloadlen = 0, msglen = 0;
	int rc;

	if ((b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_relay_set_deadline(pf->relay, timeout_ms)) != SKP_OK ||
	    (rc = skp_pairflow_encode_confirm(&payload, &payloadlen)) !=
	    SKP_OK ||
	    (rc = skp_noise_transport_encrypt(pf->tr, payload, payloadlen,
	    b)) != SKP_OK)
		goto out;
	/* Not found: the other side ended the channel already; the wait
	 * below hands over its END. */
	rc = skp_relay_send(pf->relay, pf->chan, skp_buf_ptr(b),
	    skp_buf_len(b));
	if (rc != SKP_OK && rc != SKP_ERR_NOT_FOUND)
		goto out;
	rc = skp_relay_recv(pf->relay, pf->chan, timeout_ms, &msg, &msglen);
	if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_ERR_CLOSED;
	/* The other side hung up instead of confirming. */
	if (rc == SKP_ERR_CLOSED)
		rc = SKP_ERR_REJECTED;
	if (rc != SKP_OK)
		goto out;
	skp_buf_reset(b);
	if ((rc = skp_noise_transport_decrypt(pf->tr, msg, msglen, b)) !=
	    SKP_OK ||
	    (rc = skp_pairflow_decode_confirm(skp_buf_ptr(b),
	    skp_buf_len(b))) != SKP_OK)
		goto out;
	/* The other side may have hung up already: that is fine. */
	(void)skp_relay_hangup(pf->relay, pf->chan);
 out:
	free(msg);
	free(payload);
	skp_buf_free(&b);
	return rc;
}

int
skp_pairflow_finish(skp_pairflow_t *pf, int confirmed, int timeout_ms,
    struct skp_pair_peer *out)
{
	int rc;

	if (pf == NULL || out == NULL || timeout_ms <= 0)
		return SKP_ERR_INVALID;
	if (pf->stage != PF_HANDSHAKEN)
		return SKP_ERR_STATE;
	pf->stage = PF_DEAD;
	if (!confirmed) {
		(void)skp_relay_hangup(pf->relay, pf->chan);
		rc = SKP_ERR_REJECTED;
		goto out;
	}
	if ((rc = confirm(pf, timeout_ms)) != SKP_OK)
		goto out;
	pf->peer.paired_at = now_seconds();
	*out = pf->peer;
 out:
	return rc;
}

unsigned int
skp_pairflow_end_code(const skp_pairflow_t *pf)
{
	return pf == NULL ? 0 : skp_relay_end_code(pf->relay);
}

void
skp_pairflow_free(skp_pairflow_t **pfp)
{
	skp_pairflow_t *pf;

	if (pfp == NULL || (pf = *pfp) == NULL)
		return;
	skp_relay_free(&pf->relay);
	free(pf->ca_file);
	skp_noise_transport_free(&pf->tr);
	skp_pairuri_clear(&pf->uri);
	skp_wipe(pf, sizeof(*pf));
	free(pf);
	*pfp = NULL;
}
