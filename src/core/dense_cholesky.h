// Dense SPD solve on the host (Eigen LLT): the reference and fallback of cuda_dense_cholesky_solve.
#pragma once

namespace vg {

// A: n x n column-major, lower triangle read; b overwritten by x. False when A is not positive definite.
bool dense_cholesky_solve(const double* A, double* b, int n);

}  // namespace vg
