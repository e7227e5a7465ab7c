/*
 * client/debuginfo.c - separate debug info found safely (see
 * client/debuginfo.h).
 *
 * Workload: called once per module an endpoint opens for symbols (a handful
 * per profile, cached by the symbolizer afterwards), so every candidate is
 * simply tried in turn; the CRC of a debug link is computed only for
 * modules without a build ID.
 */
#include "client/debuginfo.h"

#include <dlfcn.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define DI_PATH_MAX LYNX_MODULE_PATH_MAX

static char di_dir[LYNX_DEBUG_DIR_MAX] = LYNX_DEFAULT_DEBUG_DIR;

int lynx_debuginfo_set_dir(const char *dir)
{
    size_t len;

    if (dir == NULL || dir[0] != '/') {
        return -EINVAL;
    }
    len = strlen(dir);
    if (len >= sizeof(di_dir)) {
        return -EINVAL;
    }
    memcpy(di_dir, dir, len + 1);
    return 0;
}

const char *lynx_debuginfo_dir(void)
{
    return di_dir;
}

/* 1 if the ELF file open on fd has build ID `id` (len bytes). */
static int di_has_build_id(int fd, const void *id, size_t len)
{
    const void *found;
    ssize_t n;
    Elf *elf;
    int same;

    elf_version(EV_CURRENT);
    elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf == NULL) {
        return 0;
    }
    n = dwelf_elf_gnu_build_id(elf, &found);
    same = n > 0 && (size_t)n == len && memcmp(found, id, len) == 0;
    elf_end(elf);
    return same;
}

/* 1 if the file open on fd has the CRC-32 that .gnu_debuglink records. */
static int di_has_crc(int fd, GElf_Word want)
{
    unsigned char buf[65536];
    uLong crc = crc32(0L, Z_NULL, 0);
    ssize_t n;

    if (lseek(fd, 0, SEEK_SET) != 0) {
        return 0;
    }
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        crc = crc32(crc, buf, (uInt)n);
    }
    return n == 0 && (GElf_Word)crc == want;
}

/*
 * Open candidate `path` through the module-file checks; the descriptor if
 * it is not the module's own file and it passes the check (build ID when
 * id_len > 0, else the debug link's CRC when crc != 0), else -1.
 */
static int di_try(const lynx_debuginfo_ctx_t *ctx, const char *path,
                  const void *id, size_t id_len, GElf_Word crc)
{
    lynx_modfile_id_t fid;
    int fd;

    fd = lynx_modfile_open_extra(ctx->files, path, &fid);
    if (fd < 0) {
        return -1;
    }
    if ((fid.dev == ctx->dev && fid.ino == ctx->ino) ||
        (id_len > 0 && !di_has_build_id(fd, id, id_len)) ||
        (id_len == 0 && crc != 0 && !di_has_crc(fd, crc))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* fd with its name malloc'd into *name (libdwfl frees it), or -1. */
static int di_found(int fd, const char *path, char **name)
{
    *name = strdup(path);
    if (*name == NULL) {
        close(fd);
        return -1;
    }
    return fd;
}

/* <debug dir>/.build-id/xx/yyyy.debug for build ID `id`. */
static int di_build_id_path(const unsigned char *id, size_t len, char *buf,
                            size_t size)
{
    size_t off;
    int n;

    n = snprintf(buf, size, "%s/.build-id/%02x/", di_dir, id[0]);
    if (n < 0 || (size_t)n >= size || size - (size_t)n < 2 * len + 7) {
        return -ENAMETOOLONG;
    }
    off = (size_t)n;
    for (size_t i = 1; i < len; i++) {
        snprintf(buf + off, 3, "%02x", id[i]);
        off += 2;
    }
    memcpy(buf + off, ".debug", sizeof(".debug"));
    return 0;
}

/* ---- debuginfod, loaded when first wanted ------------------------------ */

typedef struct debuginfod_client debuginfod_client;

static struct {
    pthread_once_t once;
    debuginfod_client *(*begin)(void);
    int (*find)(debuginfod_client *, const unsigned char *, int, char **);
    void (*end)(debuginfod_client *);
} di_dfd = {.once = PTHREAD_ONCE_INIT};

static void di_dfd_load(void)
{
    void *lib = dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_LOCAL);

    if (lib == NULL) {
        return;
    }
    /* Kept loaded for the life of the process, as libdwfl does. */
    *(void **)&di_dfd.begin = dlsym(lib, "debuginfod_begin");
    *(void **)&di_dfd.find = dlsym(lib, "debuginfod_find_debuginfo");
    *(void **)&di_dfd.end = dlsym(lib, "debuginfod_end");
}

/*
 * The debug file of build ID `id` from the servers of DEBUGINFOD_URLS,
 * as a file in the endpoints' own debuginfod cache; -1 if not set up or
 * not found.
 */
static int di_debuginfod(const lynx_debuginfo_ctx_t *ctx,
                         const unsigned char *id, size_t len, char **name)
{
    const char *urls = getenv("DEBUGINFOD_URLS");
    debuginfod_client *client;
    char *path = NULL;
    struct stat st;
    int fd;

    if (urls == NULL || urls[0] == '\0') {
        return -1;
    }
    pthread_once(&di_dfd.once, di_dfd_load);
    if (di_dfd.begin == NULL || di_dfd.find == NULL || di_dfd.end == NULL) {
        return -1;
    }
    client = di_dfd.begin();
    if (client == NULL) {
        return -1;
    }
    fd = di_dfd.find(client, id, (int)len, &path);
    di_dfd.end(client);
    if (fd < 0) {
        free(path);
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        !di_has_build_id(fd, id, len) ||
        ((uint64_t)st.st_dev == ctx->dev && (uint64_t)st.st_ino == ctx->ino)) {
        close(fd);
        free(path);
        return -1;
    }
    *name = path;
    return fd;
}

/* In the .build-id tree of the debug directory. */
static int di_in_tree(const lynx_debuginfo_ctx_t *ctx,
                      const unsigned char *id, size_t len, char **name)
{
    char path[DI_PATH_MAX];
    int fd;

    if (len == 0 || di_build_id_path(id, len, path, sizeof(path)) != 0) {
        return -1;
    }
    fd = di_try(ctx, path, id, len, 0);
    return fd >= 0 ? di_found(fd, path, name) : -1;
}

/* By .gnu_debuglink name `link`, next to the module and in the mirror. */
static int di_by_link(const lynx_debuginfo_ctx_t *ctx, const char *file_name,
                      const char *link, GElf_Word crc, const void *id,
                      size_t id_len, char **name)
{
    static const char *const forms[] = {"%.*s/%s", "%.*s/.debug/%s",
                                        "%s%.*s/%s"};
    char path[DI_PATH_MAX];
    const char *slash;
    int dirlen;
    int n;
    int fd;

    if (link == NULL || link[0] == '\0' || strchr(link, '/') != NULL ||
        strcmp(link, ".") == 0 || strcmp(link, "..") == 0 ||
        file_name == NULL || file_name[0] != '/') {
        return -1; /* the name comes from the module: a file name only */
    }
    slash = strrchr(file_name, '/');
    dirlen = (int)(slash - file_name);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        if (i < 2) {
            n = snprintf(path, sizeof(path), forms[i], dirlen, file_name,
                         link);
        } else {
            n = snprintf(path, sizeof(path), forms[i], di_dir, dirlen,
                         file_name, link);
        }
        if (n < 0 || (size_t)n >= sizeof(path)) {
            continue;
        }
        fd = di_try(ctx, path, id, id_len, crc);
        if (fd >= 0) {
            return di_found(fd, path, name);
        }
    }
    return -1;
}

int lynx_debuginfo_find(Dwfl_Module *mod, void **userdata,
                        const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file,
                        GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    const lynx_debuginfo_ctx_t *ctx = *userdata;
    const unsigned char *bits = NULL;
    const char *main_link;
    const void *alt_id;
    const char *alt_name;
    GElf_Word main_crc;
    GElf_Addr vaddr;
    Dwarf_Addr bias;
    Dwarf *dw;
    Elf *elf;
    ssize_t n;
    int fd;

    (void)modname;
    (void)base;
    if (ctx == NULL || !ctx->active) {
        return -1;
    }
    /* libdwfl asks for the module's debug file with the module's own
     * .gnu_debuglink, and later for the file dwz shared DWARF into with
     * another name: only the build ID of the DWARF read names that one. */
    elf = dwfl_module_getelf(mod, &bias);
    main_link = elf != NULL ? dwelf_elf_gnu_debuglink(elf, &main_crc) : NULL;
    if (debuglink_file != NULL &&
        (main_link == NULL || strcmp(main_link, debuglink_file) != 0)) {
        dw = dwfl_module_getdwarf(mod, &bias);
        n = dw != NULL ? dwelf_dwarf_gnu_debugaltlink(dw, &alt_name, &alt_id)
                       : -1;
        if (n <= 0) {
            return -1;
        }
        fd = di_in_tree(ctx, alt_id, (size_t)n, debuginfo_file_name);
        if (fd < 0) {
            fd = di_debuginfod(ctx, alt_id, (size_t)n, debuginfo_file_name);
        }
        return fd;
    }

    n = dwfl_module_build_id(mod, &bits, &vaddr);
    if (n < 0) {
        n = 0;
    }
    fd = di_in_tree(ctx, bits, (size_t)n, debuginfo_file_name);
    if (fd >= 0) {
        return fd;
    }
    fd = di_by_link(ctx, file_name, debuglink_file, debuglink_crc, bits,
                    (size_t)n, debuginfo_file_name);
    if (fd < 0 && n > 0) {
        fd = di_debuginfod(ctx, bits, (size_t)n, debuginfo_file_name);
    }
    return fd;
}
