#!/usr/bin/env bash
# Refinement from perturbed ground truth: the ground-truth cameras, each rotated by 3 degrees about a random
# axis, its centre moved by 0.1 x the scene radius and its focal scaled by up to +-10% (tools/perturb_model),
# are refined by `vgsplat refine` and compared, with the perturbed input and `vgsplat sfm` (P1, from scratch),
# against the ground truth (similarity alignment on the camera centres, tools/sfm_compare).
#
#   tools/refine_eval.sh [--build DIR] [--out DIR] [--device cpu|cuda|auto] [--threads N] [--seed N]
#                        [--rot-deg 3] [--pos-frac 0.1] [--focal-frac 0.1] [--no-sfm] [scene ...]
#
# Scenes are folders under ${VGSPLAT_DATA:-../shared/data} (default: strecha/fountain-P11 strecha/Herz-Jesus-P8 fox);
# ground truth: strecha gt_dense_cameras/*.camera, fox transforms.json. The camera set-up is tools/sfm_eval.sh's
# default (--camera gt) for all three: the ground truth's own model, one camera for all images (strecha PINHOLE,
# fox OPENCV), principal point refined; max image size 1600, 8192 features for both commands. Ends with one
# table: errors (mean rotation deg / mean centre, ground-truth units) and wall seconds; speed-up = P1 / refine.
# VGSPLAT_REFINE_EXTRA="--opt v ..." is appended to the refine command (A/B of its options).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
out="${TMPDIR:-/tmp}/vgsplat_refine_eval"
device=cpu
threads=""
seed=0
rot_deg=3
pos_frac=0.1
focal_frac=0.1
run_sfm=1
scenes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --rot-deg) rot_deg=$2; shift 2 ;;
    --pos-frac) pos_frac=$2; shift 2 ;;
    --focal-frac) focal_frac=$2; shift 2 ;;
    --no-sfm) run_sfm=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 1 ;;
    *) scenes+=("$1"); shift ;;
  esac
done
data="${VGSPLAT_DATA:-$root/../shared/data}"
[[ ${#scenes[@]} -gt 0 ]] || scenes=(strecha/fountain-P11 strecha/Herz-Jesus-P8 fox)
vgsplat="$build/vgsplat"
compare="$build/sfm_compare"
perturb="$build/perturb_model"
for exe in "$vgsplat" "$compare" "$perturb"; do
  [[ -x "$exe" ]] || { echo "missing $exe: build it with ninja -C $build vgsplat sfm_compare perturb_model" >&2; exit 1; }
done

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# "STEP:SEC,...,total:SEC" from a --stats file's seconds_per_step and the measured wall time.
step_times() {
  python3 - "$1" "$2" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["seconds_per_step"]
except Exception:
    s = {}
print(",".join([f"{k}:{v:.2f}" for k, v in s.items() if "." not in k] + [f"total:{sys.argv[2]}"]))
PY
}

mkdir -p "$out"
summary="$out/summary.tsv"
: > "$summary"
for scene in "${scenes[@]}"; do
  src="$data/$scene"
  images="$src/images"
  if [[ -d "$src/gt_dense_cameras" ]]; then gt="$src/gt_dense_cameras"; model=PINHOLE
  elif [[ -f "$src/transforms.json" ]]; then gt="$src/transforms.json"; model=OPENCV
  else echo "skip $scene: no ground truth" >&2; continue; fi
  n=$(find -L "$images" -maxdepth 1 -type f ! -name '.*' | wc -l)
  camera=(--camera-model "$model" --single-camera --refine-principal-point)
  work="$out/$(echo "$scene" | tr / _)"
  rm -rf "$work"; mkdir -p "$work"
  echo "=== $scene ($n images, one $model camera, principal point refined; perturbed: $rot_deg deg, centre $pos_frac x radius, focal +-$focal_frac, seed $seed)"

  "$perturb" --gt "$gt" --images "$images" --out "$work/perturbed" --camera-model "$model" --single-camera \
    --rot-deg "$rot_deg" --pos-frac "$pos_frac" --focal-frac "$focal_frac" --seed "$seed" | tee "$work/perturb.log"
  args=(--gt "$gt" --images "$n" --model "perturbed=$work/perturbed")

  t0=$(now)
  if "$vgsplat" refine "$src" --init-model "$work/perturbed" --out "$work/refine" --device "$device" \
      ${threads:+--threads "$threads"} "${camera[@]}" --max-image-size 1600 --max-features 8192 \
      --stats "$work/refine_stats.json" ${VGSPLAT_REFINE_EXTRA:-} > "$work/refine.log" 2>&1; then
    grep -E '^(refine:|  mean reprojection)' "$work/refine.log" || true
  else
    echo "vgsplat refine failed (see $work/refine.log)"; tail -3 "$work/refine.log"
  fi
  t1=$(now)
  refine_s=$(elapsed "$t0" "$t1")
  args+=(--model "refine=$work/refine/sparse/0" --time "refine=$(step_times "$work/refine_stats.json" "$refine_s")")

  sfm_s=-
  if [[ $run_sfm == 1 ]]; then
    t0=$(now)
    "$vgsplat" sfm "$src" --out "$work/sfm" --device "$device" ${threads:+--threads "$threads"} "${camera[@]}" \
      --max-image-size 1600 --max-features 8192 --stats "$work/sfm_stats.json" > "$work/sfm.log" 2>&1 \
      || echo "vgsplat sfm failed (see $work/sfm.log)"
    t1=$(now)
    sfm_s=$(elapsed "$t0" "$t1")
    args+=(--model "sfm=$work/sfm/sparse/0" --time "sfm=$(step_times "$work/sfm_stats.json" "$sfm_s")")
  fi
  "$compare" "${args[@]}" | tee "$work/table.txt"
  printf '%s\t%s\t%s\t%s\t%s\n' "$scene" "$n" "$work/table.txt" "$refine_s" "$sfm_s" >> "$summary"
done

echo
python3 - "$summary" <<'PY'
import sys

def errors(table):
    """{model: (registered, mean rotation deg, mean centre)} from sfm_compare's table."""
    rows = {}
    lines = open(table).read().splitlines()
    names = lines[0].split()
    for line in lines[1:]:
        for label in ("registered", "mean rotation error (deg)", "mean centre error (GT)"):
            if line.startswith(label):
                rows[label] = line[len(label):].split()
    return {m: tuple(rows[l][i] for l in ("registered", "mean rotation error (deg)", "mean centre error (GT)"))
            for i, m in enumerate(names)}

def cell(e, seconds=None):
    if e is None:
        return "-"
    reg, rot, cen = e
    s = f"{rot}° / {cen}" if rot != "-" else "-"
    if seconds not in (None, "-"):
        s += f", {float(seconds):.1f} s"
    return s + ("" if reg.split("/")[0] == reg.split("/")[1] else f" ({reg})")

head = ("scene", "input rot / centre", "refine rot / centre, s", "P1 rot / centre, s", "speed-up")
rows = []
for line in open(sys.argv[1]):
    scene, n, table, refine_s, sfm_s = line.rstrip("\n").split("\t")
    e = errors(table)
    speed = f"{float(sfm_s) / float(refine_s):.1f}x" if sfm_s != "-" and float(refine_s) > 0 else "-"
    rows.append((scene, cell(e.get("perturbed")), cell(e.get("refine"), refine_s),
                 cell(e.get("sfm"), sfm_s), speed))
w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
for r in [head, tuple("-" * x for x in w)] + rows:
    print(" | ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
PY
