/*
 * A test computer built on the core library: pairs with the reference
 * phone and sends it requests (well-formed, stale, replayed, tampered),
 * checking every answer with libfido2, for test_phone.py and the
 * conformance suite (test/conformance/conform.py).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk-phone/buf.h"
#include "sk-phone/call.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"
#include "sk-phone/noise.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relay.h"
#include "sk-phone/store.h"
#include "sk-phone/verify.h"

#define CALL_TIMEOUT_MS	20000

struct opts {
	const char	*rp;
	const char	*user;
	const char	*pin;
	const char	*data_hex;
	const char	*userauth;
	const char	*sshsig;
	const char	*sid_hex;	/* the userauth session id */
	const char	*host;		/* host info: name, */
	unsigned int	 port;		/* port, */
	const char	*hostkey_hex;	/* key blob, */
	const char	*hostsig_hex;	/* signature blob */
	const char	*hostbound_hex;	/* host-bound userauth: its host key */
	const char	*id_hex;	/* the request id, instead of a random one */
	const char	*mangle;	/* the encoded envelope spoilt: version, padding */
	int		 resident, uv, overwrite, no_up, decline, tamper;
	unsigned int	 cred_protect;
	long long	 offset_ms;
	int		 repeat;
	int		 fresh_ids;	/* each repeat a new request id */
	int		 quiet;		/* print only a count per status */
	int		 timeout_ms;
	long long	 alg;		/* enroll: the COSE alg asked (0: ES256) */
	int		 clock_retry;	/* a stale refusal with key 6 goes again */
};

static void
fail(const char *what, int rc)
{
	printf("error %s: %s (%d)\n", what, skp_strerror(rc), rc);
	fflush(stdout);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_status(int state, void *arg)
{
	(void)arg;
	printf("status %s\n", state == SKP_CALL_ONLINE ? "online" :
	    state == SKP_CALL_SLOW ? "slow" : "offline");
	fflush(stdout);
}

static int
load_identity(const char *dir, struct skp_p256_key *k)
{
	char why[SKP_STORE_WHY_MAX];
	int rc;

	rc = skp_store_identity_load(dir, k, why, sizeof(why));
	if (rc == SKP_ERR_NOT_FOUND)
		rc = skp_store_identity_create(dir, k, why, sizeof(why));
	if (rc != SKP_OK)
		printf("error identity: %s\n", why);
	return rc;
}

static int
load_phone(const char *dir, struct skp_store_pairing *out)
{
	skp_store_phones_t *ph = NULL;
	char why[SKP_STORE_WHY_MAX];
	int rc;

	if ((rc = skp_store_phones_load(dir, &ph, why, sizeof(why))) !=
	    SKP_OK) {
		printf("error phones: %s\n", why);
		return rc;
	}
	if (skp_store_phones_count(ph) == 0)
		rc = SKP_ERR_NOT_PAIRED;
	else
		*out = *skp_store_phones_at(ph, 0);
	skp_store_phones_free(&ph);
	return rc;
}

/* ---- pairing ---- */

static int
cmd_pair(const char *dir, const char *relay, const char *name,
    const struct opts *o)
{
	struct skp_store_pairing p;
	struct skp_pair_peer peer;
	struct skp_p256_key id;
	skp_store_phones_t *ph = NULL;
	skp_pairflow_t *pf = NULL;
	char why[SKP_STORE_WHY_MAX];
	int rc;

	memset(&p, 0, sizeof(p));
	if ((rc = load_identity(dir, &id)) != SKP_OK)
		goto out;
	if ((rc = skp_pairflow_computer_new(&id, name, relay, &pf)) !=
	    SKP_OK) {
		fail("new", rc);
		goto out;
	}
	/* As sk-phone pair: at the rendezvous before the code is shown. */
	if ((rc = skp_pairflow_open(pf, o->timeout_ms)) != SKP_OK) {
		fail("open", rc);
		goto out;
	}
	printf("uri %s\n", skp_pairflow_uri(pf));
	fflush(stdout);
	if ((rc = skp_pairflow_handshake(pf, o->timeout_ms)) != SKP_OK) {
		fail("handshake", rc);
		goto out;
	}
	printf("code %s phone %s\n", skp_pairflow_code(pf),
	    skp_pairflow_peer_name(pf));
	fflush(stdout);
	if ((rc = skp_pairflow_finish(pf, !o->decline, o->timeout_ms,
	    &peer)) != SKP_OK) {
		fail("finish", rc);
		goto out;
	}
	snprintf(p.phone_name, sizeof(p.phone_name), "%s", peer.name);
	memcpy(p.phone_pub, peer.static_pub, sizeof(p.phone_pub));
	memcpy(p.mailbox_id, peer.mailbox_id, sizeof(p.mailbox_id));
	snprintf(p.relay, sizeof(p.relay), "%s", peer.relay_url);
	memcpy(p.request_psk, peer.request_psk, sizeof(p.request_psk));
	p.paired_at = peer.paired_at;
	snprintf(p.computer_name, sizeof(p.computer_name), "%s", name);
	if ((ph = skp_store_phones_new()) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_store_phones_add(ph, &p, why, sizeof(why))) != SKP_OK ||
	    (rc = skp_store_phones_save(dir, ph, why, sizeof(why))) !=
	    SKP_OK) {
		printf("error save: %s\n", why);
		goto out;
	}
	printf("paired\n");
 out:
	skp_store_phones_free(&ph);
	skp_pairflow_free(&pf);
	skp_wipe(&id, sizeof(id));
	skp_wipe(&peer, sizeof(peer));
	skp_wipe(&p, sizeof(p));
	return rc == SKP_OK ? 0 : 1;
}

/*
 * A responder at the QR's rendezvous that holds the computer's key but
 * another QR secret: the phone's message 1 must not open under it, and
 * the phone must not end up paired.
 */
static int
cmd_pair_wrong_secret(const char *dir, const char *relay, const char *name,
    const struct opts *o)
{
	struct skp_pairuri uri;
	struct skp_p256_key id;
	uint8_t rdv[SKP_RENDEZVOUS_ID_LEN], other[SKP_QR_SECRET_LEN];
	uint8_t psk[SKP_PSK_LEN], *msg = NULL;
	char text[SKP_PAIRURI_MAX + 1];
	skp_noise_t *hs = NULL;
	skp_relay_t *r = NULL;
	skp_buf_t *b = NULL;
	size_t msglen = 0;
	uint32_t chan;
	int rc;

	memset(&uri, 0, sizeof(uri));
	if ((rc = load_identity(dir, &id)) != SKP_OK)
		goto out;
	memcpy(uri.computer_pub, id.pub, sizeof(uri.computer_pub));
	snprintf(uri.relay, sizeof(uri.relay), "%s", relay);
	snprintf(uri.name, sizeof(uri.name), "%s", name);
	uri.created = now_ms() / 1000;
	if ((rc = skp_random(uri.secret, sizeof(uri.secret))) != SKP_OK ||
	    (rc = skp_random(other, sizeof(other))) != SKP_OK ||
	    (rc = skp_pairuri_encode(&uri, text, sizeof(text))) != SKP_OK ||
	    (rc = skp_pairuri_rendezvous_id(uri.secret, rdv)) != SKP_OK ||
	    (rc = skp_pairuri_pairing_psk(other, psk)) != SKP_OK)
		goto out;
	if ((r = skp_relay_new(NULL)) == NULL ||
	    (b = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL ||
	    (hs = skp_noise_new(SKP_NOISE_IKPSK0, SKP_NOISE_RESPONDER)) ==
	    NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_relay_connect(r, relay, o->timeout_ms)) != SKP_OK ||
	    (rc = skp_relay_join(r, rdv, (uint32_t)o->timeout_ms, &chan)) !=
	    SKP_OK ||
	    (rc = skp_relay_wait_open(r, chan, o->timeout_ms)) != SKP_OK) {
		fail("rendezvous", rc);
		goto out;
	}
	printf("uri %s\n", text);
	fflush(stdout);
	if ((rc = skp_relay_recv(r, chan, o->timeout_ms, &msg, &msglen)) !=
	    SKP_OK) {
		fail("rendezvous", rc);
		goto out;
	}
	if ((rc = skp_noise_set_local_static(hs, &id)) != SKP_OK ||
	    (rc = skp_noise_set_psk(hs, psk)) != SKP_OK)
		goto out;
	rc = skp_noise_read_message(hs, msg, msglen, b);
	printf("message 1 with another secret: %s\n", skp_strerror(rc));
	(void)skp_relay_hangup(r, chan);
	/* Success here is the refusal. */
	rc = rc == SKP_ERR_DECRYPT ? SKP_OK : SKP_ERR_INTERNAL;
 out:
	free(msg);
	skp_noise_free(&hs);
	skp_buf_free(&b);
	skp_relay_free(&r);
	skp_wipe(&id, sizeof(id));
	skp_wipe(psk, sizeof(psk));
	skp_pairuri_clear(&uri);
	return rc == SKP_OK ? 0 : 1;
}

/* A well-formed URI made offset_s from now, to try stale codes with. */
static int
cmd_make_uri(const char *dir, const char *relay, const char *name,
    long long offset_s)
{
	struct skp_pairuri uri;
	struct skp_p256_key id;
	char text[SKP_PAIRURI_MAX + 1];
	int rc;

	memset(&uri, 0, sizeof(uri));
	if ((rc = load_identity(dir, &id)) != SKP_OK)
		return 1;
	memcpy(uri.computer_pub, id.pub, sizeof(uri.computer_pub));
	snprintf(uri.relay, sizeof(uri.relay), "%s", relay);
	snprintf(uri.name, sizeof(uri.name), "%s", name);
	uri.created = (uint64_t)((long long)(now_ms() / 1000) + offset_s);
	if ((rc = skp_random(uri.secret, sizeof(uri.secret))) == SKP_OK &&
	    (rc = skp_pairuri_encode(&uri, text, sizeof(text))) == SKP_OK)
		printf("uri %s\n", text);
	skp_pairuri_clear(&uri);
	skp_wipe(&id, sizeof(id));
	return rc == SKP_OK ? 0 : 1;
}

/* ---- requests ---- */

/* Send one envelope (repeat times) and print each answer's status. */
/* Response key 4: the phone moved; the phones file follows, locked. */
static void
moved(const char *dir, struct skp_store_pairing *p,
    const struct skp_call_response *resp)
{
	char why[SKP_STORE_WHY_MAX], hex[2 * SKP_MAILBOX_ID_LEN + 1];
	int rc;

	skp_hex(resp->move_id, SKP_MAILBOX_ID_LEN, hex);
	if ((rc = skp_store_phones_move(dir, p->phone_id, resp->move_id,
	    resp->move_relay, why, sizeof(why))) != SKP_OK) {
		printf("error move: %s\n", why);
		return;
	}
	memcpy(p->mailbox_id, resp->move_id, SKP_MAILBOX_ID_LEN);
	snprintf(p->relay, sizeof(p->relay), "%s", resp->move_relay);
	printf("moved %s %s\n", hex, resp->move_relay);
}

/* mailbox DIR: the mailbox id the phones file holds. */
static int
cmd_mailbox(const char *dir)
{
	struct skp_store_pairing p;
	char hex[2 * SKP_MAILBOX_ID_LEN + 1];

	if (load_phone(dir, &p) != SKP_OK)
		return 1;
	skp_hex(p.mailbox_id, SKP_MAILBOX_ID_LEN, hex);
	printf("mailbox %s %s\n", hex, p.relay);
	skp_wipe(&p, sizeof(p));
	return 0;
}

/*
 * An envelope the phone's decoder must refuse (PROTOCOL 4.2), made from a
 * good one: "version" 3 in key 1 (0xF6, checked before any other key),
 * "padding" with a byte not zero (0x12).
 */
static int
mangle(uint8_t *msg, size_t len, const char *how)
{
	if (how == NULL)
		return SKP_OK;
	if (strcmp(how, "version") == 0 && len > 3 && msg[1] == 0x01 &&
	    msg[2] == 0x02) {
		msg[2] = 0x03;
		return SKP_OK;
	}
	if (strcmp(how, "padding") == 0 && len > 0 && msg[len - 1] == 0) {
		msg[len - 1] = 0x01;
		return SKP_OK;
	}
	return SKP_ERR_INVALID;
}

static int
send_req(const char *dir, struct skp_ctap_request *req, const struct opts *o,
    struct skp_call_response *resp)
{
	struct skp_store_pairing p;
	struct skp_call_phone cp;
	struct skp_p256_key id;
	uint8_t *msg = NULL;
	size_t msglen = 0;
	int rc, i;

	memset(resp, 0, sizeof(*resp));
	if ((rc = load_identity(dir, &id)) != SKP_OK ||
	    (rc = load_phone(dir, &p)) != SKP_OK)
		goto out;
	/*
	 * A given id makes a request bad in two ways (a replayed id that is
	 * also stale, tampered, or for no credential): the conformance suite
	 * checks which refusal comes first.
	 */
	if (o->id_hex != NULL) {
		if (strlen(o->id_hex) != 2 * sizeof(req->id) ||
		    skp_unhex(o->id_hex, req->id, sizeof(req->id)) != SKP_OK) {
			rc = SKP_ERR_INVALID;
			fail("--id", rc);
			goto out;
		}
	} else if ((rc = skp_random(req->id, sizeof(req->id))) != SKP_OK)
		goto out;
	req->time_ms = (uint64_t)((long long)now_ms() + o->offset_ms);
	snprintf(req->ctx.computer_name, sizeof(req->ctx.computer_name),
	    "%s", p.computer_name);
	if ((rc = skp_ctap_request_encode(req, &msg, &msglen)) != SKP_OK ||
	    (rc = mangle(msg, msglen, o->mangle)) != SKP_OK) {
		fail("encode", rc);
		goto out;
	}
	memset(&cp, 0, sizeof(cp));
	cp.name = p.phone_name;
	cp.relay_url = p.relay;
	cp.static_pub = p.phone_pub;
	cp.mailbox_id = p.mailbox_id;
	cp.request_psk = p.request_psk;
	cp.pin = o->pin;
	cp.ca_file = NULL;
	cp.offline_ms = 0;
	/* Stale requests on purpose (--offset-ms) stay refused. */
	cp.no_clock_retry = !o->clock_retry;
	for (i = 0; i < o->repeat; i++) {
		if (i > 0 && o->fresh_ids) {
			free(msg);
			msg = NULL;
			if ((rc = skp_random(req->id, sizeof(req->id))) !=
			    SKP_OK || (rc = skp_ctap_request_encode(req, &msg,
			    &msglen)) != SKP_OK ||
			    (rc = mangle(msg, msglen, o->mangle)) != SKP_OK) {
				fail("encode", rc);
				goto out;
			}
		}
		skp_call_response_clear(resp);
		rc = skp_call(&cp, &id, msg, msglen, o->timeout_ms, on_status,
		    NULL, resp);
		if (resp->moved)
			moved(dir, &p, resp);
		if (o->quiet && i + 1 < o->repeat)
			continue;
		printf("result %d status=0x%02x err=%d (%s) reason=\"%s\"\n",
		    i + 1, resp->status, rc, skp_strerror(rc), resp->reason);
		printf("wire sent=%zu answer=%zu\n", resp->sent_len,
		    resp->answer_len);
		/* Response key 6, and the retry in the phone's time. */
		if (resp->has_phone_time)
			printf("phone-time ms=%llu\n",
			    (unsigned long long)resp->phone_time_ms);
		if (resp->clock_retried)
			printf("clock-retried offset-ms=%lld\n",
			    (long long)resp->clock_offset_ms);
		fflush(stdout);
	}
 out:
	free(msg);
	skp_wipe(&id, sizeof(id));
	skp_wipe(&p, sizeof(p));
	return rc;
}

/* Hex into a buffer of at most max bytes. */
static int
unhex(const char *hex, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(hex) / 2;

	if (n == 0 || n > max || strlen(hex) % 2 != 0 ||
	    skp_unhex(hex, out, n) != SKP_OK)
		return SKP_ERR_INVALID;
	*len = n;
	return SKP_OK;
}

/* Host information as sk-phone proxy would leave it (context key 3). */
static int
set_host(struct skp_ctap_context *ctx, const struct opts *o)
{
	struct skp_ctap_host *h = &ctx->host;
	int rc;

	if (o->host == NULL)
		return SKP_OK;
	if (o->hostkey_hex == NULL || o->hostsig_hex == NULL ||
	    o->port == 0 || o->port > 65535)
		return SKP_ERR_INVALID;
	snprintf(h->name, sizeof(h->name), "%s", o->host);
	h->port = (uint16_t)o->port;
	snprintf(h->kex, sizeof(h->kex), "curve25519-sha256");
	if ((rc = unhex(o->hostkey_hex, h->host_key, sizeof(h->host_key),
	    &h->host_key_len)) != SKP_OK ||
	    (rc = unhex(o->hostsig_hex, h->signature, sizeof(h->signature),
	    &h->signature_len)) != SKP_OK)
		return rc;
	ctx->has_host = 1;
	return SKP_OK;
}

/* kalg: the key's COSE alg, for the userauth request's algorithm name. */
static int
raw_from(const struct opts *o, int64_t kalg, uint8_t *raw, size_t max,
    size_t *len)
{
	skp_buf_t *b = NULL;
	uint8_t sid[64];
	size_t n, sidlen = 32;
	int rc = SKP_OK;

	if (o->data_hex != NULL) {
		n = strlen(o->data_hex) / 2;
		if (n == 0 || n > max || skp_unhex(o->data_hex, raw, n) !=
		    SKP_OK)
			return SKP_ERR_INVALID;
		*len = n;
		return SKP_OK;
	}
	if ((b = skp_buf_new(max)) == NULL)
		return SKP_ERR_NOMEM;
	if (o->userauth != NULL) {
		const char *alg = kalg == SKP_CTAP_COSE_EDDSA ?
		    "sk-ssh-ed25519@openssh.com" :
		    "sk-ecdsa-sha2-nistp256@openssh.com";
		const char *method = o->hostbound_hex != NULL ?
		    "publickey-hostbound-v00@openssh.com" : "publickey";

		/* The key blob here is filled in by the caller. */
		if (o->sid_hex != NULL)
			rc = unhex(o->sid_hex, sid, sizeof(sid), &sidlen);
		else
			rc = skp_random(sid, sidlen);
		if (rc != SKP_OK ||
		    (rc = skp_buf_string(b, sid, sidlen)) != SKP_OK ||
		    (rc = skp_buf_u8(b, 50)) != SKP_OK ||
		    (rc = skp_buf_string(b, o->userauth,
		    strlen(o->userauth))) != SKP_OK ||
		    (rc = skp_buf_string(b, "ssh-connection", 14)) != SKP_OK ||
		    (rc = skp_buf_string(b, method, strlen(method))) !=
		    SKP_OK ||
		    (rc = skp_buf_u8(b, 1)) != SKP_OK ||
		    (rc = skp_buf_string(b, alg, strlen(alg))) != SKP_OK)
			goto out;
	} else if (o->sshsig != NULL) {
		if ((rc = skp_random(sid, sizeof(sid))) != SKP_OK ||
		    (rc = skp_buf_put(b, "SSHSIG", 6)) != SKP_OK ||
		    (rc = skp_buf_string(b, o->sshsig, strlen(o->sshsig))) !=
		    SKP_OK ||
		    (rc = skp_buf_string(b, "", 0)) != SKP_OK ||
		    (rc = skp_buf_string(b, "sha512", 6)) != SKP_OK ||
		    (rc = skp_buf_u32(b, 64)) != SKP_OK ||
		    (rc = skp_buf_put(b, sid, 64)) != SKP_OK)
			goto out;
	} else if ((rc = skp_random(sid, 32)) != SKP_OK ||
	    (rc = skp_buf_put(b, sid, 32)) != SKP_OK)
		goto out;
	*len = skp_buf_len(b);
	memcpy(raw, skp_buf_ptr(b), *len);
 out:
	skp_buf_free(&b);
	return rc;
}

/*
 * The SSH key blob of an sk-ecdsa key (alg -7) or an sk-ssh-ed25519 key
 * (-8), as a userauth request names it.
 */
static int
append_key_blob(struct skp_ctap_context *ctx, int64_t kalg,
    const uint8_t *pub, const char *rp)
{
	static const char alg[] = "sk-ecdsa-sha2-nistp256@openssh.com";
	static const char ed[] = "sk-ssh-ed25519@openssh.com";
	skp_buf_t *b = NULL;
	int rc;

	if ((b = skp_buf_new(1024)) == NULL)
		return SKP_ERR_NOMEM;
	if (kalg == SKP_CTAP_COSE_EDDSA)
		rc = (rc = skp_buf_string(b, ed, strlen(ed))) == SKP_OK ?
		    skp_buf_string(b, pub, SKP_ED25519_PUB_LEN) : rc;
	else if ((rc = skp_buf_string(b, alg, strlen(alg))) == SKP_OK &&
	    (rc = skp_buf_string(b, "nistp256", 8)) == SKP_OK)
		rc = skp_buf_string(b, pub, SKP_P256_PUB_LEN);
	if (rc == SKP_OK &&
	    (rc = skp_buf_string(b, rp, strlen(rp))) == SKP_OK) {
		if (ctx->raw_len + 4 + skp_buf_len(b) > sizeof(ctx->raw))
			rc = SKP_ERR_TOO_LARGE;
		else {
			ctx->raw[ctx->raw_len++] = 0;
			ctx->raw[ctx->raw_len++] = 0;
			ctx->raw[ctx->raw_len++] =
			    (uint8_t)(skp_buf_len(b) >> 8);
			ctx->raw[ctx->raw_len++] = (uint8_t)skp_buf_len(b);
			memcpy(ctx->raw + ctx->raw_len, skp_buf_ptr(b),
			    skp_buf_len(b));
			ctx->raw_len += skp_buf_len(b);
		}
	}
	skp_buf_free(&b);
	return rc;
}

/* Append an SSH string given in hex to the raw data. */
static int
append_string_hex(struct skp_ctap_context *ctx, const char *hex)
{
	uint8_t v[SKP_CTAP_HOST_BLOB_MAX];
	size_t n;
	int rc;

	if ((rc = unhex(hex, v, sizeof(v), &n)) != SKP_OK)
		return rc;
	if (ctx->raw_len + 4 + n > sizeof(ctx->raw))
		return SKP_ERR_TOO_LARGE;
	ctx->raw[ctx->raw_len++] = 0;
	ctx->raw[ctx->raw_len++] = 0;
	ctx->raw[ctx->raw_len++] = (uint8_t)(n >> 8);
	ctx->raw[ctx->raw_len++] = (uint8_t)n;
	memcpy(ctx->raw + ctx->raw_len, v, n);
	ctx->raw_len += n;
	return SKP_OK;
}

static void
put_hex(const char *label, const uint8_t *p, size_t n, FILE *f)
{
	char *hex = malloc(2 * n + 1);

	if (hex == NULL)
		return;
	skp_hex(p, n, hex);
	fprintf(f, "%s %s\n", label, hex);
	free(hex);
}

static int
cmd_enroll(const char *dir, const char *keyfile, const struct opts *o)
{
	struct skp_ctap_request *req = NULL;
	struct skp_call_response resp;
	struct skp_ctap_mc_resp mc;
	struct skp_verify_cred vc;
	struct skp_store_pairing p;
	struct skp_keyhandle kh;
	uint8_t khbuf[SKP_KEYHANDLE_MAX];
	size_t khlen;
	FILE *f;
	int rc;

	memset(&resp, 0, sizeof(resp));
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return 1;
	req->command = SKP_CTAP_MAKE_CREDENTIAL;
	snprintf(req->mc.rp_id, sizeof(req->mc.rp_id), "%s", o->rp);
	req->mc.user_id_len = 32;
	memset(req->mc.user_id, 0, 32);
	snprintf((char *)req->mc.user_id, 32, "%s", o->user);
	snprintf(req->mc.user_name, sizeof(req->mc.user_name), "%s", o->user);
	req->mc.cred_protect = o->cred_protect;
	req->mc.rk = o->resident ? 1 : SKP_CTAP_OPT_ABSENT;
	req->mc.up = SKP_CTAP_OPT_ABSENT;
	req->mc.uv = o->uv ? 1 : SKP_CTAP_OPT_ABSENT;
	req->mc.alg = o->alg;
	req->ctx.has_raw = 1;
	req->ctx.raw_len = 32;
	req->ctx.overwrite = o->overwrite;
	if ((rc = skp_random(req->ctx.raw, 32)) != SKP_OK ||
	    (rc = skp_sha256(req->ctx.raw, 32, req->mc.cdh)) != SKP_OK)
		goto out;
	if (o->tamper)
		req->ctx.raw[0] ^= 1;
	if ((rc = send_req(dir, req, o, &resp)) != SKP_OK)
		goto out;
	if ((rc = skp_ctap_mc_resp_decode(resp.ctap, resp.ctap_len, &mc)) !=
	    SKP_OK) {
		fail("decode", rc);
		goto out;
	}
	if ((rc = skp_verify_make_credential(o->rp, req->mc.cdh, mc.authdata,
	    mc.authdata_len, "packed", mc.alg, mc.sig, mc.sig_len, o->uv ||
	    o->cred_protect == 3, &vc)) != SKP_OK) {
		fail("verify", rc);
		goto out;
	}
	if ((rc = load_phone(dir, &p)) != SKP_OK)
		goto out;
	memset(&kh, 0, sizeof(kh));
	memcpy(kh.phone_id, p.phone_id, sizeof(kh.phone_id));
	memcpy(kh.pub, vc.pub, sizeof(kh.pub));
	kh.alg = vc.alg;
	memcpy(kh.cred_id, vc.cred_id, vc.cred_id_len);
	kh.cred_id_len = vc.cred_id_len;
	if ((rc = skp_keyhandle_encode(&kh, khbuf, sizeof(khbuf), &khlen)) !=
	    SKP_OK)
		goto out;
	printf("enrolled flags=0x%02x counter=%u\n", vc.flags,
	    vc.sign_count);
	if ((f = fopen(keyfile, "w")) == NULL) {
		rc = SKP_ERR_IO;
		goto out;
	}
	fprintf(f, "rp %s\n", o->rp);
	fprintf(f, "alg %lld\n", (long long)vc.alg);
	put_hex("pub", vc.pub, vc.pub_len, f);
	put_hex("cred", vc.cred_id, vc.cred_id_len, f);
	put_hex("keyhandle", khbuf, khlen, f);
	fclose(f);
	put_hex("pub", vc.pub, vc.pub_len, stdout);
	printf("alg %lld\n", (long long)vc.alg);
 out:
	skp_call_response_clear(&resp);
	skp_ctap_request_clear(req);
	free(req);
	return rc == SKP_OK ? 0 : 1;
}

/* A key file; no "alg" line (older files): ES256. */
static int
read_key(const char *keyfile, char *rp, size_t rplen, int64_t *alg,
    uint8_t pub[SKP_P256_PUB_LEN], uint8_t *cred, size_t *credlen)
{
	char line[1024], hex[1024];
	long long a;
	FILE *f;
	int got = 0;

	*alg = SKP_CTAP_COSE_ES256;
	memset(pub, 0, SKP_P256_PUB_LEN);
	if ((f = fopen(keyfile, "r")) == NULL)
		return SKP_ERR_IO;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "rp %1000s", hex) == 1) {
			snprintf(rp, rplen, "%s", hex);
			got |= 1;
		} else if (sscanf(line, "alg %lld", &a) == 1) {
			*alg = a;
		} else if (sscanf(line, "pub %1000s", hex) == 1 &&
		    (strlen(hex) == 2 * SKP_P256_PUB_LEN ||
		    strlen(hex) == 2 * SKP_ED25519_PUB_LEN) &&
		    skp_unhex(hex, pub, strlen(hex) / 2) == SKP_OK)
			got |= 2;
		else if (sscanf(line, "cred %1000s", hex) == 1 &&
		    strlen(hex) / 2 <= SKP_CTAP_CRED_ID_MAX &&
		    skp_unhex(hex, cred, strlen(hex) / 2) == SKP_OK) {
			*credlen = strlen(hex) / 2;
			got |= 4;
		}
	}
	fclose(f);
	return got == 7 ? SKP_OK : SKP_ERR_FORMAT;
}

static int
cmd_sign(const char *dir, const char *keyfile, const struct opts *o)
{
	struct skp_ctap_request *req = NULL;
	struct skp_call_response resp;
	struct skp_ctap_ga_resp ga;
	uint8_t pub[SKP_P256_PUB_LEN], flags;
	char rp[SKP_CTAP_RP_ID_MAX + 1];
	uint32_t counter;
	int64_t alg;
	int rc;

	memset(&resp, 0, sizeof(resp));
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return 1;
	req->command = SKP_CTAP_GET_ASSERTION;
	if ((rc = read_key(keyfile, rp, sizeof(rp), &alg, pub,
	    req->ga.allow[0].id,
	    &req->ga.allow[0].id_len)) != SKP_OK) {
		fail("key file", rc);
		goto out;
	}
	req->ga.nallow = 1;
	snprintf(req->ga.rp_id, sizeof(req->ga.rp_id), "%s", rp);
	req->ga.up = o->no_up ? 0 : SKP_CTAP_OPT_ABSENT;
	req->ga.uv = o->uv ? 1 : SKP_CTAP_OPT_ABSENT;
	req->ctx.has_raw = 1;
	if ((rc = raw_from(o, alg, req->ctx.raw, sizeof(req->ctx.raw),
	    &req->ctx.raw_len)) != SKP_OK)
		goto out;
	if (o->userauth != NULL &&
	    (rc = append_key_blob(&req->ctx, alg, pub, rp)) != SKP_OK)
		goto out;
	if (o->userauth != NULL && o->hostbound_hex != NULL &&
	    (rc = append_string_hex(&req->ctx, o->hostbound_hex)) != SKP_OK)
		goto out;
	if ((rc = set_host(&req->ctx, o)) != SKP_OK) {
		fail("host info", rc);
		goto out;
	}
	if ((rc = skp_sha256(req->ctx.raw, req->ctx.raw_len, req->ga.cdh)) !=
	    SKP_OK)
		goto out;
	/* Data that does not hash to the clientDataHash. */
	if (o->tamper)
		req->ctx.raw[req->ctx.raw_len - 1] ^= 1;
	if ((rc = send_req(dir, req, o, &resp)) != SKP_OK)
		goto out;
	if ((rc = skp_ctap_ga_resp_decode(resp.ctap, resp.ctap_len, &ga)) !=
	    SKP_OK) {
		fail("decode", rc);
		goto out;
	}
	if ((rc = skp_verify_assertion_alg(rp, req->ga.cdh, alg, pub,
	    ga.authdata, ga.authdata_len, ga.sig, ga.sig_len, !o->no_up, o->uv,
	    &flags, &counter)) != SKP_OK) {
		fail("verify", rc);
		goto out;
	}
	printf("signed flags=0x%02x counter=%u authdata=%zu\n", flags,
	    counter, ga.authdata_len);
 out:
	skp_call_response_clear(&resp);
	skp_ctap_request_clear(req);
	free(req);
	return rc == SKP_OK ? 0 : 1;
}

static int
cmd_list(const char *dir, const struct opts *o)
{
	struct skp_ctap_request *req = NULL;
	struct skp_call_response resp;
	struct skp_ctap_cred *creds = NULL;
	size_t n = 0, i;
	char hex[2 * SKP_CTAP_CRED_ID_MAX + 1];
	int rc;

	memset(&resp, 0, sizeof(resp));
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return 1;
	req->command = SKP_CTAP_CRED_MGMT;
	req->cm.subcommand = SKP_CTAP_CM_ENUM_CREDS;
	if ((rc = send_req(dir, req, o, &resp)) != SKP_OK)
		goto out;
	if ((rc = skp_ctap_creds_decode(resp.ctap, resp.ctap_len,
	    SKP_CTAP_CM_ENUM_CREDS, 1, &creds, &n)) != SKP_OK) {
		fail("decode", rc);
		goto out;
	}
	for (i = 0; i < n; i++) {
		skp_hex(creds[i].cred.id, creds[i].cred.id_len, hex);
		printf("cred rp=%s user=%s protect=%u id=%s\n",
		    creds[i].rp_id, creds[i].user_name,
		    creds[i].cred_protect, hex);
	}
	printf("listed %zu\n", n);
 out:
	skp_ctap_creds_free(&creds, n);
	skp_call_response_clear(&resp);
	free(req);
	return rc == SKP_OK ? 0 : 1;
}

/*
 * squat DIR N: what someone who knows the mailbox id can do: open N calls
 * to the phone and send nothing. Prints "squat CHAN CODE" as each ends and
 * "squat done ENDED" when all did or the timeout passed.
 */
static int
cmd_squat(const char *dir, int n, const struct opts *o)
{
	struct skp_store_pairing p;
	struct skp_relay_event ev;
	skp_relay_t *r = NULL;
	uint32_t chan;
	time_t end;
	int rc, i, ended = 0;

	if (n < 1 || n > 16 || (rc = load_phone(dir, &p)) != SKP_OK)
		return 2;
	if ((r = skp_relay_new(NULL)) == NULL)
		return 1;
	if ((rc = skp_relay_connect(r, p.relay, 5000)) != SKP_OK) {
		fail("connect", rc);
		goto out;
	}
	end = time(NULL) + o->timeout_ms / 1000 + 1;
	for (i = 0; i < n; i++)
		if ((rc = skp_relay_call(r, p.mailbox_id, 0, &chan)) !=
		    SKP_OK) {
			fail("call", rc);
			goto out;
		}
	while (ended < n && time(NULL) < end) {
		if ((rc = skp_relay_service(r, 500, &ev)) == SKP_ERR_TIMEOUT)
			continue;
		if (rc != SKP_OK || ev.type == SKP_RELAY_EV_CLOSED)
			break;
		if (ev.type == SKP_RELAY_EV_END) {
			printf("squat %u %u\n", (unsigned int)ev.chan,
			    (unsigned int)ev.code);
			fflush(stdout);
			ended++;
		}
	}
	rc = SKP_OK;
 out:
	printf("squat done %d\n", ended);
	skp_relay_free(&r);
	return rc == SKP_OK ? 0 : 1;
}

static int
cmd_info(const char *dir, const struct opts *o)
{
	struct skp_ctap_request *req = NULL;
	struct skp_call_response resp;
	struct skp_ctap_info info;
	size_t i;
	int rc;

	memset(&resp, 0, sizeof(resp));
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return 1;
	req->command = SKP_CTAP_GET_INFO;
	if ((rc = send_req(dir, req, o, &resp)) != SKP_OK)
		goto out;
	if ((rc = skp_ctap_info_decode(resp.ctap, resp.ctap_len, &info)) !=
	    SKP_OK) {
		fail("decode", rc);
		goto out;
	}
	printf("info versions=%zu %s rk=%d clientPin=%d\n", info.nversions,
	    info.versions[0], skp_ctap_info_option(&info, "rk"),
	    skp_ctap_info_option(&info, "clientPin"));
	/* Key 10, in the phone's order. */
	printf("algorithms");
	for (i = 0; i < info.nalgorithms; i++)
		printf(" %lld", (long long)info.algorithms[i]);
	printf("\n");
 out:
	skp_call_response_clear(&resp);
	free(req);
	return rc == SKP_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rp",		  required_argument, NULL, 'r' },
		{ "user",	  required_argument, NULL, 'u' },
		{ "pin",	  required_argument, NULL, 'p' },
		{ "data",	  required_argument, NULL, 'd' },
		{ "userauth",	  required_argument, NULL, 'U' },
		{ "sshsig",	  required_argument, NULL, 'S' },
		{ "resident",	  no_argument,	     NULL, 'R' },
		{ "uv",		  no_argument,	     NULL, 'v' },
		{ "overwrite",	  no_argument,	     NULL, 'o' },
		{ "no-up",	  no_argument,	     NULL, 'n' },
		{ "decline",	  no_argument,	     NULL, 'D' },
		{ "tamper",	  no_argument,	     NULL, 'T' },
		{ "cred-protect", required_argument, NULL, 'c' },
		{ "offset-ms",	  required_argument, NULL, 'O' },
		{ "repeat",	  required_argument, NULL, 'x' },
		{ "fresh-ids",	  no_argument,	     NULL, 'F' },
		{ "quiet",	  no_argument,	     NULL, 'q' },
		{ "timeout-ms",	  required_argument, NULL, 't' },
		{ "sid",	  required_argument, NULL, 'i' },
		{ "host",	  required_argument, NULL, 'H' },
		{ "port",	  required_argument, NULL, 'P' },
		{ "hostkey",	  required_argument, NULL, 'K' },
		{ "hostsig",	  required_argument, NULL, 'G' },
		{ "hostbound",	  required_argument, NULL, 'B' },
		{ "id",		  required_argument, NULL, 'I' },
		{ "mangle",	  required_argument, NULL, 'M' },
		{ "alg",	  required_argument, NULL, 'A' },
		{ "clock-retry",  no_argument,	     NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	const char *cmd;
	int c, n;

	memset(&o, 0, sizeof(o));
	o.rp = "ssh:";
	o.user = "";
	o.repeat = 1;
	o.port = 22;
	o.timeout_ms = CALL_TIMEOUT_MS;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o.rp = optarg; break;
		case 'u': o.user = optarg; break;
		case 'p': o.pin = optarg; break;
		case 'd': o.data_hex = optarg; break;
		case 'U': o.userauth = optarg; break;
		case 'S': o.sshsig = optarg; break;
		case 'R': o.resident = 1; break;
		case 'v': o.uv = 1; break;
		case 'o': o.overwrite = 1; break;
		case 'n': o.no_up = 1; break;
		case 'D': o.decline = 1; break;
		case 'T': o.tamper = 1; break;
		case 'c': o.cred_protect = (unsigned int)atoi(optarg); break;
		case 'O': o.offset_ms = atoll(optarg); break;
		case 'x': o.repeat = atoi(optarg); break;
		case 'F': o.fresh_ids = 1; break;
		case 'q': o.quiet = 1; break;
		case 't': o.timeout_ms = atoi(optarg); break;
		case 'i': o.sid_hex = optarg; break;
		case 'H': o.host = optarg; break;
		case 'P': o.port = (unsigned int)atoi(optarg); break;
		case 'K': o.hostkey_hex = optarg; break;
		case 'G': o.hostsig_hex = optarg; break;
		case 'B': o.hostbound_hex = optarg; break;
		case 'I': o.id_hex = optarg; break;
		case 'M': o.mangle = optarg; break;
		case 'A': o.alg = atoll(optarg); break;
		case 'C': o.clock_retry = 1; break;
		default: return 2;
		}
	}
	n = argc - optind;
	if (n < 2 || o.repeat < 1 || o.timeout_ms <= 0)
		return 2;
	cmd = argv[optind];
	if (strcmp(cmd, "pair") == 0 && n == 4)
		return cmd_pair(argv[optind + 1], argv[optind + 2],
		    argv[optind + 3], &o);
	if (strcmp(cmd, "pair-wrong-secret") == 0 && n == 4)
		return cmd_pair_wrong_secret(argv[optind + 1],
		    argv[optind + 2], argv[optind + 3], &o);
	if (strcmp(cmd, "make-uri") == 0 && n == 5)
		return cmd_make_uri(argv[optind + 1], argv[optind + 2],
		    argv[optind + 3], atoll(argv[optind + 4]));
	if (strcmp(cmd, "enroll") == 0 && n == 3)
		return cmd_enroll(argv[optind + 1], argv[optind + 2], &o);
	if (strcmp(cmd, "sign") == 0 && n == 3)
		return cmd_sign(argv[optind + 1], argv[optind + 2], &o);
	if (strcmp(cmd, "list") == 0 && n == 2)
		return cmd_list(argv[optind + 1], &o);
	if (strcmp(cmd, "mailbox") == 0 && n == 2)
		return cmd_mailbox(argv[optind + 1]);
	if (strcmp(cmd, "info") == 0 && n == 2)
		return cmd_info(argv[optind + 1], &o);
	if (strcmp(cmd, "squat") == 0 && n == 3)
		return cmd_squat(argv[optind + 1], atoi(argv[optind + 2]),
		    &o);
	return 2;
}
