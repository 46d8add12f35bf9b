/*
 * libwebsockets and libssl, loaded when a relay connection is first made.
 *
 * libsk-phone.so is loaded into a new ssh-sk-helper for every signature,
 * and most signatures go through the connection keeper (PROTOCOL.md §11)
 * over a unix socket: they never connect to a relay themselves. Linking
 * libwebsockets (and with it libssl and libcap) made every one of them
 * map and relocate those libraries all the same, about 0.4 ms of a
 * 4 ms signature. So the relay client (lib/relay_client.c, lib/tlssess.c)
 * calls them through the pointers below, which skp_lazylib_load() fills
 * with dlopen() and dlsym() the first time a connection is made; nothing
 * in the core links them. sk-phone-relay links libwebsockets itself.
 *
 * Only those two files include this header, after libwebsockets.h or
 * openssl/ssl.h.
 */
#ifndef SKP_LAZYLIB_H
#define SKP_LAZYLIB_H

#include <libwebsockets.h>
#include <openssl/ssl.h>

#define SKP_LAZYLIB_LWS(X)				\
	X(lws_callback_on_writable)			\
	X(lws_client_connect_via_info)			\
	X(lws_close_reason)				\
	X(lws_context_destroy)				\
	X(lws_context_user)				\
	X(lws_create_context)				\
	X(lws_frame_is_binary)				\
	X(lws_get_context)				\
	X(lws_get_socket_fd)				\
	X(lws_get_ssl)					\
	X(lws_http_client_http_response)		\
	X(lws_is_final_fragment)			\
	X(lws_is_first_fragment)			\
	X(lws_partial_buffered)				\
	X(lws_service)					\
	X(lws_set_log_level)				\
	X(lws_sul_cancel)				\
	X(lws_sul_schedule)				\
	X(lws_write)

#define SKP_LAZYLIB_SSL(X)				\
	X(SSL_CTX_ctrl)					\
	X(SSL_CTX_get_ex_data)				\
	X(SSL_CTX_sess_set_new_cb)			\
	X(SSL_CTX_set_ex_data)				\
	X(SSL_CTX_set_info_callback)			\
	X(SSL_SESSION_free)				\
	X(SSL_SESSION_get_time)				\
	X(SSL_SESSION_get_timeout)			\
	X(SSL_SESSION_is_resumable)			\
	X(SSL_get_SSL_CTX)				\
	X(SSL_get_version)				\
	X(SSL_session_reused)				\
	X(SSL_set_session)				\
	X(d2i_SSL_SESSION)				\
	X(i2d_SSL_SESSION)

#define SKP_LAZYLIB_DECLARE(name)	extern __typeof__(name) *sym_##name;
SKP_LAZYLIB_LWS(SKP_LAZYLIB_DECLARE)
SKP_LAZYLIB_SSL(SKP_LAZYLIB_DECLARE)
#undef SKP_LAZYLIB_DECLARE

/*
 * Loads both libraries and every symbol above, once per process (thread
 * safe). SKP_OK, or SKP_ERR_LIBRARY when a library or a symbol is
 * missing: the first such call says which on stderr, and what to install.
 * The libraries stay loaded for the life of the process (like libraries
 * linked the usual way; libssl cannot be unloaded safely).
 */
int	skp_lazylib_load(void);

#endif /* SKP_LAZYLIB_H */
