/* The iso-FLOPs / iso-parameter planner. */
#include "study/planner.h"

#include "core/error.h"
#include "core/mem.h"
#include "core/parallel.h"
#include "model/model.h"
#include "train/bench.h"
#include "train/checkpoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "1e15", "3.2e14": a compact budget for run ids. */
static void format_compact(double x, char *buf, size_t size)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.3g", x);
    size_t j = 0;
    for (size_t i = 0; tmp[i] && j + 1 < size; i++)
        if (tmp[i] != '+')
            buf[j++] = tmp[i];
    buf[j] = '\0';
}

/* Room for `more` runs beyond n_runs. */
static int grow(plan *p, int *cap, int more)
{
    if (p->n_runs + more <= *cap)
        return ES_OK;
    int bigger = *cap ? 2 * *cap : 64;
    while (bigger < p->n_runs + more)
        bigger *= 2;
    plan_run *runs = realloc(p->runs, sizeof *runs * (size_t)bigger);
    if (!runs)
        return es_error(ES_ENOMEM, "cannot grow the plan to %d runs", bigger);
    p->runs = runs;
    *cap = bigger;
    return ES_OK;
}

/* Fills the counts, steps and tokens of a run whose cfg is set. */
static int size_run(plan_run *r, const dataset *ds, double budget)
{
    run_config *c = &r->cfg;
    double p_tot, p_act;
    long rows;
    int rc = model_count(&c->model, ds->vocab, &p_tot, &p_act, &rows);
    if (rc)
        return rc;
    r->p_tot = p_tot;
    r->p_act = p_act;
    r->slots = c->model.memory != MEMORY_NONE ? rows : 0;
    r->memory = c->model.memory;
    r->experts = c->model.moe.experts;
    r->branches = c->model.branches;
    r->flops_per_token = model_flops_per_token(&c->model, ds->vocab);
    double per_step = (double)c->train.batch * c->model.seq_len;
    if (budget > 0) {
        double steps = budget / (r->flops_per_token * per_step);
        if (steps < 0.5)
            return es_error(ES_EINVAL,
                            "run %s: the budget of %.3g FLOPs is too small for one step (a step of %d x %d tokens "
                            "costs %.3g FLOPs)",
                            r->id, budget, c->train.batch, c->model.seq_len, r->flops_per_token * per_step);
        r->steps = (long)llround(steps);
        c->train.steps = r->steps;
        c->train.tokens = 0;
    } else {
        r->steps = config_total_steps(c);
    }
    r->tokens = (double)r->steps * per_step;
    r->flops = r->tokens * r->flops_per_token;
    double windows = ds->n_train > 0 ? (double)((ds->n_train - 1) / (size_t)c->model.seq_len) : 0;
    double needed = (double)r->steps * c->train.batch;
    if (needed > c->train.epochs * windows + 1e-9)
        return es_error(ES_EINVAL,
                        "run %s needs %.4g tokens, %.2f passes over the %zu training tokens of %s, and train.epochs "
                        "is %g: use a larger corpus (gcide), a smaller budget, or raise train.epochs",
                        r->id, r->tokens, needed / windows, ds->n_train, ds->name, c->train.epochs);
    snprintf(c->name, sizeof c->name, "%s", r->id);
    return ES_OK;
}

static void add_seeds(plan *p, const experiment *ex, const plan_run *proto, int first)
{
    (void)first;
    for (int s = 0; s < ex->n_seeds; s++) {
        plan_run *r = &p->runs[p->n_runs++];
        *r = *proto;
        r->seed = ex->seeds[s];
        r->cfg.train.seed = r->seed;
        snprintf(r->id, sizeof r->id, "%.70s-s%llu", proto->id, (unsigned long long)r->seed);
        snprintf(r->cfg.name, sizeof r->cfg.name, "%s", r->id);
    }
}

/* Sizes a point's run and adds it once per seed. */
static int add_point(plan *p, const experiment *ex, const dataset *ds, plan_run *proto, double budget, int *cap)
{
    int rc = size_run(proto, ds, budget);
    if (rc == ES_OK)
        rc = grow(p, cap, ex->n_seeds);
    if (rc == ES_OK)
        add_seeds(p, ex, proto, p->n_runs);
    return rc;
}

/* P_act of the pure-MoE model with E experts. */
static int active_with(model_config m, int experts, int vocab, double *p_act, double *p_tot)
{
    m.moe.experts = experts;
    m.memory = MEMORY_NONE;
    return model_count(&m, vocab, p_tot, p_act, NULL);
}

static int plan_allocation(plan *p, const experiment *ex, const dataset *ds, int *cap)
{
    for (int b = 0; b < ex->n_budgets; b++) {
        double C = ex->budgets[b].flops;
        run_config base;
        char label[8];
        int rc = experiment_point_config(ex, b, -1, NULL, &base, label, 0);
        if (rc)
            return es_error_wrap(rc, "budget %.3g", C);
        model_config *m = &base.model;
        int k = m->moe.top_k;
        double L = m->n_layers, P_expert = 3.0 * m->d_model * m->moe.expert_hidden * L;
        double ratio = ex->total_to_active, p_act = 0;
        /* E_max is a fixed point: the router grows with E, and so P_act */
        int e_max = k;
        for (int iter = 0; iter < 20; iter++) {
            if ((rc = active_with(*m, e_max, ds->vocab, &p_act, NULL)))
                return rc;
            int next = k + (int)llround((ratio - 1.0) * p_act / P_expert);
            if (next == e_max)
                break;
            e_max = next;
        }
        if (e_max <= k || e_max > 4096)
            return es_error(ES_EINVAL,
                            "budget %.3g: sweep.total_to_active = %g gives %d routed experts for top-%d routing "
                            "(P_act %.4g, one expert %.4g): %s",
                            C, ratio, e_max, k, p_act, P_expert,
                            e_max <= k ? "no inactive expert is left to reallocate" : "more than 4096 experts");
        /* the pure-MoE model sets P_tot exactly; the ratio only chose its
         * size, so every allocation matches a real model's P_tot */
        double target;
        if ((rc = active_with(*m, e_max, ds->vocab, &p_act, &target)))
            return rc;
        double sparse = target - p_act;
        plan_budget *pb = &p->budgets[p->n_budgets++];
        pb->budget = C;
        pb->p_tot_target = target;
        pb->e_max = e_max;
        /* the Engram module's dense weights, which its share must also pay for */
        model_config probe = *m;
        probe.moe.experts = k;
        probe.memory = MEMORY_ENGRAM;
        long min_slots = 2L * probe.engram.n_layers * probe.engram.n_orders * probe.engram.heads;
        probe.engram.slots = min_slots * 100;
        double with_t, without_t;
        long rows;
        if ((rc = model_count(&probe, ds->vocab, &with_t, NULL, &rows)) ||
            (rc = active_with(*m, k, ds->vocab, NULL, &without_t)))
            return rc;
        double module = with_t - without_t - (double)rows * probe.engram.head_dim;

        for (int r = 0; r < ex->n_rho; r++) {
            double rho = ex->rho[r];
            int experts = k + (int)llround(rho * sparse / P_expert);
            if (experts < k)
                return es_error(ES_EINVAL, "budget %.3g, rho %g: %d routed experts, fewer than top_k = %d", C, rho,
                                experts, k);
            plan_run proto;
            memset(&proto, 0, sizeof proto);
            proto.cfg = base;
            proto.cfg.model.moe.experts = experts;
            proto.cfg.model.memory = MEMORY_NONE;
            double moe_total;
            if ((rc = active_with(proto.cfg.model, experts, ds->vocab, NULL, &moe_total)))
                return rc;
            double left = target - moe_total - module;
            long slots = left > 0 ? (long)floor(left / m->engram.head_dim) : 0;
            if (rho < 1.0 && slots >= min_slots) { /* rho = 1 is pure MoE by definition */
                proto.cfg.model.memory = MEMORY_ENGRAM;
                proto.cfg.model.engram.slots = slots;
            }
            char cbuf[32];
            format_compact(C, cbuf, sizeof cbuf);
            snprintf(proto.id, sizeof proto.id, "C%s-rho%.4f", cbuf, rho);
            proto.budget_index = b;
            proto.budget = C;
            proto.rho = rho;
            if ((rc = add_point(p, ex, ds, &proto, C, cap)))
                return rc;
        }
    }
    return ES_OK;
}

static int plan_memory(plan *p, const experiment *ex, const dataset *ds, int *cap)
{
    if (ex->n_budgets != 1)
        return es_error(ES_EINVAL, "%s: a memory sweep needs sweep.budget (the training FLOPs of every run)",
                        ex->path);
    double C = ex->budgets[0].flops;
    run_config base;
    char label[8];
    int rc = experiment_point_config(ex, -1, -1, NULL, &base, label, 0);
    if (rc)
        return rc;
    p->budgets[0].budget = C;
    p->n_budgets = 1;
    for (int mi = 0; mi < ex->n_memories; mi++) {
        int mem = ex->memories[mi];
        int n_slots = mem == MEMORY_NONE ? 1 : ex->n_slots;
        for (int si = 0; si < n_slots; si++) {
            plan_run proto;
            memset(&proto, 0, sizeof proto);
            proto.cfg = base;
            proto.cfg.model.memory = mem;
            char sbuf[32] = "";
            if (mem != MEMORY_NONE) {
                proto.cfg.model.engram.slots = ex->slots[si];
                if ((rc = config_validate(&proto.cfg)))
                    return es_error_wrap(rc, "slots %ld", ex->slots[si]);
                format_compact((double)ex->slots[si], sbuf, sizeof sbuf);
                snprintf(proto.id, sizeof proto.id, "%s-M%s", config_memory_name(mem), sbuf);
            } else {
                snprintf(proto.id, sizeof proto.id, "none");
            }
            proto.budget_index = 0;
            proto.budget = C;
            proto.rho = NAN;
            if ((rc = add_point(p, ex, ds, &proto, C, cap)))
                return rc;
        }
    }
    return ES_OK;
}

static int plan_grid(plan *p, const experiment *ex, const dataset *ds, int *cap)
{
    double C = ex->n_budgets == 1 ? ex->budgets[0].flops : 0;
    if (C > 0) {
        p->budgets[0].budget = C;
        p->n_budgets = 1;
    }
    int n_variants = ex->n_variants > 0 ? ex->n_variants : 1;
    long points = 1;
    for (int a = 0; a < ex->n_axes; a++)
        points *= (long)ex->axes[a].values->n_items;
    if (points * n_variants * ex->n_seeds > 100000)
        return es_error(ES_EINVAL, "%s: the grid has %ld points; at most 100000 runs", ex->path,
                        points * n_variants * ex->n_seeds);
    int index = 0;
    for (int v = 0; v < n_variants; v++)
        for (long pt = 0; pt < points; pt++) {
            int axis_values[SWEEP_MAX_GRID_KEYS];
            long rest = pt;
            for (int a = ex->n_axes - 1; a >= 0; a--) {
                axis_values[a] = (int)(rest % (long)ex->axes[a].values->n_items);
                rest /= (long)ex->axes[a].values->n_items;
            }
            plan_run proto;
            memset(&proto, 0, sizeof proto);
            int rc = experiment_point_config(ex, -1, ex->n_variants > 0 ? v : -1, axis_values, &proto.cfg,
                                             proto.label, sizeof proto.label);
            if (rc)
                return es_error_wrap(rc, "grid point %d", index);
            snprintf(proto.id, sizeof proto.id, "p%02d", index++);
            proto.budget_index = C > 0 ? 0 : -1;
            proto.budget = C;
            proto.rho = NAN;
            if ((rc = add_point(p, ex, ds, &proto, C, cap)))
                return rc;
        }
    return ES_OK;
}

int plan_build(const experiment *ex, const dataset *ds, plan **out)
{
    *out = NULL;
    plan *p = es_calloc(1, sizeof *p);
    if (!p)
        return ES_ENOMEM;
    p->kind = ex->kind;
    snprintf(p->name, sizeof p->name, "%s", ex->base.name);
    int cap = 0;
    int rc = ex->kind == SWEEP_ALLOCATION ? plan_allocation(p, ex, ds, &cap)
             : ex->kind == SWEEP_MEMORY   ? plan_memory(p, ex, ds, &cap)
                                          : plan_grid(p, ex, ds, &cap);
    if (rc) {
        plan_free(p);
        return rc;
    }
    /* spreads within each budget */
    for (int b = 0; b < p->n_budgets; b++) {
        plan_budget *pb = &p->budgets[b];
        double sum = 0;
        int n = 0;
        for (int i = 0; i < p->n_runs; i++)
            if (p->runs[i].budget_index == b) {
                sum += p->runs[i].p_tot;
                n++;
            }
        double mean = n ? sum / n : 0;
        for (int i = 0; i < p->n_runs; i++) {
            const plan_run *r = &p->runs[i];
            if (r->budget_index != b)
                continue;
            pb->p_tot_spread = fmax(pb->p_tot_spread, fabs(r->p_tot / mean - 1.0));
            pb->c_spread = fmax(pb->c_spread, fabs(r->flops / pb->budget - 1.0));
        }
    }
    *out = p;
    return ES_OK;
}

void plan_free(plan *p)
{
    if (!p)
        return;
    free(p->runs);
    free(p);
}

/* Two runs that differ only in their seed cost the same. */
static int same_but_seed(const plan_run *a, const plan_run *b)
{
    run_config x = a->cfg, y = b->cfg;
    x.train.seed = y.train.seed = 0;
    memset(x.name, 0, sizeof x.name);
    memset(y.name, 0, sizeof y.name);
    return memcmp(&x, &y, sizeof x) == 0;
}

int plan_calibrate(plan *p, const dataset *ds, int threads)
{
    es_threads_set(threads);
    p->est_seconds = 0;
    for (int i = 0; i < p->n_runs; i++) {
        plan_run *r = &p->runs[i];
        int j;
        for (j = 0; j < i; j++)
            if (same_but_seed(&p->runs[j], r))
                break;
        if (j < i) {
            r->est_seconds = p->runs[j].est_seconds;
        } else {
            bench_result b;
            int rc = bench_run(&r->cfg, ds, 1, 2, &b);
            if (rc)
                return es_error_wrap(rc, "calibrating run %s", r->id);
            const train_config *t = &r->cfg.train;
            double per_batch = (double)t->batch * r->cfg.model.seq_len;
            double val_batches = floor((double)((ds->n_val - 1) / (size_t)r->cfg.model.seq_len) / t->batch);
            if (t->eval_tokens > 0)
                val_batches = fmin(val_batches, ceil(t->eval_tokens / per_batch));
            double evals = ceil((double)r->steps / (double)t->eval_every);
            /* an eval batch is a forward pass: about a third of a step */
            r->est_seconds = b.step_seconds * ((double)r->steps + evals * val_batches / 3.0);
        }
        p->est_seconds += r->est_seconds;
    }
    return ES_OK;
}

int plan_write_tsv(const plan *p, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return es_error(ES_ENOMEM, "cannot format %s", path);
    fprintf(f, "run\tbudget\trho\tseed\tmemory\tbranches\texperts\tslots\tp_tot\tp_act\tflops_per_token\ttokens\tsteps\tflops\t"
               "optimizer\test_seconds\tlabel\n");
    for (int i = 0; i < p->n_runs; i++) {
        const plan_run *r = &p->runs[i];
        fprintf(f, "%s\t%.10g\t%.10g\t%llu\t%s\t%d\t%d\t%ld\t%.10g\t%.10g\t%.10g\t%.10g\t%ld\t%.10g\t%s\t%.1f\t%s\n",
                r->id, r->budget, r->rho, (unsigned long long)r->seed, config_memory_name(r->memory), r->branches,
                r->experts, r->slots, r->p_tot, r->p_act, r->flops_per_token, r->tokens, r->steps, r->flops,
                config_optimizer_name(r->cfg.train.optimizer), r->est_seconds,
                r->label[0] ? r->label : "-");
    }
    fclose(f);
    int rc = file_write_atomic(path, text, len);
    free(text);
    return rc;
}

void plan_print(const plan *p, FILE *out)
{
    fprintf(out, "%-26s %9s %6s %-12s %2s %5s %9s %10s %10s %9s %10s %7s %-6s %8s\n", "run", "budget", "rho", "memory",
            "M", "E", "slots", "P_tot", "P_act", "FLOPs/tok", "tokens", "steps", "optim", "est");
    for (int i = 0; i < p->n_runs; i++) {
        const plan_run *r = &p->runs[i];
        char rho[16] = "-", est[32] = "-";
        if (!isnan(r->rho))
            snprintf(rho, sizeof rho, "%.4g", r->rho);
        if (r->est_seconds > 0)
            snprintf(est, sizeof est, "%.0fs", r->est_seconds);
        fprintf(out, "%-26s %9.3g %6s %-12s %2d %5d %9ld %10.4g %10.4g %9.4g %10.4g %7ld %-6s %8s%s%s\n", r->id,
                r->budget, rho, config_memory_name(r->memory), r->branches, r->experts, r->slots, r->p_tot, r->p_act,
                r->flops_per_token, r->tokens, r->steps, config_optimizer_name(r->cfg.train.optimizer), est,
                r->label[0] ? "  " : "", r->label);
    }
    for (int b = 0; b < p->n_budgets; b++) {
        const plan_budget *pb = &p->budgets[b];
        if (p->kind == SWEEP_ALLOCATION) /* iso-parameter holds within a budget */
            fprintf(out, "budget %.3g FLOPs: P_tot spread %.3f%%, compute spread %.3f%%", pb->budget,
                    100 * pb->p_tot_spread, 100 * pb->c_spread);
        else
            fprintf(out, "budget %.3g FLOPs: compute spread %.3f%%", pb->budget, 100 * pb->c_spread);
        if (pb->e_max > 0)
            fprintf(out, " (pure MoE: %d experts, P_tot %.4g)", pb->e_max, pb->p_tot_target);
        fputc('\n', out);
    }
    if (p->est_seconds > 0) {
        double s = p->est_seconds;
        fprintf(out, "estimated time: %.0f s (%dh%02dm) for %d runs, one at a time\n", s, (int)(s / 3600),
                (int)(s / 60) % 60, p->n_runs);
    }
}
