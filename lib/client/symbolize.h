/*
 * client/symbolize.h - turn runtime addresses of a profiled process into
 * function names, source files and lines, inlined frames included.
 *
 * Runs in the endpoint processes, never in a target.  Modules are read
 * from disk (the endpoint shares the target's mount namespace) with
 * elfutils libdwfl, DWARF first (in the file, or in a separate debug file
 * found as client/debuginfo.h says), the ELF symbol table when there is no
 * DWARF.  Module files are opened only through lynx_modfile_open(), checked
 * against the view of the target bound with lynx_symbolizer_set_files().
 * Opened modules are cached per (path, build ID, device, inode) for the
 * life of the symbolizer, up to LYNX_SYM_CACHE_MAX of them (least recently
 * used goes first), because one endpoint process serves many profiles of the same
 * binaries.  A module is opened once at virtual address 0 and looked up at
 * (runtime address - load_bias), so one cache entry serves every process and
 * every load address of the same file.
 *
 * Thread-safety: a symbolizer is not thread-safe; use one per thread or hold
 * a lock around every call.  Distinct symbolizers are independent.
 * Nothing here is async-signal-safe.
 */
#ifndef LYNX_CLIENT_SYMBOLIZE_H
#define LYNX_CLIENT_SYMBOLIZE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "client/modfile.h"
#include "protocol/module.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_SYM_CACHE_MAX 64  /* modules kept open at most */
#define LYNX_SYM_MAX_FRAMES 32 /* frames (inlined + real) of one address */

/*
 * Outcomes of a lookup, besides 0 (looked up; maybe no symbol) and -ENOMEM.
 * They say why a module gave no symbols; the caller reports them (see
 * lynx_symbolize_note()).  Besides these, every LYNX_MODFILE_E* code of
 * client/modfile.h (not readable, not a regular file, not the file the
 * target maps, ...).
 */
#define LYNX_SYM_ENOFILE LYNX_MODFILE_ENOENT /* file missing */
#define LYNX_SYM_EBUILDID (-ESTALE) /* file on disk has another build ID */
#define LYNX_SYM_ENOTELF (-ENOEXEC) /* not an ELF file libdw can use */
#define LYNX_SYM_EINVAL (-EINVAL)   /* bad record, or the vDSO */
#define LYNX_SYM_ENOSYMS (-ENODATA) /* no symbol table and no debug info */

/*
 * Not a failure: the module has no debug info anywhere (not in the file,
 * not in a separate debug file: client/debuginfo.h), so its frames are
 * named from its ELF symbol table (.symtab, else the dynamic symbols of
 * .dynsym) without files or lines, and addresses outside every symbol
 * have none.  Reported like the codes above, so users know why.
 */
#define LYNX_SYM_NODEBUG 1

/* One frame at an address.  Strings belong to the symbolizer (see below). */
typedef struct lynx_frame {
    const char *function;    /* name, NULL if unknown */
    const char *system_name; /* linkage name, or = function; NULL if unknown */
    const char *file;        /* source file of the function, NULL if unknown */
    int64_t line;            /* line of the address in it, 0 if unknown */
    int64_t start_line;      /* line where the function starts, 0 unknown */
} lynx_frame_t;

typedef struct lynx_symbolizer lynx_symbolizer_t;

/*
 * Create an empty symbolizer.  Returns NULL when out of memory.  The caller
 * owns it and frees it with lynx_symbolizer_destroy().
 */
lynx_symbolizer_t *lynx_symbolizer_create(void);

/*
 * Close every cached module and free the symbolizer.  Accepts NULL.  Every
 * string handed out before is invalid afterwards.
 */
void lynx_symbolizer_destroy(lynx_symbolizer_t *sym);

/*
 * Bind the view of the target whose modules are looked up next (see
 * client/modfile.h); the symbolizer owns `files` from now on and frees the
 * view bound before.  NULL unbinds: module records are then trusted (their
 * paths are still opened as regular files only) -- for tools and tests
 * whose records do not come from a target.  Endpoints always bind a view.
 */
void lynx_symbolizer_set_files(lynx_symbolizer_t *sym,
                               lynx_modfiles_t *files);

/*
 * The view bound last (owned by the symbolizer), or NULL.
 */
lynx_modfiles_t *lynx_symbolizer_files(lynx_symbolizer_t *sym);

/*
 * The frames at runtime address `addr` of module `mod`, innermost inlined
 * frame first, the real (out-of-line) function last.  `addr` is the address
 * to look up as is: for a return address pass (return address - 1) so the
 * lookup lands on the call instruction.
 *
 * Writes at most `max_frames` frames to `frames` and their count to
 * *nframes (when more frames exist, the outermost one is kept last and
 * middle ones are dropped).  An address without symbols, or outside the
 * record's [start, limit), gives 0 frames and returns 0.
 *
 * Returns 0, or a negative code that says why the module gives no symbols
 * at all (then *nframes = 0): a LYNX_MODFILE_E* code (the file could not
 * be opened or is not the one the target maps), LYNX_SYM_EBUILDID (the
 * file on disk is not the one the record describes: its symbols would be
 * wrong, so none are used), LYNX_SYM_ENOTELF, LYNX_SYM_ENOSYMS,
 * LYNX_SYM_EINVAL (record without a NUL-terminated absolute path, or the
 * vDSO), -ENOMEM.  Such a module is
 * remembered as failed and tried again at most every 30 seconds.
 * Returns LYNX_SYM_NODEBUG (> 0) when the frames come from the module's
 * symbol table because it has no debug info.
 *
 * `mod` is read only and may be untrusted data; it is not kept.  The frame
 * strings are owned by the symbolizer and stay valid until the next call on
 * it (any function taking `sym`) or its destruction: copy what you keep.
 */
int lynx_symbolize(lynx_symbolizer_t *sym, const lynx_module_t *mod,
                   uint64_t addr, lynx_frame_t *frames, size_t max_frames,
                   size_t *nframes);

/*
 * The name of the function that contains runtime address `addr` of `mod`
 * (the ELF symbol when there is one, else the outermost DWARF function), as
 * pprof's symbol protocol wants it; NULL if none or if the module cannot be
 * used.  The string is owned by the symbolizer, valid until its next call.
 */
const char *lynx_symbolize_name(lynx_symbolizer_t *sym,
                                const lynx_module_t *mod, uint64_t addr);

/*
 * The module of `mods` whose [start, limit) contains `addr`, or NULL.
 * Linear scan; `mods` is neither kept nor modified.  Thread-safe.
 */
const lynx_module_t *lynx_module_find(const lynx_module_t *mods, size_t nmods,
                                      uint64_t addr);

/*
 * A message for a code returned above (never NULL, static storage).
 * Thread-safe.
 */
const char *lynx_symbolize_strerror(int code);

/*
 * The reason of code as the note below words it ("not readable by user
 * lynxprof", "not a regular file", ...) into buf (at most size bytes, NUL
 * included); returns buf.  Thread-safe.
 */
char *lynx_symbolize_reason(int code, char *buf, size_t size);

/*
 * The sentence that reports a module without symbols, for profiles, thread
 * dumps and the web page: "no symbols for <path>: <reason>", where a file
 * the endpoint cannot read names the user it runs as ("not readable by
 * user lynxprof").  Writes at most `size` bytes (NUL included) to `buf`
 * and returns buf.  Thread-safe.
 */
char *lynx_symbolize_note(const char *path, int code, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
