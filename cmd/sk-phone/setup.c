/* sk-phone setup: find or add the SecurityKeyProvider line in ssh_config. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-phone/err.h"

#include "setup.h"

#define SETUP_MAX_CONFIG	(1024 * 1024)
#define SETUP_KEYWORD		"SecurityKeyProvider"

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * One ssh_config line: keyword, then whitespace and/or one '=', then the
 * first argument, maybe in double quotes. Sets val and vlen to the argument
 * when the keyword is SecurityKeyProvider.
 */
static int
line_provider(const char *p, size_t n, const char **val, size_t *vlen)
{
	size_t i = 0, k, v;

	while (i < n && is_space(p[i]))
		i++;
	if (i == n || p[i] == '#')
		return 0;
	k = i;
	while (i < n && !is_space(p[i]) && p[i] != '=')
		i++;
	if (i - k != strlen(SETUP_KEYWORD) ||
	    strncasecmp(p + k, SETUP_KEYWORD, i - k) != 0)
		return 0;
	while (i < n && is_space(p[i]))
		i++;
	if (i < n && p[i] == '=')
		i++;
	while (i < n && is_space(p[i]))
		i++;
	if (i < n && p[i] == '"') {
		v = ++i;
		while (i < n && p[i] != '"')
			i++;
	} else {
		v = i;
		while (i < n && !is_space(p[i]))
			i++;
	}
	*val = p + v;
	*vlen = i - v;
	return 1;
}

int
skp_setup_scan(const char *config, size_t len, const char *provider,
    char **other)
{
	const char *line = config, *end = config + len, *nl, *val;
	size_t vlen;

	*other = NULL;
	/*
	 * ssh uses the first value it meets; any SecurityKeyProvider, even
	 * under a Host block, is the user's choice that setup must not
	 * silently override.
	 */
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		if (line_provider(line, (size_t)(nl - line), &val, &vlen)) {
			if (vlen == strlen(provider) &&
			    memcmp(val, provider, vlen) == 0)
				return SKP_SETUP_PRESENT;
			if ((*other = strndup(val, vlen)) == NULL)
				return SKP_ERR_NOMEM;
			return SKP_SETUP_OTHER;
		}
		line = nl + 1;
	}
	return SKP_SETUP_ABSENT;
}

static int
read_all(const char *path, char **out, size_t *outlen, mode_t *mode)
{
	struct stat st;
	char *buf = NULL;
	size_t off = 0;
	ssize_t r;
	int fd = -1, rc = SKP_ERR_IO;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		rc = errno == ENOENT ? SKP_ERR_NOT_FOUND : SKP_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size > SETUP_MAX_CONFIG) {
		rc = SKP_ERR_TOO_LARGE;
		goto out;
	}
	*mode = st.st_mode & 07777;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		r = read(fd, buf + off, (size_t)st.st_size - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		off += (size_t)r;
	}
	buf[off] = '\0';
	*out = buf;
	*outlen = off;
	buf = NULL;
	rc = SKP_OK;
 out:
	free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

static int
write_fd(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return SKP_ERR_IO;
		p += r;
		n -= (size_t)r;
	}
	return SKP_OK;
}

/* Write a whole file next to path, then rename it into place. */
static int
write_atomic(const char *path, mode_t mode, const char *a, size_t alen,
    const char *b, size_t blen)
{
	char *tmp = NULL, *dircopy = NULL;
	int fd = -1, dfd = -1, rc = SKP_ERR_IO;

	if (asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		tmp = NULL;
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, mode) == -1 ||
	    write_fd(fd, a, alen) != SKP_OK ||
	    write_fd(fd, b, blen) != SKP_OK ||
	    fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	free(tmp);
	tmp = NULL;
	if ((dircopy = strdup(path)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1)
		(void)fsync(dfd);
	rc = SKP_OK;
 out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	free(dircopy);
	return rc;
}

int
skp_setup_write(const char *path, const char *provider, int *state,
    char **other, int *backed_up)
{
	char *old = NULL, *head = NULL, *bak = NULL;
	size_t oldlen = 0;
	mode_t mode = 0600;
	int rc, st, quote;

	*state = SKP_SETUP_ABSENT;
	*other = NULL;
	*backed_up = 0;
	rc = read_all(path, &old, &oldlen, &mode);
	if (rc == SKP_ERR_NOT_FOUND) {
		old = NULL;
		oldlen = 0;
	} else if (rc != SKP_OK)
		goto out;
	if (old != NULL && memchr(old, '\0', oldlen) != NULL) {
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if (old != NULL) {
		if ((st = skp_setup_scan(old, oldlen, provider, other)) < 0) {
			rc = st;
			goto out;
		}
		*state = st;
		if (st != SKP_SETUP_ABSENT) {
			rc = SKP_OK;
			goto out;
		}
		if (asprintf(&bak, "%s.bak", path) == -1) {
			bak = NULL;
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		if ((rc = write_atomic(bak, mode, old, oldlen, "", 0)) !=
		    SKP_OK)
			goto out;
		*backed_up = 1;
	}
	quote = strpbrk(provider, " \t") != NULL;
	/* At the top: ssh takes the first value, and a Host block ends the
	 * global section, so anywhere else it might not apply to all. */
	if (asprintf(&head, "# Added by sk-phone setup: keys made with "
	    "libsk-phone sign on the paired phone.\n"
	    SETUP_KEYWORD " %s%s%s\n\n", quote ? "\"" : "", provider,
	    quote ? "\"" : "") == -1) {
		head = NULL;
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	rc = write_atomic(path, mode, head, strlen(head),
	    old == NULL ? "" : old, oldlen);
 out:
	free(old);
	free(head);
	free(bak);
	return rc;
}
