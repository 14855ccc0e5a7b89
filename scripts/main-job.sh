#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, and train the
# default single-model config on the King James Bible, reporting its
# validation loss against the bigram floor.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
./build/engram-scale train experiments/small.yaml "$@"
