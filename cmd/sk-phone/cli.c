/* sk-phone: messages, the home folder and yes/no questions. */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void
skp_cli_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("sk-phone: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *
skp_cli_home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return NULL;
}

int
skp_cli_confirm(const char *question)
{
	char answer[16];
	FILE *tty;
	int yes = 0;

	/* The terminal, not stdin: the answer must come from a person. */
	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return -1;
	fprintf(tty, "%s [y/N] ", question);
	fflush(tty);
	if (fgets(answer, sizeof(answer), tty) != NULL)
		yes = answer[0] == 'y' || answer[0] == 'Y';
	fclose(tty);
	return yes;
}
