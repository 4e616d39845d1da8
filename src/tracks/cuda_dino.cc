// CudaDinov2: tracks/dino.cc's forward (vggsfm_utils.generate_rank_by_dino up to the cls tokens) as launches of
// vggt/cuda_ops.h and the shared transformer of vggt/cuda_vit.h, on the default stream; frames in chunks.
#include "tracks/cuda_dino.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "vggt/cuda_model.h"
#include "vggt/network.h"

namespace vg::tracks {

namespace {

namespace cuda = vggt::cuda;

constexpr int64_t kFrameChunk = 32;  // frames per ViT pass: bounds the block scratch (~0.5 GB at 336 px)

float* fp(Tensor& t) { return t.data<float>(); }
const float* fp(const Tensor& t) { return t.data<float>(); }

// Frames [b, e) of images [S,3,H,W] on `device` (a pointer into them when they already lie there).
Tensor frames_on(const Tensor& images, int64_t b, int64_t e, const Device& device, const float** data) {
  const int64_t per = images.numel() / images.size(0);
  if (images.device() == device) {
    *data = fp(images) + b * per;
    return Tensor();
  }
  Tensor host = Tensor::empty({e - b, images.size(1), images.size(2), images.size(3)});
  std::memcpy(fp(host), fp(images) + b * per, static_cast<size_t>((e - b) * per) * sizeof(float));
  Tensor dev = host.to(device);
  *data = fp(dev);
  return dev;
}

}  // namespace

CudaDinov2::CudaDinov2(const Dinov2& net, Device device, cuda::Precision precision)
    : cfg_(net.config()), params_(net.weights(), device, precision), pos_embed_host_(net.weights().at("pos_embed")) {}

CudaDinov2::CudaDinov2(const Dinov2& net, Device device)
    : CudaDinov2(net, device, vggt::default_cuda_precision(device)) {}

Tensor CudaDinov2::forward(const Tensor& images, int64_t n, int64_t first, int64_t rows) const {
  VG_CHECK(images.defined() && images.ndim() == 4 && images.size(0) >= 1 && images.size(1) == 3 &&
               images.size(2) >= 1 && images.size(3) >= 1 && images.dtype() == DType::F32 &&
               (!images.is_cuda() || images.device() == device()),
           "DINOv2 CUDA: images must be F32 [S,3,H,W] with S >= 1 on the CPU or ", device().str(), ", got ",
           images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
  VG_CHECK(n >= cfg_.patch, "DINOv2: image_size ", n, " is smaller than one ", cfg_.patch, "-pixel patch");
  set_current_device(device());
  const Device d = device();
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3), g = n / cfg_.patch;
  const int64_t E = cfg_.embed_dim, T = 1 + cfg_.registers + g * g, chunk = std::min(S, kFrameChunk);
  const vggt::DinoVitSpec spec{"", cfg_.patch, E, cfg_.registers, cfg_.depth, cfg_.heads};
  const Tensor pos = vggt::dino_pos_embed(pos_embed_host_, g, g).to(d);
  vggt::OpProfile prof(false);
  const vggt::CudaVitRunner vit(params_, prof);
  const int64_t hidden = cfg_.depth > 0 ? params_.shape("blocks.0.mlp.fc1.weight")[0] : 1;
  vggt::BlockScratch scratch(chunk * T, E, hidden, d, precision(), chunk);
  Tensor resized = Tensor::empty({chunk, 3, n, n}, DType::F32, d);
  Tensor x = Tensor::empty({chunk * T, E}, DType::F32, d), xn = Tensor::empty({chunk * T, E}, DType::F32, d);
  Tensor out = Tensor::empty({S, rows, E}, DType::F32, d);
  for (int64_t b = 0; b < S; b += chunk) {
    const int64_t c = std::min(chunk, S - b);
    const float* src = nullptr;
    const Tensor uploaded = frames_on(images, b, b + c, d, &src);
    // resize_for_dino: bilinear, align_corners=False, each [H, W] plane as a one-channel NHWC map
    for (int64_t i = 0; i < c * 3; ++i)
      cuda::bilinear(src + i * H * W, H, W, 1, n, n, false, fp(resized) + i * n * n);
    vit.dino_forward(spec, fp(pos), fp(resized), c, n, n, fp(x), fp(xn), scratch);
    // rows [first, first + rows) of each frame's T tokens -> out[b .. b + c)
    cuda::copy_rows(fp(xn), T * E, first * E, fp(out) + b * rows * E, rows * E, 0, c, rows * E);
  }
  return out;
}

Tensor CudaDinov2::cls_tokens(const Tensor& images, int64_t image_size) const {
  const Tensor t = forward(images, image_size, 0, 1);
  return t.to(Device::cpu()).reshape({t.size(0), cfg_.embed_dim});
}

Tensor CudaDinov2::tokens(const Tensor& images, int64_t image_size) const {
  const int64_t g = image_size / cfg_.patch;
  return forward(images, image_size, 0, 1 + cfg_.registers + g * g).to(Device::cpu());
}

}  // namespace vg::tracks
