/*
 * fake_block.h - hand-made control blocks for unit tests: valid ones whose
 * fields a test then breaks, to check that readers refuse each fault.
 */
#ifndef FAKE_BLOCK_H
#define FAKE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "lynx_block.h"

typedef struct fake_block {
    lynx_block_header_t *header;
    lynx_mailbox_t *mailbox;
    size_t size_bytes;
    char name[LYNX_NAME_MAX];
    char path[128];
} fake_block_t;

/* Create /dev/shm/lynxprof.<name> laid out like the agent does, owned by
 * process `pid` (its real start time is filled in), heartbeat now.  The
 * fake answers nothing: no thread serves its mailbox.  0 or -errno. */
int fake_block_create(fake_block_t *fb, const char *name, int pid);

/* Change the object's file size (to test size checks). */
int fake_block_resize(fake_block_t *fb, size_t size_bytes);

/* Unmap and unlink. */
void fake_block_destroy(fake_block_t *fb);

/* A unique name for this test process: "<prefix>-<pid>-<n>". */
const char *fake_name(const char *prefix);

#endif
