// Shared by the VGGT tests: the engine's outputs by fixture name, and the comparison against the tiny
// fixture written by tools/vggt_fixtures.py from the official PyTorch code.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "io/image.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "vggt/model.h"

namespace vg::test {

// Three small photos of different sizes (gradients and a sine pattern) in <root>/scene/images, named `names`.
inline std::filesystem::path write_small_scene(const std::filesystem::path& root,
                                               const char* const (&names)[3] = {"frame_b.png", "frame_a.png", "zz.png"}) {
  const std::filesystem::path images = root / "scene" / "images";
  std::filesystem::create_directories(images);
  const int sizes[3][2] = {{64, 48}, {40, 56}, {50, 50}};
  for (int k = 0; k < 3; ++k) {
    Image img;
    img.width = sizes[k][0];
    img.height = sizes[k][1];
    img.channels = 3;
    img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) {
        img.at(y, x, 0) = static_cast<float>(x) / img.width;
        img.at(y, x, 1) = static_cast<float>(y) / img.height;
        img.at(y, x, 2) = 0.5f + 0.4f * std::sin(0.3f * (x + k * y));
      }
    write_png(images / names[k], img);
  }
  return root / "scene";
}

inline std::map<std::string, Tensor> vggt_outputs_by_name(const vggt::VggtOutput& out) {
  std::map<std::string, Tensor> got = {
      {"pose_enc", out.pose_enc},       {"extrinsics", out.extrinsics},
      {"intrinsics", out.intrinsics},   {"depth", out.depth},
      {"depth_conf", out.depth_conf},   {"world_points", out.world_points},
      {"world_points_conf", out.world_points_conf}, {"dino_patch_tokens", out.dino_patch_tokens}};
  for (size_t i = 0; i < out.pose_enc_iters.size(); ++i) got["pose_enc_iter" + std::to_string(i)] = out.pose_enc_iters[i];
  for (const auto& [i, t] : out.tokens) got["tokens_" + std::to_string(i)] = t;
  return got;
}

// Every fixture tensor but the input images must have an output of the same shape within `tol` (relative L2).
inline void expect_matches_fixture(const SafetensorsFile& io, std::map<std::string, Tensor>& got, double tol,
                                   const std::string& label) {
  size_t compared = 0;
  for (const std::string& key : io.keys()) {
    if (key == "images") continue;
    ASSERT_TRUE(got.count(key)) << label << ": no output for fixture tensor " << key;
    const Tensor ref = io.get(key);
    ASSERT_EQ(got[key].shape(), ref.shape()) << key;
    const double err = rel_error(got[key].to_vector<float>(), ref.to_vector<float>());
    EXPECT_LE(err, tol) << label << " " << key;
    std::printf("  [%s] %-20s rel err %.2e\n", label.c_str(), key.c_str(), err);
    ++compared;
  }
  EXPECT_GE(compared, 14u);
}

}  // namespace vg::test
