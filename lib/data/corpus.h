/* Corpus text: the built-in corpora, user files, UTF-8 checks and the
 * train/validation split.
 *
 * Built-in corpora come from Debian packages:
 *   "kjv"   King James Bible, text of `bible -l0 Gen1:1-Rev22:21` from bible-kjv,
 *           verse text only (book/chapter headings and verse numbers stripped),
 *           one verse per line.
 *   "gcide" Webster's 1913 via dict-gcide (/usr/share/dictd/gcide.dict.dz,
 *           read with zlib), the 00-database-* preamble dropped.
 *   "linux-doc" the reStructuredText of the kernel documentation from
 *           linux-doc-6.1: every *.rst and *.rst.gz file under
 *           LINUX_DOC_ROOT, in byte order of their paths (about 24 MB).
 *   "linux-src" the C sources of linux-source-6.1: every *.c and *.h file of
 *           at most LINUX_SRC_MAX_FILE_BYTES in LINUX_SRC_TARBALL (read with
 *           libarchive), in the tarball's order, which is fixed for a given
 *           package version; the larger files (about 250 of 55,400, 430 MB)
 *           are generated register and firmware tables.
 *   In both, each file is followed by a newline if it lacks one; a file
 *   holding a NUL byte is skipped; stray non-UTF-8 bytes are read as
 *   Windows-1252.
 * Anything else is a path to a UTF-8 text file.
 *
 * A corpus string may also name a mixture: sources joined by '+', each
 * with an optional weight "@w", w in (0, 1], the share of its text kept
 * (corpus_subsample), e.g. "gcide+kjv+linux-doc+linux-src@0.1". A config
 * writes it as a YAML list, [gcide, kjv, linux-doc, {linux-src: 0.1}]. */
#ifndef ES_DATA_CORPUS_H
#define ES_DATA_CORPUS_H

#include <stddef.h>

#define LINUX_DOC_ROOT "/usr/share/doc/linux-doc-6.1/Documentation"
#define LINUX_DOC_PACKAGE "linux-doc-6.1"
#define LINUX_SRC_TARBALL "/usr/src/linux-source-6.1.tar.xz"
#define LINUX_SRC_PACKAGE "linux-source-6.1"
#define LINUX_SRC_MAX_FILE_BYTES ((size_t)256 * 1024)

enum {
    CORPUS_MAX_SOURCES = 8,
    /* corpus_subsample keeps or drops whole units of this many lines */
    CORPUS_SUBSAMPLE_LINES = 400
};

/* A parsed corpus string: n sources, each a built-in name or a path. */
typedef struct {
    int n;
    char parts[CORPUS_MAX_SOURCES][512];  /* as written: built-in name or path */
    char names[CORPUS_MAX_SOURCES][256];  /* corpus_name() of each part */
    double weights[CORPUS_MAX_SOURCES];   /* share of the text kept, (0, 1] */
} corpus_spec;

/* Parses a corpus string. A string naming an existing file, or without '+'
 * and '@', is one source of weight 1. Errors (ES_EINVAL, naming the string):
 * an empty source, a weight that is not a number in (0, 1], a source twice,
 * more than CORPUS_MAX_SOURCES, or a name that is neither built in nor an
 * existing file and has no '/' ("unknown corpus 'x'"). A path with a '/' is
 * left for corpus_read to open, so its error names the path. */
int corpus_spec_parse(const char *spec, corpus_spec *out);

/* The cache folder name of a spec: the names joined by '+', each weight
 * other than 1 as "@%g". */
void corpus_spec_name(const corpus_spec *spec, char *name, size_t size);

/* The cache folder name of a corpus string, the one dataset_prepare()
 * gives its folder under data_dir: corpus_spec_parse(), then
 * corpus_spec_name() ("gcide+kjv+linux-src@0.1", "kjv", "book" for
 * "texts/book.txt"). Readers of a cache (the report) call this rather than
 * corpus_name(), which cuts a mixture's "@0.1" at its dot. Returns
 * corpus_spec_parse()'s error for a string it refuses. */
int corpus_cache_name(const char *corpus, char *name, size_t size);

/* 1 for "kjv", "gcide", "linux-doc", "linux-src". */
int corpus_is_builtin(const char *name);

/* Keeps the share weight of text in place: the text is cut into units of
 * unit_lines lines and unit i is kept iff floor((i+1) w) > floor(i w), so
 * the kept units are spread evenly over the whole text. Returns the new
 * length (text stays NUL-terminated); weight >= 1 keeps everything. */
size_t corpus_subsample(char *text, size_t len, double weight, int unit_lines);

/* The readers behind linux-doc and linux-src, on any folder or archive
 * (tests run them on small fixtures). package names the Debian package in
 * the ES_EMISSING error when root/path does not exist. *n_files gets the
 * number of files whose text was kept. Output as corpus_read. */
int corpus_read_rst_tree(const char *root, const char *package, char **text, size_t *len,
                         size_t *n_files);
int corpus_read_c_tarball(const char *path, const char *package, size_t max_file_bytes, char **text,
                          size_t *len, size_t *n_files);

/* Reads the text of one source (a built-in name or a path; not a mixture)
 * into a NUL-terminated heap buffer the caller frees with free(). Errors: ES_EMISSING names the Debian package to install
 * ("apt-get install bible-kjv"); ES_EIO names the path; ES_EDATA for an
 * empty file or invalid UTF-8 ("FILE: invalid UTF-8 at byte offset N");
 * ES_EINVAL for a name without '/' that is neither built in nor a file. */
int corpus_read(const char *name_or_path, char **text, size_t *len);

/* The short name used for the cache folder: "kjv", "gcide", or the file's
 * basename without extension. Writes at most size bytes. */
void corpus_name(const char *name_or_path, char *name, size_t size);

/* Validates UTF-8 (rejecting overlongs, surrogates, > U+10FFFF).
 * Returns 1 if valid, else 0 and sets *bad_offset to the first bad byte. */
int utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* Splits text into a training and a validation text, deterministically:
 * lines are grouped into consecutive blocks of block_lines lines, and every
 * val_every-th block (blocks val_every-1, 2*val_every-1, ...) goes to
 * validation, so the held-out 1/val_every is spread over the whole text.
 * Both outputs are NUL-terminated heap buffers the caller frees. */
int corpus_split(const char *text, size_t len, int block_lines, int val_every,
                 char **train, size_t *train_len, char **val, size_t *val_len);

#endif
