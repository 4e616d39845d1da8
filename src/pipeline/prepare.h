// `vgsplat prepare`: the original pipeline's prepare_standard_dataset. Copies the PNG/JPG photos of a
// source folder into a standard dataset folder <out_root>/.../<name>_standard/images/:
//  - all photos when there are <= max_images, else max_images chosen uniformly: the indices
//    numpy.linspace(0, n-1, max_images).astype(int), i.e. floor(i * (n-1) / (max_images-1)) for
//    i = 0..max_images-1 (computed in double as numpy does, the last index exactly n-1);
//  - DTU photos rect_XXX_A_r5000.{png,jpg} are first ordered by the lighting/angle index A (0..6),
//    then by name, and written with numbered names 0000.png, 0001.png, ... in that order (so that
//    name order = angle order for sequential matching); other photos keep their names, in name order.
// Output folder: <out_root>/DTU/<scanN>_standard for .../DTU/.../scanN_train (or scanN),
// <out_root>/CO3Dv2/<category>_<sequence>_standard for .../CO3Dv2/<category>/<sequence>[/images],
// <out_root>/<name>_standard otherwise (name = the source folder, or its parent when it is "images").
// A video file as the source: its frames (pipeline/video_dataset.h) into <out_root>/<stem>_standard.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace vg {

struct PrepareOptions {
  int max_images = 60;
  std::filesystem::path out_root = "datasets";
  bool overwrite = false;  // replace an existing output folder (else vg::Error)
};

struct PrepareResult {
  std::filesystem::path out_dir;        // .../<name>_standard
  int num_source = 0;                   // photos found
  std::vector<std::string> sources;     // chosen source files (names), in output order
  std::vector<std::string> names;       // their names in out_dir/images
  bool dtu = false;
};

// The photos of a source folder (its images/ subfolder when it has no photos itself).
std::vector<std::filesystem::path> list_source_photos(const std::filesystem::path& source_dir);
// Index of the DTU angle A in "rect_XXX_A_r5000.ext", or -1 when the name is not a DTU photo.
int dtu_angle(const std::string& file_name);
// numpy.linspace(0, n-1, k).astype(int): k uniformly spread indices of [0, n).
std::vector<int> uniform_sample_indices(int n, int k);
// <out_root>/... folder of a source path by the naming rules above.
std::filesystem::path standard_dataset_dir(const std::filesystem::path& source_dir,
                                           const std::filesystem::path& out_root);

PrepareResult prepare_dataset(const std::filesystem::path& source_dir, const PrepareOptions& opt = {});

}  // namespace vg
