/*
 * client/attach.c - validation and attaching of control blocks (the
 * agent creates them in agent/agent.c; names are protocol/names.c).
 *
 * Workload: an endpoint attaches once per target and keeps the attachment
 * in client/target.c's cache: attach is two opens, fstats and mmaps (data and
 * mailbox), a pread of the header and a few reads of /proc; a listing scans
 * /dev/shm.
 * Nothing here trusts the block's contents: every field is checked before it
 * is used, and a block that fails any check is refused with its own code.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "protocol/block.h"
#include "client/attach.h"
#include "protocol/shm_guard.h"
#include "lynxprof.h"
#include "protocol/clock.h"

int lynx_block_validate(const lynx_block_header_t *h, uint64_t size,
                        lynx_block_t *b)
{
    const lynx_region_t *answers = NULL;
    const lynx_region_t *bulk = NULL;

    if (atomic_load_explicit(&h->magic, memory_order_relaxed) !=
        LYNX_BLOCK_MAGIC) {
        return LYNX_EBADMAGIC;
    }
    if (h->version != LYNX_BLOCK_VERSION) {
        return LYNX_EVERSION;
    }
    if (h->header_size_bytes != sizeof(lynx_block_header_t) ||
        h->total_size_bytes != size || h->nregions > LYNX_MAX_REGIONS ||
        h->mailbox_size_bytes != sizeof(lynx_mailbox_t)) {
        return LYNX_EBADSIZE;
    }
    for (uint32_t i = 0; i < h->nregions; i++) {
        const lynx_region_t *r = &h->regions[i];
        if (r->offset < sizeof(*h) || r->offset % 64 != 0 ||
            r->size_bytes > size || r->offset > size - r->size_bytes) {
            return LYNX_EBADSIZE;
        }
        if (r->kind == LYNX_REGION_ANSWERS && answers == NULL) {
            answers = r;
        } else if (r->kind == LYNX_REGION_BULK && bulk == NULL) {
            bulk = r;
        }
    }
    if (answers == NULL || answers->size_bytes < sizeof(lynx_answers_t) ||
        bulk == NULL || bulk->size_bytes % LYNX_MAILBOX_SLOTS != 0 ||
        (bulk->size_bytes / LYNX_MAILBOX_SLOTS) % 4096 != 0 ||
        memchr(h->name, '\0', sizeof(h->name)) == NULL ||
        memchr(h->exe, '\0', sizeof(h->exe)) == NULL) {
        return LYNX_EBADSIZE;
    }
    b->answers = (const lynx_answers_t *)((const char *)b->base +
                                          answers->offset);
    b->bulk_offset = bulk->offset;
    b->bulk_size_bytes = bulk->size_bytes / LYNX_MAILBOX_SLOTS;
    return 0;
}

/* A pidfd for the target process when its start time matches the
 * header's, else -1.  Opened first and checked after: a pid reused in
 * between would show a different start time, so a pidfd kept refers to
 * the target itself, and later checks need neither kill(2) nor /proc
 * (four system calls and a sscanf per check, three checks per request of
 * the memory endpoint). */
static int open_pidfd(const lynx_block_t *b)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)b->hdr.pid, 0);

    if (fd < 0) {
        return -1; /* older kernel: /proc each time */
    }
    if (lynx_pid_alive(b->hdr.pid, b->hdr.start_ticks) != 0) {
        close(fd);
        return -1;
    }
    return fd;
#else
    (void)b;
    return -1;
#endif
}

/* 0 if the target process runs, else LYNX_EDEAD. */
static int process_alive(const lynx_block_t *b)
{
    if (b->pidfd >= 0) {
        struct pollfd p = {b->pidfd, POLLIN, 0};
        int n = poll(&p, 1, 0);
        if (n == 0) {
            return 0;
        }
        if (n > 0) {
            return LYNX_EDEAD; /* readable once it has exited */
        }
    }
    return lynx_pid_alive(b->hdr.pid, b->hdr.start_ticks);
}

int lynx_block_check_alive(const lynx_block_t *b)
{
    /* Live words, read from the (guarded) mapping. */
    const lynx_block_header_t *live = b->base;
    int64_t age;

    if (atomic_load(&live->agent_state) == LYNX_AGENT_STOPPED) {
        return LYNX_EDEAD;
    }
    if (process_alive(b) != 0) {
        return LYNX_EDEAD;
    }
    age = lynx_mono_ns() - atomic_load(&live->heartbeat_ns);
    if (age > LYNX_STALE_NS) {
        return LYNX_ESTALE;
    }
    return 0;
}

int lynx_block_check_size(const lynx_block_t *b)
{
    struct stat st;

    if (fstat(b->fd, &st) != 0 || (uint64_t)st.st_size != b->size_bytes ||
        lynx_shm_guard_tripped(b->base)) {
        return LYNX_EBADSIZE;
    }
    if (b->mailbox != NULL &&
        (fstat(b->mailbox_fd, &st) != 0 ||
         (uint64_t)st.st_size != sizeof(lynx_mailbox_t) ||
         lynx_shm_guard_tripped(b->mailbox))) {
        return LYNX_EBADSIZE;
    }
    return 0;
}

int lynx_block_pread(const lynx_block_t *b, uint64_t off, void *dst,
                     size_t len)
{
    size_t done = 0;

    if (off > b->size_bytes || len > b->size_bytes - off) {
        return LYNX_EBADSIZE;
    }
    while (done < len) {
        ssize_t n = pread(b->fd, (char *)dst + done, len - done,
                          (off_t)(off + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return LYNX_EBADSIZE;
        }
        done += (size_t)n;
    }
    return 0;
}

/* 1 if gid is this process's group or one of its supplementary groups. */
static int in_my_groups(gid_t gid)
{
    gid_t groups[256];
    int n;

    if (gid == getegid()) {
        return 1;
    }
    n = getgroups(sizeof(groups) / sizeof(groups[0]), groups);
    for (int i = 0; i < n; i++) {
        if (groups[i] == gid) {
            return 1;
        }
    }
    return 0;
}

/* Who may have made an object: it is not writable by others (nor by the
 * group, for a data object) and it carries the endpoints' group (ours),
 * unless it is our own.  A user outside the group cannot make such an
 * object. */
static int owner_plausible(const struct stat *st, int data)
{
    if (!S_ISREG(st->st_mode) || (st->st_mode & S_IWOTH) ||
        (data && (st->st_mode & S_IWGRP))) {
        return 0;
    }
    return st->st_uid == geteuid() || in_my_groups(st->st_gid);
}

/* The object must belong to the user the target process runs as.  A dead
 * target cannot be asked; its block is then judged by owner_plausible()
 * alone. */
static int owner_matches_pid(const struct stat *st, int pid)
{
    char path[32];
    struct stat ps;

    snprintf(path, sizeof(path), "/proc/%d", pid);
    if (pid <= 0 || stat(path, &ps) != 0) {
        return -1;
    }
    return ps.st_uid == st->st_uid;
}

/* Open one of a block's objects without following a symlink or blocking on
 * a FIFO.  fd, or LYNX_ENOTARGET, LYNX_EOWNER (a symlink), LYNX_EPERM,
 * -errno. */
static int open_object(const char *path, int mode)
{
    int fd = open(path, mode | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    int saved;

    if (fd >= 0) {
        return fd;
    }
    saved = errno;
    if (saved == ENOENT) {
        return LYNX_ENOTARGET;
    }
    if (saved == ELOOP) {
        return LYNX_EOWNER;
    }
    return (saved == EACCES || saved == EPERM) ? LYNX_EPERM : -saved;
}

/* Open the data object of target `name`, a regular file, its status into
 * *st.  fd, or LYNX_EBADNAME, LYNX_EBADSIZE and the errors of
 * open_object(). */
static int open_data(const char *name, struct stat *st)
{
    char path[128];
    int fd;
    int rc = lynx_block_path(name, path, sizeof(path));

    if (rc != 0) {
        return rc;
    }
    fd = open_object(path, O_RDONLY);
    if (fd < 0) {
        return fd;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return LYNX_EBADSIZE;
    }
    return fd;
}

/* Open and map the mailbox object of b (validated data header in b->hdr,
 * owner in *data_st).  0, LYNX_ENOTARGET (absent), LYNX_EOWNER,
 * LYNX_EBADSIZE, -errno. */
static int attach_mailbox(lynx_block_t *b, const struct stat *data_st)
{
    char path[128];
    struct stat st;
    void *p;
    int fd;
    int rc = lynx_mailbox_path(b->name, path, sizeof(path));

    if (rc != 0) {
        return rc;
    }
    fd = open_object(path, O_RDWR);
    if (fd < 0) {
        return fd;
    }
    if (fstat(fd, &st) != 0 || !owner_plausible(&st, 0) ||
        st.st_uid != data_st->st_uid || st.st_dev != data_st->st_dev ||
        (uint64_t)st.st_ino != b->hdr.mailbox_ino) {
        close(fd);
        return LYNX_EOWNER;
    }
    if ((uint64_t)st.st_size != sizeof(lynx_mailbox_t)) {
        close(fd);
        return LYNX_EBADSIZE;
    }
    p = mmap(NULL, sizeof(lynx_mailbox_t), PROT_READ | PROT_WRITE,
             MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        close(fd);
        return rc;
    }
    lynx_shm_guard_add(p, sizeof(lynx_mailbox_t));
    b->mailbox = p;
    b->mailbox_fd = fd;
    return 0;
}

int lynx_block_attach(const char *name, unsigned flags, lynx_block_t **out)
{
    struct stat st;
    lynx_block_t *b = NULL;
    int fd;
    int rc;

    *out = NULL;
    fd = open_data(name, &st);
    if (fd < 0) {
        return fd;
    }
    if (!owner_plausible(&st, 1)) {
        close(fd);
        return LYNX_EOWNER;
    }
    if ((uint64_t)st.st_size < sizeof(lynx_block_header_t) ||
        (uint64_t)st.st_size > LYNX_BLOCK_MAX_BYTES) {
        close(fd);
        return LYNX_EBADSIZE;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        close(fd);
        return -ENOMEM;
    }
    b->fd = fd;
    b->mailbox_fd = -1;
    b->pidfd = -1;
    b->base = MAP_FAILED;
    b->size_bytes = (size_t)st.st_size;
    b->header = &b->hdr;
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    snprintf(b->name, sizeof(b->name), "%s", name);
    /* The header is read once, with pread (a file shrunk meanwhile is an
     * error, not a SIGBUS), and only the copy is checked and kept. */
    rc = lynx_block_pread(b, 0, &b->hdr, sizeof(b->hdr));
    if (rc != 0) {
        goto fail;
    }
    b->base = mmap(NULL, b->size_bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (b->base == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    lynx_shm_guard_add(b->base, b->size_bytes);
    rc = lynx_block_validate(&b->hdr, (uint64_t)st.st_size, b);
    if (rc != 0) {
        goto fail;
    }
    b->pidfd = open_pidfd(b);
    if (owner_matches_pid(&st, b->hdr.pid) == 0 && process_alive(b) == 0) {
        /* A live process that runs as somebody else than the owner: the
         * object claims a process that is not its maker's. */
        rc = LYNX_EOWNER;
        goto fail;
    }
    rc = attach_mailbox(b, &st);
    if (rc == LYNX_ENOTARGET && (flags & LYNX_ATTACH_ALLOW_DEAD) &&
        lynx_block_check_alive(b) == LYNX_EDEAD) {
        rc = 0; /* what a dead target left: records only, no calls */
    }
    if (rc != 0) {
        goto fail;
    }
    if (!(flags & LYNX_ATTACH_ALLOW_DEAD)) {
        rc = lynx_block_check_alive(b);
        if (rc != 0) {
            goto fail;
        }
    }
    rc = lynx_block_check_size(b);
    if (rc != 0) {
        goto fail;
    }
    *out = b;
    return 0;

fail:
    lynx_block_detach(b);
    return rc;
}

int lynx_block_version(const char *name, uint32_t *version)
{
    struct stat st;
    lynx_block_header_t h;
    const size_t len = offsetof(lynx_block_header_t, version) +
                       sizeof(h.version);
    ssize_t got;
    int fd = open_data(name, &st);

    if (fd < 0) {
        return fd;
    }
    got = pread(fd, &h, len, 0);
    close(fd);
    if (got < (ssize_t)len) {
        return LYNX_EBADSIZE;
    }
    if (h.magic != LYNX_BLOCK_MAGIC) {
        return LYNX_EBADMAGIC;
    }
    *version = h.version;
    return 0;
}

void lynx_block_detach(lynx_block_t *b)
{
    if (b == NULL) {
        return;
    }
    if (b->mailbox != NULL) {
        lynx_shm_guard_remove(b->mailbox);
        munmap(b->mailbox, sizeof(lynx_mailbox_t));
        close(b->mailbox_fd);
    }
    if (b->base != MAP_FAILED && b->base != NULL) {
        lynx_shm_guard_remove(b->base);
        munmap(b->base, b->size_bytes);
    }
    if (b->pidfd >= 0) {
        close(b->pidfd);
    }
    close(b->fd);
    free(b);
}

void *lynx_block_region_ptr(const lynx_block_t *b, uint32_t kind,
                            size_t min_bytes, size_t *size_bytes)
{
    const lynx_region_t *r = lynx_block_region(b->header, kind);

    if (r == NULL || r->size_bytes < min_bytes) {
        return NULL;
    }
    if (size_bytes != NULL) {
        *size_bytes = (size_t)r->size_bytes;
    }
    return (char *)b->base + r->offset;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

int lynx_block_list(char (*names)[LYNX_NAME_MAX], size_t max, size_t *count)
{
    DIR *d;
    struct dirent *e;
    size_t n = 0;
    size_t plen = strlen(LYNX_BLOCK_PREFIX);

    *count = 0;
    d = opendir(LYNX_SHM_DIR);
    if (d == NULL) {
        return -errno;
    }
    /* Filter before the cap.  Files too small to be a block and anything
     * but regular files are never listed.  Objects these endpoints could
     * use (ours, or carrying our group, not writable by others) come first;
     * the others (another user's block, listed so that the reason it
     * cannot be used can be told) only fill what room is left, so files
     * others make under the prefix cannot push real targets out. */
    for (int pass = 0; pass < 2 && n < max; pass++) {
        rewinddir(d);
        while ((e = readdir(d)) != NULL && n < max) {
            const char *name = e->d_name + plen;
            struct stat st;
            if (strncmp(e->d_name, LYNX_BLOCK_PREFIX, plen) != 0 ||
                !lynx_name_valid(name) ||
                fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode) ||
                (uint64_t)st.st_size < sizeof(lynx_block_header_t) ||
                owner_plausible(&st, 1) != (pass == 0)) {
                continue;
            }
            snprintf(names[n], LYNX_NAME_MAX, "%s", name);
            n++;
        }
    }
    closedir(d);
    qsort(names, n, LYNX_NAME_MAX, cmp_names);
    *count = n;
    return 0;
}
