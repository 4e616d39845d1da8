// Rasterizer tests (CPU): the tile path against a brute-force per-pixel compositor, every gradient
// against central finite differences in double, absgrad against per-pixel sums, bad inputs, and
// (with a GPU) CUDA against the CPU reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "raster_scene.h"
#include "splat/rasterize.h"
#include "splat/rasterize_internal.h"
#include "test_util.h"

namespace vg::test {
namespace {

// ---- brute force: per pixel, every Gaussian whose radius box holds the pixel, sorted by depth ----
struct BruteOut {
  std::vector<double> colors, alphas;
  std::vector<int32_t> last_gaussian;  // -1 = none
};

BruteOut brute_force(const RasterScene& s) {
  auto xy = s.means2d.to_vector<float>();
  auto q = s.conics.to_vector<float>();
  auto rgb = s.colors.to_vector<float>();
  auto op = s.opacities.to_vector<float>();
  auto z = s.depths.to_vector<float>();
  auto rad = s.radii.to_vector<int32_t>();
  const int n = static_cast<int>(z.size());
  BruteOut o;
  o.colors.resize(size_t(s.width) * s.height * 3);
  o.alphas.resize(size_t(s.width) * s.height);
  o.last_gaussian.resize(size_t(s.width) * s.height);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      const float px = x + 0.5f, py = y + 0.5f;
      std::vector<int> gs;
      for (int g = 0; g < n; ++g)
        if (rad[2 * g] > 0 && rad[2 * g + 1] > 0 && std::abs(xy[2 * g] - px) <= rad[2 * g] &&
            std::abs(xy[2 * g + 1] - py) <= rad[2 * g + 1])
          gs.push_back(g);
      std::stable_sort(gs.begin(), gs.end(), [&](int a, int b) { return z[a] < z[b]; });
      double T = 1, c[3] = {0, 0, 0};
      int last = -1;
      for (int g : gs) {
        const float dx = xy[2 * g] - px, dy = xy[2 * g + 1] - py;
        const float sigma = 0.5f * (q[3 * g] * dx * dx + q[3 * g + 2] * dy * dy) + q[3 * g + 1] * dx * dy;
        const float alpha = std::min(0.99f, op[g] * std::exp(-sigma));
        if (sigma < 0 || alpha < 1.f / 255.f) continue;
        if (T * (1 - alpha) <= 1e-4) break;
        for (int k = 0; k < 3; ++k) c[k] += rgb[3 * g + k] * alpha * T;
        T *= 1 - alpha;
        last = g;
      }
      const size_t p = size_t(y) * s.width + x;
      for (int k = 0; k < 3; ++k) o.colors[3 * p + k] = c[k] + T * s.background[k];
      o.alphas[p] = 1 - T;
      o.last_gaussian[p] = last;
    }
  return o;
}

int expect_forward_matches_brute_force(const SceneSpec& spec) {  // returns the saturated pixel count
  RasterScene s = make_scene(spec);
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  RasterOut out =
      rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width, s.height);
  BruteOut ref = brute_force(s);
  auto colors = out.colors.to_vector<float>();
  auto alphas = out.alphas.to_vector<float>();
  auto last = out.last_ids.to_vector<int32_t>();
  auto ids = isect.flatten_ids.to_vector<int32_t>();
  double max_err = 0;
  int saturated = 0;
  for (size_t p = 0; p < alphas.size(); ++p) {
    for (int k = 0; k < 3; ++k) max_err = std::max(max_err, std::abs(colors[3 * p + k] - ref.colors[3 * p + k]));
    max_err = std::max(max_err, std::abs(alphas[p] - ref.alphas[p]));
    saturated += ref.alphas[p] > 0.99;
    EXPECT_EQ(last[p] < 0 ? -1 : ids[last[p]], ref.last_gaussian[p]) << "pixel " << p;
  }
  EXPECT_LT(max_err, 1e-5) << "seed " << spec.seed;
  std::printf("[brute] seed %u %dx%d: max abs err %.2e, %d pixels with alpha > 0.99\n", spec.seed, s.width, s.height,
              max_err, saturated);
  EXPECT_GT(*std::max_element(alphas.begin(), alphas.end()), 0.5f);  // the scene is not empty
  return saturated;
}

TEST(RasterizeForward, TilePathMatchesBruteForce) {
  expect_forward_matches_brute_force({.n = 60, .width = 24, .height = 20, .seed = 11});
  expect_forward_matches_brute_force(
      {.n = 400, .width = 53, .height = 37, .max_scale = 6.f, .background = {0.2f, 0.5f, 1.f}, .seed = 12});
  // dense and opaque: pixels saturate (T < 1e-4 stop)
  EXPECT_GT(expect_forward_matches_brute_force({.n = 600, .width = 40, .height = 33, .min_scale = 2.f, .max_scale = 8.f,
                                      .min_opacity = 0.6f, .max_opacity = 0.99f, .background = {1.f, 1.f, 1.f},
                                      .seed = 13}),
            100);
  expect_forward_matches_brute_force({.n = 30, .width = 7, .height = 50, .seed = 14});
  expect_forward_matches_brute_force({.n = 100, .width = 16, .height = 16, .max_scale = 3.f, .seed = 15});
}

TEST(RasterizeForward, EmptySceneGivesBackground) {
  RasterScene s = make_scene({.n = 5, .width = 20, .height = 18, .culled_fraction = 1.f,
                              .background = {0.1f, 0.2f, 0.3f}});
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  RasterOut out = rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, 20, 18);
  auto c = out.colors.to_vector<float>();
  for (size_t p = 0; p < c.size() / 3; ++p)
    for (int k = 0; k < 3; ++k) ASSERT_EQ(c[3 * p + k], s.background[k]);
  for (float a : out.alphas.to_vector<float>()) ASSERT_EQ(a, 0.f);
  for (int32_t l : out.last_ids.to_vector<int32_t>()) ASSERT_EQ(l, -1);
}

// ---- double-precision gradients vs central finite differences ----
struct DoubleScene {
  std::vector<double> means2d, conics, colors, opacities;
  std::array<double, 3> bg{};
  std::vector<int32_t> tile_offsets, flatten_ids;
  int tiles_x = 0, tiles_y = 0, width = 0, height = 0;

  RasterInputs<double> inputs() const {
    RasterInputs<double> in{};
    in.means2d = means2d.data();
    in.conics = conics.data();
    in.colors = colors.data();
    in.opacities = opacities.data();
    for (int k = 0; k < 3; ++k) in.background[k] = bg[k];
    in.tile_offsets = tile_offsets.data();
    in.flatten_ids = flatten_ids.data();
    in.n_isects = static_cast<int64_t>(flatten_ids.size());
    in.tile_size = kTileSize;
    in.tiles_x = tiles_x;
    in.tiles_y = tiles_y;
    in.width = width;
    in.height = height;
    return in;
  }
};

std::vector<double> to_double(const Tensor& t) {
  auto v = t.to_vector<float>();
  return {v.begin(), v.end()};
}

DoubleScene to_double_scene(const RasterScene& s) {
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  DoubleScene d;
  d.means2d = to_double(s.means2d);
  d.conics = to_double(s.conics);
  d.colors = to_double(s.colors);
  d.opacities = to_double(s.opacities);
  for (int k = 0; k < 3; ++k) d.bg[k] = s.background[k];
  d.tile_offsets = isect.tile_offsets.to_vector<int32_t>();
  d.flatten_ids = isect.flatten_ids.to_vector<int32_t>();
  d.tiles_x = isect.tiles_x;
  d.tiles_y = isect.tiles_y;
  d.width = s.width;
  d.height = s.height;
  return d;
}

// True when every (pixel, Gaussian) alpha and every running transmittance keeps a relative distance
// of `margin` from the non-differentiable thresholds (1/255, 0.99 clamp, T = 1e-4).
bool away_from_thresholds(const DoubleScene& d, double margin) {
  const int n = static_cast<int>(d.opacities.size());
  for (int y = 0; y < d.height; ++y)
    for (int x = 0; x < d.width; ++x) {
      double T = 1;
      for (int g = 0; g < n; ++g) {  // order does not matter for the alpha checks; T uses all Gaussians
        const double dx = d.means2d[2 * g] - (x + 0.5), dy = d.means2d[2 * g + 1] - (y + 0.5);
        const double sigma = 0.5 * (d.conics[3 * g] * dx * dx + d.conics[3 * g + 2] * dy * dy) +
                             d.conics[3 * g + 1] * dx * dy;
        const double a = d.opacities[g] * std::exp(-sigma);
        if (std::abs(a / (1.0 / 255) - 1) < margin || std::abs(a / 0.99 - 1) < margin) return false;
        if (a >= 1.0 / 255) T *= 1 - std::min(a, 0.99);
      }
      if (T < 1e-3) return false;  // keeps every partial product far from 1e-4
    }
  return true;
}

struct Loss {
  std::vector<double> w_colors, w_alphas;  // loss = <w_colors, C> + <w_alphas, alpha>
  bool use_alphas = true;
};

double eval_loss(const DoubleScene& d, const Loss& L) {
  const size_t np = size_t(d.width) * d.height;
  std::vector<double> c(np * 3), a(np);
  std::vector<int32_t> last(np);
  rasterize_forward_cpu(d.inputs(), c.data(), a.data(), last.data());
  double l = 0;
  for (size_t i = 0; i < c.size(); ++i) l += L.w_colors[i] * c[i];
  if (L.use_alphas)
    for (size_t i = 0; i < np; ++i) l += L.w_alphas[i] * a[i];
  return l;
}

struct DoubleGrads {
  std::vector<double> means2d, abs, conics, colors, opacities;
};

DoubleGrads analytic(const DoubleScene& d, const Loss& L) {
  const size_t np = size_t(d.width) * d.height, n = d.opacities.size();
  std::vector<double> c(np * 3), a(np);
  std::vector<int32_t> last(np);
  RasterInputs<double> in = d.inputs();
  rasterize_forward_cpu(in, c.data(), a.data(), last.data());
  DoubleGrads g{std::vector<double>(2 * n), std::vector<double>(2 * n), std::vector<double>(3 * n),
                std::vector<double>(3 * n), std::vector<double>(n)};
  rasterize_backward_cpu(in, a.data(), last.data(), L.w_colors.data(), L.use_alphas ? L.w_alphas.data() : nullptr,
                         static_cast<int64_t>(n), g.means2d.data(), g.abs.data(), g.conics.data(), g.colors.data(),
                         g.opacities.data());
  return g;
}

double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

std::vector<double> finite_diff(DoubleScene d, std::vector<double> DoubleScene::*param, const Loss& L) {
  const double h = 1e-6;
  std::vector<double> out((d.*param).size());
  for (size_t i = 0; i < out.size(); ++i) {
    const double v = (d.*param)[i];
    (d.*param)[i] = v + h;
    const double lp = eval_loss(d, L);
    (d.*param)[i] = v - h;
    const double lm = eval_loss(d, L);
    (d.*param)[i] = v;
    out[i] = (lp - lm) / (2 * h);
  }
  return out;
}

// A small scene whose pixels all stay away from the thresholds (tries successive seeds).
DoubleScene clean_scene(SceneSpec spec) {
  for (int attempt = 0; attempt < 50; ++attempt, ++spec.seed) {
    DoubleScene d = to_double_scene(make_scene(spec));
    if (away_from_thresholds(d, 1e-3)) return d;
  }
  ADD_FAILURE() << "no threshold-free scene found";
  return {};
}

Loss random_loss(const DoubleScene& d, bool use_alphas, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Loss L;
  L.w_colors.resize(size_t(d.width) * d.height * 3);
  L.w_alphas.resize(size_t(d.width) * d.height);
  for (auto& w : L.w_colors) w = u(rng);
  for (auto& w : L.w_alphas) w = u(rng);
  L.use_alphas = use_alphas;
  return L;
}

void expect_gradients_match_fd(const SceneSpec& spec, bool use_alphas) {
  DoubleScene d = clean_scene(spec);
  Loss L = random_loss(d, use_alphas, spec.seed + 100);
  DoubleGrads g = analytic(d, L);
  const double tol = 1e-6;
  const double e_xy = rel_err(g.means2d, finite_diff(d, &DoubleScene::means2d, L));
  const double e_conic = rel_err(g.conics, finite_diff(d, &DoubleScene::conics, L));
  const double e_rgb = rel_err(g.colors, finite_diff(d, &DoubleScene::colors, L));
  const double e_op = rel_err(g.opacities, finite_diff(d, &DoubleScene::opacities, L));
  std::printf("[fd] seed %u alphas %d: rel err means2d %.2e conics %.2e colors %.2e opacities %.2e\n", spec.seed,
              use_alphas, e_xy, e_conic, e_rgb, e_op);
  EXPECT_LT(e_xy, tol) << "v_means2d";
  EXPECT_LT(e_conic, tol) << "v_conics";
  EXPECT_LT(e_rgb, tol) << "v_colors";
  EXPECT_LT(e_op, tol) << "v_opacities";
  // non-trivial: every group has signal
  EXPECT_GT(std::abs(std::accumulate(g.opacities.begin(), g.opacities.end(), 0.0, [](double s, double v) {
              return s + std::abs(v);
            })),
            1e-3);
}

TEST(RasterizeBackward, GradientsMatchFiniteDifferencesWithAlphaLoss) {
  expect_gradients_match_fd({.n = 20, .width = 24, .height = 20, .min_scale = 1.5f, .max_scale = 5.f,
                             .background = {0.3f, 0.6f, 0.9f}, .seed = 21},
                            true);
}

TEST(RasterizeBackward, GradientsMatchFiniteDifferencesColorsOnly) {
  expect_gradients_match_fd({.n = 20, .width = 24, .height = 20, .min_scale = 1.5f, .max_scale = 5.f, .seed = 31},
                            false);
  expect_gradients_match_fd({.n = 25, .width = 19, .height = 33, .min_scale = 1.5f, .max_scale = 6.f,
                             .background = {1.f, 0.f, 0.5f}, .seed = 41},
                            false);
}

TEST(RasterizeBackward, ClampedAlphaKeepsFiniteGradientsAndExactColorGradients) {
  // one opaque Gaussian (alpha clamped at 0.99 near its centre) over a translucent one
  SceneSpec spec{.n = 2, .width = 16, .height = 16, .min_scale = 3.f, .max_scale = 3.f, .margin = -6.f,
                 .culled_fraction = 0.f, .seed = 5};
  DoubleScene d = to_double_scene(make_scene(spec));
  d.opacities = {1.0, 0.5};
  Loss L = random_loss(d, true, 7);
  DoubleGrads g = analytic(d, L);
  for (double v : g.opacities) EXPECT_TRUE(std::isfinite(v));
  // the fully clamped pixels only feed colours: compare against FD of colours
  EXPECT_LT(rel_err(g.colors, finite_diff(d, &DoubleScene::colors, L)), 1e-6);
}

TEST(RasterizeBackward, AbsgradIsSumOfPerPixelAbsoluteGradients) {
  DoubleScene d = clean_scene({.n = 20, .width = 24, .height = 20, .min_scale = 1.5f, .max_scale = 5.f, .seed = 51});
  Loss L = random_loss(d, true, 52);
  DoubleGrads g = analytic(d, L);
  const size_t np = size_t(d.width) * d.height, n = d.opacities.size();
  std::vector<double> expected(2 * n, 0.0);
  for (size_t p = 0; p < np; ++p) {  // the loss restricted to one pixel gives that pixel's gradient
    Loss one;
    one.w_colors.assign(np * 3, 0.0);
    one.w_alphas.assign(np, 0.0);
    for (int k = 0; k < 3; ++k) one.w_colors[3 * p + k] = L.w_colors[3 * p + k];
    one.w_alphas[p] = L.w_alphas[p];
    DoubleGrads gp = analytic(d, one);
    for (size_t i = 0; i < 2 * n; ++i) expected[i] += std::abs(gp.means2d[i]);
  }
  EXPECT_LT(rel_err(g.abs, expected), 1e-12);
  EXPECT_GT(rel_err(g.abs, g.means2d), 1e-3);  // cancellation across pixels makes them differ
}

TEST(RasterizeBackward, FloatApiMatchesDoubleReference) {
  RasterScene s = make_scene({.n = 200, .width = 45, .height = 38, .max_scale = 6.f, .background = {0.5f, 0.5f, 0.5f},
                              .seed = 61});
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  RasterOut fwd = rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width,
                                    s.height);
  std::mt19937 rng(62);
  Tensor v_colors = uniform({s.height, s.width, 3}, -1, 1, rng);
  Tensor v_alphas = uniform({s.height, s.width}, -1, 1, rng);
  RasterGrads g = rasterize_backward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width,
                                     s.height, fwd, v_colors, v_alphas, true);
  ASSERT_TRUE(g.v_means2d_abs.defined());
  DoubleScene d = to_double_scene(s);
  Loss L{to_double(v_colors), to_double(v_alphas), true};
  DoubleGrads ref = analytic(d, L);
  auto f = [](const Tensor& t) { return to_double(t); };
  EXPECT_LT(rel_err(f(g.v_means2d), ref.means2d), 1e-5);
  EXPECT_LT(rel_err(f(g.v_means2d_abs), ref.abs), 1e-5);
  EXPECT_LT(rel_err(f(g.v_conics), ref.conics), 1e-5);
  EXPECT_LT(rel_err(f(g.v_colors), ref.colors), 1e-5);
  EXPECT_LT(rel_err(f(g.v_opacities), ref.opacities), 1e-5);
  RasterGrads g2 = rasterize_backward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width,
                                      s.height, fwd, v_colors, Tensor(), false);
  EXPECT_FALSE(g2.v_means2d_abs.defined());
}

TEST(Rasterize, BadInputsThrow) {
  RasterScene s = make_scene({.n = 10});
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  EXPECT_THROW(rasterize_forward(s.means2d, Tensor::zeros({10, 2}), s.colors, s.opacities, s.background, isect,
                                 s.width, s.height),
               Error);
  EXPECT_THROW(rasterize_forward(s.means2d, s.conics, s.colors, Tensor::zeros({9}), s.background, isect, s.width,
                                 s.height),
               Error);
  EXPECT_THROW(rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, 100, s.height),
               Error);  // tile grid does not cover the image
  RasterOut fwd =
      rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width, s.height);
  EXPECT_THROW(rasterize_backward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width, s.height,
                                  fwd, Tensor::zeros({s.height, s.width}), Tensor(), false),
               Error);
}

// ---- CUDA vs CPU (skipped without a GPU; the backend-ops cases cover the same at larger size) ----
TEST(Rasterize, CudaMatchesCpu) {
  if (!have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  RasterScene s = make_scene({.n = 2000, .width = 150, .height = 97, .max_scale = 5.f, .background = {0.f, 1.f, 0.f},
                              .seed = 71});
  std::mt19937 rng(72);
  Tensor v_colors = uniform({s.height, s.width, 3}, -1, 1, rng);
  Tensor v_alphas = uniform({s.height, s.width}, -1, 1, rng);
  auto run = [&](Device d) {
    TileIntersections isect = isect_tiles(s.means2d.to(d), s.radii.to(d), s.depths.to(d), s.width, s.height);
    RasterOut fwd = rasterize_forward(s.means2d.to(d), s.conics.to(d), s.colors.to(d), s.opacities.to(d),
                                      s.background, isect, s.width, s.height);
    RasterGrads g = rasterize_backward(s.means2d.to(d), s.conics.to(d), s.colors.to(d), s.opacities.to(d),
                                       s.background, isect, s.width, s.height, fwd, v_colors.to(d), v_alphas.to(d),
                                       true);
    return std::vector<Tensor>{fwd.colors, fwd.alphas, g.v_means2d, g.v_means2d_abs, g.v_conics, g.v_colors,
                               g.v_opacities};
  };
  auto cpu = run(Device::cpu());
  auto gpu = run(Device::cuda(0));
  for (size_t i = 0; i < cpu.size(); ++i)
    EXPECT_LT(rel_error(gpu[i].to_vector<float>(), cpu[i].to_vector<float>()), 1e-4) << "output " << i;
}

}  // namespace
}  // namespace vg::test
