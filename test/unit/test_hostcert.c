/* Unit tests for host certificates: parsing, CA signatures, checks, patterns. */
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/hostcert.h"
#include "sk-phone/hostkey.h"
#include "harness.h"
#include "hostcert_vectors.h"

#define T_2026_06	1780272000ULL	/* 2026-06-01T00:00:00Z */
#define T_FROM		1767225600ULL	/* 2026-01-01T00:00:00Z */
#define T_UNTIL		2082758400ULL	/* 2036-01-01T00:00:00Z */

static struct skp_hostcert cert;

/* Parse hex into *blob (the caller frees it), and into cert. */
static int
parse_hex(const char *hex, uint8_t **blob, size_t *len)
{
	*blob = skp_test_unhex(hex, len);
	return skp_hostcert_parse(*blob, *len, &cert);
}

static int
same_blob(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t *b;
	size_t bn;
	int same;

	b = skp_test_unhex(hex, &bn);
	same = bn == n && memcmp(b, p, n) == 0;
	free(b);
	return same;
}

static void
test_parse_types(void)
{
	static const struct {
		const char *cert, *host, *ca, *type, *key_type;
	} v[] = {
		{ cert_ed_by_ed, h_ed, ca_ed,
		    "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519" },
		{ cert_ec256_by_rsa, h_ec256, ca_rsa,
		    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
		    "ecdsa-sha2-nistp256" },
		{ cert_rsa_by_ec384, h_rsa, ca_ec384,
		    "ssh-rsa-cert-v01@openssh.com", "ssh-rsa" },
		{ cert_ec521_by_rsa256, h_ec521, ca_rsa,
		    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
		    "ecdsa-sha2-nistp521" },
	};
	uint8_t *b;
	size_t i, n;

	for (i = 0; i < nitems(v); i++) {
		CHECK_RC(parse_hex(v[i].cert, &b, &n), SKP_OK);
		CHECK(skp_hostcert_is_cert(b, n));
		CHECK(strcmp(cert.type, v[i].type) == 0);
		CHECK(strcmp(cert.key_type, v[i].key_type) == 0);
		/* The certified key is the host's plain key, byte for byte. */
		CHECK(same_blob(cert.key, cert.key_len, v[i].host));
		CHECK(same_blob(cert.ca_key, cert.ca_key_len, v[i].ca));
		CHECK(cert.cert_type == SKP_HOSTCERT_HOST);
		CHECK(cert.valid_after == T_FROM);
		CHECK(cert.valid_before == T_UNTIL);
		CHECK(cert.ncritical == 0);
		CHECK_RC(skp_hostcert_verify_ca(b, n, &cert), SKP_OK);
		CHECK_RC(skp_hostcert_check(&cert, "localhost", T_2026_06,
		    NULL, 0), SKP_OK);
		free(b);
	}
	CHECK_RC(parse_hex(cert_rsa_by_ec384, &b, &n), SKP_OK);
	CHECK(cert.serial == 77);
	CHECK(cert.key_id_len == 5 && memcmp(cert.key_id, "hostC", 5) == 0);
	free(b);
	CHECK_RC(parse_hex(cert_ed_by_ed, &b, &n), SKP_OK);
	CHECK(cert.nprincipals == 2);
	CHECK_RC(skp_hostcert_check(&cert, "host.example", T_2026_06, NULL,
	    0), SKP_OK);
	free(b);
	/* A plain key is no certificate. */
	b = skp_test_unhex(h_ed, &n);
	CHECK(!skp_hostcert_is_cert(b, n));
	CHECK_RC(skp_hostcert_parse(b, n, &cert), SKP_ERR_UNSUPPORTED);
	free(b);
}

static void
test_ca_signature(void)
{
	uint8_t *b;
	size_t n;

	/* SHA-1 (ssh-rsa) CA signatures are not accepted. */
	CHECK_RC(parse_hex(cert_ed_by_rsa_sha1, &b, &n), SKP_OK);
	CHECK_RC(skp_hostcert_verify_ca(b, n, &cert), SKP_ERR_UNSUPPORTED);
	free(b);
	/* One byte of the key id changed: the signature no longer holds. */
	CHECK_RC(parse_hex(cert_ec256_by_rsa, &b, &n), SKP_OK);
	REQUIRE(cert.key_id_len == 5);
	b[cert.key_id - b + 4] ^= 1;
	CHECK_RC(skp_hostcert_parse(b, n, &cert), SKP_OK);
	CHECK_RC(skp_hostcert_verify_ca(b, n, &cert), SKP_ERR_VERIFY);
	free(b);
	/* And a byte of the signature. */
	CHECK_RC(parse_hex(cert_ed_by_ed, &b, &n), SKP_OK);
	b[n - 1] ^= 0x80;
	CHECK_RC(skp_hostcert_parse(b, n, &cert), SKP_OK);
	CHECK_RC(skp_hostcert_verify_ca(b, n, &cert), SKP_ERR_VERIFY);
	free(b);
}

static void
test_checks(void)
{
	char why[256];
	uint8_t *b;
	size_t n;

	CHECK_RC(parse_hex(cert_ed_by_ed, &b, &n), SKP_OK);
	CHECK_RC(skp_hostcert_check(&cert, "other", T_2026_06, why,
	    sizeof(why)), SKP_ERR_VERIFY);
	CHECK(strcmp(why, "the host certificate for other is for other "
	    "hosts (other is not among its principals)") == 0);
	/* Principals are compared byte for byte, no patterns. */
	CHECK_RC(skp_hostcert_check(&cert, "host.exampl", T_2026_06, NULL, 0),
	    SKP_ERR_VERIFY);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_FROM - 1, why,
	    sizeof(why)), SKP_ERR_VERIFY);
	CHECK(strcmp(why, "the host certificate for localhost is not yet "
	    "valid (valid from 2026-01-01T00:00:00Z; check the phone's "
	    "clock)") == 0);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_FROM, NULL, 0),
	    SKP_OK);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_UNTIL - 1, NULL, 0),
	    SKP_OK);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_UNTIL, NULL, 0),
	    SKP_ERR_VERIFY);
	free(b);
	CHECK_RC(parse_hex(cert_expired, &b, &n), SKP_OK);
	CHECK_RC(skp_hostcert_verify_ca(b, n, &cert), SKP_OK);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_2026_06, why,
	    sizeof(why)), SKP_ERR_VERIFY);
	CHECK(strcmp(why, "the host certificate for localhost has expired "
	    "(valid until 2021-01-01T00:00:00Z)") == 0);
	free(b);
	CHECK_RC(parse_hex(cert_user_cert, &b, &n), SKP_OK);
	CHECK(cert.cert_type == SKP_HOSTCERT_USER);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_2026_06, why,
	    sizeof(why)), SKP_ERR_VERIFY);
	CHECK(strstr(why, "user certificate, not a host certificate") !=
	    NULL);
	free(b);
	CHECK_RC(parse_hex(cert_no_principals, &b, &n), SKP_OK);
	CHECK(cert.nprincipals == 0);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_2026_06, why,
	    sizeof(why)), SKP_ERR_VERIFY);
	CHECK(strstr(why, "names no host") != NULL);
	free(b);
	CHECK_RC(parse_hex(cert_critical, &b, &n), SKP_OK);
	CHECK(cert.ncritical == 1);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_2026_06, why,
	    sizeof(why)), SKP_ERR_VERIFY);
	CHECK(strstr(why, "critical options") != NULL);
	free(b);
	/* Extensions are allowed and ignored. */
	CHECK_RC(parse_hex(cert_extension, &b, &n), SKP_OK);
	CHECK_RC(skp_hostcert_verify_ca(b, n, &cert), SKP_OK);
	CHECK_RC(skp_hostcert_check(&cert, "localhost", T_2026_06, NULL, 0),
	    SKP_OK);
	free(b);
}

static void
test_malformed(void)
{
	uint8_t *b, *c;
	size_t n, i;

	/* Every proper prefix is refused (Ed25519: no RSA checks each). */
	b = skp_test_unhex(cert_ed_by_ed, &n);
	for (i = 0; i < n; i++)
		if (skp_hostcert_parse(b, i, &cert) == SKP_OK) {
			CHECK(0);
			break;
		}
	free(b);
	b = skp_test_unhex(cert_rsa_by_ec384, &n);
	/* A byte after the signature. */
	REQUIRE((c = malloc(n + 1)) != NULL);
	memcpy(c, b, n);
	c[n] = 0;
	CHECK_RC(skp_hostcert_parse(c, n + 1, &cert), SKP_ERR_FORMAT);
	/* Another certificate type (DSA, a security key): unsupported. */
	memcpy(c, b, n);
	memcpy(c + 4, "ssh-dss", 7);
	CHECK_RC(skp_hostcert_parse(c, n, &cert), SKP_ERR_UNSUPPORTED);
	/* Certificate type 3. */
	CHECK_RC(skp_hostcert_parse(b, n, &cert), SKP_OK);
	memcpy(c, b, n);
	c[cert.key_id - b - 5] = 3;
	CHECK_RC(skp_hostcert_parse(c, n, &cert), SKP_ERR_FORMAT);
	CHECK_RC(skp_hostcert_parse(NULL, 0, &cert), SKP_ERR_FORMAT);
	free(c);
	free(b);
}

static void
test_patterns(void)
{
	static const struct {
		const char *pattern, *name;
		int match;
	} v[] = {
		{ "localhost", "localhost", 1 },
		{ "LocalHost", "localhost", 1 },
		{ "*.example.com", "a.example.com", 1 },
		{ "*.example.com", "example.com", 0 },
		{ "*.example.com", "[a.example.com]:2222", 0 },
		{ "[*.example.com]:2222", "[a.example.com]:2222", 1 },
		{ "[*.example.com]:*", "[a.example.com]:2222", 1 },
		{ "h?st", "host", 1 },
		{ "h?st", "hoost", 0 },
		{ "*", "anything", 1 },
		{ "*,!bad.example.com", "bad.example.com", 0 },
		{ "!bad.example.com,*", "good.example.com", 1 },
		{ "a,b,c", "b", 1 },
		{ "a,b,c", "d", 0 },
		{ "*a*b*", "xxaxxbxx", 1 },
		{ "*a*b", "xxaxxbxx", 0 },
	};
	static const char *bad[] = {
		"", "a,,b", "a,", ",a", "!a", "!", "a b", "a,!", "\x01",
	};
	char big[SKP_HOSTCERT_PATTERN_MAX + 2];
	size_t i;

	for (i = 0; i < nitems(v); i++) {
		CHECK(skp_hostcert_pattern_ok(v[i].pattern));
		if (skp_hostcert_pattern_match(v[i].pattern, v[i].name) !=
		    v[i].match) {
			fprintf(stderr, "pattern %s name %s\n", v[i].pattern,
			    v[i].name);
			CHECK(0);
		}
	}
	for (i = 0; i < nitems(bad); i++)
		CHECK(!skp_hostcert_pattern_ok(bad[i]));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(!skp_hostcert_pattern_ok(big));
	big[sizeof(big) - 2] = '\0';
	CHECK(skp_hostcert_pattern_ok(big));
}

int
main(int argc, char **argv)
{
	static const struct skp_test_case cases[] = {
		{ "parse_types", test_parse_types },
		{ "ca_signature", test_ca_signature },
		{ "checks", test_checks },
		{ "malformed", test_malformed },
		{ "patterns", test_patterns },
	};

	return skp_test_run(cases, nitems(cases), argc, argv);
}
