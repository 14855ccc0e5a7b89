/* Progress reporting for long work.
 *
 * On a terminal: one bar redrawn in place, with rate and ETA. Elsewhere
 * (pipes, files, CI logs): no bar; only the lines the caller asks for with
 * es_progress_line(), so logs stay quiet and line-oriented.
 * The caller owns the FILE; lib/ code never picks stdout by itself. */
#ifndef ES_CORE_PROGRESS_H
#define ES_CORE_PROGRESS_H

#include <stdio.h>

typedef struct es_progress es_progress;

/* total units of work (steps, runs); label shown before the bar.
 * interactive < 0 decides from isatty(fileno(out)). */
es_progress *es_progress_new(FILE *out, const char *label, long total, int interactive);
void es_progress_free(es_progress *p);

/* done units so far and a short status ("loss 3.21"); redraws at most
 * ~10 times a second on a terminal, does nothing otherwise. */
void es_progress_update(es_progress *p, long done, const char *status);

/* A permanent line (e.g. an eval result): on a terminal it is printed above
 * the bar; elsewhere it is printed as is. */
void es_progress_line(es_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the bar (terminal) at the end. */
void es_progress_finish(es_progress *p);

/* "1h02m", "3m05s", "12.3s" */
void es_format_duration(double seconds, char *buf, size_t size);

#endif
