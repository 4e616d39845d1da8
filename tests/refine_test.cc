// refine_model on synthetic scenes (sfm/synthetic_scene.h): cameras perturbed by 3 deg, 10 % of the scene
// radius and +-10 % focal are recovered to < 0.1 deg / < 0.5 % of the scene size, wrong matches are
// rejected, depth seeding, weak images, too few tracks and bad input.
#include "sfm/refine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <Eigen/Geometry>

#include "core/error.h"
#include "geometry/similarity.h"
#include "sfm/guided_matching.h"
#include "sfm/synthetic_scene.h"
#include "tests/ceres_ba.h"

using namespace vg;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Perturbed {
  RefineInput in;
  std::vector<PosedView> views;
};

// The truth's cameras perturbed: rotation by rot_deg about a random axis, centre moved by pos (world units)
// in a random direction, focal scaled by a uniform factor in [1 - focal, 1 + focal].
Perturbed perturb(const SyntheticScene& s, double rot_deg, double pos, double focal, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(1 - focal, 1 + focal);
  Perturbed p;
  p.in.input = s.input;
  for (auto& [id, cam] : p.in.input.cameras) {
    cam = s.truth.cameras.at(id);
    const double k = u(rng);
    cam.params[0] *= k;
    if (cam.model == "PINHOLE" || cam.model == "OPENCV") cam.params[1] *= k;
  }
  for (size_t i = 0; i < s.input.images.size(); ++i) {
    const ColmapImage& im = s.truth.images.at(static_cast<uint32_t>(i + 1));
    const Eigen::Matrix3d R = Eigen::Quaterniond(im.qvec[0], im.qvec[1], im.qvec[2], im.qvec[3]).toRotationMatrix();
    const Eigen::Vector3d C = -R.transpose() * Eigen::Vector3d(im.tvec[0], im.tvec[1], im.tvec[2]);
    const Eigen::Vector3d axis = Eigen::Vector3d(g(rng), g(rng), g(rng)).normalized();
    const Eigen::Vector3d dir = Eigen::Vector3d(g(rng), g(rng), g(rng)).normalized();
    const Eigen::Matrix3d Rp = Eigen::AngleAxisd(rot_deg * kPi / 180, axis).toRotationMatrix() * R;
    const Eigen::Vector3d Cp = C + pos * dir;
    p.in.R.push_back(Rp);
    p.in.t.push_back(-Rp * Cp);
    PosedView v;
    v.camera = p.in.input.cameras.at(s.input.images[i].camera_id);
    v.R = Rp;
    v.t = -Rp * Cp;
    p.views.push_back(v);
  }
  return p;
}

PoseErrors errors(const ColmapModel& m, const SyntheticScene& s) {
  std::vector<Eigen::Matrix4d> est, truth;
  for (const auto& [id, im] : m.images) {
    est.push_back(im.world_to_camera());
    truth.push_back(s.truth.images.at(id).world_to_camera());
  }
  return compare_poses(est, truth);
}

PoseErrors errors(const RefineInput& in, const SyntheticScene& s) {
  ColmapModel m;
  for (size_t i = 0; i < in.R.size(); ++i) {
    ColmapImage im;
    const Eigen::Quaterniond q(in.R[i]);
    im.qvec = {q.w(), q.x(), q.y(), q.z()};
    im.tvec = {in.t[i].x(), in.t[i].y(), in.t[i].z()};
    m.images[static_cast<uint32_t>(i + 1)] = im;
  }
  return errors(m, s);
}

bool correct_match(const SyntheticScene& s, int i, int j, std::pair<int, int> m) {
  const int64_t a = s.truth.images.at(i + 1).point3D_ids[m.first], b = s.truth.images.at(j + 1).point3D_ids[m.second];
  return a >= 0 && a == b;
}

SyntheticOptions scene_options(const std::string& model) {
  SyntheticOptions o;
  o.num_images = 16;
  o.num_points = 1500;
  o.camera_model = model;
  o.outlier_ratio = 0.2;
  o.seed = 7;
  return o;
}

TEST(Refine, RecoversPerturbedCamerasAndRejectsWrongMatches) {
  for (const char* model : {"SIMPLE_PINHOLE", "SIMPLE_RADIAL", "PINHOLE"}) {
    SyntheticOptions so = scene_options(model);
    if (std::string(model) == "SIMPLE_RADIAL") so.radial = -0.05;
    const SyntheticScene s = make_synthetic_scene(so);
    const double radius = 0.5 * s.scene_size;  // the camera ring's radius
    Perturbed p = perturb(s, 3.0, 0.1 * radius, 0.1, 11);
    const PoseErrors before = errors(p.in, s);

    // Guided verification on the raw matches (the scene's pair lists hold 20 % wrong ones).
    std::vector<std::pair<int, int>> pairs;
    std::vector<FeatureMatches> raw;
    std::vector<std::vector<Eigen::Vector2d>> kps;
    for (const MapperImage& im : s.input.images) kps.push_back(im.keypoints);
    size_t raw_wrong = 0, raw_total = 0;
    for (const auto& [pr, tv] : s.input.pairs) {
      pairs.push_back(pr);
      raw.push_back(tv.inlier_matches);
      for (auto m : tv.inlier_matches) raw_wrong += !correct_match(s, pr.first, pr.second, m), ++raw_total;
    }
    GuidedMatchOptions gopt;
    const GuidedMatchResult gm = guided_verify(p.views, kps, pairs, raw, gopt);
    size_t kept_wrong = 0, kept_total = 0;
    for (const auto& [pr, tv] : gm.verified)
      for (auto m : tv.inlier_matches) kept_wrong += !correct_match(s, pr.first, pr.second, m), ++kept_total;
    std::printf("[refine] %s: inliers within %.1f px of the initial epipolar lines, rotation tolerance %.1f deg "
                "(median difference %.2f), wrong matches %zu/%zu -> %zu/%zu, %d/%d pairs\n", model, gm.tolerance_px,
                gm.rotation_tolerance_deg, gm.median_rotation_diff_deg, raw_wrong, raw_total, kept_wrong, kept_total,
                gm.pairs_verified, gm.pairs_in);
    EXPECT_GT(gm.tolerance_px, 4.0);  // 3 deg of pose error put the inliers off the initial epipolar lines
    EXPECT_EQ(gm.pairs_prior_rejected, 0);  // ... but no pair is dropped
    EXPECT_LT(double(kept_wrong) / double(kept_total), 0.02);
    EXPECT_GT(double(kept_total - kept_wrong), 0.9 * double(raw_total - raw_wrong));
    p.in.input.pairs = gm.verified;

    RefineOptions opt;
    const RefineResult r = refine_model(p.in, opt);
    const PoseErrors after = errors(r.model, s);
    const double wrong = wrong_observation_fraction(r.model, s);
    std::printf("[refine] %s: rotation %.3f -> %.4f deg (max), centre %.4f -> %.5f (max, scene size %.1f), "
                "wrong observations %.4f, %d points, mean error %.3f px, first threshold %.1f px, %zu stages\n", model,
                before.max_rotation_deg, after.max_rotation_deg, before.max_center, after.max_center, s.scene_size,
                wrong, r.report.tracks_kept, r.report.final_mean_reproj_error, r.report.initial_threshold_px,
                r.report.iterations.size());
    EXPECT_FALSE(r.report.partial) << r.report.message;
    // PINHOLE's independent fx, fy (both 10 % off) leave the rotations less determined on this small-field scene.
    const bool two_focals = std::string(model) == "PINHOLE";
    EXPECT_LT(after.max_rotation_deg, two_focals ? 0.2 : 0.1);
    EXPECT_LT(after.max_center, 0.005 * s.scene_size);
    EXPECT_LT(wrong, 0.01);
    EXPECT_LT(r.report.final_mean_reproj_error, 1.0);
    // The same refinement started from the truth: the perturbed start reaches the same optimum.
    Perturbed exact = perturb(s, 0, 0, 0, 11);
    exact.in.input.pairs = gm.verified;
    const RefineResult r0 = refine_model(exact.in, opt);
    std::vector<Eigen::Matrix4d> a, b;
    for (const auto& [id, im] : r.model.images) a.push_back(im.world_to_camera());
    for (const auto& [id, im] : r0.model.images) b.push_back(im.world_to_camera());
    const PoseErrors to_optimum = compare_poses(a, b);
    std::printf("[refine] %s: from the truth %.4f deg; perturbed start vs that optimum %.5f deg, %.6f\n", model,
                errors(r0.model, s).max_rotation_deg, to_optimum.max_rotation_deg, to_optimum.max_center);
    EXPECT_LT(to_optimum.max_rotation_deg, 0.01);
    for (const auto& [id, cam] : r.model.cameras) {  // focal recovered from +-10 %
      const double truth = s.truth.cameras.at(id).params[0];
      EXPECT_NEAR(cam.params[0], truth, 0.01 * truth) << model;
    }
  }
}

TEST(Refine, PlacesPointsFromDepth) {
  const SyntheticScene s = make_synthetic_scene(scene_options("SIMPLE_PINHOLE"));
  Perturbed p = perturb(s, 1.0, 0.02 * s.scene_size, 0.03, 5);
  // Depth of every keypoint's true point in the perturbed camera (unknown for distractors).
  p.in.keypoint_depth.resize(s.input.images.size());
  for (size_t i = 0; i < s.input.images.size(); ++i) {
    const ColmapImage& im = s.truth.images.at(static_cast<uint32_t>(i + 1));
    for (int64_t pid : im.point3D_ids) {
      float d = NAN;
      if (pid >= 0) {
        const auto& X = s.truth.points.at(static_cast<uint64_t>(pid)).xyz;
        d = static_cast<float>((p.in.R[i] * Eigen::Vector3d(X[0], X[1], X[2]) + p.in.t[i]).z());
      }
      p.in.keypoint_depth[i].push_back(d);
    }
  }
  const RefineResult r = refine_model(p.in, RefineOptions{});
  EXPECT_GT(r.report.tracks_from_depth, r.report.tracks_initial / 2);
  const PoseErrors after = errors(r.model, s);
  EXPECT_LT(after.max_rotation_deg, 0.1);
  EXPECT_LT(after.max_center, 0.005 * s.scene_size);
}

TEST(Refine, WeakImageIsReportedNotFatal) {
  const SyntheticScene s = make_synthetic_scene(scene_options("PINHOLE"));
  Perturbed p = perturb(s, 0.5, 0.01 * s.scene_size, 0.0, 3);
  // Image 5 keeps only a handful of matches.
  for (auto& [pr, tv] : p.in.input.pairs)
    if (pr.first == 5 || pr.second == 5) tv.inlier_matches.resize(std::min<size_t>(tv.inlier_matches.size(), 1));
  RefineOptions opt;
  opt.min_image_observations = 20;
  const RefineResult r = refine_model(p.in, opt);
  EXPECT_EQ(r.model.images.size(), s.input.images.size());
  EXPECT_EQ(r.report.images[5].status, "initial");
  EXPECT_TRUE(r.report.partial);
  EXPECT_NE(r.report.message.find("kept at their initial pose"), std::string::npos) << r.report.message;
  EXPECT_EQ(r.report.images[4].status, "refined");
}

TEST(Refine, TooFewTracksLeavesCamerasAsGiven) {
  const SyntheticScene s = make_synthetic_scene(scene_options("PINHOLE"));
  Perturbed p = perturb(s, 0.5, 0.01 * s.scene_size, 0.0, 3);
  for (auto& [pr, tv] : p.in.input.pairs) tv.inlier_matches.resize(std::min<size_t>(tv.inlier_matches.size(), 1));
  const RefineResult r = refine_model(p.in, RefineOptions{});
  EXPECT_TRUE(r.report.partial);
  EXPECT_NE(r.report.message.find("tracks survived filtering (need >= 100); cameras left as given"), std::string::npos)
      << r.report.message;
  ASSERT_EQ(r.model.images.size(), s.input.images.size());
  const ColmapImage& im = r.model.images.at(3);
  EXPECT_NEAR((Eigen::Quaterniond(im.qvec[0], im.qvec[1], im.qvec[2], im.qvec[3]).toRotationMatrix() - p.in.R[2]).norm(),
              0, 1e-9);
}

TEST(Refine, BadInputIsAClearError) {
  const SyntheticScene s = make_synthetic_scene(scene_options("PINHOLE"));
  Perturbed p = perturb(s, 0.5, 0.01, 0.0, 3);
  RefineInput nan_pose = p.in;
  nan_pose.t[2].x() = NAN;
  EXPECT_THROW(
      {
        try {
          refine_model(nan_pose, RefineOptions{});
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("is not finite"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  RefineInput bad_cam = p.in;
  bad_cam.input.cameras.begin()->second.params[0] = -5;
  EXPECT_THROW(refine_model(bad_cam, RefineOptions{}), Error);
  RefineInput bad_rot = p.in;
  bad_rot.R[0] *= 2;
  EXPECT_THROW(refine_model(bad_rot, RefineOptions{}), Error);
}

#ifdef VGSPLAT_HAS_CERES
// The final stage's first bundle adjustment (from the perturbed start, after the wide stages): our solver's final
// cost equals Ceres' on the same problem (same residuals, loss, gauge, tolerances) within 1 %.
TEST(Refine, FinalBundleAdjustmentMatchesCeres) {
  const SyntheticScene s = make_synthetic_scene(scene_options("SIMPLE_RADIAL"));
  Perturbed p = perturb(s, 3.0, 0.05 * s.scene_size, 0.1, 11);
  RefineOptions opt;
  std::vector<std::pair<ColmapModel, BundleOptions>> problems;
  opt.on_ba_problem = [&](int, const ColmapModel& m, const BundleOptions& b) { problems.push_back({m, b}); };
  refine_model(p.in, opt);
  ASSERT_GE(problems.size(), 2u);
  // The first BA of all (3 deg off, Cauchy loss at the wide threshold) and the first of the final stage.
  size_t final_first = 0;
  for (size_t k = 0; k < problems.size(); ++k)
    if (problems[k].second.loss == BundleOptions::Loss::Trivial) { final_first = k; break; }
  for (size_t k : {size_t{0}, final_first}) {
    ColmapModel ours = problems[k].first, theirs = problems[k].first;
    const BundleSummary a = bundle_adjust(ours, problems[k].second);
    const CeresBaSummary b = ceres_bundle_adjust(theirs, problems[k].second);
    std::printf("[refine] BA problem %zu (%d residuals, loss %d): vgsplat %.6g (%d its) vs Ceres %.6g (%d its, %s)\n", k,
                a.num_residuals, static_cast<int>(problems[k].second.loss), a.final_cost, a.iterations, b.final_cost,
                b.iterations, b.linear_solver.c_str());
    EXPECT_NEAR(a.final_cost, b.final_cost, 0.01 * b.final_cost);
  }
}
#endif

// The scene's pairs, their raw matches and keypoints for guided_verify, and how many pairs involve view `bad`.
struct PairLists {
  std::vector<std::pair<int, int>> pairs;
  std::vector<FeatureMatches> raw;
  std::vector<std::vector<Eigen::Vector2d>> kps;
  int bad_pairs = 0;
};

PairLists pair_lists(const SyntheticScene& s, int bad) {
  PairLists l;
  for (const MapperImage& im : s.input.images) l.kps.push_back(im.keypoints);
  for (const auto& [pr, tv] : s.input.pairs) {
    l.pairs.push_back(pr), l.raw.push_back(tv.inlier_matches);
    l.bad_pairs += pr.first == bad || pr.second == bad;
  }
  return l;
}

// A view whose prior is 60 deg off: its pairs' relative rotations contradict the initial cameras, so with
// --rotation-tolerance-factor they are kept for the tracks but left out of rotation averaging; the others are used.
TEST(GuidedMatching, PairsOffTheInitialRelativeRotationAreNotUsedForRotations) {
  const SyntheticScene s = make_synthetic_scene(scene_options("SIMPLE_PINHOLE"));
  Perturbed p = perturb(s, 1.0, 0.02 * s.scene_size, 0.0, 3);
  const int bad = 5;
  p.views[bad].R = Eigen::AngleAxisd(60 * 3.14159265358979323846 / 180, Eigen::Vector3d::UnitY()) * p.views[bad].R;
  const PairLists l = pair_lists(s, bad);
  const int bad_pairs = l.bad_pairs;
  GuidedMatchOptions opt;
  EXPECT_TRUE(guided_verify(p.views, l.kps, l.pairs, l.raw, opt).rotation_off.empty());  // off by default
  opt.tolerance_factor = 4;
  const GuidedMatchResult gm = guided_verify(p.views, l.kps, l.pairs, l.raw, opt);
  ASSERT_GT(bad_pairs, 0);
  EXPECT_EQ(gm.pairs_prior_rejected, 0);
  EXPECT_EQ(static_cast<int>(gm.rotation_off.size()), bad_pairs);
  EXPECT_EQ(gm.pairs_verified, gm.pairs_ransac - gm.pairs_prior_rejected);
  for (const auto& pr : gm.rotation_off) EXPECT_TRUE(pr.first == bad || pr.second == bad);
  for (const auto& [pr, tv] : gm.verified)
    if (pr.first == bad || pr.second == bad) EXPECT_TRUE(gm.rotation_off.count(pr));
}

// A view whose prior centre is far off (half the scene size along its camera y axis, across the ring of cameras:
// across every baseline) with its rotation right:
// the relative rotations agree, but the pairs' inliers lie far from the initial epipolar lines, so they are dropped
// (with --pair-epipolar-factor).
TEST(GuidedMatching, PairsOffTheInitialEpipolarLinesAreDropped) {
  const SyntheticScene s = make_synthetic_scene(scene_options("SIMPLE_PINHOLE"));
  Perturbed p = perturb(s, 0.5, 0.01 * s.scene_size, 0.0, 3);
  const int bad = 5;
  const Eigen::Vector3d C =
      -p.views[bad].R.transpose() * p.views[bad].t + 0.5 * s.scene_size * p.views[bad].R.row(1).transpose();
  p.views[bad].t = -p.views[bad].R * C;
  const PairLists l = pair_lists(s, bad);
  const int bad_pairs = l.bad_pairs;
  GuidedMatchOptions opt;
  EXPECT_EQ(opt.pair_error_factor, 0);  // off by default: every pair kept
  EXPECT_EQ(guided_verify(p.views, l.kps, l.pairs, l.raw, opt).pairs_prior_rejected, 0);
  opt.pair_error_factor = 4;
  const GuidedMatchResult gm = guided_verify(p.views, l.kps, l.pairs, l.raw, opt);
  ASSERT_GT(bad_pairs, 0);
  EXPECT_EQ(gm.pairs_prior_rejected, bad_pairs);
  EXPECT_TRUE(gm.rotation_off.empty());
  for (const auto& [pr, tv] : gm.verified) EXPECT_TRUE(pr.first != bad && pr.second != bad);
}

// Matches still arriving from another thread (the GPU matcher's batches): workers wait for each pair's list
// and the result equals the one from lists that were all there at the start.
TEST(GuidedMatching, WaitsForMatchesFromAnotherThread) {
  const SyntheticScene s = make_synthetic_scene(scene_options("SIMPLE_PINHOLE"));
  Perturbed p = perturb(s, 1.0, 0.02 * s.scene_size, 0.0, 3);
  std::vector<std::pair<int, int>> pairs;
  std::vector<FeatureMatches> raw;
  std::vector<std::vector<Eigen::Vector2d>> kps;
  for (const MapperImage& im : s.input.images) kps.push_back(im.keypoints);
  for (const auto& [pr, tv] : s.input.pairs) pairs.push_back(pr), raw.push_back(tv.inlier_matches);
  const GuidedMatchResult all = guided_verify(p.views, kps, pairs, raw, GuidedMatchOptions{});

  std::vector<FeatureMatches> late(raw.size());
  std::mutex m;
  std::condition_variable cv;
  int ready = 0;
  int waits_past_ready = 0;
  std::thread producer([&] {
    {  // the first batch only once a worker waits for it (or after 10 s): a loaded machine may start the workers late
      std::unique_lock<std::mutex> lock(m);
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return waits_past_ready > 0; });
    }
    for (size_t b = 0; b < raw.size(); b += 7) {  // batches of 7 pairs
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const size_t e = std::min(raw.size(), b + 7);
      for (size_t k = b; k < e; ++k) late[k] = raw[k];
      std::lock_guard<std::mutex> lock(m);
      ready = static_cast<int>(e);
      cv.notify_all();
    }
  });
  GuidedMatchOptions gopt;
  gopt.wait_for_pair = [&](int pair) {
    std::unique_lock<std::mutex> lock(m);
    if (pair >= ready) ++waits_past_ready, cv.notify_all();
    cv.wait(lock, [&] { return ready > pair; });
  };
  const GuidedMatchResult got = guided_verify(p.views, kps, pairs, late, gopt);
  producer.join();
  EXPECT_GT(waits_past_ready, 0);
  EXPECT_EQ(got.matches_in, all.matches_in);
  EXPECT_EQ(got.pairs_verified, all.pairs_verified);
  EXPECT_EQ(got.matches_verified, all.matches_verified);
  ASSERT_EQ(got.verified.size(), all.verified.size());
  for (const auto& [pr, g] : all.verified) EXPECT_EQ(got.verified.at(pr).inlier_matches, g.inlier_matches);
}

TEST(GuidedMatching, OverlapPairsFollowTheRing) {
  SyntheticOptions so = scene_options("PINHOLE");
  const SyntheticScene s = make_synthetic_scene(so);
  Perturbed p = perturb(s, 0.0, 0.0, 0.0, 1);
  estimate_view_depths(p.views);
  for (const PosedView& v : p.views) EXPECT_NEAR(v.depth, 3.0, 0.7);  // ring radius 3 around the scene centre
  OverlapOptions oo;
  oo.min_overlap = 0.2;
  const auto pairs = overlap_pairs(p.views, oo);
  // Neighbours on the ring overlap, opposite cameras (8 apart of 16) do not.
  bool has_neighbour = false, has_opposite = false;
  for (auto [i, j] : pairs) has_neighbour |= (j - i == 1), has_opposite |= (j - i == 8);
  EXPECT_TRUE(has_neighbour);
  EXPECT_FALSE(has_opposite);
}

}  // namespace
