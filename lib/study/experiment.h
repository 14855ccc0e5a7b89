/* Experiment files: a run config (name, corpus, data_dir, tokenizer, model,
 * train) plus a `sweep` section that says which runs make the study.
 *
 *   sweep:
 *     kind: allocation        # the paper's Figure 3 (left)
 *     budgets:                # compute budgets, each with optional model overrides
 *       - {flops: 3e14}
 *       - {flops: 1e15, model: {d_model: 192}}
 *     total_to_active: 10     # P_tot / P_act
 *     rho: [0, 0.5, 0.75, 1]  # share of P_sparse in routed experts, in [0, 1]
 *     seeds: [1, 2, 3]
 *
 *     kind: memory            # Figure 3 (right): fixed backbone and budget
 *     budget: 1e15
 *     slots: [1e5, 3e5, 1e6]
 *     memory: [engram, overencoding]   # "none" adds the backbone alone
 *     seeds: [1, 2]
 *
 *     kind: grid              # ablations: points are variants x crossed keys
 *     budget: 1e15            # optional: iso-FLOPs points; else train.steps
 *     variants:               # optional named override sets
 *       - {label: baseline}
 *       - {label: no-gate, set: {model.engram.gate: off}}
 *     grid:                   # optional: keys crossed with every variant
 *       model.engram.heads: [2, 4]
 *     seeds: [1, 2]
 *
 * An optional `slurm` section sets what `sweep --slurm` and `study --slurm`
 * pass to sbatch (every key optional; `--set slurm.time=2:00:00` works too):
 *
 *   slurm:
 *     partition: cpu          # --partition
 *     account: proj42         # --account
 *     qos: normal             # --qos
 *     time: "4:00:00"         # --time of each array task (Slurm's formats)
 *     report_time: "0:30:00"  # --time of the dependent fit/plot/report job
 *     cpus_per_task: 8        # threads per task (default: train.threads, or 2)
 *     requeue: true           # --requeue (default true): preempted tasks resume
 *     signal_seconds: 120     # SIGTERM this long before the time limit, so the
 *                             # task checkpoints (0: none; default 120)
 *     extra: ["--mem=8G", "--constraint=avx512"]   # more #SBATCH lines
 *
 * Unknown keys anywhere are errors naming file:line and the key; the run
 * config keys are checked as in a train config. Every experiment_load()
 * has its experiment_free(). */
#ifndef ES_STUDY_EXPERIMENT_H
#define ES_STUDY_EXPERIMENT_H

#include <stdint.h>

#include "config/config.h"
#include "config/ytree.h"

typedef enum { SWEEP_ALLOCATION, SWEEP_MEMORY, SWEEP_GRID } sweep_kind;

enum { SWEEP_MAX_ITEMS = 256, SWEEP_MAX_GRID_KEYS = 8 };

typedef struct {
    double flops;
    const ynode *model; /* per-budget model overrides (a map), or NULL; points into tree */
} sweep_budget;

typedef struct {
    char label[128];
    const ynode *set;   /* map of "key.path: value" overrides, or NULL; points into tree */
} sweep_variant;

typedef struct {
    char key[128];
    const ynode *values; /* a list; points into tree */
} sweep_axis;

enum { SLURM_MAX_EXTRA = 32 };

typedef struct {
    char partition[128], account[128], qos[128]; /* "" = not set */
    char time[64], report_time[64];              /* "" = the cluster's default */
    int cpus_per_task;                           /* 0 = not set */
    int requeue;                                 /* 1 by default */
    int signal_seconds;                          /* 120 by default; 0 = none */
    char extra[SLURM_MAX_EXTRA][256];            /* whole sbatch options, each starting with -- */
    int n_extra;
} slurm_options;

typedef struct {
    char path[1024];      /* the experiment file */
    ynode *tree;          /* the whole file after --set overrides, owned */
    run_config base;      /* the file without its sweep section */
    sweep_kind kind;
    sweep_budget budgets[SWEEP_MAX_ITEMS];
    int n_budgets;        /* allocation: the list; memory and grid: 0 or 1 */
    double total_to_active;
    double rho[SWEEP_MAX_ITEMS];
    int n_rho;
    uint64_t seeds[SWEEP_MAX_ITEMS];
    int n_seeds;
    long slots[SWEEP_MAX_ITEMS];
    int n_slots;
    int memories[4];      /* memory_kind values */
    int n_memories;
    sweep_variant variants[SWEEP_MAX_ITEMS];
    int n_variants;
    sweep_axis axes[SWEEP_MAX_GRID_KEYS];
    int n_axes;
    slurm_options slurm;  /* the slurm section, or its defaults */
} experiment;

/* Loads, applies the overrides ("key.path=value", e.g. sweep.rho=[0,1]) and
 * checks everything. */
int experiment_load(const char *path, const char *const *overrides, int n_overrides, experiment **out);
void experiment_free(experiment *ex);

/* The config of one point: the base file with the budget's model overrides
 * (budget index, or -1), the variant's overrides (index or -1) and one value
 * of each grid axis (values[axis] index; NULL for none) applied, validated. */
int experiment_point_config(const experiment *ex, int budget, int variant, const int *axis_values,
                            run_config *cfg, char *label, size_t label_size);

#endif
