#!/usr/bin/env python3
"""Parity fixtures for vgsplat's SuperPoint keypoints (src/tracks/superpoint.*), produced by the OFFICIAL code:
LightGlue's `SuperPoint.extract` (lightglue/superpoint.py + utils.py), configured as VGGT's track_predict.py
does (max_num_keypoints = max_query_pts, detection_threshold 0.005, LightGlue's other defaults).

  --tiny --out tests/data/superpoint_tiny.safetensors
      The official class with every conv narrowed (widths 8/8/16/16/32, descriptor_dim 16; the module's own
      forward runs unchanged) and random fp16-exact weights, on two 96x128 images (random blobs; smooth noise),
      extracted with resize=None. The state dict is torch.save'd next to it as superpoint_tiny.pt.
  --full --out DIR
      The published configuration (widths 64/64/128/128/256, descriptor 256) with random weights on one
      1024x1024 image, the size the pipeline feeds (LightGlue's resize to 1024 is then the identity):
      DIR/superpoint_full_weights.safetensors and DIR/superpoint_full_io.safetensors. Never committed.

Per image i the io file holds: image{i} [3,H,W]; dense_scores{i} [H,W] (softmax, dustbin dropped, depth-to-space:
the map simple_nms receives); nms_scores{i} [H,W] (what simple_nms returns); for each keypoint budget
k in the metadata "budgets" (0 = None): keypoints{i}_k{k} [N,2] (x, y) and keypoint_scores{i}_k{k} [N] as
extract() returns them (raster order when all are kept, topk order otherwise). Metadata "full_keys": every key
and shape of the published state dict (superpoint_v1.pth).
Random weights give a nearly uniform score map, so the detector head is calibrated (calibrate_detector; the
metadata "config" holds convpb_scale and dustbin_bias) to make NMS,
the threshold and top-k select. Works with PyTorch 1.13 and 2.x.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_common as fc  # noqa: E402

fc.add_source_paths()
fc.install_stubs()
import lightglue.superpoint as sp_mod  # noqa: E402
from lightglue import SuperPoint  # noqa: E402

TINY = dict(widths=[8, 8, 16, 16, 32], descriptor_dim=16, size=[96, 128], images=2, budgets=[0, 48, 200],
            convpb_scale=2.0, dustbin_bias=6.0)
FULL = dict(widths=[64, 64, 128, 128, 256], descriptor_dim=256, size=[1024, 1024], images=1, budgets=[0, 4096, 1024],
            convpb_scale=2.0, dustbin_bias=6.0)


def narrow(model, widths, descriptor_dim):
    """Replaces the official convs by narrower ones of the same kinds (SuperPoint hard-codes 64..256)."""
    c1, c2, c3, c4, c5 = widths
    layers = dict(conv1a=(1, c1, 3), conv1b=(c1, c1, 3), conv2a=(c1, c2, 3), conv2b=(c2, c2, 3),
                  conv3a=(c2, c3, 3), conv3b=(c3, c3, 3), conv4a=(c3, c4, 3), conv4b=(c4, c4, 3),
                  convPa=(c4, c5, 3), convPb=(c5, 65, 1), convDa=(c4, c5, 3), convDb=(c5, descriptor_dim, 1))
    for name, (cin, cout, k) in layers.items():
        setattr(model, name, nn.Conv2d(cin, cout, kernel_size=k, stride=1, padding=k // 2))


def blob_image(gen, h, w):
    """Random Gaussian blobs of random colours on a dark, faintly noisy background: peaks for the detector. The
    noise matters: a flat region repeats one score per cell, and top-k ties among them are broken arbitrarily."""
    ys = torch.arange(h, dtype=torch.float32)[:, None]
    xs = torch.arange(w, dtype=torch.float32)[None, :]
    n = max(40, h * w // 3000)
    img = 0.1 + 0.05 * torch.rand(3, h, w, generator=gen)
    for _ in range(n):
        cy, cx = torch.rand(2, generator=gen) * torch.tensor([h, w], dtype=torch.float32)
        s = 1.5 + 6.0 * torch.rand(1, generator=gen).item()
        col = torch.rand(3, 1, 1, generator=gen)
        img = img + col * torch.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * s * s))
    return img.clamp(0, 1)


def smooth_noise(gen, h, w):
    coarse = torch.rand(1, 3, h // 8, w // 8, generator=gen)
    img = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[0]
    return (0.7 * img + 0.3 * torch.rand(3, h, w, generator=gen)).clamp(0, 1)


def calibrate_detector(model, image, scale, dustbin_bias):
    """Random weights give logits dominated by a per-channel constant (the same cell pattern everywhere), so
    the detector head is made content-driven: convPb's bias cancels each channel's mean logit on `image`, the
    logits are scaled by `scale` and the dustbin gets `dustbin_bias` (flat regions fall under the threshold).
    Values stay fp16-exact."""
    seen = {}
    hook = model.convPb.register_forward_hook(lambda m, i, o: seen.__setitem__("logits", o))
    with torch.no_grad():
        model.eval()({"image": image[None]})
        hook.remove()
        centred = seen["logits"][0] - seen["logits"][0].mean(dim=(1, 2), keepdim=True)
        scale = scale / centred.std().item()  # `scale` is the target spread of the logits
        b = (model.convPb.bias - seen["logits"][0].mean(dim=(1, 2))) * scale
        b[64] += dustbin_bias
        model.convPb.bias.copy_(b.half().float())
        model.convPb.weight.copy_((model.convPb.weight * scale).half().float())


def capture_nms(store):
    """Wraps lightglue.superpoint.simple_nms (looked up by the forward at call time) to record its in/out."""
    original = sp_mod.simple_nms

    def wrapped(scores, nms_radius):
        out = original(scores, nms_radius)
        store["dense"], store["nms"] = scores[0].clone(), out[0].clone()
        return out
    sp_mod.simple_nms = wrapped


def main():
    ap = fc.fixture_parser(__doc__)
    ap.add_argument("--set", default="{}", help="JSON overrides of the configuration (experiments)")
    a = fc.parse_fixture_args(ap)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    c = dict(TINY if a.tiny else FULL, **json.loads(a.set))
    gen = torch.Generator().manual_seed(a.seed)
    model = SuperPoint(max_num_keypoints=None, detection_threshold=0.005, descriptor_dim=c["descriptor_dim"])
    if a.tiny:
        narrow(model, c["widths"], c["descriptor_dim"])
    fc.randomize(model, gen, fp16_exact=True)
    H, W = c["size"]
    images = [(blob_image(gen, H, W) if i == 0 else smooth_noise(gen, H, W)).half().float()
              for i in range(c["images"])]
    calibrate_detector(model, images[0], c["convpb_scale"], c["dustbin_bias"])
    model = model.to(dev).eval()
    store, out = {}, {}
    capture_nms(store)
    for i, img in enumerate(images):
        out[f"image{i}"] = img
        for k in c["budgets"]:
            model.conf.max_num_keypoints = k if k > 0 else None
            # extract() as vggsfm_utils.extract_keypoints calls it; the tiny image skips the 1024 resize.
            kw = {"resize": None} if a.tiny else {}
            with torch.no_grad():
                feats = model.extract(img.to(dev), **kw)
            out[f"keypoints{i}_k{k}"] = feats["keypoints"][0].float().cpu()
            out[f"keypoint_scores{i}_k{k}"] = feats["keypoint_scores"][0].float().cpu()
        out[f"dense_scores{i}"] = store["dense"].float().cpu()
        out[f"nms_scores{i}"] = store["nms"].float().cpu()
    meta = {"config": json.dumps(c), "torch": torch.__version__, "device": dev,
            "options": json.dumps(dict(detection_threshold=0.005, nms_radius=model.conf.nms_radius,
                                       remove_borders=model.conf.remove_borders)),
            "budgets": json.dumps(c["budgets"]), "images": str(c["images"]),
            "full_keys": json.dumps({k: list(v.shape) for k, v in SuperPoint().state_dict().items()})}
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if a.tiny:
        fc.save_safetensors(a.out, {k: v.half() if k.startswith("image") else v for k, v in out.items()}, meta)
        torch.save({k: v.half() for k, v in sd.items()}, os.path.splitext(a.out)[0] + ".pt")
    else:
        os.makedirs(a.out, exist_ok=True)
        fc.save_safetensors(os.path.join(a.out, "superpoint_full_weights.safetensors"), sd, {"config": json.dumps(c)})
        fc.save_safetensors(os.path.join(a.out, "superpoint_full_io.safetensors"), out, meta)
    for k, v in sorted(out.items()):
        extra = ""
        if k.startswith("keypoint_scores") and v.numel() > 1:
            s = v.sort(descending=True).values
            gaps = (s[:-1] - s[1:]).abs()
            extra = f" min gap {gaps.min().item():.3e} min {s[-1].item():.4f}"
        print(f"{k:24s} {tuple(v.shape)} mean {v.float().mean().item():+.5f}{extra}")
    d = out["dense_scores0"]
    print("dense scores: max %.4f, > thr %d of %d" % (d.max().item(), int((d > 0.005).sum()), d.numel()))
    print("params", sum(v.numel() for v in sd.values()))


if __name__ == "__main__":
    main()
