#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, and run the
# default allocation study (experiments/quick.yaml) end to end: plan, train
# every run, fit the U-shaped curve, draw the figures and write
# runs/quick/report.md. A few minutes on 2 cores; run it again to resume.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
./build/engram-scale study experiments/quick.yaml "$@"
