#include "core/fs.h"

#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int es_mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return es_error(ES_EINVAL, "path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return es_error(ES_EIO, "cannot create folder %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return es_error(ES_EIO, "cannot create folder %s: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return es_error(ES_EIO, "%s exists and is not a folder", buf);
    return ES_OK;
}

int es_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int es_read_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2 + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return es_error(ES_ENOMEM, "cannot read %s: out of memory", path);
    if (err) {
        free(buf);
        return es_error(ES_EIO, "cannot read %s", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return ES_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int es_list_dir(const char *dir, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ES_OK;
    size_t cap = 0;
    int rc = ES_OK;
    struct dirent *e;
    while (rc == ES_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(*names, cap * sizeof **names);
            if (!grown) {
                rc = es_error(ES_ENOMEM, "cannot list folder %s", dir);
                break;
            }
            *names = grown;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            rc = es_error(ES_ENOMEM, "cannot list folder %s", dir);
        else
            (*n)++;
    }
    closedir(d);
    if (rc) {
        es_list_free(*names, *n);
        *names = NULL;
        *n = 0;
        return rc;
    }
    qsort(*names, *n, sizeof **names, cmp_name);
    return ES_OK;
}

void es_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
