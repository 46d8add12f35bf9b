/* sk-phone: pair a phone, check it, list its keys, set up ssh to use it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	    "usage: sk-phone pair [--relay URL] [--name NAME] [--yes] "
	    "[--uri-file FILE]\n"
	    "       sk-phone status [--timeout SECONDS]\n"
	    "       sk-phone unpair [NAME]\n"
	    "       sk-phone keys [--device NAME]\n"
	    "       sk-phone setup [--write] [--provider PATH]\n"
	    "       sk-phone proxy [-J COMMAND] [-w SECONDS] HOST PORT\n"
	    "       sk-phone --version\n");
}

/* The installed provider, else the one built next to this program. */
static int
provider_path(const char *given, char *out, size_t outlen)
{
	struct stat st;
	char self[PATH_MAX], cand[PATH_MAX + 32], *slash;
	ssize_t n;
	int i;

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
	if (stat(SKP_PROVIDER_INSTALLED, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((size_t)snprintf(out, outlen, "%s",
		    SKP_PROVIDER_INSTALLED) >= outlen)
			return SKP_ERR_TOO_LARGE;
		return SKP_OK;
	}
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
	skp_cli_err("the provider is not installed at %s: run "
	    "`meson install -C build`, or pass --provider PATH",
	    SKP_PROVIDER_INSTALLED);
	return SKP_ERR_NOT_FOUND;
}

static int
cmd_setup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "write",	no_argument,		NULL, 'w' },
		{ "provider",	required_argument,	NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	char path[PATH_MAX], *other = NULL, *config = NULL, *sshdir = NULL;
	const char *given = NULL, *home;
	int c, write = 0, state = SKP_SETUP_ABSENT, ret = 1, rc, bak = 0;

	while ((c = getopt_long(argc, argv, "wp:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			write = 1;
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
	if (!write) {
		printf("# Add this line at the top of ~/.ssh/config "
		    "(or run `sk-phone setup --write`):\n");
		printf("SecurityKeyProvider %s\n", path);
		printf("# ssh-keygen and ssh-add take it as -w / -S, or from "
		    "the environment:\n");
		printf("export SSH_SK_PROVIDER=%s\n", path);
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
	if ((rc = skp_setup_write(config, path, &state, &other,
	    &bak)) != SKP_OK) {
		skp_cli_err("cannot update %s: %s", config,
		    rc == SKP_ERR_IO ? strerror(errno) : skp_strerror(rc));
		goto out;
	}
	switch (state) {
	case SKP_SETUP_PRESENT:
		printf("%s already has SecurityKeyProvider %s\n", config, path);
		ret = 0;
		break;
	case SKP_SETUP_OTHER:
		skp_cli_err("%s already sets SecurityKeyProvider %s; change "
		    "that line to %s by hand", config, other, path);
		break;
	default:
		printf("added SecurityKeyProvider %s to %s%s%s\n", path,
		    config, bak ? "; the old file is " : "",
		    bak ? "config.bak" : "");
		ret = 0;
		break;
	}
 out:
	free(other);
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
	if (strcmp(cmd, "proxy") == 0)
		return skp_proxy_main(argc, argv);
	skp_cli_err("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
