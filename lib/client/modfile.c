/*
 * client/modfile.c - module files opened safely (see client/modfile.h).
 *
 * Workload: one view per profile request; a target maps a few hundred
 * files and a profile touches a handful of modules, so the maps are kept
 * as a plain array searched linearly and each module's answer is
 * memoized in another small array.
 */
#include "client/modfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "client/buf.h"

#define MF_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
#define MF_MAX_GROUPS 64
#define MF_DELETED " (deleted)"

/* One file-backed line of /proc/<pid>/maps. */
typedef struct mf_map {
    uint64_t start;
    uint64_t end;
    uint64_t dev;
    uint64_t ino;
    int deleted;
    char path[LYNX_MODULE_PATH_MAX];
} mf_map_t;

/* A remembered answer: the record's key and what was found. */
typedef struct mf_memo {
    uint64_t start;
    uint64_t limit;
    char path[LYNX_MODULE_PATH_MAX];
    uint64_t map_start; /* the mapping's range, for map_files (0 = none) */
    uint64_t map_end;
    lynx_modfile_id_t id;
} mf_memo_t;

struct lynx_modfiles {
    int32_t pid;   /* 0 for a saved view */
    int have_maps; /* maps were readable */
    mf_map_t *maps;
    size_t nmaps;
    int have_creds; /* status was readable */
    uint32_t uid;   /* the target's fs uid and gid, and its groups */
    uint32_t gid;
    uint32_t groups[MF_MAX_GROUPS];
    size_t ngroups;
    mf_memo_t *memo;
    size_t nmemo;
    size_t capmemo;
};

/* ---- reading /proc ---------------------------------------------------- */

static int mf_push_map(lynx_modfiles_t *v, size_t *cap, const mf_map_t *m)
{
    if (LYNX_ARRAY_RESERVE(v->maps, *cap, v->nmaps + 1) != 0) {
        return -ENOMEM;
    }
    v->maps[v->nmaps++] = *m;
    return 0;
}

/* Parse one maps line; 1 if it is a file mapping (filled in), else 0. */
static int mf_parse_line(const char *line, mf_map_t *m)
{
    unsigned long long start;
    unsigned long long end;
    unsigned long long off;
    unsigned long long ino;
    unsigned int major_no;
    unsigned int minor_no;
    char perms[8];
    int used = 0;
    const char *path;
    size_t len;

    if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms,
               &off, &major_no, &minor_no, &ino, &used) < 7 ||
        used == 0 || ino == 0) {
        return 0;
    }
    path = line + used;
    len = strcspn(path, "\n");
    if (path[0] != '/' || len >= sizeof(m->path)) {
        return 0;
    }
    memset(m, 0, sizeof(*m));
    m->start = start;
    m->end = end;
    m->dev = makedev(major_no, minor_no);
    m->ino = ino;
    memcpy(m->path, path, len);
    m->path[len] = '\0';
    if (len > strlen(MF_DELETED) &&
        strcmp(m->path + len - strlen(MF_DELETED), MF_DELETED) == 0) {
        m->deleted = 1;
        m->path[len - strlen(MF_DELETED)] = '\0';
    }
    return 1;
}

/* 0, or -ENOMEM; unreadable maps leave have_maps 0. */
static int mf_read_maps(lynx_modfiles_t *v)
{
    char name[64];
    char *line = NULL;
    size_t linecap = 0;
    size_t cap = 0;
    mf_map_t m;
    FILE *f;
    int rc = 0;

    snprintf(name, sizeof(name), "/proc/%d/maps", (int)v->pid);
    f = fopen(name, "re");
    if (f == NULL) {
        return 0;
    }
    while (getline(&line, &linecap, f) > 0) {
        if (mf_parse_line(line, &m) && mf_push_map(v, &cap, &m) != 0) {
            rc = -ENOMEM;
            break;
        }
    }
    /* An empty read is what another user gets on some kernels. */
    v->have_maps = rc == 0 && !ferror(f) && v->nmaps > 0;
    free(line);
    fclose(f);
    return rc;
}

static void mf_read_creds(lynx_modfiles_t *v)
{
    char name[64];
    char *line = NULL;
    size_t linecap = 0;
    unsigned int ids[4];
    int have_uid = 0;
    int have_gid = 0;
    FILE *f;

    snprintf(name, sizeof(name), "/proc/%d/status", (int)v->pid);
    f = fopen(name, "re");
    if (f == NULL) {
        return;
    }
    while (getline(&line, &linecap, f) > 0) {
        if (sscanf(line, "Uid: %u %u %u %u", &ids[0], &ids[1], &ids[2],
                   &ids[3]) == 4) {
            v->uid = ids[3]; /* the fs uid is what file access uses */
            have_uid = 1;
        } else if (sscanf(line, "Gid: %u %u %u %u", &ids[0], &ids[1], &ids[2],
                          &ids[3]) == 4) {
            v->gid = ids[3];
            have_gid = 1;
        } else if (strncmp(line, "Groups:", 7) == 0) {
            char *p = line + 7;
            char *end;
            while (v->ngroups < MF_MAX_GROUPS) {
                unsigned long g = strtoul(p, &end, 10);
                if (end == p) {
                    break;
                }
                v->groups[v->ngroups++] = (uint32_t)g;
                p = end;
            }
        }
    }
    v->have_creds = have_uid && have_gid;
    free(line);
    fclose(f);
}

lynx_modfiles_t *lynx_modfiles_create(int32_t pid)
{
    lynx_modfiles_t *v;

    if (pid <= 0) {
        return NULL;
    }
    v = calloc(1, sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    v->pid = pid;
    if (mf_read_maps(v) != 0) {
        lynx_modfiles_destroy(v);
        return NULL;
    }
    mf_read_creds(v);
    return v;
}

void lynx_modfiles_destroy(lynx_modfiles_t *v)
{
    if (v == NULL) {
        return;
    }
    free(v->maps);
    free(v->memo);
    free(v);
}

/* ---- answers ------------------------------------------------------------ */

static int mf_path_ok(const lynx_module_t *mod)
{
    return memchr(mod->path, '\0', sizeof(mod->path)) != NULL &&
           mod->path[0] == '/';
}

static mf_memo_t *mf_memo_find(lynx_modfiles_t *v, const lynx_module_t *mod)
{
    for (size_t i = 0; i < v->nmemo; i++) {
        mf_memo_t *m = &v->memo[i];
        if (m->start == mod->start && m->limit == mod->limit &&
            strcmp(m->path, mod->path) == 0) {
            return m;
        }
    }
    return NULL;
}

/* A new memo entry for `mod` (path checked), or NULL when out of memory. */
static mf_memo_t *mf_memo_add(lynx_modfiles_t *v, const lynx_module_t *mod)
{
    mf_memo_t *m;

    if (LYNX_ARRAY_RESERVE(v->memo, v->capmemo, v->nmemo + 1) != 0) {
        return NULL;
    }
    m = &v->memo[v->nmemo++];
    memset(m, 0, sizeof(*m));
    m->start = mod->start;
    m->limit = mod->limit;
    memcpy(m->path, mod->path, strlen(mod->path) + 1);
    return m;
}

lynx_modfiles_t *lynx_modfiles_saved(const lynx_module_t *mods,
                                     const lynx_modfile_id_t *ids, size_t n)
{
    lynx_modfiles_t *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        mf_memo_t *m;
        if (!mf_path_ok(&mods[i])) {
            continue;
        }
        m = mf_memo_add(v, &mods[i]);
        if (m == NULL) {
            lynx_modfiles_destroy(v);
            return NULL;
        }
        m->id = ids[i];
        m->id.path[sizeof(m->id.path) - 1] = '\0';
        if (m->id.status > 0) {
            m->id.status = LYNX_MODFILE_EINVAL;
        }
        if (m->id.status == 0) {
            m->id.how = LYNX_MODFILE_BY_SAVED;
        }
    }
    return v;
}

/* Could the target's user read a file of this owner and mode?  With no
 * user known (the process is gone, or /proc hides it), only what every
 * user may read. */
static int mf_target_may_read(const lynx_modfiles_t *v, const struct stat *st)
{
    if (!v->have_creds) {
        return (st->st_mode & S_IROTH) != 0;
    }
    if (v->uid == 0) {
        return 1; /* root reads everything (CAP_DAC_OVERRIDE) */
    }
    if (st->st_uid == v->uid) {
        return (st->st_mode & S_IRUSR) != 0;
    }
    if (st->st_gid == v->gid) {
        return (st->st_mode & S_IRGRP) != 0;
    }
    for (size_t i = 0; i < v->ngroups; i++) {
        if (st->st_gid == v->groups[i]) {
            return (st->st_mode & S_IRGRP) != 0;
        }
    }
    return (st->st_mode & S_IROTH) != 0;
}

static int mf_errno_code(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
        return LYNX_MODFILE_EACCES;
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
        return LYNX_MODFILE_ENOENT;
    default:
        return LYNX_MODFILE_ENOTREG; /* ENXIO, EWOULDBLOCK, ...: not a file */
    }
}

/* Fill m->id for a live view. */
static void mf_answer_live(lynx_modfiles_t *v, mf_memo_t *m)
{
    lynx_modfile_id_t *id = &m->id;
    struct stat st;

    if (v->have_maps) {
        const mf_map_t *hit = NULL;
        for (size_t i = 0; i < v->nmaps && hit == NULL; i++) {
            if (m->start >= v->maps[i].start && m->start < v->maps[i].end) {
                hit = &v->maps[i];
            }
        }
        if (hit == NULL) {
            id->status = LYNX_MODFILE_ENOTMAPPED;
        } else if (hit->deleted) {
            id->status = LYNX_MODFILE_EDELETED;
        } else {
            id->how = LYNX_MODFILE_BY_MAPS;
            id->dev = hit->dev;
            id->ino = hit->ino;
            memcpy(id->path, hit->path, sizeof(id->path));
            m->map_start = hit->start;
            m->map_end = hit->end;
        }
        return;
    }
    /* stat() first: a device or FIFO is refused without being opened. */
    if (stat(m->path, &st) != 0) {
        id->status = mf_errno_code(errno);
    } else if (!S_ISREG(st.st_mode)) {
        id->status = LYNX_MODFILE_ENOTREG;
    } else if (!mf_target_may_read(v, &st)) {
        id->status =
            v->have_creds ? LYNX_MODFILE_EFOREIGN : LYNX_MODFILE_ENOPROC;
    } else {
        id->how = LYNX_MODFILE_BY_PERMISSION;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        memcpy(id->path, m->path, sizeof(id->path));
    }
}

static mf_memo_t *mf_lookup(lynx_modfiles_t *v, const lynx_module_t *mod,
                            int *rc)
{
    mf_memo_t *m;

    *rc = 0;
    if (!mf_path_ok(mod)) {
        *rc = LYNX_MODFILE_EINVAL;
        return NULL;
    }
    m = mf_memo_find(v, mod);
    if (m != NULL) {
        return m;
    }
    if (v->pid == 0) {
        *rc = LYNX_MODFILE_ENOTMAPPED; /* not in the saved answers */
        return NULL;
    }
    m = mf_memo_add(v, mod);
    if (m == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    mf_answer_live(v, m);
    return m;
}

int lynx_modfiles_identify(lynx_modfiles_t *v, const lynx_module_t *mod,
                           lynx_modfile_id_t *id)
{
    int rc;
    mf_memo_t *m = mf_lookup(v, mod, &rc);

    memset(id, 0, sizeof(*id));
    if (m == NULL) {
        id->status = rc;
        return rc;
    }
    *id = m->id;
    return id->status;
}

/* ---- opening ------------------------------------------------------------ */

/*
 * Open `path` if it is a regular file; with want_id, only if it is that
 * device and inode.  Returns the fd or a code; *st gets the file's stat.
 */
static int mf_open_checked(const char *path, int want_id, uint64_t dev,
                           uint64_t ino, struct stat *st)
{
    int fd;
    int err;

    if (stat(path, st) != 0) {
        return mf_errno_code(errno);
    }
    if (!S_ISREG(st->st_mode)) {
        return LYNX_MODFILE_ENOTREG;
    }
    fd = open(path, MF_OPEN_FLAGS);
    if (fd < 0) {
        err = errno;
        return mf_errno_code(err);
    }
    /* The name may have been swapped since stat(): check what we hold. */
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return LYNX_MODFILE_ENOTREG;
    }
    if (want_id &&
        ((uint64_t)st->st_dev != dev || (uint64_t)st->st_ino != ino)) {
        close(fd);
        return LYNX_MODFILE_EMISMATCH;
    }
    return fd;
}

/* The mapped file itself, or -1 when map_files is not ours to open. */
static int mf_open_map_files(const lynx_modfiles_t *v, const mf_memo_t *m,
                             struct stat *st)
{
    char name[96];
    int fd;

    snprintf(name, sizeof(name), "/proc/%d/map_files/%llx-%llx", (int)v->pid,
             (unsigned long long)m->map_start, (unsigned long long)m->map_end);
    fd = open(name, MF_OPEN_FLAGS);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
        (uint64_t)st->st_dev != m->id.dev ||
        (uint64_t)st->st_ino != m->id.ino) {
        close(fd); /* remapped since the maps were read: use the checks */
        return -1;
    }
    return fd;
}

int lynx_modfile_open(lynx_modfiles_t *v, const lynx_module_t *mod,
                      lynx_modfile_id_t *id)
{
    struct stat st;
    mf_memo_t *m;
    int fd;
    int rc;

    memset(id, 0, sizeof(*id));
    if (v == NULL) {
        if (!mf_path_ok(mod)) {
            id->status = LYNX_MODFILE_EINVAL;
            return id->status;
        }
        memcpy(id->path, mod->path, strlen(mod->path) + 1);
        fd = mf_open_checked(id->path, 0, 0, 0, &st);
        if (fd < 0) {
            id->status = fd;
            return fd;
        }
        id->how = LYNX_MODFILE_UNVERIFIED;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        return fd;
    }
    m = mf_lookup(v, mod, &rc);
    if (m == NULL || m->id.status != 0) {
        id->status = m == NULL ? rc : m->id.status;
        return id->status;
    }
    *id = m->id;
    if (m->id.how == LYNX_MODFILE_BY_MAPS && v->pid > 0) {
        fd = mf_open_map_files(v, m, &st);
        if (fd >= 0) {
            id->how = LYNX_MODFILE_BY_MAP_FILES;
            return fd;
        }
    }
    fd = mf_open_checked(m->id.path, 1, m->id.dev, m->id.ino, &st);
    if (fd < 0) {
        id->status = fd;
        id->how = 0;
    }
    return fd;
}

int lynx_modfile_open_extra(lynx_modfiles_t *v, const char *path,
                            lynx_modfile_id_t *id)
{
    struct stat st;
    int fd;

    memset(id, 0, sizeof(*id));
    if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(id->path)) {
        id->status = LYNX_MODFILE_EINVAL;
        return id->status;
    }
    fd = mf_open_checked(path, 0, 0, 0, &st);
    if (fd >= 0 && v != NULL && !mf_target_may_read(v, &st)) {
        close(fd); /* e.g. a symlink to a file of the endpoints' own */
        fd = v->have_creds ? LYNX_MODFILE_EFOREIGN : LYNX_MODFILE_ENOPROC;
    }
    if (fd < 0) {
        id->status = fd;
        return fd;
    }
    id->how = v != NULL ? LYNX_MODFILE_BY_PERMISSION : LYNX_MODFILE_UNVERIFIED;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    memcpy(id->path, path, strlen(path) + 1);
    return fd;
}
