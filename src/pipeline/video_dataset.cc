#include "pipeline/video_dataset.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "core/error.h"
#include "core/progress.h"
#include "io/video.h"
#include "pipeline/frames.h"

namespace vg {

namespace fs = std::filesystem;

bool is_video_file(const fs::path& path) {
  static const std::array<const char*, 15> exts = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mts", ".m2ts",
                                                   ".ts",  ".3gp", ".wmv", ".flv", ".mpg", ".mpeg", ".ogv"};
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::error_code ec;
  return fs::is_regular_file(path, ec) && std::find(exts.begin(), exts.end(), ext) != exts.end();
}

fs::path video_dataset_dir(const fs::path& video, const fs::path& out_root) {
  const std::string stem = video.stem().string();
  VG_CHECK(!stem.empty(), "cannot name a dataset after the video '", video.string(), "'");
  return out_root / (stem + "_standard");
}

PrepareResult prepare_video(const fs::path& video, const PrepareOptions& opt) {
  VG_CHECK(opt.max_images >= 1, "--max-images must be >= 1, got ", opt.max_images);
  VG_CHECK(video_supported(), video_unsupported_message());
  PrepareResult r;
  r.out_dir = video_dataset_dir(video, opt.out_root);
  VG_CHECK(opt.overwrite || !fs::exists(r.out_dir), "output folder ", r.out_dir.string(),
           " already exists (remove it or use --overwrite)");
  fs::create_directories(r.out_dir.parent_path());
  // Built beside the output, then renamed: an interrupted extraction leaves no half-filled dataset.
  std::string tmp_name = ".";  // (appended, not "." + name: GCC 12 warns about that pattern)
  tmp_name += r.out_dir.filename().string() + ".tmp-" + std::to_string(::getpid());
  const fs::path tmp = r.out_dir.parent_path() / tmp_name;
  fs::remove_all(tmp);
  try {
    FramesOptions fo;
    fo.video = video;
    fo.out_dir = tmp / "images";
    fo.count = opt.max_images;
    const FramesResult fr = extract_frames(fo);
    for (const fs::path& f : fr.files) {
      r.sources.push_back(f.filename().string());
      r.names.push_back(f.filename().string());
    }
    r.num_source = static_cast<int>(fr.files.size());
    fs::remove_all(r.out_dir);
    fs::rename(tmp, r.out_dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  return r;
}

fs::path scene_from_source(const fs::path& scene, const PrepareOptions& opt) {
  if (!is_video_file(scene)) return scene;
  const fs::path dir = video_dataset_dir(scene, opt.out_root);
  if (fs::is_directory(dir / "images")) {
    log_info("using the frames of " + scene.string() + " already in " + (dir / "images").string() +
             " (remove that folder to extract them again)");
    return dir;
  }
  PrepareOptions o = opt;
  o.overwrite = true;  // a folder without images/ is a leftover, not a dataset
  const PrepareResult r = prepare_video(scene, o);
  log_info(std::to_string(r.names.size()) + " frames of " + scene.string() + " -> " + (r.out_dir / "images").string());
  return r.out_dir;
}

}  // namespace vg
