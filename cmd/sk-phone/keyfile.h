/* sk-phone: what OpenSSH's sk key files in ~/.ssh say about their phone. */
#ifndef SKP_KEYFILE_H
#define SKP_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/pairuri.h"

/* A key file larger than this is not an sk key file. */
#define SKP_KEYFILE_MAX		(64 * 1024)
/* The public key blob: type, curve, point, application (1..255). */
#define SKP_KEYFILE_BLOB_MAX	512
/* "sk-ecdsa-sha2-nistp256@openssh.com " and the blob in base64. */
#define SKP_KEYFILE_LINE_MAX	(40 + 4 * (SKP_KEYFILE_BLOB_MAX / 3 + 1) + 1)

struct skp_keyfile {
	uint8_t	blob[SKP_KEYFILE_BLOB_MAX];	/* OpenSSH public key blob */
	size_t	bloblen;
	int	ed25519;
	/* The private part is under a passphrase: no phone id was read. */
	int	sealed;
	uint8_t	phone_id[SKP_PHONE_ID_LEN];	/* when not sealed */
};

/*
 * The text of an OpenSSH private key file ("openssh-key-v1"). SKP_OK for
 * an sk-ecdsa or sk-ed25519 key: an unencrypted one whose key handle is
 * sk-phone's (phone_id set), or one under a passphrase (sealed, only the
 * public key); SKP_ERR_NOT_FOUND for anything else that is well formed
 * (another key type, another maker's key handle, not a key file);
 * SKP_ERR_FORMAT, _TRUNCATED, _TRAILING, _TOO_LARGE for a damaged one.
 */
int	skp_keyfile_parse(const char *text, size_t len, struct skp_keyfile *);

/* The OpenSSH public key blob of an sk key; SKP_ERR_TOO_LARGE past max. */
int	skp_keyfile_blob(int ed25519, const uint8_t *pub, size_t publen,
	    const char *application, uint8_t *out, size_t max, size_t *outlen);

/* "TYPE BASE64" of a blob skp_keyfile_blob made (or parse read). */
int	skp_keyfile_line(const uint8_t *blob, size_t bloblen, char *out,
	    size_t outlen);

/* SHA256:... of a blob, as ssh-keygen -l shows it. */
void	skp_keyfile_fingerprint(const uint8_t *blob, size_t bloblen,
	    char *out, size_t outlen);

/* A set of public key blobs, to print each key once. */
struct skp_keyfile_seen {
	uint8_t	(*blob)[SKP_KEYFILE_BLOB_MAX];
	size_t	*len;
	size_t	 n;
};

/* 1 when added, 0 when it was there already, -1 out of memory. */
int	skp_keyfile_seen_add(struct skp_keyfile_seen *, const uint8_t *blob,
	    size_t len);
void	skp_keyfile_seen_free(struct skp_keyfile_seen *);

/*
 * Every regular file of dir (not its subfolders) that parses, in name
 * order: fn(path, key, arg) for each; a file that does not open, or does
 * not parse, is skipped (a damaged sk key file is named on stderr).
 * SKP_ERR_NOT_FOUND when dir does not exist, else SKP_OK or an error of
 * fn (which stops the walk).
 */
int	skp_keyfile_scan(const char *dir, int (*fn)(const char *path,
	    const struct skp_keyfile *, void *), void *arg);

#endif
