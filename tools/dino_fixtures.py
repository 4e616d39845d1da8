#!/usr/bin/env python3
"""Parity fixtures for vgsplat's DINOv2 frame ranking (src/tracks/dino.*), produced by the OFFICIAL code:
vggt/dependency/vggsfm_utils.py generate_rank_by_dino (+ farthest_point_sampling) running the DINOv2
DinoVisionTransformer of vggt/layers/vision_transformer.py, built as torch.hub's "dinov2_vitb14_reg" builds it
(facebookresearch/dinov2 hubconf -> _make_dinov2_model: vit_base, patch 14, 4 registers, img_size 518,
init_values 1.0, ffn "mlp", block_chunks 0, interpolate_antialias True, interpolate_offset 0.0). torch.hub.load is
replaced by a function returning that model with seeded random weights (fixture_common.randomize).

  --tiny --out FILE.safetensors   embed 64, depth 2, 4 heads, 4 registers, img_size 70 (5x5 position grid);
                                  6 frames of 50x60 ranked at image_size 42 (3x3 patches: the position embedding
                                  is resized). Weights (fp16-exact, stored as fp16) torch.save'd to FILE.pt.
  --full --out DIR                the published ViT-B/14-reg configuration, random weights, 6 frames of 1024x1024
                                  (the size predict_tracks sees) ranked at 336: DIR/dinov2_vitb14_reg4_random.pth
                                  (the state dict, fp32) and DIR/dino_full_io.safetensors.

Tensors: images [S,3,H,W] (input in [0,1]), images_resized [S,3,n,n] (bilinear, align_corners=False),
cls_tokens [S,E] (x_norm_clstoken), patch_tokens [S,P,E] (x_norm_patchtokens), similarity [S,S] (cosine of the
cls tokens, before the diagonal is set), rank_q3 [3] and rank_qS [S] (I64, generate_rank_by_dino's output for
query_frame_num 3 and S). Metadata: config, image_size, full_keys (every key and shape of the published
configuration's state dict), fps_margin (the smallest gap between the best and second-best candidate of any
ranking step, in the float32 distances: a parity run is meaningful only when it is well above ~1e-5).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_common as fc  # noqa: E402

fc.add_source_paths()
fc.install_stubs()

from vggt.layers.vision_transformer import vit_base, DinoVisionTransformer  # noqa: E402
from vggt.layers import MemEffAttention, NestedTensorBlock  # noqa: E402
from vggt.dependency import vggsfm_utils  # noqa: E402
from functools import partial  # noqa: E402

# facebookresearch/dinov2 hubconf (dinov2/hub/backbones.py) for "dinov2_vitb14_reg".
HUB_KWARGS = dict(img_size=518, patch_size=14, init_values=1.0, ffn_layer="mlp", block_chunks=0,
                  num_register_tokens=4, interpolate_antialias=True, interpolate_offset=0.0)
TINY = dict(embed_dim=64, depth=2, num_heads=4, mlp_ratio=4.0, img_size=70)


def build(cfg):
    if cfg is None:
        return vit_base(**HUB_KWARGS)
    kw = dict(HUB_KWARGS, img_size=cfg["img_size"])
    return DinoVisionTransformer(embed_dim=cfg["embed_dim"], depth=cfg["depth"], num_heads=cfg["num_heads"],
                                 mlp_ratio=cfg["mlp_ratio"],
                                 block_fn=partial(NestedTensorBlock, attn_class=MemEffAttention), **kw)


def full_key_shapes():
    return fc.key_shapes(lambda: build(None))


def fps_margin(sim, first, n):
    """Replays farthest_point_sampling on 100 - sim and returns the smallest best-vs-runner-up gap."""
    d = (100 - sim).clamp(min=0)
    sel, row, gap = [first], d[first].clone(), float("inf")
    while len(sel) < n:
        top = torch.topk(row, 2).values
        gap = min(gap, (top[0] - top[1]).item())
        j = int(torch.argmax(row))
        sel.append(j)
        row = d[j].clone()
        row[sel] = 0
        if len(sel) == d.shape[0]:
            break
    return gap


def frames(gen, S, H, W):
    """Smooth random frames, mixtures of three base patterns (so the similarities have structure)."""
    base = F.interpolate(torch.rand((3, 3, H // 8, W // 8), generator=gen), (H, W), mode="bilinear",
                         align_corners=False)
    mix = torch.rand((S, 3), generator=gen) ** 3
    mix = mix / mix.sum(1, keepdim=True)
    noise = 0.1 * torch.rand((S, 3, H, W), generator=gen)
    return (torch.einsum("sk,kchw->schw", mix, base) * 0.9 + noise).clamp(0, 1)


def main():
    ap = fc.fixture_parser(__doc__)
    a = fc.parse_fixture_args(ap)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator().manual_seed(a.seed)
    cfg = TINY if a.tiny else None
    model = build(cfg)
    if not hasattr(F, "scaled_dot_product_attention"):  # PyTorch < 2.0: the official unfused branch, same math
        for m in model.modules():
            if hasattr(m, "fused_attn"):
                m.fused_attn = False
    fc.randomize(model, gen, fp16_exact=a.tiny)
    model = model.to(dev).eval()
    S, H, W, size = (6, 50, 60, 42) if a.tiny else (6, 1024, 1024, 336)
    images = frames(gen, S, H, W)
    if a.tiny:
        images = images.half().float()

    captured = {}
    model.register_forward_hook(lambda m, i, o: captured.update(
        input=i[0], cls=o["x_norm_clstoken"], patch=o["x_norm_patchtokens"]))
    torch.hub.load = lambda *args, **kwargs: model  # generate_rank_by_dino's torch.hub.load("facebookresearch/dinov2", ...)
    rank = {}
    for q in (3, S):
        rank[q] = vggsfm_utils.generate_rank_by_dino(images.to(dev), query_frame_num=q, image_size=size, device=dev)
    cls = captured["cls"].float()
    fn = F.normalize(cls, p=2, dim=1)
    sim = torch.mm(fn, fn.t())
    sums = sim.clone().fill_diagonal_(-100).sum(1)
    first = int(torch.argmax(sums))
    resized = F.interpolate(images.to(dev), (size, size), mode="bilinear", align_corners=False)
    out = {"images": images, "images_resized": resized, "cls_tokens": cls, "patch_tokens": captured["patch"],
           "similarity": sim}
    out = {k: v.float().cpu() for k, v in out.items()}
    out["rank_q3"] = torch.tensor(rank[3], dtype=torch.int64)
    out["rank_qS"] = torch.tensor(rank[S], dtype=torch.int64)
    top2 = torch.topk(sums, 2).values
    meta = {"config": json.dumps(dict(cfg or dict(embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, img_size=518),
                                      registers=4, patch=14)),
            "image_size": str(size), "full_keys": json.dumps(full_key_shapes()), "torch": torch.__version__,
            "device": dev, "fps_margin": "%.3g" % fps_margin(sim.cpu(), first, S),
            "most_common_margin": "%.3g" % (top2[0] - top2[1]).item()}
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if a.tiny:
        out["images"] = images.half()
        fc.save_safetensors(a.out, out, meta)
        torch.save({k: v.half() for k, v in sd.items()}, os.path.splitext(a.out)[0] + ".pt")
    else:
        os.makedirs(a.out, exist_ok=True)
        torch.save(sd, os.path.join(a.out, "dinov2_vitb14_reg4_random.pth"))
        fc.save_safetensors(os.path.join(a.out, "dino_full_io.safetensors"), out, meta)
    for k, v in sorted(out.items()):
        print(f"{k:16s} {tuple(v.shape)} " + (f"{v.tolist()}" if v.dtype == torch.int64 else
                                               f"mean {v.float().mean().item():+.5f} std {v.float().std().item():.5f}"))
    print("fps_margin", meta["fps_margin"], "most_common_margin", meta["most_common_margin"])
    print("params", sum(v.numel() for v in sd.values()))


if __name__ == "__main__":
    main()
