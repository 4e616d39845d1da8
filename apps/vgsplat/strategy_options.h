// The densification-strategy flags shared by `vgsplat train` and `vgsplat run` (strategy_options.cc).
#pragma once
#include <CLI/CLI.hpp>

#include "splat/train_config.h"

namespace vg::app {

// --strategy default|mcmc and MCMCStrategy's --cap-max, --noise-lr, --min-opacity, --noise-injection-stop-iter;
// the regularisers --opacity-reg, --scale-reg.
void add_mcmc_options(CLI::App* cmd, TrainConfig& c);
// simple_trainer's `mcmc` config: init_opa 0.5, init_scale 0.1, opacity_reg / scale_reg 0.01 unless given; the
// schedule flags (--refine-start-iter, --refine-stop-iter, --refine-every) apply to whichever strategy runs.
// A no-op unless c.strategy_type is "mcmc"; flags the command does not have count as not given.
void apply_mcmc_preset(const CLI::App& cmd, TrainConfig& c);

}  // namespace vg::app
