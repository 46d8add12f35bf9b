/* One request on the phone: decrypt, check, and (once approved) answer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/authdata.h"
#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"

#include "handle.h"
#include "hostcheck.h"
#include "phstate.h"
#include "sshmsg.h"

#define SK_ECDSA	SKP_PH_SK_ECDSA
#define SK_ED25519	SKP_PH_SK_ED25519

static void
set_subject(struct skp_req *r, const char *s)
{
	snprintf(r->subject, sizeof(r->subject), "%s", s);
}

void
skp_req_free(struct skp_req **rp)
{
	struct skp_req *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	skp_noise_free(&r->hs);
	skp_noise_transport_free(&r->tp);
	skp_buf_free(&r->reply);
	skp_ctap_request_clear(&r->req);
	skp_wipe(r, sizeof(*r));
	free(r);
	*rp = NULL;
}

static const struct {
	const char	*op;
	const char	*text;
} op_texts[] = {
	{ "enroll",		"enroll a new ecdsa-sk key" },
	{ "enroll-resident",	"enroll a new resident ecdsa-sk key" },
	{ "login",		"SSH login" },
	{ "sshsig",		"signature (SSHSIG)" },
	{ "sign",		"signature of other data" },
	{ "list-keys",		"list the resident keys" },
	{ "info",		"get info" },
};

const char *
skp_handle_op_text(const struct skp_req *r)
{
	size_t i;

	/* The owner sees which type of key is made. */
	if (r->op != NULL && r->req.command == SKP_CTAP_MAKE_CREDENTIAL &&
	    r->req.mc.alg == SKP_CTAP_COSE_EDDSA)
		return r->req.mc.rk == 1 ?
		    "enroll a new resident ed25519-sk key" :
		    "enroll a new ed25519-sk key";
	for (i = 0; r->op != NULL && i < sizeof(op_texts) /
	    sizeof(op_texts[0]); i++)
		if (strcmp(op_texts[i].op, r->op) == 0)
			return op_texts[i].text;
	return "request";
}

/* The audit log's word for a refusal, from its status. */
static const char *
refusal(uint8_t status)
{
	switch (status) {
	case SKP_CTAP_STALE:
		return "refused-stale";
	case SKP_CTAP_REPLAYED:
		return "refused-replay";
	case SKP_CTAP_RAW_MISMATCH:
		return "refused-data-mismatch";
	case SKP_CTAP_UV_UNAVAILABLE:
		return "refused-uv-unavailable";
	case SKP_CTAP_PIN_REQUIRED:
		return "refused-pin-required";
	case SKP_CTAP_PIN_INVALID:
		return "refused-pin-invalid";
	case SKP_CTAP_PIN_BLOCKED:
		return "refused-pin-blocked";
	case SKP_CTAP_CREDENTIAL_EXCLUDED:
		return "refused-exists";
	case SKP_CTAP_NO_CREDENTIALS:
		return "refused-no-such-key";
	case SKP_CTAP_CHANNEL_BUSY:
		return "refused-busy";
	case SKP_CTAP_KEY_STORE_FULL:
		return "refused-full";
	case SKP_CTAP_OPERATION_DENIED:
		return "reject";
	case SKP_CTAP_USER_ACTION_TIMEOUT:
		return "reject-no-answer";
	case SKP_CTAP_HOSTKEY_CHANGED:
		return "refused-host-key-changed";
	default:
		return "refused-invalid";
	}
}

/*
 * The answer: Noise message 2, or transport message 4 after a PIN came
 * in message 3. ask_pin keeps the channel's keys for that message 3.
 */
static int
send_answer(struct skp_req *r, const struct skp_ctap_answer *in, int ask_pin)
{
	struct skp_ctap_answer ans = *in, *a = &ans;
	uint8_t *env = NULL;
	size_t envlen = 0;
	int rc;

	if (r->move && !a->unpadded) {
		a->move_id = r->move_id;
		a->move_relay = r->move_relay;
	}

	r->status = a->status;
	if (r->hs == NULL && r->tp == NULL)
		return SKP_ERR_STATE;
	skp_buf_free(&r->reply);
	if ((r->reply = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_ctap_answer_encode(a, &env, &envlen)) != SKP_OK)
		goto out;
	if (r->tp != NULL)
		rc = skp_noise_transport_encrypt(r->tp, env, envlen, r->reply);
	else if ((rc = skp_noise_write_message(r->hs, env, envlen,
	    r->reply)) == SKP_OK && ask_pin)
		rc = skp_noise_split(r->hs, &r->tp);
 out:
	if (rc != SKP_OK)
		skp_buf_free(&r->reply);
	skp_noise_free(&r->hs);
	if (!ask_pin || rc != SKP_OK)
		skp_noise_transport_free(&r->tp);
	if (env != NULL) {
		skp_wipe(env, envlen);
		free(env);
	}
	r->next = ask_pin && rc == SKP_OK ? SKP_HANDLE_PIN :
	    SKP_HANDLE_RESPOND;
	return rc;
}

static int
reply(struct skp_req *r, uint8_t status, const uint8_t *ctap, size_t ctaplen,
    const char *reason)
{
	struct skp_ctap_answer a;

	memset(&a, 0, sizeof(a));
	a.status = status;
	a.ctap = status == 0 ? ctap : NULL;
	a.ctap_len = status == 0 ? ctaplen : 0;
	a.reason = reason;
	/* Protocol 1's computer must be able to read why it was refused. */
	a.unpadded = status == SKP_CTAP_BAD_VERSION;
	return send_answer(r, &a, 0);
}

/*
 * Stale (§8.3 step 4): the phone's clock goes with the refusal (response
 * key 6), inside message 2, so that the paired computer can send the
 * request again in the phone's time.
 */
static int
refuse_stale(const struct skp_handler *h, struct skp_req *r,
    const char *reason, uint64_t now_ms)
{
	struct skp_ctap_answer a;

	if (r->decision == NULL)
		r->decision = refusal(SKP_CTAP_STALE);
	memset(&a, 0, sizeof(a));
	a.status = SKP_CTAP_STALE;
	a.reason = reason;
	a.has_phone_time = h->test_stale != SKP_HANDLE_STALE_NO_TIME;
	a.phone_time_ms = now_ms;
	return send_answer(r, &a, 0);
}

int
skp_handle_refuse(struct skp_req *r, uint8_t status, const char *reason)
{
	if (r->decision == NULL)
		r->decision = refusal(status);
	return reply(r, status, NULL, 0, reason);
}

/* A computer not yet told of the new mailbox: key 4 in every answer. */
static void
tell(const struct skp_handler *h, struct skp_req *r)
{
	const char *relay = h->relay != NULL ? h->relay : h->st->relay;

	r->move = r->computer.tell_mailbox && h->st->have_old_mailbox &&
	    !h->on_current &&
	    relay[0] != '\0' &&
	    skp_pairuri_check_relay(relay, strlen(relay)) == SKP_OK;
	if (!r->move)
		return;
	memcpy(r->move_id, h->st->mailbox_id, sizeof(r->move_id));
	snprintf(r->move_relay, sizeof(r->move_relay), "%s", relay);
}

/* Try each paired computer's key: only the sender's decrypts. */
static int
decrypt(struct skp_handler *h, struct skp_req *r, const uint8_t *msg,
    size_t len, skp_buf_t *out)
{
	struct skp_phstate *st = h->st;
	skp_noise_t *hs = NULL;
	size_t i;
	int rc;

	for (i = 0; i < st->ncomputers; i++) {
		if ((hs = skp_noise_new(SKP_NOISE_KKPSK0,
		    SKP_NOISE_RESPONDER)) == NULL)
			return SKP_ERR_NOMEM;
		skp_buf_reset(out);
		if ((rc = skp_noise_set_local_static(hs, &st->identity)) !=
		    SKP_OK ||
		    (rc = skp_noise_set_remote_static(hs,
		    st->computers[i].pub)) != SKP_OK ||
		    (rc = skp_noise_set_psk(hs, st->computers[i].psk)) !=
		    SKP_OK) {
			skp_noise_free(&hs);
			return rc;
		}
		if (skp_noise_read_message(hs, msg, len, out) == SKP_OK) {
			r->hs = hs;
			r->computer = st->computers[i];
			tell(h, r);
			return SKP_OK;
		}
		skp_noise_free(&hs);
	}
	return SKP_ERR_NOT_PAIRED;
}

/* Constant time over a fixed width, so the PIN's length does not show. */
static int
pin_matches(const char *want, const char *got)
{
	char a[SKP_CTAP_PIN_MAX + 1], b[SKP_CTAP_PIN_MAX + 1];
	int eq;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	snprintf(a, sizeof(a), "%s", want);
	snprintf(b, sizeof(b), "%s", got);
	eq = skp_ct_equal(a, b, sizeof(a));
	skp_wipe(a, sizeof(a));
	skp_wipe(b, sizeof(b));
	return eq;
}

static int
pin_blocked(struct skp_req *r)
{
	return skp_handle_refuse(r, SKP_CTAP_PIN_BLOCKED,
	    "PIN blocked after too many wrong tries: the phone's owner must "
	    "run: sk-phone-authenticator pin-reset");
}

/*
 * User verification, when the request or the credential asks for it:
 * answer PIN_REQUIRED with "the PIN may follow" (key 5) and keep the
 * channel; the PIN comes in transport message 3 (skp_handle_pin).
 */
static int
check_uv(struct skp_handler *h, struct skp_req *r)
{
	struct skp_ctap_answer a;

	if (!h->have_pin)
		return skp_handle_refuse(r, SKP_CTAP_UV_UNAVAILABLE,
		    "user verification not available: the phone has no PIN "
		    "(--pin-file)");
	if (h->st->pin_failures >= SKP_HANDLE_PIN_TRIES || h->pin_stuck)
		return pin_blocked(r);
	memset(&a, 0, sizeof(a));
	a.status = SKP_CTAP_PIN_REQUIRED;
	a.reason = "PIN required";
	a.pin_may_follow = 1;
	r->decision = "refused-pin-required";
	return send_answer(r, &a, 1);
}

/*
 * The PIN from transport message 3. The wrong-PIN count lives in the
 * state folder ("pin"): a wrong PIN is on disk before the answer leaves,
 * so restarting the phone (or killing it between the check and the
 * answer) gives no more tries.
 */
int
skp_handle_pin(struct skp_handler *h, struct skp_req *r, const uint8_t *msg,
    size_t len)
{
	char why[SKP_PH_WHY_MAX], pin[SKP_CTAP_PIN_MAX + 1];
	skp_buf_t *pt = NULL;
	int rc;

	memset(pin, 0, sizeof(pin));
	if (r->next != SKP_HANDLE_PIN || r->tp == NULL) {
		rc = SKP_ERR_STATE;
		goto out;
	}
	r->decision = NULL;
	if ((pt = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if (skp_noise_transport_decrypt(r->tp, msg, len, pt) != SKP_OK) {
		/* Not from the computer that asked: nothing to answer. */
		skp_noise_transport_free(&r->tp);
		skp_buf_free(&r->reply);
		r->next = SKP_HANDLE_DROP;
		r->decision = "refused-pin-message";
		rc = SKP_OK;
		goto out;
	}
	if (skp_ctap_pin_decode(skp_buf_ptr(pt), skp_buf_len(pt), pin) !=
	    SKP_OK) {
		rc = skp_handle_refuse(r, SKP_CTAP_INVALID_PARAMETER,
		    "malformed PIN message");
		goto out;
	}
	if (h->st->pin_failures >= SKP_HANDLE_PIN_TRIES || h->pin_stuck) {
		rc = pin_blocked(r);
		goto out;
	}
	if (!pin_matches(h->pin, pin)) {
		if (skp_phstate_pin_failed(h->st, why, sizeof(why)) !=
		    SKP_OK) {
			/* Uncounted tries would be unlimited: stop here. */
			h->pin_stuck = 1;
			rc = skp_handle_refuse(r, SKP_CTAP_PIN_BLOCKED,
			    "the phone cannot record wrong PINs: PIN "
			    "blocked until it restarts");
			goto out;
		}
		rc = skp_handle_refuse(r, SKP_CTAP_PIN_INVALID, "wrong PIN");
		goto out;
	}
	/* Only a count above 0 costs a write. */
	if (h->st->pin_failures != 0 &&
	    skp_phstate_pin_reset(h->st, why, sizeof(why)) != SKP_OK) {
		rc = skp_handle_refuse(r, SKP_CTAP_OTHER,
		    "the phone cannot save its state");
		goto out;
	}
	r->uv = 1;
	r->status = SKP_CTAP_OK;
	skp_buf_free(&r->reply);
	r->next = SKP_HANDLE_APPROVE;
	rc = SKP_OK;
 out:
	skp_wipe(pin, sizeof(pin));
	skp_buf_free(&pt);
	return rc;
}

/*
 * The key named in a userauth request must be the one asked to sign: its
 * blob, for the two plain sk key types, is exactly this credential's.
 */
static int
userauth_key_matches(const struct skp_sshmsg *m, const struct skp_ph_cred *c)
{
	skp_buf_t *b;
	int ok;

	if (strcmp(m->key_alg, SK_ECDSA) != 0 &&
	    strcmp(m->key_alg, SK_ED25519) != 0)
		return 1;	/* a certificate or another type: not ours */
	if ((b = skp_buf_new(2048)) == NULL)
		return 0;
	ok = strcmp(m->key_alg, c->alg == SKP_COSE_ALG_EDDSA ? SK_ED25519 :
	    SK_ECDSA) == 0 && skp_phstate_key_blob(c, b) == SKP_OK &&
	    skp_buf_len(b) == m->key_blob_len &&
	    memcmp(skp_buf_ptr(b), m->key_blob, m->key_blob_len) == 0;
	skp_buf_free(&b);
	return ok;
}

void
skp_handle_changed_reason(const char *host, char *out, size_t outlen)
{
	/* "[host]:port" is a glob to a shell: quoted in the command. */
	const char *q = strchr(host, '[') != NULL ? "'" : "";
	int n;

	n = snprintf(out, outlen, "host key for %s changed; the phone refused "
	    "to sign; if the change is expected run: sk-phone-authenticator "
	    "hosts forget %s%s%s", host, q, host, q);
	if (n < 0 || (size_t)n >= outlen || (size_t)n > SKP_CTAP_REASON_MAX)
		snprintf(out, outlen, "the pinned host key changed; the phone "
		    "refused to sign; if the change is expected run: "
		    "sk-phone-authenticator hosts (and hosts forget NAME)");
}

/*
 * Host information a login carries must hold, and a pinned host key must
 * not have changed: both refused here, before anyone is asked.
 */
static int
check_host(struct skp_handler *h, struct skp_req *r, uint64_t now_ms)
{
	char reason[SKP_CTAP_REASON_MAX + 1];

	skp_hostcheck_run_at(&r->req.ctx, &r->msg, h->st, now_ms / 1000,
	    &r->host);
	/* --unknown-ca refuse: only certificates of trusted CAs. */
	if (r->host.cert == SKP_HOSTCHECK_CERT_UNKNOWN &&
	    h->unknown_ca_refuse && r->host.state != SKP_HOSTCHECK_BAD &&
	    r->host.state != SKP_HOSTCHECK_UNVERIFIED) {
		r->decision = "refused-host-certificate";
		skp_why(reason, sizeof(reason), "the host certificate for "
		    "%s is from a CA the phone does not trust (%s) and the "
		    "phone runs with --unknown-ca refuse; the phone refused "
		    "to sign", r->host.host, r->host.ca_fp);
		return skp_handle_refuse(r, SKP_CTAP_HOST_UNVERIFIED, reason);
	}
	switch (r->host.state) {
	case SKP_HOSTCHECK_CHANGED:
		skp_handle_changed_reason(r->host.host, reason,
		    sizeof(reason));
		return skp_handle_refuse(r, SKP_CTAP_HOSTKEY_CHANGED, reason);
	case SKP_HOSTCHECK_BAD:
		if (r->host.cert_refused) {
			r->decision = "refused-host-certificate";
			skp_why(reason, sizeof(reason), "%s; the phone "
			    "refused to sign", r->host.why);
			return skp_handle_refuse(r, SKP_CTAP_HOST_UNVERIFIED,
			    reason);
		}
		r->decision = "refused-host-signature";
		snprintf(reason, sizeof(reason), "host verification failed "
		    "(%s); the phone refused to sign", r->host.why);
		return skp_handle_refuse(r, SKP_CTAP_HOST_UNVERIFIED, reason);
	default:
		return SKP_OK;
	}
}

/* The resident key of an rp and user, other than the one given. */
static struct skp_ph_cred *
find_resident(struct skp_phstate *st, const char *rp, const uint8_t *uid,
    size_t uidlen, const uint8_t *except)
{
	struct skp_ph_cred *c;
	size_t i;

	for (i = 0; i < st->ncreds; i++) {
		c = &st->creds[i];
		if (c->resident && strcmp(c->rp, rp) == 0 &&
		    c->user_id_len == uidlen &&
		    memcmp(c->user_id, uid, uidlen) == 0 &&
		    (except == NULL || memcmp(c->id, except,
		    SKP_PH_CRED_ID_LEN) != 0))
			return c;
	}
	return NULL;
}

static int
begin_make_credential(struct skp_handler *h, struct skp_req *r)
{
	const struct skp_ctap_make_credential *mc = &r->req.mc;

	if (mc->rp_id[0] == '\0' || strlen(mc->rp_id) > SKP_PH_RP_MAX)
		return skp_handle_refuse(r, SKP_CTAP_INVALID_PARAMETER,
		    "bad application");
	if (mc->rk == 1 && !r->req.ctx.overwrite &&
	    find_resident(h->st, mc->rp_id, mc->user_id, mc->user_id_len,
	    NULL) != NULL)
		return skp_handle_refuse(r, SKP_CTAP_CREDENTIAL_EXCLUDED,
		    "a resident key for this application and user exists");
	if (mc->uv == 1 || mc->cred_protect == 3)
		return check_uv(h, r);
	return SKP_OK;
}

static int
begin_get_assertion(struct skp_handler *h, struct skp_req *r,
    uint64_t now_ms)
{
	const struct skp_ctap_get_assertion *ga = &r->req.ga;
	struct skp_ph_cred *c = NULL;
	size_t i;
	int rc;

	for (i = 0; i < ga->nallow && c == NULL; i++) {
		c = skp_phstate_cred_find(h->st, ga->allow[i].id,
		    ga->allow[i].id_len);
		if (c != NULL && strcmp(c->rp, ga->rp_id) != 0)
			c = NULL;
	}
	if (c == NULL)
		return skp_handle_refuse(r, SKP_CTAP_NO_CREDENTIALS,
		    "no such key on the phone");
	memcpy(r->cred_id, c->id, sizeof(r->cred_id));
	if ((rc = skp_phstate_fingerprint(c, r->key_fp, sizeof(r->key_fp))) !=
	    SKP_OK)
		return rc;
	if (r->msg.kind == SKP_SSHMSG_USERAUTH &&
	    !userauth_key_matches(&r->msg, c))
		return skp_handle_refuse(r, SKP_CTAP_INVALID_PARAMETER,
		    "the login names another key");
	if ((rc = check_host(h, r, now_ms)) != SKP_OK || r->next != 0)
		return rc;
	if (ga->uv == 1 || c->cred_protect == 3)
		return check_uv(h, r);
	return SKP_OK;
}

/* What the request is, for the prompt and the log (msg once parsed). */
static void
describe(struct skp_req *r)
{
	switch (r->req.command) {
	case SKP_CTAP_MAKE_CREDENTIAL:
		r->op = r->req.mc.rk == 1 ? "enroll-resident" : "enroll";
		set_subject(r, r->req.mc.user_name);
		break;
	case SKP_CTAP_GET_ASSERTION:
		r->op = "sign";
		if (r->msg.kind == SKP_SSHMSG_USERAUTH) {
			r->op = "login";
			set_subject(r, r->msg.user);
		} else if (r->msg.kind == SKP_SSHMSG_SSHSIG) {
			r->op = "sshsig";
			set_subject(r, r->msg.ns);
		}
		break;
	case SKP_CTAP_CRED_MGMT:
		r->op = "list-keys";
		break;
	case SKP_CTAP_GET_INFO:
		r->op = "info";
		break;
	case SKP_CTAP_FORGET:
		r->op = "unpair";
		break;
	default:
		break;
	}
}

int
skp_handle_begin(struct skp_handler *h, const uint8_t *msg, size_t len,
    uint64_t now_ms, struct skp_req **out)
{
	struct skp_req *r = NULL;
	skp_buf_t *pt = NULL;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (pt = skp_buf_new(SKP_NOISE_MAX_MSG)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = decrypt(h, r, msg, len, pt)) != SKP_OK) {
		r->next = SKP_HANDLE_DROP;
		r->decision = "refused-not-paired";
		rc = SKP_OK;
		goto out;
	}
	rc = skp_handle_envelope(h, r, skp_buf_ptr(pt), skp_buf_len(pt),
	    now_ms);
 out:
	skp_buf_free(&pt);
	if (rc == SKP_ERR_NOMEM && r != NULL && r->next == 0)
		skp_req_free(&r);
	*out = r;
	return rc;
}

int
skp_handle_envelope(struct skp_handler *h, struct skp_req *r,
    const uint8_t *pt, size_t ptlen, uint64_t now_ms)
{
	uint8_t status = SKP_CTAP_OK;
	uint64_t skew;
	char why[SKP_CTAP_REASON_MAX + 1];
	int rc;

	/*
	 * The keys in memory only tell who asked, so that the refusal is
	 * theirs to read; no decision is made on a state that may be old
	 * (a key deleted or a computer unpaired by another process).
	 */
	if (h->state_unreadable) {
		r->decision = "refused-state-unreadable";
		rc = skp_handle_refuse(r, SKP_CTAP_OTHER, "the phone cannot "
		    "read its state folder: see the phone's terminal");
		goto out;
	}
	if ((rc = skp_ctap_request_decode(pt, ptlen, &r->req, &status)) !=
	    SKP_OK) {
		rc = skp_handle_refuse(r, status != SKP_CTAP_OK ? status :
		    SKP_CTAP_INVALID_CBOR, rc == SKP_ERR_OLD_VERSION ?
		    "the computer speaks an older sk-phone protocol: update "
		    "sk-phone on the computer (the phone speaks protocol 2)" :
		    rc == SKP_ERR_VERSION ? "the computer speaks a newer "
		    "sk-phone protocol: update sk-phone-authenticator on the "
		    "phone" : status == SKP_CTAP_UNSUPPORTED_ALGORITHM ?
		    "this phone makes ecdsa-sk and ed25519-sk keys only "
		    "(COSE -7 and -8)" : "malformed request");
		goto out;
	}
	describe(r);
	if (r->req.command == SKP_CTAP_MAKE_CREDENTIAL ||
	    r->req.command == SKP_CTAP_GET_ASSERTION) {
		/* Nothing shown or signed unless the data is what is signed. */
		if (skp_ctap_request_check_raw(&r->req) != SKP_OK) {
			rc = skp_handle_refuse(r, SKP_CTAP_RAW_MISMATCH,
			    "the data does not match its hash");
			goto out;
		}
		skp_sshmsg_parse(r->req.ctx.raw, r->req.ctx.raw_len, &r->msg);
		describe(r);
	}
	skew = now_ms > r->req.time_ms ? now_ms - r->req.time_ms :
	    r->req.time_ms - now_ms;
	if (skew > (h->fresh_ms != 0 ? h->fresh_ms : SKP_HANDLE_FRESH_MS) ||
	    h->test_stale == SKP_HANDLE_STALE_ALWAYS) {
		/* By how much, so that the user knows which clock to fix. */
		snprintf(why, sizeof(why), "the request's time is %llu s %s "
		    "the phone's clock (at most %llu s allowed): set the "
		    "clocks of computer and phone right",
		    (unsigned long long)((skew + 500) / 1000),
		    r->req.time_ms > now_ms ? "ahead of" : "behind",
		    (unsigned long long)((h->fresh_ms != 0 ? h->fresh_ms :
		    SKP_HANDLE_FRESH_MS) / 1000));
		rc = refuse_stale(h, r, why, now_ms);
		goto out;
	}
	/*
	 * getInfo reads nothing and changes nothing, and its answer is the
	 * same to everyone paired: a replayed one learns nothing new. It
	 * takes no place in the replay cache, so that no flood of them can
	 * fill it.
	 */
	if (r->req.command == SKP_CTAP_GET_INFO) {
		rc = skp_handle_approved(h, r, now_ms);
		goto out;
	}
	/* Each computer has its own share of the cache. */
	rc = skp_phstate_seen_add(h->st, &r->computer, r->req.id,
	    r->req.time_ms, now_ms, SKP_HANDLE_REPLAY_MS, NULL, 0);
	if (rc == SKP_ERR_REPLAY) {
		rc = skp_handle_refuse(r, SKP_CTAP_REPLAYED,
		    "request replayed");
		goto out;
	}
	if (rc == SKP_ERR_LIMIT) {
		r->decision = "refused-flood";
		rc = skp_handle_refuse(r, SKP_CTAP_CHANNEL_BUSY,
		    "too many requests from this computer in 10 minutes: "
		    "try again later");
		goto out;
	}
	if (rc != SKP_OK)
		goto out;
	/*
	 * `sk-phone unpair`: the computer, authenticated by its key, gives
	 * up its own pairing; nothing for the owner to decide.
	 */
	if (r->req.command == SKP_CTAP_FORGET) {
		rc = skp_handle_approved(h, r, now_ms);
		goto out;
	}
	switch (r->req.command) {
	case SKP_CTAP_MAKE_CREDENTIAL:
		rc = begin_make_credential(h, r);
		break;
	case SKP_CTAP_GET_ASSERTION:
		rc = begin_get_assertion(h, r, now_ms);
		break;
	case SKP_CTAP_CRED_MGMT:
		/* CTAP 2.1: listing resident keys needs the PIN, if set. */
		rc = h->have_pin ? check_uv(h, r) : SKP_OK;
		break;
	default:
		rc = skp_handle_refuse(r, SKP_CTAP_INVALID_COMMAND,
		    "unknown command");
		break;
	}
	if (rc == SKP_OK && r->next == 0)
		r->next = SKP_HANDLE_APPROVE;
 out:
	return rc;
}

/* ---- answers ---- */

static int
answer_info(struct skp_handler *h, struct skp_req *r)
{
	struct skp_ctap_info info;
	uint8_t *enc = NULL;
	size_t enclen = 0;
	int rc;

	memset(&info, 0, sizeof(info));
	snprintf(info.versions[0], sizeof(info.versions[0]), "FIDO_2_0");
	snprintf(info.versions[1], sizeof(info.versions[1]), "FIDO_2_1");
	info.nversions = 2;
	snprintf(info.extensions[0], sizeof(info.extensions[0]),
	    "credProtect");
	info.nextensions = 1;
	memcpy(info.aaguid, skp_authdata_aaguid, sizeof(info.aaguid));
	snprintf(info.options[0].name, sizeof(info.options[0].name), "rk");
	info.options[0].value = 1;
	snprintf(info.options[1].name, sizeof(info.options[1].name), "up");
	info.options[1].value = 1;
	snprintf(info.options[2].name, sizeof(info.options[2].name),
	    "clientPin");
	info.options[2].value = h->have_pin;
	snprintf(info.options[3].name, sizeof(info.options[3].name),
	    "credMgmt");
	info.options[3].value = 1;
	info.noptions = 4;
	info.max_msg_size = SKP_CTAP_ENVELOPE_MAX;
	/* In the order it prefers: P-256 first, as every phone makes. */
	info.algorithms[0] = SKP_CTAP_COSE_ES256;
	info.algorithms[1] = SKP_CTAP_COSE_EDDSA;
	info.nalgorithms = 2;
	if ((rc = skp_ctap_info_encode(&info, &enc, &enclen)) != SKP_OK)
		return rc;
	rc = reply(r, SKP_CTAP_OK, enc, enclen, NULL);
	free(enc);
	return rc;
}

/* The computer that asks is forgotten, with its host windows. */
static int
answer_forget(struct skp_handler *h, struct skp_req *r)
{
	static const uint8_t empty_map[] = { 0xa0 };
	char why[SKP_PH_WHY_MAX];
	int rc;

	if ((rc = skp_phstate_computer_remove(h->st, r->computer.name, why,
	    sizeof(why))) != SKP_OK ||
	    (rc = skp_phstate_host_window_clear(h->st, r->computer.name, why,
	    sizeof(why))) != SKP_OK)
		return rc;
	r->decision = "unpaired-by-computer";
	/* Status 0 carries a CTAP response: the empty map. */
	return reply(r, SKP_CTAP_OK, empty_map, sizeof(empty_map), NULL);
}

int
skp_handle_sign(const struct skp_ph_cred *c, const uint8_t *authdata,
    size_t authdata_len, const uint8_t cdh[SKP_SHA256_LEN],
    uint8_t sig[SKP_P256_SIG_MAX], size_t *siglen)
{
	int rc;

	if (c->alg != SKP_COSE_ALG_EDDSA)
		return skp_authdata_sign(&c->key, authdata, authdata_len, cdh,
		    sig, siglen);
	*siglen = 0;
	if ((rc = skp_authdata_sign_ed25519(&c->ed, authdata, authdata_len,
	    cdh, sig)) == SKP_OK)
		*siglen = SKP_ED25519_SIG_LEN;
	return rc;
}

static int
answer_make_credential(struct skp_handler *h, struct skp_req *r,
    uint64_t now_ms)
{
	const struct skp_ctap_make_credential *mc = &r->req.mc;
	struct skp_phstate *st = h->st;
	struct skp_ctap_mc_resp resp;
	struct skp_authdata ad;
	struct skp_ph_cred *c = NULL, *old;
	uint8_t *enc = NULL;
	size_t enclen = 0;
	char why[SKP_PH_WHY_MAX];
	int rc;

	memset(&resp, 0, sizeof(resp));
	memset(&ad, 0, sizeof(ad));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	/* The algorithm the decoder picked from pubKeyCredParams. */
	c->alg = mc->alg == SKP_CTAP_COSE_EDDSA ? SKP_COSE_ALG_EDDSA :
	    SKP_COSE_ALG_ES256;
	if ((rc = skp_random(c->id, sizeof(c->id))) != SKP_OK ||
	    (rc = c->alg == SKP_COSE_ALG_EDDSA ?
	    skp_ed25519_generate(&c->ed) : skp_p256_generate(&c->key)) !=
	    SKP_OK)
		goto out;
	snprintf(c->rp, sizeof(c->rp), "%s", mc->rp_id);
	memcpy(c->user_id, mc->user_id, mc->user_id_len);
	c->user_id_len = mc->user_id_len;
	snprintf(c->user_name, sizeof(c->user_name), "%s", mc->user_name);
	c->resident = mc->rk == 1;
	c->cred_protect = mc->cred_protect == 0 ? 1 : mc->cred_protect;
	c->created = now_ms / 1000;
	snprintf(c->made_for, sizeof(c->made_for), "%s", r->computer.name);
	/* makeCredential always tests presence: the owner just approved. */
	ad.flags = SKP_AUTHDATA_UP | SKP_AUTHDATA_AT |
	    (r->uv ? SKP_AUTHDATA_UV : 0);
	ad.sign_count = 0;
	memcpy(ad.aaguid, skp_authdata_aaguid, sizeof(ad.aaguid));
	memcpy(ad.cred_id, c->id, sizeof(c->id));
	ad.cred_id_len = sizeof(c->id);
	ad.alg = c->alg;
	if (c->alg == SKP_COSE_ALG_EDDSA)
		memcpy(ad.pub, c->ed.pub, SKP_ED25519_PUB_LEN);
	else
		memcpy(ad.pub, c->key.pub, sizeof(ad.pub));
	if ((rc = skp_sha256(mc->rp_id, strlen(mc->rp_id), ad.rp_id_hash)) !=
	    SKP_OK ||
	    (rc = skp_authdata_build(&ad, resp.authdata,
	    sizeof(resp.authdata), &resp.authdata_len)) != SKP_OK ||
	    (rc = skp_handle_sign(c, resp.authdata, resp.authdata_len,
	    mc->cdh, resp.sig, &resp.sig_len)) != SKP_OK)
		goto out;
	resp.alg = c->alg;
	if ((rc = skp_ctap_mc_resp_encode(&resp, &enc, &enclen)) != SKP_OK)
		goto out;
	/* On disk before the answer leaves. */
	if ((rc = skp_phstate_cred_add(st, c, why, sizeof(why))) != SKP_OK) {
		if (rc == SKP_ERR_TOO_LARGE) {
			rc = skp_handle_refuse(r, SKP_CTAP_KEY_STORE_FULL, why);
		}
		goto out;
	}
	/* Overwriting: the old resident key of this rp and user goes, once
	 * the new one is safe. */
	while (c->resident && (old = find_resident(st, c->rp, c->user_id,
	    c->user_id_len, c->id)) != NULL) {
		if ((rc = skp_phstate_cred_remove(st, old->id, why,
		    sizeof(why))) != SKP_OK)
			goto out;
	}
	(void)skp_phstate_fingerprint(c, r->key_fp, sizeof(r->key_fp));
	rc = reply(r, SKP_CTAP_OK, enc, enclen, NULL);
 out:
	if (c != NULL) {
		skp_wipe(c, sizeof(*c));
		free(c);
	}
	if (enc != NULL) {
		skp_wipe(enc, enclen);
		free(enc);
	}
	skp_wipe(&resp, sizeof(resp));
	return rc;
}

static int
answer_get_assertion(struct skp_handler *h, struct skp_req *r,
    uint64_t now_ms)
{
	const struct skp_ctap_get_assertion *ga = &r->req.ga;
	struct skp_ctap_ga_resp resp;
	struct skp_authdata ad;
	struct skp_ph_cred *c;
	uint8_t *enc = NULL;
	size_t enclen = 0;
	uint32_t counter;
	char why[SKP_PH_WHY_MAX];
	int rc;

	memset(&resp, 0, sizeof(resp));
	memset(&ad, 0, sizeof(ad));
	/*
	 * A first login to a host pins its key, now that it is allowed
	 * (a key pinned under another name too: the owner, warned, said the
	 * two names are one server).
	 */
	if (r->host.state == SKP_HOSTCHECK_NEW) {
		rc = skp_phstate_host_pin(h->st, r->host.host,
		    r->host.key, r->host.key_len,
		    now_ms / 1000, r->computer.name, why, sizeof(why));
		if (rc == SKP_ERR_HOSTKEY) {
			/* Another request pinned another key meanwhile. */
			r->host.state = SKP_HOSTCHECK_CHANGED;
			skp_handle_changed_reason(r->host.host, why,
			    sizeof(why));
			rc = skp_handle_refuse(r, SKP_CTAP_HOSTKEY_CHANGED,
			    why);
			goto out;
		}
		if (rc != SKP_OK)
			goto out;
	}
	/* The counter reaches the disk before any signature with it. */
	rc = skp_phstate_counter_next(h->st, r->cred_id, &counter, why,
	    sizeof(why));
	if (rc == SKP_ERR_NOT_FOUND || rc == SKP_ERR_LIMIT) {
		rc = skp_handle_refuse(r, SKP_CTAP_NO_CREDENTIALS, why);
		goto out;
	}
	if (rc != SKP_OK)
		goto out;
	if ((c = skp_phstate_cred_find(h->st, r->cred_id,
	    sizeof(r->cred_id))) == NULL) {
		rc = SKP_ERR_INTERNAL;
		goto out;
	}
	ad.flags = (uint8_t)((ga->up != 0 ? SKP_AUTHDATA_UP : 0) |
	    (r->uv ? SKP_AUTHDATA_UV : 0));
	ad.sign_count = counter;
	if ((rc = skp_sha256(c->rp, strlen(c->rp), ad.rp_id_hash)) !=
	    SKP_OK ||
	    (rc = skp_authdata_build(&ad, resp.authdata,
	    sizeof(resp.authdata), &resp.authdata_len)) != SKP_OK ||
	    (rc = skp_handle_sign(c, resp.authdata, resp.authdata_len,
	    ga->cdh, resp.sig, &resp.sig_len)) != SKP_OK)
		goto out;
	memcpy(resp.cred.id, c->id, sizeof(c->id));
	resp.cred.id_len = sizeof(c->id);
	if (c->resident) {
		resp.has_user = 1;
		memcpy(resp.user_id, c->user_id, c->user_id_len);
		resp.user_id_len = c->user_id_len;
	}
	if ((rc = skp_ctap_ga_resp_encode(&resp, &enc, &enclen)) != SKP_OK)
		goto out;
	rc = reply(r, SKP_CTAP_OK, enc, enclen, NULL);
 out:
	free(enc);
	skp_wipe(&resp, sizeof(resp));
	return rc;
}

static int
answer_cred_mgmt(struct skp_handler *h, struct skp_req *r)
{
	const struct skp_ctap_cred_mgmt *cm = &r->req.cm;
	struct skp_phstate *st = h->st;
	struct skp_ctap_cred *out = NULL;
	const struct skp_ph_cred *c;
	uint8_t hash[SKP_SHA256_LEN], *enc = NULL;
	size_t i, j, n = 0, enclen = 0;
	int rc, all = !cm->has_rp_id_hash;

	if ((out = calloc(SKP_PH_MAX_CREDS, sizeof(*out))) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < st->ncreds; i++) {
		c = &st->creds[i];
		if (!c->resident)
			continue;
		if ((rc = skp_sha256(c->rp, strlen(c->rp), hash)) != SKP_OK)
			goto out;
		if (cm->subcommand == SKP_CTAP_CM_ENUM_RPS) {
			for (j = 0; j < n; j++)
				if (strcmp(out[j].rp_id, c->rp) == 0)
					break;
			if (j < n)
				continue;
			out[n].has_rp = 1;
			snprintf(out[n].rp_id, sizeof(out[n].rp_id), "%s",
			    c->rp);
			memcpy(out[n].rp_id_hash, hash, sizeof(hash));
			n++;
			continue;
		}
		if (!all && memcmp(hash, cm->rp_id_hash, sizeof(hash)) != 0)
			continue;
		out[n].has_rp = all;
		snprintf(out[n].rp_id, sizeof(out[n].rp_id), "%s", c->rp);
		memcpy(out[n].rp_id_hash, hash, sizeof(hash));
		memcpy(out[n].user_id, c->user_id, c->user_id_len);
		out[n].user_id_len = c->user_id_len;
		snprintf(out[n].user_name, sizeof(out[n].user_name), "%s",
		    c->user_name);
		memcpy(out[n].cred.id, c->id, sizeof(c->id));
		out[n].cred.id_len = sizeof(c->id);
		out[n].alg = c->alg;
		if (c->alg == SKP_COSE_ALG_EDDSA)
			memcpy(out[n].pub, c->ed.pub, SKP_ED25519_PUB_LEN);
		else
			memcpy(out[n].pub, c->key.pub, sizeof(out[n].pub));
		out[n].cred_protect = c->cred_protect;
		n++;
	}
	if ((rc = skp_ctap_creds_encode(out, n, cm->subcommand, all, &enc,
	    &enclen)) != SKP_OK)
		goto out;
	rc = reply(r, SKP_CTAP_OK, enc, enclen, NULL);
 out:
	free(enc);
	free(out);
	return rc;
}

int
skp_handle_approved(struct skp_handler *h, struct skp_req *r,
    uint64_t now_ms)
{
	int rc;

	switch (r->req.command) {
	case SKP_CTAP_GET_INFO:
		rc = answer_info(h, r);
		break;
	case SKP_CTAP_MAKE_CREDENTIAL:
		rc = answer_make_credential(h, r, now_ms);
		break;
	case SKP_CTAP_GET_ASSERTION:
		rc = answer_get_assertion(h, r, now_ms);
		break;
	case SKP_CTAP_CRED_MGMT:
		rc = answer_cred_mgmt(h, r);
		break;
	case SKP_CTAP_FORGET:
		rc = answer_forget(h, r);
		break;
	default:
		rc = skp_handle_refuse(r, SKP_CTAP_INVALID_COMMAND,
		    "unknown command");
		break;
	}
	/* Whatever failed inside, the computer hears a refusal. */
	if (rc != SKP_OK && r->reply == NULL && r->hs != NULL) {
		r->decision = "failed";
		(void)skp_handle_refuse(r, SKP_CTAP_OTHER, skp_strerror(rc));
	}
	return rc;
}
