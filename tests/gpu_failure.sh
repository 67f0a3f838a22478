#!/bin/sh
# gpu_failure.sh: a device that fails in the middle of a run. Under the CUDA
# emulation (tests/cuda-emu), DTCL_EMU_FAIL_LAUNCH=N makes the N-th kernel
# launch fail; `dtcl train --device cuda' must then stop at that step with
# exit 1, name the failed launch with its file and line, and keep the
# checkpoints it had written (epoch 0). Skips (77) outside the emulation.
set -u
dtcl=${DTCL:-./dtcl}
case "$("$dtcl" --version)" in
*"cuda=emulation"*) ;;
*) echo "SKIP: not the CUDA emulation (a real GPU cannot be made to fail on purpose)"; exit 77 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$dtcl" synth --kind brain --patients 6 --slices-per-patient 10 --size 16 -o "$tmp/data" --no-auc >/dev/null || exit 99
# about a hundred launches make one step of this size: the 300th falls in the first epoch
DTCL_EMU_FAIL_LAUNCH=300 "$dtcl" train --data "$tmp/data" --strategy proposed -o "$tmp/run" --epochs 2 \
    --widths 4,8 --batch 4 --device cuda --quiet 2>"$tmp/err"
rc=$?
cat "$tmp/err"
fail=0
[ $rc -eq 1 ] || { echo "FAIL: exit status $rc, expected 1"; fail=1; }
grep -q "\.cu:[0-9][0-9]*: launch of " "$tmp/err" || { echo "FAIL: the message names no launch with file and line"; fail=1; }
grep -q "the last good checkpoint is kept" "$tmp/err" || { echo "FAIL: the message does not say the checkpoint is kept"; fail=1; }
[ -f "$tmp/run/checkpoints/epoch-000.safetensors" ] || { echo "FAIL: epoch 0's checkpoint is gone"; fail=1; }
[ $fail -eq 0 ] && echo "ok: the run stopped at the failed step with exit 1; epoch 0's checkpoint kept"
exit $fail
