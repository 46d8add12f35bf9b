/* Noise handshakes (IKpsk0, KKpsk0 over P-256) and the transport after. */
#ifndef SKP_NOISE_H
#define SKP_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"

/*
 * Noise protocol framework, revision 34, with one custom DH function
 * "P256": public keys in `e` and `s` tokens are 65-byte uncompressed
 * points, and the DH output (DHLEN for the key schedule) is the 32-byte
 * X coordinate. Cipher AESGCM, hash SHA256. See docs/PROTOCOL.md §3.
 */
#define SKP_NOISE_MAX_MSG	65535	/* any Noise message, of either kind */
#define SKP_NOISE_PSK_LEN	32
#define SKP_NOISE_HASH_LEN	32
#define SKP_NOISE_KEY_LEN	32
#define SKP_NOISE_TAG_LEN	16
#define SKP_NOISE_PROLOGUE_MAX	1024
/* The largest transport plaintext: one message minus its tag. */
#define SKP_NOISE_MAX_PLAINTEXT	(SKP_NOISE_MAX_MSG - SKP_NOISE_TAG_LEN)

/* Pairing: the phone initiates and knows the computer's static key. */
#define SKP_NOISE_IKPSK0	1
/* One per request: the computer initiates; both statics are known. */
#define SKP_NOISE_KKPSK0	2

#define SKP_NOISE_INITIATOR	1
#define SKP_NOISE_RESPONDER	2

#define SKP_NOISE_PAIR_PROLOGUE		"sk-phone pair v1"
#define SKP_NOISE_REQUEST_PROLOGUE	"sk-phone request v1"

/* What a handshake state expects next (skp_noise_next). */
#define SKP_NOISE_NEXT_WRITE	1
#define SKP_NOISE_NEXT_READ	2
#define SKP_NOISE_NEXT_SPLIT	3	/* handshake done, not split yet */
#define SKP_NOISE_NEXT_NONE	4	/* split done, or failed: dead */

typedef struct skp_noise skp_noise_t;
typedef struct skp_noise_transport skp_noise_transport_t;

/* NULL on a bad pattern or role, or out of memory. */
skp_noise_t	*skp_noise_new(int pattern, int role);
void		 skp_noise_free(skp_noise_t **);

/*
 * Setup, before the first message. The local static key must be
 * consistent (pub is the point of priv). The remote static is needed by
 * both KK roles and the IK initiator; the IK responder learns it from
 * message 1 and refuses one set in advance. The psk is always needed.
 * The prologue defaults to the pattern's string above.
 */
int	skp_noise_set_local_static(skp_noise_t *, const struct skp_p256_key *);
int	skp_noise_set_remote_static(skp_noise_t *,
	    const uint8_t [SKP_P256_PUB_LEN]);
int	skp_noise_set_psk(skp_noise_t *, const uint8_t [SKP_NOISE_PSK_LEN]);
int	skp_noise_set_prologue(skp_noise_t *, const void *, size_t);
/* Tests and test vectors only: the ephemeral key instead of a fresh one. */
int	skp_noise_set_ephemeral_for_test(skp_noise_t *,
	    const struct skp_p256_key *);

/*
 * One handshake message. write appends the message to out; read appends
 * the decrypted payload to out. Either only when everything succeeded.
 * Any failure leaves the state dead: later calls get SKP_ERR_STATE.
 */
int	skp_noise_write_message(skp_noise_t *, const void *payload,
	    size_t payloadlen, skp_buf_t *out);
int	skp_noise_read_message(skp_noise_t *, const void *msg, size_t msglen,
	    skp_buf_t *out);

int	skp_noise_next(const skp_noise_t *);
/* 1 when both handshake messages went through, else 0. */
int	skp_noise_is_done(const skp_noise_t *);
/* h after the last handshake message (also after the split). */
int	skp_noise_handshake_hash(const skp_noise_t *,
	    uint8_t [SKP_NOISE_HASH_LEN]);
/* The peer's static key once known (IK responder: after message 1). */
int	skp_noise_remote_static(const skp_noise_t *,
	    uint8_t [SKP_P256_PUB_LEN]);

/*
 * Once done: the transport state (*tp is set only on success). The
 * handshake state keeps only h and the remote static key afterwards;
 * splitting twice is SKP_ERR_STATE.
 */
int	skp_noise_split(skp_noise_t *, skp_noise_transport_t **);

/*
 * Transport messages: at most SKP_NOISE_MAX_MSG bytes on the wire. Each
 * direction counts its nonces from 0, so a replayed, dropped or
 * reordered message fails to decrypt, and the transport is then dead.
 */
int	skp_noise_transport_encrypt(skp_noise_transport_t *, const void *,
	    size_t, skp_buf_t *out);
int	skp_noise_transport_decrypt(skp_noise_transport_t *, const void *,
	    size_t, skp_buf_t *out);
void	skp_noise_transport_free(skp_noise_transport_t **);
/* Tests only: the split keys (c1: initiator to responder, c2: back). */
int	skp_noise_transport_keys_for_test(const skp_noise_transport_t *,
	    uint8_t c1[SKP_NOISE_KEY_LEN], uint8_t c2[SKP_NOISE_KEY_LEN]);
/* Tests only: jump the nonce counters (to reach their end). */
int	skp_noise_transport_set_nonces_for_test(skp_noise_transport_t *,
	    uint64_t send, uint64_t recv);

#endif
