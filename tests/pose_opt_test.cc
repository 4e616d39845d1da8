// Camera pose optimisation (splat/pose_opt.h, gsplat CameraOptModule):
//  - the 6D rotation (Zhou et al. 2019) and the residual transform against Eigen, their VJPs against
//    central finite differences;
//  - the whole chain loss -> preprocess d loss / d viewmat -> 9-dim residual against finite differences;
//  - Adam with weight decay as torch.optim.Adam over the whole embedding, the lr schedule;
//  - short CPU trainings on the demo scene: with perturbed training cameras (--pose-noise) pose
//    optimisation brings them back towards the true poses; resume is exact; the pose report.
#include <gtest/gtest.h>

#include <unistd.h>

#include <Eigen/Dense>
#include <cmath>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "pipeline/demo_scene.h"
#include "splat/pose_opt.h"
#include "splat/preprocess.h"
#include "splat/projection_math.h"
#include "splat/trainer.h"

namespace vg {
namespace {

double rel_err(const double* a, const double* b, int n) {
  double num = 0, den = 0;
  for (int i = 0; i < n; ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-12);
}

pose::Mat34 test_viewmat() {
  Eigen::Matrix3d R = Eigen::AngleAxisd(0.4, Eigen::Vector3d(0.3, -1.0, 0.2).normalized()).toRotationMatrix();
  pose::Mat34 m;
  const double t[3] = {0.2, -0.3, 3.5};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) m[i * 4 + j] = R(i, j);
    m[i * 4 + 3] = t[i];
  }
  return m;
}

TEST(PoseOpt, Rotation6dAndItsVjp) {
  const double id[6] = {1, 0, 0, 0, 1, 0};
  double R[9];
  pose::rotation_6d_to_matrix(id, R);
  for (int i = 0; i < 9; ++i) EXPECT_DOUBLE_EQ(R[i], i % 4 == 0 ? 1.0 : 0.0);
  std::mt19937 rng(3);
  std::normal_distribution<double> nd(0, 0.3);
  double d6[6], G[9];
  for (int i = 0; i < 6; ++i) d6[i] = id[i] + nd(rng);
  for (double& g : G) g = nd(rng);
  pose::rotation_6d_to_matrix(d6, R);
  Eigen::Map<Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> M(R);
  EXPECT_LT((M * M.transpose() - Eigen::Matrix3d::Identity()).norm(), 1e-12);
  EXPECT_NEAR(M.determinant(), 1.0, 1e-12);
  double an[6], fd[6];
  pose::rotation_6d_to_matrix_vjp(d6, G, an);
  for (int k = 0; k < 6; ++k) {
    double p[6], m[6], Rp[9], Rm[9];
    std::copy(d6, d6 + 6, p), std::copy(d6, d6 + 6, m);
    p[k] += 1e-6, m[k] -= 1e-6;
    pose::rotation_6d_to_matrix(p, Rp), pose::rotation_6d_to_matrix(m, Rm);
    double lp = 0, lm = 0;
    for (int i = 0; i < 9; ++i) lp += G[i] * Rp[i], lm += G[i] * Rm[i];
    fd[k] = (lp - lm) / 2e-6;
  }
  EXPECT_LT(rel_err(an, fd, 6), 1e-7);
}

TEST(PoseOpt, ResidualTransformIsCamToWorldTimesDelta) {
  const pose::Mat34 V = test_viewmat();
  const double zero[9] = {0};
  const pose::Mat34 same = pose::apply_delta(V, zero);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(same[i], V[i], 1e-15);
  // c2w' = c2w [Rd | dx], world -> camera its inverse.
  const double delta[9] = {0.05, -0.02, 0.03, 0.02, -0.01, 0.03, 0.01, 0.04, -0.02};
  Eigen::Matrix4d w2c = Eigen::Matrix4d::Identity(), D = Eigen::Matrix4d::Identity();
  for (int i = 0; i < 12; ++i) w2c(i / 4, i % 4) = V[i];
  double d6[6] = {1 + delta[3], delta[4], delta[5], delta[6], 1 + delta[7], delta[8]}, Rd[9];
  pose::rotation_6d_to_matrix(d6, Rd);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) D(i, j) = Rd[i * 3 + j];
    D(i, 3) = delta[i];
  }
  const Eigen::Matrix4d want = (w2c.inverse() * D).inverse();
  const pose::Mat34 got = pose::apply_delta(V, delta);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(got[i], want(i / 4, i % 4), 1e-12) << i;
  // The VJP against central differences of a random functional of [R' | t'].
  std::mt19937 rng(5);
  std::normal_distribution<double> nd(0, 1);
  double W[12], an[9], fd[9];
  for (double& w : W) w = nd(rng);
  pose::apply_delta_vjp(V, delta, W, an);
  for (int k = 0; k < 9; ++k) {
    double p[9], m[9];
    std::copy(delta, delta + 9, p), std::copy(delta, delta + 9, m);
    p[k] += 1e-6, m[k] -= 1e-6;
    const pose::Mat34 a = pose::apply_delta(V, p), b = pose::apply_delta(V, m);
    double l = 0;
    for (int i = 0; i < 12; ++i) l += W[i] * (a[i] - b[i]);
    fd[k] = l / 2e-6;
  }
  EXPECT_LT(rel_err(an, fd, 9), 1e-7);
}

// The 9-dim residual's gradient through the whole preprocess: the float CPU backward's v_viewmat chained
// by apply_delta_vjp, against central differences of the double-precision forward (projection, conic,
// opacity and SH colours, summed with random weights over Gaussians in view).
TEST(PoseOpt, ResidualGradientThroughPreprocess) {
  const int n = 40, rows = 15, deg = 3;
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> u(-1, 1);
  Camera cam;
  cam.fx = 120, cam.fy = 115, cam.cx = 64, cam.cy = 48, cam.width = 128, cam.height = 96;
  const pose::Mat34 V = test_viewmat();
  const double delta[9] = {0.03, -0.02, 0.01, 0.01, -0.02, 0.015, 0.01, 0.02, -0.01};
  pose::set_viewmat(cam, V);
  // Gaussians in front of the camera.
  std::vector<double> mean(n * 3), ls(n * 3), q(n * 4), op(n), sh0(n * 3), shN(n * rows * 3), w(n * 9);
  for (int i = 0; i < n; ++i) {
    const double z = 2.5 + 2 * (u(rng) + 1), x = 0.3 * z * u(rng), y = 0.25 * z * u(rng);
    const double c[3] = {x - V[3], y - V[7], z - V[11]};
    for (int k = 0; k < 3; ++k) mean[i * 3 + k] = V[k] * c[0] + V[4 + k] * c[1] + V[8 + k] * c[2];
    for (int k = 0; k < 3; ++k) ls[i * 3 + k] = -2.3 + 0.6 * u(rng), sh0[i * 3 + k] = 0.5 * u(rng);
    for (int k = 0; k < 4; ++k) q[i * 4 + k] = u(rng) + (k == 0 ? 1.5 : 0);
    op[i] = 1.5 * u(rng);
    for (int k = 0; k < rows * 3; ++k) shN[(i * rows) * 3 + k] = 0.12 * u(rng);
    for (int k = 0; k < 9; ++k) w[i * 9 + k] = u(rng) * (k >= 2 && k <= 4 ? 100 : 1);
  }
  auto tensor = [](const std::vector<double>& v, const Shape& s) {
    return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), s);
  };
  Gaussians g;
  g.means = tensor(mean, {n, 3}), g.scales = tensor(ls, {n, 3}), g.quats = tensor(q, {n, 4});
  g.opacities = tensor(op, {n}), g.sh0 = tensor(sh0, {n, 3}), g.shN = tensor(shN, {n, rows, 3});
  // Float forward/backward at the adjusted camera.
  Camera adj = cam;
  pose::set_viewmat(adj, pose::apply_delta(V, delta));
  PreprocessSettings s;
  s.sh_degree = deg;
  PreprocessOut fwd = preprocess_forward(g, adj, s);
  std::vector<float> vm, vc, vo, vcol;
  for (int i = 0; i < n; ++i) {
    vm.insert(vm.end(), {float(w[i * 9]), float(w[i * 9 + 1])});
    vc.insert(vc.end(), {float(w[i * 9 + 2]), float(w[i * 9 + 3]), float(w[i * 9 + 4])});
    vo.push_back(float(w[i * 9 + 5]));
    vcol.insert(vcol.end(), {float(w[i * 9 + 6]), float(w[i * 9 + 7]), float(w[i * 9 + 8])});
  }
  GaussianGrads grads = zeros_like(g);
  Tensor v_viewmat;
  preprocess_backward(g, adj, s, fwd,
                      {Tensor::from_vector(vm, {n, 2}), Tensor::from_vector(vc, {n, 3}), Tensor::from_vector(vo, {n}),
                       Tensor::from_vector(vcol, {n, 3})},
                      grads, &v_viewmat);
  const std::vector<float> vv = v_viewmat.to_vector<float>();
  double v_out[12], an[9];
  for (int k = 0; k < 12; ++k) v_out[k] = vv[k];
  pose::apply_delta_vjp(V, delta, v_out, an);

  proj::Settings<double> sd{s.eps2d, s.near_plane, s.far_plane, s.radius_clip, false, deg};
  auto loss = [&](const double* d) {
    const pose::Mat34 m = pose::apply_delta(V, d);
    proj::View<double> v{};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) v.R[i * 3 + j] = m[i * 4 + j];
      v.t[i] = m[i * 4 + 3];
    }
    for (int j = 0; j < 3; ++j) v.campos[j] = -(m[j] * m[3] + m[4 + j] * m[7] + m[8 + j] * m[11]);
    v.fx = cam.fx, v.fy = cam.fy, v.cx = cam.cx, v.cy = cam.cy, v.width = cam.width, v.height = cam.height;
    double acc = 0;
    for (int i = 0; i < n; ++i) {
      proj::GaussianIn<double> gi{&mean[i * 3], &ls[i * 3], &q[i * 4], op[i], &sh0[i * 3], &shN[i * rows * 3]};
      proj::Projected<double> p;
      if (!proj::project_gaussian(v, sd, gi, p)) continue;
      const double o[9] = {p.mean2d[0], p.mean2d[1], p.conic[0], p.conic[1], p.conic[2],
                           p.opacity,   p.color[0],  p.color[1], p.color[2]};
      for (int k = 0; k < 9; ++k) acc += w[i * 9 + k] * o[k];
    }
    return acc;
  };
  double fd[9];
  for (int k = 0; k < 9; ++k) {
    double p[9], m[9];
    std::copy(delta, delta + 9, p), std::copy(delta, delta + 9, m);
    p[k] += 1e-6, m[k] -= 1e-6;
    fd[k] = (loss(p) - loss(m)) / 2e-6;
  }
  int visible = 0;
  for (int32_t r : fwd.radii.to_vector<int32_t>()) visible += r > 0;
  EXPECT_GT(visible, n);  // most of the 40 (two radii each)
  const double e = rel_err(an, fd, 9);
  std::printf("[pose_opt] d loss / d residual (9) rel_err vs FD %.2e\n", e);
  EXPECT_LT(e, 1e-3);
}

// torch.optim.Adam(weight_decay = reg) over the whole [n, 9] embedding; ExponentialLR to 1% at max_steps.
TEST(PoseOpt, AdamWithWeightDecayAsTorch) {
  PoseOptConfig c;
  c.optimise = true, c.lr = 1e-2f, c.reg = 0.5f, c.max_steps = 100;
  PoseOptimizer po(3, c);
  EXPECT_NEAR(po.lr(0), 1e-2, 1e-9);
  EXPECT_NEAR(po.lr(100), 1e-4, 1e-11);
  Camera cam;
  pose::set_viewmat(cam, test_viewmat());
  Tensor v = Tensor::zeros({4, 4});
  v.data<float>()[3] = 2.0f;  // d loss / d t'_x: the residual's dx gets -(Rd g)_x = -2 at delta 0
  // Step 0 on image 1: m = 0.1 g, v = 0.001 g^2, update = lr * mhat / (sqrt(vhat) + 1e-8) = lr * sign(g).
  po.step(1, cam, v, 0);
  const float* e = po.embeds().data<float>();
  EXPECT_NEAR(e[9 + 0], 1e-2, 1e-7);  // gradient -2 -> +lr
  for (int k = 0; k < 27; ++k)
    if (k < 9 || k >= 18) EXPECT_EQ(e[k], 0.f) << k;  // the other rows: zero gradient, zero decay
  // Step 1 on image 0: image 1's row moves on by its momentum, its gradient now weight decay only.
  po.step(0, cam, v, 1);
  double p = 1e-2, g = 0.5 * p;  // grad + reg * param
  double m = 0.9 * (0.1 * -2.0) + 0.1 * g, s2 = 0.999 * (0.001 * 4.0) + 0.001 * g * g;
  double mhat = m / (1 - 0.81), vhat = s2 / (1 - 0.999 * 0.999);
  double want = p - po.lr(1) * mhat / (std::sqrt(vhat) + 1e-8);
  EXPECT_NEAR(po.embeds().data<float>()[9], want, 1e-7);
  EXPECT_EQ(po.adam().step, 2);
}

// --pose-opt-start: before it a step drops the gradient and leaves the residuals and Adam's state alone; from it
// the first step is Adam's first (lr * sign(g)), at the schedule's learning rate of that step.
TEST(PoseOpt, FrozenBeforeStart) {
  PoseOptConfig c;
  c.optimise = true, c.lr = 1e-2f, c.reg = 0.5f, c.max_steps = 100, c.start = 3;
  PoseOptimizer po(2, c);
  Camera cam;
  pose::set_viewmat(cam, test_viewmat());
  Tensor v = Tensor::zeros({4, 4});
  v.data<float>()[3] = 2.0f;
  for (int step = 0; step < 3; ++step) po.step(1, cam, v, step);
  for (int k = 0; k < 18; ++k) EXPECT_EQ(po.embeds().data<float>()[k], 0.f) << k;
  EXPECT_EQ(po.adam().step, 0);
  po.step(1, cam, v, 3);
  EXPECT_NEAR(po.embeds().data<float>()[9], po.lr(3), 1e-7);
  EXPECT_EQ(po.adam().step, 1);
}

// --pose-opt-lr-final: the exponential decay ends at lr x that fraction (1: a constant rate).
TEST(PoseOpt, LearningRateFinalFraction) {
  PoseOptConfig c;
  c.optimise = true, c.lr = 1e-3f, c.max_steps = 200, c.lr_final = 0.1f;
  PoseOptimizer po(1, c);
  EXPECT_NEAR(po.lr(0), 1e-3, 1e-9);
  EXPECT_NEAR(po.lr(100), 1e-3 * std::sqrt(0.1), 1e-9);
  EXPECT_NEAR(po.lr(200), 1e-4, 1e-9);
  c.lr_final = 1.0f;
  EXPECT_NEAR(PoseOptimizer(1, c).lr(150), 1e-3, 1e-9);
}

// fit_sim3 recovers a similarity from cameras (rotations and centres), and transform_viewmat gives the same camera in
// the transformed world: camera coordinates of s R X + t by the new viewmat are s times those of X by the old.
TEST(PoseOpt, Sim3FitAndViewmatTransform) {
  std::mt19937 rng(3);
  std::normal_distribution<double> nd(0.0, 1.0);
  pose::Sim3 S;
  S.s = 1.7;
  S.R = Eigen::AngleAxisd(0.8, Eigen::Vector3d(1.0, 2.0, -0.5).normalized()).toRotationMatrix();
  S.t = Eigen::Vector3d(0.3, -2.0, 1.1);
  std::vector<pose::Mat34> from, to;
  for (int i = 0; i < 7; ++i) {
    const Eigen::Matrix3d R = Eigen::AngleAxisd(0.3 * i, Eigen::Vector3d(nd(rng), nd(rng), nd(rng)).normalized())
                                  .toRotationMatrix();
    pose::Mat34 v;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) v[r * 4 + c] = R(r, c);
      v[r * 4 + 3] = nd(rng);
    }
    from.push_back(v);
    to.push_back(pose::transform_viewmat(v, S));
    const Eigen::Vector3d X(nd(rng), nd(rng), nd(rng)), Xt = S.s * S.R * X + S.t;
    for (int r = 0; r < 3; ++r) {
      const double a = v[r * 4] * X(0) + v[r * 4 + 1] * X(1) + v[r * 4 + 2] * X(2) + v[r * 4 + 3];
      const pose::Mat34& w = to.back();
      const double b = w[r * 4] * Xt(0) + w[r * 4 + 1] * Xt(1) + w[r * 4 + 2] * Xt(2) + w[r * 4 + 3];
      EXPECT_NEAR(b, S.s * a, 1e-9);
    }
    EXPECT_NEAR((pose::camera_center(to.back()) - (S.s * S.R * pose::camera_center(v) + S.t)).norm(), 0.0, 1e-9);
  }
  const pose::Sim3 F = pose::fit_sim3(from, to);
  EXPECT_NEAR(F.s, S.s, 1e-9);
  EXPECT_NEAR((F.R - S.R).norm(), 0.0, 1e-9);
  EXPECT_NEAR((F.t - S.t).norm(), 0.0, 1e-9);
  // one camera: its rotation and centre, scale 1
  const pose::Sim3 one = pose::fit_sim3({from[0]}, {to[0]});
  EXPECT_EQ(one.s, 1.0);
  EXPECT_NEAR((one.R - S.R).norm(), 0.0, 1e-9);
  EXPECT_NEAR((pose::camera_center(pose::transform_viewmat(from[0], one)) - pose::camera_center(to[0])).norm(), 0.0, 1e-9);
}

// The gauge: residuals that move every training camera by one world motion G (c2w' = G c2w, i.e. the delta
// Rd = R Rg R^T, dx = t - Rd t + R tg for world -> camera [R | t]) give gauge() = G, and error_vs's aligned
// figures remove it.
TEST(PoseOpt, GaugeIsTheCommonMotionOfTheAdjustedCameras) {
  const Eigen::Matrix3d Rg = Eigen::AngleAxisd(0.05, Eigen::Vector3d(0.2, 1.0, 0.1).normalized()).toRotationMatrix();
  const Eigen::Vector3d tg(0.04, -0.02, 0.03);
  std::vector<Camera> given;
  const int n = 9;
  PoseOptConfig cfg;
  cfg.optimise = true;
  Tensor embeds = Tensor::zeros({n, 9});
  for (int i = 0; i < n; ++i) {
    const double a = 2 * M_PI * i / n;
    const Eigen::Vector3d C(3 * std::cos(a), 0.4 * (i % 3), 3 * std::sin(a));
    const Eigen::Vector3d z = -C.normalized(), x = Eigen::Vector3d::UnitY().cross(z).normalized(), y = z.cross(x);
    Eigen::Matrix3d R;
    R.row(0) = x, R.row(1) = y, R.row(2) = z;
    const Eigen::Vector3d t = -R * C;
    Camera cam;
    cam.width = cam.height = 64;
    pose::Mat34 m;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) m[r * 4 + c] = R(r, c);
      m[r * 4 + 3] = t(r);
    }
    pose::set_viewmat(cam, m);
    given.push_back(cam);
    const Eigen::Matrix3d Rd = R * Rg * R.transpose();
    const Eigen::Vector3d dx = t - Rd * t + R * tg;
    float* e = embeds.data<float>() + i * 9;
    for (int k = 0; k < 3; ++k) e[k] = static_cast<float>(dx(k));
    const double id6[6] = {1, 0, 0, 0, 1, 0};
    for (int k = 0; k < 3; ++k) e[3 + k] = static_cast<float>(Rd(0, k) - id6[k]), e[6 + k] = static_cast<float>(Rd(1, k) - id6[3 + k]);
  }
  PoseOptimizer po(n, cfg);
  po.restore(embeds, AdamState{});
  const pose::Sim3 G = po.gauge(given);
  EXPECT_NEAR(G.s, 1.0, 1e-5);
  EXPECT_NEAR((G.R - Rg).norm(), 0.0, 1e-5);
  EXPECT_NEAR((G.t - tg).norm(), 0.0, 1e-5);
  const PoseOptimizer::Error e = po.error_vs(given);
  EXPECT_NEAR(e.rot_mean_deg, 0.05 * 180 / M_PI, 1e-3);
  EXPECT_LT(e.rot_max_aligned_deg, 0.03);  // acos of a trace from the cameras' F32 viewmats: ~0.02 deg resolution
  EXPECT_LT(e.trans_mean_aligned, 1e-5);
}

// ---- short trainings on the demo scene ------------------------------------------------------------------
class PoseOptTrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("vgsplat_pose_opt_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    demo::SceneOptions o;
    o.width = o.height = 48;
    o.n_train = 16;
    o.n_test = 4;
    demo::write_scene(root_ / "data", o);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static TrainConfig config(const std::string& name, int steps) {
    TrainConfig c = demo::train_config(root_ / "data", root_ / name, steps, "cpu");
    c.init_num_pts = 2000;
    c.sh_degree = 1;
    c.strategy.grow_grad2d = 0.0004f;
    c.lpips_weights.clear();
    c.eval_steps.clear();
    c.tb_every = 0;
    c.disable_video = true;
    return c;
  }
  // Perturbed training cameras (--pose-noise 0.01) with --pose-opt at lr 1e-3.
  static TrainConfig noisy_config(const std::string& name, int steps) {
    TrainConfig c = config(name, 300);
    c.max_steps = steps;
    c.pose_opt = true;
    c.pose_opt_lr = 1e-3f;
    c.pose_noise = 0.01f;
    return c;
  }
  // The run of `c` resumed into result folder `name` from checkpoint `ckpt` of `c`'s folder, run to its end.
  static std::unique_ptr<Trainer> resume_and_run(const TrainConfig& c, const std::string& name, const std::string& ckpt,
                                                 int start_step) {
    TrainConfig r = c;
    r.result_dir = (root_ / name).string();
    r.ckpt = (fs::path(c.result_dir) / "ckpts" / ckpt).string();
    auto b = std::make_unique<Trainer>(r);
    b->set_verbose(false);
    EXPECT_EQ(b->start_step(), start_step);
    b->run();
    return b;
  }
  static fs::path root_;
};
fs::path PoseOptTrainTest::root_;

// Training cameras perturbed by about 2 deg (--pose-noise 0.02: normal residuals in the 6D rotation and
// the translation): training goes on from a scene trained 150 steps on the true cameras, and the
// optimised residuals bring the cameras back towards the true poses. (From a random initialisation
// this 48 px scene gives the residuals no usable gradient within a few hundred steps.)
TEST_F(PoseOptTrainTest, RecoversPerturbedTrainingCameras) {
  TrainConfig a = config("truth", 300);
  a.max_steps = 150;
  a.save_steps = {150};
  Trainer ta(a);
  ta.set_verbose(false);
  ta.run();
  std::vector<Camera> truth;
  for (const auto& v : ta.dataset().train) truth.push_back(v.camera);

  TrainConfig c = a;
  c.result_dir = (root_ / "noise").string();
  c.ckpt = (root_ / "truth" / "ckpts" / "ckpt_149.safetensors").string();
  c.max_steps = 250;
  c.pose_noise = 0.02f;
  c.pose_opt = true;
  c.pose_opt_lr = 0.1f;  // decayed to 0.1 * 0.01^(150/250) = 6e-3 at step 150, 1e-3 at the end
  c.eval_steps = {250};
  c.eval_pose_opt_steps = 40;  // the test cameras aligned to the adjusted frame, then optimised on their images
  c.eval_pose_opt_lr = 3e-3f;
  Trainer t(c);
  t.set_verbose(false);
  ASSERT_EQ(t.start_step(), 150);
  PoseOptConfig noise_only;
  noise_only.noise = c.pose_noise, noise_only.seed = c.seed;
  const PoseOptimizer::Error before = PoseOptimizer(static_cast<int>(truth.size()), noise_only).error_vs(truth);
  t.run();
  const PoseOptimizer::Error after = t.pose_optimizer()->error_vs(truth);
  std::printf("[pose_opt] training cameras vs truth: rotation %.3f -> %.3f deg (max %.3f -> %.3f), centre %.4f -> %.4f\n",
              before.rot_mean_deg, after.rot_mean_deg, before.rot_max_deg, after.rot_max_deg, before.trans_mean,
              after.trans_mean);
  EXPECT_GT(before.rot_mean_deg, 1.0);
  EXPECT_LT(after.rot_mean_deg, 0.5 * before.rot_mean_deg);
  EXPECT_LT(after.rot_max_deg, 0.6 * before.rot_max_deg);
  // The report: every training image in the original frame, the error against the given cameras.
  const auto j = nlohmann::json::parse(read_file(root_ / "noise" / "poses" / "train_poses_249.json"));
  EXPECT_EQ(j["images"].size(), truth.size());
  EXPECT_NEAR(j["error_vs_given"]["rotation_mean_deg"].get<double>(), after.rot_mean_deg, 1e-9);
  EXPECT_EQ(j["images"][0]["camtoworld"].size(), 4u);
  EXPECT_LT(j["error_vs_given"]["after_similarity_alignment"]["rotation_mean_deg"].get<double>(),
            after.rot_mean_deg + 1e-9);
  // Evaluation: the metrics at the adjusted test cameras and at the given ones.
  const auto v = nlohmann::json::parse(read_file(root_ / "noise" / "stats" / "val_step0249.json"));
  std::printf("[pose_opt] test PSNR %.3f (%s), at the given test cameras %.3f; test cameras moved %.4f deg\n",
              v["psnr"].get<double>(), v["test_poses"].get<std::string>().c_str(),
              v["psnr_at_given_poses"].get<double>(), v["test_pose_change"]["rotation_mean_deg"].get<double>());
  EXPECT_EQ(v["test_poses"], "aligned + optimised (40 steps)");
  EXPECT_GT(v["psnr"].get<double>(), v["psnr_at_given_poses"].get<double>() - 0.05);
  EXPECT_GT(v["test_pose_change"]["rotation_mean_deg"].get<double>(), 0.0);
}

TEST_F(PoseOptTrainTest, ResumeRestoresTheEmbeddingExactly) {
  TrainConfig c = noisy_config("resume_a", 24);
  c.save_steps = {12};
  c.strategy.refine_stop_iter = 10;
  Trainer a(c);
  a.set_verbose(false);
  a.run();
  const std::unique_ptr<Trainer> bp = resume_and_run(c, "resume_b", "ckpt_11.safetensors", 12);
  const Trainer& b = *bp;
  EXPECT_EQ(a.pose_optimizer()->embeds().to_vector<float>(), b.pose_optimizer()->embeds().to_vector<float>());
  EXPECT_EQ(a.pose_optimizer()->adam().step, 24);
  EXPECT_EQ(b.pose_optimizer()->adam().step, 24);
  EXPECT_EQ(a.gaussians().means.to_vector<float>(), b.gaussians().means.to_vector<float>());
  for (float x : a.pose_optimizer()->embeds().to_vector<float>()) EXPECT_TRUE(std::isfinite(x));
}

// poses/error_history.json (with --pose-noise, every 100 steps) survives a resume: the resumed run keeps the entries
// before its first step from the file and ends with the same history as the uninterrupted run.
TEST_F(PoseOptTrainTest, ErrorHistoryContinuesOnResume) {
  TrainConfig c = noisy_config("hist_a", 250);
  c.save_steps = {150};
  Trainer a(c);
  a.set_verbose(false);
  a.run();
  const auto ha = nlohmann::json::parse(read_file(root_ / "hist_a" / "poses" / "error_history.json"));
  ASSERT_EQ(ha.size(), 3u);  // steps 0, 100, 200
  EXPECT_EQ(ha[2]["step"], 200);
  fs::create_directories(root_ / "hist_b" / "poses");
  fs::copy_file(root_ / "hist_a" / "poses" / "error_history.json", root_ / "hist_b" / "poses" / "error_history.json");
  resume_and_run(c, "hist_b", "ckpt_149.safetensors", 150);
  EXPECT_EQ(nlohmann::json::parse(read_file(root_ / "hist_b" / "poses" / "error_history.json")), ha);
}

}  // namespace
}  // namespace vg
