#include "sfm/mapper.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "geometry/similarity.h"
#include "sfm/mapper_state.h"
#include "sfm/synthetic_scene.h"

using namespace vg;

namespace {

struct Accuracy {
  int registered = 0;
  PoseErrors err;
};

// Pose errors of the registered images of `model` against the truth (after a similarity alignment).
Accuracy accuracy(const ColmapModel& model, const SyntheticScene& s) {
  Accuracy a;
  std::vector<Eigen::Matrix4d> est, truth;
  for (const auto& [id, im] : model.images) {
    est.push_back(im.world_to_camera());
    truth.push_back(s.truth.images.at(id).world_to_camera());
  }
  a.registered = static_cast<int>(est.size());
  if (est.size() >= 3) a.err = compare_poses(est, truth);
  return a;
}

double mean_error(const ColmapModel& m) {
  double e = 0;
  for (const auto& [pid, p] : m.points) e += p.error;
  return m.points.empty() ? 0 : e / m.points.size();
}

void print_log(const MapperResult& r) {
  for (const std::string& l : r.log) std::printf("  %s\n", l.c_str());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void expect_model_consistent(const ColmapModel& m, const MapperInput& in) {
  for (const auto& [pid, p] : m.points) {
    EXPECT_GE(p.track.size(), 2u);
    for (auto [iid, f] : p.track) {
      ASSERT_TRUE(m.images.count(iid));
      ASSERT_LT(f, m.images.at(iid).point3D_ids.size());
      EXPECT_EQ(m.images.at(iid).point3D_ids[f], static_cast<int64_t>(pid));
    }
  }
  for (const auto& [id, im] : m.images) {
    ASSERT_GE(id, 1u);
    EXPECT_EQ(im.name, in.images[id - 1].name);
    EXPECT_TRUE(m.cameras.count(im.camera_id));
  }
}

// A PINHOLE scene with 0.5 px noise and 20 % outlier matches; mapper options with the intrinsics known.
SyntheticOptions pinhole_options(int images, int points) {
  SyntheticOptions so;
  so.num_images = images;
  so.num_points = points;
  so.noise_px = 0.5;
  so.outlier_ratio = 0.2;
  so.camera_model = "PINHOLE";
  return so;
}

MapperOptions known_intrinsics() {
  MapperOptions mo;
  mo.refine_focal = false;
  mo.refine_extra_params = false;
  return mo;
}

}  // namespace

TEST(Mapper, PinholeKnownIntrinsicsRegistersEveryCamera) {
  const SyntheticOptions so = pinhole_options(16, 1500);
  SyntheticScene s = make_synthetic_scene(so);
  MapperOptions mo = known_intrinsics();
  auto t0 = std::chrono::steady_clock::now();
  MapperResult r = incremental_mapping(s.input, mo);
  const double secs = seconds_since(t0);
  print_log(r);
  ASSERT_FALSE(r.models.empty());
  Accuracy a = accuracy(r.models[0], s);
  std::printf("PINHOLE: %d/%d registered, %zu points, rot mean %.4f max %.4f deg, centre mean %.5f max %.5f "
              "(scene %.1f), %.2f s\n",
              a.registered, so.num_images, r.models[0].points.size(), a.err.mean_rotation_deg,
              a.err.max_rotation_deg, a.err.mean_center, a.err.max_center, s.scene_size, secs);
  const double wrong = wrong_observation_fraction(r.models[0], s);
  std::printf("wrong observations %.4f, mean reprojection error %.3f px\n", wrong, mean_error(r.models[0]));
  EXPECT_LT(wrong, 0.01);
  EXPECT_EQ(r.models.size(), 1u);
  EXPECT_EQ(a.registered, so.num_images);
  EXPECT_LT(a.err.max_rotation_deg, 0.1);
  EXPECT_LT(a.err.max_center, 0.005 * s.scene_size);
  EXPECT_GT(r.models[0].points.size(), 700u);
  expect_model_consistent(r.models[0], s.input);
  // Colours come from the keypoint colours (the true point colours here).
  int same = 0;
  for (const auto& [pid, p] : r.models[0].points) {
    const auto& [iid, f] = p.track[0];
    const int64_t truth_id = s.truth.images.at(iid).point3D_ids[f];
    same += truth_id > 0 && s.truth.points.at(truth_id).rgb == p.rgb;
  }
  EXPECT_GT(same, static_cast<int>(0.9 * r.models[0].points.size()));
}

// --final-retriangulation: every point triangulated anew from the final cameras, then refined again; the model
// stays consistent and as accurate.
TEST(Mapper, FinalRetriangulation) {
  const SyntheticOptions so = pinhole_options(12, 1000);
  SyntheticScene s = make_synthetic_scene(so);
  MapperOptions mo = known_intrinsics();
  const MapperResult plain = incremental_mapping(s.input, mo);
  mo.final_retriangulation = true;
  const MapperResult r = incremental_mapping(s.input, mo);
  ASSERT_EQ(r.models.size(), 1u);
  ASSERT_EQ(plain.models.size(), 1u);
  const Accuracy a = accuracy(r.models[0], s), b = accuracy(plain.models[0], s);
  std::printf("final retriangulation: rot mean %.4f (without %.4f) deg, centre %.5f (%.5f), %zu (%zu) points\n",
              a.err.mean_rotation_deg, b.err.mean_rotation_deg, a.err.mean_center, b.err.mean_center,
              r.models[0].points.size(), plain.models[0].points.size());
  EXPECT_EQ(a.registered, so.num_images);
  EXPECT_LT(a.err.mean_rotation_deg, 1.2 * b.err.mean_rotation_deg);
  EXPECT_LT(a.err.max_rotation_deg, 1.5 * b.err.max_rotation_deg);
  EXPECT_LT(a.err.mean_center, 1.2 * b.err.mean_center);
  EXPECT_LT(wrong_observation_fraction(r.models[0], s), 0.01);
  EXPECT_GT(r.models[0].points.size(), 0.9 * plain.models[0].points.size());
  expect_model_consistent(r.models[0], s.input);
}

TEST(Mapper, SimpleRadialUnknownFocal) {
  SyntheticOptions so;
  so.num_images = 16;
  so.num_points = 2000;
  so.camera_model = "SIMPLE_RADIAL";
  so.focal_factor = 0.9;
  so.radial = -0.03;
  so.prior_focal = false;
  so.seed = 7;
  SyntheticScene s = make_synthetic_scene(so);
  auto t0 = std::chrono::steady_clock::now();
  MapperResult r = incremental_mapping(s.input, MapperOptions{});
  const double secs = seconds_since(t0);
  print_log(r);
  ASSERT_FALSE(r.models.empty());
  Accuracy a = accuracy(r.models[0], s);
  double focal_err = 0;
  for (const auto& [id, im] : r.models[0].images)
    focal_err = std::max(focal_err, std::abs(r.models[0].cameras.at(im.camera_id).params[0] /
                                             s.truth.cameras.at(im.camera_id).params[0] - 1));
  std::printf("SIMPLE_RADIAL unknown focal: %d/%d registered, rot max %.4f deg, centre max %.5f, focal err max "
              "%.4f, %.2f s\n",
              a.registered, so.num_images, a.err.max_rotation_deg, a.err.max_center, focal_err, secs);
  EXPECT_EQ(a.registered, so.num_images);
  EXPECT_LT(a.err.max_rotation_deg, 0.1);
  EXPECT_LT(a.err.max_center, 0.005 * s.scene_size);
  EXPECT_LT(focal_err, 0.01);
}

TEST(Mapper, SplitSceneGivesTwoModels) {
  SyntheticOptions so;
  so.num_images = 16;
  so.num_points = 1200;
  so.num_clusters = 2;
  so.arc_deg = 150;  // 8 cameras per cluster: an arc keeps neighbours ~20 deg apart
  so.seed = 3;
  SyntheticScene s = make_synthetic_scene(so);
  MapperOptions mo;
  mo.refine_focal = false;  // known intrinsics
  MapperResult r = incremental_mapping(s.input, mo);
  print_log(r);
  ASSERT_EQ(r.models.size(), 2u);
  for (const ColmapModel& m : r.models) {
    EXPECT_EQ(m.images.size(), 8u);
    std::set<int> clusters;
    for (const auto& [id, im] : m.images) clusters.insert(s.cluster_of_image[id - 1]);
    EXPECT_EQ(clusters.size(), 1u);
    Accuracy a = accuracy(m, s);
    std::printf("cluster model: %zu images, %zu points, rot max %.4f deg\n", m.images.size(), m.points.size(),
                a.err.max_rotation_deg);
    EXPECT_LT(a.err.max_rotation_deg, 0.3);  // ~330 points per cluster: looser than the full scenes
  }
  bool logged = false;
  for (const std::string& l : r.log) logged |= l.find("only 8 of 16 images registered") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST(Mapper, BadInput) {
  MapperInput in;
  EXPECT_THROW(incremental_mapping(in, MapperOptions{}), Error);
  // Two images without any verified pair: no model, a message.
  in.cameras[1] = {1, "PINHOLE", 100, 100, {100, 100, 50, 50}};
  in.images.resize(2);
  for (auto& im : in.images) im.camera_id = 1, im.keypoints = {{10, 10}};
  MapperResult r = incremental_mapping(in, MapperOptions{});
  EXPECT_TRUE(r.models.empty());
  ASSERT_FALSE(r.log.empty());
  EXPECT_NE(r.log.back().find("only 0 of 2 images registered"), std::string::npos);
  in.pairs[{0, 5}] = TwoViewGeometry{};
  EXPECT_THROW(incremental_mapping(in, MapperOptions{}), Error);
}

// A shared SIMPLE_RADIAL camera whose principal point is 9 px off the centre (the mapper starts at the centre):
// --final-principal-point recovers it and the poses improve; cameras of one image each are left alone.
TEST(Mapper, FinalPrincipalPointOfASharedCamera) {
  SyntheticOptions so;
  so.num_images = 16;
  so.num_points = 2000;
  so.camera_model = "SIMPLE_RADIAL";
  so.radial = -0.02;
  so.prior_focal = false;
  so.principal_point_offset = {7.0, -5.5};
  so.shared_camera = true;
  so.noise_px = 0.3;
  so.seed = 3;
  const SyntheticScene s = make_synthetic_scene(so);
  MapperOptions mo;
  mo.final_principal_point_min_images = 0;  // COLMAP's fixed centre
  const MapperResult plain = incremental_mapping(s.input, mo);
  mo.final_principal_point_min_images = 8;  // the default
  const MapperResult r = incremental_mapping(s.input, mo);
  ASSERT_EQ(plain.models.size(), 1u);
  ASSERT_EQ(r.models.size(), 1u);
  const Accuracy a = accuracy(r.models[0], s), b = accuracy(plain.models[0], s);
  const std::vector<double>& p = r.models[0].cameras.at(1).params;
  const std::vector<double>& t = s.truth.cameras.at(1).params;
  std::printf("final principal point: (%.2f, %.2f), truth (%.2f, %.2f); rot mean %.4f (fixed centre %.4f) deg, centre "
              "%.5f (%.5f)\n", p[1], p[2], t[1], t[2], a.err.mean_rotation_deg, b.err.mean_rotation_deg,
              a.err.mean_center, b.err.mean_center);
  EXPECT_EQ(a.registered, so.num_images);
  EXPECT_NEAR(p[1], t[1], 1.0);
  EXPECT_NEAR(p[2], t[2], 1.0);
  EXPECT_LT(a.err.mean_rotation_deg, 0.5 * b.err.mean_rotation_deg);
  expect_model_consistent(r.models[0], s.input);

  // One camera per image: fewer than 8 images per camera, so nothing changes.
  so.shared_camera = false;
  const SyntheticScene per_image = make_synthetic_scene(so);
  MapperOptions off;
  off.final_principal_point_min_images = 0;
  const MapperResult r0 = incremental_mapping(per_image.input, off);
  const MapperResult r1 = incremental_mapping(per_image.input, mo);
  ASSERT_EQ(r0.models.size(), 1u);
  ASSERT_EQ(r1.models.size(), 1u);
  for (const auto& [id, cam] : r1.models[0].cameras) EXPECT_EQ(cam.params, r0.models[0].cameras.at(id).params);
}

// A camera in a wrong basin (refine): rotated 6 deg about its centre while the points stay where the other images
// put them, its pose fits almost none of its correspondences; the absolute pose from them fits most, and the move
// leaves every one of its observations within the threshold. A camera at its true pose is left alone.
TEST(Mapper, StuckImageIsMovedToItsAbsolutePose) {
  const SyntheticScene s = make_synthetic_scene(pinhole_options(12, 1000));
  const mapper::Shared sh = mapper::make_shared(s.input);
  mapper::Recon r = mapper::make_recon(sh, 1);
  for (int i = 0; i < 12; ++i) {
    const Eigen::Matrix4d T = s.truth.images.at(static_cast<uint32_t>(i + 1)).world_to_camera();
    r.registered[i] = 1, r.reg_order.push_back(i);
    r.R[i] = T.topLeftCorner<3, 3>(), r.t[i] = T.topRightCorner<3, 1>();
  }
  MapperOptions mo = known_intrinsics();
  mo.filter_max_reproj_error = 4;
  std::mt19937_64 rng(1);
  for (size_t k = 0; k < sh.tracks.size(); ++k) mapper::triangulate_track(r, static_cast<int>(k), mo, &rng);
  const Eigen::Matrix3d R3 = r.R[3];
  const Eigen::Vector3d C3 = r.center(3);
  r.R[3] = Eigen::AngleAxisd(6 * M_PI / 180, Eigen::Vector3d(0.3, 1, 0.2).normalized()).toRotationMatrix() * R3;
  r.t[3] = -r.R[3] * C3;

  const mapper::PoseCheck good = mapper::check_image_pose(r, 5, 4.0, 7);
  const mapper::PoseCheck bad = mapper::check_image_pose(r, 3, 4.0, 7);
  std::printf("pose check: true pose %d of %d supported; 6 deg off %d -> %d of %d\n", good.support,
              good.correspondences, bad.support, bad.inliers, bad.correspondences);
  EXPECT_GT(good.correspondences, 100);
  EXPECT_GT(good.support, 0.7 * good.correspondences);
  EXPECT_FALSE(good.worth_moving());
  EXPECT_LT(bad.support, 0.1 * bad.correspondences);
  ASSERT_TRUE(bad.worth_moving());
  EXPECT_GT(bad.inliers, 0.7 * bad.correspondences);

  mapper::move_image(r, 3, bad);
  const double angle = Eigen::AngleAxisd(r.R[3] * R3.transpose()).angle() * 180 / M_PI;
  EXPECT_LT(angle, 0.1);
  EXPECT_LT((r.center(3) - C3).norm(), 0.01 * s.scene_size);
  int seen = 0;
  for (size_t k = 0; k < r.points.size(); ++k) {
    const mapper::Point& p = r.points[k];
    if (!p.valid) continue;
    EXPECT_GE(p.obs.size(), 2u);
    for (const TrackElement& e : p.obs) {
      EXPECT_TRUE(r.observed[e.image][e.point2d]);
      if (e.image != 3) continue;
      ++seen;
      EXPECT_LE(mapper::reproj_error_sq(r, 3, static_cast<int>(e.point2d), p.X), 16.0);
    }
  }
  EXPECT_EQ(seen, bad.inliers);
}
