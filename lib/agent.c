/*
 * agent.c - the agent's life inside the target: creating the control block,
 * the agent thread that beats the heartbeat and answers the mailbox, and what
 * happens at fork() and exit.
 *
 * Workload: the agent thread sleeps on the doorbell futex and wakes every
 * heartbeat period (200 ms) or when a command arrives; commands are rare
 * (a few per second at most).  It must not change the target's behaviour:
 * it blocks every signal (so process-directed signals go to the program's own
 * threads), prints nothing unless LYNXPROF_DEBUG=1, opens descriptors only
 * with O_CLOEXEC and closes them at once, and a forked child leaves the
 * parent's block alone.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_fork.h"
#include "agent_internal.h"
#include "agent_locks.h"
#include "agent_threaddump.h"
#include "lynx_block_io.h"
#include "lynxprof.h"
#include "lynx_time.h"
#include "lynxprof-agent.h"

#define EXPORT __attribute__((visibility("default")))

#define HEADER_BYTES 4096u
#define PAGE_ROUND(x) (((x) + 4095u) & ~(uint64_t)4095u)
#define DEFAULT_BULK_BYTES (16u << 20) /* per mailbox slot; sparse */
#define DEFAULT_CPU_STACKS 32768u      /* distinct stacks per CPU profile */

/* All agent state.  `lock` guards start/stop (taken by the program's
 * threads only, never by the agent thread or a signal handler). */
static struct {
    pthread_mutex_t lock;
    int running;
    int atfork_done;
    pthread_t thread;
    _Atomic int stop;
    pid_t pid;             /* the process that created the block */
    lynx_block_header_t *header;
    lynx_mailbox_t *mailbox;
    size_t size_bytes;
    char name[LYNX_NAME_MAX];
    char path[128];
    int debug;
    uint8_t bulk_dirty[LYNX_MAILBOX_SLOTS]; /* agent thread only */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void debug_log(const char *fmt, ...)
{
    va_list ap;

    if (!g.debug) {
        return;
    }
    va_start(ap, fmt);
    fputs("lynxprof-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- commands ---------------------------------------------------------- */

static int cmd_ping(const void *arg, size_t arg_len, lynx_reply_t *r)
{
    lynx_ping_reply_t *p = r->inline_buf;

    (void)arg;
    (void)arg_len;
    p->pid = getpid();
    p->version = LYNX_BLOCK_VERSION;
    p->now_unix_ns = lynx_real_ns();
    r->inline_len = sizeof(*p);
    return 0;
}

static int cmd_memstats(const void *arg, size_t arg_len, lynx_reply_t *r)
{
    (void)arg;
    (void)arg_len;
    r->inline_len = sizeof(lynx_memstats_t);
    return lynx_agent_memstats(r->inline_buf, g.header->started_unix_ns);
}

static const struct {
    uint32_t command;
    lynx_command_cb handler;
} commands[] = {
    {LYNX_CMD_PING, cmd_ping},
    {LYNX_CMD_MEMSTATS, cmd_memstats},
    {LYNX_CMD_CPU_START, lynx_agent_cpu_start},
    {LYNX_CMD_CPU_STOP, lynx_agent_cpu_stop},
    {LYNX_CMD_CPU_SPOOLED, lynx_agent_cpu_spooled},
    {LYNX_CMD_CPU_FORGET, lynx_agent_cpu_forget},
    {LYNX_CMD_THREAD_DUMP, lynx_agent_thread_dump},
    {LYNX_CMD_LOCKS, lynx_agent_locks},
    {LYNX_CMD_THREADCREATE, lynx_agent_threadcreate},
    {LYNX_CMD_HEAP_SNAPSHOT, lynx_agent_heap_snapshot},
};

static int dispatch(lynx_slot_t *s, lynx_reply_t *r)
{
    uint32_t arg_len = s->arg_len;

    /* The slot was written by another process: check before use. */
    if (arg_len > LYNX_ARG_MAX) {
        snprintf(r->message, LYNX_MSG_MAX, "argument length %u too large",
                 arg_len);
        return LYNX_EBADARG;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].command == s->command) {
            return commands[i].handler(s->arg, arg_len, r);
        }
    }
    snprintf(r->message, LYNX_MSG_MAX, "unknown command %u", s->command);
    return LYNX_EBADCMD;
}

/* ---- the agent thread ------------------------------------------------- */

static void serve_slot(unsigned idx)
{
    lynx_mailbox_t *mb = g.mailbox;
    lynx_slot_t *s = &mb->slots[idx];
    uint32_t expected = LYNX_SLOT_REQUEST;
    lynx_reply_t r;
    int rc;

    if (!atomic_compare_exchange_strong(&s->state, &expected,
                                        LYNX_SLOT_BUSY)) {
        return;
    }
    memset(&r, 0, sizeof(r));
    r.inline_buf = s->reply;
    r.inline_cap = LYNX_REPLY_MAX;
    r.bulk = (char *)g.header + mb->bulk_offset + idx * mb->bulk_size_bytes;
    r.bulk_cap = mb->bulk_size_bytes;
    r.message = s->message;
    s->message[0] = '\0';
    rc = dispatch(s, &r);
    if (r.inline_len > r.inline_cap || r.bulk_len > r.bulk_cap) {
        rc = LYNX_ETOOBIG;
        r.inline_len = r.bulk_len = 0;
    }
    s->result = rc;
    s->reply_len = (uint32_t)r.inline_len;
    s->bulk_len = r.bulk_len;
    if (r.bulk_len > 0) {
        g.bulk_dirty[idx] = 1;
    }
    atomic_fetch_add(&mb->served, 1);
    expected = LYNX_SLOT_BUSY;
    if (atomic_compare_exchange_strong(&s->state, &expected,
                                       LYNX_SLOT_DONE)) {
        lynx_futex_wake(&s->state, 1);
    } else {
        /* The endpoint gave up waiting; nobody will read this answer. */
        atomic_store(&s->state, LYNX_SLOT_FREE);
    }
}

/* Free slots left by endpoints that gave up or died, and give back the
 * memory of bulk areas that are no longer in use. */
static void tidy_slots(void)
{
    lynx_mailbox_t *mb = g.mailbox;

    for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
        lynx_slot_t *s = &mb->slots[i];
        uint32_t st = atomic_load(&s->state);
        if (st == LYNX_SLOT_ABANDONED) {
            atomic_compare_exchange_strong(&s->state, &st, LYNX_SLOT_FREE);
        } else if ((st == LYNX_SLOT_CLAIMED || st == LYNX_SLOT_DONE) &&
                   kill(s->client_pid, 0) != 0 && errno == ESRCH) {
            atomic_compare_exchange_strong(&s->state, &st, LYNX_SLOT_FREE);
        }
        if (g.bulk_dirty[i] && atomic_load(&s->state) == LYNX_SLOT_FREE) {
            char *bulk = (char *)g.header + mb->bulk_offset +
                         i * mb->bulk_size_bytes;
            madvise(bulk, mb->bulk_size_bytes, MADV_REMOVE);
            g.bulk_dirty[i] = 0;
        }
    }
}

static void *agent_main(void *unused)
{
    lynx_mailbox_t *mb = g.mailbox;
    int64_t next_tidy = 0;

    (void)unused;
    lynx_agent_cpu_init(g.header);
    lynx_agent_threaddump_init(g.header);
    lynx_agent_heap_init(g.header);
    atomic_store(&g.header->agent_state, LYNX_AGENT_RUNNING);
    while (!atomic_load(&g.stop)) {
        uint32_t bell = atomic_load(&mb->doorbell);
        int64_t now = lynx_mono_ns();
        int64_t sleep_ns;

        atomic_store(&g.header->heartbeat_ns, now);
        for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
            serve_slot(i);
        }
        if (now >= next_tidy) {
            tidy_slots();
            next_tidy = now + 1000LL * 1000 * 1000;
        }
        sleep_ns = lynx_agent_cpu_tick();
        lynx_futex_wait(&mb->doorbell, bell, sleep_ns);
    }
    return NULL;
}

/* ---- creating the block ----------------------------------------------- */

static uint64_t env_bytes(const char *var, uint64_t def, uint64_t lo,
                          uint64_t hi)
{
    const char *s = getenv(var);
    char *end;
    unsigned long long v;

    if (s == NULL || *s == '\0') {
        return def;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        debug_log("ignoring %s=%s (allowed %llu..%llu)", var, s,
                  (unsigned long long)lo, (unsigned long long)hi);
        return def;
    }
    return v;
}

static void read_cmdline(lynx_block_header_t *h)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return;
    }
    n = read(fd, h->cmdline, sizeof(h->cmdline) - 1);
    close(fd);
    h->cmdline_len = n > 0 ? (uint32_t)n : 0;
}

/* Fill the header and region table of a new block of size `total`. */
/* Offsets and sizes of the regions of a new block (bytes). */
typedef struct layout {
    uint64_t mailbox_off;
    uint64_t modules_off, modules_bytes;
    uint64_t sessions_off, sessions_bytes;
    uint64_t cpu_off, cpu_bytes;
    uint32_t cpu_stacks;
    uint64_t bulk_off, bulk_bytes; /* bulk_bytes per mailbox slot */
    uint64_t total;
} layout_t;

static void plan(layout_t *l, uint64_t bulk_bytes, uint32_t cpu_stacks)
{
    l->mailbox_off = HEADER_BYTES;
    l->modules_off = PAGE_ROUND(l->mailbox_off + sizeof(lynx_mailbox_t));
    l->modules_bytes = PAGE_ROUND(sizeof(lynx_modules_t) +
                                  LYNX_MAX_MODULES * sizeof(lynx_module_t));
    l->sessions_off = l->modules_off + l->modules_bytes;
    l->sessions_bytes = PAGE_ROUND(sizeof(lynx_sessions_t));
    l->cpu_off = l->sessions_off + l->sessions_bytes;
    l->cpu_stacks = cpu_stacks;
    l->cpu_bytes = PAGE_ROUND(sizeof(lynx_cpu_table_t) +
                              (uint64_t)cpu_stacks * sizeof(lynx_cpu_stack_t));
    l->bulk_off = l->cpu_off + l->cpu_bytes;
    l->bulk_bytes = bulk_bytes;
    l->total = l->bulk_off + bulk_bytes * LYNX_MAILBOX_SLOTS;
}

static void lay_out(lynx_block_header_t *h, const layout_t *l)
{
    lynx_mailbox_t *mb = (lynx_mailbox_t *)((char *)h + l->mailbox_off);
    lynx_modules_t *mods = (lynx_modules_t *)((char *)h + l->modules_off);
    lynx_sessions_t *ss = (lynx_sessions_t *)((char *)h + l->sessions_off);
    lynx_cpu_table_t *cpu = (lynx_cpu_table_t *)((char *)h + l->cpu_off);
    uint64_t start_ticks = 0;
    long tick = sysconf(_SC_CLK_TCK);
    ssize_t n;

    h->version = LYNX_BLOCK_VERSION;
    h->header_size_bytes = sizeof(*h);
    h->total_size_bytes = l->total;
    h->pid = getpid();
    lynx_proc_stat(h->pid, &start_ticks, NULL);
    h->start_ticks = start_ticks;
    {
        /* Process start in wall time: boot time + start ticks. */
        int64_t boot_ns = lynx_real_ns() - lynx_clock_ns(CLOCK_BOOTTIME);
        h->started_unix_ns =
            boot_ns + (int64_t)(start_ticks * (1000000000ULL / (uint64_t)tick));
    }
    h->agent_started_unix_ns = lynx_real_ns();
    atomic_store(&h->heartbeat_ns, lynx_mono_ns());
    h->heartbeat_period_ms = LYNX_HEARTBEAT_PERIOD_MS;
    snprintf(h->name, sizeof(h->name), "%s", g.name);
    n = readlink("/proc/self/exe", h->exe, sizeof(h->exe) - 1);
    h->exe[n > 0 ? n : 0] = '\0';
    read_cmdline(h);

    /* The mailbox region spans its bulk areas at the end of the block. */
    h->regions[0] = (lynx_region_t){LYNX_REGION_MAILBOX, 0, l->mailbox_off,
                                    sizeof(lynx_mailbox_t)};
    h->regions[1] = (lynx_region_t){LYNX_REGION_MODULES, 0, l->modules_off,
                                    l->modules_bytes};
    h->regions[2] = (lynx_region_t){LYNX_REGION_SESSIONS, 0, l->sessions_off,
                                    l->sessions_bytes};
    h->regions[3] = (lynx_region_t){LYNX_REGION_CPU, 0, l->cpu_off,
                                    l->cpu_bytes};
    h->nregions = 4;
    mb->nslots = LYNX_MAILBOX_SLOTS;
    mb->bulk_offset = l->bulk_off;
    mb->bulk_size_bytes = l->bulk_bytes;
    mods->capacity = LYNX_MAX_MODULES;
    ss->capacity = LYNX_MAX_SESSIONS;
    cpu->capacity = l->cpu_stacks;
}

/* Create the object under a private name, size and fill it, then publish it
 * under its real name with link(), which fails atomically if the name is
 * taken.  On success g.header/g.mailbox/g.size_bytes are set. */
static int create_block(const char *name, gid_t gid, int use_group)
{
    char tmp[128];
    layout_t l;
    uint64_t total;
    void *base;
    int fd;
    int rc;

    plan(&l, PAGE_ROUND(env_bytes("LYNXPROF_BULK_BYTES", DEFAULT_BULK_BYTES,
                                  1u << 20, 1u << 30)),
         (uint32_t)env_bytes("LYNXPROF_CPU_STACKS", DEFAULT_CPU_STACKS, 1024,
                             1u << 20));
    total = l.total;
    snprintf(tmp, sizeof(tmp), "%s/.lynxprof-new.%d", LYNX_SHM_DIR,
             (int)getpid());
    unlink(tmp);
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return -errno;
    }
    if (use_group && (fchown(fd, (uid_t)-1, gid) != 0 ||
                      fchmod(fd, 0660) != 0)) {
        rc = -errno;
        goto fail;
    }
    if (ftruncate(fd, (off_t)total) != 0) {
        rc = -errno;
        goto fail;
    }
    base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    close(fd);
    fd = -1;
    snprintf(g.name, sizeof(g.name), "%s", name);
    lay_out(base, &l);
    atomic_store_explicit(&((lynx_block_header_t *)base)->magic,
                          LYNX_BLOCK_MAGIC, memory_order_release);
    rc = lynx_block_path(name, g.path, sizeof(g.path));
    if (rc == 0 && link(tmp, g.path) != 0) {
        rc = -errno;
    }
    unlink(tmp);
    if (rc != 0) {
        munmap(base, total);
        return rc;
    }
    g.header = base;
    g.mailbox = (lynx_mailbox_t *)((char *)base + l.mailbox_off);
    g.size_bytes = total;
    return 0;

fail:
    close(fd);
    unlink(tmp);
    return rc;
}

/* 1 if live block b is this very process's (same pid; the caller checked
 * the start time) while this image has no agent running: the image before
 * an exec() left it, and nothing beats it any more.  It is marked stopped
 * so that endpoints still holding it let go. */
static int left_by_exec(lynx_block_t *b)
{
    if (b->header->pid != getpid()) {
        return 0;
    }
    atomic_store(&b->header->agent_state, LYNX_AGENT_STOPPED);
    return 1;
}

/* Remove a block of this name if its process is gone (or it is garbage),
 * or if an earlier image of this process left it. */
static int remove_if_dead(const char *name)
{
    lynx_block_t *b;
    char path[128];
    int rc = lynx_block_attach(name, LYNX_ATTACH_ALLOW_DEAD, &b);

    if (rc == 0) {
        int alive = lynx_pid_alive(b->header->pid, b->header->start_ticks) == 0;
        if (alive && left_by_exec(b)) {
            alive = 0;
        }
        lynx_block_detach(b);
        if (alive) {
            return -EEXIST;
        }
    } else if (rc == LYNX_ENOTARGET) {
        return 0;
    } else if (rc == LYNX_EPERM) {
        return -EEXIST;
    }
    if (lynx_block_path(name, path, sizeof(path)) == 0) {
        unlink(path);
    }
    return 0;
}

static int publish(const char *base_name, gid_t gid, int use_group)
{
    char name[LYNX_NAME_MAX];
    int rc;

    snprintf(name, sizeof(name), "%s", base_name);
    for (int attempt = 0; attempt < 4; attempt++) {
        rc = create_block(name, gid, use_group);
        if (rc != -EEXIST) {
            return rc;
        }
        if (remove_if_dead(name) == 0) {
            continue;
        }
        /* The name belongs to a live process: take "<name>.<pid>". */
        snprintf(name, sizeof(name), "%.50s.%d", base_name, (int)getpid());
    }
    return -EEXIST;
}

/* ---- start, stop, fork ------------------------------------------------- */

static void atfork_child(void)
{
    /* The child has no agent thread and must not answer for the parent:
     * forget the parent's block without touching it. */
    if (g.header != NULL) {
        munmap(g.header, g.size_bytes);
    }
    g.header = NULL;
    g.mailbox = NULL;
    g.running = 0;
    pthread_mutex_init(&g.lock, NULL);
    lynx_agent_cpu_atfork_child();
}

static void stop_at_exit(void)
{
    lynx_agent_stop();
}

EXPORT int lynx_agent_start(const char *name)
{
    char chosen[LYNX_NAME_MAX];
    const char *group = getenv("LYNXPROF_GROUP");
    const char *debug = getenv("LYNXPROF_DEBUG");
    gid_t gid = 0;
    int use_group = 0;
    sigset_t all, old;
    int rc;

    pthread_mutex_lock(&g.lock);
    if (g.running) {
        pthread_mutex_unlock(&g.lock);
        return 0;
    }
    g.debug = debug != NULL && strcmp(debug, "1") == 0;
    if (name == NULL || *name == '\0') {
        name = getenv("LYNXPROF_NAME");
    }
    if (name == NULL || *name == '\0') {
        lynx_name_sanitize(program_invocation_short_name, chosen);
    } else if (lynx_name_valid(name)) {
        snprintf(chosen, sizeof(chosen), "%s", name);
    } else {
        rc = LYNX_EBADNAME;
        goto out;
    }
    if (group != NULL && *group != '\0') {
        struct group grp;
        struct group *found = NULL;
        char buf[4096];
        if (getgrnam_r(group, &grp, buf, sizeof(buf), &found) != 0 ||
            found == NULL) {
            debug_log("LYNXPROF_GROUP=%s: no such group", group);
            rc = -ENOENT;
            goto out;
        }
        gid = grp.gr_gid;
        use_group = 1;
    }
    rc = publish(chosen, gid, use_group);
    if (rc != 0) {
        goto out;
    }
    g.pid = getpid();
    /* Also a forked child that starts its own agent may unwind again. */
    lynx_fork_gate_agent_started();
    atomic_store(&g.stop, 0);
    /* The agent thread inherits a full signal mask: it never takes a
     * signal meant for the program. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&g.thread, NULL, agent_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        /* Named here, not by the thread, so it is named once we return. */
        pthread_setname_np(g.thread, "lynxprof-agent");
    }
    if (rc != 0) {
        unlink(g.path);
        munmap(g.header, g.size_bytes);
        g.header = NULL;
        goto out;
    }
    g.running = 1;
    if (!g.atfork_done) {
        pthread_atfork(NULL, NULL, atfork_child);
        atexit(stop_at_exit);
        g.atfork_done = 1;
    }
out:
    if (rc != 0) {
        debug_log("not started: %s", lynx_strerror(rc));
    }
    pthread_mutex_unlock(&g.lock);
    return rc;
}

EXPORT void lynx_agent_stop(void)
{
    pthread_mutex_lock(&g.lock);
    if (!g.running || g.pid != getpid()) {
        pthread_mutex_unlock(&g.lock);
        return;
    }
    atomic_store(&g.stop, 1);
    atomic_fetch_add(&g.mailbox->doorbell, 1);
    lynx_futex_wake(&g.mailbox->doorbell, 1);
    pthread_join(g.thread, NULL);
    /* A profile that no endpoint has saved yet stays readable: the block
     * is left for the endpoints, which remove it once they have it. */
    if (!lynx_agent_cpu_shutdown()) {
        unlink(g.path);
    }
    atomic_store(&g.header->agent_state, LYNX_AGENT_STOPPED);
    munmap(g.header, g.size_bytes);
    g.header = NULL;
    g.mailbox = NULL;
    g.running = 0;
    pthread_mutex_unlock(&g.lock);
}

EXPORT const char *lynx_agent_name(void)
{
    return g.running ? g.name : NULL;
}

EXPORT const char *lynx_agent_strerror(int code)
{
    return lynx_strerror(code);
}

/* With LD_PRELOAD the agent starts by itself, before main(). */
__attribute__((constructor)) static void agent_autostart(void)
{
    const char *preload = getenv("LD_PRELOAD");
    const char *enabled = getenv("LYNXPROF_AGENT");

    if (preload == NULL || strstr(preload, "libprofile-agent") == NULL) {
        return;
    }
    if (enabled != NULL && strcmp(enabled, "0") == 0) {
        return;
    }
    lynx_agent_start(NULL);
}
