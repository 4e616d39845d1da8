// Dense SPD solve (host reference of the CUDA bundle adjustment's reduced camera system): A x = b recovered
// for a known x, only the lower triangle read, and a matrix that is not positive definite refused.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/dense_cholesky.h"

namespace vg {
namespace {

TEST(DenseCholesky, SolvesSpdFromLowerTriangle) {
  const int n = 50;
  std::mt19937 rng(3);
  std::normal_distribution<double> g;
  std::vector<double> B(n * n), A(n * n), x(n), b(n, 0.0);
  for (double& v : B) v = g(rng);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double s = i == j ? 0.5 : 0.0;
      for (int k = 0; k < n; ++k) s += B[i + k * n] * B[j + k * n];
      A[i + j * n] = s;
    }
  for (double& v : x) v = g(rng);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) b[i] += A[i + j * n] * x[j];
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) A[i + j * n] = 1e9;  // the upper triangle must not be read
  ASSERT_TRUE(dense_cholesky_solve(A.data(), b.data(), n));
  for (int i = 0; i < n; ++i) EXPECT_NEAR(b[i], x[i], 1e-8);
}

TEST(DenseCholesky, RefusesIndefinite) {
  std::vector<double> A = {1, 2, 2, 1};  // eigenvalues 3, -1
  std::vector<double> b = {1, 1};
  EXPECT_FALSE(dense_cholesky_solve(A.data(), b.data(), 2));
  EXPECT_TRUE(dense_cholesky_solve(A.data(), b.data(), 0));
}

}  // namespace
}  // namespace vg
