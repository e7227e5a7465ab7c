/*
 * client/cpu_json.h - the one JSON encoder of a CPU session, and the
 * parser of the form read back (the spool's record).
 *
 * A session has one in-memory form, lynx_cpu_session_t (lynxprof.h),
 * whether it was read from a target's block (client/cpu_session.c) or
 * from the spool (client/cpu_spool.c).  Every JSON document that describes
 * a session is built from it here: the spool's <id>.json record, the
 * status, listing and stop replies, and the reply to a start.  The shapes
 * of the replies are the contract of docs/API.md ("CPU profiling").
 *
 * Pure functions of their arguments; thread-safe.  Not exported: the
 * result is a json-c object, which would tie the public API to json-c.
 */
#ifndef LYNX_CLIENT_CPU_JSON_H
#define LYNX_CLIENT_CPU_JSON_H

#include <stdint.h>

#include <json-c/json.h>

#include "lynxprof.h"

/* What the spool's record says of the session's other files, to check
 * them against (-1: not recorded, as in files written before these
 * fields). */
typedef struct cpu_spool_files {
    int64_t data_crc32;   /* of <id>.pb.gz (its size is data_size) */
    int64_t stacks_size;  /* bytes of <id>.stacks */
    int64_t stacks_crc32;
} cpu_spool_files_t;

/* The documents a session is written as. */
typedef enum lynx_cpu_form {
    LYNX_CPU_FORM_RECORD,  /* the spool's <id>.json: every field, with the
                              files' sizes and CRC-32s (files) */
    LYNX_CPU_FORM_STATUS,  /* status, sessions listing and stop replies:
                              progress as of now_unix_ns */
    LYNX_CPU_FORM_STARTED, /* the reply to a start */
} lynx_cpu_form_t;

/* Session s as document `form`.  now_unix_ns is used by
 * LYNX_CPU_FORM_STATUS only, files by LYNX_CPU_FORM_RECORD only (NULL:
 * none recorded).  A new json-c object (the caller puts it), or NULL on
 * ENOMEM. */
json_object *lynx_cpu_json(const lynx_cpu_session_t *s, lynx_cpu_form_t form,
                           int64_t now_unix_ns, const cpu_spool_files_t *files);

/* The text of the spool's <id>.json for s and its files f (NULL: none
 * recorded; malloc'd, NUL-terminated; NULL on ENOMEM): lynx_cpu_json()'s
 * record form, pretty-printed.  And back: parse a NUL-terminated <id>.json
 * of session id, checking every field (the pure step of reading the
 * spool); f and why (static text of what is wrong) may be NULL.  0 or
 * LYNX_EPROTO, with *out cleared. */
char *lynx_cpu_json_record_text(const lynx_cpu_session_t *s,
                                const cpu_spool_files_t *f);
int lynx_cpu_json_record_parse(const char *text, const char *id,
                               lynx_cpu_session_t *out, cpu_spool_files_t *f,
                               const char **why);

#endif
