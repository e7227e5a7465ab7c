/*
 * client/attach.h - attaching to control blocks and calling the agent
 * through the mailbox (client side).  Names and /proc checks are
 * protocol/names.h, futexes protocol/futex.h.
 * Internal to lynxprof; the public API is lynxprof.h.
 */
#ifndef LYNX_CLIENT_ATTACH_H
#define LYNX_CLIENT_ATTACH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/block.h"
#include "protocol/futex.h"
#include "protocol/names.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An attached control block.  Owned by the caller of lynx_block_attach();
 * one thread at a time.  The geometry validated at attach (sizes, offsets,
 * the region table, the header's fixed fields) is kept here in private
 * memory and never read again from the block; only live words (heartbeat,
 * agent state, mailbox slots, tables) are read from the mapping, which is
 * guarded against truncation (protocol/shm_guard.h). */
typedef struct lynx_block {
    void *base;                  /* the data object, mapped PROT_READ */
    size_t size_bytes;           /* the data object's size at attach */
    const lynx_block_header_t *header; /* == &hdr */
    lynx_block_header_t hdr;     /* private copy of the header, validated;
                                    its live fields are stale: use
                                    lynx_block_check_alive() */
    const lynx_answers_t *answers; /* inside the data mapping, validated */
    uint64_t bulk_offset;        /* slot i's bulk area: bulk_offset +
                                    i * bulk_size_bytes, within size_bytes */
    uint64_t bulk_size_bytes;
    int fd;                      /* the data object: fstat and pread */
    lynx_mailbox_t *mailbox;     /* the mailbox object, mapped read-write;
                                    NULL for a dead target's block attached
                                    with LYNX_ATTACH_ALLOW_DEAD whose
                                    mailbox is gone */
    int mailbox_fd;              /* -1 when mailbox is NULL */
    char name[LYNX_NAME_MAX];
    dev_t dev;                   /* the data object's identity at attach */
    ino_t ino;
    int pidfd;                   /* the target process (pidfd_open, opened
                                    before its start time was checked), or
                                    -1: liveness from /proc each time */
} lynx_block_t;

#define LYNX_ATTACH_ALLOW_DEAD 0x1u /* read a dead target's block */

/* Check h, a private copy of a data object's header, against the object's
 * size: magic, version, sizes, the region table, the answers and bulk
 * regions inside the object.  On success b->answers (from b->base, the
 * mapping), b->bulk_offset and b->bulk_size_bytes are set; nothing else of
 * b is read or written.  The pure step of lynx_block_attach(), also fed by
 * the fuzz harness.  0, LYNX_EBADMAGIC, LYNX_EVERSION, LYNX_EBADSIZE. */
int lynx_block_validate(const lynx_block_header_t *h, uint64_t size,
                        lynx_block_t *b);

/* Map and validate the block of target `name`: its data object read-only,
 * its mailbox object read-write.  On success *out is owned by the caller
 * (lynx_block_detach).  Both objects must be regular files (a symlink is not
 * followed), owned by the user the target process runs as, not writable by
 * others; the data object not writable by the group either, the mailbox the
 * one whose inode the header names.  Errors: LYNX_EBADNAME, LYNX_ENOTARGET,
 * LYNX_EPERM, LYNX_EOWNER, LYNX_EBADMAGIC, LYNX_EVERSION, LYNX_EBADSIZE,
 * LYNX_EDEAD, LYNX_ESTALE (the last two not with LYNX_ATTACH_ALLOW_DEAD),
 * -errno. */
int lynx_block_attach(const char *name, unsigned flags, lynx_block_t **out);

/* 0 if the object still has the size it had at attach and no truncation
 * was caught in the mapping, else LYNX_EBADSIZE.  One fstat. */
int lynx_block_check_size(const lynx_block_t *b);

/* Copy len bytes at offset `off` of the object into dst with pread(), so
 * that a file shrunk meanwhile gives an error, not a SIGBUS.  0 or
 * LYNX_EBADSIZE. */
int lynx_block_pread(const lynx_block_t *b, uint64_t off, void *dst,
                     size_t len);

/* The layout version written in the data object of target `name`, for an
 * error that names both versions: read without mapping it, from a regular
 * file only (no symlink followed, no FIFO waited on).  0 with *version
 * set, LYNX_EBADMAGIC when the magic is not ours, LYNX_ENOTARGET,
 * LYNX_EBADSIZE, LYNX_EPERM, -errno. */
int lynx_block_version(const char *name, uint32_t *version);

/* Unmap and free; accepts NULL. */
void lynx_block_detach(lynx_block_t *b);

/* 0 if the target is alive and its agent beating, else LYNX_EDEAD or
 * LYNX_ESTALE.  With a pidfd one poll(2); else kill(2) and /proc/<pid>/stat
 * (start time and state). */
int lynx_block_check_alive(const lynx_block_t *b);

/* Pointer to the region of `kind` if present and at least min_bytes long,
 * else NULL; its size into *size_bytes when not NULL. */
void *lynx_block_region_ptr(const lynx_block_t *b, uint32_t kind,
                            size_t min_bytes, size_t *size_bytes);

/* Names of the blocks in /dev/shm (alive or not), sorted, at most max.
 * Only regular files with a valid name, large enough for a header, are
 * listed; those these endpoints could use (ours, or carrying one of our
 * groups, not writable by others) are taken before any other, so objects
 * other users make under the prefix cannot push them out of the list.
 * 0 or -errno. */
int lynx_block_list(char (*names)[LYNX_NAME_MAX], size_t max, size_t *count);

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

#ifdef __cplusplus
}
#endif

#endif
