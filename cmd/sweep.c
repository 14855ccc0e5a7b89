/* engram-scale sweep: every run of an experiment. */
#include "cli.h"

#include "core/fs.h"
#include "core/progress.h"
#include "data/dataset.h"
#include "study/experiment.h"
#include "study/planner.h"
#include "study/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char HELP[] =
    "usage: engram-scale sweep EXPERIMENT.yaml [--jobs N] [--shard K/N] [--out DIR] [--threads N]\n"
    "                          [--reuse DIR ...] [--set key.path=value ...] [--slurm [--submit]]\n"
    "\n"
    "Trains every run of the experiment's plan, each in DIR/<run>/ (DIR:\n"
    "runs/<name>), and appends one row per finished run to DIR/results.tsv.\n"
    "Running it again skips finished runs and resumes unfinished ones from their\n"
    "checkpoints: a kill, even kill -9, loses at most the work since the last\n"
    "checkpoint. Ctrl-C checkpoints the running trainings and stops.\n"
    "\n"
    "  --jobs N       N trainings at once, sharing the threads (default 1)\n"
    "  --shard K/N    run only the K-th of N disjoint slices of the plan (for job\n"
    "                 arrays or GNU parallel on machines sharing DIR)\n"
    "  --threads N    threads in all (default: train.threads, 0 = all cores)\n"
    "  --slurm        write DIR/slurm/array.sh (a Slurm job array, one task per\n"
    "                 run, requeue-safe) and DIR/slurm/report.sh (fit, plot and\n"
    "                 report.md once the array ends), print array.sh and exit;\n"
    "                 sbatch options come from the experiment's slurm section\n"
    "                 (partition, account, qos, time, cpus_per_task, extra, ...)\n"
    "  --submit       with --slurm: submit both with sbatch, the report job\n"
    "                 after the array (--dependency=afterany), and print the ids\n"
    "  --out DIR      the experiment's folder\n"
    "  --reuse DIR    another sweep's folder: a run finished there with the same\n"
    "                 run.yaml (same config, seed and steps) is copied, not trained\n"
    "                 again (training is bit-identical); a run of another name\n"
    "                 whose run.yaml differs only in the name (another study's id\n"
    "                 for the same model and seed) counts too, and so does one\n"
    "                 whose model has no memory and differs in its unused engram\n"
    "                 block; repeatable\n";

typedef struct {
    es_progress *bar;
    int quiet;
} sweep_view;

static void on_event(void *ctx, const sweep_event *e)
{
    sweep_view *v = ctx;
    char status[160];
    switch (e->kind) {
    case SWEEP_EVENT_SKIPPED:
        break;
    case SWEEP_EVENT_STARTED:
        if (e->resume_step > 0)
            es_progress_line(v->bar, "resuming %s from its checkpoint at step %ld", e->run->id, e->resume_step);
        snprintf(status, sizeof status, "training %s", e->run->id);
        es_progress_update(v->bar, e->done, status);
        break;
    case SWEEP_EVENT_FINISHED:
        es_progress_line(v->bar, "[%d/%d] %-28s val %.4f  %s  %.0fs", e->done, e->total, e->run->id,
                         e->row->val_loss, e->row->status, e->row->seconds);
        es_progress_update(v->bar, e->done, "");
        break;
    case SWEEP_EVENT_REUSED:
        es_progress_line(v->bar, "[%d/%d] %-28s val %.4f  %s  reused from %s", e->done, e->total, e->run->id,
                         e->row->val_loss, e->row->status, e->message);
        es_progress_update(v->bar, e->done, "");
        break;
    case SWEEP_EVENT_FAILED:
        es_progress_line(v->bar, "[%d/%d] %-28s FAILED: %s", e->done, e->total, e->run->id, e->message);
        es_progress_update(v->bar, e->done, "");
        break;
    }
}

static int parse_shard(const char *s, int *k, int *n)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/')
        return -1;
    const char *rest = end + 1;
    long b = strtol(rest, &end, 10);
    if (end == rest || *end || b < 1 || a < 1 || a > b || b > 1000000)
        return -1;
    *k = (int)a;
    *n = (int)b;
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("sweep", argc, argv, "set out jobs shard threads slurm submit reuse", 1, HELP, "an experiment file, engram-scale sweep EXPERIMENT.yaml", &opt);
    if (rc >= 0)
        return rc;
    if (opt.submit && !opt.slurm)
        return cli_error("sweep", EXIT_USAGE, "--submit goes with --slurm (sweep EXPERIMENT.yaml --slurm --submit)");
    int shard_k = 1, shard_n = 1;
    if (opt.shard && parse_shard(opt.shard, &shard_k, &shard_n))
        return cli_error("sweep", EXIT_USAGE, "--shard expects K/N with 1 <= K <= N, got '%s'", opt.shard);
    return sweep_main("sweep", opt.positional[0], &opt, shard_k, shard_n, NULL, NULL);
}

/* --slurm: the scripts, printed or submitted. */
static int slurm_main(const char *command, const experiment *ex, const plan *p, const char *out_dir,
                      const cli_options *opt, int threads)
{
    if (sweep_prepare(ex, p, out_dir))
        return cli_fail(command);
    sweep_slurm_jobs jobs;
    if (sweep_slurm_write(ex, p, out_dir, "/proc/self/exe", opt->sets, opt->n_sets, threads, &jobs))
        return cli_fail(command);
    if (!opt->submit) {
        char *text;
        size_t len;
        if (es_read_file(jobs.array_script, &text, &len))
            return cli_fail(command);
        fwrite(text, 1, len, stdout);
        free(text);
        return 0;
    }
    if (sweep_slurm_submit(&jobs))
        return cli_fail(command);
    printf("%s: submitted job array %s: %d tasks for %d runs, %d CPUs per task (%s)\n", command, jobs.array_id,
           jobs.tasks, p->n_runs, jobs.cpus_per_task, jobs.array_script);
    printf("%s: submitted report job %s: fit, plot and report.md after the array ends "
           "(--dependency=afterany:%s; %s)\n",
           command, jobs.report_id, jobs.array_id, jobs.report_script);
    printf("%s: watch with `squeue -j %s,%s`; logs in %s; results in %s/results.tsv\n", command, jobs.array_id,
           jobs.report_id, jobs.log_dir, out_dir);
    return 0;
}

int sweep_main(const char *command, const char *path, const cli_options *opt, int shard_k, int shard_n,
               char *out_dir_used, int *n_missing)
{
    if (n_missing)
        *n_missing = 0;
    experiment *ex;
    if (experiment_load(path, opt->sets, opt->n_sets, &ex))
        return cli_fail(command);
    char out_dir[4096];
    if (opt->out)
        snprintf(out_dir, sizeof out_dir, "%s", opt->out);
    else
        snprintf(out_dir, sizeof out_dir, "runs/%s", ex->base.name);
    if (out_dir_used)
        snprintf(out_dir_used, 4096, "%s", out_dir);
    dataset *ds;
    if (dataset_prepare(ex->base.corpus, ex->base.data_dir, ex->base.vocab, 0, NULL, NULL, &ds)) {
        experiment_free(ex);
        return cli_fail(command);
    }
    plan *p;
    int rc = plan_build(ex, ds, &p);
    dataset_free(ds);
    if (rc) {
        experiment_free(ex);
        return cli_fail(command);
    }
    int threads = opt->threads >= 0 ? opt->threads : ex->base.train.threads;
    if (opt->slurm) {
        rc = slurm_main(command, ex, p, out_dir, opt, threads);
        plan_free(p);
        experiment_free(ex);
        return rc;
    }
    for (int i = 0; i < opt->n_reuse; i++) {
        struct stat st;
        if (stat(opt->reuse[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            plan_free(p);
            experiment_free(ex);
            return cli_error(command, 1, "--reuse %s: no such folder", opt->reuse[i]);
        }
    }
    if (sweep_prepare(ex, p, out_dir)) {
        plan_free(p);
        experiment_free(ex);
        return cli_fail(command);
    }
    cli_install_signal_handlers();
    sweep_view view = {0};
    int in_shard = 0;
    for (int i = 0; i < p->n_runs; i++)
        in_shard += i % shard_n == shard_k - 1;
    view.bar = es_progress_new(stdout, command, in_shard, -1);
    if (opt->report_only)
        printf("%s: %d runs in %s, training none (--report-only)\n", command, p->n_runs, out_dir);
    else if (shard_n > 1)
        printf("%s: shard %d/%d, %d of %d runs, in %s\n", command, shard_k, shard_n, in_shard, p->n_runs, out_dir);
    else
        printf("%s: %d runs in %s\n", command, p->n_runs, out_dir);
    fflush(stdout);
    sweep_options so = {.out_dir = out_dir,
                        .exe = "/proc/self/exe",
                        .jobs = opt->jobs,
                        .threads = threads,
                        .shard_k = shard_k,
                        .shard_n = shard_n,
                        .on_event = on_event,
                        .ctx = &view,
                        .stop = &cli_stop_requested,
                        .reuse_dirs = opt->reuse,
                        .n_reuse = opt->n_reuse,
                        .no_training = opt->report_only};
    sweep_summary sum;
    rc = sweep_run(p, &so, &sum);
    es_progress_finish(view.bar);
    es_progress_free(view.bar);
    plan_free(p);
    experiment_free(ex);
    if (rc)
        return cli_fail(command);
    printf("%s: %d finished now, %d reused (%d diverged), %d done before, %d failed, of %d\n", command,
           sum.finished, sum.reused, sum.diverged, sum.skipped, sum.failed, sum.total);
    if (sum.interrupted)
        return cli_error(command, EXIT_INTERRUPTED, "interrupted; run the same command again to continue");
    if (opt->report_only) {
        if (sum.failed)
            cli_error(command, 1,
                      "%d of %d runs have no result (failed, cancelled or unfinished tasks; see their train.log and "
                      "the slurm/ logs); the report covers the other %d",
                      sum.failed, sum.total, sum.total - sum.failed);
        if (n_missing)
            *n_missing = sum.failed;
        return 0;
    }
    if (sum.failed)
        return cli_error(command, 1, "%d run(s) failed; see their train.log", sum.failed);
    return 0;
}
