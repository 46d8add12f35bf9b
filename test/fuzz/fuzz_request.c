/*
 * Fuzz harness: the phone's whole request pipeline after decryption,
 * from the request envelope to the decision to refuse, to ask the owner
 * or to sign under an open window (skp_handle_envelope, then
 * skp_serve_window_allows), on a real state folder (in /dev/shm when
 * there is one) with two paired computers and two credentials.
 *
 * Input: one byte of flags, a big-endian int16 of seconds added to the
 * phone's clock (1700000000.123 s, the seeds' request time), then the
 * envelope (message 1's payload). Flags:
 *   bit 0  the request is from "desk" (no window) instead of "laptop"
 *          (a window until +1 h covering SSHSIG namespace "git")
 *   bit 1  the phone has a PIN
 *   bit 2  the state could not be re-read for this request
 *   bit 3  the login's host key is pinned under its name
 *   bit 4  another key of its type is pinned under its name instead
 *   bit 5  a host window for this computer and that name, until +1 h
 *   bit 6  the same envelope comes again (a replay)
 * Credentials: id 11..11 (16 bytes), rp "ssh:", credProtect 2, key from
 * private scalar 01..01; id 22..22, rp "ssh:", resident, user "u",
 * credProtect 3, key from 02..02.
 *
 * What must hold: nothing reaches the owner or a window that a check
 * refuses (stale, replayed, not this credential, a changed or bad host
 * key, the data not what is signed, a state not re-read); nothing that
 * needs user verification passes without the PIN; a window covers only
 * signatures: verified logins to a pinned host, and SSHSIG of an approved
 * namespace from the computer that opened it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk-phone/crypto.h"
#include "sk-phone/ctap.h"
#include "sk-phone/err.h"
#include "sk-phone/hostinfo.h"
#include "sk-phone/hostkey.h"

#include "handle.h"
#include "hostcheck.h"
#include "phstate.h"
#include "serve.h"
#include "sshmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define BASE_MS		1700000000123ULL
#define HOUR_S		3600

static char dir[256];
static struct skp_phstate *st;
static struct skp_ph_computer paired[2];	/* put back after FORGET */
static size_t base_hosts, base_hwins;

static void
cleanup(void)
{
	struct dirent *de;
	char path[sizeof(dir) + 256 + 2];
	DIR *d;

	skp_phstate_free(&st);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			(void)unlink(path);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

static void
add_cred(uint8_t idbyte, uint8_t privbyte, int resident, unsigned int cp)
{
	struct skp_ph_cred *c = &st->creds[st->ncreds++];
	uint8_t priv[SKP_P256_PRIV_LEN];

	memset(c, 0, sizeof(*c));
	memset(c->id, idbyte, sizeof(c->id));
	memset(priv, privbyte, sizeof(priv));
	if (skp_p256_from_private(priv, &c->key) != SKP_OK)
		abort();
	snprintf(c->rp, sizeof(c->rp), "ssh:");
	c->user_id[0] = 'u';
	c->user_id_len = 1;
	snprintf(c->user_name, sizeof(c->user_name), "u");
	c->resident = resident;
	c->cred_protect = cp;
	c->created = BASE_MS / 1000;
	snprintf(c->made_for, sizeof(c->made_for), "laptop");
}

/*
 * The two computers as init made them, the laptop's window open: a FORGET
 * (sk-phone unpair) removes its sender, and every input must start from
 * the same state.
 */
static void
restore(void)
{
	char why[256];
	size_t i;

	for (i = 0; i < 2; i++)
		(void)skp_phstate_computer_remove(st, paired[i].name, why,
		    sizeof(why));
	for (i = 0; i < 2; i++)
		if (skp_phstate_computer_put(st, &paired[i], why,
		    sizeof(why)) != SKP_OK)
			abort();
	if (skp_phstate_window_set(st, "laptop", BASE_MS / 1000 + HOUR_S,
	    "git", BASE_MS / 1000, why, sizeof(why)) != SKP_OK) {
		fprintf(stderr, "fuzz_request: %s\n", why);
		abort();
	}
}

static void
init(void)
{
	const char *base = getenv("SKP_FUZZ_TMPDIR");
	struct skp_ph_computer c;
	struct skp_p256_key k;
	char why[256];
	int i;

	/* scripts/fuzz.sh names a folder it removes (libFuzzer may end
	 * without atexit); else /dev/shm, cleaned at exit. */
	if (base == NULL || *base == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/skp-fuzz-request.XXXXXX",
	    base) >= sizeof(dir) || mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	if (skp_phstate_open(dir, NULL, 1, &st, why, sizeof(why)) != SKP_OK ||
	    skp_phstate_identity_set(st, "phone", "ws://r", why,
	    sizeof(why)) != SKP_OK) {
		fprintf(stderr, "fuzz_request: %s\n", why);
		abort();
	}
	for (i = 0; i < 2; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", i == 0 ? "laptop" :
		    "desk");
		if (skp_p256_generate(&k) != SKP_OK)
			abort();
		memcpy(c.pub, k.pub, sizeof(c.pub));
		memset(c.psk, 0x30 + i, sizeof(c.psk));
		c.paired_at = BASE_MS / 1000;
		if (skp_phstate_computer_put(st, &c, why, sizeof(why)) !=
		    SKP_OK)
			abort();
		paired[i] = c;
	}
	restore();
	/* In memory only: a credential's file is not what is fuzzed here. */
	add_cred(0x11, 0x01, 0, 2);
	add_cred(0x22, 0x02, 1, 3);
	base_hosts = st->nhosts;
	base_hwins = st->nhwins;
}

/* The pins and the host window the flags ask for, in memory. */
static void
set_pins(uint8_t flags, uint64_t now_s, const uint8_t *pt, size_t n,
    const char *computer)
{
	static struct skp_ctap_request req;
	struct skp_ph_host *p;
	struct skp_ph_host_window *w;
	const char *type = NULL;
	char name[SKP_HOSTINFO_PIN_MAX];
	uint8_t status;

	st->nhosts = base_hosts;
	st->nhwins = base_hwins;
	if (!(flags & 0x38) || skp_ctap_request_decode(pt, n, &req,
	    &status) != SKP_OK || !req.ctx.has_host ||
	    skp_hostinfo_pin_name(req.ctx.host.name, req.ctx.host.port, name,
	    sizeof(name)) != SKP_OK || req.ctx.host.host_key_len == 0 ||
	    req.ctx.host.host_key_len > sizeof(p->key) ||
	    skp_hostkey_check(req.ctx.host.host_key,
	    req.ctx.host.host_key_len, &type) != SKP_OK)
		return;
	if ((flags & 0x18) && st->nhosts < SKP_PH_MAX_HOSTS) {
		p = &st->hosts[st->nhosts++];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", name);
		memcpy(p->key, req.ctx.host.host_key,
		    req.ctx.host.host_key_len);
		p->key_len = req.ctx.host.host_key_len;
		if (flags & 0x10)
			p->key[p->key_len - 1] ^= 1;
		p->type = type;
		p->pinned_at = now_s;
		snprintf(p->pinned_by, sizeof(p->pinned_by), "laptop");
	}
	if ((flags & 0x20) && st->nhwins < SKP_PH_MAX_HOST_WINDOWS) {
		w = &st->hwins[st->nhwins++];
		memset(w, 0, sizeof(*w));
		snprintf(w->computer, sizeof(w->computer), "%s", computer);
		snprintf(w->host, sizeof(w->host), "%s", name);
		w->until = now_s + HOUR_S;
	}
}

static int
needs_uv(const struct skp_req *r)
{
	const struct skp_ph_cred *c = NULL;
	size_t i;

	switch (r->req.command) {
	case SKP_CTAP_MAKE_CREDENTIAL:
		return r->req.mc.uv == 1 || r->req.mc.cred_protect == 3;
	case SKP_CTAP_GET_ASSERTION:
		for (i = 0; i < st->ncreds; i++)
			if (memcmp(st->creds[i].id, r->cred_id,
			    SKP_PH_CRED_ID_LEN) == 0)
				c = &st->creds[i];
		if (c == NULL)
			abort();	/* approved without a credential */
		return r->req.ga.uv == 1 || c->cred_protect == 3;
	default:
		return 0;
	}
}

/* One pass; 1 when it reached the owner or a window. */
static int
one(struct skp_handler *h, int computer, const uint8_t *pt, size_t n,
    uint64_t now_ms)
{
	struct skp_req *r;
	const char *allowed;
	uint64_t skew;
	int reached = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		abort();
	r->computer = st->computers[computer];
	(void)skp_handle_envelope(h, r, pt, n, now_ms);
	if (r->next != SKP_HANDLE_APPROVE)
		goto out;
	reached = 1;
	skew = now_ms > r->req.time_ms ? now_ms - r->req.time_ms :
	    r->req.time_ms - now_ms;
	if (h->state_unreadable || skew > SKP_HANDLE_FRESH_MS ||
	    r->status != 0)
		abort();
	if (r->req.command != SKP_CTAP_MAKE_CREDENTIAL &&
	    r->req.command != SKP_CTAP_GET_ASSERTION &&
	    r->req.command != SKP_CTAP_CRED_MGMT)
		abort();
	if ((r->req.command == SKP_CTAP_MAKE_CREDENTIAL ||
	    r->req.command == SKP_CTAP_GET_ASSERTION) &&
	    skp_ctap_request_check_raw(&r->req) != SKP_OK)
		abort();
	if (r->host.state == SKP_HOSTCHECK_CHANGED ||
	    r->host.state == SKP_HOSTCHECK_BAD)
		abort();
	/* The PIN comes later (message 3): nothing needing it is here. */
	if (needs_uv(r) && !r->uv)
		abort();
	allowed = skp_serve_window_allows(st, r, now_ms / 1000);
	if (allowed != NULL) {
		if (r->req.command != SKP_CTAP_GET_ASSERTION)
			abort();
		if (r->msg.kind == SKP_SSHMSG_USERAUTH) {
			if (r->host.state != SKP_HOSTCHECK_PINNED)
				abort();
		} else if (r->msg.kind != SKP_SSHMSG_SSHSIG ||
		    strcmp(r->computer.name, "laptop") != 0 ||
		    strcmp(r->msg.ns, "git") != 0 ||
		    strcmp(allowed, "allow-window") != 0)
			abort();
	}
 out:
	skp_req_free(&r);
	return reached;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skp_handler h;
	char path[sizeof(dir) + 8];
	uint64_t now_ms;
	int16_t off;
	uint8_t flags;

	if (size < 3)
		return 0;
	if (st == NULL)
		init();
	flags = data[0];
	off = (int16_t)((uint16_t)data[1] << 8 | data[2]);
	now_ms = BASE_MS + (uint64_t)((int64_t)off * 1000);
	/* Every input starts with an empty replay cache. */
	snprintf(path, sizeof(path), "%s/seen", dir);
	(void)unlink(path);
	memset(&h, 0, sizeof(h));
	h.st = st;
	h.state_unreadable = (flags & 4) != 0;
	if (flags & 2) {
		h.have_pin = 1;
		snprintf(h.pin, sizeof(h.pin), "1234");
	}
	set_pins(flags, now_ms / 1000, data + 3, size - 3,
	    flags & 1 ? "desk" : "laptop");
	if (one(&h, flags & 1, data + 3, size - 3, now_ms) &&
	    (flags & 0x40) && one(&h, flags & 1, data + 3, size - 3, now_ms))
		abort();	/* a replay reached the owner */
	st->nhosts = base_hosts;
	st->nhwins = base_hwins;
	if (st->ncomputers != 2)
		restore();
	return 0;
}
