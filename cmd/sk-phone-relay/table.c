/* sk-phone-relay: SipHash-keyed tables of 32-byte ids and a timer wheel. */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/crypto.h"
#include "sk-phone/err.h"

#include "relayd.h"

#define TABLE_MIN	64

int
relayd_addr_keys(const void *sa, uint8_t keys[RELAYD_ADDR_LEVELS][32])
{
	static const uint8_t bits[RELAYD_ADDR_LEVELS] = { 64, 56, 48 };
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const struct sockaddr_in *s4 = sa;
	const struct sockaddr_in6 *s6 = sa;
	int i;

	memset(keys, 0, RELAYD_ADDR_LEVELS * 32);
	if (s4->sin_family == AF_INET) {
		memcpy(keys[0], mapped, sizeof(mapped));
		memcpy(keys[0] + 12, &s4->sin_addr, 4);
		return 1;
	}
	if (s6->sin6_family != AF_INET6)
		return 0;
	if (memcmp(&s6->sin6_addr, mapped, sizeof(mapped)) == 0) {
		memcpy(keys[0], &s6->sin6_addr, 16);
		return 1;
	}
	/* One IPv6 user has a /64 at least, often a /56 or a /48. */
	for (i = 0; i < RELAYD_ADDR_LEVELS; i++) {
		memcpy(keys[i], &s6->sin6_addr, bits[i] / 8);
		keys[i][16] = bits[i];
	}
	return RELAYD_ADDR_LEVELS;
}

static uint64_t
rotl(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND do {							\
	v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);	\
	v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);	\
} while (0)

/* SipHash-2-4 as in Aumasson and Bernstein's paper. */
uint64_t
siphash24(uint64_t k0, uint64_t k1, const uint8_t *p, size_t n)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t m, b = (uint64_t)n << 56;
	size_t i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (; left > 0; left--)
		b |= (uint64_t)p[i + left - 1] << (8 * (left - 1));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int
table_init(struct table *t)
{
	uint8_t k[16];
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = skp_random(k, sizeof(k))) != SKP_OK)
		return rc;
	t->k0 = le64(k);
	t->k1 = le64(k + 8);
	skp_wipe(k, sizeof(k));
	if ((t->b = calloc(TABLE_MIN, sizeof(*t->b))) == NULL)
		return SKP_ERR_NOMEM;
	t->nb = TABLE_MIN;
	return SKP_OK;
}

void
table_free(struct table *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

static size_t
slot_of(const struct table *t, const uint8_t key[32], size_t nb)
{
	return (size_t)siphash24(t->k0, t->k1, key, 32) & (nb - 1);
}

struct tnode_key *
table_get(const struct table *t, const uint8_t key[32])
{
	struct tnode_key *n;

	for (n = t->b[slot_of(t, key, t->nb)]; n != NULL; n = n->next)
		if (memcmp(n->key, key, 32) == 0)
			return n;
	return NULL;
}

/* Double the buckets when the chains would average more than one. */
static int
grow(struct table *t)
{
	struct tnode_key **nb, *n, *next;
	size_t i, s, size = t->nb * 2;

	if (size > SIZE_MAX / sizeof(*nb))
		return SKP_ERR_NOMEM;
	if ((nb = calloc(size, sizeof(*nb))) == NULL)
		return SKP_ERR_NOMEM;
	for (i = 0; i < t->nb; i++) {
		for (n = t->b[i]; n != NULL; n = next) {
			next = n->next;
			s = slot_of(t, n->key, size);
			n->next = nb[s];
			nb[s] = n;
		}
	}
	free(t->b);
	t->b = nb;
	t->nb = size;
	return SKP_OK;
}

int
table_put(struct table *t, struct tnode_key *n)
{
	size_t s = slot_of(t, n->key, t->nb);

	n->next = t->b[s];
	t->b[s] = n;
	t->n++;
	return t->n > t->nb ? grow(t) : SKP_OK;
}

void
table_del(struct table *t, struct tnode_key *n)
{
	struct tnode_key **pp;

	for (pp = &t->b[slot_of(t, n->key, t->nb)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->n--;
			return;
		}
	}
}

void
wheel_disarm(struct wtimer *w)
{
	if (w->pprev == NULL)
		return;
	*w->pprev = w->next;
	if (w->next != NULL)
		w->next->pprev = w->pprev;
	w->next = NULL;
	w->pprev = NULL;
}

static void
push(struct wtimer **head, struct wtimer *w)
{
	w->next = *head;
	if (w->next != NULL)
		w->next->pprev = &w->next;
	*head = w;
	w->pprev = head;
}

void
wheel_arm(struct wheel *wh, struct wtimer *w, uint32_t due)
{
	wheel_disarm(w);
	/* Never in the past: the slot being run now is already detached. */
	if (due <= wh->now)
		due = wh->now + 1;
	w->due = due;
	push(&wh->slot[due % WHEEL_SLOTS], w);
}

void
wheel_advance(struct wheel *wh, uint32_t to, void (*fire)(struct wtimer *))
{
	struct wtimer *run, *w;
	uint32_t tick;

	while (wh->now < to) {
		tick = ++wh->now;
		/*
		 * Detach the slot first: a fired timer may disarm others in
		 * it (they point into `run', so that stays consistent).
		 */
		run = wh->slot[tick % WHEEL_SLOTS];
		wh->slot[tick % WHEEL_SLOTS] = NULL;
		if (run != NULL)
			run->pprev = &run;
		while ((w = run) != NULL) {
			wheel_disarm(w);
			if (w->due > tick)
				push(&wh->slot[w->due % WHEEL_SLOTS], w);
			else
				fire(w);
		}
	}
}
