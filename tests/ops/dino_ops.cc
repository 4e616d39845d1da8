// Backend-op cases for the DINOv2 ranking ViT on CUDA: CudaDinov2 (tracks/cuda_dino.h) against Dinov2 (the CPU
// fp32 reference) on the tiny fixture's weights: cls tokens, all final-norm tokens, and in fp32 the fixture's frame
// ranking (rank_frames; any differing index fails the 1e-5 bound). The fixture's frames, and 35 random
// non-square frames (more than one CUDA frame chunk) for the chunking and the resize.
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "tests/backend_ops.h"
#include "tests/dino_fixture.h"
#include "tests/test_util.h"
#include "tracks/cuda_dino.h"
#include "tracks/dino.h"

namespace vg::test {
namespace {

using vggt::cuda::Precision;

Tensor fixture_images() { return SafetensorsFile::open(dino_fixture("dino_tiny.safetensors")).get("images"); }

// images: CPU; on CUDA, cls tokens from a device copy of the images and tokens from the CPU ones. rank: add the
// ranking of all frames (only where the fixture has a margin: random frames may tie within rounding).
OpOutputs run_tiny_dino(Device d, Precision p, const Tensor& images, int64_t size, bool rank) {
  const tracks::Dinov2 net = tracks::Dinov2::load(dino_fixture("dino_tiny.pt"), dino_tiny_config());
  Tensor cls, tokens;
  if (d.is_cpu()) {
    cls = net.cls_tokens(images, size);
    tokens = net.tokens(images, size);
  } else {
    const tracks::CudaDinov2 gpu(net, d, p);
    cls = gpu.cls_tokens(images.to(d), size);
    tokens = gpu.tokens(images, size);
  }
  OpOutputs out = {{"cls_tokens", cls}, {"tokens", tokens}};
  if (rank && p == Precision::F32) {
    std::vector<float> order;
    for (int i : tracks::rank_frames(cls, static_cast<int>(cls.size(0)))) order.push_back(static_cast<float>(i));
    out["rank"] = Tensor::from_vector(order, {static_cast<int64_t>(order.size())});
  }
  return out;
}

Tensor random_frames(int64_t S, int64_t H, int64_t W, unsigned seed) {
  std::mt19937 rng(seed);
  return uniform({S, 3, H, W}, 0.f, 1.f, rng);
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  const std::pair<Precision, double> precs[] = {{Precision::F32, 1e-5}, {Precision::BF16, 2e-2}};
  for (auto [p, tol] : precs) {
    const std::string ps = vggt::cuda::precision_name(p);
    cases.push_back({"dino_tiny/" + ps + "/fixture",
                     [p = p](Device d) { return run_tiny_dino(d, p, fixture_images(), 42, true); }, tol});
    cases.push_back({"dino_tiny/" + ps + "/35x30x45", [p = p](Device d) {
                       return run_tiny_dino(d, p, random_frames(35, 30, 45, 81u), 28, false);
                     }, tol});
  }
});

}  // namespace
}  // namespace vg::test
