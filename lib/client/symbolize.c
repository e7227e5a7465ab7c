/*
 * client/symbolize.c - addresses to frames with elfutils libdwfl/libdw.
 *
 * Workload: an endpoint process symbolizes a few thousand distinct addresses
 * per profile, spread over a handful of modules, and serves many profiles of
 * the same binaries over its life.  Opening a module (reading its DWARF) is
 * the expensive part, so opened modules are cached: a small array, searched
 * linearly (at most LYNX_SYM_CACHE_MAX entries, with the last hit checked
 * first), evicting the least recently used.  Each module gets its own Dwfl,
 * reported at virtual address 0, so the cache key does not depend on where a
 * process loaded the file.
 *
 * Inlined frames are read the way eu-addr2line -i does: the scopes that
 * contain the address (dwarf_getscopes), innermost first; the line of the
 * innermost frame comes from the line table, the line of each outer frame
 * from DW_AT_call_file/DW_AT_call_line of the inlined instance inside it.
 */
#include "client/symbolize.h"

#include "client/debuginfo.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SYM_RETRY_NS (30 * 1000000000LL) /* failed modules: retry period */

typedef struct sym_module {
    char path[LYNX_MODULE_PATH_MAX]; /* key, NUL-terminated */
    uint32_t build_id_len;           /* key, 0 = record had none */
    uint8_t build_id[LYNX_BUILD_ID_MAX];
    uint64_t dev;         /* key: the file as the view identified it */
    uint64_t ino;         /* (0, 0 when no view is bound) */
    Dwfl *dwfl;           /* NULL iff status < 0 */
    Dwfl_Module *module;  /* the one module of dwfl */
    int status;           /* 0, or the LYNX_SYM_E* code of the failure */
    int nodebug;          /* 1: symbols from the ELF symbol table only */
    lynx_debuginfo_ctx_t debuginfo; /* the module's libdwfl userdata */
    int64_t failed_at_ns; /* CLOCK_MONOTONIC time of the failure */
    uint64_t last_used;   /* value of lynx_symbolizer.clock, for LRU */
} sym_module_t;

struct lynx_symbolizer {
    sym_module_t *mods; /* LYNX_SYM_CACHE_MAX slots, nmods used */
    size_t nmods;
    size_t last_hit; /* index of the last module used, < nmods */
    uint64_t clock;  /* incremented on each module use */
    lynx_modfiles_t *files; /* the bound view, owned; NULL = none */
};

static const Dwfl_Callbacks sym_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = lynx_debuginfo_find, /* not libdwfl's: see there */
    .section_address = dwfl_offline_section_address,
};

static int64_t sym_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

lynx_symbolizer_t *lynx_symbolizer_create(void)
{
    lynx_symbolizer_t *sym;

    sym = calloc(1, sizeof(*sym));
    if (sym == NULL) {
        return NULL;
    }
    sym->mods = calloc(LYNX_SYM_CACHE_MAX, sizeof(*sym->mods));
    if (sym->mods == NULL) {
        free(sym);
        return NULL;
    }
    return sym;
}

void lynx_symbolizer_destroy(lynx_symbolizer_t *sym)
{
    size_t i;

    if (sym == NULL) {
        return;
    }
    for (i = 0; i < sym->nmods; i++) {
        if (sym->mods[i].dwfl != NULL) {
            dwfl_end(sym->mods[i].dwfl);
        }
    }
    lynx_modfiles_destroy(sym->files);
    free(sym->mods);
    free(sym);
}

void lynx_symbolizer_set_files(lynx_symbolizer_t *sym, lynx_modfiles_t *files)
{
    if (sym->files != files) {
        lynx_modfiles_destroy(sym->files);
    }
    sym->files = files;
}

lynx_modfiles_t *lynx_symbolizer_files(lynx_symbolizer_t *sym)
{
    return sym->files;
}

const lynx_module_t *lynx_module_find(const lynx_module_t *mods, size_t nmods,
                                      uint64_t addr)
{
    size_t i;

    for (i = 0; i < nmods; i++) {
        if (addr >= mods[i].start && addr < mods[i].limit) {
            return &mods[i];
        }
    }
    return NULL;
}

const char *lynx_symbolize_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case LYNX_SYM_ENOFILE:
        return "not found";
    case LYNX_MODFILE_EACCES:
        return "not readable by the endpoints' user";
    case LYNX_MODFILE_ENOTREG:
        return "not a regular file";
    case LYNX_MODFILE_EMISMATCH:
        return "not the file the target maps (replaced since it was loaded?)";
    case LYNX_MODFILE_EDELETED:
        return "the target maps a file deleted or replaced since it was "
               "loaded";
    case LYNX_MODFILE_ENOTMAPPED:
        return "the target maps no file at that address";
    case LYNX_MODFILE_EFOREIGN:
        return "a file the target's own user could not read";
    case LYNX_MODFILE_ENOPROC:
        return "the target process is gone and the file is not "
               "world-readable: it cannot be checked";
    case LYNX_SYM_EBUILDID:
        return "the file on disk has a different build ID (replaced since "
               "it was loaded)";
    case LYNX_SYM_ENOTELF:
        return "not a usable ELF file";
    case LYNX_SYM_ENOSYMS:
        return "no symbol table and no debug info";
    case LYNX_SYM_NODEBUG:
        return "no debug info: no source files or lines, and function "
               "names only where its symbol table has them";
    case LYNX_SYM_EINVAL:
        return "invalid module record (or vDSO)";
    case -ENOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}

char *lynx_symbolize_reason(int code, char *buf, size_t size)
{
    char pwbuf[1024];
    struct passwd pw;
    struct passwd *res = NULL;
    uid_t uid;

    if (code != LYNX_MODFILE_EACCES) {
        snprintf(buf, size, "%s", lynx_symbolize_strerror(code));
        return buf;
    }
    uid = geteuid();
    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
        res != NULL) {
        snprintf(buf, size, "not readable by user %s", res->pw_name);
    } else {
        snprintf(buf, size, "not readable by uid %u", (unsigned int)uid);
    }
    return buf;
}

char *lynx_symbolize_note(const char *path, int code, char *buf, size_t size)
{
    char reason[160];

    if (code == LYNX_SYM_NODEBUG) {
        snprintf(buf, size,
                 "no debug info for %s: no source files or lines, and "
                 "function names only where its symbol table has them",
                 path);
        return buf;
    }
    snprintf(buf, size, "no symbols for %s: %s", path,
             lynx_symbolize_reason(code, reason, sizeof(reason)));
    return buf;
}

/* The record's path if it is a usable absolute path, else NULL. */
static const char *sym_record_path(const lynx_module_t *mod)
{
    if (memchr(mod->path, '\0', sizeof(mod->path)) == NULL) {
        return NULL;
    }
    if (mod->path[0] != '/') {
        return NULL; /* "[vdso]", "", or anything we cannot open safely */
    }
    return mod->path;
}

static int sym_key_equal(const sym_module_t *m, const char *path,
                         const lynx_module_t *r, const lynx_modfile_id_t *id)
{
    return m->dev == id->dev && m->ino == id->ino &&
           m->build_id_len == r->build_id_len &&
           memcmp(m->build_id, r->build_id, r->build_id_len) == 0 &&
           strcmp(m->path, path) == 0;
}

/*
 * Open the file of record `rec` for cache entry `m` (key already filled
 * in) through the safe opener; sets dwfl, module, status.
 */
static void sym_open(lynx_symbolizer_t *sym, sym_module_t *m,
                     const lynx_module_t *rec)
{
    lynx_modfile_id_t id;
    const unsigned char *bits;
    GElf_Addr vaddr;
    Dwarf_Addr bias;
    Dwfl *dwfl;
    Dwfl_Module *module;
    void **userdata;
    Dwarf *dw;
    int nsyms;
    int fd;
    int n;

    m->dwfl = NULL;
    m->module = NULL;
    m->nodebug = 0;
    fd = lynx_modfile_open(sym->files, rec, &id);
    if (fd < 0) {
        m->status = fd;
        return;
    }
    dwfl = dwfl_begin(&sym_callbacks);
    if (dwfl == NULL) {
        close(fd);
        m->status = -ENOMEM;
        return;
    }
    dwfl_report_begin(dwfl);
    /* Base 0: Dwfl addresses are ELF virtual addresses (see file comment).
     * The name libdw gets (it looks for separate debug info next to it)
     * is the verified one, the kernel's when known, not the record's. */
    module = dwfl_report_elf(dwfl, id.path, id.path, fd, 0, true);
    if (module == NULL) {
        close(fd); /* consumed only on success */
        dwfl_end(dwfl);
        m->status = LYNX_SYM_ENOTELF;
        return;
    }
    dwfl_report_end(dwfl, NULL, NULL);
    /* Debug files are looked up now, with this request's view, and never
     * later (see client/debuginfo.h). */
    m->debuginfo.files = sym->files;
    m->debuginfo.dev = id.dev;
    m->debuginfo.ino = id.ino;
    m->debuginfo.active = 0;
    dwfl_module_info(module, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
    *userdata = &m->debuginfo;

    if (m->build_id_len > 0) {
        n = dwfl_module_build_id(module, &bits, &vaddr);
        if (n != (int)m->build_id_len ||
            memcmp(bits, m->build_id, m->build_id_len) != 0) {
            dwfl_end(dwfl);
            m->status = LYNX_SYM_EBUILDID;
            return;
        }
    }
    m->debuginfo.active = 1;
    nsyms = dwfl_module_getsymtab(module);
    dw = dwfl_module_getdwarf(module, &bias);
    m->debuginfo.active = 0;
    m->debuginfo.files = NULL;
    if (nsyms <= 0 && dw == NULL) {
        dwfl_end(dwfl);
        m->status = LYNX_SYM_ENOSYMS;
        return;
    }
    m->nodebug = dw == NULL;
    m->dwfl = dwfl;
    m->module = module;
    m->status = 0;
}

/*
 * The cache entry for `rec`, opened if needed; NULL with *status set when
 * the module gives no symbols.
 */
static sym_module_t *sym_get(lynx_symbolizer_t *sym, const lynx_module_t *rec,
                             int *status)
{
    lynx_modfile_id_t id;
    const char *path;
    sym_module_t *m;
    size_t i;
    size_t victim;
    int rc;

    path = sym_record_path(rec);
    if (path == NULL || rec->build_id_len > LYNX_BUILD_ID_MAX) {
        *status = LYNX_SYM_EINVAL;
        return NULL;
    }
    /* Which file the target maps there decides the cache entry; a module
     * the view refuses never reaches the cache. */
    memset(&id, 0, sizeof(id));
    if (sym->files != NULL) {
        rc = lynx_modfiles_identify(sym->files, rec, &id);
        if (rc < 0) {
            *status = rc;
            return NULL;
        }
    }

    m = NULL;
    if (sym->nmods > 0 &&
        sym_key_equal(&sym->mods[sym->last_hit], path, rec, &id)) {
        m = &sym->mods[sym->last_hit];
    }
    for (i = 0; m == NULL && i < sym->nmods; i++) {
        if (sym_key_equal(&sym->mods[i], path, rec, &id)) {
            m = &sym->mods[i];
        }
    }

    if (m != NULL && m->status < 0 &&
        sym_now_ns() - m->failed_at_ns >= SYM_RETRY_NS) {
        sym_open(sym, m, rec); /* the file may have appeared or been fixed */
        if (m->status < 0) {
            m->failed_at_ns = sym_now_ns();
        }
    }

    if (m == NULL) {
        if (sym->nmods < LYNX_SYM_CACHE_MAX) {
            victim = sym->nmods++;
        } else {
            victim = 0;
            for (i = 1; i < sym->nmods; i++) {
                if (sym->mods[i].last_used < sym->mods[victim].last_used) {
                    victim = i;
                }
            }
            if (sym->mods[victim].dwfl != NULL) {
                dwfl_end(sym->mods[victim].dwfl);
            }
        }
        m = &sym->mods[victim];
        memset(m, 0, sizeof(*m));
        memcpy(m->path, path, strlen(path) + 1);
        m->build_id_len = rec->build_id_len;
        memcpy(m->build_id, rec->build_id, rec->build_id_len);
        m->dev = id.dev;
        m->ino = id.ino;
        sym_open(sym, m, rec);
        if (m->status < 0) {
            m->failed_at_ns = sym_now_ns();
        }
    }

    m->last_used = ++sym->clock;
    sym->last_hit = (size_t)(m - sym->mods);
    *status = m->status;
    return m->status < 0 ? NULL : m;
}

static const char *sym_die_string(Dwarf_Die *die, unsigned int name)
{
    Dwarf_Attribute attr;

    if (dwarf_attr_integrate(die, name, &attr) == NULL) {
        return NULL;
    }
    return dwarf_formstring(&attr);
}

/* Append `f`; when full, the last slot keeps the outermost frame. */
static void sym_push(lynx_frame_t *frames, size_t max, size_t *n,
                     const lynx_frame_t *f)
{
    if (max == 0) {
        return;
    }
    if (*n < max) {
        frames[(*n)++] = *f;
    } else {
        frames[max - 1] = *f;
    }
}

/*
 * The DIEs that physically contain DWARF address `pc`, innermost first.
 * dwarf_getscopes() alone continues from an inlined instance into its
 * abstract definition's context, which loses the function it was inlined
 * into; so, as eu-addr2line -i does, take its innermost scope and walk the
 * DIE tree up from there with dwarf_getscopes_die().  Returns the count
 * (*scopes malloc'd, caller frees) or <= 0.
 */
static int sym_scopes(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes)
{
    Dwarf_Die innermost;
    Dwarf_Die *first;
    int n;

    *scopes = NULL;
    first = NULL;
    n = dwarf_getscopes(cudie, pc, &first);
    if (n <= 0) {
        free(first);
        return n;
    }
    innermost = first[0];
    free(first);
    return dwarf_getscopes_die(&innermost, scopes);
}

/* DWARF frames of module address `a`; returns how many were found. */
static size_t sym_dwarf_frames(Dwfl_Module *module, Dwarf_Addr a,
                               lynx_frame_t *frames, size_t max, size_t *n)
{
    Dwarf_Addr bias;
    Dwarf_Die *cudie;
    Dwarf_Die *scopes;
    Dwarf_Files *files;
    Dwarf_Attribute attr;
    Dwarf_Word word;
    Dwfl_Line *src;
    lynx_frame_t f;
    const char *cur_file;
    int64_t cur_line;
    size_t nfiles;
    size_t found;
    int have_real;
    int lineno;
    int nscopes;
    int tag;
    int i;

    cur_file = NULL;
    cur_line = 0;
    src = dwfl_module_getsrc(module, a);
    if (src != NULL) {
        lineno = 0;
        cur_file = dwfl_lineinfo(src, NULL, &lineno, NULL, NULL, NULL);
        cur_line = lineno;
    }

    bias = 0;
    cudie = dwfl_module_addrdie(module, a, &bias);
    scopes = NULL;
    nscopes = 0;
    files = NULL;
    nfiles = 0;
    if (cudie != NULL) {
        nscopes = sym_scopes(cudie, a - bias, &scopes);
        if (dwarf_getsrcfiles(cudie, &files, &nfiles) != 0) {
            files = NULL;
        }
    }

    found = 0;
    have_real = 0;
    for (i = 0; i < nscopes; i++) {
        tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine &&
            tag != DW_TAG_entry_point) {
            continue;
        }
        memset(&f, 0, sizeof(f));
        f.function = sym_die_string(&scopes[i], DW_AT_name);
        f.system_name = sym_die_string(&scopes[i], DW_AT_linkage_name);
        if (f.system_name == NULL) {
            f.system_name = sym_die_string(&scopes[i], DW_AT_MIPS_linkage_name);
        }
        if (f.system_name == NULL) {
            f.system_name = f.function;
        }
        f.file = dwarf_decl_file(&scopes[i]);
        if (f.file == NULL) {
            f.file = cur_file;
        }
        f.line = cur_line;
        lineno = 0;
        if (dwarf_decl_line(&scopes[i], &lineno) == 0) {
            f.start_line = lineno;
        }
        if (f.function == NULL && tag != DW_TAG_inlined_subroutine) {
            break; /* nameless: let the symbol table name the real function */
        }
        sym_push(frames, max, n, &f);
        found++;
        if (tag != DW_TAG_inlined_subroutine) {
            have_real = 1;
            break;
        }
        /* The next frame out continues at the call site of this one. */
        cur_file = NULL;
        cur_line = 0;
        if (files != NULL &&
            dwarf_attr(&scopes[i], DW_AT_call_file, &attr) != NULL &&
            dwarf_formudata(&attr, &word) == 0 && word < nfiles) {
            cur_file = dwarf_filesrc(files, word, NULL, NULL);
        }
        if (dwarf_attr(&scopes[i], DW_AT_call_line, &attr) != NULL &&
            dwarf_formudata(&attr, &word) == 0) {
            cur_line = (int64_t)word;
        }
    }
    free(scopes);

    /* No DWARF function (or only inlined ones): name the real function from
     * the symbol table, with the line table's line if there is one. */
    if (!have_real) {
        GElf_Off off;
        GElf_Sym esym;

        memset(&f, 0, sizeof(f));
        f.function =
            dwfl_module_addrinfo(module, a, &off, &esym, NULL, NULL, NULL);
        if (f.function != NULL) {
            f.system_name = f.function;
            f.file = cur_file;
            f.line = cur_line;
            sym_push(frames, max, n, &f);
            found++;
        }
    }
    return found;
}

int lynx_symbolize(lynx_symbolizer_t *sym, const lynx_module_t *mod,
                   uint64_t addr, lynx_frame_t *frames, size_t max_frames,
                   size_t *nframes)
{
    sym_module_t *m;
    Dwarf_Addr a;
    int status;

    *nframes = 0;
    if (addr < mod->start || addr >= mod->limit) {
        return 0;
    }
    m = sym_get(sym, mod, &status);
    if (m == NULL) {
        return status;
    }
    a = addr - mod->load_bias;
    sym_dwarf_frames(m->module, a, frames, max_frames, nframes);
    return m->nodebug ? LYNX_SYM_NODEBUG : 0;
}

const char *lynx_symbolize_name(lynx_symbolizer_t *sym,
                                const lynx_module_t *mod, uint64_t addr)
{
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    sym_module_t *m;
    GElf_Off off;
    GElf_Sym esym;
    const char *name;
    size_t n;
    int status;

    if (addr < mod->start || addr >= mod->limit) {
        return NULL;
    }
    m = sym_get(sym, mod, &status);
    if (m == NULL) {
        return NULL;
    }
    name = dwfl_module_addrinfo(m->module, addr - mod->load_bias, &off, &esym,
                                NULL, NULL, NULL);
    if (name != NULL) {
        return name;
    }
    n = 0;
    sym_dwarf_frames(m->module, addr - mod->load_bias, frames,
                     LYNX_SYM_MAX_FRAMES, &n);
    return n > 0 ? frames[n - 1].function : NULL;
}
