/* Draw a QR code in a terminal with half-block characters. */
#ifndef SKP_CLI_QR_H
#define SKP_CLI_QR_H

#include <stdio.h>

/* Modules of light border around the code, as the QR standard asks. */
#define SKP_QR_QUIET	4

/*
 * Encode text and draw it on out, two module rows per text line. With
 * color, every line sets black on white itself, so the code reads the
 * same on dark and light terminals; without, the glyphs are the dark
 * modules (for pipes and files).
 */
int	skp_qr_draw(FILE *out, const char *text, int color);

#endif
