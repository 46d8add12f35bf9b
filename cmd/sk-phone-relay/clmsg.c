/* sk-phone-relay: the messages between relay nodes (docs/PROTOCOL.md §7.12). */
#include <stdint.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#include "relayd.h"

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* [A-Za-z0-9._-], 1 to RELAYD_NODE_MAX bytes. */
int
relayd_node_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > RELAYD_NODE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return 0;
	}
	return 1;
}

/* The body's length for each type; -1: any (DATA). */
static int
body_len(uint8_t type)
{
	switch (type) {
	case CLM_CALL:
	case CLM_MEET:
		return SKP_RELAY_ID_LEN + 4;
	case CLM_ONLINE:
	case CLM_NOTHERE:
	case CLM_PEER:
	case CLM_NOPEER:
		return 0;
	case CLM_END:
		return 2;
	case CLM_REPLACED:
	case CLM_WAKE:
		return SKP_RELAY_ID_LEN;
	case CLM_DATA:
		return -1;
	default:
		return -2;
	}
}

size_t
relayd_clmsg_size(const struct clmsg *m)
{
	int bl = body_len(m->type);

	return CLM_FIXED + strlen(m->node) + (size_t)(bl == -1 ? (int)m->len :
	    bl);
}

/* Writes m into out (relayd_clmsg_size() bytes); the length. */
size_t
relayd_clmsg_encode(const struct clmsg *m, uint8_t *out)
{
	size_t nl = strlen(m->node), o;

	out[0] = CLM_VERSION;
	out[1] = m->type;
	out[2] = (uint8_t)nl;
	memcpy(out + 3, m->node, nl);
	o = 3 + nl;
	put64(out + o, m->to);
	put64(out + o + 8, m->from);
	o += 16;
	switch (m->type) {
	case CLM_CALL:
	case CLM_MEET:
		memcpy(out + o, m->id, SKP_RELAY_ID_LEN);
		o += SKP_RELAY_ID_LEN;
		out[o++] = (uint8_t)(m->timeout_ms >> 24);
		out[o++] = (uint8_t)(m->timeout_ms >> 16);
		out[o++] = (uint8_t)(m->timeout_ms >> 8);
		out[o++] = (uint8_t)m->timeout_ms;
		break;
	case CLM_END:
		out[o++] = (uint8_t)(m->code >> 8);
		out[o++] = (uint8_t)m->code;
		break;
	case CLM_REPLACED:
	case CLM_WAKE:
		memcpy(out + o, m->id, SKP_RELAY_ID_LEN);
		o += SKP_RELAY_ID_LEN;
		break;
	case CLM_DATA:
		if (m->len > 0)
			memcpy(out + o, m->data, m->len);
		o += m->len;
		break;
	default:
		break;
	}
	return o;
}

/*
 * Strict: the version, a known type, a valid sender name, the exact body
 * length, the ids where the type needs them and a code 4000..4999. DATA
 * points into p.
 */
int
relayd_clmsg_parse(const uint8_t *p, size_t n, struct clmsg *m)
{
	size_t nl, o;
	int bl;

	memset(m, 0, sizeof(*m));
	if (n < CLM_FIXED || p[0] != CLM_VERSION)
		return SKP_ERR_FORMAT;
	m->type = p[1];
	nl = p[2];
	if ((bl = body_len(m->type)) == -2 || n < CLM_FIXED + nl ||
	    !relayd_node_name_ok((const char *)p + 3, nl))
		return SKP_ERR_FORMAT;
	memcpy(m->node, p + 3, nl);
	m->node[nl] = '\0';
	o = 3 + nl;
	m->to = get64(p + o);
	m->from = get64(p + o + 8);
	o += 16;
	if (bl >= 0 && n - o != (size_t)bl)
		return SKP_ERR_FORMAT;
	switch (m->type) {
	case CLM_CALL:
	case CLM_MEET:
		if (m->to != 0 || m->from == 0)
			return SKP_ERR_FORMAT;
		memcpy(m->id, p + o, SKP_RELAY_ID_LEN);
		o += SKP_RELAY_ID_LEN;
		m->timeout_ms = (uint32_t)p[o] << 24 | (uint32_t)p[o + 1] << 16 |
		    (uint32_t)p[o + 2] << 8 | p[o + 3];
		break;
	case CLM_ONLINE:
	case CLM_PEER:
		if (m->to == 0 || m->from == 0)
			return SKP_ERR_FORMAT;
		break;
	case CLM_NOTHERE:
	case CLM_NOPEER:
	case CLM_END:
		if (m->to == 0)
			return SKP_ERR_FORMAT;
		if (m->type == CLM_END) {
			m->code = (uint16_t)(p[o] << 8 | p[o + 1]);
			if (m->code < 4000 || m->code > 4999)
				return SKP_ERR_FORMAT;
		}
		break;
	case CLM_REPLACED:
	case CLM_WAKE:
		if (m->to != 0 || m->from != 0)
			return SKP_ERR_FORMAT;
		memcpy(m->id, p + o, SKP_RELAY_ID_LEN);
		break;
	case CLM_DATA:
		if (m->to == 0 || m->from == 0 ||
		    n - o > SKP_RELAY_MAX_FRAME - SKP_RELAY_HDR_LEN)
			return SKP_ERR_FORMAT;
		m->data = p + o;
		m->len = n - o;
		break;
	}
	return SKP_OK;
}
