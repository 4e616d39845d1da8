#include "pipeline/render_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <fstream>

#include <Eigen/Geometry>

#include "core/device.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "io/image.h"
#include "io/ply.h"
#include "io/video.h"
#include "splat/checkpoint.h"
#include "splat/traj_render.h"

namespace vg {

// x' = s R x + t applied to every Gaussian (SH of degree >= 1 kept, as write_ply_3dgs writes them).
void apply_similarity(Gaussians& g, const Eigen::Matrix4d& T) {
  const Eigen::Matrix3d A = T.topLeftCorner<3, 3>();
  const double s = std::cbrt(A.determinant());
  VG_CHECK(std::isfinite(s) && s > 0, "the dataset's world transform is not a similarity");
  const Eigen::Matrix3d R = A / s;
  const Eigen::Vector3d t = T.topRightCorner<3, 1>();
  const Eigen::Quaterniond qr(R);
  float* means = g.means.data<float>();
  float* scales = g.scales.data<float>();
  float* quats = g.quats.data<float>();
  for (int64_t i = 0; i < g.size(); ++i) {
    const Eigen::Vector3d x = s * R * Eigen::Vector3d(means[3 * i], means[3 * i + 1], means[3 * i + 2]) + t;
    for (int d = 0; d < 3; ++d) means[3 * i + d] = static_cast<float>(x[d]);
    for (int d = 0; d < 3; ++d) scales[3 * i + d] = static_cast<float>(scales[3 * i + d] + std::log(s));
    const Eigen::Quaterniond q = qr * Eigen::Quaterniond(quats[4 * i], quats[4 * i + 1], quats[4 * i + 2], quats[4 * i + 3]);
    quats[4 * i] = static_cast<float>(q.w());
    quats[4 * i + 1] = static_cast<float>(q.x());
    quats[4 * i + 2] = static_cast<float>(q.y());
    quats[4 * i + 3] = static_cast<float>(q.z());
  }
}

namespace {

Image gray_image(const Tensor& t, bool normalise) {
  Image img;
  img.height = static_cast<int>(t.size(0));
  img.width = static_cast<int>(t.size(1));
  img.channels = 1;
  img.pixels = t.to_vector<float>();
  if (normalise && !img.pixels.empty()) {  // min-max over the image, as the trajectory video's depth
    const auto [lo, hi] = std::minmax_element(img.pixels.begin(), img.pixels.end());
    const float a = *lo, range = *hi > *lo ? *hi - *lo : 1.0f;
    for (float& v : img.pixels) v = (v - a) / range;
  }
  return img;
}

void write_pngs(const fs::path& out, const std::string& stem, const RgbdRender& r) {
  Image rgb;
  rgb.height = static_cast<int>(r.rgb.size(0));
  rgb.width = static_cast<int>(r.rgb.size(1));
  rgb.channels = 3;
  rgb.pixels = r.rgb.to_vector<float>();
  write_png(out / "rgb" / (stem + ".png"), rgb);
  write_png(out / "depth" / (stem + ".png"), gray_image(r.depth, true));
  write_png(out / "alpha" / (stem + ".png"), gray_image(r.alpha, false));
}

// The cameras to render and a file stem for each.
void pick_cameras(const RenderOptions& opt, const Dataset& data, float scene_scale, std::vector<Camera>& cams,
                  std::vector<std::string>& stems) {
  if (!opt.traj.empty()) {
    cams = trajectory_cameras(data, parse_traj_path(opt.traj), scene_scale);
    for (size_t i = 0; i < cams.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "traj_%04zu", i);
      stems.push_back(buf);
    }
    return;
  }
  std::vector<const View*> views;
  if (opt.split == "all") views = all_views(data);
  else
    for (const View& v : opt.split == "test" ? data.test : data.train) views.push_back(&v);
  VG_CHECK(!views.empty(), "the dataset in ", opt.data_dir.string(), " has no ", opt.split, " cameras");
  for (const View* v : views) {
    cams.push_back(v->camera);
    stems.push_back(fs::path(v->name).stem().string());
  }
}

}  // namespace

bool is_ply_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  char head[4] = {};
  return f.read(head, 4) && std::string(head, 4) == "ply\n";
}

Gaussians load_model_normalized(const fs::path& model, const Eigen::Matrix4d& world_to_normalized) {
  std::error_code ec;
  VG_CHECK(fs::is_regular_file(model, ec), "cannot read ", model.string(), ": no such file");
  if (!is_ply_file(model)) return load_checkpoint(model).gaussians;
  Gaussians g = read_ply_3dgs(model);
  apply_similarity(g, world_to_normalized);
  return g;
}

RenderSummary render_model(const RenderOptions& opt) {
  if (!opt.traj.empty()) parse_traj_path(opt.traj);  // bad options fail before any loading
  VG_CHECK(opt.split == "test" || opt.split == "train" || opt.split == "all", "--split must be test, train or all, got '",
           opt.split, "'");
  std::error_code ec;
  VG_CHECK(fs::is_regular_file(opt.model, ec), "cannot read ", opt.model.string(), ": no such file");
  // The model first (a PLY without the 3DGS properties fails before the dataset loads), then the options
  // it was trained with: the checkpoint's, else gsplat's defaults.
  const bool ply = is_ply_file(opt.model);
  Gaussians g;
  TrainConfig cfg;
  if (ply) {
    g = read_ply_3dgs(opt.model);
  } else {
    Checkpoint ck = load_checkpoint(opt.model);
    g = std::move(ck.gaussians);
    if (!ck.config_json.empty()) cfg = TrainConfig::from_json(ck.config_json);
  }
  cfg.device = opt.device;
  DatasetOptions dopt;
  dopt.dir = opt.data_dir;
  dopt.data_factor = opt.data_factor.value_or(cfg.data_factor);
  dopt.test_every = cfg.test_every;
  dopt.normalize = cfg.normalize_world_space;
  dopt.background = cfg.background;
  const Dataset data = load_dataset(dopt);
  if (opt.video) VG_CHECK(video_supported(), video_unsupported_message());
  if (ply) apply_similarity(g, data.transform);  // world -> the normalised frame the cameras live in

  const Device device = resolve_device(opt.device);
  set_current_device(device);
  g = g.to(device);
  const int sh_degree = g.max_sh_degree();
  std::vector<Camera> cams;
  std::vector<std::string> stems;
  pick_cameras(opt, data, data.scene_scale * 1.1f * cfg.global_scale, cams, stems);

  RenderSummary sum;
  sum.num_gaussians = g.size();
  std::unique_ptr<VideoWriter> video;
  if (opt.video) {
    sum.video = opt.out_dir / ((opt.traj.empty() ? opt.split : "traj_" + opt.traj) + ".mp4");
    video = std::make_unique<VideoWriter>(sum.video, 2 * cams.front().width, cams.front().height, 30.0);
  }
  ProgressBar bar("render", static_cast<long long>(cams.size()));
  for (size_t i = 0; i < cams.size(); ++i) {
    const RgbdRender r = render_rgbd(g, cams[i], sh_degree, cfg);
    write_pngs(opt.out_dir, stems[i], r);
    if (video) {
      VG_CHECK(cams[i].width == cams.front().width && cams[i].height == cams.front().height,
               "--video needs cameras of one size; ", stems[i], " is ", cams[i].width, "x", cams[i].height);
      video->write(rgb_depth_canvas(r));
    }
    bar.update(static_cast<long long>(i + 1));
  }
  bar.finish();
  if (video) video->close();
  sum.images = static_cast<int>(cams.size());
  return sum;
}

}  // namespace vg
