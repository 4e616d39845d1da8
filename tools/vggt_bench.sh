#!/usr/bin/env bash
# VGGT on the GPU machine: builds the CUDA tests and bench/vggt_bench.cc, regenerates the full-size random-weight
# fixture with the official PyTorch code (tools/vggt_fixtures.py --full), runs the official model's benchmark
# (tools/vggt_torch_bench.py, bf16 autocast) while the build runs, then the CUDA tests, the full-size parity check
# (fp32 and bf16 vs the official fp32 outputs) and vgsplat's benchmark. Logs and JSON lines go to $OUT.
#   VGGT_SRC=<dir holding vggt/> FRAMES=1,8,32,60,100 REPS=5 tools/vggt_bench.sh
set -u
OUT=${OUT:-/tmp/vggt_bench}
B=${BUILD:-/root/vgbuild_vggt}
FRAMES=${FRAMES:-1,8,32,60,100}
REPS=${REPS:-5}
VGGT_SRC=${VGGT_SRC:-.data/vggt_src}
FULL=${FULL:-/root/vggt_full}
mkdir -p "$OUT"
(
  cmake -S . -B "$B" -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90 -DVGSPLAT_BENCH=ON > "$OUT/cmake.log" 2>&1 &&
    ninja -C "$B" -j14 vggt_cuda_test backend_ops_test > "$OUT/build.log" 2>&1
  echo "build rc $?" >> "$OUT/build.log"
  if ! ninja -C "$B" -j14 vggt_bench >> "$OUT/build.log" 2>&1; then  # no Google Benchmark: link by hand
    g++ -O2 -std=c++20 -I. -Isrc -I/usr/include/eigen3 -I/usr/local/cuda/include bench/vggt_bench.cc -o "$B/vggt_bench" \
      "$B/libvgsplat_lib.a" -L/usr/local/cuda/lib64 -lcudart_static -lpng -ljpeg -lz -lpthread -ldl -lrt >> "$OUT/build.log" 2>&1
  fi
  echo "bench build rc $?" >> "$OUT/build.log"
) &
BUILD_PID=$!
if [ ! -f "$FULL/model.safetensors" ]; then
  PYTHONPATH="$VGGT_SRC" python3 tools/vggt_fixtures.py --full --out "$FULL" > "$OUT/fixtures.log" 2>&1
fi
if [ "${TORCH_BENCH:-1}" = 1 ]; then
  PYTHONPATH="$VGGT_SRC" python3 tools/vggt_torch_bench.py --frames "$FRAMES" --reps "$REPS" > "$OUT/torch_bench.jsonl" 2> "$OUT/torch_bench.err"
fi
wait $BUILD_PID
tail -3 "$OUT/build.log"
"$B/vggt_cuda_test" > "$OUT/vggt_cuda_test.log" 2>&1; echo "vggt_cuda_test rc $?"
"$B/backend_ops_test" --gtest_filter='*vggt*' > "$OUT/backend_ops_vggt.log" 2>&1; echo "backend_ops_test rc $?"
VGSPLAT_VGGT_PROFILE=${PROFILE:-} "$B/vggt_bench" --weights "$FULL/model.safetensors" --fixture "$FULL/vggt_full_io.safetensors" --frames "$FRAMES" \
  --reps "$REPS" > "$OUT/vgsplat_bench.jsonl" 2> "$OUT/vgsplat_bench.err"; echo "vggt_bench rc $?"
cat "$OUT/torch_bench.jsonl" "$OUT/vgsplat_bench.jsonl"
