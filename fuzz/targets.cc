// The fuzz target registry and the scratch files of path-only parsers.
#include "fuzz/targets.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "io/video.h"

namespace vg::fuzz {

namespace fs = std::filesystem;

const std::vector<Target>& targets() {
  static const std::vector<Target> all = [] {
    std::vector<Target> t = {{"image", image},     {"colmap_bin", colmap_bin}, {"colmap_txt", colmap_txt},
                             {"transforms", transforms}, {"strecha", strecha}, {"ply", ply},
                             {"splat", splat},     {"spz", spz},               {"safetensors", safetensors},
                             {"torch", torch},     {"checkpoint", checkpoint}, {"mapper_cache", mapper_cache},
                             {"npy", npy},     {"exif", exif}};
    if (video_supported()) t.push_back({"video", video});
    return t;
  }();
  return all;
}

const Target* find_target(const std::string& name) {
  for (const Target& t : targets())
    if (name == t.name) return &t;
  return nullptr;
}

bool run_target(const Target& t, std::string_view bytes, std::string* error) {
  try {
    t.run(bytes);
    return false;
  } catch (const vg::Error& e) {
    if (error) *error = e.what();
    return true;
  }
}

const fs::path& scratch_dir() {
  static const fs::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path d = fs::path(tmp && *tmp ? tmp : "/tmp") / ("vgsplat_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

fs::path scratch_file(const fs::path& rel, std::string_view bytes) {
  const fs::path p = scratch_dir() / rel;
  std::ofstream os(p, std::ios::binary | std::ios::trunc);
  os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!os.good()) std::abort();  // the scratch folder itself failing is not a parser bug: stop loudly
  return p;
}

}  // namespace vg::fuzz
