/* The phone's state folder: identity, computers, credentials, counters. */
#ifndef SKP_PHSTATE_H
#define SKP_PHSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "sk-phone/authdata.h"
#include "sk-phone/buf.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/hostcert.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/transfer.h"

/*
 * Files (docs/PROTOCOL.md §8), each a state file (store.h) in a 0700
 * folder, 0600, replaced atomically:
 *   masterkey    {1: storage key (32)}		  without a passphrase
 *   kdf          {1: salt, 2: log2 N, 3: r, 4: p, 5: check tag}  with one
 *   identity     sealed {1: identity key, 3: name, 4: relay list,
 *                5: mailbox key, 6: the mailbox key before a rotation,
 *                while some computer is not told}  (protocol 1: 2:
 *                mailbox secret, not 5)
 *   computers    sealed {1: [{1: name, 2: public key, 3: request psk,
 *                4: paired at, 5: window until, 6: [namespaces],
 *                7: true}]} (6: the SSHSIG namespaces approved under
 *                the window; absent when none. 7: not yet told of the
 *                new mailbox; absent when told)
 *   credentials  sealed {1: [{1: id, 2: rp id, 3: user id, 4: user name,
 *                5: public key, 6: private key, 7: resident,
 *                8: credProtect, 9: created, 10: made for (computer),
 *                11: alg (-8; absent: -7)}]}  (for -8, 5 is the 32-byte
 *                Ed25519 key and 6 its 32-byte seed)
 *   counters     sealed {1: [{1: credential id, 2: counter}]}
 *   seen         sealed {1: [{1: request id, 2: time seen (ms),
 *                3: request time (ms), 4: boot clock seen (ms),
 *                5: computer tag (8)}], 2: boot id (16)}
 *   hosts        sealed {1: [{1: pin name, 2: host key blob, 3: pinned at,
 *                4: pinned by (computer)}], 2: [{1: computer, 2: pin name,
 *                3: window until}]}
 *   pin          sealed {1: wrong PINs in a row}	  absent: 0
 *   cas          sealed {1: [{1: host pattern, 2: CA key blob,
 *                3: added at}]}			  absent: {1: []}
 * "sealed" is {1: nonce (12), 2: AES-256-GCM ciphertext and tag} of the
 * inner map, with the file name in the associated data.
 */

#define SKP_PH_MAX_COMPUTERS	16
#define SKP_PH_WIN_NS		8	/* namespaces under one window */
#define SKP_PH_NS_MAX		255	/* as SKP_SSHMSG_NS_MAX */
#define SKP_PH_MAX_CREDS	128
/*
 * The replay cache: each computer holds at most SKP_PH_SEEN_SHARE live ids,
 * so that one cannot push another's out; ids written by an older phone
 * (no computer tag) have a share of their own.
 */
#define SKP_PH_SEEN_SHARE	256
#define SKP_PH_MAX_SEEN		((SKP_PH_MAX_COMPUTERS + 1) * SKP_PH_SEEN_SHARE)
#define SKP_PH_SEEN_TAG_LEN	8
#define SKP_PH_BOOT_ID_LEN	16
#define SKP_PH_CRED_ID_LEN	16
#define SKP_PH_RP_MAX		255	/* as SKP_CTAP_RP_ID_MAX */
#define SKP_PH_USER_ID_MAX	64
#define SKP_PH_USER_NAME_MAX	64
#define SKP_PH_REQ_ID_LEN	16
#define SKP_PH_KEY_LEN		32	/* storage key */
#define SKP_PH_WHY_MAX		2048
/* Host pins: one per pin name and key type, as known_hosts keeps them. */
#define SKP_PH_MAX_HOSTS	200
#define SKP_PH_MAX_HOST_WINDOWS	64
#define SKP_PH_HOST_NAME_MAX	(SKP_HOSTINFO_PIN_MAX - 1)
#define SKP_PH_HOST_KEY_MAX	SKP_CTAP_HOST_BLOB_MAX
#define SKP_PH_PIN_FAILURES_MAX	255	/* the count stops here */
/* Host CAs the owner trusts (hosts trust-ca). */
#define SKP_PH_MAX_CAS		32

struct skp_ph_computer {
	char		name[SKP_NAME_MAX + 1];
	uint8_t		pub[SKP_P256_PUB_LEN];
	uint8_t		psk[SKP_PSK_LEN];
	uint64_t	paired_at;	/* unix seconds */
	uint64_t	window_until;	/* the window's end; 0: none */
	/*
	 * The window covers verified logins to pinned hosts and signatures
	 * of these SSHSIG namespaces: those approved with "w" under it.
	 */
	char		win_ns[SKP_PH_WIN_NS][SKP_PH_NS_MAX + 1];
	size_t		nwin_ns;
	/* Paired before a mailbox rotation and not yet told of it. */
	int		tell_mailbox;
};

struct skp_ph_cred {
	uint8_t		id[SKP_PH_CRED_ID_LEN];
	char		rp[SKP_PH_RP_MAX + 1];
	uint8_t		user_id[SKP_PH_USER_ID_MAX];
	size_t		user_id_len;
	char		user_name[SKP_PH_USER_NAME_MAX + 1];
	/* SKP_COSE_ALG_ES256 (key) or SKP_COSE_ALG_EDDSA (ed). */
	int64_t		alg;
	struct skp_p256_key key;
	struct skp_ed25519_key ed;
	int		resident;
	unsigned int	cred_protect;	/* 1..3; 3: UV on every use */
	uint64_t	created;
	char		made_for[SKP_NAME_MAX + 1];
	uint32_t	counter;	/* from "counters" */
};

struct skp_ph_seen {
	uint8_t		id[SKP_PH_REQ_ID_LEN];
	uint64_t	at_ms;		/* recorded: wall clock, unix ms */
	uint64_t	req_ms;		/* the request's own time */
	uint64_t	mono_ms;	/* recorded: CLOCK_BOOTTIME, ms */
	/* The computer's (skp_phstate_seen_tag); all zero: none known. */
	uint8_t		tag[SKP_PH_SEEN_TAG_LEN];
};

/* A pinned host key: the pin name as skp_hostinfo_pin_name() makes it. */
struct skp_ph_host {
	char		name[SKP_PH_HOST_NAME_MAX + 1];
	uint8_t		key[SKP_PH_HOST_KEY_MAX];	/* SSH wire blob */
	size_t		key_len;
	const char	*type;		/* skp_hostkey_check(): static */
	uint64_t	pinned_at;	/* unix seconds */
	char		pinned_by[SKP_NAME_MAX + 1];	/* computer name */
};

/* "Allow this host for a while": verified logins from one computer. */
struct skp_ph_host_window {
	char		computer[SKP_NAME_MAX + 1];
	char		host[SKP_PH_HOST_NAME_MAX + 1];	/* pin name */
	uint64_t	until;		/* unix seconds */
};

/* A host CA: certificates it signs are trusted for hosts matching pattern. */
struct skp_ph_ca {
	char		pattern[SKP_HOSTCERT_PATTERN_MAX + 1];	/* known_hosts */
	uint8_t		key[SKP_PH_HOST_KEY_MAX];	/* plain key blob */
	size_t		key_len;
	const char	*type;		/* skp_hostkey_check(): static */
	uint64_t	added_at;	/* unix seconds */
};

/*
 * What a list file held when the loaded state last matched it: its sealed
 * bytes (ciphertext, not secret). A file read back unchanged need not be
 * decrypted and decoded again. Any direct decode, and any failed edit,
 * forgets it.
 */
enum {
	SKP_PH_FILE_COMPUTERS,
	SKP_PH_FILE_CREDS,
	SKP_PH_FILE_COUNTERS,
	SKP_PH_FILE_SEEN,
	SKP_PH_FILE_HOSTS,
	SKP_PH_FILE_PIN,
	SKP_PH_FILE_CAS,
	SKP_PH_NFILES
};

struct skp_ph_file_seen {
	int		state;		/* 0: unknown; 1: these bytes; 2: absent */
	uint8_t		*bytes;
	size_t		len;
};

struct skp_phstate {
	char			dir[4096];
	uint8_t			key[SKP_PH_KEY_LEN];
	/* identity */
	int			have_identity;
	struct skp_p256_key	identity;
	struct skp_p256_key	mailbox_key;	/* id = hash of its public */
	/* Loaded from a protocol 1 file: a new mailbox, not yet saved. */
	int			mailbox_migrated;
	uint8_t			mailbox_id[SKP_MAILBOX_ID_LEN];
	/* Rotated: the old mailbox, listened on until all are told. */
	int			have_old_mailbox;
	struct skp_p256_key	old_mailbox_key;
	uint8_t			old_mailbox_id[SKP_MAILBOX_ID_LEN];
	char			name[SKP_NAME_MAX + 1];
	/* A relay list (relayurl.h): the URLs of one relay, in turn. */
	char			relay[SKP_RELAYLIST_MAX + 1];
	struct skp_ph_computer	computers[SKP_PH_MAX_COMPUTERS];
	size_t			ncomputers;
	struct skp_ph_cred	creds[SKP_PH_MAX_CREDS];
	size_t			ncreds;
	struct skp_ph_seen	seen[SKP_PH_MAX_SEEN];
	size_t			nseen;
	struct skp_ph_host	hosts[SKP_PH_MAX_HOSTS];
	size_t			nhosts;
	struct skp_ph_host_window hwins[SKP_PH_MAX_HOST_WINDOWS];
	size_t			nhwins;
	unsigned int		pin_failures;	/* from "pin" */
	struct skp_ph_ca	cas[SKP_PH_MAX_CAS];	/* from "cas" */
	size_t			ncas;
	/*
	 * Added to CLOCK_BOOTTIME wherever the state reads it: the unit
	 * tests move the boot clock with it (0 otherwise).
	 */
	uint64_t		mono_skew_ms;
	struct skp_ph_file_seen	files[SKP_PH_NFILES];
};

/*
 * Open (and with create, make) the folder and load everything. Without a
 * passphrase file the storage key is the "masterkey" file's; with one, it
 * is scrypt(passphrase) and "kdf" holds the salt, parameters and a check
 * tag (a wrong passphrase is SKP_ERR_DECRYPT). Folder and files are
 * checked for their modes (SKP_ERR_PERM). why gets a message.
 */
int	skp_phstate_open(const char *dir, const char *passphrase_file,
	    int create, struct skp_phstate **, char *why, size_t whylen);
/* Wipes every secret. */
void	skp_phstate_free(struct skp_phstate **);
/*
 * Put back a damaged file that holds keys (masterkey, kdf, identity,
 * computers, credentials) from its last good copy NAME.last, which every
 * write of such a file keeps (and open, when it is missing or behind).
 * The copy is checked as the phone reads the file (a sealed one must open
 * with the state's key; a masterkey copy must open the identity); the
 * damaged file is kept as NAME.damaged (*kept: 1 when there was one).
 * SKP_ERR_EXISTS when NAME reads fine: nothing is changed.
 */
int	skp_phstate_restore(const char *dir, const char *passphrase_file,
	    const char *name, int *kept, char *why, size_t whylen);
/*
 * run's lock: an exclusive flock on run.lock (0600, run's pid in it),
 * taken without waiting and held until *fdp is closed. SKP_ERR_EXISTS
 * when another run holds it (*pid: its pid, 0 when unknown).
 */
int	skp_phstate_run_lock(const struct skp_phstate *, int *fdp, long *pid,
	    char *why, size_t whylen);

/*
 * Re-read computers, credentials, counters, the replay cache, host pins,
 * the PIN failure count and the host CAs (another process's edits).
 */
int	skp_phstate_reload(struct skp_phstate *, char *why, size_t whylen);

/*
 * Edits. Each takes the folder lock, re-reads the file it changes,
 * applies the change, writes it back atomically and updates *st.
 */
int	skp_phstate_identity_set(struct skp_phstate *, const char *name,
	    const char *relay, char *why, size_t whylen);
/*
 * Mailbox rotation (docs/PROTOCOL.md §8.9). rotate: a new mailbox key;
 * the current one becomes the old one, and every computer paired now is
 * to be told (SKP_ERR_EXISTS while an earlier rotation is pending; with
 * no computer paired the old one goes at once). finish: drop the old
 * mailbox and forget who was not told. told: computer name learned the
 * new mailbox (it called there: via, the mailbox the call came to, is
 * the current one on disk, else nothing changes); the last one drops the
 * old mailbox. *dropped (may be NULL) says whether the old mailbox went.
 * Each reads identity and computers again under the lock.
 */
int	skp_phstate_mailbox_rotate(struct skp_phstate *, char *why,
	    size_t whylen);
int	skp_phstate_mailbox_finish(struct skp_phstate *, char *why,
	    size_t whylen);
int	skp_phstate_mailbox_told(struct skp_phstate *, const char *name,
	    const uint8_t via[SKP_MAILBOX_ID_LEN], int *dropped, char *why,
	    size_t whylen);
/* How many computers still need telling. */
size_t	skp_phstate_mailbox_untold(const struct skp_phstate *);
int	skp_phstate_computer_put(struct skp_phstate *,
	    const struct skp_ph_computer *, char *why, size_t whylen);
int	skp_phstate_computer_remove(struct skp_phstate *, const char *name,
	    char *why, size_t whylen);
/*
 * The computer's window: open until `until`, covering namespace ns too
 * (NULL: none more). A window past its time (at now) starts again with
 * no namespace; a ninth namespace pushes out the first.
 */
int	skp_phstate_window_set(struct skp_phstate *, const char *name,
	    uint64_t until, const char *ns, uint64_t now, char *why,
	    size_t whylen);
/* 1 when the computer's window is open at now and covers namespace ns. */
int	skp_phstate_window_covers_ns(const struct skp_ph_computer *,
	    const char *ns, uint64_t now);
int	skp_phstate_cred_add(struct skp_phstate *, const struct skp_ph_cred *,
	    char *why, size_t whylen);
int	skp_phstate_cred_remove(struct skp_phstate *,
	    const uint8_t [SKP_PH_CRED_ID_LEN], char *why, size_t whylen);
/*
 * The next counter value of a credential, on disk before it returns.
 * SKP_ERR_NOT_FOUND when the credential is gone, SKP_ERR_LIMIT at the
 * end of the counter.
 */
int	skp_phstate_counter_next(struct skp_phstate *,
	    const uint8_t [SKP_PH_CRED_ID_LEN], uint32_t *, char *why,
	    size_t whylen);
/*
 * The replay cache: SKP_ERR_REPLAY when id is still remembered, else it
 * is recorded (on disk) with who's tag (NULL: none) and 0. An id is
 * forgotten only when both clocks agree that it is older than keep_ms:
 * the boot clock (CLOCK_BOOTTIME, which no one sets) since it was
 * recorded, and the wall clock (now_ms) since the request's own time
 * req_ms; so a wall clock set forward or back forgets nothing early.
 * Across a reboot (another boot id in the file) the boot clock is unknown:
 * every id is kept keep_ms from the first load after it. Ids of
 * computers no longer paired go. SKP_ERR_LIMIT when who's share
 * (SKP_PH_SEEN_SHARE) is full of live ids; other computers are not
 * touched.
 */
int	skp_phstate_seen_add(struct skp_phstate *,
	    const struct skp_ph_computer *who,
	    const uint8_t [SKP_PH_REQ_ID_LEN], uint64_t req_ms,
	    uint64_t now_ms, uint64_t keep_ms, char *why, size_t whylen);
/* A computer's tag in the replay cache: 8 bytes of its public key. */
void	skp_phstate_seen_tag(const struct skp_ph_computer *,
	    uint8_t [SKP_PH_SEEN_TAG_LEN]);
/* How many ids the cache holds for who (NULL: those without a tag). */
size_t	skp_phstate_seen_count(const struct skp_phstate *,
	    const struct skp_ph_computer *who);

/*
 * The wrong-PIN count, as a security key keeps its PIN retries: pin_failed
 * adds one (up to SKP_PH_PIN_FAILURES_MAX) and pin_reset sets it to 0,
 * each on disk before it returns; st->pin_failures is the new count.
 */
int	skp_phstate_pin_failed(struct skp_phstate *, char *why, size_t whylen);
int	skp_phstate_pin_reset(struct skp_phstate *, char *why, size_t whylen);

/*
 * Host pins (the phone's own list, for every paired computer). pin_add:
 * 0 when the key is now pinned (or already was), SKP_ERR_HOSTKEY when a
 * different key of the same type is pinned under name, SKP_ERR_TOO_LARGE
 * when the list is full. forget removes every pin of name and its
 * windows (SKP_ERR_NOT_FOUND when there were none). Windows past their
 * time are dropped at each write; a full list drops the one that ends
 * first. window_clear removes a computer's windows (after unpairing).
 */
int	skp_phstate_host_pin(struct skp_phstate *, const char *name,
	    const uint8_t *key, size_t keylen, uint64_t now,
	    const char *computer, char *why, size_t whylen);
int	skp_phstate_host_forget(struct skp_phstate *, const char *name,
	    char *why, size_t whylen);
int	skp_phstate_host_window_set(struct skp_phstate *, const char *computer,
	    const char *name, uint64_t until, uint64_t now, char *why,
	    size_t whylen);
int	skp_phstate_host_window_clear(struct skp_phstate *,
	    const char *computer, char *why, size_t whylen);
/* The pin of name for a key type, or NULL; how many pins name has. */
const struct skp_ph_host *skp_phstate_host_find(const struct skp_phstate *,
	    const char *name, const char *type);
size_t	skp_phstate_host_count(const struct skp_phstate *, const char *name);
/* Until when computer may log in to name unasked; 0: no window. */
uint64_t skp_phstate_host_window(const struct skp_phstate *,
	    const char *computer, const char *name);
/* 1 when name is a pin name: "host" (lower case) or "[host]:port". */
int	skp_phstate_host_name_ok(const char *name);

/*
 * Host CAs. ca_add: SKP_ERR_EXISTS when the same key is trusted for the
 * same pattern, SKP_ERR_TOO_LARGE when SKP_PH_MAX_CAS are, SKP_ERR_INVALID
 * for a pattern skp_hostcert_pattern_ok refuses or a key skp_hostkey_check
 * does; key is a plain key blob. ca_remove: the entries of the CA whose
 * key is key (or, key NULL, whose fingerprint is fp), only those of
 * pattern when it is not NULL; *removed says how many (SKP_ERR_NOT_FOUND
 * for none). ca_trusted: the first entry with this key whose pattern
 * matches name (a pin name), or NULL.
 */
int	skp_phstate_ca_add(struct skp_phstate *, const char *pattern,
	    const uint8_t *key, size_t keylen, uint64_t now, char *why,
	    size_t whylen);
int	skp_phstate_ca_remove(struct skp_phstate *, const uint8_t *key,
	    size_t keylen, const char *fp, const char *pattern,
	    size_t *removed, char *why, size_t whylen);
const struct skp_ph_ca *skp_phstate_ca_trusted(const struct skp_phstate *,
	    const uint8_t *key, size_t keylen, const char *name);

/* Lookups in the loaded state; NULL when absent. */
struct skp_ph_computer	*skp_phstate_computer_find(struct skp_phstate *,
			    const char *name);
struct skp_ph_cred	*skp_phstate_cred_find(struct skp_phstate *,
			    const uint8_t *id, size_t idlen);

/*
 * The inner payloads, strict, for the fuzz harness and the tests. Decode
 * fills the arrays of st (and counters into its credentials).
 */
int	skp_phstate_decode_identity(struct skp_phstate *, const uint8_t *,
	    size_t);
int	skp_phstate_decode_computers(struct skp_phstate *, const uint8_t *,
	    size_t);
int	skp_phstate_decode_creds(struct skp_phstate *, const uint8_t *,
	    size_t);
int	skp_phstate_decode_counters(struct skp_phstate *, const uint8_t *,
	    size_t);
int	skp_phstate_decode_seen(struct skp_phstate *, const uint8_t *,
	    size_t);
int	skp_phstate_decode_hosts(struct skp_phstate *, const uint8_t *,
	    size_t);
int	skp_phstate_decode_pin(struct skp_phstate *, const uint8_t *, size_t);
int	skp_phstate_decode_cas(struct skp_phstate *, const uint8_t *, size_t);
/* The sealed wrapper: AES-256-GCM under key, the file name bound in. */
int	skp_phstate_seal(const uint8_t key[SKP_PH_KEY_LEN], const char *name,
	    const uint8_t *, size_t, uint8_t **out, size_t *outlen);
int	skp_phstate_open_sealed(const uint8_t key[SKP_PH_KEY_LEN],
	    const char *name, const uint8_t *, size_t, uint8_t **out,
	    size_t *outlen);

/*
 * Moving the state to another phone (docs/PROTOCOL.md section 10).
 * export: the payload of section 10.4 (windows closed), read under the
 * lock; SKP_ERR_NOT_PAIRED without an identity. payload_decode: strict,
 * into st (sent_at may be NULL). import: decode into st, which must be
 * empty (skp_phstate_is_empty; else SKP_ERR_EXISTS), and write every
 * file, the identity last. pending_*: the payload kept sealed as
 * "transfer-pending" between received and done (load: SKP_ERR_NOT_FOUND
 * when none). moved: write the marker "moved" {1: now, 2: digest}, then
 * wipe the state (the storage key first). check_moved: SKP_ERR_STATE and
 * the message when dir holds the marker (skp_phstate_open calls it).
 */
int	skp_phstate_export(struct skp_phstate *, uint64_t now, uint8_t **,
	    size_t *, char *why, size_t whylen);
int	skp_phstate_payload_decode(struct skp_phstate *, const uint8_t *,
	    size_t, uint64_t *sent_at);
int	skp_phstate_is_empty(const struct skp_phstate *);
int	skp_phstate_import(struct skp_phstate *, const uint8_t *, size_t,
	    char *why, size_t whylen);
int	skp_phstate_pending_save(struct skp_phstate *, const uint8_t *,
	    size_t, char *why, size_t whylen);
int	skp_phstate_pending_load(struct skp_phstate *, uint8_t **, size_t *,
	    char *why, size_t whylen);
int	skp_phstate_pending_remove(struct skp_phstate *, char *why,
	    size_t whylen);
int	skp_phstate_pending_exists(const char *dir);
int	skp_phstate_moved(struct skp_phstate *,
	    const uint8_t [SKP_TRANSFER_DIGEST_LEN], uint64_t now, char *why,
	    size_t whylen);
int	skp_phstate_check_moved(const char *dir, char *why, size_t whylen);

/* OpenSSH's names of the two key types a credential can be. */
#define SKP_PH_SK_ECDSA		"sk-ecdsa-sha2-nistp256@openssh.com"
#define SKP_PH_SK_ED25519	"sk-ssh-ed25519@openssh.com"

/*
 * A credential's OpenSSH public key blob, appended to b: string type,
 * [string "nistp256",] string key, string application.
 */
int	skp_phstate_key_blob(const struct skp_ph_cred *, skp_buf_t *b);
/* "SHA256:<base64>" of the OpenSSH public key blob of a credential. */
int	skp_phstate_fingerprint(const struct skp_ph_cred *, char *out,
	    size_t outlen);

#endif
