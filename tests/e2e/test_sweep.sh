#!/usr/bin/env bash
# Sweeps with the real binary on a small real corpus: a sweep killed with
# kill -9 and run again, --jobs 2, and --shard 1/2 + 2/2 all give the
# results of one uninterrupted serial sweep; plan checks and errors.
source "$(dirname "$0")/harness.sh"
make_corpus
cat > exp.yaml <<YAML
name: tiny
corpus: $WORK/kjv-part.txt
data_dir: $WORK/data
tokenizer:
  vocab: 512
model:
  d_model: 32
  layers: 2
  heads: 2
  seq_len: 32
  moe:
    top_k: 1
    shared: 1
    expert_hidden: 32
  engram:
    head_dim: 8
    heads: 2
train:
  batch: 8
  warmup: 5
  eval_every: 40
  eval_tokens: 4096
  checkpoint_every: 20
sweep:
  kind: allocation
  budgets:
    - flops: 2e10
    - flops: 4e10
  total_to_active: 4
  rho: [0, 0.5, 1]
  seeds: [1, 2]
YAML
# results without the wall-time column, in plan order
results() { tail -n +2 "$1/results.tsv" | cut -f1-16,18- | sort; }

CHECKS=$((CHECKS + 1))
"$BIN" plan exp.yaml --json --no-calibrate > plan.json || fail "plan exited $?"
if grep -q '"runs"' plan.json && [ "$(grep -c '"p_tot"' plan.json)" -eq 12 ]; then
  pass "plan --json lists 12 runs"
else fail "plan --json"; fi

CHECKS=$((CHECKS + 1))
"$BIN" sweep exp.yaml --out serial > serial.txt || fail "serial sweep exited $?"
if [ "$(results serial | wc -l)" -eq 12 ]; then pass "serial sweep: 12 rows"; else fail "serial sweep rows"; cat serial.txt >&2; fi

# kill -9 while a run trains (after the first row), then run again
CHECKS=$((CHECKS + 1))
"$BIN" sweep exp.yaml --out killed > /dev/null &
pid=$!
for _ in $(seq 1 1000); do [ -f killed/results.tsv ] && [ "$(wc -l < killed/results.tsv)" -ge 3 ] && break; sleep 0.01; done
kill -9 "$pid"
wait "$pid" 2>/dev/null
rows_at_kill=$(($(wc -l < killed/results.tsv) - 1))
sleep 0.3
if pgrep -f "engram-scale train $WORK/killed" > /dev/null; then fail "a training outlived its killed sweep"; fi
"$BIN" sweep exp.yaml --out killed > /dev/null || fail "resumed sweep exited $?"
if [ "$rows_at_kill" -lt 12 ] && diff <(results serial) <(results killed) > /dev/null; then
  pass "killed after $rows_at_kill rows and resumed: identical results"
else fail "killed+resumed differs (rows at kill: $rows_at_kill)"; diff <(results serial) <(results killed) >&2; fi

# SIGTERM to the sweep alone (as Slurm's --signal=B:TERM sends before a time
# limit): it passes the stop on, the training checkpoints, and the sweep
# run again resumes it to the serial sweep's result
CHECKS=$((CHECKS + 1))
one=(--set 'sweep.budgets=[{flops: 4e10}]' --set 'sweep.rho=[0]' --set 'sweep.seeds=[1]')
"$BIN" sweep exp.yaml --out termed "${one[@]}" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 2000); do
  [ -f termed/C4e10-rho0.0000-s1/log.tsv ] && [ "$(wc -l < termed/C4e10-rho0.0000-s1/log.tsv)" -ge 3 ] && break
  sleep 0.01
done
kill -TERM "$pid"
wait "$pid"
code=$?
at=$(sed -nE 's/.*interrupted at step ([0-9]+).*/\1/p' termed/C4e10-rho0.0000-s1/train.log)
out=$("$BIN" sweep exp.yaml --out termed "${one[@]}")
if [ "$code" -eq 130 ] && [ -n "$at" ] && echo "$out" | grep -q "resuming C4e10-rho0.0000-s1 from its checkpoint at step $at" &&
   diff <(results serial | grep '^C4e10-rho0.0000-s1') <(results termed) > /dev/null; then
  pass "SIGTERM to the sweep: its training checkpointed at step $at, resumed there, identical result"
else fail "SIGTERM to the sweep (exit $code, interrupted at '$at'): $out"; fi

CHECKS=$((CHECKS + 1))
"$BIN" sweep exp.yaml --out jobs --jobs 2 > /dev/null || fail "--jobs 2 exited $?"
if diff <(results serial) <(results jobs) > /dev/null; then pass "--jobs 2: identical results"
else fail "--jobs 2 differs"; diff <(results serial) <(results jobs) >&2; fi

CHECKS=$((CHECKS + 1))
"$BIN" sweep exp.yaml --out shards --shard 1/2 > /dev/null || fail "--shard 1/2 exited $?"
half=$(($(wc -l < shards/results.tsv) - 1))
"$BIN" sweep exp.yaml --out shards --shard 2/2 > /dev/null || fail "--shard 2/2 exited $?"
if [ "$half" -eq 6 ] && diff <(results serial) <(results shards) > /dev/null; then
  pass "--shard 1/2 ($half rows) then 2/2: identical results"
else fail "shards differ (first shard: $half rows)"; fi

CHECKS=$((CHECKS + 1))
out=$("$BIN" sweep exp.yaml --out serial)
if echo "$out" | grep -q "0 finished now, 0 reused (0 diverged), 12 done before"; then pass "a finished sweep skips every run"
else fail "rerun did not skip: $out"; fi

# --reuse: another experiment sharing budget 4e10 and rho 0, 1 with the
# serial sweep copies those runs (same run.yaml) and trains only the rest
CHECKS=$((CHECKS + 1))
out=$("$BIN" sweep exp.yaml --out reuse --reuse serial --set 'sweep.budgets=[{flops: 4e10}, {flops: 3e10}]' \
      --set 'sweep.rho=[0, 1]' --set 'sweep.seeds=[1]')
reused_rows() { tail -n +2 "$1/results.tsv" | grep "^C4e10-rho0.0000-s1\|^C4e10-rho1.0000-s1" | cut -f1-16,18- | sort; }
if echo "$out" | grep -q "2 finished now, 2 reused (0 diverged)" && [ -f reuse/C4e10-rho1.0000-s1/reused_from ] &&
   [ ! -f reuse/C3e10-rho1.0000-s1/reused_from ] && diff <(reused_rows serial) <(reused_rows reuse) > /dev/null; then
  pass "--reuse: 2 identical runs copied with their results, 2 trained"
else fail "--reuse: $out"; fi

CHECKS=$((CHECKS + 1))
out=$("$BIN" sweep exp.yaml --out reuse2 --reuse serial --set 'sweep.budgets=[{flops: 4e10}]' --set 'sweep.rho=[1]' \
      --set 'sweep.seeds=[1]' --set train.lr=0.002)
if echo "$out" | grep -q "1 finished now, 0 reused"; then pass "--reuse: a run with another config is trained, not copied"
else fail "--reuse copied a run with a different config: $out"; fi

# --reuse also finds the same run under another name (another study's id
# for the same model and seed): its run.yaml differs only in the name line
CHECKS=$((CHECKS + 1))
mkdir -p other && cp -r serial/C4e10-rho1.0000-s1 other/p07-s1 && rm -f other/p07-s1/checkpoint.bin
sed -i '1s/^name: [^ ]*/name: p07-s1/' other/p07-s1/run.yaml
cp -r serial/C4e10-rho0.0000-s1 other/p08-s1 && sed -i '1s/^name: [^ ]*/name: p08-s1/' other/p08-s1/run.yaml
sed -i 's/^\(  lr: \)[0-9.e-]*/\10.002/' other/p08-s1/run.yaml
out=$("$BIN" sweep exp.yaml --out reuse3 --reuse other --set 'sweep.budgets=[{flops: 4e10}]' --set 'sweep.rho=[0, 1]' \
      --set 'sweep.seeds=[1]')
if echo "$out" | grep -q "1 finished now, 1 reused (0 diverged)" && grep -qx "other/p07-s1" reuse3/C4e10-rho1.0000-s1/reused_from &&
   head -1 reuse3/C4e10-rho1.0000-s1/run.yaml | grep -q "^name: C4e10-rho1.0000-s1 " && [ ! -f reuse3/C4e10-rho0.0000-s1/reused_from ] &&
   diff <(reused_rows serial | grep rho1) <(reused_rows reuse3 | grep rho1) > /dev/null; then
  pass "--reuse: the same run under another name is copied (run.yaml as this plan's), a renamed run with another lr is trained"
else fail "--reuse by content: $out"; fi

# A model with no memory builds no Engram module, so its engram block is
# unused: trained with another block it gives the same losses bit for bit,
# and --reuse matches a run whose run.yaml differs only there (and in the
# name); a memory run with another engram block is trained, not copied
CHECKS=$((CHECKS + 1))
out=$("$BIN" sweep exp.yaml --out engram-block --set 'sweep.budgets=[{flops: 4e10}]' --set 'sweep.rho=[1]' \
      --set 'sweep.seeds=[1]' --set model.engram.head_dim=4 --set model.engram.heads=3 --set model.engram.orders=[2])
if echo "$out" | grep -q "1 finished now, 0 reused" && grep -q "^    head_dim: 4 " engram-block/C4e10-rho1.0000-s1/run.yaml &&
   diff <(reused_rows serial | grep rho1) <(reused_rows engram-block | grep rho1) > /dev/null &&
   diff <(cut -f1-5,7- serial/C4e10-rho1.0000-s1/log.tsv) <(cut -f1-5,7- engram-block/C4e10-rho1.0000-s1/log.tsv) > /dev/null; then
  pass "no memory: another engram block trains the same losses bit for bit"
else fail "no memory: another engram block changed training: $out"; fi
CHECKS=$((CHECKS + 1))
mkdir -p other2 && cp -r engram-block/C4e10-rho1.0000-s1 other2/p09-s1 && rm -f other2/p09-s1/checkpoint.bin
sed -i '1s/^name: [^ ]*/name: p09-s1/' other2/p09-s1/run.yaml
cp -r serial/C4e10-rho0.0000-s1 other2/p10-s1 && sed -i '1s/^name: [^ ]*/name: p10-s1/' other2/p10-s1/run.yaml
sed -i 's/^\(    head_dim: \)[0-9]*/\14/' other2/p10-s1/run.yaml
grep -q "^  memory: engram" other2/p10-s1/run.yaml && grep -q "^    head_dim: 4 " other2/p10-s1/run.yaml || fail "test setup: p10-s1"
out=$("$BIN" sweep exp.yaml --out reuse4 --reuse other2 --set 'sweep.budgets=[{flops: 4e10}]' --set 'sweep.rho=[0, 1]' \
      --set 'sweep.seeds=[1]')
if echo "$out" | grep -q "1 finished now, 1 reused (0 diverged)" && grep -qx "other2/p09-s1" reuse4/C4e10-rho1.0000-s1/reused_from &&
   [ ! -f reuse4/C4e10-rho0.0000-s1/reused_from ]; then
  pass "--reuse: a no-memory run with another (unused) engram block is copied, a memory run with another engram block is trained"
else fail "--reuse and the engram block: $out"; fi

expect_error "--reuse of a missing folder" "--reuse nowhere: no such folder" "$BIN" sweep exp.yaml --out x --reuse nowhere

# --slurm writes the scripts and makes the folder of their #SBATCH --output
# logs (sbatch needs it before a task starts); the slurm section and --set
# slurm.* reach the #SBATCH lines; values are checked
CHECKS=$((CHECKS + 1))
"$BIN" sweep exp.yaml --out slurmed --slurm --threads 3 --set slurm.partition=cpu --set 'slurm.time="1-12:00"' \
  --set 'slurm.extra=["--mem=2G"]' > array.sh || fail "--slurm exited $?"
if grep -q -- '--array=1-12' array.sh && grep -q -- '--cpus-per-task=3' array.sh && grep -q -- '--partition=cpu' array.sh &&
   grep -q -- '--time=1-12:00' array.sh && grep -q -- '--mem=2G' array.sh && grep -q -- '--requeue' array.sh &&
   grep -q -- "--output=$WORK/slurmed/slurm/array-%A_%a.log" array.sh && [ -d slurmed/slurm ] &&
   grep -q -- '--report-only' slurmed/slurm/report.sh && cmp -s array.sh slurmed/slurm/array.sh; then
  pass "--slurm prints the job array (and writes it and report.sh into slurmed/slurm/, made for the logs)"
else fail "--slurm script"; cat array.sh >&2; fi
expect_error "unknown slurm key" "unknown key 'slurm.partiton'" "$BIN" sweep exp.yaml --slurm --set slurm.partiton=cpu
expect_error "slurm time format" "slurm.time = '3:00:00:00' is not a Slurm time" "$BIN" sweep exp.yaml --slurm --set 'slurm.time="3:00:00:00"'
expect_error "slurm extra line" "slurm.extra[0]: expected one sbatch option" "$BIN" sweep exp.yaml --slurm --set 'slurm.extra=[mem]'
expect_error "slurm cpus out of range" "slurm.cpus_per_task = 0: expected a whole number in [1, 4096]" \
  "$BIN" sweep exp.yaml --slurm --set slurm.cpus_per_task=0
expect_error "--submit without --slurm" "--submit goes with --slurm" "$BIN" sweep exp.yaml --submit

expect_error "rho out of range" "sweep.rho = 1.5 is out of range [0, 1]" "$BIN" plan exp.yaml --set sweep.rho=1.5
expect_error "unknown sweep key" "unknown key 'sweep.rhos'" "$BIN" plan exp.yaml --set 'sweep.rhos=[0,1]'
expect_error "unknown model key in an experiment" "unknown key 'model.d_modle'" "$BIN" plan exp.yaml --set model.d_modle=3
expect_error "more tokens than the corpus" "passes over the" "$BIN" plan exp.yaml --no-calibrate --set 'sweep.budgets.0.flops=1e14'
expect_error "budget too small for a step" "too small for one step" "$BIN" plan exp.yaml --no-calibrate --set 'sweep.budgets.0.flops=1e5'
expect_error "ratio without sparse parameters" "total_to_active" "$BIN" plan exp.yaml --no-calibrate --set sweep.total_to_active=1
expect_error "another plan in the folder" "another plan" "$BIN" sweep exp.yaml --out serial --set 'sweep.seeds=[7]'
# a folder planned before plan.tsv had its branches and optimizer columns
# (older binaries) still resumes: those columns stood for 1 and adamw
CHECKS=$((CHECKS + 1))
cp -r serial old-format
awk -F'\t' 'BEGIN { OFS = "\t" } { out = ""; for (i = 1; i <= NF; i++) if (i != 6 && i != 15) out = out (out == "" && i == 1 ? "" : OFS) $i; print out }' \
  serial/plan.tsv > old-format/plan.tsv
if head -1 old-format/plan.tsv | grep -qv branches && "$BIN" sweep exp.yaml --out old-format > old.out 2>&1 &&
   head -1 old-format/plan.tsv | grep -q $'\tbranches\t' && cmp -s old-format/results.tsv serial/results.tsv; then
  pass "a plan.tsv without the branches and optimizer columns resumes, and is brought up to date"
else fail "old-format plan.tsv: $(cat old.out) / $(head -2 old-format/plan.tsv)"; fi
# ... but not one whose runs had another optimizer
awk -F'\t' 'BEGIN { OFS = "\t" } NR > 1 { $6 = 4 } { print }' serial/plan.tsv > other-plan.tsv
cp -r serial other-format && cp other-plan.tsv other-format/plan.tsv
expect_error "another plan (other branches)" "another plan" "$BIN" sweep exp.yaml --out other-format
finish
