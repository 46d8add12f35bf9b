/* Unit tests: the relay's Web Push parts (cmd/sk-phone-relay/webpush.c). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"

#include "webpush.h"
#include "../unit/harness.h"

/* RFC 8291 Appendix A. */
#define RFC_PLAIN	"When I grow up, I want to be a watermelon"
#define RFC_AS_PUBLIC	"BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3v" \
			"CYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
#define RFC_AS_PRIVATE	"yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
#define RFC_UA_PUBLIC	"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-A" \
			"YWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
#define RFC_UA_PRIVATE	"q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
#define RFC_SALT	"DGv6ra1nlYgDCS1FRnbzlw"
#define RFC_AUTH	"BTBZMqHH6r4Tts7J_aSIgg"
#define RFC_ECDH	"kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs"
#define RFC_PRK_KEY	"Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k"
#define RFC_IKM		"S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg"
#define RFC_PRK		"09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc"
#define RFC_CEK		"oIhVW04MRdy2XN9CiKLxTg"
#define RFC_NONCE	"4h_95klXJ5E_qnoN"
#define RFC_BODY	"DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJ" \
			"SPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8w" \
			"EqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3" \
			"oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"

static size_t
unb64(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (skp_b64url_decode(s, strlen(s), out, cap, &n) != SKP_OK) {
		fprintf(stderr, "bad base64url in test: %s\n", s);
		abort();
	}
	return n;
}

static char logbuf[16384];

static void
capture(const char *line)
{
	size_t n = strlen(logbuf);

	(void)snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
tmp_dir(char *out, size_t cap)
{
	(void)snprintf(out, cap, "%s", "/tmp/skp-webpush-XXXXXX");
	if (mkdtemp(out) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static void
tmp_rm(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n || fchmod(fd, mode) != 0) {
		perror(path);
		abort();
	}
	close(fd);
}

static size_t
read_file(const char *path, uint8_t *out, size_t cap)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, out, cap);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static void
rfc8291_vector(void)
{
	uint8_t ua[80], as_priv[40], as_pub[80], salt[20], auth[20], want[256];
	uint8_t v[40], out[WP_BODY_MAX];
	struct wp_trace t;
	size_t wantlen, outlen = 0;

	REQUIRE(unb64(RFC_UA_PUBLIC, ua, sizeof(ua)) == WP_KEY_LEN);
	REQUIRE(unb64(RFC_AS_PRIVATE, as_priv, sizeof(as_priv)) == 32);
	REQUIRE(unb64(RFC_AS_PUBLIC, as_pub, sizeof(as_pub)) == WP_KEY_LEN);
	REQUIRE(unb64(RFC_SALT, salt, sizeof(salt)) == 16);
	REQUIRE(unb64(RFC_AUTH, auth, sizeof(auth)) == WP_AUTH_LEN);
	wantlen = unb64(RFC_BODY, want, sizeof(want));
	REQUIRE(wantlen == WP_HEADER_LEN + strlen(RFC_PLAIN) + 17);

	memset(&t, 0, sizeof(t));
	CHECK(wp_encrypt_trace(ua, auth, (const uint8_t *)RFC_PLAIN,
	    strlen(RFC_PLAIN), salt, as_priv, out, sizeof(out), &outlen,
	    &t) == 0);
	CHECK(outlen == wantlen);
	CHECK_MEM(out, want, wantlen);
	CHECK_MEM(out + 21, as_pub, WP_KEY_LEN);
	CHECK(unb64(RFC_ECDH, v, sizeof(v)) == 32);
	CHECK_MEM(t.ecdh_secret, v, 32);
	CHECK(unb64(RFC_PRK_KEY, v, sizeof(v)) == 32);
	CHECK_MEM(t.prk_key, v, 32);
	CHECK(unb64(RFC_IKM, v, sizeof(v)) == 32);
	CHECK_MEM(t.ikm, v, 32);
	CHECK(unb64(RFC_PRK, v, sizeof(v)) == 32);
	CHECK_MEM(t.prk, v, 32);
	CHECK(unb64(RFC_CEK, v, sizeof(v)) == 16);
	CHECK_MEM(t.cek, v, 16);
	CHECK(unb64(RFC_NONCE, v, sizeof(v)) == 12);
	CHECK_MEM(t.nonce, v, 12);

	/* The plain function gives the same bytes. */
	memset(out, 0, sizeof(out));
	CHECK(wp_encrypt(ua, auth, (const uint8_t *)RFC_PLAIN,
	    strlen(RFC_PLAIN), salt, as_priv, out, sizeof(out), &outlen) == 0);
	CHECK(outlen == wantlen && memcmp(out, want, wantlen) == 0);
}

/*
 * The receiver's side, as a user agent does it (RFC 8291 section 3.4,
 * RFC 8188): ECDH with the key in the header, the same derivation, then
 * AES-128-GCM open through EVP. 0 and the plaintext, or -1.
 */
static int
ua_decrypt(const uint8_t *body, size_t n, const uint8_t ua_priv[32],
    const uint8_t auth[16], uint8_t *pt, size_t *ptlen)
{
	struct skp_p256_key ua;
	uint8_t ecdh[32], prk_key[32], ikm[32], prk[32], mac[32];
	uint8_t info[14 + 65 + 65 + 1], lab[64];
	EVP_CIPHER_CTX *ctx = NULL;
	size_t ctlen;
	int len = 0, fin = 0, rc = -1;

	if (n < WP_HEADER_LEN + 17 || body[20] != 65 ||
	    skp_p256_from_private(ua_priv, &ua) != SKP_OK ||
	    skp_p256_ecdh(&ua, body + 21, ecdh) != SKP_OK)
		return -1;
	skp_hmac_sha256(auth, 16, ecdh, 32, prk_key);
	memcpy(info, "WebPush: info", 14);
	memcpy(info + 14, ua.pub, 65);
	memcpy(info + 79, body + 21, 65);
	info[144] = 1;
	skp_hmac_sha256(prk_key, 32, info, sizeof(info), ikm);
	skp_hmac_sha256(body, 16, ikm, 32, prk);
	memcpy(lab, "Content-Encoding: aes128gcm\0\1", 29);
	skp_hmac_sha256(prk, 32, lab, 29, mac);
	memcpy(lab, "Content-Encoding: nonce\0\1", 25);
	skp_hmac_sha256(prk, 32, lab, 25, lab + 32);
	ctlen = n - WP_HEADER_LEN - 16;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, mac,
	    lab + 32) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &len, body + WP_HEADER_LEN,
	    (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
	    (void *)(uintptr_t)(body + n - 16)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + len, &fin) != 1)
		goto out;
	/* The last record ends in 0x02 (no padding from us). */
	if (len < 1 || pt[len - 1] != 0x02)
		goto out;
	*ptlen = (size_t)len - 1;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static void
encrypt_fresh_and_limits(void)
{
	uint8_t ua[80], ua_priv[40], auth[20], bad[WP_KEY_LEN];
	uint8_t a[WP_BODY_MAX], b[WP_BODY_MAX], pt[WP_BODY_MAX];
	uint8_t *big;
	size_t alen = 0, blen = 0, ptlen = 0;

	REQUIRE(unb64(RFC_UA_PUBLIC, ua, sizeof(ua)) == WP_KEY_LEN);
	REQUIRE(unb64(RFC_UA_PRIVATE, ua_priv, sizeof(ua_priv)) == 32);
	REQUIRE(unb64(RFC_AUTH, auth, sizeof(auth)) == WP_AUTH_LEN);
	REQUIRE((big = malloc(WP_PLAIN_MAX + 1)) != NULL);
	memset(big, 'x', WP_PLAIN_MAX + 1);

	/* Fresh salt and key each time; the user agent reads both. */
	CHECK(wp_encrypt(ua, auth, (const uint8_t *)"hi", 2, NULL, NULL, a,
	    sizeof(a), &alen) == 0);
	CHECK(wp_encrypt(ua, auth, (const uint8_t *)"hi", 2, NULL, NULL, b,
	    sizeof(b), &blen) == 0);
	CHECK(alen == WP_HEADER_LEN + 2 + 17 && blen == alen);
	CHECK(memcmp(a, b, 16) != 0 && memcmp(a + 21, b + 21, 65) != 0);
	CHECK(a[16] == 0 && a[17] == 0 && a[18] == 0x10 && a[19] == 0 &&
	    a[20] == 65);
	CHECK(ua_decrypt(a, alen, ua_priv, auth, pt, &ptlen) == 0 &&
	    ptlen == 2 && memcmp(pt, "hi", 2) == 0);
	a[WP_HEADER_LEN] ^= 1;
	CHECK(ua_decrypt(a, alen, ua_priv, auth, pt, &ptlen) == -1);

	/* The largest plaintext makes a 4096-byte body; one more is refused. */
	CHECK(wp_encrypt(ua, auth, big, WP_PLAIN_MAX, NULL, NULL, b,
	    sizeof(b), &blen) == 0 && blen == WP_BODY_MAX);
	CHECK(ua_decrypt(b, blen, ua_priv, auth, pt, &ptlen) == 0 &&
	    ptlen == WP_PLAIN_MAX && memcmp(pt, big, ptlen) == 0);
	CHECK(wp_encrypt(ua, auth, big, WP_PLAIN_MAX + 1, NULL, NULL, b,
	    sizeof(b), &blen) == -1);
	/* Too small an output; a point off the curve; an empty message. */
	CHECK(wp_encrypt(ua, auth, (const uint8_t *)"hi", 2, NULL, NULL, b,
	    WP_HEADER_LEN + 2 + 16, &blen) == -1);
	memcpy(bad, ua, WP_KEY_LEN);
	bad[64] ^= 1;
	CHECK(wp_encrypt(bad, auth, (const uint8_t *)"hi", 2, NULL, NULL, b,
	    sizeof(b), &blen) == -1);
	CHECK(wp_encrypt(ua, auth, NULL, 0, NULL, NULL, b, sizeof(b),
	    &blen) == 0 && blen == WP_HEADER_LEN + 17);
	CHECK(ua_decrypt(b, blen, ua_priv, auth, pt, &ptlen) == 0 &&
	    ptlen == 0);
	free(big);
}

/* ES256 over msg with the raw r || s, checked by OpenSSL on its own. */
static int
es256_verify(const uint8_t pub[WP_KEY_LEN], const char *msg, size_t n,
    const uint8_t rs[64])
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int dlen, ok = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)(uintptr_t)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pub, WP_KEY_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(rs, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(rs + 32, 32, NULL)) == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((dlen = i2d_ECDSA_SIG(sig, &der)) <= 0 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)dlen, (const uint8_t *)msg,
	    n) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

/* Split "vapid t=H.C.S, k=K" and check it all; the claims as wanted. */
static void
check_auth(const char *hdr, const uint8_t pub[WP_KEY_LEN],
    const char *want_claims)
{
	char buf[WP_AUTH_HDR_MAX], *h, *c, *s, *k;
	uint8_t dec[WP_AUTH_HDR_MAX], rs[64], key[WP_KEY_LEN + 4];
	size_t n;

	REQUIRE(strncmp(hdr, "vapid t=", 8) == 0);
	REQUIRE(strlen(hdr) < sizeof(buf));
	strcpy(buf, hdr + 8);
	REQUIRE((k = strstr(buf, ", k=")) != NULL);
	*k = '\0';
	k += 4;
	h = buf;
	REQUIRE((c = strchr(h, '.')) != NULL);
	*c++ = '\0';
	REQUIRE((s = strchr(c, '.')) != NULL);
	*s++ = '\0';
	CHECK(strchr(s, '.') == NULL && strchr(k, ' ') == NULL);

	n = unb64(h, dec, sizeof(dec));
	CHECK(n == strlen("{\"typ\":\"JWT\",\"alg\":\"ES256\"}") &&
	    memcmp(dec, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", n) == 0);
	n = unb64(c, dec, sizeof(dec));
	dec[n] = '\0';
	if (strcmp((char *)dec, want_claims) != 0)
		fprintf(stderr, "claims %s, want %s\n", dec, want_claims);
	CHECK(strcmp((char *)dec, want_claims) == 0);
	CHECK(unb64(k, key, sizeof(key)) == WP_KEY_LEN);
	CHECK_MEM(key, pub, WP_KEY_LEN);
	REQUIRE(unb64(s, rs, sizeof(rs)) == 64);
	/* What was signed: the first two parts as sent, with the dot. */
	c[-1] = '.';
	CHECK(es256_verify(key, h, strlen(h), rs));
	rs[10] ^= 0x01;
	CHECK(!es256_verify(key, h, strlen(h), rs));
	rs[10] ^= 0x01;
	h[3] ^= 0x01;
	CHECK(!es256_verify(key, h, strlen(h), rs));
}

static void
vapid_jwt(void)
{
	char dir[64], path[128], hdr[WP_AUTH_HDR_MAX], want[1024];
	char aud[320], sub[300];
	uint8_t pub[WP_KEY_LEN];
	struct wp_vapid *v = NULL;
	char err[WP_ERR_MAX];

	tmp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/vapid-key", dir);
	REQUIRE(wp_vapid_open(path, &v, err, sizeof(err)) == 0);
	wp_vapid_pub(v, pub);
	CHECK(pub[0] == 0x04 && skp_p256_check_public(pub) == SKP_OK);

	CHECK(wp_vapid_auth(v, "https://fcm.googleapis.com",
	    "mailto:ops@example.org", 1700000000, hdr, sizeof(hdr)) == 0);
	snprintf(want, sizeof(want), "{\"aud\":\"https://fcm.googleapis.com\","
	    "\"exp\":%d,\"sub\":\"mailto:ops@example.org\"}",
	    1700000000 + 12 * 3600);
	check_auth(hdr, pub, want);

	CHECK(wp_vapid_auth(v, "http://127.0.0.1:43123", NULL, 1800000000,
	    hdr, sizeof(hdr)) == 0);
	snprintf(want, sizeof(want), "{\"aud\":\"http://127.0.0.1:43123\","
	    "\"exp\":%d}", 1800000000 + 12 * 3600);
	check_auth(hdr, pub, want);

	/* The longest aud and sub the header's size is said to hold. */
	memset(aud, 'a', sizeof(aud));
	memcpy(aud, "https://", 8);
	aud[300] = '\0';
	memset(sub, 'b', sizeof(sub));
	memcpy(sub, "mailto:", 7);
	sub[260] = '\0';
	CHECK(wp_vapid_auth(v, aud, sub, 1700000000, hdr, sizeof(hdr)) == 0);
	snprintf(want, sizeof(want),
	    "{\"aud\":\"%s\",\"exp\":%d,\"sub\":\"%s\"}", aud,
	    1700000000 + 12 * 3600, sub);
	check_auth(hdr, pub, want);

	/* No way to break out of the JSON string; a short buffer. */
	CHECK(wp_vapid_auth(v, "https://a\",\"x\":\"", NULL, 1, hdr,
	    sizeof(hdr)) == -1);
	CHECK(wp_vapid_auth(v, "https://a", "mailto:a\\b", 1, hdr,
	    sizeof(hdr)) == -1);
	CHECK(wp_vapid_auth(v, "https://a", "mailto:a\nb", 1, hdr,
	    sizeof(hdr)) == -1);
	CHECK(wp_vapid_auth(v, "https://fcm.googleapis.com", NULL, 1, hdr,
	    100) == -1 && hdr[0] == '\0');
	wp_vapid_free(v);
	tmp_rm(dir);
}

static void
vapid_file(void)
{
	char dir[64], path[160], link[160], err[WP_ERR_MAX];
	uint8_t a[WP_KEY_LEN], b[WP_KEY_LEN], raw[4096];
	struct wp_vapid *v = NULL, *w = NULL;
	struct stat st;
	size_t n;

	tmp_dir(dir, sizeof(dir));
	/* Made once, with its folder, 0600 whatever the umask. */
	snprintf(path, sizeof(path), "%s/push/vapid-key", dir);
	umask(0);
	CHECK(wp_vapid_open(path, &v, err, sizeof(err)) == 0);
	umask(022);
	REQUIRE(v != NULL);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0777) == 0600);
	snprintf(link, sizeof(link), "%s/push", dir);
	CHECK(stat(link, &st) == 0 && (st.st_mode & 0777) == 0700);
	n = read_file(path, raw, sizeof(raw));
	CHECK(n > 0);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == 0);
	REQUIRE(w != NULL);
	wp_vapid_pub(v, a);
	wp_vapid_pub(w, b);
	CHECK_MEM(a, b, WP_KEY_LEN);
	CHECK(read_file(path, raw + 2048, 2048) == n &&
	    memcmp(raw, raw + 2048, n) == 0);
	wp_vapid_free(w);
	w = NULL;

	/* Open to the group: refused, saying the chmod to run. */
	CHECK(chmod(path, 0640) == 0);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1 && w == NULL);
	CHECK(strstr(err, path) != NULL && strstr(err, "chmod 600") != NULL);
	fprintf(stderr, "# %s\n", err);
	CHECK(chmod(path, 0604) == 0);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1);
	CHECK(chmod(path, 0600) == 0);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == 0);
	wp_vapid_free(w);
	w = NULL;

	/* Not a key: a PEM file, a cut one, one bit changed. */
	write_file(path, "-----BEGIN PRIVATE KEY-----\n", 28, 0600);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1 && w == NULL);
	CHECK(strstr(err, path) != NULL && strstr(err, "not a VAPID key") !=
	    NULL && strstr(err, "rm ") != NULL);
	fprintf(stderr, "# %s\n", err);
	write_file(path, raw, n - 1, 0600);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1);
	raw[n / 2] ^= 0x20;
	write_file(path, raw, n, 0600);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1);
	write_file(path, "", 0, 0600);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1);
	/* Larger than any key file: not read past the cap. */
	memset(raw, 'k', sizeof(raw));
	for (n = 0; n < 3; n++) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

		CHECK(fd >= 0 && write(fd, raw, sizeof(raw)) ==
		    (ssize_t)sizeof(raw));
		close(fd);
	}
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1 &&
	    strstr(err, "not a VAPID key") != NULL);
	/* A symbolic link, a folder open to others, a bad name. */
	CHECK(unlink(path) == 0);
	snprintf(link, sizeof(link), "%s/elsewhere", dir);
	CHECK(symlink(link, path) == 0);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK(unlink(path) == 0);
	snprintf(link, sizeof(link), "%s/push", dir);
	CHECK(chmod(link, 0755) == 0);
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == -1);
	CHECK(strstr(err, "chmod 700") != NULL);
	fprintf(stderr, "# %s\n", err);
	CHECK(chmod(link, 0700) == 0);
	snprintf(link, sizeof(link), "%s/push/vapid.key", dir);
	CHECK(wp_vapid_open(link, &w, err, sizeof(err)) == -1 &&
	    err[0] != '\0');
	/* A key made again is another key. */
	CHECK(wp_vapid_open(path, &w, err, sizeof(err)) == 0);
	wp_vapid_pub(w, b);
	CHECK(memcmp(a, b, WP_KEY_LEN) != 0);
	wp_vapid_free(w);
	wp_vapid_free(v);
	tmp_rm(dir);
}

static void
make_sub(struct wp_sub *s, const char *endpoint)
{
	uint8_t ua[80];

	memset(s, 0, sizeof(*s));
	if (unb64(RFC_UA_PUBLIC, ua, sizeof(ua)) != WP_KEY_LEN)
		abort();
	memcpy(s->p256dh, ua, WP_KEY_LEN);
	memset(s->auth, 0x5a, WP_AUTH_LEN);
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", endpoint);
}

static void
sub_frames(void)
{
	uint8_t body[WP_SUB_BODY_MAX + 8], back[WP_SUB_BODY_MAX];
	struct wp_sub s, t;
	size_t n, i;

	make_sub(&s, "https://fcm.googleapis.com/fcm/send/abc");
	n = wp_sub_encode(&s, body, sizeof(body));
	CHECK(n == WP_KEY_LEN + WP_AUTH_LEN + strlen(s.endpoint));
	CHECK(wp_sub_from_frame(body, n, &t) == 0);
	CHECK(memcmp(&s, &t, sizeof(s)) == 0);
	CHECK(wp_sub_encode(&t, back, sizeof(back)) == n &&
	    memcmp(back, body, n) == 0);
	CHECK(wp_sub_encode(&t, back, n - 1) == 0);

	/* Lengths: 12 and 1024 bytes of URL, not 11 or 1025; nothing. */
	memset(body + 81, 'a', WP_ENDPOINT_MAX + 1);
	CHECK(wp_sub_from_frame(body, WP_SUB_BODY_MIN, &t) == 0 &&
	    strlen(t.endpoint) == WP_ENDPOINT_MIN);
	CHECK(wp_sub_from_frame(body, WP_SUB_BODY_MIN - 1, &t) == -1);
	CHECK(wp_sub_from_frame(body, WP_SUB_BODY_MAX, &t) == 0 &&
	    strlen(t.endpoint) == WP_ENDPOINT_MAX);
	CHECK(wp_sub_from_frame(body, WP_SUB_BODY_MAX + 1, &t) == -1);
	CHECK(wp_sub_from_frame(body, 0, &t) == -1);
	CHECK(wp_sub_from_frame(body, 81, &t) == -1);
	/* Bytes of the URL: space, DEL, NUL, high bit. */
	for (i = 0; i < 4; i++) {
		static const uint8_t badb[] = { 0x20, 0x7f, 0x00, 0xc3 };

		n = wp_sub_encode(&s, body, sizeof(body));
		body[n - 2] = badb[i];
		CHECK(wp_sub_from_frame(body, n, &t) == -1);
	}
	/* The point: compressed form, off the curve, zero. */
	n = wp_sub_encode(&s, body, sizeof(body));
	body[0] = 0x02;
	CHECK(wp_sub_from_frame(body, n, &t) == -1);
	body[0] = 0x04;
	body[40] ^= 1;
	CHECK(wp_sub_from_frame(body, n, &t) == -1);
	memset(body, 0, WP_KEY_LEN);
	body[0] = 0x04;
	CHECK(wp_sub_from_frame(body, n, &t) == -1);
}

static void
url_table(void)
{
	static const struct {
		const char	*in;
		int		 ok, tls, port;
		const char	*host, *origin;
	} c[] = {
		{ "https://fcm.googleapis.com/fcm/send/x", 1, 1, 443,
		    "fcm.googleapis.com", "https://fcm.googleapis.com" },
		{ "https://FCM.GoogleAPIs.com:443/x", 1, 1, 443,
		    "fcm.googleapis.com", "https://fcm.googleapis.com" },
		{ "https://push.example:8443/a?b=c", 1, 1, 8443,
		    "push.example", "https://push.example:8443" },
		{ "http://127.0.0.1:4000/push/ab", 1, 0, 4000,
		    "127.0.0.1", "http://127.0.0.1:4000" },
		{ "http://[::1]:4000/push/ab", 1, 0, 4000, "[::1]",
		    "http://[::1]:4000" },
		{ "https://[2001:DB8::1]/p", 1, 1, 443, "[2001:db8::1]",
		    "https://[2001:db8::1]" },
		{ "http://localhost/x", 1, 0, 80, "localhost",
		    "http://localhost" },
		{ "https://a-b.c/x", 1, 1, 443, "a-b.c", "https://a-b.c" },
		{ "ftp://example.com/x", 0, 0, 0, NULL, NULL },
		{ "https://example.com", 0, 0, 0, NULL, NULL },
		{ "https://example.com?x", 0, 0, 0, NULL, NULL },
		{ "https://user@example.com/x", 0, 0, 0, NULL, NULL },
		{ "https://example.com:0/x", 0, 0, 0, NULL, NULL },
		{ "https://example.com:65536/x", 0, 0, 0, NULL, NULL },
		{ "https://example.com:/x", 0, 0, 0, NULL, NULL },
		{ "https://example.com:44a/x", 0, 0, 0, NULL, NULL },
		{ "https://exa_mple.com/x", 0, 0, 0, NULL, NULL },
		{ "https://-a.com/x", 0, 0, 0, NULL, NULL },
		{ "https://a-.com/x", 0, 0, 0, NULL, NULL },
		{ "https://a..com/x", 0, 0, 0, NULL, NULL },
		{ "https://a.com./x", 0, 0, 0, NULL, NULL },
		{ "https://*.a.com/x", 0, 0, 0, NULL, NULL },
		{ "https://1.2.3/x", 0, 0, 0, NULL, NULL },
		{ "https://[::1/x", 0, 0, 0, NULL, NULL },
		{ "https://[::1]x/y", 0, 0, 0, NULL, NULL },
		{ "https://[nothex]/y", 0, 0, 0, NULL, NULL },
		{ "https://ex%41mple.com/x", 0, 0, 0, NULL, NULL },
		{ "https://example.com/a b", 0, 0, 0, NULL, NULL },
		{ "https:///x/y/z/w", 0, 0, 0, NULL, NULL },
		{ "https://a.c/", 1, 1, 443, "a.c", "https://a.c" },
		{ "https://a.c", 0, 0, 0, NULL, NULL },
	};
	struct wp_url u;
	char longurl[WP_ENDPOINT_MAX + 2];
	size_t i;
	int rc;

	for (i = 0; i < nitems(c); i++) {
		memset(&u, 0xee, sizeof(u));
		rc = wp_url_parse(c[i].in, &u);
		if ((rc == 0) != c[i].ok) {
			fprintf(stderr, "wp_url_parse(%s) = %d\n", c[i].in, rc);
			CHECK(0);
			continue;
		}
		if (!c[i].ok)
			continue;
		CHECK(u.tls == c[i].tls && u.port == c[i].port);
		CHECK(strcmp(u.host, c[i].host) == 0);
		if (strcmp(u.origin, c[i].origin) != 0)
			fprintf(stderr, "origin of %s: %s\n", c[i].in,
			    u.origin);
		CHECK(strcmp(u.origin, c[i].origin) == 0);
	}
	/* 1024 bytes, not 1025. */
	memcpy(longurl, "https://a.b/", 12);
	memset(longurl + 12, 'x', sizeof(longurl) - 12);
	longurl[WP_ENDPOINT_MAX] = '\0';
	CHECK(wp_url_parse(longurl, &u) == 0);
	longurl[WP_ENDPOINT_MAX] = 'x';
	longurl[WP_ENDPOINT_MAX + 1] = '\0';
	CHECK(wp_url_parse(longurl, &u) == -1);
}

static int
allowed(const struct wp_allow *a, const char *endpoint)
{
	struct wp_url u;

	if (wp_url_parse(endpoint, &u) != 0) {
		fprintf(stderr, "test endpoint does not parse: %s\n", endpoint);
		return -1;
	}
	return wp_allow_check(a, &u);
}

static void
allow_table(void)
{
	static const struct {
		const char	*endpoint;
		int		 ok;
	} dflt[] = {
		{ "https://fcm.googleapis.com/fcm/send/x", 1 },
		{ "https://fcm.googleapis.com:443/fcm/send/x", 1 },
		{ "https://fcm.googleapis.com:8443/fcm/send/x", 0 },
		{ "http://fcm.googleapis.com/fcm/send/x", 0 },
		{ "https://x.fcm.googleapis.com/x", 0 },
		{ "https://googleapis.com/x", 0 },
		{ "https://updates.push.services.mozilla.com/wpush/v2/x", 1 },
		{ "https://a.b.push.services.mozilla.com/x", 1 },
		{ "https://push.services.mozilla.com/x", 0 },
		{ "https://evilpush.services.mozilla.com/x", 0 },
		{ "https://push.services.mozilla.com.evil.com/x", 0 },
		{ "https://web.push.apple.com/x", 1 },
		{ "https://push.apple.com/x", 0 },
		{ "https://wns2-par02p.notify.windows.com/w/?token=x", 1 },
		{ "http://127.0.0.1:4000/push/x", 0 },
	};
	static const struct {
		const char	*origin;
		int		 ok;
		const char	*says;
	} add[] = {
		{ "https://push.example.org", 1, NULL },
		{ "https://push.example.org/", 1, NULL },
		{ "https://Push2.Example.org:8443", 1, NULL },
		{ "https://*.svc.example.net", 1, NULL },
		{ "http://127.0.0.1:4000", 1, NULL },
		{ "http://[::1]:4001", 1, NULL },
		{ "http://127.0.0.1", 0, "PORT" },
		{ "http://push.example.org:80", 0, "only to 127.0.0.1" },
		{ "http://10.0.0.1:80", 0, "only to 127.0.0.1" },
		{ "http://*.example.org", 0, "https" },
		{ "https://*.org", 0, "two labels" },
		{ "https://*", 0, "https://HOST" },
		{ "https://a.*.org", 0, "https://*.DOMAIN" },
		{ "https://push.example.org/path", 0, "origin alone" },
		{ "https://push.example.org?x", 0, "origin alone" },
		{ "push.example.org", 0, "start with https://" },
		{ "wss://push.example.org", 0, "start with https://" },
		{ "https://push.example.org:99999", 0, "port" },
		{ "https://user@push.example.org", 0, "https://HOST" },
		{ "", 0, "printable" },
		{ "https://push example.org", 0, "printable" },
	};
	struct wp_allow *a;
	char err[WP_ERR_MAX];
	size_t i;

	REQUIRE((a = wp_allow_new()) != NULL);
	for (i = 0; i < nitems(dflt); i++) {
		if (allowed(a, dflt[i].endpoint) != dflt[i].ok) {
			fprintf(stderr, "default list, %s: want %d\n",
			    dflt[i].endpoint, dflt[i].ok);
			CHECK(0);
		}
	}
	for (i = 0; i < nitems(add); i++) {
		strcpy(err, "untouched");
		if ((wp_allow_add(a, add[i].origin, err, sizeof(err)) == 0) !=
		    add[i].ok) {
			fprintf(stderr, "wp_allow_add(%s): %s\n", add[i].origin,
			    err);
			CHECK(0);
			continue;
		}
		if (add[i].ok) {
			CHECK(err[0] == '\0');
			continue;
		}
		if (strstr(err, add[i].says) == NULL) {
			fprintf(stderr, "wp_allow_add(%s): \"%s\" does not say "
			    "\"%s\"\n", add[i].origin, err, add[i].says);
			CHECK(0);
		}
	}
	CHECK(allowed(a, "https://push.example.org/x") == 1);
	CHECK(allowed(a, "https://push.example.org:444/x") == 0);
	CHECK(allowed(a, "https://push2.example.org:8443/x") == 1);
	CHECK(allowed(a, "https://push2.example.org/x") == 0);
	CHECK(allowed(a, "https://a.svc.example.net/x") == 1);
	CHECK(allowed(a, "https://svc.example.net/x") == 0);
	CHECK(allowed(a, "http://127.0.0.1:4000/push/x") == 1);
	CHECK(allowed(a, "http://127.0.0.1:4001/push/x") == 0);
	CHECK(allowed(a, "https://127.0.0.1:4000/push/x") == 0);
	CHECK(allowed(a, "http://[::1]:4001/push/x") == 1);
	CHECK(allowed(a, "http://[::1]:4000/push/x") == 0);
	CHECK(allowed(a, "http://localhost:4000/push/x") == 0);
	/* A message names every accepted form. */
	CHECK(wp_allow_add(a, "gopher://x", err, sizeof(err)) == -1);
	CHECK(strstr(err, "https://HOST[:PORT]") != NULL &&
	    strstr(err, "https://*.DOMAIN[:PORT]") != NULL &&
	    strstr(err, "http://127.0.0.1:PORT") != NULL &&
	    strstr(err, "http://[::1]:PORT") != NULL);
	fprintf(stderr, "# %s\n", err);
	/* The list has a cap. */
	for (i = 0; i < WP_ALLOW_MAX; i++)
		if (wp_allow_add(a, "https://more.example.org", err,
		    sizeof(err)) != 0)
			break;
	CHECK(i < WP_ALLOW_MAX && strstr(err, "too many") != NULL);
	wp_allow_free(a);
	CHECK(wp_allow_check(NULL, NULL) == 0);
}

static void
payload_exact(void)
{
	char out[WP_PAYLOAD_MAX + 64];
	uint8_t *msg;
	size_t n = 0, len;

	CHECK(wp_payload((const uint8_t *)"\xfb\xff\x01hi", 5, out,
	    sizeof(out), &n) == 0);
	CHECK(strcmp(out, "{\"v\":2,\"call\":\"-_8BaGk\"}") == 0 &&
	    n == strlen(out));
	CHECK(wp_payload(NULL, 0, out, sizeof(out), &n) == 0 &&
	    strcmp(out, "{\"v\":2,\"call\":\"\"}") == 0);
	/* 17 bytes of JSON around the base64url: 3783 of it fit, 3784 not. */
	REQUIRE((msg = malloc(4000)) != NULL);
	memset(msg, 0xab, 4000);
	len = 2835;	/* 3780 characters */
	CHECK(wp_payload(msg, len, out, sizeof(out), &n) == 0 &&
	    n == 3797 && out[15] == 'q');
	len = 2837;	/* 3783 */
	CHECK(wp_payload(msg, len, out, sizeof(out), &n) == 0 &&
	    n == WP_PAYLOAD_MAX && strlen(out) == n);
	len = 2838;	/* 3784 */
	CHECK(wp_payload(msg, len, out, sizeof(out), &n) == 0 &&
	    strcmp(out, "{\"v\":2,\"call\":null}") == 0 && n == 19);
	CHECK(wp_payload(msg, 4000, out, sizeof(out), &n) == 0 &&
	    strcmp(out, "{\"v\":2,\"call\":null}") == 0);
	/* Too small a buffer. */
	CHECK(wp_payload(msg, 3, out, 21, &n) == -1);
	CHECK(wp_payload(msg, 3, out, 22, &n) == 0 && n == 21);
	CHECK(wp_payload(msg, 4000, out, 19, &n) == -1);
	free(msg);
}

static void
store_cycle(void)
{
	char dir[64], path[256], name[80], err[WP_ERR_MAX];
	uint8_t id1[32], id2[32], id3[32], raw[2048];
	struct wp_sub s1, s2, s3;
	const struct wp_sub *g;
	struct wp_store *st = NULL;
	struct stat sb;
	size_t n;

	tmp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/push", dir);
	memset(id1, 0x11, 32);
	memset(id2, 0x22, 32);
	memset(id3, 0x33, 32);
	make_sub(&s1, "https://fcm.googleapis.com/fcm/send/one");
	make_sub(&s2, "https://web.push.apple.com/two");
	make_sub(&s3, "http://127.0.0.1:4000/push/three");

	REQUIRE(wp_store_open(path, 2, &st, err, sizeof(err)) == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	snprintf(name, sizeof(name), "/push/subs");
	snprintf(path, sizeof(path), "%s%s", dir, name);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK(wp_store_count(st) == 0 && wp_store_get(st, id1) == NULL);
	CHECK(wp_store_put(st, id1, &s1) == 0);
	CHECK(wp_store_put(st, id2, &s2) == 0);
	CHECK(wp_store_count(st) == 2);
	/* Full: a third mailbox is refused, a replacement is not. */
	CHECK(wp_store_put(st, id3, &s3) == -1);
	CHECK(wp_store_get(st, id3) == NULL);
	CHECK(wp_store_put(st, id2, &s3) == 0 && wp_store_count(st) == 2);
	CHECK((g = wp_store_get(st, id2)) != NULL &&
	    strcmp(g->endpoint, s3.endpoint) == 0);
	CHECK((g = wp_store_get(st, id1)) != NULL &&
	    memcmp(g, &s1, sizeof(s1)) == 0);

	/* Files: DIR/subs/<hex id>, 0600. */
	snprintf(path, sizeof(path), "%s/push/subs/%s", dir,
	    "1111111111111111111111111111111111111111111111111111111111111111");
	CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 0777) == 0600);
	n = read_file(path, raw, sizeof(raw));
	CHECK(wp_sub_file_parse(raw, n, &s3) == 0 &&
	    memcmp(&s3, &s1, sizeof(s1)) == 0);
	/*
	 * The same again (each reconnect sends it) writes nothing: the mode
	 * set here stays; a changed one is a new file (0600).
	 */
	CHECK(chmod(path, 0400) == 0);
	CHECK(wp_store_put(st, id1, &s1) == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0400);
	s3 = s1;
	s3.auth[0] ^= 1;
	CHECK(wp_store_put(st, id1, &s3) == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(wp_store_put(st, id1, &s1) == 0);
	wp_store_free(st);
	st = NULL;

	/* Reopened: the same. */
	snprintf(path, sizeof(path), "%s/push", dir);
	REQUIRE(wp_store_open(path, 2, &st, err, sizeof(err)) == 0);
	CHECK(wp_store_count(st) == 2);
	CHECK((g = wp_store_get(st, id1)) != NULL &&
	    memcmp(g, &s1, sizeof(s1)) == 0);
	CHECK((g = wp_store_get(st, id2)) != NULL &&
	    strcmp(g->endpoint, "http://127.0.0.1:4000/push/three") == 0);

	/* del: another endpoint leaves it; the right one (or any) takes it. */
	CHECK(wp_store_del(st, id1, "https://fcm.googleapis.com/other") == 1);
	CHECK(wp_store_get(st, id1) != NULL);
	CHECK(wp_store_del(st, id1, s1.endpoint) == 0);
	CHECK(wp_store_get(st, id1) == NULL && wp_store_count(st) == 1);
	CHECK(wp_store_del(st, id1, NULL) == 1);
	CHECK(wp_store_del(st, id2, NULL) == 0 && wp_store_count(st) == 0);
	snprintf(path, sizeof(path), "%s/push/subs/%s", dir,
	    "1111111111111111111111111111111111111111111111111111111111111111");
	CHECK(stat(path, &sb) == -1 && errno == ENOENT);
	wp_store_free(st);
	st = NULL;
	snprintf(path, sizeof(path), "%s/push", dir);
	REQUIRE(wp_store_open(path, 2, &st, err, sizeof(err)) == 0);
	CHECK(wp_store_count(st) == 0);
	wp_store_free(st);
	tmp_rm(dir);
}

#define SUB_FILE_BIG	(WP_SUB_BODY_MAX + 2048)

static void
store_damaged(void)
{
	static const char *const hex1 =
	    "1111111111111111111111111111111111111111111111111111111111111111";
	static const char *const hex2 =
	    "2222222222222222222222222222222222222222222222222222222222222222";
	static const char *const hex3 =
	    "3333333333333333333333333333333333333333333333333333333333333333";
	static const char *const hex4 =
	    "4444444444444444444444444444444444444444444444444444444444444444";
	char dir[64], path[256], bad[256], err[WP_ERR_MAX];
	uint8_t id[32], raw[SUB_FILE_BIG];
	struct wp_sub s;
	struct wp_store *st = NULL;
	size_t n;

	tmp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/push", dir);
	make_sub(&s, "https://fcm.googleapis.com/fcm/send/one");
	REQUIRE(wp_store_open(path, 10, &st, err, sizeof(err)) == 0);
	memset(id, 0x11, 32);
	CHECK(wp_store_put(st, id, &s) == 0);
	memset(id, 0x22, 32);
	CHECK(wp_store_put(st, id, &s) == 0);
	memset(id, 0x33, 32);
	CHECK(wp_store_put(st, id, &s) == 0);
	wp_store_free(st);
	st = NULL;

	/* 2: a byte changed; 3: open to others; a stranger; a temp file. */
	snprintf(bad, sizeof(bad), "%s/push/subs/%s", dir, hex2);
	n = read_file(bad, raw, sizeof(raw));
	REQUIRE(n > 100);
	raw[90] ^= 1;
	write_file(bad, raw, n, 0600);
	snprintf(path, sizeof(path), "%s/push/subs/%s", dir, hex3);
	CHECK(chmod(path, 0644) == 0);
	snprintf(path, sizeof(path), "%s/push/subs/%s", dir, hex4);
	memset(raw, 'x', sizeof(raw));
	write_file(path, raw, sizeof(raw), 0600);
	snprintf(path, sizeof(path), "%s/push/subs/README", dir);
	write_file(path, "x", 1, 0600);
	snprintf(path, sizeof(path), "%s/push/subs/.%s.tmp-0011", dir, hex1);
	write_file(path, "x", 1, 0600);

	logbuf[0] = '\0';
	wp_set_log(capture);
	snprintf(path, sizeof(path), "%s/push", dir);
	CHECK(wp_store_open(path, 10, &st, err, sizeof(err)) == 0);
	wp_set_log(NULL);
	REQUIRE(st != NULL);
	fprintf(stderr, "%s", logbuf);
	CHECK(wp_store_count(st) == 1);
	memset(id, 0x11, 32);
	CHECK(wp_store_get(st, id) != NULL);
	CHECK(strstr(logbuf, bad) != NULL && strstr(logbuf, "damaged") !=
	    NULL && strstr(logbuf, "rm ") != NULL);
	snprintf(path, sizeof(path), "%s/push/subs/%s", dir, hex3);
	CHECK(strstr(logbuf, path) != NULL && strstr(logbuf, "chmod 600") !=
	    NULL);
	CHECK(strstr(logbuf, "README") != NULL);
	CHECK(strstr(logbuf, hex4) != NULL);
	CHECK(strstr(logbuf, ".tmp-") == NULL);
	/* A new subscription for the damaged one replaces the file. */
	memset(id, 0x22, 32);
	CHECK(wp_store_put(st, id, &s) == 0);
	wp_store_free(st);
	st = NULL;

	/* Over max at start: the rest are skipped, with a message. */
	logbuf[0] = '\0';
	wp_set_log(capture);
	snprintf(path, sizeof(path), "%s/push", dir);
	CHECK(wp_store_open(path, 1, &st, err, sizeof(err)) == 0);
	wp_set_log(NULL);
	CHECK(wp_store_count(st) == 1 && strstr(logbuf, "at most 1") != NULL);
	wp_store_free(st);
	st = NULL;

	/* A folder open to others is refused, with the chmod. */
	snprintf(path, sizeof(path), "%s/push/subs", dir);
	CHECK(chmod(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/push", dir);
	CHECK(wp_store_open(path, 10, &st, err, sizeof(err)) == -1 &&
	    st == NULL && strstr(err, "chmod 700") != NULL);
	fprintf(stderr, "# %s\n", err);
	tmp_rm(dir);
}

static void
sub_file_refusals(void)
{
	struct wp_sub s;
	uint8_t raw[64];

	memset(raw, 0, sizeof(raw));
	CHECK(wp_sub_file_parse(raw, 0, &s) == -1);
	CHECK(wp_sub_file_parse(raw, sizeof(raw), &s) == -1);
	memcpy(raw, "SKPS", 4);
	CHECK(wp_sub_file_parse(raw, sizeof(raw), &s) == -1);
	CHECK(wp_sub_file_parse(NULL, 0, &s) == -1);
}

static const struct skp_test_case cases[] = {
	{ "rfc8291_vector", rfc8291_vector },
	{ "encrypt_fresh_and_limits", encrypt_fresh_and_limits },
	{ "vapid_jwt", vapid_jwt },
	{ "vapid_file", vapid_file },
	{ "sub_frames", sub_frames },
	{ "sub_file_refusals", sub_file_refusals },
	{ "url_table", url_table },
	{ "allow_table", allow_table },
	{ "payload_exact", payload_exact },
	{ "store_cycle", store_cycle },
	{ "store_damaged", store_damaged },
};

int
main(int argc, char **argv)
{
	return skp_test_run(cases, nitems(cases), argc, argv);
}
