/*
 * protocol/futex.c - futex wait and wake on words of the shared objects,
 * used by both sides (the mailbox's doorbell and slot states).
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "protocol/futex.h"

int lynx_futex_wait(_Atomic uint32_t *word, uint32_t expected,
                    int64_t timeout_ns)
{
    struct timespec ts;
    struct timespec *tsp = NULL;
    long rc;

    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000LL;
        ts.tv_nsec = timeout_ns % 1000000000LL;
        tsp = &ts;
    }
    /* Not FUTEX_PRIVATE: the word is in memory shared between processes. */
    rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tsp, NULL,
                 0);
    if (rc == 0) {
        return 0;
    }
    if (errno == EAGAIN) {
        return 0;
    }
    return -errno;
}

void lynx_futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);
}
