// CUDA brute-force matcher: integer dot products of uint8 descriptors with __dp4a (exact, so the result
// equals the CPU's float GEMM), fused with the best / second-best reduction; the dot matrix is never stored.
// A block owns 32 query descriptors and streams the train descriptors through shared memory in tiles of 64;
// each query is served by 8 threads (strided train columns) whose partial results merge by warp shuffles.
#include <algorithm>
#include <vector>

#include "core/cuda_check.h"
#include "core/cuda_memory.h"
#include "core/device.h"
#include "core/tensor.h"
#include "features/matching_internal.h"

namespace vg::match {
namespace {

constexpr int kWords = 32;        // 128 bytes = 32 packed uint32
constexpr int kQueries = 32;      // per block
constexpr int kTrainTile = 64;    // train descriptors per shared tile
constexpr int kLanes = 8;         // threads per query
constexpr int kThreads = kQueries * kLanes;

struct Partial {
  int best, second, idx;
};

// Merges two partial scans; on equal best the smaller index wins (the first one in scan order) and the
// other best becomes the second, as a sequential scan would record it.
__device__ Partial merge(Partial a, Partial b) {
  bool a_wins = a.best > b.best || (a.best == b.best && a.idx >= 0 && (b.idx < 0 || a.idx < b.idx));
  Partial w = a_wins ? a : b, l = a_wins ? b : a;
  w.second = max(w.second, l.idx >= 0 ? l.best : l.second);
  w.second = max(w.second, l.second);
  return w;
}

__global__ void best2_kernel(const uint32_t* q, int nq, const uint32_t* t, int nt, int* out_idx, int* out_best,
                             int* out_second) {
  __shared__ uint32_t sq[kQueries][kWords + 1];
  __shared__ uint32_t st[kTrainTile][kWords + 1];
  const int tid = threadIdx.x, q0 = blockIdx.x * kQueries;
  for (int i = tid; i < kQueries * kWords; i += kThreads) {
    int r = i / kWords, c = i % kWords;
    sq[r][c] = (q0 + r < nq) ? q[(size_t)(q0 + r) * kWords + c] : 0u;
  }
  const int lq = tid / kLanes, lane = tid % kLanes;
  Partial p{0, 0, -1};
  for (int t0 = 0; t0 < nt; t0 += kTrainTile) {
    __syncthreads();
    for (int i = tid; i < kTrainTile * kWords; i += kThreads) {
      int r = i / kWords, c = i % kWords;
      st[r][c] = (t0 + r < nt) ? t[(size_t)(t0 + r) * kWords + c] : 0u;
    }
    __syncthreads();
    for (int c = lane; c < kTrainTile && t0 + c < nt; c += kLanes) {
      unsigned acc = 0;
#pragma unroll
      for (int k = 0; k < kWords; ++k) acc = __dp4a(sq[lq][k], st[c][k], acc);
      const int d = static_cast<int>(acc);
      if (d > p.best) {
        p.second = p.best, p.best = d, p.idx = t0 + c;
      } else if (d > p.second) {
        p.second = d;
      }
    }
  }
  // Lanes of one query are 8 consecutive threads of a warp.
  for (int off = kLanes / 2; off > 0; off /= 2) {
    Partial o{__shfl_down_sync(0xffffffffu, p.best, off, kLanes), __shfl_down_sync(0xffffffffu, p.second, off, kLanes),
              __shfl_down_sync(0xffffffffu, p.idx, off, kLanes)};
    p = merge(p, o);
  }
  if (lane == 0 && q0 + lq < nq) {
    out_idx[q0 + lq] = p.idx;
    out_best[q0 + lq] = p.best;
    out_second[q0 + lq] = p.second;
  }
}

}  // namespace

Best2 best2_cuda(const uint8_t* q, int nq, const uint8_t* t, int nt, int device) {
  const Device dev = Device::cuda(device);
  set_current_device(dev);
  Best2 r;
  if (nq == 0) return r;
  std::vector<uint8_t> hq(q, q + static_cast<size_t>(nq) * 128), ht(t, t + static_cast<size_t>(std::max(nt, 1)) * 128);
  Tensor dq = Tensor::from_vector(hq, {nq, 128}, dev);
  Tensor dt = Tensor::from_vector(ht, {std::max(nt, 1), 128}, dev);
  Tensor idx = Tensor::empty({nq}, DType::I32, dev), best = Tensor::empty({nq}, DType::I32, dev),
         second = Tensor::empty({nq}, DType::I32, dev);
  best2_kernel<<<grid_for(nq, kQueries), kThreads>>>(static_cast<const uint32_t*>(dq.raw()), nq,
                                                     static_cast<const uint32_t*>(dt.raw()), nt, idx.data<int32_t>(),
                                                     best.data<int32_t>(), second.data<int32_t>());
  VG_CUDA_CHECK_LAUNCH();
  r.idx = idx.to_vector<int32_t>();
  r.best = best.to_vector<int32_t>();
  r.second = second.to_vector<int32_t>();
  return r;
}

struct CudaDescriptorBank::Impl {
  Device dev;
  Tensor all;                  // every set, concatenated
  std::vector<int64_t> offset;  // rows before set i
  std::vector<int> count;
  Tensor out;  // [3 * max count]: idx, best, second of one direction
};

CudaDescriptorBank::CudaDescriptorBank(const std::vector<const uint8_t*>& sets, const std::vector<int>& counts,
                                       int device)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.dev = Device::cuda(device);
  set_current_device(m.dev);
  m.count = counts;
  int64_t rows = 0;
  int max_count = 1;
  for (int c : counts) m.offset.push_back(rows), rows += c, max_count = std::max(max_count, c);
  std::vector<uint8_t> host(static_cast<size_t>(std::max<int64_t>(rows, 1)) * 128);
  for (size_t i = 0; i < sets.size(); ++i)
    if (counts[i] > 0) std::copy(sets[i], sets[i] + static_cast<size_t>(counts[i]) * 128, host.data() + m.offset[i] * 128);
  m.all = Tensor::from_vector(host, {std::max<int64_t>(rows, 1), 128}, m.dev);
  m.out = Tensor::empty({3 * static_cast<int64_t>(max_count)}, DType::I32, m.dev);
}

CudaDescriptorBank::~CudaDescriptorBank() = default;

std::pair<Best2, Best2> CudaDescriptorBank::best2_pair(int a, int b, bool both) {
  Impl& m = *impl_;
  set_current_device(m.dev);
  auto scan = [&](int q, int t) {
    Best2 r;
    const int nq = m.count[q], nt = m.count[t];
    if (nq == 0) return r;
    const uint32_t* base = static_cast<const uint32_t*>(m.all.raw());
    int32_t* out = m.out.data<int32_t>();
    best2_kernel<<<grid_for(nq, kQueries), kThreads>>>(base + m.offset[q] * kWords, nq, base + m.offset[t] * kWords,
                                                       nt, out, out + nq, out + 2 * nq);
    VG_CUDA_CHECK_LAUNCH();
    std::vector<int32_t> host(3 * static_cast<size_t>(nq));
    cuda_copy(host.data(), Device::cpu(), out, m.dev, host.size() * sizeof(int32_t));
    r.idx.assign(host.begin(), host.begin() + nq);
    r.best.assign(host.begin() + nq, host.begin() + 2 * nq);
    r.second.assign(host.begin() + 2 * nq, host.end());
    return r;
  };
  std::pair<Best2, Best2> r;
  r.first = scan(a, b);
  if (both) r.second = scan(b, a);
  return r;
}

}  // namespace vg::match
