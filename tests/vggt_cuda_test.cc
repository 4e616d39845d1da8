// The CUDA VGGT engine against the official PyTorch outputs of the tiny random-weight fixture
// (tests/data/vggt_tiny.*): fp32 path <= 1e-4, bf16 path <= 2e-2 relative L2 on every output; and P2
// (run_vggt_p2, `vgsplat run P2`) on the CUDA engine against the CPU engine. Skipped without a GPU.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/cuda_memory.h"
#include "io/colmap.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "pipeline/runner_vggt.h"
#include "test_util.h"
#include "vggt_test_util.h"
#include "vggt/cuda_model.h"
#include "vggt/engine.h"
#include "vggt/export.h"
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

namespace fs = std::filesystem;

constexpr const char* kNames[3] = {"im0.png", "im1.png", "im2.png"};
fs::path make_scene(const fs::path& root) { return test::write_small_scene(root, kNames); }

// P2 on the CUDA engine: fp32 writes the model the CPU engine writes, up to rounding; auto (bf16) a model of the
// same shape (its numbers are not compared: with the tiny random weights the fields of view are about 165 degrees,
// where focal = (W/2) / tan(fov/2) turns a 1e-2 error on the field of view into ~10% and more on the focal; seen:
// 6% and 27% on an H200. The full-size bf16 parity is bench/vggt_bench.cc --fixture).
TEST(VggtCuda, P2OnTheCudaEngineMatchesTheCpuEngine) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  const fs::path root = fs::temp_directory_path() / ("vggt_cuda_p2_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path scene = make_scene(root);
  VggtRunOptions o;
  o.weights = fixture("vggt_tiny.pt").string();
  o.config = "tiny";
  o.model_size = 56;
  o.load_size = 112;
  o.exp.conf_thres = 1.0f;  // every pixel qualifies: the same sampled points on both engines
  o.exp.max_points = 300;
  o.device = "cpu";
  const VggtRunStats cpu = run_vggt_p2(scene, root / "cpu", o);
  EXPECT_EQ(cpu.engine, "cpu");
  const ColmapModel ref = read_colmap_model(root / "cpu" / "sparse");
  for (const char* prec : {"fp32", "auto"}) {
    const bool exact = std::string(prec) == "fp32";
    o.device = "cuda";
    o.precision = prec;
    const fs::path out = root / (std::string("cuda_") + prec);
    const VggtRunStats st = run_vggt_p2(scene, out, o);
    EXPECT_EQ(st.engine, "cuda");
    EXPECT_EQ(st.device, "cuda:0");
    EXPECT_EQ(st.precision, exact ? "fp32" : cuda::precision_name(default_cuda_precision(Device::cuda(0))));
    EXPECT_GT(st.peak_gpu_memory_bytes, 0u);
    const ColmapModel m = read_colmap_model(out / "sparse");
    ASSERT_EQ(m.images.size(), 3u);
    ASSERT_EQ(m.cameras.size(), 3u);
    ASSERT_EQ(m.points.size(), ref.points.size());
    for (const auto& [id, cam] : ref.cameras)
      for (size_t k = 0; k < cam.params.size(); ++k) {
        const double v = m.cameras.at(id).params[k];
        // Random tiny weights give fields of view near or past 180 deg, so a focal may come out negative on
        // both engines: only finiteness is engine-independent here (fp32 must also equal the CPU engine).
        EXPECT_TRUE(std::isfinite(v)) << prec;
        if (exact) EXPECT_NEAR(v, cam.params[k], 1e-3 * std::abs(cam.params[k]) + 1e-6);
      }
    double num = 0, den = 0;
    for (const auto& [id, p] : ref.points)
      for (int a = 0; a < 3; ++a) {
        const double d = m.points.at(id).xyz[a] - p.xyz[a];
        num += d * d;
        den += p.xyz[a] * p.xyz[a];
      }
    if (exact) EXPECT_LE(std::sqrt(num / std::max(den, 1e-30)), 1e-3);
    std::printf("  [%s] P2 tiny on %s: network %.4f s, peak %.3f GB, points rel diff to the CPU engine %.2e\n",
                st.precision.c_str(), st.device.c_str(), st.network_seconds, st.peak_gpu_memory_bytes / 1e9,
                std::sqrt(num / std::max(den, 1e-30)));
  }
  // `vgsplat run P2 --device cuda`: the stage takes the run's device.
  RunOptions ro;
  ro.results_root = root / "results";
  ro.device = "cuda";
  o.device = "cpu";  // overridden by the run's device
  o.precision = "auto";
  const RunReport r = run_pipeline(Pipeline{"P2", {vggt_stage(o)}}, scene, ro);
  ASSERT_TRUE(r.analysis.contains("vggt"));
  EXPECT_EQ(r.analysis["vggt"]["engine"].get<std::string>(), "cuda");
  EXPECT_EQ(r.analysis["vggt"]["device"].get<std::string>(), "cuda:0");
  EXPECT_GT(r.analysis["vggt"]["peak_gpu_memory_gb"].get<double>(), 0.0);
  EXPECT_EQ(read_colmap_model(find_colmap_model(r.result_dir)).points.size(), 300u);
  fs::remove_all(root);
}

}  // namespace
}  // namespace vg::vggt
