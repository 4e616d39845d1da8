#!/usr/bin/env bash
# Issue 14, acceptance 3: pose optimisation on perturbed training cameras, side by side with the true poses.
#   tools/pose_opt_eval.sh [--build DIR] [--data DIR] [--out DIR] [--steps N] [--noise S] [--lr LR]
#                          [--test-steps N] [--device cuda|cpu] [--data-factor F] [--init-num-pts N] [--parallel]
#                          [--start N] [--lr-final F]  (--pose-opt-start / --pose-opt-lr-final of the perturbed runs)
# Trains fox (random init, as tools/device_run.sh) three ways: on the true cameras; on cameras perturbed by
# --pose-noise S (~1 deg and ~1-2 % of the scene radius at 0.01) with --pose-opt; the same with --eval-pose-opt-steps
# (test cameras also optimised on their images). Prints one table: test PSNR at the given test cameras, at the
# aligned (+ optimised) ones, and the training cameras' error against the truth (raw and after a similarity).
# --parallel runs the three at once (one GPU has room; times are then not comparable).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build data=${VGSPLAT_DATA:-$root/../shared/data} out=${TMPDIR:-/tmp}/vgsplat_pose_opt_eval
steps=7000 noise=0.01 lr=1e-4 test_steps=300 device=cuda parallel=0 factor=1 pts=100000 start=0 lr_final=0.01
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;; --data) data=$2; shift 2 ;; --out) out=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;; --noise) noise=$2; shift 2 ;; --lr) lr=$2; shift 2 ;;
    --test-steps) test_steps=$2; shift 2 ;; --device) device=$2; shift 2 ;; --parallel) parallel=1; shift ;;
    --data-factor) factor=$2; shift 2 ;; --init-num-pts) pts=$2; shift 2 ;; --start) start=$2; shift 2 ;;
    --lr-final) lr_final=$2; shift 2 ;;
    *) echo "pose_opt_eval: unknown option $1" >&2; exit 2 ;;
  esac
done
vg=$build/vgsplat
[ -x "$vg" ] || { echo "pose_opt_eval: no $vg (build first)" >&2; exit 1; }
[ -f "$data/fox/transforms.json" ] || { echo "pose_opt_eval: no fox scene under $data" >&2; exit 1; }
mkdir -p "$out"
last=$((steps - 1))
run() {  # run <name> [extra options]
  local name=$1; shift
  rm -rf "$out/$name"
  "$vg" train --data-dir "$data/fox" --result-dir "$out/$name" --device "$device" --data-factor "$factor" --init-type random \
    --init-num-pts "$pts" --init-extent 1.0 --max-steps "$steps" --eval-steps "$steps" --save-steps "$steps" --disable-video "$@" \
    > "$out/$name.log" 2>&1 || echo "pose_opt_eval: $name failed (see $out/$name.log)" >&2
}
perturbed=(--pose-noise "$noise" --pose-opt --pose-opt-lr "$lr" --pose-opt-start "$start" --pose-opt-lr-final "$lr_final")
if [ "$parallel" = 1 ]; then
  run true & run aligned "${perturbed[@]}" & run optimised "${perturbed[@]}" --eval-pose-opt-steps "$test_steps" & wait
else
  run true; run aligned "${perturbed[@]}"; run optimised "${perturbed[@]}" --eval-pose-opt-steps "$test_steps"
fi
python3 - "$out" "$last" "$noise" "$lr" <<'PY'
import json, os, sys
out, last, noise, lr = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def load(path):
    try:
        return json.load(open(path))
    except Exception:
        return {}
print(f"fox, {last + 1} steps; perturbed: --pose-noise {noise}, --pose-opt --pose-opt-lr {lr}")
print(f"{'run':<10} {'test cameras':<34} {'PSNR':>7} {'at given':>9} {'train rot (deg)':>16} {'aligned':>8} {'train s':>8}")
for name in ("true", "aligned", "optimised"):
    v = load(os.path.join(out, name, "stats", f"val_step{last:04d}.json"))
    t = load(os.path.join(out, name, "stats", f"train_step{last:04d}.json"))
    p = load(os.path.join(out, name, "poses", f"train_poses_{last}.json")).get("error_vs_given", {})
    a = p.get("after_similarity_alignment", {})
    f = lambda x, fmt: (fmt % x) if isinstance(x, (int, float)) else "-"
    print(f"{name:<10} {v.get('test_poses', 'given'):<34} {f(v.get('psnr'), '%7.3f'):>7} "
          f"{f(v.get('psnr_at_given_poses', v.get('psnr')), '%9.3f'):>9} {f(p.get('rotation_mean_deg'), '%16.4f'):>16} "
          f"{f(a.get('rotation_mean_deg'), '%8.4f'):>8} {f(t.get('ellipse_time'), '%8.1f'):>8}")
h = load(os.path.join(out, "aligned", "poses", "error_history.json")) or []
if h:  # the training cameras' aligned rotation error over the steps (poses/error_history.json)
    picks = [h[min(len(h) - 1, round(q * (len(h) - 1)))] for q in (0, 0.1, 0.25, 0.5, 0.75, 1)]
    print("aligned run, training cameras over the steps: " +
          ", ".join(f"{p['step']}: {p['rotation_mean_deg_aligned']:.3f} deg" for p in picks))
PY
