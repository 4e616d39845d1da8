// Per-keypoint SIFT math shared by the CPU reference and the CUDA kernels (host+device, C++17): sub-pixel
// refinement of DoG extrema, the orientation histogram and the 4x4x8 descriptor, following VLFeat's
// vl_sift (Vedaldi & Fulkerson) conventions: pixel centres at integer coordinates, sigma0 = 1.6 * 2^(1/S),
// levels s_min = -1 .. S + 1 per octave.
#pragma once
#include <math.h>

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

// atan2 by an 11th-order odd polynomial on [0, 1] (Cg reference; max error ~1e-5 rad, far below the
// 10-degree histogram bins); the same on host and device and several times faster than libm's.
SIFT_HD float fast_atan2(float y, float x) {
  const float ax = fabsf(x), ay = fabsf(y), mx = fmaxf(ax, ay);
  if (mx == 0) return 0;
  const float a = fminf(ax, ay) / mx, s = a * a;
  float r = -0.013480470f;
  r = r * s + 0.057477314f;
  r = r * s - 0.121239071f;
  r = r * s + 0.195635925f;
  r = r * s - 0.332994597f;
  r = r * s + 0.999995630f;
  r *= a;
  if (ay > ax) r = 1.570796327f - r;
  if (x < 0) r = 3.141592654f - r;
  return y < 0 ? -r : r;
}

// Gradient by central differences (one-sided at the border), as VLFeat's gradient images.
SIFT_HD void gradient(const float* img, int w, int h, int x, int y, float* mod, float* ang) {
  const float* p = img + y * w + x;
  float gx = (x == 0) ? p[1] - p[0] : (x == w - 1) ? p[0] - p[-1] : 0.5f * (p[1] - p[-1]);
  float gy = (y == 0) ? p[w] - p[0] : (y == h - 1) ? p[0] - p[-w] : 0.5f * (p[w] - p[-w]);
  *mod = sqrtf(gx * gx + gy * gy);
  *ang = mod_2pi(fast_atan2(gy, gx));
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

// Contribution of pixel (xi+dxs, yi+dys) to the 36-bin histogram, linearly split over two bins.
template <typename Add>
SIFT_HD void ori_accumulate(const float* img, int w, int h, const OriWindow& wd, int dxs, int dys, Add add) {
  int px = wd.xi + dxs, py = wd.yi + dys;
  if (px < 0 || px > w - 1 || py < 0 || py > h - 1) return;
  float dx = px - wd.x, dy = py - wd.y, r2 = dx * dx + dy * dy;
  if (r2 >= wd.W * wd.W + 0.6f) return;
  float mod, ang;
  gradient(img, w, h, px, py, &mod, &ang);
  float wgt = expf(-r2 / (2 * wd.sigmaw * wd.sigmaw));
  float fbin = kOriBins * ang / kTwoPi;
  int bin = (int)floorf(fbin - 0.5f);
  float rbin = fbin - bin - 0.5f;
  add((bin + kOriBins) % kOriBins, (1 - rbin) * mod * wgt);
  add((bin + 1) % kOriBins, rbin * mod * wgt);
}

// Smooths the histogram (6 circular box passes) and returns the dominant orientations: local maxima above
// 0.8 of the global one, with a parabolic fit (Lowe 2004, sec. 5). Returns their number (<= kMaxOrientations).
SIFT_HD int ori_peaks(float* hist, float* angles) {
  for (int iter = 0; iter < 6; ++iter) {
    float prev = hist[kOriBins - 1], first = hist[0];
    for (int i = 0; i < kOriBins - 1; ++i) {
      float cur = hist[i];
      hist[i] = (prev + cur + hist[i + 1]) / 3.0f;
      prev = cur;
    }
    hist[kOriBins - 1] = (prev + hist[kOriBins - 1] + first) / 3.0f;
  }
  float maxh = 0;
  for (int i = 0; i < kOriBins; ++i) maxh = fmaxf(maxh, hist[i]);
  int n = 0;
  for (int i = 0; i < kOriBins && n < kMaxOrientations; ++i) {
    float h0 = hist[i], hm = hist[(i - 1 + kOriBins) % kOriBins], hp = hist[(i + 1) % kOriBins];
    if (h0 > 0.8f * maxh && h0 > hm && h0 > hp) {
      float di = -0.5f * (hp - hm) / (hp + hm - 2 * h0);
      angles[n++] = mod_2pi(kTwoPi * (i + di + 0.5f) / kOriBins);
    }
  }
  return n;
}

// Geometry of the descriptor window (Lowe 2004, sec. 6): bins of kMagnif*sigma, rotated by `angle`.
struct DescWindow {
  int xi, yi, W;
  float x, y, sbp, ct, st, angle;
};

SIFT_HD DescWindow desc_window(float x, float y, float sigma, float angle) {
  DescWindow wd;
  wd.sbp = kMagnif * sigma + 1e-9f;
  wd.W = (int)floorf(1.41421356f * wd.sbp * (kNBP + 1) / 2 + 0.5f);
  wd.xi = (int)(x + 0.5f);
  wd.yi = (int)(y + 0.5f);
  wd.x = x;
  wd.y = y;
  wd.ct = cosf(angle);
  wd.st = sinf(angle);
  wd.angle = angle;
  return wd;
}

// Trilinear contribution of pixel (xi+dxi, yi+dyi) to the 4x4x8 histogram, Gaussian window sigma = NBP/2 bins.
template <typename Add>
SIFT_HD void desc_accumulate(const float* img, int w, int h, const DescWindow& wd, int dxi, int dyi, Add add) {
  int px = wd.xi + dxi, py = wd.yi + dyi;
  if (px < 1 || px > w - 2 || py < 1 || py > h - 2) return;
  float dx = px - wd.x, dy = py - wd.y;
  float nx = (wd.ct * dx + wd.st * dy) / wd.sbp;
  float ny = (-wd.st * dx + wd.ct * dy) / wd.sbp;
  const float reach = kNBP / 2 + 0.5f;  // beyond this no spatial bin receives weight
  if (fabsf(nx) >= reach || fabsf(ny) >= reach) return;
  float mod, ang;
  gradient(img, w, h, px, py, &mod, &ang);
  float theta = mod_2pi(ang - wd.angle);
  float nt = kNBO * theta / kTwoPi;
  const float wsigma = kNBP / 2;
  float win = expf(-(nx * nx + ny * ny) / (2 * wsigma * wsigma));
  int binx = (int)floorf(nx - 0.5f), biny = (int)floorf(ny - 0.5f), bint = (int)floorf(nt);
  float rbinx = nx - (binx + 0.5f), rbiny = ny - (biny + 0.5f), rbint = nt - bint;
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
    n = sqrtf(n) + 1e-12f;
    for (int i = 0; i < kDescDim; ++i) d[i] = (pass == 0) ? fminf(d[i] / n, 0.2f) : d[i] / n;
  }
}

}  // namespace vg::sift
