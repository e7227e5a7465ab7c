/*
 * agent/dl_hooks.c - dl_iterate_phdr, interposed: a per-thread depth count
 * around the real one, so that the agent's unwinders know when the thread
 * they would unwind holds the loader's lock (see agent/dl_hooks.h).
 *
 * Runs inside the program's (and libunwind's, libgcc's) calls to
 * dl_iterate_phdr, on any thread, possibly before the agent's constructors
 * and inside a heap sample's unwind.  The wrapper allocates nothing itself
 * and takes no lock but the loader's own.  lynx_dl_iterate_busy() is
 * ASYNC-SIGNAL-SAFE: it reads initial-exec TLS and bumps one atomic.
 *
 * Finding the real function: dlsym(RTLD_NEXT) in a constructor, before
 * the agent installs any signal handler, so no handler's unwind ever
 * needs to resolve it (dlsym is not async-signal-safe).  A call that comes
 * earlier (another library's constructor, another thread) resolves it on
 * the spot.  dlsym may allocate; a sampled allocation unwinds, and that
 * unwind calls dl_iterate_phdr again on this thread: that nested call
 * finds the thread resolving and walks nothing (returns 0), so that one
 * heap sample has a short stack instead of the thread recursing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>

#include "agent/dl_hooks.h"

#define EXPORT __attribute__((visibility("default")))
#define IE_TLS __attribute__((tls_model("initial-exec")))

typedef int (*iterate_cb)(struct dl_phdr_info *, size_t, void *);
typedef int (*iterate_fn)(iterate_cb, void *);

__thread int lynx_dl_iterate_depth IE_TLS;

/* Non-zero while this thread runs dlsym for the real function. */
static __thread int resolving IE_TLS;
/* The real dl_iterate_phdr (libc's); NULL until resolved. */
static _Atomic(iterate_fn) real_iterate;
static _Atomic uint64_t refusals;

EXPORT int dl_iterate_phdr(iterate_cb cb, void *data);

static iterate_fn resolve(void)
{
    iterate_fn fn;

    if (resolving) {
        return NULL;
    }
    resolving = 1;
    fn = (iterate_fn)dlvsym(RTLD_NEXT, "dl_iterate_phdr", "GLIBC_2.2.5");
    if (fn == NULL) {
        fn = (iterate_fn)dlsym(RTLD_NEXT, "dl_iterate_phdr");
    }
    if (fn == dl_iterate_phdr) {
        fn = NULL;
    }
    if (fn != NULL) {
        atomic_store_explicit(&real_iterate, fn, memory_order_release);
    }
    resolving = 0;
    return fn;
}

/* With the earliest of the agent's constructors (101): before the agent
 * thread starts and installs any signal handler. */
__attribute__((constructor(101))) static void dl_hooks_init(void)
{
    if (atomic_load_explicit(&real_iterate, memory_order_acquire) == NULL) {
        resolve();
    }
}

EXPORT int dl_iterate_phdr(iterate_cb cb, void *data)
{
    iterate_fn fn = atomic_load_explicit(&real_iterate, memory_order_acquire);
    int r;

    if (__builtin_expect(fn == NULL, 0)) {
        fn = resolve();
        if (fn == NULL) {
            return 0;
        }
    }
    lynx_dl_iterate_depth++;
    /* The handler reads the count on this thread: compiler order only. */
    atomic_signal_fence(memory_order_seq_cst);
    r = fn(cb, data);
    atomic_signal_fence(memory_order_seq_cst);
    lynx_dl_iterate_depth--;
    return r;
}

int lynx_dl_iterate_busy(void)
{
    if (__builtin_expect(lynx_dl_iterate_depth == 0, 1)) {
        return 0;
    }
    atomic_fetch_add_explicit(&refusals, 1, memory_order_relaxed);
    return 1;
}

uint64_t lynx_dl_iterate_refusals(void)
{
    return atomic_load_explicit(&refusals, memory_order_relaxed);
}
