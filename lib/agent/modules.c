/*
 * agent/modules.c - the snapshot of loaded modules in the control block.
 *
 * Runs on the agent thread when a profile starts and ends, and while one
 * runs whenever the dynamic loader reports new objects (dlpi_adds).  Every
 * executable PT_LOAD segment of every object becomes one record with its
 * address range, file offset, load bias and GNU build ID.  Records are only
 * added, never removed, so samples taken in a module that was dlclose()d
 * later still resolve.  Writers hold the region's seqlock.
 *
 * The shared region is output only: the agent keeps the records, their
 * count and the capacity in its own memory (`g`) and never reads them back
 * from the block, which other processes can write.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/fork.h"
#include "agent/internal.h"

/* This file's part of the agent's state (agent/context.h); agent thread
 * only. */
#define g (lynx_agent.modules)

typedef struct walk {
    unsigned long long adds;
    int changed;
} walk_t;

static void find_build_id(const struct dl_phdr_info *info, lynx_module_t *m)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const char *p;
        const char *end;
        if (ph->p_type != PT_NOTE) {
            continue;
        }
        p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t name_sz = (nh->n_namesz + 3u) & ~3u;
            size_t desc_sz = (nh->n_descsz + 3u) & ~3u;
            const char *name = p + sizeof(*nh);
            const char *desc = name + name_sz;
            if (desc + desc_sz > end) {
                break;
            }
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 &&
                nh->n_descsz <= LYNX_BUILD_ID_MAX) {
                memcpy(m->build_id, desc, nh->n_descsz);
                m->build_id_len = nh->n_descsz;
                return;
            }
            p = desc + desc_sz;
        }
    }
}

static int known(const lynx_module_t *m)
{
    for (uint32_t i = 0; i < g.n; i++) {
        const lynx_module_t *k = &g.recs[i];
        if (k->start == m->start && k->limit == m->limit &&
            strcmp(k->path, m->path) == 0) {
            return 1;
        }
    }
    return 0;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    walk_t *w = data;
    lynx_modules_t *mods = g.shared;
    char path[LYNX_MODULE_PATH_MAX];

    (void)size;
    w->adds = info->dlpi_adds;
    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0') {
        /* The main program. */
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = '\0';
    } else if (strncmp(info->dlpi_name, "linux-vdso", 10) == 0 ||
               strncmp(info->dlpi_name, "linux-gate", 10) == 0) {
        snprintf(path, sizeof(path), "[vdso]");
    } else {
        snprintf(path, sizeof(path), "%s", info->dlpi_name);
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        lynx_module_t m;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) {
            continue;
        }
        memset(&m, 0, sizeof(m));
        m.start = info->dlpi_addr + ph->p_vaddr;
        m.limit = m.start + ph->p_memsz;
        m.file_offset = ph->p_offset;
        m.load_bias = info->dlpi_addr;
        /* Up to the NUL only: the rest of path is whatever the stack held,
         * and the record is published to the endpoints' group. */
        snprintf(m.path, sizeof(m.path), "%s", path);
        find_build_id(info, &m);
        if (known(&m) || g.n >= g.capacity) {
            continue;
        }
        if (!w->changed) {
            /* Open the seqlock once for the whole walk. */
            g.generation++;
            atomic_store_explicit(&mods->generation, g.generation,
                                  memory_order_seq_cst);
            w->changed = 1;
        }
        g.recs[g.n] = m;
        mods->modules[g.n] = m;
        g.n++;
        mods->nmodules = g.n;
    }
    return 0;
}

int lynx_agent_modules_init(lynx_modules_t *shared, uint32_t capacity)
{
    free(g.recs);
    g.recs = NULL;
    g.shared = NULL;
    g.n = 0;
    g.capacity = 0;
    g.generation = 0;
    if (shared == NULL || capacity == 0) {
        return 0;
    }
    g.recs = calloc(capacity, sizeof(*g.recs));
    if (g.recs == NULL) {
        return -ENOMEM;
    }
    g.shared = shared;
    g.capacity = capacity;
    return 0;
}

int lynx_agent_modules_update(unsigned long long *adds)
{
    walk_t w = {0, 0};

    if (g.shared == NULL || !lynx_fork_gate_enter_wait()) {
        return 0;
    }
    /* Under the fork gate: a child forked meanwhile would inherit the
     * loader's lock held. */
    dl_iterate_phdr(visit, &w);
    lynx_fork_gate_leave();
    if (w.changed) {
        g.generation++;
        atomic_store_explicit(&g.shared->generation, g.generation,
                              memory_order_release);
    }
    if (adds != NULL) {
        *adds = w.adds;
    }
    return w.changed;
}

/* Cheap check whether objects were loaded since `adds` was taken. */
static int first_only(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(unsigned long long *)data = info->dlpi_adds;
    return 1;
}

unsigned long long lynx_agent_modules_adds(void)
{
    unsigned long long adds = 0;

    if (lynx_fork_gate_enter_wait()) {
        dl_iterate_phdr(first_only, &adds);
        lynx_fork_gate_leave();
    }
    return adds;
}
