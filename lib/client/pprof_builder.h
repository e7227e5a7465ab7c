/*
 * client/pprof_builder.h - the pprof builder's state, shared by the files
 * that make it (pprof.c: samples and symbolization; pprof_encode.c:
 * profile.proto; pprof_text.c: flame JSON, folded and debug=1 text).
 * Internal to lib/client/pprof*.c; the interface is client/pprof.h.
 *
 * Endpoint side only; a builder is used by one thread at a time.
 */
#ifndef LYNX_CLIENT_PPROF_BUILDER_H
#define LYNX_CLIENT_PPROF_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "client/pprof.h"
#include "client/pprof_table.h"

/* Per module, what its symbols gave (pprof_resolved_t.mflags). */
#define PP_HAS_FUNCTIONS 0x1
#define PP_HAS_FILENAMES 0x2
#define PP_HAS_LINES 0x4

/* A stack word with this bit holds the string index of a pseudo-frame's
 * name (lynx_pprof_add_named_sample), not an address: no user-space
 * address has it, and lynx_pprof_add_sample clears it from addresses. */
#define PP_PSEUDO_BIT (1ULL << 63)

struct lynx_pprof {
    pprof_strtab_t strings; /* the profile's string table */
    int64_t *types;         /* 2 string indices (type, unit) per sample type */
    size_t ntypes;
    size_t captypes; /* in int64_t, i.e. 2 per type */
    int has_period;
    int64_t period_type; /* string indices */
    int64_t period_unit;
    int64_t period;     /* in period_unit */
    int64_t time_nanos; /* since the epoch */
    int64_t duration_nanos;
    int64_t default_type; /* string index of a type name; 0 = unset */
    int64_t drop_frames;  /* string indices; 0 = unset */
    int64_t keep_frames;
    int64_t common_labels[2 * LYNX_PPROF_MAX_COMMON_LABELS]; /* key, value
                                  (string indices) per common label */
    size_t ncommon_labels;
    int64_t *comments; /* string indices */
    size_t ncomments;
    size_t capcomments;
    lynx_module_t *mods; /* copies; mapping id = index + 1 */
    size_t nmods;
    size_t *by_start; /* indices into mods, sorted by start */
    int *mod_status;  /* per module: LYNX_SYM_E* of the last resolve */
    /* Key of a stack: npcs, the adjusted pcs (leaf first), then four words
     * per label: key, str (string indices), num, num_unit (string index).
     * Values: one per sample type, summed. */
    pprof_seqtab_t stacks;
    uint64_t *scratch; /* key being built by add_sample */
    size_t capscratch;
};

/* ---- the symbolized form of a builder's stacks (pprof_resolve) ---- */

typedef struct pprof_line {
    size_t func;  /* index in pprof_resolved.funcs */
    int64_t line; /* 0 if unknown */
} pprof_line_t;

typedef struct pprof_loc {
    uint64_t addr;   /* adjusted runtime address */
    size_t mapping;  /* module index + 1, 0 for none */
    size_t line_off; /* first of its lines in pprof_resolved.lines */
    size_t nlines;   /* innermost first */
} pprof_loc_t;

typedef struct pprof_resolved {
    pprof_seqtab_t locs; /* key: the address; index = location index */
    pprof_loc_t *loc;    /* parallel to locs entries */
    size_t caploc;
    pprof_line_t *lines;
    size_t nlines;
    size_t caplines;
    pprof_seqtab_t funcs; /* key: name, system name, file, start line */
    uint64_t *loc_of;     /* per word of p->stacks.keys: location index + 1
                             where the word is a pc, else 0 */
    uint8_t *mflags;      /* per module (+1 for pseudo-frames): PP_HAS_* */
} pprof_resolved_t;

/*
 * Symbolize every distinct address of every stack of p with sym (NULL: no
 * symbols, locations only), each once, into *r, and set p->mod_status.
 * *r is always initialized: the caller calls pprof_resolved_fini() on
 * success and failure alike.  0 or -ENOMEM.
 */
int pprof_resolve(lynx_pprof_t *p, lynx_symbolizer_t *sym, pprof_resolved_t *r);

/* Free what r holds. */
void pprof_resolved_fini(pprof_resolved_t *r);

/*
 * The note for module i if it gave no symbols, or no debug info, in the
 * last resolve ("no symbols for <path>: <reason>", "no debug info for
 * <path>: ...", see lynx_symbolize_note()) into buf;
 * 1 if there is one, 0 if not.  The vDSO and records without an absolute
 * path are not files anyone could fix, so they get none.
 */
int pprof_module_note(const lynx_pprof_t *p, size_t i, char *buf, size_t size);

#endif
