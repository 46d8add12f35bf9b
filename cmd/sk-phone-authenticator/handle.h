/* One request on the phone: decrypt, check, and (once approved) answer. */
#ifndef SKP_HANDLE_H
#define SKP_HANDLE_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/buf.h"
#include "sk-phone/ctap.h"
#include "sk-phone/noise.h"

#include "hostcheck.h"
#include "phstate.h"
#include "sshmsg.h"

#define SKP_HANDLE_FRESH_MS	120000	/* request time vs the phone's */
#define SKP_HANDLE_REPLAY_MS	600000	/* how long an id is remembered */
#define SKP_HANDLE_PIN_TRIES	8	/* wrong PINs before blocking */

#define SKP_HANDLE_STALE_NO_TIME	1
#define SKP_HANDLE_STALE_ALWAYS		2

/* What skp_handle_begin() leaves to the caller. */
enum skp_handle_next {
	SKP_HANDLE_DROP = 1,	/* not from a paired computer: no answer */
	SKP_HANDLE_RESPOND,	/* answer now: req->reply holds message 2 */
	SKP_HANDLE_APPROVE,	/* ask the owner, then skp_handle_approved */
	SKP_HANDLE_PIN,		/* send req->reply, wait for skp_handle_pin */
};

struct skp_handler {
	struct skp_phstate	*st;
	int			 have_pin;
	char			 pin[SKP_CTAP_PIN_MAX + 1];
	/* A wrong PIN could not be counted on disk: no more PINs. */
	int			 pin_stuck;
	/* 0: SKP_HANDLE_FRESH_MS (only a test build sets another). */
	uint64_t		 fresh_ms;
	/*
	 * Test builds only: SKP_HANDLE_STALE_NO_TIME answers a stale
	 * request as a phone before response key 6 did;
	 * SKP_HANDLE_STALE_ALWAYS refuses every request as stale.
	 */
	int			 test_stale;
	/*
	 * The state could not be re-read for this request: the paired
	 * computer gets a refusal, nothing is decided on the old state.
	 */
	int			 state_unreadable;
	/* The relay run listens on (NULL: the state's): response key 4. */
	const char		*relay;
	/*
	 * The request came to the current mailbox: its computer knows it,
	 * so no key 4 (set by run for each request; 0 elsewhere).
	 */
	int			 on_current;
	/* run --unknown-ca refuse: a certificate of an untrusted CA is
	 * refused, not taken as a plain key. */
	int			 unknown_ca_refuse;
};

struct skp_req {
	enum skp_handle_next	 next;
	skp_noise_t		*hs;		/* waiting to write message 2 */
	skp_noise_transport_t	*tp;		/* after a PIN was asked for */
	struct skp_ph_computer	 computer;	/* who asked */
	struct skp_ctap_request	 req;
	struct skp_sshmsg	 msg;		/* what the raw data says */
	struct skp_hostcheck	 host;		/* which host, for a login */
	uint8_t			 cred_id[SKP_PH_CRED_ID_LEN]; /* assertion */
	int			 uv;		/* the PIN was checked */
	/* For the prompt and the audit log. */
	const char		*op;		/* "login", "sshsig", ... */
	char			 subject[SKP_SSHMSG_USER_MAX + 1];
	char			 key_fp[64];	/* "" when none */
	const char		*decision;	/* refusals: why */
	/*
	 * Response key 4: the computer was paired before a mailbox
	 * rotation and is not yet told; every answer to it says where
	 * the phone listens now.
	 */
	int			 move;
	uint8_t			 move_id[SKP_MAILBOX_ID_LEN];
	char			 move_relay[SKP_RELAY_URL_MAX + 1];
	/* The answer, once made: Noise message 2. */
	skp_buf_t		*reply;
	uint8_t			 status;
};

/*
 * Decrypt message 1 against each paired computer, decode the envelope
 * and make every check that needs no one: freshness, replay, the raw
 * data's hash, the credential, the PIN. *out is always set (free it with
 * skp_req_free) unless the result is SKP_ERR_NOMEM.
 */
int	skp_handle_begin(struct skp_handler *, const uint8_t *msg, size_t len,
	    uint64_t now_ms, struct skp_req **out);
/*
 * skp_handle_begin() after decryption: pt is message 1's payload (the
 * request envelope) from r->computer, whose handshake is r->hs. Every
 * check that needs no one; leaves r->next as skp_handle_begin() does.
 * The fuzz harness test/fuzz/fuzz_request.c enters here.
 */
int	skp_handle_envelope(struct skp_handler *, struct skp_req *,
	    const uint8_t *pt, size_t ptlen, uint64_t now_ms);
/*
 * Transport message 3 of a request that asked for the PIN (next was
 * SKP_HANDLE_PIN): decrypt, check the PIN (a wrong one is counted), and
 * leave next as RESPOND (a refusal in req->reply: transport message 4),
 * APPROVE, or DROP when the message does not decrypt.
 */
int	skp_handle_pin(struct skp_handler *, struct skp_req *,
	    const uint8_t *msg, size_t len);
/* The owner (or the policy) allowed it: make the answer. */
int	skp_handle_approved(struct skp_handler *, struct skp_req *,
	    uint64_t now_ms);
/* Refuse with a status and a reason for the computer's user. */
int	skp_handle_refuse(struct skp_req *, uint8_t status, const char *reason);
void	skp_req_free(struct skp_req **);

/* The operation in words, for the prompt: "SSH login", ... */
const char *skp_handle_op_text(const struct skp_req *);

/*
 * The credential's signature over authData || clientDataHash: DER ECDSA
 * for ES256, 64 bytes for EdDSA (also the test phone's).
 */
int	skp_handle_sign(const struct skp_ph_cred *, const uint8_t *authdata,
	    size_t authdata_len, const uint8_t cdh[SKP_SHA256_LEN],
	    uint8_t sig[SKP_P256_SIG_MAX], size_t *siglen);

/*
 * The reason the computer shows when a pinned host key changed (at most
 * SKP_CTAP_REASON_MAX bytes): "host key for HOST changed; the phone
 * refused to sign; if the change is expected run: sk-phone-authenticator
 * hosts forget HOST".
 */
void	skp_handle_changed_reason(const char *host, char *out, size_t outlen);

#endif
