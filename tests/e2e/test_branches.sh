#!/usr/bin/env bash
# model.branches (mHC) with the real binary on a small real corpus: a
# 4-branch MoE + Engram model trains below the unigram floor (160 steps are
# too few for the bigram one), gives the same bits when run twice, resumes
# bit-identically after kill -9, the branch-shared gate trains too, and
# config.yaml records branches.
source "$(dirname "$0")/harness.sh"
make_corpus
cat > mhc.yaml <<YAML
name: mhc
corpus: $WORK/kjv-part.txt
data_dir: $WORK/data
tokenizer:
  vocab: 512
model:
  d_model: 32
  layers: 2
  heads: 2
  seq_len: 32
  branches: 4
  moe:
    experts: 4
    top_k: 2
    shared: 1
    expert_hidden: 32
  memory: engram
  engram:
    slots: 20000
    head_dim: 8
    heads: 2
    layers: [1]
train:
  batch: 8
  steps: 160
  epochs: 3
  warmup: 10
  lr: 0.004
  eval_every: 40
  eval_tokens: 8192
  checkpoint_every: 40
  threads: 2
YAML
"$BIN" data "$WORK/kjv-part.txt" --out "$WORK/data" --set tokenizer.vocab=512 > /dev/null || fail "data exited $?"

CHECKS=$((CHECKS + 1))
"$BIN" train mhc.yaml --out run-a --json > a.json || fail "train exited $?"
val=$(json_field a.json val_loss)
floor=$(json_field a.json unigram_val_loss)
if awk -v v="$val" -v f="$floor" 'BEGIN { exit !(v < f - 0.5) }'; then
  pass "4 branches: val loss $val below the unigram floor $floor - 0.5"
else fail "4 branches: val loss $val not below the unigram floor $floor - 0.5"; fi

CHECKS=$((CHECKS + 1))
if grep -qE '^  branches: 4' run-a/config.yaml && grep -qE '^    branch_gates: true' run-a/config.yaml; then
  pass "config.yaml records branches and branch_gates"
else fail "config.yaml lacks branches: 4 or branch_gates"; fi

CHECKS=$((CHECKS + 1))
"$BIN" train mhc.yaml --out run-b > /dev/null || fail "second train exited $?"
if cmp -s <(cut -f1-5 run-a/log.tsv) <(cut -f1-5 run-b/log.tsv); then
  pass "same config, seed and threads: identical log.tsv"
else fail "a second run changes the bits"; diff run-a/log.tsv run-b/log.tsv >&2; fi

CHECKS=$((CHECKS + 1))
"$BIN" train mhc.yaml --out run-c > /dev/null &
pid=$!
for _ in $(seq 1 3000); do [ -f run-c/checkpoint.bin ] && break; sleep 0.01; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$BIN" train mhc.yaml --out run-c --resume --json > c.json || fail "resume exited $?"
if [ "$(json_field c.json val_loss)" = "$val" ] && cmp -s <(cut -f1-5 run-a/log.tsv) <(cut -f1-5 run-c/log.tsv); then
  pass "killed and resumed: identical log and final loss $val"
else fail "resumed run differs: $(json_field c.json val_loss) vs $val"; fi

CHECKS=$((CHECKS + 1))
"$BIN" train mhc.yaml --out run-d --set model.engram.branch_gates=false --json > d.json || fail "shared gate exited $?"
vd=$(json_field d.json val_loss)
if awk -v v="$vd" -v f="$floor" 'BEGIN { exit !(v < f - 0.5) }'; then
  pass "branch-shared gate: val loss $vd"
else fail "branch-shared gate: val loss $vd not below $floor - 0.5"; fi

expect_error "branches out of range" "model.branches = 9 is out of range [1, 8]" "$BIN" train mhc.yaml --out run-e \
  --set model.branches=9
expect_error "a shared gate on one stream" "needs model.branches > 1" "$BIN" train mhc.yaml --out run-f \
  --set model.branches=1 --set model.engram.branch_gates=false
finish
