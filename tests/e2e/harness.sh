# Shared helpers of the end-to-end tests: they run the real binary
# ($ENGRAM_SCALE, set by meson) in a fresh temporary folder.
set -u
BIN="${ENGRAM_SCALE:?run through meson test}"
WORK="$(mktemp -d /tmp/es-e2e-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
FAILED=0
CHECKS=0

fail() { echo "FAIL: $*" >&2; FAILED=$((FAILED + 1)); }
pass() { echo "ok: $*"; }

# expect_error NAME EXPECTED_SUBSTRING CMD...: CMD must exit non-zero and
# print exactly one line on stderr containing EXPECTED_SUBSTRING.
expect_error() {
  local name="$1" want="$2"
  shift 2
  CHECKS=$((CHECKS + 1))
  local out err code
  out="$("$@" 2>"$WORK/stderr")"
  code=$?
  err="$(cat "$WORK/stderr")"
  if [ "$code" -eq 0 ]; then fail "$name: exit 0 (stderr: $err)"; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then fail "$name: stderr is not one line: $err"; return; fi
  case "$err" in *"$want"*) pass "$name (exit $code): $err" ;; *) fail "$name: '$want' not in: $err" ;; esac
}

# A small real corpus: the start of the King James Bible (bible-kjv).
make_corpus() {
  bible -l0 Gen1:1-Rev22:21 | grep -v '^$' | grep -v '^[A-Z1-9][A-Za-z ]* [0-9]*$' |
    sed -E 's/^ *[0-9]+ //' | head -c 600000 > "$WORK/kjv-part.txt"
}

json_field() { # json_field FILE KEY: a number from a flat JSON object
  sed -nE "s/^ *\"$2\": *([-0-9.eE+]+|null),?$/\1/p" "$1" | head -1
}

finish() {
  echo "$CHECKS checks, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
