#!/usr/bin/env bash
# engram-scale inspect on a tiny Engram model trained with the real binary
# on a small real corpus: the TSV, the figure (PNG, SVG, script) and the
# JSON with its fields; Engram off changes the validation loss; stdin text;
# and clear errors for a run without Engram or without --text.
source "$(dirname "$0")/harness.sh"
make_corpus
cat > tiny.yaml <<YAML
name: tiny
corpus: $WORK/kjv-part.txt
data_dir: $WORK/data
tokenizer:
  vocab: 512
model:
  d_model: 32
  layers: 2
  heads: 2
  seq_len: 32
  ffn_hidden: 64
  memory: engram
  engram:
    slots: 4000
    head_dim: 8
    heads: 2
    layers: [1]
train:
  batch: 8
  steps: 60
  warmup: 10
  eval_every: 30
  eval_tokens: 4096
  threads: 2
YAML
CHECKS=$((CHECKS + 1))
if "$BIN" train tiny.yaml --out run --json > train.json; then pass "trained a tiny Engram model"; else fail "train"; fi

printf 'And God said, Let there be light: and there was light.\nAnd God saw the light, that it was good.\n' > text.txt
CHECKS=$((CHECKS + 1))
if "$BIN" inspect run --text text.txt --json > inspect.json; then pass "inspect ran"; else fail "inspect failed"; fi

CHECKS=$((CHECKS + 1))
if jq -e '(.tokens > 10) and (.layers | length == 1) and (.layers[0].layer == 1) and (.layers[0].branch == 0)
          and (.layers[0].val_loss_layer_off | type == "number") and (.val_loss | type == "number")
          and (.val_loss_no_engram | type == "number") and (.layers[0].mean_gate > 0) and (.layers[0].mean_gate < 1)
          and (.layers[0].gate_by_class | has("word") and has("word-inner") and has("punct"))
          and (.tokens as $n | .token_rows | length == $n - 1)
          and all(.token_rows[]; (.engram[0].gate >= 0) and (.engram[0].gate <= 1) and (.loss > 0)
                  and (.engram[0].ngrams | has("2") and has("3")) and (.engram[0].rows | length == 4))
          and (.files.tsv | type == "string")' inspect.json > /dev/null; then
  pass "inspect --json parses with the expected fields"
else
  fail "inspect --json lacks fields: $(head -c 600 inspect.json)"
fi

# the validation loss with Engram on is the run's own last eval (same batches)
CHECKS=$((CHECKS + 1))
on=$(jq .val_loss inspect.json)
last=$(tail -1 run/log.tsv | cut -f4)
if awk -v a="$on" -v b="$last" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }'; then
  pass "val loss with Engram on ($on) is the run's last eval ($last)"
else
  fail "val loss with Engram on $on differs from the run's last eval $last"
fi
# switching Engram off changes it
CHECKS=$((CHECKS + 1))
off=$(jq .val_loss_no_engram inspect.json)
if [ "$on" != "$off" ]; then pass "Engram off: val loss $on -> $off"; else fail "Engram off changed nothing ($on)"; fi

CHECKS=$((CHECKS + 1))
n=$(jq .tokens inspect.json)
rows=$(($(wc -l < run/inspect/tokens.tsv) - 1))
header=$(head -1 run/inspect/tokens.tsv)
case "$header" in
  seq*gate*loss*loss_layer_off*loss_no_engram*ngram_2*ngram_3*rows) ok=1 ;;
  *) ok=0 ;;
esac
if [ "$ok" = 1 ] && [ "$rows" -eq $((n - 1)) ]; then pass "tokens.tsv: header and $rows rows"; else
  fail "tokens.tsv: header '$header', $rows rows for $n tokens"; fi

for f in gate.png gate.svg gate.gp gate.dat inspect.json; do
  CHECKS=$((CHECKS + 1))
  if [ -s "run/inspect/$f" ]; then pass "wrote $f"; else fail "no run/inspect/$f"; fi
done
CHECKS=$((CHECKS + 1))
if head -c 4 run/inspect/gate.png | grep -q PNG; then pass "gate.png is a PNG"; else fail "gate.png is not a PNG"; fi

# the text from stdin, into another folder, gives the same gates
CHECKS=$((CHECKS + 1))
"$BIN" inspect run --text - --out other --json < text.txt > stdin.json
if [ "$(jq -c '[.token_rows[].engram[0].gate]' stdin.json)" = "$(jq -c '[.token_rows[].engram[0].gate]' inspect.json)" ] &&
   [ -s other/tokens.tsv ]; then pass "--text - reads stdin, --out"; else fail "stdin inspect differs"; fi

expect_error "inspect without --text" "--text" "$BIN" inspect run
expect_error "inspect of a missing run" "config.yaml" "$BIN" inspect nowhere --text text.txt
sed -e 's/memory: engram/memory: none/' -e 's/steps: 60/steps: 2/' tiny.yaml > dense.yaml
"$BIN" train dense.yaml --out dense > /dev/null 2>&1
expect_error "inspect of a run without Engram" "model.memory" "$BIN" inspect dense --text text.txt
finish
