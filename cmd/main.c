/* engram-scale: sparsity-allocation scaling studies of MoE and Engram. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERSION "0.1.0"
#define OPENMP_SPINCOUNT "1000"

static const char USAGE[] =
    "usage: engram-scale COMMAND [ARGS] [--set key.path=value ...] [--json] [--help]\n"
    "\n"
    "Sparsity-allocation scaling studies: how to split a sparse model's spare\n"
    "parameters between routed MoE experts and Engram conditional memory.\n"
    "\n"
    "commands:\n"
    "  data   [CORPUS]        prepare a corpus: tokenizer, token files, n-gram baselines\n"
    "  train  CONFIG.yaml     train one model and log its validation loss\n"
    "  plan   EXPERIMENT.yaml the iso-FLOPs / iso-parameter table of a study, no training\n"
    "  sweep  EXPERIMENT.yaml every run of a study: resumable, --jobs N, --shard K/N\n"
    "  study  EXPERIMENT.yaml sweep + fit + plot + report.md: the main job\n"
    "  fit    RUN_DIR         curve fits of a sweep's results.tsv into fit.json\n"
    "  plot   RUN_DIR         figures of a sweep (PNG, SVG and gnuplot scripts) in RUN_DIR/figures\n"
    "  bench  [CONFIG.yaml]   training throughput and MFU against this machine's SGEMM peak\n"
    "  inspect RUN_DIR        what a trained model's Engram gate does on a text; Engram off\n"
    "\n"
    "CORPUS is kjv (default), gcide, or a path to a UTF-8 text file.\n"
    "Run 'engram-scale COMMAND --help' for a command's options.\n";

/* libgomp reads its spin settings when it loads, before main. By default
 * idle OpenMP workers spin for ~300k iterations at every barrier: fast on
 * an idle machine, but 5-30x slower as soon as another process wants the
 * same cores (a second training, a build, a test). Unless the user chose a
 * policy, re-execute once with a short spin, which costs little alone and
 * yields the cores under contention. */
static void limit_openmp_spinning(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv("ENGRAM_SCALE_SPIN_SET"))
        return;
    setenv("GOMP_SPINCOUNT", OPENMP_SPINCOUNT, 1);
    setenv("ENGRAM_SCALE_SPIN_SET", "1", 1);
    execv("/proc/self/exe", argv);
    /* if that fails, run as we are */
}

int main(int argc, char **argv)
{
    limit_openmp_spinning(argv);
    if (argc < 2) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 || strcmp(command, "help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        printf("engram-scale %s\n", VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        {"data", cmd_data},
        {"train", cmd_train},
        {"bench", cmd_bench},
        {"plan", cmd_plan},
        {"sweep", cmd_sweep},
        {"study", cmd_study},
        {"fit", cmd_fit},
        {"plot", cmd_plot},
        {"inspect", cmd_inspect},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(command, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "engram-scale: unknown command '%s'; run 'engram-scale --help' for the list\n", command);
    return EXIT_USAGE;
}
