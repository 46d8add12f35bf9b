/* Unit tests for the file of saved TLS sessions (PROTOCOL.md §6.7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/store.h"
#include "sk-phone/tlssess.h"
#include "harness.h"

/* Written out by hand with /usr/bin/python3 (canonical CBOR heads,
 * hashlib.sha256 for the trust and the trailer): docs/PROTOCOL.md §6.7. */
#define EMPTY_SHA256	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c" \
			"a495991b7852b855"
#define PAYLOAD_HEX	"a10181a4017172656c61792e6578616d706c653a34343302" \
			"5820" EMPTY_SHA256 "034430020100041a6b10b100"
#define FILE_HEX	"534b5053000100000046" PAYLOAD_HEX \
			"be6594894c38c38b9f8feb20a8dcb689591291840b4defd9" \
			"99f0446966f11265"

static void
vector(void)
{
	struct skp_tlssess_list l;
	const uint8_t *pl = NULL;
	uint8_t *f, *p, *enc = NULL, want[32];
	size_t flen, plen, pllen = 0, enclen = 0;
	char why[256];

	f = skp_test_unhex(FILE_HEX, &flen);
	p = skp_test_unhex(PAYLOAD_HEX, &plen);
	CHECK_RC(skp_store_parse(f, flen, &pl, &pllen, why, sizeof(why)),
	    SKP_OK);
	CHECK(pllen == plen && pl != NULL && memcmp(pl, p, plen) == 0);
	CHECK_RC(skp_tlssess_decode(p, plen, &l), SKP_OK);
	REQUIRE(l.n == 1);
	CHECK(strcmp(l.e[0].origin, "relay.example:443") == 0);
	CHECK_RC(skp_sha256("", 0, want), SKP_OK);
	CHECK_MEM(l.e[0].trust, want, 32);
	CHECK(l.e[0].derlen == 4 && memcmp(l.e[0].der, "\x30\x02\x01\x00",
	    4) == 0);
	CHECK(l.e[0].saved == 1796256000);
	CHECK_RC(skp_tlssess_encode(&l, &enc, &enclen), SKP_OK);
	CHECK(enclen == plen && enc != NULL && memcmp(enc, p, plen) == 0);
	free(enc);
	skp_tlssess_list_clear(&l);
	free(f);
	free(p);
}

/* Each is the vector with one thing wrong. */
static void
refusals(void)
{
	static const char *bad[] = {
		/* not a map */
		"80",
		/* a key 2 at the top */
		"a20180020a",
		/* an entry with a fifth key */
		"a10181a5017172656c61792e6578616d706c653a343433025820"
		    EMPTY_SHA256 "034430020100041a6b10b1000500",
		/* no time */
		"a10181a3017172656c61792e6578616d706c653a343433025820"
		    EMPTY_SHA256 "034430020100",
		/* an empty session */
		"a10181a4017172656c61792e6578616d706c653a343433025820"
		    EMPTY_SHA256 "0340041a6b10b100",
		/* a trust of 31 bytes */
		"a10181a4017172656c61792e6578616d706c653a34343302581f"
		    "b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
		    "7852b855034430020100041a6b10b100",
		/* an origin without a port */
		"a10181a4016d72656c61792e6578616d706c65025820" EMPTY_SHA256
		    "034430020100041a6b10b100",
		/* an origin with a space */
		"a10181a4017172656c61792e6578616d706c653a203433025820"
		    EMPTY_SHA256 "034430020100041a6b10b100",
		/* the same relay and trust twice */
		"a10182a4017172656c61792e6578616d706c653a343433025820"
		    EMPTY_SHA256 "034430020100041a6b10b100"
		    "a4017172656c61792e6578616d706c653a343433025820"
		    EMPTY_SHA256 "034430020100041a6b10b100",
		/* a time as a negative integer */
		"a10181a4017172656c61792e6578616d706c653a343433025820"
		    EMPTY_SHA256 "03443002010004381f",
	};
	struct skp_tlssess_list l;
	uint8_t *p;
	size_t i, n;

	for (i = 0; i < nitems(bad); i++) {
		p = skp_test_unhex(bad[i], &n);
		if (skp_tlssess_decode(p, n, &l) == SKP_OK) {
			fprintf(stderr, "accepted case %zu\n", i);
			CHECK(0);
		}
		CHECK(l.n == 0);
		free(p);
	}
}

/* Nine entries: one over the cap; eight are fine. */
static void
over_cap(void)
{
	struct skp_tlssess_list l;
	uint8_t buf[3 + 9 * 60], *e;
	char hex[256];
	size_t i, n, off = 3;

	buf[0] = 0xa1;
	buf[1] = 0x01;
	buf[2] = 0x89;
	for (i = 0; i < 9; i++) {
		/* "relayN:443" */
		snprintf(hex, sizeof(hex), "a4016a72656c6179%02x3a343433025820"
		    EMPTY_SHA256 "034430020100041a6b10b100",
		    (unsigned int)('0' + i));
		e = skp_test_unhex(hex, &n);
		REQUIRE(n == 60);
		memcpy(buf + off, e, n);
		off += n;
		free(e);
	}
	CHECK_RC(skp_tlssess_decode(buf, off, &l), SKP_ERR_TOO_LARGE);
	CHECK(l.n == 0);
	buf[2] = 0x88;
	CHECK_RC(skp_tlssess_decode(buf, off - 60, &l), SKP_OK);
	CHECK(l.n == 8);
	CHECK(strcmp(l.e[7].origin, "relay7:443") == 0);
	skp_tlssess_list_clear(&l);
}

static const struct skp_test_case cases[] = {
	{ "vector", vector },
	{ "refusals", refusals },
	{ "over_cap", over_cap },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
