// The CPU fp32 VGGT engine against the official PyTorch code on the tiny random-weight fixture
// (tools/vggt_fixtures.py --tiny: tests/data/vggt_tiny.safetensors holds inputs/outputs, vggt_tiny.pt the weights).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"
#include "vggt_test_util.h"
#include "vggt/model.h"
#include "vggt/weights.h"

namespace vg::vggt {
namespace {

std::filesystem::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }

TEST(VggtModel, TinyFixtureMatchesOfficialFp32) {
  const VggtConfig cfg = VggtConfig::tiny();
  SafetensorsFile io = SafetensorsFile::open(fixture("vggt_tiny.safetensors"));
  VggtModel model(cfg, load_weights(fixture("vggt_tiny.pt"), cfg, /*point_head=*/true));
  const Tensor images = io.get("images");
  ASSERT_EQ(images.shape(), (Shape{3, 3, 56, 70}));
  auto t0 = std::chrono::steady_clock::now();
  VggtOutput out = model.forward(images, {.point_head = true, .keep_all_tokens = true});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, Tensor> got = test::vggt_outputs_by_name(out);
  test::expect_matches_fixture(io, got, 1e-4, "cpu fp32");
  std::printf("  tiny forward (3 frames 56x70, point head): %.3f s\n", secs);
}

TEST(VggtModel, SafetensorsAndPtWeightsAgree) {
  const VggtConfig cfg = VggtConfig::tiny();
  VggtWeights pt = load_weights(fixture("vggt_tiny.pt"), cfg, true);
  SafetensorsWriter wr;
  for (const auto& [k, t] : pt.tensors) wr.add(k, t, StDType::F16);  // the fixture values are fp16-exact
  wr.add("track_head.unused.weight", Tensor::zeros({2, 2}));          // official checkpoints carry it: ignored
  const auto path = std::filesystem::temp_directory_path() / "vggt_tiny_weights_test.safetensors";
  wr.write(path);
  VggtWeights st = load_weights(path, cfg, true);
  std::filesystem::remove(path);
  ASSERT_EQ(st.tensors.size(), pt.tensors.size());
  for (const auto& [k, t] : pt.tensors) EXPECT_EQ(st.at(k).to_vector<float>(), t.to_vector<float>()) << k;
}

// The expected key list for the VGGT-1B configuration equals the official state dict's (recorded by the
// fixture script from the official modules, track head excluded).
TEST(VggtModel, FullConfigKeysMatchOfficialStateDict) {
  SafetensorsFile io = SafetensorsFile::open(fixture("vggt_tiny.safetensors"));
  const auto full = nlohmann::json::parse(io.metadata().at("full_keys"));
  std::map<std::string, Shape> official;
  for (const auto& [k, v] : full.items()) official[k] = v.get<Shape>();
  std::map<std::string, Shape> ours;
  for (const auto& [k, s] : expected_params(VggtConfig{}, /*point_head=*/true)) ours[k] = s;
  EXPECT_EQ(ours.size(), official.size());
  for (const auto& [k, s] : official) {
    auto it = ours.find(k);
    if (it == ours.end()) {
      ADD_FAILURE() << "missing from expected_params: " << k;
      continue;
    }
    EXPECT_EQ(it->second, s) << k;
  }
  EXPECT_NO_THROW(check_state_dict(official, VggtConfig{}, true, "official"));
}

}  // namespace
}  // namespace vg::vggt
