/* The transfer payload (docs/PROTOCOL.md section 10.4) and the marker. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk-phone/crypto.h"
#include "sk-phone/buf.h"
#include "sk-phone/err.h"
#include "sk-phone/store.h"
#include "sk-phone/transfer.h"
#include "harness.h"
#include "phstate.h"

/* Section 10.6's payload (made by python3, see test/unit/test_transfer.c). */
#define PAYLOAD \
	"a9010102a4015820c376a12f54378290364719bec147b318eb442912a77bc9ed" \
	"f245e6dc09ec065703696f6c642070686f6e6504777773733a2f2f72656c6179" \
	"2e6578616d706c652e636f6d0558206b0b324c9656a11ca6d719f98f27c0e55a" \
	"6c2365d2ca28f750db286d8ac44ff803a10181a501666c6170746f7002584104" \
	"eb4029312f6a13f749882363cc01f36463e02175c1a9a79fdff69d18681fc7f8" \
	"62e9d9afd08ba0cb45ddf757cfff6acf282d44e0aa36cea9844d9807ac2f6637" \
	"035820cbec1fafc7a04671271e80d920e9bdb081c728e69888cfedeac8f9d735" \
	"e57060041a6553f100050004a10181aa0150a0a1a2a3a4a5a6a7a8a9aaabacad" \
	"aeaf02647373683a03400460055841042497c6a3d7cc2fb6d87273b78c193f65" \
	"6c7c1df37e59ee277d5a5bac9b53c586cb50e515a2d121771192063b7ba0b19d" \
	"930fee3428c2f0abd71f1842d522cc8b0658207ab3e603071c2eb99996e1ab42" \
	"c0a19493b51fa204bbd3ed25c3c0ab018f944107f40801091a6553f1000a666c" \
	"6170746f7005a10181a20150a0a1a2a3a4a5a6a7a8a9aaabacadaeaf020706a2" \
	"0180028007a1018008a10100091a6553f164"
#define DIGEST	"e5db08597c56a0605fcd5bb711c490cdc2c3c85566dcdc2a3f74d1f7a8ca3e1e"
#define SENT_AT	1700000100

static char tmpdir[256];

static const char *
fresh_dir(void)
{
	static char dir[300];
	static int n;
	char base[] = "/tmp/skp-phtransfer-XXXXXX";

	if (tmpdir[0] == '\0') {
		if (mkdtemp(base) == NULL)
			abort();
		snprintf(tmpdir, sizeof(tmpdir), "%s", base);
	}
	snprintf(dir, sizeof(dir), "%s/s%d", tmpdir, n++);
	return dir;
}

static struct skp_phstate *
open_new(const char *dir)
{
	struct skp_phstate *st = NULL;
	char why[SKP_PH_WHY_MAX];

	if (skp_phstate_open(dir, NULL, 1, &st, why, sizeof(why)) != SKP_OK) {
		fprintf(stderr, "open %s: %s\n", dir, why);
		return NULL;
	}
	return st;
}

static void
payload_decode_fields(void)
{
	struct skp_phstate *st;
	uint8_t *p, *w;
	size_t n, wn;
	uint64_t sent = 0;

	p = skp_test_unhex(PAYLOAD, &n);
	CHECK(n == 434);
	REQUIRE((st = calloc(1, sizeof(*st))) != NULL);
	CHECK_RC(skp_phstate_payload_decode(st, p, n, &sent), SKP_OK);
	CHECK(sent == SENT_AT);
	CHECK(st->have_identity && strcmp(st->name, "old phone") == 0);
	CHECK(strcmp(st->relay, "wss://relay.example.com") == 0);
	w = skp_test_unhex("04eb3132630f66d97aa72671f673657f6a79934188a53877b"
	    "ddab995f05c428b96fa9033067b24ae62b743c738343a01a1f047972035e3d7"
	    "3cc81a387df2c3cdbd", &wn);
	CHECK(memcmp(st->identity.pub, w, wn) == 0);
	free(w);
	CHECK(st->ncomputers == 1 &&
	    strcmp(st->computers[0].name, "laptop") == 0 &&
	    st->computers[0].paired_at == 1700000000);
	REQUIRE(st->ncreds == 1);
	CHECK(strcmp(st->creds[0].rp, "ssh:") == 0);
	CHECK(st->creds[0].counter == 7);
	CHECK(st->creds[0].id[0] == 0xa0 && st->creds[0].id[15] == 0xaf);
	CHECK(st->nhosts == 0 && st->ncas == 0 && st->pin_failures == 0);
	skp_phstate_free(&st);
	free(p);
}

/* Import writes the files; export reads them back to the same bytes. */
static void
import_export_roundtrip(void)
{
	struct skp_phstate *st;
	const char *dir = fresh_dir();
	char why[SKP_PH_WHY_MAX], path[400];
	uint8_t *p, *out = NULL;
	size_t n, outlen = 0;
	struct stat sb;

	p = skp_test_unhex(PAYLOAD, &n);
	REQUIRE((st = open_new(dir)) != NULL);
	CHECK(skp_phstate_is_empty(st));
	CHECK_RC(skp_phstate_import(st, p, n, why, sizeof(why)), SKP_OK);
	CHECK(!skp_phstate_is_empty(st));
	/* Not twice: the folder holds a phone now. */
	CHECK_RC(skp_phstate_import(st, p, n, why, sizeof(why)),
	    SKP_ERR_EXISTS);
	CHECK(strstr(why, "has a phone's state already") != NULL);
	skp_phstate_free(&st);
	snprintf(path, sizeof(path), "%s/credentials", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	REQUIRE((st = open_new(dir)) != NULL);
	CHECK(st->ncreds == 1 && st->creds[0].counter == 7);
	CHECK_RC(skp_phstate_export(st, SENT_AT, &out, &outlen, why,
	    sizeof(why)), SKP_OK);
	CHECK(outlen == n && out != NULL && memcmp(out, p, n) == 0);
	free(out);
	/* An open window stays on this phone: closed in what moves. */
	CHECK_RC(skp_phstate_window_set(st, "laptop", 1800000000, NULL,
	    1700000000, why, sizeof(why)), SKP_OK);
	CHECK(st->computers[0].window_until == 1800000000);
	CHECK_RC(skp_phstate_export(st, SENT_AT, &out, &outlen, why,
	    sizeof(why)), SKP_OK);
	CHECK(outlen == n && out != NULL && memcmp(out, p, n) == 0);
	CHECK(st->computers[0].window_until == 1800000000);
	free(out);
	skp_phstate_free(&st);
	free(p);
}

static int
decode_hex(const char *hex)
{
	struct skp_phstate *st;
	uint8_t *p;
	size_t n;
	int rc;

	p = skp_test_unhex(hex, &n);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		abort();
	rc = skp_phstate_payload_decode(st, p, n, NULL);
	skp_phstate_free(&st);
	free(p);
	return rc;
}

static void
payload_refusals(void)
{
	char hex[2048];
	size_t n = strlen(PAYLOAD);

	/* Version 2: newer; 0: malformed. */
	snprintf(hex, sizeof(hex), "a90102%s", PAYLOAD + 6);
	CHECK_RC(decode_hex(hex), SKP_ERR_VERSION);
	snprintf(hex, sizeof(hex), "a90100%s", PAYLOAD + 6);
	CHECK_RC(decode_hex(hex), SKP_ERR_FORMAT);
	/* A byte after it; one byte short. */
	snprintf(hex, sizeof(hex), "%s00", PAYLOAD);
	CHECK_RC(decode_hex(hex), SKP_ERR_TRAILING);
	snprintf(hex, sizeof(hex), "%.*s", (int)(n - 2), PAYLOAD);
	CHECK(decode_hex(hex) != SKP_OK);
	/* A tenth key. */
	snprintf(hex, sizeof(hex), "aa%s0a00", PAYLOAD + 2);
	CHECK_RC(decode_hex(hex), SKP_ERR_FORMAT);
	/* The computer's window open (key 5 = 1): refused. */
	snprintf(hex, sizeof(hex), "%s", PAYLOAD);
	{
		char *w = strstr(hex, "1a6553f1000500");

		REQUIRE(w != NULL);
		memcpy(w, "1a6553f1000501", 14);
	}
	CHECK_RC(decode_hex(hex), SKP_ERR_FORMAT);
	CHECK_RC(decode_hex(PAYLOAD), SKP_OK);
}

/* The marker: every open refuses, and what was left goes. */
static void
moved_marker(void)
{
	struct skp_phstate *st;
	const char *dir = fresh_dir();
	char why[SKP_PH_WHY_MAX], path[400];
	uint8_t *p, *d, *back = NULL, *w;
	size_t n, dn, backlen = 0, wn;
	skp_buf_t *raw = NULL;
	struct stat sb;

	p = skp_test_unhex(PAYLOAD, &n);
	d = skp_test_unhex(DIGEST, &dn);
	REQUIRE((st = open_new(dir)) != NULL);
	REQUIRE(skp_phstate_import(st, p, n, why, sizeof(why)) == SKP_OK);
	/* The pending copy, sealed, reads back. */
	CHECK(!skp_phstate_pending_exists(dir));
	CHECK_RC(skp_phstate_pending_save(st, p, n, why, sizeof(why)),
	    SKP_OK);
	CHECK(skp_phstate_pending_exists(dir));
	CHECK_RC(skp_phstate_pending_load(st, &back, &backlen, why,
	    sizeof(why)), SKP_OK);
	CHECK(backlen == n && back != NULL && memcmp(back, p, n) == 0);
	free(back);
	CHECK_RC(skp_phstate_moved(st, d, 1700000200, why, sizeof(why)),
	    SKP_OK);
	skp_phstate_free(&st);
	/* The marker's map is section 10.6's vector. */
	REQUIRE(skp_store_read(dir, "moved", &raw, why, sizeof(why)) ==
	    SKP_OK);
	w = skp_test_unhex("a2011a6553f1c8025820" DIGEST, &wn);
	CHECK(skp_buf_len(raw) == wn &&
	    memcmp(skp_buf_ptr(raw), w, wn) == 0);
	free(w);
	skp_buf_free(&raw);
	snprintf(path, sizeof(path), "%s/masterkey", dir);
	CHECK(stat(path, &sb) != 0);
	snprintf(path, sizeof(path), "%s/credentials", dir);
	CHECK(stat(path, &sb) != 0);
	snprintf(path, sizeof(path), "%s/credentials.last", dir);
	CHECK(stat(path, &sb) != 0);
	CHECK(!skp_phstate_pending_exists(dir));
	why[0] = '\0';
	CHECK_RC(skp_phstate_open(dir, NULL, 1, &st, why, sizeof(why)),
	    SKP_ERR_STATE);
	CHECK(st == NULL);
	CHECK(strstr(why, "was moved to another phone at 2023-11-14 22:16 UTC")
	    != NULL);
	CHECK(strstr(why, "holds no keys") != NULL);
	free(p);
	free(d);
}

static const struct skp_test_case cases[] = {
	{ "payload_decode_fields", payload_decode_fields },
	{ "import_export_roundtrip", import_export_roundtrip },
	{ "payload_refusals", payload_refusals },
	{ "moved_marker", moved_marker },
};

int
main(int argc, char **argv)
{
	char cmd[300];
	int rc;

	rc = skp_test_run(cases, nitems(cases), argc, argv);
	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
