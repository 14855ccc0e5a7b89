/* Corpus text: built-in corpora from Debian packages, user files, UTF-8
 * validation and the deterministic train/validation split. */
#include "data/corpus.h"

#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zlib.h>

#define GCIDE_PATH "/usr/share/dictd/gcide.dict.dz"
#define KJV_COMMAND "bible -l0 Gen1:1-Rev22:21 2>/dev/null"

/* ------------------------------------------------------------------------ */
/* A growable byte buffer, only for building the corpus text. */

typedef struct {
    char *p;
    size_t n, cap;
} buffer;

static int buffer_reserve(buffer *b, size_t extra)
{
    if (b->n + extra + 1 <= b->cap)
        return ES_OK;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->n + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return es_error(ES_ENOMEM, "cannot allocate %zu bytes for the corpus text", cap);
    b->p = p;
    b->cap = cap;
    return ES_OK;
}

static int buffer_append(buffer *b, const char *s, size_t n)
{
    int rc = buffer_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return ES_OK;
}

/* ------------------------------------------------------------------------ */

int utf8_valid(const char *str, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned int cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2; cp = c & 0x1F; min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3; cp = c & 0x0F; min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4; cp = c & 0x07; min = 0x10000;
        } else {
            goto bad; /* continuation byte, C0/C1 overlong lead, or F5..FF */
        }
        if (i + n > len)
            goto bad; /* truncated sequence */
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad; /* overlong, beyond Unicode, or a UTF-16 surrogate */
        i += n;
    }
    return 1;
bad:
    if (bad_offset)
        *bad_offset = i;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* kjv: `bible` prints "Book N" headings, blank lines and "  V text" verses. */

static int read_kjv(char **text, size_t *len)
{
    static const char *missing =
        "corpus kjv needs the Debian package bible-kjv: apt-get install bible-kjv";
    FILE *f = popen(KJV_COMMAND, "r");
    if (!f)
        return es_error(ES_EMISSING, "%s (cannot run bible: %s)", missing, strerror(errno));
    buffer b = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = ES_OK;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        /* Verse lines start with spaces and the verse number; headings and
         * blank lines do not, so they are skipped. */
        ssize_t i = 0;
        while (i < n && line[i] == ' ')
            i++;
        if (i == 0 || i == n || line[i] < '0' || line[i] > '9')
            continue;
        while (i < n && line[i] >= '0' && line[i] <= '9')
            i++;
        while (i < n && line[i] == ' ')
            i++;
        if (i == n)
            continue;
        if ((rc = buffer_append(&b, line + i, (size_t)(n - i))) ||
            (rc = buffer_append(&b, "\n", 1)))
            break;
    }
    free(line);
    int status = pclose(f);
    if (rc) {
        free(b.p);
        return rc;
    }
    if (status != 0 || b.n == 0) {
        free(b.p);
        if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
            return es_error(ES_EMISSING, "%s (bible is not on PATH)", missing);
        return es_error(ES_EMISSING, "%s (`bible -l0 Gen1:1-Rev22:21` failed or printed nothing)",
                        missing);
    }
    *text = b.p;
    *len = b.n;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */
/* gcide: a dictzip file (gzip-compatible) of dictd entries, each a headword
 * line "Word \Word\ pos." followed by indented definition lines. */

/* Windows-1252 for 0x80..0x9F; the rest of 0x80..0xFF is Latin-1. */
static const unsigned short cp1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

static int append_codepoint(buffer *b, unsigned int cp)
{
    char u[3];
    size_t n;
    if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    return buffer_append(b, u, n);
}

/* A dictd headword line: no indentation, then "word \pronunciation\". */
static int is_headword_line(const char *s, size_t n)
{
    if (n == 0 || s[0] == ' ' || s[0] == '\t')
        return 0;
    const char *slash = memchr(s, '\\', n);
    return slash && slash > s && slash[-1] == ' ' &&
           memchr(slash + 1, '\\', n - (size_t)(slash + 1 - s)) != NULL;
}

static int read_gcide(char **text, size_t *len)
{
    errno = 0;
    gzFile gz = gzopen(GCIDE_PATH, "rb");
    if (!gz)
        return es_error(ES_EMISSING,
                        "corpus gcide needs the Debian package dict-gcide: apt-get install "
                        "dict-gcide (cannot open %s: %s)",
                        GCIDE_PATH, strerror(errno ? errno : ENOENT));
    buffer raw = {0};
    int rc = ES_OK;
    for (;;) {
        if ((rc = buffer_reserve(&raw, 1 << 20)))
            break;
        int n = gzread(gz, raw.p + raw.n, 1 << 20);
        if (n < 0) {
            int zerr;
            rc = es_error(ES_EIO, "cannot read %s: %s", GCIDE_PATH, gzerror(gz, &zerr));
            break;
        }
        if (n == 0)
            break;
        raw.n += (size_t)n;
    }
    gzclose(gz);
    if (rc) {
        free(raw.p);
        return rc;
    }

    /* Skip the 00-database-* entries (and the licence text in them) up to
     * the first real headword; collapse runs of blank lines to one; repair
     * the few stray Windows-1252 bytes the file holds so the text is UTF-8. */
    buffer b = {0};
    int started = 0, blank_run = 0;
    size_t i = 0;
    while (i < raw.n && !rc) {
        const char *line = raw.p + i;
        const char *nl = memchr(line, '\n', raw.n - i);
        size_t n = nl ? (size_t)(nl - line) : raw.n - i;
        i += n + (nl != NULL);
        if (!started) {
            if (!is_headword_line(line, n))
                continue;
            started = 1;
        }
        size_t end = n;
        while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r'))
            end--;
        if (end == 0) {
            if (blank_run++ == 0)
                rc = buffer_append(&b, "\n", 1);
            continue;
        }
        blank_run = 0;
        size_t k = 0;
        while (k < end && !rc) {
            size_t bad;
            if (utf8_valid(line + k, end - k, &bad)) {
                rc = buffer_append(&b, line + k, end - k);
                break;
            }
            rc = buffer_append(&b, line + k, bad);
            unsigned char c = (unsigned char)line[k + bad];
            if (!rc)
                rc = append_codepoint(&b, c < 0xA0 ? cp1252_high[c - 0x80] : c);
            k += bad + 1;
        }
        if (!rc)
            rc = buffer_append(&b, "\n", 1);
    }
    free(raw.p);
    if (!rc && b.n == 0)
        rc = es_error(ES_EDATA, "%s: no dictionary entry found", GCIDE_PATH);
    if (rc) {
        free(b.p);
        return rc;
    }
    *text = b.p;
    *len = b.n;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */

static int read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
    buffer b = {0};
    int rc = ES_OK;
    for (;;) {
        if ((rc = buffer_reserve(&b, 1 << 20)))
            break;
        size_t n = fread(b.p + b.n, 1, 1 << 20, f);
        b.n += n;
        if (n < (size_t)(1 << 20)) {
            if (ferror(f))
                rc = es_error(ES_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (!rc && b.n == 0)
        rc = es_error(ES_EDATA, "%s: the file is empty", path);
    size_t bad;
    if (!rc && !utf8_valid(b.p, b.n, &bad))
        rc = es_error(ES_EDATA, "%s: invalid UTF-8 at byte offset %zu", path, bad);
    if (rc) {
        free(b.p);
        return rc;
    }
    b.p[b.n] = '\0';
    *text = b.p;
    *len = b.n;
    return ES_OK;
}

int corpus_read(const char *name_or_path, char **text, size_t *len)
{
    if (!name_or_path || !*name_or_path)
        return es_error(ES_EINVAL, "corpus name is empty");
    *text = NULL;
    *len = 0;
    if (strcmp(name_or_path, "kjv") == 0)
        return read_kjv(text, len);
    if (strcmp(name_or_path, "gcide") == 0)
        return read_gcide(text, len);
    return read_file(name_or_path, text, len);
}

void corpus_name(const char *name_or_path, char *name, size_t size)
{
    if (size == 0)
        return;
    const char *base = strrchr(name_or_path, '/');
    base = base ? base + 1 : name_or_path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot > base) /* keep ".hidden" whole */
        n = (size_t)(dot - base);
    if (n == 0) { /* "dir/" or "": fall back to something usable as a folder */
        base = "corpus";
        n = strlen(base);
    }
    if (n >= size)
        n = size - 1;
    memcpy(name, base, n);
    name[n] = '\0';
}

int corpus_split(const char *text, size_t len, int block_lines, int val_every,
                 char **train, size_t *train_len, char **val, size_t *val_len)
{
    if (block_lines < 1)
        return es_error(ES_EINVAL, "corpus_split: block_lines = %d, must be >= 1", block_lines);
    if (val_every < 2)
        return es_error(ES_EINVAL, "corpus_split: val_every = %d, must be >= 2", val_every);
    char *t = malloc(len + 1), *v = malloc(len + 1);
    if (!t || !v) {
        free(t);
        free(v);
        return es_error(ES_ENOMEM, "cannot allocate 2 x %zu bytes to split the corpus", len + 1);
    }
    size_t nt = 0, nv = 0, line = 0, i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
        size_t block = line / (size_t)block_lines;
        if (block % (size_t)val_every == (size_t)val_every - 1) {
            memcpy(v + nv, text + i, n);
            nv += n;
        } else {
            memcpy(t + nt, text + i, n);
            nt += n;
        }
        i += n;
        line++;
    }
    t[nt] = '\0';
    v[nv] = '\0';
    *train = t;
    *train_len = nt;
    *val = v;
    *val_len = nv;
    return ES_OK;
}
