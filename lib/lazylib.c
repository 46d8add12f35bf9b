/* libwebsockets and libssl, loaded on the first relay connection. */
/* libwebsockets.h names OpenSSL types that OPENSSL_NO_DEPRECATED hides. */
#undef OPENSSL_NO_DEPRECATED
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "skp-config.h"
#include "sk-phone/err.h"
#include "sk-phone/lazylib.h"

#define SKP_LAZYLIB_DEFINE(name)	__typeof__(name) *sym_##name;
SKP_LAZYLIB_LWS(SKP_LAZYLIB_DEFINE)
SKP_LAZYLIB_SSL(SKP_LAZYLIB_DEFINE)
#undef SKP_LAZYLIB_DEFINE

static pthread_once_t	once = PTHREAD_ONCE_INIT;
static int		loaded_rc = SKP_ERR_LIBRARY;

/*
 * dlsym() answers a void *, which ISO C does not convert to a function
 * pointer; POSIX requires both to have the same bits, so they are copied.
 */
static int
resolve(void *lib, const char *soname, const char *name, void *slot)
{
	void *p;

	dlerror();
	if ((p = dlsym(lib, name)) == NULL) {
		fprintf(stderr, "sk-phone: %s has no %s (%s): install the "
		    "version of it that sk-phone was built with\n", soname,
		    name, dlerror());
		return -1;
	}
	memcpy(slot, &p, sizeof(p));
	return 0;
}

static void *
open_lib(const char *soname, const char *package)
{
	void *lib;

	if ((lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) ==
	    NULL)
		fprintf(stderr, "sk-phone: cannot load %s (%s): install %s\n",
		    soname, dlerror(), package);
	return lib;
}

static void
load_once(void)
{
	const char *soname = SKP_LWS_SONAME;
	void *lib;
	int bad = 0;

	/* libwebsockets first: it loads the libssl it was built with. */
	if ((lib = open_lib(soname, "libwebsockets (Debian: "
	    "libwebsockets17)")) == NULL)
		return;
#define SKP_LAZYLIB_RESOLVE(name)					\
	if (!bad && resolve(lib, soname, #name, &sym_##name) != 0)	\
		bad = 1;
	SKP_LAZYLIB_LWS(SKP_LAZYLIB_RESOLVE)
	soname = SKP_SSL_SONAME;
	if ((lib = open_lib(soname, "OpenSSL's libssl (Debian: libssl3)")) ==
	    NULL)
		return;
	SKP_LAZYLIB_SSL(SKP_LAZYLIB_RESOLVE)
#undef SKP_LAZYLIB_RESOLVE
	if (!bad)
		loaded_rc = SKP_OK;
}

int
skp_lazylib_load(void)
{
	if (pthread_once(&once, load_once) != 0)
		return SKP_ERR_INTERNAL;
	return loaded_rc;
}
