#include "pipeline/gt_scene.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "io/jpeg_write.h"

namespace vg::synth {

using Eigen::Vector3d;

Texture make_texture(const Image& rgb) {
  VG_CHECK(rgb.channels == 3 && rgb.width >= 2 && rgb.height >= 2, "synthetic scene: textures must be RGB photos");
  Texture t;
  t.levels.push_back(rgb);
  while (std::min(t.levels.back().width, t.levels.back().height) >= 4) t.levels.push_back(resize_area(t.levels.back(), 2));
  return t;
}

namespace {

// Bilinear lookup at texture coordinates (a, b) in [0, 1]^2 of one mip level (texel centres at +0.5, clamped).
Vector3d bilinear(const Image& im, double a, double b) {
  const double x = std::clamp(a * im.width - 0.5, 0.0, im.width - 1.0);
  const double y = std::clamp(b * im.height - 0.5, 0.0, im.height - 1.0);
  const int x0 = std::min(static_cast<int>(x), im.width - 2), y0 = std::min(static_cast<int>(y), im.height - 2);
  const double fx = x - x0, fy = y - y0;
  Vector3d c = Vector3d::Zero();
  for (int k = 0; k < 3; ++k)
    c[k] = (1 - fy) * ((1 - fx) * im.at(y0, x0, k) + fx * im.at(y0, x0 + 1, k)) +
           fy * ((1 - fx) * im.at(y0 + 1, x0, k) + fx * im.at(y0 + 1, x0 + 1, k));
  return c;
}

// Trilinear lookup: `footprint` is the ray's footprint on the face in units of level-0 texels.
Vector3d sample(const Texture& t, double a, double b, double footprint) {
  const double lod = std::clamp(std::log2(std::max(footprint, 1.0)), 0.0, t.levels.size() - 1.0);
  const int l0 = static_cast<int>(lod), l1 = std::min<int>(l0 + 1, static_cast<int>(t.levels.size()) - 1);
  const double w = lod - l0;
  return (1 - w) * bilinear(t.levels[l0], a, b) + w * bilinear(t.levels[l1], a, b);
}

// OpenCV camera at `centre` looking at `target`, world z up, rolled by `roll` radians about its axis.
Eigen::Matrix4d look_at(const Vector3d& centre, const Vector3d& target, double roll) {
  const Vector3d z = (target - centre).normalized();
  const Vector3d x0 = z.cross(Vector3d::UnitZ()).normalized(), y0 = z.cross(x0);
  const Vector3d x = std::cos(roll) * x0 + std::sin(roll) * y0, y = z.cross(x);
  Eigen::Matrix3d R_wc;
  R_wc << x, y, z;
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
  T.topLeftCorner<3, 3>() = R_wc.transpose();
  T.topRightCorner<3, 1>() = -R_wc.transpose() * centre;
  return T;
}

// A vertical face of width `w` and height `h` whose bottom edge centre is `base` and outward normal `n`
// (horizontal), textured upright as seen from outside.
Quad wall(const Vector3d& base, const Vector3d& n, double w, double h, int texture) {
  const Vector3d right = Vector3d::UnitZ().cross(n).normalized();  // viewer's right, looking along -n
  return {base - 0.5 * w * right + Vector3d(0, 0, h), w * right, Vector3d(0, 0, -h), texture};
}

// An upright box (centre of its footprint `c`, half sizes hx hy, height h, yawed) : four walls and a top.
void add_box(Scene& s, const Vector3d& c, double hx, double hy, double h, double yaw, int& tex, int n_tex) {
  const Vector3d ex(std::cos(yaw), std::sin(yaw), 0), ey(-std::sin(yaw), std::cos(yaw), 0);
  s.quads.push_back(wall(c + hy * ey, ey, 2 * hx, h, tex++ % n_tex));
  s.quads.push_back(wall(c - hy * ey, -ey, 2 * hx, h, tex++ % n_tex));
  s.quads.push_back(wall(c + hx * ex, ex, 2 * hy, h, tex++ % n_tex));
  s.quads.push_back(wall(c - hx * ex, -ex, 2 * hy, h, tex++ % n_tex));
  s.quads.push_back({c - hx * ex + hy * ey + Vector3d(0, 0, h), 2 * hx * ex, -2 * hy * ey, tex++ % n_tex});
}

// Building front (16 x 10 m) with angled side walls and a porch, on a ground rectangle; world z up, the front
// faces -y.
Scene facade_scene(int n_tex) {
  Scene s;
  int tex = 0;
  s.quads.push_back(wall({0, 0, 0}, {0, -1, 0}, 16, 10, tex++ % n_tex));
  s.quads.push_back({{-12, -5, 9}, {4, 5, 0}, {0, 0, -9}, tex++ % n_tex});
  s.quads.push_back({{8, 0, 9}, {4, -5, 0}, {0, 0, -9}, tex++ % n_tex});
  add_box(s, {0, -1.5, 0}, 3, 1.5, 3.5, 0, tex, n_tex);
  s.quads.push_back({{-20, 0, 0}, {40, 0, 0}, {0, -30, 0}, tex++ % n_tex});
  return s;
}

// Three boxes (one tall, one yawed) on a 12 x 12 m ground square.
Scene object_scene(int n_tex) {
  Scene s;
  int tex = 0;
  add_box(s, {0, 0, 0}, 1.2, 1.2, 2.4, 0, tex, n_tex);
  add_box(s, {2.4, 1.6, 0}, 0.7, 0.7, 1.4, 0.52, tex, n_tex);
  add_box(s, {-2.1, 1.7, 0}, 0.4, 0.4, 3.2, 0.2, tex, n_tex);
  s.quads.push_back({{-6, 6, 0}, {12, 0, 0}, {0, -12, 0}, tex++ % n_tex});
  return s;
}

}  // namespace

Vector3d shade(const Scene& s, const Vector3d& o, const Vector3d& d, double pixel_angle) {
  double best = std::numeric_limits<double>::infinity();
  Vector3d colour;
  for (const Quad& q : s.quads) {
    const Vector3d n = q.u.cross(q.v);
    const double denom = n.dot(d);
    if (std::abs(denom) < 1e-12 * n.norm()) continue;
    const double t = n.dot(q.origin - o) / denom;
    if (t <= 1e-9 || t >= best) continue;
    // (a, b) with p - origin = a u + b v: the 2x2 normal equations of the face's (possibly skew) axes.
    const Vector3d r = o + t * d - q.origin;
    const double uu = q.u.squaredNorm(), uv = q.u.dot(q.v), vv = q.v.squaredNorm(), ru = r.dot(q.u), rv = r.dot(q.v);
    const double det = uu * vv - uv * uv;
    const double a = (ru * vv - rv * uv) / det, b = (rv * uu - ru * uv) / det;
    if (a < 0 || a > 1 || b < 0 || b > 1) continue;
    const Texture& tex = s.textures[q.texture];
    const double texel = std::min(q.u.norm() / tex.levels[0].width, q.v.norm() / tex.levels[0].height);
    const double cos_incidence = std::max(std::abs(denom) / n.norm(), 0.05);
    // Isotropic mip level between the footprint across (t * angle) and along (/ cos) the slant.
    const double footprint = t * pixel_angle / std::sqrt(cos_incidence) / texel;
    best = t;
    colour = sample(tex, a, b, footprint);
  }
  if (std::isfinite(best)) return colour;
  const double h = std::clamp(0.5 + 0.5 * d.z(), 0.0, 1.0);
  return h * s.sky_top + (1 - h) * s.sky_bottom;
}

Image render(const Scene& s, const View& v, const RenderSettings& r, unsigned image_seed) {
  const Intrinsics& K = r.K;
  VG_CHECK(K.width > 0 && K.height > 0 && r.supersample >= 1, "synthetic scene: bad render settings");
  VG_CHECK(r.dist.p1 == 0 && r.dist.p2 == 0 && r.dist.k3 == 0, "synthetic scene: radial k1 k2 only");
  const Eigen::Matrix3d R_wc = v.cam_from_world.topLeftCorner<3, 3>().transpose();
  const Vector3d centre = -R_wc * v.cam_from_world.topRightCorner<3, 1>();
  Image img;
  img.width = K.width;
  img.height = K.height;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(K.width) * K.height * 3);
  const int ss = r.supersample;
  parallel_for(K.height, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y) {
      std::mt19937 rng(image_seed * 1000003u + static_cast<unsigned>(y));
      std::normal_distribution<double> noise(0.0, r.noise_sigma);
      for (int x = 0; x < K.width; ++x) {
        Vector3d c = Vector3d::Zero();
        for (int sy = 0; sy < ss; ++sy)
          for (int sx = 0; sx < ss; ++sx) {
            const double xd = (x + (sx + 0.5) / ss - K.cx) / K.fx, yd = (y + (sy + 0.5) / ss - K.cy) / K.fy;
            double xu = xd, yu = yd;  // invert x_d = x (1 + k1 r^2 + k2 r^4) by fixed-point iteration
            for (int it = 0; it < 30; ++it) {
              const double r2 = xu * xu + yu * yu, radial = 1 + r2 * (r.dist.k1 + r2 * r.dist.k2);
              xu = xd / radial;
              yu = yd / radial;
            }
            c += shade(s, centre, (R_wc * Vector3d(xu, yu, 1)).normalized(), 1.0 / (ss * K.fx));
          }
        c = c * (v.gain / (ss * ss));
        for (int k = 0; k < 3; ++k)
          img.pixels[(static_cast<size_t>(y) * K.width + x) * 3 + k] =
              static_cast<float>(std::clamp(c[k] + noise(rng), 0.0, 1.0));
      }
    }
  }, 1);
  return img;
}

std::vector<std::string> preset_names() { return {"facade-15", "facade-wide-8", "object-24", "object-10"}; }

Preset make_preset(const std::string& name, const std::vector<Image>& photos) {
  VG_CHECK(photos.size() >= 4, "synthetic scene: need at least 4 texture photos, got ", photos.size());
  Preset p;
  const bool facade = name.rfind("facade", 0) == 0, object = name.rfind("object", 0) == 0;
  int n = 0;
  double arc_deg = 0;
  if (name == "facade-15") n = 15, arc_deg = 50;
  else if (name == "facade-wide-8") n = 8, arc_deg = 110;
  else if (name == "object-24") n = 24;
  else if (name == "object-10") n = 10;
  VG_CHECK(n > 0, "unknown synthetic scene '", name, "' (facade-15, facade-wide-8, object-24 or object-10)");
  const int n_tex = static_cast<int>(std::min<size_t>(photos.size(), 16));
  p.scene = facade ? facade_scene(n_tex) : object_scene(n_tex);
  for (int i = 0; i < n_tex; ++i) p.scene.textures.push_back(make_texture(photos[i]));
  // Strecha-like camera for the facades (fixed lens, principal point ~8 px off centre); a wider phone-like lens
  // with barrel distortion around the objects.
  p.settings.K = facade ? Intrinsics{1380, 1380, 768 + 7.3, 512 - 8.6, 1536, 1024}
                        : Intrinsics{1150, 1150, 768 - 6.1, 512 + 4.4, 1536, 1024};
  if (object) p.settings.dist.k1 = -0.045;
  std::mt19937 rng(facade ? 11 : 29);
  std::uniform_real_distribution<double> u(-1, 1);
  const double deg = M_PI / 180;
  for (int i = 0; i < n; ++i) {
    View v;
    Vector3d centre, target;
    if (facade) {
      const double th = (-0.5 * arc_deg + arc_deg * i / (n - 1) + 0.8 * u(rng)) * deg, rad = 16 + 1.5 * u(rng);
      centre = {rad * std::sin(th), -rad * std::cos(th), 1.7 + 0.3 * u(rng)};
      target = Vector3d(0, 0, 3.5) + 0.6 * Vector3d(u(rng), 0, u(rng));
    } else {
      const bool high = n >= 20 && i % 2 == 1;
      const double th = (360.0 * i / n + 3 * u(rng)) * deg, rad = 7.5 + 0.5 * u(rng);
      centre = {rad * std::cos(th), rad * std::sin(th), (high ? 4.2 : 2.8) + 0.2 * u(rng)};
      target = Vector3d(0, 0, 1.0) + 0.3 * Vector3d(u(rng), u(rng), u(rng));
    }
    v.cam_from_world = look_at(centre, target, 1.5 * deg * u(rng));
    v.gain = 1 + 0.08 * u(rng);
    p.views.push_back(v);
  }
  return p;
}

void write_scene(const std::filesystem::path& dir, const Preset& p) {
  nlohmann::json frames = nlohmann::json::array();
  ProgressBar bar("render", static_cast<long long>(p.views.size()));
  for (size_t i = 0; i < p.views.size(); ++i) {
    const Image img = render(p.scene, p.views[i], p.settings, p.settings.seed * 7919u + static_cast<unsigned>(i));
    std::vector<uint8_t> rgb(img.pixels.size());
    for (size_t k = 0; k < rgb.size(); ++k) rgb[k] = static_cast<uint8_t>(std::lround(img.pixels[k] * 255));
    char name[32];
    std::snprintf(name, sizeof name, "images/%04zu.jpg", i);
    write_jpeg(dir / name, rgb.data(), img.width, img.height, 92, true);
    // transforms.json: camera-to-world with OpenGL axes (y up, z backward) = OpenCV's with y and z negated.
    Eigen::Matrix4d c2w = p.views[i].cam_from_world.inverse();
    c2w.col(1) *= -1;
    c2w.col(2) *= -1;
    nlohmann::json rows = nlohmann::json::array();
    for (int r = 0; r < 4; ++r) rows.push_back({c2w(r, 0), c2w(r, 1), c2w(r, 2), c2w(r, 3)});
    frames.push_back({{"file_path", name}, {"transform_matrix", rows}});
    bar.update(static_cast<long long>(i) + 1);
  }
  bar.finish();
  const Intrinsics& K = p.settings.K;
  nlohmann::json j = {{"fl_x", K.fx}, {"fl_y", K.fy}, {"cx", K.cx}, {"cy", K.cy}, {"w", K.width}, {"h", K.height}};
  if (p.settings.dist.any())
    j.update({{"k1", p.settings.dist.k1}, {"k2", p.settings.dist.k2}, {"p1", 0.0}, {"p2", 0.0}});
  j["frames"] = frames;
  write_file_atomic(dir / "transforms.json", j.dump(1));
}

}  // namespace vg::synth
