/* A fresh temp folder per test group and files written into it, for the
 * data tests: tmpdir_make() at setup, tmpdir_remove() (the whole tree) at
 * teardown. One folder per test program (the static below). */
#ifndef TESTS_SUPPORT_TMPDIR_H
#define TESTS_SUPPORT_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmpdir[256];

/* /tmp/es-test-<name>-XXXXXX; 0 on success (cmocka's setup convention). */
static int tmpdir_make(const char *name)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/es-test-%s-XXXXXX", name);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int tmpdir_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int tmpdir_remove(void) { return nftw(tmpdir, tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

#endif
