/* The OpenSSH SecurityKeyProvider interface, written from its facts. */
#ifndef SKP_SK_API_H
#define SKP_SK_API_H

#include <stddef.h>
#include <stdint.h>

/*
 * ssh-sk-helper dlopen()s the provider and accepts it only when the top
 * 16 bits of sk_api_version() equal its own major. Majors 0x00090000
 * (OpenSSH 8.9 and 9.0) and 0x000a0000 (9.1 and later) share every
 * struct below; 0x000a0000 adds SSH_SK_FORCE_OPERATION and
 * SSH_SK_ERR_CREDENTIAL_EXISTS. The build picks one (meson option
 * sk_api_version, SKP_SK_API_VERSION in skp-config.h).
 */
#define SSH_SK_VERSION_MAJOR_MASK	0xffff0000U
#define SSH_SK_VERSION_MAJOR_V9		0x00090000U
#define SSH_SK_VERSION_MAJOR_V10	0x000a0000U

/* Bits of the flags byte, both asked for and answered. */
#define SSH_SK_USER_PRESENCE_REQD	0x01
#define SSH_SK_USER_VERIFICATION_REQD	0x04
#define SSH_SK_FORCE_OPERATION		0x10	/* v10: overwrite resident */
#define SSH_SK_RESIDENT_KEY		0x20

/* Key algorithms. */
#define SSH_SK_ECDSA			0
#define SSH_SK_ED25519			1

/*
 * What a provider may answer. OpenSSH turns PIN_REQUIRED into a PIN
 * prompt and a second call, CREDENTIAL_EXISTS into an overwrite prompt
 * and a second call with FORCE; any other value reaches the user as
 * "invalid format".
 */
#define SSH_SK_ERR_GENERAL		-1
#define SSH_SK_ERR_UNSUPPORTED		-2
#define SSH_SK_ERR_PIN_REQUIRED		-3
#define SSH_SK_ERR_DEVICE_NOT_FOUND	-4
#define SSH_SK_ERR_CREDENTIAL_EXISTS	-5

/*
 * Everything a provider hands to OpenSSH is released with free() or
 * freezero(): every pointer below is from malloc()/calloc() and owned by
 * the caller once returned. Field order is the ABI; do not reorder.
 */
struct sk_enroll_response {
	uint8_t		 flags;		/* UP/UV/resident as enrolled */
	uint8_t		*public_key;	/* 65-byte point for ECDSA */
	size_t		 public_key_len;
	uint8_t		*key_handle;
	size_t		 key_handle_len;
	uint8_t		*signature;	/* attestation signature */
	size_t		 signature_len;
	uint8_t		*attestation_cert;
	size_t		 attestation_cert_len;
	uint8_t		*authdata;	/* CBOR byte string of authData */
	size_t		 authdata_len;
};

struct sk_sign_response {
	uint8_t		 flags;		/* authData flags byte */
	uint32_t	 counter;
	uint8_t		*sig_r;		/* big-endian integer bytes */
	size_t		 sig_r_len;
	uint8_t		*sig_s;
	size_t		 sig_s_len;
};

struct sk_resident_key {
	uint32_t			 alg;
	size_t				 slot;
	char				*application;
	struct sk_enroll_response	 key;
	uint8_t				 flags;	/* UV for verify-required */
	uint8_t				*user_id;
	size_t				 user_id_len;
};

/* name=value from ssh-keygen -O; unknown names are fatal only if required. */
struct sk_option {
	char		*name;
	char		*value;
	uint8_t		 required;
};

uint32_t	sk_api_version(void);
int		sk_enroll(uint32_t alg, const uint8_t *challenge,
		    size_t challenge_len, const char *application,
		    uint8_t flags, const char *pin, struct sk_option **options,
		    struct sk_enroll_response **enroll_response);
int		sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
		    const char *application, const uint8_t *key_handle,
		    size_t key_handle_len, uint8_t flags, const char *pin,
		    struct sk_option **options,
		    struct sk_sign_response **sign_response);
int		sk_load_resident_keys(const char *pin,
		    struct sk_option **options, struct sk_resident_key ***rks,
		    size_t *nrks);

#endif
