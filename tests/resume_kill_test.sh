#!/usr/bin/env bash
# Crash-safety of `vgsplat train` and `vgsplat run P1` on a small synthetic scene (CPU), issue 12:
#  - kill -9 a training at a random step after a checkpoint, run the same command again: it resumes
#    and ends with the PSNR of an uninterrupted run (within 0.1 dB); the same for `run P1 --resume`
#    killed during SfM and during training;
#  - SIGINT: exit 130, the printed resume command finishes the run; SIGTERM: exit 143;
#  - a file-size limit (ulimit -f) and an allocation cap (VGSPLAT_MEMORY_CAP) end with one error line,
#    exit 1 and the earlier checkpoint intact; two runs started together write two folders.
# Usage: resume_kill_test.sh <vgsplat binary>   (VGSPLAT_TEST_DEVICE=cuda: train and run on the GPU; the CUDA
# allocations count against VGSPLAT_MEMORY_CAP as the host's do)
set -uo pipefail
VG=$(realpath "$1")
W=$(mktemp -d "${TMPDIR:-/tmp}/vgsplat_resume_kill.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
DEV=${VGSPLAT_TEST_DEVICE:-cpu}
fail() { echo "FAIL: $*"; exit 1; }
psnr() { grep -o '^PSNR [0-9.]*' "$1" | tail -1 | cut -d' ' -f2; }
# |a - b| <= TOL (0.1 dB; on a GPU the spread of uninterrupted runs is added: see reference()).
TOL=0.1
close() { awk -v a="$1" -v b="$2" -v t="$TOL" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d <= t && d >= -t) }'; }
# The reference PSNR of an uninterrupted command ("$@" --<folder option> NAME, logs NAME.log): one run on the CPU,
# which is deterministic; on a GPU (atomic adds in the backward pass, amplified by densification, make runs differ
# by up to ~1 dB on this tiny scene) the mean of three, and TOL grows by their spread. Prints the reference.
reference() {
  local opt=$1 name=$2; shift 2
  "$@" "$opt" "$name" > "$name.log" 2>&1 || fail "uninterrupted $name: $(tail -1 "$name.log")"
  [ "$DEV" = cpu ] && { psnr "$name.log"; return; }
  local p=("$(psnr "$name.log")")
  for i in 2 3; do
    "$@" "$opt" "${name}_$i" > "${name}_$i.log" 2>&1 || fail "uninterrupted ${name}_$i"
    p+=("$(psnr "${name}_$i.log")")
  done
  echo "${p[@]}" | awk '{ lo = hi = $1; for (i = 1; i <= NF; i++) { s += $i; if ($i < lo) lo = $i; if ($i > hi) hi = $i }
                         printf "%.3f %.3f\n", s / NF, hi - lo + 0.1 }'
}
# Waits (up to 60 s) for a path glob to exist.
wait_for() { for _ in $(seq 600); do compgen -G "$1" > /dev/null && return 0; sleep 0.1; done; fail "no $1"; }

"$VG" demo --out demo --max-steps 100 --size 32 --device cpu > /dev/null 2>&1 || fail "demo scene (32 px)"
"$VG" demo --out demo128 --max-steps 100 --size 128 --device cpu > /dev/null 2>&1 || fail "demo scene (128 px)"

TRAIN=("$VG" train --data-dir demo/data --data-factor 1 --max-steps 200 --eval-steps 200 --save-steps 200
       --save-every 20 --init-type random --init-num-pts 1000 --refine-start-iter 20 --refine-every 20
       --refine-stop-iter 160 --reset-every 1000 --tb-every 0 --no-traj --device "$DEV" --lpips-weights none)
read -r P0 T <<< "$(reference --result-dir whole "${TRAIN[@]}")"
[ -n "$P0" ] || fail "uninterrupted train: $(tail -1 whole.log)"
TOL=${T:-0.1}
echo "uninterrupted train: PSNR $P0 (tolerance $TOL dB)"

# kill -9 at a random step after the first checkpoint; the same command resumes.
"${TRAIN[@]}" --result-dir killed > killed1.log 2>&1 &
pid=$!
wait_for "killed/ckpts/ckpt_*.safetensors"
# (a GPU runs the 200 steps in about a second: a shorter random wait)
if [ "$DEV" = cpu ]; then sleep "0.$((RANDOM % 9 + 1))"; else sleep "0.0$((RANDOM % 9 + 1))"; fi
kill -9 $pid; wait $pid
[ -f killed/ckpts/ckpt_199.safetensors ] && fail "train finished before the kill: make it longer"
"${TRAIN[@]}" --result-dir killed > killed2.log 2>&1 || fail "resumed train: $(tail -1 killed2.log)"
grep -q "resuming the unfinished training" killed2.log || fail "train did not resume"
close "$(psnr killed2.log)" "$P0" || fail "resumed train PSNR $(psnr killed2.log) vs $P0"
echo "train kill -9: resumed $(grep -o "from [^ ]*ckpt_[0-9]*" killed2.log), PSNR $(psnr killed2.log) vs $P0"

# SIGINT: exit 130 and a resume command that works; SIGTERM: exit 143.
"${TRAIN[@]}" --result-dir sigint > sigint.log 2>&1 &
pid=$!
wait_for "sigint/ckpts/ckpt_*.safetensors"
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] || fail "SIGINT exit $rc"
cmd=$(grep -o 'resume with: .*' sigint.log | sed 's/^resume with: //')
[ -n "$cmd" ] || fail "no resume command after SIGINT"
eval "$cmd" > sigint2.log 2>&1 || fail "the printed resume command failed: $cmd"
close "$(psnr sigint2.log)" "$P0" || fail "SIGINT-resumed PSNR $(psnr sigint2.log) vs $P0"
"${TRAIN[@]}" --result-dir sigterm > sigterm.log 2>&1 &
pid=$!
wait_for "sigterm/ckpts/ckpt_*.safetensors"
kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 143 ] || fail "SIGTERM exit $rc"
echo "SIGINT: exit 130, printed command resumed to PSNR $(psnr sigint2.log); SIGTERM: exit 143"

# A file-size limit: one line, exit 1, the finished run's files intact, no temp files left.
cp whole/ckpts/ckpt_199.safetensors before.safetensors
(ulimit -f 64; "${TRAIN[@]}" --result-dir whole > full.log 2>&1); rc=$?
[ $rc -eq 1 ] || fail "ulimit -f: exit $rc"
grep -q "^vgsplat: error: cannot write .*file-size limit" full.log || fail "ulimit -f: $(tail -1 full.log)"
cmp -s before.safetensors whole/ckpts/ckpt_199.safetensors || fail "ulimit -f: the earlier checkpoint changed"
[ -z "$(find whole -name '.tmp.*')" ] || fail "ulimit -f: temp files left"
echo "ulimit -f: $(tail -1 full.log)"

# An allocation cap: out of memory in a step, one line naming what to change, checkpoints intact.
(VGSPLAT_MEMORY_CAP=3M "${TRAIN[@]}" --result-dir oom > oom.log 2>&1); rc=$?
[ $rc -eq 1 ] || fail "memory cap: exit $rc"
line=$(tail -1 oom.log)
[[ $line == "vgsplat: error: out of memory in training step "*"--data-factor"* ]] || fail "memory cap: $line"
ckpt=$(ls oom/ckpts/ckpt_*.safetensors | sort -t_ -k2 -n | tail -1)
"${TRAIN[@]}" --result-dir oom_eval --ckpt "$ckpt" --eval-only > oom_eval.log 2>&1 || fail "memory cap: $ckpt unusable"
echo "memory cap: $line"

# run P1 (SfM + training): killed during SfM, then during training; --resume finishes both.
RUN=("$VG" run P1 demo128/data --max-steps 400 --eval-steps 400 --save-steps 400 --ply-steps 400
     --save-every 50 --device "$DEV" --lpips-weights none)
TOL=0.1
read -r R0 T <<< "$(reference --results-root r0 "${RUN[@]}")"
[ -n "$R0" ] || fail "uninterrupted run P1: $(tail -1 r0.log)"
TOL=${T:-0.1}
"${RUN[@]}" --results-root r1 > run1.log 2>&1 &
pid=$!
wait_for "r1/*_incomplete/metadata.json"
sleep 0.3
[ -e r1/*_incomplete/cfg.yml ] && fail "run P1 reached training before the kill"
kill -9 $pid; wait $pid
dir=$(echo r1/*_incomplete)
"${RUN[@]}" --results-root r1 --resume "$dir" > run1b.log 2>&1 &
pid=$!
wait_for "$dir/ckpts/ckpt_*.safetensors"
kill -9 $pid; wait $pid
[ -d "$dir" ] || fail "killed run P1 lost its folder"
"${RUN[@]}" --results-root r1 --resume "$dir" > run1c.log 2>&1 || fail "resumed run P1: $(tail -1 run1c.log)"
grep -q "stage sfm was done by the earlier run" run1c.log || fail "run P1 redid SfM"
grep -q "resuming the unfinished training" run1c.log || fail "run P1 did not resume training"
close "$(psnr run1c.log)" "$R0" || fail "resumed run P1 PSNR $(psnr run1c.log) vs $R0"
[ "$(ls r1)" = "$(basename "${dir%_incomplete}")" ] || fail "run P1 folders: $(ls r1)"
echo "run P1 killed in SfM and in training: PSNR $(psnr run1c.log) vs $R0"

# Two runs started together into one results root: two folders.
SHORT=("$VG" run P1 demo128/data --max-steps 20 --device "$DEV" --lpips-weights none --results-root r2)
"${SHORT[@]}" > a.log 2>&1 & a=$!
"${SHORT[@]}" > b.log 2>&1 & b=$!
wait $a || fail "concurrent run A: $(tail -1 a.log)"
wait $b || fail "concurrent run B: $(tail -1 b.log)"
[ "$(ls r2 | wc -l)" -eq 2 ] || fail "two concurrent runs: $(ls r2)"
echo "two concurrent runs: $(ls r2 | tr '\n' ' ')"

# run P1 --strategy mcmc: the strategy and its preset reach the trainer (cfg.yml), the run ends.
"$VG" run P1 demo128/data --max-steps 60 --device "$DEV" --lpips-weights none --results-root r3 --strategy mcmc \
  --cap-max 500 --noise-injection-stop-iter 30 > mcmc.log 2>&1 || fail "run P1 --strategy mcmc: $(tail -1 mcmc.log)"
cfg=$(ls r3/*/cfg.yml)
grep -q 'strategy_type: "*mcmc' "$cfg" && grep -q "cap_max: 500" "$cfg" && grep -q "init_opa: 0.5" "$cfg" &&
  grep -q "noise_injection_stop_iter: 30" "$cfg" || fail "run P1 --strategy mcmc: $cfg lacks the mcmc config"
echo "run P1 --strategy mcmc: $(grep -o '^PSNR [0-9.]*' mcmc.log)"
echo PASS
