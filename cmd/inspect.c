/* engram-scale inspect: what a trained model's Engram gate does on a text,
 * and the validation loss with each Engram layer switched off. */
#include "cli.h"

#include "core/error.h"
#include "core/fs.h"
#include "core/parallel.h"
#include "study/inspect.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: engram-scale inspect RUN_DIR --text FILE|- [--out DIR] [--val-tokens N]\n"
    "                            [--threads N] [--json]\n"
    "\n"
    "Loads the trained run in RUN_DIR (config.yaml and checkpoint.bin), tokenises\n"
    "the text (FILE, or stdin for -) with the run's tokenizer and runs it through\n"
    "the model in sequences of model.seq_len tokens. For every token and every\n"
    "Engram layer it records the gate value, the N-grams (as text) and the table\n"
    "rows read, and the loss of the next token with Engram on, with that layer off\n"
    "and with all Engram off. It also evaluates the validation split with each\n"
    "Engram layer switched off at inference (the paper's \"Engram off\", its §6).\n"
    "\n"
    "Writes to DIR (default RUN_DIR/inspect): tokens.tsv (one row per token and\n"
    "layer), inspect.json, and gate.png / gate.svg with their gnuplot script\n"
    "gate.gp: the text coloured by gate value, like the paper's Figure 7.\n"
    "\n"
    "  --text FILE     the UTF-8 text to inspect ('-': read stdin)\n"
    "  --out DIR       output folder (default RUN_DIR/inspect)\n"
    "  --val-tokens N  validation tokens for the losses (default: the run's\n"
    "                  train.eval_tokens; all of the split if that is 0)\n"
    "  --threads N     worker threads (default: all cores)\n"
    "  --json          print inspect.json's document instead of the summary\n";

static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static double number(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int cmd_inspect(int argc, char **argv)
{
    cli_options opt;
    int rc = cli_begin("inspect", argc, argv, "text out json threads val-tokens", 1, HELP,
                       "a run folder, e.g. engram-scale inspect runs/NAME --text FILE", &opt);
    if (rc >= 0)
        return rc;
    if (!opt.text)
        return cli_error("inspect", EXIT_USAGE, "%s", "--text FILE (or --text - for stdin) is required");
    es_threads_set(opt.threads >= 0 ? opt.threads : 0);
    char *text = NULL;
    size_t len = 0;
    if (strcmp(opt.text, "-") == 0) {
        text = read_stdin(&len);
        if (!text)
            return cli_error("inspect", 1, "%s", "cannot read the text from stdin");
    } else if (es_read_file(opt.text, &text, &len)) {
        return cli_fail("inspect");
    }
    inspect_options io = {opt.positional[0], text, len, opt.out, opt.val_tokens, 1};
    json_t *doc;
    rc = inspect_run(&io, &doc);
    free(text);
    if (rc)
        return cli_fail("inspect");
    if (opt.json) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
        putchar('\n');
    } else {
        printf("inspected %lld tokens of text with %s\n", (long long)json_integer_value(json_object_get(doc, "tokens")),
               io.run_dir);
        printf("text loss         %.4f nats/token, %.4f with Engram off\n", number(doc, "text_loss"),
               number(doc, "text_loss_no_engram"));
        printf("validation loss   %.4f over %lld tokens, %.4f with Engram off\n", number(doc, "val_loss"),
               (long long)json_integer_value(json_object_get(doc, "val_tokens")), number(doc, "val_loss_no_engram"));
        size_t i;
        json_t *layer;
        json_array_foreach(json_object_get(doc, "layers"), i, layer)
        {
            printf("Engram layer %lld  mean gate %.3f; val loss with this layer off %.4f (%+.4f)\n",
                   (long long)json_integer_value(json_object_get(layer, "layer")), number(layer, "mean_gate"),
                   number(layer, "val_loss_layer_off"), number(layer, "val_delta_layer_off"));
            const char *cls;
            json_t *m;
            printf("  mean gate by token class:");
            json_object_foreach(json_object_get(layer, "gate_by_class"), cls, m)
            {
                if (json_integer_value(json_object_get(m, "n")) > 0)
                    printf(" %s %.3f (n=%lld)", cls, number(m, "mean"),
                           (long long)json_integer_value(json_object_get(m, "n")));
            }
            json_t *cap = json_object_get(layer, "gate_capital");
            if (json_integer_value(json_object_get(cap, "n")) > 0)
                printf("; capitalised word starts %.3f (n=%lld)", number(cap, "mean"),
                       (long long)json_integer_value(json_object_get(cap, "n")));
            printf("\n");
        }
        json_t *files = json_object_get(doc, "files");
        printf("wrote %s, %s, %s and %s\n", json_string_value(json_object_get(files, "tsv")),
               json_string_value(json_object_get(files, "json")),
               json_string_value(json_object_get(files, "figure_png")),
               json_string_value(json_object_get(files, "figure_svg")));
    }
    json_decref(doc);
    return 0;
}
