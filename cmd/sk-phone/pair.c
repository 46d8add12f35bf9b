/* sk-phone pair: show the QR code, meet the phone, confirm, save. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"
#include "sk-phone/store.h"

#include "cli.h"
#include "qr.h"
#include "webcheck.h"

#define PAIR_TIMEOUT_DEFAULT	SKP_PAIRURI_MAX_AGE	/* seconds */
#define RELAY_CHECK_MS		5000

/* A countdown on the terminal while the handshake blocks. */
struct ticker {
	pthread_t	 thread;
	atomic_int	 stop;
	time_t		 end;
	int		 running;
};

static void *
tick(void *arg)
{
	struct ticker *t = arg;
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	long left;

	while (!atomic_load(&t->stop)) {
		left = (long)(t->end - time(NULL));
		if (left < 0)
			left = 0;
		fprintf(stderr, "\r\033[Kwaiting for the phone to scan the "
		    "code... %ld:%02ld left", left / 60, left % 60);
		fflush(stderr);
		nanosleep(&ts, NULL);
	}
	fputs("\r\033[K", stderr);
	fflush(stderr);
	return NULL;
}

static void
ticker_start(struct ticker *t, int seconds)
{
	atomic_init(&t->stop, 0);
	t->end = time(NULL) + seconds;
	t->running = 0;
	if (isatty(STDERR_FILENO) &&
	    pthread_create(&t->thread, NULL, tick, t) == 0) {
		t->running = 1;
		return;
	}
	fprintf(stderr, "waiting for the phone to scan the code (up to %d "
	    "s)...\n", seconds);
}

static void
ticker_stop(struct ticker *t)
{
	if (!t->running)
		return;
	atomic_store(&t->stop, 1);
	pthread_join(t->thread, NULL);
	t->running = 0;
}

/*
 * The name the phones know this computer by: the one of the latest
 * pairing (pairing again must not rename it), else the host name.
 */
static void
default_name(const skp_store_phones_t *phones, char *out, size_t outlen)
{
	const struct skp_store_pairing *ph, *latest = NULL;
	char host[HOST_NAME_MAX + 1];
	size_t i;

	for (i = 0; (ph = skp_store_phones_at(phones, i)) != NULL; i++)
		if (latest == NULL || ph->paired_at >= latest->paired_at)
			latest = ph;
	if (latest != NULL && latest->computer_name[0] != '\0') {
		snprintf(out, outlen, "%s", latest->computer_name);
		return;
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		host[SKP_NAME_MAX] = '\0';
		if (skp_pairuri_check_name(host, strlen(host)) == SKP_OK) {
			snprintf(out, outlen, "%s", host);
			return;
		}
	}
	snprintf(out, outlen, "computer");
}

/* Save the pairing; the same phone or name paired again replaces it. */
static int
save_pairing(const char *dir, const struct skp_pair_peer *peer,
    const char *computer_name, const char *ca_file, const char *relays)
{
	char why[SKP_STORE_WHY_MAX];
	skp_store_phones_t *phones = NULL;
	struct skp_store_pairing sp;
	uint8_t id[SKP_PHONE_ID_LEN];
	int rc, replaced = 0, lock = -1;

	memset(&sp, 0, sizeof(sp));
	/* Another pair (or the provider) may save meanwhile: read, change
	 * and write under the folder's lock, or its pairing is lost. */
	if ((rc = skp_store_lock(dir, &lock, why, sizeof(why))) != SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	if ((rc = skp_store_phones_load(dir, &phones, why, sizeof(why))) !=
	    SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	if (skp_pairuri_phone_id(peer->static_pub, id) == SKP_OK &&
	    skp_store_phones_remove_id(phones, id) == SKP_OK)
		replaced = 1;
	if (skp_store_phones_remove(phones, peer->name) == SKP_OK)
		replaced = 1;
	snprintf(sp.phone_name, sizeof(sp.phone_name), "%s", peer->name);
	memcpy(sp.phone_pub, peer->static_pub, sizeof(sp.phone_pub));
	memcpy(sp.mailbox_id, peer->mailbox_id, sizeof(sp.mailbox_id));
	/*
	 * The phone names the one URL it listens on; when that is one of
	 * this side's list, the list is kept (URLs of that same relay).
	 */
	snprintf(sp.relay, sizeof(sp.relay), "%s",
	    skp_relaylist_has(relays, peer->relay_url) ? relays :
	    peer->relay_url);
	memcpy(sp.request_psk, peer->request_psk, sizeof(sp.request_psk));
	sp.paired_at = peer->paired_at;
	snprintf(sp.computer_name, sizeof(sp.computer_name), "%s",
	    computer_name);
	snprintf(sp.ca_file, sizeof(sp.ca_file), "%s", ca_file);
	if ((rc = skp_store_phones_add(phones, &sp, why, sizeof(why))) !=
	    SKP_OK) {
		skp_cli_err("cannot add the pairing: %s", why[0] != '\0' ?
		    why : skp_strerror(rc));
		goto out;
	}
	if ((rc = skp_store_phones_save(dir, phones, why, sizeof(why))) !=
	    SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	if (replaced)
		fprintf(stderr, "replaced the earlier pairing with phone "
		    "'%s' (or with this same phone under another name)\n",
		    peer->name);
 out:
	skp_store_unlock(&lock);
	skp_wipe(&sp, sizeof(sp));
	skp_store_phones_free(&phones);
	return rc;
}

/*
 * --ca FILE: kept as an absolute path (the provider runs from any
 * folder), checked readable now rather than at the first login.
 */
static int
ca_path(const char *arg, char *out, size_t outlen)
{
	char *abs = NULL;
	FILE *f = NULL;
	int ret = -1;

	if ((abs = realpath(arg, NULL)) == NULL ||
	    (f = fopen(abs, "re")) == NULL) {
		skp_cli_err("--ca %s: cannot read it (%s): give the CA "
		    "certificate (PEM) that signed the relay's certificate",
		    arg, strerror(errno));
		goto out;
	}
	if (strlen(abs) >= outlen) {
		skp_cli_err("--ca %s: the path is longer than %zu bytes", arg,
		    outlen - 1);
		goto out;
	}
	snprintf(out, outlen, "%s", abs);
	ret = 0;
 out:
	if (f != NULL)
		fclose(f);
	free(abs);
	return ret;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sk-phone pair [--relay URL] [--ca FILE] "
	    "[--name NAME] [--yes] [--replace] [--uri-file FILE] "
	    "[--timeout SECONDS]\n");
}

/*
 * A phone of the name the new one gives is already paired: a careful
 * user replaces a pairing on purpose, never by accident. 1: go on (with
 * --replace, or the user said so on the terminal); 0: refuse.
 */
static int
may_replace(const char *dir, const char *name, int replace, int yes)
{
	char why[SKP_STORE_WHY_MAX], when[32];
	skp_store_phones_t *phones = NULL;
	const struct skp_store_pairing *old;
	struct tm tm;
	time_t t;
	int ok = 1;

	if (skp_store_phones_load(dir, &phones, why, sizeof(why)) !=
	    SKP_OK || skp_store_phones_find_name(phones, name, &old) !=
	    SKP_OK)
		goto out;
	t = (time_t)old->paired_at;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	fprintf(stderr, "A phone named '%s' is already paired with this "
	    "computer (since %s, relay %s).\n", name, when, old->relay);
	if (replace) {
		fprintf(stderr, "--replace: the new phone '%s' replaces it "
		    "once both confirm.\n", name);
		goto out;
	}
	ok = 0;
	if (!yes && skp_cli_confirm("Replace that pairing with the new "
	    "phone (keys made by the old one stop signing here)?") > 0) {
		ok = 1;
		goto out;
	}
	skp_cli_err("not replacing the pairing with phone '%s'; nothing "
	    "saved. To replace it, run `sk-phone unpair %s` first or pair "
	    "with --replace; to keep both, give the new phone another name "
	    "(sk-phone-authenticator pair --name OTHER)", name, name);
 out:
	skp_store_phones_free(&phones);
	return ok;
}

int
skp_cli_pair(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "relay",	required_argument,	NULL, 'r' },
		{ "ca",		required_argument,	NULL, 'c' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "yes",	no_argument,		NULL, 'y' },
		{ "replace",	no_argument,		NULL, 'R' },
		{ "uri-file",	required_argument,	NULL, 'u' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	char dir[SKP_STORE_PATH_MAX], why[SKP_STORE_WHY_MAX];
	char name[SKP_NAME_MAX + 1], relay[SKP_RELAYLIST_MAX + 1];
	char first[SKP_RELAYURL_MAX + 1];
	char ca[SKP_STORE_CA_MAX + 1], web_uri[SKP_PAIRURI_MAX + 1];
	struct skp_p256_key identity;
	struct skp_pair_peer peer;
	struct ticker ticker;
	skp_store_phones_t *phones = NULL;
	skp_pairflow_t *pf = NULL;
	const char *uri_file = NULL, *env, *uri, *code, *uwhy = NULL;
	char *end;
	long t;
	size_t which;
	int c, yes = 0, replace = 0, timeout_s = PAIR_TIMEOUT_DEFAULT;
	int ret = 1, rc, confirmed, color, lock = -1, web;

	memset(&identity, 0, sizeof(identity));
	web_uri[0] = '\0';
	memset(&peer, 0, sizeof(peer));
	name[0] = relay[0] = ca[0] = '\0';
	while ((c = getopt_long(argc, argv, "r:c:n:yu:t:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'r':
			/* Repeated: the URLs of one relay, tried in turn. */
			if ((rc = skp_relaylist_add(relay, sizeof(relay),
			    optarg, &uwhy)) != SKP_OK) {
				skp_cli_err("--relay %s: %s; it wants "
				    "ws://HOST:PORT or wss://HOST:PORT/PATH, "
				    "at most %d of them", optarg,
				    uwhy != NULL ? uwhy : "too long",
				    SKP_RELAYLIST_URLS);
				ret = 2;
				goto out;
			}
			break;
		case 'c':
			if (ca_path(optarg, ca, sizeof(ca)) != 0) {
				ret = 2;
				goto out;
			}
			break;
		case 'n':
			if (strlen(optarg) >= sizeof(name) ||
			    skp_pairuri_check_name(optarg,
			    strlen(optarg)) != SKP_OK) {
				skp_cli_err("--name wants 1 to %d bytes of "
				    "text without control characters",
				    SKP_NAME_MAX);
				ret = 2;
				goto out;
			}
			snprintf(name, sizeof(name), "%s", optarg);
			break;
		case 'y':
			yes = 1;
			break;
		case 'R':
			replace = 1;
			break;
		case 'u':
			uri_file = optarg;
			break;
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || t < 1 ||
			    t > PAIR_TIMEOUT_DEFAULT) {
				skp_cli_err("--timeout wants 1 to %d seconds",
				    PAIR_TIMEOUT_DEFAULT);
				ret = 2;
				goto out;
			}
			timeout_s = (int)t;
			break;
		case 'h':
			usage();
			ret = 0;
			goto out;
		default:
			usage();
			ret = 2;
			goto out;
		}
	}
	if (optind != argc) {
		usage();
		ret = 2;
		goto out;
	}
	if (skp_store_computer_dir(dir, sizeof(dir), why, sizeof(why)) !=
	    SKP_OK || skp_store_dir_check(dir, 1, why, sizeof(why)) !=
	    SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	if (skp_store_phones_load(dir, &phones, why, sizeof(why)) != SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	if (name[0] == '\0')
		default_name(phones, name, sizeof(name));
	/* The relay: given, else from the environment, else the one the
	 * phones already paired use. */
	if (relay[0] == '\0' && (env = getenv("SK_PHONE_RELAY")) != NULL &&
	    env[0] != '\0') {
		/* Several URLs of one relay: separated by spaces. */
		if (skp_relaylist_check(env, strlen(env), &uwhy) != SKP_OK) {
			skp_cli_err("SK_PHONE_RELAY=%s: %s; fix it or pass "
			    "--relay", env, uwhy);
			ret = 2;
			goto out;
		}
		snprintf(relay, sizeof(relay), "%s", env);
	}
	/* The relay of the phones paired, with their CA file. */
	if (relay[0] == '\0' && skp_store_phones_count(phones) > 0) {
		snprintf(relay, sizeof(relay), "%s",
		    skp_store_phones_at(phones, 0)->relay);
		if (ca[0] == '\0')
			snprintf(ca, sizeof(ca), "%s",
			    skp_store_phones_at(phones, 0)->ca_file);
	}
	if (relay[0] == '\0') {
		skp_cli_err("which relay? pass --relay ws://HOST:PORT (the "
		    "address of sk-phone-relay, reachable by this computer "
		    "and the phone)");
		ret = 2;
		goto out;
	}
	/* Two first pairings at once must make one identity, not two. */
	if ((rc = skp_store_lock(dir, &lock, why, sizeof(why))) == SKP_OK) {
		rc = skp_store_identity_load(dir, &identity, why,
		    sizeof(why));
		if (rc == SKP_ERR_NOT_FOUND)
			rc = skp_store_identity_create(dir, &identity, why,
			    sizeof(why));
		skp_store_unlock(&lock);
	}
	if (rc != SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	if ((rc = skp_pairflow_computer_new(&identity, name, relay, &pf)) !=
	    SKP_OK) {
		if (rc == SKP_ERR_TOO_LARGE)
			skp_cli_err("the pairing URI would be longer than %d "
			    "bytes: use a shorter --relay URL or --name",
			    SKP_PAIRURI_MAX);
		else
			skp_cli_err("cannot start pairing: %s",
			    skp_strerror(rc));
		goto out;
	}
	if (ca[0] != '\0' && (rc = skp_pairflow_set_ca(pf, ca)) != SKP_OK) {
		skp_cli_err("cannot start pairing: %s", skp_strerror(rc));
		goto out;
	}
	/* Drawing a code no phone can use would waste the user's time. */
	if (skp_cli_relays_check(relay, ca, RELAY_CHECK_MS, &which, why,
	    sizeof(why)) != SKP_OK) {
		skp_cli_err("%s", why);
		goto out;
	}
	/*
	 * Wait at the rendezvous before the code is shown: the phone then
	 * always finds this side there, and the relay can refuse at once a
	 * code nobody waits for (used, expired or altered).
	 */
	if ((rc = skp_pairflow_open(pf, timeout_s * 1000)) != SKP_OK) {
		if (rc == SKP_ERR_NETWORK || rc == SKP_ERR_TLS ||
		    rc == SKP_ERR_TIMEOUT)
			skp_cli_err("cannot open the pairing on the relay %s "
			    "(%s): run `sk-phone pair` again once it is "
			    "reachable", relay, skp_strerror(rc));
		else if (skp_pairflow_end_code(pf) != 0)
			skp_cli_err("the relay %s refused the pairing: %s",
			    relay, skp_relay_code_reason(
			    skp_pairflow_end_code(pf)));
		else
			skp_cli_err("cannot open the pairing on the relay %s: "
			    "%s", relay, skp_strerror(rc));
		goto out;
	}
	uri = skp_pairflow_uri(pf);
	color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	/*
	 * When the relay serves the web phone, the QR code is its address
	 * with the pairing in the fragment (never sent to the server): any
	 * phone's camera opens it. The text form stays for pasting.
	 */
	/* The web form is the first URL's: only when that one answered. */
	(void)skp_relaylist_get(relay, 0, first);
	web = which == 0 && skp_pairuri_web_ok(first) &&
	    skp_webcheck(first, ca, RELAY_CHECK_MS) &&
	    skp_pairflow_web_uri(pf, web_uri, sizeof(web_uri)) == SKP_OK;
	if (web)
		printf("Scan this code with your phone's camera: it opens the "
		    "web phone the relay serves (valid %d minutes, once);\n"
		    "sk-phone-authenticator pair takes it too:\n\n",
		    SKP_PAIRURI_MAX_AGE / 60);
	else
		printf("Scan this code with the sk-phone app on your phone "
		    "(valid %d minutes, once):\n\n", SKP_PAIRURI_MAX_AGE / 60);
	if ((rc = skp_qr_draw(stdout, web ? web_uri : uri, color)) !=
	    SKP_OK) {
		skp_cli_err("cannot draw the QR code: %s", skp_strerror(rc));
		goto out;
	}
	if (web)
		printf("\nOr open this address on the phone:\n%s\n", web_uri);
	printf("\nOr give the phone this text:\n%s\n\n", uri);
	fflush(stdout);
	if (uri_file != NULL && skp_file_write_private(uri_file, uri) != SKP_OK) {
		skp_cli_err("cannot write %s: %s", uri_file,
		    strerror(errno));
		goto out;
	}
	ticker_start(&ticker, timeout_s);
	rc = skp_pairflow_handshake(pf, timeout_s * 1000);
	ticker_stop(&ticker);
	if (rc != SKP_OK) {
		if (rc == SKP_ERR_TIMEOUT)
			skp_cli_err("no phone scanned the code within %d s; "
			    "run `sk-phone pair` again", timeout_s);
		else if (rc == SKP_ERR_NETWORK || rc == SKP_ERR_TLS)
			skp_cli_err("lost the relay %s while waiting for the "
			    "phone (%s): run `sk-phone pair` again once "
			    "it is back", relay, skp_strerror(rc));
		else if (rc == SKP_ERR_DECRYPT)
			skp_cli_err("the pairing code the phone used was wrong "
			    "or altered: its message does not decrypt with "
			    "this code's secret and this computer's key (the "
			    "phone was told at once); nothing saved: run "
			    "`sk-phone pair` again and scan the new code");
		else
			skp_cli_err("pairing failed: %s", skp_strerror(rc));
		goto out;
	}
	code = skp_pairflow_code(pf);
	printf("Phone '%s' wants to pair.\nCode: %.3s %.3s\n",
	    skp_pairflow_peer_name(pf), code, code + 3);
	fflush(stdout);
	if (!may_replace(dir, skp_pairflow_peer_name(pf), replace, yes)) {
		/* The phone is told no, so it saves nothing either. */
		(void)skp_pairflow_finish(pf, 0, timeout_s * 1000, &peer);
		goto out;
	}
	if (yes)
		confirmed = 1;
	else if ((confirmed = skp_cli_confirm("Does the phone show the "
	    "same code?")) < 0) {
		skp_cli_err("no terminal to confirm the code on: pass --yes "
		    "to accept it");
		confirmed = 0;
	}
	if (confirmed)
		fprintf(stderr, "waiting for the phone to confirm...\n");
	rc = skp_pairflow_finish(pf, confirmed, timeout_s * 1000, &peer);
	if (rc != SKP_OK) {
		if (!confirmed)
			skp_cli_err("pairing cancelled; nothing saved");
		else if (rc == SKP_ERR_REJECTED || rc == SKP_ERR_CLOSED)
			skp_cli_err("the phone declined the pairing (its "
			    "user said no, or it found the code altered; the "
			    "phone says which); nothing saved");
		else if (rc == SKP_ERR_TIMEOUT)
			skp_cli_err("the phone did not confirm within %d s; "
			    "nothing saved", timeout_s);
		else
			skp_cli_err("pairing failed: %s", skp_strerror(rc));
		goto out;
	}
	if (save_pairing(dir, &peer, name, ca, relay) != SKP_OK)
		goto out;
	printf("Paired with phone '%s' (relay %s).\n", peer.name,
	    skp_relaylist_has(relay, peer.relay_url) ? relay :
	    peer.relay_url);
	printf("Next: sk-phone setup, then ssh-keygen -t ecdsa-sk -w "
	    "<provider path it prints>.\n");
	ret = 0;
 out:
	skp_pairflow_free(&pf);
	skp_store_phones_free(&phones);
	skp_wipe(&identity, sizeof(identity));
	skp_wipe(&peer, sizeof(peer));
	skp_wipe(web_uri, sizeof(web_uri));
	return ret;
}
