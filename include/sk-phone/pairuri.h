/* The pairing URI shown as a QR code, and the ids and keys pairing derives. */
#ifndef SKP_PAIRURI_H
#define SKP_PAIRURI_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/crypto.h"
#include "sk-phone/relayurl.h"

#define SKP_PAIRURI_VERSION	2	/* one relay URL */
#define SKP_PAIRURI_VERSION_LIST 3	/* 2..4 relay URLs, r repeated */
#define SKP_PAIRURI_MAX		1024	/* whole URI, bytes, without NUL */
#define SKP_PAIRURI_MAX_AGE	300	/* seconds a QR code is good for */
#define SKP_PAIRURI_MAX_AHEAD	60	/* seconds of clock skew forgiven */
#define SKP_QR_SECRET_LEN	16
#define SKP_RELAY_URL_MAX	255	/* bytes, decoded */
#define SKP_NAME_MAX		64	/* bytes of UTF-8, phone or computer */
#define SKP_RENDEZVOUS_ID_LEN	32
#define SKP_PSK_LEN		32
#define SKP_HANDSHAKE_HASH_LEN	32
#define SKP_PHONE_ID_LEN	16
#define SKP_MAILBOX_SECRET_LEN	32
#define SKP_MAILBOX_ID_LEN	32
#define SKP_CONFIRM_CODE_LEN	6	/* decimal digits */

/*
 * What the QR code carries. The secret is what lets a phone pair:
 * skp_pairuri_clear() wipes it.
 */
struct skp_pairuri {
	uint8_t		computer_pub[SKP_P256_PUB_LEN];
	uint8_t		secret[SKP_QR_SECRET_LEN];
	/* A relay list (relayurl.h): one URL, or several joined by spaces. */
	char		relay[SKP_RELAYLIST_MAX + 1];
	char		name[SKP_NAME_MAX + 1];
	uint64_t	created;	/* unix seconds */
};

/*
 * Write the URI into out (outlen includes the NUL). Every field is
 * checked as the parser would; SKP_ERR_TOO_LARGE when the URI would pass
 * SKP_PAIRURI_MAX or not fit in out. One relay URL gives v=2 (what every
 * phone reads), several v=3 with one r each, in order (PROTOCOL.md §2.1).
 */
int	skp_pairuri_encode(const struct skp_pairuri *, char *out,
	    size_t outlen);
/*
 * The web form (PROTOCOL.md §2.1): the same query in the fragment of the
 * relay's own web origin (of the first relay URL), https://HOST[:PORT]/#v=2&k=... (http:// for a
 * ws:// relay on a loopback address), for the web phone the relay serves.
 * SKP_ERR_FORMAT for a ws:// relay on another address (a browser gives
 * such a page no WebCrypto); skp_pairuri_web_ok() says so beforehand.
 */
int	skp_pairuri_encode_web(const struct skp_pairuri *, char *out,
	    size_t outlen);
int	skp_pairuri_web_ok(const char *relay);
/*
 * Strict parse of len bytes (no NUL needed), either form; the web form's
 * origin must be the one its r gives. SKP_ERR_VERSION for a v
 * newer than ours, SKP_ERR_OLD_VERSION for v=1 (protocol 1), SKP_ERR_CRYPTO for a key not on the curve, otherwise
 * SKP_ERR_FORMAT / SKP_ERR_TOO_LARGE. Does not check freshness.
 */
int	skp_pairuri_parse(const char *, size_t len, struct skp_pairuri *);
/* SKP_ERR_EXPIRED when older than MAX_AGE or more than MAX_AHEAD ahead. */
int	skp_pairuri_check_fresh(const struct skp_pairuri *, uint64_t now);
void	skp_pairuri_clear(struct skp_pairuri *);
/* A decimal without sign or leading zero that fits 64 bits. */
int	skp_pairuri_parse_decimal(const char *, size_t len, uint64_t *);
/*
 * Whether a version field is a newer version than ours: a decimal
 * without sign or leading zero, larger than ours, however long (past
 * 64 bits too). Not a well-formed number: 0 (the caller says FORMAT).
 */
int	skp_pairuri_newer_version(const char *, size_t len, uint64_t ours);

/* Field rules shared with the pairing payloads and the state files. */
/* skp_relayurl_parse() without the parts (include/sk-phone/relayurl.h). */
int	skp_pairuri_check_relay(const char *, size_t len);
/* 1..SKP_NAME_MAX bytes of valid UTF-8 without control characters. */
int	skp_pairuri_check_name(const char *, size_t len);

/* Derivations (docs/PROTOCOL.md §2). */
int	skp_pairuri_rendezvous_id(const uint8_t [SKP_QR_SECRET_LEN],
	    uint8_t [SKP_RENDEZVOUS_ID_LEN]);
int	skp_pairuri_pairing_psk(const uint8_t [SKP_QR_SECRET_LEN],
	    uint8_t [SKP_PSK_LEN]);
/* code is 0..999999; text (optional) gets 6 digits and a NUL. */
int	skp_pairuri_confirm_code(const uint8_t [SKP_HANDSHAKE_HASH_LEN],
	    uint32_t *code, char text[SKP_CONFIRM_CODE_LEN + 1]);
int	skp_pairuri_request_psk(const uint8_t [SKP_HANDSHAKE_HASH_LEN],
	    uint8_t [SKP_PSK_LEN]);
int	skp_pairuri_phone_id(const uint8_t [SKP_P256_PUB_LEN],
	    uint8_t [SKP_PHONE_ID_LEN]);

#endif
