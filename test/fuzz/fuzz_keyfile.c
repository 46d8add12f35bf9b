/*
 * Fuzz harness: OpenSSH sk key files as sk-phone keys and lost read them
 * (cmd/sk-phone/keyfile.c). What parses has a public key blob of an sk
 * type that is made again, byte for byte, from its own parts, and gives
 * an authorized_keys line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/buf.h"
#include "sk-phone/err.h"

#include "keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct skp_keyfile kf;
	skp_reader_t r;
	const uint8_t *t, *c, *pub, *app;
	size_t tn, cn, pn, an, len;
	uint8_t again[SKP_KEYFILE_BLOB_MAX];
	char line[SKP_KEYFILE_LINE_MAX], *appz;
	int rc;

	if (p == NULL)
		return 0;
	memset(&kf, 0xa5, sizeof(kf));
	rc = skp_keyfile_parse((const char *)p, n, &kf);
	if (rc != SKP_OK)
		return 0;
	if (kf.bloblen == 0 || kf.bloblen > sizeof(kf.blob) ||
	    (kf.sealed != 0 && kf.sealed != 1) ||
	    (kf.ed25519 != 0 && kf.ed25519 != 1))
		abort();
	skp_reader_init(&r, kf.blob, kf.bloblen);
	if (skp_reader_string(&r, &t, &tn, 64) != SKP_OK ||
	    (!kf.ed25519 && skp_reader_string(&r, &c, &cn, 64) != SKP_OK) ||
	    skp_reader_string(&r, &pub, &pn, 65) != SKP_OK ||
	    skp_reader_string(&r, &app, &an, 255) != SKP_OK ||
	    skp_reader_end(&r) != SKP_OK)
		abort();
	if (pn != (kf.ed25519 ? 32u : 65u) || an == 0 ||
	    memchr(app, '\0', an) != NULL)
		return 0;	/* an application with a NUL: not remade */
	if ((appz = strndup((const char *)app, an)) == NULL)
		return 0;
	if (skp_keyfile_blob(kf.ed25519, pub, pn, appz, again, sizeof(again),
	    &len) != SKP_OK || len != kf.bloblen ||
	    memcmp(again, kf.blob, len) != 0)
		abort();
	free(appz);
	if (skp_keyfile_line(kf.blob, kf.bloblen, line, sizeof(line)) !=
	    SKP_OK || strncmp(line, kf.ed25519 ? "sk-ssh-ed25519@openssh.com "
	    : "sk-ecdsa-sha2-nistp256@openssh.com ", kf.ed25519 ? 27 : 35) !=
	    0)
		abort();
	return 0;
}
