/* sk-phone: what the commands share. */
#ifndef SKP_CLI_H
#define SKP_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "sk-phone/crypto.h"
#include "sk-phone/store.h"

/* "sk-phone: ..." and a newline on stderr. */
void	skp_cli_err(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/* $HOME, else the password database; NULL when neither has it. */
const char *skp_cli_home(void);
/* Ask a yes/no question on the terminal: 1 yes, 0 no, -1 no terminal. */
int	skp_cli_confirm(const char *question);
/*
 * Can this computer open a websocket to the relay now? SKP_OK, or an error
 * with a message in why that tells a name that does not resolve from a
 * relay that is not listening, a timeout or an untrusted certificate.
 * ca_file: wss is checked against its certificates only (NULL or "": the
 * system's).
 */
int	skp_cli_relay_check(const char *url, const char *ca_file,
	    int timeout_ms, char *why, size_t whylen);
/*
 * The same for a relay list (relayurl.h), its URLs in turn, each but the
 * last with its share of timeout_ms as skp_relay_connect_list() gives
 * it: SKP_OK at the first that answers (*which its index), else the
 * first URL's error and why (with how many others failed too).
 */
int	skp_cli_relays_check(const char *list, const char *ca_file,
	    int timeout_ms, size_t *which, char *why, size_t whylen);

/*
 * The computer's folder and its pairings (and its identity when
 * need_identity); -1 with a message when there is none to use.
 */
int	skp_cli_load(char *dir, size_t dirlen, struct skp_p256_key *id,
	    skp_store_phones_t **phones, int need_identity);
int	skp_cli_remove_pairing(const char *dir, const char *name, char *gone,
	    size_t gonelen);

int	skp_cli_pair(int argc, char **argv);
int	skp_cli_status(int argc, char **argv);
int	skp_cli_unpair(int argc, char **argv);
int	skp_cli_keys(int argc, char **argv);
int	skp_cli_lost(int argc, char **argv);
int	skp_cli_keeper(int argc, char **argv);

#endif
