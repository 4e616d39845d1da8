// The trajectory video at the end of training and `vgsplat render` (PLY / checkpoint, dataset
// cameras / trajectory, PNGs / MP4) on the 48x48 demo scene, CPU. Video checks skip without FFmpeg.
#include <gtest/gtest.h>

#include <unistd.h>

#include <Eigen/Geometry>

#include "core/fs.h"
#include "io/image.h"
#include "io/ply.h"
#include "io/video.h"
#include "pipeline/demo_scene.h"
#include "pipeline/render_model.h"
#include "splat/traj_render.h"
#include "splat/trainer.h"
#include "temp_dir.h"
#include "test_util.h"
#include "video_test_util.h"

namespace vg {
namespace {

class RenderCmdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("vgsplat_render_cmd_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    demo::SceneOptions o;
    o.width = o.height = 48;
    o.n_train = 16;
    o.n_test = 4;  // 20 views: the trajectory uses views 5..14 (10 cameras -> 9 frames)
    demo::write_scene(root_ / "data", o);
    TrainConfig c = demo::train_config(root_ / "data", root_ / "run", 100, "cpu");
    c.max_steps = 30;
    c.eval_steps = c.save_steps = c.ply_steps = {30};
    c.init_num_pts = 1500;
    c.tb_every = 0;
    c.lpips_weights.clear();
    trainer_ = new Trainer(c);
    trainer_->set_verbose(false);
    trainer_->run();
  }
  static void TearDownTestSuite() {
    delete trainer_;
    fs::remove_all(root_);
  }

  static fs::path root_;
  static Trainer* trainer_;
};
fs::path RenderCmdTest::root_;
Trainer* RenderCmdTest::trainer_ = nullptr;

std::vector<RgbFrame> decode_all(const fs::path& p, int& width, int& height) {
  VideoReader r(p);
  width = r.info().width;
  height = r.info().height;
  std::vector<RgbFrame> out;
  DecodedFrame f;
  while (r.next(f)) out.push_back(r.to_rgb(f));
  EXPECT_TRUE(r.stopped_early().empty()) << r.stopped_early();
  return out;
}

TEST_F(RenderCmdTest, TrajectoryCamerasStartAtTheSixthView) {
  const Dataset& d = trainer_->dataset();
  const std::vector<Camera> cams = trajectory_cameras(d, TrajPath::kInterp, trainer_->scene_scale());
  ASSERT_EQ(cams.size(), 9u);
  const Camera& first = all_views(d)[5]->camera;
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(cams[0].viewmat[i], first.viewmat[i], 1e-5) << i;
  EXPECT_EQ(trajectory_cameras(d, TrajPath::kEllipse, 1).size(), 120u);
  EXPECT_EQ(trajectory_cameras(d, TrajPath::kSpiral, 1).size(), 120u);
}

TEST_F(RenderCmdTest, TrainingWritesTheTrajectoryVideo) {
  if (!video_supported()) GTEST_SKIP() << video_unsupported_message();
  const fs::path mp4 = root_ / "run" / "videos" / "traj_29.mp4";
  ASSERT_TRUE(fs::exists(mp4));
  int w = 0, h = 0;
  const std::vector<RgbFrame> frames = decode_all(mp4, w, h);
  EXPECT_EQ(frames.size(), 9u);
  EXPECT_EQ(w, 96);  // RGB | depth
  EXPECT_EQ(h, 48);
  // Its first frame is the render of the first trajectory camera, within H.264 tolerance.
  const Dataset& d = trainer_->dataset();
  const std::vector<Camera> cams = trajectory_cameras(d, TrajPath::kInterp, trainer_->scene_scale());
  const RgbFrame want = rgb_depth_canvas(render_rgbd(trainer_->gaussians(), cams[0], 3, trainer_->config()));
  const RgbFrame next = rgb_depth_canvas(render_rgbd(trainer_->gaussians(), cams[1], 3, trainer_->config()));
  const double mae = test::mean_abs_diff(frames[0], want);
  std::printf("trajectory frame 0 vs render: mean abs difference %.2f / 255 (%s)\n", mae, mp4.c_str());
  EXPECT_LT(mae, 5.0);  // H.264 (CRF 18, 4:2:0) on a 96x48 frame
  EXPECT_LT(mae, test::mean_abs_diff(frames[0], next));  // and it is that camera, not the next
}

TEST_F(RenderCmdTest, RenderCheckpointAtTestCameras) {
  RenderOptions o;
  o.model = root_ / "run" / "ckpts" / "ckpt_29.safetensors";
  o.data_dir = root_ / "data";
  o.data_factor = 1;
  o.out_dir = root_ / "render_ckpt";
  o.device = "cpu";
  o.video = video_supported();
  const RenderSummary s = render_model(o);
  EXPECT_EQ(s.images, 4);
  const Dataset& d = trainer_->dataset();
  for (const View& v : d.test) {
    const std::string stem = fs::path(v.name).stem().string();
    for (const char* kind : {"rgb", "depth", "alpha"}) EXPECT_TRUE(fs::exists(o.out_dir / kind / (stem + ".png")));
    const Image got = read_image(o.out_dir / "rgb" / (stem + ".png"));
    const RgbdRender want = render_rgbd(trainer_->gaussians(), v.camera, 3, trainer_->config());
    const std::vector<float> w = want.rgb.to_vector<float>();
    ASSERT_EQ(got.pixels.size(), w.size());
    double worst = 0;
    for (size_t i = 0; i < w.size(); ++i) worst = std::max(worst, double(std::abs(got.pixels[i] - w[i])));
    EXPECT_LE(worst, 0.5 / 255 + 1e-6) << stem;  // 8-bit rounding only
  }
  if (o.video) {
    int w = 0, h = 0;
    EXPECT_EQ(decode_all(o.out_dir / "test.mp4", w, h).size(), 4u);
  }
}

TEST_F(RenderCmdTest, RenderPlyAlongATrajectoryMatchesTheCheckpoint) {
  RenderOptions o;
  o.model = root_ / "run" / "ply" / "point_cloud_29.ply";
  o.data_dir = root_ / "data";
  o.data_factor = 1;
  o.traj = "interp";
  o.out_dir = root_ / "render_ply";
  o.device = "cpu";
  o.video = video_supported();
  EXPECT_EQ(render_model(o).images, 9);
  o.model = root_ / "run" / "ckpts" / "ckpt_29.safetensors";
  o.out_dir = root_ / "render_traj_ckpt";
  render_model(o);
  for (const char* f : {"rgb/traj_0000.png", "rgb/traj_0008.png", "depth/traj_0004.png", "alpha/traj_0004.png"}) {
    const Image a = read_image(root_ / "render_ply" / f), b = read_image(root_ / "render_traj_ckpt" / f);
    ASSERT_EQ(a.pixels.size(), b.pixels.size()) << f;
    double worst = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, double(std::abs(a.pixels[i] - b.pixels[i])));
    EXPECT_LE(worst, 2.0 / 255) << f;
  }
  if (o.video) {
    int w = 0, h = 0;
    EXPECT_EQ(decode_all(o.out_dir / "traj_interp.mp4", w, h).size(), 9u);
  }
}

TEST(RenderModel, PlyIsMappedIntoTheNormalisedFrame) {
  test::TempDir dir("render_ply_frame");
  std::mt19937 rng(3);
  Gaussians g;
  g.means = test::uniform({5, 3}, -1, 1, rng);
  g.scales = test::uniform({5, 3}, -3, -1, rng);
  g.quats = test::normal({5, 4}, 0, 1, rng);
  g.opacities = test::uniform({5}, -2, 2, rng);
  g.sh0 = test::uniform({5, 3}, -1, 1, rng);
  g.shN = test::uniform({5, 3, 3}, -0.1f, 0.1f, rng);
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();  // world -> normalised: s R x + t
  T.topLeftCorner<3, 3>() = 0.5 * Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, 3).normalized()).toRotationMatrix();
  T.topRightCorner<3, 1>() = Eigen::Vector3d(0.3, -0.2, 1.5);
  write_ply_3dgs(dir.path / "g.ply", g, T);  // written in the original world
  const Gaussians back = load_model_normalized(dir.path / "g.ply", T);
  EXPECT_LT(test::rel_error(back.means.to_vector<float>(), g.means.to_vector<float>()), 1e-6);
  EXPECT_LT(test::rel_error(back.scales.to_vector<float>(), g.scales.to_vector<float>()), 1e-6);
  const std::vector<float> q0 = g.quats.to_vector<float>(), q1 = back.quats.to_vector<float>();
  for (int i = 0; i < 5; ++i) {  // the same rotation, up to the sign of the quaternion
    const Eigen::Quaterniond a(q0[4 * i], q0[4 * i + 1], q0[4 * i + 2], q0[4 * i + 3]);
    const Eigen::Quaterniond b(q1[4 * i], q1[4 * i + 1], q1[4 * i + 2], q1[4 * i + 3]);
    EXPECT_NEAR(std::abs(a.normalized().dot(b.normalized())), 1.0, 1e-6);
  }
}

TEST(RenderModel, PlyWithoutGaussianPropertiesIsOneLine) {
  test::TempDir dir("render_bad_ply");
  write_points_ply(dir.path / "points.ply", {0, 0, 0, 1, 1, 1}, {});
  RenderOptions o;
  o.model = dir.path / "points.ply";
  o.data_dir = dir.path;  // never reached
  o.out_dir = dir.path / "out";
  const std::string err = test::error_of([&] { render_model(o); });
  EXPECT_NE(err.find("points.ply"), std::string::npos) << err;
  EXPECT_NE(err.find("missing property"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  o.model = dir.path / "nothing.ply";
  EXPECT_NE(test::error_of([&] { render_model(o); }).find("no such file"), std::string::npos);
}

}  // namespace
}  // namespace vg
