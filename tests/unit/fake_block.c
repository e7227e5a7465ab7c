/*
 * fake_block.c - see fake_block.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_block.h"
#include "client/attach.h"
#include "protocol/clock.h"

#define FAKE_BULK (1u << 20)

const char *fake_name(const char *prefix)
{
    static char buf[LYNX_NAME_MAX];
    static int n;

    snprintf(buf, sizeof(buf), "%s-%d-%d", prefix, (int)getpid(), n++);
    return buf;
}

#define PAGE_UP(x) (((x) + 4095ul) & ~4095ul)

static int create(fake_block_t *fb, const char *name, int pid,
                  uint32_t nmodules_cap, uint32_t nstacks_cap, int cpu)
{
    size_t answers_off = 4096;
    size_t sessions_off = PAGE_UP(answers_off + sizeof(lynx_answers_t));
    size_t sessions_bytes = cpu ? PAGE_UP(sizeof(lynx_sessions_t)) : 0;
    size_t modules_off = sessions_off + sessions_bytes;
    size_t modules_bytes = cpu ? PAGE_UP(sizeof(lynx_modules_t) +
                                         nmodules_cap * sizeof(lynx_module_t))
                               : 0;
    size_t cpu_off = modules_off + modules_bytes;
    size_t cpu_bytes = cpu ? PAGE_UP(sizeof(lynx_cpu_table_t) +
                                     nstacks_cap * sizeof(lynx_cpu_stack_t))
                           : 0;
    size_t memsnap_off = cpu_off + cpu_bytes;
    size_t bulk_off = memsnap_off + PAGE_UP(sizeof(lynx_memsnap_t));
    size_t total = bulk_off + (size_t)FAKE_BULK * LYNX_MAILBOX_SLOTS;
    lynx_block_header_t *h;
    struct stat mst;
    uint64_t ticks = 0;
    int fd;

    memset(fb, 0, sizeof(*fb));
    snprintf(fb->name, sizeof(fb->name), "%s", name);
    lynx_block_path(name, fb->path, sizeof(fb->path));
    lynx_mailbox_path(name, fb->mailbox_path, sizeof(fb->mailbox_path));
    unlink(fb->path);
    unlink(fb->mailbox_path);
    fd = open(fb->mailbox_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    if (ftruncate(fd, (off_t)sizeof(lynx_mailbox_t)) != 0 ||
        fstat(fd, &mst) != 0) {
        close(fd);
        return -errno;
    }
    fb->mailbox = mmap(NULL, sizeof(lynx_mailbox_t), PROT_READ | PROT_WRITE,
                       MAP_SHARED, fd, 0);
    close(fd);
    if (fb->mailbox == MAP_FAILED) {
        fb->mailbox = NULL;
        return -errno;
    }
    fb->mailbox->nslots = LYNX_MAILBOX_SLOTS;
    fd = open(fb->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    if (ftruncate(fd, (off_t)total) != 0) {
        close(fd);
        return -errno;
    }
    h = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (h == MAP_FAILED) {
        return -errno;
    }
    lynx_proc_stat(pid, &ticks, NULL);
    h->version = LYNX_BLOCK_VERSION;
    h->header_size_bytes = sizeof(*h);
    h->total_size_bytes = total;
    h->pid = pid;
    h->start_ticks = ticks;
    h->started_unix_ns = lynx_real_ns();
    h->mailbox_size_bytes = sizeof(lynx_mailbox_t);
    h->mailbox_ino = (uint64_t)mst.st_ino;
    atomic_store(&h->heartbeat_ns, lynx_mono_ns());
    atomic_store(&h->agent_state, LYNX_AGENT_RUNNING);
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->regions[0] = (lynx_region_t){LYNX_REGION_ANSWERS, 0, answers_off,
                                    sizeof(lynx_answers_t)};
    h->regions[1] = (lynx_region_t){LYNX_REGION_BULK, 0, bulk_off,
                                    (uint64_t)FAKE_BULK * LYNX_MAILBOX_SLOTS};
    h->nregions = 2;
    if (cpu) {
        h->regions[2] = (lynx_region_t){LYNX_REGION_SESSIONS, 0, sessions_off,
                                        sessions_bytes};
        h->regions[3] = (lynx_region_t){LYNX_REGION_MODULES, 0, modules_off,
                                        modules_bytes};
        h->regions[4] = (lynx_region_t){LYNX_REGION_CPU, 0, cpu_off,
                                        cpu_bytes};
        h->nregions = 5;
        fb->sessions = (lynx_sessions_t *)((char *)h + sessions_off);
        fb->sessions->capacity = LYNX_MAX_SESSIONS;
        fb->modules = (lynx_modules_t *)((char *)h + modules_off);
        fb->modules->capacity = nmodules_cap;
        fb->cpu = (lynx_cpu_table_t *)((char *)h + cpu_off);
        fb->cpu->capacity = nstacks_cap;
    }
    /* Last in the table: the indices above stay what tests expect. */
    h->regions[h->nregions++] = (lynx_region_t){
        LYNX_REGION_MEMSNAP, 0, memsnap_off, sizeof(lynx_memsnap_t)};
    fb->memsnap = (lynx_memsnap_t *)((char *)h + memsnap_off);
    fb->answers = (lynx_answers_t *)((char *)h + answers_off);
    atomic_store(&h->magic, LYNX_BLOCK_MAGIC);
    fb->header = h;
    fb->size_bytes = total;
    return 0;
}

int fake_block_create(fake_block_t *fb, const char *name, int pid)
{
    return create(fb, name, pid, 0, 0, 0);
}

int fake_block_create_cpu(fake_block_t *fb, const char *name, int pid,
                          uint32_t nmodules_cap, uint32_t nstacks_cap)
{
    return create(fb, name, pid, nmodules_cap, nstacks_cap, 1);
}

void fake_session_write(fake_block_t *fb, uint32_t index,
                        const lynx_session_t *s)
{
    lynx_session_t *r = &fb->sessions->sessions[index];

    atomic_fetch_add(&r->gen, 1);
    memcpy((char *)r + sizeof(r->gen), (const char *)s + sizeof(s->gen),
           sizeof(*r) - sizeof(r->gen));
    atomic_fetch_add(&r->gen, 1);
}

void fake_memsnap_write(fake_block_t *fb, const lynx_memsnap_t *snap)
{
    lynx_memsnap_t *r = fb->memsnap;

    atomic_fetch_add(&r->seq, 1);
    memcpy((char *)r + sizeof(r->seq), (const char *)snap + sizeof(r->seq),
           sizeof(*r) - sizeof(r->seq));
    atomic_fetch_add(&r->seq, 1);
}

typedef struct fake_agent {
    pthread_t thread;
    fake_block_t *fb;
    fake_command_cb cb;
    void *ctx;
    _Atomic int stop;
} fake_agent_t;

static void *agent_main(void *arg)
{
    fake_agent_t *a = arg;
    lynx_mailbox_t *mb = a->fb->mailbox;

    while (!atomic_load(&a->stop)) {
        atomic_store(&a->fb->header->heartbeat_ns, lynx_mono_ns());
        for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
            lynx_slot_t *s = &mb->slots[i];
            lynx_answer_t *ans = &a->fb->answers->answers[i];
            uint32_t expected = LYNX_SLOT_REQUEST;
            size_t reply_len = 0;
            if (!atomic_compare_exchange_strong(&s->state, &expected,
                                                LYNX_SLOT_BUSY)) {
                if (expected == LYNX_SLOT_ABANDONED) {
                    atomic_store(&s->state, LYNX_SLOT_FREE);
                }
                continue;
            }
            ans->result = a->cb(a->ctx, s->command, s->arg, s->arg_len,
                                ans->reply, &reply_len);
            ans->reply_len = atomic_load(&a->fb->lie_reply_len) != 0
                                 ? atomic_load(&a->fb->lie_reply_len)
                                 : (uint32_t)reply_len;
            ans->bulk_len = atomic_load(&a->fb->lie_bulk_len);
            ans->message[0] = '\0';
            ans->seq = s->seq;
            expected = LYNX_SLOT_BUSY;
            atomic_compare_exchange_strong(&s->state, &expected,
                                           LYNX_SLOT_DONE);
            lynx_futex_wake(&s->state, 1);
        }
        {
            struct timespec pause = {0, 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

int fake_agent_start(fake_block_t *fb, fake_command_cb cb, void *ctx)
{
    fake_agent_t *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return -ENOMEM;
    }
    a->fb = fb;
    a->cb = cb;
    a->ctx = ctx;
    if (pthread_create(&a->thread, NULL, agent_main, a) != 0) {
        free(a);
        return -EAGAIN;
    }
    fb->agent = a;
    return 0;
}

void fake_agent_stop(fake_block_t *fb)
{
    fake_agent_t *a = fb->agent;

    if (a == NULL) {
        return;
    }
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    free(a);
    fb->agent = NULL;
}

int fake_block_resize(fake_block_t *fb, size_t size_bytes)
{
    return truncate(fb->path, (off_t)size_bytes) == 0 ? 0 : -errno;
}

void fake_block_destroy(fake_block_t *fb)
{
    fake_agent_stop(fb);
    if (fb->header != NULL) {
        munmap(fb->header, fb->size_bytes);
        fb->header = NULL;
    }
    if (fb->mailbox != NULL) {
        munmap(fb->mailbox, sizeof(lynx_mailbox_t));
        fb->mailbox = NULL;
    }
    unlink(fb->path);
    unlink(fb->mailbox_path);
}

int fake_private_shm(void)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0) {
        return 0;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("lynx-test-shm", "/dev/shm", "tmpfs", 0, "mode=1777") != 0) {
        fprintf(stderr, "no private /dev/shm\n");
        return 0;
    }
    return 1;
}
