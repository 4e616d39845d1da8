// `vgsplat refine <scene> --init-model DIR --out DIR`: cameras refined from initial poses (COLMAP's
// point_triangulator + bundle_adjuster in one command) -> <out>/sparse/0, points.ply, refine_report.json.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "apps/vgsplat/refine_options.h"
#include "core/error.h"
#include "pipeline/refine_pipeline.h"
#include "pipeline/results.h"
#include "pipeline/runner.h"

namespace vg::app {

namespace fs = std::filesystem;

void add_refine_options(CLI::App* cmd, RefineCliOptions& o) {
  RefineRunOptions& r = o.run;
  cmd->add_option("--camera-model", r.camera_model,
                  "Convert the initial cameras to SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL or OPENCV "
                  "(default: keep the initial model's)");
  cmd->add_flag("--single-camera", r.single_camera, "One camera shared by all images (they must have one size)");
  cmd->add_option("--refine-focal", r.refine.refine_focal, "Refine focal lengths (COLMAP default 1)")
      ->capture_default_str();
  cmd->add_flag("--refine-principal-point", r.refine.refine_principal_point,
                "Refine principal points (COLMAP default: off)");
  cmd->add_option("--refine-extra", r.refine.refine_extra_params, "Refine distortion terms (COLMAP default 1)")
      ->capture_default_str();
  cmd->add_option("--max-reproj-error", r.refine.max_reproj_error,
                  "Final reprojection-error filter in pixels (COLMAP's filter_max_reproj_error)")
      ->capture_default_str();
  cmd->add_option("--initial-max-reproj-error", r.refine.initial_max_reproj_error,
                  "First stage's threshold in pixels (0: measured from how far the initial poses are off)")
      ->capture_default_str();
  cmd->add_option("--wide-stage-focal", r.refine.wide_stage_focal,
                  "Refine the focal lengths in the wide stages as well, not only in the final one (1/0)")
      ->capture_default_str();
  cmd->add_option("--wide-stage-rounds", r.refine.wide_stage_rounds,
                  "Retriangulate / adjust / filter rounds of each wide stage (the final stage runs to convergence)")
      ->capture_default_str()->check(CLI::Range(1, 100));
  cmd->add_option("--final-retriangulation", r.refine.final_retriangulation,
                  "After the final stage, triangulate every point anew from the refined cameras and run it again (1/0)")
      ->capture_default_str();
  cmd->add_option("--relocalize", r.refine.relocalize_images,
                  "Before each stage, move an image whose pose fits clearly fewer of the points that other images "
                  "see than a fresh P3P pose does (1/0)")
      ->capture_default_str();
  cmd->add_option("--min-tri-angle", r.refine.min_tri_angle_deg, "Minimum triangulation angle, degrees")
      ->capture_default_str();
  cmd->add_option("--min-tracks", r.refine.min_tracks,
                  "Fewer surviving tracks leave the cameras as given (a partial result)")
      ->capture_default_str();
  cmd->add_option("--min-image-observations", r.refine.min_image_observations,
                  "Images seeing fewer points are not refined (registered afterwards, or kept as given)")
      ->capture_default_str();
  cmd->add_option("--rotation-averaging", r.average_rotations,
                  "Correct the initial rotations from the pairs' relative rotations before triangulating (1/0)")
      ->capture_default_str();
  cmd->add_option("--epipolar-tolerance", r.guided.epipolar_tolerance_px,
                  "Matches farther than this (pixels) from the initial epipolar lines are dropped before RANSAC "
                  "(0: off)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--rotation-tolerance-factor", r.guided.tolerance_factor,
                  "Leave a verified pair out of rotation averaging when its relative rotation differs from the "
                  "initial one by over this many times the median over all pairs (and 10 deg); 0: use every pair")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--pair-epipolar-factor", r.guided.pair_error_factor,
                  "Drop a verified pair whose inliers' median distance to the initial epipolar lines is over this "
                  "many times the median over all pairs (and 4 px); 0: keep every pair")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--min-overlap", r.overlap.min_overlap,
                  "Candidate pairs: share of one view that the other sees at the scene depth")
      ->capture_default_str();
  cmd->add_option("--max-axis-angle", r.overlap.max_axis_angle_deg,
                  "Candidate pairs: views whose optical axes differ by more (degrees) are not matched (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--max-pairs-per-image", r.overlap.max_pairs_per_image,
                  "At most this many best-overlapping partners per image (0: all above --min-overlap)")
      ->capture_default_str();
  cmd->add_option("--max-image-size", r.sift.max_image_size, "Downscale larger images for SIFT")->capture_default_str();
  cmd->add_option("--max-features", r.sift.max_num_features, "SIFT keypoints per image")->capture_default_str();
  cmd->add_option("--jpeg-decode", o.jpeg_decode, "JPEG decoding for SIFT: colmap or accurate")
      ->check(CLI::IsMember({"colmap", "accurate"}))
      ->capture_default_str();
  cmd->add_option("--threads", r.num_threads, "CPU worker threads (0: all)");
  cmd->add_option("--refine-seed", r.seed, "RANSAC seed")->capture_default_str();
  cmd->add_option("--dump-ba", r.dump_ba, "Write the final bundle-adjustment problem here (for tools/ba_bench)");
}

void add_p3_options(CLI::App* cmd, VggtBaOptions& ba) {
  RefineRunOptions& r = ba.refine;
  cmd->add_option("--tracks", ba.tracks,
                  "P3/P5 track source: sift (guided SIFT matching + iterative BA) or vggsfm (the original's learned "
                  "tracker: DINOv2, ALIKED, SuperPoint, VGGSfM; needs --tracker-weights)")
      ->check(CLI::IsMember({"sift", "vggsfm"}))
      ->capture_default_str();
  cmd->add_flag("--shared-camera", r.single_camera, "P3/P5: one camera for all images (demo_colmap.py --shared_camera)");
  cmd->add_option("--camera-type", r.camera_model, "P3/P5: SIMPLE_PINHOLE (the original's default) or PINHOLE, ...")
      ->capture_default_str();
  cmd->add_option("--max-reproj-error", r.refine.max_reproj_error, "P3/P5: final reprojection-error filter, pixels")
      ->capture_default_str();
  cmd->add_option("--dump-ba", r.dump_ba, "P3/P5: write the final bundle-adjustment problem here (tools/ba_bench)");
  VggsfmTrackOptions& v = ba.vggsfm;
  cmd->add_option("--tracker-weights", v.weights_dir,
                  "--tracks vggsfm: folder with vggsfm_v2_tracker.pt, aliked-n16.pth, superpoint_v1.pth and "
                  "dinov2_vitb14_reg4_pretrain.pth (default: $VGSPLAT_TRACKER_WEIGHTS)");
  cmd->add_option("--query-frame-num", v.predict.query_frame_num, "--tracks vggsfm: query frames ranked by DINOv2")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-query-pts", v.models.max_query_pts, "--tracks vggsfm: keypoints per extractor and query frame")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--vis-thresh", v.ba.vis_thresh, "--tracks vggsfm: visibility an observation needs")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("!--no-fine-tracking", v.models.fine_tracking, "--tracks vggsfm: coarse tracking only (faster)");
  cmd->add_option("--track-seed", v.predict.seed, "--tracks vggsfm: seed of the query points' shuffle")
      ->capture_default_str();
}

void finish_refine_options(RefineCliOptions& o) {
  RefineRunOptions& r = o.run;
  r.jpeg_decode = o.jpeg_decode == "accurate" ? JpegDecode::kAccurate : JpegDecode::kFast;
  VG_CHECK(r.camera_model.empty() || colmap_model_id(r.camera_model) >= 0, "unknown camera model '", r.camera_model,
           "'");
  VG_CHECK(r.refine.max_reproj_error > 0, "--max-reproj-error must be > 0");
  VG_CHECK(r.refine.min_tracks >= 0, "--min-tracks must be >= 0");
  VG_CHECK(r.overlap.min_overlap >= 0 && r.overlap.min_overlap <= 1, "--min-overlap must be in [0, 1]");
  VG_CHECK(r.sift.max_image_size >= 16, "--max-image-size must be >= 16");
  VG_CHECK(r.sift.max_num_features >= 1, "--max-features must be >= 1");
}

void print_refine_summary(const RefineRunStats& s) {
  const RefineReport& r = s.report;
  std::printf("refine: %s\n", s.message.c_str());
  if (s.candidate_pairs > 0)  // the SIFT track source (vggsfm tracks have no pairs)
    std::printf("  %d candidate pairs, %d verified by RANSAC, %d kept (%d dropped off the initial epipolar lines; "
                "%d not used for rotations); %lld of %lld matches dropped by the initial geometry\n",
                s.candidate_pairs, s.ransac_pairs, s.verified_pairs, s.pairs_prior_rejected, s.pairs_rotation_off,
                static_cast<long long>(s.matches_prior_rejected), static_cast<long long>(s.matches));
  std::printf("  tracks %d: %d triangulated (%d from depth), %d kept, %d dropped; %lld observations\n",
              r.tracks_total, r.tracks_initial, r.tracks_from_depth, r.tracks_kept, r.tracks_dropped,
              static_cast<long long>(r.observations));
  for (const RefineIteration& it : r.iterations)
    std::printf("  %-18s cost %12.5g -> %12.5g  %3d BA its  %7d points  mean error %.3f px  %.2f s\n",
                it.stage.c_str(), it.initial_cost, it.final_cost, it.ba_iterations, it.points, it.mean_reproj_error,
                it.seconds);
  for (const std::string& line : r.relocalized) std::printf("  re-localised: %s\n", line.c_str());
  std::printf("  mean reprojection error %.3f px (initial %.3f px)\n", r.final_mean_reproj_error,
              r.initial_mean_reproj_error);
  std::printf("  seconds:");
  for (const auto& [step, sec] : s.seconds) std::printf(" %s %.2f,", step.c_str(), sec);
  std::printf(" total %.2f (%s)\n", s.total_seconds, s.device.c_str());
}

void register_refine(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "refine", "Refine given cameras (COLMAP point_triangulator + bundle_adjuster): -> sparse/0, points.ply");
  auto o = std::make_shared<RefineCliOptions>();
  auto scene = std::make_shared<std::string>();
  auto init = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto stats_json = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  cmd->add_option("scene", *scene, "Scene folder (its images/ subfolder, or the photos themselves); only read")
      ->required();
  cmd->add_option("--init-model", *init, "Initial COLMAP model (folder of cameras/images[.bin|.txt], or a dataset "
                  "folder with sparse/0)")->required();
  cmd->add_option("--out", *out, "Output folder (default: ./refine_<scene name>)");
  cmd->add_option("--device", o->run.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--txt", o->run.write_txt, "Also write the model as .txt");
  cmd->add_option("--stats", *stats_json, "Also write the report here (it is always in <out>/refine_report.json)");
  cmd->add_flag("--overwrite", *overwrite, "Replace an existing <out>/sparse folder");
  add_refine_options(cmd, *o);
  cmd->callback([o, scene, init, out, stats_json, overwrite] {
    finish_refine_options(*o);
    const fs::path out_dir = out->empty() ? fs::path("refine_" + scan_name(fs::absolute(*scene))) : fs::path(*out);
    VG_CHECK(*overwrite || !fs::exists(out_dir / "sparse"), (out_dir / "sparse").string(),
             " already exists: pass --out DIR or --overwrite");
    const fs::path init_dir = fs::exists(fs::path(*init) / "cameras.bin") || fs::exists(fs::path(*init) / "cameras.txt")
                                  ? fs::path(*init)
                                  : find_colmap_model(*init);
    const ColmapModel model = read_colmap_model(init_dir);
    const RefineRunStats s = run_refine(*scene, model, out_dir, o->run);
    const nlohmann::json j = refine_stats_json(s);
    write_json_atomic(out_dir / "refine_report.json", j);
    if (!stats_json->empty()) write_json_atomic(*stats_json, j);
    print_refine_summary(s);
    std::printf("model in %s, points in %s, report in %s\n", s.model_dir.string().c_str(),
                (out_dir / "points.ply").string().c_str(), (out_dir / "refine_report.json").string().c_str());
  });
}

}  // namespace vg::app
