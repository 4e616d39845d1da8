// Pipeline P2's output stage: VGGT predictions -> a COLMAP model and a coloured point cloud, exactly as the
// official demo_colmap.py without --use_ba: unproject_depth_map_to_point_map (utils/geometry.py), keep
// depth_conf >= conf_thres, at most max_points chosen by numpy's legacy RNG (np.random.seed(seed);
// randomly_limit_trues), colours from the 518 model images, batch_np_matrix_to_pycolmap_wo_track (one PINHOLE
// camera per frame, one single-observation track per point) and rename_colmap_recons_and_rescale_camera (the
// original file names, cameras and 2D points scaled to the original resolution, principal point at its centre).
// Points, confidences and colours all come from the 518 model resolution, and the cameras are rescaled from
// 518 (reconstruction_resolution = vggt_fixed_resolution); the 518 -> 1024 intrinsics scaling of the official
// script belongs to its --use_ba branch only. Images are taken in file-name order (the official glob order is
// the file system's). With --vggt-resize crop (load_and_preprocess_images(mode="crop"), vggt/preprocess.h) the
// model images are [S,3,H,518] and the cameras are rescaled per axis from the photo's place in them.
// run_vggt_p2 is the whole `vgsplat vggt` command: images -> preprocessing -> network (CPU or CUDA engine,
// vggt/engine.h) -> export -> files.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "io/colmap.h"

namespace vg::vggt {

// numpy.random.RandomState (legacy MT19937) for the calls the pipeline makes: seed(int), permutation(n) and
// choice(a, size, replace=False) (= a[permutation(len(a))[:size]]).
class NumpyLegacyRandom {
 public:
  explicit NumpyLegacyRandom(uint32_t seed) : mt_(seed) {}  // init_genrand(seed), as np.random.seed(int)
  uint64_t random_interval(uint64_t max);                   // uniform in [0, max] by masked rejection
  std::vector<int64_t> permutation(int64_t n);              // Fisher-Yates from the end, as _shuffle_raw
 private:
  std::mt19937 mt_;
};

// helper.py randomly_limit_trues: when more than max_trues entries are set, keep max_trues of them chosen by
// rng.choice(flatnonzero(mask), max_trues, replace=False); returns the kept flat indices in increasing order.
std::vector<int64_t> randomly_limit_trues(const std::vector<uint8_t>& mask, int64_t max_trues, NumpyLegacyRandom& rng);

// geometry.py unproject_depth_map_to_point_map: depth [S,H,W], extrinsics [S,3,4] (camera from world),
// intrinsics [S,3,3] -> world points [S,H,W,3] (F64: the official result is float64).
std::vector<double> unproject_depth_map_to_point_map(const Tensor& depth, const Tensor& extrinsics,
                                                     const Tensor& intrinsics);

struct ExportOptions {
  float conf_thres = 5.0f;       // --conf-thres (conf_thres_value)
  bool conf_percentile = false;  // --conf-percentile: conf_thres is a percentile (0-100) of the confidences
  // Never empty: when the threshold keeps fewer than this share of the pixels, the top-confidence share is kept
  // instead (and ExportResult::note says so); 0 turns it off (the official behaviour).
  double min_keep_fraction = 0.05;
  int64_t max_points = 100000;   // max_points_for_colmap
  uint32_t seed = 42;            // np.random.seed(args.seed)
};

// What the network produced for S frames of H x W model pixels, plus what preprocessing kept.
struct VggtPredictions {
  Tensor extrinsics;       // [S,3,4]
  Tensor intrinsics;       // [S,3,3] at model resolution
  Tensor depth;            // [S,H,W]
  Tensor conf;             // [S,H,W] depth_conf (or world_points_conf with the point head)
  Tensor world_points;     // [S,H,W,3] from the point head; undefined: unproject depth
  Tensor images_model;     // [S,3,H,W] in [0,1]: the colours
  Tensor images_load;      // square mode: [S,3,load_size,load_size] in [0,1] (P3's tracking frame); crop: undefined
  Tensor original_coords;  // [S,6]: x1, y1, x2, y2, width, height (PreprocessedImages, vggt/preprocess.h)
  std::vector<std::string> names;  // original file names, one per frame
  std::string resize = "square";   // "square": x1..y2 in load_size pixels; "crop": in model pixels
};

struct ExportResult {
  ColmapModel model;
  std::vector<float> xyz;           // [P*3] the kept points (points.ply)
  std::vector<uint8_t> rgb;         // [P*3]
  std::vector<float> conf;          // [P] their confidences
  std::vector<int64_t> flat_index;  // [P] s*H*W + y*W + x of each kept point
  int64_t confident = 0;            // points with conf >= conf_thres before the limit
  float conf_threshold = 0;         // the threshold applied (after a percentile or the fallback)
  std::string note;                 // set when the fallback replaced the threshold
};

// demo_colmap.py's no-BA branch for predictions at model resolution: the model before renaming.
ExportResult predictions_to_colmap(const VggtPredictions& p, const ExportOptions& opt);

// rename_colmap_recons_and_rescale_camera(..., img_size, shift_point2d_to_original_res=True,
// shared_camera=False): image i+1 gets names[i]; its camera's params are multiplied by
// max(width, height) / img_size (float32 ratio as numpy computes it), the principal point set to
// (width/2, height/2), the size set to the original; 2D points become (xy - (x1, y1)) * ratio.
// resize "crop" (coords in model pixels, no official counterpart): per axis, rx = width / (x2 - x1) and
// ry = height / (y2 - y1) (the height is rounded to 14 pixels, so they differ slightly); PINHOLE fx *= rx,
// fy *= ry (other models: every parameter *= rx), principal point (width/2, height/2), size the original, 2D
// points (x - x1) * rx, (y - y1) * ry: a point seen at model pixel (x, y) reprojects onto its observation.
void rename_and_rescale(ColmapModel& model, const std::vector<std::string>& names, const Tensor& original_coords,
                        int img_size, const std::string& resize = "square");

// <dir>/cameras|images|points3D.bin (+ .txt when write_txt) and <dir>/points.ply (binary, coloured).
void write_export(const std::filesystem::path& dir, const ExportResult& r, bool write_txt);

// ---- the whole command -----------------------------------------------------------------------------------

struct VggtRunOptions {
  std::string weights;             // --weights; empty: $VGSPLAT_VGGT_WEIGHTS
  std::string config = "1b";       // network sizes: "1b" (VGGT-1B) or "tiny" (the test fixture)
  std::string device = "cpu";      // auto | cpu | cuda[:N]: a GPU runs the CUDA engine, the CPU the fp32 reference
  std::string precision = "auto";  // auto | fp32 | bf16 | fp16 (vggt/engine.h make_vggt_engine)
  bool point_head = false;         // points and confidences from the point head instead of unprojected depth
  bool write_txt = false;
  int load_size = 1024, model_size = 518;  // crop: model_size is the width (official 518), load_size unused
  std::string resize = "square";             // --vggt-resize: square (demo_colmap.py) | crop (vggt/preprocess.h)
  ExportOptions exp;
};

struct VggtRunStats {
  int images = 0;
  int64_t confident = 0, points = 0;
  std::vector<std::pair<std::string, double>> seconds;  // weights, preprocess, network, export, write
  double total_seconds = 0;
  std::string device;                // resolved: "cpu", "cuda:0"
  std::string engine, precision;     // "cpu" | "cuda"; "fp32" | "bf16" | "fp16"
  std::string resize;                // "square" | "crop"
  int64_t model_height = 0, model_width = 0;  // the network's input size
  double network_seconds = 0;        // the forward pass (synchronised)
  size_t peak_gpu_memory_bytes = 0;  // vgsplat's GPU allocations at their peak, weights included; 0 on the CPU
  std::filesystem::path model_dir;   // <out>/sparse
  std::string message;               // one line
};

// The images of a scene (<scene>/images when present, else <scene>): regular, non-hidden files by name.
std::vector<std::filesystem::path> list_scene_images(const std::filesystem::path& scene_dir);

// Runs P2 on the scene's images and writes <out_dir>/sparse/ (COLMAP model, points.ply). Refuses an output
// folder that is the scene or its images folder (the input is never written). The weights are resolved and
// checked before any image is read.
VggtRunStats run_vggt_p2(const std::filesystem::path& scene_dir, const std::filesystem::path& out_dir,
                         const VggtRunOptions& opt);
// The network part of run_vggt_p2 (weights, preprocessing, forward pass) on the given images: the predictions on
// the host; the engine and its GPU memory are released before it returns. Times go into st.seconds.
VggtPredictions run_vggt_network(const std::vector<std::filesystem::path>& files, const VggtRunOptions& opt,
                                 VggtRunStats& st);
// vg::Error when out_dir is the scene, its images folder or inside them.
void check_output_outside_scene(const std::filesystem::path& scene_dir, const std::filesystem::path& out_dir);
std::string vggt_points_message(const VggtRunStats& st, const ExportOptions& exp);
nlohmann::json vggt_stats_json(const VggtRunStats& s);

}  // namespace vg::vggt
