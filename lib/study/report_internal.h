/* Internal to lib/study's report.md writer: the inputs every section reads
 * (report_ctx), the number formats, the grouping of runs into points, and
 * one section writer per study kind in the file of its kind:
 *   report.c             provenance, setup, figures, diverged and all runs,
 *                        the helpers below, report_write (the order)
 *   report_allocation.c  the allocation study (per budget: table, two-lines
 *                        test, fits, reading; rho* across budgets)
 *   report_memory.c      the memory study
 *   report_grid.c        the grid study
 * Not part of the public API (report.h). The fmt* helpers return strings
 * from a ring of FMT_SLOTS static buffers: valid for the next FMT_SLOTS - 1
 * calls, enough for one printed line (the ring is per thread). */
#ifndef ES_STUDY_REPORT_INTERNAL_H
#define ES_STUDY_REPORT_INTERNAL_H

#include "study/experiment.h"
#include "study/results.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char id[96];
    double budget, rho;
    uint64_t seed;
    char memory[16];
    int experts;
    long slots;
    double p_tot, p_act, tokens, flops;
    long steps;
    char label[256];
} plan_line;

typedef struct {
    const char *run_dir;
    plan_line *plan;
    int n_plan;
    int have_plan;
    result_row *rows;
    int n_rows;
    json_t *fit;           /* NULL: no fit.json */
    experiment *ex;        /* NULL: none loaded */
    char ex_path[1100];    /* the experiment file used or looked for */
    char ex_note[1400];     /* why there is no experiment, "" otherwise */
    char name[128];
    char kind[16];         /* allocation | memory | grid | "" */
} report_ctx;

enum { FMT_SLOTS = 16, FMT_SIZE = 96 };

typedef struct {
    int n_ok, n_diverged, n_planned, n_missing, n_results;
    double mean, sd;
    const plan_line *plan;  /* one planned run of the point, or NULL */
    const result_row *row;  /* one finished row of the point, or NULL */
} point;

typedef struct {
    int use_budget, use_rho, use_memory, use_slots, use_label;
    double budget, rho;
    const char *memory, *label;
    long slots;
} point_key;

char *fmt_buf(void);
const char *fmt(const char *format, double v);
const char *fmt_loss(double v);
const char *fmt_rho(double v);
const char *fmt_eng(double v);
const char *fmt_flops(double v);
const char *fmt_interval(const json_t *ci, const char *format);
double jnum(const json_t *o, const char *key);
int has_interval(const json_t *ci);
void md_cell(FILE *f, const char *s);
void point_collect(const report_ctx *c, const point_key *k, point *p);
const char *fmt_mean_sd(const point *p);
const char *fmt_n(const point *p);
int distinct_values(const report_ctx *c, int which, const double *budget_filter, const char *memory, double *vals);
const json_t *fit_entry(const report_ctx *c, const char *section, const char *key, double number, const char *text);
void put_warnings(FILE *f, const json_t *e);

/* The study sections, each a "## ..." section of report.md. scratch holds
 * 2 (n_plan + n_rows) + 2 doubles. */
void report_put_allocation(FILE *f, const report_ctx *c, double *budgets, double *rhos);
void report_put_memory(FILE *f, const report_ctx *c, double *slots);
void report_put_grid(FILE *f, const report_ctx *c);
/* The label fit.json marks as the grid's reference, or NULL. */
const char *report_grid_reference(const report_ctx *c);
/* Mixture corpora: every point's final loss on each source, and the
 * differences per source (grid: to the reference; allocation: rho 1 minus
 * rho 0 per budget), from each run's result.json; nothing for one corpus. */
void report_put_sources(FILE *f, const report_ctx *c);

#endif
