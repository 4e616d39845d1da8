// CPU-only builds: the CUDA matcher is absent.
#include "core/error.h"
#include "features/matching_internal.h"

namespace vg::match {

Best2 best2_cuda(const uint8_t*, int, const uint8_t*, int, int) {
  VG_FAIL("descriptor matching on CUDA: vgsplat was built without CUDA");
}

struct CudaDescriptorBank::Impl {};

CudaDescriptorBank::CudaDescriptorBank(const std::vector<const uint8_t*>&, const std::vector<int>&, int) {
  VG_FAIL("descriptor matching on CUDA: vgsplat was built without CUDA");
}
CudaDescriptorBank::~CudaDescriptorBank() = default;
std::pair<Best2, Best2> CudaDescriptorBank::best2_pair(int, int, bool) {
  VG_FAIL("descriptor matching on CUDA: vgsplat was built without CUDA");
}
std::vector<std::pair<Best2, Best2>> CudaDescriptorBank::best2_pairs(const std::vector<std::pair<int, int>>&, bool) {
  VG_FAIL("descriptor matching on CUDA: vgsplat was built without CUDA");
}
bool CudaDescriptorBank::fused_selection() const { return false; }
std::vector<std::vector<std::pair<int, int>>> CudaDescriptorBank::match_pairs(const std::vector<std::pair<int, int>>&,
                                                                              const SelectOptions&) {
  VG_FAIL("descriptor matching on CUDA: vgsplat was built without CUDA");
}

}  // namespace vg::match
