/*
 * client/pprof_encode.c - a pprof builder's profile as profile.proto
 * (protobuf-c), gzipped as pprof serves it over HTTP (zlib).
 *
 * Workload: one encode per request, of a profile of up to some 100,000
 * samples and a few thousand locations: every message is laid out in
 * arrays allocated once per encode, pointing into the builder's tables
 * (sample values, location ids, the string table) rather than copying
 * them; the packed profile is then compressed in one deflate() call.
 */
#include "client/pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "client/pprof_builder.h"
#include "client/profile.pb-c.h"

static int pp_hex(lynx_pprof_t *p, const uint8_t *bytes, size_t n,
                  int64_t *index)
{
    static const char digits[] = "0123456789abcdef";
    char hex[2 * LYNX_BUILD_ID_MAX + 1];
    size_t i;

    for (i = 0; i < n && i < LYNX_BUILD_ID_MAX; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    hex[2 * i] = '\0';
    return pprof_str_intern(&p->strings, hex, index);
}

static int pp_gzip(const uint8_t *in, size_t in_len, uint8_t **out,
                   size_t *out_len)
{
    z_stream zs;
    uint8_t *buf;
    uLong bound;
    int rc;

    if (in_len > UINT32_MAX) {
        return -EFBIG; /* one deflate() call; profiles are far smaller */
    }
    memset(&zs, 0, sizeof(zs));
    /* 15 + 16: gzip wrapper.  Best speed, as Go serves its profiles. */
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -ENOMEM;
    }
    bound = deflateBound(&zs, (uLong)in_len) + 32;
    buf = malloc(bound);
    if (buf == NULL) {
        deflateEnd(&zs);
        return -ENOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&zs);
        free(buf);
        return -ENOMEM;
    }
    *out_len = zs.total_out;
    deflateEnd(&zs);
    *out = buf;
    return 0;
}

/* The builder's common labels that a sample whose own label words (4 per
 * label: key, str, num, num_unit) are `own` does not have already, into
 * out/outp; returns how many. */
static size_t pp_common_labels(const lynx_pprof_t *p, const uint64_t *own,
                               size_t nown, Perftools__Profiles__Label *out,
                               Perftools__Profiles__Label **outp)
{
    size_t n = 0;
    size_t i;
    size_t k;

    for (i = 0; i < p->ncommon_labels; i++) {
        int64_t key = p->common_labels[2 * i];

        for (k = 0; k < nown && (int64_t)own[4 * k] != key; k++) {
        }
        if (k < nown) {
            continue;
        }
        perftools__profiles__label__init(&out[n]);
        out[n].key = key;
        out[n].str = p->common_labels[2 * i + 1];
        outp[n] = &out[n];
        n++;
    }
    return n;
}

int lynx_pprof_encode(lynx_pprof_t *p, lynx_symbolizer_t *sym, int gzip,
                      uint8_t **out, size_t *out_len)
{
    Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
    Perftools__Profiles__ValueType period_type =
        PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    Perftools__Profiles__ValueType *types = NULL;
    Perftools__Profiles__ValueType **typep = NULL;
    Perftools__Profiles__Sample *samples = NULL;
    Perftools__Profiles__Sample **samplep = NULL;
    Perftools__Profiles__Label *labels = NULL;
    Perftools__Profiles__Label **labelp = NULL;
    Perftools__Profiles__Mapping *maps = NULL;
    Perftools__Profiles__Mapping **mapp = NULL;
    Perftools__Profiles__Location *locs = NULL;
    Perftools__Profiles__Location **locp = NULL;
    Perftools__Profiles__Line *lines = NULL;
    Perftools__Profiles__Line **linep = NULL;
    Perftools__Profiles__Function *funcs = NULL;
    Perftools__Profiles__Function **funcp = NULL;
    pprof_resolved_t r;
    int64_t *comments = NULL;
    size_t ncomments;
    char note[LYNX_MODULE_PATH_MAX + 200];
    uint8_t *buf = NULL;
    size_t nlabels;
    size_t size;
    size_t i;
    size_t k;
    int rc;

    if (p == NULL || out == NULL || out_len == NULL) {
        return -EINVAL;
    }
    rc = pprof_resolve(p, sym, &r);
    if (rc < 0) {
        goto done;
    }
    rc = -ENOMEM;

    /* This encode's comments: the builder's, then one per module without
     * symbols, so that `pprof -comments` says why frames are bare. */
    comments = calloc(p->ncomments + p->nmods + 1, sizeof(*comments));
    if (comments == NULL) {
        goto done;
    }
    ncomments = p->ncomments;
    if (ncomments > 0) {
        memcpy(comments, p->comments, ncomments * sizeof(*comments));
    }
    for (i = 0; i < p->nmods; i++) {
        if (pprof_module_note(p, i, note, sizeof(note)) &&
            pprof_str_intern(&p->strings, note, &comments[ncomments++]) != 0) {
            goto done;
        }
    }

    /* Mapping strings first: interning may move the string table. */
    maps = calloc(p->nmods + 1, sizeof(*maps));
    mapp = calloc(p->nmods + 1, sizeof(*mapp));
    if (maps == NULL || mapp == NULL) {
        goto done;
    }
    for (i = 0; i < p->nmods; i++) {
        const lynx_module_t *m = &p->mods[i];
        Perftools__Profiles__Mapping *pm = &maps[i];

        perftools__profiles__mapping__init(pm);
        pm->id = i + 1;
        pm->memory_start = m->start;
        pm->memory_limit = m->limit;
        pm->file_offset = m->file_offset;
        if (pprof_str_intern(&p->strings, m->path, &pm->filename) != 0 ||
            (m->build_id_len > 0 &&
             pp_hex(p, m->build_id, m->build_id_len, &pm->build_id) != 0)) {
            goto done;
        }
        pm->has_functions = (r.mflags[i] & PP_HAS_FUNCTIONS) != 0;
        pm->has_filenames = (r.mflags[i] & PP_HAS_FILENAMES) != 0;
        pm->has_line_numbers = (r.mflags[i] & PP_HAS_LINES) != 0;
        /* Line numbers come from DWARF, which also gave the inlined frames. */
        pm->has_inline_frames = pm->has_line_numbers;
        mapp[i] = pm;
    }

    types = calloc(p->ntypes + 1, sizeof(*types));
    typep = calloc(p->ntypes + 1, sizeof(*typep));
    if (types == NULL || typep == NULL) {
        goto done;
    }
    for (i = 0; i < p->ntypes; i++) {
        perftools__profiles__value_type__init(&types[i]);
        types[i].type = p->types[2 * i];
        types[i].unit = p->types[2 * i + 1];
        typep[i] = &types[i];
    }

    nlabels = 0;
    for (i = 0; i < p->stacks.n; i++) {
        const uint64_t *key = pprof_seq_key(&p->stacks, i);

        nlabels += (p->stacks.entries[i].key_len - 1 - (size_t)key[0]) / 4;
    }
    nlabels += p->stacks.n * p->ncommon_labels;
    samples = calloc(p->stacks.n + 1, sizeof(*samples));
    samplep = calloc(p->stacks.n + 1, sizeof(*samplep));
    labels = calloc(nlabels + 1, sizeof(*labels));
    labelp = calloc(nlabels + 1, sizeof(*labelp));
    if (samples == NULL || samplep == NULL || labels == NULL ||
        labelp == NULL) {
        goto done;
    }
    nlabels = 0;
    for (i = 0; i < p->stacks.n; i++) {
        const uint64_t *key = pprof_seq_key(&p->stacks, i);
        size_t npcs = (size_t)key[0];
        size_t nl = (p->stacks.entries[i].key_len - 1 - npcs) / 4;
        Perftools__Profiles__Sample *s = &samples[i];

        perftools__profiles__sample__init(s);
        s->n_location_id = npcs;
        s->location_id = r.loc_of + p->stacks.entries[i].key_off + 1;
        s->n_value = p->stacks.nvalues;
        s->value = pprof_seq_values(&p->stacks, i);
        s->n_label = nl;
        s->label = labelp + nlabels;
        for (k = 0; k < nl; k++) {
            const uint64_t *w = key + 1 + npcs + 4 * k;
            Perftools__Profiles__Label *l = &labels[nlabels];

            perftools__profiles__label__init(l);
            l->key = (int64_t)w[0];
            l->str = (int64_t)w[1];
            l->num = (int64_t)w[2];
            l->num_unit = (int64_t)w[3];
            labelp[nlabels++] = l;
        }
        s->n_label += pp_common_labels(p, key + 1 + npcs, nl,
                                       labels + nlabels, labelp + nlabels);
        nlabels += s->n_label - nl;
        samplep[i] = s;
    }

    locs = calloc(r.locs.n + 1, sizeof(*locs));
    locp = calloc(r.locs.n + 1, sizeof(*locp));
    lines = calloc(r.nlines + 1, sizeof(*lines));
    linep = calloc(r.nlines + 1, sizeof(*linep));
    if (locs == NULL || locp == NULL || lines == NULL || linep == NULL) {
        goto done;
    }
    for (i = 0; i < r.nlines; i++) {
        perftools__profiles__line__init(&lines[i]);
        lines[i].function_id = r.lines[i].func + 1;
        lines[i].line = r.lines[i].line;
        linep[i] = &lines[i];
    }
    for (i = 0; i < r.locs.n; i++) {
        perftools__profiles__location__init(&locs[i]);
        locs[i].id = i + 1;
        locs[i].mapping_id = r.loc[i].mapping;
        locs[i].address = r.loc[i].addr;
        locs[i].n_line = r.loc[i].nlines;
        locs[i].line = linep + r.loc[i].line_off;
        locp[i] = &locs[i];
    }

    funcs = calloc(r.funcs.n + 1, sizeof(*funcs));
    funcp = calloc(r.funcs.n + 1, sizeof(*funcp));
    if (funcs == NULL || funcp == NULL) {
        goto done;
    }
    for (i = 0; i < r.funcs.n; i++) {
        const uint64_t *key = pprof_seq_key(&r.funcs, i);

        perftools__profiles__function__init(&funcs[i]);
        funcs[i].id = i + 1;
        funcs[i].name = (int64_t)key[0];
        funcs[i].system_name = (int64_t)key[1];
        funcs[i].filename = (int64_t)key[2];
        funcs[i].start_line = (int64_t)key[3];
        funcp[i] = &funcs[i];
    }

    prof.n_sample_type = p->ntypes;
    prof.sample_type = typep;
    prof.n_sample = p->stacks.n;
    prof.sample = samplep;
    prof.n_mapping = p->nmods;
    prof.mapping = mapp;
    prof.n_location = r.locs.n;
    prof.location = locp;
    prof.n_function = r.funcs.n;
    prof.function = funcp;
    prof.n_string_table = p->strings.n;
    prof.string_table = p->strings.strs;
    prof.drop_frames = p->drop_frames;
    prof.keep_frames = p->keep_frames;
    prof.time_nanos = p->time_nanos;
    prof.duration_nanos = p->duration_nanos;
    if (p->has_period) {
        period_type.type = p->period_type;
        period_type.unit = p->period_unit;
        prof.period_type = &period_type;
        prof.period = p->period;
    }
    prof.n_comment = ncomments;
    prof.comment = comments;
    prof.default_sample_type = p->default_type;

    size = perftools__profiles__profile__get_packed_size(&prof);
    buf = malloc(size + 1);
    if (buf == NULL) {
        goto done;
    }
    perftools__profiles__profile__pack(&prof, buf);
    if (gzip) {
        rc = pp_gzip(buf, size, out, out_len);
        if (rc < 0) {
            goto done;
        }
    } else {
        *out = buf;
        *out_len = size;
        buf = NULL;
    }
    rc = 0;

done:
    free(comments);
    free(buf);
    free(types);
    free(typep);
    free(samples);
    free(samplep);
    free(labels);
    free(labelp);
    free(maps);
    free(mapp);
    free(locs);
    free(locp);
    free(lines);
    free(linep);
    free(funcs);
    free(funcp);
    pprof_resolved_fini(&r);
    return rc;
}
