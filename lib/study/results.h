/* results.tsv: one row per finished run of a sweep, with a header line;
 * readable by gnuplot, awk and pandas. Columns, in this order:
 *
 *   run              run id, also its folder under runs/<experiment>/
 *   kind             allocation | memory | grid
 *   budget           training FLOPs C of the run's budget
 *   rho              allocation ratio (nan outside allocation studies)
 *   memory           none | engram | overencoding
 *   slots            Engram / OverEncoding table rows (0 if none)
 *   seed
 *   experts          routed experts E (0 if dense)
 *   p_tot p_act      parameters without embedding and LM head: all, active per token
 *   flops_per_token  training FLOPs per token
 *   tokens steps     what the run trained on
 *   val_loss         validation loss at the end (nats/token)
 *   best_val_loss    best validation loss of any eval
 *   train_loss       mean training loss over the last eval interval
 *   seconds          training wall time
 *   status           ok | diverged (diverged rows are never fitted)
 *   label            grid point ("model.engram.gate=off,..."), or "-"
 *
 * Numbers are written with %.10g (budgets and counts exactly), missing
 * values as "nan". Appends are whole rows written with one write() under
 * an exclusive flock and fsynced, so concurrent sweeps (--jobs, --shard on
 * a shared folder) never interleave and a kill never leaves half a row. */
#ifndef ES_STUDY_RESULTS_H
#define ES_STUDY_RESULTS_H

#include <stdint.h>

typedef struct {
    char run[128];
    char kind[16];
    double budget;
    double rho;
    char memory[16];
    long slots;
    uint64_t seed;
    int experts;
    double p_tot, p_act, flops_per_token, tokens;
    long steps;
    double val_loss, best_val_loss, train_loss, seconds;
    char status[16];
    char label[256];
} result_row;

/* The header line, without the newline. */
const char *results_header(void);

/* Appends one row (creating the file with its header if needed). */
int results_append(const char *path, const result_row *row);

/* Reads every row, sorted by run name in natural order (the plan's order,
 * not the order the runs finished in; rows of one name keep their file
 * order). A missing file gives zero rows. Any malformed line (a
 * wrong header, a wrong column count, a non-number where a number belongs,
 * an unknown status) is ES_EDATA naming "path:line" and the column.
 * *rows is a heap array the caller frees. */
int results_read(const char *path, result_row **rows, int *n);

/* strcmp's sign, with digit runs compared by value ("s9" < "s10"). */
int results_run_compare(const char *a, const char *b);

#endif
