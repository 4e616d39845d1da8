// Device memory primitives behind Tensor. Allocation is stream-ordered (cudaMallocAsync on the
// default stream, pool kept warm), so per-step temporaries cost no synchronisation.
#pragma once
#include <cstddef>

#include "core/device.h"

namespace vg {

void* cuda_alloc(size_t bytes, int device);
void cuda_free(void* p, int device);
// Copies between any two of {host, device}; synchronous with respect to the host when a host side is involved.
void cuda_copy(void* dst, const Device& dst_dev, const void* src, const Device& src_dev, size_t bytes);
void cuda_memset_zero(void* p, size_t bytes);
void cuda_synchronize();
// Peak bytes held by vgsplat's allocations on `device` since the last reset (the pool's high-water mark).
size_t cuda_peak_memory(int device);
void cuda_reset_peak_memory(int device);
// Bytes used / total on the device, as the driver reports them.
void cuda_mem_info(int device, size_t* used, size_t* total);

}  // namespace vg
