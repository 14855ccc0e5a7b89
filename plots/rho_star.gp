# The optimal allocation rho* (with its 95% bootstrap interval) against the
# compute budget C; the paper found it near 0.75-0.8 at 2e20 and 6e20 FLOPs.
# Made by `engram-scale plot` from plots/rho_star.gp; edit and rerun with
# `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat  budget, rho*, interval low, high, loss at rho*, interior
#       (1: an interior minimum, filled; 0: at the edge of the rho grid, open)
@STYLE@
set title "@TITLE@" noenhanced
set xlabel "training compute C (FLOPs, log scale)"
set ylabel "optimal allocation ratio ρ*"
set logscale x
set format x "10^{%L}"
set xrange [@XMIN@:@XMAX@]
set yrange [0:1.05]
set ytics 0.2
set format y "%.1f"
# the key below the plot: inside it would hide minima near rho = 0
set bmargin 7
set key at screen 0.5, screen 0.01 center bottom horizontal maxrows 2
# the paper's optimum, for reference
set object 1 rectangle from graph 0, first 0.75 to graph 1, first 0.8 behind \
    fillcolor rgb "#999999" fillstyle transparent solid 0.35 noborder
set label 1 "paper: ρ* ≈ 0.75–0.8" at graph 0.02, first 0.84 left textcolor rgb "#555555"

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    set output "@NAME@." . fmt
    plot "@NAME@.dat" using 1:2 with lines lt 1 lw 1.5 dt 2 notitle, \
         "@NAME@.dat" using 1:($6 == 1 ? $2 : NaN):3:4 with yerrorbars lt 1 pt 7 ps 1.6 title "fitted ρ*, 95% interval", \
         "@NAME@.dat" using 1:($6 == 1 ? NaN : $2):3:4 with yerrorbars lt 1 pt 6 ps 1.6 title "at the edge (no U)", \
         keyentry with boxes fillcolor rgb "#999999" fillstyle transparent solid 0.35 noborder \
             title "Engram paper (2×10^{20}, 6×10^{20} FLOPs)"
}
set output
