/* Aligned, zeroed float buffers and checked allocation.
 * Every es_floats_new() has its es_floats_free(). */
#ifndef ES_CORE_MEM_H
#define ES_CORE_MEM_H

#include <stddef.h>

/* n floats, 64-byte aligned, zeroed; NULL (with es_error set) on failure. */
float *es_floats_new(size_t n);
void es_floats_free(float *p);

/* calloc that records an error naming the size on failure. */
void *es_calloc(size_t count, size_t size);

/* strdup that records an error on failure. */
char *es_strdup(const char *s);

#endif
