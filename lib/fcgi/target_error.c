/*
 * fcgi/target_error.c - actionable messages for targets that cannot be
 * reached (see fcgi/target_error.h).
 *
 * Runs only on an error path, so it may take its time: it walks the
 * targets (client/target.h), stats a control block, reads its version and
 * scans /proc.
 * Whatever it cannot find out is left out of the message, never guessed.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/target.h"
#include "fcgi/endpoint.h"
#include "fcgi/target_error.h"

#ifndef LYNX_AGENT_PATH
#define LYNX_AGENT_PATH "libprofile-agent.so"
#endif
#define NAMES_SHOWN 8        /* target names listed in one message */
#define COMM_MAX 15          /* bytes of /proc/PID/comm without NUL */

typedef struct msg {
    char *buf;
    size_t size;
    size_t len;
} msg_t;

static void put(msg_t *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append to the message, cutting it at the buffer's end. */
static void put(msg_t *m, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (m->len + 1 >= m->size) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(m->buf + m->len, m->size - m->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        m->len += (size_t)n < m->size - m->len ? (size_t)n
                                               : m->size - m->len - 1;
    }
}

static void user_name(uid_t uid, char *buf, size_t size)
{
    struct passwd pw;
    struct passwd *found = NULL;
    char tmp[4096];

    if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &found) == 0 &&
        found != NULL) {
        snprintf(buf, size, "%s", pw.pw_name);
    } else {
        snprintf(buf, size, "%u", (unsigned)uid);
    }
}

static void group_name(gid_t gid, char *buf, size_t size)
{
    struct group gr;
    struct group *found = NULL;
    char tmp[4096];

    if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &found) == 0 &&
        found != NULL) {
        snprintf(buf, size, "%s", gr.gr_name);
    } else {
        snprintf(buf, size, "%u", (unsigned)gid);
    }
}

void lynx_own_group_name(char *buf, size_t size)
{
    group_name(getegid(), buf, size);
}

/* How to start a program with the agent, for these endpoints. */
static void put_how_to_start(msg_t *m, const char *name)
{
    char grp[64];

    lynx_own_group_name(grp, sizeof(grp));
    put(m, "LD_PRELOAD=%s", LYNX_AGENT_PATH);
    if (name != NULL) {
        put(m, " LYNXPROF_NAME=%s", name);
    }
    put(m, " LYNXPROF_GROUP=%s", grp);
}

typedef struct names_ctx {
    msg_t *m;        /* NULL: only count */
    int live;
} names_ctx_t;

static int put_live_name(lynx_target_t *t, const char *name, int status,
                         void *arg)
{
    names_ctx_t *nc = arg;

    (void)t;
    (void)status;
    if (nc->m != NULL && nc->live < NAMES_SHOWN) {
        put(nc->m, "%s%s", nc->live > 0 ? ", " : "", name);
    } else if (nc->m != NULL && nc->live == NAMES_SHOWN) {
        put(nc->m, ", ...");
    }
    nc->live++;
    return 0;
}

/* Append the live targets' names, ", "-separated (m may be NULL: only
 * count them); returns how many there are, or a negative code when they
 * cannot be listed. */
static int put_live_names(msg_t *m)
{
    names_ctx_t nc = {m, 0};
    int rc = lynx_target_foreach(LYNX_VISIT_LIVE, put_live_name, &nc);

    return rc != 0 ? rc : nc.live;
}

/* The pid the block of target `name` names, dead or alive, or 0 when it
 * cannot be attached. */
static int target_pid(const char *name)
{
    lynx_target_t *t;
    int pid;

    if (lynx_target_attach(name, LYNX_ATTACH_ALLOW_DEAD, &t) != 0) {
        return 0;
    }
    pid = lynx_target_pid(t);
    lynx_target_close(t);
    return pid;
}

static int has_pid(lynx_target_t *t, const char *name, int status,
                   void *arg)
{
    (void)name;
    (void)status;
    return lynx_target_pid(t) == *(const int *)arg;
}

/* 1 if pid is the process of a control block these endpoints can read. */
static int is_target_pid(int pid)
{
    return lynx_target_foreach(LYNX_VISIT_ATTACHED, has_pid, &pid) == 1;
}

/* Append ", "-separated the pids of the processes whose command name
 * (/proc/PID/comm, 15 bytes at most) is `name` cut the same way and that
 * are not known targets (at most NAMES_SHOWN); returns how many. */
static int put_processes_named(msg_t *m, const char *name)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;

    if (d == NULL) {
        return 0;
    }
    while (found < NAMES_SHOWN && (e = readdir(d)) != NULL) {
        char path[300];
        char comm[COMM_MAX + 2] = "";
        FILE *f;
        size_t n;

        if (!isdigit((unsigned char)e->d_name[0])) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
        f = fopen(path, "re");
        if (f == NULL) {
            continue;
        }
        n = fread(comm, 1, sizeof(comm) - 1, f);
        fclose(f);
        comm[n] = '\0';
        comm[strcspn(comm, "\n")] = '\0';
        if (comm[0] != '\0' && strncmp(comm, name, COMM_MAX) == 0 &&
            strlen(comm) == (strlen(name) < COMM_MAX ? strlen(name)
                                                     : COMM_MAX) &&
            !is_target_pid(atoi(e->d_name))) {
            put(m, "%s%s", found > 0 ? ", " : "", e->d_name);
            found++;
        }
    }
    closedir(d);
    return found;
}

/* The state letter of /proc/PID/stat ('T' stopped, ...), or 0. */
static char process_state(int pid)
{
    char path[64];
    char line[512];
    FILE *f;
    char *paren;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "re");
    if (f == NULL) {
        return 0;
    }
    n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name may hold spaces and parentheses: the state follows
     * the last ')'. */
    paren = strrchr(line, ')');
    if (paren == NULL || paren[1] != ' ') {
        return 0;
    }
    return paren[2];
}

static void explain_perm(msg_t *m, const char *name)
{
    char path[128];
    char owner[64];
    char group[64];
    char grp[64];
    struct stat st;

    lynx_own_group_name(grp, sizeof(grp));
    put(m, "permission denied on the control block of target '%s'", name);
    if (lynx_block_path(name, path, sizeof(path)) == 0 &&
        stat(path, &st) == 0) {
        user_name(st.st_uid, owner, sizeof(owner));
        group_name(st.st_gid, group, sizeof(group));
        put(m, " (%s: owner %s, group %s, mode %04o)", path, owner, group,
            (unsigned)(st.st_mode & 07777));
    }
    put(m, "; the endpoints run as group '%s': start the target with "
        "LYNXPROF_GROUP=%s", grp, grp);
}

static void explain_unknown(msg_t *m, const char *name, int configured)
{
    size_t mark;
    int nproc;

    put(m, "unknown target '%s'%s", name,
        configured ? " (LYNXPROF_TARGET)" : "");
    /* A process of that name without a block of that name was most
     * likely started without the agent (or the agent took another
     * LYNXPROF_NAME, which these endpoints cannot tell when they may not
     * read its block). */
    mark = m->len;
    put(m, "; a program called '%s' runs without a lynxprof agent of that "
        "name (pid ", name);
    nproc = put_processes_named(m, name);
    if (nproc == 0) {
        m->len = mark;
        m->buf[mark] = '\0';
    } else {
        put(m, "): restart it with ");
        put_how_to_start(m, name);
    }
    if (put_live_names(NULL) > 0) {
        put(m, "; running targets: ");
        put_live_names(m);
    } else if (nproc == 0) {
        put(m, "; no target is running: start the program to profile with ");
        put_how_to_start(m, name);
    }
}

static void explain_dead(msg_t *m, const char *name)
{
    int pid = target_pid(name);
    char path[128];

    put(m, "target '%s': target process has exited", name);
    if (pid > 0) {
        put(m, " (pid %d)", pid);
    }
    if (lynx_block_path(name, path, sizeof(path)) == 0) {
        put(m, "; %s is what it left: start the program again with the "
            "agent, or remove that file", path);
    }
}

static void explain_stale(msg_t *m, const char *name)
{
    int pid = target_pid(name);
    char state;

    put(m, "target '%s': agent is not responding (stale heartbeat)", name);
    if (pid <= 0) {
        return;
    }
    state = process_state(pid);
    if (state == 'T' || state == 't') {
        put(m, "; process %d is stopped (a signal or a debugger): resume "
            "it with kill -CONT %d", pid, pid);
    } else if (state != 0) {
        put(m, "; process %d (state %c) has not let its agent thread run "
            "for seconds: it is hung or starved of CPU", pid, state);
    }
}

static void explain_version(msg_t *m, const char *name)
{
    uint32_t v = 0;

    put(m, "target '%s': incompatible agent", name);
    if (lynx_block_version(name, &v) == 0 && v != LYNX_BLOCK_VERSION) {
        put(m, ": its control block has layout version %u and these "
            "endpoints read version %u (the agent is %s than the "
            "endpoints)", (unsigned)v, (unsigned)LYNX_BLOCK_VERSION,
            v < LYNX_BLOCK_VERSION ? "older" : "newer");
    }
    put(m, "; restart the target with the agent of the endpoints' "
        "release, LD_PRELOAD=%s", LYNX_AGENT_PATH);
}

typedef struct unusable_ctx {
    msg_t *m;
    int shown;
} unusable_ctx_t;

/* A block that exists but cannot be used is the likely mistake; an exited
 * target's leftover block is not.  Two are explained at most. */
static int put_unusable(lynx_target_t *t, const char *name, int status,
                        void *arg)
{
    unusable_ctx_t *u = arg;
    char why[LYNX_TARGET_ERROR_MAX];

    (void)t;
    if (status == 0 || status == LYNX_EDEAD) {
        return 0;
    }
    lynx_target_error_explain(status, name, 0, why, sizeof(why));
    put(u->m, "%s%s", u->shown > 0 ? "; " : "", why);
    u->shown++;
    return u->shown < 2 ? 0 : 1;
}

/* No target named and none usable: say why the blocks there are (a target
 * started without LYNXPROF_GROUP is not "live" to these endpoints). */
static void explain_none(msg_t *m)
{
    unusable_ctx_t u = {m, 0};

    put(m, "%s: ", lynx_strerror(LYNX_ENOTARGET));
    lynx_target_foreach(LYNX_VISIT_ALL, put_unusable, &u);
    if (u.shown == 0) {
        put(m, "no process with the lynxprof agent runs on this host; "
            "start the program to profile with ");
        put_how_to_start(m, NULL);
    }
}

int lynx_target_error_explain(int code, const char *name, int configured,
                              char *buf, size_t size)
{
    msg_t m = {buf, size, 0};
    int named = name != NULL && *name != '\0';

    if (size == 0) {
        return lynx_code_status(code);
    }
    buf[0] = '\0';
    switch (code) {
    case LYNX_EPERM:
        if (named) {
            explain_perm(&m, name);
            return 503;
        }
        break;
    case LYNX_ENOTARGET:
        if (named) {
            explain_unknown(&m, name, configured);
            return 404;
        }
        explain_none(&m);
        return 503;
    case LYNX_EAMBIGUOUS:
        put(&m, "%s: ", lynx_strerror(code));
        put_live_names(&m);
        return 400;
    case LYNX_EDEAD:
        if (named) {
            explain_dead(&m, name);
            return 503;
        }
        break;
    case LYNX_ESTALE:
        if (named) {
            explain_stale(&m, name);
            return 503;
        }
        break;
    case LYNX_EVERSION:
        if (named) {
            explain_version(&m, name);
            return 503;
        }
        break;
    default:
        break;
    }
    if (named) {
        put(&m, "target '%s': %s", name, lynx_strerror(code));
    } else {
        put(&m, "%s", lynx_strerror(code));
    }
    return lynx_code_status(code);
}
