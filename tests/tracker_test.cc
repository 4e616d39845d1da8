// The VGGSfM v2 tracker (src/tracks/tracker*.cc) against the official TrackerPredictor on the tiny random-weight
// fixture (tools/tracker_fixtures.py --tiny: tests/data/tracker_tiny.safetensors holds inputs/outputs,
// tracker_tiny.pt the weights), the published key layout, the loader's errors and bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "temp_dir.h"
#include "test_util.h"
#include "tracks/tracker.h"

namespace vg::tracks {
namespace {

std::filesystem::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }

TrackPredictorConfig predictor_from_json(const nlohmann::json& j) {
  TrackPredictorConfig p;
  p.stride = j.at("stride");
  p.corr_levels = j.at("corr_levels");
  p.corr_radius = j.at("corr_radius");
  p.latent_dim = j.at("latent_dim");
  p.hidden_size = j.at("hidden_size");
  p.num_heads = j.at("num_heads");
  p.depth = j.at("depth");
  p.use_spaceatt = j.at("use_spaceatt");
  p.num_virtual_tracks = j.at("num_virtual_tracks");
  p.fine = j.at("fine");
  return p;
}

// The fixture's configuration (the same field names as TrackerConfig).
TrackerConfig config_of(const SafetensorsFile& io) {
  const auto j = nlohmann::json::parse(io.metadata().at("config"));
  TrackerConfig c;
  c.coarse_down_ratio = j.at("coarse_down_ratio");
  c.coarse_stride = j.at("coarse_stride");
  c.coarse_fnet_dim = j.at("coarse_fnet_dim");
  c.fine_fnet_dim = j.at("fine_fnet_dim");
  c.coarse = predictor_from_json(j.at("coarse"));
  c.fine = predictor_from_json(j.at("fine"));
  c.pradius = j.at("pradius");
  c.fine_iters = j.at("fine_iters");
  return c;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const auto x = a.to_vector<float>(), y = b.to_vector<float>();
  double m = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) m = std::max(m, std::fabs(double(x[i]) - y[i]));
  return std::isfinite(m) ? m : INFINITY;
}

struct Tiny {
  SafetensorsFile io = SafetensorsFile::open(fixture("tracker_tiny.safetensors"));
  TrackerConfig cfg = config_of(io);
  VggsfmTracker tracker = VggsfmTracker::load(fixture("tracker_tiny.pt"), cfg);
};

TEST(Tracker, TinyFixtureMatchesOfficialFp32) {
  Tiny t;
  const Tensor images = t.io.get("images"), query = t.io.get("query_points");
  const int coarse_iters = std::stoi(t.io.metadata().at("coarse_iters"));
  auto t0 = std::chrono::steady_clock::now();
  const Tensor fmaps = t.tracker.coarse_fmaps(images);
  const double fmap_err = test::rel_error(fmaps.to_vector<float>(), t.io.get("fmaps").to_vector<float>());
  ASSERT_EQ(fmaps.shape(), t.io.get("fmaps").shape());
  EXPECT_LE(fmap_err, 1e-4);
  // The coarse predictor on the official feature maps, so each stage is judged on its own.
  const VggsfmTracker::CoarseResult coarse = t.tracker.coarse_track(t.io.get("fmaps"), query, coarse_iters);
  ASSERT_EQ(coarse.iters.size(), static_cast<size_t>(coarse_iters));
  for (int i = 0; i < coarse_iters; ++i) {
    const double e = max_abs_diff(coarse.iters[i], t.io.get("coarse_iter" + std::to_string(i)));
    EXPECT_LE(e, 1e-3) << "coarse iteration " << i;
    std::printf("  coarse iter %d max |diff| %.2e px\n", i, e);
  }
  // Visibility is a score: relative error as the 1e-4 on scores (the max |diff| is printed beside it).
  const double vis_err = max_abs_diff(coarse.vis, t.io.get("vis"));
  EXPECT_LE(test::rel_error(coarse.vis.to_vector<float>(), t.io.get("vis").to_vector<float>()), 1e-4);
  const Tensor fine = t.tracker.refine(images, t.io.get("coarse_tracks"));
  const double fine_err = max_abs_diff(fine, t.io.get("fine_tracks"));
  EXPECT_LE(fine_err, 1e-3);
  // The whole forward from our own feature maps.
  const VggsfmTracker::Result all = t.tracker.track(images, fmaps, query, true, coarse_iters, 7);
  const double all_err = max_abs_diff(all.tracks, t.io.get("fine_tracks"));
  EXPECT_LE(all_err, 1e-3);
  EXPECT_LE(max_abs_diff(all.vis, t.io.get("vis")), 1e-4);
  const VggsfmTracker::Result no_fine = t.tracker.track(images, fmaps, query, false, coarse_iters);
  EXPECT_LE(max_abs_diff(no_fine.tracks, t.io.get("coarse_tracks")), 1e-3);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  fmaps rel %.2e, vis max %.2e, fine (official coarse) max %.2e px, end-to-end max %.2e px, %.2f s\n",
              fmap_err, vis_err, fine_err, all_err, secs);
}

// fine_fnet on the first two patches of frame 0 (31x31 at the floored query points, clamped into the image).
TEST(Tracker, FinePatchFeaturesMatchOfficial) {
  Tiny t;
  const Tensor images = t.io.get("images"), query = t.io.get("query_points"), ref = t.io.get("fine_patch_feat");
  const int64_t H = images.size(2), W = images.size(3), pr = t.cfg.pradius, P = 2 * pr + 1;
  const float* img = images.data<float>();
  for (int64_t n = 0; n < 2; ++n) {
    int64_t tl[2];
    for (int k = 0; k < 2; ++k)
      tl[k] = std::clamp<int64_t>(static_cast<int64_t>(std::floor(query.data<float>()[n * 2 + k])) - pr, 0, H - P);
    Tensor patch = Tensor::empty({3, P, P});
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < P; ++y)
        for (int64_t x = 0; x < P; ++x)
          patch.data<float>()[(c * P + y) * P + x] = img[(c * H + tl[1] + y) * W + tl[0] + x];
    const Tensor f = t.tracker.fine_features(patch);
    const int64_t n_el = f.numel();
    std::vector<float> want(ref.data<float>() + n * n_el, ref.data<float>() + (n + 1) * n_el);
    const double e = test::rel_error(f.to_vector<float>(), want);
    EXPECT_LE(e, 1e-4) << "patch " << n;
    std::printf("  fine patch %ld rel err %.2e\n", static_cast<long>(n), e);
  }
}

TEST(Tracker, SafetensorsAndPtWeightsAgree) {
  Tiny t;
  test::TempDir dir("tracker_weights");
  StateDict sd = load_state_dict(fixture("tracker_tiny.pt"), tracker_params(t.cfg), {"VGGSfM v2 tracker", "", {}, {}});
  SafetensorsWriter wr;
  for (const auto& [k, v] : sd.tensors) wr.add(k, v, StDType::F16);  // the fixture values are fp16-exact
  wr.write(dir.path / "w.safetensors");
  const VggsfmTracker st = VggsfmTracker::load(dir.path / "w.safetensors", t.cfg);
  const Tensor fm = t.io.get("fmaps"), q = t.io.get("query_points");
  EXPECT_EQ(st.coarse_track(fm, q, 2).iters.back().to_vector<float>(),
            t.tracker.coarse_track(fm, q, 2).iters.back().to_vector<float>());
}

// The expected key list for the published configuration equals the official TrackerPredictor's state dict.
TEST(Tracker, PublishedKeysMatchOfficialStateDict) {
  SafetensorsFile io = SafetensorsFile::open(fixture("tracker_tiny.safetensors"));
  const auto full = nlohmann::json::parse(io.metadata().at("full_keys"));
  std::map<std::string, Shape> official, ours;
  for (const auto& [k, v] : full.items()) official[k] = v.get<Shape>();
  for (const auto& [k, s] : tracker_params(TrackerConfig{})) ours[k] = s;
  EXPECT_EQ(ours, official);
  EXPECT_EQ(TrackerConfig{}.coarse.transformer_dim(), 664);
  EXPECT_EQ(TrackerConfig{}.fine.transformer_dim(), 216);
}

TEST(Tracker, LoaderNamesMissingAndMisshapedKeys) {
  Tiny t;
  test::TempDir dir("tracker_bad_weights");
  StateDict sd = load_state_dict(fixture("tracker_tiny.pt"), tracker_params(t.cfg), {"VGGSfM v2 tracker", "", {}, {}});
  SafetensorsWriter wr;
  for (const auto& [k, v] : sd.tensors) {
    if (k == "fine_fnet.conv2.bias") continue;  // missing
    wr.add(k, k == "coarse_predictor.norm.weight" ? Tensor::zeros({7}) : v);  // mis-shaped
  }
  wr.write(dir.path / "bad.safetensors");
  const std::string err = test::error_of([&] { VggsfmTracker::load(dir.path / "bad.safetensors", t.cfg); });
  EXPECT_NE(err.find("fine_fnet.conv2.bias"), std::string::npos) << err;
  EXPECT_NE(err.find("coarse_predictor.norm.weight"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
  // The published configuration does not fit the tiny file: one error, not a crash.
  EXPECT_NE(test::error_of([&] { VggsfmTracker::load(fixture("tracker_tiny.pt")); }), "");
}

TEST(Tracker, BadInputsThrowClearErrors) {
  Tiny t;
  const Tensor fm = t.io.get("fmaps"), q = t.io.get("query_points");
  // Too small for the coarse encoder (after the 2x down-scaling: 6x6).
  EXPECT_NE(test::error_of([&] { t.tracker.coarse_fmaps(Tensor::zeros({1, 3, 12, 12})); }).find("too small"),
            std::string::npos);
  // Fine tracking on non-square images.
  const Tensor rect = Tensor::zeros({3, 3, 64, 96});
  EXPECT_NE(test::error_of([&] { t.tracker.refine(rect, Tensor::zeros({3, 2, 2})); }).find("square"),
            std::string::npos);
  // Images smaller than a fine patch.
  EXPECT_NE(test::error_of([&] { t.tracker.refine(Tensor::zeros({3, 3, 20, 20}), Tensor::zeros({3, 2, 2})); }), "");
  // Feature maps of another channel count; query points of the wrong shape.
  EXPECT_NE(test::error_of([&] { t.tracker.coarse_track(Tensor::zeros({3, 8, 16, 16}), q, 1); }), "");
  EXPECT_NE(test::error_of([&] { t.tracker.coarse_track(fm, Tensor::zeros({4, 3}), 1); }), "");
  // A configuration whose transformer input does not fit (the official module fails too).
  TrackerConfig bad = t.cfg;
  bad.coarse.corr_levels = 3;
  EXPECT_NE(test::error_of([&] { bad.validate(); }).find("does not fit"), std::string::npos);
}

// The published configuration (random weights, 4 frames of 1024x1024, 256 points) against
// `tools/tracker_fixtures.py --full --out DIR`; runs when $VGSPLAT_TRACKER_FULL names DIR (too large to commit).
TEST(Tracker, FullConfigMatchesOfficialWhenGiven) {
  const char* dir = std::getenv("VGSPLAT_TRACKER_FULL");
  if (!dir) GTEST_SKIP() << "set VGSPLAT_TRACKER_FULL to the folder written by tracker_fixtures.py --full";
  SafetensorsFile io = SafetensorsFile::open(std::filesystem::path(dir) / "tracker_full_io.safetensors");
  const TrackerConfig cfg = config_of(io);
  const VggsfmTracker tracker = VggsfmTracker::load(std::filesystem::path(dir) / "tracker_full.pt", cfg);
  const Tensor images = io.get("images"), query = io.get("query_points");
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  auto t0 = now();
  const Tensor fmaps = tracker.coarse_fmaps(images);
  auto t1 = now();
  const VggsfmTracker::CoarseResult coarse = tracker.coarse_track(io.get("fmaps"), query, 6);
  auto t2 = now();
  const Tensor fine = tracker.refine(images, io.get("coarse_tracks"));
  auto t3 = now();
  const double fe = test::rel_error(fmaps.to_vector<float>(), io.get("fmaps").to_vector<float>());
  EXPECT_LE(fe, 1e-4);
  for (int i = 0; i < 6; ++i) {
    const double e = max_abs_diff(coarse.iters[i], io.get("coarse_iter" + std::to_string(i)));
    EXPECT_LE(e, 1e-3) << "coarse iteration " << i;
    std::printf("  coarse iter %d max |diff| %.2e px\n", i, e);
  }
  const double ve = max_abs_diff(coarse.vis, io.get("vis")), te = max_abs_diff(fine, io.get("fine_tracks"));
  EXPECT_LE(test::rel_error(coarse.vis.to_vector<float>(), io.get("vis").to_vector<float>()), 1e-4);
  EXPECT_LE(te, 1e-3);
  std::printf("  full: fmaps rel %.2e (%.2f s), coarse (%.2f s), vis max %.2e, fine max %.2e px (%.2f s)\n", fe,
              secs(t0, t1), secs(t1, t2), ve, te, secs(t2, t3));
}

}  // namespace
}  // namespace vg::tracks
