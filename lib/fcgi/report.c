/*
 * fcgi/report.c - JSON documents built from libprofile results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/endpoint.h"
#include "fcgi/report.h"

static void add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

json_object *lynx_memstats_json(const lynx_memstats_t *ms, const char *name,
                                int64_t started_unix_ns)
{
    json_object *root = json_object_new_object();
    json_object *target = json_object_new_object();
    json_object *heap = json_object_new_object();
    json_object *proc = json_object_new_object();
    json_object *alloc = NULL;

    if (root == NULL || target == NULL || heap == NULL || proc == NULL) {
        json_object_put(root);
        json_object_put(target);
        json_object_put(heap);
        json_object_put(proc);
        return NULL;
    }
    add(target, "name", json_object_new_string(name));
    add(target, "pid", json_object_new_int(ms->pid));
    add(target, "started_at", lynx_json_time(started_unix_ns));
    add(target, "uptime_seconds",
        lynx_json_double((double)ms->uptime_ns / 1e9, 3));

    add(heap, "in_use_bytes", lynx_json_count(ms->heap_in_use_bytes));
    add(heap, "free_bytes", lynx_json_count(ms->heap_free_bytes));
    add(heap, "arena_bytes", lynx_json_count(ms->heap_arena_bytes));
    add(heap, "mmap_bytes", lynx_json_count(ms->heap_mmap_bytes));
    add(heap, "mmap_chunks", lynx_json_count(ms->heap_mmap_chunks));
    add(heap, "free_chunks", lynx_json_count(ms->heap_free_chunks));
    add(heap, "releasable_bytes", lynx_json_count(ms->heap_releasable_bytes));

    add(proc, "resident_bytes", lynx_json_count(ms->resident_bytes));
    add(proc, "resident_peak_bytes", lynx_json_count(ms->resident_peak_bytes));
    add(proc, "resident_anon_bytes", lynx_json_count(ms->resident_anon_bytes));
    add(proc, "resident_file_bytes", lynx_json_count(ms->resident_file_bytes));
    add(proc, "virtual_bytes", lynx_json_count(ms->virtual_bytes));
    add(proc, "virtual_peak_bytes", lynx_json_count(ms->virtual_peak_bytes));
    add(proc, "data_bytes", lynx_json_count(ms->data_bytes));
    add(proc, "stack_bytes", lynx_json_count(ms->stack_bytes));
    add(proc, "swap_bytes", lynx_json_count(ms->swap_bytes));
    add(proc, "threads", lynx_json_count(ms->threads));
    add(proc, "open_fds", lynx_json_count(ms->open_fds));
    add(proc, "cpu_user_seconds",
        ms->cpu_user_ns < 0 ? NULL
                            : lynx_json_double(ms->cpu_user_ns / 1e9, 3));
    add(proc, "cpu_system_seconds",
        ms->cpu_system_ns < 0
            ? NULL
            : lynx_json_double(ms->cpu_system_ns / 1e9, 3));
    add(proc, "minor_faults", lynx_json_count(ms->minor_faults));
    add(proc, "major_faults", lynx_json_count(ms->major_faults));

    if (ms->flags & LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS) {
        alloc = json_object_new_object();
        add(alloc, "allocations", lynx_json_count(ms->alloc_count));
        add(alloc, "frees", lynx_json_count(ms->free_count));
        add(alloc, "allocated_bytes_total",
            lynx_json_count(ms->alloc_bytes_total));
        add(alloc, "live_bytes", lynx_json_count(ms->live_bytes));
        add(alloc, "live_objects", lynx_json_count(ms->live_objects));
    }

    add(root, "target", target);
    add(root, "sampled_at", lynx_json_time(ms->sampled_unix_ns));
    add(root, "source",
        json_object_new_string(ms->flags & LYNX_MEMSTATS_FROM_SNAPSHOT
                                   ? "snapshot"
                                   : "agent"));
    add(root, "heap", heap);
    add(root, "process", proc);
    /* null until the heap profiler's exact counters are available */
    add(root, "allocations", alloc);
    return root;
}

/* The last document of lynx_memstats_text and what it was made of. */
static struct {
    lynx_memstats_t ms;
    char name[LYNX_NAME_MAX];
    int64_t started_unix_ns;
    char *text;                  /* NULL: none kept */
    size_t len;
} last_memstats;

const char *lynx_memstats_text(const lynx_memstats_t *ms, const char *name,
                               int64_t started_unix_ns, size_t *len)
{
    json_object *o;
    const char *text;
    size_t n;
    char *copy;

    if (last_memstats.text != NULL &&
        memcmp(&last_memstats.ms, ms, sizeof(*ms)) == 0 &&
        strncmp(last_memstats.name, name, sizeof(last_memstats.name)) == 0 &&
        last_memstats.started_unix_ns == started_unix_ns) {
        *len = last_memstats.len;
        return last_memstats.text;
    }
    o = lynx_memstats_json(ms, name, started_unix_ns);
    if (o == NULL) {
        return NULL;
    }
    text = lynx_json_text(o);
    n = strlen(text);
    copy = malloc(n + 2);
    if (copy != NULL) {
        memcpy(copy, text, n);
        copy[n] = '\n'; /* friendlier to curl users */
        copy[n + 1] = '\0';
    }
    json_object_put(o);
    if (copy == NULL) {
        return NULL;
    }
    free(last_memstats.text);
    last_memstats.ms = *ms;
    snprintf(last_memstats.name, sizeof(last_memstats.name), "%s", name);
    last_memstats.started_unix_ns = started_unix_ns;
    last_memstats.text = copy;
    last_memstats.len = n + 1;
    *len = n + 1;
    return copy;
}

json_object *lynx_target_info_json(const lynx_target_info_t *info)
{
    json_object *o = json_object_new_object();

    if (o == NULL) {
        return NULL;
    }
    add(o, "name", json_object_new_string(info->name));
    add(o, "pid", info->pid > 0 ? json_object_new_int(info->pid) : NULL);
    add(o, "alive", json_object_new_boolean(info->status == 0));
    add(o, "status", json_object_new_string(info->status == 0
                                                ? "running"
                                                : lynx_strerror(info->status)));
    add(o, "started_at", info->started_unix_ns > 0
                             ? lynx_json_time(info->started_unix_ns)
                             : NULL);
    add(o, "agent_started_at", info->agent_started_unix_ns > 0
                                   ? lynx_json_time(info->agent_started_unix_ns)
                                   : NULL);
    add(o, "exe", json_object_new_string(info->exe));
    return o;
}
