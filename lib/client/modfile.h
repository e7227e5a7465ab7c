/*
 * client/modfile.h - opening the file of a module of a profiled process
 * without trusting the module record that names it.
 *
 * Runs in the endpoint processes.  Module records (path, address range,
 * build ID) come from the target's shared memory, so a path may name a
 * FIFO, a device, a directory or a file the target never mapped.  Every
 * place that opens a module file for symbols goes through
 * lynx_modfile_open(), which
 *   - refuses anything but a regular file, before and after opening it,
 *     and opens with O_NONBLOCK | O_NOCTTY so that nothing can block it;
 *   - checks that the file is the one the target maps at the record's
 *     address, with the best evidence the endpoint may read (a "view" of
 *     the target, lynx_modfiles_t):
 *       1. /proc/<pid>/map_files/<range> (needs CAP_SYS_ADMIN over the
 *          target): the mapped file itself;
 *       2. /proc/<pid>/maps (needs ptrace-read rights: same user, or
 *          CAP_SYS_PTRACE): the device and inode mapped at the address,
 *          and the kernel's name of the file, which is what gets opened;
 *       3. otherwise (the usual case: the endpoints run as their own user,
 *          the target as another): the named file must be one that the
 *          target's own user could read by its mode bits (uid, gid and
 *          groups from the world-readable /proc/<pid>/status), so a lying
 *          target cannot have the endpoints read a file it could not read
 *          itself; the build ID check in the symbolizer then catches a
 *          replaced binary.  When the process is gone (a session saved
 *          after its target died) or /proc hides it, only files that
 *          every user may read are taken.
 *   - says why a module gives no file, as one of the codes below.
 *
 * Nothing here is async-signal-safe.  A view is not thread-safe (it
 * memoizes answers); distinct views are independent.
 */
#ifndef LYNX_CLIENT_MODFILE_H
#define LYNX_CLIENT_MODFILE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a module's file is not used (negative, 0 = usable). */
#define LYNX_MODFILE_EINVAL (-EINVAL)   /* path not absolute, or no NUL */
#define LYNX_MODFILE_ENOENT (-ENOENT)   /* no such file */
#define LYNX_MODFILE_EACCES (-EACCES)   /* not readable by our user */
#define LYNX_MODFILE_ENOTREG (-ENODEV)  /* FIFO, device, directory, ... */
#define LYNX_MODFILE_EMISMATCH (-EXDEV) /* not the file the target maps */
#define LYNX_MODFILE_EDELETED                                                  \
    (-EIDRM)                              /* the target maps a file that was   \
                                             deleted or replaced since */
#define LYNX_MODFILE_ENOTMAPPED (-EFAULT) /* the target maps no file there */
#define LYNX_MODFILE_EFOREIGN                                                  \
    (-EPERM) /* the target's user could not                                    \
                read that file */
#define LYNX_MODFILE_ENOPROC                                                   \
    (-ESRCH) /* the target process is gone, and                                \
                the file is not world-readable */

/* How a module's file was found to be the target's. */
#define LYNX_MODFILE_UNVERIFIED 0 /* no view: the record is trusted */
#define LYNX_MODFILE_BY_MAP_FILES 1
#define LYNX_MODFILE_BY_MAPS 2
#define LYNX_MODFILE_BY_PERMISSION 3
#define LYNX_MODFILE_BY_SAVED 4 /* as verified earlier (a saved view) */

/*
 * The file of one module as a view answered for it.  Plain data with fixed
 * sizes: CPU sessions save it next to their raw samples (client/cpu_spool.c).
 */
typedef struct lynx_modfile_id {
    int32_t status;                  /* 0, or a LYNX_MODFILE_E* code */
    uint32_t how;                    /* LYNX_MODFILE_BY_* (0 when status < 0) */
    uint64_t dev;                    /* st_dev of the file (when status == 0) */
    uint64_t ino;                    /* st_ino of the file (when status == 0) */
    char path[LYNX_MODULE_PATH_MAX]; /* the name to open and to give libdw:
                                        the kernel's when it is known, else
                                        the record's; NUL-terminated */
} lynx_modfile_id_t;

_Static_assert(sizeof(lynx_modfile_id_t) == 24 + LYNX_MODULE_PATH_MAX,
               "lynx_modfile_id_t is saved in spool files");

typedef struct lynx_modfiles lynx_modfiles_t;

/*
 * A view of live process `pid`: reads /proc/<pid>/maps when permitted and
 * the user and groups of /proc/<pid>/status.  Never fails for lack of
 * rights (the answers then say why).  NULL only when out of memory or
 * pid <= 0.  The caller owns it: lynx_modfiles_destroy().
 */
lynx_modfiles_t *lynx_modfiles_create(int32_t pid);

/*
 * A view made of earlier answers: ids[i] is the answer for mods[i] (both
 * copied).  A module of another range or path gets LYNX_MODFILE_ENOTMAPPED.
 * NULL when out of memory.
 */
lynx_modfiles_t *lynx_modfiles_saved(const lynx_module_t *mods,
                                     const lynx_modfile_id_t *ids, size_t n);

/* Free a view.  Accepts NULL. */
void lynx_modfiles_destroy(lynx_modfiles_t *v);

/*
 * What the view says of module `mod` (untrusted; not kept), without
 * opening it: *id is filled in and id->status returned (0 or a code).
 * Answers are remembered for the life of the view.
 */
int lynx_modfiles_identify(lynx_modfiles_t *v, const lynx_module_t *mod,
                           lynx_modfile_id_t *id);

/*
 * Open the file of `mod` for reading (O_RDONLY | O_CLOEXEC | O_NONBLOCK |
 * O_NOCTTY), checked as the file comment says against view `v`; v NULL
 * trusts the record's path but still takes regular files only.  Returns
 * the descriptor (the caller closes it) with *id describing the file, or a
 * negative code (id->status holds it too).  Never blocks on the file.
 */
int lynx_modfile_open(lynx_modfiles_t *v, const lynx_module_t *mod,
                      lynx_modfile_id_t *id);

/*
 * Open `path`, a file found on behalf of a module of the target rather
 * than mapped by it (its separate debug info: client/debuginfo.h), with
 * the same care: regular files only, checked before and after opening,
 * opened without blocking; and, with view `v`, only a file that the
 * target's own user could read by its mode bits (rule 3 above, whatever
 * evidence the view has), so that a name the target controls (a debug
 * link, a symlink in a directory it can write) cannot make the endpoints
 * read a file the target could not.  v NULL takes any regular file.
 * Returns the descriptor (the caller closes it) with *id describing the
 * file (how: LYNX_MODFILE_BY_PERMISSION, or LYNX_MODFILE_UNVERIFIED
 * without a view), or a negative LYNX_MODFILE_E* code (in id->status too).
 */
int lynx_modfile_open_extra(lynx_modfiles_t *v, const char *path,
                            lynx_modfile_id_t *id);

#ifdef __cplusplus
}
#endif

#endif
