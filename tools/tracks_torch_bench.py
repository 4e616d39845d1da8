"""The official predict_tracks (vggt/dependency/track_predict.py, PyTorch, autocast as demo_colmap.py) timed on the
GPU machine, for the side-by-side speed row of issue 13 (tools/tracker_device.sh runs it beside vgsplat's
`tracks_bench`). The four networks get the random published-size weights the fixture scripts wrote (nothing is
downloaded); the inputs (smooth random frames at --size, VGGT-like confidence and points at 518 px) are written
to --inputs so that vgsplat tracks exactly the same frames.

  python3 tools/tracks_torch_bench.py --weights DIR --inputs FILE.safetensors --json OUT.json \
      [--frames 60] [--size 1024] [--query-frame-num 8] [--max-query-pts 4096] [--no-fine] [--repeat 2]
DIR holds the published file names (vggsfm_v2_tracker.pt, aliked-n16.pth, superpoint_v1.pth,
dinov2_vitb14_reg4_pretrain.pth; links to the fixture scripts' random-weight files). complete_non_vis is off on both
sides: its final trial needs LightGlue's SIFT (OpenCV), which the GPU machine lacks, and with random weights it
would make the amount of work depend on noise.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_common as fc  # noqa: E402

fc.add_source_paths()
fc.install_stubs()

from vggt.dependency import track_predict  # noqa: E402
from vggt.dependency.vggsfm_tracker import TrackerPredictor  # noqa: E402
from vggt.layers.vision_transformer import vit_base  # noqa: E402
from dino_fixtures import HUB_KWARGS  # noqa: E402


def load_any(path):
    """torch.load, or a .safetensors file read without the safetensors package."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return torch.load(path, map_location="cpu", weights_only=False)
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n))
        blob = f.read()
    types = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
    out = {}
    for k, v in meta.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(blob[a:b]), dtype=types[v["dtype"]]).reshape(v["shape"])
    return out


def patch_models(wdir, dev):
    tracker = TrackerPredictor()
    tracker.load_state_dict(load_any(os.path.join(wdir, "vggsfm_v2_tracker.pt")))
    track_predict.build_vggsfm_tracker = lambda *a, **k: tracker
    dino = vit_base(**HUB_KWARGS)
    dino.load_state_dict(load_any(os.path.join(wdir, "dinov2_vitb14_reg4_pretrain.pth")))
    dino = dino.to(dev).eval()
    torch.hub.load = lambda *a, **k: dino  # generate_rank_by_dino's torch.hub.load("facebookresearch/dinov2", ...)
    original = track_predict.initialize_feature_extractors
    # read once here; building the extractors and loading their weights stays inside the timed call, as the original
    sds = {key: load_any(os.path.join(wdir, f)) for key, f in (("aliked", "aliked-n16.pth"), ("sp", "superpoint_v1.pth"))}

    def init(*a, **k):
        ex = original(*a, **k)
        for key, m in ex.items():
            missing, _ = m.load_state_dict(sds[key], strict=False)
            used = [n for n in missing if not n.startswith("desc_head") and not n.startswith("convD")]
            assert not used, f"{key}: weights lack {used[:5]}"
        return ex
    track_predict.initialize_feature_extractors = init


def make_inputs(S, size, seed):
    gen = torch.Generator().manual_seed(seed)
    low = torch.rand(S, 3, size // 16, size // 16, generator=gen)
    images = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    images = (images + 0.05 * torch.rand(S, 3, size, size, generator=gen)).clamp(0, 1)
    conf = 1.0 + 4.0 * torch.rand(S, 518, 518, generator=gen)
    points = torch.randn(S, 518, 518, 3, generator=gen)
    return images, conf, points


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--query-frame-num", type=int, default=8)
    ap.add_argument("--max-query-pts", type=int, default=4096)
    ap.add_argument("--no-fine", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    dev = "cuda"
    torch.manual_seed(a.seed)
    images, conf, points = make_inputs(a.frames, a.size, a.seed)
    fc.save_safetensors(a.inputs, {"images": images, "conf": conf, "points": points}, {"seed": str(a.seed)})
    patch_models(a.weights, dev)
    dtype = torch.bfloat16 if torch.cuda.get_device_capability()[0] >= 8 else torch.float16
    runs = []
    for r in range(a.repeat):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        with torch.no_grad(), torch.cuda.amp.autocast(dtype=dtype):  # demo_colmap.py's context
            tracks, vis, confs, pts, rgb = track_predict.predict_tracks(
                images.to(dev), conf=conf.numpy(), points_3d=points.numpy(), max_query_pts=a.max_query_pts,
                query_frame_num=a.query_frame_num, keypoint_extractor="aliked+sp", fine_tracking=not a.no_fine,
                complete_non_vis=False)
        torch.cuda.synchronize()
        runs.append({"seconds": time.time() - t0, "peak_bytes": torch.cuda.max_memory_allocated(),
                     "peak_reserved_bytes": torch.cuda.max_memory_reserved(), "tracks": int(tracks.shape[1])})
        print(f"official run {r}: {runs[-1]['seconds']:.2f} s, peak {runs[-1]['peak_bytes'] / 2**30:.2f} GiB "
              f"allocated ({runs[-1]['peak_reserved_bytes'] / 2**30:.2f} reserved), {tracks.shape[1]} tracks", flush=True)
    out = {"frames": a.frames, "size": a.size, "query_frame_num": a.query_frame_num,
           "max_query_pts": a.max_query_pts, "fine": not a.no_fine, "dtype": str(dtype), "torch": torch.__version__,
           "gpu": torch.cuda.get_device_name(), "runs": runs}
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
