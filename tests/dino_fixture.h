// The tiny DINOv2 fixture of tools/dino_fixtures.py --tiny (tests/data/dino_tiny.*), shared by dino_test.cc and
// the backend-op cases of tests/ops/dino_ops.cc.
#pragma once
#include <filesystem>

#include "tests/test_util.h"
#include "tracks/dino.h"

namespace vg::test {

inline std::filesystem::path dino_fixture(const char* name) { return source_dir() / "tests" / "data" / name; }

// The configuration the tiny fixture was made with.
inline tracks::DinoConfig dino_tiny_config() {
  tracks::DinoConfig c;
  c.embed_dim = 64;
  c.depth = 2;
  c.heads = 4;
  c.registers = 4;
  c.img_size = 70;  // 5x5 position grid
  return c;
}

}  // namespace vg::test
