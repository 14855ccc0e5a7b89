/* engram-scale plot: the figures of a sweep's run folder. */
#include "cli.h"

#include "plot/plot.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char HELP[] =
    "usage: engram-scale plot RUN_DIR [--json]\n"
    "\n"
    "Renders every figure RUN_DIR's data supports into RUN_DIR/figures/, each\n"
    "as NAME.png (1000x700 px) and NAME.svg (5x3.5 in), next to the filled\n"
    "gnuplot script NAME.gp and its data files (edit, then `gnuplot NAME.gp`):\n"
    "\n"
    "  allocation          val loss against rho per budget, mean +- sd over\n"
    "                      seeds, fitted U curve and rho* with its 95% interval\n"
    "  rho_star            rho* against the budget C (2 or more fitted budgets)\n"
    "  memory              val loss against memory slots, Engram vs OverEncoding\n"
    "  grid                val loss per ablation setting\n"
    "  training_<kind>     val loss against tokens, one line per run\n"
    "\n"
    "Reads RUN_DIR/results.tsv, RUN_DIR/<run>/log.tsv and RUN_DIR/fit.json (from\n"
    "engram-scale fit; without it the data are drawn without fits). Needs\n"
    "gnuplot (apt-get install gnuplot-nox); the templates come from plots/ in the\n"
    "source tree, or from $ENGRAM_SCALE_PLOTS.\n"
    "\n"
    "  --json   print the files written as JSON\n";

int cmd_plot(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("plot", argc, argv, "json", 1, HELP, "a run folder, e.g. engram-scale plot runs/NAME", &opt);
    if (rc >= 0)
        return rc;
    const char *run_dir = opt.positional[0];
    char **files;
    int n;
    if (plot_run_dir(run_dir, &files, &n))
        return cli_fail("plot");
    if (opt.json) {
        json_t *o = json_object(), *list = json_array(), *figures = json_array();
        for (int i = 0; i < n; i++) {
            json_array_append_new(list, json_string(files[i]));
            size_t len = strlen(files[i]);
            if (len > 4 && strcmp(files[i] + len - 4, ".png") == 0) {
                const char *base = strrchr(files[i], '/');
                base = base ? base + 1 : files[i];
                json_array_append_new(figures, json_stringn(base, strlen(base) - 4));
            }
        }
        json_object_set_new(o, "run_dir", json_string(run_dir));
        json_object_set_new(o, "figures", figures);
        json_object_set_new(o, "files", list);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else {
        for (int i = 0; i < n; i++)
            printf("%s\n", files[i]);
    }
    plot_files_free(files, n);
    return 0;
}
