/*
 * client/mailbox.c - the command mailbox, client side (futex helpers:
 * protocol/futex.c).
 *
 * Protocol (see protocol/block.h for the slot states): the endpoint claims a free
 * slot of the mailbox object by CAS, writes its command with a sequence
 * number of its own, publishes REQUEST, rings the doorbell and sleeps on the
 * slot's state word.  The agent's thread answers in agent/agent.c, into the
 * slot's answer and bulk area in the data object (which only the agent can
 * write), tagged with that sequence number.
 * An endpoint that gives up marks the slot ABANDONED, so an answer that comes
 * late is thrown away by the agent instead of being read by the next user of
 * the slot.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "client/attach.h"
#include "protocol/block_threads.h"
#include "lynxprof.h"
#include "protocol/clock.h"

static _Atomic uint64_t seq_counter;

/* The most bulk data the endpoint accepts for a command: what the agent
 * can produce for it at most (protocol/block_heap.h, protocol/block_threads.h),
 * whatever the block says its bulk areas hold. */
static uint64_t bulk_cap_of(uint32_t command)
{
    switch (command) {
    case LYNX_CMD_THREAD_DUMP:
        return (uint64_t)LYNX_DUMP_MAX_THREADS * sizeof(lynx_thread_rec_t);
    case LYNX_CMD_LOCKS:
        return (uint64_t)LYNX_LOCKS_MAX_RECORDS * sizeof(lynx_lock_rec_t);
    case LYNX_CMD_THREADCREATE:
        return (uint64_t)LYNX_THREADCREATE_MAX_RECORDS *
               sizeof(lynx_threadcreate_rec_t);
    case LYNX_CMD_HEAP_SNAPSHOT:
        return LYNX_BULK_MAX_BYTES;
    default:
        return 0;
    }
}

/* Claim a free slot, waiting for one until the deadline. */
static int claim_slot(lynx_block_t *b, int64_t deadline, lynx_slot_t **out)
{
    lynx_mailbox_t *mb = b->mailbox;
    unsigned start = (unsigned)getpid();

    for (;;) {
        for (unsigned k = 0; k < LYNX_MAILBOX_SLOTS; k++) {
            lynx_slot_t *s = &mb->slots[(start + k) % LYNX_MAILBOX_SLOTS];
            uint32_t expected = LYNX_SLOT_FREE;
            if (atomic_compare_exchange_strong(&s->state, &expected,
                                               LYNX_SLOT_CLAIMED)) {
                *out = s;
                return 0;
            }
        }
        if (lynx_mono_ns() >= deadline) {
            return LYNX_EBUSY;
        }
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

int lynx_mailbox_call(lynx_block_t *b, uint32_t command, const void *arg,
                      size_t arg_len, void *reply, size_t reply_cap,
                      void **bulk, lynx_call_t *call, int64_t timeout_ns)
{
    lynx_mailbox_t *mb = b->mailbox;
    int64_t deadline = lynx_mono_ns() + timeout_ns;
    uint64_t bulk_cap = bulk_cap_of(command);
    uint64_t bulk_len;
    uint32_t reply_len;
    const lynx_answer_t *ans;
    uint64_t seq;
    size_t idx;
    lynx_slot_t *s;
    uint32_t state;
    int rc;

    memset(call, 0, sizeof(*call));
    if (bulk != NULL) {
        *bulk = NULL;
    }
    if (arg_len > LYNX_ARG_MAX) {
        return LYNX_EBADARG;
    }
    if (mb == NULL) {
        return LYNX_EDEAD;
    }
    rc = lynx_block_check_size(b);
    if (rc == 0) {
        rc = lynx_block_check_alive(b);
    }
    if (rc != 0) {
        return rc;
    }
    rc = claim_slot(b, deadline, &s);
    if (rc != 0) {
        return rc;
    }
    /* The answer is tagged with this number: another process's answer in
     * the same slot is not taken for ours. */
    seq = ((uint64_t)(uint32_t)getpid() << 32) |
          (atomic_fetch_add(&seq_counter, 1) & 0xffffffffu);
    idx = (size_t)(s - mb->slots);
    ans = &b->answers->answers[idx];
    s->client_pid = getpid();
    s->seq = seq;
    s->command = command;
    s->arg_len = (uint32_t)arg_len;
    if (arg_len > 0) {
        memcpy(s->arg, arg, arg_len);
    }
    atomic_store_explicit(&s->state, LYNX_SLOT_REQUEST, memory_order_release);
    atomic_fetch_add(&mb->doorbell, 1);
    lynx_futex_wake(&mb->doorbell, 1);

    for (;;) {
        int64_t left;
        state = atomic_load_explicit(&s->state, memory_order_acquire);
        if (state == LYNX_SLOT_DONE) {
            break;
        }
        left = deadline - lynx_mono_ns();
        if (left <= 0 || (state != LYNX_SLOT_REQUEST &&
                          state != LYNX_SLOT_BUSY)) {
            /* Give the slot up; if the agent finished meanwhile, the CAS
             * fails and the loop reads the answer after all. */
            if (atomic_compare_exchange_strong(&s->state, &state,
                                               LYNX_SLOT_ABANDONED)) {
                rc = lynx_block_check_alive(b);
                return rc != 0 ? rc : LYNX_ETIMEOUT;
            }
            continue;
        }
        /* Wake up at least every 100 ms to notice a dead target. */
        if (left > 100 * 1000 * 1000) {
            left = 100 * 1000 * 1000;
        }
        lynx_futex_wait(&s->state, state, left);
        if (lynx_block_check_alive(b) != 0) {
            deadline = 0;
        }
    }

    /* The agent is untrusted and the slot stays writable by others: each
     * length is read once, and that local serves the check, the
     * allocation and the copy.  Bulk data is read with pread(), so an
     * object shrunk meanwhile is an error, not a SIGBUS. */
    rc = 0;
    reply_len = *(const volatile uint32_t *)&ans->reply_len;
    bulk_len = *(const volatile uint64_t *)&ans->bulk_len;
    if (*(const volatile uint64_t *)&ans->seq != seq) {
        rc = LYNX_EPROTO;
        goto release;
    }
    if (reply_len > LYNX_REPLY_MAX || reply_len > reply_cap ||
        bulk_len > b->bulk_size_bytes ||
        (bulk != NULL && bulk_len > bulk_cap)) {
        rc = bulk_len > bulk_cap ? LYNX_ETOOBIG : LYNX_EPROTO;
        goto release;
    }
    call->result = *(const volatile int32_t *)&ans->result;
    memcpy(call->message, ans->message, sizeof(call->message));
    call->message[sizeof(call->message) - 1] = '\0';
    call->reply_len = reply_len;
    if (reply_len > 0) {
        memcpy(reply, ans->reply, reply_len);
    }
    if (bulk != NULL && bulk_len > 0) {
        *bulk = malloc(bulk_len);
        if (*bulk == NULL) {
            rc = -ENOMEM;
            goto release;
        }
        rc = lynx_block_pread(b, b->bulk_offset + idx * b->bulk_size_bytes,
                              *bulk, bulk_len);
        if (rc != 0) {
            free(*bulk);
            *bulk = NULL;
            goto release;
        }
        call->bulk_len = bulk_len;
    }
    /* A truncation caught while we read makes everything read suspect. */
    if (lynx_block_check_size(b) != 0) {
        rc = LYNX_EBADSIZE;
        if (bulk != NULL) {
            free(*bulk);
            *bulk = NULL;
        }
        call->bulk_len = 0;
    }
release:
    atomic_store_explicit(&s->state, LYNX_SLOT_FREE, memory_order_release);
    return rc;
}
