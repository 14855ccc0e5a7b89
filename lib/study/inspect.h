/* What a trained model's Engram gate does on a text (`engram-scale
 * inspect`), and the paper's §6 "Engram off" experiment.
 *
 * inspect_run() loads RUN_DIR/config.yaml and RUN_DIR/checkpoint.bin (the
 * parameters, the Engram tables and the MoE balancing biases), tokenises
 * the text with the run's tokenizer (data_dir/corpus/v<vocab>/, prepared on
 * demand), and runs it through the model in sequences of model.seq_len
 * tokens (the context restarts at each; train.batch sequences per forward,
 * the shape the model was trained with). For every input token and every
 * Engram layer (and branch: 0 until multi-branch residual streams exist)
 * it records the gate a_t, the N-grams (as text) whose hashed rows were
 * read and those rows, and the loss of predicting the next token with
 * every Engram layer on, with this layer off, and with all of them off.
 * It also evaluates the validation split (the first val_tokens tokens, in
 * train.batch x seq_len windows as the trainer's evals) with all layers
 * on, each layer off in turn, and all off.
 *
 * Files written to out_dir (default RUN_DIR/inspect):
 *   tokens.tsv     one row per (input token, Engram layer, branch):
 *                  seq pos token_id token class capital layer branch gate
 *                  loss loss_layer_off loss_no_engram next_token
 *                  ngram_<n> for each order n, rows
 *                  (token text escaped as \t \n \r \\; ngram_<n> joins the
 *                  N-gram's token texts with '|', <s> before a sequence's
 *                  start; rows: the stacked table rows read, one per hash
 *                  head, order by order, comma-separated)
 *   inspect.json   the summary and every token (the document --json prints)
 *   gate.gp, gate.dat, gate.png, gate.svg: the text coloured by gate value,
 *                  one panel per Engram layer and branch (lib/plot/inspect.h)
 *
 * Token classes (column class): "space" (whitespace only), "punct" (no
 * letter or digit), "number" (digits, no letter), and for tokens that
 * start with a letter: "word" (a whole word in one token), "word-first"
 * (the first token of a word of several tokens), "word-inner" (a later
 * token of such a word: starts with a letter right after a token that ends
 * with one). capital: 1 when the token starts a word with an uppercase
 * letter. lib/ prints nothing. */
#ifndef ES_STUDY_INSPECT_H
#define ES_STUDY_INSPECT_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    const char *run_dir;
    const char *text;   /* UTF-8, borrowed */
    size_t text_len;
    const char *out_dir; /* NULL: RUN_DIR/inspect */
    long val_tokens;     /* validation tokens for the losses; 0: the run's train.eval_tokens (0 there: all) */
    int plot;            /* 1: render the figure with gnuplot */
} inspect_options;

/* Runs the inspection; *doc (owned by the caller, json_decref) is
 * inspect.json's document:
 *   {run_dir, out_dir, corpus, tokens (count), seq_len, orders, val_tokens,
 *    val_loss, val_loss_no_engram, text_loss, text_loss_no_engram,
 *    layers: [{layer, branch, val_loss_layer_off, val_delta_layer_off,
 *              text_loss_layer_off, mean_gate,
 *              gate_by_class: {CLASS: {n, mean, sd}}, gate_capital: {n, mean, sd}}],
 *    token_rows: [{seq, pos, token_id, token, class, capital, next_token,
 *                  loss, loss_no_engram,
 *                  engram: [{layer, branch, gate, loss_layer_off,
 *                            ngrams: {"2": text, ...}, rows: [..]}]}],
 *    files: {tsv, json, figure_png, figure_svg, figure_script}}
 * Errors: ES_EIO/ES_ECONFIG for the run folder's files, ES_ESTATE for a
 * checkpoint that does not fit the config, ES_EINVAL for a run without
 * Engram or a text of fewer than 2 tokens, ES_EMISSING for gnuplot. */
int inspect_run(const inspect_options *opt, json_t **doc);

/* The class of a token's text (see above); prev_ends_letter: the previous
 * token of the sequence ends with a letter; next_continues: the next token
 * starts with a letter (no leading space). Sets *capital. */
const char *inspect_token_class(const char *text, size_t len, int prev_ends_letter, int next_continues,
                                int *capital);

#endif
