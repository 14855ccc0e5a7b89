#!/bin/sh
# Paired-by-seed differences in final validation loss from results.tsv (the
# runs of one seed share data order and initial weights): mean, standard
# error and a 95% t interval (n - 1 degrees of freedom) of
#   Muon - AdamW at rho = 0      muon-rho0 - baseline
#   Muon - AdamW at rho = 1      muon-rho1 - adamw-rho1
#   rho 0 - rho 1 with AdamW     baseline - adamw-rho1   (Engram's gain over pure MoE, negative = Engram better)
#   rho 0 - rho 1 with Muon      muon-rho0 - muon-rho1
#   interaction                  (muon-rho0 - muon-rho1) - (baseline - adamw-rho1)
# Run from this folder: sh paired.sh > paired.txt
awk -F'\t' '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
$col["status"] == "ok" { loss[$col["label"], $col["seed"]] = $col["val_loss"]; seeds[$col["seed"]] = 1 }
function has(l, s) { return l == "" || ((l, s) in loss) }
function get(l, s) { return l == "" ? 0 : loss[l, s] }
function row(name, a, b, c, d,    n, s, ss, sd, x, m, se, list) {
  n = 0; s = 0; ss = 0; list = ""
  for (sd in seeds) if (has(a, sd) && has(b, sd) && has(c, sd) && has(d, sd)) {
    x = (get(a, sd) - get(b, sd)) - (get(c, sd) - get(d, sd)); n++; s += x; ss += x * x
    list = list sprintf("%ss%s %+.4f", list == "" ? "" : ", ", sd, x)
  }
  if (n == 0) { printf "%s\t0\n", name; return }
  m = s / n
  if (n < 2) { printf "%s\t%d\t%+.4f\tnan\tnan\tnan\t%s\n", name, n, m, list; return }
  se = sqrt((ss - n * m * m) / (n - 1) / n)
  printf "%s\t%d\t%+.4f\t%.4f\t%+.4f\t%+.4f\t%s\n", name, n, m, se, m - t[n] * se, m + t[n] * se, list
}
END {
  t[2] = 12.706; t[3] = 4.303; t[4] = 3.182; t[5] = 2.776; t[6] = 2.571  # t(0.975, n - 1)
  printf "comparison\tn\tdelta\tse\tci95_lo\tci95_hi\tper_seed\n"
  row("Muon - AdamW at rho = 0", "muon-rho0", "baseline", "", "")
  row("Muon - AdamW at rho = 1", "muon-rho1", "adamw-rho1", "", "")
  row("rho 0 - rho 1 with AdamW", "baseline", "adamw-rho1", "", "")
  row("rho 0 - rho 1 with Muon", "muon-rho0", "muon-rho1", "", "")
  row("interaction: (rho 0 - rho 1) with Muon minus with AdamW", "muon-rho0", "muon-rho1", "baseline", "adamw-rho1")
}' results.tsv
