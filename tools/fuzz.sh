#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time and prints one row per target:
#   tools/fuzz.sh [seconds per target (default 60)] [target ...]
# Builds (clang, ASan + UBSan, libFuzzer) into $VGSPLAT_SANITIZE_BUILD (default build-sanitize, shared with
# tools/sanitize_tests.sh) when needed, seeds the corpora (tools/fuzz_seeds.sh), and keeps what the fuzzers learn
# in <build>/fuzz_corpus/<target>/ so a later run starts from there. A crash, leak, timeout or out-of-memory input is saved as <build>/fuzz_artifacts/<target>/
# and makes the script exit 1: fix the parser, then keep the input in tests/data/fuzz_regressions/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
BUILD=${VGSPLAT_SANITIZE_BUILD:-build-sanitize}
JOBS=${VGSPLAT_JOBS:-$(nproc)}
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DCMAKE_C_FLAGS_RELEASE="-O1 -gline-tables-only" \
    -DVGSPLAT_CUDA=OFF -DVGSPLAT_BENCH=OFF -DVGSPLAT_SANITIZE=address,undefined -DVGSPLAT_FUZZ=ON >/dev/null || exit 1
fi
[ -f "$BUILD/fuzz_targets.txt" ] || { echo "fuzz: $BUILD was configured without libFuzzer (needs clang + libclang-rt-14-dev)" >&2; exit 1; }
read -r -a ALL < "$BUILD/fuzz_targets.txt"
IFS=';' read -r -a ALL <<< "${ALL[*]}"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
[ -n "${VGSPLAT_FUZZ_NO_BUILD:-}" ] || ninja -C "$BUILD" -j "$JOBS" fuzz_make_seeds $(printf 'fuzz_%s ' "${TARGETS[@]}") >/dev/null || {
  ninja -C "$BUILD" -j 1 fuzz_make_seeds $(printf 'fuzz_%s ' "${TARGETS[@]}") | tail -30; exit 1; }
bash tools/fuzz_seeds.sh "$BUILD" "$BUILD/fuzz_seeds" || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tools/sanitizers/ubsan.supp}
LOGS="$BUILD/fuzz_logs"
mkdir -p "$LOGS"
printf '%-14s %12s %8s %8s %8s %7s  %s\n' target executions "time(s)" "cov" features crashes result
status=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/fuzz_corpus/$t" art="$BUILD/fuzz_artifacts/$t"
  mkdir -p "$corpus" "$art"
  start=$SECONDS
  # 2 GB RSS, 512 MB per allocation: a parser that trusts a length field shows up as an out-of-memory input.
  "$BUILD/fuzz/fuzz_$t" "$corpus" "$BUILD/fuzz_seeds/$t" -max_total_time="$SECS" -timeout=20 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len="${VGSPLAT_FUZZ_MAX_LEN:-16384}" -print_final_stats=1 \
    -artifact_prefix="$art/" >"$LOGS/$t.log" 2>&1
  rc=$?
  secs=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$LOGS/$t.log" | awk '{print $2}' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$LOGS/$t.log" | awk '{print $2}' | tail -1)
  ft=$(grep -o 'ft: [0-9]*' "$LOGS/$t.log" | awk '{print $2}' | tail -1)
  crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  result=ok
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    result="FAILED (rc $rc, see $LOGS/$t.log)"
    status=1
  fi
  printf '%-14s %12s %8s %8s %8s %7s  %s\n' "$t" "${execs:-?}" "$secs" "${cov:-?}" "${ft:-?}" "$crashes" "$result"
done
exit $status
