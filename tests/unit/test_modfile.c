/*
 * test_modfile.c - the safe opener of module files (lib/client/modfile.c)
 * against the files a lying module record can name: a FIFO (must not
 * hang: the whole test runs under alarm()), a directory, a device, a file
 * that is not the one mapped, a file replaced since it was mapped, a file
 * the endpoint's user cannot read, and the real mapped file (accepted).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/modfile.h"
#include "client/symbolize.h"

#define NOBODY 65534

static char g_dir[64];

static void path_in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", g_dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void record(lynx_module_t *m, uint64_t start, uint64_t limit,
                   const char *path)
{
    memset(m, 0, sizeof(*m));
    m->start = start;
    m->limit = limit;
    snprintf(m->path, sizeof(m->path), "%s", path);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Open `path` as a module through `v` (may be NULL); the code or fd. */
static int open_as(lynx_modfiles_t *v, const char *path, uint64_t start,
                   lynx_modfile_id_t *id)
{
    lynx_module_t m;

    record(&m, start, start + 4096, path);
    return lynx_modfile_open(v, &m, id);
}

static void test_fifo_returns_promptly(void **state)
{
    char fifo[128];
    lynx_modfile_id_t id;
    lynx_modfile_id_t saved;
    lynx_modfiles_t *v;
    lynx_module_t m;
    int64_t t0;
    int rc;

    (void)state;
    path_in_dir(fifo, sizeof(fifo), "fifo");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    t0 = now_ms();
    rc = open_as(NULL, fifo, 0x1000, &id);
    assert_int_equal(rc, LYNX_MODFILE_ENOTREG);
    assert_int_equal(id.status, LYNX_MODFILE_ENOTREG);
    /* Through a saved view that names the FIFO as the verified file. */
    memset(&saved, 0, sizeof(saved));
    snprintf(saved.path, sizeof(saved.path), "%s", fifo);
    record(&m, 0x1000, 0x2000, fifo);
    v = lynx_modfiles_saved(&m, &saved, 1);
    assert_non_null(v);
    assert_int_equal(lynx_modfile_open(v, &m, &id), LYNX_MODFILE_ENOTREG);
    lynx_modfiles_destroy(v);
    /* No writer ever comes: a blocking open would still be waiting. */
    assert_true(now_ms() - t0 < 2000);
    unlink(fifo);
}

static void test_directory_and_device_refused(void **state)
{
    lynx_modfile_id_t id;

    (void)state;
    assert_int_equal(open_as(NULL, g_dir, 0x1000, &id), LYNX_MODFILE_ENOTREG);
    assert_int_equal(open_as(NULL, "/dev/null", 0x1000, &id),
                     LYNX_MODFILE_ENOTREG);
    assert_int_equal(open_as(NULL, "/nonexistent/lynx/x.so", 0x1000, &id),
                     LYNX_MODFILE_ENOENT);
    assert_int_equal(open_as(NULL, "relative.so", 0x1000, &id),
                     LYNX_MODFILE_EINVAL);
}

/* Map `path` privately; returns the address. */
static void *map_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    void *p;

    assert_true(fd >= 0);
    p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    assert_true(p != MAP_FAILED);
    return p;
}

static void test_mapped_file_accepted(void **state)
{
    char file[128];
    char other[128];
    lynx_modfile_id_t id;
    lynx_modfiles_t *v;
    struct stat st;
    struct stat fst;
    void *p;
    int fd;

    (void)state;
    path_in_dir(file, sizeof(file), "mapped.bin");
    path_in_dir(other, sizeof(other), "other.bin");
    write_file(file, "mapped\n", 0644);
    write_file(other, "other\n", 0644);
    p = map_file(file);
    assert_int_equal(stat(file, &st), 0);

    v = lynx_modfiles_create(getpid());
    assert_non_null(v);
    fd = open_as(v, file, (uint64_t)(uintptr_t)p, &id);
    assert_true(fd >= 0);
    assert_int_equal(id.status, 0);
    assert_true(id.how == LYNX_MODFILE_BY_MAP_FILES ||
                id.how == LYNX_MODFILE_BY_MAPS);
    assert_int_equal(fstat(fd, &fst), 0);
    assert_true(fst.st_dev == st.st_dev && fst.st_ino == st.st_ino);
    close(fd);

    /* A record that names another file at that address still gets the
     * file the process maps there, never the one it names. */
    fd = open_as(v, other, (uint64_t)(uintptr_t)p, &id);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &fst), 0);
    assert_true(fst.st_dev == st.st_dev && fst.st_ino == st.st_ino);
    assert_string_equal(id.path, file);
    close(fd);

    /* Nothing mapped at that address. */
    assert_int_equal(open_as(v, file, 0x10, &id), LYNX_MODFILE_ENOTMAPPED);
    lynx_modfiles_destroy(v);

    /* The file replaced on disk since it was mapped. */
    assert_int_equal(rename(other, file), 0);
    v = lynx_modfiles_create(getpid());
    assert_non_null(v);
    assert_int_equal(open_as(v, file, (uint64_t)(uintptr_t)p, &id),
                     LYNX_MODFILE_EDELETED);
    lynx_modfiles_destroy(v);
    munmap(p, 4096);
    unlink(file);
}

static void test_saved_view_checks_inode(void **state)
{
    char file[128];
    char other[128];
    lynx_modfile_id_t ids[1];
    lynx_modfile_id_t id;
    lynx_modfiles_t *v;
    lynx_module_t m;
    struct stat st;
    int fd;

    (void)state;
    path_in_dir(file, sizeof(file), "saved.bin");
    path_in_dir(other, sizeof(other), "saved-other.bin");
    write_file(file, "saved\n", 0644);
    write_file(other, "other\n", 0644);
    assert_int_equal(stat(file, &st), 0);
    record(&m, 0x400000, 0x401000, file);
    memset(ids, 0, sizeof(ids));
    ids[0].dev = st.st_dev;
    ids[0].ino = st.st_ino;
    snprintf(ids[0].path, sizeof(ids[0].path), "%s", file);

    v = lynx_modfiles_saved(&m, ids, 1);
    assert_non_null(v);
    fd = lynx_modfile_open(v, &m, &id);
    assert_true(fd >= 0);
    assert_int_equal(id.how, LYNX_MODFILE_BY_SAVED);
    close(fd);
    /* Another record, or the same one after its file was replaced. */
    record(&m, 0x500000, 0x501000, file);
    assert_int_equal(lynx_modfile_open(v, &m, &id), LYNX_MODFILE_ENOTMAPPED);
    record(&m, 0x400000, 0x401000, file);
    assert_int_equal(rename(other, file), 0);
    assert_int_equal(lynx_modfile_open(v, &m, &id), LYNX_MODFILE_EMISMATCH);
    lynx_modfiles_destroy(v);

    /* A saved failure keeps its reason. */
    ids[0].status = LYNX_MODFILE_EACCES;
    v = lynx_modfiles_saved(&m, ids, 1);
    assert_non_null(v);
    assert_int_equal(lynx_modfiles_identify(v, &m, &id), LYNX_MODFILE_EACCES);
    lynx_modfiles_destroy(v);
    unlink(file);
}

/* In a child: become uid (and gid) `id`, or exit 10. */
static void become(uid_t id)
{
    if (setgid(id) != 0 || setuid(id) != 0) {
        _exit(10);
    }
}

/* Wait for child; then stop `target` (if > 0) and check that the child
 * exited 0 (its exit code says which of its checks failed). */
static void expect_child_ok(pid_t child, pid_t target)
{
    int status = -1;
    pid_t got = waitpid(child, &status, 0);

    if (target > 0) {
        kill(target, SIGKILL);
        waitpid(target, NULL, 0);
    }
    assert_int_equal(got, child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * As the endpoints usually run: another user than the target, so neither
 * maps nor map_files can be read.  A child drops to `nobody` and looks at
 * this (root) process: a readable file is accepted by the target's rights,
 * a 0711 program is "not readable by user nobody".
 */
static void test_other_user_view(void **state)
{
    char readable[128];
    char secret[128];
    pid_t parent = getpid();
    pid_t child;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    path_in_dir(readable, sizeof(readable), "lib-readable.so");
    path_in_dir(secret, sizeof(secret), "prog-0711");
    write_file(readable, "readable\n", 0644);
    write_file(secret, "secret\n", 0711);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        lynx_modfile_id_t id;
        lynx_modfiles_t *v;
        lynx_module_t m;
        char note[512];
        int fd;

        become(NOBODY);
        v = lynx_modfiles_create(parent);
        if (v == NULL) {
            _exit(11);
        }
        fd = open_as(v, readable, 0x400000, &id);
        if (fd < 0 || id.how != LYNX_MODFILE_BY_PERMISSION) {
            _exit(12);
        }
        close(fd);
        record(&m, 0x500000, 0x501000, secret);
        if (lynx_modfile_open(v, &m, &id) != LYNX_MODFILE_EACCES) {
            _exit(13);
        }
        lynx_symbolize_note(secret, id.status, note, sizeof(note));
        if (strstr(note, "not readable by user nobody") == NULL) {
            _exit(14);
        }
        lynx_modfiles_destroy(v);
        _exit(0);
    }
    expect_child_ok(child, 0);
    unlink(readable);
    unlink(secret);
}

/*
 * Endpoint and target of the same user, without privileges: map_files is
 * closed, maps is open.  The file is found by the device and inode mapped
 * at the record's address and opened by the kernel's name for it.
 */
static void test_same_user_maps(void **state)
{
    char file[128];
    char other[128];
    struct stat st;
    uint64_t addr = 0;
    int fds[2];
    pid_t target;
    pid_t child;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    path_in_dir(file, sizeof(file), "same-user.so");
    path_in_dir(other, sizeof(other), "same-user-other.so");
    write_file(file, "same user\n", 0644);
    write_file(other, "other\n", 0644);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(pipe(fds), 0);
    target = fork();
    assert_true(target >= 0);
    if (target == 0) {
        void *p;
        become(NOBODY);
        prctl(PR_SET_DUMPABLE, 1); /* setuid() cleared it */
        p = map_file(file);
        addr = (uint64_t)(uintptr_t)p;
        if (write(fds[1], &addr, sizeof(addr)) != sizeof(addr)) {
            _exit(11);
        }
        pause();
        _exit(0);
    }
    assert_int_equal(read(fds[0], &addr, sizeof(addr)), sizeof(addr));
    close(fds[0]);
    close(fds[1]);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        lynx_modfile_id_t id;
        lynx_modfiles_t *v;
        struct stat fst;
        int fd;

        become(NOBODY);
        v = lynx_modfiles_create(target);
        if (v == NULL) {
            _exit(11);
        }
        /* The record names the other file: the mapped one is opened. */
        fd = open_as(v, other, addr, &id);
        if (fd < 0 || id.how != LYNX_MODFILE_BY_MAPS) {
            _exit(12);
        }
        if (fstat(fd, &fst) != 0 || fst.st_ino != st.st_ino ||
            fst.st_dev != st.st_dev || strcmp(id.path, file) != 0) {
            _exit(13);
        }
        close(fd);
        _exit(open_as(v, other, 0x10000, &id) == LYNX_MODFILE_ENOTMAPPED ? 0
                                                                         : 14);
    }
    expect_child_ok(child, target);
    unlink(file);
    unlink(other);
}

/* A target that is gone (a CPU session saved after it was killed): only
 * files every user may read are taken. */
static void test_gone_target(void **state)
{
    char shared[128];
    char private_file[128];
    lynx_modfile_id_t id;
    lynx_modfiles_t *v;
    pid_t gone;
    int fd;

    (void)state;
    path_in_dir(shared, sizeof(shared), "world-readable.so");
    path_in_dir(private_file, sizeof(private_file), "private.so");
    write_file(shared, "shared\n", 0644);
    write_file(private_file, "private\n", 0640);
    gone = fork();
    assert_true(gone >= 0);
    if (gone == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(gone, NULL, 0), gone);
    v = lynx_modfiles_create(gone);
    assert_non_null(v);
    fd = open_as(v, shared, 0x400000, &id);
    assert_true(fd >= 0);
    assert_int_equal(id.how, LYNX_MODFILE_BY_PERMISSION);
    close(fd);
    assert_int_equal(open_as(v, private_file, 0x500000, &id),
                     LYNX_MODFILE_ENOPROC);
    lynx_modfiles_destroy(v);
    unlink(shared);
    unlink(private_file);
}

/*
 * Run check() in a child that is user `nobody` (as the endpoints), with a
 * view of a target that runs as another user; the check returns 0 or the
 * number of the test that failed.
 */
static void check_as_endpoint(int (*check)(lynx_modfiles_t *v, void *arg),
                              void *arg)
{
    pid_t target;
    pid_t child;

    target = fork();
    assert_true(target >= 0);
    if (target == 0) {
        become(NOBODY - 1);
        pause();
        _exit(0);
    }
    usleep(100000); /* let it drop its rights */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        lynx_modfiles_t *v;

        become(NOBODY);
        v = lynx_modfiles_create(target);
        if (v == NULL) {
            _exit(11);
        }
        _exit(check(v, arg));
    }
    expect_child_ok(child, target);
}

static int foreign_refused(lynx_modfiles_t *v, void *arg)
{
    lynx_modfile_id_t id;

    return open_as(v, arg, 0x400000, &id) == LYNX_MODFILE_EFOREIGN ? 0 : 12;
}

/* A target whose own user could not read the named file: refused even
 * though the endpoint could read it. */
static void test_foreign_file_refused(void **state)
{
    char mine[128];

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    path_in_dir(mine, sizeof(mine), "endpoint-only.so");
    write_file(mine, "endpoint only\n", 0600);
    assert_int_equal(chown(mine, NOBODY, NOBODY), 0);
    check_as_endpoint(foreign_refused, mine);
    unlink(mine);
}

/* The names of test_extra_file's files. */
typedef struct extra_files {
    char mine[128];   /* readable by the endpoint only */
    char link[128];   /* a symlink to it */
    char fifo[128];
    char shared[128]; /* readable by everyone */
} extra_files_t;

static int extra_checks(lynx_modfiles_t *v, void *arg)
{
    const extra_files_t *f = arg;
    lynx_modfile_id_t id;
    int fd;

    if (lynx_modfile_open_extra(v, f->link, &id) != LYNX_MODFILE_EFOREIGN ||
        id.status != LYNX_MODFILE_EFOREIGN) {
        return 12;
    }
    if (lynx_modfile_open_extra(v, f->fifo, &id) != LYNX_MODFILE_ENOTREG) {
        return 13;
    }
    if (lynx_modfile_open_extra(v, "relative.debug", &id) !=
        LYNX_MODFILE_EINVAL) {
        return 14;
    }
    fd = lynx_modfile_open_extra(v, f->shared, &id);
    if (fd < 0 || id.how != LYNX_MODFILE_BY_PERMISSION) {
        return 15;
    }
    close(fd);
    /* Without a view, any regular file: the endpoint's own too. */
    fd = lynx_modfile_open_extra(NULL, f->mine, &id);
    if (fd < 0 || id.how != LYNX_MODFILE_UNVERIFIED) {
        return 16;
    }
    close(fd);
    return 0;
}

/* Files found for a module (debug files): the same checks, by path.  A
 * symlink the target planted to a file only the endpoint can read is
 * refused; a FIFO is refused without blocking; a world-readable file is
 * taken. */
static void test_extra_file(void **state)
{
    extra_files_t f;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    path_in_dir(f.mine, sizeof(f.mine), "endpoint-only.debug");
    path_in_dir(f.link, sizeof(f.link), "planted.debug");
    path_in_dir(f.fifo, sizeof(f.fifo), "fifo.debug");
    path_in_dir(f.shared, sizeof(f.shared), "shared.debug");
    write_file(f.mine, "endpoint only\n", 0600);
    assert_int_equal(chown(f.mine, NOBODY, NOBODY), 0);
    assert_int_equal(symlink(f.mine, f.link), 0);
    assert_int_equal(mkfifo(f.fifo, 0666), 0);
    write_file(f.shared, "everyone\n", 0644);
    check_as_endpoint(extra_checks, &f);
    unlink(f.link);
    unlink(f.mine);
    unlink(f.fifo);
    unlink(f.shared);
}

static int setup(void **state)
{
    (void)state;
    /* A blocking open of the FIFO would hang: fail instead. */
    alarm(60);
    snprintf(g_dir, sizeof(g_dir), "/tmp/lynx-modfile-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    return chmod(g_dir, 0755);
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_returns_promptly),
        cmocka_unit_test(test_directory_and_device_refused),
        cmocka_unit_test(test_mapped_file_accepted),
        cmocka_unit_test(test_saved_view_checks_inode),
        cmocka_unit_test(test_other_user_view),
        cmocka_unit_test(test_same_user_maps),
        cmocka_unit_test(test_gone_target),
        cmocka_unit_test(test_foreign_file_refused),
        cmocka_unit_test(test_extra_file),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
