#include "pipeline/runner_vggt.h"

#include "core/progress.h"
#include "pipeline/results.h"

namespace vg {

namespace fs = std::filesystem;

namespace {

void link_or_copy_images(const RunContext& ctx, bool copy_images) {
  const std::vector<fs::path> files = vggt::list_scene_images(ctx.dataset_dir);
  if (copy_images) {
    fs::create_directories(ctx.work_dir / "images");
    for (const fs::path& f : files)
      fs::copy_file(f, ctx.work_dir / "images" / f.filename(), fs::copy_options::overwrite_existing);
  } else {
    fs::create_directory_symlink(fs::absolute(files.front().parent_path()), ctx.work_dir / "images");
  }
}

}  // namespace

Stage vggt_ba_stage(const VggtBaOptions& opt, bool copy_images) {
  return {"vggt_ba", [opt, copy_images](RunContext& ctx) {
            VggtBaOptions o = opt;
            o.vggt.device = ctx.device;
            o.refine.progress = true;
            const VggtBaStats s = run_vggt_ba(ctx.dataset_dir, ctx.work_dir, o);
            link_or_copy_images(ctx, copy_images);
            write_json_atomic(ctx.work_dir / "refine_report.json", refine_stats_json(s.refine));
            nlohmann::json j = vggt_ba_stats_json(s);
            j["vggt"]["run_device"] = ctx.device;
            ctx.analysis["vggt"] = j["vggt"];
            ctx.analysis["refine"] = j["refine"];
            if (j.contains("tracks")) ctx.analysis["tracks"] = j["tracks"];
            log_info("vggt: " + s.vggt.message);
            log_info("refine: " + s.refine.message);
            if (s.refine.partial) {
              ctx.partial = true;
              ctx.messages.push_back(s.refine.message);
            }
          }};
}

Stage vggt_stage(const vggt::VggtRunOptions& opt, bool copy_images) {
  return {"vggt", [opt, copy_images](RunContext& ctx) {
            vggt::VggtRunOptions o = opt;
            o.device = ctx.device;  // the run's resolved device: the CUDA engine on a GPU, else the CPU one
            const vggt::VggtRunStats s = vggt::run_vggt_p2(ctx.dataset_dir, ctx.work_dir, o);
            const std::vector<fs::path> files = vggt::list_scene_images(ctx.dataset_dir);
            const fs::path images = fs::absolute(files.front().parent_path());
            if (copy_images) {
              fs::create_directories(ctx.work_dir / "images");
              for (const fs::path& f : files)
                fs::copy_file(f, ctx.work_dir / "images" / f.filename(), fs::copy_options::overwrite_existing);
            } else {
              fs::create_directory_symlink(images, ctx.work_dir / "images");
            }
            nlohmann::json j = vggt::vggt_stats_json(s);
            j["run_device"] = ctx.device;
            j["model_dir"] = "sparse";
            ctx.analysis["vggt"] = j;
            log_info("vggt: " + s.message);
          }};
}

}  // namespace vg
