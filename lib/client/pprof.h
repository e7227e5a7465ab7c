/*
 * client/pprof.h - build pprof profiles (profile.proto, optionally gzipped)
 * from raw stacks of program counters, and the same data as flame-graph
 * JSON or folded text for the web page.
 *
 * Endpoint side only.  Usage: create a builder, declare the sample types,
 * give it the target's module list, add samples (identical stacks with
 * identical labels are merged by summing their values), then encode; the
 * addresses are symbolized at encode time with a lynx_symbolizer_t, each
 * distinct address once.
 *
 * Address convention: pcs are runtime addresses of the target, leaf first.
 * A return address is stored and symbolized as (pc - 1), so that it lands
 * on the call instruction; only an exact leaf (an interrupted instruction,
 * as in CPU samples) is kept as it is.  Location.address in the profile is
 * that adjusted address, the convention pprof's own symbolizer expects.
 *
 * Thread-safety: a builder is not thread-safe; use it from one thread at a
 * time.  Distinct builders are independent.  Nothing is async-signal-safe.
 * Errors are 0 or a negative errno: -EINVAL (bad argument), -ENOMEM,
 * -ENOENT (unknown sample type), -EBUSY (sample types changed after the
 * first sample).  On error the builder is left as it was, except that
 * strings may have been added to its string table.
 *
 * Files: pprof.c (the builder, symbolization), pprof_table.c (the tables
 * that merge stacks), pprof_encode.c (profile.proto, gzip), pprof_text.c
 * (flame JSON, folded and debug=1 text); pprof_builder.h is their shared
 * state.
 */
#ifndef LYNX_CLIENT_PPROF_H
#define LYNX_CLIENT_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/module.h"
#include "client/symbolize.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_PPROF_MAX_DEPTH 1024 /* frames kept per sample (leaf side) */

/* A label of a sample: a string label (str != NULL) or a numeric one. */
typedef struct lynx_label {
    const char *key;      /* required, e.g. "thread_id" */
    const char *str;      /* string value, or NULL for a numeric label */
    int64_t num;          /* numeric value, used when str == NULL */
    const char *num_unit; /* unit of num ("bytes"), or NULL */
} lynx_label_t;

typedef struct lynx_pprof lynx_pprof_t;

struct json_object; /* json-c; only the flame function needs it */

/* New empty builder; NULL when out of memory.  Caller owns it. */
lynx_pprof_t *lynx_pprof_create(void);

/* Free a builder and everything it holds.  Accepts NULL. */
void lynx_pprof_destroy(lynx_pprof_t *p);

/*
 * Declare the next sample type (e.g. "samples","count" then
 * "cpu","nanoseconds"); every sample then carries one value per declared
 * type, in this order.  Strings are copied.  -EBUSY once samples exist.
 */
int lynx_pprof_add_sample_type(lynx_pprof_t *p, const char *type,
                               const char *unit);

/* Period of sampling and its type ("cpu","nanoseconds", 10000000).
 * Strings are copied. */
int lynx_pprof_set_period(lynx_pprof_t *p, const char *type, const char *unit,
                          int64_t period);

/* Collection start (ns since the epoch) and length (ns).  Cannot fail. */
void lynx_pprof_set_time(lynx_pprof_t *p, int64_t time_nanos,
                         int64_t duration_nanos);

/* The sample type shown by default: one already declared (else -ENOENT).
 * Without it, pprof (and the flame JSON) default to the last type. */
int lynx_pprof_set_default_sample_type(lynx_pprof_t *p, const char *type);

/*
 * A label every sample carries, e.g. ("host", "web-3"), so that profiles of
 * several machines merged into one can still be told apart.  Added at
 * encode time to each sample that has no label of that key of its own (a
 * per-sample label wins); not part of the merging key, so it costs nothing
 * per sample.  Setting a key again replaces its value.  Strings are copied.
 * At most LYNX_PPROF_MAX_COMMON_LABELS keys: -ENOSPC beyond.  Only the
 * pprof encoding carries them (not the flame JSON or the text forms).
 */
#define LYNX_PPROF_MAX_COMMON_LABELS 4
int lynx_pprof_set_common_label(lynx_pprof_t *p, const char *key,
                                const char *value);

/* Append a free-text comment (copied). */
int lynx_pprof_add_comment(lynx_pprof_t *p, const char *text);
/* Comment i (0-based, in the order added), owned by p; NULL past the end. */
const char *lynx_pprof_comment(const lynx_pprof_t *p, size_t i);

/* Regular expressions of frames pprof should drop / keep (copied; NULL
 * clears). */
int lynx_pprof_set_drop_frames(lynx_pprof_t *p, const char *regex);
int lynx_pprof_set_keep_frames(lynx_pprof_t *p, const char *regex);

/*
 * The target's modules; each becomes a Mapping (id = index + 1, in this
 * order), with the build ID in lowercase hex.  The array is copied and may
 * be untrusted: records with limit <= start, a path without a NUL or a
 * build_id_len above LYNX_BUILD_ID_MAX make the call fail with -EINVAL and
 * change nothing.  Replaces any list given before.
 */
int lynx_pprof_set_modules(lynx_pprof_t *p, const lynx_module_t *mods,
                           size_t nmods);

/*
 * Add one sample: `npcs` runtime addresses, leaf first (see the address
 * convention above; beyond LYNX_PPROF_MAX_DEPTH only the leaf-side frames
 * are kept), `nvalues` values (must equal the number of declared sample
 * types, at least 1), optional labels.  A sample whose stack and labels
 * equal an earlier one's is merged into it by adding the values.  Nothing
 * is kept of the caller's arrays or strings (label strings are copied).
 */
int lynx_pprof_add_sample(lynx_pprof_t *p, const uint64_t *pcs, size_t npcs,
                          int leaf_is_exact, const int64_t *values,
                          size_t nvalues, const lynx_label_t *labels,
                          size_t nlabels);

/*
 * Add one sample whose stack is a single pseudo-frame named `frame` (a
 * function of that name, no address, no module), e.g. "[blocked in
 * syscall: do_epoll_wait]" for a thread that has no stack.  Values and
 * labels as for lynx_pprof_add_sample.  0, -EINVAL or -ENOMEM.
 */
int lynx_pprof_add_named_sample(lynx_pprof_t *p, const char *frame,
                                const int64_t *values, size_t nvalues,
                                const lynx_label_t *labels, size_t nlabels);

/* Distinct samples (after merging) so far. */
size_t lynx_pprof_nsamples(const lynx_pprof_t *p);

/*
 * Symbolize with `sym` and serialize as profile.proto: one Location per
 * distinct adjusted address (mapping_id 0 and no lines when it is in no
 * module or its module gives no symbols), one Line per frame, inlined
 * frames innermost first, one Function per distinct (name, system name,
 * file, start line).  gzip != 0 compresses (what pprof serves over HTTP).
 * On success *out is a malloc'd buffer the caller frees, *out_len its size.
 * `sym` may be NULL: no symbolization (pprof can then symbolize itself).
 * Each module that gave no symbols adds a comment to this encoding only,
 * "no symbols for <path>: <reason>" (lynx_symbolize_note()); the vDSO
 * gets none.  May be called more than once; samples stay in the builder.
 */
int lynx_pprof_encode(lynx_pprof_t *p, lynx_symbolizer_t *sym, int gzip,
                      uint8_t **out, size_t *out_len);

/*
 * Why module i (as given to lynx_pprof_set_modules) gave no symbols during
 * the last encode, flame or folded call: 0 if it did (or was not needed),
 * LYNX_SYM_NODEBUG if they came from its symbol table for lack of debug
 * info, else a LYNX_SYM_E* or LYNX_MODFILE_E* code (see
 * lynx_symbolize_strerror()).  -EINVAL if i is
 * out of range.
 */
int lynx_pprof_module_status(const lynx_pprof_t *p, size_t i);

/*
 * The same profile as flame-graph data for the web page:
 *   {"sample_types":[{"type":"cpu","unit":"nanoseconds"},...],
 *    "default_sample_type": index into sample_types,
 *    "functions":["main","work",...],
 *    "stacks":[[[frame ids, root first],[one value per sample type]],...],
 *    "unsymbolized":[{"path":..., "reason":..., "message":...},...]}
 * Inlined frames are separate frames; a frame id indexes "functions"; an
 * address without symbols is named "file+0xOFFSET" (file offset in its
 * module) or "0xADDRESS".  Stacks with equal frame lists are merged
 * (labels are not part of it).  "unsymbolized" lists the modules that
 * gave no symbols, as the comments of lynx_pprof_encode() do.  On success *out is a new json-c object the
 * caller releases with json_object_put().
 */
int lynx_pprof_flame_json(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          struct json_object **out);

/*
 * The same with the samples' labels: "labels" maps each string label key
 * to {value: total of the default sample type}, over every sample, and
 * "labels_total" is the total of that type.  tagfocus "key=value" (as
 * pprof's -tagfocus, exact match; a numeric label matches a decimal
 * value) keeps only the samples that carry it in "stacks", and is echoed
 * as "tagfocus"; NULL or "" keeps all.  -EINVAL when tagfocus has no
 * "=" or an empty key.
 */
int lynx_pprof_flame_json_focus(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                                const char *tagfocus,
                                struct json_object **out);

/*
 * Folded stacks ("root;caller;leaf 123\n" per line, frames as in the flame
 * JSON) for sample type `type_index` (negative: the default type), leaving
 * out stacks whose value is 0; tagfocus as lynx_pprof_flame_json_focus
 * (NULL or "" keeps all samples, -EINVAL when malformed).  *out is
 * malloc'd and NUL-terminated, *out_len excludes the NUL; caller frees.
 */
int lynx_pprof_folded(lynx_pprof_t *p, lynx_symbolizer_t *sym, int type_index,
                      const char *tagfocus, char **out, size_t *out_len);

/* Sum of sample type `type` over all samples (0 if out of range). */
int64_t lynx_pprof_total(const lynx_pprof_t *p, size_t type);

/*
 * Go's ?debug=1 text of a profile: `header` (copied as is, may be NULL),
 * then one record per distinct sample, largest first by the value
 * order[0]:
 *   "<v> [<v>...] @ 0xPC 0xPC ...\n"
 *   "#\t0xADDR\tfunction\tfile:line\n" per frame (inlined ones too)
 *   "\n"
 * with the values listed in `order` (indices of sample types; NULL and 0:
 * every type in declared order), then a "# no symbols for <path>:
 * <reason>" line per module that gave no symbols.  Addresses as in the address convention
 * above.  *out is malloc'd and NUL-terminated, *out_len excludes the NUL;
 * caller frees.  -EINVAL (no sample type, bad order), -ENOMEM.
 */
int lynx_pprof_debug_text(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          const char *header, const size_t *order,
                          size_t norder, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
