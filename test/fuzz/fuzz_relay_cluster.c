/* Fuzz harness: the messages between relay nodes (cmd/sk-phone-relay/clmsg.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk-phone/err.h"
#include "sk-phone/relay.h"

#include "relayd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * What parses is a message: the fields encode back to the same bytes,
 * DATA points inside the input, and the sender's name is a valid one.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct clmsg m;
	uint8_t *out;
	size_t len;

	if (relayd_clmsg_parse(p, n, &m) != SKP_OK)
		return 0;
	if (!relayd_node_name_ok(m.node, strlen(m.node)))
		abort();
	if (m.data != NULL && (m.data < p || m.len > (size_t)(p + n - m.data)))
		abort();
	if (m.type == CLM_END && (m.code < 4000 || m.code > 4999))
		abort();
	len = relayd_clmsg_size(&m);
	if (len != n || (out = malloc(len)) == NULL)
		abort();
	if (relayd_clmsg_encode(&m, out) != n || memcmp(out, p, n) != 0)
		abort();
	free(out);
	return 0;
}
