#include "io/undistort.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"

namespace vg {

std::array<double, 2> Distortion::distort(double x, double y) const {
  const double r2 = x * x + y * y;
  const double radial = 1 + ((k3 * r2 + k2) * r2 + k1) * r2;
  return {x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y};
}

std::array<double, 2> undistort_point(const Intrinsics& K, const Distortion& d, double u, double v) {
  const double x0 = (u - K.cx) / K.fx, y0 = (v - K.cy) / K.fy;
  double x = x0, y = y0;
  for (int it = 0; it < 5; ++it) {
    const double r2 = x * x + y * y;
    const double icdist = 1.0 / (1 + ((d.k3 * r2 + d.k2) * r2 + d.k1) * r2);
    if (icdist < 0) return {x0, y0};
    const double dx = 2 * d.p1 * x * y + d.p2 * (r2 + 2 * x * x);
    const double dy = d.p1 * (r2 + 2 * y * y) + 2 * d.p2 * x * y;
    x = (x0 - dx) * icdist;
    y = (y0 - dy) * icdist;
  }
  return {x, y};
}

namespace {

// cv's icvGetRectangles: undistort a 9x9 grid over the image border and interior; the inner
// rectangle is bounded by the first/last grid columns and rows. `P` maps normalised -> pixels
// (nullptr: stay normalised).
std::array<float, 4> inner_rectangle(const Intrinsics& K, const Distortion& d, const Intrinsics* P) {
  constexpr int N = 9;
  float x0 = -FLT_MAX, x1 = FLT_MAX, y0 = -FLT_MAX, y1 = FLT_MAX;
  for (int gy = 0; gy < N; ++gy)
    for (int gx = 0; gx < N; ++gx) {
      const float u = static_cast<float>(gx) * K.width / (N - 1), v = static_cast<float>(gy) * K.height / (N - 1);
      auto p = undistort_point(K, d, u, v);
      if (P) p = {p[0] * P->fx + P->cx, p[1] * P->fy + P->cy};
      const float px = static_cast<float>(p[0]), py = static_cast<float>(p[1]);
      if (gx == 0) x0 = std::max(x0, px);
      if (gx == N - 1) x1 = std::min(x1, px);
      if (gy == 0) y0 = std::max(y0, py);
      if (gy == N - 1) y1 = std::min(y1, py);
    }
  return {x0, y0, x1 - x0, y1 - y0};
}

int round_int(float v) { return static_cast<int>(std::lrint(v)); }

}  // namespace

Undistorter make_undistorter(const Intrinsics& K, const Distortion& d) {
  VG_CHECK(K.width > 0 && K.height > 0 && K.fx > 0 && K.fy > 0, "cannot undistort a ", K.width, "x", K.height,
           " camera with focal ", K.fx, ", ", K.fy);
  Undistorter u;
  u.src = K;
  u.dist = d;
  // getOptimalNewCameraMatrix, alpha = 0: map the inner rectangle onto [0, size-1].
  const auto in = inner_rectangle(K, d, nullptr);
  VG_CHECK(in[2] > 0 && in[3] > 0, "distortion too strong to undistort (k1=", d.k1, " k2=", d.k2, ")");
  Intrinsics P = K;
  P.fx = (K.width - 1) / static_cast<double>(in[2]);
  P.fy = (K.height - 1) / static_cast<double>(in[3]);
  P.cx = -P.fx * in[0];
  P.cy = -P.fy * in[1];
  // Valid pixel ROI: the inner rectangle in the new camera, rounded, clipped to the image.
  const auto r = inner_rectangle(K, d, &P);
  int x0 = std::max(0, round_int(r[0])), y0 = std::max(0, round_int(r[1]));
  int x1 = std::min(K.width, round_int(r[0]) + round_int(r[2])), y1 = std::min(K.height, round_int(r[1]) + round_int(r[3]));
  VG_CHECK(x1 > x0 && y1 > y0, "undistortion leaves no valid pixels");
  u.roi = {x0, y0, x1 - x0, y1 - y0};
  u.dst = {P.fx, P.fy, P.cx - x0, P.cy - y0, x1 - x0, y1 - y0};
  // initUndistortRectifyMap: for each output pixel, where it comes from in the distorted image.
  const size_t n = static_cast<size_t>(K.width) * K.height;
  u.mapx.resize(n);
  u.mapy.resize(n);
  parallel_for(K.height, [&](int64_t y0r, int64_t y1r) {
    for (int64_t y = y0r; y < y1r; ++y)
    for (int x = 0; x < K.width; ++x) {
      const auto dxy = d.distort((x - P.cx) / P.fx, (static_cast<double>(y) - P.cy) / P.fy);
      const size_t i = static_cast<size_t>(y) * K.width + x;
      u.mapx[i] = static_cast<float>(K.fx * dxy[0] + K.cx);
      u.mapy[i] = static_cast<float>(K.fy * dxy[1] + K.cy);
    }
  }, 16);
  return u;
}

Image Undistorter::apply(const Image& img) const {
  VG_CHECK(img.width == src.width && img.height == src.height, "undistort: image is ", img.width, "x", img.height,
           ", camera is ", src.width, "x", src.height);
  const int ch = img.channels, w = roi[2], h = roi[3];
  Image out{w, h, ch, std::vector<float>(static_cast<size_t>(w) * h * ch, 0.0f)};
  auto sample = [&](int x, int y, int c) {  // BORDER_CONSTANT 0
    return x >= 0 && y >= 0 && x < img.width && y < img.height ? img.at(y, x, c) : 0.0f;
  };
  parallel_for(h, [&](int64_t b, int64_t e) {
    for (int64_t oy = b; oy < e; ++oy)
    for (int ox = 0; ox < w; ++ox) {
      const size_t i = static_cast<size_t>(oy + roi[1]) * src.width + (ox + roi[0]);
      const float sx = mapx[i], sy = mapy[i];
      const int x = static_cast<int>(std::floor(sx)), y = static_cast<int>(std::floor(sy));
      const float ax = sx - x, ay = sy - y;
      for (int c = 0; c < ch; ++c)
        out.at(static_cast<int>(oy), ox, c) =
            (1 - ay) * ((1 - ax) * sample(x, y, c) + ax * sample(x + 1, y, c)) +
            ay * ((1 - ax) * sample(x, y + 1, c) + ax * sample(x + 1, y + 1, c));
    }
  }, 16);
  return out;
}

}  // namespace vg
