/* The phone's state folder: sealed files, the lock, counters, replay cache. */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "sk-phone/buf.h"
#include "sk-phone/cbor.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostcert.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/hostkey.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relay.h"
#include "sk-phone/store.h"
#include "sk-phone/transfer.h"

#include "phstate.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define FILE_MASTERKEY	"masterkey"
#define FILE_KDF		"kdf"
#define FILE_IDENTITY	"identity"
#define FILE_COMPUTERS	"computers"
#define FILE_CREDS		"credentials"
#define FILE_COUNTERS	"counters"
#define FILE_SEEN		"seen"
#define FILE_HOSTS		"hosts"
#define FILE_PIN		"pin"
#define FILE_CAS		"cas"
#define FILE_LOCK		"lock"
#define FILE_RUN_LOCK	"run.lock"

#define SEAL_AD		"sk-phone-authenticator v1 "
#define KDF_CHECK	"sk-phone-authenticator v1 passphrase check"
#define KDF_SALT_LEN	16
#define KDF_LOG2N	15	/* N = 32768, r = 8: 32 MiB */
#define KDF_R		8
#define KDF_P		1
#define KDF_LOG2N_MAX	18	/* with r <= 8: 256 MiB at most */
#define PASS_MAX	1024
#define INNER_MAX	(512 * 1024)

typedef int (*decode_fn)(struct skp_phstate *, const uint8_t *, size_t);
typedef int (*encode_fn)(const struct skp_phstate *, uint8_t **, size_t *);

/* ---- small CBOR helpers ---- */

static int
check_map(const cbor_item_t *m, const int64_t *keys, size_t nkeys)
{
	if (!cbor_isa_map(m))
		return SKP_ERR_CBOR_TYPE;
	return skp_cbor_map_only(m, keys, nkeys);
}

static int
get_bytes(const cbor_item_t *m, int64_t key, size_t min, size_t max,
    uint8_t *out, size_t *outlen)
{
	cbor_item_t *it;
	size_t len;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_BYTESTRING, &it)) !=
	    SKP_OK)
		return rc;
	if ((rc = skp_cbor_get_bytes(it, min, max, out, &len)) != SKP_OK)
		return rc;
	if (outlen != NULL)
		*outlen = len;
	return SKP_OK;
}

static int
get_text(const cbor_item_t *m, int64_t key, size_t max, char *out)
{
	cbor_item_t *it;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_STRING, &it)) != SKP_OK)
		return rc;
	return skp_cbor_get_text(it, max, out, max + 1);
}

static int
get_uint(const cbor_item_t *m, int64_t key, uint64_t *out)
{
	cbor_item_t *it;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_UINT, &it)) != SKP_OK)
		return rc;
	return skp_cbor_get_uint(it, out);
}

static int
get_bool(const cbor_item_t *m, int64_t key, int *out)
{
	cbor_item_t *it;
	int rc;

	if ((rc = skp_cbor_map_get(m, key, CBOR_TYPE_FLOAT_CTRL, &it)) !=
	    SKP_OK)
		return rc;
	return skp_cbor_get_bool(it, out);
}

/* The one list every file holds under key 1, with at most max entries. */
static int
load_list(const uint8_t *p, size_t n, size_t max, cbor_item_t **m,
    cbor_item_t **list)
{
	static const int64_t keys[] = { 1 };
	int rc;

	if ((rc = skp_cbor_load_map(p, n, INNER_MAX, keys, nitems(keys),
	    m)) != SKP_OK)
		return rc;
	if ((rc = skp_cbor_map_get(*m, 1, CBOR_TYPE_ARRAY, list)) != SKP_OK)
		return rc;
	if (cbor_array_size(*list) > max)
		return SKP_ERR_TOO_LARGE;
	return SKP_OK;
}

static int
encode_list(cbor_item_t **list, uint8_t **out, size_t *outlen)
{
	cbor_item_t *m;
	int rc;

	if ((m = skp_cbor_map(1)) == NULL) {
		skp_cbor_free(list);
		return SKP_ERR_NOMEM;
	}
	rc = skp_cbor_map_put(m, 1, *list);
	*list = NULL;
	if (rc == SKP_OK)
		rc = skp_cbor_encode(m, INNER_MAX, out, outlen);
	skp_cbor_free(&m);
	return rc;
}

static int
fix_rc(int rc)
{
	/* A missing key in our own file is corruption, not absence. */
	return rc == SKP_ERR_NOT_FOUND ? SKP_ERR_FORMAT : rc;
}

/* ---- identity ---- */

/* ---- what the loaded state last matched on disk ---- */

static int
file_slot(const char *name)
{
	static const char *const names[SKP_PH_NFILES] = {
		[SKP_PH_FILE_COMPUTERS] = FILE_COMPUTERS,
		[SKP_PH_FILE_CREDS] = FILE_CREDS,
		[SKP_PH_FILE_COUNTERS] = FILE_COUNTERS,
		[SKP_PH_FILE_SEEN] = FILE_SEEN,
		[SKP_PH_FILE_HOSTS] = FILE_HOSTS,
		[SKP_PH_FILE_PIN] = FILE_PIN,
		[SKP_PH_FILE_CAS] = FILE_CAS,
	};
	int i;

	for (i = 0; i < SKP_PH_NFILES; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static void
file_forget(struct skp_phstate *st, int slot)
{
	struct skp_ph_file_seen *f = &st->files[slot];

	free(f->bytes);
	f->bytes = NULL;
	f->len = 0;
	f->state = 0;
}

static void
files_forget(struct skp_phstate *st)
{
	int i;

	for (i = 0; i < SKP_PH_NFILES; i++)
		file_forget(st, i);
}

/* st now matches these bytes of the file (NULL: the file is absent). */
static void
file_remember(struct skp_phstate *st, int slot, const uint8_t *p, size_t n)
{
	struct skp_ph_file_seen *f = &st->files[slot];

	file_forget(st, slot);
	if (p == NULL) {
		f->state = 2;
		return;
	}
	if ((f->bytes = malloc(n == 0 ? 1 : n)) == NULL)
		return;
	memcpy(f->bytes, p, n);
	f->len = n;
	f->state = 1;
}

/* 1 when st already matches these bytes (NULL: absent) of the file. */
static int
file_same(const struct skp_phstate *st, int slot, const uint8_t *p, size_t n)
{
	const struct skp_ph_file_seen *f = &st->files[slot];

	if (p == NULL)
		return f->state == 2;
	return f->state == 1 && f->len == n && memcmp(f->bytes, p, n) == 0;
}

/*
 * {1: identity key, 3: name, 4: relay, 5: mailbox private key}. A file of
 * protocol 1 has {2: mailbox secret} instead of 5: the phone gets a
 * mailbox key pair here (written with the next save) and
 * mailbox_migrated says so, since computers paired before know only the
 * old mailbox, where no relay of protocol 2 lets anyone listen.
 */
int
skp_phstate_decode_identity(struct skp_phstate *st, const uint8_t *p,
    size_t n)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5, 6 };
	uint8_t priv[SKP_P256_PRIV_LEN], mbpriv[SKP_P256_PRIV_LEN];
	uint8_t oldpriv[SKP_P256_PRIV_LEN], oldid[SKP_MAILBOX_ID_LEN];
	char name[SKP_NAME_MAX + 1], relay[SKP_RELAYLIST_MAX + 1];
	struct skp_p256_key k, mk, ok;
	cbor_item_t *m = NULL, *it;
	int rc, migrated = 0, have_old = 0;

	memset(&ok, 0, sizeof(ok));
	memset(oldid, 0, sizeof(oldid));

	if ((rc = skp_cbor_load_map(p, n, INNER_MAX, keys, nitems(keys),
	    &m)) != SKP_OK ||
	    (rc = get_bytes(m, 1, sizeof(priv), sizeof(priv), priv, NULL)) !=
	    SKP_OK ||
	    (rc = get_text(m, 3, SKP_NAME_MAX, name)) != SKP_OK ||
	    (rc = skp_cbor_map_get_relays(m, 4, relay, sizeof(relay))) !=
	    SKP_OK)
		goto out;
	if (skp_cbor_map_get(m, 5, CBOR_TYPE_BYTESTRING, &it) == SKP_OK) {
		if (skp_cbor_map_get(m, 2, CBOR_TYPE_BYTESTRING, &it) ==
		    SKP_OK) {
			rc = SKP_ERR_FORMAT;	/* both: neither version */
			goto out;
		}
		if ((rc = get_bytes(m, 5, sizeof(mbpriv), sizeof(mbpriv),
		    mbpriv, NULL)) != SKP_OK ||
		    (rc = skp_p256_from_private(mbpriv, &mk)) != SKP_OK)
			goto out;
		/* 6: the mailbox before a rotation, still listened on. */
		if ((rc = skp_cbor_map_get(m, 6, CBOR_TYPE_BYTESTRING,
		    &it)) != SKP_OK && rc != SKP_ERR_NOT_FOUND)
			goto out;
		if (rc == SKP_OK) {
			if ((rc = get_bytes(m, 6, sizeof(oldpriv),
			    sizeof(oldpriv), oldpriv, NULL)) != SKP_OK ||
			    (rc = skp_p256_from_private(oldpriv, &ok)) !=
			    SKP_OK ||
			    (rc = skp_relay_mailbox_id(ok.pub, oldid)) !=
			    SKP_OK)
				goto out;
			if (memcmp(ok.pub, mk.pub, SKP_P256_PUB_LEN) == 0) {
				rc = SKP_ERR_FORMAT;
				goto out;
			}
			have_old = 1;
		}
	} else {
		/* Protocol 1: the old secret must be there and is dropped. */
		if (skp_cbor_map_get(m, 6, CBOR_TYPE_BYTESTRING, &it) !=
		    SKP_ERR_NOT_FOUND) {
			rc = SKP_ERR_FORMAT;	/* no rotation in version 1 */
			goto out;
		}
		if ((rc = get_bytes(m, 2, SKP_MAILBOX_SECRET_LEN,
		    SKP_MAILBOX_SECRET_LEN, mbpriv, NULL)) != SKP_OK ||
		    (rc = skp_p256_generate(&mk)) != SKP_OK)
			goto out;
		migrated = 1;
	}
	if (skp_pairuri_check_name(name, strlen(name)) != SKP_OK ||
	    (relay[0] != '\0' &&
	    skp_relaylist_check(relay, strlen(relay), NULL) != SKP_OK)) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_p256_from_private(priv, &k)) != SKP_OK)
		goto out;
	if ((rc = skp_relay_mailbox_id(mk.pub, st->mailbox_id)) != SKP_OK)
		goto out;
	st->identity = k;
	st->mailbox_key = mk;
	st->mailbox_migrated = migrated;
	st->have_old_mailbox = have_old;
	st->old_mailbox_key = ok;
	memcpy(st->old_mailbox_id, oldid, sizeof(oldid));
	memcpy(st->name, name, sizeof(name));
	memcpy(st->relay, relay, sizeof(relay));
	st->have_identity = 1;
 out:
	skp_wipe(priv, sizeof(priv));
	skp_wipe(mbpriv, sizeof(mbpriv));
	skp_wipe(oldpriv, sizeof(oldpriv));
	skp_wipe(&k, sizeof(k));
	skp_wipe(&mk, sizeof(mk));
	skp_wipe(&ok, sizeof(ok));
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
encode_identity(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	cbor_item_t *m;
	int rc;

	if ((m = skp_cbor_map(st->have_old_mailbox ? 5 : 4)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(st->identity.priv,
	    SKP_P256_PRIV_LEN))) == SKP_OK &&
	    (rc = skp_cbor_map_put(m, 3, skp_cbor_text(st->name))) == SKP_OK &&
	    (rc = skp_cbor_map_put(m, 4, skp_cbor_relays(st->relay))) ==
	    SKP_OK &&
	    (rc = skp_cbor_map_put(m, 5, skp_cbor_bytes(st->mailbox_key.priv,
	    SKP_P256_PRIV_LEN))) == SKP_OK &&
	    (!st->have_old_mailbox ||
	    (rc = skp_cbor_map_put(m, 6, skp_cbor_bytes(
	    st->old_mailbox_key.priv, SKP_P256_PRIV_LEN))) == SKP_OK))
		rc = skp_cbor_encode(m, INNER_MAX, out, outlen);
	skp_cbor_free(&m);
	return rc;
}

/* ---- computers ---- */

/* Key 6: a non-empty list of distinct namespaces (absent: none). */
static int
decode_win_ns(const cbor_item_t *m, struct skp_ph_computer *c)
{
	cbor_item_t *list, *e;
	size_t i, j, n;
	int rc;

	c->nwin_ns = 0;
	if ((rc = skp_cbor_map_get(m, 6, CBOR_TYPE_ARRAY, &list)) ==
	    SKP_ERR_NOT_FOUND)
		return SKP_OK;
	if (rc != SKP_OK)
		return rc;
	if ((n = cbor_array_size(list)) == 0 || n > SKP_PH_WIN_NS)
		return SKP_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		e = cbor_array_handle(list)[i];
		if (!cbor_isa_string(e))
			return SKP_ERR_CBOR_TYPE;
		if ((rc = skp_cbor_get_text(e, SKP_PH_NS_MAX, c->win_ns[i],
		    sizeof(c->win_ns[i]))) != SKP_OK)
			return rc;
		if (c->win_ns[i][0] == '\0')
			return SKP_ERR_FORMAT;
		for (j = 0; j < i; j++)
			if (strcmp(c->win_ns[j], c->win_ns[i]) == 0)
				return SKP_ERR_FORMAT;
	}
	c->nwin_ns = n;
	return SKP_OK;
}

static int
decode_computer(const cbor_item_t *m, struct skp_ph_computer *c)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5, 6, 7 };
	cbor_item_t *it;
	int rc;

	c->tell_mailbox = 0;
	if ((rc = check_map(m, keys, nitems(keys))) != SKP_OK ||
	    (rc = get_text(m, 1, SKP_NAME_MAX, c->name)) != SKP_OK ||
	    (rc = get_bytes(m, 2, SKP_P256_PUB_LEN, SKP_P256_PUB_LEN, c->pub,
	    NULL)) != SKP_OK ||
	    (rc = get_bytes(m, 3, SKP_PSK_LEN, SKP_PSK_LEN, c->psk, NULL)) !=
	    SKP_OK ||
	    (rc = get_uint(m, 4, &c->paired_at)) != SKP_OK ||
	    (rc = get_uint(m, 5, &c->window_until)) != SKP_OK ||
	    (rc = decode_win_ns(m, c)) != SKP_OK)
		return rc;
	/* 7: to be told of the new mailbox; true when present. */
	if ((rc = skp_cbor_map_get(m, 7, CBOR_TYPE_FLOAT_CTRL, &it)) !=
	    SKP_OK && rc != SKP_ERR_NOT_FOUND)
		return rc;
	if (rc == SKP_OK) {
		if ((rc = get_bool(m, 7, &c->tell_mailbox)) != SKP_OK)
			return rc;
		if (!c->tell_mailbox)
			return SKP_ERR_FORMAT;
	}
	if (skp_pairuri_check_name(c->name, strlen(c->name)) != SKP_OK)
		return SKP_ERR_FORMAT;
	return skp_p256_check_public(c->pub);
}

int
skp_phstate_decode_computers(struct skp_phstate *st, const uint8_t *p,
    size_t n)
{
	struct skp_ph_computer *tmp = NULL;
	cbor_item_t *m = NULL, *list;
	size_t i, j, cnt = 0;
	int rc;

	file_forget(st, SKP_PH_FILE_COMPUTERS);
	if ((rc = load_list(p, n, SKP_PH_MAX_COMPUTERS, &m, &list)) != SKP_OK)
		goto out;
	cnt = cbor_array_size(list);
	if ((tmp = calloc(SKP_PH_MAX_COMPUTERS, sizeof(*tmp))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		if ((rc = decode_computer(cbor_array_handle(list)[i],
		    &tmp[i])) != SKP_OK)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(tmp[j].name, tmp[i].name) == 0 ||
			    memcmp(tmp[j].pub, tmp[i].pub,
			    SKP_P256_PUB_LEN) == 0) {
				rc = SKP_ERR_FORMAT;
				goto out;
			}
		}
	}
	skp_wipe(st->computers, sizeof(st->computers));
	memcpy(st->computers, tmp, cnt * sizeof(*tmp));
	st->ncomputers = cnt;
 out:
	if (tmp != NULL) {
		skp_wipe(tmp, SKP_PH_MAX_COMPUTERS * sizeof(*tmp));
		free(tmp);
	}
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
put_win_ns(cbor_item_t *m, const struct skp_ph_computer *c)
{
	cbor_item_t *list;
	size_t i;
	int rc = SKP_OK;

	if ((list = skp_cbor_array(c->nwin_ns)) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < c->nwin_ns && rc == SKP_OK; i++)
		rc = skp_cbor_array_push(list, skp_cbor_text(c->win_ns[i]));
	if (rc != SKP_OK) {
		skp_cbor_free(&list);
		return rc;
	}
	return skp_cbor_map_put(m, 6, list);
}

static int
encode_computers(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	const struct skp_ph_computer *c;
	cbor_item_t *list, *m;
	size_t i;
	int rc = SKP_OK;

	if ((list = skp_cbor_array(st->ncomputers)) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < st->ncomputers && rc == SKP_OK; i++) {
		c = &st->computers[i];
		if ((m = skp_cbor_map(5 + (size_t)(c->nwin_ns > 0) +
		    (size_t)(c->tell_mailbox != 0))) == NULL) {
			rc = SKP_ERR_NOMEM;
			break;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_text(c->name))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(c->pub,
		    SKP_P256_PUB_LEN))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 3, skp_cbor_bytes(c->psk,
		    SKP_PSK_LEN))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 4,
		    skp_cbor_uint(c->paired_at))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 5,
		    skp_cbor_uint(c->window_until))) != SKP_OK ||
		    (c->nwin_ns > 0 && (rc = put_win_ns(m, c)) != SKP_OK) ||
		    (c->tell_mailbox && (rc = skp_cbor_map_put(m, 7,
		    skp_cbor_bool(1))) != SKP_OK)) {
			skp_cbor_free(&m);
			break;
		}
		rc = skp_cbor_array_push(list, m);
	}
	if (rc != SKP_OK) {
		skp_cbor_free(&list);
		return rc;
	}
	return encode_list(&list, out, outlen);
}

/* ---- credentials ---- */

static int
decode_cred(const cbor_item_t *m, struct skp_ph_cred *c)
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	uint8_t pub[SKP_P256_PUB_LEN], priv[SKP_P256_PRIV_LEN];
	cbor_item_t *v;
	size_t publen;
	uint64_t cp;
	int rc;

	/* Key 11, the algorithm: absent in files of ES256 keys only. */
	c->alg = SKP_COSE_ALG_ES256;
	if ((rc = skp_cbor_map_get(m, 11, CBOR_TYPE_NEGINT, &v)) == SKP_OK)
		rc = skp_cbor_get_int(v, &c->alg);
	else if (rc == SKP_ERR_NOT_FOUND)
		rc = SKP_OK;
	if (rc != SKP_OK)
		goto out;
	if ((publen = skp_authdata_pub_len(c->alg)) == 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = check_map(m, keys, nitems(keys))) != SKP_OK ||
	    (rc = get_bytes(m, 1, SKP_PH_CRED_ID_LEN, SKP_PH_CRED_ID_LEN,
	    c->id, NULL)) != SKP_OK ||
	    (rc = get_text(m, 2, SKP_PH_RP_MAX, c->rp)) != SKP_OK ||
	    (rc = get_bytes(m, 3, 0, SKP_PH_USER_ID_MAX, c->user_id,
	    &c->user_id_len)) != SKP_OK ||
	    (rc = get_text(m, 4, SKP_PH_USER_NAME_MAX, c->user_name)) !=
	    SKP_OK ||
	    (rc = get_bytes(m, 5, publen, publen, pub, NULL)) != SKP_OK ||
	    (rc = get_bytes(m, 6, sizeof(priv), sizeof(priv), priv, NULL)) !=
	    SKP_OK ||
	    (rc = get_bool(m, 7, &c->resident)) != SKP_OK ||
	    (rc = get_uint(m, 8, &cp)) != SKP_OK ||
	    (rc = get_uint(m, 9, &c->created)) != SKP_OK ||
	    (rc = get_text(m, 10, SKP_NAME_MAX, c->made_for)) != SKP_OK)
		goto out;
	if (c->rp[0] == '\0' || cp < 1 || cp > 3) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	c->cred_protect = (unsigned int)cp;
	/* The stored public key must be the private key's. */
	if (c->alg == SKP_COSE_ALG_EDDSA) {
		if ((rc = skp_ed25519_from_private(priv, &c->ed)) != SKP_OK)
			goto out;
		if (memcmp(pub, c->ed.pub, SKP_ED25519_PUB_LEN) != 0)
			rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_p256_from_private(priv, &c->key)) != SKP_OK)
		goto out;
	if (memcmp(pub, c->key.pub, sizeof(pub)) != 0)
		rc = SKP_ERR_FORMAT;
 out:
	skp_wipe(priv, sizeof(priv));
	return rc;
}

int
skp_phstate_decode_creds(struct skp_phstate *st, const uint8_t *p, size_t n)
{
	struct skp_ph_cred *tmp = NULL;
	cbor_item_t *m = NULL, *list;
	size_t i, j, cnt = 0;
	int rc;

	/* Counters hang off the credentials: decoded again after. */
	file_forget(st, SKP_PH_FILE_CREDS);
	file_forget(st, SKP_PH_FILE_COUNTERS);
	if ((rc = load_list(p, n, SKP_PH_MAX_CREDS, &m, &list)) != SKP_OK)
		goto out;
	cnt = cbor_array_size(list);
	if ((tmp = calloc(SKP_PH_MAX_CREDS, sizeof(*tmp))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		if ((rc = decode_cred(cbor_array_handle(list)[i], &tmp[i])) !=
		    SKP_OK)
			goto out;
		for (j = 0; j < i; j++) {
			if (memcmp(tmp[j].id, tmp[i].id,
			    SKP_PH_CRED_ID_LEN) == 0) {
				rc = SKP_ERR_FORMAT;
				goto out;
			}
		}
	}
	skp_wipe(st->creds, sizeof(st->creds));
	memcpy(st->creds, tmp, cnt * sizeof(*tmp));
	st->ncreds = cnt;
 out:
	if (tmp != NULL) {
		skp_wipe(tmp, SKP_PH_MAX_CREDS * sizeof(*tmp));
		free(tmp);
	}
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
encode_creds(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	const struct skp_ph_cred *c;
	cbor_item_t *list, *m;
	size_t i;
	int ed, rc = SKP_OK;

	if ((list = skp_cbor_array(st->ncreds)) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < st->ncreds && rc == SKP_OK; i++) {
		c = &st->creds[i];
		ed = c->alg == SKP_COSE_ALG_EDDSA;
		if ((m = skp_cbor_map(ed ? 11 : 10)) == NULL) {
			rc = SKP_ERR_NOMEM;
			break;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(c->id,
		    SKP_PH_CRED_ID_LEN))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2, skp_cbor_text(c->rp))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 3, skp_cbor_bytes(c->user_id,
		    c->user_id_len))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 4,
		    skp_cbor_text(c->user_name))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 5, ed ?
		    skp_cbor_bytes(c->ed.pub, SKP_ED25519_PUB_LEN) :
		    skp_cbor_bytes(c->key.pub, SKP_P256_PUB_LEN))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 6, ed ?
		    skp_cbor_bytes(c->ed.priv, SKP_ED25519_PRIV_LEN) :
		    skp_cbor_bytes(c->key.priv, SKP_P256_PRIV_LEN))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 7, skp_cbor_bool(c->resident))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 8,
		    skp_cbor_uint(c->cred_protect))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 9, skp_cbor_uint(c->created))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 10,
		    skp_cbor_text(c->made_for))) != SKP_OK ||
		    (ed && (rc = skp_cbor_map_put(m, 11,
		    skp_cbor_int(SKP_COSE_ALG_EDDSA))) != SKP_OK)) {
			skp_cbor_free(&m);
			break;
		}
		rc = skp_cbor_array_push(list, m);
	}
	if (rc != SKP_OK) {
		skp_cbor_free(&list);
		return rc;
	}
	return encode_list(&list, out, outlen);
}

/* ---- counters ---- */

int
skp_phstate_decode_counters(struct skp_phstate *st, const uint8_t *p,
    size_t n)
{
	static const int64_t keys[] = { 1, 2 };
	uint32_t *vals = NULL;
	uint8_t id[SKP_PH_CRED_ID_LEN];
	cbor_item_t *m = NULL, *list, *e;
	uint64_t v;
	size_t i, k, cnt;
	int rc;

	file_forget(st, SKP_PH_FILE_COUNTERS);
	if ((rc = load_list(p, n, SKP_PH_MAX_CREDS, &m, &list)) != SKP_OK)
		goto out;
	if ((vals = calloc(SKP_PH_MAX_CREDS, sizeof(*vals))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	cnt = cbor_array_size(list);
	for (i = 0; i < cnt; i++) {
		e = cbor_array_handle(list)[i];
		if ((rc = check_map(e, keys, nitems(keys))) != SKP_OK ||
		    (rc = get_bytes(e, 1, sizeof(id), sizeof(id), id, NULL)) !=
		    SKP_OK ||
		    (rc = get_uint(e, 2, &v)) != SKP_OK)
			goto out;
		if (v > UINT32_MAX) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		/* Counters of deleted credentials are simply dropped. */
		for (k = 0; k < st->ncreds; k++)
			if (memcmp(st->creds[k].id, id, sizeof(id)) == 0)
				break;
		if (k == st->ncreds)
			continue;
		if (vals[k] != 0) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
		vals[k] = (uint32_t)v;
	}
	for (k = 0; k < st->ncreds; k++)
		st->creds[k].counter = vals[k];
 out:
	free(vals);
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
encode_counters(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	cbor_item_t *list, *m;
	size_t i;
	int rc = SKP_OK;

	if ((list = skp_cbor_array(st->ncreds)) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < st->ncreds && rc == SKP_OK; i++) {
		if (st->creds[i].counter == 0)
			continue;
		if ((m = skp_cbor_map(2)) == NULL) {
			rc = SKP_ERR_NOMEM;
			break;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(st->creds[i].id,
		    SKP_PH_CRED_ID_LEN))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2,
		    skp_cbor_uint(st->creds[i].counter))) != SKP_OK) {
			skp_cbor_free(&m);
			break;
		}
		rc = skp_cbor_array_push(list, m);
	}
	if (rc != SKP_OK) {
		skp_cbor_free(&list);
		return rc;
	}
	return encode_list(&list, out, outlen);
}

/* ---- replay cache ---- */

static uint64_t
boot_clock_ms(const struct skp_phstate *st)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	    st->mono_skew_ms;
}

/*
 * This boot's id (the kernel's boot_id, a UUID), read once; all zero when
 * it cannot be read, which matches no file.
 */
static const uint8_t *
boot_id(void)
{
	static uint8_t id[SKP_PH_BOOT_ID_LEN];
	static int done;
	char text[64], hex[2 * SKP_PH_BOOT_ID_LEN + 1];
	size_t i, o = 0;
	ssize_t n;
	int fd;

	if (done)
		return id;
	done = 1;
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) < 0)
		return id;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return id;
	text[n] = '\0';
	for (i = 0; text[i] != '\0' && o < sizeof(hex) - 1; i++)
		if (text[i] != '-' && text[i] != '\n')
			hex[o++] = text[i];
	hex[o] = '\0';
	if (o != sizeof(hex) - 1 || skp_unhex(hex, id, sizeof(id)) != SKP_OK)
		memset(id, 0, sizeof(id));
	return id;
}

static int
boot_id_known(const uint8_t *id)
{
	static const uint8_t zero[SKP_PH_BOOT_ID_LEN];

	return memcmp(id, zero, sizeof(zero)) != 0;
}

void
skp_phstate_seen_tag(const struct skp_ph_computer *c,
    uint8_t tag[SKP_PH_SEEN_TAG_LEN])
{
	/* The x coordinate after the 0x04: as random as a hash of it. */
	memcpy(tag, c->pub + 1, SKP_PH_SEEN_TAG_LEN);
}

int
skp_phstate_decode_seen(struct skp_phstate *st, const uint8_t *p, size_t n)
{
	static const int64_t top[] = { 1, 2 };
	static const int64_t keys[] = { 1, 2, 3, 4, 5 };
	struct skp_ph_seen *tmp = NULL;
	cbor_item_t *m = NULL, *list, *e;
	uint8_t boot[SKP_PH_BOOT_ID_LEN];
	uint64_t now_mono = boot_clock_ms(st);
	size_t i, cnt = 0;
	int rc, same_boot = 0;

	file_forget(st, SKP_PH_FILE_SEEN);
	if ((rc = skp_cbor_load_map(p, n, INNER_MAX, top, nitems(top),
	    &m)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_ARRAY, &list)) != SKP_OK)
		goto out;
	if (cbor_array_size(list) > SKP_PH_MAX_SEEN) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	/* Key 2 (absent in files of older phones): the boot it was in. */
	rc = get_bytes(m, 2, sizeof(boot), sizeof(boot), boot, NULL);
	if (rc == SKP_OK)
		same_boot = boot_id_known(boot) &&
		    memcmp(boot, boot_id(), sizeof(boot)) == 0;
	else if (rc != SKP_ERR_NOT_FOUND)
		goto out;
	rc = SKP_OK;
	if ((tmp = calloc(SKP_PH_MAX_SEEN, sizeof(*tmp))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	cnt = cbor_array_size(list);
	for (i = 0; i < cnt; i++) {
		e = cbor_array_handle(list)[i];
		if ((rc = check_map(e, keys, nitems(keys))) != SKP_OK ||
		    (rc = get_bytes(e, 1, SKP_PH_REQ_ID_LEN, SKP_PH_REQ_ID_LEN,
		    tmp[i].id, NULL)) != SKP_OK ||
		    (rc = get_uint(e, 2, &tmp[i].at_ms)) != SKP_OK)
			goto out;
		/* 3, 4 and 5 are absent in entries of older phones. */
		if ((rc = get_uint(e, 3, &tmp[i].req_ms)) == SKP_ERR_NOT_FOUND)
			tmp[i].req_ms = tmp[i].at_ms;
		else if (rc != SKP_OK)
			goto out;
		if ((rc = get_uint(e, 4, &tmp[i].mono_ms)) ==
		    SKP_ERR_NOT_FOUND || (rc == SKP_OK && (!same_boot ||
		    tmp[i].mono_ms > now_mono)))
			/* Not this boot's clock: kept as if seen now. */
			tmp[i].mono_ms = now_mono;
		else if (rc != SKP_OK)
			goto out;
		rc = get_bytes(e, 5, SKP_PH_SEEN_TAG_LEN, SKP_PH_SEEN_TAG_LEN,
		    tmp[i].tag, NULL);
		if (rc != SKP_OK && rc != SKP_ERR_NOT_FOUND)
			goto out;
		rc = SKP_OK;
	}
	memcpy(st->seen, tmp, cnt * sizeof(*tmp));
	st->nseen = cnt;
 out:
	free(tmp);
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
encode_seen(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	cbor_item_t *list = NULL, *m = NULL, *top = NULL;
	size_t i;
	int rc = SKP_OK;

	if ((list = skp_cbor_array(st->nseen)) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < st->nseen && rc == SKP_OK; i++) {
		if ((m = skp_cbor_map(5)) == NULL) {
			rc = SKP_ERR_NOMEM;
			break;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(st->seen[i].id,
		    SKP_PH_REQ_ID_LEN))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2,
		    skp_cbor_uint(st->seen[i].at_ms))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 3,
		    skp_cbor_uint(st->seen[i].req_ms))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 4,
		    skp_cbor_uint(st->seen[i].mono_ms))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 5, skp_cbor_bytes(st->seen[i].tag,
		    SKP_PH_SEEN_TAG_LEN))) != SKP_OK) {
			skp_cbor_free(&m);
			break;
		}
		rc = skp_cbor_array_push(list, m);
	}
	if (rc == SKP_OK && (top = skp_cbor_map(2)) == NULL)
		rc = SKP_ERR_NOMEM;
	if (rc == SKP_OK) {
		rc = skp_cbor_map_put(top, 1, list);
		list = NULL;
	}
	if (rc == SKP_OK)
		rc = skp_cbor_map_put(top, 2, skp_cbor_bytes(boot_id(),
		    SKP_PH_BOOT_ID_LEN));
	if (rc == SKP_OK)
		rc = skp_cbor_encode(top, INNER_MAX, out, outlen);
	skp_cbor_free(&list);
	skp_cbor_free(&top);
	return rc;
}

/* ---- hosts: pins and per-host windows ---- */

int
skp_phstate_host_name_ok(const char *name)
{
	char host[SKP_HOSTINFO_HOST_MAX + 1], again[SKP_HOSTINFO_PIN_MAX];
	const char *end;
	unsigned long port = 22;
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 ||
	    n > SKP_PH_HOST_NAME_MAX)
		return 0;
	if (name[0] == '[') {
		/* "[host]:port": host has no ']' (skp_hostinfo_host_ok). */
		if ((end = strchr(name, ']')) == NULL || end[1] != ':' ||
		    (size_t)(end - name - 1) > SKP_HOSTINFO_HOST_MAX ||
		    end[2] < '1' || end[2] > '9' || strlen(end + 2) > 5)
			return 0;
		memcpy(host, name + 1, (size_t)(end - name - 1));
		host[end - name - 1] = '\0';
		port = strtoul(end + 2, NULL, 10);
		if (port > 65535)
			return 0;
	} else {
		if (n > SKP_HOSTINFO_HOST_MAX)
			return 0;
		memcpy(host, name, n + 1);
	}
	/* Exactly what skp_hostinfo_pin_name() makes, byte for byte. */
	return skp_hostinfo_pin_name(host, (uint16_t)port, again,
	    sizeof(again)) == SKP_OK && strcmp(again, name) == 0;
}

static int
decode_host(const cbor_item_t *m, struct skp_ph_host *h)
{
	static const int64_t keys[] = { 1, 2, 3, 4 };
	int rc;

	if ((rc = check_map(m, keys, nitems(keys))) != SKP_OK ||
	    (rc = get_text(m, 1, SKP_PH_HOST_NAME_MAX, h->name)) != SKP_OK ||
	    (rc = get_bytes(m, 2, 1, SKP_PH_HOST_KEY_MAX, h->key,
	    &h->key_len)) != SKP_OK ||
	    (rc = get_uint(m, 3, &h->pinned_at)) != SKP_OK ||
	    (rc = get_text(m, 4, SKP_NAME_MAX, h->pinned_by)) != SKP_OK)
		return rc;
	if (!skp_phstate_host_name_ok(h->name) ||
	    skp_pairuri_check_name(h->pinned_by, strlen(h->pinned_by)) !=
	    SKP_OK)
		return SKP_ERR_FORMAT;
	/* Only keys the phone can check are ever pinned. */
	if (skp_hostkey_check(h->key, h->key_len, &h->type) != SKP_OK)
		return SKP_ERR_FORMAT;
	return SKP_OK;
}

static int
decode_hwin(const cbor_item_t *m, struct skp_ph_host_window *w)
{
	static const int64_t keys[] = { 1, 2, 3 };
	int rc;

	if ((rc = check_map(m, keys, nitems(keys))) != SKP_OK ||
	    (rc = get_text(m, 1, SKP_NAME_MAX, w->computer)) != SKP_OK ||
	    (rc = get_text(m, 2, SKP_PH_HOST_NAME_MAX, w->host)) != SKP_OK ||
	    (rc = get_uint(m, 3, &w->until)) != SKP_OK)
		return rc;
	if (skp_pairuri_check_name(w->computer, strlen(w->computer)) !=
	    SKP_OK || !skp_phstate_host_name_ok(w->host))
		return SKP_ERR_FORMAT;
	return SKP_OK;
}

int
skp_phstate_decode_hosts(struct skp_phstate *st, const uint8_t *p, size_t n)
{
	static const int64_t keys[] = { 1, 2 };
	struct skp_ph_host *hosts = NULL;
	struct skp_ph_host_window *wins = NULL;
	cbor_item_t *m = NULL, *hl, *wl;
	size_t i, j, nh = 0, nw = 0;
	int rc;

	file_forget(st, SKP_PH_FILE_HOSTS);
	if ((rc = skp_cbor_load_map(p, n, INNER_MAX, keys, nitems(keys),
	    &m)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_ARRAY, &hl)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 2, CBOR_TYPE_ARRAY, &wl)) != SKP_OK)
		goto out;
	nh = cbor_array_size(hl);
	nw = cbor_array_size(wl);
	if (nh > SKP_PH_MAX_HOSTS || nw > SKP_PH_MAX_HOST_WINDOWS) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((hosts = calloc(SKP_PH_MAX_HOSTS, sizeof(*hosts))) == NULL ||
	    (wins = calloc(SKP_PH_MAX_HOST_WINDOWS, sizeof(*wins))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nh; i++) {
		if ((rc = decode_host(cbor_array_handle(hl)[i], &hosts[i])) !=
		    SKP_OK)
			goto out;
		/* One pin per name and key type. */
		for (j = 0; j < i; j++) {
			if (strcmp(hosts[j].name, hosts[i].name) == 0 &&
			    strcmp(hosts[j].type, hosts[i].type) == 0) {
				rc = SKP_ERR_FORMAT;
				goto out;
			}
		}
	}
	for (i = 0; i < nw; i++) {
		if ((rc = decode_hwin(cbor_array_handle(wl)[i], &wins[i])) !=
		    SKP_OK)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(wins[j].computer, wins[i].computer) == 0 &&
			    strcmp(wins[j].host, wins[i].host) == 0) {
				rc = SKP_ERR_FORMAT;
				goto out;
			}
		}
	}
	memcpy(st->hosts, hosts, nh * sizeof(*hosts));
	st->nhosts = nh;
	memcpy(st->hwins, wins, nw * sizeof(*wins));
	st->nhwins = nw;
 out:
	free(hosts);
	free(wins);
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
encode_hosts(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	const struct skp_ph_host *h;
	const struct skp_ph_host_window *w;
	cbor_item_t *top = NULL, *hl = NULL, *wl = NULL, *m;
	size_t i;
	int rc = SKP_OK;

	if ((top = skp_cbor_map(2)) == NULL ||
	    (hl = skp_cbor_array(st->nhosts)) == NULL ||
	    (wl = skp_cbor_array(st->nhwins)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < st->nhosts && rc == SKP_OK; i++) {
		h = &st->hosts[i];
		if ((m = skp_cbor_map(4)) == NULL) {
			rc = SKP_ERR_NOMEM;
			break;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_text(h->name))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(h->key,
		    h->key_len))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 3,
		    skp_cbor_uint(h->pinned_at))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 4,
		    skp_cbor_text(h->pinned_by))) != SKP_OK) {
			skp_cbor_free(&m);
			break;
		}
		rc = skp_cbor_array_push(hl, m);
	}
	for (i = 0; i < st->nhwins && rc == SKP_OK; i++) {
		w = &st->hwins[i];
		if ((m = skp_cbor_map(3)) == NULL) {
			rc = SKP_ERR_NOMEM;
			break;
		}
		if ((rc = skp_cbor_map_put(m, 1,
		    skp_cbor_text(w->computer))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2, skp_cbor_text(w->host))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 3, skp_cbor_uint(w->until))) !=
		    SKP_OK) {
			skp_cbor_free(&m);
			break;
		}
		rc = skp_cbor_array_push(wl, m);
	}
	if (rc != SKP_OK)
		goto out;
	rc = skp_cbor_map_put(top, 1, hl);
	hl = NULL;
	if (rc != SKP_OK)
		goto out;
	rc = skp_cbor_map_put(top, 2, wl);
	wl = NULL;
	if (rc == SKP_OK)
		rc = skp_cbor_encode(top, INNER_MAX, out, outlen);
 out:
	skp_cbor_free(&hl);
	skp_cbor_free(&wl);
	skp_cbor_free(&top);
	return rc;
}

/* ---- the wrong-PIN count ---- */

int
skp_phstate_decode_pin(struct skp_phstate *st, const uint8_t *p, size_t n)
{
	static const int64_t keys[] = { 1 };
	cbor_item_t *m = NULL;
	uint64_t v;
	int rc;

	file_forget(st, SKP_PH_FILE_PIN);
	if ((rc = skp_cbor_load_map(p, n, INNER_MAX, keys, nitems(keys),
	    &m)) != SKP_OK ||
	    (rc = get_uint(m, 1, &v)) != SKP_OK)
		goto out;
	if (v > SKP_PH_PIN_FAILURES_MAX) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	st->pin_failures = (unsigned int)v;
 out:
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
encode_pin(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	cbor_item_t *m;
	int rc;

	if ((m = skp_cbor_map(1)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_uint(st->pin_failures))) ==
	    SKP_OK)
		rc = skp_cbor_encode(m, INNER_MAX, out, outlen);
	skp_cbor_free(&m);
	return rc;
}

/* ---- cas: the host CAs the owner trusts ---- */

static int
decode_ca(const cbor_item_t *m, struct skp_ph_ca *c)
{
	static const int64_t keys[] = { 1, 2, 3 };
	int rc;

	if ((rc = check_map(m, keys, nitems(keys))) != SKP_OK ||
	    (rc = get_text(m, 1, SKP_HOSTCERT_PATTERN_MAX, c->pattern)) !=
	    SKP_OK ||
	    (rc = get_bytes(m, 2, 1, SKP_PH_HOST_KEY_MAX, c->key,
	    &c->key_len)) != SKP_OK ||
	    (rc = get_uint(m, 3, &c->added_at)) != SKP_OK)
		return rc;
	if (!skp_hostcert_pattern_ok(c->pattern) ||
	    skp_hostkey_check(c->key, c->key_len, &c->type) != SKP_OK)
		return SKP_ERR_FORMAT;
	return SKP_OK;
}

static int
same_ca(const struct skp_ph_ca *a, const struct skp_ph_ca *b)
{
	return strcmp(a->pattern, b->pattern) == 0 &&
	    a->key_len == b->key_len &&
	    memcmp(a->key, b->key, a->key_len) == 0;
}

int
skp_phstate_decode_cas(struct skp_phstate *st, const uint8_t *p, size_t n)
{
	static const int64_t keys[] = { 1 };
	struct skp_ph_ca *cas = NULL;
	cbor_item_t *m = NULL, *l;
	size_t i, j, nc = 0;
	int rc;

	file_forget(st, SKP_PH_FILE_CAS);
	if ((rc = skp_cbor_load_map(p, n, INNER_MAX, keys, nitems(keys),
	    &m)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 1, CBOR_TYPE_ARRAY, &l)) != SKP_OK)
		goto out;
	if ((nc = cbor_array_size(l)) > SKP_PH_MAX_CAS) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((cas = calloc(SKP_PH_MAX_CAS, sizeof(*cas))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nc; i++) {
		if ((rc = decode_ca(cbor_array_handle(l)[i], &cas[i])) !=
		    SKP_OK)
			goto out;
		/* Unique by pattern and key. */
		for (j = 0; j < i; j++) {
			if (same_ca(&cas[j], &cas[i])) {
				rc = SKP_ERR_FORMAT;
				goto out;
			}
		}
	}
	memcpy(st->cas, cas, nc * sizeof(*cas));
	st->ncas = nc;
 out:
	free(cas);
	skp_cbor_free(&m);
	return fix_rc(rc);
}

static int
encode_cas(const struct skp_phstate *st, uint8_t **out, size_t *outlen)
{
	const struct skp_ph_ca *c;
	cbor_item_t *top = NULL, *l = NULL, *m;
	size_t i;
	int rc = SKP_OK;

	if ((top = skp_cbor_map(1)) == NULL ||
	    (l = skp_cbor_array(st->ncas)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < st->ncas && rc == SKP_OK; i++) {
		c = &st->cas[i];
		if ((m = skp_cbor_map(3)) == NULL) {
			rc = SKP_ERR_NOMEM;
			break;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_text(c->pattern))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(c->key,
		    c->key_len))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 3,
		    skp_cbor_uint(c->added_at))) != SKP_OK) {
			skp_cbor_free(&m);
			break;
		}
		rc = skp_cbor_array_push(l, m);
	}
	if (rc != SKP_OK)
		goto out;
	rc = skp_cbor_map_put(top, 1, l);
	l = NULL;
	if (rc == SKP_OK)
		rc = skp_cbor_encode(top, INNER_MAX, out, outlen);
 out:
	skp_cbor_free(&l);
	skp_cbor_free(&top);
	return rc;
}

/* ---- sealing ---- */

static int
seal_ad(const char *name, char *ad, size_t adlen, size_t *outlen)
{
	int n = snprintf(ad, adlen, "%s%s", SEAL_AD, name);

	if (n < 0 || (size_t)n >= adlen)
		return SKP_ERR_INVALID;
	*outlen = (size_t)n;
	return SKP_OK;
}

int
skp_phstate_seal(const uint8_t key[SKP_PH_KEY_LEN], const char *name,
    const uint8_t *p, size_t n, uint8_t **out, size_t *outlen)
{
	uint8_t nonce[SKP_AESGCM_NONCE_LEN], *ct = NULL;
	cbor_item_t *m = NULL;
	char ad[128];
	size_t adlen;
	int rc;

	if (n > INNER_MAX) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	if ((rc = seal_ad(name, ad, sizeof(ad), &adlen)) != SKP_OK ||
	    (rc = skp_random(nonce, sizeof(nonce))) != SKP_OK)
		goto out;
	if ((ct = malloc(n + SKP_AESGCM_TAG_LEN)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_aesgcm_seal(key, nonce, ad, adlen, p, n, ct)) != SKP_OK)
		goto out;
	if ((m = skp_cbor_map(2)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(nonce,
	    sizeof(nonce)))) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(ct,
	    n + SKP_AESGCM_TAG_LEN))) != SKP_OK)
		goto out;
	rc = skp_cbor_encode(m, INNER_MAX + 64, out, outlen);
 out:
	free(ct);
	skp_cbor_free(&m);
	return rc;
}

int
skp_phstate_open_sealed(const uint8_t key[SKP_PH_KEY_LEN], const char *name,
    const uint8_t *p, size_t n, uint8_t **out, size_t *outlen)
{
	static const int64_t keys[] = { 1, 2 };
	uint8_t nonce[SKP_AESGCM_NONCE_LEN], *pt = NULL;
	const uint8_t *ct;
	cbor_item_t *m = NULL, *it;
	size_t ctlen, adlen;
	char ad[128];
	int rc;

	if ((rc = seal_ad(name, ad, sizeof(ad), &adlen)) != SKP_OK ||
	    (rc = skp_cbor_load(p, n, INNER_MAX + 64, &m)) != SKP_OK)
		goto out;
	if ((rc = check_map(m, keys, nitems(keys))) != SKP_OK ||
	    (rc = get_bytes(m, 1, sizeof(nonce), sizeof(nonce), nonce,
	    NULL)) != SKP_OK ||
	    (rc = skp_cbor_map_get(m, 2, CBOR_TYPE_BYTESTRING, &it)) !=
	    SKP_OK ||
	    (rc = skp_cbor_get_bytes_ptr(it, INNER_MAX + SKP_AESGCM_TAG_LEN,
	    &ct, &ctlen)) != SKP_OK)
		goto out;
	if (ctlen < SKP_AESGCM_TAG_LEN) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((pt = malloc(ctlen - SKP_AESGCM_TAG_LEN + 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_aesgcm_open(key, nonce, ad, adlen, ct, ctlen, pt)) !=
	    SKP_OK)
		goto out;
	*out = pt;
	*outlen = ctlen - SKP_AESGCM_TAG_LEN;
	pt = NULL;
 out:
	free(pt);
	skp_cbor_free(&m);
	return fix_rc(rc);
}

/* ---- damaged files: the advice, and the last good copies ---- */

#define LAST_SUFFIX	SKP_STORE_LAST_SUFFIX
#define DAMAGED_SUFFIX	".damaged"
#define SIDE_NAME_MAX	(SKP_STORE_NAME_MAX + 16)

/*
 * What each file holds, for the message when it cannot be read. A file
 * that holds keys is never to be removed (that loses them for good): a
 * last good copy NAME.last is kept beside it, and `restore NAME` puts it
 * back. For the others the message says what removing one costs.
 */
struct file_kind {
	const char	*name;
	int		 keys;
	const char	*holds;
	const char	*cost;	/* no keys: what removing costs */
};

static const struct file_kind kinds[] = {
	{ FILE_MASTERKEY, 1, "the key that every other file of this phone "
	    "is sealed with (without it its SSH keys, identity and pairings "
	    "are lost)", NULL },
	{ FILE_KDF, 1, "what makes the passphrase into the key that every "
	    "other file of this phone is sealed with (without it its SSH "
	    "keys, identity and pairings are lost)", NULL },
	{ FILE_IDENTITY, 1, "this phone's identity and mailbox keys, by "
	    "which its paired computers know it", NULL },
	{ FILE_COMPUTERS, 1, "the keys this phone shares with each paired "
	    "computer", NULL },
	{ FILE_CREDS, 1, "this phone's SSH keys", NULL },
	{ FILE_COUNTERS, 0, "the keys' signature counters", "removing it "
	    "starts every key's counter again at 0 (OpenSSH does not check "
	    "them; a service that does may refuse the lower values)" },
	{ FILE_SEEN, 0, "the ids of recent requests", "removing it forgets "
	    "them, so a request made in the last 2 minutes could be "
	    "answered a second time" },
	{ FILE_HOSTS, 0, "the pinned host keys and the host windows",
	    "removing it forgets every pin (the next login to each host is "
	    "asked as a first use and pins its key again) and ends the host "
	    "windows" },
	{ FILE_PIN, 0, "the count of wrong PINs", "removing it sets the "
	    "count to 0, as pin-reset does" },
	{ FILE_CAS, 0, "the host CAs this phone trusts", "removing it "
	    "forgets them (add them again with hosts trust-ca; until then "
	    "their certificates are checked as plain keys)" },
};

static const struct file_kind *
file_kind(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(kinds); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

static int
file_exists(const char *dir, const char *name)
{
	char path[4096 + 32];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &sb) == 0;
}

/* dir/name cannot be used: what it holds, and what to do. */
static void
say_damaged(const char *dir, const char *name, const char *reason,
    char *why, size_t whylen)
{
	const struct file_kind *k = file_kind(name);
	char last[SIDE_NAME_MAX];

	if (k == NULL) {
		skp_why(why, whylen, "%s/%s is damaged (%s)", dir, name,
		    reason);
		return;
	}
	if (!k->keys) {
		skp_why(why, whylen, "%s/%s is damaged (%s) and cannot be "
		    "read. It holds %s and no keys: %s (rm %s/%s).", dir, name,
		    reason, k->holds, k->cost, dir, name);
		return;
	}
	snprintf(last, sizeof(last), "%s" LAST_SUFFIX, name);
	if (!file_exists(dir, last)) {
		skp_why(why, whylen, "%s/%s is damaged (%s) and cannot be "
		    "read. It holds %s: do not remove it. There is no last "
		    "good copy (%s/%s): put %s back from a backup of %s, and "
		    "keep the damaged one.", dir, name, reason, k->holds, dir,
		    last, name, dir);
		return;
	}
	skp_why(why, whylen, "%s/%s is damaged (%s) and cannot be read. It "
	    "holds %s: do not remove it. Put back its last good copy %s/%s: "
	    "run sk-phone-authenticator --state %s%s restore %s (or: cp -p "
	    "%s/%s %s/%s)", dir, name, reason, k->holds, dir, last, dir,
	    file_exists(dir, FILE_KDF) ? " --passphrase-file FILE" : "",
	    name, dir, last, dir, name);
}

/*
 * The phone never removes a file that holds keys: one missing while its
 * last good copy is there was lost, and is not started again empty (nor
 * made anew, which would also replace the copy).
 */
static int
key_file_lost(const char *dir, const char *name, char *why, size_t whylen)
{
	const struct file_kind *k = file_kind(name);
	char last[SIDE_NAME_MAX];

	snprintf(last, sizeof(last), "%s" LAST_SUFFIX, name);
	if (k == NULL || !k->keys || !file_exists(dir, last))
		return 0;
	skp_why(why, whylen, "%s/%s is missing, but its last good copy %s/%s "
	    "is there: it holds %s. Put it back: run sk-phone-authenticator "
	    "--state %s%s restore %s", dir, name, dir, last, k->holds, dir,
	    file_exists(dir, FILE_KDF) ? " --passphrase-file FILE" : "",
	    name);
	return 1;
}

/*
 * A file of the folder as it is on disk, without the store's checks of
 * its name (NAME.last is not a store name): a regular file of ours,
 * closed to others, read up to the store's cap and one byte more.
 */
static int
raw_read(const char *dir, const char *name, skp_buf_t **out, char *why,
    size_t whylen)
{
	char path[4096 + SIDE_NAME_MAX + 2];
	uint8_t chunk[4096];
	struct stat sb;
	skp_buf_t *b = NULL;
	ssize_t n;
	int fd = -1, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) < 0) {
		rc = errno == ENOENT ? SKP_ERR_NOT_FOUND : SKP_ERR_IO;
		skp_why(why, whylen, "cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		skp_why(why, whylen, "%s is not a regular file of this user "
		    "closed to others (chmod 600 %s)", path, path);
		rc = SKP_ERR_PERM;
		goto out;
	}
	if ((b = skp_buf_new(SKP_STORE_FILE_MAX + 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	rc = SKP_OK;
	while (skp_buf_len(b) <= SKP_STORE_FILE_MAX) {
		if ((n = read(fd, chunk, sizeof(chunk))) < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			skp_why(why, whylen, "cannot read %s: %s", path,
			    strerror(errno));
			rc = SKP_ERR_IO;
			break;
		}
		if (n == 0 || skp_buf_put(b, chunk, (size_t)n) != SKP_OK)
			break;
	}
	if (rc == SKP_OK) {
		*out = b;
		b = NULL;
	}
 out:
	skp_wipe(chunk, sizeof(chunk));
	skp_buf_free(&b);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Why the store found dir/name corrupt, in its own words. */
static void
corrupt_reason(const char *dir, const char *name, char *out, size_t len)
{
	static const char prefix[] = "state file damaged: ";
	char w[256];
	const uint8_t *p;
	skp_buf_t *raw = NULL;
	size_t n;

	snprintf(out, len, "unreadable");
	if (raw_read(dir, name, &raw, NULL, 0) != SKP_OK)
		return;
	if (skp_store_parse(skp_buf_ptr(raw), skp_buf_len(raw), &p, &n, w,
	    sizeof(w)) != SKP_OK && strncmp(w, prefix, sizeof(prefix) - 1) ==
	    0)
		snprintf(out, len, "%s", w + sizeof(prefix) - 1);
	skp_buf_free(&raw);
}

/*
 * skp_store_read with this file's advice when it is damaged: the store's
 * own says to remove it, which for a file that holds keys loses them.
 */
static int
read_file(const char *dir, const char *name, skp_buf_t **raw, char *why,
    size_t whylen)
{
	char reason[256];
	int rc;

	if ((rc = skp_store_read(dir, name, raw, why, whylen)) ==
	    SKP_ERR_CORRUPT) {
		corrupt_reason(dir, name, reason, sizeof(reason));
		say_damaged(dir, name, reason, why, whylen);
	}
	return rc;
}

/* A decoder's refusal of dir/name, said as damage unless it is ours. */
static int
decode_failed(const char *dir, const char *name, int rc, char *why,
    size_t whylen)
{
	if (rc == SKP_ERR_NOMEM || rc == SKP_ERR_INTERNAL)
		skp_why(why, whylen, "%s/%s: %s", dir, name, skp_strerror(rc));
	else
		say_damaged(dir, name, skp_strerror(rc), why, whylen);
	return rc;
}

/* The payload of dir/name.last, checked as a state file. */
static int
last_read(const char *dir, const char *name, skp_buf_t **payload,
    char *why, size_t whylen)
{
	char last[SIDE_NAME_MAX];
	skp_buf_t *raw = NULL, *out = NULL;
	const uint8_t *p;
	size_t n;
	int rc;

	snprintf(last, sizeof(last), "%s" LAST_SUFFIX, name);
	if ((rc = raw_read(dir, last, &raw, why, whylen)) != SKP_OK)
		goto out;
	if ((rc = skp_store_parse(skp_buf_ptr(raw), skp_buf_len(raw), &p, &n,
	    why, whylen)) != SKP_OK)
		goto out;
	if ((out = skp_buf_new(n > 0 ? n : 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_buf_put(out, p, n)) != SKP_OK)
		goto out;
	*payload = out;
	out = NULL;
 out:
	skp_buf_free(&out);
	skp_buf_free(&raw);
	return rc;
}

/*
 * Keep payload (what dir/name now holds, read back good) as
 * dir/name.last: a state file like the others (the store's atomic,
 * fsync'd write, 0600).
 */
static int
last_write(const char *dir, const char *name, const uint8_t *payload,
    size_t len, char *why, size_t whylen)
{
	char last[SIDE_NAME_MAX];

	snprintf(last, sizeof(last), "%s" LAST_SUFFIX, name);
	return skp_store_write(dir, last, payload, len, 0, why, whylen);
}

/*
 * The files that hold keys, just read good under the lock: make each
 * NAME.last the same when it is not (a state from before copies were
 * kept, or a copy whose write failed). Best effort: a folder that
 * cannot be written still opens.
 */
static void
keep_lasts(const struct skp_phstate *st)
{
	static const char *const names[] = { FILE_MASTERKEY, FILE_KDF,
	    FILE_IDENTITY, FILE_COMPUTERS, FILE_CREDS };
	skp_buf_t *cur = NULL, *last = NULL;
	size_t i;

	for (i = 0; i < nitems(names); i++) {
		if (skp_store_read(st->dir, names[i], &cur, NULL, 0) ==
		    SKP_OK && (last_read(st->dir, names[i], &last, NULL, 0) !=
		    SKP_OK || skp_buf_len(last) != skp_buf_len(cur) ||
		    memcmp(skp_buf_ptr(last), skp_buf_ptr(cur),
		    skp_buf_len(cur)) != 0))
			(void)last_write(st->dir, names[i], skp_buf_ptr(cur),
			    skp_buf_len(cur), NULL, 0);
		skp_buf_free(&cur);
		skp_buf_free(&last);
	}
}

/* ---- files ---- */

static int
load_file(struct skp_phstate *st, const char *name, decode_fn fn, char *why,
    size_t whylen)
{
	skp_buf_t *raw = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	int rc, slot = file_slot(name);

	rc = read_file(st->dir, name, &raw, why, whylen);
	if (rc == SKP_ERR_NOT_FOUND && key_file_lost(st->dir, name, why,
	    whylen)) {
		rc = SKP_ERR_CORRUPT;
		goto out;
	}
	if (rc == SKP_ERR_NOT_FOUND) {
		rc = SKP_OK;
		if (slot >= 0 && file_same(st, slot, NULL, 0))
			goto out;
		/* Not there yet: empty ({1: []}; hosts {1: [], 2: []};
		 * pin {1: 0}). */
		if (strcmp(name, FILE_HOSTS) == 0)
			rc = fn(st, (const uint8_t *)"\xa2\x01\x80\x02\x80", 5);
		else if (strcmp(name, FILE_PIN) == 0)
			rc = fn(st, (const uint8_t *)"\xa1\x01\x00", 3);
		else
			rc = fn(st, (const uint8_t *)"\xa1\x01\x80", 3);
		if (rc == SKP_OK && slot >= 0)
			file_remember(st, slot, NULL, 0);
		goto out;
	}
	if (rc != SKP_OK)
		goto out;
	/* Read every time (another process may have changed it), but
	 * decrypted and decoded only when it did. */
	if (slot >= 0 && file_same(st, slot, skp_buf_ptr(raw),
	    skp_buf_len(raw)))
		goto out;
	rc = skp_phstate_open_sealed(st->key, name, skp_buf_ptr(raw),
	    skp_buf_len(raw), &pt, &ptlen);
	if (rc == SKP_OK)
		rc = fn(st, pt, ptlen);
	if (rc == SKP_OK && slot >= 0)
		file_remember(st, slot, skp_buf_ptr(raw), skp_buf_len(raw));
	if (rc != SKP_OK)
		decode_failed(st->dir, name, rc, why, whylen);
 out:
	if (pt != NULL) {
		skp_wipe(pt, ptlen);
		free(pt);
	}
	skp_buf_free(&raw);
	return rc;
}

static int
save_file(struct skp_phstate *st, const char *name, encode_fn fn, char *why,
    size_t whylen)
{
	uint8_t *pt = NULL, *sealed = NULL;
	size_t ptlen = 0, sealedlen = 0;
	int rc, slot;

	if ((rc = fn(st, &pt, &ptlen)) != SKP_OK ||
	    (rc = skp_phstate_seal(st->key, name, pt, ptlen, &sealed,
	    &sealedlen)) != SKP_OK) {
		skp_why(why, whylen, "%s: %s", name, skp_strerror(rc));
		goto out;
	}
	rc = skp_store_write(st->dir, name, sealed, sealedlen, 0, why,
	    whylen);
	/*
	 * A file that holds keys: its last good copy follows (best effort;
	 * the next open puts it right). Before this write it was the
	 * previous version, read good under the lock.
	 */
	if (rc == SKP_OK && file_kind(name) != NULL && file_kind(name)->keys)
		(void)last_write(st->dir, name, sealed, sealedlen, NULL, 0);
	if ((slot = file_slot(name)) >= 0) {
		if (rc == SKP_OK)
			file_remember(st, slot, sealed, sealedlen);
		else
			file_forget(st, slot);
	}
 out:
	if (pt != NULL) {
		skp_wipe(pt, ptlen);
		free(pt);
	}
	free(sealed);
	return rc;
}

/* One writer at a time across processes ("run" and the subcommands). */
static int
lock_dir(const struct skp_phstate *st, int *fdp, char *why, size_t whylen)
{
	char path[sizeof(st->dir) + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", st->dir, FILE_LOCK);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		skp_why(why, whylen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SKP_ERR_IO;
	}
	*fdp = fd;
	return SKP_OK;
}

static void
unlock_dir(int *fdp)
{
	if (*fdp >= 0) {
		(void)flock(*fdp, LOCK_UN);
		close(*fdp);
	}
	*fdp = -1;
}

/*
 * run's own lock, apart from the writers' (which run takes only around
 * each edit): held for run's lifetime, so that a second run on this
 * state is refused while pair, unpair and the rest keep working.
 */
int
skp_phstate_run_lock(const struct skp_phstate *st, int *fdp, long *pid,
    char *why, size_t whylen)
{
	char path[sizeof(st->dir) + 16], buf[32];
	ssize_t n;
	int fd = -1, rc;

	*fdp = -1;
	*pid = 0;
	snprintf(path, sizeof(path), "%s/%s", st->dir, FILE_RUN_LOCK);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0) {
		skp_why(why, whylen, "cannot open %s: %s", path,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			skp_why(why, whylen, "cannot lock %s: %s", path,
			    strerror(errno));
			rc = SKP_ERR_IO;
			goto out;
		}
		/* The holder writes its pid just after it locks. */
		if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			*pid = strtol(buf, NULL, 10);
		}
		rc = SKP_ERR_EXISTS;
		goto out;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fchmod(fd, 0600) != 0 || ftruncate(fd, 0) != 0 ||
	    pwrite(fd, buf, (size_t)n, 0) != n) {
		skp_why(why, whylen, "cannot write %s: %s", path,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	*fdp = fd;
	fd = -1;
	rc = SKP_OK;
 out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- the storage key ---- */

static int
read_passphrase(const char *path, char *out, size_t outlen, size_t *len,
    char *why, size_t whylen)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		skp_why(why, whylen, "%s: %s", path, strerror(errno));
		return SKP_ERR_IO;
	}
	if (fstat(fd, &sb) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if (S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0) {
		skp_why(why, whylen, "%s is open to others: run chmod 600 %s",
		    path, path);
		rc = SKP_ERR_PERM;
		goto out;
	}
	while (got < outlen && (n = read(fd, out + got, outlen - got)) > 0)
		got += (size_t)n;
	if (got == outlen) {
		skp_why(why, whylen, "%s: passphrase longer than %d bytes",
		    path,
		    PASS_MAX - 1);
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	/* One trailing newline is the file's, not the passphrase's. */
	if (got > 0 && out[got - 1] == '\n')
		got--;
	if (got > 0 && out[got - 1] == '\r')
		got--;
	if (got == 0) {
		skp_why(why, whylen, "%s: empty passphrase", path);
		rc = SKP_ERR_INVALID;
		goto out;
	}
	*len = got;
	rc = SKP_OK;
 out:
	close(fd);
	return rc;
}

static int
scrypt(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
    unsigned int log2n, unsigned int r, unsigned int p, uint8_t *out,
    size_t outlen)
{
	OSSL_PARAM params[7];
	EVP_KDF_CTX *ctx = NULL;
	EVP_KDF *kdf = NULL;
	uint64_t n = (uint64_t)1 << log2n;
	uint32_t r32 = r, p32 = p;
	uint64_t maxmem = (uint64_t)512 << 20;
	int rc = SKP_ERR_INTERNAL;

	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)pass, passlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
	    &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, params) == 1)
		rc = SKP_OK;
 out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

static int
kdf_check(const uint8_t key[SKP_PH_KEY_LEN], uint8_t out[SKP_SHA256_LEN])
{
	return skp_hmac_sha256(key, SKP_PH_KEY_LEN, KDF_CHECK,
	    strlen(KDF_CHECK), out);
}

/*
 * The "kdf" file's payload: salt, scrypt parameters and check tag.
 * SKP_ERR_TOO_LARGE for parameters past the bounds (so that a doctored
 * file cannot make us spend gigabytes), else fix_rc()'s codes.
 */
static int
kdf_decode(const uint8_t *raw, size_t rawlen,
    uint8_t salt[KDF_SALT_LEN], uint64_t *log2n, uint64_t *r, uint64_t *p,
    uint8_t want[SKP_SHA256_LEN])
{
	static const int64_t keys[] = { 1, 2, 3, 4, 5 };
	cbor_item_t *m = NULL;
	int rc;

	if ((rc = skp_cbor_load_map(raw, rawlen, INNER_MAX, keys,
	    nitems(keys), &m)) != SKP_OK ||
	    (rc = get_bytes(m, 1, KDF_SALT_LEN, KDF_SALT_LEN, salt, NULL)) !=
	    SKP_OK ||
	    (rc = get_uint(m, 2, log2n)) != SKP_OK ||
	    (rc = get_uint(m, 3, r)) != SKP_OK ||
	    (rc = get_uint(m, 4, p)) != SKP_OK ||
	    (rc = get_bytes(m, 5, SKP_SHA256_LEN, SKP_SHA256_LEN, want,
	    NULL)) != SKP_OK) {
		rc = fix_rc(rc);
		goto out;
	}
	if (*log2n < 10 || *log2n > KDF_LOG2N_MAX || *r < 1 || *r > 8 ||
	    *p < 1 || *p > 4)
		rc = SKP_ERR_TOO_LARGE;
 out:
	skp_cbor_free(&m);
	return rc;
}

/* The "masterkey" file's payload: the storage key. */
static int
masterkey_decode(const uint8_t *raw, size_t rawlen,
    uint8_t key[SKP_PH_KEY_LEN])
{
	static const int64_t keys[] = { 1 };
	cbor_item_t *m = NULL;
	int rc;

	if ((rc = skp_cbor_load_map(raw, rawlen, INNER_MAX, keys,
	    nitems(keys), &m)) != SKP_OK ||
	    (rc = get_bytes(m, 1, SKP_PH_KEY_LEN, SKP_PH_KEY_LEN, key,
	    NULL)) != SKP_OK)
		rc = fix_rc(rc);
	skp_cbor_free(&m);
	return rc;
}

static int
key_from_passphrase(struct skp_phstate *st, const char *passfile,
    int create, char *why, size_t whylen)
{
	uint8_t salt[KDF_SALT_LEN], check[SKP_SHA256_LEN], want[SKP_SHA256_LEN];
	char pass[PASS_MAX];
	skp_buf_t *raw = NULL;
	cbor_item_t *m = NULL;
	uint8_t *enc = NULL;
	uint64_t log2n, r, p;
	size_t passlen = 0, enclen = 0;
	int rc;

	if ((rc = read_passphrase(passfile, pass, sizeof(pass), &passlen, why,
	    whylen)) != SKP_OK)
		goto out;
	rc = read_file(st->dir, FILE_KDF, &raw, why, whylen);
	if (rc == SKP_ERR_NOT_FOUND && (key_file_lost(st->dir, FILE_KDF, why,
	    whylen) || key_file_lost(st->dir, FILE_MASTERKEY, why, whylen))) {
		rc = SKP_ERR_CORRUPT;
		goto out;
	}
	if (rc == SKP_ERR_NOT_FOUND && create) {
		if ((rc = skp_random(salt, sizeof(salt))) != SKP_OK ||
		    (rc = scrypt(pass, passlen, salt, sizeof(salt), KDF_LOG2N,
		    KDF_R, KDF_P, st->key, sizeof(st->key))) != SKP_OK ||
		    (rc = kdf_check(st->key, check)) != SKP_OK)
			goto out;
		if ((m = skp_cbor_map(5)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(salt,
		    sizeof(salt)))) != SKP_OK ||
		    (rc = skp_cbor_map_put(m, 2, skp_cbor_uint(KDF_LOG2N))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 3, skp_cbor_uint(KDF_R))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 4, skp_cbor_uint(KDF_P))) !=
		    SKP_OK ||
		    (rc = skp_cbor_map_put(m, 5, skp_cbor_bytes(check,
		    sizeof(check)))) != SKP_OK ||
		    (rc = skp_cbor_encode(m, 1024, &enc, &enclen)) != SKP_OK)
			goto out;
		if ((rc = skp_store_write(st->dir, FILE_KDF, enc, enclen,
		    SKP_STORE_NOREPLACE, why, whylen)) == SKP_OK)
			(void)last_write(st->dir, FILE_KDF, enc, enclen, NULL,
			    0);
		goto out;
	}
	if (rc == SKP_ERR_NOT_FOUND) {
		skp_why(why, whylen, "%s has no passphrase set up", st->dir);
		goto out;
	}
	if (rc != SKP_OK)
		goto out;
	if ((rc = kdf_decode(skp_buf_ptr(raw), skp_buf_len(raw), salt,
	    &log2n, &r, &p, want)) != SKP_OK) {
		if (rc == SKP_ERR_TOO_LARGE)
			say_damaged(st->dir, FILE_KDF, "bad parameters", why,
			    whylen);
		else
			decode_failed(st->dir, FILE_KDF, rc, why, whylen);
		if (rc == SKP_ERR_TOO_LARGE)
			rc = SKP_ERR_CORRUPT;
		goto out;
	}
	if ((rc = scrypt(pass, passlen, salt, sizeof(salt),
	    (unsigned int)log2n, (unsigned int)r, (unsigned int)p, st->key,
	    sizeof(st->key))) != SKP_OK ||
	    (rc = kdf_check(st->key, check)) != SKP_OK)
		goto out;
	if (!skp_ct_equal(check, want, sizeof(check))) {
		rc = SKP_ERR_DECRYPT;
		skp_why(why, whylen, "wrong passphrase for %s", st->dir);
	}
 out:
	skp_wipe(pass, sizeof(pass));
	skp_wipe(check, sizeof(check));
	free(enc);
	skp_cbor_free(&m);
	skp_buf_free(&raw);
	return rc;
}

static int
key_from_file(struct skp_phstate *st, int create, char *why, size_t whylen)
{
	skp_buf_t *raw = NULL;
	cbor_item_t *m = NULL;
	uint8_t *enc = NULL;
	size_t enclen = 0;
	int rc;

	rc = read_file(st->dir, FILE_MASTERKEY, &raw, why, whylen);
	/* Nor made anew where the passphrase's file was lost. */
	if (rc == SKP_ERR_NOT_FOUND && (key_file_lost(st->dir,
	    FILE_MASTERKEY, why, whylen) || key_file_lost(st->dir, FILE_KDF,
	    why, whylen))) {
		rc = SKP_ERR_CORRUPT;
		goto out;
	}
	if (rc == SKP_ERR_NOT_FOUND && create) {
		if ((rc = skp_random(st->key, sizeof(st->key))) != SKP_OK)
			goto out;
		if ((m = skp_cbor_map(1)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		if ((rc = skp_cbor_map_put(m, 1, skp_cbor_bytes(st->key,
		    sizeof(st->key)))) != SKP_OK ||
		    (rc = skp_cbor_encode(m, 1024, &enc, &enclen)) != SKP_OK)
			goto out;
		if ((rc = skp_store_write(st->dir, FILE_MASTERKEY, enc,
		    enclen, SKP_STORE_NOREPLACE, why, whylen)) == SKP_OK)
			(void)last_write(st->dir, FILE_MASTERKEY, enc, enclen,
			    NULL, 0);
		goto out;
	}
	if (rc == SKP_ERR_NOT_FOUND) {
		skp_why(why, whylen, "%s is not set up (no %s): pair first",
		    st->dir, FILE_MASTERKEY);
		goto out;
	}
	if (rc != SKP_OK)
		goto out;
	if ((rc = masterkey_decode(skp_buf_ptr(raw), skp_buf_len(raw),
	    st->key)) != SKP_OK)
		decode_failed(st->dir, FILE_MASTERKEY, rc, why, whylen);
 out:
	if (enc != NULL) {
		skp_wipe(enc, enclen);
		free(enc);
	}
	skp_cbor_free(&m);
	skp_buf_free(&raw);
	return rc;
}

/* ---- open, reload ---- */

static int
load_identity(struct skp_phstate *st, char *why, size_t whylen)
{
	skp_buf_t *raw = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	int rc;

	st->have_identity = 0;
	rc = read_file(st->dir, FILE_IDENTITY, &raw, why, whylen);
	if (rc == SKP_ERR_NOT_FOUND && key_file_lost(st->dir, FILE_IDENTITY,
	    why, whylen))
		rc = SKP_ERR_CORRUPT;
	else if (rc == SKP_ERR_NOT_FOUND) {
		rc = SKP_OK;
		goto out;
	}
	if (rc != SKP_OK)
		goto out;
	if ((rc = skp_phstate_open_sealed(st->key, FILE_IDENTITY,
	    skp_buf_ptr(raw), skp_buf_len(raw), &pt, &ptlen)) != SKP_OK ||
	    (rc = skp_phstate_decode_identity(st, pt, ptlen)) != SKP_OK)
		decode_failed(st->dir, FILE_IDENTITY, rc, why, whylen);
 out:
	if (pt != NULL) {
		skp_wipe(pt, ptlen);
		free(pt);
	}
	skp_buf_free(&raw);
	return rc;
}

static int
reload_locked(struct skp_phstate *st, char *why, size_t whylen)
{
	int rc;

	if ((rc = load_file(st, FILE_COMPUTERS, skp_phstate_decode_computers,
	    why, whylen)) != SKP_OK ||
	    (rc = load_file(st, FILE_CREDS, skp_phstate_decode_creds, why,
	    whylen)) != SKP_OK ||
	    (rc = load_file(st, FILE_COUNTERS, skp_phstate_decode_counters, why,
	    whylen)) != SKP_OK ||
	    (rc = load_file(st, FILE_SEEN, skp_phstate_decode_seen, why,
	    whylen)) != SKP_OK ||
	    (rc = load_file(st, FILE_HOSTS, skp_phstate_decode_hosts, why,
	    whylen)) != SKP_OK ||
	    (rc = load_file(st, FILE_CAS, skp_phstate_decode_cas, why,
	    whylen)) != SKP_OK)
		return rc;
	return load_file(st, FILE_PIN, skp_phstate_decode_pin, why, whylen);
}

int
skp_phstate_reload(struct skp_phstate *st, char *why, size_t whylen)
{
	int lfd = -1, rc;

	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		return rc;
	rc = reload_locked(st, why, whylen);
	unlock_dir(&lfd);
	return rc;
}

int
skp_phstate_open(const char *dir, const char *passfile, int create,
    struct skp_phstate **out, char *why, size_t whylen)
{
	struct skp_phstate *st = NULL;
	int lfd = -1, rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if (strlen(dir) >= sizeof(st->dir) - SKP_STORE_NAME_MAX - 2) {
		skp_why(why, whylen, "state folder path too long");
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	if ((rc = skp_store_dir_check(dir, create, why, whylen)) != SKP_OK) {
		if (rc == SKP_ERR_NOT_FOUND)
			skp_why(why, whylen, "%s does not exist: pair first",
			    dir);
		goto out;
	}
	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK ||
	    (rc = skp_phstate_check_moved(dir, why, whylen)) != SKP_OK)
		goto out;
	if (passfile != NULL && file_exists(dir, FILE_MASTERKEY)) {
		skp_why(why, whylen, "%s uses a key file, not a passphrase",
		    dir);
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (passfile == NULL && file_exists(dir, FILE_KDF)) {
		skp_why(why, whylen, "%s is protected by a passphrase: give "
		    "--passphrase-file", dir);
		rc = SKP_ERR_INVALID;
		goto out;
	}
	rc = passfile != NULL ?
	    key_from_passphrase(st, passfile, create, why, whylen) :
	    key_from_file(st, create, why, whylen);
	if (rc != SKP_OK || (rc = load_identity(st, why, whylen)) != SKP_OK ||
	    (rc = reload_locked(st, why, whylen)) != SKP_OK)
		goto out;
	keep_lasts(st);
	*out = st;
	st = NULL;
 out:
	unlock_dir(&lfd);
	skp_phstate_free(&st);
	return rc;
}

void
skp_phstate_free(struct skp_phstate **stp)
{
	if (stp == NULL || *stp == NULL)
		return;
	files_forget(*stp);
	skp_wipe(*stp, sizeof(**stp));
	free(*stp);
	*stp = NULL;
}

/* ---- edits ---- */

int
skp_phstate_identity_set(struct skp_phstate *st, const char *name,
    const char *relay, char *why, size_t whylen)
{
	int lfd = -1, rc;

	if ((name != NULL && skp_pairuri_check_name(name, strlen(name)) !=
	    SKP_OK) || (relay != NULL &&
	    skp_relaylist_check(relay, strlen(relay), NULL) != SKP_OK)) {
		skp_why(why, whylen, "bad phone name or relay URL");
		return SKP_ERR_INVALID;
	}
	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		return rc;
	if ((rc = load_identity(st, why, whylen)) != SKP_OK)
		goto out;
	if (!st->have_identity) {
		/* First use: the phone's own key and mailbox. */
		if ((rc = skp_p256_generate(&st->identity)) != SKP_OK ||
		    (rc = skp_p256_generate(&st->mailbox_key)) != SKP_OK ||
		    (rc = skp_relay_mailbox_id(st->mailbox_key.pub,
		    st->mailbox_id)) != SKP_OK)
			goto out;
		snprintf(st->name, sizeof(st->name), "%s", "phone");
		st->relay[0] = '\0';
	}
	if (name != NULL)
		snprintf(st->name, sizeof(st->name), "%s", name);
	if (relay != NULL)
		snprintf(st->relay, sizeof(st->relay), "%s", relay);
	if ((rc = save_file(st, FILE_IDENTITY, encode_identity, why, whylen)) ==
	    SKP_OK) {
		st->have_identity = 1;
		st->mailbox_migrated = 0;
	}
 out:
	unlock_dir(&lfd);
	return rc;
}

struct skp_ph_computer *
skp_phstate_computer_find(struct skp_phstate *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->ncomputers; i++)
		if (strcmp(st->computers[i].name, name) == 0)
			return &st->computers[i];
	return NULL;
}

struct skp_ph_cred *
skp_phstate_cred_find(struct skp_phstate *st, const uint8_t *id,
    size_t idlen)
{
	size_t i;

	if (idlen != SKP_PH_CRED_ID_LEN)
		return NULL;
	for (i = 0; i < st->ncreds; i++)
		if (memcmp(st->creds[i].id, id, SKP_PH_CRED_ID_LEN) == 0)
			return &st->creds[i];
	return NULL;
}

/* Lock, re-read one file, edit, write back. */
static int
edit(struct skp_phstate *st, const char *name, decode_fn dec, encode_fn enc,
    int (*fn)(struct skp_phstate *, const void *, char *, size_t),
    const void *arg, char *why, size_t whylen)
{
	int lfd = -1, rc;

	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		return rc;
	/* Counters hang off the credentials: re-read both together. */
	if (dec == skp_phstate_decode_counters &&
	    (rc = load_file(st, FILE_CREDS, skp_phstate_decode_creds, why,
	    whylen)) != SKP_OK)
		goto out;
	if ((rc = load_file(st, name, dec, why, whylen)) != SKP_OK ||
	    (dec == skp_phstate_decode_creds &&
	    (rc = load_file(st, FILE_COUNTERS, skp_phstate_decode_counters, why,
	    whylen)) != SKP_OK))
		goto out;
	if ((rc = fn(st, arg, why, whylen)) != SKP_OK)
		goto out;
	rc = save_file(st, name, enc, why, whylen);
 out:
	unlock_dir(&lfd);
	if (rc != SKP_OK) {
		/* st may hold the edit that did not reach the disk. */
		files_forget(st);
		(void)skp_phstate_reload(st, NULL, 0);
	}
	return rc;
}

static int
do_computer_put(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct skp_ph_computer *c = arg;
	struct skp_ph_computer *old;
	size_t i;

	/*
	 * Pairing again with the same computer replaces its record; another
	 * computer may not take a name already paired.
	 */
	for (i = 0; i < st->ncomputers; i++) {
		old = &st->computers[i];
		if (memcmp(old->pub, c->pub, SKP_P256_PUB_LEN) == 0) {
			*old = *c;
			return SKP_OK;
		}
	}
	if (skp_phstate_computer_find(st, c->name) != NULL) {
		skp_why(why, whylen, "another computer named \"%s\" is paired: "
		    "unpair it first", c->name);
		return SKP_ERR_EXISTS;
	}
	if (st->ncomputers == SKP_PH_MAX_COMPUTERS) {
		skp_why(why, whylen, "already paired with %d computers",
		    SKP_PH_MAX_COMPUTERS);
		return SKP_ERR_TOO_LARGE;
	}
	st->computers[st->ncomputers++] = *c;
	return SKP_OK;
}

int
skp_phstate_computer_put(struct skp_phstate *st,
    const struct skp_ph_computer *c, char *why, size_t whylen)
{
	return edit(st, FILE_COMPUTERS, skp_phstate_decode_computers,
	    encode_computers, do_computer_put, c, why, whylen);
}

static int
do_computer_remove(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const char *name = arg;
	size_t i;

	for (i = 0; i < st->ncomputers; i++) {
		if (strcmp(st->computers[i].name, name) != 0)
			continue;
		skp_wipe(&st->computers[i], sizeof(st->computers[i]));
		memmove(&st->computers[i], &st->computers[i + 1],
		    (st->ncomputers - i - 1) * sizeof(st->computers[0]));
		st->ncomputers--;
		skp_wipe(&st->computers[st->ncomputers],
		    sizeof(st->computers[0]));
		return SKP_OK;
	}
	skp_why(why, whylen, "no paired computer named \"%s\"", name);
	return SKP_ERR_NOT_FOUND;
}

int
skp_phstate_computer_remove(struct skp_phstate *st, const char *name,
    char *why, size_t whylen)
{
	return edit(st, FILE_COMPUTERS, skp_phstate_decode_computers,
	    encode_computers, do_computer_remove, name, why, whylen);
}

struct window_arg {
	const char	*name;
	uint64_t	 until;
	const char	*ns;
	uint64_t	 now;
};

static int
do_window_set(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct window_arg *w = arg;
	struct skp_ph_computer *c;

	if ((c = skp_phstate_computer_find(st, w->name)) == NULL) {
		skp_why(why, whylen, "no paired computer named \"%s\"",
		    w->name);
		return SKP_ERR_NOT_FOUND;
	}
	if (w->ns != NULL && (w->ns[0] == '\0' ||
	    strlen(w->ns) > SKP_PH_NS_MAX)) {
		skp_why(why, whylen, "not a namespace");
		return SKP_ERR_INVALID;
	}
	/* A window past its time starts again with nothing in it. */
	if (c->window_until <= w->now)
		c->nwin_ns = 0;
	c->window_until = w->until;
	if (w->ns == NULL || skp_phstate_window_covers_ns(c, w->ns, 0))
		return SKP_OK;
	if (c->nwin_ns == SKP_PH_WIN_NS) {
		memmove(c->win_ns[0], c->win_ns[1], (SKP_PH_WIN_NS - 1) *
		    sizeof(c->win_ns[0]));
		c->nwin_ns--;
	}
	snprintf(c->win_ns[c->nwin_ns], sizeof(c->win_ns[0]), "%s", w->ns);
	c->nwin_ns++;
	return SKP_OK;
}

int
skp_phstate_window_covers_ns(const struct skp_ph_computer *c,
    const char *ns, uint64_t now)
{
	size_t i;

	if (now != 0 && c->window_until <= now)
		return 0;
	for (i = 0; i < c->nwin_ns; i++)
		if (strcmp(c->win_ns[i], ns) == 0)
			return 1;
	return 0;
}

int
skp_phstate_window_set(struct skp_phstate *st, const char *name,
    uint64_t until, const char *ns, uint64_t now, char *why, size_t whylen)
{
	struct window_arg w = { name, until, ns, now };

	return edit(st, FILE_COMPUTERS, skp_phstate_decode_computers,
	    encode_computers, do_window_set, &w, why, whylen);
}

static int
do_cred_add(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct skp_ph_cred *c = arg;

	if (skp_phstate_cred_find(st, c->id, sizeof(c->id)) != NULL)
		return SKP_ERR_EXISTS;
	if (st->ncreds == SKP_PH_MAX_CREDS) {
		skp_why(why, whylen,
		    "the phone holds %d keys already: delete one",
		    SKP_PH_MAX_CREDS);
		return SKP_ERR_TOO_LARGE;
	}
	st->creds[st->ncreds++] = *c;
	return SKP_OK;
}

int
skp_phstate_cred_add(struct skp_phstate *st, const struct skp_ph_cred *c,
    char *why, size_t whylen)
{
	return edit(st, FILE_CREDS, skp_phstate_decode_creds, encode_creds,
	    do_cred_add, c, why, whylen);
}

static int
do_cred_remove(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const uint8_t *id = arg;
	size_t i;

	for (i = 0; i < st->ncreds; i++) {
		if (memcmp(st->creds[i].id, id, SKP_PH_CRED_ID_LEN) != 0)
			continue;
		skp_wipe(&st->creds[i], sizeof(st->creds[i]));
		memmove(&st->creds[i], &st->creds[i + 1],
		    (st->ncreds - i - 1) * sizeof(st->creds[0]));
		st->ncreds--;
		skp_wipe(&st->creds[st->ncreds], sizeof(st->creds[0]));
		return SKP_OK;
	}
	skp_why(why, whylen, "no such key");
	return SKP_ERR_NOT_FOUND;
}

int
skp_phstate_cred_remove(struct skp_phstate *st,
    const uint8_t id[SKP_PH_CRED_ID_LEN], char *why, size_t whylen)
{
	return edit(st, FILE_CREDS, skp_phstate_decode_creds, encode_creds,
	    do_cred_remove, id, why, whylen);
}

struct counter_arg {
	const uint8_t	*id;
	uint32_t	*out;
};

static int
do_counter_next(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct counter_arg *a = arg;
	struct skp_ph_cred *c;

	if ((c = skp_phstate_cred_find(st, a->id, SKP_PH_CRED_ID_LEN)) ==
	    NULL) {
		skp_why(why, whylen, "the key was deleted");
		return SKP_ERR_NOT_FOUND;
	}
	if (c->counter == UINT32_MAX) {
		skp_why(why, whylen,
		    "the key's signature counter is exhausted");
		return SKP_ERR_LIMIT;
	}
	c->counter++;
	*a->out = c->counter;
	return SKP_OK;
}

int
skp_phstate_counter_next(struct skp_phstate *st,
    const uint8_t id[SKP_PH_CRED_ID_LEN], uint32_t *out, char *why,
    size_t whylen)
{
	struct counter_arg a = { id, out };

	return edit(st, FILE_COUNTERS, skp_phstate_decode_counters,
	    encode_counters, do_counter_next, &a, why, whylen);
}

struct seen_arg {
	const uint8_t	*id;
	const uint8_t	*tag;
	uint64_t	 req_ms;
	uint64_t	 now_ms;
	uint64_t	 keep_ms;
};

static int
tag_paired(const struct skp_phstate *st, const uint8_t *tag)
{
	static const uint8_t none[SKP_PH_SEEN_TAG_LEN];
	uint8_t t[SKP_PH_SEEN_TAG_LEN];
	size_t i;

	if (memcmp(tag, none, sizeof(none)) == 0)
		return 1;	/* an older phone's: kept until it expires */
	for (i = 0; i < st->ncomputers; i++) {
		skp_phstate_seen_tag(&st->computers[i], t);
		if (memcmp(t, tag, sizeof(t)) == 0)
			return 1;
	}
	return 0;
}

static int
do_seen_add(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct seen_arg *a = arg;
	uint64_t mono = boot_clock_ms(st);
	const struct skp_ph_seen *e;
	size_t i, o = 0, mine = 0;
	int rc = SKP_OK;

	(void)why;
	(void)whylen;
	for (i = 0; i < st->nseen; i++) {
		e = &st->seen[i];
		/* Forgotten only when both clocks say it is old. */
		if (mono - e->mono_ms >= a->keep_ms &&
		    a->now_ms >= e->req_ms && a->now_ms - e->req_ms >=
		    a->keep_ms)
			continue;
		/* An unpaired computer's: its requests no longer decrypt. */
		if (memcmp(e->tag, a->tag, SKP_PH_SEEN_TAG_LEN) != 0 &&
		    !tag_paired(st, e->tag))
			continue;
		if (memcmp(e->id, a->id, SKP_PH_REQ_ID_LEN) == 0)
			rc = SKP_ERR_REPLAY;
		if (memcmp(e->tag, a->tag, SKP_PH_SEEN_TAG_LEN) == 0)
			mine++;
		st->seen[o++] = *e;
	}
	st->nseen = o;
	if (rc != SKP_OK)
		return rc;
	if (mine >= SKP_PH_SEEN_SHARE || st->nseen == SKP_PH_MAX_SEEN)
		return SKP_ERR_LIMIT;
	memcpy(st->seen[st->nseen].id, a->id, SKP_PH_REQ_ID_LEN);
	memcpy(st->seen[st->nseen].tag, a->tag, SKP_PH_SEEN_TAG_LEN);
	st->seen[st->nseen].at_ms = a->now_ms;
	st->seen[st->nseen].req_ms = a->req_ms;
	st->seen[st->nseen].mono_ms = mono;
	st->nseen++;
	return SKP_OK;
}

int
skp_phstate_seen_add(struct skp_phstate *st, const struct skp_ph_computer *who,
    const uint8_t id[SKP_PH_REQ_ID_LEN], uint64_t req_ms, uint64_t now_ms,
    uint64_t keep_ms, char *why, size_t whylen)
{
	uint8_t tag[SKP_PH_SEEN_TAG_LEN];
	struct seen_arg a = { id, tag, req_ms, now_ms, keep_ms };

	memset(tag, 0, sizeof(tag));
	if (who != NULL)
		skp_phstate_seen_tag(who, tag);
	return edit(st, FILE_SEEN, skp_phstate_decode_seen, encode_seen,
	    do_seen_add, &a, why, whylen);
}

size_t
skp_phstate_seen_count(const struct skp_phstate *st,
    const struct skp_ph_computer *who)
{
	uint8_t tag[SKP_PH_SEEN_TAG_LEN];
	size_t i, n = 0;

	memset(tag, 0, sizeof(tag));
	if (who != NULL)
		skp_phstate_seen_tag(who, tag);
	for (i = 0; i < st->nseen; i++)
		n += memcmp(st->seen[i].tag, tag, sizeof(tag)) == 0;
	return n;
}

/* ---- the wrong-PIN count ---- */

static int
do_pin_failed(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	(void)arg;
	(void)why;
	(void)whylen;
	if (st->pin_failures < SKP_PH_PIN_FAILURES_MAX)
		st->pin_failures++;
	return SKP_OK;
}

int
skp_phstate_pin_failed(struct skp_phstate *st, char *why, size_t whylen)
{
	return edit(st, FILE_PIN, skp_phstate_decode_pin, encode_pin,
	    do_pin_failed, NULL, why, whylen);
}

static int
do_pin_reset(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	(void)arg;
	(void)why;
	(void)whylen;
	st->pin_failures = 0;
	return SKP_OK;
}

int
skp_phstate_pin_reset(struct skp_phstate *st, char *why, size_t whylen)
{
	return edit(st, FILE_PIN, skp_phstate_decode_pin, encode_pin,
	    do_pin_reset, NULL, why, whylen);
}

/* ---- host pins and windows ---- */

const struct skp_ph_host *
skp_phstate_host_find(const struct skp_phstate *st, const char *name,
    const char *type)
{
	size_t i;

	for (i = 0; i < st->nhosts; i++)
		if (strcmp(st->hosts[i].name, name) == 0 &&
		    strcmp(st->hosts[i].type, type) == 0)
			return &st->hosts[i];
	return NULL;
}

size_t
skp_phstate_host_count(const struct skp_phstate *st, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < st->nhosts; i++)
		if (strcmp(st->hosts[i].name, name) == 0)
			n++;
	return n;
}

uint64_t
skp_phstate_host_window(const struct skp_phstate *st, const char *computer,
    const char *name)
{
	size_t i;

	for (i = 0; i < st->nhwins; i++)
		if (strcmp(st->hwins[i].computer, computer) == 0 &&
		    strcmp(st->hwins[i].host, name) == 0)
			return st->hwins[i].until;
	return 0;
}

struct pin_arg {
	const char	*name;
	const uint8_t	*key;
	size_t		 keylen;
	const char	*type;
	uint64_t	 now;
	const char	*computer;
};

static int
do_host_pin(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct pin_arg *a = arg;
	const struct skp_ph_host *old;
	struct skp_ph_host *h;

	if ((old = skp_phstate_host_find(st, a->name, a->type)) != NULL) {
		if (old->key_len == a->keylen &&
		    memcmp(old->key, a->key, a->keylen) == 0)
			return SKP_OK;
		skp_why(why, whylen, "another %s key is pinned for %s", a->type,
		    a->name);
		return SKP_ERR_HOSTKEY;
	}
	if (st->nhosts == SKP_PH_MAX_HOSTS) {
		skp_why(why, whylen, "the phone pins %d host keys already: "
		    "forget one (hosts forget NAME)", SKP_PH_MAX_HOSTS);
		return SKP_ERR_TOO_LARGE;
	}
	h = &st->hosts[st->nhosts++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", a->name);
	memcpy(h->key, a->key, a->keylen);
	h->key_len = a->keylen;
	h->type = a->type;
	h->pinned_at = a->now;
	snprintf(h->pinned_by, sizeof(h->pinned_by), "%s", a->computer);
	return SKP_OK;
}

int
skp_phstate_host_pin(struct skp_phstate *st, const char *name,
    const uint8_t *key, size_t keylen, uint64_t now, const char *computer,
    char *why, size_t whylen)
{
	struct pin_arg a = { name, key, keylen, NULL, now, computer };

	if (!skp_phstate_host_name_ok(name) || keylen == 0 ||
	    keylen > SKP_PH_HOST_KEY_MAX ||
	    skp_pairuri_check_name(computer, strlen(computer)) != SKP_OK ||
	    skp_hostkey_check(key, keylen, &a.type) != SKP_OK) {
		skp_why(why, whylen, "cannot pin this host key");
		return SKP_ERR_INVALID;
	}
	return edit(st, FILE_HOSTS, skp_phstate_decode_hosts, encode_hosts,
	    do_host_pin, &a, why, whylen);
}

/* Drop the windows matching computer and/or host (NULL: any). */
static size_t
drop_windows(struct skp_phstate *st, const char *computer, const char *host)
{
	size_t i, o = 0, n;

	for (i = 0; i < st->nhwins; i++) {
		if ((computer == NULL ||
		    strcmp(st->hwins[i].computer, computer) == 0) &&
		    (host == NULL || strcmp(st->hwins[i].host, host) == 0))
			continue;
		st->hwins[o++] = st->hwins[i];
	}
	n = st->nhwins - o;
	st->nhwins = o;
	return n;
}

static int
do_host_forget(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const char *name = arg;
	size_t i, o = 0, gone;

	for (i = 0; i < st->nhosts; i++) {
		if (strcmp(st->hosts[i].name, name) == 0)
			continue;
		st->hosts[o++] = st->hosts[i];
	}
	gone = st->nhosts - o;
	st->nhosts = o;
	gone += drop_windows(st, NULL, name);
	if (gone == 0) {
		skp_why(why, whylen, "no host key is pinned for %s", name);
		return SKP_ERR_NOT_FOUND;
	}
	return SKP_OK;
}

int
skp_phstate_host_forget(struct skp_phstate *st, const char *name, char *why,
    size_t whylen)
{
	if (!skp_phstate_host_name_ok(name)) {
		skp_why(why, whylen,
		    "%s is not a host name as the phone pins it "
		    "(\"host\", or \"[host]:port\" for another port than 22)",
		    name);
		return SKP_ERR_INVALID;
	}
	return edit(st, FILE_HOSTS, skp_phstate_decode_hosts, encode_hosts,
	    do_host_forget, name, why, whylen);
}

struct hwin_arg {
	const char	*computer;
	const char	*name;
	uint64_t	 until;
	uint64_t	 now;
};

static int
do_host_window_set(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct hwin_arg *a = arg;
	struct skp_ph_host_window *w;
	size_t i, o = 0, first;

	(void)why;
	(void)whylen;
	/* Past windows go; so does this pair's old one. */
	for (i = 0; i < st->nhwins; i++) {
		w = &st->hwins[i];
		if (w->until <= a->now || (strcmp(w->computer,
		    a->computer) == 0 && strcmp(w->host, a->name) == 0))
			continue;
		st->hwins[o++] = *w;
	}
	st->nhwins = o;
	if (st->nhwins == SKP_PH_MAX_HOST_WINDOWS) {
		/* Full of open windows: the one that ends first makes room. */
		for (i = 1, first = 0; i < st->nhwins; i++)
			if (st->hwins[i].until < st->hwins[first].until)
				first = i;
		st->hwins[first] = st->hwins[--st->nhwins];
	}
	w = &st->hwins[st->nhwins++];
	memset(w, 0, sizeof(*w));
	snprintf(w->computer, sizeof(w->computer), "%s", a->computer);
	snprintf(w->host, sizeof(w->host), "%s", a->name);
	w->until = a->until;
	return SKP_OK;
}

int
skp_phstate_host_window_set(struct skp_phstate *st, const char *computer,
    const char *name, uint64_t until, uint64_t now, char *why, size_t whylen)
{
	struct hwin_arg a = { computer, name, until, now };

	if (!skp_phstate_host_name_ok(name) ||
	    skp_pairuri_check_name(computer, strlen(computer)) != SKP_OK) {
		skp_why(why, whylen, "bad host or computer name");
		return SKP_ERR_INVALID;
	}
	return edit(st, FILE_HOSTS, skp_phstate_decode_hosts, encode_hosts,
	    do_host_window_set, &a, why, whylen);
}

static int
do_host_window_clear(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	(void)why;
	(void)whylen;
	(void)drop_windows(st, arg, NULL);
	return SKP_OK;
}

int
skp_phstate_host_window_clear(struct skp_phstate *st, const char *computer,
    char *why, size_t whylen)
{
	return edit(st, FILE_HOSTS, skp_phstate_decode_hosts, encode_hosts,
	    do_host_window_clear, computer, why, whylen);
}

/* ---- fingerprints ---- */

int
skp_phstate_key_blob(const struct skp_ph_cred *c, skp_buf_t *b)
{
	static const char ecdsa[] = SKP_PH_SK_ECDSA;
	static const char ed25519[] = SKP_PH_SK_ED25519;
	int rc;

	if (c->alg == SKP_COSE_ALG_EDDSA) {
		if ((rc = skp_buf_string(b, ed25519, strlen(ed25519))) !=
		    SKP_OK ||
		    (rc = skp_buf_string(b, c->ed.pub,
		    SKP_ED25519_PUB_LEN)) != SKP_OK)
			return rc;
	} else if ((rc = skp_buf_string(b, ecdsa, strlen(ecdsa))) != SKP_OK ||
	    (rc = skp_buf_string(b, "nistp256", 8)) != SKP_OK ||
	    (rc = skp_buf_string(b, c->key.pub, SKP_P256_PUB_LEN)) != SKP_OK)
		return rc;
	return skp_buf_string(b, c->rp, strlen(c->rp));
}

int
skp_phstate_fingerprint(const struct skp_ph_cred *c, char *out,
    size_t outlen)
{
	uint8_t h[SKP_SHA256_LEN];
	unsigned char b64[64];
	skp_buf_t *b = NULL;
	int rc, n;

	if ((b = skp_buf_new(1024)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_phstate_key_blob(c, b)) != SKP_OK ||
	    (rc = skp_sha256(skp_buf_ptr(b), skp_buf_len(b), h)) != SKP_OK)
		goto out;
	n = EVP_EncodeBlock(b64, h, sizeof(h));
	/* OpenSSH shows it without the padding. */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n < 0 ? 0 : n] = '\0';
	if (snprintf(out, outlen, "SHA256:%s", b64) >= (int)outlen)
		rc = SKP_ERR_TOO_LARGE;
 out:
	skp_buf_free(&b);
	return rc;
}

/* ---- mailbox rotation ---- */

size_t
skp_phstate_mailbox_untold(const struct skp_phstate *st)
{
	size_t i, n = 0;

	for (i = 0; i < st->ncomputers; i++)
		if (st->computers[i].tell_mailbox)
			n++;
	return n;
}

/* Under the lock: identity and computers as on disk. */
static int
load_rotation(struct skp_phstate *st, char *why, size_t whylen)
{
	int rc;

	if ((rc = load_identity(st, why, whylen)) != SKP_OK)
		return rc;
	if (!st->have_identity) {
		skp_why(why, whylen, "this phone has no mailbox yet: pair it "
		    "with a computer first");
		return SKP_ERR_NOT_FOUND;
	}
	return load_file(st, FILE_COMPUTERS, skp_phstate_decode_computers,
	    why, whylen);
}

/* Drop the old mailbox; the computers file first loses its flags. */
static int
drop_old(struct skp_phstate *st, char *why, size_t whylen)
{
	size_t i;
	int rc, changed = 0;

	for (i = 0; i < st->ncomputers; i++) {
		changed |= st->computers[i].tell_mailbox;
		st->computers[i].tell_mailbox = 0;
	}
	if (changed && (rc = save_file(st, FILE_COMPUTERS, encode_computers,
	    why, whylen)) != SKP_OK)
		return rc;
	if (!st->have_old_mailbox)
		return SKP_OK;
	st->have_old_mailbox = 0;
	skp_wipe(&st->old_mailbox_key, sizeof(st->old_mailbox_key));
	memset(st->old_mailbox_id, 0, sizeof(st->old_mailbox_id));
	return save_file(st, FILE_IDENTITY, encode_identity, why, whylen);
}

static void
rotation_failed(struct skp_phstate *st)
{
	files_forget(st);
	(void)load_identity(st, NULL, 0);
	(void)skp_phstate_reload(st, NULL, 0);
}

int
skp_phstate_mailbox_rotate(struct skp_phstate *st, char *why, size_t whylen)
{
	struct skp_p256_key nk;
	uint8_t nid[SKP_MAILBOX_ID_LEN];
	size_t i;
	int lfd = -1, rc;

	memset(&nk, 0, sizeof(nk));
	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		return rc;
	if ((rc = load_rotation(st, why, whylen)) != SKP_OK)
		goto out;
	if (st->have_old_mailbox) {
		skp_why(why, whylen, "the last rotation is still pending (%zu "
		    "computer%s not told): wait for them, or run "
		    "'sk-phone-authenticator mailbox rotate --finish'",
		    skp_phstate_mailbox_untold(st),
		    skp_phstate_mailbox_untold(st) == 1 ? "" : "s");
		rc = SKP_ERR_EXISTS;
		goto out;
	}
	if ((rc = skp_p256_generate(&nk)) != SKP_OK ||
	    (rc = skp_relay_mailbox_id(nk.pub, nid)) != SKP_OK)
		goto out;
	/*
	 * The flags first: a crash before the identity is written leaves
	 * computers to be told of the mailbox they already know, which
	 * costs nothing; the other order could lose them the phone.
	 */
	for (i = 0; i < st->ncomputers; i++)
		st->computers[i].tell_mailbox = 1;
	if (st->ncomputers > 0 && (rc = save_file(st, FILE_COMPUTERS,
	    encode_computers, why, whylen)) != SKP_OK)
		goto out;
	if (st->ncomputers > 0) {
		st->old_mailbox_key = st->mailbox_key;
		memcpy(st->old_mailbox_id, st->mailbox_id, sizeof(nid));
		st->have_old_mailbox = 1;
	}
	st->mailbox_key = nk;
	memcpy(st->mailbox_id, nid, sizeof(nid));
	rc = save_file(st, FILE_IDENTITY, encode_identity, why, whylen);
 out:
	unlock_dir(&lfd);
	skp_wipe(&nk, sizeof(nk));
	if (rc != SKP_OK && rc != SKP_ERR_EXISTS)
		rotation_failed(st);
	return rc;
}

int
skp_phstate_mailbox_finish(struct skp_phstate *st, char *why, size_t whylen)
{
	int lfd = -1, rc;

	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		return rc;
	if ((rc = load_rotation(st, why, whylen)) != SKP_OK)
		goto out;
	rc = drop_old(st, why, whylen);
 out:
	unlock_dir(&lfd);
	if (rc != SKP_OK)
		rotation_failed(st);
	return rc;
}

int
skp_phstate_mailbox_told(struct skp_phstate *st, const char *name,
    const uint8_t via[SKP_MAILBOX_ID_LEN], int *dropped, char *why,
    size_t whylen)
{
	struct skp_ph_computer *c;
	uint8_t came[SKP_MAILBOX_ID_LEN];
	int lfd = -1, rc;

	/* A copy: via may point into st, which the loads below rewrite. */
	memcpy(came, via, sizeof(came));
	if (dropped != NULL)
		*dropped = 0;
	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		return rc;
	if ((rc = load_rotation(st, why, whylen)) != SKP_OK)
		goto out;
	/*
	 * Only a call to the current mailbox shows that the computer knows
	 * it: one to a mailbox rotated away since (a `run` started before
	 * the rotation) tells nothing.
	 */
	if (memcmp(came, st->mailbox_id, SKP_MAILBOX_ID_LEN) != 0)
		goto out;
	if ((c = skp_phstate_computer_find(st, name)) != NULL &&
	    c->tell_mailbox) {
		c->tell_mailbox = 0;
		if ((rc = save_file(st, FILE_COMPUTERS, encode_computers, why,
		    whylen)) != SKP_OK)
			goto out;
	}
	if (st->have_old_mailbox && skp_phstate_mailbox_untold(st) == 0) {
		if ((rc = drop_old(st, why, whylen)) != SKP_OK)
			goto out;
		if (dropped != NULL)
			*dropped = 1;
	}
 out:
	unlock_dir(&lfd);
	if (rc != SKP_OK)
		rotation_failed(st);
	return rc;
}

/* ---- restore ---- */

/* A sealed file's payload opens with st's key and decodes. */
static int
sealed_ok(struct skp_phstate *st, const char *name, const skp_buf_t *raw)
{
	decode_fn fn;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	int rc;

	if (strcmp(name, FILE_IDENTITY) == 0)
		fn = skp_phstate_decode_identity;
	else if (strcmp(name, FILE_COMPUTERS) == 0)
		fn = skp_phstate_decode_computers;
	else
		fn = skp_phstate_decode_creds;
	if ((rc = skp_phstate_open_sealed(st->key, name, skp_buf_ptr(raw),
	    skp_buf_len(raw), &pt, &ptlen)) == SKP_OK)
		rc = fn(st, pt, ptlen);
	if (pt != NULL) {
		skp_wipe(pt, ptlen);
		free(pt);
	}
	return rc;
}

/* The payload of the "kdf" file gives the storage key of passfile. */
static int
kdf_opens(const skp_buf_t *raw, const char *passfile, char *why,
    size_t whylen)
{
	uint8_t salt[KDF_SALT_LEN], want[SKP_SHA256_LEN], check[SKP_SHA256_LEN];
	uint8_t key[SKP_PH_KEY_LEN];
	char pass[PASS_MAX];
	uint64_t log2n, r, p;
	size_t passlen = 0;
	int rc;

	if ((rc = kdf_decode(skp_buf_ptr(raw), skp_buf_len(raw), salt, &log2n,
	    &r, &p, want)) != SKP_OK || passfile == NULL)
		goto out;
	if ((rc = read_passphrase(passfile, pass, sizeof(pass), &passlen, why,
	    whylen)) != SKP_OK ||
	    (rc = scrypt(pass, passlen, salt, sizeof(salt),
	    (unsigned int)log2n, (unsigned int)r, (unsigned int)p, key,
	    sizeof(key))) != SKP_OK ||
	    (rc = kdf_check(key, check)) != SKP_OK)
		goto out;
	if (!skp_ct_equal(check, want, sizeof(check)))
		rc = SKP_ERR_DECRYPT;
 out:
	skp_wipe(pass, sizeof(pass));
	skp_wipe(key, sizeof(key));
	skp_wipe(check, sizeof(check));
	return rc;
}

int
skp_phstate_restore(const char *dir, const char *passfile, const char *name,
    int *kept, char *why, size_t whylen)
{
	const struct file_kind *k = file_kind(name);
	struct skp_phstate *st = NULL;
	skp_buf_t *last = NULL, *cur = NULL, *id = NULL;
	char side[SIDE_NAME_MAX], path[4096 + SIDE_NAME_MAX + 2];
	uint8_t key[SKP_PH_KEY_LEN];
	int lfd = -1, dfd = -1, rc, cur_ok = 0;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	*kept = 0;
	if (k == NULL || !k->keys) {
		if (k != NULL)
			skp_why(why, whylen, "%s holds no keys, so no last "
			    "good copy is kept of it; when it is damaged, %s "
			    "(rm %s/%s)", name, k->cost, dir, name);
		else
			skp_why(why, whylen, "restore takes a file that holds "
			    "keys: masterkey, kdf, identity, computers or "
			    "credentials");
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((rc = skp_phstate_check_moved(dir, why, whylen)) != SKP_OK)
		goto out;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if (strlen(dir) >= sizeof(st->dir) - SIDE_NAME_MAX - 2) {
		skp_why(why, whylen, "state folder path too long");
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	if ((rc = skp_store_dir_check(dir, 0, why, whylen)) != SKP_OK ||
	    (rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		goto out;
	snprintf(side, sizeof(side), "%s" LAST_SUFFIX, name);
	if ((rc = last_read(dir, name, &last, why, whylen)) != SKP_OK) {
		if (rc == SKP_ERR_NOT_FOUND)
			skp_why(why, whylen, "there is no last good copy "
			    "%s/%s: put %s back from a backup of %s", dir, side,
			    name, dir);
		goto out;
	}
	/* Each copy checked as the phone reads it: the last one must. */
	if (strcmp(name, FILE_MASTERKEY) == 0) {
		if ((rc = masterkey_decode(skp_buf_ptr(last),
		    skp_buf_len(last), st->key)) != SKP_OK)
			goto last_bad;
		/* This state's key: it opens the identity (when readable). */
		if (skp_store_read(dir, FILE_IDENTITY, &id, NULL, 0) ==
		    SKP_OK && (rc = sealed_ok(st, FILE_IDENTITY, id)) !=
		    SKP_OK) {
			skp_why(why, whylen, "%s/%s does not open %s/%s: it is "
			    "not this state's key; put %s back from a backup "
			    "of %s", dir, side, dir, FILE_IDENTITY, name, dir);
			goto out;
		}
		cur_ok = skp_store_read(dir, name, &cur, NULL, 0) == SKP_OK &&
		    masterkey_decode(skp_buf_ptr(cur), skp_buf_len(cur),
		    key) == SKP_OK;
	} else if (strcmp(name, FILE_KDF) == 0) {
		if ((rc = kdf_opens(last, passfile, why, whylen)) ==
		    SKP_ERR_DECRYPT) {
			skp_why(why, whylen, "the passphrase does not open "
			    "%s/%s", dir, side);
			goto out;
		}
		if (rc != SKP_OK)
			goto last_bad;
		cur_ok = skp_store_read(dir, name, &cur, NULL, 0) == SKP_OK &&
		    kdf_opens(cur, NULL, NULL, 0) == SKP_OK;
	} else {
		if ((rc = passfile != NULL ?
		    key_from_passphrase(st, passfile, 0, why, whylen) :
		    key_from_file(st, 0, why, whylen)) != SKP_OK)
			goto out;
		if ((rc = sealed_ok(st, name, last)) != SKP_OK)
			goto last_bad;
		cur_ok = skp_store_read(dir, name, &cur, NULL, 0) == SKP_OK &&
		    sealed_ok(st, name, cur) == SKP_OK;
	}
	if (cur_ok) {
		skp_why(why, whylen, "%s/%s reads fine: nothing to restore "
		    "(its last good copy is %s/%s)", dir, name, dir, side);
		rc = SKP_ERR_EXISTS;
		goto out;
	}
	/* The damaged file is kept aside, never removed. */
	snprintf(side, sizeof(side), "%s" DAMAGED_SUFFIX, name);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
	    renameat(dfd, name, dfd, side) == 0)
		*kept = 1;
	else if (dfd < 0 || errno != ENOENT) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		skp_why(why, whylen, "cannot move %s aside: %s", path,
		    strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	rc = skp_store_write(dir, name, skp_buf_ptr(last), skp_buf_len(last),
	    SKP_STORE_NOREPLACE, why, whylen);
	goto out;
 last_bad:
	skp_why(why, whylen, "the last good copy %s/%s cannot be used either "
	    "(%s): put %s back from a backup of %s", dir, side,
	    skp_strerror(rc), name, dir);
 out:
	if (dfd >= 0)
		close(dfd);
	unlock_dir(&lfd);
	skp_wipe(key, sizeof(key));
	skp_buf_free(&last);
	skp_buf_free(&cur);
	skp_buf_free(&id);
	skp_phstate_free(&st);
	return rc;
}

/* ---- host CAs ---- */

struct ca_arg {
	const char	*pattern;
	const uint8_t	*key;
	size_t		 keylen;
	const char	*fp;
	uint64_t	 now;
	size_t		*removed;
};

static int
do_ca_add(struct skp_phstate *st, const void *arg, char *why, size_t whylen)
{
	const struct ca_arg *a = arg;
	struct skp_ph_ca c;
	size_t i;

	memset(&c, 0, sizeof(c));
	snprintf(c.pattern, sizeof(c.pattern), "%s", a->pattern);
	memcpy(c.key, a->key, a->keylen);
	c.key_len = a->keylen;
	c.added_at = a->now;
	if (skp_hostkey_check(c.key, c.key_len, &c.type) != SKP_OK)
		return SKP_ERR_INVALID;
	for (i = 0; i < st->ncas; i++)
		if (same_ca(&st->cas[i], &c)) {
			skp_why(why, whylen, "this CA is already trusted for "
			    "%s", a->pattern);
			return SKP_ERR_EXISTS;
		}
	if (st->ncas == SKP_PH_MAX_CAS) {
		skp_why(why, whylen, "the phone trusts %d host CAs already: "
		    "remove one (hosts distrust-ca)", SKP_PH_MAX_CAS);
		return SKP_ERR_TOO_LARGE;
	}
	st->cas[st->ncas++] = c;
	return SKP_OK;
}

int
skp_phstate_ca_add(struct skp_phstate *st, const char *pattern,
    const uint8_t *key, size_t keylen, uint64_t now, char *why,
    size_t whylen)
{
	struct ca_arg a = { pattern, key, keylen, NULL, now, NULL };

	if (!skp_hostcert_pattern_ok(pattern)) {
		skp_why(why, whylen, "%s is not a host pattern (known_hosts "
		    "syntax: a comma list of host names with * and ?, each "
		    "possibly negated with !, at most %d bytes, no spaces)",
		    pattern, SKP_HOSTCERT_PATTERN_MAX);
		return SKP_ERR_INVALID;
	}
	if (key == NULL || keylen == 0 || keylen > SKP_PH_HOST_KEY_MAX ||
	    skp_hostkey_check(key, keylen, NULL) != SKP_OK) {
		skp_why(why, whylen, "not a CA key the phone can check (an "
		    "ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa "
		    "public key)");
		return SKP_ERR_INVALID;
	}
	return edit(st, FILE_CAS, skp_phstate_decode_cas, encode_cas,
	    do_ca_add, &a, why, whylen);
}

static int
ca_is(const struct skp_ph_ca *c, const struct ca_arg *a)
{
	char fp[SKP_HOSTKEY_FP_LEN];

	if (a->pattern != NULL && strcmp(c->pattern, a->pattern) != 0)
		return 0;
	if (a->key != NULL)
		return c->key_len == a->keylen &&
		    memcmp(c->key, a->key, a->keylen) == 0;
	return skp_hostkey_fingerprint(c->key, c->key_len, fp) == SKP_OK &&
	    strcmp(fp, a->fp) == 0;
}

static int
do_ca_remove(struct skp_phstate *st, const void *arg, char *why,
    size_t whylen)
{
	const struct ca_arg *a = arg;
	size_t i, o = 0;

	for (i = 0; i < st->ncas; i++) {
		if (ca_is(&st->cas[i], a))
			continue;
		st->cas[o++] = st->cas[i];
	}
	*a->removed = st->ncas - o;
	st->ncas = o;
	if (*a->removed == 0) {
		skp_why(why, whylen, "no such CA is trusted%s%s (see "
		    "sk-phone-authenticator hosts)", a->pattern != NULL ?
		    " for " : "", a->pattern != NULL ? a->pattern : "");
		return SKP_ERR_NOT_FOUND;
	}
	return SKP_OK;
}

int
skp_phstate_ca_remove(struct skp_phstate *st, const uint8_t *key,
    size_t keylen, const char *fp, const char *pattern, size_t *removed,
    char *why, size_t whylen)
{
	struct ca_arg a = { pattern, key, keylen, fp, 0, removed };

	*removed = 0;
	if ((key == NULL && fp == NULL) || (key != NULL && keylen == 0)) {
		skp_why(why, whylen, "no CA key or fingerprint given");
		return SKP_ERR_INVALID;
	}
	return edit(st, FILE_CAS, skp_phstate_decode_cas, encode_cas,
	    do_ca_remove, &a, why, whylen);
}

const struct skp_ph_ca *
skp_phstate_ca_trusted(const struct skp_phstate *st, const uint8_t *key,
    size_t keylen, const char *name)
{
	size_t i;

	for (i = 0; i < st->ncas; i++)
		if (st->cas[i].key_len == keylen &&
		    memcmp(st->cas[i].key, key, keylen) == 0 &&
		    skp_hostcert_pattern_match(st->cas[i].pattern, name))
			return &st->cas[i];
	return NULL;
}

/* ---- moving the state to another phone (PROTOCOL.md section 10) ---- */

#define FILE_MOVED	"moved"
#define FILE_PENDING	"transfer-pending"
#define PAYLOAD_KEYS	9

/* The files a transfer moves, in the payload's key order (2..8). */
static const struct {
	const char	*name;
	decode_fn	 dec;
	encode_fn	 enc;
} moved_files[] = {
	{ FILE_IDENTITY, skp_phstate_decode_identity, encode_identity },
	{ FILE_COMPUTERS, skp_phstate_decode_computers, encode_computers },
	{ FILE_CREDS, skp_phstate_decode_creds, encode_creds },
	{ FILE_COUNTERS, skp_phstate_decode_counters, encode_counters },
	{ FILE_HOSTS, skp_phstate_decode_hosts, encode_hosts },
	{ FILE_CAS, skp_phstate_decode_cas, encode_cas },
	{ FILE_PIN, skp_phstate_decode_pin, encode_pin },
};

/* Approvals stay with the device they were given on. */
static void
close_windows(struct skp_phstate *st)
{
	size_t i;

	for (i = 0; i < st->ncomputers; i++) {
		st->computers[i].window_until = 0;
		memset(st->computers[i].win_ns, 0,
		    sizeof(st->computers[i].win_ns));
		st->computers[i].nwin_ns = 0;
	}
	memset(st->hwins, 0, sizeof(st->hwins));
	st->nhwins = 0;
}

/* a9, then each key's byte and its map: canonical as a whole. */
static int
payload_build(const struct skp_phstate *st, uint64_t now, skp_buf_t *b)
{
	uint8_t *p = NULL, *t = NULL, k;
	size_t n = 0, tn = 0, i;
	cbor_item_t *u;
	int rc;

	k = 0xa0 | PAYLOAD_KEYS;
	if ((rc = skp_buf_put(b, &k, 1)) != SKP_OK ||
	    (rc = skp_buf_put(b, "\x01\x01", 2)) != SKP_OK)
		return rc;
	for (i = 0; i < nitems(moved_files) && rc == SKP_OK; i++) {
		k = (uint8_t)(i + 2);
		if ((rc = moved_files[i].enc(st, &p, &n)) == SKP_OK &&
		    (rc = skp_buf_put(b, &k, 1)) == SKP_OK)
			rc = skp_buf_put(b, p, n);
		if (p != NULL) {
			skp_wipe(p, n);
			free(p);
			p = NULL;
		}
	}
	if (rc != SKP_OK)
		return rc;
	if ((u = skp_cbor_uint(now)) == NULL)
		return SKP_ERR_NOMEM;
	k = PAYLOAD_KEYS;
	if ((rc = skp_cbor_encode(u, 16, &t, &tn)) == SKP_OK &&
	    (rc = skp_buf_put(b, &k, 1)) == SKP_OK)
		rc = skp_buf_put(b, t, tn);
	free(t);
	skp_cbor_free(&u);
	if (rc == SKP_OK && skp_buf_len(b) > SKP_TRANSFER_PAYLOAD_MAX)
		rc = SKP_ERR_TOO_LARGE;
	return rc;
}

/* The folder lock, and everything read again under it. */
static int
lock_load_all(struct skp_phstate *st, int *lfd, char *why, size_t whylen)
{
	int rc;

	if ((rc = lock_dir(st, lfd, why, whylen)) == SKP_OK &&
	    (rc = load_identity(st, why, whylen)) == SKP_OK)
		rc = reload_locked(st, why, whylen);
	return rc;
}

int
skp_phstate_export(struct skp_phstate *st, uint64_t now, uint8_t **out,
    size_t *outlen, char *why, size_t whylen)
{
	struct skp_phstate *c = NULL;
	skp_buf_t *b = NULL;
	int lfd = -1, rc;

	if ((rc = lock_load_all(st, &lfd, why, whylen)) != SKP_OK)
		goto out;
	if (!st->have_identity) {
		skp_why(why, whylen, "nothing to move: this phone was never "
		    "paired (%s holds no identity)", st->dir);
		rc = SKP_ERR_NOT_PAIRED;
		goto out;
	}
	if (st->mailbox_migrated) {
		skp_why(why, whylen, "this phone's identity is of protocol "
		    "1: run sk-phone-authenticator run once (it saves the new "
		    "mailbox), then transfer");
		rc = SKP_ERR_OLD_VERSION;
		goto out;
	}
	/* A copy: the windows close in what moves, not on this phone. */
	if ((c = malloc(sizeof(*c))) == NULL ||
	    (b = skp_buf_new(SKP_TRANSFER_PAYLOAD_MAX + 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	memcpy(c, st, sizeof(*c));
	memset(c->files, 0, sizeof(c->files));
	close_windows(c);
	if ((rc = payload_build(c, now, b)) != SKP_OK) {
		if (rc == SKP_ERR_TOO_LARGE)
			skp_why(why, whylen, "this phone's state is larger "
			    "than a transfer carries (%d bytes): forget some "
			    "host pins first (sk-phone-authenticator hosts "
			    "forget NAME)", SKP_TRANSFER_PAYLOAD_MAX);
		else
			skp_why(why, whylen, "cannot encode the state: %s",
			    skp_strerror(rc));
		goto out;
	}
	if ((*out = malloc(skp_buf_len(b))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, skp_buf_ptr(b), skp_buf_len(b));
	*outlen = skp_buf_len(b);
 out:
	unlock_dir(&lfd);
	if (c != NULL) {
		skp_wipe(c, sizeof(*c));
		free(c);
	}
	skp_buf_free(&b);
	return rc;
}

int
skp_phstate_payload_decode(struct skp_phstate *st, const uint8_t *p,
    size_t n, uint64_t *sent_at)
{
	static const int64_t keys[PAYLOAD_KEYS] = { 1, 2, 3, 4, 5, 6, 7, 8,
	    9 };
	cbor_item_t *m = NULL, *it;
	uint8_t *inner = NULL;
	size_t innerlen = 0, i;
	skp_buf_t *b = NULL;
	uint64_t v;
	int rc;

	if ((rc = skp_cbor_load_map(p, n, SKP_TRANSFER_PAYLOAD_MAX, keys,
	    nitems(keys), &m)) != SKP_OK ||
	    (rc = get_uint(m, 1, &v)) != SKP_OK)
		goto out;
	if (v != 1) {
		rc = v > 1 ? SKP_ERR_VERSION : SKP_ERR_FORMAT;
		goto out;
	}
	/* Credentials before counters: the counters attach to them. */
	for (i = 0; i < nitems(moved_files); i++) {
		if ((rc = skp_cbor_map_get(m, (int64_t)i + 2, CBOR_TYPE_MAP,
		    &it)) != SKP_OK ||
		    (rc = skp_cbor_encode(it, INNER_MAX, &inner, &innerlen)) !=
		    SKP_OK)
			goto out;
		rc = moved_files[i].dec(st, inner, innerlen);
		skp_wipe(inner, innerlen);
		free(inner);
		inner = NULL;
		if (rc != SKP_OK)
			goto out;
	}
	if ((rc = get_uint(m, PAYLOAD_KEYS, &v)) != SKP_OK)
		goto out;
	/* Of protocol 2 only, and with every window closed. */
	if (st->mailbox_migrated || st->nhwins != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	for (i = 0; i < st->ncomputers; i++)
		if (st->computers[i].window_until != 0 ||
		    st->computers[i].nwin_ns != 0) {
			rc = SKP_ERR_FORMAT;
			goto out;
		}
	/*
	 * One spelling of one state: built again, the same bytes (a
	 * counter of a credential that is not there, which a file may
	 * hold, is refused here).
	 */
	if ((b = skp_buf_new(SKP_TRANSFER_PAYLOAD_MAX + 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = payload_build(st, v, b)) != SKP_OK ||
	    skp_buf_len(b) != n || memcmp(skp_buf_ptr(b), p, n) != 0) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if (sent_at != NULL)
		*sent_at = v;
 out:
	skp_buf_free(&b);
	files_forget(st);
	skp_cbor_free(&m);
	return fix_rc(rc);
}

/* No identity, pairing nor key: a phone a transfer may fill. */
int
skp_phstate_is_empty(const struct skp_phstate *st)
{
	return !st->have_identity && st->ncomputers == 0 && st->ncreds == 0;
}

int
skp_phstate_import(struct skp_phstate *st, const uint8_t *p, size_t n,
    char *why, size_t whylen)
{
	size_t i;
	int lfd = -1, rc;

	if ((rc = lock_load_all(st, &lfd, why, whylen)) != SKP_OK)
		goto out;
	if (!skp_phstate_is_empty(st)) {
		skp_why(why, whylen, "%s has a phone's state already: a "
		    "transfer would replace it; receive into an empty folder "
		    "(--state)", st->dir);
		rc = SKP_ERR_EXISTS;
		goto out;
	}
	if ((rc = skp_phstate_payload_decode(st, p, n, NULL)) != SKP_OK) {
		skp_why(why, whylen, "the state received does not decode: %s",
		    skp_strerror(rc));
		goto out;
	}
	/* The identity last: until it is there, this is no phone. */
	for (i = nitems(moved_files); i-- > 0 && rc == SKP_OK; )
		rc = save_file(st, moved_files[i].name, moved_files[i].enc,
		    why, whylen);
 out:
	unlock_dir(&lfd);
	files_forget(st);
	if (rc != SKP_OK)
		(void)skp_phstate_reload(st, NULL, 0);
	return rc;
}

int
skp_phstate_pending_save(struct skp_phstate *st, const uint8_t *p, size_t n,
    char *why, size_t whylen)
{
	uint8_t *sealed = NULL;
	size_t sealedlen = 0;
	int rc;

	if ((rc = skp_phstate_seal(st->key, FILE_PENDING, p, n, &sealed,
	    &sealedlen)) != SKP_OK) {
		skp_why(why, whylen, "%s: %s", FILE_PENDING, skp_strerror(rc));
		return rc;
	}
	rc = skp_store_write(st->dir, FILE_PENDING, sealed, sealedlen, 0, why,
	    whylen);
	free(sealed);
	return rc;
}

int
skp_phstate_pending_load(struct skp_phstate *st, uint8_t **p, size_t *n,
    char *why, size_t whylen)
{
	skp_buf_t *raw = NULL;
	int rc;

	if ((rc = skp_store_read(st->dir, FILE_PENDING, &raw, why, whylen)) ==
	    SKP_OK &&
	    (rc = skp_phstate_open_sealed(st->key, FILE_PENDING,
	    skp_buf_ptr(raw), skp_buf_len(raw), p, n)) != SKP_OK)
		skp_why(why, whylen, "%s/%s does not open: %s", st->dir,
		    FILE_PENDING, skp_strerror(rc));
	skp_buf_free(&raw);
	return rc;
}

int
skp_phstate_pending_remove(struct skp_phstate *st, char *why, size_t whylen)
{
	int rc = skp_store_remove(st->dir, FILE_PENDING, why, whylen);

	return rc == SKP_ERR_NOT_FOUND ? SKP_OK : rc;
}

int
skp_phstate_pending_exists(const char *dir)
{
	return file_exists(dir, FILE_PENDING);
}

/* Zeros over a file before it goes (best effort: flash may keep more). */
static void
overwrite(const char *dir, const char *name)
{
	char path[4096 + SIDE_NAME_MAX + 2];
	uint8_t zero[512];
	struct stat sb;
	off_t done;
	ssize_t w;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	memset(zero, 0, sizeof(zero));
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		for (done = 0; done < sb.st_size; done += w)
			if ((w = write(fd, zero, sb.st_size - done <
			    (off_t)sizeof(zero) ? (size_t)(sb.st_size - done) :
			    sizeof(zero))) <= 0)
				break;
	(void)fsync(fd);
	close(fd);
}

/* Everything but the marker, the audit log and the locks. */
static void
wipe_moved(const char *dir)
{
	static const char *names[] = { FILE_MASTERKEY, FILE_KDF,
	    FILE_IDENTITY, FILE_COMPUTERS, FILE_CREDS, FILE_COUNTERS,
	    FILE_SEEN, FILE_HOSTS, FILE_CAS, FILE_PIN, FILE_PENDING };
	char side[SIDE_NAME_MAX];
	size_t i;

	/* The storage key first: without it the sealed files are noise. */
	for (i = 0; i < nitems(names); i++) {
		overwrite(dir, names[i]);
		(void)skp_store_remove(dir, names[i], NULL, 0);
		snprintf(side, sizeof(side), "%s%s", names[i], LAST_SUFFIX);
		overwrite(dir, side);
		(void)skp_store_remove(dir, side, NULL, 0);
		snprintf(side, sizeof(side), "%s%s", names[i], DAMAGED_SUFFIX);
		overwrite(dir, side);
		(void)skp_store_remove(dir, side, NULL, 0);
	}
}

int
skp_phstate_moved(struct skp_phstate *st,
    const uint8_t digest[SKP_TRANSFER_DIGEST_LEN], uint64_t now, char *why,
    size_t whylen)
{
	cbor_item_t *m;
	uint8_t *p = NULL;
	size_t n = 0;
	int lfd = -1, rc;

	if ((m = skp_cbor_map(2)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_cbor_map_put(m, 1, skp_cbor_uint(now))) != SKP_OK ||
	    (rc = skp_cbor_map_put(m, 2, skp_cbor_bytes(digest,
	    SKP_TRANSFER_DIGEST_LEN))) != SKP_OK ||
	    (rc = skp_cbor_encode(m, 128, &p, &n)) != SKP_OK)
		goto out;
	if ((rc = lock_dir(st, &lfd, why, whylen)) != SKP_OK)
		goto out;
	/* The marker first: from here on the folder is no phone. */
	if ((rc = skp_store_write(st->dir, FILE_MOVED, p, n, 0, why,
	    whylen)) != SKP_OK)
		goto out;
	wipe_moved(st->dir);
 out:
	unlock_dir(&lfd);
	skp_cbor_free(&m);
	free(p);
	return rc;
}

/*
 * SKP_ERR_STATE with the message when dir holds the marker (and what a
 * wipe cut short is removed); 0 otherwise.
 */
/* The marker's map: {1: moved at, 2: digest (32)}, strict. */
static int
moved_decode(const uint8_t *p, size_t n, uint64_t *t)
{
	static const int64_t keys[] = { 1, 2 };
	uint8_t d[SKP_TRANSFER_DIGEST_LEN];
	cbor_item_t *m = NULL;
	int rc;

	if ((rc = skp_cbor_load_map(p, n, 128, keys, nitems(keys), &m)) ==
	    SKP_OK && (rc = get_uint(m, 1, t)) == SKP_OK)
		rc = get_bytes(m, 2, sizeof(d), sizeof(d), d, NULL);
	skp_cbor_free(&m);
	return fix_rc(rc);
}

int
skp_phstate_check_moved(const char *dir, char *why, size_t whylen)
{
	skp_buf_t *raw = NULL;
	char when[64] = "an unknown time";
	uint64_t t;
	time_t tt;
	struct tm tm;

	if (!file_exists(dir, FILE_MOVED))
		return SKP_OK;
	/* Unreadable, it still says the state moved: no time, then. */
	if (skp_store_read(dir, FILE_MOVED, &raw, NULL, 0) == SKP_OK &&
	    moved_decode(skp_buf_ptr(raw), skp_buf_len(raw), &t) == SKP_OK &&
	    t <= INT64_MAX && (tt = (time_t)t) >= 0 &&
	    gmtime_r(&tt, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	skp_buf_free(&raw);
	wipe_moved(dir);
	skp_why(why, whylen, "this phone's state was moved to another phone "
	    "at %s (sk-phone-authenticator transfer): it holds no keys and "
	    "answers no computer. To use this device as a phone again, "
	    "remove %s/%s and pair it anew", when, dir, FILE_MOVED);
	return SKP_ERR_STATE;
}
