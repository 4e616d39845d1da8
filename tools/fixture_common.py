"""Shared plumbing of the parity-fixture scripts (tools/*_fixtures.py): safetensors writing without the
safetensors package, seeded random weights that keep activations alive, and import paths / stand-ins so the
OFFICIAL sources run on a machine without network access.

The official sources are never part of this repository. `add_source_paths()` puts on sys.path:
  $VGSPLAT_OFFICIAL_SRC (default: <repo>/.data) / vggt_src   the facebookresearch/vggt tree (holds vggt/)
  $VGSPLAT_OFFICIAL_SRC / py                                  pure-Python packages: lightglue/ (cvg/LightGlue),
                                                               einops/ (arogozhnikov/einops)
`install_stubs()` registers stand-ins for modules the official code imports but the tracker path does not use
(cv2, pycolmap, hydra, omegaconf) and for the three kornia functions LightGlue calls: rgb_to_grayscale and
grayscale_to_rgb (kornia's formulas) and geometry.transform.resize, which here only accepts the identity case
(the extractors see 1024-px images, the size LightGlue resizes to) and raises otherwise.
"""
import argparse
import json
import math
import os
import struct
import sys
import types

import torch

ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
             torch.int32: "I32", torch.uint8: "U8"}


def save_safetensors(path, tensors, metadata):
    """Writes {name: tensor} and string metadata as a .safetensors file (atomic: temp file, then rename)."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        u8 = t.reshape(-1).view(torch.uint8)
        try:
            b = u8.numpy().tobytes()
        except Exception:  # no numpy
            b = bytes(u8.tolist())
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def randomize(model, gen, fp16_exact=False):
    """Seeded random parameters and buffers: weights ~ N(0, 1/fan_in), norm weights ~ 1 +- 0.1, LayerScale
    gammas in [0.5, 1], biases ~ N(0, 0.05^2). fp16_exact rounds every value to fp16 so an F16 file holds it
    exactly. BatchNorm running statistics get mean ~ N(0, 0.1^2), var in [0.5, 1.5]."""
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if not p.is_floating_point():
                continue
            if name.endswith("running_var"):
                v = 0.5 + torch.rand(p.shape, generator=gen)
            elif name.endswith("running_mean"):
                v = 0.1 * torch.randn(p.shape, generator=gen)
            elif p.ndim >= 2 or name.endswith("_token") or name.endswith("tokens") or "pos_embed" in name:
                fan_in = p[0].numel() if p.ndim >= 2 else p.shape[-1]
                v = torch.randn(p.shape, generator=gen) / math.sqrt(max(fan_in, 1))
            elif name.endswith("gamma"):
                v = 0.5 + 0.5 * torch.rand(p.shape, generator=gen)
            elif name.endswith("weight"):  # norms
                v = 1.0 + 0.1 * torch.randn(p.shape, generator=gen)
            else:  # biases
                v = 0.05 * torch.randn(p.shape, generator=gen)
            if fp16_exact:
                v = v.half().float()
            p.copy_(v.to(p.dtype))


def fixture_parser(doc=None):
    """The fixture scripts' command line: exactly one of --tiny / --full, --out, --seed (add more before parsing)."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--tiny", action="store_true", help="the small configuration committed under tests/data")
    ap.add_argument("--full", action="store_true", help="the published configuration (never committed)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    return ap


def parse_fixture_args(ap):
    """Parses; also turns TF32 off, so that a run on a GPU computes the reference in true fp32."""
    a = ap.parse_args()
    if a.tiny == a.full:
        ap.error("pass exactly one of --tiny / --full")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return a


def key_shapes(build):
    """{name: shape} of build()'s state dict, built on the meta device where PyTorch has it (no memory)."""
    try:
        with torch.device("meta"):
            m = build()
    except Exception:  # older PyTorch: build on the CPU
        m = build()
    return {k: list(v.shape) for k, v in m.state_dict().items()}


def official_root():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("VGSPLAT_OFFICIAL_SRC", os.path.join(here, "..", ".data"))


def add_source_paths():
    root = official_root()
    for sub in ("py", "vggt_src"):
        p = os.path.join(root, sub)
        if p not in sys.path:
            sys.path.insert(0, p)


class _StubModule(types.ModuleType):
    """A module whose unknown attributes are placeholders that raise when used (imported, never called)."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)

        def unavailable(*args, **kwargs):
            raise RuntimeError(f"{self.__name__}.{attr} is a fixture stand-in (see tools/fixture_common.py)")
        return unavailable


def _module(name, **attrs):
    m = _StubModule(name)
    m.__path__ = []  # a package, so submodule imports resolve through sys.modules
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


class _NoWeights(dict):
    """What torch.hub.load_state_dict_from_url returns here: nothing is downloaded, load_state_dict() of it
    loads nothing, and the fixture scripts fill the parameters with randomize()."""


def install_stubs():
    """Stand-ins for modules that are imported but not used on the tracker path (see the module docstring),
    and an offline torch.hub: modules that download their weights at construction (LightGlue's ALIKED and
    SuperPoint) get _NoWeights instead."""
    torch.hub.load_state_dict_from_url = lambda *a, **k: _NoWeights()
    if not getattr(torch.nn.Module.load_state_dict, "_vgsplat_offline", False):
        original = torch.nn.Module.load_state_dict

        def load_state_dict(self, state_dict, *args, **kwargs):
            if isinstance(state_dict, _NoWeights):
                return None
            return original(self, state_dict, *args, **kwargs)
        load_state_dict._vgsplat_offline = True
        torch.nn.Module.load_state_dict = load_state_dict
    if not hasattr(torch.amp, "custom_fwd"):  # PyTorch < 2.4 (a local CPU run): LightGlue only decorates with it
        torch.amp.custom_fwd = lambda *a, **k: (lambda f: f)
    for name in ("cv2", "pycolmap"):
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                _module(name)
    try:
        import hydra.utils  # noqa: F401
    except ImportError:
        _module("hydra")
        _module("hydra.utils", instantiate=None)
        sys.modules["hydra"].utils = sys.modules["hydra.utils"]
    try:
        import omegaconf  # noqa: F401
    except ImportError:
        _module("omegaconf", OmegaConf=None)
    try:
        import kornia  # noqa: F401
        return
    except ImportError:
        pass

    def rgb_to_grayscale(image):  # kornia.color.rgb_to_grayscale: ITU-R 601 weights
        r, g, b = image[..., 0:1, :, :], image[..., 1:2, :, :], image[..., 2:3, :, :]
        return 0.299 * r + 0.587 * g + 0.114 * b

    def grayscale_to_rgb(image):  # kornia.color.grayscale_to_rgb
        return torch.cat([image, image, image], dim=-3)

    def resize(image, size, side="short", antialias=False, align_corners=None, interpolation="bilinear"):
        h, w = image.shape[-2:]
        long_side = max(h, w) if side == "long" else min(h, w)
        if size == long_side:
            return image
        raise NotImplementedError("fixture stand-in for kornia resize: only the identity case (images whose "
                                  f"{side} side is already {size} px) is supported, got {h}x{w}")

    kornia = _module("kornia")
    kornia.color = _module("kornia.color", rgb_to_grayscale=rgb_to_grayscale, grayscale_to_rgb=grayscale_to_rgb)
    kornia.geometry = _module("kornia.geometry")
    kornia.geometry.transform = _module("kornia.geometry.transform", resize=resize)
    for sub in ("feature", "utils", "utils.grid", "geometry.subpix", "morphology", "filters", "enhance"):
        parent, _, leaf = ("kornia." + sub).rpartition(".")
        setattr(sys.modules[parent], leaf, _module("kornia." + sub))
