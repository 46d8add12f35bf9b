/* sk-phone lost: give up a phone that is gone, and say what to revoke. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/store.h"

#include "cli.h"
#include "keyfile.h"

#define KRL_MAX		(16 * 1024 * 1024)	/* an existing KRL, copied */
#define KRL_ERR_MAX	4096			/* what ssh-keygen said */

static const char usage_line[] = "usage: sk-phone lost NAME [--krl FILE]";

/* What the computer knows of the lost phone's keys. */
struct lost {
	const char			*phone;
	uint8_t				 phone_id[SKP_PHONE_ID_LEN];
	struct skp_keyfile_seen		 seen;
	char				**lines;	/* its keys */
	size_t				 nlines;
	char				**maybe;	/* sealed files */
	size_t				 nmaybe;
};

static int
push(char ***v, size_t *n, char *s)
{
	char **m;

	if (s == NULL || (m = reallocarray(*v, *n + 1, sizeof(*m))) == NULL) {
		free(s);
		return SKP_ERR_NOMEM;
	}
	m[(*n)++] = s;
	*v = m;
	return SKP_OK;
}

static void
strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A key file of ~/.ssh: the lost phone's, or one that cannot tell. */
static int
lost_file(const char *path, const struct skp_keyfile *kf, void *arg)
{
	struct lost *l = arg;
	char line[SKP_KEYFILE_LINE_MAX], *s = NULL;
	int rc;

	if (skp_keyfile_line(kf->blob, kf->bloblen, line, sizeof(line)) !=
	    SKP_OK)
		return SKP_OK;
	if (kf->sealed) {
		if (asprintf(&s, "# %s\n#   %s", path, line) == -1)
			s = NULL;
		return push(&l->maybe, &l->nmaybe, s);
	}
	if (memcmp(kf->phone_id, l->phone_id, sizeof(l->phone_id)) != 0)
		return SKP_OK;
	if ((rc = skp_keyfile_seen_add(&l->seen, kf->blob, kf->bloblen)) !=
	    1)
		return rc == 0 ? SKP_OK : SKP_ERR_NOMEM;
	if (asprintf(&s, "%s sk-phone:%s %s", line, l->phone, path) == -1)
		s = NULL;
	return push(&l->lines, &l->nlines, s);
}

/* The whole of a small file, for the KRL that is updated. */
static int
read_all(const char *path, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t k;
	size_t n = 0;
	int fd, rc = SKP_ERR_IO;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return SKP_ERR_IO;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_size > KRL_MAX) {
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size + 1) {
		if ((k = read(fd, buf + n, (size_t)st.st_size + 1 - n)) == -1 &&
		    errno == EINTR)
			continue;
		if (k == -1)
			goto out;	/* not a part of the KRL as the whole */
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*out = buf;
	*outlen = n;
	buf = NULL;
	rc = SKP_OK;
 out:
	free(buf);
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t k;

	while (n > 0) {
		if ((k = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * ssh-keygen -k [-u] -f tmp - with the lines on its standard input;
 * what it said kept in err. 0 when it succeeded.
 */
static int
run_keygen(const char *tmp, int update, char **lines, size_t n, char *err,
    size_t errlen)
{
	int in[2] = { -1, -1 }, er[2] = { -1, -1 }, status, ret = -1;
	void (*old)(int);
	size_t i, got = 0;
	ssize_t k;
	pid_t pid;

	err[0] = '\0';
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(er, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Its "Revoking from" line too: said only on failure. */
		if (dup2(in[0], STDIN_FILENO) == -1 ||
		    dup2(er[1], STDOUT_FILENO) == -1 ||
		    dup2(er[1], STDERR_FILENO) == -1)
			_exit(127);
		if (update)
			execlp("ssh-keygen", "ssh-keygen", "-k", "-u", "-f",
			    tmp, "-", (char *)NULL);
		else
			execlp("ssh-keygen", "ssh-keygen", "-k", "-f", tmp,
			    "-", (char *)NULL);
		fprintf(stderr, "cannot run ssh-keygen: %s", strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(er[1]);
	in[0] = er[1] = -1;
	old = signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++)
		if (write_all(in[1], lines[i], strlen(lines[i])) == -1 ||
		    write_all(in[1], "\n", 1) == -1)
			break;
	signal(SIGPIPE, old);
	close(in[1]);
	in[1] = -1;
	while (got + 1 < errlen && (k = read(er[0], err + got,
	    errlen - 1 - got)) > 0)
		got += (size_t)k;
	err[got] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ret = 0;
	else if (got == 0)
		snprintf(err, errlen, "ssh-keygen failed (status %d)", status);
 out:
	if (in[0] != -1)
		close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	if (er[0] != -1)
		close(er[0]);
	if (er[1] != -1)
		close(er[1]);
	return ret;
}

/*
 * The KRL: made (or, when file is one already, added to) by the real
 * ssh-keygen -k in a temporary file beside it, then renamed over it.
 */
static int
write_krl(const char *file, char **lines, size_t n)
{
	struct stat st;
	char *tmp = NULL, err[KRL_ERR_MAX], *nl;
	uint8_t *old = NULL;
	size_t oldlen = 0;
	mode_t mode = 0644;
	int fd = -1, update = 0, ret = -1, rc;

	if (stat(file, &st) == 0) {
		if ((rc = read_all(file, &old, &oldlen)) != SKP_OK) {
			skp_cli_err("cannot read %s to add to it: %s", file,
			    rc == SKP_ERR_IO ? strerror(errno) : rc ==
			    SKP_ERR_INVALID ? "not a regular file of at most "
			    "16 MiB" : skp_strerror(rc));
			goto out;
		}
		update = oldlen > 0;
		mode = st.st_mode & 07777;
	} else if (errno != ENOENT) {
		skp_cli_err("cannot use %s: %s", file, strerror(errno));
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp-XXXXXX", file) == -1) {
		tmp = NULL;
		skp_cli_err("out of memory");
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		skp_cli_err("cannot make a file beside %s: %s", file,
		    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if ((update && write_all(fd, old, oldlen) == -1) ||
	    fchmod(fd, mode) == -1) {
		skp_cli_err("cannot write %s: %s", tmp, strerror(errno));
		goto out;	/* out: closes fd */
	}
	rc = close(fd);
	fd = -1;
	if (rc == -1) {
		skp_cli_err("cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (run_keygen(tmp, update, lines, n, err, sizeof(err)) != 0) {
		while ((nl = strrchr(err, '\n')) != NULL && nl[1] == '\0')
			*nl = '\0';
		skp_cli_err("ssh-keygen -k could not %s %s: %s", update ?
		    "add to" : "write", file, err);
		goto out;
	}
	if (rename(tmp, file) == -1) {
		skp_cli_err("cannot rename %s to %s: %s", tmp, file,
		    strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	ret = update;
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(old);
	return ret;
}

int
skp_cli_lost(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "krl",	required_argument,	NULL, 'k' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	char dir[SKP_STORE_PATH_MAX], hex[2 * SKP_PHONE_ID_LEN + 1];
	char gone[SKP_NAME_MAX + 1], *sshdir = NULL;
	skp_store_phones_t *phones = NULL;
	const struct skp_store_pairing *ph;
	const char *krl = NULL, *home;
	struct lost l;
	size_t i;
	int c, rc, ret = 1, krl_rc = 0;

	memset(&l, 0, sizeof(l));
	while ((c = getopt_long(argc, argv, "k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			krl = optarg;
			break;
		case 'h':
			printf("%s\n", usage_line);
			ret = 0;
			goto out;
		default:
			fprintf(stderr, "%s\n", usage_line);
			ret = 2;
			goto out;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "%s\n", usage_line);
		ret = 2;
		goto out;
	}
	if (skp_cli_load(dir, sizeof(dir), NULL, &phones, 0) != 0)
		goto out;
	if (skp_store_phones_find_name(phones, argv[optind], &ph) != SKP_OK) {
		skp_cli_err("no paired phone named '%s'; the paired ones:",
		    argv[optind]);
		for (i = 0; (ph = skp_store_phones_at(phones, i)) != NULL; i++)
			fprintf(stderr, "  %s\n", ph->phone_name);
		goto out;
	}
	l.phone = ph->phone_name;
	memcpy(l.phone_id, ph->phone_id, sizeof(l.phone_id));
	skp_hex(l.phone_id, sizeof(l.phone_id), hex);
	hex[8] = '\0';
	/* The phone is not asked: it is gone, or in someone else's hands. */
	if ((home = skp_cli_home()) == NULL || asprintf(&sshdir, "%s/.ssh",
	    home) == -1) {
		sshdir = NULL;
		skp_cli_err("cannot find the home folder: set HOME");
		goto out;
	}
	rc = skp_keyfile_scan(sshdir, lost_file, &l);
	if (rc != SKP_OK && rc != SKP_ERR_NOT_FOUND) {
		skp_cli_err("cannot read %s: %s", sshdir, rc == SKP_ERR_IO ?
		    strerror(errno) : skp_strerror(rc));
		goto out;
	}
	if (l.nlines > 0) {
		printf("# The keys of phone '%s' (id %s) this computer knows, "
		    "from the key files\n# in %s that name it. Remove these "
		    "lines from ~/.ssh/authorized_keys\n# on every server "
		    "(or revoke them there with a KRL: --krl FILE):\n",
		    l.phone, hex, sshdir);
		for (i = 0; i < l.nlines; i++)
			printf("%s\n", l.lines[i]);
	} else
		printf("# This computer knows no key of phone '%s' (id %s): "
		    "no key file in %s\n# names it.\n", l.phone, hex, sshdir);
	printf("# Not known here: keys made on phone '%s' from other "
	    "computers, its resident\n# keys never downloaded here "
	    "(ssh-keygen -K), and key files kept elsewhere.\n# Look for "
	    "them in each server's authorized_keys: sk-phone keys "
	    "--authorized-keys\n# lists the keys of the phones you keep, "
	    "and every other sk- key there is\n# suspect.\n", l.phone);
	if (l.nmaybe > 0) {
		printf("# Perhaps: these key files are under a passphrase, so "
		    "which phone holds them\n# cannot be read (they are "
		    "not in the KRL):\n");
		for (i = 0; i < l.nmaybe; i++)
			printf("%s\n", l.maybe[i]);
	}
	fflush(stdout);
	/* The KRL before the pairing goes: after it, nothing names the
	 * phone's keys any more, and a failed KRL could not be made again. */
	if (krl != NULL && l.nlines == 0) {
		skp_cli_err("no KRL written to %s: no key of phone '%s' is "
		    "known here", krl, l.phone);
		krl_rc = 1;
	} else if (krl != NULL) {
		if ((rc = write_krl(krl, l.lines, l.nlines)) < 0) {
			skp_cli_err("phone '%s' is still paired: fix that and "
			    "run sk-phone lost again", l.phone);
			goto out;
		}
		printf("# %s %s: %zu key%s of phone '%s'. On each server, "
		    "copy it there and set\n# RevokedKeys to its path in "
		    "sshd_config (sshd then refuses those keys).\n",
		    rc == 1 ? "Added to the KRL" : "Wrote the KRL", krl,
		    l.nlines, l.nlines == 1 ? "" : "s", l.phone);
	}
	if (skp_cli_remove_pairing(dir, l.phone, gone, sizeof(gone)) != 0)
		goto out;
	printf("# Unpaired phone '%s': its keys no longer sign from this "
	    "computer. The phone was\n# not told (it still lists this "
	    "computer as '%s'); until the lines above are\n# gone from "
	    "the servers, whoever holds the phone and a key file can "
	    "still log in.\n", gone, ph->computer_name);
	ret = krl_rc;
 out:
	skp_keyfile_seen_free(&l.seen);
	strings_free(l.lines, l.nlines);
	strings_free(l.maybe, l.nmaybe);
	skp_store_phones_free(&phones);
	free(sshdir);
	return ret;
}
