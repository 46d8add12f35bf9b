/* Unit tests for the pairing URI, its strict parser and the derivations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"
#include "harness.h"

/*
 * Vectors made at development time by /usr/bin/python3 with hashlib,
 * hmac (HKDF written out as RFC 5869 extract-then-expand with an empty
 * salt), base64.urlsafe_b64encode with "=" stripped,
 * urllib.parse.quote(safe=''), and python3-cryptography for the point
 * of the RFC 5903 section 8.1 initiator scalar.
 */
#define PUB_HEX	"04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3" \
		"7725811805271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58" \
		"389e0577b8990bb3"
#define PUB_B64	"BNrQtlOUIhz5sFHh_spXh9CY3-Y3_JC575RdDDdyWBGAUnGgRhzbglLWHx" \
		"xFb6PlmrH0WzOsz19YOJ4Fd7iZC7M"
#define SEC_B64	"AAECAwQFBgcICQoLDA0ODw"	/* bytes 00..0f */
#define RELAY	"wss://relay.example.com:8443/sk"
#define RELAY_E	"wss%3A%2F%2Frelay.example.com%3A8443%2Fsk"
#define NAME	"work laptop \xc3\xa9"
#define NAME_E	"work%20laptop%20%C3%A9"
#define VECTOR_URI "sk-phone://pair?v=2&k=" PUB_B64 "&s=" SEC_B64 \
		"&r=" RELAY_E "&n=" NAME_E "&t=1700000000"
/* The web form (PROTOCOL.md 2.1): the same query after the origin. */
#define QUERY	"v=2&k=" PUB_B64 "&s=" SEC_B64 "&r=" RELAY_E "&n=" NAME_E \
		"&t=1700000000"
#define WEB_URI	"https://relay.example.com:8443/#" QUERY
#define LOOP_RELAY "ws://127.0.0.1:8765"
/* Two URLs of one relay (PROTOCOL.md 2.5): v=3, r repeated in order. */
#define RELAY2	"wss://relay-b.example.com/sk"
#define RELAY2_E "wss%3A%2F%2Frelay-b.example.com%2Fsk"
#define LIST_QUERY "v=3&k=" PUB_B64 "&s=" SEC_B64 "&r=" RELAY_E "&r=" \
		RELAY2_E "&n=" NAME_E "&t=1700000000"
#define LIST_URI "sk-phone://pair?" LIST_QUERY
#define LIST_WEB_URI "https://relay.example.com:8443/#" LIST_QUERY
#define LOOP_URI "http://127.0.0.1:8765/#v=2&k=" PUB_B64 "&s=" SEC_B64 \
		"&r=ws%3A%2F%2F127.0.0.1%3A8765&n=" NAME_E "&t=1700000000"

static void
fill(struct skp_pairuri *u)
{
	size_t n, i;
	uint8_t *pub = skp_test_unhex(PUB_HEX, &n);

	memset(u, 0, sizeof(*u));
	memcpy(u->computer_pub, pub, sizeof(u->computer_pub));
	for (i = 0; i < sizeof(u->secret); i++)
		u->secret[i] = (uint8_t)i;
	snprintf(u->relay, sizeof(u->relay), "%s", RELAY);
	snprintf(u->name, sizeof(u->name), "%s", NAME);
	u->created = 1700000000;
	free(pub);
}

/* A URI from its parameter values, in the encoder's order, plus extra. */
static char *
mk(const char *v, const char *k, const char *s, const char *r,
    const char *n, const char *t, const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "sk-phone://pair?v=%s&k=%s&s=%s&r=%s&n=%s"
	    "&t=%s%s", v, k, s, r, n, t, extra);
	return buf;
}

static int
parse(const char *s)
{
	struct skp_pairuri u;

	return skp_pairuri_parse(s, strlen(s), &u);
}

static void
encode_vector(void)
{
	struct skp_pairuri u;
	char out[SKP_PAIRURI_MAX + 1];

	fill(&u);
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_OK);
	CHECK(strcmp(out, VECTOR_URI) == 0);
}

static void
parse_vector(void)
{
	struct skp_pairuri u, want;

	fill(&want);
	memset(&u, 0xee, sizeof(u));
	REQUIRE(skp_pairuri_parse(VECTOR_URI, strlen(VECTOR_URI), &u) ==
	    SKP_OK);
	CHECK_MEM(u.computer_pub, want.computer_pub, SKP_P256_PUB_LEN);
	CHECK_MEM(u.secret, want.secret, SKP_QR_SECRET_LEN);
	CHECK(strcmp(u.relay, RELAY) == 0);
	CHECK(strcmp(u.name, NAME) == 0);
	CHECK(u.created == 1700000000);
}

static void
web_vector(void)
{
	struct skp_pairuri u, want, v;
	char out[SKP_PAIRURI_MAX + 1];

	fill(&want);
	CHECK_RC(skp_pairuri_encode_web(&want, out, sizeof(out)), SKP_OK);
	CHECK(strcmp(out, WEB_URI) == 0);
	CHECK(strlen(WEB_URI) == 232);
	memset(&u, 0xee, sizeof(u));
	REQUIRE(skp_pairuri_parse(WEB_URI, strlen(WEB_URI), &u) == SKP_OK);
	CHECK(memcmp(&u, &want, sizeof(u)) == 0);
	/* A ws:// relay on loopback: http://, which browsers trust there. */
	memset(want.relay, 0, sizeof(want.relay));
	snprintf(want.relay, sizeof(want.relay), "%s", LOOP_RELAY);
	CHECK_RC(skp_pairuri_encode_web(&want, out, sizeof(out)), SKP_OK);
	CHECK(strcmp(out, LOOP_URI) == 0);
	CHECK(strlen(LOOP_URI) == 209);
	memset(&v, 0, sizeof(v));
	REQUIRE(skp_pairuri_parse(LOOP_URI, strlen(LOOP_URI), &v) == SKP_OK);
	CHECK(memcmp(&v, &want, sizeof(v)) == 0);
	/* Room for the URI but not its NUL: too large. */
	CHECK_RC(skp_pairuri_encode_web(&want, out, strlen(LOOP_URI)),
	    SKP_ERR_TOO_LARGE);
}

static void
web_origins(void)
{
	static const struct {
		const char *relay, *origin;
	} ok[] = {
		{ "wss://relay.example.com", "https://relay.example.com/#" },
		{ "wss://Relay.Example.org:8443/sk/a%2Fb",
		    "https://Relay.Example.org:8443/#" },
		{ "wss://[2001:db8::1]:9/x", "https://[2001:db8::1]:9/#" },
		{ "ws://localhost:8765", "http://localhost:8765/#" },
		{ "ws://[::1]:9000/r", "http://[::1]:9000/#" },
		{ "ws://127.5.6.7/", "http://127.5.6.7/#" },
	};
	static const char *not_web[] = {
		"ws://10.0.0.1:8765", "ws://relay.example.com",
		"ws://[2001:db8::1]:9", "ws://127.example.com",
	};
	struct skp_pairuri u, v;
	char out[SKP_PAIRURI_MAX + 1];
	size_t i;

	fill(&u);
	for (i = 0; i < nitems(ok); i++) {
		snprintf(u.relay, sizeof(u.relay), "%s", ok[i].relay);
		CHECK(skp_pairuri_web_ok(u.relay));
		CHECK_RC(skp_pairuri_encode_web(&u, out, sizeof(out)),
		    SKP_OK);
		CHECK(strncmp(out, ok[i].origin, strlen(ok[i].origin)) == 0);
		memset(&v, 0, sizeof(v));
		CHECK_RC(skp_pairuri_parse(out, strlen(out), &v), SKP_OK);
		CHECK(strcmp(v.relay, ok[i].relay) == 0);
	}
	for (i = 0; i < nitems(not_web); i++) {
		snprintf(u.relay, sizeof(u.relay), "%s", not_web[i]);
		CHECK(!skp_pairuri_web_ok(u.relay));
		CHECK_RC(skp_pairuri_encode_web(&u, out, sizeof(out)),
		    SKP_ERR_FORMAT);
	}
}

static void
refuse_web_form(void)
{
	/* Every origin but the one r gives, and other spellings of it. */
	static const char *bad[] = {
		"https://other.example.com:8443/#",
		"https://relay.example.com/#",
		"https://relay.example.com:443/#",
		"https://relay.example.com:8443#",
		"https://relay.example.com:8443/sk#",
		"https://relay.example.com:8443/?#",
		"https://u@relay.example.com:8443/#",
		"https://RELAY.example.com:8443/#",
		"HTTPS://relay.example.com:8443/#",
		"http://relay.example.com:8443/#",
		"wss://relay.example.com:8443/#",
		"https://relay.example.com:8443/##",
		"https://relay.example.com:8443/#&",
		"https://relay.example.com:8443/#?",
	};
	char buf[2048];
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		snprintf(buf, sizeof(buf), "%s%s", bad[i], QUERY);
		CHECK_RC(parse(buf), SKP_ERR_FORMAT);
	}
	CHECK_RC(parse("https://relay.example.com:8443/"), SKP_ERR_FORMAT);
	CHECK_RC(parse("https://relay.example.com:8443/#"), SKP_ERR_FORMAT);
	/* https for a ws:// relay on loopback, http for another ws:// one. */
	snprintf(buf, sizeof(buf), "https://127.0.0.1:8765/#%s",
	    strchr(LOOP_URI, '#') + 1);
	CHECK_RC(parse(buf), SKP_ERR_FORMAT);
	snprintf(buf, sizeof(buf), "http://10.0.0.1:8765/#v=2&k=" PUB_B64
	    "&s=" SEC_B64 "&r=ws%%3A%%2F%%2F10.0.0.1%%3A8765&n=a&t=1");
	CHECK_RC(parse(buf), SKP_ERR_FORMAT);
	/* The version rule comes first in this form too. */
	CHECK_RC(parse("https://relay.example.com:8443/#v=4&x"),
	    SKP_ERR_VERSION);
	CHECK_RC(parse("https://relay.example.com:8443/#v=1"),
	    SKP_ERR_OLD_VERSION);
}

static void
roundtrip_random(void)
{
	struct skp_p256_key k;
	struct skp_pairuri u, v;
	char out[SKP_PAIRURI_MAX + 1];
	int i;

	for (i = 0; i < 20; i++) {
		memset(&u, 0, sizeof(u));
		REQUIRE(skp_p256_generate(&k) == SKP_OK);
		memcpy(u.computer_pub, k.pub, sizeof(k.pub));
		REQUIRE(skp_random(u.secret, sizeof(u.secret)) == SKP_OK);
		snprintf(u.relay, sizeof(u.relay), "ws://[::1]:%d/r/%d",
		    1000 + i, i);
		snprintf(u.name, sizeof(u.name), "phone~%d \xf0\x9f\x93\xb1",
		    i);
		u.created = (uint64_t)i * 1000003u;
		REQUIRE(skp_pairuri_encode(&u, out, sizeof(out)) == SKP_OK);
		memset(&v, 0, sizeof(v));
		CHECK_RC(skp_pairuri_parse(out, strlen(out), &v), SKP_OK);
		CHECK(memcmp(&u, &v, sizeof(u)) == 0);
	}
	skp_wipe(&k, sizeof(k));
}

static void
parse_any_order_and_lower_hex(void)
{
	const char *s = "sk-phone://pair?t=5&n=a%c3%a9&r=ws%3a%2f%2fh&s="
	    SEC_B64 "&k=" PUB_B64 "&v=2";
	struct skp_pairuri u;

	REQUIRE(skp_pairuri_parse(s, strlen(s), &u) == SKP_OK);
	CHECK(strcmp(u.name, "a\xc3\xa9") == 0);
	CHECK(strcmp(u.relay, "ws://h") == 0);
	CHECK(u.created == 5);
}

static void
refuse_scheme_and_path(void)
{
	static const char *bad[] = {
		"SK-PHONE://pair?v=2",
		"sk-phone:/pair?v=2",
		"sk-phone://Pair?v=2",
		"sk-phone://pair/?v=2",
		"sk-phone://pairs?v=2",
		"https://pair?v=2",
		"sk-phone://pair",
		"sk-phone://pair?",
		"",
	};
	char good[1024];
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		CHECK_RC(parse(bad[i]), SKP_ERR_FORMAT);
	/* The same tail after a wrong prefix. */
	snprintf(good, sizeof(good), "sk-phone://pairing?%s",
	    strchr(VECTOR_URI, '?') + 1);
	CHECK_RC(parse(good), SKP_ERR_FORMAT);
	snprintf(good, sizeof(good), " %s", VECTOR_URI);
	CHECK_RC(parse(good), SKP_ERR_FORMAT);
}

static void
refuse_unknown_param(void)
{
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&x=1")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&vv=2")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&n")), SKP_ERR_FORMAT);
	/* Sanity: the same without the extra parameter is fine. */
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "")), SKP_OK);
}

static void
refuse_repeated_param(void)
{
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&n=b")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&v=2")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&t=1")), SKP_ERR_FORMAT);
}

static void
refuse_missing_param(void)
{
	const char *tail = strchr(VECTOR_URI, '?') + 1;
	static const char names[] = "vksrnt";
	char buf[1024], *w;
	const char *f, *e;
	size_t i;

	/* Drop each parameter of the vector in turn. */
	for (i = 0; i < strlen(names); i++) {
		w = buf + snprintf(buf, sizeof(buf), "sk-phone://pair?");
		for (f = tail; *f != '\0'; f = *e ? e + 1 : e) {
			e = strchrnul(f, '&');
			if (*f == names[i])
				continue;
			if (w[-1] != '?')
				*w++ = '&';
			memcpy(w, f, (size_t)(e - f));
			w += e - f;
		}
		*w = '\0';
		CHECK_RC(parse(buf), SKP_ERR_FORMAT);
	}
}

static void
refuse_empty_field(void)
{
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2&", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "",
	    "")), SKP_ERR_FORMAT);
}

static void
refuse_newer_version(void)
{
	CHECK_RC(parse(mk("4", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "")), SKP_ERR_VERSION);
	CHECK_RC(parse(mk("10", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "")), SKP_ERR_VERSION);
	CHECK_RC(parse(mk("123456789012345678901234567890", PUB_B64,
	    SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")), SKP_ERR_VERSION);
	/* A newer version may add parameters or change the others. */
	CHECK_RC(parse(mk("4", "x", "y", "z", "", "", "&q=new")),
	    SKP_ERR_VERSION);
	CHECK_RC(parse("sk-phone://pair?v=4"), SKP_ERR_VERSION);
	CHECK_RC(parse("sk-phone://pair?v=18446744073709551616"),
	    SKP_ERR_VERSION);
	/* Not a number, or a leading zero: malformed, not newer. */
	CHECK_RC(parse("sk-phone://pair?v=04"), SKP_ERR_FORMAT);
	CHECK_RC(parse("sk-phone://pair?v=4a"), SKP_ERR_FORMAT);
	CHECK(skp_pairuri_newer_version("3", 1, 3) == 0);
	CHECK(skp_pairuri_newer_version("4", 1, 3) == 1);
	CHECK(skp_pairuri_newer_version("", 0, 3) == 0);
	CHECK(skp_pairuri_newer_version("99999999999999999999", 20, 3) == 1);
}

/* Protocol 1's URI: refused as older, whatever else it holds. */
static void
refuse_old_version(void)
{
	CHECK_RC(parse(mk("1", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "")), SKP_ERR_OLD_VERSION);
	CHECK_RC(parse(mk("1", "x", "y", "z", "", "", "&q=new")),
	    SKP_ERR_OLD_VERSION);
	CHECK_RC(parse("sk-phone://pair?v=1"), SKP_ERR_OLD_VERSION);
	CHECK(strstr(skp_strerror(SKP_ERR_OLD_VERSION), "older") != NULL);
}

static void
refuse_bad_version(void)
{
	static const char *bad[] = { "0", "02", "", "2.0", "+2", "-2", "2a",
	    "%32", "01" };
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		CHECK_RC(parse(mk(bad[i], PUB_B64, SEC_B64, "ws%3A%2F%2Fh",
		    "a", "1", "")), SKP_ERR_FORMAT);
}

static void
refuse_bad_key(void)
{
	char k[128];
	struct skp_pairuri u;
	char out[SKP_PAIRURI_MAX + 1];

	/* Flip the last Y character: almost surely off the curve. */
	snprintf(k, sizeof(k), "%s", PUB_B64);
	k[strlen(k) - 2] = k[strlen(k) - 2] == 'A' ? 'B' : 'A';
	CHECK_RC(parse(mk("2", k, SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_CRYPTO);
	/* 0x02 prefix: a compressed point spelled in 65 bytes. */
	snprintf(k, sizeof(k), "%s", PUB_B64);
	k[0] = 'A';
	k[1] = 'r';
	CHECK_RC(parse(mk("2", k, SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_CRYPTO);
	/* Too short, too long, padded, non-url alphabet. */
	snprintf(k, sizeof(k), "%.86s", PUB_B64);
	CHECK_RC(parse(mk("2", k, SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_FORMAT);
	snprintf(k, sizeof(k), "%sAAAA", PUB_B64);
	CHECK_RC(parse(mk("2", k, SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_FORMAT);
	snprintf(k, sizeof(k), "%s=", PUB_B64);
	CHECK_RC(parse(mk("2", k, SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_FORMAT);
	snprintf(k, sizeof(k), "%s", PUB_B64);
	k[5] = '+';
	CHECK_RC(parse(mk("2", k, SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_FORMAT);
	/* Non-zero leftover bits: a second spelling of the same bytes. */
	snprintf(k, sizeof(k), "%s", PUB_B64);
	k[strlen(k) - 1] = 'N';
	CHECK_RC(parse(mk("2", k, SEC_B64, "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_FORMAT);
	/* The encoder refuses it too. */
	fill(&u);
	u.computer_pub[64] ^= 1;
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_CRYPTO);
}

static void
refuse_bad_secret(void)
{
	CHECK_RC(parse(mk("2", PUB_B64, "AAECAwQFBgcICQoLDA0O", "ws%3A%2F%2Fh",
	    "a", "1", "")), SKP_ERR_FORMAT);			/* 15 bytes */
	CHECK_RC(parse(mk("2", PUB_B64, "AAECAwQFBgcICQoLDA0ODxA",
	    "ws%3A%2F%2Fh", "a", "1", "")), SKP_ERR_FORMAT);	/* 17 */
	CHECK_RC(parse(mk("2", PUB_B64, "AAECAwQFBgcICQoLDA0ODw==",
	    "ws%3A%2F%2Fh", "a", "1", "")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, "", "ws%3A%2F%2Fh", "a", "1", "")),
	    SKP_ERR_FORMAT);
}

static int
relay(const char *url)
{
	return skp_pairuri_check_relay(url, strlen(url));
}

/*
 * The full grammar is tested in test_relayurl.c; this is the pairing
 * check's share of it (it is the same parser).
 */
static void
relay_rules(void)
{
	CHECK_RC(relay("ws://h"), SKP_OK);
	CHECK_RC(relay("wss://relay.example.com"), SKP_OK);
	CHECK_RC(relay("ws://127.0.0.1:8080/"), SKP_OK);
	CHECK_RC(relay("ws://[::1]:8080/x"), SKP_OK);
	CHECK_RC(relay("wss://relay.example.com:443/a/b?c=d&e"),
	    SKP_ERR_FORMAT);
	CHECK_RC(relay("ws://h?x"), SKP_ERR_FORMAT);
	CHECK_RC(relay("ws://relay_x"), SKP_ERR_FORMAT);
	CHECK_RC(relay("http://h"), SKP_ERR_FORMAT);
	CHECK_RC(relay("wss://user@h/"), SKP_ERR_FORMAT);
	CHECK_RC(relay("wss://h/#frag"), SKP_ERR_FORMAT);
	CHECK_RC(relay("wss://h:0443"), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_relay("ws://h\0x", 8), SKP_ERR_FORMAT);
}

static void
refuse_bad_relay_in_uri(void)
{
	char r[1024];
	size_t i, j;

	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "http%3A%2F%2Fh", "a", "1",
	    "")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2F", "a", "1",
	    "")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh%00", "a", "1",
	    "")), SKP_ERR_FORMAT);
	/* Literal reserved characters must be percent-encoded. */
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws://h", "a", "1", "")),
	    SKP_ERR_FORMAT);
	/* 256 decoded bytes. */
	i = (size_t)snprintf(r, sizeof(r), "ws%%3A%%2F%%2F");
	for (j = 0; j < 251; j++)	/* labels of 63 between dots */
		r[i + j] = j % 64 == 63 ? '.' : 'a';
	r[i + 251] = '\0';
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, r, "a", "1", "")),
	    SKP_ERR_TOO_LARGE);
	r[i + 250] = '\0';
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, r, "a", "1", "")), SKP_OK);
}

static void
name_rules(void)
{
	char big[80];

	CHECK_RC(skp_pairuri_check_name("a", 1), SKP_OK);
	CHECK_RC(skp_pairuri_check_name("\xf0\x9f\x93\xb1 \xe6\x89\x8b", 8),
	    SKP_OK);
	CHECK_RC(skp_pairuri_check_name("", 0), SKP_ERR_FORMAT);
	memset(big, 'n', sizeof(big));
	CHECK_RC(skp_pairuri_check_name(big, 64), SKP_OK);
	CHECK_RC(skp_pairuri_check_name(big, 65), SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_pairuri_check_name("a\nb", 3), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("a\0b", 3), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("a\tb", 3), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("a\x7f", 2), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("a\xc2\x85", 3), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("a\x1b[31m", 6), SKP_ERR_FORMAT);
	/* Bidi override and line separator. */
	CHECK_RC(skp_pairuri_check_name("a\xe2\x80\xae", 4), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("a\xe2\x81\xa6", 4), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("a\xe2\x80\xa8", 4), SKP_ERR_FORMAT);
	/* Not UTF-8: truncated, stray continuation, overlong, surrogate,
	 * past U+10FFFF, 0xff. */
	CHECK_RC(skp_pairuri_check_name("a\xc3", 2), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("\x80", 1), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("\xc0\xaf", 2), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("\xe0\x80\xaf", 3), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("\xed\xa0\x80", 3), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("\xf4\x90\x80\x80", 4),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("\xff", 1), SKP_ERR_FORMAT);
	CHECK_RC(skp_pairuri_check_name("\xe6\x89", 2), SKP_ERR_FORMAT);
}

static void
refuse_bad_name_in_uri(void)
{
	static const char *bad[] = { "", "a%0Ab", "%00", "%7F", "%C3",
	    "%C0%AF", "a+b", "a b", "a%", "a%4", "a%zz", "a/b", "%E2%80%AE" };
	char n[512];
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", bad[i],
		    "1", "")), SKP_ERR_FORMAT);
	/* 65 decoded bytes; 64 are fine. */
	memset(n, 'a', 65);
	n[65] = '\0';
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", n, "1", "")),
	    SKP_ERR_TOO_LARGE);
	n[64] = '\0';
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", n, "1", "")),
	    SKP_OK);
}

static void
time_rules(void)
{
	static const char *bad[] = { "", "01", "00", "-1", "+1", "1.5",
	    "1e9", "18446744073709551616", "99999999999999999999",
	    "%31" };
	struct skp_pairuri u;
	const char *s;
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a",
		    bad[i], "")), SKP_ERR_FORMAT);
	s = mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a",
	    "18446744073709551615", "");
	REQUIRE(skp_pairuri_parse(s, strlen(s), &u) == SKP_OK);
	CHECK(u.created == UINT64_MAX);
	s = mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "0", "");
	REQUIRE(skp_pairuri_parse(s, strlen(s), &u) == SKP_OK);
	CHECK(u.created == 0);
}

static void
refuse_too_long(void)
{
	char buf[SKP_PAIRURI_MAX + 64];
	struct skp_pairuri u;
	char out[SKP_PAIRURI_MAX + 1];
	size_t n;

	/* Over the cap before anything else is looked at. */
	n = (size_t)snprintf(buf, sizeof(buf), "%s", VECTOR_URI);
	memset(buf + n, 'x', sizeof(buf) - n);
	CHECK_RC(skp_pairuri_parse(buf, SKP_PAIRURI_MAX + 1, &u),
	    SKP_ERR_TOO_LARGE);
	/* The encoder refuses what the parser would. */
	fill(&u);
	memset(u.relay, '/', SKP_RELAY_URL_MAX);
	memcpy(u.relay, "ws://h", 6);
	u.relay[SKP_RELAY_URL_MAX] = '\0';
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_OK);
	for (n = 0; n + 2 <= SKP_NAME_MAX; n += 2)
		memcpy(u.name + n, "\xc3\xa9", 2);
	u.name[n] = '\0';
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_TOO_LARGE);
	/* And a caller's buffer that is too small. */
	fill(&u);
	CHECK_RC(skp_pairuri_encode(&u, out, strlen(VECTOR_URI)),
	    SKP_ERR_TOO_LARGE);
	CHECK_RC(skp_pairuri_encode(&u, out, strlen(VECTOR_URI) + 1), SKP_OK);
}

static void
encode_refuses_bad_fields(void)
{
	struct skp_pairuri u;
	char out[SKP_PAIRURI_MAX + 1];

	fill(&u);
	snprintf(u.relay, sizeof(u.relay), "https://h");
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_FORMAT);
	fill(&u);
	u.name[0] = '\0';
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_FORMAT);
	fill(&u);
	memset(u.name, 'a', sizeof(u.name));	/* no NUL */
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_TOO_LARGE);
	fill(&u);
	u.name[0] = '\n';
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_FORMAT);
}

static void
parse_failure_leaves_output(void)
{
	struct skp_pairuri u, before;
	const char *s = mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "01",
	    "");

	memset(&u, 0x5a, sizeof(u));
	memcpy(&before, &u, sizeof(u));
	CHECK_RC(skp_pairuri_parse(s, strlen(s), &u), SKP_ERR_FORMAT);
	CHECK(memcmp(&u, &before, sizeof(u)) == 0);
}

static void
freshness(void)
{
	struct skp_pairuri u;

	fill(&u);
	CHECK_RC(skp_pairuri_check_fresh(&u, u.created), SKP_OK);
	CHECK_RC(skp_pairuri_check_fresh(&u, u.created + 300), SKP_OK);
	CHECK_RC(skp_pairuri_check_fresh(&u, u.created + 301),
	    SKP_ERR_EXPIRED);
	CHECK_RC(skp_pairuri_check_fresh(&u, u.created - 60), SKP_OK);
	CHECK_RC(skp_pairuri_check_fresh(&u, u.created - 61),
	    SKP_ERR_EXPIRED);
	CHECK_RC(skp_pairuri_check_fresh(&u, 0), SKP_ERR_EXPIRED);
	CHECK_RC(skp_pairuri_check_fresh(&u, UINT64_MAX), SKP_ERR_EXPIRED);
	u.created = 0;
	CHECK_RC(skp_pairuri_check_fresh(&u, 1700000000), SKP_ERR_EXPIRED);
}

static void
check_hex(const uint8_t *got, size_t n, const char *hex)
{
	size_t wl;
	uint8_t *want = skp_test_unhex(hex, &wl);

	CHECK(wl == n);
	CHECK_MEM(got, want, n);
	free(want);
}

static void
derive_from_qr_secret(void)
{
	uint8_t s[SKP_QR_SECRET_LEN], out[32];
	size_t i;

	for (i = 0; i < sizeof(s); i++)
		s[i] = (uint8_t)i;
	CHECK_RC(skp_pairuri_rendezvous_id(s, out), SKP_OK);
	check_hex(out, 32, "8f4057b8989fa2046f1bb6f264e287bd"
	    "b42bbaf204d69f0a106b6f5ba00cb53a");
	CHECK_RC(skp_pairuri_pairing_psk(s, out), SKP_OK);
	check_hex(out, 32, "764536b692404fb8e99b7f81bee1ffe0"
	    "ef1c8ad978c82c3c04abb8def403813a");
}

static void
derive_from_handshake_hash(void)
{
	uint8_t h[SKP_HANDSHAKE_HASH_LEN], out[32];
	char text[SKP_CONFIRM_CODE_LEN + 1];
	uint32_t code = 0;
	size_t i;

	for (i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)(0x20 + i);
	/* HKDF output 4350237f = 1129325439; mod 10^6 = 325439. */
	CHECK_RC(skp_pairuri_confirm_code(h, &code, text), SKP_OK);
	CHECK(code == 325439);
	CHECK(strcmp(text, "325439") == 0);
	CHECK_RC(skp_pairuri_request_psk(h, out), SKP_OK);
	check_hex(out, 32, "91ffc90a23bc53ca6af44b3bc758887b"
	    "ef97f94aaae7160933fffc0074bcecab");
	/* Leading zeros are kept: h = 32 bytes of 0x24 gives 9582. */
	memset(h, 0x24, sizeof(h));
	CHECK_RC(skp_pairuri_confirm_code(h, &code, text), SKP_OK);
	CHECK(code == 9582);
	CHECK(strcmp(text, "009582") == 0);
	CHECK_RC(skp_pairuri_confirm_code(h, NULL, text), SKP_OK);
	CHECK(strcmp(text, "009582") == 0);
}

static void
derive_ids(void)
{
	uint8_t out[32];
	size_t n;
	uint8_t *pub = skp_test_unhex(PUB_HEX, &n);

	CHECK_RC(skp_pairuri_phone_id(pub, out), SKP_OK);
	check_hex(out, 16, "320e65a0432b88f32b0c3fa9e0125fd6");
	/* The mailbox id is the relay's: test/relay/test_relay_units.c. */
	free(pub);
}

/* Several URLs of one relay: v=3, one r each, in order (§2.1). */
static void
list_vector(void)
{
	struct skp_pairuri u, v;
	char out[SKP_PAIRURI_MAX + 1];

	fill(&u);
	snprintf(u.relay, sizeof(u.relay), "%s %s", RELAY, RELAY2);
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_OK);
	CHECK(strcmp(out, LIST_URI) == 0);
	CHECK(strlen(LIST_URI) == 255);
	memset(&v, 0xee, sizeof(v));
	REQUIRE(skp_pairuri_parse(LIST_URI, strlen(LIST_URI), &v) == SKP_OK);
	CHECK(memcmp(&u, &v, sizeof(u)) == 0);
	CHECK(strcmp(v.relay, RELAY " " RELAY2) == 0);
	/* The web form takes the first URL's origin. */
	CHECK_RC(skp_pairuri_encode_web(&u, out, sizeof(out)), SKP_OK);
	CHECK(strcmp(out, LIST_WEB_URI) == 0);
	CHECK(strlen(LIST_WEB_URI) == 271);
	memset(&v, 0, sizeof(v));
	REQUIRE(skp_pairuri_parse(LIST_WEB_URI, strlen(LIST_WEB_URI), &v) ==
	    SKP_OK);
	CHECK(memcmp(&u, &v, sizeof(u)) == 0);
	/* Order is kept: the other order is another list. */
	snprintf(u.relay, sizeof(u.relay), "%s %s", RELAY2, RELAY);
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_OK);
	memset(&v, 0, sizeof(v));
	REQUIRE(skp_pairuri_parse(out, strlen(out), &v) == SKP_OK);
	CHECK(strcmp(v.relay, RELAY2 " " RELAY) == 0);
	/* Four URLs, the most. */
	snprintf(u.relay, sizeof(u.relay), "ws://a ws://b ws://c ws://d");
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_OK);
	CHECK(strstr(out, "?v=3&") != NULL);
	memset(&v, 0, sizeof(v));
	CHECK_RC(skp_pairuri_parse(out, strlen(out), &v), SKP_OK);
	CHECK(strcmp(v.relay, "ws://a ws://b ws://c ws://d") == 0);
}

static void
refuse_list(void)
{
	struct skp_pairuri u;
	char out[SKP_PAIRURI_MAX + 1], buf[2048];

	/* v=2 has exactly one r; v=3 two to four, distinct. */
	CHECK_RC(parse(mk("2", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=ws%3A%2F%2Fg")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=ws%3A%2F%2Fh")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=ws%3A%2F%2Fg")), SKP_OK);
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=ws%3A%2F%2Fg&r=ws%3A%2F%2Ff&r=ws%3A%2F%2Fe")), SKP_OK);
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=ws%3A%2F%2Fg&r=ws%3A%2F%2Ff&r=ws%3A%2F%2Fe&r=ws%3A%2F%2Fd")),
	    SKP_ERR_FORMAT);
	/* Each r follows the relay rules; an empty one is no URL. */
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=http%3A%2F%2Fg")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=")), SKP_ERR_FORMAT);
	CHECK_RC(parse(mk("3", PUB_B64, SEC_B64, "ws%3A%2F%2Fh", "a", "1",
	    "&r=ws%3A%2F%2Fg%00")), SKP_ERR_FORMAT);
	/* r anywhere: the order among the r is the list's. */
	CHECK_RC(parse("sk-phone://pair?r=ws%3A%2F%2Fg&v=3&k=" PUB_B64
	    "&s=" SEC_B64 "&n=a&r=ws%3A%2F%2Fh&t=1"), SKP_OK);
	/* The web form's origin is the first URL's, not another's. */
	snprintf(buf, sizeof(buf), "https://relay-b.example.com/#%s",
	    LIST_QUERY);
	CHECK_RC(parse(buf), SKP_ERR_FORMAT);
	/* The encoder refuses what the parser would. */
	fill(&u);
	snprintf(u.relay, sizeof(u.relay), "ws://a ws://a");
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_FORMAT);
	snprintf(u.relay, sizeof(u.relay), "ws://a ws://b ws://c ws://d "
	    "ws://e");
	CHECK(skp_pairuri_encode(&u, out, sizeof(out)) != SKP_OK);
	snprintf(u.relay, sizeof(u.relay), "ws://a  ws://b");
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_FORMAT);
	snprintf(u.relay, sizeof(u.relay), "ws://a ");
	CHECK_RC(skp_pairuri_encode(&u, out, sizeof(out)), SKP_ERR_FORMAT);
}

static const struct skp_test_case cases[] = {
	{ "list_vector", list_vector },
	{ "refuse_list", refuse_list },
	{ "encode_vector", encode_vector },
	{ "parse_vector", parse_vector },
	{ "web_vector", web_vector },
	{ "web_origins", web_origins },
	{ "refuse_web_form", refuse_web_form },
	{ "roundtrip_random", roundtrip_random },
	{ "parse_any_order_and_lower_hex", parse_any_order_and_lower_hex },
	{ "refuse_scheme_and_path", refuse_scheme_and_path },
	{ "refuse_unknown_param", refuse_unknown_param },
	{ "refuse_repeated_param", refuse_repeated_param },
	{ "refuse_missing_param", refuse_missing_param },
	{ "refuse_empty_field", refuse_empty_field },
	{ "refuse_newer_version", refuse_newer_version },
	{ "refuse_old_version", refuse_old_version },
	{ "refuse_bad_version", refuse_bad_version },
	{ "refuse_bad_key", refuse_bad_key },
	{ "refuse_bad_secret", refuse_bad_secret },
	{ "relay_rules", relay_rules },
	{ "refuse_bad_relay_in_uri", refuse_bad_relay_in_uri },
	{ "name_rules", name_rules },
	{ "refuse_bad_name_in_uri", refuse_bad_name_in_uri },
	{ "time_rules", time_rules },
	{ "refuse_too_long", refuse_too_long },
	{ "encode_refuses_bad_fields", encode_refuses_bad_fields },
	{ "parse_failure_leaves_output", parse_failure_leaves_output },
	{ "freshness", freshness },
	{ "derive_from_qr_secret", derive_from_qr_secret },
	{ "derive_from_handshake_hash", derive_from_handshake_hash },
	{ "derive_ids", derive_ids },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
