/* @VARIABLE@ templates and where they live. */
#include "plot/plot.h"

#include "core/error.h"
#include "core/fs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_name_start(char c) { return c >= 'A' && c <= 'Z'; }
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '_'; }

int plot_template_fill(const char *text, const char *origin, const char *const *names, const char *const *values,
                       int n_vars, char **out)
{
    *out = NULL;
    size_t cap = strlen(text) + 1024, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return es_error(ES_ENOMEM, "cannot fill %s: out of memory", origin);
    int line = 1;
    for (const char *p = text; *p;) {
        const char *value = NULL;
        size_t skip = 1;
        if (*p == '@' && is_name_start(p[1])) {
            const char *q = p + 1;
            while (is_name_char(*q))
                q++;
            if (*q == '@') { /* a variable; anything else (gnuplot's @macro, e-mail) is text */
                size_t n = (size_t)(q - p - 1);
                int i = 0;
                while (i < n_vars && !(strlen(names[i]) == n && memcmp(names[i], p + 1, n) == 0))
                    i++;
                if (i == n_vars) {
                    free(buf);
                    return es_error(ES_EINVAL, "%s:%d: template variable @%.*s@ has no value", origin, line,
                                    (int)n, p + 1);
                }
                value = values[i];
                skip = n + 2;
            }
        }
        size_t add = value ? strlen(value) : 1;
        if (len + add + 1 > cap) {
            cap = (len + add + 1) * 2;
            char *bigger = realloc(buf, cap);
            if (!bigger) {
                free(buf);
                return es_error(ES_ENOMEM, "cannot fill %s: out of memory (%zu bytes)", origin, cap);
            }
            buf = bigger;
        }
        if (value) {
            memcpy(buf + len, value, add);
        } else {
            buf[len] = *p;
            if (*p == '\n')
                line++;
        }
        len += add;
        p += skip;
    }
    buf[len] = '\0';
    *out = buf;
    return ES_OK;
}

/* A folder counts as the template folder if it holds the shared style. */
static int holds_templates(const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/style.gp", dir);
    return es_exists(path);
}

int plot_templates_dir(char *buf, size_t size)
{
    const char *env = getenv("ENGRAM_SCALE_PLOTS");
    if (env && *env) {
        /* an explicit choice is not second-guessed by the fallbacks */
        if (!holds_templates(env))
            return es_error(ES_EMISSING, "ENGRAM_SCALE_PLOTS=%s holds no gnuplot templates (style.gp)", env);
        snprintf(buf, size, "%s", env);
        return ES_OK;
    }
    char looked[4096] = "";
#ifdef PLOTS_DIR
    if (holds_templates(PLOTS_DIR)) {
        snprintf(buf, size, "%s", PLOTS_DIR);
        return ES_OK;
    }
    snprintf(looked, sizeof looked, "%s", PLOTS_DIR);
#endif
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        static const char *const rel[] = {"../plots", "../share/engram-scale/plots", "../../plots", "../../../plots"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            char dir[PATH_MAX + 64];
            snprintf(dir, sizeof dir, "%s/%s", exe, rel[i]);
            char real[PATH_MAX];
            if (realpath(dir, real) && holds_templates(real)) {
                snprintf(buf, size, "%s", real);
                return ES_OK;
            }
            /* the list of places looked in, for the message */
            size_t l = strlen(looked), add = strlen(dir);
            if (l + add + 3 < sizeof looked) {
                if (l)
                    memcpy(looked + l, ", ", 2), l += 2;
                memcpy(looked + l, dir, add + 1);
            }
        }
    }
    return es_error(ES_EMISSING,
                    "no gnuplot templates (plots/style.gp) found in %s; set ENGRAM_SCALE_PLOTS to the source tree's "
                    "plots/ folder",
                    looked[0] ? looked : "(no candidate folders)");
}
