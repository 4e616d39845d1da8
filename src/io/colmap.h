// COLMAP sparse models (cameras, images with their 2D points, points3D with tracks) in COLMAP's
// binary (.bin) and text (.txt) formats, as written by colmap's reconstruction_io.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

namespace vg {

struct ColmapCamera {
  uint32_t id = 0;
  std::string model;           // e.g. "PINHOLE", "OPENCV"
  int64_t width = 0, height = 0;
  std::vector<double> params;  // in COLMAP's order for the model
};

struct ColmapImage {
  uint32_t id = 0;
  std::array<double, 4> qvec{1, 0, 0, 0};  // world -> camera rotation (w, x, y, z)
  std::array<double, 3> tvec{0, 0, 0};     // world -> camera translation
  uint32_t camera_id = 0;
  std::string name;
  std::vector<double> xys;           // [P*2] keypoint positions
  std::vector<int64_t> point3D_ids;  // [P], -1 where the keypoint has no 3D point
  Eigen::Matrix4d world_to_camera() const;
};

struct ColmapPoint3D {
  uint64_t id = 0;
  std::array<double, 3> xyz{0, 0, 0};
  std::array<uint8_t, 3> rgb{0, 0, 0};
  double error = 0;
  std::vector<std::pair<uint32_t, uint32_t>> track;  // (image_id, point2D_idx)
};

struct ColmapModel {
  std::map<uint32_t, ColmapCamera> cameras;
  std::map<uint32_t, ColmapImage> images;
  std::map<uint64_t, ColmapPoint3D> points;
};

// Camera models by COLMAP id; -1 / nullptr for unknown ones.
int colmap_model_id(const std::string& name);
const char* colmap_model_name(int id);
int colmap_num_params(int id);

// The model folder of a dataset: <dir>/sparse/0 or <dir>/sparse holding cameras.{bin,txt};
// throws vg::Error saying what was looked for.
std::filesystem::path find_colmap_model(const std::filesystem::path& dataset_dir);
// Reads cameras/images/points3D from `model_dir`: the .bin files if cameras.bin exists, else .txt.
ColmapModel read_colmap_model(const std::filesystem::path& model_dir);
ColmapModel read_colmap_bin(const std::filesystem::path& model_dir);
ColmapModel read_colmap_txt(const std::filesystem::path& model_dir);
// Writes the three files (atomically) in the binary or text format.
void write_colmap_bin(const std::filesystem::path& model_dir, const ColmapModel& m);
void write_colmap_txt(const std::filesystem::path& model_dir, const ColmapModel& m);

}  // namespace vg
