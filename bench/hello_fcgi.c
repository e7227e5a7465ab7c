/*
 * hello_fcgi.c - the peer of GET /api/v1/profiling/memory in bench/rest.sh:
 * the smallest FastCGI program that answers JSON the way the endpoints do
 * (libfcgi's FCGX loop, a json-c object built and serialized per request),
 * with no target, no shared memory and no /proc behind it.  Run under
 * spawn-fcgi like an endpoint; loops until its socket closes.
 */
#include <fcgiapp.h>
#include <json-c/json.h>

int main(void)
{
    FCGX_Request req;

    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
        return 1;
    }
    while (FCGX_Accept_r(&req) == 0) {
        json_object *o = json_object_new_object();
        const char *body;

        json_object_object_add(o, "hello", json_object_new_string("world"));
        body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        FCGX_FPrintF(req.out,
                     "Status: 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Cache-Control: no-store\r\n\r\n%s\n", body);
        json_object_put(o);
        FCGX_Finish_r(&req);
    }
    return 0;
}
