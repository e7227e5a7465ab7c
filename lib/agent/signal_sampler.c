/*
 * agent/signal_sampler.c - the SIGPROF handler and its ring.
 *
 * ASYNC-SIGNAL-SAFE.  lynx_sigprof() runs inside a signal handler on any
 * thread of the target, at any instruction.  Code reached from it must not
 * allocate, must not take a lock that ordinary code can hold, must save and
 * restore errno, and may write only into memory allocated beforehand (the
 * ring).  It drops a sample rather than wait.  The unwinder is libunwind's
 * local unwinder with per-thread caching, started from the signal context,
 * which its documentation names as the mode for signal handlers.
 *
 * The ring is a fixed array of slots; a producer takes the slot its ticket
 * points at (or one of the next few) by CAS from EMPTY to WRITING, fills it
 * and publishes READY; the agent thread scans every slot for READY, copies
 * it and frees it.  No order is kept: samples are only counted.
 *
 * The agent also unwinds from ordinary code (sampled allocations, lock
 * contentions, thread creation: lynx_unwind_here).  libunwind's per-thread
 * cache is not reentrant, so a signal that lands meanwhile must not unwind
 * on the same thread.  Instead of blocking SIGPROF around every such unwind
 * (two system calls each time), the thread flags itself: the handler then
 * only notes what it was asked for (the timer periods, a dump request) and
 * lynx_unwind_here delivers it when the unwind is done, with the stack it
 * has just taken, which is where that thread was anyway.
 *
 * Every unwind passes the fork gate (agent/fork.h): none starts while a
 * fork is being prepared or in a child without an agent.  A timer signal
 * then counts as lost; a dump request goes unanswered for that thread.
 */
#define UNW_LOCAL_ONLY
#include <errno.h>
#include <link.h>
#include <libunwind.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>

#include "agent/dl_hooks.h"
#include "agent/fork.h"
#include "agent/labels.h"
#include "agent/sampler.h"
#include "agent/threaddump.h"

#define RING_SLOTS 4096u   /* ~3.2 MiB: 1000 Hz x 4 threads x 1 s of slack */
#define PROBES 4           /* slots a producer tries before dropping */

enum { SLOT_EMPTY = 0, SLOT_WRITING = 1, SLOT_READY = 2 };

/* The states live apart from the samples, densely, so that the agent
 * thread's scan touches 256 cache lines, not 4096 samples; and it scans
 * only when producers have published something since the last drain. */
typedef struct ring_slot {
    lynx_raw_sample_t sample;
} ring_slot_t;

static ring_slot_t *ring;              /* RING_SLOTS, mmap'd once */
static _Atomic uint32_t *ring_state;   /* RING_SLOTS, mmap'd with ring */
static _Atomic uint32_t ring_ticket;
static _Atomic uint64_t published;     /* samples made READY, ever */
static uint64_t consumed;              /* agent thread only */
static _Atomic uint64_t lost;
static _Atomic int active;

/* Per-thread guard: a sample never interrupts another on the same thread.
 * initial-exec TLS needs no allocation on first access. */
static __thread int in_handler __attribute__((tls_model("initial-exec")));

/* Non-zero while this thread is inside lynx_unwind_here (see the top). */
__thread int lynx_agent_unwinding __attribute__((tls_model("initial-exec")));
/* What the handler was asked for meanwhile: timer periods, a dump. */
static __thread _Atomic uint32_t deferred_weight
    __attribute__((tls_model("initial-exec")));
static __thread _Atomic int deferred_dump
    __attribute__((tls_model("initial-exec")));

/* The loader's list of objects and its state, as debuggers find it: the
 * main program's DT_DEBUG entry, set by the loader at start-up.  (A copy
 * of _r_debug made by a copy relocation would not follow the loader's
 * state.)  NULL when there is none. */
static const struct r_debug *loader_debug;

__attribute__((constructor)) static void find_loader_debug(void)
{
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t nph = getauxval(AT_PHNUM);
    const ElfW(Dyn) *dyn = NULL;
    ElfW(Addr) bias = 0;

    for (size_t i = 0; ph != NULL && i < nph; i++) {
        if (ph[i].p_type == PT_PHDR) {
            bias = (ElfW(Addr))ph - ph[i].p_vaddr;
        }
    }
    for (size_t i = 0; ph != NULL && i < nph; i++) {
        if (ph[i].p_type == PT_DYNAMIC) {
            dyn = (const ElfW(Dyn) *)(bias + ph[i].p_vaddr);
        }
    }
    for (; dyn != NULL && dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_DEBUG) {
            loader_debug = (const struct r_debug *)dyn->d_un.d_ptr;
            break;
        }
    }
}

uint32_t lynx_unwind_context(void *ucontext, uint64_t *pcs, uint32_t max,
                             uint32_t *flags)
{
    ucontext_t *uc = ucontext;
    unw_cursor_t cursor;
    unw_word_t ip;
    uint32_t n = 0;

    *flags = 0;
    if (max == 0 || !lynx_fork_gate_enter()) {
        return 0;
    }
    pcs[n++] = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    /* The loader is adding or removing objects (dlopen or dlclose under
     * way on some thread: its debugger interface says so).  Such a thread
     * holds the loader's locks, which libunwind takes after one of its own
     * mutexes: unwinding here could deadlock with another thread's unwind
     * (seen in the soak).  The same holds for a thread interrupted inside
     * dl_iterate_phdr (agent/dl_hooks.h).  Only the interrupted address is
     * kept. */
    if (lynx_dl_iterate_busy() ||
        (loader_debug != NULL &&
         __atomic_load_n(&loader_debug->r_state, __ATOMIC_RELAXED) !=
             RT_CONSISTENT)) {
        *flags |= LYNX_STACK_TRUNCATED | LYNX_STACK_UNWIND_SKIPPED;
        lynx_fork_gate_leave();
        return n;
    }
    if (unw_init_local2(&cursor, (unw_context_t *)uc,
                        UNW_INIT_SIGNAL_FRAME) >= 0) {
        while (unw_step(&cursor) > 0) {
            if (n == max) {
                *flags |= LYNX_STACK_TRUNCATED;
                break;
            }
            if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) {
                break;
            }
            pcs[n++] = (uint64_t)ip;
        }
    }
    lynx_fork_gate_leave();
    return n;
}

/* CPU timers are checked on the kernel's tick: when the period is shorter,
 * one signal stands for several expiries and says how many it missed.
 * Counting them keeps CPU time right per stack. */
static uint32_t timer_weight(const siginfo_t *info)
{
    if (info->si_overrun <= 0) {
        return 1;
    }
    return 1 + (info->si_overrun < 10000 ? (uint32_t)info->si_overrun : 10000);
}

/* A ring slot in state WRITING for the caller to fill, or NULL (full:
 * `weight` periods counted as lost). */
static ring_slot_t *ring_claim(uint32_t weight, uint32_t *idx)
{
    uint32_t ticket = atomic_fetch_add_explicit(&ring_ticket, 1,
                                                memory_order_relaxed);

    for (uint32_t k = 0; k < PROBES; k++) {
        uint32_t expected = SLOT_EMPTY;
        *idx = (ticket + k) % RING_SLOTS;
        if (atomic_compare_exchange_strong_explicit(
                &ring_state[*idx], &expected, SLOT_WRITING,
                memory_order_acquire, memory_order_relaxed)) {
            ring[*idx].sample.weight = weight;
            return &ring[*idx];
        }
    }
    atomic_fetch_add_explicit(&lost, weight, memory_order_relaxed);
    return NULL;
}

static void ring_publish(uint32_t idx)
{
    atomic_store_explicit(&ring_state[idx], SLOT_READY, memory_order_release);
    atomic_fetch_add_explicit(&published, 1, memory_order_release);
}

static void lynx_sigprof(int sig, siginfo_t *info, void *ucv)
{
    int saved_errno = errno;
    ring_slot_t *slot;
    uint32_t idx;

    (void)sig;
    /* Thread-dump requests from the agent thread (agent/threaddump.c). */
    if (info != NULL) {
        int r = lynx_threaddump_on_signal(info, ucv, lynx_agent_unwinding);
        if (r == LYNX_DUMP_DEFERRED) {
            atomic_store_explicit(&deferred_dump, 1, memory_order_relaxed);
        }
        if (r != 0 && info->si_code != SI_TIMER) {
            errno = saved_errno;
            return;
        }
    }
    /* Only our own timers' signals: a SIGPROF sent by kill() is not a
     * sample.  Nothing to do while no profile runs. */
    if (info == NULL || info->si_code != SI_TIMER ||
        !atomic_load_explicit(&active, memory_order_relaxed) ||
        ring == NULL || in_handler) {
        errno = saved_errno;
        return;
    }
    if (lynx_agent_unwinding) {
        /* Inside libunwind already: counted now, stored with the stack
         * lynx_unwind_here is taking. */
        atomic_fetch_add_explicit(&deferred_weight, timer_weight(info),
                                  memory_order_relaxed);
        errno = saved_errno;
        return;
    }
    in_handler = 1;
    slot = ring_claim(timer_weight(info), &idx);
    if (slot != NULL) {
        slot->sample.depth = lynx_unwind_context(
            ucv, slot->sample.pcs, LYNX_CPU_MAX_DEPTH, &slot->sample.flags);
        if (slot->sample.depth > 0) {
            lynx_labels_capture(&slot->sample.labels, &slot->sample.flags);
            ring_publish(idx);
        } else {
            /* Not unwound (a fork is under way, or this is a child): the
             * period is counted as lost. */
            atomic_fetch_add_explicit(&lost, slot->sample.weight,
                                      memory_order_relaxed);
            atomic_store_explicit(&ring_state[idx], SLOT_EMPTY,
                                  memory_order_release);
        }
    }
    in_handler = 0;
    errno = saved_errno;
}

/* Deliver what the handler deferred while this thread was unwinding, with
 * the stack just taken (return addresses, innermost first). */
static __attribute__((noinline)) void deliver_deferred(void *const *buf,
                                                       int n)
{
    uint64_t pcs[LYNX_CPU_MAX_DEPTH];
    uint32_t depth = 0;
    uint32_t flags = 0;
    uint32_t weight;

    for (int i = 0; i < n; i++) {
        if (depth == LYNX_CPU_MAX_DEPTH) {
            flags |= LYNX_STACK_TRUNCATED;
            break;
        }
        pcs[depth++] = (uint64_t)(uintptr_t)buf[i];
    }
    if (atomic_exchange_explicit(&deferred_dump, 0, memory_order_relaxed)) {
        lynx_threaddump_answer(pcs, depth, flags);
    }
    weight = atomic_exchange_explicit(&deferred_weight, 0,
                                      memory_order_relaxed);
    if (weight == 0 || ring == NULL) {
        return;
    }
    if (depth == 0) {
        atomic_fetch_add_explicit(&lost, weight, memory_order_relaxed);
    } else {
        /* A signal now would unwind into a slot of its own: nothing to
         * guard against. */
        uint32_t idx;
        ring_slot_t *slot = ring_claim(weight, &idx);
        if (slot != NULL) {
            slot->sample.depth = depth;
            slot->sample.flags = flags;
            memcpy(slot->sample.pcs, pcs, depth * sizeof(uint64_t));
            lynx_labels_capture(&slot->sample.labels, &slot->sample.flags);
            ring_publish(idx);
        }
    }
}

void lynx_unwind_finish(void *const *buf, int n)
{
    if (__builtin_expect(
            lynx_agent_unwinding == 0 &&
                (atomic_load_explicit(&deferred_weight,
                                      memory_order_relaxed) != 0 ||
                 atomic_load_explicit(&deferred_dump,
                                      memory_order_relaxed) != 0),
            0)) {
        deliver_deferred(buf, n > 0 ? n : 0);
    }
}

__attribute__((noinline)) int lynx_unwind_here(void **buf, int max)
{
    return lynx_unwind_inline(buf, max);
}

int lynx_sampler_install(char *msg, size_t msg_size)
{
    struct sigaction old;
    struct sigaction sa;

    if (sigaction(SIGPROF, NULL, &old) != 0) {
        return -errno;
    }
    if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == lynx_sigprof) {
        return 0; /* ours from an earlier profile */
    }
    if ((old.sa_flags & SA_SIGINFO) ||
        (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) {
        snprintf(msg, msg_size,
                 "SIGPROF is in use by the program; lynxprof will not "
                 "take it over");
        return -EBUSY;
    }
    if (ring == NULL) {
        size_t states = sizeof(uint32_t) * RING_SLOTS;
        void *p = mmap(NULL, states + sizeof(ring_slot_t) * RING_SLOTS,
                       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED) {
            return -errno;
        }
        ring_state = p;
        ring = (ring_slot_t *)((char *)p + states);
        /* Per-thread caches make libunwind's local unwinder usable from
         * signal handlers. */
        unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = lynx_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) != 0) {
        return -errno;
    }
    return 0;
}

int lynx_sampler_check(char *why, size_t why_size)
{
    struct sigaction cur;
    struct itimerval it;

    if (sigaction(SIGPROF, NULL, &cur) == 0 &&
        !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == lynx_sigprof)) {
        snprintf(why, why_size,
                 "the program installed its own SIGPROF handler; CPU "
                 "profiling stopped");
        return -EBUSY;
    }
    if (getitimer(ITIMER_PROF, &it) == 0 &&
        (it.it_value.tv_sec != 0 || it.it_value.tv_usec != 0)) {
        snprintf(why, why_size,
                 "the program armed its own profiling timer "
                 "(setitimer ITIMER_PROF); CPU profiling stopped");
        return -EBUSY;
    }
    return 0;
}

void lynx_sampler_set_active(int on)
{
    atomic_store(&active, on);
}

size_t lynx_sampler_drain(void (*cb)(const lynx_raw_sample_t *s, void *ctx),
                          void *ctx)
{
    size_t n = 0;
    uint64_t ready;

    if (ring == NULL) {
        return 0;
    }
    ready = atomic_load_explicit(&published, memory_order_acquire);
    if (ready == consumed) {
        return 0; /* nothing published since the last drain */
    }
    for (uint32_t i = 0; i < RING_SLOTS; i++) {
        ring_slot_t *s = &ring[i];
        if (atomic_load_explicit(&ring_state[i], memory_order_acquire) !=
            SLOT_READY) {
            continue;
        }
        if (s->sample.depth >= 1 && s->sample.depth <= LYNX_CPU_MAX_DEPTH) {
            cb(&s->sample, ctx);
        }
        n++;
        atomic_store_explicit(&ring_state[i], SLOT_EMPTY,
                              memory_order_release);
    }
    consumed += n;
    return n;
}

uint64_t lynx_sampler_take_lost(void)
{
    return atomic_exchange(&lost, 0);
}
