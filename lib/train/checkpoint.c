#include "train/checkpoint.h"

#include "core/error.h"
#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char MAGIC[8] = {'E', 'S', 'C', 'K', 'P', 'T', '0', '1'};

struct checkpoint {
    char *buf;
    size_t size;
    char path[1024];
};

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* Writes all of data to fd, looping over short writes. */
static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

typedef struct {
    int fd;
    uint64_t hash;
    int failed;
} sink;

static void put(sink *s, const void *data, size_t n)
{
    if (s->failed)
        return;
    s->hash = fnv1a(s->hash, data, n);
    if (write_all(s->fd, data, n))
        s->failed = 1;
}

/* Opens a temporary file beside path (tmp gets its name). */
static int temp_open(const char *path, char *tmp, size_t size, int *fd)
{
    snprintf(tmp, size, "%s.tmp.%d", path, (int)getpid());
    *fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (*fd < 0)
        return es_error(ES_EIO, "cannot write %s: %s", tmp, strerror(errno));
    return ES_OK;
}

/* Syncs and closes the temporary file and renames it over path, so readers
 * see the old file or the new one; on failure the temporary is removed. */
static int temp_commit(int fd, const char *tmp, const char *path, int failed)
{
    if (failed || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return es_error(ES_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return es_error(ES_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    fsync_parent(path);
    return ES_OK;
}

int checkpoint_save(const char *path, const checkpoint_section *sections, int n)
{
    char tmp[1100];
    int fd, rc = temp_open(path, tmp, sizeof tmp, &fd);
    if (rc)
        return rc;
    sink s = {fd, 1469598103934665603ULL, 0};
    put(&s, MAGIC, sizeof MAGIC);
    uint32_t count = (uint32_t)n;
    put(&s, &count, sizeof count);
    for (int i = 0; i < n; i++) {
        uint32_t len = (uint32_t)strlen(sections[i].name);
        uint64_t bytes = sections[i].bytes;
        put(&s, &len, sizeof len);
        put(&s, sections[i].name, len);
        put(&s, &bytes, sizeof bytes);
        put(&s, sections[i].data, sections[i].bytes);
    }
    uint64_t hash = s.hash;
    if (!s.failed && write_all(fd, &hash, sizeof hash))
        s.failed = 1;
    return temp_commit(fd, tmp, path, s.failed);
}

int file_write_atomic(const char *path, const void *data, size_t bytes)
{
    char tmp[1100];
    int fd, rc = temp_open(path, tmp, sizeof tmp, &fd);
    if (rc)
        return rc;
    return temp_commit(fd, tmp, path, write_all(fd, data, bytes) != 0);
}

int checkpoint_open(const char *path, checkpoint **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return es_error(ES_EIO, "cannot open checkpoint %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    checkpoint *ck = es_calloc(1, sizeof *ck);
    char *buf = size > 0 ? malloc((size_t)size) : NULL;
    if (!ck || !buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(buf);
        free(ck);
        return es_error(ES_EIO, "cannot read checkpoint %s", path);
    }
    fclose(f);
    ck->buf = buf;
    ck->size = (size_t)size;
    snprintf(ck->path, sizeof ck->path, "%s", path);
    uint64_t stored;
    if (ck->size < sizeof MAGIC + 4 + 8 || memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
        checkpoint_close(ck);
        return es_error(ES_ESTATE, "%s is not an engram-scale checkpoint", path);
    }
    memcpy(&stored, buf + ck->size - 8, 8);
    if (fnv1a(1469598103934665603ULL, buf, ck->size - 8) != stored) {
        checkpoint_close(ck);
        return es_error(ES_ESTATE, "checkpoint %s is corrupt (checksum mismatch)", path);
    }
    *out = ck;
    return ES_OK;
}

void checkpoint_close(checkpoint *ck)
{
    if (!ck)
        return;
    free(ck->buf);
    free(ck);
}

const void *checkpoint_find(const checkpoint *ck, const char *name, size_t *bytes)
{
    size_t pos = sizeof MAGIC, end = ck->size - 8;
    uint32_t count;
    memcpy(&count, ck->buf + pos, 4);
    pos += 4;
    for (uint32_t i = 0; i < count && pos + 4 <= end; i++) {
        uint32_t len;
        memcpy(&len, ck->buf + pos, 4);
        pos += 4;
        if (pos + len + 8 > end)
            break;
        const char *sname = ck->buf + pos;
        pos += len;
        uint64_t n;
        memcpy(&n, ck->buf + pos, 8);
        pos += 8;
        if (pos + n > end)
            break;
        if (strlen(name) == len && memcmp(sname, name, len) == 0) {
            *bytes = (size_t)n;
            return ck->buf + pos;
        }
        pos += n;
    }
    return NULL;
}

int checkpoint_read(const checkpoint *ck, const char *name, void *data, size_t bytes)
{
    size_t n;
    const void *p = checkpoint_find(ck, name, &n);
    if (!p)
        return es_error(ES_ESTATE, "checkpoint %s has no section '%s'", ck->path, name);
    if (n != bytes)
        return es_error(ES_ESTATE, "checkpoint %s: section '%s' holds %zu bytes, this run needs %zu", ck->path, name,
                        n, bytes);
    memcpy(data, p, bytes);
    return ES_OK;
}
