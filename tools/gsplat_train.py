#!/usr/bin/env python3
"""The peer of issue 14's side-by-side: gsplat 1.6's simple_trainer training loop (examples/simple_trainer.py,
default and mcmc presets) on a dataset dumped by `dataset_dump` (the very cameras and pixels `vgsplat train`
uses), so that both trainers see the same data and only the trainer differs.

Runs on the GPU machine. gsplat and fused-ssim are NOT part of this repository: pass their source folders
(tools/gsplat_side_by_side.sh expects them under .data/gsplat and .data/fused_ssim); both are JIT-compiled by
torch.utils.cpp_extension on first use (cached in TORCH_EXTENSIONS_DIR).

What it keeps from simple_trainer (gsplat 1.6.0): random init (init_extent * scene_scale cube, or --init-aabb,
rgb uniform, scales log(sqrt(mean of the 3 nearest squared distances) * init_scale), quats uniform [0,1),
opacities logit(init_opa)); Adam per group (fused, eps 1e-15, lrs means 1.6e-4 * scene_scale, scales 5e-3,
quats 1e-3, opacities 5e-2, sh0 2.5e-3, shN 2.5e-3 / 20), means lr ExponentialLR to 1 % at max_steps; the
DataLoader (shuffle, 4 workers, pinned); SH degree +1 every 1000 steps; rasterization() with packed=False,
absgrad=False, classic mode, near 0.01, far 1e10, the background composited by the rasterizer; loss
lerp(L1, 1 - fused_ssim(valid), 0.2) (+ opacity / scale regularisers of the mcmc preset); the strategy's
pre/post-backward hooks; eval as Runner.eval (clamped renders, PSNR / SSIM per test view, mean); stats
ellipse_time / mem / num_GS as train_step*.json.

  python3 tools/gsplat_train.py --gsplat .data/gsplat --fused-ssim .data/fused_ssim --data lego.safetensors \
      --out /root/gs_lego_42 --seed 42 [--steps 30000] [--strategy default|mcmc] [--cap-max 1000000] \
      [--init-num-pts 100000] [--init-aabb 1.3 | --init-extent 3.0]
Writes OUT/stats.json: {psnr, ssim, num_GS, ellipse_time, mem, ...} and prints it.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gsplat_parity import load_safetensors  # noqa: E402  (this folder's reader: tensors + metadata)


def build_gsplat(src):
    """Imports gsplat from its source root; its CUDA backend is JIT-built (or loaded from the cache) here."""
    sys.path.insert(0, src)
    from gsplat.cuda._backend import _C  # noqa: F401


def load_fused_ssim(src):
    """JIT-builds fused-ssim's CUDA extension (its setup.py flags) and imports its Python wrapper."""
    from torch.utils.cpp_extension import load
    flags = ["-O3", "-DFUSED_SSIM_CUDA"]
    mod = load(name="fused_ssim_cuda", sources=[os.path.join(src, f) for f in ("ext.cpp", "ssim.cu", "ssim3d.cu")],
               extra_cflags=flags, extra_cuda_cflags=flags + ["--maxrregcount=32", "--use_fast_math"], verbose=False)
    sys.modules["fused_ssim_cuda"] = mod
    sys.path.insert(0, src)
    from fused_ssim import fused_ssim
    return fused_ssim


class Views(torch.utils.data.Dataset):
    """simple_trainer's Dataset items: K, camtoworld, image (float 0..255, [H,W,3]), image_id."""

    def __init__(self, images, Ks, viewmats):
        self.images, self.Ks, self.c2w = images, Ks, torch.linalg.inv(viewmats)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, i):
        return {"K": self.Ks[i], "camtoworld": self.c2w[i], "image": self.images[i].float(), "image_id": i}


def knn_scales(points, init_scale):
    from sklearn.neighbors import NearestNeighbors  # examples/utils.py knn()
    x = points.numpy()
    d, _ = NearestNeighbors(n_neighbors=4, metric="euclidean").fit(x).kneighbors(x)
    dist2_avg = (torch.from_numpy(d).float()[:, 1:] ** 2).mean(dim=-1)
    return torch.log(torch.sqrt(dist2_avg) * init_scale).unsqueeze(-1).repeat(1, 3)


def create_splats(args, scene_scale, device):
    n = args.init_num_pts
    half = args.init_aabb if args.init_aabb > 0 else args.init_extent * scene_scale
    points = half * (torch.rand((n, 3)) * 2 - 1)
    rgbs = torch.rand((n, 3))
    scales = knn_scales(points, args.init_scale)
    quats = torch.rand((n, 4))
    opacities = torch.logit(torch.full((n,), args.init_opa))
    colors = torch.zeros((n, (args.sh_degree + 1) ** 2, 3))
    colors[:, 0, :] = (rgbs - 0.5) / 0.28209479177387814
    params = [("means", points, 1.6e-4 * scene_scale), ("scales", scales, 5e-3), ("quats", quats, 1e-3),
              ("opacities", opacities, 5e-2), ("sh0", colors[:, :1, :], 2.5e-3), ("shN", colors[:, 1:, :], 2.5e-3 / 20)]
    splats = torch.nn.ParameterDict({k: torch.nn.Parameter(v) for k, v, _ in params}).to(device)
    optimizers = {k: torch.optim.Adam([{"params": splats[k], "lr": lr, "name": k}], eps=1e-15, betas=(0.9, 0.999),
                                      fused=True) for k, _, lr in params}
    return splats, optimizers


def render(rasterization, splats, viewmats, Ks, W, H, sh_degree, bg):
    colors = torch.cat([splats["sh0"], splats["shN"]], 1)
    return rasterization(means=splats["means"], quats=splats["quats"], scales=torch.exp(splats["scales"]),
                         opacities=torch.sigmoid(splats["opacities"]), colors=colors, viewmats=viewmats, Ks=Ks,
                         width=W, height=H, near_plane=0.01, far_plane=1e10, sh_degree=sh_degree, packed=False,
                         absgrad=False, sparse_grad=False, rasterize_mode="classic", backgrounds=bg)


@torch.no_grad()
def evaluate(rasterization, splats, data, sh_degree, bg, device):
    from torchmetrics.image import StructuralSimilarityIndexMeasure
    ssim_metric = StructuralSimilarityIndexMeasure(data_range=1.0).to(device)
    imgs, Ks, vms = data["test_images"], data["test_K"].to(device), data["test_viewmats"].to(device)
    H, W = imgs.shape[1:3]
    psnrs, ssims, secs = [], [], 0.0
    for i in range(imgs.shape[0]):
        gt = imgs[i:i + 1].to(device)
        torch.cuda.synchronize()
        t = time.time()
        colors, _, _ = render(rasterization, splats, vms[i:i + 1], Ks[i:i + 1], W, H, sh_degree, bg)
        colors = torch.clamp(colors[..., :3], 0.0, 1.0)
        torch.cuda.synchronize()
        secs += time.time() - t
        psnrs.append((-10.0 * torch.log10(F.mse_loss(colors, gt))).item())
        ssims.append(ssim_metric(colors.permute(0, 3, 1, 2), gt.permute(0, 3, 1, 2)).item())
    return float(np.mean(psnrs)), float(np.mean(ssims)), secs / imgs.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gsplat", required=True, help="gsplat source root (holding the gsplat/ package)")
    ap.add_argument("--fused-ssim", required=True, help="fused-ssim source (ext.cpp, ssim.cu, fused_ssim/)")
    ap.add_argument("--data", help="dataset_dump output (required unless --build-only)")
    ap.add_argument("--out")
    ap.add_argument("--steps", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--strategy", choices=["default", "mcmc"], default="default")
    ap.add_argument("--cap-max", type=int, default=1_000_000)
    ap.add_argument("--init-num-pts", type=int, default=100_000)
    ap.add_argument("--init-extent", type=float, default=3.0)
    ap.add_argument("--init-aabb", type=float, default=0.0, help="half side of the init cube (overrides extent)")
    ap.add_argument("--sh-degree", type=int, default=3)
    ap.add_argument("--build-only", choices=["gsplat", "fused-ssim"],
                    help="only JIT-build one extension into TORCH_EXTENSIONS_DIR and exit (the two can build at once)")
    args = ap.parse_args()
    if args.build_only:
        t0 = time.time()
        if args.build_only == "gsplat":
            build_gsplat(args.gsplat)
        else:
            load_fused_ssim(args.fused_ssim)
        print(f"built {args.build_only} in {time.time() - t0:.0f} s")
        return
    if not (args.data and args.out):
        ap.error("--data and --out are required")
    mcmc = args.strategy == "mcmc"
    args.init_opa, args.init_scale = (0.5, 0.1) if mcmc else (0.1, 1.0)
    opacity_reg = scale_reg = 0.01 if mcmc else 0.0

    t0 = time.time()
    build_gsplat(args.gsplat)  # timed: the JIT build on first use
    from gsplat.rendering import rasterization
    from gsplat.strategy import DefaultStrategy, MCMCStrategy
    from gsplat.losses import opacity_reg_loss, scale_reg_loss
    fused_ssim = load_fused_ssim(args.fused_ssim)
    build_s = time.time() - t0

    random.seed(args.seed), np.random.seed(args.seed), torch.manual_seed(args.seed)  # set_random_seed
    device = "cuda"
    data, meta = load_safetensors(args.data)
    scene_scale = float(meta["scene_scale"]) * 1.1
    bg = torch.tensor([float(x) for x in meta.get("background", "0,0,0").split(",")], device=device)[None]
    splats, optimizers = create_splats(args, scene_scale, device)
    strategy = MCMCStrategy(cap_max=args.cap_max) if mcmc else DefaultStrategy()
    strategy.check_sanity(splats, optimizers)
    state = strategy.initialize_state() if mcmc else strategy.initialize_state(scene_scale=scene_scale)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizers["means"], gamma=0.01 ** (1.0 / args.steps))
    views = Views(data["train_images"], data["train_K"], data["train_viewmats"])
    loader = torch.utils.data.DataLoader(views, batch_size=1, shuffle=True, num_workers=4, persistent_workers=True,
                                         pin_memory=True)
    it = iter(loader)
    H, W = views.images.shape[1:3]
    os.makedirs(args.out, exist_ok=True)
    torch.cuda.reset_peak_memory_stats()
    import tqdm
    tic = time.time()
    pbar = tqdm.tqdm(range(args.steps), mininterval=5.0)
    for step in pbar:
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        c2w, Ks = batch["camtoworld"].to(device), batch["K"].to(device)
        pixels = batch["image"].to(device) / 255.0
        sh_degree = min(step // 1000, args.sh_degree)
        colors, alphas, info = render(rasterization, splats, torch.linalg.inv(c2w), Ks, W, H, sh_degree, bg)
        strategy.step_pre_backward(params=splats, optimizers=optimizers, state=state, step=step, info=info)
        l1 = F.l1_loss(colors, pixels)
        ssim_l = 1.0 - fused_ssim(colors.permute(0, 3, 1, 2), pixels.permute(0, 3, 1, 2), padding="valid")
        loss = torch.lerp(l1, ssim_l, 0.2)
        if opacity_reg > 0:
            loss = loss + opacity_reg * opacity_reg_loss(splats["opacities"])
        if scale_reg > 0:
            loss = loss + scale_reg * scale_reg_loss(splats["scales"])
        loss.backward()
        pbar.set_description(f"loss={loss.item():.3f}| sh degree={sh_degree}| ")
        for opt in optimizers.values():
            opt.step()
            opt.zero_grad(set_to_none=True)
        scheduler.step()
        if mcmc:
            strategy.step_post_backward(params=splats, optimizers=optimizers, state=state, step=step, info=info,
                                        lr=scheduler.get_last_lr()[0])
        else:
            strategy.step_post_backward(params=splats, optimizers=optimizers, state=state, step=step, info=info,
                                        packed=False)
    torch.cuda.synchronize()
    stats = {"ellipse_time": time.time() - tic, "mem": torch.cuda.max_memory_allocated() / 1024 ** 3,
             "num_GS": len(splats["means"]), "jit_s": build_s, "strategy": args.strategy, "seed": args.seed,
             "steps": args.steps}
    stats["psnr"], stats["ssim"], stats["render_s"] = evaluate(rasterization, splats, data, args.sh_degree, bg, device)
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
