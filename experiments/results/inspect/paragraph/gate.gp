# The Engram gate on a text, like Figure 7 of the Engram paper: the text in
# a monospace font, each token's background coloured by its gate value a_t
# (white 0, red 1), one panel per Engram layer (and branch). Made by
# `engram-scale inspect` from plots/inspect.gp; edit and rerun with
# `gnuplot gate.gp` in this folder.
# Data: gate.dat   x_lo x_hi line gate text (tab-separated), one block per
#                    panel; x in character columns, line from the top.
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

n_panels = 1
array panel_title[n_panels] = ["Engram at block 1 (0-based), branch 0: mean gate 0.615; validation loss 3.8630, 4.1996 with it off"]
lines = 15                  # text lines per panel
cols = 100                 # the widest line, in characters
gap = 3                          # lines above each panel: its title and a blank
total = n_panels * (lines + gap)
off(p) = (p - 1) * (lines + gap) + gap   # the first text line of panel p

# pixel geometry: the x range is the text's columns, so that a monospace
# character takes exactly one unit
char_px = 9.0                    # width of a DejaVu Sans Mono character at 15 px
line_px = 24
left_px = 16
right_px = 16
top_px = 50
bottom_px = 70
width = int(cols * char_px + left_px + right_px)
height = int(total * line_px + top_px + bottom_px)

set datafile separator "\t"
unset border
unset tics
unset grid
unset key
set xrange [0:cols]
set yrange [total - 0.5:-0.5]
set lmargin at screen left_px * 1.0 / width
set rmargin at screen 1 - right_px * 1.0 / width
set tmargin at screen 1 - top_px * 1.0 / height
set bmargin at screen bottom_px * 1.0 / height
set title "Engram gate on 251 tokens (runs/quick/C2e12-rho0.0000-s1)" noenhanced
set cbrange [0:1]
# white to red as in the paper's figure; black text stays readable at 1
set palette defined (0 "#ffffff", 0.5 "#fc9272", 1 "#cb181d")
set colorbox horizontal user origin screen 0.3, screen 30.0 / height size screen 0.4, screen 14.0 / height
set cbtics 0.25 out scale 0.5
set label 100 "Engram gate a_t" at screen 0.29, screen 37.0 / height right font ",13"
set style fill solid 1.0 noborder
do for [p = 1:n_panels] {  # tags 1..n_panels (100 is the colour bar's)
    set label p panel_title[p] at first 0, first off(p) - 1.5 left noenhanced font ",12"
}

do for [out in "png svg"] {
    if (out eq "png") {
        set terminal pngcairo size width, height enhanced font "DejaVu Sans,13" background "white"
        mono = "DejaVu Sans Mono,11.25"
    } else {
        set terminal svg size width, height fixed enhanced font "DejaVu Sans,13" background "white"
        mono = "DejaVu Sans Mono,15"
    }
    set output "gate." . out
    plot for [p = 1:n_panels] "gate.dat" index (p - 1) \
             using (($1 + $2) / 2):($3 + off(p)):($1 + 0.06):($2 - 0.06):($3 + off(p) - 0.46):($3 + off(p) + 0.46):4 \
             with boxxyerror fillcolor palette, \
         for [p = 1:n_panels] "gate.dat" index (p - 1) using 1:($3 + off(p)):5 \
             with labels left noenhanced font mono textcolor rgb "black"
    unset output
}
