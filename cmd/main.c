/* engram-scale: sparsity-allocation scaling studies of MoE and Engram. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define VERSION "0.1.0"

static const char USAGE[] =
    "usage: engram-scale COMMAND [ARGS] [--set key.path=value ...] [--json] [--help]\n"
    "\n"
    "Sparsity-allocation scaling studies: how to split a sparse model's spare\n"
    "parameters between routed MoE experts and Engram conditional memory.\n"
    "\n"
    "commands:\n"
    "  data   [CORPUS]        prepare a corpus: tokenizer, token files, n-gram baselines\n"
    "  train  CONFIG.yaml     train one model and log its validation loss\n"
    "\n"
    "CORPUS is kjv (default), gcide, or a path to a UTF-8 text file.\n"
    "Run 'engram-scale COMMAND --help' for a command's options.\n";

int main(int argc, char **argv)
{
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
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(command, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "engram-scale: unknown command '%s'; run 'engram-scale --help' for the list\n", command);
    return EXIT_USAGE;
}
