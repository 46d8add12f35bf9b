/*
 * The C decoders for the web phone's differential test
 * (web/test/differential.test.js): one line "KIND HEX" in, one line out,
 * "RC STATUS" with RC the decoder's SKP_ERR_* (0 when it accepted) and
 * STATUS the CTAP status a refused request names (0 otherwise).
 * KIND: cbor request response pin pairuri relayurl keyhandle hello reply
 * confirm relayframe (a frame from the relay, skp_relay_parse_relay).
 *
 * Kinds that print their own line, tab-separated fields (printable text
 * has no tab), for web/test/sshmsg.test.js, hostkey.test.js and
 * hostcheck.test.js:
 *   sshmsg HEX: skp_sshmsg_parse of the bytes: "other LEN", "login
 *     SIDHEX USER HOSTBOUND ALG KEYHEX HOSTKEYHEX|-" or "sshsig NS
 *     RESERVEDHEX HASHALG HASHHEX", the strings through
 *     skp_sshmsg_printable uncut;
 *   printable HEX: skp_sshmsg_printable of the bytes (a C string: up to
 *     the first NUL) into buffers of 1 MiB, 300, 64, 5, 4, 1 and 0 bytes;
 *   pinname HEX: u16 port, then the host name: "RC NAME";
 *   hostcheck HEX: test/fuzz/fuzz_sshmsg.c's input (byte 0 % 4 is 1 or
 *     3): "skip" when it is not that, else skp_hostkey_check's rc and
 *     type, skp_hostkey_verify's rc over the login's session id (else
 *     over the data), the fingerprint, then skp_hostcheck_run's answer
 *     without pins, and for 3 when that is "new" the answer with the pins
 *     the fuzz harness makes from the flags byte (else "-").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/cbor.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/keyhandle.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"
#include "sk-phone/buf.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/hostkey.h"

/* The phone's parser and host check (and its pin lookups), built in. */
#include "cmd/sk-phone-authenticator/sshmsg.c"
#include "cmd/sk-phone-authenticator/hostcheck.c"
#include "cmd/sk-phone-authenticator/phstate.c"

#define MAX_IN	(70000 * 2 + 64)

static int
decode(const char *kind, const uint8_t *p, size_t n, uint8_t *status)
{
	static struct skp_ctap_request req;
	struct skp_ctap_response resp;
	struct skp_pairuri u;
	struct skp_keyhandle kh;
	struct skp_pair_hello h;
	struct skp_relay_frame fr;
	char pin[SKP_CTAP_PIN_MAX + 1], name[SKP_PAIRFLOW_NAME_MAX + 1];
	cbor_item_t *it = NULL;
	int rc;

	*status = 0;
	if (strcmp(kind, "cbor") == 0) {
		rc = skp_cbor_load(p, n, SKP_CTAP_ENVELOPE_MAX, &it);
		skp_cbor_free(&it);
	} else if (strcmp(kind, "request") == 0) {
		rc = skp_ctap_request_decode(p, n, &req, status);
		skp_ctap_request_clear(&req);
	} else if (strcmp(kind, "response") == 0) {
		rc = skp_ctap_response_decode(p, n, &resp);
		if (rc == SKP_OK)
			skp_ctap_response_clear(&resp);
	} else if (strcmp(kind, "pin") == 0) {
		rc = skp_ctap_pin_decode(p, n, pin);
	} else if (strcmp(kind, "pairuri") == 0) {
		rc = skp_pairuri_parse((const char *)p, n, &u);
	} else if (strcmp(kind, "relayurl") == 0) {
		rc = skp_relayurl_parse((const char *)p, n, NULL, NULL);
	} else if (strcmp(kind, "keyhandle") == 0) {
		rc = skp_keyhandle_decode(p, n, &kh);
	} else if (strcmp(kind, "hello") == 0) {
		rc = skp_pairflow_decode_hello(p, n, &h);
	} else if (strcmp(kind, "reply") == 0) {
		rc = skp_pairflow_decode_reply(p, n, name);
	} else if (strcmp(kind, "confirm") == 0) {
		rc = skp_pairflow_decode_confirm(p, n);
	} else if (strcmp(kind, "relayframe") == 0) {
		rc = skp_relay_parse_relay(p, n, &fr);
	} else {
		rc = 1;
	}
	return rc;
}

static void
print_hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* The string through skp_sshmsg_printable, never cut. */
static void
print_shown(const char *s)
{
	static char out[4 * 1024 + 8];

	skp_sshmsg_printable(s, out, sizeof(out));
	printf("%s", out);
}

static void
do_sshmsg(const uint8_t *p, size_t n)
{
	struct skp_sshmsg m;

	skp_sshmsg_parse(p, n, &m);
	switch (m.kind) {
	case SKP_SSHMSG_USERAUTH:
		printf("login\t");
		print_hex(m.session_id, m.session_id_len);
		printf("\t");
		print_shown(m.user);
		printf("\t%d\t", m.hostbound);
		print_shown(m.key_alg);
		printf("\t");
		print_hex(m.key_blob, m.key_blob_len);
		printf("\t");
		if (m.hostbound)
			print_hex(m.host_key, m.host_key_len);
		else
			printf("-");
		break;
	case SKP_SSHMSG_SSHSIG:
		printf("sshsig\t");
		print_shown(m.ns);
		printf("\t");
		print_hex(m.reserved, m.reserved_len);
		printf("\t%s\t", m.hash_alg);
		print_hex(m.hash, m.hash_len);
		break;
	default:
		printf("other\t%zu", n);
		break;
	}
	printf("\n");
}

static void
do_printable(const uint8_t *p, size_t n)
{
	static const size_t sizes[] = { 1 << 20, 300, 64, 5, 4, 1, 0 };
	static char s[MAX_IN / 2 + 1], out[1 << 20];
	size_t i;

	memcpy(s, p, n);
	s[n] = '\0';
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		out[0] = '\0';
		skp_sshmsg_printable(s, out, sizes[i]);
		printf("%s%s", i ? "\t" : "", out);
	}
	printf("\n");
}

static void
do_pinname(const uint8_t *p, size_t n)
{
	static char host[MAX_IN / 2 + 1];
	char name[SKP_HOSTINFO_PIN_MAX];
	int rc;

	if (n < 2) {
		printf("skip\n");
		return;
	}
	memcpy(host, p + 2, n - 2);
	host[n - 2] = '\0';
	name[0] = '\0';
	rc = skp_hostinfo_pin_name(host, (uint16_t)(p[0] << 8 | p[1]), name,
	    sizeof(name));
	printf("%d\t%s\n", rc, rc == SKP_OK ? name : "");
}

static const char *const hc_states[] = { "none", "unverified", "new",
	"pinned", "changed", "bad" };

static void
print_hc(const struct skp_hostcheck *hc)
{
	printf("%s\t%s\t%s\t%s\t%s\t%d\t%s", hc_states[hc->state], hc->why,
	    hc->host, hc->key_type == NULL ? "-" : hc->key_type, hc->fp,
	    hc->other_types, hc->pinned_as);
}

static void
add_pin(struct skp_phstate *st, const char *name, const uint8_t *key,
    size_t keylen, const char *type)
{
	struct skp_ph_host *h = &st->hosts[st->nhosts++];

	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	memcpy(h->key, key, keylen);
	h->key_len = keylen;
	h->type = type;
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
do_hostcheck(const uint8_t *p, size_t n)
{
	static struct skp_phstate st;
	static struct skp_ctap_context ctx;
	struct skp_ctap_host *h = &ctx.host;
	struct skp_hostcheck hc, hc0;
	struct skp_sshmsg m;
	uint8_t other[SKP_PH_HOST_KEY_MAX], namelen, flags = 0;
	char fp[SKP_HOSTKEY_FP_LEN];
	const char *type = NULL;
	skp_reader_t r;
	uint16_t port;
	int pinned, rc;

	memset(&ctx, 0, sizeof(ctx));
	memset(&st, 0, sizeof(st));
	if (n < 1 || (p[0] % 4 != 1 && p[0] % 4 != 3)) {
		printf("skip\n");
		return;
	}
	pinned = p[0] % 4 == 3;
	p++;
	n--;
	if (pinned) {
		if (n == 0) {
			printf("skip\n");
			return;
		}
		flags = p[0];
		p++;
		n--;
	}
	skp_reader_init(&r, p, n);
	if (get_blob(&r, h->host_key, sizeof(h->host_key),
	    &h->host_key_len) != 0 ||
	    get_blob(&r, h->signature, sizeof(h->signature),
	    &h->signature_len) != 0 ||
	    skp_reader_u8(&r, &namelen) != SKP_OK ||
	    skp_reader_copy(&r, h->name, namelen) != SKP_OK ||
	    memchr(h->name, '\0', namelen) != NULL ||
	    skp_reader_u16(&r, &port) != SKP_OK) {
		printf("skip\n");
		return;
	}
	ctx.has_host = 1;
	h->port = port;
	skp_sshmsg_parse(p + r.off, n - r.off, &m);
	rc = skp_hostkey_check(h->host_key, h->host_key_len, &type);
	printf("%d\t%s\t", rc, rc == SKP_OK ? type : "-");
	if (m.kind == SKP_SSHMSG_USERAUTH)
		rc = skp_hostkey_verify(h->host_key, h->host_key_len,
		    h->signature, h->signature_len, m.session_id,
		    m.session_id_len);
	else
		rc = skp_hostkey_verify(h->host_key, h->host_key_len,
		    h->signature, h->signature_len, p + r.off, n - r.off);
	printf("%d\t", rc);
	if (skp_hostkey_fingerprint(h->host_key, h->host_key_len, fp) !=
	    SKP_OK)
		fp[0] = '\0';
	printf("%s\t", fp);
	skp_hostcheck_run(&ctx, &m, &st, &hc0);
	print_hc(&hc0);
	printf("\t");
	if (!pinned || hc0.state != SKP_HOSTCHECK_NEW ||
	    h->host_key_len == 0) {
		printf("-\n");
		return;
	}
	/* The pins of test/fuzz/fuzz_sshmsg.c's host_check_pinned. */
	memcpy(other, h->host_key, h->host_key_len);
	other[h->host_key_len - 1] ^= 1;
	if (flags & 8)
		add_pin(&st, hc0.host, other, h->host_key_len, "ssh-fake");
	if (flags & 4)
		add_pin(&st, strcmp(hc0.host, "relabel.example") == 0 ?
		    "other.example" : "relabel.example", h->host_key,
		    h->host_key_len, hc0.key_type);
	if (flags & 2)
		add_pin(&st, hc0.host, other, h->host_key_len, hc0.key_type);
	else if (flags & 1)
		add_pin(&st, hc0.host, h->host_key, h->host_key_len,
		    hc0.key_type);
	skp_hostcheck_run(&ctx, &m, &st, &hc);
	print_hc(&hc);
	printf("\n");
}

/* The kinds that print their own line; 0 when kind is not one. */
static int
own_line(const char *kind, const uint8_t *p, size_t n)
{
	if (strcmp(kind, "sshmsg") == 0)
		do_sshmsg(p, n);
	else if (strcmp(kind, "printable") == 0)
		do_printable(p, n);
	else if (strcmp(kind, "pinname") == 0)
		do_pinname(p, n);
	else if (strcmp(kind, "hostcheck") == 0)
		do_hostcheck(p, n);
	else
		return 0;
	return 1;
}

int
main(void)
{
	static char line[MAX_IN];
	static uint8_t buf[MAX_IN / 2];
	char *hex;
	size_t n, len;
	uint8_t status;
	int rc;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((hex = strchr(line, ' ')) == NULL)
			hex = line + n;
		else
			*hex++ = '\0';
		len = strlen(hex) / 2;
		if (strlen(hex) % 2 != 0 || (len > 0 &&
		    skp_unhex(hex, buf, len) != SKP_OK)) {
			printf("bad\n");
		} else if (!own_line(line, buf, len)) {
			rc = decode(line, buf, len, &status);
			printf("%d %u\n", rc, status);
		}
		fflush(stdout);
	}
	return 0;
}
