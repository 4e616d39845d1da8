#!/usr/bin/env bash
# Seed corpora for the fuzz targets: tools/fuzz_seeds.sh [fuzz build dir] [output dir]
# Small valid files from vgsplat's own writers (fuzz_make_seeds), torch.save files (zip, legacy) from Python's pickle
# (fuzz/make_torch_seed.py), and every input kept in tests/data/fuzz_regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-${VGSPLAT_SANITIZE_BUILD:-build-sanitize}}
OUT=${2:-$BUILD/fuzz_seeds}
[ -x "$BUILD/fuzz/fuzz_make_seeds" ] || { echo "fuzz_seeds: no $BUILD/fuzz/fuzz_make_seeds (run tools/fuzz.sh, which builds it)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
"$BUILD/fuzz/fuzz_make_seeds" "$OUT"
mkdir -p "$OUT/torch"
python3 fuzz/make_torch_seed.py "$OUT/torch"
for d in tests/data/fuzz_regressions/*/; do
  [ -d "$d" ] || continue
  t=$(basename "$d")
  [ -d "$OUT/$t" ] && cp "$d"* "$OUT/$t/" 2>/dev/null || true
done
echo "fuzz seeds: $(find "$OUT" -type f | wc -l) files in $OUT"
