# How the pure-MoE minus pure-memory gap, L(rho = 1) - L(rho = 0), moves
# with the compute budget C, and where its straight-line trend in log10 C
# would reach zero. Points: the measured gap per budget (mean over seeds,
# paired by seed), thick bars ±1 SE, thin bars the 95% t interval. Solid:
# the fitted line over the measured budgets; dashed over the shaded region:
# its extension beyond the largest measured budget, an extrapolation, to the
# projected zero with its 95% Fieller interval. Below zero pure MoE beats
# pure memory, and a left arm of the allocation U can appear. Made by
# `engram-scale plot` from plots/gap.gp; edit and rerun with
# `gnuplot gap.gp` in this folder.
# Data: gap.dat           budget, gap, SE, 95% low, 95% high
#       gap_fit.dat       block 0: the line over the measured budgets; block 1: its extension
#       gap_crossing.dat  C0, Fieller low, high (only when a zero is projected)
n_line = 1            # 1: a line was fitted (3 or more budgets)
n_extension = 0  # 1: the gap shrinks toward zero and the line is extended
n_crossing = 0    # 1: the projected zero lies on the axis
c_max = 1e+14              # the largest measured budget
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

set title "Pure MoE minus pure memory against compute (wul-rho-vs-compute)" noenhanced
set xlabel "training compute C (FLOPs, log scale)"
set ylabel "L(ρ = 1) − L(ρ = 0) (nats)"
set logscale x
set format x "10^{%L}"
set xrange [1e+11:1e+15]
set yrange [-0.2910373322:0.4902702269]
set ytics 0.2
set format y "%.1f"
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
    set output "gap." . fmt
    # the data notitle and the key from keyentry lines: an element of an
    # empty loop still reads its file and can take a row of the key
    plot "gap.dat" using 1:2:4:5 with yerrorbars lt 1 pt 7 ps 1.4 lw 1 notitle, \
         "gap.dat" using 1:2:3 with yerrorbars lt 1 pt 7 ps 1.4 lw 4 notitle, \
         for [k=1:n_line] "gap_fit.dat" index 0 using 1:2 with lines lt 2 lw 2 notitle, \
         for [k=1:n_extension] "gap_fit.dat" index 1 using 1:2 with lines lt 2 lw 2 dt 2 notitle, \
         for [k=1:n_crossing] "gap_crossing.dat" using 1:(0):2:3 with xerrorbars lt 2 pt 6 ps 2.2 lw 2 notitle, \
         keyentry with yerrorbars lt 1 pt 7 ps 1.4 lw 1 \
             title "measured: mean over seeds, ±1 SE (thick), 95% t interval (thin)", \
         keyentry with lines lt 2 lw 2 title (n_line ? "fit: gap = -0.873 + 0.0836 log_{10} C, slope 95% [-0.109, +0.276], χ^2/df 13.1" : ""), \
         keyentry with lines lt 2 lw 2 dt 2 title (n_extension ? "the line beyond the largest budget (extrapolation)" : ""), \
         keyentry with xerrorbars lt 2 pt 6 ps 2.2 lw 2 title (n_crossing ? "" : ""), \
         keyentry with lines lc rgb "#555555" lw 1.5 dt 3 title "zero: below it pure MoE beats pure memory"
}
set output
