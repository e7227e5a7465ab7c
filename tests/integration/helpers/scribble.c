/*
 * scribble.c - a hostile member of the endpoints' group, for
 * test_evil_endpoint.sh.  Run as the endpoints' user, it tries to open the
 * target's data object for writing (and says which error it got), opens the
 * mailbox object, and for a bounded time writes random bytes at random
 * offsets of it, aiming most writes at the fields that matter: slot
 * states, client pids, commands, argument lengths, sequence numbers,
 * arguments, the doorbell and the slot count; it wakes the futex words it
 * wrote.  It leaves every slot held: in a state no client uses, BUSY, or
 * CLAIMED, DONE or REQUEST with a client pid that is a live process (1),
 * 0 or -1.
 *
 * Usage: scribble NAME SECONDS
 *        scribble NAME truncate   (truncate the mailbox to 0 bytes, exit)
 * Prints "data: <errno name or opened>", "mailbox: opened", and the number
 * of writes; exits 0 when it could scribble the mailbox and not open the
 * data object for writing, 10 if it could open the data object, 1 on
 * other errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "protocol/block.h"

static uint64_t rnd_state;

static uint64_t rnd(void)
{
    /* xorshift64*: enough to be unpredictable for the agent. */
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 0x2545f4914f6cdd1dULL;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 32-bit value that is sometimes meaningful, often not. */
static uint32_t some_u32(uint32_t meaningful_max)
{
    switch (rnd() % 4) {
    case 0:
        return (uint32_t)(rnd() % (meaningful_max + 1));
    case 1:
        return 0xffffffffu - (uint32_t)(rnd() % 4);
    case 2:
        return 0;
    default:
        return (uint32_t)rnd();
    }
}

static void wake(void *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, 8, NULL, NULL, 0);
}

static void scribble_once(lynx_mailbox_t *mb, size_t size)
{
    lynx_slot_t *s = &mb->slots[rnd() % LYNX_MAILBOX_SLOTS];
    uint32_t v;

    switch (rnd() % 10) {
    case 0:
    case 1:
        v = some_u32(LYNX_SLOT_ABANDONED + 1);
        memcpy((void *)&s->state, &v, sizeof(v));
        wake(&s->state);
        break;
    case 2:
        s->client_pid = (int32_t)some_u32(70000);
        break;
    case 3:
        s->command = some_u32(40);
        break;
    case 4:
        s->arg_len = some_u32(LYNX_ARG_MAX + 8);
        break;
    case 5:
        s->seq = rnd();
        break;
    case 6:
        for (int i = 0; i < 16; i++) {
            s->arg[rnd() % LYNX_ARG_MAX] = (uint8_t)rnd();
        }
        break;
    case 7:
        v = (uint32_t)rnd();
        memcpy((void *)&mb->doorbell, &v, sizeof(v));
        wake(&mb->doorbell);
        break;
    case 8:
        mb->nslots = some_u32(LYNX_MAILBOX_SLOTS * 2);
        break;
    default: {
        /* A run of random bytes anywhere in the object. */
        size_t len = 1 + rnd() % 64;
        size_t off = rnd() % size;
        if (off + len > size) {
            len = size - off;
        }
        for (size_t i = 0; i < len; i++) {
            ((uint8_t *)mb)[off + i] = (uint8_t)rnd();
        }
        break;
    }
    }
}

int main(int argc, char **argv)
{
    char path[256];
    struct stat st;
    double end;
    unsigned long writes = 0;
    void *map;
    int fd;

    if (argc != 3) {
        fprintf(stderr, "usage: scribble NAME SECONDS\n");
        return 1;
    }
    rnd_state = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^
                (uint64_t)time(NULL);
    snprintf(path, sizeof(path), "%s/%s%s", LYNX_SHM_DIR, LYNX_BLOCK_PREFIX,
             argv[1]);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        printf("data: opened for writing\n");
        return 10;
    }
    printf("data: %s\n", errno == EACCES ? "EACCES" : strerror(errno));
    snprintf(path, sizeof(path), "%s/%s%s", LYNX_SHM_DIR,
             LYNX_MAILBOX_PREFIX, argv[1]);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && strcmp(argv[2], "truncate") == 0) {
        if (ftruncate(fd, 0) != 0) {
            perror("ftruncate");
            return 1;
        }
        printf("mailbox: truncated\n");
        return 0;
    }
    if (fd < 0 || fstat(fd, &st) != 0 ||
        (size_t)st.st_size < sizeof(lynx_mailbox_t)) {
        printf("mailbox: %s\n", strerror(errno));
        return 1;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
               fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    printf("mailbox: opened\n");
    fflush(stdout);
    end = now_s() + atof(argv[2]);
    while (now_s() < end) {
        for (int i = 0; i < 200; i++) {
            scribble_once(map, (size_t)st.st_size);
            writes++;
        }
        /* Leave the endpoints some of the CPU (two cores, shared). */
        usleep(500);
    }
    {
        static const struct {
            uint32_t state;
            int32_t pid;
        } held[LYNX_MAILBOX_SLOTS] = {
            {0x7777, 1}, {LYNX_SLOT_BUSY, 1}, {LYNX_SLOT_CLAIMED, 1},
            {LYNX_SLOT_DONE, 1}, {LYNX_SLOT_CLAIMED, 0},
            {LYNX_SLOT_DONE, -1}, {LYNX_SLOT_ABANDONED + 1, 1},
            {LYNX_SLOT_REQUEST, 1},
        };
        lynx_mailbox_t *mb = map;
        for (unsigned i = 0; i < LYNX_MAILBOX_SLOTS; i++) {
            mb->slots[i].client_pid = held[i].pid;
            mb->slots[i].command = LYNX_CMD_PING;
            mb->slots[i].arg_len = 0;
            atomic_store(&mb->slots[i].state, held[i].state);
        }
        atomic_fetch_add(&mb->doorbell, 1);
        wake(&mb->doorbell);
    }
    printf("writes: %lu\n", writes);
    return 0;
}
