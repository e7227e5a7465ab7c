/*
 * lynx_profiles.c - the registry of profile kinds (see lynx_profiles.h).
 */
#include <string.h>

#include "lynx_profiles.h"

#define NKINDS 6

static const lynx_profile_kind_t *table[NKINDS];
static size_t ntable = (size_t)-1;

static void fill(void)
{
    /* Weak references: a kind that is not linked in has address NULL. */
    const lynx_profile_kind_t *all[NKINDS] = {
        &lynx_profile_allocs, &lynx_profile_block,
        &lynx_profile_goroutine, &lynx_profile_heap,
        &lynx_profile_mutex, &lynx_profile_threadcreate,
    };

    ntable = 0;
    for (size_t i = 0; i < NKINDS; i++) {
        if (all[i] != NULL) {
            table[ntable++] = all[i];
        }
    }
}

const lynx_profile_kind_t *const *lynx_profile_kinds(size_t *count)
{
    if (ntable == (size_t)-1) {
        fill();
    }
    *count = ntable;
    return table;
}

const lynx_profile_kind_t *lynx_profile_kind(const char *name)
{
    size_t n;
    const lynx_profile_kind_t *const *k = lynx_profile_kinds(&n);

    for (size_t i = 0; name != NULL && i < n; i++) {
        if (strcmp(k[i]->name, name) == 0) {
            return k[i];
        }
    }
    return NULL;
}
