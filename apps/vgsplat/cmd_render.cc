// `vgsplat render <ply|ckpt> --data-dir D [--data-factor F] [--split test|train|all]
//  [--traj interp|ellipse|spiral] [--video] --out DIR [--device D]`: PNGs (rgb/, depth/, alpha/) and an MP4.
#include <cstdio>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "pipeline/render_model.h"

namespace vg::app {

void register_render(CLI::App& app) {
  auto* cmd = app.add_subcommand("render", "Render a PLY or checkpoint at a dataset's cameras or along a trajectory");
  auto opt = std::make_shared<RenderOptions>();
  auto model = std::make_shared<std::string>();
  auto data_dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto factor = std::make_shared<int>(0);
  cmd->add_option("model", *model, "3DGS PLY (world coordinates) or ckpt_<step>.safetensors")->required();
  cmd->add_option("--data-dir", *data_dir, "The dataset it was trained on (COLMAP, transforms.json or LLFF)")
      ->required();
  cmd->add_option("--data-factor", *factor, "Image downscale factor (default: the checkpoint's, else 4)");
  cmd->add_option("--split", opt->split, "Cameras to render: test, train or all")->capture_default_str();
  cmd->add_option("--traj", opt->traj, "Render along a trajectory instead: interp, ellipse or spiral");
  cmd->add_flag("--video", opt->video, "Also write an MP4 (RGB | depth, 30 fps)");
  cmd->add_option("--out", *out, "Output folder")->required();
  cmd->add_option("--device", opt->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->callback([opt, model, data_dir, out, factor] {
    RenderOptions o = *opt;
    o.model = *model;
    o.data_dir = *data_dir;
    o.out_dir = *out;
    if (*factor > 0) o.data_factor = *factor;
    const RenderSummary s = render_model(o);
    std::printf("%d views of %lld Gaussians -> %s/{rgb,depth,alpha}%s%s\n", s.images,
                static_cast<long long>(s.num_gaussians), out->c_str(), s.video.empty() ? "" : ", ",
                s.video.string().c_str());
  });
}

}  // namespace vg::app
