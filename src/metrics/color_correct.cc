#include "metrics/color_correct.h"

#include <algorithm>
#include <vector>

#include <Eigen/Dense>

#include "core/error.h"

namespace vg {
namespace {

void check_pair(const Tensor& img, const Tensor& ref) {
  VG_CHECK(img.defined() && ref.defined() && img.ndim() >= 1, "color correction: missing image");
  VG_CHECK(img.device().is_cpu() && ref.device().is_cpu() && img.dtype() == DType::F32 && ref.dtype() == DType::F32,
           "color correction: F32 images on the CPU expected");
  VG_CHECK(img.shape() == ref.shape(), "color correction: image ", shape_str(img.shape()), " and reference ",
           shape_str(ref.shape()), " differ");
}

}  // namespace

Tensor color_correct_affine(const Tensor& img, const Tensor& ref) {
  check_pair(img, ref);
  const int64_t C = img.size(-1), N = img.numel() / std::max<int64_t>(C, 1);
  const float* x = img.data<float>();
  const float* r = ref.data<float>();
  Tensor out = Tensor::empty(img.shape(), DType::F32, Device::cpu());
  float* o = out.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    double sr = 0, sx = 0, srx = 0, srr = 0;
    for (int64_t i = 0; i < N; ++i) {
      const double rv = r[i * C + c], xv = x[i * C + c];
      sr += rv, sx += xv, srx += rv * xv, srr += rv * rv;
    }
    const double mr = sr / N, mx = sx / N;
    const double var = std::max(srr / N - mr * mr, 1e-8);  // clamped away from zero as gsplat
    double a = (srx / N - mr * mx) / var;
    const double b = mx - a * mr;
    if (std::abs(a) < 1e-8) a = 1.0;
    for (int64_t i = 0; i < N; ++i)
      o[i * C + c] = static_cast<float>(std::clamp((x[i * C + c] - b) / a, 0.0, 1.0));
  }
  return out;
}

Tensor color_correct_quadratic(const Tensor& img, const Tensor& ref, int num_iters, double eps) {
  check_pair(img, ref);
  const int64_t C = img.size(-1), N = img.numel() / std::max<int64_t>(C, 1);
  const int64_t F = C * (C + 1) / 2 + C + 1;  // quadratic, linear and bias terms
  const float* r = ref.data<float>();
  const float* x0 = img.data<float>();
  std::vector<double> cur(x0, x0 + N * C);
  auto unclipped = [eps](double z) { return z >= eps && z <= 1 - eps; };
  std::vector<double> feat(F), next(N * C);
  for (int it = 0; it < num_iters; ++it) {
    auto features = [&](int64_t i) {
      const double* p = cur.data() + i * C;
      int64_t k = 0;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t d = c; d < C; ++d) feat[k++] = p[c] * p[d];
      for (int64_t c = 0; c < C; ++c) feat[k++] = p[c];
      feat[k] = 1.0;
    };
    Eigen::MatrixXd W(F, C);
    for (int64_t c = 0; c < C; ++c) {
      Eigen::MatrixXd AtA = Eigen::MatrixXd::Zero(F, F);
      Eigen::VectorXd Atb = Eigen::VectorXd::Zero(F);
      for (int64_t i = 0; i < N; ++i) {
        const double b = r[i * C + c];
        if (!(unclipped(x0[i * C + c]) && unclipped(cur[i * C + c]) && unclipped(b))) continue;
        features(i);
        const Eigen::Map<const Eigen::VectorXd> f(feat.data(), F);
        AtA.selfadjointView<Eigen::Lower>().rankUpdate(f);
        Atb += b * f;
      }
      AtA = AtA.selfadjointView<Eigen::Lower>();
      W.col(c) = AtA.completeOrthogonalDecomposition().solve(Atb);
      VG_CHECK(W.col(c).allFinite(), "color correction: the quadratic fit of channel ", c, " is not finite");
    }
    for (int64_t i = 0; i < N; ++i) {
      features(i);
      const Eigen::Map<const Eigen::RowVectorXd> f(feat.data(), F);
      for (int64_t c = 0; c < C; ++c) next[i * C + c] = std::clamp(f.dot(W.col(c)), 0.0, 1.0);
    }
    cur.swap(next);
  }
  Tensor out = Tensor::empty(img.shape(), DType::F32, Device::cpu());
  float* o = out.data<float>();
  for (int64_t i = 0; i < N * C; ++i) o[i] = static_cast<float>(cur[i]);
  return out;
}

Tensor color_correct(const Tensor& img, const Tensor& ref, const std::string& method) {
  if (method == "affine") return color_correct_affine(img, ref);
  if (method == "quadratic") return color_correct_quadratic(img, ref);
  VG_FAIL("unknown colour-correction method '", method, "' (affine or quadratic)");
}

}  // namespace vg
