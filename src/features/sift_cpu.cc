// CPU reference SIFT backend: Gaussian scale space (separable blur, threads over rows), DoG, 3x3x3
// extrema with sub-pixel refinement, orientations and descriptors (threads over keypoints). The
// per-keypoint math is the shared sift_common.h, so the CUDA backend computes the same quantities.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "features/sift_internal.h"

namespace vg::sift {
namespace {

// Separable Gaussian blur with clamp-to-edge; the same tap order (k ascending) as the CUDA kernels.
void blur(const float* src, float* dst, int w, int h, const std::vector<float>& taps) {
  const int R = static_cast<int>(taps.size() / 2);
  std::vector<float> tmp(static_cast<size_t>(w) * h);
  parallel_for(h, [&](int64_t b, int64_t e) {
    std::vector<float> pad(w + 2 * R);
    for (int64_t y = b; y < e; ++y) {
      const float* row = src + y * w;
      for (int i = 0; i < w + 2 * R; ++i) pad[i] = row[std::clamp(i - R, 0, w - 1)];
      float* out = tmp.data() + y * w;
      std::fill(out, out + w, 0.0f);
      for (int k = 0; k <= 2 * R; ++k) {
        const float t = taps[k];
        const float* p = pad.data() + k;
        for (int x = 0; x < w; ++x) out[x] += t * p[x];
      }
    }
  }, 16);
  parallel_for(h, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      float* out = dst + y * w;
      std::fill(out, out + w, 0.0f);
      for (int k = 0; k <= 2 * R; ++k) {
        const float t = taps[k];
        const float* p = tmp.data() + static_cast<int64_t>(std::clamp<int64_t>(y + k - R, 0, h - 1)) * w;
        for (int x = 0; x < w; ++x) out[x] += t * p[x];
      }
    }
  }, 16);
}

// One octave's Gaussian levels s_min..S+1 and DoG levels s_min..S.
struct Octave {
  int w = 0, h = 0, o = 0;
  std::vector<float> gauss, dog;
  const float* level(int s) const { return gauss.data() + static_cast<size_t>(s - kSMin) * w * h; }
  float* level(int s) { return gauss.data() + static_cast<size_t>(s - kSMin) * w * h; }
};

void build_levels(Octave& oc, const Params& p) {
  const size_t plane = static_cast<size_t>(oc.w) * oc.h;
  for (int s = kSMin + 1; s <= p.S + 1; ++s) blur(oc.level(s - 1), oc.level(s), oc.w, oc.h, gaussian_taps(level_dsigma(p, s)));
  oc.dog.resize(plane * (p.S + 2));
  parallel_for(p.S + 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* lo = oc.gauss.data() + i * plane;
      const float* hi = lo + plane;
      float* d = oc.dog.data() + i * plane;
      for (size_t j = 0; j < plane; ++j) d[j] = hi[j] - lo[j];
    }
  }, 1);
}

std::vector<Extremum> detect(const Octave& oc, const Params& p) {
  const int w = oc.w, h = oc.h;
  const long plane = static_cast<long>(w) * h;
  const int rows = std::max(0, h - 2);
  std::vector<std::vector<Extremum>> found(static_cast<size_t>(p.S) * rows);
  parallel_for(static_cast<int64_t>(p.S) * rows, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int s = static_cast<int>(i / rows), y = static_cast<int>(i % rows) + 1;
      const float* row = oc.dog.data() + (s - kSMin) * plane + static_cast<long>(y) * w;
      for (int x = 1; x < w - 1; ++x) {
        Extremum ex;
        if (is_extremum(row + x, w, plane, 0.8f * p.peak_thresh) &&
            refine_extremum(oc.dog.data(), w, h, p.S, x, y, s, p.peak_thresh, p.edge_thresh, &ex)) {
          ex.octave = oc.o;
          found[i].push_back(ex);
        }
      }
    }
  }, 8);
  std::vector<Extremum> all;
  for (auto& v : found) all.insert(all.end(), v.begin(), v.end());
  return all;
}

int orientations(const Octave& oc, const Params& p, const Extremum& ex, float* angles) {
  if (p.upright) {
    angles[0] = 0;
    return 1;
  }
  const float sigma = level_sigma(p.sigma0, ex.s, p.S);
  OriWindow wd = ori_window(ex.x, ex.y, sigma);
  if (wd.xi < 0 || wd.xi > oc.w - 1 || wd.yi < 0 || wd.yi > oc.h - 1) return 0;
  double hist[kOriBins] = {};
  const float* img = oc.level(ex.is);
  for (int dy = -wd.W; dy <= wd.W; ++dy)
    for (int dx = -wd.W; dx <= wd.W; ++dx)
      ori_accumulate(img, oc.w, oc.h, wd, dx, dy, [&](int b, double v) { hist[b] += v; });
  return std::min(ori_peaks(hist, angles), p.max_orientations);
}

void describe(const Octave& oc, const Params& p, const Extremum& ex, float angle, float* desc) {
  const float sigma = level_sigma(p.sigma0, ex.s, p.S);
  DescWindow wd = desc_window(ex.x, ex.y, sigma, angle);
  std::fill(desc, desc + kDescDim, 0.0f);
  const float* img = oc.level(ex.is);
  for (int dy = -wd.W; dy <= wd.W; ++dy)
    for (int dx = -wd.W; dx <= wd.W; ++dx)
      desc_accumulate(img, oc.w, oc.h, wd, dx, dy, [&](int b, float v) { desc[b] += v; });
  desc_normalize(desc);
}

// Orientations and descriptors of one octave's extrema, appended to `out` in extremum order.
void describe_octave(const Octave& oc, const Params& p, const std::vector<Extremum>& ex, RawFeatures& out) {
  const size_t n = ex.size();
  std::vector<int> count(n);
  std::vector<float> angles(n * kMaxOrientations);
  parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) count[i] = orientations(oc, p, ex[i], &angles[i * kMaxOrientations]);
  }, 16);
  const size_t first = out.kps.size();
  std::vector<std::pair<size_t, float>> jobs;  // (extremum, angle)
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < count[i]; ++k) jobs.emplace_back(i, angles[i * kMaxOrientations + k]);
  out.kps.resize(first + jobs.size());
  out.desc.resize(out.kps.size() * kDescDim);
  const float scale = std::pow(2.0f, static_cast<float>(oc.o));
  parallel_for(static_cast<int64_t>(jobs.size()), [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      const Extremum& x = ex[jobs[j].first];
      const float sigma = level_sigma(p.sigma0, x.s, p.S);
      out.kps[first + j] = {x.x * scale, x.y * scale, sigma * scale, jobs[j].second, dog_level(oc.o, x.is),
                            out.num_extrema + static_cast<int>(jobs[j].first)};
      describe(oc, p, x, jobs[j].second, &out.desc[(first + j) * kDescDim]);
    }
  }, 8);
  out.num_extrema += static_cast<int>(n);
}

}  // namespace

RawFeatures extract_cpu(const std::vector<float>& grey, int w, int h, const Params& p) {
  RawFeatures out;
  const int n_oct = octave_count(p, w, h);
  Octave prev;
  for (int i = 0; i < n_oct; ++i) {
    Octave oc;
    oc.o = p.o_min + i;
    octave_size(w, h, oc.o, &oc.w, &oc.h);
    const size_t plane = static_cast<size_t>(oc.w) * oc.h;
    oc.gauss.resize(plane * (p.S + 3));
    if (i == 0) {
      std::vector<float> base(plane);
      if (oc.o == -1) {
        upsample2(grey.data(), w, h, base.data());
      } else {  // o_min >= 0: subsample by 2^o
        const int f = 1 << oc.o;
        for (int y = 0; y < oc.h; ++y)
          for (int x = 0; x < oc.w; ++x) base[static_cast<size_t>(y) * oc.w + x] = grey[static_cast<size_t>(y) * f * w + x * f];
      }
      const float sd = base_dsigma(p);
      if (sd > 0) blur(base.data(), oc.level(kSMin), oc.w, oc.h, gaussian_taps(sd));
      else std::copy(base.begin(), base.end(), oc.level(kSMin));
    } else {  // level s_min + S of the previous octave has twice the blur of s_min: subsample it
      const float* src = prev.level(kSMin + p.S);
      float* dst = oc.level(kSMin);
      for (int y = 0; y < oc.h; ++y)
        for (int x = 0; x < oc.w; ++x) dst[static_cast<size_t>(y) * oc.w + x] = src[static_cast<size_t>(2 * y) * prev.w + 2 * x];
    }
    build_levels(oc, p);
    describe_octave(oc, p, detect(oc, p), out);
    prev = std::move(oc);
  }
  return out;
}

}  // namespace vg::sift
