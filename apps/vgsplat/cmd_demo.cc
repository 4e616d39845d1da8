// `vgsplat demo`: generate a synthetic scene, train on it, report the test PSNR.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "pipeline/demo_scene.h"

namespace vg::app {

namespace {
std::string default_out_dir() {
  std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "results/demo_%Y%m%d_%H%M%S", std::localtime(&now));
  return buf;
}
}  // namespace

void register_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Train on a synthetic ray-traced scene (about a minute on a CPU)");
  struct Opts {
    std::string out, device = "auto";
    int max_steps = 0, size = 0;  // 0: chosen for the device (demo::auto_settings)
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--out", o->out, "Output folder (default results/demo_<timestamp>)");
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--max-steps", o->max_steps,
                  "Training steps; the gsplat schedule is scaled to it (default: CPU 500, GPU 3000)");
  cmd->add_option("--size", o->size, "Image width and height of the synthetic views (default: CPU 64, GPU 128)");
  cmd->callback([o] {
    demo::SceneOptions scene;
    scene.width = scene.height = o->size;
    int steps = o->max_steps;
    demo::auto_settings(o->device, scene, steps);
    std::string out = o->out.empty() ? default_out_dir() : o->out;
    demo::DemoResult r = demo::run_demo(out, scene, steps, o->device);
    std::printf("demo: test PSNR %.2f dB (untrained %.2f dB), SSIM %.4f, %lld Gaussians\n", r.final.psnr,
                r.initial.psnr, r.final.ssim, static_cast<long long>(r.final.num_gs));
    std::printf("results in %s (renders/, stats/, ckpts/, ply/; dataset in %s/data)\n", out.c_str(), out.c_str());
  });
}

}  // namespace vg::app
