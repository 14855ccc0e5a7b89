/* Fuzzes `--set key.path=value` parsing: the input is up to 8 overrides,
 * one per line, applied to a small valid experiment file as the command
 * line does (experiment_load with overrides), then to a run config
 * (config_load). Errors are fine; crashes, hangs and UB are not. */
#include "fuzz_input.h"

#include "config/config.h"
#include "core/error.h"
#include "study/experiment.h"

#include <string.h>

static const char BASE[] = "name: fuzz\n"
                           "corpus: kjv\n"
                           "tokenizer:\n  vocab: 512\n"
                           "model:\n  d_model: 32\n  layers: 2\n  heads: 2\n  seq_len: 32\n"
                           "  moe:\n    top_k: 1\n    shared: 1\n    expert_hidden: 32\n"
                           "  engram:\n    head_dim: 8\n    heads: 2\n"
                           "train:\n  batch: 8\n  steps: 10\n"
                           "sweep:\n  kind: allocation\n  budgets:\n    - flops: 2e10\n"
                           "  total_to_active: 4\n  rho: [0, 0.5, 1]\n  seeds: [1, 2]\n"
                           "slurm:\n  time: \"1:00:00\"\n";

enum { MAX_SETS = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *base_path;
    static char base_copy[512];
    if (!base_path) {
        const char *p = fuzz_write_file("base.yaml", (const uint8_t *)BASE, sizeof BASE - 1);
        if (!p)
            return 0;
        snprintf(base_copy, sizeof base_copy, "%s", p);
        base_path = base_copy;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *sets[MAX_SETS];
    int n = 0;
    for (char *line = text; line && n < MAX_SETS;) {
        char *nl = memchr(line, '\n', strlen(line));
        if (nl)
            *nl = '\0';
        sets[n++] = line;
        line = nl ? nl + 1 : NULL;
    }
    experiment *ex = NULL;
    if (experiment_load(base_path, sets, n, &ex) == ES_OK)
        experiment_free(ex);
    else if (!es_error_message()[0])
        abort();
    run_config cfg;
    if (config_load(base_path, sets, n, &cfg) != ES_OK && !es_error_message()[0])
        abort();
    es_error_clear();
    free(text);
    return 0;
}
