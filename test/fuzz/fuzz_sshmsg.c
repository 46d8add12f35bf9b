/*
 * Fuzz harness: the phone's parser of the data it signs (SSH userauth
 * requests, SSHSIG), its host check, and its file of host pins. The
 * first byte, modulo 4, picks:
 *   0: the rest is the data; what parses must re-encode to exactly the
 *      input (the parser is strict), and what is shown must be printable;
 *   1: u16 host key length, host key, u16 signature length, signature,
 *      u8 host name length, host name, u16 port, then the data: host
 *      information as sk-phone proxy leaves it, checked as the phone
 *      checks it; whatever is called verified must verify;
 *   2: the inner payload of the "hosts" state file; what decodes must
 *      re-encode to exactly the input;
 *   3: one byte of pin flags, then as 1: the same check against a pin
 *      table made from the flags (bit 0: this key pinned under this
 *      name; bit 1: another key of this type pinned under this name;
 *      bit 2: this key pinned under another name; bit 3: a key of
 *      another type pinned under this name), so that "pinned" and
 *      "changed" are reached and checked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/hostkey.h"

/* The phone's parser and host check (and its pin lookups), built in. */
#include "cmd/sk-phone-authenticator/sshmsg.c"
#include "cmd/sk-phone-authenticator/hostcheck.c"
#include "cmd/sk-phone-authenticator/phstate.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
put_cstring(skp_buf_t *b, const char *s)
{
	if (skp_buf_string(b, s, strlen(s)) != SKP_OK)
		abort();
}

static void
put_string(skp_buf_t *b, const uint8_t *p, size_t n)
{
	if (skp_buf_string(b, p, n) != SKP_OK)
		abort();
}

/* The message again, from its fields alone. */
static void
reencode(const struct skp_sshmsg *m, const uint8_t *p, size_t n)
{
	skp_buf_t *b = skp_buf_new(n + 64);

	if (b == NULL)
		abort();
	if (m->kind == SKP_SSHMSG_USERAUTH) {
		put_string(b, m->session_id, m->session_id_len);
		if (skp_buf_u8(b, 50) != SKP_OK)
			abort();
		put_cstring(b, m->user);
		put_cstring(b, "ssh-connection");
		put_cstring(b, m->hostbound ?
		    "publickey-hostbound-v00@openssh.com" : "publickey");
		if (skp_buf_u8(b, 1) != SKP_OK)
			abort();
		put_cstring(b, m->key_alg);
		put_string(b, m->key_blob, m->key_blob_len);
		if (m->hostbound)
			put_string(b, m->host_key, m->host_key_len);
	} else {
		if (skp_buf_put(b, "SSHSIG", 6) != SKP_OK)
			abort();
		put_cstring(b, m->ns);
		put_string(b, m->reserved, m->reserved_len);
		put_cstring(b, m->hash_alg);
		put_string(b, m->hash, m->hash_len);
	}
	if (skp_buf_len(b) != n || memcmp(skp_buf_ptr(b), p, n) != 0)
		abort();
	skp_buf_free(&b);
}

static void
check_printable(const char *s)
{
	char out[64];
	size_t i;

	skp_sshmsg_printable(s, out, sizeof(out));
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] < 0x20 || out[i] > 0x7e || i >= sizeof(out) - 1)
			abort();
}

static void
parse_only(const uint8_t *p, size_t n)
{
	struct skp_sshmsg m;

	skp_sshmsg_parse(p, n, &m);
	switch (m.kind) {
	case SKP_SSHMSG_USERAUTH:
		if (m.session_id_len == 0 || m.key_blob_len == 0 ||
		    (m.hostbound && m.host_key_len == 0))
			abort();
		check_printable(m.user);
		reencode(&m, p, n);
		break;
	case SKP_SSHMSG_SSHSIG:
		if (m.ns[0] == '\0' || (m.hash_len != 32 && m.hash_len != 64))
			abort();
		check_printable(m.ns);
		reencode(&m, p, n);
		break;
	case SKP_SSHMSG_OTHER:
		if (m.user[0] != '\0' || m.ns[0] != '\0' || m.key_blob != NULL)
			abort();
		break;
	}
}

static int
get_blob(skp_reader_t *r, uint8_t *out, size_t max, size_t *len)
{
	uint16_t n;

	if (skp_reader_u16(r, &n) != SKP_OK || n > max ||
	    skp_reader_copy(r, out, n) != SKP_OK)
		return -1;
	*len = n;
	return 0;
}

static void
add_pin(struct skp_phstate *st, const char *name, const uint8_t *key,
    size_t keylen, const char *type)
{
	struct skp_ph_host *h;

	if (st->nhosts >= SKP_PH_MAX_HOSTS || keylen > sizeof(h->key))
		abort();
	h = &st->hosts[st->nhosts++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	memcpy(h->key, key, keylen);
	h->key_len = keylen;
	h->type = type;
	h->pinned_at = 1700000000;
	snprintf(h->pinned_by, sizeof(h->pinned_by), "fuzz");
}

/*
 * The same login again, against pins made from flags; hc0 is the answer
 * without pins (NEW: verified, first use).
 */
static void
host_check_pinned(const struct skp_ctap_context *ctx,
    const struct skp_sshmsg *m, struct skp_phstate *st, uint8_t flags,
    const struct skp_hostcheck *hc0)
{
	const struct skp_ctap_host *h = &ctx->host;
	struct skp_hostcheck hc;
	uint8_t other[SKP_PH_HOST_KEY_MAX];
	int own = 0, changed = 0, types = 0;

	if (hc0->state != SKP_HOSTCHECK_NEW || h->host_key_len == 0 ||
	    h->host_key_len > sizeof(other))
		return;
	memcpy(other, h->host_key, h->host_key_len);
	other[h->host_key_len - 1] ^= 1;
	st->nhosts = 0;
	if (flags & 8) {
		add_pin(st, hc0->host, other, h->host_key_len, "ssh-fake");
		types = 1;
	}
	if (flags & 4)
		add_pin(st, strcmp(hc0->host, "relabel.example") == 0 ?
		    "other.example" : "relabel.example", h->host_key,
		    h->host_key_len, hc0->key_type);
	if (flags & 2) {
		add_pin(st, hc0->host, other, h->host_key_len,
		    hc0->key_type);
		changed = 1;
	} else if (flags & 1) {
		add_pin(st, hc0->host, h->host_key, h->host_key_len,
		    hc0->key_type);
		own = 1;
	}
	skp_hostcheck_run(ctx, m, st, &hc);
	/* Pins change only the verdict on a verified host, never the host. */
	if (strcmp(hc.host, hc0->host) != 0 || hc.key_type != hc0->key_type ||
	    strcmp(hc.fp, hc0->fp) != 0)
		abort();
	if (changed && hc.state != SKP_HOSTCHECK_CHANGED)
		abort();
	if (own && hc.state != SKP_HOSTCHECK_PINNED)
		abort();
	/* A key pinned under another name pins nothing here. */
	if (!own && !changed && (hc.state == SKP_HOSTCHECK_PINNED ||
	    hc.state == SKP_HOSTCHECK_CHANGED))
		abort();
	if (hc.state == SKP_HOSTCHECK_NEW && hc.other_types != types)
		abort();
	st->nhosts = 0;
}

static void
host_check(const uint8_t *p, size_t n, int pinned)
{
	static struct skp_phstate *st;	/* pins only while pinned runs */
	struct skp_ctap_context *ctx;
	struct skp_hostcheck hc;
	struct skp_sshmsg m;
	skp_reader_t r;
	uint8_t namelen;
	uint16_t port;

	uint8_t flags = 0;

	if (st == NULL && (st = calloc(1, sizeof(*st))) == NULL)
		abort();
	if (pinned) {
		if (n == 0)
			return;
		flags = p[0];
		p++;
		n--;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		abort();
	skp_reader_init(&r, p, n);
	if (get_blob(&r, ctx->host.host_key, sizeof(ctx->host.host_key),
	    &ctx->host.host_key_len) != 0 ||
	    get_blob(&r, ctx->host.signature, sizeof(ctx->host.signature),
	    &ctx->host.signature_len) != 0 ||
	    skp_reader_u8(&r, &namelen) != SKP_OK ||
	    skp_reader_copy(&r, ctx->host.name, namelen) != SKP_OK ||
	    memchr(ctx->host.name, '\0', namelen) != NULL ||
	    skp_reader_u16(&r, &port) != SKP_OK)
		goto out;
	ctx->has_host = 1;
	ctx->host.port = port;
	skp_sshmsg_parse(p + r.off, n - r.off, &m);
	skp_hostcheck_run(ctx, &m, st, &hc);
	if ((hc.state == SKP_HOSTCHECK_NONE) != (m.kind !=
	    SKP_SSHMSG_USERAUTH))
		abort();
	if (hc.state == SKP_HOSTCHECK_NEW) {
		if (hc.key_type == NULL || hc.host[0] == '\0' ||
		    hc.other_types ||
		    !skp_phstate_host_name_ok(hc.host) ||
		    skp_hostkey_verify(ctx->host.host_key,
		    ctx->host.host_key_len, ctx->host.signature,
		    ctx->host.signature_len, m.session_id,
		    m.session_id_len) != SKP_OK ||
		    (m.hostbound && (m.host_key_len !=
		    ctx->host.host_key_len || memcmp(m.host_key,
		    ctx->host.host_key, m.host_key_len) != 0)))
			abort();
	}
	/* No pins: nothing can be pinned or changed. */
	if (hc.state == SKP_HOSTCHECK_PINNED ||
	    hc.state == SKP_HOSTCHECK_CHANGED)
		abort();
	if ((hc.state == SKP_HOSTCHECK_BAD ||
	    hc.state == SKP_HOSTCHECK_UNVERIFIED) && hc.why[0] == '\0')
		abort();
	if (pinned)
		host_check_pinned(ctx, &m, st, flags, &hc);
 out:
	free(ctx);
}

static void
hosts_file(const uint8_t *p, size_t n)
{
	static struct skp_phstate *st;
	uint8_t *out = NULL;
	size_t outlen = 0;

	if (st == NULL && (st = calloc(1, sizeof(*st))) == NULL)
		abort();
	if (skp_phstate_decode_hosts(st, p, n) != SKP_OK)
		return;
	if (encode_hosts(st, &out, &outlen) != SKP_OK || outlen != n ||
	    memcmp(out, p, n) != 0)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 + INNER_MAX)
		return 0;
	switch (data[0] % 4) {
	case 0:
		parse_only(data + 1, size - 1);
		break;
	case 1:
		host_check(data + 1, size - 1, 0);
		break;
	case 2:
		hosts_file(data + 1, size - 1);
		break;
	default:
		host_check(data + 1, size - 1, 1);
		break;
	}
	return 0;
}
