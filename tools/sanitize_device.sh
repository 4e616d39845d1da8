#!/usr/bin/env bash
# compute-sanitizer over the CUDA tests, on the GPU machine:   bash tools/sanitize_device.sh [build dir]
#   memcheck (+ leak check) over every test binary with CUDA cases (gtest filter *Cuda*:*CUDA*:*Gpu*), racecheck
#   over those whose kernels use shared memory (the binaries below exercising src/**/*.cu files with __shared__; the list of such
#   files is printed first). Builds the tests for sm_90 first when the build dir has none. Prints a table:
#   binary, tool, CUDA tests run, kernels compiled into the binary (cuobjdump), errors (compute-sanitizer's
#   ERROR SUMMARY). Logs in $OUT (default ./sanitize-out). Exit 1 when any run reports an error or a test fails.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-${VGSPLAT_DEVICE_BUILD:-build}}
OUT=${OUT:-$PWD/sanitize-out}
mkdir -p "$OUT"
CS=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
[ -x "$CS" ] || { echo "sanitize_device: compute-sanitizer not found (CUDA toolkit's bin/)"; exit 1; }
MEMCHECK="adam_test aliked_test backend_ops_test bundle_adjustment_test device_test dino_test image_metrics_test
isect_test loss_test matching_test rasterize_test superpoint_test tensor_test tracker_test vggt_cuda_test"
# Shared-memory kernels: matching.cu (matching_test), loss.cu (loss_test), rasterize.cu (rasterize_test),
# bundle_adjustment_kernels.cuh (bundle_adjustment_test), cuda_nn.cu (aliked/dino/superpoint/tracker),
# cuda_predictor*.cu (tracker_test), vggt cuda_attention/flash_attention/gemm (vggt_cuda_test).
# sift.cu's CUDA path has no CUDA test case (its outputs are compared in sift_test's CPU cases only).
RACECHECK="matching_test loss_test rasterize_test bundle_adjustment_test dino_test tracker_test vggt_cuda_test"
FILTER=${SANITIZE_FILTER:-*Cuda*:*CUDA*:*Gpu*}

echo "CUDA sources with __shared__:"; grep -l "__shared__" src/*/*.cu src/*/*.cuh | sed 's/^/  /'
if [ ! -x "$BUILD/tensor_test" ]; then
  echo "building $BUILD (sm_90)..."
  { cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DVGSPLAT_BENCH=OFF &&
    ninja -C "$BUILD" $MEMCHECK; } >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
fi

status=0
printf '%-26s %-10s %6s %8s %7s  %s\n' binary tool tests kernels errors result | tee "$OUT/table.txt"
run() {  # run <binary> <tool> [extra compute-sanitizer options]
  local bin=$1 tool=$2; shift 2
  local log="$OUT/${bin}_$tool.log"
  [ -x "$BUILD/$bin" ] || { printf '%-26s %-10s %6s %8s %7s  %s\n' "$bin" "$tool" - - - "not built" | tee -a "$OUT/table.txt"; return; }
  "$CS" --tool "$tool" "$@" --error-exitcode 99 "$BUILD/$bin" --gtest_filter="$FILTER" >"$log" 2>&1
  local rc=$?
  local errors tests kernels result=ok
  errors=$(grep -o 'ERROR SUMMARY: [0-9]*' "$log" | tail -1 | awk '{print $3}')
  tests=$(grep -o '\[  PASSED  \] [0-9]*' "$log" | awk '{print $4}')
  kernels=$(cuobjdump -sass "$BUILD/$bin" 2>/dev/null | grep -c 'Function :')
  if [ "$rc" -ne 0 ] || [ "${errors:-1}" != 0 ]; then result="FAILED (rc $rc, $log)"; status=1; fi
  printf '%-26s %-10s %6s %8s %7s  %s\n' "$bin" "$tool" "${tests:-0}" "${kernels:-?}" "${errors:-?}" "$result" | tee -a "$OUT/table.txt"
}
for b in $MEMCHECK; do run "$b" memcheck --leak-check full; done
for b in $RACECHECK; do run "$b" racecheck --racecheck-report hazard; done
exit $status
