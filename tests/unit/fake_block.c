/*
 * fake_block.c - see fake_block.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_block.h"
#include "lynx_block_io.h"
#include "lynx_time.h"

#define FAKE_BULK (1u << 20)

const char *fake_name(const char *prefix)
{
    static char buf[LYNX_NAME_MAX];
    static int n;

    snprintf(buf, sizeof(buf), "%s-%d-%d", prefix, (int)getpid(), n++);
    return buf;
}

int fake_block_create(fake_block_t *fb, const char *name, int pid)
{
    size_t mailbox_off = 4096;
    size_t bulk_off = (mailbox_off + sizeof(lynx_mailbox_t) + 4095) & ~4095ul;
    size_t total = bulk_off + (size_t)FAKE_BULK * LYNX_MAILBOX_SLOTS;
    lynx_block_header_t *h;
    uint64_t ticks = 0;
    int fd;

    memset(fb, 0, sizeof(*fb));
    snprintf(fb->name, sizeof(fb->name), "%s", name);
    lynx_block_path(name, fb->path, sizeof(fb->path));
    unlink(fb->path);
    fd = open(fb->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    if (ftruncate(fd, (off_t)total) != 0) {
        close(fd);
        return -errno;
    }
    h = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (h == MAP_FAILED) {
        return -errno;
    }
    lynx_proc_stat(pid, &ticks, NULL);
    h->version = LYNX_BLOCK_VERSION;
    h->header_size_bytes = sizeof(*h);
    h->total_size_bytes = total;
    h->pid = pid;
    h->start_ticks = ticks;
    h->started_unix_ns = lynx_real_ns();
    atomic_store(&h->heartbeat_ns, lynx_mono_ns());
    atomic_store(&h->agent_state, LYNX_AGENT_RUNNING);
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->regions[0] = (lynx_region_t){LYNX_REGION_MAILBOX, 0, mailbox_off,
                                    total - mailbox_off};
    h->nregions = 1;
    fb->mailbox = (lynx_mailbox_t *)((char *)h + mailbox_off);
    fb->mailbox->nslots = LYNX_MAILBOX_SLOTS;
    fb->mailbox->bulk_offset = bulk_off;
    fb->mailbox->bulk_size_bytes = FAKE_BULK;
    atomic_store(&h->magic, LYNX_BLOCK_MAGIC);
    fb->header = h;
    fb->size_bytes = total;
    return 0;
}

int fake_block_resize(fake_block_t *fb, size_t size_bytes)
{
    return truncate(fb->path, (off_t)size_bytes) == 0 ? 0 : -errno;
}

void fake_block_destroy(fake_block_t *fb)
{
    if (fb->header != NULL) {
        munmap(fb->header, fb->size_bytes);
        fb->header = NULL;
    }
    unlink(fb->path);
}
