#include "metrics/lpips.h"

#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "io/safetensors.h"
#include "io/torch_pickle.h"
#include "metrics/conv2d.h"

namespace vg {

namespace {

// torchvision alexnet().features indices of the five convolutions, their stride and padding.
constexpr int kConvIndex[Lpips::kTaps] = {0, 3, 6, 8, 10};
constexpr int kStride[Lpips::kTaps] = {4, 1, 1, 1, 1};
constexpr int kPad[Lpips::kTaps] = {2, 2, 1, 1, 1};
constexpr int64_t kOut[Lpips::kTaps] = {64, 192, 384, 256, 256};
constexpr int64_t kIn[Lpips::kTaps] = {3, 64, 192, 384, 256};
constexpr int64_t kKernel[Lpips::kTaps] = {11, 5, 3, 3, 3};
// lpips ScalingLayer (applied after x -> 2x - 1): (x - shift) / scale per RGB channel.
constexpr float kShift[3] = {-.030f, -.088f, -.188f};
constexpr float kScale[3] = {.458f, .448f, .450f};
constexpr double kNormEps = 1e-10;  // lpips normalize_tensor

std::string conv_name(int k, const char* what) {
  return "features." + std::to_string(kConvIndex[k]) + "." + what;
}
std::string lin_name(int k) { return "lin" + std::to_string(k) + ".weight"; }

Tensor take(const std::map<std::string, Tensor>& w, const std::string& key, const Shape& shape,
            const std::string& source) {
  auto it = w.find(key);
  VG_CHECK(it != w.end(), "LPIPS weights ", source, ": missing '", key, "'");
  const Tensor& t = it->second;
  VG_CHECK(t.dtype() == DType::F32 && t.shape() == shape, "LPIPS weights ", source, ": '", key, "' is ",
           dtype_name(t.dtype()), " ", shape_str(t.shape()), ", expected F32 ", shape_str(shape));
  return t.is_cuda() ? t.to(Device::cpu()) : t.clone();
}

// [H,W,3] in [0,1] -> [3,H,W], scaled as lpips expects.
Tensor scaling_layer(const Tensor& image) {
  VG_CHECK(image.defined() && image.ndim() == 3 && image.size(2) == 3 && image.dtype() == DType::F32,
           "LPIPS: expected an F32 image [H,W,3], got ", image.defined() ? shape_str(image.shape()) : "undefined");
  VG_CHECK(image.size(0) >= 31 && image.size(1) >= 31, "LPIPS: image ", image.size(1), "x", image.size(0),
           " too small for AlexNet (needs at least 31x31)");
  Tensor host = image.is_cuda() ? image.to(Device::cpu()) : image;
  const int64_t H = image.size(0), W = image.size(1);
  Tensor x = Tensor::empty({3, H, W});
  const float* s = host.data<float>();
  float* d = x.data<float>();
  for (int64_t p = 0; p < H * W; ++p)
    for (int c = 0; c < 3; ++c) d[c * H * W + p] = (2.0f * s[p * 3 + c] - 1.0f - kShift[c]) / kScale[c];
  return x;
}

}  // namespace

const std::vector<std::pair<std::string, Shape>>& Lpips::weight_shapes() {
  static const std::vector<std::pair<std::string, Shape>> shapes = [] {
    std::vector<std::pair<std::string, Shape>> s;
    for (int k = 0; k < kTaps; ++k) {
      s.emplace_back(conv_name(k, "weight"), Shape{kOut[k], kIn[k], kKernel[k], kKernel[k]});
      s.emplace_back(conv_name(k, "bias"), Shape{kOut[k]});
    }
    for (int k = 0; k < kTaps; ++k) s.emplace_back(lin_name(k), Shape{1, kOut[k], 1, 1});
    return s;
  }();
  return shapes;
}

Lpips Lpips::from_weights(const std::map<std::string, Tensor>& w, const std::string& source) {
  Lpips net;
  for (int k = 0; k < kTaps; ++k) {
    net.conv_w_[k] = take(w, conv_name(k, "weight"), {kOut[k], kIn[k], kKernel[k], kKernel[k]}, source);
    net.conv_b_[k] = take(w, conv_name(k, "bias"), {kOut[k]}, source);
    net.lin_[k] = take(w, lin_name(k), {1, kOut[k], 1, 1}, source).reshape({kOut[k]});
  }
  return net;
}

std::optional<std::filesystem::path> Lpips::find_weights(const std::filesystem::path& explicit_path) {
  if (!explicit_path.empty()) {
    VG_CHECK(std::filesystem::is_regular_file(explicit_path), "LPIPS weights ", explicit_path.string(),
             ": no such file (see docs/lpips.md)");
    return explicit_path;
  }
  if (const char* env = std::getenv("VGSPLAT_LPIPS_WEIGHTS"); env && *env && std::filesystem::is_regular_file(env))
    return std::filesystem::path(env);
  return std::nullopt;
}

Lpips Lpips::load(const std::filesystem::path& path) { return from_weights(load_safetensors(path), path.string()); }

void Lpips::load_linear_from_torch(const std::filesystem::path& pth) {
  std::map<std::string, Tensor> sd = load_torch_state_dict(pth);
  std::array<Tensor, kTaps> lin;
  for (int k = 0; k < kTaps; ++k)
    lin[k] = take(sd, "lin" + std::to_string(k) + ".model.1.weight", {1, kOut[k], 1, 1}, pth.string())
                 .reshape({kOut[k]});
  lin_ = lin;
}

std::array<Tensor, Lpips::kTaps> Lpips::features(const Tensor& image) const {
  std::array<Tensor, kTaps> taps;
  Tensor x = scaling_layer(image);
  for (int k = 0; k < kTaps; ++k) {
    if (k == 1 || k == 2) x = nn::max_pool2d(x, 3, 2);  // features.2 and features.5
    x = nn::conv2d(x, conv_w_[k], conv_b_[k], kStride[k], kPad[k]);
    nn::relu_(x);
    taps[k] = x;
  }
  return taps;
}

double Lpips::distance_from_features(const std::array<Tensor, kTaps>& fa, const std::array<Tensor, kTaps>& fb) const {
  double total = 0;
  for (int k = 0; k < kTaps; ++k) {
    VG_CHECK(fa[k].shape() == fb[k].shape() && fa[k].ndim() == 3 && fa[k].size(0) == kOut[k],
             "LPIPS: feature tap ", k, " shapes differ: ", shape_str(fa[k].shape()), " vs ", shape_str(fb[k].shape()));
    const int64_t C = fa[k].size(0), P = fa[k].size(1) * fa[k].size(2);
    const float* a = fa[k].data<float>();
    const float* b = fb[k].data<float>();
    const float* w = lin_[k].data<float>();
    double sum = 0;
    for (int64_t p = 0; p < P; ++p) {
      double na = 0, nb = 0;
      for (int64_t c = 0; c < C; ++c) {
        na += double(a[c * P + p]) * a[c * P + p];
        nb += double(b[c * P + p]) * b[c * P + p];
      }
      const double ia = 1.0 / (std::sqrt(na) + kNormEps), ib = 1.0 / (std::sqrt(nb) + kNormEps);
      for (int64_t c = 0; c < C; ++c) {
        const double d = a[c * P + p] * ia - b[c * P + p] * ib;
        sum += w[c] * d * d;  // the 1x1 lin conv of the squared difference
      }
    }
    total += sum / static_cast<double>(P);  // spatial average
  }
  return total;
}

double Lpips::distance(const Tensor& a, const Tensor& b) const {
  VG_CHECK(a.defined() && b.defined() && a.shape() == b.shape(), "LPIPS: image shapes differ: ",
           a.defined() ? shape_str(a.shape()) : "undefined", " vs ", b.defined() ? shape_str(b.shape()) : "undefined");
  return distance_from_features(features(a), features(b));
}

}  // namespace vg
