/* engram-scale data: prepare a corpus and report its figures. */
#include "cli.h"

#include "data/coverage.h"
#include "data/dataset.h"
#include "config/config.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HELP[] =
    "usage: engram-scale data [CORPUS] [--out DIR] [--set tokenizer.vocab=N] [--force] [--json]\n"
    "                         [--coverage TOKENS]\n"
    "\n"
    "Prepares CORPUS (kjv, gcide, linux-doc, linux-src, or a UTF-8 text file):\n"
    "a held-out validation split of every 20th block of 20 lines (5%), a\n"
    "byte-level BPE trained on the training split (on an even 128 MiB sample of\n"
    "it when it is larger), token files, Engram's compressed-id map, and the\n"
    "validation cross-entropy of unigram and bigram count models, the floors a\n"
    "trained model must beat. Results are cached under DIR/<name>/v<vocab>/\n"
    "(DIR: data).\n"
    "\n"
    "A mixture is CORPUS joined by '+', each source optionally with a weight,\n"
    "the share of its text kept (in a config: corpus: [gcide, kjv, linux-doc,\n"
    "{linux-src: 0.1}]):  engram-scale data gcide+kjv+linux-doc+linux-src@0.1\n"
    "Each source is split on its own; the validation tokens and floors are\n"
    "printed per source.\n"
    "\n"
    "  --out DIR    cache root (default: data)\n"
    "  --set K=V    tokenizer.vocab, data_dir or corpus (as in a config file)\n"
    "  --force      rebuild the cache\n"
    "  --json       print the figures as JSON\n"
    "  --coverage TOKENS\n"
    "               N-gram coverage of a training run of TOKENS tokens (the\n"
    "               windows its batches visit: train.seed, train.batch,\n"
    "               model.seq_len): per order of model.engram.orders, the\n"
    "               distinct N-grams it sees and the share of validation\n"
    "               N-grams among them, in Engram's compressed ids\n";

/* --coverage: one entry per N-gram order; NULL (error set) on failure. */
static json_t *coverage_json(const dataset *ds, const run_config *cfg, double tokens)
{
    int B = cfg->train.batch, T = cfg->model.seq_len;
    long steps = (long)ceil(tokens / ((double)B * T));
    json_t *o = json_object(), *orders = json_array();
    json_object_set_new(o, "tokens", json_integer((json_int_t)steps * B * T));
    json_object_set_new(o, "steps", json_integer(steps));
    json_object_set_new(o, "seed", json_integer((json_int_t)cfg->train.seed));
    json_object_set_new(o, "orders", orders);
    for (int i = 0; i < cfg->model.engram.n_orders; i++) {
        ngram_coverage c;
        if (ngram_coverage_measure(ds->train, ds->n_train, ds->val, ds->n_val, ds->compress_map, steps, B, T,
                                   cfg->train.seed, cfg->model.engram.orders[i], &c)) {
            json_decref(o);
            return NULL;
        }
        json_t *e = json_object();
        json_object_set_new(e, "order", json_integer(c.order));
        json_object_set_new(e, "train_ngrams", json_integer((json_int_t)c.train_ngrams));
        json_object_set_new(e, "distinct", json_integer((json_int_t)c.distinct));
        json_object_set_new(e, "val_ngrams", json_integer((json_int_t)c.val_ngrams));
        json_object_set_new(e, "val_coverage", json_real(c.val_ngrams ? (double)c.val_seen / c.val_ngrams : 0));
        json_array_append_new(orders, e);
    }
    return o;
}

static void on_stage(const char *stage, void *ctx)
{
    if (*(int *)ctx)
        fprintf(stderr, "%s...\n", stage);
}

int cmd_data(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("data", argc, argv, "set out json force coverage", 1, HELP, NULL, &opt);
    if (rc >= 0)
        return rc;
    run_config cfg;
    config_defaults(&cfg);
    if (opt.n_sets) {
        /* The keys are checked as in a config file. */
        ynode *root;
        if (ytree_load_string("{}", "--set", &root))
            return cli_fail("data");
        rc = 0;
        for (int i = 0; i < opt.n_sets && rc == 0; i++)
            rc = ytree_set(root, opt.sets[i]);
        if (rc == 0)
            rc = config_from_tree(root, NULL, &cfg);
        ytree_free(root);
        if (rc)
            return cli_fail("data");
    }
    const char *corpus = opt.n_positional ? opt.positional[0] : cfg.corpus;
    const char *root = opt.out ? opt.out : cfg.data_dir;
    int verbose = !opt.json && isatty(fileno(stderr));
    dataset *ds;
    if (dataset_prepare(corpus, root, cfg.vocab, opt.force, on_stage, &verbose, &ds))
        return cli_fail("data");
    json_t *coverage = NULL;
    if (opt.coverage) {
        char *end;
        double tokens = strtod(opt.coverage, &end);
        if (end == opt.coverage || *end || !(tokens >= 1 && tokens <= 1e12)) {
            dataset_free(ds);
            return cli_error("data", EXIT_USAGE, "--coverage expects a token count in [1, 1e12], got '%s'",
                             opt.coverage);
        }
        if (!(coverage = coverage_json(ds, &cfg, tokens))) {
            dataset_free(ds);
            return cli_fail("data");
        }
    }
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "corpus", json_string(ds->name));
        json_object_set_new(o, "dir", json_string(ds->dir));
        json_object_set_new(o, "train_tokens", json_integer((json_int_t)ds->n_train));
        json_object_set_new(o, "val_tokens", json_integer((json_int_t)ds->n_val));
        json_object_set_new(o, "train_bytes", json_integer((json_int_t)ds->train_bytes));
        json_object_set_new(o, "val_bytes", json_integer((json_int_t)ds->val_bytes));
        json_object_set_new(o, "vocab", json_integer(ds->vocab));
        json_object_set_new(o, "compressed_vocab", json_integer(ds->compressed_vocab));
        json_object_set_new(o, "compression_ratio", json_real((double)ds->compressed_vocab / ds->vocab));
        json_object_set_new(o, "unigram_val_loss", json_real(ds->unigram_val_loss));
        json_object_set_new(o, "bigram_val_loss", json_real(ds->bigram_val_loss));
        json_t *sources = json_array();
        for (int i = 0; i < ds->n_sources; i++) {
            const dataset_source *so = &ds->sources[i];
            json_t *e = json_object();
            json_object_set_new(e, "name", json_string(so->name));
            json_object_set_new(e, "weight", json_real(so->weight));
            json_object_set_new(e, "train_tokens", json_integer((json_int_t)so->n_train));
            json_object_set_new(e, "val_tokens", json_integer((json_int_t)so->n_val));
            json_object_set_new(e, "train_bytes", json_integer((json_int_t)so->train_bytes));
            json_object_set_new(e, "val_bytes", json_integer((json_int_t)so->val_bytes));
            json_object_set_new(e, "unigram_val_loss", json_real(so->unigram_val_loss));
            json_object_set_new(e, "bigram_val_loss", json_real(so->bigram_val_loss));
            json_array_append_new(sources, e);
        }
        json_object_set_new(o, "sources", sources);
        if (coverage)
            json_object_set(o, "coverage", coverage);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        putchar('\n');
        json_decref(o);
    } else {
        printf("corpus            %s (cached in %s)\n", ds->name, ds->dir);
        printf("train / val       %zu / %zu tokens (%zu / %zu bytes, %.1f%% held out)\n", ds->n_train, ds->n_val,
               ds->train_bytes, ds->val_bytes, 100.0 * ds->n_val / (double)(ds->n_train + ds->n_val));
        printf("vocabulary        %d BPE tokens, %d after Engram compression (%.1f%% fewer)\n", ds->vocab,
               ds->compressed_vocab, 100.0 * (1.0 - (double)ds->compressed_vocab / ds->vocab));
        printf("val loss floors   unigram %.4f, bigram %.4f nats/token\n", ds->unigram_val_loss,
               ds->bigram_val_loss);
        if (ds->n_sources > 1) {
            printf("sources           %-12s %6s %12s %10s %8s %8s\n", "name", "weight", "train tok", "val tok",
                   "unigram", "bigram");
            for (int k = 0; k < ds->n_sources; k++) {
                const dataset_source *so = &ds->sources[k];
                printf("                  %-12s %6g %12zu %10zu %8.4f %8.4f\n", so->name, so->weight, so->n_train,
                       so->n_val, so->unigram_val_loss, so->bigram_val_loss);
            }
        }
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(coverage, "orders"), i, e)
        {
            long long distinct = (long long)json_integer_value(json_object_get(e, "distinct"));
            long long seen = (long long)json_integer_value(json_object_get(e, "train_ngrams"));
            printf("%-17s %lld-grams: %lld distinct of %lld seen in %lld training tokens; %.1f%% of validation "
                   "%lld-grams among them\n",
                   i == 0 ? "N-gram coverage" : "", (long long)json_integer_value(json_object_get(e, "order")),
                   distinct, seen, (long long)json_integer_value(json_object_get(coverage, "tokens")),
                   100 * json_real_value(json_object_get(e, "val_coverage")),
                   (long long)json_integer_value(json_object_get(e, "order")));
        }
    }
    json_decref(coverage);
    dataset_free(ds);
    return 0;
}
