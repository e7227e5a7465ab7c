/*
 * lynx_block.c - naming, validation and attaching of control blocks, used by
 * both sides (the agent creates blocks in agent_block.c; endpoints attach
 * here).
 *
 * Workload: an endpoint attaches once per request, so attach is one open,
 * one fstat, one mmap and a few reads of /proc; a listing scans /dev/shm.
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
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lynx_block.h"
#include "lynx_block_io.h"
#include "lynxprof.h"
#include "lynx_time.h"

int lynx_name_valid(const char *name)
{
    size_t n;

    if (name == NULL || name[0] == '\0' || name[0] == '.') {
        return 0;
    }
    n = strlen(name);
    if (n >= LYNX_NAME_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

void lynx_name_sanitize(const char *in, char out[LYNX_NAME_MAX])
{
    size_t n = 0;

    for (; in != NULL && in[n] != '\0' && n < LYNX_NAME_MAX - 1; n++) {
        unsigned char c = (unsigned char)in[n];
        int ok = isalnum(c) || c == '.' || c == '_' || c == '-';
        out[n] = ok ? (char)c : '_';
    }
    out[n] = '\0';
    if (n == 0) {
        snprintf(out, LYNX_NAME_MAX, "%s", "process");
    } else if (out[0] == '.') {
        out[0] = '_';
    }
}

int lynx_block_path(const char *name, char *buf, size_t size)
{
    int n;

    if (!lynx_name_valid(name)) {
        return LYNX_EBADNAME;
    }
    n = snprintf(buf, size, "%s/%s%s", LYNX_SHM_DIR, LYNX_BLOCK_PREFIX, name);
    if (n < 0 || (size_t)n >= size) {
        return -ENAMETOOLONG;
    }
    return 0;
}

int lynx_proc_stat(int pid, uint64_t *start_ticks, char *state)
{
    char path[64];
    char buf[1024];
    ssize_t len;
    int fd;
    int saved;
    const char *p;
    unsigned long long ticks = 0;
    char st = '?';

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        saved = errno;
        return saved == ENOENT ? -ESRCH : -saved;
    }
    len = read(fd, buf, sizeof(buf) - 1);
    saved = errno;
    close(fd);
    if (len <= 0) {
        return len < 0 ? -saved : -EIO;
    }
    buf[len] = '\0';
    /* The command name may contain anything, even ')': fields follow the
     * last ')'.  After it: state, then fields 4..; starttime is field 22. */
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                   "%*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                            &st, &ticks) != 2) {
        return -EIO;
    }
    if (start_ticks != NULL) {
        *start_ticks = ticks;
    }
    if (state != NULL) {
        *state = st;
    }
    return 0;
}

int lynx_pid_alive(int pid, uint64_t start_ticks)
{
    uint64_t ticks;
    char state;
    int rc;

    if (pid <= 0) {
        return LYNX_EDEAD;
    }
    if (kill(pid, 0) != 0 && errno == ESRCH) {
        return LYNX_EDEAD;
    }
    rc = lynx_proc_stat(pid, &ticks, &state);
    if (rc == -ESRCH) {
        return LYNX_EDEAD;
    }
    if (rc != 0) {
        /* /proc hidden from us: kill() said it exists, trust that. */
        return 0;
    }
    /* A zombie is dead for us; a different start time is a reused pid. */
    if (state == 'Z' || state == 'X' || ticks != start_ticks) {
        return LYNX_EDEAD;
    }
    return 0;
}

int lynx_block_validate(const void *base, uint64_t size)
{
    const lynx_block_header_t *h = base;
    int have_mailbox = 0;

    if (size < sizeof(*h)) {
        return LYNX_EBADSIZE;
    }

    if (atomic_load_explicit(&h->magic, memory_order_acquire) !=
        LYNX_BLOCK_MAGIC) {
        return LYNX_EBADMAGIC;
    }
    if (h->version != LYNX_BLOCK_VERSION) {
        return LYNX_EVERSION;
    }
    if (h->header_size_bytes != sizeof(lynx_block_header_t) ||
        h->total_size_bytes != size || h->nregions > LYNX_MAX_REGIONS) {
        return LYNX_EBADSIZE;
    }
    for (uint32_t i = 0; i < h->nregions; i++) {
        const lynx_region_t *r = &h->regions[i];
        if (r->offset < sizeof(*h) || r->offset % 64 != 0 ||
            r->size_bytes > size || r->offset > size - r->size_bytes) {
            return LYNX_EBADSIZE;
        }
        if (r->kind == LYNX_REGION_MAILBOX) {
            const lynx_mailbox_t *mb;
            if (r->size_bytes < sizeof(lynx_mailbox_t)) {
                return LYNX_EBADSIZE;
            }
            mb = (const lynx_mailbox_t *)((const char *)h + r->offset);
            if (mb->nslots != LYNX_MAILBOX_SLOTS ||
                mb->bulk_size_bytes > size ||
                mb->bulk_offset > size ||
                mb->bulk_size_bytes * LYNX_MAILBOX_SLOTS >
                    size - mb->bulk_offset) {
                return LYNX_EBADSIZE;
            }
            have_mailbox = 1;
        }
    }
    if (!have_mailbox || memchr(h->name, '\0', sizeof(h->name)) == NULL) {
        return LYNX_EBADSIZE;
    }
    return 0;
}

int lynx_block_check_alive(const lynx_block_t *b)
{
    const lynx_block_header_t *h = b->header;
    int64_t age;

    if (atomic_load(&h->agent_state) == LYNX_AGENT_STOPPED) {
        return LYNX_EDEAD;
    }
    if (lynx_pid_alive(h->pid, h->start_ticks) != 0) {
        return LYNX_EDEAD;
    }
    age = lynx_mono_ns() - atomic_load(&h->heartbeat_ns);
    if (age > LYNX_STALE_NS) {
        return LYNX_ESTALE;
    }
    return 0;
}

int lynx_block_attach(const char *name, unsigned flags, lynx_block_t **out)
{
    char path[128];
    struct stat st;
    lynx_block_t *b = NULL;
    void *base = MAP_FAILED;
    int fd = -1;
    int rc;

    *out = NULL;
    rc = lynx_block_path(name, path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int saved = errno;
        if (saved == ENOENT) {
            return LYNX_ENOTARGET;
        }
        return (saved == EACCES || saved == EPERM) ? LYNX_EPERM : -saved;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = LYNX_EBADSIZE;
        goto fail;
    }
    if ((uint64_t)st.st_size < sizeof(lynx_block_header_t) ||
        (uint64_t)st.st_size > LYNX_BLOCK_MAX_BYTES) {
        rc = LYNX_EBADSIZE;
        goto fail;
    }
    base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                fd, 0);
    if (base == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    rc = lynx_block_validate(base, (uint64_t)st.st_size);
    if (rc != 0) {
        goto fail;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    b->base = base;
    b->size_bytes = (size_t)st.st_size;
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    b->header = base;
    b->mailbox = (lynx_mailbox_t *)((char *)base +
                  lynx_block_region(b->header, LYNX_REGION_MAILBOX)->offset);
    snprintf(b->name, sizeof(b->name), "%s", name);
    if (!(flags & LYNX_ATTACH_ALLOW_DEAD)) {
        rc = lynx_block_check_alive(b);
        if (rc != 0) {
            goto fail;
        }
    }
    close(fd);
    *out = b;
    return 0;

fail:
    free(b);
    if (base != MAP_FAILED) {
        munmap(base, (size_t)st.st_size);
    }
    close(fd);
    return rc;
}

void lynx_block_detach(lynx_block_t *b)
{
    if (b == NULL) {
        return;
    }
    munmap(b->base, b->size_bytes);
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
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name + plen;
        if (strncmp(e->d_name, LYNX_BLOCK_PREFIX, plen) != 0 ||
            !lynx_name_valid(name)) {
            continue;
        }
        if (n < max) {
            snprintf(names[n], LYNX_NAME_MAX, "%s", name);
        }
        n++;
    }
    closedir(d);
    if (n > max) {
        n = max;
    }
    qsort(names, n, LYNX_NAME_MAX, cmp_names);
    *count = n;
    return 0;
}
