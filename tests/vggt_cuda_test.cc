// The CUDA VGGT engine against the official PyTorch outputs of the tiny random-weight fixture
// (tests/data/vggt_tiny.*): fp32 path <= 1e-4, bf16 path <= 2e-2 relative L2 on every output. Skipped without a GPU.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "core/cuda_memory.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "vggt_test_util.h"
#include "vggt/cuda_model.h"
#include "vggt/weights.h"

namespace vg::vggt {
namespace {

std::filesystem::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }

void check_fixture(cuda::Precision p, double tol) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  const VggtConfig cfg = VggtConfig::tiny();
  SafetensorsFile io = SafetensorsFile::open(fixture("vggt_tiny.safetensors"));
  CudaVggtModel model(cfg, load_weights(fixture("vggt_tiny.pt"), cfg, true), Device::cuda(0), p);
  const Tensor images = io.get("images");
  VggtOutput out = model.forward(images, {.point_head = true, .keep_all_tokens = true});  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  out = model.forward(images, {.point_head = true, .keep_all_tokens = true});
  cuda_synchronize();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, Tensor> got = test::vggt_outputs_by_name(out);
  test::expect_matches_fixture(io, got, tol, cuda::precision_name(p));
  std::printf("  [%s] tiny CUDA forward (3 frames 56x70, point head): %.4f s\n", cuda::precision_name(p), secs);
}

TEST(VggtCuda, TinyFixtureFp32) { check_fixture(cuda::Precision::F32, 1e-4); }
TEST(VggtCuda, TinyFixtureBf16) { check_fixture(cuda::Precision::BF16, 2e-2); }

TEST(VggtCuda, RejectsCpuDevice) {
  const VggtConfig cfg = VggtConfig::tiny();
  VggtWeights w = load_weights(fixture("vggt_tiny.pt"), cfg, false);
  EXPECT_THROW(CudaVggtModel(cfg, w, Device::cpu(), cuda::Precision::F32), Error);
}

}  // namespace
}  // namespace vg::vggt
