#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/cuda_check.h"
#include "core/cuda_memory.h"

namespace vg {
namespace {
void keep_pool_warm(int device) {
  static bool done[64] = {};
  if (device < 64 && done[device]) return;
  cudaMemPool_t pool;
  VG_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = UINT64_MAX;  // never hand memory back to the driver between steps
  VG_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  if (device < 64) done[device] = true;
}
}  // namespace

namespace {
std::string mib(size_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  return buf;
}

// One attribute of the device's default memory pool (bytes).
size_t pool_attribute(int device, cudaMemPoolAttr attr) {
  cudaMemPool_t pool;
  VG_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t v = 0;
  VG_CUDA_CHECK(cudaMemPoolGetAttribute(pool, attr, &v));
  return v;
}

size_t pool_used(int device) { return pool_attribute(device, cudaMemPoolAttrUsedMemCurrent); }

[[noreturn]] void out_of_memory(int device, size_t bytes, const std::string& why) {
  size_t used = 0, total = 0;
  cuda_mem_info(device, &used, &total);
  throw OutOfMemory("out of GPU memory on cuda:" + std::to_string(device) + ": " + mib(bytes) + " asked for, the GPU has " +
                    mib(total - used) + " free of " + mib(total) + " (" + why + ")");
}
}  // namespace

static std::atomic<uint64_t> g_allocs{0}, g_host_copies{0};

void* cuda_alloc(size_t bytes, int device, void* stream) {
  if (bytes == 0) return nullptr;
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  int prev = 0;
  VG_CUDA_CHECK(cudaGetDevice(&prev));
  if (prev != device) VG_CUDA_CHECK(cudaSetDevice(device));
  keep_pool_warm(device);
  const size_t cap = memory_cap_bytes();
  if (cap && pool_used(device) + bytes > cap) {
    const size_t used = pool_used(device);
    if (prev != device) cudaSetDevice(prev);
    out_of_memory(device, bytes, "VGSPLAT_MEMORY_CAP " + mib(cap) + ", " + mib(used) + " held by vgsplat");
  }
  void* p = nullptr;
  cudaError_t e = cudaMallocAsync(&p, bytes, static_cast<cudaStream_t>(stream));
  if (prev != device) cudaSetDevice(prev);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    out_of_memory(device, bytes, mib(pool_used(device)) + " held by vgsplat");
  }
  VG_CUDA_CHECK(e);
  return p;
}

void cuda_free(void* p, int device, void* stream) {
  if (p) cudaFreeAsync(p, static_cast<cudaStream_t>(stream));
}

void cuda_copy(void* dst, const Device& dd, const void* src, const Device& sd, size_t bytes) {
  if (bytes == 0) return;
  cudaMemcpyKind kind = dd.is_cuda() ? (sd.is_cuda() ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                     : (sd.is_cuda() ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  if (kind == cudaMemcpyDeviceToDevice) {
    VG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, 0));
  } else {
    if (kind != cudaMemcpyHostToHost) g_host_copies.fetch_add(1, std::memory_order_relaxed);
    VG_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
  }
}

CudaCounters cuda_counters() {
  return {g_allocs.load(std::memory_order_relaxed), g_host_copies.load(std::memory_order_relaxed)};
}

void cuda_memset_zero(void* p, size_t bytes) {
  if (bytes) VG_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, 0));
}

void cuda_synchronize() { VG_CUDA_CHECK(cudaDeviceSynchronize()); }

size_t cuda_peak_memory(int device) { return pool_attribute(device, cudaMemPoolAttrUsedMemHigh); }

void cuda_reset_peak_memory(int device) {
  cudaMemPool_t pool;
  VG_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t zero = 0;
  VG_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
}

void cuda_mem_info(int device, size_t* used, size_t* total) {
  int prev = 0;
  cudaGetDevice(&prev);
  cudaSetDevice(device);
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  cudaSetDevice(prev);
  *used = total_b - free_b;
  *total = total_b;
}

}  // namespace vg
