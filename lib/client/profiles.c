/*
 * client/profiles.c - the registry of profile kinds (see client/profiles.h).
 */
#include <string.h>

#include "client/profiles.h"

/* In the order of the /debug/pprof/ index.  A kind is added here when the
 * file that implements it is part of the build. */
static const lynx_profile_kind_t *const table[] = {
    &lynx_profile_goroutine,
    &lynx_profile_heap,
    &lynx_profile_allocs,
    &lynx_profile_block,
    &lynx_profile_mutex,
    &lynx_profile_threadcreate,
    NULL,
};

const lynx_profile_kind_t *const *lynx_profile_kinds(size_t *count)
{
    *count = sizeof(table) / sizeof(table[0]) - 1;
    return table;
}

const lynx_profile_kind_t *lynx_profile_kind(const char *name)
{
    for (size_t i = 0; name != NULL && table[i] != NULL; i++) {
        if (strcmp(table[i]->name, name) == 0) {
            return table[i];
        }
    }
    return NULL;
}
