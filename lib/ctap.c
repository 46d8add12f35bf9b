/* CTAP2 codec: request and response envelopes, parameter and answer maps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "sk-phone/authdata.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"

#define PUBLIC_KEY	"public-key"
#define FMT_PACKED	"packed"
#define FMT_MAX		32
#define TYPE_MAX	32

/*
 * Inside the decoders a missing required key is SKP_ERR_NOT_FOUND, so the
 * phone can answer MISSING_PARAMETER; callers see SKP_ERR_FORMAT.
 */
#define MISSING		SKP_ERR_NOT_FOUND

/* The CTAP status a request refusal names, set by the first refusal. */
struct dec {
	uint8_t	status;
};

static int
refuse(struct dec *d, uint8_t status, int rc)
{
	if (d != NULL && d->status == SKP_CTAP_OK)
		d->status = status;
	return rc;
}

static uint8_t
status_of(int rc)
{
	switch (rc) {
	case MISSING:
		return SKP_CTAP_MISSING_PARAMETER;
	case SKP_ERR_CBOR_TYPE:
		return SKP_CTAP_CBOR_UNEXPECTED_TYPE;
	case SKP_ERR_TOO_LARGE:
		return SKP_CTAP_INVALID_LENGTH;
	case SKP_ERR_VERSION:
	case SKP_ERR_OLD_VERSION:
		return SKP_CTAP_BAD_VERSION;
	case SKP_ERR_NOMEM:
	case SKP_ERR_INTERNAL:
		return SKP_CTAP_OTHER;
	default:
		return SKP_CTAP_INVALID_CBOR;
	}
}

static int
public_rc(int rc)
{
	return rc == MISSING ? SKP_ERR_FORMAT : rc;
}

/* Lookups */

static int
need(const cbor_item_t *m, int64_t key, cbor_type t, cbor_item_t **v)
{
	return skp_cbor_map_get(m, key, t, v);
}

/* Absent is fine: *v stays NULL. */
static int
opt(const cbor_item_t *m, int64_t key, cbor_type t, cbor_item_t **v)
{
	int rc = skp_cbor_map_get(m, key, t, v);

	return rc == SKP_ERR_NOT_FOUND ? SKP_OK : rc;
}

static int
opt_s(const cbor_item_t *m, const char *key, cbor_type t, cbor_item_t **v)
{
	int rc = skp_cbor_map_get_text(m, key, t, v);

	return rc == SKP_ERR_NOT_FOUND ? SKP_OK : rc;
}

/* A map value, or an array value (the credential management answer). */
static int
need_container(const cbor_item_t *m, int64_t key, cbor_item_t **v)
{
	int rc = skp_cbor_map_get(m, key, CBOR_TYPE_MAP, v);

	if (rc == SKP_ERR_CBOR_TYPE)
		rc = skp_cbor_map_get(m, key, CBOR_TYPE_ARRAY, v);
	return rc;
}

/* An integer of either sign under a text key ("alg"). */
static int
need_int_s(const cbor_item_t *m, const char *key, int64_t *out)
{
	cbor_item_t *v;
	int rc;

	rc = skp_cbor_map_get_text(m, key, CBOR_TYPE_NEGINT, &v);
	if (rc == SKP_ERR_CBOR_TYPE)
		rc = skp_cbor_map_get_text(m, key, CBOR_TYPE_UINT, &v);
	if (rc != SKP_OK)
		return rc;
	return skp_cbor_get_int(v, out);
}

static int
bytes_exact(const cbor_item_t *v, uint8_t *out, size_t len)
{
	size_t n;

	return skp_cbor_get_bytes(v, len, len, out, &n);
}

/*
 * Text a person will read: no control characters, so that a peer cannot
 * rewrite a terminal line or a prompt with escapes or new lines.
 */
static int
text_shown_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int
get_shown(const cbor_item_t *v, size_t min, size_t max, char *out,
    size_t outsz)
{
	int rc;

	if ((rc = skp_cbor_get_text(v, max, out, outsz)) != SKP_OK)
		return rc;
	if (strlen(out) < min || !text_shown_ok(out)) {
		out[0] = '\0';
		return SKP_ERR_FORMAT;
	}
	return SKP_OK;
}

/* A shown text under a text key; absent leaves out "". */
static int
opt_shown_s(const cbor_item_t *m, const char *key, size_t max, char *out,
    size_t outsz)
{
	cbor_item_t *v = NULL;
	int rc;

	out[0] = '\0';
	if ((rc = opt_s(m, key, CBOR_TYPE_STRING, &v)) != SKP_OK || v == NULL)
		return rc;
	return get_shown(v, 0, max, out, outsz);
}

static int
opt_bool_s(const cbor_item_t *m, const char *key, int *out)
{
	cbor_item_t *v = NULL;
	int rc;

	*out = SKP_CTAP_OPT_ABSENT;
	if ((rc = opt_s(m, key, CBOR_TYPE_FLOAT_CTRL, &v)) != SKP_OK ||
	    v == NULL)
		return rc;
	return skp_cbor_get_bool(v, out);
}

/* Checks of what we are asked to encode: never send what we refuse. */

static int
str_ok(const char *s, size_t min, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n >= min && n <= max && text_shown_ok(s);
}

static int
opt_ok(int v)
{
	return v == SKP_CTAP_OPT_ABSENT || v == 0 || v == 1;
}

/* Encoding */

static int
finish(cbor_item_t **m, int rc, uint8_t **out, size_t *outlen)
{
	if (rc == SKP_OK)
		rc = skp_cbor_encode(*m, SKP_CTAP_ENVELOPE_MAX, out, outlen);
	skp_cbor_free(m);
	return rc;
}

/*
 * Padding (protocol 2): key 15, a byte string of zeros, appended to an
 * encoded map so that the whole is exactly the first bucket it can fill.
 * Key 15 is larger than every other key of these maps, so it goes last
 * and the map stays canonical; only the map's count grows by one. With R
 * bytes to add, the key takes 1 and the string's head 1 (n < 24), 2
 * (n < 256) or 3: R = 26 and R = 259 cannot be made, and such a bucket
 * is skipped for the next one.
 */
static size_t
pad_head(size_t r)
{
	if (r >= 2 && r <= 25)
		return 1;
	if (r >= 27 && r <= 258)
		return 2;
	if (r >= 260 && r <= 3 + 65535)
		return 3;
	return 0;
}

static int
pad_to(uint8_t **buf, size_t *len, const size_t *buckets, size_t nb)
{
	uint8_t *p = *buf, *q;
	size_t i, r = 0, head = 0, n;

	/* A definite map of fewer than 23 pairs: one head byte. */
	if (*len == 0 || p[0] < 0xa0 || p[0] >= 0xa0 + 23)
		return SKP_ERR_INVALID;
	for (i = 0; i < nb; i++) {
		if (buckets[i] < *len)
			continue;
		r = buckets[i] - *len;
		if ((head = pad_head(r)) != 0)
			break;
	}
	if (i == nb)
		return SKP_ERR_TOO_LARGE;
	if ((q = calloc(1, buckets[i])) == NULL)
		return SKP_ERR_NOMEM;
	n = r - 1 - head;
	memcpy(q, p, *len);
	q[0]++;
	q[*len] = SKP_CTAP_PAD_KEY;
	if (head == 1)
		q[*len + 1] = (uint8_t)(0x40 + n);
	else if (head == 2) {
		q[*len + 1] = 0x58;
		q[*len + 2] = (uint8_t)n;
	} else {
		q[*len + 1] = 0x59;
		q[*len + 2] = (uint8_t)(n >> 8);
		q[*len + 3] = (uint8_t)n;
	}
	/* The zeros are calloc's. */
	skp_wipe(p, *len);
	free(p);
	*buf = q;
	*len = buckets[i];
	return SKP_OK;
}

/* Key 15, when present, must be bytes of zeros only. */
static int
check_pad(const cbor_item_t *m)
{
	cbor_item_t *v = NULL;
	const uint8_t *p;
	size_t n, i;
	uint8_t acc = 0;
	int rc;

	rc = skp_cbor_map_get(m, SKP_CTAP_PAD_KEY, CBOR_TYPE_BYTESTRING, &v);
	if (rc == SKP_ERR_NOT_FOUND)
		return SKP_OK;
	if (rc != SKP_OK ||
	    (rc = skp_cbor_get_bytes_ptr(v, SKP_CTAP_ENVELOPE_MAX, &p, &n)) !=
	    SKP_OK)
		return rc;
	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0 ? SKP_OK : SKP_ERR_FORMAT;
}

static int
finish_padded(cbor_item_t **m, int rc, const size_t *buckets, size_t nb,
    uint8_t **out, size_t *outlen)
{
	if ((rc = finish(m, rc, out, outlen)) != SKP_OK)
		return rc;
	if ((rc = pad_to(out, outlen, buckets, nb)) != SKP_OK) {
		skp_wipe(*out, *outlen);
		free(*out);
		*out = NULL;
		*outlen = 0;
	}
	return rc;
}

static const size_t request_buckets[] = SKP_CTAP_REQUEST_BUCKETS;
static const size_t response_buckets[] = SKP_CTAP_RESPONSE_BUCKETS;
#define NBUCKETS(a)	(sizeof(a) / sizeof((a)[0]))

static cbor_item_t *
text_if(const char *s)
{
	return s[0] == '\0' ? NULL : skp_cbor_text(s);
}

static cbor_item_t *
cred_ref_item(const struct skp_ctap_cred_ref *c)
{
	cbor_item_t *m;

	if ((m = skp_cbor_map(2)) == NULL ||
	    skp_cbor_map_put_text(m, "id", skp_cbor_bytes(c->id,
	    c->id_len)) != 0 ||
	    skp_cbor_map_put_text(m, "type", skp_cbor_text(PUBLIC_KEY)) != 0)
		skp_cbor_free(&m);
	return m;
}

static int
cred_ref_ok(const struct skp_ctap_cred_ref *c)
{
	return c->id_len >= SKP_CTAP_CRED_ID_MIN &&
	    c->id_len <= SKP_CTAP_CRED_ID_MAX;
}

static int
put_options(cbor_item_t *m, int64_t key, int rk, int up, int uv)
{
	cbor_item_t *o;
	int rc = SKP_OK;

	if (rk == SKP_CTAP_OPT_ABSENT && up == SKP_CTAP_OPT_ABSENT &&
	    uv == SKP_CTAP_OPT_ABSENT)
		return SKP_OK;
	if ((o = skp_cbor_map(3)) == NULL)
		return SKP_ERR_NOMEM;
	if (rk != SKP_CTAP_OPT_ABSENT)
		rc = skp_cbor_map_put_text(o, "rk", skp_cbor_bool(rk));
	if (rc == SKP_OK && up != SKP_CTAP_OPT_ABSENT)
		rc = skp_cbor_map_put_text(o, "up", skp_cbor_bool(up));
	if (rc == SKP_OK && uv != SKP_CTAP_OPT_ABSENT)
		rc = skp_cbor_map_put_text(o, "uv", skp_cbor_bool(uv));
	if (rc != SKP_OK) {
		skp_cbor_free(&o);
		return rc;
	}
	return skp_cbor_map_put(m, key, o);
}

static int
mc_ok(const struct skp_ctap_make_credential *mc)
{
	return str_ok(mc->rp_id, 1, SKP_CTAP_RP_ID_MAX) &&
	    str_ok(mc->rp_name, 0, SKP_CTAP_RP_NAME_MAX) &&
	    mc->user_id_len >= 1 && mc->user_id_len <= SKP_CTAP_USER_ID_MAX &&
	    str_ok(mc->user_name, 0, SKP_CTAP_USER_NAME_MAX) &&
	    str_ok(mc->user_display_name, 0, SKP_CTAP_USER_NAME_MAX) &&
	    mc->cred_protect <= 3 && opt_ok(mc->rk) && opt_ok(mc->up) &&
	    opt_ok(mc->uv);
}

static int
enc_mc(const struct skp_ctap_make_credential *mc, cbor_item_t **out)
{
	cbor_item_t *m = NULL, *rp = NULL, *user = NULL, *algs = NULL,
	    *alg = NULL, *ext = NULL;
	int rc = SKP_ERR_NOMEM;

	if (!mc_ok(mc) || (mc->alg != 0 && mc->alg != SKP_CTAP_COSE_ES256 &&
	    mc->alg != SKP_CTAP_COSE_EDDSA)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((m = skp_cbor_map(6)) == NULL || (rp = skp_cbor_map(2)) == NULL ||
	    (user = skp_cbor_map(3)) == NULL ||
	    (algs = skp_cbor_array(1)) == NULL ||
	    (alg = skp_cbor_map(2)) == NULL)
		goto out;
	if (skp_cbor_map_put_text(rp, "id", skp_cbor_text(mc->rp_id)) != 0 ||
	    (mc->rp_name[0] != '\0' && skp_cbor_map_put_text(rp, "name",
	    text_if(mc->rp_name)) != 0) ||
	    skp_cbor_map_put_text(user, "id", skp_cbor_bytes(mc->user_id,
	    mc->user_id_len)) != 0 ||
	    (mc->user_name[0] != '\0' && skp_cbor_map_put_text(user, "name",
	    text_if(mc->user_name)) != 0) ||
	    (mc->user_display_name[0] != '\0' && skp_cbor_map_put_text(user,
	    "displayName", text_if(mc->user_display_name)) != 0) ||
	    skp_cbor_map_put_text(alg, "alg", skp_cbor_int(mc->alg == 0 ?
	    SKP_CTAP_COSE_ES256 : mc->alg)) != 0 ||
	    skp_cbor_map_put_text(alg, "type", skp_cbor_text(PUBLIC_KEY)) != 0)
		goto out;
	rc = skp_cbor_array_push(algs, alg);
	alg = NULL;
	if (rc != SKP_OK)
		goto out;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(mc->cdh,
	    SKP_CTAP_CDH_LEN))) != SKP_OK)
		goto out;
	rc = skp_cbor_map_put(m, 2, rp);
	rp = NULL;
	if (rc != SKP_OK)
		goto out;
	rc = skp_cbor_map_put(m, 3, user);
	user = NULL;
	if (rc != SKP_OK)
		goto out;
	rc = skp_cbor_map_put(m, 4, algs);
	algs = NULL;
	if (rc != SKP_OK)
		goto out;
	if (mc->cred_protect != 0) {
		if ((ext = skp_cbor_map(1)) == NULL ||
		    (rc = skp_cbor_map_put_text(ext, "credProtect",
		    skp_cbor_uint(mc->cred_protect))) != SKP_OK) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		rc = skp_cbor_map_put(m, 6, ext);
		ext = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	if ((rc = put_options(m, 7, mc->rk, mc->up, mc->uv)) != SKP_OK)
		goto out;
	*out = m;
	m = NULL;
out:
	skp_cbor_free(&m);
	skp_cbor_free(&rp);
	skp_cbor_free(&user);
	skp_cbor_free(&algs);
	skp_cbor_free(&alg);
	skp_cbor_free(&ext);
	return rc;
}

static int
enc_ga(const struct skp_ctap_get_assertion *ga, cbor_item_t **out)
{
	cbor_item_t *m = NULL, *list = NULL;
	size_t i;
	int rc = SKP_ERR_NOMEM;

	if (!str_ok(ga->rp_id, 1, SKP_CTAP_RP_ID_MAX) ||
	    ga->nallow > SKP_CTAP_ALLOW_MAX || !opt_ok(ga->up) ||
	    !opt_ok(ga->uv)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	for (i = 0; i < ga->nallow; i++)
		if (!cred_ref_ok(&ga->allow[i])) {
			rc = SKP_ERR_INVALID;
			goto out;
		}
	if ((m = skp_cbor_map(4)) == NULL)
		goto out;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_text(ga->rp_id))) !=
	    SKP_OK || (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(ga->cdh,
	    SKP_CTAP_CDH_LEN))) != SKP_OK)
		goto out;
	if (ga->nallow > 0) {
		if ((list = skp_cbor_array(ga->nallow)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < ga->nallow; i++)
			if ((rc = skp_cbor_array_push(list,
			    cred_ref_item(&ga->allow[i]))) != SKP_OK)
				goto out;
		rc = skp_cbor_map_put(m, 3, list);
		list = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	if ((rc = put_options(m, 5, SKP_CTAP_OPT_ABSENT, ga->up, ga->uv)) !=
	    SKP_OK)
		goto out;
	*out = m;
	m = NULL;
out:
	skp_cbor_free(&m);
	skp_cbor_free(&list);
	return rc;
}

static int
enc_cm(const struct skp_ctap_cred_mgmt *cm, cbor_item_t **out)
{
	cbor_item_t *m = NULL, *sub = NULL;
	int rc = SKP_ERR_NOMEM;

	if ((cm->subcommand != SKP_CTAP_CM_ENUM_RPS &&
	    cm->subcommand != SKP_CTAP_CM_ENUM_CREDS) ||
	    (cm->subcommand == SKP_CTAP_CM_ENUM_RPS && cm->has_rp_id_hash)) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((m = skp_cbor_map(2)) == NULL)
		goto out;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_uint(cm->subcommand))) !=
	    SKP_OK)
		goto out;
	if (cm->has_rp_id_hash) {
		if ((sub = skp_cbor_map(1)) == NULL ||
		    skp_cbor_map_put(sub, 1, skp_cbor_bytes(cm->rp_id_hash,
		    SKP_SHA256_LEN)) != SKP_OK) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		rc = skp_cbor_map_put(m, 2, sub);
		sub = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	*out = m;
	m = NULL;
out:
	skp_cbor_free(&m);
	skp_cbor_free(&sub);
	return rc;
}

static int
enc_ctx(const struct skp_ctap_context *c, cbor_item_t **out)
{
	const struct skp_ctap_host *h = &c->host;
	cbor_item_t *m = NULL, *hm = NULL;
	int rc = SKP_ERR_INVALID;

	if ((c->has_raw && c->raw_len > SKP_CTAP_RAW_MAX) ||
	    !str_ok(c->computer_name, 1, SKP_CTAP_COMPUTER_NAME_MAX) ||
	    (c->overwrite != 0 && c->overwrite != 1))
		goto out;
	if (c->has_host && (!str_ok(h->name, 1, SKP_CTAP_HOST_NAME_MAX) ||
	    h->port == 0 || h->host_key_len == 0 ||
	    h->host_key_len > SKP_CTAP_HOST_BLOB_MAX ||
	    h->signature_len == 0 ||
	    h->signature_len > SKP_CTAP_HOST_BLOB_MAX ||
	    !str_ok(h->kex, 1, SKP_CTAP_KEX_NAME_MAX)))
		goto out;
	rc = SKP_ERR_NOMEM;
	if ((m = skp_cbor_map(6)) == NULL)
		goto out;
	if ((c->has_raw && (rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(c->raw,
	    c->raw_len))) != SKP_OK) ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_text(c->computer_name))) !=
	    SKP_OK ||
	    (c->overwrite && (rc = skp_cbor_map_put(m, 5,
	    skp_cbor_bool(1))) != SKP_OK) ||
	    (c->origin != 0 && (rc = skp_cbor_map_put(m, 6,
	    skp_cbor_uint(c->origin))) != SKP_OK))
		goto out;
	if (c->has_host) {
		rc = SKP_ERR_NOMEM;
		if ((hm = skp_cbor_map(5)) == NULL ||
		    (rc = skp_cbor_map_put(hm, 1, skp_cbor_text(h->name))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(hm, 2, skp_cbor_uint(h->port))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(hm, 3, skp_cbor_bytes(h->host_key,
		    h->host_key_len))) != SKP_OK ||
		    (rc = skp_cbor_map_put(hm, 4, skp_cbor_bytes(h->signature,
		    h->signature_len))) != SKP_OK ||
		    (rc = skp_cbor_map_put(hm, 5, skp_cbor_text(h->kex))) !=
		    SKP_OK)
			goto out;
		rc = skp_cbor_map_put(m, 3, hm);
		hm = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	*out = m;
	m = NULL;
	rc = SKP_OK;
out:
	skp_cbor_free(&m);
	skp_cbor_free(&hm);
	return rc;
}

int
skp_ctap_request_encode(const struct skp_ctap_request *req, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL, *params = NULL, *ctx = NULL;
	int rc;

	*out = NULL;
	*outlen = 0;
	switch (req->command) {
	case SKP_CTAP_MAKE_CREDENTIAL:
		rc = enc_mc(&req->mc, &params);
		break;
	case SKP_CTAP_GET_ASSERTION:
		rc = enc_ga(&req->ga, &params);
		break;
	case SKP_CTAP_CRED_MGMT:
		rc = enc_cm(&req->cm, &params);
		break;
	case SKP_CTAP_GET_INFO:
	case SKP_CTAP_FORGET:
		rc = SKP_OK;
		break;
	default:
		rc = SKP_ERR_INVALID;
		break;
	}
	if (rc != SKP_OK)
		goto out;
	/* The phone cannot show what it cannot check. */
	if ((req->command == SKP_CTAP_MAKE_CREDENTIAL ||
	    req->command == SKP_CTAP_GET_ASSERTION) && !req->ctx.has_raw) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = enc_ctx(&req->ctx, &ctx)) != SKP_OK)
		goto out;
	rc = SKP_ERR_NOMEM;
	if ((m = skp_cbor_map(6)) == NULL ||
	    (rc = skp_cbor_map_put(m, 1, skp_cbor_uint(SKP_CTAP_VERSION))) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(req->id,
	    SKP_CTAP_REQUEST_ID_LEN))) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 3, skp_cbor_uint(req->time_ms))) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_put(m, 4, skp_cbor_uint(req->command))) !=
	    SKP_OK)
		goto out;
	if (params != NULL) {
		rc = skp_cbor_map_put(m, 5, params);
		params = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	rc = skp_cbor_map_put(m, 6, ctx);
	ctx = NULL;
out:
	skp_cbor_free(&params);
	skp_cbor_free(&ctx);
	return finish_padded(&m, rc, request_buckets,
	    NBUCKETS(request_buckets), out, outlen);
}

/* Request decoding (the phone's side) */

static int
dec_rp_id(const cbor_item_t *v, char *out)
{
	return get_shown(v, 1, SKP_CTAP_RP_ID_MAX, out,
	    SKP_CTAP_RP_ID_MAX + 1);
}

static int
dec_mc(const cbor_item_t *p, struct skp_ctap_make_credential *mc,
    struct dec *d)
{
	cbor_item_t *v, *rp, *user, *algs, *ext = NULL, *o = NULL, *e;
	uint64_t level;
	int64_t alg;
	size_t i, n;
	char type[TYPE_MAX + 1];
	int rc, found = 0;

	if ((rc = need(p, 1, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = bytes_exact(v, mc->cdh, SKP_CTAP_CDH_LEN)) != SKP_OK)
		goto out;
	if ((rc = need(p, 2, CBOR_TYPE_MAP, &rp)) != SKP_OK ||
	    (rc = skp_cbor_map_get_text(rp, "id", CBOR_TYPE_STRING, &v)) !=
	    SKP_OK || (rc = dec_rp_id(v, mc->rp_id)) != SKP_OK ||
	    (rc = opt_shown_s(rp, "name", SKP_CTAP_RP_NAME_MAX, mc->rp_name,
	    sizeof(mc->rp_name))) != SKP_OK)
		goto out;
	if ((rc = need(p, 3, CBOR_TYPE_MAP, &user)) != SKP_OK ||
	    (rc = skp_cbor_map_get_text(user, "id", CBOR_TYPE_BYTESTRING,
	    &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, 1, SKP_CTAP_USER_ID_MAX, mc->user_id,
	    &mc->user_id_len)) != SKP_OK ||
	    (rc = opt_shown_s(user, "name", SKP_CTAP_USER_NAME_MAX,
	    mc->user_name, sizeof(mc->user_name))) != SKP_OK ||
	    (rc = opt_shown_s(user, "displayName", SKP_CTAP_USER_NAME_MAX,
	    mc->user_display_name, sizeof(mc->user_display_name))) != SKP_OK)
		goto out;
	if ((rc = need(p, 4, CBOR_TYPE_ARRAY, &algs)) != SKP_OK)
		goto out;
	if ((n = cbor_array_size(algs)) > SKP_CTAP_ALG_PARAMS_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	for (i = 0; i < n; i++) {
		e = cbor_array_handle(algs)[i];
		if (!cbor_isa_map(e)) {
			rc = SKP_ERR_CBOR_TYPE;
			goto out;
		}
		if ((rc = need_int_s(e, "alg", &alg)) != SKP_OK ||
		    (rc = skp_cbor_map_get_text(e, "type", CBOR_TYPE_STRING,
		    &v)) != SKP_OK ||
		    (rc = skp_cbor_get_text(v, TYPE_MAX, type,
		    sizeof(type))) != SKP_OK)
			goto out;
		/* The first that sk-phone makes, in the computer's order. */
		if (!found && (alg == SKP_CTAP_COSE_ES256 ||
		    alg == SKP_CTAP_COSE_EDDSA) &&
		    strcmp(type, PUBLIC_KEY) == 0) {
			mc->alg = alg;
			found = 1;
		}
	}
	if (!found) {
		rc = refuse(d, SKP_CTAP_UNSUPPORTED_ALGORITHM,
		    SKP_ERR_UNSUPPORTED);
		goto out;
	}
	if ((rc = opt(p, 6, CBOR_TYPE_MAP, &ext)) != SKP_OK)
		goto out;
	if (ext != NULL) {
		if ((rc = opt_s(ext, "credProtect", CBOR_TYPE_UINT, &v)) !=
		    SKP_OK)
			goto out;
		if (v != NULL) {
			if ((rc = skp_cbor_get_uint(v, &level)) != SKP_OK)
				goto out;
			if (level < 1 || level > 3) {
				rc = refuse(d, SKP_CTAP_INVALID_PARAMETER,
				    SKP_ERR_FORMAT);
				goto out;
			}
			mc->cred_protect = (unsigned int)level;
		}
	}
	mc->rk = mc->up = mc->uv = SKP_CTAP_OPT_ABSENT;
	if ((rc = opt(p, 7, CBOR_TYPE_MAP, &o)) != SKP_OK)
		goto out;
	if (o != NULL && ((rc = opt_bool_s(o, "rk", &mc->rk)) != SKP_OK ||
	    (rc = opt_bool_s(o, "up", &mc->up)) != SKP_OK ||
	    (rc = opt_bool_s(o, "uv", &mc->uv)) != SKP_OK))
		goto out;
out:
	return rc;
}

static int
dec_cred_ref(const cbor_item_t *e, struct skp_ctap_cred_ref *c)
{
	cbor_item_t *v;
	char type[TYPE_MAX + 1];
	int rc;

	if (!cbor_isa_map(e))
		return SKP_ERR_CBOR_TYPE;
	if ((rc = skp_cbor_map_get_text(e, "id", CBOR_TYPE_BYTESTRING,
	    &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, SKP_CTAP_CRED_ID_MIN,
	    SKP_CTAP_CRED_ID_MAX, c->id, &c->id_len)) != SKP_OK ||
	    (rc = skp_cbor_map_get_text(e, "type", CBOR_TYPE_STRING, &v)) !=
	    SKP_OK ||
	    (rc = skp_cbor_get_text(v, TYPE_MAX, type, sizeof(type))) !=
	    SKP_OK)
		return rc;
	return strcmp(type, PUBLIC_KEY) == 0 ? SKP_OK : SKP_ERR_FORMAT;
}

static int
dec_ga(const cbor_item_t *p, struct skp_ctap_get_assertion *ga)
{
	cbor_item_t *v, *list = NULL, *o = NULL;
	size_t i, n;
	int rc;

	if ((rc = need(p, 1, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = dec_rp_id(v, ga->rp_id)) != SKP_OK ||
	    (rc = need(p, 2, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = bytes_exact(v, ga->cdh, SKP_CTAP_CDH_LEN)) != SKP_OK ||
	    (rc = opt(p, 3, CBOR_TYPE_ARRAY, &list)) != SKP_OK)
		goto out;
	if (list != NULL) {
		if ((n = cbor_array_size(list)) > SKP_CTAP_ALLOW_MAX) {
			rc = SKP_ERR_TOO_LARGE;
			goto out;
		}
		if (n == 0) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		for (i = 0; i < n; i++)
			if ((rc = dec_cred_ref(cbor_array_handle(list)[i],
			    &ga->allow[i])) != SKP_OK)
				goto out;
		ga->nallow = n;
	}
	ga->up = ga->uv = SKP_CTAP_OPT_ABSENT;
	if ((rc = opt(p, 5, CBOR_TYPE_MAP, &o)) != SKP_OK)
		goto out;
	if (o != NULL && ((rc = opt_bool_s(o, "up", &ga->up)) != SKP_OK ||
	    (rc = opt_bool_s(o, "uv", &ga->uv)) != SKP_OK))
		goto out;
out:
	return rc;
}

static int
dec_cm(const cbor_item_t *p, struct skp_ctap_cred_mgmt *cm, struct dec *d)
{
	static const int64_t subkeys[] = { 1 };
	cbor_item_t *v, *sub = NULL;
	uint64_t sc;
	int rc;

	if ((rc = need(p, 1, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &sc)) != SKP_OK)
		goto out;
	if (sc != SKP_CTAP_CM_ENUM_RPS && sc != SKP_CTAP_CM_ENUM_CREDS) {
		rc = refuse(d, SKP_CTAP_INVALID_SUBCOMMAND,
		    SKP_ERR_UNSUPPORTED);
		goto out;
	}
	cm->subcommand = (uint8_t)sc;
	if ((rc = opt(p, 2, CBOR_TYPE_MAP, &sub)) != SKP_OK || sub == NULL)
		goto out;
	/* enumerateRPsBegin takes no parameters. */
	if (sc == SKP_CTAP_CM_ENUM_RPS) {
		rc = refuse(d, SKP_CTAP_INVALID_PARAMETER, SKP_ERR_FORMAT);
		goto out;
	}
	if ((rc = skp_cbor_map_only(sub, subkeys, 1)) != SKP_OK ||
	    (rc = need(sub, 1, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = bytes_exact(v, cm->rp_id_hash, SKP_SHA256_LEN)) != SKP_OK)
		goto out;
	cm->has_rp_id_hash = 1;
out:
	return rc;
}

static int
dec_host(const cbor_item_t *m, struct skp_ctap_host *h)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5 };
	cbor_item_t *v;
	uint64_t port;
	int rc;

	if ((rc = skp_cbor_map_only(m, keys, 5)) != SKP_OK ||
	    (rc = need(m, 1, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = get_shown(v, 1, SKP_CTAP_HOST_NAME_MAX, h->name,
	    sizeof(h->name))) != SKP_OK ||
	    (rc = need(m, 2, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &port)) != SKP_OK)
		goto out;
	if (port == 0 || port > UINT16_MAX) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	h->port = (uint16_t)port;
	if ((rc = need(m, 3, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, 1, SKP_CTAP_HOST_BLOB_MAX,
	    h->host_key, &h->host_key_len)) != SKP_OK ||
	    (rc = need(m, 4, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, 1, SKP_CTAP_HOST_BLOB_MAX,
	    h->signature, &h->signature_len)) != SKP_OK ||
	    (rc = need(m, 5, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = get_shown(v, 1, SKP_CTAP_KEX_NAME_MAX, h->kex,
	    sizeof(h->kex))) != SKP_OK)
		goto out;
out:
	return rc;
}

static int
dec_ctx(const cbor_item_t *m, struct skp_ctap_context *c, struct dec *d)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5, 6 };
	cbor_item_t *v = NULL;
	int rc;

	if ((rc = skp_cbor_map_only(m, keys, 6)) != SKP_OK ||
	    (rc = opt(m, 1, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK)
		goto out;
	if (v != NULL) {
		if ((rc = skp_cbor_get_bytes(v, 0, SKP_CTAP_RAW_MAX, c->raw,
		    &c->raw_len)) != SKP_OK)
			goto out;
		c->has_raw = 1;
	}
	if ((rc = need(m, 2, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = get_shown(v, 1, SKP_CTAP_COMPUTER_NAME_MAX,
	    c->computer_name, sizeof(c->computer_name))) != SKP_OK)
		goto out;
	v = NULL;
	if ((rc = opt(m, 3, CBOR_TYPE_MAP, &v)) != SKP_OK)
		goto out;
	if (v != NULL) {
		if ((rc = dec_host(v, &c->host)) != SKP_OK)
			goto out;
		c->has_host = 1;
	}
	/*
	 * Protocol 1 sent the PIN here, under keys a later theft of the
	 * phone's static key recovers: refused, whatever its type.
	 */
	v = NULL;
	if ((rc = skp_cbor_map_get(m, 4, CBOR_TYPE_STRING, &v)) !=
	    SKP_ERR_NOT_FOUND) {
		rc = refuse(d, SKP_CTAP_INVALID_PARAMETER, SKP_ERR_FORMAT);
		goto out;
	}
	v = NULL;
	if ((rc = opt(m, 5, CBOR_TYPE_FLOAT_CTRL, &v)) != SKP_OK)
		goto out;
	if (v != NULL && (rc = skp_cbor_get_bool(v, &c->overwrite)) != SKP_OK)
		goto out;
	/* Any uint is taken (a later origin), a wrong type is refused. */
	v = NULL;
	if ((rc = opt(m, 6, CBOR_TYPE_UINT, &v)) != SKP_OK)
		goto out;
	if (v != NULL && (rc = skp_cbor_get_uint(v, &c->origin)) != SKP_OK)
		goto out;
out:
	return rc;
}

int
skp_ctap_request_decode(const uint8_t *p, size_t len,
    struct skp_ctap_request *req, uint8_t *status)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5, 6, SKP_CTAP_PAD_KEY };
	cbor_item_t *m = NULL, *v, *params = NULL, *ctx;
	struct dec d = { SKP_CTAP_OK };
	uint64_t u;
	int rc;

	memset(req, 0, sizeof(*req));
	if ((rc = skp_cbor_load(p, len, SKP_CTAP_ENVELOPE_MAX, &m)) != SKP_OK)
		goto out;
	if (!cbor_isa_map(m)) {
		rc = SKP_ERR_CBOR_TYPE;
		goto out;
	}
	/* The version first: a newer envelope may have other keys. */
	if ((rc = need(m, 1, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &u)) != SKP_OK)
		goto out;
	if (u != SKP_CTAP_VERSION) {
		rc = u > SKP_CTAP_VERSION ? SKP_ERR_VERSION :
		    SKP_ERR_OLD_VERSION;
		goto out;
	}
	if ((rc = skp_cbor_map_only(m, keys, 7)) != SKP_OK ||
	    (rc = check_pad(m)) != SKP_OK ||
	    (rc = need(m, 2, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = bytes_exact(v, req->id, SKP_CTAP_REQUEST_ID_LEN)) !=
	    SKP_OK ||
	    (rc = need(m, 3, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &req->time_ms)) != SKP_OK ||
	    (rc = need(m, 4, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &u)) != SKP_OK)
		goto out;
	if (u != SKP_CTAP_MAKE_CREDENTIAL && u != SKP_CTAP_GET_ASSERTION &&
	    u != SKP_CTAP_GET_INFO && u != SKP_CTAP_CRED_MGMT &&
	    u != SKP_CTAP_FORGET) {
		rc = refuse(&d, SKP_CTAP_INVALID_COMMAND, SKP_ERR_UNSUPPORTED);
		goto out;
	}
	req->command = (uint8_t)u;
	if ((rc = opt(m, 5, CBOR_TYPE_MAP, &params)) != SKP_OK)
		goto out;
	if (req->command == SKP_CTAP_GET_INFO ||
	    req->command == SKP_CTAP_FORGET) {
		if (params != NULL) {
			rc = refuse(&d, SKP_CTAP_INVALID_PARAMETER,
			    SKP_ERR_FORMAT);
			goto out;
		}
	} else if (params == NULL) {
		rc = MISSING;
		goto out;
	}
	switch (req->command) {
	case SKP_CTAP_MAKE_CREDENTIAL:
		rc = dec_mc(params, &req->mc, &d);
		break;
	case SKP_CTAP_GET_ASSERTION:
		rc = dec_ga(params, &req->ga);
		break;
	case SKP_CTAP_CRED_MGMT:
		rc = dec_cm(params, &req->cm, &d);
		break;
	default:
		break;
	}
	if (rc != SKP_OK)
		goto out;
	if ((rc = need(m, 6, CBOR_TYPE_MAP, &ctx)) != SKP_OK ||
	    (rc = dec_ctx(ctx, &req->ctx, &d)) != SKP_OK)
		goto out;
	if ((req->command == SKP_CTAP_MAKE_CREDENTIAL ||
	    req->command == SKP_CTAP_GET_ASSERTION) && !req->ctx.has_raw) {
		rc = MISSING;
		goto out;
	}
out:
	skp_cbor_free(&m);	/* wipes the PIN's copy in the tree */
	if (rc != SKP_OK) {
		if (d.status == SKP_CTAP_OK)
			d.status = status_of(rc);
		skp_ctap_request_clear(req);
	}
	if (status != NULL)
		*status = rc == SKP_OK ? SKP_CTAP_OK : d.status;
	return public_rc(rc);
}

void
skp_ctap_request_clear(struct skp_ctap_request *req)
{
	if (req != NULL)
		skp_wipe(req, sizeof(*req));
}

int
skp_ctap_request_check_raw(const struct skp_ctap_request *req)
{
	uint8_t h[SKP_SHA256_LEN];
	const uint8_t *cdh;
	int rc;

	if (req->command == SKP_CTAP_MAKE_CREDENTIAL)
		cdh = req->mc.cdh;
	else if (req->command == SKP_CTAP_GET_ASSERTION)
		cdh = req->ga.cdh;
	else
		return SKP_ERR_INVALID;
	if (!req->ctx.has_raw)
		return SKP_ERR_INVALID;
	if ((rc = skp_sha256(req->ctx.raw, req->ctx.raw_len, h)) != SKP_OK)
		return rc;
	return skp_ct_equal(h, cdh, SKP_SHA256_LEN) ? SKP_OK : SKP_ERR_VERIFY;
}

/* Response envelope */

static int
ctap_item(const uint8_t *p, size_t len, cbor_item_t **out)
{
	int rc;

	if ((rc = skp_cbor_load(p, len, SKP_CTAP_ENVELOPE_MAX, out)) !=
	    SKP_OK)
		return rc;
	if (!cbor_isa_map(*out) && !cbor_isa_array(*out)) {
		skp_cbor_free(out);
		return SKP_ERR_CBOR_TYPE;
	}
	return SKP_OK;
}

/* Response key 4: {1: new mailbox id (32), 2: relay URL}. */
static int
move_put(cbor_item_t *m, const struct skp_ctap_answer *a)
{
	cbor_item_t *mv;
	int rc;

	if ((mv = skp_cbor_map(2)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_cbor_map_put(mv, 1, skp_cbor_bytes(a->move_id,
	    SKP_MAILBOX_ID_LEN))) != SKP_OK ||
	    (rc = skp_cbor_map_put(mv, 2, skp_cbor_text(a->move_relay))) !=
	    SKP_OK) {
		skp_cbor_free(&mv);
		return rc;
	}
	return skp_cbor_map_put(m, 4, mv);
}

/* Key 4 read back: both fields, a relay URL as the pairing URI's. */
static int
move_get(const cbor_item_t *m, struct skp_ctap_response *resp)
{
	static const int64_t keys[] = { 1, 2 };
	cbor_item_t *mv = NULL, *v = NULL;
	size_t idlen = 0;
	int rc;

	if ((rc = opt(m, 4, CBOR_TYPE_MAP, &mv)) != SKP_OK || mv == NULL)
		return rc;
	if ((rc = skp_cbor_map_only(mv, keys, 2)) != SKP_OK ||
	    (rc = need(mv, 1, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, SKP_MAILBOX_ID_LEN,
	    SKP_MAILBOX_ID_LEN, resp->move_id, &idlen)) != SKP_OK ||
	    (rc = need(mv, 2, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_text(v, SKP_RELAY_URL_MAX, resp->move_relay,
	    sizeof(resp->move_relay))) != SKP_OK)
		return rc;
	if (skp_pairuri_check_relay(resp->move_relay,
	    strlen(resp->move_relay)) != SKP_OK)
		return SKP_ERR_FORMAT;
	resp->moved = 1;
	return SKP_OK;
}

int
skp_ctap_answer_encode(const struct skp_ctap_answer *a, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL, *body = NULL;
	int rc = SKP_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	/* An answer carries a CTAP response or a reason, never both. */
	if ((a->status == SKP_CTAP_OK) != (a->ctap != NULL))
		goto out;
	if (a->reason != NULL && (a->status == SKP_CTAP_OK ||
	    !str_ok(a->reason, 0, SKP_CTAP_REASON_MAX)))
		goto out;
	if (a->pin_may_follow && (a->status != SKP_CTAP_PIN_REQUIRED ||
	    a->unpadded))
		goto out;
	if (a->has_phone_time && (a->status != SKP_CTAP_STALE ||
	    a->unpadded))
		goto out;
	if ((a->move_id == NULL) != (a->move_relay == NULL) ||
	    (a->move_id != NULL && (a->unpadded ||
	    skp_pairuri_check_relay(a->move_relay,
	    strlen(a->move_relay)) != SKP_OK)))
		goto out;
	if (a->ctap != NULL && (rc = ctap_item(a->ctap, a->ctap_len,
	    &body)) != SKP_OK) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	rc = SKP_ERR_NOMEM;
	if ((m = skp_cbor_map(4)) == NULL ||
	    (rc = skp_cbor_map_put(m, 1, skp_cbor_uint(a->status))) !=
	    SKP_OK)
		goto out;
	if (body != NULL) {
		rc = skp_cbor_map_put(m, 2, body);
		body = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	if (a->reason != NULL && a->reason[0] != '\0' &&
	    (rc = skp_cbor_map_put(m, 3, skp_cbor_text(a->reason))) !=
	    SKP_OK)
		goto out;
	if (a->move_id != NULL && (rc = move_put(m, a)) != SKP_OK)
		goto out;
	if (a->pin_may_follow &&
	    (rc = skp_cbor_map_put(m, 5, skp_cbor_bool(1))) != SKP_OK)
		goto out;
	if (a->has_phone_time && (rc = skp_cbor_map_put(m, 6,
	    skp_cbor_uint(a->phone_time_ms))) != SKP_OK)
		goto out;
	rc = SKP_OK;
out:
	skp_cbor_free(&body);
	if (rc == SKP_OK && a->unpadded)
		return finish(&m, rc, out, outlen);
	return finish_padded(&m, rc, response_buckets,
	    NBUCKETS(response_buckets), out, outlen);
}

int
skp_ctap_response_encode(uint8_t status, const uint8_t *ctap,
    size_t ctap_len, const char *reason, uint8_t **out, size_t *outlen)
{
	struct skp_ctap_answer a;

	memset(&a, 0, sizeof(a));
	a.status = status;
	a.ctap = ctap;
	a.ctap_len = ctap_len;
	a.reason = reason;
	return skp_ctap_answer_encode(&a, out, outlen);
}

int
skp_ctap_response_decode(const uint8_t *p, size_t len,
    struct skp_ctap_response *resp)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5, 6, SKP_CTAP_PAD_KEY };
	cbor_item_t *m = NULL, *v = NULL;
	uint64_t st;
	int rc;

	memset(resp, 0, sizeof(*resp));
	if ((rc = skp_cbor_load(p, len, SKP_CTAP_ENVELOPE_MAX, &m)) != SKP_OK)
		goto out;
	if (!cbor_isa_map(m)) {
		rc = SKP_ERR_CBOR_TYPE;
		goto out;
	}
	if ((rc = skp_cbor_map_only(m, keys, 7)) != SKP_OK ||
	    (rc = check_pad(m)) != SKP_OK ||
	    (rc = need(m, 1, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_uint(v, &st)) != SKP_OK ||
	    (rc = move_get(m, resp)) != SKP_OK)
		goto out;
	if (st > UINT8_MAX) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	resp->status = (uint8_t)st;
	rc = need_container(m, 2, &v);
	if (st == SKP_CTAP_OK && rc != SKP_OK)
		goto out;
	if (st != SKP_CTAP_OK && rc != SKP_ERR_NOT_FOUND) {
		rc = rc == SKP_OK ? SKP_ERR_FORMAT : rc;
		goto out;
	}
	if (st == SKP_CTAP_OK && (rc = skp_cbor_encode(v,
	    SKP_CTAP_ENVELOPE_MAX, &resp->ctap, &resp->ctap_len)) != SKP_OK)
		goto out;
	v = NULL;
	if ((rc = opt(m, 3, CBOR_TYPE_STRING, &v)) != SKP_OK)
		goto out;
	if (v != NULL) {
		if (st == SKP_CTAP_OK) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		if ((rc = get_shown(v, 0, SKP_CTAP_REASON_MAX, resp->reason,
		    sizeof(resp->reason))) != SKP_OK)
			goto out;
	}
	/* "The PIN may follow": true, and only with PIN_REQUIRED. */
	v = NULL;
	if ((rc = opt(m, 5, CBOR_TYPE_FLOAT_CTRL, &v)) != SKP_OK)
		goto out;
	if (v != NULL) {
		if ((rc = skp_cbor_get_bool(v, &resp->pin_may_follow)) !=
		    SKP_OK)
			goto out;
		if (!resp->pin_may_follow || st != SKP_CTAP_PIN_REQUIRED) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
	}
	/* The phone's clock: only in a stale refusal (§4.2). */
	v = NULL;
	if ((rc = opt(m, 6, CBOR_TYPE_UINT, &v)) != SKP_OK)
		goto out;
	if (v != NULL) {
		if (st != SKP_CTAP_STALE) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		if ((rc = skp_cbor_get_uint(v, &resp->phone_time_ms)) !=
		    SKP_OK)
			goto out;
		resp->has_phone_time = 1;
	}
	rc = SKP_OK;
out:
	skp_cbor_free(&m);
	if (rc != SKP_OK)
		skp_ctap_response_clear(resp);
	return public_rc(rc);
}

/* Transport message 3: the PIN, padded to one size. */

int
skp_ctap_pin_encode(const char *pin, uint8_t **out, size_t *outlen)
{
	static const size_t bucket[] = { SKP_CTAP_PIN_MSG_LEN };
	cbor_item_t *m = NULL;
	int rc = SKP_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	if (pin == NULL || pin[0] == '\0' ||
	    strnlen(pin, SKP_CTAP_PIN_MAX + 1) > SKP_CTAP_PIN_MAX)
		goto out;
	rc = SKP_ERR_NOMEM;
	if ((m = skp_cbor_map(2)) == NULL ||
	    (rc = skp_cbor_map_put(m, 1, skp_cbor_text(pin))) != SKP_OK)
		goto out;
	rc = SKP_OK;
out:
	/* skp_cbor_free wipes the tree's copy of the PIN. */
	return finish_padded(&m, rc, bucket, 1, out, outlen);
}

int
skp_ctap_pin_decode(const uint8_t *p, size_t len,
    char pin[SKP_CTAP_PIN_MAX + 1])
{
	static const int64_t keys[] = { 1, SKP_CTAP_PAD_KEY };
	cbor_item_t *m = NULL, *v = NULL;
	int rc;

	memset(pin, 0, SKP_CTAP_PIN_MAX + 1);
	if ((rc = skp_cbor_load(p, len, SKP_CTAP_PIN_MSG_LEN, &m)) != SKP_OK)
		goto out;
	if (!cbor_isa_map(m)) {
		rc = SKP_ERR_CBOR_TYPE;
		goto out;
	}
	if ((rc = skp_cbor_map_only(m, keys, 2)) != SKP_OK ||
	    (rc = check_pad(m)) != SKP_OK ||
	    (rc = need(m, 1, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_text(v, SKP_CTAP_PIN_MAX, pin,
	    SKP_CTAP_PIN_MAX + 1)) != SKP_OK)
		goto out;
	if (pin[0] == '\0')
		rc = SKP_ERR_FORMAT;
out:
	skp_cbor_free(&m);
	if (rc != SKP_OK)
		skp_wipe(pin, SKP_CTAP_PIN_MAX + 1);
	return public_rc(rc);
}

void
skp_ctap_response_clear(struct skp_ctap_response *resp)
{
	if (resp == NULL)
		return;
	if (resp->ctap != NULL) {
		skp_wipe(resp->ctap, resp->ctap_len);
		free(resp->ctap);
	}
	memset(resp, 0, sizeof(*resp));
}

/* Answers: common load of a CTAP response map or array. */

static int
load_answer(const uint8_t *p, size_t len, cbor_type want, cbor_item_t **m)
{
	int rc;

	if ((rc = skp_cbor_load(p, len, SKP_CTAP_ENVELOPE_MAX, m)) != SKP_OK)
		return rc;
	if (cbor_typeof(*m) != want) {
		skp_cbor_free(m);
		return SKP_ERR_CBOR_TYPE;
	}
	return SKP_OK;
}

static int
authdata_ok(size_t n)
{
	return n >= SKP_AUTHDATA_BASE_LEN && n <= SKP_CTAP_AUTHDATA_MAX;
}

static int
dec_authdata(const cbor_item_t *m, int64_t key, uint8_t *out, size_t *len)
{
	cbor_item_t *v;
	int rc;

	if ((rc = need(m, key, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK)
		return rc;
	return skp_cbor_get_bytes(v, SKP_AUTHDATA_BASE_LEN,
	    SKP_CTAP_AUTHDATA_MAX, out, len);
}

/* ES256: a DER signature; EdDSA: exactly 64 bytes. */
static int
mc_sig_ok(int64_t alg, size_t len)
{
	if (alg == SKP_CTAP_COSE_EDDSA)
		return len == SKP_ED25519_SIG_LEN;
	return alg == SKP_CTAP_COSE_ES256 && len > 0 &&
	    len <= SKP_P256_SIG_MAX;
}

int
skp_ctap_mc_resp_encode(const struct skp_ctap_mc_resp *r, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL, *att = NULL;
	int rc = SKP_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	if (!authdata_ok(r->authdata_len) || !mc_sig_ok(r->alg, r->sig_len))
		goto out;
	rc = SKP_ERR_NOMEM;
	if ((m = skp_cbor_map(3)) == NULL || (att = skp_cbor_map(2)) == NULL ||
	    (rc = skp_cbor_map_put_text(att, "alg", skp_cbor_int(r->alg))) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_put_text(att, "sig", skp_cbor_bytes(r->sig,
	    r->sig_len))) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 1, skp_cbor_text(FMT_PACKED))) !=
	    SKP_OK ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(r->authdata,
	    r->authdata_len))) != SKP_OK)
		goto out;
	rc = skp_cbor_map_put(m, 3, att);
	att = NULL;
out:
	skp_cbor_free(&att);
	return finish(&m, rc, out, outlen);
}

int
skp_ctap_mc_resp_decode(const uint8_t *p, size_t len,
    struct skp_ctap_mc_resp *r)
{
	cbor_item_t *m = NULL, *v, *att;
	char fmt[FMT_MAX + 1];
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = load_answer(p, len, CBOR_TYPE_MAP, &m)) != SKP_OK ||
	    (rc = need(m, 1, CBOR_TYPE_STRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_text(v, FMT_MAX, fmt, sizeof(fmt))) != SKP_OK)
		goto out;
	if (strcmp(fmt, FMT_PACKED) != 0) {
		rc = SKP_ERR_UNSUPPORTED;
		goto out;
	}
	if ((rc = dec_authdata(m, 2, r->authdata, &r->authdata_len)) !=
	    SKP_OK || (rc = need(m, 3, CBOR_TYPE_MAP, &att)) != SKP_OK ||
	    (rc = need_int_s(att, "alg", &r->alg)) != SKP_OK ||
	    (rc = skp_cbor_map_get_text(att, "sig", CBOR_TYPE_BYTESTRING,
	    &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, 1, SKP_P256_SIG_MAX, r->sig,
	    &r->sig_len)) != SKP_OK)
		goto out;
	/* Self attestation only: an x5c (or anything else) is not ours. */
	if ((r->alg != SKP_CTAP_COSE_ES256 && r->alg != SKP_CTAP_COSE_EDDSA) ||
	    cbor_map_size(att) != 2) {
		rc = SKP_ERR_UNSUPPORTED;
		goto out;
	}
	if (!mc_sig_ok(r->alg, r->sig_len)) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
out:
	skp_cbor_free(&m);
	if (rc != SKP_OK)
		skp_wipe(r, sizeof(*r));
	return public_rc(rc);
}

int
skp_ctap_ga_resp_encode(const struct skp_ctap_ga_resp *r, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL, *user = NULL;
	int rc = SKP_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	if (!cred_ref_ok(&r->cred) || !authdata_ok(r->authdata_len) ||
	    r->sig_len == 0 || r->sig_len > SKP_P256_SIG_MAX ||
	    (r->has_user && (r->user_id_len == 0 ||
	    r->user_id_len > SKP_CTAP_USER_ID_MAX)))
		goto out;
	rc = SKP_ERR_NOMEM;
	if ((m = skp_cbor_map(4)) == NULL ||
	    (rc = skp_cbor_map_put(m, 1, cred_ref_item(&r->cred))) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(r->authdata,
	    r->authdata_len))) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 3, skp_cbor_bytes(r->sig,
	    r->sig_len))) != SKP_OK)
		goto out;
	if (r->has_user) {
		if ((user = skp_cbor_map(1)) == NULL ||
		    (rc = skp_cbor_map_put_text(user, "id",
		    skp_cbor_bytes(r->user_id, r->user_id_len))) != SKP_OK) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		rc = skp_cbor_map_put(m, 4, user);
		user = NULL;
	}
out:
	skp_cbor_free(&user);
	return finish(&m, rc, out, outlen);
}

int
skp_ctap_ga_resp_decode(const uint8_t *p, size_t len,
    struct skp_ctap_ga_resp *r)
{
	cbor_item_t *m = NULL, *v, *user = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = load_answer(p, len, CBOR_TYPE_MAP, &m)) != SKP_OK ||
	    (rc = need(m, 1, CBOR_TYPE_MAP, &v)) != SKP_OK ||
	    (rc = dec_cred_ref(v, &r->cred)) != SKP_OK ||
	    (rc = dec_authdata(m, 2, r->authdata, &r->authdata_len)) !=
	    SKP_OK ||
	    (rc = need(m, 3, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, 1, SKP_P256_SIG_MAX, r->sig,
	    &r->sig_len)) != SKP_OK ||
	    (rc = opt(m, 4, CBOR_TYPE_MAP, &user)) != SKP_OK)
		goto out;
	if (user != NULL) {
		if ((rc = skp_cbor_map_get_text(user, "id",
		    CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
		    (rc = skp_cbor_get_bytes(v, 1, SKP_CTAP_USER_ID_MAX,
		    r->user_id, &r->user_id_len)) != SKP_OK)
			goto out;
		r->has_user = 1;
	}
out:
	skp_cbor_free(&m);
	if (rc != SKP_OK)
		skp_wipe(r, sizeof(*r));
	return public_rc(rc);
}

/* getInfo */

static int
info_name_ok(const char *s)
{
	return str_ok(s, 1, SKP_CTAP_INFO_NAME_MAX);
}

static int
enc_names(cbor_item_t *m, int64_t key, const char (*names)
    [SKP_CTAP_INFO_NAME_MAX + 1], size_t n)
{
	cbor_item_t *a;
	size_t i;
	int rc;

	if ((a = skp_cbor_array(n)) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < n; i++)
		if ((rc = skp_cbor_array_push(a, skp_cbor_text(names[i]))) !=
		    SKP_OK) {
			skp_cbor_free(&a);
			return rc;
		}
	return skp_cbor_map_put(m, key, a);
}

/* getInfo key 10: [{"alg": int, "type": "public-key"}, ...]. */
static int
enc_algs(cbor_item_t *m, int64_t key, const int64_t *algs, size_t n)
{
	cbor_item_t *a = NULL, *e = NULL;
	size_t i;
	int rc = SKP_ERR_NOMEM;

	if ((a = skp_cbor_array(n)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((e = skp_cbor_map(2)) == NULL ||
		    (rc = skp_cbor_map_put_text(e, "alg",
		    skp_cbor_int(algs[i]))) != SKP_OK ||
		    (rc = skp_cbor_map_put_text(e, "type",
		    skp_cbor_text(PUBLIC_KEY))) != SKP_OK)
			goto out;
		rc = skp_cbor_array_push(a, e);
		e = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	rc = skp_cbor_map_put(m, key, a);
	a = NULL;
out:
	skp_cbor_free(&e);
	skp_cbor_free(&a);
	return rc;
}

static int
dec_algs(const cbor_item_t *a, int64_t *algs, size_t *n)
{
	size_t i, count = cbor_array_size(a);
	cbor_item_t *e, *v;
	char type[TYPE_MAX + 1];
	int rc;

	if (count > SKP_CTAP_INFO_LIST_MAX)
		return SKP_ERR_TOO_LARGE;
	if (count < 1)
		return SKP_ERR_FORMAT;
	for (i = 0; i < count; i++) {
		e = cbor_array_handle(a)[i];
		if (!cbor_isa_map(e))
			return SKP_ERR_CBOR_TYPE;
		if ((rc = need_int_s(e, "alg", &algs[i])) != SKP_OK ||
		    (rc = skp_cbor_map_get_text(e, "type", CBOR_TYPE_STRING,
		    &v)) != SKP_OK ||
		    (rc = skp_cbor_get_text(v, TYPE_MAX, type,
		    sizeof(type))) != SKP_OK)
			return rc;
		if (strcmp(type, PUBLIC_KEY) != 0)
			return SKP_ERR_FORMAT;
	}
	*n = count;
	return SKP_OK;
}

int
skp_ctap_info_encode(const struct skp_ctap_info *info, uint8_t **out,
    size_t *outlen)
{
	cbor_item_t *m = NULL, *o = NULL;
	size_t i;
	int rc = SKP_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	if (info->nversions == 0 || info->nversions > SKP_CTAP_INFO_LIST_MAX ||
	    info->nextensions > SKP_CTAP_INFO_LIST_MAX ||
	    info->noptions > SKP_CTAP_INFO_OPTIONS_MAX)
		goto out;
	for (i = 0; i < info->nversions; i++)
		if (!info_name_ok(info->versions[i]))
			goto out;
	for (i = 0; i < info->nextensions; i++)
		if (!info_name_ok(info->extensions[i]))
			goto out;
	for (i = 0; i < info->noptions; i++)
		if (!info_name_ok(info->options[i].name) ||
		    (info->options[i].value != 0 &&
		    info->options[i].value != 1))
			goto out;
	if (info->nalgorithms > SKP_CTAP_INFO_LIST_MAX)
		goto out;
	rc = SKP_ERR_NOMEM;
	if ((m = skp_cbor_map(6)) == NULL ||
	    (rc = enc_names(m, 1, info->versions, info->nversions)) !=
	    SKP_OK ||
	    (info->nextensions > 0 && (rc = enc_names(m, 2, info->extensions,
	    info->nextensions)) != SKP_OK) ||
	    (rc = skp_cbor_map_put(m, 3, skp_cbor_bytes(info->aaguid,
	    sizeof(info->aaguid)))) != SKP_OK ||
	    (info->max_msg_size > 0 && (rc = skp_cbor_map_put(m, 5,
	    skp_cbor_uint(info->max_msg_size))) != SKP_OK))
		goto out;
	if (info->noptions > 0) {
		rc = SKP_ERR_NOMEM;
		if ((o = skp_cbor_map(info->noptions)) == NULL)
			goto out;
		for (i = 0; i < info->noptions; i++)
			if ((rc = skp_cbor_map_put_text(o,
			    info->options[i].name,
			    skp_cbor_bool(info->options[i].value))) != SKP_OK)
				goto out;
		rc = skp_cbor_map_put(m, 4, o);
		o = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	if (info->nalgorithms > 0)
		rc = enc_algs(m, 10, info->algorithms, info->nalgorithms);
out:
	skp_cbor_free(&o);
	return finish(&m, rc, out, outlen);
}

static int
dec_names(const cbor_item_t *a, size_t min, char (*names)
    [SKP_CTAP_INFO_NAME_MAX + 1], size_t *n)
{
	size_t i, count = cbor_array_size(a);
	cbor_item_t *e;
	int rc;

	if (count > SKP_CTAP_INFO_LIST_MAX)
		return SKP_ERR_TOO_LARGE;
	if (count < min)
		return SKP_ERR_FORMAT;
	for (i = 0; i < count; i++) {
		e = cbor_array_handle(a)[i];
		if (!cbor_isa_string(e))
			return SKP_ERR_CBOR_TYPE;
		if ((rc = get_shown(e, 1, SKP_CTAP_INFO_NAME_MAX, names[i],
		    SKP_CTAP_INFO_NAME_MAX + 1)) != SKP_OK)
			return rc;
	}
	*n = count;
	return SKP_OK;
}

int
skp_ctap_info_decode(const uint8_t *p, size_t len, struct skp_ctap_info *info)
{
	cbor_item_t *m = NULL, *v = NULL;
	struct cbor_pair *pairs;
	size_t i, n;
	int rc;

	memset(info, 0, sizeof(*info));
	if ((rc = load_answer(p, len, CBOR_TYPE_MAP, &m)) != SKP_OK ||
	    (rc = need(m, 1, CBOR_TYPE_ARRAY, &v)) != SKP_OK ||
	    (rc = dec_names(v, 1, info->versions, &info->nversions)) !=
	    SKP_OK)
		goto out;
	v = NULL;
	if ((rc = opt(m, 2, CBOR_TYPE_ARRAY, &v)) != SKP_OK ||
	    (v != NULL && (rc = dec_names(v, 0, info->extensions,
	    &info->nextensions)) != SKP_OK))
		goto out;
	if ((rc = need(m, 3, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
	    (rc = bytes_exact(v, info->aaguid, sizeof(info->aaguid))) !=
	    SKP_OK)
		goto out;
	v = NULL;
	if ((rc = opt(m, 4, CBOR_TYPE_MAP, &v)) != SKP_OK)
		goto out;
	if (v != NULL) {
		if ((n = cbor_map_size(v)) > SKP_CTAP_INFO_OPTIONS_MAX) {
			rc = SKP_ERR_TOO_LARGE;
			goto out;
		}
		pairs = cbor_map_handle(v);
		for (i = 0; i < n; i++) {
			if (!cbor_isa_string(pairs[i].key)) {
				rc = SKP_ERR_CBOR_TYPE;
				goto out;
			}
			if ((rc = get_shown(pairs[i].key, 1,
			    SKP_CTAP_INFO_NAME_MAX, info->options[i].name,
			    sizeof(info->options[i].name))) != SKP_OK ||
			    (rc = skp_cbor_get_bool(pairs[i].value,
			    &info->options[i].value)) != SKP_OK)
				goto out;
		}
		info->noptions = n;
	}
	v = NULL;
	if ((rc = opt(m, 5, CBOR_TYPE_UINT, &v)) != SKP_OK ||
	    (v != NULL && (rc = skp_cbor_get_uint(v, &info->max_msg_size)) !=
	    SKP_OK))
		goto out;
	v = NULL;
	if ((rc = opt(m, 10, CBOR_TYPE_ARRAY, &v)) != SKP_OK ||
	    (v != NULL && (rc = dec_algs(v, info->algorithms,
	    &info->nalgorithms)) != SKP_OK))
		goto out;
out:
	skp_cbor_free(&m);
	if (rc != SKP_OK)
		memset(info, 0, sizeof(*info));
	return public_rc(rc);
}

int
skp_ctap_info_option(const struct skp_ctap_info *info, const char *name)
{
	size_t i;

	for (i = 0; i < info->noptions && i < SKP_CTAP_INFO_OPTIONS_MAX; i++)
		if (strcmp(info->options[i].name, name) == 0)
			return info->options[i].value;
	return SKP_CTAP_OPT_ABSENT;
}

int
skp_ctap_info_has_alg(const struct skp_ctap_info *info, int64_t alg)
{
	size_t i;

	if (info->nalgorithms == 0)
		return alg == SKP_CTAP_COSE_ES256;
	for (i = 0; i < info->nalgorithms && i < SKP_CTAP_INFO_LIST_MAX; i++)
		if (info->algorithms[i] == alg)
			return 1;
	return 0;
}

/* Credential management */

static int
cred_ok(const struct skp_ctap_cred *c, uint8_t sub, int all_rps)
{
	if (sub == SKP_CTAP_CM_ENUM_RPS)
		return str_ok(c->rp_id, 1, SKP_CTAP_RP_ID_MAX);
	return (!all_rps || str_ok(c->rp_id, 1, SKP_CTAP_RP_ID_MAX)) &&
	    c->user_id_len >= 1 && c->user_id_len <= SKP_CTAP_USER_ID_MAX &&
	    str_ok(c->user_name, 0, SKP_CTAP_USER_NAME_MAX) &&
	    cred_ref_ok(&c->cred) && c->cred_protect <= 3;
}

static cbor_item_t *
rp_item(const char *rp_id)
{
	cbor_item_t *rp;

	if ((rp = skp_cbor_map(1)) == NULL ||
	    skp_cbor_map_put_text(rp, "id", skp_cbor_text(rp_id)) != SKP_OK)
		skp_cbor_free(&rp);
	return rp;
}

static cbor_item_t *
cred_item(const struct skp_ctap_cred *c, uint8_t sub, int all_rps)
{
	cbor_item_t *m = NULL, *user = NULL;
	uint8_t h[SKP_SHA256_LEN];

	if ((m = skp_cbor_map(6)) == NULL)
		goto fail;
	if (sub == SKP_CTAP_CM_ENUM_RPS) {
		if (skp_sha256(c->rp_id, strlen(c->rp_id), h) != SKP_OK ||
		    skp_cbor_map_put(m, 3, rp_item(c->rp_id)) != SKP_OK ||
		    skp_cbor_map_put(m, 4, skp_cbor_bytes(h, sizeof(h))) !=
		    SKP_OK)
			goto fail;
		return m;
	}
	if ((all_rps && skp_cbor_map_put(m, 3, rp_item(c->rp_id)) !=
	    SKP_OK) || (user = skp_cbor_map(2)) == NULL ||
	    skp_cbor_map_put_text(user, "id", skp_cbor_bytes(c->user_id,
	    c->user_id_len)) != SKP_OK ||
	    (c->user_name[0] != '\0' && skp_cbor_map_put_text(user, "name",
	    skp_cbor_text(c->user_name)) != SKP_OK))
		goto fail;
	if (skp_cbor_map_put(m, 6, user) != SKP_OK) {
		user = NULL;
		goto fail;
	}
	user = NULL;
	if (skp_cbor_map_put(m, 7, cred_ref_item(&c->cred)) != SKP_OK ||
	    skp_cbor_map_put(m, 8, skp_authdata_cose_key_item(c->alg == 0 ?
	    SKP_CTAP_COSE_ES256 : c->alg, c->pub)) != SKP_OK ||
	    (c->cred_protect != 0 && skp_cbor_map_put(m, 10,
	    skp_cbor_uint(c->cred_protect)) != SKP_OK))
		goto fail;
	return m;
fail:
	skp_cbor_free(&user);
	skp_cbor_free(&m);
	return NULL;
}

int
skp_ctap_creds_encode(const struct skp_ctap_cred *creds, size_t n,
    uint8_t sub, int all_rps, uint8_t **out, size_t *outlen)
{
	cbor_item_t *a = NULL;
	size_t i;
	int rc = SKP_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	if ((sub != SKP_CTAP_CM_ENUM_RPS && sub != SKP_CTAP_CM_ENUM_CREDS) ||
	    n > SKP_CTAP_CREDS_MAX || (n > 0 && creds == NULL))
		goto out;
	for (i = 0; i < n; i++)
		if (!cred_ok(&creds[i], sub, all_rps))
			goto out;
	rc = SKP_ERR_NOMEM;
	if ((a = skp_cbor_array(n)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = skp_cbor_array_push(a, cred_item(&creds[i], sub,
		    all_rps))) != SKP_OK) {
			/* A bad public key is the only way to fail here. */
			rc = creds[i].alg != SKP_CTAP_COSE_EDDSA &&
			    creds[i].pub[0] != 0x04 ? SKP_ERR_INVALID : rc;
			goto out;
		}
	rc = SKP_OK;
out:
	return finish(&a, rc, out, outlen);
}

static int
dec_rp(const cbor_item_t *m, char *rp_id)
{
	cbor_item_t *rp, *v;
	int rc;

	if ((rc = need(m, 3, CBOR_TYPE_MAP, &rp)) != SKP_OK ||
	    (rc = skp_cbor_map_get_text(rp, "id", CBOR_TYPE_STRING, &v)) !=
	    SKP_OK)
		return rc;
	return dec_rp_id(v, rp_id);
}

static int
dec_cred(const cbor_item_t *m, uint8_t sub, int all_rps,
    struct skp_ctap_cred *c)
{
	cbor_item_t *v = NULL, *user;
	uint8_t h[SKP_SHA256_LEN];
	uint64_t level;
	int rc;

	if (!cbor_isa_map(m))
		return SKP_ERR_CBOR_TYPE;
	if (sub == SKP_CTAP_CM_ENUM_RPS) {
		if ((rc = dec_rp(m, c->rp_id)) != SKP_OK ||
		    (rc = need(m, 4, CBOR_TYPE_BYTESTRING, &v)) != SKP_OK ||
		    (rc = bytes_exact(v, c->rp_id_hash, SKP_SHA256_LEN)) !=
		    SKP_OK ||
		    (rc = skp_sha256(c->rp_id, strlen(c->rp_id), h)) != SKP_OK)
			return rc;
		/* The hash names the rp the phone says: they must agree. */
		if (!skp_ct_equal(h, c->rp_id_hash, sizeof(h)))
			return SKP_ERR_FORMAT;
		c->has_rp = 1;
		return SKP_OK;
	}
	rc = dec_rp(m, c->rp_id);
	if (rc == SKP_OK)
		c->has_rp = 1;
	else if (rc != MISSING || all_rps)
		return rc;
	if ((rc = need(m, 6, CBOR_TYPE_MAP, &user)) != SKP_OK ||
	    (rc = skp_cbor_map_get_text(user, "id", CBOR_TYPE_BYTESTRING,
	    &v)) != SKP_OK ||
	    (rc = skp_cbor_get_bytes(v, 1, SKP_CTAP_USER_ID_MAX, c->user_id,
	    &c->user_id_len)) != SKP_OK ||
	    (rc = opt_shown_s(user, "name", SKP_CTAP_USER_NAME_MAX,
	    c->user_name, sizeof(c->user_name))) != SKP_OK ||
	    (rc = need(m, 7, CBOR_TYPE_MAP, &v)) != SKP_OK ||
	    (rc = dec_cred_ref(v, &c->cred)) != SKP_OK ||
	    (rc = need(m, 8, CBOR_TYPE_MAP, &v)) != SKP_OK ||
	    (rc = skp_authdata_cose_key_from_item(v, &c->alg, c->pub)) !=
	    SKP_OK)
		return rc;
	v = NULL;
	if ((rc = opt(m, 10, CBOR_TYPE_UINT, &v)) != SKP_OK)
		return rc;
	if (v != NULL) {
		if ((rc = skp_cbor_get_uint(v, &level)) != SKP_OK)
			return rc;
		if (level < 1 || level > 3)
			return SKP_ERR_FORMAT;
		c->cred_protect = (unsigned int)level;
	}
	return SKP_OK;
}

int
skp_ctap_creds_decode(const uint8_t *p, size_t len, uint8_t sub,
    int all_rps, struct skp_ctap_cred **out, size_t *nout)
{
	struct skp_ctap_cred *creds = NULL;
	cbor_item_t *a = NULL;
	size_t i, n = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if (sub != SKP_CTAP_CM_ENUM_RPS && sub != SKP_CTAP_CM_ENUM_CREDS) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = load_answer(p, len, CBOR_TYPE_ARRAY, &a)) != SKP_OK)
		goto out;
	if ((n = cbor_array_size(a)) > SKP_CTAP_CREDS_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((creds = calloc(n > 0 ? n : 1, sizeof(*creds))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = dec_cred(cbor_array_handle(a)[i], sub, all_rps,
		    &creds[i])) != SKP_OK)
			goto out;
	*out = creds;
	*nout = n;
	creds = NULL;
out:
	skp_cbor_free(&a);
	skp_ctap_creds_free(&creds, n);
	return public_rc(rc);
}

void
skp_ctap_creds_free(struct skp_ctap_cred **creds, size_t n)
{
	if (creds == NULL || *creds == NULL)
		return;
	skp_wipe(*creds, (n > 0 ? n : 1) * sizeof(**creds));
	free(*creds);
	*creds = NULL;
}

/* Status codes */

int
skp_ctap_status_err(uint8_t status)
{
	switch (status) {
	case SKP_CTAP_OK:
		return SKP_OK;
	case SKP_CTAP_INVALID_COMMAND:
	case SKP_CTAP_UNSUPPORTED_ALGORITHM:
	case SKP_CTAP_UNSUPPORTED_OPTION:
	case SKP_CTAP_INVALID_SUBCOMMAND:
		return SKP_ERR_UNSUPPORTED;
	case SKP_CTAP_INVALID_LENGTH:
		return SKP_ERR_TOO_LARGE;
	case SKP_CTAP_CBOR_UNEXPECTED_TYPE:
	case SKP_CTAP_INVALID_CBOR:
	case SKP_CTAP_MISSING_PARAMETER:
		return SKP_ERR_FORMAT;
	case SKP_CTAP_TIMEOUT:
	case SKP_CTAP_USER_ACTION_TIMEOUT:
		return SKP_ERR_TIMEOUT;
	case SKP_CTAP_CHANNEL_BUSY:
	case SKP_CTAP_KEY_STORE_FULL:
		return SKP_ERR_LIMIT;
	case SKP_CTAP_CREDENTIAL_EXCLUDED:
		return SKP_ERR_EXISTS;
	case SKP_CTAP_INVALID_CREDENTIAL:
	case SKP_CTAP_NO_CREDENTIALS:
		return SKP_ERR_NOT_FOUND;
	case SKP_CTAP_OPERATION_DENIED:
	case SKP_CTAP_NOT_ALLOWED:
		return SKP_ERR_REJECTED;
	case SKP_CTAP_PIN_INVALID:
	case SKP_CTAP_PIN_BLOCKED:
		return SKP_ERR_PIN_INVALID;
	case SKP_CTAP_PIN_REQUIRED:
		return SKP_ERR_PIN_REQUIRED;
	case SKP_CTAP_OTHER:
		return SKP_ERR_INTERNAL;
	case SKP_CTAP_STALE:
		return SKP_ERR_EXPIRED;
	case SKP_CTAP_REPLAYED:
		return SKP_ERR_REPLAY;
	case SKP_CTAP_HOSTKEY_CHANGED:
		return SKP_ERR_HOSTKEY;
	case SKP_CTAP_NOT_PAIRED:
		return SKP_ERR_NOT_PAIRED;
	case SKP_CTAP_UV_UNAVAILABLE:
		return SKP_ERR_UV_UNAVAILABLE;
	case SKP_CTAP_BAD_VERSION:
		return SKP_ERR_VERSION;
	case SKP_CTAP_HOST_UNVERIFIED:
		return SKP_ERR_HOST_UNVERIFIED;
	case SKP_CTAP_RAW_MISMATCH:
	case SKP_CTAP_INVALID_PARAMETER:
	case SKP_CTAP_INVALID_OPTION:
	default:
		return SKP_ERR_INVALID;
	}
}

const char *
skp_ctap_status_str(uint8_t status)
{
	switch (status) {
	case SKP_CTAP_OK:
		return "ok";
	case SKP_CTAP_INVALID_COMMAND:
		return "invalid command";
	case SKP_CTAP_INVALID_PARAMETER:
		return "invalid parameter";
	case SKP_CTAP_INVALID_LENGTH:
		return "invalid length";
	case SKP_CTAP_TIMEOUT:
		return "timeout";
	case SKP_CTAP_CHANNEL_BUSY:
		return "busy";
	case SKP_CTAP_CBOR_UNEXPECTED_TYPE:
		return "unexpected CBOR type";
	case SKP_CTAP_INVALID_CBOR:
		return "invalid CBOR";
	case SKP_CTAP_MISSING_PARAMETER:
		return "missing parameter";
	case SKP_CTAP_CREDENTIAL_EXCLUDED:
		return "credential exists";
	case SKP_CTAP_INVALID_CREDENTIAL:
		return "invalid credential";
	case SKP_CTAP_UNSUPPORTED_ALGORITHM:
		return "unsupported algorithm";
	case SKP_CTAP_OPERATION_DENIED:
		return "denied";
	case SKP_CTAP_KEY_STORE_FULL:
		return "key store full";
	case SKP_CTAP_UNSUPPORTED_OPTION:
		return "unsupported option";
	case SKP_CTAP_INVALID_OPTION:
		return "invalid option";
	case SKP_CTAP_NO_CREDENTIALS:
		return "no credentials";
	case SKP_CTAP_USER_ACTION_TIMEOUT:
		return "no answer from the phone's owner";
	case SKP_CTAP_NOT_ALLOWED:
		return "not allowed";
	case SKP_CTAP_PIN_INVALID:
		return "wrong PIN";
	case SKP_CTAP_PIN_BLOCKED:
		return "PIN blocked";
	case SKP_CTAP_PIN_REQUIRED:
		return "PIN required";
	case SKP_CTAP_INVALID_SUBCOMMAND:
		return "invalid subcommand";
	case SKP_CTAP_OTHER:
		return "phone error";
	case SKP_CTAP_STALE:
		return "stale request (check both clocks)";
	case SKP_CTAP_REPLAYED:
		return "replayed request";
	case SKP_CTAP_RAW_MISMATCH:
		return "data does not match its hash";
	case SKP_CTAP_HOSTKEY_CHANGED:
		return "host key changed";
	case SKP_CTAP_NOT_PAIRED:
		return "not paired";
	case SKP_CTAP_UV_UNAVAILABLE:
		return "user verification not available";
	case SKP_CTAP_BAD_VERSION:
		return "unsupported envelope version";
	case SKP_CTAP_HOST_UNVERIFIED:
		return "host verification failed";
	default:
		return "unknown status";
	}
}
