// photometric_loss: checks the inputs and dispatches to the double-precision CPU reference
// (loss_cpu.cc) or the fused CUDA kernels (loss.cu).
#include "metrics/loss.h"

#include <cmath>
#include <vector>

namespace vg {
namespace detail {

// Defined in loss_cpu.cc: scalars = {loss, l1, ssim}; v_render [H,W,3].
void photometric_loss_reference(const double* render, const double* gt, int H, int W, double lambda,
                                double* v_render, double* scalars);

// Defined in loss.cu (loss_nocuda.cc in CPU-only builds). `scratch` holds 9*H*W floats for the
// SSIM map partials and `accum` 2 doubles; all on the current device, default stream, no sync.
void photometric_loss_cuda(const float* render, const float* gt, int H, int W, float lambda, float* loss,
                           float* l1, float* ssim, float* v_render, float* scratch, double* accum);

}  // namespace detail

namespace {

constexpr int kMinSide = 11;  // the "valid" crop of 5 px per side leaves at least one pixel

PhotometricLoss loss_cpu(const Tensor& render, const Tensor& gt, int H, int W, float lambda) {
  const size_t n = static_cast<size_t>(H) * W * 3;
  const float* r = render.data<float>();
  const float* g = gt.data<float>();
  std::vector<double> rd(r, r + n), gd(g, g + n), vd(n);
  double scalars[3];
  detail::photometric_loss_reference(rd.data(), gd.data(), H, W, lambda, vd.data(), scalars);
  PhotometricLoss out;
  out.loss = Tensor::full({1}, static_cast<float>(scalars[0]));
  out.l1 = Tensor::full({1}, static_cast<float>(scalars[1]));
  out.ssim = Tensor::full({1}, static_cast<float>(scalars[2]));
  out.v_render = Tensor::empty({H, W, 3});
  float* v = out.v_render.data<float>();
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(vd[i]);
  return out;
}

PhotometricLoss loss_cuda(const Tensor& render, const Tensor& gt, int H, int W, float lambda) {
  Device d = render.device();
  set_current_device(d);
  PhotometricLoss out;
  out.loss = Tensor::empty({1}, DType::F32, d);
  out.l1 = Tensor::empty({1}, DType::F32, d);
  out.ssim = Tensor::empty({1}, DType::F32, d);
  out.v_render = Tensor::empty({H, W, 3}, DType::F32, d);
  Tensor scratch = Tensor::empty({3, H, W, 3}, DType::F32, d);
  Tensor accum = Tensor::empty({2}, DType::I64, d);  // storage for 2 doubles (8-byte aligned)
  detail::photometric_loss_cuda(render.data<float>(), gt.data<float>(), H, W, lambda, out.loss.data<float>(),
                                out.l1.data<float>(), out.ssim.data<float>(), out.v_render.data<float>(),
                                scratch.data<float>(), static_cast<double*>(accum.raw()));
  return out;
}

}  // namespace

PhotometricLoss photometric_loss(const Tensor& render, const Tensor& gt, float ssim_lambda) {
  VG_CHECK(render.defined() && gt.defined(), "photometric_loss: undefined input tensor");
  render.expect("photometric_loss render", {-1, -1, 3});
  gt.expect("photometric_loss gt", {-1, -1, 3});
  VG_CHECK(render.shape() == gt.shape(), "photometric_loss: render ", shape_str(render.shape()), " and gt ",
           shape_str(gt.shape()), " differ in shape");
  VG_CHECK(render.device() == gt.device(), "photometric_loss: render on ", render.device().str(), " but gt on ",
           gt.device().str());
  VG_CHECK(std::isfinite(ssim_lambda) && ssim_lambda >= 0.f && ssim_lambda <= 1.f,
           "photometric_loss: ssim_lambda must be in [0,1], got ", ssim_lambda);
  const int64_t H = render.size(0), W = render.size(1);
  VG_CHECK(H >= kMinSide && W >= kMinSide, "photometric_loss: image ", shape_str(render.shape()),
           " is smaller than the 11x11 SSIM window");
  VG_CHECK(H * W <= (int64_t{1} << 28), "photometric_loss: image ", shape_str(render.shape()), " too large");
  if (render.is_cuda()) return loss_cuda(render, gt, static_cast<int>(H), static_cast<int>(W), ssim_lambda);
  return loss_cpu(render, gt, static_cast<int>(H), static_cast<int>(W), ssim_lambda);
}

}  // namespace vg
