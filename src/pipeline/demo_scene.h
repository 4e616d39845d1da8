// `vgsplat demo`: a synthetic dataset generated in code (see demo_raytrace.h), written as a NeRF
// synthetic style folder (images/*.png + transforms_train.json / transforms_test.json), then trained
// with gsplat's default schedule scaled down (--steps-scaler) and evaluated.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "splat/camera.h"
#include "splat/train_config.h"
#include "splat/trainer.h"

namespace vg::demo {

struct SceneOptions {
  int width = 128, height = 128;
  int n_train = 24, n_test = 8;
  int supersample = 2;       // anti-aliasing of the ray-traced ground truth
  double fov_x_deg = 45.0;   // horizontal field of view
  double radius = 4.0;       // camera distance from the look-at point
};

// Train cameras on three rings (elevations 18/30/42 deg), test cameras between them; all look at the scene centre.
std::vector<Camera> train_cameras(const SceneOptions& o);
std::vector<Camera> test_cameras(const SceneOptions& o);

// Writes images/{train,test}_NNN.png and transforms_{train,test}.json into `dir`.
void write_scene(const std::filesystem::path& dir, const SceneOptions& o);

// gsplat's default config for the demo: random init in the scene box, black background, the whole
// schedule scaled by max_steps / 30000 (refine_every >= 10, reset_every >= 10 refinements), one
// evaluation, checkpoint and PLY at the end.
TrainConfig train_config(const std::filesystem::path& data_dir, const std::filesystem::path& result_dir, int max_steps,
                         const std::string& device);

// Fills what is left at 0: image size (CPU 64, GPU 128) and steps (CPU 500, GPU 3000), so the demo
// takes about a minute either way.
void auto_settings(const std::string& device, SceneOptions& scene, int& max_steps);

struct DemoResult {
  std::filesystem::path out_dir;
  EvalStats initial, final;  // test metrics before training and after
};

// Generates the scene under out_dir/data, trains into out_dir, evaluates before and after training.
DemoResult run_demo(const std::filesystem::path& out_dir, const SceneOptions& scene, int max_steps,
                    const std::string& device);

}  // namespace vg::demo
