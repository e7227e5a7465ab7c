/*
 * test_hostile.c - the control block as a trust boundary: what a member of
 * the endpoints' group (who may write the mailbox object, and only read the
 * data object), a lying or shrinking target, and another local user can do,
 * and that none of it kills the target or the endpoint.
 *
 * The real agent runs in a child process (forked before any thread
 * exists); this process plays the endpoint.  The group member is a child
 * that drops to user nobody with the group nogroup, the group the target
 * is started with (LYNXPROF_GROUP); where only the target's user could
 * write (the data object), the test writes as root to show that the agent
 * does not read back what it wrote there either.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_block.h"
#include "client/attach.h"
#include "protocol/block_threads.h"
#include "fcgi/metrics.h"
#include "client/target.h"
#include "protocol/clock.h"
#include "lynxprof-agent.h"
#include "lynxprof.h"

#define MS 1000000LL
#define SECOND 1000000000LL

#define MEMBER_GROUP "nogroup"

/* A target: a child process with the real agent under `name`, its
 * objects given to `group` when not NULL. */
static pid_t start_target(const char *name, const char *group)
{
    pid_t pid = fork();

    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (group != NULL) {
            setenv("LYNXPROF_GROUP", group, 1);
        }
        if (lynx_agent_start(name) != 0) {
            _exit(3);
        }
        for (;;) {
            pause();
        }
    }
    return pid;
}

/* Attach to the child's block once its agent answers. */
static lynx_block_t *attach_when_up(const char *name)
{
    lynx_block_t *b = NULL;

    for (int i = 0; i < 500; i++) {
        lynx_ping_reply_t ping;
        lynx_call_t call;
        if (b == NULL && lynx_block_attach(name, 0, &b) != 0) {
            b = NULL;
        }
        if (b != NULL &&
            lynx_mailbox_call(b, LYNX_CMD_PING, NULL, 0, &ping, sizeof(ping),
                              NULL, &call, SECOND) == 0) {
            return b;
        }
        usleep(10 * 1000);
    }
    lynx_block_detach(b);
    return NULL;
}

static int alive(pid_t pid)
{
    int status;

    return waitpid(pid, &status, WNOHANG) == 0;
}

/* Unlink both objects of a target. */
static void remove_objects(const char *name)
{
    char path[128];

    if (lynx_block_path(name, path, sizeof(path)) == 0) {
        unlink(path);
    }
    if (lynx_mailbox_path(name, path, sizeof(path)) == 0) {
        unlink(path);
    }
}

static void stop_target(pid_t pid, const char *name)
{
    int status;

    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    remove_objects(name);
}

/* Map an object read-write (as whoever this process runs as). */
static void *scribble_map(const char *path, size_t *size)
{
    struct stat st;
    void *p;
    int fd;

    fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
    close(fd);
    assert_true(p != MAP_FAILED);
    *size = (size_t)st.st_size;
    return p;
}

static void *region(void *base, uint32_t kind)
{
    const lynx_region_t *r = lynx_block_region(base, kind);

    assert_non_null(r);
    return (char *)base + r->offset;
}

/* A target with the real agent, attached, and its block mapped for
 * scribbling. */
typedef struct victim {
    char name[LYNX_NAME_MAX];
    char path[128];              /* the data object */
    char mailbox_path[128];
    pid_t pid;
    lynx_block_t *b;
    char *base;                  /* the data object, read-write */
    size_t size;
    lynx_mailbox_t *mb;          /* the mailbox object */
    size_t mb_size;
} victim_t;

static void victim_start(victim_t *v, const char *prefix)
{
    snprintf(v->name, sizeof(v->name), "%s", fake_name(prefix));
    lynx_block_path(v->name, v->path, sizeof(v->path));
    lynx_mailbox_path(v->name, v->mailbox_path, sizeof(v->mailbox_path));
    v->pid = start_target(v->name, MEMBER_GROUP);
    v->b = attach_when_up(v->name);
    assert_non_null(v->b);
    v->base = scribble_map(v->path, &v->size);
    v->mb = scribble_map(v->mailbox_path, &v->mb_size);
}

static void victim_stop(victim_t *v)
{
    munmap(v->base, v->size);
    munmap(v->mb, v->mb_size);
    lynx_block_detach(v->b);
    stop_target(v->pid, v->name);
}

/* ---- the agent trusts nothing the group writes ----------------------------- */

/* Reproduced before: a changed bulk offset, then a thread dump, was a
 * SIGSEGV; a huge CPU table capacity, then a CPU start, a SIGBUS; module
 * counts past the capacity, a write out of bounds. */
static void test_scribbled_geometry(void **state)
{
    victim_t v;
    lynx_block_t *b;
    lynx_block_header_t *h;
    lynx_cpu_table_t *cpu;
    lynx_modules_t *mods;
    lynx_thread_dump_reply_t dump;
    lynx_cpu_start_arg_t start;
    lynx_cpu_start_reply_t started;
    lynx_session_arg_t sarg;
    lynx_call_t call;
    void *bulk;

    (void)state;
    victim_start(&v, "hostile-geom");
    b = v.b;
    h = (lynx_block_header_t *)v.base;
    cpu = region(v.base, LYNX_REGION_CPU);
    mods = region(v.base, LYNX_REGION_MODULES);

    v.mb->nslots = 0xffffffffu;
    for (uint32_t i = 0; i < h->nregions; i++) {
        h->regions[i].offset = 1ULL << 40;
        h->regions[i].size_bytes = 1ULL << 40;
    }
    cpu->capacity = 0xffffffffu;
    atomic_store(&cpu->nstacks, 0x7fffffffu);
    mods->capacity = 0xffffffffu;
    mods->nmodules = 0x7fffffffu;

    /* The endpoint kept the geometry it validated: the call works. */
    assert_int_equal(lynx_mailbox_call(b, LYNX_CMD_THREAD_DUMP, NULL, 0,
                                       &dump, sizeof(dump), &bulk, &call,
                                       5 * SECOND), 0);
    assert_int_equal(call.result, 0);
    assert_true(dump.nthreads >= 2);
    assert_int_equal(call.bulk_len,
                     dump.nthreads * sizeof(lynx_thread_rec_t));
    free(bulk);
    assert_true(alive(v.pid));

    memset(&start, 0, sizeof(start));
    start.duration_ns = 10 * SECOND;
    start.hz = 100;
    start.origin = LYNX_ORIGIN_API;
    start.now_unix_ns = lynx_real_ns();
    assert_int_equal(lynx_mailbox_call(b, LYNX_CMD_CPU_START, &start,
                                       sizeof(start), &started,
                                       sizeof(started), NULL, &call,
                                       5 * SECOND), 0);
    assert_int_equal(call.result, 0);
    cpu->capacity = 0xffffffffu; /* again, while it samples */
    usleep(300 * 1000);
    memset(&sarg, 0, sizeof(sarg));
    memcpy(sarg.id, started.id, sizeof(sarg.id));
    assert_int_equal(lynx_mailbox_call(b, LYNX_CMD_CPU_STOP, &sarg,
                                       sizeof(sarg), NULL, 0, NULL, &call,
                                       5 * SECOND), 0);
    assert_int_equal(call.result, 0);
    assert_true(alive(v.pid));
    victim_stop(&v);
}

/* Become a member of the endpoints' group who is not the target's user:
 * nobody, with only MEMBER_GROUP.  0 or -1. */
static int become_member(void)
{
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam(MEMBER_GROUP);
    gid_t gid;

    if (pw == NULL || gr == NULL) {
        return -1;
    }
    gid = gr->gr_gid;
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        return -1;
    }
    return 0;
}

/* The group member's scribbler, in a child: the data object must refuse
 * to open for writing (exit 10 if it does not), the mailbox must open
 * (exit 11); then hz is flipped between a valid value and 0 in every slot,
 * and the argument length with it, until the child is killed. */
static pid_t start_flipper(const victim_t *v)
{
    size_t hz_off = offsetof(lynx_cpu_start_arg_t, hz);
    pid_t pid = fork();
    lynx_mailbox_t *mb;
    unsigned long flips = 0;
    int fd;

    if (pid != 0) {
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (become_member() != 0) {
        _exit(12);
    }
    fd = open(v->path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 || errno != EACCES) {
        _exit(10);
    }
    fd = open(v->mailbox_path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        _exit(11);
    }
    mb = mmap(NULL, sizeof(*mb), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mb == MAP_FAILED) {
        _exit(11);
    }
    for (;;) {
        for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
            volatile uint32_t *hz =
                (volatile uint32_t *)(mb->slots[i].arg + hz_off);
            *hz = (flips & 1) ? 0 : 100;
            if ((flips & 7) == 7) {
                *(volatile uint32_t *)&mb->slots[i].arg_len = 0xffffffffu;
            }
        }
        flips++;
    }
}

/* Reproduced before: hz checked, then divided by a fresh read: SIGFPE
 * after a few hundred starts. */
static void test_hz_flipping(void **state)
{
    victim_t v;
    lynx_block_t *b;
    pid_t flipper;
    int status;
    int started_ok = 0;

    (void)state;
    if (geteuid() != 0 || getgrnam(MEMBER_GROUP) == NULL) {
        skip();
    }
    victim_start(&v, "hostile-hz");
    b = v.b;
    flipper = start_flipper(&v);
    for (int i = 0; i < 3000 && alive(v.pid) && alive(flipper); i++) {
        lynx_cpu_start_arg_t start = {SECOND, 100, LYNX_ORIGIN_API,
                                      lynx_real_ns()};
        lynx_cpu_start_reply_t rep;
        lynx_session_arg_t sarg;
        lynx_call_t call;
        if (lynx_mailbox_call(b, LYNX_CMD_CPU_START, &start, sizeof(start),
                              &rep, sizeof(rep), NULL, &call,
                              2 * SECOND) != 0) {
            continue;
        }
        if (call.result != 0 && call.result != LYNX_ENOTREADY &&
            call.result != LYNX_ECONFLICT) {
            continue; /* the scribbled arguments were refused */
        }
        started_ok += call.result == 0;
        memset(&sarg, 0, sizeof(sarg));
        memcpy(sarg.id, rep.id, sizeof(sarg.id));
        sarg.id[sizeof(sarg.id) - 1] = '\0';
        lynx_mailbox_call(b, LYNX_CMD_CPU_STOP, &sarg, sizeof(sarg), NULL,
                          0, NULL, &call, 2 * SECOND);
        lynx_mailbox_call(b, LYNX_CMD_CPU_SPOOLED, &sarg, sizeof(sarg), NULL,
                          0, NULL, &call, 2 * SECOND);
    }
    /* Still flipping (not exited with a failed check), then stopped. */
    assert_int_equal(waitpid(flipper, &status, WNOHANG), 0);
    kill(flipper, SIGKILL);
    waitpid(flipper, &status, 0);
    print_message("# %d sessions started\n", started_ok);
    assert_true(alive(v.pid));
    assert_true(started_ok > 0);
    victim_stop(&v);
}

/* ---- a shrinking target cannot kill the endpoint ---------------------------- */

typedef struct shrinker {
    char path[128];
    int64_t at_ns;
} shrinker_t;

static void *shrink_later(void *arg)
{
    shrinker_t *s = arg;
    int fd;

    while (lynx_mono_ns() < s->at_ns) {
        usleep(1000);
    }
    fd = open(s->path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        if (ftruncate(fd, 0) != 0) {
            perror("ftruncate");
        }
        close(fd);
    }
    return NULL;
}

static void test_shrink_while_reading(void **state)
{
    char name[LYNX_NAME_MAX];
    lynx_target_t *t;
    shrinker_t s;
    pthread_t th;
    int64_t end;
    int calls = 0;
    int failed = 0;
    int last = 0;
    pid_t pid;
    lynx_block_t *probe;

    (void)state;
    snprintf(name, sizeof(name), "%s", fake_name("hostile-shrink"));
    pid = start_target(name, NULL);
    probe = attach_when_up(name);
    assert_non_null(probe);
    lynx_block_detach(probe);
    assert_int_equal(lynx_target_open(name, NULL, &t), 0);
    lynx_block_path(name, s.path, sizeof(s.path));
    s.at_ns = lynx_mono_ns() + 200 * MS;
    assert_int_equal(pthread_create(&th, NULL, shrink_later, &s), 0);
    end = lynx_mono_ns() + 1500 * MS;
    while (lynx_mono_ns() < end) {
        lynx_thread_dump_reply_t dump;
        lynx_module_t *mods = NULL;
        size_t nmods = 0;
        void *bulk = NULL;
        lynx_call_t call;
        int rc = lynx_mailbox_call(lynx_target_block(t),
                                   LYNX_CMD_THREAD_DUMP, NULL, 0, &dump,
                                   sizeof(dump), &bulk, &call, SECOND);
        free(bulk);
        int rc2 = lynx_target_modules(t, &mods, &nmods);
        free(mods);
        calls++;
        failed += rc != 0 || rc2 != 0;
        last = rc != 0 ? rc : rc2;
    }
    pthread_join(th, NULL);
    print_message("# %d calls, %d failed, last: %s\n", calls, failed,
                  lynx_strerror(last));
    /* After the shrink every answer is an error code, never a crash. */
    assert_true(failed > 0);
    assert_true(last == LYNX_EBADSIZE || last == LYNX_EDEAD ||
                last == LYNX_ESTALE || last == LYNX_ETIMEOUT);
    lynx_target_close(t);
    /* A new attach refuses what is left. */
    assert_int_not_equal(lynx_target_open(name, NULL, &t), 0);
    stop_target(pid, name);
}

/* ---- ownership and names ------------------------------------------------------ */

static uid_t nobody_uid(gid_t *gid)
{
    struct passwd *pw = getpwnam("nobody");

    if (pw == NULL) {
        return (uid_t)-1;
    }
    *gid = pw->pw_gid;
    return pw->pw_uid;
}

/* A block another user made, claiming pid 1 (which runs as root). */
static void test_foreign_owner_refused(void **state)
{
    fake_block_t fb;
    lynx_block_t *b;
    gid_t gid = 0;
    uid_t uid = nobody_uid(&gid);

    (void)state;
    if (geteuid() != 0 || uid == (uid_t)-1) {
        skip();
    }
    assert_int_equal(fake_block_create(&fb, fake_name("hostile-own"), 1), 0);
    /* World-writable: refused whoever owns it. */
    assert_int_equal(chmod(fb.path, 0666), 0);
    assert_int_equal(lynx_block_attach(fb.name, LYNX_ATTACH_ALLOW_DEAD, &b),
                     LYNX_EOWNER);
    /* Owned by nobody, in nobody's group: not ours, not our group. */
    assert_int_equal(chown(fb.path, uid, gid), 0);
    assert_int_equal(chmod(fb.path, 0640), 0);
    assert_int_equal(lynx_block_attach(fb.name, 0, &b), LYNX_EOWNER);
    /* Owned by nobody in our group, but pid 1 runs as root. */
    assert_int_equal(chown(fb.path, uid, getegid()), 0);
    assert_int_equal(lynx_block_attach(fb.name, 0, &b), LYNX_EOWNER);
    assert_string_equal(lynx_strerror(LYNX_EOWNER),
                        "control block not owned by the target's user, or "
                        "writable by others");
    fake_block_destroy(&fb);
}

static void test_symlink_refused(void **state)
{
    char path[128];
    char name[LYNX_NAME_MAX];
    lynx_block_t *b;

    (void)state;
    snprintf(name, sizeof(name), "%s", fake_name("hostile-link"));
    lynx_block_path(name, path, sizeof(path));
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_int_equal(lynx_block_attach(name, LYNX_ATTACH_ALLOW_DEAD, &b),
                     LYNX_EOWNER);
    unlink(path);
}

/* 300 empty files another user made under the prefix used to push the
 * real target out of the list (capped at 256 before filtering).  Run in a
 * child with a /dev/shm of its own, so that nobody else's listing on this
 * host sees the files.  Exit status: 0 found, 1 hidden, 2 setup failed. */
static int foreign_files_child(uid_t uid, gid_t gid)
{
    char (*names)[LYNX_NAME_MAX] = calloc(256, LYNX_NAME_MAX);
    char path[128];
    fake_block_t fb;
    size_t n = 0;
    int found = 0;

    if (names == NULL || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", LYNX_SHM_DIR, "tmpfs", 0, "mode=1777") != 0) {
        return 2;
    }
    for (int i = 0; i < 300; i++) {
        int fd;
        snprintf(path, sizeof(path), "%s/%szz%03d", LYNX_SHM_DIR,
                 LYNX_BLOCK_PREFIX, i);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || fchown(fd, uid, gid) != 0) {
            return 2;
        }
        close(fd);
    }
    if (fake_block_create(&fb, "real-target", getppid()) != 0 ||
        lynx_block_list(names, 256, &n) != 0) {
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        found |= strcmp(names[i], "real-target") == 0;
        if (strstr(names[i], "zz") != NULL) {
            return 1;
        }
    }
    return found ? 0 : 1;
}

static void test_foreign_files_do_not_hide(void **state)
{
    gid_t gid = 0;
    uid_t uid = nobody_uid(&gid);
    int status;
    pid_t pid;

    (void)state;
    if (geteuid() != 0 || uid == (uid_t)-1) {
        skip();
    }
    pid = fork();
    if (pid == 0) {
        _exit(foreign_files_child(uid, gid));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 2) {
        skip(); /* no private /dev/shm here */
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* In the child: pre-created temporary names and a foreign garbage file at
 * the name must not keep the agent from starting. */
static void test_squatted_names(void **state)
{
    char name[LYNX_NAME_MAX];
    char path[128];
    char tmp[128];
    char want[LYNX_NAME_MAX];
    int fds[2];
    gid_t gid = 0;
    uid_t uid = nobody_uid(&gid);
    pid_t pid;
    int fd;
    int status;
    char got[LYNX_NAME_MAX] = "";
    ssize_t n;

    (void)state;
    if (geteuid() != 0 || uid == (uid_t)-1) {
        skip();
    }
    snprintf(name, sizeof(name), "%s", fake_name("hostile-squat"));
    lynx_block_path(name, path, sizeof(path));
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    if (pid == 0) {
        const char *chosen;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The old predictable temporary name, and garbage at the name. */
        snprintf(tmp, sizeof(tmp), "%s/.lynxprof-new.%d", LYNX_SHM_DIR,
                 (int)getpid());
        fd = open(tmp, O_RDWR | O_CREAT | O_EXCL, 0666);
        if (fd < 0 || fchown(fd, uid, gid) != 0) {
            _exit(4);
        }
        close(fd);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0666);
        if (fd < 0 || fchown(fd, uid, gid) != 0 || write(fd, "junk", 4) != 4) {
            _exit(5);
        }
        close(fd);
        if (lynx_agent_start(name) != 0) {
            _exit(6);
        }
        chosen = lynx_agent_name();
        if (write(fds[1], chosen, strlen(chosen) + 1) < 0) {
            _exit(7);
        }
        unlink(tmp);
        for (;;) {
            pause();
        }
    }
    close(fds[1]);
    n = read(fds[0], got, sizeof(got) - 1);
    close(fds[0]);
    assert_true(n > 0);
    snprintf(want, sizeof(want), "%.50s.%d", name, (int)pid);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    unlink(path);
    remove_objects(want);
    assert_string_equal(got, want);
}

/* Blocks "<name>.<pid>" of processes that ended without cleaning up (killed,
 * or _exit() in a forked child) are removed by the next agent of that name;
 * live targets' blocks and other users' files stay. */
static void test_dead_family_swept(void **state)
{
    char name[LYNX_NAME_MAX];
    char dead[LYNX_NAME_MAX];
    char third[LYNX_NAME_MAX];
    char foreign[LYNX_NAME_MAX];
    char path[128];
    gid_t gid = 0;
    uid_t uid = nobody_uid(&gid);
    lynx_block_t *b;
    pid_t first, second, later;
    int status;
    int fd;

    (void)state;
    snprintf(name, sizeof(name), "%s", fake_name("hostile-sweep"));
    first = start_target(name, NULL);
    b = attach_when_up(name);
    assert_non_null(b);
    lynx_block_detach(b);
    second = start_target(name, NULL);
    snprintf(dead, sizeof(dead), "%.50s.%d", name, (int)second);
    b = attach_when_up(dead);
    assert_non_null(b);
    lynx_block_detach(b);
    kill(second, SIGKILL);
    waitpid(second, &status, 0);
    lynx_block_path(dead, path, sizeof(path));
    assert_int_equal(access(path, F_OK), 0);
    /* Somebody else's file in the family's form. */
    snprintf(foreign, sizeof(foreign), "%.50s.%d", name, 999999);
    if (geteuid() == 0 && uid != (uid_t)-1) {
        lynx_block_path(foreign, path, sizeof(path));
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        assert_int_equal(fchown(fd, uid, gid), 0);
        assert_int_equal(write(fd, "junk", 4), 4);
        close(fd);
    }

    later = start_target(name, NULL);
    snprintf(third, sizeof(third), "%.50s.%d", name, (int)later);
    b = attach_when_up(third); /* answering: its sweep has run */
    assert_non_null(b);
    lynx_block_detach(b);

    lynx_block_path(dead, path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    lynx_mailbox_path(dead, path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    lynx_block_path(name, path, sizeof(path));
    assert_int_equal(access(path, F_OK), 0);
    if (geteuid() == 0 && uid != (uid_t)-1) {
        lynx_block_path(foreign, path, sizeof(path));
        assert_int_equal(access(path, F_OK), 0);
        unlink(path);
    }
    stop_target(later, third);
    stop_target(first, name);
}

/* LYNXPROF_BULK_BYTES beyond its range: the default is used, and said. */
static void test_bulk_bytes_range(void **state)
{
    char name[LYNX_NAME_MAX];
    char err[512] = "";
    int fds[2];
    lynx_block_t *b;
    size_t got = 0;
    pid_t pid;

    (void)state;
    snprintf(name, sizeof(name), "%s", fake_name("hostile-bulk"));
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        setenv("LYNXPROF_BULK_BYTES", "1073741824", 1);
        setenv("LYNXPROF_DEBUG", "1", 1);
        if (lynx_agent_start(name) != 0) {
            _exit(3);
        }
        close(2);
        for (;;) {
            pause();
        }
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], err + got, sizeof(err) - 1 - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fds[0]);
    assert_non_null(strstr(err, "ignoring LYNXPROF_BULK_BYTES=1073741824"));
    b = attach_when_up(name);
    assert_non_null(b);
    assert_int_equal(b->bulk_size_bytes, 16u << 20);
    lynx_block_detach(b);
    stop_target(pid, name);
}

/* ---- deadlines ------------------------------------------------------------------ */

static int answer(void *ctx, uint32_t command, const void *arg,
                  size_t arg_len, void *reply, size_t *reply_len)
{
    (void)ctx;
    (void)arg;
    (void)arg_len;
    if (command == LYNX_CMD_MEMSTATS) {
        memset(reply, 0, sizeof(lynx_memstats_t));
        *reply_len = sizeof(lynx_memstats_t);
        return 0;
    }
    return LYNX_EUNSUPPORTED;
}

/* 1 if the exposition has `metric{target="name"} value`. */
static int has_sample(const char *text, const char *metric, const char *name,
                      int value)
{
    char line[256];

    snprintf(line, sizeof(line), "%s{target=\"%s\"} %d\n", metric, name,
             value);
    return strstr(text, line) != NULL;
}

/* One target beats but never answers: /metrics still lists the others and
 * reports that one as timed out (asked once, not four times). */
static void test_metrics_hung_target(void **state)
{
    fake_block_t good;
    fake_block_t hung;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(fake_block_create(&good, fake_name("hostile-good"),
                                       getpid()), 0);
    assert_int_equal(fake_block_create(&hung, fake_name("hostile-hung"),
                                       getpid()), 0);
    assert_int_equal(fake_agent_start(&good, answer, NULL), 0);
    assert_int_equal(lynx_metrics_text(300 * MS, &text, &len), 0);
    assert_true(has_sample(text, "lynxprof_target_up", good.name, 1));
    assert_true(has_sample(text, "lynxprof_target_timed_out", good.name, 0));
    assert_true(has_sample(text, "lynxprof_target_up", hung.name, 0));
    assert_true(has_sample(text, "lynxprof_target_timed_out", hung.name, 1));
    /* Asked once: one command went into its mailbox, not four (a slot
     * given up stays ABANDONED with no agent to free it, so a second
     * command would have taken another slot). */
    {
        unsigned asked = 0;
        for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
            asked += hung.mailbox->slots[i].seq != 0;
        }
        assert_int_equal(asked, 1);
    }
    free(text);
    fake_agent_stop(&good);
    fake_block_destroy(&good);
    fake_block_destroy(&hung);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scribbled_geometry),
        cmocka_unit_test(test_hz_flipping),
        cmocka_unit_test(test_shrink_while_reading),
        cmocka_unit_test(test_foreign_owner_refused),
        cmocka_unit_test(test_symlink_refused),
        cmocka_unit_test(test_foreign_files_do_not_hide),
        cmocka_unit_test(test_squatted_names),
        cmocka_unit_test(test_dead_family_swept),
        cmocka_unit_test(test_bulk_bytes_range),
        cmocka_unit_test(test_metrics_hung_target),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
