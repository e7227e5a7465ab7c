/*
 * protocol/shm_guard.c - the SIGBUS guard of mapped shared objects (see
 * protocol/shm_guard.h), endpoint side.
 *
 * Workload: a handful of mappings (the attach cache holds 16), added and
 * removed per attach; faults only when a target (or anybody allowed to
 * write its object) shrinks the file.
 *
 * ASYNC-SIGNAL-SAFE: on_sigbus() runs inside the signal handler on any
 * thread: it reads the table with atomic loads, calls only mmap() and
 * sigaction(), saves errno, allocates nothing and takes no lock.  The table
 * is a fixed array of atomic words, so adding and removing entries needs
 * no lock either.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "protocol/shm_guard.h"

#define GUARD_SLOTS 64

static struct {
    _Atomic uintptr_t start; /* 0: free slot */
    _Atomic uintptr_t end;
    _Atomic int tripped;
} slots[GUARD_SLOTS];

static struct sigaction previous;
static uintptr_t page_mask;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    uintptr_t addr = (uintptr_t)si->si_addr;
    int saved = errno;

    for (int i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t start = atomic_load(&slots[i].start);
        uintptr_t end = atomic_load(&slots[i].end);
        if (start == 0 || addr < start || addr >= end) {
            continue;
        }
        addr &= ~page_mask;
        if (mmap((void *)addr, end - addr, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) != MAP_FAILED) {
            atomic_store(&slots[i].tripped, 1);
            errno = saved;
            return;
        }
        break;
    }
    /* Not ours: what would have happened without us. */
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, si, uc);
    } else if (previous.sa_handler == SIG_DFL ||
               previous.sa_handler == SIG_IGN) {
        /* Returning re-runs the faulting access, which then gets the
         * default action (SIGBUS from a fault cannot be ignored). */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGBUS, &dfl, NULL);
    } else {
        previous.sa_handler(sig);
    }
    errno = saved;
}

/* Put the handler in place, again if the program replaced it since (the
 * replacement then becomes the one faults outside our mappings go to). */
static void install(void)
{
    struct sigaction sa;
    struct sigaction cur;

    pthread_mutex_lock(&install_lock);
    if (sigaction(SIGBUS, NULL, &cur) == 0 &&
        !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)) {
        page_mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        /* Block others from reading `previous` half-written. */
        sigaddset(&sa.sa_mask, SIGBUS);
        previous = cur;
        sigaction(SIGBUS, &sa, NULL);
    }
    pthread_mutex_unlock(&install_lock);
}

int lynx_shm_guard_add(void *base, size_t size_bytes)
{
    install();
    for (int i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t expected = 0;
        /* Claim with a placeholder, then publish end before start. */
        if (atomic_compare_exchange_strong(&slots[i].start, &expected, 1)) {
            atomic_store(&slots[i].tripped, 0);
            atomic_store(&slots[i].end, (uintptr_t)base + size_bytes);
            atomic_store(&slots[i].start, (uintptr_t)base);
            return 0;
        }
    }
    return -ENOSPC;
}

void lynx_shm_guard_remove(void *base)
{
    for (int i = 0; i < GUARD_SLOTS; i++) {
        if (atomic_load(&slots[i].start) == (uintptr_t)base) {
            atomic_store(&slots[i].end, 0);
            atomic_store(&slots[i].start, 0);
            return;
        }
    }
}

int lynx_shm_guard_tripped(const void *base)
{
    for (int i = 0; i < GUARD_SLOTS; i++) {
        if (atomic_load(&slots[i].start) == (uintptr_t)base) {
            return atomic_load(&slots[i].tripped);
        }
    }
    return 0;
}
