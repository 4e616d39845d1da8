// `vgsplat prepare <source_dir | video>`: a standard dataset folder (<= max images, DTU angle order; a
// video's frames sampled uniformly over its duration).
#include <cstdio>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "pipeline/prepare.h"
#include "pipeline/video_dataset.h"

namespace vg::app {

void register_prepare(CLI::App& app) {
  auto* cmd = app.add_subcommand("prepare", "Copy a photo folder into datasets/.../<name>_standard/images (sampled)");
  auto src = std::make_shared<std::string>();
  auto opt = std::make_shared<PrepareOptions>();
  auto out_root = std::make_shared<std::string>("datasets");
  cmd->add_option("source_dir", *src, "Folder of PNG/JPG photos (or with an images/ subfolder), or a video file (its frames)")->required();
  cmd->add_option("--max-images", opt->max_images, "Sample this many photos (or video frames) uniformly when there are more")
      ->capture_default_str();
  cmd->add_option("--out-root", *out_root, "Root of the standard datasets")->capture_default_str();
  cmd->add_flag("--overwrite", opt->overwrite, "Replace an existing output folder");
  cmd->callback([src, opt, out_root] {
    PrepareOptions o = *opt;
    o.out_root = *out_root;
    const PrepareResult r = prepare_dataset(*src, o);
    if (is_video_file(*src))
      std::printf("%zu frames of %s -> %s\n", r.names.size(), src->c_str(), (r.out_dir / "images").string().c_str());
    else
      std::printf("%zu of %d photos%s -> %s\n", r.names.size(), r.num_source, r.dtu ? " (DTU, angle order)" : "",
                  (r.out_dir / "images").string().c_str());
  });
}

}  // namespace vg::app
