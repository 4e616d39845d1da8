// Synthetic bundle-adjustment scenes (see bundle_adjustment_synthetic.h).
#include "sfm/bundle_adjustment_synthetic.h"

#include <Eigen/Geometry>
#include <cmath>
#include <random>

#include "core/error.h"
#include "sfm/bundle_adjustment_math.h"

namespace vg {

std::array<double, 4> rotation_to_quaternion(const Eigen::Matrix3d& R) {
  Eigen::Quaterniond q(R);
  q.normalize();
  return {q.w(), q.x(), q.y(), q.z()};
}

namespace {

std::vector<double> default_params(int model, double f, double cx, double cy, std::mt19937& rng) {
  std::uniform_real_distribution<double> k(-0.05, 0.05), p(-0.002, 0.002);
  switch (model) {
    case 0: return {f, cx, cy};
    case 1: return {f, f * 1.01, cx, cy};
    case 2: return {f, cx, cy, k(rng)};
    case 3: return {f, cx, cy, k(rng), k(rng)};
    case 4: return {f, f * 1.01, cx, cy, k(rng), k(rng), p(rng), p(rng)};
    default: VG_FAIL("make_ba_scene: unsupported camera model id ", model);
  }
}

}  // namespace

ColmapModel make_ba_scene(const BaSceneOptions& opt) {
  VG_CHECK(opt.num_images >= 2 && opt.num_points >= 1, "make_ba_scene: need >= 2 images and >= 1 point");
  const int model = colmap_model_id(opt.camera_model);
  VG_CHECK(model >= 0 && model <= 4, "make_ba_scene: unsupported camera model ", opt.camera_model);
  std::mt19937 rng(opt.seed);
  std::uniform_real_distribution<double> u(-1, 1), u01(0, 1);
  std::normal_distribution<double> g(0, 1);
  ColmapModel m;
  const int W = 640, H = 480;
  for (int i = 0; i < opt.num_images; ++i) {
    if (i == 0 || !opt.shared_camera) {
      ColmapCamera cam;
      cam.id = static_cast<uint32_t>(i + 1);
      cam.model = opt.camera_model;
      cam.width = W, cam.height = H;
      cam.params = default_params(model, 500 + 20 * u(rng), W / 2.0 + 5 * u(rng), H / 2.0 + 5 * u(rng), rng);
      m.cameras[cam.id] = cam;
    }
    // Camera centre on a ring of radius 4 (height +-0.5) looking at the origin.
    const double a = 2 * M_PI * i / opt.num_images;
    Eigen::Vector3d C(4 * std::cos(a), 4 * std::sin(a), 0.5 * u(rng));
    Eigen::Vector3d z = (-C + 0.2 * Eigen::Vector3d(u(rng), u(rng), u(rng))).normalized();
    Eigen::Vector3d x = z.cross(Eigen::Vector3d(0, 0, 1)).normalized(), y = z.cross(x);
    Eigen::Matrix3d R;
    R.row(0) = x, R.row(1) = y, R.row(2) = z;
    Eigen::Vector3d t = -R * C;
    ColmapImage im;
    im.id = static_cast<uint32_t>(i + 1);
    im.camera_id = opt.shared_camera ? 1 : im.id;
    im.name = "img" + std::to_string(i) + ".png";
    im.qvec = rotation_to_quaternion(R);
    im.tvec = {t[0], t[1], t[2]};
    m.images[im.id] = im;
  }
  for (int j = 0; j < opt.num_points; ++j) {
    ColmapPoint3D pt;
    pt.id = static_cast<uint64_t>(j + 1);
    pt.xyz = {u(rng), u(rng), u(rng)};
    const int n0 = static_cast<int>(u01(rng) * opt.num_images);  // two views always kept: n0, n0 + 1
    for (auto& [iid, im] : m.images) {
      const int v = static_cast<int>(iid) - 1;
      if (v != n0 % opt.num_images && v != (n0 + 1) % opt.num_images && u01(rng) >= opt.visibility) continue;
      const ColmapCamera& cam = m.cameras.at(im.camera_id);
      double pc[3], px[2];
      ba::quat_rotate(im.qvec.data(), pt.xyz.data(), pc);
      for (int k = 0; k < 3; ++k) pc[k] += im.tvec[k];
      if (!ba::project(model, cam.params.data(), pc, px)) continue;
      px[0] += opt.noise_px * g(rng), px[1] += opt.noise_px * g(rng);
      if (u01(rng) < opt.outlier_fraction) {
        const double r = 20 + 40 * u01(rng), phi = 2 * M_PI * u01(rng);
        px[0] += r * std::cos(phi), px[1] += r * std::sin(phi);
      }
      pt.track.push_back({iid, static_cast<uint32_t>(im.point3D_ids.size())});
      im.xys.push_back(px[0]), im.xys.push_back(px[1]);
      im.point3D_ids.push_back(static_cast<int64_t>(pt.id));
    }
    m.points[pt.id] = pt;
  }
  return m;
}

ColmapModel perturb_ba_scene(const ColmapModel& truth, double rot_deg, double trans, double point_sigma,
                             double focal_rel, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::uniform_int_distribution<int> sign(0, 1);
  ColmapModel m = truth;
  for (auto& [iid, im] : m.images) {
    Eigen::Vector3d w(g(rng), g(rng), g(rng));
    w *= rot_deg * M_PI / 180 / std::sqrt(3.0);
    double dw[3] = {w[0], w[1], w[2]};
    ba::quat_left_update(dw, im.qvec.data());
    for (int k = 0; k < 3; ++k) im.tvec[k] += trans * g(rng) / std::sqrt(3.0);
  }
  for (auto& [pid, pt] : m.points)
    for (int k = 0; k < 3; ++k) pt.xyz[k] += point_sigma * g(rng) / std::sqrt(3.0);
  for (auto& [cid, cam] : m.cameras) {
    const int model = colmap_model_id(cam.model);
    const int nf = (model == 1 || model == 4) ? 2 : 1;
    const double s = 1 + (sign(rng) ? focal_rel : -focal_rel);
    for (int k = 0; k < nf; ++k) cam.params[k] *= s;
  }
  return m;
}

}  // namespace vg
