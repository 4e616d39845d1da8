// gsplat's DefaultStrategy (3DGS adaptive density control): accumulate screen-space gradient
// norms, then every `refine_every` steps duplicate small / split large high-gradient Gaussians,
// prune transparent / too-large ones, and periodically reset opacities. Adam moments follow
// every change (new rows get zero moments, pruned rows are dropped, reset zeroes the opacity moments).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "splat/adam.h"
#include "splat/gaussians.h"
#include "splat/preprocess.h"
#include "splat/rasterize.h"

namespace vg {

struct StrategyConfig {
  float prune_opa = 0.005f;
  float grow_grad2d = 0.0002f;
  float grow_scale3d = 0.01f;
  float prune_scale3d = 0.1f;
  int refine_start_iter = 500;
  int refine_stop_iter = 15000;
  int reset_every = 3000;
  int refine_every = 100;
  int pause_refine_after_reset = 0;  // no refine while step % reset_every < this (gsplat default 0)
  bool absgrad = false;   // use |grad| accumulation (then grow_grad2d is usually 0.0008)
  bool revised_opacity = false;
  int64_t max_gaussians = 0;  // growth stops at this many Gaussians (0: no cap, gsplat's default); see grow()
};

struct StrategyState {
  Tensor grad2d;  // [N] accumulated norm of the normalised 2D-mean gradient
  Tensor count;   // [N] number of views in which each Gaussian was visible
  float scene_scale = 1.0f;
};

struct RefineStats {
  int64_t duplicated = 0, split = 0, pruned = 0;
  bool reset = false;
};

class DefaultStrategy {
 public:
  DefaultStrategy(StrategyConfig cfg, float scene_scale, uint64_t seed);
  const StrategyConfig& config() const { return cfg_; }
  StrategyState& state() { return state_; }
  std::mt19937_64& rng() { return rng_; }  // split noise; checkpoints save and restore it

  // After backward: accumulate |v_means2d| scaled to [-1,1] screen space (x W/2, y H/2) for visible Gaussians.
  void step_post_backward_accumulate(const Tensor& v_means2d, const Tensor& radii, int width, int height);
  // Same, but skipped once step >= refine_stop_iter (gsplat's step_post_backward returns early there).
  void step_post_backward_accumulate(int step, const Tensor& v_means2d, const Tensor& radii, int width,
                                     int height);
  // After the optimizer step of `step` (0-based): refine / prune / reset when due.
  RefineStats step_post_optimizer(int step, Gaussians& g, AdamState (&adam)[Gaussians::kGroups]);

  // The building blocks (public for tests).
  // u8 [N] on g's device: bit 1 = mean gradient > grow_grad2d, 2 = max scale <= grow_scale3d * scene_scale,
  // 4 = sigmoid(opacity) < prune_opa, 8 = max scale > prune_scale3d * scene_scale (see strategy_kernels.h).
  Tensor refine_flags(const Gaussians& g) const;
  void duplicate(Gaussians& g, AdamState (&adam)[Gaussians::kGroups], const std::vector<int32_t>& ids);
  void split(Gaussians& g, AdamState (&adam)[Gaussians::kGroups], const std::vector<int32_t>& ids);
  void prune(Gaussians& g, AdamState (&adam)[Gaussians::kGroups], const std::vector<uint8_t>& remove);
  void reset_opacity(Gaussians& g, AdamState (&adam)[Gaussians::kGroups], float value);

 private:
  void grow(Gaussians& g, AdamState (&adam)[Gaussians::kGroups], RefineStats& stats);
  void cap_growth(int64_t n, std::vector<int32_t>& dupli, std::vector<int32_t>& split_ids) const;
  void prune_by_flags(int step, Gaussians& g, AdamState (&adam)[Gaussians::kGroups], RefineStats& stats);

  StrategyConfig cfg_;
  StrategyState state_;
  std::mt19937_64 rng_;
};

}  // namespace vg
