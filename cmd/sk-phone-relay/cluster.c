/* sk-phone-relay: the nodes of a cluster meet in Redis (docs/PROTOCOL.md §7.12). */
#include <sys/socket.h>
#include <netdb.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#include "relayd.h"

#if !defined(SKP_RELAY_CLUSTER)
/* Built without hiredis or libev: --cluster says so. */
int
relayd_cluster_init(const struct relayd_conf *conf, void *evloop)
{
	(void)evloop;
	if (conf->cluster == NULL)
		return 0;
	relayd_log("--cluster: this relay was built without hiredis and "
	    "libev (Debian: libhiredis-dev, libev-dev)");
	return -1;
}
int relayd_cluster_on(void) { return 0; }
int relayd_cluster_up(void) { return 0; }
const char *relayd_cluster_node(void) { return ""; }
void relayd_cluster_tick(void) { }
void relayd_cluster_fini(void) { }
uint64_t relayd_cluster_backlog(void) { return 0; }
void cl_lookup(uint64_t l, const uint8_t i[32], int h, uint32_t m)
{ (void)i; (void)h; (void)m; relayd_x_lookup_done(l, NULL, 1); }
void cl_claim(const uint8_t i[32]) { (void)i; }
void cl_release(const uint8_t i[32]) { (void)i; }
void cl_refresh(const uint8_t i[32]) { (void)i; }
void cl_rdv_join(uint64_t l, const uint8_t i[32], uint32_t m)
{ (void)i; (void)m; relayd_x_rdv_done(l, NULL, 1); }
void cl_rdv_get(uint64_t l, const uint8_t i[32])
{ (void)i; relayd_x_rdv_done(l, NULL, 1); }
void cl_rdv_set(const uint8_t i[32], uint32_t m) { (void)i; (void)m; }
void cl_rdv_release(const uint8_t i[32]) { (void)i; }
void cl_send(const char *n, const struct clmsg *m) { (void)n; (void)m; }
void cl_check_nodes(const char *const *n, size_t k) { (void)n; (void)k; }
#else

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>
#pragma GCC diagnostic pop

/* Keys live this long unless refreshed (every third of it). */
#define MB_TTL_MS	60000
#define CONNECT_MS	3000
#define RETRY_MS	1000
#define DOWN_LOG_MS	60000
#define MAX_NODES	1024

/* Refresh a mailbox this node holds: set it when it is gone (Redis was
 * restarted), extend it when it is ours, 0 when another node has it. */
static const char refresh_lua[] =
    "local v=redis.call('get',KEYS[1]) "
    "if v==false then redis.call('set',KEYS[1],ARGV[1],'px',ARGV[2]) "
    "return 1 elseif v==ARGV[1] then "
    "redis.call('pexpire',KEYS[1],ARGV[2]) return 1 end return 0";
/* Delete a key only while it names this node. */
static const char release_lua[] =
    "if redis.call('get',KEYS[1])==ARGV[1] then "
    "return redis.call('del',KEYS[1]) end return 0";

struct cnode {
	char		 name[RELAYD_NODE_MAX + 1];
	char		 chan[RELAYD_NODE_MAX + 32];
};

struct pubarg {
	struct cnode	*to;
	size_t		 len;
};

static struct {
	int		 on;
	char		 node[RELAYD_NODE_MAX + 1];
	char		 chan[RELAYD_NODE_MAX + 32];
	char		 host[NI_MAXHOST];	/* resolved, numeric */
	char		 shown[300];		/* the URL without password */
	int		 port;
	int		 db;
	char		 pass[256];
	uint32_t	 hold_ms;
	struct ev_loop	*loop;
	redisAsyncContext *cmd, *sub;
	int		 cmd_ok, sub_ok, up, downing;
	uint64_t	 connect_at, retry_at, down_logged;
	uint64_t	 backlog;
	struct cnode	*nodes[MAX_NODES];
	size_t		 nnodes;
	struct cnode	*last;
} C;

int
relayd_cluster_on(void)
{
	return C.on;
}

int
relayd_cluster_up(void)
{
	return C.up;
}

const char *
relayd_cluster_node(void)
{
	return C.node;
}

uint64_t
relayd_cluster_backlog(void)
{
	return C.backlog;
}

static struct cnode *
node_intern(const char *name)
{
	struct cnode *n;
	size_t i;

	if (C.last != NULL && strcmp(C.last->name, name) == 0)
		return C.last;
	for (i = 0; i < C.nnodes; i++)
		if (strcmp(C.nodes[i]->name, name) == 0)
			return C.last = C.nodes[i];
	if (C.nnodes == MAX_NODES || !relayd_node_name_ok(name, strlen(name)) ||
	    (n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->chan, sizeof(n->chan), "skp:%d:node:%s", C.db, name);
	C.nodes[C.nnodes++] = n;
	return C.last = n;
}

/*
 * redis://[:PASSWORD@]HOST[:PORT][/DB]; HOST a name, an IPv4 address or
 * [IPv6]. The name is resolved once, here: a lookup later would block the
 * loop. rediss:// is refused: Debian 12's hiredis (0.14) has no TLS.
 */
static int
parse_url(const char *url)
{
	struct addrinfo hints, *res = NULL;
	const char *p, *at, *hs, *he, *slash;
	char host[256], portstr[8];
	unsigned long v;
	char *end;
	int rc;

	if (strncmp(url, "rediss://", 9) == 0) {
		relayd_log("--cluster: rediss:// (TLS) is not supported: this "
		    "hiredis has no TLS; reach Redis over a private network or "
		    "a tunnel (stunnel, spiped, WireGuard) and use redis://");
		return -1;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		relayd_log("--cluster: want redis://[:PASSWORD@]HOST:PORT[/DB]");
		return -1;
	}
	p = url + 8;
	if ((at = strrchr(p, '@')) != NULL) {
		if (p[0] != ':' || (size_t)(at - p - 1) >= sizeof(C.pass) ||
		    at == p + 1) {
			relayd_log("--cluster: the password goes as "
			    "redis://:PASSWORD@HOST:PORT (at most 255 "
			    "characters)");
			return -1;
		}
		memcpy(C.pass, p + 1, (size_t)(at - p - 1));
		C.pass[at - p - 1] = '\0';
		p = at + 1;
	}
	C.port = 6379;
	C.db = 0;
	if (*p == '[') {
		hs = p + 1;
		if ((he = strchr(hs, ']')) == NULL)
			goto bad;
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/");
		p = he;
	}
	if ((size_t)(he - hs) == 0 || (size_t)(he - hs) >= sizeof(host))
		goto bad;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (*p == ':') {
		v = strtoul(p + 1, &end, 10);
		if (end == p + 1 || v == 0 || v > 65535)
			goto bad;
		C.port = (int)v;
		p = end;
	}
	if (*p == '/' && p[1] != '\0') {
		v = strtoul(p + 1, &end, 10);
		if (end == p + 1 || *end != '\0' || v > 1000000)
			goto bad;
		C.db = (int)v;
	} else if (*p == '/')
		p++;
	slash = p;
	if (*slash != '\0' && *slash != '/')
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0 ||
	    res == NULL) {
		relayd_log("--cluster: cannot resolve %s: %s", host,
		    gai_strerror(rc));
		return -1;
	}
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, C.host,
	    sizeof(C.host), NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc != 0)
		goto bad;
	snprintf(portstr, sizeof(portstr), "%d", C.port);
	snprintf(C.shown, sizeof(C.shown), "redis://%s%s%s%s:%s/%d",
	    C.pass[0] != '\0' ? ":***@" : "", strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", portstr, C.db);
	return 0;
bad:
	relayd_log("--cluster: want redis://[:PASSWORD@]HOST:PORT[/DB]");
	return -1;
}

int
relayd_cluster_init(const struct relayd_conf *conf, void *evloop)
{
	memset(&C, 0, sizeof(C));
	if (conf->cluster == NULL)
		return 0;
	if (conf->node == NULL ||
	    !relayd_node_name_ok(conf->node, strlen(conf->node))) {
		relayd_log("--cluster needs --node NAME: 1 to %d of "
		    "A-Z a-z 0-9 . _ -, different on every node",
		    RELAYD_NODE_MAX);
		return -1;
	}
	if (evloop == NULL) {
		relayd_log("--cluster needs the libev event loop "
		    "(--event-loop libev)");
		return -1;
	}
	if (parse_url(conf->cluster) != 0)
		return -1;
	snprintf(C.node, sizeof(C.node), "%s", conf->node);
	snprintf(C.chan, sizeof(C.chan), "skp:%d:node:%s", C.db, C.node);
	C.hold_ms = conf->max_hold_s * 1000;
	C.loop = evloop;
	C.on = 1;
	C.retry_at = 0;
	relayd_log("cluster: node %s, redis %s", C.node, C.shown);
	return 0;
}

static void go_down(const char *);

static void
on_connect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		/* hiredis frees it after this */
		if (ac == C.cmd)
			C.cmd = NULL;
		if (ac == C.sub)
			C.sub = NULL;
		go_down(ac->errstr);
	}
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	(void)status;
	if (ac == C.cmd)
		C.cmd = NULL;
	else if (ac == C.sub)
		C.sub = NULL;
	else
		return;
	go_down(ac->err != 0 ? ac->errstr : "connection closed");
}

static void
maybe_up(void)
{
	if (C.up || !C.cmd_ok || !C.sub_ok)
		return;
	C.up = 1;
	C.down_logged = 0;
	relayd_log("cluster: connected to %s as node %s", C.shown, C.node);
	relayd_x_state(1);
}

static int
reply_ok(const redisReply *r)
{
	return r != NULL && r->type != REDIS_REPLY_ERROR;
}

static void
on_auth(redisAsyncContext *ac, void *reply, void *pd)
{
	const redisReply *r = reply;

	(void)pd;
	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		relayd_log("cluster: redis refused AUTH: %.100s (check the "
		    "password in --cluster)", r->str);
		if (ac == C.cmd || ac == C.sub)
			redisAsyncDisconnect(ac);
	}
}

static void
on_select(redisAsyncContext *ac, void *reply, void *pd)
{
	const redisReply *r = reply;

	(void)pd;
	if (ac != C.cmd || r == NULL)
		return;
	if (!reply_ok(r)) {
		relayd_log("cluster: redis refused SELECT %d: %.100s", C.db,
		    r->str);
		redisAsyncDisconnect(ac);
		return;
	}
	C.cmd_ok = 1;
	maybe_up();
}

static void
on_sub(redisAsyncContext *ac, void *reply, void *pd)
{
	const redisReply *r = reply;
	struct clmsg m;

	(void)pd;
	if (ac != C.sub || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(r->element[0]->str, "subscribe") == 0) {
		C.sub_ok = 1;
		maybe_up();
		return;
	}
	if (strcmp(r->element[0]->str, "message") != 0 ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (relayd_clmsg_parse((const uint8_t *)r->element[2]->str,
	    r->element[2]->len, &m) != SKP_OK) {
		relayd_refusal("cluster: a malformed message on %s "
		    "(%zu bytes): dropped", C.chan, r->element[2]->len);
		return;
	}
	relayd_x_msg(&m);
}

static redisAsyncContext *
open_one(void)
{
	redisAsyncContext *ac;

	if ((ac = redisAsyncConnect(C.host, C.port)) == NULL)
		return NULL;
	if (ac->err != 0) {
		redisAsyncFree(ac);
		return NULL;
	}
	if (redisLibevAttach(C.loop, ac) != REDIS_OK) {
		redisAsyncFree(ac);
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (C.pass[0] != '\0')
		redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", C.pass);
	return ac;
}

static void
connect_both(void)
{
	C.cmd_ok = C.sub_ok = 0;
	C.connect_at = relayd_mono_ms();
	if ((C.cmd = open_one()) == NULL || (C.sub = open_one()) == NULL) {
		go_down("cannot open a socket");
		return;
	}
	redisAsyncCommand(C.cmd, on_select, NULL, "SELECT %d", C.db);
	redisAsyncCommand(C.sub, on_sub, NULL, "SUBSCRIBE %s", C.chan);
}

/*
 * One of the two connections failed: drop the other, tell the router
 * (cross-node links end with 4032), try again in a second.
 */
static void
go_down(const char *why)
{
	redisAsyncContext *ac;
	uint64_t now = relayd_mono_ms();
	int was = C.up;

	if (C.downing)
		return;
	C.downing = 1;
	C.up = 0;
	C.cmd_ok = C.sub_ok = 0;
	if ((ac = C.cmd) != NULL) {
		C.cmd = NULL;
		redisAsyncFree(ac);
	}
	if ((ac = C.sub) != NULL) {
		C.sub = NULL;
		redisAsyncFree(ac);
	}
	C.backlog = 0;
	C.retry_at = now + RETRY_MS;
	if (was || C.down_logged == 0 || now - C.down_logged >= DOWN_LOG_MS) {
		relayd_log("cluster: redis %s unreachable (%.100s): serving "
		    "only phones and computers that meet on this node; calls "
		    "to other nodes are refused (4032); retrying every "
		    "second", C.shown, why != NULL ? why : "?");
		C.down_logged = now;
	}
	if (was)
		relayd_x_state(0);
	C.downing = 0;
}

void
relayd_cluster_tick(void)
{
	uint64_t now;

	if (!C.on)
		return;
	now = relayd_mono_ms();
	if (C.cmd == NULL && C.sub == NULL && !C.up && now >= C.retry_at) {
		connect_both();
		return;
	}
	if (!C.up && (C.cmd != NULL || C.sub != NULL) &&
	    now - C.connect_at > CONNECT_MS)
		go_down("no answer");
}

void
relayd_cluster_fini(void)
{
	size_t i;

	/* Replies still due come back NULL: nothing is sent from them. */
	C.up = 0;
	if (C.cmd != NULL || C.sub != NULL) {
		C.downing = 1;
		if (C.cmd != NULL)
			redisAsyncFree(C.cmd);
		if (C.sub != NULL)
			redisAsyncFree(C.sub);
		C.cmd = C.sub = NULL;
	}
	for (i = 0; i < C.nnodes; i++)
		free(C.nodes[i]);
	explicit_bzero(C.pass, sizeof(C.pass));
	C.on = 0;
}

/* Keys. */

static void
key_of(char *buf, size_t len, const char *what, const uint8_t id[32])
{
	char hex[65];

	skp_hex(id, 32, hex);
	snprintf(buf, len, "skp:%s:%s", what, hex);
}

static uint64_t *
lid_arg(uint64_t lid)
{
	uint64_t *p;

	if ((p = malloc(sizeof(*p))) != NULL)
		*p = lid;
	return p;
}

/* A string reply naming a node, or NULL. */
static const char *
node_of(const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_STRING ||
	    !relayd_node_name_ok(r->str, r->len))
		return NULL;
	return r->str;
}

static void
on_lookup(redisAsyncContext *ac, void *reply, void *pd)
{
	uint64_t lid = *(uint64_t *)pd;

	(void)ac;
	free(pd);
	relayd_x_lookup_done(lid, node_of(reply), !reply_ok(reply));
}

/* Where the mailbox listens; with hold, first note that this node holds
 * a call for it, so the node it listens on next wakes us (CLM_WAKE). */
void
cl_lookup(uint64_t lid, const uint8_t id[32], int hold, uint32_t hold_ms)
{
	char key[96], hkey[96];
	uint64_t *pd;

	if (!C.up || (pd = lid_arg(lid)) == NULL) {
		relayd_x_lookup_done(lid, NULL, 1);
		return;
	}
	key_of(key, sizeof(key), "mb", id);
	if (hold) {
		key_of(hkey, sizeof(hkey), "held", id);
		redisAsyncCommand(C.cmd, NULL, NULL, "SADD %s %s", hkey,
		    C.node);
		redisAsyncCommand(C.cmd, NULL, NULL, "PEXPIRE %s %u", hkey,
		    (unsigned int)(hold_ms > C.hold_ms ? hold_ms : C.hold_ms));
	}
	redisAsyncCommand(C.cmd, on_lookup, pd, "GET %s", key);
}

static void
on_pub(redisAsyncContext *ac, void *reply, void *pd)
{
	const redisReply *r = reply;
	struct pubarg *pa = pd;
	struct cnode *to = pa->to;

	(void)ac;
	C.backlog -= C.backlog >= pa->len ? pa->len : C.backlog;
	free(pa);
	/* Nobody subscribed: that node is gone (killed, or cut off). */
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
		relayd_x_node_gone(to->name);
}

void
cl_send(const char *node, const struct clmsg *m)
{
	uint8_t stackbuf[256], *buf = stackbuf;
	struct pubarg *pa;
	struct cnode *to;
	size_t n;

	if (!C.up || (to = node_intern(node)) == NULL)
		return;
	n = relayd_clmsg_size(m);
	if (n > sizeof(stackbuf) && (buf = malloc(n)) == NULL)
		return;
	n = relayd_clmsg_encode(m, buf);
	if ((pa = malloc(sizeof(*pa))) != NULL) {
		pa->to = to;
		pa->len = n;
		C.backlog += n;
		redisAsyncCommand(C.cmd, on_pub, pa, "PUBLISH %s %b", to->chan,
		    buf, n);
	}
	if (buf != stackbuf)
		free(buf);
}

static void
on_members(redisAsyncContext *ac, void *reply, void *pd)
{
	const redisReply *r = reply;
	struct clmsg m;
	size_t i;

	(void)ac;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || pd == NULL) {
		free(pd);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = CLM_WAKE;
	snprintf(m.node, sizeof(m.node), "%s", C.node);
	memcpy(m.id, pd, 32);
	free(pd);
	for (i = 0; i < r->elements; i++) {
		const char *n = node_of(r->element[i]);

		if (n != NULL && strcmp(n, C.node) != 0)
			cl_send(n, &m);
	}
}

static void
on_claimed(redisAsyncContext *ac, void *reply, void *pd)
{
	const char *old = node_of(reply);
	struct clmsg m;

	(void)ac;
	if (pd == NULL)
		return;
	if (old != NULL && strcmp(old, C.node) != 0) {
		memset(&m, 0, sizeof(m));
		m.type = CLM_REPLACED;
		snprintf(m.node, sizeof(m.node), "%s", C.node);
		memcpy(m.id, pd, 32);
		cl_send(old, &m);
	}
	free(pd);
}

/*
 * A phone proved its mailbox here: it is ours (the newest LISTEN wins);
 * the node that had it closes its listener; nodes holding calls for it
 * send them here.
 */
void
cl_claim(const uint8_t id[32])
{
	char key[96], hkey[96];
	uint8_t *a, *b;

	if (!C.up)
		return;
	key_of(key, sizeof(key), "mb", id);
	key_of(hkey, sizeof(hkey), "held", id);
	if ((a = malloc(32)) != NULL)
		memcpy(a, id, 32);
	if ((b = malloc(32)) != NULL)
		memcpy(b, id, 32);
	redisAsyncCommand(C.cmd, on_claimed, a, "SET %s %s PX %u GET", key,
	    C.node, (unsigned int)MB_TTL_MS);
	redisAsyncCommand(C.cmd, on_members, b, "SMEMBERS %s", hkey);
	redisAsyncCommand(C.cmd, NULL, NULL, "DEL %s", hkey);
}

/* Deletes skp:WHAT:<id> while it names this node. */
static void
release(const char *what, const uint8_t id[32])
{
	char key[96];

	if (!C.up)
		return;
	key_of(key, sizeof(key), what, id);
	redisAsyncCommand(C.cmd, NULL, NULL, "EVAL %s 1 %s %s", release_lua,
	    key, C.node);
}

void
cl_release(const uint8_t id[32])
{
	release("mb", id);
}

static void
on_refresh(redisAsyncContext *ac, void *reply, void *pd)
{
	const redisReply *r = reply;

	(void)ac;
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0 &&
	    pd != NULL)
		relayd_x_evict(pd);
	free(pd);
}

void
cl_refresh(const uint8_t id[32])
{
	char key[96];
	uint8_t *a;

	if (!C.up)
		return;
	key_of(key, sizeof(key), "mb", id);
	if ((a = malloc(32)) != NULL)
		memcpy(a, id, 32);
	redisAsyncCommand(C.cmd, on_refresh, a, "EVAL %s 1 %s %s %u",
	    refresh_lua, key, C.node, (unsigned int)MB_TTL_MS);
}

static void
on_rdv(redisAsyncContext *ac, void *reply, void *pd)
{
	uint64_t lid = *(uint64_t *)pd;

	(void)ac;
	free(pd);
	relayd_x_rdv_done(lid, node_of(reply), !reply_ok(reply));
}

/* JOIN: take the rendezvous, or learn the node that waits on it. */
void
cl_rdv_join(uint64_t lid, const uint8_t id[32], uint32_t ms)
{
	char key[96];
	uint64_t *pd;

	if (!C.up || (pd = lid_arg(lid)) == NULL) {
		relayd_x_rdv_done(lid, NULL, 1);
		return;
	}
	key_of(key, sizeof(key), "rdv", id);
	redisAsyncCommand(C.cmd, on_rdv, pd, "SET %s %s NX GET PX %u", key,
	    C.node, (unsigned int)(ms > 0 ? ms : 1));
}

void
cl_rdv_get(uint64_t lid, const uint8_t id[32])
{
	char key[96];
	uint64_t *pd;

	if (!C.up || (pd = lid_arg(lid)) == NULL) {
		relayd_x_rdv_done(lid, NULL, 1);
		return;
	}
	key_of(key, sizeof(key), "rdv", id);
	redisAsyncCommand(C.cmd, on_rdv, pd, "GET %s", key);
}

void
cl_rdv_set(const uint8_t id[32], uint32_t ms)
{
	char key[96];

	if (!C.up)
		return;
	key_of(key, sizeof(key), "rdv", id);
	redisAsyncCommand(C.cmd, NULL, NULL, "SET %s %s PX %u", key, C.node,
	    (unsigned int)(ms > 0 ? ms : 1));
}

void
cl_rdv_release(const uint8_t id[32])
{
	release("rdv", id);
}

static void
on_numsub(redisAsyncContext *ac, void *reply, void *pd)
{
	const redisReply *r = reply;
	size_t i, pre = strlen("skp::node:");
	char dbs[16];

	(void)ac;
	(void)pd;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return;
	pre += (size_t)snprintf(dbs, sizeof(dbs), "%d", C.db);
	for (i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *ch = r->element[i], *n = r->element[i + 1];

		if (ch->type == REDIS_REPLY_STRING && ch->len > pre &&
		    n->type == REDIS_REPLY_INTEGER && n->integer == 0)
			relayd_x_node_gone(ch->str + pre);
	}
}

/* Are these nodes still subscribed? relayd_x_node_gone() for each not. */
void
cl_check_nodes(const char *const *nodes, size_t n)
{
	const char *argv[2 + 64];
	struct cnode *c;
	size_t i, k = 2;

	if (!C.up || n == 0)
		return;
	argv[0] = "PUBSUB";
	argv[1] = "NUMSUB";
	for (i = 0; i < n && k < sizeof(argv) / sizeof(argv[0]); i++)
		if ((c = node_intern(nodes[i])) != NULL)
			argv[k++] = c->chan;
	redisAsyncCommandArgv(C.cmd, on_numsub, NULL, (int)k, argv, NULL);
}
#endif
