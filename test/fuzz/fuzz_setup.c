/*
 * Fuzz harness: the ssh_config scanning of `sk-phone setup`
 * (cmd/sk-phone/setup.c, built in). The first byte picks whether the
 * proxy block is asked for; the rest is ~/.ssh/config, and also the
 * output of `ssh -G` for the parser of that. The scans run on
 * it directly, then skp_setup_write() edits a copy in a private folder
 * (on /dev/shm when there is one: no disk writes per input). After the
 * edit, the scans must find the lines it says are there, and a second
 * run must change nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/sk-phone/setup.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define PROVIDER	"/usr/lib/x86_64-linux-gnu/libsk-phone.so"
#define PROXY		"/usr/bin/sk-phone proxy %h %p"

static char dir[256], path[sizeof(dir) + 8], bak[sizeof(dir) + 12];

static void
cleanup(void)
{
	(void)unlink(path);
	(void)unlink(bak);
	(void)rmdir(dir);
}

static void
setup_dir(void)
{
	const char *base = getenv("SKP_FUZZ_TMPDIR");

	if (dir[0] != '\0')
		return;
	/* scripts/fuzz.sh names a folder it removes (libFuzzer may end
	 * without atexit); else /dev/shm, cleaned at exit. */
	if (base == NULL || *base == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/skp-fuzz-setup.XXXXXX",
	    base) >= sizeof(dir) || mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/config", dir);
	snprintf(bak, sizeof(bak), "%s/config.bak", dir);
	atexit(cleanup);
}

static void
put_file(const uint8_t *p, size_t n)
{
	int fd;

	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || write_fd(fd, (const char *)p, n) != SKP_OK ||
	    close(fd) != 0)
		abort();
}

static char *
get_file(size_t *n)
{
	char *s = NULL;
	mode_t mode;

	if (read_all(path, &s, n, &mode) != SKP_OK)
		abort();
	return s;
}

/* What the scans return, and that "other" is a piece of the config. */
static void
scans(const char *s, size_t n, int *prov, int *proxy)
{
	char *other = NULL;

	*prov = skp_setup_scan(s, n, PROVIDER, &other);
	if (*prov != SKP_SETUP_ABSENT && *prov != SKP_SETUP_PRESENT &&
	    *prov != SKP_SETUP_OTHER && *prov != SKP_SETUP_HOSTS)
		abort();
	if ((*prov == SKP_SETUP_OTHER || *prov == SKP_SETUP_HOSTS) !=
	    (other != NULL) ||
	    (other != NULL && memmem(s, n, other, strlen(other)) == NULL))
		abort();
	free(other);
	other = NULL;
	*proxy = skp_setup_scan_proxy(s, n, &other);
	if (*proxy != SKP_SETUP_ABSENT && *proxy != SKP_SETUP_PRESENT &&
	    *proxy != SKP_SETUP_OTHER)
		abort();
	if ((*proxy == SKP_SETUP_OTHER) != (other != NULL) ||
	    (other != NULL && (memmem(s, n, other, strlen(other)) == NULL ||
	    (strncasecmp(other, "ProxyCommand", 12) != 0 &&
	    strncasecmp(other, "ProxyJump", 9) != 0))))
		abort();
	free(other);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skp_setup_result res;
	struct skp_setup_eval ev;
	const char *s = (const char *)data + 1;
	const char *proxy;
	size_t n = size - 1, m;
	char *after;
	int prov, px, prov2, px2, rc;

	if (size < 1 || n > 64 * 1024)
		return 0;
	proxy = data[0] & 1 ? PROXY : NULL;
	/* The same bytes as the output of ssh -G: values stay in bounds. */
	skp_setup_parse_g(s, n, &ev);
	if (strlen(ev.provider) >= sizeof(ev.provider) ||
	    strlen(ev.proxy_command) >= sizeof(ev.proxy_command) ||
	    strlen(ev.proxy_jump) >= sizeof(ev.proxy_jump))
		abort();
	scans(s, n, &prov, &px);
	setup_dir();
	put_file(data + 1, n);
	rc = skp_setup_write(path, PROVIDER, proxy, NULL, &res);
	if (memchr(s, '\0', n) != NULL) {
		if (rc != SKP_ERR_FORMAT)
			abort();
		return 0;
	}
	if (rc != SKP_OK || res.provider_state != prov ||
	    (proxy != NULL && res.proxy_state != px))
		abort();
	skp_setup_result_clear(&res);
	after = get_file(&m);
	scans(after, m, &prov2, &px2);
	/* What it added, it finds; what another tool owns, it left. */
	if ((prov != SKP_SETUP_OTHER && prov2 != SKP_SETUP_PRESENT) ||
	    (prov == SKP_SETUP_OTHER && prov2 != SKP_SETUP_OTHER) ||
	    (proxy != NULL && px != SKP_SETUP_OTHER &&
	    px2 != SKP_SETUP_PRESENT))
		abort();
	free(after);
	/* Never twice. */
	if (skp_setup_write(path, PROVIDER, proxy, NULL, &res) != SKP_OK ||
	    res.wrote)
		abort();
	skp_setup_result_clear(&res);
	return 0;
}
