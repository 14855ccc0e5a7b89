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
units=$(meson test -C build-asan --list 2> /dev/null | grep -v ':e2e' | sed -E 's/^[^:]+:[^ ]+ \/ //' | sort -u)
# slower under the sanitizers: three times meson's per-test timeouts
meson test -C build-asan --print-errorlogs --timeout-multiplier 3 $units test_errors test_sweep "$@" |
  tee build-asan/test-output.txt
status=${PIPESTATUS[0]}
passed=$(grep -E '^Ok:' build-asan/test-output.txt | awk '{print $2}')
failed=$(grep -E '^(Fail|Timeout|Unexpected Pass):' build-asan/test-output.txt | awk '{s += $NF} END {print s + 0}')
echo "sanitizers: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
