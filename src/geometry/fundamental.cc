// Fundamental matrix: seven-point (cubic det(F1 + a F2) = 0) and normalised eight-point (Hartley 1997) solvers,
// Hartley & Zisserman ch. 11.
#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "core/error.h"
#include "geometry/two_view_internal.h"

namespace vg {

// Hartley normalisation: centroid to the origin, mean distance sqrt(2). Returns T with x' = T x.
Eigen::Matrix3d normalize_points(const std::vector<Eigen::Vector2d>& x, std::vector<Eigen::Vector2d>* xn) {
  Eigen::Vector2d c = Eigen::Vector2d::Zero();
  for (const auto& p : x) c += p;
  c /= static_cast<double>(x.size());
  double d = 0;
  for (const auto& p : x) d += (p - c).norm();
  d /= static_cast<double>(x.size());
  const double s = d > 0 ? std::sqrt(2.0) / d : 1.0;
  Eigen::Matrix3d T;
  T << s, 0, -s * c(0), 0, s, -s * c(1), 0, 0, 1;
  xn->resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) (*xn)[i] = s * (x[i] - c);
  return T;
}

namespace {

// Rows of the epipolar constraint x2^T F x1 = 0 over the row-major entries of F.
Eigen::Matrix<double, Eigen::Dynamic, 9> epipolar_rows(const std::vector<Eigen::Vector2d>& x1,
                                                        const std::vector<Eigen::Vector2d>& x2) {
  Eigen::Matrix<double, Eigen::Dynamic, 9> A(x1.size(), 9);
  for (size_t i = 0; i < x1.size(); ++i) {
    const Eigen::Vector3d a = x1[i].homogeneous(), b = x2[i].homogeneous();
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) A(i, 3 * r + c) = b(r) * a(c);
  }
  return A;
}

Eigen::Matrix3d from_rowmajor(const Eigen::Matrix<double, 9, 1>& f) {
  Eigen::Matrix3d F;
  F << f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8);
  return F;
}

// Null space of a rank-7 7x9 matrix by Gauss-Jordan elimination with partial pivoting (reduced row echelon
// form: the two free columns give the basis). False when the rank is below 7 (a degenerate sample).
bool null_space_7x9(Eigen::Matrix<double, 7, 9> M, Eigen::Matrix<double, 9, 2>* K) {
  const double tol = 1e-12 * M.cwiseAbs().maxCoeff();
  int pivot_col[7], rank = 0;
  bool is_pivot[9] = {};
  for (int col = 0; col < 9 && rank < 7; ++col) {
    int best = rank;
    for (int r = rank + 1; r < 7; ++r)
      if (std::abs(M(r, col)) > std::abs(M(best, col))) best = r;
    if (!(std::abs(M(best, col)) > tol)) continue;
    M.row(rank).swap(M.row(best));
    M.row(rank) /= M(rank, col);
    for (int r = 0; r < 7; ++r)
      if (r != rank && M(r, col) != 0) M.row(r) -= M(r, col) * M.row(rank);
    pivot_col[rank++] = col;
    is_pivot[col] = true;
  }
  if (rank != 7) return false;
  int k = 0;
  for (int f = 0; f < 9; ++f) {
    if (is_pivot[f]) continue;
    K->col(k).setZero();
    (*K)(f, k) = 1;
    for (int r = 0; r < 7; ++r) (*K)(pivot_col[r], k) = -M(r, f);
    ++k;
  }
  return K->allFinite();
}

}  // namespace

std::vector<double> solve_cubic_real(double a, double b, double c, double d) {
  // Real roots of a t^3 + b t^2 + c t + d (falls back to lower degree).
  std::vector<double> roots;
  const double scale = std::max({std::abs(a), std::abs(b), std::abs(c), std::abs(d)});
  if (scale == 0) return roots;
  if (std::abs(a) < 1e-12 * scale) {
    if (std::abs(b) < 1e-12 * scale) {
      if (std::abs(c) > 0) roots.push_back(-d / c);
      return roots;
    }
    const double disc = c * c - 4 * b * d;
    if (disc < 0) return roots;
    const double q = -0.5 * (c + std::copysign(std::sqrt(disc), c));
    roots.push_back(q / b);
    if (q != 0) roots.push_back(d / q);
    return roots;
  }
  // The root of largest magnitude in closed form (depressed cubic y^3 + p y + q = 0 with t = y - B/3: Cardano
  // for one real root, the trigonometric form for three), then the other two from the deflated quadratic
  // (Vieta: their product is -d / (a t1)), each polished by Newton on the cubic. Far more stable than the closed
  // form for all three when two roots nearly coincide.
  auto polish = [&](double t) {
    for (int it = 0; it < 4; ++it) {
      const double f = ((a * t + b) * t + c) * t + d, df = (3 * a * t + 2 * b) * t + c;
      if (df == 0) break;
      t -= f / df;
    }
    return t;
  };
  const double B = b / a, C = c / a, D = d / a;
  const double p = C - B * B / 3, q = 2 * B * B * B / 27 - B * C / 3 + D;
  const double disc = q * q / 4 + p * p * p / 27;
  double t1;
  if (disc > 0) {
    const double s = std::sqrt(disc);
    t1 = std::cbrt(-q / 2 + s) + std::cbrt(-q / 2 - s) - B / 3;
  } else if (p == 0) {
    t1 = -B / 3;
  } else {
    const double r = std::sqrt(-p / 3);
    const double phi = std::acos(std::clamp(-q / (2 * r * r * r), -1.0, 1.0));
    t1 = 0;
    for (int k = 0; k < 3; ++k) {
      const double t = 2 * r * std::cos((phi + 2 * 3.14159265358979323846 * k) / 3) - B / 3;
      if (k == 0 || std::abs(t) > std::abs(t1)) t1 = t;
    }
  }
  t1 = polish(t1);
  if (!std::isfinite(t1)) return roots;
  roots.push_back(t1);
  // a t^2 + b2 t + c2 with b2 = b + a t1 and c2 = -d / t1 (or c + b2 t1 when t1 = 0).
  const double b2 = b + a * t1, c2 = t1 != 0 ? -d / t1 : c + b2 * t1;
  double qd = b2 * b2 - 4 * a * c2;
  if (qd < 0 && qd > -1e-12 * b2 * b2) qd = 0;  // a double root lost to rounding
  if (qd < 0) return roots;
  const double h = -0.5 * (b2 + std::copysign(std::sqrt(qd), b2));
  if (h != 0) {
    for (double t : {h / a, c2 / h}) {
      t = polish(t);
      if (std::isfinite(t)) roots.push_back(t);
    }
  } else {
    roots.push_back(0);  // b2 = c2 = 0: double root at 0
  }
  return roots;
}

std::vector<Eigen::Matrix3d> fundamental_7pt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2) {
  VG_CHECK(x1.size() == x2.size() && x1.size() >= 7, "fundamental_7pt: needs 7 correspondences, got ", x1.size(), "/",
           x2.size());
  std::vector<Eigen::Vector2d> n1, n2;
  const Eigen::Matrix3d T1 = normalize_points(x1, &n1), T2 = normalize_points(x2, &n2);
  // Two-dimensional null space of the seven constraint rows.
  Eigen::Matrix<double, 9, 2> K;
  if (!null_space_7x9(epipolar_rows(n1, n2).topRows<7>(), &K)) return {};
  const Eigen::Matrix3d F1 = from_rowmajor(K.col(0).normalized()), F2 = from_rowmajor(K.col(1).normalized());
  // det(F2 + a (F1 - F2)) = 0 is a cubic in a: fit its coefficients from four evaluations (exact for a cubic).
  const Eigen::Matrix3d D = F1 - F2;
  Eigen::Matrix4d V;
  Eigen::Vector4d y;
  const double at[4] = {-1, 0, 1, 2};
  for (int i = 0; i < 4; ++i) {
    V.row(i) << at[i] * at[i] * at[i], at[i] * at[i], at[i], 1;
    y(i) = (F2 + at[i] * D).determinant();
  }
  const Eigen::Vector4d p = V.fullPivLu().solve(y);
  std::vector<Eigen::Matrix3d> out;
  for (double a : solve_cubic_real(p(0), p(1), p(2), p(3))) {
    Eigen::Matrix3d F = T2.transpose() * (F2 + a * D) * T1;
    out.push_back(F / F.norm());
  }
  return out;
}

Eigen::Matrix3d fundamental_8pt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2) {
  VG_CHECK(x1.size() == x2.size() && x1.size() >= 8, "fundamental_8pt: needs >= 8 correspondences, got ", x1.size(),
           "/", x2.size());
  std::vector<Eigen::Vector2d> n1, n2;
  const Eigen::Matrix3d T1 = normalize_points(x1, &n1), T2 = normalize_points(x2, &n2);
  // Least-squares null vector: eigenvector of A^T A for the smallest eigenvalue (9x9, fast for many points).
  const Eigen::Matrix<double, Eigen::Dynamic, 9> A = epipolar_rows(n1, n2);
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix<double, 9, 9>> es(A.transpose() * A);
  const Eigen::Matrix3d Fn = from_rowmajor(es.eigenvectors().col(0));
  // Rank-2 constraint: zero the smallest singular value.
  Eigen::JacobiSVD<Eigen::Matrix3d> s(Fn, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Vector3d sv = s.singularValues();
  sv(2) = 0;
  const Eigen::Matrix3d F = T2.transpose() * s.matrixU() * sv.asDiagonal() * s.matrixV().transpose() * T1;
  return F / F.norm();
}

double sampson_error_sq(const Eigen::Matrix3d& F, const Eigen::Vector2d& x1, const Eigen::Vector2d& x2) {
  const Eigen::Vector3d a = x1.homogeneous(), b = x2.homogeneous();
  const Eigen::Vector3d Fa = F * a, Ftb = F.transpose() * b;
  const double num = b.dot(Fa);
  const double den = Fa(0) * Fa(0) + Fa(1) * Fa(1) + Ftb(0) * Ftb(0) + Ftb(1) * Ftb(1);
  return den > 0 ? num * num / den : std::numeric_limits<double>::max();
}

}  // namespace vg
