/* Figures of a sweep with gnuplot.
 *
 * plot_run_dir() reads RUN_DIR/results.tsv (lib/study/results.h), each
 * run's RUN_DIR/<run>/log.tsv and, if present, RUN_DIR/fit.json (lib/fit),
 * and renders every figure the data supports into RUN_DIR/figures/:
 *
 *   allocation        val loss against rho per budget relative to the
 *                     budget's best measured mean (delta loss), mean +- sd
 *                     over seeds; the U model and rho* with its 95%
 *                     interval where the two-lines test finds a U, else the
 *                     monotone fit; the key below the plot
 *   memory            val loss against table slots (log x), Engram against
 *                     OverEncoding, fitted power laws, alpha in the legend
 *   rho_star          per budget C (log x), when >= 2 budgets are fitted:
 *                     rho* with its interval for a U, else the best
 *                     measured rho and the rho not significantly worse;
 *                     the paper's 0.75-0.8 band for reference
 *   grid              mean +- sd val loss per grid label (ablations)
 *   training_<kind>   val loss against tokens, one line per run (log.tsv)
 *
 * Each figure NAME is NAME.png (1000x700 px) and NAME.svg (5x3.5 in), next
 * to the filled script NAME.gp and the NAME*.dat files it reads, so that
 * `cd figures && gnuplot NAME.gp` renders it again after an edit.
 *
 * Scripts are filled from the templates in plots/ (NAME.gp plus style.gp,
 * shared): @VARIABLE@ is replaced by its value. The template folder is, in
 * order: $ENGRAM_SCALE_PLOTS, the PLOTS_DIR compile-time define (the source
 * tree's plots/), then plots/ next to the executable (../plots,
 * ../share/engram-scale/plots, ../../plots from its folder).
 *
 * Diverged rows (status diverged) are never averaged or fitted; they are
 * marked with a cross at the top of the allocation figure. */
#ifndef ES_PLOT_PLOT_H
#define ES_PLOT_PLOT_H

#include <stddef.h>

/* Renders every figure RUN_DIR supports. *files_written is a heap array of
 * *n_files heap paths (scripts, data, PNG, SVG) the caller frees with
 * plot_files_free; NULL/0 on error. Errors: ES_EMISSING when gnuplot or the
 * templates are missing (naming the package or the places looked in; the
 * scripts are still written), ES_EDATA for malformed results.tsv, fit.json
 * or log.tsv, or when there is nothing to plot, ES_EIO for files and for a
 * failing gnuplot (with its stderr). */
int plot_run_dir(const char *run_dir, char ***files_written, int *n_files);

void plot_files_free(char **files, int n_files);

/* Fills a template: every @NAME@ (NAME of A-Z, 0-9, _ starting with a
 * letter) is replaced by values[i] where names[i] is NAME; other '@' are
 * kept. A NAME without a value is ES_EINVAL naming it and origin (the
 * template's path) with its line. *out is a heap string the caller frees. */
int plot_template_fill(const char *text, const char *origin, const char *const *names, const char *const *values,
                       int n_vars, char **out);

/* The template folder (see above) into buf; ES_EMISSING naming the places
 * looked in. */
int plot_templates_dir(char *buf, size_t size);

/* Runs `gnuplot SCRIPT` in folder dir. ES_EMISSING "gnuplot is not
 * installed: apt-get install gnuplot-nox" when no gnuplot is on PATH;
 * ES_EIO with gnuplot's stderr when it fails. */
int plot_gnuplot_run(const char *dir, const char *script);

#endif
