/*
 * heap_json.c - a malloc-heavy multi-threaded workload of the kind a C
 * server does, for bench/heap_overhead.sh: each thread builds JSON
 * documents with json-c (an API response: an object holding an array of
 * records with strings, numbers and a nested object), serializes each,
 * parses the text back, reads a few fields, and keeps the last few parsed
 * documents alive (released oldest first, so frees do not simply mirror
 * the allocations).  json-c allocates every value, string, hash table and
 * buffer with malloc: allocation and release are a large share of the
 * time (docs/PERFORMANCE.md gives the share measured with perf).  The
 * seedless string hash makes runs repeat exactly (instruction counts).
 * No output unless the checksum is impossible; exit 0.
 *   heap_json [threads] [documents per thread] [records per document]
 */
#include <json_object.h>
#include <json_tokener.h>
#include <linkhash.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define KEEP 16

static long documents = 20000;
static long records = 24;

static json_object *make_record(uint64_t *seed, long doc, int i)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    json_object *r = json_object_new_object();
    json_object *tags = json_object_new_object();
    char path[96];
    char agent[160];
    uint64_t x = bench_next(seed);
    int words = 2 + (int)(x % 6);
    size_t off;

    off = (size_t)snprintf(path, sizeof(path), "/api/v%d/items",
                           1 + (int)(x >> 8) % 3);
    for (int w = 0; w < words && off < sizeof(path) - 12; w++) {
        off += (size_t)snprintf(path + off, sizeof(path) - off, "/%x",
                                (unsigned)(bench_next(seed) & 0xfffff));
    }
    snprintf(agent, sizeof(agent),
             "Mozilla/5.0 (X11; Linux x86_64) client/%u.%u build %lu-%d",
             (unsigned)(x >> 20) % 40, (unsigned)(x >> 28) % 10, doc, i);
    json_object_object_add(r, "id", json_object_new_int64(doc * 1000 + i));
    json_object_object_add(r, "method",
                           json_object_new_string(methods[x % 4]));
    json_object_object_add(r, "path", json_object_new_string(path));
    json_object_object_add(r, "status",
                           json_object_new_int(200 + (int)(x >> 33) % 4 * 100));
    json_object_object_add(r, "bytes",
                           json_object_new_int64((int64_t)(x >> 40) % 100000));
    json_object_object_add(r, "duration_ms",
                           json_object_new_double((double)(x >> 44) / 1e3));
    json_object_object_add(r, "user_agent", json_object_new_string(agent));
    json_object_object_add(tags, "region",
                           json_object_new_string(x & 1 ? "eu-west" : "us-east"));
    json_object_object_add(tags, "cache",
                           json_object_new_boolean((int)(x >> 2) & 1));
    json_object_object_add(r, "tags", tags);
    return r;
}

static json_object *make_document(uint64_t *seed, long doc)
{
    json_object *d = json_object_new_object();
    json_object *items = json_object_new_array();
    int n = records / 2 + (int)(bench_next(seed) % (uint64_t)records);

    for (int i = 0; i < n; i++) {
        json_object_array_add(items, make_record(seed, doc, i));
    }
    json_object_object_add(d, "service", json_object_new_string("orders"));
    json_object_object_add(d, "page", json_object_new_int64(doc));
    json_object_object_add(d, "count", json_object_new_int(n));
    json_object_object_add(d, "items", items);
    return d;
}

/* Read back what a consumer would: the count and every record's status
 * and bytes. */
static uint64_t consume(json_object *d)
{
    json_object *items;
    json_object *count;
    uint64_t sum = 0;

    if (!json_object_object_get_ex(d, "items", &items) ||
        !json_object_object_get_ex(d, "count", &count)) {
        return 0;
    }
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *r = json_object_array_get_idx(items, i);
        json_object *v;
        if (json_object_object_get_ex(r, "status", &v)) {
            sum += (uint64_t)json_object_get_int(v);
        }
        if (json_object_object_get_ex(r, "bytes", &v)) {
            sum += (uint64_t)json_object_get_int64(v);
        }
    }
    return sum + (uint64_t)json_object_get_int(count);
}

static void *worker(void *arg)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
    json_tokener *tok = json_tokener_new();
    json_object *kept[KEEP] = {NULL};
    uint64_t sum = 0;

    for (long doc = 0; doc < documents; doc++) {
        json_object *built = make_document(&seed, doc);
        const char *text = json_object_to_json_string_ext(
            built, JSON_C_TO_STRING_PLAIN);
        json_object *parsed;

        json_tokener_reset(tok);
        parsed = json_tokener_parse_ex(tok, text, (int)strlen(text));
        json_object_put(built);
        if (parsed == NULL) {
            fprintf(stderr, "heap_json: parse failed\n");
            exit(1);
        }
        sum += consume(parsed);
        json_object_put(kept[doc % KEEP]);
        kept[doc % KEEP] = parsed;
    }
    for (int i = 0; i < KEEP; i++) {
        json_object_put(kept[i]);
    }
    json_tokener_free(tok);
    if (sum == 0) {
        fprintf(stderr, "heap_json: nothing read back\n");
        exit(1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    /* json-c's default string hash is seeded at random per process: the
     * seedless one makes every run execute the same instructions. */
    json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE);
    return bench_main(argc, argv, &documents, &records, worker,
                      "heap_json [threads] [documents] [records]");
}
