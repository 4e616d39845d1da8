#!/usr/bin/env python3
"""Parity fixtures for vgsplat's VGGSfM v2 tracker (src/tracks/tracker*.cc), produced by the OFFICIAL code
(vggt/dependency/vggsfm_tracker.py::TrackerPredictor and its track_modules), random weights.

  --tiny --out tests/data/tracker_tiny.safetensors
        the official classes with small sizes (coarse BasicEncoder/predictor latent 16, hidden 32, 4 heads, depth 2,
        5 correlation levels of radius 2, 8 virtual tracks; fine ShallowEncoder/predictor latent 16, hidden 32,
        2 heads, depth 2, 3 levels of radius 3) on 3 frames of 128x128 with 10 query points. The state dict
        (official key names, fp16-exact values) is torch.save'd next to it as tracker_tiny.pt (fp16).
  --full --out DIR
        the published TrackerPredictor with random weights on 4 frames of 1024x1024 (the size predict_tracks
        feeds) and 256 query points: DIR/tracker_full.pt (state dict, fp32) and DIR/tracker_full_io.safetensors.

Random weights: fixture_common.randomize (fp16-exact), the coordinate rows of both flow heads then scaled by 1/64
(see tame_coordinate_heads: untamed random trackers are chaotic).

Tensors: images [S,3,H,W], query_points [N,2], fmaps [S,C,h,w] (process_images_to_fmaps), coarse_iter{i} [S,N,2]
(coarse_predictor's per-iteration tracks), vis [S,N], coarse_tracks [S,N,2], fine_tracks [S,N,2] (forward with
fine_tracking=True), fine_patch_feat [2,C,31,31] (fine_fnet on the first two patches: frame 0, points 0 and 1).
Metadata: "config" (every size, the names of vgsplat's TrackerConfig), "full_keys" (every key and shape of the
published TrackerPredictor's state dict), "coarse_iters", "fine_chunk".
"""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_common as fc  # noqa: E402

fc.add_source_paths()
fc.install_stubs()

from vggt.dependency.vggsfm_tracker import TrackerPredictor  # noqa: E402
from vggt.dependency.track_modules.blocks import BasicEncoder, ShallowEncoder, EfficientUpdateFormer  # noqa: E402
from vggt.dependency.track_modules.base_track_predictor import BaseTrackerPredictor  # noqa: E402

if int(torch.__version__.split(".")[0]) < 2:  # refine_track indexes with int32 tensors, which PyTorch 1.x refuses
    _getitem = torch.Tensor.__getitem__

    def _getitem_int32_ok(self, idx):
        if isinstance(idx, tuple):
            idx = tuple(i.long() if isinstance(i, torch.Tensor) and i.dtype == torch.int32 else i for i in idx)
        return _getitem(self, idx)
    torch.Tensor.__getitem__ = _getitem_int32_ok

PUBLISHED = {
    "coarse_down_ratio": 2, "coarse_stride": 4, "coarse_fnet_dim": 128, "fine_fnet_dim": 32,
    "coarse": {"stride": 4, "corr_levels": 5, "corr_radius": 4, "latent_dim": 128, "hidden_size": 384,
               "num_heads": 8, "depth": 6, "use_spaceatt": True, "num_virtual_tracks": 64, "fine": False},
    "fine": {"stride": 1, "corr_levels": 3, "corr_radius": 3, "latent_dim": 32, "hidden_size": 256,
             "num_heads": 8, "depth": 4, "use_spaceatt": False, "num_virtual_tracks": 64, "fine": True},
    "pradius": 15, "fine_iters": 6,
}

TINY = {
    "coarse_down_ratio": 2, "coarse_stride": 4, "coarse_fnet_dim": 16, "fine_fnet_dim": 16,
    "coarse": {"stride": 4, "corr_levels": 5, "corr_radius": 2, "latent_dim": 16, "hidden_size": 32,
               "num_heads": 4, "depth": 2, "use_spaceatt": True, "num_virtual_tracks": 8, "fine": False},
    "fine": {"stride": 1, "corr_levels": 3, "corr_radius": 3, "latent_dim": 16, "hidden_size": 32,
             "num_heads": 2, "depth": 2, "use_spaceatt": False, "num_virtual_tracks": 64, "fine": True},
    "pradius": 15, "fine_iters": 6,
}


def make_predictor(p):
    m = BaseTrackerPredictor(stride=p["stride"], corr_levels=p["corr_levels"], corr_radius=p["corr_radius"],
                             latent_dim=p["latent_dim"], hidden_size=p["hidden_size"], use_spaceatt=p["use_spaceatt"],
                             depth=p["depth"], fine=p["fine"])
    if p["num_heads"] != 8 or p["num_virtual_tracks"] != 64:  # fixed in BaseTrackerPredictor: rebuild the former
        depth = p["depth"]
        m.updateformer = EfficientUpdateFormer(
            space_depth=depth if p["use_spaceatt"] else 0, time_depth=depth, input_dim=m.transformer_dim,
            hidden_size=p["hidden_size"], num_heads=p["num_heads"], output_dim=p["latent_dim"] + 2, mlp_ratio=4.0,
            add_space_attn=p["use_spaceatt"], num_virtual_tracks=p["num_virtual_tracks"])
    return m


class Tracker(nn.Module):
    """TrackerPredictor's attributes with every size configurable; forward/process_images_to_fmaps are the
    official methods."""
    forward = TrackerPredictor.forward
    process_images_to_fmaps = TrackerPredictor.process_images_to_fmaps

    def __init__(self, c):
        super().__init__()
        self.coarse_down_ratio = c["coarse_down_ratio"]
        self.coarse_fnet = BasicEncoder(output_dim=c["coarse_fnet_dim"], stride=c["coarse_stride"])
        self.coarse_predictor = make_predictor(c["coarse"])
        self.fine_fnet = ShallowEncoder(output_dim=c["fine_fnet_dim"], stride=1)
        self.fine_predictor = make_predictor(c["fine"])


def tame_coordinate_heads(model):
    """With plain random weights the iterative tracker is chaotic: the coordinate update feeds the high-frequency
    flow embedding (sin(x * k * 1000 / C)) of the next iteration, and a 1e-6 relative change of the feature maps
    moves the official tracks by ~10 px after 6 iterations, so no two fp32 implementations could agree. The two
    coordinate rows of each flow_head are scaled by 1/64 (a power of two: still fp16-exact); tracks still move a
    few pixels over the iterations, and the same perturbation then changes them by < 1e-5 px."""
    with torch.no_grad():
        for p in (model.coarse_predictor, model.fine_predictor):
            p.updateformer.flow_head.weight[:2] /= 64
            p.updateformer.flow_head.bias[:2] /= 64


def full_key_shapes():
    return {k: list(v.shape) for k, v in TrackerPredictor().state_dict().items()}


def run(model, images, query, coarse_iters, fine_chunk):
    out = {"images": images, "query_points": query}
    with torch.no_grad():
        fmaps = model.process_images_to_fmaps(images)
        out["fmaps"] = fmaps
        coarse_list, _ = model.coarse_predictor(query_points=query[None], fmaps=fmaps[None], iters=coarse_iters,
                                                down_ratio=model.coarse_down_ratio)
        for i, t in enumerate(coarse_list):
            out[f"coarse_iter{i}"] = t[0]
        captured = []
        hook = model.fine_fnet.register_forward_hook(lambda m, i, o: captured.append(o[:2].clone()))
        fine, coarse, vis, _ = model(images[None], query[None], fmaps=fmaps[None], coarse_iters=coarse_iters,
                                     fine_tracking=True, fine_chunk=fine_chunk)
        hook.remove()
        out["fine_patch_feat"] = captured[0]
        out.update(coarse_tracks=coarse[0], vis=vis[0], fine_tracks=fine[0])
    return out


def main():
    ap = fc.fixture_parser(__doc__)
    a = fc.parse_fixture_args(ap)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    c = TINY if a.tiny else PUBLISHED
    model = TrackerPredictor() if a.full else Tracker(c)
    model.eval()
    fc.randomize(model, gen, fp16_exact=True)
    tame_coordinate_heads(model)
    S, H, N = (3, 128, 10) if a.tiny else (4, 1024, 256)
    # Smooth random images in [0, 1] (a low-resolution noise field upsampled), so features are not white noise.
    low = torch.rand(S, 3, H // 16, H // 16, generator=gen)
    images = torch.nn.functional.interpolate(low, size=(H, H), mode="bilinear", align_corners=False).clamp(0, 1)
    images = (images + 0.05 * torch.rand(S, 3, H, H, generator=gen)).clamp(0, 1)
    query = 8 + torch.rand(N, 2, generator=gen) * (H - 16)
    coarse_iters, fine_chunk = 6, (7 if a.tiny else 40960)
    out = run(model, images, query, coarse_iters, fine_chunk)
    meta = {"config": json.dumps(c), "full_keys": json.dumps(full_key_shapes()), "torch": torch.__version__,
            "coarse_iters": str(coarse_iters), "fine_chunk": str(fine_chunk)}
    sd = model.state_dict()
    if a.tiny:
        fc.save_safetensors(a.out, out, meta)
        torch.save({k: v.half() for k, v in sd.items()}, os.path.splitext(a.out)[0] + ".pt")
    else:
        os.makedirs(a.out, exist_ok=True)
        fc.save_safetensors(os.path.join(a.out, "tracker_full_io.safetensors"), out, meta)
        torch.save(sd, os.path.join(a.out, "tracker_full.pt"))
    for k, v in sorted(out.items()):
        print(f"{k:18s} {tuple(v.shape)}")


if __name__ == "__main__":
    main()
