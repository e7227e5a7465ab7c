/*
 * agent/memsnap.c - publishing the memory statistics into the block, so
 * that GET /api/v1/profiling/memory can be served without a round trip
 * through the mailbox (protocol/block.h, lynx_memsnap_t).
 *
 * Workload: a web page polls the endpoint about once a second.  Each
 * LYNX_CMD_MEMSTATS with LYNX_MEMSTATS_PUBLISH the agent answers opens (or
 * extends) a window of
 * LYNX_MEMSNAP_INTEREST_NS in which the agent thread, on its regular wake
 * ups, takes the statistics again every LYNX_MEMSNAP_PERIOD_NS and writes
 * them under the region's seqlock.  Outside such a window nothing is
 * taken: an agent nobody asks costs nothing here.  Runs on the agent
 * thread only; the region is written, never read back.
 */
#include <string.h>

#include "agent/internal.h"
#include "protocol/clock.h"

/* Agent thread only. */
static struct {
    lynx_memsnap_t *shared;   /* the region, or NULL (none laid out) */
    int64_t wanted_until_ns;  /* CLOCK_MONOTONIC end of the window */
    int64_t next_ns;          /* next snapshot due (CLOCK_MONOTONIC) */
    uint32_t seq;             /* the agent's copy of the seqlock word */
} snap;

void lynx_agent_memsnap_init(lynx_memsnap_t *shared)
{
    snap.shared = shared;
    snap.wanted_until_ns = 0;
    snap.next_ns = 0;
    snap.seq = 0;
    if (shared != NULL) {
        shared->stats_bytes = sizeof(lynx_memstats_t);
    }
}

void lynx_agent_memsnap_publish(const lynx_memstats_t *ms,
                                int64_t sampled_mono_ns)
{
    lynx_memsnap_t *s = snap.shared;
    int64_t now = lynx_mono_ns();

    if (s == NULL) {
        return;
    }
    /* An endpoint asked: keep the snapshot fresh for a while. */
    snap.wanted_until_ns = now + LYNX_MEMSNAP_INTEREST_NS;
    snap.next_ns = sampled_mono_ns + LYNX_MEMSNAP_PERIOD_NS;
    atomic_store_explicit(&s->seq, ++snap.seq, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    s->stats_bytes = sizeof(lynx_memstats_t);
    s->sampled_mono_ns = sampled_mono_ns;
    memcpy(&s->stats, ms, sizeof(*ms));
    atomic_store_explicit(&s->seq, ++snap.seq, memory_order_release);
}

void lynx_agent_memsnap_tick(int64_t now, int64_t process_start_unix_ns)
{
    lynx_memstats_t ms;
    int64_t until = snap.wanted_until_ns;
    int64_t taken;

    if (snap.shared == NULL || now >= until || now < snap.next_ns) {
        return;
    }
    taken = lynx_mono_ns();
    if (lynx_agent_memstats(&ms, process_start_unix_ns) != 0) {
        return;
    }
    lynx_agent_memsnap_publish(&ms, taken);
    /* Publishing is not asking: the window stays where the last request
     * put it. */
    snap.wanted_until_ns = until;
}
