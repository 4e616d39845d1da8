#!/usr/bin/env python3
"""Parity fixtures for vgsplat's VGGT engine, produced by the OFFICIAL PyTorch code (facebookresearch/vggt).

The official `vggt` package must be importable (e.g. PYTHONPATH=<dir holding vggt/>); it is never part of
this repository. Two modes:

  --tiny --out FILE.safetensors   a tiny configuration (embed 64, 2 aggregator blocks, 4 heads, DINOv2 patch
                                  embed with 2 blocks, 3 frames of 56x70) with random weights; inputs and outputs in one
                                  small safetensors file (tests/data/vggt_tiny.safetensors), the state dict (official
                                  key names, values rounded to fp16 and saved as fp16, so exact) torch.save'd to --pt
                                  (default: FILE.pt; tests/data/vggt_tiny.pt).
  --full --out DIR                the VGGT-1B configuration with random weights on 4 frames of 518x518: DIR/model.safetensors
                                  (fp32, official key names), DIR/vggt_full_io.safetensors (inputs and outputs).

Outputs in both files: images [S,3,H,W], pose_enc [S,9], pose_enc_iter{i}, extrinsics [S,3,4], intrinsics [S,3,3],
depth [S,H,W], depth_conf [S,H,W], world_points [S,H,W,3] / world_points_conf (tiny only), dino_patch_tokens
[S,P,C] (post-norm DINOv2 output), tokens_{i} [S,P',2C] (aggregator intermediate outputs).
The header metadata holds the configuration and "full_keys": every key and shape of the full VGGT-1B state dict.
"""
import argparse
import json
import math
import os
import sys
import types
from functools import partial

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vggt_src"))

# nn.quantized moved to torch.ao in recent PyTorch; the DPT head only uses FloatFunctional.add.
try:
    nn.quantized.FloatFunctional  # noqa: B018
except AttributeError:
    import torch.ao.nn.quantized as _q
    nn.quantized = _q
# vggt.models.vggt imports huggingface_hub only for the hub mixin.
try:
    import huggingface_hub  # noqa: F401
except ImportError:
    hub = types.ModuleType("huggingface_hub")
    hub.PyTorchModelHubMixin = type("PyTorchModelHubMixin", (), {})
    sys.modules["huggingface_hub"] = hub

import vggt.models.aggregator as agg_mod  # noqa: E402
from vggt.models.aggregator import Aggregator  # noqa: E402
from vggt.heads.camera_head import CameraHead  # noqa: E402
from vggt.heads.dpt_head import DPTHead  # noqa: E402
from vggt.layers import MemEffAttention, NestedTensorBlock  # noqa: E402
from vggt.layers.vision_transformer import DinoVisionTransformer  # noqa: E402
from vggt.utils.pose_enc import pose_encoding_to_extri_intri  # noqa: E402

from fixture_common import save_safetensors  # noqa: E402


class Model(nn.Module):
    """The official VGGT module layout (same state-dict keys), with every size configurable."""

    def __init__(self, c):
        super().__init__()
        E = c["embed_dim"]

        def dino(patch_size=14, num_register_tokens=0, **kw):
            return DinoVisionTransformer(
                patch_size=patch_size, embed_dim=E, depth=c["dino_depth"], num_heads=c["num_heads"],
                mlp_ratio=c["mlp_ratio"], block_fn=partial(NestedTensorBlock, attn_class=MemEffAttention),
                num_register_tokens=num_register_tokens, **kw)

        agg_mod.vit_large = dino  # the aggregator looks the constructor up by name at build time
        self.aggregator = Aggregator(img_size=c["img_size"], patch_size=14, embed_dim=E, depth=c["depth"],
                                     num_heads=c["num_heads"], mlp_ratio=c["mlp_ratio"], num_register_tokens=4,
                                     patch_embed="dinov2_vitl14_reg", qk_norm=True, rope_freq=100, init_values=0.01)
        self.camera_head = CameraHead(dim_in=2 * E, trunk_depth=c["camera_trunk_depth"], num_heads=c["camera_heads"],
                                      mlp_ratio=c["camera_mlp_ratio"])
        dpt = dict(dim_in=2 * E, features=c["dpt_features"], out_channels=c["dpt_out_channels"],
                   intermediate_layer_idx=c["dpt_layers"])
        self.depth_head = DPTHead(output_dim=2, activation="exp", conf_activation="expp1", **dpt)
        self.point_head = DPTHead(output_dim=4, activation="inv_log", conf_activation="expp1", **dpt) if c["point_head"] else None


TINY = dict(embed_dim=64, depth=2, dino_depth=2, num_heads=4, mlp_ratio=2.0, img_size=70, camera_trunk_depth=1,
            camera_heads=4, camera_mlp_ratio=1, dpt_features=16, dpt_out_channels=[8, 16, 32, 32],
            dpt_layers=[0, 1, 0, 1], point_head=True)
FULL = dict(embed_dim=1024, depth=24, dino_depth=24, num_heads=16, mlp_ratio=4.0, img_size=518, camera_trunk_depth=4,
            camera_heads=16, camera_mlp_ratio=4, dpt_features=256, dpt_out_channels=[256, 512, 1024, 1024],
            dpt_layers=[4, 11, 17, 23], point_head=True)


def randomize(model, gen, fp16_exact):
    """Random weights with a spread that keeps activations alive (the default init makes LayerScale 0.01 and
    tokens ~1e-6); values rounded to fp16 when fp16_exact so an F16 file stores them exactly."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2 or name.endswith("_token") or name.endswith("tokens") or "pos_embed" in name:
                fan_in = p[0].numel() if p.ndim >= 2 else p.shape[-1]
                v = torch.randn(p.shape, generator=gen) / math.sqrt(max(fan_in, 1))
            elif name.endswith("gamma"):
                v = 0.5 + 0.5 * torch.rand(p.shape, generator=gen)
            elif name.endswith("weight"):  # norms
                v = 1.0 + 0.1 * torch.randn(p.shape, generator=gen)
            else:  # biases
                v = 0.05 * torch.randn(p.shape, generator=gen)
            if name == "camera_head.pose_branch.fc2.bias":
                v[7:] += 1.0  # keep the (ReLU'd) fields of view away from 0, where fx = inf
            if fp16_exact:
                v = v.half().float()
            p.copy_(v)


def full_key_shapes():
    from fixture_common import key_shapes
    return key_shapes(lambda: Model(FULL))


def run(model, images, c):
    """As VGGT.forward (fp32), with the DINOv2 output and aggregator intermediates captured."""
    captured = {}
    h = model.aggregator.patch_embed.register_forward_hook(
        lambda mod, inp, out: captured.__setitem__("dino", out["x_norm_patchtokens"]))
    x = images[None]
    tokens_list, patch_start_idx = model.aggregator(x)
    h.remove()
    pose_list = model.camera_head(tokens_list)
    depth, depth_conf = model.depth_head(tokens_list, images=x, patch_start_idx=patch_start_idx)
    out = {"images": images, "pose_enc": pose_list[-1][0], "depth": depth[0, ..., 0], "depth_conf": depth_conf[0],
           "dino_patch_tokens": captured["dino"]}
    for i, p in enumerate(pose_list):
        out[f"pose_enc_iter{i}"] = p[0]
    for i in sorted(set([0, len(tokens_list) - 1] + list(c["dpt_layers"]))):
        out[f"tokens_{i}"] = tokens_list[i][0]
    ext, intr = pose_encoding_to_extri_intri(pose_list[-1], images.shape[-2:])
    out["extrinsics"], out["intrinsics"] = ext[0], intr[0]
    if model.point_head is not None:
        pts, pts_conf = model.point_head(tokens_list, images=x, patch_start_idx=patch_start_idx)
        out["world_points"], out["world_points_conf"] = pts[0], pts_conf[0]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pt", default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator().manual_seed(a.seed)
    c = TINY if a.tiny else FULL
    model = Model(c)
    randomize(model, gen, fp16_exact=a.tiny)
    model = model.to(dev).eval()
    S, H, W = (3, 56, 70) if a.tiny else (4, 518, 518)
    images = torch.rand((S, 3, H, W), generator=gen)
    if a.tiny:
        images = images.half().float()
    with torch.no_grad():
        out = run(model, images.to(dev), c)
    out = {k: v.float().cpu() for k, v in out.items()}
    meta = {"config": json.dumps(c), "full_keys": json.dumps(full_key_shapes()), "torch": torch.__version__, "device": dev}
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if a.tiny:  # weights go to the .pt only (fp16-exact values, stored as fp16): the fixture stays small
        tensors = dict(out)
        tensors["images"] = images.half()
        save_safetensors(a.out, tensors, meta)
        torch.save({k: v.half() for k, v in sd.items()}, a.pt or os.path.splitext(a.out)[0] + ".pt")
    else:
        os.makedirs(a.out, exist_ok=True)
        save_safetensors(os.path.join(a.out, "model.safetensors"), sd, {"config": json.dumps(c)})
        save_safetensors(os.path.join(a.out, "vggt_full_io.safetensors"), out, meta)
    for k, v in sorted(out.items()):
        print(f"{k:24s} {tuple(v.shape)} mean {v.mean().item():+.5f} std {v.std().item():.5f}")
    print("params", sum(v.numel() for v in sd.values()))


if __name__ == "__main__":
    main()
