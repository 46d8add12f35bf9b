/* sk-phone setup: find or add the provider and proxy lines in ssh_config. */
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
#define SETUP_PROXY_MARK	" proxy "

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

/*
 * n bytes and a NUL. Not strndup(): the config is len bytes that need not
 * end in a NUL, and strndup() may look for one past them.
 */
static char *
copy_n(const char *p, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
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
			/* val is not NUL-terminated: strndup would read on. */
			if ((*other = malloc(vlen + 1)) == NULL)
				return SKP_ERR_NOMEM;
			memcpy(*other, val, vlen);
			(*other)[vlen] = '\0';
			return SKP_SETUP_OTHER;
		}
		line = nl + 1;
	}
	return SKP_SETUP_ABSENT;
}

/*
 * One ssh_config line split: *kw and *kwlen the keyword, *rest the
 * arguments after the whitespace and/or '=' (trailing blanks dropped).
 * 0 for a blank line or a comment.
 */
static int
line_split(const char *p, size_t n, const char **kw, size_t *kwlen,
    const char **rest, size_t *restlen)
{
	size_t i = 0, k;

	while (i < n && is_space(p[i]))
		i++;
	if (i == n || p[i] == '#')
		return 0;
	k = i;
	while (i < n && !is_space(p[i]) && p[i] != '=')
		i++;
	*kw = p + k;
	*kwlen = i - k;
	while (i < n && is_space(p[i]))
		i++;
	if (i < n && p[i] == '=')
		i++;
	while (i < n && is_space(p[i]))
		i++;
	while (n > i && is_space(p[n - 1]))
		n--;
	*rest = p + i;
	*restlen = n - i;
	return 1;
}

static int
is_kw(const char *kw, size_t kwlen, const char *want)
{
	return kwlen == strlen(want) && strncasecmp(kw, want, kwlen) == 0;
}

/* "Host *" or "Match all": a block for every host. */
static int
every_host(const char *kw, size_t kwlen, const char *rest, size_t restlen)
{
	if (is_kw(kw, kwlen, "Host"))
		return (restlen == 1 && rest[0] == '*') ||
		    (restlen == 3 && memcmp(rest, "\"*\"", 3) == 0);
	return is_kw(kw, kwlen, "Match") && restlen == 3 &&
	    strncasecmp(rest, "all", 3) == 0;
}

int
skp_setup_scan_proxy(const char *config, size_t len, char **other)
{
	const char *line = config, *end = config + len, *nl, *kw, *rest;
	size_t kwlen, restlen;
	int all = 1;	/* the global section applies to every host */

	*other = NULL;
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		if (!line_split(line, (size_t)(nl - line), &kw, &kwlen, &rest,
		    &restlen)) {
			line = nl + 1;
			continue;
		}
		if (is_kw(kw, kwlen, "Host") || is_kw(kw, kwlen, "Match"))
			all = every_host(kw, kwlen, rest, restlen);
		else if (is_kw(kw, kwlen, "ProxyCommand") &&
		    memmem(rest, restlen, "sk-phone", 8) != NULL &&
		    memmem(rest, restlen, SETUP_PROXY_MARK,
		    strlen(SETUP_PROXY_MARK)) != NULL) {
			free(*other);
			*other = NULL;
			return SKP_SETUP_PRESENT;
		} else if (all && *other == NULL &&
		    (is_kw(kw, kwlen, "ProxyCommand") ||
		    is_kw(kw, kwlen, "ProxyJump"))) {
			/* Keep looking: ours may still come later. */
			if ((*other = copy_n(kw, (size_t)(rest + restlen -
			    kw))) == NULL)
				return SKP_ERR_NOMEM;
		}
		line = nl + 1;
	}
	return *other != NULL ? SKP_SETUP_OTHER : SKP_SETUP_ABSENT;
}

int
skp_setup_proxy_command(const char *cli, char **out)
{
	const char *q = strpbrk(cli, " \t\"\\$`!*?[]{}()<>|;&~#") != NULL ?
	    "'" : "";

	*out = NULL;
	/* ssh expands % in ProxyCommand; a ' cannot be quoted in '...'. */
	if (cli[0] != '/' || strchr(cli, '%') != NULL ||
	    strchr(cli, '\'') != NULL || strchr(cli, '\n') != NULL)
		return SKP_ERR_INVALID;
	if (asprintf(out, "%s%s%s proxy %%h %%p", q, cli, q) == -1) {
		*out = NULL;
		return SKP_ERR_NOMEM;
	}
	return SKP_OK;
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
    const char *b, size_t blen, const char *c, size_t clen)
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
	    write_fd(fd, c, clen) != SKP_OK ||
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

void
skp_setup_result_clear(struct skp_setup_result *res)
{
	free(res->provider_other);
	free(res->proxy_other);
	memset(res, 0, sizeof(*res));
}

int
skp_setup_write(const char *path, const char *provider,
    const char *proxy_command, struct skp_setup_result *res)
{
	char *old = NULL, *head = NULL, *tail = NULL, *bak = NULL;
	size_t oldlen = 0;
	mode_t mode = 0600;
	int rc, st, quote;

	memset(res, 0, sizeof(*res));
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
		if ((st = skp_setup_scan(old, oldlen, provider,
		    &res->provider_other)) < 0) {
			rc = st;
			goto out;
		}
		res->provider_state = st;
		if (proxy_command != NULL) {
			if ((st = skp_setup_scan_proxy(old, oldlen,
			    &res->proxy_other)) < 0) {
				rc = st;
				goto out;
			}
			res->proxy_state = st;
		}
	}
	quote = strpbrk(provider, " \t") != NULL;
	/* At the top: ssh takes the first value, and a Host block ends the
	 * global section, so anywhere else it might not apply to all. */
	if (res->provider_state == SKP_SETUP_ABSENT &&
	    asprintf(&head, "# Added by sk-phone setup: keys made with "
	    "libsk-phone sign on the paired phone.\n"
	    SETUP_KEYWORD " %s%s%s\n\n", quote ? "\"" : "", provider,
	    quote ? "\"" : "") == -1) {
		head = NULL;
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	/* At the end, under "Host *": hosts configured above keep their
	 * own ProxyCommand or ProxyJump (ssh takes the first value). */
	if (proxy_command != NULL && res->proxy_state == SKP_SETUP_ABSENT &&
	    asprintf(&tail, "%s\n# Added by sk-phone setup: ssh connects "
	    "through sk-phone proxy, so the\n# phone can check and pin each "
	    "server's host key.\nHost *\n\tProxyCommand %s\n",
	    oldlen > 0 && old[oldlen - 1] != '\n' ? "\n" : "",
	    proxy_command) == -1) {
		tail = NULL;
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if (head == NULL && tail == NULL) {
		rc = SKP_OK;
		goto out;
	}
	if (old != NULL) {
		if (asprintf(&bak, "%s.bak", path) == -1) {
			bak = NULL;
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		if ((rc = write_atomic(bak, mode, old, oldlen, "", 0, "",
		    0)) != SKP_OK)
			goto out;
		res->backed_up = 1;
	}
	rc = write_atomic(path, mode, head == NULL ? "" : head,
	    head == NULL ? 0 : strlen(head), old == NULL ? "" : old, oldlen,
	    tail == NULL ? "" : tail, tail == NULL ? 0 : strlen(tail));
	if (rc == SKP_OK)
		res->wrote = 1;
 out:
	free(old);
	free(head);
	free(tail);
	free(bak);
	return rc;
}
