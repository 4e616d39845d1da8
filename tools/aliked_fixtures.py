#!/usr/bin/env python3
"""Parity fixtures for vgsplat's ALIKED keypoints (src/tracks/aliked.*), produced by the OFFICIAL code
(LightGlue's lightglue/aliked.py, the module VGGT's track_predict.py builds as ALIKED(max_num_keypoints=...,
detection_threshold=0.005)), with random weights. Run with a Python that has torch + torchvision
(e.g. /usr/bin/python3); the official sources are found by fixture_common.add_source_paths().

  --tiny --out FILE.safetensors   the real aliked-n16 network (random fp16-exact weights, BatchNorm running stats
                                  too, the score head scaled so the threshold removes some maxima) on a 3x58x83
                                  image (padded to 64x96 inside). FILE holds inputs and outputs; the state dict
                                  (official keys, fp16) is torch.save'd to FILE with .pt (tests/data/aliked_tiny.pt).
  --full --out DIR                the same network on a 3x1024x1024 image (the size the pipeline feeds):
                                  DIR/aliked-n16_random.pth (fp32 state dict), DIR/aliked_full_io.safetensors.

Tensors: image [3,H,W]; score_map [H,W] (extract_dense_map, unpadded); dcn_in / dcn_out: input and output of
block3.conv1 (a DeformableConv2d); for every DKD configuration NAME of the metadata "configs":
kpts_NAME [N,2] (extract()'s pixel keypoints, official order) and scores_NAME [N]. Standalone checks of
torchvision.ops.deform_conv2d: dcnK_{input,offset,mask,weight,bias,out} with parameters in metadata "dcn_cases".
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_common as fc  # noqa: E402

fc.add_source_paths()
fc.install_stubs()
import torchvision  # noqa: E402
from lightglue.aliked import ALIKED  # noqa: E402

# DKD configurations (ALIKED conf): the pipeline's; n_limit sorting; top-k mode; the mean-threshold fallback.
CONFIGS = {
    "default": dict(max_num_keypoints=4096, detection_threshold=0.005),
    "limit": dict(max_num_keypoints=25, detection_threshold=0.005),
    "topk": dict(max_num_keypoints=40, detection_threshold=-1),
    "fallback": dict(max_num_keypoints=4096, detection_threshold=1.0),
}
# Score head's last conv scaled: tiny, scores spread over (0.002, 0.9999) so the threshold removes some maxima;
# full, a milder spread that keeps the many maxima of a 1024-px image below 1.0 (no saturated ties).
SCORE_HEAD_SCALE = {"tiny": 48.0, "full": 2.0}

DCN_CASES = [  # standalone torchvision.ops.deform_conv2d checks
    dict(C=4, H=7, W=9, O=5, k=3, stride=1, pad=1, dil=1, groups=2, mask=True, bias=True, spread=2.0),
    dict(C=3, H=11, W=10, O=2, k=3, stride=2, pad=0, dil=2, groups=1, mask=False, bias=False, spread=3.0),
    dict(C=2, H=5, W=5, O=3, k=2, stride=1, pad=2, dil=1, groups=1, mask=True, bias=False, spread=1.5),
]


def structured_image(h, w, gen):
    """Stripes, a checker patch, a disc and noise: corners and blobs for the detector."""
    y = torch.arange(h, dtype=torch.float32)[:, None].expand(h, w)
    x = torch.arange(w, dtype=torch.float32)[None, :].expand(h, w)
    s = max(h, w) / 83.0
    r = 0.5 + 0.4 * torch.sin(0.35 * x / s + 0.2 * y / s)
    g = 0.5 + 0.4 * torch.cos(0.27 * y / s - 0.1 * x / s)
    b = 0.5 * (x / w + y / h)
    img = torch.stack([r, g, b])
    checker = (((x / (6 * s)).floor() + (y / (6 * s)).floor()) % 2) * 0.6 + 0.2
    patch = (x > 0.55 * w) & (y > 0.5 * h)
    img = torch.where(patch[None], checker[None].expand(3, h, w), img)
    disc = ((x - 0.25 * w) ** 2 + (y - 0.7 * h) ** 2) < (0.12 * min(h, w)) ** 2
    img = torch.where(disc[None], torch.tensor([0.9, 0.1, 0.2])[:, None, None].expand(3, h, w), img)
    img = img + 0.05 * torch.rand((3, h, w), generator=gen)
    return img.clamp(0, 1).half().float()


def build(model_sd, conf, dev):
    m = ALIKED(**conf)
    m.load_state_dict(model_sd)
    return m.to(dev).eval()


def dcn_case(i, c, gen):
    K = c["k"]
    Ho = (c["H"] + 2 * c["pad"] - c["dil"] * (K - 1) - 1) // c["stride"] + 1
    Wo = (c["W"] + 2 * c["pad"] - c["dil"] * (K - 1) - 1) // c["stride"] + 1
    t = {
        "input": torch.randn((1, c["C"], c["H"], c["W"]), generator=gen),
        "offset": c["spread"] * torch.randn((1, 2 * c["groups"] * K * K, Ho, Wo), generator=gen),
        "weight": torch.randn((c["O"], c["C"], K, K), generator=gen) / (c["C"] * K * K) ** 0.5,
    }
    if c["mask"]:
        t["mask"] = torch.rand((1, c["groups"] * K * K, Ho, Wo), generator=gen)
    if c["bias"]:
        t["bias"] = 0.1 * torch.randn((c["O"],), generator=gen)
    out = torchvision.ops.deform_conv2d(t["input"], t["offset"], t["weight"], bias=t.get("bias"),
                                        stride=c["stride"], padding=c["pad"], dilation=c["dil"], mask=t.get("mask"))
    t["out"] = out
    return {f"dcn{i}_{k}": v[0] if k in ("input", "offset", "mask", "out") else v for k, v in t.items()}


def main():
    ap = fc.fixture_parser(__doc__)
    a = fc.parse_fixture_args(ap)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator().manual_seed(a.seed)
    mode = "tiny" if a.tiny else "full"

    model = ALIKED(**CONFIGS["default"])
    fc.randomize(model, gen, fp16_exact=True)
    with torch.no_grad():
        w = model.score_head[6].weight
        w.copy_((w * SCORE_HEAD_SCALE[mode]).half().float())  # still fp16-exact
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = model.to(dev).eval()

    H, W = (58, 83) if a.tiny else (1024, 1024)
    image = structured_image(H, W, gen)
    out = {"image": image}
    captured = {}
    hook = model.block3.conv1.register_forward_hook(
        lambda mod, inp, o: captured.update(dcn_in=inp[0][0].detach(), dcn_out=o[0].detach()))
    with torch.no_grad():
        _, score_map = model.extract_dense_map(image[None].to(dev))
    hook.remove()
    out["score_map"] = score_map[0, 0]
    out.update(captured)
    for name, conf in CONFIGS.items():
        m = build(sd, conf, dev)
        feats = m.extract(image.to(dev), resize=None)  # the image is used as it is (no 1024-px resize)
        out[f"kpts_{name}"] = feats["keypoints"][0]
        out[f"scores_{name}"] = feats["keypoint_scores"][0]
    if a.tiny:
        for i, c in enumerate(DCN_CASES):
            out.update(dcn_case(i, c, gen))
    out = {k: v.float().cpu().contiguous() for k, v in out.items()}
    meta = {"configs": json.dumps(CONFIGS), "dcn_cases": json.dumps(DCN_CASES if a.tiny else []),
            "model_name": "aliked-n16", "score_head_scale": str(SCORE_HEAD_SCALE[mode]), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "device": dev}
    if a.tiny:
        fc.save_safetensors(a.out, out, meta)
        torch.save({k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()},
                   os.path.splitext(a.out)[0] + ".pt")
    else:
        os.makedirs(a.out, exist_ok=True)
        torch.save(sd, os.path.join(a.out, "aliked-n16_random.pth"))
        fc.save_safetensors(os.path.join(a.out, "aliked_full_io.safetensors"), out, meta)
    for k, v in sorted(out.items()):
        if not k.startswith("dcn") or k.endswith("_out"):
            print(f"{k:20s} {tuple(v.shape)} mean {v.mean().item():+.5f} std {v.std().item():.5f}")
    sm = out["score_map"]
    print("score map < 0.005:", (sm < 0.005).float().mean().item(), "max", sm.max().item())
    print("params", sum(v.numel() for v in sd.values()))


if __name__ == "__main__":
    main()
