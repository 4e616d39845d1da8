#!/usr/bin/env bash
# SfM accuracy and speed against ground truth: `vgsplat sfm` vs COLMAP 3.8 (CPU SIFT) on the same
# images, both aligned to the ground truth (similarity on camera centres) by tools/sfm_compare.
#
#   tools/sfm_eval.sh [--build DIR] [--out DIR] [--device cpu|cuda|auto] [--threads N] [--no-colmap]
#                     [--setups auto,per-image,gt] [scene ...]
#
# Scenes are folders under ../shared/data (default: strecha/fountain-P11 strecha/Herz-Jesus-P8 fox);
# ground truth: strecha gt_dense_cameras/*.camera, fox transforms.json. NeRF-synthetic scenes (Blender
# renders, exact cameras: a folder with transforms_train.json and no images/, e.g. lego) are built under
# OUT/scenes: `lego` (all 100 training views), `lego-12` (12 views evenly spread by index), `lego-wide-8`
# (8 views, every 12th); RGBA composited on white for both tools. Same settings for both tools:
# max image size 1600, 8192 features, exhaustive matching. Camera set-ups (--setups, default auto,per-image):
#   auto:      vgsplat's default (--camera-mode auto: SIMPLE_RADIAL, images of one size and EXIF camera share
#              one camera, EXIF focal prior) against COLMAP's defaults (feature_extractor and mapper without
#              options: SIMPLE_RADIAL, one camera per EXIF camera, else per image) and against COLMAP in the same
#              set-up (--ImageReader.single_camera 1 where vgsplat made one camera for all images);
#   per-image: one PINHOLE camera per image, principal point fixed (the original P1's options), both tools;
#   gt:        the ground truth's own: strecha one PINHOLE camera (every .camera file has the same K),
#              fox one OPENCV camera (transforms.json has one K with k1 k2 p1 p2); both principal points
#              are 7-9 px off the image centre, so it is refined (a fixed centre alone costs ~0.3-0.6 deg);
#              NeRF synthetic one SIMPLE_PINHOLE camera (camera_angle_x only: fx = fy, centre exact, fixed).
# Synthetic scenes with exact cameras (synth-facade-15, synth-facade-wide-8, synth-object-24, synth-object-10) are
# rendered by make_gt_scene from the shared photos (src/pipeline/gt_scene.h) into OUT/scenes.
# VGSPLAT_SFM_EXTRA: more `vgsplat sfm` options for every vgsplat run (A/B of an option).
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
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
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
  "$vgsplat" sfm "$src" --out "$dir" --device "$device" ${threads:+--threads "$threads"} "$@" ${VGSPLAT_SFM_EXTRA:-} \
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

# A NeRF-synthetic scene (transforms_train.json, no images/ folder: $data/lego) as a scene folder under
# $out/scenes: images/ with the chosen training views composited on white (the RGBA renders have black,
# not quite uniform RGB under alpha 0, and both tools read RGB ignoring alpha), and transforms.json with
# the same frames. Name: BASE (all training views), BASE-N (N views evenly spread by index) or
# BASE-wide-N (N views, every floor(total/N)-th from the first). Prints the folder; fails if none applies.
nerf_scene() {
  local name=$1 base=$1 count=0 mode=all
  if [[ ! -f "$data/$base/transforms_train.json" ]]; then
    if [[ $name =~ ^(.+)-wide-([0-9]+)$ ]]; then base=${BASH_REMATCH[1]} count=${BASH_REMATCH[2]} mode=wide
    elif [[ $name =~ ^(.+)-([0-9]+)$ ]]; then base=${BASH_REMATCH[1]} count=${BASH_REMATCH[2]} mode=even
    fi
  fi
  [[ -f "$data/$base/transforms_train.json" ]] || return 1
  local dest="$out/scenes/$(echo "$name" | tr / _)"
  rm -rf "$dest"; mkdir -p "$dest/images"
  python3 - "$data/$base/transforms_train.json" "$dest" "$mode" "$count" <<'PY' || return 1
import json, os, struct, sys, zlib
src, dest, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def png_on_white(path, out_path):  # 8-bit RGB(A) / grey PNG -> 8-bit RGB PNG, alpha composited on white
    d = open(path, "rb").read()
    assert d[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    i, idat = 8, []
    while i < len(d):
        ln, = struct.unpack(">I", d[i:i + 4]); typ, body = d[i + 4:i + 8], d[i + 8:i + 8 + ln]; i += 12 + ln
        if typ == b"IHDR": w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT": idat.append(body)
    ch = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or ch is None or interlace: sys.exit(f"{path}: only 8-bit non-interlaced grey/RGB(A) PNG")
    raw, stride = zlib.decompress(b"".join(idat)), w * ch
    prev, out, p = bytearray(stride), bytearray(), 0
    for _ in range(h):
        f, line = raw[p], bytearray(raw[p + 1:p + 1 + stride]); p += 1 + stride
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + prev[x]) & 255
            elif f == 3: line[x] = (line[x] + ((a + prev[x]) >> 1)) & 255
            elif f == 4:
                b, c = prev[x], (prev[x - ch] if x >= ch else 0)
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rgb = bytearray(w * 3)
        for x in range(w):
            px = line[x * ch:(x + 1) * ch]
            al = px[-1] if ch in (2, 4) else 255
            for k in range(3):
                v = px[k] if ch >= 3 else px[0]
                rgb[3 * x + k] = (v * al + 255 * (255 - al) + 127) // 255
        out += b"\0" + rgb; prev = line
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    open(out_path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                               + chunk(b"IDAT", zlib.compress(bytes(out), 6)) + chunk(b"IEND", b""))

top = json.load(open(src))
frames = top["frames"]
t = len(frames)
if mode == "all": idx = list(range(t))
elif mode == "even": idx = [i * t // n for i in range(n)]
else: idx = [i * (t // n) for i in range(n)]
if not 0 < len(idx) <= t or len(set(idx)) != len(idx):
    sys.exit(f"{src}: cannot pick {n} of {t} frames")
out = dict(top, frames=[])
for i in idx:
    f = dict(frames[i])
    stem = os.path.splitext(os.path.basename(f["file_path"]))[0]
    base = os.path.normpath(os.path.join(os.path.dirname(src), f["file_path"]))
    img = next(p for p in (base, base + ".png", base + ".jpg", base + ".jpeg") if os.path.isfile(p))
    if img.lower().endswith(".png"):
        png_on_white(img, os.path.join(dest, "images", stem + ".png"))
    else:
        os.symlink(img, os.path.join(dest, "images", os.path.basename(img)))
    f["file_path"] = "images/" + stem
    out["frames"].append(f)
json.dump(out, open(os.path.join(dest, "transforms.json"), "w"), indent=1)
PY
  echo "$dest"
}

# The ground truth's camera for the gt set-up: "<model> <refine principal point 0|1>". Strecha: one PINHOLE
# (principal point ~8 px off centre); transforms.json with distortion terms (fox): OPENCV; without distortion
# terms, principal point and fl_y (NeRF synthetic: camera_angle_x only): SIMPLE_PINHOLE, centre fixed.
gt_camera() {
  if [[ -d $1 ]]; then echo "PINHOLE 1"; return; fi
  python3 - "$1" <<'PY'
import json, sys
top = json.load(open(sys.argv[1]))
objs = [top] + top.get("frames", [])
has = lambda k: any(k in o for o in objs)
if any(o.get(k, 0) for o in objs for k in ("k1", "k2", "k3", "p1", "p2")): print("OPENCV 1")
elif not has("cx") and not has("cy") and not has("fl_y") and not has("camera_angle_y"): print("SIMPLE_PINHOLE 0")
else: print("PINHOLE 1")
PY
}

# A synthetic scene made here (synth-<preset>: facade-15, facade-wide-8, object-24, object-10; see
# src/pipeline/gt_scene.h): photos of the shared scenes as textures on planar faces, ray-traced at exact
# cameras by $build/make_gt_scene into $out/scenes/synth-<preset> (kept: it is deterministic). Prints the folder.
synth_scene() {
  [[ $1 =~ ^synth-(.+)$ ]] || return 1
  local dest="$out/scenes/$1"
  if [[ ! -f "$dest/transforms.json" ]]; then
    [[ -x "$build/make_gt_scene" ]] || { echo "missing $build/make_gt_scene (ninja -C $build make_gt_scene)" >&2; return 1; }
    rm -rf "$dest"
    "$build/make_gt_scene" --preset "${BASH_REMATCH[1]}" --out "$dest" --textures "$data/strecha/fountain-P11/images" \
      "$data/strecha/Herz-Jesus-P8/images" "$data/vggsfm/kitchen/images" "$data/vggsfm/british_museum/images" \
      "$data/fox/images" "$data/vggsfm/cake/images" "$data/vggsfm/statue/images" "$data/fern/images" >&2 || return 1
  fi
  echo "$dest"
}

# The stages before the mapper, per run of a scene's folder $1: features, verified pairs and their inlier matches
# (vgsplat: its statistics; COLMAP: its database, pairs with at least 15 inliers as its mapper reads them) and the
# initial pair each mapper chose (from the logs).
stages() {
  python3 - "$1" <<'PY'
import glob, json, os, re, sqlite3, sys
work = sys.argv[1]
rows = []
for stats in sorted(glob.glob(os.path.join(work, "vgsplat_*.stats.json"))):
    name = "vg:" + os.path.basename(stats)[len("vgsplat_"):-len(".stats.json")]
    try:
        s = json.load(open(stats))
    except Exception:
        continue
    log = open(stats[:-len(".stats.json")] + ".log", errors="replace").read()
    m = re.search(r"initial pair (\S+), (\S+):", log)
    rows.append((name, s.get("features", "-"), s.get("pairs_verified", "-"), s.get("verified_matches", "-"),
                 f"{m.group(1)} {m.group(2)}" if m else "-"))
for db in sorted(glob.glob(os.path.join(work, "colmap_*", "database.db"))):
    d = os.path.dirname(db)
    name = "colmap:" + os.path.basename(d)[len("colmap_"):]
    try:
        con = sqlite3.connect(db, timeout=30)
        feats = con.execute("SELECT SUM(rows) FROM keypoints").fetchone()[0]
        pairs, inl = con.execute("SELECT COUNT(*), SUM(rows) FROM two_view_geometries WHERE rows >= 15").fetchone()
        names = dict(con.execute("SELECT image_id, name FROM images"))
        con.close()
    except Exception:
        continue
    log = open(os.path.join(d, "colmap.log"), errors="replace").read()
    m = re.search(r"Initializing with image pair #(\d+) and #(\d+)", log)
    init = f"{names.get(int(m.group(1)), '?')} {names.get(int(m.group(2)), '?')}" if m else "-"
    rows.append((name, feats, pairs, inl, init))
if rows:
    print(f"{'stages':<22}{'features':>10}{'verified pairs':>16}{'inlier matches':>16}  initial pair")
    for r in rows:
        print(f"{r[0]:<22}{r[1]:>10}{r[2]:>16}{r[3]:>16}  {r[4]}")
PY
}

summary="$out/summary.tsv"
mkdir -p "$out"
: > "$summary"
IFS=, read -r -a setup_list <<< "$setups"
for scene in "${scenes[@]}"; do
  src="$data/$scene"
  if [[ ! -d "$src/images" ]] && synth=$(synth_scene "$scene"); then src=$synth
  elif [[ ! -d "$src/images" ]] && nerf=$(nerf_scene "$scene"); then src=$nerf; fi
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
      gt) read -r gt_model gt_refine < <(gt_camera "$gt")
          vg_args=(--camera-model "$gt_model" --camera-mode single)
          if [[ $gt_refine == 1 ]]; then vg_args+=(--refine-principal-point); fi ;;
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
        echo "    COLMAP $gt_model, one camera, principal point $( ((gt_refine)) && echo refined || echo fixed)"
        t=$(run_colmap "$work/colmap_gt" --ImageReader.camera_model "$gt_model" --ImageReader.single_camera 1 \
              -- --Mapper.ba_refine_principal_point "$gt_refine")
        args+=(--model "colmap:gt=$(largest_model "$work/colmap_gt/sparse")" --time "colmap:gt=$t") ;;
    esac
  done
  "$compare" "${args[@]}" | tee "$work/table.txt"
  stages "$work" | tee -a "$work/table.txt"
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
