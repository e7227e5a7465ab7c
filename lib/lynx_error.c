/*
 * lynx_error.c - messages for lynxprof error codes (see lynx_error.h).
 */
#include <stdio.h>
#include <string.h>

#include "lynx_block.h"
#include "lynx_block_io.h"
#include "lynxprof.h"

/* The last version mismatch this thread met, for LYNX_EVERSION's message
 * (like dlerror(): per thread, overwritten by the next one). */
static __thread char version_message[128];

void lynx_error_note_version(uint32_t found)
{
    snprintf(version_message, sizeof(version_message),
             "incompatible agent: its control block has layout version %u, "
             "this build reads version %u",
             (unsigned)found, (unsigned)LYNX_BLOCK_VERSION);
}

const char *lynx_strerror(int code)
{
    if (code == LYNX_EVERSION && version_message[0] != '\0') {
        return version_message;
    }
    switch (code) {
#define LYNX_ERR_MSG(name, value, msg)                                         \
    case value:                                                                \
        return msg;
        LYNX_ERRNO_MAP(LYNX_ERR_MSG)
#undef LYNX_ERR_MSG
    case 0:
        return "success";
    default:
        break;
    }
    if (code < 0 && code > -4096) {
        /* strerror() of glibc returns static strings for known values. */
        return strerror(-code);
    }
    return "unknown error";
}

const char *lynx_err_name(int code)
{
    switch (code) {
#define LYNX_ERR_NAME(name, value, msg)                                        \
    case value:                                                                \
        return #name;
        LYNX_ERRNO_MAP(LYNX_ERR_NAME)
#undef LYNX_ERR_NAME
    case 0:
        return "OK";
    default:
        return "ERRNO";
    }
}
