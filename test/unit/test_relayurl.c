/*
 * The one relay URL parser (lib/relayurl.c, PROTOCOL.md §2.2): the cases
 * where the pairing check and the client's connect used to disagree, the
 * parts it returns, and that every caller now gives the same answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"

#include "harness.h"

static int
p(const char *s)
{
	const char *why = NULL;
	int rc;

	rc = skp_relayurl_parse(s, strlen(s), NULL, &why);
	/* Every refusal says why; an acceptance does not. */
	if (rc != SKP_OK)
		CHECK(why != NULL && why[0] != '\0');
	else
		CHECK(why == NULL);
	return rc;
}

static const char *good[] = {
	"ws://h",
	"wss://relay.example.org",
	"wss://relay.example.org/",
	"wss://Relay.Example.ORG:8443/sk",
	"ws://127.0.0.1:8080/",
	"ws://10.0.0.255:1",
	"ws://0.0.0.0:65535",
	"ws://[::1]:8080/x",
	"ws://[::1]",
	"ws://[2001:DB8::a:1]/relay",
	"ws://[::ffff:192.0.2.1]:80",
	"wss://a-b.c1.example/p/a%2Fb/~x_y.z-!$&'()*+,;=:@",
	"wss://9gag.example",
	"wss://1.example:443",
	"ws://x--y",
};

static const char *bad[] = {
	/* the disagreements of the review */
	"wss://relay.example.org?x=1",
	"wss://relay.example.org/?x=1",
	"ws://relay_x",
	"ws://relay_x:8080/",
	"ws://h:0080",
	"ws://h:080",
	/* scheme */
	"http://h", "WSS://h", "Ws://h", "wss:/h", "wss:h", "wss://", "ws://",
	/* host */
	"wss:///path", "wss://:443/", "wss://user@h/", "wss://u:p@h/",
	"wss://-h", "wss://h-", "wss://a..b", "wss://.a", "wss://a.",
	"wss://a.-b.c", "wss://h%41", "wss://h!",
	"ws://1.2.3", "ws://1.2.3.4.5", "ws://256.1.1.1", "ws://01.2.3.4",
	"ws://1.2.3.4.", "ws://127.1", "ws://12345",
	"wss://[]:1", "wss://[::1", "wss://[::1]x", "wss://[g::1]",
	"wss://[1:2:3:4:5:6:7:8:9]", "wss://[::1%25eth0]", "wss://[:::1]",
	"wss://[1.2.3.4]",
	/* port */
	"wss://h:", "wss://h:0", "wss://h:65536", "wss://h:99999",
	"wss://h:123456", "wss://h:0443", "wss://h:1:2", "wss://h:+1",
	"wss://h:-1", "wss://h: 1", "wss://h:1a", "wss://[::1]:",
	"wss://[::1]:0",
	/* path, query, fragment */
	"ws://h?x", "ws://h/#frag", "ws://h#frag", "wss://h/a b",
	"wss://h/\x7f", "wss://h/\xc3\xa9", "wss://h/%", "wss://h/%4",
	"wss://h/%zz", "wss://h/a\"b", "wss://h/<x>", "wss://h/a\\b",
	"wss://h/{x}", "wss://h/a|b", "wss://h/`", "wss://h/^",
	"wss://h/[x]",
};

static void
accepted(void)
{
	size_t i;

	for (i = 0; i < nitems(good); i++) {
		if (p(good[i]) != SKP_OK)
			fprintf(stderr, "refused: %s\n", good[i]);
		CHECK_RC(p(good[i]), SKP_OK);
	}
}

static void
refused(void)
{
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		if (p(bad[i]) != SKP_ERR_FORMAT)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_RC(p(bad[i]), SKP_ERR_FORMAT);
	}
	/* A NUL inside the given length is not the end. */
	CHECK_RC(skp_relayurl_parse("ws://h\0x", 8, NULL, NULL),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_relayurl_parse("ws://h/\0", 8, NULL, NULL),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_relayurl_parse(NULL, 0, NULL, NULL), SKP_ERR_FORMAT);
	CHECK_RC(skp_relayurl_parse("", 0, NULL, NULL), SKP_ERR_FORMAT);
}

static void
parts(void)
{
	struct skp_relayurl u;
	const char *why = "x";

	memset(&u, 0xee, sizeof(u));
	REQUIRE(skp_relayurl_parse("wss://Relay.example:8443/a/b", 28, &u,
	    &why) == SKP_OK);
	CHECK(why == NULL);
	CHECK(u.tls == 1 && u.ipv6 == 0 && u.port == 8443);
	CHECK(strcmp(u.host, "Relay.example") == 0);
	CHECK(strcmp(u.path, "/a/b") == 0);
	REQUIRE(skp_relayurl_parse("ws://[::1]", 10, &u, NULL) == SKP_OK);
	CHECK(u.tls == 0 && u.ipv6 == 1 && u.port == 80);
	CHECK(strcmp(u.host, "::1") == 0);
	CHECK(strcmp(u.path, "/") == 0);
	REQUIRE(skp_relayurl_parse("wss://h", 7, &u, NULL) == SKP_OK);
	CHECK(u.tls == 1 && u.port == 443 && strcmp(u.path, "/") == 0);
	/* Only len bytes count: the rest of the string is not read. */
	REQUIRE(skp_relayurl_parse("ws://h:1?junk", 8, &u, NULL) == SKP_OK);
	CHECK(u.port == 1 && strcmp(u.host, "h") == 0);
	/* A refusal leaves out as it was. */
	memset(&u, 0xee, sizeof(u));
	CHECK_RC(skp_relayurl_parse("ws://h:0080", 11, &u, NULL),
	    SKP_ERR_FORMAT);
	CHECK(u.port == 0xeeee);
}

static void
sizes(void)
{
	char big[400];
	size_t i;

	/* 255 bytes is the most: labels of 63 between dots. */
	memcpy(big, "ws://", 5);
	for (i = 5; i < sizeof(big); i++)
		big[i] = (i - 5) % 64 == 63 ? '.' : 'a';
	CHECK_RC(skp_relayurl_parse(big, 255, NULL, NULL), SKP_OK);
	CHECK_RC(skp_relayurl_parse(big, 256, NULL, NULL),
	    SKP_ERR_TOO_LARGE);
	big[5 + 240] = '/';
	CHECK_RC(skp_relayurl_parse(big, 255, NULL, NULL), SKP_OK);
	CHECK_RC(skp_relayurl_parse(big, 256, NULL, NULL),
	    SKP_ERR_TOO_LARGE);
	/* A label of 64 is too long. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "ws://", 5);
	CHECK_RC(skp_relayurl_parse(big, 5 + 63, NULL, NULL), SKP_OK);
	CHECK_RC(skp_relayurl_parse(big, 5 + 64, NULL, NULL),
	    SKP_ERR_FORMAT);
}

/*
 * One parser everywhere: the pairing check (URI, payloads, state files)
 * and the client's connect give the same answer for every case above.
 * connect_start refuses a URL before it touches the network.
 */
static void
callers_agree(void)
{
	skp_relay_t *r;
	size_t i;
	int want;

	REQUIRE((r = skp_relay_new(NULL)) != NULL);
	for (i = 0; i < nitems(bad); i++) {
		CHECK_RC(skp_pairuri_check_relay(bad[i], strlen(bad[i])),
		    SKP_ERR_FORMAT);
		CHECK_RC(skp_relay_connect_start(r, bad[i], 1000),
		    SKP_ERR_INVALID);
	}
	for (i = 0; i < nitems(good); i++) {
		want = p(good[i]);
		CHECK_RC(skp_pairuri_check_relay(good[i], strlen(good[i])),
		    want);
	}
	skp_relay_free(&r);
}

/* A relay list: 1-4 URLs joined by one space, each valid, none twice. */
static void
lists(void)
{
	char buf[SKP_RELAYLIST_MAX + 1], url[SKP_RELAYURL_MAX + 1];
	char big[SKP_RELAYURL_MAX + 1];
	const char *why = NULL;

	CHECK_RC(skp_relaylist_check("ws://a", 6, &why), SKP_OK);
	CHECK(why == NULL);
	CHECK_RC(skp_relaylist_check("ws://a wss://b:1/p", 17, NULL), SKP_OK);
	CHECK_RC(skp_relaylist_check("ws://a ws://b ws://c ws://d", 27, NULL),
	    SKP_OK);
	CHECK_RC(skp_relaylist_check("ws://a ws://b ws://c ws://d ws://e", 34,
	    &why), SKP_ERR_TOO_LARGE);
	CHECK(why != NULL);
	CHECK_RC(skp_relaylist_check("ws://a ws://a", 13, &why),
	    SKP_ERR_FORMAT);
	CHECK(why != NULL && strstr(why, "twice") != NULL);
	CHECK_RC(skp_relaylist_check("ws://a  ws://b", 14, NULL),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_relaylist_check(" ws://a", 7, NULL), SKP_ERR_FORMAT);
	CHECK_RC(skp_relaylist_check("ws://a ", 7, NULL), SKP_ERR_FORMAT);
	CHECK_RC(skp_relaylist_check("ws://a,ws://b", 13, NULL),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_relaylist_check("ws://a http://b", 15, NULL),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_relaylist_check("", 0, NULL), SKP_ERR_FORMAT);
	CHECK(skp_relaylist_count("") == 0);
	CHECK(skp_relaylist_count("ws://a") == 1);
	CHECK(skp_relaylist_count("ws://a ws://b ws://c") == 3);
	CHECK_RC(skp_relaylist_get("ws://a ws://bb ws://c", 1, url), SKP_OK);
	CHECK(strcmp(url, "ws://bb") == 0);
	CHECK_RC(skp_relaylist_get("ws://a ws://bb ws://c", 2, url), SKP_OK);
	CHECK(strcmp(url, "ws://c") == 0);
	CHECK_RC(skp_relaylist_get("ws://a", 1, url), SKP_ERR_NOT_FOUND);
	CHECK(url[0] == '\0');
	CHECK(skp_relaylist_has("ws://a ws://bb", "ws://bb"));
	CHECK(!skp_relaylist_has("ws://a ws://bb", "ws://b"));
	CHECK(!skp_relaylist_has("ws://a ws://bb", "ws://a ws://bb"));
	buf[0] = '\0';
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), "ws://a", NULL), SKP_OK);
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), "ws://b", NULL), SKP_OK);
	CHECK(strcmp(buf, "ws://a ws://b") == 0);
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), "ws://a", &why),
	    SKP_ERR_EXISTS);
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), "ws://a b", &why),
	    SKP_ERR_FORMAT);
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), "ws://c", NULL), SKP_OK);
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), "ws://d", NULL), SKP_OK);
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), "ws://e", &why),
	    SKP_ERR_TOO_LARGE);
	CHECK(strcmp(buf, "ws://a ws://b ws://c ws://d") == 0);
	/* Four URLs of 255 bytes fit the buffer exactly. */
	memset(big, 'a', SKP_RELAYURL_MAX);
	memcpy(big, "ws://h/", 7);
	big[SKP_RELAYURL_MAX] = '\0';
	buf[0] = '\0';
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), big, NULL), SKP_OK);
	big[8] = 'b';
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), big, NULL), SKP_OK);
	big[8] = 'c';
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), big, NULL), SKP_OK);
	big[8] = 'd';
	CHECK_RC(skp_relaylist_add(buf, sizeof(buf), big, NULL), SKP_OK);
	CHECK(strlen(buf) == SKP_RELAYLIST_MAX);
	CHECK_RC(skp_relaylist_check(buf, strlen(buf), NULL), SKP_OK);
}

static const struct skp_test_case cases[] = {
	{ "accepted", accepted },
	{ "refused", refused },
	{ "parts", parts },
	{ "sizes", sizes },
	{ "callers_agree", callers_agree },
	{ "lists", lists },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
