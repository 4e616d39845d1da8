// The classical SfM stage (`vgsplat sfm`, pipeline P1's first stage): the COLMAP CLI sequence
// feature_extractor -> exhaustive/sequential/pairs matcher (with two-view verification) -> mapper,
// done natively: SIFT per image, descriptor matching, two-view geometry in RANSAC, incremental
// mapping with bundle adjustment. Writes the largest model to <out>/sparse/0 (COLMAP .bin, .txt on
// request) and <out>/points.ply, further models to sparse/1.., and returns what happened.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "features/matching.h"
#include "features/sift.h"
#include "geometry/two_view.h"
#include "io/image.h"
#include "pipeline/sfm_cameras.h"
#include "sfm/mapper.h"

namespace vg {

struct SfmOptions {
  enum class Matcher { Exhaustive, Sequential, PairsFile };
  Matcher matcher = Matcher::Exhaustive;
  int overlap = 10;                    // sequential: each image with the next `overlap` (COLMAP default 10)
  std::filesystem::path pairs_file;    // PairsFile: "name1 name2" per line
  CameraMode camera_mode = CameraMode::Auto;  // which images share a camera (pipeline/sfm_cameras.h)
  std::string camera_model;            // COLMAP's models; empty: the mode's (SIMPLE_RADIAL, per-image PINHOLE)
  double focal_factor = 1.2;           // focal guess = focal_factor * max(W, H) (COLMAP, no EXIF prior)
  SiftOptions sift;
  JpegDecode jpeg_decode = JpegDecode::kFast;  // photos for SIFT decoded as COLMAP's FreeImage does (io/image.h)
  MatchOptions match;
  TwoViewOptions two_view;
  MapperOptions mapper;
  std::string device = "auto";         // auto | cpu | cuda[:N]: SIFT, matching and BA
  int num_threads = 0;                 // CPU workers over images / pairs; 0: auto (hw/4 for SIFT and
                                       // matching, which thread inside; all threads for RANSAC)
  bool write_txt = false;              // also cameras/images/points3D.txt next to the .bin files
  bool progress = true;                // progress bars on stderr
  uint64_t seed = 0;                   // RANSAC seeds derive from it (deterministic runs)
  std::filesystem::path mapper_cache;  // when set: load the mapper input from it if it exists (skipping
                                       // features, matching, geometry), else save it there after geometry
};

struct SfmStats {
  int images_found = 0;        // files in the folder (hidden files excluded)
  int images_used = 0;         // decoded images with at least one feature
  int registered = 0;          // images in the largest model
  int cameras = 0;             // cameras used by the largest model
  int points3D = 0;
  double mean_track_length = 0;
  double mean_reprojection_error = 0;  // pixels, over every observation of the largest model
  int64_t num_features = 0;    // over all images
  int num_pairs = 0;           // pairs matched
  int num_verified_pairs = 0;  // pairs with a two-view geometry and >= min inliers
  int64_t num_verified_matches = 0;  // their inlier matches, summed (COLMAP: two_view_geometries rows)
  std::vector<int> other_models;                 // registered images of sparse/1, sparse/2, ...
  std::vector<std::string> skipped;              // "<file>: <reason>" for unreadable / featureless images
  std::vector<std::pair<std::string, double>> seconds;  // per step: features, matching, geometry, mapping, output
  double total_seconds = 0;
  std::string device;          // device used
  bool partial = false;        // not every usable image registered
  std::string message;         // one line: "all 11 images registered" / "only 3 of 40 images registered; ..."
  std::filesystem::path model_dir;  // <out>/sparse/0
  CameraSetup camera_setup;    // the cameras the mapper started from (mode "cache": from --mapper-cache)
  std::string camera_mode;     // auto | per-image | single | cache
  std::map<uint32_t, ColmapCamera> final_cameras;  // the largest model's cameras after bundle adjustment
};

// Runs the SfM stage on the images in `images_dir` (sorted by name; the format is decided by the
// file bytes; unreadable files are reported in stats.skipped). Throws vg::Error when fewer than 2
// images are usable or no model of at least 2 images can be built; returns partial results
// (stats.partial, stats.message) when only some images register.
SfmStats run_sfm(const std::filesystem::path& images_dir, const std::filesystem::path& out_dir,
                 const SfmOptions& opt = {});

// The images folder of a scene: <scene>/images when it exists, else <scene> itself.
std::filesystem::path sfm_images_dir(const std::filesystem::path& scene_dir);

// Mean track length, mean reprojection error (pixels, over all observations) of a model.
struct ModelStats {
  int registered = 0, cameras = 0, points3D = 0;
  int64_t observations = 0;
  double mean_track_length = 0, mean_reprojection_error = 0;
};
ModelStats model_stats(const ColmapModel& model);

SfmOptions::Matcher parse_matcher(const std::string& name);  // exhaustive | sequential | pairs

}  // namespace vg
