#include "splat/traj_render.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/progress.h"
#include "geometry/trajectory.h"
#include "splat/trainer.h"

namespace vg {

namespace {

// Camera-to-world of a rasterizer camera (viewmat is world-to-camera, row-major).
traj::Pose camera_to_world(const Camera& c) {
  Eigen::Matrix3d R;
  Eigen::Vector3d t;
  for (int r = 0; r < 3; ++r) {
    for (int k = 0; k < 3; ++k) R(r, k) = c.viewmat[4 * r + k];
    t[r] = c.viewmat[4 * r + 3];
  }
  traj::Pose p;
  p << R.transpose(), -R.transpose() * t;
  return p;
}

// A camera with the intrinsics and size of `k`, placed at camera-to-world `p`.
Camera camera_at(const traj::Pose& p, const Camera& k) {
  Camera c = k;
  const Eigen::Matrix3d Rt = p.leftCols<3>().transpose();
  const Eigen::Vector3d t = -Rt * p.col(3);
  c.viewmat = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  for (int r = 0; r < 3; ++r) {
    for (int j = 0; j < 3; ++j) c.viewmat[4 * r + j] = static_cast<float>(Rt(r, j));
    c.viewmat[4 * r + 3] = static_cast<float>(t[r]);
  }
  return c;
}

uint8_t to_u8(float v) {  // (x * 255).astype(np.uint8) on values in [0,1]
  return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, v * 255.0f)));
}

}  // namespace

TrajPath parse_traj_path(const std::string& name) {
  if (name == "interp") return TrajPath::kInterp;
  if (name == "ellipse") return TrajPath::kEllipse;
  if (name == "spiral") return TrajPath::kSpiral;
  VG_FAIL("unknown trajectory '", name, "' (expected interp, ellipse or spiral)");
}

std::vector<const View*> all_views(const Dataset& d) {
  std::vector<const View*> v;
  for (const View& x : d.train) v.push_back(&x);
  for (const View& x : d.test) v.push_back(&x);
  std::stable_sort(v.begin(), v.end(), [](const View* a, const View* b) { return a->name < b->name; });
  return v;
}

std::vector<Camera> trajectory_cameras(const Dataset& d, TrajPath path, float scene_scale) {
  const std::vector<const View*> views = all_views(d);
  VG_CHECK(!views.empty(), "cannot make a camera trajectory: the dataset has no cameras");
  const size_t skip = views.size() > 10 ? 5 : 0;  // simple_trainer: camtoworlds[5:-5]
  std::vector<traj::Pose> poses;
  for (size_t i = skip; i + skip < views.size(); ++i) poses.push_back(camera_to_world(views[i]->camera));

  std::vector<traj::Pose> out;
  if (path == TrajPath::kInterp) {
    out = traj::interpolated_path(poses, 1);
  } else if (path == TrajPath::kEllipse) {
    double height = 0;  // mean camera z
    for (const traj::Pose& p : poses) height += p(2, 3);
    out = traj::ellipse_path_z(poses, 120, 0, 0, height / static_cast<double>(poses.size()));
  } else {  // gsplat's default bounds (no poses_bounds.npy) scaled by the scene scale
    out = traj::spiral_path(poses, 0.01 * scene_scale, 1.0 * scene_scale);
  }
  std::vector<Camera> cams;
  for (const traj::Pose& p : out) cams.push_back(camera_at(p, views.front()->camera));
  return cams;
}

RgbdRender render_rgbd(const Gaussians& g, const Camera& cam, int sh_degree, const TrainConfig& cfg) {
  const Render r = render_view(g, cam, sh_degree, cfg);
  RgbdRender out;
  out.rgb = r.raster.colors.to(Device::cpu());
  for (int64_t i = 0; i < out.rgb.numel(); ++i)
    out.rgb.data<float>()[i] = std::min(1.0f, std::max(0.0f, out.rgb.data<float>()[i]));
  out.alpha = r.raster.alphas.to(Device::cpu());
  // Expected depth: composite the camera-space depths as colours on a black background.
  const std::vector<float> z = r.pre.depths.to_vector<float>();
  std::vector<float> z3(z.size() * 3);
  for (size_t i = 0; i < z.size(); ++i) z3[3 * i] = z3[3 * i + 1] = z3[3 * i + 2] = z[i];
  const int64_t n = static_cast<int64_t>(z.size());
  const Tensor zc = Tensor::from_vector(z3, {n, 3}, g.device());
  const RasterOut d = rasterize_forward(r.pre.means2d, r.pre.conics, zc, r.pre.opacities, {0, 0, 0}, r.isect,
                                        cam.width, cam.height);
  const Tensor acc = d.colors.to(Device::cpu());
  out.depth = Tensor::empty({cam.height, cam.width});
  for (int64_t i = 0; i < out.depth.numel(); ++i)
    out.depth.data<float>()[i] = acc.data<float>()[3 * i] / std::max(out.alpha.data<float>()[i], 1e-10f);
  return out;
}

RgbFrame rgb_depth_canvas(const RgbdRender& r) {
  const int H = static_cast<int>(r.rgb.size(0)), W = static_cast<int>(r.rgb.size(1));
  const float* rgb = r.rgb.data<float>();
  const float* z = r.depth.data<float>();
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < int64_t(H) * W; ++i) lo = std::min(lo, z[i]), hi = std::max(hi, z[i]);
  const float range = hi > lo ? hi - lo : 1.0f;  // a flat depth map shows as black
  RgbFrame f;
  f.width = 2 * W;
  f.height = H;
  f.pixels.resize(static_cast<size_t>(f.width) * H * 3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const size_t src = static_cast<size_t>(y) * W + x;
      uint8_t* left = &f.pixels[(static_cast<size_t>(y) * f.width + x) * 3];
      uint8_t* right = left + static_cast<size_t>(W) * 3;
      const uint8_t zd = to_u8((z[src] - lo) / range);
      for (int c = 0; c < 3; ++c) left[c] = to_u8(rgb[3 * src + c]), right[c] = zd;
    }
  return f;
}

void write_trajectory_video(const std::filesystem::path& path, const Gaussians& g, const std::vector<Camera>& cams,
                            int sh_degree, const TrainConfig& cfg) {
  VG_CHECK(!cams.empty(), "cannot write ", path.string(), ": the trajectory has no cameras");
  VideoWriter video(path, 2 * cams.front().width, cams.front().height, 30.0);
  ProgressBar bar("trajectory", static_cast<long long>(cams.size()));
  for (size_t i = 0; i < cams.size(); ++i) {
    video.write(rgb_depth_canvas(render_rgbd(g, cams[i], sh_degree, cfg)));
    bar.update(static_cast<long long>(i + 1));
  }
  bar.finish();
  video.close();
  log_info("trajectory video (" + std::to_string(cams.size()) + " frames, " + video.encoder_name() + ") saved to " +
           path.string());
}

}  // namespace vg
