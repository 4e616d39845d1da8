#!/usr/bin/env bash
# The four `--tracks vggsfm` networks with random published-size weights, for GPU-machine runs without the real
# files: the fixture scripts (official code, PyTorch on the CPU) write DIR/<net>/, and DIR/w gets the published file
# names (the folder --tracker-weights takes). Official sources as tools/fixture_common.py finds them.
#   bash tools/random_tracker_weights.sh DIR
set -u
DIR=${1:?usage: random_tracker_weights.sh DIR}
cd "$(dirname "$0")/.."
export VGSPLAT_OFFICIAL_SRC=${VGSPLAT_OFFICIAL_SRC:-$PWD/.data}
mkdir -p "$DIR/w"
for n in dino superpoint aliked tracker; do
  CUDA_VISIBLE_DEVICES="" python3 "tools/${n}_fixtures.py" --full --out "$DIR/$n" > "$DIR/fixture_$n.log" 2>&1 &
done
wait
ln -sf "$DIR/tracker/tracker_full.pt" "$DIR/w/vggsfm_v2_tracker.pt"
ln -sf "$DIR/aliked/aliked-n16_random.pth" "$DIR/w/aliked-n16.pth"
ln -sf "$DIR/superpoint/superpoint_full_weights.safetensors" "$DIR/w/superpoint_v1.pth"
ln -sf "$DIR/dino/dinov2_vitb14_reg4_random.pth" "$DIR/w/dinov2_vitb14_reg4_pretrain.pth"
for f in "$DIR"/w/*; do [ -s "$f" ] || { echo "missing $f (see $DIR/fixture_*.log)"; exit 1; }; done
