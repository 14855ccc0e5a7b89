# Ablation grid: mean +- sd of the validation loss over seeds per setting,
# with the difference to the reference setting from fit.json. Made by
# `engram-scale plot` from plots/grid.gp; edit and rerun with
# `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat  (tab-separated) index, label (shortened: see the ylabel),
#       mean, sd, runs, delta, delta text
@STYLE@
n_labels = @N_LABELS@
n_reference = @N_REFERENCE@
reference = @REFERENCE@    # mean loss of the reference setting

set datafile separator "\t"
# the title over the whole canvas: over the plot alone it would run into
# the delta column's header
set label 12 "@TITLE@" at screen 0.5, screen 0.96 center noenhanced
set tmargin 4.5
set xlabel "validation loss (nats/token)"
set ylabel "@YLABEL@" noenhanced
set xrange [@XMIN@:@XMAX@]
set yrange [n_labels - 0.5:-0.5]
set ytics noenhanced scale 0
set xtics @XTIC_STEP@
set format x "@XTIC_FORMAT@"
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
    set output "@NAME@." . fmt
    plot "@NAME@.dat" using 3:1:($3-$4):($3+$4):ytic(2) with xerrorbars lt 1 pt 7 ps 1.6 notitle, \
         "@NAME@.dat" using (@XMAX@):1:7 with labels left offset 1,0 textcolor rgb "#333333" notitle
}
set output
