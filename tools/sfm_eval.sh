#!/usr/bin/env bash
# SfM accuracy and speed against ground truth: `vgsplat sfm` vs COLMAP 3.8 (CPU SIFT) on the same
# images, both aligned to the ground truth (similarity on camera centres) by tools/sfm_compare.
#
#   tools/sfm_eval.sh [--build DIR] [--out DIR] [--device cpu|cuda|auto] [--threads N] [--no-colmap]
#                     [--setups auto,per-image,gt] [scene ...]
#
# Scenes are folders under ../shared/data (default: strecha/fountain-P11 strecha/Herz-Jesus-P8 fox);
# ground truth: strecha gt_dense_cameras/*.camera, fox transforms.json. Same settings for both tools:
# max image size 1600, 8192 features, exhaustive matching. Camera set-ups (--setups, default auto,per-image):
#   auto:      vgsplat's default (--camera-mode auto: SIMPLE_RADIAL, images of one size and EXIF camera share
#              one camera, EXIF focal prior) against COLMAP's defaults (feature_extractor and mapper without
#              options: SIMPLE_RADIAL, one camera per EXIF camera, else per image) and against COLMAP in the same
#              set-up (--ImageReader.single_camera 1 where vgsplat made one camera for all images);
#   per-image: one PINHOLE camera per image, principal point fixed (the original P1's options), both tools;
#   gt:        the ground truth's own: strecha one PINHOLE camera (every .camera file has the same K),
#              fox one OPENCV camera (transforms.json has one K with k1 k2 p1 p2); both principal points
#              are 7-9 px off the image centre, so it is refined (a fixed centre alone costs ~0.3-0.6 deg).
# Prints a table per scene, then one table of all scenes and set-ups (mean / max rotation and centre errors,
# registered images, seconds).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
out="${TMPDIR:-/tmp}/vgsplat_sfm_eval"
device=cpu
threads=""
run_colmap=1
setups=auto,per-image
scenes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-colmap) run_colmap=0; shift ;;
    --setups|--camera) setups=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
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

# COLMAP: features, exhaustive matching and mapping into $1 (a fresh folder); the rest of the arguments are
# feature_extractor options, then "--" and mapper options. Prints the --time string.
run_colmap() {
  local dir=$1; shift
  local fe=() mp=()
  while [[ $# -gt 0 && $1 != -- ]]; do fe+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  mp=("$@")
  local db="$dir/database.db" t0 t1 t2 t3
  mkdir -p "$dir/sparse"
  t0=$(now)
  colmap feature_extractor --database_path "$db" --image_path "$images" "${fe[@]}" \
    --SiftExtraction.use_gpu 0 --SiftExtraction.num_threads "${threads:--1}" \
    --SiftExtraction.max_image_size 1600 --SiftExtraction.max_num_features 8192 > "$dir/colmap.log" 2>&1
  t1=$(now)
  colmap exhaustive_matcher --database_path "$db" --SiftMatching.use_gpu 0 \
    --SiftMatching.num_threads "${threads:--1}" >> "$dir/colmap.log" 2>&1
  t2=$(now)
  colmap mapper --database_path "$db" --image_path "$images" --output_path "$dir/sparse" \
    --Mapper.num_threads "${threads:--1}" "${mp[@]}" >> "$dir/colmap.log" 2>&1 \
    || echo "colmap mapper failed (see $dir/colmap.log)" >&2
  t3=$(now)
  echo "features:$(elapsed "$t0" "$t1"),matching:$(elapsed "$t1" "$t2"),mapping:$(elapsed "$t2" "$t3"),total:$(elapsed "$t0" "$t3")"
}

# vgsplat sfm into $1 with the extra arguments; prints the --time string (per-step seconds of its statistics).
run_vgsplat() {
  local dir=$1; shift
  local t0 t1
  t0=$(now)
  "$vgsplat" sfm "$src" --out "$dir" --device "$device" ${threads:+--threads "$threads"} "$@" \
    --max-image-size 1600 --max-features 8192 --stats "$dir.stats.json" > "$dir.log" 2>&1 \
    || echo "vgsplat sfm failed (see $dir.log)" >&2
  t1=$(now)
  python3 - "$dir.stats.json" "$(elapsed "$t0" "$t1")" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["seconds_per_step"]
except Exception:
    s = {}
print(",".join([f"{k}:{v:.2f}" for k, v in s.items()] + [f"total:{sys.argv[2]}"]))
PY
}

# Cameras of vgsplat's model (from its statistics): "<number of cameras> <number of images>".
vg_cameras() {
  python3 - "$1" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
    print(len(s["camera_setup"]["groups"]), s["images_used"])
except Exception:
    print("0 0")
PY
}

summary="$out/summary.tsv"
mkdir -p "$out"
: > "$summary"
IFS=, read -r -a setup_list <<< "$setups"
for scene in "${scenes[@]}"; do
  src="$data/$scene"
  images="$src/images"
  if [[ -d "$src/gt_dense_cameras" ]]; then gt="$src/gt_dense_cameras"
  elif [[ -f "$src/transforms.json" ]]; then gt="$src/transforms.json"
  else echo "skip $scene: no ground truth" >&2; continue; fi
  n=$(find -L "$images" -maxdepth 1 -type f ! -name '.*' | wc -l)
  work="$out/$(echo "$scene" | tr / _)"
  rm -rf "$work"; mkdir -p "$work"
  args=(--gt "$gt" --images "$n" --scene "$scene" --summary "$summary")
  for setup in "${setup_list[@]}"; do
    case "$setup" in
      auto) vg_args=(); ;;
      per-image) vg_args=(--camera-mode per-image) ;;
      gt) if [[ -d "$src/gt_dense_cameras" ]]; then gt_model=PINHOLE; else gt_model=OPENCV; fi
          vg_args=(--camera-model "$gt_model" --camera-mode single --refine-principal-point) ;;
      *) echo "--setups: auto, per-image or gt, not $setup" >&2; exit 1 ;;
    esac
    echo "=== $scene ($n images), set-up $setup: vgsplat ${vg_args[*]:-(defaults)}"
    t=$(run_vgsplat "$work/vgsplat_$setup" "${vg_args[@]}")
    args+=(--model "vg:$setup=$work/vgsplat_$setup/sparse/0" --time "vg:$setup=$t")
    [[ $run_colmap == 1 ]] || continue
    case "$setup" in
      auto)
        echo "    COLMAP defaults"
        t=$(run_colmap "$work/colmap_default")
        args+=(--model "colmap:default=$(largest_model "$work/colmap_default/sparse")" --time "colmap:default=$t")
        read -r ncam nimg < <(vg_cameras "$work/vgsplat_auto.stats.json")
        if [[ $ncam == 1 && $nimg -gt 1 ]]; then
          echo "    COLMAP as vgsplat auto: one SIMPLE_RADIAL camera for all images"
          t=$(run_colmap "$work/colmap_auto" --ImageReader.single_camera 1)
          args+=(--model "colmap:auto=$(largest_model "$work/colmap_auto/sparse")" --time "colmap:auto=$t")
        fi ;;
      per-image)
        echo "    COLMAP per-image PINHOLE"
        t=$(run_colmap "$work/colmap_per-image" --ImageReader.camera_model PINHOLE --ImageReader.single_camera 0)
        args+=(--model "colmap:per-image=$(largest_model "$work/colmap_per-image/sparse")" --time "colmap:per-image=$t") ;;
      gt)
        echo "    COLMAP $gt_model, one camera, principal point refined"
        t=$(run_colmap "$work/colmap_gt" --ImageReader.camera_model "$gt_model" --ImageReader.single_camera 1 \
              -- --Mapper.ba_refine_principal_point 1)
        args+=(--model "colmap:gt=$(largest_model "$work/colmap_gt/sparse")" --time "colmap:gt=$t") ;;
    esac
  done
  "$compare" "${args[@]}" | tee "$work/table.txt"
done

echo
echo "=== all scenes (rotation deg / centre error in the ground truth's units after similarity alignment)"
python3 - "$summary" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
head = ["scene", "run", "registered", "mean rot", "max rot", "mean centre", "max centre", "seconds"]
table = [head] + rows
w = [max(len(r[i]) for r in table) for i in range(len(head))]
for r in table:
    print("  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(r)))
PY
