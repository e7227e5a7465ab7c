/*
 * client/debuginfo.h - finding the separate debug info of a stripped
 * module without trusting the module.
 *
 * Runs in the endpoint processes, as the libdwfl find_debuginfo callback
 * of the symbolizer (client/symbolize.c).  Production binaries ship
 * stripped, with their DWARF in separate files: Debian's -dbgsym packages
 * install them under the debug directory as .build-id/xx/yyyy.debug, and
 * `objcopy --add-gnu-debuglink` names one in the binary's .gnu_debuglink
 * section.  The candidates, in this order:
 *   1. <debug dir>/.build-id/<first byte>/<other bytes>.debug, in hex,
 *      when the module has a build ID;
 *   2. with a .gnu_debuglink name (a plain file name: one with a '/' is
 *      refused): <module's dir>/<name>, <module's dir>/.debug/<name>,
 *      <debug dir>/<module's dir>/<name>;
 *   3. the debuginfod servers of DEBUGINFOD_URLS, by build ID, when the
 *      endpoints' environment sets it and libdebuginfod.so.1 is installed.
 * A file found on disk is opened only through lynx_modfile_open_extra()
 * (a regular file, opened without blocking, that the target's own user
 * could read), and used only if its build ID is the module's, or, for a
 * module without a build ID, if its CRC is the one .gnu_debuglink gives.
 *
 * libdwfl's dwfl_standard_find_debuginfo is not used: it opens every
 * candidate with a plain blocking open(), so a FIFO named like a debug
 * file beside a binary would hang the endpoint, and a symlink would have
 * it read files the target cannot.  DWARF that dwz moved into a shared
 * file (.gnu_debugaltlink) is looked up through debuginfod only.
 *
 * Nothing here is async-signal-safe.
 */
#ifndef LYNX_CLIENT_DEBUGINFO_H
#define LYNX_CLIENT_DEBUGINFO_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

#include "client/modfile.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_DEBUG_DIR_MAX 256
#ifndef LYNX_DEFAULT_DEBUG_DIR
#define LYNX_DEFAULT_DEBUG_DIR "/usr/lib/debug"
#endif

/*
 * What one lookup may use, reached through the module's libdwfl userdata.
 * The symbolizer fills it in while it opens a module and sets `active`
 * back to 0 afterwards: lookups outside of that find nothing.
 */
typedef struct lynx_debuginfo_ctx {
    int active;             /* 1 while the symbolizer opens the module */
    lynx_modfiles_t *files; /* view of the target (not owned), or NULL */
    uint64_t dev;           /* the module's own file, never its debug file */
    uint64_t ino;
} lynx_debuginfo_ctx_t;

/*
 * Set the debug directory of this process (the root of the .build-id
 * tree and of the debug link mirror tree): an absolute path shorter than
 * LYNX_DEBUG_DIR_MAX, copied.  Returns 0 or -EINVAL (the setting is then
 * unchanged).  Called once at start, before any symbolizer is used: not
 * thread-safe.
 */
int lynx_debuginfo_set_dir(const char *dir);

/* The debug directory (static storage; LYNX_DEFAULT_DEBUG_DIR unless set). */
const char *lynx_debuginfo_dir(void);

/*
 * The find_debuginfo callback of libdwfl (see the file comment).  *userdata
 * must point to the module's lynx_debuginfo_ctx_t.  Returns a descriptor
 * of the debug file with its malloc'd name in *debuginfo_file_name (libdwfl
 * owns both), or -1.
 */
int lynx_debuginfo_find(Dwfl_Module *mod, void **userdata,
                        const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file,
                        GElf_Word debuglink_crc, char **debuginfo_file_name);

#ifdef __cplusplus
}
#endif

#endif
