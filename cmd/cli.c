#include "cli.h"

#include "core/error.h"
#include "core/parallel.h"
#include "train/trainer.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t cli_stop_requested = 0;

/* The first SIGINT or SIGTERM asks the work to checkpoint and stop. A
 * second ^C (SIGINT) stops at once; a second SIGTERM does not: a sweep
 * passes its SIGTERM on to its trainings, and a scheduler (Slurm: scancel,
 * requeue, preemption, time limit) signals every process of the job, so a
 * training can get SIGTERM twice and must still write its checkpoint. */
static void on_signal(int sig)
{
    if (cli_stop_requested && sig == SIGINT)
        _exit(EXIT_INTERRUPTED);
    cli_stop_requested = 1;
}

void cli_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_error(const char *command, int code, const char *fmt, ...)
{
    fprintf(stderr, "engram-scale %s: ", command);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_fail(const char *command) { return cli_error(command, 1, "%s", es_error_message()); }

static int allows(const char *allowed, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = allowed; (p = strstr(p, name)) != NULL; p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static int parse_int(const char *command, const char *name, const char *value, int min, int *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || v < min || v > 4096)
        return cli_error(command, EXIT_USAGE, "--%s expects a whole number >= %d, got '%s'", name, min, value);
    *out = (int)v;
    return 0;
}

int cli_parse(const char *command, int argc, char **argv, const char *allowed, int max_positional,
              cli_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->threads = -1;
    opt->jobs = 1;
    opt->bootstrap = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
            if (opt->n_positional >= max_positional)
                return cli_error(command, EXIT_USAGE, "unexpected argument '%s' (see engram-scale %s --help)", a,
                                 command);
            opt->positional[opt->n_positional++] = a;
            continue;
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, a + 2, len);
        name[len] = '\0';
        if (strcmp(name, "help") == 0) {
            opt->help = 1;
            continue;
        }
        if (!allows(allowed, name))
            return cli_error(command, EXIT_USAGE, "unknown option '%s' (see engram-scale %s --help)", a, command);
        int takes_value = strcmp(name, "set") == 0 || strcmp(name, "out") == 0 || strcmp(name, "threads") == 0 ||
                          strcmp(name, "jobs") == 0 || strcmp(name, "shard") == 0 ||
                          strcmp(name, "steps") == 0 || strcmp(name, "bootstrap") == 0 || strcmp(name, "reuse") == 0 ||
                          strcmp(name, "coverage") == 0 || strcmp(name, "text") == 0 ||
                          strcmp(name, "val-tokens") == 0;
        const char *value = NULL;
        if (takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_error(command, EXIT_USAGE, "option --%s needs a value", name);
        } else if (eq) {
            return cli_error(command, EXIT_USAGE, "option --%s takes no value", name);
        }
        if (strcmp(name, "set") == 0) {
            if (opt->n_sets >= CLI_MAX_SETS)
                return cli_error(command, EXIT_USAGE, "too many --set options");
            opt->sets[opt->n_sets++] = value;
        } else if (strcmp(name, "out") == 0) {
            opt->out = value;
        } else if (strcmp(name, "reuse") == 0) {
            if (opt->n_reuse >= CLI_MAX_REUSE)
                return cli_error(command, EXIT_USAGE, "too many --reuse options (at most %d)", CLI_MAX_REUSE);
            opt->reuse[opt->n_reuse++] = value;
        } else if (strcmp(name, "threads") == 0) {
            if (parse_int(command, name, value, 0, &opt->threads))
                return EXIT_USAGE;
        } else if (strcmp(name, "jobs") == 0) {
            if (parse_int(command, name, value, 1, &opt->jobs))
                return EXIT_USAGE;
        } else if (strcmp(name, "bootstrap") == 0) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*value == '\0' || *end != '\0' || v < 0 || v > 1000000)
                return cli_error(command, EXIT_USAGE, "--bootstrap expects a whole number in [0, 1000000], got '%s'",
                                 value);
            opt->bootstrap = (int)v;
        } else if (strcmp(name, "steps") == 0) {
            if (parse_int(command, name, value, 1, &opt->steps))
                return EXIT_USAGE;
        } else if (strcmp(name, "shard") == 0) {
            opt->shard = value;
        } else if (strcmp(name, "coverage") == 0) {
            opt->coverage = value;
        } else if (strcmp(name, "text") == 0) {
            opt->text = value;
        } else if (strcmp(name, "val-tokens") == 0) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*value == '\0' || *end != '\0' || v < 1 || v > 1000000000)
                return cli_error(command, EXIT_USAGE, "--val-tokens expects a whole number in [1, 1000000000], got '%s'",
                                 value);
            opt->val_tokens = (int)v;
        } else if (strcmp(name, "json") == 0) {
            opt->json = 1;
        } else if (strcmp(name, "resume") == 0) {
            opt->resume = 1;
        } else if (strcmp(name, "force") == 0) {
            opt->force = 1;
        } else if (strcmp(name, "slurm") == 0) {
            opt->slurm = 1;
        } else if (strcmp(name, "submit") == 0) {
            opt->submit = 1;
        } else if (strcmp(name, "report-only") == 0) {
            opt->report_only = 1;
        } else if (strcmp(name, "no-calibrate") == 0) {
            opt->no_calibrate = 1;
        } else if (strcmp(name, "quiet") == 0) {
            opt->quiet = 1;
        }
    }
    return 0;
}

int cli_begin(const char *command, int argc, char **argv, const char *allowed, int max_positional,
              const char *help, const char *needs, cli_options *opt)
{
    int rc = cli_parse(command, argc, argv, allowed, max_positional, opt);
    if (rc)
        return rc;
    if (opt->help) {
        fputs(help, stdout);
        return 0;
    }
    if (needs && opt->n_positional != 1)
        return cli_error(command, EXIT_USAGE, "needs %s (see engram-scale %s --help)", needs, command);
    return -1;
}

void cli_apply_precision(const char *command, run_config *cfg)
{
    if (train_resolve_precision(cfg))
        fprintf(stderr,
                "engram-scale %s: this CPU has neither AVX512-BF16 nor AMX; train.precision bf16 falls back to fp32\n",
                command);
    train_apply_precision(cfg);
}

void cli_report_gemm_fallbacks(const char *command)
{
    long n = es_gemm_fallbacks();
    if (n > 0)
        fprintf(stderr, "engram-scale %s: oneDNN refused %ld matrix products; they ran in fp32 through OpenBLAS\n",
                command, n);
}
