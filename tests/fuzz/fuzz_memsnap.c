/*
 * fuzz_memsnap.c - the memory statistics snapshot region as an agent could
 * write it: input = the two copies a reader takes, then the reader's
 * monotonic and wall clocks and the age it accepts (three int64, so that
 * the fuzzer can reach acceptance).  Decoded by lynx_memsnap_decode();
 * what it accepts must be exactly the first copy's statistics, of the
 * target's pid, no older than asked, with only known flags.
 */
#include "fuzz_common.h"
#include "protocol/block.h"
#include "client/memsnap.h"

#define PID 4242

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_memsnap_t copy[2];
    int64_t clocks[3];
    lynx_memstats_t out;
    int rc;

    if (size < sizeof(copy) + sizeof(clocks)) {
        return 0;
    }
    memcpy(copy, data, sizeof(copy));
    memcpy(clocks, data + sizeof(copy), sizeof(clocks));
    memset(&out, 0xee, sizeof(out));
    rc = lynx_memsnap_decode(&copy[0], &copy[1], PID, clocks[0], clocks[1],
                             clocks[2], &out);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EBUSY || rc == LYNX_ESTALE ||
               rc == LYNX_EPROTO);
    if (rc != 0) {
        return 0;
    }
    FUZZ_CHECK(memcmp(&copy[0], &copy[1], sizeof(copy[0])) == 0);
    FUZZ_CHECK((atomic_load(&copy[0].seq) & 1u) == 0 &&
               atomic_load(&copy[0].seq) != 0);
    FUZZ_CHECK(out.pid == PID);
    FUZZ_CHECK(out.flags & LYNX_MEMSTATS_FROM_SNAPSHOT);
    FUZZ_CHECK((out.flags & ~(LYNX_MEMSTATS_FROM_SNAPSHOT |
                              LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS)) == 0);
    FUZZ_CHECK(copy[0].sampled_mono_ns > 0 &&
               clocks[0] - copy[0].sampled_mono_ns <= clocks[2]);
    out.flags &= ~LYNX_MEMSTATS_FROM_SNAPSHOT;
    FUZZ_CHECK(memcmp(&out, &copy[0].stats, sizeof(out)) == 0);
    return 0;
}
