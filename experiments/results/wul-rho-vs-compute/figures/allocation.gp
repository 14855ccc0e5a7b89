# Validation loss against the allocation ratio rho, one colour per compute
# budget (Figure 3 of the Engram paper), each budget relative to its own best
# measured mean loss, so that budgets far apart in loss share one axis and a
# small dip stays visible. Made by `engram-scale plot` from
# plots/allocation.gp; edit and rerun with `gnuplot allocation.gp` in this folder.
# Data: allocation.dat           one block per budget: rho, mean minus the best mean, sd, runs
#       allocation_fit.dat       fitted curves (minus the same offset) of the budgets in `fitted`:
#                            the U model where the two-lines test finds a U (solid),
#                            else the monotone fit (dashed)
#       allocation_optimum.dat   budget index, rho*, 95% interval, loss at rho* (U budgets only)
#       allocation_diverged.dat  rho, budget index, run of diverged runs
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

n_budgets = 5
array budget_title[n_budgets] = ["C = 1.0×10^{12} FLOPs (best 5.637 at ρ = 0.25): no U (rising)", "C = 3.0×10^{12} FLOPs (best 4.736 at ρ = 0.00): no U (rising)", "C = 1.0×10^{13} FLOPs (best 4.013 at ρ = 0.25): no U (rising)", "C = 3.0×10^{13} FLOPs (best 3.645 at ρ = 0.25): no U (rising)", "C = 1.0×10^{14} FLOPs (best 3.156 at ρ = 0.50): no U (rising)"]
array rho_star[n_budgets] = [NaN, NaN, NaN, NaN, NaN]
array rho_lo[n_budgets] = [NaN, NaN, NaN, NaN, NaN]
array rho_hi[n_budgets] = [NaN, NaN, NaN, NaN, NaN]
fitted = "1 2 3 4 5"       # budgets (1-based) with a curve, in the order of allocation_fit.dat's blocks
fitted_dt = "2 2 2 2 2" # their dash types: 1 U curve, 2 monotone fit
unfitted = ""   # budgets without one: their means are joined by a thin line
n_u_curves = 0
n_monotone_curves = 5
n_optima = 0
n_diverged = 0
diverged_y = 0.2735028717 # diverged runs are marked near the top

set title "Sparsity allocation: MoE experts vs Engram (wul-rho-vs-compute)" noenhanced
set xlabel "allocation ratio ρ (share of sparse parameters in routed experts)"
set ylabel "loss − the budget's best mean (nats)"
set xrange [-0.04:1.04]
set yrange [-0.053183683:0.2937400919]
set xtics 0.2
set mxtics 2
set ytics 0.05
set format y "%.2f"
# the key below the plot and its axis label: inside it would cover points;
# width -6: gnuplot sizes the box by the raw text, markup such as 10^{13} included
# the bottom margin holds the axis label and one key line per entry
key_rows = 6
set bmargin 4.5 + 1.1 * key_rows
set key at screen 0.5, screen 0.015 center bottom vertical maxrows key_rows maxcols 1 font ",15" width -6

# rho* of each budget with a U: a dashed line at rho*, its 95% interval shaded
do for [i=1:n_budgets] {
    if (rho_star[i] == rho_star[i]) {
        if (rho_lo[i] == rho_lo[i] && rho_hi[i] == rho_hi[i]) {
            set object i rectangle from first rho_lo[i], graph 0 to first rho_hi[i], graph 1 \
                behind fillcolor lt i fillstyle transparent solid 0.12 noborder
        }
        set arrow i from first rho_star[i], graph 0 to first rho_star[i], graph 1 nohead lt i lw 1.5 dt 2 back
    }
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    if (fmt eq "png") { set terminal pngcairo size 1000, 640 + 40 * key_rows } else { set terminal svg size 480, 307 + 19 * key_rows }
    set output "allocation." . fmt
    plot for [i=1:n_budgets] "allocation.dat" index i-1 using 1:2:3 with yerrorbars lt i title budget_title[i], \
         for [k=1:words(fitted)] "allocation_fit.dat" index k-1 using 1:2 with lines lt nth(fitted, k) \
             dashtype nth(fitted_dt, k) notitle, \
         for [k=1:words(unfitted)] "allocation.dat" index nth(unfitted, k)-1 using 1:2 \
             with lines lt nth(unfitted, k) lw 1 dt 3 notitle, \
         for [k=1:(n_optima > 0)] "allocation_optimum.dat" using 2:5:3:4:1 with xerrorbars lc variable pt 6 ps 2.2 lw 2.5 notitle, \
         for [k=1:(n_diverged > 0)] "allocation_diverged.dat" using 1:(diverged_y):2 with points lc variable pt 2 ps 2 lw 2 notitle, \
         keyentry with lines lc "black" title (n_u_curves > 0 ? "U model (U by the two-lines test)" : ""), \
         keyentry with lines lc "black" dt 2 title (n_monotone_curves > 0 ? "monotone fit (no U)" : ""), \
         keyentry with xerrorbars lc "black" pt 6 ps 2.2 title (n_optima ? "ρ* with 95% interval" : ""), \
         keyentry with points lc "black" pt 2 ps 2 lw 2 title (n_diverged ? "diverged (not fitted)" : "")
}
set output
