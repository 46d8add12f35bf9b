/* sk-phone setup: the SecurityKeyProvider and ProxyCommand lines. */
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
/* Another provider only in blocks for some hosts: those keep theirs. */
#define SKP_SETUP_HOSTS		3

int	skp_setup_scan(const char *config, size_t len, const char *provider,
	    char **other);
/*
 * ssh's own view: `ssh -G -F config PROBE` for a host name no Host line
 * names, so that Include, Match and every block count as ssh counts
 * them. Values are "" when ssh prints none; ok is 0 when ssh could not
 * be run or refused the file (then only the scans above judge).
 */
#define SKP_SETUP_PROBE_HOST	"sk-phone-setup-probe.invalid"
#define SKP_SETUP_VALUE_MAX	1024
struct skp_setup_eval {
	int	ok;
	char	provider[SKP_SETUP_VALUE_MAX];	/* securitykeyprovider */
	char	proxy_command[SKP_SETUP_VALUE_MAX];
	char	proxy_jump[SKP_SETUP_VALUE_MAX];
};
int	skp_setup_ssh_eval(const char *config, struct skp_setup_eval *);
/* Does this ProxyCommand run `sk-phone proxy`? */
int	skp_setup_proxy_is_ours(const char *cmd);
/* The parser of ssh -G's output, apart for the fuzz harness. */
void	skp_setup_parse_g(const char *out, size_t len,
	    struct skp_setup_eval *);
/*
 * How an existing ssh config stands towards `sk-phone proxy`:
 * SKP_SETUP_PRESENT when a ProxyCommand runs "sk-phone ... proxy",
 * SKP_SETUP_OTHER when another ProxyCommand or ProxyJump applies to every
 * host (in the global section or under "Host *": ssh takes the first
 * value, so a block added later would never apply; *other gets a copy of
 * the line), else SKP_SETUP_ABSENT. A ProxyCommand or ProxyJump for some
 * hosts only is no obstacle: those hosts keep theirs.
 */
int	skp_setup_scan_proxy(const char *config, size_t len, char **other);

/* "PATH proxy %h %p", the path quoted for the shell when needed. */
int	skp_setup_proxy_command(const char *cli, char **out);

struct skp_setup_result {
	int	 provider_state;	/* SKP_SETUP_* found before writing */
	char	*provider_other;	/* malloc'd, for SKP_SETUP_OTHER */
	int	 proxy_state;		/* the same for the proxy */
	char	*proxy_other;
	int	 backed_up;		/* the old file went to path.bak */
	int	 wrote;
};

/*
 * Add "SecurityKeyProvider provider" at the top of the file at path (so
 * it applies to every host) unless one applies to every host already;
 * when others are set only for some hosts (SKP_SETUP_HOSTS), add it at
 * the end under "Host *" instead, so that those hosts keep theirs. With
 * proxy_command (NULL: not asked), also "Host *" and "ProxyCommand
 * proxy_command" at the end (so every Host block before it keeps its own
 * proxy) unless skp_setup_scan_proxy() finds one. The old file is copied
 * to path.bak first; the new one is written atomically (temp file, fsync,
 * rename); nothing is ever added twice. ev (may be NULL) is ssh's own
 * view of the file before: a value ssh applies to every host outweighs
 * what the scans find. Free res with skp_setup_result_clear().
 */
int	skp_setup_write(const char *path, const char *provider,
	    const char *proxy_command, const struct skp_setup_eval *ev,
	    struct skp_setup_result *res);
void	skp_setup_result_clear(struct skp_setup_result *);

#endif
