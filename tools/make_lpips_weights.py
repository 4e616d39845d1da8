#!/usr/bin/env python3
"""Write the LPIPS (AlexNet, v0.1) weight file that vgsplat reads (see docs/lpips.md).

Needs torch, torchvision (downloads alexnet IMAGENET1K_V1 on first use) and the lpips v0.1 linear
layers: --lpips-pth, or the `lpips` pip package's bundled lpips/weights/v0.1/alex.pth.

The file is a safetensors file with float32 tensors
    features.{0,3,6,8,10}.weight / .bias   torchvision alexnet().features convolutions
    lin{0..4}.weight  [1,C,1,1]            lpips lin<k>.model.1.weight
and __metadata__ describing the sources. With --check (needs the `lpips` package and the example
patches ex_ref.png, ex_p0.png, ex_p1.png) the reference distances of lpips.LPIPS(net='alex',
version='0.1') are stored in the metadata as check.ex_ref.ex_p0 / check.ex_ref.ex_p1, which
vgsplat's lpips_test compares against when VGSPLAT_LPIPS_WEIGHTS points at the file.

    python3 tools/make_lpips_weights.py --out lpips_alex_v0.1.safetensors --check \
        --images ../shared/data/lpips/imgs
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torchvision

CONV_INDICES = (0, 3, 6, 8, 10)


def default_lpips_pth():
    import lpips  # noqa: the pip package ships the weights next to its code

    return os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth")


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        arr = tensors[name].detach().cpu().float().contiguous().numpy().astype("<f4")
        blob = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_rgb(path):
    from PIL import Image

    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(a).permute(2, 0, 1)[None]  # [1,3,H,W] in [0,1]


def reference_distances(images_dir):
    import lpips

    net = lpips.LPIPS(net="alex", version="0.1", verbose=False).eval()
    ref = load_rgb(os.path.join(images_dir, "ex_ref.png"))
    out = {}
    with torch.no_grad():
        for other in ("ex_p0", "ex_p1"):
            img = load_rgb(os.path.join(images_dir, other + ".png"))
            # torchmetrics LPIPS(normalize=True) == lpips with normalize=True (x -> 2x - 1)
            out["check.ex_ref." + other] = "%.8f" % net(ref, img, normalize=True).item()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="lpips_alex_v0.1.safetensors")
    ap.add_argument("--lpips-pth", help="lpips v0.1 alex.pth (default: the installed lpips package's)")
    ap.add_argument("--check", action="store_true", help="store lpips reference distances in the metadata")
    ap.add_argument("--images", default="../shared/data/lpips/imgs", help="folder with ex_ref/ex_p0/ex_p1.png")
    args = ap.parse_args()

    alex = torchvision.models.alexnet(weights=torchvision.models.AlexNet_Weights.IMAGENET1K_V1)
    tensors = {}
    for i in CONV_INDICES:
        conv = alex.features[i]
        assert isinstance(conv, torch.nn.Conv2d), (i, conv)
        tensors["features.%d.weight" % i] = conv.weight
        tensors["features.%d.bias" % i] = conv.bias

    pth = args.lpips_pth or default_lpips_pth()
    lin = torch.load(pth, map_location="cpu")
    for k in range(5):
        w = lin["lin%d.model.1.weight" % k]
        assert w.shape == (1, tensors["features.%d.weight" % CONV_INDICES[k]].shape[0], 1, 1), (k, w.shape)
        tensors["lin%d.weight" % k] = w

    metadata = {
        "format": "vgsplat-lpips-alex",
        "lpips_version": "0.1",
        "backbone": "torchvision alexnet IMAGENET1K_V1 features",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    if args.check:
        metadata.update(reference_distances(args.images))
    write_safetensors(args.out, tensors, metadata)
    print("wrote", args.out, {k: v for k, v in metadata.items() if k.startswith("check.")})


if __name__ == "__main__":
    main()
