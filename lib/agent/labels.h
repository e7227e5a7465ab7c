/*
 * agent/labels.h - who a sample runs for: the thread's name and id, and
 * the request labels the program pushed (lynx_label_push in
 * lynxprof-agent.h).  agent/signal_labels.c keeps them per thread and
 * copies them into samples; agent/name_hooks.c tells it when a thread is
 * renamed.
 */
#ifndef LYNX_AGENT_LABELS_H
#define LYNX_AGENT_LABELS_H

#include <stdint.h>

#include "protocol/block.h"

/* Fill *out (all of it: unused bytes zero, so that equal labels compare
 * equal byte for byte) with the calling thread's id, its name as it is
 * now, and its request labels, outermost first; LYNX_STACK_LABELS_CUT in
 * *flags when they did not all fit.  The name is cached per thread and
 * read again (one prctl system call) only after some thread of the
 * process was renamed.  ASYNC-SIGNAL-SAFE: called by the SIGPROF handler
 * on the interrupted thread, and from ordinary code. */
void lynx_labels_capture(lynx_sample_labels_t *out, uint32_t *flags);

/* A thread of the process may have been renamed: every thread reads its
 * name again at its next capture.  Async-signal-safe (one atomic add). */
void lynx_labels_renamed(void);

/* In a forked child (its only thread has a new id).  Atfork child
 * handler. */
void lynx_labels_atfork_child(void);

#endif
