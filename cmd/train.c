/* engram-scale train: one training run. */
#include "cli.h"

#include "core/parallel.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/dataset.h"
#include "config/config.h"
#include "train/trainer.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char HELP[] =
    "usage: engram-scale train CONFIG.yaml [--set key.path=value ...] [--out DIR] [--resume]\n"
    "                          [--threads N] [--json]\n"
    "\n"
    "Trains the model CONFIG.yaml describes on its corpus (prepared on demand)\n"
    "and logs step, tokens, train_loss, val_loss, lr, seconds and the MoE's\n"
    "routing (load max/mean, bias range, effective experts, share of picks the\n"
    "balancing bias changed) to DIR/log.tsv at every eval, with checkpoints\n"
    "every train.checkpoint_every steps and at the end. Ctrl-C checkpoints and\n"
    "stops; --resume continues bit-identically.\n"
    "\n"
    "  --out DIR      run folder (default: runs/<name>)\n"
    "  --resume       continue DIR's run from its checkpoint\n"
    "  --threads N    worker threads (default: train.threads, 0 = all cores)\n"
    "  --set K=V      override a config key, e.g. --set model.d_model=256\n"
    "  --json         print the result as JSON\n";

typedef struct {
    es_progress *bar;
    int json;
    double floor;
} train_view;

static void on_started(void *ctx, const train_info *info)
{
    train_view *v = ctx;
    if (v->json)
        return;
    printf("model: %zu parameters (P_tot %zu, P_act %zu without embedding and head), %.3g FLOPs/token\n",
           info->n_params, info->p_tot, info->p_act, info->flops_per_token);
    printf("memory: %.3g GB dense (parameters, gradients, AdamW), %.3g GB tables with their Adam moments\n",
           info->dense_bytes / 1e9, info->table_bytes / 1e9);
    printf("training: %ld steps, %.4g tokens (%.2f passes over the training split)%s\n", info->total_steps,
           info->tokens, info->epochs, info->start_step > 0 ? ", resumed" : "");
    if (info->start_step > 0)
        printf("resumed at step %ld\n", info->start_step);
    fflush(stdout);
}

static void on_stepped(void *ctx, long step, long total, double loss)
{
    train_view *v = ctx;
    char status[64];
    snprintf(status, sizeof status, "loss %.4f", loss);
    es_progress_update(v->bar, step, status);
    (void)total;
}

static void on_evaluated(void *ctx, const train_eval *e)
{
    train_view *v = ctx;
    if (v->json)
        return;
    char moe[160] = "";
    if (isfinite(e->load_max_mean))
        snprintf(moe, sizeof moe, "  load max/mean %.2f  experts eff %.1f  bias [%.3g, %.3g] changed %.1f%%",
                 e->load_max_mean, e->experts_eff_min, e->bias_min, e->bias_max, 100 * e->bias_changed);
    es_progress_line(v->bar, "step %6ld  tokens %10.0f  train %.4f  val %.4f  lr %.3g  %.1fs%s", e->step, e->tokens,
                     e->train_loss, e->val_loss, e->lr, e->seconds, moe);
}

int cmd_train(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("train", argc, argv, "set out json resume threads", 1, HELP, "a config file, engram-scale train CONFIG.yaml", &opt);
    if (rc >= 0)
        return rc;
    run_config cfg;
    if (config_load(opt.positional[0], opt.sets, opt.n_sets, &cfg))
        return cli_fail("train");
    if (opt.threads >= 0)
        cfg.train.threads = opt.threads;
    es_threads_set(cfg.train.threads);
    cli_apply_precision("train", &cfg);

    char out[4096];
    if (opt.out)
        snprintf(out, sizeof out, "%s", opt.out);
    else
        snprintf(out, sizeof out, "runs/%s", cfg.name);

    dataset *ds;
    if (dataset_prepare(cfg.corpus, cfg.data_dir, cfg.vocab, 0, NULL, NULL, &ds))
        return cli_fail("train");

    cli_install_signal_handlers();
    train_view view = {0};
    view.json = opt.json;
    view.floor = ds->bigram_val_loss;
    view.bar = es_progress_new(stdout, "train", config_total_steps(&cfg), opt.json ? 0 : -1);
    train_hooks hooks = {&view, on_started, on_stepped, on_evaluated, &cli_stop_requested};
    train_result res;
    rc = train_run(&cfg, ds, out, opt.resume, &hooks, &res);
    es_progress_finish(view.bar);
    es_progress_free(view.bar);
    cli_report_gemm_fallbacks("train");
    if (rc) {
        dataset_free(ds);
        if (cli_stop_requested)
            return cli_error("train", EXIT_INTERRUPTED, "%s (the checkpoint is saved)", es_error_message());
        return cli_fail("train");
    }
    if (opt.json) {
        json_t *o = json_object();
        json_object_set_new(o, "run", json_string(out));
        json_object_set_new(o, "status", json_string(res.diverged ? "diverged" : "ok"));
        json_object_set_new(o, "steps", json_integer(res.steps));
        json_object_set_new(o, "tokens", json_real(res.tokens));
        json_object_set_new(o, "val_loss", isfinite(res.val_loss) ? json_real(res.val_loss) : json_null());
        json_object_set_new(o, "best_val_loss",
                            isfinite(res.best_val_loss) ? json_real(res.best_val_loss) : json_null());
        json_object_set_new(o, "train_loss", isfinite(res.train_loss) ? json_real(res.train_loss) : json_null());
        json_object_set_new(o, "unigram_val_loss", json_real(ds->unigram_val_loss));
        json_object_set_new(o, "bigram_val_loss", json_real(ds->bigram_val_loss));
        json_object_set_new(o, "seconds", json_real(res.seconds));
        json_object_set_new(o, "precision", json_string(config_precision_name(res.precision)));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
        putchar('\n');
        json_decref(o);
    } else if (res.diverged) {
        printf("diverged at step %ld; recorded in %s/result.json\n", res.diverged_step, out);
    } else {
        printf("val loss %.4f nats/token after %ld steps (%.4g tokens, %.1fs)\n", res.val_loss, res.steps,
               res.tokens, res.seconds);
        printf("floors: bigram %.4f, unigram %.4f; %.4f below the bigram floor\n", ds->bigram_val_loss,
               ds->unigram_val_loss, ds->bigram_val_loss - res.val_loss);
        printf("log: %s/log.tsv\n", out);
    }
    dataset_free(ds);
    return res.diverged ? EXIT_DIVERGED : 0;
}
