/* Fuzzes the YAML readers users feed: a run config (config_load, as
 * `train CONFIG.yaml`) and an experiment file (experiment_load, as
 * `plan`/`sweep`/`study EXPERIMENT.yaml`: the sweep and slurm sections). A
 * bad input must give an error code with a message, never a crash, a hang
 * or undefined behaviour. */
#include "fuzz_input.h"

#include "config/config.h"
#include "core/error.h"
#include "study/experiment.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("input.yaml", data, size);
    if (!path)
        return 0;
    run_config cfg;
    if (config_load(path, NULL, 0, &cfg) != ES_OK && !es_error_message()[0])
        abort(); /* an error without a message */
    experiment *ex = NULL;
    if (experiment_load(path, NULL, 0, &ex) == ES_OK) {
        /* every point of a valid experiment must resolve or fail cleanly */
        int budget = ex->n_budgets > 0 ? 0 : -1, variant = ex->n_variants > 0 ? 0 : -1;
        int axes[SWEEP_MAX_GRID_KEYS] = {0};
        char label[256];
        run_config point;
        experiment_point_config(ex, budget, variant, ex->n_axes ? axes : NULL, &point, label, sizeof label);
        experiment_free(ex);
    } else if (!es_error_message()[0]) {
        abort();
    }
    es_error_clear();
    unlink(path);
    return 0;
}
