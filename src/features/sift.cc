// SIFT front end (COLMAP's SiftCPUFeatureExtractor semantics): luminance grey image quantised to 8 bit,
// downscale to max_image_size, backend extraction, +0.5 pixel convention, keypoint rescaling, L1-root
// normalisation, uint8 quantisation (x512, clamp 255), sort by scale and truncation to max_num_features.
#include "features/sift.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "core/error.h"
#include "features/sift_internal.h"

namespace vg {
namespace sift {

float level_dsigma(const Params& p, int s) {
  const float k = std::pow(2.0f, 1.0f / p.S);
  return p.sigma0 * std::pow(k, static_cast<float>(s)) * std::sqrt(1.0f - 1.0f / (k * k));
}

float base_dsigma(const Params& p) {
  const float sa = p.sigma0 * std::pow(2.0f, static_cast<float>(kSMin) / p.S);
  const float sb = p.sigman * std::pow(2.0f, static_cast<float>(-p.o_min));
  return sa > sb ? std::sqrt(sa * sa - sb * sb) : 0.0f;
}

std::vector<float> gaussian_taps(float sigma) {
  const int R = std::max(1, static_cast<int>(std::ceil(4.0f * sigma)));
  std::vector<float> t(2 * R + 1);
  double sum = 0;
  for (int i = -R; i <= R; ++i) sum += t[i + R] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& v : t) v = static_cast<float>(v / sum);
  return t;
}

int octave_count(const Params& p, int w, int h) {
  int n = 0;
  for (int o = p.o_min; o < p.o_min + p.num_octaves; ++o) {
    int wo, ho;
    octave_size(w, h, o, &wo, &ho);
    if (wo < 8 || ho < 8) break;
    ++n;
  }
  return n;
}

void upsample2(const float* src, int w, int h, float* dst) {
  const int W = 2 * w;
  for (int y = 0; y < 2 * h; ++y) {
    int y0 = y / 2, y1 = std::min(y0 + 1, h - 1);
    float fy = (y & 1) ? 0.5f : 0.0f;
    for (int x = 0; x < W; ++x) {
      int x0 = x / 2, x1 = std::min(x0 + 1, w - 1);
      float fx = (x & 1) ? 0.5f : 0.0f;
      float a = src[y0 * w + x0] + fx * (src[y0 * w + x1] - src[y0 * w + x0]);
      float b = src[y1 * w + x0] + fx * (src[y1 * w + x1] - src[y1 * w + x0]);
      dst[static_cast<size_t>(y) * W + x] = a + fy * (b - a);
    }
  }
}

}  // namespace sift

namespace {

// Rec. 709 luminance (FreeImage's greyscale conversion, used by COLMAP), quantised to 8 bit as COLMAP's bitmap.
std::vector<float> to_grey(const Image& img) {
  std::vector<float> g(static_cast<size_t>(img.width) * img.height);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      float v = img.channels >= 3 ? 0.2126f * img.at(y, x, 0) + 0.7152f * img.at(y, x, 1) + 0.0722f * img.at(y, x, 2)
                                  : img.at(y, x, 0);
      g[static_cast<size_t>(y) * img.width + x] = std::round(std::clamp(v, 0.0f, 1.0f) * 255.0f) / 255.0f;
    }
  return g;
}

// One separable pass of a triangle (bilinear) filter widened by the downscale factor (antialiased resize).
std::vector<float> resize_axis(const std::vector<float>& src, int w, int h, int new_len, bool along_x) {
  const int len = along_x ? w : h, other = along_x ? h : w;
  const double scale = static_cast<double>(len) / new_len, support = std::max(1.0, scale);
  std::vector<float> out(static_cast<size_t>(new_len) * other);
  for (int i = 0; i < new_len; ++i) {
    double centre = (i + 0.5) * scale;
    int lo = std::max(0, static_cast<int>(std::floor(centre - support))),
        hi = std::min(len - 1, static_cast<int>(std::ceil(centre + support)));
    std::vector<double> wts;
    double sum = 0;
    for (int j = lo; j <= hi; ++j) {
      double wgt = std::max(0.0, 1.0 - std::abs((j + 0.5 - centre) / support));
      wts.push_back(wgt);
      sum += wgt;
    }
    for (int k = 0; k < other; ++k) {
      double acc = 0;
      for (int j = lo; j <= hi; ++j) {
        size_t idx = along_x ? static_cast<size_t>(k) * w + j : static_cast<size_t>(j) * w + k;
        acc += wts[j - lo] * src[idx];
      }
      size_t o = along_x ? static_cast<size_t>(k) * new_len + i : static_cast<size_t>(i) * w + k;
      out[o] = static_cast<float>(acc / sum);
    }
  }
  return out;
}

sift::Params make_params(const SiftOptions& opt) {
  VG_CHECK(opt.octave_resolution >= 1, "SIFT: octave_resolution must be >= 1, got ", opt.octave_resolution);
  VG_CHECK(opt.num_octaves >= 1, "SIFT: num_octaves must be >= 1, got ", opt.num_octaves);
  VG_CHECK(opt.first_octave >= -1, "SIFT: first_octave must be >= -1, got ", opt.first_octave);
  VG_CHECK(opt.max_num_features > 0, "SIFT: max_num_features must be > 0");
  VG_CHECK(opt.max_num_orientations >= 1, "SIFT: max_num_orientations must be >= 1");
  VG_CHECK(opt.edge_threshold > 0 && opt.peak_threshold >= 0, "SIFT: thresholds must be positive");
  sift::Params p;
  p.S = opt.octave_resolution;
  p.o_min = opt.first_octave;
  p.num_octaves = opt.num_octaves;
  p.sigma0 = 1.6f * std::pow(2.0f, 1.0f / p.S);
  p.peak_thresh = static_cast<float>(opt.peak_threshold);
  p.edge_thresh = static_cast<float>(opt.edge_threshold);
  p.max_orientations = std::min(opt.max_num_orientations, sift::kMaxOrientations);
  p.upright = opt.upright;
  return p;
}

// COLMAP's max_num_features: whole DoG levels are kept from the coarsest down, up to and including the level
// where the number of keypoints (extrema, counted without their extra orientations) first exceeds the limit.
std::vector<size_t> keep_coarsest_levels(const sift::RawFeatures& raw, std::vector<size_t> order, int max_features) {
  std::map<int, std::set<int>, std::greater<int>> extrema_of_level;
  for (const sift::RawFeature& k : raw.kps) extrema_of_level[k.level].insert(k.extremum);
  int first_level = std::numeric_limits<int>::min();
  size_t count = 0;
  for (const auto& [level, ex] : extrema_of_level) {
    count += ex.size();
    if (count > static_cast<size_t>(max_features)) {
      first_level = level;
      break;
    }
  }
  std::erase_if(order, [&](size_t i) { return raw.kps[i].level < first_level; });
  return order;
}

}  // namespace

FeatureSet extract_sift(const Image& img, const SiftOptions& opt, const Device& device) {
  VG_CHECK(img.width > 0 && img.height > 0 && img.channels >= 1 && img.channels <= 4,
           "SIFT: empty or invalid image (", img.width, "x", img.height, "x", img.channels, ")");
  VG_CHECK(img.pixels.size() == static_cast<size_t>(img.width) * img.height * img.channels,
           "SIFT: image pixel buffer does not match its size");
  VG_CHECK(opt.max_image_size > 0, "SIFT: max_image_size must be > 0");
  sift::Params p = make_params(opt);
  std::vector<float> grey = to_grey(img);
  int w = img.width, h = img.height;
  if (std::max(w, h) > opt.max_image_size) {
    double s = static_cast<double>(opt.max_image_size) / std::max(w, h);
    int nw = std::max(1, static_cast<int>(std::lround(w * s))), nh = std::max(1, static_cast<int>(std::lround(h * s)));
    grey = resize_axis(grey, w, h, nw, true), w = nw;
    grey = resize_axis(grey, w, h, nh, false), h = nh;
  }
  sift::RawFeatures raw = device.is_cuda() ? sift::extract_cuda(grey, w, h, p, device.index)
                                           : sift::extract_cpu(grey, w, h, p);
  const float sx = static_cast<float>(img.width) / w, sy = static_cast<float>(img.height) / h;
  const size_t n = raw.kps.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](size_t i) {
    const auto& k = raw.kps[i];
    return std::make_tuple(-k.sigma, k.y, k.x, k.angle);
  };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  order = keep_coarsest_levels(raw, std::move(order), opt.max_num_features);

  FeatureSet out;
  out.keypoints.resize(order.size());
  out.descriptors.resize(static_cast<Eigen::Index>(order.size()), 128);
  for (size_t r = 0; r < order.size(); ++r) {
    const sift::RawFeature& k = raw.kps[order[r]];
    out.keypoints[r] = {(k.x + 0.5f) * sx, (k.y + 0.5f) * sy, k.sigma * 0.5f * (sx + sy), k.angle};
    const float* d = raw.desc.data() + order[r] * sift::kDescDim;
    float v[sift::kDescDim];
    float l1 = 0;  // in float, as COLMAP's L1RootNormalizeFeatureDescriptors
    for (int j = 0; j < sift::kDescDim; ++j) l1 += std::abs(d[j]);
    for (int j = 0; j < sift::kDescDim; ++j)  // RootSIFT: sqrt of the L1-normalised histogram has unit L2 norm
      v[j] = opt.root_sift ? std::sqrt(std::abs(d[j]) / std::max(l1, 1e-30f)) : d[j];
    for (int j = 0; j < sift::kDescDim; ++j)
      out.descriptors(static_cast<Eigen::Index>(r), j) =
          static_cast<uint8_t>(std::min(255.0f, std::round(512.0f * v[j])));
  }
  return out;
}

}  // namespace vg
