#!/usr/bin/env bash
# Fuzzing campaign: builds the libFuzzer harnesses of tests/fuzz with clang,
# AddressSanitizer and UBSan into build-fuzz/ (installing clang and
# libomp-dev when missing), then runs each harness for SECONDS (default 60):
#
#   scripts/fuzz.sh [SECONDS] [HARNESS ...]    e.g. scripts/fuzz.sh 300 fuzz_yaml
#
# Harnesses: fuzz_yaml (config and experiment files), fuzz_set (--set
# overrides), fuzz_results (results.tsv), fuzz_corpus (corpus text, UTF-8).
# Each starts from tests/fuzz/seeds/<harness> and keeps its growing corpus
# in build-fuzz/corpus/<harness>; a crash, hang (> 10 s), leak or
# out-of-memory input lands in build-fuzz/artifacts/<harness>/. Prints one
# line per harness (seconds, executions, coverage, corpus, crashes, hangs)
# and exits 1 if any harness found anything. A found input, once fixed,
# goes to tests/fuzz/regressions/<harness>/, which every build replays.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(fuzz_yaml fuzz_set fuzz_results fuzz_corpus)

need=()
command -v clang > /dev/null || need+=(clang)
dpkg-query -W -f='${Status}' libomp-dev 2> /dev/null | grep -q "install ok installed" || need+=(libomp-dev)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" > /dev/null
fi

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false > build-fuzz-setup.log 2>&1 || { cat build-fuzz-setup.log; exit 1; }
  rm -f build-fuzz-setup.log
fi
nice ninja -C build-fuzz "${harnesses[@]/#/tests/fuzz/}" > /dev/null || { echo "fuzz: build failed"; exit 1; }

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
mkdir -p build-fuzz/tmp
export TMPDIR="$PWD/build-fuzz/tmp"
found=0
printf '%-13s %8s %12s %9s %8s %8s %7s %6s\n' harness seconds executions exec/s cov features corpus found
for h in "${harnesses[@]}"; do
  corpus=build-fuzz/corpus/$h
  artifacts=build-fuzz/artifacts/$h
  mkdir -p "$corpus" "$artifacts"
  log=build-fuzz/$h.log
  start=$(date +%s)
  nice "build-fuzz/tests/fuzz/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "tests/fuzz/seeds/$h" > "$log" 2>&1
  code=$?
  took=$(($(date +%s) - start))
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
  ft=$(echo "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
  corp=$(ls "$corpus" | wc -l)
  crashes=$(ls "$artifacts" | grep -c -E '^(crash|leak|oom|slow-unit)-')
  hangs=$(ls "$artifacts" | grep -c -E '^timeout-')
  printf '%-13s %8s %12s %9s %8s %8s %7s %6s\n' "$h" "$took" "${execs:-?}" "$(( ${execs:-0} / (took > 0 ? took : 1) ))" \
    "${cov:-?}" "${ft:-?}" "$corp" "$((crashes + hangs))"
  if [ "$code" -ne 0 ] || [ $((crashes + hangs)) -gt 0 ]; then
    found=1
    echo "  $h: exit $code, $crashes crash/leak/oom and $hangs hang input(s) in $artifacts; see $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/  /'
  fi
done
exit "$found"
