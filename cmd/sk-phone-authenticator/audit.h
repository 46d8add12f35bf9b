/* The phone's audit log: one line per decision, append-only, no secrets. */
#ifndef SKP_AUDIT_H
#define SKP_AUDIT_H

#include <stdint.h>

struct skp_audit_entry {
	uint64_t	 time;		/* unix seconds */
	const char	*computer;	/* paired name, or "-" */
	const char	*op;		/* "enroll", "login", "sign", ... */
	const char	*subject;	/* user or namespace, or NULL */
	const char	*host;		/* a login's host (pin name), or NULL */
	const char	*verified;	/* "yes", "new", "no", or NULL: "-" */
	const char	*key;		/* "SHA256:..." fingerprint, or NULL */
	const char	*decision;	/* "allow-once", "reject", ... */
	/* Summaries of junk: written, not fsync()ed (a flood costs no I/O
	 * wait). */
	int		 no_sync;
	/* Rotate past this many bytes; 0: SKP_AUDIT_MAX_BYTES. */
	uint64_t	 max_bytes;
};

/*
 * The log is capped: a line that would take it past max_bytes first moves
 * audit.log to audit.log.1 (replacing the one before), so at most about
 * twice the cap is kept.
 */
#define SKP_AUDIT_MAX_BYTES	(4 * 1024 * 1024)

/*
 * Appends one line to dir/audit.log (created 0600, O_APPEND):
 *   2024-05-01T12:00:00Z computer="work" op=login subject="root"
 *   host="db1.example.com" verified=yes key=SHA256:... decision=allow-once
 * Strings are escaped for a terminal (skp_sshmsg_printable, quotes too).
 */
int	skp_audit_append(int dirfd, const struct skp_audit_entry *);
/* Copies the log (audit.log.1, then audit.log) to stdout, after the same
 * permission checks. */
int	skp_audit_print(int dirfd);

#endif
