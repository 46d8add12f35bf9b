/* sk-phone-relay: Web Push (docs/PROTOCOL.md §7.11). Not built in yet:
 * every SUBSCRIBE is answered OFF. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sk-phone/relay.h"

#include "relayd.h"

int
relayd_push_init(const struct relayd_conf *c)
{
	(void)c;
	return 0;
}

int
relayd_push_on(void)
{
	return 0;
}

int
relayd_push_start(struct lws_context *ctx)
{
	(void)ctx;
	return 0;
}

int
relayd_push_subscribe(const uint8_t id[32], const uint8_t *p, size_t n,
    uint8_t key[65])
{
	(void)id;
	(void)p;
	(void)n;
	memset(key, 0, 65);
	return SKP_RELAY_PUSH_OFF;
}

int
relayd_push_unsubscribe(const uint8_t id[32], uint8_t key[65])
{
	(void)id;
	memset(key, 0, 65);
	return SKP_RELAY_PUSH_OFF;
}

uint64_t
relayd_push_call(const uint8_t id[32], const uint8_t *msg, size_t len,
    uint32_t left_ms)
{
	(void)id;
	(void)msg;
	(void)len;
	(void)left_ms;
	return 0;
}

void
relayd_push_cancel(uint64_t h)
{
	(void)h;
}

void
relayd_push_results(void)
{
}

void
relayd_push_stats(struct relayd_push_stats *st)
{
	memset(st, 0, sizeof(*st));
}

void
relayd_push_fini(void)
{
}
