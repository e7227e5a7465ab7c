/*
 * client/pprof_text.c - a pprof builder's profile as text for people and
 * the web page: flame-graph JSON (json-c), folded stacks, and Go's
 * ?debug=1 text.
 *
 * Workload: one output per request.  The flame forms merge the builder's
 * stacks again by their symbolized frame lists (inlined frames apart,
 * labels ignored, or used to keep only the samples of one label, as
 * pprof's -tagfocus) in a sequence table, so that a flame graph of 100,000
 * stacks names each function once; the debug=1 text sorts the samples by
 * value.  Text is built in one lynx_buf_t.
 */
#include "client/pprof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client/buf.h"
#include "client/pprof_builder.h"

/* ---- flame graph data ---- */

typedef struct pp_flame {
    pprof_seqtab_t names;  /* key: string index of a frame name; index = id */
    pprof_seqtab_t stacks; /* key: frame ids, root first; values as samples */
} pp_flame_t;

static void pp_flame_fini(pp_flame_t *fl)
{
    pprof_seq_fini(&fl->names);
    pprof_seq_fini(&fl->stacks);
}

/* Flame id of the frame name with string index s. */
static int pp_flame_name(pp_flame_t *fl, int64_t s, uint64_t *id)
{
    uint64_t key;
    size_t index;

    key = (uint64_t)s;
    if (pprof_seq_intern(&fl->names, &key, 1, &index) < 0) {
        return -ENOMEM;
    }
    *id = index;
    return 0;
}

/* Name of an address without symbols: "libfoo.so+0x1a2b" or "0x7f..". */
static int pp_unknown_name(lynx_pprof_t *p, const pprof_loc_t *loc, int64_t *s)
{
    char name[LYNX_MODULE_PATH_MAX + 32];
    const lynx_module_t *m;
    const char *base;

    if (loc->mapping == 0) {
        snprintf(name, sizeof(name), "0x%" PRIx64, loc->addr);
    } else {
        m = &p->mods[loc->mapping - 1];
        base = strrchr(m->path, '/');
        base = base != NULL ? base + 1 : m->path;
        snprintf(name, sizeof(name), "%s+0x%" PRIx64, base,
                 loc->addr - m->start + m->file_offset);
    }
    return pprof_str_intern(&p->strings, name, s);
}

/* A tag filter as pprof's -tagfocus=key=value: samples with string label
 * key equal to value, or numeric label key equal to the number. */
typedef struct pp_focus {
    int on;
    int64_t key;     /* string index */
    int64_t str;     /* string index of value */
    int is_num;      /* value is a decimal number */
    int64_t num;
} pp_focus_t;

static int pp_focus_parse(lynx_pprof_t *p, const char *spec, pp_focus_t *f)
{
    char key[256];
    const char *eq;
    char *end;

    memset(f, 0, sizeof(*f));
    if (spec == NULL || spec[0] == '\0') {
        return 0;
    }
    eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof(key)) {
        return -EINVAL;
    }
    memcpy(key, spec, (size_t)(eq - spec));
    key[eq - spec] = '\0';
    /* Interning adds at most two strings the flame output never shows. */
    if (pprof_str_intern(&p->strings, key, &f->key) != 0 ||
        pprof_str_intern(&p->strings, eq + 1, &f->str) != 0) {
        return -ENOMEM;
    }
    errno = 0;
    f->num = strtoll(eq + 1, &end, 10);
    f->is_num = eq[1] != '\0' && *end == '\0' && errno == 0;
    f->on = 1;
    return 0;
}

/* The labels of stack i: *n groups of 4 words (key, str, num, unit). */
static const uint64_t *pp_stack_labels(const lynx_pprof_t *p, size_t i,
                                       size_t *n)
{
    const uint64_t *key = pprof_seq_key(&p->stacks, i);

    *n = (p->stacks.entries[i].key_len - 1 - (size_t)key[0]) / 4;
    return key + 1 + key[0];
}

static int pp_focus_match(const lynx_pprof_t *p, size_t i,
                          const pp_focus_t *f)
{
    size_t n;
    const uint64_t *w = pp_stack_labels(p, i, &n);

    if (!f->on) {
        return 1;
    }
    for (size_t j = 0; j < n; j++, w += 4) {
        if (w[0] != (uint64_t)f->key) {
            continue;
        }
        if (w[1] != 0 ? w[1] == (uint64_t)f->str
                      : f->is_num && (int64_t)w[2] == f->num) {
            return 1;
        }
    }
    return 0;
}

static int pp_flame_build(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          const pp_focus_t *focus, pp_flame_t *fl)
{
    pprof_resolved_t r;
    uint64_t *frames = NULL;
    size_t capframes = 0;
    size_t nframes;
    size_t index;
    int64_t *sum;
    int64_t s;
    size_t i;
    size_t j;
    size_t k;
    int rc;

    memset(fl, 0, sizeof(*fl));
    fl->stacks.nvalues = p->ntypes;
    rc = pprof_resolve(p, sym, &r);
    if (rc < 0) {
        goto done;
    }
    for (i = 0; i < p->stacks.n; i++) {
        const uint64_t *key = pprof_seq_key(&p->stacks, i);
        const uint64_t *loc_of = r.loc_of + p->stacks.entries[i].key_off + 1;
        size_t npcs = (size_t)key[0];

        if (focus != NULL && !pp_focus_match(p, i, focus)) {
            continue;
        }
        nframes = 0;
        for (j = npcs; j > 0; j--) {
            const pprof_loc_t *loc = &r.loc[loc_of[j - 1] - 1];
            size_t need = nframes + (loc->nlines > 0 ? loc->nlines : 1);

            rc = LYNX_ARRAY_RESERVE(frames, capframes, need);
            if (rc < 0) {
                goto done;
            }
            if (loc->nlines == 0) {
                rc = pp_unknown_name(p, loc, &s);
                if (rc == 0) {
                    rc = pp_flame_name(fl, s, &frames[nframes++]);
                }
                if (rc < 0) {
                    goto done;
                }
                continue;
            }
            /* Root first: the real function, then what was inlined in it. */
            for (k = loc->nlines; k > 0; k--) {
                const pprof_line_t *ln = &r.lines[loc->line_off + k - 1];

                s = (int64_t)pprof_seq_key(&r.funcs, ln->func)[0];
                rc = pp_flame_name(fl, s, &frames[nframes++]);
                if (rc < 0) {
                    goto done;
                }
            }
        }
        rc = pprof_seq_intern(&fl->stacks, frames, nframes, &index);
        if (rc < 0) {
            goto done;
        }
        sum = pprof_seq_values(&fl->stacks, index);
        for (k = 0; k < p->ntypes; k++) {
            sum[k] = (int64_t)((uint64_t)sum[k] +
                               (uint64_t)pprof_seq_values(&p->stacks, i)[k]);
        }
    }
    rc = 0;

done:
    free(frames);
    pprof_resolved_fini(&r);
    return rc;
}

static size_t pp_default_index(const lynx_pprof_t *p)
{
    size_t i;

    for (i = 0; i < p->ntypes; i++) {
        if (p->default_type != 0 && p->types[2 * i] == p->default_type) {
            return i;
        }
    }
    return p->ntypes > 0 ? p->ntypes - 1 : 0;
}

/* Append v to array a; -ENOMEM if v is NULL or the append fails. */
static int pp_json_add(json_object *a, json_object *v)
{
    if (v == NULL) {
        return -ENOMEM;
    }
    if (json_object_array_add(a, v) != 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

static int pp_json_set(json_object *o, const char *key, json_object *v)
{
    if (v == NULL) {
        return -ENOMEM;
    }
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

/* "labels": {key: {value: total of the default sample type}} over every
 * sample (string labels only: numeric ones such as tid would list every
 * thread), and "labels_total", the total the values are shares of. */
static int pp_label_summary(lynx_pprof_t *p, json_object *root)
{
    pprof_seqtab_t pairs; /* key: (key, str) string indexes */
    size_t type = pp_default_index(p);
    json_object *labels = json_object_new_object();
    int64_t total = 0;
    int rc = -ENOMEM;

    memset(&pairs, 0, sizeof(pairs));
    pairs.nvalues = 1;
    if (pp_json_set(root, "labels", labels) != 0) {
        goto done;
    }
    for (size_t i = 0; i < p->stacks.n; i++) {
        int64_t v = p->ntypes > 0 ? pprof_seq_values(&p->stacks, i)[type]
                                  : 0;
        size_t n;
        const uint64_t *w = pp_stack_labels(p, i, &n);

        total = (int64_t)((uint64_t)total + (uint64_t)v);
        for (size_t j = 0; j < n; j++, w += 4) {
            uint64_t pair[2] = {w[0], w[1]};
            size_t index;
            int64_t *sum;
            if (w[1] == 0) {
                continue;
            }
            if (pprof_seq_intern(&pairs, pair, 2, &index) < 0) {
                goto done;
            }
            sum = pprof_seq_values(&pairs, index);
            *sum = (int64_t)((uint64_t)*sum + (uint64_t)v);
        }
    }
    for (size_t i = 0; i < pairs.n; i++) {
        const uint64_t *pair = pprof_seq_key(&pairs, i);
        const char *key = p->strings.strs[pair[0]];
        json_object *values = NULL;

        if (!json_object_object_get_ex(labels, key, &values)) {
            values = json_object_new_object();
            if (pp_json_set(labels, key, values) != 0) {
                goto done;
            }
        }
        if (pp_json_set(values, p->strings.strs[pair[1]],
                        json_object_new_int64(
                            pprof_seq_values(&pairs, i)[0])) != 0) {
            goto done;
        }
    }
    if (pp_json_set(root, "labels_total", json_object_new_int64(total)) !=
        0) {
        goto done;
    }
    rc = 0;
done:
    pprof_seq_fini(&pairs);
    return rc;
}

int lynx_pprof_flame_json(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          json_object **out)
{
    return lynx_pprof_flame_json_focus(p, sym, NULL, out);
}

int lynx_pprof_flame_json_focus(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                                const char *tagfocus, json_object **out)
{
    pp_focus_t focus;
    json_object *root = NULL;
    json_object *arr;
    json_object *item;
    json_object *ids;
    json_object *vals;
    pp_flame_t fl;
    size_t i;
    size_t k;
    int rc;

    if (p == NULL || out == NULL) {
        return -EINVAL;
    }
    memset(&fl, 0, sizeof(fl));
    rc = pp_focus_parse(p, tagfocus, &focus);
    if (rc < 0) {
        return rc;
    }
    rc = pp_flame_build(p, sym, &focus, &fl);
    if (rc < 0) {
        goto done;
    }
    rc = -ENOMEM;
    root = json_object_new_object();
    arr = json_object_new_array();
    if (root == NULL || pp_json_set(root, "sample_types", arr) != 0) {
        goto done;
    }
    if (pp_label_summary(p, root) != 0 ||
        (focus.on && pp_json_set(root, "tagfocus",
                                 json_object_new_string(tagfocus)) != 0)) {
        goto done;
    }
    for (i = 0; i < p->ntypes; i++) {
        item = json_object_new_object();
        if (pp_json_add(arr, item) != 0 ||
            pp_json_set(item, "type",
                        json_object_new_string(
                            p->strings.strs[p->types[2 * i]])) != 0 ||
            pp_json_set(item, "unit",
                        json_object_new_string(
                            p->strings.strs[p->types[2 * i + 1]])) != 0) {
            goto done;
        }
    }
    if (pp_json_set(root, "default_sample_type",
                    json_object_new_int64((int64_t)pp_default_index(p))) != 0) {
        goto done;
    }
    arr = json_object_new_array_ext((int)fl.names.n);
    if (pp_json_set(root, "functions", arr) != 0) {
        goto done;
    }
    for (i = 0; i < fl.names.n; i++) {
        const char *name = p->strings.strs[pprof_seq_key(&fl.names, i)[0]];

        if (pp_json_add(arr, json_object_new_string(name)) != 0) {
            goto done;
        }
    }
    arr = json_object_new_array_ext((int)fl.stacks.n);
    if (pp_json_set(root, "stacks", arr) != 0) {
        goto done;
    }
    for (i = 0; i < fl.stacks.n; i++) {
        const uint64_t *key = pprof_seq_key(&fl.stacks, i);
        size_t len = fl.stacks.entries[i].key_len;

        item = json_object_new_array_ext(2);
        ids = json_object_new_array_ext((int)len);
        vals = json_object_new_array_ext((int)p->ntypes);
        if (pp_json_add(arr, item) != 0) {
            json_object_put(ids);
            json_object_put(vals);
            goto done;
        }
        if (pp_json_add(item, ids) != 0) {
            json_object_put(vals);
            goto done;
        }
        if (pp_json_add(item, vals) != 0) {
            goto done;
        }
        for (k = 0; k < len; k++) {
            if (pp_json_add(ids, json_object_new_int64((int64_t)key[k])) != 0) {
                goto done;
            }
        }
        for (k = 0; k < p->ntypes; k++) {
            if (pp_json_add(vals, json_object_new_int64(pprof_seq_values(
                                      &fl.stacks, i)[k])) != 0) {
                goto done;
            }
        }
    }
    /* Modules without symbols, with why: the page shows them. */
    arr = json_object_new_array();
    if (pp_json_set(root, "unsymbolized", arr) != 0) {
        goto done;
    }
    for (i = 0; i < p->nmods; i++) {
        char note[LYNX_MODULE_PATH_MAX + 200];
        char reason[160];

        if (!pprof_module_note(p, i, note, sizeof(note))) {
            continue;
        }
        item = json_object_new_object();
        if (pp_json_add(arr, item) != 0 ||
            pp_json_set(item, "path",
                        json_object_new_string(p->mods[i].path)) != 0 ||
            pp_json_set(item, "reason",
                        json_object_new_string(lynx_symbolize_reason(
                            p->mod_status[i], reason, sizeof(reason)))) != 0 ||
            pp_json_set(item, "message", json_object_new_string(note)) != 0 ||
            pp_json_set(item, "symbols",
                        json_object_new_boolean(p->mod_status[i] ==
                                                LYNX_SYM_NODEBUG)) != 0) {
            goto done;
        }
    }
    *out = root;
    root = NULL;
    rc = 0;

done:
    json_object_put(root);
    pp_flame_fini(&fl);
    return rc;
}

/* ---- folded text ---- */

int lynx_pprof_folded(lynx_pprof_t *p, lynx_symbolizer_t *sym, int type_index,
                      const char *tagfocus, char **out, size_t *out_len)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    pp_focus_t focus;
    pp_flame_t fl;
    size_t type;
    size_t i;
    size_t k;
    int64_t v;
    int rc;

    if (p == NULL || out == NULL || out_len == NULL ||
        (type_index >= 0 && (size_t)type_index >= p->ntypes)) {
        return -EINVAL;
    }
    type = type_index >= 0 ? (size_t)type_index : pp_default_index(p);
    memset(&fl, 0, sizeof(fl));
    rc = pp_focus_parse(p, tagfocus, &focus);
    if (rc < 0) {
        goto done;
    }
    rc = pp_flame_build(p, sym, &focus, &fl);
    if (rc < 0) {
        goto done;
    }
    for (i = 0; b.err == 0 && i < fl.stacks.n; i++) {
        const uint64_t *key = pprof_seq_key(&fl.stacks, i);
        size_t len = fl.stacks.entries[i].key_len;

        v = p->ntypes > 0 ? pprof_seq_values(&fl.stacks, i)[type] : 0;
        if (v == 0) {
            continue;
        }
        for (k = 0; k < len; k++) {
            const char *name =
                p->strings.strs[pprof_seq_key(&fl.names, key[k])[0]];

            if (k > 0) {
                lynx_buf_append(&b, ";", 1);
            }
            lynx_buf_puts(&b, name);
        }
        lynx_buf_printf(&b, " %" PRId64 "\n", v);
    }
    rc = lynx_buf_steal(&b, out, out_len);

done:
    lynx_buf_fini(&b);
    pp_flame_fini(&fl);
    return rc;
}

/* ---- Go's debug=1 text ---- */

typedef struct pp_order {
    const lynx_pprof_t *p;
    size_t type;
} pp_order_t;

static pp_order_t pp_sort_ctx;

/* Larger values of the sort type first, then insertion order. */
static int pp_by_value(const void *a, const void *b)
{
    size_t i = *(const size_t *)a;
    size_t j = *(const size_t *)b;
    int64_t vi = pprof_seq_values(&pp_sort_ctx.p->stacks, i)[pp_sort_ctx.type];
    int64_t vj = pprof_seq_values(&pp_sort_ctx.p->stacks, j)[pp_sort_ctx.type];

    if (vi != vj) {
        return vi > vj ? -1 : 1;
    }
    return i < j ? -1 : (i > j ? 1 : 0);
}

int lynx_pprof_debug_text(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          const char *header, const size_t *order,
                          size_t norder, char **out, size_t *out_len)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    pprof_resolved_t r;
    size_t *idx = NULL;
    char note[LYNX_MODULE_PATH_MAX + 125];
    size_t i;
    size_t j;
    size_t k;
    int rc;

    if (p == NULL || out == NULL || out_len == NULL || p->ntypes == 0 ||
        (order == NULL && norder > 0)) {
        return -EINVAL;
    }
    for (k = 0; k < norder; k++) {
        if (order[k] >= p->ntypes) {
            return -EINVAL;
        }
    }
    rc = pprof_resolve(p, sym, &r);
    if (rc < 0) {
        goto done;
    }
    idx = malloc((p->stacks.n + 1) * sizeof(*idx));
    if (idx == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    if (header != NULL) {
        lynx_buf_puts(&b, header);
    }
    for (i = 0; i < p->stacks.n; i++) {
        idx[i] = i;
    }
    /* Not reentrant, like the builder itself. */
    pp_sort_ctx.p = p;
    pp_sort_ctx.type = norder > 0 ? order[0] : 0;
    qsort(idx, p->stacks.n, sizeof(*idx), pp_by_value);
    for (i = 0; b.err == 0 && i < p->stacks.n; i++) {
        size_t s = idx[i];
        const uint64_t *key = pprof_seq_key(&p->stacks, s);
        const uint64_t *loc_of = r.loc_of + p->stacks.entries[s].key_off + 1;
        const int64_t *vals = pprof_seq_values(&p->stacks, s);
        size_t npcs = (size_t)key[0];
        size_t nv = norder > 0 ? norder : p->ntypes;

        for (k = 0; k < nv; k++) {
            lynx_buf_printf(&b, "%s%" PRId64, k > 0 ? " " : "",
                            vals[norder > 0 ? order[k] : k]);
        }
        lynx_buf_append(&b, " @", 2);
        for (j = 0; j < npcs; j++) {
            /* Go prints return addresses; the key holds them minus one
             * (an exact leaf is only in CPU profiles, not text ones). */
            lynx_buf_printf(&b, " 0x%" PRIx64, key[1 + j] + 1);
        }
        lynx_buf_append(&b, "\n", 1);
        for (j = 0; b.err == 0 && j < npcs; j++) {
            const pprof_loc_t *loc = &r.loc[loc_of[j] - 1];

            if (loc->nlines == 0) {
                int64_t name;

                rc = pp_unknown_name(p, loc, &name);
                if (rc < 0) {
                    goto done;
                }
                lynx_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\n", loc->addr,
                                p->strings.strs[name]);
                continue;
            }
            for (k = 0; k < loc->nlines; k++) {
                const pprof_line_t *ln = &r.lines[loc->line_off + k];
                const uint64_t *fk = pprof_seq_key(&r.funcs, ln->func);
                const char *file = p->strings.strs[fk[2]];

                lynx_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\t%s:%" PRId64 "\n",
                                loc->addr, p->strings.strs[fk[0]],
                                *file ? file : "?", ln->line);
            }
        }
        lynx_buf_append(&b, "\n", 1);
    }
    for (i = 0; i < p->nmods; i++) {
        if (pprof_module_note(p, i, note, sizeof(note))) {
            lynx_buf_printf(&b, "# %s\n", note);
        }
    }
    rc = lynx_buf_steal(&b, out, out_len);

done:
    lynx_buf_fini(&b);
    free(idx);
    pprof_resolved_fini(&r);
    return rc;
}
