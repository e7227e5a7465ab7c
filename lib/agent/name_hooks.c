/*
 * agent/name_hooks.c - pthread_setname_np() and prctl(), interposed: a
 * thread renamed by either is counted under its new name from its next
 * CPU sample on (agent/labels.h).
 *
 * Runs inside the program's calls, on any thread, possibly before the
 * agent starts.  Each calls the real function first and then bumps the
 * rename generation (one atomic add); nothing else.  prctl() is a plain
 * system call in the C library, so it is made here directly (no lookup
 * of the real one); pthread_setname_np() is looked up once with
 * dlsym(RTLD_NEXT), in ordinary context (it may rename another thread,
 * whose kernel id only the C library knows).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/labels.h"

#define EXPORT __attribute__((visibility("default")))

typedef int (*setname_fn)(pthread_t, const char *);

static _Atomic(setname_fn) real_setname;

EXPORT int pthread_setname_np(pthread_t thread, const char *name);
EXPORT int prctl(int option, ...);

EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
    setname_fn fn = atomic_load_explicit(&real_setname,
                                         memory_order_acquire);
    int rc;

    if (fn == NULL) {
        fn = (setname_fn)dlsym(RTLD_NEXT, "pthread_setname_np");
        if (fn == NULL || fn == pthread_setname_np) {
            return ENOSYS;
        }
        atomic_store_explicit(&real_setname, fn, memory_order_release);
    }
    rc = fn(thread, name);
    if (rc == 0) {
        lynx_labels_renamed();
    }
    return rc;
}

EXPORT int prctl(int option, ...)
{
    unsigned long a[4];
    va_list ap;
    long rc;

    /* The C library's prctl() passes four more words, whatever the
     * option; so does this one. */
    va_start(ap, option);
    for (int i = 0; i < 4; i++) {
        a[i] = va_arg(ap, unsigned long);
    }
    va_end(ap);
    rc = syscall(SYS_prctl, option, a[0], a[1], a[2], a[3]);
    if (rc == 0 && option == PR_SET_NAME) {
        lynx_labels_renamed();
    }
    return (int)rc;
}
