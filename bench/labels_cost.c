/*
 * labels_cost.c - what thread and request labels cost.
 *
 * Built twice by bench/labels_cost.sh:
 *   with the agent's label code (lib/agent/signal_labels.c and
 *   name_hooks.c, -DWITH_AGENT): a lynx_label_push + lynx_label_pop pair;
 *   the work the SIGPROF handler adds to each sample (lynx_labels_capture:
 *   tid, thread name, request labels; with 0 and with 4 labels pushed, and
 *   after a rename, when the name is read again with prctl); the
 *   aggregation's extra compare of two samples' labels; and, for scale, a
 *   stack unwind of 12 frames (libunwind, the rest of a sample's work);
 *   without it (the program alone, as built with lynxprof-agent.h but run
 *   without the agent): a push + pop pair through the weak references.
 * Prints "name=ns" pairs, best of 5 runs of n iterations each.
 *   labels_cost [iterations]
 */
#define UNW_LOCAL_ONLY
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lynxprof-agent.h"
#ifdef WITH_AGENT
#include <libunwind.h>
#include <sys/prctl.h>

#include "agent/labels.h"
#endif

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static volatile uint32_t sink;

#define BEST_OF(n, iters, body)                                               \
    ({                                                                        \
        double best_ = 1e30;                                                  \
        for (int r_ = 0; r_ < (n); r_++) {                                    \
            double t0_ = now_ns();                                            \
            for (long i_ = 0; i_ < (iters); i_++) {                           \
                body;                                                         \
            }                                                                 \
            double d_ = (now_ns() - t0_) / (double)(iters);                   \
            best_ = d_ < best_ ? d_ : best_;                                  \
        }                                                                     \
        best_;                                                                \
    })

#ifdef WITH_AGENT
static lynx_sample_labels_t out[2];

static __attribute__((noinline)) int unwind_at(int depth)
{
    void *buf[64];

    if (depth > 0) {
        return unwind_at(depth - 1) + (int)sink;
    }
    return unw_backtrace(buf, 64);
}
#endif

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    double pair;

    if (n < 1) {
        fprintf(stderr, "usage: labels_cost [iterations]\n");
        return 2;
    }
    pair = BEST_OF(5, n, {
        lynx_label_push("request", "search");
        lynx_label_pop();
    });
#ifdef WITH_AGENT
    {
        uint32_t flags = 0;
        double none;
        double four;
        double renamed;
        double cmp;
        double unwind;

        prctl(PR_SET_NAME, "bench", 0, 0, 0);
        none = BEST_OF(5, n, {
            lynx_labels_capture(&out[0], &flags);
            sink += out[0].nlabels;
        });
        lynx_label_push("tenant", "acme");
        lynx_label_push("request", "search");
        lynx_label_push("stage", "parse");
        lynx_label_push("user", "a-user-name-of-some-length");
        four = BEST_OF(5, n, {
            lynx_labels_capture(&out[0], &flags);
            sink += out[0].nlabels;
        });
        lynx_labels_capture(&out[1], &flags);
        cmp = BEST_OF(5, n, {
            sink += memcmp(&out[0], &out[1], sizeof(out[0])) == 0;
            __asm__ volatile("" ::: "memory");
        });
        /* As after a rename anywhere in the process: the name is read
         * again (prctl PR_GET_NAME) at this capture. */
        renamed = BEST_OF(5, n / 10, {
            lynx_labels_renamed();
            lynx_labels_capture(&out[0], &flags);
            sink += out[0].nlabels;
        });
        for (int i = 0; i < 4; i++) {
            lynx_label_pop();
        }
        unwind = BEST_OF(5, n / 100, { sink += (uint32_t)unwind_at(10); });
        printf("agent push_pop_pair_ns=%.1f capture_0_labels_ns=%.1f "
               "capture_4_labels_ns=%.1f capture_after_rename_ns=%.1f "
               "labels_compare_ns=%.1f unwind_12_frames_ns=%.1f\n",
               pair, none, four, renamed, cmp, unwind);
    }
#else
    printf("no_agent push_pop_pair_ns=%.1f\n", pair);
#endif
    return 0;
}
