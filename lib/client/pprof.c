/*
 * client/pprof.c - the pprof builder: sample types and header fields,
 * modules, samples merged by stack and labels, and the symbolization that
 * every output form shares (each distinct address once).  The output forms
 * are pprof_encode.c (profile.proto, gzip) and pprof_text.c (flame JSON,
 * folded and Go's debug=1 text); the tables are pprof_table.c.
 *
 * Workload: up to some 100,000 distinct stacks of up to a few hundred
 * frames per profile, added one sample at a time (millions of adds for a
 * long CPU profile): the add path builds the stack's key in a scratch
 * array and merges it in the sequence table without allocating once the
 * table has grown.  A few thousand distinct addresses are symbolized per
 * output, each once.
 */
#include "client/pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "client/buf.h"
#include "client/pprof_builder.h"

lynx_pprof_t *lynx_pprof_create(void)
{
    lynx_pprof_t *p;
    int64_t index;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    if (pprof_str_intern(&p->strings, "", &index) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void lynx_pprof_destroy(lynx_pprof_t *p)
{
    if (p == NULL) {
        return;
    }
    pprof_str_fini(&p->strings);
    pprof_seq_fini(&p->stacks);
    free(p->types);
    free(p->comments);
    free(p->mods);
    free(p->by_start);
    free(p->mod_status);
    free(p->scratch);
    free(p);
}

int lynx_pprof_add_sample_type(lynx_pprof_t *p, const char *type,
                               const char *unit)
{
    int64_t t;
    int64_t u;

    if (p == NULL || type == NULL || unit == NULL) {
        return -EINVAL;
    }
    if (p->stacks.n > 0) {
        return -EBUSY;
    }
    if (pprof_str_intern(&p->strings, type, &t) != 0 ||
        pprof_str_intern(&p->strings, unit, &u) != 0 ||
        LYNX_ARRAY_RESERVE(p->types, p->captypes, 2 * (p->ntypes + 1)) != 0) {
        return -ENOMEM;
    }
    p->types[2 * p->ntypes] = t;
    p->types[2 * p->ntypes + 1] = u;
    p->ntypes++;
    return 0;
}

int lynx_pprof_set_period(lynx_pprof_t *p, const char *type, const char *unit,
                          int64_t period)
{
    int64_t t;
    int64_t u;

    if (p == NULL || type == NULL || unit == NULL) {
        return -EINVAL;
    }
    if (pprof_str_intern(&p->strings, type, &t) != 0 ||
        pprof_str_intern(&p->strings, unit, &u) != 0) {
        return -ENOMEM;
    }
    p->has_period = 1;
    p->period_type = t;
    p->period_unit = u;
    p->period = period;
    return 0;
}

void lynx_pprof_set_time(lynx_pprof_t *p, int64_t time_nanos,
                         int64_t duration_nanos)
{
    p->time_nanos = time_nanos;
    p->duration_nanos = duration_nanos;
}

int lynx_pprof_set_default_sample_type(lynx_pprof_t *p, const char *type)
{
    size_t i;

    if (p == NULL || type == NULL) {
        return -EINVAL;
    }
    for (i = 0; i < p->ntypes; i++) {
        if (strcmp(p->strings.strs[p->types[2 * i]], type) == 0) {
            p->default_type = p->types[2 * i];
            return 0;
        }
    }
    return -ENOENT;
}

int lynx_pprof_set_common_label(lynx_pprof_t *p, const char *key,
                                const char *value)
{
    int64_t k;
    int64_t v;
    size_t i;

    if (p == NULL || key == NULL || key[0] == '\0' || value == NULL) {
        return -EINVAL;
    }
    if (pprof_str_intern(&p->strings, key, &k) != 0 ||
        pprof_str_intern(&p->strings, value, &v) != 0) {
        return -ENOMEM;
    }
    for (i = 0; i < p->ncommon_labels; i++) {
        if (p->common_labels[2 * i] == k) {
            break;
        }
    }
    if (i == LYNX_PPROF_MAX_COMMON_LABELS) {
        return -ENOSPC;
    }
    p->common_labels[2 * i] = k;
    p->common_labels[2 * i + 1] = v;
    if (i == p->ncommon_labels) {
        p->ncommon_labels++;
    }
    return 0;
}

int lynx_pprof_add_comment(lynx_pprof_t *p, const char *text)
{
    int64_t s;

    if (p == NULL || text == NULL) {
        return -EINVAL;
    }
    if (pprof_str_intern(&p->strings, text, &s) != 0 ||
        LYNX_ARRAY_RESERVE(p->comments, p->capcomments, p->ncomments + 1) !=
            0) {
        return -ENOMEM;
    }
    p->comments[p->ncomments++] = s;
    return 0;
}

const char *lynx_pprof_comment(const lynx_pprof_t *p, size_t i)
{
    return i < p->ncomments ? p->strings.strs[p->comments[i]] : NULL;
}

static int pp_set_regex(lynx_pprof_t *p, const char *regex, int64_t *field)
{
    int64_t s;

    if (p == NULL) {
        return -EINVAL;
    }
    s = 0;
    if (regex != NULL && pprof_str_intern(&p->strings, regex, &s) != 0) {
        return -ENOMEM;
    }
    *field = s;
    return 0;
}

int lynx_pprof_set_drop_frames(lynx_pprof_t *p, const char *regex)
{
    return pp_set_regex(p, regex, p == NULL ? NULL : &p->drop_frames);
}

int lynx_pprof_set_keep_frames(lynx_pprof_t *p, const char *regex)
{
    return pp_set_regex(p, regex, p == NULL ? NULL : &p->keep_frames);
}

static void pp_sort_by_start(size_t *idx, size_t n, const lynx_module_t *mods)
{
    size_t i;
    size_t j;
    size_t v;

    /* Module lists are short (tens to a few hundred): insertion sort. */
    for (i = 1; i < n; i++) {
        v = idx[i];
        j = i;
        while (j > 0 && mods[idx[j - 1]].start > mods[v].start) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

int lynx_pprof_set_modules(lynx_pprof_t *p, const lynx_module_t *mods,
                           size_t nmods)
{
    lynx_module_t *copy;
    size_t *by_start;
    int *status;
    size_t i;

    if (p == NULL || (mods == NULL && nmods > 0)) {
        return -EINVAL;
    }
    for (i = 0; i < nmods; i++) {
        if (mods[i].limit <= mods[i].start ||
            mods[i].build_id_len > LYNX_BUILD_ID_MAX ||
            memchr(mods[i].path, '\0', sizeof(mods[i].path)) == NULL) {
            return -EINVAL;
        }
    }
    copy = calloc(nmods + 1, sizeof(*copy));
    by_start = calloc(nmods + 1, sizeof(*by_start));
    status = calloc(nmods + 1, sizeof(*status));
    if (copy == NULL || by_start == NULL || status == NULL) {
        free(copy);
        free(by_start);
        free(status);
        return -ENOMEM;
    }
    if (nmods > 0) {
        memcpy(copy, mods, nmods * sizeof(*copy));
    }
    for (i = 0; i < nmods; i++) {
        by_start[i] = i;
    }
    pp_sort_by_start(by_start, nmods, copy);
    free(p->mods);
    free(p->by_start);
    free(p->mod_status);
    p->mods = copy;
    p->by_start = by_start;
    p->mod_status = status;
    p->nmods = nmods;
    return 0;
}

/* Index of the module containing addr, or -1. */
static ssize_t pp_find_module(const lynx_pprof_t *p, uint64_t addr)
{
    size_t lo;
    size_t hi;
    size_t mid;
    size_t i;

    /* lo = number of modules with start <= addr */
    lo = 0;
    hi = p->nmods;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (p->mods[p->by_start[mid]].start <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    /* Usually the first candidate; walk back in case ranges overlap. */
    for (i = lo; i > 0; i--) {
        if (addr < p->mods[p->by_start[i - 1]].limit) {
            return (ssize_t)p->by_start[i - 1];
        }
    }
    return -1;
}

static int pp_add_sample(lynx_pprof_t *p, const uint64_t *pcs, size_t npcs,
                         int leaf_is_exact, const int64_t *values,
                         size_t nvalues, const lynx_label_t *labels,
                         size_t nlabels, int pseudo);

int lynx_pprof_add_sample(lynx_pprof_t *p, const uint64_t *pcs, size_t npcs,
                          int leaf_is_exact, const int64_t *values,
                          size_t nvalues, const lynx_label_t *labels,
                          size_t nlabels)
{
    return pp_add_sample(p, pcs, npcs, leaf_is_exact, values, nvalues, labels,
                         nlabels, 0);
}

int lynx_pprof_add_named_sample(lynx_pprof_t *p, const char *frame,
                                const int64_t *values, size_t nvalues,
                                const lynx_label_t *labels, size_t nlabels)
{
    int64_t s;
    uint64_t word;

    if (p == NULL || frame == NULL) {
        return -EINVAL;
    }
    if (pprof_str_intern(&p->strings, frame, &s) != 0) {
        return -ENOMEM;
    }
    word = PP_PSEUDO_BIT | (uint64_t)s;
    return pp_add_sample(p, &word, 1, 1, values, nvalues, labels, nlabels, 1);
}

static int pp_add_sample(lynx_pprof_t *p, const uint64_t *pcs, size_t npcs,
                         int leaf_is_exact, const int64_t *values,
                         size_t nvalues, const lynx_label_t *labels,
                         size_t nlabels, int pseudo)
{
    uint64_t *key;
    int64_t *sum;
    int64_t s;
    size_t len;
    size_t index;
    size_t i;
    int rc;

    if (p == NULL || (pcs == NULL && npcs > 0) || values == NULL ||
        nvalues == 0 || nvalues != p->ntypes ||
        (labels == NULL && nlabels > 0) || nlabels > 1024) {
        return -EINVAL;
    }
    for (i = 0; i < nlabels; i++) {
        if (labels[i].key == NULL) {
            return -EINVAL;
        }
    }
    if (npcs > LYNX_PPROF_MAX_DEPTH) {
        npcs = LYNX_PPROF_MAX_DEPTH;
    }
    len = 1 + npcs + 4 * nlabels;
    if (LYNX_ARRAY_RESERVE(p->scratch, p->capscratch, len) != 0) {
        return -ENOMEM;
    }
    key = p->scratch;
    key[0] = npcs;
    for (i = 0; i < npcs; i++) {
        /* Return addresses point after the call: look up the call. */
        key[1 + i] = pcs[i];
        if ((i > 0 || !leaf_is_exact) && pcs[i] > 0) {
            key[1 + i] = pcs[i] - 1;
        }
        if (!pseudo) {
            key[1 + i] &= ~PP_PSEUDO_BIT;
        }
    }
    for (i = 0; i < nlabels; i++) {
        uint64_t *w = key + 1 + npcs + 4 * i;

        if (pprof_str_intern(&p->strings, labels[i].key, &s) != 0) {
            return -ENOMEM;
        }
        w[0] = (uint64_t)s;
        w[1] = 0;
        w[2] = 0;
        w[3] = 0;
        if (labels[i].str != NULL) {
            if (pprof_str_intern(&p->strings, labels[i].str, &s) != 0) {
                return -ENOMEM;
            }
            w[1] = (uint64_t)s;
        } else {
            w[2] = (uint64_t)labels[i].num;
            if (labels[i].num_unit != NULL) {
                if (pprof_str_intern(&p->strings, labels[i].num_unit, &s) !=
                    0) {
                    return -ENOMEM;
                }
                w[3] = (uint64_t)s;
            }
        }
    }

    p->stacks.nvalues = p->ntypes;
    rc = pprof_seq_intern(&p->stacks, key, len, &index);
    if (rc < 0) {
        return rc;
    }
    sum = pprof_seq_values(&p->stacks, index);
    for (i = 0; i < nvalues; i++) {
        /* Wrap instead of overflowing (undefined behaviour): a counter that
         * wraps is wrong either way, but never crashes. */
        sum[i] = (int64_t)((uint64_t)sum[i] + (uint64_t)values[i]);
    }
    return 0;
}

size_t lynx_pprof_nsamples(const lynx_pprof_t *p)
{
    return p->stacks.n;
}

int64_t lynx_pprof_total(const lynx_pprof_t *p, size_t type)
{
    uint64_t sum = 0;

    if (p == NULL || type >= p->ntypes) {
        return 0;
    }
    for (size_t i = 0; i < p->stacks.n; i++) {
        sum += (uint64_t)pprof_seq_values(&p->stacks, i)[type];
    }
    return (int64_t)sum;
}

int lynx_pprof_module_status(const lynx_pprof_t *p, size_t i)
{
    if (p == NULL || i >= p->nmods) {
        return -EINVAL;
    }
    return p->mod_status[i];
}

int pprof_module_note(const lynx_pprof_t *p, size_t i, char *buf, size_t size)
{
    if (p->mod_status[i] == 0 || p->mods[i].path[0] != '/') {
        return 0;
    }
    lynx_symbolize_note(p->mods[i].path, p->mod_status[i], buf, size);
    return 1;
}

/* ---- resolving addresses ---- */

void pprof_resolved_fini(pprof_resolved_t *r)
{
    pprof_seq_fini(&r->locs);
    pprof_seq_fini(&r->funcs);
    free(r->loc);
    free(r->lines);
    free(r->loc_of);
    free(r->mflags);
}

static int pp_resolve_frames(lynx_pprof_t *p, pprof_resolved_t *r,
                             pprof_loc_t *loc, size_t mi,
                             const lynx_frame_t *frames, size_t n)
{
    uint64_t fkey[4];
    int64_t s;
    size_t fi;
    size_t k;

    if (LYNX_ARRAY_RESERVE(r->lines, r->caplines, r->nlines + n) != 0) {
        return -ENOMEM;
    }
    for (k = 0; k < n; k++) {
        const lynx_frame_t *f = &frames[k];

        if (f->function == NULL) {
            continue;
        }
        if (pprof_str_intern(&p->strings, f->function, &s) != 0) {
            return -ENOMEM;
        }
        fkey[0] = (uint64_t)s;
        if (pprof_str_intern(&p->strings,
                             f->system_name != NULL ? f->system_name
                                                    : f->function,
                             &s) != 0) {
            return -ENOMEM;
        }
        fkey[1] = (uint64_t)s;
        if (pprof_str_intern(&p->strings, f->file, &s) != 0) {
            return -ENOMEM;
        }
        fkey[2] = (uint64_t)s;
        fkey[3] = (uint64_t)f->start_line;
        if (pprof_seq_intern(&r->funcs, fkey, 4, &fi) < 0) {
            return -ENOMEM;
        }
        r->lines[r->nlines].func = fi;
        r->lines[r->nlines].line = f->line;
        r->nlines++;
        loc->nlines++;
        r->mflags[mi] |= PP_HAS_FUNCTIONS;
        if (f->file != NULL) {
            r->mflags[mi] |= PP_HAS_FILENAMES;
        }
        if (f->line > 0) {
            r->mflags[mi] |= PP_HAS_LINES;
        }
    }
    return 0;
}

/* Fill location `li` for address `addr`. */
static int pp_resolve_loc(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          pprof_resolved_t *r, size_t li, uint64_t addr)
{
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    pprof_loc_t *loc;
    ssize_t mi;
    size_t n;
    int rc;

    if (LYNX_ARRAY_RESERVE(r->loc, r->caploc, li + 1) != 0) {
        return -ENOMEM;
    }
    loc = &r->loc[li];
    memset(loc, 0, sizeof(*loc));
    loc->addr = addr;
    loc->line_off = r->nlines;
    if (addr & PP_PSEUDO_BIT) {
        /* A named pseudo-frame: no address, no module; its function
         * flags go to the spare mflags entry past the modules. */
        lynx_frame_t f;
        memset(&f, 0, sizeof(f));
        f.function = p->strings.strs[addr & ~PP_PSEUDO_BIT];
        loc->addr = 0;
        return pp_resolve_frames(p, r, loc, p->nmods, &f, 1);
    }
    mi = pp_find_module(p, addr);
    if (mi < 0) {
        return 0;
    }
    loc->mapping = (size_t)mi + 1;
    if (sym == NULL) {
        return 0;
    }
    n = 0;
    rc = lynx_symbolize(sym, &p->mods[mi], addr, frames, LYNX_SYM_MAX_FRAMES,
                        &n);
    if (rc == -ENOMEM) {
        return rc;
    }
    if (rc < 0) {
        if (p->mod_status[mi] == 0) {
            p->mod_status[mi] = rc;
        }
        return 0;
    }
    if (rc > 0) {
        p->mod_status[mi] = rc; /* LYNX_SYM_NODEBUG: said, not an error */
    }
    return pp_resolve_frames(p, r, loc, (size_t)mi, frames, n);
}

int pprof_resolve(lynx_pprof_t *p, lynx_symbolizer_t *sym, pprof_resolved_t *r)
{
    const uint64_t *key;
    size_t npcs;
    size_t off;
    size_t li;
    size_t i;
    size_t j;
    int rc;

    memset(r, 0, sizeof(*r));
    r->loc_of = calloc(p->stacks.nkeys + 1, sizeof(*r->loc_of));
    r->mflags = calloc(p->nmods + 1, sizeof(*r->mflags));
    if (r->loc_of == NULL || r->mflags == NULL) {
        return -ENOMEM;
    }
    for (i = 0; i < p->nmods; i++) {
        p->mod_status[i] = 0;
    }
    for (i = 0; i < p->stacks.n; i++) {
        off = p->stacks.entries[i].key_off;
        key = pprof_seq_key(&p->stacks, i);
        npcs = (size_t)key[0];
        for (j = 0; j < npcs; j++) {
            rc = pprof_seq_intern(&r->locs, &key[1 + j], 1, &li);
            if (rc < 0) {
                return rc;
            }
            if (rc == 1) {
                rc = pp_resolve_loc(p, sym, r, li, key[1 + j]);
                if (rc < 0) {
                    return rc;
                }
            }
            r->loc_of[off + 1 + j] = li + 1;
        }
    }
    return 0;
}
