/* Corpus text: built-in corpora from Debian packages, user files, UTF-8
 * validation and the deterministic train/validation split. */
#include "data/corpus.h"

#include "core/error.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Appends s[0..n) as UTF-8, reading every byte that is not part of a valid
 * UTF-8 sequence as Windows-1252 (Latin-1 above 0x9F). */
static int append_repaired(buffer *b, const char *s, size_t n)
{
    size_t k = 0;
    int rc = ES_OK;
    while (k < n && !rc) {
        size_t bad;
        if (utf8_valid(s + k, n - k, &bad))
            return buffer_append(b, s + k, n - k);
        rc = buffer_append(b, s + k, bad);
        unsigned char c = (unsigned char)s[k + bad];
        if (!rc)
            rc = append_codepoint(b, c < 0xA0 ? cp1252_high[c - 0x80] : c);
        k += bad + 1;
    }
    return rc;
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
        rc = append_repaired(&b, line, end);
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
/* Source files of the Linux corpora: each file's text is appended whole,
 * followed by a newline if it lacks one. A file holding a NUL byte is not
 * text and is skipped; stray non-UTF-8 bytes (Latin-1 in old comments) are
 * read as Windows-1252, as in gcide. */

static int append_source_file(buffer *b, const char *s, size_t n, size_t *files)
{
    if (n == 0 || memchr(s, '\0', n))
        return ES_OK;
    int rc = append_repaired(b, s, n);
    if (!rc && s[n - 1] != '\n')
        rc = buffer_append(b, "\n", 1);
    if (!rc)
        (*files)++;
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

typedef struct {
    char **paths;
    size_t n, cap;
} path_list;

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
}

/* Every regular file under dir (symbolic links not followed) whose name
 * ends in ".rst" or ".rst.gz". */
static int collect_rst(const char *dir, path_list *l)
{
    DIR *d = opendir(dir);
    if (!d)
        return es_error(ES_EIO, "cannot open folder %s: %s", dir, strerror(errno));
    int rc = ES_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(n);
        if (!path) {
            rc = es_error(ES_ENOMEM, "cannot allocate a path under %s", dir);
            break;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            rc = es_error(ES_EIO, "cannot stat %s: %s", path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = collect_rst(path, l);
        } else if (S_ISREG(st.st_mode) && (ends_with(path, ".rst") || ends_with(path, ".rst.gz"))) {
            if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 256;
                char **p = realloc(l->paths, cap * sizeof *p);
                if (!p) {
                    rc = es_error(ES_ENOMEM, "cannot list %zu files under %s", cap, dir);
                } else {
                    l->paths = p;
                    l->cap = cap;
                }
            }
            if (!rc) {
                l->paths[l->n++] = path;
                path = NULL;
            }
        }
        free(path);
    }
    closedir(d);
    return rc;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int corpus_read_rst_tree(const char *root, const char *package, char **text, size_t *len,
                         size_t *n_files)
{
    *text = NULL;
    *len = 0;
    *n_files = 0;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return es_error(ES_EMISSING, "this corpus needs the Debian package %s: apt-get install %s (%s: %s)",
                        package, package, root, errno ? strerror(errno) : "not a folder");
    path_list l = {0};
    int rc = collect_rst(root, &l);
    if (!rc)
        qsort(l.paths, l.n, sizeof *l.paths, compare_paths);
    buffer b = {0}, raw = {0};
    for (size_t i = 0; i < l.n && !rc; i++) {
        errno = 0;
        gzFile gz = gzopen(l.paths[i], "rb"); /* reads plain files as they are */
        if (!gz) {
            rc = es_error(ES_EIO, "cannot open %s: %s", l.paths[i], strerror(errno ? errno : ENOMEM));
            break;
        }
        raw.n = 0;
        for (;;) {
            if ((rc = buffer_reserve(&raw, 1 << 16)))
                break;
            int n = gzread(gz, raw.p + raw.n, 1 << 16);
            if (n < 0) {
                int zerr;
                rc = es_error(ES_EIO, "cannot read %s: %s", l.paths[i], gzerror(gz, &zerr));
                break;
            }
            if (n == 0)
                break;
            raw.n += (size_t)n;
        }
        gzclose(gz);
        if (!rc)
            rc = append_source_file(&b, raw.p, raw.n, n_files);
    }
    free(raw.p);
    if (!rc && b.n == 0)
        rc = es_error(ES_EDATA, "%s: no .rst or .rst.gz file with text found", root);
    path_list_free(&l);
    if (rc) {
        free(b.p);
        *n_files = 0;
        return rc;
    }
    *text = b.p;
    *len = b.n;
    return ES_OK;
}

int corpus_read_c_tarball(const char *path, const char *package, size_t max_file_bytes, char **text,
                          size_t *len, size_t *n_files)
{
    *text = NULL;
    *len = 0;
    *n_files = 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return es_error(ES_EMISSING, "this corpus needs the Debian package %s: apt-get install %s (%s: %s)",
                        package, package, path, strerror(errno));
    struct archive *a = archive_read_new();
    if (!a)
        return es_error(ES_ENOMEM, "cannot allocate an archive reader for %s", path);
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    int rc = ES_OK;
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        rc = es_error(ES_EDATA, "cannot read %s: %s", path, archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    buffer b = {0}, raw = {0};
    struct archive_entry *e;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            rc = es_error(ES_EDATA, "cannot read %s: %s", path, archive_error_string(a));
            break;
        }
        const char *name = archive_entry_pathname(e);
        la_int64_t size = archive_entry_size(e);
        if (archive_entry_filetype(e) != AE_IFREG || !name || !(ends_with(name, ".c") || ends_with(name, ".h")) ||
            size <= 0 || (size_t)size > max_file_bytes)
            continue; /* the next header skips the data */
        raw.n = 0;
        if ((rc = buffer_reserve(&raw, (size_t)size)))
            break;
        while (raw.n < (size_t)size) {
            la_ssize_t got = archive_read_data(a, raw.p + raw.n, (size_t)size - raw.n);
            if (got < 0) {
                rc = es_error(ES_EDATA, "cannot read %s in %s: %s", name, path, archive_error_string(a));
                break;
            }
            if (got == 0)
                break;
            raw.n += (size_t)got;
        }
        if (rc)
            break;
        if (raw.n != (size_t)size) {
            rc = es_error(ES_EDATA, "%s in %s: %zu of %lld bytes (truncated archive)", name, path, raw.n,
                          (long long)size);
            break;
        }
        if ((rc = append_source_file(&b, raw.p, raw.n, n_files)))
            break;
    }
    archive_read_free(a);
    free(raw.p);
    if (!rc && b.n == 0)
        rc = es_error(ES_EDATA, "%s: no .c or .h file of at most %zu bytes found", path, max_file_bytes);
    if (rc) {
        free(b.p);
        *n_files = 0;
        return rc;
    }
    *text = b.p;
    *len = b.n;
    return ES_OK;
}

static int read_linux_doc(char **text, size_t *len)
{
    size_t files;
    int rc = corpus_read_rst_tree(LINUX_DOC_ROOT, LINUX_DOC_PACKAGE, text, len, &files);
    if (rc)
        return es_error_wrap(rc, "corpus linux-doc");
    return ES_OK;
}

static int read_linux_src(char **text, size_t *len)
{
    size_t files;
    int rc = corpus_read_c_tarball(LINUX_SRC_TARBALL, LINUX_SRC_PACKAGE, LINUX_SRC_MAX_FILE_BYTES, text, len,
                                   &files);
    if (rc)
        return es_error_wrap(rc, "corpus linux-src");
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

/* ------------------------------------------------------------------------ */
/* Corpus strings: one corpus, or a mixture "a+b@w+...". */

static const char *const BUILTIN[] = {"kjv", "gcide", "linux-doc", "linux-src", NULL};

int corpus_is_builtin(const char *name)
{
    for (int i = 0; BUILTIN[i]; i++)
        if (strcmp(name, BUILTIN[i]) == 0)
            return 1;
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int corpus_spec_parse(const char *spec, corpus_spec *out)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return es_error(ES_EINVAL, "corpus name is empty");
    if (file_exists(spec) || (!strchr(spec, '+') && !strchr(spec, '@'))) {
        if (strlen(spec) >= sizeof out->parts[0])
            return es_error(ES_EINVAL, "corpus '%.60s...' is longer than %zu characters", spec,
                            sizeof out->parts[0] - 1);
        out->n = 1;
        snprintf(out->parts[0], sizeof out->parts[0], "%s", spec);
        out->weights[0] = 1;
    } else {
        const char *p = spec;
        for (;;) {
            size_t n = strcspn(p, "+");
            if (out->n == CORPUS_MAX_SOURCES)
                return es_error(ES_EINVAL, "corpus '%s': more than %d sources", spec, CORPUS_MAX_SOURCES);
            char part[512];
            if (n == 0 || n >= sizeof part)
                return es_error(ES_EINVAL, "corpus '%s': source %d is %s", spec, out->n + 1,
                                n ? "too long" : "empty");
            memcpy(part, p, n);
            part[n] = '\0';
            double w = 1;
            char *at = strrchr(part, '@');
            if (at && !file_exists(part)) {
                char *end;
                errno = 0;
                w = strtod(at + 1, &end);
                if (end == at + 1 || *end || errno || !(w > 0 && w <= 1))
                    return es_error(ES_EINVAL,
                                    "corpus '%s': the weight of %.*s is '%s', expected a number in (0, 1] "
                                    "(the share of its text kept)",
                                    spec, (int)(at - part), part, at + 1);
                *at = '\0';
                if (!part[0])
                    return es_error(ES_EINVAL, "corpus '%s': source %d has a weight but no name", spec,
                                    out->n + 1);
            }
            snprintf(out->parts[out->n], sizeof out->parts[0], "%s", part);
            out->weights[out->n] = w;
            out->n++;
            if (!p[n])
                break;
            p += n + 1;
        }
    }
    for (int i = 0; i < out->n; i++) {
        const char *part = out->parts[i];
        if (!corpus_is_builtin(part) && !file_exists(part) && !strchr(part, '/'))
            return es_error(ES_EINVAL,
                            "corpus '%s': unknown corpus '%s' (built-in: kjv, gcide, linux-doc, linux-src; "
                            "or the path of a UTF-8 text file)",
                            spec, part);
        corpus_name(part, out->names[i], sizeof out->names[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(out->names[j], out->names[i]) == 0)
                return es_error(ES_EINVAL, "corpus '%s': source '%s' appears twice", spec, out->names[i]);
    }
    return ES_OK;
}

void corpus_spec_name(const corpus_spec *spec, char *name, size_t size)
{
    if (size == 0)
        return;
    name[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < spec->n && used < size; i++) {
        char w[32] = "";
        if (spec->weights[i] != 1)
            snprintf(w, sizeof w, "@%g", spec->weights[i]);
        int n = snprintf(name + used, size - used, "%s%s%s", i ? "+" : "", spec->names[i], w);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int corpus_cache_name(const char *corpus, char *name, size_t size)
{
    corpus_spec spec;
    int rc = corpus_spec_parse(corpus, &spec);
    if (rc)
        return rc;
    corpus_spec_name(&spec, name, size);
    return ES_OK;
}

size_t corpus_subsample(char *text, size_t len, double weight, int unit_lines)
{
    if (weight >= 1 || unit_lines < 1)
        return len;
    size_t in = 0, out = 0, unit = 0;
    while (in < len) {
        /* the end of this unit of unit_lines lines */
        size_t end = in;
        for (int l = 0; l < unit_lines && end < len; l++) {
            const char *nl = memchr(text + end, '\n', len - end);
            end = nl ? (size_t)(nl - text) + 1 : len;
        }
        if (floor((double)(unit + 1) * weight) > floor((double)unit * weight)) {
            memmove(text + out, text + in, end - in);
            out += end - in;
        }
        in = end;
        unit++;
    }
    text[out] = '\0';
    return out;
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
    if (strcmp(name_or_path, "linux-doc") == 0)
        return read_linux_doc(text, len);
    if (strcmp(name_or_path, "linux-src") == 0)
        return read_linux_src(text, len);
    if (!strchr(name_or_path, '/') && !file_exists(name_or_path))
        return es_error(ES_EINVAL,
                        "unknown corpus '%s' (built-in: kjv, gcide, linux-doc, linux-src; or the path of a "
                        "UTF-8 text file)", name_or_path);
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
    /* A first pass counts the validation bytes, so that a corpus of
     * hundreds of MB is not allocated twice over. */
    size_t nt = 0, nv = 0, line = 0, i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
        if ((line / (size_t)block_lines) % (size_t)val_every == (size_t)val_every - 1)
            nv += n;
        i += n;
        line++;
    }
    char *t = malloc(len - nv + 1), *v = malloc(nv + 1);
    if (!t || !v) {
        free(t);
        free(v);
        return es_error(ES_ENOMEM, "cannot allocate %zu bytes to split the corpus", len + 2);
    }
    nt = nv = line = i = 0;
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
