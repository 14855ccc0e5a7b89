/* The gate figure of `engram-scale inspect` (like Figure 7 of the Engram
 * paper): the text laid out line by line in a monospace font, each token's
 * background coloured by its Engram gate value (white 0 to dark red 1),
 * one panel per Engram layer and branch. Filled from plots/inspect.gp
 * (with plots/style.gp) into DIR/NAME.gp, NAME.dat, NAME.png (width from
 * the text) and NAME.svg; `gnuplot NAME.gp` in DIR renders it again. */
#ifndef ES_PLOT_INSPECT_H
#define ES_PLOT_INSPECT_H

#include <stddef.h>

int plot_inspect_gate(const char *dir, const char *name, const char *title, int n_panels,
                      const char *const *panel_titles, int n_tokens, const char *const *tokens,
                      const size_t *token_lens, const float *gates /* [n_panels, n_tokens] */,
                      const int *seq_start /* [n_tokens]: 1 where a new sequence (context) starts */);

#endif
