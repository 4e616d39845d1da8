#include "tracks/superpoint.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "io/state_dict.h"
#include "metrics/conv2d.h"

namespace vg::tracks {

namespace {

constexpr const char* kConvNames[10] = {"conv1a", "conv1b", "conv2a", "conv2b", "conv3a",
                                        "conv3b", "conv4a", "conv4b", "convPa", "convPb"};
constexpr int kCell = 8;       // the encoder's total stride: one 65-way softmax per 8x8 cell
constexpr int kBins = 65;      // 64 positions of the cell + the "no interest point" dustbin

ParamList expected_params(const SuperPointWidths& c) {
  const int64_t io[10][2] = {{c[0], 1},    {c[0], c[0]}, {c[1], c[0]}, {c[1], c[1]}, {c[2], c[1]},
                             {c[2], c[2]}, {c[3], c[2]}, {c[3], c[3]}, {c[4], c[3]}, {kBins, c[4]}};
  ParamList p;
  for (int i = 0; i < 10; ++i) add_conv_params(p, kConvNames[i], io[i][0], io[i][1], i == 9 ? 1 : 3);
  return p;
}

// kornia.color.rgb_to_grayscale: ITU-R BT.601 weights, (w_r r + w_g g) + w_b b in fp32.
Tensor grayscale(const Tensor& image) {
  if (image.size(0) == 1) return image.clone();
  const int64_t n = image.size(1) * image.size(2);
  Tensor gray = Tensor::empty({1, image.size(1), image.size(2)});
  const float* rgb = image.data<float>();
  float* g = gray.data<float>();
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float r = 0.299f * rgb[i], gr = 0.587f * rgb[n + i], bl = 0.114f * rgb[2 * n + i];
      g[i] = (r + gr) + bl;
    }
  });
  return gray;
}

// Softmax over the 65 bins of each cell, dustbin dropped, bins laid out as the cell's 8x8 pixels (bin
// i * 8 + j -> pixel row i, column j): logits [65,h,w] -> [8h, 8w].
Tensor cell_softmax_to_pixels(const Tensor& logits) {
  const int64_t h = logits.size(1), w = logits.size(2), hw = h * w;
  Tensor out = Tensor::empty({h * kCell, w * kCell});
  const float* l = logits.data<float>();
  float* o = out.data<float>();
  parallel_for(
      hw,
      [&](int64_t b, int64_t e) {
        float p[kBins];
        for (int64_t q = b; q < e; ++q) {
          float m = -std::numeric_limits<float>::infinity();
          for (int c = 0; c < kBins; ++c) m = std::max(m, l[c * hw + q]);
          float sum = 0.0f;
          for (int c = 0; c < kBins; ++c) sum += p[c] = std::exp(l[c * hw + q] - m);
          const int64_t y = q / w, x = q % w;
          for (int c = 0; c < kCell * kCell; ++c)
            o[(y * kCell + c / kCell) * (w * kCell) + x * kCell + c % kCell] = p[c] / sum;
        }
      },
      256);
  return out;
}

// F.max_pool2d(kernel 2r+1, stride 1, padding r) of a map [H,W] (padding = -inf), separably: rows then columns.
std::vector<float> window_max(const std::vector<float>& s, int64_t H, int64_t W, int r) {
  std::vector<float> rows(s.size()), out(s.size());
  parallel_for(H, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y)
      for (int64_t x = 0; x < W; ++x) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t u = std::max<int64_t>(0, x - r); u <= std::min<int64_t>(W - 1, x + r); ++u)
          m = std::max(m, s[y * W + u]);
        rows[y * W + x] = m;
      }
  }, 16);
  parallel_for(H, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y)
      for (int64_t x = 0; x < W; ++x) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t v = std::max<int64_t>(0, y - r); v <= std::min<int64_t>(H - 1, y + r); ++v)
          m = std::max(m, rows[v * W + x]);
        out[y * W + x] = m;
      }
  }, 16);
  return out;
}

}  // namespace

SuperPoint SuperPoint::load(const std::filesystem::path& file, const SuperPointOptions& opt) {
  return load(file, opt, kSuperPointWidths);
}

SuperPoint SuperPoint::load(const std::filesystem::path& file, const SuperPointOptions& opt,
                            const SuperPointWidths& widths) {
  VG_CHECK(opt.max_keypoints >= 0, "SuperPoint: max_keypoints must be >= 0 (0 keeps all), got ", opt.max_keypoints);
  VG_CHECK(opt.nms_radius >= 0 && opt.remove_borders >= 0, "SuperPoint: nms_radius and remove_borders must be >= 0");
  StateDictCheck check;
  check.what = "SuperPoint";
  check.help = std::string("the published weights are LightGlue's ") + kSuperPointFile +
               " (github.com/cvg/LightGlue/releases/download/v0.1_arxiv/superpoint_v1.pth)";
  check.ignored_prefixes = {"convDa.", "convDb."};  // the descriptor head: unused by the tracker
  StateDict sd = load_state_dict(file, expected_params(widths), check);
  SuperPoint sp;
  sp.opt_ = opt;
  for (int i = 0; i < 10; ++i) {
    const std::string name = kConvNames[i];
    sp.conv_[i] = {sd.at(name + ".weight"), sd.at(name + ".bias")};
  }
  return sp;
}

Tensor SuperPoint::dense_scores(const Tensor& image) const {
  check_superpoint_image(image, opt_, "SuperPoint", true);
  auto conv_relu = [&](const Tensor& x, int i) {
    Tensor y = nn::conv2d(x, conv_[i].w, conv_[i].b, 1, 1);
    nn::relu_(y);
    return y;
  };
  Tensor x = grayscale(image);
  for (int stage = 0; stage < 4; ++stage) {  // VGG encoder: (conv 3x3 + ReLU) x 2, 2x2 max pool after 1..3
    if (stage > 0) x = nn::max_pool2d(x, 2, 2, 0);
    x = conv_relu(x, 2 * stage);
    x = conv_relu(x, 2 * stage + 1);
  }
  const Tensor logits = nn::conv2d(conv_relu(x, 8), conv_[9].w, conv_[9].b, 1, 0);
  return cell_softmax_to_pixels(logits);
}

Keypoints SuperPoint::extract(const Tensor& image) const {
  // extract(): keypoints (kp + 0.5) / scale - 0.5 with scale 1 (the identity resize) are the integer pixels.
  return select_keypoints(simple_nms(dense_scores(image), opt_.nms_radius), opt_);
}

Tensor simple_nms(const Tensor& scores, int radius) {
  VG_CHECK(scores.defined() && scores.ndim() == 2 && scores.dtype() == DType::F32 && !scores.is_cuda(),
           "simple_nms: expected an F32 CPU map [H,W]");
  VG_CHECK(radius >= 0, "simple_nms: negative radius ", radius);
  const int64_t H = scores.size(0), W = scores.size(1), n = H * W;
  const std::vector<float> s = scores.to_vector<float>();
  std::vector<float> pooled = window_max(s, H, W, radius);
  std::vector<uint8_t> keep(n);
  for (int64_t i = 0; i < n; ++i) keep[i] = s[i] == pooled[i];
  for (int iter = 0; iter < 2; ++iter) {
    std::vector<float> mask(n);
    for (int64_t i = 0; i < n; ++i) mask[i] = keep[i] ? 1.0f : 0.0f;
    const std::vector<float> suppressed_area = window_max(mask, H, W, radius);  // > 0: near a survivor
    std::vector<float> supp(n);
    for (int64_t i = 0; i < n; ++i) supp[i] = suppressed_area[i] > 0 ? 0.0f : s[i];
    pooled = window_max(supp, H, W, radius);
    for (int64_t i = 0; i < n; ++i) keep[i] |= supp[i] == pooled[i] && !(suppressed_area[i] > 0);
  }
  Tensor out = Tensor::empty({H, W});
  float* o = out.data<float>();
  for (int64_t i = 0; i < n; ++i) o[i] = keep[i] ? s[i] : 0.0f;
  return out;
}

Keypoints select_keypoints(const Tensor& nms_scores, const SuperPointOptions& opt) {
  VG_CHECK(nms_scores.defined() && nms_scores.ndim() == 2 && nms_scores.dtype() == DType::F32,
           "select_keypoints: expected an F32 map [H,W]");
  const int64_t H = nms_scores.size(0), W = nms_scores.size(1), pad = opt.remove_borders;
  const std::vector<float> s = nms_scores.to_vector<float>();
  std::vector<int64_t> cand;  // raster order, as torch.where
  std::vector<float> cand_scores;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const bool border = pad > 0 && (y < pad || y >= H - pad || x < pad || x >= W - pad);  // scores := -1
      if (!border && s[y * W + x] > opt.detection_threshold) {
        cand.push_back(y * W + x);
        cand_scores.push_back(s[y * W + x]);
      }
    }
  return rank_keypoints(cand, cand_scores, W, opt.max_keypoints);
}

Keypoints rank_keypoints(const std::vector<int64_t>& raster_idx, const std::vector<float>& scores, int64_t W,
                         int max_keypoints) {
  VG_CHECK(raster_idx.size() == scores.size(), "rank_keypoints: ", raster_idx.size(), " indices for ", scores.size(),
           " scores");
  std::vector<size_t> order(raster_idx.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // top_k_keypoints: the k best when more pass (torch.topk; ties at the cut are unordered there).
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  if (max_keypoints > 0 && static_cast<int64_t>(order.size()) > max_keypoints) order.resize(max_keypoints);
  const int64_t n = static_cast<int64_t>(order.size());
  Keypoints kp{Tensor::empty({n, 2}), Tensor::empty({n})};
  float* xy = kp.xy.data<float>();
  float* sc = kp.scores.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    xy[2 * i] = static_cast<float>(raster_idx[order[i]] % W);
    xy[2 * i + 1] = static_cast<float>(raster_idx[order[i]] / W);
    sc[i] = scores[order[i]];
  }
  return kp;
}

void check_superpoint_image(const Tensor& image, const SuperPointOptions& opt, const char* who, bool cpu_only) {
  VG_CHECK(image.defined() && image.ndim() == 3 && (image.size(0) == 3 || image.size(0) == 1) &&
               image.dtype() == DType::F32 && !(cpu_only && image.is_cuda()),
           who, ": expected an F32 ", cpu_only ? "CPU " : "", "image [3,H,W] or [1,H,W], got ",
           image.defined() ? shape_str(image.shape()) : "undefined");
  const int64_t h = image.size(1), w = image.size(2);
  VG_CHECK(h >= 8 && w >= 8, who, ": image ", h, "x", w, " is smaller than one 8x8 cell");
  VG_CHECK(opt.resize <= 0 || std::max(h, w) == opt.resize, who, ": image ", h, "x", w,
           " does not have a long side of ", opt.resize,
           " px; LightGlue's resize to it is not implemented (resize the image first, or set resize = 0)");
}

}  // namespace vg::tracks
