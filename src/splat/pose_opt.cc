#include "splat/pose_opt.h"

#include "core/tensor_ops.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"

namespace vg {
namespace pose {
namespace {

constexpr double kIdentity6[6] = {1, 0, 0, 0, 1, 0};

double dot3(const double* a, const double* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
void cross3(const double* a, const double* b, double* c) {
  c[0] = a[1] * b[2] - a[2] * b[1], c[1] = a[2] * b[0] - a[0] * b[2], c[2] = a[0] * b[1] - a[1] * b[0];
}
// F.normalize: x / max(|x|, 1e-12).
double norm_clamped(const double* x) { return std::max(std::sqrt(dot3(x, x)), 1e-12); }

}  // namespace

void rotation_6d_to_matrix(const double* d6, double* R) {
  const double *a1 = d6, *a2 = d6 + 3;
  double* b1 = R;
  double* b2 = R + 3;
  const double n1 = norm_clamped(a1);
  for (int i = 0; i < 3; ++i) b1[i] = a1[i] / n1;
  const double p = dot3(b1, a2);
  double u[3];
  for (int i = 0; i < 3; ++i) u[i] = a2[i] - p * b1[i];
  const double n2 = norm_clamped(u);
  for (int i = 0; i < 3; ++i) b2[i] = u[i] / n2;
  cross3(b1, b2, R + 6);
}

void rotation_6d_to_matrix_vjp(const double* d6, const double* G, double* v_d6) {
  const double *a1 = d6, *a2 = d6 + 3;
  double R[9];
  rotation_6d_to_matrix(d6, R);
  const double *b1 = R, *b2 = R + 3, *g3 = G + 6;
  const double n1 = norm_clamped(a1);
  double u[3];
  const double p = dot3(b1, a2);
  for (int i = 0; i < 3; ++i) u[i] = a2[i] - p * b1[i];
  const double n2 = norm_clamped(u);
  // b3 = b1 x b2: d/db1 = b2 x g3, d/db2 = g3 x b1.
  double v_b1[3], v_b2[3], c1[3], c2[3];
  cross3(b2, g3, c1);
  cross3(g3, b1, c2);
  for (int i = 0; i < 3; ++i) v_b1[i] = G[i] + c1[i], v_b2[i] = G[3 + i] + c2[i];
  // b2 = u / |u|
  double v_u[3];
  const double q = dot3(v_b2, b2);
  for (int i = 0; i < 3; ++i) v_u[i] = (v_b2[i] - q * b2[i]) / n2;
  // u = a2 - (b1.a2) b1
  const double r = dot3(b1, v_u);
  for (int i = 0; i < 3; ++i) {
    v_d6[3 + i] = v_u[i] - r * b1[i];
    v_b1[i] -= r * a2[i] + p * v_u[i];
  }
  // b1 = a1 / |a1|
  const double w = dot3(v_b1, b1);
  for (int i = 0; i < 3; ++i) v_d6[i] = (v_b1[i] - w * b1[i]) / n1;
}

Mat34 to_mat34(const Camera& cam) {
  Mat34 m;
  for (int i = 0; i < 12; ++i) m[i] = cam.viewmat[i];
  return m;
}

void set_viewmat(Camera& cam, const Mat34& m) {
  for (int i = 0; i < 12; ++i) cam.viewmat[i] = static_cast<float>(m[i]);
  cam.viewmat[12] = cam.viewmat[13] = cam.viewmat[14] = 0, cam.viewmat[15] = 1;
}

Mat34 apply_delta(const Mat34& V, const double* delta) {
  double d6[6], Rd[9];
  for (int i = 0; i < 6; ++i) d6[i] = delta[3 + i] + kIdentity6[i];
  rotation_6d_to_matrix(d6, Rd);
  Mat34 out{};
  double tm[3];
  for (int k = 0; k < 3; ++k) tm[k] = V[k * 4 + 3] - delta[k];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j)
      out[i * 4 + j] = Rd[i] * V[j] + Rd[3 + i] * V[4 + j] + Rd[6 + i] * V[8 + j];  // (Rd^T R)_ij
    out[i * 4 + 3] = Rd[i] * tm[0] + Rd[3 + i] * tm[1] + Rd[6 + i] * tm[2];
  }
  return out;
}

void apply_delta_vjp(const Mat34& V, const double* delta, const double* v_out, double* v_delta) {
  double d6[6], Rd[9];
  for (int i = 0; i < 6; ++i) d6[i] = delta[3 + i] + kIdentity6[i];
  rotation_6d_to_matrix(d6, Rd);
  double tm[3];
  for (int k = 0; k < 3; ++k) tm[k] = V[k * 4 + 3] - delta[k];
  // R' = Rd^T R: d/dRd_ki = sum_j G_ij R_kj; t' = Rd^T tm: d/dRd_ki += g_i tm_k; d/d dx = -Rd g.
  double v_Rd[9];
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 3; ++i) {
      double acc = v_out[i * 4 + 3] * tm[k];
      for (int j = 0; j < 3; ++j) acc += v_out[i * 4 + j] * V[k * 4 + j];
      v_Rd[k * 3 + i] = acc;
    }
  for (int k = 0; k < 3; ++k)
    v_delta[k] = -(Rd[k * 3] * v_out[3] + Rd[k * 3 + 1] * v_out[7] + Rd[k * 3 + 2] * v_out[11]);
  rotation_6d_to_matrix_vjp(d6, v_Rd, v_delta + 3);
}

double rotation_error_deg(const Mat34& a, const Mat34& b) {
  double tr = 0;  // trace(Ra Rb^T)
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) tr += a[i * 4 + j] * b[i * 4 + j];
  return std::acos(std::clamp((tr - 1) / 2, -1.0, 1.0)) * 180.0 / M_PI;
}

double center_distance(const Mat34& a, const Mat34& b) {
  double d2 = 0;
  for (int j = 0; j < 3; ++j) {  // centre -R^T t
    double ca = 0, cb = 0;
    for (int i = 0; i < 3; ++i) ca -= a[i * 4 + j] * a[i * 4 + 3], cb -= b[i * 4 + j] * b[i * 4 + 3];
    d2 += (ca - cb) * (ca - cb);
  }
  return std::sqrt(d2);
}

Eigen::Vector3d camera_center(const Mat34& v) {
  Eigen::Vector3d c;
  for (int j = 0; j < 3; ++j) c(j) = -(v[j] * v[3] + v[4 + j] * v[7] + v[8 + j] * v[11]);
  return c;
}

Sim3 fit_sim3(const std::vector<Mat34>& from, const std::vector<Mat34>& to) {
  VG_CHECK(from.size() == to.size(), "fit_sim3: ", from.size(), " and ", to.size(), " cameras");
  const int n = static_cast<int>(from.size());
  Sim3 S;
  if (n == 0) return S;
  // Rotation: a world motion R maps a camera's rotation Rf to Rf R^T, so R = Rt^T Rf for each camera; their
  // chordal L2 mean (Hartley et al. 2013, "Rotation Averaging", Sec. 5.3): the SVD projection of the sum.
  Eigen::Matrix3d M = Eigen::Matrix3d::Zero();
  Eigen::Matrix3Xd a(3, n), b(3, n);
  for (int i = 0; i < n; ++i) {
    Eigen::Matrix3d Rf, Rt;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) Rf(r, c) = from[i][r * 4 + c], Rt(r, c) = to[i][r * 4 + c];
    M += Rt.transpose() * Rf;
    a.col(i) = camera_center(from[i]), b.col(i) = camera_center(to[i]);
  }
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(M, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d D = Eigen::Matrix3d::Identity();
  D(2, 2) = (svd.matrixU() * svd.matrixV().transpose()).determinant() < 0 ? -1 : 1;
  S.R = svd.matrixU() * D * svd.matrixV().transpose();
  // Scale and translation from the centres in least squares given R: b = s R a + t.
  const Eigen::Vector3d ma = a.rowwise().mean(), mb = b.rowwise().mean();
  const Eigen::Matrix3Xd ac = S.R * (a.colwise() - ma), bc = b.colwise() - mb;
  const double den = ac.squaredNorm();
  if (n >= 2 && den > 1e-18 * std::max(1.0, ma.squaredNorm())) {
    const double s = (ac.array() * bc.array()).sum() / den;
    if (std::isfinite(s) && s > 0) S.s = s;
  }
  S.t = mb - S.s * S.R * ma;
  return S;
}

Mat34 transform_viewmat(const Mat34& v, const Sim3& S) {
  Eigen::Matrix3d Rv;
  Eigen::Vector3d tv;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) Rv(i, j) = v[i * 4 + j];
    tv(i) = v[i * 4 + 3];
  }
  const Eigen::Matrix3d R = Rv * S.R.transpose();
  const Eigen::Vector3d t = S.s * tv - R * S.t;
  Mat34 out;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) out[i * 4 + j] = R(i, j);
    out[i * 4 + 3] = t(i);
  }
  return out;
}

}  // namespace pose

PoseOptimizer::PoseOptimizer(int n_images, const PoseOptConfig& cfg) : cfg_(cfg), n_(n_images) {
  VG_CHECK(n_images > 0, "pose optimisation needs training images");
  embeds_ = Tensor::zeros({n_, 9});  // gsplat zero_init
  adam_ = adam_init(embeds_);
  noise_.assign(static_cast<size_t>(n_), {});
  if (cfg_.noise > 0) {  // gsplat random_init(std): every residual entry ~ normal(0, std)
    std::mt19937_64 rng(cfg_.seed ^ 0x5053454E4F495345ull);
    std::normal_distribution<double> nd(0.0, cfg_.noise);
    for (auto& r : noise_)
      for (double& x : r) x = nd(rng);
  }
}

pose::Mat34 PoseOptimizer::initial(int image, const Camera& given) const {
  VG_CHECK(image >= 0 && image < n_, "pose optimisation: no training image ", image);
  const pose::Mat34 m = pose::to_mat34(given);
  return cfg_.noise > 0 ? pose::apply_delta(m, noise_[image].data()) : m;
}

pose::Sim3 PoseOptimizer::gauge(const std::vector<Camera>& given) const {
  VG_CHECK(static_cast<int>(given.size()) == n_, "pose gauge: ", given.size(), " cameras for ", n_, " images");
  std::vector<pose::Mat34> from, to;
  for (int i = 0; i < n_; ++i) from.push_back(initial(i, given[i])), to.push_back(pose::to_mat34(train_camera(i, given[i])));
  return pose::fit_sim3(from, to);
}

Camera PoseOptimizer::train_camera(int image, const Camera& given) const {
  VG_CHECK(image >= 0 && image < n_, "pose optimisation: no training image ", image);
  if (cfg_.noise <= 0 && !cfg_.optimise) return given;
  pose::Mat34 m = pose::to_mat34(given);
  if (cfg_.noise > 0) m = pose::apply_delta(m, noise_[image].data());
  if (cfg_.optimise) {
    const float* e = embeds_.data<float>() + image * 9;
    const double d[9] = {e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8]};
    m = pose::apply_delta(m, d);
  }
  Camera c = given;
  pose::set_viewmat(c, m);
  return c;
}

double PoseOptimizer::lr(int step) const {
  // torch ExponentialLR(gamma = lr_final^(1/max_steps)) stepped after every optimizer step (gsplat: 0.01).
  const double t = static_cast<double>(step) / cfg_.max_steps;
  return static_cast<double>(cfg_.lr) * std::pow(static_cast<double>(cfg_.lr_final), t);
}

void PoseOptimizer::step(int image, const Camera& given, const Tensor& v_viewmat, int step) {
  if (!cfg_.optimise) return;
  accumulate(image, given, v_viewmat);
  this->step(step);
}

void PoseOptimizer::accumulate(int image, const Camera& given, const Tensor& v_viewmat, float weight) {
  if (!cfg_.optimise) return;
  VG_CHECK(image >= 0 && image < n_, "pose optimisation: no training image ", image);
  v_viewmat.expect("v_viewmat", {4, 4});
  const std::vector<float> vv = v_viewmat.to_vector<float>();  // 64 bytes from the GPU
  double v_out[12];
  for (int i = 0; i < 12; ++i) v_out[i] = vv[i];
  pose::Mat34 m = pose::to_mat34(given);
  if (cfg_.noise > 0) m = pose::apply_delta(m, noise_[image].data());
  const float* e = embeds_.data<float>();
  const double d[9] = {e[image * 9], e[image * 9 + 1], e[image * 9 + 2], e[image * 9 + 3], e[image * 9 + 4],
                       e[image * 9 + 5], e[image * 9 + 6], e[image * 9 + 7], e[image * 9 + 8]};
  double v_d[9];
  pose::apply_delta_vjp(m, d, v_out, v_d);
  if (!grad_.defined()) grad_ = Tensor::zeros({n_, 9});
  float* g = grad_.data<float>();
  for (int k = 0; k < 9; ++k) g[image * 9 + k] += static_cast<float>(weight * v_d[k]);
}

void PoseOptimizer::step(int step) {
  if (!cfg_.optimise) return;
  // torch.nn.Embedding's dense gradient: zero for the rows of no view; weight decay adds reg * param to all.
  if (!grad_.defined()) grad_ = Tensor::zeros({n_, 9});
  if (step < cfg_.start) {  // frozen: Adam's moments and step count stay as they are
    fill_(grad_, 0.0f);
    return;
  }
  float* g = grad_.data<float>();
  const float* e = embeds_.data<float>();
  if (cfg_.reg != 0)
    for (int64_t i = 0; i < embeds_.numel(); ++i) g[i] += cfg_.reg * e[i];
  AdamConfig ac;
  ac.lr = static_cast<float>(lr(step));
  ac.eps = 1e-8f;  // torch.optim.Adam default
  adam_step(embeds_, grad_, adam_, ac);
  fill_(grad_, 0.0f);
}

PoseOptimizer::Error PoseOptimizer::error_vs(const std::vector<Camera>& truth) const {
  VG_CHECK(static_cast<int>(truth.size()) == n_, "pose error: ", truth.size(), " cameras for ", n_, " images");
  Error err;
  std::vector<pose::Mat34> adjusted, given;
  for (int i = 0; i < n_; ++i) adjusted.push_back(pose::to_mat34(train_camera(i, truth[i]))), given.push_back(pose::to_mat34(truth[i]));
  const pose::Sim3 S = pose::fit_sim3(given, adjusted);
  for (int i = 0; i < n_; ++i) {
    const pose::Mat34 &a = adjusted[i], &b = given[i];
    const double r = pose::rotation_error_deg(a, b);
    err.rot_mean_deg += r / n_;
    err.rot_max_deg = std::max(err.rot_max_deg, r);
    err.trans_mean += pose::center_distance(a, b) / n_;
    const pose::Mat34 bt = pose::transform_viewmat(b, S);  // centre distance in the adjusted frame, / its scale
    const double ra = pose::rotation_error_deg(a, bt);
    err.rot_mean_aligned_deg += ra / n_;
    err.rot_max_aligned_deg = std::max(err.rot_max_aligned_deg, ra);
    err.trans_mean_aligned += pose::center_distance(a, bt) / (S.s * n_);
  }
  return err;
}

void PoseOptimizer::restore(const Tensor& embeds, const AdamState& adam) {
  VG_CHECK(embeds.defined() && embeds.shape() == Shape({n_, 9}) && embeds.dtype() == DType::F32,
           "checkpoint: pose embedding of shape ", embeds.defined() ? shape_str(embeds.shape()) : "(none)", " for ",
           n_, " training images (expected [", n_, ", 9])");
  embeds_ = embeds.to(Device::cpu());
  if (adam.exp_avg.defined()) {
    VG_CHECK(adam.exp_avg.shape() == embeds.shape() && adam.exp_avg_sq.shape() == embeds.shape(),
             "checkpoint: pose Adam moments do not match the embedding");
    adam_.exp_avg = adam.exp_avg.to(Device::cpu());
    adam_.exp_avg_sq = adam.exp_avg_sq.to(Device::cpu());
    adam_.step = adam.step;
  }
}

namespace {

// camera -> original-world camtoworld: x_n = s A x_o + b, so world -> camera in the original frame is
// [R A | (R b + t) / s] (metric in the original units), then inverted.
Eigen::Matrix4d original_c2w(const Camera& cam, const Eigen::Matrix4d& T) {
  const Eigen::Matrix3d M = T.topLeftCorner<3, 3>();
  const double s = std::cbrt(M.determinant());
  VG_CHECK(std::isfinite(s) && s > 0, "pose report: the world transform is not a similarity");
  Eigen::Matrix3d R;
  Eigen::Vector3d t;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) R(i, j) = cam.viewmat[i * 4 + j];
    t(i) = cam.viewmat[i * 4 + 3];
  }
  const Eigen::Matrix3d Ro = R * (M / s);
  const Eigen::Vector3d to = (R * T.topRightCorner<3, 1>() + t) / s;
  Eigen::Matrix4d c2w = Eigen::Matrix4d::Identity();
  c2w.topLeftCorner<3, 3>() = Ro.transpose();
  c2w.topRightCorner<3, 1>() = -Ro.transpose() * to;
  return c2w;
}

nlohmann::json rows(const Eigen::Matrix4d& m) {
  nlohmann::json r = nlohmann::json::array();
  for (int i = 0; i < 4; ++i) r.push_back({m(i, 0), m(i, 1), m(i, 2), m(i, 3)});
  return r;
}

}  // namespace

void write_pose_report(const std::filesystem::path& file, const PoseOptimizer& po, const PoseOptConfig& cfg,
                       const std::vector<std::string>& names, const std::vector<Camera>& given,
                       const Eigen::Matrix4d& transform, int step) {
  VG_CHECK(names.size() == given.size(), "pose report: ", names.size(), " names for ", given.size(), " cameras");
  nlohmann::json images = nlohmann::json::array();
  double rot_sum = 0, trans_sum = 0;
  for (size_t i = 0; i < given.size(); ++i) {
    const Eigen::Matrix4d a = original_c2w(po.train_camera(static_cast<int>(i), given[i]), transform);
    const Eigen::Matrix4d g = original_c2w(given[i], transform);
    const double cos_r = ((a.topLeftCorner<3, 3>().transpose() * g.topLeftCorner<3, 3>()).trace() - 1) / 2;
    const double rot = std::acos(std::clamp(cos_r, -1.0, 1.0)) * 180.0 / M_PI;
    const double trans = (a.topRightCorner<3, 1>() - g.topRightCorner<3, 1>()).norm();
    rot_sum += rot, trans_sum += trans;
    images.push_back({{"name", names[i]}, {"camtoworld", rows(a)}, {"camtoworld_given", rows(g)},
                      {"rotation_change_deg", rot}, {"center_change", trans}});
  }
  const double n = std::max<double>(1.0, static_cast<double>(given.size()));
  nlohmann::json j = {{"step", step},
                      {"frame", "the dataset's original world frame; camtoworld 4x4, OpenCV axes (x right, y down, "
                                "z forward)"},
                      {"pose_opt", cfg.optimise},
                      {"pose_opt_lr", cfg.lr},
                      {"pose_opt_reg", cfg.reg},
                      {"pose_noise", cfg.noise},
                      {"mean_rotation_change_deg", rot_sum / n},
                      {"mean_center_change", trans_sum / n},
                      {"images", images}};
  if (cfg.noise > 0) {  // the given cameras are the truth the perturbed ones should come back to
    const PoseOptimizer::Error e = po.error_vs(given);
    j["error_vs_given"] = {{"rotation_mean_deg", e.rot_mean_deg},
                           {"rotation_max_deg", e.rot_max_deg},
                           {"center_mean_normalized_world", e.trans_mean},
                           {"after_similarity_alignment",
                            {{"rotation_mean_deg", e.rot_mean_aligned_deg},
                             {"rotation_max_deg", e.rot_max_aligned_deg},
                             {"center_mean_normalized_world", e.trans_mean_aligned}}}};
  }
  write_file_atomic(file, j.dump(2) + "\n");
}

}  // namespace vg
