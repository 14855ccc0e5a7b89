/* engram-scale fit: curve fits of a sweep's results.tsv into fit.json. */
#include "cli.h"

#include "fit/fit.h"

#include <jansson.h>
#include <string.h>

static const char HELP[] =
    "usage: engram-scale fit RUN_DIR [--bootstrap N] [--json]\n"
    "\n"
    "Fits RUN_DIR/results.tsv (diverged runs are skipped and counted) and writes\n"
    "RUN_DIR/fit.json:\n"
    "  allocation  per budget, val_loss against rho: the two-lines test of a U\n"
    "              (Simonsohn 2018: both slopes with p-values, the breakpoint,\n"
    "              the verdict U / no U with the shape / too few points to test);\n"
    "              for a U only, rho* with a bootstrap 95% interval, L* and the\n"
    "              gain L(1) - L* (interior); otherwise the best measured rho\n"
    "              and the rho not significantly worse (seed-paired); the curves\n"
    "              as descriptions: U models (quadratic, asymmetric, cubic) and\n"
    "              monotone ones (linear, exponential) compared by AICc\n"
    "  memory      per memory type, L = L_inf + A M^-alpha and ln L against ln M\n"
    "  grid        mean +- sd per label against the baseline\n"
    "Problems of one budget or memory type are warnings in its entry; the command\n"
    "fails only when results.tsv is unreadable, holds no finished runs, or\n"
    "nothing in it can be fitted.\n"
    "\n"
    "  --bootstrap N  resamples for the intervals (default 1000; 0: t intervals)\n"
    "  --json         print fit.json's document instead of the tables\n";

int cmd_fit(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("fit", argc, argv, "json bootstrap", 1, HELP, "a run folder, e.g. engram-scale fit runs/NAME", &opt);
    if (rc >= 0)
        return rc;
    fit_options fopt;
    fit_options_init(&fopt);
    if (opt.bootstrap >= 0)
        fopt.bootstrap = opt.bootstrap;
    const char *run_dir = opt.positional[0];
    json_t *doc;
    if (fit_run_dir(run_dir, &fopt, &doc))
        return cli_fail("fit");
    if (fit_write(run_dir, doc)) {
        json_decref(doc);
        return cli_fail("fit");
    }
    if (opt.json) {
        /* stdout is the document; the warnings also go to stderr so a
         * script piping the JSON still shows them to its user */
        const char *key;
        json_t *group;
        json_object_foreach(doc, key, group)
        {
            size_t i, j;
            json_t *e, *w;
            if (strcmp(key, "warnings") == 0)
                json_array_foreach(group, j, w) fprintf(stderr, "engram-scale fit: warning: %s\n", json_string_value(w));
            else if (strcmp(key, "allocation") == 0 || strcmp(key, "memory") == 0)
                json_array_foreach(group, i, e) json_array_foreach(json_object_get(e, "warnings"), j, w)
                    fprintf(stderr, "engram-scale fit: warning: %s\n", json_string_value(w));
        }
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        putchar('\n');
    } else {
        fit_print(stdout, doc);
        printf("\nwrote %s/fit.json\n", run_dir);
    }
    json_decref(doc);
    return 0;
}
