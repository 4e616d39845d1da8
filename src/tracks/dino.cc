// DINOv2 frame ranking (vggt/dependency/vggsfm_utils.py generate_rank_by_dino). The ViT itself is
// vggt::dino_vit_forward, shared with VGGT's patch embed (same DinoVisionTransformer, ViT-L there).
#include "tracks/dino.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "vggt/cpu_ops.h"
#include "vggt/network.h"
#include "vggt/weights.h"

namespace vg::tracks {

namespace {

constexpr int64_t kFrameChunk = 8;  // frames per forward: bounds the [S, T, 4E] MLP activations

void check_config(const DinoConfig& c) {
  VG_CHECK(c.embed_dim > 0 && c.heads > 0 && c.embed_dim % c.heads == 0 && c.depth >= 0 && c.registers >= 0 &&
               c.patch > 0 && c.img_size >= c.patch,
           "DINOv2: invalid configuration (embed_dim ", c.embed_dim, ", heads ", c.heads, ", patch ", c.patch,
           ", img_size ", c.img_size, ")");
}

vggt::DinoVitSpec spec_of(const DinoConfig& c) {
  return {"", c.patch, c.embed_dim, c.registers, c.depth, c.heads};
}

void expect_images(const Tensor& images) {
  VG_CHECK(images.defined() && images.ndim() == 4 && images.size(0) >= 1 && images.size(1) == 3 &&
               images.size(2) >= 1 && images.size(3) >= 1 && images.dtype() == DType::F32 && !images.is_cuda(),
           "DINOv2: images must be F32 CPU [S,3,H,W] with S >= 1, got ",
           images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
}

// Frames [b, e) of x [S, ...] as a contiguous tensor.
Tensor frames(const Tensor& x, int64_t b, int64_t e) {
  Shape shape = x.shape();
  const int64_t per = x.numel() / shape[0];
  shape[0] = e - b;
  Tensor out = Tensor::empty(shape);
  std::memcpy(out.data<float>(), x.data<float>() + b * per, static_cast<size_t>((e - b) * per) * sizeof(float));
  return out;
}

int argmax_first(const float* v, int n) {  // torch.argmax: the first of equal maxima
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

}  // namespace

ParamList dino_expected_params(const DinoConfig& c) {
  check_config(c);
  const int64_t E = c.embed_dim, M = c.img_size / c.patch, hidden = static_cast<int64_t>(E * c.mlp_ratio);
  ParamList p;
  p.push_back({"cls_token", {1, 1, E}});
  p.push_back({"pos_embed", {1, 1 + M * M, E}});
  if (c.registers > 0) p.push_back({"register_tokens", {1, c.registers, E}});
  add_conv_params(p, "patch_embed.proj", E, 3, c.patch);
  for (int i = 0; i < c.depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    add_norm_params(p, b + "norm1", E);
    add_linear_params(p, b + "attn.qkv", 3 * E, E);
    add_linear_params(p, b + "attn.proj", E, E);
    p.push_back({b + "ls1.gamma", {E}});
    add_norm_params(p, b + "norm2", E);
    add_linear_params(p, b + "mlp.fc1", hidden, E);
    add_linear_params(p, b + "mlp.fc2", E, hidden);
    p.push_back({b + "ls2.gamma", {E}});
  }
  add_norm_params(p, "norm", E);
  return p;
}

StateDictCheck dino_state_dict_check() {
  StateDictCheck check;
  check.what = "DINOv2 ViT-B/14-reg";
  check.help = kDinoHelp;
  check.ignored_prefixes = {"mask_token"};  // masked-image-modelling token, unused by forward without masks
  return check;
}

Dinov2 Dinov2::load(const std::filesystem::path& file, const DinoConfig& cfg) {
  return from_state_dict(load_state_dict(file, dino_expected_params(cfg), dino_state_dict_check()), cfg);
}

Dinov2 Dinov2::from_state_dict(StateDict sd, const DinoConfig& cfg) {
  std::map<std::string, Shape> shapes;
  for (const auto& [k, t] : sd.tensors) shapes[k] = t.shape();
  check_state_dict(shapes, dino_expected_params(cfg), dino_state_dict_check(), "the DINOv2 state dict");
  auto w = std::make_shared<vggt::VggtWeights>();
  for (auto& [k, t] : sd.tensors) {
    if (k.rfind("mask_token", 0) == 0) continue;
    VG_CHECK(t.dtype() == DType::F32 && !t.is_cuda(), "DINOv2: weight ", k, " must be F32 on the CPU");
    w->tensors.emplace(k, std::move(t));
  }
  Dinov2 d;
  d.cfg_ = cfg;
  d.w_ = std::move(w);
  return d;
}

const vggt::VggtWeights& Dinov2::weights() const {
  VG_CHECK(w_, "DINOv2: the network has no weights (use Dinov2::load)");
  return *w_;
}

Tensor resize_for_dino(const Tensor& images, int64_t n) {
  expect_images(images);
  VG_CHECK(n >= 1, "DINOv2: image_size must be positive, got ", n);
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3);
  Tensor out = Tensor::empty({S, 3, n, n});
  for (int64_t s = 0; s < S; ++s) {
    Tensor r = vggt::ops::interpolate_bilinear(frames(images, s, s + 1).reshape({3, H, W}), n, n, false);
    std::memcpy(out.data<float>() + s * 3 * n * n, r.data<float>(), static_cast<size_t>(3 * n * n) * sizeof(float));
  }
  return out;
}

Tensor Dinov2::tokens(const Tensor& images, int64_t image_size) const {
  VG_CHECK(w_, "DINOv2: the network has no weights (use Dinov2::load)");
  expect_images(images);
  VG_CHECK(image_size >= cfg_.patch, "DINOv2: image_size ", image_size, " is smaller than one ", cfg_.patch,
           "-pixel patch");
  const Tensor x = resize_for_dino(images, image_size);
  const int64_t S = x.size(0), n = image_size / cfg_.patch;
  const int64_t T = 1 + cfg_.registers + n * n, E = cfg_.embed_dim;
  Tensor out = Tensor::empty({S, T, E});
  for (int64_t b = 0; b < S; b += kFrameChunk) {
    const int64_t e = std::min(S, b + kFrameChunk);
    Tensor t = vggt::dino_vit_forward(*w_, spec_of(cfg_), frames(x, b, e));
    std::memcpy(out.data<float>() + b * T * E, t.data<float>(), static_cast<size_t>(t.numel()) * sizeof(float));
  }
  return out;
}

Tensor Dinov2::cls_tokens(const Tensor& images, int64_t image_size) const {
  const Tensor t = tokens(images, image_size);
  const int64_t S = t.size(0), T = t.size(1), E = t.size(2);
  Tensor cls = Tensor::empty({S, E});
  for (int64_t s = 0; s < S; ++s)
    std::memcpy(cls.data<float>() + s * E, t.data<float>() + s * T * E, static_cast<size_t>(E) * sizeof(float));
  return cls;
}

Tensor cls_similarity(const Tensor& cls) {
  VG_CHECK(cls.defined() && cls.ndim() == 2 && cls.size(0) >= 1 && cls.dtype() == DType::F32 && !cls.is_cuda(),
           "DINOv2 ranking: cls tokens must be F32 CPU [S,E] with S >= 1");
  const int64_t S = cls.size(0), E = cls.size(1);
  const float* c = cls.data<float>();
  std::vector<float> unit(static_cast<size_t>(S * E));
  for (int64_t s = 0; s < S; ++s) {  // F.normalize(p=2, dim=1): x / max(||x||, 1e-12)
    double sq = 0;
    for (int64_t e = 0; e < E; ++e) sq += static_cast<double>(c[s * E + e]) * c[s * E + e];
    const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
    for (int64_t e = 0; e < E; ++e) unit[s * E + e] = c[s * E + e] / norm;
  }
  Tensor sim = Tensor::empty({S, S});
  float* o = sim.data<float>();
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j) {
      double d = 0;
      for (int64_t e = 0; e < E; ++e) d += static_cast<double>(unit[i * E + e]) * unit[j * E + e];
      o[i * S + j] = static_cast<float>(d);
    }
  return sim;
}

std::vector<int> farthest_point_sampling(const Tensor& distance, int num_samples, int first) {
  VG_CHECK(distance.ndim() == 2 && distance.size(0) == distance.size(1) && distance.size(0) >= 1 &&
               distance.dtype() == DType::F32 && !distance.is_cuda(),
           "farthest_point_sampling: distances must be F32 CPU [S,S]");
  const int S = static_cast<int>(distance.size(0));
  VG_CHECK(first >= 0 && first < S, "farthest_point_sampling: first frame ", first, " is not in [0, ", S, ")");
  std::vector<float> d = distance.to_vector<float>();
  for (float& v : d) v = std::max(v, 0.0f);  // clamp(min=0)
  std::vector<int> selected = {first};
  std::vector<float> check(d.begin() + first * S, d.begin() + (first + 1) * S);  // row of `first`, not zeroed
  while (static_cast<int>(selected.size()) < num_samples) {
    const int far = argmax_first(check.data(), S);
    selected.push_back(far);
    check.assign(d.begin() + far * S, d.begin() + (far + 1) * S);  // only the LAST pick's row
    for (int s : selected) check[s] = 0;
    if (static_cast<int>(selected.size()) == S) break;
  }
  return selected;
}

std::vector<int> rank_frames(const Tensor& cls_tokens, int query_frame_num) {
  const Tensor sim = cls_similarity(cls_tokens);
  const int S = static_cast<int>(sim.size(0));
  const float* m = sim.data<float>();
  Tensor dist = Tensor::empty({S, S});
  float* d = dist.data<float>();
  std::vector<float> sums(S);
  for (int i = 0; i < S; ++i) {
    float row = 0;  // fill_diagonal_(-100), then sum(dim=1) in float
    for (int j = 0; j < S; ++j) {
      d[i * S + j] = 100.0f - m[i * S + j];
      row += i == j ? -100.0f : m[i * S + j];
    }
    sums[i] = row;
  }
  return farthest_point_sampling(dist, query_frame_num, argmax_first(sums.data(), S));
}

}  // namespace vg::tracks
