#include "pipeline/runner_vggt.h"

#include "core/progress.h"

namespace vg {

namespace fs = std::filesystem;

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
