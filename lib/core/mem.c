#include "core/mem.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

float *es_floats_new(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0)
        bytes = 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) {
        es_error(ES_ENOMEM, "cannot allocate %zu bytes", bytes);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

void es_floats_free(float *p) { free(p); }

void *es_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        es_error(ES_ENOMEM, "cannot allocate %zu x %zu bytes", count, size);
    return p;
}

char *es_strdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        es_error(ES_ENOMEM, "cannot allocate a string of %zu bytes", strlen(s) + 1);
    return p;
}
