// VGGT checkpoint loading: official key names from safetensors and torch.save zips; one clear error for
// missing / mis-shaped / unexpected keys, corrupt files and absent weights.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "test_util.h"
#include "vggt/weights.h"

namespace vg::vggt {
namespace {

std::filesystem::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }
std::filesystem::path tmp(const char* name) { return std::filesystem::temp_directory_path() / name; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(VggtWeights, FullSizeKeyListWithTinyTensors) {
  // Every official VGGT-1B key, each a 1-element tensor: keys are all found, every shape is reported.
  const auto params = expected_params(VggtConfig{}, false);
  EXPECT_GT(params.size(), 1000u);
  SafetensorsWriter wr;
  for (const auto& [k, s] : params) wr.add(k, Tensor::zeros({1}), StDType::BF16);
  const auto path = tmp("vggt_full_keys_tiny.safetensors");
  wr.write(path);
  const std::string msg = error_of([&] { load_weights(path, VggtConfig{}, false); });
  std::filesystem::remove(path);
  EXPECT_NE(msg.find(std::to_string(params.size()) + " mis-shaped keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("aggregator.patch_embed.cls_token [1] (expected [1,1,1024])"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("missing"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);  // one line
  EXPECT_NE(msg.find("more)"), std::string::npos);  // the list is cut after 20

  std::map<std::string, Shape> shapes;
  for (const auto& [k, s] : params) shapes[k] = s;
  shapes["track_head.feature_extractor.norm.weight"] = {128};  // in the official checkpoint, unused here
  EXPECT_NO_THROW(check_state_dict(shapes, VggtConfig{}, false, "model.safetensors"));
}

TEST(VggtWeights, ReadsTorchZipWrittenByPyTorch) {
  VggtWeights w = load_weights(fixture("vggt_tiny.pt"), VggtConfig::tiny(), true);
  EXPECT_EQ(w.tensors.size(), expected_params(VggtConfig::tiny(), true).size());
  EXPECT_EQ(w.at("aggregator.frame_blocks.1.attn.qkv.weight").shape(), (Shape{192, 64}));
  EXPECT_EQ(w.at("camera_head.poseLN_modulation.1.weight").shape(), (Shape{384, 128}));
  // Without the point head its keys are dropped, not "unexpected".
  VggtWeights nopts = load_weights(fixture("vggt_tiny.pt"), VggtConfig::tiny(), false);
  EXPECT_FALSE(nopts.has("point_head.norm.weight"));
  // The tiny file against the full configuration: every problem in one message.
  const std::string msg = error_of([&] { load_weights(fixture("vggt_tiny.pt"), VggtConfig{}, false); });
  EXPECT_NE(msg.find("missing keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mis-shaped keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vggt_tiny.pt"), std::string::npos) << msg;
}

TEST(VggtWeights, Dinov2CheckpointListsMissingKeys) {
  std::map<std::string, Shape> dino = {{"cls_token", {1, 1, 1024}},   {"pos_embed", {1, 1370, 1024}},
                                       {"register_tokens", {1, 4, 1024}}, {"mask_token", {1, 1024}},
                                       {"patch_embed.proj.weight", {1024, 3, 14, 14}}, {"norm.weight", {1024}}};
  const std::string msg = error_of([&] { check_state_dict(dino, VggtConfig{}, false, "dinov2_vitl14_reg4.pth"); });
  EXPECT_NE(msg.find("missing keys: aggregator."), std::string::npos) << msg;
  EXPECT_NE(msg.find("6 unexpected keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("facebook/VGGT-1B"), std::string::npos) << msg;
}

TEST(VggtWeights, CorruptFilesAreRejected) {
  for (const char* name : {"vggt_tiny.pt", "vggt_tiny.safetensors"}) {
    std::ifstream in(fixture(name), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const auto path = tmp((std::string("truncated_") + name).c_str());
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    const std::string msg = error_of([&] { load_weights(path, VggtConfig::tiny(), false); });
    std::filesystem::remove(path);
    EXPECT_FALSE(msg.empty()) << name;
    EXPECT_NE(msg.find("truncated_"), std::string::npos) << msg;
  }
}

TEST(VggtWeights, NoWeightsSaysWhatToGet) {
  unsetenv("VGSPLAT_VGGT_WEIGHTS");
  std::string msg = error_of([] { resolve_weights_path(""); });
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("facebook/VGGT-1B"), std::string::npos) << msg;
  EXPECT_NE(msg.find("VGSPLAT_VGGT_WEIGHTS"), std::string::npos) << msg;
  msg = error_of([] { resolve_weights_path("/nonexistent/model.safetensors"); });
  EXPECT_NE(msg.find("not found: /nonexistent/model.safetensors"), std::string::npos) << msg;
  setenv("VGSPLAT_VGGT_WEIGHTS", fixture("vggt_tiny.pt").c_str(), 1);
  EXPECT_EQ(resolve_weights_path(""), fixture("vggt_tiny.pt"));
  unsetenv("VGSPLAT_VGGT_WEIGHTS");
}

}  // namespace
}  // namespace vg::vggt
