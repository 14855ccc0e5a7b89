# Validation loss against training tokens, one line per run (from each run's
# log.tsv). Made by `engram-scale plot` from plots/training.gp; edit and rerun
# with `gnuplot training_grid.gp` in this folder.
# Data: training_grid.dat  one block per run: tokens, val_loss, colour value
#       (allocation: rho; memory: log10 slots; grid: unused)
# ---- engram-scale figure style (plots/style.gp, shared by every figure) ----
set encoding utf8
# Okabe-Ito colours (safe for colour-blind readers), one per series in this
# order; yellow last as it is faint on white.
set linetype 1 lc rgb "#0072B2" lw 2 pt 7  ps 1.4 dt solid   # blue
set linetype 2 lc rgb "#D55E00" lw 2 pt 5  ps 1.3 dt solid   # vermillion
set linetype 3 lc rgb "#009E73" lw 2 pt 9  ps 1.6 dt solid   # bluish green
set linetype 4 lc rgb "#CC79A7" lw 2 pt 13 ps 1.6 dt solid   # reddish purple
set linetype 5 lc rgb "#E69F00" lw 2 pt 11 ps 1.6 dt solid   # orange
set linetype 6 lc rgb "#56B4E9" lw 2 pt 15 ps 1.5 dt solid   # sky blue
set linetype 7 lc rgb "#000000" lw 2 pt 7  ps 1.4 dt solid   # black
set linetype 8 lc rgb "#F0E442" lw 2 pt 5  ps 1.3 dt solid   # yellow
set linetype cycle 8
# viridis: colour-blind safe and monotone in lightness, for colour bars
set palette defined (0 "#440154", 0.25 "#3B528B", 0.5 "#21908C", 0.75 "#5DC863", 1 "#B8DE29")  # viridis cut before its palest yellow
set border 3 lw 1.5
set tics nomirror out scale 0.75
set grid xtics ytics lc rgb "#e0e0e0" lw 1 dt solid
set key Left reverse box lc rgb "#c0c0c0" lw 1 opaque samplen 2.5 spacing 1.15 width 1
set errorbars 0.8
set bars small
set title offset 0,-0.3
# k-th number of a word list such as fitted = "1 3"; gnuplot evaluates a
# plot element's options even when its loop is empty, so this must not fail
nth(list, k) = k <= words(list) ? int(word(list, k)) : 1
# One layout, two outputs: PNG 1000x700 px and SVG 5x3.5 in (480x336 CSS px
# at 96 dpi) with fonts and lines scaled by the same 0.48.
term_png = 'set terminal pngcairo size 1000,700 enhanced font "DejaVu Sans,18" linewidth 1.5 rounded'
term_svg = 'set terminal svg size 480,336 fixed enhanced font "DejaVu Sans,8.64" linewidth 0.72 rounded background "white"'
# ---- end of style ----

n_runs = 15
array run_dt[n_runs] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]         # dash type: budget or memory type
array run_lt[n_runs] = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]         # colour when there is no colour bar
array run_title[n_runs] = ["baseline", "", "", "E4", "", "", "E8", "", "", "E16", "", "", "E42", "", ""]
n_keys = 0
array key_title[n_keys > 0 ? n_keys : 1] = [""]
array key_dt[n_keys > 0 ? n_keys : 1] = [1]
use_palette = 0

set title "Training curves, grid study (wul-expert-scaling-1e14)" noenhanced
set xlabel "training tokens (millions)"
unit = 1000000    # tokens per x unit
set ylabel "validation loss (nats/token)"
set ytics 0.25
set format y "%.2f"
set yrange [3.1749104:4.3277236]
set xrange [0:14.00856576]
# the key below the plot and its axis label, in up to two or three columns:
# inside it would cover curves
n_entries = 0
if (use_palette) { n_entries = n_keys } else { do for [i=1:n_runs] { if (strlen(run_title[i]) > 0) { n_entries = n_entries + 1 } } }
key_cols = 2   # at this width gnuplot fits two columns of run labels; planning for more leaves the key over the axis label
key_lines = int((n_entries + key_cols - 1) / key_cols)
set bmargin 4.5 + 1.25 * key_lines
set key at screen 0.5, screen 0.01 center bottom horizontal maxcols key_cols
if (use_palette) {
    set cbrange [0:1]
    set cblabel ""
    set colorbox vertical user origin graph 1.03, graph 0 size graph 0.03, graph 1
    set rmargin 11
} else {
    unset colorbox
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    if (fmt eq "png") { set terminal pngcairo size 1000, 640 + 40 * key_lines } else { set terminal svg size 480, 307 + 19 * key_lines }
    set output "training_grid." . fmt
    if (use_palette) {
        plot for [i=1:n_runs] "training_grid.dat" index i-1 using ($1/unit):2:3 with lines lc palette dt run_dt[i] lw 2 notitle, \
             for [k=1:n_keys] keyentry with lines lc "#555555" dt key_dt[k] lw 2 title key_title[k]
    } else {
        plot for [i=1:n_runs] "training_grid.dat" index i-1 using ($1/unit):2 with lines lt run_lt[i] dt run_dt[i] lw 2 \
             title run_title[i] noenhanced
    }
}
set output
