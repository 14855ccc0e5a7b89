#include "core/progress.h"

#include "core/mem.h"
#include "core/parallel.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct es_progress {
    FILE *out;
    char label[64];
    long total, done;
    int interactive;
    int drawn;
    double start, last_draw, start_done_time;
    long start_done; /* units already done when the bar began (resumed work) */
    int have_start;
    char status[160];
};

es_progress *es_progress_new(FILE *out, const char *label, long total, int interactive)
{
    es_progress *p = es_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->out = out;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total > 0 ? total : 1;
    p->interactive = interactive >= 0 ? interactive : isatty(fileno(out));
    p->start = es_seconds();
    return p;
}

void es_progress_free(es_progress *p) { free(p); }

void es_format_duration(double s, char *buf, size_t size)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, size, "--");
    else if (s >= 3600)
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, size, "%.1fs", s);
}

static void draw(es_progress *p)
{
    enum { WIDTH = 24 };
    double now = es_seconds();
    double frac = (double)p->done / (double)p->total;
    if (frac > 1)
        frac = 1;
    int filled = (int)(frac * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    char eta[32] = "--", elapsed[32];
    long units = p->done - p->start_done;
    double spent = now - p->start_done_time;
    if (p->have_start && units > 0 && spent > 0)
        es_format_duration(spent / (double)units * (double)(p->total - p->done), eta, sizeof eta);
    es_format_duration(now - p->start, elapsed, sizeof elapsed);
    fprintf(p->out, "\r\033[K%s [%s] %3d%% %ld/%ld %s ETA %s %s", p->label, bar, (int)(100 * frac), p->done,
            p->total, elapsed, eta, p->status);
    fflush(p->out);
    p->drawn = 1;
    p->last_draw = now;
}

void es_progress_update(es_progress *p, long done, const char *status)
{
    if (!p)
        return;
    if (!p->have_start) {
        /* The ETA counts from the first update, so resumed work does not
         * look infinitely fast. */
        p->have_start = 1;
        p->start_done = done;
        p->start_done_time = es_seconds();
    }
    p->done = done;
    if (status)
        snprintf(p->status, sizeof p->status, "%s", status);
    if (!p->interactive)
        return;
    if (es_seconds() - p->last_draw >= 0.1 || done >= p->total)
        draw(p);
}

void es_progress_line(es_progress *p, const char *fmt, ...)
{
    if (!p)
        return;
    if (p->interactive && p->drawn)
        fprintf(p->out, "\r\033[K");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    if (p->interactive && p->drawn)
        draw(p);
    fflush(p->out);
}

void es_progress_finish(es_progress *p)
{
    if (!p)
        return;
    if (p->interactive && p->drawn) {
        fprintf(p->out, "\r\033[K");
        fflush(p->out);
    }
}
