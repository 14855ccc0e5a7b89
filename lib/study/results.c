#include "study/results.h"

#include "core/error.h"
#include "core/fs.h"
#include "study/tsv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char HEADER[] = "run\tkind\tbudget\trho\tmemory\tslots\tseed\texperts\tp_tot\tp_act\tflops_per_token\t"
                             "tokens\tsteps\tval_loss\tbest_val_loss\ttrain_loss\tseconds\tstatus\tlabel";
enum { COLUMNS = 19 };

const char *results_header(void) { return HEADER; }

static int format_row(const result_row *r, char *buf, size_t size)
{
    return snprintf(buf, size,
                    "%s\t%s\t%.10g\t%.10g\t%s\t%ld\t%llu\t%d\t%.10g\t%.10g\t%.10g\t%.10g\t%ld\t%.10g\t%.10g\t%.10g\t%.3f\t%s\t%s\n",
                    r->run, r->kind, r->budget, r->rho, r->memory, r->slots, (unsigned long long)r->seed, r->experts,
                    r->p_tot, r->p_act, r->flops_per_token, r->tokens, r->steps, r->val_loss, r->best_val_loss,
                    r->train_loss, r->seconds, r->status, r->label[0] ? r->label : "-");
}

int results_append(const char *path, const result_row *row)
{
    char line[2048];
    int len = format_row(row, line, sizeof line);
    if (len < 0 || (size_t)len >= sizeof line)
        return es_error(ES_EINVAL, "result row of run %s is too long", row->run);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return es_error(ES_EIO, "cannot lock %s: %s", path, strerror(errno));
    }
    struct stat st;
    int rc = ES_OK;
    if (fstat(fd, &st) == 0 && st.st_size == 0) {
        char header[sizeof HEADER + 1];
        snprintf(header, sizeof header, "%s\n", HEADER);
        if (write(fd, header, strlen(header)) != (ssize_t)strlen(header))
            rc = es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    /* one write() of the whole row: O_APPEND and the lock keep it whole */
    if (rc == ES_OK && write(fd, line, (size_t)len) != len)
        rc = es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc == ES_OK && fsync(fd) != 0)
        rc = es_error(ES_EIO, "cannot sync %s: %s", path, strerror(errno));
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}

/* Run names in natural order: digit runs compare by value, so p2-s2 comes
 * before p10-s1 and s9 before s10. */
int results_run_compare(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c < 0 ? -1 : 1;
            a += la, b += lb;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++, b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

/* Rows in plan order whatever order the runs finished (or were copied) in:
 * a stable insertion sort by run name, so rows of one name keep their file
 * order. A results.tsv holds hundreds of rows, not millions. */
static void sort_by_run(result_row *rows, int n)
{
    for (int i = 1; i < n; i++) {
        result_row r = rows[i];
        int k = i;
        while (k > 0 && results_run_compare(rows[k - 1].run, r.run) > 0) {
            rows[k] = rows[k - 1];
            k--;
        }
        rows[k] = r;
    }
}

static int copy_text(char *dst, size_t size, const char *s)
{
    if (strlen(s) >= size || *s == '\0')
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int results_read(const char *path, result_row **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    if (!es_exists(path))
        return ES_OK;
    char *text;
    size_t len;
    int rc = es_read_file(path, &text, &len);
    if (rc)
        return rc;
    static const char *names[COLUMNS] = {"run",      "kind",     "budget",  "rho",  "memory",
                                         "slots",    "seed",     "experts", "p_tot", "p_act",
                                         "flops_per_token", "tokens", "steps", "val_loss", "best_val_loss",
                                         "train_loss", "seconds", "status", "label"};
    int cap = 64, count = 0, line_no = 0;
    result_row *out = malloc(sizeof *out * (size_t)cap);
    if (!out) {
        free(text);
        return es_error(ES_ENOMEM, "cannot read %s: out of memory", path);
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && rc == ES_OK; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        if (line_no == 1) {
            if (strcmp(line, HEADER) != 0)
                rc = es_error(ES_EDATA, "%s:1: not a results.tsv header (expected the columns %s)", path, HEADER);
            continue;
        }
        char *fields[COLUMNS];
        if (tsv_split(line, fields, COLUMNS) != COLUMNS) {
            rc = es_error(ES_EDATA, "%s:%d: expected %d tab-separated columns", path, line_no, COLUMNS);
            break;
        }
        if (count == cap) {
            result_row *grown = realloc(out, sizeof *out * (size_t)cap * 2);
            if (!grown) {
                rc = es_error(ES_ENOMEM, "cannot read %s: out of memory", path);
                break;
            }
            out = grown;
            cap *= 2;
        }
        result_row *r = &out[count];
        memset(r, 0, sizeof *r);
        double v[COLUMNS];
        int bad = -1;
        for (int c = 0; c < COLUMNS && bad < 0; c++) {
            int text_column = c == 0 || c == 1 || c == 4 || c == 17 || c == 18;
            if (!text_column && tsv_number(fields[c], &v[c]))
                bad = c;
        }
        if (bad < 0 && (copy_text(r->run, sizeof r->run, fields[0]) || copy_text(r->kind, sizeof r->kind, fields[1])))
            bad = r->run[0] ? 1 : 0;
        if (bad < 0 && copy_text(r->memory, sizeof r->memory, fields[4]))
            bad = 4;
        if (bad < 0 && (copy_text(r->status, sizeof r->status, fields[17]) ||
                        (strcmp(r->status, "ok") != 0 && strcmp(r->status, "diverged") != 0)))
            bad = 17;
        if (bad < 0 && copy_text(r->label, sizeof r->label, fields[18]))
            bad = 18;
        /* whole-number columns: slots, experts and steps as the writer
         * prints them (a cast of anything else is undefined), the seed as
         * digits that fit in 64 bits */
        static const int whole[] = {5, 7, 12};
        for (size_t w = 0; w < sizeof whole / sizeof *whole && bad < 0; w++) {
            double x = v[whole[w]];
            if (!(x >= 0 && x <= (whole[w] == 7 ? (double)INT_MAX : 9e18) && x == floor(x)))
                bad = whole[w];
        }
        if (bad < 0) {
            errno = 0;
            char *end;
            unsigned long long seed = strtoull(fields[6], &end, 10);
            if (!fields[6][0] || *end || errno == ERANGE || fields[6][strspn(fields[6], "0123456789")])
                bad = 6;
            r->seed = seed;
        }
        if (bad >= 0) {
            rc = es_error(ES_EDATA, "%s:%d: bad value '%s' in column %s", path, line_no, fields[bad], names[bad]);
            break;
        }
        r->budget = v[2];
        r->rho = v[3];
        r->slots = (long)v[5];
        /* r->seed was read above, exactly (beyond 2^53) */
        r->experts = (int)v[7];
        r->p_tot = v[8];
        r->p_act = v[9];
        r->flops_per_token = v[10];
        r->tokens = v[11];
        r->steps = (long)v[12];
        r->val_loss = v[13];
        r->best_val_loss = v[14];
        r->train_loss = v[15];
        r->seconds = v[16];
        if (strcmp(r->label, "-") == 0)
            r->label[0] = '\0';
        count++;
    }
    free(text);
    if (rc) {
        free(out);
        return rc;
    }
    sort_by_run(out, count);
    *rows = out;
    *n = count;
    return ES_OK;
}
