/* Incremental parser of the SSH transport up to NEWKEYS: host key and KEX. */
#ifndef SKP_SSHWIRE_H
#define SKP_SSHWIRE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fed the bytes of one SSH connection as they pass in each direction (any
 * chunking, down to single bytes), it reads both version lines and both
 * KEXINITs, works out the key exchange the two sides agree on, and takes
 * the server's KEX reply (message 31, or 33 for group exchange): the host
 * key blob and the signature over the exchange hash. It never changes or
 * holds back the bytes: the caller forwards them whatever it answers, and
 * a failure only means that no host information is known.
 */
#define SKP_SSHWIRE_C2S		0	/* client to server (ssh's output) */
#define SKP_SSHWIRE_S2C		1	/* server to client */

#define SKP_SSHWIRE_MORE	0	/* wants more bytes */
#define SKP_SSHWIRE_DONE	1	/* the result is ready */

/* The same caps as OpenSSH: a longer line or packet ends its connection. */
#define SKP_SSHWIRE_LINE_MAX	8192	/* a version or pre-banner line */
#define SKP_SSHWIRE_LINES_MAX	1024	/* lines before "SSH-" */
#define SKP_SSHWIRE_PACKET_MAX	(256 * 1024)	/* packet_length */
#define SKP_SSHWIRE_NAME_MAX	64	/* an algorithm name (RFC 4251) */
#define SKP_SSHWIRE_VERSION_MAX	255	/* version kept, without CR LF */
#define SKP_SSHWIRE_HOSTKEY_MAX	16384	/* host key blob in a KEX reply */
#define SKP_SSHWIRE_SIG_MAX	4096	/* signature blob in a KEX reply */

typedef struct skp_sshwire skp_sshwire_t;

skp_sshwire_t	*skp_sshwire_new(void);
void		 skp_sshwire_free(skp_sshwire_t **);

/*
 * Feed len bytes that passed in direction dir. Answers SKP_SSHWIRE_MORE,
 * SKP_SSHWIRE_DONE, or a negative SKP_ERR_* when it gave up (malformed or
 * unexpected input, NEWKEYS or DISCONNECT before a KEX reply). Once it has
 * answered anything but MORE it ignores further bytes and answers the same.
 * SKP_ERR_INVALID for a bad direction does not change its state.
 */
int		 skp_sshwire_feed(skp_sshwire_t *, int dir, const void *,
		    size_t len);
/* What the last feed answered: MORE, DONE or the error. */
int		 skp_sshwire_status(const skp_sshwire_t *);

/*
 * After DONE: the negotiated key exchange and host key algorithm (NUL
 * terminated names), the server's version line without CR LF, the host
 * key blob (K_S) and the signature blob, both in SSH wire format and owned
 * by the parser. Before DONE the names are "" and the blobs NULL, 0.
 */
const char	*skp_sshwire_kex(const skp_sshwire_t *);
const char	*skp_sshwire_hostkey_alg(const skp_sshwire_t *);
const char	*skp_sshwire_server_version(const skp_sshwire_t *);
void		 skp_sshwire_hostkey(const skp_sshwire_t *, const uint8_t **,
		    size_t *);
void		 skp_sshwire_signature(const skp_sshwire_t *,
		    const uint8_t **, size_t *);

#endif
