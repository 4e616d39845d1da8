// Essential matrix: five-point solver (Stewenius, Engels & Nister 2006: Groebner basis / action matrix form of
// Nister's constraints) and the relative pose with the cheirality check (Hartley & Zisserman 9.6).
#include <array>
#include <cmath>
#include <limits>

#include <Eigen/Dense>
#include <Eigen/Eigenvalues>

#include "core/error.h"
#include "geometry/triangulation.h"
#include "geometry/two_view.h"

namespace vg {
namespace {

// Polynomial of total degree <= 3 in (x, y, z); coefficient c[a][b][d] of x^a y^b z^d.
struct Poly3 {
  double c[4][4][4] = {};
  static Poly3 linear(double cx, double cy, double cz, double c1) {
    Poly3 p;
    p.c[1][0][0] = cx;
    p.c[0][1][0] = cy;
    p.c[0][0][1] = cz;
    p.c[0][0][0] = c1;
    return p;
  }
  Poly3 operator+(const Poly3& o) const {
    Poly3 r;
    for (int i = 0; i < 64; ++i) (&r.c[0][0][0])[i] = (&c[0][0][0])[i] + (&o.c[0][0][0])[i];
    return r;
  }
  Poly3 operator*(double s) const {
    Poly3 r;
    for (int i = 0; i < 64; ++i) (&r.c[0][0][0])[i] = (&c[0][0][0])[i] * s;
    return r;
  }
  Poly3 operator*(const Poly3& o) const {  // product truncated to degree 3 (inputs keep it within)
    Poly3 r;
    for (int a = 0; a < 4; ++a)
      for (int b = 0; a + b < 4; ++b)
        for (int d = 0; a + b + d < 4; ++d) {
          if (c[a][b][d] == 0) continue;
          for (int a2 = 0; a + a2 < 4; ++a2)
            for (int b2 = 0; a + b + a2 + b2 < 4; ++b2)
              for (int d2 = 0; a + b + d + a2 + b2 + d2 < 4; ++d2) r.c[a + a2][b + b2][d + d2] += c[a][b][d] * o.c[a2][b2][d2];
        }
    return r;
  }
};

// Monomial order (GRevLex as Stewenius): 10 cubic/leading terms, then the basis
// {x^2, xy, y^2, xz, yz, z^2, x, y, z, 1}.
constexpr std::array<std::array<int, 3>, 20> kMonomials = {{
    {3, 0, 0}, {2, 1, 0}, {1, 2, 0}, {0, 3, 0}, {2, 0, 1}, {1, 1, 1}, {0, 2, 1}, {1, 0, 2}, {0, 1, 2}, {0, 0, 3},
    {2, 0, 0}, {1, 1, 0}, {0, 2, 0}, {1, 0, 1}, {0, 1, 1}, {0, 0, 2}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0, 0, 0},
}};

std::vector<Eigen::Matrix3d> solve_from_nullspace(const Eigen::Matrix<double, 9, 4>& N) {
  // E = x X + y Y + z Z + W (row-major 9-vectors in N's columns).
  Poly3 E[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const int k = 3 * i + j;
      E[i][j] = Poly3::linear(N(k, 0), N(k, 1), N(k, 2), N(k, 3));
    }
  // Constraints: det(E) = 0 and 2 E E^T E - trace(E E^T) E = 0 (Nister 2004, eq. 3-4).
  Poly3 EEt[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EEt[i][j] = E[i][0] * E[j][0] + E[i][1] * E[j][1] + E[i][2] * E[j][2];
  const Poly3 tr = EEt[0][0] + EEt[1][1] + EEt[2][2];
  std::vector<Poly3> eqs;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      Poly3 s = E[i][j] * tr * -0.5;
      for (int k = 0; k < 3; ++k) s = s + EEt[i][k] * E[k][j];
      eqs.push_back(s);
    }
  eqs.push_back(E[0][0] * (E[1][1] * E[2][2] + E[1][2] * E[2][1] * -1.0) +
                E[0][1] * (E[1][2] * E[2][0] + E[1][0] * E[2][2] * -1.0) +
                E[0][2] * (E[1][0] * E[2][1] + E[1][1] * E[2][0] * -1.0));
  Eigen::Matrix<double, 10, 20> M;
  for (int r = 0; r < 10; ++r)
    for (int m = 0; m < 20; ++m) M(r, m) = eqs[r].c[kMonomials[m][0]][kMonomials[m][1]][kMonomials[m][2]];
  // Gauss-Jordan on the leading 10 columns: [I | B].
  Eigen::FullPivLU<Eigen::Matrix<double, 10, 10>> lu(M.leftCols<10>());
  if (!lu.isInvertible()) return {};
  const Eigen::Matrix<double, 10, 10> B = lu.solve(M.rightCols<10>());
  // Action matrix of multiplication by x on the basis b = [x^2, xy, y^2, xz, yz, z^2, x, y, z, 1]:
  // x*b_i is either a leading monomial (row of -B) or another basis element.
  const int lead_row[10] = {0, 1, 2, 4, 5, 7, -1, -1, -1, -1};
  const int basis_idx[10] = {-1, -1, -1, -1, -1, -1, 0, 1, 3, 6};
  Eigen::Matrix<double, 10, 10> A = Eigen::Matrix<double, 10, 10>::Zero();
  for (int i = 0; i < 10; ++i) {
    if (lead_row[i] >= 0)
      A.row(i) = -B.row(lead_row[i]);
    else
      A(i, basis_idx[i]) = 1;
  }
  Eigen::EigenSolver<Eigen::Matrix<double, 10, 10>> es(A);
  if (es.info() != Eigen::Success) return {};
  std::vector<Eigen::Matrix3d> out;
  for (int k = 0; k < 10; ++k) {
    const std::complex<double> lambda = es.eigenvalues()(k);
    if (std::abs(lambda.imag()) > 1e-8 * std::max(1.0, std::abs(lambda.real()))) continue;
    const Eigen::Matrix<std::complex<double>, 10, 1> v = es.eigenvectors().col(k);
    if (std::abs(v(9)) < 1e-14) continue;
    const double x = (v(6) / v(9)).real(), y = (v(7) / v(9)).real(), z = (v(8) / v(9)).real();
    const Eigen::Matrix<double, 9, 1> e = x * N.col(0) + y * N.col(1) + z * N.col(2) + N.col(3);
    Eigen::Matrix3d Em;
    Em << e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7), e(8);
    out.push_back(Em / Em.norm());
  }
  return out;
}

}  // namespace

std::vector<Eigen::Matrix3d> essential_5pt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2) {
  VG_CHECK(x1.size() == x2.size(), "essential_5pt: ", x1.size(), " vs ", x2.size(), " points");
  VG_CHECK(x1.size() >= 5, "essential_5pt: needs >= 5 correspondences, got ", x1.size());
  // Epipolar constraint x2^T E x1 = 0 as rows over the row-major entries of E.
  Eigen::Matrix<double, Eigen::Dynamic, 9> Q(x1.size(), 9);
  for (size_t i = 0; i < x1.size(); ++i) {
    const Eigen::Vector3d a = x1[i].homogeneous(), b = x2[i].homogeneous();
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) Q(i, 3 * r + c) = b(r) * a(c);
  }
  Eigen::Matrix<double, 9, 4> N;
  if (x1.size() == 5) {
    Eigen::FullPivLU<Eigen::Matrix<double, Eigen::Dynamic, 9>> lu(Q);
    Eigen::Matrix<double, 9, Eigen::Dynamic> K = lu.kernel();
    if (K.cols() != 4) return {};
    // Orthonormalise the kernel for conditioning.
    Eigen::HouseholderQR<Eigen::Matrix<double, 9, Eigen::Dynamic>> qr(K);
    N = qr.householderQ() * Eigen::Matrix<double, 9, 4>::Identity();
  } else {
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix<double, 9, 9>> es(Q.transpose() * Q);
    // Four smallest eigenvalues; the smallest last (W, the fixed-coefficient term of E = xX + yY + zZ + W).
    N = es.eigenvectors().leftCols<4>().rowwise().reverse();
  }
  return solve_from_nullspace(N);
}

int pose_from_essential(const Eigen::Matrix3d& E, const std::vector<Eigen::Vector2d>& x1n,
                        const std::vector<Eigen::Vector2d>& x2n, Eigen::Matrix3d* R, Eigen::Vector3d* t) {
  VG_CHECK(x1n.size() == x2n.size(), "pose_from_essential: ", x1n.size(), " vs ", x2n.size(), " points");
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(E, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d U = svd.matrixU(), V = svd.matrixV();
  if (U.determinant() < 0) U = -U;
  if (V.determinant() < 0) V = -V;
  Eigen::Matrix3d W;
  W << 0, -1, 0, 1, 0, 0, 0, 0, 1;
  const Eigen::Matrix3d Rs[2] = {U * W * V.transpose(), U * W.transpose() * V.transpose()};
  const Eigen::Vector3d tn = U.col(2).normalized();
  // The four (R, +-t) candidates; keep the one with most points in front of both cameras.
  int best = -1;
  for (int k = 0; k < 4; ++k) {
    const Eigen::Matrix3d& Rk = Rs[k / 2];
    const Eigen::Vector3d tk = (k % 2 == 0) ? tn : Eigen::Vector3d(-tn);
    // COLMAP also drops points at (near) infinity: depth beyond 100 x baseline... here: a generous bound.
    const double max_depth = 1000.0 * tk.norm();
    int count = 0;
    for (size_t i = 0; i < x1n.size(); ++i) {
      Eigen::Vector3d X;
      if (!triangulate_midpoint(Rk, tk, x1n[i], x2n[i], &X)) continue;
      const double d1 = X(2), d2 = Rk.row(2).dot(X) + tk(2);
      if (d1 > std::numeric_limits<double>::epsilon() && d1 < max_depth &&
          d2 > std::numeric_limits<double>::epsilon() && d2 < max_depth)
        ++count;
    }
    if (count > best) {
      best = count;
      *R = Rk;
      *t = tk;
    }
  }
  return std::max(best, 0);
}

}  // namespace vg
