/*
 * The proxy as a program of its own for the tests and the bench:
 *   skp-proxy-test [-J command] [-w seconds] host port   (skp_proxy_main)
 *   skp-proxy-test --show PID [SESSION-ID-HEX]
 * --show prints the record ssh process PID has, as the provider reads it,
 * and with a session id verifies the host's signature over it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/hostkey.h"
#include "sk-phone/proxy.h"

#define SID_MAX	64

static void
print_hex(const char *label, const uint8_t *p, size_t n)
{
	size_t i;

	printf("%s ", label);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int
show(const char *pidarg, const char *sidhex)
{
	struct skp_hostinfo *hi = NULL;
	char fp[SKP_HOSTKEY_FP_LEN], pin[SKP_HOSTINFO_PIN_MAX];
	uint8_t sid[SID_MAX];
	const char *type = "?";
	size_t sidlen;
	long pid;
	int rc, status = 1;

	pid = strtol(pidarg, NULL, 10);
	if ((hi = calloc(1, sizeof(*hi))) == NULL)
		return 1;
	if ((rc = skp_hostinfo_read((pid_t)pid, hi)) != SKP_OK) {
		printf("read error %d %s\n", rc, skp_strerror(rc));
		goto out;
	}
	printf("host %s\nport %u\nkex %s\npid %lu\ntime %llu\n", hi->host,
	    (unsigned int)hi->port, hi->kex, (unsigned long)hi->pid,
	    (unsigned long long)hi->time);
	print_hex("hostkey", hi->hostkey, hi->hostkey_len);
	print_hex("sig", hi->sig, hi->sig_len);
	if (skp_hostkey_fingerprint(hi->hostkey, hi->hostkey_len, fp) ==
	    SKP_OK)
		printf("fingerprint %s\n", fp);
	if ((rc = skp_hostkey_check(hi->hostkey, hi->hostkey_len,
	    &type)) != SKP_OK)
		printf("check error %d %s\n", rc, skp_strerror(rc));
	else
		printf("type %s\n", type);
	if (skp_hostinfo_pin_name(hi->host, hi->port, pin, sizeof(pin)) ==
	    SKP_OK)
		printf("pin %s\n", pin);
	status = 0;
	if (sidhex == NULL)
		goto out;
	sidlen = strlen(sidhex) / 2;
	if (sidlen == 0 || sidlen > sizeof(sid) ||
	    skp_unhex(sidhex, sid, sidlen) != SKP_OK) {
		printf("bad session id\n");
		status = 1;
		goto out;
	}
	rc = skp_hostkey_verify(hi->hostkey, hi->hostkey_len, hi->sig,
	    hi->sig_len, sid, sidlen);
	printf("verify %d %s\n", rc, rc == SKP_OK ? "ok" : skp_strerror(rc));
	status = rc == SKP_OK ? 0 : 1;
out:
	free(hi);
	return status;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "--show") == 0)
		return show(argv[2], argc == 4 ? argv[3] : NULL);
	return skp_proxy_main(argc, argv);
}
