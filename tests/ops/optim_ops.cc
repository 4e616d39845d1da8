// Backend-op cases for Adam, the row-wise tensor ops and DefaultStrategy's kernels (CUDA vs CPU).
#include <cmath>

#include "../backend_ops.h"
#include "../test_util.h"
#include "core/tensor_ops.h"
#include "splat/adam.h"
#include "splat/strategy.h"

namespace vg::test {
namespace {

OpOutputs adam_case(Device d, int64_t n) {
  std::mt19937 rng(11);
  Tensor p = normal({n, 3}, 0.0f, 1.0f, rng, d);
  AdamState st = adam_init(p);
  for (int i = 0; i < 3; ++i) adam_step(p, normal({n, 3}, 0.0f, 1e-2f, rng, d), st, {1.6e-4f, 0.9f, 0.999f, 1e-15f});
  return {{"param", p}, {"exp_avg", st.exp_avg}, {"exp_avg_sq", st.exp_avg_sq}};
}

Tensor random_ids(int64_t m, int64_t n, std::mt19937& rng, Device d) {
  std::uniform_int_distribution<int32_t> u(0, static_cast<int32_t>(n - 1));
  std::vector<int32_t> v(static_cast<size_t>(m));
  for (auto& x : v) x = u(rng);
  return Tensor::from_vector(v, {m}, d);
}

OpOutputs rows_case(Device d) {
  std::mt19937 rng(12);
  const int64_t n = 5000;
  Tensor f = normal({n, 15, 3}, 0.0f, 1.0f, rng, d);
  Tensor ids = random_ids(7000, n, rng, d);
  std::vector<uint8_t> bytes(static_cast<size_t>(n * 3));
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  std::vector<int64_t> longs(static_cast<size_t>(n));
  for (auto& l : longs) l = static_cast<int64_t>(rng()) << 20;
  Tensor u8 = Tensor::from_vector(bytes, {n, 3}, d), i64 = Tensor::from_vector(longs, {n}, d);
  Tensor cat = cat_rows(index_select_rows(f, ids), f);
  Tensor filled = normal({n}, 0.0f, 1.0f, rng, d);
  clamp_max_(filled, 0.25f);
  Tensor ones = Tensor::zeros({n, 2}, DType::F32, d);
  fill_(ones, 1.5f);
  Tensor acc = normal({n, 15, 3}, 0.0f, 1.0f, rng, d);
  axpy_(acc, -0.5f, f);
  return {{"select_f32", index_select_rows(f, ids)}, {"select_u8", index_select_rows(u8, ids)},
          {"select_i64", index_select_rows(i64, ids)}, {"cat_f32", cat},
          {"clamp_max", filled}, {"fill", ones}, {"unorm8_to_f32", unorm8_to_f32(u8)}, {"axpy", acc}};
}

OpOutputs accumulate_case(Device d) {
  std::mt19937 rng(13);
  const int64_t n = 20000;
  std::uniform_int_distribution<int32_t> r(-1, 3);
  DefaultStrategy s({}, 1.0f, 0);
  for (int view = 0; view < 3; ++view) {
    std::vector<int32_t> radii(static_cast<size_t>(2 * n));
    for (auto& x : radii) x = std::max(r(rng), 0);
    s.step_post_backward_accumulate(normal({n, 2}, 0.0f, 1e-4f, rng, d), Tensor::from_vector(radii, {n, 2}, d),
                                    640, 480);
  }
  return {{"grad2d", s.state().grad2d}, {"count", s.state().count}};
}

// A full refine step (duplicate + split + prune) on data kept away from every threshold, so both
// backends take the same decisions; the split noise comes from the same host generator.
OpOutputs refine_case(Device d) {
  std::mt19937 rng(14);
  const int64_t n = 4000;
  std::uniform_int_distribution<int> coin(0, 1), size_class(0, 2);
  const float max_scale[3] = {0.002f, 0.05f, 0.3f};  // duplicate / split / too big (children 0.19: too big too)
  std::vector<float> scales, opac, v;
  for (int64_t i = 0; i < n; ++i) {
    float big = std::log(max_scale[size_class(rng)]);
    for (int j = 0; j < 3; ++j) scales.push_back(big - 0.5f * j);
    opac.push_back(coin(rng) && coin(rng) ? -9.0f : 1.0f);
    float grad = coin(rng) ? 1e-3f : 0.0f;
    v.push_back(grad);
    v.push_back(grad);
  }
  Gaussians g;
  g.means = normal({n, 3}, 0.0f, 1.0f, rng, d);
  g.scales = Tensor::from_vector(scales, {n, 3}, d);
  g.quats = normal({n, 4}, 0.0f, 1.0f, rng, d);
  g.opacities = Tensor::from_vector(opac, {n}, d);
  g.sh0 = normal({n, 3}, 0.0f, 1.0f, rng, d);
  g.shN = normal({n, 15, 3}, 0.0f, 1.0f, rng, d);
  AdamState adam[Gaussians::kGroups];
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    adam[i].exp_avg = normal(g.group(i).shape(), 0.0f, 1.0f, rng, d);
    adam[i].exp_avg_sq = uniform(g.group(i).shape(), 0.0f, 1.0f, rng, d);
  }
  StrategyConfig cfg;
  cfg.refine_start_iter = 0;
  DefaultStrategy s(cfg, 1.0f, 5);
  s.step_post_backward_accumulate(Tensor::from_vector(v, {n, 2}, d),
                                  Tensor::from_vector(std::vector<int32_t>(2 * n, 4), {n, 2}, d), 800, 600);
  OpOutputs out{{"flags", s.refine_flags(g)}};
  s.step_post_optimizer(6000, g, adam);  // refine, prune (incl. too big, past the first reset) and opacity reset
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    out[std::string(Gaussians::group_name(i))] = g.group(i);
    out[std::string(Gaussians::group_name(i)) + ".m"] = adam[i].exp_avg;
    out[std::string(Gaussians::group_name(i)) + ".v"] = adam[i].exp_avg_sq;
  }
  return out;
}

RegisterOps reg([](std::vector<OpCase>& r) {
  r.push_back({"adam_step/n=100000/3steps", [](Device d) { return adam_case(d, 100000); }});
  r.push_back({"tensor_ops/index_select_cat_fill", rows_case});
  r.push_back({"strategy/accumulate_grad2d/n=20000", accumulate_case});
  r.push_back({"strategy/refine/n=4000", refine_case});
});

}  // namespace
}  // namespace vg::test
