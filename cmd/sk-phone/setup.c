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
#include <sys/wait.h>
#include <unistd.h>

#include "sk-phone/err.h"

#include "setup.h"

#define SETUP_MAX_CONFIG	(1024 * 1024)
#define SETUP_KEYWORD		"SecurityKeyProvider"
#define SETUP_PROXY_MARK	" proxy "
#define SETUP_MAX_G		(256 * 1024)	/* ssh -G output read */

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
skp_setup_scan(const char *config, size_t len, const char *provider,
    char **other)
{
	const char *line = config, *end = config + len, *nl, *val, *kw, *rest;
	size_t vlen, kwlen, restlen;
	int all = 1;	/* the global section applies to every host */

	*other = NULL;
	/*
	 * ssh uses the first value it meets. One for every host is the
	 * user's choice that setup must not override; one for some hosts
	 * only is kept by adding ours after it, under "Host *".
	 */
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		if (line_split(line, (size_t)(nl - line), &kw, &kwlen, &rest,
		    &restlen) && (is_kw(kw, kwlen, "Host") ||
		    is_kw(kw, kwlen, "Match")))
			all = every_host(kw, kwlen, rest, restlen);
		else if (line_provider(line, (size_t)(nl - line), &val,
		    &vlen)) {
			if (all && vlen == strlen(provider) &&
			    memcmp(val, provider, vlen) == 0) {
				free(*other);
				*other = NULL;
				return SKP_SETUP_PRESENT;
			}
			if (all || *other == NULL) {
				free(*other);
				/* val is not NUL-terminated. */
				if ((*other = malloc(vlen + 1)) == NULL)
					return SKP_ERR_NOMEM;
				memcpy(*other, val, vlen);
				(*other)[vlen] = '\0';
				if (all)
					return SKP_SETUP_OTHER;
			}
		}
		line = nl + 1;
	}
	return *other != NULL ? SKP_SETUP_HOSTS : SKP_SETUP_ABSENT;
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

/* A line "key value" of ssh -G into out when the key is key. */
static void
g_value(const char *line, size_t n, const char *key, char *out,
    size_t outlen)
{
	size_t k = strlen(key);

	if (n > k && memcmp(line, key, k) == 0 && line[k] == ' ') {
		n -= k + 1;
		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, line + k + 1, n);
		out[n] = '\0';
	}
}

void
skp_setup_parse_g(const char *out, size_t len, struct skp_setup_eval *ev)
{
	const char *line = out, *end = out + len, *nl;

	ev->provider[0] = ev->proxy_command[0] = ev->proxy_jump[0] = '\0';
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		g_value(line, (size_t)(nl - line), "securitykeyprovider",
		    ev->provider, sizeof(ev->provider));
		g_value(line, (size_t)(nl - line), "proxycommand",
		    ev->proxy_command, sizeof(ev->proxy_command));
		g_value(line, (size_t)(nl - line), "proxyjump",
		    ev->proxy_jump, sizeof(ev->proxy_jump));
		line = nl + 1;
	}
	/* "none" switches a proxy off, as if there were none. */
	if (strcmp(ev->proxy_command, "none") == 0)
		ev->proxy_command[0] = '\0';
	if (strcmp(ev->proxy_jump, "none") == 0)
		ev->proxy_jump[0] = '\0';
}

int
skp_setup_ssh_eval(const char *config, struct skp_setup_eval *ev)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	pid_t pid = -1;
	int p[2] = { -1, -1 }, fd, status, rc = SKP_ERR_IO;

	memset(ev, 0, sizeof(*ev));
	if ((buf = malloc(SETUP_MAX_G)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		goto out;
	if (pid == 0) {
		/* ssh's defaults, not this shell's SSH_SK_PROVIDER. */
		(void)unsetenv("SSH_SK_PROVIDER");
		if ((fd = open("/dev/null", O_RDWR)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(p[1], STDOUT_FILENO) == -1 ||
		    dup2(fd, STDERR_FILENO) == -1)
			_exit(127);
		execlp("ssh", "ssh", "-G", "-F", config, SKP_SETUP_PROBE_HOST,
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	for (;;) {
		r = read(p[0], buf + n, SETUP_MAX_G - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == SETUP_MAX_G - 1)
			break;
	}
	close(p[0]);
	p[0] = -1;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			goto out;
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = SKP_ERR_UNSUPPORTED;
		goto out;
	}
	skp_setup_parse_g(buf, n, ev);
	ev->ok = 1;
	rc = SKP_OK;
 out:
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	if (pid > 0)
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	free(buf);
	return rc;
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
skp_setup_proxy_is_ours(const char *cmd)
{
	return strstr(cmd, "sk-phone") != NULL &&
	    strstr(cmd, SETUP_PROXY_MARK) != NULL;
}

/* ssh's own view (ssh -G) outweighs what the scans read. */
static int
weigh_eval(const struct skp_setup_eval *ev, const char *provider,
    int want_proxy, struct skp_setup_result *res)
{
	if (ev == NULL || !ev->ok)
		return SKP_OK;
	if (strcmp(ev->provider, provider) == 0) {
		res->provider_state = SKP_SETUP_PRESENT;
		free(res->provider_other);
		res->provider_other = NULL;
	} else if (ev->provider[0] != '\0' &&
	    strcmp(ev->provider, "internal") != 0 &&
	    res->provider_state != SKP_SETUP_OTHER) {
		/* Set for every host, maybe in a file it includes. */
		free(res->provider_other);
		if ((res->provider_other = strdup(ev->provider)) == NULL)
			return SKP_ERR_NOMEM;
		res->provider_state = SKP_SETUP_OTHER;
	}
	if (!want_proxy)
		return SKP_OK;
	if (ev->proxy_jump[0] == '\0' && skp_setup_proxy_is_ours(ev->proxy_command)) {
		res->proxy_state = SKP_SETUP_PRESENT;
		free(res->proxy_other);
		res->proxy_other = NULL;
	} else if (ev->proxy_jump[0] != '\0' || ev->proxy_command[0] != '\0') {
		free(res->proxy_other);
		if (asprintf(&res->proxy_other, "%s %s",
		    ev->proxy_jump[0] != '\0' ? "ProxyJump" : "ProxyCommand",
		    ev->proxy_jump[0] != '\0' ? ev->proxy_jump :
		    ev->proxy_command) == -1) {
			res->proxy_other = NULL;
			return SKP_ERR_NOMEM;
		}
		res->proxy_state = SKP_SETUP_OTHER;
	}
	return SKP_OK;
}

int
skp_setup_write(const char *path, const char *provider,
    const char *proxy_command, const struct skp_setup_eval *ev,
    struct skp_setup_result *res)
{
	char *old = NULL, *head = NULL, *tail = NULL, *bak = NULL;
	char *pline = NULL;
	size_t oldlen = 0;
	mode_t mode = 0600;
	int rc, st, quote, add_proxy;

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
	if ((rc = weigh_eval(ev, provider, proxy_command != NULL, res)) !=
	    SKP_OK)
		goto out;
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
	/* A provider for some hosts only: ours after it, for the rest. */
	if (res->provider_state == SKP_SETUP_HOSTS &&
	    asprintf(&pline, "\t" SETUP_KEYWORD " %s%s%s\n",
	    quote ? "\"" : "", provider, quote ? "\"" : "") == -1) {
		pline = NULL;
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	add_proxy = proxy_command != NULL &&
	    res->proxy_state == SKP_SETUP_ABSENT;
	/* At the end, under "Host *": hosts configured above keep their
	 * own ProxyCommand or ProxyJump (ssh takes the first value). */
	if ((pline != NULL || add_proxy) &&
	    asprintf(&tail, "%s\n%s%sHost *\n%s%s%s%s",
	    oldlen > 0 && old[oldlen - 1] != '\n' ? "\n" : "",
	    pline != NULL ? "# Added by sk-phone setup: keys made with "
	    "libsk-phone sign on the paired\n# phone; hosts above keep "
	    "their own SecurityKeyProvider.\n" : "",
	    add_proxy ? "# Added by sk-phone setup: ssh connects through "
	    "sk-phone proxy, so the\n# phone can check and pin each server's "
	    "host key.\n" : "", pline != NULL ? pline : "",
	    add_proxy ? "\tProxyCommand " : "",
	    add_proxy ? proxy_command : "", add_proxy ? "\n" : "") == -1) {
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
	free(pline);
	free(bak);
	return rc;
}
