/*
 * lynx_block_io.h - attaching to control blocks and calling the agent
 * through the mailbox (endpoint side), plus the helpers both sides share.
 * Internal to lynxprof; the public API is lynxprof.h.
 */
#ifndef LYNX_BLOCK_IO_H
#define LYNX_BLOCK_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lynx_block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An attached control block.  Owned by the caller of lynx_block_attach();
 * one thread at a time. */
typedef struct lynx_block {
    void *base;                  /* the whole mapping */
    size_t size_bytes;
    lynx_block_header_t *header; /* == base, validated at attach */
    lynx_mailbox_t *mailbox;     /* inside the mapping, validated */
    char name[LYNX_NAME_MAX];
    dev_t dev;                   /* the object's identity at attach */
    ino_t ino;
} lynx_block_t;

#define LYNX_ATTACH_ALLOW_DEAD 0x1u /* read a dead target's block */

/* 1 if name may name a target: 1..63 bytes of [A-Za-z0-9._-], not starting
 * with '.'.  Thread-safe. */
int lynx_name_valid(const char *name);

/* Turn any string into a valid name (bad bytes become '_'). */
void lynx_name_sanitize(const char *in, char out[LYNX_NAME_MAX]);

/* "/dev/shm/lynxprof.<name>" into buf.  0, LYNX_EBADNAME, -ENAMETOOLONG. */
int lynx_block_path(const char *name, char *buf, size_t size);

/* Read start time (clock ticks since boot) and state letter of a process
 * from /proc/<pid>/stat.  Either output may be NULL.  0, -ESRCH, -errno. */
int lynx_proc_stat(int pid, uint64_t *start_ticks, char *state);

/* 0 if pid is alive and started at start_ticks, else LYNX_EDEAD (gone,
 * zombie, or the pid was reused).  Thread-safe. */
int lynx_pid_alive(int pid, uint64_t start_ticks);

/* Check a mapped block of size bytes at base (64-byte aligned): magic,
 * version, sizes, the region table and the mailbox's bulk areas must lie
 * inside it.  The pure step of lynx_block_attach(), also fed by the fuzz
 * harness.  0, LYNX_EBADMAGIC, LYNX_EVERSION, LYNX_EBADSIZE. */
int lynx_block_validate(const void *base, uint64_t size);

/* Map and validate the block of target `name`.  On success *out is owned by
 * the caller (lynx_block_detach).  Errors: LYNX_EBADNAME, LYNX_ENOTARGET,
 * LYNX_EPERM, LYNX_EBADMAGIC, LYNX_EVERSION, LYNX_EBADSIZE, LYNX_EDEAD,
 * LYNX_ESTALE (the last two not with LYNX_ATTACH_ALLOW_DEAD), -errno. */
int lynx_block_attach(const char *name, unsigned flags, lynx_block_t **out);

/* Unmap and free; accepts NULL. */
void lynx_block_detach(lynx_block_t *b);

/* 0 if the target is alive and its agent beating, else LYNX_EDEAD or
 * LYNX_ESTALE. */
int lynx_block_check_alive(const lynx_block_t *b);

/* Pointer to the region of `kind` if present and at least min_bytes long,
 * else NULL; its size into *size_bytes when not NULL. */
void *lynx_block_region_ptr(const lynx_block_t *b, uint32_t kind,
                            size_t min_bytes, size_t *size_bytes);

/* Names of the blocks in /dev/shm (alive or not), sorted, at most max.
 * 0 or -errno. */
int lynx_block_list(char (*names)[LYNX_NAME_MAX], size_t max, size_t *count);

/* The attached block of a target (lynxprof.h), owned by the target. */
struct lynx_target;
lynx_block_t *lynx_target_block(struct lynx_target *t);

/* ---- mailbox, endpoint side ------------------------------------------- */

/* One command's outcome, filled by lynx_mailbox_call(). */
typedef struct lynx_call {
    int result;                  /* the agent's result code */
    char message[LYNX_MSG_MAX];  /* the agent's detail, "" if none */
    size_t reply_len;            /* bytes copied into the reply buffer */
    size_t bulk_len;             /* bytes copied into the bulk buffer */
} lynx_call_t;

/* Send `command` with `arg` to the agent and wait at most timeout_ns for the
 * answer.  The inline reply is copied into reply (at most reply_cap bytes)
 * and the slot's bulk result into *bulk (malloc'd, caller frees) when bulk is
 * not NULL.  Returns 0 when the agent answered (its own result is in
 * call->result), LYNX_ETIMEOUT, LYNX_EBUSY, LYNX_EPROTO, LYNX_EDEAD,
 * LYNX_ESTALE, -ENOMEM.  Thread-safe for distinct blocks; the block's slots
 * are shared safely between processes. */
int lynx_mailbox_call(lynx_block_t *b, uint32_t command, const void *arg,
                      size_t arg_len, void *reply, size_t reply_cap,
                      void **bulk, lynx_call_t *call, int64_t timeout_ns);

/* ---- futex on shared words -------------------------------------------- */

/* Wait while *word == expected, at most timeout_ns (<0: forever).  0 on wake
 * or value change, -ETIMEDOUT, -EINTR. */
int lynx_futex_wait(_Atomic uint32_t *word, uint32_t expected,
                    int64_t timeout_ns);
/* Wake up to n waiters on word. */
void lynx_futex_wake(_Atomic uint32_t *word, int n);

#ifdef __cplusplus
}
#endif

#endif
