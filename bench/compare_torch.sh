#!/bin/bash
# Side-by-side training throughput: cim vs PyTorch on the same network.
#
# Usage: bench/compare_torch.sh [BUILD_DIR] [ROUNDS]     (defaults: build, 3)
#        MODEL=mlp bench/compare_torch.sh build 5       (MODEL: lenet5|mlp, default lenet5)
#
# Each round runs `cim bench --only train-$MODEL` and bench/torch_train.py
# (batch 128, 2 threads) once, prints both images/s and their ratio
# (cim/pytorch), and the last line gives the medians over all rounds.
# Exits 77 if PyTorch is unavailable, 2 on bad arguments.
set -eu

PY=/usr/bin/python3     # Debian's interpreter: the one that has python3-torch
BUILD_DIR=${1:-build}
ROUNDS=${2:-3}
MODEL=${MODEL:-lenet5}
BATCH=128
THREADS=2
HERE=$(cd "$(dirname "$0")" && pwd)
CIM=$BUILD_DIR/cli/cim

die() { echo "compare_torch.sh: $1" >&2; exit "${2:-1}"; }

[ $# -le 2 ] || die "usage: $0 [BUILD_DIR] [ROUNDS]" 2
case $MODEL in lenet5|mlp) ;; *) die "MODEL must be lenet5 or mlp, not '$MODEL'" 2 ;; esac
case $ROUNDS in ''|*[!0-9]*|0) die "ROUNDS must be a positive integer, not '$ROUNDS'" 2 ;; esac
[ -x "$CIM" ] || die "$CIM not found or not executable (build first, or pass BUILD_DIR)" 2
[ -x "$PY" ] || die "$PY not found" 77

# Reads JSON on stdin and prints the number at a dotted key path; a missing
# key or non-number is an error so a changed output format cannot pass silently.
json_num() {
    "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
if isinstance(d, bool) or not isinstance(d, (int, float)):
    raise SystemExit("not a number: %r" % (d,))
print(d)' "$1"
}

run_cim() {
    local out
    out=$("$CIM" bench --json --only "train-$MODEL" --quiet) || die "cim bench failed"
    printf '%s' "$out" | json_num "models.$MODEL.train_images_per_s" \
        || die "no models.$MODEL.train_images_per_s in cim output"
}

run_torch() {
    local out rc=0
    out=$("$PY" "$HERE/torch_train.py" --model "$MODEL" --batch "$BATCH" \
          --threads "$THREADS" --json) || rc=$?
    [ "$rc" -ne 77 ] || die "PyTorch not available; skipping" 77
    [ "$rc" -eq 0 ] || die "torch_train.py failed (exit $rc)"
    printf '%s' "$out" | json_num train_images_per_s || die "bad torch_train.py output"
}

cims=
torches=
r=1
while [ "$r" -le "$ROUNDS" ]; do
    # Swap the order every round so slow drifts (thermal, other load) do not
    # always fall on the same side.
    if [ $((r % 2)) -eq 1 ]; then
        c=$(run_cim); t=$(run_torch)
    else
        t=$(run_torch); c=$(run_cim)
    fi
    cims="$cims $c"
    torches="$torches $t"
    "$PY" -c 'import sys; r, c, t = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
print("round %s: cim %.0f img/s, pytorch %.0f img/s, ratio %.2f" % (r, c, t, c / t))' "$r" "$c" "$t"
    r=$((r + 1))
done

# The ratio is the median of per-round ratios, not the ratio of medians: pairing
# figures taken back to back cancels more of the machine noise.
"$PY" -c '
import statistics, sys
model, batch, cims, torches = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
c = [float(x) for x in cims]
t = [float(x) for x in torches]
ratio = statistics.median(a / b for a, b in zip(c, t))
print("%s training at batch %s: cim %.0f img/s, pytorch %.0f img/s, ratio %.2f (median of %d rounds)"
      % (model, batch, statistics.median(c), statistics.median(t), ratio, len(c)))' \
    "$MODEL" "$BATCH" "$cims" "$torches"
