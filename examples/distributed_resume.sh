#!/usr/bin/env bash
# train_lenet --distributed under mpiexec: a run stopped after epoch 1 (--steps)
# and resumed with --resume (every rank reads rank 0's checkpoint) ends epoch 2
# exactly as a run that never stopped (ctest example_train_lenet_distributed_resume).
#   distributed_resume.sh MPIEXEC TRAIN_LENET OUT_DIR IMAGES
set -euo pipefail
mpiexec=$1 exe=$2 dir=$3 images=$4
rm -rf "$dir" && mkdir -p "$dir"
run() { "$mpiexec" -n 2 "$exe" --distributed --epochs 2 --limit "$images" --batch-size 64 "$@"; }
steps_per_epoch=$((images / 64))

run --checkpoint "$dir/straight.ckpt" >"$dir/straight.log" 2>&1 || { cat "$dir/straight.log"; exit 1; }
run --checkpoint "$dir/stopped.ckpt" --steps "$steps_per_epoch" >"$dir/first.log" 2>&1 || { cat "$dir/first.log"; exit 1; }
[ -f "$dir/stopped.ckpt" ] || { echo "no checkpoint after epoch 1"; cat "$dir/first.log"; exit 1; }
run --checkpoint "$dir/stopped.ckpt" --resume >"$dir/resume.log" 2>&1 || { cat "$dir/resume.log"; exit 1; }
grep -q "resumed from .* after epoch 1" "$dir/resume.log" || { echo "did not resume"; cat "$dir/resume.log"; exit 1; }

# The epoch 2 summary without its timings: losses and accuracies.
result() { sed -n 's/.*\(epoch 2\/2: train loss [0-9.]*, train accuracy [0-9.]*%, test accuracy [0-9.]*%\).*/\1/p' "$1"; }
straight=$(result "$dir/straight.log") resumed=$(result "$dir/resume.log")
echo "straight: $straight"
echo "resumed:  $resumed"
[ -n "$straight" ] && [ "$straight" = "$resumed" ] || { echo "the resumed run differs"; exit 1; }
# Only rank 0 printed (one summary line per epoch).
[ "$(grep -c 'epoch 2/2: train loss' "$dir/straight.log")" -eq 1 ] || { echo "more than one rank logged"; exit 1; }
