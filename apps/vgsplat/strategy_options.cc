#include "apps/vgsplat/strategy_options.h"

namespace vg::app {

void add_mcmc_options(CLI::App* cmd, TrainConfig& c) {
  cmd->add_option("--strategy", c.strategy_type,
                  "default (gsplat DefaultStrategy) or mcmc (MCMCStrategy, 3DGS as MCMC: relocation, growth to --cap-max, "
                  "noise on the means; also --init-opa 0.5 --init-scale 0.1 --opacity-reg 0.01 --scale-reg 0.01 unless given)")
      ->capture_default_str()
      ->check(CLI::IsMember({"default", "mcmc"}));
  cmd->add_option("--cap-max", c.mcmc.cap_max, "mcmc: the most Gaussians")->capture_default_str();
  cmd->add_option("--noise-lr", c.mcmc.noise_lr, "mcmc: noise on the means = means lr x this")->capture_default_str();
  cmd->add_option("--min-opacity", c.mcmc.min_opacity, "mcmc: relocate Gaussians at or below this opacity")
      ->capture_default_str();
  cmd->add_option("--noise-injection-stop-iter", c.mcmc.noise_injection_stop_iter,
                  "mcmc: no noise on the means from this step on (-1: never stop)")
      ->capture_default_str();
  cmd->add_option("--opacity-reg", c.opacity_reg, "Loss weight of mean(opacity) (mcmc: 0.01)");
  cmd->add_option("--scale-reg", c.scale_reg, "Loss weight of mean(scale) (mcmc: 0.01)");
}

void apply_mcmc_preset(const CLI::App& cmd, TrainConfig& c) {
  if (c.strategy_type != "mcmc") return;
  auto given = [&](const char* flag) {
    const CLI::Option* o = cmd.get_option_no_throw(flag);
    return o != nullptr && o->count() > 0;
  };
  if (!given("--init-opa")) c.init_opa = 0.5f;
  if (!given("--init-scale")) c.init_scale = 0.1f;
  if (!given("--opacity-reg")) c.opacity_reg = 0.01f;
  if (!given("--scale-reg")) c.scale_reg = 0.01f;
  if (given("--refine-start-iter")) c.mcmc.refine_start_iter = c.strategy.refine_start_iter;
  if (given("--refine-stop-iter")) c.mcmc.refine_stop_iter = c.strategy.refine_stop_iter;
  if (given("--refine-every")) c.mcmc.refine_every = c.strategy.refine_every;
}

}  // namespace vg::app
