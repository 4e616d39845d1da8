// Host side of the track-source CNN layer (tracks/cuda_nn.h): argument checks, weight upload, scratch buffers and
// the chunking of the im2col + GEMM convolution; the kernels are in cuda_nn.cu (cuda_nn_kernels.h).
#include "tracks/cuda_nn.h"

#include <algorithm>

#include "core/error.h"
#include "tracks/cuda_nn_kernels.h"

namespace vg::tracks::cuda {

namespace {

constexpr int64_t kScratchBytes = int64_t{256} << 20;  // im2col scratch per conv chunk
constexpr int64_t kMaxGemmRows = int64_t{1} << 21;     // rows per GEMM launch (the fp32 GEMM's grid.y limit)

void expect_map(const Tensor& x, const char* op) {
  VG_CHECK(x.defined() && x.dtype() == DType::F32 && x.is_cuda() && x.ndim() == 4, op,
           ": expected an F32 device map [B,H,W,C], got ",
           x.defined() ? shape_str(x.shape()) + (x.is_cuda() ? "" : " on the CPU") : "nothing");
}

// Conv2d weight [O, C, k, k] -> [O, k, k, C] (the im2col column order (ky, kx, c)).
Tensor conv_weight_khwc(const Tensor& w) {
  const int64_t O = w.size(0), C = w.size(1), kk = w.size(2) * w.size(3);
  Tensor out = Tensor::empty({O, w.size(2), w.size(3), C});
  const float* s = w.data<float>();
  float* d = out.data<float>();
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < kk; ++i) d[(o * kk + i) * C + c] = s[(o * C + c) * kk + i];
  return out;
}

// ATen's source-index scale of a bilinear resize from `in` to `out` samples (as vggt/cpu_ops.cc).
float resize_scale(int64_t in, int64_t out, bool align_corners) {
  return align_corners ? (out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f)
                       : static_cast<float>(in) / static_cast<float>(out);
}

}  // namespace

Conv Conv::upload(const Tensor& w_oikk, const Tensor& b, Device d, Precision p) {
  VG_CHECK(w_oikk.defined() && w_oikk.dtype() == DType::F32 && w_oikk.ndim() == 4 && w_oikk.size(2) == w_oikk.size(3),
           "Conv::upload: expected an F32 weight [Cout,Cin,k,k], got ",
           w_oikk.defined() ? shape_str(w_oikk.shape()) : "nothing");
  VG_CHECK(d.is_cuda(), "Conv::upload needs a CUDA device, got ", d.str());
  Conv c;
  c.cout = w_oikk.size(0);
  c.cin = w_oikk.size(1);
  c.k = static_cast<int>(w_oikk.size(2));
  c.p = p;
  const Tensor host = w_oikk.is_cuda() ? w_oikk.to(Device::cpu()) : w_oikk;
  Tensor dev = conv_weight_khwc(host).to(d);
  if (p == Precision::F32) {
    c.w = dev;
  } else {
    c.w = Tensor::empty({dev.numel() * 2}, DType::U8, d);
    vggt::cuda::convert_weights(dev.data<float>(), c.w.raw(), dev.numel(), p);
  }
  if (b.defined()) {
    VG_CHECK(b.dtype() == DType::F32 && b.numel() == c.cout, "Conv::upload: bias of ", b.numel(), " elements for ",
             c.cout, " output channels");
    c.b = b.reshape({c.cout}).to(d);
  }
  return c;
}

Tensor conv2d(const Tensor& x, const Conv& c, int stride, int pad, Epilogue epi) {
  expect_map(x, "conv2d");
  VG_CHECK(c.w.defined() && c.w.device() == x.device(), "conv2d: the conv's weights are not on ", x.device().str());
  VG_CHECK(x.size(3) == c.cin, "conv2d: input has ", x.size(3), " channels, the conv expects ", c.cin);
  VG_CHECK(epi == Epilogue::kStore || epi == Epilogue::kRelu, "conv2d: only the store and ReLU epilogues");
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), k = c.k;
  VG_CHECK(stride >= 1 && pad >= 0 && H + 2 * pad >= k && W + 2 * pad >= k, "conv2d: input ", W, "x", H,
           " smaller than the ", k, "x", k, " kernel (padding ", pad, ", stride ", stride, ")");
  const int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1;
  Tensor out = Tensor::empty({B, Ho, Wo, c.cout}, DType::F32, x.device());
  const int64_t M = B * Ho * Wo, K = k * k * c.cin, N = c.cout;
  const float* bias = c.b.defined() ? c.b.data<float>() : nullptr;
  float* y = out.data<float>();
  if (k == 1 && stride == 1 && pad == 0) {  // a 1x1 conv is the GEMM on x itself
    for (int64_t r0 = 0; r0 < M; r0 += kMaxGemmRows)
      vggt::cuda::linear(x.data<float>() + r0 * K, std::min(kMaxGemmRows, M - r0), K, c.w.raw(), N, bias, y + r0 * N, N,
                         epi, nullptr, c.p);
    return out;
  }
  // 16-bit weights with cuBLASLt: im2col straight to 16 bit; else fp32 columns (linear rounds them when staging).
  const bool a16 = c.p != Precision::F32 && vggt::cuda::linear_a16_supported(K, c.p);
  const int64_t elem = a16 ? 2 : 4;
  const int64_t chunk = std::clamp<int64_t>(kScratchBytes / (K * elem), 1, kMaxGemmRows);
  const int64_t rows = std::min(chunk, M);
  Tensor col = Tensor::empty({(rows * K * elem + 3) / 4}, DType::F32, x.device());
  for (int64_t r0 = 0; r0 < M; r0 += chunk) {
    const int64_t n = std::min(chunk, M - r0);
    detail::im2col_rows(x.data<float>(), B, H, W, c.cin, c.k, stride, pad, Ho, Wo, r0, n, col.raw(),
                        a16 ? c.p : Precision::F32);
    if (a16)
      vggt::cuda::linear_a16(col.raw(), n, K, c.w.raw(), N, bias, y + r0 * N, N, epi, nullptr, c.p);
    else
      vggt::cuda::linear(col.data<float>(), n, K, c.w.raw(), N, bias, y + r0 * N, N, epi, nullptr, c.p);
  }
  return out;
}

namespace {
void instance_norm_impl(Tensor& x, float eps, bool relu, const char* op) {
  expect_map(x, op);
  const int64_t B = x.size(0), HW = x.size(1) * x.size(2), C = x.size(3);
  if (x.numel() == 0) return;
  Tensor scratch = Tensor::empty({detail::instance_norm_scratch_bytes(B, HW, C)}, DType::U8, x.device());
  detail::instance_norm(x.data<float>(), B, HW, C, eps, relu, scratch.raw());
}
}  // namespace

void instance_norm_(Tensor& x, float eps) { instance_norm_impl(x, eps, false, "instance_norm"); }
void instance_norm_relu_(Tensor& x, float eps) { instance_norm_impl(x, eps, true, "instance_norm_relu"); }

void batch_norm_(Tensor& x, const Tensor& w, const Tensor& b, const Tensor& mean, const Tensor& var, float eps) {
  expect_map(x, "batch_norm");
  const int64_t C = x.size(3);
  for (const Tensor* t : {&w, &b, &mean, &var})
    VG_CHECK(t->defined() && t->dtype() == DType::F32 && t->numel() == C && t->device() == x.device(),
             "batch_norm: parameter of ", t->defined() ? t->numel() : 0, " elements (",
             t->defined() ? t->device().str() : "none", ") for ", C, " channels on ", x.device().str());
  detail::batch_norm(x.data<float>(), x.numel() / std::max<int64_t>(C, 1), C, w.data<float>(), b.data<float>(),
                     mean.data<float>(), var.data<float>(), eps);
}

void relu_(Tensor& x) {
  VG_CHECK(x.defined() && x.dtype() == DType::F32 && x.is_cuda(), "relu_: expected an F32 device tensor");
  vggt::cuda::relu(x.data<float>(), x.data<float>(), x.numel());
}

void add_(Tensor& x, const Tensor& y) {
  VG_CHECK(x.defined() && y.defined() && x.dtype() == DType::F32 && y.dtype() == DType::F32 && x.is_cuda() &&
               y.device() == x.device() && x.numel() == y.numel(),
           "add_: expected two F32 device tensors of the same size, got ", shape_str(x.shape()), " and ",
           shape_str(y.shape()));
  vggt::cuda::add(x.data<float>(), y.data<float>(), x.data<float>(), x.numel());
}

Tensor bilinear(const Tensor& x, int64_t Ho, int64_t Wo, bool align_corners) {
  expect_map(x, "bilinear");
  VG_CHECK(Ho > 0 && Wo > 0 && x.size(1) > 0 && x.size(2) > 0, "bilinear: empty input or output size");
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  Tensor y = Tensor::empty({B, Ho, Wo, C}, DType::F32, x.device());
  detail::bilinear(x.data<float>(), B, H, W, C, Ho, Wo, align_corners, resize_scale(H, Ho, align_corners),
                   resize_scale(W, Wo, align_corners), y.data<float>());
  return y;
}

Tensor max_pool2d(const Tensor& x, int k, int stride, int pad) {
  expect_map(x, "max_pool2d");
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  VG_CHECK(k >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= k && H + 2 * pad >= k && W + 2 * pad >= k,
           "max_pool2d: input ", H, "x", W, " smaller than the window ", k, " (padding ", pad, ")");
  const int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1;
  Tensor y = Tensor::empty({B, Ho, Wo, C}, DType::F32, x.device());
  detail::max_pool(x.data<float>(), B, H, W, C, k, stride, pad, Ho, Wo, y.data<float>());
  return y;
}

Tensor concat_channels(const std::vector<Tensor>& xs) {
  VG_CHECK(!xs.empty(), "concat_channels: nothing to concatenate");
  int64_t C = 0;
  for (const Tensor& x : xs) {
    expect_map(x, "concat_channels");
    VG_CHECK(x.size(0) == xs[0].size(0) && x.size(1) == xs[0].size(1) && x.size(2) == xs[0].size(2) &&
                 x.device() == xs[0].device(),
             "concat_channels: map ", shape_str(x.shape()), " does not match ", shape_str(xs[0].shape()));
    C += x.size(3);
  }
  const int64_t rows = xs[0].size(0) * xs[0].size(1) * xs[0].size(2);
  Tensor out = Tensor::empty({xs[0].size(0), xs[0].size(1), xs[0].size(2), C}, DType::F32, xs[0].device());
  int64_t off = 0;
  for (const Tensor& x : xs) {
    vggt::cuda::copy_rows(x.data<float>(), x.size(3), 0, out.data<float>(), C, off, rows, x.size(3));
    off += x.size(3);
  }
  return out;
}

Tensor nchw_to_nhwc(const Tensor& x) {
  expect_map(x, "nchw_to_nhwc");
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor y = Tensor::empty({B, H, W, C}, DType::F32, x.device());
  detail::nchw_to_nhwc(x.data<float>(), B, C, H, W, y.data<float>());
  return y;
}

Tensor nhwc_to_nchw(const Tensor& x) {
  expect_map(x, "nhwc_to_nchw");
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  Tensor y = Tensor::empty({B, C, H, W}, DType::F32, x.device());
  detail::nhwc_to_nchw(x.data<float>(), B, H, W, C, y.data<float>());
  return y;
}

}  // namespace vg::tracks::cuda
