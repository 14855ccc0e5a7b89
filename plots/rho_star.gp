# The optimal allocation against the compute budget C. A budget whose
# two-lines test finds a U shows rho* with its 95% bootstrap interval
# (filled); a budget without a U shows its best measured rho (open) and a
# small mark at each rho not significantly worse than it. Above each
# budget's column, the shape the two-lines test gives it (U, rising,
# falling, flat, not resolved). The paper found
# rho* near 0.75-0.8 at 2e20 and 6e20 FLOPs. Made by `engram-scale plot` from
# plots/rho_star.gp; edit and rerun with `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat            budget, rho, low, high, kind (1: rho* of a U; 0: no U)
#       @NAME@_not_worse.dat  budget, a rho not significantly worse (no-U budgets)
#       @NAME@_shape.dat      budget, label height, the two-lines shape, kind (1: U)
n_not_worse = @N_NOT_WORSE@
n_u = @N_U@          # budgets with a U
n_no_u = @N_NO_U@    # budgets without
@STYLE@
set title "@TITLE@" noenhanced
set xlabel "training compute C (FLOPs, log scale)"
set ylabel "allocation ratio ρ"
set logscale x
set format x "10^{%L}"
set xrange [@XMIN@:@XMAX@]
# the strip above rho = 1 holds the shape labels, out of the points' way
set yrange [-0.05:@YMAX@]
set ytics 0, 0.2, 1
set format y "%.1f"
# the key below the plot and its axis label: inside it would hide points;
# the bottom margin holds the axis label and one line per key entry
key_rows = (n_u > 0) + (n_no_u > 0) + (n_not_worse > 0) + 2
set bmargin 4.5 + 1.1 * key_rows
set key at screen 0.5, screen 0.01 center bottom vertical maxrows key_rows maxcols 1
# the paper's optimum, for reference
set object 1 rectangle from graph 0, first 0.75 to graph 1, first 0.8 behind \
    fillcolor rgb "#999999" fillstyle transparent solid 0.35 noborder
set label 1 "paper: ρ* ≈ 0.75–0.8" at graph 0.02, first 0.84 left textcolor rgb "#555555"

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    if (fmt eq "png") { set terminal pngcairo size 1000, 820 } else { set terminal svg size 480, 394 }
    set output "@NAME@." . fmt
    # an element of an empty loop still reads its file and can take a row of
    # the key: such elements are notitle, with a keyentry for the key
    plot "@NAME@.dat" using 1:($5 == 1 ? $2 : NaN):3:4 with yerrorbars lt 1 pt 7 ps 1.6 \
             title (n_u ? "ρ* of a U (two-lines test), 95% interval" : ""), \
         "@NAME@.dat" using 1:($5 == 1 ? NaN : $2) with points lt 2 pt 6 ps 2.2 lw 2 \
             title (n_no_u ? "no U: the best measured ρ" : ""), \
         for [k=1:(n_not_worse > 0)] "@NAME@_not_worse.dat" using 1:2 with points lt 2 pt 1 ps 1.6 lw 2 notitle, \
         keyentry with points lt 2 pt 1 ps 1.6 lw 2 \
             title (n_not_worse ? "no U: a ρ not significantly worse (seed-paired 95% interval)" : ""), \
         "@NAME@_shape.dat" using 1:2:($4 == 1 ? stringcolumn(3) : "") with labels tc lt 1 font ",14" notitle, \
         "@NAME@_shape.dat" using 1:2:($4 == 1 ? "" : stringcolumn(3)) with labels tc lt 2 font ",14" notitle, \
         keyentry with boxes fillcolor rgb "#999999" fillstyle transparent solid 0.35 noborder \
             title "Engram paper (2×10^{20}, 6×10^{20} FLOPs)", \
         keyentry with points pt -1 title "text above a budget: its shape by the two-lines test"
}
set output
