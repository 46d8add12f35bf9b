/* libsk-phone.so: the OpenSSH SecurityKeyProvider entry points. */
/*
 * Each entry point runs inside a fresh ssh-sk-helper: it loads the
 * computer's state, asks the paired phone through the relay (one Noise
 * request), verifies the answer with libfido2 and only then hands OpenSSH
 * what it asked for. It never writes to stdout, writes one stderr line per
 * event the user must know about, leaves every signal disposition as it
 * found it, and returns within SK_PHONE_TIMEOUT whatever the network does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "skp-config.h"
#include "sk-api.h"
#include "sk-phone/call.h"
#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/keeper.h"
#include "sk-phone/keyhandle.h"
#include "sk-phone/store.h"
#include "sk-phone/verify.h"

#define SKP_EXPORT	__attribute__((visibility("default")))

#define PROV_TIMEOUT_DEFAULT	60	/* seconds */
#define PROV_TIMEOUT_MAX	600
#define PROV_OFFLINE_DEFAULT	10	/* seconds for an offline phone */
#define PROV_CHALLENGE_MAX	1024	/* OpenSSH sends 32 */
#define PROV_USER_ID_LEN	32	/* as OpenSSH's own provider */
#define PROV_USER_MAX		31	/* bytes of -O user=, NUL-padded */
#define PROV_APP_PREFIX		"ssh:"
#define PROV_LINE_MAX		512

/* Flags OpenSSH may ask for that mean something here. */
#define PROV_FLAGS_KEPT		(SSH_SK_USER_PRESENCE_REQD | \
				    SSH_SK_USER_VERIFICATION_REQD | \
				    SSH_SK_RESIDENT_KEY)

/* CTAP credProtect levels, as OpenSSH's own provider uses them. */
#define PROV_CRED_PROTECT_UV_OPTIONAL_WITH_ID	2
#define PROV_CRED_PROTECT_UV_REQUIRED		3

SKP_EXPORT uint32_t	sk_api_version(void);
SKP_EXPORT int		sk_enroll(uint32_t, const uint8_t *, size_t,
			    const char *, uint8_t, const char *,
			    struct sk_option **, struct sk_enroll_response **);
SKP_EXPORT int		sk_sign(uint32_t, const uint8_t *, size_t,
			    const char *, const uint8_t *, size_t, uint8_t,
			    const char *, struct sk_option **,
			    struct sk_sign_response **);
SKP_EXPORT int		sk_load_resident_keys(const char *,
			    struct sk_option **, struct sk_resident_key ***,
			    size_t *);

/* What one entry point needs for its whole run. */
struct prov {
	char				 dir[SKP_STORE_PATH_MAX];
	struct skp_p256_key		 identity;	/* secret */
	/* OpenSSH's PIN: sent only if the phone asks (transport msg 3). */
	char				 pin[SKP_CTAP_PIN_MAX + 1];
	skp_store_phones_t		*phones;
	int				 timeout_s;
	int				 offline_s;
	int				 offline_seen;	/* last call */
	struct timespec			 deadline;
	/* Saved at entry, put back at exit. */
	struct sigaction		 sigs[NSIG];
	int				 sig_saved[NSIG];
	sigset_t			 mask;
};

/* What the status callback says about one request. */
struct prov_status {
	const struct prov		*p;
	const char			*phone;
	const char			*what;	/* "approval", NULL: quiet */
	int				 last;
	int				 offline;	/* OFFLINE came */
};

/* -- messages -------------------------------------------------------- */

static int
debug_on(void)
{
	const char *v = secure_getenv("SK_PHONE_DEBUG");

	return v != NULL && strcmp(v, "1") == 0;
}

/* One whole line with one write(), so lines never interleave. */
static void vline(const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
vline(const char *prefix, const char *fmt, va_list ap)
{
	char line[PROV_LINE_MAX];
	size_t n;
	int k;

	k = snprintf(line, sizeof(line), "sk-phone: %s", prefix);
	if (k < 0)
		return;
	n = (size_t)k;
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (k < 0)
		return;
	n += (size_t)k;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

static void say(const char *, ...) __attribute__((format(printf, 1, 2)));
static void dbg(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

/* When this entry point began, for the times in debug lines. */
static struct timespec prov_t0;

static void
dbg(const char *fmt, ...)
{
	struct timespec now;
	char prefix[48];
	va_list ap;

	if (!debug_on())
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(prefix, sizeof(prefix), "debug: +%.1f ms: ",
	    (double)(now.tv_sec - prov_t0.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - prov_t0.tv_nsec) / 1e6);
	va_start(ap, fmt);
	vline(prefix, fmt, ap);
	va_end(ap);
}

/* -- time ------------------------------------------------------------ */

static int
env_seconds(const char *name, int def)
{
	const char *v = secure_getenv(name);
	char *end = NULL;
	long t;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	t = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || t < 1 ||
	    t > PROV_TIMEOUT_MAX) {
		say("%s=%s is not 1..%d seconds; using %d", name, v,
		    PROV_TIMEOUT_MAX, def);
		return def;
	}
	return (int)t;
}

static int
timeout_seconds(void)
{
	return env_seconds("SK_PHONE_TIMEOUT", PROV_TIMEOUT_DEFAULT);
}

/* Milliseconds left until the deadline, at least 1. */
static int
ms_left(const struct prov *p)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(p->deadline.tv_sec - now.tv_sec) * 1000 +
	    (p->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 1)
		ms = 1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * The connection keeper's program (docs/PROTOCOL.md §11):
 * SK_PHONE_KEEPER=PATH, or off, else the installed sk-phone.
 */
static const char *
keeper_prog(void)
{
	const char *prog;
	int rc = skp_keeper_program(&prog);

	if (rc == SKP_ERR_INVALID)
		say("SK_PHONE_KEEPER=%s: give the absolute path of sk-phone, "
		    "or off; connecting directly", prog);
	return rc == SKP_OK ? prog : NULL;
}

/* -- entry and exit -------------------------------------------------- */

/*
 * libwebsockets and OpenSSL may touch signal dispositions (SIGPIPE);
 * ssh-sk-helper must find them as they were.
 */
static void
signals_save(struct prov *p)
{
	int s;

	(void)sigprocmask(SIG_SETMASK, NULL, &p->mask);
	for (s = 1; s < NSIG; s++)
		p->sig_saved[s] = sigaction(s, NULL, &p->sigs[s]) == 0;
}

static void
signals_restore(struct prov *p)
{
	struct sigaction cur;
	int s;

	for (s = 1; s < NSIG; s++) {
		if (!p->sig_saved[s] || s == SIGKILL || s == SIGSTOP)
			continue;
		if (sigaction(s, NULL, &cur) == 0 &&
		    cur.sa_handler == p->sigs[s].sa_handler &&
		    cur.sa_flags == p->sigs[s].sa_flags)
			continue;
		(void)sigaction(s, &p->sigs[s], NULL);
	}
	(void)sigprocmask(SIG_SETMASK, &p->mask, NULL);
}

static struct prov *
prov_new(void)
{
	struct prov *p;

	clock_gettime(CLOCK_MONOTONIC, &prov_t0);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	signals_save(p);
	p->timeout_s = timeout_seconds();
	p->offline_s = env_seconds("SK_PHONE_OFFLINE_TIMEOUT",
	    PROV_OFFLINE_DEFAULT);
	if (p->offline_s > p->timeout_s)
		p->offline_s = p->timeout_s;
	clock_gettime(CLOCK_MONOTONIC, &p->deadline);
	p->deadline.tv_sec += p->timeout_s;
	return p;
}

static void
prov_free(struct prov **pp)
{
	struct prov *p = *pp;

	if (p == NULL)
		return;
	signals_restore(p);
	skp_store_phones_free(&p->phones);
	skp_wipe(p, sizeof(*p));
	free(p);
	*pp = NULL;
}

/*
 * The identity and the pairings. No identity or no phone: not paired,
 * which OpenSSH reports as "device not found".
 */
static int
prov_load(struct prov *p)
{
	char why[SKP_STORE_WHY_MAX];
	int rc;

	if ((rc = skp_store_computer_dir(p->dir, sizeof(p->dir), why,
	    sizeof(why))) != SKP_OK) {
		say("%s", why);
		return SSH_SK_ERR_GENERAL;
	}
	rc = skp_store_identity_load(p->dir, &p->identity, why, sizeof(why));
	if (rc == SKP_ERR_NOT_FOUND) {
		say("not paired with a phone: run `sk-phone pair`");
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	}
	if (rc != SKP_OK) {
		say("%s", why);
		return SSH_SK_ERR_GENERAL;
	}
	if ((rc = skp_store_phones_load(p->dir, &p->phones, why,
	    sizeof(why))) != SKP_OK) {
		say("%s", why);
		return SSH_SK_ERR_GENERAL;
	}
	if (skp_store_phones_count(p->phones) == 0) {
		say("not paired with a phone: run `sk-phone pair`");
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	}
	dbg("state in %s, %zu phone(s), timeout %d s", p->dir,
	    skp_store_phones_count(p->phones), p->timeout_s);
	return 0;
}

/* The phone named by -O device=, or the only one. */
static int
prov_pick(const struct prov *p, const char *device,
    const struct skp_store_pairing **out)
{
	size_t i, n = skp_store_phones_count(p->phones);
	char names[256];
	size_t off = 0;
	int k;

	if (device != NULL) {
		if (skp_store_phones_find_name(p->phones, device, out) ==
		    SKP_OK)
			return 0;
		say("no paired phone named '%s' (`sk-phone status` lists "
		    "them; `sk-phone pair` adds one)", device);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	}
	if (n == 1) {
		*out = skp_store_phones_at(p->phones, 0);
		return 0;
	}
	names[0] = '\0';
	for (i = 0; i < n && off < sizeof(names); i++) {
		k = snprintf(names + off, sizeof(names) - off, "%s'%s'",
		    i > 0 ? ", " : "",
		    skp_store_phones_at(p->phones, i)->phone_name);
		if (k < 0)
			break;
		off += (size_t)k;
	}
	say("%zu phones are paired (%s): choose one with -O device=NAME", n,
	    names);
	return SSH_SK_ERR_DEVICE_NOT_FOUND;
}

/* -- errors ---------------------------------------------------------- */

/*
 * The one place SKP_ERR_* becomes SSH_SK_ERR_*, with the line the user
 * sees. OpenSSH acts on PIN_REQUIRED (prompts) and CREDENTIAL_EXISTS
 * (asks to overwrite), and follows our line with one of its own: GENERAL
 * reads "invalid format" (as if the key file were damaged), UNSUPPORTED
 * "feature not supported", DEVICE_NOT_FOUND "device not found". So every
 * "the phone could not, or would not, do it" (unreachable, offline,
 * rejected, refused, no answer) is DEVICE_NOT_FOUND; GENERAL is kept for
 * damaged data: this computer's state, or an answer that did not verify.
 */
static int
prov_error(const struct prov *p, const struct skp_store_pairing *ph,
    int rc, const char *reason)
{
	const char *name = ph != NULL ? ph->phone_name : "?";
	const char *sep = reason != NULL && *reason != '\0' ? ": " : "";

	if (reason == NULL)
		reason = "";
	dbg("error %d (%s)", rc, skp_strerror(rc));
	switch (rc) {
	case SKP_ERR_PIN_REQUIRED:
		return SSH_SK_ERR_PIN_REQUIRED;
	case SKP_ERR_PIN_INVALID:
		/* OpenSSH says "PIN incorrect" and asks again. */
		say("wrong PIN for phone '%s'", name);
		return SSH_SK_ERR_PIN_REQUIRED;
	case SKP_ERR_EXISTS:
#if SKP_SK_API_VERSION >= 0x000a0000
		return SSH_SK_ERR_CREDENTIAL_EXISTS;
#else
		say("phone '%s' already holds a resident key for this "
		    "application and user", name);
		return SSH_SK_ERR_GENERAL;
#endif
	case SKP_ERR_NOT_PAIRED:
		say("phone '%s' no longer knows this computer: run "
		    "`sk-phone unpair %s`, then `sk-phone pair`", name, name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_OFFLINE:
		if (p->offline_seen && p->offline_s < p->timeout_s)
			say("phone '%s' stayed offline for %d s "
			    "(SK_PHONE_OFFLINE_TIMEOUT): start "
			    "sk-phone-authenticator on it and check that it "
			    "reaches the relay %s (`sk-phone status`)", name,
			    p->offline_s, ph != NULL ? ph->relay : "");
		else
			say("timed out after %d s: phone '%s' stayed offline; "
			    "start sk-phone-authenticator on it and check "
			    "that it reaches the relay %s (`sk-phone status`)",
			    p->timeout_s, name, ph != NULL ? ph->relay : "");
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_TIMEOUT:
		say("timed out after %d s waiting for phone '%s': check "
		    "that it is on and showing the request, and that it "
		    "still pairs this computer (`sk-phone status`)",
		    p->timeout_s, name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_REJECTED:
		say("rejected on phone '%s'%s%s", name, sep, reason);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_NETWORK:
		say("cannot reach the relay %s: is it running and "
		    "reachable? (`sk-phone status`)",
		    ph != NULL ? ph->relay : "");
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_RELAY_PROTOCOL:
		say("the relay %s of phone '%s' closed the connection "
		    "without taking sk-phone relay protocol 2: an "
		    "sk-phone-relay older than protocol 2 does that (update "
		    "it), and so does a proxy whose relay is down "
		    "(`sk-phone status`)", ph != NULL ? ph->relay : "", name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_TLS:
		if (ph != NULL && ph->ca_file[0] != '\0')
			say("the relay's certificate is not trusted: %s is "
			    "not signed by a CA in %s (kept with the "
			    "pairing of phone '%s'); check that file, or "
			    "pair again with `sk-phone pair --ca FILE`",
			    ph->relay, ph->ca_file, name);
		else
			say("the relay's certificate is not trusted: %s "
			    "has no certificate from the system's CAs; for a "
			    "private or self-signed one, pair again with "
			    "`sk-phone pair --ca FILE` naming its CA",
			    ph != NULL ? ph->relay : "");
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_IO:
		say("cannot read the CA file %s of phone '%s': check that it "
		    "exists and is readable, or pair again with "
		    "`sk-phone pair --ca FILE`",
		    ph != NULL ? ph->ca_file : "", name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_LIBRARY:
		/* The line before says which library, and what to install. */
		say("cannot connect to the relay %s: a library sk-phone loads "
		    "for it is missing (said above); reinstall sk-phone",
		    ph != NULL ? ph->relay : "");
		return SSH_SK_ERR_GENERAL;
	case SKP_ERR_LIMIT:
		say("the relay refused the request (too many calls): try "
		    "again");
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_CLOSED:
		say("phone '%s' hung up without answering", name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_VERIFY:
	case SKP_ERR_CRYPTO:
	case SKP_ERR_DECRYPT:
		say("the answer from phone '%s' did not verify and was "
		    "refused", name);
		return SSH_SK_ERR_GENERAL;
	case SKP_ERR_EXPIRED:
		if (*reason != '\0')
			say("phone '%s' refused the request as stale: %s",
			    name, reason);
		else
			say("phone '%s' refused the request as stale: check "
			    "that the clocks of this computer and the phone "
			    "are right", name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_HOST_UNVERIFIED:
		/*
		 * The phone's reason says why (a signature over another
		 * session, a host certificate refused): shown as it is, never
		 * parsed (§4.9); ours only when it gave none.
		 */
		if (*reason != '\0')
			say("phone '%s' refused: %s", name, reason);
		else
			say("phone '%s' refused: the server's host key "
			    "signature did not verify", name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_HOSTKEY:
		/* The phone's reason names the host and the way out. */
		if (*reason != '\0')
			say("phone '%s': %s", name, reason);
		else
			say("phone '%s' refused: the server's host key is not "
			    "the one it pinned for this host (a different "
			    "server, or an attack)", name);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_UV_UNAVAILABLE:
		say("phone '%s' cannot verify its user (set a PIN on it)%s%s",
		    name, sep, reason);
		return SSH_SK_ERR_UNSUPPORTED;
	case SKP_ERR_UNSUPPORTED:
		say("phone '%s' does not support this request%s%s", name,
		    sep, reason);
		return SSH_SK_ERR_UNSUPPORTED;
	case SKP_ERR_NOT_FOUND:
		say("phone '%s' does not hold this key%s%s", name, sep,
		    reason);
		return SSH_SK_ERR_DEVICE_NOT_FOUND;
	case SKP_ERR_VERSION:
		/* A phone of protocol 1 refuses version 2 envelopes. */
		say("phone '%s' speaks another version of the sk-phone "
		    "protocol%s%s: update sk-phone-authenticator on the phone "
		    "(this computer speaks protocol 2)", name, sep, reason);
		return SSH_SK_ERR_UNSUPPORTED;
	default:
		say("request to phone '%s' failed: %s%s%s", name,
		    skp_strerror(rc), sep, reason);
		return SSH_SK_ERR_GENERAL;
	}
}

/* -- one request ----------------------------------------------------- */

static int
p_offline_s(const struct prov_status *st)
{
	int left = (ms_left(st->p) + 999) / 1000;

	return st->p->offline_s < left ? st->p->offline_s : left;
}

static void
on_status(int state, void *arg)
{
	struct prov_status *st = arg;

	if (state == st->last)
		return;
	st->last = state;
	if (state == SKP_CALL_SLOW) {
		/* The phone did not answer at once: it is asking. */
		if (st->what != NULL)
			say("waiting for %s on phone '%s' (up to %d s)",
			    st->what, st->phone, (ms_left(st->p) + 999) / 1000);
	} else if (state == SKP_CALL_ONLINE) {
		if (st->offline)
			say("phone '%s' is online now", st->phone);
		dbg("the relay reached phone '%s'", st->phone);
	} else if (state == SKP_CALL_OFFLINE) {
		st->offline = 1;
		say("phone '%s' is offline: waiting up to %d s for it to "
		    "come online (SK_PHONE_OFFLINE_TIMEOUT)", st->phone,
		    p_offline_s(st));
	}
}

/*
 * The phone says, in an answer that verified, that it listens on another
 * mailbox now (mailbox rotate): the phones file follows, under the lock.
 */
static void
prov_moved(struct prov *p, const struct skp_store_pairing *ph,
    const struct skp_call_response *resp)
{
	char why[512];
	int rc;

	if ((rc = skp_store_phones_move(p->dir, ph->phone_id, resp->move_id,
	    resp->move_relay, why, sizeof(why))) != SKP_OK)
		say("phone '%s' moved to a new mailbox, and this computer "
		    "could not save it (%s): it keeps calling the old one, "
		    "which the phone drops once told or finished; pair again "
		    "if the phone stops answering", ph->phone_name, why);
	else
		dbg("phone '%s' moved to a new mailbox: saved",
		    ph->phone_name);
}

/*
 * Send one request envelope to a phone and return its CTAP answer: 0, or
 * the SSH_SK_ERR_* to give OpenSSH once the user has been told why.
 */
static int
prov_ask(struct prov *p, const struct skp_store_pairing *ph,
    struct skp_ctap_request *req, const char *what, uint8_t **ctap,
    size_t *ctap_len)
{
	struct skp_call_phone cp;
	struct skp_call_response resp;
	struct prov_status st;
	struct timespec now;
	char line[PROV_LINE_MAX];
	uint8_t *msg = NULL;
	size_t msglen = 0;
	int rc, ret = SSH_SK_ERR_GENERAL;

	memset(&resp, 0, sizeof(resp));
	*ctap = NULL;
	*ctap_len = 0;
	if (skp_random(req->id, sizeof(req->id)) != SKP_OK)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	req->time_ms = (uint64_t)now.tv_sec * 1000 +
	    (uint64_t)now.tv_nsec / 1000000;
	snprintf(req->ctx.computer_name, sizeof(req->ctx.computer_name),
	    "%s", ph->computer_name);
	if ((rc = skp_ctap_request_encode(req, &msg, &msglen)) != SKP_OK) {
		say("cannot encode the request: %s", skp_strerror(rc));
		goto out;
	}
	memset(&cp, 0, sizeof(cp));
	cp.name = ph->phone_name;
	cp.relay_url = ph->relay;
	cp.static_pub = ph->phone_pub;
	cp.mailbox_id = ph->mailbox_id;
	cp.request_psk = ph->request_psk;
	cp.pin = p->pin[0] != '\0' ? p->pin : NULL;
	cp.ca_file = ph->ca_file[0] != '\0' ? ph->ca_file : NULL;
	cp.tls_session_dir = p->dir;
	cp.offline_ms = p->offline_s * 1000;
	cp.keeper = keeper_prog();
	st.p = p;
	st.phone = ph->phone_name;
	st.what = what;
	st.last = 0;
	st.offline = 0;
	dbg("command 0x%02x to phone '%s' via %s, %zu bytes", req->command,
	    ph->phone_name, ph->relay, msglen);
	rc = skp_call(&cp, &p->identity, msg, msglen, ms_left(p), on_status,
	    &st, &resp);
	p->offline_seen = st.offline;
	dbg("call done: %s, status 0x%02x, %s%s%s", skp_strerror(rc),
	    resp.status, resp.via_keeper ? "through the keeper" : "directly",
	    resp.keeper_why[0] != '\0' ? ": " : "", resp.keeper_why);
	if (rc != SKP_OK && resp.keeper_lost) {
		say("the connection keeper (sk-phone keeper) went away during "
		    "the call to phone '%s' (%s): run the command again; "
		    "SK_PHONE_KEEPER=off connects directly", ph->phone_name,
		    resp.keeper_why);
		ret = SSH_SK_ERR_DEVICE_NOT_FOUND;
		goto out;
	}
	if (resp.clock_retried) {
		skp_call_clock_text(ph->phone_name, resp.clock_offset_ms, line,
		    sizeof(line));
		say("%s", line);
	}
	if (resp.moved)
		prov_moved(p, ph, &resp);
	if (rc == SKP_ERR_PIN_INVALID &&
	    resp.status == SKP_CTAP_PIN_BLOCKED) {
		/* Not "wrong PIN": asking again cannot help. */
		say("the PIN of phone '%s' is blocked after too many wrong "
		    "tries; unblock it on the phone", ph->phone_name);
		ret = SSH_SK_ERR_DEVICE_NOT_FOUND;
		goto out;
	}
	if (rc == SKP_ERR_LIMIT && resp.status == SKP_CTAP_CHANNEL_BUSY) {
		/* The phone's own answer, not the relay's: its queue of
		 * questions is full, or this one waited there too long. */
		say("phone '%s' is busy with other requests: try again when "
		    "they are answered%s%s%s", ph->phone_name,
		    resp.reason[0] != '\0' ? " (" : "", resp.reason,
		    resp.reason[0] != '\0' ? ")" : "");
		ret = SSH_SK_ERR_DEVICE_NOT_FOUND;
		goto out;
	}
	if (rc == SKP_ERR_UNSUPPORTED &&
	    resp.status == SKP_CTAP_UNSUPPORTED_ALGORITHM) {
		/*
		 * A phone without Ed25519 (an older one, or a browser's):
		 * its own reason says what to do, when it gives one.
		 */
		if (resp.reason[0] != '\0')
			say("phone '%s' cannot make this type of key: %s",
			    ph->phone_name, resp.reason);
		else
			say("phone '%s' cannot make this type of key: use "
			    "ecdsa-sk (ssh-keygen -t ecdsa-sk), or update the "
			    "phone", ph->phone_name);
		ret = SSH_SK_ERR_UNSUPPORTED;
		goto out;
	}
	if (rc == SKP_ERR_TIMEOUT &&
	    resp.status == SKP_CTAP_USER_ACTION_TIMEOUT) {
		/* The phone's own question timed out: it is on and asked. */
		say("phone '%s' asked, and nobody answered on it in time: run "
		    "the command again and answer on the phone", ph->phone_name);
		ret = SSH_SK_ERR_DEVICE_NOT_FOUND;
		goto out;
	}
	if (rc != SKP_OK) {
		ret = prov_error(p, ph, rc, resp.reason);
		goto out;
	}
	if (resp.ctap == NULL) {
		ret = prov_error(p, ph, SKP_ERR_FORMAT, "empty answer");
		goto out;
	}
	*ctap = resp.ctap;
	*ctap_len = resp.ctap_len;
	resp.ctap = NULL;
	ret = 0;
 out:
	skp_call_response_clear(&resp);
	if (msg != NULL) {
		skp_wipe(msg, msglen);
		free(msg);
	}
	return ret;
}

/* -- signatures ------------------------------------------------------ */

/* The COSE algorithm of an OpenSSH one, 0 for one sk-phone does not make. */
static int64_t
cose_alg(uint32_t alg)
{
	switch (alg) {
	case SSH_SK_ECDSA:
		return SKP_CTAP_COSE_ES256;
	case SSH_SK_ED25519:
		return SKP_CTAP_COSE_EDDSA;
	default:
		return 0;
	}
}

/*
 * r and s of a DER ECDSA signature, each 32 bytes big endian. Strict DER:
 * d2i_ECDSA_SIG() also takes BER forms (a long-form length where the
 * short one fits), so the signature must encode back to its own bytes.
 */
static int
sig_rs(const uint8_t *der, size_t len, uint8_t r[32], uint8_t s[32])
{
	const unsigned char *p = der;
	unsigned char again[SKP_P256_SIG_MAX], *q = again;
	const BIGNUM *br, *bs;
	ECDSA_SIG *sig;
	int rc = SKP_ERR_VERIFY;

	if (len > SKP_P256_SIG_MAX ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return SKP_ERR_VERIFY;
	if (p != der + len || i2d_ECDSA_SIG(sig, NULL) != (int)len ||
	    i2d_ECDSA_SIG(sig, &q) != (int)len ||
	    memcmp(again, der, len) != 0)
		goto out;
	ECDSA_SIG_get0(sig, &br, &bs);
	if (BN_bn2binpad(br, r, 32) != 32 || BN_bn2binpad(bs, s, 32) != 32)
		goto out;
	rc = SKP_OK;
 out:
	ECDSA_SIG_free(sig);
	return rc;
}

/* -- options --------------------------------------------------------- */

static int
parse_options(struct sk_option **options, const char **device,
    const char **user)
{
	size_t i;

	*device = NULL;
	if (user != NULL)
		*user = NULL;
	for (i = 0; options != NULL && options[i] != NULL; i++) {
		const struct sk_option *o = options[i];

		if (o->name == NULL || o->value == NULL)
			continue;
		if (strcmp(o->name, "device") == 0) {
			*device = o->value;
		} else if (strcmp(o->name, "user") == 0 && user != NULL) {
			*user = o->value;
		} else if (o->required) {
			say("option '%s' is not supported", o->name);
			return SSH_SK_ERR_UNSUPPORTED;
		} else
			dbg("option '%s' ignored", o->name);
	}
	if (*device != NULL && **device == '\0')
		*device = NULL;
	if (user != NULL && *user != NULL &&
	    strlen(*user) > PROV_USER_MAX) {
		say("user name '%s' is longer than %d bytes", *user,
		    PROV_USER_MAX);
		return SSH_SK_ERR_GENERAL;
	}
	return 0;
}

static const char *
pin_or_null(const char *pin)
{
	return pin != NULL && *pin != '\0' ? pin : NULL;
}

static int
set_pin(struct prov *p, const char *pin)
{
	skp_wipe(p->pin, sizeof(p->pin));
	if ((pin = pin_or_null(pin)) == NULL)
		return 0;
	if (strlen(pin) > SKP_CTAP_PIN_MAX) {
		say("the PIN is longer than %d bytes", SKP_CTAP_PIN_MAX);
		return SSH_SK_ERR_GENERAL;
	}
	snprintf(p->pin, sizeof(p->pin), "%s", pin);
	return 0;
}

static uint8_t *
dup_bytes(const void *p, size_t n)
{
	uint8_t *q;

	if ((q = malloc(n == 0 ? 1 : n)) != NULL && n > 0)
		memcpy(q, p, n);
	return q;
}

static void
enroll_response_free(struct sk_enroll_response *r)
{
	if (r == NULL)
		return;
	free(r->public_key);
	free(r->key_handle);
	free(r->signature);
	free(r->attestation_cert);
	free(r->authdata);
	free(r);
}

/* authData as OpenSSH keeps it for attestation: a CBOR byte string. */
static int
cbor_bstr(const uint8_t *p, size_t n, uint8_t **out, size_t *outlen)
{
	uint8_t *b;
	size_t hl;

	if (n > UINT16_MAX)
		return SKP_ERR_TOO_LARGE;
	hl = n < 24 ? 1 : n < 256 ? 2 : 3;
	if ((b = malloc(hl + n)) == NULL)
		return SKP_ERR_NOMEM;
	if (hl == 1) {
		b[0] = (uint8_t)(0x40 | n);
	} else if (hl == 2) {
		b[0] = 0x58;
		b[1] = (uint8_t)n;
	} else {
		b[0] = 0x59;
		b[1] = (uint8_t)(n >> 8);
		b[2] = (uint8_t)n;
	}
	memcpy(b + hl, p, n);
	*out = b;
	*outlen = hl + n;
	return SKP_OK;
}

/*
 * 1 when our parent is ssh-agent: the key was added with `ssh-add`, and
 * the agent's ssh-sk-helper signs for any ssh the agent serves. By the
 * base name of /proc/PPID/exe, else (Debian's ssh-agent is setgid, its
 * exe link is not ours to read) by its comm.
 */
static int
under_agent(void)
{
	char path[64], name[PATH_MAX];
	const char *base;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)getppid());
	if ((n = readlink(path, name, sizeof(name) - 1)) > 0) {
		name[n] = '\0';
		if ((base = strrchr(name, '/')) != NULL)
			base++;
		else
			base = name;
		return strcmp(base, "ssh-agent") == 0 ||
		    strcmp(base, "ssh-agent (deleted)") == 0;
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)getppid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, name, sizeof(name) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	return strcmp(name, "ssh-agent") == 0;
}

/*
 * The session id's length when data is an SSH userauth request (string
 * session id, byte 50, ...), else 0. The phone parses it strictly.
 */
static size_t
login_session_id(const uint8_t *data, size_t len)
{
	uint32_t n;

	if (data == NULL || len < 5)
		return 0;
	n = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	    (uint32_t)data[2] << 8 | data[3];
	if (n == 0 || n > 64 || len < 4 + (size_t)n + 1 ||
	    data[4 + n] != 50)
		return 0;
	return n;
}

/*
 * What `sk-phone proxy` (ssh's ProxyCommand) saw of the server. For a
 * login, the record whose host signed this session id: first the one
 * left under our parent's pid (ssh is the parent of both, unless we run
 * under ssh-agent), else any fresh one of the folder. The phone checks
 * the signature again and pins the host key.
 */
static void
add_host_info(struct skp_ctap_context *ctx, const uint8_t *data, size_t len)
{
	struct skp_hostinfo *hi;
	size_t sidlen;
	int agent, rc;

	if ((agent = under_agent()) != 0) {
		ctx->origin = SKP_CTAP_ORIGIN_AGENT;
		dbg("signing through ssh-agent");
	}
	if ((hi = calloc(1, sizeof(*hi))) == NULL)
		return;
	if ((sidlen = login_session_id(data, len)) != 0) {
		rc = skp_hostinfo_match(data + 4, sidlen, getppid(), hi);
		/*
		 * ssh's own record that does not verify still goes: the
		 * phone says why (an ssh-rsa host, another session's).
		 */
		if (rc != SKP_OK && !agent) {
			dbg("no host information verifies over this session "
			    "(%s)", skp_strerror(rc));
			rc = skp_hostinfo_read(getppid(), hi);
		}
	} else
		rc = skp_hostinfo_read(getppid(), hi);
	if (rc != SKP_OK) {
		dbg("no host information from sk-phone proxy (%s)",
		    skp_strerror(rc));
		goto out;
	}
	if (hi->hostkey_len > sizeof(ctx->host.host_key) ||
	    hi->sig_len > sizeof(ctx->host.signature) ||
	    strlen(hi->host) >= sizeof(ctx->host.name) ||
	    strlen(hi->kex) >= sizeof(ctx->host.kex)) {
		dbg("host information too large to send");
		goto out;
	}
	snprintf(ctx->host.name, sizeof(ctx->host.name), "%s", hi->host);
	ctx->host.port = hi->port;
	memcpy(ctx->host.host_key, hi->hostkey, hi->hostkey_len);
	ctx->host.host_key_len = hi->hostkey_len;
	memcpy(ctx->host.signature, hi->sig, hi->sig_len);
	ctx->host.signature_len = hi->sig_len;
	snprintf(ctx->host.kex, sizeof(ctx->host.kex), "%s", hi->kex);
	ctx->has_host = 1;
	dbg("host information for %s port %u (the record of ssh pid %lu)",
	    hi->host, (unsigned int)hi->port, (unsigned long)hi->pid);
 out:
	free(hi);
}

/* -- the entry points ------------------------------------------------ */

uint32_t
sk_api_version(void)
{
	return SKP_SK_API_VERSION;
}

int
sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **enroll_response)
{
	struct prov *p = NULL;
	const struct skp_store_pairing *ph = NULL;
	struct skp_ctap_request *req = NULL;
	struct skp_ctap_mc_resp mc;
	struct skp_verify_cred vc;
	struct skp_keyhandle kh;
	struct sk_enroll_response *r = NULL;
	uint8_t *ctap = NULL, khbuf[SKP_KEYHANDLE_MAX];
	size_t ctap_len = 0, khlen = 0;
	const char *device, *user;
	int64_t calg;
	int rc, ret = SSH_SK_ERR_GENERAL;

	memset(&mc, 0, sizeof(mc));
	memset(&vc, 0, sizeof(vc));
	if ((p = prov_new()) == NULL)
		goto out;
	if (enroll_response == NULL) {
		say("enroll: no place for the answer");
		goto out;
	}
	*enroll_response = NULL;
	if ((calg = cose_alg(alg)) == 0) {
		say("only ecdsa-sk and ed25519-sk keys are supported "
		    "(ssh-keygen -t ecdsa-sk or -t ed25519-sk)");
		ret = SSH_SK_ERR_UNSUPPORTED;
		goto out;
	}
	if (challenge == NULL || challenge_len == 0 ||
	    challenge_len > PROV_CHALLENGE_MAX || application == NULL ||
	    *application == '\0' ||
	    strlen(application) > SKP_CTAP_RP_ID_MAX) {
		say("enroll: invalid challenge or application");
		goto out;
	}
	if ((ret = parse_options(options, &device, &user)) != 0)
		goto out;
	ret = SSH_SK_ERR_GENERAL;
	/* Ask for the PIN before bothering the phone's owner. */
	if ((flags & SSH_SK_USER_VERIFICATION_REQD) &&
	    pin_or_null(pin) == NULL) {
		dbg("verify-required without a PIN: asking for one");
		ret = SSH_SK_ERR_PIN_REQUIRED;
		goto out;
	}
	if ((ret = prov_load(p)) != 0 || (ret = prov_pick(p, device, &ph)) != 0)
		goto out;
	ret = SSH_SK_ERR_GENERAL;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		goto out;
	req->command = SKP_CTAP_MAKE_CREDENTIAL;
	req->mc.alg = calg;
	/* The phone checks SHA-256(raw) == clientDataHash before showing. */
	if (skp_sha256(challenge, challenge_len, req->mc.cdh) != SKP_OK)
		goto out;
	req->ctx.has_raw = 1;
	memcpy(req->ctx.raw, challenge, challenge_len);
	req->ctx.raw_len = challenge_len;
	snprintf(req->mc.rp_id, sizeof(req->mc.rp_id), "%s", application);
	snprintf(req->mc.rp_name, sizeof(req->mc.rp_name), "%s", application);
	req->mc.user_id_len = PROV_USER_ID_LEN;
	if (user != NULL)
		memcpy(req->mc.user_id, user, strlen(user));
	snprintf(req->mc.user_name, sizeof(req->mc.user_name), "%s",
	    user != NULL ? user : "openssh");
	snprintf(req->mc.user_display_name,
	    sizeof(req->mc.user_display_name), "%s",
	    user != NULL ? user : "openssh");
	req->mc.rk = (flags & SSH_SK_RESIDENT_KEY) ? 1 : SKP_CTAP_OPT_ABSENT;
	req->mc.up = SKP_CTAP_OPT_ABSENT;
	req->mc.uv = (flags & SSH_SK_USER_VERIFICATION_REQD) ? 1 :
	    SKP_CTAP_OPT_ABSENT;
	if (flags & SSH_SK_USER_VERIFICATION_REQD)
		req->mc.cred_protect = PROV_CRED_PROTECT_UV_REQUIRED;
	else if (flags & SSH_SK_RESIDENT_KEY)
		req->mc.cred_protect = PROV_CRED_PROTECT_UV_OPTIONAL_WITH_ID;
	req->ctx.overwrite = (flags & SSH_SK_FORCE_OPERATION) != 0;
	if ((ret = set_pin(p, pin)) != 0)
		goto out;
	if ((ret = prov_ask(p, ph, req, "approval of a new key", &ctap,
	    &ctap_len)) != 0)
		goto out;
	ret = SSH_SK_ERR_GENERAL;
	/*
	 * Self attestation, rpIdHash, UP and UV as asked: libfido2; a key
	 * of the type asked for, and the attStmt's alg its own.
	 */
	if ((rc = skp_ctap_mc_resp_decode(ctap, ctap_len, &mc)) != SKP_OK ||
	    (rc = mc.alg == calg ? SKP_OK : SKP_ERR_VERIFY) != SKP_OK ||
	    (rc = skp_verify_make_credential(application, req->mc.cdh,
	    mc.authdata, mc.authdata_len, "packed", mc.alg, mc.sig,
	    mc.sig_len, (flags & SSH_SK_USER_VERIFICATION_REQD) != 0,
	    &vc)) != SKP_OK) {
		dbg("makeCredential answer refused: %s", skp_strerror(rc));
		ret = prov_error(p, ph, SKP_ERR_VERIFY, NULL);
		goto out;
	}
	memset(&kh, 0, sizeof(kh));
	memcpy(kh.phone_id, ph->phone_id, sizeof(kh.phone_id));
	memcpy(kh.pub, vc.pub, sizeof(kh.pub));
	kh.alg = vc.alg;
	if (vc.cred_id_len > sizeof(kh.cred_id) || vc.alg != calg)
		goto out;
	memcpy(kh.cred_id, vc.cred_id, vc.cred_id_len);
	kh.cred_id_len = vc.cred_id_len;
	if ((rc = skp_keyhandle_encode(&kh, khbuf, sizeof(khbuf), &khlen)) !=
	    SKP_OK) {
		ret = prov_error(p, ph, rc, "key handle");
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->public_key = dup_bytes(vc.pub, vc.pub_len)) == NULL ||
	    (r->key_handle = dup_bytes(khbuf, khlen)) == NULL ||
	    (r->signature = dup_bytes(mc.sig, mc.sig_len)) == NULL ||
	    (r->attestation_cert = dup_bytes("", 0)) == NULL ||
	    cbor_bstr(mc.authdata, mc.authdata_len, &r->authdata,
	    &r->authdata_len) != SKP_OK)
		goto out;
	r->public_key_len = vc.pub_len;
	r->key_handle_len = khlen;
	r->signature_len = mc.sig_len;
	r->attestation_cert_len = 0;
	/* OpenSSH stores these as the key's flags: without UP, sshd refuses
	 * every login with the key. */
	r->flags = (uint8_t)(flags & PROV_FLAGS_KEPT);
	*enroll_response = r;
	r = NULL;
	say("phone '%s' made the key", ph->phone_name);
	ret = 0;
 out:
	enroll_response_free(r);
	if (ctap != NULL) {
		skp_wipe(ctap, ctap_len);
		free(ctap);
	}
	if (req != NULL) {
		skp_ctap_request_clear(req);
		free(req);
	}
	prov_free(&p);
	return ret;
}

static void
sign_response_free(struct sk_sign_response *r)
{
	if (r == NULL)
		return;
	free(r->sig_r);
	free(r->sig_s);
	free(r);
}

int
sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle,
    size_t key_handle_len, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_sign_response **sign_response)
{
	struct prov *p = NULL;
	const struct skp_store_pairing *ph = NULL;
	struct skp_ctap_request *req = NULL;
	struct skp_ctap_ga_resp ga;
	struct skp_keyhandle kh;
	struct sk_sign_response *r = NULL;
	uint8_t *ctap = NULL, sig_r[SKP_ED25519_SIG_LEN], sig_s[32];
	uint8_t sflags = 0;
	size_t rlen = 32;
	int64_t calg;
	uint32_t counter = 0;
	size_t ctap_len = 0;
	const char *device;
	int rc, ret = SSH_SK_ERR_GENERAL;

	memset(&ga, 0, sizeof(ga));
	if ((p = prov_new()) == NULL)
		goto out;
	if (sign_response == NULL) {
		say("sign: no place for the answer");
		goto out;
	}
	*sign_response = NULL;
	if ((calg = cose_alg(alg)) == 0) {
		say("only ecdsa-sk and ed25519-sk keys are supported");
		ret = SSH_SK_ERR_UNSUPPORTED;
		goto out;
	}
	if ((data == NULL && data_len > 0) || data_len > SKP_CTAP_RAW_MAX ||
	    key_handle == NULL || application == NULL ||
	    *application == '\0' ||
	    strlen(application) > SKP_CTAP_RP_ID_MAX) {
		say("sign: invalid data, application or key handle");
		goto out;
	}
	if ((ret = parse_options(options, &device, NULL)) != 0)
		goto out;
	ret = SSH_SK_ERR_GENERAL;
	if ((rc = skp_keyhandle_decode(key_handle, key_handle_len, &kh)) !=
	    SKP_OK) {
		say("this key was not made by sk-phone (%s)",
		    skp_strerror(rc));
		goto out;
	}
	if (kh.alg != calg) {
		say("this key's handle is for %s, not %s: the key file is "
		    "damaged", kh.alg == SKP_CTAP_COSE_EDDSA ? "ed25519-sk" :
		    "ecdsa-sk", alg == SSH_SK_ED25519 ? "ed25519-sk" :
		    "ecdsa-sk");
		goto out;
	}
	if ((ret = prov_load(p)) != 0)
		goto out;
	ret = SSH_SK_ERR_GENERAL;
	if (skp_store_phones_find_id(p->phones, kh.phone_id, &ph) != SKP_OK) {
		char hex[2 * SKP_PHONE_ID_LEN + 1];

		skp_hex(kh.phone_id, sizeof(kh.phone_id), hex);
		say("the phone that holds this key (id %.8s) is not paired "
		    "with this computer (`sk-phone status` shows the ids of "
		    "the paired phones): run `sk-phone pair` with it", hex);
		ret = SSH_SK_ERR_DEVICE_NOT_FOUND;
		goto out;
	}
	if ((flags & SSH_SK_USER_VERIFICATION_REQD) &&
	    pin_or_null(pin) == NULL) {
		dbg("verify-required key without a PIN: asking for one");
		ret = SSH_SK_ERR_PIN_REQUIRED;
		goto out;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL)
		goto out;
	req->command = SKP_CTAP_GET_ASSERTION;
	/* OpenSSH passes the raw message: hash it here, once. */
	if (skp_sha256(data == NULL ? (const uint8_t *)"" : data, data_len,
	    req->ga.cdh) != SKP_OK)
		goto out;
	req->ctx.has_raw = 1;
	if (data_len > 0)
		memcpy(req->ctx.raw, data, data_len);
	req->ctx.raw_len = data_len;
	snprintf(req->ga.rp_id, sizeof(req->ga.rp_id), "%s", application);
	memcpy(req->ga.allow[0].id, kh.cred_id, kh.cred_id_len);
	req->ga.allow[0].id_len = kh.cred_id_len;
	req->ga.nallow = 1;
	req->ga.up = (flags & SSH_SK_USER_PRESENCE_REQD) ? 1 : 0;
	req->ga.uv = (flags & SSH_SK_USER_VERIFICATION_REQD) ? 1 :
	    SKP_CTAP_OPT_ABSENT;
	if ((ret = set_pin(p, pin)) != 0)
		goto out;
	add_host_info(&req->ctx, data, data_len);
	/*
	 * A no-touch-required key too: a phone signs it at once (no line,
	 * the answer comes before SKP_CALL_SLOW), unless its owner keeps
	 * asking (run --no-touch ask); then the wait is announced.
	 */
	if ((ret = prov_ask(p, ph, req, "approval", &ctap, &ctap_len)) != 0)
		goto out;
	ret = SSH_SK_ERR_GENERAL;
	if ((rc = skp_ctap_ga_resp_decode(ctap, ctap_len, &ga)) != SKP_OK) {
		ret = prov_error(p, ph, SKP_ERR_VERIFY, NULL);
		goto out;
	}
	/* The credential that answered must be ours, when named. */
	if (ga.cred.id_len != 0 && (ga.cred.id_len != kh.cred_id_len ||
	    memcmp(ga.cred.id, kh.cred_id, kh.cred_id_len) != 0)) {
		ret = prov_error(p, ph, SKP_ERR_VERIFY, NULL);
		goto out;
	}
	/* Signature by the key in the key handle, rpIdHash, exactly 37
	 * bytes of authData, UP and UV as asked: libfido2. */
	if ((rc = skp_verify_assertion_alg(application, req->ga.cdh, calg,
	    kh.pub, ga.authdata, ga.authdata_len, ga.sig, ga.sig_len,
	    (flags & SSH_SK_USER_PRESENCE_REQD) != 0,
	    (flags & SSH_SK_USER_VERIFICATION_REQD) != 0, &sflags,
	    &counter)) != SKP_OK) {
		dbg("assertion refused: %s", skp_strerror(rc));
		ret = prov_error(p, ph, SKP_ERR_VERIFY, NULL);
		goto out;
	}
	/* Ed25519: the 64-byte signature whole in sig_r; ECDSA: r and s. */
	if (calg == SKP_CTAP_COSE_EDDSA) {
		memcpy(sig_r, ga.sig, SKP_ED25519_SIG_LEN);
		rlen = SKP_ED25519_SIG_LEN;
	} else if ((rc = sig_rs(ga.sig, ga.sig_len, sig_r, sig_s)) !=
	    SKP_OK) {
		dbg("assertion refused: %s", skp_strerror(rc));
		ret = prov_error(p, ph, SKP_ERR_VERIFY, NULL);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->sig_r = dup_bytes(sig_r, rlen)) == NULL ||
	    (calg == SKP_CTAP_COSE_ES256 &&
	    (r->sig_s = dup_bytes(sig_s, sizeof(sig_s))) == NULL))
		goto out;
	r->sig_r_len = rlen;
	r->sig_s_len = calg == SKP_CTAP_COSE_ES256 ? sizeof(sig_s) : 0;
	r->flags = sflags;
	r->counter = counter;
	*sign_response = r;
	r = NULL;
	dbg("signature from phone '%s' verified", ph->phone_name);
	ret = 0;
 out:
	sign_response_free(r);
	if (ctap != NULL) {
		skp_wipe(ctap, ctap_len);
		free(ctap);
	}
	if (req != NULL) {
		skp_ctap_request_clear(req);
		free(req);
	}
	prov_free(&p);
	return ret;
}

static void
resident_free(struct sk_resident_key *rk)
{
	if (rk == NULL)
		return;
	free(rk->application);
	free(rk->key.public_key);
	free(rk->key.key_handle);
	free(rk->key.signature);
	free(rk->key.attestation_cert);
	free(rk->key.authdata);
	free(rk->user_id);
	free(rk);
}

static void
residents_free(struct sk_resident_key **rks, size_t n)
{
	size_t i;

	if (rks == NULL)
		return;
	for (i = 0; i < n; i++)
		resident_free(rks[i]);
	free(rks);
}

/* Append one phone's ssh: credentials to the list. */
static int
residents_add(const struct skp_store_pairing *ph,
    const struct skp_ctap_cred *creds, size_t ncreds,
    struct sk_resident_key ***rks, size_t *nrks)
{
	struct sk_resident_key **grown, *rk = NULL;
	struct skp_keyhandle kh;
	uint8_t khbuf[SKP_KEYHANDLE_MAX];
	size_t i, khlen;
	int ret = SSH_SK_ERR_GENERAL;

	for (i = 0; i < ncreds; i++) {
		const struct skp_ctap_cred *c = &creds[i];

		if (!c->has_rp || strncmp(c->rp_id, PROV_APP_PREFIX,
		    strlen(PROV_APP_PREFIX)) != 0) {
			dbg("skipping credential for '%s'", c->rp_id);
			continue;
		}
		if ((c->alg == SKP_CTAP_COSE_EDDSA ?
		    skp_ed25519_check_public(c->pub) :
		    c->alg == SKP_CTAP_COSE_ES256 ?
		    skp_p256_check_public(c->pub) : SKP_ERR_UNSUPPORTED) !=
		    SKP_OK || c->cred.id_len > sizeof(kh.cred_id))
			continue;
		memset(&kh, 0, sizeof(kh));
		memcpy(kh.phone_id, ph->phone_id, sizeof(kh.phone_id));
		memcpy(kh.pub, c->pub, sizeof(kh.pub));
		kh.alg = c->alg;
		memcpy(kh.cred_id, c->cred.id, c->cred.id_len);
		kh.cred_id_len = c->cred.id_len;
		if (skp_keyhandle_encode(&kh, khbuf, sizeof(khbuf), &khlen) !=
		    SKP_OK)
			continue;
		if ((rk = calloc(1, sizeof(*rk))) == NULL ||
		    (rk->application = strdup(c->rp_id)) == NULL ||
		    (rk->key.public_key = dup_bytes(c->pub,
		    skp_authdata_pub_len(c->alg))) == NULL ||
		    (rk->key.key_handle = dup_bytes(khbuf, khlen)) == NULL ||
		    (rk->user_id = dup_bytes(c->user_id,
		    c->user_id_len)) == NULL)
			goto out;
		rk->alg = c->alg == SKP_CTAP_COSE_EDDSA ? SSH_SK_ED25519 :
		    SSH_SK_ECDSA;
		rk->slot = *nrks;
		rk->key.public_key_len = skp_authdata_pub_len(c->alg);
		rk->key.key_handle_len = khlen;
		rk->key.flags = SSH_SK_USER_PRESENCE_REQD |
		    SSH_SK_RESIDENT_KEY;
		rk->user_id_len = c->user_id_len;
		if (c->cred_protect == PROV_CRED_PROTECT_UV_REQUIRED) {
			rk->flags |= SSH_SK_USER_VERIFICATION_REQD;
			rk->key.flags |= SSH_SK_USER_VERIFICATION_REQD;
		}
		if (*nrks >= SIZE_MAX / sizeof(*grown) - 1 ||
		    (grown = realloc(*rks, (*nrks + 1) *
		    sizeof(*grown))) == NULL)
			goto out;
		*rks = grown;
		(*rks)[(*nrks)++] = rk;
		rk = NULL;
	}
	ret = 0;
 out:
	resident_free(rk);
	return ret;
}

int
sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rksp, size_t *nrksp)
{
	struct prov *p = NULL;
	const struct skp_store_pairing *ph, *only = NULL;
	struct skp_ctap_request *req = NULL;
	struct skp_ctap_cred *creds = NULL;
	struct sk_resident_key **rks = NULL;
	uint8_t *ctap = NULL;
	size_t ctap_len = 0, ncreds = 0, nrks = 0, i, n;
	const char *device;
	int rc, ret = SSH_SK_ERR_GENERAL, ok = 0, last = 0;

	if ((p = prov_new()) == NULL)
		goto out;
	if (rksp == NULL || nrksp == NULL) {
		say("load resident keys: no place for the answer");
		goto out;
	}
	*rksp = NULL;
	*nrksp = 0;
	if ((ret = parse_options(options, &device, NULL)) != 0 ||
	    (ret = prov_load(p)) != 0)
		goto out;
	ret = SSH_SK_ERR_GENERAL;
	if (device != NULL && (ret = prov_pick(p, device, &only)) != 0)
		goto out;
	n = skp_store_phones_count(p->phones);
	for (i = 0; i < n; i++) {
		ph = skp_store_phones_at(p->phones, i);
		if (only != NULL && ph != only)
			continue;
		if ((req = calloc(1, sizeof(*req))) == NULL)
			goto out;
		req->command = SKP_CTAP_CRED_MGMT;
		req->cm.subcommand = SKP_CTAP_CM_ENUM_CREDS;
		req->cm.has_rp_id_hash = 0;
		if ((ret = set_pin(p, pin)) != 0)
			goto out;
		last = prov_ask(p, ph, req, "approval to list its keys", &ctap,
		    &ctap_len);
		skp_ctap_request_clear(req);
		free(req);
		req = NULL;
		if (last != 0)
			continue;
		rc = skp_ctap_creds_decode(ctap, ctap_len,
		    SKP_CTAP_CM_ENUM_CREDS, 1, &creds, &ncreds);
		skp_wipe(ctap, ctap_len);
		free(ctap);
		ctap = NULL;
		if (rc != SKP_OK) {
			last = prov_error(p, ph, SKP_ERR_VERIFY, NULL);
			continue;
		}
		dbg("phone '%s' holds %zu resident credential(s)",
		    ph->phone_name, ncreds);
		if ((ret = residents_add(ph, creds, ncreds, &rks, &nrks)) != 0)
			goto out;
		skp_ctap_creds_free(&creds, ncreds);
		ncreds = 0;
		ok++;
	}
	/* Keys from the phones that answered; a failure only if none did. */
	if (ok == 0) {
		ret = last != 0 ? last : SSH_SK_ERR_GENERAL;
		goto out;
	}
	*rksp = rks;
	*nrksp = nrks;
	rks = NULL;
	nrks = 0;
	ret = 0;
 out:
	residents_free(rks, nrks);
	skp_ctap_creds_free(&creds, ncreds);
	if (ctap != NULL) {
		skp_wipe(ctap, ctap_len);
		free(ctap);
	}
	if (req != NULL) {
		skp_ctap_request_clear(req);
		free(req);
	}
	prov_free(&p);
	return ret;
}
