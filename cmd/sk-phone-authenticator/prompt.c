/* The owner's terminal: one question at a time, answered or timed out. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prompt.h"

static void
put(const struct skp_prompt *p, const char *s)
{
	size_t n = strlen(s), off = 0;
	ssize_t w;

	while (p->out >= 0 && off < n) {
		w = write(p->out, s + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void
skp_prompt_init(struct skp_prompt *p, int in, int out)
{
	memset(p, 0, sizeof(*p));
	p->in = in;
	p->out = out;
}

void
skp_prompt_ask(struct skp_prompt *p, const char *text,
    const char *host_text, const char *window_text, uint64_t deadline_ms,
    uint64_t now_ms)
{
	char buf[1536];

	p->active = 1;
	p->host_offered = host_text != NULL;
	p->len = 0;
	p->deadline_ms = deadline_ms;
	p->reading = 0;
	p->ignored = 0;
	p->read_from_ms = now_ms + SKP_PROMPT_GUARD_MS;
	if (p->in >= 0 && isatty(p->in))
		(void)tcflush(p->in, TCIFLUSH);
	put(p, text);
	put(p, "  [o] allow once\n");
	if (host_text != NULL) {
		snprintf(buf, sizeof(buf), "  [h] allow %s\n", host_text);
		put(p, buf);
	}
	snprintf(buf, sizeof(buf), "  [w] allow %s\n  [r] reject\n",
	    window_text);
	put(p, buf);
}

/* The guard time is over: from now on input answers the question. */
static void
start_reading(struct skp_prompt *p, uint64_t now_ms)
{
	char buf[160];

	p->reading = 1;
	p->len = 0;
	if (p->in >= 0 && isatty(p->in))
		(void)tcflush(p->in, TCIFLUSH);
	if (p->ignored)
		put(p, "  (what was typed while the question appeared was "
		    "ignored: read it, then answer)\n");
	snprintf(buf, sizeof(buf), "  answer within %llu s: ",
	    (unsigned long long)(p->deadline_ms > now_ms ?
	    (p->deadline_ms - now_ms + 999) / 1000 : 0));
	put(p, buf);
}

int
skp_prompt_wait_ms(const struct skp_prompt *p, uint64_t now_ms)
{
	if (!p->active || p->reading)
		return -1;
	if (now_ms >= p->read_from_ms)
		return 0;
	return (int)(p->read_from_ms - now_ms);
}

int
skp_prompt_fd(const struct skp_prompt *p)
{
	return p->active ? p->in : -1;
}

static enum skp_prompt_answer
parse(const struct skp_prompt *p, const char *s)
{
	if (p->host_offered && (strcmp(s, "h") == 0 ||
	    strcmp(s, "host") == 0))
		return SKP_PROMPT_HOST;
	if (strcmp(s, "o") == 0 || strcmp(s, "once") == 0 ||
	    strcmp(s, "y") == 0 || strcmp(s, "yes") == 0)
		return SKP_PROMPT_ONCE;
	if (strcmp(s, "w") == 0 || strcmp(s, "window") == 0)
		return SKP_PROMPT_WINDOW;
	if (strcmp(s, "r") == 0 || strcmp(s, "reject") == 0 ||
	    strcmp(s, "n") == 0 || strcmp(s, "no") == 0)
		return SKP_PROMPT_REJECT;
	return SKP_PROMPT_PENDING;
}

static enum skp_prompt_answer
done(struct skp_prompt *p, enum skp_prompt_answer a)
{
	static const char *const said[] = {
		"", "allowed once\n", "allowed for the window\n",
		"rejected\n", "\n  no answer in time: rejected\n",
		"\n  the terminal closed: rejected\n",
		"allowed for this host\n",
	};

	p->active = 0;
	p->len = 0;
	put(p, said[a]);
	return a;
}

enum skp_prompt_answer
skp_prompt_step(struct skp_prompt *p, int readable, uint64_t now_ms)
{
	enum skp_prompt_answer a;
	char buf[256];
	ssize_t n;
	size_t i;

	if (!p->active)
		return SKP_PROMPT_PENDING;
	if (p->in < 0)
		return done(p, SKP_PROMPT_GONE);
	/* One read per wake-up: poll said it will not block. */
	n = readable ? read(p->in, buf, sizeof(buf)) : -1;
	if (readable && n == 0) {
		/* The terminal is gone: no more questions. */
		p->in = -1;
		return done(p, SKP_PROMPT_GONE);
	}
	if (!p->reading) {
		/* Typed while the question appeared: for another one. */
		if (n > 0)
			p->ignored = 1;
		if (now_ms >= p->read_from_ms)
			start_reading(p, now_ms);
		n = -1;
	}
	for (i = 0; n > 0 && i < (size_t)n; i++) {
		if (buf[i] == '\r')
			continue;
		if (buf[i] != '\n') {
			/* An overlong line is no answer; keep its start. */
			if (p->len < sizeof(p->line) - 1)
				p->line[p->len++] = buf[i];
			continue;
		}
		p->line[p->len] = '\0';
		a = parse(p, p->line);
		p->len = 0;
		if (a != SKP_PROMPT_PENDING)
			return done(p, a);
		put(p, p->host_offered ? "  please answer o (once), h (this "
		    "host), w (window) or r (reject): " : "  please answer o "
		    "(once), w (window) or r (reject): ");
	}
	if (now_ms >= p->deadline_ms)
		return done(p, SKP_PROMPT_TIMEOUT);
	return SKP_PROMPT_PENDING;
}

void
skp_prompt_note(struct skp_prompt *p, const char *line, uint64_t now_ms)
{
	char buf[64];

	if (!p->active)
		return;
	put(p, "\n  (");
	put(p, line);
	put(p, ")\n");
	if (!p->reading)
		return;
	snprintf(buf, sizeof(buf), "  answer within %llu s: ",
	    (unsigned long long)(p->deadline_ms > now_ms ?
	    (p->deadline_ms - now_ms + 999) / 1000 : 0));
	put(p, buf);
	/* What was typed before the note still counts: p->line is kept. */
}

void
skp_prompt_cancel(struct skp_prompt *p, const char *why)
{
	if (!p->active)
		return;
	p->active = 0;
	p->len = 0;
	put(p, "\n  ");
	put(p, why);
	put(p, "\n");
}
