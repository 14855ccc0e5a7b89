# Validation loss against the allocation ratio rho, one colour per compute
# budget (Figure 3 of the Engram paper), each budget relative to its own best
# measured mean loss, so that budgets far apart in loss share one axis and a
# small dip stays visible. Made by `engram-scale plot` from
# plots/allocation.gp; edit and rerun with `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat           one block per budget: rho, mean minus the best mean, sd, runs
#       @NAME@_fit.dat       fitted curves (minus the same offset) of the budgets in `fitted`:
#                            the U model where the two-lines test finds a U (solid),
#                            else the monotone fit (dashed)
#       @NAME@_optimum.dat   budget index, rho*, 95% interval, loss at rho* (U budgets only)
#       @NAME@_diverged.dat  rho, budget index, run of diverged runs
@STYLE@
n_budgets = @N_BUDGETS@
array budget_title[n_budgets] = [@BUDGET_TITLES@]
array rho_star[n_budgets] = [@RHO_STAR@]
array rho_lo[n_budgets] = [@RHO_LO@]
array rho_hi[n_budgets] = [@RHO_HI@]
fitted = "@FITTED@"       # budgets (1-based) with a curve, in the order of @NAME@_fit.dat's blocks
fitted_dt = "@FITTED_DT@" # their dash types: 1 U curve, 2 monotone fit
unfitted = "@UNFITTED@"   # budgets without one: their means are joined by a thin line
n_u_curves = @N_U_CURVES@
n_monotone_curves = @N_MONOTONE_CURVES@
n_optima = @N_OPTIMA@
n_diverged = @N_DIVERGED@
diverged_y = @DIVERGED_Y@ # diverged runs are marked near the top

set title "@TITLE@" noenhanced
set xlabel "allocation ratio ρ (share of sparse parameters in routed experts)"
set ylabel "loss − the budget's best mean (nats)"
set xrange [-0.04:1.04]
set yrange [@YMIN@:@YMAX@]
set xtics 0.2
set mxtics 2
set ytics @YTIC_STEP@
set format y "@YTIC_FORMAT@"
# the key below the plot and its axis label: inside it would cover points;
# width -6: gnuplot sizes the box by the raw text, markup such as 10^{13} included
# the bottom margin holds the axis label and one key line per entry
key_rows = @KEY_ROWS@
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
    set output "@NAME@." . fmt
    plot for [i=1:n_budgets] "@NAME@.dat" index i-1 using 1:2:3 with yerrorbars lt i title budget_title[i], \
         for [k=1:words(fitted)] "@NAME@_fit.dat" index k-1 using 1:2 with lines lt nth(fitted, k) \
             dashtype nth(fitted_dt, k) notitle, \
         for [k=1:words(unfitted)] "@NAME@.dat" index nth(unfitted, k)-1 using 1:2 \
             with lines lt nth(unfitted, k) lw 1 dt 3 notitle, \
         for [k=1:(n_optima > 0)] "@NAME@_optimum.dat" using 2:5:3:4:1 with xerrorbars lc variable pt 6 ps 2.2 lw 2.5 notitle, \
         for [k=1:(n_diverged > 0)] "@NAME@_diverged.dat" using 1:(diverged_y):2 with points lc variable pt 2 ps 2 lw 2 notitle, \
         keyentry with lines lc "black" title (n_u_curves > 0 ? "U model (U by the two-lines test)" : ""), \
         keyentry with lines lc "black" dt 2 title (n_monotone_curves > 0 ? "monotone fit (no U)" : ""), \
         keyentry with xerrorbars lc "black" pt 6 ps 2.2 title (n_optima ? "ρ* with 95% interval" : ""), \
         keyentry with points lc "black" pt 2 ps 2 lw 2 title (n_diverged ? "diverged (not fitted)" : "")
}
set output
