# Validation loss against memory slots (log x): Engram against OverEncoding
# at the same table size, on a fixed MoE backbone (the paper's "infinite
# memory" regime). Made by `engram-scale plot` from plots/memory.gp; edit and
# rerun with `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat      one block per memory type: slots, mean, sd, runs
#       @NAME@_fit.dat  fitted L(M) = L_inf + A M^-alpha of the series in `fitted`
@STYLE@
n_series = @N_SERIES@
array series_title[n_series] = [@SERIES_TITLES@]
array series_lt[n_series] = [@SERIES_LT@]
fitted = "@FITTED@"       # series (1-based) with a curve, in the order of @NAME@_fit.dat's blocks
unfitted = "@UNFITTED@"   # series without one: their means are joined by a thin line
n_baseline = @N_BASELINE@
baseline = @BASELINE@      # mean loss of the backbone without memory

set title "@TITLE@" noenhanced
set xlabel "memory slots M (table rows, log scale)"
set ylabel "validation loss (nats/token)"
set logscale x
set format x "10^{%L}"
set mxtics 10
set ytics @YTIC_STEP@
set format y "@YTIC_FORMAT@"
set yrange [@YMIN@:@YMAX@]
set xrange [@XMIN@:@XMAX@]
set key top right
# the backbone without memory: a dashed line across the plot
if (n_baseline) {
    set arrow 1 from graph 0, first baseline to graph 1, first baseline nohead lt 7 lw 1.5 dt 2 back
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    set output "@NAME@." . fmt
    plot for [i=1:n_series] "@NAME@.dat" index i-1 using 1:2:3 with yerrorbars lt series_lt[i] title series_title[i], \
         for [k=1:words(fitted)] "@NAME@_fit.dat" index k-1 using 1:2 \
             with lines lt series_lt[nth(fitted, k)] notitle, \
         for [k=1:words(unfitted)] "@NAME@.dat" index nth(unfitted, k)-1 using 1:2 \
             with lines lt series_lt[nth(unfitted, k)] lw 1 dt 3 notitle, \
         keyentry with lines lt 7 lw 1.5 dt 2 title (n_baseline ? "@BASELINE_TITLE@" : ""), \
         keyentry with lines lc "black" title (words(fitted) > 0 ? "fit L_∞ + A·M^{-α}" : "")
}
set output
