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

/* The entry names of a folder, "." entries left out, sorted by strcmp:
 * *names a heap array of *n heap strings, freed by es_list_free. A folder
 * that cannot be opened has no entries (ES_OK, *n = 0); ES_ENOMEM if the
 * list cannot be allocated. */
int es_list_dir(const char *dir, char ***names, size_t *n);
void es_list_free(char **names, size_t n);

#endif
