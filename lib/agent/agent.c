/*
 * agent/agent.c - the agent's life inside the target: creating the control block,
 * the agent thread that beats the heartbeat and answers the mailbox, and what
 * happens at fork() and exit.
 *
 * Workload: the agent thread sleeps on the doorbell futex and wakes every
 * heartbeat period (200 ms) or when a command arrives; commands are rare
 * (a few per second at most).  It must not change the target's behaviour:
 * it blocks every signal (so process-directed signals go to the program's own
 * threads), prints nothing unless LYNXPROF_DEBUG=1, opens descriptors only
 * with O_CLOEXEC and closes them at once (but for the three /proc files
 * agent/memstats.c keeps open once memory statistics were asked for), and
 * a forked child leaves the parent's block alone.
 */

#include <dirent.h>
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
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/fork.h"
#include "agent/internal.h"
#include "agent/locks.h"
#include "agent/threaddump.h"
#include "protocol/futex.h"
#include "protocol/names.h"
#include "protocol/shm_guard.h"
#include "lynxprof.h"
#include "protocol/clock.h"
#include "lynxprof-agent.h"

#define EXPORT __attribute__((visibility("default")))

#define HEADER_BYTES 4096u
#define PAGE_ROUND(x) (((x) + 4095u) & ~(uint64_t)4095u)
#define DEFAULT_BULK_BYTES (16u << 20) /* per mailbox slot; sparse */
#define DEFAULT_CPU_STACKS 32768u      /* distinct stacks per CPU profile */

/* All agent state, one instance for the process (agent/context.h). */
lynx_agent_t lynx_agent = {
    .core = {.lock = PTHREAD_MUTEX_INITIALIZER},
    .cpu = {.running = -1},
    .locks = {.recording = LYNX_LOCKS_UNRESOLVED},
    .threads = {.lock = PTHREAD_MUTEX_INITIALIZER},
};

/* This file's part of it: the block, the mailbox and the agent thread. */
#define g (lynx_agent.core)

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
    const lynx_memstats_arg_t *a = arg;
    int64_t taken = lynx_mono_ns();
    int rc;

    /* No argument (older endpoints, /metrics): answer only. */
    if (arg_len != 0 && (arg_len != sizeof(*a) || a->reserved != 0 ||
                         (a->flags & ~LYNX_MEMSTATS_PUBLISH) != 0)) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid memstats arguments");
        return LYNX_EBADARG;
    }
    r->inline_len = sizeof(lynx_memstats_t);
    rc = lynx_agent_memstats(r->inline_buf, g.blk.started_unix_ns);
    if (rc == 0 && arg_len != 0 && (a->flags & LYNX_MEMSTATS_PUBLISH)) {
        lynx_agent_memsnap_publish(r->inline_buf, taken);
    }
    return rc;
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
    {LYNX_CMD_LOCKS_WINDOW, lynx_agent_locks_window},
    {LYNX_CMD_THREADCREATE, lynx_agent_threadcreate},
    {LYNX_CMD_HEAP_SNAPSHOT, lynx_agent_heap_snapshot},
};

/* The slot was written by another process, which may go on writing it:
 * command, length and arguments are each read once, into the agent's own
 * memory, and only that copy is checked and used. */
static int dispatch(const lynx_slot_t *s, lynx_reply_t *r, uint64_t *seq)
{
    static uint64_t arg_copy[LYNX_ARG_MAX / sizeof(uint64_t)];
    uint32_t command = *(const volatile uint32_t *)&s->command;
    uint32_t arg_len = *(const volatile uint32_t *)&s->arg_len;

    *seq = *(const volatile uint64_t *)&s->seq;
    if (arg_len > LYNX_ARG_MAX) {
        snprintf(r->message, LYNX_MSG_MAX, "argument length %u too large",
                 arg_len);
        return LYNX_EBADARG;
    }
    memset(arg_copy, 0, sizeof(arg_copy));
    memcpy(arg_copy, s->arg, arg_len);
    atomic_signal_fence(memory_order_seq_cst);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].command == command) {
            return commands[i].handler(arg_copy, arg_len, r);
        }
    }
    snprintf(r->message, LYNX_MSG_MAX, "unknown command %u", command);
    return LYNX_EBADCMD;
}

/* ---- the agent thread ------------------------------------------------- */

/* Handlers write the inline reply and the message into private buffers,
 * copied afterwards into the slot's answer in the data object, and the bulk
 * reply straight into the slot's bulk area there, located from the private
 * geometry.  They never read back what they wrote into the block. */
static void serve_slot(unsigned idx)
{
    static uint64_t reply_buf[LYNX_REPLY_MAX / sizeof(uint64_t)];
    static char message[LYNX_MSG_MAX];
    lynx_mailbox_t *mb = g.mailbox;
    lynx_slot_t *s = &mb->slots[idx];
    lynx_answer_t *ans = &g.answers->answers[idx];
    uint32_t expected = LYNX_SLOT_REQUEST;
    lynx_reply_t r;
    uint64_t seq;
    int rc;

    if (!atomic_compare_exchange_strong(&s->state, &expected,
                                        LYNX_SLOT_BUSY)) {
        return;
    }
    memset(&r, 0, sizeof(r));
    memset(reply_buf, 0, sizeof(reply_buf));
    message[0] = '\0';
    r.inline_buf = reply_buf;
    r.inline_cap = LYNX_REPLY_MAX;
    r.bulk = g.bulk + (uint64_t)idx * g.bulk_bytes;
    r.bulk_cap = (size_t)g.bulk_bytes;
    r.message = message;
    rc = dispatch(s, &r, &seq);
    if (r.inline_len > r.inline_cap || r.bulk_len > r.bulk_cap) {
        rc = LYNX_ETOOBIG;
        r.inline_len = r.bulk_len = 0;
    }
    message[LYNX_MSG_MAX - 1] = '\0';
    memcpy(ans->message, message, sizeof(ans->message));
    memcpy(ans->reply, reply_buf, r.inline_len);
    ans->result = rc;
    ans->reply_len = (uint32_t)r.inline_len;
    ans->bulk_len = r.bulk_len;
    ans->seq = seq;
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

static void mailbox_unmap(void)
{
    lynx_shm_guard_remove(g.mailbox);
    munmap(g.mailbox, sizeof(lynx_mailbox_t));
}

/* A member of the group truncated the mailbox: the guard has put private
 * zero pages where it faulted.  Give the object its size back and map it
 * again at the same address; its slots start empty. */
static void restore_mailbox(void)
{
    struct stat st;
    int fd;

    if (!lynx_shm_guard_tripped(g.mailbox)) {
        return;
    }
    fd = open(g.mailbox_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_ino == g.mailbox_ino &&
        st.st_uid == geteuid() &&
        ftruncate(fd, (off_t)sizeof(lynx_mailbox_t)) == 0) {
        void *m;
        lynx_shm_guard_remove(g.mailbox);
        m = mmap(g.mailbox, sizeof(lynx_mailbox_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_FIXED, fd, 0);
        lynx_shm_guard_add(g.mailbox, sizeof(lynx_mailbox_t));
        if (m != MAP_FAILED) {
            g.mailbox->nslots = LYNX_MAILBOX_SLOTS;
            debug_log("mailbox truncated by another process: restored");
        }
    }
    close(fd);
}

/* The longest an endpoint holds a slot unchanged: CLAIMED for a few
 * stores, DONE while it copies a reply of at most LYNX_BULK_MAX_BYTES. */
#define SLOT_HOLD_MAX_NS (10LL * 1000 * 1000 * 1000)

/* Free slots left by endpoints that gave up or died, or left in any state
 * by a member of the group scribbling the mailbox (a state no client
 * uses, BUSY outside serve_slot(), a client pid that is not a process, or
 * one state and seq held for longer than SLOT_HOLD_MAX_NS), and give back
 * the memory of bulk areas that are no longer in use. */
static void tidy_slots(int64_t now)
{
    lynx_mailbox_t *mb = g.mailbox;

    restore_mailbox();
    for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
        lynx_slot_t *s = &mb->slots[i];
        uint32_t st = atomic_load(&s->state);
        uint64_t seq = *(const volatile uint64_t *)&s->seq;
        int32_t client = *(const volatile int32_t *)&s->client_pid;
        int stale = 0;

        if (st == LYNX_SLOT_FREE || st == LYNX_SLOT_REQUEST) {
            stale = 0;
        } else if (st == LYNX_SLOT_ABANDONED || st == LYNX_SLOT_BUSY ||
                   st > LYNX_SLOT_ABANDONED) {
            stale = 1;
        } else if (client <= 0 ||
                   (kill(client, 0) != 0 && errno == ESRCH)) {
            stale = 1;
        } else if (st == g.slot_seen[i].state && seq == g.slot_seen[i].seq) {
            stale = now - g.slot_seen[i].since_ns >= SLOT_HOLD_MAX_NS;
        }
        if (st != g.slot_seen[i].state || seq != g.slot_seen[i].seq) {
            g.slot_seen[i].state = st;
            g.slot_seen[i].seq = seq;
            g.slot_seen[i].since_ns = now;
        }
        if (stale) {
            atomic_compare_exchange_strong(&s->state, &st, LYNX_SLOT_FREE);
        }
        if (g.bulk_dirty[i] && atomic_load(&s->state) == LYNX_SLOT_FREE) {
            madvise(g.bulk + (uint64_t)i * g.bulk_bytes, g.bulk_bytes,
                    MADV_REMOVE);
            g.bulk_dirty[i] = 0;
        }
    }
}

static unsigned sweep_family(const char *family);

static void *agent_main(void *unused)
{
    lynx_mailbox_t *mb = g.mailbox;
    int64_t next_tidy = 0;
    unsigned swept;

    (void)unused;
    lynx_agent_modules_init(g.blk.modules, g.blk.modules_capacity);
    lynx_agent_cpu_init(&g.blk);
    lynx_agent_threaddump_init(g.blk.modules != NULL);
    lynx_agent_memsnap_init(g.blk.memsnap);
    atomic_store(&g.header->agent_state, LYNX_AGENT_RUNNING);
    swept = sweep_family(g.family);
    if (swept > 0) {
        debug_log("removed %u blocks of ended processes (%s.<pid>)", swept,
                  g.family);
    }
    while (!atomic_load(&g.stop)) {
        uint32_t bell = atomic_load(&mb->doorbell);
        int64_t now = lynx_mono_ns();
        int64_t sleep_ns;

        atomic_store(&g.header->heartbeat_ns, now);
        for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
            serve_slot(i);
        }
        if (now >= next_tidy) {
            tidy_slots(now);
            next_tidy = now + 1000LL * 1000 * 1000;
        }
        lynx_locks_tick(now);
        lynx_agent_memsnap_tick(now, g.blk.started_unix_ns);
        sleep_ns = lynx_agent_cpu_tick();
        lynx_futex_wait(&mb->doorbell, bell, sleep_ns);
    }
    lynx_agent_memstats_close();
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
    uint64_t answers_off;
    uint64_t modules_off, modules_bytes;
    uint64_t sessions_off, sessions_bytes;
    uint64_t cpu_off, cpu_bytes;
    uint32_t cpu_stacks;
    uint64_t memsnap_off, memsnap_bytes;
    uint64_t bulk_off, bulk_bytes; /* bulk_bytes per mailbox slot */
    uint64_t total;
} layout_t;

static void plan(layout_t *l, uint64_t bulk_bytes, uint32_t cpu_stacks)
{
    l->answers_off = HEADER_BYTES;
    l->modules_off = PAGE_ROUND(l->answers_off + sizeof(lynx_answers_t));
    l->modules_bytes = PAGE_ROUND(sizeof(lynx_modules_t) +
                                  LYNX_MAX_MODULES * sizeof(lynx_module_t));
    l->sessions_off = l->modules_off + l->modules_bytes;
    l->sessions_bytes = PAGE_ROUND(sizeof(lynx_sessions_t));
    l->cpu_off = l->sessions_off + l->sessions_bytes;
    l->cpu_stacks = cpu_stacks;
    l->cpu_bytes = PAGE_ROUND(sizeof(lynx_cpu_table_t) +
                              (uint64_t)cpu_stacks * sizeof(lynx_cpu_stack_t));
    l->memsnap_off = l->cpu_off + l->cpu_bytes;
    l->memsnap_bytes = PAGE_ROUND(sizeof(lynx_memsnap_t));
    l->bulk_off = l->memsnap_off + l->memsnap_bytes;
    l->bulk_bytes = bulk_bytes;
    l->total = l->bulk_off + bulk_bytes * LYNX_MAILBOX_SLOTS;
}

static void lay_out(lynx_block_header_t *h, const layout_t *l,
                    uint64_t mailbox_ino)
{
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
        g.blk.started_unix_ns = h->started_unix_ns;
    }
    h->agent_started_unix_ns = lynx_real_ns();
    atomic_store(&h->heartbeat_ns, lynx_mono_ns());
    h->heartbeat_period_ms = LYNX_HEARTBEAT_PERIOD_MS;
    snprintf(h->name, sizeof(h->name), "%s", g.name);
    n = readlink("/proc/self/exe", h->exe, sizeof(h->exe) - 1);
    h->exe[n > 0 ? n : 0] = '\0';
    read_cmdline(h);

    h->mailbox_size_bytes = sizeof(lynx_mailbox_t);
    h->mailbox_ino = mailbox_ino;
    h->regions[0] = (lynx_region_t){LYNX_REGION_ANSWERS, 0, l->answers_off,
                                    sizeof(lynx_answers_t)};
    h->regions[1] = (lynx_region_t){LYNX_REGION_MODULES, 0, l->modules_off,
                                    l->modules_bytes};
    h->regions[2] = (lynx_region_t){LYNX_REGION_SESSIONS, 0, l->sessions_off,
                                    l->sessions_bytes};
    h->regions[3] = (lynx_region_t){LYNX_REGION_CPU, 0, l->cpu_off,
                                    l->cpu_bytes};
    h->regions[4] = (lynx_region_t){LYNX_REGION_BULK, 0, l->bulk_off,
                                    l->bulk_bytes * LYNX_MAILBOX_SLOTS};
    h->regions[5] = (lynx_region_t){LYNX_REGION_MEMSNAP, 0, l->memsnap_off,
                                    l->memsnap_bytes};
    h->nregions = 6;
    mods->capacity = LYNX_MAX_MODULES;
    ss->capacity = LYNX_MAX_SESSIONS;
    cpu->capacity = l->cpu_stacks;
}

/* A new object with no name yet (O_TMPFILE), or, where the file system
 * cannot do that, under an unpredictable temporary name made with O_EXCL
 * (then in tmp; tmp[0] is '\0' otherwise).  A name somebody else made in
 * advance is never opened, nor a symlink followed.  fd or -errno. */
static int open_unnamed(char *tmp, size_t size)
{
    int fd = open(LYNX_SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    tmp[0] = '\0';
    if (fd >= 0) {
        return fd;
    }
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t r;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
            r = (uint64_t)lynx_mono_ns() * 0x9e3779b97f4a7c15ULL;
        }
        snprintf(tmp, size, "%s/.lynxprof-new.%d.%016llx", LYNX_SHM_DIR,
                 (int)getpid(), (unsigned long long)r);
        fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
        if (fd >= 0) {
            return fd;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    tmp[0] = '\0';
    return -errno;
}

/* Give the object made by open_unnamed() its real name; fails atomically
 * with -EEXIST if the name is taken.  0 or -errno. */
static int link_into_place(int fd, const char *tmp, const char *path)
{
    char self[64];

    if (tmp[0] != '\0') {
        return link(tmp, path) == 0 ? 0 : -errno;
    }
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0
               ? 0
               : -errno;
}

/* A new unnamed object of `size` bytes with the given mode and group,
 * mapped read-write.  The temporary name, if one was needed, is in tmp. */
static int make_object(size_t size, mode_t mode, gid_t gid, int use_group,
                       char *tmp, size_t tmp_size, void **map, int *fdp)
{
    int fd = open_unnamed(tmp, tmp_size);
    int rc;

    *map = MAP_FAILED;
    if (fd < 0) {
        return fd;
    }
    if ((use_group && fchown(fd, (uid_t)-1, gid) != 0) ||
        fchmod(fd, use_group ? mode : 0600) != 0 ||
        ftruncate(fd, (off_t)size) != 0) {
        rc = -errno;
        goto fail;
    }
    *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (*map == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    *fdp = fd;
    return 0;

fail:
    if (tmp[0] != '\0') {
        unlink(tmp);
    }
    close(fd);
    return rc;
}

/* Create both objects without names, size and fill them, then publish the
 * mailbox and then the data object under their real names; linking fails
 * atomically if a name is taken.  On success g.header/g.mailbox/
 * g.size_bytes and the private geometry are set. */
static int create_block(const char *name, gid_t gid, int use_group)
{
    char tmp[128];
    char mtmp[128];
    layout_t l;
    uint64_t total;
    void *base = MAP_FAILED;
    void *mbox = MAP_FAILED;
    struct stat mst;
    int fd = -1;
    int mfd = -1;
    int linked_mailbox = 0;
    int rc;

    plan(&l, PAGE_ROUND(env_bytes("LYNXPROF_BULK_BYTES", DEFAULT_BULK_BYTES,
                                  LYNX_BULK_MIN_BYTES, LYNX_BULK_MAX_BYTES)),
         (uint32_t)env_bytes("LYNXPROF_CPU_STACKS", DEFAULT_CPU_STACKS, 1024,
                             1u << 20));
    total = l.total;
    tmp[0] = mtmp[0] = '\0';
    rc = lynx_block_path(name, g.path, sizeof(g.path));
    if (rc == 0) {
        rc = lynx_mailbox_path(name, g.mailbox_path, sizeof(g.mailbox_path));
    }
    if (rc != 0) {
        return rc;
    }
    /* The group may write the mailbox and only read the data. */
    rc = make_object(sizeof(lynx_mailbox_t), 0660, gid, use_group, mtmp,
                     sizeof(mtmp), &mbox, &mfd);
    if (rc != 0) {
        return rc;
    }
    rc = make_object(total, 0640, gid, use_group, tmp, sizeof(tmp), &base,
                     &fd);
    if (rc != 0) {
        goto fail;
    }
    if (fstat(mfd, &mst) != 0) {
        rc = -errno;
        goto fail;
    }
    ((lynx_mailbox_t *)mbox)->nslots = LYNX_MAILBOX_SLOTS;
    snprintf(g.name, sizeof(g.name), "%s", name);
    lay_out(base, &l, (uint64_t)mst.st_ino);
    atomic_store_explicit(&((lynx_block_header_t *)base)->magic,
                          LYNX_BLOCK_MAGIC, memory_order_release);
    rc = link_into_place(mfd, mtmp, g.mailbox_path);
    if (rc != 0) {
        goto fail;
    }
    linked_mailbox = 1;
    rc = link_into_place(fd, tmp, g.path);
    if (rc != 0) {
        goto fail;
    }
    if (tmp[0] != '\0') {
        unlink(tmp);
    }
    if (mtmp[0] != '\0') {
        unlink(mtmp);
    }
    close(fd);
    close(mfd);
    g.header = base;
    g.mailbox = mbox;
    g.mailbox_ino = (uint64_t)mst.st_ino;
    /* The group may write the mailbox, so it may also truncate it: a
     * fault in it must not kill the program (see restore_mailbox()). */
    lynx_shm_guard_add(mbox, sizeof(lynx_mailbox_t));
    g.size_bytes = total;
    g.answers = (lynx_answers_t *)((char *)base + l.answers_off);
    g.bulk = (char *)base + l.bulk_off;
    g.bulk_bytes = l.bulk_bytes;
    g.blk.header = base;
    g.blk.sessions = (lynx_sessions_t *)((char *)base + l.sessions_off);
    g.blk.modules = (lynx_modules_t *)((char *)base + l.modules_off);
    g.blk.modules_capacity = LYNX_MAX_MODULES;
    g.blk.cpu = (lynx_cpu_table_t *)((char *)base + l.cpu_off);
    g.blk.cpu_capacity = l.cpu_stacks;
    g.blk.memsnap = (lynx_memsnap_t *)((char *)base + l.memsnap_off);
    return 0;

fail:
    if (linked_mailbox) {
        unlink(g.mailbox_path);
    }
    if (base != MAP_FAILED) {
        munmap(base, total);
        if (tmp[0] != '\0') {
            unlink(tmp);
        }
        close(fd);
    }
    munmap(mbox, sizeof(lynx_mailbox_t));
    if (mtmp[0] != '\0') {
        unlink(mtmp);
    }
    close(mfd);
    return rc;
}

/* Unlink path if it is a regular file of ours (or absent): 0, else
 * -EEXIST. */
static int unlink_own(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -EEXIST;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (unlink(path) != 0 && errno != ENOENT)) {
        return -EEXIST;
    }
    return 0;
}

/* Remove the object at this name if it is ours and its process is gone,
 * or it is our garbage, or an earlier image of this very process left it
 * (same pid and start time: the image before an exec(), whose agent beats
 * no more; it is marked stopped so that endpoints still holding it let
 * go).  0 if the name is free now; -EEXIST if it holds a live target, or
 * an object we do not own (somebody else's, a symlink, not a regular
 * file): then the caller takes another name.  The object is read and
 * written with pread/pwrite, never mapped, so its contents cannot hurt
 * us. */
static int remove_if_dead(const char *name)
{
    lynx_block_header_t h;
    struct stat st;
    char path[128];
    char mpath[128];
    ssize_t n;
    int fd;

    if (lynx_block_path(name, path, sizeof(path)) != 0 ||
        lynx_mailbox_path(name, mpath, sizeof(mpath)) != 0) {
        return -EEXIST;
    }
    fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno != ENOENT) {
            return -EEXIST;
        }
        /* No data object: a mailbox of ours left alone goes too. */
        return unlink_own(mpath);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid()) {
        close(fd);
        return -EEXIST;
    }
    n = pread(fd, &h, sizeof(h), 0);
    if (n == (ssize_t)sizeof(h) && h.magic == LYNX_BLOCK_MAGIC &&
        lynx_pid_alive(h.pid, h.start_ticks) == 0) {
        uint32_t stopped = LYNX_AGENT_STOPPED;
        if (h.pid != getpid() ||
            pwrite(fd, &stopped, sizeof(stopped),
                   offsetof(lynx_block_header_t, agent_state)) !=
                (ssize_t)sizeof(stopped)) {
            close(fd);
            return -EEXIST;
        }
    }
    close(fd);
    if (unlink(path) != 0 && errno != ENOENT) {
        return -EEXIST;
    }
    return unlink_own(mpath);
}

/* Remove the blocks "<family>.<pid>" that processes of this user left when
 * they ended without cleaning up (by _exit() or a signal, as the children
 * of a forking program often do; each child that execs with the agent
 * preloaded publishes one), so that /dev/shm does not fill with them.
 * Runs once on the agent thread, after this agent's block is published;
 * remove_if_dead() leaves live targets and other users' objects alone.
 * Returns how many were removed. */
static unsigned sweep_family(const char *family)
{
    size_t prefix_len = strlen(LYNX_BLOCK_PREFIX);
    size_t family_len = strlen(family);
    unsigned removed = 0;
    struct dirent *e;
    DIR *d = opendir(LYNX_SHM_DIR);

    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name + prefix_len;
        const char *pid;
        if (strncmp(e->d_name, LYNX_BLOCK_PREFIX, prefix_len) != 0 ||
            strncmp(name, family, family_len) != 0 ||
            name[family_len] != '.' || strcmp(name, g.name) == 0) {
            continue;
        }
        pid = name + family_len + 1;
        if (*pid == '\0' || pid[strspn(pid, "0123456789")] != '\0') {
            continue;
        }
        if (remove_if_dead(name) == 0) {
            removed++;
        }
    }
    closedir(d);
    return removed;
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
        /* The name belongs to a live process, or to somebody else: take
         * "<name>.<pid>". */
        snprintf(name, sizeof(name), "%.50s.%d", base_name, (int)getpid());
        debug_log("name %s taken, trying %s", base_name, name);
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
        mailbox_unmap();
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
    snprintf(g.family, sizeof(g.family), "%s", chosen);
    g.pid = getpid();
    /* Also a forked child that starts its own agent may unwind again. */
    lynx_fork_gate_agent_started();
    atomic_store(&g.stop, 0);
    /* The agent thread inherits a full signal mask: it never takes a
     * signal meant for the program.  Except SIGBUS, which its own faults
     * raise (a blocked fault signal kills the process): the guard of the
     * mailbox must see them. */
    sigfillset(&all);
    sigdelset(&all, SIGBUS);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&g.thread, NULL, agent_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        /* Named here, not by the thread, so it is named once we return. */
        pthread_setname_np(g.thread, "lynxprof-agent");
    }
    if (rc != 0) {
        unlink(g.path);
        unlink(g.mailbox_path);
        munmap(g.header, g.size_bytes);
        mailbox_unmap();
        g.header = NULL;
        g.mailbox = NULL;
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
    /* Nobody answers any more: the mailbox goes in any case. */
    unlink(g.mailbox_path);
    atomic_store(&g.header->agent_state, LYNX_AGENT_STOPPED);
    munmap(g.header, g.size_bytes);
    mailbox_unmap();
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
