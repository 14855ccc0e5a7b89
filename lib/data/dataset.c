/* The on-disk dataset cache: <data_dir>/<name>/v<vocab>/ holding
 * tokenizer.bpe, train.bin, val.bin, compress.bin (int32 little-endian)
 * and meta.json, written last, whose presence marks a complete cache.
 *
 * Concurrency: the whole check-or-build runs under flock() on
 * <cache>/lock, and every file is written to a temporary name and renamed,
 * so readers never see half a file even without the lock. */
#include "data/dataset.h"

#include "core/error.h"
#include "data/compress.h"
#include "data/corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dataset.c writes int32 token files in host order and assumes a little-endian host"
#endif

/* Bump when the cache layout or anything that changes its contents
 * (pre-tokenizer, corpus cleaning, split) changes, so old caches rebuild. */
enum { DATASET_FORMAT = 1 };

/* Where a built-in corpus's text comes from, for staleness checks. */
#define KJV_SOURCE "/usr/lib/bible.data"
#define GCIDE_SOURCE "/usr/share/dictd/gcide.dict.dz"

typedef struct {
    char path[PATH_MAX];
    long long size;
    long long mtime;
} source_id;

static void report(dataset_progress_fn progress, void *ctx, const char *stage)
{
    if (progress)
        progress(stage, ctx);
}

static int part_identify(const char *corpus, source_id *src)
{
    static const struct {
        const char *name, *path, *package;
    } builtin[] = {{"kjv", KJV_SOURCE, "bible-kjv"},
                   {"gcide", GCIDE_SOURCE, "dict-gcide"},
                   {"linux-doc", LINUX_DOC_ROOT, LINUX_DOC_PACKAGE},
                   {"linux-src", LINUX_SRC_TARBALL, LINUX_SRC_PACKAGE}};
    const char *path = corpus, *package = NULL;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(corpus, builtin[i].name) == 0) {
            path = builtin[i].path;
            package = builtin[i].package;
        }
    struct stat st;
    if (stat(path, &st) != 0) {
        if (package)
            return es_error(ES_EMISSING, "corpus %s needs the Debian package %s: apt-get install %s (%s: %s)",
                            corpus, package, package, path, strerror(errno));
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    if (!realpath(path, src->path))
        snprintf(src->path, sizeof src->path, "%s", path);
    src->size = (long long)st.st_size;
    src->mtime = (long long)st.st_mtime;
    return ES_OK;
}

/* One source: its path, size and mtime. A mixture or a weighted source:
 * the real paths joined by '+' with their weights, the summed sizes and the
 * latest mtime. */
static int source_identify(const corpus_spec *spec, source_id *src)
{
    if (spec->n == 1 && spec->weights[0] == 1)
        return part_identify(spec->parts[0], src);
    memset(src, 0, sizeof *src);
    size_t used = 0;
    for (int i = 0; i < spec->n; i++) {
        source_id one;
        int rc = part_identify(spec->parts[i], &one);
        if (rc)
            return rc;
        char w[32] = "";
        if (spec->weights[i] != 1)
            snprintf(w, sizeof w, "@%g", spec->weights[i]);
        int n = snprintf(src->path + used, sizeof src->path - used, "%s%s%s", i ? "+" : "", one.path, w);
        if (n < 0 || (size_t)n >= sizeof src->path - used)
            return es_error(ES_EINVAL, "the source paths of the mixture are longer than %zu characters",
                            sizeof src->path);
        used += (size_t)n;
        src->size += one.size;
        if (one.mtime > src->mtime)
            src->mtime = one.mtime;
    }
    return ES_OK;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char buf[1024];
    size_t n = strlen(dir);
    if (n >= sizeof buf)
        return es_error(ES_EINVAL, "cache folder name too long: %s", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return es_error(ES_EIO, "cannot create folder %s: %s", buf, strerror(errno));
        buf[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return es_error(ES_EIO, "%s is not a folder", dir);
    return ES_OK;
}

static void path_join(char *out, size_t size, const char *dir, const char *file)
{
    snprintf(out, size, "%s/%s", dir, file);
}

/* Writes bytes to dir/name through a temporary file and rename(). */
static int write_atomic(const char *dir, const char *name, const void *data, size_t size)
{
    char path[1200], tmp[1300];
    path_join(path, sizeof path, dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return es_error(ES_EIO, "cannot create %s: %s", tmp, strerror(errno));
    size_t wrote = size ? fwrite(data, 1, size, f) : 0;
    int bad = wrote != size || ferror(f);
    if (fclose(f) != 0 || bad) {
        int e = errno;
        unlink(tmp);
        return es_error(ES_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return es_error(ES_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return ES_OK;
}

/* Reads dir/name, which must hold exactly n int32 ids below limit. */
static int read_ids(const char *dir, const char *name, size_t n, int limit, int32_t **out)
{
    char path[1200];
    path_join(path, sizeof path, dir, name);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size != n * sizeof(int32_t)) {
        fclose(f);
        return es_error(ES_EDATA, "%s: size %lld bytes, meta.json says %zu ids (%zu bytes)", path,
                        (long long)st.st_size, n, n * sizeof(int32_t));
    }
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        fclose(f);
        return es_error(ES_ENOMEM, "cannot allocate %zu token ids for %s", n, path);
    }
    size_t got = fread(ids, sizeof *ids, n, f);
    fclose(f);
    if (got != n) {
        free(ids);
        return es_error(ES_EIO, "cannot read %s: %zu of %zu ids", path, got, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= limit) {
            int bad = ids[i];
            free(ids);
            return es_error(ES_EDATA, "%s: id %d at byte offset %zu is outside [0, %d)", path, bad,
                            i * sizeof(int32_t), limit);
        }
    }
    *out = ids;
    return ES_OK;
}

void dataset_free(dataset *ds)
{
    if (!ds)
        return;
    bpe_free(ds->tokenizer);
    free(ds->train);
    free(ds->val);
    free(ds->compress_map);
    free(ds);
}

/* ------------------------------------------------------------------------ */
/* meta.json */

static int meta_write(const dataset *ds, int vocab_requested, const source_id *src)
{
    json_t *m = json_pack("{s:i, s:s, s:i, s:i, s:{s:s, s:I, s:I}, s:{s:i, s:i},"
                          " s:I, s:I, s:I, s:I, s:i, s:f, s:f}",
                          "format", DATASET_FORMAT, "corpus", ds->name, "vocab_requested",
                          vocab_requested, "vocab", ds->vocab, "source", "path", src->path, "size",
                          (json_int_t)src->size, "mtime", (json_int_t)src->mtime, "split",
                          "block_lines", DATASET_BLOCK_LINES, "val_every", DATASET_VAL_EVERY,
                          "train_tokens", (json_int_t)ds->n_train, "val_tokens",
                          (json_int_t)ds->n_val, "train_bytes", (json_int_t)ds->train_bytes,
                          "val_bytes", (json_int_t)ds->val_bytes, "compressed_vocab",
                          ds->compressed_vocab, "unigram_val_loss", ds->unigram_val_loss,
                          "bigram_val_loss", ds->bigram_val_loss);
    if (!m)
        return es_error(ES_ENOMEM, "cannot build meta.json for %s", ds->dir);
    json_t *sources = json_array();
    for (int i = 0; i < ds->n_sources; i++) {
        const dataset_source *so = &ds->sources[i];
        json_array_append_new(
            sources, json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:f, s:f}", "name", so->name, "weight", so->weight,
                               "train_tokens", (json_int_t)so->n_train, "val_tokens", (json_int_t)so->n_val,
                               "train_bytes", (json_int_t)so->train_bytes, "val_bytes",
                               (json_int_t)so->val_bytes, "unigram_val_loss", so->unigram_val_loss,
                               "bigram_val_loss", so->bigram_val_loss));
    }
    json_object_set_new(m, "sources", sources);
    if (ds->n_sources > 1)
        json_object_set_new(m, "val_chunk", json_integer(DATASET_VAL_CHUNK));
    char *s = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(m);
    if (!s)
        return es_error(ES_ENOMEM, "cannot serialise meta.json for %s", ds->dir);
    size_t n = strlen(s);
    char *withnl = malloc(n + 2);
    int rc;
    if (!withnl) {
        rc = es_error(ES_ENOMEM, "cannot serialise meta.json for %s", ds->dir);
    } else {
        memcpy(withnl, s, n);
        withnl[n] = '\n';
        rc = write_atomic(ds->dir, "meta.json", withnl, n + 1);
    }
    free(withnl);
    free(s);
    return rc;
}

/* Loads the cache if meta.json matches this source and vocabulary.
 * Returns ES_OK and sets *fresh = 0 when the cache must be rebuilt; an
 * error only for a cache that claims to be current but is damaged. */
static int cache_load(dataset *ds, int vocab_requested, const source_id *src, int *fresh)
{
    char path[1200];
    path_join(path, sizeof path, ds->dir, "meta.json");
    *fresh = 0;
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m)
        return ES_OK; /* missing or unreadable: rebuild */
    int format = -1, vreq = -1, vocab = -1, cvocab = -1;
    const char *spath = "";
    json_int_t ssize = -1, smtime = -1, ntrain = -1, nval = -1, btrain = -1, bval = -1;
    double uni = NAN, bi = NAN;
    int bad = json_unpack_ex(m, &jerr, 0,
                             "{s:i, s:i, s:i, s:{s:s, s:I, s:I}, s:I, s:I, s:I, s:I, s:i, s:F, s:F}",
                             "format", &format, "vocab_requested", &vreq, "vocab", &vocab, "source",
                             "path", &spath, "size", &ssize, "mtime", &smtime, "train_tokens",
                             &ntrain, "val_tokens", &nval, "train_bytes", &btrain, "val_bytes", &bval,
                             "compressed_vocab", &cvocab, "unigram_val_loss", &uni,
                             "bigram_val_loss", &bi);
    int current = !bad && format == DATASET_FORMAT && vreq == vocab_requested &&
                  strcmp(spath, src->path) == 0 && ssize == src->size && smtime == src->mtime;
    if (!current) {
        json_decref(m);
        return ES_OK;
    }
    /* "sources" is optional: a cache written before it is one source. */
    const json_t *sources = json_object_get(m, "sources");
    ds->n_sources = 0;
    if (json_is_array(sources) && json_array_size(sources) >= 1) {
        size_t i, tsum = 0, vsum = 0;
        const json_t *e;
        if (json_array_size(sources) > DATASET_MAX_SOURCES) {
            json_decref(m);
            return es_error(ES_EDATA, "%s: %zu sources, at most %d", path, json_array_size(sources),
                            DATASET_MAX_SOURCES);
        }
        json_array_foreach(sources, i, e)
        {
            dataset_source *so = &ds->sources[i];
            const char *name = "";
            json_int_t nt = -1, nv = -1, bt = -1, bv = -1;
            if (json_unpack_ex((json_t *)e, &jerr, 0, "{s:s, s:F, s:I, s:I, s:I, s:I, s:F, s:F}", "name", &name,
                               "weight", &so->weight, "train_tokens", &nt, "val_tokens", &nv, "train_bytes", &bt,
                               "val_bytes", &bv, "unigram_val_loss", &so->unigram_val_loss, "bigram_val_loss",
                               &so->bigram_val_loss) ||
                nt < 0 || nv < 0) {
                json_decref(m);
                return es_error(ES_EDATA, "%s: sources[%zu] is malformed; delete the folder or use --force", path,
                                i);
            }
            snprintf(so->name, sizeof so->name, "%s", name);
            so->train_offset = tsum;
            so->n_train = (size_t)nt;
            so->n_val = (size_t)nv;
            so->train_bytes = (size_t)bt;
            so->val_bytes = (size_t)bv;
            tsum += (size_t)nt;
            vsum += (size_t)nv;
        }
        if ((json_int_t)tsum != ntrain || (json_int_t)vsum != nval) {
            json_decref(m);
            return es_error(ES_EDATA, "%s: the sources hold %zu / %zu tokens, the totals say %lld / %lld; delete "
                                      "the folder or use --force",
                            path, tsum, vsum, (long long)ntrain, (long long)nval);
        }
        ds->n_sources = (int)json_array_size(sources);
        /* a mixture's validation layout must be this build's */
        if (ds->n_sources > 1 && json_integer_value(json_object_get(m, "val_chunk")) != DATASET_VAL_CHUNK) {
            ds->n_sources = 0;
            json_decref(m);
            return ES_OK;
        }
    }
    json_decref(m);
    if (vocab < 256 || vocab > vocab_requested || cvocab < 1 || cvocab > vocab || ntrain < 0 ||
        nval < 0)
        return es_error(ES_EDATA, "%s: inconsistent counts (vocab %d, compressed_vocab %d); "
                                  "delete the folder or use --force", path, vocab, cvocab);
    char tpath[1200];
    path_join(tpath, sizeof tpath, ds->dir, "tokenizer.bpe");
    int rc = bpe_load(tpath, &ds->tokenizer);
    if (!rc && bpe_vocab(ds->tokenizer) != vocab)
        rc = es_error(ES_EDATA, "%s: vocabulary %d, meta.json says %d", tpath,
                      bpe_vocab(ds->tokenizer), vocab);
    if (!rc)
        rc = read_ids(ds->dir, "train.bin", (size_t)ntrain, vocab, &ds->train);
    if (!rc)
        rc = read_ids(ds->dir, "val.bin", (size_t)nval, vocab, &ds->val);
    if (!rc)
        rc = read_ids(ds->dir, "compress.bin", (size_t)vocab, cvocab, &ds->compress_map);
    if (rc)
        return rc;
    ds->vocab = vocab;
    ds->n_train = (size_t)ntrain;
    ds->n_val = (size_t)nval;
    ds->train_bytes = (size_t)btrain;
    ds->val_bytes = (size_t)bval;
    ds->compressed_vocab = cvocab;
    ds->unigram_val_loss = uni;
    ds->bigram_val_loss = bi;
    if (ds->n_sources == 0) {
        dataset_source *so = &ds->sources[0];
        snprintf(so->name, sizeof so->name, "%s", ds->name);
        so->weight = 1;
        so->n_train = ds->n_train;
        so->n_val = ds->n_val;
        so->train_bytes = ds->train_bytes;
        so->val_bytes = ds->val_bytes;
        so->unigram_val_loss = uni;
        so->bigram_val_loss = bi;
        ds->n_sources = 1;
    }
    *fresh = 1;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */

/* An even sample of at most about max bytes of text, in whole units of
 * CORPUS_SUBSAMPLE_LINES lines, for training the tokenizer. */
static int bpe_sample(const char *text, size_t len, size_t max, char **out, size_t *out_len)
{
    double w = (double)max / (double)len;
    char *p = malloc(len < max + (max >> 2) ? len + 1 : max + (max >> 2) + 1);
    if (!p)
        return es_error(ES_ENOMEM, "cannot allocate %zu bytes for the tokenizer's sample", max);
    size_t cap = len < max + (max >> 2) ? len : max + (max >> 2);
    size_t in = 0, n = 0, unit = 0;
    while (in < len) {
        size_t end = in;
        for (int l = 0; l < CORPUS_SUBSAMPLE_LINES && end < len; l++) {
            const char *nl = memchr(text + end, '\n', len - end);
            end = nl ? (size_t)(nl - text) + 1 : len;
        }
        if (floor((double)(unit + 1) * w) > floor((double)unit * w) && n + (end - in) <= cap) {
            memcpy(p + n, text + in, end - in);
            n += end - in;
        }
        in = end;
        unit++;
    }
    p[n] = '\0';
    *out = p;
    *out_len = n;
    return ES_OK;
}

/* Reads, subsamples and splits every source; the training splits are
 * concatenated into *train, the validation splits kept per source. */
static int read_sources(dataset *ds, const corpus_spec *spec, dataset_progress_fn progress, void *ctx,
                        char **train, size_t *train_len, char **val, size_t *val_lens)
{
    size_t cap = 0;
    *train = NULL;
    *train_len = 0;
    for (int i = 0; i < spec->n; i++) {
        char stage[600];
        if (spec->n > 1)
            snprintf(stage, sizeof stage, "reading corpus %s", spec->names[i]);
        else
            snprintf(stage, sizeof stage, "reading corpus");
        report(progress, ctx, stage);
        char *text = NULL, *t = NULL;
        size_t len = 0, tl = 0;
        int rc = corpus_read(spec->parts[i], &text, &len);
        if (rc)
            return rc;
        len = corpus_subsample(text, len, spec->weights[i], CORPUS_SUBSAMPLE_LINES);
        rc = corpus_split(text, len, DATASET_BLOCK_LINES, DATASET_VAL_EVERY, &t, &tl, &val[i], &val_lens[i]);
        free(text);
        if (rc)
            return rc;
        if (val_lens[i] == 0) {
            free(t);
            return es_error(ES_EDATA, "%s: too short for a validation split (needs more than %d lines)",
                            spec->parts[i], DATASET_BLOCK_LINES * (DATASET_VAL_EVERY - 1));
        }
        dataset_source *so = &ds->sources[i];
        snprintf(so->name, sizeof so->name, "%s", spec->names[i]);
        so->weight = spec->weights[i];
        so->train_bytes = tl;
        so->val_bytes = val_lens[i];
        if (spec->n == 1) { /* no copy */
            *train = t;
            *train_len = tl;
            return ES_OK;
        }
        if (*train_len + tl + 1 > cap) {
            size_t c = cap ? cap : 1 << 20;
            while (c < *train_len + tl + 1)
                c *= 2;
            char *p = realloc(*train, c);
            if (!p) {
                free(t);
                return es_error(ES_ENOMEM, "cannot allocate %zu bytes for the mixture's training text", c);
            }
            *train = p;
            cap = c;
        }
        memcpy(*train + *train_len, t, tl);
        *train_len += tl;
        (*train)[*train_len] = '\0';
        free(t);
    }
    return ES_OK;
}

/* Appends n ids to a growable array. */
static int ids_append(int32_t **dst, size_t *count, size_t *cap, const int32_t *ids, size_t n)
{
    if (*count + n > *cap) {
        size_t c = *cap ? *cap : 1 << 16;
        while (c < *count + n)
            c *= 2;
        int32_t *p = realloc(*dst, c * sizeof *p);
        if (!p)
            return es_error(ES_ENOMEM, "cannot allocate %zu token ids", c);
        *dst = p;
        *cap = c;
    }
    memcpy(*dst + *count, ids, n * sizeof *ids);
    *count += n;
    return ES_OK;
}

/* Encodes each source's part of the training text (concatenated in source
 * order) and its validation text (interleaved, see DATASET_VAL_CHUNK). */
static int encode_sources(dataset *ds, const char *train, char **val, const size_t *val_lens)
{
    if (ds->n_sources == 1) {
        dataset_source *so = &ds->sources[0];
        int rc = bpe_encode(ds->tokenizer, train, so->train_bytes, &ds->train, &ds->n_train);
        if (!rc)
            rc = bpe_encode(ds->tokenizer, val[0], val_lens[0], &ds->val, &ds->n_val);
        so->train_offset = 0;
        so->n_train = ds->n_train;
        so->n_val = ds->n_val;
        return rc;
    }
    size_t tcap = 0, vcap = 0, toff = 0;
    int32_t *vals[CORPUS_MAX_SOURCES] = {0};
    int rc = ES_OK;
    for (int i = 0; i < ds->n_sources && !rc; i++) {
        dataset_source *so = &ds->sources[i];
        int32_t *ids;
        size_t n_ids;
        if ((rc = bpe_encode(ds->tokenizer, train + toff, so->train_bytes, &ids, &n_ids)))
            break;
        so->train_offset = ds->n_train;
        so->n_train = n_ids;
        rc = ids_append(&ds->train, &ds->n_train, &tcap, ids, n_ids);
        free(ids);
        toff += so->train_bytes;
        if (!rc)
            rc = bpe_encode(ds->tokenizer, val[i], val_lens[i], &vals[i], &so->n_val);
    }
    /* round robin over the sources with tokens left */
    for (size_t round = 0; !rc; round++) {
        int any = 0;
        for (int i = 0; i < ds->n_sources && !rc; i++) {
            size_t start = round * DATASET_VAL_CHUNK, n_val = ds->sources[i].n_val;
            if (start >= n_val)
                continue;
            size_t n = n_val - start < DATASET_VAL_CHUNK ? n_val - start : DATASET_VAL_CHUNK;
            rc = ids_append(&ds->val, &ds->n_val, &vcap, vals[i] + start, n);
            any = 1;
        }
        if (!any)
            break;
    }
    for (int i = 0; i < ds->n_sources; i++)
        free(vals[i]);
    return rc;
}

int dataset_val_source(const dataset *ds, size_t i)
{
    if (ds->n_sources <= 1)
        return 0;
    for (size_t round = 0;; round++) {
        for (int s = 0; s < ds->n_sources; s++) {
            size_t start = round * DATASET_VAL_CHUNK, n_val = ds->sources[s].n_val;
            if (start >= n_val)
                continue;
            size_t n = n_val - start < DATASET_VAL_CHUNK ? n_val - start : DATASET_VAL_CHUNK;
            if (i < n)
                return s;
            i -= n;
        }
        if (round * DATASET_VAL_CHUNK > ds->n_val)
            return ds->n_sources - 1; /* i >= n_val: not reached for valid i */
    }
}

int dataset_source_val(const dataset *ds, int s, int32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    if (s < 0 || s >= ds->n_sources)
        return es_error(ES_EINVAL, "%s has no source %d (it has %d)", ds->name, s, ds->n_sources);
    size_t want = ds->sources[s].n_val;
    int32_t *out = malloc((want ? want : 1) * sizeof *out);
    if (!out)
        return es_error(ES_ENOMEM, "cannot allocate %zu validation ids of source %s", want, ds->sources[s].name);
    if (ds->n_sources == 1) {
        memcpy(out, ds->val, want * sizeof *out);
    } else {
        size_t pos = 0, got = 0;
        for (size_t round = 0; got < want; round++) {
            for (int k = 0; k < ds->n_sources; k++) {
                size_t start = round * DATASET_VAL_CHUNK, n_val = ds->sources[k].n_val;
                if (start >= n_val)
                    continue;
                size_t c = n_val - start < DATASET_VAL_CHUNK ? n_val - start : DATASET_VAL_CHUNK;
                if (k == s) {
                    memcpy(out + got, ds->val + pos, c * sizeof *out);
                    got += c;
                }
                pos += c;
            }
        }
    }
    *ids = out;
    *n = want;
    return ES_OK;
}

static int cache_build(dataset *ds, const corpus_spec *spec, int vocab_requested, const source_id *src,
                       dataset_progress_fn progress, void *ctx)
{
    char *train = NULL, *val[CORPUS_MAX_SOURCES] = {0};
    size_t train_len = 0, val_lens[CORPUS_MAX_SOURCES] = {0};
    ds->n_sources = spec->n;
    int rc = read_sources(ds, spec, progress, ctx, &train, &train_len, val, val_lens);
    if (rc)
        goto done;
    ds->train_bytes = train_len;
    ds->val_bytes = 0;
    for (int i = 0; i < spec->n; i++)
        ds->val_bytes += val_lens[i];

    /* The tokenizer sees only the training split, so val is truly held out. */
    report(progress, ctx, "training tokenizer");
    if (train_len > DATASET_BPE_SAMPLE_BYTES) {
        char *sample = NULL;
        size_t sample_len = 0;
        if ((rc = bpe_sample(train, train_len, DATASET_BPE_SAMPLE_BYTES, &sample, &sample_len)))
            goto done;
        rc = bpe_train(sample, sample_len, vocab_requested, &ds->tokenizer);
        free(sample);
    } else {
        rc = bpe_train(train, train_len, vocab_requested, &ds->tokenizer);
    }
    if (rc)
        goto done;
    ds->vocab = bpe_vocab(ds->tokenizer);
    report(progress, ctx, "encoding");
    if ((rc = encode_sources(ds, train, val, val_lens)))
        goto done;
    free(train);
    train = NULL;

    report(progress, ctx, "compressing vocabulary");
    ds->compress_map = malloc((size_t)ds->vocab * sizeof *ds->compress_map);
    if (!ds->compress_map) {
        rc = es_error(ES_ENOMEM, "cannot allocate the compression map of %d ids", ds->vocab);
        goto done;
    }
    if ((rc = compress_build(ds->tokenizer, ds->compress_map, &ds->compressed_vocab)))
        goto done;

    report(progress, ctx, "baselines");
    ds->unigram_val_loss = baseline_unigram(ds->train, ds->n_train, ds->val, ds->n_val, ds->vocab);
    ds->bigram_val_loss = baseline_bigram(ds->train, ds->n_train, ds->val, ds->n_val, ds->vocab);
    if (isnan(ds->unigram_val_loss) || isnan(ds->bigram_val_loss)) {
        rc = es_error(ES_EDATA, "%s: cannot compute the baselines (%zu train, %zu val tokens)", ds->name,
                      ds->n_train, ds->n_val);
        goto done;
    }
    for (int i = 0; i < ds->n_sources; i++) {
        dataset_source *so = &ds->sources[i];
        if (ds->n_sources == 1) {
            so->unigram_val_loss = ds->unigram_val_loss;
            so->bigram_val_loss = ds->bigram_val_loss;
            continue;
        }
        /* counts of the whole training split, scored on this source's val */
        int32_t *v;
        size_t nv;
        if ((rc = dataset_source_val(ds, i, &v, &nv)))
            goto done;
        so->unigram_val_loss = baseline_unigram(ds->train, ds->n_train, v, nv, ds->vocab);
        so->bigram_val_loss = baseline_bigram(ds->train, ds->n_train, v, nv, ds->vocab);
        free(v);
        if (isnan(so->unigram_val_loss) || isnan(so->bigram_val_loss)) {
            rc = es_error(ES_EDATA, "%s: cannot compute the baselines of source %s (%zu val tokens)", ds->name,
                          so->name, so->n_val);
            goto done;
        }
    }

    report(progress, ctx, "writing cache");
    char tmp[1300], path[1200];
    path_join(path, sizeof path, ds->dir, "tokenizer.bpe");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if ((rc = bpe_save(ds->tokenizer, tmp))) {
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = es_error(ES_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if ((rc = write_atomic(ds->dir, "train.bin", ds->train, ds->n_train * sizeof(int32_t))) ||
        (rc = write_atomic(ds->dir, "val.bin", ds->val, ds->n_val * sizeof(int32_t))) ||
        (rc = write_atomic(ds->dir, "compress.bin", ds->compress_map,
                           (size_t)ds->vocab * sizeof(int32_t))))
        goto done;
    rc = meta_write(ds, vocab_requested, src);
done:
    free(train);
    for (int i = 0; i < CORPUS_MAX_SOURCES; i++)
        free(val[i]);
    return rc;
}

int dataset_prepare(const char *corpus, const char *data_dir, int vocab, int force,
                    dataset_progress_fn progress, void *ctx, dataset **out)
{
    *out = NULL;
    if (vocab < 256 || vocab > 65536)
        return es_error(ES_EINVAL, "vocabulary size %d is outside [256, 65536]", vocab);
    if (!data_dir || !*data_dir)
        return es_error(ES_EINVAL, "data folder is empty");
    corpus_spec spec;
    int rc = corpus_spec_parse(corpus, &spec);
    if (rc)
        return rc;
    source_id src;
    if ((rc = source_identify(&spec, &src)))
        return rc;

    dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return es_error(ES_ENOMEM, "cannot allocate a dataset");
    /* the name corpus_cache_name() gives readers of the cache */
    corpus_spec_name(&spec, ds->name, sizeof ds->name);
    int n = snprintf(ds->dir, sizeof ds->dir, "%s/%s/v%d", data_dir, ds->name, vocab);
    if (n < 0 || (size_t)n >= sizeof ds->dir) {
        rc = es_error(ES_EINVAL, "cache folder name too long: %s/%s/v%d", data_dir, ds->name, vocab);
        free(ds);
        return rc;
    }
    if ((rc = make_dirs(ds->dir))) {
        free(ds);
        return rc;
    }

    char lock_path[1200];
    path_join(lock_path, sizeof lock_path, ds->dir, "lock");
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0) {
        rc = es_error(ES_EIO, "cannot open %s: %s", lock_path, strerror(errno));
        free(ds);
        return rc;
    }
    while (flock(lock, LOCK_EX) != 0) {
        if (errno != EINTR) {
            rc = es_error(ES_EIO, "cannot lock %s: %s", lock_path, strerror(errno));
            close(lock);
            free(ds);
            return rc;
        }
    }

    int fresh = 0;
    if (!force) {
        report(progress, ctx, "loading cache");
        rc = cache_load(ds, vocab, &src, &fresh);
    }
    if (!rc && !fresh) {
        /* drop whatever a partial load left */
        bpe_free(ds->tokenizer);
        free(ds->train);
        free(ds->val);
        free(ds->compress_map);
        ds->tokenizer = NULL;
        ds->train = ds->val = ds->compress_map = NULL;
        ds->n_train = ds->n_val = 0;
        ds->n_sources = 0;
        rc = cache_build(ds, &spec, vocab, &src, progress, ctx);
    }
    flock(lock, LOCK_UN);
    close(lock);
    if (rc) {
        dataset_free(ds);
        return rc;
    }
    *out = ds;
    return ES_OK;
}
