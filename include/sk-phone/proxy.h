/* `sk-phone proxy`: ssh's ProxyCommand that notes the host's key exchange. */
#ifndef SKP_PROXY_H
#define SKP_PROXY_H

/*
 * sk-phone proxy [-J command] [-w seconds] host port
 *
 * Relays stdin and stdout to a TCP connection to host and port (IPv4 and
 * IPv6, the addresses tried in turn with a head start of 250 ms each, all
 * within -w seconds, 30 by default), or with -J to the stdin and stdout of
 * `/bin/sh -c command` with %h, %p and %% replaced (for jump hosts:
 * -J 'ssh -W %h:%p jump'). On the side it reads the SSH transport up to
 * the server's KEX reply and leaves the host key and its signature for
 * ssh's provider (sk-phone/hostinfo.h), removing them when the connection
 * ends. argv[0] is the subcommand's name and is not looked at.
 *
 * Answers the exit status: 0 when both directions closed (or ssh hung up
 * with SIGHUP), 1 on an error (one line "sk-phone proxy: ..." on stderr),
 * 2 on a usage error, 128 + n on signal n (SIGINT, SIGTERM). Set
 * SK_PHONE_DEBUG=1 to be told on stderr why no host information was left.
 * It changes and then restores the disposition of SIGHUP, SIGINT, SIGTERM
 * and SIGPIPE and the signal mask; run it from a program's main only.
 */
int	skp_proxy_main(int argc, char **argv);

#endif
