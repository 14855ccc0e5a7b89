#!/usr/bin/env bash
# Trains a tiny model with the real binary on a small real corpus: it beats
# the bigram floor, the same seed gives the same log, and a run killed with
# kill -9 and resumed ends exactly where an uninterrupted run does; bf16
# asked for where the CPU has none falls back to fp32 with one message.
source "$(dirname "$0")/harness.sh"
make_corpus
cat > tiny.yaml <<YAML
name: tiny
corpus: $WORK/kjv-part.txt
data_dir: $WORK/data
tokenizer:
  vocab: 512
model:
  d_model: 64
  layers: 2
  heads: 4
  seq_len: 64
  ffn_hidden: 192
train:
  batch: 16
  steps: 300
  epochs: 3
  warmup: 20
  lr: 0.004
  eval_every: 50
  checkpoint_every: 40
  threads: 2
YAML

CHECKS=$((CHECKS + 1))
"$BIN" data "$WORK/kjv-part.txt" --out "$WORK/data" --set tokenizer.vocab=512 --json > data.json
for key in train_tokens val_tokens vocab compressed_vocab unigram_val_loss bigram_val_loss; do
  [ -n "$(json_field data.json $key)" ] || fail "data --json lacks $key"
done
pass "data --json fields"

# N-gram coverage of a short run: bigrams cover more of validation than trigrams
CHECKS=$((CHECKS + 1))
"$BIN" data "$WORK/kjv-part.txt" --out "$WORK/data" --set tokenizer.vocab=512 --coverage 20000 --json > cov.json
c2=$(grep -A6 '"order": 2' cov.json | grep val_coverage | tr -dc '0-9.')
c3=$(grep -A6 '"order": 3' cov.json | grep val_coverage | tr -dc '0-9.')
if [ -n "$c2" ] && [ -n "$c3" ] && awk -v a="$c2" -v b="$c3" 'BEGIN { exit !(a > b && b > 0 && a < 1) }'; then
  pass "data --coverage: validation 2-grams $c2, 3-grams $c3 seen"
else fail "data --coverage: 2-grams '$c2', 3-grams '$c3'"; cat cov.json >&2; fi
expect_error "data --coverage of a non-number" "--coverage expects a token count" "$BIN" data "$WORK/kjv-part.txt" \
  --out "$WORK/data" --set tokenizer.vocab=512 --coverage lots

CHECKS=$((CHECKS + 1))
"$BIN" train tiny.yaml --out run-a --json > a.json || fail "train exited $?"
val=$(json_field a.json val_loss)
floor=$(json_field a.json bigram_val_loss)
if awk -v v="$val" -v f="$floor" 'BEGIN { exit !(v < f - 0.1) }'; then
  pass "val loss $val below the bigram floor $floor"
else fail "val loss $val not below the bigram floor $floor - 0.1"; fi

CHECKS=$((CHECKS + 1))
"$BIN" train tiny.yaml --out run-b > b.txt || fail "second train exited $?"
if grep -q $'\r' b.txt; then fail "progress bar written to a pipe"; else pass "line-oriented output on a pipe"; fi
CHECKS=$((CHECKS + 1))
if [ "$(wc -l < run-a/log.tsv)" -eq 7 ] && cmp -s <(cut -f1-5 run-a/log.tsv) <(cut -f1-5 run-b/log.tsv); then
  pass "same seed, identical log.tsv"
else fail "logs differ or have the wrong length"; diff run-a/log.tsv run-b/log.tsv >&2; fi

# kill -9 as soon as the first checkpoint exists, then resume
CHECKS=$((CHECKS + 1))
"$BIN" train tiny.yaml --out run-c > /dev/null &
pid=$!
for _ in $(seq 1 600); do [ -f run-c/checkpoint.bin ] && break; sleep 0.01; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
killed_at=$(tail -n +2 run-c/log.tsv | tail -1 | cut -f1)
expect_error "a run folder is not overwritten" "--resume" "$BIN" train tiny.yaml --out run-c
"$BIN" train tiny.yaml --out run-c --resume --json > c.json || fail "resume exited $?"
if [ "$(json_field c.json val_loss)" = "$val" ] && cmp -s <(cut -f1-5 run-a/log.tsv) <(cut -f1-5 run-c/log.tsv); then
  pass "killed (last logged step ${killed_at:-none}) and resumed: identical log and final loss $val"
else fail "resumed run differs: $(json_field c.json val_loss) vs $val"; diff run-a/log.tsv run-c/log.tsv >&2; fi

# bf16 on a CPU without it (simulated): one line on stderr, fp32 used and written
CHECKS=$((CHECKS + 1))
ENGRAM_SCALE_NO_BF16=1 "$BIN" train tiny.yaml --out run-nobf16 --set train.precision=bf16 --set train.steps=10 \
  --set train.eval_every=10 --json > nobf16.json 2> nobf16.err || fail "train without bf16 exited $?"
if [ "$(grep -c 'falls back to fp32' nobf16.err)" = 1 ] && grep -q '^  precision: fp32' run-nobf16/config.yaml &&
  grep -q '"precision": "fp32"' nobf16.json && grep -q '"precision": "fp32"' run-nobf16/result.json; then
  pass "bf16 without bf16 hardware: $(cat nobf16.err)"
else fail "bf16 fallback: stderr '$(cat nobf16.err)', config $(grep precision run-nobf16/config.yaml)"; fi
finish
