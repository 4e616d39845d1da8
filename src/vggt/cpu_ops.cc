#include "vggt/cpu_ops.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include "core/error.h"
#include "core/parallel.h"
#include "metrics/conv2d.h"

namespace vg::vggt::ops {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapC = Eigen::Map<const RowMat>;
using MapM = Eigen::Map<RowMat>;

void expect_cpu_f32(const Tensor& t, const char* op) {
  VG_CHECK(t.defined() && t.dtype() == DType::F32 && !t.is_cuda(), op, ": expected an F32 CPU tensor");
}

template <typename F>
void map_(Tensor& x, F f) {
  expect_cpu_f32(x, "elementwise op");
  float* v = x.data<float>();
  parallel_for(
      x.numel(),
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) v[i] = f(v[i]);
      },
      1 << 15);
}

void layer_norm_row(const float* x, float* y, int64_t c, const float* w, const float* b, float eps) {
  double mean = 0, var = 0;
  for (int64_t i = 0; i < c; ++i) mean += x[i];
  mean /= c;
  for (int64_t i = 0; i < c; ++i) var += (x[i] - mean) * (x[i] - mean);
  const double inv = 1.0 / std::sqrt(var / c + eps);
  for (int64_t i = 0; i < c; ++i) {
    float v = static_cast<float>((x[i] - mean) * inv);
    y[i] = (w ? v * w[i] : v) + (b ? b[i] : 0.0f);
  }
}

// Keys' cubic convolution kernel with a = -0.5 (PIL bicubic_filter, torch's antialiased bicubic).
double cubic_aa(double x) {
  const double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}
}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  expect_cpu_f32(x, "linear");
  expect_cpu_f32(w, "linear");
  const int64_t in = w.size(1), out = w.size(0);
  VG_CHECK(w.ndim() == 2 && x.size(-1) == in, "linear: input ", shape_str(x.shape()), " does not fit weight ",
           shape_str(w.shape()));
  VG_CHECK(!b.defined() || b.numel() == out, "linear: bias must have ", out, " elements");
  const int64_t rows = x.numel() / in;
  Shape s = x.shape();
  s.back() = out;
  Tensor y = Tensor::empty(s);
  MapC wm(w.data<float>(), out, in);
  const float* xs = x.data<float>();
  float* ys = y.data<float>();
  const float* bs = b.defined() ? b.data<float>() : nullptr;
  parallel_for(
      rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r += 256) {
          const int64_t n = std::min<int64_t>(256, r1 - r);
          MapM ym(ys + r * out, n, out);
          ym.noalias() = MapC(xs + r * in, n, in) * wm.transpose();
          if (bs) ym.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bs, out);
        }
      },
      16);
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
  expect_cpu_f32(x, "layer_norm");
  const int64_t c = x.size(-1), rows = x.numel() / c;
  VG_CHECK(!w.defined() || w.numel() == c, "layer_norm: weight must have ", c, " elements");
  Tensor y = Tensor::empty(x.shape());
  const float* xs = x.data<float>();
  float* ys = y.data<float>();
  const float* ws = w.defined() ? w.data<float>() : nullptr;
  const float* bs = b.defined() ? b.data<float>() : nullptr;
  parallel_for(
      rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) layer_norm_row(xs + r * c, ys + r * c, c, ws, bs, eps);
      },
      64);
  return y;
}

void gelu_(Tensor& x) {
  map_(x, [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); });
}
void silu_(Tensor& x) {
  map_(x, [](float v) { return v / (1.0f + std::exp(-v)); });
}
void relu_(Tensor& x) {
  map_(x, [](float v) { return std::max(v, 0.0f); });
}

void selu_(Tensor& x) {
  constexpr float kAlpha = 1.6732632423543772f, kScale = 1.0507009873554805f;
  map_(x, [](float v) { return kScale * (v > 0 ? v : kAlpha * std::expm1(v)); });
}
void sigmoid_(Tensor& x) {
  map_(x, [](float v) { return 1.f / (1.f + std::exp(-v)); });
}

void add_(Tensor& x, const Tensor& y) {
  VG_CHECK(x.numel() == y.numel(), "add_: sizes differ");
  float* a = x.data<float>();
  const float* b = y.data<float>();
  parallel_for(
      x.numel(),
      [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) a[i] += b[i];
      },
      1 << 15);
}

void add_scaled_(Tensor& x, const Tensor& y, const Tensor& gamma) {
  const int64_t c = gamma.numel();
  VG_CHECK(x.numel() == y.numel() && x.size(-1) == c, "add_scaled_: sizes differ");
  float* a = x.data<float>();
  const float* b = y.data<float>();
  const float* g = gamma.data<float>();
  parallel_for(
      x.numel(),
      [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) a[i] += b[i] * g[i % c];
      },
      1 << 15);
}

void rope2d_(float* x, int64_t n, int64_t d, const int32_t* pos, float freq) {
  const int64_t fd = d / 2, half = fd / 2;  // features per axis, rotation pairs per axis
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t j = 0; j < half; ++j)
    inv_freq[j] = 1.0f / std::pow(freq, static_cast<float>(2 * j) / static_cast<float>(fd));
  for (int64_t t = 0; t < n; ++t)
    for (int axis = 0; axis < 2; ++axis) {  // 0: y on features [0, fd), 1: x on [fd, d)
      float* f = x + t * d + axis * fd;
      const float p = static_cast<float>(pos[2 * t + axis]);
      for (int64_t j = 0; j < half; ++j) {
        const float a = p * inv_freq[j], c = std::cos(a), s = std::sin(a);
        const float x1 = f[j], x2 = f[j + half];
        f[j] = x1 * c - x2 * s;
        f[j + half] = x2 * c + x1 * s;
      }
    }
}

Tensor attention(const Tensor& qkv, int heads, const Tensor& q_norm_w, const Tensor& q_norm_b,
                 const Tensor& k_norm_w, const Tensor& k_norm_b, const int32_t* pos, float rope_freq) {
  expect_cpu_f32(qkv, "attention");
  VG_CHECK(qkv.ndim() == 3 && qkv.size(2) % (3 * heads) == 0, "attention: qkv ", shape_str(qkv.shape()),
           " does not split into 3 x ", heads, " heads");
  const int64_t B = qkv.size(0), N = qkv.size(1), C = qkv.size(2) / 3, D = C / heads;
  VG_CHECK(!pos || D % 4 == 0, "attention: RoPE needs a head dim divisible by 4, got ", D);
  // Gather per-(batch, head) contiguous q, k, v [N, D]; q/k-norm and RoPE applied.
  Tensor q = Tensor::empty({B, heads, N, D}), k = Tensor::empty({B, heads, N, D}), v = Tensor::empty({B, heads, N, D});
  const float* src = qkv.data<float>();
  parallel_for(
      B * heads,
      [&](int64_t s, int64_t e) {
        for (int64_t bh = s; bh < e; ++bh) {
          const int64_t b = bh / heads, h = bh % heads;
          float* dst[3] = {q.data<float>() + bh * N * D, k.data<float>() + bh * N * D, v.data<float>() + bh * N * D};
          for (int64_t t = 0; t < N; ++t)
            for (int which = 0; which < 3; ++which) {
              const float* row = src + (b * N + t) * 3 * C + which * C + h * D;
              std::copy(row, row + D, dst[which] + t * D);
            }
          const Tensor* nw[2] = {&q_norm_w, &k_norm_w};
          const Tensor* nb[2] = {&q_norm_b, &k_norm_b};
          for (int which = 0; which < 2; ++which) {
            if (nw[which]->defined())
              for (int64_t t = 0; t < N; ++t)
                layer_norm_row(dst[which] + t * D, dst[which] + t * D, D, nw[which]->data<float>(),
                               nb[which]->defined() ? nb[which]->data<float>() : nullptr, 1e-5f);
            if (pos) rope2d_(dst[which], N, D, pos, rope_freq);
          }
        }
      },
      1);
  // softmax(q k^T / sqrt(D)) v in blocks of queries.
  const int64_t qb = 64, nqb = (N + qb - 1) / qb;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  Tensor out = Tensor::empty({B, N, C});
  float* os = out.data<float>();
  parallel_for(
      B * heads * nqb,
      [&](int64_t s, int64_t e) {
        RowMat scores;
        RowMat o;
        for (int64_t job = s; job < e; ++job) {
          const int64_t bh = job / nqb, q0 = (job % nqb) * qb, n = std::min(qb, N - q0);
          const int64_t b = bh / heads, h = bh % heads;
          MapC qm(q.data<float>() + (bh * N + q0) * D, n, D);
          MapC km(k.data<float>() + bh * N * D, N, D);
          MapC vm(v.data<float>() + bh * N * D, N, D);
          scores.noalias() = (qm * scale) * km.transpose();
          for (int64_t i = 0; i < n; ++i) {
            float* r = scores.data() + i * N;
            const float mx = *std::max_element(r, r + N);
            double sum = 0;
            for (int64_t j = 0; j < N; ++j) {
              r[j] = std::exp(r[j] - mx);
              sum += r[j];
            }
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t j = 0; j < N; ++j) r[j] *= inv;
          }
          o.noalias() = scores * vm;
          for (int64_t i = 0; i < n; ++i) std::copy(o.data() + i * D, o.data() + (i + 1) * D, os + (b * N + q0 + i) * C + h * D);
        }
      },
      1);
  return out;
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad) {
  return nn::conv2d(x, w, b, stride, pad);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int k) {
  expect_cpu_f32(x, "conv_transpose2d");
  VG_CHECK(x.ndim() == 3 && w.ndim() == 4 && w.size(0) == x.size(0) && w.size(2) == k && w.size(3) == k,
           "conv_transpose2d: weight ", shape_str(w.shape()), " does not fit input ", shape_str(x.shape()));
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2), O = w.size(1);
  // out[o, y k + i, x k + j] = b[o] + sum_c x[c, y, x] w[c, o, i, j]: one GEMM [O k k, C] x [C, H W].
  RowMat wt = MapC(w.data<float>(), C, O * k * k).transpose();
  RowMat prod(O * k * k, H * W);
  prod.noalias() = wt * MapC(x.data<float>(), C, H * W);
  Tensor out = Tensor::empty({O, H * k, W * k});
  float* os = out.data<float>();
  const float* bs = b.defined() ? b.data<float>() : nullptr;
  parallel_for(
      O,
      [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o)
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              const float* p = prod.data() + ((o * k + i) * k + j) * H * W;
              for (int64_t y = 0; y < H; ++y)
                for (int64_t xx = 0; xx < W; ++xx)
                  os[(o * H * k + y * k + i) * W * k + xx * k + j] = p[y * W + xx] + (bs ? bs[o] : 0.0f);
            }
      },
      1);
  return out;
}

Tensor interpolate_bilinear(const Tensor& x, int64_t ho, int64_t wo, bool align_corners) {
  expect_cpu_f32(x, "interpolate_bilinear");
  VG_CHECK(x.ndim() == 3 && ho > 0 && wo > 0, "interpolate_bilinear: expected [C,H,W] and a positive size");
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  // Source coordinate as ATen's area_pixel_compute_source_index (float arithmetic).
  auto axis = [&](int64_t in, int64_t out, std::vector<int64_t>& i0, std::vector<int64_t>& i1, std::vector<float>& l) {
    const float scale = align_corners ? (out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f)
                                      : static_cast<float>(in) / static_cast<float>(out);
    i0.resize(out), i1.resize(out), l.resize(out);
    for (int64_t d = 0; d < out; ++d) {
      float src = align_corners ? scale * d : std::max(scale * (d + 0.5f) - 0.5f, 0.0f);
      int64_t a = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
      i0[d] = a;
      i1[d] = a + (a < in - 1 ? 1 : 0);
      l[d] = src - a;
    }
  };
  std::vector<int64_t> y0, y1, x0, x1;
  std::vector<float> ly, lx;
  axis(H, ho, y0, y1, ly);
  axis(W, wo, x0, x1, lx);
  Tensor out = Tensor::empty({C, ho, wo});
  const float* xs = x.data<float>();
  float* os = out.data<float>();
  parallel_for(
      C * ho,
      [&](int64_t s, int64_t e) {
        for (int64_t cy = s; cy < e; ++cy) {
          const int64_t c = cy / ho, y = cy % ho;
          const float* r0 = xs + (c * H + y0[y]) * W;
          const float* r1 = xs + (c * H + y1[y]) * W;
          const float wy1 = ly[y], wy0 = 1.0f - wy1;
          for (int64_t xx = 0; xx < wo; ++xx) {
            const float wx1 = lx[xx], wx0 = 1.0f - wx1;
            os[cy * wo + xx] = wy0 * (wx0 * r0[x0[xx]] + wx1 * r0[x1[xx]]) + wy1 * (wx0 * r1[x0[xx]] + wx1 * r1[x1[xx]]);
          }
        }
      },
      8);
  return out;
}

ResampleWeights bicubic_aa_weights(int64_t in_size, int64_t out_size) {
  ResampleWeights r;
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0), support = 2.0 * filterscale;
  r.max_taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  r.first.resize(out_size), r.taps.resize(out_size);
  r.w.assign(static_cast<size_t>(out_size * r.max_taps), 0.0);
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int64_t xmin = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t xmax = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
    const int64_t n = std::min(xmax - xmin, r.max_taps);
    double total = 0;
    double* w = r.w.data() + i * r.max_taps;
    for (int64_t j = 0; j < n; ++j) total += w[j] = cubic_aa((j + xmin - center + 0.5) / filterscale);
    if (total != 0)
      for (int64_t j = 0; j < n; ++j) w[j] /= total;
    r.first[i] = xmin;
    r.taps[i] = n;
  }
  return r;
}

Tensor interpolate_bicubic_aa(const Tensor& x, int64_t ho, int64_t wo) {
  expect_cpu_f32(x, "interpolate_bicubic_aa");
  VG_CHECK(x.ndim() == 3 && ho > 0 && wo > 0, "interpolate_bicubic_aa: expected [C,H,W] and a positive size");
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  const ResampleWeights ry = bicubic_aa_weights(H, ho), rx = bicubic_aa_weights(W, wo);
  Tensor out = Tensor::empty({C, ho, wo});
  const float* xs = x.data<float>();
  float* os = out.data<float>();
  parallel_for(
      C,
      [&](int64_t c0, int64_t c1) {
        std::vector<double> tmp(static_cast<size_t>(H * wo));
        for (int64_t c = c0; c < c1; ++c) {
          for (int64_t y = 0; y < H; ++y)  // horizontal pass
            for (int64_t j = 0; j < wo; ++j) {
              double s = 0;
              for (int64_t t = 0; t < rx.taps[j]; ++t) s += rx.w[j * rx.max_taps + t] * xs[(c * H + y) * W + rx.first[j] + t];
              tmp[y * wo + j] = s;
            }
          for (int64_t i = 0; i < ho; ++i)  // vertical pass
            for (int64_t j = 0; j < wo; ++j) {
              double s = 0;
              for (int64_t t = 0; t < ry.taps[i]; ++t) s += ry.w[i * ry.max_taps + t] * tmp[(ry.first[i] + t) * wo + j];
              os[(c * ho + i) * wo + j] = static_cast<float>(s);
            }
        }
      },
      1);
  return out;
}

}  // namespace vg::vggt::ops
