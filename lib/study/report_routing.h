/* The routing section of report.md: how evenly each MoE run spread its
 * tokens over its routed experts, read from the run's log.tsv
 * (train/trainer.h: experts_eff_min, experts_eff_mean, load_max_mean and
 * bias_changed per eval; the statistics of each row cover the steps since
 * the previous row).
 *
 * "The second half of training" is the log rows whose step is above half of
 * the last row's step; each figure below is the mean of its column over
 * those rows:
 *   experts_eff       worst layer's effective number of experts
 *                     (exp of the entropy of the routed load shares), 1..E
 *   experts_eff_mean  the same, mean over layers
 *   load_max_mean     worst layer's max/mean expert load
 *   bias_changed      share of top-k picks the balancing bias changed
 * A run's routing "stayed collapsed" when experts_eff < E / 2.
 *
 * E comes from the run's resolved config: <run dir>/run.yaml, else
 * <run dir>/config.yaml (config/config.h). A dense run (E = 0) and a log
 * written before these columns existed are listed with "-" and a note,
 * not an error. */
#ifndef ES_STUDY_REPORT_ROUTING_H
#define ES_STUDY_REPORT_ROUTING_H

#include <stdio.h>

typedef struct {
    int experts;             /* E routed experts (0: dense) */
    int rows;                /* log rows in the second half with routing figures */
    long last_step;          /* step of the last log row */
    double experts_eff;      /* means over the second half; NAN if no rows */
    double experts_eff_mean;
    double load_max_mean;
    double bias_changed;
    int collapsed;           /* experts_eff < experts / 2 */
} routing_summary;

/* Summarises log_path (a log.tsv) for a model with `experts` routed
 * experts. A missing file is ES_EIO naming it; a header without step or a
 * row whose number does not parse is ES_EDATA naming file:line and column;
 * a header without the routing columns gives rows = 0 (figures NAN). */
int routing_summarize(const char *log_path, int experts, routing_summary *out);

/* E of the run in run_dir (run.yaml, else config.yaml). ES_EIO if neither
 * exists, the config's error if it does not load. */
int routing_run_experts(const char *run_dir, int *experts);

/* Writes the section ("## Routing", a sentence on what is measured, a
 * Markdown table with one row per run: label, E, effective experts (worst
 * layer and layer mean), load max/mean, share of picks the bias changed;
 * then one warning line naming the runs whose routing stayed collapsed)
 * for the n runs run_dirs[i] labelled labels[i] (labels may be NULL: the
 * folder's last component). Runs without a log.tsv are listed as "no
 * log". Dense runs are left out; if no run has routed experts the section
 * says so in one line. Returns the first read error; writes nothing then. */
int routing_section_write(FILE *out, const char *const *run_dirs, const char *const *labels, int n);

#endif
