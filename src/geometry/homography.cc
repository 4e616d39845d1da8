// Homography: normalised 4-point DLT (Hartley & Zisserman alg. 4.2) and its decomposition into a relative pose.
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "core/error.h"
#include "geometry/triangulation.h"
#include "geometry/two_view.h"
#include "geometry/two_view_internal.h"

namespace vg {

Eigen::Matrix3d homography_dlt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2) {
  VG_CHECK(x1.size() == x2.size() && x1.size() >= 4, "homography_dlt: needs >= 4 correspondences, got ", x1.size(),
           "/", x2.size());
  std::vector<Eigen::Vector2d> n1, n2;
  const Eigen::Matrix3d T1 = normalize_points(x1, &n1), T2 = normalize_points(x2, &n2);
  if (n1.size() == 4) {  // minimal case: 8x8 system with h33 = 1 (fast path for RANSAC)
    Eigen::Matrix<double, 8, 8> A;
    Eigen::Matrix<double, 8, 1> b;
    for (int i = 0; i < 4; ++i) {
      const double u = n1[i](0), v = n1[i](1), s = n2[i](0), t = n2[i](1);
      A.row(2 * i) << u, v, 1, 0, 0, 0, -s * u, -s * v;
      A.row(2 * i + 1) << 0, 0, 0, u, v, 1, -t * u, -t * v;
      b(2 * i) = s;
      b(2 * i + 1) = t;
    }
    // Partial pivoting: a degenerate sample (three collinear points) gives a non-finite or useless model
    // that RANSAC's scoring drops; full pivoting cost twice as much for nothing.
    const Eigen::Matrix<double, 8, 1> h = A.partialPivLu().solve(b);
    if (h.allFinite()) {
      Eigen::Matrix3d Hn;
      Hn << h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7), 1;
      Eigen::Matrix3d H = T2.inverse() * Hn * T1;
      if (std::abs(H(2, 2)) > 1e-12 * H.norm()) H /= H(2, 2);
      return H;
    }
  }
  // x2 ~ H x1: two rows per correspondence from x2 x (H x1) = 0.
  Eigen::Matrix<double, Eigen::Dynamic, 9> A = Eigen::Matrix<double, Eigen::Dynamic, 9>::Zero(2 * n1.size(), 9);
  for (size_t i = 0; i < n1.size(); ++i) {
    const double u = n1[i](0), v = n1[i](1), s = n2[i](0), t = n2[i](1);
    A.row(2 * i) << -u, -v, -1, 0, 0, 0, s * u, s * v, s;
    A.row(2 * i + 1) << 0, 0, 0, -u, -v, -1, t * u, t * v, t;
  }
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix<double, 9, 9>> es(A.transpose() * A);
  const Eigen::Matrix<double, 9, 1> h = es.eigenvectors().col(0);
  Eigen::Matrix3d Hn;
  Hn << h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(8);
  Eigen::Matrix3d H = T2.inverse() * Hn * T1;
  if (std::abs(H(2, 2)) > 1e-12 * H.norm()) H /= H(2, 2);
  return H;
}

double homography_error_sq(const Eigen::Matrix3d& H, const Eigen::Vector2d& x1, const Eigen::Vector2d& x2) {
  const Eigen::Vector3d p = H * x1.homogeneous();
  if (std::abs(p(2)) < 1e-15) return std::numeric_limits<double>::max();
  return (p.hnormalized() - x2).squaredNorm();
}

std::vector<HomographyPose> decompose_homography(const Eigen::Matrix3d& Hin) {
  // Scale so that the middle singular value is 1 (H = R + t n^T up to that scale).
  Eigen::JacobiSVD<Eigen::Matrix3d> s0(Hin);
  const Eigen::Matrix3d H = Hin / s0.singularValues()(1);
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(H.transpose() * H, Eigen::ComputeFullV);
  const Eigen::Vector3d s2 = svd.singularValues();  // sigma1^2 >= 1 >= sigma3^2
  Eigen::Matrix3d V = svd.matrixV();
  if (V.determinant() < 0) V = -V;
  // H^T H = I (within 1e-3, as COLMAP's DecomposeHomographyMatrix): a pure rotation (panoramic).
  if (std::max(s2(0) - 1, 1 - s2(2)) < 1e-3) {
    Eigen::JacobiSVD<Eigen::Matrix3d> r(H, Eigen::ComputeFullU | Eigen::ComputeFullV);
    return {{r.matrixU() * r.matrixV().transpose(), Eigen::Vector3d::Zero(), Eigen::Vector3d::UnitZ()}};
  }
  const Eigen::Vector3d v1 = V.col(0), v2 = V.col(1), v3 = V.col(2);
  const double a = std::sqrt(std::max(0.0, 1 - s2(2))), b = std::sqrt(std::max(0.0, s2(0) - 1));
  const double n = std::sqrt(s2(0) - s2(2));
  const Eigen::Vector3d u1 = (a * v1 + b * v3) / n, u2 = (a * v1 - b * v3) / n;
  std::vector<HomographyPose> out;
  for (const Eigen::Vector3d& u : {u1, u2}) {
    Eigen::Matrix3d U, W;
    U << v2, u, v2.cross(u);
    W << H * v2, H * u, (H * v2).cross(H * u);
    const Eigen::Matrix3d R = W * U.transpose();
    const Eigen::Vector3d N = v2.cross(u);
    const Eigen::Vector3d T = (H - R) * N;
    out.push_back({R, T, N});
    out.push_back({R, -T, -N});
  }
  return out;
}

int pose_from_homography(const Eigen::Matrix3d& Hn, const std::vector<Eigen::Vector2d>& x1n,
                         const std::vector<Eigen::Vector2d>& x2n, Eigen::Matrix3d* R, Eigen::Vector3d* t) {
  // Sign of Hn: points in front of both cameras satisfy x2^T Hn x1 > 0.
  double side = 0;
  for (size_t i = 0; i < x1n.size(); ++i) side += x2n[i].homogeneous().dot(Hn * x1n[i].homogeneous());
  int best = -1;
  for (const HomographyPose& c : decompose_homography(side < 0 ? Eigen::Matrix3d(-Hn) : Hn)) {
    int count = 0;
    if (c.t.norm() == 0) {
      count = static_cast<int>(x1n.size());  // rotation only: no depth to check
    } else {  // cheirality by the rays' midpoint, as pose_from_essential
      for (size_t i = 0; i < x1n.size(); ++i) {
        Eigen::Vector3d X;
        if (triangulate_midpoint(c.R, c.t, x1n[i], x2n[i], &X) && X(2) > 0 && c.R.row(2).dot(X) + c.t(2) > 0) ++count;
      }
    }
    if (count > best) {
      best = count;
      *R = c.R;
      *t = c.t;
    }
  }
  return std::max(best, 0);
}

}  // namespace vg
