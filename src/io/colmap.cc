#include "io/colmap.h"

#include <Eigen/Geometry>

#include "core/error.h"

namespace vg {

namespace {
struct ModelInfo {
  const char* name;
  int num_params;
};
// COLMAP's camera model ids (src/colmap/sensor/models.h) and parameter counts.
constexpr ModelInfo kModels[] = {
    {"SIMPLE_PINHOLE", 3}, {"PINHOLE", 4},       {"SIMPLE_RADIAL", 4},          {"RADIAL", 5},
    {"OPENCV", 8},         {"OPENCV_FISHEYE", 8}, {"FULL_OPENCV", 12},          {"FOV", 5},
    {"SIMPLE_RADIAL_FISHEYE", 4}, {"RADIAL_FISHEYE", 5}, {"THIN_PRISM_FISHEYE", 12},
    {"RAD_TAN_THIN_PRISM_FISHEYE", 16}};
constexpr int kNumModels = static_cast<int>(sizeof(kModels) / sizeof(kModels[0]));
}  // namespace

int colmap_model_id(const std::string& name) {
  for (int i = 0; i < kNumModels; ++i)
    if (name == kModels[i].name) return i;
  return -1;
}
const char* colmap_model_name(int id) { return id >= 0 && id < kNumModels ? kModels[id].name : nullptr; }
int colmap_num_params(int id) { return id >= 0 && id < kNumModels ? kModels[id].num_params : -1; }

Eigen::Matrix4d ColmapImage::world_to_camera() const {
  Eigen::Quaterniond q(qvec[0], qvec[1], qvec[2], qvec[3]);
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  m.topLeftCorner<3, 3>() = q.normalized().toRotationMatrix();
  m.topRightCorner<3, 1>() = Eigen::Vector3d(tvec[0], tvec[1], tvec[2]);
  return m;
}

std::filesystem::path find_colmap_model(const std::filesystem::path& dir) {
  for (const auto& d : {dir / "sparse" / "0", dir / "sparse"})
    if (std::filesystem::exists(d / "cameras.bin") || std::filesystem::exists(d / "cameras.txt")) return d;
  VG_FAIL("no cameras found in ", dir.string(),
          ": looked for sparse/0/cameras.{bin,txt}, sparse/cameras.{bin,txt}, transforms_train.json, transforms.json",
          " and poses_bounds.npy");
}

ColmapModel read_colmap_model(const std::filesystem::path& model_dir) {
  return std::filesystem::exists(model_dir / "cameras.bin") ? read_colmap_bin(model_dir) : read_colmap_txt(model_dir);
}

}  // namespace vg
