// DINOv2 ViT-B/14-reg of the query-frame ranking on CUDA: the same computation as Dinov2 (tracks/dino.h, the CPU
// fp32 reference) through the shared CUDA transformer (vggt/cuda_vit.h): resize_for_dino on the device, the ViT,
// the final norm. GEMM weights in fp32 (parity path) or 16 bit (bf16 on sm_80+, as the original's autocast).
#pragma once
#include <cstdint>

#include "core/device.h"
#include "core/tensor.h"
#include "tracks/dino.h"
#include "vggt/cuda_ops.h"
#include "vggt/cuda_vit.h"

namespace vg::tracks {

class CudaDinov2 {
 public:
  // Uploads net's weights to `device`; the second form picks vggt::default_cuda_precision(device).
  CudaDinov2(const Dinov2& net, Device device, vggt::cuda::Precision precision);
  CudaDinov2(const Dinov2& net, Device device);

  // images [S,3,H,W] in [0,1] (CPU or this device) -> x_norm_clstoken [S, E] on the CPU, as Dinov2::cls_tokens.
  Tensor cls_tokens(const Tensor& images, int64_t image_size = 336) const;
  // All final-norm tokens [S, 1 + registers + P, E] on the CPU, as Dinov2::tokens.
  Tensor tokens(const Tensor& images, int64_t image_size = 336) const;

  const DinoConfig& config() const { return cfg_; }
  vggt::cuda::Precision precision() const { return params_.precision(); }
  Device device() const { return params_.device(); }

 private:
  // The forward in frame chunks: rows [first, first + rows) of every frame's tokens, [S, rows, E] on the device.
  Tensor forward(const Tensor& images, int64_t image_size, int64_t first, int64_t rows) const;

  DinoConfig cfg_;
  vggt::CudaParams params_;
  Tensor pos_embed_host_;  // pos_embed [1, 1 + M*M, E] (CPU, for resizing)
};

}  // namespace vg::tracks
