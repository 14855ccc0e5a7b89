# Ablation grid: mean +- sd of the validation loss over seeds per setting,
# with the difference to the reference setting from fit.json. Made by
# `engram-scale plot` from plots/grid.gp; edit and rerun with
# `gnuplot grid.gp` in this folder.
# Data: grid.dat  (tab-separated) index, label (shortened: see the ylabel),
#       mean, sd, runs, delta, delta text
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

n_labels = 5
n_reference = 1
reference = 3.374476966    # mean loss of the reference setting

set datafile separator "\t"
# the title over the whole canvas: over the plot alone it would run into
# the delta column's header
set label 12 "Validation loss per setting (wul-expert-scaling-1e14)" at screen 0.5, screen 0.96 center noenhanced
set tmargin 4.5
set xlabel "validation loss (nats/token)"
set ylabel "setting" noenhanced
set xrange [3.159709795:3.59761288]
set yrange [n_labels - 0.5:-0.5]
set ytics noenhanced scale 0
set xtics 0.1
set format x "%.1f"
set grid noytics
# a key would not fit beside the delta column: one line of text instead
unset key
set label 11 "dots and bars: mean ± sd over seeds" . (n_reference ? "; dashed line: the reference" : "") at screen 0.02, screen 0.03 left
set bmargin 5.5
# the differences to the reference in a column right of the plot, one per row
set rmargin at screen 0.62
set label 10 "Δ, 95% interval" at graph 1, graph 1 left offset 1, 1
if (n_reference) {
    set arrow 1 from first reference, graph 0 to first reference, graph 1 nohead lt 7 lw 1.5 dt 2 back
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    set output "grid." . fmt
    plot "grid.dat" using 3:1:($3-$4):($3+$4):ytic(2) with xerrorbars lt 1 pt 7 ps 1.6 notitle, \
         "grid.dat" using (3.59761288):1:7 with labels left offset 1,0 textcolor rgb "#333333" notitle
}
set output
