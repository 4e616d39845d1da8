#include "pipeline/demo_scene.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <Eigen/Core>
#include <Eigen/Geometry>
#include <nlohmann/json.hpp>

#include "core/device.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "io/image.h"
#include "pipeline/demo_raytrace.h"

namespace vg::demo {

namespace {

const Eigen::Vector3d kLookAt(0, 0, 0.25);

// OpenCV camera (x right, y down, z forward) at azimuth/elevation on a sphere around kLookAt.
Camera orbit_camera(const SceneOptions& o, double az_deg, double el_deg) {
  double az = az_deg * M_PI / 180, el = el_deg * M_PI / 180;
  Eigen::Vector3d p = kLookAt + o.radius * Eigen::Vector3d(std::cos(el) * std::cos(az), std::cos(el) * std::sin(az),
                                                           std::sin(el));
  Eigen::Vector3d f = (kLookAt - p).normalized();
  Eigen::Vector3d r = f.cross(Eigen::Vector3d::UnitZ()).normalized();
  Eigen::Vector3d d = f.cross(r);  // y = z x x for a right-handed frame
  Eigen::Matrix3d R;                // world -> camera: rows are the camera axes
  R.row(0) = r;
  R.row(1) = d;
  R.row(2) = f;
  Eigen::Vector3d t = -R * p;
  Camera cam;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) cam.viewmat[4 * i + j] = static_cast<float>(R(i, j));
    cam.viewmat[4 * i + 3] = static_cast<float>(t[i]);
  }
  cam.width = o.width;
  cam.height = o.height;
  cam.fx = cam.fy = static_cast<float>(0.5 * o.width / std::tan(0.5 * o.fov_x_deg * M_PI / 180));
  cam.cx = 0.5f * o.width;
  cam.cy = 0.5f * o.height;
  return cam;
}

// camera-to-world in the OpenGL convention of transforms.json (camera y up, looking down -z).
nlohmann::json transform_matrix(const Camera& cam) {
  const auto& m = cam.viewmat;
  Eigen::Matrix3d R;
  R << m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10];
  Eigen::Vector3d t(m[3], m[7], m[11]);
  Eigen::Matrix3d c2w = R.transpose();
  c2w.col(1) *= -1;
  c2w.col(2) *= -1;
  Eigen::Vector3d p = -R.transpose() * t;
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) rows.push_back({c2w(i, 0), c2w(i, 1), c2w(i, 2), p[i]});
  rows.push_back({0.0, 0.0, 0.0, 1.0});
  return rows;
}

void write_split(const std::filesystem::path& dir, const SceneOptions& o, const std::vector<Camera>& cams,
                 const std::string& split) {
  nlohmann::json frames = nlohmann::json::array();
  for (size_t i = 0; i < cams.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%s_%03zu", split.c_str(), i);
    write_png(dir / "images" / (std::string(name) + ".png"), render_view(cams[i], o.supersample));
    frames.push_back({{"file_path", std::string("images/") + name}, {"transform_matrix", transform_matrix(cams[i])}});
  }
  const Camera& c = cams.front();
  nlohmann::json j = {{"camera_angle_x", o.fov_x_deg * M_PI / 180},
                      {"fl_x", c.fx}, {"fl_y", c.fy}, {"cx", c.cx}, {"cy", c.cy},
                      {"w", o.width}, {"h", o.height}, {"frames", frames}};
  write_file_atomic(dir / ("transforms_" + split + ".json"), j.dump(2));
}

}  // namespace

std::vector<Camera> train_cameras(const SceneOptions& o) {
  std::vector<Camera> cams;
  const double el[3] = {18, 30, 42};
  for (int i = 0; i < o.n_train; ++i) cams.push_back(orbit_camera(o, 360.0 * i / o.n_train, el[i % 3]));
  return cams;
}

std::vector<Camera> test_cameras(const SceneOptions& o) {
  std::vector<Camera> cams;
  for (int i = 0; i < o.n_test; ++i) cams.push_back(orbit_camera(o, 360.0 * (i + 0.5) / o.n_test, i % 2 ? 36 : 24));
  return cams;
}

void write_scene(const std::filesystem::path& dir, const SceneOptions& o) {
  VG_CHECK(o.width >= 16 && o.height >= 16, "demo scene: image size must be at least 16x16");
  VG_CHECK(o.n_train >= 1 && o.n_test >= 1, "demo scene: need at least one train and one test view");
  write_split(dir, o, train_cameras(o), "train");
  write_split(dir, o, test_cameras(o), "test");
}

TrainConfig train_config(const std::filesystem::path& data_dir, const std::filesystem::path& result_dir, int max_steps,
                         const std::string& device) {
  VG_CHECK(max_steps >= 100, "demo: --max-steps must be >= 100, got ", max_steps);
  TrainConfig c;
  c.data_dir = data_dir.string();
  c.result_dir = result_dir.string();
  c.data_factor = 1;
  c.device = device;
  c.init_type = "random";
  c.init_aabb = kSceneHalfExtent;
  c.init_num_pts = 3000;
  // gsplat's schedule scaled to max_steps (Config.adjust_steps), except that refinement stays at
  // least 10 steps apart and opacity resets at least 10 refinements apart, so short runs recover.
  c.steps_scaler = static_cast<float>(max_steps) / c.max_steps;
  c.adjust_steps(c.steps_scaler);
  c.max_steps = max_steps;
  c.strategy.refine_every = std::max(c.strategy.refine_every, 10);
  c.strategy.reset_every = std::max(c.strategy.reset_every, 10 * c.strategy.refine_every);
  // The CPU reference backend costs ~10 us per Gaussian and step: a higher densification threshold
  // keeps the Gaussian count (and the run time) about half of gsplat's default.
  if (resolve_device(device).is_cpu()) c.strategy.grow_grad2d = 0.0004f;
  c.eval_steps = {max_steps};
  c.save_steps = {max_steps};
  c.ply_steps = {max_steps};
  c.save_ply = true;
  return c;
}

void auto_settings(const std::string& device, SceneOptions& scene, int& max_steps) {
  bool cpu = resolve_device(device).is_cpu();
  if (scene.width <= 0) scene.width = scene.height = cpu ? 64 : 128;
  if (max_steps <= 0) max_steps = cpu ? 500 : 3000;
}

DemoResult run_demo(const std::filesystem::path& out_dir, const SceneOptions& scene, int max_steps,
                    const std::string& device) {
  DemoResult res;
  res.out_dir = out_dir;
  log_info("writing the synthetic scene to " + (out_dir / "data").string());
  write_scene(out_dir / "data", scene);
  Trainer trainer(train_config(out_dir / "data", out_dir, max_steps, device));
  res.initial = trainer.evaluate(0, false);
  auto last = trainer.run();
  if (trainer.interrupted()) throw Interrupted("demo interrupted; checkpoint " + trainer.interrupt_checkpoint());
  VG_CHECK(last.has_value(), "demo: training ran no evaluation");
  res.final = *last;
  return res;
}

}  // namespace vg::demo
