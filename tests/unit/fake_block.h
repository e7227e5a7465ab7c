/*
 * fake_block.h - hand-made control blocks for unit tests: valid ones whose
 * fields a test then breaks, to check that readers refuse each fault.
 */
#ifndef FAKE_BLOCK_H
#define FAKE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block.h"

typedef struct fake_block {
    lynx_block_header_t *header; /* the data object, read-write here */
    lynx_mailbox_t *mailbox;     /* the mailbox object */
    lynx_answers_t *answers;
    lynx_sessions_t *sessions;   /* NULL unless made by fake_block_create_cpu */
    lynx_modules_t *modules;
    lynx_cpu_table_t *cpu;
    lynx_memsnap_t *memsnap;     /* the memory snapshot region (seq 0) */
    size_t size_bytes;
    void *agent;                 /* fake agent thread state, or NULL */
    /* What the fake agent claims in every answer, for tests of a lying
     * agent: bulk_len (default 0; the bulk areas hold whatever the test
     * wrote there), and reply_len instead of the true one when not 0. */
    _Atomic uint64_t lie_bulk_len;
    _Atomic uint32_t lie_reply_len;
    char name[LYNX_NAME_MAX];
    char path[128];
    char mailbox_path[128];
} fake_block_t;

/* Create /dev/shm/lynxprof.<name> and its mailbox object laid out like the
 * agent does (answers, bulk, memory snapshot), owned by
 * process `pid` (its real start time is filled in), heartbeat now.  The
 * fake answers nothing: no thread serves its mailbox.  0 or -errno. */
int fake_block_create(fake_block_t *fb, const char *name, int pid);

/* The same with the CPU regions the agent lays out: session records,
 * `nmodules_cap` module slots and a CPU table of `nstacks_cap` stacks, all
 * zero (capacities set).  0 or -errno. */
int fake_block_create_cpu(fake_block_t *fb, const char *name, int pid,
                          uint32_t nmodules_cap, uint32_t nstacks_cap);

/* Write record `index` as the agent does (under its seqlock). */
void fake_session_write(fake_block_t *fb, uint32_t index,
                        const lynx_session_t *s);

/* Publish a memory snapshot as the agent does (under its seqlock): every
 * field of snap but seq. */
void fake_memsnap_write(fake_block_t *fb, const lynx_memsnap_t *snap);

/* A stand-in for the agent thread: serves the mailbox (calling `cb` for
 * each command, on its own thread) and beats the heartbeat, until
 * fake_agent_stop().  cb returns the result and fills reply and *reply_len
 * (at most LYNX_REPLY_MAX bytes). */
typedef int (*fake_command_cb)(void *ctx, uint32_t command, const void *arg,
                               size_t arg_len, void *reply,
                               size_t *reply_len);
int fake_agent_start(fake_block_t *fb, fake_command_cb cb, void *ctx);
void fake_agent_stop(fake_block_t *fb);

/* Change the object's file size (to test size checks). */
int fake_block_resize(fake_block_t *fb, size_t size_bytes);

/* Unmap and unlink both objects. */
void fake_block_destroy(fake_block_t *fb);

/* Give this process a private, empty /dev/shm when it can (root, mount
 * namespaces): then only the test's own blocks are listed.  1 if it did,
 * else 0 (the test then shares the host's /dev/shm). */
int fake_private_shm(void);

/* A unique name for this test process: "<prefix>-<pid>-<n>". */
const char *fake_name(const char *prefix);

#endif
