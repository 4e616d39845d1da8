// Backend-op cases for the bilateral grid (splat/bilateral_grid.h): slice, its backward (shared-memory tiles for
// a large image, several cells per tile for a small one, the global-memory fallback for a fine grid) and the TV
// loss with its gradient, CUDA vs CPU.
#include "../backend_ops.h"
#include "../test_util.h"
#include "splat/bilateral_grid.h"

namespace vg::test {
namespace {

// Identity grids plus normal(0, 0.1) noise, so every cell differs.
Tensor noisy_grids(int64_t n, const BilateralGridShape& s, std::mt19937& rng, Device d) {
  std::vector<float> g = bilateral_grid_identity(n, s).to_vector<float>();
  std::normal_distribution<float> noise(0.0f, 0.1f);
  for (float& v : g) v += noise(rng);
  return Tensor::from_vector(g, {n, 12, s.w, s.y, s.x}, d);
}

OpOutputs slice_case(Device d, int H, int W, BilateralGridShape s) {
  std::mt19937 rng(41);
  Tensor grids = noisy_grids(3, s, rng, d);
  Tensor rgb = uniform({H, W, 3}, -0.05f, 1.05f, rng, d);
  return {{"out", bilateral_grid_slice(grids, 1, rgb)}};
}

OpOutputs backward_case(Device d, int H, int W, BilateralGridShape s) {
  std::mt19937 rng(42);
  Tensor grids = noisy_grids(3, s, rng, d);
  Tensor rgb = uniform({H, W, 3}, -0.05f, 1.05f, rng, d);
  Tensor v_out = normal({H, W, 3}, 0.0f, 1e-3f, rng, d);
  Tensor v_grids = Tensor::zeros(grids.shape(), DType::F32, d);
  Tensor v_rgb = bilateral_grid_slice_backward(grids, 2, rgb, v_out, v_grids);
  return {{"v_rgb", v_rgb}, {"v_grids", v_grids}};
}

// A smooth image (one luma for whole rows): the warp-uniform corners take the shuffle path.
OpOutputs backward_flat_case(Device d) {
  std::mt19937 rng(43);
  const int H = 120, W = 333;
  const BilateralGridShape s;
  Tensor grids = noisy_grids(2, s, rng, d);
  std::vector<float> rgb(static_cast<size_t>(H * W * 3));
  for (int y = 0; y < H; ++y)
    for (int i = 0; i < W * 3; ++i) rgb[static_cast<size_t>(y * W * 3 + i)] = 0.2f + 0.5f * y / H;
  Tensor v_out = normal({H, W, 3}, 0.0f, 1e-3f, rng, d);
  Tensor v_grids = Tensor::zeros(grids.shape(), DType::F32, d);
  Tensor v_rgb = bilateral_grid_slice_backward(grids, 0, Tensor::from_vector(rgb, {H, W, 3}, d), v_out, v_grids);
  return {{"v_rgb", v_rgb}, {"v_grids", v_grids}};
}

OpOutputs tv_case(Device d, int64_t n) {
  std::mt19937 rng(44);
  const BilateralGridShape s;
  Tensor grids = noisy_grids(n, s, rng, d);
  Tensor v = normal(grids.shape(), 0.0f, 1e-4f, rng, d);  // added to
  Tensor loss = bilateral_grid_tv_loss(grids, 10.0f, v);
  return {{"loss", loss}, {"v_grids", v}};
}

RegisterOps reg([](std::vector<OpCase>& r) {
  r.push_back({"bilateral_grid/slice/779x1037/16x16x8",
               [](Device d) { return slice_case(d, 779, 1037, {16, 16, 8}); }});
  r.push_back({"bilateral_grid/slice/45x61/5x4x3", [](Device d) { return slice_case(d, 45, 61, {5, 4, 3}); }});
  r.push_back({"bilateral_grid/slice_backward/779x1037/16x16x8",
               [](Device d) { return backward_case(d, 779, 1037, {16, 16, 8}); }});
  r.push_back({"bilateral_grid/slice_backward/48x64/16x16x8",
               [](Device d) { return backward_case(d, 48, 64, {16, 16, 8}); }});
  r.push_back({"bilateral_grid/slice_backward/50x70/64x64x16_global",
               [](Device d) { return backward_case(d, 50, 70, {64, 64, 16}); }});
  r.push_back({"bilateral_grid/slice_backward/120x333/flat_rows", backward_flat_case});
  r.push_back({"bilateral_grid/tv_loss/n=40", [](Device d) { return tv_case(d, 40); }});
});

}  // namespace
}  // namespace vg::test
