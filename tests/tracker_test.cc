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
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "io/safetensors.h"
#include "temp_dir.h"
#include "test_util.h"
#include "tracker_fixture.h"
#include "tracks/cuda_nn.h"
#include "tracks/cuda_tracker.h"
#include "tracks/tracker.h"

namespace vg::tracks {
namespace {

std::filesystem::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }

TrackerConfig config_of(const SafetensorsFile& io) { return test::tracker_config_of(io); }

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

// Per-point |a - b| (pixels) of tracks [S,N,2] over frames s >= s0, sorted.
std::vector<double> point_diffs(const Tensor& a, const Tensor& b, int64_t s0) {
  EXPECT_EQ(a.shape(), b.shape());
  const auto x = a.to_vector<float>(), y = b.to_vector<float>();
  const int64_t N = a.size(1);
  std::vector<double> d;
  for (int64_t i = s0 * N; i < static_cast<int64_t>(std::min(x.size(), y.size())) / 2; ++i) {
    const double v = std::hypot(double(x[2 * i]) - y[2 * i], double(x[2 * i + 1]) - y[2 * i + 1]);
    d.push_back(std::isfinite(v) ? v : INFINITY);
  }
  std::sort(d.begin(), d.end());
  return d;
}
double median(const std::vector<double>& d) { return d.empty() ? 0.0 : d[d.size() / 2]; }
double maximum(const std::vector<double>& d) { return d.empty() ? 0.0 : d.back(); }

// The published-size fixture's tracks, fp32. With random weights the official tracker amplifies any rounding
// difference ~3x per coarse iteration (a 1e-6 relative change of its feature maps moves its own tracks by ~12 px
// untamed; the fixture tames the flow heads by 1/64), so every point is held to 1e-3 px for the first two
// coarse iterations and the median of every iteration and of the fine tracks to 1e-3 px; the maxima of the late
// iterations are printed (CPU and CUDA engines: 1e-3 .. 3e-2 px) and bounded at 0.1 px.
void check_published_tracks(const SafetensorsFile& io, const VggsfmTracker::CoarseResult& coarse, const Tensor& fine,
                            const char* engine) {
  for (size_t i = 0; i < coarse.iters.size(); ++i) {
    const Tensor& ref = io.get("coarse_iter" + std::to_string(i));
    const double mx = max_abs_diff(coarse.iters[i], ref), med = median(point_diffs(coarse.iters[i], ref, 0));
    EXPECT_LE(mx, i < 2 ? 1e-3 : 0.1) << engine << " coarse iteration " << i;
    EXPECT_LE(med, 1e-3) << engine << " coarse iteration " << i;
    std::printf("  %s coarse iter %zu |diff| max %.2e median %.2e px\n", engine, i, mx, med);
  }
  EXPECT_LE(test::rel_error(coarse.vis.to_vector<float>(), io.get("vis").to_vector<float>()), 5e-3) << engine;
  const double fmx = max_abs_diff(fine, io.get("fine_tracks")), fmed = median(point_diffs(fine, io.get("fine_tracks"), 1));
  EXPECT_LE(fmx, 0.1) << engine << " fine tracks";
  EXPECT_LE(fmed, 1e-3) << engine << " fine tracks";
  std::printf("  %s fine |diff| max %.2e median %.2e px\n", engine, fmx, fmed);
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
  check_published_tracks(io, coarse, fine, "cpu");
  const double ve = max_abs_diff(coarse.vis, io.get("vis")), te = max_abs_diff(fine, io.get("fine_tracks"));
  std::printf("  full: fmaps rel %.2e (%.2f s), coarse (%.2f s), vis max %.2e, fine max %.2e px (%.2f s)\n", fe,
              secs(t0, t1), secs(t1, t2), ve, te, secs(t2, t3));
}


// ---- the CUDA engine (tracks/cuda_tracker.h) against the same official outputs

using vggt::cuda::Precision;

Tensor host_nchw(const Tensor& nhwc) { return cuda::nhwc_to_nchw(nhwc).to(Device::cpu()); }


TEST(Tracker, CudaTinyFixtureMatchesOfficialFp32) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  Tiny t;
  const CudaVggsfmTracker ct(t.tracker, Device::cuda(0), Precision::F32);
  const Tensor images = t.io.get("images"), query = t.io.get("query_points");
  const int coarse_iters = std::stoi(t.io.metadata().at("coarse_iters"));
  const Tensor fmaps = ct.coarse_fmaps(images);
  const double fmap_err = test::rel_error(host_nchw(fmaps).to_vector<float>(), t.io.get("fmaps").to_vector<float>());
  EXPECT_LE(fmap_err, 1e-4);
  const VggsfmTracker::CoarseResult coarse = ct.coarse_track(t.io.get("fmaps"), query, coarse_iters);
  ASSERT_EQ(coarse.iters.size(), static_cast<size_t>(coarse_iters));
  for (int i = 0; i < coarse_iters; ++i)
    EXPECT_LE(max_abs_diff(coarse.iters[i], t.io.get("coarse_iter" + std::to_string(i))), 1e-3) << "iteration " << i;
  EXPECT_LE(test::rel_error(coarse.vis.to_vector<float>(), t.io.get("vis").to_vector<float>()), 1e-4);
  const double fine_err = max_abs_diff(ct.refine(images, t.io.get("coarse_tracks")), t.io.get("fine_tracks"));
  EXPECT_LE(fine_err, 1e-3);
  const VggsfmTracker::Result all = ct.track(images, fmaps, query, true, coarse_iters);
  const double all_err = max_abs_diff(all.tracks, t.io.get("fine_tracks"));
  EXPECT_LE(all_err, 1e-3);
  std::printf("  cuda fp32: fmaps rel %.2e, fine (official coarse) max %.2e px, end-to-end max %.2e px\n", fmap_err,
              fine_err, all_err);
}

// The published configuration on the GPU: fp32 to the official outputs as the CPU test, bf16 by its track error.
TEST(Tracker, CudaFullConfigMatchesOfficialWhenGiven) {
  const char* dir = std::getenv("VGSPLAT_TRACKER_FULL");
  if (!dir) GTEST_SKIP() << "set VGSPLAT_TRACKER_FULL to the folder written by tracker_fixtures.py --full";
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  SafetensorsFile io = SafetensorsFile::open(std::filesystem::path(dir) / "tracker_full_io.safetensors");
  const TrackerConfig cfg = config_of(io);
  const VggsfmTracker tracker = VggsfmTracker::load(std::filesystem::path(dir) / "tracker_full.pt", cfg);
  const Tensor images = io.get("images"), query = io.get("query_points"), ref_fmaps = io.get("fmaps");
  const Tensor ref_coarse = io.get("coarse_tracks");
  auto now = [] {
    cuda_synchronize();
    return std::chrono::steady_clock::now();
  };
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  for (Precision p : {Precision::F32, Precision::BF16}) {
    const CudaVggsfmTracker ct(tracker, Device::cuda(0), p);
    const Tensor dev_images = images.to(Device::cuda(0));
    ct.refine(dev_images, ref_coarse);  // warm-up (library handles, memory pool)
    auto t0 = now();
    const Tensor fmaps = ct.coarse_fmaps(dev_images);
    auto t1 = now();
    const VggsfmTracker::CoarseResult coarse = ct.coarse_track(ref_fmaps, query, 6);
    auto t2 = now();
    const Tensor fine = ct.refine(dev_images, ref_coarse);
    auto t3 = now();
    const double fe = test::rel_error(host_nchw(fmaps).to_vector<float>(), ref_fmaps.to_vector<float>());
    const double ve = max_abs_diff(coarse.vis, io.get("vis"));
    const double vr = test::rel_error(coarse.vis.to_vector<float>(), io.get("vis").to_vector<float>());
    const std::vector<double> cd = point_diffs(coarse.iters.back(), io.get("coarse_iter5"), 0);
    const std::vector<double> fd = point_diffs(fine, io.get("fine_tracks"), 1);
    if (p == Precision::F32) {
      EXPECT_LE(fe, 1e-4);
      check_published_tracks(io, coarse, fine, "cuda fp32");
    } else {  // the bf16 bound is on the tracks the tracker returns: the fine ones
      EXPECT_LE(median(fd), 0.05) << "bf16 fine tracks";
      EXPECT_LE(median(cd), 0.1) << "bf16 coarse tracks (last iteration)";
    }
    std::printf("  cuda %s full: fmaps rel %.2e (%.3f s), coarse (%.3f s) last iter median %.3g max %.3g px, "
                "vis max %.2e rel %.2e, fine (%.3f s) median %.3g max %.3g px\n",
                vggt::cuda::precision_name(p), fe, secs(t0, t1), secs(t1, t2), median(cd), maximum(cd), ve, vr,
                secs(t2, t3), median(fd), maximum(fd));
  }
}

}  // namespace
}  // namespace vg::tracks
