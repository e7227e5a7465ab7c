/*
 * fuzz_spool_json.c - a session's <id>.json in the spool directory, as
 * anything that can write there could leave it: input = the file.  Parsed
 * by lynx_cpu_json_record_parse(); what it accepts must be a sound finished
 * session that writes back to a json which parses to the same session.
 */
#include "client/cpu_spool.h"
#include "fuzz_common.h"
#include "client/cpu.h"

#define ID "cpu_1700000000000000000"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_cpu_session_t s;
    lynx_cpu_session_t back;
    cpu_spool_files_t f;
    cpu_spool_files_t f_back;
    char *text;
    int rc;

    /* The reader NUL-terminates what it read. */
    text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    rc = lynx_cpu_json_record_parse(text, ID, &s, &f, NULL);
    free(text);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EPROTO);
    if (rc != 0) {
        return 0;
    }
    FUZZ_CHECK(strcmp(s.id, ID) == 0 && s.spooled == 1);
    FUZZ_CHECK(memchr(s.target, '\0', sizeof(s.target)) != NULL);
    FUZZ_CHECK(memchr(s.error, '\0', sizeof(s.error)) != NULL);
    FUZZ_CHECK(s.state >= LYNX_CPU_COMPLETED && s.state <= LYNX_CPU_FAILED);
    FUZZ_CHECK(s.pid > 0 && s.hz >= LYNX_CPU_HZ_MIN &&
               s.hz <= LYNX_CPU_HZ_MAX);
    FUZZ_CHECK(s.started_unix_ns > 0 && s.duration_ns > 0 &&
               s.ended_unix_ns >= s.started_unix_ns);
    FUZZ_CHECK(s.data_size_bytes >= -1);
    text = lynx_cpu_json_record_text(&s, &f);
    FUZZ_CHECK(text != NULL);
    rc = lynx_cpu_json_record_parse(text, ID, &back, &f_back, NULL);
    free(text);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(f.data_crc32 == f_back.data_crc32 &&
               f.stacks_size == f_back.stacks_size &&
               f.stacks_crc32 == f_back.stacks_crc32);
    FUZZ_CHECK(fuzz_same_session(&s, &back));
    return 0;
}
