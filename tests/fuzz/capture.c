/*
 * capture.c - records seeds for the fuzz harnesses from a real target:
 * the answers of the heap, thread, lock and thread-creation commands, its
 * modules region, and a one-second CPU session (its record and CPU table
 * from the block, then its spooled json and raw stacks).  Regions are
 * trimmed to the entries in use.  Run by `run.sh -C TARGET` against a
 * process running with the agent; writes corpus/<name>/real-*.
 *   capture TARGET CORPUS_DIR SPOOL_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "corpus_put.h"
#include "client/cpu_spool.h"
#include "protocol/block_heap.h"
#include "client/attach.h"
#include "protocol/block_threads.h"
#include "client/cpu.h"
#include "client/target.h"

#define TIMEOUT_NS (2LL * 1000 * 1000 * 1000)
#define FUZZ_ID "cpu_1700000000000000000" /* the id fuzz_spool_json reads */

/* Keep the seeds free of this machine's paths: a module outside the
 * system's directories becomes /usr/lib/lynxprof/<its name>, and what
 * follows the path's NUL is cleared. */
static void scrub(lynx_module_t *mods, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *path = mods[i].path;
        size_t len = strnlen(path, sizeof(mods[i].path));
        if (len == sizeof(mods[i].path)) {
            continue;
        }
        if (path[0] == '/' && strncmp(path, "/usr/", 5) != 0 &&
            strncmp(path, "/lib", 4) != 0) {
            char name[LYNX_MODULE_PATH_MAX];
            const char *base = strrchr(path, '/') + 1;
            snprintf(name, sizeof(name), "/usr/lib/lynxprof/%s", base);
            snprintf(path, sizeof(mods[i].path), "%s", name);
            len = strlen(path);
        }
        memset(path + len, 0, sizeof(mods[i].path) - len);
    }
}

/* One command's answer as reply + bulk. */
static void answer(lynx_target_t *t, const char *name, const char *file,
                   uint32_t cmd, const void *arg, size_t arg_len,
                   size_t reply_len, size_t rec_size)
{
    uint8_t reply[LYNX_REPLY_MAX];
    void *bulk = NULL;
    size_t n = 0;
    char msg[LYNX_MSG_MAX];
    int rc = lynx_target_call(t, cmd, arg, arg_len, reply, reply_len, &bulk,
                              rec_size, &n, TIMEOUT_NS, msg, sizeof(msg));

    if (rc != 0) {
        fprintf(stderr, "capture: %s: %s %s\n", file, lynx_strerror(rc), msg);
        exit(1);
    }
    put(name, file, reply, reply_len, bulk, n * rec_size);
    free(bulk);
}

static void spool_file(const char *spool, const char *id, const char *ext,
                       const char *name, const char *file)
{
    uint8_t *data;
    size_t len;
    char *at;

    if (cpu_spool_read_file(spool, id, ext, &data, &len) != 0) {
        fprintf(stderr, "capture: no %s%s\n", id, ext);
        exit(1);
    }
    /* fuzz_spool_json reads the session of one fixed id. */
    at = strstr((char *)data, id);
    if (at != NULL && strlen(id) == strlen(FUZZ_ID)) {
        memcpy(at, FUZZ_ID, strlen(FUZZ_ID));
    }
    put(name, file, data, len, NULL, 0);
    free(data);
}

int main(int argc, char **argv)
{
    lynx_heap_snapshot_arg_t heap = {0, 0};
    lynx_thread_dump_arg_t dump = {0, 0};
    lynx_locks_arg_t block = {LYNX_LOCKS_BLOCK, 0};
    lynx_locks_arg_t mutex = {LYNX_LOCKS_MUTEX, 0};
    lynx_threadcreate_arg_t tc = {0, 0};
    lynx_locks_window_arg_t win = {0, 0, 0, 0};
    lynx_locks_window_reply_t wrep = {0, 0, 0};
    lynx_target_t *t;
    lynx_block_t *b;
    lynx_cpu_t *c;
    lynx_cpu_session_t s;
    lynx_modules_t *m;
    lynx_sessions_t *ss;
    lynx_cpu_table_t *tab;
    struct timespec pause = {1, 500 * 1000 * 1000};
    int rc;

    if (argc != 4) {
        fprintf(stderr, "usage: capture TARGET CORPUS_DIR SPOOL_DIR\n");
        return 2;
    }
    dir = argv[2];
    rc = lynx_target_open(argv[1], NULL, &t);
    if (rc != 0) {
        fprintf(stderr, "capture: %s: %s\n", argv[1], lynx_strerror(rc));
        return 1;
    }
    answer(t, "heap", "real-snapshot", LYNX_CMD_HEAP_SNAPSHOT, &heap,
           sizeof(heap), sizeof(lynx_heap_snapshot_reply_t), 8);
    answer(t, "threads", "real-dump", LYNX_CMD_THREAD_DUMP, &dump,
           sizeof(dump), sizeof(lynx_thread_dump_reply_t),
           sizeof(lynx_thread_rec_t));
    /* Lock contention is recorded only in a window: hold one open for a
     * second before taking the lock answers. */
    win.op = LYNX_LOCKS_WINDOW_OPEN;
    win.duration_ns = 10 * TIMEOUT_NS;
    if (lynx_target_call(t, LYNX_CMD_LOCKS_WINDOW, &win, sizeof(win), &wrep,
                         sizeof(wrep), NULL, 0, NULL, TIMEOUT_NS, NULL,
                         0) == 0) {
        nanosleep(&pause, NULL);
    }
    answer(t, "locks", "real-block", LYNX_CMD_LOCKS, &block, sizeof(block),
           sizeof(lynx_locks_reply_t), sizeof(lynx_lock_rec_t));
    answer(t, "locks", "real-mutex", LYNX_CMD_LOCKS, &mutex, sizeof(mutex),
           sizeof(lynx_locks_reply_t), sizeof(lynx_lock_rec_t));
    win.op = LYNX_LOCKS_WINDOW_CLOSE;
    win.id = wrep.id;
    lynx_target_call(t, LYNX_CMD_LOCKS_WINDOW, &win, sizeof(win), &wrep,
                     sizeof(wrep), NULL, 0, NULL, TIMEOUT_NS, NULL, 0);
    answer(t, "threadcreate", "real-created", LYNX_CMD_THREADCREATE, &tc,
           sizeof(tc), sizeof(lynx_threadcreate_reply_t),
           sizeof(lynx_threadcreate_rec_t));
    b = lynx_target_block(t);
    m = lynx_block_region_ptr(b, LYNX_REGION_MODULES, sizeof(*m), NULL);
    if (m != NULL) {
        uint32_t n = m->nmodules;
        size_t len = sizeof(*m) + n * sizeof(lynx_module_t);
        lynx_modules_t *copy = malloc(len);
        memcpy(copy, m, len);
        copy->capacity = n;
        scrub(copy->modules, n);
        put("modules", "real-modules", copy, len, NULL, 0);
        free(copy);
    }

    /* A CPU session: its record and table before anyone spools it. */
    c = lynx_cpu_create(argv[3], TIMEOUT_NS);
    rc = c != NULL ? lynx_cpu_start(c, argv[1], 1000000000LL, 100,
                                    LYNX_ORIGIN_API, &s)
                   : -ENOMEM;
    if (rc != 0) {
        fprintf(stderr, "capture: cpu start: %s\n", lynx_strerror(rc));
        return 1;
    }
    nanosleep(&pause, NULL);
    ss = lynx_block_region_ptr(b, LYNX_REGION_SESSIONS, sizeof(*ss), NULL);
    for (uint32_t i = 0; ss != NULL && i < LYNX_MAX_SESSIONS; i++) {
        if (strcmp(ss->sessions[i].id, s.id) == 0) {
            put("session", "real-completed", &ss->sessions[i],
                sizeof(ss->sessions[i]), NULL, 0);
        }
    }
    tab = lynx_block_region_ptr(b, LYNX_REGION_CPU, sizeof(*tab), NULL);
    if (tab != NULL) {
        uint32_t n = tab->nstacks;
        size_t len = sizeof(*tab) + n * sizeof(lynx_cpu_stack_t);
        lynx_cpu_table_t *copy = malloc(len);
        memcpy(copy, tab, len);
        copy->capacity = n;
        copy->session_index = 0; /* the record fuzz_cpu_table asks for */
        put("cpu_table", "real-table", copy, len, NULL, 0);
        free(copy);
    }
    rc = lynx_cpu_get(c, s.id, &s);
    if (rc != 0 || !s.spooled) {
        fprintf(stderr, "capture: not spooled: %s\n", lynx_strerror(rc));
        return 1;
    }
    spool_file(argv[3], s.id, ".json", "spool_json", "real-completed");
    {
        uint8_t *data;
        size_t len;
        cpu_raw_t raw;
        if (cpu_spool_read_file(argv[3], s.id, ".stacks", &data, &len) != 0 ||
            cpu_raw_decode(data, len, &raw) != 0) {
            fprintf(stderr, "capture: no raw stacks\n");
            return 1;
        }
        free(data);
        scrub(raw.mods, raw.nmods);
        if (cpu_raw_encode(&raw, &data, &len) != 0) {
            return 1;
        }
        put("spool_raw", "real-stacks", data, len, NULL, 0);
        free(data);
        cpu_raw_fini(&raw);
    }
    lynx_cpu_destroy(c);
    lynx_target_close(t);
    return 0;
}
