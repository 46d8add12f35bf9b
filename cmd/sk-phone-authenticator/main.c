/* sk-phone-authenticator: the reference phone, as a program for any Linux. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "skp-config.h"
#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/hostcert.h"
#include "sk-phone/hostkey.h"
#include "sk-phone/pairflow.h"
#include "sk-phone/pairuri.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"
#include "sk-phone/store.h"
#include "sk-phone/transfer.h"

#include "audit.h"
#include "handle.h"
#include "hostcheck.h"
#include "phstate.h"
#include "qr.h"
#include "serve.h"
#include "sshmsg.h"

#define PROG			"sk-phone-authenticator"
#define PAIR_TIMEOUT_S		120
#define PROMPT_TIMEOUT_S	60
#define WINDOW_HOURS		3
#define PIN_MIN			4
#define KEY_PREFIX_MIN		8	/* hex digits naming a key */

struct args {
	const char	*state;
	const char	*passfile;
	const char	*name;
	const char	*relay;		/* relays when --relay was given */
	char		 relays[SKP_RELAYLIST_MAX + 1];	/* each --relay */
	const char	*ca;		/* --ca FILE */
	const char	*pinfile;
	const char	*urifile;
	int		 ask_pin;
	int		 yes;
	int		 approve;
	unsigned long	 window_h;
	unsigned long	 timeout_s;
	int		 have_timeout;
	unsigned long	 silent_s;	/* --silent-call-timeout */
	int		 finish;	/* mailbox rotate, receive --finish */
	int		 discard;	/* receive --discard */
	int		 no_touch_ask;	/* --no-touch ask */
	int		 unknown_ca_refuse;	/* --unknown-ca refuse */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: " PROG " [--state DIR] [--passphrase-file FILE] command\n"
	    "  pair - | --uri-file FILE | URI [--name NAME] [--relay URL] "
	    "[--yes]\n"
	    "       [--timeout S] [--ca FILE]\n"
	    "  run [--approve ask|always|never] [--relay URL] "
	    "[--window HOURS]\n"
	    "      [--timeout S] [--pin-file FILE | --ask-pin] [--ca FILE]\n"
	    "      [--silent-call-timeout S] [--no-touch sign|ask]\n"
	    "      [--unknown-ca pin|refuse]\n"
	    "  log | computers | unpair NAME | keys | delete KEY\n"
	    "  hosts | hosts forget NAME | pin-reset\n"
	    "  hosts trust-ca PATTERN CA-PUBKEY-FILE\n"
	    "  hosts distrust-ca CA-PUBKEY-FILE|FINGERPRINT [PATTERN]\n"
	    "  mailbox | mailbox rotate [--finish]\n"
	    "  restore FILE\n"
	    "  transfer [--uri-file FILE] [--yes] [--relay URL] [--timeout S] "
	    "[--ca FILE]\n"
	    "  receive - | --uri-file FILE | URI [--yes] [--timeout S] "
	    "[--ca FILE]\n"
	    "  receive --finish | --discard\n");
}

static void
die_why(const char *what, int rc, const char *why)
{
	if (why != NULL && why[0] != '\0')
		fprintf(stderr, PROG ": %s\n", why);
	else
		fprintf(stderr, PROG ": %s: %s\n", what, skp_strerror(rc));
}

/* $XDG_DATA_HOME/sk-phone-authenticator, else ~/.local/share/... */
static int
default_state(char *out, size_t len)
{
	const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (x != NULL && x[0] == '/')
		n = snprintf(out, len, "%s/%s", x, PROG);
	else {
		if ((home == NULL || home[0] != '/') &&
		    (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL || home[0] != '/')
			return SKP_ERR_NOT_FOUND;
		n = snprintf(out, len, "%s/.local/share/%s", home, PROG);
	}
	return n < 0 || (size_t)n >= len ? SKP_ERR_TOO_LARGE : SKP_OK;
}

static uint64_t
now_s(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

static int
open_dirfd(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
audit_host(const char *dir, const char *computer, const char *op,
    const char *host, const char *decision)
{
	struct skp_audit_entry e;
	int fd;

	if ((fd = open_dirfd(dir)) < 0)
		return;
	memset(&e, 0, sizeof(e));
	e.time = now_s();
	e.computer = computer;
	e.op = op;
	e.host = host;
	e.decision = decision;
	if (skp_audit_append(fd, &e) != SKP_OK)
		fprintf(stderr, PROG ": cannot write the audit log\n");
	close(fd);
}

static void
audit(const char *dir, const char *computer, const char *op,
    const char *decision)
{
	audit_host(dir, computer, op, NULL, decision);
}

/*
 * Ask on fd (a terminal, or stdin) and read one line within timeout_s;
 * "" on timeout or EOF. With flush, what was typed before the question
 * is dropped first, so a key pressed earlier does not answer it.
 */
static void
ask_line(int fd, int flush, const char *question, char *out, size_t len,
    unsigned long timeout_s)
{
	struct pollfd pfd;
	size_t n = 0;
	ssize_t r;
	char c;

	out[0] = '\0';
	if (flush && isatty(fd))
		(void)tcflush(fd, TCIFLUSH);
	if (fd == STDIN_FILENO) {
		fputs(question, stdout);
		fflush(stdout);
	} else
		dprintf(fd, "%s", question);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(timeout_s * 1000)) <= 0)
		return;
	while (n + 1 < len && (r = read(fd, &c, 1)) == 1 && c != '\n')
		if (c != '\r')
			out[n++] = c;
	out[n] = '\0';
}

/* ---- pair ---- */

/*
 * The pairing URI or transfer code from standard input ("-") or a file:
 * one line, so that its secret is not on the command line, where every
 * local user can read it (ps, /proc/PID/cmdline) while the command runs.
 */
static int
read_uri(const char *path, int pair, char *out, size_t len)
{
	size_t n = 0;
	ssize_t r;
	int fd, rc = SKP_ERR_IO;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return SKP_ERR_IO;
	}
	while (n < len - 1 && (r = read(fd, out + n, len - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, PROG ": %s: %s\n", strcmp(path, "-") ==
			    0 ? "standard input" : path, strerror(errno));
			goto out;
		}
		n += (size_t)r;
		if (memchr(out, '\n', n) != NULL)
			break;
	}
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (out[0] == '\0' || n == len - 1) {
		fprintf(stderr, PROG ": %s: no %s (one line, "
		    "sk-phone://%s?...)\n", strcmp(path, "-") == 0 ?
		    "standard input" : path, pair ? "pairing URI" :
		    "transfer code", pair ? "pair" : "transfer");
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	rc = SKP_OK;
 out:
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

static void
default_name(char *out, size_t len)
{
	char host[HOST_NAME_MAX + 1];

	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) == 0 &&
	    skp_pairuri_check_name(host, strlen(host)) == SKP_OK)
		snprintf(out, len, "%s", host);
	else
		snprintf(out, len, "phone");
}

/*
 * A phone of protocol 1 gets a mailbox key pair when its identity is read
 * (phstate.c); save it now and say what it means for its computers.
 */
static int
mailbox_migrate(struct skp_phstate *st)
{
	char why[SKP_PH_WHY_MAX];
	int rc;

	if (!st->have_identity || !st->mailbox_migrated)
		return SKP_OK;
	if ((rc = skp_phstate_identity_set(st, NULL, NULL, why,
	    sizeof(why))) != SKP_OK) {
		die_why("identity", rc, why);
		return rc;
	}
	fprintf(stderr, PROG ": this phone now uses protocol 2 and has a new "
	    "mailbox on the relay (the old one cannot be listened on any "
	    "more): every computer paired before must pair again (run "
	    "'sk-phone pair' there and '" PROG " pair' here)\n");
	return SKP_OK;
}

#define CA_FILE_NAME	"relay-ca.pem"
#define CA_FILE_MAX	(256 * 1024)

/*
 * The CA file the relay's wss certificate is checked against: --ca FILE,
 * copied into the state folder as relay-ca.pem (so that later runs use
 * it without the flag), else that copy when there is one, else none
 * (out = "": the system's CAs). 0, or -1 after saying why.
 */
static int
relay_ca(const struct args *a, const char *dir, char *out, size_t outlen)
{
	char tmp[PATH_MAX];
	uint8_t *buf = NULL;
	size_t n = 0;
	ssize_t k;
	int in = -1, fd = -1, ret = -1;

	out[0] = '\0';
	if ((size_t)snprintf(out, outlen, "%s/" CA_FILE_NAME, dir) >=
	    outlen || (size_t)snprintf(tmp, sizeof(tmp), "%s/" CA_FILE_NAME
	    ".tmp", dir) >= sizeof(tmp)) {
		fprintf(stderr, PROG ": the state folder's path is too "
		    "long\n");
		goto out;
	}
	if (a->ca == NULL) {
		if (access(out, F_OK) != 0)
			out[0] = '\0';
		ret = 0;
		goto out;
	}
	if ((buf = malloc(CA_FILE_MAX)) == NULL)
		goto out;
	if ((in = open(a->ca, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, PROG ": --ca %s: cannot read it (%s): give "
		    "the CA certificate (PEM) that signed the relay's "
		    "certificate\n", a->ca, strerror(errno));
		goto out;
	}
	while ((k = read(in, buf + n, CA_FILE_MAX - n)) > 0)
		n += (size_t)k;
	if (k < 0 || n == 0 || n == CA_FILE_MAX) {
		fprintf(stderr, PROG ": --ca %s: %s\n", a->ca, k < 0 ?
		    strerror(errno) : n == 0 ? "the file is empty" :
		    "the file is too large for a CA certificate");
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0 ||
	    write(fd, buf, n) != (ssize_t)n || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, out) != 0) {
		fprintf(stderr, PROG ": cannot keep the CA file in %s: %s\n",
		    dir, strerror(errno));
		if (fd >= 0)
			(void)unlink(tmp);
		fd = -1;
		goto out;
	}
	fd = -1;
	ret = 0;
 out:
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	free(buf);
	if (ret != 0)
		out[0] = '\0';
	return ret;
}

/* Is every URL of small one of big's (and big longer)? */
static int
list_within(const char *small, const char *big)
{
	char url[SKP_RELAYURL_MAX + 1];
	size_t i, n = skp_relaylist_count(small);

	if (n == 0 || n >= skp_relaylist_count(big))
		return 0;
	for (i = 0; i < n; i++)
		if (skp_relaylist_get(small, i, url) != SKP_OK ||
		    !skp_relaylist_has(big, url))
			return 0;
	return 1;
}

/*
 * Why the handshake did not happen. The relay tells a code nobody waits
 * for (used, expired, altered) at once; the computer hangs up on a first
 * message it cannot read (a code with another computer's key).
 */
static void
say_handshake_failed(const skp_pairflow_t *pf, int rc, const char *comp)
{
	static const char again[] = "run `sk-phone pair` on the computer "
	    "again and scan the new code";
	unsigned int end = skp_pairflow_end_code(pf);

	if (end == SKP_RELAY_C_NO_RDV)
		fprintf(stderr, PROG ": %s: %s\n",
		    skp_relay_code_reason(end), again);
	else if (end == SKP_RELAY_C_HUNG_UP)
		fprintf(stderr, PROG ": the computer refused this phone's "
		    "first message: the pairing code was wrong or altered "
		    "(it holds another computer's key); nothing saved: %s\n",
		    again);
	else if (end == SKP_RELAY_C_PEER_GONE)
		fprintf(stderr, PROG ": the computer's sk-phone pair ended "
		    "before it answered (stopped, or the pairing code was "
		    "wrong or altered); nothing saved: %s\n", again);
	else if (rc == SKP_ERR_DECRYPT)
		fprintf(stderr, PROG ": the computer's answer does not "
		    "decrypt: the pairing code was wrong or altered; nothing "
		    "saved: %s\n", again);
	else if (rc == SKP_ERR_FORMAT)
		fprintf(stderr, PROG ": the computer's answer does not match "
		    "the pairing code (it is not named \"%s\" as the code "
		    "says, or its answer is malformed): the pairing code was "
		    "wrong or altered; nothing saved: %s\n", comp, again);
	else if (rc == SKP_ERR_TIMEOUT)
		fprintf(stderr, PROG ": the computer did not answer in time; "
		    "nothing saved: %s\n", again);
	else
		fprintf(stderr, PROG ": pairing failed: %s\n",
		    skp_strerror(rc));
}

/* "42 s" or "12 min": how far apart two clock readings are. */
static void
span_text(uint64_t secs, char *out, size_t outlen)
{
	if (secs < 120)
		snprintf(out, outlen, "%llu s", (unsigned long long)secs);
	else if (secs < 48 * 3600)
		snprintf(out, outlen, "%llu min",
		    (unsigned long long)((secs + 30) / 60));
	else
		snprintf(out, outlen, "%llu days",
		    (unsigned long long)((secs + 43200) / 86400));
}

/*
 * A code outside its window: one from the future can only mean that the
 * two clocks differ, and waiting or scanning again would not help.
 */
static void
say_stale(uint64_t created, uint64_t now)
{
	char span[32];

	if (created > now) {
		span_text(created - now, span, sizeof(span));
		fprintf(stderr, PROG ": this pairing code was made %s in the "
		    "future by this phone's clock: the computer's and the "
		    "phone's clocks differ by about %s; set the clocks right "
		    "(NTP), then pair again\n", span, span);
		return;
	}
	span_text(now - created, span, sizeof(span));
	fprintf(stderr, PROG ": this pairing code is %s old by this phone's "
	    "clock (a code is good for %d minutes): run sk-phone pair on the "
	    "computer again and scan the new code; if that one is refused "
	    "too, the clocks differ: set them right (NTP)\n", span,
	    SKP_PAIRURI_MAX_AGE / 60);
}

/*
 * Why the computer's confirmation did not come: its user said no (it hung
 * up), its sk-phone pair went away, or nothing came in time. Never
 * "rejected on the phone": this phone's user said yes.
 */
static void
say_not_confirmed(const skp_pairflow_t *pf, int confirmed, int rc,
    unsigned long timeout_s)
{
	unsigned int end = skp_pairflow_end_code(pf);

	if (!confirmed)
		fprintf(stderr, PROG ": not paired: not confirmed here; "
		    "nothing saved\n");
	else if (rc == SKP_ERR_REJECTED && end == SKP_RELAY_C_PEER_GONE)
		fprintf(stderr, PROG ": not paired: the computer gave up "
		    "(its sk-phone pair was stopped or lost the relay); "
		    "nothing saved: run `sk-phone pair` on the computer again "
		    "and scan the new code\n");
	else if (rc == SKP_ERR_REJECTED)
		fprintf(stderr, PROG ": not paired: the computer declined the "
		    "pairing (its user did not confirm the code, or it would "
		    "not replace another phone of this name); nothing saved\n");
	else if (rc == SKP_ERR_TIMEOUT)
		fprintf(stderr, PROG ": not paired: the computer gave up or "
		    "did not confirm within %lu s (nobody answered there); "
		    "nothing saved: run `sk-phone pair` on the computer again "
		    "and scan the new code\n", timeout_s);
	else
		fprintf(stderr, PROG ": not paired: %s; nothing saved\n",
		    skp_strerror(rc));
}

static int
cmd_pair(const struct args *a, const char *dir, const char *uri)
{
	struct skp_phstate *st = NULL;
	struct skp_pairuri pu;
	struct skp_pair_peer peer;
	struct skp_ph_computer comp, *old;
	skp_pairflow_t *pf = NULL;
	const char *listen_url;
	char why[SKP_PH_WHY_MAX], name[SKP_NAME_MAX + 1], answer[16];
	char comp_name[300], code[SKP_CONFIRM_CODE_LEN + 1], question[400];
	char ca[PATH_MAX];
	unsigned long timeout_s;
	int rc, confirmed;

	memset(&pu, 0, sizeof(pu));
	memset(&peer, 0, sizeof(peer));
	memset(&comp, 0, sizeof(comp));
	timeout_s = a->have_timeout ? a->timeout_s : PAIR_TIMEOUT_S;
	rc = SKP_ERR_TOO_LARGE;
	if (strlen(uri) > SKP_PAIRURI_MAX ||
	    (rc = skp_pairuri_parse(uri, strlen(uri), &pu)) != SKP_OK) {
		if (rc == SKP_ERR_OLD_VERSION)
			fprintf(stderr, PROG ": this pairing code is from an "
			    "older sk-phone (protocol 1): update sk-phone on "
			    "the computer, then run sk-phone pair again\n");
		else if (rc == SKP_ERR_VERSION)
			fprintf(stderr, PROG ": this pairing code is from a "
			    "newer sk-phone: update sk-phone-authenticator on "
			    "this phone\n");
		else
			fprintf(stderr, PROG ": not an sk-phone pairing "
			    "URI\n");
		rc = SKP_ERR_FORMAT;
		goto out;
	}
	if ((rc = skp_pairuri_check_fresh(&pu, now_s())) != SKP_OK) {
		say_stale(pu.created, now_s());
		goto out;
	}
	skp_sshmsg_printable(pu.name, comp_name, sizeof(comp_name));
	if ((rc = skp_phstate_open(dir, a->passfile, 1, &st, why,
	    sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		goto out;
	}
	if ((rc = mailbox_migrate(st)) != SKP_OK)
		goto out;
	/* Refused now rather than after both sides confirmed. */
	if ((old = skp_phstate_computer_find(st, pu.name)) != NULL &&
	    memcmp(old->pub, pu.computer_pub, sizeof(old->pub)) != 0) {
		fprintf(stderr, PROG ": another computer named \"%s\" is "
		    "paired: unpair it first\n", comp_name);
		rc = SKP_ERR_EXISTS;
		goto out;
	}
	if (!st->have_identity || a->name != NULL) {
		if (a->name != NULL)
			snprintf(name, sizeof(name), "%s", a->name);
		else
			default_name(name, sizeof(name));
		if ((rc = skp_phstate_identity_set(st, name, NULL, why,
		    sizeof(why))) != SKP_OK) {
			die_why("identity", rc, why);
			goto out;
		}
	}
	/*
	 * The phone listens where it was told, else where it paired; a URI
	 * that lists more URLs of that same relay (all of the saved ones
	 * among them) gives its list.
	 */
	listen_url = a->relay != NULL ? a->relay :
	    st->relay[0] != '\0' && !list_within(st->relay, pu.relay) ?
	    st->relay : pu.relay;
	if ((rc = skp_pairflow_phone_new(uri, &st->identity, st->name,
	    st->mailbox_id, listen_url, 0, &pf)) != SKP_OK) {
		fprintf(stderr, PROG ": %s\n", skp_strerror(rc));
		goto out;
	}
	if (relay_ca(a, dir, ca, sizeof(ca)) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if (ca[0] != '\0' && (rc = skp_pairflow_set_ca(pf, ca)) != SKP_OK) {
		fprintf(stderr, PROG ": %s\n", skp_strerror(rc));
		goto out;
	}
	printf("pairing with computer \"%s\" via %s ...\n", comp_name,
	    pu.relay);
	fflush(stdout);
	if ((rc = skp_pairflow_handshake(pf, (int)timeout_s * 1000)) !=
	    SKP_OK && (rc == SKP_ERR_TLS || rc == SKP_ERR_IO)) {
		skp_serve_tls_say(pu.relay, ca[0] != '\0' ? ca : NULL, rc);
		audit(dir, pu.name, "pair", "pair-failed");
		goto out;
	} else if (rc != SKP_OK) {
		say_handshake_failed(pf, rc, comp_name);
		audit(dir, pu.name, "pair", "pair-failed");
		goto out;
	}
	snprintf(code, sizeof(code), "%s", skp_pairflow_code(pf));
	printf("confirmation code: %.3s %.3s\n", code, code + 3);
	if (a->yes) {
		confirmed = 1;
		printf("confirmed (--yes)\n");
	} else {
		snprintf(question, sizeof(question), "does computer \"%s\" "
		    "show the same code? [y/N] ", comp_name);
		ask_line(STDIN_FILENO, 1, question, answer, sizeof(answer),
		    timeout_s);
		confirmed = strcmp(answer, "y") == 0 ||
		    strcmp(answer, "yes") == 0;
	}
	fflush(stdout);
	rc = skp_pairflow_finish(pf, confirmed, (int)timeout_s * 1000, &peer);
	if (rc != SKP_OK) {
		say_not_confirmed(pf, confirmed, rc, timeout_s);
		audit(dir, pu.name, "pair", confirmed ? "pair-not-confirmed" :
		    "pair-declined");
		goto out;
	}
	snprintf(comp.name, sizeof(comp.name), "%s", peer.name);
	memcpy(comp.pub, peer.static_pub, sizeof(comp.pub));
	memcpy(comp.psk, peer.request_psk, sizeof(comp.psk));
	comp.paired_at = peer.paired_at;
	if ((rc = skp_phstate_computer_put(st, &comp, why, sizeof(why))) !=
	    SKP_OK) {
		die_why("computers", rc, why);
		goto out;
	}
	if ((st->relay[0] == '\0' || (listen_url == pu.relay &&
	    strcmp(st->relay, listen_url) != 0)) &&
	    (rc = skp_phstate_identity_set(st, NULL, listen_url, why,
	    sizeof(why))) != SKP_OK) {
		die_why("identity", rc, why);
		goto out;
	}
	audit(dir, peer.name, "pair", "paired");
	printf("paired with computer \"%s\"\n", comp_name);
 out:
	skp_wipe(&peer, sizeof(peer));
	skp_wipe(&comp, sizeof(comp));
	skp_pairuri_clear(&pu);
	skp_pairflow_free(&pf);
	skp_phstate_free(&st);
	return rc == SKP_OK ? 0 : 1;
}

/* ---- transfer and receive: the state moves to another phone ---- */

#define TRANSFER_NOTICE \
	"This is the one time a private key leaves a phone: by its owner's " \
	"choice,\nto the owner's other phone. Everything this phone is " \
	"moves: its SSH keys,\nits identity and mailbox, its paired " \
	"computers, host pins and CAs.\n"

#ifdef SKP_TEST_HOOKS
/*
 * Only in sk-phone-authenticator-test: die at a named point of a
 * transfer, as a phone whose battery ran out, for the tests of an
 * interrupted transfer.
 */
static void
test_stop(const char *point)
{
	const char *e = getenv("SKP_TEST_TRANSFER_STOP");

	if (e != NULL && strcmp(e, point) == 0) {
		printf("TEST ONLY: killed at %s (SKP_TEST_TRANSFER_STOP)\n",
		    point);
		fflush(stdout);
		(void)raise(SIGKILL);
	}
}
#else
#define test_stop(point)	do { } while (0)
#endif

/*
 * Why a transfer step failed, from the relay's END when there is one. A
 * hang-up during the handshake is the old phone refusing a first message
 * it could not read: a wrong or altered code.
 */
static void
say_transfer_failed(const skp_transfer_t *tf, int rc, const char *other,
    const char *outcome, int handshake)
{
	unsigned int end = skp_transfer_end_code(tf);

	if (end == SKP_RELAY_C_HUNG_UP && handshake)
		fprintf(stderr, PROG ": %s refused this phone's first "
		    "message: the transfer code was wrong or altered; %s\n",
		    other, outcome);
	else if (end == SKP_RELAY_C_NO_RDV)
		fprintf(stderr, PROG ": %s: run " PROG " transfer on the old "
		    "phone again and take its new code; %s\n",
		    skp_relay_code_reason(end), outcome);
	else if (end == SKP_RELAY_C_HUNG_UP)
		fprintf(stderr, PROG ": %s declined (its owner did not "
		    "confirm the code, or it refused what came); %s\n",
		    other, outcome);
	else if (end == SKP_RELAY_C_PEER_GONE)
		fprintf(stderr, PROG ": %s went away (stopped, or lost the "
		    "relay); %s\n", other, outcome);
	else if (rc == SKP_ERR_DECRYPT)
		fprintf(stderr, PROG ": %s's message does not decrypt: the "
		    "transfer code was wrong or altered; %s\n", other, outcome);
	else if (rc == SKP_ERR_TIMEOUT)
		fprintf(stderr, PROG ": %s did not answer in time; %s\n",
		    other, outcome);
	else
		fprintf(stderr, PROG ": transfer failed (%s); %s\n",
		    skp_strerror(rc), outcome);
}

/* run.lock for the whole transfer: no run answers while it moves. */
static int
transfer_lock(struct skp_phstate *st, int *runfd)
{
	char why[SKP_PH_WHY_MAX];
	long pid = 0;
	int rc;

	if ((rc = skp_phstate_run_lock(st, runfd, &pid, why, sizeof(why))) ==
	    SKP_ERR_EXISTS)
		fprintf(stderr, PROG ": " PROG " run (pid %ld) is serving "
		    "this phone's state (%s): stop it first; a transfer needs "
		    "the phone to itself\n", pid, st->dir);
	else if (rc != SKP_OK)
		die_why("run.lock", rc, why);
	return rc;
}

static int
ask_code(const struct args *a, const char *code, const char *question,
    unsigned long timeout_s)
{
	char answer[16];

	printf("transfer code: %.3s %.3s\n", code, code + 3);
	if (a->yes) {
		printf("confirmed (--yes)\n");
		fflush(stdout);
		return 1;
	}
	ask_line(STDIN_FILENO, 1, question, answer, sizeof(answer),
	    timeout_s);
	return strcmp(answer, "y") == 0 || strcmp(answer, "yes") == 0;
}

/* The end of transfer and receive, whatever happened: the exit status. */
static int
transfer_end(int rc, uint8_t *payload, size_t plen, skp_transfer_t **tf,
    int runfd, struct skp_phstate **st)
{
	if (payload != NULL) {
		skp_wipe(payload, plen);
		free(payload);
	}
	skp_transfer_free(tf);
	if (runfd >= 0)
		close(runfd);
	skp_phstate_free(st);
	return rc == SKP_OK ? 0 : 1;
}

static int
cmd_transfer(const struct args *a, const char *dir)
{
	struct skp_phstate *st = NULL;
	skp_transfer_t *tf = NULL;
	uint8_t *payload = NULL, digest[SKP_TRANSFER_DIGEST_LEN];
	const char *keep = "this phone keeps its state: nothing changed "
	    "here";
	char why[SKP_PH_WHY_MAX], ca[PATH_MAX], relay[SKP_RELAYURL_MAX + 1];
	unsigned long timeout_s;
	size_t plen = 0;
	int rc, runfd = -1, tms, wrote = 0;

	timeout_s = a->have_timeout ? a->timeout_s : PAIR_TIMEOUT_S;
	tms = (int)timeout_s * 1000;
	if ((rc = skp_phstate_open(dir, a->passfile, 0, &st, why,
	    sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		goto out;
	}
	if ((rc = transfer_lock(st, &runfd)) != SKP_OK)
		goto out;
	if (!st->have_identity) {
		fprintf(stderr, PROG ": nothing to move: this phone was never "
		    "paired (%s)\n", dir);
		rc = SKP_ERR_NOT_PAIRED;
		goto out;
	}
	if ((rc = mailbox_migrate(st)) != SKP_OK)
		goto out;
	/* The rendezvous is at one URL: the first of the relay's list. */
	if (skp_relaylist_get(a->relay != NULL ? a->relay : st->relay, 0,
	    relay) != SKP_OK || relay[0] == '\0') {
		fprintf(stderr, PROG ": this phone has no relay yet: give "
		    "--relay URL\n");
		rc = SKP_ERR_INVALID;
		goto out;
	}
	if (relay_ca(a, dir, ca, sizeof(ca)) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if ((rc = skp_transfer_old_new(relay, st->name, &tf)) != SKP_OK ||
	    (ca[0] != '\0' && (rc = skp_transfer_set_ca(tf, ca)) != SKP_OK)) {
		fprintf(stderr, PROG ": %s\n", skp_strerror(rc));
		goto out;
	}
	/* At the rendezvous first: the new phone never arrives before. */
	if ((rc = skp_transfer_open(tf, tms)) != SKP_OK) {
		if (rc == SKP_ERR_TLS || rc == SKP_ERR_IO)
			skp_serve_tls_say(relay, ca[0] != '\0' ? ca : NULL, rc);
		else
			fprintf(stderr, PROG ": cannot wait at the relay %s: "
			    "%s\n", relay, skp_strerror(rc));
		goto out;
	}
	printf("%s\nOn the new phone run `" PROG " receive -` and give it "
	    "this code\n(scan it, or paste the line under it) within %lu "
	    "s:\n\n", TRANSFER_NOTICE, timeout_s);
	(void)skp_qr_draw(stdout, skp_transfer_uri(tf), isatty(STDOUT_FILENO));
	printf("\n%s\n\n", skp_transfer_uri(tf));
	fflush(stdout);
	if (a->urifile != NULL) {
		if (skp_file_write_private(a->urifile,
		    skp_transfer_uri(tf)) != SKP_OK) {
			fprintf(stderr, PROG ": --uri-file %s: %s\n", a->urifile,
			    strerror(errno));
			rc = SKP_ERR_IO;
			goto out;
		}
		wrote = 1;
	}
	if ((rc = skp_transfer_handshake(tf, tms)) != SKP_OK) {
		say_transfer_failed(tf, rc, "the new phone", keep, 1);
		audit(dir, NULL, "transfer", "failed");
		goto out;
	}
	if (!ask_code(a, skp_transfer_code(tf), "does the new phone show "
	    "the same code? Its owner gets this phone's keys. [y/N] ",
	    timeout_s)) {
		(void)skp_transfer_decline(tf);
		fprintf(stderr, PROG ": not moved: not confirmed here; %s\n",
		    keep);
		audit(dir, NULL, "transfer", "reject");
		rc = SKP_ERR_REJECTED;
		goto out;
	}
	if ((rc = skp_transfer_wait_ready(tf, tms)) != SKP_OK) {
		say_transfer_failed(tf, rc, "the new phone", keep, 0);
		audit(dir, NULL, "transfer", "failed");
		goto out;
	}
	test_stop("old-ready");
	if ((rc = skp_phstate_export(st, now_s(), &payload, &plen, why,
	    sizeof(why))) != SKP_OK ||
	    (rc = skp_sha256(payload, plen, digest)) != SKP_OK) {
		(void)skp_transfer_decline(tf);
		die_why("state", rc, why);
		goto out;
	}
	printf("sending this phone's state (%zu bytes) ...\n", plen);
	fflush(stdout);
	if ((rc = skp_transfer_send(tf, payload, plen, tms)) != SKP_OK) {
		say_transfer_failed(tf, rc, "the new phone", keep, 0);
		audit(dir, NULL, "transfer", "failed");
		goto out;
	}
	test_stop("old-sent");
	/* The commit: from here on this folder is no phone. */
	if ((rc = skp_phstate_moved(st, digest, now_s(), why,
	    sizeof(why))) != SKP_OK) {
		die_why("moved", rc, why);
		fprintf(stderr, PROG ": this phone could not mark itself as "
		    "moved, so it keeps its state; the new phone keeps a copy "
		    "it does not use: run " PROG " receive --discard there\n");
		goto out;
	}
	audit(dir, NULL, "transfer", "moved");
	test_stop("old-moved");
	if ((rc = skp_transfer_done(tf, tms)) != SKP_OK)
		fprintf(stderr, PROG ": the new phone did not confirm that it "
		    "heard the end (%s): if it says the transfer stopped, run "
		    PROG " receive --finish there\n", skp_strerror(rc));
	printf("moved: this phone's state is on the new phone now; this "
	    "phone holds no keys and answers no computer\n");
	rc = SKP_OK;
 out:
	if (wrote)
		(void)unlink(a->urifile);
	return transfer_end(rc, payload, plen, &tf, runfd, &st);
}

/* What a URI that is no transfer code is, and what to do. */
static void
say_bad_transfer_uri(const char *uri, int rc)
{
	struct skp_transferuri u;
	char span[32];
	uint64_t now = now_s();

	if (rc == SKP_ERR_VERSION)
		fprintf(stderr, PROG ": this transfer code is from a newer "
		    "sk-phone-authenticator: update it on this phone\n");
	else if (rc == SKP_ERR_EXPIRED &&
	    skp_transferuri_parse(uri, strlen(uri), &u) == SKP_OK) {
		span_text(u.created > now ? u.created - now : now - u.created,
		    span, sizeof(span));
		fprintf(stderr, PROG ": this transfer code was made %s %s by "
		    "this phone's clock (a code is good for %d minutes): run "
		    PROG " transfer on the old phone again; if the new code "
		    "is refused too, set the clocks right (NTP)\n", span,
		    u.created > now ? "in the future" : "ago",
		    SKP_PAIRURI_MAX_AGE / 60);
	} else if (strncmp(uri, "sk-phone://pair?", 16) == 0)
		fprintf(stderr, PROG ": this is a pairing code (sk-phone "
		    "pair), not a transfer code: give it to " PROG " pair\n");
	else
		fprintf(stderr, PROG ": not a transfer code (sk-phone://"
		    "transfer?...): run " PROG " transfer on the old phone and "
		    "give its code\n");
}

/* The pending state put in place; the phone is the old one from now on. */
static int
receive_import(const char *dir, struct skp_phstate *st, const uint8_t *p,
    size_t n)
{
	char why[SKP_PH_WHY_MAX], name[300];
	int rc;

	if ((rc = skp_phstate_import(st, p, n, why, sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		return rc;
	}
	if ((rc = skp_phstate_pending_remove(st, why, sizeof(why))) !=
	    SKP_OK)
		die_why("transfer-pending", rc, why);
	audit(dir, NULL, "receive", "received");
	skp_sshmsg_printable(st->name, name, sizeof(name));
	printf("received: this phone is phone \"%s\" now, with %zu key%s "
	    "and %zu paired computer%s; start it with " PROG " run\n", name,
	    st->ncreds, st->ncreds == 1 ? "" : "s", st->ncomputers,
	    st->ncomputers == 1 ? "" : "s");
	return rc;
}

/* receive --finish / --discard: the pending state of a cut transfer. */
static int
cmd_receive_pending(const struct args *a, const char *dir, int finish)
{
	struct skp_phstate *st = NULL;
	uint8_t *p = NULL;
	size_t n = 0;
	char why[SKP_PH_WHY_MAX];
	int rc, runfd = -1;

	if ((rc = skp_phstate_open(dir, a->passfile, 0, &st, why,
	    sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		goto out;
	}
	if ((rc = transfer_lock(st, &runfd)) != SKP_OK)
		goto out;
	if (!skp_phstate_pending_exists(dir)) {
		fprintf(stderr, PROG ": no unfinished transfer here (%s)\n",
		    dir);
		rc = SKP_ERR_NOT_FOUND;
		goto out;
	}
	if (!finish) {
		if ((rc = skp_phstate_pending_remove(st, why, sizeof(why))) !=
		    SKP_OK) {
			die_why("transfer-pending", rc, why);
			goto out;
		}
		audit(dir, NULL, "receive", "cancelled");
		printf("discarded: the state of the unfinished transfer is "
		    "gone from this phone; the old phone keeps its own\n");
		goto out;
	}
	if ((rc = skp_phstate_pending_load(st, &p, &n, why, sizeof(why))) !=
	    SKP_OK) {
		die_why("transfer-pending", rc, why);
		goto out;
	}
	rc = receive_import(dir, st, p, n);
 out:
	if (p != NULL) {
		skp_wipe(p, n);
		free(p);
	}
	if (runfd >= 0)
		close(runfd);
	skp_phstate_free(&st);
	return rc == SKP_OK ? 0 : 1;
}

static int
cmd_receive(const struct args *a, const char *dir, const char *uri)
{
	struct skp_phstate *st = NULL, *check = NULL;
	skp_transfer_t *tf = NULL;
	uint8_t *payload = NULL;
	const char *nothing = "nothing saved here; the old phone keeps its "
	    "state";
	char why[SKP_PH_WHY_MAX], ca[PATH_MAX], name[300], question[400];
	unsigned long timeout_s;
	size_t plen = 0;
	int rc, runfd = -1, tms;

	timeout_s = a->have_timeout ? a->timeout_s : PAIR_TIMEOUT_S;
	tms = (int)timeout_s * 1000;
	/* The code first, before any file or network. */
	if ((rc = skp_transfer_new_new(uri, 0, &tf)) != SKP_OK) {
		say_bad_transfer_uri(uri, rc);
		goto out;
	}
	if ((rc = skp_phstate_open(dir, a->passfile, 1, &st, why,
	    sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		goto out;
	}
	if ((rc = transfer_lock(st, &runfd)) != SKP_OK)
		goto out;
	if (skp_phstate_pending_exists(dir)) {
		fprintf(stderr, PROG ": a transfer stopped here before it "
		    "finished (%s/transfer-pending): settle it first with "
		    PROG " receive --finish or --discard\n", dir);
		rc = SKP_ERR_EXISTS;
		goto out;
	}
	if (!skp_phstate_is_empty(st)) {
		fprintf(stderr, PROG ": this phone has a state already (%s): "
		    "a transfer would replace it; receive into an empty "
		    "folder (--state DIR)\n", dir);
		rc = SKP_ERR_EXISTS;
		goto out;
	}
	if (relay_ca(a, dir, ca, sizeof(ca)) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	if (ca[0] != '\0' && (rc = skp_transfer_set_ca(tf, ca)) != SKP_OK) {
		fprintf(stderr, PROG ": %s\n", skp_strerror(rc));
		goto out;
	}
	printf("%s\nreceiving a phone's state ...\n", TRANSFER_NOTICE);
	fflush(stdout);
	if ((rc = skp_transfer_handshake(tf, tms)) != SKP_OK) {
		if (rc == SKP_ERR_TLS || rc == SKP_ERR_IO)
			skp_serve_tls_say("the relay of the transfer code",
			    ca[0] != '\0' ? ca : NULL, rc);
		else
			say_transfer_failed(tf, rc, "the old phone", nothing,
			    1);
		goto out;
	}
	skp_sshmsg_printable(skp_transfer_peer_name(tf), name, sizeof(name));
	printf("from phone \"%s\"\n", name);
	snprintf(question, sizeof(question), "does phone \"%s\" show the same "
	    "code? This phone then takes over its keys. [y/N] ", name);
	if (!ask_code(a, skp_transfer_code(tf), question, timeout_s)) {
		(void)skp_transfer_decline(tf);
		fprintf(stderr, PROG ": not received: not confirmed here; "
		    "%s\n", nothing);
		rc = SKP_ERR_REJECTED;
		goto out;
	}
	if ((rc = skp_transfer_receive(tf, tms, &payload, &plen)) !=
	    SKP_OK) {
		say_transfer_failed(tf, rc, "the old phone", nothing, 0);
		goto out;
	}
	/* Checked whole before the old phone hears that it arrived. */
	if ((check = calloc(1, sizeof(*check))) == NULL) {
		rc = SKP_ERR_NOMEM;
		goto out;
	}
	if ((rc = skp_phstate_payload_decode(check, payload, plen, NULL)) !=
	    SKP_OK) {
		(void)skp_transfer_decline(tf);
		fprintf(stderr, PROG ": the state received does not decode "
		    "(%s); %s\n", skp_strerror(rc), nothing);
		goto out;
	}
	test_stop("new-received");
	if ((rc = skp_phstate_pending_save(st, payload, plen, why,
	    sizeof(why))) != SKP_OK) {
		(void)skp_transfer_decline(tf);
		die_why("transfer-pending", rc, why);
		fprintf(stderr, PROG ": %s\n", nothing);
		goto out;
	}
	test_stop("new-pending");
	if ((rc = skp_transfer_received(tf, tms)) != SKP_OK) {
		fprintf(stderr, PROG ": the transfer stopped after this phone "
		    "received the state, before the old phone said it let go "
		    "of it (%s). Look at the old phone: if it says its state "
		    "was moved, run " PROG " receive --finish here; if it "
		    "still works, run " PROG " receive --discard here\n",
		    skp_strerror(rc));
		goto out;
	}
	rc = receive_import(dir, st, payload, plen);
 out:
	skp_phstate_free(&check);
	return transfer_end(rc, payload, plen, &tf, runfd, &st);
}

/* ---- run ---- */

static int
read_pin_file(const char *path, char *pin, size_t len)
{
	ssize_t n;
	int fd, rc = SKP_ERR_INVALID;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return SKP_ERR_IO;
	}
	n = read(fd, pin, len - 1);
	close(fd);
	if (n < 0)
		return SKP_ERR_IO;
	pin[n] = '\0';
	pin[strcspn(pin, "\r\n")] = '\0';
	if (strlen(pin) >= PIN_MIN && strlen(pin) <= SKP_CTAP_PIN_MAX)
		rc = SKP_OK;
	else
		fprintf(stderr, PROG ": %s: a PIN has %d to %d characters\n",
		    path, PIN_MIN, SKP_CTAP_PIN_MAX);
	return rc;
}

static int
ask_pin(char *pin, size_t len)
{
	struct termios old, quiet;
	char again[SKP_CTAP_PIN_MAX + 2];
	int rc = SKP_ERR_INVALID, fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		fprintf(stderr, PROG ": --ask-pin needs a terminal\n");
		return SKP_ERR_IO;
	}
	if (tcgetattr(fd, &old) != 0)
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	ask_line(fd, 1, "PIN for this session: ", pin, len, 120);
	ask_line(fd, 0, "\nagain: ", again, sizeof(again), 120);
	dprintf(fd, "\n");
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (strcmp(pin, again) != 0)
		fprintf(stderr, PROG ": the PINs differ\n");
	else if (strlen(pin) < PIN_MIN || strlen(pin) > SKP_CTAP_PIN_MAX)
		fprintf(stderr, PROG ": a PIN has %d to %d characters\n",
		    PIN_MIN, SKP_CTAP_PIN_MAX);
	else
		rc = SKP_OK;
 out:
	skp_wipe(again, sizeof(again));
	close(fd);
	return rc;
}

static int
cmd_run(const struct args *a, const char *dir)
{
	struct skp_phstate *st = NULL;
	struct skp_serve_opts o;
	struct skp_handler h;
#ifdef SKP_TEST_HOOKS
	const char *env;
#endif
	char why[SKP_PH_WHY_MAX], ca[PATH_MAX], pidtext[32];
	long pid = 0;
	int rc, ttyfd = -1, runfd = -1;

	memset(&h, 0, sizeof(h));
	memset(&o, 0, sizeof(o));
	o.audit_dirfd = -1;
	if ((rc = skp_phstate_open(dir, a->passfile, 0, &st, why,
	    sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		goto out;
	}
	/*
	 * Two runs on one state would take the mailbox from each other at
	 * the relay: the second is refused here, for run's whole life.
	 */
	if ((rc = skp_phstate_run_lock(st, &runfd, &pid, why,
	    sizeof(why))) == SKP_ERR_EXISTS) {
		if (pid > 0)
			snprintf(pidtext, sizeof(pidtext), " (pid %ld)", pid);
		else
			pidtext[0] = '\0';
		fprintf(stderr, PROG ": another " PROG " run%s is already "
		    "serving this phone's state (%s): stop it first, or use "
		    "--state for another phone\n", pidtext, st->dir);
		goto out;
	} else if (rc != SKP_OK) {
		die_why("run", rc, why);
		goto out;
	}
	if (!st->have_identity) {
		fprintf(stderr, PROG ": not paired yet: run " PROG
		    " pair URI first\n");
		rc = SKP_ERR_NOT_PAIRED;
		goto out;
	}
	if ((rc = mailbox_migrate(st)) != SKP_OK)
		goto out;
	h.st = st;
	h.unknown_ca_refuse = a->unknown_ca_refuse;
	if (a->pinfile != NULL) {
		if ((rc = read_pin_file(a->pinfile, h.pin, sizeof(h.pin))) !=
		    SKP_OK)
			goto out;
		h.have_pin = 1;
	} else if (a->ask_pin) {
		if ((rc = ask_pin(h.pin, sizeof(h.pin))) != SKP_OK)
			goto out;
		h.have_pin = 1;
	}
	o.approve = a->approve;
	o.window_s = a->window_h * 3600;
#ifdef SKP_TEST_HOOKS
	/*
	 * Only in sk-phone-authenticator-test, the build the tests run: a
	 * window of seconds, so tests can watch one expire, and a shorter
	 * freshness limit, so they can make a held request go stale.
	 */
	if ((env = getenv("SKP_TEST_WINDOW_SECONDS")) != NULL &&
	    strtoul(env, NULL, 10) > 0) {
		o.window_s = strtoul(env, NULL, 10);
		printf("TEST ONLY: the allow window lasts %llu seconds "
		    "(SKP_TEST_WINDOW_SECONDS)\n",
		    (unsigned long long)o.window_s);
	}
	if ((env = getenv("SKP_TEST_AUDIT_MAX_BYTES")) != NULL &&
	    strtoul(env, NULL, 10) > 0) {
		o.audit_max_bytes = strtoul(env, NULL, 10);
		printf("TEST ONLY: the audit log is rotated past %llu bytes "
		    "(SKP_TEST_AUDIT_MAX_BYTES)\n",
		    (unsigned long long)o.audit_max_bytes);
	}
	if ((env = getenv("SKP_TEST_FRESHNESS_MS")) != NULL &&
	    strtoul(env, NULL, 10) > 0) {
		h.fresh_ms = strtoul(env, NULL, 10);
		printf("TEST ONLY: requests older than %llu ms are refused "
		    "(SKP_TEST_FRESHNESS_MS)\n",
		    (unsigned long long)h.fresh_ms);
	}
	/* A phone from before response key 6, or one never content. */
	if ((env = getenv("SKP_TEST_STALE")) != NULL &&
	    strcmp(env, "no-time") == 0) {
		h.test_stale = SKP_HANDLE_STALE_NO_TIME;
		printf("TEST ONLY: stale refusals carry no phone time "
		    "(SKP_TEST_STALE=no-time)\n");
	} else if (env != NULL && strcmp(env, "always") == 0) {
		h.test_stale = SKP_HANDLE_STALE_ALWAYS;
		printf("TEST ONLY: every request is refused as stale "
		    "(SKP_TEST_STALE=always)\n");
	}
#endif
	o.prompt_ms = (a->have_timeout ? a->timeout_s : PROMPT_TIMEOUT_S) *
	    1000;
	o.relay = a->relay;
	if (relay_ca(a, dir, ca, sizeof(ca)) != 0) {
		rc = SKP_ERR_IO;
		goto out;
	}
	o.ca_file = ca[0] != '\0' ? ca : NULL;
	o.silent_ms = (a->silent_s > 0 ? a->silent_s : SKP_SERVE_SILENT_MS /
	    1000) * 1000;
	o.no_touch_ask = a->no_touch_ask;
	o.tty_in = o.tty_out = -1;
	if (o.approve == SKP_APPROVE_ALWAYS)
		printf("WARNING: --approve always: every request from a paired "
		    "computer is signed without asking (for tests and demos "
		    "only)\n");
	else if (o.approve == SKP_APPROVE_NEVER)
		printf("WARNING: --approve never: every request is rejected "
		    "(for tests and demos only)\n");
	else {
		if ((ttyfd = open("/dev/tty", O_RDWR | O_CLOEXEC |
		    O_NOCTTY)) >= 0)
			o.tty_in = o.tty_out = ttyfd;
		else
			fprintf(stderr, PROG ": no terminal: every request "
			    "that needs approval will be rejected\n");
	}
	if ((o.audit_dirfd = open_dirfd(dir)) < 0) {
		rc = SKP_ERR_IO;
		fprintf(stderr, PROG ": %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (!h.have_pin)
		printf("no PIN: requests for user verification will be "
		    "refused\n");
	fflush(stdout);
	rc = skp_serve(&h, &o);
 out:
	if (o.audit_dirfd >= 0)
		close(o.audit_dirfd);
	if (ttyfd >= 0)
		close(ttyfd);
	if (runfd >= 0)
		close(runfd);
	skp_wipe(&h, sizeof(h));
	skp_phstate_free(&st);
	return rc == SKP_OK ? 0 : 1;
}

/* ---- the small commands ---- */

static void
date_text(uint64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "?");
}

static int
cmd_computers(struct skp_phstate *st)
{
	const struct skp_ph_computer *c;
	char name[300], when[32], until[32], ns[600];
	uint64_t now = now_s();
	size_t i, j;

	for (i = 0; i < st->ncomputers; i++) {
		c = &st->computers[i];
		skp_sshmsg_printable(c->name, name, sizeof(name));
		date_text(c->paired_at, when, sizeof(when));
		printf("\"%s\" paired %s", name, when);
		if (c->window_until > now) {
			date_text(c->window_until, until, sizeof(until));
			printf(", verified logins to pinned hosts");
			for (j = 0; j < c->nwin_ns; j++) {
				skp_sshmsg_printable(c->win_ns[j], ns,
				    sizeof(ns));
				printf("%s'%s'", j == 0 ? " and signatures of "
				    "namespace " : ", ", ns);
			}
			printf(" allowed until %s", until);
		}
		printf("\n");
	}
	if (st->ncomputers == 0)
		printf("no paired computers\n");
	return 0;
}

static int
cmd_keys(struct skp_phstate *st)
{
	const struct skp_ph_cred *c;
	char id[2 * SKP_PH_CRED_ID_LEN + 1], fp[64], rp[600], user[300];
	char made[300], when[32];
	size_t i;

	for (i = 0; i < st->ncreds; i++) {
		c = &st->creds[i];
		skp_hex(c->id, sizeof(c->id), id);
		if (skp_phstate_fingerprint(c, fp, sizeof(fp)) != SKP_OK)
			snprintf(fp, sizeof(fp), "?");
		skp_sshmsg_printable(c->rp, rp, sizeof(rp));
		skp_sshmsg_printable(c->user_name, user, sizeof(user));
		skp_sshmsg_printable(c->made_for, made, sizeof(made));
		date_text(c->created, when, sizeof(when));
		printf("%s %s application=%s user=\"%s\" %s%scounter=%u "
		    "made-for=\"%s\" created=%s type=%s\n", id, fp, rp, user,
		    c->resident ? "resident " : "",
		    c->cred_protect == 3 ? "verify-required " : "",
		    c->counter, made, when, c->alg == SKP_COSE_ALG_EDDSA ?
		    "ed25519-sk" : "ecdsa-sk");
	}
	if (st->ncreds == 0)
		printf("no keys\n");
	return 0;
}

static int
cmd_hosts(struct skp_phstate *st)
{
	const struct skp_ph_host *h;
	const struct skp_ph_host_window *w;
	char name[300], by[300], comp[300], fp[SKP_HOSTKEY_FP_LEN];
	char when[32], until[32];
	uint64_t now = now_s();
	size_t i, j, k;

	for (i = 0; i < st->nhosts; i++) {
		h = &st->hosts[i];
		skp_sshmsg_printable(h->name, name, sizeof(name));
		skp_sshmsg_printable(h->pinned_by, by, sizeof(by));
		if (skp_hostkey_fingerprint(h->key, h->key_len, fp) != SKP_OK)
			snprintf(fp, sizeof(fp), "?");
		date_text(h->pinned_at, when, sizeof(when));
		printf("%s %s %s pinned %s by \"%s\"\n", name, h->type, fp,
		    when, by);
		/* Its open windows, once, under its first key. */
		for (j = 0; j < i; j++)
			if (strcmp(st->hosts[j].name, h->name) == 0)
				break;
		for (k = 0; j == i && k < st->nhwins; k++) {
			w = &st->hwins[k];
			if (strcmp(w->host, h->name) != 0 || w->until <= now)
				continue;
			skp_sshmsg_printable(w->computer, comp, sizeof(comp));
			date_text(w->until, until, sizeof(until));
			printf("  logins from \"%s\" allowed until %s\n",
			    comp, until);
		}
	}
	if (st->nhosts == 0)
		printf("no pinned host keys\n");
	for (i = 0; i < st->ncas; i++) {
		skp_sshmsg_printable(st->cas[i].pattern, name, sizeof(name));
		if (skp_hostkey_fingerprint(st->cas[i].key,
		    st->cas[i].key_len, fp) != SKP_OK)
			snprintf(fp, sizeof(fp), "?");
		date_text(st->cas[i].added_at, when, sizeof(when));
		printf("CA %s %s trusted for %s since %s\n", st->cas[i].type,
		    fp, name, when);
	}
	if (st->ncas == 0)
		printf("no trusted host CAs\n");
	return 0;
}

#define CA_PUBKEY_MAX	(64 * 1024)

/*
 * An OpenSSH public key file: one line "TYPE BASE64 [COMMENT]" (blank
 * lines and # comments around it), TYPE the blob's own.
 */
static int
read_pubkey(const char *path, uint8_t *key, size_t keymax, size_t *keylen)
{
	char *buf = NULL, *line, *save = NULL, *type, *b64, *end;
	const char *t;
	size_t n = 0, blen, pad, found = 0;
	ssize_t r;
	int fd = -1, rc = SKP_ERR_FORMAT, dn;

	if ((buf = calloc(1, CA_PUBKEY_MAX + 1)) == NULL)
		return SKP_ERR_NOMEM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		rc = SKP_ERR_IO;
		goto out;
	}
	while (n < CA_PUBKEY_MAX + 1 &&
	    (r = read(fd, buf + n, CA_PUBKEY_MAX + 1 - n)) > 0)
		n += (size_t)r;
	if (n > CA_PUBKEY_MAX || memchr(buf, '\0', n) != NULL) {
		fprintf(stderr, PROG ": %s: not an OpenSSH public key file "
		    "(too large, or not text)\n", path);
		goto out;
	}
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t\r");
		if (*line == '\0' || *line == '#')
			continue;
		if (found++ > 0)
			break;
		type = line;
		if ((end = strpbrk(type, " \t")) == NULL)
			break;
		*end = '\0';
		b64 = end + 1 + strspn(end + 1, " \t");
		blen = strcspn(b64, " \t\r");
		b64[blen] = '\0';
		if (blen == 0 || blen % 4 != 0 || blen / 4 * 3 > keymax)
			break;
		pad = b64[blen - 1] == '=' ? (b64[blen - 2] == '=' ? 2 : 1) :
		    0;
		if ((dn = EVP_DecodeBlock(key, (unsigned char *)b64,
		    (int)blen)) < 0 || (size_t)dn < pad)
			break;
		*keylen = (size_t)dn - pad;
		if (skp_hostcert_is_cert(key, *keylen)) {
			fprintf(stderr, PROG ": %s: a certificate, not a CA "
			    "key: give the CA's public key (the .pub of the key "
			    "given to ssh-keygen -s)\n", path);
			rc = SKP_ERR_INVALID;
			goto out;
		}
		if (skp_hostkey_check(key, *keylen, &t) != SKP_OK ||
		    strcmp(t, type) != 0)
			break;
		rc = SKP_OK;
	}
	if (rc != SKP_OK || found != 1) {
		fprintf(stderr, PROG ": %s: not one OpenSSH public key the "
		    "phone can check as a CA (one line \"TYPE BASE64 "
		    "[COMMENT]\", TYPE ssh-ed25519, ecdsa-sha2-nistp256/384/521 "
		    "or ssh-rsa)\n", path);
		rc = rc == SKP_OK ? SKP_ERR_FORMAT : rc;
	}
 out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int
cmd_trust_ca(const char *dir, struct skp_phstate *st, const char *pattern,
    const char *file)
{
	char why[SKP_PH_WHY_MAX], fp[SKP_HOSTKEY_FP_LEN], shown[300];
	uint8_t key[SKP_PH_HOST_KEY_MAX];
	struct skp_audit_entry e;
	size_t keylen = 0;
	int rc, fd;

	if ((rc = read_pubkey(file, key, sizeof(key), &keylen)) != SKP_OK)
		return rc;
	if ((rc = skp_phstate_ca_add(st, pattern, key, keylen, now_s(), why,
	    sizeof(why))) != SKP_OK) {
		die_why("hosts trust-ca", rc, why);
		return rc;
	}
	if (skp_hostkey_fingerprint(key, keylen, fp) != SKP_OK)
		snprintf(fp, sizeof(fp), "?");
	if ((fd = open_dirfd(dir)) >= 0) {
		memset(&e, 0, sizeof(e));
		e.time = now_s();
		e.op = "trust-ca";
		e.host = pattern;
		e.key = fp;
		e.decision = "trusted";
		if (skp_audit_append(fd, &e) != SKP_OK)
			fprintf(stderr, PROG ": cannot write the audit log\n");
		close(fd);
	}
	skp_sshmsg_printable(pattern, shown, sizeof(shown));
	printf("trusted the CA %s for hosts matching %s: its host "
	    "certificates for them are verified\n", fp, shown);
	return SKP_OK;
}

static int
cmd_distrust_ca(const char *dir, struct skp_phstate *st, const char *what,
    const char *pattern)
{
	char why[SKP_PH_WHY_MAX], fp[SKP_HOSTKEY_FP_LEN];
	uint8_t key[SKP_PH_HOST_KEY_MAX];
	struct skp_audit_entry e;
	size_t keylen = 0, removed = 0;
	int rc, fd, by_fp = strncmp(what, "SHA256:", 7) == 0;

	if (!by_fp && (rc = read_pubkey(what, key, sizeof(key), &keylen)) !=
	    SKP_OK)
		return rc;
	if (by_fp)
		snprintf(fp, sizeof(fp), "%s", what);
	else if (skp_hostkey_fingerprint(key, keylen, fp) != SKP_OK)
		snprintf(fp, sizeof(fp), "?");
	if ((rc = skp_phstate_ca_remove(st, by_fp ? NULL : key, keylen,
	    by_fp ? what : NULL, pattern, &removed, why, sizeof(why))) !=
	    SKP_OK) {
		die_why("hosts distrust-ca", rc, why);
		return rc;
	}
	if ((fd = open_dirfd(dir)) >= 0) {
		memset(&e, 0, sizeof(e));
		e.time = now_s();
		e.op = "distrust-ca";
		e.host = pattern;
		e.key = fp;
		e.decision = "distrusted";
		if (skp_audit_append(fd, &e) != SKP_OK)
			fprintf(stderr, PROG ": cannot write the audit log\n");
		close(fd);
	}
	printf("no longer trusts the CA %s (%zu entr%s removed): its "
	    "certificates are checked as plain keys\n", fp, removed,
	    removed == 1 ? "y" : "ies");
	return SKP_OK;
}

static int
cmd_hosts_forget(const char *dir, struct skp_phstate *st, const char *arg)
{
	char name[SKP_PH_HOST_NAME_MAX + 2], shown[300], why[SKP_PH_WHY_MAX];
	int rc;

	skp_hostcheck_lower(arg, name, sizeof(name));
	skp_sshmsg_printable(name, shown, sizeof(shown));
	if ((rc = skp_phstate_host_forget(st, name, why, sizeof(why))) !=
	    SKP_OK) {
		die_why("hosts forget", rc, why);
		return rc;
	}
	audit_host(dir, NULL, "forget-host", name, "forgotten");
	printf("forgot the host keys of %s: the next login to it pins its "
	    "key again\n", shown);
	return SKP_OK;
}

/* KEY: a fingerprint, or at least 8 hex digits of the id, unique. */
static int
find_key(struct skp_phstate *st, const char *key, uint8_t id[16])
{
	char hex[2 * SKP_PH_CRED_ID_LEN + 1], fp[64];
	size_t i, n = strlen(key), found = 0;

	for (i = 0; i < st->ncreds; i++) {
		skp_hex(st->creds[i].id, SKP_PH_CRED_ID_LEN, hex);
		if (skp_phstate_fingerprint(&st->creds[i], fp, sizeof(fp)) !=
		    SKP_OK)
			fp[0] = '\0';
		if (strcmp(key, fp) == 0 || (n >= KEY_PREFIX_MIN &&
		    n <= strlen(hex) && strncmp(hex, key, n) == 0)) {
			memcpy(id, st->creds[i].id, SKP_PH_CRED_ID_LEN);
			found++;
		}
	}
	if (found == 1)
		return SKP_OK;
	fprintf(stderr, PROG ": %s\n", found == 0 ? "no such key (see "
	    PROG " keys; give 8 or more hex digits of its id, or its "
	    "fingerprint)" : "several keys match: give more of the id");
	return found == 0 ? SKP_ERR_NOT_FOUND : SKP_ERR_INVALID;
}

static int
cmd_small(const struct args *a, const char *dir, const char *cmd,
    const char *arg, const char *arg2, const char *arg3)
{
	struct skp_phstate *st = NULL;
	char why[SKP_PH_WHY_MAX];
	uint8_t id[SKP_PH_CRED_ID_LEN];
	int rc, fd;

	if (strcmp(cmd, "log") == 0) {
		if ((fd = open_dirfd(dir)) < 0) {
			fprintf(stderr, PROG ": %s: %s\n", dir,
			    strerror(errno));
			return 1;
		}
		rc = skp_audit_print(fd);
		close(fd);
		if (rc != SKP_OK)
			fprintf(stderr, PROG ": audit log: %s\n",
			    skp_strerror(rc));
		return rc == SKP_OK ? 0 : 1;
	}
	if ((rc = skp_phstate_open(dir, a->passfile, 0, &st, why,
	    sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		return 1;
	}
	if (strcmp(cmd, "computers") == 0)
		rc = cmd_computers(st);
	else if (strcmp(cmd, "keys") == 0)
		rc = cmd_keys(st);
	else if (strcmp(cmd, "hosts") == 0 && arg == NULL)
		rc = cmd_hosts(st);
	else if (strcmp(cmd, "hosts") == 0 && strcmp(arg, "trust-ca") == 0)
		rc = cmd_trust_ca(dir, st, arg2, arg3);
	else if (strcmp(cmd, "hosts") == 0 &&
	    strcmp(arg, "distrust-ca") == 0)
		rc = cmd_distrust_ca(dir, st, arg2, arg3);
	else if (strcmp(cmd, "hosts") == 0)
		rc = cmd_hosts_forget(dir, st, arg2);
	else if (strcmp(cmd, "pin-reset") == 0) {
		/* Only whoever can open the state folder unblocks the PIN. */
		unsigned int was = st->pin_failures;

		if ((rc = skp_phstate_pin_reset(st, why, sizeof(why))) !=
		    SKP_OK)
			die_why("pin-reset", rc, why);
		else {
			audit(dir, NULL, "pin-reset", "reset");
			printf("PIN tries reset (%u wrong PIN%s before)\n", was,
			    was == 1 ? "" : "s");
		}
	} else if (strcmp(cmd, "unpair") == 0) {
		if ((rc = skp_phstate_computer_remove(st, arg, why,
		    sizeof(why))) != SKP_OK)
			die_why("unpair", rc, why);
		else {
			/* Its host windows go with it. */
			if (skp_phstate_host_window_clear(st, arg, why,
			    sizeof(why)) != SKP_OK)
				die_why("unpair", SKP_ERR_IO, why);
			audit(dir, arg, "unpair", "unpaired");
			printf("unpaired \"%s\"\n", arg);
		}
	} else {
		if ((rc = find_key(st, arg, id)) == SKP_OK &&
		    (rc = skp_phstate_cred_remove(st, id, why, sizeof(why))) !=
		    SKP_OK)
			die_why("delete", rc, why);
		else if (rc == SKP_OK) {
			audit(dir, NULL, "delete", "deleted");
			printf("deleted\n");
		}
	}
	skp_phstate_free(&st);
	return rc == SKP_OK ? 0 : 1;
}

/* Put back a damaged file that holds keys from its last good copy. */
static int
cmd_restore(const struct args *a, const char *dir, const char *name)
{
	struct skp_audit_entry e;
	char why[SKP_PH_WHY_MAX];
	int rc, fd, kept = 0;

	if ((rc = skp_phstate_restore(dir, a->passfile, name, &kept, why,
	    sizeof(why))) != SKP_OK) {
		die_why("restore", rc, why);
		return 1;
	}
	if ((fd = open_dirfd(dir)) >= 0) {
		memset(&e, 0, sizeof(e));
		e.time = now_s();
		e.op = "restore";
		e.subject = name;	/* the file */
		e.decision = "restored";
		if (skp_audit_append(fd, &e) != SKP_OK)
			fprintf(stderr, PROG ": cannot write the audit log\n");
		close(fd);
	}
	printf("restored %s/%s from its last good copy %s/%s.last", dir, name,
	    dir, name);
	if (kept)
		printf("; the damaged file is kept as %s/%s.damaged", dir,
		    name);
	printf("\n");
	return 0;
}

/* The first 16 hex digits of a mailbox id. */
static void
mailbox_prefix(const uint8_t id[SKP_MAILBOX_ID_LEN], char out[17])
{
	size_t i;

	for (i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static void
mailbox_show(const struct skp_phstate *st)
{
	char hex[17], name[300];
	size_t i;

	mailbox_prefix(st->mailbox_id, hex);
	printf("mailbox %s... on %s\n", hex,
	    st->relay[0] != '\0' ? st->relay : "(no relay yet)");
	if (!st->have_old_mailbox) {
		printf("no rotation pending\n");
		return;
	}
	mailbox_prefix(st->old_mailbox_id, hex);
	printf("old mailbox %s... still listened on until these computers "
	    "call the new one:\n", hex);
	for (i = 0; i < st->ncomputers; i++) {
		if (!st->computers[i].tell_mailbox)
			continue;
		skp_sshmsg_printable(st->computers[i].name, name,
		    sizeof(name));
		printf("  \"%s\"\n", name);
	}
}

/*
 * mailbox: show it; rotate: a new mailbox key, the old one listened on
 * until every computer paired now has called the new one; --finish:
 * drop the old one now.
 */
static int
cmd_mailbox(const struct args *a, const char *dir, const char *sub)
{
	struct skp_phstate *st = NULL;
	char why[SKP_PH_WHY_MAX];
	size_t n;
	int rc;

	if ((rc = skp_phstate_open(dir, a->passfile, 0, &st, why,
	    sizeof(why))) != SKP_OK) {
		die_why("state", rc, why);
		return 1;
	}
	if (sub == NULL) {
		if (!st->have_identity) {
			printf("no mailbox yet: pair with a computer "
			    "first\n");
			goto out;
		}
		mailbox_show(st);
	} else if (a->finish) {
		if ((rc = skp_phstate_mailbox_finish(st, why, sizeof(why))) !=
		    SKP_OK) {
			die_why("mailbox rotate --finish", rc, why);
			goto out;
		}
		audit(dir, NULL, "mailbox-finish", "dropped");
		printf("the old mailbox is dropped: computers not told of the "
		    "new one can no longer reach this phone (pair them "
		    "again); restart '" PROG " run' if it is running, so "
		    "that it stops listening there\n");
	} else {
		if ((rc = skp_phstate_mailbox_rotate(st, why, sizeof(why))) !=
		    SKP_OK) {
			die_why("mailbox rotate", rc, why);
			goto out;
		}
		audit(dir, NULL, "mailbox-rotate", "rotated");
		n = skp_phstate_mailbox_untold(st);
		printf("new mailbox made. %zu paired computer%s learn%s it in "
		    "the phone's next answer; '" PROG " run' listens on the "
		    "old mailbox too until each has called the new one (or "
		    "until 'mailbox rotate --finish'); a running one notices "
		    "at the first such request.\n", n, n == 1 ? "" : "s",
		    n == 1 ? "s" : "");
		mailbox_show(st);
	}
 out:
	skp_phstate_free(&st);
	return rc == SKP_OK ? 0 : 1;
}

static int
parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *out == 0 || *out > max)
		return -1;
	return 0;
}

/*
 * A command given a URI that holds a secret: on standard input ("-") or
 * in --uri-file FILE; as the argument itself it works, with a warning.
 */
static int
with_uri(const struct args *a, const char *dir, const char *arg,
    const char *cmd, const char *what, const char *during,
    int (*fn)(const struct args *, const char *, const char *))
{
	/* SKP_PAIRURI_MAX + 2: an over-long line is seen as such. */
	char uri[SKP_PAIRURI_MAX + 2];
	int rc;

	if (arg != NULL && a->urifile != NULL) {
		fprintf(stderr, PROG ": %s: give the URI once: --uri-file "
		    "FILE, '-' or the URI\n", cmd);
		return 2;
	}
	if (arg != NULL && strcmp(arg, "-") != 0) {
		fprintf(stderr, PROG ": warning: %s on the command line can "
		    "be read by other users of this machine while %s runs "
		    "(ps, /proc); next time give it on standard input ('%s "
		    "-') or with --uri-file FILE\n", what, during, cmd);
		return fn(a, dir, arg);
	}
	rc = read_uri(arg != NULL ? "-" : a->urifile, strcmp(cmd, "pair") ==
	    0, uri, sizeof(uri));
	if (rc == SKP_OK)
		rc = fn(a, dir, uri);
	else
		rc = 1;
	skp_wipe(uri, sizeof(uri));
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state",		required_argument, NULL, 's' },
		{ "passphrase-file",	required_argument, NULL, 'P' },
		{ "name",		required_argument, NULL, 'n' },
		{ "relay",		required_argument, NULL, 'r' },
		{ "ca",			required_argument, NULL, 'C' },
		{ "yes",		no_argument,	   NULL, 'y' },
		{ "approve",		required_argument, NULL, 'a' },
		{ "window",		required_argument, NULL, 'w' },
		{ "timeout",		required_argument, NULL, 't' },
		{ "pin-file",		required_argument, NULL, 'p' },
		{ "uri-file",		required_argument, NULL, 'u' },
		{ "ask-pin",		no_argument,	   NULL, 'A' },
		{ "silent-call-timeout", required_argument, NULL, 'S' },
		{ "finish",		no_argument,	   NULL, 'F' },
		{ "discard",		no_argument,	   NULL, 'D' },
		{ "no-touch",		required_argument, NULL, 'T' },
		{ "unknown-ca",		required_argument, NULL, 'U' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a;
	char dir[4096];
	const char *cmd, *uwhy = NULL;
	int c, nargs, rc;

	memset(&a, 0, sizeof(a));
	a.approve = SKP_APPROVE_ASK;
	a.window_h = WINDOW_HOURS;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.state = optarg;
			break;
		case 'P':
			a.passfile = optarg;
			break;
		case 'n':
			a.name = optarg;
			break;
		case 'r':
			/* Repeated: the URLs of one relay, in turn. */
			if (skp_relaylist_add(a.relays, sizeof(a.relays),
			    optarg, &uwhy) != SKP_OK) {
				fprintf(stderr, PROG ": --relay %s: %s\n",
				    optarg, uwhy != NULL ? uwhy :
				    "too long");
				return 2;
			}
			a.relay = a.relays;
			break;
		case 'C':
			a.ca = optarg;
			break;
		case 'y':
			a.yes = 1;
			break;
		case 'a':
			if (strcmp(optarg, "ask") == 0)
				a.approve = SKP_APPROVE_ASK;
			else if (strcmp(optarg, "always") == 0)
				a.approve = SKP_APPROVE_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				a.approve = SKP_APPROVE_NEVER;
			else {
				usage();
				return 2;
			}
			break;
		case 'w':
			if (parse_ulong(optarg, 24 * 365, &a.window_h) != 0) {
				fprintf(stderr, PROG ": --window: hours, "
				    "1 to 8760\n");
				return 2;
			}
			break;
		case 't':
			if (parse_ulong(optarg, 3600, &a.timeout_s) != 0) {
				fprintf(stderr, PROG ": --timeout: seconds, "
				    "1 to 3600\n");
				return 2;
			}
			a.have_timeout = 1;
			break;
		case 'p':
			a.pinfile = optarg;
			break;
		case 'u':
			a.urifile = optarg;
			break;
		case 'S':
			if (parse_ulong(optarg, 300, &a.silent_s) != 0) {
				fprintf(stderr, PROG ": --silent-call-timeout: "
				    "seconds, 1 to 300\n");
				return 2;
			}
			break;
		case 'A':
			a.ask_pin = 1;
			break;
		case 'T':
			if (strcmp(optarg, "sign") == 0)
				a.no_touch_ask = 0;
			else if (strcmp(optarg, "ask") == 0)
				a.no_touch_ask = 1;
			else {
				usage();
				return 2;
			}
			break;
		case 'U':
			if (strcmp(optarg, "pin") == 0)
				a.unknown_ca_refuse = 0;
			else if (strcmp(optarg, "refuse") == 0)
				a.unknown_ca_refuse = 1;
			else {
				usage();
				return 2;
			}
			break;
		case 'F':
			a.finish = 1;
			break;
		case 'D':
			a.discard = 1;
			break;
		case 'V':
			printf(PROG " %s\n", SKP_VERSION);
			return 0;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	cmd = argv[optind];
	nargs = argc - optind - 1;
	if (a.name != NULL && skp_pairuri_check_name(a.name,
	    strlen(a.name)) != SKP_OK) {
		fprintf(stderr, PROG ": --name: 1 to 64 bytes of UTF-8 without "
		    "control characters\n");
		return 2;
	}
	if (a.state != NULL) {
		if (snprintf(dir, sizeof(dir), "%s", a.state) >=
		    (int)sizeof(dir))
			return 2;
	} else if ((rc = default_state(dir, sizeof(dir))) != SKP_OK) {
		fprintf(stderr, PROG ": no state folder: give --state DIR\n");
		return 1;
	}
	if (strcmp(cmd, "pair") == 0 && (nargs == 1 || (nargs == 0 &&
	    a.urifile != NULL)))
		return with_uri(&a, dir, nargs == 1 ? argv[optind + 1] : NULL,
		    "pair", "a pairing URI", "pairing", cmd_pair);
	if (strcmp(cmd, "transfer") == 0 && nargs == 0)
		return cmd_transfer(&a, dir);
	if (strcmp(cmd, "receive") == 0 && nargs == 0 && (a.finish ^
	    a.discard) && a.urifile == NULL)
		return cmd_receive_pending(&a, dir, a.finish);
	if (strcmp(cmd, "receive") == 0 && !a.finish && !a.discard &&
	    (nargs == 1 || (nargs == 0 && a.urifile != NULL)))
		return with_uri(&a, dir, nargs == 1 ? argv[optind + 1] : NULL,
		    "receive", "a transfer code", "the transfer", cmd_receive);
	if (strcmp(cmd, "run") == 0 && nargs == 0)
		return cmd_run(&a, dir);
	if (strcmp(cmd, "mailbox") == 0 && nargs == 0 && !a.finish)
		return cmd_mailbox(&a, dir, NULL);
	if (strcmp(cmd, "mailbox") == 0 && nargs == 1 &&
	    strcmp(argv[optind + 1], "rotate") == 0)
		return cmd_mailbox(&a, dir, "rotate");
	if ((strcmp(cmd, "log") == 0 || strcmp(cmd, "computers") == 0 ||
	    strcmp(cmd, "keys") == 0 || strcmp(cmd, "hosts") == 0 ||
	    strcmp(cmd, "pin-reset") == 0) &&
	    nargs == 0)
		return cmd_small(&a, dir, cmd, NULL, NULL, NULL);
	if (strcmp(cmd, "hosts") == 0 && nargs == 2 &&
	    strcmp(argv[optind + 1], "forget") == 0)
		return cmd_small(&a, dir, cmd, "forget", argv[optind + 2],
		    NULL);
	if (strcmp(cmd, "hosts") == 0 && nargs == 3 &&
	    strcmp(argv[optind + 1], "trust-ca") == 0)
		return cmd_small(&a, dir, cmd, "trust-ca", argv[optind + 2],
		    argv[optind + 3]);
	if (strcmp(cmd, "hosts") == 0 && (nargs == 2 || nargs == 3) &&
	    strcmp(argv[optind + 1], "distrust-ca") == 0)
		return cmd_small(&a, dir, cmd, "distrust-ca",
		    argv[optind + 2], nargs == 3 ? argv[optind + 3] : NULL);
	if (strcmp(cmd, "restore") == 0 && nargs == 1)
		return cmd_restore(&a, dir, argv[optind + 1]);
	if ((strcmp(cmd, "unpair") == 0 || strcmp(cmd, "delete") == 0) &&
	    nargs == 1)
		return cmd_small(&a, dir, cmd, argv[optind + 1], NULL, NULL);
	usage();
	return 2;
}
