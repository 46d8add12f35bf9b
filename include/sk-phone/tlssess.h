/* Saved TLS sessions of wss:// relays (docs/PROTOCOL.md §6.7). */
#ifndef SK_PHONE_TLSSESS_H
#define SK_PHONE_TLSSESS_H

#include <stddef.h>
#include <stdint.h>

#define SKP_TLSSESS_FILE	"tls-sessions"
#define SKP_TLSSESS_MAX		8	/* relays remembered */
#define SKP_TLSSESS_ORIGIN_MAX	300	/* "host:port" */
#define SKP_TLSSESS_DER_MAX	8192	/* one session, DER */
#define SKP_TLSSESS_AGE_MAX	86400	/* never resumed after this, s */

struct skp_tlssess_entry {
	char		 origin[SKP_TLSSESS_ORIGIN_MAX + 1];
	uint8_t		 trust[32];	/* SHA-256 of the CA file, or of "" */
	uint8_t		*der;		/* i2d_SSL_SESSION */
	size_t		 derlen;
	uint64_t	 saved;		/* unix seconds */
};

struct skp_tlssess_list {
	size_t			 n;
	struct skp_tlssess_entry e[SKP_TLSSESS_MAX];
};

/* The payload of the file: strict, as §6.7 says; the list is emptied
 * first. Wipe it with skp_tlssess_list_clear. */
int	skp_tlssess_decode(const uint8_t *, size_t,
	    struct skp_tlssess_list *);
/* Canonical CBOR; *out malloc'd (skp_wipe and free it). */
int	skp_tlssess_encode(const struct skp_tlssess_list *, uint8_t **out,
	    size_t *outlen);
void	skp_tlssess_list_clear(struct skp_tlssess_list *);

/*
 * One wss connection's session: loaded from DIR's file when one was
 * saved for host:port under the same trust (the CA file's content); the
 * newest one the relay gave on this connection replaces it when the
 * object is freed. Errors with the file only mean a full handshake; they
 * are told to say (may be NULL) as lines for a debug output. NULL: out
 * of memory.
 */
typedef struct skp_tlssess skp_tlssess_t;

skp_tlssess_t	*skp_tlssess_new(const char *dir, const char *host, int port,
		    const char *ca_file, void (*say)(void *, const char *),
		    void *say_arg);
/* From libwebsockets' LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
 * the client's SSL_CTX. Must be freed after that SSL_CTX. */
int		 skp_tlssess_ctx_setup(skp_tlssess_t *, void *ssl_ctx);
/* The handshake is done (SSL *): notes whether it resumed; 1 if so. */
int		 skp_tlssess_established(skp_tlssess_t *, void *ssl);
void		 skp_tlssess_free(skp_tlssess_t **);

#endif
