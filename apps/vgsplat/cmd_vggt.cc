// `vgsplat vggt <scene> --weights FILE [--out DIR]`: pipeline P2 (VGGT feed-forward reconstruction, as
// demo_colmap.py without --use_ba) -> <out>/sparse/{cameras,images,points3D}.bin and points.ply.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "core/error.h"
#include "pipeline/results.h"
#include "pipeline/runner.h"
#include "pipeline/vggt_ba.h"
#include "apps/vgsplat/refine_options.h"
#include "vggt/export.h"

namespace vg::app {

void register_vggt(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "vggt", "VGGT reconstruction: photos -> COLMAP model and points.ply (P2 feed-forward; --ba: P3, refined by tracks + BA)");
  auto o = std::make_shared<vggt::VggtRunOptions>();
  o->device = "auto";
  auto scene = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  auto stats_json = std::make_shared<std::string>();
  auto ba = std::make_shared<VggtBaOptions>();
  p3_refine_defaults(ba->refine);
  auto use_ba = std::make_shared<bool>(false);
  cmd->add_option("scene", *scene, "Scene folder (its images/ subfolder, or the photos themselves); only read")
      ->required();
  cmd->add_option("--out", *out, "Output folder (default: ./vggt_<scene name>)");
  cmd->add_option("--weights", o->weights,
                  "VGGT-1B weights (model.safetensors or model.pt); default $VGSPLAT_VGGT_WEIGHTS");
  cmd->add_option("--conf-thres", o->exp.conf_thres, "Keep points with depth confidence >= this")
      ->capture_default_str();
  cmd->add_option("--max-points", o->exp.max_points, "At most this many points (randomly sampled)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->exp.seed, "Seed of the point sampling (numpy's legacy RNG)")->capture_default_str();
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N (a GPU runs the CUDA engine, the CPU the fp32 reference)")
      ->capture_default_str();
  cmd->add_option("--precision", o->precision,
                  "CUDA engine GEMM/attention precision of VGGT and of the --tracks vggsfm networks: auto (bf16 on sm_80+, "
                  "fp16 below, as demo_colmap.py's autocast) | fp32 | bf16 | fp16")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16"}));
  cmd->add_option("--vggt-resize", o->resize,
                  "Network input: square (pad to a square, 518x518, as demo_colmap.py) | crop (width 518, height "
                  "centre-cropped to <= 518, as load_and_preprocess_images: fewer tokens for landscape photos)")
      ->capture_default_str()
      ->check(CLI::IsMember({"square", "crop"}));
  cmd->add_option("--conf-percentile", o->exp.conf_percentile, "--conf-thres is a percentile (0-100) of the confidences")
      ->capture_default_str();
  cmd->add_flag("--ba", *use_ba,
                "Pipeline P3: refine VGGT's cameras by feature tracks + bundle adjustment (demo_colmap.py --use_ba)");
  add_p3_options(cmd, *ba);
  cmd->add_flag("--point-head", o->point_head, "Points and confidences from the point head instead of depth");
  cmd->add_flag("--txt", o->write_txt, "Also write the model as .txt");
  cmd->add_flag("--overwrite", *overwrite, "Replace an existing <out>/sparse folder");
  cmd->add_option("--stats", *stats_json, "Write the statistics as JSON here");
  // Network sizes: the released VGGT-1B, or the tiny test fixture (tests/data/vggt_tiny.*).
  cmd->add_option("--config", o->config, "1b | tiny")->capture_default_str()->group("");
  cmd->callback([o, scene, out, overwrite, stats_json, ba, use_ba] {
    const std::filesystem::path out_dir =
        out->empty() ? std::filesystem::path("vggt_" + scan_name(std::filesystem::absolute(*scene)))
                     : std::filesystem::path(*out);
    VG_CHECK(*overwrite || !std::filesystem::exists(out_dir / "sparse"), (out_dir / "sparse").string(),
             " already exists: pass --out DIR or --overwrite");
    if (*use_ba) {
      ba->vggt = *o;
      VG_CHECK(ba->refine.camera_model.empty() || colmap_model_id(ba->refine.camera_model) >= 0,
               "unknown --camera-type '", ba->refine.camera_model, "'");
      const VggtBaStats s = run_vggt_ba(*scene, out_dir, *ba);
      const nlohmann::json j = vggt_ba_stats_json(s);
      write_json_atomic(out_dir / "refine_report.json", refine_stats_json(s.refine));
      if (!stats_json->empty()) write_json_atomic(*stats_json, j);
      std::printf("VGGT: %s (network %.2f s on %s, %s engine, %s)\n", s.vggt.message.c_str(), s.vggt.network_seconds,
                  s.vggt.device.c_str(), s.vggt.engine.c_str(), s.vggt.precision.c_str());
      print_refine_summary(s.refine);
      std::printf("P3 in %.1f s: refined model in %s, VGGT's own in %s\n", s.total_seconds,
                  s.refine.model_dir.string().c_str(), (out_dir / "feedforward").string().c_str());
      return;
    }
    VG_CHECK(!ba->refine.single_camera && ba->refine.dump_ba.empty(), "--shared-camera and --dump-ba go with --ba");
    const vggt::VggtRunStats s = vggt::run_vggt_p2(*scene, out_dir, *o);
    if (!stats_json->empty()) write_json_atomic(*stats_json, vggt::vggt_stats_json(s));
    std::printf("VGGT: %s in %.1f s (network %.2f s on %s, %s engine, %s", s.message.c_str(), s.total_seconds,
                s.network_seconds, s.device.c_str(), s.engine.c_str(), s.precision.c_str());
    if (s.peak_gpu_memory_bytes) std::printf(", peak GPU memory %.2f GB", s.peak_gpu_memory_bytes / 1e9);
    std::printf(")\n");
    std::printf("model in %s, points in %s\n", s.model_dir.string().c_str(),
                (s.model_dir / "points.ply").string().c_str());
  });
}

}  // namespace vg::app
