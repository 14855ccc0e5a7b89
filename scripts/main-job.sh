#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, and run the
# default allocation study (experiments/quick.yaml) end to end: plan, train
# every run, fit the U-shaped curve, draw the figures and write
# runs/quick/report.md. A few minutes on 2 cores; run it again to resume.
#
# Any other study runs the same way: ./scripts/main-job.sh EXPERIMENT.yaml
# [study options]. The Debian packages of the corpora it names are
# installed first (linux-doc-6.1, linux-source-6.1: not needed otherwise).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
experiment=experiments/quick.yaml
if [ $# -gt 0 ] && [[ "$1" == *.yaml || "$1" == *.yml ]]; then
  experiment=$1
  shift
fi
[ -f "$experiment" ] || { echo "main-job.sh: no experiment file $experiment" >&2; exit 2; }
extra=()
# the corpus line or list of the experiment (a mixture may span lines)
corpus=$(sed -n '/^corpus:/,/^[a-z_]*:/p' "$experiment")
if grep -q 'linux-doc' <<<"$corpus"; then extra+=(linux-doc-6.1); fi
if grep -q 'linux-src' <<<"$corpus"; then extra+=(linux-source-6.1); fi
bash scripts/setup.sh "${extra[@]}"
./build/engram-scale study "$experiment" "$@"
