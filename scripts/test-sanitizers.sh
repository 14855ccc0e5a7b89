#!/usr/bin/env bash
# The unit tests (every suite but e2e, with the fuzz regressions) and the
# error and sweep end-to-end tests under AddressSanitizer and UBSan, built
# with -Db_sanitize=address,undefined into build-asan/; any report fails its
# test (meson sets halt_on_error and abort_on_error). Ends with its own
# "N passed, N failed" line. Extra arguments go to meson test.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh > /dev/null || { echo "sanitizers: 0 passed, 1 failed"; exit 1; }
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false > /dev/null ||
    { echo "sanitizers: 0 passed, 1 failed"; exit 1; }
fi
ninja -C build-asan > build-asan-ninja.log 2>&1 || { tail -20 build-asan-ninja.log; echo "sanitizers: 0 passed, 1 failed"; exit 1; }
rm -f build-asan-ninja.log
# the unit suites (every folder of tests/ but e2e) and two e2e tests, by
# suite and by name (test_train names both a unit and an e2e test), in two
# runs; slower under the sanitizers: three times meson's per-test timeouts
suites=$(meson test -C build-asan --list --no-rebuild 2> /dev/null | grep ' / ' | sed -E 's/^[^:]+:([^ ]+) \/ .*/\1/' |
  tr '+' '\n' | grep -v '^e2e$' | grep -v '^slurm$' | sort -u | sed 's/^/--suite /')
{
  meson test -C build-asan --no-rebuild --print-errorlogs --timeout-multiplier 3 $suites "$@"
  echo "exit $?"
  meson test -C build-asan --no-rebuild --print-errorlogs --timeout-multiplier 3 test_errors test_sweep "$@"
  echo "exit $?"
} 2>&1 | tee build-asan/test-output.txt
status=$(grep -cE '^exit [1-9]' build-asan/test-output.txt)
passed=$(grep -E '^Ok:' build-asan/test-output.txt | awk '{s += $2} END {print s + 0}')
failed=$(grep -E '^(Fail|Timeout|Unexpected Pass):' build-asan/test-output.txt | awk '{s += $NF} END {print s + 0}')
echo "sanitizers: ${passed:-0} passed, ${failed:-0} failed"
[ "$status" -eq 0 ]
