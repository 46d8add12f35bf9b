/* State on disk: the folder, the checked file format, the computer's files. */
#ifndef SKP_STORE_H
#define SKP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/pairuri.h"

/*
 * A state file (docs/PROTOCOL.md §6): "SKPS" || format version
 * (uint16) || payload length (uint32) || payload (CBOR map) || SHA-256 of
 * all that precedes.
 */
#define SKP_STORE_VERSION	1
#define SKP_STORE_HEADER_LEN	10
#define SKP_STORE_TRAILER_LEN	SKP_SHA256_LEN
#define SKP_STORE_PAYLOAD_MAX	(1024 * 1024)
#define SKP_STORE_FILE_MAX	(SKP_STORE_HEADER_LEN + \
				    SKP_STORE_PAYLOAD_MAX + \
				    SKP_STORE_TRAILER_LEN)
#define SKP_STORE_PATH_MAX	4096	/* a folder path, with its NUL */
#define SKP_STORE_CA_MAX	1023	/* bytes of a pairing's CA path */
#define SKP_STORE_NAME_MAX	64	/* a file name: [A-Za-z0-9_-]+ */
#define SKP_STORE_LAST_SUFFIX	".last"	/* NAME.last: its last good copy */
#define SKP_STORE_WHY_MAX	(2 * SKP_STORE_PATH_MAX + 256)

/*
 * Every function below that takes why/whylen writes there, on failure, a
 * one-line message for the user (what is wrong, with the path, and the
 * command that fixes it when there is one), and "" on success. A buffer
 * of SKP_STORE_WHY_MAX holds any of them; a shorter one gets them cut.
 * Messages never hold key material.
 */

/*
 * The computer's folder: $SK_PHONE_DIR (must be absolute), else
 * $XDG_CONFIG_HOME/sk-phone (when absolute), else $HOME/.config/sk-phone
 * (the passwd entry when HOME is unset or relative). Read with
 * secure_getenv. outlen should be SKP_STORE_PATH_MAX.
 */
int	skp_store_computer_dir(char *out, size_t outlen, char *why,
	    size_t whylen);
/*
 * Check a state folder: ours (owner is the effective uid) and closed to
 * group and others (SKP_ERR_PERM with the chmod to run). With create, a
 * missing folder is made 0700, and its missing parents 0700 too; without,
 * a missing folder is SKP_ERR_NOT_FOUND.
 */
int	skp_store_dir_check(const char *dir, int create, char *why,
	    size_t whylen);

/*
 * The file format from memory. Parse points *payload into p; it answers
 * SKP_ERR_CORRUPT (magic, length, checksum, size) or SKP_ERR_VERSION
 * (newer format). Frame writes header, payload and checksum into a new
 * buffer (free with skp_buf_free, which wipes).
 */
int	skp_store_parse(const uint8_t *p, size_t len, const uint8_t **payload,
	    size_t *payloadlen, char *why, size_t whylen);
int	skp_store_frame(const uint8_t *payload, size_t len, skp_buf_t **out);

/*
 * Read dir/name (the folder is checked first, never created). The file
 * must be a regular file, not a symbolic link, ours, and closed to group
 * and others (SKP_ERR_PERM with the chmod to run); SKP_ERR_NOT_FOUND when
 * it or the folder is missing. *payload is a new buffer that wipes.
 */
int	skp_store_read(const char *dir, const char *name, skp_buf_t **payload,
	    char *why, size_t whylen);
/*
 * The whole of a file the user names (a CA file), at most cap bytes:
 * SKP_ERR_TOO_LARGE past that, SKP_ERR_IO when it cannot be opened or
 * read. *out is a new buffer that wipes.
 */
int	skp_file_read(const char *path, size_t cap, skp_buf_t **out);
/*
 * A text the user asked for in a file they name (a pairing or transfer
 * URI for a script): written whole as path.tmp (0600 even when that was
 * there, never through a link), fsync'd and renamed over path, with a
 * newline. SKP_ERR_IO with errno set; on failure path is untouched.
 */
int	skp_file_write_private(const char *path, const char *text);
/*
 * Replace (or, with SKP_STORE_NOREPLACE, create: SKP_ERR_EXISTS if there)
 * dir/name atomically: a 0600 temporary file in the same folder, written,
 * fsync'd, renamed over the name, and the folder fsync'd. On failure the
 * old file is untouched and the temporary file is gone. The folder is
 * created as by skp_store_dir_check(dir, 1). SKP_STORE_NOSYNC leaves out
 * both fsyncs, for a cache whose last write may be lost in a crash (the
 * rename still gives the old file or the new one, whole).
 */
#define SKP_STORE_NOREPLACE	0x01
#define SKP_STORE_NOSYNC	0x02
int	skp_store_write(const char *dir, const char *name,
	    const uint8_t *payload, size_t len, int flags, char *why,
	    size_t whylen);
/* SKP_ERR_NOT_FOUND when the file is not there. */
int	skp_store_remove(const char *dir, const char *name, char *why,
	    size_t whylen);

/*
 * One writer at a time on a state folder, across processes: an exclusive
 * flock on dir/lock (made 0600, the folder as by skp_store_dir_check(dir,
 * 1)), held until skp_store_unlock(). Hold it around every
 * read-modify-write of a state file (two `sk-phone pair` at once would
 * otherwise lose a pairing), never across network waits. Blocks.
 */
#define SKP_STORE_LOCK		"lock"
int	skp_store_lock(const char *dir, int *fdp, char *why, size_t whylen);
/* Accepts -1; sets *fdp to -1. */
void	skp_store_unlock(int *fdp);

/* The computer's identity key: file "identity", CBOR {1: private key}. */
#define SKP_STORE_IDENTITY	"identity"
int	skp_store_identity_encode(const struct skp_p256_key *, uint8_t **out,
	    size_t *outlen);
int	skp_store_identity_decode(const uint8_t *, size_t,
	    struct skp_p256_key *);
/* SKP_ERR_NOT_FOUND when there is none yet. */
int	skp_store_identity_load(const char *dir, struct skp_p256_key *,
	    char *why, size_t whylen);
/* Make a new key and save it; SKP_ERR_EXISTS (key untouched) if one is. */
int	skp_store_identity_create(const char *dir, struct skp_p256_key *,
	    char *why, size_t whylen);

/*
 * The computer's pairings: file "phones", CBOR {1: [pairing, ...]}, each
 * pairing a map of the fields below with keys 1..7 in order. The phone id
 * is derived from the public key when a pairing is added or loaded.
 */
#define SKP_STORE_PHONES	"phones"
#define SKP_STORE_MAX_PHONES	16

struct skp_store_pairing {
	char		phone_name[SKP_NAME_MAX + 1];		/* 1 */
	uint8_t		phone_pub[SKP_P256_PUB_LEN];		/* 2 */
	uint8_t		mailbox_id[SKP_MAILBOX_ID_LEN];		/* 3 */
	/* 4: a relay list (relayurl.h): the URLs of the phone's relay,
	 * tried in turn */
	char		relay[SKP_RELAYLIST_MAX + 1];
	uint8_t		request_psk[SKP_PSK_LEN];		/* 5 */
	uint64_t	paired_at;				/* 6 */
	char		computer_name[SKP_NAME_MAX + 1];	/* 7 */
	/* 8, optional: the CA file (absolute path) that the relay's wss
	 * certificate is checked against; "": the system's CAs. */
	char		ca_file[SKP_STORE_CA_MAX + 1];
	uint8_t		phone_id[SKP_PHONE_ID_LEN];		/* derived */
};

typedef struct skp_store_phones skp_store_phones_t;

skp_store_phones_t *skp_store_phones_new(void);
/* Wipes the psks. */
void	skp_store_phones_free(skp_store_phones_t **);
size_t	skp_store_phones_count(const skp_store_phones_t *);
/* NULL past the end. Borrowed: valid until the set changes. */
const struct skp_store_pairing *skp_store_phones_at(
	    const skp_store_phones_t *, size_t);
/*
 * Add a copy after checking every field (names and relay as in the
 * pairing URI, the key on the curve); fills in phone_id. SKP_ERR_EXISTS
 * when the name or the phone is already there, SKP_ERR_TOO_LARGE past
 * SKP_STORE_MAX_PHONES.
 */
int	skp_store_phones_add(skp_store_phones_t *,
	    const struct skp_store_pairing *, char *why, size_t whylen);
/* SKP_ERR_NOT_FOUND when no pairing has that name / id. */
int	skp_store_phones_remove(skp_store_phones_t *, const char *name);
int	skp_store_phones_remove_id(skp_store_phones_t *,
	    const uint8_t [SKP_PHONE_ID_LEN]);
int	skp_store_phones_find_id(const skp_store_phones_t *,
	    const uint8_t [SKP_PHONE_ID_LEN],
	    const struct skp_store_pairing **);
int	skp_store_phones_find_name(const skp_store_phones_t *, const char *,
	    const struct skp_store_pairing **);
/* *out is malloc'd: skp_wipe() and free() it. */
int	skp_store_phones_encode(const skp_store_phones_t *, uint8_t **out,
	    size_t *outlen);
/* Strict: canonical CBOR, every key present, no duplicate phone. */
int	skp_store_phones_decode(const uint8_t *, size_t,
	    skp_store_phones_t **);
/* A missing file (or folder) is an empty set, not an error. */
int	skp_store_phones_load(const char *dir, skp_store_phones_t **,
	    char *why, size_t whylen);
int	skp_store_phones_save(const char *dir, const skp_store_phones_t *,
	    char *why, size_t whylen);
/*
 * The phone of id moved to another mailbox (response key 4, told in an
 * answer that verified): under the folder's lock, re-read "phones",
 * change that pairing's mailbox id, and its relay list to relay unless
 * relay is one of its URLs, write it back atomically.
 * SKP_ERR_NOT_FOUND when the phone is no longer paired.
 */
int	skp_store_phones_move(const char *dir,
	    const uint8_t [SKP_PHONE_ID_LEN],
	    const uint8_t [SKP_MAILBOX_ID_LEN], const char *relay,
	    char *why, size_t whylen);

#endif
