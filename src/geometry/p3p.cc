// P3P in the Lambda Twist formulation (Persson & Nordberg, ECCV 2018): the three distance constraints on the
// depths lambda are quadrics; a singular combination D0 = D1 + g D2 (root of a cubic) factors into two planes,
// each intersected with the quadrics gives the depths; Gauss-Newton polishes them; R, t from the triads.
#include <algorithm>
#include <cmath>

#include <Eigen/Dense>
#include <Eigen/Eigenvalues>

#include "geometry/absolute_pose.h"
#include "geometry/two_view_internal.h"

namespace vg {
namespace {

struct Constraints {
  double a12, a13, a23, c12, c13, c23;  // squared world distances; cosines between bearings
  // lambda_i^2 + lambda_j^2 - 2 c_ij lambda_i lambda_j - a_ij
  Eigen::Vector3d residual(const Eigen::Vector3d& l) const {
    return {l(0) * l(0) + l(1) * l(1) - 2 * c12 * l(0) * l(1) - a12,
            l(0) * l(0) + l(2) * l(2) - 2 * c13 * l(0) * l(2) - a13,
            l(1) * l(1) + l(2) * l(2) - 2 * c23 * l(1) * l(2) - a23};
  }
  void refine(Eigen::Vector3d* l) const {  // Gauss-Newton on the three equations
    for (int it = 0; it < 8; ++it) {
      const Eigen::Vector3d r = residual(*l);
      Eigen::Matrix3d J;
      J << 2 * (*l)(0) - 2 * c12 * (*l)(1), 2 * (*l)(1) - 2 * c12 * (*l)(0), 0,  //
          2 * (*l)(0) - 2 * c13 * (*l)(2), 0, 2 * (*l)(2) - 2 * c13 * (*l)(0),   //
          0, 2 * (*l)(1) - 2 * c23 * (*l)(2), 2 * (*l)(2) - 2 * c23 * (*l)(1);
      const Eigen::Vector3d step = J.fullPivLu().solve(r);
      if (!step.allFinite()) return;
      const Eigen::Vector3d next = *l - step;
      if (residual(next).norm() >= r.norm()) return;
      *l = next;
    }
  }
};

Eigen::Matrix3d quad(double c, int i, int j) {  // lambda^T M lambda = lambda_i^2 + lambda_j^2 - 2 c lambda_i lambda_j
  Eigen::Matrix3d M = Eigen::Matrix3d::Zero();
  M(i, i) = M(j, j) = 1;
  M(i, j) = M(j, i) = -c;
  return M;
}

// Depth triples on the plane n . lambda = 0 that satisfy lambda^T D lambda = 0 and the distance scale.
void depths_on_plane(const Eigen::Vector3d& n, const Eigen::Matrix3d& D, const Eigen::Matrix3d& Msum, double asum,
                     std::vector<Eigen::Vector3d>* out) {
  Eigen::Vector3d u = n.unitOrthogonal(), w = n.cross(u).normalized();
  const double A = u.dot(D * u), B = u.dot(D * w), C = w.dot(D * w);
  double disc = B * B - A * C;
  if (disc < -1e-12 * (B * B + std::abs(A * C))) return;
  disc = std::sqrt(std::max(disc, 0.0));
  std::vector<Eigen::Vector3d> dirs;
  if (std::abs(A) >= std::abs(C)) {
    if (A == 0) return;
    for (double s : {-1.0, 1.0}) dirs.push_back(((-B + s * disc) / A) * u + w);  // alpha/beta roots
  } else {
    for (double s : {-1.0, 1.0}) dirs.push_back(u + ((-B + s * disc) / C) * w);
  }
  for (const Eigen::Vector3d& d : dirs) {
    const double q = d.dot(Msum * d);
    if (q <= 0) continue;
    Eigen::Vector3d l = std::sqrt(asum / q) * d;
    if (l.sum() < 0) l = -l;
    if (l.minCoeff() > 0) out->push_back(l);
  }
}

}  // namespace

std::vector<std::pair<Eigen::Matrix3d, Eigen::Vector3d>> p3p(const Eigen::Vector3d bearings[3],
                                                              const Eigen::Vector3d points[3]) {
  const Eigen::Vector3d y[3] = {bearings[0].normalized(), bearings[1].normalized(), bearings[2].normalized()};
  const Eigen::Vector3d* x = points;
  Constraints k{(x[0] - x[1]).squaredNorm(), (x[0] - x[2]).squaredNorm(), (x[1] - x[2]).squaredNorm(),
                y[0].dot(y[1]),              y[0].dot(y[2]),              y[1].dot(y[2])};
  const Eigen::Vector3d d12 = x[0] - x[1], d13 = x[0] - x[2];
  Eigen::Matrix3d X;
  X << d12, d13, d12.cross(d13);
  if (std::abs(X.determinant()) < 1e-12 * std::pow(std::max(k.a12, k.a13), 2)) return {};  // collinear points
  const Eigen::Matrix3d M12 = quad(k.c12, 0, 1), M13 = quad(k.c13, 0, 2), M23 = quad(k.c23, 1, 2);
  // Homogeneous forms lambda^T D lambda = 0 (distances eliminated).
  const Eigen::Matrix3d D1 = k.a23 * M12 - k.a12 * M23, D2 = k.a23 * M13 - k.a13 * M23;
  // det(D1 + g D2) is a cubic in g: coefficients from four exact evaluations.
  Eigen::Matrix4d V;
  Eigen::Vector4d dv;
  for (int i = 0; i < 4; ++i) {
    const double g = i - 1.0;
    V.row(i) << g * g * g, g * g, g, 1;
    dv(i) = (D1 + g * D2).determinant();
  }
  const Eigen::Vector4d p = V.fullPivLu().solve(dv);
  // Among the real roots take the one whose D0 is best conditioned and indefinite (two planes).
  double best_score = -1, best_g = 0;
  Eigen::Vector3d ea = Eigen::Vector3d::Zero(), eb = Eigen::Vector3d::Zero();
  double sa = 0, sb = 0;
  for (double g : solve_cubic_real(p(0), p(1), p(2), p(3))) {
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> es(D1 + g * D2);
    const Eigen::Vector3d ev = es.eigenvalues();
    int z = 0;
    for (int i = 1; i < 3; ++i)
      if (std::abs(ev(i)) < std::abs(ev(z))) z = i;
    const int a = (z + 1) % 3, b = (z + 2) % 3;
    if (ev(a) * ev(b) >= 0) continue;
    const double score = std::min(std::abs(ev(a)), std::abs(ev(b))) / std::max(std::abs(ev(a)), std::abs(ev(b)));
    if (score > best_score) {
      best_score = score;
      best_g = g;
      ea = es.eigenvectors().col(a);
      eb = es.eigenvectors().col(b);
      sa = ev(a);
      sb = ev(b);
    }
  }
  if (best_score < 0) return {};
  // sa (ea.l)^2 + sb (eb.l)^2 = 0  =>  (ea -+ s eb) . l = 0 with s = sqrt(-sb/sa).
  const double s = std::sqrt(-sb / sa);
  const Eigen::Matrix3d& D = std::abs(best_g) < 1 ? D2 : D1;
  const Eigen::Matrix3d Msum = M12 + M13 + M23;
  const double asum = k.a12 + k.a13 + k.a23;
  std::vector<Eigen::Vector3d> lambdas;
  depths_on_plane(ea - s * eb, D, Msum, asum, &lambdas);
  depths_on_plane(ea + s * eb, D, Msum, asum, &lambdas);
  std::vector<std::pair<Eigen::Matrix3d, Eigen::Vector3d>> poses;
  const Eigen::Matrix3d Xinv = X.inverse();
  for (Eigen::Vector3d& l : lambdas) {
    k.refine(&l);
    const Eigen::Vector3d p1 = l(0) * y[0], e1 = p1 - l(1) * y[1], e2 = p1 - l(2) * y[2];
    Eigen::Matrix3d Y;
    Y << e1, e2, e1.cross(e2);
    // R maps the world triad onto the camera triad; project onto SO(3) against residual noise.
    Eigen::JacobiSVD<Eigen::Matrix3d> svd(Y * Xinv, Eigen::ComputeFullU | Eigen::ComputeFullV);
    Eigen::Matrix3d R = svd.matrixU() * svd.matrixV().transpose();
    if (R.determinant() < 0) continue;
    if (!R.allFinite()) continue;
    poses.emplace_back(R, p1 - R * x[0]);
  }
  return poses;
}

}  // namespace vg
