/*
 * client/memsnap.c - reading the memory statistics snapshot (see
 * client/memsnap.h).
 *
 * Workload: GET /api/v1/profiling/memory, polled about once a second per
 * open page, and load tests far above that.  A read is two preads of
 * 256 bytes, instead of a round trip through the mailbox that waits for
 * the agent thread to be scheduled in a busy target.
 */
#include <sched.h>
#include <string.h>

#include "client/memsnap.h"
#include "protocol/clock.h"
#include "lynxprof.h"

/* How far sampled_at may be from what the monotonic age implies: the two
 * clocks are read a few instructions apart by the agent; more than this
 * is a lie (or the wall clock was set meanwhile: then the agent is asked). */
#define CLOCK_SLACK_NS (1000LL * 1000 * 1000)
/* A snapshot taken this far in the reader's future is refused. */
#define FUTURE_SLACK_NS (10LL * 1000 * 1000)

int lynx_memsnap_decode(const lynx_memsnap_t *first,
                        const lynx_memsnap_t *second, int32_t pid,
                        int64_t now_mono_ns, int64_t now_unix_ns,
                        int64_t max_age_ns, lynx_memstats_t *out)
{
    uint32_t seq = atomic_load_explicit(&first->seq, memory_order_relaxed);
    int64_t age;
    int64_t wall_age;
    int64_t skew;

    if (seq != atomic_load_explicit(&second->seq, memory_order_relaxed) ||
        (seq & 1u) != 0 || memcmp(first, second, sizeof(*first)) != 0) {
        return LYNX_EBUSY;
    }
    if (seq == 0) {
        return LYNX_ESTALE; /* never published */
    }
    if (first->stats_bytes != sizeof(lynx_memstats_t) ||
        first->stats.pid != pid ||
        (first->stats.flags & ~LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS) != 0 ||
        first->sampled_mono_ns <= 0 || first->stats.sampled_unix_ns <= 0 ||
        first->sampled_mono_ns - FUTURE_SLACK_NS > now_mono_ns) {
        return LYNX_EPROTO;
    }
    /* Any int64 may come from the agent: no difference may overflow. */
    if (__builtin_sub_overflow(now_mono_ns, first->sampled_mono_ns, &age) ||
        __builtin_sub_overflow(now_unix_ns, first->stats.sampled_unix_ns,
                               &wall_age) ||
        __builtin_sub_overflow(wall_age, age, &skew) ||
        skew < -CLOCK_SLACK_NS || skew > CLOCK_SLACK_NS) {
        return LYNX_EPROTO;
    }
    if (age > max_age_ns) {
        return LYNX_ESTALE;
    }
    memcpy(out, &first->stats, sizeof(*out));
    out->flags |= LYNX_MEMSTATS_FROM_SNAPSHOT;
    return 0;
}

int lynx_block_memsnap(const lynx_block_t *b, int64_t max_age_ns,
                       lynx_memstats_t *out)
{
    const lynx_region_t *r = lynx_block_region(b->header,
                                               LYNX_REGION_MEMSNAP);
    lynx_memsnap_t copy[2];
    int rc = LYNX_EBUSY;

    if (r == NULL || r->size_bytes < sizeof(lynx_memsnap_t)) {
        return LYNX_ENOTREADY;
    }
    for (int i = 0; i < LYNX_MEMSNAP_TRIES && rc == LYNX_EBUSY; i++) {
        if (i > 0) {
            sched_yield();
        }
        /* Two separate reads, the second after the first has ended: a
         * write in progress during either shows as an odd or changed seq,
         * or as copies that differ. */
        rc = lynx_block_pread(b, r->offset, &copy[0], sizeof(copy[0]));
        if (rc == 0) {
            rc = lynx_block_pread(b, r->offset, &copy[1], sizeof(copy[1]));
        }
        if (rc != 0) {
            return rc;
        }
        rc = lynx_memsnap_decode(&copy[0], &copy[1], b->header->pid,
                                 lynx_mono_ns(), lynx_real_ns(), max_age_ns,
                                 out);
    }
    return rc;
}
