/* Test only: a phone whose answers carry one flipped byte inside them. */
/*
 * It uses the reference phone's state and its request checks (handle.c)
 * but makes the answers itself, then changes one byte of the signed
 * content before sealing it in a genuine Noise message 2. The channel is
 * intact, so only the provider's libfido2 checks can catch it: the tests
 * expect every such answer to be refused.
 *
 *   testphone --state DIR --relay URL [--seconds N]
 *   SKP_TESTPHONE_FLIP=authdata	a byte of the rpIdHash, after signing
 *   SKP_TESTPHONE_FLIP=sig		a byte inside the DER signature's r
 *   SKP_TESTPHONE_FLIP=pubkey		enroll: a byte of the new public key
 *   SKP_TESTPHONE_FLIP=alg		enroll: the attStmt names the other
 *					algorithm (-7 for -8, -8 for -7)
 *   SKP_TESTPHONE_FLIP=otherkey	signed by another key of the same
 *					type than the one in authData or the
 *					key handle
 *   SKP_TESTPHONE_FLIP=noed25519	a phone without Ed25519: an ed25519
 *					enrolment is refused 0x26, with the
 *					web phone's reason
 *   SKP_TESTPHONE_FLIP=none		nothing (the control case)
 *   SKP_TESTPHONE_DUMP=DIR		also write the data of each signature
 *					request (and its host information) to
 *					DIR as fuzz_sshmsg inputs
 *
 * Never built into anything installed. It keeps no state: credentials it
 * makes are not saved, and counters do not move. Keys are of the type the
 * computer asked for (ES256 or EdDSA), as the reference phone's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk-phone/authdata.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#include "handle.h"
#include "phstate.h"

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *
flip_mode(void)
{
	const char *m = getenv("SKP_TESTPHONE_FLIP");

	return m != NULL ? m : "authdata";
}

/* Flip one byte of authData or of the signature, per the mode. */
static void
flip(uint8_t *authdata, uint8_t *sig, size_t siglen)
{
	const char *m = flip_mode();

	/* Inside r after the DER heads; inside R for Ed25519. */
	if (strcmp(m, "sig") == 0 && siglen > 8)
		sig[6] ^= 0x01;
	else if (strcmp(m, "authdata") == 0)
		authdata[5] ^= 0x01;	/* inside rpIdHash */
}

/* A fresh key of c's type, to sign with in the "otherkey" mode. */
static int
other_key(const struct skp_ph_cred *c, struct skp_ph_cred *o)
{
	memset(o, 0, sizeof(*o));
	o->alg = c->alg;
	return c->alg == SKP_COSE_ALG_EDDSA ? skp_ed25519_generate(&o->ed) :
	    skp_p256_generate(&o->key);
}

static int
answer_assertion(struct skp_phstate *st, struct skp_req *r, uint8_t **enc,
    size_t *enclen)
{
	struct skp_ctap_ga_resp ga;
	struct skp_authdata ad;
	const struct skp_ph_cred *c = NULL;
	struct skp_ph_cred other;
	size_t i;
	int rc;

	memset(&other, 0, sizeof(other));
	for (i = 0; i < st->ncreds; i++)
		if (memcmp(st->creds[i].id, r->cred_id,
		    SKP_PH_CRED_ID_LEN) == 0)
			c = &st->creds[i];
	if (c == NULL)
		return SKP_ERR_NOT_FOUND;
	memset(&ga, 0, sizeof(ga));
	memset(&ad, 0, sizeof(ad));
	ad.flags = SKP_AUTHDATA_UP | (r->uv ? SKP_AUTHDATA_UV : 0);
	ad.sign_count = c->counter + 1;
	if ((rc = skp_sha256(r->req.ga.rp_id, strlen(r->req.ga.rp_id),
	    ad.rp_id_hash)) != SKP_OK ||
	    (rc = skp_authdata_build(&ad, ga.authdata, sizeof(ga.authdata),
	    &ga.authdata_len)) != SKP_OK ||
	    (strcmp(flip_mode(), "otherkey") == 0 &&
	    (rc = other_key(c, &other)) != SKP_OK) ||
	    (rc = skp_handle_sign(strcmp(flip_mode(), "otherkey") == 0 ?
	    &other : c, ga.authdata, ga.authdata_len, r->req.ga.cdh, ga.sig,
	    &ga.sig_len)) != SKP_OK) {
		skp_wipe(&other, sizeof(other));
		return rc;
	}
	skp_wipe(&other, sizeof(other));
	memcpy(ga.cred.id, c->id, sizeof(c->id));
	ga.cred.id_len = sizeof(c->id);
	flip(ga.authdata, ga.sig, ga.sig_len);
	return skp_ctap_ga_resp_encode(&ga, enc, enclen);
}

static int
answer_credential(struct skp_req *r, uint8_t **enc, size_t *enclen)
{
	struct skp_ctap_mc_resp mc;
	struct skp_authdata ad;
	struct skp_ph_cred key, other;
	int rc;

	memset(&mc, 0, sizeof(mc));
	memset(&ad, 0, sizeof(ad));
	memset(&key, 0, sizeof(key));
	memset(&other, 0, sizeof(other));
	key.alg = r->req.mc.alg == SKP_CTAP_COSE_EDDSA ? SKP_COSE_ALG_EDDSA :
	    SKP_COSE_ALG_ES256;
	if ((rc = key.alg == SKP_COSE_ALG_EDDSA ?
	    skp_ed25519_generate(&key.ed) : skp_p256_generate(&key.key)) !=
	    SKP_OK ||
	    (rc = other_key(&key, &other)) != SKP_OK ||
	    (rc = skp_random(ad.cred_id, 16)) != SKP_OK)
		goto out;
	ad.cred_id_len = 16;
	ad.flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_AT |
	    (r->uv ? SKP_AUTHDATA_UV : 0);
	memcpy(ad.aaguid, skp_authdata_aaguid, sizeof(ad.aaguid));
	ad.alg = key.alg;
	if (key.alg == SKP_COSE_ALG_EDDSA)
		memcpy(ad.pub, key.ed.pub, SKP_ED25519_PUB_LEN);
	else
		memcpy(ad.pub, key.key.pub, sizeof(ad.pub));
	if ((rc = skp_sha256(r->req.mc.rp_id, strlen(r->req.mc.rp_id),
	    ad.rp_id_hash)) != SKP_OK ||
	    (rc = skp_authdata_build(&ad, mc.authdata, sizeof(mc.authdata),
	    &mc.authdata_len)) != SKP_OK ||
	    (rc = skp_handle_sign(strcmp(flip_mode(), "otherkey") == 0 ?
	    &other : &key, mc.authdata, mc.authdata_len, r->req.mc.cdh,
	    mc.sig, &mc.sig_len)) != SKP_OK)
		goto out;
	mc.alg = key.alg;
	if (strcmp(flip_mode(), "alg") == 0)
		mc.alg = key.alg == SKP_COSE_ALG_EDDSA ? SKP_COSE_ALG_ES256 :
		    SKP_COSE_ALG_EDDSA;
	if (strcmp(flip_mode(), "pubkey") == 0)
		/* The last byte of the COSE key (y, or Ed25519's x): another
		 * key than the one that signed, or no point at all. */
		mc.authdata[mc.authdata_len - 1] ^= 0x01;
	else
		flip(mc.authdata, mc.sig, mc.sig_len);
	rc = skp_ctap_mc_resp_encode(&mc, enc, enclen);
 out:
	skp_wipe(&key, sizeof(key));
	skp_wipe(&other, sizeof(other));
	return rc;
}

static void
dump_file(const char *dir, unsigned int n, const char *what,
    const skp_buf_t *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%03u-%s", dir, n, what);
	if ((f = fopen(path, "wb")) == NULL)
		return;
	if (fwrite(skp_buf_ptr(b), 1, skp_buf_len(b), f) != skp_buf_len(b))
		fprintf(stderr, "testphone: %s: short write\n", path);
	fclose(f);
}

/*
 * The data OpenSSH asked to sign, as fuzz_sshmsg inputs: 0x00 || data,
 * and with host information 0x01 || u16 key || u16 signature || u8 name
 * || u16 port || data.
 */
static void
dump(const struct skp_req *r)
{
	const struct skp_ctap_context *c = &r->req.ctx;
	const char *dir = getenv("SKP_TESTPHONE_DUMP");
	static unsigned int n;
	skp_buf_t *b;
	size_t nl = strlen(c->host.name);

	if (dir == NULL || !c->has_raw ||
	    (b = skp_buf_new(16 + 2 * SKP_CTAP_HOST_BLOB_MAX + 256 +
	    SKP_CTAP_RAW_MAX)) == NULL)
		return;
	n++;
	if (skp_buf_u8(b, 0) == SKP_OK &&
	    skp_buf_put(b, c->raw, c->raw_len) == SKP_OK)
		dump_file(dir, n, "data", b);
	skp_buf_reset(b);
	if (c->has_host && skp_buf_u8(b, 1) == SKP_OK &&
	    skp_buf_u16(b, (uint16_t)c->host.host_key_len) == SKP_OK &&
	    skp_buf_put(b, c->host.host_key, c->host.host_key_len) ==
	    SKP_OK &&
	    skp_buf_u16(b, (uint16_t)c->host.signature_len) == SKP_OK &&
	    skp_buf_put(b, c->host.signature, c->host.signature_len) ==
	    SKP_OK &&
	    skp_buf_u8(b, (uint8_t)nl) == SKP_OK &&
	    skp_buf_put(b, c->host.name, nl) == SKP_OK &&
	    skp_buf_u16(b, c->host.port) == SKP_OK &&
	    skp_buf_put(b, c->raw, c->raw_len) == SKP_OK)
		dump_file(dir, n, "host", b);
	skp_buf_free(&b);
}

/* One call: the reference phone's checks, then a tampered answer. */
static void
serve_call(skp_relay_t *relay, struct skp_handler *h, uint32_t chan)
{
	struct skp_req *r = NULL;
	skp_buf_t *out = NULL;
	uint8_t *msg = NULL, *ctap = NULL, *env = NULL;
	size_t len = 0, ctaplen = 0, envlen = 0;
	int rc;

	if ((rc = skp_relay_recv(relay, chan, 10000, &msg, &len)) != SKP_OK)
		goto out;
	rc = skp_handle_begin(h, msg, len, now_ms(), &r);
	if (rc != SKP_OK && r == NULL)
		goto out;
	if (r->next == SKP_HANDLE_DROP)
		goto out;
	if (r->req.command == SKP_CTAP_GET_ASSERTION)
		dump(r);
	if (r->next == SKP_HANDLE_APPROVE &&
	    strcmp(flip_mode(), "noed25519") == 0 &&
	    r->req.command == SKP_CTAP_MAKE_CREDENTIAL &&
	    r->req.mc.alg == SKP_CTAP_COSE_EDDSA) {
		(void)skp_handle_refuse(r, SKP_CTAP_UNSUPPORTED_ALGORITHM,
		    "this phone cannot make Ed25519 keys (its browser has no "
		    "Ed25519 in WebCrypto): use ecdsa-sk");
		fprintf(stdout, "testphone: answered command 0x%02x, flip "
		    "%s\n", r->req.command, flip_mode());
		fflush(stdout);
		goto send;
	}
	if (r->next == SKP_HANDLE_APPROVE) {
		if (r->req.command == SKP_CTAP_GET_ASSERTION)
			rc = answer_assertion(h->st, r, &ctap, &ctaplen);
		else if (r->req.command == SKP_CTAP_MAKE_CREDENTIAL)
			rc = answer_credential(r, &ctap, &ctaplen);
		else {
			/* Anything else: the reference phone's answer. */
			rc = skp_handle_approved(h, r, now_ms());
			goto send;
		}
		if (rc != SKP_OK ||
		    (rc = skp_ctap_response_encode(SKP_CTAP_OK, ctap, ctaplen,
		    NULL, &env, &envlen)) != SKP_OK ||
		    (out = skp_buf_new(65535)) == NULL ||
		    (rc = skp_noise_write_message(r->hs, env, envlen, out)) !=
		    SKP_OK)
			goto out;
		fprintf(stdout, "testphone: answered command 0x%02x, flip "
		    "%s\n", r->req.command, flip_mode());
		fflush(stdout);
		(void)skp_relay_send(relay, chan, skp_buf_ptr(out),
		    skp_buf_len(out));
		goto out;
	}
 send:
	if (r->reply != NULL)
		(void)skp_relay_send(relay, chan, skp_buf_ptr(r->reply),
		    skp_buf_len(r->reply));
 out:
	free(msg);
	free(ctap);
	free(env);
	skp_buf_free(&out);
	skp_req_free(&r);
}

int
main(int argc, char **argv)
{
	struct skp_phstate *st = NULL;
	struct skp_handler h;
	struct skp_relay_event ev;
	struct sigaction sa;
	skp_relay_t *relay = NULL;
	const char *dir = NULL, *url = NULL;
	char why[SKP_PH_WHY_MAX];
	time_t end;
	long seconds = 120;
	int i, rc, ret = 1;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--state") == 0)
			dir = argv[i + 1];
		else if (strcmp(argv[i], "--relay") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = strtol(argv[i + 1], NULL, 10);
	}
	if (dir == NULL || seconds < 1 || seconds > 3600) {
		fprintf(stderr, "usage: testphone --state DIR [--relay URL] "
		    "[--seconds N]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&h, 0, sizeof(h));
	if ((rc = skp_phstate_open(dir, NULL, 0, &st, why, sizeof(why))) !=
	    SKP_OK) {
		fprintf(stderr, "testphone: %s\n", why);
		goto out;
	}
	h.st = st;
	if (url == NULL)
		url = st->relay;
	if ((relay = skp_relay_new(NULL)) == NULL ||
	    (rc = skp_relay_connect(relay, url, 5000)) != SKP_OK ||
	    (rc = skp_relay_listen(relay, &st->mailbox_key, 5000)) !=
	    SKP_OK) {
		fprintf(stderr, "testphone: relay %s: %s\n", url,
		    skp_strerror(rc));
		goto out;
	}
	printf("testphone: listening on %s (flip %s)\n", url, flip_mode());
	fflush(stdout);
	end = time(NULL) + seconds;
	while (!stopping && time(NULL) < end) {
		rc = skp_relay_service(relay, 200, &ev);
		if (rc == SKP_ERR_TIMEOUT)
			continue;
		if (rc != SKP_OK || ev.type == SKP_RELAY_EV_CLOSED)
			break;
		if (ev.type == SKP_RELAY_EV_INCOMING)
			serve_call(relay, &h, ev.chan);
	}
	ret = 0;
 out:
	skp_relay_free(&relay);
	skp_wipe(&h, sizeof(h));
	skp_phstate_free(&st);
	return ret;
}
