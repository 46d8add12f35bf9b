/* Hand-off of a host's key and KEX signature from the proxy to ssh. */
#ifndef SKP_HOSTINFO_H
#define SKP_HOSTINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sk-phone/hostkey.h"

/*
 * `sk-phone proxy` (ssh's ProxyCommand, a child of ssh) writes one record
 * per connection, named by its parent's pid; the provider (in
 * ssh-sk-helper, another child of the same ssh) reads it by its own
 * parent's pid. Folder: $XDG_RUNTIME_DIR/sk-phone when XDG_RUNTIME_DIR is
 * an absolute path to a folder, else /tmp/sk-phone-<uid>; either must be
 * the user's own, mode 0700, not a symlink. Format: docs/PROTOCOL.md §9.
 */
#define SKP_HOSTINFO_VERSION	1
#define SKP_HOSTINFO_HOST_MAX	255
#define SKP_HOSTINFO_KEX_MAX	64
#define SKP_HOSTINFO_MAX_AGE	600	/* s: an older record is refused */
#define SKP_HOSTINFO_SKEW	60	/* s: how far in the future it may be */
#define SKP_HOSTINFO_FILE_MAX	24576
/* "[" host "]:" port and a NUL */
#define SKP_HOSTINFO_PIN_MAX	(SKP_HOSTINFO_HOST_MAX + 9)

struct skp_hostinfo {
	uint64_t	time;		/* unix seconds when written */
	uint32_t	pid;		/* the ssh process; names the file */
	uint16_t	port;
	char		host[SKP_HOSTINFO_HOST_MAX + 1];	/* ssh's %h */
	char		kex[SKP_HOSTINFO_KEX_MAX + 1];
	uint8_t		hostkey[SKP_HOSTKEY_KEY_MAX];	/* K_S, wire format */
	size_t		hostkey_len;
	uint8_t		sig[SKP_HOSTKEY_SIG_MAX];	/* signature over H */
	size_t		sig_len;
};

/*
 * A host name as ssh passes it in %h: 1..255 of [A-Za-z0-9._:%-], not
 * starting with '-' (it may reach a shell and a command line). 1 or 0.
 */
int	skp_hostinfo_host_ok(const char *);

/* The record's bytes; SKP_ERR_TOO_LARGE when outsz is too small. */
int	skp_hostinfo_encode(const struct skp_hostinfo *, uint8_t *out,
	    size_t outsz, size_t *outlen);
/* Strict: every field checked, checksum, no trailing bytes. No age check. */
int	skp_hostinfo_decode(const uint8_t *, size_t, struct skp_hostinfo *);

/* The folder's path (created 0700 when create is set) into path. */
int	skp_hostinfo_dir(int create, char *path, size_t pathsz);

/*
 * Write the record as file hi->pid, atomically, mode 0600. The caller
 * sets every field, time included (time(NULL) unless testing).
 */
int	skp_hostinfo_write(const struct skp_hostinfo *);

/*
 * Read the record of ssh process pid (for the provider: getppid()).
 * SKP_ERR_NOT_FOUND when there is none; SKP_ERR_EXPIRED (and the file is
 * removed) when older than SKP_HOSTINFO_MAX_AGE or more than
 * SKP_HOSTINFO_SKEW in the future; SKP_ERR_PERM for a file or folder that
 * is not the user's alone; SKP_ERR_CORRUPT when it names another pid.
 */
int	skp_hostinfo_read(pid_t pid, struct skp_hostinfo *);

/*
 * The record whose host signed the session id sid (skp_hostkey_verify of
 * its host key and signature over sid): the record of pid first, when
 * first > 0 (the provider's parent: the common case, ssh's own child),
 * then the folder's other records, newest first by mtime, at most
 * SKP_HOSTINFO_MATCH_MAX records read in all; each read as
 * skp_hostinfo_read reads it (strict, age; an old one is removed).
 * SKP_ERR_NOT_FOUND when none verifies; SKP_ERR_PERM for a folder that
 * is not the user's alone. docs/PROTOCOL.md §9.4.
 */
#define SKP_HOSTINFO_MATCH_MAX	64
int	skp_hostinfo_match(const uint8_t *sid, size_t sidlen, pid_t first,
	    struct skp_hostinfo *);

/* Remove the record of pid; SKP_ERR_NOT_FOUND when there is none. */
int	skp_hostinfo_remove(pid_t pid);

/*
 * Remove records older than SKP_HOSTINFO_MAX_AGE or whose ssh process is
 * gone, and stale temporary files. Answers how many it removed, or an
 * error when the folder cannot be used.
 */
int	skp_hostinfo_sweep(void);

/*
 * The name a host key is pinned under, as in known_hosts: the host in
 * lower case for port 22, else "[host]:port".
 */
int	skp_hostinfo_pin_name(const char *host, uint16_t port, char *out,
	    size_t outsz);

#endif
