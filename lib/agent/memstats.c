/*
 * agent/memstats.c - memory statistics of the process the agent lives in.
 *
 * Runs on the agent thread when an endpoint asks, and while endpoints keep
 * asking, for the snapshot (agent/memsnap.c) about once a second:
 * mallinfo2() walks glibc's arenas under their locks, and two small /proc
 * files and the /proc/self/fd directory are read.  The three are opened at
 * the first call and kept open (pread at offset 0 has the kernel render a
 * file afresh): a path walk through procfs per file and call is most of
 * what reading them costs.  Not for signal handlers.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/internal.h"
#include "protocol/clock.h"

/* A /proc file kept open between calls (agent thread only).  The
 * descriptor is used only while it is still the file opened for this
 * process: a program may close descriptors it does not know and reuse the
 * number, or dup2() over it, and a forked child inherits the parent's,
 * which describe the parent.  Each use checks the pid and (fstat) the
 * device and inode, and opens the file again when they changed. */
typedef struct proc_file {
    const char *path;
    int flags;       /* open() flags besides O_RDONLY | O_CLOEXEC */
    int fd;          /* -1: not open */
    DIR *dir;        /* for a directory: the stream over fd */
    pid_t pid;       /* the process it was opened in */
    dev_t dev;
    ino_t ino;
} proc_file_t;

enum { PF_STATUS, PF_STAT, PF_FDS, PF_COUNT };

static proc_file_t files[PF_COUNT] = {
    {"/proc/self/status", 0, -1, NULL, 0, 0, 0},
    {"/proc/self/stat", 0, -1, NULL, 0, 0, 0},
    {"/proc/self/fd", O_DIRECTORY, -1, NULL, 0, 0, 0},
};

/* 1 if f->fd is still the file we opened in this process. */
static int still_ours(const proc_file_t *f)
{
    struct stat st;

    return f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_dev == f->dev &&
           st.st_ino == f->ino;
}

/* Close f if its descriptor is still the file we opened (also one
 * inherited from the parent, which describes the parent); a number the
 * program took over is not ours to close. */
static void forget(proc_file_t *f)
{
    if (still_ours(f)) {
        if (f->dir != NULL) {
            closedir(f->dir);
        } else {
            close(f->fd);
        }
    }
    f->fd = -1;
    f->dir = NULL;
}

/* Descriptor of f for this process, opened if need be; -errno. */
static int proc_fd(proc_file_t *f)
{
    pid_t pid = getpid();
    struct stat st;
    int fd;

    if (f->fd >= 0 && f->pid == pid && still_ours(f)) {
        return f->fd;
    }
    forget(f);
    fd = open(f->path, O_RDONLY | O_CLOEXEC | f->flags);
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    if (f->flags & O_DIRECTORY) {
        f->dir = fdopendir(fd);
        if (f->dir == NULL) {
            int saved = errno;
            close(fd);
            return -saved;
        }
    }
    f->fd = fd;
    f->pid = pid;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    return fd;
}

void lynx_agent_memstats_close(void)
{
    for (int i = 0; i < PF_COUNT; i++) {
        forget(&files[i]);
    }
}

/* Descriptors kept open here, counted in /proc/self/fd. */
static int64_t kept_fds(void)
{
    int64_t n = 0;

    for (int i = 0; i < PF_COUNT; i++) {
        n += files[i].fd >= 0;
    }
    return n;
}

/* Read a small /proc file into buf; 0 or -errno. */
static int read_small(proc_file_t *f, char *buf, size_t size)
{
    int fd = proc_fd(f);
    ssize_t n;

    if (fd < 0) {
        return fd;
    }
    do {
        n = pread(fd, buf, size - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    buf[n] = '\0';
    return 0;
}

/* Value of "Key:  123 kB" in /proc/self/status, in bytes, or -1. */
static int64_t status_kb(const char *status, const char *key)
{
    size_t klen = strlen(key);
    const char *p = status;
    long long kb;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            if (sscanf(p + klen + 1, " %lld", &kb) == 1) {
                return kb * 1024;
            }
            return -1;
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return -1;
}

static int64_t status_count(const char *status, const char *key)
{
    /* The same format without the unit. */
    int64_t v = status_kb(status, key);
    return v < 0 ? -1 : v / 1024;
}

static int64_t count_fds(void)
{
    struct dirent *e;
    int64_t n = 0;

    if (proc_fd(&files[PF_FDS]) < 0) {
        return -1;
    }
    rewinddir(files[PF_FDS].dir);
    while ((e = readdir(files[PF_FDS].dir)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    return n - kept_fds(); /* the program's, not ours */
}

int lynx_agent_memstats(lynx_memstats_t *ms, int64_t process_start_unix_ns)
{
    char buf[4096];
    struct mallinfo2 mi;
    long tick = sysconf(_SC_CLK_TCK);

    memset(ms, 0, sizeof(*ms));
    ms->sampled_unix_ns = lynx_real_ns();
    ms->uptime_ns = ms->sampled_unix_ns - process_start_unix_ns;
    ms->pid = getpid();

    mi = mallinfo2();
    ms->heap_in_use_bytes = (int64_t)(mi.uordblks + mi.hblkhd);
    ms->heap_free_bytes = (int64_t)mi.fordblks;
    ms->heap_arena_bytes = (int64_t)mi.arena;
    ms->heap_mmap_bytes = (int64_t)mi.hblkhd;
    ms->heap_mmap_chunks = (int64_t)mi.hblks;
    ms->heap_free_chunks = (int64_t)mi.ordblks;
    ms->heap_releasable_bytes = (int64_t)mi.keepcost;

    if (read_small(&files[PF_STATUS], buf, sizeof(buf)) == 0) {
        ms->resident_bytes = status_kb(buf, "VmRSS");
        ms->resident_peak_bytes = status_kb(buf, "VmHWM");
        ms->resident_anon_bytes = status_kb(buf, "RssAnon");
        ms->resident_file_bytes = status_kb(buf, "RssFile");
        ms->virtual_bytes = status_kb(buf, "VmSize");
        ms->virtual_peak_bytes = status_kb(buf, "VmPeak");
        ms->data_bytes = status_kb(buf, "VmData");
        ms->stack_bytes = status_kb(buf, "VmStk");
        ms->swap_bytes = status_kb(buf, "VmSwap");
        ms->threads = (int32_t)status_count(buf, "Threads");
    } else {
        ms->resident_bytes = ms->resident_peak_bytes = -1;
        ms->resident_anon_bytes = ms->resident_file_bytes = -1;
        ms->virtual_bytes = ms->virtual_peak_bytes = -1;
        ms->data_bytes = ms->stack_bytes = ms->swap_bytes = -1;
        ms->threads = -1;
    }

    ms->cpu_user_ns = ms->cpu_system_ns = -1;
    ms->minor_faults = ms->major_faults = -1;
    if (read_small(&files[PF_STAT], buf, sizeof(buf)) == 0 && tick > 0) {
        const char *p = strrchr(buf, ')');
        unsigned long long minflt, majflt, utime, stime;
        if (p != NULL &&
            sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %llu %*u %llu %*u "
                          "%llu %llu", &minflt, &majflt, &utime, &stime) == 4) {
            ms->minor_faults = (int64_t)minflt;
            ms->major_faults = (int64_t)majflt;
            ms->cpu_user_ns = (int64_t)(utime * (1000000000ULL / tick));
            ms->cpu_system_ns = (int64_t)(stime * (1000000000ULL / tick));
        }
    }
    ms->open_fds = count_fds();
    ms->alloc_count = ms->free_count = ms->alloc_bytes_total = -1;
    ms->live_bytes = ms->live_objects = -1;
    lynx_agent_heap_memstats(ms);
    return 0;
}
