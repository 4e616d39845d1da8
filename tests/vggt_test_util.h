// Shared by the VGGT tests: the engine's outputs by fixture name, and the comparison against the tiny
// fixture written by tools/vggt_fixtures.py from the official PyTorch code.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

#include "io/safetensors.h"
#include "test_util.h"
#include "vggt/model.h"

namespace vg::test {

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
