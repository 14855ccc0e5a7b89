/* engram-scale study: plan -> sweep -> fit -> plot -> report.md. */
#include "cli.h"

#include "build_commit.h"

#include "core/error.h"
#include "fit/fit.h"
#include "plot/plot.h"
#include "study/report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: engram-scale study EXPERIMENT.yaml [--jobs N] [--threads N] [--out DIR] [--reuse DIR ...]\n"
    "                          [--set key.path=value ...] [--slurm] [--report-only]\n"
    "\n"
    "The main job: plans the experiment, trains every run (resumable, as sweep),\n"
    "fits the results (fit.json), draws the figures (figures/) and writes\n"
    "report.md with the tables, the fitted values and their intervals, and the\n"
    "figures, all in DIR (default runs/<name>). Running it again resumes.\n"
    "Options as for sweep (engram-scale sweep --help), and:\n"
    "\n"
    "  --slurm        on a Slurm cluster: submit the runs as a job array and a\n"
    "                 job that, once the array ends, runs study --report-only\n"
    "                 (as sweep --slurm --submit); prints both job ids\n"
    "  --report-only  train nothing: fit, plot and report what DIR holds; runs\n"
    "                 without a result are listed, and the exit status is 1\n";

int cmd_study(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("study", argc, argv, "set out jobs threads reuse slurm report-only", 1, HELP, "an experiment file, engram-scale study EXPERIMENT.yaml", &opt);
    if (rc >= 0)
        return rc;
    if (opt.slurm && opt.report_only)
        return cli_error("study", EXIT_USAGE, "--slurm submits the study and --report-only reports it: choose one");
    if (opt.slurm) {
        opt.submit = 1;
        return sweep_main("study", opt.positional[0], &opt, 1, 1, NULL, NULL);
    }
    char out_dir[4096];
    int missing = 0;
    rc = sweep_main("study", opt.positional[0], &opt, 1, 1, out_dir, &missing);
    if (rc)
        return rc;

    printf("study: fitting %s/results.tsv\n", out_dir);
    fit_options fo;
    fit_options_init(&fo);
    json_t *fit = NULL;
    int fit_rc = fit_run_dir(out_dir, &fo, &fit);
    if (fit_rc == 0)
        fit_rc = fit_write(out_dir, fit);
    if (fit_rc == 0)
        fit_print(stdout, fit);
    else
        fprintf(stderr, "engram-scale study: no fit: %s\n", es_error_message());
    json_decref(fit);

    char **files = NULL;
    int n_files = 0;
    int plot_rc = plot_run_dir(out_dir, &files, &n_files);
    if (plot_rc == 0)
        printf("study: %d figure files in %s/figures\n", n_files, out_dir);
    else
        fprintf(stderr, "engram-scale study: no figures: %s\n", es_error_message());
    plot_files_free(files, n_files);

    char command[2048] = "engram-scale study";
    for (int i = 0; i < argc; i++) {
        strncat(command, " ", sizeof command - strlen(command) - 1);
        strncat(command, argv[i], sizeof command - strlen(command) - 1);
    }
    if (report_write(out_dir, opt.positional[0], command, ES_BUILD_COMMIT[0] ? ES_BUILD_COMMIT : NULL))
        return cli_fail("study");
    printf("study: report in %s/report.md\n", out_dir);
    if (missing)
        return cli_error("study", 1, "the report lacks %d run(s) without a result (listed above)", missing);
    return fit_rc || plot_rc ? 1 : 0;
}
