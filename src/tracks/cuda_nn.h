// The CUDA layer of the track-source CNNs (the VGGSfM tracker's encoders, the keypoint detectors): PyTorch's
// Conv2d, InstanceNorm2d, eval BatchNorm2d, bilinear F.interpolate, MaxPool2d and torch.cat on batched NHWC device
// maps, mirroring the CPU references (metrics/conv2d.h, tracks/nn_ops.h, vggt/cpu_ops.h). Convs run as im2col +
// the VGGT GEMM (vggt::cuda::linear: exact fp32, or 16-bit weights with fp32 accumulation). Default stream, no
// host synchronisation. The CPU-only build compiles this; its launchers throw (cuda_nn_nocuda.cc).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "vggt/cuda_ops.h"

namespace vg::tracks::cuda {

using vggt::cuda::Epilogue;
using vggt::cuda::Precision;

// A Conv2d's parameters uploaded once: weight [Cout,Cin,k,k] (PyTorch layout, CPU) permuted to [Cout,k,k,Cin]
// (im2col column order), fp32 or 16-bit (Precision BF16/F16: U8 storage as vggt::cuda::convert_weights makes);
// bias fp32 (undefined = none).
struct Conv {
  Tensor w, b;
  int64_t cout = 0, cin = 0;
  int k = 1;
  Precision p = Precision::F32;
  static Conv upload(const Tensor& w_oikk, const Tensor& b, Device d, Precision p = Precision::F32);
};

// All tensors below are device F32 NHWC [B,H,W,C] unless stated; outputs are new device tensors.

// nn.Conv2d on x [B,H,W,Cin] -> [B,Ho,Wo,Cout], Ho = (H + 2 pad - k) / stride + 1 (zero padding), as im2col + GEMM
// (vggt::cuda::linear; 16-bit weights: im2col straight to 16 bit + linear_a16 where cuBLASLt takes K), processed in
// chunks of output rows (b, oy, ox) so the im2col scratch stays <= ~256 MB and a GEMM <= 2^21 rows. epi: kStore or
// kRelu.
Tensor conv2d(const Tensor& x, const Conv& c, int stride, int pad, Epilogue epi = Epilogue::kStore);
// nn.InstanceNorm2d (no affine): per (b, c) over H*W, biased variance, statistics in double as tracks/nn_ops.cc.
void instance_norm_(Tensor& x, float eps = 1e-5f);
// instance_norm_ then ReLU, in one pass over x.
void instance_norm_relu_(Tensor& x, float eps = 1e-5f);
// eval BatchNorm2d: x = (x - mean) / sqrt(var + eps) * w + b per channel (all four [C] device tensors)
void batch_norm_(Tensor& x, const Tensor& w, const Tensor& b, const Tensor& mean, const Tensor& var, float eps = 1e-5f);
void relu_(Tensor& x);
void add_(Tensor& x, const Tensor& y);  // same numel
// F.interpolate(mode="bilinear", antialias=False) to (Ho, Wo).
Tensor bilinear(const Tensor& x, int64_t Ho, int64_t Wo, bool align_corners);
Tensor max_pool2d(const Tensor& x, int k, int stride, int pad);  // nn.MaxPool2d (implicit -inf padding)
Tensor concat_channels(const std::vector<Tensor>& xs);           // torch.cat(dim=1) in NHWC: along C
Tensor nchw_to_nhwc(const Tensor& x);  // [B,C,H,W] -> [B,H,W,C] (device in, device out)
Tensor nhwc_to_nchw(const Tensor& x);  // [B,H,W,C] -> [B,C,H,W]

}  // namespace vg::tracks::cuda
