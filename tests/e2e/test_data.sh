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

expect_error "unknown corpus in a mixture" "unknown corpus 'linux-dox'" "$BIN" data "kjv-part.txt+linux-dox" --out "$WORK/data"
expect_error "bad weight" "the weight of code.txt is '2'" "$BIN" data "kjv-part.txt+code.txt@2" --out "$WORK/data"
expect_error "bad weight in a list" "corpus: the weight of code.txt is '0'" "$BIN" data --out "$WORK/data" --set 'corpus=[kjv-part.txt, {code.txt: 0}]'
expect_error "source twice" "appears twice" "$BIN" data "kjv-part.txt+kjv-part.txt@0.5" --out "$WORK/data"
finish
