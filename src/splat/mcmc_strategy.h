// gsplat's MCMCStrategy (3D Gaussian Splatting as Markov Chain Monte Carlo, Kheradmand et al. 2024):
// every `refine_every` steps dead Gaussians (opacity <= min_opacity) are relocated onto live ones drawn
// multinomially by opacity, with the opacity/scale correction of the paper's eq. 9, and up to 5 % new
// Gaussians are added the same way until cap_max; after every step the means take a noise step scaled by the
// means' learning rate x noise_lr, gated by opacity and shaped by each Gaussian's covariance (eq. 7).
//
// Randomness: the multinomial draws run on the host (only every refine_every steps, on a copy of the
// opacities: O(N + n log N), negligible next to refine_every training steps) from a std::mt19937_64 that
// checkpoints save and restore. The per-step noise is counter-based (Philox keyed by the run's seed, counter
// = (row, step)), so it needs no state, is generated where the means live, and is the same on CPU and CUDA.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "splat/adam.h"
#include "splat/gaussians.h"

namespace vg {

struct MCMCConfig {  // gsplat MCMCStrategy defaults
  int64_t cap_max = 1000000;   // --cap-max: growth (sample_add) stops here
  float noise_lr = 5e5f;       // noise scale = means learning rate x noise_lr
  int refine_start_iter = 500;
  int refine_stop_iter = 25000;
  int refine_every = 100;
  float min_opacity = 0.005f;  // dead at or below; also the floor of relocated opacities
  int noise_injection_stop_iter = -1;  // no noise on the means from this step on (-1: never stop)
};

struct MCMCStats {
  int64_t relocated = 0, added = 0;
  bool refined = false;  // relocation / growth ran in this step
};

class MCMCStrategy {
 public:
  // noise_key keys the per-step noise (the run's seed: constant across resumption); rng_seed seeds the sampler.
  MCMCStrategy(MCMCConfig cfg, uint64_t noise_key, uint64_t rng_seed);
  const MCMCConfig& config() const { return cfg_; }
  std::mt19937_64& rng() { return rng_; }  // multinomial draws; checkpoints save and restore it

  // gsplat step_post_backward, after the optimizer (and lr scheduler) step of `step` (0-based): relocate and
  // grow when due, then the noise step on the means. means_lr: the means' learning rate after the scheduler step.
  MCMCStats step_post_optimizer(int step, Gaussians& g, AdamState (&adam)[Gaussians::kGroups], double means_lr);

  // The building blocks (public for tests).
  int64_t relocate_dead(Gaussians& g, AdamState (&adam)[Gaussians::kGroups]);  // gsplat _relocate_gs
  int64_t add_new(Gaussians& g, AdamState (&adam)[Gaussians::kGroups]);        // gsplat _add_new_gs
  // gsplat ops.relocate with its random draw given: each sampled row (a live row, repeats allowed) gets the eq. 9
  // opacity/scale for 1 + its number of draws, dead[k] becomes a copy of sampled[k], and the sampled rows' Adam
  // moments are zeroed (gsplat zeroes those rows only; the dead rows keep theirs).
  void relocate(Gaussians& g, AdamState (&adam)[Gaussians::kGroups], const std::vector<int32_t>& dead,
                const std::vector<int32_t>& sampled) const;
  // gsplat ops.sample_add with its draw given: the sampled rows get the eq. 9 correction and are appended in draw
  // order, with zero Adam moments.
  void sample_add(Gaussians& g, AdamState (&adam)[Gaussians::kGroups], const std::vector<int32_t>& sampled) const;
  // gsplat inject_noise_to_position with noise_scale = means_lr * noise_lr, the normals of (noise_key, row, step).
  void inject_noise(Gaussians& g, float noise_scale, int step) const;
  // n indices drawn with replacement, P(i) proportional to weights[i] >= 0 (torch.multinomial's distribution).
  static std::vector<int32_t> multinomial(const std::vector<float>& weights, int64_t n, std::mt19937_64& rng);

 private:
  MCMCConfig cfg_;
  uint64_t noise_key_;
  std::mt19937_64 rng_;
};

}  // namespace vg
