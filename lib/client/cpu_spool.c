/*
 * client/cpu_spool.c - files of finished CPU sessions in the spool directory, and
 * the pprof built from a session's raw stacks (see client/cpu_spool.h and the
 * directory layout in client/cpu.h).
 *
 * Workload: a handful of sessions per hour, each written once (a few MB at
 * most) and read a few times; listings read every <id>.json (small) and
 * check the other files of each against the sizes and CRC-32s it records.
 * Files are replaced only by rename() after fsync, so readers never see a
 * partial file; a writer killed half-way leaves a temporary file that
 * nobody reads and the next sweep removes.  The spool directory is shared
 * by the endpoint processes of one user; its files are still checked like
 * any input, and a damaged session is reported as such, never served.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <zlib.h>

#include "client/buf.h"
#include "client/cpu_spool.h"
#include "client/sample_labels.h"
#include "protocol/clock.h"

#define RAW_MAGIC "LYNXSTK3"   /* header, modules, module ids, stacks
                                  with their labels */
#define RAW_MAGIC_V2 "LYNXSTK2" /* the same, stacks without labels */
#define RAW_MAGIC_V1 "LYNXSTK1" /* the same without module ids */
#define TMP_PREFIX ".tmp-"
#define FILE_MAX_BYTES (1ULL << 30)
#define JSON_MAX_BYTES (64u << 10)

/* ---- raw stacks ----------------------------------------------------------- */

typedef struct raw_header {
    char magic[8];
    uint32_t nmodules;
    uint32_t nstacks;
    int64_t period_ns;
    int64_t time_nanos;
    int64_t duration_nanos;
} raw_header_t;

typedef struct raw_stack {
    uint64_t count;
    uint32_t depth;
    uint32_t flags;
} raw_stack_t;

void cpu_raw_fini(cpu_raw_t *r)
{
    if (r == NULL) {
        return;
    }
    free(r->mods);
    free(r->ids);
    free(r->stacks);
    memset(r, 0, sizeof(*r));
}

int cpu_raw_identify(cpu_raw_t *r, lynx_modfiles_t *files)
{
    free(r->ids);
    r->ids = calloc(r->nmods + 1, sizeof(*r->ids));
    if (r->ids == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->nmods; i++) {
        if (lynx_modfiles_identify(files, &r->mods[i], &r->ids[i]) ==
            -ENOMEM) {
            return -ENOMEM;
        }
    }
    return 0;
}

lynx_modfiles_t *cpu_raw_files(const cpu_raw_t *r)
{
    lynx_modfile_id_t *ids;
    lynx_modfiles_t *v;

    if (r->ids != NULL) {
        return lynx_modfiles_saved(r->mods, r->ids, r->nmods);
    }
    ids = calloc(r->nmods + 1, sizeof(*ids));
    if (ids == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < r->nmods; i++) {
        ids[i].status = LYNX_MODFILE_ENOPROC;
    }
    v = lynx_modfiles_saved(r->mods, ids, r->nmods);
    free(ids);
    return v;
}

int cpu_raw_encode(const cpu_raw_t *r, uint8_t **out, size_t *len)
{
    raw_header_t h;
    size_t size = sizeof(h) +
                  r->nmods * (sizeof(lynx_module_t) + sizeof(*r->ids));
    uint8_t *buf;
    uint8_t *p;

    for (size_t i = 0; i < r->nstacks; i++) {
        size += sizeof(raw_stack_t) + sizeof(lynx_sample_labels_t) +
                r->stacks[i].depth * sizeof(uint64_t);
    }
    buf = malloc(size);
    if (buf == NULL) {
        return -ENOMEM;
    }
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, RAW_MAGIC, sizeof(h.magic));
    h.nmodules = (uint32_t)r->nmods;
    h.nstacks = (uint32_t)r->nstacks;
    h.period_ns = r->period_ns;
    h.time_nanos = r->time_nanos;
    h.duration_nanos = r->duration_nanos;
    memcpy(buf, &h, sizeof(h));
    p = buf + sizeof(h);
    if (r->nmods > 0) {
        memcpy(p, r->mods, r->nmods * sizeof(lynx_module_t));
        p += r->nmods * sizeof(lynx_module_t);
    }
    for (size_t i = 0; i < r->nmods; i++) {
        lynx_modfile_id_t none;
        memset(&none, 0, sizeof(none));
        none.status = LYNX_MODFILE_ENOPROC;
        memcpy(p, r->ids != NULL ? &r->ids[i] : &none, sizeof(none));
        p += sizeof(none);
    }
    for (size_t i = 0; i < r->nstacks; i++) {
        raw_stack_t s = {r->stacks[i].count, r->stacks[i].depth,
                         r->stacks[i].flags};
        memcpy(p, &s, sizeof(s));
        p += sizeof(s);
        memcpy(p, &r->stacks[i].labels, sizeof(lynx_sample_labels_t));
        p += sizeof(lynx_sample_labels_t);
        memcpy(p, r->stacks[i].pcs, s.depth * sizeof(uint64_t));
        p += s.depth * sizeof(uint64_t);
    }
    *out = buf;
    *len = size;
    return 0;
}

int cpu_raw_decode(const uint8_t *in, size_t len, cpu_raw_t *r)
{
    raw_header_t h;
    const uint8_t *p;
    const uint8_t *end = in + len;
    size_t mod_size = sizeof(lynx_module_t) + sizeof(lynx_modfile_id_t);
    size_t labels_size = sizeof(lynx_sample_labels_t);
    int v1;
    int v2;

    memset(r, 0, sizeof(*r));
    if (len < sizeof(h)) {
        return -EINVAL;
    }
    memcpy(&h, in, sizeof(h));
    v1 = memcmp(h.magic, RAW_MAGIC_V1, sizeof(h.magic)) == 0;
    v2 = memcmp(h.magic, RAW_MAGIC_V2, sizeof(h.magic)) == 0;
    if (v1) {
        mod_size = sizeof(lynx_module_t);
    }
    if (v1 || v2) {
        labels_size = 0; /* older files: no labels */
    }
    if ((!v1 && !v2 && memcmp(h.magic, RAW_MAGIC, sizeof(h.magic)) != 0) ||
        h.nmodules > LYNX_MAX_MODULES || h.period_ns <= 0 ||
        h.period_ns > CPU_RAW_PERIOD_MAX_NS ||
        h.duration_nanos < 0 ||
        (size_t)(end - in - sizeof(h)) / mod_size < h.nmodules) {
        return -EINVAL;
    }
    /* Every stack takes at least its header and one pc: a count the file
     * cannot hold is refused before anything is allocated for it. */
    if ((size_t)(end - in - sizeof(h) - h.nmodules * mod_size) /
            (sizeof(raw_stack_t) + labels_size + sizeof(uint64_t)) <
        h.nstacks) {
        return -EINVAL;
    }
    r->period_ns = h.period_ns;
    r->time_nanos = h.time_nanos;
    r->duration_nanos = h.duration_nanos;
    r->mods = calloc((size_t)h.nmodules + 1, sizeof(lynx_module_t));
    r->stacks = calloc((size_t)h.nstacks + 1, sizeof(lynx_cpu_stack_t));
    if (r->mods == NULL || r->stacks == NULL) {
        cpu_raw_fini(r);
        return -ENOMEM;
    }
    p = in + sizeof(h);
    memcpy(r->mods, p, h.nmodules * sizeof(lynx_module_t));
    r->nmods = h.nmodules;
    p += h.nmodules * sizeof(lynx_module_t);
    if (!v1) {
        r->ids = calloc(h.nmodules + 1, sizeof(*r->ids));
        if (r->ids == NULL) {
            cpu_raw_fini(r);
            return -ENOMEM;
        }
        memcpy(r->ids, p, h.nmodules * sizeof(*r->ids));
        p += h.nmodules * sizeof(*r->ids);
    }
    for (uint32_t i = 0; i < h.nstacks; i++) {
        raw_stack_t s;
        lynx_cpu_stack_t *st = &r->stacks[i];
        if ((size_t)(end - p) < sizeof(s)) {
            goto bad;
        }
        memcpy(&s, p, sizeof(s));
        p += sizeof(s);
        if (s.depth < 1 || s.depth > LYNX_CPU_MAX_DEPTH ||
            s.count > CPU_RAW_COUNT_MAX ||
            (size_t)(end - p) < labels_size + s.depth * sizeof(uint64_t)) {
            goto bad;
        }
        /* Labels are kept as they are (the file must encode back to the
         * same bytes) and made safe when the pprof is built. */
        memcpy(&st->labels, p, labels_size);
        p += labels_size;
        st->count = s.count;
        st->depth = s.depth;
        st->flags = s.flags;
        memcpy(st->pcs, p, s.depth * sizeof(uint64_t));
        p += s.depth * sizeof(uint64_t);
    }
    if (p != end) {
        goto bad;
    }
    r->nstacks = h.nstacks;
    return 0;
bad:
    cpu_raw_fini(r);
    return -EINVAL;
}

int cpu_raw_from_table(const void *region, size_t size_bytes,
                       uint32_t index, cpu_raw_t *r, uint64_t *samples,
                       uint64_t *lost)
{
    const lynx_cpu_table_t *t = region;
    uint32_t cap;
    uint32_t n;

    *samples = 0;
    *lost = 0;
    r->stacks = NULL;
    r->nstacks = 0;
    if (size_bytes < sizeof(*t)) {
        return LYNX_EBADSIZE;
    }
    if (t->session_index != index) {
        return LYNX_ENOSESSION;
    }
    /* Each shared field is read once, into a local. */
    cap = t->capacity;
    if ((size_bytes - sizeof(*t)) / sizeof(lynx_cpu_stack_t) < cap) {
        return LYNX_EBADSIZE;
    }
    n = atomic_load_explicit(&t->nstacks, memory_order_acquire);
    if (n > cap) {
        n = cap;
    }
    r->stacks = calloc((size_t)n + 1, sizeof(lynx_cpu_stack_t));
    if (r->stacks == NULL) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        lynx_cpu_stack_t *s = &r->stacks[r->nstacks];
        memcpy(s, &t->stacks[i], sizeof(*s));
        if (s->depth < 1 || s->depth > LYNX_CPU_MAX_DEPTH || s->count == 0 ||
            s->count > CPU_RAW_COUNT_MAX) {
            continue;
        }
        *samples += s->count;
        r->nstacks++;
    }
    *lost = t->lost_samples;
    return 0;
}

lynx_pprof_t *cpu_raw_pprof(const cpu_raw_t *r, uint64_t lost_samples,
                            int *rc)
{
    lynx_pprof_t *p = lynx_pprof_create();
    char note[96];

    if (p == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    *rc = lynx_pprof_add_sample_type(p, "samples", "count");
    if (*rc == 0) {
        *rc = lynx_pprof_add_sample_type(p, "cpu", "nanoseconds");
    }
    if (*rc == 0) {
        *rc = lynx_pprof_set_period(p, "cpu", "nanoseconds", r->period_ns);
    }
    if (*rc == 0) {
        *rc = lynx_pprof_set_modules(p, r->mods, r->nmods);
    }
    lynx_pprof_set_time(p, r->time_nanos, r->duration_nanos);
    if (*rc == 0 && lost_samples > 0) {
        snprintf(note, sizeof(note), "lost samples: %llu",
                 (unsigned long long)lost_samples);
        *rc = lynx_pprof_add_comment(p, note);
    }
    if (*rc == 0) {
        uint64_t skipped = 0;
        uint64_t cut = 0;
        for (size_t i = 0; i < r->nstacks; i++) {
            if (r->stacks[i].flags & LYNX_STACK_UNWIND_SKIPPED) {
                skipped += r->stacks[i].count;
            }
            if (r->stacks[i].flags & LYNX_STACK_LABELS_CUT) {
                cut += r->stacks[i].count;
            }
        }
        if (skipped > 0) {
            snprintf(note, sizeof(note),
                     "samples not unwound (thread inside the loader): %llu",
                     (unsigned long long)skipped);
            *rc = lynx_pprof_add_comment(p, note);
        }
        if (*rc == 0 && cut > 0) {
            snprintf(note, sizeof(note),
                     "samples with request labels cut (past the label "
                     "limits): %llu",
                     (unsigned long long)cut);
            *rc = lynx_pprof_add_comment(p, note);
        }
    }
    for (size_t i = 0; *rc == 0 && i < r->nstacks; i++) {
        const lynx_cpu_stack_t *s = &r->stacks[i];
        lynx_sample_label_buf_t lb;
        size_t nl;
        int64_t values[2];
        if (s->count == 0) {
            continue;
        }
        values[0] = (int64_t)s->count;
        values[1] = (int64_t)s->count * r->period_ns;
        nl = lynx_sample_labels_decode(&s->labels, &lb);
        /* pcs[0] is the interrupted instruction: an exact leaf. */
        *rc = lynx_pprof_add_sample(p, s->pcs, s->depth, 1, values, 2,
                                    lb.labels, nl);
    }
    if (*rc != 0) {
        lynx_pprof_destroy(p);
        return NULL;
    }
    return p;
}

/* ---- paths and small file helpers ------------------------------------------ */

int cpu_spool_path(const char *dir, const char *id, const char *ext,
                   char *buf, size_t size)
{
    int n;

    if (!lynx_cpu_id_valid(id)) {
        return LYNX_EBADARG;
    }
    n = snprintf(buf, size, "%s/%s%s", dir, id, ext);
    return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

int cpu_spool_exists(const char *dir, const char *id, const char *ext)
{
    char path[512];
    struct stat st;

    if (cpu_spool_path(dir, id, ext, path, sizeof(path)) != 0) {
        return 0;
    }
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int read_path(const char *path, uint64_t max, uint8_t **data,
                     size_t *len)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int saved;

    *data = NULL;
    *len = 0;
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            saved = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return -saved;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

int cpu_spool_read_file(const char *dir, const char *id, const char *ext,
                        uint8_t **data, size_t *len)
{
    char path[512];
    int rc = cpu_spool_path(dir, id, ext, path, sizeof(path));

    if (rc != 0) {
        return rc;
    }
    return read_path(path, FILE_MAX_BYTES, data, len);
}

/* Make a rename in dir durable (best effort: the file itself is already
 * whole, only a power cut could lose the new name). */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Write data to a temporary file in dir and rename it to final_path. */
static int write_atomic(const char *dir, const char *final_path,
                        const void *data, size_t len)
{
    static _Atomic unsigned counter;
    char tmp[512];
    const char *base = strrchr(final_path, '/');
    size_t off = 0;
    int saved;
    int fd;
    int n;

    n = snprintf(tmp, sizeof(tmp), "%s/%s%d-%u-%s", dir, TMP_PREFIX,
                 (int)getpid(), atomic_fetch_add(&counter, 1),
                 base != NULL ? base + 1 : "x");
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              0640);
    if (fd < 0) {
        return -errno;
    }
    while (off < len) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            saved = w < 0 ? errno : EIO;
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        saved = errno;
        goto fail;
    }
    if (close(fd) != 0) {
        saved = errno;
        unlink(tmp);
        return -saved;
    }
    if (rename(tmp, final_path) != 0) {
        saved = errno;
        unlink(tmp);
        return -saved;
    }
    sync_dir(dir);
    return 0;
fail:
    close(fd);
    unlink(tmp);
    return -saved;
}

int cpu_spool_probe(const char *dir)
{
    struct statvfs fs;

    if (statvfs(dir, &fs) != 0) {
        return -errno;
    }
    if (fs.f_flag & ST_RDONLY) {
        return -EROFS;
    }
    if ((uint64_t)fs.f_bavail * fs.f_frsize < SPOOL_ROOM_MIN ||
        (fs.f_files != 0 && fs.f_favail == 0)) {
        return -ENOSPC;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        return -errno;
    }
    return 0;
}

/* Check <id><ext> against the size and CRC-32 (when >= 0) its record
 * gives; 0, or LYNX_EPROTO with the reason in why. */
static int check_file(const char *dir, const char *id, const char *ext,
                      const char *what, int64_t size, int64_t crc,
                      char *why, size_t why_size)
{
    uint8_t *data;
    size_t len;
    int rc = cpu_spool_read_file(dir, id, ext, &data, &len);

    if (rc == -ENOENT) {
        snprintf(why, why_size, "%s file missing", what);
        return LYNX_EPROTO;
    }
    if (rc == -EFBIG || (rc == 0 && (int64_t)len != size)) {
        snprintf(why, why_size, "%s file has %lld bytes, %lld expected "
                 "(truncated or overwritten)", what,
                 rc == 0 ? (long long)len : -1LL, (long long)size);
        rc = LYNX_EPROTO;
    } else if (rc == 0 && crc >= 0 &&
               crc32(crc32(0, NULL, 0), data, (uInt)len) != (uLong)crc) {
        snprintf(why, why_size, "%s file corrupted (CRC-32 mismatch)", what);
        rc = LYNX_EPROTO;
    } else if (rc != 0) {
        snprintf(why, why_size, "%s file unreadable: %s", what,
                 strerror(-rc));
        rc = LYNX_EPROTO;
    }
    free(data);
    return rc;
}

/* *out describes a damaged session `id` whose record file is at path. */
static void damaged(const char *path, const char *id, const char *why,
                    lynx_cpu_session_t *out)
{
    struct stat st;
    int64_t mtime = 0;

    if (out->id[0] == '\0') {
        /* Nothing of the record is usable: the file's time stands in. */
        memset(out, 0, sizeof(*out));
        snprintf(out->id, sizeof(out->id), "%s", id);
        if (stat(path, &st) == 0) {
            mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL +
                    st.st_mtim.tv_nsec;
        }
        out->started_unix_ns = mtime;
        out->ended_unix_ns = mtime;
        out->duration_ns = 1;
        out->data_size_bytes = -1;
    }
    out->state = LYNX_CPU_DAMAGED;
    out->spooled = 1;
    snprintf(out->error, sizeof(out->error), "%s", why);
}

int cpu_spool_read(const char *dir, const char *id, lynx_cpu_session_t *out)
{
    uint8_t *text;
    size_t len;
    char path[512];
    char why[LYNX_CPU_ERROR_MAX];
    const char *parse_why = "";
    cpu_spool_files_t f;
    int rc = cpu_spool_path(dir, id, ".json", path, sizeof(path));

    memset(out, 0, sizeof(*out));
    if (rc != 0) {
        return rc;
    }
    rc = read_path(path, JSON_MAX_BYTES, &text, &len);
    if (rc == -ENOENT) {
        return LYNX_ENOSESSION;
    }
    if (rc == -EFBIG) {
        damaged(path, id, "session record too large", out);
        return LYNX_EPROTO;
    }
    if (rc != 0) {
        return rc;
    }
    rc = lynx_cpu_json_record_parse((const char *)text, id, out, &f,
                                    &parse_why);
    free(text);
    if (rc != 0) {
        damaged(path, id, parse_why, out);
        return rc;
    }
    if (out->data_size_bytes >= 0) {
        rc = check_file(dir, id, ".pb.gz", "profile", out->data_size_bytes,
                        f.data_crc32, why, sizeof(why));
    }
    if (rc == 0 && f.stacks_size >= 0) {
        rc = check_file(dir, id, ".stacks", "stacks", f.stacks_size,
                        f.stacks_crc32, why, sizeof(why));
    }
    if (rc != 0) {
        damaged(path, id, why, out);
    }
    return rc;
}

int cpu_spool_write(const char *dir, const lynx_cpu_session_t *s,
                    const uint8_t *pprof, size_t pprof_len,
                    const uint8_t *raw, size_t raw_len)
{
    lynx_cpu_session_t copy = *s;
    cpu_spool_files_t f = {-1, -1, -1};
    char path[512];
    char *text;
    int rc = 0;

    copy.data_size_bytes = pprof != NULL ? (int64_t)pprof_len : -1;
    if (raw != NULL) {
        f.stacks_size = (int64_t)raw_len;
        f.stacks_crc32 = (int64_t)crc32(crc32(0, NULL, 0), raw, (uInt)raw_len);
        rc = cpu_spool_path(dir, s->id, ".stacks", path, sizeof(path));
        if (rc == 0) {
            rc = write_atomic(dir, path, raw, raw_len);
        }
    }
    if (rc == 0 && pprof != NULL) {
        f.data_crc32 = (int64_t)crc32(crc32(0, NULL, 0), pprof,
                                      (uInt)pprof_len);
        rc = cpu_spool_path(dir, s->id, ".pb.gz", path, sizeof(path));
        if (rc == 0) {
            rc = write_atomic(dir, path, pprof, pprof_len);
        }
    }
    if (rc == 0) {
        text = lynx_cpu_json_record_text(&copy, &f);
        rc = text != NULL ? cpu_spool_path(dir, s->id, ".json", path,
                                           sizeof(path))
                          : -ENOMEM;
        if (rc == 0) {
            rc = write_atomic(dir, path, text, strlen(text));
        }
        free(text);
    }
    if (rc != 0 && !cpu_spool_exists(dir, s->id, ".json")) {
        /* Not spooled: give back the space of what was written, a full
         * disk being the usual cause. */
        cpu_spool_remove(dir, s->id, 0);
    }
    return rc;
}

int cpu_spool_remove(const char *dir, const char *id, int tombstone)
{
    static const char *const exts[] = {".json", ".pb.gz", ".stacks"};
    char path[512];
    int rc = 0;

    /* The json goes first: without it the session is not spooled, so a
     * reader never finds a record whose profile has already gone. */
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        int r = cpu_spool_path(dir, id, exts[i], path, sizeof(path));
        if (r == 0 && unlink(path) != 0 && errno != ENOENT) {
            r = -errno;
        }
        if (rc == 0) {
            rc = r;
        }
    }
    if (rc == 0 && tombstone) {
        rc = cpu_spool_path(dir, id, ".gone", path, sizeof(path));
        if (rc == 0) {
            rc = write_atomic(dir, path, "", 0);
        }
    }
    return rc;
}

/* ---- locks and stamps ------------------------------------------------------------ */

int cpu_spool_lock(const char *dir, const char *name, int nonblock)
{
    char path[512];
    int fd;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= sizeof(path)) {
        return -ENAMETOOLONG;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        return -errno;
    }
    while (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) != 0) {
        int saved = errno;
        if (saved == EINTR) {
            continue;
        }
        close(fd);
        return -saved;
    }
    return fd;
}

void cpu_spool_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

int64_t cpu_spool_stamp_get(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &st) != 0) {
        return 0;
    }
    return (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

void cpu_spool_stamp_touch(const char *dir, const char *name)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd >= 0) {
        futimens(fd, NULL);
        close(fd);
    }
}

/* ---- listing ------------------------------------------------------------------ */

/* If name is "<valid id><ext>", copy the id into id and return 1. */
static int name_is(const char *name, const char *ext, char id[LYNX_CPU_ID_MAX])
{
    size_t n = strlen(name);
    size_t e = strlen(ext);

    if (n <= e || n - e >= LYNX_CPU_ID_MAX || strcmp(name + n - e, ext) != 0) {
        return 0;
    }
    memcpy(id, name, n - e);
    id[n - e] = '\0';
    return lynx_cpu_id_valid(id);
}

int cpu_spool_list(const char *dir, lynx_cpu_session_t **out, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    lynx_cpu_session_t *list = NULL;
    size_t n = 0;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *count = 0;
    if (d == NULL) {
        return errno == ENOENT ? 0 : -errno;
    }
    while ((e = readdir(d)) != NULL) {
        char id[LYNX_CPU_ID_MAX];
        if (!name_is(e->d_name, ".json", id)) {
            continue;
        }
        if (LYNX_ARRAY_RESERVE(list, cap, n + 1) != 0) {
            free(list);
            closedir(d);
            return -ENOMEM;
        }
        rc = cpu_spool_read(dir, id, &list[n]);
        if (rc == 0 || rc == LYNX_EPROTO) {
            n++; /* a damaged one is listed with its reason */
        }
    }
    closedir(d);
    *out = list;
    *count = n;
    return 0;
}

int cpu_spool_tombstones(const char *dir, char (**out)[LYNX_CPU_ID_MAX],
                         size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char (*ids)[LYNX_CPU_ID_MAX] = NULL;
    size_t n = 0;
    size_t cap = 0;

    *out = NULL;
    *count = 0;
    if (d == NULL) {
        return errno == ENOENT ? 0 : -errno;
    }
    while ((e = readdir(d)) != NULL) {
        char id[LYNX_CPU_ID_MAX];
        if (!name_is(e->d_name, ".gone", id)) {
            continue;
        }
        if (LYNX_ARRAY_RESERVE(ids, cap, n + 1) != 0) {
            free(ids);
            closedir(d);
            return -ENOMEM;
        }
        memcpy(ids[n++], id, LYNX_CPU_ID_MAX);
    }
    closedir(d);
    *out = ids;
    *count = n;
    return 0;
}

/* 1 if the temporary file `name` (TMP_PREFIX "<pid>-...") belongs to a
 * process that no longer exists: a writer killed half-way. */
static int tmp_writer_gone(const char *name)
{
    char *end;
    long pid = strtol(name + strlen(TMP_PREFIX), &end, 10);

    return *end == '-' && pid > 0 && pid <= INT32_MAX &&
           kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int cpu_spool_sweep_tmp(const char *dir, int64_t max_age_ns)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int64_t now = lynx_real_ns();
    int removed = 0;

    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (((int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec +
                     max_age_ns < now ||
             tmp_writer_gone(e->d_name)) &&
            unlinkat(dirfd(d), e->d_name, 0) == 0) {
            removed++;
        }
    }
    closedir(d);
    return removed;
}
