/*
 * protocol/futex.h - futex wait and wake on words of the shared objects
 * (both sides).
 * Internal to lynxprof; the public API is lynxprof.h.
 */
#ifndef LYNX_PROTOCOL_FUTEX_H
#define LYNX_PROTOCOL_FUTEX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Wait while *word == expected, at most timeout_ns (<0: forever).  0 on wake
 * or value change, -ETIMEDOUT, -EINTR. */
int lynx_futex_wait(_Atomic uint32_t *word, uint32_t expected,
                    int64_t timeout_ns);
/* Wake up to n waiters on word. */
void lynx_futex_wake(_Atomic uint32_t *word, int n);

#ifdef __cplusplus
}
#endif

#endif
