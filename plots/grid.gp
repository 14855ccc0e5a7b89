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
set title "@TITLE@" noenhanced
set xlabel "validation loss (nats/token)"
set ylabel "@YLABEL@" noenhanced
set xrange [@XMIN@:@XMAX@]
set yrange [n_labels - 0.5:-0.5]
set ytics noenhanced scale 0
set xtics @XTIC_STEP@
set format x "@XTIC_FORMAT@"
set grid noytics
set key at screen 0.5, screen 0.015 center bottom horizontal
set bmargin 5.5
if (n_reference) {
    set arrow 1 from first reference, graph 0 to first reference, graph 1 nohead lt 7 lw 1.5 dt 2 back
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    set output "@NAME@." . fmt
    plot "@NAME@.dat" using 3:1:($3-$4):($3+$4):ytic(2) with xerrorbars lt 1 pt 7 ps 1.6 title "mean ± sd over seeds", \
         "@NAME@.dat" using 3:1:7 with labels center offset 0,1.1 textcolor rgb "#333333" notitle, \
         for [k=1:n_reference] keyentry with lines lt 7 lw 1.5 dt 2 title "reference"
}
set output
