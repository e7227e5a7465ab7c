/*
 * client/pprof_table.h - the interning tables of the pprof builder: a
 * table of word sequences (with a row of summed values per entry) and a
 * string table.  Internal to lib/client/pprof*.c; not part of any API.
 *
 * Endpoint side only; not thread-safe (one builder, one thread).  Errors
 * are 0 or -ENOMEM, and a failed insertion leaves the table unchanged.
 */
#ifndef LYNX_CLIENT_PPROF_TABLE_H
#define LYNX_CLIENT_PPROF_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pprof_entry {
    size_t key_off; /* first word in pprof_seqtab.keys */
    size_t key_len; /* words */
    uint64_t hash;
} pprof_entry_t;

/*
 * Distinct sequences of 64-bit words, in insertion order: open addressing
 * (linear probing, at most half full) over keys stored in one arena.  Each
 * entry has a row of nvalues int64 values, zeroed when it is inserted.
 * Zero-initialized it is empty; set nvalues before the first insertion.
 */
typedef struct pprof_seqtab {
    uint64_t *keys; /* arena of all keys, nkeys words used */
    size_t nkeys;
    size_t capkeys;
    pprof_entry_t *entries; /* n used, in insertion order */
    size_t n;
    size_t cap;
    int64_t *values; /* nvalues per entry, capvalues rows allocated */
    size_t capvalues;
    size_t nvalues;  /* fixed before the first insertion */
    uint32_t *slots; /* nslots (power of 2): entry index + 1, 0 = free */
    size_t nslots;
} pprof_seqtab_t;

/* Free what t holds and zero it. */
void pprof_seq_fini(pprof_seqtab_t *t);

/*
 * Find `key` (len words; key may be NULL when len is 0) or insert it with
 * zeroed values.  Sets *index (insertion order).  Returns 1 if inserted,
 * 0 if found, -ENOMEM (table unchanged).
 */
int pprof_seq_intern(pprof_seqtab_t *t, const uint64_t *key, size_t len,
                     size_t *index);

/* Key words of entry i (entries[i].key_len of them). */
static inline const uint64_t *pprof_seq_key(const pprof_seqtab_t *t, size_t i)
{
    return t->keys + t->entries[i].key_off;
}

/* Value row of entry i (nvalues of them). */
static inline int64_t *pprof_seq_values(const pprof_seqtab_t *t, size_t i)
{
    return t->values + i * t->nvalues;
}

/*
 * Distinct strings, in insertion order; an index is what profile.proto
 * calls a string table index.  Zero-initialized it is empty (the builder
 * interns "" first, so that "" is index 0).
 */
typedef struct pprof_strtab {
    char **strs;      /* n used, each malloc'd */
    uint64_t *hashes; /* parallel to strs */
    size_t n;
    size_t cap;
    size_t hcap;
    uint32_t *slots; /* string index + 1, 0 = free; nslots power of 2 */
    size_t nslots;
} pprof_strtab_t;

/* Free what t holds (the strings too) and zero it. */
void pprof_str_fini(pprof_strtab_t *t);

/* Index of `s` (NULL means ""), copied in if new.  0 or -ENOMEM. */
int pprof_str_intern(pprof_strtab_t *t, const char *s, int64_t *index);

#endif
