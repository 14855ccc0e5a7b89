#!/bin/sh
# The measured reading of the gate in README.md, from sample/tokens.tsv
# (engram-scale inspect on 12 validation blocks of kjv, 8,515 tokens):
# mean gate by kind of token, the tokens with the highest and lowest mean
# gate, and how much Engram lowers the next token's loss by gate value.
# Run from this folder: sh measure.sh > measure.txt
T=sample/tokens.tsv
echo "# mean gate per token class (columns: class, n, mean, sd)"
awk -F'\t' 'NR > 1 { n[$5]++; s[$5] += $9; q[$5] += $9 * $9 }
  END { for (c in n) { m = s[c] / n[c]; printf "%s\t%d\t%.3f\t%.3f\n", c, n[c], m, sqrt(q[c] / n[c] - m * m) } }' $T | sort
echo "# capitalised word starts: mid-sentence (leading space: mostly names) and line-initial"
awk -F'\t' 'NR > 1 && $6 == 1 { k = substr($4, 1, 1) == " " ? "mid-sentence" : "line-initial"; n[k]++; s[k] += $9 }
  END { for (k in n) printf "%s\t%d\t%.3f\n", k, n[k], s[k] / n[k] }' $T | sort
echo "# highest mean gate, tokens seen at least 25 times (mean, n, [token])"
awk -F'\t' 'NR > 1 { n[$4]++; s[$4] += $9 } END { for (t in n) if (n[t] >= 25) printf "%.3f\t%d\t[%s]\n", s[t] / n[t], n[t], t }' $T |
  sort -rn | head -12
echo "# lowest mean gate, tokens seen at least 25 times"
awk -F'\t' 'NR > 1 { n[$4]++; s[$4] += $9 } END { for (t in n) if (n[t] >= 25) printf "%.3f\t%d\t[%s]\n", s[t] / n[t], n[t], t }' $T |
  sort -n | head -12
echo "# capitalised mid-sentence tokens seen at least 8 times"
awk -F'\t' 'NR > 1 && $6 == 1 && substr($4, 1, 1) == " " { n[$4]++; s[$4] += $9 }
  END { for (t in n) if (n[t] >= 8) printf "%.3f\t%d\t[%s]\n", s[t] / n[t], n[t], t }' $T | sort -rn
echo "# Engram's gain on the next token (loss_no_engram - loss, nats) by gate, and their correlation"
awk -F'\t' 'NR > 1 { g = $9; d = $12 - $10; n++; sg += g; sd += d; sgg += g * g; sdd += d * d; sgd += g * d
    k = g >= 0.8 ? "gate >= 0.8" : g >= 0.4 ? "0.4 <= gate < 0.8" : "gate < 0.4"; m[k]++; gain[k] += d }
  END { for (k in m) printf "%s\tn %d\tmean gain %.4f\n", k, m[k], gain[k] / m[k]
        mg = sg / n; md = sd / n
        printf "all\tn %d\tmean gate %.3f\tmean gain %.4f\tPearson r(gate, gain) %.3f\n", n, mg, md,
               (sgd / n - mg * md) / sqrt((sgg / n - mg * mg) * (sdd / n - md * md)) }' $T
