#!/usr/bin/env bash
# `data` on a mixture of two small real texts (the start of the King James
# Bible and this repository's own C sources): per-source validation splits
# and floors, the list form of a config, and the errors of corpus strings.
source "$(dirname "$0")/harness.sh"

make_corpus
cat "$SOURCE_ROOT"/lib/*/*.c | head -c 600000 > "$WORK/code.txt"

CHECKS=$((CHECKS + 1))
if "$BIN" data "kjv-part.txt+code.txt@0.5" --out "$WORK/data" --set tokenizer.vocab=512 > mix.txt 2> mix.err; then
  if grep -q "^corpus  *kjv-part+code@0.5 " mix.txt && grep -qE "^ +kjv-part +1 +[0-9]+ +[0-9]+ " mix.txt &&
     grep -qE "^ +code +0.5 +[0-9]+ +[0-9]+ " mix.txt; then
    pass "mixture: per-source lines"
  else fail "mixture output: $(cat mix.txt)"; fi
else fail "mixture: $(cat mix.err)"; fi

# the same mixture as a config list, from the cache, as JSON
CHECKS=$((CHECKS + 1))
if "$BIN" data --out "$WORK/data" --set tokenizer.vocab=512 --set 'corpus=[kjv-part.txt, {code.txt: 0.5}]' --json > mix.json 2> mix.err; then
  n_sources=$(grep -c '"name":' mix.json)
  val=$(json_field mix.json val_tokens)
  sum=$(sed -nE 's/^ *"val_tokens": *([0-9]+),?$/\1/p' mix.json | tail -n +2 | awk '{s += $1} END {print s}')
  if [ "$n_sources" -eq 2 ] && [ "$val" -gt 0 ] && [ "$val" -eq "$sum" ]; then
    pass "mixture as a list: 2 sources, val tokens $val = sum over the sources"
  else fail "mixture JSON: $(cat mix.json)"; fi
else fail "mixture list: $(cat mix.err)"; fi

# training on the mixture logs the validation loss per source; with
# B*T = 128 dividing the 8192-token chunks of the interleaved validation
# split, the overall loss is a mean over batches of the sources' ones
CHECKS=$((CHECKS + 1))
printf 'name: mix\ncorpus: [kjv-part.txt, {code.txt: 0.5}]\ndata_dir: %s/data\ntokenizer: {vocab: 512}\nmodel: {d_model: 32, layers: 1, heads: 2, seq_len: 32, ffn_hidden: 64}\ntrain: {batch: 4, steps: 20, eval_every: 10, eval_tokens: 0, threads: 1}\n' "$WORK" > mix.yaml
if "$BIN" train mix.yaml --out run > train.out 2> train.err; then
  header=$(head -1 run/log.tsv)
  row=$(tail -1 run/log.tsv)
  if [[ "$header" == *$'\tval_loss_kjv-part\tval_loss_code' ]] &&
     echo "$row" | awk -F'\t' '{v = $4; a = $(NF - 1); b = $NF; lo = a < b ? a : b; hi = a < b ? b : a;
                                exit !(NF >= 11 && a > 0 && b > 0 && a != b && v >= lo - 1e-6 && v <= hi + 1e-6)}' &&
     grep -q '"val_loss_sources"' run/result.json && grep -q '"code":' run/result.json; then
    pass "per-source validation loss: $(echo "$row" | awk -F'\t' '{print $4, $(NF - 1), $NF}')"
  else fail "per-source validation loss: $header / $row / $(cat run/result.json)"; fi
else fail "train on the mixture: $(cat train.err)"; fi

expect_error "unknown corpus in a mixture" "unknown corpus 'linux-dox'" "$BIN" data "kjv-part.txt+linux-dox" --out "$WORK/data"
expect_error "bad weight" "the weight of code.txt is '2'" "$BIN" data "kjv-part.txt+code.txt@2" --out "$WORK/data"
expect_error "bad weight in a list" "corpus: the weight of code.txt is '0'" "$BIN" data --out "$WORK/data" --set 'corpus=[kjv-part.txt, {code.txt: 0}]'
expect_error "source twice" "appears twice" "$BIN" data "kjv-part.txt+kjv-part.txt@0.5" --out "$WORK/data"
finish
