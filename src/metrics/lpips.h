// LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric",
// CVPR 2018), package `lpips` v0.1, net='alex', as torchmetrics
// LearnedPerceptualImagePatchSimilarity(net_type='alex', normalize=True) computes it for [0,1] images:
//   x -> 2x - 1 -> ScalingLayer ((x - shift) / scale) -> torchvision AlexNet `features` tapped after
//   relu1..relu5 -> per tap: unit-normalise over channels (x / (||x|| + 1e-10)), squared difference,
//   1x1 `lin` conv (no bias), spatial mean -> sum over the 5 taps.
// Weights: one safetensors file (docs/lpips.md, tools/make_lpips_weights.py) with
//   features.{0,3,6,8,10}.{weight,bias}  (torchvision alexnet IMAGENET1K_V1)
//   lin{0..4}.weight [1,C,1,1]           (lpips v0.1 alex.pth, keys lin<k>.model.1.weight)
// CPU only (im2col + Eigen GEMM); ~2.2 GMAC per 400x400 image.
#pragma once
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vg {

class Lpips {
 public:
  static constexpr int kTaps = 5;

  // Reads the safetensors weight file; throws vg::Error naming the file and the missing/misshaped key.
  static Lpips load(const std::filesystem::path& path);
  // From tensors named as in the file (F32, CPU or CUDA); `source` names them in errors.
  static Lpips from_weights(const std::map<std::string, Tensor>& weights, const std::string& source = "weights");
  // The weight file to use: `explicit_path` if given (it must exist), else $VGSPLAT_LPIPS_WEIGHTS if
  // set and present, else none (callers then report lpips as null).
  static std::optional<std::filesystem::path> find_weights(const std::filesystem::path& explicit_path = {});
  // The keys and shapes the weight file must hold.
  static const std::vector<std::pair<std::string, Shape>>& weight_shapes();

  // Replaces lin0..lin4 by the linear layers of an lpips .pth (keys lin<k>.model.1.weight).
  void load_linear_from_torch(const std::filesystem::path& pth);

  // LPIPS distance of two [H,W,3] F32 images in [0,1] (any device; copied to the host). H, W >= 31.
  double distance(const Tensor& a, const Tensor& b) const;

  // The five ReLU taps [C_k,h_k,w_k] of one [H,W,3] image (after the scaling layer and the backbone).
  std::array<Tensor, kTaps> features(const Tensor& image) const;
  // The distance from two images' taps (so a fixed reference image's taps can be reused).
  double distance_from_features(const std::array<Tensor, kTaps>& fa, const std::array<Tensor, kTaps>& fb) const;

  const Tensor& conv_weight(int k) const { return conv_w_[k]; }
  const Tensor& conv_bias(int k) const { return conv_b_[k]; }
  const Tensor& lin_weight(int k) const { return lin_[k]; }  // [C_k]

 private:
  Lpips() = default;
  std::array<Tensor, kTaps> conv_w_, conv_b_, lin_;
};

}  // namespace vg
