#include "sfm/rotation_averaging.h"

#include <algorithm>
#include <cmath>

#include <Eigen/LU>
#include <Eigen/SVD>

#include "core/error.h"

namespace vg {
namespace {

constexpr double kDeg = 3.14159265358979323846 / 180;

// The rotation nearest M in the Frobenius norm (SVD projection onto SO(3)).
Eigen::Matrix3d project_so3(const Eigen::Matrix3d& M) {
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(M, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d D = Eigen::Matrix3d::Identity();
  D(2, 2) = (svd.matrixU() * svd.matrixV().transpose()).determinant() < 0 ? -1 : 1;
  return svd.matrixU() * D * svd.matrixV().transpose();
}

}  // namespace

double rotation_angle_deg(const Eigen::Matrix3d& A, const Eigen::Matrix3d& B) {
  const double c = std::clamp(((A * B.transpose()).trace() - 1) / 2, -1.0, 1.0);
  return std::acos(c) / kDeg;
}

std::vector<Eigen::Matrix3d> average_rotations(const std::vector<Eigen::Matrix3d>& initial,
                                               const std::vector<RelativeRotation>& pairs,
                                               const RotationAveragingOptions& opt, RotationAveragingReport* report) {
  const int n = static_cast<int>(initial.size());
  std::vector<std::vector<int>> edges(n);  // pair indices per image
  for (int k = 0; k < static_cast<int>(pairs.size()); ++k) {
    const RelativeRotation& p = pairs[k];
    VG_CHECK(p.i >= 0 && p.j >= 0 && p.i < n && p.j < n && p.i != p.j, "rotation averaging: bad pair (", p.i, ", ",
             p.j, ") for ", n, " images");
    edges[p.i].push_back(k);
    edges[p.j].push_back(k);
  }
  std::vector<Eigen::Matrix3d> R = initial;
  RotationAveragingReport rep;
  for (int i = 0; i < n; ++i) rep.images_connected += !edges[i].empty();
  for (int sweep = 0; sweep < opt.max_sweeps; ++sweep) {
    const double scale = (sweep < 20 ? opt.initial_cauchy_deg : opt.cauchy_deg) * kDeg;
    double max_change = 0;
    for (int i = 0; i < n; ++i) {
      if (edges[i].empty()) continue;
      Eigen::Matrix3d M = Eigen::Matrix3d::Zero();
      for (int k : edges[i]) {
        const RelativeRotation& p = pairs[k];
        // The estimate of R_i this pair gives: R_ji^T R_j (i first) or R_ji R_j (i second).
        const Eigen::Matrix3d est = p.i == i ? Eigen::Matrix3d(p.R_ji.transpose() * R[p.j]) : Eigen::Matrix3d(p.R_ji * R[p.i]);
        const double r = rotation_angle_deg(est, R[i]) * kDeg;
        M += p.weight / (1 + (r / scale) * (r / scale)) * est;  // Cauchy IRLS weight
      }
      const Eigen::Matrix3d Ri = project_so3(M);
      max_change = std::max(max_change, rotation_angle_deg(Ri, R[i]));
      R[i] = Ri;
    }
    rep.sweeps = sweep + 1;
    if (sweep >= 20 && max_change < opt.tolerance_deg) break;
  }
  // The global rotation (a right factor) closest to the initial rotations: Q = proj(sum R_i^T P_i).
  Eigen::Matrix3d S = Eigen::Matrix3d::Zero();
  for (int i = 0; i < n; ++i)
    if (!edges[i].empty()) S += R[i].transpose() * initial[i];
  const Eigen::Matrix3d Q = rep.images_connected ? project_so3(S) : Eigen::Matrix3d::Identity();
  for (int i = 0; i < n; ++i) R[i] = edges[i].empty() ? initial[i] : Eigen::Matrix3d(R[i] * Q);
  std::vector<double> res;
  for (const RelativeRotation& p : pairs) res.push_back(rotation_angle_deg(p.R_ji * R[p.i], R[p.j]));
  if (!res.empty()) {
    std::nth_element(res.begin(), res.begin() + static_cast<long>(res.size() / 2), res.end());
    rep.median_residual_deg = res[res.size() / 2];
  }
  if (report) *report = rep;
  return R;
}

}  // namespace vg
