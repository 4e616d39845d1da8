#!/usr/bin/env python3
"""The official VGGT PyTorch code as the original pipeline runs it (fp32 weights, bf16 autocast; aggregator +
camera + depth heads, random weights) on S frames of 518x518: median seconds of --reps forwards after one
warm-up (synchronised) and torch.cuda.max_memory_allocated. One JSON line per frame count, the same format as
bench/vggt_bench.cc. The official `vggt` package must be importable (PYTHONPATH=<dir holding vggt/>, never part
of this repository).

  PYTHONPATH=.data/vggt_src python3 tools/vggt_torch_bench.py --frames 1,8,32,60,100 --reps 5
"""
import argparse
import json
import sys
import time
import types

import torch
import torch.nn as nn

try:  # nn.quantized moved to torch.ao in recent PyTorch; the DPT head only uses FloatFunctional.add
    nn.quantized.FloatFunctional  # noqa: B018
except AttributeError:
    import torch.ao.nn.quantized as _q
    nn.quantized = _q
try:  # vggt.models.vggt imports huggingface_hub only for the hub mixin
    import huggingface_hub  # noqa: F401
except ImportError:
    hub = types.ModuleType("huggingface_hub")
    hub.PyTorchModelHubMixin = type("PyTorchModelHubMixin", (), {})
    sys.modules["huggingface_hub"] = hub

from vggt.models.vggt import VGGT  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", default="1,8,32,60,100")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--size", type=int, default=518)
    a = ap.parse_args()
    dev = "cuda"
    model = VGGT(enable_point=False, enable_track=False).to(dev).eval()  # fp32 weights, as demo_colmap.py
    dtype = torch.bfloat16 if torch.cuda.get_device_capability()[0] >= 8 else torch.float16
    for S in [int(s) for s in a.frames.split(",")]:
        images = torch.rand((S, 3, a.size, a.size), device=dev)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        times = []
        with torch.no_grad(), torch.cuda.amp.autocast(dtype=dtype):
            for r in range(a.reps + 1):
                t0 = time.perf_counter()
                out = model(images)
                torch.cuda.synchronize()
                if r > 0:
                    times.append(time.perf_counter() - t0)
                del out
        times.sort()
        print(json.dumps({"engine": "torch", "precision": str(dtype).replace("torch.", ""), "frames": S,
                          "median_s": round(times[len(times) // 2], 4),
                          "peak_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2)}), flush=True)


if __name__ == "__main__":
    main()
