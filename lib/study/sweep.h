/* Running a plan: every run in its own folder under the experiment's
 * folder, as a child process (`engram-scale train run.yaml --resume`), up
 * to `jobs` at a time, each with threads / jobs threads; finished runs are
 * appended to results.tsv. Running the same sweep again skips finished runs
 * and resumes unfinished ones from their checkpoints; a run whose result
 * was written but not yet appended (a kill in between) is appended then.
 * Children die with the sweep (even on kill -9), so nothing trains on
 * unsupervised. --shard K/N takes runs K-1, K-1+N, K-1+2N, ... of the plan.
 *
 * Folder layout (out_dir = runs/<experiment> by default):
 *   experiment.yaml  the experiment as run (after --set)
 *   plan.tsv         the plan
 *   results.tsv      one row per finished run (study/results.h)
 *   <run>/run.yaml   the run's config; <run>/train.log its output;
 *   <run>/log.tsv, checkpoint.bin, result.json  (train/trainer.h)
 *   <run>/reused_from  the folder the run was copied from, if it was (the
 *                  same id, or another name with the same run.yaml but
 *                  for the name line and, with no memory, the unused
 *                  engram block)
 *   slurm/array.sh, report.sh  the Slurm jobs (sweep_slurm_write), and their
 *                  logs array-<job>_<task>.log, report-<job>.log */
#ifndef ES_STUDY_SWEEP_H
#define ES_STUDY_SWEEP_H

#include <signal.h>

#include "study/experiment.h"
#include "study/planner.h"
#include "study/results.h"
#include "train/trainer.h"

typedef enum {
    SWEEP_EVENT_SKIPPED,
    SWEEP_EVENT_STARTED,
    SWEEP_EVENT_FINISHED,
    SWEEP_EVENT_REUSED,
    SWEEP_EVENT_FAILED
} sweep_event_kind;

typedef struct {
    sweep_event_kind kind;
    const plan_run *run;
    int done, total;            /* runs of this shard settled so far, and in all */
    const result_row *row;      /* FINISHED, REUSED and SKIPPED (when a row exists) */
    const char *message;        /* FAILED: why; REUSED: the reuse folder it came from */
    long resume_step;           /* STARTED: the step its checkpoint resumes from (0: a fresh start) */
} sweep_event;

typedef struct {
    const char *out_dir;
    const char *exe;            /* the engram-scale binary the children run */
    int jobs;                   /* trainings at once (>= 1) */
    int threads;                /* threads in all (0 = all cores), divided among the jobs */
    int shard_k, shard_n;       /* this process runs shard K of N (1 of 1: all) */
    void (*on_event)(void *ctx, const sweep_event *e);
    void *ctx;
    volatile sig_atomic_t *stop; /* set by a signal: children checkpoint, the sweep returns */
    const char *const *reuse_dirs; /* other sweeps' folders whose identical runs are copied, not trained */
    int n_reuse;
    int no_training;            /* record what is finished, train nothing: every run without a
                                   result is FAILED ("no result") with its train.log's last line */
} sweep_options;

typedef struct {
    int total, skipped, finished, reused, diverged, failed;
    int interrupted;
} sweep_summary;

/* Creates out_dir and writes experiment.yaml and plan.tsv. If out_dir
 * holds another experiment's plan, ES_ESTATE: results are never mixed. */
int sweep_prepare(const experiment *ex, const plan *p, const char *out_dir);

int sweep_run(const plan *p, const sweep_options *opt, sweep_summary *summary);

/* The results row of a run of the plan with its training result. */
void sweep_result_row(const plan *p, const plan_run *r, const train_result *res, result_row *row);

/* Slurm. The array has one task per run (at most SWEEP_SLURM_MAX_TASKS,
 * Slurm's default MaxArraySize; beyond that a task runs a shard of several
 * runs); task I runs `sweep EXP --shard I/TASKS --threads CPUS` with the
 * same --set overrides, exec'd so that Slurm's SIGTERM (scancel, requeue,
 * preemption, `slurm.signal_seconds` before the time limit) reaches the
 * sweep, whose trainings checkpoint and stop; a requeued task resumes them.
 * The report job runs `study EXP --report-only` (fit, plot, report.md; no
 * training). Both scripts take partition, account, qos, time and extra
 * #SBATCH lines from the experiment's slurm section. */
enum { SWEEP_SLURM_MAX_TASKS = 1000 };

typedef struct {
    char array_script[4200], report_script[4200]; /* out_dir/slurm/array.sh, report.sh (absolute) */
    char log_dir[4200];                           /* out_dir/slurm: the tasks' and report's logs */
    int tasks, cpus_per_task;
    char array_id[64], report_id[64];             /* set by sweep_slurm_submit */
} sweep_slurm_jobs;

/* Creates out_dir/slurm (sbatch opens the jobs' --output files there before
 * they run) and writes array.sh and report.sh into it. */
int sweep_slurm_write(const experiment *ex, const plan *p, const char *out_dir, const char *exe,
                      const char *const *sets, int n_sets, int threads, sweep_slurm_jobs *jobs);

/* Submits array.sh, then report.sh with --dependency=afterany:<array id>,
 * through `sbatch --parsable` (from PATH); sets both job ids. Errors carry
 * sbatch's message. */
int sweep_slurm_submit(sweep_slurm_jobs *jobs);

#endif
