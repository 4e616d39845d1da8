// Device memory primitives behind Tensor. Allocation is stream-ordered (cudaMallocAsync on the
// default stream, pool kept warm), so per-step temporaries cost no synchronisation.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/device.h"
#include "core/error.h"

namespace vg {

// A tensor allocation that did not fit: the GPU's memory, the host's, or VGSPLAT_MEMORY_CAP. The
// message is one line with the request and the device's free / total memory.
class OutOfMemory : public Error {
 public:
  explicit OutOfMemory(const std::string& msg) : Error(msg) {}
};

// VGSPLAT_MEMORY_CAP ("1.5G", "512M", "64K" or bytes): tensor allocations that would take a device's
// (or the host's) tensor memory beyond it fail with OutOfMemory, as if the device were full. Lets a
// test provoke the out-of-memory path, or a shared GPU be left room. 0 when unset.
size_t memory_cap_bytes();
// Parses a size as VGSPLAT_MEMORY_CAP takes it; vg::Error naming `what` for anything else.
size_t parse_memory_size(const std::string& text, const char* what);

// stream: a cudaStream_t to allocate / free in order on (null: the default stream).
void* cuda_alloc(size_t bytes, int device, void* stream = nullptr);
void cuda_free(void* p, int device, void* stream = nullptr);
// Copies between any two of {host, device}; synchronous with respect to the host when a host side is involved.
void cuda_copy(void* dst, const Device& dst_dev, const void* src, const Device& src_dev, size_t bytes);
void cuda_memset_zero(void* p, size_t bytes);
void cuda_synchronize();
// Peak bytes held by vgsplat's allocations on `device` since the last reset (the pool's high-water mark).
size_t cuda_peak_memory(int device);
void cuda_reset_peak_memory(int device);
// Bytes used / total on the device, as the driver reports them.
void cuda_mem_info(int device, size_t* used, size_t* total);
// Counts since the process started: tensor allocations on CUDA devices, and copies with a host side (each one a
// host synchronisation). The trainer's --profile-every reports them per step.
struct CudaCounters {
  uint64_t allocs = 0, host_copies = 0;
};
CudaCounters cuda_counters();

}  // namespace vg
