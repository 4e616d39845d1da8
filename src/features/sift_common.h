// Per-keypoint SIFT math shared by the CPU reference and the CUDA kernels (host+device, C++17): sub-pixel
// refinement of DoG extrema, the orientation histogram and the 4x4x8 descriptor, following VLFeat's
// vl_sift (Vedaldi & Fulkerson) conventions: pixel centres at integer coordinates, sigma0 = 1.6 * 2^(1/S),
// levels s_min = -1 .. S + 1 per octave.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define SIFT_HD __host__ __device__ __forceinline__
#else
#define SIFT_HD inline
#endif

namespace vg::sift {

constexpr int kSMin = -1;          // first Gaussian level of an octave
constexpr int kOriBins = 36;
constexpr int kMaxOrientations = 4;
constexpr int kNBP = 4, kNBO = 8;  // 4x4 spatial bins of 8 orientations
constexpr int kDescDim = kNBP * kNBP * kNBO;
constexpr float kMagnif = 3.0f;    // descriptor bin size = 3 sigma
constexpr float kTwoPi = 6.283185307179586f;

// One detected, refined extremum in octave pixel units (ix, iy: integer position; is: DoG level s).
struct Extremum {
  float x, y, s;  // refined position and level (s in [s_min, s_max])
  int ix, iy, is;
  int octave;     // o (first octave may be -1)
};

// A keypoint with orientation, in octave units, and the index of its extremum.
struct OrientedKeypoint {
  float x, y, sigma, angle;  // sigma in octave pixels
  int is, octave;
};

// sigma (octave pixels) of the fractional level s: sigma0 * 2^(s/S).
SIFT_HD float level_sigma(float sigma0, float s, int S) { return sigma0 * exp2f(s / S); }

SIFT_HD float mod_2pi(float a) {
  while (a > kTwoPi) a -= kTwoPi;
  while (a < 0) a += kTwoPi;
  return a;
}

// VLFeat's fast math (vl/mathop.h, vl/sift.c), which COLMAP's CPU SIFT runs on, reproduced so that orientations
// and descriptors are COLMAP's to float precision (with exact functions the orientations move by up to 6 mrad and
// 2-10 % of the matches change).
// atan2 by a 3rd-order polynomial in r = (x - |y|) / (x + |y|) (max error 0.0061 rad).
SIFT_HD float vl_atan2(float y, float x) {
  const float ay = fabsf(y) + 1.19209290e-07f;  // + FLT_EPSILON
  float r, angle;
  if (x >= 0) {
    r = (x - ay) / (x + ay);
    angle = 0.785398163397448f;  // pi / 4
  } else {
    r = (x + ay) / (ay - x);
    angle = 2.356194490192345f;  // 3 pi / 4
  }
  angle += (0.1821f * r * r - 0.9675f) * r;
  return y < 0 ? -angle : angle;
}

// sqrt(x) as x / sqrt(x), the inverse square root by the 0x5f3759df bit trick and two Newton steps; 0 below 1e-8.
SIFT_HD float vl_sqrt(float x) {
  if (static_cast<double>(x) < 1e-8) return 0;
  int32_t i;
  float u;
  memcpy(&i, &x, 4);
  i = 0x5f3759df - (i >> 1);
  memcpy(&u, &i, 4);
  const float xhalf = 0.5f * x;
  u = u * (1.5f - xhalf * u * u);
  u = u * (1.5f - xhalf * u * u);
  return x * u;
}

// exp(-x) by linear interpolation between exp(-k 25/256), k = 0 .. 256 (0 beyond 25).
#ifndef __CUDA_ARCH__
inline const double* vl_expn_table() {
  static const struct Table {
    double v[258];
    Table() {
      for (int k = 0; k < 258; ++k) v[k] = exp(-static_cast<double>(k) * (25.0 / 256));
    }
  } t;
  return t.v;
}
#endif
SIFT_HD double vl_expn(double x) {
  if (x > 25.0) return 0.0;
  x *= 256.0 / 25.0;
  const int i = static_cast<int>(floor(x));
  const double r = x - i;
#ifdef __CUDA_ARCH__
  const double a = exp(-static_cast<double>(i) * (25.0 / 256)), b = exp(-static_cast<double>(i + 1) * (25.0 / 256));
#else
  const double* t = vl_expn_table();
  const double a = t[i], b = t[i + 1];
#endif
  return a + r * (b - a);
}

// Gradient by central differences (one-sided at the border), as VLFeat's gradient images.
SIFT_HD void gradient(const float* img, int w, int h, int x, int y, float* mod, float* ang) {
  const float* p = img + y * w + x;
  float gx = (x == 0) ? p[1] - p[0] : (x == w - 1) ? p[0] - p[-1] : 0.5f * (p[1] - p[-1]);
  float gy = (y == 0) ? p[w] - p[0] : (y == h - 1) ? p[0] - p[-w] : 0.5f * (p[w] - p[-w]);
  *mod = vl_sqrt(gx * gx + gy * gy);
  *ang = mod_2pi(static_cast<float>(static_cast<double>(vl_atan2(gy, gx)) + 6.283185307179586));
}

// True when v is a strict 3x3x3 extremum of the DoG stack (p: pointer into level s, plane = w*h).
SIFT_HD bool is_extremum(const float* p, int w, long plane, float thresh) {
  float v = p[0];
  bool is_max = v >= thresh, is_min = v <= -thresh;
  if (!is_max && !is_min) return false;
  for (int ds = -1; ds <= 1; ++ds)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        if (ds == 0 && dy == 0 && dx == 0) continue;
        float n = p[ds * plane + dy * w + dx];
        is_max = is_max && v > n;
        is_min = is_min && v < n;
      }
  return is_max || is_min;
}

// Solves the 3x3 system A b = -g by Gaussian elimination with partial pivoting; false when singular.
SIFT_HD bool solve3(float A[3][3], float g[3], float b[3]) {
  float M[3][4];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) M[i][j] = A[i][j];
    M[i][3] = -g[i];
  }
  for (int j = 0; j < 3; ++j) {
    int piv = j;
    for (int i = j + 1; i < 3; ++i)
      if (fabsf(M[i][j]) > fabsf(M[piv][j])) piv = i;
    if (fabsf(M[piv][j]) < 1e-10f) return false;
    for (int k = 0; k < 4; ++k) {
      float t = M[j][k];
      M[j][k] = M[piv][k];
      M[piv][k] = t;
    }
    for (int i = 0; i < 3; ++i) {
      if (i == j) continue;
      float f = M[i][j] / M[j][j];
      for (int k = j; k < 4; ++k) M[i][k] -= f * M[j][k];
    }
  }
  for (int i = 0; i < 3; ++i) b[i] = M[i][3] / M[i][i];
  return true;
}

// Quadratic sub-pixel refinement (Brown & Lowe 2002) of the extremum at (x, y, s) of the DoG stack
// `dog` (levels s_min .. s_max - 1, plane w*h each), moving (x, y) up to 5 times; then the peak
// threshold on |D(x^)| and Lowe's edge test tr(H)^2 / det(H) < (r+1)^2 / r.
SIFT_HD bool refine_extremum(const float* dog, int w, int h, int S, int x, int y, int s, float peak_thresh,
                             float edge_thresh, Extremum* out) {
  const long plane = static_cast<long>(w) * h;
  float b[3] = {0, 0, 0}, g[3] = {0, 0, 0}, A[3][3];
  const float* p = nullptr;
  int dx = 0, dy = 0;
  for (int iter = 0; iter < 5; ++iter) {
    x += dx;
    y += dy;
    p = dog + (s - kSMin) * plane + static_cast<long>(y) * w + x;
#define D(DX, DY, DS) p[(DS) * plane + (DY) * w + (DX)]
    g[0] = 0.5f * (D(1, 0, 0) - D(-1, 0, 0));
    g[1] = 0.5f * (D(0, 1, 0) - D(0, -1, 0));
    g[2] = 0.5f * (D(0, 0, 1) - D(0, 0, -1));
    A[0][0] = D(1, 0, 0) + D(-1, 0, 0) - 2 * D(0, 0, 0);
    A[1][1] = D(0, 1, 0) + D(0, -1, 0) - 2 * D(0, 0, 0);
    A[2][2] = D(0, 0, 1) + D(0, 0, -1) - 2 * D(0, 0, 0);
    A[0][1] = A[1][0] = 0.25f * (D(1, 1, 0) - D(1, -1, 0) - D(-1, 1, 0) + D(-1, -1, 0));
    A[0][2] = A[2][0] = 0.25f * (D(1, 0, 1) - D(1, 0, -1) - D(-1, 0, 1) + D(-1, 0, -1));
    A[1][2] = A[2][1] = 0.25f * (D(0, 1, 1) - D(0, 1, -1) - D(0, -1, 1) + D(0, -1, -1));
#undef D
    if (!solve3(A, g, b)) b[0] = b[1] = b[2] = 0;
    dx = ((b[0] > 0.6f && x < w - 2) ? 1 : 0) + ((b[0] < -0.6f && x > 1) ? -1 : 0);
    dy = ((b[1] > 0.6f && y < h - 2) ? 1 : 0) + ((b[1] < -0.6f && y > 1) ? -1 : 0);
    if (dx == 0 && dy == 0) break;
  }
  float val = p[0] + 0.5f * (g[0] * b[0] + g[1] * b[1] + g[2] * b[2]);
  float tr = A[0][0] + A[1][1], det = A[0][0] * A[1][1] - A[0][1] * A[0][1];
  float score = (det != 0) ? tr * tr / det : -1.0f;
  float xn = x + b[0], yn = y + b[1], sn = s + b[2];
  bool good = fabsf(val) > peak_thresh && score >= 0 && score < (edge_thresh + 1) * (edge_thresh + 1) / edge_thresh &&
              fabsf(b[0]) < 1.5f && fabsf(b[1]) < 1.5f && fabsf(b[2]) < 1.5f && xn >= 0 && xn <= w - 1 &&
              yn >= 0 && yn <= h - 1 && sn >= kSMin && sn <= S + 1;
  if (!good) return false;
  out->x = xn;
  out->y = yn;
  out->s = sn;
  out->ix = x;
  out->iy = y;
  out->is = s;
  return true;
}

// Geometry of the orientation window around a keypoint (octave units; sigma of the keypoint).
struct OriWindow {
  int xi, yi, W;
  float x, y, sigmaw;
};

SIFT_HD OriWindow ori_window(float x, float y, float sigma) {
  OriWindow wd;
  wd.sigmaw = 1.5f * sigma;
  wd.W = (int)fmaxf(floorf(3.0f * wd.sigmaw), 1.0f);
  wd.xi = (int)(x + 0.5f);
  wd.yi = (int)(y + 0.5f);
  wd.x = x;
  wd.y = y;
  return wd;
}

// Contribution of pixel (xi+dxs, yi+dys) to the 36-bin histogram, linearly split over two bins (in double, as
// VLFeat's histogram).
template <typename Add>
SIFT_HD void ori_accumulate(const float* img, int w, int h, const OriWindow& wd, int dxs, int dys, Add add) {
  int px = wd.xi + dxs, py = wd.yi + dys;
  if (px < 0 || px > w - 1 || py < 0 || py > h - 1) return;
  const double dx = px - static_cast<double>(wd.x), dy = py - static_cast<double>(wd.y), r2 = dx * dx + dy * dy;
  if (r2 >= wd.W * wd.W + 0.6) return;
  float mod, ang;
  gradient(img, w, h, px, py, &mod, &ang);
  const double sw = wd.sigmaw, wgt = vl_expn(r2 / (2 * sw * sw));
  const double fbin = kOriBins * static_cast<double>(ang) / 6.283185307179586;
  const int bin = static_cast<int>(floor(fbin - 0.5));
  const double rbin = fbin - bin - 0.5;
  add((bin + kOriBins) % kOriBins, (1 - rbin) * mod * wgt);
  add((bin + 1) % kOriBins, rbin * mod * wgt);
}

// Smooths the histogram (6 circular box passes) and returns the dominant orientations: local maxima above
// 0.8 of the global one, with a parabolic fit (Lowe 2004, sec. 5). Returns their number (<= kMaxOrientations).
// The histogram is T = double on the CPU (as VLFeat), float in the CUDA kernel's shared memory.
template <typename T>
SIFT_HD int ori_peaks(T* hist, float* angles) {
  for (int iter = 0; iter < 6; ++iter) {
    T prev = hist[kOriBins - 1], first = hist[0];
    for (int i = 0; i < kOriBins - 1; ++i) {
      T cur = hist[i];
      hist[i] = (prev + cur + hist[i + 1]) / T(3);
      prev = cur;
    }
    hist[kOriBins - 1] = (prev + hist[kOriBins - 1] + first) / T(3);
  }
  T maxh = 0;
  for (int i = 0; i < kOriBins; ++i) maxh = hist[i] > maxh ? hist[i] : maxh;
  int n = 0;
  for (int i = 0; i < kOriBins && n < kMaxOrientations; ++i) {
    const double h0 = hist[i], hm = hist[(i - 1 + kOriBins) % kOriBins], hp = hist[(i + 1) % kOriBins];
    if (h0 > 0.8 * maxh && h0 > hm && h0 > hp) {
      const double di = -0.5 * (hp - hm) / (hp + hm - 2 * h0);
      angles[n++] = static_cast<float>(6.283185307179586 * (i + di + 0.5) / kOriBins);
    }
  }
  return n;
}

// Geometry of the descriptor window (Lowe 2004, sec. 6): bins of kMagnif*sigma, rotated by `angle`.
// As VLFeat: the window geometry in double, samples stored as float.
struct DescWindow {
  int xi, yi, W;
  double x, y, sbp, ct, st, angle;
};

SIFT_HD DescWindow desc_window(float x, float y, float sigma, float angle) {
  DescWindow wd;
  wd.sbp = kMagnif * static_cast<double>(sigma) + 2.220446049250313e-16;  // + DBL_EPSILON
  wd.W = static_cast<int>(floor(1.4142135623730951 * wd.sbp * (kNBP + 1) / 2.0 + 0.5));
  wd.xi = static_cast<int>(x + 0.5);
  wd.yi = static_cast<int>(y + 0.5);
  wd.x = x;
  wd.y = y;
  wd.ct = cos(static_cast<double>(angle));
  wd.st = sin(static_cast<double>(angle));
  wd.angle = angle;
  return wd;
}

// Trilinear contribution of pixel (xi+dxi, yi+dyi) to the 4x4x8 histogram, Gaussian window sigma = NBP/2 bins.
template <typename Add>
SIFT_HD void desc_accumulate(const float* img, int w, int h, const DescWindow& wd, int dxi, int dyi, Add add) {
  int px = wd.xi + dxi, py = wd.yi + dyi;
  if (px < 1 || px > w - 2 || py < 1 || py > h - 2) return;
  const float dx = static_cast<float>(px - wd.x), dy = static_cast<float>(py - wd.y);
  const float nx = static_cast<float>((wd.ct * dx + wd.st * dy) / wd.sbp);
  const float ny = static_cast<float>((-wd.st * dx + wd.ct * dy) / wd.sbp);
  const float reach = kNBP / 2 + 0.5f;  // beyond this no spatial bin receives weight
  if (fabsf(nx) >= reach || fabsf(ny) >= reach) return;
  float mod, ang;
  gradient(img, w, h, px, py, &mod, &ang);
  const float theta = mod_2pi(static_cast<float>(ang - wd.angle));
  const float nt = static_cast<float>(kNBO * theta / 6.283185307179586);
  const double wsigma = kNBP / 2;
  const float win = static_cast<float>(vl_expn((nx * nx + ny * ny) / (2.0 * wsigma * wsigma)));
  const int binx = static_cast<int>(floorf(static_cast<float>(nx - 0.5))),
            biny = static_cast<int>(floorf(static_cast<float>(ny - 0.5))), bint = static_cast<int>(floorf(nt));
  const float rbinx = static_cast<float>(nx - (binx + 0.5)), rbiny = static_cast<float>(ny - (biny + 0.5)),
              rbint = nt - bint;
  for (int dby = 0; dby < 2; ++dby) {
    int by = biny + dby;
    if (by < -kNBP / 2 || by >= kNBP / 2) continue;
    float wy = fabsf(1 - dby - rbiny);
    for (int dbx = 0; dbx < 2; ++dbx) {
      int bx = binx + dbx;
      if (bx < -kNBP / 2 || bx >= kNBP / 2) continue;
      float wx = fabsf(1 - dbx - rbinx);
      for (int dbt = 0; dbt < 2; ++dbt) {
        float wt = fabsf(1 - dbt - rbint);
        int idx = (by + kNBP / 2) * kNBP * kNBO + (bx + kNBP / 2) * kNBO + (bint + dbt) % kNBO;
        add(idx, win * mod * wx * wy * wt);
      }
    }
  }
}

// Lowe's normalisation: unit L2, clamp at 0.2, unit L2 again.
SIFT_HD void desc_normalize(float* d) {
  for (int pass = 0; pass < 2; ++pass) {
    float n = 0;
    for (int i = 0; i < kDescDim; ++i) n += d[i] * d[i];
    n = vl_sqrt(n) + 1.19209290e-07f;  // + FLT_EPSILON
    for (int i = 0; i < kDescDim; ++i) d[i] = (pass == 0) ? fminf(d[i] / n, 0.2f) : d[i] / n;
  }
}

}  // namespace vg::sift
