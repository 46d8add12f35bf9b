/* sk-phone setup: the SecurityKeyProvider line in ~/.ssh/config. */
#ifndef SKP_CLI_SETUP_H
#define SKP_CLI_SETUP_H

/*
 * How an existing ssh config stands towards the provider line:
 * SKP_SETUP_ABSENT (no global SecurityKeyProvider), SKP_SETUP_PRESENT (it
 * names this provider), SKP_SETUP_OTHER (it names another one: *other
 * gets a malloc'd copy of the path).
 */
#define SKP_SETUP_ABSENT	0
#define SKP_SETUP_PRESENT	1
#define SKP_SETUP_OTHER		2

int	skp_setup_scan(const char *config, size_t len, const char *provider,
	    char **other);
/*
 * Add "SecurityKeyProvider provider" at the top of the file at path (so
 * it applies to every host), after copying the old file to path.bak;
 * atomic (temp file, fsync, rename); never adds it twice.
 * *state gets the SKP_SETUP_* found before writing; *backed_up is 1
 * when an old file was copied to path.bak.
 */
int	skp_setup_write(const char *path, const char *provider, int *state,
	    char **other, int *backed_up);

#endif
