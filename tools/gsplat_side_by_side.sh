#!/usr/bin/env bash
# Issue 14, acceptance 1 and 4: vgsplat and gsplat 1.6 (tools/gsplat_train.py: simple_trainer's loop) trained on
# the same dumped dataset, on one GPU, one after the other, SEEDS each; prints one row per run and the medians.
#   tools/gsplat_side_by_side.sh --build DIR [--data DIR] [--out DIR] [--gsplat DIR] [--fused-ssim DIR]
#       [--scenes "lego fox"] [--seeds "42 43 44"] [--steps 30000] [--strategy default|mcmc] [--cap-max N]
#       [--only vgsplat|gsplat] [--append] [--build-only]
# --build-only JIT-builds gsplat and fused-ssim at once (no training), e.g. while vgsplat compiles; --append keeps the
# rows of earlier calls in OUT (a long comparison split over several calls of a time-limited machine).
# Scenes as the benchmarks: lego (NeRF-synthetic, 400x400, white background, random init 100k in [-1.3,1.3]^3),
# fox (instant-ngp, data factor 1, random init 100k, init extent 1.0). gsplat and fused-ssim are not in this
# repository: their sources are expected under $data/gsplat and $data/fused_ssim (JIT-compiled on first use, the
# build cached in TORCH_EXTENSIONS_DIR, default /root/torch_ext; its time is reported, not counted in training).
# Preparing them (on a machine with the sources; the GPU machine has no network), into the git-excluded .data:
#   git -C <gsplat clone> archive 1db12c01 gsplat | tar x -C .data/gsplat          # "Bump version to 1.6.0"
#   git -C <glm clone> archive 2d4c4b4dd31fde06cfffad7915c2b3006402322f glm \
#     | tar x -C .data/gsplat/gsplat/cuda/csrc/third_party/glm                        # gsplat's glm submodule
#   git -C <fused-ssim clone> archive HEAD ext.cpp ssim.cu ssim.h ssim3d.cu ssim3d.h fused_ssim | tar x -C .data/fused_ssim
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build data=${VGSPLAT_DATA:-$root/.data} out=${TMPDIR:-/tmp}/vgsplat_side_by_side
gsplat= fssim= scenes="lego fox" seeds="42 43 44" steps=30000 strategy=default cap=1000000 only= append=0 build_only=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;; --data) data=$2; shift 2 ;; --out) out=$2; shift 2 ;;
    --gsplat) gsplat=$2; shift 2 ;; --fused-ssim) fssim=$2; shift 2 ;; --scenes) scenes=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;; --steps) steps=$2; shift 2 ;; --strategy) strategy=$2; shift 2 ;;
    --cap-max) cap=$2; shift 2 ;; --only) only=$2; shift 2 ;;
    --append) append=1; shift ;; --build-only) build_only=1; shift ;;
    *) echo "gsplat_side_by_side: unknown option $1" >&2; exit 2 ;;
  esac
done
gsplat=${gsplat:-$data/gsplat} fssim=${fssim:-$data/fused_ssim}
export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-/root/torch_ext} MAX_JOBS=${MAX_JOBS:-16} PYTHONUNBUFFERED=1
export BUILD_2DGS=${BUILD_2DGS:-0} BUILD_3DGUT=${BUILD_3DGUT:-0}  # kernels simple_trainer's 3DGS path never calls
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$(python3 -c "import torch;print('%d.%d' % torch.cuda.get_device_capability())")}
if [ $build_only = 1 ]; then
  pids=()
  for e in gsplat fused-ssim; do
    python3 "$root/tools/gsplat_train.py" --gsplat "$gsplat" --fused-ssim "$fssim" --build-only $e & pids+=($!)
  done
  rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ $rc = 0 ] || echo "gsplat_side_by_side: a JIT build failed" >&2
  exit $rc
fi
for x in "$build/vgsplat" "$build/dataset_dump"; do [ -x "$x" ] || { echo "gsplat_side_by_side: no $x (build first)" >&2; exit 1; }; done
mkdir -p "$out"
last=$((steps - 1))
rows=$out/rows.txt; [ $append = 1 ] || : > "$rows"
scene_opts() {  # the benchmark set-up of each scene, for both trainers
  case $1 in
    lego) echo "--init-aabb 1.3" ;; fox) echo "--init-extent 1.0" ;; *) echo "" ;;
  esac
}
for sc in $scenes; do
  bgopt=""; [ "$sc" = lego ] && bgopt="--background white"
  [ -f "$out/$sc.safetensors" ] || "$build/dataset_dump" --data-dir "$data/$sc" --out "$out/$sc.safetensors" $bgopt >/dev/null \
    || { echo "gsplat_side_by_side: dataset_dump $sc failed" >&2; exit 1; }
  mopts=""; [ "$strategy" = mcmc ] && mopts="--strategy mcmc --cap-max $cap"
  for s in $seeds; do
    if [ "$only" != gsplat ]; then
      R=$out/vg_${sc}_${strategy}_$s; rm -rf "$R"
      "$build/vgsplat" train --data-dir "$data/$sc" --result-dir "$R" --device cuda --data-factor 1 --init-type random \
        --init-num-pts 100000 $(scene_opts "$sc") $bgopt --max-steps "$steps" --eval-steps "$steps" --save-steps "$steps" \
        --disable-video --seed "$s" $mopts > "$R.log" 2>&1 || echo "gsplat_side_by_side: vgsplat $sc $s failed ($R.log)" >&2
      python3 - "$R" "$last" "$sc" "$s" "$strategy" >> "$rows" <<'PY'
import json, sys
r, last, sc, s, st = sys.argv[1:]
try:
    v = json.load(open(f"{r}/stats/val_step{int(last):04d}.json")); t = json.load(open(f"{r}/stats/train_step{int(last):04d}.json"))
    print(f"vgsplat {sc} {st} {s} {t['ellipse_time']:.1f} {v['psnr']:.3f} {v['ssim']:.4f} {t['num_GS']} {t['mem']:.2f}")
except Exception as e:
    print(f"vgsplat {sc} {st} {s} failed: {e}")
PY
      tail -1 "$rows"
    fi
    if [ "$only" != vgsplat ]; then
      G=$out/gs_${sc}_${strategy}_$s
      python3 "$root/tools/gsplat_train.py" --gsplat "$gsplat" --fused-ssim "$fssim" --data "$out/$sc.safetensors" \
        --out "$G" --seed "$s" --steps "$steps" --init-num-pts 100000 $(scene_opts "$sc") $mopts > "$G.log" 2>&1 \
        || { echo "gsplat_side_by_side: gsplat $sc $s failed ($G.log)" >&2; tail -15 "$G.log" >&2; }
      python3 - "$G" "$sc" "$s" "$strategy" >> "$rows" <<'PY'
import json, sys
g, sc, s, st = sys.argv[1:]
try:
    d = json.load(open(f"{g}/stats.json"))
    print(f"gsplat {sc} {st} {s} {d['ellipse_time']:.1f} {d['psnr']:.3f} {d['ssim']:.4f} {d['num_GS']} {d['mem']:.2f} jit={d['jit_s']:.0f}s")
except Exception as e:
    print(f"gsplat {sc} {st} {s} failed: {e}")
PY
      tail -1 "$rows"
    fi
  done
done
python3 - "$rows" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if "failed" not in l]
print(f"\n{'trainer':<8} {'scene':<5} {'strategy':<8} {'runs':>4} {'train s':>8} {'PSNR':>7} {'SSIM':>7} {'Gaussians':>10} {'GB':>5}")
groups = {}
for r in rows:
    groups.setdefault((r[0], r[1], r[2]), []).append(r)
med = {}
for (tr, sc, st), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    m = [statistics.median(float(r[i]) for r in rs) for i in (4, 5, 6, 7, 8)]
    med[(tr, sc, st)] = m
    print(f"{tr:<8} {sc:<5} {st:<8} {len(rs):>4} {m[0]:>8.1f} {m[1]:>7.3f} {m[2]:>7.4f} {m[3]:>10.0f} {m[4]:>5.2f}")
for (tr, sc, st), m in med.items():
    g = med.get(("gsplat", sc, st))
    if tr == "vgsplat" and g:
        print(f"{sc} {st}: vgsplat {g[0] / m[0]:.2f}x gsplat's speed, PSNR {m[1] - g[1]:+.3f} dB")
PY
