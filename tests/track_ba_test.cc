// tracks_to_model_and_ba (sfm/track_ba.h): the original's filtering (visibility, reprojection error, two
// observations per track, max point value), per-frame cameras or one shared camera, the bundle adjustment from
// perturbed cameras, and frames with too few inliers kept at their initial pose instead of failing everything.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <Eigen/Geometry>

#include "sfm/track_ba.h"
#include "tests/temp_dir.h"

namespace vg {
namespace {

struct Scene {
  int64_t S = 6, N = 400, W = 256, H = 256;
  std::vector<Eigen::Matrix3d> R;
  std::vector<Eigen::Vector3d> t;
  double f = 220;
  std::vector<Eigen::Vector3d> X;
  Tensor tracks, vis, ext, K;
  std::vector<float> xyz;
};

// Cameras on an arc looking at points around the origin; tracks are the exact projections (+ noise).
Scene make_scene(unsigned seed, double noise_px) {
  Scene sc;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::normal_distribution<double> g(0, 1);
  for (int64_t n = 0; n < sc.N; ++n) sc.X.emplace_back(u(rng), u(rng), u(rng));
  for (int64_t s = 0; s < sc.S; ++s) {
    const double a = -0.4 + 0.8 * static_cast<double>(s) / static_cast<double>(sc.S - 1);
    const Eigen::Matrix3d R = Eigen::AngleAxisd(a, Eigen::Vector3d::UnitY()).toRotationMatrix();
    sc.R.push_back(R);
    sc.t.push_back(Eigen::Vector3d(0, 0, 5));  // centre -R^T t, 5 units from the origin
  }
  sc.tracks = Tensor::empty({sc.S, sc.N, 2});
  sc.vis = Tensor::empty({sc.S, sc.N});
  for (int64_t s = 0; s < sc.S; ++s)
    for (int64_t n = 0; n < sc.N; ++n) {
      const Eigen::Vector3d p = sc.R[s] * sc.X[n] + sc.t[s];
      sc.tracks.data<float>()[(s * sc.N + n) * 2] = static_cast<float>(sc.f * p.x() / p.z() + 128 + noise_px * g(rng));
      sc.tracks.data<float>()[(s * sc.N + n) * 2 + 1] = static_cast<float>(sc.f * p.y() / p.z() + 128 + noise_px * g(rng));
      sc.vis.data<float>()[s * sc.N + n] = 0.9f;
    }
  for (const auto& x : sc.X)
    for (int i = 0; i < 3; ++i) sc.xyz.push_back(static_cast<float>(x[i]));
  return sc;
}

// Extrinsics / intrinsics tensors, frames s >= 1 rotated by `rot_deg` and the focal scaled by `fscale`.
void set_cameras(Scene& sc, double rot_deg, double fscale) {
  sc.ext = Tensor::empty({sc.S, 3, 4});
  sc.K = Tensor::zeros({sc.S, 3, 3});
  for (int64_t s = 0; s < sc.S; ++s) {
    Eigen::Matrix3d R = sc.R[s];
    if (s > 0) R = Eigen::AngleAxisd(rot_deg * M_PI / 180, Eigen::Vector3d(1, 1, 0).normalized()).toRotationMatrix() * R;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) sc.ext.data<float>()[s * 12 + i * 4 + j] = static_cast<float>(R(i, j));
      sc.ext.data<float>()[s * 12 + i * 4 + 3] = static_cast<float>(sc.t[s][i]);
    }
    float* k = sc.K.data<float>() + s * 9;
    k[0] = k[4] = static_cast<float>(sc.f * fscale);
    k[2] = k[5] = 128;
    k[8] = 1;
  }
}

TEST(TrackBa, RecoversCamerasFromPerturbedInitialisation) {
  Scene sc = make_scene(1, 0.3);
  set_cameras(sc, 0.3, 1.02);
  TrackBaOptions opt;
  const TrackBaResult r = tracks_to_model_and_ba(sc.tracks, sc.vis, sc.xyz, {}, sc.ext, sc.K, sc.W, sc.H, opt);
  EXPECT_FALSE(r.partial) << r.message;
  EXPECT_EQ(r.tracks_valid, sc.N);
  EXPECT_EQ(r.model.images.size(), static_cast<size_t>(sc.S));
  EXPECT_EQ(r.model.cameras.size(), static_cast<size_t>(sc.S));
  EXPECT_EQ(r.model.cameras.at(1).model, "SIMPLE_PINHOLE");
  EXPECT_GT(r.initial_mean_error, 0.6);
  EXPECT_LT(r.final_mean_error, 0.42) << r.message;  // down to the noise (0.3 px per axis: mean 0.38)
  EXPECT_EQ(r.model.images.at(3).name, "image_3");
}

TEST(TrackBa, FiltersInvisibleFarAndUnsupportedObservations) {
  Scene sc = make_scene(2, 0.0);
  float* T = sc.tracks.data<float>();
  float* V = sc.vis.data<float>();
  T[(2 * sc.N + 5) * 2] += 20;        // frame 2, track 5: 20 px off -> dropped by the 8 px filter
  V[1 * sc.N + 6] = 0.1f;             // frame 1, track 6: not visible enough
  for (int64_t s = 1; s < sc.S; ++s) V[s * sc.N + 7] = 0.f;  // track 7: only frame 0 -> invalid
  sc.xyz[3 * 8 + 2] = 4000.f;         // track 8: beyond max_points3D_val -> no observations
  set_cameras(sc, 0.0, 1.0);
  TrackBaOptions opt;
  opt.shared_camera = true;
  opt.camera_type = "PINHOLE";
  const TrackBaResult r = tracks_to_model_and_ba(sc.tracks, sc.vis, sc.xyz, {}, sc.ext, sc.K, sc.W, sc.H, opt);
  EXPECT_EQ(r.model.cameras.size(), 1u);
  EXPECT_EQ(r.model.cameras.at(1).model, "PINHOLE");
  EXPECT_EQ(r.model.points.size(), static_cast<size_t>(sc.N - 2));  // tracks 7 and 8 gone
  EXPECT_EQ(r.observations, (sc.N - 2) * sc.S - 2);                 // minus the two dropped observations
}

TEST(TrackBa, WeakFrameStaysAtItsInitialPoseAndIsReported) {
  Scene sc = make_scene(3, 0.2);
  for (int64_t n = 0; n < sc.N; ++n) sc.vis.data<float>()[4 * sc.N + n] = n < 30 ? 0.9f : 0.0f;  // 30 < 64
  set_cameras(sc, 0.2, 1.0);
  const TrackBaResult r = tracks_to_model_and_ba(sc.tracks, sc.vis, sc.xyz, {}, sc.ext, sc.K, sc.W, sc.H, {});
  EXPECT_TRUE(r.partial);
  ASSERT_EQ(r.weak_frames, std::vector<int>{4});
  EXPECT_NE(r.message.find("kept at VGGT's pose"), std::string::npos) << r.message;
  ASSERT_EQ(r.model.images.size(), static_cast<size_t>(sc.S));
  const ColmapImage& im = r.model.images.at(5);
  EXPECT_TRUE(im.point3D_ids.empty());
  EXPECT_NEAR(im.tvec[2], 5.0, 1e-6);  // untouched
  EXPECT_LT(r.final_mean_error, 0.5);
}

TEST(TrackBa, NothingToAdjustIsPartialNotAnError) {
  Scene sc = make_scene(4, 0.0);
  sc.vis.zero_();
  set_cameras(sc, 0.0, 1.0);
  const TrackBaResult r = tracks_to_model_and_ba(sc.tracks, sc.vis, sc.xyz, {}, sc.ext, sc.K, sc.W, sc.H, {});
  EXPECT_TRUE(r.partial);
  EXPECT_EQ(r.model.images.size(), static_cast<size_t>(sc.S));
  EXPECT_NE(r.message.find("cameras left as VGGT predicted them"), std::string::npos) << r.message;
}

TEST(TrackBa, BadInputIsOneLine) {
  Scene sc = make_scene(5, 0.0);
  set_cameras(sc, 0.0, 1.0);
  sc.K.data<float>()[9] = NAN;  // frame 1's fx
  std::string msg = test::error_of(
      [&] { tracks_to_model_and_ba(sc.tracks, sc.vis, sc.xyz, {}, sc.ext, sc.K, sc.W, sc.H, {}); });
  EXPECT_NE(msg.find("frame 1"), std::string::npos) << msg;
  set_cameras(sc, 0.0, 1.0);
  TrackBaOptions opt;
  opt.camera_type = "OPENCV";
  msg = test::error_of([&] { tracks_to_model_and_ba(sc.tracks, sc.vis, sc.xyz, {}, sc.ext, sc.K, sc.W, sc.H, opt); });
  EXPECT_NE(msg.find("SIMPLE_PINHOLE or PINHOLE"), std::string::npos) << msg;
  msg = test::error_of([&] {
    tracks_to_model_and_ba(sc.tracks, sc.vis, std::vector<float>(9), {}, sc.ext, sc.K, sc.W, sc.H, {});
  });
  EXPECT_NE(msg.find("3 points for 400 tracks"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vg
