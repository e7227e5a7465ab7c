/*
 * client/thread_dump.h - thread dumps of a target, endpoint side
 * (client/thread_profiles.c): the snapshot itself and the per-thread text of
 * /debug/pprof/goroutine?debug=2.  The pprof kinds "goroutine" and
 * "threadcreate" are in the registry (client/profiles.h).
 */
#ifndef LYNX_CLIENT_THREAD_DUMP_H
#define LYNX_CLIENT_THREAD_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block_threads.h"
#include "protocol/module.h"
#include "client/pprof.h"
#include "client/symbolize.h"
#include "lynxprof.h"

typedef struct lynx_thread_dump {
    lynx_thread_dump_reply_t info;
    lynx_thread_rec_t *threads;  /* info.nthreads records, validated */
    size_t nthreads;
    lynx_module_t *mods;
    size_t nmods;
    char target[LYNX_TARGET_NAME_MAX];
    int32_t pid;
} lynx_thread_dump_t;

/* Take a snapshot of every thread's stack; flags LYNX_DUMP_RUNNING_ONLY
 * leaves threads blocked in the kernel alone (status LYNX_THREAD_BLOCKED,
 * wchan, no stack).  0 or a negative code with the agent's message in msg
 * (LYNX_EUNSUPPORTED: SIGPROF is the program's).  Free with
 * lynx_thread_dump_fini(). */
int lynx_thread_dump_take(lynx_target_t *t, int64_t timeout_ns,
                          uint32_t flags, lynx_thread_dump_t *d, char *msg,
                          size_t msg_size);
void lynx_thread_dump_fini(lynx_thread_dump_t *d);

/* The pure step of lynx_thread_dump_take(), for tests and fuzzing: with
 * d->info set from the reply, check that the bulk (bulk_len bytes,
 * malloc'd or NULL) holds exactly d->info.nthreads records, then make each
 * one safe to use (a depth above the maximum makes it a thread that did
 * not answer; names are NUL-terminated).  d owns bulk afterwards in any
 * case (lynx_thread_dump_fini frees it).  0 or LYNX_EPROTO. */
int lynx_thread_dump_decode(lynx_thread_dump_t *d, void *bulk,
                            size_t bulk_len);

/* Add the stacks of the threads that answered to p (sample type
 * thread/count), one sample per thread; a thread left alone as blocked
 * is a sample without locations, labelled thread_state and wchan.  0 or
 * a lynx_pprof_add_sample() error. */
int lynx_thread_dump_add(lynx_pprof_t *p, const lynx_thread_dump_t *d);

/* Threads left alone because they were blocked (LYNX_THREAD_BLOCKED). */
size_t lynx_thread_dump_nblocked(const lynx_thread_dump_t *d);

/* "S (sleeping)" for a /proc state letter. */
const char *lynx_thread_state_name(char state);

/* The per-thread text (debug=2): for each thread
 *   thread <tid> "<name>" [<state>]:
 *   <function>
 *   \t<file>:<line> pc=0x...
 *   ...
 * with a note for the threads that did not answer.  *out malloc'd. */
int lynx_thread_dump_text(const lynx_thread_dump_t *d, lynx_symbolizer_t *sym,
                          char **out, size_t *out_len);

#endif
