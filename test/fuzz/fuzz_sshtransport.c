/* Fuzz harness: the SSH transport parser, whatever the chunking. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/hostkey.h"
#include "sk-phone/sshwire.h"

/*
 * Input: byte 0 picks the chunk size of the second run (1 + (b & 7));
 * then frames, each a control byte (bit 7: direction, 1 = server to
 * client; bits 0-6: length, 127 meaning a 16-bit big-endian length
 * follows) and that many bytes (fewer at the end of the input). The
 * frames are fed in order, once whole and once in small chunks: the two
 * runs must end the same way, with the same result.
 */
#define FRAMES_MAX	4096

struct frame {
	int		 dir;
	const uint8_t	*p;
	size_t		 n;
};

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
frames_of(const uint8_t *p, size_t n, struct frame *f)
{
	size_t off = 1, nf = 0, len;

	while (off < n && nf < FRAMES_MAX) {
		f[nf].dir = (p[off] & 0x80) ? SKP_SSHWIRE_S2C :
		    SKP_SSHWIRE_C2S;
		len = p[off] & 0x7f;
		off++;
		if (len == 127) {
			if (n - off < 2)
				break;
			len = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
		}
		if (len > n - off)
			len = n - off;
		f[nf].p = p + off;
		f[nf].n = len;
		off += len;
		nf++;
	}
	return nf;
}

static skp_sshwire_t *
run(const struct frame *f, size_t nf, size_t chunk)
{
	skp_sshwire_t *w;
	size_t i, off, k;

	if ((w = skp_sshwire_new()) == NULL)
		abort();
	for (i = 0; i < nf; i++) {
		if (chunk == 0) {
			(void)skp_sshwire_feed(w, f[i].dir, f[i].p, f[i].n);
			continue;
		}
		for (off = 0; off < f[i].n; off += k) {
			k = f[i].n - off < chunk ? f[i].n - off : chunk;
			(void)skp_sshwire_feed(w, f[i].dir, f[i].p + off, k);
		}
	}
	return w;
}

static int
same_blob(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct frame f[FRAMES_MAX];
	skp_sshwire_t *a, *b;
	const uint8_t *ka, *kb, *sa, *sb;
	size_t nf, kan, kbn, san, sbn;
	char fp[SKP_HOSTKEY_FP_LEN];

	if (n < 1)
		return 0;
	nf = frames_of(p, n, f);
	a = run(f, nf, 0);
	b = run(f, nf, 1 + (size_t)(p[0] & 7));
	skp_sshwire_hostkey(a, &ka, &kan);
	skp_sshwire_hostkey(b, &kb, &kbn);
	skp_sshwire_signature(a, &sa, &san);
	skp_sshwire_signature(b, &sb, &sbn);
	if (skp_sshwire_status(a) != skp_sshwire_status(b) ||
	    strcmp(skp_sshwire_kex(a), skp_sshwire_kex(b)) != 0 ||
	    strcmp(skp_sshwire_hostkey_alg(a),
	    skp_sshwire_hostkey_alg(b)) != 0 ||
	    strcmp(skp_sshwire_server_version(a),
	    skp_sshwire_server_version(b)) != 0 ||
	    !same_blob(ka, kan, kb, kbn) || !same_blob(sa, san, sb, sbn))
		abort();
	if (skp_sshwire_status(a) == SKP_SSHWIRE_DONE) {
		if (kan == 0 || kan > SKP_SSHWIRE_HOSTKEY_MAX || san == 0 ||
		    san > SKP_SSHWIRE_SIG_MAX || skp_sshwire_kex(a)[0] == '\0')
			abort();
		/* The blobs go on to the host key code: fuzz it too. */
		(void)skp_hostkey_fingerprint(ka, kan, fp);
		(void)skp_hostkey_verify(ka, kan, sa, san, "H", 1);
	} else if (kan != 0 || san != 0)
		abort();
	skp_sshwire_free(&a);
	skp_sshwire_free(&b);
	return 0;
}
