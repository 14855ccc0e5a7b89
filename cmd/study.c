/* engram-scale study: plan -> sweep -> fit -> plot -> report.md. */
#include "cli.h"

#include "core/error.h"
#include "fit/fit.h"
#include "plot/plot.h"
#include "study/report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: engram-scale study EXPERIMENT.yaml [--jobs N] [--threads N] [--out DIR] [--set key.path=value ...]\n"
    "\n"
    "The main job: plans the experiment, trains every run (resumable, as sweep),\n"
    "fits the results (fit.json), draws the figures (figures/) and writes\n"
    "report.md with the tables, the fitted values and their intervals, and the\n"
    "figures, all in DIR (default runs/<name>). Running it again resumes.\n";

/* The commit of the source tree the binary was built from, if known. */
static void source_commit(char *buf, size_t size)
{
    buf[0] = '\0';
#ifdef SOURCE_ROOT_DIR
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null", SOURCE_ROOT_DIR);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    if (fgets(buf, (int)size, f))
        buf[strcspn(buf, "\n")] = '\0';
    if (pclose(f) != 0)
        buf[0] = '\0';
    /* a tree with uncommitted changes is not that commit */
    snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null", SOURCE_ROOT_DIR);
    f = popen(cmd, "r");
    if (f) {
        char line[8];
        if (buf[0] && fgets(line, sizeof line, f))
            strncat(buf, "+dirty", size - strlen(buf) - 1);
        pclose(f);
    }
#endif
}

int cmd_study(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("study", argc, argv, "set out jobs threads", 1, HELP, "an experiment file, engram-scale study EXPERIMENT.yaml", &opt);
    if (rc >= 0)
        return rc;
    char out_dir[4096];
    rc = sweep_main("study", opt.positional[0], &opt, 1, 1, out_dir);
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
    char commit[64];
    source_commit(commit, sizeof commit);
    if (report_write(out_dir, opt.positional[0], command, commit[0] ? commit : NULL))
        return cli_fail("study");
    printf("study: report in %s/report.md\n", out_dir);
    return fit_rc || plot_rc ? 1 : 0;
}
