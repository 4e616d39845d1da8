// Tests of the fused preprocess (projection + SH + opacity) CPU reference:
//  - forward against an independent double-precision re-derivation (Eigen, SH from the analytic
//    real-SH formulas), including a known axis-aligned case;
//  - gsplat's culling rules (near/far, off-screen, low opacity, radius clip);
//  - every gradient against central finite differences of the forward evaluated in double;
//  - bad input gives vg::Error.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "splat/preprocess.h"
#include "splat/projection_math.h"
#include "test_util.h"

namespace vg {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct HostGaussian {
  double mean[3], log_scale[3], quat[4], opacity;
  double sh0[3];
  std::vector<double> shN;  // [rows, 3]
};

Gaussians to_tensors(const std::vector<HostGaussian>& hs, int sh_rows) {
  int64_t n = static_cast<int64_t>(hs.size());
  std::vector<float> m, s, q, o, s0, sn;
  for (const auto& h : hs) {
    for (int i = 0; i < 3; ++i) m.push_back(h.mean[i]), s.push_back(h.log_scale[i]), s0.push_back(h.sh0[i]);
    for (int i = 0; i < 4; ++i) q.push_back(h.quat[i]);
    o.push_back(h.opacity);
    for (int i = 0; i < sh_rows * 3; ++i) sn.push_back(h.shN[i]);
  }
  Gaussians g;
  g.means = Tensor::from_vector(m, {n, 3});
  g.scales = Tensor::from_vector(s, {n, 3});
  g.quats = Tensor::from_vector(q, {n, 4});
  g.opacities = Tensor::from_vector(o, {n});
  g.sh0 = Tensor::from_vector(s0, {n, 3});
  g.shN = Tensor::from_vector(sn, {n, sh_rows, 3});
  return g;
}

// World -> camera: rotation about a tilted axis and a translation (camera looks at the origin area).
Camera test_camera() {
  Eigen::Matrix3d R = Eigen::AngleAxisd(0.3, Eigen::Vector3d(0.2, 1.0, -0.4).normalized()).toRotationMatrix();
  Eigen::Vector3d t(0.3, -0.2, 4.0);
  Camera cam;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) cam.viewmat[i * 4 + j] = static_cast<float>(R(i, j));
    cam.viewmat[i * 4 + 3] = static_cast<float>(t(i));
  }
  cam.fx = 120, cam.fy = 110, cam.cx = 62, cam.cy = 45, cam.width = 128, cam.height = 96;
  return cam;
}

// ---- independent reference ---------------------------------------------------------------------------
// Real SH basis from the analytic formulas (constants sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!) and the
// Condon-Shortley phase as used by 3DGS), at a unit direction.
std::vector<double> sh_basis_ref(int deg, double x, double y, double z) {
  std::vector<double> b = {0.5 * std::sqrt(1 / kPi)};
  double c1 = std::sqrt(3 / (4 * kPi));
  if (deg >= 1) b.insert(b.end(), {-c1 * y, c1 * z, -c1 * x});
  if (deg >= 2) {
    double a = 0.5 * std::sqrt(15 / kPi), c = 0.25 * std::sqrt(5 / kPi);
    b.insert(b.end(), {a * x * y, -a * y * z, c * (3 * z * z - 1), -a * x * z, 0.5 * a * (x * x - y * y)});
  }
  if (deg >= 3) {
    double a = 0.25 * std::sqrt(35 / (2 * kPi)), bb = 0.5 * std::sqrt(105 / kPi);
    double c = 0.25 * std::sqrt(21 / (2 * kPi)), d = 0.25 * std::sqrt(7 / kPi);
    b.insert(b.end(), {-a * y * (3 * x * x - y * y), bb * x * y * z, -c * y * (5 * z * z - 1),
                       d * z * (5 * z * z - 3), -c * x * (5 * z * z - 1), 0.5 * bb * z * (x * x - y * y),
                       -a * x * (x * x - 3 * y * y)});
  }
  return b;
}

struct RefOut {
  bool visible;
  double mean2d[2], depth, conic[3], comp, opacity, color[3];
  int radius[2];
};

RefOut reference(const HostGaussian& h, const Camera& cam, const PreprocessSettings& s) {
  RefOut r{};
  Eigen::Matrix3d R;
  Eigen::Vector3d t;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) R(i, j) = cam.viewmat[i * 4 + j];
    t(i) = cam.viewmat[i * 4 + 3];
  }
  Eigen::Vector3d mw(h.mean[0], h.mean[1], h.mean[2]);
  Eigen::Vector3d mc = R * mw + t;
  if (mc.z() < s.near_plane || mc.z() > s.far_plane) return r;
  Eigen::Matrix3d Rg = Eigen::Quaterniond(h.quat[0], h.quat[1], h.quat[2], h.quat[3]).normalized().toRotationMatrix();
  Eigen::Vector3d sc(std::exp(h.log_scale[0]), std::exp(h.log_scale[1]), std::exp(h.log_scale[2]));
  Eigen::Matrix3d cov = Rg * sc.cwiseAbs2().asDiagonal() * Rg.transpose();
  Eigen::Matrix3d covc = R * cov * R.transpose();
  double W = cam.width, H = cam.height;
  double lxp = (W - cam.cx) / cam.fx + 0.15 * W / cam.fx, lxn = cam.cx / cam.fx + 0.15 * W / cam.fx;
  double lyp = (H - cam.cy) / cam.fy + 0.15 * H / cam.fy, lyn = cam.cy / cam.fy + 0.15 * H / cam.fy;
  double z = mc.z(), u = std::clamp(mc.x() / z, -lxn, lxp), v = std::clamp(mc.y() / z, -lyn, lyp);
  Eigen::Matrix<double, 2, 3> J;
  J << cam.fx / z, 0, -cam.fx * u / z, 0, cam.fy / z, -cam.fy * v / z;
  Eigen::Matrix2d c2 = J * covc * J.transpose();
  Eigen::Matrix2d cb = c2 + s.eps2d * Eigen::Matrix2d::Identity();
  if (cb.determinant() <= 0) return r;
  r.comp = s.antialiased ? std::sqrt(std::max(2.5e-5, c2.determinant() / cb.determinant())) : 1.0;
  r.opacity = r.comp / (1 + std::exp(-h.opacity));
  if (r.opacity < 1.0 / 255) return r;
  double ext = std::min(3.33, std::sqrt(2 * std::log(r.opacity * 255)));
  r.radius[0] = static_cast<int>(std::ceil(ext * std::sqrt(cb(0, 0))));
  r.radius[1] = static_cast<int>(std::ceil(ext * std::sqrt(cb(1, 1))));
  r.mean2d[0] = cam.fx * mc.x() / z + cam.cx, r.mean2d[1] = cam.fy * mc.y() / z + cam.cy;
  if (r.radius[0] <= s.radius_clip && r.radius[1] <= s.radius_clip) return r;
  if (r.mean2d[0] + r.radius[0] <= 0 || r.mean2d[0] - r.radius[0] >= W || r.mean2d[1] + r.radius[1] <= 0 ||
      r.mean2d[1] - r.radius[1] >= H)
    return r;
  r.visible = true;
  r.depth = z;
  Eigen::Matrix2d ci = cb.inverse();
  r.conic[0] = ci(0, 0), r.conic[1] = ci(0, 1), r.conic[2] = ci(1, 1);
  auto pos = cam.position();
  Eigen::Vector3d dir = (mw - Eigen::Vector3d(pos[0], pos[1], pos[2])).normalized();
  auto b = sh_basis_ref(s.sh_degree, dir.x(), dir.y(), dir.z());
  for (int c = 0; c < 3; ++c) {
    double acc = b[0] * h.sh0[c];
    for (size_t k = 1; k < b.size(); ++k) acc += b[k] * h.shN[(k - 1) * 3 + c];
    r.color[c] = std::max(acc + 0.5, 0.0);
  }
  return r;
}

void expect_matches_reference(const std::vector<HostGaussian>& hs, int rows, const Camera& cam,
                              const PreprocessSettings& s) {
  PreprocessOut out = preprocess_forward(to_tensors(hs, rows), cam, s);
  auto radii = out.radii.to_vector<int32_t>();
  auto m2 = out.means2d.to_vector<float>(), dep = out.depths.to_vector<float>();
  auto con = out.conics.to_vector<float>(), comp = out.compensations.to_vector<float>();
  auto op = out.opacities.to_vector<float>(), col = out.colors.to_vector<float>();
  for (size_t i = 0; i < hs.size(); ++i) {
    RefOut r = reference(hs[i], cam, s);
    SCOPED_TRACE("gaussian " + std::to_string(i));
    ASSERT_EQ(radii[i * 2] > 0, r.visible);
    if (!r.visible) {
      EXPECT_EQ(radii[i * 2 + 1], 0);
      for (int k = 0; k < 3; ++k) {
        EXPECT_EQ(con[i * 3 + k], 0.f);
        EXPECT_EQ(col[i * 3 + k], 0.f);
      }
      EXPECT_EQ(m2[i * 2], 0.f);
      EXPECT_EQ(op[i], 0.f);
      continue;
    }
    EXPECT_EQ(radii[i * 2], r.radius[0]);
    EXPECT_EQ(radii[i * 2 + 1], r.radius[1]);
    auto near = [](double got, double want) { EXPECT_NEAR(got, want, 2e-5 * std::max(1.0, std::abs(want))); };
    near(m2[i * 2], r.mean2d[0]);
    near(m2[i * 2 + 1], r.mean2d[1]);
    near(dep[i], r.depth);
    double cscale = std::max(std::abs(r.conic[0]), std::abs(r.conic[2]));
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(con[i * 3 + k], r.conic[k], 2e-5 * cscale);
    near(comp[i], r.comp);
    near(op[i], r.opacity);
    for (int k = 0; k < 3; ++k) near(col[i * 3 + k], r.color[k]);
  }
}

HostGaussian random_gaussian(std::mt19937& rng, int rows, const Camera& cam) {
  std::uniform_real_distribution<double> u(-1, 1);
  HostGaussian h;
  // A point in front of the camera: camera-space (x, y, z) mapped back to the world.
  double z = 2.5 + 1.5 * (u(rng) + 1), x = 0.35 * z * u(rng), y = 0.3 * z * u(rng);
  double c[3] = {x - cam.viewmat[3], y - cam.viewmat[7], z - cam.viewmat[11]};
  for (int i = 0; i < 3; ++i)
    h.mean[i] = cam.viewmat[i] * c[0] + cam.viewmat[4 + i] * c[1] + cam.viewmat[8 + i] * c[2];  // R^T (p - t)
  for (int i = 0; i < 3; ++i) h.log_scale[i] = -2.3 + 0.8 * u(rng);
  for (int i = 0; i < 4; ++i) h.quat[i] = u(rng) + (i == 0 ? 1.5 : 0.0);
  h.opacity = 1.5 * u(rng);
  for (int i = 0; i < 3; ++i) h.sh0[i] = 0.6 * u(rng);
  h.shN.resize(rows * 3);
  for (auto& v : h.shN) v = 0.12 * u(rng);
  return h;
}

// ---- forward ----------------------------------------------------------------------------------------
TEST(Preprocess, AxisAlignedKnownValues) {
  Camera cam;  // identity viewmat
  cam.fx = cam.fy = 100, cam.cx = 50, cam.cy = 40, cam.width = 100, cam.height = 80;
  HostGaussian h{{0.2, -0.1, 2.0}, {std::log(0.1), std::log(0.2), std::log(0.05)}, {2, 0, 0, 0}, 0.0,
                 {0.1, -0.2, 0.3}, std::vector<double>(9, 0.7)};
  PreprocessSettings s;
  s.sh_degree = 0;
  PreprocessOut out = preprocess_forward(to_tensors({h}, 3), cam, s);
  auto m2 = out.means2d.to_vector<float>();
  EXPECT_NEAR(m2[0], 60.0, 1e-4);  // 100 * 0.2 / 2 + 50
  EXPECT_NEAR(m2[1], 35.0, 1e-4);  // 100 * -0.1 / 2 + 40
  EXPECT_NEAR(out.depths.item(), 2.0, 1e-6);
  // J = [[50, 0, -5], [0, 50, 2.5]], cov_c = diag(0.01, 0.04, 0.0025):
  double a = 2500 * 0.01 + 25 * 0.0025 + 0.3, c = 2500 * 0.04 + 6.25 * 0.0025 + 0.3, b = -5 * 2.5 * 0.0025;
  double det = a * c - b * b;
  auto con = out.conics.to_vector<float>();
  EXPECT_NEAR(con[0], c / det, 1e-7);
  EXPECT_NEAR(con[1], -b / det, 1e-9);
  EXPECT_NEAR(con[2], a / det, 1e-7);
  EXPECT_NEAR(out.opacities.item(), 0.5, 1e-7);
  EXPECT_FLOAT_EQ(out.compensations.item(), 1.0f);
  double ext = std::sqrt(2 * std::log(0.5 * 255));
  auto radii = out.radii.to_vector<int32_t>();
  EXPECT_EQ(radii[0], static_cast<int>(std::ceil(ext * std::sqrt(a))));
  EXPECT_EQ(radii[1], static_cast<int>(std::ceil(ext * std::sqrt(c))));
  auto col = out.colors.to_vector<float>();
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(col[k], 0.28209479177 * h.sh0[k] + 0.5, 1e-6);
  expect_matches_reference({h}, 3, cam, s);
}

TEST(Preprocess, MatchesIndependentDerivation) {
  Camera cam = test_camera();
  std::mt19937 rng(7);
  std::vector<HostGaussian> hs;
  for (int i = 0; i < 24; ++i) hs.push_back(random_gaussian(rng, 15, cam));
  // Outside the 1.3x field of view (clamped Jacobian) but large enough to reach into the image.
  HostGaussian wide = random_gaussian(rng, 15, cam);
  double c[3] = {0.8 * 3.0 - cam.viewmat[3], 0.1 - cam.viewmat[7], 3.0 - cam.viewmat[11]};
  for (int i = 0; i < 3; ++i) wide.mean[i] = cam.viewmat[i] * c[0] + cam.viewmat[4 + i] * c[1] + cam.viewmat[8 + i] * c[2];
  for (double& l : wide.log_scale) l = std::log(0.6);
  hs.push_back(wide);
  for (int deg = 0; deg <= 3; ++deg)
    for (bool aa : {false, true}) {
      PreprocessSettings s;
      s.sh_degree = deg, s.antialiased = aa;
      SCOPED_TRACE("degree " + std::to_string(deg) + (aa ? " antialiased" : " classic"));
      expect_matches_reference(hs, 15, cam, s);
    }
  PreprocessOut out = preprocess_forward(to_tensors(hs, 15), cam, {});
  EXPECT_GT(out.radii.to_vector<int32_t>()[hs.size() * 2 - 2], 0) << "the wide Gaussian must stay visible";
}

TEST(Preprocess, Culling) {
  Camera cam;
  cam.fx = cam.fy = 100, cam.cx = 50, cam.cy = 40, cam.width = 100, cam.height = 80;
  auto at = [](double x, double y, double z, double logit = 2.0, double ls = std::log(0.05)) {
    return HostGaussian{{x, y, z}, {ls, ls, ls}, {1, 0, 0, 0}, logit, {0.2, 0.2, 0.2}, {}};
  };
  std::vector<HostGaussian> hs = {
      at(0, 0, 2),            // 0 visible
      at(0, 0, -2),           // 1 behind the camera
      at(0, 0, 0.005),        // 2 in front of the near plane (0.01)
      at(0, 0, 200),          // 3 beyond far = 100 (set below)
      at(5, 0, 2),            // 4 off-screen right: u = 300, radius ~ 9
      at(-1.2, 0, 2),         // 5 off-screen left: u = -10
      at(0, 0, 2, -6.0),      // 6 sigmoid(-6) = 0.0025 < 1/255
      at(0.95, 0.7, 2),       // 7 u = 97.5, v = 75: inside
      at(0, 0, 50, 2.0, -6),  // 8 tiny: radius 2 <= radius_clip 2
  };
  PreprocessSettings s;
  s.far_plane = 100, s.sh_degree = 0, s.radius_clip = 2;
  PreprocessOut out = preprocess_forward(to_tensors(hs, 0), cam, s);
  auto radii = out.radii.to_vector<int32_t>();
  std::vector<bool> visible = {true, false, false, false, false, false, false, true, false};
  for (size_t i = 0; i < hs.size(); ++i) EXPECT_EQ(radii[i * 2] > 0, visible[i]) << "gaussian " << i;
  expect_matches_reference(hs, 0, cam, s);
  // Antialiasing lowers the opacity, which can cull a faint Gaussian classic mode keeps.
  hs = {at(0, 0, 50, -4.5, -6)};
  s.radius_clip = 0;
  EXPECT_GT(preprocess_forward(to_tensors(hs, 0), cam, s).radii.to_vector<int32_t>()[0], 0);
  s.antialiased = true;
  EXPECT_EQ(preprocess_forward(to_tensors(hs, 0), cam, s).radii.to_vector<int32_t>()[0], 0);
}

// ---- backward ---------------------------------------------------------------------------------------
proj::View<double> view_double(const Camera& cam) {
  proj::View<double> v{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) v.R[i * 3 + j] = cam.viewmat[i * 4 + j];
    v.t[i] = cam.viewmat[i * 4 + 3];
  }
  v.fx = cam.fx, v.fy = cam.fy, v.cx = cam.cx, v.cy = cam.cy, v.width = cam.width, v.height = cam.height;
  auto c = cam.position();
  for (int i = 0; i < 3; ++i) v.campos[i] = c[i];
  return v;
}

// The random linear functional: weights for means2d(2), conics(3), opacity(1), colors(3).
struct Weights {
  double w[9];
};

double loss_double(HostGaussian h, const proj::View<double>& v, const proj::Settings<double>& s,
                   const Weights& w) {
  proj::GaussianIn<double> g{h.mean, h.log_scale, h.quat, h.opacity, h.sh0, h.shN.data()};
  proj::Projected<double> p;
  if (!proj::project_gaussian(v, s, g, p)) return 0;
  const double o[9] = {p.mean2d[0], p.mean2d[1], p.conic[0], p.conic[1], p.conic[2],
                       p.opacity,   p.color[0],  p.color[1], p.color[2]};
  double acc = 0;
  for (int i = 0; i < 9; ++i) acc += w.w[i] * o[i];
  return acc;
}

// Central differences of the double-precision forward, per parameter group in Gaussians order.
std::vector<std::vector<double>> fd_grads(HostGaussian h, const proj::View<double>& v,
                                          const proj::Settings<double>& s, const Weights& w) {
  std::vector<double*> groups[6];
  for (int i = 0; i < 3; ++i) groups[0].push_back(&h.mean[i]), groups[1].push_back(&h.log_scale[i]);
  for (int i = 0; i < 4; ++i) groups[2].push_back(&h.quat[i]);
  groups[3].push_back(&h.opacity);
  for (int i = 0; i < 3; ++i) groups[4].push_back(&h.sh0[i]);
  for (double& x : h.shN) groups[5].push_back(&x);
  std::vector<std::vector<double>> out(6);
  const double eps = 1e-6;
  for (int gi = 0; gi < 6; ++gi)
    for (double* p : groups[gi]) {
      double x0 = *p;
      *p = x0 + eps;
      double lp = loss_double(h, v, s, w);
      *p = x0 - eps;
      double lm = loss_double(h, v, s, w);
      *p = x0;
      out[gi].push_back((lp - lm) / (2 * eps));
    }
  return out;
}

double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-12);
}

TEST(Preprocess, GradientsMatchFiniteDifferences) {
  Camera cam = test_camera();
  const int rows = 15;
  std::mt19937 rng(11);
  std::vector<HostGaussian> hs;
  for (int i = 0; i < 12; ++i) hs.push_back(random_gaussian(rng, rows, cam));
  HostGaussian wide = hs[0];  // outside the Jacobian clamp, still visible
  double c[3] = {0.85 * 3.0 - cam.viewmat[3], -0.75 * 3.0 - cam.viewmat[7], 3.0 - cam.viewmat[11]};
  for (int i = 0; i < 3; ++i) wide.mean[i] = cam.viewmat[i] * c[0] + cam.viewmat[4 + i] * c[1] + cam.viewmat[8 + i] * c[2];
  wide.log_scale[0] = std::log(0.9), wide.log_scale[1] = std::log(0.5), wide.log_scale[2] = std::log(0.7);
  hs.push_back(wide);
  HostGaussian behind = hs[1];  // culled: zero gradients
  for (int i = 0; i < 3; ++i) behind.mean[i] = cam.position()[i] - 1.5 * cam.viewmat[8 + i];
  hs.push_back(behind);
  const int64_t n = static_cast<int64_t>(hs.size());
  Gaussians g = to_tensors(hs, rows);

  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<Weights> ws(n);
  for (auto& w : ws)
    for (double& x : w.w) x = u(rng);
  for (auto& w : ws) w.w[2] *= 100, w.w[3] *= 100, w.w[4] *= 100;  // conics are ~1e-2
  std::vector<float> vm, vc, vo, vcol;
  for (auto& w : ws) {
    vm.insert(vm.end(), {float(w.w[0]), float(w.w[1])});
    vc.insert(vc.end(), {float(w.w[2]), float(w.w[3]), float(w.w[4])});
    vo.push_back(float(w.w[5]));
    vcol.insert(vcol.end(), {float(w.w[6]), float(w.w[7]), float(w.w[8])});
  }
  PreprocessGradsIn vin{Tensor::from_vector(vm, {n, 2}), Tensor::from_vector(vc, {n, 3}),
                        Tensor::from_vector(vo, {n}), Tensor::from_vector(vcol, {n, 3})};
  proj::View<double> vd = view_double(cam);

  for (int deg = 0; deg <= 3; ++deg)
    for (bool aa : {false, true}) {
      SCOPED_TRACE("degree " + std::to_string(deg) + (aa ? " antialiased" : " classic"));
      PreprocessSettings s;
      s.sh_degree = deg, s.antialiased = aa;
      proj::Settings<double> sd{s.eps2d, s.near_plane, s.far_plane, s.radius_clip, aa, deg};
      PreprocessOut fwd = preprocess_forward(g, cam, s);
      auto radii = fwd.radii.to_vector<int32_t>();
      for (int64_t i = 0; i < n - 1; ++i) ASSERT_GT(radii[i * 2], 0) << "test Gaussian " << i << " culled";
      ASSERT_EQ(radii[(n - 1) * 2], 0);
      GaussianGrads grads = zeros_like(g);
      for (int i = 0; i < Gaussians::kGroups; ++i) std::fill_n(grads.group(i).data<float>(), grads.group(i).numel(), 7.f);
      preprocess_backward(g, cam, s, fwd, vin, grads);

      std::vector<double> fd_all[6], an_all[6];
      for (int64_t i = 0; i < n; ++i) {
        auto fd = fd_grads(hs[i], vd, sd, ws[i]);
        for (int gi = 0; gi < 6; ++gi) {
          fd_all[gi].insert(fd_all[gi].end(), fd[gi].begin(), fd[gi].end());
          int64_t per = grads.group(gi).numel() / n;
          const float* a = grads.group(gi).data<float>() + i * per;
          an_all[gi].insert(an_all[gi].end(), a, a + per);
        }
        // The double-precision VJP must agree with the finite differences to ~1e-6.
        std::vector<double> dm(3), dl(3), dq(4), dop(1), d0(3), dn(rows * 3);
        proj::GaussianGradOut<double> go{dm.data(), dl.data(), dq.data(), dop.data(), d0.data(), dn.data(), rows};
        if (i < n - 1) {
          proj::GaussianIn<double> gin{hs[i].mean, hs[i].log_scale, hs[i].quat, hs[i].opacity, hs[i].sh0,
                                       hs[i].shN.data()};
          proj::ProjectedGrad<double> pg{{ws[i].w[0], ws[i].w[1]}, {ws[i].w[2], ws[i].w[3], ws[i].w[4]}, ws[i].w[5],
                                         {ws[i].w[6], ws[i].w[7], ws[i].w[8]}};
          proj::project_gaussian_vjp(vd, sd, gin, pg, go);
          std::vector<double>* dd[6] = {&dm, &dl, &dq, &dop, &d0, &dn};
          for (int gi = 0; gi < 6; ++gi)
            EXPECT_LT(rel_err(*dd[gi], fd[gi]), 1e-6) << "double VJP " << Gaussians::group_name(gi) << " gaussian " << i;
        }
      }
      for (int gi = 0; gi < 6; ++gi) {
        double e = rel_err(an_all[gi], fd_all[gi]);
        EXPECT_LT(e, 1e-3) << Gaussians::group_name(gi);
        if (deg == 3 && aa) std::printf("[preprocess] grad %-9s rel_err vs FD %.2e\n", Gaussians::group_name(gi), e);
      }
      // Culled Gaussian and SH rows above the degree: exactly zero.
      for (int gi = 0; gi < 6; ++gi) {
        int64_t per = grads.group(gi).numel() / n;
        for (int64_t k = 0; k < per; ++k) EXPECT_EQ(an_all[gi][(n - 1) * per + k], 0.0);
      }
      for (int64_t i = 0; i < n; ++i)
        for (int k = (deg + 1) * (deg + 1) - 1; k < rows; ++k)
          for (int ch = 0; ch < 3; ++ch) EXPECT_EQ(an_all[5][(i * rows + k) * 3 + ch], 0.0);
    }
}

// ---- d loss / d viewmat (camera pose optimisation) ----------------------------------------------------
// A view from the 12 entries of [R | t] in double, the camera centre -R^T t recomputed from them (so a
// perturbed viewmat moves the SH view direction too, as gsplat's campos = inverse(viewmat) translation).
proj::View<double> view_from(const double* m, const Camera& cam) {
  proj::View<double> v = view_double(cam);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) v.R[i * 3 + j] = m[i * 4 + j];
    v.t[i] = m[i * 4 + 3];
  }
  for (int j = 0; j < 3; ++j) v.campos[j] = -(m[j] * m[3] + m[4 + j] * m[7] + m[8 + j] * m[11]);
  return v;
}

// The summed loss of all Gaussians, its central differences in the 12 viewmat entries, against the CPU
// backward's v_viewmat; `colors_only` puts all the weight on the colours, so only the SH-direction path
// (through the camera centre) carries gradient.
void check_viewmat_gradient(int deg, bool aa, bool colors_only) {
  SCOPED_TRACE(std::string("degree ") + std::to_string(deg) + (aa ? " antialiased" : " classic") +
               (colors_only ? " colours only" : ""));
  Camera cam = test_camera();
  const int rows = 15;
  std::mt19937 rng(23);
  std::vector<HostGaussian> hs;
  for (int i = 0; i < 16; ++i) hs.push_back(random_gaussian(rng, rows, cam));
  HostGaussian behind = hs[1];  // culled: contributes nothing
  for (int i = 0; i < 3; ++i) behind.mean[i] = cam.position()[i] - 1.5 * cam.viewmat[8 + i];
  hs.push_back(behind);
  const int64_t n = static_cast<int64_t>(hs.size());
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<Weights> ws(n);
  for (auto& w : ws) {
    for (double& x : w.w) x = u(rng);
    w.w[2] *= 100, w.w[3] *= 100, w.w[4] *= 100;
    if (colors_only)
      for (int k = 0; k < 6; ++k) w.w[k] = 0;
  }
  std::vector<float> vm, vc, vo, vcol;
  for (auto& w : ws) {
    vm.insert(vm.end(), {float(w.w[0]), float(w.w[1])});
    vc.insert(vc.end(), {float(w.w[2]), float(w.w[3]), float(w.w[4])});
    vo.push_back(float(w.w[5]));
    vcol.insert(vcol.end(), {float(w.w[6]), float(w.w[7]), float(w.w[8])});
  }
  PreprocessGradsIn vin{Tensor::from_vector(vm, {n, 2}), Tensor::from_vector(vc, {n, 3}),
                        Tensor::from_vector(vo, {n}), Tensor::from_vector(vcol, {n, 3})};
  PreprocessSettings s;
  s.sh_degree = deg, s.antialiased = aa;
  proj::Settings<double> sd{s.eps2d, s.near_plane, s.far_plane, s.radius_clip, aa, deg};
  Gaussians g = to_tensors(hs, rows);
  PreprocessOut fwd = preprocess_forward(g, cam, s);
  GaussianGrads grads = zeros_like(g), grads_plain = zeros_like(g);
  Tensor v_viewmat;
  preprocess_backward(g, cam, s, fwd, vin, grads, &v_viewmat);
  ASSERT_EQ(v_viewmat.shape(), (Shape{4, 4}));
  // Asking for the viewmat gradient leaves the Gaussians' gradients unchanged.
  preprocess_backward(g, cam, s, fwd, vin, grads_plain);
  for (int i = 0; i < Gaussians::kGroups; ++i)
    EXPECT_EQ(grads.group(i).to_vector<float>(), grads_plain.group(i).to_vector<float>()) << Gaussians::group_name(i);
  const std::vector<float> an = v_viewmat.to_vector<float>();
  for (int k = 12; k < 16; ++k) EXPECT_EQ(an[k], 0.f);

  double m[12];
  for (int k = 0; k < 12; ++k) m[k] = cam.viewmat[k];
  auto total = [&](const double* mm) {
    proj::View<double> v = view_from(mm, cam);
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += loss_double(hs[i], v, sd, ws[i]);
    return acc;
  };
  std::vector<double> fd(12), an12(12), dbl(12, 0.0);
  const double eps = 1e-6;
  for (int k = 0; k < 12; ++k) {
    double mp[12], mm[12];
    std::copy(m, m + 12, mp), std::copy(m, m + 12, mm);
    mp[k] += eps, mm[k] -= eps;
    fd[k] = (total(mp) - total(mm)) / (2 * eps);
    an12[k] = an[k];  // the top three rows of the [4,4] gradient
  }
  // The double-precision VJP, summed over the visible Gaussians: ~1e-6 of the differences.
  proj::View<double> vd = view_from(m, cam);
  double vview[12] = {0};
  for (int64_t i = 0; i < n - 1; ++i) {
    std::vector<double> dm(3), dl(3), dq(4), dop(1), d0(3), dn(rows * 3);
    proj::GaussianGradOut<double> go{dm.data(), dl.data(), dq.data(), dop.data(), d0.data(), dn.data(), rows};
    proj::GaussianIn<double> gin{hs[i].mean, hs[i].log_scale, hs[i].quat, hs[i].opacity, hs[i].sh0, hs[i].shN.data()};
    proj::ProjectedGrad<double> pg{{ws[i].w[0], ws[i].w[1]}, {ws[i].w[2], ws[i].w[3], ws[i].w[4]}, ws[i].w[5],
                                   {ws[i].w[6], ws[i].w[7], ws[i].w[8]}};
    proj::project_gaussian_vjp(vd, sd, gin, pg, go, vview);
  }
  for (int k = 0; k < 12; ++k) dbl[proj::viewmat_index(k)] = vview[k];  // (R, t) -> [3,4] row-major
  double fd_norm = 0;
  for (double x : fd) fd_norm += x * x;
  EXPECT_GT(std::sqrt(fd_norm), 1e-3) << "the test must exercise the path";
  EXPECT_LT(rel_err(dbl, fd), 1e-6) << "double VJP";
  const double e = rel_err(an12, fd);
  EXPECT_LT(e, 1e-3) << "CPU backward (float)";
  if (deg == 3 && aa) std::printf("[preprocess] grad viewmat%s rel_err vs FD %.2e\n", colors_only ? " (SH dir)" : "", e);
}

TEST(Preprocess, ViewmatGradientMatchesFiniteDifferences) {
  for (int deg : {0, 3})
    for (bool aa : {false, true}) check_viewmat_gradient(deg, aa, false);
}

TEST(Preprocess, ViewmatGradientThroughShDirection) {
  for (int deg : {1, 3}) check_viewmat_gradient(deg, true, true);
}

// ---- errors and timing ----------------------------------------------------------------------------------
TEST(Preprocess, BadInputThrows) {
  Camera cam = test_camera();
  std::mt19937 rng(3);
  Gaussians g = to_tensors({random_gaussian(rng, 3, cam), random_gaussian(rng, 3, cam)}, 3);
  PreprocessSettings s;
  s.sh_degree = 2;  // model has degree 1
  EXPECT_THROW(preprocess_forward(g, cam, s), Error);
  s.sh_degree = 1;
  Gaussians bad = g;
  bad.quats = Tensor::zeros({2, 3});
  EXPECT_THROW(preprocess_forward(bad, cam, s), Error);
  Camera empty = cam;
  empty.width = 0;
  EXPECT_THROW(preprocess_forward(g, empty, s), Error);
  PreprocessOut fwd = preprocess_forward(g, cam, s);
  GaussianGrads grads = zeros_like(g);
  PreprocessGradsIn vin{Tensor::zeros({2, 2}), Tensor::zeros({2, 3}), Tensor::zeros({2}), Tensor::zeros({2, 2})};
  EXPECT_THROW(preprocess_backward(g, cam, s, fwd, vin, grads), Error);  // v_colors [2,2]
  vin.v_colors = Tensor::zeros({2, 3});
  grads.shN = Tensor::zeros({2, 8, 3});
  EXPECT_THROW(preprocess_backward(g, cam, s, fwd, vin, grads), Error);
}

TEST(Preprocess, CpuTiming) {
  Camera cam = test_camera();
  const int64_t n = 100000;
  std::mt19937 rng(5);
  Gaussians g;
  g.means = test::normal({n, 3}, 0.f, 1.f, rng);
  g.scales = test::uniform({n, 3}, -4.f, -2.f, rng);
  g.quats = test::normal({n, 4}, 0.f, 1.f, rng);
  g.opacities = test::normal({n}, 0.f, 1.f, rng);
  g.sh0 = test::normal({n, 3}, 0.f, 0.5f, rng);
  g.shN = test::normal({n, 15, 3}, 0.f, 0.1f, rng);
  PreprocessSettings s;
  auto t0 = std::chrono::steady_clock::now();
  PreprocessOut fwd = preprocess_forward(g, cam, s);
  auto t1 = std::chrono::steady_clock::now();
  PreprocessGradsIn vin{test::normal({n, 2}, 0, 1, rng), test::normal({n, 3}, 0, 1, rng),
                        test::normal({n}, 0, 1, rng), test::normal({n, 3}, 0, 1, rng)};
  GaussianGrads grads = zeros_like(g);
  preprocess_backward(g, cam, s, fwd, vin, grads);
  auto t2 = std::chrono::steady_clock::now();
  int64_t visible = 0;
  for (int32_t r : fwd.radii.to_vector<int32_t>()) visible += r > 0;
  std::printf("[preprocess] CPU n=%lld (%lld radii>0): forward %.1f ms, backward %.1f ms\n",
              static_cast<long long>(n), static_cast<long long>(visible / 2),
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count());
  for (float x : grads.means.to_vector<float>()) ASSERT_TRUE(std::isfinite(x));
  EXPECT_GT(visible, 0);
}

}  // namespace
}  // namespace vg
