/* Drives lib/noise.c for the interop test: transcripts, a peer, seeds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/noise.h"
#include "test/noise/vector.h"

/*
 * noise_peer transcript	fixed keys as "name hex" lines on stdin;
 *				both roles of both patterns; JSON on stdout
 * noise_peer vector		the same for the doc's test vector
 * noise_peer peer		one side, driven by lines on stdin (below)
 * noise_peer fuzzseeds DIR	seeds for test/fuzz/fuzz_noise.c
 */

#define MAX_T		8
#define MAX_LINES	100000
#define BUFCAP		(SKP_NOISE_MAX_MSG + 1)

struct blob {
	uint8_t	*p;
	size_t	 len;
	int	 set;
};

struct inputs {
	struct blob	phone_s, computer_s, phone_e, computer_e;
	struct blob	pair_psk, request_psk;
	struct blob	pair_prologue, request_prologue;
	struct blob	ik_p1, ik_p2, kk_p1, kk_p2;
	struct blob	i2r[MAX_T], r2i[MAX_T];
	size_t		ni2r, nr2i;
};

struct result {
	const char	*name;
	uint8_t		 is[SKP_P256_PUB_LEN], rs[SKP_P256_PUB_LEN];
	uint8_t		 ie[SKP_P256_PUB_LEN], re[SKP_P256_PUB_LEN];
	uint8_t		 learned[SKP_P256_PUB_LEN];
	uint8_t		 hi[SKP_NOISE_HASH_LEN], hr[SKP_NOISE_HASH_LEN];
	uint8_t		 c1i[32], c2i[32], c1r[32], c2r[32];
	skp_buf_t	*msg1, *msg2, *p1, *p2;
	skp_buf_t	*i2r[MAX_T], *i2r_read[MAX_T];
	skp_buf_t	*r2i[MAX_T], *r2i_read[MAX_T];
	size_t		 ni2r, nr2i;
};

static int
blob_hex(struct blob *b, const char *hex)
{
	size_t n = strlen(hex);

	if (n % 2 != 0)
		return SKP_ERR_FORMAT;
	free(b->p);
	b->len = n / 2;
	if ((b->p = malloc(b->len + 1)) == NULL)
		return SKP_ERR_NOMEM;
	b->set = 1;
	return skp_unhex(hex, b->p, b->len);
}

static int
blob_str(struct blob *b, const char *s)
{
	free(b->p);
	b->len = strlen(s);
	if ((b->p = malloc(b->len + 1)) == NULL)
		return SKP_ERR_NOMEM;
	memcpy(b->p, s, b->len);
	b->set = 1;
	return SKP_OK;
}

static void
blob_free(struct blob *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
inputs_free(struct inputs *in)
{
	size_t i;

	blob_free(&in->phone_s);
	blob_free(&in->computer_s);
	blob_free(&in->phone_e);
	blob_free(&in->computer_e);
	blob_free(&in->pair_psk);
	blob_free(&in->request_psk);
	blob_free(&in->pair_prologue);
	blob_free(&in->request_prologue);
	blob_free(&in->ik_p1);
	blob_free(&in->ik_p2);
	blob_free(&in->kk_p1);
	blob_free(&in->kk_p2);
	for (i = 0; i < MAX_T; i++) {
		blob_free(&in->i2r[i]);
		blob_free(&in->r2i[i]);
	}
}

static int
inputs_vector(struct inputs *in)
{
	if (blob_hex(&in->phone_s, NV_PHONE_STATIC) != 0 ||
	    blob_hex(&in->computer_s, NV_COMPUTER_STATIC) != 0 ||
	    blob_hex(&in->phone_e, NV_PHONE_EPHEMERAL) != 0 ||
	    blob_hex(&in->computer_e, NV_COMPUTER_EPHEMERAL) != 0 ||
	    blob_hex(&in->pair_psk, NV_PAIR_PSK) != 0 ||
	    blob_hex(&in->request_psk, NV_REQUEST_PSK) != 0 ||
	    blob_str(&in->ik_p1, NV_IK_PAYLOAD1) != 0 ||
	    blob_str(&in->ik_p2, NV_IK_PAYLOAD2) != 0 ||
	    blob_str(&in->kk_p1, NV_KK_PAYLOAD1) != 0 ||
	    blob_str(&in->kk_p2, NV_KK_PAYLOAD2) != 0 ||
	    blob_str(&in->i2r[0], NV_I2R_1) != 0 ||
	    blob_str(&in->i2r[1], NV_I2R_2) != 0 ||
	    blob_str(&in->r2i[0], NV_R2I_1) != 0 ||
	    blob_str(&in->r2i[1], NV_R2I_2) != 0)
		return -1;
	in->ni2r = in->nr2i = 2;
	return 0;
}

/* Lines "name hex" (hex may be empty); i2r and r2i repeat. */
static int
inputs_read(struct inputs *in, FILE *f)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} fields[] = {
		{ "phone_static", offsetof(struct inputs, phone_s) },
		{ "computer_static", offsetof(struct inputs, computer_s) },
		{ "phone_ephemeral", offsetof(struct inputs, phone_e) },
		{ "computer_ephemeral", offsetof(struct inputs, computer_e) },
		{ "pair_psk", offsetof(struct inputs, pair_psk) },
		{ "request_psk", offsetof(struct inputs, request_psk) },
		{ "pair_prologue", offsetof(struct inputs, pair_prologue) },
		{ "request_prologue",
		    offsetof(struct inputs, request_prologue) },
		{ "ik_payload1", offsetof(struct inputs, ik_p1) },
		{ "ik_payload2", offsetof(struct inputs, ik_p2) },
		{ "kk_payload1", offsetof(struct inputs, kk_p1) },
		{ "kk_payload2", offsetof(struct inputs, kk_p2) },
	};
	char *line = NULL, *hex;
	size_t cap = 0, i, lines = 0;
	ssize_t n;
	struct blob *b;
	int rc = -1;

	while ((n = getline(&line, &cap, f)) > 0 && lines++ < MAX_LINES) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if ((hex = strchr(line, ' ')) != NULL)
			*hex++ = '\0';
		else
			hex = line + n;
		b = NULL;
		if (strcmp(line, "i2r") == 0 && in->ni2r < MAX_T)
			b = &in->i2r[in->ni2r++];
		else if (strcmp(line, "r2i") == 0 && in->nr2i < MAX_T)
			b = &in->r2i[in->nr2i++];
		for (i = 0; b == NULL && i < sizeof(fields) / sizeof(fields[0]);
		    i++)
			if (strcmp(line, fields[i].name) == 0)
				b = (struct blob *)(void *)((char *)in +
				    fields[i].off);
		if (b == NULL || blob_hex(b, hex) != 0) {
			fprintf(stderr, "bad input line: %s\n", line);
			goto out;
		}
	}
	if (!in->phone_s.set || !in->computer_s.set || !in->phone_e.set ||
	    !in->computer_e.set || !in->pair_psk.set ||
	    !in->request_psk.set) {
		fprintf(stderr, "missing keys or psks\n");
		goto out;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

static void
result_free(struct result *r)
{
	size_t i;

	skp_buf_free(&r->msg1);
	skp_buf_free(&r->msg2);
	skp_buf_free(&r->p1);
	skp_buf_free(&r->p2);
	for (i = 0; i < MAX_T; i++) {
		skp_buf_free(&r->i2r[i]);
		skp_buf_free(&r->i2r_read[i]);
		skp_buf_free(&r->r2i[i]);
		skp_buf_free(&r->r2i_read[i]);
	}
}

static int
key_of(const struct blob *b, struct skp_p256_key *k)
{
	if (b->len != SKP_P256_PRIV_LEN)
		return SKP_ERR_INVALID;
	return skp_p256_from_private(b->p, k);
}

#define TRY(expr, what) do {						\
	if ((rc = (expr)) != SKP_OK) {					\
		fprintf(stderr, "%s: %s: %s\n", r->name, (what),	\
		    skp_strerror(rc));					\
		goto out;						\
	}								\
} while (0)

/* Both roles of one pattern, with the keys and payloads of in. */
static int
run_pattern(int pattern, const struct inputs *in, struct result *r)
{
	skp_noise_t *ini = NULL, *res = NULL;
	skp_noise_transport_t *ti = NULL, *tr = NULL;
	struct skp_p256_key is, rs, ie, re;
	const struct blob *psk, *prologue, *p1, *p2;
	size_t i;
	int ik = pattern == SKP_NOISE_IKPSK0, rc = SKP_ERR_INTERNAL;

	r->name = ik ? "IKpsk0" : "KKpsk0";
	/* Pairing: the phone initiates; requests: the computer does. */
	TRY(key_of(ik ? &in->phone_s : &in->computer_s, &is), "static i");
	TRY(key_of(ik ? &in->computer_s : &in->phone_s, &rs), "static r");
	TRY(key_of(ik ? &in->phone_e : &in->computer_e, &ie), "eph i");
	TRY(key_of(ik ? &in->computer_e : &in->phone_e, &re), "eph r");
	psk = ik ? &in->pair_psk : &in->request_psk;
	prologue = ik ? &in->pair_prologue : &in->request_prologue;
	p1 = ik ? &in->ik_p1 : &in->kk_p1;
	p2 = ik ? &in->ik_p2 : &in->kk_p2;
	rc = SKP_ERR_INVALID;
	if (psk->len != SKP_NOISE_PSK_LEN)
		goto out;
	memcpy(r->is, is.pub, sizeof(r->is));
	memcpy(r->rs, rs.pub, sizeof(r->rs));
	memcpy(r->ie, ie.pub, sizeof(r->ie));
	memcpy(r->re, re.pub, sizeof(r->re));
	rc = SKP_ERR_NOMEM;
	if ((ini = skp_noise_new(pattern, SKP_NOISE_INITIATOR)) == NULL ||
	    (res = skp_noise_new(pattern, SKP_NOISE_RESPONDER)) == NULL ||
	    (r->msg1 = skp_buf_new(BUFCAP)) == NULL ||
	    (r->msg2 = skp_buf_new(BUFCAP)) == NULL ||
	    (r->p1 = skp_buf_new(BUFCAP)) == NULL ||
	    (r->p2 = skp_buf_new(BUFCAP)) == NULL)
		goto out;
	TRY(skp_noise_set_local_static(ini, &is), "set static i");
	TRY(skp_noise_set_local_static(res, &rs), "set static r");
	TRY(skp_noise_set_ephemeral_for_test(ini, &ie), "set eph i");
	TRY(skp_noise_set_ephemeral_for_test(res, &re), "set eph r");
	TRY(skp_noise_set_psk(ini, psk->p), "set psk i");
	TRY(skp_noise_set_psk(res, psk->p), "set psk r");
	TRY(skp_noise_set_remote_static(ini, rs.pub), "set rs i");
	if (!ik)
		TRY(skp_noise_set_remote_static(res, is.pub), "set rs r");
	if (prologue->set) {
		TRY(skp_noise_set_prologue(ini, prologue->p, prologue->len),
		    "prologue i");
		TRY(skp_noise_set_prologue(res, prologue->p, prologue->len),
		    "prologue r");
	}
	TRY(skp_noise_write_message(ini, p1->p, p1->len, r->msg1), "write 1");
	TRY(skp_noise_read_message(res, skp_buf_ptr(r->msg1),
	    skp_buf_len(r->msg1), r->p1), "read 1");
	TRY(skp_noise_write_message(res, p2->p, p2->len, r->msg2), "write 2");
	TRY(skp_noise_read_message(ini, skp_buf_ptr(r->msg2),
	    skp_buf_len(r->msg2), r->p2), "read 2");
	TRY(skp_noise_handshake_hash(ini, r->hi), "hash i");
	TRY(skp_noise_handshake_hash(res, r->hr), "hash r");
	TRY(skp_noise_remote_static(res, r->learned), "learned");
	TRY(skp_noise_split(ini, &ti), "split i");
	TRY(skp_noise_split(res, &tr), "split r");
	TRY(skp_noise_transport_keys_for_test(ti, r->c1i, r->c2i), "keys i");
	TRY(skp_noise_transport_keys_for_test(tr, r->c1r, r->c2r), "keys r");
	for (i = 0; i < in->ni2r; i++) {
		rc = SKP_ERR_NOMEM;
		if ((r->i2r[i] = skp_buf_new(BUFCAP)) == NULL ||
		    (r->i2r_read[i] = skp_buf_new(BUFCAP)) == NULL)
			goto out;
		TRY(skp_noise_transport_encrypt(ti, in->i2r[i].p,
		    in->i2r[i].len, r->i2r[i]), "encrypt i2r");
		TRY(skp_noise_transport_decrypt(tr, skp_buf_ptr(r->i2r[i]),
		    skp_buf_len(r->i2r[i]), r->i2r_read[i]), "decrypt i2r");
		r->ni2r++;
	}
	for (i = 0; i < in->nr2i; i++) {
		rc = SKP_ERR_NOMEM;
		if ((r->r2i[i] = skp_buf_new(BUFCAP)) == NULL ||
		    (r->r2i_read[i] = skp_buf_new(BUFCAP)) == NULL)
			goto out;
		TRY(skp_noise_transport_encrypt(tr, in->r2i[i].p,
		    in->r2i[i].len, r->r2i[i]), "encrypt r2i");
		TRY(skp_noise_transport_decrypt(ti, skp_buf_ptr(r->r2i[i]),
		    skp_buf_len(r->r2i[i]), r->r2i_read[i]), "decrypt r2i");
		r->nr2i++;
	}
	rc = SKP_OK;
out:
	skp_wipe(&is, sizeof(is));
	skp_wipe(&rs, sizeof(rs));
	skp_wipe(&ie, sizeof(ie));
	skp_wipe(&re, sizeof(re));
	skp_noise_free(&ini);
	skp_noise_free(&res);
	skp_noise_transport_free(&ti);
	skp_noise_transport_free(&tr);
	return rc;
}

static void
put_hex(const char *key, const void *p, size_t n, int comma)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	printf("    \"%s\": \"", key);
	for (i = 0; i < n; i++) {
		putchar(digits[b[i] >> 4]);
		putchar(digits[b[i] & 0x0f]);
	}
	printf("\"%s\n", comma ? "," : "");
}

static void
put_list(const char *key, skp_buf_t *const *bufs, size_t n, int comma)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b;
	size_t i, j;

	printf("    \"%s\": [", key);
	for (i = 0; i < n; i++) {
		printf("%s\"", i > 0 ? ", " : "");
		b = skp_buf_ptr(bufs[i]);
		for (j = 0; j < skp_buf_len(bufs[i]); j++) {
			putchar(digits[b[j] >> 4]);
			putchar(digits[b[j] & 0x0f]);
		}
		putchar('"');
	}
	printf("]%s\n", comma ? "," : "");
}

#define PUT_BUF(k, b, c) put_hex((k), skp_buf_ptr(b), skp_buf_len(b), (c))

static void
put_result(const struct result *r, int comma)
{
	printf("  \"%s\": {\n", r->name);
	put_hex("initiator_static", r->is, sizeof(r->is), 1);
	put_hex("responder_static", r->rs, sizeof(r->rs), 1);
	put_hex("initiator_ephemeral", r->ie, sizeof(r->ie), 1);
	put_hex("responder_ephemeral", r->re, sizeof(r->re), 1);
	PUT_BUF("msg1", r->msg1, 1);
	PUT_BUF("payload1_read", r->p1, 1);
	PUT_BUF("msg2", r->msg2, 1);
	PUT_BUF("payload2_read", r->p2, 1);
	put_hex("handshake_hash_initiator", r->hi, sizeof(r->hi), 1);
	put_hex("handshake_hash_responder", r->hr, sizeof(r->hr), 1);
	put_hex("responder_remote_static", r->learned, sizeof(r->learned), 1);
	put_hex("c1_initiator", r->c1i, sizeof(r->c1i), 1);
	put_hex("c2_initiator", r->c2i, sizeof(r->c2i), 1);
	put_hex("c1_responder", r->c1r, sizeof(r->c1r), 1);
	put_hex("c2_responder", r->c2r, sizeof(r->c2r), 1);
	put_list("i2r", r->i2r, r->ni2r, 1);
	put_list("i2r_read", r->i2r_read, r->ni2r, 1);
	put_list("r2i", r->r2i, r->nr2i, 1);
	put_list("r2i_read", r->r2i_read, r->nr2i,
	    0);
	printf("  }%s\n", comma ? "," : "");
}

static int
transcript(const struct inputs *in)
{
	struct result ik, kk;
	int rc = 1;

	memset(&ik, 0, sizeof(ik));
	memset(&kk, 0, sizeof(kk));
	if (run_pattern(SKP_NOISE_IKPSK0, in, &ik) != SKP_OK ||
	    run_pattern(SKP_NOISE_KKPSK0, in, &kk) != SKP_OK)
		goto out;
	printf("{\n");
	put_result(&ik, 1);
	put_result(&kk, 0);
	printf("}\n");
	rc = 0;
out:
	result_free(&ik);
	result_free(&kk);
	return rc;
}

/*
 * Peer mode. Setup lines: "pattern ik|kk", "role initiator|responder"
 * (these two first), then "static", "remote_static", "psk", "prologue",
 * "ephemeral" with hex (keys: private scalars, remote: the point).
 * Actions: "write HEX", "read HEX", "hash", "get_remote_static", "next",
 * "split", "encrypt HEX", "decrypt HEX", "keys". Each line gets one
 * answer: "ok" with hex when there is a result, or "err CODE".
 */
struct peer {
	int			 pattern;
	skp_noise_t		*st;
	skp_noise_transport_t	*t;
	skp_buf_t		*out;
};

static void
answer(int rc, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	if (rc != SKP_OK) {
		printf("err %d\n", rc);
	} else {
		printf("ok");
		if (p != NULL) {
			putchar(' ');
			for (i = 0; i < n; i++) {
				putchar(digits[b[i] >> 4]);
				putchar(digits[b[i] & 0x0f]);
			}
		}
		putchar('\n');
	}
	fflush(stdout);
}

static int
peer_line(struct peer *pe, const char *cmd, const struct blob *arg)
{
	struct skp_p256_key k;
	uint8_t h[64], pub[SKP_P256_PUB_LEN];
	int rc = SKP_ERR_INVALID, role;

	skp_buf_reset(pe->out);
	if (strcmp(cmd, "pattern") == 0) {
		if (arg->len == 2 && memcmp(arg->p, "ik", 2) == 0)
			pe->pattern = SKP_NOISE_IKPSK0;
		else if (arg->len == 2 && memcmp(arg->p, "kk", 2) == 0)
			pe->pattern = SKP_NOISE_KKPSK0;
		else
			goto out;
		rc = SKP_OK;
		answer(rc, NULL, 0);
		goto out;
	}
	if (strcmp(cmd, "role") == 0) {
		role = arg->len == 9 && memcmp(arg->p, "initiator", 9) == 0 ?
		    SKP_NOISE_INITIATOR : arg->len == 9 &&
		    memcmp(arg->p, "responder", 9) == 0 ?
		    SKP_NOISE_RESPONDER : 0;
		skp_noise_free(&pe->st);
		rc = (pe->st = skp_noise_new(pe->pattern, role)) == NULL ?
		    SKP_ERR_INVALID : SKP_OK;
		answer(rc, NULL, 0);
		goto out;
	}
	if (pe->st == NULL)
		goto out;
	if (strcmp(cmd, "static") == 0 || strcmp(cmd, "ephemeral") == 0) {
		if ((rc = key_of(arg, &k)) == SKP_OK)
			rc = cmd[0] == 's' ?
			    skp_noise_set_local_static(pe->st, &k) :
			    skp_noise_set_ephemeral_for_test(pe->st, &k);
		skp_wipe(&k, sizeof(k));
		answer(rc, NULL, 0);
	} else if (strcmp(cmd, "remote_static") == 0) {
		rc = arg->len != SKP_P256_PUB_LEN ? SKP_ERR_INVALID :
		    skp_noise_set_remote_static(pe->st, arg->p);
		answer(rc, NULL, 0);
	} else if (strcmp(cmd, "psk") == 0) {
		rc = arg->len != SKP_NOISE_PSK_LEN ? SKP_ERR_INVALID :
		    skp_noise_set_psk(pe->st, arg->p);
		answer(rc, NULL, 0);
	} else if (strcmp(cmd, "prologue") == 0) {
		rc = skp_noise_set_prologue(pe->st, arg->p, arg->len);
		answer(rc, NULL, 0);
	} else if (strcmp(cmd, "write") == 0 || strcmp(cmd, "read") == 0) {
		rc = cmd[0] == 'w' ?
		    skp_noise_write_message(pe->st, arg->p, arg->len, pe->out) :
		    skp_noise_read_message(pe->st, arg->p, arg->len, pe->out);
		answer(rc, skp_buf_ptr(pe->out), skp_buf_len(pe->out));
	} else if (strcmp(cmd, "hash") == 0) {
		rc = skp_noise_handshake_hash(pe->st, h);
		answer(rc, h, SKP_NOISE_HASH_LEN);
	} else if (strcmp(cmd, "get_remote_static") == 0) {
		rc = skp_noise_remote_static(pe->st, pub);
		answer(rc, pub, sizeof(pub));
	} else if (strcmp(cmd, "next") == 0) {
		h[0] = (uint8_t)skp_noise_next(pe->st);
		rc = SKP_OK;
		answer(rc, h, 1);
	} else if (strcmp(cmd, "split") == 0) {
		rc = skp_noise_split(pe->st, &pe->t);
		answer(rc, NULL, 0);
	} else if (pe->t != NULL && (strcmp(cmd, "encrypt") == 0 ||
	    strcmp(cmd, "decrypt") == 0)) {
		rc = cmd[0] == 'e' ?
		    skp_noise_transport_encrypt(pe->t, arg->p, arg->len,
		    pe->out) :
		    skp_noise_transport_decrypt(pe->t, arg->p, arg->len,
		    pe->out);
		answer(rc, skp_buf_ptr(pe->out), skp_buf_len(pe->out));
	} else if (pe->t != NULL && strcmp(cmd, "keys") == 0) {
		rc = skp_noise_transport_keys_for_test(pe->t, h, h + 32);
		answer(rc, h, sizeof(h));
	} else {
		rc = SKP_ERR_INVALID;
		answer(rc, NULL, 0);
	}
	/* Protocol errors are answers, not failures of this program. */
	rc = SKP_OK;
out:
	skp_wipe(h, sizeof(h));
	return rc;
}

static int
peer(void)
{
	struct peer pe;
	struct blob arg;
	char *line = NULL, *hex;
	size_t cap = 0, lines = 0;
	ssize_t n;
	int rc = 1;

	memset(&pe, 0, sizeof(pe));
	memset(&arg, 0, sizeof(arg));
	if ((pe.out = skp_buf_new(BUFCAP)) == NULL)
		goto out;
	while ((n = getline(&line, &cap, stdin)) > 0 && lines++ < MAX_LINES) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if ((hex = strchr(line, ' ')) != NULL)
			*hex++ = '\0';
		else
			hex = line + n;
		if (strcmp(line, "quit") == 0)
			break;
		if (strcmp(line, "pattern") == 0 || strcmp(line, "role") == 0)
			rc = blob_str(&arg, hex);
		else
			rc = blob_hex(&arg, hex);
		if (rc != SKP_OK || peer_line(&pe, line, &arg) != SKP_OK) {
			answer(SKP_ERR_INVALID, NULL, 0);
			continue;
		}
	}
	rc = 0;
out:
	blob_free(&arg);
	free(line);
	skp_buf_free(&pe.out);
	skp_noise_free(&pe.st);
	skp_noise_transport_free(&pe.t);
	return rc;
}

/*
 * Seeds for fuzz_noise: a mode byte (bit 0: KK, bit 1: the harness
 * plays the initiator) and frames of a 16-bit big-endian length and
 * bytes: the handshake message the harness reads, then transport
 * messages to it.
 */
static int
seed_write(const char *dir, const char *name, uint8_t mode,
    const skp_buf_t **frames, size_t nframes, int flip, long cut)
{
	char path[4096];
	skp_buf_t *b = NULL;
	uint8_t *p = NULL;
	size_t i, len, plen = 0;
	FILE *f = NULL;
	int rc = -1;

	if ((b = skp_buf_new(1 << 20)) == NULL || skp_buf_u8(b, mode) != 0)
		goto out;
	for (i = 0; i < nframes; i++) {
		len = skp_buf_len(frames[i]);
		/* cut < 0: frame 0 shortened; cut > 0: a byte appended. */
		if (i == 0 && cut != 0)
			len = (size_t)((long)len + cut);
		if (skp_buf_u16(b, (uint16_t)len) != 0 ||
		    skp_buf_put(b, skp_buf_ptr(frames[i]),
		    len > skp_buf_len(frames[i]) ? skp_buf_len(frames[i]) :
		    len) != 0)
			goto out;
		if (len > skp_buf_len(frames[i]) && skp_buf_u8(b, 0x5a) != 0)
			goto out;
	}
	if (skp_buf_steal(b, &p, &plen) != 0)
		goto out;
	/* flip >= 0: one bit in the first frame's bytes. */
	if (flip >= 0 && (size_t)flip + 3 < plen)
		p[3 + flip] ^= 0x04;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, plen, f) != plen)
		goto out;
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	free(p);
	skp_buf_free(&b);
	return rc;
}

static int
fuzzseeds(const char *dir)
{
	struct inputs in;
	struct result r[2];
	const skp_buf_t *fr[4];
	char name[128];
	uint8_t mode;
	int pat, side, rc = 1;
	const char *pn;

	memset(&in, 0, sizeof(in));
	memset(r, 0, sizeof(r));
	if (inputs_vector(&in) != 0 ||
	    run_pattern(SKP_NOISE_IKPSK0, &in, &r[0]) != SKP_OK ||
	    run_pattern(SKP_NOISE_KKPSK0, &in, &r[1]) != SKP_OK)
		goto out;
	for (pat = 0; pat < 2; pat++) {
		for (side = 0; side < 2; side++) {
			mode = (uint8_t)(pat | side << 1);
			pn = pat == 0 ? "ik" : "kk";
			fr[0] = side == 0 ? r[pat].msg1 : r[pat].msg2;
			fr[1] = side == 0 ? r[pat].i2r[0] : r[pat].r2i[0];
			fr[2] = side == 0 ? r[pat].i2r[1] : r[pat].r2i[1];
#define SEED(suffix, frames, n, flip, cut) do {				\
	snprintf(name, sizeof(name), "%s-%s-%s", pn,			\
	    side == 0 ? "responder" : "initiator", (suffix));		\
	if (seed_write(dir, name, mode, (frames), (n), (flip),		\
	    (cut)) != 0)						\
		goto out;						\
} while (0)
			SEED("valid", fr, 3, -1, 0);
			SEED("handshake-only", fr, 1, -1, 0);
			SEED("flip-e", fr, 3, 10, 0);
			SEED("flip-tag", fr, 1,
			    (int)skp_buf_len(fr[0]) - 1, 0);
			SEED("wrong-prefix", fr, 3, 0, 0);
			SEED("truncated", fr, 3, -1, -1);
			SEED("trailing", fr, 3, -1, 1);
			fr[3] = fr[1];
			fr[2] = fr[1];
			SEED("replayed-transport", fr, 3, -1, 0);
			fr[1] = side == 0 ? r[pat].i2r[1] : r[pat].r2i[1];
			fr[2] = side == 0 ? r[pat].i2r[0] : r[pat].r2i[0];
			SEED("reordered-transport", fr, 3, -1, 0);
#undef SEED
		}
	}
	rc = 0;
out:
	inputs_free(&in);
	result_free(&r[0]);
	result_free(&r[1]);
	return rc;
}

int
main(int argc, char **argv)
{
	struct inputs in;
	int rc = 2;

	memset(&in, 0, sizeof(in));
	if (argc == 2 && strcmp(argv[1], "transcript") == 0) {
		rc = inputs_read(&in, stdin) != 0 ? 1 : transcript(&in);
	} else if (argc == 2 && strcmp(argv[1], "vector") == 0) {
		rc = inputs_vector(&in) != 0 ? 1 : transcript(&in);
	} else if (argc == 2 && strcmp(argv[1], "peer") == 0) {
		rc = peer();
	} else if (argc == 3 && strcmp(argv[1], "fuzzseeds") == 0) {
		rc = fuzzseeds(argv[2]);
	} else {
		fprintf(stderr, "usage: noise_peer transcript|vector|peer|"
		    "fuzzseeds DIR\n");
	}
	inputs_free(&in);
	return rc;
}
