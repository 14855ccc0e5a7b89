/* Small file-system helpers. */
#ifndef ES_CORE_FS_H
#define ES_CORE_FS_H

#include <stddef.h>

/* mkdir -p; ES_EIO naming the path on failure. */
int es_mkdir_p(const char *path);

/* 1 if path exists (any type). */
int es_exists(const char *path);

/* Reads a whole file into a NUL-terminated heap buffer (caller frees). */
int es_read_file(const char *path, char **data, size_t *len);

#endif
