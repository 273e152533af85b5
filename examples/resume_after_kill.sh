#!/usr/bin/env bash
# train_lenet killed with SIGKILL in the middle of an epoch: --resume continues from
# the last complete checkpoint and finishes the run (ctest example_train_lenet_resume).
#   resume_after_kill.sh TRAIN_LENET OUT_DIR IMAGES
set -euo pipefail
exe=$1 dir=$2 images=$3
rm -rf "$dir" && mkdir -p "$dir"
checkpoint=$dir/lenet.ckpt
"$exe" --epochs 3 --limit "$images" --checkpoint "$checkpoint" >"$dir/first.log" 2>&1 &
pid=$!
for _ in $(seq 3000); do  # the first checkpoint is written at the end of epoch 1
  [ -f "$checkpoint" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "train_lenet ended before its first checkpoint"; cat "$dir/first.log"; exit 1; }
  sleep 0.1
done
[ -f "$checkpoint" ] || { echo "no checkpoint after 300 s"; kill -9 "$pid"; exit 1; }
sleep 0.3  # into epoch 2
kill -9 "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 137 ] || { echo "train_lenet was not killed in the middle of training (exit $status)"; exit 1; }

"$exe" --epochs 3 --limit "$images" --checkpoint "$checkpoint" --resume >"$dir/resume.log" 2>&1
epoch=$(sed -n 's/.*resumed from .* after epoch \([0-9]*\).*/\1/p' "$dir/resume.log")
echo "killed in the middle of training; resumed after epoch ${epoch:-?}"
[ -n "$epoch" ] && [ "$epoch" -ge 1 ] && [ "$epoch" -lt 3 ] || { cat "$dir/resume.log"; exit 1; }
grep -q "epoch 3/3: train loss" "$dir/resume.log" || { echo "the resumed run did not finish"; cat "$dir/resume.log"; exit 1; }
if ls "$dir" | grep -q '\.tmp-'; then echo "temporaries left: $(ls "$dir")"; exit 1; fi
