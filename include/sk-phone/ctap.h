/* CTAP2 messages between computer and phone: envelopes, parameters, answers. */
#ifndef SKP_CTAP_H
#define SKP_CTAP_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/crypto.h"

/*
 * Byte for byte in docs/PROTOCOL.md §4. Encoders write canonical
 * CBOR; decoders take strict CBOR (see cbor.h) and refuse wrong types
 * (SKP_ERR_CBOR_TYPE), missing required fields and values out of range
 * (SKP_ERR_FORMAT), items over the caps below (SKP_ERR_TOO_LARGE), an
 * newer envelope version (SKP_ERR_VERSION), an older one
 * (SKP_ERR_OLD_VERSION) and commands, algorithms or
 * formats sk-phone does not speak (SKP_ERR_UNSUPPORTED). Keys sk-phone
 * did not define are refused in its own maps (envelopes, context, host
 * info) and ignored in the maps CTAP defines, as CTAP asks.
 *
 * Every struct is plain with fixed caps; decoders zero it first, and
 * *_clear() wipes it.
 *
 * Protocol 2: the PIN never travels in the request (context key 4 is
 * refused); it goes in transport message 3 once the phone asked for it
 * (response key 5), see skp_ctap_pin_encode. Envelopes and the PIN
 * message are padded (key 15, zero bytes) to the bucket sizes below, so
 * that sizes on the wire tell little (docs/PROTOCOL.md §4.2).
 */

#define SKP_CTAP_VERSION		2	/* envelope version (protocol 2) */

#define SKP_CTAP_MAKE_CREDENTIAL	0x01
#define SKP_CTAP_GET_ASSERTION		0x02
#define SKP_CTAP_GET_INFO		0x04
#define SKP_CTAP_CRED_MGMT		0x0a
/* sk-phone (vendor range): "forget the computer that sends this" (no
 * params; `sk-phone unpair`). */
#define SKP_CTAP_FORGET			0x41

#define SKP_CTAP_CM_ENUM_RPS		0x02	/* enumerateRPsBegin */
#define SKP_CTAP_CM_ENUM_CREDS		0x04	/* enumerateCredentialsBegin */

/* CTAP2 status codes sk-phone uses. */
#define SKP_CTAP_OK			0x00
#define SKP_CTAP_INVALID_COMMAND	0x01
#define SKP_CTAP_INVALID_PARAMETER	0x02
#define SKP_CTAP_INVALID_LENGTH		0x03
#define SKP_CTAP_TIMEOUT		0x05
#define SKP_CTAP_CHANNEL_BUSY		0x06
#define SKP_CTAP_CBOR_UNEXPECTED_TYPE	0x11
#define SKP_CTAP_INVALID_CBOR		0x12
#define SKP_CTAP_MISSING_PARAMETER	0x14
#define SKP_CTAP_CREDENTIAL_EXCLUDED	0x19
#define SKP_CTAP_INVALID_CREDENTIAL	0x22
#define SKP_CTAP_UNSUPPORTED_ALGORITHM	0x26
#define SKP_CTAP_OPERATION_DENIED	0x27
#define SKP_CTAP_KEY_STORE_FULL		0x28
#define SKP_CTAP_UNSUPPORTED_OPTION	0x2b
#define SKP_CTAP_INVALID_OPTION		0x2c
#define SKP_CTAP_NO_CREDENTIALS		0x2e
#define SKP_CTAP_USER_ACTION_TIMEOUT	0x2f
#define SKP_CTAP_NOT_ALLOWED		0x30
#define SKP_CTAP_PIN_INVALID		0x31
#define SKP_CTAP_PIN_BLOCKED		0x32
#define SKP_CTAP_PIN_REQUIRED		0x36
#define SKP_CTAP_INVALID_SUBCOMMAND	0x3e
#define SKP_CTAP_OTHER			0x7f
/* sk-phone's own, in the vendor range. */
#define SKP_CTAP_STALE			0xf0	/* time outside the window */
#define SKP_CTAP_REPLAYED		0xf1	/* request id seen before */
#define SKP_CTAP_RAW_MISMATCH		0xf2	/* SHA-256(raw) != cdh */
#define SKP_CTAP_HOSTKEY_CHANGED	0xf3	/* pinned host key differs */
#define SKP_CTAP_NOT_PAIRED		0xf4
#define SKP_CTAP_UV_UNAVAILABLE		0xf5	/* cannot verify the user */
#define SKP_CTAP_BAD_VERSION		0xf6	/* unknown envelope version */
#define SKP_CTAP_HOST_UNVERIFIED	0xf7	/* host info does not verify */

/* Padding buckets: an encoded envelope is exactly one of these long. */
#define SKP_CTAP_REQUEST_BUCKETS	{ 2048, 8192, 32768, 65000 }
#define SKP_CTAP_RESPONSE_BUCKETS	{ 1024, 4096, 16384, 65000 }
#define SKP_CTAP_PIN_MSG_LEN		128	/* transport message 3 */
#define SKP_CTAP_PAD_KEY		15

/* Caps, in bytes unless said otherwise. */
#define SKP_CTAP_ENVELOPE_MAX		65000	/* fits a Noise message */
#define SKP_CTAP_REQUEST_ID_LEN		16
#define SKP_CTAP_CDH_LEN		32	/* clientDataHash */
#define SKP_CTAP_RP_ID_MAX		255
#define SKP_CTAP_RP_NAME_MAX		64
#define SKP_CTAP_USER_ID_MAX		64
#define SKP_CTAP_USER_NAME_MAX		64	/* name and displayName */
#define SKP_CTAP_CRED_ID_MIN		16
#define SKP_CTAP_CRED_ID_MAX		128
#define SKP_CTAP_RAW_MAX		8192
#define SKP_CTAP_REASON_MAX		256
#define SKP_CTAP_COMPUTER_NAME_MAX	64
#define SKP_CTAP_PIN_MAX		63
#define SKP_CTAP_HOST_NAME_MAX		255
#define SKP_CTAP_HOST_BLOB_MAX		2048	/* host key, signature */
#define SKP_CTAP_KEX_NAME_MAX		64
#define SKP_CTAP_ALG_PARAMS_MAX		8	/* pubKeyCredParams entries */
#define SKP_CTAP_ALLOW_MAX		4	/* allowList entries */
#define SKP_CTAP_AUTHDATA_MAX		512
#define SKP_CTAP_INFO_LIST_MAX		8	/* versions, extensions */
#define SKP_CTAP_INFO_NAME_MAX		32	/* each of those, options */
#define SKP_CTAP_INFO_OPTIONS_MAX	16
#define SKP_CTAP_CREDS_MAX		128	/* credential management */

#define SKP_CTAP_COSE_ES256		(-7)
#define SKP_CTAP_COSE_EDDSA		(-8)

/* Context key 6 `origin` (docs/PROTOCOL.md §4.3). */
#define SKP_CTAP_ORIGIN_AGENT		1	/* through ssh-agent */

/* Options are tri-state: absent, false, true. */
#define SKP_CTAP_OPT_ABSENT		(-1)

/* Host authentication from `sk-phone proxy` (context key 3). */
struct skp_ctap_host {
	char		name[SKP_CTAP_HOST_NAME_MAX + 1];
	uint16_t	port;
	uint8_t		host_key[SKP_CTAP_HOST_BLOB_MAX];  /* SSH wire blob */
	size_t		host_key_len;
	uint8_t		signature[SKP_CTAP_HOST_BLOB_MAX]; /* SSH wire sig */
	size_t		signature_len;
	char		kex[SKP_CTAP_KEX_NAME_MAX + 1];
};

struct skp_ctap_context {
	int		has_raw;
	uint8_t		raw[SKP_CTAP_RAW_MAX];	/* what OpenSSH passed */
	size_t		raw_len;
	char		computer_name[SKP_CTAP_COMPUTER_NAME_MAX + 1];
	int		has_host;
	struct skp_ctap_host host;
	int		overwrite;	/* 0 when absent */
	/*
	 * Key 6: where the request comes from; SKP_CTAP_ORIGIN_AGENT when
	 * the provider runs under ssh-agent. Other values are kept and
	 * mean nothing yet (a phone ignores them); 0 when absent.
	 */
	uint64_t	origin;
};

struct skp_ctap_make_credential {
	uint8_t		cdh[SKP_CTAP_CDH_LEN];
	char		rp_id[SKP_CTAP_RP_ID_MAX + 1];
	char		rp_name[SKP_CTAP_RP_NAME_MAX + 1];	/* may be "" */
	uint8_t		user_id[SKP_CTAP_USER_ID_MAX];
	size_t		user_id_len;				/* 1.. */
	char		user_name[SKP_CTAP_USER_NAME_MAX + 1];
	char		user_display_name[SKP_CTAP_USER_NAME_MAX + 1];
	unsigned int	cred_protect;		/* 0 absent, else 1..3 */
	int		rk, up, uv;		/* SKP_CTAP_OPT_ABSENT, 0, 1 */
	/*
	 * pubKeyCredParams: the encoder sends this one alg (0: ES256);
	 * the decoder gives the first of the list that sk-phone makes
	 * (ES256 or EdDSA), and UNSUPPORTED_ALGORITHM when there is none.
	 */
	int64_t		alg;
};

struct skp_ctap_cred_ref {
	uint8_t		id[SKP_CTAP_CRED_ID_MAX];
	size_t		id_len;
};

struct skp_ctap_get_assertion {
	char		rp_id[SKP_CTAP_RP_ID_MAX + 1];
	uint8_t		cdh[SKP_CTAP_CDH_LEN];
	struct skp_ctap_cred_ref allow[SKP_CTAP_ALLOW_MAX];
	size_t		nallow;			/* 0 when absent */
	int		up, uv;			/* SKP_CTAP_OPT_ABSENT, 0, 1 */
};

struct skp_ctap_cred_mgmt {
	uint8_t		subcommand;
	int		has_rp_id_hash;		/* ENUM_CREDS: absent = all */
	uint8_t		rp_id_hash[SKP_SHA256_LEN];
};

/* A request envelope; the member for `command` is the one filled. */
struct skp_ctap_request {
	uint8_t		id[SKP_CTAP_REQUEST_ID_LEN];
	uint64_t	time_ms;
	uint8_t		command;
	struct skp_ctap_make_credential	mc;
	struct skp_ctap_get_assertion	ga;
	struct skp_ctap_cred_mgmt	cm;
	struct skp_ctap_context		ctx;
};

/*
 * status is what the phone answers when the decoder refuses the request
 * (may be NULL): INVALID_CBOR, CBOR_UNEXPECTED_TYPE, MISSING_PARAMETER,
 * INVALID_LENGTH, INVALID_PARAMETER, INVALID_COMMAND,
 * UNSUPPORTED_ALGORITHM, INVALID_SUBCOMMAND or BAD_VERSION; a context
 * with key 4 (protocol 1's PIN) is INVALID_PARAMETER.
 * Encoders hand back malloc'd bytes, padded to a request bucket.
 */
int	skp_ctap_request_encode(const struct skp_ctap_request *, uint8_t **out,
	    size_t *outlen);
int	skp_ctap_request_decode(const uint8_t *, size_t,
	    struct skp_ctap_request *, uint8_t *status);
void	skp_ctap_request_clear(struct skp_ctap_request *);
/* 0 when SHA-256(ctx.raw) is the request's clientDataHash. */
int	skp_ctap_request_check_raw(const struct skp_ctap_request *);

/* A response envelope; ctap is the CTAP response as CBOR (malloc'd). */
struct skp_ctap_response {
	uint8_t		 status;
	uint8_t		*ctap;		/* present iff status == 0 */
	size_t		 ctap_len;
	char		 reason[SKP_CTAP_REASON_MAX + 1];	/* may be "" */
	int		 pin_may_follow;	/* key 5: only with 0x36 */
	/* Key 4: the phone moved to another mailbox (mailbox rotate). */
	int		 moved;
	uint8_t		 move_id[32];
	char		 move_relay[256];	/* SKP_RELAY_URL_MAX + 1 */
	/*
	 * Key 6: the phone's clock when it decided (ms since 1970-01-01
	 * UTC); only with 0xF0 (stale), else SKP_ERR_FORMAT.
	 */
	int		 has_phone_time;
	uint64_t	 phone_time_ms;
};

/* What an answer says, for skp_ctap_answer_encode. */
struct skp_ctap_answer {
	uint8_t		 status;
	const uint8_t	*ctap;		/* strict CBOR map or array iff 0 */
	size_t		 ctap_len;
	const char	*reason;	/* NULL or text; only when status != 0 */
	int		 pin_may_follow; /* key 5 = true; status must be 0x36 */
	/*
	 * Key 4, the phone's new mailbox: {1: id (32), 2: relay URL}; both
	 * or neither (NULL). Not with unpadded.
	 */
	const uint8_t	*move_id;
	const char	*move_relay;
	/* Key 6, the phone's clock (ms); only with status 0xF0. */
	int		 has_phone_time;
	uint64_t	 phone_time_ms;
	/* Protocol 1's layout, for the version refusal (no padding). */
	int		 unpadded;
};

int	skp_ctap_answer_encode(const struct skp_ctap_answer *, uint8_t **out,
	    size_t *outlen);
/* The same for the plain cases: ctap only when status is 0. */
int	skp_ctap_response_encode(uint8_t status, const uint8_t *ctap,
	    size_t ctap_len, const char *reason, uint8_t **out,
	    size_t *outlen);
int	skp_ctap_response_decode(const uint8_t *, size_t,
	    struct skp_ctap_response *);
void	skp_ctap_response_clear(struct skp_ctap_response *);

/*
 * makeCredential answer: fmt "packed", self attestation. alg is -7 (sig
 * DER ECDSA) or -8 (sig exactly 64 bytes, Ed25519).
 */
struct skp_ctap_mc_resp {
	uint8_t		authdata[SKP_CTAP_AUTHDATA_MAX];
	size_t		authdata_len;
	int64_t		alg;
	uint8_t		sig[SKP_P256_SIG_MAX];
	size_t		sig_len;
};

int	skp_ctap_mc_resp_encode(const struct skp_ctap_mc_resp *, uint8_t **out,
	    size_t *outlen);
int	skp_ctap_mc_resp_decode(const uint8_t *, size_t,
	    struct skp_ctap_mc_resp *);

/* getAssertion answer. */
struct skp_ctap_ga_resp {
	struct skp_ctap_cred_ref cred;
	uint8_t		authdata[SKP_CTAP_AUTHDATA_MAX];
	size_t		authdata_len;
	uint8_t		sig[SKP_P256_SIG_MAX];
	size_t		sig_len;
	int		has_user;		/* resident credentials */
	uint8_t		user_id[SKP_CTAP_USER_ID_MAX];
	size_t		user_id_len;
};

int	skp_ctap_ga_resp_encode(const struct skp_ctap_ga_resp *, uint8_t **out,
	    size_t *outlen);
int	skp_ctap_ga_resp_decode(const uint8_t *, size_t,
	    struct skp_ctap_ga_resp *);

/* getInfo answer. */
struct skp_ctap_info_option {
	char		name[SKP_CTAP_INFO_NAME_MAX + 1];
	int		value;
};

struct skp_ctap_info {
	char		versions[SKP_CTAP_INFO_LIST_MAX]
			    [SKP_CTAP_INFO_NAME_MAX + 1];
	size_t		nversions;			/* 1.. */
	char		extensions[SKP_CTAP_INFO_LIST_MAX]
			    [SKP_CTAP_INFO_NAME_MAX + 1];
	size_t		nextensions;
	uint8_t		aaguid[16];
	struct skp_ctap_info_option options[SKP_CTAP_INFO_OPTIONS_MAX];
	size_t		noptions;
	uint64_t	max_msg_size;			/* 0 when absent */
	/*
	 * Key 10, algorithms: the COSE algs of its {"alg", "type":
	 * "public-key"} maps, in the phone's order; none when absent (an
	 * older phone: ES256 only).
	 */
	int64_t		algorithms[SKP_CTAP_INFO_LIST_MAX];
	size_t		nalgorithms;
};

int	skp_ctap_info_encode(const struct skp_ctap_info *, uint8_t **out,
	    size_t *outlen);
int	skp_ctap_info_decode(const uint8_t *, size_t, struct skp_ctap_info *);
/* SKP_CTAP_OPT_ABSENT, 0 or 1. */
int	skp_ctap_info_option(const struct skp_ctap_info *, const char *);
/* 1 when the phone makes keys of this COSE alg (no key 10: ES256 only). */
int	skp_ctap_info_has_alg(const struct skp_ctap_info *, int64_t alg);

/*
 * One element of a credential management answer (sk-phone sends the
 * whole enumeration at once, an array of these maps). ENUM_RPS elements
 * carry rp and rp_id_hash; ENUM_CREDS elements carry user, credential id,
 * public key, credProtect, and rp as well when all RPs were asked for.
 */
struct skp_ctap_cred {
	int		has_rp;
	char		rp_id[SKP_CTAP_RP_ID_MAX + 1];
	uint8_t		rp_id_hash[SKP_SHA256_LEN];
	uint8_t		user_id[SKP_CTAP_USER_ID_MAX];
	size_t		user_id_len;
	char		user_name[SKP_CTAP_USER_NAME_MAX + 1];	/* may be "" */
	struct skp_ctap_cred_ref cred;
	/* ES256: the 65-byte point; EdDSA: the 32-byte key, then zeros. */
	uint8_t		pub[SKP_P256_PUB_LEN];
	unsigned int	cred_protect;		/* 0 absent, else 1..3 */
	int64_t		alg;		/* the encoder takes 0 as ES256 */
};

/* all_rps: ENUM_CREDS asked without rpIDHash, so each carries its rp. */
int	skp_ctap_creds_encode(const struct skp_ctap_cred *, size_t n,
	    uint8_t subcommand, int all_rps, uint8_t **out, size_t *outlen);
/* *out is calloc'd (n may be 0); free with skp_ctap_creds_free. */
int	skp_ctap_creds_decode(const uint8_t *, size_t, uint8_t subcommand,
	    int all_rps, struct skp_ctap_cred **out, size_t *n);
void	skp_ctap_creds_free(struct skp_ctap_cred **, size_t n);

/*
 * Transport message 3's payload: {1: PIN (text 1..63), 15: zero bytes},
 * always SKP_CTAP_PIN_MSG_LEN bytes so that the PIN's length does not
 * show. Wipe both the encoding and the decoded PIN after use.
 */
int	skp_ctap_pin_encode(const char *pin, uint8_t **out, size_t *outlen);
int	skp_ctap_pin_decode(const uint8_t *, size_t,
	    char pin[SKP_CTAP_PIN_MAX + 1]);

/* The SKP_ERR_* for a status the phone answered (0 for SKP_CTAP_OK). */
int		 skp_ctap_status_err(uint8_t status);
/* A short English name of a status, for logs and messages. */
const char	*skp_ctap_status_str(uint8_t status);

#endif
