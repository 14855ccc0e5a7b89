# The Engram gate on a text, like Figure 7 of the Engram paper: the text in
# a monospace font, each token's background coloured by its gate value a_t
# (white 0, red 1), one panel per Engram layer (and branch). Made by
# `engram-scale inspect` from plots/inspect.gp; edit and rerun with
# `gnuplot @NAME@.gp` in this folder.
# Data: @NAME@.dat   x_lo x_hi line gate text (tab-separated), one block per
#                    panel; x in character columns, line from the top.
@STYLE@
n_panels = @N_PANELS@
array panel_title[n_panels] = [@PANEL_TITLES@]
lines = @LINES@                  # text lines per panel
cols = @COLUMNS@                 # the widest line, in characters
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
set title @TITLE@ noenhanced
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
    set output "@NAME@." . out
    plot for [p = 1:n_panels] "@NAME@.dat" index (p - 1) \
             using (($1 + $2) / 2):($3 + off(p)):($1 + 0.06):($2 - 0.06):($3 + off(p) - 0.46):($3 + off(p) + 0.46):4 \
             with boxxyerror fillcolor palette, \
         for [p = 1:n_panels] "@NAME@.dat" index (p - 1) using 1:($3 + off(p)):5 \
             with labels left noenhanced font mono textcolor rgb "black"
    unset output
}
