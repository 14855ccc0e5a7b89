# The optimal allocation against the compute budget C. A budget whose
# two-lines test finds a U shows rho* with its 95% bootstrap interval
# (filled); a budget without a U shows its best measured rho (open) and a
# small mark at each rho not significantly worse than it. Above each
# budget's column, the shape the two-lines test gives it (U, rising,
# falling, flat, not resolved). The paper found
# rho* near 0.75-0.8 at 2e20 and 6e20 FLOPs. Made by `engram-scale plot` from
# plots/rho_star.gp; edit and rerun with `gnuplot rho_star.gp` in this folder.
# Data: rho_star.dat            budget, rho, low, high, kind (1: rho* of a U; 0: no U)
#       rho_star_not_worse.dat  budget, a rho not significantly worse (no-U budgets)
#       rho_star_shape.dat      budget, label height, the two-lines shape, kind (1: U)
n_not_worse = 19
n_u = 0          # budgets with a U
n_no_u = 5    # budgets without
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

set title "Optimal allocation across budgets (wul-rho-vs-compute)" noenhanced
set xlabel "training compute C (FLOPs, log scale)"
set ylabel "allocation ratio ρ"
set logscale x
set format x "10^{%L}"
set xrange [1e+11:1e+15]
# the strip above rho = 1 holds the shape labels, out of the points' way
set yrange [-0.05:1.17]
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
    set output "rho_star." . fmt
    # an element of an empty loop still reads its file and can take a row of
    # the key: such elements are notitle, with a keyentry for the key
    plot "rho_star.dat" using 1:($5 == 1 ? $2 : NaN):3:4 with yerrorbars lt 1 pt 7 ps 1.6 \
             title (n_u ? "ρ* of a U (two-lines test), 95% interval" : ""), \
         "rho_star.dat" using 1:($5 == 1 ? NaN : $2) with points lt 2 pt 6 ps 2.2 lw 2 \
             title (n_no_u ? "no U: the best measured ρ" : ""), \
         for [k=1:(n_not_worse > 0)] "rho_star_not_worse.dat" using 1:2 with points lt 2 pt 1 ps 1.6 lw 2 notitle, \
         keyentry with points lt 2 pt 1 ps 1.6 lw 2 \
             title (n_not_worse ? "no U: a ρ not significantly worse (seed-paired 95% interval)" : ""), \
         "rho_star_shape.dat" using 1:2:($4 == 1 ? stringcolumn(3) : "") with labels tc lt 1 font ",14" notitle, \
         "rho_star_shape.dat" using 1:2:($4 == 1 ? "" : stringcolumn(3)) with labels tc lt 2 font ",14" notitle, \
         keyentry with boxes fillcolor rgb "#999999" fillstyle transparent solid 0.35 noborder \
             title "Engram paper (2×10^{20}, 6×10^{20} FLOPs)", \
         keyentry with points pt -1 title "text above a budget: its shape by the two-lines test"
}
set output
