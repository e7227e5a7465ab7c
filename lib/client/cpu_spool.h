/*
 * client/cpu_spool.h - the spool directory of finished CPU sessions (files, locks,
 * the raw stack format) and the pprof built from raw stacks.  Internal to
 * libprofile; see client/cpu.h for the directory's layout.
 */
#ifndef LYNX_CLIENT_CPU_SPOOL_H
#define LYNX_CLIENT_CPU_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block.h"
#include "client/cpu.h"
#include "client/cpu_json.h"
#include "client/modfile.h"
#include "client/pprof.h"

/* The samples of one session as copied out of a block.  Owns its arrays. */
typedef struct cpu_raw {
    int64_t period_ns;          /* CPU time per sample, > 0 */
    int64_t time_nanos;         /* session start, unix ns */
    int64_t duration_nanos;     /* actual length, >= 0 */
    lynx_module_t *mods;        /* nmods valid records */
    size_t nmods;
    lynx_modfile_id_t *ids;     /* NULL, or nmods entries: which file each
                                   module was found to be when the session
                                   was saved (see client/modfile.h) */
    lynx_cpu_stack_t *stacks;   /* nstacks valid entries */
    size_t nstacks;
} cpu_raw_t;

/* Bounds of what a session can hold: a period of at most 1 s (hz >= 1)
 * and counts for which count * period fits in int64_t (the CPU table's
 * reader keeps no other). */
#define CPU_RAW_PERIOD_MAX_NS 1000000000LL
#define CPU_RAW_COUNT_MAX ((uint64_t)INT64_MAX / 1000000000ULL)

void cpu_raw_fini(cpu_raw_t *r);

/* The raw samples as the bytes of an <id>.stacks file, and back.  Decoding
 * checks everything (the file is input like any other; periods and counts
 * within the bounds above): -EINVAL on a bad file, -ENOMEM. */
int cpu_raw_encode(const cpu_raw_t *r, uint8_t **out, size_t *len);
int cpu_raw_decode(const uint8_t *in, size_t len, cpu_raw_t *r);

/* Fill r->ids with what view `files` says of each module.  0, -ENOMEM. */
int cpu_raw_identify(cpu_raw_t *r, lynx_modfiles_t *files);

/* A saved view of r's modules (lynx_modfiles_saved()) from r->ids; without
 * ids (files written by older versions) every module is refused with
 * LYNX_MODFILE_ENOPROC.  NULL on ENOMEM. */
lynx_modfiles_t *cpu_raw_files(const cpu_raw_t *r);

/* The stacks of the CPU table (region: size_bytes bytes, the mapping or a
 * copy; each shared field is read once) if it holds record `index`'s
 * data, into r->stacks (malloc'd; r's other fields untouched), leaving out
 * entries that make no sense (depth outside 1..LYNX_CPU_MAX_DEPTH, count 0
 * or above CPU_RAW_COUNT_MAX).  *samples: the sum of the counts kept;
 * *lost: the table's lost samples.  0, LYNX_ENOSESSION (another
 * session's), LYNX_EBADSIZE (capacity beyond the region), -ENOMEM. */
int cpu_raw_from_table(const void *region, size_t size_bytes,
                       uint32_t index, cpu_raw_t *r, uint64_t *samples,
                       uint64_t *lost);

/* A pprof builder holding the session's samples (samples/count and
 * cpu/nanoseconds, period cpu/nanoseconds, mappings from the modules);
 * NULL with *rc set on error.  lost_samples > 0 adds a comment. */
lynx_pprof_t *cpu_raw_pprof(const cpu_raw_t *r, uint64_t lost_samples,
                            int *rc);

/* "<dir>/<id><ext>"; -ENAMETOOLONG, LYNX_EBADARG for an invalid id. */
int cpu_spool_path(const char *dir, const char *id, const char *ext,
                   char *buf, size_t size);

/* 1 if <dir>/<id><ext> exists, else 0. */
int cpu_spool_exists(const char *dir, const char *id, const char *ext);

/* Read <id>.json into *out (checked field by field) and check the other
 * files against the sizes and CRC-32s it records.  0, LYNX_ENOSESSION (no
 * file), LYNX_EPROTO (damaged: *out then describes the session as
 * LYNX_CPU_DAMAGED with the reason in error, and only the id when the
 * record itself is unreadable), -errno. */
int cpu_spool_read(const char *dir, const char *id, lynx_cpu_session_t *out);

/* Why the spool directory cannot take a session, as far as a look that
 * writes nothing can tell: -EROFS (mounted read-only), -ENOSPC (less than
 * SPOOL_ROOM_MIN bytes or no inode left), -EACCES (not writable by this
 * process), another -errno of statvfs(); 0 when nothing is wrong. */
#define SPOOL_ROOM_MIN (64 * 1024)
int cpu_spool_probe(const char *dir);

/* A whole file of the session (<id><ext>) into *data (malloc'd, NUL added
 * after *len bytes).  -ENOENT, -EFBIG (over 1 GiB), -errno. */
int cpu_spool_read_file(const char *dir, const char *id, const char *ext,
                        uint8_t **data, size_t *len);

/* Write the session: <id>.pb.gz and <id>.stacks when given (not NULL),
 * then <id>.json with s (its data_size_bytes is set from pprof_len) and
 * the sizes and CRC-32s of the others.  Each file goes to a temporary name
 * first, is fsync'd and renamed into place.  On failure (-ENOSPC, ...) the
 * files this call wrote are removed again when there is no <id>.json. */
int cpu_spool_write(const char *dir, const lynx_cpu_session_t *s,
                    const uint8_t *pprof, size_t pprof_len,
                    const uint8_t *raw, size_t raw_len);

/* Remove every file of the session (json first); with tombstone != 0
 * leave <id>.gone.  0 or -errno. */
int cpu_spool_remove(const char *dir, const char *id, int tombstone);

/* flock a lock file of the directory (".spool.lock", ...).  Returns the
 * descriptor, -EWOULDBLOCK when nonblock and held elsewhere, or -errno. */
int cpu_spool_lock(const char *dir, const char *name, int nonblock);
void cpu_spool_unlock(int fd);

/* Every spooled session, damaged ones included (see cpu_spool_read);
 * *out malloc'd. */
int cpu_spool_list(const char *dir, lynx_cpu_session_t **out, size_t *count);

/* Ids that have a tombstone (<id>.gone); *out malloc'd. */
int cpu_spool_tombstones(const char *dir, char (**out)[LYNX_CPU_ID_MAX],
                         size_t *count);

/* Remove temporary files older than max_age_ns, and those of writers
 * that no longer exist (killed mid-write).  Number removed. */
int cpu_spool_sweep_tmp(const char *dir, int64_t max_age_ns);

/* mtime of <dir>/<name> in unix ns (0 if missing); touch it. */
int64_t cpu_spool_stamp_get(const char *dir, const char *name);
void cpu_spool_stamp_touch(const char *dir, const char *name);

#endif
