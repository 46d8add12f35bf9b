/* sk-phone: pair a phone, check it, list its keys, set up ssh to use it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "skp-config.h"
#include "sk-phone/err.h"
#include "sk-phone/proxy.h"

#include "cli.h"
#include "setup.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sk-phone pair [--relay URL] [--ca FILE] [--name NAME] "
	    "[--yes]\n"
	    "                     [--replace] [--uri-file FILE] "
	    "[--timeout SECONDS]\n"
	    "       sk-phone status [--timeout SECONDS]\n"
	    "       sk-phone unpair [NAME]\n"
	    "       sk-phone keys [--device NAME] [--authorized-keys]\n"
	    "       sk-phone lost NAME [--krl FILE]\n"
	    "       sk-phone setup [--write [--proxy]] [--provider PATH]\n"
	    "       sk-phone proxy [-J COMMAND] [-w SECONDS] HOST PORT\n"
	    "       sk-phone keeper [--socket PATH] [--idle SECONDS] "
	    "[--foreground]\n"
	    "       sk-phone --version\n");
}

/* path into out if it is a regular file; SKP_ERR_NOT_FOUND if not. */
static int
regular_file(const char *path, char *out, size_t outlen)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return SKP_ERR_NOT_FOUND;
	if ((size_t)snprintf(out, outlen, "%s", path) >= outlen)
		return SKP_ERR_TOO_LARGE;
	return SKP_OK;
}

/*
 * The installed provider, else the one built next to this program, else
 * the Debian package's.
 */
static int
provider_path(const char *given, char *out, size_t outlen)
{
	struct stat st;
	char self[PATH_MAX], cand[PATH_MAX + 32], *slash;
	ssize_t n;
	int i, rc;

	if (given != NULL) {
		if (given[0] != '/') {
			skp_cli_err("--provider needs an absolute path");
			return SKP_ERR_INVALID;
		}
		if (stat(given, &st) == -1 || !S_ISREG(st.st_mode)) {
			skp_cli_err("no provider at %s", given);
			return SKP_ERR_NOT_FOUND;
		}
		if ((size_t)snprintf(out, outlen, "%s", given) >= outlen)
			return SKP_ERR_TOO_LARGE;
		return SKP_OK;
	}
	if ((rc = regular_file(SKP_PROVIDER_INSTALLED, out, outlen)) !=
	    SKP_ERR_NOT_FOUND)
		return rc;
	/* Run from a build tree: cmd/sk-phone/sk-phone next to lib/. */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		for (i = 0; i < 3 && (slash = strrchr(self, '/')) != NULL; i++)
			*slash = '\0';
		snprintf(cand, sizeof(cand), "%s/lib/libsk-phone.so", self);
		if (self[0] == '/' && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && realpath(cand, self) != NULL &&
		    (size_t)snprintf(out, outlen, "%s", self) < outlen)
			return SKP_OK;
	}
	if ((rc = regular_file(SKP_PROVIDER_PACKAGED, out, outlen)) !=
	    SKP_ERR_NOT_FOUND)
		return rc;
	skp_cli_err("the provider is not installed at %s: run "
	    "`meson install -C build`, install the Debian package libsk-phone, "
	    "or pass --provider PATH", SKP_PROVIDER_INSTALLED);
	return SKP_ERR_NOT_FOUND;
}

/* This program's absolute path, for the ProxyCommand line. */
static int
self_path(char *out, size_t outlen)
{
	ssize_t n;

	if ((n = readlink("/proc/self/exe", out, outlen - 1)) <= 0 ||
	    (size_t)n >= outlen - 1 || out[0] != '/')
		return SKP_ERR_NOT_FOUND;
	out[n] = '\0';
	return SKP_OK;
}

/*
 * The file to edit for ~/.ssh/config: the file itself, or the one a
 * symbolic link names when that is a regular file of ours that others
 * cannot write (as ssh wants it); else a message and an error.
 */
static int
config_target(const char *config, char **target)
{
	struct stat st;
	char *t = NULL;
	int rc = SKP_ERR_INVALID;

	*target = NULL;
	if (lstat(config, &st) == -1 || !S_ISLNK(st.st_mode)) {
		if ((*target = strdup(config)) == NULL) {
			skp_cli_err("out of memory");
			return SKP_ERR_NOMEM;
		}
		return SKP_OK;
	}
	if ((t = realpath(config, NULL)) == NULL) {
		skp_cli_err("%s is a symbolic link that leads to no file (%s): "
		    "create the file it names, or replace the link with a "
		    "file", config, strerror(errno));
		goto out;
	}
	if (stat(t, &st) == -1 || !S_ISREG(st.st_mode)) {
		skp_cli_err("%s is a symbolic link to %s, which is not a "
		    "regular file: point it at a file", config, t);
		goto out;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		skp_cli_err("%s is a symbolic link to %s, which %s: ssh "
		    "refuses such a config too; fix it (%s %s) and run "
		    "again", config, t, st.st_uid != geteuid() ?
		    "is not yours" : "others can write",
		    st.st_uid != geteuid() ? "chown $USER" : "chmod go-w", t);
		goto out;
	}
	printf("%s is a symbolic link: editing the file it names, %s\n",
	    config, t);
	*target = t;
	t = NULL;
	rc = SKP_OK;
 out:
	free(t);
	return rc;
}

static int
cmd_setup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "write",	no_argument,		NULL, 'w' },
		{ "proxy",	no_argument,		NULL, 'x' },
		{ "provider",	required_argument,	NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct skp_setup_result res;
	struct skp_setup_eval ev, after;
	char path[PATH_MAX], self[PATH_MAX], *config = NULL, *sshdir = NULL;
	char *proxy = NULL, *target = NULL, *proxy_head = NULL;
	const char *given = NULL, *home, *jump;
	int c, write = 0, with_proxy = 0, ret = 1, rc;

	memset(&res, 0, sizeof(res));
	while ((c = getopt_long(argc, argv, "wxp:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			write = 1;
			break;
		case 'x':
			with_proxy = 1;
			break;
		case 'p':
			given = optarg;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			ret = 2;
			goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		ret = 2;
		goto out;
	}
	if (provider_path(given, path, sizeof(path)) != SKP_OK)
		goto out;
	if (self_path(self, sizeof(self)) != SKP_OK ||
	    skp_setup_proxy_command(self, &proxy) != SKP_OK) {
		/* Without a usable path of its own, only the provider. */
		proxy = NULL;
		if (with_proxy) {
			skp_cli_err("cannot name this program's path in a "
			    "ProxyCommand (no %% or ' allowed in it)");
			goto out;
		}
	}
	/* "PATH proxy", for a ProxyCommand with -J in a message. */
	if (proxy != NULL && (proxy_head = strndup(proxy, strlen(proxy) -
	    strlen(" %h %p"))) == NULL) {
		skp_cli_err("out of memory");
		goto out;
	}
	if (!write) {
		printf("# Add this line at the top of ~/.ssh/config "
		    "(or run `sk-phone setup --write`):\n");
		printf("SecurityKeyProvider %s\n", path);
		printf("# ssh-keygen and ssh-add take it as -w / -S, or from "
		    "the environment:\n");
		printf("export SSH_SK_PROVIDER=%s\n", path);
		if (proxy != NULL) {
			printf("# Optional: let the phone check and pin each "
			    "server's host key. Add these\n# lines at the "
			    "end of ~/.ssh/config (or run `sk-phone setup "
			    "--write --proxy`):\n");
			printf("Host *\n\tProxyCommand %s\n", proxy);
		}
		ret = 0;
		goto out;
	}
	if ((home = skp_cli_home()) == NULL) {
		skp_cli_err("cannot find the home folder: set HOME");
		goto out;
	}
	if (asprintf(&sshdir, "%s/.ssh", home) == -1 ||
	    asprintf(&config, "%s/.ssh/config", home) == -1) {
		sshdir = config = NULL;
		skp_cli_err("out of memory");
		goto out;
	}
	if (mkdir(sshdir, 0700) == -1 && errno != EEXIST) {
		skp_cli_err("cannot make %s: %s", sshdir, strerror(errno));
		goto out;
	}
	if (config_target(config, &target) != SKP_OK)
		goto out;
	/* ssh's own view: Include, Match and all, as it reads them. */
	if (skp_setup_ssh_eval(target, &ev) != SKP_OK && access(target, F_OK)
	    == 0)
		printf("note: `ssh -G -F %s` did not run; judging by reading "
		    "the file alone\n", target);
	if ((rc = skp_setup_write(target, path, with_proxy ? proxy : NULL,
	    &ev, &res)) != SKP_OK) {
		skp_cli_err("cannot update %s: %s", target,
		    rc == SKP_ERR_IO ? strerror(errno) : skp_strerror(rc));
		goto out;
	}
	ret = 0;
	switch (res.provider_state) {
	case SKP_SETUP_PRESENT:
		printf("%s already has SecurityKeyProvider %s\n", target,
		    path);
		break;
	case SKP_SETUP_OTHER:
		skp_cli_err("ssh uses SecurityKeyProvider %s for every host "
		    "(from %s or a file it includes), so keys made with "
		    "sk-phone would not sign; it was left as it is: change "
		    "that line to \"SecurityKeyProvider %s\" by hand, then "
		    "run `sk-phone setup --write` again", res.provider_other,
		    target, path);
		ret = 1;
		break;
	case SKP_SETUP_HOSTS:
		printf("added SecurityKeyProvider %s under \"Host *\" at the "
		    "end of %s; the hosts that set their own (%s) keep it\n",
		    path, target, res.provider_other);
		break;
	default:
		printf("added SecurityKeyProvider %s to %s\n", path, target);
		break;
	}
	if (with_proxy) {
		switch (res.proxy_state) {
		case SKP_SETUP_PRESENT:
			printf("%s already runs sk-phone proxy\n", target);
			break;
		case SKP_SETUP_OTHER:
			jump = res.proxy_other + 9;
			while (*jump == ' ' || *jump == '\t' || *jump == '=')
				jump++;
			if (strncasecmp(res.proxy_other, "ProxyJump", 9) == 0)
				skp_cli_err("ssh uses \"%s\" for every host "
				    "(`ssh -G` shows it; from %s or a file it "
				    "includes): that ProxyJump wins, since ssh "
				    "takes the first value, so a ProxyCommand "
				    "added after it would not apply and the "
				    "phone would not check host keys; nothing "
				    "was added for it. To keep the jump host "
				    "and let the phone check, replace that line "
				    "with: ProxyCommand %s -J 'ssh -W %%h:%%p "
				    "%s' %%h %%p", res.proxy_other, target,
				    proxy_head, jump);
			else
				skp_cli_err("%s already has \"%s\" for every "
				    "host, so a ProxyCommand added after it "
				    "would not apply; use \"ProxyCommand %s\" "
				    "there by hand (with a jump host: "
				    "sk-phone proxy -J 'ssh -W %%%%h:%%%%p "
				    "JUMP' %%h %%p)", target, res.proxy_other,
				    proxy);
			ret = 1;
			break;
		default:
			/* Judged again as ssh will read it from now on. */
			if (skp_setup_ssh_eval(target, &after) == SKP_OK &&
			    (after.proxy_jump[0] != '\0' ||
			    !skp_setup_proxy_is_ours(after.proxy_command))) {
				skp_cli_err("added \"Host *\" with "
				    "ProxyCommand %s at the end of %s, but "
				    "`ssh -G` still shows \"%s\" for hosts: "
				    "find what sets it first and remove it",
				    proxy, target, after.proxy_jump[0] !=
				    '\0' ? after.proxy_jump :
				    after.proxy_command);
				ret = 1;
				break;
			}
			printf("added \"Host *\" with ProxyCommand %s at the "
			    "end of %s: the phone now checks and pins the "
			    "host keys of servers\n", proxy, target);
			break;
		}
	} else if (ret == 0)
		printf("to let the phone check and pin host keys too, run "
		    "sk-phone setup --write --proxy\n");
	if (res.backed_up)
		printf("the old file is %s.bak\n", target);
 out:
	skp_setup_result_clear(&res);
	free(proxy);
	free(proxy_head);
	free(target);
	free(config);
	free(sshdir);
	return ret;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("sk-phone %s\n", SKP_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	/* Each command parses its own options from its own argv[0]. */
	argc--;
	argv++;
	if (strcmp(cmd, "setup") == 0)
		return cmd_setup(argc, argv);
	if (strcmp(cmd, "pair") == 0)
		return skp_cli_pair(argc, argv);
	if (strcmp(cmd, "status") == 0)
		return skp_cli_status(argc, argv);
	if (strcmp(cmd, "unpair") == 0)
		return skp_cli_unpair(argc, argv);
	if (strcmp(cmd, "keys") == 0)
		return skp_cli_keys(argc, argv);
	if (strcmp(cmd, "lost") == 0)
		return skp_cli_lost(argc, argv);
	if (strcmp(cmd, "proxy") == 0)
		return skp_proxy_main(argc, argv);
	if (strcmp(cmd, "keeper") == 0)
		return skp_cli_keeper(argc, argv);
	skp_cli_err("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
