/*
 * client/pprof.c - pprof profile builder: merges raw stacks, symbolizes each
 * distinct address once, and writes profile.proto (protobuf-c, zlib), or
 * flame JSON (json-c) or folded text from the same data.
 *
 * Workload: up to some 100,000 distinct stacks of up to a few hundred
 * frames per profile, added one sample at a time (millions of adds for a
 * long CPU profile), a few thousand distinct addresses.  Everything that is
 * looked up by value goes through one structure, the sequence table below:
 * an open-addressing hash table (linear probing, at most half full) over
 * sequences of 64-bit words stored in one growable arena, each entry with an
 * optional row of int64 values.  It serves for stacks (words: the stack and
 * its labels; values: the summed sample values), locations (the address),
 * functions (four string indices) and flame stacks.  Strings have their own
 * interning table, which is the profile's string table ("" at index 0).
 */
#include "client/pprof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <zlib.h>

#include "client/profile.pb-c.h"

#define PP_HAS_FUNCTIONS 0x1
#define PP_HAS_FILENAMES 0x2
#define PP_HAS_LINES 0x4

/* ---- hashing ---- */

static uint64_t pp_finish(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static uint64_t pp_hash_words(const uint64_t *w, size_t n)
{
    uint64_t h;
    size_t i;

    h = 0x9e3779b97f4a7c15ULL ^ n;
    for (i = 0; i < n; i++) {
        h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
    }
    return pp_finish(h);
}

static uint64_t pp_hash_string(const char *s)
{
    uint64_t h;

    h = 0xcbf29ce484222325ULL;
    while (*s != '\0') {
        h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
    }
    return pp_finish(h);
}

/* Grow *ptr (of *cap elements of `size` bytes) to hold `need` elements. */
static int pp_reserve(void *ptr, size_t *cap, size_t need, size_t size)
{
    void **p = ptr;
    size_t ncap;
    void *np;

    if (need <= *cap) {
        return 0;
    }
    ncap = *cap > 0 ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size) {
            return -ENOMEM;
        }
        ncap *= 2;
    }
    np = realloc(*p, ncap * size);
    if (np == NULL) {
        return -ENOMEM;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

/* ---- sequence table ---- */

typedef struct pp_entry {
    size_t key_off; /* first word in pp_seqtab.keys */
    size_t key_len; /* words */
    uint64_t hash;
} pp_entry_t;

typedef struct pp_seqtab {
    uint64_t *keys; /* arena of all keys, nkeys words used */
    size_t nkeys;
    size_t capkeys;
    pp_entry_t *entries; /* n used, in insertion order */
    size_t n;
    size_t cap;
    int64_t *values; /* nvalues per entry, capvalues rows allocated */
    size_t capvalues;
    size_t nvalues;  /* fixed before the first insertion */
    uint32_t *slots; /* nslots (power of 2): entry index + 1, 0 = free */
    size_t nslots;
} pp_seqtab_t;

static void seq_fini(pp_seqtab_t *t)
{
    free(t->keys);
    free(t->entries);
    free(t->values);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static int seq_grow_slots(pp_seqtab_t *t)
{
    uint32_t *slots;
    size_t nslots;
    size_t mask;
    size_t i;
    size_t j;

    nslots = t->nslots > 0 ? t->nslots * 2 : 64;
    slots = calloc(nslots, sizeof(*slots));
    if (slots == NULL) {
        return -ENOMEM;
    }
    mask = nslots - 1;
    for (i = 0; i < t->n; i++) {
        j = (size_t)t->entries[i].hash & mask;
        while (slots[j] != 0) {
            j = (j + 1) & mask;
        }
        slots[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

/*
 * Find `key` (len words) or insert it with zeroed values.  Sets *index.
 * Returns 1 if inserted, 0 if found, -ENOMEM (table unchanged).
 */
static int seq_intern(pp_seqtab_t *t, const uint64_t *key, size_t len,
                      size_t *index)
{
    const pp_entry_t *e;
    uint64_t hash;
    size_t mask;
    size_t i;

    if ((t->n + 1) * 2 > t->nslots && seq_grow_slots(t) != 0) {
        return -ENOMEM;
    }
    hash = pp_hash_words(key, len);
    mask = t->nslots - 1;
    i = (size_t)hash & mask;
    while (t->slots[i] != 0) {
        e = &t->entries[t->slots[i] - 1];
        if (e->hash == hash && e->key_len == len &&
            memcmp(t->keys + e->key_off, key, len * sizeof(*key)) == 0) {
            *index = t->slots[i] - 1;
            return 0;
        }
        i = (i + 1) & mask;
    }

    if (t->n >= UINT32_MAX - 1 || len > SIZE_MAX / 8 - t->nkeys) {
        return -ENOMEM;
    }
    /* One key more than needed: keys is never NULL once a key is in,
     * even when every key is empty (a sample without frames, whose key
     * may be NULL), so that seq_key() never offsets a null pointer. */
    if (pp_reserve(&t->keys, &t->capkeys, t->nkeys + len + 1,
                   sizeof(*t->keys)) ||
        pp_reserve(&t->entries, &t->cap, t->n + 1, sizeof(*t->entries)) ||
        (t->nvalues > 0 && pp_reserve(&t->values, &t->capvalues, t->n + 1,
                                      t->nvalues * sizeof(*t->values)))) {
        return -ENOMEM;
    }
    if (len > 0) {
        memcpy(t->keys + t->nkeys, key, len * sizeof(*key));
    }
    t->entries[t->n].key_off = t->nkeys;
    t->entries[t->n].key_len = len;
    t->entries[t->n].hash = hash;
    t->nkeys += len;
    if (t->nvalues > 0) {
        memset(t->values + t->n * t->nvalues, 0,
               t->nvalues * sizeof(*t->values));
    }
    t->slots[i] = (uint32_t)(t->n + 1);
    *index = t->n++;
    return 1;
}

static const uint64_t *seq_key(const pp_seqtab_t *t, size_t i)
{
    return t->keys + t->entries[i].key_off;
}

static int64_t *seq_values(const pp_seqtab_t *t, size_t i)
{
    return t->values + i * t->nvalues;
}

/* ---- string table ---- */

typedef struct pp_strtab {
    char **strs;      /* n used; strs[0] = "" */
    uint64_t *hashes; /* parallel to strs */
    size_t n;
    size_t cap;
    size_t hcap;
    uint32_t *slots; /* string index + 1, 0 = free; nslots power of 2 */
    size_t nslots;
} pp_strtab_t;

static void str_fini(pp_strtab_t *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->strs[i]);
    }
    free(t->strs);
    free(t->hashes);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static int str_grow_slots(pp_strtab_t *t)
{
    uint32_t *slots;
    size_t nslots;
    size_t i;
    size_t j;

    nslots = t->nslots > 0 ? t->nslots * 2 : 256;
    slots = calloc(nslots, sizeof(*slots));
    if (slots == NULL) {
        return -ENOMEM;
    }
    for (i = 0; i < t->n; i++) {
        j = (size_t)t->hashes[i] & (nslots - 1);
        while (slots[j] != 0) {
            j = (j + 1) & (nslots - 1);
        }
        slots[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

/* Index of `s` (NULL means ""), added if new; -ENOMEM. */
static int str_intern(pp_strtab_t *t, const char *s, int64_t *index)
{
    uint64_t hash;
    size_t i;
    char *copy;

    if (s == NULL) {
        s = "";
    }
    if ((t->n + 1) * 2 > t->nslots && str_grow_slots(t) != 0) {
        return -ENOMEM;
    }
    hash = pp_hash_string(s);
    i = (size_t)hash & (t->nslots - 1);
    while (t->slots[i] != 0) {
        if (t->hashes[t->slots[i] - 1] == hash &&
            strcmp(t->strs[t->slots[i] - 1], s) == 0) {
            *index = (int64_t)(t->slots[i] - 1);
            return 0;
        }
        i = (i + 1) & (t->nslots - 1);
    }
    if (t->n >= UINT32_MAX - 1 ||
        pp_reserve(&t->strs, &t->cap, t->n + 1, sizeof(*t->strs)) != 0 ||
        pp_reserve(&t->hashes, &t->hcap, t->n + 1, sizeof(*t->hashes)) != 0) {
        return -ENOMEM;
    }
    copy = strdup(s);
    if (copy == NULL) {
        return -ENOMEM;
    }
    t->strs[t->n] = copy;
    t->hashes[t->n] = hash;
    t->slots[i] = (uint32_t)(t->n + 1);
    *index = (int64_t)t->n++;
    return 0;
}

/* ---- the builder ---- */

struct lynx_pprof {
    pp_strtab_t strings; /* the profile's string table */
    int64_t *types;      /* 2 string indices (type, unit) per sample type */
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
    pp_seqtab_t stacks;
    uint64_t *scratch; /* key being built by add_sample */
    size_t capscratch;
};

lynx_pprof_t *lynx_pprof_create(void)
{
    lynx_pprof_t *p;
    int64_t index;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    if (str_intern(&p->strings, "", &index) != 0) {
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
    str_fini(&p->strings);
    seq_fini(&p->stacks);
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
    if (str_intern(&p->strings, type, &t) != 0 ||
        str_intern(&p->strings, unit, &u) != 0 ||
        pp_reserve(&p->types, &p->captypes, 2 * (p->ntypes + 1),
                   sizeof(*p->types)) != 0) {
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
    if (str_intern(&p->strings, type, &t) != 0 ||
        str_intern(&p->strings, unit, &u) != 0) {
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

int lynx_pprof_add_comment(lynx_pprof_t *p, const char *text)
{
    int64_t s;

    if (p == NULL || text == NULL) {
        return -EINVAL;
    }
    if (str_intern(&p->strings, text, &s) != 0 ||
        pp_reserve(&p->comments, &p->capcomments, p->ncomments + 1,
                   sizeof(*p->comments)) != 0) {
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
    if (regex != NULL && str_intern(&p->strings, regex, &s) != 0) {
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

/* A stack word with this bit holds the string index of a pseudo-frame's
 * name (lynx_pprof_add_named_sample), not an address: no user-space
 * address has it, and lynx_pprof_add_sample clears it from addresses. */
#define PP_PSEUDO_BIT (1ULL << 63)

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
    if (str_intern(&p->strings, frame, &s) != 0) {
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
    if (pp_reserve(&p->scratch, &p->capscratch, len, sizeof(*key)) != 0) {
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

        if (str_intern(&p->strings, labels[i].key, &s) != 0) {
            return -ENOMEM;
        }
        w[0] = (uint64_t)s;
        w[1] = 0;
        w[2] = 0;
        w[3] = 0;
        if (labels[i].str != NULL) {
            if (str_intern(&p->strings, labels[i].str, &s) != 0) {
                return -ENOMEM;
            }
            w[1] = (uint64_t)s;
        } else {
            w[2] = (uint64_t)labels[i].num;
            if (labels[i].num_unit != NULL) {
                if (str_intern(&p->strings, labels[i].num_unit, &s) != 0) {
                    return -ENOMEM;
                }
                w[3] = (uint64_t)s;
            }
        }
    }

    p->stacks.nvalues = p->ntypes;
    rc = seq_intern(&p->stacks, key, len, &index);
    if (rc < 0) {
        return rc;
    }
    sum = seq_values(&p->stacks, index);
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

int lynx_pprof_module_status(const lynx_pprof_t *p, size_t i)
{
    if (p == NULL || i >= p->nmods) {
        return -EINVAL;
    }
    return p->mod_status[i];
}

/*
 * The note for module i if it gave no symbols, or no debug info, in the
 * last resolve ("no symbols for <path>: <reason>", "no debug info for
 * <path>: ...", see lynx_symbolize_note()) into buf;
 * 1 if there is one, 0 if not.  The vDSO and records without an absolute
 * path are not files anyone could fix, so they get none.
 */
static int pp_module_note(const lynx_pprof_t *p, size_t i, char *buf,
                          size_t size)
{
    if (p->mod_status[i] == 0 || p->mods[i].path[0] != '/') {
        return 0;
    }
    lynx_symbolize_note(p->mods[i].path, p->mod_status[i], buf, size);
    return 1;
}

/* ---- resolving addresses ---- */

typedef struct pp_line {
    size_t func;  /* index in pp_resolved.funcs */
    int64_t line; /* 0 if unknown */
} pp_line_t;

typedef struct pp_loc {
    uint64_t addr;   /* adjusted runtime address */
    size_t mapping;  /* module index + 1, 0 for none */
    size_t line_off; /* first of its lines in pp_resolved.lines */
    size_t nlines;   /* innermost first */
} pp_loc_t;

typedef struct pp_resolved {
    pp_seqtab_t locs; /* key: the address; index = location index */
    pp_loc_t *loc;    /* parallel to locs entries */
    size_t caploc;
    pp_line_t *lines;
    size_t nlines;
    size_t caplines;
    pp_seqtab_t funcs; /* key: name, system name, file, start line */
    uint64_t *loc_of;  /* per word of p->stacks.keys: location index + 1
                          where the word is a pc, else 0 */
    uint8_t *mflags;   /* per module: PP_HAS_* */
} pp_resolved_t;

static void pp_resolved_fini(pp_resolved_t *r)
{
    seq_fini(&r->locs);
    seq_fini(&r->funcs);
    free(r->loc);
    free(r->lines);
    free(r->loc_of);
    free(r->mflags);
}

static int pp_resolve_frames(lynx_pprof_t *p, pp_resolved_t *r, pp_loc_t *loc,
                             size_t mi, const lynx_frame_t *frames, size_t n)
{
    uint64_t fkey[4];
    int64_t s;
    size_t fi;
    size_t k;

    if (pp_reserve(&r->lines, &r->caplines, r->nlines + n, sizeof(*r->lines)) !=
        0) {
        return -ENOMEM;
    }
    for (k = 0; k < n; k++) {
        const lynx_frame_t *f = &frames[k];

        if (f->function == NULL) {
            continue;
        }
        if (str_intern(&p->strings, f->function, &s) != 0) {
            return -ENOMEM;
        }
        fkey[0] = (uint64_t)s;
        if (str_intern(&p->strings,
                       f->system_name != NULL ? f->system_name : f->function,
                       &s) != 0) {
            return -ENOMEM;
        }
        fkey[1] = (uint64_t)s;
        if (str_intern(&p->strings, f->file, &s) != 0) {
            return -ENOMEM;
        }
        fkey[2] = (uint64_t)s;
        fkey[3] = (uint64_t)f->start_line;
        if (seq_intern(&r->funcs, fkey, 4, &fi) < 0) {
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
                          pp_resolved_t *r, size_t li, uint64_t addr)
{
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    pp_loc_t *loc;
    ssize_t mi;
    size_t n;
    int rc;

    if (pp_reserve(&r->loc, &r->caploc, li + 1, sizeof(*r->loc)) != 0) {
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

/* Symbolize every distinct address of every stack, each once. */
static int pp_resolve(lynx_pprof_t *p, lynx_symbolizer_t *sym, pp_resolved_t *r)
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
        key = seq_key(&p->stacks, i);
        npcs = (size_t)key[0];
        for (j = 0; j < npcs; j++) {
            rc = seq_intern(&r->locs, &key[1 + j], 1, &li);
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

/* ---- profile.proto ---- */

static int pp_hex(lynx_pprof_t *p, const uint8_t *bytes, size_t n,
                  int64_t *index)
{
    static const char digits[] = "0123456789abcdef";
    char hex[2 * LYNX_BUILD_ID_MAX + 1];
    size_t i;

    for (i = 0; i < n && i < LYNX_BUILD_ID_MAX; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    hex[2 * i] = '\0';
    return str_intern(&p->strings, hex, index);
}

static int pp_gzip(const uint8_t *in, size_t in_len, uint8_t **out,
                   size_t *out_len)
{
    z_stream zs;
    uint8_t *buf;
    uLong bound;
    int rc;

    if (in_len > UINT32_MAX) {
        return -EFBIG; /* one deflate() call; profiles are far smaller */
    }
    memset(&zs, 0, sizeof(zs));
    /* 15 + 16: gzip wrapper.  Best speed, as Go serves its profiles. */
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -ENOMEM;
    }
    bound = deflateBound(&zs, (uLong)in_len) + 32;
    buf = malloc(bound);
    if (buf == NULL) {
        deflateEnd(&zs);
        return -ENOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&zs);
        free(buf);
        return -ENOMEM;
    }
    *out_len = zs.total_out;
    deflateEnd(&zs);
    *out = buf;
    return 0;
}

int lynx_pprof_encode(lynx_pprof_t *p, lynx_symbolizer_t *sym, int gzip,
                      uint8_t **out, size_t *out_len)
{
    Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
    Perftools__Profiles__ValueType period_type =
        PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    Perftools__Profiles__ValueType *types = NULL;
    Perftools__Profiles__ValueType **typep = NULL;
    Perftools__Profiles__Sample *samples = NULL;
    Perftools__Profiles__Sample **samplep = NULL;
    Perftools__Profiles__Label *labels = NULL;
    Perftools__Profiles__Label **labelp = NULL;
    Perftools__Profiles__Mapping *maps = NULL;
    Perftools__Profiles__Mapping **mapp = NULL;
    Perftools__Profiles__Location *locs = NULL;
    Perftools__Profiles__Location **locp = NULL;
    Perftools__Profiles__Line *lines = NULL;
    Perftools__Profiles__Line **linep = NULL;
    Perftools__Profiles__Function *funcs = NULL;
    Perftools__Profiles__Function **funcp = NULL;
    pp_resolved_t r;
    int64_t *comments = NULL;
    size_t ncomments;
    char note[LYNX_MODULE_PATH_MAX + 200];
    uint8_t *buf = NULL;
    size_t nlabels;
    size_t size;
    size_t i;
    size_t k;
    int rc;

    if (p == NULL || out == NULL || out_len == NULL) {
        return -EINVAL;
    }
    rc = pp_resolve(p, sym, &r);
    if (rc < 0) {
        goto done;
    }
    rc = -ENOMEM;

    /* This encode's comments: the builder's, then one per module without
     * symbols, so that `pprof -comments` says why frames are bare. */
    comments = calloc(p->ncomments + p->nmods + 1, sizeof(*comments));
    if (comments == NULL) {
        goto done;
    }
    ncomments = p->ncomments;
    if (ncomments > 0) {
        memcpy(comments, p->comments, ncomments * sizeof(*comments));
    }
    for (i = 0; i < p->nmods; i++) {
        if (pp_module_note(p, i, note, sizeof(note)) &&
            str_intern(&p->strings, note, &comments[ncomments++]) != 0) {
            goto done;
        }
    }

    /* Mapping strings first: interning may move the string table. */
    maps = calloc(p->nmods + 1, sizeof(*maps));
    mapp = calloc(p->nmods + 1, sizeof(*mapp));
    if (maps == NULL || mapp == NULL) {
        goto done;
    }
    for (i = 0; i < p->nmods; i++) {
        const lynx_module_t *m = &p->mods[i];
        Perftools__Profiles__Mapping *pm = &maps[i];

        perftools__profiles__mapping__init(pm);
        pm->id = i + 1;
        pm->memory_start = m->start;
        pm->memory_limit = m->limit;
        pm->file_offset = m->file_offset;
        if (str_intern(&p->strings, m->path, &pm->filename) != 0 ||
            (m->build_id_len > 0 &&
             pp_hex(p, m->build_id, m->build_id_len, &pm->build_id) != 0)) {
            goto done;
        }
        pm->has_functions = (r.mflags[i] & PP_HAS_FUNCTIONS) != 0;
        pm->has_filenames = (r.mflags[i] & PP_HAS_FILENAMES) != 0;
        pm->has_line_numbers = (r.mflags[i] & PP_HAS_LINES) != 0;
        /* Line numbers come from DWARF, which also gave the inlined frames. */
        pm->has_inline_frames = pm->has_line_numbers;
        mapp[i] = pm;
    }

    types = calloc(p->ntypes + 1, sizeof(*types));
    typep = calloc(p->ntypes + 1, sizeof(*typep));
    if (types == NULL || typep == NULL) {
        goto done;
    }
    for (i = 0; i < p->ntypes; i++) {
        perftools__profiles__value_type__init(&types[i]);
        types[i].type = p->types[2 * i];
        types[i].unit = p->types[2 * i + 1];
        typep[i] = &types[i];
    }

    nlabels = 0;
    for (i = 0; i < p->stacks.n; i++) {
        const uint64_t *key = seq_key(&p->stacks, i);

        nlabels += (p->stacks.entries[i].key_len - 1 - (size_t)key[0]) / 4;
    }
    samples = calloc(p->stacks.n + 1, sizeof(*samples));
    samplep = calloc(p->stacks.n + 1, sizeof(*samplep));
    labels = calloc(nlabels + 1, sizeof(*labels));
    labelp = calloc(nlabels + 1, sizeof(*labelp));
    if (samples == NULL || samplep == NULL || labels == NULL ||
        labelp == NULL) {
        goto done;
    }
    nlabels = 0;
    for (i = 0; i < p->stacks.n; i++) {
        const uint64_t *key = seq_key(&p->stacks, i);
        size_t npcs = (size_t)key[0];
        size_t nl = (p->stacks.entries[i].key_len - 1 - npcs) / 4;
        Perftools__Profiles__Sample *s = &samples[i];

        perftools__profiles__sample__init(s);
        s->n_location_id = npcs;
        s->location_id = r.loc_of + p->stacks.entries[i].key_off + 1;
        s->n_value = p->stacks.nvalues;
        s->value = seq_values(&p->stacks, i);
        s->n_label = nl;
        s->label = labelp + nlabels;
        for (k = 0; k < nl; k++) {
            const uint64_t *w = key + 1 + npcs + 4 * k;
            Perftools__Profiles__Label *l = &labels[nlabels];

            perftools__profiles__label__init(l);
            l->key = (int64_t)w[0];
            l->str = (int64_t)w[1];
            l->num = (int64_t)w[2];
            l->num_unit = (int64_t)w[3];
            labelp[nlabels++] = l;
        }
        samplep[i] = s;
    }

    locs = calloc(r.locs.n + 1, sizeof(*locs));
    locp = calloc(r.locs.n + 1, sizeof(*locp));
    lines = calloc(r.nlines + 1, sizeof(*lines));
    linep = calloc(r.nlines + 1, sizeof(*linep));
    if (locs == NULL || locp == NULL || lines == NULL || linep == NULL) {
        goto done;
    }
    for (i = 0; i < r.nlines; i++) {
        perftools__profiles__line__init(&lines[i]);
        lines[i].function_id = r.lines[i].func + 1;
        lines[i].line = r.lines[i].line;
        linep[i] = &lines[i];
    }
    for (i = 0; i < r.locs.n; i++) {
        perftools__profiles__location__init(&locs[i]);
        locs[i].id = i + 1;
        locs[i].mapping_id = r.loc[i].mapping;
        locs[i].address = r.loc[i].addr;
        locs[i].n_line = r.loc[i].nlines;
        locs[i].line = linep + r.loc[i].line_off;
        locp[i] = &locs[i];
    }

    funcs = calloc(r.funcs.n + 1, sizeof(*funcs));
    funcp = calloc(r.funcs.n + 1, sizeof(*funcp));
    if (funcs == NULL || funcp == NULL) {
        goto done;
    }
    for (i = 0; i < r.funcs.n; i++) {
        const uint64_t *key = seq_key(&r.funcs, i);

        perftools__profiles__function__init(&funcs[i]);
        funcs[i].id = i + 1;
        funcs[i].name = (int64_t)key[0];
        funcs[i].system_name = (int64_t)key[1];
        funcs[i].filename = (int64_t)key[2];
        funcs[i].start_line = (int64_t)key[3];
        funcp[i] = &funcs[i];
    }

    prof.n_sample_type = p->ntypes;
    prof.sample_type = typep;
    prof.n_sample = p->stacks.n;
    prof.sample = samplep;
    prof.n_mapping = p->nmods;
    prof.mapping = mapp;
    prof.n_location = r.locs.n;
    prof.location = locp;
    prof.n_function = r.funcs.n;
    prof.function = funcp;
    prof.n_string_table = p->strings.n;
    prof.string_table = p->strings.strs;
    prof.drop_frames = p->drop_frames;
    prof.keep_frames = p->keep_frames;
    prof.time_nanos = p->time_nanos;
    prof.duration_nanos = p->duration_nanos;
    if (p->has_period) {
        period_type.type = p->period_type;
        period_type.unit = p->period_unit;
        prof.period_type = &period_type;
        prof.period = p->period;
    }
    prof.n_comment = ncomments;
    prof.comment = comments;
    prof.default_sample_type = p->default_type;

    size = perftools__profiles__profile__get_packed_size(&prof);
    buf = malloc(size + 1);
    if (buf == NULL) {
        goto done;
    }
    perftools__profiles__profile__pack(&prof, buf);
    if (gzip) {
        rc = pp_gzip(buf, size, out, out_len);
        if (rc < 0) {
            goto done;
        }
    } else {
        *out = buf;
        *out_len = size;
        buf = NULL;
    }
    rc = 0;

done:
    free(comments);
    free(buf);
    free(types);
    free(typep);
    free(samples);
    free(samplep);
    free(labels);
    free(labelp);
    free(maps);
    free(mapp);
    free(locs);
    free(locp);
    free(lines);
    free(linep);
    free(funcs);
    free(funcp);
    pp_resolved_fini(&r);
    return rc;
}

/* ---- flame graph data ---- */

typedef struct pp_flame {
    pp_seqtab_t names;  /* key: string index of a frame name; index = id */
    pp_seqtab_t stacks; /* key: frame ids, root first; values as samples */
} pp_flame_t;

static void pp_flame_fini(pp_flame_t *fl)
{
    seq_fini(&fl->names);
    seq_fini(&fl->stacks);
}

/* Flame id of the frame name with string index s. */
static int pp_flame_name(pp_flame_t *fl, int64_t s, uint64_t *id)
{
    uint64_t key;
    size_t index;

    key = (uint64_t)s;
    if (seq_intern(&fl->names, &key, 1, &index) < 0) {
        return -ENOMEM;
    }
    *id = index;
    return 0;
}

/* Name of an address without symbols: "libfoo.so+0x1a2b" or "0x7f..". */
static int pp_unknown_name(lynx_pprof_t *p, const pp_loc_t *loc, int64_t *s)
{
    char name[LYNX_MODULE_PATH_MAX + 32];
    const lynx_module_t *m;
    const char *base;

    if (loc->mapping == 0) {
        snprintf(name, sizeof(name), "0x%" PRIx64, loc->addr);
    } else {
        m = &p->mods[loc->mapping - 1];
        base = strrchr(m->path, '/');
        base = base != NULL ? base + 1 : m->path;
        snprintf(name, sizeof(name), "%s+0x%" PRIx64, base,
                 loc->addr - m->start + m->file_offset);
    }
    return str_intern(&p->strings, name, s);
}

static int pp_flame_build(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          pp_flame_t *fl)
{
    pp_resolved_t r;
    uint64_t *frames = NULL;
    size_t capframes = 0;
    size_t nframes;
    size_t index;
    int64_t *sum;
    int64_t s;
    size_t i;
    size_t j;
    size_t k;
    int rc;

    memset(fl, 0, sizeof(*fl));
    fl->stacks.nvalues = p->ntypes;
    rc = pp_resolve(p, sym, &r);
    if (rc < 0) {
        goto done;
    }
    for (i = 0; i < p->stacks.n; i++) {
        const uint64_t *key = seq_key(&p->stacks, i);
        const uint64_t *loc_of = r.loc_of + p->stacks.entries[i].key_off + 1;
        size_t npcs = (size_t)key[0];

        nframes = 0;
        for (j = npcs; j > 0; j--) {
            const pp_loc_t *loc = &r.loc[loc_of[j - 1] - 1];
            size_t need = nframes + (loc->nlines > 0 ? loc->nlines : 1);

            rc = pp_reserve(&frames, &capframes, need, sizeof(*frames));
            if (rc < 0) {
                goto done;
            }
            if (loc->nlines == 0) {
                rc = pp_unknown_name(p, loc, &s);
                if (rc == 0) {
                    rc = pp_flame_name(fl, s, &frames[nframes++]);
                }
                if (rc < 0) {
                    goto done;
                }
                continue;
            }
            /* Root first: the real function, then what was inlined in it. */
            for (k = loc->nlines; k > 0; k--) {
                const pp_line_t *ln = &r.lines[loc->line_off + k - 1];

                s = (int64_t)seq_key(&r.funcs, ln->func)[0];
                rc = pp_flame_name(fl, s, &frames[nframes++]);
                if (rc < 0) {
                    goto done;
                }
            }
        }
        rc = seq_intern(&fl->stacks, frames, nframes, &index);
        if (rc < 0) {
            goto done;
        }
        sum = seq_values(&fl->stacks, index);
        for (k = 0; k < p->ntypes; k++) {
            sum[k] = (int64_t)((uint64_t)sum[k] +
                               (uint64_t)seq_values(&p->stacks, i)[k]);
        }
    }
    rc = 0;

done:
    free(frames);
    pp_resolved_fini(&r);
    return rc;
}

static size_t pp_default_index(const lynx_pprof_t *p)
{
    size_t i;

    for (i = 0; i < p->ntypes; i++) {
        if (p->default_type != 0 && p->types[2 * i] == p->default_type) {
            return i;
        }
    }
    return p->ntypes > 0 ? p->ntypes - 1 : 0;
}

/* Append v to array a; -ENOMEM if v is NULL or the append fails. */
static int pp_json_add(json_object *a, json_object *v)
{
    if (v == NULL) {
        return -ENOMEM;
    }
    if (json_object_array_add(a, v) != 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

static int pp_json_set(json_object *o, const char *key, json_object *v)
{
    if (v == NULL) {
        return -ENOMEM;
    }
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

int lynx_pprof_flame_json(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          json_object **out)
{
    json_object *root = NULL;
    json_object *arr;
    json_object *item;
    json_object *ids;
    json_object *vals;
    pp_flame_t fl;
    size_t i;
    size_t k;
    int rc;

    if (p == NULL || out == NULL) {
        return -EINVAL;
    }
    rc = pp_flame_build(p, sym, &fl);
    if (rc < 0) {
        goto done;
    }
    rc = -ENOMEM;
    root = json_object_new_object();
    arr = json_object_new_array();
    if (root == NULL || pp_json_set(root, "sample_types", arr) != 0) {
        goto done;
    }
    for (i = 0; i < p->ntypes; i++) {
        item = json_object_new_object();
        if (pp_json_add(arr, item) != 0 ||
            pp_json_set(item, "type",
                        json_object_new_string(
                            p->strings.strs[p->types[2 * i]])) != 0 ||
            pp_json_set(item, "unit",
                        json_object_new_string(
                            p->strings.strs[p->types[2 * i + 1]])) != 0) {
            goto done;
        }
    }
    if (pp_json_set(root, "default_sample_type",
                    json_object_new_int64((int64_t)pp_default_index(p))) != 0) {
        goto done;
    }
    arr = json_object_new_array_ext((int)fl.names.n);
    if (pp_json_set(root, "functions", arr) != 0) {
        goto done;
    }
    for (i = 0; i < fl.names.n; i++) {
        const char *name = p->strings.strs[seq_key(&fl.names, i)[0]];

        if (pp_json_add(arr, json_object_new_string(name)) != 0) {
            goto done;
        }
    }
    arr = json_object_new_array_ext((int)fl.stacks.n);
    if (pp_json_set(root, "stacks", arr) != 0) {
        goto done;
    }
    for (i = 0; i < fl.stacks.n; i++) {
        const uint64_t *key = seq_key(&fl.stacks, i);
        size_t len = fl.stacks.entries[i].key_len;

        item = json_object_new_array_ext(2);
        ids = json_object_new_array_ext((int)len);
        vals = json_object_new_array_ext((int)p->ntypes);
        if (pp_json_add(arr, item) != 0) {
            json_object_put(ids);
            json_object_put(vals);
            goto done;
        }
        if (pp_json_add(item, ids) != 0) {
            json_object_put(vals);
            goto done;
        }
        if (pp_json_add(item, vals) != 0) {
            goto done;
        }
        for (k = 0; k < len; k++) {
            if (pp_json_add(ids, json_object_new_int64((int64_t)key[k])) != 0) {
                goto done;
            }
        }
        for (k = 0; k < p->ntypes; k++) {
            if (pp_json_add(vals, json_object_new_int64(
                                      seq_values(&fl.stacks, i)[k])) != 0) {
                goto done;
            }
        }
    }
    /* Modules without symbols, with why: the page shows them. */
    arr = json_object_new_array();
    if (pp_json_set(root, "unsymbolized", arr) != 0) {
        goto done;
    }
    for (i = 0; i < p->nmods; i++) {
        char note[LYNX_MODULE_PATH_MAX + 200];
        char reason[160];

        if (!pp_module_note(p, i, note, sizeof(note))) {
            continue;
        }
        item = json_object_new_object();
        if (pp_json_add(arr, item) != 0 ||
            pp_json_set(item, "path",
                        json_object_new_string(p->mods[i].path)) != 0 ||
            pp_json_set(item, "reason",
                        json_object_new_string(lynx_symbolize_reason(
                            p->mod_status[i], reason, sizeof(reason)))) !=
                0 ||
            pp_json_set(item, "message", json_object_new_string(note)) != 0 ||
            pp_json_set(item, "symbols",
                        json_object_new_boolean(p->mod_status[i] ==
                                                LYNX_SYM_NODEBUG)) != 0) {
            goto done;
        }
    }
    *out = root;
    root = NULL;
    rc = 0;

done:
    json_object_put(root);
    pp_flame_fini(&fl);
    return rc;
}

/* ---- folded text ---- */

typedef struct pp_buf {
    char *data;
    size_t len;
    size_t cap;
} pp_buf_t;

static int pp_buf_add(pp_buf_t *b, const char *s, size_t n)
{
    if (pp_reserve(&b->data, &b->cap, b->len + n + 1, 1) != 0) {
        return -ENOMEM;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int lynx_pprof_folded(lynx_pprof_t *p, lynx_symbolizer_t *sym, int type_index,
                      char **out, size_t *out_len)
{
    pp_buf_t b = {NULL, 0, 0};
    pp_flame_t fl;
    char num[32];
    size_t type;
    size_t i;
    size_t k;
    int64_t v;
    int rc;

    if (p == NULL || out == NULL || out_len == NULL ||
        (type_index >= 0 && (size_t)type_index >= p->ntypes)) {
        return -EINVAL;
    }
    type = type_index >= 0 ? (size_t)type_index : pp_default_index(p);
    rc = pp_flame_build(p, sym, &fl);
    if (rc < 0) {
        goto done;
    }
    rc = pp_buf_add(&b, "", 0);
    for (i = 0; rc == 0 && i < fl.stacks.n; i++) {
        const uint64_t *key = seq_key(&fl.stacks, i);
        size_t len = fl.stacks.entries[i].key_len;

        v = p->ntypes > 0 ? seq_values(&fl.stacks, i)[type] : 0;
        if (v == 0) {
            continue;
        }
        for (k = 0; rc == 0 && k < len; k++) {
            const char *name = p->strings.strs[seq_key(&fl.names, key[k])[0]];

            if (k > 0) {
                rc = pp_buf_add(&b, ";", 1);
            }
            if (rc == 0) {
                rc = pp_buf_add(&b, name, strlen(name));
            }
        }
        snprintf(num, sizeof(num), " %" PRId64 "\n", v);
        if (rc == 0) {
            rc = pp_buf_add(&b, num, strlen(num));
        }
    }
    if (rc == 0) {
        *out = b.data;
        *out_len = b.len;
        b.data = NULL;
    }

done:
    free(b.data);
    pp_flame_fini(&fl);
    return rc;
}

/* ---- Go's debug=1 text ---- */

typedef struct pp_order {
    const lynx_pprof_t *p;
    size_t type;
} pp_order_t;

static pp_order_t pp_sort_ctx;

/* Larger values of the sort type first, then insertion order. */
static int pp_by_value(const void *a, const void *b)
{
    size_t i = *(const size_t *)a;
    size_t j = *(const size_t *)b;
    int64_t vi = seq_values(&pp_sort_ctx.p->stacks, i)[pp_sort_ctx.type];
    int64_t vj = seq_values(&pp_sort_ctx.p->stacks, j)[pp_sort_ctx.type];

    if (vi != vj) {
        return vi > vj ? -1 : 1;
    }
    return i < j ? -1 : (i > j ? 1 : 0);
}

int lynx_pprof_debug_text(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          const char *header, const size_t *order,
                          size_t norder, char **out, size_t *out_len)
{
    pp_buf_t b = {NULL, 0, 0};
    pp_resolved_t r;
    size_t *idx = NULL;
    char line[LYNX_MODULE_PATH_MAX + 128];
    size_t i;
    size_t j;
    size_t k;
    int rc;

    if (p == NULL || out == NULL || out_len == NULL || p->ntypes == 0 ||
        (order == NULL && norder > 0)) {
        return -EINVAL;
    }
    for (k = 0; k < norder; k++) {
        if (order[k] >= p->ntypes) {
            return -EINVAL;
        }
    }
    rc = pp_resolve(p, sym, &r);
    if (rc < 0) {
        pp_resolved_fini(&r);
        return rc;
    }
    idx = malloc((p->stacks.n + 1) * sizeof(*idx));
    rc = idx == NULL ? -ENOMEM : pp_buf_add(&b, "", 0);
    if (rc == 0 && header != NULL) {
        rc = pp_buf_add(&b, header, strlen(header));
    }
    for (i = 0; rc == 0 && i < p->stacks.n; i++) {
        idx[i] = i;
    }
    if (rc == 0) {
        /* Not reentrant, like the builder itself. */
        pp_sort_ctx.p = p;
        pp_sort_ctx.type = norder > 0 ? order[0] : 0;
        qsort(idx, p->stacks.n, sizeof(*idx), pp_by_value);
    }
    for (i = 0; rc == 0 && i < p->stacks.n; i++) {
        size_t s = idx[i];
        const uint64_t *key = seq_key(&p->stacks, s);
        const uint64_t *loc_of = r.loc_of + p->stacks.entries[s].key_off + 1;
        const int64_t *vals = seq_values(&p->stacks, s);
        size_t npcs = (size_t)key[0];
        size_t nv = norder > 0 ? norder : p->ntypes;

        for (k = 0; rc == 0 && k < nv; k++) {
            snprintf(line, sizeof(line), "%s%" PRId64, k > 0 ? " " : "",
                     vals[norder > 0 ? order[k] : k]);
            rc = pp_buf_add(&b, line, strlen(line));
        }
        if (rc == 0) {
            rc = pp_buf_add(&b, " @", 2);
        }
        for (j = 0; rc == 0 && j < npcs; j++) {
            /* Go prints return addresses; the key holds them minus one
             * (an exact leaf is only in CPU profiles, not text ones). */
            snprintf(line, sizeof(line), " 0x%" PRIx64, key[1 + j] + 1);
            rc = pp_buf_add(&b, line, strlen(line));
        }
        if (rc == 0) {
            rc = pp_buf_add(&b, "\n", 1);
        }
        for (j = 0; rc == 0 && j < npcs; j++) {
            const pp_loc_t *loc = &r.loc[loc_of[j] - 1];

            if (loc->nlines == 0) {
                int64_t name;
                rc = pp_unknown_name(p, loc, &name);
                if (rc == 0) {
                    snprintf(line, sizeof(line), "#\t0x%" PRIx64 "\t%s\n",
                             loc->addr, p->strings.strs[name]);
                    rc = pp_buf_add(&b, line, strlen(line));
                }
                continue;
            }
            for (k = 0; rc == 0 && k < loc->nlines; k++) {
                const pp_line_t *ln = &r.lines[loc->line_off + k];
                const uint64_t *fk = seq_key(&r.funcs, ln->func);
                const char *file = p->strings.strs[fk[2]];

                snprintf(line, sizeof(line),
                         "#\t0x%" PRIx64 "\t%s\t%s:%" PRId64 "\n", loc->addr,
                         p->strings.strs[fk[0]], *file ? file : "?",
                         ln->line);
                rc = pp_buf_add(&b, line, strlen(line));
            }
        }
        if (rc == 0) {
            rc = pp_buf_add(&b, "\n", 1);
        }
    }
    for (i = 0; rc == 0 && i < p->nmods; i++) {
        if (pp_module_note(p, i, line + 2, sizeof(line) - 3)) {
            line[0] = '#';
            line[1] = ' ';
            rc = pp_buf_add(&b, line, strlen(line));
            if (rc == 0) {
                rc = pp_buf_add(&b, "\n", 1);
            }
        }
    }
    if (rc == 0) {
        *out = b.data;
        *out_len = b.len;
        b.data = NULL;
    }
    free(b.data);
    free(idx);
    pp_resolved_fini(&r);
    return rc;
}

int64_t lynx_pprof_total(const lynx_pprof_t *p, size_t type)
{
    uint64_t sum = 0;

    if (p == NULL || type >= p->ntypes) {
        return 0;
    }
    for (size_t i = 0; i < p->stacks.n; i++) {
        sum += (uint64_t)seq_values(&p->stacks, i)[type];
    }
    return (int64_t)sum;
}
