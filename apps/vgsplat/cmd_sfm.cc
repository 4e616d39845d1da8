// `vgsplat sfm <scene>`: features, matching, two-view geometry and incremental mapping into
// <out>/sparse/0 (COLMAP) and <out>/points.ply.
#include <cstdio>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "apps/vgsplat/sfm_options.h"
#include "core/error.h"
#include "pipeline/results.h"
#include "pipeline/sfm_pipeline.h"

namespace vg::app {

void add_sfm_options(CLI::App* cmd, SfmCliOptions& o) {
  cmd->add_option("--matcher", o.matcher, "exhaustive, sequential or pairs")
      ->check(CLI::IsMember({"exhaustive", "sequential", "pairs"}))
      ->capture_default_str();
  cmd->add_option("--overlap", o.sfm.overlap, "Sequential matcher: pair each image with the next K")->capture_default_str();
  cmd->add_option("--pairs", o.pairs_file, "Text file of 'name1 name2' pairs to match (implies --matcher pairs)");
  cmd->add_option("--camera-mode", o.camera_mode,
                  "Which images share a camera: auto (default: same size and same EXIF make, model and focal "
                  "length; without EXIF, same size), per-image (one camera each, the original P1) or single (one "
                  "for all); the focal length starts from EXIF when present, else 1.2 * max(W, H)");
  cmd->add_option("--camera-model", o.sfm.camera_model,
                  "SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL or OPENCV (default: SIMPLE_RADIAL, with "
                  "--camera-mode per-image PINHOLE); training undistorts to PINHOLE");
  cmd->add_flag("--single-camera", o.single_camera, "Same as --camera-mode single");
  cmd->add_option("--max-image-size", o.sfm.sift.max_image_size, "Downscale larger images for SIFT")->capture_default_str();
  cmd->add_option("--max-features", o.sfm.sift.max_num_features,
                  "SIFT keypoints per image (as COLMAP: whole scale levels, coarsest first, so a few more)")
      ->capture_default_str();
  cmd->add_option("--jpeg-decode", o.jpeg_decode,
                  "JPEG decoding for SIFT: colmap (fast IDCT, no chroma smoothing: FreeImage's default, so the "
                  "keypoints are COLMAP's) or accurate (libjpeg's defaults)")
      ->check(CLI::IsMember({"colmap", "accurate"}))
      ->capture_default_str();
  cmd->add_flag("--refine-principal-point", o.sfm.mapper.refine_principal_point,
                "Refine the principal point in bundle adjustment (COLMAP: Mapper.ba_refine_principal_point)");
  cmd->add_option("--final-principal-point", o.sfm.mapper.final_principal_point_min_images,
                  "Refine the principal points at the end when every camera is shared by at least N registered "
                  "images (kept only within 5 % of the image size from the centre; 0: never, as COLMAP)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--split-tracks,!--no-split-tracks", o.sfm.mapper.split_tracks,
                "Before the final refinement, triangulate the members a track's point left out as a point of their own")
      ->capture_default_str();
  cmd->add_flag("!--two-view-tracks", o.sfm.mapper.ignore_two_view_tracks,
                "Also triangulate tracks seen by only two images (COLMAP: Mapper.tri_ignore_two_view_tracks 0)");
  cmd->add_flag("--final-retriangulation,!--no-final-retriangulation", o.sfm.mapper.final_retriangulation,
                "Triangulate the points anew from the final cameras and refine once more at the end (off by default: "
                "mixed on the Strecha scenes)")
      ->capture_default_str();
  cmd->add_option("--device", o.sfm.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--threads", o.sfm.num_threads, "CPU worker threads (0: all)");
  cmd->add_option("--sfm-seed", o.sfm.seed, "RANSAC seed of the SfM stage")->capture_default_str();
  cmd->add_option("--mapper-cache", o.sfm.mapper_cache,
                  "Mapper input snapshot: loaded when it exists (features, matching and geometry skipped), "
                  "else written after geometry");
}

void finish_sfm_options(SfmCliOptions& o) {
  if (!o.pairs_file.empty()) {
    VG_CHECK(o.matcher == "exhaustive" || o.matcher == "pairs", "--pairs goes with --matcher pairs, not ", o.matcher);
    o.matcher = "pairs";
    o.sfm.pairs_file = o.pairs_file;
  }
  o.sfm.matcher = parse_matcher(o.matcher);
  o.sfm.jpeg_decode = o.jpeg_decode == "accurate" ? JpegDecode::kAccurate : JpegDecode::kFast;
  VG_CHECK(o.sfm.matcher != SfmOptions::Matcher::PairsFile || !o.sfm.pairs_file.empty(),
           "--matcher pairs needs --pairs FILE");
  VG_CHECK(!o.single_camera || o.camera_mode.empty() || o.camera_mode == "single", "--single-camera contradicts "
           "--camera-mode ", o.camera_mode);
  o.sfm.camera_mode = parse_camera_mode(o.single_camera ? "single" : o.camera_mode.empty() ? "auto" : o.camera_mode);
  VG_CHECK(o.sfm.camera_model.empty() || colmap_model_id(o.sfm.camera_model) >= 0, "unknown camera model '",
           o.sfm.camera_model, "'");
  VG_CHECK(o.sfm.sift.max_image_size >= 16, "--max-image-size must be >= 16");
  VG_CHECK(o.sfm.sift.max_num_features >= 1, "--max-features must be >= 1");
}

void print_sfm_summary(const SfmStats& s) {
  std::printf("SfM: %s\n", s.message.c_str());
  std::printf("  images %d (usable %d), registered %d, cameras %d, points3D %d\n", s.images_found, s.images_used,
              s.registered, s.cameras, s.points3D);
  std::printf("  mean track length %.3f, mean reprojection error %.3f px\n", s.mean_track_length,
              s.mean_reprojection_error);
  std::printf("  camera mode %s, %zu camera(s) %s:", s.camera_mode.c_str(), s.camera_setup.groups.size(),
              s.camera_setup.model.c_str());
  for (size_t k = 0; k < s.camera_setup.groups.size(); ++k) {
    const CameraGroup& g = s.camera_setup.groups[k];
    if (k == 3 && s.camera_setup.groups.size() > 4) {
      std::printf(" ... %zu more", s.camera_setup.groups.size() - 3);
      break;
    }
    std::printf(" [%lldx%lld, %zu image(s), focal %.1f %s]", static_cast<long long>(g.camera.width),
                static_cast<long long>(g.camera.height), g.images.size(), g.camera.params.empty() ? 0.0 : g.camera.params[0],
                g.focal_source.c_str());
  }
  std::printf("\n");
  std::printf("  seconds:");
  for (const auto& [step, sec] : s.seconds) std::printf(" %s %.2f,", step.c_str(), sec);
  std::printf(" total %.2f (%s)\n", s.total_seconds, s.device.c_str());
  for (size_t k = 0; k < s.other_models.size(); ++k)
    std::printf("  model sparse/%zu: %d images\n", k + 1, s.other_models[k]);
  for (const std::string& sk : s.skipped) std::printf("  skipped %s\n", sk.c_str());
}

void register_sfm(CLI::App& app) {
  auto* cmd = app.add_subcommand("sfm", "Structure from motion: photos -> COLMAP model (sparse/0) and points.ply");
  auto o = std::make_shared<SfmCliOptions>();
  auto scene = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto txt = std::make_shared<bool>(false);
  auto stats_json = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  cmd->add_option("scene", *scene, "Scene folder (its images/ subfolder, or the photos themselves)")->required();
  cmd->add_option("--out", *out, "Output folder (default: the scene folder)");
  cmd->add_flag("--txt", *txt, "Also write the model as .txt");
  cmd->add_option("--stats", *stats_json, "Write the statistics as JSON here");
  cmd->add_flag("--overwrite", *overwrite, "Replace an existing <out>/sparse folder");
  add_sfm_options(cmd, *o);
  cmd->callback([o, scene, out, txt, stats_json, overwrite] {
    finish_sfm_options(*o);
    o->sfm.write_txt = *txt;
    const std::filesystem::path out_dir = out->empty() ? std::filesystem::path(*scene) : std::filesystem::path(*out);
    VG_CHECK(*overwrite || !std::filesystem::exists(out_dir / "sparse"), (out_dir / "sparse").string(),
             " already exists: pass --out DIR or --overwrite");
    const SfmStats s = run_sfm(sfm_images_dir(*scene), out_dir, o->sfm);
    print_sfm_summary(s);
    if (!stats_json->empty()) write_json_atomic(*stats_json, sfm_stats_json(s));
    std::printf("model in %s, points in %s\n", s.model_dir.string().c_str(), (out_dir / "points.ply").string().c_str());
  });
}

}  // namespace vg::app
