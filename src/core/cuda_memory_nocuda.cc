// Device memory in a build without CUDA: any use is a clear error.
#include "core/cuda_memory.h"
#include "core/error.h"

namespace vg {
namespace {
[[noreturn]] void no_cuda() { VG_FAIL("this vgsplat build has no CUDA backend; use --device cpu"); }
}  // namespace
void* cuda_alloc(size_t, int, void*) { no_cuda(); }
void cuda_free(void*, int, void*) {}
void cuda_copy(void*, const Device&, const void*, const Device&, size_t) { no_cuda(); }
void cuda_memset_zero(void*, size_t) { no_cuda(); }
void cuda_synchronize() {}
size_t cuda_peak_memory(int) { return 0; }
void cuda_reset_peak_memory(int) {}
void cuda_mem_info(int, size_t* used, size_t* total) { *used = *total = 0; }
CudaCounters cuda_counters() { return {}; }
}  // namespace vg
