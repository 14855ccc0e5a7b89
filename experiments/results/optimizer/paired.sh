#!/bin/sh
# Muon - AdamW in final validation loss, paired by seed (the two runs of a
# seed share data order and initial weights), at rho = 0 (labels muon-rho0
# and baseline) and rho = 1 (muon-rho1 and adamw-rho1), from results.tsv:
# mean difference, its standard error and a 95% t interval (n - 1 degrees
# of freedom). Run from this folder: sh paired.sh > paired.txt
awk -F'\t' '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{ loss[$col["label"], $col["seed"]] = $col["val_loss"]; seeds[$col["seed"]] = 1 }
END {
  t[2] = 12.706; t[3] = 4.303; t[4] = 3.182; t[5] = 2.776; t[6] = 2.571
  pairs = "muon-rho0 baseline rho=0 muon-rho1 adamw-rho1 rho=1"
  split(pairs, p, " ")
  printf "comparison\tn\tmuon_mean\tadamw_mean\tdelta\tse\tci95_lo\tci95_hi\tper_seed\n"
  for (k = 0; k < 2; k++) {
    a = p[3 * k + 1]; b = p[3 * k + 2]; name = p[3 * k + 3]
    n = 0; s = 0; ss = 0; ma = 0; mb = 0; list = ""
    for (sd in seeds) if (((a, sd) in loss) && ((b, sd) in loss)) {
      d = loss[a, sd] - loss[b, sd]; n++; s += d; ss += d * d; ma += loss[a, sd]; mb += loss[b, sd]
      list = list sprintf("%ss%s %+.4f", list == "" ? "" : ", ", sd, d)
    }
    if (n == 0) { printf "Muon - AdamW at %s\t0\n", name; continue }
    m = s / n
    if (n >= 2) { se = sqrt((ss - n * m * m) / (n - 1) / n); lo = m - t[n] * se; hi = m + t[n] * se
      printf "Muon - AdamW at %s\t%d\t%.4f\t%.4f\t%+.4f\t%.4f\t%+.4f\t%+.4f\t%s\n", name, n, ma / n, mb / n, m, se, lo, hi, list }
    else printf "Muon - AdamW at %s\t%d\t%.4f\t%.4f\t%+.4f\tnan\tnan\tnan\t%s\n", name, n, ma / n, mb / n, m, list
  }
}' results.tsv
