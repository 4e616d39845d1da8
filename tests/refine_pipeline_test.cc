// run_refine (`vgsplat refine`) on real photos: six fox images from ground-truth cameras perturbed by 2 deg and
// 5 % of the camera spread come back to the truth; the scene is never written; bad initial models are one-line
// errors.
#include "pipeline/refine_pipeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include <Eigen/Geometry>

#include "core/error.h"
#include "geometry/similarity.h"
#include "io/image.h"
#include "io/transforms.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"

using namespace vg;
using vg::test::data_dir;
namespace fs = std::filesystem;

namespace {

using vg::test::error_of;
using vg::test::TempDir;

// A scene of the first `n` fox photos (symlinks) and the truth as a COLMAP model (one OPENCV camera).
struct FoxScene {
  fs::path dir;
  ColmapModel truth;
};

FoxScene fox_scene(const fs::path& root, int n) {
  FoxScene s;
  s.dir = root / "fox";
  fs::create_directories(s.dir / "images");
  const std::vector<TransformsFrame> frames = read_transforms(data_dir() / "fox" / "transforms.json");
  std::vector<TransformsFrame> sorted = frames;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.name < b.name; });
  const TransformsFrame& f0 = sorted.front();
  s.truth.cameras[1] = ColmapCamera{1, "OPENCV", f0.K.width, f0.K.height,
                                    {f0.K.fx, f0.K.fy, f0.K.cx, f0.K.cy, f0.dist.k1, f0.dist.k2, f0.dist.p1, f0.dist.p2}};
  for (int i = 0; i < n; ++i) {
    const TransformsFrame& f = sorted[i * 2];  // every other frame: wider baselines
    const std::string name = fs::path(f.name).filename().string();
    fs::create_symlink(f.image_path, s.dir / "images" / name);
    const Eigen::Matrix4d T = f.camtoworld.inverse();
    ColmapImage im;
    im.id = static_cast<uint32_t>(i + 1);
    im.camera_id = 1;
    im.name = name;
    const Eigen::Quaterniond q(Eigen::Matrix3d(T.topLeftCorner<3, 3>()));
    im.qvec = {q.w(), q.x(), q.y(), q.z()};
    im.tvec = {T(0, 3), T(1, 3), T(2, 3)};
    s.truth.images[im.id] = im;
  }
  return s;
}

ColmapModel perturbed(const ColmapModel& truth, double rot_deg, double pos_frac, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::vector<Eigen::Vector3d> centers;
  for (const auto& [id, im] : truth.images) centers.push_back(-im.world_to_camera().topLeftCorner<3, 3>().transpose() *
                                                             im.world_to_camera().topRightCorner<3, 1>());
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (const auto& c : centers) mean += c / static_cast<double>(centers.size());
  double spread = 0;
  for (const auto& c : centers) spread = std::max(spread, (c - mean).norm());
  ColmapModel m = truth;
  for (auto& [id, im] : m.images) {
    const Eigen::Matrix4d T = im.world_to_camera();
    const Eigen::Matrix3d R = T.topLeftCorner<3, 3>();
    const Eigen::Vector3d C = -R.transpose() * T.topRightCorner<3, 1>();
    const Eigen::Matrix3d Rp =
        Eigen::AngleAxisd(rot_deg * M_PI / 180, Eigen::Vector3d(g(rng), g(rng), g(rng)).normalized()) * R;
    const Eigen::Vector3d Cp = C + pos_frac * spread * Eigen::Vector3d(g(rng), g(rng), g(rng)).normalized();
    const Eigen::Quaterniond q(Rp);
    const Eigen::Vector3d t = -Rp * Cp;
    im.qvec = {q.w(), q.x(), q.y(), q.z()};
    im.tvec = {t.x(), t.y(), t.z()};
  }
  return m;
}

PoseErrors errors(const ColmapModel& m, const ColmapModel& truth) {
  std::vector<Eigen::Matrix4d> a, b;
  for (const auto& [id, im] : truth.images)
    for (const auto& [id2, im2] : m.images)
      if (im2.name == im.name) a.push_back(im2.world_to_camera()), b.push_back(im.world_to_camera());
  return compare_poses(a, b);
}

// Every file under dir with its size and modification time.
std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> listing(const fs::path& dir) {
  std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().string()] = {e.file_size(), e.last_write_time()};
  return out;
}

RefineRunOptions quick_options() {
  RefineRunOptions o;
  o.device = "cpu";
  o.progress = false;
  o.sift.max_num_features = 4096;
  o.single_camera = true;
  return o;
}

TEST(RefinePipeline, RefinesPerturbedFoxCameras) {
  if (!fs::exists(data_dir() / "fox" / "transforms.json")) GTEST_SKIP() << "no fox data in " << data_dir();
  TempDir tmp("refine_fox");
  const FoxScene s = fox_scene(tmp.path, 8);
  const ColmapModel init = perturbed(s.truth, 2.0, 0.05, 3);
  const auto before_files = listing(s.dir);
  const RefineRunStats st = run_refine(s.dir, init, tmp.path / "out", quick_options());
  const PoseErrors before = errors(init, s.truth);
  const ColmapModel out = read_colmap_model(tmp.path / "out" / "sparse" / "0");
  const PoseErrors after = errors(out, s.truth);
  std::printf("[refine fox] %s; rotation %.3f -> %.3f deg (max), centre %.4f -> %.4f (max); tolerance %.1f px, "
              "%d/%d pairs, %d points, %.3f px, %.1f s\n", st.message.c_str(), before.max_rotation_deg,
              after.max_rotation_deg, before.max_center, after.max_center, st.epipolar_tolerance_px,
              st.verified_pairs, st.candidate_pairs, st.report.tracks_kept, st.report.final_mean_reproj_error,
              st.total_seconds);
  EXPECT_EQ(st.refined, 8);
  EXPECT_FALSE(st.partial);
  EXPECT_LT(after.max_rotation_deg, 0.5);  // 8 photos of a short arc: the truth itself is good to ~0.2 deg
  EXPECT_LT(after.max_rotation_deg, 0.2 * before.max_rotation_deg);
  EXPECT_LT(st.report.final_mean_reproj_error, 1.5);
  EXPECT_TRUE(fs::exists(tmp.path / "out" / "points.ply"));
  EXPECT_EQ(listing(s.dir), before_files);  // the scene is only read
  const nlohmann::json j = refine_stats_json(st);
  for (const char* key : {"iterations", "per_image", "moved", "tracks_kept", "tracks_dropped",
                          "final_mean_reprojection_error", "seconds_per_step"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_FALSE(j["iterations"].empty());
}

TEST(RefinePipeline, BadInitialModelsAreOneLineErrors) {
  if (!fs::exists(data_dir() / "fox" / "transforms.json")) GTEST_SKIP() << "no fox data in " << data_dir();
  TempDir tmp("refine_bad");
  const FoxScene s = fox_scene(tmp.path, 3);
  const fs::path out = tmp.path / "out";

  ColmapModel missing = s.truth;
  missing.images[9] = missing.images.at(1);
  missing.images[9].id = 9;
  missing.images[9].name = "nope.jpg";
  std::string msg = error_of([&] { run_refine(s.dir, missing, out, quick_options()); });
  EXPECT_NE(msg.find("names image 'nope.jpg'"), std::string::npos) << msg;

  ColmapModel nan_pose = s.truth;
  nan_pose.images.at(2).tvec[1] = NAN;
  msg = error_of([&] { run_refine(s.dir, nan_pose, out, quick_options()); });
  EXPECT_NE(msg.find("is not finite"), std::string::npos) << msg;

  ColmapModel bad_cam = s.truth;
  bad_cam.cameras.at(1).params[0] = 0;
  msg = error_of([&] { run_refine(s.dir, bad_cam, out, quick_options()); });
  EXPECT_NE(msg.find("non-positive focal length"), std::string::npos) << msg;

  msg = error_of([&] { run_refine(s.dir, s.truth, s.dir / "images" / "x", quick_options()); });
  EXPECT_NE(msg.find("inside the input scene"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(out));
}

TEST(RefinePipeline, SharedCameraNeedsOneImageSize) {
  TempDir tmp("refine_sizes");
  fs::create_directories(tmp.path / "scene" / "images");
  std::mt19937 rng(1);
  ColmapModel m;
  for (int i = 0; i < 2; ++i) {
    Image img;
    img.width = 64 + 16 * i, img.height = 48, img.channels = 3;
    img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
    for (float& v : img.pixels) v = static_cast<float>(rng() % 256) / 255.0f;
    const std::string name = "im" + std::to_string(i) + ".png";
    write_png(tmp.path / "scene" / "images" / name, img);
    m.cameras[i + 1] = ColmapCamera{static_cast<uint32_t>(i + 1), "SIMPLE_PINHOLE", img.width, img.height,
                                    {60.0, img.width / 2.0, img.height / 2.0}};
    ColmapImage im;
    im.id = static_cast<uint32_t>(i + 1);
    im.camera_id = im.id;
    im.name = name;
    im.tvec = {static_cast<double>(i), 0, 0};
    m.images[im.id] = im;
  }
  const std::string msg = error_of([&] { run_refine(tmp.path / "scene", m, tmp.path / "out", quick_options()); });
  EXPECT_NE(msg.find("--single-camera needs images of one size"), std::string::npos) << msg;
}

}  // namespace
