// What `vgsplat view` and `vgsplat train --viewer` serve: one splat file as the browser renderer reads it
// (INRIA PLY, .splat or .spz), the dataset's cameras in that file's world frame, and the run's stats
// (metadata.json, analysis.json, stats/*.json), held by a SceneStore the trainer can publish new splats to.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "io/dataset.h"
#include "splat/gaussians.h"
#include "splat/train_config.h"

namespace vg {

struct ViewerScene {
  std::string format = "ply";  // ply | splat | spz (Spark's file types)
  std::string axes = "ply";    // spz: "rub" (the spz README's axes: y and z flipped from the PLY's)
  std::string bytes;           // the file as served
  int64_t num_gaussians = 0;
  std::optional<int> step;     // training step (1-based) when known
  std::string file_name() const { return "scene." + format; }
};

// Everything on the page but the splats.
struct ViewerContext {
  nlohmann::json cameras = nlohmann::json::array();  // see cameras_json
  nlohmann::json stats = nlohmann::json::object();   // file name (relative to the run) -> its JSON
  std::array<float, 3> background{0, 0, 0};
  bool antialiased = false;
  double near_plane = 0.01, far_plane = 1000;  // in the scene file's world units
};

// `vgsplat view` inputs: a results folder (newest ply/point_cloud_<N>.ply, else ckpts/ckpt_<N>.safetensors),
// a .ply / .splat / .spz file or a checkpoint. Cameras come from data_dir, else the run's dataset.
struct ViewerInput {
  std::filesystem::path path;
  std::filesystem::path data_dir;  // optional
  std::optional<int> data_factor;  // default: the run's, else 4 (gsplat)
};
struct LoadedViewer {
  ViewerScene scene;
  ViewerContext context;
  std::string note;  // e.g. why no cameras are listed ("" when all is there)
};
// Throws vg::Error with one line naming the file for bad input.
LoadedViewer load_viewer_input(const ViewerInput& in);

// Each view of the dataset as {name, split, width, height, fx, fy, cx, cy, viewmat}: viewmat is the
// row-major world->camera matrix (OpenCV axes) in the original world frame, i.e. the normalised camera
// composed with the dataset's similarity and divided by its scale (projection is scale-invariant).
nlohmann::json cameras_json(const Dataset& data);
// The context for a dataset and training options (cameras, background, antialiasing, clip planes).
ViewerContext viewer_context(const Dataset& data, const TrainConfig& cfg);
// metadata.json, analysis.json and stats/*.json of a results folder (missing files skipped).
nlohmann::json run_stats_json(const std::filesystem::path& dir);
// Normalised-frame CPU Gaussians as an INRIA PLY in the original world frame (write_ply_3dgs).
ViewerScene ply_scene(const Gaussians& g, const Eigen::Matrix4d& world_to_normalized, std::optional<int> step);

// The served state: read by the server's threads, replaced by the trainer (thread-safe).
class SceneStore {
 public:
  SceneStore(ViewerScene scene, ViewerContext context, bool live = false, double poll_seconds = 2);
  void publish(ViewerScene scene, nlohmann::json stats);
  std::shared_ptr<const ViewerScene> scene() const;
  nlohmann::json info_json() const;  // api/scene
  nlohmann::json step_json() const;  // api/step

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ViewerScene> scene_;
  ViewerContext context_;
  bool live_;
  double poll_seconds_;
};

}  // namespace vg
