#!/usr/bin/env bash
# The learned track source's CUDA engine on the GPU machine, in one call (issue 13): the official code (PyTorch
# there, on its CPU: exact fp32) writes the published-size random-weight fixtures while vgsplat builds with CUDA;
# then the CUDA engine is compared with them (fp32 and bf16), the backend-op cases run, and the official
# predict_tracks (PyTorch on the GPU, autocast as demo_colmap.py) is timed beside vgsplat's on the same frames.
# Official sources come through `carry` in .data/ (vggt_src/, py/lightglue, py/einops; see tools/fixture_common.py).
#   run: STEPS="fixtures build tests torch bench" FRAMES=60 REPEAT=2 bash tools/tracks_cuda_device.sh
# (torch: the official predict_tracks; bench: vgsplat's tracks_bench on the inputs torch wrote, or on the same
# inputs regenerated without timing the official code when torch is not a step.)
# Logs and JSON under $OUT (tarred); prints a short table last.
set -u
OUT=${OUT:-/tmp/tracks_cuda_out}
STEPS=${STEPS:-"fixtures build tests torch bench"}
FRAMES=${FRAMES:-60}
REPEAT=${REPEAT:-2}
TORCH_REPEAT=${TORCH_REPEAT:-1}
QPTS=${QPTS:-4096}
QFRAMES=${QFRAMES:-8}
B=/root/bc
DEADLINE=${DEADLINE:-560}  # seconds for the whole call; later steps get what is left
T0=$(date +%s)
left() { local l=$((DEADLINE - $(date +%s) + T0)); echo $((l > 1 ? l : 1)); }
mkdir -p "$OUT" /root/full
has() { [[ " $STEPS " == *" $1 "* ]]; }
export VGSPLAT_OFFICIAL_SRC=$PWD/.data VGSPLAT_DATA=$PWD/.data  # official sources; fox / strecha for the tests
declare -A RES

if has fixtures; then bash tools/random_tracker_weights.sh /root/full > "$OUT/fixtures.log" 2>&1 & fi
if has build || has tests || has bench; then
  cmake -S . -B $B -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90 -DVGSPLAT_BENCH=OFF -DCMAKE_BUILD_TYPE=Release \
    > "$OUT/build.log" 2>&1
  t0=$(date +%s)
  ninja -C $B backend_ops_test dino_test superpoint_test aliked_test tracker_test predict_tracks_test vggt_cuda_test \
    tracks_bench >> "$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -40; tail -20 "$OUT/build.log"; exit 1; }
  RES[build]="$(( $(date +%s) - t0 )) s"
fi
wait
cp /root/full/fixture_*.log "$OUT/" 2>/dev/null

if has tests; then
  export VGSPLAT_DINO_FULL=/root/full/dino VGSPLAT_SUPERPOINT_FULL=/root/full/superpoint \
         VGSPLAT_ALIKED_FULL=/root/full/aliked VGSPLAT_TRACKER_FULL=/root/full/tracker
  timeout "$(left)" $B/backend_ops_test > "$OUT/backend_ops_test.log" 2>&1
  RES[backend_ops_test]=$(grep -E "^\[  (PASSED|FAILED)  \]|tests? ran" "$OUT/backend_ops_test.log" | tr '\n' ' ')
  for t in dino_test superpoint_test aliked_test tracker_test predict_tracks_test vggt_cuda_test; do
    # the CUDA tests only (the CPU engine's full-size checks ran in tools/tracker_device.sh)
    f=--gtest_filter=*Cuda*; [ $t = vggt_cuda_test ] || [ $t = predict_tracks_test ] && f=
    timeout "$(left)" $B/$t $f > "$OUT/$t.log" 2>&1
    RES[$t]=$(grep -E "^\[  (PASSED|FAILED)  \]" "$OUT/$t.log" | tr '\n' ' ')
  done
fi
if has torch || has bench; then
  # --repeat 0 writes the inputs only
  r=0; has torch && r=$TORCH_REPEAT
  timeout "$(left)" python3 tools/tracks_torch_bench.py --weights /root/full/w --inputs /root/bench_in.safetensors --json "$OUT/torch.json" \
    --frames "$FRAMES" --query-frame-num "$QFRAMES" --max-query-pts "$QPTS" --repeat $r \
    > "$OUT/torch_bench.log" 2>&1
  if has torch; then
    RES[torch]=$(grep "official run" "$OUT/torch_bench.log" | tail -1)
    [ -n "${RES[torch]}" ] || RES[torch]="failed: $(tail -3 "$OUT/torch_bench.log" | tr '\n' ' ')"
  fi
fi
if has bench; then
  for p in ${PRECISIONS:-auto}; do
    timeout "$(left)" $B/tracks_bench --weights /root/full/w --inputs /root/bench_in.safetensors --precision "$p" --repeat "$REPEAT" \
      --query-frame-num "$QFRAMES" --max-query-pts "$QPTS" --json "$OUT/vgsplat_$p.json" > "$OUT/tracks_bench_$p.log" 2>&1
    RES[vgsplat_$p]=$(grep "vgsplat run" "$OUT/tracks_bench_$p.log" | tail -1)
    [ -n "${RES[vgsplat_$p]}" ] || RES[vgsplat_$p]="failed: $(tail -3 "$OUT/tracks_bench_$p.log" | tr '\n' ' ')"
  done
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1
# the figures the tests print, and every failure, in the output
for f in "$OUT"/*_test.log; do
  [ -f "$f" ] || continue
  grep -hE "Failure|Expected|actual|Which is|rel err|px|max|median| s$|[0-9] s,|FAILED  \]" "$f" | grep -v "^\[ *OK" \
    | sed "s|^|$(basename "$f" .log): |" | head -40
done
# at most 8 files come back: everything in one archive, beside the JSON results
(cd "$OUT" && tar -czf /tmp/logs.tgz --exclude='*.json' . && rm -f -- *.log gpu.txt && mv /tmp/logs.tgz .)
echo "| step | result ($(( $(date +%s) - T0 )) s) |"
echo "|---|---|"
for k in "${!RES[@]}"; do echo "| $k | ${RES[$k]} |"; done
