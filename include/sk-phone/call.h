/* One request from the computer to its paired phone, through the relay. */
#ifndef SKP_CALL_H
#define SKP_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/pairuri.h"

/*
 * skp_call() opens a call to the phone's mailbox on its relay, sends Noise
 * KKpsk0 message 1 carrying the request envelope (the caller encodes it,
 * with a fresh random id and the current time), waits for message 2 and
 * decodes the response envelope {1: status, 2: CTAP response, 3: reason}.
 * Everything, from connecting to the answer, is bounded by timeout_ms.
 *
 * The PIN (protocol 2, docs/PROTOCOL.md §4.2): when the phone answers
 * 0x36 PIN_REQUIRED with key 5 ("the PIN may follow") and phone->pin is
 * set, the PIN goes in Noise transport message 3 (keys from Split, to
 * which both ephemerals contributed) and the answer in transport message
 * 4 is the result. Without a PIN the call ends with
 * SKP_ERR_PIN_REQUIRED, so that OpenSSH asks for one and retries.
 *
 * Results:
 *   0			status 0; resp->ctap holds the CTAP response
 *   SKP_ERR_NETWORK	relay unreachable or the connection failed
 *   SKP_ERR_TLS		the relay's certificate is not trusted
 *   SKP_ERR_IO		phone->ca_file cannot be read
 *   SKP_ERR_TIMEOUT	the phone was online but no answer came in time
 *   SKP_ERR_OFFLINE	the phone never came online before the deadline,
 *			or within phone->offline_ms of the relay saying
 *			it is offline
 *   SKP_ERR_LIMIT	the relay refused the call (too many calls)
 *   SKP_ERR_VERIFY	message 2 did not authenticate (not our phone)
 *   SKP_ERR_FORMAT	a malformed response envelope (and the other
 *			errors of skp_ctap_response_decode)
 *   a status error	the phone answered status != 0: the error is
 *			skp_ctap_status_err(status); resp->status and
 *			resp->reason say why
 *
 * The status callback, when given, is called from inside skp_call() each
 * time the relay reports the phone's presence changed: SKP_CALL_ONLINE
 * (the call reached the phone) or SKP_CALL_OFFLINE ("phone offline,
 * still waiting"); and SKP_CALL_SLOW once the phone, reached, has not
 * answered within SKP_CALL_SLOW_MS ("waiting for approval on phone
 * NAME": a phone that approves at once is not announced). It must not
 * call skp_call() itself.
 *
 * An absent phone: when the relay says the phone is offline, skp_call()
 * waits phone->offline_ms for it to come (0: the whole timeout), then
 * returns SKP_ERR_OFFLINE.
 *
 * Clocks apart (docs/PROTOCOL.md §8.2): when message 2 is a stale
 * refusal (0xF0) that carries the phone's clock (response key 6), the
 * request goes once more, in the phone's time (a fresh id, a fresh
 * handshake, within what is left of timeout_ms), unless
 * phone->no_clock_retry. resp->clock_retried and resp->clock_offset_ms
 * then say so, whatever the second answer; the caller tells the user
 * (skp_call_clock_text). A second 0xF0 is the result: never a third
 * request.
 */

#define SKP_CALL_ONLINE		1
#define SKP_CALL_OFFLINE	2
#define SKP_CALL_SLOW		3

#define SKP_CALL_SLOW_MS	700

#define SKP_CALL_REASON_MAX	SKP_CTAP_REASON_MAX
#define SKP_CALL_REQUEST_MAX	SKP_CTAP_ENVELOPE_MAX

/* What the computer keeps about the phone (its pairing record). */
struct skp_call_phone {
	const char	*name;		/* for messages only */
	/* A relay list (relayurl.h): tried in turn, first answer wins. */
	const char	*relay_url;
	const uint8_t	*static_pub;	/* SKP_P256_PUB_LEN */
	const uint8_t	*mailbox_id;	/* 32 bytes */
	const uint8_t	*request_psk;	/* 32 bytes */
	const char	*pin;		/* NULL, or sent if the phone asks */
	/* wss: trust only the CA certificates in this PEM file (NULL: the
	 * system's store). */
	const char	*ca_file;
	/* wss: the folder of saved TLS sessions (the computer's state
	 * folder, §6.7); NULL: none. */
	const char	*tls_session_dir;
	/* ms to wait for an offline phone; 0: the whole timeout. */
	int		 offline_ms;
	/*
	 * 1: a stale refusal is the result, never sent again in the
	 * phone's time (a test computer that sends stale requests on
	 * purpose).
	 */
	int		 no_clock_retry;
	/*
	 * The sk-phone program of the connection keeper (`sk-phone keeper`,
	 * docs/PROTOCOL.md §11): the call goes through the user's keeper,
	 * started from it when none answers; when the keeper is missing,
	 * refused or broken before anything came back, directly. NULL:
	 * directly.
	 */
	const char	*keeper;
};

struct skp_call_response {
	unsigned int	 status;	/* CTAP2 status; 0 = OK */
	uint8_t		*ctap;		/* CTAP response (CBOR) or NULL */
	size_t		 ctap_len;
	/* may be ""; control characters replaced by '?' */
	char		 reason[SKP_CALL_REASON_MAX + 1];
	int		 pin_sent;	/* the answer came after our PIN */
	/*
	 * Response key 4: the phone listens on a new mailbox now (mailbox
	 * rotate). Set only from an answer that decrypted and decoded,
	 * whatever its status: save it (skp_store_phones_move).
	 */
	int		 moved;
	uint8_t		 move_id[SKP_MAILBOX_ID_LEN];
	char		 move_relay[SKP_RELAY_URL_MAX + 1];
	/* Noise message sizes on the wire: the last sent, the answer. */
	size_t		 sent_len;
	size_t		 answer_len;
	/* Response key 6 of the last answer: the phone's clock (ms). */
	int		 has_phone_time;
	uint64_t	 phone_time_ms;
	/*
	 * A stale refusal with the phone's clock came first: the request
	 * went again with its time moved by clock_offset_ms (the phone's
	 * clock minus this computer's when the refusal came).
	 */
	int		 clock_retried;
	int64_t		 clock_offset_ms;
	/* The call went through the keeper; it went away during the call
	 * (the error then says what it was doing). */
	int		 via_keeper;
	int		 keeper_lost;
	/* Why the keeper was not used or failed ("" when it was fine). */
	char		 keeper_why[200];
};

typedef void skp_call_status_fn(int state, void *arg);

int	skp_call(const struct skp_call_phone *,
	    const struct skp_p256_key *identity, const uint8_t *request,
	    size_t request_len, int timeout_ms, skp_call_status_fn *,
	    void *arg, struct skp_call_response *);

/*
 * The line for the user after a retry in the phone's time (without the
 * "sk-phone: " that callers put first): "this computer's clock and
 * phone 'NAME' differ by N s (the phone is ahead|behind); the request
 * was sent again in the phone's time. Set the clocks right (NTP) to
 * save a round trip."
 */
void	skp_call_clock_text(const char *name, int64_t offset_ms, char *out,
	    size_t outlen);

/* Frees resp->ctap and zeroes the response. Accepts NULL. */
void	skp_call_response_clear(struct skp_call_response *);

#endif
