/*
 * agent/memstats.c - memory statistics of the process the agent lives in.
 *
 * Runs on the agent thread when an endpoint asks (about once a second while
 * the web page is open): mallinfo2() walks glibc's arenas under their locks,
 * and three small /proc files are read.  Not for signal handlers.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/internal.h"
#include "protocol/clock.h"

/* Read a small /proc file into buf; 0 or -errno. */
static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    int saved;

    if (fd < 0) {
        return -errno;
    }
    n = read(fd, buf, size - 1);
    saved = errno;
    close(fd);
    if (n < 0) {
        return -saved;
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
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int64_t n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1; /* the directory's own descriptor */
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

    if (read_small("/proc/self/status", buf, sizeof(buf)) == 0) {
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
    if (read_small("/proc/self/stat", buf, sizeof(buf)) == 0 && tick > 0) {
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
