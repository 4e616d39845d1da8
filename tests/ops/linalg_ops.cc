// Backend-op cases for the dense SPD solve behind the CUDA bundle adjustment (reduced camera system):
// x = A^-1 b for a random SPD A (condition number ~1e4) on the device vs Eigen's LLT on the host.
#include <random>
#include <string>
#include <vector>

#include "core/cuda_dense_cholesky.h"
#include "core/cuda_memory.h"
#include "core/dense_cholesky.h"
#include "tests/backend_ops.h"

namespace vg::test {
namespace {

OpOutputs run_dense_cholesky(Device d, int n) {
  std::mt19937 rng(5 + n);
  std::normal_distribution<double> g;
  std::vector<double> B(static_cast<size_t>(n) * n), A(B.size(), 0.0), b(n);
  for (double& v : B) v = g(rng);
  for (int i = 0; i < n; ++i)  // A = B B^T / n + diag(1e-4 .. 1): SPD, lower triangle used
    for (int j = 0; j <= i; ++j) {
      double s = 0;
      for (int k = 0; k < n; ++k) s += B[i + static_cast<size_t>(k) * n] * B[j + static_cast<size_t>(k) * n];
      A[i + static_cast<size_t>(j) * n] = s / n + (i == j ? 1e-4 + static_cast<double>(i) / n : 0.0);
    }
  for (double& v : b) v = g(rng);
  bool ok = false;
  if (d.is_cpu()) {
    ok = dense_cholesky_solve(A.data(), b.data(), n);
  } else {
    const size_t bytes = A.size() * sizeof(double);
    double* dA = static_cast<double*>(cuda_alloc(bytes, d.index));
    double* db = static_cast<double*>(cuda_alloc(n * sizeof(double), d.index));
    cuda_copy(dA, d, A.data(), Device::cpu(), bytes);
    cuda_copy(db, d, b.data(), Device::cpu(), n * sizeof(double));
    ok = cuda_dense_cholesky_solve(dA, db, n);
    cuda_copy(b.data(), Device::cpu(), db, d, n * sizeof(double));
    cuda_free(dA, d.index), cuda_free(db, d.index);
  }
  std::vector<float> x(b.begin(), b.end());
  return {{"ok", Tensor::from_vector(std::vector<float>{ok ? 1.f : 0.f}, {1})}, {"x", Tensor::from_vector(x, {n})}};
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  for (int n : {7, 96, 1400})
    cases.push_back({"dense_cholesky/n=" + std::to_string(n), [n](Device d) { return run_dense_cholesky(d, n); }, 1e-5});
});

}  // namespace
}  // namespace vg::test
