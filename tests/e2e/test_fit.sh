#!/usr/bin/env bash
# fit --json on small synthetic results.tsv files (the real binary): the
# two-lines test calls no U for the quick study's hockey stick (one seed)
# or a monotone rise (3 seeds), and finds a true U with rho* near 0.7.
source "$(dirname "$0")/harness.sh"

HEADER=$'run\tkind\tbudget\trho\tmemory\tslots\tseed\texperts\tp_tot\tp_act\tflops_per_token\ttokens\tsteps\tval_loss\tbest_val_loss\ttrain_loss\tseconds\tstatus\tlabel'
row() { # row RHO SEED LOSS
  printf 'r%s-s%s\tallocation\t1e+12\t%s\tengram\t1000\t%s\t2\t1\t1\t1\t1\t1\t%s\t%s\t%s\t1\tok\t-\n' "$1" "$2" "$1" "$2" "$3" "$3" "$3"
}
# u_test FILE: "verdict shape interior best_measured_rho rho_star"
summary() {
  python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["allocation"][0]; u=e["u_test"]
print(u["verdict"], u["shape"], e["interior"], e["best_measured_rho"], e["rho_star"])' "$1"
}

# the quick study's losses (issue 13): the quadratic's vertex was at 0.26
mkdir quick
{ echo "$HEADER"; row 0 1 3.8630; row 0.25 1 3.8653; row 0.5 1 3.8774; row 0.75 1 3.9024; row 1 1 4.0386; } > quick/results.tsv
CHECKS=$((CHECKS + 1))
if "$BIN" fit quick --json > quick.json 2> quick.err; then
  s="$(summary quick.json)"
  case "$s" in "no U not resolved False 0.0 None"|"too few points to test None False 0.0 None") pass "quick: $s" ;;
    *) fail "quick: $s" ;; esac
else fail "quick: fit failed: $(cat quick.err)"; fi

# a monotone rise, 9 rho x 3 seeds with a fixed small jitter
mkdir rise
{ echo "$HEADER"; for i in 0 1 2 3 4 5 6 7 8; do for s in 1 2 3; do
    row "$(awk "BEGIN{print $i/8}")" "$s" "$(awk "BEGIN{r=$i/8; print 3.9 + 0.1*r + 0.003*(($i*7+$s*5)%5-2)/2}")"
  done; done; } > rise/results.tsv
CHECKS=$((CHECKS + 1))
if "$BIN" fit rise --json --bootstrap 100 > rise.json 2> rise.err; then
  s="$(summary rise.json)"
  case "$s" in "no U rising False "*" None") pass "rise: $s" ;; *) fail "rise: $s" ;; esac
else fail "rise: fit failed: $(cat rise.err)"; fi

# a U at 0.7, same jitter
mkdir u
{ echo "$HEADER"; for i in 0 1 2 3 4 5 6 7 8; do for s in 1 2 3; do
    row "$(awk "BEGIN{print $i/8}")" "$s" "$(awk "BEGIN{r=$i/8; print 3.9 + 0.3*(r-0.7)^2 + 0.003*(($i*7+$s*5)%5-2)/2}")"
  done; done; } > u/results.tsv
CHECKS=$((CHECKS + 1))
if "$BIN" fit u --json --bootstrap 200 > u.json 2> u.err; then
  s="$(summary u.json)"
  star="$(echo "$s" | awk '{print $5}')"
  case "$s" in "U U True "*) awk "BEGIN{exit !($star > 0.6 && $star < 0.8)}" && pass "u: $s" || fail "u: rho* $star" ;;
    *) fail "u: $s" ;; esac
else fail "u: fit failed: $(cat u.err)"; fi
# and the table says so
CHECKS=$((CHECKS + 1))
if "$BIN" fit u --bootstrap 0 2>/dev/null | grep -q "two-lines test: U, breakpoint"; then pass "u: table"; else fail "u: table"; fi
finish
