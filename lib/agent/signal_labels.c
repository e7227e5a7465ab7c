/*
 * agent/signal_labels.c - the labels of a sample: the thread's id and name
 * and the request labels the program pushed (lynx_label_push), kept per
 * thread and copied into each sample by the SIGPROF handler.
 *
 * ASYNC-SIGNAL-SAFE.  lynx_labels_capture() runs inside the SIGPROF
 * handler on the interrupted thread; lynx_agent_label_push() and
 * lynx_agent_label_pop() run in the program's threads and may themselves
 * be interrupted by that handler at any instruction.  Nothing here
 * allocates, locks, or calls anything but two system calls (gettid and
 * prctl PR_GET_NAME, both async-signal-safe, both rare: their results are
 * cached per thread).
 *
 * Workload: a push and a pop around each request (or each phase of one),
 * millions per second across threads; a capture per CPU sample (100 Hz
 * per busy thread by default).  Each thread has its own stack of labels in
 * initial-exec TLS (no allocation on first access, so usable from a
 * handler), which only that thread writes.  The handler reads it on the
 * same thread, so no lock or sequence counter is needed: a push fills its
 * entry and only then, after a compiler barrier, raises the depth; a pop
 * lowers the depth before the entry can be reused.  Whatever instruction
 * the handler interrupts, the entries below the depth it reads are whole.
 *
 * Thread names: Linux keeps the name (comm) in the kernel.  The cache of
 * it here is refreshed with prctl(PR_GET_NAME) at the first capture on a
 * thread and after every rename that goes through the interposed
 * pthread_setname_np() or prctl(PR_SET_NAME) (agent/name_hooks.c): a
 * rename bumps a process-wide generation that each thread compares with
 * its cache's.  A rename through a raw system call or by writing
 * /proc/<pid>/task/<tid>/comm is seen only after the next interposed one.
 */
#define LYNX_AGENT_BUILD /* lynxprof-agent.h: the definitions, not weak */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/labels.h"
#include "lynxprof-agent.h"

#define EXPORT __attribute__((visibility("default")))
#define IE_TLS __attribute__((tls_model("initial-exec")))

_Static_assert(LYNX_LABEL_PUSH_DEPTH == LYNX_LABEL_DEPTH,
               "public and wire label depth");
_Static_assert(LYNX_LABEL_PUSH_KEY_MAX == LYNX_LABEL_KEY_MAX,
               "public and wire key size");
_Static_assert(LYNX_LABEL_PUSH_VALUE_MAX == LYNX_LABEL_VALUE_MAX,
               "public and wire value size");
_Static_assert(LYNX_LABEL_DEPTH <= 32, "cut is a 32-bit mask");

/* One thread's labels.  Written by its thread only; read by its own
 * SIGPROF handler. */
typedef struct label_stack {
    uint32_t depth;     /* pushes not popped yet; may exceed
                           LYNX_LABEL_DEPTH (those pushes are not kept) */
    uint32_t cut;       /* bit i: recs[i] was cut or refused */
    uint32_t name_gen;  /* rename generation name was read at; 0 never */
    int32_t tid;        /* this thread's id; 0 not known yet */
    char name[LYNX_THREAD_NAME_MAX];
    lynx_label_rec_t recs[LYNX_LABEL_DEPTH];
} label_stack_t;

static __thread label_stack_t stack IE_TLS;

/* Bumped by every rename; starts at 1 so that 0 means "never read". */
static _Atomic uint32_t rename_gen = 1;

void lynx_labels_renamed(void)
{
    uint32_t g = atomic_fetch_add_explicit(&rename_gen, 1,
                                           memory_order_acq_rel) + 1;
    if (g == 0) {
        /* Wrapped: 0 is "never read"; skip it. */
        atomic_fetch_add_explicit(&rename_gen, 1, memory_order_acq_rel);
    }
}

void lynx_labels_atfork_child(void)
{
    /* The child's only thread has a new id. */
    stack.tid = 0;
}

/* Bytes of s to keep in room bytes (NUL included): all of it, or the
 * longest prefix that fits and does not end inside a UTF-8 sequence.
 * *cut is set when s is longer. */
static size_t fit_utf8(const char *s, size_t room, int *cut)
{
    size_t n = strnlen(s, room);

    *cut = 0;
    if (n < room) {
        return n;
    }
    *cut = 1;
    n = room - 1;
    /* Back off continuation bytes, then the lead byte they follow. */
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) {
        n--;
    }
    return n;
}

static int reserved_key(const char *key)
{
    /* The agent's own labels: a program cannot fake them. */
    return key[0] == 't' &&
           (strcmp(key, "thread") == 0 || strcmp(key, "tid") == 0);
}

/* Zero what follows the first NUL of field[0..n): push writes a record's
 * strings without clearing the rest (it runs on every request), and
 * capture makes equal labels equal bytes, as the sample tables'
 * aggregation key wants. */
static void clear_tail(char *field, size_t n)
{
    size_t i = 0;

    while (i < n && field[i] != '\0') {
        i++;
    }
    for (; i < n; i++) {
        field[i] = '\0';
    }
}

EXPORT int lynx_agent_label_push(const char *key, const char *value)
{
    label_stack_t *ls = &stack;
    uint32_t d = ls->depth;
    int rc = 0;

    if (d < LYNX_LABEL_DEPTH) {
        lynx_label_rec_t *r = &ls->recs[d];
        size_t klen = key != NULL ? strnlen(key, LYNX_LABEL_KEY_MAX) : 0;

        /* Each string ends at its NUL; capture clears the rest. */
        r->key[0] = '\0';
        r->value[0] = '\0';
        if (key == NULL || klen == 0 || reserved_key(key)) {
            rc = -EINVAL;
        } else if (klen == LYNX_LABEL_KEY_MAX) {
            rc = -ENAMETOOLONG;
        } else {
            int cut;
            size_t vlen = fit_utf8(value != NULL ? value : "",
                                   LYNX_LABEL_VALUE_MAX, &cut);
            memcpy(r->key, key, klen + 1);
            memcpy(r->value, value != NULL ? value : "", vlen);
            r->value[vlen] = '\0';
            rc = cut ? 1 : 0;
        }
        if (rc != 0) {
            ls->cut |= 1u << d;
        } else {
            ls->cut &= ~(1u << d);
        }
    } else {
        rc = -ENOSPC;
    }
    /* The entry is whole before the handler can see it. */
    atomic_signal_fence(memory_order_seq_cst);
    if (d != UINT32_MAX) {
        ls->depth = d + 1;
    }
    atomic_signal_fence(memory_order_seq_cst);
    return rc;
}

EXPORT void lynx_agent_label_pop(void)
{
    label_stack_t *ls = &stack;

    atomic_signal_fence(memory_order_seq_cst);
    if (ls->depth > 0) {
        ls->depth--;
    }
    atomic_signal_fence(memory_order_seq_cst);
}

void lynx_labels_capture(lynx_sample_labels_t *out, uint32_t *flags)
{
    label_stack_t *ls = &stack;
    uint32_t gen = atomic_load_explicit(&rename_gen, memory_order_acquire);
    uint32_t d;
    uint32_t n;

    memset(out, 0, sizeof(*out));
    if (ls->tid == 0) {
        ls->tid = (int32_t)syscall(SYS_gettid);
    }
    out->tid = ls->tid;
    if (ls->name_gen != gen) {
        char name[LYNX_THREAD_NAME_MAX + 1];
        /* PR_GET_NAME writes up to 16 bytes, NUL included. */
        memset(name, 0, sizeof(name));
        if (syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0) == 0) {
            memcpy(ls->name, name, LYNX_THREAD_NAME_MAX);
            ls->name[LYNX_THREAD_NAME_MAX - 1] = '\0';
            ls->name_gen = gen;
        }
    }
    memcpy(out->thread, ls->name, LYNX_THREAD_NAME_MAX);
    d = ls->depth;
    atomic_signal_fence(memory_order_seq_cst);
    n = d < LYNX_LABEL_DEPTH ? d : LYNX_LABEL_DEPTH;
    out->nlabels = n;
    memcpy(out->labels, ls->recs, n * sizeof(lynx_label_rec_t));
    for (uint32_t i = 0; i < n; i++) {
        clear_tail(out->labels[i].key, LYNX_LABEL_KEY_MAX);
        clear_tail(out->labels[i].value, LYNX_LABEL_VALUE_MAX);
    }
    if (d > LYNX_LABEL_DEPTH ||
        (n > 0 && (ls->cut & (0xffffffffu >> (32 - n))) != 0)) {
        *flags |= LYNX_STACK_LABELS_CUT;
    }
}
