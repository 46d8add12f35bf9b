/* libsk-phone.so: the OpenSSH SecurityKeyProvider entry points. */
#include <stddef.h>
#include <stdint.h>

#include "skp-config.h"
#include "sk-api.h"

#define SKP_EXPORT	__attribute__((visibility("default")))

SKP_EXPORT uint32_t
sk_api_version(void)
{
	return SKP_SK_API_VERSION;
}

SKP_EXPORT int
sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **resp)
{
	(void)alg; (void)challenge; (void)challenge_len; (void)application;
	(void)flags; (void)pin; (void)options; (void)resp;
	return SSH_SK_ERR_GENERAL;
}

SKP_EXPORT int
sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle,
    size_t key_handle_len, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_sign_response **resp)
{
	(void)alg; (void)data; (void)data_len; (void)application;
	(void)key_handle; (void)key_handle_len; (void)flags; (void)pin;
	(void)options; (void)resp;
	return SSH_SK_ERR_GENERAL;
}

SKP_EXPORT int
sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rks, size_t *nrks)
{
	(void)pin; (void)options; (void)rks; (void)nrks;
	return SSH_SK_ERR_GENERAL;
}
