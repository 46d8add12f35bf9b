/*
 * The connection keeper's local protocol (lib/keeper.c, PROTOCOL.md §11):
 * the vectors of §11.4, and the frames each side refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/keeper.h"
#include "sk-phone/relay.h"

#include "harness.h"

/* §11.4, without the length in front. */
#define V_OPEN	"4000000000010000753000137773" \
		"3a2f2f3132372e302e302e313a38303830"
#define V_READY	"c000000000"
#define V_FAILED "c100000000010000" "72656c617920646f776e"

static void
open_vector(void)
{
	struct skp_keeper_open o;
	uint8_t *want, *got = NULL;
	size_t wlen, glen = 0;

	want = skp_test_unhex(V_OPEN, &wlen);
	CHECK(wlen == 0x1f);
	CHECK_RC(skp_keeper_open_encode("ws://127.0.0.1:8080", NULL, 0, 30000,
	    &got, &glen), SKP_OK);
	REQUIRE(got != NULL);
	CHECK(glen == wlen && memcmp(got, want, wlen) == 0);
	CHECK_RC(skp_keeper_parse_open(want, wlen, &o), SKP_OK);
	CHECK(o.version == 1 && o.connect_ms == 30000 && o.url_len == 19 &&
	    memcmp(o.url, "ws://127.0.0.1:8080", 19) == 0 && o.ca_len == 0);
	free(got);
	/* With CA certificates: the rest of the body. */
	CHECK_RC(skp_keeper_open_encode("wss://r", (const uint8_t *)"PEM", 3,
	    1, &got, &glen), SKP_OK);
	REQUIRE(got != NULL);
	CHECK_RC(skp_keeper_parse_open(got, glen, &o), SKP_OK);
	CHECK(o.ca_len == 3 && memcmp(o.ca, "PEM", 3) == 0);
	free(got);
	free(want);
}

static void
open_refused(void)
{
	struct skp_keeper_open o;
	uint8_t *v, *got = NULL;
	size_t n, glen;

	v = skp_test_unhex(V_OPEN, &n);
	/* Channel not 0, empty URL, a control byte, cut short. */
	v[4] = 1;
	CHECK_RC(skp_keeper_parse_open(v, n, &o), SKP_ERR_FORMAT);
	v[4] = 0;
	v[11] = 0;
	CHECK_RC(skp_keeper_parse_open(v, n, &o), SKP_ERR_FORMAT);
	v[11] = 0x13;
	v[12] = '\n';
	CHECK_RC(skp_keeper_parse_open(v, n, &o), SKP_ERR_FORMAT);
	v[12] = 'w';
	CHECK_RC(skp_keeper_parse_open(v, n, &o), SKP_OK);
	CHECK_RC(skp_keeper_parse_open(v, 20, &o), SKP_ERR_TRUNCATED);
	free(v);
	CHECK_RC(skp_keeper_open_encode("", NULL, 0, 1, &got, &glen),
	    SKP_ERR_TOO_LARGE);
	CHECK(got == NULL);
}

static void
client_kinds(void)
{
	struct skp_relay_frame f;
	uint8_t fr[SKP_RELAY_HDR_LEN + 97];
	uint8_t *v;
	size_t n;

	v = skp_test_unhex(V_OPEN, &n);
	CHECK_RC(skp_keeper_parse_client(v, n, &f), SKP_OK);
	CHECK(f.kind == SKP_KEEPER_OPEN);
	free(v);
	/* CALL, DATA, HANGUP as in §7.2; LISTEN, JOIN, MEET are not. */
	memset(fr, 0, sizeof(fr));
	skp_relay_put_hdr(fr, SKP_RELAY_CALL, 1);
	CHECK_RC(skp_keeper_parse_client(fr, SKP_RELAY_HDR_LEN + 36, &f),
	    SKP_OK);
	CHECK(f.kind == SKP_RELAY_CALL && f.chan == 1);
	skp_relay_put_hdr(fr, SKP_RELAY_DATA, 7);
	CHECK_RC(skp_keeper_parse_client(fr, SKP_RELAY_HDR_LEN + 3, &f),
	    SKP_OK);
	skp_relay_put_hdr(fr, SKP_RELAY_HANGUP, 7);
	CHECK_RC(skp_keeper_parse_client(fr, SKP_RELAY_HDR_LEN, &f), SKP_OK);
	skp_relay_put_hdr(fr, SKP_RELAY_JOIN, 1);
	CHECK_RC(skp_keeper_parse_client(fr, SKP_RELAY_HDR_LEN + 36, &f),
	    SKP_ERR_FORMAT);
	skp_relay_put_hdr(fr, SKP_RELAY_MEET, 1);
	CHECK_RC(skp_keeper_parse_client(fr, SKP_RELAY_HDR_LEN + 36, &f),
	    SKP_ERR_FORMAT);
	skp_relay_put_hdr(fr, SKP_RELAY_LISTEN, 0);
	CHECK_RC(skp_keeper_parse_client(fr, SKP_RELAY_HDR_LEN + 97, &f),
	    SKP_ERR_FORMAT);
	skp_relay_put_hdr(fr, SKP_KEEPER_READY, 0);
	CHECK_RC(skp_keeper_parse_client(fr, SKP_RELAY_HDR_LEN, &f),
	    SKP_ERR_FORMAT);
}

static void
keeper_frames(void)
{
	struct skp_keeper_frame f;
	uint8_t buf[SKP_RELAY_HDR_LEN + 3 + SKP_RELAY_REASON_MAX];
	uint8_t *v;
	size_t n, blen;

	v = skp_test_unhex(V_READY, &n);
	CHECK_RC(skp_keeper_parse_keeper(v, n, &f), SKP_OK);
	CHECK(f.kind == SKP_KEEPER_READY);
	CHECK_RC(skp_keeper_parse_keeper(v, n - 1, &f), SKP_ERR_TRUNCATED);
	free(v);
	v = skp_test_unhex(V_FAILED, &n);
	CHECK(n == 0x12);
	CHECK_RC(skp_keeper_parse_keeper(v, n, &f), SKP_OK);
	CHECK(f.kind == SKP_KEEPER_FAILED && f.error == SKP_KEEPER_E_NETWORK &&
	    f.code == 0 && f.len == 10 && memcmp(f.data, "relay down", 10) == 0);
	CHECK_RC(skp_keeper_failed_encode(SKP_KEEPER_E_NETWORK, 0,
	    "relay down", buf, sizeof(buf), &blen), SKP_OK);
	CHECK(blen == n && memcmp(buf, v, n) == 0);
	/* Error 0, a reason with a control byte, on a channel. */
	v[5] = 0;
	CHECK_RC(skp_keeper_parse_keeper(v, n, &f), SKP_ERR_FORMAT);
	v[5] = 1;
	v[9] = '\r';
	CHECK_RC(skp_keeper_parse_keeper(v, n, &f), SKP_ERR_FORMAT);
	v[9] = 'a';
	v[4] = 2;
	CHECK_RC(skp_keeper_parse_keeper(v, n, &f), SKP_ERR_FORMAT);
	free(v);
	/* A control byte given to the encoder is tamed. */
	CHECK_RC(skp_keeper_failed_encode(SKP_KEEPER_E_REFUSED, 4000,
	    "a\nb", buf, sizeof(buf), &blen), SKP_OK);
	CHECK(blen == 11 && memcmp(buf + 8, "a?b", 3) == 0);
	CHECK_RC(skp_keeper_parse_keeper(buf, blen, &f), SKP_OK);
	CHECK(f.code == 4000);
	/* The relay's kinds a caller gets; not the others. */
	skp_relay_put_hdr(buf, SKP_RELAY_ONLINE, 3);
	CHECK_RC(skp_keeper_parse_keeper(buf, SKP_RELAY_HDR_LEN, &f), SKP_OK);
	CHECK(f.kind == SKP_RELAY_ONLINE && f.chan == 3);
	skp_relay_put_hdr(buf, SKP_RELAY_INCOMING, 3);
	CHECK_RC(skp_keeper_parse_keeper(buf, SKP_RELAY_HDR_LEN, &f),
	    SKP_ERR_FORMAT);
}

static void
errors_map(void)
{
	static const int errs[] = {
		SKP_ERR_NETWORK, SKP_ERR_TLS, SKP_ERR_TIMEOUT, SKP_ERR_LIMIT,
		SKP_ERR_INVALID, SKP_ERR_IO, SKP_ERR_CLOSED, SKP_ERR_PERM,
		SKP_ERR_INTERNAL,
	};
	size_t i;

	for (i = 0; i < nitems(errs); i++)
		CHECK_RC(skp_keeper_err_of(skp_keeper_error_of(errs[i])),
		    errs[i]);
	CHECK(skp_keeper_error_of(SKP_ERR_PERM) == SKP_KEEPER_E_REFUSED);
	CHECK(skp_keeper_error_of(SKP_ERR_NOMEM) == SKP_KEEPER_E_INTERNAL);
	CHECK_RC(skp_keeper_err_of(200), SKP_ERR_INTERNAL);
}

static const struct skp_test_case cases[] = {
	{ "open_vector", open_vector },
	{ "open_refused", open_refused },
	{ "client_kinds", client_kinds },
	{ "keeper_frames", keeper_frames },
	{ "errors_map", errors_map },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
