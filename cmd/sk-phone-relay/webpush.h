/* The relay's Web Push parts (RFC 8030, 8291, 8292), without network I/O. */
#ifndef SKP_WEBPUSH_H
#define SKP_WEBPUSH_H

#include <stddef.h>
#include <stdint.h>

#define WP_KEY_LEN	65	/* P-256 uncompressed point */
#define WP_AUTH_LEN	16
#define WP_ENDPOINT_MIN	12
#define WP_ENDPOINT_MAX	1024
#define WP_PLAIN_MAX	3993	/* plaintext of one 4096-byte record */
#define WP_BODY_MAX	4096
#define WP_HEADER_LEN	86	/* salt 16, rs 4, idlen 1, keyid 65 */
#define WP_RS		4096
#define WP_PAYLOAD_MAX	3800	/* above it the payload says call:null */
#define WP_JWT_LIFE_S	(12 * 3600)
#define WP_ALLOW_MAX	64	/* entries in an allow list */
#define WP_AUTH_HDR_MAX	1024	/* "vapid t=..., k=..." with its NUL */
#define WP_ERR_MAX	512	/* a message from the functions below */

struct wp_sub {
	char	 endpoint[WP_ENDPOINT_MAX + 1];
	uint8_t	 p256dh[WP_KEY_LEN];
	uint8_t	 auth[WP_AUTH_LEN];
};
/* The SUBSCRIBE body and the payload of a subscription file. */
#define WP_SUB_BODY_MIN	(WP_KEY_LEN + WP_AUTH_LEN + WP_ENDPOINT_MIN)
#define WP_SUB_BODY_MAX	(WP_KEY_LEN + WP_AUTH_LEN + WP_ENDPOINT_MAX)

/*
 * A non-empty SUBSCRIBE body (p256dh 65 || auth 16 || endpoint 12..1024
 * bytes of 0x21..0x7e) -> sub; 0, or -1 malformed (the caller closes
 * 4000). Checks the point is on the curve and the URL's bytes; not the
 * allow list.
 */
int	 wp_sub_from_frame(const uint8_t *, size_t, struct wp_sub *);
/* The same bytes back (WP_SUB_BODY_MAX fit); the length, or 0 if cap short. */
size_t	 wp_sub_encode(const struct wp_sub *, uint8_t *out, size_t cap);

/*
 * An endpoint: "https://" or "http://", an authority without user info
 * (a DNS name of [a-z0-9-] labels, an IPv4 address, or an IPv6 address
 * in brackets; upper case is folded), an optional port 1..65535, then a
 * path that starts with "/"; every byte 0x21..0x7e, at most
 * WP_ENDPOINT_MAX. host is as written in the URL (brackets kept), in
 * lower case; port is the one given or the scheme's (443, 80); origin is
 * scheme://host[:port], the port left out when it is the scheme's (the
 * JWT's aud).
 */
struct wp_url { int tls; char host[256]; int port; char origin[300]; };
int	 wp_url_parse(const char *endpoint, struct wp_url *);	/* 0 / -1 */

/*
 * The push services the relay sends to. The default list, all https on
 * port 443: fcm.googleapis.com, and any name under
 * push.services.mozilla.com, push.apple.com and notify.windows.com.
 * wp_allow_add takes an https origin, HOST[:PORT] after the scheme, where
 * HOST may be "*." DOMAIN (any name under DOMAIN, not DOMAIN itself;
 * DOMAIN has two labels or more); or, for tests, plain http to
 * 127.0.0.1:PORT or [::1]:PORT (loopback only, the port required). 0, or
 * -1 with a message in err that says what is accepted (the caller puts
 * the flag's name before it).
 */
struct wp_allow;
/* The default list, or NULL. */
struct wp_allow *wp_allow_new(void);
int	 wp_allow_add(struct wp_allow *, const char *origin, char *err,
	    size_t errlen);
/* 1 allowed, 0 not. */
int	 wp_allow_check(const struct wp_allow *, const struct wp_url *);
void	 wp_allow_free(struct wp_allow *);

/*
 * RFC 8291 + RFC 8188, one record, rs 4096. salt and as_priv NULL: random
 * salt, fresh key (tests pass the RFC's). 0 / -1 (plen over WP_PLAIN_MAX,
 * p256dh not on the curve, out too small: WP_HEADER_LEN + plen + 17).
 * The ephemeral key and every derived secret are wiped before it returns.
 */
int	 wp_encrypt(const uint8_t p256dh[WP_KEY_LEN],
	    const uint8_t auth[WP_AUTH_LEN], const uint8_t *plain, size_t plen,
	    const uint8_t *salt16, const uint8_t *as_priv32, uint8_t *out,
	    size_t outcap, size_t *outlen);
/* The values of RFC 8291 Appendix A, for tests only. */
struct wp_trace {
	uint8_t	 ecdh_secret[32];
	uint8_t	 prk_key[32];
	uint8_t	 ikm[32];
	uint8_t	 prk[32];
	uint8_t	 cek[16];
	uint8_t	 nonce[12];
};
int	 wp_encrypt_trace(const uint8_t p256dh[WP_KEY_LEN],
	    const uint8_t auth[WP_AUTH_LEN], const uint8_t *plain, size_t plen,
	    const uint8_t *salt16, const uint8_t *as_priv32, uint8_t *out,
	    size_t outcap, size_t *outlen, struct wp_trace *);

/*
 * The VAPID key: path is loaded, or made (P-256, in the state file
 * format of PROTOCOL.md §6, 0600, written atomically; its folder made
 * 0700 when missing). A file that is open to group or others, not ours,
 * not a regular file, or not a key is refused with a message in err
 * (what is wrong, what to do). The file name is [A-Za-z0-9_-]+.
 */
struct wp_vapid;
int	 wp_vapid_open(const char *path, struct wp_vapid **, char *err,
	    size_t errlen);
void	 wp_vapid_pub(const struct wp_vapid *, uint8_t out[WP_KEY_LEN]);
/*
 * "vapid t=<JWT>, k=<key>": aud is the endpoint's origin, exp now + 12 h,
 * sub may be NULL (left out). aud and sub must be 0x20..0x7e without '"'
 * or '\\'. 0, or -1 (bad argument, or cap short: WP_AUTH_HDR_MAX holds
 * any header whose aud and sub are 560 bytes or less together).
 */
int	 wp_vapid_auth(const struct wp_vapid *, const char *aud,
	    const char *sub, int64_t now, char *out, size_t cap);
void	 wp_vapid_free(struct wp_vapid *);

/*
 * Subscriptions by mailbox id, in memory and as files DIR/subs/<id in 64
 * lower-case hex> (0600, written atomically; DIR and DIR/subs made 0700
 * when missing). A file is the state file format of PROTOCOL.md §6 whose
 * payload is the SUBSCRIBE body. Open loads them all; a file that cannot
 * be used (damaged, open to others, a strange name, over max) is skipped
 * with a message through the log function, never fatal. Open fails (with
 * err) only when DIR or DIR/subs cannot be made, read, or is open to
 * others.
 * put: 0, -1 full (max reached and id not there), -2 I/O (logged; the
 * memory unchanged). A new subscription for an id replaces the old; the
 * same one again (sent on every reconnect) writes nothing.
 * del: 0 deleted, 1 nothing there (or another endpoint: endpoint NULL
 * matches any), -2 the file could not be removed (logged; gone from
 * memory anyway).
 */
struct wp_store;
int	 wp_store_open(const char *dir, size_t max, struct wp_store **,
	    char *err, size_t errlen);
const struct wp_sub *wp_store_get(const struct wp_store *,
	    const uint8_t id[32]);
int	 wp_store_put(struct wp_store *, const uint8_t id[32],
	    const struct wp_sub *);
int	 wp_store_del(struct wp_store *, const uint8_t id[32],
	    const char *endpoint);
size_t	 wp_store_count(const struct wp_store *);
void	 wp_store_free(struct wp_store *);
/* One file's bytes -> sub; 0 / -1 (fuzzed). */
int	 wp_sub_file_parse(const uint8_t *, size_t, struct wp_sub *);

/*
 * PROTOCOL.md §7.11's payload for a message: {"v":2,"call":"<base64url>"},
 * or {"v":2,"call":null} when that would be over WP_PAYLOAD_MAX bytes.
 * NUL-terminated; *outlen without the NUL. 0 / -1 (cap short).
 */
int	 wp_payload(const uint8_t *msg, size_t len, char *out, size_t cap,
	    size_t *outlen);

/*
 * Where the store's messages go (one line each, no newline): stderr as
 * "sk-phone-relay: ..." by default. Set once, before anything else runs.
 */
void	 wp_set_log(void (*)(const char *));

#endif
