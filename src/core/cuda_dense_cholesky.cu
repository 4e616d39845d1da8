// Dense Cholesky solve through cuSOLVER (dlopen of libcusolver.so.*: vgsplat_lib links only cudart), with a
// host Eigen LLT fallback when the library is absent. VGSPLAT_NO_CUSOLVER=1 forces the fallback.
#include "core/cuda_dense_cholesky.h"

#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "core/cuda_check.h"
#include "core/dense_cholesky.h"
#include "core/dynamic_library.h"

namespace vg {
namespace {

struct SolverApi {
  decltype(&cusolverDnCreate) create = nullptr;
  decltype(&cusolverDnDpotrf_bufferSize) potrf_size = nullptr;
  decltype(&cusolverDnDpotrf) potrf = nullptr;
  decltype(&cusolverDnDpotrs) potrs = nullptr;
  bool ok = false;
};


SolverApi& api() {
  static SolverApi a;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* off = std::getenv("VGSPLAT_NO_CUSOLVER");
    if (off && *off && *off != '0') return;
    void* lib = open_first_library(
        {"libcusolver.so.12", "libcusolver.so.11", "libcusolver.so", "/usr/local/cuda/lib64/libcusolver.so"});
    if (!lib) return;
    a.ok = load_symbol(lib, "cusolverDnCreate", a.create) &&
           load_symbol(lib, "cusolverDnDpotrf_bufferSize", a.potrf_size) &&
           load_symbol(lib, "cusolverDnDpotrf", a.potrf) && load_symbol(lib, "cusolverDnDpotrs", a.potrs);
  });
  return a;
}

// Per device: one handle, a workspace that only grows, and the info word.
struct DeviceState {
  cusolverDnHandle_t handle = nullptr;
  double* work = nullptr;
  int work_len = 0;
  int* info = nullptr;
};

DeviceState* state() {
  static std::mutex m;
  static std::map<int, DeviceState> states;
  int dev = 0;
  VG_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(m);
  DeviceState& s = states[dev];
  if (!s.handle) {
    if (api().create(&s.handle) != CUSOLVER_STATUS_SUCCESS) return nullptr;
    VG_CUDA_CHECK(cudaMalloc(&s.info, sizeof(int)));
  }
  return &s;
}

bool host_solve(double* A, double* b, int n) {
  std::vector<double> hA(static_cast<size_t>(n) * n), hb(n);
  VG_CUDA_CHECK(cudaMemcpy(hA.data(), A, hA.size() * sizeof(double), cudaMemcpyDeviceToHost));
  VG_CUDA_CHECK(cudaMemcpy(hb.data(), b, n * sizeof(double), cudaMemcpyDeviceToHost));
  if (!dense_cholesky_solve(hA.data(), hb.data(), n)) return false;
  VG_CUDA_CHECK(cudaMemcpy(b, hb.data(), n * sizeof(double), cudaMemcpyHostToDevice));
  return true;
}

}  // namespace

bool cuda_dense_cholesky_on_device() { return api().ok; }

void cuda_dense_cholesky_prepare() {
  if (api().ok) state();
}

bool cuda_dense_cholesky_solve(double* A, double* b, int n) {
  if (n <= 0) return true;
  DeviceState* s = api().ok ? state() : nullptr;
  if (!s) return host_solve(A, b, n);
  const cublasFillMode_t lower = CUBLAS_FILL_MODE_LOWER;
  int len = 0;
  if (api().potrf_size(s->handle, lower, n, A, n, &len) != CUSOLVER_STATUS_SUCCESS) return host_solve(A, b, n);
  if (len > s->work_len) {
    if (s->work) VG_CUDA_CHECK(cudaFree(s->work));
    VG_CUDA_CHECK(cudaMalloc(&s->work, static_cast<size_t>(len) * sizeof(double)));
    s->work_len = len;
  }
  int info = 0;
  if (api().potrf(s->handle, lower, n, A, n, s->work, s->work_len, s->info) != CUSOLVER_STATUS_SUCCESS) return false;
  VG_CUDA_CHECK(cudaMemcpy(&info, s->info, sizeof(int), cudaMemcpyDeviceToHost));
  if (info != 0) return false;  // info > 0: the leading minor of that order is not positive definite
  if (api().potrs(s->handle, lower, n, 1, A, n, b, n, s->info) != CUSOLVER_STATUS_SUCCESS) return false;
  VG_CUDA_CHECK(cudaMemcpy(&info, s->info, sizeof(int), cudaMemcpyDeviceToHost));
  return info == 0;
}

}  // namespace vg
