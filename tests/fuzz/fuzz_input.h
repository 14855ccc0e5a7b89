/* Shared by the fuzz harnesses: each harness defines
 * LLVMFuzzerTestOneInput (libFuzzer's entry point, also driven by
 * replay.c for the regression tests) and hands the readers a real file,
 * since that is what users and other machines give them. */
#ifndef ES_TESTS_FUZZ_INPUT_H
#define ES_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to a per-process file named after tag (suffix included, e.g.
 * "exp.yaml") in TMPDIR or /tmp; returns its path (static storage), or NULL. */
static inline const char *fuzz_write_file(const char *tag, const uint8_t *data, size_t size)
{
    static char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/es-fuzz-%d-%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), tag);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    return path;
}

#endif
