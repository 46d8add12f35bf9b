/*
 * Fuzz harness: the phone's parser of the data it signs (SSH userauth
 * requests, SSHSIG), its host check, and its file of host pins. The
 * first byte, modulo 3, picks:
 *   0: the rest is the data; what parses must re-encode to exactly the
 *      input (the parser is strict), and what is shown must be printable;
 *   1: u16 host key length, host key, u16 signature length, signature,
 *      u8 host name length, host name, u16 port, then the data: host
 *      information as sk-phone proxy leaves it, checked as the phone
 *      checks it; whatever is called verified must verify;
 *   2: the inner payload of the "hosts" state file; what decodes must
 *      re-encode to exactly the input.
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
host_check(const uint8_t *p, size_t n)
{
	static struct skp_phstate *st;	/* no pins: every host is new */
	struct skp_ctap_context *ctx;
	struct skp_hostcheck hc;
	struct skp_sshmsg m;
	skp_reader_t r;
	uint8_t namelen;
	uint16_t port;

	if (st == NULL && (st = calloc(1, sizeof(*st))) == NULL)
		abort();
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
	switch (data[0] % 3) {
	case 0:
		parse_only(data + 1, size - 1);
		break;
	case 1:
		host_check(data + 1, size - 1);
		break;
	default:
		hosts_file(data + 1, size - 1);
		break;
	}
	return 0;
}
