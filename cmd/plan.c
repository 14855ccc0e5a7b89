/* engram-scale plan: the iso-FLOPs / iso-parameter table of an experiment. */
#include "cli.h"

#include "core/parallel.h"
#include "data/dataset.h"
#include "study/experiment.h"
#include "study/planner.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>

static const char HELP[] =
    "usage: engram-scale plan EXPERIMENT.yaml [--set key.path=value ...] [--threads N] [--json]\n"
    "\n"
    "Prints every run of the experiment's sweep without training: budget, rho,\n"
    "seed, routed experts, Engram slots, P_tot, P_act, FLOPs per token, tokens,\n"
    "steps and a time estimate from timing two steps of each distinct run, then\n"
    "the largest spread of P_tot and of compute within each budget. Planning\n"
    "errors (a rho outside [0, 1], too few experts, more tokens than the corpus\n"
    "holds, a budget too small for one step) stop here, before any training.\n"
    "\n"
    "  --set K=V      override a key, e.g. --set sweep.rho=[0,0.5,1]\n"
    "  --threads N    threads for the calibration (default: all cores)\n"
    "  --no-calibrate skip the timing\n"
    "  --json         {\"runs\": [...], \"budgets\": [...], \"est_seconds\": s}\n";

static json_t *number_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

int cmd_plan(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("plan", argc, argv, "set json threads no-calibrate", 1, HELP, "an experiment file, engram-scale plan EXPERIMENT.yaml", &opt);
    if (rc >= 0)
        return rc;
    experiment *ex;
    if (experiment_load(opt.positional[0], opt.sets, opt.n_sets, &ex))
        return cli_fail("plan");
    dataset *ds;
    if (dataset_prepare(ex->base.corpus, ex->base.data_dir, ex->base.vocab, 0, NULL, NULL, &ds)) {
        experiment_free(ex);
        return cli_fail("plan");
    }
    plan *p;
    rc = plan_build(ex, ds, &p);
    if (rc == 0 && !opt.no_calibrate)
        rc = plan_calibrate(p, ds, opt.threads >= 0 ? opt.threads : ex->base.train.threads);
    if (rc) {
        dataset_free(ds);
        experiment_free(ex);
        return cli_fail("plan");
    }
    if (opt.json) {
        json_t *o = json_object(), *runs = json_array(), *budgets = json_array();
        for (int i = 0; i < p->n_runs; i++) {
            const plan_run *r = &p->runs[i];
            json_t *j = json_object();
            json_object_set_new(j, "run", json_string(r->id));
            json_object_set_new(j, "budget", json_real(r->budget));
            json_object_set_new(j, "rho", number_or_null(r->rho));
            json_object_set_new(j, "seed", json_integer((json_int_t)r->seed));
            json_object_set_new(j, "memory", json_string(config_memory_name(r->memory)));
            json_object_set_new(j, "experts", json_integer(r->experts));
            json_object_set_new(j, "slots", json_integer(r->slots));
            json_object_set_new(j, "p_tot", json_real(r->p_tot));
            json_object_set_new(j, "p_act", json_real(r->p_act));
            json_object_set_new(j, "flops_per_token", json_real(r->flops_per_token));
            json_object_set_new(j, "tokens", json_real(r->tokens));
            json_object_set_new(j, "steps", json_integer(r->steps));
            json_object_set_new(j, "flops", json_real(r->flops));
            json_object_set_new(j, "optimizer", json_string(config_optimizer_name(r->cfg.train.optimizer)));
            json_object_set_new(j, "est_seconds", json_real(r->est_seconds));
            json_object_set_new(j, "label", json_string(r->label));
            json_array_append_new(runs, j);
        }
        for (int b = 0; b < p->n_budgets; b++) {
            json_t *j = json_object();
            json_object_set_new(j, "budget", json_real(p->budgets[b].budget));
            json_object_set_new(j, "p_tot_spread", json_real(p->budgets[b].p_tot_spread));
            json_object_set_new(j, "c_spread", json_real(p->budgets[b].c_spread));
            json_array_append_new(budgets, j);
        }
        json_object_set_new(o, "experiment", json_string(p->name));
        json_object_set_new(o, "runs", runs);
        json_object_set_new(o, "budgets", budgets);
        json_object_set_new(o, "est_seconds", json_real(p->est_seconds));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        putchar('\n');
        json_decref(o);
    } else {
        printf("experiment %s: %d runs on %s (%zu training tokens)\n", p->name, p->n_runs, ds->name, ds->n_train);
        plan_print(p, stdout);
    }
    plan_free(p);
    dataset_free(ds);
    experiment_free(ex);
    return 0;
}
