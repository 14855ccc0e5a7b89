# Validation loss against training tokens, one line per run (from each run's
# log.tsv). Made by `engram-scale plot` from plots/training.gp; edit and rerun
# with `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat  one block per run: tokens, val_loss, colour value
#       (allocation: rho; memory: log10 slots; grid: unused)
@STYLE@
n_runs = @N_RUNS@
array run_dt[n_runs] = [@RUN_DT@]         # dash type: budget or memory type
array run_lt[n_runs] = [@RUN_LT@]         # colour when there is no colour bar
array run_title[n_runs] = [@RUN_TITLES@]
n_keys = @N_KEYS@
array key_title[n_keys > 0 ? n_keys : 1] = [@KEY_TITLES@]
array key_dt[n_keys > 0 ? n_keys : 1] = [@KEY_DT@]
use_palette = @USE_PALETTE@

set title "@TITLE@" noenhanced
set xlabel "@XLABEL@"
unit = @TOKEN_UNIT@    # tokens per x unit
set ylabel "validation loss (nats/token)"
set ytics @YTIC_STEP@
set format y "@YTIC_FORMAT@"
set yrange [@YMIN@:@YMAX@]
set xrange [0:@XMAX@]
# the key below the plot and its axis label, in up to two or three columns:
# inside it would cover curves
n_entries = 0
if (use_palette) { n_entries = n_keys } else { do for [i=1:n_runs] { if (strlen(run_title[i]) > 0) { n_entries = n_entries + 1 } } }
key_cols = 2   # at this width gnuplot fits two columns of run labels; planning for more leaves the key over the axis label
key_lines = int((n_entries + key_cols - 1) / key_cols)
set bmargin 4.5 + 1.25 * key_lines
set key at screen 0.5, screen 0.01 center bottom horizontal maxcols key_cols
if (use_palette) {
    set cbrange [@CB_MIN@:@CB_MAX@]
    set cblabel "@CB_LABEL@"
    set colorbox vertical user origin graph 1.03, graph 0 size graph 0.03, graph 1
    set rmargin 11
} else {
    unset colorbox
}

do for [fmt in "png svg"] {
    eval (fmt eq "png" ? term_png : term_svg)
    if (fmt eq "png") { set terminal pngcairo size 1000, 640 + 40 * key_lines } else { set terminal svg size 480, 307 + 19 * key_lines }
    set output "@NAME@." . fmt
    if (use_palette) {
        plot for [i=1:n_runs] "@NAME@.dat" index i-1 using ($1/unit):2:3 with lines lc palette dt run_dt[i] lw 2 notitle, \
             for [k=1:n_keys] keyentry with lines lc "#555555" dt key_dt[k] lw 2 title key_title[k]
    } else {
        plot for [i=1:n_runs] "@NAME@.dat" index i-1 using ($1/unit):2 with lines lt run_lt[i] dt run_dt[i] lw 2 \
             title run_title[i] noenhanced
    }
}
set output
