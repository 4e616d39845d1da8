#!/usr/bin/env bash
# VGGT on the GPU machine, one call: builds vgsplat, the CUDA tests and bench/vggt_bench.cc; meanwhile regenerates
# the full-size random-weight fixture with the official PyTorch code (tools/vggt_fixtures.py --full) and runs the
# official model's benchmark (tools/vggt_torch_bench.py, bf16 autocast). Then the vggt CUDA tests, the full-size
# parity check (fp32 and bf16 vs the official fp32 outputs; bounds 1e-3 / 2e-2 on depth and pose_enc) with
# vgsplat's benchmark (VGSPLAT_VGGT_PROFILE=1: the four stages), `vgsplat run P2 $SCENE --device cuda` on the
# fixture weights (the COLMAP model read back, analysis.json printed), the per-op profile at PROFILE_FRAMES
# (VGSPLAT_VGGT_PROFILE=2), the LATE_FRAMES benchmark last (dropped when too little time is left), and a table.
# ATTN_BENCH=1: also tools/attention_bench.cc (the attention kernels alone). TORCH_BENCH=0 skips PyTorch.
# Every step is bounded by DEADLINE seconds from the start. At most 8 files go to $OUT.
#   VGGT_SRC=<dir holding vggt/> FRAMES=1,8,32,60 LATE_FRAMES=100 REPS=3 SCENE=.data/kitchen tools/vggt_bench.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/vggt_bench}
B=${BUILD:-/root/vgbuild_vggt}
FRAMES=${FRAMES:-1,8,32,60}
LATE_FRAMES=${LATE_FRAMES:-100}      # benchmarked last, when LATE_MIN_S seconds are left
LATE_MIN_S=${LATE_MIN_S:-100}
REPS=${REPS:-5}
VGGT_SRC=${VGGT_SRC:-.data/vggt_src}
FULL=${FULL:-/root/vggt_full}
SCENE=${SCENE:-.data/kitchen}        # P2 scene; empty: skipped
PROFILE_FRAMES=${PROFILE_FRAMES:-60} # per-op profile; empty: skipped
DEADLINE=${DEADLINE:-540}
JOBS=${JOBS:-13}
mkdir -p "$OUT"
T0=$(date +%s)
left() { local l=$((DEADLINE - $(date +%s) + T0)); echo $((l > 1 ? l : 1)); }
stamp() { echo "[t=$(( $(date +%s) - T0 ))s] $*"; }
TORCH_ALL=$FRAMES${LATE_FRAMES:+,$LATE_FRAMES}

nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader > "$OUT/build.log" 2>&1
(
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DVGSPLAT_BENCH=ON \
    -DVGSPLAT_GIT_COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" >> "$OUT/build.log" 2>&1 &&
    nice -n 10 ninja -C "$B" -j"$JOBS" vgsplat vggt_cuda_test backend_ops_test >> "$OUT/build.log" 2>&1
  echo "build rc $? at $(( $(date +%s) - T0 )) s" >> "$OUT/build.log"
  if ! nice -n 10 ninja -C "$B" -j"$JOBS" vggt_bench >> "$OUT/build.log" 2>&1; then  # no Google Benchmark: by hand
    blas=""; grep -q "OpenBLAS found" "$OUT/build.log" && blas=-lopenblas
    g++ -O2 -std=c++20 -I. -Isrc -I/usr/include/eigen3 -I/usr/local/cuda/include -DVGSPLAT_HAS_CUDA=1 \
      bench/vggt_bench.cc -o "$B/vggt_bench" "$B/libvgsplat_lib.a" -L/usr/local/cuda/lib64 -lcudart_static \
      -lpng -ljpeg -lz $blas -lpthread -ldl -lrt >> "$OUT/build.log" 2>&1
  fi
  echo "bench build rc $? at $(( $(date +%s) - T0 )) s" >> "$OUT/build.log"
) &
BUILD_PID=$!
{
  stamp "fixture"
  if [ ! -f "$FULL/model.safetensors" ]; then
    PYTHONPATH="$VGGT_SRC" timeout "$(left)" python3 tools/vggt_fixtures.py --full --out "$FULL" 2>&1 | tail -8
  fi
  stamp "torch bench $TORCH_ALL"
} > "$OUT/python.log" 2>&1
if [ "${TORCH_BENCH:-1}" = 1 ]; then
  PYTHONPATH="$VGGT_SRC" PYTHONUNBUFFERED=1 timeout "$(left)" python3 tools/vggt_torch_bench.py --frames "$TORCH_ALL" \
    --reps "$REPS" > "$OUT/torch_bench.jsonl" 2>> "$OUT/python.log"
fi
stamp "torch done" >> "$OUT/python.log"
wait $BUILD_PID
grep -E "rc |error" "$OUT/build.log" | tail -5
if [ "${ATTN_BENCH:-0}" = 1 ]; then  # tools/attention_bench.cc: the attention kernels alone (correctness + speed)
  blas=""; grep -q "OpenBLAS found" "$OUT/build.log" && blas=-lopenblas
  g++ -O2 -std=c++20 -I. -Isrc -I/usr/include/eigen3 -I/usr/local/cuda/include -DVGSPLAT_HAS_CUDA=1 \
    tools/attention_bench.cc -o "$B/attention_bench" "$B/libvgsplat_lib.a" -L/usr/local/cuda/lib64 -lcudart_static \
    -lpng -ljpeg -lz $blas -lpthread -ldl -lrt >> "$OUT/build.log" 2>&1
  timeout "$(left)" "$B/attention_bench" 10 > "$OUT/attention.log" 2>&1
  grep -E "^speed .*bf16|FAIL" "$OUT/attention.log" | sort -u
fi
{
  stamp "vggt_cuda_test"
  timeout "$(left)" "$B/vggt_cuda_test" 2>&1; echo "vggt_cuda_test rc $?"
  stamp "backend_ops_test *vggt*"
  timeout "$(left)" "$B/backend_ops_test" --gtest_filter='*vggt*' 2>&1 | grep -E "backend-ops|FAILED|PASSED|rc"
  echo "backend_ops_test rc ${PIPESTATUS[0]}"
} > "$OUT/tests.log" 2>&1
grep -E " rc |FAILED|PASSED" "$OUT/tests.log"
BENCH=("$B/vggt_bench" --weights "$FULL/model.safetensors" --reps "$REPS")
stamp "vggt_bench $FRAMES" > "$OUT/vgsplat_bench.err"
VGSPLAT_VGGT_PROFILE=1 timeout "$(left)" "${BENCH[@]}" --fixture "$FULL/vggt_full_io.safetensors" --frames "$FRAMES" \
  > "$OUT/vgsplat_bench.jsonl" 2>> "$OUT/vgsplat_bench.err"; echo "vggt_bench rc $?"
if [ -n "$SCENE" ]; then
  {
    stamp "vgsplat run P2 $SCENE --device cuda"
    R=/root/p2_results; rm -rf "$R"
    timeout "$(left)" "$B/vgsplat" run P2 "$SCENE" --weights "$FULL/model.safetensors" --device cuda --results-root "$R" 2>&1
    echo "run P2 rc $?"
    D=$(ls -d "$R"/P2_* 2>/dev/null | head -1)
    find "$D" -maxdepth 3 \( -name '*.bin' -o -name '*.ply' -o -name '*.json' \) -printf '%s %p\n' 2>/dev/null
    M=$(dirname "$(find "$D" -name cameras.bin 2>/dev/null | head -1)")
    python3 - "$M" <<'EOF'
# Reads the COLMAP binary model back completely (cameras, images with their 2D points, points3D with tracks).
import struct, sys, os
d = sys.argv[1]
NP = {0: 3, 1: 4, 2: 4, 3: 5, 4: 8, 5: 8, 6: 12, 7: 5, 8: 4, 9: 5, 10: 12}
def rd(f, fmt): return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
with open(os.path.join(d, "cameras.bin"), "rb") as f:
    n = rd(f, "Q")[0]; cams = {}
    for _ in range(n):
        cid, model, w, h = rd(f, "iiQQ"); cams[cid] = (model, w, h, rd(f, "%dd" % NP[model]))
    assert not f.read(1)
with open(os.path.join(d, "images.bin"), "rb") as f:
    n = rd(f, "Q")[0]; obs = 0; names = []
    for _ in range(n):
        rd(f, "i7di"); name = b""
        while (c := f.read(1)) != b"\0": name += c
        names.append(name.decode()); k = rd(f, "Q")[0]; f.read(24 * k); obs += k
    assert not f.read(1)
with open(os.path.join(d, "points3D.bin"), "rb") as f:
    n3 = rd(f, "Q")[0]; track = 0
    for _ in range(n3):
        rd(f, "Q3d3Bd"); t = rd(f, "Q")[0]; f.read(8 * t); track += t
    assert not f.read(1)
c0 = next(iter(cams.values()))
print(f"COLMAP model {d}: {len(cams)} cameras (first: model {c0[0]} {c0[1]}x{c0[2]} params "
      f"{[round(v, 2) for v in c0[3]]}), {len(names)} images ({names[0]} .. {names[-1]}), {obs} observations, "
      f"{n3} points3D, {track} track elements: read back OK")
EOF
    echo "--- analysis.json"; cat "$D/analysis.json"
  } > "$OUT/p2.log" 2>&1
  grep -E "rc |read back|Error|error" "$OUT/p2.log" | head -5
fi
if [ -n "$PROFILE_FRAMES" ] && [ "$(left)" -gt 60 ]; then
  stamp "op profile $PROFILE_FRAMES" >> "$OUT/vgsplat_bench.err"
  VGSPLAT_VGGT_PROFILE=2 timeout "$(left)" "${BENCH[@]}" --frames "$PROFILE_FRAMES" --reps 1 \
    > /dev/null 2>> "$OUT/vgsplat_bench.err"; echo "op profile rc $?"
fi
if [ -n "$LATE_FRAMES" ] && [ "$(left)" -gt "$LATE_MIN_S" ]; then
  stamp "vggt_bench $LATE_FRAMES" >> "$OUT/vgsplat_bench.err"
  VGSPLAT_VGGT_PROFILE=1 timeout "$(left)" "${BENCH[@]}" --frames "$LATE_FRAMES" \
    >> "$OUT/vgsplat_bench.jsonl" 2>> "$OUT/vgsplat_bench.err"; echo "vggt_bench $LATE_FRAMES rc $?"
fi
stamp "table" >> "$OUT/vgsplat_bench.err"
python3 - "$OUT/torch_bench.jsonl" "$OUT/vgsplat_bench.jsonl" <<'EOF' | tee "$OUT/table.txt"
import json, sys
def load(p):
    try: return [json.loads(l) for l in open(p) if l.startswith("{")]
    except OSError: return []
torch = {r["frames"]: r for r in load(sys.argv[1]) if "frames" in r}
ours = load(sys.argv[2])
bounds = {"fp32": 1e-3, "bf16": 2e-2, "fp16": 2e-2}
for r in ours:
    if "parity" in r:
        ok = "" if r["output"] not in ("depth", "pose_enc") else (" ok" if r["rel_err"] <= bounds[r["parity"]] else " FAIL")
        print(f"parity {r['parity']:5s} {r['output']:18s} rel_err {r['rel_err']:.3e}{ok}")
print("| frames | PyTorch bf16 autocast s / peak GB | vgsplat CUDA s / peak GB | time ratio |")
print("|---|---|---|---|")
for r in [r for r in ours if "frames" in r]:
    t = torch.get(r["frames"])
    ts = f"{t['median_s']} / {t['peak_gb']}" if t else "-"
    ratio = f"{r['median_s'] / t['median_s']:.2f}x" if t else "-"
    print(f"| {r['frames']} | {ts} | {r['median_s']} / {r['peak_gb']} ({r['precision']}) | {ratio} |")
EOF
grep -E "\[vggt profile\] S=60 |\[vggt ops\] S=$PROFILE_FRAMES (all\.|total)" "$OUT/vgsplat_bench.err" | head -40
