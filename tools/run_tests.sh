#!/usr/bin/env bash
# Builds vgsplat and runs the whole test suite (the README's test command; CI runs exactly this).
# When a CUDA toolkit is present the CUDA kernels are compiled too (one architecture, compile-only
# on a machine without a GPU: GPU comparisons are skipped there and run on the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VGSPLAT_BUILD_DIR:-build}
ARCH=${VGSPLAT_TEST_CUDA_ARCH:-90}
JOBS=${VGSPLAT_JOBS:-$(nproc)}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DVGSPLAT_BENCH=OFF
ninja -C "$BUILD" -j "$JOBS"
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" --timeout 900
