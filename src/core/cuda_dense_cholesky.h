// Dense SPD solve on the GPU: A x = b by Cholesky (cuSOLVER potrf/potrs, opened at run time like cuBLASLt;
// without it the matrix goes to the host and Eigen's LLT solves it).
#pragma once

namespace vg {

// A: n x n column-major on the current CUDA device, lower triangle filled (overwritten by its factor).
// b: n-vector on the device, overwritten by x. Returns false when A is not positive definite.
bool cuda_dense_cholesky_solve(double* A, double* b, int n);

// True when cuSOLVER was found (the solve then stays on the device).
bool cuda_dense_cholesky_on_device();

// Opens cuSOLVER and creates the current device's handle now (tens of milliseconds, the first solve's otherwise),
// e.g. on a thread while other work runs. Optional.
void cuda_dense_cholesky_prepare();

}  // namespace vg
