// CPU-only builds: the CUDA dense solve is absent.
#include "core/cuda_dense_cholesky.h"
#include "core/error.h"

namespace vg {

bool cuda_dense_cholesky_solve(double*, double*, int) { VG_FAIL("cuda_dense_cholesky_solve: built without CUDA"); }
bool cuda_dense_cholesky_on_device() { return false; }
void cuda_dense_cholesky_prepare() {}

}  // namespace vg
