/*
 * protocol/clock.h - clock helpers (nanoseconds as int64_t).
 * clock_gettime() is async-signal-safe, so these are too.
 */
#ifndef LYNX_PROTOCOL_CLOCK_H
#define LYNX_PROTOCOL_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline int64_t lynx_clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t lynx_mono_ns(void)
{
    return lynx_clock_ns(CLOCK_MONOTONIC);
}

static inline int64_t lynx_real_ns(void)
{
    return lynx_clock_ns(CLOCK_REALTIME);
}

/* Sleep whole seconds, going on after signals. */
static inline void lynx_sleep_seconds(int64_t seconds)
{
    struct timespec ts = {(time_t)seconds, 0};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

#endif
