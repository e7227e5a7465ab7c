/*
 * protocol/names.c - names of targets and of their shared objects, and the
 * /proc facts both sides check a target by (start time, state).  Used by
 * the agent (it creates the objects) and by the client library (it
 * attaches to them, client/attach.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lynxprof.h"
#include "protocol/names.h"

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

int lynx_mailbox_path(const char *name, char *buf, size_t size)
{
    int n;

    if (!lynx_name_valid(name)) {
        return LYNX_EBADNAME;
    }
    n = snprintf(buf, size, "%s/%s%s", LYNX_SHM_DIR, LYNX_MAILBOX_PREFIX,
                 name);
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

