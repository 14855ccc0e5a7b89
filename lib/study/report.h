/* report.md: the last step of `study` (sweep -> fit -> plot -> report).
 *
 * report_write() reads, from RUN_DIR (the sweep's folder, study/sweep.h):
 *   plan.tsv      the runs planned (missing: the report says the planned
 *                 runs are unknown and missing runs cannot be counted)
 *   results.tsv   the runs finished (required: a missing file is ES_EIO
 *                 naming it; a malformed one results_read's ES_EDATA)
 *   fit.json      the fits of lib/fit (missing: the report says "no fit";
 *                 malformed: ES_EDATA naming it)
 *   figures/NAME.png  the figures of lib/plot, linked with relative paths
 * and the experiment file experiment_path, or RUN_DIR/experiment.yaml when
 * experiment_path is NULL (for the name, corpus, total_to_active, the model;
 * an explicit path that does not load is an error, RUN_DIR's own copy is
 * only noted). The corpus's token counts come from the dataset cache's
 * meta.json (<data_dir>/<corpus name>/v<vocab>/) when it is there.
 *
 * It writes RUN_DIR/report.md atomically (a temporary file, fsynced, then
 * renamed), in Markdown for a researcher who pastes its numbers into a
 * paper: provenance (command_line, commit or "unknown", UTC date, machine),
 * the setup and the count of finished / diverged / missing runs against
 * the plan, then per study kind:
 *   allocation  per budget a table of rho, E, slots, P_tot, P_act, tokens,
 *               final val loss mean +- sd over seeds (n); the two-lines
 *               test (breakpoint, both slopes with SE, t, p; the verdict);
 *               for a U rho* +- SE and 95% interval, L*, the gain L(1) - L*;
 *               otherwise the best measured rho, the rho not significantly
 *               worse and L(1) - L(best); the curves as descriptions (AICc
 *               of U and monotone models); warnings verbatim; a reading
 *               that follows from the test. With 2+ budgets a table across
 *               budgets and the stability of rho* (a difference with an
 *               interval where 2+ budgets show a U)
 *   memory      per memory type the slots table and the power law (alpha
 *               with SE and interval, the log-linear slope); Engram minus
 *               OverEncoding at the largest slot count both have
 *   grid        labels sorted by mean loss with the delta to the reference
 *               and its SE
 * then the figures, the diverged runs (id, the step they stopped at, the
 * planned steps; excluded from every mean and fit) and every run's row.
 * Numbers: losses %.4f, rho %.3f, parameters and tokens in engineering
 * notation (1.68M), FLOPs as 2.0e12. Means and sds are over status-ok rows
 * with a finite val_loss (sd with n - 1; none for one run), as in lib/fit.
 *
 * command_line: the command that produced the run folder (quoted
 * verbatim); commit may be NULL. Never prints. */
#ifndef ES_STUDY_REPORT_H
#define ES_STUDY_REPORT_H

int report_write(const char *run_dir, const char *experiment_path_or_null, const char *command_line,
                 const char *commit_or_null);

#endif
