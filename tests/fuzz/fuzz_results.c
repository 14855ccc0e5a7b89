/* Fuzzes the results.tsv reader (results_read), which reads files written
 * by sweeps on other machines and by hand. Malformed lines must be errors
 * naming the line, never a crash, a hang or UB; rows read back must
 * round-trip through results_append. */
#include "fuzz_input.h"

#include "core/error.h"
#include "study/results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("results.tsv", data, size);
    if (!path)
        return 0;
    result_row *rows = NULL;
    int n = 0;
    int rc = results_read(path, &rows, &n);
    if (rc != ES_OK && !es_error_message()[0])
        abort();
    if (rc == ES_OK) {
        if (n < 0 || (n > 0 && !rows))
            abort();
        /* what was read can be written again and read back alike */
        const char *again = fuzz_write_file("again.tsv", (const uint8_t *)"", 0);
        unlink(again);
        int ok = 1;
        for (int i = 0; i < n && ok; i++)
            ok = results_append(again, &rows[i]) == ES_OK;
        result_row *back = NULL;
        int m = 0;
        if (ok && n > 0 && (results_read(again, &back, &m) != ES_OK || m != n))
            abort();
        free(back);
        unlink(again);
    }
    free(rows);
    es_error_clear();
    unlink(path);
    return 0;
}
