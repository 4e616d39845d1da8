#!/usr/bin/env bash
# One call on the GPU machine: build (sm_90), run every test (CUDA vs CPU reference included),
# then the training benchmarks; prints a short table last.
#   Data: the scenes are read from $VGSPLAT_DATA (default ./.data, a carried copy of ../shared/data).
#   Logs and stats go to $OUT (the device tool brings that folder back) or ./device-out.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/device-out}
mkdir -p "$OUT"
export VGSPLAT_DATA=${VGSPLAT_DATA:-$ROOT/.data}
BUILD=${VGSPLAT_DEVICE_BUILD:-/root/vgbuild}
STAGES=${*:-tests parity lego fox demo}
LEGO_STEPS=${LEGO_STEPS:-30000}
LEGO_REPEAT=${LEGO_REPEAT:-1}   # lego benchmark runs; the table reports each and the median
PROFILE_EVERY=${PROFILE_EVERY:-}  # lego: time each training stage every N-th step (stats/profile.json; slows those steps)
FOX_STEPS=${FOX_STEPS:-30000}
TABLE=$OUT/table.txt
: > "$TABLE"
row() { printf '%-34s %s\n' "$1" "$2" | tee -a "$TABLE"; }

nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
t0=$(date +%s)
COMMIT=$(cat "$VGSPLAT_DATA/COMMIT" 2>/dev/null || git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DVGSPLAT_GIT_COMMIT="$COMMIT" >"$OUT/cmake.log" 2>&1 \
  || { tail -30 "$OUT/cmake.log"; exit 1; }
ninja -C "$BUILD" -j 16 ${NINJA_TARGETS:-} >"$OUT/build.log" 2>&1 || { grep -E "error|Error" -A3 "$OUT/build.log" | head -60; exit 1; }
row "build (s)" "$(( $(date +%s) - t0 ))"
"$BUILD/vgsplat" info | tee "$OUT/info.txt"
VG=$BUILD/vgsplat

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(f'{k}={d[k]}' for k in sys.argv[2:] if k in d))" "$@"; }

for s in $STAGES; do case $s in
tests)
  "$BUILD/backend_ops_test" >"$OUT/backend_ops.log" 2>&1; rc=$?
  grep -E "\[backend-ops\]" "$OUT/backend_ops.log" | sort -k5 -g | tail -40
  grep -E "FAILED|PASSED" "$OUT/backend_ops.log" | tail -15
  row "backend_ops_test rc" "$rc (max rel err $(grep -E '\[backend-ops\]' "$OUT/backend_ops.log" | awk '{print $NF}' | sort -g | tail -1))"
  ctest --test-dir "$BUILD" -j 8 --timeout 600 >"$OUT/ctest.log" 2>&1; rc=$?
  tail -25 "$OUT/ctest.log"
  row "ctest rc" "$rc $(grep -E 'tests passed' "$OUT/ctest.log")"
  ;;
lego)
  # The benchmark of issue 2: NeRF-synthetic lego, 100 train / 25 test views at 400x400, white background,
  # random init of 100k points in [-1.3,1.3]^3, 30000 steps. LEGO_REPEAT runs; median reported.
  last=$((LEGO_STEPS - 1)); times=""
  for i in $(seq 1 "$LEGO_REPEAT"); do
    R=/root/res_lego_$i; rm -rf $R
    /usr/bin/time -v "$VG" train --data-dir "$VGSPLAT_DATA/lego" --result-dir $R --device cuda --data-factor 1 \
      --max-steps "$LEGO_STEPS" --init-type random --init-num-pts 100000 --init-aabb 1.3 --background white \
      --eval-steps "$LEGO_STEPS" --save-steps "$LEGO_STEPS" --ply-steps "$LEGO_STEPS" --save-ply --seed $((41 + i)) \
      ${PROFILE_EVERY:+--profile-every $PROFILE_EVERY} \
      >"$OUT/lego_$i.log" 2>&1; rc=$?
    tail -3 "$OUT/lego_$i.log"
    row "lego run $i rc=$rc val" "$(json $R/stats/val_step$last.json psnr ssim lpips num_GS ellipse_time 2>&1)"
    row "lego run $i train" "$(json $R/stats/train_step$last.json ellipse_time mem num_GS 2>&1)"
    times="$times $(python3 -c "import json;print(json.load(open('$R/stats/train_step$last.json'))['ellipse_time'])" 2>/dev/null)"
  done
  row "lego train seconds (median)" "$(python3 -c "import statistics,sys;v=[float(x) for x in sys.argv[1:]];print(f'{statistics.median(v):.1f} of {v}')" $times 2>&1)"
  cp /root/res_lego_1/renders/val_step${last}_0.png "$OUT/lego_val0.png" 2>/dev/null
  ;;
archcheck)
  # A build without kernels for this GPU (sm_80 SASS only, no PTX) must refuse with a clear message.
  cmake -S . -B /root/vgbuild80 -G Ninja -DCMAKE_CUDA_ARCHITECTURES=80-real -DVGSPLAT_TESTS=OFF -DVGSPLAT_BENCH=OFF \
    -DVGSPLAT_GIT_COMMIT="$COMMIT" >/dev/null 2>&1 && ninja -C /root/vgbuild80 -j 16 vgsplat >"$OUT/build80.log" 2>&1
  /root/vgbuild80/vgsplat info 2>&1 | tail -2
  msg=$(/root/vgbuild80/vgsplat train --data-dir "$VGSPLAT_DATA/lego" --device cuda --max-steps 10 2>&1); rc=$?
  echo "$msg"
  row "sm_80-only build on this GPU" "rc=$rc: $(echo "$msg" | tail -1 | cut -c1-150)"
  ;;
fatbin)
  # The release build: default architecture list (every generation + PTX) compiles.
  t1=$(date +%s)
  cmake -S . -B /root/vgbuild_rel -G Ninja -DVGSPLAT_TESTS=OFF -DVGSPLAT_BENCH=OFF -DVGSPLAT_GIT_COMMIT="$COMMIT" \
    >/dev/null 2>&1 && ninja -C /root/vgbuild_rel -j 16 vgsplat >"$OUT/build_rel.log" 2>&1; rc=$?
  row "release fatbin build rc" "$rc in $(( $(date +%s) - t1 )) s: $(/root/vgbuild_rel/vgsplat info 2>&1 | grep -E 'compiled for')"
  cuobjdump --list-elf /root/vgbuild_rel/vgsplat 2>/dev/null | grep -oE 'sm_[0-9]+' | sort | uniq -c | tr '\n' ' '; echo
  ;;
fox)
  R=/root/res_fox; rm -rf $R
  # fox has no sparse points: random init inside the camera ring (normalised world).
  "$VG" train --data-dir "$VGSPLAT_DATA/fox" --result-dir $R --device cuda --data-factor 1 \
    --init-type random --init-extent 1.0 \
    --max-steps "$FOX_STEPS" --eval-steps "$FOX_STEPS" --save-steps "$FOX_STEPS" --ply-steps "$FOX_STEPS" \
    >"$OUT/fox.log" 2>&1; rc=$?
  tail -5 "$OUT/fox.log"
  last=$((FOX_STEPS - 1))
  row "fox train rc" "$rc"
  row "fox val step $last" "$(json $R/stats/val_step$last.json psnr ssim num_GS ellipse_time 2>&1)"
  row "fox train step $last" "$(json $R/stats/train_step$last.json ellipse_time mem num_GS 2>&1)"
  ;;
parity)
  # gsplat's PyTorch reference (.data/gsplat_ref, not in the repo) vs vgsplat CUDA and CPU.
  P=/root/parity; mkdir -p $P
  "$BUILD/parity_dump" $P/cuda_sh3.safetensors cuda 20000 320 240 3 0 1 && \
  "$BUILD/parity_dump" $P/cuda_sh3_aa.safetensors cuda 20000 320 240 3 1 2 && \
  "$BUILD/parity_dump" $P/cuda_sh1.safetensors cuda 5000 200 150 1 0 3 && \
  "$BUILD/parity_dump" $P/cpu_sh3.safetensors cpu 5000 200 150 3 0 4
  python3 tools/gsplat_parity.py --ref "$VGSPLAT_DATA/gsplat_ref" $P/*.safetensors 2>&1 | tee "$OUT/parity.log"
  row "gsplat torch parity" "$(tail -1 "$OUT/parity.log")"
  ;;
sfmtests)
  # The SfM building blocks' CUDA-vs-CPU tests (SIFT, matching, bundle adjustment).
  for t in ${SFM_TESTS:-sift_test matching_test bundle_adjustment_test mapper_test sfm_pipeline_test}; do
    "$BUILD/$t" >"$OUT/$t.log" 2>&1; rc=$?
    row "$t rc" "$rc $(grep -E '^\[  PASSED|^\[  FAILED|SKIPPED \]' "$OUT/$t.log" | head -3 | tr '\n' ' ')"
    [ $rc = 0 ] || grep -E "Failure" -A4 "$OUT/$t.log" | head -24
  done
  grep -hE "^\[(sift|matching|ba)\]" "$OUT"/sift_test.log "$OUT"/matching_test.log "$OUT"/bundle_adjustment_test.log | head -20
  ;;
sfm)
  # SfM stage on fox with CUDA (SIFT, matching, BA on the GPU), compared with transforms.json.
  for i in $(seq 1 ${SFM_REPEAT:-2}); do
    R=/root/sfm_fox_$i; rm -rf $R
    "$VG" sfm "$VGSPLAT_DATA/fox" --out $R --device cuda --stats $R.json >"$OUT/sfm_fox_$i.log" 2>&1
    row "fox sfm cuda run $i rc=$?" "$(python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(d['registered_images'],'reg', d['seconds'], d['seconds_per_step'])" $R.json 2>&1 | cut -c1-200)"
  done
  # One more run with the mapper's per-step log: where the mapping seconds go.
  VGSPLAT_MAPPER_DEBUG=1 "$VG" sfm "$VGSPLAT_DATA/fox" --out /root/sfm_fox_dbg --device cuda >"$OUT/sfm_fox_dbg.log" 2>&1
  row "fox mapping breakdown" "$(awk '/^register/{r+=$(NF-1)} /^local BA/{l+=$7} /^global BA/{g+=$7; n++} END {printf "register %.2f s, local BA %.2f s, global BA %.2f s (%d)", r, l, g, n}' "$OUT/sfm_fox_dbg.log")"
  "$BUILD/sfm_compare" --gt "$VGSPLAT_DATA/fox/transforms.json" --images 67 --model vgsplat_cuda=/root/sfm_fox_1/sparse/0 | tee -a "$TABLE"
  # The ground truth's camera set-up (one OPENCV camera, principal point refined), as tools/sfm_eval.sh --camera gt.
  R=/root/sfm_fox_gt; rm -rf $R
  "$VG" sfm "$VGSPLAT_DATA/fox" --out $R --device cuda --single-camera --camera-model OPENCV --refine-principal-point \
    --stats $R.json >"$OUT/sfm_fox_gt.log" 2>&1
  row "fox sfm cuda, gt camera rc=$?" "$(python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(d['registered_images'],'reg', round(d['seconds'],2))" $R.json 2>&1)"
  "$BUILD/sfm_compare" --gt "$VGSPLAT_DATA/fox/transforms.json" --images 67 --model cuda_gt_camera=$R/sparse/0 | tee -a "$TABLE"
  ;;
p1)
  # Pipeline P1 end to end: SfM (CUDA) + 30000-step training with the original pipeline's defaults.
  rm -rf /root/results
  /usr/bin/time -v "$VG" run P1 "$VGSPLAT_DATA/fox" --results-root /root/results --device cuda >"$OUT/p1_fox.log" 2>&1
  row "run P1 fox rc" "$?"
  D=$(ls -d /root/results/P1_fox_* 2>/dev/null | head -1)
  ls -R "$D" | head -40 > "$OUT/p1_tree.txt"
  cp "$D/analysis.json" "$OUT/p1_analysis.json" 2>/dev/null; cp "$D/metadata.json" "$OUT/p1_metadata.json" 2>/dev/null
  row "P1 fox analysis" "$(python3 -c "
import json,sys; a=json.load(open(sys.argv[1])); s=a['sfm']; t=a.get('train',{})
print('reg',s['registered_images'],'/',s['images'],'pts',s['points3D'],'reproj',round(s['mean_reprojection_error'],3),
      'psnr',t.get('psnr'),'ssim',t.get('ssim'),'GS',t.get('num_gaussians'),'stages',a['seconds_per_stage'],'total',a['total_seconds'])" "$OUT/p1_analysis.json" 2>&1 | cut -c1-400)"
  ;;
gsplat)
  # Issue 14: vgsplat beside gsplat 1.6 (tools/gsplat_train.py, sources in $VGSPLAT_DATA/gsplat and fused_ssim, not in
  # the repo) on the same dumped data, one GPU; SIDE_SCENES / SIDE_SEEDS / SIDE_STEPS / SIDE_STRATEGY.
  bash tools/gsplat_side_by_side.sh --build "$BUILD" --data "$VGSPLAT_DATA" --out /root/side \
    --scenes "${SIDE_SCENES:-lego fox}" --seeds "${SIDE_SEEDS:-42 43 44}" --steps "${SIDE_STEPS:-30000}" \
    --strategy "${SIDE_STRATEGY:-default}" 2>&1 | tee "$OUT/side_by_side.txt"
  row "side by side" "$(grep -E 'x gsplat' "$OUT/side_by_side.txt" | tr '\n' ' ')"
  ;;
demo)
  (cd /root && timeout 300 "$VG" demo --device cuda --out /root/demo_out) >"$OUT/demo.log" 2>&1
  row "demo (cuda) rc" "$? $(tail -2 "$OUT/demo.log" | tr '\n' ' ')"
  ;;
esac; done
echo; echo "==== summary ===="; cat "$TABLE"
