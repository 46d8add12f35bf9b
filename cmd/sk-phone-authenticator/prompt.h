/* The owner's terminal: one question at a time, answered or timed out. */
#ifndef SKP_PROMPT_H
#define SKP_PROMPT_H

#include <stddef.h>
#include <stdint.h>

enum skp_prompt_answer {
	SKP_PROMPT_PENDING = 0,
	SKP_PROMPT_ONCE,	/* allow this request */
	SKP_PROMPT_WINDOW,	/* allow all from the computer for a while */
	SKP_PROMPT_REJECT,
	SKP_PROMPT_TIMEOUT,	/* no answer in time: a rejection */
	SKP_PROMPT_GONE,	/* the terminal closed: a rejection */
	SKP_PROMPT_HOST,	/* allow this host from the computer a while */
};

/*
 * Input is ignored for this long after a question appears (or another
 * replaces it), so that a key pressed for the one before cannot answer
 * it; "answer within" is shown when answers are read.
 */
#define SKP_PROMPT_GUARD_MS	1000

struct skp_prompt {
	int		in, out;	/* -1 when there is no terminal */
	int		active;
	int		reading;	/* the guard time is over */
	int		ignored;	/* input came during the guard time */
	uint64_t	read_from_ms;	/* end of the guard time */
	int		host_offered;	/* "h" is an answer */
	uint64_t	deadline_ms;
	char		line[128];
	size_t		len;
};

/* Uses fds in and out (in may be -1: no terminal, every answer GONE). */
void	skp_prompt_init(struct skp_prompt *, int in, int out);
/*
 * Show text (several lines) and the choices, and drop anything typed
 * before the question and during SKP_PROMPT_GUARD_MS after it, so a key
 * pressed earlier does not answer it.
 * host_text (NULL: not offered) and window_text complete "allow ...".
 */
void	skp_prompt_ask(struct skp_prompt *, const char *text,
	    const char *host_text, const char *window_text,
	    uint64_t deadline_ms, uint64_t now_ms);
/* The fd to poll for input, or -1 when nothing is asked. */
int	skp_prompt_fd(const struct skp_prompt *);
/* Milliseconds until the prompt needs a step without input (the end of
 * the guard time), or -1 when it needs none before its deadline. */
int	skp_prompt_wait_ms(const struct skp_prompt *, uint64_t now_ms);
/* After poll said readable, or to check the deadline: the answer. */
enum skp_prompt_answer skp_prompt_step(struct skp_prompt *, int readable,
	    uint64_t now_ms);
/*
 * A line under the open question ("2 more requests waiting"); once
 * answers are read, "answer within" is shown again. Nothing without one.
 */
void	skp_prompt_note(struct skp_prompt *, const char *line,
	    uint64_t now_ms);
/* Withdraw the question (the computer went away); says why. */
void	skp_prompt_cancel(struct skp_prompt *, const char *why);

#endif
