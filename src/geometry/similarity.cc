// Similarity transforms: Umeyama (1991) least-squares alignment and pose comparison against ground truth.
#include "geometry/similarity.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "core/error.h"

namespace vg {

Eigen::Matrix4d Sim3::matrix() const {
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  m.topLeftCorner<3, 3>() = scale * R;
  m.topRightCorner<3, 1>() = t;
  return m;
}

Sim3 Sim3::inverse() const {
  Sim3 inv;
  inv.scale = 1 / scale;
  inv.R = R.transpose();
  inv.t = -inv.scale * (inv.R * t);
  return inv;
}

Sim3 umeyama(const std::vector<Eigen::Vector3d>& src, const std::vector<Eigen::Vector3d>& dst, bool with_scale) {
  VG_CHECK(src.size() == dst.size(), "umeyama: ", src.size(), " source vs ", dst.size(), " target points");
  VG_CHECK(src.size() >= 3, "umeyama: needs >= 3 points, got ", src.size());
  const double n = static_cast<double>(src.size());
  Eigen::Vector3d ms = Eigen::Vector3d::Zero(), md = Eigen::Vector3d::Zero();
  for (size_t i = 0; i < src.size(); ++i) {
    ms += src[i];
    md += dst[i];
  }
  ms /= n;
  md /= n;
  Eigen::Matrix3d cov = Eigen::Matrix3d::Zero();  // Sigma_xy = 1/n sum (d - md)(s - ms)^T
  double var_src = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    cov += (dst[i] - md) * (src[i] - ms).transpose();
    var_src += (src[i] - ms).squaredNorm();
  }
  cov /= n;
  var_src /= n;
  VG_CHECK(var_src > 0, "umeyama: the source points coincide");
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(cov, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Vector3d S = Eigen::Vector3d::Ones();
  if (svd.matrixU().determinant() * svd.matrixV().determinant() < 0) S(2) = -1;  // reflection guard (eq. 39)
  Sim3 sim;
  sim.R = svd.matrixU() * S.asDiagonal() * svd.matrixV().transpose();
  sim.scale = with_scale ? svd.singularValues().dot(S) / var_src : 1.0;  // eq. 42
  sim.t = md - sim.scale * (sim.R * ms);
  return sim;
}

PoseErrors compare_poses(const std::vector<Eigen::Matrix4d>& estimated, const std::vector<Eigen::Matrix4d>& truth) {
  VG_CHECK(estimated.size() == truth.size(), "compare_poses: ", estimated.size(), " estimated vs ", truth.size(),
           " true cameras");
  VG_CHECK(estimated.size() >= 3, "compare_poses: needs >= 3 cameras, got ", estimated.size());
  auto center = [](const Eigen::Matrix4d& m) -> Eigen::Vector3d {
    return -m.topLeftCorner<3, 3>().transpose() * m.topRightCorner<3, 1>();
  };
  std::vector<Eigen::Vector3d> ce, ct;
  for (size_t i = 0; i < truth.size(); ++i) {
    ce.push_back(center(estimated[i]));
    ct.push_back(center(truth[i]));
  }
  const Sim3 sim = umeyama(ce, ct);  // estimated world -> true world (centres)
  // Rotation part for the orientation errors: the chordal L2 mean of the per-camera offsets
  // A_i = R_true_i^T R_est_i (Hartley et al., "Rotation averaging", IJCV 2013, sec. 5.3), so that a small
  // error in the centres' fit does not show up as a common rotation bias of every camera.
  Eigen::Matrix3d sum = Eigen::Matrix3d::Zero();
  for (size_t i = 0; i < truth.size(); ++i)
    sum += truth[i].topLeftCorner<3, 3>().transpose() * estimated[i].topLeftCorner<3, 3>();
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(sum, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d D = Eigen::Matrix3d::Identity();
  D(2, 2) = (svd.matrixU() * svd.matrixV().transpose()).determinant() < 0 ? -1 : 1;
  const Eigen::Matrix3d A = svd.matrixU() * D * svd.matrixV().transpose();  // est world -> true world
  PoseErrors e;
  for (size_t i = 0; i < truth.size(); ++i) {
    // Estimated camera in the true world: R_cam_from_true = R_est * A^T.
    const Eigen::Matrix3d Re = estimated[i].topLeftCorner<3, 3>() * A.transpose();
    const Eigen::Matrix3d dR = Re * truth[i].topLeftCorner<3, 3>().transpose();
    const double c = std::clamp((dR.trace() - 1) / 2, -1.0, 1.0);
    const double s = 0.5 * Eigen::Vector3d(dR(2, 1) - dR(1, 2), dR(0, 2) - dR(2, 0), dR(1, 0) - dR(0, 1)).norm();
    e.rotation_deg.push_back(std::atan2(s, c) * 180.0 / M_PI);
    e.center.push_back((sim.apply(ce[i]) - ct[i]).norm());
  }
  const double n = static_cast<double>(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) {
    e.mean_rotation_deg += e.rotation_deg[i] / n;
    e.mean_center += e.center[i] / n;
    e.max_rotation_deg = std::max(e.max_rotation_deg, e.rotation_deg[i]);
    e.max_center = std::max(e.max_center, e.center[i]);
  }
  return e;
}

}  // namespace vg
