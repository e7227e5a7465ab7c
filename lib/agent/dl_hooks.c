/*
 * agent/dl_hooks.c - dl_iterate_phdr, interposed: a per-thread depth count
 * around the real one, so that the agent's unwinders know when the thread
 * they would unwind holds the loader's lock (see agent/dl_hooks.h).
 *
 * Runs inside the program's (and libunwind's, libgcc's) calls to
 * dl_iterate_phdr, on any thread, possibly before the agent's constructors
 * and inside a heap sample's unwind.  The wrapper allocates nothing itself
 * and takes no lock but the loader's own.  lynx_dl_iterate_busy() is
 * ASYNC-SIGNAL-SAFE: it reads initial-exec TLS, the owner words of the
 * loader's locks (found at start-up, below) and the thread's id (cached:
 * agent/fork.h), and bumps one atomic.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/dl_hooks.h"
#include "agent/fork.h"

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

/*
 * The loader's own locks.  A thread can hold the lock dl_iterate_phdr
 * takes without being inside dl_iterate_phdr: dlopen and dlclose take it
 * to add or remove objects (glibc's _dl_add_to_namespace_list), and the
 * loader's debugger state does not always say so (the soak caught a
 * thread interrupted there while r_state was still RT_CONSISTENT, whose
 * unwind then waited for libunwind's cache lock held by an unwind that
 * waited for this thread's loader lock).  glibc's loader locks are
 * recursive mutexes inside _rtld_global, at offsets private to each build:
 * they are found once, from inside a walk (when this thread holds the
 * walk's lock), as the recursive mutexes of _rtld_global this thread owns.
 * The unwinders then refuse a thread that owns one.  Not found (another C
 * library, an unexpected layout): only the depth count and r_state guard.
 */
#define LOADER_LOCKS_MAX 2
static const pthread_mutex_t *loader_locks[LOADER_LOCKS_MAX];
static int nloader_locks;

typedef struct lock_finder {
    const unsigned char *base;
    size_t size;
    int done;
} lock_finder_t;

static int find_loader_locks(struct dl_phdr_info *info, size_t size,
                             void *data)
{
#if defined(__GLIBC__) && defined(__x86_64__)
    lock_finder_t *f = data;
    const pthread_mutex_t *found[LOADER_LOCKS_MAX];
    int n = 0;
    pid_t tid = (pid_t)syscall(SYS_gettid);

    (void)info;
    (void)size;
    if (f->done) {
        return 1;
    }
    f->done = 1;
    for (size_t off = 0; off + sizeof(pthread_mutex_t) <= f->size;
         off += _Alignof(pthread_mutex_t)) {
        const pthread_mutex_t *m = (const void *)(f->base + off);
        if (m->__data.__owner == tid && m->__data.__lock != 0 &&
            m->__data.__count >= 1 &&
            (m->__data.__kind & 3) == PTHREAD_MUTEX_RECURSIVE_NP) {
            if (n == LOADER_LOCKS_MAX) {
                return 1; /* more than expected: trust none */
            }
            found[n++] = m;
        }
    }
    for (int i = 0; i < n; i++) {
        loader_locks[i] = found[i];
    }
    nloader_locks = n;
#else
    (void)info;
    (void)size;
    (void)data;
#endif
    return 1;
}

static void locate_loader_locks(iterate_fn fn)
{
    void *rtld = dlsym(RTLD_DEFAULT, "_rtld_global");
    const ElfW(Sym) *sym = NULL;
    Dl_info where;
    lock_finder_t f = {NULL, 0, 0};

    if (fn == NULL || rtld == NULL ||
        dladdr1(rtld, &where, (void **)&sym, RTLD_DL_SYMENT) == 0 ||
        sym == NULL || sym->st_size < sizeof(pthread_mutex_t)) {
        return;
    }
    f.base = rtld;
    f.size = sym->st_size;
    fn(find_loader_locks, &f);
}

/* With the earliest of the agent's constructors (101): before the agent
 * thread starts and installs any signal handler. */
__attribute__((constructor(101))) static void dl_hooks_init(void)
{
    iterate_fn fn = atomic_load_explicit(&real_iterate, memory_order_acquire);

    if (fn == NULL) {
        fn = resolve();
    }
    locate_loader_locks(fn);
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

/* 1 if the calling thread owns one of the loader's locks, or may: a
 * recursive mutex is taken by setting its lock word first and its owner
 * after, and given back in the other order, so a thread interrupted
 * between the two holds the lock with no owner written (the test of
 * dlopen under SIGPROF caught an unwind that then waited for its own
 * thread's lock).  A lock without owner is therefore refused too: that
 * lasts a few instructions of whichever thread takes or gives it back. */
static int loader_lock_held_here(void)
{
#if defined(__GLIBC__) && defined(__x86_64__)
    pid_t tid;

    if (nloader_locks == 0) {
        return 0;
    }
    tid = lynx_fork_thread_tid(); /* cached; forgotten in a forked child */
    for (int i = 0; i < nloader_locks; i++) {
        const pthread_mutex_t *m = loader_locks[i];
        int owner = __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
        if (owner == tid ||
            (owner == 0 &&
             __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) != 0)) {
            return 1;
        }
    }
#endif
    return 0;
}

int lynx_dl_iterate_busy(void)
{
    if (__builtin_expect(lynx_dl_iterate_depth == 0, 1) &&
        !loader_lock_held_here()) {
        return 0;
    }
    atomic_fetch_add_explicit(&refusals, 1, memory_order_relaxed);
    return 1;
}

int lynx_dl_loader_locks_found(void)
{
    return nloader_locks;
}

const void *lynx_dl_loader_lock(int i)
{
    return i >= 0 && i < nloader_locks ? (const void *)loader_locks[i]
                                       : NULL;
}

uint64_t lynx_dl_iterate_refusals(void)
{
    return atomic_load_explicit(&refusals, memory_order_relaxed);
}
