// CUDA SIFT backend, octave by octave on the default stream: x2 upsampling, separable Gaussian blur
// (row and column passes staged in shared memory), DoG, extrema detection + refinement (one thread per
// pixel and level, appended through an atomic counter), orientation histograms and descriptors (one block
// per keypoint, histograms accumulated with shared-memory atomics). The per-keypoint math is the shared
// sift_common.h, as in the CPU reference (sift_cpu.cc); results are sorted on the host so the order of
// appends does not matter.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cuda_check.h"
#include "core/cuda_memory.h"
#include "core/device.h"
#include "core/tensor.h"
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

// One block per extremum: 36-bin histogram in shared memory, peaks by thread 0.
__global__ void orientation_kernel(const float* gauss, int w, int h, Params p, const Extremum* ex, int n,
                                   float* angles, int* counts) {
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
  counts[i] = m;
  for (int k = 0; k < m; ++k) angles[i * kMaxOrientations + k] = a[k];
}

// One block per oriented keypoint: 4x4x8 histogram in shared memory, normalised by thread 0.
__global__ void descriptor_kernel(const float* gauss, int w, int h, Params p, const Extremum* ex, const int* ex_index,
                                  const float* angle, int n, float* desc) {
  __shared__ float hist[kDescDim];
  const int i = blockIdx.x;
  if (i >= n) return;
  for (int b = threadIdx.x; b < kDescDim; b += blockDim.x) hist[b] = 0;
  __syncthreads();
  const Extremum e = ex[ex_index[i]];
  const DescWindow wd = desc_window(e.x, e.y, level_sigma(p.sigma0, e.s, p.S), angle[i]);
  const float* img = gauss + (long)(e.is - kSMin) * w * h;
  const int side = 2 * wd.W + 1;
  for (int j = threadIdx.x; j < side * side; j += blockDim.x)
    desc_accumulate(img, w, h, wd, j % side - wd.W, j / side - wd.W, [&](int b, float v) { atomicAdd(&hist[b], v); });
  __syncthreads();
  if (threadIdx.x == 0) desc_normalize(hist);
  __syncthreads();
  for (int b = threadIdx.x; b < kDescDim; b += blockDim.x) desc[(size_t)i * kDescDim + b] = hist[b];
}

Tensor device_buffer(size_t bytes, const Device& d) {
  return Tensor::empty({static_cast<int64_t>(std::max<size_t>(bytes, 4))}, DType::U8, d);
}

void blur(const float* src, float* dst, float* tmp, int w, int h, const Tensor& taps) {
  const int R = static_cast<int>(taps.numel() / 2);
  const float* t = taps.data<float>();
  blur_rows_kernel<<<dim3(grid_for(w, kRowBlock), h), kRowBlock, (kRowBlock + 2 * R) * sizeof(float)>>>(
      src, tmp, w, h, t, R);
  VG_CUDA_CHECK_LAUNCH();
  blur_cols_kernel<<<dim3(grid_for(w, 32), grid_for(h, kColTile)), dim3(32, 8),
                     (kColTile + 2 * R) * 32 * sizeof(float)>>>(tmp, dst, w, h, t, R);
  VG_CUDA_CHECK_LAUNCH();
}

template <typename T>
std::vector<T> to_host(const void* src, size_t n, const Device& d) {
  std::vector<T> v(n);
  if (n) cuda_copy(v.data(), Device::cpu(), src, d, n * sizeof(T));
  return v;
}

// Orientations and descriptors of one octave's extrema (already on the device), appended to `out`.
void describe_octave(const float* gauss, int w, int h, int o, const Params& p, const Extremum* d_ex, int n,
                     const Device& dev, RawFeatures& out) {
  if (n == 0) return;
  Tensor angles = Tensor::empty({static_cast<int64_t>(n) * kMaxOrientations}, DType::F32, dev);
  Tensor counts = Tensor::empty({n}, DType::I32, dev);
  orientation_kernel<<<n, kKeypointThreads>>>(gauss, w, h, p, d_ex, n, angles.data<float>(), counts.data<int32_t>());
  VG_CUDA_CHECK_LAUNCH();
  std::vector<float> h_angles = angles.to_vector<float>();
  std::vector<int32_t> h_counts = counts.to_vector<int32_t>();
  std::vector<int32_t> job_ex;
  std::vector<float> job_angle;
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < h_counts[i]; ++k) {
      job_ex.push_back(i);
      job_angle.push_back(h_angles[static_cast<size_t>(i) * kMaxOrientations + k]);
    }
  const int m = static_cast<int>(job_ex.size());
  if (m == 0) {
    out.num_extrema += n;
    return;
  }
  Tensor d_job_ex = Tensor::from_vector(job_ex, {m}, dev), d_job_angle = Tensor::from_vector(job_angle, {m}, dev);
  Tensor desc = Tensor::empty({m, kDescDim}, DType::F32, dev);
  descriptor_kernel<<<m, kKeypointThreads>>>(gauss, w, h, p, d_ex, d_job_ex.data<int32_t>(),
                                             d_job_angle.data<float>(), m, desc.data<float>());
  VG_CUDA_CHECK_LAUNCH();
  std::vector<Extremum> ex = to_host<Extremum>(d_ex, n, dev);
  std::vector<float> h_desc = desc.to_vector<float>();
  const float scale = std::ldexp(1.0f, o);
  for (int j = 0; j < m; ++j) {
    const Extremum& e = ex[job_ex[j]];
    out.kps.push_back({e.x * scale, e.y * scale, level_sigma(p.sigma0, e.s, p.S) * scale, job_angle[j],
                       dog_level(o, e.is), out.num_extrema + job_ex[j]});
  }
  out.desc.insert(out.desc.end(), h_desc.begin(), h_desc.end());
  out.num_extrema += n;
}

}  // namespace

RawFeatures extract_cuda(const std::vector<float>& grey, int w, int h, const Params& p, int device) {
  const Device dev = Device::cuda(device);
  set_current_device(dev);
  RawFeatures out;
  const int n_oct = octave_count(p, w, h);
  std::vector<Tensor> level_taps;
  for (int s = kSMin + 1; s <= p.S + 1; ++s) {
    std::vector<float> t = gaussian_taps(level_dsigma(p, s));
    level_taps.push_back(Tensor::from_vector(t, {static_cast<int64_t>(t.size())}, dev));
  }
  Tensor d_grey = Tensor::from_vector(grey, {h, w}, dev);
  Tensor extrema = device_buffer(sizeof(Extremum) * kMaxExtrema, dev);
  Tensor count = Tensor::empty({1}, DType::I32, dev);
  Tensor prev_gauss;
  int prev_w = 0;
  for (int i = 0; i < n_oct; ++i) {
    const int o = p.o_min + i;
    int ow, oh;
    octave_size(w, h, o, &ow, &oh);
    const long long plane = static_cast<long long>(ow) * oh;
    Tensor gauss = Tensor::empty({(p.S + 3) * plane}, DType::F32, dev);
    Tensor dog = Tensor::empty({(p.S + 2) * plane}, DType::F32, dev);
    Tensor tmp = Tensor::empty({plane}, DType::F32, dev);
    float* g = gauss.data<float>();
    const dim3 block(32, 8), grid(grid_for(ow, 32), grid_for(oh, 8));
    if (i == 0) {
      Tensor base = d_grey;
      if (o == -1) {
        base = Tensor::empty({plane}, DType::F32, dev);
        upsample_kernel<<<grid, block>>>(d_grey.data<float>(), w, h, base.data<float>());
      } else {  // o_min >= 0: subsample by 2^o (one downsample per octave step)
        for (int k = 0, cw = w, ch = h; k < o; ++k, cw /= 2, ch /= 2) {
          Tensor next = Tensor::empty({static_cast<int64_t>(cw / 2) * (ch / 2)}, DType::F32, dev);
          downsample_kernel<<<dim3(grid_for(cw / 2, 32), grid_for(ch / 2, 8)), block>>>(base.data<float>(), cw,
                                                                                         next.data<float>(), cw / 2, ch / 2);
          base = next;
        }
      }
      VG_CUDA_CHECK_LAUNCH();
      const float sd = base_dsigma(p);
      if (sd > 0) {
        std::vector<float> t = gaussian_taps(sd);
        blur(base.data<float>(), g, tmp.data<float>(), ow, oh, Tensor::from_vector(t, {static_cast<int64_t>(t.size())}, dev));
      } else {
        cuda_copy(g, dev, base.data<float>(), dev, plane * sizeof(float));
      }
    } else {
      const long long prev_plane = prev_gauss.numel() / (p.S + 3);
      downsample_kernel<<<grid, block>>>(prev_gauss.data<float>() + p.S * prev_plane, prev_w, g, ow, oh);
      VG_CUDA_CHECK_LAUNCH();
    }
    for (int s = kSMin + 1; s <= p.S + 1; ++s)
      blur(g + (s - 1 - kSMin) * plane, g + (s - kSMin) * plane, tmp.data<float>(), ow, oh, level_taps[s - kSMin - 1]);
    dog_levels_kernel<<<grid_for((p.S + 2) * plane, 256), 256>>>(g, dog.data<float>(), plane, p.S + 2);
    VG_CUDA_CHECK_LAUNCH();
    count.zero_();
    if (ow > 2 && oh > 2) {
      detect_kernel<<<dim3(grid_for(ow - 2, 32), grid_for(oh - 2, 8), p.S), block>>>(
          dog.data<float>(), ow, oh, p, reinterpret_cast<Extremum*>(extrema.raw()), count.data<int32_t>(), kMaxExtrema, o);
      VG_CUDA_CHECK_LAUNCH();
    }
    const int n = std::min(count.to_vector<int32_t>()[0], kMaxExtrema);
    describe_octave(g, ow, oh, o, p, reinterpret_cast<const Extremum*>(extrema.raw()), n, dev, out);
    prev_gauss = gauss;
    prev_w = ow;
  }
  return out;
}

}  // namespace vg::sift
