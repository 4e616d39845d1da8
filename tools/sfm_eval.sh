#!/usr/bin/env bash
# SfM accuracy and speed against ground truth: `vgsplat sfm` vs COLMAP 3.8 (CPU SIFT) on the same
# images, both aligned to the ground truth (similarity on camera centres) by tools/sfm_compare.
#
#   tools/sfm_eval.sh [--build DIR] [--out DIR] [--device cpu|cuda|auto] [--threads N] [--no-colmap]
#                     [--camera gt|per-image] [scene ...]
#
# Scenes are folders under ../shared/data (default: strecha/fountain-P11 strecha/Herz-Jesus-P8 fox);
# ground truth: strecha gt_dense_cameras/*.camera, fox transforms.json. Same settings for both tools:
# max image size 1600, 8192 features, exhaustive matching, and the camera set-up
#   gt (default): the ground truth's own: strecha one PINHOLE camera (every .camera file has the same K),
#                 fox one OPENCV camera (transforms.json has one K with k1 k2 p1 p2); both principal points
#                 are 7-9 px off the image centre, so it is refined (a fixed centre alone costs ~0.3-0.6 deg);
#   per-image:    one PINHOLE camera per image (pipeline P1's default, as the original pipeline).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
out="${TMPDIR:-/tmp}/vgsplat_sfm_eval"
device=cpu
threads=""
run_colmap=1
camera=gt
scenes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-colmap) run_colmap=0; shift ;;
    --camera) camera=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) scenes+=("$1"); shift ;;
  esac
done
data="${VGSPLAT_DATA:-$root/../shared/data}"
[[ ${#scenes[@]} -gt 0 ]] || scenes=(strecha/fountain-P11 strecha/Herz-Jesus-P8 fox)
vgsplat="$build/vgsplat"
compare="$build/sfm_compare"
for exe in "$vgsplat" "$compare"; do
  [[ -x "$exe" ]] || { echo "missing $exe: build it with ninja -C $build vgsplat sfm_compare" >&2; exit 1; }
done
if [[ $run_colmap == 1 ]] && ! command -v colmap >/dev/null; then
  echo "colmap not found: install it (Debian: apt install colmap) or pass --no-colmap" >&2
  exit 1
fi

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# Folder of the COLMAP model with the most registered images (images.bin is the largest file).
largest_model() {
  local best="" size=-1 s
  for m in "$1"/*/; do
    [[ -f "$m/images.bin" ]] || continue
    s=$(stat -c %s "$m/images.bin")
    if (( s > size )); then size=$s; best=${m%/}; fi
  done
  echo "${best:-$1/0}"
}

for scene in "${scenes[@]}"; do
  src="$data/$scene"
  images="$src/images"
  if [[ -d "$src/gt_dense_cameras" ]]; then gt="$src/gt_dense_cameras"
  elif [[ -f "$src/transforms.json" ]]; then gt="$src/transforms.json"
  else echo "skip $scene: no ground truth" >&2; continue; fi
  n=$(find -L "$images" -maxdepth 1 -type f ! -name '.*' | wc -l)
  case "$camera" in
    gt) if [[ -d "$src/gt_dense_cameras" ]]; then model=PINHOLE; else model=OPENCV; fi; single=1; refine_pp=1 ;;
    per-image) model=PINHOLE; single=0; refine_pp=0 ;;
    *) echo "--camera: gt or per-image, not $camera" >&2; exit 1 ;;
  esac
  vg_camera=(--camera-model "$model")
  [[ $single == 1 ]] && vg_camera+=(--single-camera)
  [[ $refine_pp == 1 ]] && vg_camera+=(--refine-principal-point)
  work="$out/$(echo "$scene" | tr / _)"
  rm -rf "$work"; mkdir -p "$work"
  echo "=== $scene ($n images, $model camera$([[ $single == 1 ]] && echo ", one for all images" || echo " per image")$([[ $refine_pp == 1 ]] && echo ", principal point refined"))"

  # vgsplat: per-step seconds from its statistics file
  t0=$(now)
  "$vgsplat" sfm "$src" --out "$work/vgsplat" --device "$device" ${threads:+--threads "$threads"} "${vg_camera[@]}" \
    --max-image-size 1600 --max-features 8192 --stats "$work/vgsplat_stats.json" > "$work/vgsplat.log" 2>&1 \
    || echo "vgsplat sfm failed (see $work/vgsplat.log)"
  t1=$(now)
  vg_times=$(python3 - "$work/vgsplat_stats.json" "$(elapsed "$t0" "$t1")" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["seconds_per_step"]
except Exception:
    s = {}
steps = [f"{k}:{v:.2f}" for k, v in s.items()]
print(",".join(steps + [f"total:{sys.argv[2]}"]))
PY
)
  args=(--gt "$gt" --images "$n" --model "vgsplat=$work/vgsplat/sparse/0" --time "vgsplat=$vg_times")

  if [[ $run_colmap == 1 ]]; then
    db="$work/colmap/database.db"
    mkdir -p "$work/colmap/sparse"
    t0=$(now)
    colmap feature_extractor --database_path "$db" --image_path "$images" \
      --ImageReader.camera_model "$model" --ImageReader.single_camera "$single" \
      --SiftExtraction.use_gpu 0 --SiftExtraction.num_threads "${threads:--1}" \
      --SiftExtraction.max_image_size 1600 --SiftExtraction.max_num_features 8192 > "$work/colmap.log" 2>&1
    t1=$(now)
    colmap exhaustive_matcher --database_path "$db" --SiftMatching.use_gpu 0 \
      --SiftMatching.num_threads "${threads:--1}" >> "$work/colmap.log" 2>&1
    t2=$(now)
    colmap mapper --database_path "$db" --image_path "$images" --output_path "$work/colmap/sparse" \
      --Mapper.num_threads "${threads:--1}" --Mapper.ba_refine_principal_point "$refine_pp" >> "$work/colmap.log" 2>&1 || echo "colmap mapper failed (see $work/colmap.log)"
    t3=$(now)
    c_times="features:$(elapsed "$t0" "$t1"),matching:$(elapsed "$t1" "$t2"),mapping:$(elapsed "$t2" "$t3"),total:$(elapsed "$t0" "$t3")"
    args+=(--model "colmap=$(largest_model "$work/colmap/sparse")" --time "colmap=$c_times")
  fi
  "$compare" "${args[@]}" | tee "$work/table.txt"
done
