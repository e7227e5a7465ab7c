/*
 * protocol/module.h - one loaded module (executable or shared object) of a
 * profiled process, as the agent snapshots it and the endpoint side reads it.
 *
 * The agent fills these from dl_iterate_phdr() in its own thread (never in a
 * signal handler); the endpoint copies them out of the control block, treats
 * every field as untrusted input, and uses them to build pprof mappings and to
 * symbolize addresses.  The struct is plain data with fixed-size fields so it
 * can live in shared memory unchanged.
 */
#ifndef LYNX_PROTOCOL_MODULE_H
#define LYNX_PROTOCOL_MODULE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_MODULE_PATH_MAX 256  /* bytes, NUL included */
#define LYNX_BUILD_ID_MAX 32      /* bytes of a GNU build ID (20 for sha1) */

typedef struct lynx_module {
    uint64_t start;        /* runtime address of the executable segment */
    uint64_t limit;        /* one past its last byte; limit > start */
    uint64_t file_offset;  /* offset in the file that is mapped at start */
    uint64_t load_bias;    /* runtime address minus ELF virtual address */
    uint32_t build_id_len; /* bytes used in build_id, 0 = none */
    uint8_t build_id[LYNX_BUILD_ID_MAX];
    char path[LYNX_MODULE_PATH_MAX]; /* absolute path, NUL-terminated;
                                        "[vdso]" for the vDSO */
} lynx_module_t;

#ifdef __cplusplus
}
#endif

#endif
