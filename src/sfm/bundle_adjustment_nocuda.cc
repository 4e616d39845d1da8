// CPU-only builds: the CUDA bundle-adjustment backend is absent.
#include "core/error.h"
#include "sfm/bundle_adjustment_problem.h"

namespace vg::ba {

std::unique_ptr<Solver> make_cuda_solver(const Problem&, int) {
  VG_FAIL("bundle_adjust: device cuda requested but vgsplat was built without CUDA");
}

}  // namespace vg::ba
