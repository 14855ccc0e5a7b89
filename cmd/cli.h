/* Shared command-line plumbing for the subcommands: option parsing,
 * error reporting, signal handling. Each subcommand lives in its own file
 * and is thin: parse, call lib/, print. */
#ifndef ES_CMD_CLI_H
#define ES_CMD_CLI_H

#include <signal.h>
#include <stdio.h>

#include "config/config.h"

enum { EXIT_USAGE = 2, EXIT_DIVERGED = 3, EXIT_INTERRUPTED = 130 };
enum { CLI_MAX_SETS = 256, CLI_MAX_REUSE = 16 };

/* Options common to most subcommands. */
typedef struct {
    const char *positional[8];
    int n_positional;
    const char *sets[CLI_MAX_SETS]; /* "--set key=value" in order */
    int n_sets;
    const char *out;                 /* --out DIR */
    const char *reuse[CLI_MAX_REUSE]; /* --reuse DIR, in order */
    int n_reuse;
    int json;                        /* --json */
    int resume;                      /* --resume */
    int force;                       /* --force */
    int help;                        /* --help */
    int threads;                     /* --threads N (-1: not given) */
    int jobs;                        /* --jobs N */
    const char *shard;               /* --shard K/N */
    int slurm;                       /* --slurm */
    int submit;                      /* --submit (with --slurm) */
    int report_only;                 /* --report-only */
    int quiet;                       /* --quiet */
    int steps;                       /* --steps N */
    int no_calibrate;                /* --no-calibrate */
    int bootstrap;                   /* --bootstrap N (-1: not given) */
    const char *coverage;            /* --coverage TOKENS */
    const char *text;                /* --text FILE (inspect; "-" = stdin) */
    int val_tokens;                  /* --val-tokens N (inspect; 0: not given) */
} cli_options;

/* Parses argv after the subcommand name. allowed is a string of option
 * names the command takes, e.g. "set out json resume". Prints a usage
 * error and returns EXIT_USAGE for anything else. */
int cli_parse(const char *command, int argc, char **argv, const char *allowed, int max_positional,
              cli_options *opt);

/* The start every subcommand shares: parses, prints help for --help, and
 * checks for the one positional argument `needs` names (NULL: none
 * required). Returns -1 to go on, else the exit code to return. */
int cli_begin(const char *command, int argc, char **argv, const char *allowed, int max_positional,
              const char *help, const char *needs, cli_options *opt);

/* Prints "engram-scale COMMAND: <lib message>" to stderr; returns 1. */
int cli_fail(const char *command);

/* Prints a formatted error to stderr; returns code. */
int cli_error(const char *command, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* SIGINT/SIGTERM set this flag; training loops checkpoint and stop. */
extern volatile sig_atomic_t cli_stop_requested;
void cli_install_signal_handlers(void);

/* Resolves cfg's train.precision for this CPU (train_resolve_precision),
 * applies it to the matrix products, and says on stderr, in one line,
 * when bf16 was asked for and fp32 is used. */
void cli_apply_precision(const char *command, run_config *cfg);

/* Says on stderr how many products oneDNN refused (es_gemm_fallbacks),
 * if any: they ran in fp32 through OpenBLAS. */
void cli_report_gemm_fallbacks(const char *command);

/* The subcommands. */
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_study(int argc, char **argv);

/* sweep's work, shared with study: plan and run path's experiment; the
 * experiment folder is copied to out_dir_used (4096 bytes) if not NULL.
 * With opt->slurm it writes the Slurm scripts and prints the array script,
 * or with opt->submit submits the array and its report job. With
 * opt->report_only it trains nothing, lists the runs without a result, sets
 * *n_missing (if not NULL) to their count and returns 0. */
int sweep_main(const char *command, const char *path, const cli_options *opt, int shard_k, int shard_n,
               char *out_dir_used, int *n_missing);
int cmd_plot(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
