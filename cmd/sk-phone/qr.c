/* Draw a QR code in a terminal with half-block characters (libqrencode). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "sk-phone/err.h"

#include "qr.h"

/* Indexed by (top dark) | (bottom dark) << 1. */
static const char *const glyph[4] = {
	" ",			/* both light */
	"\xe2\x96\x80",		/* U+2580 upper half block */
	"\xe2\x96\x84",		/* U+2584 lower half block */
	"\xe2\x96\x88",		/* U+2588 full block */
};

/* Black on white, set on every line so a scrolled or wrapped line keeps it. */
#define QR_COLOR_ON	"\033[30;47m"
#define QR_COLOR_OFF	"\033[0m"

static int
module(const QRcode *qr, int x, int y)
{
	x -= SKP_QR_QUIET;
	y -= SKP_QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return 0;
	return qr->data[(size_t)y * (size_t)qr->width + (size_t)x] & 1;
}

int
skp_qr_draw(FILE *out, const char *text, int color)
{
	QRcode *qr = NULL;
	int side, x, y, rc = SKP_ERR_INTERNAL;

	if (out == NULL || text == NULL || *text == '\0')
		return SKP_ERR_INVALID;
	/* Level M survives a smudged screen and still fits a long URI. */
	errno = 0;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL) {
		rc = errno == ERANGE ? SKP_ERR_TOO_LARGE : SKP_ERR_NOMEM;
		goto out;
	}
	side = qr->width + 2 * SKP_QR_QUIET;
	for (y = 0; y < side; y += 2) {
		if (color)
			fputs(QR_COLOR_ON, out);
		for (x = 0; x < side; x++) {
			int top = module(qr, x, y);
			int bottom = y + 1 < side ? module(qr, x, y + 1) : 0;

			fputs(glyph[top | bottom << 1], out);
		}
		if (color)
			fputs(QR_COLOR_OFF, out);
		fputc('\n', out);
	}
	rc = fflush(out) == 0 ? SKP_OK : SKP_ERR_IO;
 out:
	QRcode_free(qr);
	return rc;
}
