/*
 * client/pprof_table.c - the interning tables under the pprof builder
 * (pprof_table.h): sequences of 64-bit words with summed values, and
 * strings.
 *
 * Workload: everything the builder looks up by value goes through the
 * sequence table: stacks (words: the stack and its labels; values: the
 * summed sample values; up to some 100,000 distinct stacks of up to a few
 * hundred frames, millions of lookups for a long CPU profile), locations
 * (the address; a few thousand), functions (four string indices) and flame
 * stacks.  Strings (function and file names, labels, comments) have their
 * own table, which is the profile's string table.  Both are open
 * addressing with linear probing, at most half full, with 32-bit slots.
 */
#include "client/pprof_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/buf.h"

/* ---- hashing ---- */

static uint64_t hash_finish(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static uint64_t hash_words(const uint64_t *w, size_t n)
{
    uint64_t h;
    size_t i;

    h = 0x9e3779b97f4a7c15ULL ^ n;
    for (i = 0; i < n; i++) {
        h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
    }
    return hash_finish(h);
}

static uint64_t hash_string(const char *s)
{
    uint64_t h;

    h = 0xcbf29ce484222325ULL;
    while (*s != '\0') {
        h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
    }
    return hash_finish(h);
}

/* ---- slots ---- */

/*
 * Double the slot array of a table of n entries (to `first` slots when it
 * has none) and place every entry again, by hash_of(table, i).  The slots
 * hold entry index + 1, 0 = free.  0 or -ENOMEM (slots unchanged).
 */
static int grow_slots(uint32_t **slotsp, size_t *nslotsp, size_t first,
                      size_t n, uint64_t (*hash_of)(const void *, size_t),
                      const void *table)
{
    uint32_t *slots;
    size_t nslots;
    size_t mask;
    size_t i;
    size_t j;

    nslots = *nslotsp > 0 ? *nslotsp * 2 : first;
    slots = calloc(nslots, sizeof(*slots));
    if (slots == NULL) {
        return -ENOMEM;
    }
    mask = nslots - 1;
    for (i = 0; i < n; i++) {
        j = (size_t)hash_of(table, i) & mask;
        while (slots[j] != 0) {
            j = (j + 1) & mask;
        }
        slots[j] = (uint32_t)(i + 1);
    }
    free(*slotsp);
    *slotsp = slots;
    *nslotsp = nslots;
    return 0;
}

/* ---- sequence table ---- */

void pprof_seq_fini(pprof_seqtab_t *t)
{
    free(t->keys);
    free(t->entries);
    free(t->values);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static uint64_t seq_hash_of(const void *table, size_t i)
{
    return ((const pprof_seqtab_t *)table)->entries[i].hash;
}

int pprof_seq_intern(pprof_seqtab_t *t, const uint64_t *key, size_t len,
                     size_t *index)
{
    const pprof_entry_t *e;
    uint64_t hash;
    size_t mask;
    size_t i;

    if ((t->n + 1) * 2 > t->nslots &&
        grow_slots(&t->slots, &t->nslots, 64, t->n, seq_hash_of, t) != 0) {
        return -ENOMEM;
    }
    hash = hash_words(key, len);
    mask = t->nslots - 1;
    i = (size_t)hash & mask;
    while (t->slots[i] != 0) {
        e = &t->entries[t->slots[i] - 1];
        /* An empty key may come as NULL (no frames): never memcmp it. */
        if (e->hash == hash && e->key_len == len &&
            (len == 0 ||
             memcmp(t->keys + e->key_off, key, len * sizeof(*key)) == 0)) {
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
     * may be NULL), so that pprof_seq_key() never offsets a null pointer. */
    if (LYNX_ARRAY_RESERVE(t->keys, t->capkeys, t->nkeys + len + 1) != 0 ||
        LYNX_ARRAY_RESERVE(t->entries, t->cap, t->n + 1) != 0 ||
        (t->nvalues > 0 &&
         lynx_array_reserve(&t->values, &t->capvalues, t->n + 1,
                            t->nvalues * sizeof(*t->values)) != 0)) {
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

/* ---- string table ---- */

void pprof_str_fini(pprof_strtab_t *t)
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

static uint64_t str_hash_of(const void *table, size_t i)
{
    return ((const pprof_strtab_t *)table)->hashes[i];
}

int pprof_str_intern(pprof_strtab_t *t, const char *s, int64_t *index)
{
    uint64_t hash;
    size_t i;
    char *copy;

    if (s == NULL) {
        s = "";
    }
    if ((t->n + 1) * 2 > t->nslots &&
        grow_slots(&t->slots, &t->nslots, 256, t->n, str_hash_of, t) != 0) {
        return -ENOMEM;
    }
    hash = hash_string(s);
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
        LYNX_ARRAY_RESERVE(t->strs, t->cap, t->n + 1) != 0 ||
        LYNX_ARRAY_RESERVE(t->hashes, t->hcap, t->n + 1) != 0) {
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
