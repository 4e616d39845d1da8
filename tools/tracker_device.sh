#!/usr/bin/env bash
# The learned track source's parity on the GPU machine, in one call (issue 13): the official code (PyTorch there,
# run on its CPU so that TF32 convolutions do not blur the fp32 comparison) writes every network's tiny and
# published-size random-weight fixtures; vgsplat's CPU engine is built there and compared with them.
# Official sources come through `carry` in .data/ (vggt_src/, py/lightglue, py/einops; see tools/fixture_common.py).
#   run: bash tools/tracker_device.sh        (writes logs and the tiny fixtures under $OUT)
# Prints a short table last.
set -u
OUT=${OUT:-/tmp/tracker_out}
mkdir -p "$OUT/tiny" /root/full
export VGSPLAT_OFFICIAL_SRC=$PWD/.data
export CUDA_VISIBLE_DEVICES=""  # the official code on the CPU: exact fp32
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)" \
  | tee "$OUT/versions.txt"

declare -A ENVV=([dino]=VGSPLAT_DINO_FULL [superpoint]=VGSPLAT_SUPERPOINT_FULL [aliked]=VGSPLAT_ALIKED_FULL
                 [tracker]=VGSPLAT_TRACKER_FULL)
NETS="dino superpoint aliked tracker"
for n in $NETS; do
  python3 "tools/${n}_fixtures.py" --tiny --out "$OUT/tiny/${n}_tiny.safetensors" > "$OUT/fixture_${n}.log" 2>&1 &
done
wait
for n in $NETS; do
  python3 "tools/${n}_fixtures.py" --full --out "/root/full/$n" >> "$OUT/fixture_${n}.log" 2>&1 &
done

cmake -S . -B /root/bt -G Ninja -DVGSPLAT_CUDA=OFF -DVGSPLAT_BENCH=OFF -DCMAKE_BUILD_TYPE=Release > "$OUT/build.log" 2>&1
ninja -C /root/bt dino_test superpoint_test aliked_test tracker_test predict_tracks_test track_ba_test \
  >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
wait

declare -A RES
for n in $NETS; do
  # the committed tiny fixtures (made with PyTorch 1.13 on the CPU) and PyTorch 2.11's must give the same verdict
  cp "$OUT/tiny/${n}_tiny."* tests/data/ 2>/dev/null
  env "${ENVV[$n]}=/root/full/$n" /root/bt/${n}_test > "$OUT/test_${n}.log" 2>&1
  RES[$n]=$(grep -E "^\[  (PASSED|FAILED)  \]" "$OUT/test_${n}.log" | tr '\n' ' ')
done
for t in predict_tracks_test track_ba_test; do /root/bt/$t > "$OUT/$t.log" 2>&1; RES[$t]=$(tail -1 "$OUT/$t.log"); done
git checkout -- tests/data 2>/dev/null
tar -C "$OUT" -czf "$OUT/tiny_fixtures.tgz" tiny
tar -C "$OUT" -czf "$OUT/logs.tgz" --exclude tiny --exclude '*.tgz' .

echo "| test (torch 2.11 fixtures, tiny + published size) | result |"
echo "|---|---|"
for k in $NETS predict_tracks_test track_ba_test; do echo "| $k | ${RES[$k]} |"; done
