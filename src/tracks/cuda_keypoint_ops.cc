#include "tracks/cuda_keypoint_ops.h"

#include <algorithm>
#include <numeric>

#include "core/cuda_memory.h"
#include "core/device.h"
#include "core/error.h"
#include "tracks/cuda_keypoint_kernels.h"

namespace vg::tracks::cuda {

namespace {

constexpr int64_t kScratchBytes = int64_t{256} << 20;  // deformable im2col scratch per chunk
constexpr int64_t kMaxGemmRows = int64_t{1} << 21;      // rows per GEMM launch (as cuda_nn.cc)

void expect_device_f32(const Tensor& t, const char* what) {
  VG_CHECK(t.defined() && t.is_cuda() && t.dtype() == DType::F32, what, ": expected an F32 CUDA tensor, got ",
           t.defined() ? shape_str(t.shape()) : "undefined", t.defined() && !t.is_cuda() ? " on the CPU" : "");
}

// H, W of a map [..., H, W] whose leading dimensions are all 1.
void map_dims(const Tensor& s, const char* what, int64_t& H, int64_t& W) {
  expect_device_f32(s, what);
  VG_CHECK(s.ndim() >= 2, what, ": expected a map [..., H, W], got ", shape_str(s.shape()));
  H = s.size(-2);
  W = s.size(-1);
  VG_CHECK(s.numel() == H * W, what, ": expected one map (leading dimensions 1), got ", shape_str(s.shape()));
}

}  // namespace

Tensor deform_conv2d(const Tensor& x, const Tensor& offset, const Conv& c, const ops::DeformConvGeometry& geo,
                     float max_offset, Epilogue epi) {
  expect_device_f32(x, "deform_conv2d input");
  expect_device_f32(offset, "deform_conv2d offset");
  VG_CHECK(x.ndim() == 4 && x.size(0) == 1 && x.size(3) == c.cin, "deform_conv2d: input ", shape_str(x.shape()),
           " must be [1,H,W,", c.cin, "] (one frame, NHWC)");
  VG_CHECK(geo.stride >= 1 && geo.pad >= 0 && geo.dilation >= 1, "deform_conv2d: bad geometry");
  const int64_t H = x.size(1), W = x.size(2), C = x.size(3), k = c.k, K = k * k;
  const int64_t Ho = (H + 2 * geo.pad - geo.dilation * (k - 1) - 1) / geo.stride + 1;
  const int64_t Wo = (W + 2 * geo.pad - geo.dilation * (k - 1) - 1) / geo.stride + 1;
  VG_CHECK(Ho > 0 && Wo > 0, "deform_conv2d: input ", shape_str(x.shape()), " is smaller than the kernel");
  VG_CHECK(offset.shape() == Shape({1, Ho, Wo, 2 * K}), "deform_conv2d: offset ", shape_str(offset.shape()),
           " must be ", shape_str({1, Ho, Wo, 2 * K}), " (one offset group)");
  set_current_device(x.device());
  // Row chunks keep the column scratch <= kScratchBytes (and the GEMM within its grid limit).
  const int64_t M = Ho * Wo, KC = K * C;
  const int64_t chunk = std::clamp<int64_t>(kScratchBytes / (KC * 4), 1, kMaxGemmRows), rows = std::min(chunk, M);
  Tensor cols = Tensor::empty({rows, KC}, DType::F32, x.device());
  Tensor y = Tensor::empty({1, Ho, Wo, c.cout}, DType::F32, x.device());
  const float* bias = c.b.defined() ? c.b.data<float>() : nullptr;
  for (int64_t r0 = 0; r0 < M; r0 += chunk) {
    const int64_t n = std::min(chunk, M - r0);
    deform_im2col(x.data<float>(), H, W, C, offset.data<float>(), c.k, geo.stride, geo.pad, geo.dilation, max_offset,
                  Wo, r0, n, cols.data<float>());
    vggt::cuda::linear(cols.data<float>(), n, KC, c.w.raw(), c.cout, bias, y.data<float>() + r0 * c.cout, c.cout, epi,
                       nullptr, c.p);
  }
  return y;
}

Tensor simple_nms_map(const Tensor& scores, int radius) {
  int64_t H = 0, W = 0;
  map_dims(scores, "simple_nms", H, W);
  VG_CHECK(radius >= 0, "simple_nms: negative radius ", radius);
  set_current_device(scores.device());
  Tensor out = Tensor::empty(scores.shape(), DType::F32, scores.device());
  Tensor scratch = Tensor::empty({4 * H * W}, DType::F32, scores.device());
  simple_nms(scores.data<float>(), H, W, radius, out.data<float>(), scratch.data<float>());
  return out;
}

Candidates select_candidates(const Tensor& scores, int border, float threshold) {
  int64_t H = 0, W = 0;
  map_dims(scores, "select_candidates", H, W);
  VG_CHECK(H * W < (int64_t{1} << 31), "select_candidates: map too large for 32-bit indices");
  const Device d = scores.device();
  set_current_device(d);
  Tensor idx = Tensor::empty({H * W}, DType::I32, d), sc = Tensor::empty({H * W}, DType::F32, d);
  Tensor count = Tensor::zeros({1}, DType::I32, d);
  threshold_candidates(scores.data<float>(), H, W, border, threshold, idx.data<int32_t>(), sc.data<float>(),
                       count.data<int32_t>());
  const int32_t n = count.to_vector<int32_t>()[0];
  std::vector<int32_t> idx_h(static_cast<size_t>(n));
  std::vector<float> sc_h(static_cast<size_t>(n));
  if (n > 0) {  // only the n filled slots come back
    cuda_copy(idx_h.data(), Device::cpu(), idx.raw(), d, static_cast<size_t>(n) * sizeof(int32_t));
    cuda_copy(sc_h.data(), Device::cpu(), sc.raw(), d, static_cast<size_t>(n) * sizeof(float));
  }
  std::vector<size_t> order(static_cast<size_t>(n));  // atomics fill slots in any order: back to raster order
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return idx_h[a] < idx_h[b]; });
  Candidates c;
  c.idx.reserve(order.size());
  c.score.reserve(order.size());
  for (size_t i : order) {
    c.idx.push_back(idx_h[i]);
    c.score.push_back(sc_h[i]);
  }
  return c;
}

Tensor image_on(const Tensor& image, Device d) { return image.device() == d ? image : image.to(d); }

}  // namespace vg::tracks::cuda
