#!/usr/bin/env bash
# The test suite on a fresh Debian 12 machine: install, build, run every
# test (unit, gradient checks, end-to-end), and end with "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
meson test -C build --print-errorlogs "$@" | tee build/test-output.txt
status=${PIPESTATUS[0]}
passed=$(grep -E '^Ok:' build/test-output.txt | awk '{print $2}')
failed=$(grep -E '^(Fail|Timeout|Unexpected Pass):' build/test-output.txt | awk '{s += $NF} END {print s + 0}')
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
