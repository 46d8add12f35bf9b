/* sk-phone status, unpair and keys: the paired phones and their keys. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>


#include "sk-api.h"
#include "sk-phone/call.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/keeper.h"
#include "sk-phone/keyhandle.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"
#include "sk-phone/store.h"

#include "cli.h"
#include "keyfile.h"

#define STATUS_TIMEOUT_DEFAULT	5	/* seconds per phone */
#define STATUS_TIMEOUT_MAX	120

/* sk-phone unpair telling the phone: the whole call, an offline phone. */
#define UNPAIR_TELL_MS		10000
#define UNPAIR_OFFLINE_MS	2000

/* The identity and the pairings, or a message and -1. */
int
skp_cli_load(char *dir, size_t dirlen, struct skp_p256_key *id,
    skp_store_phones_t **phones, int need_identity)
{
	char why[SKP_STORE_WHY_MAX];
	int rc;

	if (skp_store_computer_dir(dir, dirlen, why, sizeof(why)) !=
	    SKP_OK) {
		skp_cli_err("%s", why);
		return -1;
	}
	if (need_identity) {
		rc = skp_store_identity_load(dir, id, why, sizeof(why));
		if (rc == SKP_ERR_NOT_FOUND) {
			skp_cli_err("not paired with a phone: run "
			    "`sk-phone pair`");
			return -1;
		}
		if (rc != SKP_OK) {
			skp_cli_err("%s", why);
			return -1;
		}
	}
	if (skp_store_phones_load(dir, phones, why, sizeof(why)) != SKP_OK) {
		skp_cli_err("%s", why);
		return -1;
	}
	if (skp_store_phones_count(*phones) == 0) {
		skp_cli_err("not paired with a phone: run `sk-phone pair`");
		return -1;
	}
	return 0;
}

/*
 * A request the phone answers without asking its owner: getInfo (info
 * filled in) or FORGET (info NULL). offline_ms: how long to wait for a
 * phone the relay says is offline (0: timeout_ms).
 */
static int
phone_plain(const char *dir, const struct skp_store_pairing *ph,
    const struct skp_p256_key *id, uint8_t command, int timeout_ms,
    int offline_ms, struct skp_ctap_info *info, char *reason,
    size_t reasonlen)
{
	struct skp_ctap_request *req = NULL;
	struct skp_call_phone cp;
	struct skp_call_response resp;
	struct timespec now;
	char why[SKP_STORE_WHY_MAX], line[512];
	uint8_t *msg = NULL;
	size_t msglen = 0;
	int rc = SKP_ERR_NOMEM;

	memset(&resp, 0, sizeof(resp));
	if ((req = calloc(1, sizeof(*req))) == NULL)
		goto out;
	req->command = command;
	if ((rc = skp_random(req->id, sizeof(req->id))) != SKP_OK)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	req->time_ms = (uint64_t)now.tv_sec * 1000 +
	    (uint64_t)now.tv_nsec / 1000000;
	snprintf(req->ctx.computer_name, sizeof(req->ctx.computer_name),
	    "%s", ph->computer_name);
	if ((rc = skp_ctap_request_encode(req, &msg, &msglen)) != SKP_OK)
		goto out;
	memset(&cp, 0, sizeof(cp));
	cp.name = ph->phone_name;
	cp.relay_url = ph->relay;
	cp.static_pub = ph->phone_pub;
	cp.mailbox_id = ph->mailbox_id;
	cp.request_psk = ph->request_psk;
	cp.pin = NULL;
	cp.ca_file = ph->ca_file[0] != '\0' ? ph->ca_file : NULL;
	cp.offline_ms = offline_ms;
	rc = skp_call(&cp, id, msg, msglen, timeout_ms, NULL, NULL, &resp);
	snprintf(reason, reasonlen, "%s", resp.reason);
	if (resp.clock_retried) {
		skp_call_clock_text(ph->phone_name, resp.clock_offset_ms, line,
		    sizeof(line));
		fprintf(stderr, "sk-phone: %s\n", line);
	}
	/* The phone moved (mailbox rotate): follow it, as the provider. */
	if (resp.moved && skp_store_phones_move(dir, ph->phone_id,
	    resp.move_id, resp.move_relay, why, sizeof(why)) != SKP_OK)
		fprintf(stderr, "sk-phone: phone '%s' moved to a new mailbox "
		    "and it could not be saved: %s\n", ph->phone_name, why);
	if (rc != SKP_OK || info == NULL)
		goto out;
	rc = resp.ctap == NULL ? SKP_ERR_FORMAT :
	    skp_ctap_info_decode(resp.ctap, resp.ctap_len, info);
 out:
	skp_call_response_clear(&resp);
	free(msg);
	if (req != NULL) {
		skp_ctap_request_clear(req);
		free(req);
	}
	return rc;
}

/*
 * The connection keeper (PROTOCOL.md §11): its lock file names its pid;
 * running when that process is a keeper of ours. The lock itself is not
 * tried: holding it even a moment would turn away a keeper starting then.
 */
static void
keeper_line(void)
{
	char path[512], lock[600], pid[32], proc[64], cmd[256];
	const char *prog;
	char *slash, *end;
	ssize_t n = 0, m = 0;
	long v = 0;
	int fd, running = 0;

	/* The program the provider would start, as it chooses it. */
	switch (skp_keeper_program(&prog)) {
	case SKP_ERR_NOT_FOUND:
		printf("keeper: off (SK_PHONE_KEEPER=off: every signature "
		    "connects to the relay itself)\n");
		return;
	case SKP_ERR_INVALID:
		printf("keeper: none (SK_PHONE_KEEPER=%s is not an absolute "
		    "path): signatures connect directly\n", prog);
		return;
	default:
		break;
	}
	if (skp_keeper_socket_path(path, sizeof(path)) != SKP_OK) {
		printf("keeper: none (no folder for its socket: "
		    "$XDG_RUNTIME_DIR/sk-phone or /tmp/sk-phone-UID, the "
		    "user's own, mode 0700); signatures connect directly\n");
		return;
	}
	snprintf(lock, sizeof(lock), "%s", path);
	if ((slash = strrchr(lock, '/')) != NULL)
		snprintf(slash + 1, sizeof(lock) - (size_t)(slash + 1 - lock),
		    "%s", SKP_KEEPER_LOCK);
	if ((fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		n = read(fd, pid, sizeof(pid) - 1);
		close(fd);
	}
	pid[n > 0 ? n : 0] = '\0';
	errno = 0;
	v = strtol(pid, &end, 10);
	/* Its command line: "sk-phone\0keeper\0..." (argv[1] is keeper). */
	if (errno == 0 && end != pid && (*end == '\n' || *end == '\0') &&
	    v > 1 && v <= INT32_MAX) {
		snprintf(proc, sizeof(proc), "/proc/%ld/cmdline", v);
		if ((fd = open(proc, O_RDONLY | O_CLOEXEC)) >= 0) {
			m = read(fd, cmd, sizeof(cmd) - 1);
			close(fd);
		}
		cmd[m > 0 ? m : 0] = '\0';
		running = m > 0 && (size_t)m > strlen(cmd) + 1 &&
		    strcmp(cmd + strlen(cmd) + 1, "keeper") == 0;
	}
	if (running)
		printf("keeper: running (pid %ld, %s)\n", v, path);
	else if (access(prog, X_OK) != 0)
		printf("keeper: none (%s is not installed): signatures "
		    "connect directly\n", prog);
	else
		printf("keeper: not running (the next signature starts it, "
		    "%s)\n", path);
}

int
skp_cli_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout",	required_argument,	NULL, 't' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	char dir[SKP_STORE_PATH_MAX], when[32], reason[SKP_CTAP_REASON_MAX + 1];
	char hex[2 * SKP_PHONE_ID_LEN + 1], why[1024];
	char url[SKP_RELAYURL_MAX + 1];
	size_t which;
	struct skp_p256_key id;
	struct skp_ctap_info info;
	skp_store_phones_t *phones = NULL;
	const struct skp_store_pairing *ph;
	struct tm tm;
	time_t at;
	char *end;
	long t;
	size_t i;
	int c, rc, timeout_s = STATUS_TIMEOUT_DEFAULT, ret = 1, bad = 0;

	memset(&id, 0, sizeof(id));
	while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || t < 1 ||
			    t > STATUS_TIMEOUT_MAX) {
				skp_cli_err("--timeout wants 1 to %d seconds",
				    STATUS_TIMEOUT_MAX);
				ret = 2;
				goto out;
			}
			timeout_s = (int)t;
			break;
		case 'h':
			printf("usage: sk-phone status [--timeout SECONDS]\n");
			ret = 0;
			goto out;
		default:
			ret = 2;
			goto out;
		}
	}
	if (skp_cli_load(dir, sizeof(dir), &id, &phones, 1) != 0)
		goto out;
	printf("state: %s\n", dir);
	keeper_line();
	for (i = 0; (ph = skp_store_phones_at(phones, i)) != NULL; i++) {
		at = (time_t)ph->paired_at;
		if (localtime_r(&at, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) == 0)
			snprintf(when, sizeof(when), "?");
		skp_hex(ph->phone_id, sizeof(ph->phone_id), hex);
		printf("phone '%s' (id %.8s, paired %s as '%s')\n",
		    ph->phone_name, hex, when, ph->computer_name);
		fflush(stdout);
		rc = skp_cli_relays_check(ph->relay, ph->ca_file, 2000,
		    &which, why, sizeof(why));
		(void)skp_relaylist_get(ph->relay, which, url);
		if (rc == SKP_OK)
			printf("  relay %s: reachable\n", url);
		else
			printf("  relay: %s\n", why);
		if (rc != SKP_OK) {
			printf("  phone: unknown (relay not reachable)\n");
			bad = 1;
			continue;
		}
		fflush(stdout);
		memset(&info, 0, sizeof(info));
		rc = phone_plain(dir, ph, &id, SKP_CTAP_GET_INFO,
		    timeout_s * 1000, 0, &info, reason, sizeof(reason));
		if (rc == SKP_OK) {
			printf("  phone: online (%s)\n", info.nversions > 0 ?
			    info.versions[0] : "?");
			/* getInfo key 10; a phone without it: ES256 only. */
			printf("  key types: %s%s%s\n",
			    skp_ctap_info_has_alg(&info, SKP_CTAP_COSE_ES256) ?
			    "ecdsa-sk" : "",
			    skp_ctap_info_has_alg(&info, SKP_CTAP_COSE_ES256) &&
			    skp_ctap_info_has_alg(&info, SKP_CTAP_COSE_EDDSA) ?
			    ", " : "",
			    skp_ctap_info_has_alg(&info, SKP_CTAP_COSE_EDDSA) ?
			    "ed25519-sk" : "");
		} else if (rc == SKP_ERR_OFFLINE)
			printf("  phone: offline (start sk-phone-authenticator "
			    "on it)\n");
		else if (rc == SKP_ERR_TIMEOUT)
			printf("  phone: no answer within %d s\n", timeout_s);
		else if (rc == SKP_ERR_NOT_PAIRED)
			printf("  phone: no longer knows this computer: run "
			    "`sk-phone unpair %s`, then `sk-phone pair`\n",
			    ph->phone_name);
		else if (rc == SKP_ERR_EXPIRED)
			printf("  phone: refused the request as stale: %s\n",
			    reason[0] != '\0' ? reason : "the clocks of "
			    "computer and phone differ: set them right");
		else if (reason[0] != '\0')
			printf("  phone: %s: %s\n", skp_strerror(rc), reason);
		else
			printf("  phone: %s\n", skp_strerror(rc));
		if (rc != SKP_OK)
			bad = 1;
	}
	ret = bad;
 out:
	skp_store_phones_free(&phones);
	skp_wipe(&id, sizeof(id));
	return ret;
}

/*
 * Best effort: the phone is asked to forget this computer (FORGET,
 * docs/PROTOCOL.md §4.8.1), so that it stops listing it; said plainly
 * when it could not be told.
 */
static void
tell_phone(const char *dir, const struct skp_store_pairing *ph)
{
	char why[SKP_STORE_WHY_MAX], reason[SKP_CTAP_REASON_MAX + 1];
	struct skp_p256_key id;
	const char *what;
	int rc;

	memset(&id, 0, sizeof(id));
	if ((rc = skp_store_identity_load(dir, &id, why, sizeof(why))) ==
	    SKP_OK)
		rc = phone_plain(dir, ph, &id, SKP_CTAP_FORGET,
		    UNPAIR_TELL_MS, UNPAIR_OFFLINE_MS, NULL, reason,
		    sizeof(reason));
	skp_wipe(&id, sizeof(id));
	if (rc == SKP_OK) {
		printf("phone '%s' was told, and no longer lists this "
		    "computer\n", ph->phone_name);
		return;
	}
	if (rc == SKP_ERR_NOT_PAIRED) {
		printf("phone '%s' had already forgotten this computer\n",
		    ph->phone_name);
		return;
	}
	if (rc == SKP_ERR_OFFLINE)
		what = "it is offline";
	else if (rc == SKP_ERR_TIMEOUT)
		what = "it did not answer in time";
	else if (rc == SKP_ERR_NETWORK || rc == SKP_ERR_TLS)
		what = "its relay cannot be reached";
	else if (rc == SKP_ERR_UNSUPPORTED)
		what = "its sk-phone-authenticator is too old to be told";
	else
		what = skp_strerror(rc);
	fprintf(stderr, "sk-phone: could not tell phone '%s' (%s): it still "
	    "lists this computer as '%s'; remove it there with "
	    "`sk-phone-authenticator unpair '%s'`\n", ph->phone_name, what,
	    ph->computer_name, ph->computer_name);
}

int
skp_cli_unpair(int argc, char **argv)
{
	char dir[SKP_STORE_PATH_MAX];
	skp_store_phones_t *phones = NULL;
	const struct skp_store_pairing *ph;
	char gone[SKP_NAME_MAX + 1];
	const char *name;
	int ret = 1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: sk-phone unpair [NAME]\n");
		ret = argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
		goto out;
	}
	if (skp_cli_load(dir, sizeof(dir), NULL, &phones, 0) != 0)
		goto out;
	/* The phone first, outside the lock (the network may take seconds). */
	name = argc == 2 ? argv[1] : skp_store_phones_count(phones) == 1 ?
	    skp_store_phones_at(phones, 0)->phone_name : NULL;
	if (name != NULL &&
	    skp_store_phones_find_name(phones, name, &ph) == SKP_OK)
		tell_phone(dir, ph);
	if (skp_cli_remove_pairing(dir, argc == 2 ? argv[1] : NULL, gone,
	    sizeof(gone)) != 0)
		goto out;
	/* Said once it is true: after the file is written. */
	printf("unpaired phone '%s'; keys it made no longer sign here\n",
	    gone);
	ret = 0;
 out:
	skp_store_phones_free(&phones);
	return ret;
}

/*
 * Remove the pairing of phone name (NULL: the only one) from the phones
 * file, read again under the lock so that a pair running meanwhile keeps
 * its pairing; its name in gone. 0, or -1 with a message.
 */
int
skp_cli_remove_pairing(const char *dir, const char *name, char *gone,
    size_t gonelen)
{
	char why[SKP_STORE_WHY_MAX];
	skp_store_phones_t *phones = NULL;
	const struct skp_store_pairing *ph;
	size_t i;
	int ret = -1, lock = -1;

	if (skp_store_lock(dir, &lock, why, sizeof(why)) != SKP_OK ||
	    skp_store_phones_load(dir, &phones, why, sizeof(why)) != SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	if (name == NULL && skp_store_phones_count(phones) == 1)
		name = skp_store_phones_at(phones, 0)->phone_name;
	else if (name == NULL) {
		skp_cli_err("several phones are paired; name one:");
		for (i = 0; (ph = skp_store_phones_at(phones, i)) != NULL; i++)
			fprintf(stderr, "  %s\n", ph->phone_name);
		goto out;
	}
	if (skp_store_phones_find_name(phones, name, &ph) != SKP_OK) {
		skp_cli_err("no paired phone named '%s'", name);
		goto out;
	}
	snprintf(gone, gonelen, "%s", ph->phone_name);
	if (skp_store_phones_remove(phones, gone) != SKP_OK ||
	    skp_store_phones_save(dir, phones, why, sizeof(why)) != SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	ret = 0;
 out:
	skp_store_unlock(&lock);
	skp_store_phones_free(&phones);
	return ret;
}

/* Text from the phone, made safe for a terminal: no control bytes. */
static void
printable(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; i < n && i + 1 < outlen && p[i] != '\0'; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[i] = '\0';
}

/* The OpenSSH public key blob of a resident key; 0 on success. */
static int
resident_blob(const struct sk_resident_key *rk, uint8_t *blob, size_t max,
    size_t *n)
{
	return skp_keyfile_blob(rk->alg == SSH_SK_ED25519,
	    rk->key.public_key, rk->key.public_key_len, rk->application, blob,
	    max, n) == SKP_OK ? 0 : -1;
}

/*
 * The phone's PIN, which listing resident keys needs when the phone has
 * one: one line from standard input when it is not a terminal (scripts,
 * tests), else asked on the terminal without echo. 0, or -1 with a
 * message.
 */
static int
read_pin(const char *phone, char *pin, size_t len)
{
	struct termios old, quiet;
	FILE *in = stdin, *tty = NULL;
	int echo_off = 0, rc = -1;
	size_t n;

	if (isatty(STDIN_FILENO)) {
		if ((tty = fopen("/dev/tty", "r+e")) == NULL) {
			skp_cli_err("the phone needs its PIN, and there is no "
			    "terminal to ask it on");
			return -1;
		}
		in = tty;
		if (phone != NULL)
			fprintf(tty, "PIN of phone '%s': ", phone);
		else
			fprintf(tty, "PIN of the phone: ");
		fflush(tty);
		if (tcgetattr(fileno(tty), &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			echo_off = tcsetattr(fileno(tty), TCSAFLUSH,
			    &quiet) == 0;
		}
	}
	if (fgets(pin, (int)len, in) == NULL) {
		skp_cli_err("the phone needs its PIN: none was given");
		goto out;
	}
	n = strcspn(pin, "\r\n");
	if (pin[n] == '\0' && n == len - 1) {
		skp_cli_err("the PIN is longer than %d bytes",
		    SKP_CTAP_PIN_MAX);
		goto out;
	}
	pin[n] = '\0';
	if (n == 0) {
		skp_cli_err("the phone needs its PIN: none was given");
		goto out;
	}
	rc = 0;
 out:
	if (echo_off) {
		(void)tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fprintf(tty, "\n");
	}
	if (tty != NULL)
		fclose(tty);
	if (rc != 0)
		skp_wipe(pin, len);
	return rc;
}

static void
residents_free(struct sk_resident_key **rks, size_t nrks)
{
	size_t i;

	for (i = 0; i < nrks; i++) {
		free(rks[i]->application);
		free(rks[i]->key.public_key);
		free(rks[i]->key.key_handle);
		free(rks[i]->key.signature);
		free(rks[i]->key.attestation_cert);
		free(rks[i]->key.authdata);
		free(rks[i]->user_id);
		free(rks[i]);
	}
	free(rks);
}

/*
 * Exactly what ssh-keygen -K gets from the provider, from one phone
 * (NULL: every phone); a phone with a PIN asks for it (protocol 2), as
 * ssh-keygen -K does. 0 or the provider's SSH_SK_ERR_*.
 */
static int
load_residents(const char *phone, struct sk_resident_key ***rks,
    size_t *nrks)
{
	struct sk_option opt, *opts[2] = { NULL, NULL };
	char pin[SKP_CTAP_PIN_MAX + 2];
	int rc;

	if (phone != NULL) {
		opt.name = (char *)(uintptr_t)"device";
		opt.value = (char *)(uintptr_t)phone;
		opt.required = 1;
		opts[0] = &opt;
	}
	rc = sk_load_resident_keys(NULL, opts, rks, nrks);
	if (rc == SSH_SK_ERR_PIN_REQUIRED) {
		if (read_pin(phone, pin, sizeof(pin)) != 0)
			return SSH_SK_ERR_PIN_REQUIRED;
		rc = sk_load_resident_keys(pin, opts, rks, nrks);
		skp_wipe(pin, sizeof(pin));
	}
	return rc;
}

/* What --authorized-keys has printed and counted so far. */
struct authkeys {
	skp_store_phones_t			*phones;
	const struct skp_store_pairing		*only;
	struct skp_keyfile_seen			 seen;
	size_t					 printed;
	int					 failed;
};

/* One authorized_keys line, once per key whatever its sources. */
static int
authkeys_line(struct authkeys *a, const uint8_t *blob, size_t n,
    const char *phone, const char *what)
{
	char line[SKP_KEYFILE_LINE_MAX];
	int rc;

	if ((rc = skp_keyfile_seen_add(&a->seen, blob, n)) != 1)
		return rc == 0 ? SKP_OK : SKP_ERR_NOMEM;
	if (skp_keyfile_line(blob, n, line, sizeof(line)) != SKP_OK)
		return SKP_OK;
	printf("%s sk-phone:%s %s\n", line, phone, what);
	a->printed++;
	return SKP_OK;
}

/* A key file of ~/.ssh: its line when its key handle names a phone. */
static int
authkeys_file(const char *path, const struct skp_keyfile *kf, void *arg)
{
	struct authkeys *a = arg;
	const struct skp_store_pairing *ph;

	if (kf->sealed) {
		fprintf(stderr, "sk-phone: %s is under a passphrase, so which "
		    "phone holds it cannot be read: it is in this list only "
		    "if its phone listed it (`ssh-keygen -y -f %s` prints its "
		    "line)\n", path, path);
		return SKP_OK;
	}
	if (skp_store_phones_find_id(a->phones, kf->phone_id, &ph) != SKP_OK ||
	    (a->only != NULL && ph != a->only))
		return SKP_OK;
	return authkeys_line(a, kf->blob, kf->bloblen, ph->phone_name, path);
}

/*
 * sk-phone keys --authorized-keys: every phone's resident keys, from the
 * phone, then the key files of ~/.ssh that name a paired phone. A phone
 * that cannot be asked is said on stderr, and makes the exit status 1:
 * the list is then short of its resident keys, and a script that puts
 * it on servers must notice.
 */
static int
authorized_keys(skp_store_phones_t *phones, const char *device)
{
	struct authkeys a;
	struct sk_resident_key **rks = NULL;
	const struct skp_store_pairing *ph;
	uint8_t blob[SKP_KEYFILE_BLOB_MAX];
	char user[65], app[256], what[400], *sshdir = NULL;
	const char *home;
	size_t nrks = 0, i, j, n;
	int rc, ret = 1;

	memset(&a, 0, sizeof(a));
	a.phones = phones;
	if (device != NULL && skp_store_phones_find_name(phones, device,
	    &a.only) != SKP_OK) {
		skp_cli_err("no paired phone named '%s' (`sk-phone status` "
		    "lists them)", device);
		goto out;
	}
	for (i = 0; (ph = skp_store_phones_at(phones, i)) != NULL; i++) {
		if (a.only != NULL && ph != a.only)
			continue;
		if (load_residents(ph->phone_name, &rks, &nrks) != 0) {
			fprintf(stderr, "sk-phone: phone '%s' could not be "
			    "asked, so its resident keys are missing from "
			    "this list (its key files in ~/.ssh are in it): "
			    "run it again once the phone is online\n",
			    ph->phone_name);
			a.failed = 1;
			continue;
		}
		for (j = 0; j < nrks; j++) {
			if (resident_blob(rks[j], blob, sizeof(blob), &n) != 0)
				continue;
			printable(rks[j]->user_id, rks[j]->user_id_len, user,
			    sizeof(user));
			printable((const uint8_t *)rks[j]->application,
			    strlen(rks[j]->application), app, sizeof(app));
			snprintf(what, sizeof(what), "resident %s%s%s", app,
			    user[0] != '\0' ? " user=" : "", user);
			if (authkeys_line(&a, blob, n, ph->phone_name, what) !=
			    SKP_OK)
				goto out;
		}
		residents_free(rks, nrks);
		rks = NULL;
		nrks = 0;
	}
	if ((home = skp_cli_home()) != NULL &&
	    asprintf(&sshdir, "%s/.ssh", home) != -1) {
		rc = skp_keyfile_scan(sshdir, authkeys_file, &a);
		if (rc != SKP_OK && rc != SKP_ERR_NOT_FOUND) {
			skp_cli_err("cannot read %s: %s", sshdir,
			    rc == SKP_ERR_IO ? strerror(errno) :
			    skp_strerror(rc));
			goto out;
		}
	} else
		sshdir = NULL;
	if (a.printed == 0 && !a.failed)
		fprintf(stderr, "sk-phone: no keys: the phone%s hold%s no "
		    "resident key, and no key file in ~/.ssh names %s\n",
		    a.only != NULL ? "" : "s", a.only != NULL ? "s" : "",
		    a.only != NULL ? "it" : "them");
	ret = a.failed ? 1 : 0;
 out:
	residents_free(rks, nrks);
	skp_keyfile_seen_free(&a.seen);
	free(sshdir);
	return ret;
}

int
skp_cli_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device",		required_argument,	NULL, 'd' },
		{ "authorized-keys",	no_argument,		NULL, 'a' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 },
	};
	char dir[SKP_STORE_PATH_MAX], fp[80], user[65], app[256];
	uint8_t blob[SKP_KEYFILE_BLOB_MAX];
	struct sk_resident_key **rks = NULL;
	skp_store_phones_t *phones = NULL;
	const struct skp_store_pairing *ph;
	struct skp_keyhandle kh;
	const char *device = NULL;
	size_t nrks = 0, i, n;
	int c, ret = 1, authorized = 0;

	while ((c = getopt_long(argc, argv, "d:ah", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'a':
			authorized = 1;
			break;
		case 'h':
			printf("usage: sk-phone keys [--device NAME] "
			    "[--authorized-keys]\n");
			ret = 0;
			goto out;
		default:
			ret = 2;
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: sk-phone keys [--device NAME] "
		    "[--authorized-keys]\n");
		ret = 2;
		goto out;
	}
	if (skp_cli_load(dir, sizeof(dir), NULL, &phones, 0) != 0)
		goto out;
	if (authorized) {
		ret = authorized_keys(phones, device);
		goto out;
	}
	if (load_residents(device, &rks, &nrks) != 0)
		goto out;
	if (nrks == 0)
		printf("no resident keys\n");
	for (i = 0; i < nrks; i++) {
		const struct sk_resident_key *rk = rks[i];
		char hex[2 * SKP_PHONE_ID_LEN + 1];
		const char *phone = "?";

		hex[0] = '\0';
		if (skp_keyhandle_decode(rk->key.key_handle,
		    rk->key.key_handle_len, &kh) == SKP_OK) {
			skp_hex(kh.phone_id, sizeof(kh.phone_id), hex);
			hex[8] = '\0';
			if (skp_store_phones_find_id(phones, kh.phone_id,
			    &ph) == SKP_OK)
				phone = ph->phone_name;
		}
		printable(rk->user_id, rk->user_id_len, user, sizeof(user));
		printable((const uint8_t *)rk->application,
		    strlen(rk->application), app, sizeof(app));
		if (resident_blob(rk, blob, sizeof(blob), &n) == 0)
			skp_keyfile_fingerprint(blob, n, fp, sizeof(fp));
		else
			snprintf(fp, sizeof(fp), "?");
		printf("%s user '%s' %s%s on phone '%s' (id %s)\n", app,
		    user, fp, (rk->flags & SSH_SK_USER_VERIFICATION_REQD) ?
		    " verify-required" : "", phone, hex[0] != '\0' ?
		    hex : "?");
	}
	if (nrks > 0)
		printf("download them with: ssh-keygen -K -w <provider path "
		    "from `sk-phone setup`>\n");
	ret = 0;
 out:
	residents_free(rks, nrks);
	skp_store_phones_free(&phones);
	return ret;
}
