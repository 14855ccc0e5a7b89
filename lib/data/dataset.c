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

static int source_identify(const char *corpus, source_id *src)
{
    const char *path = corpus;
    if (strcmp(corpus, "kjv") == 0)
        path = KJV_SOURCE;
    else if (strcmp(corpus, "gcide") == 0)
        path = GCIDE_SOURCE;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (strcmp(corpus, "kjv") == 0)
            return es_error(ES_EMISSING, "corpus kjv needs the Debian package bible-kjv: apt-get "
                                         "install bible-kjv (%s: %s)", path, strerror(errno));
        if (strcmp(corpus, "gcide") == 0)
            return es_error(ES_EMISSING, "corpus gcide needs the Debian package dict-gcide: apt-get "
                                         "install dict-gcide (%s: %s)", path, strerror(errno));
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    if (!realpath(path, src->path))
        snprintf(src->path, sizeof src->path, "%s", path);
    src->size = (long long)st.st_size;
    src->mtime = (long long)st.st_mtime;
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
    json_decref(m);
    if (!current)
        return ES_OK;
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
    *fresh = 1;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */

static int cache_build(dataset *ds, const char *corpus, int vocab_requested, const source_id *src,
                       dataset_progress_fn progress, void *ctx)
{
    char *text = NULL, *train = NULL, *val = NULL;
    size_t len = 0, train_len = 0, val_len = 0;
    report(progress, ctx, "reading corpus");
    int rc = corpus_read(corpus, &text, &len);
    if (rc)
        return rc;
    rc = corpus_split(text, len, DATASET_BLOCK_LINES, DATASET_VAL_EVERY, &train, &train_len, &val,
                      &val_len);
    free(text);
    if (rc)
        return rc;
    if (val_len == 0) {
        rc = es_error(ES_EDATA, "%s: too short for a validation split (needs more than %d lines)",
                      corpus, DATASET_BLOCK_LINES * (DATASET_VAL_EVERY - 1));
        goto done;
    }
    ds->train_bytes = train_len;
    ds->val_bytes = val_len;

    /* The tokenizer sees only the training split, so val is truly held out. */
    report(progress, ctx, "training tokenizer");
    if ((rc = bpe_train(train, train_len, vocab_requested, &ds->tokenizer)))
        goto done;
    ds->vocab = bpe_vocab(ds->tokenizer);
    report(progress, ctx, "encoding");
    if ((rc = bpe_encode(ds->tokenizer, train, train_len, &ds->train, &ds->n_train)) ||
        (rc = bpe_encode(ds->tokenizer, val, val_len, &ds->val, &ds->n_val)))
        goto done;

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
        rc = es_error(ES_EDATA, "%s: cannot compute the baselines (%zu train, %zu val tokens)",
                      corpus, ds->n_train, ds->n_val);
        goto done;
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
    free(val);
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
    source_id src;
    int rc = source_identify(corpus, &src);
    if (rc)
        return rc;

    dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return es_error(ES_ENOMEM, "cannot allocate a dataset");
    corpus_name(corpus, ds->name, sizeof ds->name);
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
        rc = cache_build(ds, corpus, vocab, &src, progress, ctx);
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
