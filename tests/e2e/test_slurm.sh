#!/usr/bin/env bash
# A study on a live Slurm cluster: scripts/slurm-local.sh starts a private
# single-node cluster (munged, slurmctld, slurmd; installing slurm-wlm and
# munge when missing), `study --slurm` submits a 3-task job array and its
# dependent report job, one task is requeued in mid-run (`scontrol requeue`:
# SIGTERM, then the task runs again) and must resume from its checkpoint,
# and the results must equal a local sweep of the same experiment, bit for
# bit in the losses. Skips (exit 77, with the reason) where the daemons
# cannot run: not root, or a container without the rights.
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$(dirname "$0")/harness.sh"
CLUSTER="$WORK/cluster"
# the daemons leave the test's process group: stop them however it ends
# (meson's timeout sends SIGTERM)
trap 'bash "$ROOT/scripts/slurm-local.sh" stop "$CLUSTER"; rm -rf "$WORK"' EXIT
trap 'exit 143' TERM INT

bash "$ROOT/scripts/slurm-local.sh" start "$CLUSTER" 2> cluster.err
code=$?
if [ "$code" -eq 77 ]; then
  echo "SKIP: $(cat cluster.err)"
  exit 77
elif [ "$code" -ne 0 ]; then
  cat cluster.err >&2
  echo "FAIL: scripts/slurm-local.sh start exited $code" >&2
  exit 1
fi
export SLURM_CONF="$CLUSTER/slurm.conf"
sinfo

make_corpus
cat > exp.yaml << YAML
name: tiny-slurm
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
  epochs: 4
sweep:
  kind: allocation
  budgets:
    - flops: 5e10
  total_to_active: 4
  rho: [0, 0.5, 1]
  seeds: [1]
slurm:
  time: "20:00"
  report_time: "10:00"
  extra: ["--comment=engram-scale-e2e"]
YAML
# results without the wall-time column, in plan order
results() { tail -n +2 "$1/results.tsv" | cut -f1-16,18- | sort; }
job_states() { scontrol show job "$1" 2> /dev/null | sed -nE 's/.*JobId=([0-9]+) ArrayJobId=([0-9]+) ArrayTaskId=([0-9]+).*/\2_\3/p; s/.*JobId=([0-9]+) JobName.*/\1/p; s/^ *JobState=([A-Z_]+).*/\1/p; s/.*Restarts=([0-9]+).*/restarts \1/p' | paste -sd' '; }

CHECKS=$((CHECKS + 1))
"$BIN" study exp.yaml --out sl --slurm --threads 1 > submit.txt 2>&1
code=$?
cat submit.txt
array=$(sed -nE 's/.*submitted job array ([0-9]+).*/\1/p' submit.txt)
report=$(sed -nE 's/.*submitted report job ([0-9]+).*/\1/p' submit.txt)
if [ "$code" -eq 0 ] && [ -n "$array" ] && [ -n "$report" ] && grep -q "afterany:$array" submit.txt; then
  pass "study --slurm submitted job array $array (3 tasks) and report job $report after it"
else
  fail "study --slurm exited $code"
  finish
  exit 1
fi

# requeue task 2 (run C5e10-rho0.5000-s1, 784 steps) in mid-run: once its
# log.tsv has its evaluations up to step 200 (one every 40), while it trains
CHECKS=$((CHECKS + 1))
run=sl/C5e10-rho0.5000-s1
requeued=""
for _ in $(seq 1 1200); do
  if [ -f "$run/result.json" ]; then break; fi
  if [ -f "$run/log.tsv" ] && [ "$(wc -l < "$run/log.tsv")" -ge 6 ]; then
    scontrol requeue "${array}_2" && requeued=yes
    break
  fi
  sleep 0.05
done
if [ -n "$requeued" ]; then pass "requeued task ${array}_2 while $run was training"
else fail "could not requeue ${array}_2 in mid-run (result.json: $([ -f "$run/result.json" ] && echo present || echo absent))"; fi

# wait for the array and the report job (a requeued task waits ~10 s)
CHECKS=$((CHECKS + 1))
for _ in $(seq 1 600); do
  [ -z "$(squeue -h -j "$array,$report" 2> /dev/null)" ] && break
  sleep 0.5
done
if [ -z "$(squeue -h -j "$array,$report" 2> /dev/null)" ]; then pass "array $array and report job $report have left the queue"
else fail "jobs still queued after 300 s:"; squeue >&2; fi

echo "--- job states (scontrol show job)"
states_array=$(job_states "$array")
states_report=$(job_states "$report")
echo "array $array: $states_array"
echo "report $report: $states_report"
for f in sl/slurm/*.log; do echo "--- $f"; cat "$f"; done
echo "--- $run/train.log (interrupted and resumed)"
grep -E "interrupted|resumed|^val loss" "$run/train.log"

CHECKS=$((CHECKS + 1))
if [ "$(echo "$states_array" | grep -o COMPLETED | wc -l)" -eq 3 ] && echo "$states_array" | grep -q "restarts 1"; then
  pass "the 3 array tasks completed, one after a restart"
else fail "array task states: $states_array"; fi

CHECKS=$((CHECKS + 1))
if echo "$states_report" | grep -q COMPLETED && grep -q "training none (--report-only)" sl/slurm/report-"$report".log &&
   grep -q "study: report in" sl/slurm/report-"$report".log; then
  pass "the dependent report job $report ran study --report-only after the array"
else fail "report job $report: $states_report"; fi

# the requeued task: its log shows the restart and the step it resumed
# from, which is the step its training was interrupted at
CHECKS=$((CHECKS + 1))
tlog=sl/slurm/array-${array}_2.log
stopped=$(sed -nE 's/.*interrupted at step ([0-9]+).*/\1/p' "$run/train.log" | head -1)
resumed=$(sed -nE 's/.*resuming C5e10-rho0.5000-s1 from its checkpoint at step ([0-9]+).*/\1/p' "$tlog" | head -1)
if grep -q "restart 1" "$tlog" && grep -q "DUE TO JOB REQUEUE" "$tlog" && [ -n "$resumed" ] && [ "$resumed" -gt 0 ] &&
   [ "$resumed" = "$stopped" ] && grep -q "resumed at step $resumed" "$run/train.log"; then
  pass "task ${array}_2 was requeued, checkpointed at step $stopped and resumed from step $resumed"
else fail "no resume in $tlog (interrupted at '${stopped}', resumed from '${resumed}')"; fi

CHECKS=$((CHECKS + 1))
"$BIN" sweep exp.yaml --out local --threads 1 > local.txt || fail "local sweep exited $?"
if [ "$(results sl | wc -l)" -eq 3 ] && diff <(results local) <(results sl) > /dev/null; then
  pass "results.tsv of the Slurm study equals a local sweep, run for run (losses bit for bit)"
  cut -f1,13-15 sl/results.tsv
else fail "Slurm results differ from the local sweep"; diff <(results local) <(results sl) >&2; fi

CHECKS=$((CHECKS + 1))
if [ -s sl/report.md ] && [ -s sl/fit.json ]; then pass "report.md and fit.json written by the report job"
else fail "no report.md"; fi

# the report of a study with a run missing (a failed task): listed, exit 1
CHECKS=$((CHECKS + 1))
cp -r sl partial
rm -rf partial/C5e10-rho1.0000-s1
grep -v "^C5e10-rho1.0000-s1" sl/results.tsv > partial/results.tsv
"$BIN" study exp.yaml --out partial --report-only > partial.txt 2> partial.err
code=$?
if [ "$code" -eq 1 ] && grep -q "C5e10-rho1.0000-s1 *FAILED: no result" partial.txt &&
   grep -q "1 of 3 runs have no result" partial.err && [ -s partial/report.md ]; then
  pass "study --report-only with a run missing: listed, report written, exit 1"
else fail "--report-only with a missing run: exit $code"; cat partial.txt partial.err >&2; fi

finish
