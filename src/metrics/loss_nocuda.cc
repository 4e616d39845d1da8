// CPU-only builds: the CUDA launcher of the training loss exists but refuses to run.
#include "core/error.h"

namespace vg::detail {

void photometric_loss_cuda(const float*, const float*, int, int, float, float*, float*, float*, float*, float*,
                           double*) {
  VG_FAIL("photometric_loss: vgsplat was built without CUDA");
}

}  // namespace vg::detail
