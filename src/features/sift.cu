// CUDA SIFT backend, octave by octave on one stream per image (up to 4 images at once): x2 upsampling,
// separable Gaussian blur
// (row and column passes staged in shared memory), DoG, extrema detection + refinement (one thread per
// pixel and level, appended through an atomic counter), orientation histograms and descriptors (one block
// per keypoint, histograms accumulated with shared-memory atomics; the orientations append the descriptor
// jobs on the device, so an octave costs one host sync and the image is read back at its end). The
// per-keypoint math is the shared sift_common.h, as in the CPU reference (sift_cpu.cc); results are sorted on the host so the order of
// appends does not matter.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "core/cuda_check.h"
#include "core/cuda_memory.h"
#include "core/device.h"
#include "features/sift_internal.h"

namespace vg::sift {
namespace {

constexpr int kRowBlock = 128;            // outputs per row-pass block
constexpr int kColTile = 64;              // rows per column-pass block (32 columns, 8 thread rows)
constexpr int kKeypointThreads = 128;     // threads per keypoint (orientation / descriptor)
constexpr int kMaxExtrema = 1 << 20;

__global__ void upsample_kernel(const float* src, int w, int h, float* dst) {
  const int W = 2 * w, H = 2 * h;
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= W || y >= H) return;
  int x0 = x / 2, x1 = min(x0 + 1, w - 1), y0 = y / 2, y1 = min(y0 + 1, h - 1);
  float fx = (x & 1) ? 0.5f : 0.0f, fy = (y & 1) ? 0.5f : 0.0f;
  float a = src[y0 * w + x0] + fx * (src[y0 * w + x1] - src[y0 * w + x0]);
  float b = src[y1 * w + x0] + fx * (src[y1 * w + x1] - src[y1 * w + x0]);
  dst[(size_t)y * W + x] = a + fy * (b - a);
}

// dst (w x h) = every second pixel of src (sw wide): the next octave's first level.
__global__ void downsample_kernel(const float* src, int sw, float* dst, int w, int h) {
  int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  dst[(size_t)y * w + x] = src[(size_t)(2 * y) * sw + 2 * x];
}

// Horizontal pass: a row segment plus its clamped halo in shared memory; the taps are read through the
// read-only cache (every thread of a warp reads the same tap: a broadcast).
__global__ void blur_rows_kernel(const float* src, float* dst, int w, int h, const float* __restrict__ taps, int R) {
  extern __shared__ float sh[];
  const int y = blockIdx.y, x0 = blockIdx.x * kRowBlock;
  for (int i = threadIdx.x; i < kRowBlock + 2 * R; i += blockDim.x)
    sh[i] = src[(size_t)y * w + min(max(x0 + i - R, 0), w - 1)];
  __syncthreads();
  const int x = x0 + threadIdx.x;
  if (x >= w) return;
  float acc = 0;
  for (int k = 0; k <= 2 * R; ++k) acc += __ldg(taps + k) * sh[threadIdx.x + k];
  dst[(size_t)y * w + x] = acc;
}

// Vertical pass: a 32-column x (kColTile + 2R)-row tile in shared memory, 8 outputs per thread.
__global__ void blur_cols_kernel(const float* src, float* dst, int w, int h, const float* __restrict__ taps, int R) {
  extern __shared__ float sh[];
  const int tx = threadIdx.x, x = blockIdx.x * 32 + tx, y0 = blockIdx.y * kColTile;
  const int xc = min(x, w - 1);
  for (int r = threadIdx.y; r < kColTile + 2 * R; r += blockDim.y)
    sh[r * 32 + tx] = src[(size_t)min(max(y0 + r - R, 0), h - 1) * w + xc];
  __syncthreads();
  if (x >= w) return;
  for (int r = threadIdx.y; r < kColTile && y0 + r < h; r += blockDim.y) {
    float acc = 0;
    for (int k = 0; k <= 2 * R; ++k) acc += __ldg(taps + k) * sh[(r + k) * 32 + tx];
    dst[(size_t)(y0 + r) * w + x] = acc;
  }
}

__global__ void dog_levels_kernel(const float* gauss, float* dog, long long plane, int levels) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= plane * levels) return;
  dog[i] = gauss[i + plane] - gauss[i];
}

// One thread per (x, y, s): 3x3x3 extremum test, refinement, append.
__global__ void detect_kernel(const float* dog, int w, int h, Params p, Extremum* out, int* count, int cap, int octave) {
  int x = blockIdx.x * blockDim.x + threadIdx.x + 1, y = blockIdx.y * blockDim.y + threadIdx.y + 1;
  int s = blockIdx.z;
  if (x > w - 2 || y > h - 2) return;
  const long plane = (long)w * h;
  const float* ptr = dog + (s - kSMin) * plane + (long)y * w + x;
  if (!is_extremum(ptr, w, plane, 0.8f * p.peak_thresh)) return;
  Extremum ex;
  if (!refine_extremum(dog, w, h, p.S, x, y, s, p.peak_thresh, p.edge_thresh, &ex)) return;
  ex.octave = octave;
  int i = atomicAdd(count, 1);
  if (i < cap) out[i] = ex;
}

// One block per extremum: 36-bin histogram in shared memory; thread 0 finds the peaks and appends one
// (extremum, angle) job per orientation through an atomic counter (the host sorts the features later).
struct Job {
  int ex;
  float angle;
};

__global__ void orientation_kernel(const float* gauss, int w, int h, Params p, const Extremum* ex, int n, Job* jobs,
                                   int* job_count) {
  __shared__ float hist[kOriBins];
  const int i = blockIdx.x;
  if (i >= n) return;
  for (int b = threadIdx.x; b < kOriBins; b += blockDim.x) hist[b] = 0;
  __syncthreads();
  const Extremum e = ex[i];
  const OriWindow wd = ori_window(e.x, e.y, level_sigma(p.sigma0, e.s, p.S));
  const bool inside = wd.xi >= 0 && wd.xi <= w - 1 && wd.yi >= 0 && wd.yi <= h - 1;
  const float* img = gauss + (long)(e.is - kSMin) * w * h;
  const int side = 2 * wd.W + 1;
  if (inside && !p.upright)
    for (int j = threadIdx.x; j < side * side; j += blockDim.x)
      ori_accumulate(img, w, h, wd, j % side - wd.W, j / side - wd.W,
                     [&](int b, float v) { atomicAdd(&hist[b], v); });
  __syncthreads();
  if (threadIdx.x != 0) return;
  float a[kMaxOrientations];
  int m = 0;
  if (p.upright) {
    a[0] = 0;
    m = 1;
  } else if (inside) {
    m = min(ori_peaks(hist, a), p.max_orientations);
  }
  if (m == 0) return;
  const int base = atomicAdd(job_count, m);  // at most n * kMaxOrientations jobs: the buffer's size
  for (int k = 0; k < m; ++k) jobs[base + k] = {i, a[k]};
}

// One block per oriented keypoint (grid sized for the most jobs; blocks past the count return): 4x4x8
// histogram in shared memory, normalised by thread 0.
__global__ void descriptor_kernel(const float* gauss, int w, int h, Params p, const Extremum* ex, const Job* jobs,
                                  const int* job_count, float* desc) {
  __shared__ float hist[kDescDim];
  const int i = blockIdx.x;
  if (i >= *job_count) return;
  for (int b = threadIdx.x; b < kDescDim; b += blockDim.x) hist[b] = 0;
  __syncthreads();
  const Job job = jobs[i];
  const Extremum e = ex[job.ex];
  const DescWindow wd = desc_window(e.x, e.y, level_sigma(p.sigma0, e.s, p.S), job.angle);
  const float* img = gauss + (long)(e.is - kSMin) * w * h;
  const int side = 2 * wd.W + 1;
  for (int j = threadIdx.x; j < side * side; j += blockDim.x)
    desc_accumulate(img, w, h, wd, j % side - wd.W, j / side - wd.W, [&](int b, float v) { atomicAdd(&hist[b], v); });
  __syncthreads();
  if (threadIdx.x == 0) desc_normalize(hist);
  __syncthreads();
  for (int b = threadIdx.x; b < kDescDim; b += blockDim.x) desc[(size_t)i * kDescDim + b] = hist[b];
}

// Device memory of one image's extraction, from the pool, allocated and freed in order on the image's stream.
class Buf {
 public:
  Buf() = default;
  Buf(size_t bytes, int dev, cudaStream_t s) : dev_(dev), s_(s), p_(cuda_alloc(std::max<size_t>(bytes, 4), dev, s)) {}
  Buf(Buf&& o) noexcept { swap(o); }
  Buf& operator=(Buf&& o) noexcept {
    swap(o);
    return *this;
  }
  ~Buf() { cuda_free(p_, dev_, s_); }
  template <typename T>
  T* as() const { return static_cast<T*>(p_); }

 private:
  void swap(Buf& o) { std::swap(dev_, o.dev_), std::swap(s_, o.s_), std::swap(p_, o.p_); }
  int dev_ = 0;
  cudaStream_t s_ = nullptr;
  void* p_ = nullptr;
};

// One image's stream: images of different threads run on the GPU at the same time.
struct Stream {
  cudaStream_t s = nullptr;
  Stream() { VG_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  ~Stream() {
    cudaStreamSynchronize(s);
    cudaStreamDestroy(s);
  }
};

template <typename T>
Buf upload(const std::vector<T>& v, int dev, cudaStream_t s) {
  Buf b(v.size() * sizeof(T), dev, s);
  if (!v.empty()) VG_CUDA_CHECK(cudaMemcpyAsync(b.as<T>(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice, s));
  return b;
}

template <typename T>
std::vector<T> to_host(const void* src, size_t n, cudaStream_t s) {
  std::vector<T> v(n);
  if (n) VG_CUDA_CHECK(cudaMemcpyAsync(v.data(), src, n * sizeof(T), cudaMemcpyDeviceToHost, s));
  VG_CUDA_CHECK(cudaStreamSynchronize(s));
  return v;
}

void blur(const float* src, float* dst, float* tmp, int w, int h, const float* taps, int R, cudaStream_t s) {
  blur_rows_kernel<<<dim3(grid_for(w, kRowBlock), h), kRowBlock, (kRowBlock + 2 * R) * sizeof(float), s>>>(
      src, tmp, w, h, taps, R);
  VG_CUDA_CHECK_LAUNCH();
  blur_cols_kernel<<<dim3(grid_for(w, 32), grid_for(h, kColTile)), dim3(32, 8),
                     (kColTile + 2 * R) * 32 * sizeof(float), s>>>(tmp, dst, w, h, taps, R);
  VG_CUDA_CHECK_LAUNCH();
}

// One octave's extrema, described on the device; read back once the whole image is done.
struct OctaveOutput {
  int octave = 0, n = 0;  // n extrema, stored from `ex_offset` in the image's extrema buffer
  long long ex_offset = 0;
  Buf jobs, job_count, desc;
};

// Orientations and descriptors of one octave's n extrema (already on the device): no host round trip.
OctaveOutput describe_octave(const float* gauss, int w, int h, int o, const Params& p, const Extremum* d_ex, int n,
                             long long ex_offset, int dev, cudaStream_t s) {
  OctaveOutput oc;
  oc.octave = o, oc.n = n, oc.ex_offset = ex_offset;
  if (n == 0) return oc;
  const int max_jobs = n * kMaxOrientations;
  oc.jobs = Buf(sizeof(Job) * max_jobs, dev, s);
  oc.job_count = Buf(sizeof(int32_t), dev, s);
  VG_CUDA_CHECK(cudaMemsetAsync(oc.job_count.as<int32_t>(), 0, sizeof(int32_t), s));
  oc.desc = Buf(sizeof(float) * max_jobs * kDescDim, dev, s);
  orientation_kernel<<<n, kKeypointThreads, 0, s>>>(gauss, w, h, p, d_ex, n, oc.jobs.as<Job>(),
                                                    oc.job_count.as<int32_t>());
  VG_CUDA_CHECK_LAUNCH();
  descriptor_kernel<<<max_jobs, kKeypointThreads, 0, s>>>(gauss, w, h, p, d_ex, oc.jobs.as<Job>(),
                                                          oc.job_count.as<int32_t>(), oc.desc.as<float>());
  VG_CUDA_CHECK_LAUNCH();
  return oc;
}

// Appends an octave's features to `out` (host side, after the device finished the image).
void collect_octave(const OctaveOutput& oc, const Extremum* d_ex_all, const Params& p, cudaStream_t s,
                    RawFeatures& out) {
  if (oc.n == 0) return;
  const int m = to_host<int32_t>(oc.job_count.as<int32_t>(), 1, s)[0];
  std::vector<Extremum> ex = to_host<Extremum>(d_ex_all + oc.ex_offset, oc.n, s);
  std::vector<Job> jobs = to_host<Job>(oc.jobs.as<Job>(), m, s);
  std::vector<float> desc = to_host<float>(oc.desc.as<float>(), static_cast<size_t>(m) * kDescDim, s);
  const float scale = std::ldexp(1.0f, oc.octave);
  for (int j = 0; j < m; ++j) {
    const Extremum& e = ex[jobs[j].ex];
    out.kps.push_back({e.x * scale, e.y * scale, level_sigma(p.sigma0, e.s, p.S) * scale, jobs[j].angle,
                       dog_level(oc.octave, e.is), out.num_extrema + jobs[j].ex});
  }
  out.desc.insert(out.desc.end(), desc.begin(), desc.end());
  out.num_extrema += oc.n;
}

// At most 4 images on the GPU at once (each holds about 140 MB for a 960 x 540 photo, 400 MB at 1600 px).
class GpuSlots {
 public:
  void acquire() {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int free_ = 4;
};

GpuSlots& gpu_slots() {
  static GpuSlots slots;
  return slots;
}

}  // namespace

RawFeatures extract_cuda(const std::vector<float>& grey, int w, int h, const Params& p, int device) {
  // Each image on its own stream: small images leave most of the GPU idle, so up to 4 run at once.
  gpu_slots().acquire();
  struct Release {
    ~Release() { gpu_slots().release(); }
  } release;
  set_current_device(Device::cuda(device));
  const Stream stream;  // declared first: destroyed after the buffers below are freed on it
  const cudaStream_t s = stream.s;
  const int dev = device;
  RawFeatures out;
  std::vector<OctaveOutput> octaves;
  long long ex_total = 0;  // extrema of the previous octaves, stored one after another
  const int n_oct = octave_count(p, w, h);
  std::vector<Buf> level_taps;
  std::vector<int> level_radius;
  for (int sl = kSMin + 1; sl <= p.S + 1; ++sl) {
    std::vector<float> t = gaussian_taps(level_dsigma(p, sl));
    level_radius.push_back(static_cast<int>(t.size() / 2));
    level_taps.push_back(upload(t, dev, s));
  }
  const Buf d_grey = upload(grey, dev, s);
  const Buf extrema(sizeof(Extremum) * kMaxExtrema, dev, s);
  const Buf count(sizeof(int32_t), dev, s);
  Buf prev_gauss;
  int prev_w = 0;
  long long prev_plane = 0;
  for (int i = 0; i < n_oct; ++i) {
    const int o = p.o_min + i;
    int ow, oh;
    octave_size(w, h, o, &ow, &oh);
    const long long plane = static_cast<long long>(ow) * oh;
    Buf gauss(sizeof(float) * (p.S + 3) * plane, dev, s);
    const Buf dog(sizeof(float) * (p.S + 2) * plane, dev, s);
    const Buf tmp(sizeof(float) * plane, dev, s);
    float* g = gauss.as<float>();
    const dim3 block(32, 8), grid(grid_for(ow, 32), grid_for(oh, 8));
    if (i == 0) {
      const float* base = d_grey.as<float>();
      Buf owned;
      if (o == -1) {
        owned = Buf(sizeof(float) * plane, dev, s);
        upsample_kernel<<<grid, block, 0, s>>>(base, w, h, owned.as<float>());
        base = owned.as<float>();
      } else {  // o_min >= 0: subsample by 2^o (one downsample per octave step)
        for (int k = 0, cw = w, ch = h; k < o; ++k, cw /= 2, ch /= 2) {
          Buf next(sizeof(float) * (cw / 2) * (ch / 2), dev, s);
          downsample_kernel<<<dim3(grid_for(cw / 2, 32), grid_for(ch / 2, 8)), block, 0, s>>>(
              base, cw, next.as<float>(), cw / 2, ch / 2);
          owned = std::move(next);
          base = owned.as<float>();
        }
      }
      VG_CUDA_CHECK_LAUNCH();
      const float sd = base_dsigma(p);
      if (sd > 0) {
        const std::vector<float> t = gaussian_taps(sd);
        const Buf taps = upload(t, dev, s);
        blur(base, g, tmp.as<float>(), ow, oh, taps.as<float>(), static_cast<int>(t.size() / 2), s);
      } else {
        VG_CUDA_CHECK(cudaMemcpyAsync(g, base, plane * sizeof(float), cudaMemcpyDeviceToDevice, s));
      }
    } else {
      downsample_kernel<<<grid, block, 0, s>>>(prev_gauss.as<float>() + p.S * prev_plane, prev_w, g, ow, oh);
      VG_CUDA_CHECK_LAUNCH();
    }
    for (int sl = kSMin + 1; sl <= p.S + 1; ++sl)
      blur(g + (sl - 1 - kSMin) * plane, g + (sl - kSMin) * plane, tmp.as<float>(), ow, oh,
           level_taps[sl - kSMin - 1].as<float>(), level_radius[sl - kSMin - 1], s);
    dog_levels_kernel<<<grid_for((p.S + 2) * plane, 256), 256, 0, s>>>(g, dog.as<float>(), plane, p.S + 2);
    VG_CUDA_CHECK_LAUNCH();
    VG_CUDA_CHECK(cudaMemsetAsync(count.as<int32_t>(), 0, sizeof(int32_t), s));
    Extremum* d_ex = extrema.as<Extremum>() + ex_total;
    const int cap = kMaxExtrema - static_cast<int>(ex_total);
    if (ow > 2 && oh > 2 && cap > 0) {
      detect_kernel<<<dim3(grid_for(ow - 2, 32), grid_for(oh - 2, 8), p.S), block, 0, s>>>(
          dog.as<float>(), ow, oh, p, d_ex, count.as<int32_t>(), cap, o);
      VG_CUDA_CHECK_LAUNCH();
    }
    const int n = cap > 0 ? std::min(to_host<int32_t>(count.as<int32_t>(), 1, s)[0], cap) : 0;  // one host sync
    octaves.push_back(describe_octave(g, ow, oh, o, p, d_ex, n, ex_total, dev, s));
    ex_total += n;
    prev_gauss = std::move(gauss);
    prev_w = ow;
    prev_plane = plane;
  }
  for (const OctaveOutput& oc : octaves) collect_octave(oc, extrema.as<Extremum>(), p, s, out);
  return out;
}

}  // namespace vg::sift
