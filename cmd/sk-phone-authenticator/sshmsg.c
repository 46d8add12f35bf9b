/* A strict, small parser of the SSH data the phone is asked to sign. */
#include <stdio.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/err.h"

#include "sshmsg.h"

#define SSH_MSG_USERAUTH_REQUEST	50
#define SSHMSG_KEY_MAX			8192	/* bytes of a key blob */
#define SSHMSG_ALG_MAX			64

/* An SSH string copied as a C string: no NUL inside, at most max bytes. */
static int
get_cstring(skp_reader_t *r, char *out, size_t max)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = skp_reader_string(r, &p, &n, max)) != SKP_OK)
		return rc;
	if (memchr(p, '\0', n) != NULL)
		return SKP_ERR_FORMAT;
	memcpy(out, p, n);
	out[n] = '\0';
	return SKP_OK;
}

static int
expect_string(skp_reader_t *r, const char *want)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = skp_reader_string(r, &p, &n, 64)) != SKP_OK)
		return rc;
	if (n != strlen(want) || memcmp(p, want, n) != 0)
		return SKP_ERR_FORMAT;
	return SKP_OK;
}

/*
 * RFC 4252 section 7, the data signed for publickey authentication, and
 * OpenSSH's host-bound variant which appends the server's host key.
 */
static int
parse_userauth(const uint8_t *data, size_t len, struct skp_sshmsg *m)
{
	skp_reader_t r;
	const uint8_t *p;
	char method[40];
	uint8_t b;
	size_t n;
	int rc;

	skp_reader_init(&r, data, len);
	if ((rc = skp_reader_string(&r, &p, &n, SKP_SSHMSG_SID_MAX)) != SKP_OK)
		return rc;
	if (n == 0)
		return SKP_ERR_FORMAT;
	memcpy(m->session_id, p, n);
	m->session_id_len = n;
	if ((rc = skp_reader_u8(&r, &b)) != SKP_OK)
		return rc;
	if (b != SSH_MSG_USERAUTH_REQUEST)
		return SKP_ERR_FORMAT;
	if ((rc = get_cstring(&r, m->user, SKP_SSHMSG_USER_MAX)) != SKP_OK ||
	    (rc = expect_string(&r, "ssh-connection")) != SKP_OK ||
	    (rc = get_cstring(&r, method, sizeof(method) - 1)) != SKP_OK)
		return rc;
	if (strcmp(method, "publickey") == 0)
		m->hostbound = 0;
	else if (strcmp(method, "publickey-hostbound-v00@openssh.com") == 0)
		m->hostbound = 1;
	else
		return SKP_ERR_FORMAT;
	/* The signature is present: the boolean is exactly TRUE. */
	if ((rc = skp_reader_u8(&r, &b)) != SKP_OK)
		return rc;
	if (b != 1)
		return SKP_ERR_FORMAT;
	if ((rc = get_cstring(&r, m->key_alg, SSHMSG_ALG_MAX)) != SKP_OK ||
	    (rc = skp_reader_string(&r, &m->key_blob, &m->key_blob_len,
	    SSHMSG_KEY_MAX)) != SKP_OK)
		return rc;
	if (m->hostbound &&
	    (rc = skp_reader_string(&r, &m->host_key, &m->host_key_len,
	    SSHMSG_KEY_MAX)) != SKP_OK)
		return rc;
	if (m->key_blob_len == 0 || (m->hostbound && m->host_key_len == 0))
		return SKP_ERR_FORMAT;
	return skp_reader_end(&r);
}

/* PROTOCOL.sshsig: "SSHSIG" (6 bytes, no length), namespace, reserved,
 * hash algorithm, H(message). */
static int
parse_sshsig(const uint8_t *data, size_t len, struct skp_sshmsg *m)
{
	skp_reader_t r;
	const uint8_t *p;
	size_t n;
	int rc;

	skp_reader_init(&r, data, len);
	if ((rc = skp_reader_ptr(&r, &p, 6)) != SKP_OK)
		return rc;
	if (memcmp(p, "SSHSIG", 6) != 0)
		return SKP_ERR_FORMAT;
	if ((rc = get_cstring(&r, m->ns, SKP_SSHMSG_NS_MAX)) != SKP_OK)
		return rc;
	if (m->ns[0] == '\0')
		return SKP_ERR_FORMAT;
	/* reserved: OpenSSH writes it empty; anything may follow later. */
	if ((rc = skp_reader_string(&r, &m->reserved, &m->reserved_len,
	    1024)) != SKP_OK ||
	    (rc = get_cstring(&r, m->hash_alg, sizeof(m->hash_alg) - 1)) !=
	    SKP_OK ||
	    (rc = skp_reader_string(&r, &p, &n, sizeof(m->hash))) != SKP_OK)
		return rc;
	if (strcmp(m->hash_alg, "sha256") == 0) {
		if (n != 32)
			return SKP_ERR_FORMAT;
	} else if (strcmp(m->hash_alg, "sha512") == 0) {
		if (n != 64)
			return SKP_ERR_FORMAT;
	} else
		return SKP_ERR_FORMAT;
	memcpy(m->hash, p, n);
	m->hash_len = n;
	return skp_reader_end(&r);
}

void
skp_sshmsg_parse(const uint8_t *data, size_t len, struct skp_sshmsg *m)
{
	memset(m, 0, sizeof(*m));
	if (len >= 6 && memcmp(data, "SSHSIG", 6) == 0) {
		if (parse_sshsig(data, len, m) == SKP_OK) {
			m->kind = SKP_SSHMSG_SSHSIG;
			return;
		}
	} else if (parse_userauth(data, len, m) == SKP_OK) {
		m->kind = SKP_SSHMSG_USERAUTH;
		return;
	}
	memset(m, 0, sizeof(*m));
	m->kind = SKP_SSHMSG_OTHER;
}

static size_t
escape_char(unsigned char c, char esc[5])
{
	if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
		esc[0] = (char)c;
		esc[1] = '\0';
		return 1;
	}
	snprintf(esc, 5, "\\x%02x", c);
	return 4;
}

void
skp_sshmsg_printable(const char *s, char *out, size_t outlen)
{
	size_t o = 0, total = 0, n, room;
	const char *q;
	char esc[5];

	if (outlen == 0)
		return;
	for (q = s; *q != '\0'; q++)
		total += escape_char((unsigned char)*q, esc);
	/* Everything fits, or keep room for "..." and the NUL. */
	room = total < outlen ? outlen - 1 : (outlen > 4 ? outlen - 4 : 0);
	for (q = s; *q != '\0'; q++) {
		n = escape_char((unsigned char)*q, esc);
		if (o + n > room)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	if (total >= outlen && outlen > 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}
