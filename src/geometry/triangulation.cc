// Triangulation by the homogeneous DLT (Hartley & Zisserman 12.2) on normalised image coordinates.
#include "geometry/triangulation.h"

#include <cmath>

#include <Eigen/Dense>

#include "core/error.h"

namespace vg {

namespace {
// Two rows per view: x (P.row(2) X) - P.row(0) X = 0, y (P.row(2) X) - P.row(1) X = 0; each row scaled to unit
// norm so far views do not dominate. X is the eigenvector of A^T A (4x4) for the smallest eigenvalue, i.e. the
// right singular vector of A for its smallest singular value (COLMAP's TriangulateMultiViewPoint does the same).
void add_rows(const Matrix34d& P, const Eigen::Vector2d& x, Eigen::Matrix4d* AtA) {
  const Eigen::RowVector4d r0 = x(0) * P.row(2) - P.row(0), r1 = x(1) * P.row(2) - P.row(1);
  const Eigen::RowVector4d u0 = r0 / std::max(r0.norm(), 1e-300), u1 = r1 / std::max(r1.norm(), 1e-300);
  *AtA += u0.transpose() * u0 + u1.transpose() * u1;
}

bool solve_dlt(const Eigen::Matrix4d& AtA, Eigen::Vector3d* X) {
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix4d> es(AtA);
  const Eigen::Vector4d h = es.eigenvectors().col(0);
  if (es.info() != Eigen::Success || !h.allFinite() || std::abs(h(3)) < 1e-12 * h.head<3>().norm()) return false;
  *X = h.head<3>() / h(3);
  return X->allFinite();
}
}  // namespace

bool triangulate_point(const Matrix34d& P1, const Matrix34d& P2, const Eigen::Vector2d& x1, const Eigen::Vector2d& x2,
                       Eigen::Vector3d* X) {
  Eigen::Matrix4d AtA = Eigen::Matrix4d::Zero();
  add_rows(P1, x1, &AtA);
  add_rows(P2, x2, &AtA);
  return solve_dlt(AtA, X);
}

bool triangulate_midpoint(const Eigen::Matrix3d& R, const Eigen::Vector3d& t, const Eigen::Vector2d& x1,
                          const Eigen::Vector2d& x2, Eigen::Vector3d* X) {
  // Ray 1: d1 f1; ray 2 in camera-1 coordinates: d2 g - c with g = R^T f2, c = R^T t. Least squares in (d1, d2).
  const Eigen::Vector3d f1(x1.x(), x1.y(), 1), g = R.transpose() * Eigen::Vector3d(x2.x(), x2.y(), 1);
  const Eigen::Vector3d c = R.transpose() * t;
  const double a = f1.squaredNorm(), b = f1.dot(g), e = g.squaredNorm();
  const double det = a * e - b * b;
  if (!(det > 1e-14 * a * e)) return false;
  const double r1 = -f1.dot(c), r2 = g.dot(c);  // [a -b; -b e] [d1 d2]^T = [r1 r2]^T
  const double d1 = (e * r1 + b * r2) / det, d2 = (b * r1 + a * r2) / det;
  *X = 0.5 * (d1 * f1 + d2 * g - c);
  return X->allFinite();
}

bool triangulate_multiview(const std::vector<Matrix34d>& Ps, const std::vector<Eigen::Vector2d>& xs, Eigen::Vector3d* X) {
  VG_CHECK(Ps.size() == xs.size(), "triangulate_multiview: ", Ps.size(), " projections vs ", xs.size(), " points");
  if (Ps.size() < 2) return false;
  Eigen::Matrix4d AtA = Eigen::Matrix4d::Zero();
  for (size_t i = 0; i < Ps.size(); ++i) add_rows(Ps[i], xs[i], &AtA);
  return solve_dlt(AtA, X);
}

double triangulation_angle(const Eigen::Vector3d& center1, const Eigen::Vector3d& center2, const Eigen::Vector3d& X) {
  const Eigen::Vector3d r1 = X - center1, r2 = X - center2;
  const double n = r1.norm() * r2.norm();
  if (n == 0) return 0;
  // atan2 of |cross| and dot: accurate for small angles, unlike acos.
  return std::atan2(r1.cross(r2).norm(), r1.dot(r2));
}

bool has_positive_depth(const Matrix34d& P, const Eigen::Vector3d& X) {
  return P.row(2).dot(X.homogeneous()) > std::numeric_limits<double>::epsilon();
}

}  // namespace vg
