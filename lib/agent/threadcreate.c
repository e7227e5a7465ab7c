/*
 * agent/threadcreate.c - the stack that called pthread_create() for every
 * thread created since the agent library was loaded (the "threadcreate"
 * profile), and the stack capture the lock hooks share.
 *
 * Workload: thread creation is rare (a few per second at most); each is
 * recorded once, into a table of TC_CAPACITY records mmap'd at the first
 * creation; what does not fit is counted.  Records are appended with an
 * atomic index and published by a state word, so any thread may record
 * while the agent thread copies.  Ordinary context only (libunwind).
 */
#define UNW_LOCAL_ONLY
#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "agent/context.h"
#include "agent/sampler.h"
#include "agent/threaddump.h"
#include "protocol/block_threads.h"

#define TC_CAPACITY LYNX_THREADCREATE_MAX_RECORDS

enum { REC_FREE = 0, REC_WRITING = 1, REC_READY = 2, REC_FAILED = 3 };

typedef struct lynx_tc_rec {
    _Atomic uint32_t state;
    _Atomic int32_t tid;
    uint32_t depth;
    uint32_t flags;
    uint64_t pcs[LYNX_STACK_MAX_DEPTH];
} tc_rec_t;

/* This file's part of the agent's state (agent/context.h). */
#define g (lynx_agent.threadcreate)

/* libunwind's default cache is global and guarded by a lock that
 * unw_set_caching_policy() must never see held: switch to per-thread
 * caches (what the SIGPROF handler needs too) before any unwinding, here
 * at load time.  Setting the same policy again later is a no-op. */
__attribute__((constructor)) static void unwind_policy(void)
{
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

uint32_t lynx_agent_backtrace(uint64_t *pcs, uint32_t max, unsigned skip,
                              uint32_t *flags)
{
    void *buf[LYNX_STACK_MAX_DEPTH + 8];
    uint32_t want = max + skip + 3;
    int n;
    uint32_t depth = 0;

    if (want > sizeof(buf) / sizeof(buf[0])) {
        want = sizeof(buf) / sizeof(buf[0]);
    }
    /* buf[0] is in lynx_unwind_here, buf[1] the return address into this
     * function, buf[2] into our caller: the first kept is buf[3 + skip].
     * The lock hooks pass the locks libunwind takes meanwhile straight
     * through. */
    n = lynx_unwind_here(buf, (int)want);
    for (int i = (int)skip + 3; i < n && depth < max; i++) {
        if (buf[i] == NULL) {
            break;
        }
        pcs[depth++] = (uint64_t)(uintptr_t)buf[i];
    }
    if ((uint32_t)n == want && n > 0) {
        *flags |= LYNX_STACK_TRUNCATED;
    }
    return depth;
}

static tc_rec_t *table(void)
{
    tc_rec_t *t = atomic_load_explicit(&g.recs, memory_order_acquire);
    tc_rec_t *expected = NULL;
    void *p;

    if (t != NULL) {
        return t;
    }
    p = mmap(NULL, sizeof(tc_rec_t) * TC_CAPACITY, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (!atomic_compare_exchange_strong(&g.recs, &expected, p)) {
        munmap(p, sizeof(tc_rec_t) * TC_CAPACITY);
        return expected;
    }
    return p;
}

__attribute__((noinline)) int lynx_threadcreate_record(unsigned skip)
{
    tc_rec_t *t = table();
    uint32_t i;
    tc_rec_t *r;

    if (t == NULL) {
        atomic_fetch_add(&g.overflow, 1);
        return -1;
    }
    i = atomic_fetch_add(&g.next, 1);
    if (i >= TC_CAPACITY) {
        atomic_fetch_add(&g.overflow, 1);
        return -1;
    }
    r = &t[i];
    atomic_store(&r->state, REC_WRITING);
    r->flags = 0;
    /* One more frame to skip: this function. */
    r->depth = lynx_agent_backtrace(r->pcs, LYNX_STACK_MAX_DEPTH, skip,
                                    &r->flags);
    __asm__ volatile("" ::: "memory"); /* no tail call: keep the frame */
    return (int)i;
}

void lynx_threadcreate_done(int index, pid_t tid)
{
    tc_rec_t *t = atomic_load(&g.recs);

    if (tid < 0) {
        atomic_fetch_add(&g.failed, 1);
        if (t != NULL && index >= 0 && (uint32_t)index < TC_CAPACITY) {
            atomic_store(&t[index].state, REC_FAILED);
        }
        return;
    }
    atomic_fetch_add(&g.created, 1);
    if (t == NULL || index < 0 || (uint32_t)index >= TC_CAPACITY) {
        return;
    }
    if (tid > 0) {
        atomic_store(&t[index].tid, (int32_t)tid);
    }
    atomic_store_explicit(&t[index].state, REC_READY, memory_order_release);
}

int lynx_agent_threadcreate(const void *argp, size_t arg_len,
                            lynx_reply_t *r)
{
    const lynx_threadcreate_arg_t *arg = argp;
    lynx_threadcreate_reply_t *rep = r->inline_buf;
    lynx_threadcreate_rec_t *out = r->bulk;
    tc_rec_t *t = atomic_load_explicit(&g.recs, memory_order_acquire);
    uint32_t n = atomic_load(&g.next);
    uint32_t k = 0;

    if (arg_len != sizeof(*arg)) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid threadcreate argument");
        return LYNX_EBADARG;
    }
    memset(rep, 0, sizeof(*rep));
    rep->capacity = TC_CAPACITY;
    rep->created = atomic_load(&g.created);
    rep->overflow = atomic_load(&g.overflow);
    if (n > TC_CAPACITY) {
        n = TC_CAPACITY;
    }
    for (uint32_t i = 0; t != NULL && i < n; i++) {
        const tc_rec_t *s = &t[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) !=
                REC_READY ||
            s->depth == 0 || s->depth > LYNX_STACK_MAX_DEPTH) {
            continue;
        }
        if (!(arg->flags & LYNX_LOCKS_SUMMARY)) {
            if ((k + 1) * sizeof(*out) > r->bulk_cap) {
                break;
            }
            memset(&out[k], 0, sizeof(out[k]));
            out[k].tid = atomic_load(&s->tid);
            out[k].depth = s->depth;
            out[k].flags = s->flags;
            memcpy(out[k].pcs, s->pcs, s->depth * sizeof(uint64_t));
        }
        k++;
    }
    rep->nrecords = k;
    lynx_agent_modules_refresh();
    r->inline_len = sizeof(*rep);
    r->bulk_len = (arg->flags & LYNX_LOCKS_SUMMARY)
                      ? 0
                      : (size_t)k * sizeof(*out);
    return 0;
}
