#include "core/dense_cholesky.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>

namespace vg {

bool dense_cholesky_solve(const double* A, double* b, int n) {
  if (n <= 0) return true;
  Eigen::Map<const Eigen::MatrixXd> M(A, n, n);
  Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(M);
  if (llt.info() != Eigen::Success) return false;
  Eigen::Map<Eigen::VectorXd> x(b, n);
  Eigen::VectorXd y = llt.solve(x);
  if (!y.allFinite()) return false;
  x = y;
  return true;
}

}  // namespace vg
