// CPU-only builds: the CUDA SIFT backend is absent.
#include "core/error.h"
#include "features/sift_internal.h"

namespace vg::sift {

RawFeatures extract_cuda(const std::vector<float>&, int, int, const Params&, int) {
  VG_FAIL("SIFT on CUDA: vgsplat was built without CUDA");
}

}  // namespace vg::sift
