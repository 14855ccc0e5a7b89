#!/usr/bin/env bash
# Bad input gets one clear line on stderr and a non-zero exit.
source "$(dirname "$0")/harness.sh"

printf 'name: t\nmodel:\n  d_model: [64\n' > invalid.yaml
expect_error "invalid YAML" "invalid.yaml:" "$BIN" train invalid.yaml

printf 'name: t\nmodel:\n  d_modle: 64\n' > unknown.yaml
expect_error "unknown key" "unknown.yaml:3: unknown key 'model.d_modle'" "$BIN" train unknown.yaml
expect_error "unknown key suggestion" "did you mean 'model.d_model'" "$BIN" train unknown.yaml

printf 'name: t\nmodel:\n  d_model: -4\n' > range.yaml
expect_error "value out of range" "range.yaml:3: model.d_model = -4 is out of range" "$BIN" train range.yaml
printf 'name: t\ntrain:\n  lr: fast\n' > type.yaml
expect_error "value of the wrong type" "type.yaml:3: train.lr" "$BIN" train type.yaml
printf 'name: t\nmodel:\n  d_model: 100\n  heads: 3\n' > cross.yaml
expect_error "inconsistent values" "model.heads" "$BIN" train cross.yaml
expect_error "bad --set value" "model.d_model" "$BIN" train "$SOURCE_ROOT/experiments/small.yaml" --set model.d_model=abc
expect_error "unknown --set key" "unknown key 'train.lrr'" "$BIN" train "$SOURCE_ROOT/experiments/small.yaml" --set train.lrr=1
expect_error "missing config file" "nothere.yaml" "$BIN" train nothere.yaml

expect_error "missing corpus file" "cannot open $WORK/none.txt" "$BIN" data "$WORK/none.txt" --out "$WORK/data"
printf 'line one\nline \xc3\x28 two\n' > bad-utf8.txt
expect_error "invalid UTF-8" "invalid UTF-8 at byte offset 14" "$BIN" data bad-utf8.txt --out "$WORK/data"
: > empty.txt
expect_error "empty corpus" "empty" "$BIN" data empty.txt --out "$WORK/data"
# a built-in corpus whose Debian package is missing names the package
expect_error "missing corpus package" "bible-kjv" env PATH=/nonexistent "$BIN" data kjv --out "$WORK/data"

expect_error "unknown command" "unknown command 'trian'" "$BIN" trian
expect_error "unknown option" "unknown option '--bogus'" "$BIN" train x.yaml --bogus

CHECKS=$((CHECKS + 1))
if "$BIN" --help | grep -q "engram-scale COMMAND" && "$BIN" train --help | grep -q -- "--resume"; then
  pass "help"
else fail "help"; fi
finish
