#!/usr/bin/env python3
"""Checks vgsplat's preprocess (projection + SH + opacity) forward and backward against gsplat's
PyTorch reference functions (gsplat/cuda/_torch_impl.py) run in float64 with autograd.

Runs on the GPU machine (PyTorch there). gsplat's reference files are NOT part of this repository:
pass a folder holding _torch_impl.py, _math.py, _constants.py and _helper.py taken from a gsplat
checkout (tools/device_run.sh expects them in .data/gsplat_ref/).

  python3 tools/gsplat_parity.py --ref .data/gsplat_ref dump1.safetensors [dump2 ...]

Each dump comes from `parity_dump` (tools/parity_dump.cc). Prints one line per quantity with the
relative L2 error over Gaussians visible in both; exits non-zero above --tol.
"""
import argparse
import json
import os
import shutil
import struct
import sys
import tempfile

import torch

DTYPES = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8}


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for k, e in header.items():
        b, en = e["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + b:base + en]), dtype=DTYPES[e["dtype"]])
        out[k] = t.reshape(e["shape"]) if e["shape"] else t
    return out, meta


def import_reference(ref_dir):
    """Builds a throwaway `gsplat` package around the reference files (no CUDA extension needed)."""
    tmp = tempfile.mkdtemp(prefix="gsplat_ref_")
    pkg = os.path.join(tmp, "gsplat")
    os.makedirs(os.path.join(pkg, "cuda"))
    open(os.path.join(pkg, "__init__.py"), "w").close()
    shutil.copy(os.path.join(ref_dir, "_helper.py"), pkg)
    open(os.path.join(pkg, "cuda", "__init__.py"), "w").close()
    for f in ("_torch_impl.py", "_math.py", "_constants.py"):
        shutil.copy(os.path.join(ref_dir, f), os.path.join(pkg, "cuda"))
    with open(os.path.join(pkg, "cuda", "_wrapper.py"), "w") as f:
        f.write("CameraModel = str\nRollingShutterType = str\n")
    sys.path.insert(0, tmp)
    from gsplat.cuda import _torch_impl, _math  # noqa: E402
    return _torch_impl, _math


def rel(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def check(path, ti, tm, dev, tol):
    d, meta = load_safetensors(path)
    W, H = int(meta["width"]), int(meta["height"])
    deg, aa = int(meta["sh_degree"]), meta["antialiased"] == "1"
    f64 = lambda k: d[k].to(dev, torch.float64)
    means, scales, quats = f64("in.means"), f64("in.scales"), f64("in.quats")
    opac, sh0, shN = f64("in.opacities"), f64("in.sh0"), f64("in.shN")
    params = [means, scales, quats, opac, sh0, shN]
    for p in params:
        p.requires_grad_(True)
    viewmat, K = f64("in.viewmat"), f64("in.K")

    covars, _ = tm._quat_scale_to_covar_preci(quats, torch.exp(scales), True, False, False)
    radii, means2d, depths, conics, comp = ti._fully_fused_projection(
        means, covars, viewmat[None], K[None], W, H, 0.3, 0.01, 1e10, calc_compensations=aa)
    radii, means2d, depths, conics = radii[0], means2d[0], depths[0], conics[0]
    opacities = torch.sigmoid(opac) * (comp[0] if aa else 1.0)
    campos = -viewmat[:3, :3].T @ viewmat[:3, 3]
    coeffs = torch.cat([sh0[:, None, :], shN], dim=1)
    colors = torch.clamp_min(ti._spherical_harmonics(deg, means - campos, coeffs) + 0.5, 0.0)

    # vgsplat culls more than the torch reference (opacity-aware radius of the CUDA code): compare
    # where both keep the Gaussian.
    ours_vis = (d["out.radii"].to(dev) > 0).all(-1)
    ref_vis = (radii > 0).all(-1)
    both = ours_vis & ref_vis
    only_ref = ref_vis & ~ours_vis
    res = {}
    res["visible_both"] = int(both.sum())
    res["visible_only_ref_max_opacity"] = float(opacities[only_ref].max()) if only_ref.any() else 0.0
    for name, ref in [("means2d", means2d), ("depths", depths), ("conics", conics),
                      ("opacities", opacities), ("colors", colors)]:
        res["fwd." + name] = rel(d["out." + name].to(dev)[both], ref.detach()[both])

    # backward: the same upstream gradients vgsplat's rasterizer produced, pushed through autograd.
    grads_in = {k: d[k].to(dev, torch.float64) for k in ("up.v_means2d", "up.v_conics", "up.v_opacities", "up.v_colors")}
    mask = both.double()
    loss = ((means2d * grads_in["up.v_means2d"]).sum(-1) * mask).sum() \
        + ((conics * grads_in["up.v_conics"]).sum(-1) * mask).sum() \
        + (opacities * grads_in["up.v_opacities"] * mask).sum() \
        + ((colors * grads_in["up.v_colors"]).sum(-1) * mask).sum()
    loss.backward()
    for name, p in zip(["means", "scales", "quats", "opacities", "sh0", "shN"], params):
        res["grad." + name] = rel(d["grad." + name].to(dev)[both], p.grad[both])
    worst = max(v for k, v in res.items() if k.startswith(("fwd.", "grad.")))
    print(f"{os.path.basename(path)} ({meta['device']}, sh={deg}, aa={int(aa)}, isects={meta['n_isects']})")
    for k, v in res.items():
        print(f"  {k:34s} {v:.3e}" if isinstance(v, float) else f"  {k:34s} {v}")
    return worst <= tol, worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("dumps", nargs="+")
    a = ap.parse_args()
    ti, tm = import_reference(a.ref)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    ok = True
    worst_all = 0.0
    for p in a.dumps:
        good, worst = check(p, ti, tm, dev, a.tol)
        ok &= good
        worst_all = max(worst_all, worst)
    print(f"gsplat parity: worst relative error {worst_all:.3e} (tol {a.tol:g}): {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
