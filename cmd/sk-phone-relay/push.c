/* sk-phone-relay: Web Push (docs/PROTOCOL.md §7.11): subscriptions, and
 * the thread that sends the pushes. */
/*
 * libwebsockets.h names OpenSSL types that OPENSSL_NO_DEPRECATED hides
 * (RSA); lws_cancel_service() is the only lws call here.
 */
#undef OPENSSL_NO_DEPRECATED

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <libwebsockets.h>

#include "sk-phone/crypto.h"
#include "sk-phone/relay.h"

#include "relayd.h"
#include "webpush.h"

#define PUSH_INFLIGHT		8	/* requests at once */
#define PUSH_ATTEMPT_MS		10000	/* one request, all of it */
#define PUSH_RETRIES		3	/* after the first attempt */
#define PUSH_RETRY_AFTER_MAX_S	60
#define PUSH_STOP_MS		2000	/* in flight at shutdown: abandoned */
#define PUSH_SUBS_MAX		100000	/* subscriptions stored */
#define PUSH_PAYLOAD_MAX	4000	/* wp_payload's answer fits */
#define PUSH_LOGS_PER_MIN	60	/* the thread's own lines */

enum { J_WAIT = 1, J_FLIGHT };

/* One push: from a held call's first DATA until sent, failed or dropped. */
struct job {
	struct job	*next;
	uint64_t	 handle;
	uint64_t	 deadline;	/* mono ms: the call's end */
	uint64_t	 due;		/* mono ms: the next attempt */
	uint8_t		 id[32];
	struct wp_sub	 sub;		/* a copy: the store may change */
	struct wp_url	 url;
	char		 payload[PUSH_PAYLOAD_MAX];
	size_t		 plen;
	int		 state;
	int		 tries;		/* attempts started */
	int		 cancelled;
	/* While in flight (the thread's alone). */
	CURL		*easy;
	struct curl_slist *hdrs;
	uint8_t		*body;
	long		 retry_after;	/* s, from the answer; -1 none */
};

/* What the thread hands back to the loop: a subscription gone. */
struct result {
	struct result	*next;
	uint8_t		 id[32];
	char		 endpoint[WP_ENDPOINT_MAX + 1];
	char		 host[256];
	long		 status;
};

static struct {
	int			 on;
	char			*contact;
	struct wp_vapid		*vapid;
	struct wp_store		*store;
	struct wp_allow		*allow;
	const char		*ca;
	uint32_t		 max;
	struct lws_context	*ctx;
	/* Shared with the thread, under mu. */
	pthread_mutex_t		 mu;
	pthread_t		 th;
	int			 running;
	int			 stop;
	CURLM			*multi;
	struct job		*jobs;
	uint32_t		 njobs;
	uint64_t		 next_handle;
	struct result		*results;
	uint64_t		 st_sent, st_failed, st_dropped;
	/* The loop's rate limit for "queue full". */
	time_t			 drop_second;
	unsigned int		 drops_said;
	/* The thread's own rate limit. */
	uint64_t		 log_minute;
	unsigned int		 logs_said, logs_unsaid;
} P = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* The first 8 bytes of a mailbox id, for a log line. */
static void
id_short(const uint8_t id[32], char hex[17])
{
	skp_hex(id, 8, hex);
}

/* Lines from the thread: at most PUSH_LOGS_PER_MIN a minute. */
static void tlog(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
tlog(const char *fmt, ...)
{
	char line[400];
	uint64_t minute = relayd_mono_ms() / 60000;
	va_list ap;

	if (minute != P.log_minute) {
		if (P.logs_unsaid > 0)
			relayd_log("push: %u more lines not logged",
			    P.logs_unsaid);
		P.log_minute = minute;
		P.logs_said = 0;
		P.logs_unsaid = 0;
	}
	if (++P.logs_said > PUSH_LOGS_PER_MIN) {
		P.logs_unsaid++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	relayd_log("%s", line);
}

/* Setup, on the loop before anything runs. */

/* The store's own messages (a damaged file skipped, a write failed). */
static void
store_log(const char *line)
{
	relayd_log("push: %s", line);
}

int
relayd_push_init(const struct relayd_conf *c)
{
	char path[4096], err[WP_ERR_MAX];
	size_t i;

	if (c->push_dir == NULL)
		return 0;
	P.max = c->push_queue;
	P.ca = c->push_ca;
	if (c->push_contact != NULL &&
	    (P.contact = strdup(c->push_contact)) == NULL)
		goto nomem;
	if ((P.allow = wp_allow_new()) == NULL)
		goto nomem;
	for (i = 0; i < c->npush_allow; i++) {
		if (wp_allow_add(P.allow, c->push_allow[i], err,
		    sizeof(err)) != 0) {
			relayd_log("--push-allow %s: %s", c->push_allow[i],
			    err);
			goto fail;
		}
	}
	wp_set_log(store_log);
	if ((size_t)snprintf(path, sizeof(path), "%s/vapid-key",
	    c->push_dir) >= sizeof(path)) {
		relayd_log("--push-dir: the path is too long");
		goto fail;
	}
	/* Both make DIR (0700) and DIR/subs when missing, and refuse
	 * them open to others, saying what to do. */
	if (wp_vapid_open(path, &P.vapid, err, sizeof(err)) != 0) {
		relayd_log("--push-dir: %s", err);
		goto fail;
	}
	if (wp_store_open(c->push_dir, PUSH_SUBS_MAX, &P.store, err,
	    sizeof(err)) != 0) {
		relayd_log("--push-dir: %s", err);
		goto fail;
	}
	P.on = 1;
	return 0;
 nomem:
	relayd_log("push: out of memory");
 fail:
	relayd_push_fini();
	return -1;
}

int
relayd_push_on(void)
{
	return P.on;
}

/* SUBSCRIBE and UNSUBSCRIBE, on the loop. */

int
relayd_push_subscribe(const uint8_t id[32], const uint8_t *p, size_t n,
    uint8_t key[65])
{
	struct wp_sub sub;
	struct wp_url u;
	char hex[17];
	int rc;

	wp_vapid_pub(P.vapid, key);
	if (n == 0)
		return SKP_RELAY_PUSH_OK;
	if (wp_sub_from_frame(p, n, &sub) != 0)
		return -1;
	id_short(id, hex);
	if (wp_url_parse(sub.endpoint, &u) != 0 ||
	    !wp_allow_check(P.allow, &u)) {
		relayd_refusal("push: subscription of mailbox %s... refused: "
		    "its push service %s is not on the list (--push-allow)",
		    hex, wp_url_parse(sub.endpoint, &u) == 0 ? u.host :
		    "(bad URL)");
		explicit_bzero(&sub, sizeof(sub));
		return SKP_RELAY_PUSH_REFUSED;
	}
	rc = wp_store_put(P.store, id, &sub);
	explicit_bzero(&sub, sizeof(sub));
	if (rc == -1) {	/* -2: the store said why */
		relayd_refusal("push: subscription of mailbox %s... refused: "
		    "%u stored, the most this relay keeps", hex,
		    (unsigned int)PUSH_SUBS_MAX);
		return SKP_RELAY_PUSH_FULL;
	}
	if (rc != 0)
		return SKP_RELAY_PUSH_FULL;
	relayd_vlog("push: mailbox %s... subscribed at %s", hex, u.host);
	return SKP_RELAY_PUSH_OK;
}

int
relayd_push_unsubscribe(const uint8_t id[32], uint8_t key[65])
{
	char hex[17];

	wp_vapid_pub(P.vapid, key);
	if (wp_store_del(P.store, id, NULL) == 0) {
		id_short(id, hex);
		relayd_vlog("push: mailbox %s... unsubscribed", hex);
	}
	return SKP_RELAY_PUSH_REMOVED;
}

/* Queueing a push, on the loop. */

static void
job_free(struct job *j)
{
	explicit_bzero(j, sizeof(*j));
	free(j);
}

uint64_t
relayd_push_call(const uint8_t id[32], const uint8_t *msg, size_t len,
    uint32_t left_ms)
{
	const struct wp_sub *sub;
	struct job *j, **jp;
	time_t now;
	char hex[17];
	uint64_t h;

	if (!P.on || !P.running || left_ms == 0 ||
	    (sub = wp_store_get(P.store, id)) == NULL)
		return 0;
	id_short(id, hex);
	pthread_mutex_lock(&P.mu);
	if (P.njobs >= P.max) {
		P.st_dropped++;
		pthread_mutex_unlock(&P.mu);
		now = time(NULL);
		if (now != P.drop_second) {
			P.drop_second = now;
			P.drops_said = 0;
		}
		if (P.drops_said++ == 0)
			relayd_log("push: dropped the push to mailbox %s...: "
			    "%u pushes are waiting already (--push-queue); "
			    "its caller waits for the phone all the same",
			    hex, (unsigned int)P.max);
		return 0;
	}
	pthread_mutex_unlock(&P.mu);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return 0;
	memcpy(j->id, id, 32);
	j->sub = *sub;
	if (wp_url_parse(j->sub.endpoint, &j->url) != 0 ||
	    wp_payload(msg, len, j->payload, sizeof(j->payload),
	    &j->plen) != 0) {
		job_free(j);
		return 0;
	}
	j->deadline = relayd_mono_ms() + left_ms;
	j->due = 0;
	j->state = J_WAIT;
	j->retry_after = -1;
	pthread_mutex_lock(&P.mu);
	h = j->handle = ++P.next_handle;
	for (jp = &P.jobs; *jp != NULL; jp = &(*jp)->next)
		;
	*jp = j;
	P.njobs++;
	pthread_mutex_unlock(&P.mu);
	curl_multi_wakeup(P.multi);
	relayd_vlog("push: queued for mailbox %s... (%s)", hex, j->url.host);
	return h;
}

void
relayd_push_cancel(uint64_t h)
{
	struct job *j, **jp;

	if (!P.on || h == 0)
		return;
	pthread_mutex_lock(&P.mu);
	for (jp = &P.jobs; (j = *jp) != NULL; jp = &j->next) {
		if (j->handle != h)
			continue;
		if (j->state == J_WAIT) {
			/* Not on its way (first try or a retry): gone. */
			*jp = j->next;
			P.njobs--;
			job_free(j);
		} else
			j->cancelled = 1;
		break;
	}
	pthread_mutex_unlock(&P.mu);
}

/* The thread's answers, on the loop: subscriptions the service says are
 * gone are deleted (only if they still have that endpoint). */
void
relayd_push_results(void)
{
	struct result *r, *next;
	char hex[17];

	if (!P.on)
		return;
	pthread_mutex_lock(&P.mu);
	r = P.results;
	P.results = NULL;
	pthread_mutex_unlock(&P.mu);
	for (; r != NULL; r = next) {
		next = r->next;
		id_short(r->id, hex);
		if (wp_store_del(P.store, r->id, r->endpoint) == 0)
			relayd_log("push: %s answered %ld: the subscription of "
			    "mailbox %s... is gone, deleted", r->host,
			    r->status, hex);
		explicit_bzero(r, sizeof(*r));
		free(r);
	}
}

void
relayd_push_stats(struct relayd_push_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!P.on)
		return;
	pthread_mutex_lock(&P.mu);
	st->sent = P.st_sent;
	st->failed = P.st_failed;
	st->dropped = P.st_dropped;
	P.st_sent = P.st_failed = P.st_dropped = 0;
	pthread_mutex_unlock(&P.mu);
	st->subs = wp_store_count(P.store);
}

/* The thread. */

/* Retry-After: seconds, or an HTTP date. */
static size_t
on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = size * n;
	char val[64];
	const char *v;
	time_t t;
	size_t k;

	if (len < 12 || strncasecmp(buf, "Retry-After:", 12) != 0)
		return len;
	v = buf + 12;
	k = len - 12;
	while (k > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		k--;
	}
	while (k > 0 && (v[k - 1] == '\r' || v[k - 1] == '\n' ||
	    v[k - 1] == ' '))
		k--;
	if (k == 0 || k >= sizeof(val))
		return len;
	memcpy(val, v, k);
	val[k] = '\0';
	if (strspn(val, "0123456789") == k)
		j->retry_after = k > 6 ? PUSH_RETRY_AFTER_MAX_S :
		    strtol(val, NULL, 10);
	else if ((t = curl_getdate(val, NULL)) != -1)
		j->retry_after = t > time(NULL) ? (long)(t - time(NULL)) : 0;
	if (j->retry_after > PUSH_RETRY_AFTER_MAX_S)
		j->retry_after = PUSH_RETRY_AFTER_MAX_S;
	return len;
}

static size_t
on_body(char *buf, size_t size, size_t n, void *arg)
{
	(void)buf;
	(void)arg;
	return size * n;	/* read and forgotten */
}

/* One attempt: encrypt anew, sign a JWT, POST (RFC 8030 §5). */
static int
start(struct job *j, uint64_t now)
{
	char auth[WP_AUTH_HDR_MAX], line[WP_AUTH_HDR_MAX + 32], ttl[32];
	uint64_t left = j->deadline > now ? j->deadline - now : 0;
	size_t blen;
	long tmo = PUSH_ATTEMPT_MS;

	if ((j->body = malloc(WP_BODY_MAX)) == NULL)
		return -1;
	if (wp_encrypt(j->sub.p256dh, j->sub.auth,
	    (const uint8_t *)j->payload, j->plen, NULL, NULL, j->body,
	    WP_BODY_MAX, &blen) != 0 ||
	    wp_vapid_auth(P.vapid, j->url.origin, P.contact,
	    (int64_t)time(NULL), auth, sizeof(auth)) != 0)
		return -1;
	snprintf(ttl, sizeof(ttl), "TTL: %" PRIu64,
	    left / 1000 > 0 ? left / 1000 : 1);
	snprintf(line, sizeof(line), "Authorization: %s", auth);
	j->hdrs = curl_slist_append(j->hdrs, ttl);
	j->hdrs = curl_slist_append(j->hdrs, "Urgency: high");
	j->hdrs = curl_slist_append(j->hdrs, "Content-Encoding: aes128gcm");
	j->hdrs = curl_slist_append(j->hdrs,
	    "Content-Type: application/octet-stream");
	j->hdrs = curl_slist_append(j->hdrs, line);
	/* No "Expect: 100-continue" round trip for a 4 KiB body. */
	j->hdrs = curl_slist_append(j->hdrs, "Expect:");
	explicit_bzero(auth, sizeof(auth));
	explicit_bzero(line, sizeof(line));
	if (j->hdrs == NULL || (j->easy = curl_easy_init()) == NULL)
		return -1;
	j->retry_after = -1;
	curl_easy_setopt(j->easy, CURLOPT_URL, j->sub.endpoint);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* No proxy from the environment (PROTOCOL.md 7.1's reasons). */
	curl_easy_setopt(j->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(j->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS, tmo);
	curl_easy_setopt(j->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(j->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (P.ca != NULL) {
		curl_easy_setopt(j->easy, CURLOPT_CAINFO, P.ca);
		curl_easy_setopt(j->easy, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdrs);
	curl_easy_setopt(j->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long)blen);
	curl_easy_setopt(j->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(j->easy, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(j->easy, CURLOPT_USERAGENT, "sk-phone-relay");
	if (curl_multi_add_handle(P.multi, j->easy) != CURLM_OK)
		return -1;
	return 0;
}

/* An attempt is over (or never started): its request's parts go. */
static void
finish_request(struct job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(P.multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	if (j->body != NULL) {
		explicit_bzero(j->body, WP_BODY_MAX);
		free(j->body);
		j->body = NULL;
	}
}

/* Under mu: the job leaves the list. */
static void
job_done(struct job *j)
{
	struct job **jp;

	for (jp = &P.jobs; *jp != NULL; jp = &(*jp)->next)
		if (*jp == j) {
			*jp = j->next;
			P.njobs--;
			break;
		}
	job_free(j);
}

/* What an attempt's end means: done, retried later, or given up. */
static void
judge(struct job *j, CURLcode cc, uint64_t now)
{
	struct result *r;
	long status = 0, delay;
	char hex[17], why[96];
	int retry = 0, wake = 0;

	if (cc == CURLE_OK)
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	finish_request(j);
	id_short(j->id, hex);
	pthread_mutex_lock(&P.mu);
	if (cc == CURLE_OK && (status == 200 || status == 201 ||
	    status == 202)) {
		P.st_sent++;
		job_done(j);
		pthread_mutex_unlock(&P.mu);
		return;
	}
	if (cc == CURLE_OK && (status == 404 || status == 410)) {
		P.st_failed++;
		if ((r = calloc(1, sizeof(*r))) != NULL) {
			memcpy(r->id, j->id, 32);
			memcpy(r->endpoint, j->sub.endpoint,
			    sizeof(r->endpoint));
			memcpy(r->host, j->url.host, sizeof(r->host));
			r->status = status;
			r->next = P.results;
			P.results = r;
			wake = 1;
		}
		job_done(j);
		pthread_mutex_unlock(&P.mu);
		if (wake && P.ctx != NULL)
			lws_cancel_service(P.ctx);
		return;
	}
	if (cc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(cc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", status);
	if (cc != CURLE_OK || status == 429 || (status >= 500 &&
	    status <= 599))
		retry = 1;
	delay = j->retry_after >= 0 ? j->retry_after :
	    1L << (j->tries - 1);
	if (retry && !j->cancelled && j->tries <= PUSH_RETRIES &&
	    now + (uint64_t)delay * 1000 < j->deadline) {
		j->state = J_WAIT;
		j->due = now + (uint64_t)delay * 1000;
		pthread_mutex_unlock(&P.mu);
		tlog("push to %s for mailbox %s...: %s; trying again in %ld s",
		    j->url.host, hex, why, delay);
		return;
	}
	P.st_failed++;
	tlog("push to %s for mailbox %s... failed: %s%s", j->url.host, hex,
	    why, j->cancelled ? " (the call is over)" : !retry ?
	    " (not retried)" : " (no more tries before the call ends)");
	job_done(j);
	pthread_mutex_unlock(&P.mu);
}

static void *
run(void *arg)
{
	struct job *j, *go[PUSH_INFLIGHT];
	CURLMsg *m;
	uint64_t now, stop_at = 0, next;
	int i, n, inflight = 0, left, tmo;

	(void)arg;
	for (;;) {
		now = relayd_mono_ms();
		n = 0;
		pthread_mutex_lock(&P.mu);
		if (P.stop && stop_at == 0)
			stop_at = now + PUSH_STOP_MS;
		next = now + 1000;
		for (j = P.jobs; j != NULL && !P.stop; j = j->next) {
			if (j->state != J_WAIT)
				continue;
			if (j->due > now) {
				if (j->due < next)
					next = j->due;
				continue;
			}
			if (inflight + n >= PUSH_INFLIGHT)
				break;
			j->state = J_FLIGHT;
			j->tries++;
			go[n++] = j;
		}
		pthread_mutex_unlock(&P.mu);
		if (stop_at != 0 && (inflight == 0 || now >= stop_at))
			break;
		for (i = 0; i < n; i++) {
			if (start(go[i], now) == 0) {
				inflight++;
				continue;
			}
			finish_request(go[i]);
			pthread_mutex_lock(&P.mu);
			P.st_failed++;
			job_done(go[i]);
			pthread_mutex_unlock(&P.mu);
			tlog("push: cannot build a request (out of memory?)");
		}
		curl_multi_perform(P.multi, &left);
		while ((m = curl_multi_info_read(P.multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			j = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    (char **)&j);
			if (j == NULL)
				continue;
			inflight--;
			judge(j, m->data.result, relayd_mono_ms());
		}
		now = relayd_mono_ms();
		tmo = next > now ? (int)(next - now) : 0;
		if (stop_at != 0)
			tmo = stop_at > now ? (int)(stop_at - now) : 0;
		if (tmo > 1000)
			tmo = 1000;
		curl_multi_poll(P.multi, NULL, 0, tmo, NULL);
	}
	/* Stopping: what is left, in flight or waiting, is abandoned. */
	pthread_mutex_lock(&P.mu);
	while ((j = P.jobs) != NULL) {
		P.jobs = j->next;
		finish_request(j);
		job_free(j);
	}
	P.njobs = 0;
	pthread_mutex_unlock(&P.mu);
	if (inflight > 0)
		relayd_log("push: %d pushes still being sent were abandoned",
		    inflight);
	return NULL;
}

int
relayd_push_start(struct lws_context *ctx)
{
	if (!P.on)
		return 0;
	P.ctx = ctx;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (P.multi = curl_multi_init()) == NULL) {
		relayd_log("push: cannot initialise libcurl");
		return -1;
	}
	curl_multi_setopt(P.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)PUSH_INFLIGHT);
	if (pthread_create(&P.th, NULL, run, NULL) != 0) {
		relayd_log("push: cannot start its thread");
		curl_multi_cleanup(P.multi);
		P.multi = NULL;
		return -1;
	}
	P.running = 1;
	if (P.contact == NULL)
		relayd_log("warning: push is on without --push-contact: push "
		    "services may refuse or throttle a sender they cannot "
		    "reach; give a mailto: or https: address");
	relayd_log("push: on, %zu subscriptions in the store, up to %u "
	    "pushes queued", wp_store_count(P.store), (unsigned int)P.max);
	return 0;
}

/* Asks the thread to stop (what is in flight gets 2 s). */
void
relayd_push_stop(void)
{
	if (!P.running)
		return;
	pthread_mutex_lock(&P.mu);
	P.stop = 1;
	pthread_mutex_unlock(&P.mu);
	curl_multi_wakeup(P.multi);
}

void
relayd_push_fini(void)
{
	struct result *r;

	if (P.running) {
		relayd_push_stop();
		pthread_join(P.th, NULL);
		P.running = 0;
	}
	if (P.multi != NULL) {
		curl_multi_cleanup(P.multi);
		P.multi = NULL;
		curl_global_cleanup();
	}
	while ((r = P.results) != NULL) {
		P.results = r->next;
		free(r);
	}
	wp_store_free(P.store);
	wp_vapid_free(P.vapid);
	wp_allow_free(P.allow);
	free(P.contact);
	P.store = NULL;
	P.vapid = NULL;
	P.allow = NULL;
	P.contact = NULL;
	P.on = 0;
}
