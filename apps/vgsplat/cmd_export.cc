// `vgsplat export <ply|ckpt> --format ply|splat|spz --out FILE [--data-dir D] [--sh-degree N]
//  [--min-opacity A] [--max-scale S] [--spz-version 2|3] [--spz-axes rub|ply]`: the model in the original world frame as an INRIA
// PLY, an antimatter15 .splat or a Niantic .spz (io/splat_formats.h), optionally pruned.
#include <cstdio>
#include <memory>

#include <Eigen/LU>

#include "apps/vgsplat/commands.h"
#include "core/error.h"
#include "core/fs.h"
#include "io/dataset.h"
#include "io/ply.h"
#include "io/splat_formats.h"
#include "pipeline/render_model.h"
#include "splat/checkpoint.h"
#include "splat/train_config.h"

namespace vg::app {
namespace {

struct ExportArgs {
  std::string model, out, format, data_dir;
  int sh_degree = -1;
  float min_opacity = 0.0f, max_scale = 0.0f;
  int spz_version = 2;
  std::string spz_axes = "rub";  // rub (spz README) | ply (no axis conversion)
};

// A checkpoint lives in the normalised training frame; the dataset's world transform maps it back
// (the inverse of what render_model applies to a PLY).
Gaussians checkpoint_in_world(const fs::path& path, const std::string& data_dir) {
  Checkpoint ck = load_checkpoint(path);
  TrainConfig cfg;
  if (!ck.config_json.empty()) cfg = TrainConfig::from_json(ck.config_json);
  Gaussians g = std::move(ck.gaussians);
  if (!cfg.normalize_world_space || g.size() == 0) return g;
  DatasetOptions d;
  d.dir = data_dir.empty() ? fs::path(cfg.data_dir) : fs::path(data_dir);
  VG_CHECK(!d.dir.empty(), path.string(), " names no dataset: pass --data-dir (its world frame is needed)");
  d.data_factor = cfg.data_factor;
  d.test_every = cfg.test_every;
  d.normalize = true;
  const Dataset data = load_dataset(d);
  apply_similarity(g, data.transform.inverse());
  return g;
}

Gaussians load_model_world(const ExportArgs& a) {
  const fs::path path = a.model;
  std::error_code ec;
  VG_CHECK(fs::is_regular_file(path, ec), "cannot read ", path.string(), ": no such file");
  if (is_ply_file(path)) return read_ply_3dgs(path);
  const std::string ext = path.extension().string();
  if (ext == ".spz") return read_spz(path, a.spz_axes == "rub");
  if (ext == ".splat") return read_splat(path);
  return checkpoint_in_world(path, a.data_dir);
}

void run_export(const ExportArgs& a) {
  const SplatFormat format = a.format.empty() ? splat_format_of(a.out) : parse_splat_format(a.format);
  VG_CHECK(a.spz_version == 2 || a.spz_version == 3, "--spz-version must be 2 or 3, got ", a.spz_version);
  VG_CHECK(a.spz_axes == "rub" || a.spz_axes == "ply", "--spz-axes must be rub or ply, got '", a.spz_axes, "'");
  Gaussians g = load_model_world(a);
  const int64_t loaded = g.size();
  g = prune_gaussians(truncate_sh(g, a.sh_degree), a.min_opacity, a.max_scale);
  switch (format) {
    case SplatFormat::kPly: write_ply_3dgs(a.out, g); break;
    case SplatFormat::kSplat: write_splat(a.out, g); break;
    case SplatFormat::kSpz: {
      SpzOptions o;
      o.version = a.spz_version;
      o.rub_axes = a.spz_axes == "rub";
      write_spz(a.out, g, o);
      break;
    }
  }
  std::error_code ec;
  const auto bytes = fs::file_size(a.out, ec);
  std::printf("%lld of %lld Gaussians (SH degree %d) -> %s (%.2f MB)\n", static_cast<long long>(g.size()),
              static_cast<long long>(loaded), g.size() ? g.max_sh_degree() : 0, a.out.c_str(),
              ec ? 0.0 : static_cast<double>(bytes) / 1e6);
}

}  // namespace

void register_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Export a PLY or checkpoint as an INRIA PLY, a .splat or a .spz");
  auto a = std::make_shared<ExportArgs>();
  cmd->add_option("model", a->model, "3DGS PLY (world coordinates), ckpt_<step>.safetensors, .splat or .spz")
      ->required();
  cmd->add_option("--format", a->format, "ply, splat or spz (default: from the --out extension)");
  cmd->add_option("--out", a->out, "Output file")->required();
  cmd->add_option("--data-dir", a->data_dir,
                  "Checkpoints: the dataset whose world frame to export in (default: the checkpoint's data_dir)");
  cmd->add_option("--sh-degree", a->sh_degree, "Keep SH up to this degree (default: all; .splat keeps only DC)");
  cmd->add_option("--min-opacity", a->min_opacity, "Drop Gaussians with a smaller opacity (0..1)")
      ->capture_default_str();
  cmd->add_option("--max-scale", a->max_scale, "Drop Gaussians with a larger axis scale (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--spz-version", a->spz_version, ".spz version: 2 (widest support) or 3")->capture_default_str();
  cmd->add_option("--spz-axes", a->spz_axes,
                  ".spz axes: rub (the spz README: y and z flipped from the PLY) or ply (unchanged)")
      ->capture_default_str();
  cmd->callback([a] { run_export(*a); });
}

}  // namespace vg::app
