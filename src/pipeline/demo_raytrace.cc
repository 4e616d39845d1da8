#include "pipeline/demo_raytrace.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "core/parallel.h"

namespace vg::demo {

namespace {

using Vec3 = Eigen::Vector3d;

struct Hit {
  double t = INFINITY;
  Vec3 normal, albedo;
};

const Vec3 kSphereCenter(-0.4, -0.25, 0.4);
constexpr double kSphereRadius = 0.4;
const Vec3 kBoxCenter(0.45, 0.3, 0.3);
const Vec3 kBoxHalf(0.3, 0.22, 0.3);
constexpr double kBoxYaw = 0.5;  // radians about z
constexpr double kGroundRadius = 1.2;

Vec3 light_dir() { return Vec3(0.4, -0.5, 0.8).normalized(); }

bool checker(double u, double v) { return (static_cast<long>(std::floor(u)) + static_cast<long>(std::floor(v))) & 1; }

// Ground disk z = 0: 0.2-unit checkerboard.
void hit_ground(const Vec3& o, const Vec3& d, Hit& h) {
  if (std::abs(d.z()) < 1e-12) return;
  double t = -o.z() / d.z();
  if (t <= 1e-6 || t >= h.t) return;
  Vec3 p = o + t * d;
  if (p.head<2>().norm() > kGroundRadius) return;
  h.t = t;
  h.normal = Vec3(0, 0, d.z() < 0 ? 1 : -1);
  h.albedo = checker(p.x() / 0.2, p.y() / 0.2) ? Vec3(0.85, 0.83, 0.78) : Vec3(0.25, 0.32, 0.5);
}

// Sphere with an 8 x 12 latitude/longitude checker (red / yellow).
void hit_sphere(const Vec3& o, const Vec3& d, Hit& h) {
  Vec3 oc = o - kSphereCenter;
  double b = oc.dot(d), c = oc.squaredNorm() - kSphereRadius * kSphereRadius, disc = b * b - c;
  if (disc < 0) return;
  double s = std::sqrt(disc), t = -b - s;
  if (t <= 1e-6) t = -b + s;
  if (t <= 1e-6 || t >= h.t) return;
  Vec3 n = (oc + t * d) / kSphereRadius;
  double lat = std::acos(std::clamp(n.z(), -1.0, 1.0)), lon = std::atan2(n.y(), n.x());
  h.t = t;
  h.normal = n;
  h.albedo = checker(lat / M_PI * 8, lon / M_PI * 6) ? Vec3(0.85, 0.15, 0.1) : Vec3(0.95, 0.8, 0.2);
}

// Box rotated by kBoxYaw about z, slab test in its frame; stripes of 0.1 along the local height.
void hit_box(const Vec3& o, const Vec3& d, Hit& h) {
  Eigen::Matrix3d R = Eigen::AngleAxisd(kBoxYaw, Vec3::UnitZ()).toRotationMatrix();
  Vec3 lo = R.transpose() * (o - kBoxCenter), ld = R.transpose() * d;
  double t0 = -INFINITY, t1 = INFINITY;
  int axis = -1;
  for (int a = 0; a < 3; ++a) {
    if (std::abs(ld[a]) < 1e-12) {
      if (std::abs(lo[a]) > kBoxHalf[a]) return;
      continue;
    }
    double ta = (-kBoxHalf[a] - lo[a]) / ld[a], tb = (kBoxHalf[a] - lo[a]) / ld[a];
    if (ta > tb) std::swap(ta, tb);
    if (ta > t0) t0 = ta, axis = a;
    t1 = std::min(t1, tb);
  }
  if (t0 > t1 || t0 <= 1e-6 || t0 >= h.t || axis < 0) return;
  Vec3 ln = Vec3::Zero();
  ln[axis] = ld[axis] > 0 ? -1 : 1;
  Vec3 p = lo + t0 * ld;
  h.t = t0;
  h.normal = R * ln;
  bool stripe = axis == 2 ? checker(p.x() / 0.1, p.y() / 0.1) : static_cast<long>(std::floor((p.z() + 1) / 0.1)) & 1;
  h.albedo = stripe ? Vec3(0.1, 0.6, 0.25) : Vec3(0.92, 0.95, 0.9);
}

Hit intersect(const Vec3& o, const Vec3& d) {
  Hit h;
  hit_ground(o, d, h);
  hit_sphere(o, d, h);
  hit_box(o, d, h);
  return h;
}

}  // namespace

std::array<float, 3> trace_ray(const std::array<double, 3>& origin, const std::array<double, 3>& dir) {
  Vec3 o(origin[0], origin[1], origin[2]), d(dir[0], dir[1], dir[2]);
  Hit h = intersect(o, d);
  if (!std::isfinite(h.t)) return {0, 0, 0};
  Vec3 p = o + h.t * d, l = light_dir();
  double lambert = std::max(0.0, h.normal.dot(l));
  if (lambert > 0 && std::isfinite(intersect(p + 1e-4 * h.normal, l).t)) lambert = 0;  // hard shadow
  Vec3 c = h.albedo * (0.3 + 0.7 * lambert);
  return {static_cast<float>(std::min(c.x(), 1.0)), static_cast<float>(std::min(c.y(), 1.0)),
          static_cast<float>(std::min(c.z(), 1.0))};
}

Image render_view(const Camera& cam, int supersample) {
  const auto& m = cam.viewmat;
  Eigen::Matrix3d R;  // world -> camera rotation (row-major viewmat)
  R << m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10];
  auto pos = cam.position();
  std::array<double, 3> o{pos[0], pos[1], pos[2]};
  Image img;
  img.width = cam.width;
  img.height = cam.height;
  img.channels = 3;
  img.pixels.assign(static_cast<size_t>(cam.width) * cam.height * 3, 0.0f);
  int ss = std::max(1, supersample);
  parallel_for(cam.height, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y)
      for (int x = 0; x < cam.width; ++x) {
        double acc[3] = {0, 0, 0};
        for (int sy = 0; sy < ss; ++sy)
          for (int sx = 0; sx < ss; ++sx) {
            double u = x + (sx + 0.5) / ss, v = y + (sy + 0.5) / ss;
            Vec3 dc((u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, 1.0);
            Vec3 dw = (R.transpose() * dc).normalized();
            auto c = trace_ray(o, {dw.x(), dw.y(), dw.z()});
            for (int k = 0; k < 3; ++k) acc[k] += c[k];
          }
        for (int k = 0; k < 3; ++k)
          img.pixels[(static_cast<size_t>(y) * cam.width + x) * 3 + k] = static_cast<float>(acc[k] / (ss * ss));
      }
  }, 4);
  return img;
}

}  // namespace vg::demo
