/* Pairing a computer and a phone: QR rendezvous and the IKpsk0 handshake. */
#ifndef SKP_PAIRFLOW_H
#define SKP_PAIRFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/crypto.h"
#include "sk-phone/pairuri.h"

/*
 * One pairing, either side, in three steps the caller drives:
 *
 *   computer                              phone
 *   skp_pairflow_computer_new()           skp_pairflow_phone_new(uri)
 *   show skp_pairflow_uri() as a QR
 *   skp_pairflow_handshake()   <-relay->  skp_pairflow_handshake()
 *   show skp_pairflow_code(), peer name   show skp_pairflow_code()
 *   ask the user                          ask the user
 *   skp_pairflow_finish(yes/no)<-relay->  skp_pairflow_finish(yes/no)
 *   save the skp_pair_peer                save the skp_pair_peer
 *
 * The handshake joins the one-shot rendezvous derived from the QR secret on
 * the relay named in the URI. skp_pairflow_finish() sends this side's
 * confirmation (CBOR {1: true}) when confirmed and then waits for the
 * other side's; only when both arrived does it fill the record and return
 * 0. Declining (confirmed = 0) closes the rendezvous and returns
 * SKP_ERR_REJECTED; a peer that declines or disappears gives
 * SKP_ERR_REJECTED or SKP_ERR_CLOSED; no answer within the timeout gives
 * SKP_ERR_TIMEOUT. A flow is used once: after finish (or any failure)
 * only skp_pairflow_free() is allowed.
 *
 * Errors of the handshake step: SKP_ERR_NETWORK (relay unreachable),
 * SKP_ERR_TIMEOUT (no peer in time), SKP_ERR_DECRYPT (the peer does not
 * know the QR secret or the computer key: a wrong or forged QR),
 * SKP_ERR_FORMAT (a malformed pairing payload), SKP_ERR_EXPIRED (phone
 * side: the URI is older than SKP_PAIRURI_MAX_AGE seconds, or more than
 * SKP_PAIRURI_MAX_AHEAD seconds in the future), and what
 * skp_pairuri_parse() answers for a malformed URI.
 */

#define SKP_PAIRFLOW_NAME_MAX		SKP_NAME_MAX
#define SKP_PAIRFLOW_URL_MAX		SKP_RELAY_URL_MAX
#define SKP_PAIRFLOW_MAILBOX_LEN	SKP_MAILBOX_ID_LEN
#define SKP_PAIRFLOW_PSK_LEN		SKP_PSK_LEN

/*
 * What one side keeps about the other after a pairing. On the computer
 * it describes the phone (all fields); on the phone it describes the
 * computer (mailbox_id and relay_url are then zero / empty).
 */
struct skp_pair_peer {
	char	 name[SKP_PAIRFLOW_NAME_MAX + 1];	/* NUL-terminated */
	uint8_t	 static_pub[SKP_P256_PUB_LEN];
	uint8_t	 mailbox_id[SKP_PAIRFLOW_MAILBOX_LEN];
	char	 relay_url[SKP_PAIRFLOW_URL_MAX + 1];
	uint8_t	 request_psk[SKP_PAIRFLOW_PSK_LEN];	/* secret */
	uint64_t paired_at;				/* unix seconds */
};

typedef struct skp_pairflow skp_pairflow_t;

/*
 * Computer side. identity is copied. A fresh 16-byte QR secret is made and
 * the URI formatted with the current time; relay_url is where both meet:
 * a relay list (relayurl.h), tried in turn, all of it in the URI.
 */
int	skp_pairflow_computer_new(const struct skp_p256_key *identity,
	    const char *computer_name, const char *relay_url,
	    skp_pairflow_t **);

/*
 * Phone side, from the URI as scanned. identity is copied; mailbox_id is
 * the phone's mailbox and listen_url the relay where it listens (a relay
 * list; its first URL is sent to the computer). The rendezvous is on
 * the URI's relay list, tried in turn. now is the phone's clock in unix seconds (0: time(NULL)),
 * checked against the URI's creation time here, before any network.
 */
int	skp_pairflow_phone_new(const char *uri,
	    const struct skp_p256_key *identity, const char *phone_name,
	    const uint8_t mailbox_id[SKP_PAIRFLOW_MAILBOX_LEN],
	    const char *listen_url, uint64_t now, skp_pairflow_t **);

/* The pairing URI (computer side) or the one being joined (phone side). */
/*
 * wss: trust only the CA certificates in this PEM file (NULL: the
 * system's store). Before the handshake; the path is copied.
 */
int	skp_pairflow_set_ca(skp_pairflow_t *, const char *ca_file);

const char *skp_pairflow_uri(const skp_pairflow_t *);
/*
 * Computer side: the same pairing as the web form (§2.1),
 * https://RELAY/#v=2&..., for the web phone the relay serves; the errors
 * of skp_pairuri_encode_web().
 */
int	skp_pairflow_web_uri(const skp_pairflow_t *, char *out, size_t outlen);

/*
 * Computer: join the rendezvous and wait there, before the code is shown,
 * so that a phone never arrives first (it MEETs, and the relay refuses
 * one where nobody waits: docs/PROTOCOL.md §7.6). Blocks until the relay
 * took the JOIN, up to timeout_ms. Optional: the handshake joins itself
 * when it was not called.
 */
int	skp_pairflow_open(skp_pairflow_t *, int timeout_ms);

/* Meet at the rendezvous and run the handshake; blocks up to timeout_ms. */
int	skp_pairflow_handshake(skp_pairflow_t *, int timeout_ms);

/* After the handshake: the 6 digits, NUL-terminated, and the peer's name. */
const char *skp_pairflow_code(const skp_pairflow_t *);
const char *skp_pairflow_peer_name(const skp_pairflow_t *);

/* The user's answer; on 0, *out holds the record to save. */
int	skp_pairflow_finish(skp_pairflow_t *, int confirmed, int timeout_ms,
	    struct skp_pair_peer *out);

/*
 * The relay code of the END that ended the last wait on the rendezvous
 * (SKP_RELAY_C_HUNG_UP: the other side hung up; SKP_RELAY_C_PEER_GONE:
 * its connection ended), 0 when none did: tells a peer that declined
 * from one that went away.
 */
unsigned int skp_pairflow_end_code(const skp_pairflow_t *);

void	skp_pairflow_free(skp_pairflow_t **);

/*
 * The pairing payloads (docs/PROTOCOL.md §1), strict CBOR:
 * msg 1 {1: phone name, 2: mailbox id (32 bytes), 3: relay URL},
 * msg 2 {1: computer name}, confirmation {1: true}. Names and the URL
 * follow skp_pairuri_check_name() and skp_pairuri_check_relay().
 * Decoders write NUL-terminated strings into the fixed-size fields.
 * Exposed for the fuzz harness and the tests.
 */
struct skp_pair_hello {
	char	 name[SKP_PAIRFLOW_NAME_MAX + 1];
	uint8_t	 mailbox_id[SKP_PAIRFLOW_MAILBOX_LEN];
	char	 relay_url[SKP_PAIRFLOW_URL_MAX + 1];
};

int	skp_pairflow_encode_hello(const struct skp_pair_hello *, uint8_t **,
	    size_t *);
int	skp_pairflow_decode_hello(const uint8_t *, size_t,
	    struct skp_pair_hello *);
int	skp_pairflow_encode_reply(const char *computer_name, uint8_t **,
	    size_t *);
int	skp_pairflow_decode_reply(const uint8_t *, size_t,
	    char name[SKP_PAIRFLOW_NAME_MAX + 1]);
int	skp_pairflow_encode_confirm(uint8_t **, size_t *);
int	skp_pairflow_decode_confirm(const uint8_t *, size_t);

#endif
