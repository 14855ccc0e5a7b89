# Validation loss against memory slots (log x): Engram against OverEncoding
# at the same table size, on a fixed MoE backbone (the paper's "infinite
# memory" regime). Made by `engram-scale plot` from plots/memory.gp; edit and
# rerun with `gnuplot memory.gp` in this folder.
# Data: memory.dat      one block per memory type: slots, mean, sd, runs
#       memory_fit.dat  fitted L(M) = L_inf + A M^-alpha of the series in `fitted`
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

n_series = 2
array series_title[n_series] = ["Engram: α = 0.170 [0.011, 0.547]", "OverEncoding: α = 0.191 [0.004, 0.597]"]
array series_lt[n_series] = [2, 1]
fitted = "1 2"       # series (1-based) with a curve, in the order of memory_fit.dat's blocks
unfitted = ""   # series without one: their means are joined by a thin line
n_baseline = 1
baseline = 3.592337371      # mean loss of the backbone without memory

set title "Memory scaling: Engram vs OverEncoding (infinite-memory)" noenhanced
set xlabel "memory slots M (table rows, log scale)"
set ylabel "validation loss (nats/token)"
set logscale x
set format x "10^{%L}"
set mxtics 10
set ytics 0.1
set format y "%.1f"
set yrange [3.364957899:4.050761352]
set xrange [6240:1599900.8]
set key top right
# the backbone without memory: a dashed line across the plot
if (n_baseline) {
    set arrow 1 from graph 0, first baseline to graph 1, first baseline nohead lt 7 lw 1.5 dt 2 back
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    set output "memory." . fmt
    plot for [i=1:n_series] "memory.dat" index i-1 using 1:2:3 with yerrorbars lt series_lt[i] title series_title[i], \
         for [k=1:words(fitted)] "memory_fit.dat" index k-1 using 1:2 \
             with lines lt series_lt[nth(fitted, k)] notitle, \
         for [k=1:words(unfitted)] "memory.dat" index nth(unfitted, k)-1 using 1:2 \
             with lines lt series_lt[nth(unfitted, k)] lw 1 dt 3 notitle, \
         keyentry with lines lt 7 lw 1.5 dt 2 title (n_baseline ? "no memory (2 runs): 3.592" : ""), \
         keyentry with lines lc "black" title (words(fitted) > 0 ? "fit L_∞ + A·M^{-α}" : "")
}
set output
