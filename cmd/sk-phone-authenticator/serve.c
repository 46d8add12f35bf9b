/* The phone's "run": stay on the relay and answer paired computers. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"
#include "sk-phone/relayurl.h"

#include "audit.h"
#include "handle.h"
#include "hostcheck.h"
#include "phstate.h"
#include "prompt.h"
#include "serve.h"
#include "sshmsg.h"

#define CONNECT_TIMEOUT_MS	10000
#define POLL_MAX_MS		1000
/* Calls waiting for the PIN (transport message 3), and how long. */
#define PIN_WAIT_MAX		8
#define PIN_WAIT_MS		10000
/* After a rotation seen while running, listen again this much later. */
#define RELISTEN_DELAY_MS	500

static volatile sig_atomic_t stopping;

#define nitems_flood	SKP_PH_MAX_COMPUTERS

/*
 * A call as serve knows it: the relay's channel id, and above it which
 * connection: 0 the mailbox, OLD_CHAN the one before a rotation.
 */
typedef uint64_t chan_t;
#define OLD_CHAN	((chan_t)1 << 32)

struct serve {
	struct skp_handler		*h;
	const struct skp_serve_opts	*o;
	skp_relay_t			*relay;
	/*
	 * After "mailbox rotate": the old mailbox, listened on until every
	 * computer paired then has called the new one (drop_old: then,
	 * once nothing on it waits), or "mailbox rotate --finish".
	 */
	skp_relay_t			*old;
	int				 drop_old;
	/*
	 * The mailbox the main connection proved; relisten: a rotation
	 * made while running was seen, listen again (both mailboxes) at
	 * relisten_at (boot clock), once no question or PIN wait is open,
	 * so that the answer just sent reaches its computer first.
	 */
	uint8_t				 listen_id[SKP_MAILBOX_ID_LEN];
	int				 relisten;
	uint64_t			 relisten_at;
	struct skp_prompt		 prompt;
	struct skp_req			*pending;	/* the owner's */
	chan_t			 pending_chan;
	/*
	 * Requests for the owner that came while a question was open: asked
	 * in turn (FIFO), each within its own --timeout; since: when it
	 * came (wall clock, ms, as prompt deadlines are).
	 */
	struct {
		struct skp_req	*r;
		chan_t		 chan;
		uint64_t	 since;
	}				 queue[SKP_SERVE_QUEUE_MAX];
	size_t				 nqueue;
	/*
	 * Messages that decrypt for no paired computer: counted, and
	 * summarized in one audit line at most every
	 * SKP_SERVE_JUNK_SUMMARY_MS (not fsync()ed), so a flood of junk
	 * costs neither the log nor the disk.
	 */
	uint64_t			 junk;		/* not yet logged */
	uint64_t			 junk_next;	/* boot clock, ms */
	/* Computers whose replay share is full: one line per flood. */
	struct {
		char		name[SKP_NAME_MAX + 1];
		uint64_t	refused;
	}				 flood[SKP_PH_MAX_COMPUTERS];
	int				 taken;		/* closed by 4007 */
	/* Asked for the PIN: the computer sends it right away, or not. */
	struct {
		struct skp_req		*r;
		chan_t		 chan;
		uint64_t		 until;
	} pinwait[PIN_WAIT_MAX];
	/*
	 * Calls that brought no message yet, hung up when silent for
	 * o->silent_ms: someone who knows the mailbox id cannot hold the
	 * relay's calls to it open with nothing.
	 */
	struct {
		chan_t	chan;
		uint64_t	due;		/* boot clock, ms */
	}				 silent[SKP_SERVE_SILENT_MAX];
	size_t				 nsilent;
	uint64_t			 silent_hung;	/* since the last line */
};

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
clock_text(char out[16])
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, 16, "%H:%M:%S", &tm) == 0)
		snprintf(out, 16, "--:--:--");
}

static skp_relay_t *
conn_of(const struct serve *s, chan_t chan)
{
	return (chan & OLD_CHAN) != 0 ? s->old : s->relay;
}

static int
chan_send(struct serve *s, chan_t chan, const uint8_t *p, size_t n)
{
	skp_relay_t *r = conn_of(s, chan);

	if (r == NULL)
		return SKP_ERR_STATE;
	return skp_relay_send(r, (uint32_t)chan, p, n);
}

static void
chan_hangup(struct serve *s, chan_t chan)
{
	skp_relay_t *r = conn_of(s, chan);

	if (r != NULL)
		(void)skp_relay_hangup(r, (uint32_t)chan);
}

static int
is_login(const struct skp_req *r)
{
	return r->req.command == SKP_CTAP_GET_ASSERTION &&
	    r->msg.kind == SKP_SSHMSG_USERAUTH;
}

/* A getAssertion that does not ask for the owner's presence (up=false:
 * a key made with ssh-keygen -O no-touch-required). */
static int
is_no_touch(const struct skp_req *r)
{
	return r->req.command == SKP_CTAP_GET_ASSERTION && r->req.ga.up == 0;
}

/*
 * The login's host is verified: its key pinned, or certified by a CA the
 * phone trusts for it. Only these may a window cover.
 */
static int
host_verified(const struct skp_req *r)
{
	return r->host.state == SKP_HOSTCHECK_PINNED ||
	    r->host.state == SKP_HOSTCHECK_CERT;
}

/* Context key 6: the computer signs through ssh-agent. */
static int
through_agent(const struct skp_req *r)
{
	return r->req.ctx.origin == SKP_CTAP_ORIGIN_AGENT;
}

/*
 * One line on stdout and one in the audit log per decision; a signature
 * made without asking is a notice of its own, and a request that waited
 * too long in the queue says so.
 */
static void
record(struct serve *s, const struct skp_req *r, const char *decision)
{
	struct skp_audit_entry e;
	char comp[300], subj[300], host[300], when[16];
	const char *via = through_agent(r) ? SKP_SERVE_AGENT_TEXT : "";
	int rc;

	memset(&e, 0, sizeof(e));
	e.time = now_ms() / 1000;
	e.computer = r->computer.name[0] != '\0' ? r->computer.name : NULL;
	e.op = r->op != NULL ? r->op : "request";
	e.subject = r->subject[0] != '\0' ? r->subject : NULL;
	e.host = r->host.host[0] != '\0' ? r->host.host : NULL;
	e.verified = skp_hostcheck_verified_word(&r->host, is_login(r));
	e.key = r->key_fp[0] != '\0' ? r->key_fp : NULL;
	e.decision = decision;
	e.max_bytes = s->o->audit_max_bytes;
	if ((rc = skp_audit_append(s->o->audit_dirfd, &e)) != SKP_OK)
		fprintf(stderr, "sk-phone-authenticator: audit log: %s\n",
		    skp_strerror(rc));
	skp_sshmsg_printable(e.computer == NULL ? "-" : e.computer, comp,
	    sizeof(comp));
	skp_sshmsg_printable(e.subject == NULL ? "-" : e.subject, subj,
	    sizeof(subj));
	skp_sshmsg_printable(e.host == NULL ? "unknown host" : e.host, host,
	    sizeof(host));
	clock_text(when);
	if (strcmp(decision, "allow-no-touch") == 0) {
		if (is_login(r))
			printf("%s signed without asking: no-touch-required "
			    "key %s, for computer \"%s\", host %s%s (user %s, "
			    "verified %s)\n", when, e.key != NULL ? e.key :
			    "-", comp, host, via, subj, e.verified);
		else
			printf("%s signed without asking: no-touch-required "
			    "key %s, for computer \"%s\", %s [%s]\n", when,
			    e.key != NULL ? e.key : "-", comp, e.op, subj);
		fflush(stdout);
		return;
	}
	if (strcmp(decision, "refused-waited") == 0)
		decision = SKP_SERVE_WAITED_TEXT " (refused-waited)";
	if (is_login(r))
		printf("%s computer \"%s\": %s [%s @ %s%s, verified %s]: %s\n",
		    when, comp, e.op, subj, host, via, e.verified, decision);
	else
		printf("%s computer \"%s\": %s [%s]: %s\n", when, comp, e.op,
		    subj, decision);
	fflush(stdout);
}

/* One line for the junk counted since the last one. */
static void
junk_summary(struct serve *s)
{
	struct skp_audit_entry e;
	char subj[64], when[16];
	int rc;

	if (s->junk == 0)
		return;
	snprintf(subj, sizeof(subj), "%llu message%s",
	    (unsigned long long)s->junk, s->junk == 1 ? "" : "s");
	memset(&e, 0, sizeof(e));
	e.time = now_ms() / 1000;
	e.op = "request";
	e.subject = subj;
	e.decision = "refused-not-paired";
	e.no_sync = 1;
	e.max_bytes = s->o->audit_max_bytes;
	if ((rc = skp_audit_append(s->o->audit_dirfd, &e)) != SKP_OK)
		fprintf(stderr, "sk-phone-authenticator: audit log: %s\n",
		    skp_strerror(rc));
	clock_text(when);
	printf("%s %s from no paired computer: refused-not-paired "
	    "(counted, at most one line a minute)\n", when, subj);
	fflush(stdout);
	s->junk = 0;
	s->junk_next = boot_ms() + SKP_SERVE_JUNK_SUMMARY_MS;
}

/*
 * A computer whose replay share is full: its first refusal is logged,
 * the rest counted until one of its requests gets through again.
 * 1: the line is logged as usual; 0: counted only.
 */
static int
flood_note(struct serve *s, const struct skp_req *r, int flooding)
{
	size_t i, free_slot = nitems_flood;
	char comp[300], when[16];

	for (i = 0; i < nitems_flood; i++) {
		if (s->flood[i].name[0] == '\0') {
			if (free_slot == nitems_flood)
				free_slot = i;
			continue;
		}
		if (strcmp(s->flood[i].name, r->computer.name) != 0)
			continue;
		if (flooding) {
			s->flood[i].refused++;
			return 0;
		}
		skp_sshmsg_printable(r->computer.name, comp, sizeof(comp));
		clock_text(when);
		printf("%s computer \"%s\": %llu requests refused while its "
		    "share of the replay cache was full\n", when, comp,
		    (unsigned long long)s->flood[i].refused);
		memset(&s->flood[i], 0, sizeof(s->flood[i]));
		return 1;
	}
	if (flooding && free_slot < nitems_flood) {
		snprintf(s->flood[free_slot].name,
		    sizeof(s->flood[free_slot].name), "%s", r->computer.name);
		s->flood[free_slot].refused = 1;
		printf("computer \"%s\" sends more requests than the replay "
		    "cache holds for it (%d in 10 minutes): refused; further "
		    "refusals are counted, not logged\n", r->computer.name,
		    SKP_PH_SEEN_SHARE);
	}
	return 1;
}

/*
 * Log the decision, then send message 2 (if any) and end the channel:
 * no answer leaves before its line is in the audit log.
 */
static void
finish(struct serve *s, struct skp_req **rp, chan_t chan,
    const char *decision)
{
	struct skp_req *r = *rp;
	const char *d = r->decision != NULL ? r->decision : decision;
	int rc;

	if (r->computer.name[0] == '\0' && r->next == SKP_HANDLE_DROP) {
		/* Junk: counted, summarized now and then. */
		s->junk++;
		if (boot_ms() >= s->junk_next)
			junk_summary(s);
	} else if (flood_note(s, r, strcmp(d, "refused-flood") == 0) &&
	    (r->req.command != SKP_CTAP_GET_INFO || r->status != 0))
		/* getInfo is no decision: it is answered to anyone paired. */
		record(s, r, d);
	if (r->reply != NULL && conn_of(s, chan) != NULL &&
	    (rc = chan_send(s, chan, skp_buf_ptr(r->reply),
	    skp_buf_len(r->reply))) != SKP_OK)
		fprintf(stderr, "sk-phone-authenticator: cannot answer: %s\n",
		    skp_strerror(rc));
	chan_hangup(s, chan);
	skp_req_free(rp);
}

static void
duration_text(const struct serve *s, char *out, size_t len)
{
	if (s->o->window_s % 3600 == 0)
		snprintf(out, len, "%llu hours",
		    (unsigned long long)(s->o->window_s / 3600));
	else
		snprintf(out, len, "%llu seconds",
		    (unsigned long long)s->o->window_s);
}

/* Append a formatted line to text, bounded. */
static void add(char *, size_t, size_t *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
add(char *text, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(text + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

/*
 * The login's "user @ host" lines, as verified as they are; through
 * ssh-agent (context key 6) said too, and without host information why
 * there is none.
 */
static void
host_lines(const struct skp_req *r, const char *subj, char *text, size_t len,
    size_t *off)
{
	const struct skp_hostcheck *hc = &r->host;
	const char *via = through_agent(r) ? SKP_SERVE_AGENT_TEXT : "";
	char host[300];

	skp_sshmsg_printable(hc->host, host, sizeof(host));
	switch (hc->state) {
	case SKP_HOSTCHECK_PINNED:
		add(text, len, off, "  user:        %s @ %s (verified)%s\n",
		    subj, host, via);
		add(text, len, off, "  host key:    %s %s (pinned)\n",
		    hc->key_type, hc->fp);
		break;
	case SKP_HOSTCHECK_CERT:
		add(text, len, off, "  user:        %s @ %s (verified "
		    "(certificate from CA %s))%s\n", subj, host, hc->ca_fp,
		    via);
		add(text, len, off, "  host key:    %s %s (certified)\n",
		    hc->key_type, hc->fp);
		break;
	case SKP_HOSTCHECK_NEW:
		/* Its signature verifies, but nothing says the key is the
		 * host's yet: not "verified". */
		add(text, len, off, "  user:        %s @ %s (first use, not "
		    "yet pinned)%s\n", subj, host, via);
		if (hc->pinned_as[0] != '\0')
			add(text, len, off, "  host key:    %s %s (pinned for "
			    "another name: not pinned for this one)\n",
			    hc->key_type, hc->fp);
		else
			add(text, len, off, "  host key:    %s %s (%s)\n",
			    hc->key_type, hc->fp, hc->other_types ? "NEW key "
			    "type for this host, pinned if you allow" :
			    "pinned if you allow");
		break;
	case SKP_HOSTCHECK_NONE:
		if (through_agent(r)) {
			add(text, len, off, "  user:        %s @ %s\n", subj,
			    SKP_SERVE_AGENT_NO_RECORD_TEXT);
			break;
		}
		/* FALLTHROUGH */
	default:
		add(text, len, off, "  user:        %s @ unknown host (not "
		    "verified)%s\n", subj, via);
		if (hc->state == SKP_HOSTCHECK_UNVERIFIED && host[0] != '\0')
			add(text, len, off, "  note:        the computer names "
			    "%s, but %s\n", host, hc->why);
		break;
	}
	/* A CA the phone does not trust: the key was taken as it is. */
	if (hc->cert == SKP_HOSTCHECK_CERT_UNKNOWN &&
	    (hc->state == SKP_HOSTCHECK_PINNED ||
	    hc->state == SKP_HOSTCHECK_NEW))
		add(text, len, off, "  certificate: from CA %s, which the "
		    "phone does not trust: its key checked as a plain key\n",
		    hc->ca_fp);
}

static void
ask(struct serve *s, struct skp_req *r, chan_t chan, uint64_t now)
{
	char text[2048], comp[300], subj[300], app[600], dur[64];
	char win[1024], hostwin[768], host[300], pinned[300], ns[300];
	const struct skp_sshmsg *m = &r->msg;
	int verified;
	size_t off = 0;

	skp_sshmsg_printable(r->computer.name, comp, sizeof(comp));
	skp_sshmsg_printable(r->subject, subj, sizeof(subj));
	app[0] = '\0';
	if (r->req.command == SKP_CTAP_MAKE_CREDENTIAL)
		skp_sshmsg_printable(r->req.mc.rp_id, app, sizeof(app));
	else if (r->req.command == SKP_CTAP_GET_ASSERTION)
		skp_sshmsg_printable(r->req.ga.rp_id, app, sizeof(app));
	add(text, sizeof(text), &off, "\nrequest from computer \"%s\"\n",
	    comp);
	/* A host the owner knows under another name: said first. */
	if (is_login(r) && r->host.state == SKP_HOSTCHECK_NEW &&
	    r->host.pinned_as[0] != '\0') {
		skp_sshmsg_printable(r->host.pinned_as, pinned,
		    sizeof(pinned));
		skp_sshmsg_printable(r->host.host, host, sizeof(host));
		add(text, sizeof(text), &off, "  WARNING:     this server's "
		    "key is pinned as %s; the computer calls it %s\n",
		    pinned, host);
	}
	if (r->req.command == SKP_CTAP_GET_ASSERTION &&
	    m->kind == SKP_SSHMSG_SSHSIG)
		add(text, sizeof(text), &off, "  operation:   sign, namespace "
		    "'%s' (SSHSIG, hash %s)\n", subj, m->hash_alg);
	else
		add(text, sizeof(text), &off, "  operation:   %s\n",
		    skp_handle_op_text(r));
	if (app[0] != '\0')
		add(text, sizeof(text), &off, "  application: %s\n", app);
	if (is_login(r))
		host_lines(r, subj, text, sizeof(text), &off);
	else if (r->req.command == SKP_CTAP_MAKE_CREDENTIAL &&
	    subj[0] != '\0')
		add(text, sizeof(text), &off, "  user:        %s\n", subj);
	else if (r->req.command == SKP_CTAP_GET_ASSERTION &&
	    m->kind != SKP_SSHMSG_SSHSIG)
		add(text, sizeof(text), &off, "  data:        %zu bytes, "
		    "neither SSH login nor SSHSIG\n", r->req.ctx.raw_len);
	if (r->key_fp[0] != '\0')
		add(text, sizeof(text), &off, "  key:         %s\n",
		    r->key_fp);
	if (r->uv)
		add(text, sizeof(text), &off, "  PIN:         checked\n");
	if (is_no_touch(r))
		add(text, sizeof(text), &off, "  touch:       this key needs "
		    "no touch (no-touch-required); asked because of "
		    "--no-touch ask\n");
	if (s->nqueue > 0)
		add(text, sizeof(text), &off, "  (%zu more request%s waiting)"
		    "\n", s->nqueue, s->nqueue == 1 ? "" : "s");
	duration_text(s, dur, sizeof(dur));
	/* The window covers what the owner sees it named. */
	if (r->req.command == SKP_CTAP_GET_ASSERTION &&
	    m->kind == SKP_SSHMSG_SSHSIG) {
		skp_sshmsg_printable(m->ns, ns, sizeof(ns));
		snprintf(win, sizeof(win), "verified logins to pinned hosts, "
		    "and signatures of namespace '%s', from \"%s\" for %s",
		    ns, comp, dur);
	} else
		snprintf(win, sizeof(win), "verified logins to pinned hosts "
		    "from \"%s\" for %s (no signatures)", comp, dur);
	verified = host_verified(r) ||
	    (r->host.state == SKP_HOSTCHECK_NEW &&
	    r->host.pinned_as[0] == '\0');
	if (verified) {
		skp_sshmsg_printable(r->host.host, host, sizeof(host));
		snprintf(hostwin, sizeof(hostwin), "logins to %s from \"%s\" "
		    "for %s", host, comp, dur);
	}
	s->pending = r;
	s->pending_chan = chan;
	skp_prompt_ask(&s->prompt, text, verified ? hostwin : NULL, win,
	    now + s->o->prompt_ms, now);
}

/*
 * What an open window allows without asking, or NULL. A host window:
 * verified logins to that pinned host from that computer. The computer's
 * window: verified logins to pinned hosts, and SSHSIG signatures of the
 * namespaces approved with "w" under it. Never a login to an unverified
 * host, a host seen for the first time or a key pinned under another
 * name, never signatures of other data or namespaces, never an
 * enrollment or a listing of resident keys.
 */
const char *
skp_serve_window_allows(struct skp_phstate *st, const struct skp_req *r,
    uint64_t now_s)
{
	struct skp_ph_computer *c;
	int covered = 0;

	if (is_login(r) && host_verified(r) &&
	    skp_phstate_host_window(st, r->computer.name,
	    r->host.host) > now_s)
		return "allow-host-window";
	if ((c = skp_phstate_computer_find(st, r->computer.name)) ==
	    NULL || c->window_until <= now_s ||
	    r->req.command != SKP_CTAP_GET_ASSERTION)
		return NULL;
	if (is_login(r))
		covered = host_verified(r);
	else if (r->msg.kind == SKP_SSHMSG_SSHSIG)
		covered = skp_phstate_window_covers_ns(c, r->msg.ns, now_s);
	return covered ? "allow-window" : NULL;
}

static void
approve(struct serve *s, struct skp_req **rp, chan_t chan,
    const char *decision)
{
	(void)skp_handle_approved(s->h, *rp, now_ms());
	finish(s, rp, chan, decision);
}

static void
refuse(struct serve *s, struct skp_req **rp, chan_t chan, uint8_t status,
    const char *reason, const char *decision)
{
	(*rp)->decision = decision;
	(void)skp_handle_refuse(*rp, status, reason);
	finish(s, rp, chan, decision);
}

/* A call that waits for the PIN: its slot, or -1. */
static int
pinwait_find(const struct serve *s, chan_t chan)
{
	int i;

	for (i = 0; i < PIN_WAIT_MAX; i++)
		if (s->pinwait[i].r != NULL && s->pinwait[i].chan == chan)
			return i;
	return -1;
}

static int
pinwait_any(const struct serve *s)
{
	int i;

	for (i = 0; i < PIN_WAIT_MAX; i++)
		if (s->pinwait[i].r != NULL)
			return 1;
	return 0;
}

/* The computer went away, or never sent the PIN: as protocol 1 logged. */
static void
pinwait_end(struct serve *s, int i)
{
	struct skp_req *r = s->pinwait[i].r;

	s->pinwait[i].r = NULL;
	skp_buf_free(&r->reply);
	finish(s, &r, s->pinwait[i].chan, "refused-pin-required");
}

static void
pinwait_expire(struct serve *s, uint64_t now, int all)
{
	int i;

	for (i = 0; i < PIN_WAIT_MAX; i++)
		if (s->pinwait[i].r != NULL &&
		    (all || now >= s->pinwait[i].until))
			pinwait_end(s, i);
}

/* Send message 2 (PIN required, the PIN may follow) and wait. */
static void
pinwait_add(struct serve *s, struct skp_req *r, chan_t chan, uint64_t now)
{
	int i, rc, oldest = 0;

	for (i = 0; i < PIN_WAIT_MAX; i++) {
		if (s->pinwait[i].r == NULL)
			break;
		if (s->pinwait[i].until < s->pinwait[oldest].until)
			oldest = i;
	}
	if (i == PIN_WAIT_MAX) {
		pinwait_end(s, oldest);
		i = oldest;
	}
	if ((rc = chan_send(s, chan, skp_buf_ptr(r->reply),
	    skp_buf_len(r->reply))) != SKP_OK) {
		fprintf(stderr, "sk-phone-authenticator: cannot answer: %s\n",
		    skp_strerror(rc));
		skp_buf_free(&r->reply);
		finish(s, &r, chan, "refused-pin-required");
		return;
	}
	skp_buf_free(&r->reply);
	s->pinwait[i].r = r;
	s->pinwait[i].chan = chan;
	s->pinwait[i].until = now + PIN_WAIT_MS;
}

/* The owner is free: a window opened meanwhile allows it, or ask. */
static void
owner_turn(struct serve *s, struct skp_req *r, chan_t chan, uint64_t now)
{
	const char *allowed;

	if ((allowed = skp_serve_window_allows(s->h->st, r, now / 1000)) !=
	    NULL) {
		approve(s, &r, chan, allowed);
		return;
	}
	if (s->prompt.in < 0) {
		refuse(s, &r, chan, SKP_CTAP_OPERATION_DENIED,
		    "no one to ask on the phone (no terminal)",
		    "reject-no-terminal");
		return;
	}
	ask(s, r, chan, now);
}

/* A queued call: its slot, or -1. */
static int
queue_find(const struct serve *s, chan_t chan)
{
	size_t i;

	for (i = 0; i < s->nqueue; i++)
		if (s->queue[i].chan == chan)
			return (int)i;
	return -1;
}

/* Out of the queue, the order of the others kept. */
static struct skp_req *
queue_take(struct serve *s, size_t i, chan_t *chan)
{
	struct skp_req *r = s->queue[i].r;

	*chan = s->queue[i].chan;
	memmove(&s->queue[i], &s->queue[i + 1],
	    (s->nqueue - i - 1) * sizeof(s->queue[0]));
	s->nqueue--;
	memset(&s->queue[s->nqueue], 0, sizeof(s->queue[0]));
	return r;
}

/* "N more requests waiting", under the open question. */
static void
queue_say(struct serve *s, uint64_t now)
{
	char line[80];

	snprintf(line, sizeof(line), "%zu more request%s waiting", s->nqueue,
	    s->nqueue == 1 ? "" : "s");
	skp_prompt_note(&s->prompt, line, now);
}

/*
 * Behind the open question: wait for the owner. A full queue is refused
 * as busy, at once.
 */
static void
queue_add(struct serve *s, struct skp_req *r, chan_t chan, uint64_t now)
{
	char why[80];

	if (s->nqueue == SKP_SERVE_QUEUE_MAX) {
		snprintf(why, sizeof(why), "%d requests already wait on the "
		    "phone", SKP_SERVE_QUEUE_MAX);
		refuse(s, &r, chan, SKP_CTAP_CHANNEL_BUSY, why,
		    "refused-busy");
		return;
	}
	s->queue[s->nqueue].r = r;
	s->queue[s->nqueue].chan = chan;
	s->queue[s->nqueue].since = now;
	s->nqueue++;
	if (s->pending != NULL)
		queue_say(s, now);
}

/* The computer hung up while its request waited: dropped, not asked. */
static void
queue_end(struct serve *s, size_t i)
{
	char line[96];
	chan_t chan;
	struct skp_req *r = queue_take(s, i, &chan);

	record(s, r, "cancelled");
	skp_req_free(&r);
	snprintf(line, sizeof(line), "a waiting request was dropped: its "
	    "computer hung up; %zu more waiting", s->nqueue);
	skp_prompt_note(&s->prompt, line, now_ms());
}

/*
 * Waited --timeout behind other questions: its computer, which waits as
 * long by default, has given up or is about to; refused, not asked.
 * all: every one (the connection is gone: nothing to answer).
 */
static void
queue_expire(struct serve *s, uint64_t now, int all)
{
	struct skp_req *r;
	chan_t chan;
	size_t i = 0;

	while (i < s->nqueue) {
		if (all) {
			r = queue_take(s, i, &chan);
			record(s, r, "cancelled");
			skp_req_free(&r);
		} else if (now >= s->queue[i].since + s->o->prompt_ms) {
			r = queue_take(s, i, &chan);
			refuse(s, &r, chan, SKP_CTAP_CHANNEL_BUSY,
			    SKP_SERVE_WAITED_TEXT " on the phone",
			    "refused-waited");
		} else
			i++;
	}
}

/* The question is answered or gone: the next one in the queue. */
static void
queue_next(struct serve *s, uint64_t now)
{
	struct skp_req *r;
	chan_t chan;

	queue_expire(s, now, 0);
	while (s->pending == NULL && s->nqueue > 0) {
		r = queue_take(s, 0, &chan);
		owner_turn(s, r, chan, now);
	}
}

static void proceed(struct serve *, struct skp_req *, chan_t, uint64_t);

/*
 * A computer paired before the rotation called the new mailbox: it knows
 * it. The last one to learn it lets the old mailbox go.
 */
static void
told(struct serve *s, const struct skp_req *r)
{
	char why[SKP_PH_WHY_MAX], comp[300];
	int dropped = 0;

	struct skp_phstate *st = s->h->st;

	if (skp_phstate_mailbox_told(st, r->computer.name, s->listen_id,
	    &dropped, why, sizeof(why)) != SKP_OK) {
		fprintf(stderr, "sk-phone-authenticator: %s\n", why);
		return;
	}
	if (memcmp(st->mailbox_id, s->listen_id, sizeof(s->listen_id)) !=
	    0 || (st->have_old_mailbox && s->old == NULL)) {
		/* Rotated since this run started: listen on both. */
		printf("the mailbox was rotated while running: listening "
		    "again\n");
		fflush(stdout);
		s->relisten = 1;
		s->relisten_at = boot_ms() + RELISTEN_DELAY_MS;
		return;
	}
	skp_sshmsg_printable(r->computer.name, comp, sizeof(comp));
	printf("computer \"%s\" now calls the new mailbox\n", comp);
	if (dropped) {
		printf("every computer knows the new mailbox: no longer "
		    "listening on the old one\n");
		s->drop_old = 1;
	}
	fflush(stdout);
}

static void
on_message(struct serve *s, chan_t chan, const uint8_t *msg, size_t len)
{
	struct skp_req *r = NULL;
	uint64_t now = now_ms();
	char why[SKP_PH_WHY_MAX];
	int rc, i;

	/* A second message on a call asked about or waiting is not ours. */
	if ((s->pending != NULL && chan == s->pending_chan) ||
	    queue_find(s, chan) >= 0)
		return;
	if ((i = pinwait_find(s, chan)) >= 0) {
		/* Transport message 3: the PIN. */
		r = s->pinwait[i].r;
		s->pinwait[i].r = NULL;
		if ((rc = skp_handle_pin(s->h, r, msg, len)) != SKP_OK)
			fprintf(stderr, "sk-phone-authenticator: %s\n",
			    skp_strerror(rc));
		proceed(s, r, chan, now);
		return;
	}
	/* Another process may have unpaired or deleted since. */
	s->h->state_unreadable = 0;
	if ((rc = skp_phstate_reload(s->h->st, why, sizeof(why))) !=
	    SKP_OK) {
		/* Refused below (skp_handle_begin), never decided on. */
		fprintf(stderr, "sk-phone-authenticator: cannot read the "
		    "state, refusing the request: %s\n", why);
		s->h->state_unreadable = 1;
	}
	s->h->on_current = (chan & OLD_CHAN) == 0 &&
	    memcmp(s->listen_id, s->h->st->mailbox_id,
	    sizeof(s->listen_id)) == 0;
	rc = skp_handle_begin(s->h, msg, len, now, &r);
	if (r == NULL) {
		fprintf(stderr, "sk-phone-authenticator: %s\n",
		    skp_strerror(rc));
		chan_hangup(s, chan);
		return;
	}
	if (r->computer.name[0] != '\0' && r->computer.tell_mailbox &&
	    (chan & OLD_CHAN) == 0) {
		told(s, r);
		r->move = 0;	/* it knows */
	}
	proceed(s, r, chan, now);
}

/* After the checks that need no one: the policy, a window, the owner. */
static void
proceed(struct serve *s, struct skp_req *r, chan_t chan, uint64_t now)
{
	const char *allowed;

	if (r->next == SKP_HANDLE_PIN) {
		pinwait_add(s, r, chan, now);
		return;
	}
	if (r->next != SKP_HANDLE_APPROVE) {
		finish(s, &r, chan, "refused");
		return;
	}
	switch (s->o->approve) {
	case SKP_APPROVE_NEVER:
		refuse(s, &r, chan, SKP_CTAP_OPERATION_DENIED,
		    "rejected by the phone's policy (--approve never)",
		    "reject-policy");
		return;
	case SKP_APPROVE_ALWAYS:
		approve(s, &r, chan, "allow-always");
		return;
	default:
		break;
	}
	/* Signed without asking, as a USB key does: UP=0 (§8.6). */
	if (is_no_touch(r) && !s->o->no_touch_ask) {
		approve(s, &r, chan, "allow-no-touch");
		return;
	}
	if ((allowed = skp_serve_window_allows(s->h->st, r, now / 1000)) !=
	    NULL) {
		approve(s, &r, chan, allowed);
		return;
	}
	/* One question at a time; the others wait their turn. */
	if (s->pending != NULL || s->nqueue > 0) {
		queue_add(s, r, chan, now);
		return;
	}
	owner_turn(s, r, chan, now);
}

/* The owner answered (or did not in time). */
static void
on_answer(struct serve *s, enum skp_prompt_answer a)
{
	struct skp_req *r = s->pending;
	chan_t chan = s->pending_chan;
	char why[SKP_PH_WHY_MAX];
	uint64_t now = now_ms();
	int rc;

	s->pending = NULL;
	switch (a) {
	case SKP_PROMPT_ONCE:
		approve(s, &r, chan, "allow-once");
		break;
	case SKP_PROMPT_WINDOW:
		if ((rc = skp_phstate_window_set(s->h->st, r->computer.name,
		    now / 1000 + s->o->window_s,
		    r->req.command == SKP_CTAP_GET_ASSERTION &&
		    r->msg.kind == SKP_SSHMSG_SSHSIG ? r->msg.ns : NULL,
		    now / 1000, why, sizeof(why))) != SKP_OK)
			fprintf(stderr, "sk-phone-authenticator: %s\n", why);
		approve(s, &r, chan, "allow-window-start");
		break;
	case SKP_PROMPT_HOST:
		if ((rc = skp_phstate_host_window_set(s->h->st,
		    r->computer.name, r->host.host, now / 1000 +
		    s->o->window_s, now / 1000, why, sizeof(why))) != SKP_OK)
			fprintf(stderr, "sk-phone-authenticator: %s\n", why);
		approve(s, &r, chan, "allow-host-window-start");
		break;
	case SKP_PROMPT_TIMEOUT:
		refuse(s, &r, chan, SKP_CTAP_USER_ACTION_TIMEOUT,
		    "no answer on the phone in time", "reject-no-answer");
		break;
	case SKP_PROMPT_GONE:
		refuse(s, &r, chan, SKP_CTAP_OPERATION_DENIED,
		    "no one to ask on the phone (terminal closed)",
		    "reject-no-terminal");
		break;
	default:
		refuse(s, &r, chan, SKP_CTAP_OPERATION_DENIED,
		    "rejected on the phone", "reject");
		break;
	}
}

static void
cancel_pending(struct serve *s, const char *why)
{
	if (s->pending == NULL)
		return;
	skp_prompt_cancel(&s->prompt, why);
	record(s, s->pending, "cancelled");
	skp_req_free(&s->pending);
}

/* Handle every queued relay event. 1: the connection is gone. */
static void
silent_del(struct serve *s, chan_t chan)
{
	size_t i;

	for (i = 0; i < s->nsilent; i++) {
		if (s->silent[i].chan == chan) {
			s->silent[i] = s->silent[--s->nsilent];
			return;
		}
	}
}

static void
silent_hangup(struct serve *s, size_t i)
{
	chan_hangup(s, s->silent[i].chan);
	s->silent[i] = s->silent[--s->nsilent];
	s->silent_hung++;
}

/* A new call: silent until its first message. A full table drops the
 * oldest, which is the first to be due anyway. */
static void
silent_add(struct serve *s, chan_t chan)
{
	size_t i, old = 0;

	if (s->nsilent == SKP_SERVE_SILENT_MAX) {
		for (i = 1; i < s->nsilent; i++)
			if (s->silent[i].due < s->silent[old].due)
				old = i;
		silent_hangup(s, old);
	}
	s->silent[s->nsilent].chan = chan;
	s->silent[s->nsilent].due = boot_ms() + s->o->silent_ms;
	s->nsilent++;
}

/* Hang up the calls silent for too long; say so once per batch. */
static void
silent_expire(struct serve *s)
{
	uint64_t now = boot_ms();
	size_t i = 0;

	while (i < s->nsilent) {
		if (s->silent[i].due <= now)
			silent_hangup(s, i);
		else
			i++;
	}
	if (s->silent_hung > 0) {
		fprintf(stderr, "sk-phone-authenticator: hung up %llu call%s "
		    "that sent nothing within %llu ms (a computer sends its "
		    "request at once; this is someone holding the mailbox "
		    "busy)\n", (unsigned long long)s->silent_hung,
		    s->silent_hung == 1 ? "" : "s",
		    (unsigned long long)s->o->silent_ms);
		s->silent_hung = 0;
	}
}

static int drain_one(struct serve *, skp_relay_t *, chan_t);

static int
drain(struct serve *s)
{
	if (s->junk > 0 && boot_ms() >= s->junk_next)
		junk_summary(s);
	if (drain_one(s, s->relay, 0))
		return 1;
	return s->old != NULL && drain_one(s, s->old, OLD_CHAN);
}

/* Nothing on the old mailbox waits any more: close it. */
static void
old_drop(struct serve *s)
{
	size_t i;

	if (!s->drop_old || s->old == NULL)
		return;
	if (s->pending != NULL && (s->pending_chan & OLD_CHAN) != 0)
		return;
	for (i = 0; i < s->nqueue; i++)
		if ((s->queue[i].chan & OLD_CHAN) != 0)
			return;
	for (i = 0; i < PIN_WAIT_MAX; i++)
		if (s->pinwait[i].r != NULL &&
		    (s->pinwait[i].chan & OLD_CHAN) != 0)
			return;
	i = 0;
	while (i < s->nsilent) {
		if ((s->silent[i].chan & OLD_CHAN) != 0)
			s->silent[i] = s->silent[--s->nsilent];
		else
			i++;
	}
	skp_relay_free(&s->old);
	s->drop_old = 0;
}

/*
 * The relay gave this phone's mailbox to another listener (4007): only a
 * holder of the mailbox key can prove it, and no other run here uses
 * this state (run's lock), so the state is live somewhere else.
 */
static void
say_taken(void)
{
	fprintf(stderr, "sk-phone-authenticator: WARNING: this phone's state "
	    "is live somewhere else: another device listens on its mailbox "
	    "(a copied state folder?). A copy is not a second phone: pair "
	    "the other device as a phone of its own (sk-phone-authenticator "
	    "--state NEW pair), and stop the copy. (Relay code 4007: the "
	    "other listener proved this phone's mailbox key, and no other "
	    "run uses this state folder here. If no copy was made, the key "
	    "was stolen: make a new state folder and pair again.) "
	    "Reconnecting, waiting longer each time.\n");
}

static int
drain_one(struct serve *s, skp_relay_t *conn, chan_t tag)
{
	struct skp_relay_event ev;
	chan_t chan;
	int i;

	while (skp_relay_service(conn, 0, &ev) == SKP_OK) {
		chan = ev.chan | tag;
		switch (ev.type) {
		case SKP_RELAY_EV_INCOMING:
			silent_add(s, chan);
			break;
		case SKP_RELAY_EV_MESSAGE:
			silent_del(s, chan);
			on_message(s, chan, ev.msg, ev.len);
			break;
		case SKP_RELAY_EV_END:
			silent_del(s, chan);
			if (s->pending != NULL && chan == s->pending_chan)
				cancel_pending(s,
				    "the computer gave up on the request");
			if ((i = pinwait_find(s, chan)) >= 0)
				pinwait_end(s, i);
			if ((i = queue_find(s, chan)) >= 0)
				queue_end(s, (size_t)i);
			break;
		case SKP_RELAY_EV_CLOSED:
			cancel_pending(s, "the relay connection dropped");
			queue_expire(s, 0, 1);
			pinwait_expire(s, 0, 1);
			if (ev.err == SKP_ERR_EXISTS) {
				/*
				 * Only a holder of the mailbox key can do
				 * this: a second copy of this phone, or a
				 * thief. Keep coming back; never give up.
				 */
				s->taken = 1;
				say_taken();
			} else
				fprintf(stderr, "sk-phone-authenticator: "
				    "relay connection lost: %s\n",
				    skp_strerror(ev.err));
			return 1;
		default:
			break;
		}
	}
	return 0;
}

static int
connected(struct serve *s)
{
	struct pollfd pfd[3];
	enum skp_prompt_answer a;
	uint64_t now;
	int n, timeout, readable, wait, ip;

	/* What came with LISTENING (held calls) is queued already: the
	 * socket will not wake poll for it. */
	if (drain(s))
		return SKP_OK;
	while (!stopping) {
		n = 0;
		pfd[n].fd = skp_relay_fd(s->relay);
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
		ip = -1;
		if (skp_prompt_fd(&s->prompt) >= 0) {
			ip = n;
			pfd[n].fd = skp_prompt_fd(&s->prompt);
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		if (s->old != NULL) {
			pfd[n].fd = skp_relay_fd(s->old);
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		timeout = POLL_MAX_MS;
		/* Wake up when the question starts to read answers. */
		if ((wait = skp_prompt_wait_ms(&s->prompt, now_ms())) >= 0 &&
		    wait < timeout)
			timeout = wait;
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			return SKP_ERR_IO;
		if (drain(s))
			return SKP_OK;
		pinwait_expire(s, now_ms(), 0);
		silent_expire(s);
		if (s->pending != NULL) {
			readable = ip >= 0 && (pfd[ip].revents &
			    (POLLIN | POLLHUP | POLLERR)) != 0;
			now = now_ms();
			a = skp_prompt_step(&s->prompt, readable, now);
			if (a != SKP_PROMPT_PENDING)
				on_answer(s, a);
		}
		queue_next(s, now_ms());
		old_drop(s);
		if (s->relisten && boot_ms() >= s->relisten_at &&
		    s->pending == NULL && s->nqueue == 0 && !pinwait_any(s))
			return SKP_OK;
	}
	return SKP_OK;
}

static void
nap(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	/* A signal ends the nap early, which is what stopping wants. */
	(void)nanosleep(&ts, NULL);
}

/*
 * A rotation is pending: the old mailbox too, on a connection of its
 * own (the relay has one mailbox per listener), on the same relay.
 */
static int
old_listen(struct serve *s, const char *url)
{
	char hex[17];
	size_t i;
	int rc;

	s->drop_old = 0;
	if (!s->h->st->have_old_mailbox)
		return SKP_OK;
	if ((s->old = skp_relay_new(NULL)) == NULL)
		return SKP_ERR_NOMEM;
	if ((rc = skp_relay_connect(s->old, url, CONNECT_TIMEOUT_MS)) !=
	    SKP_OK ||
	    (rc = skp_relay_listen(s->old, &s->h->st->old_mailbox_key,
	    CONNECT_TIMEOUT_MS)) != SKP_OK) {
		skp_relay_free(&s->old);
		return rc;
	}
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", s->h->st->old_mailbox_id[i]);
	printf("also listening on the old mailbox %s... until %zu "
	    "computer%s call%s the new one\n", hex,
	    skp_phstate_mailbox_untold(s->h->st),
	    skp_phstate_mailbox_untold(s->h->st) == 1 ? "" : "s",
	    skp_phstate_mailbox_untold(s->h->st) == 1 ? "s" : "");
	return SKP_OK;
}

int
skp_serve(struct skp_handler *h, const struct skp_serve_opts *o)
{
	struct skp_relay_opts ropts;
	struct sigaction sa, old_int, old_term;
	struct serve s;
	uint64_t backoff = SKP_SERVE_BACKOFF_MIN_MS, wait;
	/* Two holders of the key would take the mailbox from each other
	 * at once, forever: a takeover backs off on its own count. */
	uint64_t taken_backoff = SKP_SERVE_BACKOFF_MIN_MS;
	char first[SKP_RELAYURL_MAX + 1], cur[SKP_RELAYURL_MAX + 1];
	const char *url;
	uint32_t rnd;
	size_t which;
	int rc, fatal = 0;

	memset(&s, 0, sizeof(s));
	s.h = h;
	s.o = o;
	skp_prompt_init(&s.prompt, o->tty_in, o->tty_out);
	/*
	 * A relay list: every connect walks it from its first URL, so the
	 * phone comes back to the first as soon as it answers again.
	 */
	url = o->relay != NULL ? o->relay : h->st->relay;
	if (url == NULL || url[0] == '\0') {
		fprintf(stderr, "sk-phone-authenticator: no relay: pair with a "
		    "computer first, or give --relay URL\n");
		return SKP_ERR_INVALID;
	}
	/* Answers name one URL (response key 4): the list's first. */
	(void)skp_relaylist_get(url, 0, first);
	h->relay = first;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll must wake up to notice. */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	stopping = 0;
	memset(&ropts, 0, sizeof(ropts));
	ropts.ca_file = o->ca_file;
	while (!stopping && fatal == 0) {
		if ((s.relay = skp_relay_new(&ropts)) == NULL) {
			rc = SKP_ERR_NOMEM;
			goto out;
		}
		which = 0;
		rc = skp_relay_connect_list(s.relay, url, CONNECT_TIMEOUT_MS,
		    &which);
		(void)skp_relaylist_get(url, which, cur);
		if (rc == SKP_OK)
			rc = skp_relay_listen(s.relay, &h->st->mailbox_key,
			    CONNECT_TIMEOUT_MS);
		if (rc == SKP_OK) {
			memcpy(s.listen_id, h->st->mailbox_id,
			    sizeof(s.listen_id));
			s.relisten = 0;
			rc = old_listen(&s, cur);
		}
		if (rc == SKP_OK) {
			printf("listening on %s as phone \"%s\"\n", cur,
			    h->st->name);
			fflush(stdout);
			backoff = SKP_SERVE_BACKOFF_MIN_MS;
			if ((rc = connected(&s)) != SKP_OK)
				goto out;
		} else if (rc == SKP_ERR_TLS || rc == SKP_ERR_IO) {
			skp_serve_tls_say(url, o->ca_file, rc);
			fatal = rc;
		} else {
			fprintf(stderr, "sk-phone-authenticator: relay %s: "
			    "%s\n", url, skp_strerror(rc));
			if (rc == SKP_ERR_INVALID)
				fatal = rc;
			else if (rc == SKP_ERR_EXISTS) {
				s.taken = 1;
				say_taken();
			}
		}
		cancel_pending(&s, "the relay connection dropped");
		queue_expire(&s, 0, 1);
		pinwait_expire(&s, 0, 1);
		skp_relay_free(&s.relay);
		skp_relay_free(&s.old);
		s.drop_old = 0;
		s.nsilent = 0;
		if (stopping || fatal != 0)
			break;
		/* Backoff with jitter: between half and all of it. */
		if (skp_random(&rnd, sizeof(rnd)) != SKP_OK)
			rnd = 0;
		if (s.taken) {
			s.taken = 0;
			if (taken_backoff > backoff)
				backoff = taken_backoff;
			taken_backoff = backoff * 2 >
			    SKP_SERVE_BACKOFF_MAX_MS ?
			    SKP_SERVE_BACKOFF_MAX_MS : backoff * 2;
		} else
			taken_backoff = SKP_SERVE_BACKOFF_MIN_MS;
		wait = backoff / 2 + rnd % (backoff / 2 + 1);
		fprintf(stderr, "sk-phone-authenticator: reconnecting in "
		    "%llu ms\n", (unsigned long long)wait);
		nap(wait);
		backoff = backoff * 2 > SKP_SERVE_BACKOFF_MAX_MS ?
		    SKP_SERVE_BACKOFF_MAX_MS : backoff * 2;
	}
	rc = fatal;
 out:
	cancel_pending(&s, "stopping");
	queue_expire(&s, 0, 1);
	junk_summary(&s);
	pinwait_expire(&s, 0, 1);
	skp_relay_free(&s.relay);
	skp_relay_free(&s.old);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

void
skp_serve_tls_say(const char *url, const char *ca_file, int rc)
{
	if (rc == SKP_ERR_IO)
		fprintf(stderr, "sk-phone-authenticator: cannot read the CA "
		    "file %s: check that it exists and is readable, or give "
		    "another with --ca FILE\n", ca_file != NULL ? ca_file :
		    "?");
	else if (ca_file != NULL)
		fprintf(stderr, "sk-phone-authenticator: the relay's "
		    "certificate is not trusted: %s is not signed by a CA in "
		    "%s; give the CA that signed it with --ca FILE\n", url,
		    ca_file);
	else
		fprintf(stderr, "sk-phone-authenticator: the relay's "
		    "certificate is not trusted: %s has no certificate from "
		    "the system's CAs; for a private or self-signed one, give "
		    "its CA with --ca FILE (kept in the state for run)\n",
		    url);
}
