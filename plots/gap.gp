# How the pure-MoE minus pure-memory gap, L(rho = 1) - L(rho = 0), moves
# with the compute budget C, and where its straight-line trend in log10 C
# would reach zero. Points: the measured gap per budget (mean over seeds,
# paired by seed), thick bars ±1 SE, thin bars the 95% t interval. Solid:
# the fitted line over the measured budgets; dashed over the shaded region:
# its extension beyond the largest measured budget, an extrapolation, to the
# projected zero with its 95% Fieller interval. Below zero pure MoE beats
# pure memory, and a left arm of the allocation U can appear. Made by
# `engram-scale plot` from plots/gap.gp; edit and rerun with
# `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat           budget, gap, SE, 95% low, 95% high
#       @NAME@_fit.dat       block 0: the line over the measured budgets; block 1: its extension
#       @NAME@_crossing.dat  C0, Fieller low, high (only when a zero is projected)
n_line = @N_LINE@            # 1: a line was fitted (3 or more budgets)
n_extension = @N_EXTENSION@  # 1: the gap shrinks toward zero and the line is extended
n_crossing = @N_CROSSING@    # 1: the projected zero lies on the axis
c_max = @C_MAX@              # the largest measured budget
@STYLE@
set title "@TITLE@" noenhanced
set xlabel "training compute C (FLOPs, log scale)"
set ylabel "L(ρ = 1) − L(ρ = 0) (nats)"
set logscale x
set format x "10^{%L}"
set xrange [@XMIN@:@XMAX@]
set yrange [@YMIN@:@YMAX@]
set ytics @YTIC_STEP@
set format y "@YTIC_FORMAT@"
# the key below the plot and its axis label, one entry per line: inside
# it would hide points; the bottom margin holds the axis label and the key
key_rows = 2 + n_line + n_extension + n_crossing
set bmargin 4.5 + 1.1 * key_rows
# (width -8: gnuplot sizes the key by the raw text, counting the markup of
# 10^{13} as characters)
set key at screen 0.5, screen 0.01 center bottom vertical maxrows key_rows maxcols 1 font ",15" width -8
# zero: pure MoE and pure memory equal
set arrow 1 from graph 0, first 0 to graph 1, first 0 nohead lc rgb "#555555" lw 1.5 dt 3 back
if (n_extension) {
    set object 1 rectangle from first c_max, graph 0 to graph 1, graph 1 behind \
        fillcolor rgb "#999999" fillstyle transparent solid 0.18 noborder
    set label 1 "extrapolated" at first c_max, graph 0.96 offset 0.6, 0 left textcolor rgb "#555555"
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    if (fmt eq "png") { set terminal pngcairo size 1000, 820 } else { set terminal svg size 480, 394 }
    set output "@NAME@." . fmt
    # the data notitle and the key from keyentry lines: an element of an
    # empty loop still reads its file and can take a row of the key
    plot "@NAME@.dat" using 1:2:4:5 with yerrorbars lt 1 pt 7 ps 1.4 lw 1 notitle, \
         "@NAME@.dat" using 1:2:3 with yerrorbars lt 1 pt 7 ps 1.4 lw 4 notitle, \
         for [k=1:n_line] "@NAME@_fit.dat" index 0 using 1:2 with lines lt 2 lw 2 notitle, \
         for [k=1:n_extension] "@NAME@_fit.dat" index 1 using 1:2 with lines lt 2 lw 2 dt 2 notitle, \
         for [k=1:n_crossing] "@NAME@_crossing.dat" using 1:(0):2:3 with xerrorbars lt 2 pt 6 ps 2.2 lw 2 notitle, \
         keyentry with yerrorbars lt 1 pt 7 ps 1.4 lw 1 \
             title "measured: mean over seeds, ±1 SE (thick), 95% t interval (thin)", \
         keyentry with lines lt 2 lw 2 title (n_line ? @FIT_TITLE@ : ""), \
         keyentry with lines lt 2 lw 2 dt 2 title (n_extension ? "the line beyond the largest budget (extrapolation)" : ""), \
         keyentry with xerrorbars lt 2 pt 6 ps 2.2 lw 2 title (n_crossing ? @CROSS_TITLE@ : ""), \
         keyentry with lines lc rgb "#555555" lw 1.5 dt 3 title "zero: below it pure MoE beats pure memory"
}
set output
