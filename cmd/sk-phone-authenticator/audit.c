/* The phone's audit log: one line per decision, append-only, no secrets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/err.h"

#include "audit.h"
#include "sshmsg.h"

#define AUDIT_FILE	"audit.log"
#define AUDIT_OLD	"audit.log.1"
#define AUDIT_LINE_MAX	1536

static void
escaped(const char *s, char *out, size_t outlen)
{
	skp_sshmsg_printable(s == NULL ? "-" : s, out, outlen);
}

/* Refuse a log that others may read: it names users and hosts. */
static int
check_private(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return SKP_ERR_IO;
	if (!S_ISREG(st.st_mode))
		return SKP_ERR_IO;
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr, "sk-phone-authenticator: %s is open to others:"
		    " run chmod 600 on it\n", AUDIT_FILE);
		return SKP_ERR_PERM;
	}
	return SKP_OK;
}

int
skp_audit_append(int dirfd, const struct skp_audit_entry *e)
{
	char line[AUDIT_LINE_MAX], comp[300], subj[300], host[300], when[32];
	struct stat sb;
	uint64_t max;
	struct tm tm;
	time_t t;
	ssize_t w;
	int fd = -1, rc, n;

	t = (time_t)e->time;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		rc = SKP_ERR_INTERNAL;
		goto out;
	}
	escaped(e->computer, comp, sizeof(comp));
	escaped(e->subject, subj, sizeof(subj));
	escaped(e->host, host, sizeof(host));
	n = snprintf(line, sizeof(line), "%s computer=\"%s\" op=%s "
	    "subject=\"%s\" host=\"%s\" verified=%s key=%s decision=%s\n",
	    when, comp, e->op, subj, host,
	    e->verified == NULL ? "-" : e->verified,
	    e->key == NULL ? "-" : e->key, e->decision);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	max = e->max_bytes != 0 ? e->max_bytes : SKP_AUDIT_MAX_BYTES;
	fd = openat(dirfd, AUDIT_FILE, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if ((rc = check_private(fd)) != SKP_OK)
		goto out;
	if (fstat(fd, &sb) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if ((uint64_t)sb.st_size + (uint64_t)n > max && sb.st_size > 0) {
		/* The older half goes; a new log starts. */
		close(fd);
		fd = -1;
		if (renameat(dirfd, AUDIT_FILE, dirfd, AUDIT_OLD) != 0 ||
		    (fd = openat(dirfd, AUDIT_FILE, O_WRONLY | O_APPEND |
		    O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
			rc = SKP_ERR_IO;
			goto out;
		}
		if ((rc = check_private(fd)) != SKP_OK)
			goto out;
	}
	/* One write of a whole line, so lines never interleave. */
	w = write(fd, line, (size_t)n);
	if (w != n || (!e->no_sync && fsync(fd) != 0)) {
		rc = SKP_ERR_IO;
		goto out;
	}
	rc = SKP_OK;
 out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
print_file(int dirfd, const char *name)
{
	char buf[4096];
	ssize_t n;
	int fd, rc;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = errno == ENOENT ? SKP_OK : SKP_ERR_IO;
		goto out;
	}
	if ((rc = check_private(fd)) != SKP_OK)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			rc = SKP_ERR_IO;
			goto out;
		}
	}
	if (n < 0)
		rc = SKP_ERR_IO;
 out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
skp_audit_print(int dirfd)
{
	int rc;

	if ((rc = print_file(dirfd, AUDIT_OLD)) == SKP_OK)
		rc = print_file(dirfd, AUDIT_FILE);
	return rc;
}
