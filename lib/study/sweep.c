/* The sweep runner: child processes, resume, jobs, shards. */
#include "study/sweep.h"

#include "core/error.h"
#include "core/fs.h"
#include "core/mem.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *kind_name(sweep_kind k)
{
    return k == SWEEP_ALLOCATION ? "allocation" : k == SWEEP_MEMORY ? "memory" : "grid";
}

/* Splits a line in place at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **field, int max)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && n < max; t = strtok_r(NULL, "\t", &save))
        field[n++] = t;
    return n;
}

/* The value a column added to plan.tsv after a folder was planned stands
 * for in that older plan (the setting before the column existed). */
static const char *plan_column_default(const char *name)
{
    static const char *const defaults[][2] = {{"branches", "1"}, {"optimizer", "adamw"}};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (strcmp(name, defaults[i][0]) == 0)
            return defaults[i][1];
    return NULL;
}

/* Whether two plan.tsv texts plan the same runs: the same rows, compared
 * column by column by header name, without the time estimates; a column
 * the older file lacks must hold the value it stood for then. Both texts
 * are cut up in place. */
static int plans_same(char *old, char *now)
{
    enum { MAX_COLUMNS = 64 };
    char *sa = NULL, *sb = NULL;
    char *la = strtok_r(old, "\n", &sa), *lb = strtok_r(now, "\n", &sb);
    if (!la || !lb)
        return !la && !lb;
    char *ha[MAX_COLUMNS], *hb[MAX_COLUMNS];
    int na = split_tabs(la, ha, MAX_COLUMNS), nb = split_tabs(lb, hb, MAX_COLUMNS);
    int in_old[MAX_COLUMNS];
    for (int j = 0; j < nb; j++) {
        in_old[j] = -1;
        for (int i = 0; i < na; i++)
            if (strcmp(hb[j], ha[i]) == 0)
                in_old[j] = i;
        if (in_old[j] < 0 && strcmp(hb[j], "est_seconds") != 0 && !plan_column_default(hb[j]))
            return 0;
    }
    for (int i = 0; i < na; i++) { /* a column the new plan no longer has */
        int found = strcmp(ha[i], "est_seconds") == 0;
        for (int j = 0; j < nb && !found; j++)
            found = strcmp(ha[i], hb[j]) == 0;
        if (!found)
            return 0;
    }
    for (la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb); la && lb;
         la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
        char *fa[MAX_COLUMNS], *fb[MAX_COLUMNS];
        if (split_tabs(la, fa, MAX_COLUMNS) != na || split_tabs(lb, fb, MAX_COLUMNS) != nb)
            return 0;
        for (int j = 0; j < nb; j++) {
            if (strcmp(hb[j], "est_seconds") == 0)
                continue;
            const char *then = in_old[j] >= 0 ? fa[in_old[j]] : plan_column_default(hb[j]);
            if (strcmp(then, fb[j]) != 0)
                return 0;
        }
    }
    return !la && !lb;
}

int sweep_prepare(const experiment *ex, const plan *p, const char *out_dir)
{
    int rc = es_mkdir_p(out_dir);
    if (rc)
        return rc;
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/plan.tsv", out_dir);
    snprintf(tmp, sizeof tmp, "%s/plan.tsv.new.%d", out_dir, (int)getpid());
    if ((rc = plan_write_tsv(p, tmp)))
        return rc;
    if (es_exists(path)) {
        /* the same experiment plans the same runs; anything else would mix
         * another study's results into this folder */
        char *old, *now;
        size_t a, b;
        int same = 0, same_header = 0;
        if (es_read_file(path, &old, &a) == ES_OK) {
            if (es_read_file(tmp, &now, &b) == ES_OK) {
                size_t ha = strcspn(old, "\n"), hb = strcspn(now, "\n");
                same_header = ha == hb && memcmp(old, now, ha) == 0;
                same = plans_same(old, now);
                free(now);
            }
            free(old);
        }
        if (!same) {
            unlink(tmp);
            return es_error(ES_ESTATE,
                            "%s holds the runs of another plan (plan.tsv differs); choose another --out or remove "
                            "the folder",
                            out_dir);
        }
        /* an older format of the same plan is brought up to date; else the
         * folder's file (and its time estimates) stays */
        if (same_header) {
            unlink(tmp);
        } else if (rename(tmp, path) != 0) {
            unlink(tmp);
            return es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
        }
    } else if (rename(tmp, path) != 0) {
        return es_error(ES_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    snprintf(path, sizeof path, "%s/experiment.yaml", out_dir);
    return ytree_write(ex->tree, path);
}

void sweep_result_row(const plan *p, const plan_run *r, const train_result *res, result_row *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->run, sizeof row->run, "%s", r->id);
    snprintf(row->kind, sizeof row->kind, "%s", kind_name(p->kind));
    row->budget = r->budget;
    row->rho = r->rho;
    snprintf(row->memory, sizeof row->memory, "%s", config_memory_name(r->memory));
    row->slots = r->slots;
    row->seed = r->seed;
    row->experts = r->experts;
    row->p_tot = r->p_tot;
    row->p_act = r->p_act;
    row->flops_per_token = r->flops_per_token;
    row->tokens = res->tokens;
    row->steps = res->steps;
    row->val_loss = res->val_loss;
    row->best_val_loss = res->best_val_loss;
    row->train_loss = res->train_loss;
    row->seconds = res->seconds;
    snprintf(row->status, sizeof row->status, "%s", res->diverged ? "diverged" : "ok");
    snprintf(row->label, sizeof row->label, "%s", r->label);
}

typedef struct {
    pid_t pid;
    int index; /* into the plan */
} child;

/* The run's config as run.yaml holds it (heap text, caller frees). */
static int run_config_text(const plan_run *r, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f)
        return es_error(ES_ENOMEM, "cannot format the config of run %s", r->id);
    run_config cfg = r->cfg;
    train_resolve_precision(&cfg); /* bf16 -> fp32 where this CPU has no bf16 */
    config_write(&cfg, f);
    fclose(f);
    return ES_OK;
}

static int write_run_config(const char *dir, const plan_run *r)
{
    char path[4200], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    int rc = run_config_text(r, &text, &len);
    if (rc == ES_OK)
        rc = file_write_atomic(path, text, len);
    free(text);
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    int rc = es_read_file(from, &data, &len);
    if (rc == ES_OK)
        rc = file_write_atomic(to, data, len);
    free(data);
    return rc;
}

/* The line at s (up to end) starts with key and then a space, a comment or
 * its end. */
static int line_is(const char *s, const char *end, const char *key)
{
    size_t k = strlen(key);
    return (size_t)(end - s) >= k && strncmp(s, key, k) == 0 && (s + k == end || s[k] == ' ' || s[k] == '#');
}

/* The run.yaml lines that training depends on, joined: all but the name
 * line (it only names the folder; the seed has its own key) and, in a
 * model with no memory, the model's engram: block (no Engram module is
 * built, so its settings are unused: tests/e2e/test_sweep.sh trains such a
 * model with another engram block and compares the losses bit for bit).
 * Returns a heap string, or NULL when out of memory. */
static char *training_text(const char *text, size_t len, size_t *out_len)
{
    const char *end = text + len;
    int no_memory = 0;
    for (const char *s = text; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        no_memory |= line_is(s, e, "  memory: none");
        s = nl ? nl + 1 : end;
    }
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    int in_engram = 0;
    for (const char *s = text; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl + 1 : end;
        int skip = s == text && line_is(s, e, "name:");
        if (in_engram && !(e - s > 4 && strncmp(s, "    ", 4) == 0))
            in_engram = 0; /* the block ends at the next key of the model or above */
        if (no_memory && line_is(s, nl ? nl : end, "  engram:"))
            in_engram = 1;
        if (!skip && !in_engram) {
            memcpy(out + n, s, (size_t)(e - s));
            n += (size_t)(e - s);
        }
        s = e;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* The run this plan would write: its run.yaml, and (key) the part of it
 * training depends on, computed once for every folder compared with it. */
typedef struct {
    const char *yaml, *key;
    size_t yaml_len, key_len;
} wanted_run;

/* src is a finished run (result.json) whose run.yaml is want's byte for
 * byte, or (same_model) the same in what training depends on
 * (training_text: another name, an unused engram block). */
static int same_run(const char *src, const wanted_run *want, int same_model)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/result.json", src);
    if (!es_exists(path))
        return 0;
    snprintf(path, sizeof path, "%s/run.yaml", src);
    char *have;
    size_t have_len;
    if (es_read_file(path, &have, &have_len) != ES_OK) {
        es_error_clear();
        return 0;
    }
    int same = have_len == want->yaml_len && memcmp(have, want->yaml, have_len) == 0;
    if (!same && same_model) {
        size_t key_len;
        char *key = training_text(have, have_len, &key_len);
        same = key && key_len == want->key_len && memcmp(key, want->key, key_len) == 0;
        free(key);
    }
    free(have);
    return same;
}

/* A finished run folder in dir with this run's config under another name
 * (another study's id for the same model and seed), the first in name
 * order; writes its path to src. Returns 1 if found, else 0. */
static int find_same_run(const char *dir, const wanted_run *want, char *src, size_t size)
{
    char **names;
    size_t n;
    if (es_list_dir(dir, &names, &n) != ES_OK) {
        es_error_clear();
        return 0;
    }
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        snprintf(src, size, "%s/%s", dir, names[i]);
        found = same_run(src, want, 1);
    }
    es_list_free(names, n);
    return found;
}

/* Looks for the run in the reuse folders: a finished <reuse>/<id>/ whose
 * run.yaml is byte for byte the one this plan would write, else any
 * finished <reuse>/<other>/ whose run.yaml differs only in its name or in
 * an engram block its model does not use (the same model and seed planned
 * by another study, e.g. a control's pure MoE and the allocation study's
 * rho = 1). Training is a function of training_text(run.yaml), so that
 * folder is this run, trained already: its files are copied, run.yaml
 * written as this plan's, result.json last (a kill mid-copy leaves a run
 * that trains again), and reused_from names the source. Returns 1 if
 * reused, 0 if not found, or a negative error code. */
static int reuse_run(const sweep_options *opt, const plan_run *r, const char *dir, const char **from)
{
    char *want;
    size_t want_len;
    int rc = run_config_text(r, &want, &want_len);
    if (rc)
        return -rc;
    wanted_run w = {.yaml = want, .yaml_len = want_len};
    char *key = training_text(want, want_len, &w.key_len);
    if (!key) {
        free(want);
        return -es_error(ES_ENOMEM, "cannot compare the config of run %s: out of memory", r->id);
    }
    w.key = key;
    int found = 0;
    for (int i = 0; i < opt->n_reuse && !found && rc == ES_OK; i++) {
        char src[4200], path[4400], dst[4400];
        snprintf(src, sizeof src, "%s/%s", opt->reuse_dirs[i], r->id);
        if (!same_run(src, &w, 0) && !find_same_run(opt->reuse_dirs[i], &w, src, sizeof src))
            continue;
        if ((rc = es_mkdir_p(dir)))
            break;
        snprintf(dst, sizeof dst, "%s/run.yaml", dir);
        rc = file_write_atomic(dst, want, want_len);
        static const char *const files[] = {"config.yaml", "log.tsv", "train.log"};
        for (size_t k = 0; k < sizeof files / sizeof *files && rc == ES_OK; k++) {
            snprintf(path, sizeof path, "%s/%s", src, files[k]);
            snprintf(dst, sizeof dst, "%s/%s", dir, files[k]);
            if (es_exists(path))
                rc = copy_file(path, dst);
        }
        if (rc)
            break;
        snprintf(dst, sizeof dst, "%s/reused_from", dir);
        char line[4300];
        int n = snprintf(line, sizeof line, "%s\n", src);
        rc = file_write_atomic(dst, line, (size_t)n);
        snprintf(path, sizeof path, "%s/result.json", src);
        snprintf(dst, sizeof dst, "%s/result.json", dir);
        if (rc == ES_OK && (rc = copy_file(path, dst)) == ES_OK) {
            found = 1;
            *from = opt->reuse_dirs[i];
        }
    }
    free(want);
    free(key);
    return rc ? -rc : found;
}

/* Starts `engram-scale train run.yaml --out DIR --resume` for run index. */
static int start_child(const sweep_options *opt, const plan_run *r, int threads, pid_t *out)
{
    char dir[4096], config[4200], log_path[4200], thread_arg[16];
    snprintf(dir, sizeof dir, "%s/%s", opt->out_dir, r->id);
    int rc = es_mkdir_p(dir);
    if (rc || (rc = write_run_config(dir, r)))
        return rc;
    snprintf(config, sizeof config, "%s/run.yaml", dir);
    snprintf(log_path, sizeof log_path, "%s/train.log", dir);
    snprintf(thread_arg, sizeof thread_arg, "%d", threads);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return es_error(ES_EIO, "cannot start run %s: %s", r->id, strerror(errno));
    if (pid == 0) {
        /* a child dies with its sweep, so a kill -9 leaves nothing training
         * on its own; the check covers a parent that died before prctl */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            close(devnull);
        }
        char *args[] = {"engram-scale", "train", config, "--out", dir, "--resume", "--threads", thread_arg, NULL};
        execv(opt->exe, args);
        fprintf(stderr, "cannot run %s: %s\n", opt->exe, strerror(errno));
        _exit(127);
    }
    *out = pid;
    return ES_OK;
}

/* The last non-empty line of a run's train.log, for failure messages. */
static void last_log_line(const char *dir, char *buf, size_t size)
{
    char path[4200], *text;
    size_t len;
    buf[0] = '\0';
    snprintf(path, sizeof path, "%s/train.log", dir);
    if (es_read_file(path, &text, &len) != ES_OK)
        return;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    char *nl = strrchr(text, '\n');
    snprintf(buf, size, "%s", nl ? nl + 1 : text);
    free(text);
}

static void emit(const sweep_options *opt, sweep_event_kind kind, const plan_run *r, int done, int total,
                 const result_row *row, const char *message)
{
    if (!opt->on_event)
        return;
    sweep_event e = {kind, r, done, total, row, message, 0};
    opt->on_event(opt->ctx, &e);
}

/* Appends the finished run's row from its result.json. */
static int record(const plan *p, const sweep_options *opt, const plan_run *r, result_row *row)
{
    char dir[4096], results[4200];
    snprintf(dir, sizeof dir, "%s/%s", opt->out_dir, r->id);
    snprintf(results, sizeof results, "%s/results.tsv", opt->out_dir);
    train_result res;
    int rc = train_result_read(dir, &res);
    if (rc)
        return rc;
    sweep_result_row(p, r, &res, row);
    return results_append(results, row);
}

int sweep_run(const plan *p, const sweep_options *opt, sweep_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    char results[4200];
    snprintf(results, sizeof results, "%s/results.tsv", opt->out_dir);
    result_row *done_rows;
    int n_done;
    int rc = results_read(results, &done_rows, &n_done);
    if (rc)
        return rc;

    int *queue = es_calloc((size_t)p->n_runs + 1, sizeof(int));
    child *running = es_calloc((size_t)opt->jobs, sizeof(child));
    if (!queue || !running) {
        free(queue);
        free(running);
        free(done_rows);
        return ES_ENOMEM;
    }
    int n_queue = 0, settled = 0, total = 0;
    for (int i = 0; i < p->n_runs; i++)
        if (i % opt->shard_n == opt->shard_k - 1)
            total++;
    summary->total = total;
    for (int i = 0; i < p->n_runs; i++) {
        if (i % opt->shard_n != opt->shard_k - 1)
            continue;
        const plan_run *r = &p->runs[i];
        const result_row *have = NULL;
        for (int j = 0; j < n_done && !have; j++)
            if (strcmp(done_rows[j].run, r->id) == 0)
                have = &done_rows[j];
        char dir[4096], result_json[4200];
        snprintf(dir, sizeof dir, "%s/%s", opt->out_dir, r->id);
        snprintf(result_json, sizeof result_json, "%s/result.json", dir);
        if (have) {
            summary->skipped++;
            emit(opt, SWEEP_EVENT_SKIPPED, r, ++settled, total, have, NULL);
        } else if (es_exists(result_json)) {
            /* finished, but the sweep died before appending its row */
            result_row row;
            if ((rc = record(p, opt, r, &row)))
                break;
            summary->finished++;
            summary->diverged += strcmp(row.status, "diverged") == 0;
            emit(opt, SWEEP_EVENT_FINISHED, r, ++settled, total, &row, NULL);
        } else {
            const char *from = NULL;
            int reused = opt->n_reuse ? reuse_run(opt, r, dir, &from) : 0;
            if (reused < 0) {
                rc = -reused;
                break;
            }
            if (!reused && opt->no_training) {
                char line[512], message[5000];
                last_log_line(dir, line, sizeof line);
                snprintf(message, sizeof message, "no result%s%s%s", line[0] ? " (" : "", line,
                         line[0] ? ", the last line of its train.log)" : ", and no train.log: never started");
                summary->failed++;
                emit(opt, SWEEP_EVENT_FAILED, r, ++settled, total, NULL, message);
                continue;
            }
            if (!reused) {
                queue[n_queue++] = i;
                continue;
            }
            result_row row;
            if ((rc = record(p, opt, r, &row)))
                break;
            summary->reused++;
            summary->diverged += strcmp(row.status, "diverged") == 0;
            emit(opt, SWEEP_EVENT_REUSED, r, ++settled, total, &row, from);
        }
    }
    free(done_rows);

    int threads = opt->threads > 0 ? opt->threads : omp_get_num_procs();
    int per_job = threads / opt->jobs > 0 ? threads / opt->jobs : 1;
    int next = 0, n_running = 0, forwarded = 0;
    while (rc == ES_OK && (next < n_queue || n_running > 0)) {
        int stopping = opt->stop && *opt->stop;
        if (stopping && !forwarded) {
            /* pass the stop on, once: the trainings checkpoint and exit (a
             * signal to the sweep alone, e.g. Slurm's --signal=B:TERM, or
             * one that came while no waitpid was blocking, reaches them too) */
            for (int c = 0; c < n_running; c++)
                kill(running[c].pid, SIGTERM);
            forwarded = 1;
        }
        while (!stopping && n_running < opt->jobs && next < n_queue) {
            const plan_run *r = &p->runs[queue[next]];
            /* where it starts: a requeued or resumed run shows its checkpoint's step */
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/%s", opt->out_dir, r->id);
            long from = 0;
            if (train_checkpoint_step(dir, &from) != ES_OK) {
                es_error_clear(); /* the training reports a bad checkpoint itself */
                from = 0;
            }
            pid_t pid = 0;
            if ((rc = start_child(opt, r, per_job, &pid)))
                break;
            running[n_running++] = (child){pid, queue[next++]};
            if (opt->on_event) {
                sweep_event e = {SWEEP_EVENT_STARTED, r, settled, total, NULL, NULL, from};
                opt->on_event(opt->ctx, &e);
            }
        }
        if (rc || n_running == 0)
            break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop's top passes a stop on */
            rc = es_error(ES_ESTATE, "waiting for the runs failed: %s", strerror(errno));
            break;
        }
        int slot = -1;
        for (int c = 0; c < n_running; c++)
            if (running[c].pid == pid)
                slot = c;
        if (slot < 0)
            continue;
        const plan_run *r = &p->runs[running[slot].index];
        running[slot] = running[--n_running];
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", opt->out_dir, r->id);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code == 0 || code == 3) { /* ok or diverged: both are results */
            result_row row;
            if ((rc = record(p, opt, r, &row)))
                break;
            summary->finished++;
            summary->diverged += code == 3;
            emit(opt, SWEEP_EVENT_FINISHED, r, ++settled, total, &row, NULL);
        } else if (opt->stop && *opt->stop) {
            summary->interrupted = 1;
        } else {
            char line[512], message[5000];
            last_log_line(dir, line, sizeof line);
            snprintf(message, sizeof message, "exit %d: %s (see %s/train.log)", code, line, dir);
            summary->failed++;
            emit(opt, SWEEP_EVENT_FAILED, r, ++settled, total, NULL, message);
        }
    }
    if (rc) { /* stop what still runs, and wait for it */
        for (int c = 0; c < n_running; c++)
            kill(running[c].pid, SIGTERM);
        for (int c = 0; c < n_running; c++)
            waitpid(running[c].pid, NULL, 0);
    }
    if (opt->stop && *opt->stop)
        summary->interrupted = 1;
    free(queue);
    free(running);
    return rc;
}

/* Writes s in single quotes for bash. */
static void shell_quote(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    fputc('\'', out);
}

static void sbatch_common(FILE *out, const slurm_options *o, const char *time)
{
    if (o->partition[0])
        fprintf(out, "#SBATCH --partition=%s\n", o->partition);
    if (o->account[0])
        fprintf(out, "#SBATCH --account=%s\n", o->account);
    if (o->qos[0])
        fprintf(out, "#SBATCH --qos=%s\n", o->qos);
    if (time[0])
        fprintf(out, "#SBATCH --time=%s\n", time);
    for (int i = 0; i < o->n_extra; i++)
        fprintf(out, "#SBATCH %s\n", o->extra[i]);
}

typedef struct {
    char cwd[PATH_MAX], exe[PATH_MAX], experiment[PATH_MAX], out_dir[PATH_MAX];
} slurm_paths;

/* Absolute paths for the scripts: they run on other machines, later. */
static int resolve_paths(const experiment *ex, const char *out_dir, const char *exe, slurm_paths *sp)
{
    if (!getcwd(sp->cwd, sizeof sp->cwd))
        return es_error(ES_EIO, "cannot read the current folder: %s", strerror(errno));
    if (!realpath(exe, sp->exe))
        return es_error(ES_EIO, "cannot resolve the path of the binary %s: %s", exe, strerror(errno));
    if (!realpath(ex->path, sp->experiment))
        return es_error(ES_EIO, "cannot resolve the path of %s: %s", ex->path, strerror(errno));
    if (out_dir[0] == '/')
        snprintf(sp->out_dir, sizeof sp->out_dir, "%s", out_dir);
    else if ((size_t)snprintf(sp->out_dir, sizeof sp->out_dir, "%s/%s", sp->cwd, out_dir) >= sizeof sp->out_dir)
        return es_error(ES_EINVAL, "the path of %s is too long", out_dir);
    /* sbatch expands % in --output, and a line break would end the #SBATCH line */
    if (strpbrk(sp->out_dir, "%\n\r"))
        return es_error(ES_EINVAL, "the folder '%s' holds %% or a line break, which sbatch's --output cannot take",
                        out_dir);
    return ES_OK;
}

static int slurm_tasks(const plan *p) { return p->n_runs < SWEEP_SLURM_MAX_TASKS ? p->n_runs : SWEEP_SLURM_MAX_TASKS; }

static void array_script(const experiment *ex, const plan *p, const slurm_paths *sp, const char *const *sets,
                         int n_sets, int threads, FILE *out)
{
    const slurm_options *o = &ex->slurm;
    int tasks = slurm_tasks(p);
    int cpus = o->cpus_per_task > 0 ? o->cpus_per_task : threads > 0 ? threads : 2;
    fprintf(out, "#!/bin/bash\n");
    fprintf(out, "# Slurm job array for the %d runs of experiment %s: %d tasks, task I runs\n", p->n_runs, p->name,
            tasks);
    fprintf(out, "# shard I/%d of the plan. A task that is requeued or preempted (SIGTERM)\n", tasks);
    fprintf(out, "# checkpoints its training and resumes it when it runs again; finished\n");
    fprintf(out, "# runs are skipped. `engram-scale sweep EXP --slurm --submit` (or `study EXP\n");
    fprintf(out, "# --slurm`) submits it with report.sh as a job that waits for it; by hand:\n");
    fprintf(out, "#   sbatch --parsable array.sh   then   sbatch --dependency=afterany:ID report.sh\n");
    fprintf(out, "#SBATCH --job-name=engram-%s\n", p->name);
    fprintf(out, "#SBATCH --array=1-%d\n", tasks);
    fprintf(out, "#SBATCH --cpus-per-task=%d\n", cpus);
    fprintf(out, "#SBATCH --output=%s/slurm/array-%%A_%%a.log\n", sp->out_dir);
    fprintf(out, "#SBATCH --open-mode=append\n");
    fprintf(out, "#SBATCH %s\n", o->requeue ? "--requeue" : "--no-requeue");
    if (o->signal_seconds > 0)
        fprintf(out, "#SBATCH --signal=B:TERM@%d\n", o->signal_seconds);
    sbatch_common(out, o, o->time);
    fprintf(out, "set -eu\ncd ");
    shell_quote(out, sp->cwd);
    fprintf(out, "\necho \"engram-scale: task ${SLURM_ARRAY_TASK_ID} of job ${SLURM_ARRAY_JOB_ID} (job "
                 "${SLURM_JOB_ID}) on $(hostname), restart ${SLURM_RESTART_COUNT:-0}, $(date -u +%%FT%%TZ)\"\n");
    fprintf(out, "exec ");
    shell_quote(out, sp->exe);
    fprintf(out, " sweep ");
    shell_quote(out, sp->experiment);
    fprintf(out, " --out ");
    shell_quote(out, sp->out_dir);
    fprintf(out, " --shard \"${SLURM_ARRAY_TASK_ID}/%d\" --threads \"${SLURM_CPUS_PER_TASK}\"", tasks);
    for (int i = 0; i < n_sets; i++) {
        fprintf(out, " --set ");
        shell_quote(out, sets[i]);
    }
    fputc('\n', out);
}

static void report_script(const experiment *ex, const plan *p, const slurm_paths *sp, const char *const *sets,
                          int n_sets, FILE *out)
{
    const slurm_options *o = &ex->slurm;
    fprintf(out, "#!/bin/bash\n");
    fprintf(out, "# After the job array of experiment %s: fit, plot and report.md from the\n", p->name);
    fprintf(out, "# runs' results (study --report-only trains nothing; runs without a result,\n");
    fprintf(out, "# from failed or cancelled tasks, are listed and make the job fail).\n");
    fprintf(out, "#SBATCH --job-name=engram-%s-report\n", p->name);
    fprintf(out, "#SBATCH --cpus-per-task=1\n");
    fprintf(out, "#SBATCH --output=%s/slurm/report-%%j.log\n", sp->out_dir);
    fprintf(out, "#SBATCH --open-mode=append\n");
    sbatch_common(out, o, o->report_time);
    fprintf(out, "set -eu\ncd ");
    shell_quote(out, sp->cwd);
    fprintf(out, "\necho \"engram-scale: report job ${SLURM_JOB_ID} on $(hostname), $(date -u +%%FT%%TZ)\"\n");
    fprintf(out, "exec ");
    shell_quote(out, sp->exe);
    fprintf(out, " study ");
    shell_quote(out, sp->experiment);
    fprintf(out, " --out ");
    shell_quote(out, sp->out_dir);
    fprintf(out, " --report-only");
    for (int i = 0; i < n_sets; i++) {
        fprintf(out, " --set ");
        shell_quote(out, sets[i]);
    }
    fputc('\n', out);
}

static int write_script(const char *path, void (*fill)(void *ctx, FILE *f), void *ctx)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return es_error(ES_ENOMEM, "cannot format %s", path);
    fill(ctx, f);
    fclose(f);
    int rc = file_write_atomic(path, text, len);
    free(text);
    if (rc == ES_OK && chmod(path, 0755) != 0)
        rc = es_error(ES_EIO, "cannot make %s executable: %s", path, strerror(errno));
    return rc;
}

typedef struct {
    const experiment *ex;
    const plan *p;
    const slurm_paths *sp;
    const char *const *sets;
    int n_sets, threads;
} script_ctx;

static void fill_array(void *ctx, FILE *f)
{
    script_ctx *c = ctx;
    array_script(c->ex, c->p, c->sp, c->sets, c->n_sets, c->threads, f);
}

static void fill_report(void *ctx, FILE *f)
{
    script_ctx *c = ctx;
    report_script(c->ex, c->p, c->sp, c->sets, c->n_sets, f);
}

int sweep_slurm_write(const experiment *ex, const plan *p, const char *out_dir, const char *exe,
                      const char *const *sets, int n_sets, int threads, sweep_slurm_jobs *jobs)
{
    memset(jobs, 0, sizeof *jobs);
    slurm_paths sp;
    int rc = resolve_paths(ex, out_dir, exe, &sp);
    if (rc)
        return rc;
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/slurm", sp.out_dir);
    if ((rc = es_mkdir_p(dir))) /* sbatch opens --output in it before the script runs */
        return rc;
    snprintf(jobs->array_script, sizeof jobs->array_script, "%s/array.sh", dir);
    snprintf(jobs->report_script, sizeof jobs->report_script, "%s/report.sh", dir);
    snprintf(jobs->log_dir, sizeof jobs->log_dir, "%s", dir);
    jobs->tasks = slurm_tasks(p);
    jobs->cpus_per_task = ex->slurm.cpus_per_task > 0 ? ex->slurm.cpus_per_task : threads > 0 ? threads : 2;
    script_ctx ctx = {ex, p, &sp, sets, n_sets, threads};
    if ((rc = write_script(jobs->array_script, fill_array, &ctx)))
        return rc;
    return write_script(jobs->report_script, fill_report, &ctx);
}

/* Runs `sbatch --parsable [dependency] script` and reads the job id. */
static int sbatch(const char *script, const char *dependency, char *id, size_t id_size)
{
    int fds[2];
    if (pipe(fds) != 0)
        return es_error(ES_EIO, "cannot run sbatch: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return es_error(ES_EIO, "cannot run sbatch: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        char *args[5];
        int n = 0;
        args[n++] = "sbatch";
        args[n++] = "--parsable";
        if (dependency)
            args[n++] = (char *)dependency;
        args[n++] = (char *)script;
        args[n] = NULL;
        execvp("sbatch", args);
        printf("cannot run sbatch: %s (is Slurm's client, Debian package slurm-client, installed?)\n",
               strerror(errno));
        fflush(stdout);
        _exit(127);
    }
    close(fds[1]);
    char output[4096];
    size_t len = 0;
    ssize_t got;
    while ((got = read(fds[0], output + len, sizeof output - 1 - len)) > 0 || (got < 0 && errno == EINTR))
        if (got > 0)
            len += (size_t)got;
    output[len] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    while (len > 0 && (output[len - 1] == '\n' || output[len - 1] == '\r'))
        output[--len] = '\0';
    /* --parsable prints "jobid" or "jobid;cluster"; warnings go before it */
    id[0] = '\0';
    char *save, *line = strtok_r(output, "\n", &save), *last_other = NULL;
    for (; line; line = strtok_r(NULL, "\n", &save)) {
        size_t digits = strspn(line, "0123456789");
        if (digits > 0 && (line[digits] == '\0' || line[digits] == ';') && digits < id_size) {
            memcpy(id, line, digits);
            id[digits] = '\0';
        } else {
            last_other = line;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !id[0])
        return es_error(ES_EIO, "sbatch %s failed (exit %d): %s", script,
                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                        last_other ? last_other : "no job id in its output");
    return ES_OK;
}

int sweep_slurm_submit(sweep_slurm_jobs *jobs)
{
    int rc = sbatch(jobs->array_script, NULL, jobs->array_id, sizeof jobs->array_id);
    if (rc)
        return rc;
    char dependency[96];
    snprintf(dependency, sizeof dependency, "--dependency=afterany:%s", jobs->array_id);
    rc = sbatch(jobs->report_script, dependency, jobs->report_id, sizeof jobs->report_id);
    if (rc)
        return es_error_wrap(rc, "the job array %s is submitted, but its report job is not", jobs->array_id);
    return ES_OK;
}
