/* Fuzzes the corpus reader on a user's text file: corpus_read (which
 * rejects invalid UTF-8 with the byte offset), utf8_valid on the raw bytes,
 * and the train/validation split of what was accepted. */
#include "fuzz_input.h"

#include "core/error.h"
#include "data/corpus.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t bad = 0;
    int valid = utf8_valid((const char *)data, size, &bad);
    if (!valid && bad >= size && size > 0)
        abort(); /* the offset of the first bad byte lies inside the input */
    const char *path = fuzz_write_file("corpus.txt", data, size);
    if (!path)
        return 0;
    char *text = NULL;
    size_t len = 0;
    int rc = corpus_read(path, &text, &len);
    if (rc == ES_OK) {
        if (!text || text[len] != '\0')
            abort();
        char *train = NULL, *val = NULL;
        size_t train_len = 0, val_len = 0;
        if (corpus_split(text, len, 20, 20, &train, &train_len, &val, &val_len) == ES_OK) {
            if (train_len + val_len != len) /* every line goes to one side */
                abort();
            free(train);
            free(val);
        }
        free(text);
    } else if (!es_error_message()[0]) {
        abort();
    }
    es_error_clear();
    unlink(path);
    return 0;
}
