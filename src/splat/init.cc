#include "splat/init.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"

namespace vg {

namespace {

constexpr double kSH_C0 = 0.28209479177387814;  // Y_0^0; gsplat rgb_to_sh: (rgb - 0.5) / C0
constexpr int kLeaf = 8;

// An implicit k-d tree over a permutation of the points: range [lo,hi) splits at mid = (lo+hi)/2
// on axis depth % 3; ranges of <= kLeaf points are scanned.
class KdTree {
 public:
  explicit KdTree(const std::vector<float>& xyz) : p_(xyz.data()), idx_(xyz.size() / 3) {
    for (size_t i = 0; i < idx_.size(); ++i) idx_[i] = static_cast<int32_t>(i);
    build(0, static_cast<int64_t>(idx_.size()), 0);
  }

  // The k smallest squared distances from point `self` to the other points (ascending; +inf if fewer).
  template <int K>
  std::array<double, K> nearest(int32_t self) const {
    std::array<double, K> best;
    best.fill(INFINITY);
    search<K>(self, 0, static_cast<int64_t>(idx_.size()), 0, best);
    return best;
  }

 private:
  float coord(int32_t i, int axis) const { return p_[3 * static_cast<int64_t>(i) + axis]; }

  void build(int64_t lo, int64_t hi, int depth) {
    if (hi - lo <= kLeaf) return;
    int64_t mid = (lo + hi) / 2;
    int axis = depth % 3;
    std::nth_element(idx_.begin() + lo, idx_.begin() + mid, idx_.begin() + hi,
                     [&](int32_t a, int32_t b) { return coord(a, axis) < coord(b, axis) || (coord(a, axis) == coord(b, axis) && a < b); });
    build(lo, mid, depth + 1);
    build(mid + 1, hi, depth + 1);
  }

  template <int K>
  void offer(int32_t self, int32_t j, std::array<double, K>& best) const {
    if (j == self) return;
    double d2 = 0;
    for (int a = 0; a < 3; ++a) {
      double d = static_cast<double>(coord(j, a)) - coord(self, a);
      d2 += d * d;
    }
    if (d2 >= best[K - 1]) return;
    int i = K - 1;
    for (; i > 0 && best[i - 1] > d2; --i) best[i] = best[i - 1];
    best[i] = d2;
  }

  template <int K>
  void search(int32_t self, int64_t lo, int64_t hi, int depth, std::array<double, K>& best) const {
    if (hi - lo <= kLeaf) {
      for (int64_t i = lo; i < hi; ++i) offer<K>(self, idx_[i], best);
      return;
    }
    int64_t mid = (lo + hi) / 2;
    int axis = depth % 3;
    int32_t m = idx_[mid];
    offer<K>(self, m, best);
    double diff = static_cast<double>(coord(self, axis)) - coord(m, axis);
    bool left_first = diff < 0;
    if (left_first) search<K>(self, lo, mid, depth + 1, best);
    else search<K>(self, mid + 1, hi, depth + 1, best);
    if (diff * diff < best[K - 1]) {
      if (left_first) search<K>(self, mid + 1, hi, depth + 1, best);
      else search<K>(self, lo, mid, depth + 1, best);
    }
  }

  const float* p_;
  std::vector<int32_t> idx_;
};

}  // namespace

std::vector<float> knn_mean_dist(const std::vector<float>& xyz, int k) {
  VG_CHECK(xyz.size() % 3 == 0, "knn: point array length ", xyz.size(), " is not a multiple of 3");
  VG_CHECK(k == 3, "knn: only k = 3 is supported (gsplat's init), got ", k);
  int64_t n = static_cast<int64_t>(xyz.size() / 3);
  VG_CHECK(n >= 2, "knn: need at least 2 points to initialise scales, got ", n);
  KdTree tree(xyz);
  std::vector<float> out(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      auto best = tree.nearest<3>(static_cast<int32_t>(i));
      double sum = 0;
      int m = 0;
      for (double d2 : best)
        if (std::isfinite(d2)) sum += d2, ++m;
      out[i] = static_cast<float>(std::sqrt(std::max(sum / m, 1e-7)));
    }
  }, 256);
  return out;
}

void random_points(int n, float half_extent, std::mt19937_64& rng, std::vector<float>& xyz, std::vector<float>& rgb) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  xyz.resize(3 * static_cast<size_t>(n));
  rgb.resize(3 * static_cast<size_t>(n));
  for (float& v : xyz) v = half_extent * (u(rng) * 2 - 1);
  for (float& v : rgb) v = u(rng);
}

Gaussians init_gaussians(const std::vector<float>& xyz, const std::vector<float>& rgb, int sh_degree, float init_opa,
                         float init_scale, std::mt19937_64& rng) {
  VG_CHECK(xyz.size() == rgb.size(), "init: ", xyz.size() / 3, " points but ", rgb.size() / 3, " colours");
  VG_CHECK(sh_degree >= 0 && sh_degree <= 3, "init: SH degree must be 0..3, got ", sh_degree);
  int64_t n = static_cast<int64_t>(xyz.size() / 3);
  std::vector<float> dist = knn_mean_dist(xyz, 3);
  std::vector<float> scales(3 * n), quats(4 * n), sh0(3 * n);
  for (int64_t i = 0; i < n; ++i)
    for (int a = 0; a < 3; ++a) scales[3 * i + a] = std::log(dist[i] * init_scale);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& q : quats) q = u(rng);
  for (size_t i = 0; i < sh0.size(); ++i) sh0[i] = static_cast<float>((rgb[i] - 0.5) / kSH_C0);
  float logit = std::log(init_opa / (1 - init_opa));
  int rest = sh_coeffs(sh_degree) - 1;

  Gaussians g;
  g.means = Tensor::from_vector(xyz, {n, 3});
  g.scales = Tensor::from_vector(scales, {n, 3});
  g.quats = Tensor::from_vector(quats, {n, 4});
  g.opacities = Tensor::full({n}, logit);
  g.sh0 = Tensor::from_vector(sh0, {n, 3});
  g.shN = Tensor::zeros({n, rest, 3});
  return g;
}

Gaussians init_from_config(const TrainConfig& cfg, const Dataset& data, float scene_scale, std::mt19937_64& rng) {
  std::vector<float> xyz, rgb;
  if (cfg.init_type == "sfm") {
    VG_CHECK(!data.points.empty(), "--init-type sfm needs sparse points, but the dataset has none "
                                   "(use --init-type random)");
    xyz = data.points;
    rgb = data.colors;
  } else if (cfg.init_type == "random") {
    float half = cfg.init_aabb > 0 ? cfg.init_aabb : cfg.init_extent * scene_scale;
    random_points(cfg.init_num_pts, half, rng, xyz, rgb);
  } else {
    VG_FAIL("--init-type must be sfm or random, got '", cfg.init_type, "'");
  }
  return init_gaussians(xyz, rgb, cfg.sh_degree, cfg.init_opa, cfg.init_scale, rng);
}

}  // namespace vg
