// SuperPoint keypoints (src/tracks/superpoint.*) against LightGlue's SuperPoint.extract on the tiny random-weight
// fixture (tools/superpoint_fixtures.py --tiny: tests/data/superpoint_tiny.safetensors holds images and outputs,
// superpoint_tiny.pt the narrowed network's weights). With VGSPLAT_SUPERPOINT_FULL=DIR (the --full output) the
// published configuration on a 1024x1024 image is checked too.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "io/torch_pickle.h"
#include "temp_dir.h"
#include "test_util.h"
#include "core/cuda_memory.h"
#include "tracks/cuda_superpoint.h"
#include "tracks/superpoint.h"

namespace vg::tracks {
namespace {

constexpr SuperPointWidths kTinyWidths = {8, 8, 16, 16, 32};

std::filesystem::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }

SuperPointOptions tiny_options(int max_keypoints) {
  SuperPointOptions o;
  o.max_keypoints = max_keypoints;
  o.resize = 0;  // extract(image, resize=None)
  return o;
}

// (y, x, score) sorted by position: keypoint SETS compare equal whatever the order of ties.
std::vector<std::tuple<float, float, float>> by_position(const Tensor& xy, const Tensor& scores) {
  const std::vector<float> p = xy.to_vector<float>(), s = scores.to_vector<float>();
  std::vector<std::tuple<float, float, float>> v;
  for (size_t i = 0; i < s.size(); ++i) v.emplace_back(p[2 * i + 1], p[2 * i], s[i]);
  std::sort(v.begin(), v.end());
  return v;
}

// Identical keypoint sets (positions exact), scores within `tol` relative; ours best first. Returns the
// number of keypoints.
size_t expect_same_keypoints(const Keypoints& got, const Tensor& ref_xy, const Tensor& ref_scores, double tol,
                             const std::string& label) {
  EXPECT_EQ(got.xy.ndim(), 2) << label;
  const auto a = by_position(got.xy, got.scores), b = by_position(ref_xy, ref_scores);
  EXPECT_EQ(a.size(), b.size()) << label;
  std::map<std::pair<float, float>, float> ref;
  for (const auto& [y, x, s] : b) ref[{y, x}] = s;
  std::vector<float> sa, sb;
  size_t only_ours = 0;
  for (const auto& [y, x, s] : a) {
    auto it = ref.find({y, x});
    if (it == ref.end()) {
      ++only_ours;
      continue;
    }
    sa.push_back(s);
    sb.push_back(it->second);
  }
  EXPECT_EQ(only_ours, 0u) << label << ": keypoints that LightGlue does not return (of " << a.size() << ")";
  const double err = test::rel_error(sa, sb);
  EXPECT_LE(err, tol) << label;
  const std::vector<float> s = got.scores.to_vector<float>();
  EXPECT_TRUE(std::is_sorted(s.rbegin(), s.rend())) << label << ": not best first";
  std::printf("  %-24s %4zu keypoints, score rel err %.2e\n", label.c_str(), a.size(), err);
  return a.size();
}

TEST(SuperPoint, TinyFixtureMatchesLightGlue) {
  SafetensorsFile io = SafetensorsFile::open(fixture("superpoint_tiny.safetensors"));
  const auto budgets = nlohmann::json::parse(io.metadata().at("budgets")).get<std::vector<int>>();
  const int images = std::stoi(io.metadata().at("images"));
  ASSERT_EQ(images, 2);
  size_t total = 0;
  for (int k : budgets) {
    const SuperPoint sp = SuperPoint::load(fixture("superpoint_tiny.pt"), tiny_options(k), kTinyWidths);
    for (int i = 0; i < images; ++i) {
      const std::string n = std::to_string(i), suffix = n + "_k" + std::to_string(k);
      const Tensor image = io.get("image" + n);
      const Tensor dense = sp.dense_scores(image);
      const double err = test::rel_error(dense.to_vector<float>(), io.get("dense_scores" + n).to_vector<float>());
      EXPECT_LE(err, 1e-4) << "dense_scores" << n;
      const Tensor nms = simple_nms(dense, sp.options().nms_radius);
      const std::vector<float> ours = nms.to_vector<float>(), ref = io.get("nms_scores" + n).to_vector<float>();
      size_t survivors_differ = 0;
      for (size_t j = 0; j < ref.size(); ++j) survivors_differ += (ours[j] > 0) != (ref[j] > 0);
      EXPECT_EQ(survivors_differ, 0u) << "nms_scores" << n;
      if (k == budgets[0]) std::printf("  dense_scores%s rel err %.2e, nms rel err %.2e\n", n.c_str(), err,
                                       test::rel_error(ours, ref));
      total += expect_same_keypoints(sp.extract(image), io.get("keypoints" + suffix),
                                     io.get("keypoint_scores" + suffix), 1e-4, "keypoints" + suffix);
    }
  }
  EXPECT_GT(total, 500u);  // the fixture's detector head is calibrated so that every stage selects
}

// When max_keypoints cuts, LightGlue's order is torch.topk's (best first): equal to ours wherever scores differ.
TEST(SuperPoint, TopKOrderIsBestFirst) {
  SafetensorsFile io = SafetensorsFile::open(fixture("superpoint_tiny.safetensors"));
  const SuperPoint sp = SuperPoint::load(fixture("superpoint_tiny.pt"), tiny_options(48), kTinyWidths);
  const Keypoints kp = sp.extract(io.get("image0"));
  EXPECT_EQ(kp.xy.to_vector<float>(), io.get("keypoints0_k48").to_vector<float>());
}

TEST(SuperPoint, SafetensorsAndPtWeightsAgree) {
  SafetensorsFile io = SafetensorsFile::open(fixture("superpoint_tiny.safetensors"));
  const auto sd = load_torch_state_dict(fixture("superpoint_tiny.pt"));
  test::TempDir dir("superpoint_st");
  SafetensorsWriter wr;
  for (const auto& [k, t] : sd) wr.add(k, t, StDType::F16);  // fp16-exact values
  wr.write(dir.path / "w.safetensors");
  const Tensor image = io.get("image1");
  const Keypoints a = SuperPoint::load(fixture("superpoint_tiny.pt"), tiny_options(0), kTinyWidths).extract(image);
  const Keypoints b = SuperPoint::load(dir.path / "w.safetensors", tiny_options(0), kTinyWidths).extract(image);
  EXPECT_EQ(a.xy.to_vector<float>(), b.xy.to_vector<float>());
  EXPECT_EQ(a.scores.to_vector<float>(), b.scores.to_vector<float>());
}

// The published superpoint_v1.pth's keys and shapes (recorded from the official module) load with the default
// widths; the descriptor head's keys are accepted and dropped.
TEST(SuperPoint, PublishedKeysLoad) {
  SafetensorsFile io = SafetensorsFile::open(fixture("superpoint_tiny.safetensors"));
  const auto full = nlohmann::json::parse(io.metadata().at("full_keys"));
  test::TempDir dir("superpoint_keys");
  SafetensorsWriter wr;
  for (const auto& [k, v] : full.items()) wr.add(k, Tensor::zeros(v.get<Shape>()), StDType::F16);
  wr.write(dir.path / "published.safetensors");
  SuperPointOptions opt;
  opt.resize = 0;
  const SuperPoint sp = SuperPoint::load(dir.path / "published.safetensors", opt);
  const Tensor dense = sp.dense_scores(Tensor::zeros({3, 16, 24}));
  EXPECT_EQ(dense.shape(), (Shape{16, 24}));
  EXPECT_NEAR(dense.to_vector<float>()[0], 1.0f / 65.0f, 1e-7);  // zero logits: uniform over 65 bins
}

TEST(SuperPoint, LoaderNamesMissingAndMisshapedKeys) {
  const auto sd = load_torch_state_dict(fixture("superpoint_tiny.pt"));
  test::TempDir dir("superpoint_bad");
  SafetensorsWriter wr;
  for (const auto& [k, t] : sd)
    if (k == "convPb.weight")
      wr.add(k, Tensor::zeros({64, 32, 1, 1}));  // 64 bins instead of 65
    else if (k != "conv3a.bias")
      wr.add(k, t);
  wr.write(dir.path / "bad.safetensors");
  const std::string msg = test::error_of([&] { SuperPoint::load(dir.path / "bad.safetensors", {}, kTinyWidths); });
  EXPECT_NE(msg.find("SuperPoint"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing keys: conv3a.bias"), std::string::npos) << msg;
  const std::string misshaped =
      "convPb.weight " + shape_str({64, 32, 1, 1}) + " (expected " + shape_str({65, 32, 1, 1}) + ")";
  EXPECT_NE(msg.find(misshaped), std::string::npos) << msg;
  EXPECT_EQ(msg.find("convDa"), std::string::npos) << msg;  // the descriptor head is ignored, not "unexpected"
  const std::string none = test::error_of([&] { SuperPoint::load(dir.path / "none.pth"); });
  EXPECT_NE(none.find(kSuperPointFile), std::string::npos) << none;
}

TEST(SuperPoint, RejectsBadInputs) {
  const SuperPoint sp = SuperPoint::load(fixture("superpoint_tiny.pt"), tiny_options(0), kTinyWidths);
  EXPECT_NE(test::error_of([&] { sp.extract(Tensor::zeros({3, 7, 64})); }).find("smaller than one 8x8 cell"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { sp.extract(Tensor::zeros({2, 32, 32})); }).find("[3,H,W]"), std::string::npos);
  SuperPointOptions opt;  // resize = 1024: only 1024-px images are accepted
  const SuperPoint sp1024 = SuperPoint::load(fixture("superpoint_tiny.pt"), opt, kTinyWidths);
  const std::string msg = test::error_of([&] { sp1024.extract(Tensor::zeros({3, 96, 128})); });
  EXPECT_NE(msg.find("long side of 1024"), std::string::npos) << msg;
  opt.max_keypoints = -1;
  EXPECT_FALSE(test::error_of([&] { SuperPoint::load(fixture("superpoint_tiny.pt"), opt, kTinyWidths); }).empty());
}

TEST(SuperPoint, SimpleNmsKeepsMaximaOutsideSuppressedWindows) {
  // 1-D chain along a row: 0.9 at x=2 suppresses x<=6; 0.8 at x=6 is inside, 0.7 at x=10 is a new maximum
  // once x=6 is zeroed (distance 4 from 6 but 8 from 2).
  Tensor s = Tensor::zeros({3, 16});
  float* p = s.data<float>();
  p[16 + 2] = 0.9f, p[16 + 6] = 0.8f, p[16 + 10] = 0.7f;
  const std::vector<float> out = simple_nms(s, 4).to_vector<float>();
  EXPECT_FLOAT_EQ(out[16 + 2], 0.9f);
  EXPECT_FLOAT_EQ(out[16 + 6], 0.0f);
  EXPECT_FLOAT_EQ(out[16 + 10], 0.7f);
}

TEST(SuperPoint, FullConfigurationMatchesLightGlue) {
  const char* dir = std::getenv("VGSPLAT_SUPERPOINT_FULL");
  if (!dir) GTEST_SKIP() << "set VGSPLAT_SUPERPOINT_FULL to a tools/superpoint_fixtures.py --full output";
  SafetensorsFile io = SafetensorsFile::open(std::filesystem::path(dir) / "superpoint_full_io.safetensors");
  const auto budgets = nlohmann::json::parse(io.metadata().at("budgets")).get<std::vector<int>>();
  const Tensor image = io.get("image0");
  for (int k : budgets) {
    SuperPointOptions opt;
    opt.max_keypoints = k;
    const SuperPoint sp = SuperPoint::load(std::filesystem::path(dir) / "superpoint_full_weights.safetensors", opt);
    if (k == budgets[0]) {
      const double err =
          test::rel_error(sp.dense_scores(image).to_vector<float>(), io.get("dense_scores0").to_vector<float>());
      EXPECT_LE(err, 1e-4);
      std::printf("  full dense_scores0 rel err %.2e\n", err);
    }
    const std::string suffix = "0_k" + std::to_string(k);
    expect_same_keypoints(sp.extract(image), io.get("keypoints" + suffix), io.get("keypoint_scores" + suffix), 1e-4,
                          "full keypoints" + suffix);
  }
}

// CudaSuperPoint on the published configuration (VGSPLAT_SUPERPOINT_FULL, a GPU): the same thresholds as the CPU
// engine's test (dense map rel <= 1e-4 in fp32, identical keypoints), with timings (after a warm-up run).
TEST(SuperPoint, CudaFullConfigurationMatchesLightGlue) {
  const char* dir = std::getenv("VGSPLAT_SUPERPOINT_FULL");
  if (!dir) GTEST_SKIP() << "set VGSPLAT_SUPERPOINT_FULL to a tools/superpoint_fixtures.py --full output";
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  SafetensorsFile io = SafetensorsFile::open(std::filesystem::path(dir) / "superpoint_full_io.safetensors");
  const auto budgets = nlohmann::json::parse(io.metadata().at("budgets")).get<std::vector<int>>();
  const Tensor image = io.get("image0");
  const Device gpu = Device::cuda(0);
  for (int k : budgets) {
    SuperPointOptions opt;
    opt.max_keypoints = k;
    const SuperPoint sp = SuperPoint::load(std::filesystem::path(dir) / "superpoint_full_weights.safetensors", opt);
    const CudaSuperPoint csp(sp, gpu);
    if (k == budgets[0]) {
      const Tensor image_dev = image.to(gpu);
      csp.extract(image_dev);  // warm-up
      cuda_synchronize();
      const auto t0 = std::chrono::steady_clock::now();
      const Tensor dense = csp.dense_scores(image_dev);
      cuda_synchronize();
      const auto t1 = std::chrono::steady_clock::now();
      csp.extract(image_dev);
      const auto t2 = std::chrono::steady_clock::now();
      const double err = test::rel_error(dense.to_vector<float>(), io.get("dense_scores0").to_vector<float>());
      EXPECT_LE(err, 1e-4);
      std::printf("  cuda full dense_scores0 rel err %.2e; dense map %.2f ms, extract %.2f ms (image on the GPU)\n",
                  err, std::chrono::duration<double, std::milli>(t1 - t0).count(),
                  std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    const std::string suffix = "0_k" + std::to_string(k);
    const Keypoints got = csp.extract(image);
    if (k > 0) {  // the pipeline's budgets: the same keypoints
      expect_same_keypoints(got, io.get("keypoints" + suffix), io.get("keypoint_scores" + suffix), 1e-4,
                            "cuda full keypoints" + suffix);
      continue;
    }
    // No budget: every local maximum above the threshold. Scores agree to ~5e-6 relative, so a point whose score
    // sits that close to the threshold (or to a neighbour's in the NMS) may flip: at most 1 in 10^4 may differ.
    const auto a = by_position(got.xy, got.scores);
    const auto b = by_position(io.get("keypoints" + suffix), io.get("keypoint_scores" + suffix));
    std::set<std::pair<float, float>> pa, pb, diff;
    for (const auto& [y, x, sc] : a) pa.insert({y, x});
    for (const auto& [y, x, sc] : b) pb.insert({y, x});
    std::set_symmetric_difference(pa.begin(), pa.end(), pb.begin(), pb.end(), std::inserter(diff, diff.begin()));
    EXPECT_LE(diff.size(), b.size() / 10000) << "cuda full keypoints" << suffix;
    std::printf("  cuda full keypoints%s: %zu vs LightGlue %zu, %zu differ\n", suffix.c_str(), a.size(), b.size(),
                diff.size());
  }
}

}  // namespace
}  // namespace vg::tracks
