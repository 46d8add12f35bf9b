/* sk-phone: what the commands share. */
#ifndef SKP_CLI_H
#define SKP_CLI_H

#include <stdio.h>

/* "sk-phone: ..." and a newline on stderr. */
void	skp_cli_err(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/* $HOME, else the password database; NULL when neither has it. */
const char *skp_cli_home(void);
/* Ask a yes/no question on the terminal: 1 yes, 0 no, -1 no terminal. */
int	skp_cli_confirm(const char *question);

int	skp_cli_pair(int argc, char **argv);
int	skp_cli_status(int argc, char **argv);
int	skp_cli_unpair(int argc, char **argv);
int	skp_cli_keys(int argc, char **argv);

#endif
