// `vgsplat run <P> <scene> [sfm and trainer flags]`: a pipeline into results/<P>_<scan>_<stamp>/.
#include <cstdio>
#include <memory>
#include <sstream>

#include "apps/vgsplat/appearance_options.h"
#include "apps/vgsplat/commands.h"
#include "apps/vgsplat/refine_options.h"
#include "apps/vgsplat/sfm_options.h"
#include "apps/vgsplat/strategy_options.h"
#include "core/error.h"
#include "pipeline/video_dataset.h"
#include "pipeline/runner_stages.h"
#include "splat/resume_command.h"
#include "splat/train_config.h"

namespace vg::app {

namespace {

// The trainer flags `vgsplat run` passes on (named as `vgsplat train`'s).
void add_train_options(CLI::App* cmd, TrainConfig& c) {
  cmd->add_option("--max-steps", c.max_steps)->capture_default_str();
  cmd->add_option("--eval-steps", c.eval_steps, "Steps (1-based) to evaluate at");
  cmd->add_option("--save-steps", c.save_steps, "Steps (1-based) to save checkpoints at");
  cmd->add_option("--save-every", c.save_every, "Also a checkpoint every N steps (the last two kept); 0: none");
  cmd->add_option("--save-every-min", c.save_every_min,
                  "Also a checkpoint after every M minutes of training (the last two kept); 0: none")
      ->capture_default_str();
  cmd->add_option("--ply-steps", c.ply_steps, "Steps to write ply/point_cloud_<step>.ply at");
  cmd->add_option("--data-factor", c.data_factor, "Downsample the images by this factor")->capture_default_str();
  cmd->add_option("--test-every", c.test_every, "Every N-th image is a test image")->capture_default_str();
  cmd->add_option("--steps-scaler", c.steps_scaler, "Scale every step count (schedule and strategy)");
  cmd->add_option("--batch-size", c.batch_size, "Views per training step (as train)");
  cmd->add_option("--init-type", c.init_type, "sfm or random")->capture_default_str();
  cmd->add_option("--sh-degree", c.sh_degree);
  cmd->add_option("--ssim-lambda", c.ssim_lambda);
  cmd->add_flag("--antialiased", c.antialiased, "Mip-Splatting style antialiased rasterization");
  cmd->add_flag("--absgrad", c.strategy.absgrad, "Use absolute gradients for densification (AbsGS)");
  cmd->add_option("--grow-grad2d", c.strategy.grow_grad2d);
  cmd->add_option("--max-gaussians", c.strategy.max_gaussians, "Cap on the Gaussians densification grows (0: none)");
  add_mcmc_options(cmd, c);
  cmd->add_option("--pose-opt-lr", c.pose_opt_lr, "Learning rate of the camera pose residuals")->capture_default_str();
  cmd->add_option("--pose-opt-reg", c.pose_opt_reg, "Weight decay of the camera pose residuals")->capture_default_str();
  cmd->add_option("--pose-opt-start", c.pose_opt_start, "Keep the pose residuals frozen before this step");
  cmd->add_option("--pose-opt-lr-final", c.pose_opt_lr_final,
                  "The pose residuals' learning rate decays exponentially to lr x this at the last step (gsplat: 0.01)");
  cmd->add_option("--pose-noise", c.pose_noise, "Perturb the training cameras (to test pose optimisation)");
  cmd->add_option("--profile-every", c.profile_every,
                  "Every N-th step: time each stage with the device synchronised at its boundaries (stats/profile.json, "
                  "a table at the end); 0: off")->capture_default_str();
  cmd->add_flag("--use-color-correction-metric", c.use_color_correction_metric,
                "Also report cc_psnr / cc_ssim / cc_lpips: the render colour-corrected to the ground truth first "
                "(gsplat's; for --post-processing, whose per-image appearance the test views do not have)");
  cmd->add_option("--color-correct-method", c.color_correct_method, "affine or quadratic")
      ->check(CLI::IsMember({"affine", "quadratic"}))
      ->capture_default_str();
  cmd->add_flag("--eval-pose-align,!--no-eval-pose-align", c.eval_pose_align,
                "With --pose-opt, evaluate at the test cameras moved into the optimised cameras' frame (the "
                "similarity from the given training cameras to the adjusted ones)")
      ->capture_default_str();
  cmd->add_option("--eval-pose-opt-steps", c.eval_pose_opt_steps,
                  "With --pose-opt, also optimise each test camera on its image for N steps (Gaussians frozen)")
      ->capture_default_str();
  cmd->add_option("--eval-pose-opt-lr", c.eval_pose_opt_lr, "Learning rate of the test-time pose optimisation")
      ->capture_default_str();
  add_post_processing_options(cmd, c);
  cmd->add_option("--seed", c.seed, "Trainer seed")->capture_default_str();
  cmd->add_option("--lpips-weights", c.lpips_weights, "LPIPS weights (safetensors); default $VGSPLAT_LPIPS_WEIGHTS");
}

std::string command_line(const std::string& p, const std::string& scene) {
  return "vgsplat run " + p + " " + scene;
}

}  // namespace

void register_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a pipeline (P1-P5) into results/<P>_<scan>_<time>/");
  auto pipeline = std::make_shared<std::string>();
  auto scene = std::make_shared<std::string>();
  auto sfm = std::make_shared<SfmCliOptions>();
  auto train = std::make_shared<TrainConfig>();
  apply_p1_train_defaults(*train);
  auto run = std::make_shared<RunOptions>();
  auto results_root = std::make_shared<std::string>("results");
  auto copy_images = std::make_shared<bool>(false);
  auto vggt = std::make_shared<vggt::VggtRunOptions>();
  auto ba = std::make_shared<VggtBaOptions>();
  p3_refine_defaults(ba->refine);
  cmd->add_option("pipeline", *pipeline, "Pipeline: P1 (SfM + train), P2 (VGGT), P3 (VGGT + tracks + BA), P4 (P2 + train), P5 (P3 + train)")->required();
  cmd->add_option("--weights", vggt->weights, "VGGT weights (P2/P4): model.safetensors or model.pt; default $VGSPLAT_VGGT_WEIGHTS");
  cmd->add_option("--conf-thres", vggt->exp.conf_thres, "P2/P4: keep depth points with confidence >= this")->capture_default_str();
  cmd->add_option("--precision", vggt->precision,
                  "P2-P5: CUDA precision of VGGT and of the --tracks vggsfm networks: auto (bf16 on sm_80+, fp16 below) | "
                  "fp32 | bf16 | fp16")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16"}));
  cmd->add_option("--vggt-resize", vggt->resize,
                  "P2-P5: VGGT input: square (padded, 518x518, as demo_colmap.py) | crop (width 518, height "
                  "centre-cropped to <= 518, as load_and_preprocess_images)")
      ->capture_default_str()
      ->check(CLI::IsMember({"square", "crop"}));
  cmd->add_option("--conf-percentile", vggt->exp.conf_percentile, "P2-P5: --conf-thres is a percentile (0-100)")
      ->capture_default_str();
  add_p3_options(cmd, *ba);
  cmd->add_option("scene", *scene, "Scene folder (images/ inside, or the photos themselves; only read), or a video "
                  "file: its frames go to <datasets-root>/<stem>_standard/images first")->required();
  auto video = std::make_shared<PrepareOptions>();
  cmd->add_option("--datasets-root", video->out_root, "A video scene: root of the dataset folder its frames go to")
      ->capture_default_str();
  cmd->add_option("--max-images", video->max_images, "A video scene: frames sampled uniformly over its duration")
      ->capture_default_str();
  cmd->add_option("--results-root", *results_root, "Where results/<P>_<scan>_<time>/ go")->capture_default_str();
  cmd->add_flag("--copy-images", *copy_images, "Copy the registered images into the results (default: a symlink)");
  cmd->add_flag("--keep-failed", run->keep_failed, "Keep a failed run's folder as <name>_failed");
  cmd->add_option("--resume", run->resume, "Continue this unfinished run (results/<name>_incomplete) at its first "
                  "unfinished stage; repeat the run's other options");
  add_sfm_options(cmd, *sfm);  // --device applies to every stage
  add_train_options(cmd, *train);
  auto pose_opt = std::make_shared<int>(-1);  // -1: the pipeline's default (on for P4's VGGT poses)
  cmd->add_flag_callback("--pose-opt", [pose_opt] { *pose_opt = 1; },
                         "Optimise the training cameras (default for P4: VGGT poses are approximate)");
  cmd->add_flag_callback("--no-pose-opt", [pose_opt] { *pose_opt = 0; }, "Train on the cameras as given");
  cmd->callback([cmd, pipeline, scene, sfm, train, run, results_root, copy_images, vggt, ba, video, pose_opt] {
    apply_mcmc_preset(*cmd, *train);
    train->pose_opt = *pose_opt >= 0 ? *pose_opt == 1 : pose_opt_default(*pipeline);
    finish_sfm_options(*sfm);
    // P3/P5's SIFT and threads follow the SfM flags (--max-image-size, --max-features, --jpeg-decode, --threads).
    ba->refine.sift = sfm->sfm.sift;
    ba->refine.jpeg_decode = sfm->sfm.jpeg_decode;
    ba->refine.num_threads = sfm->sfm.num_threads;
    ba->refine.refine.refine_principal_point = sfm->sfm.mapper.refine_principal_point;
    RunOptions ro = *run;
    ro.results_root = *results_root;
    ro.device = sfm->sfm.device;
    ro.command = shell_command(process_arguments(), {}, {"--resume"});  // the resume line repeats it
    if (ro.command.empty()) ro.command = command_line(*pipeline, *scene);
    const Pipeline p = make_pipeline(*pipeline, sfm->sfm, *train, *copy_images, *vggt, ba.get());
    const std::filesystem::path dataset = scene_from_source(*scene, *video);
    // Ctrl-C during training: vg::Interrupted naming the kept folder and the resume command (main: exit 130/143).
    const RunReport r = run_pipeline(p, dataset, ro);
    const nlohmann::json& a = r.analysis;
    if (a.contains("sfm")) std::printf("SfM: %s\n", a["sfm"].value("message", "").c_str());
    if (a.contains("vggt"))
      std::printf("VGGT: %s (network %.2f s, %s engine %s)\n", a["vggt"].value("message", "").c_str(),
                  a["vggt"].value("network_seconds", 0.0), a["vggt"].value("engine", "").c_str(),
                  a["vggt"].value("precision", "").c_str());
    if (a.contains("refine"))
      std::printf("refine: %s (mean reprojection error %.3f px, %d tracks)\n", a["refine"].value("message", "").c_str(),
                  a["refine"].value("final_mean_reprojection_error", 0.0), a["refine"].value("tracks_kept", 0));
    if (a.contains("train") && a["train"].contains("psnr"))
      std::printf("PSNR %.3f  SSIM %.4f  (%lld Gaussians, step %d)\n", a["train"]["psnr"].get<double>(),
                  a["train"]["ssim"].get<double>(), a["train"]["num_gaussians"].get<long long>(),
                  a["train"]["step"].get<int>());
    std::printf("%s in %.1f s%s: %s\n", p.name.c_str(), a["total_seconds"].get<double>(),
                a["partial"].get<bool>() ? " (partial)" : "", r.result_dir.string().c_str());
  });
}

}  // namespace vg::app
