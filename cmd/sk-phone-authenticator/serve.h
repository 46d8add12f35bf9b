/* The phone's "run": stay on the relay and answer paired computers. */
#ifndef SKP_SERVE_H
#define SKP_SERVE_H

#include <stdint.h>

#include "handle.h"
#include "phstate.h"

#define SKP_APPROVE_ASK		1
#define SKP_APPROVE_ALWAYS	2
#define SKP_APPROVE_NEVER	3

#define SKP_SERVE_BACKOFF_MIN_MS	1000
#define SKP_SERVE_BACKOFF_MAX_MS	30000

struct skp_serve_opts {
	int		 approve;	/* SKP_APPROVE_* */
	uint64_t	 window_s;	/* "allow for a while" length */
	uint64_t	 prompt_ms;	/* time the owner has to answer */
	const char	*relay;		/* NULL: the one saved at pairing */
	const char	*ca_file;	/* wss: NULL, the system's CAs */
	int		 tty_in;	/* -1: no terminal to ask on */
	int		 tty_out;
	int		 audit_dirfd;
	uint64_t	 audit_max_bytes;	/* 0: SKP_AUDIT_MAX_BYTES */
	uint64_t	 silent_ms;	/* hang up a call silent this long */
	int		 no_touch_ask;	/* --no-touch ask: up=false asked too */
};

/*
 * Requests waiting behind an open question (asked in turn), and the
 * notice of a request not asked because it waited prompt_ms (--timeout)
 * in that queue: its computer (SK_PHONE_TIMEOUT, 60 s by default, as
 * --timeout is) has given up by then.
 */
#define SKP_SERVE_QUEUE_MAX	16
/* A login through ssh-agent (context key 6, docs/PROTOCOL.md §8.5.1). */
#define SKP_SERVE_AGENT_TEXT	" (through ssh-agent)"
#define SKP_SERVE_AGENT_NO_RECORD_TEXT	"through ssh-agent, no local record " \
	"of this login (a forwarded agent, or ssh without sk-phone proxy): " \
	"host not verified"
#define SKP_SERVE_WAITED_TEXT	"not asked: waited too long behind another request"

/* --silent-call-timeout: default, and calls tracked at once. */
#define SKP_SERVE_SILENT_MS	5000
#define SKP_SERVE_SILENT_MAX	64

/* Messages from no paired computer: at most one audit line this often. */
#define SKP_SERVE_JUNK_SUMMARY_MS	60000

/* "the relay's certificate is not trusted: ..." (SKP_ERR_TLS) or the CA
 * file unreadable (SKP_ERR_IO), with what to do, on stderr. */
void	skp_serve_tls_say(const char *url, const char *ca_file, int rc);

/* Runs until SIGINT or SIGTERM (0) or a fatal error. */
int	skp_serve(struct skp_handler *, const struct skp_serve_opts *);

/*
 * What an open window allows without asking ("allow-host-window",
 * "allow-window"), or NULL: the owner is asked. now_s: unix seconds.
 */
const char *skp_serve_window_allows(struct skp_phstate *,
	    const struct skp_req *, uint64_t now_s);

#endif
