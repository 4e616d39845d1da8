#include "pipeline/runner_stages.h"

#include "core/error.h"
#include "core/progress.h"

namespace vg {

namespace fs = std::filesystem;

namespace {

void copy_images_into(const fs::path& src, const fs::path& dst, const ColmapModel& model) {
  fs::create_directories(dst);
  for (const auto& [id, im] : model.images) fs::copy_file(src / im.name, dst / im.name, fs::copy_options::overwrite_existing);
}

}  // namespace

Stage sfm_stage(const SfmOptions& opt, bool copy_images) {
  return {"sfm", [opt, copy_images](RunContext& ctx) {
            SfmOptions o = opt;
            o.device = ctx.device;
            const fs::path images = fs::absolute(sfm_images_dir(ctx.dataset_dir));
            const SfmStats s = run_sfm(images, ctx.work_dir, o);
            if (copy_images) {
              copy_images_into(images, ctx.work_dir / "images", read_colmap_model(s.model_dir));
            } else {
              if (fs::is_symlink(ctx.work_dir / "images")) fs::remove(ctx.work_dir / "images");  // a resumed run's
              fs::create_directory_symlink(images, ctx.work_dir / "images");
            }
            ctx.analysis["sfm"] = sfm_stats_json(s);
            log_info("sfm: " + s.message);
            if (s.partial) {
              ctx.partial = true;
              ctx.messages.push_back(s.message);
            }
          }};
}

}  // namespace vg
