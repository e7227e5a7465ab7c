/*
 * agent_modules.c - the snapshot of loaded modules in the control block.
 *
 * Runs on the agent thread when a profile starts and ends, and while one
 * runs whenever the dynamic loader reports new objects (dlpi_adds).  Every
 * executable PT_LOAD segment of every object becomes one record with its
 * address range, file offset, load bias and GNU build ID.  Records are only
 * added, never removed, so samples taken in a module that was dlclose()d
 * later still resolve.  Writers hold the region's seqlock.
 */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_fork.h"
#include "agent_internal.h"

typedef struct walk {
    lynx_modules_t *mods;
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

static int known(const lynx_modules_t *mods, const lynx_module_t *m)
{
    for (uint32_t i = 0; i < mods->nmodules; i++) {
        const lynx_module_t *k = &mods->modules[i];
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
    lynx_modules_t *mods = w->mods;
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
        memcpy(m.path, path, sizeof(m.path));
        find_build_id(info, &m);
        if (known(mods, &m) || mods->nmodules >= mods->capacity) {
            continue;
        }
        if (!w->changed) {
            /* Open the seqlock once for the whole walk. */
            atomic_fetch_add_explicit(&mods->generation, 1,
                                      memory_order_acq_rel);
            w->changed = 1;
        }
        mods->modules[mods->nmodules++] = m;
    }
    return 0;
}

int lynx_agent_modules_update(lynx_modules_t *mods, unsigned long long *adds)
{
    walk_t w = {mods, 0, 0};

    if (mods == NULL || !lynx_fork_gate_enter_wait()) {
        return 0;
    }
    /* Under the fork gate: a child forked meanwhile would inherit the
     * loader's lock held. */
    dl_iterate_phdr(visit, &w);
    lynx_fork_gate_leave();
    if (w.changed) {
        atomic_fetch_add_explicit(&mods->generation, 1, memory_order_release);
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
