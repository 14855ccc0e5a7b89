/* The iso-FLOPs / iso-parameter planner (DESIGN §3).
 *
 * Allocation studies: for each budget the backbone (d_model, layers,
 * heads, shared experts, top-k, expert width) is fixed by the config.
 * E_max, the pure-MoE expert count, solves
 *   (E_max - k) * P_expert = (total_to_active - 1) * P_act(E_max)
 * (P_expert = 3 C F_e L, one routed expert in every layer; P_act counts the
 * router, so it grows a little with E); the pure-MoE model with E_max
 * experts then sets P_tot exactly, and P_sparse = P_tot - P_act(E_max).
 * For each rho, E(rho) = k + round(rho * P_sparse / P_expert) and what is
 * left of P_tot, less the Engram module's dense weights, becomes table rows
 * (slots = left / head_dim, split over the heads as distinct primes). Each
 * run trains for tokens = C / flops_per_token(run), its own accounting, so
 * compute is held to a step's rounding and parameters to the primes'.
 *
 * Memory studies: the base backbone and budget, every slot count crossed
 * with every memory type. Grid studies: every variant x grid point, at the
 * budget if one is given, else at the config's own steps.
 * Every plan_build() has its plan_free(). */
#ifndef ES_STUDY_PLANNER_H
#define ES_STUDY_PLANNER_H

#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"
#include "study/experiment.h"

typedef struct {
    char id[96];           /* run id: its folder name */
    int budget_index;      /* -1 for grid studies without a budget */
    double budget;         /* C, FLOPs (0 without a budget) */
    double rho;            /* NAN outside allocation studies */
    int memory;            /* memory_kind */
    long slots;            /* table rows actually allocated (sum of primes) */
    uint64_t seed;
    int experts;
    int branches;          /* model.branches (mHC residual branches; 1 = one stream) */
    double p_tot, p_act;
    double flops_per_token;
    double tokens;         /* steps * batch * seq_len */
    long steps;
    double flops;          /* tokens * flops_per_token */
    char label[256];       /* grid point, "" otherwise */
    double est_seconds;    /* from plan_calibrate; 0 if not calibrated */
    run_config cfg;        /* the run's complete config */
} plan_run;

typedef struct {
    double budget;
    double p_tot_spread;   /* max |P_tot / mean - 1| over the budget's runs */
    double c_spread;       /* max |C_run / C - 1| */
    double p_tot_target;
    int e_max;
} plan_budget;

typedef struct {
    sweep_kind kind;
    char name[128];
    plan_run *runs;
    int n_runs;
    plan_budget budgets[SWEEP_MAX_ITEMS];
    int n_budgets;
    double est_seconds;    /* sum over runs */
} plan;

/* Builds the plan. Planning errors (no run starts): a rho leaving fewer
 * than k routed experts or a ratio that leaves no sparse parameters, more
 * tokens than the training split holds times train.epochs, a budget too
 * small for one step. Each names the budget, rho and the numbers. */
int plan_build(const experiment *ex, const dataset *ds, plan **out);
void plan_free(plan *p);

/* Times a few training steps of every distinct run config (seeds share)
 * and fills est_seconds, evals included. */
int plan_calibrate(plan *p, const dataset *ds, int threads);

/* plan.tsv: one row per run with the plan columns. */
int plan_write_tsv(const plan *p, const char *path);
void plan_print(const plan *p, FILE *out);

#endif
