/* Moving a phone's state to another phone (docs/PROTOCOL.md section 10). */
#ifndef SKP_TRANSFER_H
#define SKP_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/crypto.h"
#include "sk-phone/pairuri.h"

#define SKP_TRANSFER_VERSION	1
#define SKP_TRANSFER_URI_MAX	1024	/* bytes, without NUL */
#define SKP_TRANSFER_SECRET_LEN	16
#define SKP_TRANSFER_PAYLOAD_MAX 524288	/* a sealed state file's cap */
#define SKP_TRANSFER_PIECE	60000	/* payload bytes per message */
#define SKP_TRANSFER_DIGEST_LEN	SKP_SHA256_LEN

/* The URI: sk-phone://transfer?v=1&k=K&s=S&r=R&t=T (section 10.1). */
struct skp_transferuri {
	uint8_t		key[SKP_P256_PUB_LEN];	/* the old phone's transfer key */
	uint8_t		secret[SKP_TRANSFER_SECRET_LEN];
	char		relay[SKP_RELAY_URL_MAX + 1];
	uint64_t	created;		/* unix seconds */
};

/* SKP_ERR_TOO_LARGE when out (with its NUL) is too small. */
int	skp_transferuri_encode(const struct skp_transferuri *, char *out,
	    size_t outlen);
/*
 * Strict, in the order of section 10.1: SKP_ERR_TOO_LARGE, SKP_ERR_FORMAT,
 * SKP_ERR_VERSION (a newer v), SKP_ERR_CRYPTO (k not on the curve).
 */
int	skp_transferuri_parse(const char *, size_t len,
	    struct skp_transferuri *);
/* SKP_ERR_EXPIRED as section 2.3 (300 s old, 60 s ahead). */
int	skp_transferuri_check_fresh(const struct skp_transferuri *,
	    uint64_t now);

/* Derivations (section 10.2). */
int	skp_transfer_rendezvous_id(const uint8_t [SKP_TRANSFER_SECRET_LEN],
	    uint8_t [SKP_RENDEZVOUS_ID_LEN]);
int	skp_transfer_psk(const uint8_t [SKP_TRANSFER_SECRET_LEN],
	    uint8_t [SKP_PSK_LEN]);
int	skp_transfer_confirm_code(const uint8_t [SKP_HANDSHAKE_HASH_LEN],
	    char text[SKP_CONFIRM_CODE_LEN + 1]);

/*
 * Messages (section 10.3), strict CBOR. reply is pairing's reply and
 * ready and done are pairing's confirm (pairflow.h); hello is {}.
 */
int	skp_transfer_encode_hello(uint8_t **, size_t *);
int	skp_transfer_decode_hello(const uint8_t *, size_t);
int	skp_transfer_encode_header(size_t len,
	    const uint8_t [SKP_TRANSFER_DIGEST_LEN], uint8_t **, size_t *);
int	skp_transfer_decode_header(const uint8_t *, size_t, size_t *len,
	    uint8_t [SKP_TRANSFER_DIGEST_LEN]);
int	skp_transfer_encode_received(const uint8_t [SKP_TRANSFER_DIGEST_LEN],
	    uint8_t **, size_t *);
int	skp_transfer_decode_received(const uint8_t *, size_t,
	    uint8_t [SKP_TRANSFER_DIGEST_LEN]);

/*
 * One transfer, either phone, driven by the caller:
 *
 *   old phone                              new phone
 *   skp_transfer_old_new()                 skp_transfer_new_new(uri)
 *   skp_transfer_open(); show the URI
 *   skp_transfer_handshake()   <-relay->   skp_transfer_handshake()
 *   show the code, ask                     show the code, peer name, ask
 *   skp_transfer_wait_ready()  <-------    skp_transfer_receive()
 *   skp_transfer_send(payload) ------->      (returns the payload)
 *                                          save it as pending
 *   (returns once received)    <-------    skp_transfer_received()
 *   commit: marker, wipe
 *   skp_transfer_done()        ------->      (returns once done)
 *
 * skp_transfer_decline() hangs up at any point. A flow is used once;
 * after any failure only skp_transfer_free() is of use. Every step is
 * bounded by its timeout_ms. Errors: those of pairflow.h's steps, and
 * SKP_ERR_REJECTED when the other side hung up (its owner declined),
 * SKP_ERR_FORMAT for a message or payload out of the rules.
 */
typedef struct skp_transfer skp_transfer_t;

/* Old phone: a fresh secret and transfer key, the URI made now. */
int	skp_transfer_old_new(const char *relay_url, const char *phone_name,
	    skp_transfer_t **);
/* New phone: from the URI as taken, checked (fresh at now) here. */
int	skp_transfer_new_new(const char *uri, uint64_t now, skp_transfer_t **);
int	skp_transfer_set_ca(skp_transfer_t *, const char *ca_file);
const char *skp_transfer_uri(const skp_transfer_t *);
/* Old phone: JOIN and wait until the relay took it. */
int	skp_transfer_open(skp_transfer_t *, int timeout_ms);
int	skp_transfer_handshake(skp_transfer_t *, int timeout_ms);
const char *skp_transfer_code(const skp_transfer_t *);
/* New phone: the old phone's name, from its authenticated reply. */
const char *skp_transfer_peer_name(const skp_transfer_t *);
int	skp_transfer_wait_ready(skp_transfer_t *, int timeout_ms);
int	skp_transfer_send(skp_transfer_t *, const uint8_t *, size_t,
	    int timeout_ms);
int	skp_transfer_done(skp_transfer_t *, int timeout_ms);
/* New phone: send ready, then the payload (malloc'd; wipe and free). */
int	skp_transfer_receive(skp_transfer_t *, int timeout_ms, uint8_t **,
	    size_t *);
int	skp_transfer_received(skp_transfer_t *, int timeout_ms);
int	skp_transfer_decline(skp_transfer_t *);
/* The relay code of the END that ended the last wait, 0 when none. */
unsigned int skp_transfer_end_code(const skp_transfer_t *);
void	skp_transfer_free(skp_transfer_t **);

#endif
