// CUDA brute-force matcher: exact integer dot products of uint8 descriptors (so the result equals the CPU's
// float GEMM), fused with the best / second-best reduction; the dot matrix is never stored.
//   sm_80+: int8 tensor cores (mma.sync m16n8k32 u8 x u8 -> s32). A warp owns 32 queries (two 16-row tiles, their
//           A fragments in registers); the block's 4 warps share train tiles of 64 descriptors in shared memory;
//           each 16 x 8 score tile updates the owning threads' best / second, merged over the 4 threads of a
//           row at the end. Many (query set, train set) jobs run in one launch (a block table maps blocks to jobs).
//   sm_75:  __dp4a. A block owns 32 queries and streams the train tiles through shared memory; each query is
//           served by 8 threads (strided train columns) whose partial results merge by warp shuffles.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
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

// ---- tensor-core path (sm_80+) ----
constexpr int kMmaWarps = 4;
constexpr int kMmaWarpQueries = 32;                      // two m16 tiles per warp
constexpr int kMmaQueries = kMmaWarps * kMmaWarpQueries;  // per block
constexpr int kMmaTrainTile = 64;
constexpr int kMmaStride = kWords + 4;  // 36 words a row: a fragment's 8 rows x 4 words hit 32 distinct banks

struct MatchJob {
  int64_t q, t, out;  // first descriptor row of the query / train set in the bank, first output slot
  int nq, nt;
};

// Sequential-scan update (strict >: the first index of equal bests wins, an equal later value becomes second).
__device__ __forceinline__ void push(Partial& p, int d, int idx) {
  if (d > p.second) {
    if (d > p.best) {
      p.second = p.best, p.best = d, p.idx = idx;
    } else {
      p.second = d;
    }
  }
}

// One 16x8 tile of dot products, K = 32 bytes: PTX ISA "Matrix Fragments for mma.m16n8k32" (.u8): a thread
// (group g = lane / 4, t = lane % 4) holds A rows g and g + 8, bytes 4t..4t+3 and 16+4t..; B column g, bytes
// 4t.. and 16+4t..; C rows g / g + 8, columns 2t and 2t + 1.
__device__ __forceinline__ void mma_u8(int (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.u8.u8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// blocks[b] = (job, first query of the block). qmap (may be null): query row r of a job is bank row
// qmap[job.out + r] instead of job.q + r (the gathered rows of the cross-check's reverse scan).
__global__ void __launch_bounds__(kMmaWarps * 32)
    best2_mma_kernel(const uint32_t* __restrict__ bank, const MatchJob* __restrict__ jobs,
                     const int2* __restrict__ blocks, const int* __restrict__ qmap, int* __restrict__ out_idx,
                     int* __restrict__ out_best, int* __restrict__ out_second) {
  __shared__ uint32_t st[kMmaTrainTile][kMmaStride];
  const int2 bi = blocks[blockIdx.x];
  const MatchJob job = jobs[bi.x];
  auto qrow = [&](int r) { return bank + (qmap ? static_cast<int64_t>(qmap[job.out + r]) : job.q + r) * kWords; };
  const uint32_t* t = bank + job.t * kWords;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, tg = lane % 4;
  const int qw = bi.y + warp * kMmaWarpQueries;
  uint32_t a[2][4][4];  // [m tile][k chunk of 32 bytes][fragment register]
#pragma unroll
  for (int m = 0; m < 2; ++m) {
    const int r0 = qw + m * 16 + g, r1 = r0 + 8;
#pragma unroll
    for (int kc = 0; kc < 4; ++kc) {
      a[m][kc][0] = r0 < job.nq ? qrow(r0)[kc * 8 + tg] : 0u;
      a[m][kc][1] = r1 < job.nq ? qrow(r1)[kc * 8 + tg] : 0u;
      a[m][kc][2] = r0 < job.nq ? qrow(r0)[kc * 8 + 4 + tg] : 0u;
      a[m][kc][3] = r1 < job.nq ? qrow(r1)[kc * 8 + 4 + tg] : 0u;
    }
  }
  Partial p[2][2];  // [m tile][row g / g + 8]
#pragma unroll
  for (int m = 0; m < 2; ++m) p[m][0] = p[m][1] = Partial{0, 0, -1};
  for (int t0 = 0; t0 < job.nt; t0 += kMmaTrainTile) {
    __syncthreads();
    for (int i = threadIdx.x; i < kMmaTrainTile * kWords; i += kMmaWarps * 32) {
      const int r = i / kWords, c = i % kWords;
      st[r][c] = t0 + r < job.nt ? t[static_cast<int64_t>(t0 + r) * kWords + c] : 0u;  // zero rows never win (dot 0)
    }
    __syncthreads();
    const int cols = min(kMmaTrainTile, job.nt - t0);
    for (int n0 = 0; n0 < cols; n0 += 8) {
      uint32_t b[4][2];
#pragma unroll
      for (int kc = 0; kc < 4; ++kc) b[kc][0] = st[n0 + g][kc * 8 + tg], b[kc][1] = st[n0 + g][kc * 8 + 4 + tg];
      const int col = t0 + n0 + 2 * tg;
#pragma unroll
      for (int m = 0; m < 2; ++m) {
        int c[4] = {0, 0, 0, 0};
#pragma unroll
        for (int kc = 0; kc < 4; ++kc) mma_u8(c, a[m][kc], b[kc][0], b[kc][1]);
        push(p[m][0], c[0], col), push(p[m][0], c[1], col + 1);
        push(p[m][1], c[2], col), push(p[m][1], c[3], col + 1);
      }
    }
  }
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      Partial& r = p[m][h];
#pragma unroll
      for (int off = 1; off < 4; off *= 2) {  // the 4 threads of a row: lanes 4g .. 4g + 3
        Partial o{__shfl_xor_sync(0xffffffffu, r.best, off), __shfl_xor_sync(0xffffffffu, r.second, off),
                  __shfl_xor_sync(0xffffffffu, r.idx, off)};
        r = merge(r, o);
      }
      const int row = qw + m * 16 + h * 8 + g;
      if (tg == 0 && row < job.nq) {
        out_idx[job.out + row] = r.idx;
        out_best[job.out + row] = r.best;
        out_second[job.out + row] = r.second;
      }
    }
}

bool have_tensor_core_imma(int device) {
  int major = 0;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess && major >= 8;
}

// The job table on the device (its Tensor, freed in stream order after the kernels that read it).
struct JobTable {
  Tensor buf;
  const MatchJob* jobs = nullptr;
  const int2* blocks = nullptr;
  unsigned num_blocks = 0;
};

// Uploads jobs and the tensor-core kernel's block table (kMmaQueries queries a block).
JobTable upload_jobs(const std::vector<MatchJob>& jobs, const Device& dev) {
  std::vector<int2> blocks;
  for (size_t j = 0; j < jobs.size(); ++j)
    for (int q0 = 0; q0 < jobs[j].nq; q0 += kMmaQueries) blocks.push_back(make_int2(static_cast<int>(j), q0));
  std::vector<uint8_t> host(std::max<size_t>(1, jobs.size() * sizeof(MatchJob) + blocks.size() * sizeof(int2)));
  std::memcpy(host.data(), jobs.data(), jobs.size() * sizeof(MatchJob));
  if (!blocks.empty())
    std::memcpy(host.data() + jobs.size() * sizeof(MatchJob), blocks.data(), blocks.size() * sizeof(int2));
  JobTable t;
  t.buf = Tensor::from_vector(host, {static_cast<int64_t>(host.size())}, dev);
  t.jobs = reinterpret_cast<const MatchJob*>(t.buf.raw());
  t.blocks = reinterpret_cast<const int2*>(static_cast<const uint8_t*>(t.buf.raw()) + jobs.size() * sizeof(MatchJob));
  t.num_blocks = static_cast<unsigned>(blocks.size());
  return t;
}

// Tensor-core scan of every job: idx / best / second of output row g at o[g], o[total + g], o[2 total + g].
void launch_mma(const uint32_t* bank, const JobTable& t, const int* qmap, int32_t* o, int64_t total) {
  if (t.num_blocks == 0) return;
  best2_mma_kernel<<<t.num_blocks, kMmaWarps * 32>>>(bank, t.jobs, t.blocks, qmap, o, o + total, o + 2 * total);
  VG_CUDA_CHECK_LAUNCH();
}

// Runs every job (query set x train set of one bank buffer) and returns each job's Best2, with one upload of the
// job table and one download. sm_75: one dp4a kernel per job into the same output buffer.
std::vector<Best2> run_jobs(const uint32_t* bank, const std::vector<MatchJob>& jobs, const Device& dev) {
  std::vector<Best2> res(jobs.size());
  int64_t total = 0;
  for (const MatchJob& j : jobs) total += j.nq;
  if (total == 0) return res;
  Tensor out = Tensor::empty({3 * total}, DType::I32, dev);
  int32_t* o = out.data<int32_t>();
  if (have_tensor_core_imma(dev.index)) {
    launch_mma(bank, upload_jobs(jobs, dev), nullptr, o, total);
  } else {
    for (const MatchJob& j : jobs) {
      if (j.nq == 0) continue;
      best2_kernel<<<grid_for(j.nq, kQueries), kThreads>>>(bank + j.q * kWords, j.nq, bank + j.t * kWords, j.nt,
                                                          o + j.out, o + total + j.out, o + 2 * total + j.out);
      VG_CUDA_CHECK_LAUNCH();
    }
  }
  const std::vector<int32_t> host = out.to_vector<int32_t>();
  for (size_t k = 0; k < jobs.size(); ++k) {
    const auto b = host.begin() + jobs[k].out;
    res[k].idx.assign(b, b + jobs[k].nq);
    res[k].best.assign(b + total, b + total + jobs[k].nq);
    res[k].second.assign(b + 2 * total, b + 2 * total + jobs[k].nq);
  }
  return res;
}

// ---- selection on the GPU (match_pairs) ----
struct Select {
  const float* dist;  // dot_distance of 0 .. kDotOne, computed on the host
  double max_distance;
  float max_ratio;
};

// COLMAP's one-way selection of a scanned row (select_matches in matching.cc, with the host's distances).
__device__ __forceinline__ int select_row(const Select& s, int idx, int best, int second) {
  if (idx < 0) return -1;
  const float d1 = s.dist[min(max(best, 0), kDotOne)];
  if (static_cast<double>(d1) > s.max_distance) return -1;
  const float d2 = s.dist[min(max(second, 0), kDotOne)];
  return d1 >= s.max_ratio * d2 ? -1 : idx;
}

// The job whose output rows hold row g (jobs' outputs are consecutive, in order; empty jobs are skipped over).
__device__ __forceinline__ int job_of(const MatchJob* jobs, int njobs, int64_t g) {
  int lo = 0, hi = njobs;  // first job with out > g, minus one
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (jobs[mid].out <= g) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

// Pass 1 selection: m12[g] = the selected train index of scanned row g or -1; the selected rows of job k are
// listed (in any order) at rows[jobs[k].out + 0 .. count[k]).
__global__ void k_select_forward(const MatchJob* jobs, int njobs, int64_t total, const int32_t* o, Select sel,
                                 int* m12, int* count, int* rows) {
  const int64_t g = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (g >= total) return;
  const int m = select_row(sel, o[g], o[total + g], o[2 * total + g]);
  m12[g] = m;
  if (m < 0) return;
  const int k = job_of(jobs, njobs, g);
  rows[jobs[k].out + atomicAdd(count + k, 1)] = static_cast<int>(g - jobs[k].out);
}

// The selected rows, compacted: slot g of job k (jobs2[k].out = its first slot) is query i of pass 1 and its
// selected train index j; qmap[g] is j's bank row, the query of the reverse scan.
__global__ void k_gather_selected(const MatchJob* jobs1, const MatchJob* jobs2, int njobs, int64_t total2,
                                  const int* m12, const int* rows, int* qmap, int* ai, int* aj) {
  const int64_t g = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (g >= total2) return;
  const int k = job_of(jobs2, njobs, g);
  const int i = rows[jobs1[k].out + (g - jobs2[k].out)];
  const int j = m12[jobs1[k].out + i];
  ai[g] = i, aj[g] = j;
  qmap[g] = static_cast<int>(jobs1[k].t + j);
}

// Cross-check: a selected pair (i, j) stays when j's own selection over a is i.
__global__ void k_select_mutual(int64_t total2, const int32_t* o, Select sel, int* ai) {
  const int64_t g = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (g >= total2) return;
  if (select_row(sel, o[g], o[total2 + g], o[2 * total2 + g]) != ai[g]) ai[g] = -1;
}

}  // namespace

Best2 best2_cuda(const uint8_t* q, int nq, const uint8_t* t, int nt, int device) {
  const Device dev = Device::cuda(device);
  set_current_device(dev);
  if (nq == 0) return {};
  std::vector<uint8_t> both(q, q + static_cast<size_t>(nq) * 128);
  both.insert(both.end(), t, t + static_cast<size_t>(nt) * 128);
  Tensor d = Tensor::from_vector(both, {nq + nt, 128}, dev);
  return run_jobs(static_cast<const uint32_t*>(d.raw()), {MatchJob{0, nq, 0, nq, nt}}, dev)[0];
}

struct CudaDescriptorBank::Impl {
  Device dev;
  Tensor all;                  // every set, concatenated
  std::vector<int64_t> offset;  // rows before set i
  std::vector<int> count;
  Tensor dist;                 // dot_distance table of the GPU selection (uploaded on first use)
};

CudaDescriptorBank::CudaDescriptorBank(const std::vector<const uint8_t*>& sets, const std::vector<int>& counts,
                                       int device)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.dev = Device::cuda(device);
  set_current_device(m.dev);
  m.count = counts;
  int64_t rows = 0;
  for (int c : counts) m.offset.push_back(rows), rows += c;
  std::vector<uint8_t> host(static_cast<size_t>(std::max<int64_t>(rows, 1)) * 128);
  for (size_t i = 0; i < sets.size(); ++i)
    if (counts[i] > 0) std::copy(sets[i], sets[i] + static_cast<size_t>(counts[i]) * 128, host.data() + m.offset[i] * 128);
  m.all = Tensor::from_vector(host, {std::max<int64_t>(rows, 1), 128}, m.dev);
}

CudaDescriptorBank::~CudaDescriptorBank() = default;

std::pair<Best2, Best2> CudaDescriptorBank::best2_pair(int a, int b, bool both) {
  return std::move(best2_pairs({{a, b}}, both)[0]);
}

std::vector<std::pair<Best2, Best2>> CudaDescriptorBank::best2_pairs(const std::vector<std::pair<int, int>>& pairs,
                                                                     bool both) {
  Impl& m = *impl_;
  set_current_device(m.dev);
  std::vector<MatchJob> jobs;
  int64_t out = 0;
  auto add = [&](int q, int t) {
    jobs.push_back(MatchJob{m.offset.at(q), m.offset.at(t), out, m.count.at(q), m.count.at(t)});
    out += m.count[q];
  };
  for (auto [a, b] : pairs) {
    add(a, b);
    if (both) add(b, a);
  }
  std::vector<Best2> r = run_jobs(static_cast<const uint32_t*>(m.all.raw()), jobs, m.dev);
  std::vector<std::pair<Best2, Best2>> res(pairs.size());
  for (size_t k = 0, j = 0; k < pairs.size(); ++k) {
    res[k].first = std::move(r[j++]);
    if (both) res[k].second = std::move(r[j++]);
  }
  return res;
}

bool CudaDescriptorBank::fused_selection() const { return have_tensor_core_imma(impl_->dev.index); }

std::vector<std::vector<std::pair<int, int>>> CudaDescriptorBank::match_pairs(
    const std::vector<std::pair<int, int>>& pairs, const SelectOptions& opt) {
  Impl& m = *impl_;
  set_current_device(m.dev);
  std::vector<std::vector<std::pair<int, int>>> res(pairs.size());
  const uint32_t* bank = static_cast<const uint32_t*>(m.all.raw());
  if (!m.dist.defined()) {
    std::vector<float> d(kDotOne + 1);
    for (int32_t v = 0; v <= kDotOne; ++v) d[v] = dot_distance(v);
    m.dist = Tensor::from_vector(d, {kDotOne + 1}, m.dev);
  }
  const Select sel{m.dist.data<float>(), opt.max_distance, opt.max_ratio};
  // Pass 1: every row of a over b, then the selection.
  std::vector<MatchJob> jobs1;
  int64_t total1 = 0;
  for (auto [a, b] : pairs) {
    jobs1.push_back(MatchJob{m.offset.at(a), m.offset.at(b), total1, m.count.at(a), m.count.at(b)});
    total1 += m.count[a];
  }
  if (total1 == 0) return res;
  const int njobs = static_cast<int>(jobs1.size());
  const JobTable t1 = upload_jobs(jobs1, m.dev);
  Tensor o1 = Tensor::empty({3 * total1}, DType::I32, m.dev);
  launch_mma(bank, t1, nullptr, o1.data<int32_t>(), total1);
  Tensor m12 = Tensor::empty({total1}, DType::I32, m.dev), rows = Tensor::empty({total1}, DType::I32, m.dev);
  Tensor count = Tensor::zeros({njobs}, DType::I32, m.dev);
  k_select_forward<<<grid_for(total1, 256), 256>>>(t1.jobs, njobs, total1, o1.data<int32_t>(), sel,
                                                   m12.data<int32_t>(), count.data<int32_t>(), rows.data<int32_t>());
  VG_CUDA_CHECK_LAUNCH();
  const std::vector<int32_t> counts = count.to_vector<int32_t>();
  // The selected rows, compacted; pass 2 scans their train rows back over a.
  std::vector<MatchJob> jobs2;
  int64_t total2 = 0;
  for (int k = 0; k < njobs; ++k) {
    jobs2.push_back(MatchJob{0, jobs1[k].q, total2, counts[k], jobs1[k].nq});
    total2 += counts[k];
  }
  if (total2 == 0) return res;
  const JobTable t2 = upload_jobs(jobs2, m.dev);
  Tensor qmap = Tensor::empty({total2}, DType::I32, m.dev), ai = Tensor::empty({total2}, DType::I32, m.dev);
  Tensor aj = Tensor::empty({total2}, DType::I32, m.dev);
  k_gather_selected<<<grid_for(total2, 256), 256>>>(t1.jobs, t2.jobs, njobs, total2, m12.data<int32_t>(),
                                                    rows.data<int32_t>(), qmap.data<int32_t>(), ai.data<int32_t>(),
                                                    aj.data<int32_t>());
  VG_CUDA_CHECK_LAUNCH();
  if (opt.cross_check) {
    Tensor o2 = Tensor::empty({3 * total2}, DType::I32, m.dev);
    launch_mma(bank, t2, qmap.data<int32_t>(), o2.data<int32_t>(), total2);
    k_select_mutual<<<grid_for(total2, 256), 256>>>(total2, o2.data<int32_t>(), sel, ai.data<int32_t>());
    VG_CUDA_CHECK_LAUNCH();
  }
  const std::vector<int32_t> hi = ai.to_vector<int32_t>(), hj = aj.to_vector<int32_t>();
  for (int k = 0; k < njobs; ++k) {
    std::vector<std::pair<int, int>>& out = res[k];
    for (int64_t g = jobs2[k].out; g < jobs2[k].out + jobs2[k].nq; ++g)
      if (hi[g] >= 0) out.emplace_back(hi[g], hj[g]);
    std::sort(out.begin(), out.end());  // query order, as the CPU selection lists them
    if (static_cast<int>(out.size()) > opt.max_num_matches) out.resize(opt.max_num_matches);
  }
  return res;
}

}  // namespace vg::match
