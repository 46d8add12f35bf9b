/* Error codes shared by every part of sk-phone, and their messages. */
#ifndef SKP_ERR_H
#define SKP_ERR_H

#include <stddef.h>

/*
 * Every int-returning function answers 0 on success or one of these.
 * Add new codes at the end and give each a message in lib/err.c.
 */
#define SKP_OK			  0
#define SKP_ERR_INTERNAL	 -1	/* a bug or an OpenSSL failure */
#define SKP_ERR_NOMEM		 -2
#define SKP_ERR_INVALID		 -3	/* bad argument from the caller */
#define SKP_ERR_FORMAT		 -4	/* malformed input */
#define SKP_ERR_TOO_LARGE	 -5	/* input over a hard size cap */
#define SKP_ERR_TRUNCATED	 -6	/* input ends early */
#define SKP_ERR_TRAILING	 -7	/* bytes left after the input */
#define SKP_ERR_CBOR_ORDER	 -8	/* map keys unsorted or duplicated */
#define SKP_ERR_CBOR_TYPE	 -9	/* a CBOR item of the wrong type */
#define SKP_ERR_UNSUPPORTED	-10
#define SKP_ERR_CRYPTO		-11	/* a key or signature is not valid */
#define SKP_ERR_DECRYPT		-12	/* authenticated decryption failed */
#define SKP_ERR_STATE		-13	/* called out of order */
#define SKP_ERR_IO		-14
#define SKP_ERR_PERM		-15	/* file or folder open to others */
#define SKP_ERR_VERSION		-16	/* written by a newer sk-phone */
#define SKP_ERR_NOT_FOUND	-17
#define SKP_ERR_EXISTS		-18
#define SKP_ERR_EXPIRED		-19	/* stale request or old QR code */
#define SKP_ERR_REPLAY		-20
#define SKP_ERR_TIMEOUT		-21
#define SKP_ERR_NETWORK		-22
#define SKP_ERR_OFFLINE		-23	/* the phone is not connected */
#define SKP_ERR_REJECTED	-24	/* the owner said no */
#define SKP_ERR_VERIFY		-25	/* an answer did not verify */
#define SKP_ERR_PIN_REQUIRED	-26
#define SKP_ERR_NOT_PAIRED	-27
#define SKP_ERR_CORRUPT		-28	/* a state file fails its checks */
#define SKP_ERR_LIMIT		-29	/* a relay limit was hit */
#define SKP_ERR_CLOSED		-30	/* the peer closed the connection */
#define SKP_ERR_PIN_INVALID	-31
#define SKP_ERR_HOSTKEY		-32	/* pinned host key changed */
#define SKP_ERR_UV_UNAVAILABLE	-33	/* phone cannot verify the user */
#define SKP_ERR_TLS		-34	/* certificate not trusted */
#define SKP_ERR_HOST_UNVERIFIED	-35	/* host info does not verify */
#define SKP_ERR_OLD_VERSION	-36	/* written by an older sk-phone */
#define SKP_ERR_RELAY_PROTOCOL	-37	/* the relay refused the websocket */
#define SKP_ERR_LIBRARY		-38	/* a library to load is missing */
#define SKP_ERR_LAST		-38

const char *skp_strerror(int);
/* A one-line message for the user into why (when given): what, where, fix. */
void	skp_why(char *why, size_t whylen, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
