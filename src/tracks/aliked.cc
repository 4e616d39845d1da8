#include "tracks/aliked.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "metrics/conv2d.h"
#include "tracks/deform_conv.h"
#include "tracks/nn_ops.h"
#include "vggt/cpu_ops.h"

namespace vg::tracks {

namespace {

// aliked-n16 of LightGlue's ALIKED.cfgs: c1, c2, c3, c4, dim (K, M belong to the skipped descriptor head).
constexpr int64_t kC1 = 16, kC2 = 32, kC3 = 64, kC4 = 128, kDim = 128;
constexpr int64_t kDivBy = 32;         // InputPadder(div_by = 2**5)
constexpr int kNLimitMax = 20000;      // ALIKED.n_limit_max
constexpr float kTemperature = 0.1f;   // DKD's soft-argmax temperature

// ---------------------------------------------------------------- weights

void add_batch_norm(ParamList& p, const std::string& pre, int64_t c) {
  add_norm_params(p, pre, c);
  p.push_back({pre + ".running_mean", {c}});
  p.push_back({pre + ".running_var", {c}});
}

// get_conv(3x3, bias=False): a plain conv, or DeformableConv2d (mask=False: 2*9 offset channels).
void add_block_conv(ParamList& p, const std::string& pre, int64_t out, int64_t in, bool dcn) {
  if (!dcn) return add_conv_params(p, pre, out, in, 3, false);
  add_conv_params(p, pre + ".offset_conv", 2 * 9, in, 3, true);
  add_conv_params(p, pre + ".regular_conv", out, in, 3, false);
}

void add_block(ParamList& p, const std::string& pre, int64_t out, int64_t in, bool dcn, bool residual) {
  add_block_conv(p, pre + ".conv1", out, in, dcn);
  add_batch_norm(p, pre + ".bn1", out);
  add_block_conv(p, pre + ".conv2", out, out, dcn);
  add_batch_norm(p, pre + ".bn2", out);
  if (residual) add_conv_params(p, pre + ".downsample", out, in, 1, true);
}

// ---------------------------------------------------------------- layers on [C,H,W]

Tensor conv(const StateDict& w, const std::string& name, const Tensor& x, int pad) {
  const std::string bias = name + ".bias";
  return nn::conv2d(x, w.at(name + ".weight"), w.has(bias) ? w.at(bias) : Tensor(), 1, pad);
}

void batch_norm(const StateDict& w, const std::string& pre, Tensor& x) {
  ops::batch_norm_(x, w.at(pre + ".weight"), w.at(pre + ".bias"), w.at(pre + ".running_mean"),
                   w.at(pre + ".running_var"));
}

void clamp_(Tensor& x, float lo, float hi) {
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = std::min(std::max(p[i], lo), hi);
}

// DeformableConv2d (aliked.py, mask=False): offsets from a 3x3 conv, clamped to +-max(h, w) / 4, then
// torchvision's deform_conv2d with the regular conv's weight, padding 1.
Tensor deformable_conv2d(const StateDict& w, const std::string& pre, const Tensor& x) {
  Tensor offset = conv(w, pre + ".offset_conv", x, 1);
  const float max_offset = static_cast<float>(std::max(x.size(1), x.size(2))) / 4.0f;
  clamp_(offset, -max_offset, max_offset);
  return ops::deform_conv2d(x, offset, w.at(pre + ".regular_conv.weight"), Tensor(), Tensor(), {1, 1, 1});
}

Tensor block_conv(const StateDict& w, const std::string& pre, const Tensor& x, bool dcn) {
  return dcn ? deformable_conv2d(w, pre, x) : conv(w, pre, x, 1);
}

// ConvBlock: selu(bn1(conv1 x)), then selu(bn2(conv2 .)).
Tensor conv_block(const StateDict& w, const std::string& pre, const Tensor& x) {
  Tensor y = conv(w, pre + ".conv1", x, 1);
  batch_norm(w, pre + ".bn1", y);
  vggt::ops::selu_(y);
  y = conv(w, pre + ".conv2", y, 1);
  batch_norm(w, pre + ".bn2", y);
  vggt::ops::selu_(y);
  return y;
}

// ResBlock (torchvision's BasicBlock with SELU gates and a biased 1x1 conv as the downsample branch).
Tensor res_block(const StateDict& w, const std::string& pre, const Tensor& x, bool dcn) {
  Tensor y = block_conv(w, pre + ".conv1", x, dcn);
  batch_norm(w, pre + ".bn1", y);
  vggt::ops::selu_(y);
  y = block_conv(w, pre + ".conv2", y, dcn);
  batch_norm(w, pre + ".bn2", y);
  vggt::ops::add_(y, conv(w, pre + ".downsample", x, 0));
  vggt::ops::selu_(y);
  return y;
}

// nn.AvgPool2d(k, stride k) without padding (floor mode).
Tensor avg_pool2d(const Tensor& x, int64_t k) {
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2), Ho = H / k, Wo = W / k;
  Tensor out = Tensor::empty({C, Ho, Wo});
  const float* xs = x.data<float>();
  float* os = out.data<float>();
  const float count = static_cast<float>(k * k);
  parallel_for(C * Ho, [&](int64_t b, int64_t e) {
    for (int64_t cy = b; cy < e; ++cy) {
      const float* rows = xs + (cy / Ho * H + cy % Ho * k) * W;
      for (int64_t ox = 0; ox < Wo; ++ox) {
        float s = 0;
        for (int64_t dy = 0; dy < k; ++dy)
          for (int64_t dx = 0; dx < k; ++dx) s += rows[dy * W + ox * k + dx];
        os[cy * Wo + ox] = s / count;
      }
    }
  }, 16);
  return out;
}

// InputPadder: replicate-pad H and W up to multiples of kDivBy, split as (pad / 2, pad - pad / 2).
struct Padding2d {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
};

Padding2d input_padding(int64_t H, int64_t W) {
  const int64_t ph = ((H / kDivBy + 1) * kDivBy - H) % kDivBy, pw = ((W / kDivBy + 1) * kDivBy - W) % kDivBy;
  return {ph / 2, ph - ph / 2, pw / 2, pw - pw / 2};
}

Tensor pad_replicate(const Tensor& x, const Padding2d& p) {
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  const int64_t Ho = H + p.top + p.bottom, Wo = W + p.left + p.right;
  Tensor out = Tensor::empty({C, Ho, Wo});
  const float* xs = x.data<float>();
  float* os = out.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = 0; y < Ho; ++y) {
      const float* src = xs + (c * H + std::clamp<int64_t>(y - p.top, 0, H - 1)) * W;
      for (int64_t xx = 0; xx < Wo; ++xx) os[(c * Ho + y) * Wo + xx] = src[std::clamp<int64_t>(xx - p.left, 0, W - 1)];
    }
  return out;
}

Tensor crop(const Tensor& x, const Padding2d& p) {
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  const int64_t Ho = H - p.top - p.bottom, Wo = W - p.left - p.right;
  Tensor out = Tensor::empty({C, Ho, Wo});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = 0; y < Ho; ++y)
      std::memcpy(out.data<float>() + (c * Ho + y) * Wo, x.data<float>() + (c * H + y + p.top) * W + p.left,
                  static_cast<size_t>(Wo) * sizeof(float));
  return out;
}

// ---------------------------------------------------------------- DKD (aliked.py)

// simple_nms: local maxima of a (2r+1)^2 window, then two rounds re-admitting maxima outside the suppressed area.
std::vector<float> simple_nms(const Tensor& scores, int r) {
  const int64_t n = scores.numel();
  const float* s = scores.data<float>();
  auto pool = [&](const std::vector<float>& v) {
    Tensor t = Tensor::from_vector(v, scores.shape());
    return nn::max_pool2d(t, 2 * r + 1, 1, r).to_vector<float>();
  };
  std::vector<float> sv(s, s + n), zeros_where(n);
  std::vector<float> pooled = pool(sv);
  std::vector<char> max_mask(n);
  for (int64_t i = 0; i < n; ++i) max_mask[i] = s[i] == pooled[i];
  for (int round = 0; round < 2; ++round) {
    std::vector<float> mask_f(n);
    for (int64_t i = 0; i < n; ++i) mask_f[i] = max_mask[i] ? 1.0f : 0.0f;
    const std::vector<float> supp = pool(mask_f);
    std::vector<float> supp_scores(n);
    for (int64_t i = 0; i < n; ++i) supp_scores[i] = supp[i] > 0 ? 0.0f : s[i];
    const std::vector<float> supp_pooled = pool(supp_scores);
    for (int64_t i = 0; i < n; ++i)
      if (supp_scores[i] == supp_pooled[i] && !(supp[i] > 0)) max_mask[i] = 1;
  }
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = max_mask[i] ? s[i] : 0.0f;
  return out;
}

float mean_of(const float* s, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += s[i];
  return static_cast<float>(sum / static_cast<double>(n));
}

// Indices (raster order) of the kept maxima as DKD.forward selects them with LightGlue's configuration:
// top_k = -1 if detection_threshold > 0 else max_keypoints; n_limit = max_keypoints or ALIKED.n_limit_max.
std::vector<int64_t> select_indices(const std::vector<float>& nms, const float* s, const AlikedOptions& o) {
  const int64_t n = static_cast<int64_t>(nms.size());
  std::vector<int64_t> idx;
  const int top_k = o.detection_threshold > 0 ? -1 : o.max_keypoints;
  if (top_k > 0) {  // torch.topk: the k largest, best first
    VG_CHECK(top_k <= n, "ALIKED: max_keypoints ", top_k, " exceeds the ", n, " pixels of the score map (top-k mode)");
    idx.resize(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), int64_t{0});
    std::partial_sort(idx.begin(), idx.begin() + top_k, idx.end(),
                      [&](int64_t a, int64_t b) { return nms[a] > nms[b] || (nms[a] == nms[b] && a < b); });
    idx.resize(static_cast<size_t>(top_k));
    return idx;
  }
  float th = o.detection_threshold > 0 ? o.detection_threshold : mean_of(s, n);
  auto collect = [&] {
    idx.clear();
    for (int64_t i = 0; i < n; ++i)
      if (nms[i] > th) idx.push_back(i);
  };
  collect();
  if (idx.empty() && o.detection_threshold > 0) {  // nothing above the threshold: the score map's mean
    th = mean_of(s, n);
    collect();
  }
  const size_t n_limit = static_cast<size_t>(o.max_keypoints > 0 ? o.max_keypoints : kNLimitMax);
  if (idx.size() > n_limit) {  // the n_limit best by score
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
    idx.resize(n_limit);
  }
  return idx;
}

// Soft-argmax offset (x, y) in the (2r+1)^2 window around pixel i of the score map (zeros outside, as
// nn.Unfold's padding): sum softmax((s - max) / T) * (dx, dy).
void soft_offset(const float* s, int64_t H, int64_t W, int64_t i, int r, float& ox, float& oy) {
  const int64_t y = i / W, x = i % W, k = 2 * r + 1;
  std::vector<float> patch(static_cast<size_t>(k * k));
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) {
      const int64_t yy = y - r + a, xx = x - r + b;
      patch[a * k + b] = yy >= 0 && yy < H && xx >= 0 && xx < W ? s[yy * W + xx] : 0.0f;
    }
  const float max_v = *std::max_element(patch.begin(), patch.end());
  float sum = 0, sx = 0, sy = 0;
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) {
      const float e = std::exp((patch[a * k + b] - max_v) / kTemperature);
      sum += e;
      sx += e * static_cast<float>(b - r);
      sy += e * static_cast<float>(a - r);
    }
  ox = sx / sum;
  oy = sy / sum;
}


}  // namespace

// Columns [c0, c0 + n) of a 1x1 conv weight [O, C, 1, 1].
Tensor aliked_weight_columns(const Tensor& w, int64_t c0, int64_t n) {
  const int64_t O = w.size(0), C = w.size(1);
  Tensor out = Tensor::empty({O, n, 1, 1});
  for (int64_t o = 0; o < O; ++o)
    std::memcpy(out.data<float>() + o * n, w.data<float>() + o * C + c0, static_cast<size_t>(n) * sizeof(float));
  return out;
}

ParamList aliked_params() {
  ParamList p;
  add_block(p, "block1", kC1, 3, false, false);
  add_block(p, "block2", kC2, kC1, false, true);
  add_block(p, "block3", kC3, kC2, true, true);
  add_block(p, "block4", kC4, kC3, true, true);
  add_conv_params(p, "conv1", kDim / 4, kC1, 1, false);
  add_conv_params(p, "conv2", kDim / 4, kC2, 1, false);
  add_conv_params(p, "conv3", kDim / 4, kC3, 1, false);
  add_conv_params(p, "conv4", kDim / 4, kDim, 1, false);
  add_conv_params(p, "score_head.0", 8, kDim, 1, false);
  add_conv_params(p, "score_head.2", 4, 8, 3, false);
  add_conv_params(p, "score_head.4", 4, 4, 3, false);
  add_conv_params(p, "score_head.6", 1, 4, 3, false);
  return p;
}

Aliked Aliked::load(const std::filesystem::path& file, const AlikedOptions& opt) {
  VG_CHECK(opt.nms_radius >= 1, "ALIKED: nms_radius must be >= 1, got ", opt.nms_radius);
  VG_CHECK(opt.resize >= 0, "ALIKED: resize must be >= 0 (0 = images used as they are), got ", opt.resize);
  StateDictCheck check{"ALIKED (aliked-n16)",
                       "the published aliked-n16.pth is "
                       "https://github.com/Shiaoming/ALIKED/raw/main/models/aliked-n16.pth",
                       {"desc_head."},  // SDDH descriptor head: not used for query keypoints
                       {"num_batches_tracked"}};
  return Aliked(load_state_dict(file, aliked_params(), check), opt);
}

Tensor Aliked::deformable_conv(const std::string& prefix, const Tensor& x) const {
  VG_CHECK(w_.has(prefix + ".offset_conv.weight"), "ALIKED: no deformable convolution '", prefix, "'");
  return deformable_conv2d(w_, prefix, x);
}

// extract_dense_map's score map. score_head.0 (a 1x1 conv on the concatenation [x1, up2(x2), up8(x3),
// up32(x4)]) is applied per part before the (linear, align_corners) upsampling, which it commutes with: the
// 128-channel full-resolution concatenation is never formed. The L2-normalised feature map (input of the
// skipped descriptor head) is not computed.
Tensor Aliked::score_map(const Tensor& image_in) const {
  check_aliked_image(image_in, opt_.nms_radius, "ALIKED", true);
  Tensor image = image_in;
  if (image.size(0) == 1) {  // grayscale_to_rgb
    image = Tensor::empty({3, image_in.size(1), image_in.size(2)});
    for (int c = 0; c < 3; ++c)
      std::memcpy(image.data<float>() + c * image_in.numel(), image_in.data<float>(), image_in.nbytes());
  }
  const Padding2d pad = input_padding(image.size(1), image.size(2));
  const Tensor x1 = conv_block(w_, "block1", pad_replicate(image, pad));
  const Tensor x2 = res_block(w_, "block2", avg_pool2d(x1, 2), false);
  const Tensor x3 = res_block(w_, "block3", avg_pool2d(x2, 4), true);
  const Tensor x4 = res_block(w_, "block4", avg_pool2d(x3, 4), true);
  const Tensor& head0 = w_.at("score_head.0.weight");
  const int64_t H = x1.size(1), W = x1.size(2), part = kDim / 4;
  const Tensor* xs[4] = {&x1, &x2, &x3, &x4};
  Tensor s;
  for (int k = 0; k < 4; ++k) {
    Tensor f = conv(w_, "conv" + std::to_string(k + 1), *xs[k], 0);
    vggt::ops::selu_(f);
    f = nn::conv2d(f, aliked_weight_columns(head0, k * part, part), Tensor(), 1, 0);
    if (k > 0) f = vggt::ops::interpolate_bilinear(f, H, W, true);
    if (k == 0)
      s = f;
    else
      vggt::ops::add_(s, f);
  }
  for (const char* name : {"score_head.2", "score_head.4", "score_head.6"}) {
    vggt::ops::selu_(s);
    s = conv(w_, name, s, 1);
  }
  vggt::ops::sigmoid_(s);
  return crop(s, pad);
}

Keypoints Aliked::detect(const Tensor& score_map) const {
  VG_CHECK(score_map.defined() && score_map.ndim() == 3 && score_map.size(0) == 1 &&
               score_map.dtype() == DType::F32 && !score_map.is_cuda(),
           "ALIKED: expected an F32 CPU score map [1,H,W]");
  const int r = opt_.nms_radius;
  const int64_t H = score_map.size(1), W = score_map.size(2);
  VG_CHECK(H > 2 * r && W > 2 * r, "ALIKED: score map ", W, "x", H, " has no pixel outside the border");
  std::vector<float> nms = simple_nms(score_map, r);
  for (int64_t y = 0; y < H; ++y)  // remove the border
    for (int64_t x = 0; x < W; ++x)
      if (y < r || y >= H - r || x < r || x >= W - r) nms[y * W + x] = 0;
  return detect_from_nms(score_map, nms, opt_);
}

Keypoints detect_from_nms(const Tensor& score_map, const std::vector<float>& nms, const AlikedOptions& opt) {
  VG_CHECK(score_map.defined() && score_map.ndim() == 3 && score_map.size(0) == 1 &&
               score_map.dtype() == DType::F32 && !score_map.is_cuda(),
           "ALIKED: expected an F32 CPU score map [1,H,W]");
  const int r = opt.nms_radius;
  const int64_t H = score_map.size(1), W = score_map.size(2);
  VG_CHECK(static_cast<int64_t>(nms.size()) == H * W, "ALIKED: NMS map of ", nms.size(), " pixels for a ", W, "x", H,
           " score map");
  const float* s = score_map.data<float>();
  const std::vector<int64_t> idx = select_indices(nms, s, opt);
  const int64_t N = static_cast<int64_t>(idx.size());
  const float wm1 = static_cast<float>(W - 1), hm1 = static_cast<float>(H - 1);
  Tensor grid = Tensor::empty({N, 2});
  float* g = grid.data<float>();
  for (int64_t k = 0; k < N; ++k) {  // sub-pixel keypoint, normalised to [-1, 1] as DKD returns it
    float ox, oy;
    soft_offset(s, H, W, idx[k], r, ox, oy);
    g[2 * k] = (static_cast<float>(idx[k] % W) + ox) / wm1 * 2.0f - 1.0f;
    g[2 * k + 1] = (static_cast<float>(idx[k] / W) + oy) / hm1 * 2.0f - 1.0f;
  }
  Keypoints kp;
  kp.scores = ops::grid_sample_points(score_map, grid, true, ops::Padding::kZeros).reshape({N});
  kp.xy = Tensor::empty({N, 2});
  float* xy = kp.xy.data<float>();
  for (int64_t k = 0; k < N; ++k) {  // forward: wh * (k + 1) / 2; extract: (k + 0.5) / scale - 0.5 (scale 1)
    xy[2 * k] = (wm1 * (g[2 * k] + 1.0f) / 2.0f + 0.5f) / 1.0f - 0.5f;
    xy[2 * k + 1] = (hm1 * (g[2 * k + 1] + 1.0f) / 2.0f + 0.5f) / 1.0f - 0.5f;
  }
  return kp;
}

void check_aliked_image(const Tensor& image, int r, const char* who, bool cpu_only) {
  VG_CHECK(image.defined() && image.ndim() == 3 && image.dtype() == DType::F32 && !(cpu_only && image.is_cuda()) &&
               (image.size(0) == 3 || image.size(0) == 1),
           who, ": expected an F32 ", cpu_only ? "CPU " : "", "image [3,H,W] (or [1,H,W]) in [0,1], got ",
           image.defined() ? shape_str(image.shape()) : "undefined");
  VG_CHECK(image.size(1) > 2 * r && image.size(2) > 2 * r, who, ": image ", image.size(2), "x", image.size(1),
           " is too small: no pixel lies more than nms_radius ", r, " px inside the border");
}

void check_aliked_extract_size(const Tensor& image, const AlikedOptions& opt, const char* who) {
  const int64_t long_side = std::max(image.size(1), image.size(2));
  VG_CHECK(opt.resize == 0 || long_side == opt.resize, who, ": LightGlue's extract() resizes images to ", opt.resize,
           " px on the long side first; this image is ", image.size(2), "x", image.size(1),
           " (resize it before, or set AlikedOptions::resize = 0 to use it as it is)");
}

Keypoints Aliked::extract(const Tensor& image) const {
  check_aliked_image(image, opt_.nms_radius, "ALIKED", true);
  check_aliked_extract_size(image, opt_, "ALIKED");
  return detect(score_map(image));
}

}  // namespace vg::tracks
