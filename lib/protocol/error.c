/*
 * protocol/error.c - messages for lynxprof error codes (the table is
 * LYNX_ERRNO_MAP in lynxprof.h).
 *
 * Compiled twice: into libprofile, which exports both functions (they are
 * declared in lynxprof.h), and into the agent, which keeps its copy hidden
 * (it lives in other people's processes and exports only lynxprof-agent.h).
 */
#include <string.h>

#include "lynxprof.h"

#ifdef LYNX_EXPORT_ERRORS
#define ERROR_API __attribute__((visibility("default")))
#else
#define ERROR_API
#endif

ERROR_API const char *lynx_strerror(int code)
{
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

ERROR_API const char *lynx_err_name(int code)
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
