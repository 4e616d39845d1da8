// CPU-only builds: the CUDA launchers of the fused preprocess exist but refuse to run.
#include "core/error.h"
#include "splat/projection_math.h"

namespace vg::proj {

void launch_forward_cuda(const ParamPtrs&, const View<float>&, const Settings<float>&, const ForwardPtrs&) {
  VG_FAIL("preprocess_forward: CUDA tensors given but vgsplat was built without CUDA");
}

void launch_backward_cuda(const ParamPtrs&, const View<float>&, const Settings<float>&, const BackwardInPtrs&,
                          const GradPtrs&) {
  VG_FAIL("preprocess_backward: CUDA tensors given but vgsplat was built without CUDA");
}

}  // namespace vg::proj
