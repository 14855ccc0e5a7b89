/* engram-scale data: prepare a corpus and report its figures. */
#include "cli.h"

#include "data/dataset.h"
#include "study/config.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HELP[] =
    "usage: engram-scale data [CORPUS] [--out DIR] [--set tokenizer.vocab=N] [--force] [--json]\n"
    "\n"
    "Prepares CORPUS (kjv, gcide, or a UTF-8 text file): a held-out validation\n"
    "split of every 20th block of 20 lines (5%), a byte-level BPE trained on the\n"
    "training split, token files, Engram's compressed-id map, and the validation\n"
    "cross-entropy of unigram and bigram count models, the floors a trained\n"
    "model must beat. Results are cached under DIR/<name>/v<vocab>/ (DIR: data).\n"
    "\n"
    "  --out DIR    cache root (default: data)\n"
    "  --set K=V    tokenizer.vocab, data_dir or corpus (as in a config file)\n"
    "  --force      rebuild the cache\n"
    "  --json       print the figures as JSON\n";

static void on_stage(const char *stage, void *ctx)
{
    if (*(int *)ctx)
        fprintf(stderr, "%s...\n", stage);
}

int cmd_data(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("data", argc, argv, "set out json force", 1, HELP, NULL, &opt);
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
    }
    dataset_free(ds);
    return 0;
}
