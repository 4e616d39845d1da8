// File-system helpers: atomic writes (temp file in the same folder, then rename) so a crash or a
// full disk never leaves a half-written result, and whole-file reads with clear errors.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vg {

namespace fs = std::filesystem;

// Writes `bytes` to `path` atomically; creates parent folders.
void write_file_atomic(const fs::path& path, std::string_view bytes);
// Reads a whole file; throws vg::Error "cannot read <path>: <reason>".
std::string read_file(const fs::path& path);

// The canonical form of a path that may not exist yet (its existing prefix resolved).
fs::path canonical_loose(const fs::path& p);
// p is dir or lies inside it (both canonical).
bool same_or_inside(const fs::path& p, const fs::path& dir);

// Writes through a temp file beside `path`; commit() renames it into place. If the object dies
// without commit() the temp file is removed and `path` is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path);
  ~AtomicFile();
  const fs::path& temp_path() const { return tmp_; }
  void commit();

 private:
  fs::path path_, tmp_;
  bool done_ = false;
};

}  // namespace vg
